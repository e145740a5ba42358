"""F.layer_norm's fused kernels (NOTE [ Layer-norm kernels ]) against PyTorch: outputs and
gradients of input, weight and bias over shapes, dtypes, layouts and normalized dims;
gradcheck; determinism across thread counts; errors."""
import numpy as np
import pytest

import strided
import strided.nn.functional as F
from strided.autograd import gradcheck

torch = pytest.importorskip("torch")

TOL = {"float32": 3e-5, "float64": 1e-11}

CASES = [  # (input shape, normalized_shape)
    ((3, 5), (5,)), ((2, 7, 64), (64,)), ((4, 130), (130,)), ((2, 3, 4, 5), (4, 5)),
    ((1, 1), (1,)), ((6, 257), (257,)), ((2, 3, 8, 16), (3, 8, 16)), ((5, 0, 4), (4,)),
    ((3, 1000), (1000,)), ((7,), (7,)),
]


def layouts(a):
    """a (numpy) in several layouts, each a (numpy view, strided view) pair over one buffer."""
    out = [("contiguous", a)]
    if a.ndim >= 2:
        t = np.ascontiguousarray(np.swapaxes(a, 0, -1))
        out.append(("transposed", np.swapaxes(t, 0, -1)))
    big = np.zeros(tuple(2 * s for s in a.shape), a.dtype)
    sl = tuple(slice(None, None, 2) for _ in a.shape)
    big[sl] = a
    out.append(("stepped", big[sl]))
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,norm", CASES, ids=str)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_matches_torch(dtype, shape, norm, affine):
    rs = np.random.RandomState(sum(shape) + len(norm))
    a = (rs.standard_normal(shape) * 3 + 1.5).astype(dtype)
    w = rs.standard_normal(norm).astype(dtype)
    b = rs.standard_normal(norm).astype(dtype)
    dy = rs.standard_normal(shape).astype(dtype)
    tol = TOL[dtype]
    for name, view in layouts(a):
        x = strided.tensor(view) if name == "contiguous" else strided.from_numpy(view)
        assert x.is_contiguous() == (name == "contiguous") or x.numel() <= 1 or 0 in shape
        x.requires_grad_(True)
        sw = strided.tensor(w, requires_grad=True) if affine != "none" else None
        sb = strided.tensor(b, requires_grad=True) if affine == "both" else None
        tx = torch.tensor(a, requires_grad=True)
        tw = torch.tensor(w, requires_grad=True) if affine != "none" else None
        tb = torch.tensor(b, requires_grad=True) if affine == "both" else None
        y = F.layer_norm(x, norm, sw, sb, eps=1e-5)
        ty = torch.nn.functional.layer_norm(tx, norm, tw, tb, eps=1e-5)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol,
                                   err_msg=name)
        if x.numel() == 0:
            continue
        (y * strided.tensor(dy)).sum().backward()
        (ty * torch.tensor(dy)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol * 10,
                                   err_msg=name)
        for ours, theirs in ((sw, tw), (sb, tb)):
            if ours is not None:
                np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(),
                                           rtol=tol, atol=tol * 10, err_msg=name)


def test_layer_norm_grad_fn_name_and_input_not_written():
    x = strided.randn(4, 6, requires_grad=True)
    before = x.detach().numpy().copy()
    y = F.layer_norm(x, (6,))
    assert y.grad_fn.name() == "NativeLayerNormBackward0"
    y.sum().backward()
    np.testing.assert_array_equal(x.detach().numpy(), before)


def test_layer_norm_gradcheck():
    rs = np.random.RandomState(3)
    x = strided.tensor(rs.standard_normal((3, 4, 5)), requires_grad=True)
    w = strided.tensor(rs.standard_normal((4, 5)), requires_grad=True)
    b = strided.tensor(rs.standard_normal((4, 5)), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (4, 5), w, b), (x, w, b))
    assert gradcheck(lambda x: F.layer_norm(x, (5,)), (x,))


def test_layer_norm_same_bits_on_any_thread_count():
    """Repeated: a data race between the threads (the backward's per-row sums were once
    shared by both, so a row of x.grad came out shifted now and then -- 37 runs in 200 on the
    bounds-checked build) shows up only in some runs."""
    rs = np.random.RandomState(5)
    a = rs.standard_normal((300, 384)).astype(np.float32)
    dy = strided.tensor(rs.standard_normal((300, 384)).astype(np.float32))
    old = strided.get_num_threads()
    try:
        for attempt in range(20):
            results = []
            for n in (1, 2):
                strided.set_num_threads(n)
                x = strided.tensor(a, requires_grad=True)
                w = strided.ones(384, requires_grad=True)
                y = F.layer_norm(x, (384,), w)
                (y * dy).sum().backward()
                results.append((y.detach().numpy(), x.grad.numpy(), w.grad.numpy()))
            for name, r1, r2 in zip(("y", "x.grad", "w.grad"), *results):
                np.testing.assert_array_equal(r1, r2, err_msg=f"{name}, attempt {attempt}")
    finally:
        strided.set_num_threads(old)


def test_layer_norm_large_mean_is_accurate():
    """Values far from zero (mean 1e4, spread 1): the two-pass variance keeps float32 exact
    to a few ulp where a one-pass E[x^2] - E[x]^2 would lose everything."""
    rs = np.random.RandomState(7)
    a = (rs.standard_normal((8, 512)) + 1e4).astype(np.float32)
    y = F.layer_norm(strided.tensor(a), (512,)).numpy()
    a64 = a.astype(np.float64)
    want = (a64 - a64.mean(1, keepdims=True)) / np.sqrt(a64.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, want, atol=2e-3)


def test_layer_norm_errors_like_torch():
    x = strided.randn(2, 3)
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(x, (4,))
    with pytest.raises(RuntimeError, match="Expected weight to be of same shape"):
        F.layer_norm(x, (3,), strided.ones(4))
    with pytest.raises(RuntimeError, match="Expected bias to be of same shape"):
        F.layer_norm(x, (3,), None, strided.ones(2))
    with pytest.raises(TypeError, match="float32 or float64"):
        F.layer_norm(strided.ones(2, 3, dtype=strided.int64), (3,))
