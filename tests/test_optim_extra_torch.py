"""RMSprop, Adagrad and Adadelta against torch.optim: parameter trajectories over 20 steps
of a small model (several hyper-parameter sets, float32 and float64), state_dict layout and
round trip."""
import itertools

import numpy as np
import pytest

import strided as S
import strided.nn as nn
import strided.nn.functional as F
import strided.optim as optim

torch = pytest.importorskip("torch")

DT = {"float32": (S.float32, torch.float32, np.float32),
      "float64": (S.float64, torch.float64, np.float64)}
TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-11)}


def _models(dtype_name):
    sd, td, nd = DT[dtype_name]
    smod = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    tmod = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    tmod.to(td)
    smod.to(sd)
    smod.load_state_dict({k: S.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()})
    return smod, tmod


def _step(mod, opt, lib, x, y):
    opt.zero_grad()
    loss = (mod(lib.tensor(x)) - lib.tensor(y)).pow(2).mean()
    loss.backward()
    opt.step()


def _compare(smod, tmod, dtype_name, what=""):
    tp = dict(tmod.named_parameters())
    for name, p in smod.named_parameters():
        np.testing.assert_allclose(p.detach().numpy(), tp[name].detach().numpy(),
                                   err_msg=f"{what} {name}", **TOL[dtype_name])


def _trajectory(make_s, make_t, dtype_name, steps=20, seed=3):
    sd, td, nd = DT[dtype_name]
    rng = np.random.default_rng(seed)
    smod, tmod = _models(dtype_name)
    sopt, topt = make_s(list(smod.parameters())), make_t(list(tmod.parameters()))
    for i in range(steps):
        x = rng.standard_normal((8, 4)).astype(nd)
        y = rng.standard_normal((8, 2)).astype(nd)
        _step(smod, sopt, S, x, y)
        _step(tmod, topt, torch, x, y)
        _compare(smod, tmod, dtype_name, f"step {i}")
    return sopt, topt, smod, tmod


RMSPROP = [dict(), dict(alpha=0.9, eps=1e-6), dict(weight_decay=0.1), dict(momentum=0.9),
           dict(centered=True), dict(centered=True, momentum=0.5, weight_decay=0.05),
           dict(maximize=True, lr=0.001), dict(alpha=0.5, momentum=0.3, centered=True, eps=1e-4)]
ADAGRAD = [dict(), dict(lr_decay=0.1), dict(weight_decay=0.1), dict(initial_accumulator_value=0.5),
           dict(eps=1e-6, lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1),
           dict(maximize=True, lr=0.001)]
ADADELTA = [dict(), dict(lr=0.5, rho=0.5), dict(weight_decay=0.1), dict(eps=1e-4, rho=0.99),
            dict(maximize=True, lr=0.1)]
CASES = ([("RMSprop", f) for f in RMSPROP] + [("Adagrad", f) for f in ADAGRAD]
         + [("Adadelta", f) for f in ADADELTA])


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
@pytest.mark.parametrize("name,flags", CASES, ids=str)
def test_trajectory_matches_torch(name, flags, dtype_name):
    flags = dict(flags)
    lr = flags.pop("lr", 0.01)
    _trajectory(lambda ps: getattr(optim, name)(ps, lr=lr, **flags),
                lambda ps: getattr(torch.optim, name)(ps, lr=lr, foreach=False, **flags),
                dtype_name)


@pytest.mark.parametrize("name,flags", [("RMSprop", dict(momentum=0.9, centered=True)),
                                        ("Adagrad", dict(lr_decay=0.01)),
                                        ("Adadelta", dict())])
def test_state_dict_layout_and_round_trip(name, flags):
    sopt, topt, smod, tmod = _trajectory(
        lambda ps: getattr(optim, name)(ps, lr=0.01, **flags),
        lambda ps: getattr(torch.optim, name)(ps, lr=0.01, foreach=False, **flags),
        "float64", steps=3)
    ssd, tsd = sopt.state_dict(), topt.state_dict()
    assert list(ssd["state"]) == list(tsd["state"])
    for k in tsd["state"]:
        assert set(ssd["state"][k]) == set(tsd["state"][k])
        for key, v in tsd["state"][k].items():
            np.testing.assert_allclose(ssd["state"][k][key].numpy(), v.numpy(), rtol=1e-9)
    sg, tg = ssd["param_groups"][0], tsd["param_groups"][0]
    for key in sg:
        if key in tg and key not in ("params", "foreach"):
            assert sg[key] == tg[key], key
    # a fresh optimizer loaded from the state dict continues the same trajectory
    fresh = getattr(optim, name)(list(smod.parameters()), lr=0.5, **flags)
    fresh.load_state_dict(ssd)
    assert fresh.param_groups[0]["lr"] == 0.01
    rng = np.random.default_rng(11)
    for _ in range(3):
        x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
        _step(smod, fresh, S, x, y)
        _step(tmod, topt, torch, x, y)
    _compare(smod, tmod, "float64", "after load_state_dict")


def test_adagrad_state_exists_before_the_first_step():
    p = S.zeros(3, requires_grad=True)
    opt = optim.Adagrad([p], initial_accumulator_value=0.25)
    tp = torch.zeros(3, requires_grad=True)
    topt = torch.optim.Adagrad([tp], initial_accumulator_value=0.25)
    assert set(opt.state_dict()["state"][0]) == set(topt.state_dict()["state"][0])
    assert opt.state[p]["sum"].tolist() == [0.25] * 3


@pytest.mark.parametrize("name,kwargs,msg", [
    ("RMSprop", dict(lr=-1), "Invalid learning rate"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value"),
    ("RMSprop", dict(momentum=-0.1), "Invalid momentum value"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value"),
    ("Adagrad", dict(initial_accumulator_value=-1), "Invalid initial_accumulator_value"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value"),
    ("Adadelta", dict(weight_decay=-1), "Invalid weight_decay value")])
def test_argument_errors_match_torch(name, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        getattr(optim, name)([S.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=msg):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)


def test_layouts_views_and_param_groups():
    """A parameter that is a transposed view and two groups with their own settings."""
    base = S.tensor(np.arange(12.0).reshape(3, 4)).requires_grad_()
    tbase = torch.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    other, tother = S.ones(5, requires_grad=True), torch.ones(5, requires_grad=True)
    for name in ("RMSprop", "Adagrad", "Adadelta"):
        s = getattr(optim, name)([{"params": [base]}, {"params": [other], "lr": 0.3}], lr=0.1)
        t = getattr(torch.optim, name)([{"params": [tbase]}, {"params": [tother], "lr": 0.3}],
                                      lr=0.1, foreach=False)
        for _ in range(4):
            for lib, opt, b, o in ((S, s, base, other), (torch, t, tbase, tother)):
                opt.zero_grad()
                ((b.t() * b.t()).sum() + (o * 3).sum()).backward()
                opt.step()
        np.testing.assert_allclose(base.detach().numpy(), tbase.detach().numpy(), rtol=1e-9)
        np.testing.assert_allclose(other.detach().numpy(), tother.detach().numpy(), rtol=1e-6)
