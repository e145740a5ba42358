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


# ---- the fused update kernels (strided._C.ops.optim) ----------------------------------

from strided._C.ops.optim import sgd_step, adam_step  # noqa: E402

DTYPES = {"float32": (S.float32, np.float32, 1e-6), "float64": (S.float64, np.float64, 1e-13)}


def _strided_layouts(np_dtype, rng):
    """(name, param view, grad view, base tensor of the param) for layouts the kernels must
    walk without a contiguous copy: transposed, sliced with steps out of a bigger storage,
    a grad whose strides differ from the param's, an expanded (stride-0) grad."""
    def base(*shape):
        return S.tensor(rng.standard_normal(shape).astype(np_dtype))
    out = []
    b = base(6, 5)
    out.append(("transposed", b.t(), base(5, 6), b))
    b = base(9, 12)
    out.append(("stepped slice", b[1::2, 2:11:3], base(3, 4).t(), b))
    b = base(7, 4)
    out.append(("transposed param, transposed-view grad", b.t(), base(7, 4).t(), b))
    b = base(4, 7)
    out.append(("contiguous param, transposed grad", b, base(7, 4).t(), b))
    b = base(3, 10)
    out.append(("column slice, expanded grad", b[:, 1:9], base(1, 8).expand(3, 8), b))
    b = base(256, 300)      # above the kernels' grain: split over threads when there are 2
    out.append(("large sliced", b[:, 10:290], base(280, 256).t(), b))
    return out


def _np_sgd(p, g, b, lr, mom, damp, wd, nesterov, maximize, first):
    dt = p.dtype.type
    g = -g if maximize else g
    if wd:
        g = g + dt(wd) * p
    if mom:
        b = g.copy() if first else b * dt(mom) + dt(1 - damp) * g
        g = g + dt(mom) * b if nesterov else b
    return p + dt(-lr) * g, b


def _np_adam(p, g, m, v, vmax, lr, b1, b2, eps, wd, decoupled, amsgrad, maximize, t):
    dt = p.dtype.type
    g = -g if maximize else g
    if wd and decoupled:
        p = p * dt(1 - lr * wd)
    elif wd:
        g = g + dt(wd) * p
    m = m + dt(1 - b1) * (g - m)
    v = v * dt(b2) + dt(1 - b2) * g * g
    if amsgrad:
        vmax = np.maximum(vmax, v)
    denom = np.sqrt(vmax if amsgrad else v) / dt(math.sqrt(1 - b2 ** t)) + dt(eps)
    return p + dt(-(lr / (1 - b1 ** t))) * m / denom, m, v, vmax


def _untouched_outside(base, before, view):
    """Elements of base's storage outside `view` kept their values."""
    probe = S.zeros(*before.shape, dtype=S.float64)
    probe.as_strided(tuple(view.shape), view.stride(), view.storage_offset()).fill_(1.0)
    mask = probe.numpy() == 0
    np.testing.assert_array_equal(base.numpy()[mask], before[mask])


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
@pytest.mark.parametrize("flags", [
    dict(momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False),
    dict(momentum=0.9, dampening=0, weight_decay=0, nesterov=False, maximize=False),
    dict(momentum=0.9, dampening=0.3, weight_decay=0.05, nesterov=False, maximize=True),
    dict(momentum=0.8, dampening=0, weight_decay=0.1, nesterov=True, maximize=False)], ids=str)
def test_sgd_kernel_strided_layouts_match_numpy(flags, dtype_name):
    sdt, ndt, rtol = DTYPES[dtype_name]
    rng = np.random.default_rng(3)
    for name, p, g, base in _strided_layouts(ndt, rng):
        before = base.numpy().copy()
        ref_p, ref_b = p.numpy().copy(), None
        buf = S.empty(*p.shape, dtype=sdt).t().contiguous().t() if flags["momentum"] else None
        for step in range(3):
            first = step == 0
            ref_p, ref_b = _np_sgd(ref_p, g.numpy(), ref_b, 0.1, flags["momentum"],
                                   flags["dampening"], flags["weight_decay"], flags["nesterov"],
                                   flags["maximize"], first)
            sgd_step(p, g, buf, 0.1, flags["momentum"], flags["dampening"],
                     flags["weight_decay"], flags["nesterov"], flags["maximize"], first)
            np.testing.assert_allclose(p.numpy(), ref_p, rtol=rtol, atol=rtol, err_msg=name)
            if buf is not None:
                np.testing.assert_allclose(buf.numpy(), ref_b, rtol=rtol, atol=rtol,
                                           err_msg=name)
        _untouched_outside(base, before, p)


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
@pytest.mark.parametrize("decoupled,amsgrad,wd,maximize", [
    (False, False, 0, False), (False, True, 0.1, True), (True, False, 0.1, False),
    (True, True, 0.05, True)])
def test_adam_kernel_strided_layouts_match_numpy(decoupled, amsgrad, wd, maximize, dtype_name):
    sdt, ndt, rtol = DTYPES[dtype_name]
    rtol = 10 * rtol        # a sqrt and a division more than SGD
    rng = np.random.default_rng(4)
    lr, b1, b2, eps = 0.01, 0.9, 0.99, 1e-8
    for name, p, g, base in _strided_layouts(ndt, rng):
        before = base.numpy().copy()
        # state in a layout of its own: transposed copies
        m, v, vmax = (S.zeros(*reversed(p.shape), dtype=sdt).t() for _ in range(3))
        rp, rm, rv, rx = (p.numpy().copy(), np.zeros(p.shape, ndt), np.zeros(p.shape, ndt),
                          np.zeros(p.shape, ndt))
        for t in range(1, 4):
            rp, rm, rv, rx = _np_adam(rp, g.numpy(), rm, rv, rx, lr, b1, b2, eps, wd,
                                      decoupled, amsgrad, maximize, t)
            adam_step(p, g, m, v, vmax if amsgrad else None, lr, b1, b2, eps, wd, decoupled,
                      amsgrad, maximize, 1 - b1 ** t, math.sqrt(1 - b2 ** t))
            for got, want in ((p, rp), (m, rm), (v, rv)) + (((vmax, rx),) if amsgrad else ()):
                np.testing.assert_allclose(got.numpy(), want, rtol=rtol, atol=rtol, err_msg=name)
        _untouched_outside(base, before, p)


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda p: optim.Adam(p, lr=0.1, amsgrad=True), lambda p: optim.AdamW(p, lr=0.1)],
    ids=["sgd", "adam", "adamw"])
def test_optimizers_use_fused_kernels_in_place_on_views(make, dtype_name, monkeypatch):
    import strided.optim.adam as adam_mod
    import strided.optim.sgd as sgd_mod
    calls = []
    for mod, name in ((sgd_mod, "sgd_step"), (adam_mod, "adam_step")):
        fn = getattr(mod, name)
        monkeypatch.setattr(mod, name, lambda *a, _fn=fn, **k: (calls.append(a[0]), _fn(*a, **k)))
    sdt, ndt, _ = DTYPES[dtype_name]
    big = S.tensor(np.arange(60, dtype=ndt).reshape(6, 10))
    p = big[1:5, 2:9:2].t()                         # a leaf viewing part of big's storage
    p.requires_grad_(True)
    window = big[1:5, 2:9:2]                        # another view of the same elements
    ptr, version = p.data_ptr(), p._version
    p.grad = S.tensor(np.linspace(-1, 1, 16, dtype=ndt).reshape(4, 4))     # contiguous grad
    opt = make([p])
    before = p.detach().numpy().copy()
    for _ in range(2):
        opt.step()
    assert len(calls) == 2 and all(c is p for c in calls)
    assert p.data_ptr() == ptr                      # written where it lives
    assert p._version == version + 2                # each step bumps the storage version
    assert not np.array_equal(p.detach().numpy(), before)
    np.testing.assert_array_equal(window.numpy().T, p.detach().numpy())    # views see it
    assert big[0].numpy().tolist() == list(range(10))                     # rest untouched


def test_fused_step_invalidates_saved_tensors():
    p = S.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (p * p).sum()                               # saves p for backward
    p.grad = S.ones(3, dtype=S.float32)
    optim.SGD([p], lr=0.1, momentum=0.9).step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_fused_kernels_refuse_bad_input():
    p = S.zeros(3, 4)
    g = S.ones(3, 4)
    buf = S.zeros(3, 4)
    args = (0.1, 0.9, 0.0, 0.0, False, False, False)
    with pytest.raises(TypeError, match="float32 or float64"):
        sgd_step(S.zeros(3, 4, dtype=S.int64), S.zeros(3, 4, dtype=S.int64), None, *args)
    with pytest.raises(TypeError, match="dtype"):
        sgd_step(p, S.ones(3, 4, dtype=S.float64), buf, *args)
    with pytest.raises(TypeError, match="dtype"):
        sgd_step(p, g, S.zeros(3, 4, dtype=S.float64), *args)
    with pytest.raises(RuntimeError, match="shape"):
        sgd_step(p, S.ones(4, 3), buf, *args)
    with pytest.raises(RuntimeError, match="shape"):
        sgd_step(p, g, S.zeros(12), *args)
    with pytest.raises(RuntimeError, match="more than one element"):
        sgd_step(S.zeros(1, 4).expand(3, 4), g, buf, *args)
    with pytest.raises(RuntimeError, match="more than one element"):
        sgd_step(p, g, S.zeros(1, 4).expand(3, 4), *args)
    with pytest.raises(ValueError, match="momentum_buffer"):
        sgd_step(p, g, None, *args)
    with pytest.raises(RuntimeError, match="shares memory"):
        sgd_step(p, g, p, *args)
    big = S.zeros(4, 4)
    with pytest.raises(RuntimeError, match="shares memory with the gradient"):
        sgd_step(big[:3], big[1:], None, 0.1, 0.0, 0.0, 0.0, False, False, False)
    sgd_step(p, p, None, 0.1, 0.0, 0.0, 0.0, False, False, False)   # element for element: fine
    q = S.zeros(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        sgd_step(q, g, buf, *args)
    with S.no_grad():
        sgd_step(q, g, buf, *args)
    adam = (0.01, 0.9, 0.999, 1e-8, 0.0, False, True, False, 0.1, 0.1)
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        adam_step(p, g, S.zeros(3, 4), S.zeros(3, 4), None, *adam)
    with pytest.raises(RuntimeError, match="shares memory"):
        m = S.zeros(3, 4)
        adam_step(p, g, m, m, S.zeros(3, 4), *adam)
    with pytest.raises(TypeError, match="dtype"):
        adam_step(p, g, S.zeros(3, 4), S.zeros(3, 4), S.zeros(3, 4, dtype=S.float64), *adam)
    with pytest.raises(TypeError):
        adam_step(p, g, None, S.zeros(3, 4), None, *adam)
