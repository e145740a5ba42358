"""NumPy interop (from_numpy, .numpy(), __array__, the buffer protocol) and DLPack."""
import gc
import warnings

import numpy as np
import pytest

import strided
from helpers import pytorch_is_contiguous

NP_DTYPES = [np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64]
FORMATS = {np.bool_: "?", np.uint8: "B", np.int32: "i", np.int64: "q", np.float32: "f",
           np.float64: "d"}


def _values(shape, dtype):
    n = int(np.prod(shape))
    v = np.arange(1, n + 1) * 3 % 251
    if dtype is np.bool_:
        return (v % 2 == 0).reshape(shape)
    return v.reshape(shape).astype(dtype)


# Numpy arrays in many layouts: (name, function of a fresh contiguous base array)
ARRAY_LAYOUTS = {
    "contig": ((3, 4), lambda a: a),
    "0d": ((), lambda a: a),
    "1d": ((7,), lambda a: a),
    "transposed": ((3, 4), lambda a: a.T),
    "fortran": ((2, 3, 4), lambda a: np.asfortranarray(a)),
    "neg_1d": ((7,), lambda a: a[::-1]),
    "neg_rows": ((3, 4), lambda a: a[::-1]),
    "neg_both": ((3, 4), lambda a: a[::-1, ::-2]),
    "neg_3d_mixed": ((2, 3, 4), lambda a: a[::-1, :, ::-1].transpose(1, 0, 2)),
    "step": ((6, 8), lambda a: a[1::2, ::3]),
    "size1": ((3, 1, 4), lambda a: a),
    "size1_sliced": ((3, 4), lambda a: a[:, 2:3]),
    "size1_weird_stride": ((4,), lambda a: np.lib.stride_tricks.as_strided(
        a, shape=(1, 4), strides=(1000 * a.itemsize, a.itemsize))),
    "empty": ((0,), lambda a: a),
    "empty_2d": ((3, 0), lambda a: a),
    "empty_sliced": ((4, 5), lambda a: a[2:2, ::2]),
    "interior": ((5, 6), lambda a: a[1:4, 2:5]),
    "4d_perm": ((2, 3, 2, 2), lambda a: a.transpose(2, 0, 3, 1)),
}


def make_array(name, dtype):
    shape, f = ARRAY_LAYOUTS[name]
    return f(_values(shape, dtype))


def element_strides(a):
    return tuple(s // a.itemsize for s in a.strides)


def normalised_byte_strides(shape, strides, itemsize):
    """Exported strides: a size-1 dim gets the contiguous value over the dims inside it."""
    out = [0] * len(shape)
    inner = itemsize
    for d in range(len(shape) - 1, -1, -1):
        out[d] = inner if shape[d] == 1 else strides[d] * itemsize
        inner = out[d] * shape[d] if shape[d] > 0 else out[d]
    return tuple(out)


def _some_value(dtype):
    return True if dtype is np.bool_ else dtype(123)


# ---- from_numpy -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ARRAY_LAYOUTS)
@pytest.mark.parametrize("dtype", NP_DTYPES, ids=lambda d: np.dtype(d).name)
def test_from_numpy_shares_memory(name, dtype):
    a = make_array(name, dtype)
    expected = a.copy()
    t = strided.from_numpy(a)
    assert t.dtype.numpy_dtype == a.dtype
    assert t.shape == a.shape
    assert t.tolist() == expected.tolist()
    if a.size:
        assert t.data_ptr() == a.ctypes.data
        # element strides are byte strides // itemsize (size-1 dims included)
        assert t.stride() == element_strides(a)
        # writes through the tensor show up in the array and vice versa
        idx = tuple(n - 1 for n in a.shape)
        t[idx] = _some_value(dtype) if not a[idx] else (False if dtype is np.bool_ else dtype(7))
        assert a[idx] == t[idx].item()
        a.flat[0] = not a.flat[0] if dtype is np.bool_ else a.flat[0] + 1
        first = (0,) * a.ndim
        assert t[first].item() == a[first]
        assert np.shares_memory(t.numpy(), a)
    assert t.is_contiguous() == pytorch_is_contiguous(a.shape, element_strides(a))


@pytest.mark.parametrize("name", ["contig", "transposed", "neg_both", "step", "0d", "size1"])
def test_from_numpy_keeps_array_alive(name):
    a = make_array(name, np.float64)
    expected = a.copy()
    ptr = a.ctypes.data
    t = strided.from_numpy(a)
    del a
    gc.collect()
    junk = [np.full(64, -1.0) for _ in range(100)]
    assert t.data_ptr() == ptr
    assert t.tolist() == expected.tolist()
    np.testing.assert_array_equal(t.clone().numpy(), expected)
    del junk


def test_from_numpy_views_of_tensor_share():
    a = np.zeros((4, 5))
    t = strided.from_numpy(a)
    t.T[1:3, ::2].fill_(7)
    b = np.zeros((4, 5))
    b.T[1:3, ::2] = 7
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [np.zeros(3, np.float16), np.zeros(3, np.complex128),
                                 np.zeros(3, np.int16), np.zeros(3, np.uint32),
                                 np.zeros(3, object), np.array(["a"]),
                                 np.zeros(3, dtype=[("x", "<i4"), ("y", "<f8")])])
def test_from_numpy_unsupported_dtype(bad):
    with pytest.raises(TypeError):
        strided.from_numpy(bad)


@pytest.mark.parametrize("dt", [">f4", ">f8", ">i4", ">i8"])
def test_from_numpy_non_native_byte_order(dt):
    a = np.arange(3).astype(dt)
    with pytest.raises(TypeError, match="byte order"):
        strided.from_numpy(a)


def test_from_numpy_stride_not_multiple_of_itemsize():
    rec = np.zeros(4, dtype=[("a", "<i4"), ("b", "u1")])     # packed: 5-byte records
    field = rec["a"]
    assert field.strides == (5,)
    with pytest.raises(ValueError, match="multiple of the element"):
        strided.from_numpy(field)
    raw = np.zeros(40, np.uint8)
    odd = np.lib.stride_tricks.as_strided(raw[1:].view(np.uint8), shape=(3,), strides=(6,))
    assert strided.from_numpy(odd).stride() == (6,)                  # uint8: any stride is fine
    f64 = np.lib.stride_tricks.as_strided(raw.view(np.float64), shape=(2,), strides=(12,))
    with pytest.raises(ValueError, match="multiple of the element"):
        strided.from_numpy(f64)


@pytest.mark.parametrize("bad", [[1, 2], 3.0, strided.zeros(2), None])
def test_from_numpy_needs_ndarray(bad):
    with pytest.raises(TypeError):
        strided.from_numpy(bad)


def test_from_numpy_readonly_is_read_only():
    # (tests/test_hardening_views.py checks every write path)
    a = np.arange(4.0)
    a.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = strided.from_numpy(a)
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="read-only"):
        t.add_(1)


def test_from_numpy_broadcast_array():
    a = np.arange(4.0)
    b = np.broadcast_to(a, (3, 4))
    t = strided.from_numpy(b)
    assert t.stride() == (0, 1)
    assert t.tolist() == b.tolist()
    assert not t.numpy().flags.writeable


# ---- .numpy(), __array__, buffer protocol ----------------------------------------------

def _tensor_layouts():
    def base(dtype):
        return strided.arange(60).to(dtype).view(3, 4, 5)
    return {
        "contig": lambda dt: base(dt),
        "0d": lambda dt: strided.tensor(5).to(dt),
        "transposed": lambda dt: base(dt).transpose(0, 2),
        "sliced": lambda dt: base(dt)[1:, ::2, 1::3],
        "flipped": lambda dt: base(dt).flip(0, 2),
        "neg_slice": lambda dt: base(dt)[:, ::-2],
        "size1": lambda dt: base(dt)[:, 1:2, :],
        "size1_after_T": lambda dt: base(dt)[:, :, 2:3].transpose(0, 1),
        "unsqueezed": lambda dt: base(dt).T.unsqueeze(1),
        "select": lambda dt: base(dt)[:, 2],
        "diagonal": lambda dt: base(dt).diagonal(0, 1, 2),
        "unfold": lambda dt: strided.arange(10).to(dt).unfold(0, 3, 2),
        "empty": lambda dt: base(dt)[:, 2:2],
        "offset": lambda dt: base(dt)[2, 3],
    }


TENSOR_LAYOUTS = _tensor_layouts()


def _reference(t):
    """What t holds, built element by element from metadata (independent of numpy())."""
    st = np.asarray(t.untyped_storage())
    idx = np.indices(t.shape) if t.ndim else np.zeros((0,), np.int64)
    flat = t.storage_offset() + sum((idx[d] * t.stride(d) for d in range(t.ndim)),
                                    np.zeros(t.shape, np.int64))
    return st[flat]


@pytest.mark.parametrize("name", TENSOR_LAYOUTS)
@pytest.mark.parametrize("dtype", [strided.int64, strided.float32, strided.uint8, strided.bool])
def test_numpy_zero_copy(name, dtype):
    t = TENSOR_LAYOUTS[name](dtype)
    a = t.numpy()
    assert a.dtype == dtype.numpy_dtype
    assert a.shape == t.shape
    assert a.strides == normalised_byte_strides(t.shape, t.stride(), t.element_size())
    if t.numel():
        assert a.ctypes.data == t.data_ptr()
    assert a.flags.writeable
    np.testing.assert_array_equal(a, _reference(t))
    if t.numel():
        idx = tuple(n - 1 for n in t.shape)
        a[idx] = 1
        assert t[idx].item() == 1
        t[idx] = 0
        assert a[idx] == 0


@pytest.mark.parametrize("name", TENSOR_LAYOUTS)
def test_asarray_and_memoryview(name):
    t = TENSOR_LAYOUTS[name](strided.int64)
    expected = _reference(t)
    a = np.asarray(t)
    np.testing.assert_array_equal(a, expected)
    m = memoryview(t)
    assert m.format == "q"
    assert m.itemsize == 8
    assert m.ndim == t.ndim
    assert m.shape == t.shape
    assert m.strides == normalised_byte_strides(t.shape, t.stride(), 8)
    assert m.nbytes == t.numel() * 8
    assert not m.readonly
    assert m.tolist() == expected.tolist()
    if t.numel():
        assert np.shares_memory(a, t.numpy())
        idx = (0,) * t.ndim
        m[idx] = 4242
        assert t[idx].item() == 4242
        assert a[idx] == 4242


@pytest.mark.parametrize("dtype", [strided.bool, strided.uint8, strided.int32, strided.int64,
                                   strided.float32, strided.float64])
def test_memoryview_format(dtype):
    t = strided.zeros(2, 3, dtype=dtype)
    m = memoryview(t)
    assert m.format == FORMATS[dtype.numpy_dtype.type]
    assert m.itemsize == t.element_size()
    assert m.c_contiguous


def test_size1_strides_normalised_in_export():
    t = strided.arange(24).view(2, 3, 4)[:, 1:2, :]          # shape (2, 1, 4), strides (12, 4, 1)
    assert t.stride() == (12, 4, 1)
    assert t.numpy().strides == (96, 32, 8)
    assert memoryview(t).strides == (96, 32, 8)
    u = strided.arange(6).view(2, 3)[:, 2:3]                  # shape (2, 1), strides (3, 1)
    assert u.numpy().strides == (24, 8)
    w = strided.zeros(1, 1).as_strided((1, 1), (5, 9))
    assert w.numpy().strides == (4, 4)
    assert memoryview(w).c_contiguous and memoryview(w).f_contiguous


def test_contiguous_buffer_requests():
    t = strided.arange(12).view(3, 4)
    assert bytes(t) == np.arange(12).tobytes()
    assert bytes(t.T) == np.arange(12).reshape(3, 4).T.tobytes()   # bytes() copies in C order
    np.testing.assert_array_equal(np.frombuffer(t, dtype=np.int64), np.arange(12))
    with pytest.raises(BufferError, match="contiguous"):
        np.frombuffer(t.T, dtype=np.int64)


@pytest.mark.parametrize("make", [lambda: strided.zeros(1, 4).expand(3, 4),
                                  lambda: strided.zeros(3, 1).expand(3, 4),
                                  lambda: strided.tensor(2.0).expand(5),
                                  lambda: strided.zeros(4).expand(2, 4)])
def test_expanded_exports_read_only(make):
    t = make()
    a = t.numpy()
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[(0,) * a.ndim] = 1
    b = np.asarray(t)
    assert not b.flags.writeable
    m = memoryview(t)
    assert m.readonly
    with pytest.raises(TypeError):
        m[(0,) * m.ndim] = 1.0
    assert np.shares_memory(a, b)
    d = np.from_dlpack(t)
    assert not d.flags.writeable
    np.testing.assert_array_equal(d, a)


def test_array_dtype_and_copy_arguments():
    t = strided.arange(4)
    a = np.asarray(t, dtype=np.float64)
    assert a.dtype == np.float64 and a.tolist() == [0.0, 1.0, 2.0, 3.0]
    c = np.array(t, copy=True)
    c[0] = 99
    assert t[0].item() == 0
    same = np.asarray(t, dtype=np.int64)
    assert np.shares_memory(same, t.numpy())
    with pytest.raises(ValueError):
        np.array(t, dtype=np.float32, copy=False)


def test_numpy_keeps_storage_alive():
    t = strided.arange(1000).view(10, 100).T[::3]
    expected = _reference(t)
    a = t.numpy()
    del t
    gc.collect()
    junk = [strided.full((1000,), -1) for _ in range(20)]
    np.testing.assert_array_equal(a, expected)
    del junk


def test_memoryview_keeps_tensor_alive():
    t = strided.arange(100).flip(0)
    m = memoryview(t)
    del t
    gc.collect()
    assert m.tolist() == list(range(99, -1, -1))
    m.release()


def test_numpy_roundtrip():
    a = np.arange(20.0).reshape(4, 5)[::-1, 1::2]
    t = strided.from_numpy(a)
    b = t.numpy()
    assert b.strides == a.strides
    assert b.ctypes.data == a.ctypes.data
    np.testing.assert_array_equal(b, a)
    t2 = strided.from_numpy(t.numpy())
    assert t2.stride() == t.stride() and t2.data_ptr() == t.data_ptr()


# ---- DLPack -----------------------------------------------------------------------------

DLPACK_OK = [k for k in TENSOR_LAYOUTS if k not in ("flipped", "neg_slice")]


@pytest.mark.parametrize("name", DLPACK_OK)
@pytest.mark.parametrize("dtype", [strided.int64, strided.float32, strided.float64,
                                   strided.uint8, strided.int32, strided.bool])
def test_numpy_from_dlpack_shares_memory(name, dtype):
    t = TENSOR_LAYOUTS[name](dtype)
    expected = _reference(t)
    a = np.from_dlpack(t)
    assert a.dtype == dtype.numpy_dtype
    assert a.shape == t.shape
    np.testing.assert_array_equal(a, expected)
    if t.numel():
        assert a.ctypes.data == t.data_ptr()
        big = [s for n, s in zip(t.shape, t.stride()) if n > 1]
        assert [s // t.element_size() for n, s in zip(a.shape, a.strides) if n > 1] == big
        if a.flags.writeable:
            idx = (0,) * t.ndim
            a[idx] = 1
            assert t[idx].item() == 1


@pytest.mark.parametrize("name", ARRAY_LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, np.bool_])
def test_strided_from_dlpack_numpy(name, dtype):
    a = make_array(name, dtype)
    expected = a.copy()
    t = strided.from_dlpack(a)
    assert t.shape == a.shape
    assert t.dtype.numpy_dtype == a.dtype
    assert t.tolist() == expected.tolist()
    if a.size:
        assert t.data_ptr() == a.ctypes.data
        big = [s for n, s in zip(a.shape, element_strides(a)) if n > 1]
        assert [s for n, s in zip(t.shape, t.stride()) if n > 1] == big
        idx = (0,) * a.ndim
        t[idx] = _some_value(dtype) if not a[idx] else (False if dtype is np.bool_ else dtype(9))
        assert a[idx] == t[idx].item()


@pytest.mark.parametrize("name", ["contig", "transposed", "step", "neg_both", "0d", "empty"])
def test_strided_from_dlpack_capsule(name):
    a = make_array(name, np.float64)
    expected = a.copy()
    cap = a.__dlpack__()
    t = strided.from_dlpack(cap)
    assert t.tolist() == expected.tolist()
    if a.size:
        assert t.data_ptr() == a.ctypes.data
        a[(0,) * a.ndim] = -5.0
        assert t[(0,) * a.ndim].item() == -5.0
    with pytest.raises(BufferError):      # a capsule can be consumed once only
        strided.from_dlpack(cap)


def test_dlpack_roundtrip_through_strided_capsules():
    t = strided.arange(12).view(3, 4).T[1:]
    for cap in (t.__dlpack__(), t.__dlpack__(max_version=(1, 0))):
        u = strided.from_dlpack(cap)
        assert u.data_ptr() == t.data_ptr()
        assert u.stride() == t.stride() and u.shape == t.shape
        u[0, 0] = 100
        assert t[0, 0].item() == 100
    assert strided.from_dlpack(t) is t


def test_dlpack_capsule_kinds():
    t = strided.zeros(3)
    assert 'dltensor"' in repr(t.__dlpack__())
    assert "dltensor_versioned" in repr(t.__dlpack__(max_version=(1, 0)))
    assert t.__dlpack_device__() == (1, 0)


def test_dlpack_copy_argument():
    t = strided.arange(5)
    a = np.from_dlpack(strided.from_dlpack(t.__dlpack__(copy=True)))
    a[0] = 50
    assert t[0].item() == 0


def test_dlpack_keeps_tensor_alive():
    t = strided.arange(1000).view(20, 50).T
    expected = _reference(t)
    a = np.from_dlpack(t)
    del t
    gc.collect()
    junk = [strided.full((1000,), -1) for _ in range(20)]
    np.testing.assert_array_equal(a, expected)
    cap = strided.arange(10).__dlpack__()
    gc.collect()
    u = strided.from_dlpack(cap)
    del cap
    gc.collect()
    assert u.tolist() == list(range(10))
    del junk


@pytest.mark.parametrize("make", [lambda: strided.arange(5).flip(0),
                                  lambda: strided.arange(12).view(3, 4)[:, ::-1],
                                  lambda: strided.arange(12).view(3, 4)[::-2],
                                  lambda: strided.zeros(2, 3).flip(0).T])
def test_dlpack_negative_strides_refused(make):
    t = make()
    with pytest.raises(BufferError, match="negative strides"):
        t.__dlpack__()
    with pytest.raises(BufferError, match="negative strides"):
        np.from_dlpack(t)
    # .contiguous() is the documented way out
    np.testing.assert_array_equal(np.from_dlpack(t.contiguous()), t.numpy())


def test_dlpack_negative_stride_of_size1_dim_ok():
    t = strided.arange(6).view(2, 3)[:, 1:2].flip(1)    # size-1 dim: its stride is meaningless
    a = np.from_dlpack(t)
    assert a.tolist() == [[1], [4]]


def test_dlpack_bad_arguments():
    t = strided.zeros(3)
    with pytest.raises(BufferError):
        t.__dlpack__(stream=1)
    with pytest.raises(BufferError):
        t.__dlpack__(dl_device=(2, 0))
    with pytest.raises(TypeError):
        strided.from_dlpack(42)
    with pytest.raises(TypeError):
        strided.from_dlpack([1, 2])


def test_from_dlpack_unsupported_dtype():
    for a in (np.zeros(3, np.float16), np.zeros(3, np.int16), np.zeros(3, np.complex64)):
        with pytest.raises(TypeError, match="not supported"):
            strided.from_dlpack(a)
