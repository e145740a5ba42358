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


# ---------------------------------------------------------------- multinomial

@pytest.mark.parametrize("dtype", [S.float32, S.float64])
@pytest.mark.parametrize("replacement", [True, False])
def test_multinomial_shapes_and_support(dtype, replacement):
    rng = np.random.default_rng(1)
    for shape, n in [((5,), 3), ((5,), 5), ((4, 7), 2), ((4, 7), 7), ((1, 3), 1), ((6, 2), 2)]:
        w = rng.random(shape) * (rng.random(shape) > 0.3) + 1e-3 * (rng.random(shape) > 0.5)
        w[..., 0] += 0.1  # every row has mass
        base = S.tensor(w.astype(np.float64)).to(dtype)
        for x in (base, S.tensor(np.ascontiguousarray(w.T)).to(dtype).t(),  # transposed
                  S.tensor(w[..., ::-1].copy()).to(dtype).flip(-1)):
            out = S.multinomial(x, n, replacement)
            assert out.dtype == S.int64 and tuple(out.shape) == shape[:-1] + (n,)
            o = out.numpy().reshape(-1, n)
            rows = w.reshape(-1, shape[-1])
            assert ((0 <= o) & (o < shape[-1])).all()
            for r in range(o.shape[0]):
                if not replacement:
                    assert len(set(o[r])) == n  # no repeats
                    nonzero = int((rows[r] > 0).sum())
                    # the positive-weight categories come first
                    assert (rows[r][o[r][:min(n, nonzero)]] > 0).all()
                else:
                    assert (rows[r][o[r]] > 0).all()


def test_multinomial_zero_weights_and_generator():
    # A zero-weight category is never drawn with replacement.
    w = S.tensor([0.0, 1.0, 0.0, 3.0])
    assert set(S.multinomial(w, 1000, True).tolist()) == {1, 3}
    g1, g2 = S.Generator().manual_seed(7), S.Generator().manual_seed(7)
    a = S.multinomial(S.ones(3, 10), 4, generator=g1)
    b = S.multinomial(S.ones(3, 10), 4, generator=g2)
    assert a.tolist() == b.tolist()
    S.manual_seed(3)
    a = S.multinomial(S.ones(10), 10)
    S.manual_seed(3)
    assert S.multinomial(S.ones(10), 10).tolist() == a.tolist()


def _chi2_sf_bound(counts, expected):
    """Pearson's statistic and a loose upper bound for it (mean + 6 sd of chi2(dof))."""
    mask = expected > 0
    stat = (((counts - expected) ** 2)[mask] / expected[mask]).sum()
    dof = mask.sum() - 1
    return stat, dof + 6 * math.sqrt(2 * dof)


@pytest.mark.parametrize("dtype", [S.float32, S.float64])
def test_multinomial_frequencies_chi_square(dtype):
    S.manual_seed(12345)
    p = np.array([0.05, 0.1, 0.0, 0.25, 0.4, 0.2])
    n = 60000
    # With replacement: each draw ~ p (unnormalised weights are fine).
    draws = S.multinomial(S.tensor(p * 3.0).to(dtype), n, True).numpy()
    stat, bound = _chi2_sf_bound(np.bincount(draws, minlength=6), n * p)
    assert stat < bound, (stat, bound)
    # Batched rows each follow their own distribution.
    rows = np.array([p, p[::-1]])
    draws = S.multinomial(S.tensor(rows).to(dtype), n // 2, True).numpy()
    for r in range(2):
        stat, bound = _chi2_sf_bound(np.bincount(draws[r], minlength=6), n // 2 * rows[r])
        assert stat < bound, (r, stat, bound)
    # Without replacement, the first draw ~ p and the second ~ p renormalised without the
    # first: check the frequencies of the first two draws over many rows.
    reps = 20000
    draws = S.multinomial(S.tensor(np.tile(p, (reps, 1))).to(dtype), 2, False).numpy()
    stat, bound = _chi2_sf_bound(np.bincount(draws[:, 0], minlength=6), reps * p)
    assert stat < bound, (stat, bound)
    second = np.zeros(6)
    for i in range(6):
        if p[i] > 0:
            q = p.copy()
            q[i] = 0
            second += p[i] * q / q.sum()
    stat, bound = _chi2_sf_bound(np.bincount(draws[:, 1], minlength=6), reps * second)
    assert stat < bound, (stat, bound)
    assert (draws[:, 0] != draws[:, 1]).all()


MULTINOMIAL_BAD = [
    lambda L: L.multinomial(L.tensor([0.2, 0.8]), 0),
    lambda L: L.multinomial(L.tensor([0.2, 0.8]), -1, True),
    lambda L: L.multinomial(L.tensor([0.2, 0.8]), 3),
    lambda L: L.multinomial(L.tensor([0.2, -0.8]), 1),
    lambda L: L.multinomial(L.tensor([0.2, float("nan")]), 1, True),
    lambda L: L.multinomial(L.tensor([0.2, float("inf")]), 1),
    lambda L: L.multinomial(L.tensor([[0.0, 0.0], [1.0, 1.0]]), 1),
    lambda L: L.multinomial(L.ones(2, 2, 2), 1),
    lambda L: L.multinomial(L.tensor(1.0), 1),
    lambda L: L.multinomial(L.tensor([1, 2]), 1),
    lambda L: L.multinomial(L.ones(2, 0), 1),
]


@pytest.mark.parametrize("case", range(len(MULTINOMIAL_BAD)))
def test_multinomial_errors_match_torch(case):
    _both_raise(RuntimeError, lambda: MULTINOMIAL_BAD[case](S),
                lambda: MULTINOMIAL_BAD[case](torch))


# ---------------------------------------------------------------- topk

TOPK_SHAPES = [(7,), (3, 5), (4, 6, 5), (2, 1, 9), (3, 40), (2, 300)]


def _layouts(a):
    """a as a strided tensor: contiguous, transposed (a copy of a.T viewed back) and
    reversed along the last dim."""
    yield S.tensor(a)
    if a.ndim >= 2:
        yield S.tensor(np.ascontiguousarray(np.swapaxes(a, 0, -1))).transpose(0, -1)
    yield S.tensor(np.ascontiguousarray(a[..., ::-1])).flip(-1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
@pytest.mark.parametrize("shape", TOPK_SHAPES, ids=str)
def test_topk_matches_torch_without_ties(shape, dtype):
    rng = np.random.default_rng(2)
    a = rng.permutation(int(np.prod(shape))).reshape(shape).astype(dtype)  # distinct values
    ta = torch.tensor(a)
    for x in _layouts(a):
        for dim in range(-len(shape), len(shape)):
            for k in sorted({0, 1, shape[dim] // 2, shape[dim]}):
                for largest in (True, False):
                    tv, ti = torch.topk(ta, k, dim, largest, True)
                    sv, si = S.topk(x, k, dim, largest, True)
                    np.testing.assert_array_equal(sv.numpy(), tv.numpy())
                    np.testing.assert_array_equal(si.numpy(), ti.numpy())
                    # sorted=False: the same set of elements (PyTorch's order is unspecified)
                    sv, si = S.topk(x, k, dim=dim, largest=largest, sorted=False)
                    tv, ti = torch.topk(ta, k, dim=dim, largest=largest, sorted=False)
                    np.testing.assert_array_equal(np.sort(si.numpy(), dim), np.sort(ti.numpy(), dim))
                    np.testing.assert_array_equal(np.take_along_axis(a, si.numpy(), dim),
                                                  sv.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
@pytest.mark.parametrize("shape", TOPK_SHAPES, ids=str)
def test_topk_ties(shape, dtype):
    # With ties PyTorch's choice among equal elements is unspecified: the values equal its
    # values, and the indices are distinct positions holding them.
    rng = np.random.default_rng(3)
    a = rng.integers(0, 3, shape).astype(dtype)
    for dim in range(-len(shape), len(shape)):
        for k in sorted({1, shape[dim] // 2, shape[dim]}):
            for largest, srt in itertools.product((True, False), (True, False)):
                sv, si = S.topk(S.tensor(a), k, dim, largest, srt)
                tv, _ = torch.topk(torch.tensor(a), k, dim, largest, True)
                np.testing.assert_array_equal(np.sort(sv.numpy(), dim),
                                              np.sort(tv.numpy(), dim))
                idx = si.numpy()
                np.testing.assert_array_equal(np.take_along_axis(a, idx, dim), sv.numpy())
                srt_idx = np.sort(np.moveaxis(idx, dim, -1), -1)
                assert (np.diff(srt_idx, axis=-1) > 0).all()


def test_topk_nan_errors_and_grad():
    x = [1.0, float("nan"), 3.0, -2.0]
    for largest in (True, False):
        sv, si = S.topk(S.tensor(x), 2, largest=largest)
        tv, ti = torch.topk(torch.tensor(x), 2, largest=largest)
        np.testing.assert_array_equal(sv.numpy(), tv.numpy())
        assert si.tolist() == ti.tolist()
    for k, dim in [(3, -1), (-1, -1), (1, 1)]:
        with pytest.raises((RuntimeError, IndexError)) as te:
            torch.topk(torch.tensor([1.0, 2.0]), k, dim)
        with pytest.raises(type(te.value)) as se:
            S.topk(S.tensor([1.0, 2.0]), k, dim)
        assert str(se.value) == str(te.value)
    # Gradient flows to the selected positions.
    a = np.random.default_rng(4).standard_normal((3, 6))
    sx, tx = S.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    w = np.random.default_rng(5).standard_normal((3, 2))
    (S.topk(sx, 2, 1)[0] * S.tensor(w)).sum().backward()
    (torch.topk(tx, 2, 1)[0] * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(sx.grad.numpy(), tx.grad.numpy())


# ---------------------------------------------------------------- clip_grad_norm_

GRAD_SHAPES = [(3, 4), (5,), (2, 3, 2), ()]


def _params_with_grads(grads, dtype):
    sps, tps = [], []
    for g in grads:
        sp = nn.Parameter(S.zeros(*g.shape, dtype=dtype) if g.shape else S.tensor(0.0).to(dtype))
        tp = torch.nn.Parameter(torch.zeros(g.shape, dtype=getattr(torch, str(dtype).split(".")[-1])))
        sg = S.tensor(g).to(dtype)
        if g.ndim == 2:  # a transposed (non-contiguous) gradient
            sg = S.tensor(np.ascontiguousarray(g.T)).to(dtype).t()
        sp.grad = sg
        tp.grad = torch.tensor(g).to(tp.dtype)
        sps.append(sp)
        tps.append(tp)
    return sps, tps


@pytest.mark.parametrize("foreach", [None, True, False])
@pytest.mark.parametrize("norm_type", [2.0, 2, float("inf"), "inf", 1.0, 3.0])
@pytest.mark.parametrize("dtype", [S.float32, S.float64])
def test_clip_grad_norm_matches_torch(dtype, norm_type, foreach):
    rng = np.random.default_rng(6)
    tol = dict(rtol=1e-6, atol=0) if dtype == S.float32 else dict(rtol=1e-13, atol=0)
    for max_norm in (1e3, 1.0, 0.05):
        grads = [rng.standard_normal(s) for s in GRAD_SHAPES]
        sps, tps = _params_with_grads(grads, dtype)
        tps_norm = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type, foreach=foreach)
        sps_norm = nn.utils.clip_grad_norm_(sps, max_norm, norm_type, foreach=foreach)
        assert sps_norm.dim() == 0 and sps_norm.dtype == dtype
        np.testing.assert_allclose(sps_norm.item(), tps_norm.item(), **tol)
        for sp, tp in zip(sps, tps):
            np.testing.assert_allclose(sp.grad.numpy(), tp.grad.numpy(), **tol)


def test_clip_grad_norm_single_tensor_missing_grads_and_nonfinite():
    g = np.arange(6.0).reshape(2, 3)
    (sp,), (tp,) = _params_with_grads([g], S.float64)
    s, t = nn.utils.clip_grad_norm_(sp, 2.0), torch.nn.utils.clip_grad_norm_(tp, 2.0)
    assert s.item() == pytest.approx(t.item(), rel=1e-14)
    np.testing.assert_allclose(sp.grad.numpy(), tp.grad.numpy(), rtol=1e-14)
    # Parameters without gradients are skipped; none at all gives 0.
    sps = [nn.Parameter(S.zeros(2)), sp]
    tps = [torch.nn.Parameter(torch.zeros(2)), tp]
    assert nn.utils.clip_grad_norm_(sps, 1.0).item() == pytest.approx(
        torch.nn.utils.clip_grad_norm_(tps, 1.0).item(), rel=1e-14)
    assert nn.utils.clip_grad_norm_([nn.Parameter(S.zeros(2))], 1.0).item() == 0.0
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    for bad, norm_type in itertools.product([float("nan"), float("inf")], [2.0, float("inf")]):
        grads = [np.array([1.0, bad]), np.ones(3)]
        sps, tps = _params_with_grads(grads, S.float32)
        with pytest.raises(RuntimeError) as te:
            torch.nn.utils.clip_grad_norm_(tps, 1.0, norm_type, error_if_nonfinite=True)
        with pytest.raises(RuntimeError) as se:
            nn.utils.clip_grad_norm_(sps, 1.0, norm_type, error_if_nonfinite=True)
        assert str(se.value) == str(te.value)
        # Without the check both return the non-finite norm and scale by it.
        t = torch.nn.utils.clip_grad_norm_(tps, 1.0, norm_type)
        s = nn.utils.clip_grad_norm_(sps, 1.0, norm_type)
        np.testing.assert_array_equal(s.numpy(), t.numpy())
        for sp, tp in zip(sps, tps):
            np.testing.assert_array_equal(sp.grad.numpy(), tp.grad.numpy())


# ---------------------------------------------------------------- AdamW with param groups

def _models(dtype):
    sd, td = (S.float32, torch.float32) if dtype == "float32" else (S.float64, torch.float64)
    tmod = torch.nn.Sequential(torch.nn.Embedding(11, 6), torch.nn.LayerNorm(6),
                               torch.nn.Linear(6, 11)).to(td)
    smod = nn.Sequential(nn.Embedding(11, 6), nn.LayerNorm(6), nn.Linear(6, 11)).to(sd)
    smod.load_state_dict({k: S.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()})
    return smod, tmod


def _groups(mod, decay_lr, plain_lr):
    """nanoGPT's split: matrices decay, biases / norm weights do not."""
    decay = [p for n, p in mod.named_parameters() if p.dim() >= 2]
    plain = [p for n, p in mod.named_parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": 0.1, "lr": decay_lr},
            {"params": plain, "weight_decay": 0.0, "lr": plain_lr}]


ADAMW = [dict(), dict(betas=(0.9, 0.95), eps=1e-8), dict(amsgrad=True), dict(maximize=True)]


@pytest.mark.parametrize("sched", [None, "warmup_cosine", "onecycle"])
@pytest.mark.parametrize("kw", ADAMW, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adamw_param_groups_trajectory(dtype, kw, sched):
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-11)
    smod, tmod = _models(dtype)
    sopt = optim.AdamW(_groups(smod, 3e-3, 1e-2), **kw)
    topt = torch.optim.AdamW(_groups(tmod, 3e-3, 1e-2), foreach=False, **kw)
    scheds = []
    for L, opt in ((SL, sopt), (TL, topt)):
        if sched == "warmup_cosine":
            scheds.append(L.SequentialLR(opt, [L.LinearLR(opt, 0.1, total_iters=4),
                                               L.CosineAnnealingLR(opt, 16)], [4]))
        elif sched == "onecycle":
            scheds.append(L.OneCycleLR(opt, [3e-3, 1e-2], total_steps=20))
    rng = np.random.default_rng(7)
    for step in range(20):
        idx = rng.integers(0, 11, (4, 5))
        tgt = rng.integers(0, 11, (4, 5))
        for lib, mod, opt in ((S, smod, sopt), (torch, tmod, topt)):
            opt.zero_grad()
            logits = mod(lib.tensor(idx))
            lib.nn.functional.cross_entropy(logits.reshape(-1, 11), lib.tensor(tgt).reshape(-1),
                                            label_smoothing=0.1).backward()
            opt.step()
        for s in scheds:
            s.step()
        if scheds:
            assert scheds[0].get_last_lr() == scheds[1].get_last_lr()
        tp = dict(tmod.named_parameters())
        for name, p in smod.named_parameters():
            np.testing.assert_allclose(p.detach().numpy(), tp[name].detach().numpy(),
                                       err_msg=f"step {step} {name}", **tol)
    # The no-decay group's parameters were not decayed: its groups kept their settings.
    assert [g["weight_decay"] for g in sopt.param_groups] == [0.1, 0.0]
    assert [len(g["params"]) for g in sopt.param_groups] == [2, 3]


# ---------------------------------------------------------------- cross_entropy over sequences

CE = [dict(), dict(ignore_index=2), dict(label_smoothing=0.2),
      dict(ignore_index=0, label_smoothing=0.1), dict(ignore_index=-100, label_smoothing=0.3),
      dict(ignore_index=3, label_smoothing=0.05, reduction="sum"),
      dict(ignore_index=1, label_smoothing=0.15, reduction="none"),
      dict(ignore_index=4, label_smoothing=0.1, weight=True),
      dict(ignore_index=4, label_smoothing=0.1, weight=True, reduction="sum")]


def _ce_case(dtype, kw, B=3, T=7, V=6, seed=8):
    rng = np.random.default_rng(seed)
    nd = np.float32 if dtype == "float32" else np.float64
    logits = (rng.standard_normal((B, T, V)) * 2).astype(nd)
    target = rng.integers(0, V, (B, T))
    # about a quarter of the positions hold ignore_index (PyTorch's default -100 included)
    target[rng.random((B, T)) < 0.25] = kw.get("ignore_index", -100)
    kw = dict(kw)
    if kw.pop("weight", False):
        kw["weight"] = rng.random(V).astype(nd) + 0.5
    return logits, target, kw


def _ce(lib, logits_btv, target, kw, layout):
    x = lib.tensor(logits_btv, requires_grad=True)
    kw = {k: (lib.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    B, T, V = logits_btv.shape
    if layout == "BVT":  # the (B, T, V) logits viewed as (B, V, T): non-contiguous
        out = lib.nn.functional.cross_entropy(x.transpose(1, 2), lib.tensor(target), **kw)
    else:
        out = lib.nn.functional.cross_entropy(x.reshape(B * T, V),
                                              lib.tensor(target).reshape(-1), **kw)
    g = np.random.default_rng(9).standard_normal(tuple(out.shape)).astype(logits_btv.dtype)
    (out * lib.tensor(g)).sum().backward()
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("layout", ["BVT", "BTxV"])
@pytest.mark.parametrize("kw", CE, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_sequences_match_torch(dtype, kw, layout):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    for seed, (B, T, V) in enumerate([(3, 7, 6), (2, 1, 9), (4, 13, 5)]):
        logits, target, kw2 = _ce_case(dtype, kw, B, T, V, seed)
        sv, sg = _ce(S, logits, target, kw2, layout)
        tv, tg = _ce(torch, logits, target, kw2, layout)
        assert sv.shape == tv.shape
        np.testing.assert_allclose(sv, tv, **tol)
        np.testing.assert_allclose(sg, tg, **tol)


@pytest.mark.parametrize("layout", ["BVT", "BTxV"])
def test_cross_entropy_all_ignored(layout):
    logits = np.random.default_rng(10).standard_normal((2, 3, 4))
    target = np.full((2, 3), 1)
    for kw in (dict(ignore_index=1), dict(ignore_index=1, label_smoothing=0.2)):
        sv, sg = _ce(S, logits, target, kw, layout)
        tv, tg = _ce(torch, logits, target, kw, layout)
        np.testing.assert_array_equal(np.isnan(sv), np.isnan(tv))
        np.testing.assert_allclose(sg, tg)
