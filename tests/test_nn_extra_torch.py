"""The nn pieces PyTorch programs reach for, against torch: nn.utils (clip_grad_norm_,
clip_grad_value_, parameters_to_vector), F.one_hot, F.pad, F.smooth_l1_loss / huber_loss /
kl_div, Dropout1d/2d/3d, F.interpolate / nn.Upsample, F.conv_transpose2d / ConvTranspose2d:
values and gradients over several shapes, layouts and arguments (float32 and float64)."""
import itertools
import math

import numpy as np
import pytest

import strided as S
import strided.nn as nn
import strided.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def _pair(a):
    """The same data as a strided leaf and a torch leaf."""
    return S.tensor(a).requires_grad_(), torch.tensor(a, requires_grad=True)


def _close(s, t, dtype, what=""):
    np.testing.assert_allclose(s.detach().numpy(), t.detach().numpy(), err_msg=what,
                               **TOL[dtype])


def _check(fs, ft, arrays, dtype, grad_seed=0, what=""):
    """fs(*strided leaves) and ft(*torch leaves) agree in value and in every gradient."""
    pairs = [_pair(a.astype(dtype)) for a in arrays]
    ys = fs(*[p[0] for p in pairs])
    yt = ft(*[p[1] for p in pairs])
    assert tuple(ys.shape) == tuple(yt.shape), what
    _close(ys, yt, dtype, what)
    g = np.random.default_rng(grad_seed).standard_normal(tuple(yt.shape)).astype(dtype)
    ys.backward(S.tensor(g))
    yt.backward(torch.tensor(g))
    for i, (s, t) in enumerate(pairs):
        assert (s.grad is None) == (t.grad is None), f"{what} input {i}"
        if t.grad is not None:
            _close(s.grad, t.grad, dtype, f"{what} grad {i}")


rng = np.random.default_rng(0)
DTYPES = [np.float32, np.float64]


# ---- nn.utils ---------------------------------------------------------------------------------

def _with_grads(shapes, dtype, seed, scale=1.0):
    r = np.random.default_rng(seed)
    grads = [r.standard_normal(sh).astype(dtype) * scale for sh in shapes]
    sp, tp = [], []
    for gr in grads:
        s, t = _pair(np.zeros(gr.shape, dtype))
        s.grad, t.grad = S.tensor(gr), torch.tensor(gr)
        sp.append(s)
        tp.append(t)
    return sp, tp


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    shapes = [(3, 4), (5,), (2, 2, 2), ()]
    sp, tp = _with_grads(shapes, dtype, 1)
    ts = nn.utils.clip_grad_norm_(sp, max_norm, norm_type)
    tt = torch.nn.utils.clip_grad_norm_(tp, max_norm, float(norm_type), foreach=False)
    assert ts.shape == () and ts.dtype.name == str(tt.dtype).removeprefix("torch.")
    _close(ts, tt, dtype)
    for s, t in zip(sp, tp):
        _close(s.grad, t.grad, dtype)


def test_clip_grad_norm_edge_cases():
    p = S.zeros(3, requires_grad=True)
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0          # no gradients
    p.grad = S.tensor([3.0, 4.0, 0.0])
    total = nn.utils.clip_grad_norm_(p, 1.0)                           # a single tensor
    assert abs(total.item() - 5.0) < 1e-6
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8, 0.0], rtol=1e-5)
    p.grad = S.tensor([float("nan"), 1.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert math.isnan(total.item())


@pytest.mark.parametrize("clip", [0.0, 0.3, 2.0])
def test_clip_grad_value_matches_torch(clip):
    sp, tp = _with_grads([(4, 3), (7,)], np.float32, 2)
    nn.utils.clip_grad_value_(sp, clip)
    torch.nn.utils.clip_grad_value_(tp, clip, foreach=False)
    for s, t in zip(sp, tp):
        _close(s.grad, t.grad, np.float32)


def test_parameters_to_vector_and_back():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(4)
    (sa, ta), (sb, tb) = _pair(a), _pair(b)
    vs = nn.utils.parameters_to_vector([sa, sb.t() if sb.ndim == 2 else sb])
    vt = torch.nn.utils.parameters_to_vector([ta, tb])
    _close(vs, vt, np.float64)
    assert vs.grad_fn.name() == type(vt.grad_fn).__name__ == "CatBackward0"
    w = np.arange(10.0)
    (vs * S.tensor(w)).sum().backward()
    (vt * torch.tensor(w)).sum().backward()
    _close(sa.grad, ta.grad, np.float64)
    _close(sb.grad, tb.grad, np.float64)
    nn.utils.vector_to_parameters(S.tensor(-w), [sa, sb])
    torch.nn.utils.vector_to_parameters(torch.tensor(-w), [ta, tb])
    _close(sa, ta, np.float64)
    _close(sb, tb, np.float64)
    model = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (8,)


# ---- one_hot ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 0), ()])
@pytest.mark.parametrize("num_classes", [-1, 7])
def test_one_hot_matches_torch(shape, num_classes):
    idx = rng.integers(0, 5, size=shape)
    if idx.size == 0 and num_classes == -1:
        with pytest.raises(RuntimeError, match="Can not infer total number of classes"):
            F.one_hot(S.tensor(idx), num_classes)
        return
    s = F.one_hot(S.tensor(idx), num_classes)
    t = TF.one_hot(torch.tensor(idx), num_classes)
    assert s.dtype == S.int64 and s.shape == tuple(t.shape)
    assert np.array_equal(s.numpy(), t.numpy())


def test_one_hot_views_and_errors():
    base = S.tensor([[0, 3], [2, 1]])
    assert F.one_hot(base.t(), 4).tolist() == TF.one_hot(torch.tensor([[0, 3], [2, 1]]).t(),
                                                         4).tolist()
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes"):
        F.one_hot(S.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="Class values must be non-negative"):
        F.one_hot(S.tensor([0, -1]), 3)
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(S.tensor([0, 1], dtype=S.int32), 3)


# ---- pad --------------------------------------------------------------------------------------

PAD_CASES = [
    ((2, 3, 4), (1, 2), "constant"), ((2, 3, 4), (1, 2, 0, 3), "constant"),
    ((2, 3, 4), (1, -2, 2, 1, 1, 1), "constant"), ((5,), (3, 0), "constant"),
    ((2, 3, 4), (3, 2), "reflect"), ((2, 3, 5, 4), (1, 2, 3, 1), "reflect"),
    ((3, 5, 4), (3, 3, 4, 4), "reflect"), ((2, 4), (-1, 2), "reflect"),
    ((2, 3, 4), (5, 2), "replicate"), ((2, 3, 5, 4), (1, 2, 3, 6), "replicate"),
    ((1, 2, 3, 3, 2), (1, 1, 2, 0, 1, 2), "replicate"), ((2, 3, 4), (4, 2), "circular"),
    ((2, 3, 5, 4), (1, 2, 3, 5), "circular"), ((2, 4), (-1, 2), "circular"),
    ((1, 2, 3, 3, 2), (1, 1, 2, 0, 1, 2), "reflect"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,pad,mode", PAD_CASES, ids=str)
def test_pad_matches_torch(shape, pad, mode, dtype):
    x = rng.standard_normal(shape)
    _check(lambda a: F.pad(a, pad, mode), lambda a: TF.pad(a, pad, mode), [x], dtype)
    if mode == "constant":
        _check(lambda a: F.pad(a, pad, value=2.5), lambda a: TF.pad(a, pad, value=2.5), [x],
               dtype)


def test_pad_views_integers_and_errors():
    x = rng.standard_normal((4, 6))
    sv = S.tensor(x).t()[::2]                      # non-contiguous
    tv = torch.tensor(x).t()[::2]
    for mode in ("constant", "reflect", "replicate", "circular"):
        _close(F.pad(sv, (1, 1), mode), TF.pad(tv, (1, 1), mode), np.float64, mode)
    i = F.pad(S.arange(6).view(2, 3), (1, 1), value=7)
    assert i.dtype == S.int64 and i.tolist() == TF.pad(torch.arange(6).view(2, 3), (1, 1),
                                                       value=7).tolist()
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(S.zeros(1, 3), (3, 0), "reflect")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(S.zeros(1, 3), (4, 0), "circular")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D"):
        F.pad(S.zeros(3), (1, 1), "reflect")
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        F.pad(S.zeros(3), (1,))
    with pytest.raises(RuntimeError, match="less than or equal to two times"):
        F.pad(S.zeros(3), (1, 1, 1, 1))


def test_pad_modules():
    x = rng.standard_normal((1, 2, 3, 4))
    for name, args in [("ZeroPad2d", (1,)), ("ConstantPad2d", ((1, 2, 0, 1), 3.0)),
                       ("ReflectionPad2d", (2,)), ("ReplicationPad2d", ((1, 0, 2, 1),)),
                       ("CircularPad2d", (1,)), ("ReflectionPad1d", (2,)),
                       ("ConstantPad1d", (2, -1.0))]:
        s, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        xi = x[0] if name.endswith("1d") else x
        _close(s(S.tensor(xi)), t(torch.tensor(xi)), np.float64, name)
        assert repr(s) == repr(t)


# ---- losses -----------------------------------------------------------------------------------

LOSS_SHAPES = [(7,), (3, 4), (2, 3, 5)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", LOSS_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.0])
def test_smooth_l1_and_huber_match_torch(beta, reduction, shape, dtype):
    x, y = rng.standard_normal(shape) * 2, rng.standard_normal(shape)
    _check(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
           lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [x, y], dtype)
    _check(lambda a, b: nn.SmoothL1Loss(reduction=reduction, beta=beta)(a, b),
           lambda a, b: torch.nn.SmoothL1Loss(reduction=reduction, beta=beta)(a, b), [x, y],
           dtype)
    if beta == 0:
        with pytest.raises(RuntimeError, match="non-positive values for delta"):
            F.huber_loss(S.tensor(x), S.tensor(y), delta=beta)
        return
    _check(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=beta),
           lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=beta), [x, y], dtype)
    _check(lambda a, b: nn.HuberLoss(reduction=reduction, delta=beta)(a, b),
           lambda a, b: torch.nn.HuberLoss(reduction=reduction, delta=beta)(a, b), [x, y],
           dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", LOSS_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(log_target, reduction, shape, dtype):
    logits = rng.standard_normal(shape)
    x = logits - np.log(np.exp(logits).sum(-1, keepdims=True))        # log-probabilities
    p = rng.random(shape)
    p[..., 0] = 0.0                                                    # 0 log 0 = 0
    p /= p.sum(-1, keepdims=True)
    y = np.log(np.maximum(p, 1e-30)) if log_target else p
    kw = dict(reduction=reduction, log_target=log_target)
    # torch's target gradient is nan where target == 0 (xlogy's 0/0): compare it elsewhere
    mask = np.ones(shape) if log_target else (p > 0).astype(np.float64)
    sx, tx = _pair(x.astype(dtype))
    ys, yt = F.kl_div(sx, S.tensor(y.astype(dtype)), **kw), TF.kl_div(tx, torch.tensor(
        y.astype(dtype)), **kw)
    _close(ys, yt, dtype)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ys.backward(S.tensor(g))
    yt.backward(torch.tensor(g))
    _close(sx.grad, tx.grad, dtype)
    st, tt = _pair(y.astype(dtype))
    F.kl_div(S.tensor(x.astype(dtype)), st, **kw).backward(S.tensor(g))
    TF.kl_div(torch.tensor(x.astype(dtype)), tt, **kw).backward(torch.tensor(g))
    keep = mask > 0
    np.testing.assert_allclose(st.grad.numpy()[keep], tt.grad.numpy()[keep], **TOL[dtype])
    _close(nn.KLDivLoss(**kw)(sx, S.tensor(y.astype(dtype))),
           torch.nn.KLDivLoss(**kw)(tx, torch.tensor(y.astype(dtype))), dtype)


def test_loss_argument_errors():
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(S.zeros(2), S.zeros(2), beta=-1.0)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.kl_div(S.zeros(2), S.zeros(2), reduction="avg")


# ---- channel dropout --------------------------------------------------------------------------

@pytest.mark.parametrize("cls,shape", [("Dropout1d", (4, 6, 5)), ("Dropout1d", (6, 5)),
                                       ("Dropout2d", (4, 6, 3, 3)), ("Dropout3d", (2, 5, 2, 3, 2)),
                                       ("Dropout3d", (5, 2, 3, 2))])
def test_channel_dropout(cls, shape):
    S.manual_seed(0)
    layer = getattr(nn, cls)(0.4)
    x = S.tensor(rng.random(shape) + 0.5).requires_grad_()
    y = layer(x)
    out = y.detach().numpy()
    xs = x.detach().numpy()
    channel_dims = 2 if len(shape) == {"Dropout1d": 3, "Dropout2d": 4, "Dropout3d": 5}[cls] \
        else 1
    flat_out = out.reshape(int(np.prod(shape[:channel_dims])), -1)
    flat_x = xs.reshape(flat_out.shape)
    zeroed = (flat_out == 0).all(1)
    kept = ~zeroed
    assert zeroed.any() and kept.any()                 # whole channels dropped, others kept
    np.testing.assert_allclose(flat_out[kept], flat_x[kept] / 0.6, rtol=1e-12)
    y.sum().backward()
    g = x.grad.numpy().reshape(flat_out.shape)
    assert (g[zeroed] == 0).all() and np.allclose(g[kept], 1 / 0.6)
    layer.eval()
    assert layer(x) is x
    assert repr(layer) == repr(getattr(torch.nn, cls)(0.4))


def test_dropout2d_functional_and_p_bounds():
    x = S.ones(3, 8, 2, 2)
    assert F.dropout2d(x, 0.0).tolist() == x.tolist()
    assert F.dropout2d(x, 1.0).sum().item() == 0
    assert F.dropout2d(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout2d(x, 1.5)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        F.dropout1d(S.ones(2, 2, 2, 2))


# ---- interpolate / Upsample -------------------------------------------------------------------

INTERP = [((2, 3, 5, 7), dict(scale_factor=2)), ((2, 3, 5, 7), dict(size=(8, 3))),
          ((1, 2, 6, 6), dict(scale_factor=0.5)), ((1, 2, 5, 6), dict(scale_factor=(0.6, 1.3))),
          ((1, 2, 5, 6), dict(scale_factor=(0.6, 1.3), mode="nearest-exact")),
          ((1, 2, 4, 4), dict(scale_factor=1.7, mode="bilinear")),
          ((2, 2, 4, 6), dict(size=(9, 5), mode="bilinear", align_corners=True)),
          ((2, 2, 4, 6), dict(size=(9, 5), mode="bilinear", align_corners=False)),
          ((1, 2, 5, 6), dict(scale_factor=(0.5, 2.5), mode="bilinear")),
          ((1, 2, 5, 6), dict(scale_factor=(1.5, 1.3), mode="bilinear",
                              recompute_scale_factor=True)),
          ((1, 1, 3, 3), dict(size=(1, 1), mode="bilinear", align_corners=True)),
          ((1, 3, 8, 8), dict(scale_factor=0.25, mode="bilinear")),
          ((2, 3, 7), dict(size=11, mode="linear")), ((2, 3, 7), dict(scale_factor=3)),
          ((2, 3, 7), dict(size=4, mode="linear", align_corners=True))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kw", INTERP, ids=str)
def test_interpolate_matches_torch(shape, kw, dtype):
    x = rng.standard_normal(shape)
    _check(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [x], dtype)


def test_interpolate_layouts_modules_and_errors():
    x = rng.standard_normal((2, 3, 4, 5))
    sx, tx = S.tensor(x).permute(0, 1, 3, 2), torch.tensor(x).permute(0, 1, 3, 2)
    _close(F.interpolate(sx, scale_factor=2, mode="bilinear"),
           TF.interpolate(tx, scale_factor=2, mode="bilinear"), np.float64)
    for s, t in [(nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
                 (nn.Upsample(size=(3, 7), mode="bilinear", align_corners=True),
                  torch.nn.Upsample(size=(3, 7), mode="bilinear", align_corners=True)),
                 (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(
                     scale_factor=3)),
                 (nn.UpsamplingBilinear2d(size=(6, 6)), torch.nn.UpsamplingBilinear2d(
                     size=(6, 6)))]:
        _close(s(S.tensor(x)), t(torch.tensor(x)), np.float64, repr(t))
        assert repr(s) == repr(t)
    u8 = S.arange(4, dtype=S.uint8).view(1, 1, 2, 2)
    assert F.interpolate(u8, scale_factor=2).tolist() == TF.interpolate(
        torch.arange(4, dtype=torch.uint8).view(1, 1, 2, 2), scale_factor=2).tolist()
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(S.zeros(1, 1, 2, 2), size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(S.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(S.zeros(1, 1, 2, 2), scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D input"):
        F.interpolate(S.zeros(1, 1, 2), scale_factor=2, mode="bilinear")


# ---- transposed convolution -------------------------------------------------------------------

CT_CASES = [dict(), dict(stride=2), dict(stride=2, padding=1, output_padding=1),
            dict(stride=3, padding=2, output_padding=2), dict(padding=1, dilation=2),
            dict(dilation=2, output_padding=1), dict(groups=2), dict(groups=4, stride=2),
            dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), dilation=(1, 2),
                 groups=2),
            dict(stride=2, padding=1, dilation=3, groups=2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kw", CT_CASES, ids=str)
def test_conv_transpose2d_matches_torch(kw, bias, dtype):
    g = kw.get("groups", 1)
    cin, cout = 4, 8
    x = rng.standard_normal((2, cin, 5, 6))
    w = rng.standard_normal((cin, cout // g, 3, 2))
    arrays = [x, w] + ([rng.standard_normal(cout)] if bias else [])
    _check(lambda *a: F.conv_transpose2d(*a[:2], a[2] if bias else None, **kw),
           lambda *a: TF.conv_transpose2d(*a[:2], a[2] if bias else None, **kw), arrays, dtype)


def test_conv_transpose_unbatched_views_1d_and_grad_fn():
    x = rng.standard_normal((3, 4, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    _check(lambda a, b: F.conv_transpose2d(a, b, stride=2),
           lambda a, b: TF.conv_transpose2d(a, b, stride=2), [x, w], np.float64)
    xs = rng.standard_normal((2, 5, 4, 3))                 # a transposed (non-contiguous) input
    _check(lambda a, b: F.conv_transpose2d(a.transpose(1, 3), b, padding=1),
           lambda a, b: TF.conv_transpose2d(a.transpose(1, 3), b, padding=1),
           [xs, rng.standard_normal((3, 2, 3, 3))], np.float64)
    for kw in (dict(), dict(stride=2, padding=1, output_padding=1), dict(groups=3, dilation=2)):
        x1 = rng.standard_normal((2, 6, 7))
        w1 = rng.standard_normal((6, 3 if kw.get("groups") else 4, 3))
        _check(lambda a, b: F.conv_transpose1d(a, b, **kw),
               lambda a, b: TF.conv_transpose1d(a, b, **kw), [x1, w1], np.float64)
    y = F.conv_transpose2d(S.zeros(1, 2, 3, 3, requires_grad=True), S.zeros(2, 1, 2, 2))
    assert y.grad_fn.name() == "ConvolutionBackward0"
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride"):
        F.conv_transpose2d(S.zeros(1, 2, 3, 3), S.zeros(2, 1, 2, 2), stride=2,
                           output_padding=2)
    with pytest.raises(RuntimeError, match="to have 3 channels, but got 2"):
        F.conv_transpose2d(S.zeros(1, 2, 3, 3), S.zeros(3, 1, 2, 2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose2d_module_matches_torch(dtype):
    td = torch.float32 if dtype == np.float32 else torch.float64
    for args, kw in [((4, 6, 3), dict(stride=2, padding=1, output_padding=1)),
                     ((4, 6, (3, 2)), dict(groups=2, bias=False, dilation=(2, 1))),
                     ((4, 4, 2), dict(stride=2))]:
        t = torch.nn.ConvTranspose2d(*args, **kw).to(td)
        s = nn.ConvTranspose2d(*args, **kw).to(S.float32 if dtype == np.float32 else S.float64)
        assert repr(s) == repr(t)
        assert {k: tuple(v.shape) for k, v in s.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in t.state_dict().items()}
        s.load_state_dict({k: S.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
        x = rng.standard_normal((2, 4, 5, 5))
        _check(lambda a: s(a), lambda a: t(a), [x], dtype)
        if kw.get("stride") == 2:
            _check(lambda a: s(a, output_size=(10, 10)), lambda a: t(a, output_size=(10, 10)),
                   [x], dtype)
    bound = 1 / math.sqrt(3 * 9)                              # fan_in = out/groups * k * k
    w = nn.ConvTranspose2d(5, 3, 3).weight.detach().numpy()
    assert np.abs(w).max() <= bound
    with pytest.raises(ValueError, match="requested an output size"):
        nn.ConvTranspose2d(2, 2, 3, stride=2)(S.zeros(1, 2, 4, 4), output_size=(20, 20))


@pytest.mark.parametrize("name,node", [("mse_loss", "MseLossBackward0"),
                                       ("smooth_l1_loss", "SmoothL1LossBackward0")])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("xs,ys", [((32, 1), (32, 1)), ((4, 5), (5,)), ((3, 1, 4), (2, 4)),
                                   ((), ()), ((0, 3), (0, 3))])
def test_recorded_losses_match_torch_with_broadcasting(name, node, reduction, xs, ys):
    """mse_loss and smooth_l1_loss are one recorded op each: values, the grad_fn's name and
    both inputs' gradients (broadcast target summed back) as torch's."""
    import warnings
    rng = np.random.default_rng(11)
    for dt, tol in ((np.float32, 1e-6), (np.float64, 1e-12)):
        a, b = rng.standard_normal(xs).astype(dt), rng.standard_normal(ys).astype(dt)
        if a.size:
            a.flat[0] = b.flat[0] + 1.0          # |d| == beta: the branch point
        x, y = S.tensor(a, requires_grad=True), S.tensor(b, requires_grad=True)
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")    # torch warns about the broadcast target
            out = getattr(F, name)(x, y, reduction=reduction)
            tout = getattr(torch.nn.functional, name)(tx, ty, reduction=reduction)
        assert type(out.grad_fn).__name__ == node or out.grad_fn.name() == node
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=tol,
                                   atol=tol)
        w = rng.standard_normal(tuple(tout.shape)).astype(dt)
        (out * S.tensor(w)).sum().backward()
        (tout * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=tol, atol=tol)
