"""strided.nn.Module mechanics, layers and init (NumPy references; torch parity is in
test_nn_torch.py)."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import strided as S
import strided.nn as nn
import strided.nn.functional as F
from strided.nn import init


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)
        self.register_buffer("steps", S.zeros(()))
        self.register_buffer("scratch", S.zeros(2), persistent=False)
        self.scale = S.ones(1)                 # a plain tensor: not registered

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_parameter_is_a_marked_leaf():
    t = S.randn(3)
    p = nn.Parameter(t)
    assert isinstance(p, nn.Parameter) and isinstance(p, S.Tensor)
    assert p.requires_grad and p.is_leaf
    assert not isinstance(t, nn.Parameter)
    assert p.data_ptr() == t.data_ptr()                 # shares storage, like torch
    assert not nn.Parameter(t, requires_grad=False).requires_grad


def test_registration_by_assignment():
    m = Net()
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight",
                                                     "fc2.bias"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch"]
    assert list(m.state_dict()) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight",
                                    "fc2.bias"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert "scale" not in dict(m.named_parameters())
    m.extra = nn.Parameter(S.zeros(2))
    assert "extra" in dict(m.named_parameters())
    m.extra = None
    assert m.extra is None and len(list(m.parameters())) == 4
    with pytest.raises(TypeError):
        m.fc1.weight = S.zeros(3, 4)                     # a plain tensor onto a parameter
    del m.fc1
    assert "fc1" not in dict(m.named_children())


def test_use_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(S.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_shared_parameters_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 3


def test_train_eval_propagates():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout()))
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())


def test_zero_grad_and_requires_grad_():
    m = Net()
    m(S.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_state_dict_round_trip_and_errors():
    a, b = Net(), Net()
    a.steps.fill_(7)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (k, v), (k2, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2 and np.array_equal(v.numpy(), v2.numpy())
    sd = a.state_dict()
    del sd["fc1.bias"]
    sd["bogus"] = S.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "fc1.bias"') as e:
        b.load_state_dict(sd)
    assert 'Unexpected key(s) in state_dict: "bogus"' in str(e.value)
    missing, unexpected = b.load_state_dict(sd, strict=False)
    assert missing == ["fc1.bias"] and unexpected == ["bogus"]
    sd = a.state_dict()
    sd["fc2.weight"] = S.zeros(5, 5)
    with pytest.raises(RuntimeError, match="size mismatch for fc2.weight"):
        b.load_state_dict(sd, strict=False)


def test_state_dict_shares_storage_and_is_detached():
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    assert sd["weight"].data_ptr() == m.weight.data_ptr()
    assert not sd["weight"].requires_grad


def test_hooks_run_and_are_removable():
    m = nn.Linear(3, 3)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre") or (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post") or out + 1)
    out = m(S.ones(1, 3))
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(out.detach().numpy(), m.bias.detach().numpy()[None] + 1,
                               rtol=1e-6)
    h1.remove()
    h2.remove()
    calls.clear()
    m(S.ones(1, 3))
    assert calls == []


def test_apply_and_init():
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))

    def fill(mod):
        if isinstance(mod, nn.Linear):
            init.constant_(mod.weight, 0.5)
            init.zeros_(mod.bias)
    m.apply(fill)
    assert np.all(m[0].weight.detach().numpy() == 0.5) and np.all(m[1].bias.detach().numpy() == 0)
    assert m[0].weight.requires_grad and m[0].weight.is_leaf


def test_init_statistics():
    S.manual_seed(0)
    w = S.empty(200, 300)
    init.xavier_uniform_(w)
    a = math.sqrt(6 / 500)
    assert np.abs(w.numpy()).max() <= a
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 200)) < 0.01 * math.sqrt(2 / 200) * 5
    init.xavier_normal_(w, gain=init.calculate_gain("tanh"))
    assert abs(w.numpy().std() - 5 / 3 * math.sqrt(2 / 500)) < 0.02
    init.kaiming_uniform_(w, a=math.sqrt(5))
    assert np.abs(w.numpy()).max() <= 1 / math.sqrt(300)
    init.normal_(w, 2.0, 0.5)
    assert abs(w.numpy().mean() - 2) < 0.01
    init.uniform_(w, -1, 3)
    assert w.numpy().min() >= -1 and w.numpy().max() <= 3
    init.ones_(w)
    assert np.all(w.numpy() == 1)


def test_sequential_indexing_slicing_len():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Tanh()]
    s = nn.Sequential(*layers)
    assert len(s) == 3 and s[0] is layers[0] and s[-1] is layers[2]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == layers[1:]
    s.append(nn.Sigmoid())
    assert len(s) == 4
    del s[0]
    assert list(s._modules) == ["0", "1", "2"]
    named = nn.Sequential(OrderedDict(a=nn.ReLU(), b=nn.Tanh()))
    assert list(named._modules) == ["a", "b"]
    with pytest.raises(IndexError):
        s[10]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    assert isinstance(ml[-1], nn.ReLU)
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.Tanh()
    assert list(md.keys()) == ["a", "b"] and "a" in md
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]


def test_dropout_train_only_and_seeded():
    x = S.ones(1000)
    d = nn.Dropout(0.3)
    S.manual_seed(3)
    y1 = d(x).numpy()
    S.manual_seed(3)
    y2 = d(x).numpy()
    assert np.array_equal(y1, y2)
    kept = y1 != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(y1[kept], 1 / 0.7, rtol=1e-6)
    d.eval()
    assert d(x) is x


def test_dropout_gradient_is_mask_times_scale():
    x = S.ones(50, requires_grad=True)
    y = F.dropout(x, 0.5, training=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy(), rtol=1e-6)


def test_batchnorm_eval_uses_running_stats():
    bn = nn.BatchNorm1d(2)
    x = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32)
    bn(S.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.var(0, ddof=1),
                               rtol=1e-5)
    bn.eval()
    y = bn(S.tensor(x)).detach().numpy()
    ref = (x - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_cross_entropy_numpy_reference_and_stability():
    x = np.array([[1e4, 0.0, -1e4], [2.0, 1.0, 0.1]])
    t = np.array([0, 2])
    loss = F.cross_entropy(S.tensor(x), S.tensor(t)).item()
    logp = x - x.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    assert np.isfinite(loss)
    np.testing.assert_allclose(loss, -logp[[0, 1], t].mean(), rtol=1e-12)


def test_conv_modules_construct_without_functional_conv():
    c = nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2)
    assert tuple(c.weight.shape) == (8, 2, 3, 3) and tuple(c.bias.shape) == (8,)
    assert list(c.state_dict()) == ["weight", "bias"]
    c1 = nn.Conv1d(2, 4, 5, padding="same", bias=False)
    assert tuple(c1.weight.shape) == (4, 2, 5) and c1.bias is None
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    if not hasattr(F, "conv2d"):
        with pytest.raises(NotImplementedError):
            c(S.zeros(1, 4, 5, 5))


def test_module_to_double():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).double()
    assert all(p.dtype == S.float64 for p in m.parameters())
    assert m[1].running_mean.dtype == S.float64
    assert m[1].num_batches_tracked.dtype == S.int64
    assert isinstance(m[0].weight, nn.Parameter)


def test_module_to_keeps_tied_parameters_tied():
    """A weight shared by two modules (an embedding tied to an output head) is one
    Parameter after the cast too, as in PyTorch, so it gets both modules' gradients."""
    emb, head = nn.Embedding(5, 3), nn.Linear(3, 5, bias=False)
    head.weight = emb.weight
    m = nn.Sequential(emb, head).double()
    assert m[1].weight is m[0].weight and m[0].weight.dtype == S.float64
    assert len(list(m.parameters())) == 1
    m(S.tensor([[1, 2]])).sum().backward()
    g = m[0].weight.grad.numpy()
    w = m[0].weight.detach().numpy()
    want = np.zeros((5, 3))
    want[[1, 2]] += w.sum(0)                       # through the embedding's lookup
    want += np.array([[1.0], [1.0], [1.0], [1.0], [1.0]]) * (w[1] + w[2])   # the head
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_repr_nested():
    m = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU()))
    assert repr(m) == ("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                       "  (1): Sequential(\n    (0): ReLU()\n  )\n)")


def test_deepcopy_keeps_parameters_and_sharing():
    import copy
    lin = nn.Linear(2, 3)
    m = nn.Sequential(lin, nn.BatchNorm1d(3), lin)
    m2 = copy.deepcopy(m)
    assert m2[0] is m2[2] and m2[0] is not lin
    w = m2[0].weight
    assert isinstance(w, nn.Parameter) and w.requires_grad and w.is_leaf
    assert w.data_ptr() != lin.weight.data_ptr()
    np.testing.assert_array_equal(w.detach().numpy(), lin.weight.detach().numpy())
    assert len(list(m2.parameters())) == 4
    assert list(m2.state_dict()) == list(m.state_dict())


# ---- cross_entropy / nll_loss kernels against a NumPy reference ---------------------------------

def _ce_reference(x, t, w=None, ignore_index=-100, eps=0.0, reduction="mean", log_probs=False):
    """torch's cross_entropy (or nll_loss when log_probs) for class-index targets, in float64:
    (loss, d(sum of loss * cot)/dx for a cotangent cot of loss's shape)."""
    x = np.asarray(x, np.float64)
    unbatched = x.ndim == 1
    if unbatched:
        x, t = x[None], np.asarray(t).reshape(1)
    C = x.shape[1]
    rows = np.moveaxis(x, 1, -1).reshape(-1, C)
    y = np.asarray(t).reshape(-1)
    w = np.ones(C) if w is None else np.asarray(w, np.float64)
    valid = y != ignore_index
    ys = np.where(valid, y, 0)
    wy = np.where(valid, w[ys], 0.0)
    if log_probs:
        logp = rows
    else:
        m = rows.max(1, keepdims=True)
        logp = (rows - m) - np.log(np.exp(rows - m).sum(1, keepdims=True))
    onehot = np.zeros_like(rows)
    onehot[np.arange(len(y)), ys] = 1
    # loss_r = sum_c coef[r, c] * (-logp[r, c])
    coef = (1 - eps) * wy[:, None] * onehot + (eps / C) * w[None, :] * valid[:, None]
    loss = (coef * -logp).sum(1)
    denom = wy.sum()
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            out = loss.sum() / denom
        scale = np.full(len(y), 1.0 / denom if denom else 0.0)
    elif reduction == "sum":
        out, scale = loss.sum(), np.ones(len(y))
    else:
        out = loss.reshape(x.shape[:1] + x.shape[2:])
        scale = None

    def grad(cot):
        s = scale * np.asarray(cot, np.float64) if scale is not None else np.asarray(
            cot, np.float64).reshape(-1)
        if log_probs:
            g = -coef * s[:, None]
        else:
            g = (np.exp(logp) * coef.sum(1, keepdims=True) - coef) * s[:, None]
        g = np.moveaxis(g.reshape(x.shape[:1] + x.shape[2:] + (C,)), -1, 1)
        return g[0] if unbatched else g

    return (out[0] if unbatched and reduction == "none" else out), grad


def _layouts(x):
    """(name, strided tensor equal to x) for a few layouts of the same values."""
    out = [("contiguous", S.tensor(x))]
    if x.ndim >= 2:
        out.append(("transposed", S.tensor(np.ascontiguousarray(x.swapaxes(0, 1))).transpose(0, 1)))
        big = np.zeros((x.shape[0] * 2,) + x.shape[1:-1] + (x.shape[-1] * 3,), x.dtype)
        big[::2, ..., 1::3] = x
        out.append(("sliced", S.tensor(big)[::2, ..., 1::3]))
    if x.ndim == 4:
        out.append(("channels_last",
                    S.tensor(np.ascontiguousarray(x.transpose(0, 2, 3, 1))).permute(0, 3, 1, 2)))
    return out


CE_SHAPES = [(1, 1), (1, 5), (7, 1), (6, 4), (3, 1000), (5, 4, 3), (2, 3, 4, 5), (4,)]
CE_OPTIONS = [dict(), dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=1),
              dict(label_smoothing=0.1), dict(label_smoothing=1.0, reduction="sum"),
              dict(weight=True), dict(weight=True, ignore_index=0, label_smoothing=0.1),
              dict(weight=True, label_smoothing=0.3, reduction="none")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", CE_SHAPES, ids=str)
def test_cross_entropy_and_nll_match_numpy(shape, dtype):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    C = shape[1] if len(shape) > 1 else shape[0]
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = rng.integers(0, C, size=tshape)
    w = rng.uniform(0.5, 2.0, C).astype(dtype)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == "float32" else dict(rtol=1e-11, atol=1e-13)
    for opts in CE_OPTIONS:
        kw = dict(opts)
        wref = w if kw.pop("weight", False) else None
        ref_kw = dict(w=wref, ignore_index=kw.get("ignore_index", -100),
                      eps=kw.get("label_smoothing", 0.0), reduction=kw.get("reduction", "mean"))
        if wref is not None:
            kw["weight"] = S.tensor(wref)
        for name, xs in _layouts(x):
            for fn, log_probs in ((F.cross_entropy, False), (F.nll_loss, True)):
                if log_probs and "label_smoothing" in kw:
                    continue
                want, grad = _ce_reference(x, t, log_probs=log_probs, **ref_kw)
                xs = xs.detach().requires_grad_()
                got = fn(xs, S.tensor(t), **kw)
                assert got.dtype == xs.dtype
                np.testing.assert_allclose(got.detach().numpy(), want, **tol,
                                           err_msg=f"{name} {opts} {fn.__name__}")
                cot = rng.standard_normal(got.shape).astype(dtype)
                got.backward(S.tensor(cot))
                np.testing.assert_allclose(xs.grad.numpy(), grad(cot), **tol,
                                           err_msg=f"{name} {opts} {fn.__name__} grad")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_expanded_rows_and_huge_logits(dtype):
    row = np.array([1e4, -1e4, 0.0, 1e4 - 0.5], dtype)
    xs = S.tensor(row).expand(5, 4)                         # stride 0 over the batch
    t = np.array([0, 1, 2, 3, 0])
    for eps in (0.0, 0.1, 1.0):
        for red in ("mean", "sum", "none"):
            want, _ = _ce_reference(np.broadcast_to(row, (5, 4)), t, eps=eps, reduction=red)
            got = F.cross_entropy(xs, S.tensor(t), label_smoothing=eps, reduction=red).numpy()
            assert np.all(np.isfinite(got))
            np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-13)
    x = S.tensor(np.array([[1e4, 1e4 + 1, -1e4], [-1e4, -1e4, -1e4]], dtype), requires_grad=True)
    loss = F.cross_entropy(x, S.tensor([1, 2]), label_smoothing=0.2)
    loss.backward()
    want, grad = _ce_reference(x.detach().numpy(), np.array([1, 2]), eps=0.2)
    np.testing.assert_allclose(loss.item(), want, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), grad(1.0), rtol=1e-5, atol=1e-7)


def test_cross_entropy_all_rows_ignored():
    x = S.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    t = S.tensor([-100, -100, -100])
    for eps in (0.0, 0.1):
        for kw in (dict(), dict(weight=S.ones(4))):
            x.grad = None
            loss = F.cross_entropy(x, t, label_smoothing=eps, **kw)
            assert np.isnan(loss.item())                     # 0 / 0, as torch
            loss.backward()
            assert np.array_equal(x.grad.numpy(), np.zeros((3, 4)))
            assert F.cross_entropy(x, t, reduction="sum", label_smoothing=eps, **kw).item() == 0
            assert F.nll_loss(x, t, reduction="none", **kw).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_loss_targets_out_of_range_raise(fn):
    x = S.randn(4, 3)
    for bad in (3, -1, 1 << 40):
        with pytest.raises(IndexError, match=f"Target {bad} is out of bounds"):
            fn(x, S.tensor([0, 1, bad, 2]))
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        fn(S.randn(2, 3, 2), S.tensor([[0, 1], [5, 2]]))
    assert np.isfinite(fn(x, S.tensor([0, -7, 1, 2]), ignore_index=-7).item())
    with pytest.raises(RuntimeError, match="weight tensor should be defined"):
        fn(x, S.tensor([0, 1, 2, 0]), weight=S.ones(4))
    with pytest.raises(ValueError, match="expected target of shape"):
        fn(x, S.tensor([0, 1]))


def test_cross_entropy_same_bits_for_1_and_2_threads():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((600, 300)).astype(np.float32) * 4
    t = S.tensor(rng.integers(0, 300, 600))
    w = S.tensor(rng.uniform(0.5, 2, 300).astype(np.float32))
    results, prev = [], S.get_num_threads()
    try:
        for n in (1, 2):
            S.set_num_threads(n)
            xs = S.tensor(x, requires_grad=True)
            out = [F.cross_entropy(xs, t, weight=w, label_smoothing=0.1),
                   F.cross_entropy(xs, t, reduction="sum"),
                   F.cross_entropy(xs, t, reduction="none").sum()]
            (out[0] + out[1] + out[2]).backward()
            results.append([o.detach().numpy().tobytes() for o in out] + [xs.grad.numpy().tobytes()])
    finally:
        S.set_num_threads(prev)
    assert results[0] == results[1]


def test_cross_entropy_gradcheck():
    from strided.autograd import gradcheck
    rng = np.random.default_rng(2)
    w = S.tensor(rng.uniform(0.5, 2.0, 4))
    for shape, t in (((3, 4), [0, 3, 1]), ((2, 4, 3), [[0, 1, 3], [2, -100, 1]]), ((4,), 2)):
        x = S.tensor(rng.standard_normal(shape), requires_grad=True)
        tt = S.tensor(np.array(t))
        for kw in (dict(), dict(weight=w, label_smoothing=0.2), dict(reduction="none"),
                   dict(reduction="sum", label_smoothing=1.0)):
            assert gradcheck(lambda a: F.cross_entropy(a, tt, **kw), (x,))
            if "label_smoothing" not in kw:
                assert gradcheck(lambda a: F.nll_loss(a, tt, **kw), (x,))


def test_cross_entropy_probability_targets_numpy_gradcheck_threads():
    from strided.autograd import gradcheck
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 2))
    p = rng.uniform(size=(3, 4, 2))
    w = rng.uniform(0.5, 2, 4)
    rows, prow = np.moveaxis(x, 1, -1).reshape(-1, 4), np.moveaxis(p, 1, -1).reshape(-1, 4)
    logp = rows - rows.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    smoothed = prow * 0.9 + 0.1 / 4
    want = -(w * smoothed * logp).sum(1).reshape(3, 2)
    got = F.cross_entropy(S.tensor(x), S.tensor(p), weight=S.tensor(w), label_smoothing=0.1,
                          reduction="none")
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    xs = S.tensor(x, requires_grad=True)
    for kw in (dict(), dict(weight=S.tensor(w), label_smoothing=0.3), dict(reduction="none")):
        assert gradcheck(lambda a: F.cross_entropy(a, S.tensor(p), **kw), (xs,))
    big = rng.standard_normal((500, 300)).astype(np.float32)
    pb = S.tensor(rng.uniform(size=(500, 300)).astype(np.float32))
    results, prev = [], S.get_num_threads()
    try:
        for n in (1, 2):
            S.set_num_threads(n)
            xb = S.tensor(big, requires_grad=True)
            loss = F.cross_entropy(xb, pb, label_smoothing=0.1)
            loss.backward()
            results.append((loss.detach().numpy().tobytes(), xb.grad.numpy().tobytes()))
    finally:
        S.set_num_threads(prev)
    assert results[0] == results[1]


def test_embedding_uses_index_kernels():
    emb = nn.Embedding(6, 3, padding_idx=1)
    idx = S.tensor([[0, 1, 5], [5, 1, 2]])
    out = emb(idx)
    assert tuple(out.shape) == (2, 3, 3)
    np.testing.assert_array_equal(out.detach().numpy(), emb.weight.detach().numpy()[idx.numpy()])
    out.backward(S.ones(2, 3, 3))
    counts = np.bincount(idx.numpy().ravel(), minlength=6).astype(np.float32)
    counts[1] = 0                                           # padding_idx: no gradient
    np.testing.assert_array_equal(emb.weight.grad.numpy(), np.repeat(counts[:, None], 3, 1))
    with pytest.raises(IndexError, match="index out of range in self"):
        emb(S.tensor([6]))
    with pytest.raises(NotImplementedError, match="max_norm"):
        F.embedding(idx, emb.weight, max_norm=1.0)
    w = S.randn(4, 8, dtype=S.float64)[:, ::2]               # a non-contiguous weight
    np.testing.assert_array_equal(F.embedding(S.tensor([3, 0, 3]), w).numpy(),
                                  w.numpy()[[3, 0, 3]])
