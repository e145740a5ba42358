"""LinearLR, OneCycleLR and SequentialLR against torch.optim.lr_scheduler: the lr (and
OneCycleLR's momentum / betas) of every param group over whole schedules, bit for bit, for
many argument sets; state_dict round trips and last_epoch resumes mid-schedule; PyTorch's
errors for bad arguments.  Then the other training helpers a sequence model uses, against
torch: multinomial, topk, clip_grad_norm_, AdamW with two param groups, and cross_entropy
over (B, V, T) and (B*T, V) logits with ignore_index and label_smoothing."""
import itertools
import math

import numpy as np
import pytest

import strided as S
import strided.nn as nn
import strided.nn.functional as F
import strided.optim as optim
from strided.optim import lr_scheduler as SL

torch = pytest.importorskip("torch")
TL = torch.optim.lr_scheduler


# ---------------------------------------------------------------- learning-rate schedulers

def _optimizers(lrs, name="SGD", **kw):
    """A strided and a torch optimizer with one param group per lr (one small param each)."""
    sgroups = [{"params": [nn.Parameter(S.zeros(2))], "lr": lr} for lr in lrs]
    tgroups = [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr} for lr in lrs]
    return getattr(optim, name)(sgroups, **kw), getattr(torch.optim, name)(tgroups, **kw)


def _hypers(opt):
    """Each group's lr and, where present, momentum and betas."""
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


def _assert_same(ssched, tsched, sopt, topt, what):
    # Exact equality: the same float operations in the same order.
    assert ssched.get_last_lr() == tsched.get_last_lr(), what
    assert _hypers(sopt) == _hypers(topt), what


def _run(make, sopt, topt, steps, ssched=None, tsched=None):
    ssched = ssched or make(SL, sopt)
    tsched = tsched or make(TL, topt)
    _assert_same(ssched, tsched, sopt, topt, "at construction")
    for i in range(steps):
        sopt.step()
        topt.step()
        ssched.step()
        tsched.step()
        _assert_same(ssched, tsched, sopt, topt, f"after step {i + 1}")
    return ssched, tsched


LINEAR = [dict(), dict(start_factor=0.25, total_iters=4), dict(start_factor=1.0, end_factor=0.1,
          total_iters=7), dict(start_factor=0.5, end_factor=0.5), dict(end_factor=0.0),
          dict(start_factor=0.1, total_iters=1), dict(start_factor=0.3, end_factor=0.9,
          total_iters=13), dict(total_iters=0.5 * 6)]
GROUP_LRS = [[0.1], [0.1, 0.03, 1.0]]


@pytest.mark.parametrize("lrs", GROUP_LRS, ids=str)
@pytest.mark.parametrize("kw", LINEAR, ids=str)
def test_linear_lr_matches_torch(kw, lrs):
    sopt, topt = _optimizers(lrs, momentum=0.9)
    _run(lambda L, o: L.LinearLR(o, **kw), sopt, topt, 20)


ONECYCLE = [dict(total_steps=10), dict(total_steps=17, pct_start=0.25),
            dict(epochs=4, steps_per_epoch=7), dict(total_steps=100, pct_start=0.5),
            dict(total_steps=30, anneal_strategy="linear"), dict(total_steps=23, three_phase=True),
            dict(total_steps=40, three_phase=True, anneal_strategy="linear", pct_start=0.2),
            dict(total_steps=12, div_factor=10.0, final_div_factor=100.0),
            dict(total_steps=15, cycle_momentum=False),
            dict(total_steps=9, base_momentum=0.7, max_momentum=0.99),
            dict(total_steps=11, pct_start=0.0), dict(total_steps=11, pct_start=0.95),
            dict(total_steps=50, epochs=3, steps_per_epoch=2)]
ONECYCLE_OPTS = [("SGD", dict(momentum=0.9)), ("SGD", dict()), ("Adam", dict()),
                 ("AdamW", dict(betas=(0.8, 0.99))), ("RMSprop", dict(momentum=0.5))]


@pytest.mark.parametrize("opt", ONECYCLE_OPTS, ids=str)
@pytest.mark.parametrize("kw", ONECYCLE, ids=str)
def test_one_cycle_lr_matches_torch(kw, opt):
    name, okw = opt
    sopt, topt = _optimizers([0.1, 0.02], name, **okw)
    total = kw.get("total_steps") or kw["epochs"] * kw["steps_per_epoch"]
    ssched, tsched = _run(lambda L, o: L.OneCycleLR(o, max_lr=1.0, **kw), sopt, topt, total)
    # One step past total_steps is an error in both.
    with pytest.raises(ValueError) as te:
        tsched.step()
    with pytest.raises(ValueError, match=r"Tried to step \d+ times") as se:
        ssched.step()
    assert str(se.value) == str(te.value)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_one_cycle_lr_per_group_lists(name):
    okw = dict(momentum=0.9) if name == "SGD" else {}
    sopt, topt = _optimizers([0.1, 0.2, 0.3], name, **okw)
    kw = dict(max_lr=[1.0, 0.5, 0.01], total_steps=25, base_momentum=(0.8, 0.85, 0.6),
              max_momentum=[0.9, 0.95, 0.99], three_phase=True)
    _run(lambda L, o: L.OneCycleLR(o, **kw), sopt, topt, 25)
    for g in sopt.param_groups:
        assert {"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"} <= set(g)


SEQUENTIAL = [
    (lambda L, o: [L.LinearLR(o, start_factor=0.1, total_iters=5), L.CosineAnnealingLR(o, 10)],
     [5]),
    (lambda L, o: [L.LinearLR(o, start_factor=0.2, total_iters=3),
                   L.CosineAnnealingLR(o, T_max=7, eta_min=0.001)], [3]),
    (lambda L, o: [L.LinearLR(o, total_iters=2), L.StepLR(o, 3, gamma=0.5),
                   L.CosineAnnealingLR(o, 6, 0.01)], [4, 11]),
    (lambda L, o: [L.StepLR(o, 2, gamma=0.3)], []),
    (lambda L, o: [L.LinearLR(o, start_factor=0.5, total_iters=4),
                   L.MultiStepLR(o, [2, 5, 5], gamma=0.5)], [6]),
    (lambda L, o: [L.LambdaLR(o, lambda e: 1 / (e + 1)), L.LinearLR(o, 1.0, 0.1, 8)], [3]),
    (lambda L, o: [L.CosineAnnealingLR(o, 4), L.LinearLR(o, 0.5, total_iters=3),
                   L.StepLR(o, 1, 0.9)], [0, 2]),
    (lambda L, o: [L.LinearLR(o, total_iters=3), L.StepLR(o, 2)], [10]),
]


@pytest.mark.parametrize("lrs", GROUP_LRS, ids=str)
@pytest.mark.parametrize("case", range(len(SEQUENTIAL)))
def test_sequential_lr_matches_torch(case, lrs):
    scheds, milestones = SEQUENTIAL[case]
    sopt, topt = _optimizers(lrs, momentum=0.9)
    _run(lambda L, o: L.SequentialLR(o, scheds(L, o), milestones), sopt, topt, 25)


def _copy_groups(src, dst):
    for gs, gd in zip(src.param_groups, dst.param_groups):
        gd.update({k: v for k, v in gs.items() if k != "params"})


ROUND_TRIP = [
    lambda L, o: L.LinearLR(o, start_factor=0.2, total_iters=9),
    lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 2.0], total_steps=30, three_phase=True),
    lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=30, anneal_strategy="linear"),
    lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=4),
                                    L.CosineAnnealingLR(o, 12)], [4]),
    lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=4), L.StepLR(o, 3),
                                    L.CosineAnnealingLR(o, 12)], [4, 8]),
]


@pytest.mark.parametrize("case", range(len(ROUND_TRIP)))
@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_state_dict_round_trip_mid_schedule(case, name):
    make = ROUND_TRIP[case]
    okw = dict(momentum=0.9) if name == "SGD" else {}
    sopt, topt = _optimizers([0.1, 0.05], name, **okw)
    ssched, tsched = _run(make, sopt, topt, 6)
    state = ssched.state_dict()
    tstate = tsched.state_dict()
    for key in ("last_epoch", "base_lrs", "_last_lr", "_step_count", "_milestones",
                "total_steps"):
        assert state.get(key) == tstate.get(key), key
    if "_schedulers" in state:
        assert [s["last_epoch"] for s in state["_schedulers"]] == \
            [s["last_epoch"] for s in tstate["_schedulers"]]
    # A fresh optimizer and scheduler, given the saved states, continue the schedule.
    sopt2, _ = _optimizers([0.7, 0.9], name, **okw)
    ssched2 = make(SL, sopt2)
    _copy_groups(sopt, sopt2)
    ssched2.load_state_dict(state)
    assert ssched.state_dict().keys() == state.keys()  # state_dict() leaves it whole
    _run(make, sopt2, topt, 12, ssched=ssched2, tsched=tsched)


RESUME = [
    (lambda L, o, e: L.LinearLR(o, start_factor=0.25, total_iters=8, last_epoch=e), 20),
    (lambda L, o, e: L.CosineAnnealingLR(o, T_max=6, eta_min=0.01, last_epoch=e), 20),
    (lambda L, o, e: L.StepLR(o, 3, 0.5, last_epoch=e), 20),
    (lambda L, o, e: L.OneCycleLR(o, max_lr=1.0, total_steps=20, last_epoch=e), 20),
    (lambda L, o, e: L.OneCycleLR(o, max_lr=1.0, total_steps=20, three_phase=True,
                                  anneal_strategy="linear", last_epoch=e), 20),
]


@pytest.mark.parametrize("case", range(len(RESUME)))
def test_resume_with_last_epoch(case):
    make, total = RESUME[case]
    sopt, topt = _optimizers([0.1, 0.3], momentum=0.9)
    _run(lambda L, o: make(L, o, -1), sopt, topt, 5)
    # A scheduler rebuilt on the same optimizers as from a checkpoint taken at epoch 5.
    _run(lambda L, o: make(L, o, 5), sopt, topt, total - 7)


def _both_raise(exc, make_s, make_t, match=None):
    with pytest.raises(exc) as te:
        make_t()
    with pytest.raises(exc) as se:
        make_s()
    if match is None:
        assert str(se.value) == str(te.value)
    else:
        assert se.match(match) and te.match(match)


BAD = [
    (ValueError, lambda L, o: L.LinearLR(o, start_factor=0)),
    (ValueError, lambda L, o: L.LinearLR(o, start_factor=1.5)),
    (ValueError, lambda L, o: L.LinearLR(o, end_factor=-0.1)),
    (ValueError, lambda L, o: L.LinearLR(o, end_factor=1.01)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, epochs=3)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=0)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=2.5)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, epochs=0, steps_per_epoch=3)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=-1)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, epochs=2.0, steps_per_epoch=3)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=9, pct_start=1.5)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=9, pct_start=-0.1)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=9, pct_start=1)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=9, anneal_strategy="exp")),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 2.0, 3.0], total_steps=9)),
    (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=9, base_momentum=[0.8])),
    (ValueError, lambda L, o: L.SequentialLR(o, [], [])),
    (ValueError, lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], [])),
    (ValueError, lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2)], [1, 2])),
    (TypeError, lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), object()], [3])),
    (TypeError, lambda L, o: L.LinearLR(object())),
    (TypeError, lambda L, o: L.OneCycleLR([1.0], max_lr=1.0, total_steps=3)),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_arguments_raise_torchs_errors(case):
    exc, make = BAD[case]
    sopt, topt = _optimizers([0.1, 0.2], momentum=0.9)
    _both_raise(exc, lambda: make(SL, sopt), lambda: make(TL, topt))


def test_more_errors():
    # cycle_momentum needs an optimizer with momentum or betas.
    sopt, topt = _optimizers([0.1], "Adagrad")
    _both_raise(ValueError, lambda: SL.OneCycleLR(sopt, 1.0, total_steps=5),
                lambda: TL.OneCycleLR(topt, 1.0, total_steps=5))
    SL.OneCycleLR(sopt, 1.0, total_steps=5, cycle_momentum=False)  # fine without
    # Schedulers of another optimizer.
    sopt, topt = _optimizers([0.1], momentum=0.9)
    sother, tother = _optimizers([0.1], momentum=0.9)
    _both_raise(ValueError, lambda: SL.SequentialLR(sopt, [SL.StepLR(sother, 2)], []),
                lambda: TL.SequentialLR(topt, [TL.StepLR(tother, 2)], []),
                match="expects all schedulers to belong to the same optimizer")
    # Resuming (last_epoch >= 0) needs the groups' initial_lr.
    sopt, topt = _optimizers([0.1], momentum=0.9)
    _both_raise(KeyError, lambda: SL.LinearLR(sopt, last_epoch=3),
                lambda: TL.LinearLR(topt, last_epoch=3))
