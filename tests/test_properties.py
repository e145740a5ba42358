"""Hypothesis properties of view ops.

* Random chains of view ops applied in lockstep to a strided tensor and a NumPy array
  agree in values, strides and storage offset, every result is a view of the root, and
  writes through the final view land where NumPy's do.
* Bounds: every element offset any produced view can reach
  (storage_offset + sum(i_d * stride_d)) lies in [0, storage.size()).
* Hostile as_strided / view-op arguments (huge, negative, near 2**62 / 2**63) either raise
  a Python exception or give a view all of whose elements lie in the storage; never a crash.
"""
import math

import numpy as np
from hypothesis import HealthCheck, example, given, settings, strategies as st
from numpy.lib.stride_tricks import as_strided as np_as_strided
from numpy.lib.stride_tricks import sliding_window_view

import strided
from helpers import (DTYPE_NAMES, LAYOUTS, assert_fresh, assert_same,
                     assert_values, assert_view_of, check_write_through, compute_stride,
                     element_offsets, extent, factorizations, make_case, values)

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])
# ints beyond int64 raise as in PyTorch: ValueError for one int, TypeError for an element
# of an int list (never OverflowError)
ALLOWED = (RuntimeError, ValueError, IndexError, TypeError)
MAX_NUMEL = 2000
MAX_DIMS = 6


def along(d, idx):
    return (slice(None),) * d + (idx, Ellipsis)


def check_bounds(t):
    """The bounds property, checked by enumerating every element's storage offset."""
    size = t.untyped_storage().size()
    if t.numel() == 0:       # addresses nothing; the offset may pass the end, as in PyTorch
        assert 0 <= t.storage_offset() and t.storage_offset() * t.element_size() < 2 ** 63
        return
    offs = element_offsets(t)
    assert offs.min() >= 0 and offs.max() < size, (t.shape, t.stride(), t.storage_offset(), size)
    lo, hi = extent(t)
    assert offs.min() == lo and offs.max() == hi


# --------------------------------------------------------------------------------------
# One random view op, applied to (t, a) in lockstep
# --------------------------------------------------------------------------------------

def op_slice(draw, t, a):
    if t.ndim == 0:
        return None
    idx = []
    for size in t.shape:
        step = draw(st.sampled_from([-1, 2, 3, 1, -2, -3]))
        if draw(st.integers(0, 3)) == 0:       # mostly full-range slices: keep things non-empty
            bound = st.sampled_from([None, 0, 1, -1, size, -size, size + 2, -size - 2,
                                     size // 2, -(size // 2)])
            idx.append(slice(draw(bound), draw(bound), step))
        else:
            idx.append(slice(None, None, step))
    idx = tuple(idx[:draw(st.integers(1, t.ndim))])
    return t[idx], a[idx + (Ellipsis,)], f"[{idx}]"


def op_select(draw, t, a):
    dims = [d for d in range(t.ndim) if t.shape[d] > 0]
    if not dims:
        return None
    d = draw(st.sampled_from(dims))
    i = draw(st.integers(-t.shape[d], t.shape[d] - 1))
    if draw(st.booleans()):
        return t.select(d, i), a[along(d, i)], f".select({d}, {i})"
    return t[(slice(None),) * d + (i,)], a[along(d, i)], f"[{d}:{i}]"


def op_transpose(draw, t, a):
    if t.ndim == 0:
        return None
    d0 = draw(st.integers(-t.ndim, t.ndim - 1))
    d1 = draw(st.integers(-t.ndim, t.ndim - 1))
    return t.transpose(d0, d1), np.swapaxes(a, d0, d1), f".transpose({d0}, {d1})"


def op_permute(draw, t, a):
    p = tuple(draw(st.permutations(range(t.ndim))))
    return t.permute(p), np.transpose(a, p), f".permute({p})"


def op_movedim(draw, t, a):
    if t.ndim == 0:
        return None
    s = draw(st.integers(-t.ndim, t.ndim - 1))
    d = draw(st.integers(-t.ndim, t.ndim - 1))
    return t.movedim(s, d), np.moveaxis(a, s, d), f".movedim({s}, {d})"


def op_unsqueeze(draw, t, a):
    if t.ndim >= MAX_DIMS:
        return None
    d = draw(st.integers(-t.ndim - 1, t.ndim))
    return t.unsqueeze(d), np.expand_dims(a, d), f".unsqueeze({d})"


def op_none_index(draw, t, a):
    if t.ndim >= MAX_DIMS:
        return None
    k = draw(st.integers(0, t.ndim))
    idx = (slice(None),) * k + (None, Ellipsis)
    return t[idx], a[idx], f"[None at {k}]"


def op_squeeze(draw, t, a):
    ones = [d for d in range(t.ndim) if t.shape[d] == 1]
    if ones and draw(st.booleans()):
        d = draw(st.sampled_from(ones))
        return t.squeeze(d), np.squeeze(a, axis=d), f".squeeze({d})"
    return t.squeeze(), np.squeeze(a), ".squeeze()"


def op_expand(draw, t, a):
    lead = draw(st.integers(0, 2)) if t.ndim < MAX_DIMS - 1 else 0
    sizes = st.sampled_from([3, 2, 1, 0])
    target = [draw(sizes) for _ in range(lead)]
    for size in t.shape:
        target.append(draw(sizes) if size == 1 else size)
    if math.prod(target) > MAX_NUMEL:
        return None
    target = tuple(target)
    return t.expand(target), np.broadcast_to(a, target), f".expand({target})"


def op_flip(draw, t, a):
    flags = draw(st.lists(st.sampled_from([True, False]), min_size=t.ndim, max_size=t.ndim))
    dims = tuple(d for d in range(t.ndim) if flags[d])
    if not dims:
        return None
    if draw(st.booleans()):
        return t.flip(dims), np.flip(a, dims), f".flip({dims})"
    return t[tuple(slice(None, None, -1) if d in dims else slice(None) for d in range(t.ndim))], \
        np.flip(a, dims), f"[::-1 on {dims}]"


def op_unfold(draw, t, a):
    if t.ndim == 0 or t.ndim >= MAX_DIMS:
        return None
    d = draw(st.integers(0, t.ndim - 1))
    n = t.shape[d]
    size = draw(st.integers(0, n).map(lambda k: n - k)) if n else 0   # favour big windows
    step = draw(st.sampled_from([1, 2, 3]))
    av = sliding_window_view(a, size, axis=d)[along(d, slice(None, None, step))]
    if av.size > MAX_NUMEL:
        return None
    return t.unfold(d, size, step), av, f".unfold({d}, {size}, {step})"


def op_diagonal(draw, t, a):
    if t.ndim < 2:
        return None
    d1 = draw(st.integers(-t.ndim, t.ndim - 1))
    d2 = draw(st.integers(-t.ndim, t.ndim - 1))
    if d1 % t.ndim == d2 % t.ndim:
        return None
    off = draw(st.sampled_from([0, 1, -1, 2, -2, 5, -5]))
    return t.diagonal(off, d1, d2), np.diagonal(a, off, d1, d2), f".diagonal({off}, {d1}, {d2})"


def op_narrow(draw, t, a):
    if t.ndim == 0:
        return None
    d = draw(st.integers(0, t.ndim - 1))
    size = t.shape[d]
    if size and draw(st.integers(0, 4)):
        length = draw(st.integers(1, size).map(lambda k: size + 1 - k))    # favour long
        start = draw(st.integers(0, size - length))
    else:
        start = draw(st.integers(0, size))
        length = draw(st.integers(0, size - start))
    return t.narrow(d, start, length), a[along(d, slice(start, start + length))], \
        f".narrow({d}, {start}, {length})"


def op_as_strided_same(draw, t, a):
    return t.as_strided(t.shape, t.stride(), t.storage_offset()), a, ".as_strided(same)"


OPS = [op_slice, op_select, op_transpose, op_permute, op_movedim, op_unsqueeze, op_none_index,
       op_squeeze, op_expand, op_flip, op_unfold, op_diagonal, op_narrow, op_as_strided_same,
       "reshape"]


@st.composite
def start_case(draw):
    nd = draw(st.sampled_from([2, 3, 1, 4, 0]))
    shape = tuple(draw(st.lists(st.sampled_from([2, 3, 4, 1, 5, 0]), min_size=nd, max_size=nd)))
    layout = draw(st.sampled_from(LAYOUTS))
    dtype = draw(st.sampled_from(DTYPE_NAMES))
    return make_case(shape, layout, dtype, seed=draw(st.integers(0, 3)))


@settings(max_examples=250, **SETTINGS)
@given(case=start_case(), data=st.data())
def test_random_view_chains_match_numpy(case, data):
    draw = data.draw
    t, a = case.t, case.a
    trail = []
    for _ in range(draw(st.sampled_from([4, 6, 8, 2, 1]), label="length")):
        op = draw(st.sampled_from(OPS), label="op")
        if op == "reshape":
            targets = sorted(factorizations(t.numel(), 4))
            targets = [s for s in targets if len(s) <= MAX_DIMS and
                       not (t.numel() == 0 and s == t.shape)]
            target = draw(st.sampled_from(targets), label="shape")
            if draw(st.booleans()):
                k = draw(st.integers(0, len(target) - 1)) if target and 0 not in target else None
                if k is not None:
                    target_arg = target[:k] + (-1,) + target[k + 1:]
                else:
                    target_arg = target
            else:
                target_arg = target
            ref = compute_stride(t.shape, t.stride(), target)
            use_view = draw(st.booleans())
            trail.append(f".{'view' if use_view else 'reshape'}({target_arg})")
            expected = np.reshape(a, target)
            if ref is None:
                if use_view:
                    try:
                        t.view(target_arg)
                    except RuntimeError as e:
                        assert "Use .reshape(...) instead" in str(e)
                    else:
                        raise AssertionError(f"view should fail: {trail}")
                t2 = t.reshape(target_arg)
                assert_values(t2, expected)
                assert_fresh(t2, t)
                # continue from the copy: it is a new root
                buf = np.ascontiguousarray(expected).ravel()
                case.t = case.root = t = t2
                case.buf, case.a = buf, buf.reshape(target)
                a = case.a
                assert_same(t, a, case.buf)
                continue
            t2 = t.view(target_arg) if use_view else t.reshape(target_arg)
            assert t2.stride() == ref, trail
            assert_values(t2, expected)
            a2 = np_as_strided(a, target, [s * a.itemsize for s in ref]) if t.numel() else expected
            if not t.numel():
                t, a = t2, a2
                assert_view_of(t, case.t)
                continue
        else:
            res = op(draw, t, a)
            if res is None:
                continue
            t2, a2, what = res
            trail.append(what)
        assert_same(t2, a2, case.buf)
        assert_view_of(t2, case.t)
        check_bounds(t2)
        t, a = t2, a2
    check_write_through(case, t, a)


# --------------------------------------------------------------------------------------
# Bounds: every view op keeps every element inside the storage
# --------------------------------------------------------------------------------------

@settings(max_examples=150, **SETTINGS)
@given(case=start_case(), data=st.data())
def test_every_view_stays_in_bounds(case, data):
    t, a = case.t, case.a
    check_bounds(t)
    for _ in range(6):
        op = data.draw(st.sampled_from(OPS[:-1]))
        res = op(data.draw, t, a)
        if res is None:
            continue
        t, a, _ = res
        check_bounds(t)
        assert t.untyped_storage() is case.root.untyped_storage()


# --------------------------------------------------------------------------------------
# Hostile as_strided
# --------------------------------------------------------------------------------------

HUGE = [2 ** 62, 2 ** 62 - 1, 2 ** 62 + 1, 2 ** 63 - 1, 2 ** 63, 2 ** 64, -2 ** 62, -2 ** 63,
        -2 ** 63 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 61 + 3, (2 ** 63 - 1) // 3, 3 * 2 ** 61,
        -(2 ** 63 - 1) // 2]
hostile_int = st.one_of(st.integers(-3, 9), st.sampled_from(HUGE),
                        st.integers(-2 ** 63, 2 ** 63 - 1), st.integers(-2 ** 70, 2 ** 70))


def check_hostile_result(v, base):
    """v came back from a hostile call: it must be a valid in-bounds view of base."""
    assert isinstance(v, strided.Tensor)
    assert v.untyped_storage() is base.untyped_storage()
    storage_size = base.untyped_storage().size()
    numel = math.prod(v.shape)
    assert v.numel() == numel
    if numel == 0:           # addresses nothing; the offset may pass the end, as in PyTorch
        assert 0 <= v.storage_offset() and v.storage_offset() * v.element_size() < 2 ** 63
        return
    lo = v.storage_offset() + sum(min(0, (n - 1) * s) for n, s in zip(v.shape, v.stride()))
    hi = v.storage_offset() + sum(max(0, (n - 1) * s) for n, s in zip(v.shape, v.stride()))
    assert 0 <= lo <= hi < storage_size, (v.shape, v.stride(), v.storage_offset(), storage_size)
    if numel <= 4096:
        check_bounds(v)
        buf = np.asarray(base.untyped_storage()._numpy())
        itemsize = buf.itemsize
        # (a size-1 dim's stride may be huge, e.g. x[::2**62]; it addresses nothing)
        ref = np.ndarray(v.shape, buf.dtype, buffer=buf, offset=v.storage_offset() * itemsize,
                         strides=[s * itemsize if n > 1 else 0 for n, s in zip(v.shape, v.stride())])
        np.testing.assert_array_equal(v.numpy(), ref)
        np.testing.assert_array_equal(v.clone().numpy(), ref)


@settings(max_examples=200, **SETTINGS)
@example(sizes=[2 ** 40], strides=[0], offset=None, storage=5, view_start=0, same_len=False)
@example(sizes=[2 ** 31, 2 ** 31], strides=[0, 0], offset=3, storage=5, view_start=0, same_len=False)
@example(sizes=[2 ** 62, 2 ** 62], strides=[0, 0], offset=0, storage=5, view_start=0, same_len=False)
@example(sizes=[1], strides=[2 ** 63 - 1], offset=2 ** 63 - 1, storage=5, view_start=0, same_len=False)
@example(sizes=[2, 2], strides=[2 ** 62, -2 ** 62], offset=2 ** 62, storage=5, view_start=0, same_len=False)
@example(sizes=[3, 2 ** 62], strides=[-(2 ** 61), 0], offset=2 ** 62, storage=40, view_start=0, same_len=False)
@example(sizes=[2 ** 63 - 1], strides=[1], offset=-2 ** 63, storage=40, view_start=0, same_len=False)
@example(sizes=[5, 0], strides=[2 ** 63 - 1, 2 ** 63 - 1], offset=2 ** 63 - 1, storage=3, view_start=0, same_len=False)
@given(sizes=st.lists(hostile_int, max_size=4), strides=st.lists(hostile_int, max_size=4),
       offset=st.one_of(st.none(), hostile_int), storage=st.integers(0, 40),
       view_start=st.integers(0, 5), same_len=st.booleans())
def test_hostile_as_strided(sizes, strides, offset, storage, view_start, same_len):
    if same_len:
        strides = (strides + [1] * len(sizes))[:len(sizes)]
    root = strided.tensor(values(storage, "float64"))
    base = root[min(view_start, storage):]
    try:
        v = base.as_strided(sizes, strides, offset)
    except ALLOWED:
        return
    check_hostile_result(v, root)
    # the view stays safe under further view ops
    for f in (lambda x: x.flip(tuple(range(x.ndim))), lambda x: x.T, lambda x: x.unsqueeze(0),
              lambda x: x[::-1] if x.ndim else x, lambda x: x.diagonal() if x.ndim >= 2 else x,
              lambda x: x.reshape(-1) if x.numel() <= 4096 else x,
              lambda x: x.unfold(0, 1, 2 ** 62) if x.ndim else x,
              lambda x: x[..., ::2 ** 62] if x.ndim else x):
        try:
            w = f(v)
        except ALLOWED:
            continue
        if w._base is not None:
            check_hostile_result(w, root)


@settings(max_examples=200, **SETTINGS)
@given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=3), data=st.data())
def test_hostile_view_op_arguments(shape, data):
    """Huge / negative arguments to the other view ops raise or stay in bounds."""
    t = strided.tensor(values(math.prod(shape), "int64")).view(shape)
    t = t.flip(0) if data.draw(st.booleans()) else t
    x = lambda: data.draw(hostile_int)
    d = lambda: data.draw(st.integers(-t.ndim, t.ndim - 1))
    calls = [
        lambda: t.narrow(d(), x(), x()),
        lambda: t.select(d(), x()),
        lambda: t.unfold(d(), x(), x()),
        lambda: t.diagonal(x(), 0, -1) if t.ndim >= 2 else t.diagonal(x()),
        lambda: t[(slice(x(), x(), x() or 1),)],
        lambda: t[x()],
        lambda: t.split(x(), d()),
        lambda: t.tensor_split([x(), x()], d()),
        lambda: t.expand((x(),) + t.shape),
        lambda: t.view(x(), -1),
        lambda: t.reshape((x(), x())),
        lambda: t.unsqueeze(x()),
        lambda: t.transpose(x(), x()),
        lambda: t.flip(x()),
    ]
    for k in data.draw(st.lists(st.integers(0, len(calls) - 1), min_size=1, max_size=6)):
        try:
            out = calls[k]()
        except ALLOWED:
            continue
        for v in (out if isinstance(out, tuple) else (out,)):
            if v._base is not None:
                check_hostile_result(v, t._base)
