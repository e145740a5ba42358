"""tensor(), empty/zeros/ones/full/arange/linspace/eye and the *_like forms, against NumPy."""
import math
import warnings

import numpy as np
import pytest

import strided
from helpers import contiguous_strides

ALL_DTYPES = [strided.bool, strided.uint8, strided.int32, strided.int64,
              strided.float32, strided.float64]
NP = {strided.bool: np.bool_, strided.uint8: np.uint8, strided.int32: np.int32,
      strided.int64: np.int64, strided.float32: np.float32, strided.float64: np.float64}
SHAPES = [(), (0,), (1,), (5,), (2, 3), (3, 0), (1, 1, 1), (2, 3, 4), (4, 1, 2, 3)]


def check_fresh(t, shape, dtype):
    """t is a new contiguous tensor of shape/dtype in its own 64-byte-aligned storage."""
    assert t.shape == tuple(shape)
    assert t.dtype is dtype
    assert t.is_contiguous()
    assert t.stride() == contiguous_strides(shape)
    assert t.storage_offset() == 0
    assert t.untyped_storage().size() == math.prod(shape)
    assert t.data_ptr() % 64 == 0


# ---- tensor() ---------------------------------------------------------------------------

@pytest.mark.parametrize("data,dtype", [
    (1.5, strided.float32), (3, strided.int64), (True, strided.bool), (-0.0, strided.float32),
    ([1.0, 2.0], strided.float32), ([1, 2, 3], strided.int64), ([True, False], strided.bool),
    ([[1, 2], [3, 4]], strided.int64), ([[1.5], [2.5]], strided.float32),
    ([1, 2.5], strided.float32), ([True, 2], strided.int64), ([True, 2.0], strided.float32),
    ([], strided.float32), ([[]], strided.float32), ([[[1]]], strided.int64),
    ((1, 2), strided.int64), ([(1.0, 2.0), (3.0, 4.0)], strided.float32),
    ([2 ** 40, -2 ** 40], strided.int64),
])
def test_tensor_dtype_inference_python(data, dtype):
    t = strided.tensor(data)
    assert t.dtype is dtype
    expected = np.array(data, dtype=NP[dtype])
    assert t.shape == expected.shape
    check_fresh(t, expected.shape, dtype)
    np.testing.assert_array_equal(t.numpy(), expected)
    assert t.tolist() == expected.tolist()


@pytest.mark.parametrize("np_dtype", [np.bool_, np.uint8, np.int32, np.int64, np.float32,
                                      np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_tensor_from_numpy_keeps_dtype_and_copies(np_dtype, shape):
    a = (np.arange(math.prod(shape)) % 7).reshape(shape).astype(np_dtype)
    t = strided.tensor(a)
    assert t.dtype.numpy_dtype == np.dtype(np_dtype)
    check_fresh(t, shape, t.dtype)
    np.testing.assert_array_equal(t.numpy(), a)
    if a.size:
        a.flat[0] = 1 if np_dtype is not np.bool_ else not a.flat[0]
        assert t.numpy().flat[0] != a.flat[0]     # a copy, not a view


@pytest.mark.parametrize("make", [
    lambda a: a.T, lambda a: a[::-1], lambda a: a[:, ::2], lambda a: a[::2, ::-3],
    lambda a: np.broadcast_to(a[:1], a.shape), lambda a: np.asfortranarray(a),
])
def test_tensor_from_noncontiguous_numpy(make):
    a = make(np.arange(42, dtype=np.float64).reshape(6, 7))
    t = strided.tensor(a)
    assert t.dtype is strided.float64
    check_fresh(t, a.shape, strided.float64)
    np.testing.assert_array_equal(t.numpy(), a)


@pytest.mark.parametrize("scalar,dtype", [(np.float64(1.5), strided.float64),
                                          (np.float32(1.5), strided.float32),
                                          (np.int32(3), strided.int32),
                                          (np.uint8(3), strided.uint8),
                                          (np.bool_(True), strided.bool),
                                          (np.array(2.5), strided.float64)])
def test_tensor_from_numpy_scalar_keeps_dtype(scalar, dtype):
    # numpy scalars carry a dtype, like 0-d arrays (torch.tensor(np.float64(1.5)) is float64)
    t = strided.tensor(scalar)
    assert t.shape == ()
    assert t.dtype is dtype
    assert t.item() == scalar.item()


@pytest.mark.parametrize("data,dtype", [([np.float64(1.5), np.float64(2.0)], strided.float64),
                                        ([np.int32(1), np.int32(2)], strided.int32),
                                        ([[np.float32(1.0)]], strided.float32)])
def test_tensor_from_list_of_numpy_scalars(data, dtype):
    # torch.tensor([np.float64(1.5)]) is float64: the scalars' dtype is kept in lists too
    t = strided.tensor(data)
    assert t.dtype is dtype
    np.testing.assert_array_equal(t.numpy(), np.array(data))


@pytest.mark.parametrize("data,dtype", [([300], strided.uint8), (256, strided.uint8),
                                        (2 ** 40, strided.int32), ([1, -2 ** 31 - 1], strided.int32),
                                        (float("nan"), strided.int64), ([float("inf")], strided.int32),
                                        ([1e30], strided.int64)])
def test_tensor_python_values_out_of_range(data, dtype):
    # Python numbers that the requested dtype cannot hold raise, as in PyTorch (and as
    # strided.full / fill_ already do), instead of wrapping around silently
    with pytest.raises(RuntimeError, match="overflow"):
        strided.tensor(data, dtype=dtype)
    with pytest.raises(RuntimeError, match="overflow"):
        strided.full((2,), data if not isinstance(data, list) else data[-1], dtype=dtype)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("data", [[0, 1, 2, 3], [[0.0, 1.5], [2.7, 3.2]], [True, False], 5, 0.0])
def test_tensor_explicit_dtype(data, dtype):
    t = strided.tensor(data, dtype=dtype)
    assert t.dtype is dtype
    np.testing.assert_array_equal(t.numpy(), np.array(data).astype(NP[dtype]))
    t2 = strided.tensor(data, dtype=NP[dtype])
    assert t2.dtype is dtype


def test_tensor_from_numpy_with_dtype_converts_unsupported():
    a = np.array([1.5, 2.5], np.float16)
    t = strided.tensor(a, dtype=strided.float32)
    assert t.tolist() == [1.5, 2.5]


def test_tensor_from_readonly_numpy_does_not_warn():
    # tensor() always copies, so a read-only source array is no concern (from_numpy's
    # "not writable" warning must not leak out of tensor())
    a = np.broadcast_to(np.arange(3.0), (2, 3))
    assert not a.flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = strided.tensor(a)
    np.testing.assert_array_equal(t.numpy(), a)


def test_tensor_from_tensor_copies():
    src = strided.arange(6).view(2, 3).T
    t = strided.tensor(src)
    assert t.untyped_storage() is not src.untyped_storage()
    assert t.tolist() == src.tolist()
    assert t.is_contiguous()
    assert strided.tensor(src, dtype=strided.float64).dtype is strided.float64


@pytest.mark.parametrize("data", [
    [1 + 2j], np.zeros(3, np.complex64), np.zeros(3, np.float16), np.zeros(2, np.int16),
    np.zeros(2, np.uint16), np.zeros(2, np.uint64), ["a", "b"], "abc", np.array(["x"]), None,
    [None], [object()], np.zeros(2, dtype="datetime64[s]"),
])
def test_tensor_unsupported_raises_typeerror(data):
    with pytest.raises(TypeError):
        strided.tensor(data)


@pytest.mark.parametrize("data", [[[1, 2], [3]], [1, [2, 3]], [[1.0], [2.0, 3.0]],
                                  [[[1, 2]], [[3]]]])
def test_tensor_ragged_raises_valueerror(data):
    with pytest.raises(ValueError):
        strided.tensor(data)


def test_tensor_bad_dtype_argument():
    with pytest.raises(TypeError):
        strided.tensor([1, 2], dtype=np.float16)
    with pytest.raises(TypeError):
        strided.tensor([1, 2], dtype="complex64")


# ---- empty / zeros / ones / full ---------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [None] + ALL_DTYPES, ids=lambda d: getattr(d, "name", "default"))
def test_zeros_ones_empty(shape, dtype):
    expect_dtype = dtype or strided.float32
    np_dtype = NP[expect_dtype]
    for fn, ref in ((strided.zeros, np.zeros), (strided.ones, np.ones)):
        for t in (fn(*shape, dtype=dtype), fn(shape, dtype=dtype), fn(list(shape), dtype=dtype)):
            check_fresh(t, shape, expect_dtype)
            np.testing.assert_array_equal(t.numpy(), ref(shape, np_dtype))
    e = strided.empty(shape, dtype=dtype)
    check_fresh(e, shape, expect_dtype)
    e2 = strided.empty(*shape, dtype=dtype)
    check_fresh(e2, shape, expect_dtype)


def test_creation_returns_distinct_storage():
    a, b = strided.zeros(3), strided.zeros(3)
    assert a.untyped_storage() is not b.untyped_storage()
    assert a.data_ptr() != b.data_ptr()


@pytest.mark.parametrize("value,dtype", [
    (1.5, strided.float32), (-3, strided.int64), (True, strided.bool), (False, strided.bool),
    (0, strided.int64), (2 ** 50, strided.int64), (float("inf"), strided.float32),
    (np.int64(7), strided.int64), (np.float64(0.25), strided.float32),
    (np.bool_(True), strided.bool),
])
@pytest.mark.parametrize("shape", [(3,), (2, 3), (), (0, 4)])
def test_full_infers_dtype_from_value(value, dtype, shape):
    # PyTorch: bool -> bool, integers -> int64, floats -> the default float dtype
    t = strided.full(shape, value)
    assert t.dtype is dtype
    check_fresh(t, shape, dtype)
    np.testing.assert_array_equal(t.numpy(), np.full(shape, value, NP[dtype]))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_full_explicit_dtype(dtype):
    t = strided.full((2, 3), 1, dtype=dtype)
    assert t.dtype is dtype
    np.testing.assert_array_equal(t.numpy(), np.ones((2, 3), NP[dtype]))
    assert strided.full(4, 2, dtype=dtype).shape == (4,)


@pytest.mark.parametrize("dtype,value", [(strided.uint8, 256), (strided.uint8, -1),
                                         (strided.int32, 2 ** 31)])
def test_full_overflow(dtype, value):
    with pytest.raises(RuntimeError, match="overflow"):
        strided.full((2,), value, dtype=dtype)


# ---- *_like -----------------------------------------------------------------------------

@pytest.mark.parametrize("src_dtype", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("src", [lambda d: strided.zeros(2, 3, dtype=d),
                                 lambda d: strided.zeros(4, 3, dtype=d).T[:, ::2],
                                 lambda d: strided.zeros((), dtype=d),
                                 lambda d: strided.zeros(5, 0, 3, dtype=d).permute(2, 0, 1)])
def test_like(src, src_dtype):
    t = src(src_dtype)
    for fn, ref in ((strided.zeros_like, np.zeros), (strided.ones_like, np.ones)):
        out = fn(t)
        check_fresh(out, t.shape, src_dtype)
        assert out.untyped_storage() is not t.untyped_storage()
        np.testing.assert_array_equal(out.numpy(), ref(t.shape, NP[src_dtype]))
        out64 = fn(t, dtype=strided.float64)
        check_fresh(out64, t.shape, strided.float64)
    check_fresh(strided.empty_like(t), t.shape, src_dtype)
    check_fresh(strided.empty_like(t, dtype=strided.int32), t.shape, strided.int32)
    f = strided.full_like(t, 1)
    check_fresh(f, t.shape, src_dtype)
    np.testing.assert_array_equal(f.numpy(), np.ones(t.shape, NP[src_dtype]))
    g = strided.full_like(t, 2.5, dtype=strided.float64)
    np.testing.assert_array_equal(g.numpy(), np.full(t.shape, 2.5))


# ---- arange -----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    (5,), (0,), (1,), (-5, 5), (0, 10, 3), (10, 0, -3), (10, 0, -1), (3, 3), (0, 10, 20),
    (-10, -20, -4), (2 ** 40, 2 ** 40 + 5), (1000,),
])
def test_arange_int(args):
    t = strided.arange(*args)
    assert t.dtype is strided.int64
    expected = np.arange(*args, dtype=np.int64)
    check_fresh(t, expected.shape, strided.int64)
    np.testing.assert_array_equal(t.numpy(), expected)


@pytest.mark.parametrize("args", [
    (2.5,), (0.0, 1.0, 0.1), (1, 2.5, 0.5), (0, 1, 0.25), (0.0, 1.0, 0.3), (0, -1, -0.25),
    (-1.5, 1.5), (5.0,), (0, 10.0, 2.5), (1.0, 0.0, -0.1), (0, 3, 1.0),
])
def test_arange_float(args):
    t = strided.arange(*args)
    assert t.dtype is strided.float32
    expected = np.arange(*[np.float64(a) for a in args]).astype(np.float32)
    assert t.shape == expected.shape
    np.testing.assert_allclose(t.numpy(), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", ALL_DTYPES[1:], ids=lambda d: d.name)
def test_arange_dtype(dtype):
    t = strided.arange(0, 10, 2, dtype=dtype)
    assert t.dtype is dtype
    np.testing.assert_array_equal(t.numpy(), np.arange(0, 10, 2).astype(NP[dtype]))


def test_arange_numpy_scalars():
    t = strided.arange(np.int64(4))
    assert t.dtype is strided.int64 and t.tolist() == [0, 1, 2, 3]
    t = strided.arange(np.float64(1.5))
    assert t.dtype is strided.float32 and t.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("args,exc,msg", [
    ((0, 10, 0), RuntimeError, "step must be nonzero"),
    ((0, 10, -1), RuntimeError, "inconsistent with step sign"),
    ((10, 0), RuntimeError, "inconsistent with step sign"),
    ((0.0, float("inf")), RuntimeError, "finite"),
    ((float("nan"),), RuntimeError, "finite"),
    (("a",), TypeError, "must be a number"),
    ((0, None, 1), None, None),
    ((0, 5, None), TypeError, "must be a number"),
    (([1, 2],), TypeError, "must be a number"),
])
def test_arange_errors(args, exc, msg):
    if exc is None:              # end=None means arange(start) as in PyTorch
        assert strided.arange(*args).numel() == 0
        return
    with pytest.raises(exc, match=msg):
        strided.arange(*args)


# ---- linspace ---------------------------------------------------------------------------

@pytest.mark.parametrize("start,end,steps", [(0, 1, 5), (0, 1, 1), (0, 1, 0), (-3.5, 7.25, 11),
                                             (10, -10, 7), (0, 1, 1000), (2, 2, 4)])
def test_linspace(start, end, steps):
    t = strided.linspace(start, end, steps)
    assert t.dtype is strided.float32
    check_fresh(t, (steps,), strided.float32)
    np.testing.assert_allclose(t.numpy(), np.linspace(start, end, steps).astype(np.float32),
                               rtol=1e-6, atol=1e-6)
    if steps >= 1:
        assert t[0].item() == pytest.approx(start)
    if steps >= 2:
        assert t[-1].item() == pytest.approx(end)


@pytest.mark.parametrize("dtype", [strided.float64, strided.int64, strided.int32])
def test_linspace_dtype(dtype):
    t = strided.linspace(0, 10, 5, dtype=dtype)
    assert t.dtype is dtype
    np.testing.assert_array_equal(t.numpy(), np.linspace(0, 10, 5).astype(NP[dtype]))


def test_linspace_negative_steps():
    with pytest.raises(RuntimeError, match="non-negative"):
        strided.linspace(0, 1, -1)


# ---- eye --------------------------------------------------------------------------------

@pytest.mark.parametrize("n,m", [(0, None), (1, None), (3, None), (3, 2), (2, 5), (0, 3), (4, 0),
                                 (64, None)])
@pytest.mark.parametrize("dtype", [None, strided.int64, strided.bool, strided.float64])
def test_eye(n, m, dtype):
    t = strided.eye(n, m, dtype=dtype)
    expect_dtype = dtype or strided.float32
    expected = np.eye(n, m, dtype=NP[expect_dtype])
    check_fresh(t, expected.shape, expect_dtype)
    np.testing.assert_array_equal(t.numpy(), expected)


def test_eye_negative():
    with pytest.raises(RuntimeError, match="non-negative"):
        strided.eye(-1)
    with pytest.raises(RuntimeError, match="non-negative"):
        strided.eye(2, -3)


# ---- size arguments ---------------------------------------------------------------------

@pytest.mark.parametrize("fn", [strided.zeros, strided.ones, strided.empty])
def test_size_argument_errors(fn):
    with pytest.raises(ValueError, match="negative dimension"):
        fn(2, -1)
    with pytest.raises(ValueError, match="negative dimension"):
        fn((-3,))
    with pytest.raises(TypeError):
        fn(2.0, 3)
    with pytest.raises(TypeError):
        fn((2, "3"))
    with pytest.raises(TypeError, match="unsupported dtype"):
        fn(2, dtype=np.complex128)


def test_numpy_integer_sizes():
    t = strided.zeros((np.int64(2), np.int32(3)))
    assert t.shape == (2, 3)
