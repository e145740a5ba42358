"""Operands with chosen values in any layout of helpers.LAYOUTS, and random values per
dtype, for the element-wise and reduction tests (helpers.make_case fixes the values)."""
import numpy as np

import strided
from helpers import np_elem_strides, np_layout, np_offset

BITS = {"uint8": 8, "int32": 32, "int64": 64}


def operand(vals, layout):
    """(t, a): a strided tensor holding the NumPy values `vals` in `layout` (one of
    helpers.LAYOUTS, built exactly as make_case builds it), and the values it holds (for
    the expanded layout, vals made constant along the broadcast dims first)."""
    vals = np.asarray(vals)
    shape = vals.shape
    buf, a, _ = np_layout(shape, layout, vals.dtype.name)
    if layout == "expanded" and vals.size:
        idx = tuple(slice(0, 1) if (st == 0 and n > 1) else slice(None)
                    for n, st in zip(shape, a.strides))
        vals = np.broadcast_to(vals[idx], shape)
    a[...] = vals
    root = strided.tensor(buf)
    off = np_offset(a, buf)
    if a.size == 0:
        off = min(max(off, 0), buf.size)
    t = root.as_strided(shape, np_elem_strides(a), off)
    assert t.shape == shape
    expected = np.array(a)
    np.testing.assert_array_equal(t.numpy(), expected)
    return t, expected


def rand(shape, dtype, rng, kind="any"):
    """Random values of dtype; kind: any, nonzero (divisors), small (bases of pow),
    exponent (0..6), shift (0..bits-1), positive (floats > 0), nan (floats with NaNs)."""
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return np.array(rng.random(shape) < 0.5)
    if dt.kind in "iu":
        lo = 0 if dt.kind == "u" else -40
        hi = 256 if dt.kind == "u" else 41
        if kind == "small":
            lo, hi = (0, 4) if dt.kind == "u" else (-3, 4)
        elif kind == "exponent":
            lo, hi = 0, 7
        elif kind == "shift":
            lo, hi = 0, BITS[dt.name]
        x = rng.integers(lo, hi, size=shape).astype(dt)
        if kind == "nonzero":
            x[x == 0] = 3
        return x
    x = np.array(rng.standard_normal(shape) * 4, dtype=dt)
    if kind == "positive" or kind == "small":
        x = np.array(np.abs(x) + dt.type(0.25), dtype=dt)
    elif kind == "exponent":
        x = np.array(rng.integers(-2, 4, size=shape) + rng.random(shape) * 0.5, dtype=dt)
    elif kind == "nonzero":
        x[x == 0] = 1.5
    elif kind == "nan" and x.size:
        flat = x.reshape(-1)
        flat[rng.random(flat.size) < 0.2] = np.nan
    return x
