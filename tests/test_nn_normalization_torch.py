"""GroupNorm, InstanceNorm1d/2d/3d, RMSNorm, LocalResponseNorm and F.normalize against
torch: values and gradients (input, weight, bias) in float32 and float64 over contiguous,
transposed and sliced inputs, running statistics and eval mode, reprs and state_dict keys,
errors, and gradcheck."""
import numpy as np
import pytest

import strided as S
import strided.nn as nn
import strided.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}
DTYPES = [np.float32, np.float64]


def _layout(t, kind):
    """t with the same values in another layout: "permuted" (the last dim outermost in
    memory, a differentiable copy) or "sliced" (every other element of the last dim)."""
    if kind == "permuted":
        return t.movedim(-1, 0).contiguous().movedim(0, -1)
    if kind == "sliced":
        return t[..., ::2]
    return t


def _base(shape, kind):
    """The array to make a leaf from, so that _layout(leaf, kind) has the values' shape."""
    return shape[:-1] + (shape[-1] * 2,) if kind == "sliced" else shape


LAYOUTS = ["contiguous", "permuted", "sliced"]


def _compare(fs, ft, shape, dtype, params=(), seed=0, kind="contiguous", scale=3.0):
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(_base(shape, kind)) * scale + 1.0).astype(dtype)
    xs, xt = S.tensor(a).requires_grad_(), torch.tensor(a, requires_grad=True)
    ps = [S.tensor(p.astype(dtype)).requires_grad_() for p in params]
    pt = [torch.tensor(p.astype(dtype), requires_grad=True) for p in params]
    xs2, xt2 = _layout(xs, kind), _layout(xt, kind)
    ys, yt = fs(xs2, *ps), ft(xt2, *pt)
    assert tuple(ys.shape) == tuple(yt.shape)
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), **TOL[dtype])
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ys.backward(S.tensor(g))
    yt.backward(torch.tensor(g))
    for s, t in [(xs, xt)] + list(zip(ps, pt)):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("shape,groups", [((4, 6, 5), 3), ((2, 6, 4, 3), 2), ((3, 4), 2),
                                          ((2, 8, 3, 4), 1), ((1, 4, 7), 4)])
def test_group_norm(shape, groups, kind, dtype):
    c = shape[1]
    w = np.random.default_rng(1).standard_normal(c)
    b = np.random.default_rng(2).standard_normal(c)
    _compare(lambda x, w, b: F.group_norm(x, groups, w, b),
             lambda x, w, b: TF.group_norm(x, groups, w, b), shape, dtype, (w, b), kind=kind)
    _compare(lambda x: F.group_norm(x, groups, eps=1e-3),
             lambda x: TF.group_norm(x, groups, eps=1e-3), shape, dtype, kind=kind)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("shape", [(4, 3, 5), (2, 3, 4, 6), (2, 2, 3, 2, 4)])
def test_instance_norm(shape, kind, dtype):
    c = shape[1]
    w = np.random.default_rng(1).standard_normal(c)
    b = np.random.default_rng(2).standard_normal(c)
    _compare(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
             lambda x, w, b: TF.instance_norm(x, weight=w, bias=b), shape, dtype, (w, b),
             kind=kind)
    _compare(F.instance_norm, TF.instance_norm, shape, dtype, kind=kind)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("shape,k", [((4, 6), 1), ((2, 3, 8), 1), ((2, 3, 4, 6), 2),
                                     ((5, 4), 2)])
def test_rms_norm(shape, k, kind, dtype):
    ns = shape[len(shape) - k:]
    w = np.random.default_rng(3).standard_normal(ns)
    _compare(lambda x, w: F.rms_norm(x, ns, w), lambda x, w: TF.rms_norm(x, ns, w),
             shape, dtype, (w,), kind=kind)
    _compare(lambda x: F.rms_norm(x, ns), lambda x: TF.rms_norm(x, ns), shape, dtype,
             kind=kind)
    _compare(lambda x: F.rms_norm(x, ns, eps=0.1), lambda x: TF.rms_norm(x, ns, eps=0.1),
             shape, dtype, kind=kind, scale=0.1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("shape,size", [((2, 5, 4), 3), ((2, 6, 3, 4), 2), ((1, 7, 3, 2, 2), 5),
                                        ((2, 3, 4), 7), ((2, 4, 5), 1)])
def test_local_response_norm(shape, size, kind, dtype):
    for args in [(), (1e-2, 0.5, 2.0)]:
        _compare(lambda x: F.local_response_norm(x, size, *args),
                 # torch's view() refuses some non-contiguous 5-D inputs
                 lambda x: TF.local_response_norm(x.contiguous(), size, *args), shape, dtype,
                 kind=kind)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
def test_normalize(kind, dtype):
    for shape, p, dim in [((4, 6), 2.0, 1), ((3, 4, 5), 1.0, -1), ((3, 4, 5), 3.0, 0),
                          ((2, 3, 4, 6), 2.0, 2)]:
        _compare(lambda x: F.normalize(x, p, dim), lambda x: TF.normalize(x, p, dim), shape,
                 dtype, kind=kind)
    # a zero row: the norm is clamped at eps
    z = np.zeros((2, 3), dtype)
    z[1] = [1.0, 2.0, 2.0]
    np.testing.assert_allclose(F.normalize(S.tensor(z)).numpy(),
                               TF.normalize(torch.tensor(z)).numpy(), rtol=1e-6)
    out = S.empty(2, 3, dtype=S.float64)
    assert F.normalize(S.tensor(z.astype(np.float64)), out=out) is out
    np.testing.assert_allclose(out.numpy(), TF.normalize(torch.tensor(z)).numpy(), rtol=1e-6)


# ---- modules -----------------------------------------------------------------------------------

def _copy_params(ms, mt):
    for (n, p), (nt, pt) in zip(ms.named_parameters(), mt.named_parameters()):
        assert n == nt
        r = np.random.default_rng(len(n)).standard_normal(tuple(pt.shape)).astype(np.float32)
        with torch.no_grad():
            pt.copy_(torch.tensor(r))
        with S.no_grad():
            p.copy_(S.tensor(r))


MODULES = [
    (lambda m: m.GroupNorm(2, 6), (3, 6, 5)),
    (lambda m: m.GroupNorm(3, 6, affine=False), (3, 6, 4, 2)),
    (lambda m: m.GroupNorm(3, 6, eps=1e-3, bias=False), (3, 6, 4)),
    (lambda m: m.InstanceNorm1d(4), (3, 4, 5)),
    (lambda m: m.InstanceNorm1d(4, affine=True), (4, 5)),
    (lambda m: m.InstanceNorm1d(4, affine=True, track_running_stats=True), (3, 4, 5)),
    (lambda m: m.InstanceNorm2d(3, affine=True, bias=False), (2, 3, 4, 5)),
    (lambda m: m.InstanceNorm2d(3, track_running_stats=True, momentum=0.3), (2, 3, 4, 5)),
    (lambda m: m.InstanceNorm2d(3, track_running_stats=True, momentum=None), (3, 4, 5)),
    (lambda m: m.InstanceNorm3d(2, affine=True, track_running_stats=True), (2, 2, 3, 2, 4)),
    (lambda m: m.RMSNorm(5), (3, 4, 5)),
    (lambda m: m.RMSNorm([4, 5], eps=1e-3), (3, 4, 5)),
    (lambda m: m.RMSNorm(5, elementwise_affine=False), (3, 5)),
    (lambda m: m.LocalResponseNorm(3), (2, 5, 4, 4)),
    (lambda m: m.LocalResponseNorm(2, 0.1, 0.5, 2.0), (2, 5, 4)),
]


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_module_matches_torch_in_train_and_eval(i):
    make, shape = MODULES[i]
    ms, mt = make(nn), make(torch.nn)
    assert repr(ms) == repr(mt)
    assert list(ms.state_dict()) == list(mt.state_dict())
    for (n, v), (nt, vt) in zip(ms.state_dict().items(), mt.state_dict().items()):
        np.testing.assert_array_equal(v.numpy(), vt.numpy(), err_msg=n)
    _copy_params(ms, mt)
    rng = np.random.default_rng(i)
    for mode in ("train", "train", "eval"):
        getattr(ms, mode)()
        getattr(mt, mode)()
        a = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
        xs, xt = S.tensor(a).requires_grad_(), torch.tensor(a, requires_grad=True)
        ys, yt = ms(xs), mt(xt)
        np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
        (ys * ys).sum().backward()
        (yt * yt).sum().backward()
        np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-4)
        for (n, v), (nt, vt) in zip(ms.state_dict().items(), mt.state_dict().items()):
            np.testing.assert_allclose(v.numpy(), vt.numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{n} after {mode}")
    for (n, p), (nt, pt) in zip(ms.named_parameters(), mt.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), rtol=1e-3, atol=1e-3,
                                   err_msg=n)


def test_module_dtype_and_reset():
    m = nn.GroupNorm(2, 4, dtype=S.float64)
    assert m.weight.dtype == S.float64
    with S.no_grad():
        m.weight.fill_(3.0)
    m.reset_parameters()
    assert m.weight.tolist() == [1.0] * 4
    r = nn.RMSNorm(3, dtype=S.float64)
    assert r.weight.dtype == S.float64
    y = r(S.ones(2, 3, dtype=S.float64))
    assert y.dtype == S.float64


def test_errors_match_torch():
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by "
                                         r"num_groups \(2\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be "
                                           "divisible by num_groups"):
        F.group_norm(S.zeros(2, 5, 3), 2)
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.InstanceNorm1d(3)(S.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        nn.InstanceNorm2d(3)(S.zeros(3, 2))
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match "
                                         r"num_features \(3\), but got: 4."):
        nn.InstanceNorm1d(3, affine=True)(S.zeros(2, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when "
                                         "training"):
        F.instance_norm(S.zeros(2, 3, 1))
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input "
                                           r"with shape \[\*, 4\]"):
        F.rms_norm(S.zeros(2, 3), (4,))
    with pytest.raises(ValueError, match=r"Expected 3D or higher dimensionality input "
                                         r"\(got 2 dimensions\)"):
        F.local_response_norm(S.zeros(2, 3), 2)


GRADCHECK = [
    lambda x, w, b: F.group_norm(x, 2, w, b),
    lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
    lambda x, w, b: F.rms_norm(x, (3,), w[:3]) + b[0],
    lambda x, w, b: F.local_response_norm(x * w.view(4, 1), 3, 0.5, 0.75, 1.0) + b.view(4, 1),
    lambda x, w, b: F.normalize(x * w.view(4, 1), 1.5, 1) + b.view(4, 1),
]


@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck(i):
    rng = np.random.default_rng(i)
    x = S.tensor(rng.standard_normal((2, 3, 4))).transpose(1, 2).requires_grad_()
    w = S.tensor(rng.standard_normal(4)).requires_grad_()
    b = S.tensor(rng.standard_normal(4)).requires_grad_()
    assert S.autograd.gradcheck(GRADCHECK[i], (x, w, b))
