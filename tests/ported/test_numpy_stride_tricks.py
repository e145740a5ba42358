"""NumPy's stride-tricks tests, one for one where strided has the equivalent.

Source: numpy/numpy, numpy/lib/tests/test_stride_tricks.py, as shipped in numpy 2.4.6
(the version installed next to this project).  NumPy is BSD-3-Clause licensed
(Copyright (c) 2005-2025, NumPy Developers).

How it was ported: each test of the source that has a strided equivalent has a test
here under the same name, checking the same behaviour; the bodies are written for this
project (not copied) and use NumPy itself as the oracle, so the shape tables are
generated (every pair of a set of small shapes, as NumPy's tables list them by hand)
rather than listing expected results.  The NumPy -> strided mapping:
  broadcast_arrays     -> strided.broadcast_tensors (PyTorch's name)
  broadcast_to / broadcast_shapes -> the same names
  as_strided(a, shape, strides)   -> strided.as_strided(t, shape, strides): strides are
                          in elements (PyTorch), not bytes, so byte strides are divided
                          by the item size
  sliding_window_view  -> Tensor.unfold, once per windowed axis (PyTorch's spelling; the
                          window dims come last, in axis order, as NumPy's do)
  ValueError (shapes that do not broadcast) -> RuntimeError, PyTorch's exception type
  broadcast_to(x, (-1, ...)): NumPy raises; strided, as PyTorch's expand, reads -1 as
                          "keep this size" -- checked as such in test_broadcast_to_raises.

Left out (not counted), one reason each:
  test_as_strided's object, structured, void and rational-dtype parts -- dtypes strided
      does not have (its integer parts are kept)
  TestSlidingWindowView.test_errors     NumPy's own argument messages (unfold has others)
  TestSlidingWindowView.test_writeable  per-array writeable flags (a NumPy concept)
  TestSlidingWindowView.test_subok, test_subclasses   ndarray subclasses
  test_writeable, test_writeable_memoryview  NumPy's writeable flag and its deprecation
  test_reference_types                  object arrays
"""
import itertools

import numpy as np
import pytest

import strided

# Small shapes whose pairs cover equal shapes, size-1 dims, size-0 dims and prepended dims.
SHAPES = [(), (1,), (3,), (0,), (1, 1), (0, 1), (0, 3), (1, 0), (3, 0), (1, 3), (3, 1),
          (3, 3), (0, 0), (2, 3), (2,), (1, 3, 4), (2, 3, 3)]


def _np_broadcastable(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def _pairs(same_length):
    for s0, s1 in itertools.combinations(SHAPES, 2):
        if (len(s0) == len(s1)) == same_length:
            yield s0, s1


def _out_shapes(*shapes):
    return [tuple(t.shape) for t in strided.broadcast_tensors(*[strided.zeros(s) for s in shapes])]


def test_same():
    x, y = strided.arange(10), strided.arange(10)
    bx, by = strided.broadcast_tensors(x, y)
    np.testing.assert_array_equal(x.numpy(), bx.numpy())
    np.testing.assert_array_equal(y.numpy(), by.numpy())


def test_broadcast_kwargs():
    x, y = strided.arange(10), strided.arange(10)
    with pytest.raises(TypeError, match='got an unexpected keyword'):
        strided.broadcast_tensors(x, y, dtype='float64')


def test_one_off():
    x = strided.tensor([[1, 2, 3]])
    y = strided.tensor([[1], [2], [3]])
    bx, by = strided.broadcast_tensors(x, y)
    nx, ny = np.broadcast_arrays(x.numpy(), y.numpy())
    np.testing.assert_array_equal(nx, bx.numpy())
    np.testing.assert_array_equal(ny, by.numpy())
    np.testing.assert_array_equal(bx.numpy().T, by.numpy())


def test_same_input_shapes():
    for shape in [(), (1,), (3,), (0, 1), (0, 3), (1, 0), (3, 0), (1, 3), (3, 1), (3, 3)]:
        for n in (1, 2, 3):
            assert _out_shapes(*[shape] * n) == [shape] * n


def _check_compatible(same_length):
    checked = 0
    for s0, s1 in _pairs(same_length):
        want = _np_broadcastable(s0, s1)
        if want is None:
            continue
        assert _out_shapes(s0, s1) == [want, want], (s0, s1)
        assert _out_shapes(s1, s0) == [want, want], (s1, s0)
        checked += 1
    assert checked > 10


def test_two_compatible_by_ones_input_shapes():
    _check_compatible(same_length=True)


def test_two_compatible_by_prepending_ones_input_shapes():
    _check_compatible(same_length=False)


def test_incompatible_shapes_raise_valueerror():
    bad = [shapes for shapes in itertools.combinations(SHAPES, 2) if _np_broadcastable(*shapes) is None]
    bad.append(((3,), (3,), (4,)))
    assert len(bad) > 5
    for shapes in bad:
        for order in (shapes, shapes[::-1]):
            with pytest.raises(RuntimeError):
                strided.broadcast_tensors(*[strided.zeros(s) for s in order])


def _same_as_add(shape0, shape1, transposed=False, flipped=False):
    """broadcast_tensors lays out x1 as x0 + x1 broadcasts it."""
    x0 = strided.zeros(shape0, dtype=strided.int64)
    x1 = strided.arange(int(np.prod(shape1))).reshape(shape1)
    if transposed:
        x0, x1 = x0.T, x1.T
    if flipped:
        x0, x1 = x0[::-1], x1[::-1]     # negative strides (strided has them, as NumPy)
    y = x0 + x1
    b0, b1 = strided.broadcast_tensors(x0, x1)
    np.testing.assert_array_equal(y.numpy(), b1.numpy())


def test_same_as_ufunc():
    pairs = [p for p in itertools.combinations(SHAPES, 2) if _np_broadcastable(*p) is not None]
    assert len(pairs) > 20
    for s0, s1 in pairs:
        _same_as_add(s0, s1)
        _same_as_add(s1, s0)
        transposes = _np_broadcastable(s0[::-1], s1[::-1]) is not None
        if transposes:
            _same_as_add(s0, s1, True)
        if () not in (s0, s1):
            _same_as_add(s0, s1, False, True)
            if transposes:
                _same_as_add(s0, s1, True, True)


# (input, target shape): inputs as NumPy builds them, targets a tuple or a bare int.
_TO_OK = [((), (0,)), ((), (1,)), ((), (3,)), ((1,), (1,)), ((1,), (2,)), ((1,), (1, 2, 3)),
          ((3,), (3,)), ((3,), (1, 3)), ((3,), (2, 3)), ((0,), 0), ((1,), 1), ((1,), 2),
          ((1,), (0,)), ((1, 2), (0, 2)), ((2, 1), (2, 0))]


def test_broadcast_to_succeeds():
    for shape, target in _TO_OK:
        a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        got = strided.broadcast_to(strided.from_numpy(a), target)
        want = np.broadcast_to(a, target)
        assert tuple(got.shape) == want.shape
        np.testing.assert_array_equal(want, got.numpy())


def test_broadcast_to_raises():
    bad = [((0,), ()), ((1,), ()), ((3,), ()), ((3,), (1,)), ((3,), (2,)), ((3,), (4,)),
           ((1, 2), (2, 1)), ((1, 1), (1,))]
    for shape, target in bad:
        with pytest.raises(ValueError):
            np.broadcast_to(np.zeros(shape), target)     # NumPy's verdict
        with pytest.raises(RuntimeError):
            strided.broadcast_to(strided.zeros(shape), target)
    # -1: NumPy raises; PyTorch's (and strided's) expand keeps that dim's size.
    for shape, target in [((1,), -1), ((1,), (-1,)), ((1, 2), (-1, 2))]:
        with pytest.raises(ValueError):
            np.broadcast_to(np.zeros(shape), target)
        assert tuple(strided.broadcast_to(strided.zeros(shape), target).shape) == shape


def test_broadcast_shape():
    # NumPy's internal _broadcast_shape(*arrays): here the shape broadcast_tensors gives.
    def shape_of(*xs):
        return tuple(strided.broadcast_tensors(*xs)[0].shape) if xs else ()

    assert strided.broadcast_shapes() == ()
    assert shape_of(strided.tensor([1, 2])) == (2,)
    assert shape_of(strided.ones((1, 1))) == (1, 1)
    assert shape_of(strided.ones((1, 1)), strided.ones((3, 4))) == (3, 4)
    assert shape_of(*[strided.ones((1, 2))] * 32) == (1, 2)
    assert shape_of(*[strided.ones((1, 2))] * 100) == (1, 2)
    assert shape_of(*[strided.ones(2)] * 32, strided.tensor(1)) == (2,)
    with pytest.raises(RuntimeError):
        shape_of(*[strided.ones(2)] * 32 + [strided.ones(3)] * 32)


def test_broadcast_shapes_succeeds():
    cases = [[], [()], [(7,)], [(6, 7), (5, 6, 1), (7,), (5, 1, 7)], [(5, 6, 1)], [2, (3, 2)],
             [(1, 2)] * 32, [(1, 2)] * 100, [(2,)] * 32]
    cases += [list(p) for p in itertools.combinations(SHAPES, 2) if _np_broadcastable(*p) is not None]
    for shapes in cases:
        assert tuple(strided.broadcast_shapes(*shapes)) == np.broadcast_shapes(*shapes), shapes


def test_broadcast_shapes_raises():
    cases = [[(3,), (3,), (4,)], [(1, 2), (3, 1), (3, 2), (10, 5)], [2, (2, 3)],
             [(2,)] * 32 + [(3,)] * 32]
    cases += [list(p) for p in itertools.combinations(SHAPES, 2) if _np_broadcastable(*p) is None]
    for shapes in cases:
        with pytest.raises(ValueError):
            np.broadcast_shapes(*shapes)
        with pytest.raises(RuntimeError):
            strided.broadcast_shapes(*shapes)


def test_as_strided():
    a = np.array([1, 2, 3, 4])
    t = strided.from_numpy(a)
    for shape, byte_strides in (((2,), (2 * a.itemsize,)), ((3, 4), (0, 1 * a.itemsize))):
        want = np.lib.stride_tricks.as_strided(a, shape=shape, strides=byte_strides)
        got = strided.as_strided(t, shape, tuple(s // a.itemsize for s in byte_strides))
        np.testing.assert_array_equal(want, got.numpy())
    # as_strided(a) with no shape or strides is a itself, as a view
    np.testing.assert_array_equal(np.lib.stride_tricks.as_strided(a),
                                  strided.as_strided(t, t.shape, t.stride()).numpy())


def _sliding_window_view(t, window_shape, axis=None):
    """NumPy's sliding_window_view spelled with Tensor.unfold, one axis at a time."""
    window_shape = (window_shape,) if isinstance(window_shape, int) else tuple(window_shape)
    if axis is None:
        axis = tuple(range(t.ndim))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    for w, ax in zip(window_shape, axis):
        t = t.unfold(ax, w, 1)
    return t


class TestSlidingWindowView:
    def _grid(self, rows, cols):
        i, j = np.ogrid[:rows, :cols]
        return np.ascontiguousarray(10 * i + j)

    def _check(self, arr, window_shape, axis=None):
        want = np.lib.stride_tricks.sliding_window_view(arr, window_shape, axis)
        got = _sliding_window_view(strided.from_numpy(arr), window_shape, axis)
        assert tuple(got.shape) == want.shape
        np.testing.assert_array_equal(want, got.numpy())

    def test_1d(self):
        self._check(np.arange(5), 2)

    def test_2d(self):
        self._check(self._grid(3, 4), (2, 2))

    def test_2d_with_axis(self):
        self._check(self._grid(3, 4), 3, 0)

    def test_2d_repeated_axis(self):
        self._check(self._grid(3, 4), (2, 3), (1, 1))

    def test_2d_without_axis(self):
        self._check(self._grid(4, 4), (2, 3))
