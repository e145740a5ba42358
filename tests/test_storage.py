"""Storage: one flat, 64-byte-aligned, zero-initialised block of elements of one dtype."""
import gc
import pickle

import numpy as np
import pytest

import strided
from strided import Storage

ALL_DTYPES = [strided.bool, strided.uint8, strided.int32, strided.int64,
              strided.float32, strided.float64]
NP = {strided.bool: np.bool_, strided.uint8: np.uint8, strided.int32: np.int32,
      strided.int64: np.int64, strided.float32: np.float32, strided.float64: np.float64}
FORMATS = {strided.bool: "?", strided.uint8: "B", strided.int32: "i", strided.int64: "q",
           strided.float32: "f", strided.float64: "d"}
SIZES = [0, 1, 2, 3, 7, 63, 64, 65, 1000, 4097]


def _sample(dtype, n):
    """n values representable in dtype (Python objects)."""
    if dtype is strided.bool:
        return [bool(i % 3) for i in range(n)]
    if dtype is strided.uint8:
        return [(7 * i) % 256 for i in range(n)]
    if dtype in (strided.int32, strided.int64):
        return [(-1) ** i * 3 * i for i in range(n)]
    return [(-1) ** i * 0.5 * i for i in range(n)]


# ---- construction and metadata ------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("n", SIZES)
def test_metadata(dtype, n):
    s = Storage(n, dtype)
    assert s.dtype is dtype
    assert s.size() == n
    assert len(s) == n
    assert s.element_size() == np.dtype(NP[dtype]).itemsize
    assert s.nbytes() == n * np.dtype(NP[dtype]).itemsize


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("n", SIZES)
def test_data_ptr_is_64_byte_aligned(dtype, n):
    # allocate several so that malloc's natural 16-byte alignment is not hit by chance only
    storages = [Storage(n, dtype) for _ in range(8)]
    for s in storages:
        assert s.data_ptr() % 64 == 0
        assert s.data_ptr() != 0


def test_tensor_storage_aligned():
    for n in (1, 3, 17, 1000):
        for dt in ALL_DTYPES:
            t = strided.empty(n, dtype=dt)
            assert t.untyped_storage().data_ptr() % 64 == 0
            assert t.data_ptr() == t.untyped_storage().data_ptr()


@pytest.mark.parametrize("dtype_arg,expected", [
    (None, strided.float32),
    (strided.float64, strided.float64),
    (np.int32, strided.int32),
    (np.dtype("uint8"), strided.uint8),
    ("int64", strided.int64),
    (float, strided.float64),        # Python's float is double precision, as in PyTorch
    (int, strided.int64),
    (bool, strided.bool),
])
def test_dtype_argument_forms(dtype_arg, expected):
    s = Storage(3) if dtype_arg is None else Storage(3, dtype_arg)
    assert s.dtype is expected


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_zero_initialised(dtype):
    s = Storage(1000, dtype)
    assert all(x == 0 for x in s.tolist())
    assert np.count_nonzero(np.asarray(s)) == 0


@pytest.mark.parametrize("bad", [np.float16, np.complex64, np.int16, np.uint16, "U3", object])
def test_unsupported_dtype(bad):
    with pytest.raises(TypeError, match="unsupported dtype"):
        Storage(3, bad)


@pytest.mark.parametrize("n", [-1, -100])
def test_negative_size(n):
    with pytest.raises(ValueError, match="non-negative"):
        Storage(n)


def test_huge_size_raises_python_exception():
    # ~2**62 elements: must be a clean Python exception, not a crash or an abort
    with pytest.raises((MemoryError, ValueError, OverflowError)):
        Storage(2 ** 62, strided.float32)
    with pytest.raises((MemoryError, ValueError, OverflowError)):
        Storage(2 ** 61, strided.float64)


# ---- element access -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("n", [1, 5, 130])
def test_set_get_roundtrip(dtype, n):
    s = Storage(n, dtype)
    vals = _sample(dtype, n)
    for i, v in enumerate(vals):
        s[i] = v
    got = [s[i] for i in range(n)]
    assert got == vals
    assert s.tolist() == vals
    assert [type(x) for x in got] == [type(v) for v in vals]


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_negative_index(dtype):
    n = 6
    s = Storage(n, dtype)
    vals = _sample(dtype, n)
    for i, v in enumerate(vals):
        s[i - n] = v            # negative indices count from the end
    assert s.tolist() == vals
    for i in range(n):
        assert s[-1 - i] == vals[n - 1 - i]


@pytest.mark.parametrize("n", [0, 1, 5])
def test_out_of_range_index(n):
    s = Storage(n, strided.int64)
    for bad in (n, n + 1, -n - 1, 10 ** 6, -10 ** 6):
        with pytest.raises(IndexError):
            s[bad]
        with pytest.raises(IndexError):
            s[bad] = 1


def test_index_type_errors():
    s = Storage(4)
    for bad in (1.0, "1", None):
        with pytest.raises(TypeError):
            s[bad]
        with pytest.raises(TypeError):
            s[bad] = 1.0
    with pytest.raises(TypeError):
        s[1:3]


def test_numpy_integer_index():
    s = Storage(4, strided.int32)
    s[np.int64(2)] = 9
    assert s[np.int32(2)] == 9
    assert s[2] == 9


def test_set_casts_to_dtype():
    s = Storage(3, strided.int64)
    s[0] = 3.9
    s[1] = True
    assert s.tolist()[:2] == [3, 1]
    f = Storage(2, strided.float32)
    f[0] = 0.1
    assert f[0] == float(np.float32(0.1))


def test_tolist_empty():
    assert Storage(0).tolist() == []


# ---- buffer protocol --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("n", [0, 1, 7, 100])
def test_memoryview(dtype, n):
    s = Storage(n, dtype)
    m = memoryview(s)
    assert m.format == FORMATS[dtype]
    assert m.shape == (n,)
    assert m.ndim == 1
    assert m.itemsize == s.element_size()
    assert m.nbytes == s.nbytes()
    assert m.strides == (s.element_size(),)
    assert not m.readonly
    assert m.c_contiguous
    vals = _sample(dtype, n)
    for i, v in enumerate(vals):
        s[i] = v
    assert m.tolist() == vals


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_memoryview_writes_visible(dtype):
    s = Storage(5, dtype)
    m = memoryview(s)
    v = _sample(dtype, 5)[3]
    m[3] = v
    assert s[3] == v


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("n", [1, 10, 1000])
def test_numpy_shares_memory(dtype, n):
    s = Storage(n, dtype)
    a = np.asarray(s)
    assert a.dtype == NP[dtype]
    assert a.shape == (n,)
    assert a.ctypes.data == s.data_ptr()
    vals = _sample(dtype, n)
    a[:] = vals
    assert s.tolist() == vals
    s[n - 1] = vals[0]
    assert a[n - 1] == vals[0]


def test_bytes_of_storage():
    s = Storage(3, strided.int32)
    s[0], s[1], s[2] = 1, 2, 3
    assert bytes(memoryview(s)) == np.array([1, 2, 3], np.int32).tobytes()


# ---- lifetime ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [strided.float64, strided.uint8, strided.int32])
def test_memoryview_keeps_storage_alive(dtype):
    s = Storage(1000, dtype)
    vals = _sample(dtype, 1000)
    np.asarray(s)[:] = vals
    m = memoryview(s)
    del s
    gc.collect()
    # allocate and fill other memory, so freed memory would likely be reused
    junk = [np.full(1000, 77, NP[dtype]) for _ in range(50)]
    assert m.tolist() == vals
    del junk


@pytest.mark.parametrize("dtype", [strided.float32, strided.int64, strided.bool])
def test_numpy_export_keeps_storage_alive(dtype):
    s = Storage(5000, dtype)
    vals = np.array(_sample(dtype, 5000), NP[dtype])
    np.asarray(s)[:] = vals
    a = np.asarray(s)
    ptr = s.data_ptr()
    del s
    gc.collect()
    junk = [np.ones(5000, NP[dtype]) for _ in range(50)]
    assert a.ctypes.data == ptr
    np.testing.assert_array_equal(a, vals)
    a[:] = 0                      # still writable, still our memory
    assert not a.any()
    del junk


def test_tensor_keeps_storage_alive():
    t = strided.arange(100)
    s = t.untyped_storage()
    del t
    gc.collect()
    assert s.tolist() == list(range(100))
    v = strided.arange(10)[3:]
    gc.collect()
    st = v.untyped_storage()
    assert st.tolist() == list(range(10))


def test_views_share_one_storage():
    t = strided.zeros(4, 5)
    views = [t[1:], t.T, t.view(20), t[:, ::2], t.flip(0), t.unsqueeze(0)]
    for v in views:
        assert v.untyped_storage() is t.untyped_storage()
        assert v.untyped_storage().data_ptr() == t.untyped_storage().data_ptr()


def test_storage_writes_visible_in_tensor():
    t = strided.zeros(2, 3, dtype=strided.int64)
    s = t.untyped_storage()
    s[4] = 42
    assert t.tolist() == [[0, 0, 0], [0, 42, 0]]
    t.T[2, 0] = 7                  # element (0, 2) of t, storage index 2
    assert s[2] == 7


# ---- misc -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_pickle_roundtrip(dtype):
    s = Storage(9, dtype)
    vals = _sample(dtype, 9)
    for i, v in enumerate(vals):
        s[i] = v
    s2 = pickle.loads(pickle.dumps(s))
    assert s2.dtype is dtype
    assert s2.tolist() == vals
    assert s2.data_ptr() != s.data_ptr()
    assert s2.data_ptr() % 64 == 0


def test_repr():
    s = Storage(3, strided.int32)
    s[1] = 5
    r = repr(s)
    assert "size=3" in r and "int32" in r and "5" in r
    big = repr(Storage(100))
    assert "..." in big and len(big) < 200
