"""Tensor metadata, scalar conversions, copies, dtype conversions, copy_/fill_, the copy
kernel, repr and the thread-count controls -- checked against NumPy."""
import math

import numpy as np
import pytest

import strided
from helpers import contiguous_strides, pytorch_is_contiguous

ALL_DTYPES = [strided.bool, strided.uint8, strided.int32, strided.int64,
              strided.float32, strided.float64]
NP = {strided.bool: np.bool_, strided.uint8: np.uint8, strided.int32: np.int32,
      strided.int64: np.int64, strided.float32: np.float32, strided.float64: np.float64}
STORAGE_SIZE = 64

# (shape, strides, storage_offset) over a storage of STORAGE_SIZE elements.
LAYOUTS = {
    "0d": ((), (), 5),
    "1d": ((5,), (1,), 0),
    "1d_step2": ((5,), (2,), 1),
    "1d_neg": ((5,), (-1,), 10),
    "1d_neg_step3": ((4,), (-3,), 20),
    "2d_contig": ((3, 4), (4, 1), 0),
    "2d_offset": ((3, 4), (4, 1), 7),
    "2d_transposed": ((4, 3), (1, 4), 0),
    "2d_sliced": ((3, 4), (8, 2), 3),
    "2d_rows_flipped": ((3, 4), (-4, 1), 8),
    "2d_cols_flipped": ((3, 4), (4, -1), 3),
    "2d_both_flipped": ((3, 4), (-4, -1), 11),
    "2d_expand_rows": ((3, 4), (0, 1), 2),
    "2d_expand_cols": ((3, 4), (1, 0), 2),
    "2d_expand_all": ((3, 4), (0, 0), 9),
    "2d_odd_strides": ((3, 2), (2, 3), 0),
    "3d_contig": ((2, 3, 4), (12, 4, 1), 0),
    "3d_fortran": ((2, 3, 4), (1, 2, 6), 0),
    "3d_permuted": ((3, 2, 4), (4, 12, 1), 0),
    "3d_all_neg": ((2, 3, 4), (-12, -4, -1), 23),
    "3d_mixed": ((2, 3, 4), (-24, 1, 3), 30),
    "size1_odd_stride": ((2, 1, 4), (4, 99, 1), 0),
    "size1_only": ((1, 1), (7, 3), 4),
    "size1_inner": ((3, 1), (5, 2), 1),
    "empty_rows": ((0, 3), (3, 1), 0),
    "empty_cols_transposed": ((3, 0), (1, 3), 0),
    "empty_3d": ((2, 0, 4), (4, 4, 1), 60),
    "4d_mixed": ((2, 2, 2, 3), (24, 3, 12, 1), 1),
}
NON_OVERLAPPING = [k for k, (sh, st, _) in LAYOUTS.items()
                   if not any(s == 0 and n > 1 for n, s in zip(sh, st))]


def base_values(dtype, n=STORAGE_SIZE):
    i = np.arange(n)
    if dtype is strided.bool:
        return i % 3 == 0
    if dtype is strided.uint8:
        return ((i * 7) % 256).astype(np.uint8)
    if dtype in (strided.int32, strided.int64):
        return ((-1) ** i * i * 3).astype(NP[dtype])
    return ((-1) ** i * i * 0.75 + 0.125).astype(NP[dtype])


def make(name, dtype=strided.float32):
    """(strided tensor with the named layout, its expected values as a numpy array)."""
    shape, strides, offset = LAYOUTS[name]
    base_np = base_values(dtype)
    base = strided.tensor(base_np)
    assert base.dtype is dtype
    t = base.as_strided(shape, strides, offset)
    idx = np.indices(shape, dtype=np.int64) if shape else np.zeros((0,), np.int64)
    flat = offset + sum((idx[d] * strides[d] for d in range(len(shape))), np.zeros(shape, np.int64))
    return t, base_np[flat]


def assert_same(t, expected):
    """t (strided) equals the numpy array expected: shape, dtype and values."""
    assert tuple(t.shape) == expected.shape
    assert t.dtype.numpy_dtype == expected.dtype
    np.testing.assert_array_equal(np.array(t.tolist(), dtype=expected.dtype).reshape(expected.shape),
                                  expected)


@pytest.fixture
def restore_threads():
    n = strided.get_num_threads()
    yield
    strided.set_num_threads(n)


# ---- metadata ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("dtype", [strided.uint8, strided.int32, strided.float64],
                         ids=lambda d: d.name)
def test_metadata(name, dtype):
    shape, strides, offset = LAYOUTS[name]
    t, expected = make(name, dtype)
    assert t.shape == shape
    assert t.size() == shape
    assert t.stride() == strides
    assert t.storage_offset() == offset
    assert t.ndim == len(shape) and t.dim() == len(shape)
    assert t.numel() == math.prod(shape)
    assert t.element_size() == np.dtype(NP[dtype]).itemsize
    assert t.dtype is dtype
    for d in range(len(shape)):
        assert t.size(d) == shape[d]
        assert t.size(d - len(shape)) == shape[d]
        assert t.stride(d) == strides[d]
        assert t.stride(d - len(shape)) == strides[d]
    st = t.untyped_storage()
    assert t.data_ptr() == st.data_ptr() + offset * t.element_size()
    assert t.is_contiguous() == pytorch_is_contiguous(shape, strides)


@pytest.mark.parametrize("name", LAYOUTS)
def test_values_match_reference(name):
    t, expected = make(name, strided.float32)
    assert_same(t, expected)
    np.testing.assert_array_equal(t.numpy(), expected)


@pytest.mark.parametrize("shape,strides,expected", [
    ((2, 3), (3, 1), True),
    ((2, 3), (1, 2), False),
    ((2, 1, 3), (3, 100, 1), True),      # size-1 dims' strides are ignored
    ((1, 4), (1, 1), True),
    ((4, 1), (1, 1), True),
    ((1, 1, 1), (9, 9, 9), True),
    ((0, 3), (1, 7), True),              # empty tensors are contiguous
    ((3, 0), (5, 5), True),
    ((3,), (2,), False),
    ((3,), (-1,), False),
    ((2, 2), (0, 1), False),
    ((), (), True),
])
def test_is_contiguous_rule(shape, strides, expected):
    base = strided.zeros(64)
    off = 10 if any(s < 0 for s in strides) else 0
    t = base.as_strided(shape, strides, off)
    assert t.is_contiguous() == expected == pytorch_is_contiguous(shape, strides)


def test_base():
    b = strided.zeros(3, 4)
    assert b._base is None
    v = b.T
    assert v._base is b
    w = v[1:]            # a view of a view points at the root
    assert w._base is b
    assert b.view(12)._base is b
    assert b.clone()._base is None
    assert b.T.contiguous()._base is None
    assert strided.tensor([1, 2])._base is None


# ---- scalar conversions, iteration ------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_item_and_python_conversions(dtype):
    vals = {strided.bool: True, strided.uint8: 200, strided.int32: -7, strided.int64: 2 ** 40,
            strided.float32: 2.5, strided.float64: -1.25}
    v = vals[dtype]
    t = strided.tensor(v, dtype=dtype)
    assert t.shape == ()
    assert t.item() == v
    assert type(t.item()) is type(v)
    assert int(t) == int(v)
    assert float(t) == float(v)
    assert bool(t) == bool(v)
    # single-element tensors of any ndim convert too
    one = strided.full((1, 1), v, dtype=dtype)
    assert one.item() == v


def test_item_errors():
    for t in (strided.zeros(2), strided.zeros(0), strided.zeros(2, 3)):
        with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
            t.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(strided.zeros(2))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(strided.zeros(0))


def test_bool_of_zero():
    assert not bool(strided.tensor(0.0))
    assert bool(strided.tensor([[3]]))
    assert not strided.zeros(1, dtype=strided.bool)


def test_float_to_int_conversion_truncates():
    assert int(strided.tensor(-2.7)) == -2
    assert int(strided.tensor(2.7)) == 2


@pytest.mark.parametrize("name", LAYOUTS)
def test_tolist(name):
    t, expected = make(name, strided.int64)
    assert t.tolist() == expected.tolist()


@pytest.mark.parametrize("name", [k for k in LAYOUTS if LAYOUTS[k][0]])
def test_len_and_iteration(name):
    t, expected = make(name, strided.float64)
    assert len(t) == expected.shape[0]
    rows = list(t)
    assert len(rows) == expected.shape[0]
    for r, e in zip(rows, expected):
        assert r.shape == e.shape
        assert r.tolist() == e.tolist()
        assert r.untyped_storage() is t.untyped_storage()   # rows are views


def test_len_iter_of_0d():
    t = strided.tensor(1.0)
    with pytest.raises(TypeError):
        len(t)
    with pytest.raises(TypeError):
        iter(t)


# ---- contiguous / clone -----------------------------------------------------------------

@pytest.mark.parametrize("name", LAYOUTS)
def test_contiguous(name):
    t, expected = make(name, strided.int32)
    c = t.contiguous()
    if t.is_contiguous():
        assert c is t
    else:
        assert c is not t
        assert c.untyped_storage() is not t.untyped_storage()
        assert c.storage_offset() == 0
        assert c.is_contiguous()
        assert c.stride() == contiguous_strides(t.shape)
        assert c._base is None
    assert_same(c, expected)


@pytest.mark.parametrize("name", LAYOUTS)
def test_clone(name):
    t, expected = make(name, strided.float64)
    c = t.clone()
    assert c is not t
    assert c.untyped_storage() is not t.untyped_storage()
    assert c.is_contiguous()
    assert c.storage_offset() == 0
    assert c.stride() == contiguous_strides(t.shape)
    assert c.untyped_storage().size() == t.numel()
    assert_same(c, expected)
    if c.numel():
        c.fill_(-99.0)                      # independent of the original
        assert_same(t, expected)


def test_pickle_roundtrip():
    import pickle
    for t in (strided.arange(12).view(3, 4).T[::2], strided.tensor(2.5), strided.zeros(0, 3),
              strided.tensor([True, False]).expand(2, 2)):
        u = pickle.loads(pickle.dumps(t))
        assert u.dtype is t.dtype and u.shape == t.shape
        assert u.tolist() == t.tolist()
        assert u.is_contiguous()
        assert u.untyped_storage() is not t.untyped_storage()


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_dtypes_pickle_to_the_same_instance(protocol):
    import copy
    import pickle
    for d in (strided.bool, strided.uint8, strided.int32, strided.int64, strided.float32,
              strided.float64):
        assert pickle.loads(pickle.dumps(d, protocol)) is d
        assert copy.deepcopy(d) is d and copy.copy(d) is d
    # a dtype inside other objects, as a checkpoint or a DataLoader worker sends it
    assert pickle.loads(pickle.dumps({"dtype": strided.float64}))["dtype"] is strided.float64


def test_pickles_naming_the_old_module_paths_load():
    # NOTE [ Old module paths ] in strided/_C/__init__.py: pickles written before the
    # core/kernels/ops split name strided._C.tensor and strided._C.storage
    import pickle
    t = strided.tensor([[1.5, 2.0]], requires_grad=True)
    old = pickle.dumps(t, protocol=2).replace(b"strided._C.core.tensor", b"strided._C.tensor")
    assert b"strided._C.tensor\n" in old
    u = pickle.loads(old)
    assert u.tolist() == t.tolist() and u.requires_grad
    s = t.untyped_storage()
    old = pickle.dumps(s, protocol=2).replace(b"strided._C.core.storage", b"strided._C.storage")
    assert b"strided._C.storage\n" in old
    assert list(pickle.loads(old)) == list(s)
    import strided._C.core.tensor as core_tensor
    assert core_tensor.__spec__.name == "strided._C.core.tensor"


# ---- dtype conversions ------------------------------------------------------------------

def _conversion_values(src, dst):
    """Values of dtype src whose conversion to dst is well defined (numpy's astype)."""
    if src is strided.bool:
        return np.array([True, False, True, True, False])
    if src.is_floating_point:
        if dst is strided.uint8:
            v = [0.0, 0.4, 0.99, 1.0, 1.5, 2.9, 127.7, 200.2, 254.9, 255.0]
        elif dst is strided.bool:
            v = [0.0, -0.0, 1e-30, -0.5, 0.5, 3.0, -2.0, np.inf, -np.inf, np.nan]
        else:
            v = [0.0, -0.0, 0.4, -0.4, 0.99, -0.99, 1.5, -1.5, 2.9, -2.9, 100.7, -100.7,
                 12345.5, -12345.5, 2.0 ** 24 + 2, -(2.0 ** 24)]
        return np.array(v, NP[src])
    if src is strided.uint8:
        return np.array([0, 1, 2, 127, 128, 200, 255], np.uint8)
    v = [0, 1, -1, 2, -2, 127, -128, 255, 256, 300, -300, 65535, 2 ** 24 + 1, -(2 ** 24) - 1]
    if src is strided.int64:
        v += [2 ** 31 - 1, -(2 ** 31), 2 ** 31 + 5, 2 ** 40 + 3, -(2 ** 40) - 3, 2 ** 53 + 1]
    return np.array(v, NP[src])


@pytest.mark.parametrize("src", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("dst", ALL_DTYPES, ids=lambda d: d.name)
def test_to_dtype_all_pairs(src, dst):
    a = _conversion_values(src, dst)
    t = strided.tensor(a)
    assert t.dtype is src
    with np.errstate(invalid="ignore"):
        expected = a.astype(NP[dst])
    for out in (t.to(dst), t.to(dtype=dst), t.to(NP[dst])):
        assert out.dtype is dst
        np.testing.assert_array_equal(out.numpy(), expected)
        if dst is src:
            assert out is t
        else:
            assert out.untyped_storage() is not t.untyped_storage()
    copy = t.to(dst, copy=True)
    assert copy is not t and copy.untyped_storage() is not t.untyped_storage()
    np.testing.assert_array_equal(copy.numpy(), expected)


@pytest.mark.parametrize("src", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("method,dst", [("float", strided.float32), ("double", strided.float64),
                                        ("long", strided.int64), ("int", strided.int32),
                                        ("bool", strided.bool), ("byte", strided.uint8)])
def test_conversion_methods(src, method, dst):
    a = _conversion_values(src, dst)
    t = strided.tensor(a)
    out = getattr(t, method)()
    assert out.dtype is dst
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(out.numpy(), a.astype(NP[dst]))


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("src,dst", [(strided.float32, strided.int64),
                                     (strided.int32, strided.float64),
                                     (strided.uint8, strided.bool),
                                     (strided.int64, strided.int32)])
def test_to_dtype_from_layouts(name, src, dst):
    t, expected = make(name, src)
    out = t.to(dst)
    assert out.is_contiguous()
    assert out.shape == t.shape
    np.testing.assert_array_equal(out.numpy(), expected.astype(NP[dst]))


def test_to_other_forms():
    t = strided.arange(4)
    assert t.to("cpu") is t
    assert t.to(strided.zeros(1, dtype=strided.float64)).dtype is strided.float64
    assert t.type_as(strided.zeros(1, dtype=strided.uint8)).dtype is strided.uint8
    with pytest.raises(RuntimeError, match="cuda"):
        t.to(device="cuda")
    with pytest.raises((RuntimeError, TypeError), match="cuda"):
        t.to("cuda")


# ---- copy_ ------------------------------------------------------------------------------

SRC_LAYOUTS = ["0d", "1d", "1d_neg", "2d_contig", "2d_transposed", "2d_sliced", "2d_rows_flipped",
               "2d_both_flipped", "2d_expand_rows", "2d_expand_cols", "2d_expand_all",
               "3d_fortran", "3d_all_neg", "size1_odd_stride", "size1_inner", "empty_rows"]


def _fresh_dst(shape, dtype, layout):
    """A writable destination of `shape` with the given layout kind, over its own storage."""
    n = math.prod(shape)
    if layout == "contig":
        return strided.zeros(shape, dtype=dtype)
    if layout == "transposed":
        return strided.zeros(tuple(reversed(shape)), dtype=dtype).permute(
            *reversed(range(len(shape))))
    if layout == "flipped":
        t = strided.zeros(shape, dtype=dtype)
        # (flip of an empty tensor is covered in test_torch_parity; keep this about copy_)
        return t.flip(*range(len(shape))) if shape and n else t
    if layout == "strided":
        big = strided.zeros(2 * n + 3, dtype=dtype)
        return big[3::2].view(shape) if n else strided.zeros(shape, dtype=dtype)
    raise AssertionError(layout)


@pytest.mark.parametrize("src_name", SRC_LAYOUTS)
@pytest.mark.parametrize("dst_layout", ["contig", "transposed", "flipped", "strided"])
@pytest.mark.parametrize("src_dtype,dst_dtype", [(strided.float32, strided.float32),
                                                 (strided.int64, strided.float64),
                                                 (strided.float64, strided.int32),
                                                 (strided.int32, strided.uint8),
                                                 (strided.float32, strided.bool)])
def test_copy_from_layouts(src_name, dst_layout, src_dtype, dst_dtype):
    src, expected = make(src_name, src_dtype)
    if src_dtype.is_floating_point and dst_dtype in (strided.int32, strided.uint8):
        src = src.clone()
        src.copy_(strided.tensor(np.abs(expected)))   # in-range, non-negative values
        expected = np.abs(expected)
    if dst_dtype is strided.uint8:
        src = src.clone()
        expected = np.abs(expected) % 256
        src.copy_(strided.tensor(expected.astype(NP[src_dtype])))
    dst = _fresh_dst(src.shape, dst_dtype, dst_layout)
    ptr, stride = dst.data_ptr(), dst.stride()
    out = dst.copy_(src)
    assert out is dst
    assert dst.data_ptr() == ptr and dst.stride() == stride      # in place
    np.testing.assert_array_equal(dst.numpy(), expected.astype(NP[dst_dtype]))


@pytest.mark.parametrize("src_shape,dst_shape", [
    ((), (3, 4)), ((4,), (3, 4)), ((1, 4), (3, 4)), ((3, 1), (3, 4)), ((1,), (2, 3, 4)),
    ((3, 1, 4), (2, 3, 5, 4)), ((1, 1), (5, 1)), ((0,), (3, 0)), ((1,), (0,)),
])
@pytest.mark.parametrize("src_transform", ["plain", "flipped", "transposed"])
def test_copy_broadcasts(src_shape, dst_shape, src_transform):
    n = math.prod(src_shape)
    a = (np.arange(n, dtype=np.float64) * 1.5 - 2).reshape(src_shape)
    src = strided.tensor(a)
    if src_transform == "flipped" and src.ndim:
        src, a = src.flip(-1), a[..., ::-1]
    if src_transform == "transposed" and src.ndim >= 2:
        src = strided.tensor(np.ascontiguousarray(a.T)).T
    dst = strided.zeros(dst_shape, dtype=strided.float32)
    dst.copy_(src)
    np.testing.assert_array_equal(dst.numpy(), np.broadcast_to(a, dst_shape).astype(np.float32))


@pytest.mark.parametrize("src_shape,dst_shape", [((2,), (3,)), ((3, 4), (4, 3)), ((2, 3), (3,)),
                                                 ((2, 1), (3, 1))])
def test_copy_shape_mismatch(src_shape, dst_shape):
    with pytest.raises(RuntimeError):
        strided.zeros(dst_shape).copy_(strided.zeros(src_shape))


def test_copy_from_python_and_numpy():
    t = strided.zeros(2, 3, dtype=strided.int32)
    t.copy_([[1, 2, 3], [4, 5, 6]])
    assert t.tolist() == [[1, 2, 3], [4, 5, 6]]
    t.copy_(np.array([7.9, 8.2, -9.9]))
    assert t.tolist() == [[7, 8, -9], [7, 8, -9]]
    t.copy_(5)
    assert t.tolist() == [[5] * 3] * 2
    t.T.copy_(np.arange(6).reshape(3, 2))
    assert t.tolist() == [[0, 2, 4], [1, 3, 5]]


def test_copy_into_expanded_raises():
    t = strided.zeros(1, 4).expand(3, 4)
    with pytest.raises(RuntimeError, match="more than one element"):
        t.copy_(strided.ones(3, 4))


@pytest.mark.parametrize("dst_sl,src_sl", [
    (slice(1, None), slice(None, -1)),
    (slice(None, -1), slice(1, None)),
    (slice(2, None, 2), slice(None, -2, 2)),
    (slice(None, None, -1), slice(None)),
    (slice(3, 8), slice(0, 5)),
])
def test_copy_overlapping_same_storage(dst_sl, src_sl):
    # src and dst share memory: the result must be NumPy's (as if src were copied first)
    t = strided.arange(10)
    t[dst_sl].copy_(t[src_sl])
    a = np.arange(10)
    a[dst_sl] = a[src_sl].copy()
    assert t.tolist() == a.tolist()


@pytest.mark.parametrize("dst_sl,src_sl", [
    (slice(2, None, 2), slice(None, -2, 2)),
    (slice(None, None, -1), slice(None)),
    (slice(1, None), slice(None, -1)),
])
def test_copy_overlapping_aliases_through_numpy(dst_sl, src_sl):
    # The same memory reached through a second Storage (from_numpy(t.numpy())) is still
    # the same memory: copy_ promises NumPy's result whenever src and dst overlap.
    t = strided.arange(10)
    alias = strided.from_numpy(t.numpy())
    t[dst_sl].copy_(alias[src_sl])
    a = np.arange(10)
    a[dst_sl] = a[src_sl].copy()
    assert t.tolist() == a.tolist()


def test_copy_transposed_into_self_overlap():
    t = strided.tensor(np.arange(9.0).reshape(3, 3))
    t.copy_(t.T)
    np.testing.assert_array_equal(t.numpy(), np.arange(9.0).reshape(3, 3).T)


# ---- fill_ / zero_ ----------------------------------------------------------------------

@pytest.mark.parametrize("name", NON_OVERLAPPING)
@pytest.mark.parametrize("dtype,value", [(strided.float32, 2.5), (strided.float64, -1e300),
                                         (strided.int32, -7), (strided.int64, 2 ** 40),
                                         (strided.uint8, 255), (strided.bool, True),
                                         (strided.int32, 3.9), (strided.float32, True)])
def test_fill_(name, dtype, value):
    t, expected = make(name, dtype)
    storage_before = np.asarray(t.untyped_storage()).copy()
    out = t.fill_(value)
    assert out is t
    expect = np.full(expected.shape, NP[dtype](int(value) if not dtype.is_floating_point
                                               and dtype is not strided.bool else value))
    np.testing.assert_array_equal(t.numpy(), expect)
    # nothing outside the view was touched
    after = np.asarray(t.untyped_storage())
    touched = np.zeros(after.shape, bool)
    shape, strides, offset = LAYOUTS[name]
    if math.prod(shape):
        idx = np.indices(shape)
        touched[offset + sum(idx[d] * strides[d] for d in range(len(shape)))] = True
    elif not shape:
        touched[offset] = True
    np.testing.assert_array_equal(after[~touched], storage_before[~touched])


@pytest.mark.parametrize("name", NON_OVERLAPPING)
def test_zero_(name):
    t, expected = make(name, strided.float64)
    assert t.zero_() is t
    np.testing.assert_array_equal(t.numpy(), np.zeros(expected.shape))


def test_fill_with_tensor_and_numpy_scalar():
    t = strided.zeros(3)
    t.fill_(strided.tensor(4.0))
    assert t.tolist() == [4.0] * 3
    t.fill_(np.float64(1.5))
    assert t.tolist() == [1.5] * 3
    with pytest.raises(RuntimeError):
        t.fill_(strided.tensor([1.0, 2.0]))


@pytest.mark.parametrize("dtype,value", [(strided.uint8, 256), (strided.uint8, -1),
                                         (strided.int32, 2 ** 31), (strided.int64, 2 ** 63),
                                         (strided.int32, float("inf")),
                                         (strided.int64, float("nan")),
                                         # PyTorch checks float32 too: 1e300 is not a float32
                                         (strided.float32, 1e300), (strided.float32, -1e300),
                                         (strided.float32, 2 ** 200)])
def test_fill_overflow(dtype, value):
    with pytest.raises(RuntimeError, match="overflow"):
        strided.zeros(3, dtype=dtype).fill_(value)


def test_fill_non_finite_floats_allowed():
    t = strided.zeros(3)
    t.fill_(float("inf"))
    assert t.tolist() == [float("inf")] * 3
    t.fill_(float("nan"))
    assert all(math.isnan(x) for x in t.tolist())
    d = strided.zeros(2, dtype=strided.float64).fill_(1e300)
    assert d.tolist() == [1e300, 1e300]


def test_fill_bad_type():
    with pytest.raises(TypeError):
        strided.zeros(3).fill_("a")


# ---- the copy kernel on large tensors (multi-threaded path) -----------------------------

BIG = (1100, 1024)       # 1,126,400 elements


def _big_case(kind, dtype):
    """(strided source, numpy expectation) with > 1M elements in various layouts."""
    a = (np.arange(math.prod(BIG), dtype=np.int64) % 1009).reshape(BIG).astype(NP[dtype])
    t = strided.tensor(a)
    if kind == "contig":
        return t, a
    if kind == "transposed":
        return t.T, a.T
    if kind == "flipped":
        return t.flip(0, 1), a[::-1, ::-1]
    if kind == "col_flipped":
        return t.flip(1), a[:, ::-1]
    if kind == "sliced":
        return t[::2, 1::3], a[::2, 1::3]
    if kind == "expanded":
        return t[5].expand(*BIG), np.broadcast_to(a[5], BIG)
    if kind == "expanded_col":
        return t[:, 7:8].expand(*BIG), np.broadcast_to(a[:, 7:8], BIG)
    if kind == "3d_permuted":
        t3 = t.view(1100, 32, 32).permute(2, 0, 1)
        return t3, a.reshape(1100, 32, 32).transpose(2, 0, 1)
    raise AssertionError(kind)


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("kind", ["contig", "transposed", "flipped", "col_flipped", "sliced",
                                  "expanded", "expanded_col", "3d_permuted"])
def test_big_contiguous_and_clone(kind, threads, restore_threads):
    strided.set_num_threads(threads)
    t, a = _big_case(kind, strided.int32)
    c = t.contiguous()
    assert c.is_contiguous()
    np.testing.assert_array_equal(c.numpy(), a)
    np.testing.assert_array_equal(t.clone().numpy(), a)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("kind", ["contig", "transposed", "flipped", "sliced", "expanded"])
@pytest.mark.parametrize("dst_kind", ["contig", "transposed", "flipped"])
def test_big_copy_with_cast(kind, dst_kind, threads, restore_threads):
    strided.set_num_threads(threads)
    t, a = _big_case(kind, strided.float64)
    dst = strided.zeros(t.shape, dtype=strided.int32)
    if dst_kind == "transposed":
        dst = strided.zeros(tuple(reversed(t.shape)), dtype=strided.int32).T
    elif dst_kind == "flipped":
        dst = dst.flip(0)
    dst.copy_(t)
    np.testing.assert_array_equal(dst.numpy(), a.astype(np.int32))


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_big_fill_and_to(dtype, threads, restore_threads):
    strided.set_num_threads(threads)
    t = strided.empty(1000, 1201, dtype=dtype)
    t.fill_(1)
    assert np.all(t.numpy() == 1)
    part = t[3:-3, 5::2]
    part.fill_(0)
    ref = np.ones((1000, 1201), NP[dtype])
    ref[3:-3, 5::2] = 0
    np.testing.assert_array_equal(t.numpy(), ref)
    np.testing.assert_array_equal(t.T.to(strided.float64).numpy(), ref.T.astype(np.float64))


# Transpose-like copies (dst and src disagree on the fastest dim) take a tiled path for
# 2-3 coalesced dims of at least 16 x 16 and 1 MiB; edges, batches, casts, negative and
# zero strides (a row broadcast is no transpose: plain rows, whatever its size).
TILED_SHAPES = [(16, 16), (17, 33), (100, 37), (15, 200), (16, 15), (1, 64), (64, 1),
                (3, 40, 50), (2, 16, 17), (5, 31, 7), (2, 3, 20, 20), (257, 129),
                (700, 600), (3, 300, 401)]


def _tiled_src(kind, shape, a, t):
    """(strided view, numpy view) of `shape`, read transposed/flipped/broadcast from t/a."""
    nd = len(shape)
    if kind == "transposed":            # the last two dims swapped in memory
        perm = tuple(range(nd - 2)) + (nd - 1, nd - 2)
        big = a.reshape(shape[:-2] + (shape[-1], shape[-2]))
        return t.view(big.shape).permute(*perm), big.transpose(perm)
    if kind == "transposed_flipped":
        s, n = _tiled_src("transposed", shape, a, t)
        return s.flip(-1, -2), n[..., ::-1, ::-1]
    if kind == "reversed_dims":
        rev = tuple(reversed(shape))
        perm = tuple(reversed(range(nd)))
        return t.view(rev).permute(*perm), a.reshape(rev).transpose(perm)
    if kind == "row_broadcast":        # every row the same: stride 0 on dim -2
        row_t = t.view(-1)[:shape[-1]]
        row_a = a.reshape(-1)[:shape[-1]]
        return row_t.expand(*shape), np.broadcast_to(row_a, shape)
    raise AssertionError(kind)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", TILED_SHAPES, ids=str)
@pytest.mark.parametrize("kind", ["transposed", "transposed_flipped", "reversed_dims",
                                  "row_broadcast"])
@pytest.mark.parametrize("src_dtype,dst_dtype", [(strided.float32, strided.float32),
                                                 (strided.float64, strided.int32),
                                                 (strided.int64, strided.uint8),
                                                 (strided.int32, strided.bool)])
def test_transpose_like_copies(shape, kind, src_dtype, dst_dtype, threads, restore_threads):
    strided.set_num_threads(threads)
    n = math.prod(shape)
    a = (np.arange(n) % 251).astype(NP[src_dtype])
    t = strided.tensor(a)
    src, ref = _tiled_src(kind, shape, a, t)
    assert src.shape == ref.shape == tuple(shape)
    expected = ref.astype(NP[dst_dtype])
    np.testing.assert_array_equal(src.to(dst_dtype).numpy(), expected)
    np.testing.assert_array_equal(src.contiguous().numpy(), ref)
    dst = strided.full(shape, 7, dtype=dst_dtype)
    dst.copy_(src)
    np.testing.assert_array_equal(dst.numpy(), expected)
    # and the reverse direction: a contiguous source into a transposed destination
    if kind != "row_broadcast":
        back = strided.zeros(tuple(shape), dtype=src_dtype)
        dst_view, ref_view = _tiled_src(kind, shape, np.zeros(n, NP[src_dtype]), back.view(-1))
        dst_view.copy_(strided.tensor(np.ascontiguousarray(ref)))
        np.testing.assert_array_equal(dst_view.numpy(), ref)


def test_big_overlapping_shift(restore_threads):
    strided.set_num_threads(2)
    n = 3_000_000
    t = strided.arange(n)
    t[1:].copy_(t[:-1])
    a = np.arange(n)
    a[1:] = a[:-1].copy()
    np.testing.assert_array_equal(t.numpy(), a)


# ---- repr -------------------------------------------------------------------------------

def _repr_id(v):
    return "" if callable(v) else v.replace("\n", " ").replace(" ", "")[:40]


@pytest.mark.parametrize("make_t,expected", ids=_repr_id, argvalues=[
    (lambda: strided.arange(4).view(2, 2).float(), "tensor([[0., 1.],\n        [2., 3.]])"),
    (lambda: strided.arange(4, dtype=strided.int32), "tensor([0, 1, 2, 3], dtype=strided.int32)"),
    (lambda: strided.arange(3), "tensor([0, 1, 2])"),
    (lambda: strided.tensor([1.5, -2.25, 3.0]), "tensor([ 1.5000, -2.2500,  3.0000])"),
    (lambda: strided.tensor([1e10, 1.0]), "tensor([1.0000e+10, 1.0000e+00])"),
    (lambda: strided.tensor(3.5), "tensor(3.5000)"),
    (lambda: strided.tensor(7), "tensor(7)"),
    (lambda: strided.tensor(True), "tensor(True)"),
    (lambda: strided.tensor([0.1, 0.2], dtype=strided.float64),
     "tensor([0.1000, 0.2000], dtype=strided.float64)"),
    (lambda: strided.tensor([1, 255], dtype=strided.uint8), "tensor([  1, 255], dtype=strided.uint8)"),
    (lambda: strided.zeros(0), "tensor([])"),
    (lambda: strided.zeros(0, dtype=strided.int64), "tensor([], dtype=strided.int64)"),
    (lambda: strided.zeros(2, 0), "tensor([], size=(2, 0))"),
    (lambda: strided.arange(6).view(2, 3).T, "tensor([[0, 3],\n        [1, 4],\n        [2, 5]])"),
    (lambda: strided.arange(8.0).view(2, 2, 2).flip(0),
     "tensor([[[4., 5.],\n         [6., 7.]],\n\n        [[0., 1.],\n         [2., 3.]]])"),
    (lambda: strided.tensor([-1.0, 0.0]), "tensor([-1.,  0.])"),
    # PyTorch pads bools to a common width and does not pad nan/inf specially
    (lambda: strided.tensor([True, False]), "tensor([ True, False])"),
    (lambda: strided.tensor([float("nan"), float("inf"), -float("inf"), 1.0]),
     "tensor([nan, inf, -inf, 1.])"),
])
def test_repr_pytorch_style(make_t, expected):
    assert repr(make_t()) == expected


def _repr_id(v):
    return "" if callable(v) else v.replace("\n", " ").replace(" ", "")[:40]


@pytest.mark.parametrize("make_t,expected", ids=_repr_id, argvalues=[
    # integral floats whose magnitudes span more than 1000x switch to scientific notation
    (lambda: strided.tensor([1.0, 2000.0]), "tensor([1.0000e+00, 2.0000e+03])"),
    (lambda: strided.tensor([-3.0, 5000.0]), "tensor([-3.0000e+00,  5.0000e+03])"),
    # summarised output (more than 1000 elements): PyTorch writes "  ..." between the edges
    (lambda: strided.arange(5000), "tensor([   0,    1,    2,  ..., 4997, 4998, 4999])"),
    (lambda: strided.zeros(1).expand(2 ** 50), "tensor([0., 0., 0.,  ..., 0., 0., 0.])"),
    (lambda: strided.tensor([True, False] * 600),
     "tensor([ True, False,  True,  ..., False,  True, False])"),
    (lambda: strided.arange(2000).view(40, 50),
     "tensor([[   0,    1,    2,  ...,   47,   48,   49],\n"
     "        [  50,   51,   52,  ...,   97,   98,   99],\n"
     "        [ 100,  101,  102,  ...,  147,  148,  149],\n"
     "        ...,\n"
     "        [1850, 1851, 1852,  ..., 1897, 1898, 1899],\n"
     "        [1900, 1901, 1902,  ..., 1947, 1948, 1949],\n"
     "        [1950, 1951, 1952,  ..., 1997, 1998, 1999]])"),
    (lambda: strided.arange(1.5, 2000.5),
     "tensor([1.5000e+00, 2.5000e+00, 3.5000e+00,  ..., 1.9975e+03, 1.9985e+03,\n"
     "        1.9995e+03])"),
])
def test_repr_pytorch_style_more(make_t, expected):
    assert repr(make_t()) == expected


def test_repr_summarises_large():
    r = repr(strided.arange(5000))
    assert "..." in r
    assert r.startswith("tensor([   0,    1,    2,") and r.endswith("4997, 4998, 4999])")
    assert len(r) < 200
    # summarising must not touch every element: a 2**50-element broadcast view is fine
    r = repr(strided.zeros(1).expand(2 ** 50))
    assert "..." in r and len(r) < 100


# ---- threads ----------------------------------------------------------------------------

def test_num_threads(restore_threads):
    assert strided.get_num_threads() >= 1
    strided.set_num_threads(1)
    assert strided.get_num_threads() == 1
    strided.set_num_threads(3)
    from strided._C.core.threads import has_openmp
    assert strided.get_num_threads() == (3 if has_openmp() else 1)
    for bad in (0, -1):
        with pytest.raises(ValueError):
            strided.set_num_threads(bad)
    with pytest.raises(TypeError):
        strided.set_num_threads("2")
