"""strided.optim against NumPy transcriptions of the update rules."""
import math

import numpy as np
import pytest

import strided as S
import strided.optim as optim
from strided.optim import lr_scheduler


def _quadratic_grads(p):
    """Backward of sum(c p^2); returns 2 c, so the gradient is 2 c p."""
    c = S.tensor(np.linspace(0.5, 2.0, p.numel()).reshape(tuple(p.shape)))
    (p * p * c).sum().backward()
    return 2 * c.numpy()


@pytest.mark.parametrize("momentum,dampening,wd,nesterov,maximize", [
    (0, 0, 0, False, False), (0.9, 0, 0, False, False), (0.9, 0.2, 0.01, False, True),
    (0.8, 0, 0.1, True, False), (0.5, 0, 0, True, True)])
def test_sgd_numpy_reference(momentum, dampening, wd, nesterov, maximize):
    p = S.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    ref = np.array([1.0, -2.0, 3.0])
    opt = optim.SGD([p], lr=0.1, momentum=momentum, dampening=dampening, weight_decay=wd,
                    nesterov=nesterov, maximize=maximize)
    buf = None
    for _ in range(5):
        opt.zero_grad()
        g = _quadratic_grads(p) * ref
        if maximize:
            g = -g
        g = g + wd * ref
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        ref = ref - 0.1 * g
        opt.step()
        np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize("decoupled,amsgrad", [(False, False), (False, True), (True, False),
                                               (True, True)])
def test_adam_numpy_reference(decoupled, amsgrad):
    p = S.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    ref = np.array([1.0, -2.0, 3.0])
    cls = optim.AdamW if decoupled else optim.Adam
    lr, b1, b2, eps, wd = 0.05, 0.9, 0.99, 1e-8, 0.1
    opt = cls([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=amsgrad)
    m = v = vmax = np.zeros(3)
    for t in range(1, 8):
        opt.zero_grad()
        g = _quadratic_grads(p) * ref
        if decoupled:
            ref = ref * (1 - lr * wd)
        else:
            g = g + wd * ref
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v) / math.sqrt(1 - b2 ** t) + eps
        ref = ref - lr / (1 - b1 ** t) * m / denom
        opt.step()
        np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-10)


def test_param_groups_and_add_param_group():
    a, b = S.zeros(2, requires_grad=True), S.zeros(3, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 1.0}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert opt.param_groups[1]["momentum"] == 0.5
    c = S.zeros(1, requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 0.01})
    assert len(opt.param_groups) == 3
    with pytest.raises(ValueError):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError):
        optim.SGD([], lr=0.1)


def test_zero_grad_and_state_dict_round_trip():
    p = S.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    q = S.tensor(p.detach().numpy(), requires_grad=True)
    opt2 = optim.Adam([q], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.1
    for o, t in ((opt, p), (opt2, q)):
        o.zero_grad()
        (t * t).sum().backward()
        o.step()
    np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-7)
    # the loaded state is a copy, not shared
    assert sd["state"][0]["exp_avg"].data_ptr() != opt2.state[q]["exp_avg"].data_ptr()
    opt.zero_grad()
    assert p.grad is None


def test_schedulers_closed_forms():
    p = S.zeros(1, requires_grad=True)

    def seq(make, n=12):
        opt = optim.SGD([p], lr=1.0)
        s = make(opt)
        out = []
        for _ in range(n):
            out.append(s.get_last_lr()[0])
            opt.step()
            s.step()
        return np.array(out)

    e = np.arange(12)
    np.testing.assert_allclose(seq(lambda o: lr_scheduler.StepLR(o, 4, 0.5)), 0.5 ** (e // 4))
    np.testing.assert_allclose(seq(lambda o: lr_scheduler.MultiStepLR(o, [3, 7], 0.1)),
                               0.1 ** ((e >= 3).astype(int) + (e >= 7)))
    np.testing.assert_allclose(seq(lambda o: lr_scheduler.CosineAnnealingLR(o, 10, 0.1)),
                               0.1 + 0.9 * (1 + np.cos(np.pi * e / 10)) / 2, rtol=1e-9)
    np.testing.assert_allclose(seq(lambda o: lr_scheduler.LambdaLR(o, lambda k: 1 / (k + 1))),
                               1 / (e + 1))
