"""t[index] and t[index] = value against NumPy, over many shapes, layouts and dtypes.

Basic indexing (ints, slices with any nonzero step, None, Ellipsis) must give a view with
NumPy's values, strides and offset (and PyTorch's stride for the size-1 dims that None
inserts); advanced indexing (lists, integer tensors/arrays, bool masks, mixed with
slices) must give a copy equal to NumPy's result; assignment must write exactly what
NumPy writes, into the tensor's storage.
"""
import math
import random
import zlib

import numpy as np
import pytest

import strided
from helpers import (assert_fresh, assert_same, assert_values, assert_view_of, case_id,
                     case_params, has_internal_overlap, make_case, values, writable_twin,
                     LAYOUTS)

CASES = case_params()
ND_CASES = [p for p in CASES if len(p[0]) >= 1]


def cases(params=CASES):
    return pytest.mark.parametrize("shape,layout,dtype", params, ids=[case_id(p) for p in params])


# --------------------------------------------------------------------------------------
# A reference model of basic indexing (NumPy's sizes/strides/offset; PyTorch's stride
# for dims inserted by None: size * stride of the dim it precedes, 1 at the end)
# --------------------------------------------------------------------------------------

def ref_basic_index(shape, strides, offset, index):
    items = index if isinstance(index, tuple) else (index,)
    consumed = sum(1 for x in items if isinstance(x, (int, slice)))
    sizes, out_strides = [], []
    sd = 0
    for x in items:
        if x is None:
            sizes.append(1)
            out_strides.append(shape[sd] * strides[sd] if sd < len(shape) else 1)
        elif x is Ellipsis:
            for _ in range(len(shape) - consumed):
                sizes.append(shape[sd])
                out_strides.append(strides[sd])
                sd += 1
        elif isinstance(x, slice):
            start, stop, step = x.indices(shape[sd])
            length = len(range(start, stop, step))
            sizes.append(length)
            out_strides.append(strides[sd] * step)
            if length:
                offset += start * strides[sd]
            sd += 1
        else:
            k = x + shape[sd] if x < 0 else x
            assert 0 <= k < shape[sd]
            offset += k * strides[sd]
            sd += 1
    while sd < len(shape):
        sizes.append(shape[sd])
        out_strides.append(strides[sd])
        sd += 1
    return tuple(sizes), tuple(out_strides), offset


def np_basic(a, index):
    """a[index] as a NumPy *view* even when every dim is indexed by an int."""
    items = index if isinstance(index, tuple) else (index,)
    if Ellipsis not in items:
        items = items + (Ellipsis,)
    return a[items]


def random_slice(rng, size):
    step = rng.choice([None, 1, 2, 3, -1, -2, -3, 5, -7])
    def bound():
        return rng.choice([None, 0, 1, -1, size, -size, size + 2, -size - 3,
                           rng.randint(-size - 1, size + 1)])
    return slice(bound(), bound(), step)


def random_basic_index(rng, shape):
    nd = len(shape)
    use_ellipsis = rng.random() < 0.35
    n_consumed = rng.randint(0, nd)
    if not use_ellipsis and rng.random() < 0.5:
        n_consumed = nd
    items = []
    for d in range(n_consumed):
        size = shape[d] if not use_ellipsis else None
        if use_ellipsis:
            items.append(("dim",))           # resolved below once the ellipsis is placed
            continue
        if size and rng.random() < 0.35:
            items.append(rng.randint(-size, size - 1))
        else:
            items.append(random_slice(rng, size))
    if use_ellipsis:
        pos = rng.randint(0, len(items))
        items.insert(pos, Ellipsis)
        # items before the ellipsis index leading dims, items after it trailing dims
        before = items[:pos]
        after = items[pos + 1:]
        dims = list(range(len(before))) + list(range(nd - len(after), nd))
        resolved = []
        k = 0
        for x in items:
            if x is Ellipsis:
                resolved.append(Ellipsis)
                continue
            size = shape[dims[k]]
            k += 1
            if size and rng.random() < 0.35:
                resolved.append(rng.randint(-size, size - 1))
            else:
                resolved.append(random_slice(rng, size))
        items = resolved
    for _ in range(rng.choice([0, 0, 1, 2])):
        items.insert(rng.randint(0, len(items)), None)
    if len(items) == 1 and rng.random() < 0.5:
        return items[0]
    return tuple(items)


# --------------------------------------------------------------------------------------
# Basic indexing: views
# --------------------------------------------------------------------------------------

@cases()
def test_basic_indexing_random(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    rng = random.Random(zlib.crc32(repr((shape, layout)).encode()))   # deterministic
    for _ in range(40):
        index = random_basic_index(rng, shape)
        v = t[index]
        av = np_basic(a, index)
        assert_same(v, av, case.buf)
        assert_view_of(v, t)
        sizes, strides, offset = ref_basic_index(t.shape, t.stride(), t.storage_offset(), index)
        assert v.shape == sizes
        assert v.stride() == strides, (index, v.stride(), strides)
        if v.numel():
            assert v.storage_offset() == offset


@cases()
def test_basic_index_forms(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    nd = t.ndim
    forms = [(), Ellipsis, None, (None,), (Ellipsis, None), (None, Ellipsis, None),
             (slice(None),) * nd, (slice(None, None, -1),) * nd, (slice(None, None, 2),) * nd,
             (slice(None, None, -2),) * nd, (Ellipsis, slice(None, None, -1))]
    if nd:
        forms += [(slice(1, None),), (slice(None, -1),), (slice(-2, None, -1),),
                  (Ellipsis, slice(1, None, 2)), (slice(None),) * (nd - 1) + (Ellipsis,)]
        if shape[0]:
            forms += [0, -1, shape[0] - 1, -shape[0], (0, Ellipsis), (-1, None),
                      (None, 0, None), (0,) + (slice(None, None, -1),) * (nd - 1)]
        if all(shape):
            forms += [tuple(-1 for _ in shape), tuple(0 for _ in shape) + (None,)]
    for index in forms:
        if index is not None and index != (None,) and isinstance(index, tuple) and \
                sum(1 for x in index if isinstance(x, (int, slice))) > nd:
            continue
        v = t[index]
        av = np_basic(a, index)
        assert_same(v, av, case.buf)
        assert_view_of(v, t)
        sizes, strides, offset = ref_basic_index(t.shape, t.stride(), t.storage_offset(), index)
        assert v.stride() == strides, (index, v.stride(), strides)


@cases(ND_CASES)
def test_integer_index_is_select(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for bad in (shape[0], -shape[0] - 1):
        with pytest.raises(IndexError):
            t[bad]
    for i in range(-shape[0], shape[0]):
        v = t[i]
        assert_same(v, a[i, ...], case.buf, exact_strides=t.stride()[1:])
        assert_view_of(v, t)
        if v.numel():
            assert v.storage_offset() == t.storage_offset() + (i % shape[0]) * t.stride(0)


def test_none_strides_follow_pytorch():
    t = strided.tensor(np.arange(12.0)).view(3, 4)
    assert t[None].stride() == (12, 4, 1)
    assert t[:, None].stride() == (4, 4, 1)
    assert t[..., None].stride() == (4, 1, 1)
    assert t[None, :, None].stride() == (12, 4, 4, 1)
    assert t[1:, None].stride() == (4, 4, 1)
    assert t.T[None].stride() == (4, 1, 4) and t.T.unsqueeze(0).stride() == (4, 1, 4)
    assert t.T[:, None].stride() == (1, 12, 4)
    assert t[0, None].stride() == (4, 1)
    s = strided.tensor(2.0)
    assert s[None].stride() == (1,) and s[None, None].stride() == (1, 1)


@pytest.mark.parametrize("np_int", [np.int64, np.int32, np.intp, np.uint8])
def test_numpy_integer_index_is_basic(np_int):
    """NumPy and PyTorch treat numpy integer scalars like Python ints: a view."""
    case = make_case((3, 4), "stepped", "float64")
    t, a = case.t, case.a
    v = t[np_int(1)]
    assert_view_of(v, t)
    assert_same(v, a[1, ...], case.buf)
    v = t[0, np_int(2)]
    assert_view_of(v, t)
    assert_same(v, a[0, 2, ...], case.buf)
    v = t[np_int(2), 1:]
    assert_view_of(v, t)
    assert_same(v, a[2, 1:], case.buf)
    t1 = strided.tensor(np.arange(5.0))
    assert t1[np_int(3)].item() == 3.0 and t1[np_int(3)].shape == ()


def test_huge_slice_bounds_and_steps():
    t = strided.tensor(np.arange(24.0)).view(4, 6)
    a = np.arange(24.0).reshape(4, 6)
    for index in [(slice(None, None, 2 ** 62),), (slice(None, None, -2 ** 62),),
                  (slice(-2 ** 63, 2 ** 63 - 1),), (slice(None), slice(10 ** 30, None)),
                  (slice(None), slice(None, None, -10 ** 30)), (slice(2 ** 62, -2 ** 62, -1),)]:
        v = t[index]
        np.testing.assert_array_equal(v.numpy(), a[index])
        assert v.shape == a[index].shape


# --------------------------------------------------------------------------------------
# Advanced indexing: copies
# --------------------------------------------------------------------------------------

def advanced_indices(shape, rng):
    """(strided index, numpy index) pairs of advanced indices valid for shape."""
    nd = len(shape)
    out = []
    n0 = shape[0]
    ints = [rng.randint(-n0, n0 - 1) for _ in range(4)] if n0 else []
    out.append((ints, ints))
    out.append((np.array(ints, dtype=np.int64), np.array(ints, dtype=np.int64)))
    out.append((strided.tensor(np.array(ints, dtype=np.int64)), np.array(ints, dtype=np.int64)))
    out.append((strided.tensor(np.array(ints, dtype=np.int32)), np.array(ints, dtype=np.int32)))
    out.append(([], np.array([], dtype=np.int64)))
    if n0:
        idx2 = np.array([[0, n0 - 1], [-1, 0]])
        out.append((strided.tensor(idx2), idx2))
        out.append(((slice(None, None, -1), [0, -1]) if nd >= 2 and shape[1] else ([0, -1],),
                    (slice(None, None, -1), [0, -1]) if nd >= 2 and shape[1] else ([0, -1],)))
        out.append(((None, [0, n0 - 1], Ellipsis), (None, [0, n0 - 1], Ellipsis)))
        if nd >= 2:
            out.append((([n0 - 1, 0], Ellipsis, slice(None, None, -2)),
                        ([n0 - 1, 0], Ellipsis, slice(None, None, -2))))
    # boolean masks: full shape, first dim, as tensors and arrays
    mask = np.random.default_rng(len(shape)).random(shape) < 0.5
    out.append((strided.tensor(mask), mask))
    out.append((mask, mask))
    m0 = mask.reshape(-1)[:n0] if mask.size >= n0 else np.ones(n0, bool)
    m0 = np.asarray(m0).reshape(n0)
    out.append((strided.tensor(m0), m0))
    out.append(((m0, Ellipsis), (m0, Ellipsis)))
    out.append(((m0.tolist(),), (m0.tolist(),)))
    if nd >= 2:
        m1 = np.arange(shape[1]) % 2 == 0
        out.append(((slice(1, None), m1), (slice(1, None), m1)))
        out.append(((Ellipsis, strided.tensor(m1)) if nd == 2 else (slice(None), m1),
                    (Ellipsis, m1) if nd == 2 else (slice(None), m1)))
        if n0 and shape[1]:
            i0, i1 = [0, n0 - 1, 0], [shape[1] - 1, 0, 0]
            out.append(((i0, i1), (i0, i1)))
            out.append(((strided.tensor(np.array(i0)), np.array(i1)),
                        (np.array(i0), np.array(i1))))
            out.append(((i0, None, i1), (i0, None, i1)))
            if nd >= 3 and shape[2]:
                i2 = [shape[2] - 1, 0, -1]
                out.append(((i0, slice(None), i2), (i0, slice(None), i2)))   # split adv. dims
    return out


@cases(ND_CASES)
def test_advanced_indexing_copies(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    rng = random.Random(len(shape) * 31 + len(layout))
    for sidx, nidx in advanced_indices(shape, rng):
        expected = a[nidx]
        v = t[sidx]
        assert_values(v, np.asarray(expected))
        assert_fresh(v, t)
        if v.numel():
            # the copy doesn't alias the base
            before = t.clone().numpy()
            v.view(-1)[0] = values(1, dtype, 5)[0] if dtype != "bool" else not v.view(-1)[0].item()
            np.testing.assert_array_equal(t.numpy(), before)


@pytest.mark.parametrize("layout", ["contiguous", "negative", "stepped", "expanded"])
@pytest.mark.parametrize("form", ["tensor", "array"])
def test_zero_dim_integer_index_arrays(layout, form):
    """0-d integer index arrays/tensors: NumPy returns the element (a 0-d result), PyTorch
    a 0-d tensor; either way the value must come back as a 0-d tensor."""
    wrap = (lambda k: strided.tensor(np.array(k))) if form == "tensor" else np.array
    case = make_case((3, 4), layout, "float64")
    t, a = case.t, case.a
    for sidx, nidx in [((wrap(1), wrap(2)), (np.array(1), np.array(2))),
                       ((wrap(-1), wrap(0)), (np.array(-1), np.array(0))),
                       ((wrap(2), 3), (np.array(2), 3)),
                       ((wrap(1), slice(None)), (np.array(1), slice(None))),
                       (wrap(2), np.array(2))]:
        v = t[sidx]
        assert_values(v, np.asarray(a[nidx]))
    t1 = make_case((5,), layout, "int64").t
    a1 = make_case((5,), layout, "int64").a
    for k in range(-5, 5):
        v = t1[wrap(k)]
        assert v.shape == () and v.item() == a1[k]
    # assignment through a 0-d index
    c = make_case((5,), layout, "int64")
    if layout != "expanded":
        c.t[wrap(3)] = 99
        c.a[3] = 99
        assert_same(c.t, c.a, c.buf)


# --------------------------------------------------------------------------------------
# Assignment
# --------------------------------------------------------------------------------------

def scalar_for(dtype, k=0):
    return {"bool": bool(k % 2 == 0), "uint8": (200 + k) % 256, "int32": -7 - k, "int64": 2 ** 40 + k,
            "float32": 2.5 + k, "float64": -1.25 - k}[dtype]


def value_forms(target_shape, dtype, k):
    """Values to assign into a target of target_shape, as (strided value, numpy value)."""
    out = [(scalar_for(dtype, k), scalar_for(dtype, k))]
    full = values(math.prod(target_shape), dtype, 100 + k).reshape(target_shape)
    out.append((full, full))                                   # numpy array
    out.append((strided.tensor(full), full))                   # tensor, same shape
    if target_shape:
        last = values(target_shape[-1], dtype, 200 + k)
        out.append((strided.tensor(last), last))               # broadcast tensor
        if len(target_shape) >= 2:
            out.append((strided.tensor(last.reshape(1, -1)), last.reshape(1, -1)))
        col = values(1, dtype, 300 + k)
        out.append((strided.tensor(col), col))
        out.append((strided.tensor(col)[0], col[0]))           # 0-d tensor
        out.append((last.tolist(), last.tolist()))             # python list
        out.append((strided.tensor(full).flip(tuple(range(len(target_shape)))), full[::-1, ...]
                    if len(target_shape) == 1 else np.flip(full)))  # negative strides
    return out


def check_setitem(case, sidx, nidx, svalue, nvalue, *, advanced):
    t = case.t
    target = t[sidx]
    storage_before = np.array(case.buf, copy=True)
    # expanded / overlapping tensors can't be written (advanced: PyTorch checks the whole tensor)
    # (PyTorch's index_put_ checks the whole tensor, even for an empty index)
    overlapping = has_internal_overlap(t) if advanced else has_internal_overlap(target)
    if overlapping:
        with pytest.raises(RuntimeError, match="more than one element"):
            t[sidx] = svalue
        np.testing.assert_array_equal(np.asarray(t.untyped_storage()._numpy()), storage_before)
        return
    writable_twin(case.a, case.buf)[nidx] = nvalue
    version = t._version
    t[sidx] = svalue
    assert t._version > version
    assert_same(t, case.a, case.buf)


@cases()
def test_setitem_basic(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t = case.t
    rng = random.Random(7 + len(shape) + len(layout))
    k = 0
    for _ in range(12):
        index = random_basic_index(rng, shape)
        target_shape = t[index].shape
        for svalue, nvalue in value_forms(target_shape, dtype, k):
            k += 1
            check_setitem(case, index, np_basic_index(index), svalue, nvalue, advanced=False)


def np_basic_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return items if Ellipsis in items else items + (Ellipsis,)


@cases(ND_CASES)
def test_setitem_advanced(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t = case.t
    rng = random.Random(11 + len(shape))
    k = 0
    for sidx, nidx in advanced_indices(shape, rng):
        target_shape = case.a[nidx].shape
        # (repeated indices: NumPy's last write wins, PyTorch's is unspecified: only
        # assign the same value everywhere then)
        sidx_np = nidx if isinstance(nidx, tuple) else (nidx,)
        repeated = any(isinstance(x, (list, np.ndarray)) and np.asarray(x).dtype != bool
                       and len(np.unique(np.asarray(x) % max(shape[0], 1))) < np.asarray(x).size
                       for x in sidx_np)
        forms = value_forms(target_shape, dtype, k)
        if repeated:
            forms = forms[:1]
        for svalue, nvalue in forms:
            k += 1
            check_setitem(case, sidx, nidx, svalue, nvalue, advanced=True)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8", "bool"])
def test_setitem_cross_dtype_values(layout, dtype):
    case = make_case((3, 4), layout, dtype)
    t = case.t
    v64 = np.array([[1.0, 0.0, 3.0, 4.0]])          # exact values: casting is unambiguous
    check_setitem(case, (slice(None), slice(None)), (slice(None), slice(None)),
                  strided.tensor(v64), v64.astype(case.a.dtype), advanced=False)
    check_setitem(case, 1, (1, Ellipsis), strided.tensor(np.array([1, 0, 1, 1], dtype=np.int32)),
                  np.array([1, 0, 1, 1]).astype(case.a.dtype), advanced=False)
    check_setitem(case, ([0, 2],), ([0, 2],), 1, 1, advanced=True)
    check_setitem(case, (Ellipsis, 0), (Ellipsis, 0), True, True, advanced=False)


@pytest.mark.parametrize("layout", ["contiguous", "negative", "stepped"])
def test_setitem_value_with_leading_size1_dims(layout):
    """NumPy and PyTorch drop leading size-1 dims of the value: x[:] = ones(1, n) works
    for a 1-d x (torch.zeros(2)[:] = torch.ones(1, 2) is fine)."""
    case = make_case((3, 4), layout, "float64")
    t = case.t
    row = values(4, "float64", 3)
    for sidx, nidx, sval, nval in [
        (0, (0, Ellipsis), strided.tensor(row.reshape(1, 4)), row.reshape(1, 4)),
        (0, (0, Ellipsis), strided.tensor(row.reshape(1, 1, 4)), row.reshape(1, 1, 4)),
        ((slice(None), 1), (slice(None), 1), row[:3].reshape(1, 3), row[:3].reshape(1, 3)),
        ((0, 0), (0, 0, Ellipsis), strided.tensor(row[:1].reshape(1, 1)), row[:1].reshape(1, 1)),
        ([0, 2], [0, 2], strided.tensor(row.reshape(1, 1, 4)), row.reshape(1, 1, 4)),
    ]:
        check_setitem(case, sidx, nidx, sval, nval, advanced=isinstance(sidx, list))


# --------------------------------------------------------------------------------------
# Overlapping self-assignment
# --------------------------------------------------------------------------------------

SELF_ASSIGNMENTS_1D = [
    (slice(1, None), lambda x: x[:-1]),
    (slice(None, -1), lambda x: x[1:]),
    (slice(None), lambda x: x[::-1]),
    (slice(None, None, -1), lambda x: x),
    (slice(None, None, 2), lambda x: x[1::2][:len(range(0, x.shape[0], 2))] if x.shape[0] % 2 == 0 else x[::2][::-1]),
    (slice(2, None), lambda x: x[:-2]),
    (slice(None, -3), lambda x: x[3:]),
    (slice(1, None, 2), lambda x: x[:-1:2]),
]


@pytest.mark.parametrize("k", range(len(SELF_ASSIGNMENTS_1D)))
@pytest.mark.parametrize("n", [4, 9, 257])
@pytest.mark.parametrize("dtype", ["float64", "int32", "uint8"])
def test_overlapping_self_assignment_1d(k, n, dtype):
    index, src = SELF_ASSIGNMENTS_1D[k]
    t = strided.tensor(values(n, dtype, 1))
    a = values(n, dtype, 1)
    a[index] = src(a)
    t[index] = src(t)
    np.testing.assert_array_equal(t.numpy(), a)


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "stepped", "negative", "offset"])
def test_overlapping_self_assignment_2d(layout):
    def run(fn_t, fn_a):
        case = make_case((5, 5), layout, "int64")
        t, a = case.t, case.a
        fn_t(t)
        fn_a(a)
        assert_same(t, a, case.buf)

    def assign(index, src):
        def f(x):
            x[index] = src(x)
        return f

    for index, src in [
        ((slice(None), slice(None)), lambda x: x.T),
        ((slice(1, None), slice(1, None)), lambda x: x[:-1, :-1]),
        ((slice(None, -1), slice(None, -1)), lambda x: x[1:, 1:]),
        ((slice(None), slice(None, None, -1)), lambda x: x),
        ((slice(None), slice(None)), lambda x: x[::-1, ::-1]),
        ((0, Ellipsis), lambda x: x[:, 0]),
        ((Ellipsis, 0), lambda x: x[0]),
        ((slice(None), 1), lambda x: x[:, 2]),
        ((slice(1, 4), Ellipsis), lambda x: x[0:3]),
    ]:
        run(assign(index, src), assign(index, src))
    # overlapping value for an advanced index
    run(assign(([0, 1, 2],), lambda x: x[1:4]), assign(([0, 1, 2],), lambda x: x[1:4]))
    run(assign(([4, 3, 2, 1, 0], Ellipsis), lambda x: x), assign(([4, 3, 2, 1, 0], Ellipsis), lambda x: x))


@pytest.mark.parametrize("how", ["reversed", "shift_right", "shift_left", "transpose"])
def test_overlap_through_numpy_aliases(how):
    """A source that aliases the destination through a different Storage object (a
    tensor made by from_numpy over the destination's memory) must still give NumPy's
    result, as if the source had been copied first."""
    n = 1000
    t = strided.tensor(np.arange(n, dtype=np.float64))
    a = np.arange(n, dtype=np.float64)
    alias = t.numpy()
    if how == "reversed":
        t[:] = strided.from_numpy(alias[::-1])
        a[:] = a[::-1]
    elif how == "shift_right":
        t[1:] = strided.from_numpy(alias[:-1])
        a[1:] = a[:-1]
    elif how == "shift_left":
        t[:-1] = strided.from_numpy(alias[1:])
        a[:-1] = a[1:]
    else:
        t = strided.tensor(np.arange(400.0)).view(20, 20)
        a = np.arange(400.0).reshape(20, 20)
        t[...] = strided.from_numpy(t.numpy().T)
        a[...] = a.T
    np.testing.assert_array_equal(t.numpy(), a)


# --------------------------------------------------------------------------------------
# Writes into expanded (zero-stride) tensors
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_write_into_expanded_raises(dtype):
    base = strided.tensor(values(3, dtype, 0))
    e = base.expand(4, 3)                          # strides (0, 1)
    before = base.numpy().copy()
    bad = [
        lambda: e.__setitem__(Ellipsis, scalar_for(dtype)),
        lambda: e.__setitem__(slice(None), strided.tensor(values(3, dtype, 1))),
        lambda: e.__setitem__((slice(None), 0), scalar_for(dtype)),
        lambda: e.__setitem__((slice(1, 3), slice(None, None, -1)), scalar_for(dtype)),
        lambda: e.__setitem__([0, 1], scalar_for(dtype)),
        lambda: e.__setitem__(strided.tensor(np.ones((4, 3), bool)), scalar_for(dtype)),
        lambda: e.__setitem__((slice(None), [0]), scalar_for(dtype)),
        lambda: e.fill_(scalar_for(dtype)),
        lambda: e.zero_(),
        lambda: e.copy_(strided.tensor(values(12, dtype, 2).reshape(4, 3))),
        lambda: e.T.__setitem__(Ellipsis, scalar_for(dtype)),
        lambda: base.unsqueeze(1).expand(3, 5)[1:].__setitem__(Ellipsis, scalar_for(dtype)),
        lambda: strided.tensor(values(1, dtype, 0)).expand(6).__setitem__(Ellipsis, scalar_for(dtype)),
    ]
    for f in bad:
        with pytest.raises(RuntimeError, match="more than one element"):
            f()
        np.testing.assert_array_equal(base.numpy(), before)
    # a view of an expanded tensor whose elements are distinct is writable (as in PyTorch)
    e[2] = strided.tensor(values(3, dtype, 9))
    np.testing.assert_array_equal(base.numpy(), values(3, dtype, 9))
    e[0, 1] = scalar_for(dtype, 1)
    assert base[1].item() == scalar_for(dtype, 1)


def test_write_into_overlapping_as_strided():
    base = strided.tensor(np.arange(12.0))
    windows = base.as_strided((4, 3), (1, 1))       # overlapping sliding windows
    with pytest.raises(RuntimeError, match="more than one element"):
        windows[...] = 0.0
    with pytest.raises(RuntimeError, match="more than one element"):
        windows[[0, 1]] = 0.0
    assert base.numpy().tolist() == list(np.arange(12.0))
    # interleaving strides that never collide: writable
    inter = base.as_strided((3, 2), (2, 3))          # elements 0 3 2 5 4 7
    inter[...] = strided.tensor(-np.arange(6.0).reshape(3, 2) - 1)
    expected = np.arange(12.0)
    expected[[0, 3, 2, 5, 4, 7]] = -np.arange(6.0) - 1
    np.testing.assert_array_equal(base.numpy(), expected)


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------

@cases(ND_CASES)
def test_index_out_of_range(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t = case.t
    n0 = shape[0]
    bad = [n0, -n0 - 1, n0 + 100, (n0,), (n0, Ellipsis), (None, n0), [n0], [0, n0] if n0 else [0],
           [-n0 - 1], strided.tensor(np.array([n0])), np.array([n0])]
    if len(shape) >= 2:
        bad += [(0, shape[1]) if n0 else (0, 0), (slice(None), shape[1]),
                (Ellipsis, -shape[-1] - 1), (slice(None), [shape[1]])]
    # (writing into an overlapping tensor may be refused before the index is checked)
    set_errors = (IndexError, RuntimeError) if has_internal_overlap(t) else IndexError
    for index in bad:
        with pytest.raises(IndexError):
            t[index]
        with pytest.raises(set_errors):
            t[index] = 0
    with pytest.raises(IndexError):
        t.select(0, n0)


@cases()
def test_too_many_indices(shape, layout, dtype):
    t = make_case(shape, layout, dtype).t
    nd = t.ndim
    for index in [(0,) * (nd + 1), (slice(None),) * (nd + 1), (Ellipsis,) + (0,) * (nd + 1),
                  (slice(None),) * nd + ([0],), (None,) + (slice(None),) * (nd + 1)]:
        with pytest.raises(IndexError):
            t[index]
        with pytest.raises((IndexError, RuntimeError) if has_internal_overlap(t) else IndexError):
            t[index] = 1


@pytest.mark.parametrize("index", [1.0, 0.5, np.float64(1.0), (0, 1.0), (1.5, Ellipsis),
                                   (slice(None), 2.0), [1.0, 2.0], np.array([0.0]),
                                   "strided_float_tensor"])
def test_float_index(index):
    t = strided.tensor(np.arange(12.0)).view(3, 4)
    if isinstance(index, str):
        index = strided.tensor([0.0, 1.0])
    with pytest.raises((IndexError, TypeError)):
        t[index]
    with pytest.raises((IndexError, TypeError)):
        t[index] = 1.0


@pytest.mark.parametrize("index", [slice(None, None, 0), (slice(None), slice(1, 2, 0)),
                                   (Ellipsis, slice(None, None, 0)), (0, slice(None, None, 0))])
def test_step_zero(index):
    t = strided.tensor(np.arange(12.0)).view(3, 4)
    with pytest.raises(ValueError):
        t[index]
    with pytest.raises(ValueError):
        t[index] = 1.0


@pytest.mark.parametrize("index", [(Ellipsis, Ellipsis), (Ellipsis, 0, Ellipsis),
                                   (None, Ellipsis, None, Ellipsis), (Ellipsis, [0], Ellipsis)])
def test_two_ellipsis(index):
    t = strided.tensor(np.arange(12.0)).view(3, 4)
    with pytest.raises(IndexError):
        t[index]
    with pytest.raises(IndexError):
        t[index] = 1.0


def test_bad_mask_shape_and_index_types():
    t = strided.tensor(np.arange(12.0)).view(3, 4)
    with pytest.raises(IndexError):
        t[strided.tensor(np.ones(4, bool))]
    with pytest.raises(IndexError):
        t[np.ones((3, 3), bool)]
    with pytest.raises((IndexError, TypeError)):
        t["a"]
    with pytest.raises((IndexError, TypeError)):
        t[{0: 1}]
    with pytest.raises((IndexError, TypeError, ValueError, RuntimeError)):
        t[[0, 1]] = np.ones(5)
    with pytest.raises((IndexError, TypeError, ValueError, RuntimeError)):
        t[0] = strided.zeros(3)


# --------------------------------------------------------------------------------------
# index_select / index_add_ (strided/_C/ops/index.pyx) against np.take / np.add.at
# --------------------------------------------------------------------------------------

def _index_values(size, seed):
    """Indices into a dim of `size` with duplicates and out-of-order values (none if 0)."""
    if size == 0:
        return np.zeros(0, np.int64)
    rng = np.random.default_rng(seed)
    return rng.integers(0, size, size=size + 2).astype(np.int64)


def _index_tensors(idx):
    """The same index as int64, int32 and a stepped (non-contiguous) int64 tensor."""
    wide = np.repeat(idx, 2)
    return [strided.tensor(idx), strided.tensor(idx.astype(np.int32)),
            strided.tensor(wide)[::2]]


@cases()
def test_index_select_matches_numpy(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case
    for dim in range(max(t.ndim, 1)):
        size = a.shape[dim] if a.ndim else 1
        idxs = (_index_values(size, dim), np.zeros(0, np.int64)) if a.ndim else (np.array([0]),)
        for idx in idxs:
            expected = np.take(a, idx, axis=dim) if a.ndim else a
            for ix in _index_tensors(idx):
                out = t.index_select(dim - (t.ndim or 1), ix)       # negative dim too
                assert out.is_contiguous()
                assert_values(out, expected)
                assert_values(strided.index_select(t, dim, ix), expected)
    assert_same(case.t, case.a, case.buf)                           # the source is untouched


@cases([p for p in CASES if p[1] != "expanded"])
def test_index_add_matches_numpy(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case
    rng = np.random.default_rng(7)
    for dim in range(max(t.ndim, 1)):
        size = a.shape[dim] if a.ndim else 1
        idx = _index_values(size, dim + 10) if a.ndim else np.array([0, 0])
        src_shape = list(a.shape)
        if a.ndim:
            src_shape[dim] = idx.size
        src_np = values(int(np.prod(src_shape)), dtype, seed=dim).reshape(src_shape)
        if a.ndim == 0:
            src_np = values(2, dtype, seed=dim)
        alpha = True if dtype == "bool" else 3 if dtype != "float32" else 0.5
        ref = writable_twin(a, case.buf)
        r = ref if a.ndim else ref[None]                 # a view over the same storage
        for k, j in enumerate(idx):                      # the kernel's order, one slice a time
            dst, src = (slice(None),) * dim + (j,), (slice(None),) * dim + (k,)
            if dtype == "bool":
                r[dst] |= src_np[src]
            elif dtype.startswith("float"):
                r[dst] = r[dst] + r.dtype.type(alpha) * src_np[src]
            else:
                r[dst] = (r[dst].astype(np.int64) + alpha * src_np[src].astype(np.int64)
                          ).astype(r.dtype)
        version = t._version
        assert t.index_add_(dim, strided.tensor(idx), strided.tensor(src_np), alpha=alpha) is t
        assert t._version == version + (1 if src_np.size else 0)
        assert_same(case.t, case.a, case.buf)            # the whole storage: nothing else written


def test_index_add_duplicates_accumulate_in_order():
    t = strided.zeros(4, dtype=strided.float32)
    src = strided.tensor(np.array([1e8, 1.0, -1e8, 1.0], np.float32))
    t.index_add_(0, strided.tensor([2, 2, 2, 2]), src)
    expected = np.float32(0)
    for v in src.numpy():
        expected = np.float32(expected + v)
    assert t.numpy()[2] == expected                  # sequential, in index order
    out = strided.zeros(3).index_add(0, strided.tensor([1, 1]), strided.ones(2), alpha=2)
    assert out.tolist() == [0.0, 4.0, 0.0]


def test_index_select_and_add_errors():
    t = strided.tensor(np.arange(12.0).reshape(3, 4))
    with pytest.raises(IndexError, match="index out of range in self"):
        t.index_select(0, strided.tensor([0, 3]))
    with pytest.raises(IndexError, match="index out of range in self"):
        t.index_select(1, strided.tensor([-1]))
    with pytest.raises(IndexError, match="Index is supposed to be a vector"):
        t.index_select(0, strided.tensor([[0]]))
    with pytest.raises(RuntimeError, match="Expected dtype int32 or int64 for index"):
        t.index_select(0, strided.tensor([0.0]))
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.index_select(2, strided.tensor([0]))
    with pytest.raises(IndexError, match="Index to scalar can have only 1 value"):
        strided.tensor(5.0).index_select(0, strided.tensor([0, 0]))
    z = strided.zeros(3, 4)
    before = z.numpy().copy()
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        z.index_add_(0, strided.tensor([0, 5]), strided.ones(2, 4))
    with pytest.raises(IndexError, match="index -1 is out of bounds"):
        z.index_add_(0, strided.tensor([-1]), strided.ones(1, 4))
    assert np.array_equal(z.numpy(), before)         # a bad index writes nothing
    with pytest.raises(RuntimeError, match="Number of indices"):
        z.index_add_(0, strided.tensor([0, 1]), strided.ones(3, 4))
    with pytest.raises(RuntimeError, match="source tensor shape must match"):
        z.index_add_(0, strided.tensor([0, 1]), strided.ones(2, 5))
    with pytest.raises(RuntimeError, match="must have the same scalar type"):
        z.index_add_(0, strided.tensor([0]), strided.ones(1, 4, dtype=strided.float64))
    with pytest.raises(RuntimeError, match="more than one element"):
        strided.zeros(4).expand(3, 4).index_add_(0, strided.tensor([0]), strided.ones(1, 4))


def test_index_add_source_overlapping_self():
    t = strided.tensor(np.arange(6.0))
    t.index_add_(0, strided.tensor([1, 2, 3]), t[0:3])       # reads the values before the write
    assert t.tolist() == [0.0, 1.0, 3.0, 5.0, 4.0, 5.0]


def test_index_select_and_add_gradients():
    from strided.autograd import gradcheck
    rng = np.random.default_rng(0)
    x = strided.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    idx = strided.tensor([3, 0, 3, 1])
    y = x.index_select(0, idx)
    assert y.grad_fn.name() == "IndexSelectBackward0"
    y.backward(strided.ones(4, 3))
    assert x.grad.numpy()[:, 0].tolist() == [1.0, 1.0, 0.0, 2.0]
    assert gradcheck(lambda a: a.index_select(1, strided.tensor([2, 2, 0])), (x,))
    s = strided.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    assert gradcheck(lambda a, b: (a * 1).index_add_(1, strided.tensor([1, 1]), b, alpha=2),
                     (x, s))
    assert gradcheck(lambda a, b: a.index_add(0, strided.tensor([0, 2, 0, 1]),
                                              b.t().t().reshape(4, 2).t().t().expand(4, 2)
                                              .index_select(1, strided.tensor([0, 1, 1]))),
                     (x, s))


def test_ints_apply_before_advanced_indices_as_in_torch():
    """PyTorch applies ints (and 0-d integer tensors) as selects before advanced indexing: in
    x[0, :, [0, 1]] the list's dim stays after the slice's (NumPy would move it to the front
    because the int and the list are separated by a slice).  Reads and writes, against torch,
    over random mixes of ints, 0-d tensors, lists, masks, slices, None and Ellipsis."""
    torch = pytest.importorskip("torch")
    rng = random.Random(5)
    base = np.arange(3 * 4 * 5 * 2).reshape(3, 4, 5, 2)

    def entry(size, lib):
        k = rng.randrange(6)
        if k == 0:
            return rng.randrange(-size, size)
        if k == 1:
            return lib.tensor(rng.randrange(size))
        if k == 2:
            return [rng.randrange(-size, size) for _ in range(2)]
        if k == 3:
            return slice(rng.choice([None, 1]), None, rng.choice([None, 2]))
        if k == 4:
            return lib.tensor([rng.random() < 0.5 for _ in range(size)])
        return None

    checked = 0
    for trial in range(400):
        state = rng.getstate()
        idx = {}
        for name, lib in (("s", strided), ("t", torch)):
            rng.setstate(state)
            items = []
            dim = 0
            for _ in range(rng.randrange(2, 5)):
                if dim >= 4:
                    break
                e = entry(base.shape[dim], lib)
                items.append(e)
                dim += 0 if e is None else 1
            if rng.random() < 0.3:
                items.insert(rng.randrange(len(items) + 1), Ellipsis)
            idx[name] = tuple(items)
        try:
            want = torch.tensor(base)[idx["t"]]
        except (IndexError, RuntimeError):
            continue
        got = strided.tensor(base)[idx["s"]]
        assert tuple(got.shape) == tuple(want.shape), idx["t"]
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=str(idx["t"]))
        # the same positions written
        a, b = strided.tensor(base), torch.tensor(base)
        a[idx["s"]] = -1
        b[idx["t"]] = -1
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=str(idx["t"]))
        checked += 1
    assert checked > 150
    x = strided.tensor([[[0, 1], [2, 3]]])
    assert x[0, :, [0, 1]].tolist() == [[0, 1], [2, 3]]
