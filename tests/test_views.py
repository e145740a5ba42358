"""Every view op, in lockstep with its NumPy equivalent, over many shapes, layouts and dtypes.

Each test applies an op to a strided tensor and to a NumPy array with the same layout (see
helpers.make_case) and checks values, shape, strides, storage offset, that the result
shares the base's storage (and _base points to the root), and that writes through the
view land in the base exactly where NumPy's do.
"""
import itertools
import math

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided as np_as_strided
from numpy.lib.stride_tricks import sliding_window_view

import strided
from helpers import (assert_fresh, assert_in_bounds, assert_same, assert_values,
                     assert_view_of, case_id, case_params, check_write_through,
                     compute_stride, contiguous_strides, factorizations, make_case,
                     np_layout, run_isolated, values, DTYPE_NAMES, LAYOUTS,
                     STRIDED_DTYPES)

CASES = case_params()
ND_CASES = [p for p in CASES if len(p[0]) >= 1]
ND2_CASES = [p for p in CASES if len(p[0]) >= 2]


def cases(params=CASES):
    return pytest.mark.parametrize("shape,layout,dtype", params, ids=[case_id(p) for p in params])


def check_view(case, v, av, *, check_offset=True, write=True):
    """v (strided) and av (NumPy) agree and v is a view of case.t; then write through it."""
    assert_same(v, av, case.buf, check_offset=check_offset)
    assert_view_of(v, case.t)
    if write:
        check_write_through(case, v, av)


def index_along(nd, d, idx):
    return (slice(None),) * d + (idx, Ellipsis)


# --------------------------------------------------------------------------------------
# Layouts, storage sharing and _base
# --------------------------------------------------------------------------------------

@cases()
def test_layout_built_by_view_ops(shape, layout, dtype):
    """Building each layout with the real view ops gives NumPy's layout too."""
    buf, a, ops = np_layout(shape, layout, dtype)
    root = strided.tensor(buf)
    t = root
    for op in ops:
        t = op(t)
        assert_view_of(t, root)
    assert_same(t, a, buf)


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
def test_every_dtype_every_layout(dtype):
    for shape in [(3, 4), (2, 1, 3), (0, 2)]:     # (the empty one last)
        for layout in LAYOUTS:
            c = make_case(shape, layout, dtype)
            assert c.t.dtype is STRIDED_DTYPES[dtype]
            assert_same(c.t, c.a, c.buf)
            v = c.t.transpose(0, -1)[::-1]
            av = np.swapaxes(c.a, 0, -1)[::-1]
            assert_same(v, av, c.buf)
            assert_view_of(v, c.t)


def test_fresh_tensors_have_no_base():
    fresh = [
        strided.tensor([[1, 2], [3, 4]]),
        strided.zeros(2, 3),
        strided.ones(4),
        strided.empty(0, 3),
        strided.full((2,), 3.0),
        strided.from_numpy(np.arange(6.0).reshape(2, 3)),
        strided.tensor(np.arange(4)).clone(),
        strided.tensor(np.arange(6)).view(2, 3).T.contiguous(),
        strided.tensor(np.arange(6)).view(2, 3).T.reshape(6),   # a copy
        strided.tensor(np.arange(6))[[0, 2]],                     # advanced indexing copies
    ]
    for t in fresh:
        assert t._base is None
        assert not t._is_view()


def test_view_of_view_points_to_root():
    root = strided.tensor(np.arange(60.0))
    chain = [lambda t: t.view(3, 4, 5), lambda t: t.transpose(0, 2), lambda t: t[1:, ::-1],
             lambda t: t.unsqueeze(0), lambda t: t.squeeze(0), lambda t: t.flip(1),
             lambda t: t.diagonal(0, 0, 1), lambda t: t.unfold(0, 2, 1), lambda t: t.select(0, 0)]
    t = root
    a = np.arange(60.0)
    np_chain = [lambda a: a.reshape(3, 4, 5), lambda a: np.swapaxes(a, 0, 2),
                lambda a: a[1:, ::-1], lambda a: a[None], lambda a: a[0], lambda a: np.flip(a, 1),
                lambda a: np.diagonal(a, 0, 0, 1), lambda a: sliding_window_view(a, 2, axis=0),
                lambda a: a[0]]
    for f, g in zip(chain, np_chain):
        t, a = f(t), g(a)
        assert t._base is root
        assert t.untyped_storage() is root.untyped_storage()
        assert t.untyped_storage().data_ptr() == root.untyped_storage().data_ptr()
        np.testing.assert_array_equal(t.numpy(), a)
    # a view of a fresh tensor points to that tensor
    fresh = strided.zeros(3, 4)
    assert fresh.T._base is fresh and fresh.T.T._base is fresh and fresh[1][2:]._base is fresh


# --------------------------------------------------------------------------------------
# view / reshape / view_as / reshape_as / flatten / unflatten
# --------------------------------------------------------------------------------------

def _targets(shape):
    n = math.prod(shape)
    out = sorted(factorizations(n), key=lambda s: (len(s), s))
    return [s for s in out if not (n == 0 and s == tuple(shape))]


@cases()
def test_view_follows_pytorch_compute_stride(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    n_ok = n_fail = 0
    for target in _targets(shape):
        ref = compute_stride(t.shape, t.stride(), target)
        expected = np.reshape(a, target)     # C-order values
        forms = [lambda: t.view(target), lambda: t.view(*target)]
        if target:
            for k in range(len(target)):
                inferred = target[:k] + (-1,) + target[k + 1:]
                if math.prod(target) != 0:
                    forms.append(lambda inferred=inferred: t.view(inferred))
        for form in forms:
            if ref is None:
                with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
                    form()
                n_fail += 1
            else:
                v = form()
                assert v.shape == tuple(target)
                assert v.stride() == ref, (t.shape, t.stride(), target, v.stride(), ref)
                assert v.storage_offset() == t.storage_offset()
                assert_values(v, expected)
                assert_view_of(v, t)
                assert_in_bounds(v)
                n_ok += 1
    assert n_ok + n_fail > 0
    # write through one successful view
    target = (t.numel(),)
    if compute_stride(t.shape, t.stride(), target) is not None:
        v = t.view(-1)
        av = np_as_strided(a, target, [s * a.itemsize for s in v.stride()]) if t.numel() else a.reshape(-1)
        check_write_through(case, v, av)


def test_view_transposed_contiguous_chunks():
    # (3, 2, 4) with strides (4, 12, 1): three separate chunks, only the last one splits
    x = strided.tensor(np.arange(24)).view(2, 3, 4).permute(1, 0, 2)
    assert x.stride() == (4, 12, 1)
    assert x.view(3, 2, 2, 2).stride() == (4, 12, 2, 1)
    assert x.view(3, 2, 4, 1).stride() == (4, 12, 1, 1)
    assert x.view(1, 3, 2, 4).stride() == (12, 4, 12, 1)
    for bad in [(6, 4), (3, 8), (24,), (-1,), (3, -1)]:
        with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
            x.view(bad)
    # (6, 4) with strides (1, 6): dim 0 is one chunk and can be split
    y = strided.tensor(np.arange(24)).view(4, 6).T
    assert y.view(2, 3, 4).stride() == (3, 1, 6)
    assert y.view(6, 2, 2).stride() == (1, 12, 6)
    assert y.view(6, 4, 1).stride() == (1, 6, 6)
    assert y.view(1, 6, 1, 4).stride() == (6, 1, 24, 6)
    np.testing.assert_array_equal(y.view(2, 3, 4).numpy(), np.arange(24).reshape(4, 6).T.reshape(2, 3, 4))
    for bad in [(24,), (3, 8), (12, 2)]:
        with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
            y.view(bad)
    # a sliced middle dim: the last two dims merge, the first can't join them
    z = strided.tensor(np.arange(60)).view(3, 4, 5)[:, 1:3, :]
    assert z.stride() == (20, 5, 1)
    assert z.view(3, 10).stride() == (20, 1)
    assert z.view(3, 2, 5, 1).stride() == (20, 5, 1, 1)
    for bad in [(6, 5), (30,)]:
        with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
            z.view(bad)
    # an expanded tensor: the zero-stride dim splits into zero strides
    w = strided.zeros(3, 1).expand(3, 4)
    assert w.view(3, 2, 2).stride() == (1, 0, 0)
    with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
        w.view(12)
    # negative strides behave like positive ones
    f = strided.tensor(np.arange(24)).view(4, 6).flip(0, 1)
    assert f.view(24).stride() == (-1,)
    assert f.view(2, 2, 3, 2).stride() == (-12, -6, -2, -1)
    np.testing.assert_array_equal(f.view(24).numpy(), np.arange(24)[::-1])
    g = strided.tensor(np.arange(24)).view(4, 6)[:, ::-1]
    with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
        g.view(24)
    assert g.view(2, 2, 6).stride() == (12, 6, -1)


@pytest.mark.parametrize("layout", ["transposed", "stepped", "negative", "offset"])
def test_view_empty_same_shape_keeps_strides(layout):
    """PyTorch's computeStride returns the old strides when an empty tensor is viewed with
    its own shape (torch.zeros(0, 3).T.view(3, 0).stride() == (1, 3))."""
    case = make_case((3, 0, 2), layout)
    t = case.t
    assert t.view(t.shape).stride() == t.stride()
    assert t.reshape(t.shape).stride() == t.stride()


def test_view_errors():
    t = strided.tensor(np.arange(12))
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        t.view(-1, -1)
    with pytest.raises(RuntimeError, match="invalid for input of size 12"):
        t.view(5, -1)
    with pytest.raises(RuntimeError, match="invalid for input of size 12"):
        t.view(5, 3)
    with pytest.raises(RuntimeError):
        t.view(-2, -6)
    with pytest.raises(RuntimeError, match="ambiguous"):
        strided.zeros(0).view(0, -1)
    with pytest.raises(TypeError):
        t.view(3.0, 4)
    assert strided.zeros(0).view(-1).shape == (0,)
    assert strided.tensor(5.0).view(1, 1).stride() == (1, 1)
    assert strided.tensor(5.0).view(-1).shape == (1,)
    assert strided.tensor(np.arange(1)).view(()).shape == ()


@cases()
def test_reshape_views_when_possible_else_copies(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for target in _targets(shape):
        ref = compute_stride(t.shape, t.stride(), target)
        r = t.reshape(target)
        assert_values(r, np.reshape(a, target))
        if ref is not None:
            assert_view_of(r, t)
            assert r.stride() == ref
            assert r.storage_offset() == t.storage_offset()
        else:
            assert_fresh(r, t)
            assert r.stride() == contiguous_strides(target)
            assert r.is_contiguous() and r.storage_offset() == 0
            if r.numel():
                # writes into the copy don't reach the base
                before = t.clone().numpy()
                r.view(-1)[0] = values(1, dtype, 7)[0] if dtype != "bool" else not r.view(-1)[0].item()
                np.testing.assert_array_equal(t.numpy(), before)
    # varargs and -1 forms
    n = t.numel()
    if n:
        assert_values(t.reshape(-1), a.reshape(-1))
        assert_values(t.reshape(1, -1), a.reshape(1, -1))
        assert_values(t.reshape(n, 1), a.reshape(n, 1))
        assert_values(strided.reshape(t, (-1,)), a.reshape(-1))


@cases()
def test_view_as_and_reshape_as(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for target in _targets(shape)[:12]:
        other = strided.zeros(target)
        ref = compute_stride(t.shape, t.stride(), target)
        if ref is None:
            with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
                t.view_as(other)
            r = t.reshape_as(other)
            assert_fresh(r, t)
        else:
            v = t.view_as(other)
            assert v.stride() == ref
            assert_view_of(v, t)
            assert_values(v, a.reshape(target))
            r = t.reshape_as(other)
            assert_view_of(r, t)
        assert_values(r, a.reshape(target))


@cases()
def test_flatten(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    nd = max(t.ndim, 1)
    for s in range(-nd, nd):
        for e in range(-nd, nd):
            s_, e_ = s % nd, e % nd
            if s_ > e_:
                with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
                    t.flatten(s, e)
                continue
            f = t.flatten(s, e)
            if t.ndim == 0:
                target = (1,)
            else:
                target = a.shape[:s_] + (math.prod(a.shape[s_:e_ + 1]),) + a.shape[e_ + 1:]
            assert_values(f, a.reshape(target))
            if s_ == e_ and t.ndim:
                # PyTorch returns self unchanged when start_dim == end_dim
                assert f.shape == t.shape and f.stride() == t.stride()
                assert f.storage_offset() == t.storage_offset()
                continue
            ref = compute_stride(t.shape, t.stride(), target)
            if ref is not None:
                assert_view_of(f, t)
                assert f.stride() == ref
            else:
                assert_fresh(f, t)
    assert_values(t.flatten(), a.reshape(-1))
    assert_values(strided.flatten(t), a.reshape(-1))


@cases(ND_CASES)
def test_unflatten(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for d in range(-t.ndim, t.ndim):
        size = t.shape[d]
        for sizes in sorted(factorizations(size, 3)):
            if not sizes or (t.numel() == 0 and tuple(sizes) == (size,)):
                continue    # (same-shape view of an empty tensor: test_view_empty_same_shape...)
            u = t.unflatten(d, sizes)
            target = a.shape[:d % t.ndim] + tuple(sizes) + a.shape[d % t.ndim + 1:]
            # splitting one dim is always possible as a view (PyTorch: unflatten = view)
            exp_strides = compute_stride(t.shape, t.stride(), target)
            assert exp_strides is not None
            assert u.shape == target
            assert u.stride() == exp_strides
            assert u.storage_offset() == t.storage_offset()
            assert_values(u, a.reshape(target))
            assert_view_of(u, t)
            if len(sizes) > 1 and size:
                k = 0
                inferred = list(sizes)
                inferred[k] = -1
                assert t.unflatten(d, inferred).shape == target
    with pytest.raises(RuntimeError):
        t.unflatten(0, ())
    with pytest.raises(RuntimeError):
        t.unflatten(0, (t.shape[0] + 1, 1)) if t.shape[0] else t.unflatten(0, (2, 3))


# --------------------------------------------------------------------------------------
# as_strided
# --------------------------------------------------------------------------------------

@cases()
def test_as_strided_reexpresses_layout(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    v = t.as_strided(t.shape, t.stride(), t.storage_offset())
    check_view(case, v, a, write=False)
    # storage_offset defaults to the tensor's own offset
    v2 = t.as_strided(t.shape, t.stride())
    assert v2.storage_offset() == t.storage_offset()
    check_view(case, v2, a)
    v3 = strided.as_strided(t, t.shape, t.stride(), t.storage_offset())
    assert_same(v3, case.a, case.buf)


AS_STRIDED_LAYOUTS = [
    # (size, stride, offset) over a storage of 24 elements
    ((24,), (1,), 0),
    ((4, 6), (6, 1), 0),
    ((6, 4), (1, 6), 0),
    ((3, 4), (4, 1), 12),
    ((5,), (-1,), 4),
    ((5,), (-1,), 23),
    ((3, 4), (-8, 2), 16),
    ((3, 4), (1, -3), 11),
    ((2, 3, 4), (-12, 4, -1), 15),
    ((4, 3), (1, 1), 0),         # overlapping (sliding windows)
    ((3, 5), (0, 1), 2),         # zero stride
    ((3, 2), (2, 3), 0),         # distinct elements though strides interleave
    ((), (), 23),
    ((0,), (1,), 24),            # empty: offset may equal the storage size
    ((0, 3), (5, -7), 0),
    ((1, 1), (100, -100), 5),    # size-1 dims: any stride
    ((24, 1), (1, 0), 0),
]


@pytest.mark.parametrize("size,stride,offset", AS_STRIDED_LAYOUTS)
@pytest.mark.parametrize("dtype", ["float64", "int32", "uint8", "bool"])
def test_as_strided_against_numpy(size, stride, offset, dtype):
    buf = values(24, dtype, 3)
    root = strided.tensor(buf)
    base = root[5:9]     # as_strided is relative to the storage, not to the view
    v = base.as_strided(size, stride, offset)
    assert v.shape == size and v.stride() == stride and v.storage_offset() == offset
    if math.prod(size):
        av = np.ndarray(size, buf.dtype, buffer=buf, offset=offset * buf.itemsize,
                        strides=[s * buf.itemsize for s in stride])
        assert_same(v, av, buf, exact_strides=stride)
    assert_in_bounds(v)
    assert_view_of(v, root)


@pytest.mark.parametrize("size,stride,offset", [
    ((25,), (1,), 0),                 # one past the end
    ((24,), (1,), 1),
    ((5,), (-1,), 3),                 # reaches -1
    ((3, 4), (4, 1), 13),
    ((2, 3), (-12, 1), 11),
    ((2,), (24,), 0),
    ((1,), (1,), 24),                 # a single element at the end of the storage
    ((), (), 24),
    ((3,), (1,), -1),
    ((2, 2), (2 ** 62, 1), 0),
    ((2 ** 40, 2 ** 40), (1, 1), 0),   # (numel overflows int64: ValueError is fine too)
])
def test_as_strided_refuses_out_of_storage(size, stride, offset):
    root = strided.tensor(np.arange(24.0))
    with pytest.raises(RuntimeError if math.prod(size) < 2 ** 63 else (RuntimeError, ValueError)):
        root.as_strided(size, stride, offset)


def test_as_strided_empty_past_the_end():
    """An empty tensor addresses nothing, so (as in PyTorch) it keeps any non-negative
    offset, even past the storage's end; a non-empty view of it is checked again."""
    root = strided.tensor(np.arange(24.0))
    for size, stride, offset in [((0,), (1,), 25), ((0, 3), (1, 1), 1000), ((2, 0), (-5, 1), 30)]:
        v = root.as_strided(size, stride, offset)
        assert v.shape == size and v.numel() == 0 and v.storage_offset() == offset
        assert_in_bounds(v)
        st = root.untyped_storage()
        assert v.data_ptr() == st.data_ptr() + offset * st.element_size()
        with pytest.raises(RuntimeError, match="outside a storage of size 24"):
            v.as_strided((1,), (1,))


def test_as_strided_argument_errors():
    t = strided.tensor(np.arange(24.0))
    with pytest.raises(RuntimeError, match="mismatch in length of strides and shape"):
        t.as_strided((2, 3), (1,))
    with pytest.raises((RuntimeError, ValueError)):
        t.as_strided((-1, 3), (1, 1))
    with pytest.raises(TypeError):
        t.as_strided((2.0, 3), (1, 1))
    with pytest.raises(TypeError, match="int64 range"):      # as PyTorch: an int list's element
        t.as_strided((2,), (2 ** 64,))


# --------------------------------------------------------------------------------------
# expand / expand_as / broadcast_to
# --------------------------------------------------------------------------------------

def _expand_targets(shape):
    out = [tuple(shape), (2,) + tuple(shape), (3, 1) + tuple(shape)]
    big = tuple(3 if s == 1 else s for s in shape)
    out += [big, (2,) + big]
    zero = tuple(0 if s == 1 else s for s in shape)
    out.append(zero)
    out.append((0,) + tuple(shape))
    return list(dict.fromkeys(out))


@cases()
def test_expand(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for target in _expand_targets(shape):
        ab = np.broadcast_to(a, target)
        for v in (t.expand(target), t.expand(*target) if target else t.expand(()),
                  t.broadcast_to(target), strided.broadcast_to(t, target),
                  t.expand_as(strided.zeros(target))):
            assert_same(v, ab, case.buf)
            assert_view_of(v, t)
            lead = len(target) - t.ndim
            for d in range(len(target)):
                if d < lead and target[d] == 1 and t.ndim:
                    # PyTorch's stride for a new size-1 dim: the one unsqueeze would give it
                    assert v.stride(d) == v.shape[d + 1] * v.stride(d + 1)
                elif d < lead or (t.shape[d - lead] == 1 and target[d] != 1):
                    assert v.stride(d) == 0
                else:
                    assert v.stride(d) == t.stride(d - lead)
        # -1 keeps a size
        if t.ndim:
            minus = (2,) + (-1,) * t.ndim
            assert_same(t.expand(minus), np.broadcast_to(a, (2,) + a.shape), case.buf)
    v = t.expand((2,) + tuple(shape))
    check_write_through(case, v, np.broadcast_to(a, v.shape))


def test_expand_errors():
    t = strided.zeros(3, 1)
    with pytest.raises(RuntimeError, match="must match the existing size"):
        t.expand(4, 2)
    with pytest.raises(RuntimeError, match="must be greater or equal"):
        t.expand(3)
    with pytest.raises(RuntimeError, match="leading, non-existing dimension"):
        t.expand(-1, 3, 2)
    with pytest.raises(RuntimeError):
        t.expand(3, -2)
    with pytest.raises(RuntimeError):
        strided.zeros(0).expand(2)
    assert strided.zeros(0).expand(2, 0).stride() == (0, 1)
    assert strided.broadcast_shapes((3, 1), (1, 4), (2, 1, 1)) == (2, 3, 4)
    x, y = strided.broadcast_tensors(strided.zeros(3, 1), strided.zeros(4))
    assert x.shape == y.shape == (3, 4) and x.stride() == (1, 0) and y.stride() == (0, 1)


# --------------------------------------------------------------------------------------
# transpose / swapaxes / swapdims / t / T / mT / permute / movedim
# --------------------------------------------------------------------------------------

@cases()
def test_transpose_swapaxes_swapdims(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    nd = max(t.ndim, 1)
    for d0 in range(-nd, nd):
        for d1 in range(-nd, nd):
            av = np.swapaxes(a, d0, d1) if t.ndim else a
            forms = (t.transpose, t.swapaxes, t.swapdims,
                     lambda x, y: strided.transpose(t, x, y), lambda x, y: strided.swapaxes(t, x, y))
            for v in (t.transpose(d0, d1), forms[(d0 + d1) % len(forms)](d0, d1)):
                assert_same(v, av, case.buf)
                assert_view_of(v, t)
                if t.ndim:
                    exp = list(t.stride())
                    exp[d0], exp[d1] = exp[d1], exp[d0]
                    assert v.stride() == tuple(exp)
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.transpose(0, nd)
    if t.ndim >= 2:
        check_write_through(case, t.transpose(0, -1), np.swapaxes(a, 0, -1))


@cases()
def test_t_T_mT(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    v = t.T
    assert_same(v, a.T, case.buf, exact_strides=t.stride()[::-1])
    assert_view_of(v, t)
    if t.ndim <= 2:
        for v in (t.t(), strided.t(t)):
            assert_same(v, a.T, case.buf, exact_strides=t.stride()[::-1])
            assert_view_of(v, t)
    else:
        with pytest.raises(RuntimeError, match="expects a tensor with <= 2 dimensions"):
            t.t()
    if t.ndim >= 2:
        v = t.mT
        assert_same(v, np.swapaxes(a, -1, -2), case.buf)
        assert_view_of(v, t)
        check_write_through(case, v, np.swapaxes(a, -1, -2))
    elif t.ndim == 1:
        with pytest.raises(RuntimeError, match="only supported on matrices"):
            t.mT
    else:                       # PyTorch: the identity on 0-d tensors (deprecated there)
        assert_same(t.mT, a, case.buf)
        assert_view_of(t.mT, t)


@cases()
def test_permute(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    perms = list(itertools.permutations(range(t.ndim)))
    if len(perms) > 24:
        perms = perms[::7]
    for p in perms:
        av = np.transpose(a, p)
        neg = tuple(d - t.ndim if k % 2 else d for k, d in enumerate(p))
        for v in (t.permute(p), t.permute(*p) if p else t.permute(()), t.permute(neg),
                  strided.permute(t, p)):
            assert_same(v, av, case.buf, exact_strides=tuple(t.stride()[d] for d in p))
            assert_view_of(v, t)
    if t.ndim >= 2:
        with pytest.raises(RuntimeError, match="duplicate dims"):
            t.permute((0, 0) + tuple(range(2, t.ndim)))
    with pytest.raises(RuntimeError, match="does not match"):
        t.permute(tuple(range(t.ndim + 1)))
    if perms:
        p = perms[-1]
        check_write_through(case, t.permute(p), np.transpose(a, p))


@cases(ND_CASES)     # 0-d: test_movedim_0d (in a subprocess: it has crashed the interpreter)
def test_movedim_moveaxis(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    nd = t.ndim
    for s in range(-nd, nd):
        for d in range(-nd, nd):
            av = np.moveaxis(a, s, d)
            forms = (t.moveaxis, lambda x, y: strided.movedim(t, x, y),
                     lambda x, y: strided.moveaxis(t, x, y), lambda x, y: t.movedim((x,), [y]))
            for v in (t.movedim(s, d), forms[(s + d) % len(forms)](s, d)):
                assert_same(v, av, case.buf)
                assert_view_of(v, t)
    if nd >= 2:
        for src, dst in [((0, 1), (1, 0)), ((0, -1), (-1, 0)), ((1, 0), (0, nd - 1)),
                         ((0, 1), (-1, -2))]:
            if len({x % nd for x in src}) < 2 or len({x % nd for x in dst}) < 2:
                continue
            av = np.moveaxis(a, src, dst)
            v = t.movedim(src, dst)
            assert_same(v, av, case.buf)
        with pytest.raises(RuntimeError):
            t.movedim((0, 0), (0, 1))
        with pytest.raises(RuntimeError):
            t.movedim((0, 1), (1, 1))
        with pytest.raises(RuntimeError):
            t.movedim((0, 1), (1,))
        check_write_through(case, t.movedim(0, -1), np.moveaxis(a, 0, -1))


@pytest.mark.parametrize("call", ["t.movedim(0, 0)", "t.movedim(-1, 0)", "t.moveaxis(0, -1)",
                                  "t.movedim((0,), (-1,))", "strided.movedim(t, 0, 0)"])
def test_movedim_0d(call):
    """PyTorch: a 0-d tensor's only dim is 0 / -1, so movedim(0, 0) returns a 0-d view."""
    rc, out, err = run_isolated(f"""
        import strided
        t = strided.tensor(3.0)
        v = {call}
        assert v.shape == () and v.item() == 3.0 and v._base is t
        print("ok")
    """)
    assert rc == 0 and out.strip() == "ok", f"returncode {rc} (negative: killed by signal); {err[-500:]}"


# --------------------------------------------------------------------------------------
# squeeze / unsqueeze
# --------------------------------------------------------------------------------------

@cases()
def test_squeeze(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    v = t.squeeze()
    assert_same(v, np.squeeze(a), case.buf,
                exact_strides=tuple(s for n, s in zip(t.shape, t.stride()) if n != 1))
    assert_view_of(v, t)
    assert_same(strided.squeeze(t), np.squeeze(a), case.buf)
    nd = max(t.ndim, 1)
    for d in range(-nd, nd):
        av = np.squeeze(a, axis=d) if (t.ndim and a.shape[d] == 1) else a
        v = t.squeeze(d)         # PyTorch: a dim whose size isn't 1 stays
        assert_same(v, av, case.buf)
        assert_view_of(v, t)
    ones = tuple(d for d in range(t.ndim) if t.shape[d] == 1)
    if ones:
        assert_same(t.squeeze(ones), np.squeeze(a, axis=ones), case.buf)
    assert_same(t.squeeze(tuple(range(t.ndim))), np.squeeze(a), case.buf)
    with pytest.raises(IndexError):
        t.squeeze(nd)
    check_write_through(case, t.squeeze(), np.squeeze(a))


@cases()
def test_unsqueeze(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    nd = t.ndim
    for d in range(-nd - 1, nd + 1):
        pos = d % (nd + 1)
        # PyTorch's rule for the new dim's stride: size * stride of the dim it precedes
        new_stride = t.shape[pos] * t.stride(pos) if pos < nd else 1
        exp = t.stride()[:pos] + (new_stride,) + t.stride()[pos:]
        for v in (t.unsqueeze(d), strided.unsqueeze(t, d)):
            assert_same(v, np.expand_dims(a, d), case.buf, exact_strides=exp)
            assert_view_of(v, t)
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.unsqueeze(nd + 2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.unsqueeze(-nd - 2)
    check_write_through(case, t.unsqueeze(0), np.expand_dims(a, 0))


# --------------------------------------------------------------------------------------
# narrow / select
# --------------------------------------------------------------------------------------

@cases(ND_CASES)
def test_narrow(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for d in range(-t.ndim, t.ndim):
        size = t.shape[d]
        for start in range(-size, size + 1):
            s = start % size if size and start < 0 else start
            for length in range(0, size - s + 1):
                av = a[index_along(t.ndim, d % t.ndim, slice(s, s + length))]
                for v in (t.narrow(d, start, length), strided.narrow(t, d, start, length)):
                    assert_same(v, av, case.buf)
                    assert_view_of(v, t)
                    assert v.stride() == t.stride()
        with pytest.raises(RuntimeError):
            t.narrow(d, 0, size + 1)
        with pytest.raises(IndexError):
            t.narrow(d, size + 1, 0)
        with pytest.raises(IndexError):
            t.narrow(d, -size - 1, 0)
        with pytest.raises(RuntimeError):
            t.narrow(d, 0, -1)
    if t.shape[0] > 1:
        v = t.narrow(0, 1, t.shape[0] - 1)
        check_write_through(case, v, a[1:])


def test_narrow_select_0d():
    t = strided.tensor(3.0)
    with pytest.raises(RuntimeError):
        t.narrow(0, 0, 1)
    with pytest.raises(IndexError):
        t.select(0, 0)


@cases(ND_CASES)
def test_select(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for d in range(-t.ndim, t.ndim):
        size = t.shape[d]
        for i in range(-size, size):
            av = a[index_along(t.ndim, d % t.ndim, i)]
            for v in (t.select(d, i), strided.select(t, d, i)):
                exp = t.stride()[:d % t.ndim] + t.stride()[d % t.ndim + 1:]
                assert_same(v, av, case.buf, exact_strides=exp)
                assert_view_of(v, t)
        for bad in (size, -size - 1):
            with pytest.raises(IndexError):
                t.select(d, bad)
    if t.shape[-1]:
        d = t.ndim - 1
        check_write_through(case, t.select(-1, -1), a[index_along(t.ndim, d, -1)])


# --------------------------------------------------------------------------------------
# unfold / diagonal
# --------------------------------------------------------------------------------------

@cases(ND_CASES)
def test_unfold(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for d in range(-t.ndim, t.ndim):
        dd = d % t.ndim
        size = t.shape[d]
        for win in range(0, size + 1):
            for step in (1, 2, 3):
                av = sliding_window_view(a, win, axis=dd)[index_along(t.ndim, dd, slice(None, None, step))]
                v = t.unfold(d, win, step)
                exp = list(t.stride()) + [t.stride(d)]
                exp[dd] = t.stride(d) * step
                assert v.shape == av.shape
                assert_same(v, av, case.buf, exact_strides=exp)
                assert_view_of(v, t)
        with pytest.raises(RuntimeError, match="maximum size for tensor at dimension"):
            t.unfold(d, size + 1, 1)
        with pytest.raises(RuntimeError, match="step is 0"):
            t.unfold(d, 0, 0)
        with pytest.raises(RuntimeError):
            t.unfold(d, -1, 1)
    if t.shape[-1] >= 2:
        v = t.unfold(-1, 2, 2)     # non-overlapping windows are writable
        av = sliding_window_view(a, 2, axis=t.ndim - 1)[..., ::2, :]
        check_write_through(case, v, av)
        v = t.unfold(-1, 2, 1)     # overlapping windows refuse writes
        av = sliding_window_view(a, 2, axis=t.ndim - 1)
        check_write_through(case, v, av)


def test_unfold_0d():
    t = strided.tensor(7.0)
    for size in (0, 1):
        v = t.unfold(0, size, 1)
        assert v.shape == (size,) and v.stride() == (1,)
        assert_view_of(v, t)
    assert t.unfold(0, 1, 1).numpy().tolist() == [7.0]
    with pytest.raises(RuntimeError):
        t.unfold(0, 2, 1)


@cases(ND2_CASES)
def test_diagonal(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    nd = t.ndim
    pairs = [(d1, d2) for d1 in range(-nd, nd) for d2 in range(-nd, nd) if d1 % nd != d2 % nd]
    for k, (d1, d2) in enumerate(pairs):
        span = max(t.shape[d1], t.shape[d2]) + 1
        for off in range(-span, span + 1):
            av = np.diagonal(a, off, d1, d2)
            v = t.diagonal(off, d1, d2) if (k + off) % 3 else strided.diagonal(t, off, d1, d2)
            # (an empty diagonal's offset is arbitrary: NumPy moves it, PyTorch doesn't)
            assert_same(v, av, case.buf)
            assert v.stride(-1) == t.stride(d1) + t.stride(d2)
            assert_view_of(v, t)
    assert_same(t.diagonal(), np.diagonal(a), case.buf)
    with pytest.raises(RuntimeError, match="cannot be identical"):
        t.diagonal(0, 1, 1)
    check_write_through(case, t.diagonal(), np.diagonal(a))
    check_write_through(case, t.diagonal(1, -1, 0), np.diagonal(a, 1, -1, 0), seed=99)


def test_diagonal_needs_2d():
    # PyTorch raises IndexError (dim 1 out of range); a RuntimeError is fine too
    for t in (strided.zeros(3), strided.tensor(1.0)):
        with pytest.raises((RuntimeError, IndexError)):
            t.diagonal()


# --------------------------------------------------------------------------------------
# split / chunk / unbind / tensor_split
# --------------------------------------------------------------------------------------

def check_pieces(case, pieces, np_pieces, dim):
    assert isinstance(pieces, tuple)
    assert len(pieces) == len(np_pieces), ([p.shape for p in pieces], [p.shape for p in np_pieces])
    for v, av in zip(pieces, np_pieces):
        assert_same(v, av, case.buf)
        assert_view_of(v, case.t)


@cases(ND_CASES)
def test_split(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for d in range(-t.ndim, t.ndim):
        size = t.shape[d]
        dd = d % t.ndim
        for step in range(1, size + 2):
            bounds = list(range(step, size, step))
            np_pieces = np.split(a, bounds, axis=dd) if size else [a]
            check_pieces(case, t.split(step, d), np_pieces, dd)
            check_pieces(case, strided.split(t, step, d), np_pieces, dd)
        # sections
        for sections in ([size], [0, size], [1, size - 1], [size - 1, 0, 1], [0, 0, size]):
            if min(sections) < 0:
                continue
            np_pieces = np.split(a, list(itertools.accumulate(sections))[:-1], axis=dd)
            check_pieces(case, t.split(sections, d), np_pieces, dd)
        with pytest.raises(RuntimeError):
            t.split([size + 1], d)
        with pytest.raises(RuntimeError):
            t.split(-1, d)
        if size:
            with pytest.raises(RuntimeError):
                t.split(0, d)
    if t.shape[0] >= 2:
        p0, p1 = t.split([1, t.shape[0] - 1])
        check_write_through(case, p1, a[1:])


@cases(ND_CASES)
def test_chunk_torch_semantics(shape, layout, dtype):
    """torch.chunk: pieces of ceil(size / chunks) (so maybe fewer than `chunks` pieces);
    an empty dim gives `chunks` empty pieces."""
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for d in range(-t.ndim, t.ndim):
        size = t.shape[d]
        dd = d % t.ndim
        for chunks in range(1, size + 3):
            if size:
                step = -(-size // chunks)
                np_pieces = np.split(a, list(range(step, size, step)), axis=dd)
            else:
                np_pieces = [a] * chunks
            check_pieces(case, t.chunk(chunks, d), np_pieces, dd)
            check_pieces(case, strided.chunk(t, chunks, d), np_pieces, dd)
        with pytest.raises(RuntimeError):
            t.chunk(0, d)


def test_chunk_examples():
    t = strided.tensor(np.arange(6))
    assert [p.shape for p in t.chunk(4)] == [(2,), (2,), (2,)]     # torch: 3 pieces
    assert [p.shape for p in t.chunk(5)] == [(2,), (2,), (2,)]
    assert [p.tolist() for p in t.chunk(3)] == [[0, 1], [2, 3], [4, 5]]
    assert [p.shape for p in strided.tensor(np.arange(5)).chunk(2)] == [(3,), (2,)]
    assert len(strided.zeros(0).chunk(3)) == 3                      # torch: 3 empty pieces
    with pytest.raises(RuntimeError):
        strided.tensor(1.0).chunk(1)


@cases(ND_CASES)
def test_unbind(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for d in range(-t.ndim, t.ndim):
        dd = d % t.ndim
        np_pieces = [a[index_along(t.ndim, dd, i)] for i in range(a.shape[dd])]
        check_pieces(case, t.unbind(d), np_pieces, dd)
        check_pieces(case, strided.unbind(t, d), np_pieces, dd)
        check_pieces(case, tuple(iter(t)) if dd == 0 else t.unbind(d), np_pieces, dd)
    if t.shape[0]:
        check_write_through(case, t.unbind(0)[-1], a[-1, ...])


def test_unbind_0d():
    # PyTorch: IndexError "Dimension specified as 0 but tensor has no dimensions"
    with pytest.raises((IndexError, RuntimeError)):
        strided.tensor(1.0).unbind()


@cases(ND_CASES)
def test_tensor_split(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    for d in range(-t.ndim, t.ndim):
        size = t.shape[d]
        dd = d % t.ndim
        for sections in range(1, size + 3):
            pieces = (t.tensor_split(sections, d) if sections % 2
                      else strided.tensor_split(t, sections, d))
            check_pieces(case, pieces, np.array_split(a, sections, axis=dd), dd)
        for k, idx in enumerate(([], [0], [1], [size], [size + 2], [-1], [-size - 3], [1, 1],
                                 [2, 1], [0, size // 2, size], [-2, 1, 4])):
            arg = idx if k % 2 else tuple(idx)
            check_pieces(case, t.tensor_split(arg, d), np.array_split(a, idx, axis=dd), dd)
        with pytest.raises(RuntimeError):
            t.tensor_split(0, d)


# --------------------------------------------------------------------------------------
# flip / fliplr / flipud
# --------------------------------------------------------------------------------------

@cases()
def test_flip(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    nd = t.ndim
    subsets = [()]
    for k in range(1, nd + 1):
        subsets += list(itertools.combinations(range(nd), k))
    for dims in subsets:
        av = np.flip(a, dims) if dims else a
        negdims = tuple(d - nd for d in dims)
        for v in (t.flip(dims), t.flip(*dims) if dims else t.flip(()), t.flip(negdims),
                  strided.flip(t, dims)):
            exp = tuple(-s if d in dims else s for d, s in enumerate(t.stride()))
            assert_same(v, av, case.buf, exact_strides=exp)
            assert_view_of(v, t)
        # flipping twice restores the layout
        w = t.flip(dims).flip(dims)
        assert w.stride() == t.stride()
        if t.numel():
            assert w.storage_offset() == t.storage_offset()
    if nd:
        with pytest.raises(RuntimeError, match="multiple times"):
            t.flip(0, -nd)
        check_write_through(case, t.flip(tuple(range(nd))), np.flip(a))


@cases()
def test_fliplr_flipud(shape, layout, dtype):
    case = make_case(shape, layout, dtype)
    t, a = case.t, case.a
    if t.ndim >= 2:
        v = t.fliplr()
        assert_same(v, np.fliplr(a), case.buf)
        assert_view_of(v, t)
    else:
        with pytest.raises(RuntimeError):
            t.fliplr()
    if t.ndim >= 1:
        v = t.flipud()
        assert_same(v, np.flipud(a), case.buf)
        assert_view_of(v, t)
        check_write_through(case, v, np.flipud(a))
    else:
        with pytest.raises(RuntimeError):
            t.flipud()


def test_flip_is_a_view_with_negative_strides():
    t = strided.tensor(np.arange(12)).view(3, 4)
    f = t.flip(0)
    assert f.stride() == (-4, 1) and f.storage_offset() == 8
    assert f.untyped_storage().data_ptr() == t.untyped_storage().data_ptr()
    f[0, 0] = 100
    assert t[2, 0].item() == 100
    g = t.flip(0, 1)
    assert g.stride() == (-4, -1) and g.storage_offset() == 11 and not g.is_contiguous()
    expected = np.arange(12).reshape(3, 4)
    expected[2, 0] = 100
    np.testing.assert_array_equal(g.contiguous().numpy(), expected[::-1, ::-1])
    np.testing.assert_array_equal(g.clone().numpy(), expected[::-1, ::-1])


# --------------------------------------------------------------------------------------
# Chains of views
# --------------------------------------------------------------------------------------

CHAINS = [
    # (strided op, numpy op) pairs, applied in order to a (4, 5, 6) tensor
    [(lambda t: t.transpose(0, 2), lambda a: np.swapaxes(a, 0, 2)),
     (lambda t: t[::-2, 1:], lambda a: a[::-2, 1:]),
     (lambda t: t.unsqueeze(1), lambda a: a[:, None]),
     (lambda t: t.expand(3, 2, 4, 4), lambda a: np.broadcast_to(a, (3, 2, 4, 4))),
     (lambda t: t.select(0, 1), lambda a: a[1]),
     (lambda t: t.diagonal(0, 1, 2), lambda a: np.diagonal(a, 0, 1, 2))],
    [(lambda t: t.flip(1), lambda a: np.flip(a, 1)),
     (lambda t: t.unfold(2, 3, 2), lambda a: sliding_window_view(a, 3, axis=2)[:, :, ::2]),
     (lambda t: t.permute(3, 0, 2, 1), lambda a: np.transpose(a, (3, 0, 2, 1))),
     (lambda t: t.narrow(1, 1, 2), lambda a: a[:, 1:3]),
     (lambda t: t.flatten(2, 3), lambda a: a.reshape(3, 2, 10)),
     (lambda t: t.movedim(0, -1), lambda a: np.moveaxis(a, 0, -1))],
    [(lambda t: t.reshape(4, 30), lambda a: a.reshape(4, 30)),
     (lambda t: t[:, 3:27:3], lambda a: a[:, 3:27:3]),
     (lambda t: t.T, lambda a: a.T),
     (lambda t: t[::-1], lambda a: a[::-1]),
     (lambda t: t.reshape(4, 2, 4), lambda a: a.reshape(4, 2, 4)),
     (lambda t: t.unbind(1)[1], lambda a: a[:, 1]),
     (lambda t: t.split(2, 0)[1], lambda a: a[2:4]),
     (lambda t: t.as_strided((2, 2), (t.stride(0), t.stride(1)), t.storage_offset()),
      lambda a: a[:2, :2])],
    [(lambda t: t[None, ..., None], lambda a: a[None, ..., None]),
     (lambda t: t.squeeze(), lambda a: a.squeeze()),
     (lambda t: t.tensor_split([1, 3], 1)[2], lambda a: np.array_split(a, [1, 3], axis=1)[2]),
     (lambda t: t.chunk(2, 2)[0], lambda a: a[:, :, :3]),
     (lambda t: t.fliplr(), lambda a: np.fliplr(a)),
     (lambda t: t.flipud(), lambda a: np.flipud(a)),
     (lambda t: t.mT, lambda a: np.swapaxes(a, -1, -2)),
     (lambda t: t.reshape(-1, 3), lambda a: a.reshape(-1, 3))],
]


@pytest.mark.parametrize("chain", range(len(CHAINS)))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_chains_of_views(chain, layout):
    case = make_case((4, 5, 6), layout, "int64")
    t, a = case.t, case.a
    for f, g in CHAINS[chain]:
        t2, a2 = f(t), g(a)
        if t2._base is None:
            # reshape had to copy: a fresh contiguous tensor; continue from the copy
            assert compute_stride(t.shape, t.stride(), t2.shape) is None
            assert_values(t2, np.ascontiguousarray(a2))
            assert_fresh(t2, t)
            buf = np.ascontiguousarray(a2).ravel()
            case.t = case.root = t2
            case.buf, case.a = buf, buf.reshape(a2.shape)
            t, a = t2, case.a
            continue
        assert_same(t2, a2, case.buf, check_offset=True)
        assert_view_of(t2, case.t)
        t, a = t2, a2
    check_write_through(case, t, a)


# --------------------------------------------------------------------------------------
# Many dims (sizes/strides kept outside the object beyond 8 dims) and the 64-dim limit
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("nd", [8, 9, 12, 20, 40, 63, 64])
def test_many_dims(nd):
    rng = np.random.default_rng(nd)
    shape = [1] * nd
    for d in rng.choice(nd, size=min(nd, 9), replace=False):
        shape[d] = int(rng.choice([2, 3])) if d % 3 else 2
    shape = tuple(shape)
    buf = values(math.prod(shape), "int64", nd)
    root = strided.tensor(buf)
    t, a = root.view(shape), buf.reshape(shape)
    assert_same(t, a, buf)
    perm = tuple(int(p) for p in rng.permutation(nd))
    ops = [
        (lambda x: x.permute(perm), lambda y: y.transpose(perm)),
        (lambda x: x.flip(tuple(range(nd))), lambda y: np.flip(y)),
        (lambda x: x[(slice(None, None, -1),) * nd], lambda y: y[(slice(None, None, -1),) * nd]),
        (lambda x: x.T, lambda y: y.T),
        (lambda x: x.transpose(0, -1), lambda y: np.swapaxes(y, 0, -1)),
        (lambda x: x.movedim(0, -1), lambda y: np.moveaxis(y, 0, -1)),
        (lambda x: x.squeeze(), lambda y: y.squeeze()),
        (lambda x: x.diagonal(0, 0, -1), lambda y: np.diagonal(y, 0, 0, -1)),
        (lambda x: x.expand(tuple(2 if (s == 1 and i < 3) else s for i, s in enumerate(shape))),
         lambda y: np.broadcast_to(y, tuple(2 if (s == 1 and i < 3) else s for i, s in enumerate(shape)))),
        (lambda x: x.select(-1, 0), lambda y: y[..., 0]),
        (lambda x: x[(0,) * (nd // 2)], lambda y: y[(0,) * (nd // 2) + (Ellipsis,)]),
    ]
    if nd < 64:
        ops += [(lambda x: x.unsqueeze(nd // 2), lambda y: np.expand_dims(y, nd // 2)),
                (lambda x: x[None], lambda y: y[None]),
                (lambda x: x.unfold(0, 1, 1), lambda y: sliding_window_view(y, 1, axis=0))]
    for f, g in ops:
        v, av = f(t), g(a)
        assert_same(v, av, buf)
        assert_view_of(v, t)
    # view chunks, reshape copies, contiguous and writes through a permuted view
    assert_same(t.view(-1), buf, buf)
    p = t.permute(perm)
    r = p.reshape(-1)
    assert_values(r, a.transpose(perm).reshape(-1))
    assert_values(p.contiguous(), np.ascontiguousarray(a.transpose(perm)))
    new = values(p.numel(), "int64", 1).reshape(p.shape)
    p[...] = new
    a.transpose(perm)[...] = new
    assert_same(t, a, buf)


def test_dim_limit_is_64():
    t64 = strided.zeros([1] * 64)
    assert t64.ndim == 64
    with pytest.raises((ValueError, RuntimeError, IndexError)):
        t64.unsqueeze(0)
    with pytest.raises((ValueError, RuntimeError, IndexError)):
        t64[None]
    with pytest.raises((ValueError, RuntimeError, IndexError)):
        t64.unfold(0, 1, 1)
    with pytest.raises((ValueError, RuntimeError)):
        t64.expand([1] * 65)
    with pytest.raises((ValueError, RuntimeError)):
        strided.zeros(2).view([1] * 64 + [2])
    with pytest.raises((ValueError, RuntimeError)):
        strided.zeros(2).as_strided([1] * 65, [1] * 65)
    t2 = strided.zeros(3, 4)
    assert t2[(None,) * 62].ndim == 64
    with pytest.raises(IndexError):
        t2[(None,) * 63]
    assert t2.view([1] * 62 + [3, 4]).ndim == 64
