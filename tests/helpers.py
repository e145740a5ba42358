"""Shared helpers for the view / indexing / property tests.

A *case* is a strided tensor ``t`` together with a NumPy mirror of it:

* ``buf`` -- a 1-d NumPy array playing the role of ``t``'s storage: same size, same
  values (``t.untyped_storage()`` was built as a copy of it);
* ``a``   -- a NumPy view into ``buf`` with the same shape, element strides and offset
  as ``t``.

Every view op is then applied in lockstep to ``t`` and ``a``; ``assert_same`` checks that
they still agree in values, shape, element strides and storage offset, and that the
storage contents agree with ``buf`` (so writes through views can be checked too).
"""
import itertools
import math
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided as np_as_strided

import strided

DTYPE_NAMES = ("float32", "float64", "int32", "int64", "uint8", "bool")
STRIDED_DTYPES = {
    "float32": strided.float32, "float64": strided.float64, "int32": strided.int32,
    "int64": strided.int64, "uint8": strided.uint8, "bool": strided.bool,
}
NP_DTYPES = {name: np.dtype(name) for name in DTYPE_NAMES}

# Shapes covering 0-d, empty, size-1 dims and up to 5 dims.
SHAPES = (
    (),
    (1,),
    (5,),
    (0,),
    (3, 4),
    (4, 1),
    (1, 1),
    (1, 5),
    (2, 3, 4),
    (3, 0, 2),
    (2, 1, 3, 1),
    (2, 3, 1, 4, 2),
)

LAYOUTS = (
    "contiguous",    # a plain view of a contiguous storage
    "transposed",    # all dims reversed (.T) of a contiguous tensor
    "permuted",      # dims rotated
    "stepped",       # every dim sliced [1::2] out of a larger tensor (offset + steps)
    "negative",      # every dim reversed ([::-1]): negative strides
    "neg_stepped",   # dims alternately [::-2] and [1::3] out of a larger tensor
    "expanded",      # leading dim and every other dim broadcast with stride 0
    "offset",        # contiguous, but starting 7 elements into a larger storage
)

WRITABLE_LAYOUTS = tuple(lay for lay in LAYOUTS if lay != "expanded")


@dataclass
class Case:
    t: "strided.Tensor"       # the tensor under test
    a: np.ndarray             # NumPy view into buf with t's layout
    buf: np.ndarray           # NumPy mirror of t's storage
    root: "strided.Tensor"    # the 1-d tensor over the whole storage (t's _base)
    shape: tuple
    layout: str
    dtype: str

    def __iter__(self):       # t, a = case
        return iter((self.t, self.a))


def values(n, dtype, seed=0):
    """n distinct-ish deterministic values of dtype (distinct where the dtype allows)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    dt = NP_DTYPES[dtype] if isinstance(dtype, str) else np.dtype(dtype)
    if dt == np.bool_:
        return rng.random(n) < 0.5
    if dt == np.uint8:
        return (perm % 256).astype(np.uint8)
    if dt.kind == "f":
        return (perm * 0.5 - n / 4.0).astype(dt)
    return (perm - n // 2).astype(dt)


def np_offset(a, buf):
    """Element offset of a's first element inside buf."""
    nbytes = a.__array_interface__["data"][0] - buf.__array_interface__["data"][0]
    assert nbytes % buf.itemsize == 0
    return nbytes // buf.itemsize


def np_elem_strides(a):
    assert all(s % a.itemsize == 0 for s in a.strides), a.strides
    return tuple(s // a.itemsize for s in a.strides)


def np_layout(shape, layout, dtype="float64", seed=0):
    """(buf, a, ops): the NumPy storage mirror, the NumPy view with the layout, and the
    list of strided view ops that build the same layout from the 1-d root tensor."""
    shape = tuple(shape)
    nd = len(shape)
    n = math.prod(shape)
    if layout == "contiguous":
        buf = values(n, dtype, seed)
        return buf, buf.reshape(shape), [lambda r: r.view(shape)]
    if layout in ("transposed", "permuted"):
        if layout == "transposed":
            perm = tuple(range(nd - 1, -1, -1))
        else:
            perm = tuple((i + 1) % nd for i in range(nd))
        big = [0] * nd                    # big[perm[i]] == shape[i]
        for i, p in enumerate(perm):
            big[p] = shape[i]
        buf = values(n, dtype, seed)
        return (buf, buf.reshape(big).transpose(perm),
                [lambda r: r.view(big), lambda r: r.permute(perm)])
    if layout == "stepped":
        big = tuple(2 * s + 1 for s in shape)
        idx = tuple(slice(1, None, 2) for _ in shape)
        buf = values(math.prod(big), dtype, seed)
        return buf, buf.reshape(big)[idx + (...,)], [lambda r: r.view(big), lambda r: r[idx]]
    if layout == "negative":
        idx = tuple(slice(None, None, -1) for _ in shape)
        buf = values(n, dtype, seed)
        return buf, buf.reshape(shape)[idx + (...,)], [lambda r: r.view(shape), lambda r: r[idx]]
    if layout == "neg_stepped":
        big = tuple(2 * s if i % 2 == 0 else 3 * s + 1 for i, s in enumerate(shape))
        idx = tuple(slice(None, None, -2) if i % 2 == 0 else slice(1, None, 3)
                    for i in range(nd))
        buf = values(math.prod(big), dtype, seed)
        return buf, buf.reshape(big)[idx + (...,)], [lambda r: r.view(big), lambda r: r[idx]]
    if layout == "expanded":
        if nd == 0:
            buf = values(1, dtype, seed)
            return buf, buf.reshape(()), [lambda r: r.view(())]
        small = tuple(1 if (i % 2 == 0 and s > 0) else s for i, s in enumerate(shape[1:]))
        buf = values(math.prod(small), dtype, seed)
        base_a = buf.reshape(small)
        bc = np.broadcast_to(base_a, shape)
        # a writable twin of bc (same layout), so that writes into non-overlapping views
        # of an expanded tensor can be mirrored
        return (buf, np_as_strided(base_a, shape, bc.strides),
                [lambda r: r.view(small), lambda r: r.expand(shape)])
    if layout == "offset":
        buf = values(n + 11, dtype, seed)
        return (buf, buf[7:7 + n].reshape(shape),
                [lambda r: r[7:7 + n], lambda r: r.view(shape)])
    raise ValueError(layout)


def make_case(shape, layout, dtype="float64", seed=0):
    """A strided tensor of `shape` in `layout` plus its NumPy mirror (see module doc).

    The tensor is built with one as_strided call on the root from NumPy's layout, so a
    bug in some view op doesn't take down every test using that layout;
    test_views.test_layout_built_by_view_ops checks that the view ops give the same.
    An empty tensor's offset is arbitrary (NumPy may point past the buffer): clamped.
    """
    shape = tuple(shape)
    buf, a, _ = np_layout(shape, layout, dtype, seed)
    root = strided.tensor(buf)
    assert root.dtype is STRIDED_DTYPES[dtype] and root.shape == buf.shape
    off = np_offset(a, buf)
    if a.size == 0:
        off = min(max(off, 0), buf.size)
    t = root.as_strided(a.shape, np_elem_strides(a), off)
    assert t.shape == a.shape == shape, (layout, t.shape, a.shape, shape)
    return Case(t, a, buf, root, shape, layout, dtype)


def case_params(shapes=SHAPES, layouts=LAYOUTS, dtypes=DTYPE_NAMES):
    """pytest params (shape, layout, dtype): every shape x layout, dtypes rotated through."""
    out = []
    for k, (shape, layout) in enumerate(itertools.product(shapes, layouts)):
        dtype = dtypes[k % len(dtypes)]
        out.append((shape, layout, dtype))
    return out


def case_id(p):
    shape, layout, dtype = p
    return f"{'x'.join(map(str, shape)) or 'scalar'}-{layout}-{dtype}"


# --------------------------------------------------------------------------------------
# Assertions
# --------------------------------------------------------------------------------------

def extent(t):
    """(lo, hi): lowest and highest storage element t addresses (None if empty)."""
    if t.numel() == 0:
        return None
    lo = hi = t.storage_offset()
    for size, stride in zip(t.shape, t.stride()):
        ext = (size - 1) * stride
        if ext < 0:
            lo += ext
        else:
            hi += ext
    return lo, hi


def element_offsets(t):
    """Every storage element offset t addresses, as an int64 array of t's shape."""
    off = np.full(t.shape, t.storage_offset(), dtype=np.int64)
    for d, (size, stride) in enumerate(zip(t.shape, t.stride())):
        shp = [1] * t.ndim
        shp[d] = size
        off = off + (np.arange(size, dtype=np.int64) * stride).reshape(shp)
    return off


def assert_in_bounds(t):
    """Every element t addresses lies in [0, storage size).  Empty ones address nothing and
    keep the offset their view arithmetic gave (as in PyTorch), which may pass the storage's
    end; it is non-negative and data_ptr() stays computable."""
    size = t.untyped_storage().size()
    assert t.storage_offset() >= 0
    ext = extent(t)
    if ext is None:
        assert t.storage_offset() * t.element_size() < 2 ** 63
        return
    lo, hi = ext
    assert 0 <= lo <= hi < size, (t.shape, t.stride(), t.storage_offset(), size)
    if t.numel() <= 4096:
        offs = element_offsets(t)
        assert offs.min() == lo and offs.max() == hi


def has_internal_overlap(t):
    """True when two elements of t share a memory location."""
    if t.numel() <= 1:
        return False
    offs = element_offsets(t).ravel()
    return len(np.unique(offs)) < offs.size


def assert_equal_arrays(x, y):
    """np.testing.assert_array_equal(x, y, strict=True), with a fast path."""
    if not (x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y)):
        np.testing.assert_array_equal(x, y, strict=True)


def assert_values(t, expected):
    """Values and shape only (for copies and results without a layout to compare)."""
    expected = np.asarray(expected)
    assert isinstance(t, strided.Tensor), type(t)
    assert t.shape == expected.shape, (t.shape, expected.shape)
    assert t.dtype.numpy_dtype == expected.dtype, (t.dtype, expected.dtype)
    got = t.numpy()
    assert_equal_arrays(got, expected)
    assert_equal_arrays(t.clone().numpy(), expected)


def assert_same(t, a, buf=None, *, check_offset=True, exact_strides=None):
    """t equals the NumPy array a in values, shape, dtype and element strides.

    Strides are compared for every dim whose size is not 1 (NumPy and PyTorch choose
    different strides for size-1 dims, e.g. np.newaxis gives 0, unsqueeze gives
    size*stride), and only for non-empty tensors (NumPy gives empty arrays arbitrary
    strides, e.g. np.zeros(0).reshape(0) has stride 0); pass exact_strides to check all
    of them against a known answer.
    t.numpy() must share t's memory and carry t's strides (exports normalise size-1 dims).
    With buf (a's storage mirror): t's storage offset equals a's offset in buf (for
    non-empty tensors; an empty tensor's offset is arbitrary) and t's storage holds
    exactly buf.
    """
    a = np.asarray(a)
    assert isinstance(t, strided.Tensor), type(t)
    assert t.shape == a.shape, (t.shape, a.shape)
    assert t.ndim == a.ndim and t.dim() == a.ndim
    assert t.numel() == a.size
    assert t.dtype.numpy_dtype == a.dtype, (t.dtype, a.dtype)
    itemsize = a.itemsize
    assert t.element_size() == itemsize
    # strides
    a_strides = np_elem_strides(a)
    st = t.stride()
    assert len(st) == t.ndim
    for d in range(t.ndim):
        assert t.stride(d) == st[d]
        if t.shape[d] != 1 and t.numel():
            assert st[d] == a_strides[d], (d, t.shape, st, a_strides)
    if exact_strides is not None:
        assert st == tuple(exact_strides), (st, exact_strides)
    # metadata consistency
    storage = t.untyped_storage()
    assert t.data_ptr() == storage.data_ptr() + t.storage_offset() * itemsize
    assert_in_bounds(t)
    contiguous = all(st[d] == math.prod(t.shape[d + 1:]) for d in range(t.ndim) if t.shape[d] != 1)
    assert t.is_contiguous() == (contiguous or t.numel() == 0), (t.shape, st)
    # values, through the numpy export and through the copy kernel
    got = t.numpy()
    assert got.__array_interface__["data"][0] == t.data_ptr()
    for d in range(t.ndim):
        if t.shape[d] != 1:
            assert got.strides[d] == st[d] * itemsize
    if t.numel():
        assert np.shares_memory(got, np.asarray(storage._numpy()))
    assert_equal_arrays(got, a)
    assert_equal_arrays(t.clone().numpy(), a)
    if buf is not None:
        assert storage.size() == buf.size, (storage.size(), buf.size)
        assert_equal_arrays(np.asarray(storage._numpy()), buf)
        if check_offset and t.numel():
            assert t.storage_offset() == np_offset(a, buf), (t.storage_offset(), np_offset(a, buf))


def assert_view_of(v, base):
    """v is a view of base: same Storage object and memory, _base is the root tensor."""
    assert isinstance(v, strided.Tensor)
    assert v.untyped_storage() is base.untyped_storage(), "not a view: a different Storage"
    assert v.untyped_storage().data_ptr() == base.untyped_storage().data_ptr(), \
        "not a view: different memory"
    root = base._base if base._base is not None else base
    assert v._base is root, (v._base, root)
    assert v._is_view()


def assert_fresh(c, base=None):
    """c is a new tensor in new storage (a copy), not a view."""
    assert c._base is None
    assert not c._is_view()
    if base is not None:
        assert c.untyped_storage() is not base.untyped_storage()
        if c.numel() and base.numel():
            assert c.untyped_storage().data_ptr() != base.untyped_storage().data_ptr()


def check_write_through(case, v, av, seed=1234):
    """Write new values through the view v (mirrored into the NumPy view av) and check
    that the base tensor and its whole storage see exactly NumPy's result."""
    if v.numel() == 0:
        return
    if has_internal_overlap(v):
        import pytest
        with pytest.raises(RuntimeError, match="more than one element"):
            v[...] = values(v.numel(), case.dtype, seed).reshape(v.shape)
        return
    new = values(v.numel(), case.dtype, seed).reshape(v.shape)
    v[...] = new
    writable_twin(av, case.buf)[...] = new
    assert_same(v, av, case.buf)
    assert_same(case.t, case.a, case.buf)


def writable_twin(av, buf):
    """A writable NumPy array with av's layout over buf (np.diagonal, broadcast_to, ...
    return read-only views)."""
    if av.flags.writeable:
        return av
    return np.ndarray(av.shape, av.dtype, buffer=buf, offset=np_offset(av, buf) * av.itemsize,
                      strides=av.strides)


def compute_stride(oldshape, oldstride, newshape):
    """Python port of ATen's computeStride: the strides of a view of (oldshape, oldstride)
    with newshape, or None when no view exists (then PyTorch's view() raises)."""
    oldshape, oldstride, newshape = list(oldshape), list(oldstride), list(newshape)
    if not oldshape:
        return tuple([1] * len(newshape))
    numel = math.prod(oldshape)
    if numel == 0 and oldshape == newshape:
        return tuple(oldstride)
    newstride = [0] * len(newshape)
    if numel == 0:
        for d in range(len(newshape) - 1, -1, -1):
            newstride[d] = (1 if d == len(newshape) - 1
                            else max(newshape[d + 1], 1) * newstride[d + 1])
        return tuple(newstride)
    view_d = len(newshape) - 1
    chunk_base_stride = oldstride[-1]
    tensor_numel = 1
    view_numel = 1
    for tensor_d in range(len(oldshape) - 1, -1, -1):
        tensor_numel *= oldshape[tensor_d]
        if tensor_d == 0 or (oldshape[tensor_d - 1] != 1 and
                             oldstride[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or newshape[view_d] == 1):
                newstride[view_d] = view_numel * chunk_base_stride
                view_numel *= newshape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = oldstride[tensor_d - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(newstride)


def contiguous_strides(shape):
    out, s = [], 1
    for size in reversed(shape):
        out.append(s)
        s *= max(size, 1)
    return tuple(reversed(out))


def pytorch_is_contiguous(shape, strides):
    """PyTorch's rule: row-major strides, ignoring size-1 dims; empty tensors are contiguous."""
    if math.prod(shape) == 0:
        return True
    expected = 1
    for n, s in zip(reversed(shape), reversed(strides)):
        if n != 1:
            if s != expected:
                return False
            expected *= n
    return True


def factorizations(n, max_dims=4):
    """Shapes (up to max_dims dims, size-1 dims sprinkled in) whose product is n."""
    out = set()
    if n == 0:
        return {(0,), (0, 1), (1, 0), (2, 0), (0, 3), (0, 2, 1)}

    def rec(rem, cur):
        if len(cur) > max_dims:
            return
        if rem == 1:
            out.add(tuple(cur))
            if len(cur) < max_dims:
                for k in range(len(cur) + 1):
                    out.add(tuple(cur[:k] + [1] + cur[k:]))
            return
        for f in range(2, rem + 1):
            if rem % f == 0:
                rec(rem // f, cur + [f])

    rec(n, [])
    return out


def run_isolated(code, timeout=60):
    """Run a snippet in a fresh interpreter (for calls that may crash the process);
    returns (returncode, stdout, stderr). A negative returncode is a fatal signal."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, cwd=root, env=env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr
