"""The Tensor API a PyTorch program reaches for first (issue 17), against PyTorch: dtype=float
and friends, byte masks, tensors where PyTorch takes ints, PyTorch's exceptions, views of
zero-element tensors, view(dtype), in-place view ops, resize_/set_, .data, Size, finfo/iinfo,
the legacy constructors, new_*, type(), __format__ and inference_mode."""
import pickle

import numpy as np
import pytest

import strided

torch = pytest.importorskip("torch")

TORCH_DTYPES = {strided.bool: torch.bool, strided.uint8: torch.uint8, strided.int32: torch.int32,
                strided.int64: torch.int64, strided.float32: torch.float32,
                strided.float64: torch.float64}


def same_dtype(s, t):
    return TORCH_DTYPES[s] == t


def check_same(s, t):
    """A strided tensor and a torch tensor hold the same values, shape and dtype."""
    assert tuple(s.shape) == tuple(t.shape)
    assert same_dtype(s.dtype, t.dtype), (s.dtype, t.dtype)
    np.testing.assert_array_equal(np.asarray(s.tolist()), np.asarray(t.tolist()))


def layouts(lib, a):
    """The same values in several layouts: contiguous, transposed, step-sliced, expanded."""
    t = lib.tensor(a)
    yield t
    yield lib.tensor(np.ascontiguousarray(a.T)).t() if a.ndim == 2 else t
    big = lib.tensor(np.repeat(a, 2, axis=-1))
    yield big[..., ::2]


# ---- dtype=float / int / bool ------------------------------------------------------------

PY_TYPES = [float, int, bool]


@pytest.mark.parametrize("py", PY_TYPES)
def test_python_types_as_dtypes_in_factories(py):
    for name, args in [("zeros", (2, 3)), ("ones", (2,)), ("empty", (3,))]:
        s = getattr(strided, name)(*args, dtype=py)
        t = getattr(torch, name)(*args, dtype=py)
        assert same_dtype(s.dtype, t.dtype), (name, py)
    assert same_dtype(strided.full((2,), 1, dtype=py).dtype, torch.full((2,), 1, dtype=py).dtype)
    assert same_dtype(strided.tensor([1, 0], dtype=py).dtype,
                      torch.tensor([1, 0], dtype=py).dtype)
    assert same_dtype(strided.zeros_like(strided.ones(2), dtype=py).dtype,
                      torch.zeros_like(torch.ones(2), dtype=py).dtype)
    if py is not bool:
        assert same_dtype(strided.arange(3, dtype=py).dtype, torch.arange(3, dtype=py).dtype)


@pytest.mark.parametrize("py", PY_TYPES)
def test_python_types_as_dtypes_in_conversions(py):
    a = np.array([[1.5, 0.0], [2.25, -3.0]])
    for s, t in zip(layouts(strided, a), layouts(torch, a)):
        check_same(s.to(py), t.to(py))
        check_same(s.to(dtype=py), t.to(dtype=py))
        if py is not bool:
            check_same(s.sum(dtype=py), t.sum(dtype=py))
            check_same(s.cumsum(0, dtype=py), t.cumsum(0, dtype=py))
        check_same(s.new_zeros(2, dtype=py), t.new_zeros(2, dtype=py))


def test_float64_values_are_not_rounded_to_float32():
    x = 0.1 + 1e-12
    s = strided.tensor([x], dtype=float)
    assert s.item() == torch.tensor([x], dtype=float).item() == x


# ---- byte masks ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 2)])
def test_uint8_index_is_a_mask(shape):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    m = rng.integers(0, 3, size=shape[:1]).astype(np.uint8)     # 2 counts as True too
    m2 = rng.integers(0, 3, size=shape).astype(np.uint8)
    for s, t in zip(layouts(strided, a), layouts(torch, a)):
        for idx_s, idx_t in [(strided.tensor(m), torch.tensor(m)), (m, m),
                             (strided.tensor(m2), torch.tensor(m2))]:
            check_same(s[idx_s], t[idx_t])
            s2 = s.clone()
            s2[idx_s] = 7.0           # PyTorch refuses some byte-mask writes: NumPy's answer
            want = np.asarray(s.tolist())
            want[np.asarray(idx_s.tolist() if isinstance(idx_s, strided.Tensor) else idx_s,
                            dtype=bool)] = 7.0
            np.testing.assert_array_equal(np.asarray(s2.tolist()), want)


def test_uint8_and_bool_mask_shape_mismatch_is_pytorchs_index_error():
    x_s, x_t = strided.arange(12).view(3, 4), torch.arange(12).view(3, 4)
    cases = [lambda lib, x: x[lib.tensor([True, False])],
             lambda lib, x: x[lib.tensor([[True, False]])],
             lambda lib, x: x[:, lib.tensor([True, False])],
             lambda lib, x: x[1:, lib.tensor([1, 0], dtype=lib.uint8)],
             lambda lib, x: x[None, lib.tensor([True, False])],
             lambda lib, x: x[..., lib.tensor([True, False, True])]]
    for case in cases:
        with pytest.raises(IndexError) as want:
            case(torch, x_t)
        with pytest.raises(IndexError) as got:
            case(strided, x_s)
        assert str(got.value) == str(want.value)
    with pytest.raises(IndexError, match="The shape of the mask"):
        x_s[strided.tensor([True, False])] = 1


# ---- empty slices and zero-element views -------------------------------------------------------

def test_empty_slice_keeps_its_offset():
    for lib in (strided, torch):
        v = lib.arange(10.)[5:5]
        assert v.storage_offset() == 5
        assert v.as_strided((1,), (1,)).item() == 5.0
    s, t = strided.arange(12.).view(3, 4)[:, 3:3], torch.arange(12.).view(3, 4)[:, 3:3]
    assert s.storage_offset() == t.storage_offset()
    assert s.as_strided((2,), (1,)).tolist() == t.as_strided((2,), (1,)).tolist()


ZERO_SHAPES = [(0,), (2, 0), (0, 3), (2, 4, 0, 1), (0, 1, 5), (3, 0, 2, 0), (1, 0)]


@pytest.mark.parametrize("shape", ZERO_SHAPES)
def test_flatten_reshape_view_of_zero_element_tensors(shape):
    s, t = strided.zeros(*shape), torch.zeros(*shape)
    n = len(shape)
    for a in range(-n, n):
        for b in range(-n, n):
            if (a % n) > (b % n):
                continue
            fs, ft = s.flatten(a, b), t.flatten(a, b)
            assert fs.shape == ft.shape and fs.stride() == ft.stride(), (shape, a, b)
    for new in [(0,), (-1,), (0, 7), (7, 0), (0, 1, 0), shape[::-1], (1,) + shape, (-1, 0)]:
        try:
            want = t.view(new)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                s.view(new)
            with pytest.raises(RuntimeError):
                s.reshape(new)
            continue
        got = s.view(new)
        assert got.shape == want.shape and got.stride() == want.stride(), (shape, new)
        assert s.reshape(new).shape == t.reshape(new).shape
    for d in range(n):
        us, ut = s.unflatten(d, (1, shape[d])), t.unflatten(d, (1, shape[d]))
        assert us.shape == ut.shape and us.stride() == ut.stride()


# ---- tensors where PyTorch takes an int --------------------------------------------------------

T_INT_CASES = [
    ("ones(t)", lambda L: L.ones(L.tensor(27)).shape),
    ("ones(t[1])", lambda L: L.ones(L.tensor([27])).shape),
    ("zeros(t, t)", lambda L: L.zeros(L.tensor(2), L.tensor(3)).shape),
    ("zeros((t, 3))", lambda L: L.zeros((L.tensor(2), 3)).shape),
    ("empty(t int32)", lambda L: L.empty(L.tensor(4, dtype=L.int32)).shape),
    ("view(t, -1)", lambda L: L.arange(6).view(L.tensor(2), -1).shape),
    ("reshape(t)", lambda L: L.arange(6).reshape(L.tensor(6)).shape),
    ("expand(t)", lambda L: L.ones(1).expand(L.tensor(3)).shape),
    ("tensor_split(t)", lambda L: [p.tolist() for p in L.arange(10).tensor_split(L.tensor(3))]),
    ("tensor_split(t 1-d)", lambda L: [p.tolist() for p in
                                       L.arange(10).tensor_split(L.tensor([3, 5]))]),
    ("narrow(t)", lambda L: L.arange(10).narrow(0, L.tensor(1), 2).tolist()),
    ("narrow(len t)", lambda L: L.arange(10).narrow(0, 1, L.tensor(2)).tolist()),
    ("select(t, t)", lambda L: L.arange(10).view(2, 5).select(L.tensor(1), L.tensor(2)).tolist()),
    ("transpose(t)", lambda L: L.ones(2, 3).transpose(L.tensor(0), 1).shape),
    ("unsqueeze(t)", lambda L: L.ones(2, 3).unsqueeze(L.tensor(0)).shape),
    ("sum(t)", lambda L: L.ones(2, 3).sum(L.tensor(0)).shape),
]
T_INT_ERRORS = [
    ("ones(float t)", lambda L: L.ones(L.tensor(2.)), TypeError),
    ("zeros(t[2])", lambda L: L.zeros(L.tensor([2, 3])), TypeError),
    ("view(float t)", lambda L: L.arange(6).view(L.tensor(2.), -1), TypeError),
    ("tensor_split(float t)", lambda L: L.arange(10).tensor_split(L.tensor(3.)), RuntimeError),
    ("tensor_split(2-d t)", lambda L: L.arange(10).tensor_split(L.tensor([[3]])), RuntimeError),
    ("narrow(float t)", lambda L: L.arange(10).narrow(0, L.tensor(1.), 2), RuntimeError),
    ("narrow(t[1])", lambda L: L.arange(10).narrow(0, L.tensor([1]), 2), RuntimeError),
    ("select(float t)", lambda L: L.arange(10).select(0, L.tensor(1.)), TypeError),
    ("transpose(float t)", lambda L: L.ones(2, 3).transpose(L.tensor(0.), 1), TypeError),
]


@pytest.mark.parametrize("name,case", T_INT_CASES, ids=[c[0] for c in T_INT_CASES])
def test_integer_tensors_where_pytorch_takes_ints(name, case):
    got, want = case(strided), case(torch)
    assert (tuple(got) if isinstance(got, tuple) else got) == (
        tuple(want) if isinstance(want, torch.Size) else want)


@pytest.mark.parametrize("name,case,exc", T_INT_ERRORS, ids=[c[0] for c in T_INT_ERRORS])
def test_other_tensors_where_pytorch_takes_ints_raise_like_pytorch(name, case, exc):
    with pytest.raises(exc):
        case(torch)
    with pytest.raises(exc):
        case(strided)


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_indexing_with_a_0d_integer_tensor_is_a_view(dtype):
    a = np.arange(24.).reshape(2, 3, 4)
    for s, t in zip(layouts(strided, a), layouts(torch, a)):
        for idx in [lambda L: L.tensor(1, dtype=getattr(L, dtype)),
                    lambda L: (slice(None), L.tensor(-1, dtype=getattr(L, dtype)))]:
            vs, vt = s[idx(strided)], t[idx(torch)]
            check_same(vs, vt)
            assert vs._base is not None and vs.storage_offset() - s.storage_offset() == \
                vt.storage_offset() - t.storage_offset()
    s, t = strided.arange(10.), torch.arange(10.)
    s[strided.tensor(3)] = -1.0
    t[torch.tensor(3)] = -1.0
    check_same(s, t)
    # bool and uint8 0-d tensors are masks (a new dim), as in PyTorch
    for L, x in ((strided, s), (torch, t)):
        assert tuple(x[L.tensor(True)].shape) == (1, 10)
        assert tuple(x[L.tensor(1, dtype=L.uint8)].shape) == (1, 10)


def test_indexing_with_a_0d_tensor_records_a_view():
    xs = strided.arange(12.).view(3, 4).requires_grad_()
    xt = torch.arange(12.).view(3, 4).requires_grad_()
    (xs[strided.tensor(1)] * strided.arange(4.)).sum().backward()
    (xt[torch.tensor(1)] * torch.arange(4.)).sum().backward()
    check_same(xs.grad, xt.grad)


# ---- exceptions ----------------------------------------------------------------------------------

ZERO_DIM_INDEX = [lambda L: L.tensor(3)[0], lambda L: L.tensor(3)[:],
                  lambda L: L.tensor(3)[L.tensor(0)], lambda L: L.tensor(3.)[0, ...],
                  lambda L: L.tensor(3.)[(slice(None),)], lambda L: L.tensor(3.)[None, 0]]


@pytest.mark.parametrize("case", ZERO_DIM_INDEX)
def test_indexing_a_0d_tensor_raises_pytorchs_index_error(case):
    with pytest.raises(IndexError) as want:
        case(torch)
    with pytest.raises(IndexError) as got:
        case(strided)
    assert str(got.value) == str(want.value)


def test_0d_tensor_with_none_ellipsis_and_bool():
    for idx in [None, Ellipsis, True, (None, None)]:
        assert tuple(strided.tensor(3.)[idx].shape) == tuple(torch.tensor(3.)[idx].shape)


def test_out_of_bounds_views_say_out_of_bounds():
    for lib in (strided, torch):
        with pytest.raises(RuntimeError, match="out of bounds"):
            lib.arange(4).as_strided((10,), (1,))
        with pytest.raises(RuntimeError, match="out of bounds"):
            lib.arange(4).as_strided((2,), (1,), 3)
