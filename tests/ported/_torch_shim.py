"""What the ported PyTorch suites use from ``torch.testing._internal``, mapped onto strided.

The suites in this folder are written the way PyTorch's own device-generic tests are:
a ``TestCase`` class whose ``test_*`` methods take ``device`` (and ``dtype`` when
decorated with ``@dtypes``), turned into concrete tests by
``instantiate_device_type_tests``.  This module provides exactly that much, for the one
device strided has (CPU) and the dtypes it has (bool, uint8, int32, int64, float32,
float64):

* ``TestCase`` -- ``unittest.TestCase`` whose ``assertEqual`` compares tensors, NumPy
  arrays, numbers, sizes and sequences of them as PyTorch's does: shapes must match
  exactly, dtypes too unless ``exact_dtype=False`` (or the class sets
  ``exact_dtype = False``), values within PyTorch's default tolerances for the dtype
  (float32: rtol 1.3e-6, atol 1e-5; float64: rtol 1e-7, atol 1e-7; exact otherwise),
  NaNs equal.  ``compare_with_numpy`` runs a function on a tensor and its NumPy mirror.
* ``instantiate_device_type_tests(cls, scope, xfails=...)`` -- replaces ``cls`` in
  ``scope`` by ``<cls>CPU`` whose tests are named as PyTorch names them
  (``test_foo_cpu``, ``test_foo_cpu_float32``); ``xfails`` maps such names (or the base
  name, for every dtype) to a reason, and marks them ``xfail(strict=True)``.
* ``dtypes``, ``onlyCPU``, ``onlyNativeDeviceTypes``, ``skipMeta`` and the dtype lists
  (``all_types_and``, ``all_types_and_complex_and``, ``floating_types``...), restricted to
  strided's dtypes.
* ``make_tensor`` -- random values in PyTorch's default ranges, optionally
  non-contiguous, from a generator seeded per test.
"""
import importlib
import inspect
import math
import os
import random
import unittest

import numpy as np
import pytest

# The library under test: strided; PORTED_ORACLE=torch runs the same tests against
# PyTorch itself, which checks the port (a test PyTorch fails is a porting mistake).
ORACLE = bool(os.environ.get("PORTED_ORACLE"))
lib = strided = importlib.import_module("torch" if ORACLE else "strided")
_DTYPE = type(strided.float32)

DEVICE = "cpu"

# PyTorch's dtype groups, keeping the dtypes strided has.
_INTEGRAL = (strided.uint8, strided.int32, strided.int64)
_FLOATING = (strided.float32, strided.float64)
STRIDED_DTYPES = (strided.bool,) + _INTEGRAL + _FLOATING


def _have(extra):
    return tuple(d for d in extra if d in STRIDED_DTYPES)


def floating_types():
    return _FLOATING


def integral_types():
    return _INTEGRAL


def all_types():
    return _INTEGRAL + _FLOATING


def all_types_and(*extra):
    return all_types() + tuple(d for d in _have(extra) if d not in all_types())


# complex dtypes are left out by design: strided has none.
all_types_and_complex_and = all_types_and


def floating_types_and(*extra):
    return _FLOATING + tuple(d for d in _have(extra) if d not in _FLOATING)


def dtype_name(dtype):
    return str(dtype).rsplit(".", 1)[-1]


def np_dtype(dtype):
    """The NumPy dtype of a strided dtype."""
    return np.dtype(dtype_name(dtype))


# --- decorators ------------------------------------------------------------------------

def dtypes(*ds):
    """The dtypes a device-generic test runs for (one concrete test per dtype)."""
    def wrap(fn):
        fn._dtypes = tuple(ds)
        return fn
    return wrap


def _identity(fn):
    return fn


onlyCPU = onlyNativeDeviceTypes = skipMeta = _identity


class DeterministicGuard:
    """torch.testing._internal's DeterministicGuard: deterministic algorithms on (or off)
    inside the block, through use_deterministic_algorithms where the library has it."""

    def __init__(self, deterministic):
        self.deterministic = deterministic

    def __enter__(self):
        use = getattr(lib, "use_deterministic_algorithms", None)
        if use is None:
            raise AttributeError(f"module {lib.__name__!r} has no attribute 'use_deterministic_algorithms'")
        self.before = lib.are_deterministic_algorithms_enabled()
        use(self.deterministic)
        return self

    def __exit__(self, *exc):
        lib.use_deterministic_algorithms(self.before)
        return False


# --- tensors ---------------------------------------------------------------------------

_rng = np.random.default_rng(0)


def _seed(seed=0):
    global _rng
    _rng = np.random.default_rng(seed)
    np.random.seed(seed)
    random.seed(seed)
    strided.manual_seed(seed)


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False):
    """A tensor of random values: floats in [low, high) (default [-9, 9)), integers in
    [low, high) (default [-9, 10), [0, 10) for uint8), bools either way."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, strided.Size)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    npdt = np_dtype(dtype)
    if dtype == strided.bool:
        values = _rng.integers(0, 2, size=shape).astype(np.bool_)
    elif dtype.is_floating_point:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        values = _rng.uniform(lo, hi, size=shape).astype(npdt)
    else:
        info = np.iinfo(npdt)
        lo = (0 if dtype == strided.uint8 else -9) if low is None else max(int(low), info.min)
        hi = 10 if high is None else min(int(math.ceil(high)), info.max)
        if hi <= lo:
            hi = lo + 1
        values = _rng.integers(lo, hi, size=shape).astype(npdt)
    if exclude_zero:
        values[values == 0] = 1
    if noncontiguous and values.size > 1:
        # every other element of a buffer twice as long in the last dimension
        big = strided.zeros(*shape[:-1], shape[-1] * 2, dtype=dtype)
        t = big[..., ::2]
        t.copy_(strided.from_numpy(np.array(values, order="C")))
    else:
        t = strided.from_numpy(np.array(values, order="C")).clone()
    if requires_grad:
        t.requires_grad_(True)
    return t


# --- comparison ------------------------------------------------------------------------

_TOLERANCES = {strided.float32: (1.3e-6, 1e-5), strided.float64: (1e-7, 1e-7)}
_NP_TOLERANCES = {np.dtype(np.float32): (1.3e-6, 1e-5), np.dtype(np.float64): (1e-7, 1e-7)}


def _is_tensor(x):
    return isinstance(x, strided.Tensor)


def _as_array(x):
    """(values as an ndarray, dtype name or None for a plain number)."""
    if _is_tensor(x):
        return np.array(x.detach().numpy(), copy=True), np_dtype(x.dtype)
    if isinstance(x, np.ndarray):
        return x, x.dtype
    if isinstance(x, np.generic):
        return np.asarray(x), x.dtype
    return np.asarray(x), None


def _leaf(x):
    return _is_tensor(x) or isinstance(x, (np.ndarray, np.generic, bool, int, float))


class TestCase(unittest.TestCase):
    """unittest.TestCase with PyTorch's assertEqual."""
    exact_dtype = True

    def setUp(self):
        _seed(0)

    def _equal(self, x, y, atol, rtol, exact_dtype, path="") -> str:
        """'' if x and y are equal, else why not."""
        if isinstance(x, strided.Size) or isinstance(y, strided.Size):
            if _is_tensor(x) or _is_tensor(y):
                return f"{path}: a size compared with a tensor"
            return "" if tuple(x) == tuple(y) else f"{path}: sizes {tuple(x)} != {tuple(y)}"
        if isinstance(x, (_DTYPE, strided.device, str, type(None))) or \
                isinstance(y, (_DTYPE, strided.device, str, type(None))):
            return "" if x == y else f"{path}: {x!r} != {y!r}"
        seq = (list, tuple)
        if isinstance(x, seq) and isinstance(y, seq):
            if len(x) != len(y):
                return f"{path}: lengths {len(x)} != {len(y)}"
            if all(not _is_tensor(e) and not isinstance(e, np.ndarray) for e in list(x) + list(y)):
                # plain nested lists/numbers: compare as arrays
                try:
                    ax, ay = np.asarray(x), np.asarray(y)
                    if ax.dtype != object and ay.dtype != object:
                        return self._compare_arrays(ax, None, ay, None, atol, rtol, False, path)
                except ValueError:
                    pass
            for i, (a, b) in enumerate(zip(x, y)):
                why = self._equal(a, b, atol, rtol, exact_dtype, f"{path}[{i}]")
                if why:
                    return why
            return ""
        ax, dx = _as_array(x)
        ay, dy = _as_array(y)
        if isinstance(x, seq):      # a list is made a tensor of the other side's kind
            dx = None
        if isinstance(y, seq):
            dy = None
        x_num = dx is None and ax.ndim == 0
        y_num = dy is None and ay.ndim == 0
        if x_num != y_num and (x_num or y_num):
            # a number against a tensor: its only element
            arr = ay if x_num else ax
            if arr.size != 1:
                return f"{path}: a number compared with {arr.size} elements"
            return self._compare_arrays(ax.reshape(()), None, ay.reshape(()), None,
                                        atol, rtol, False, path)
        if dx is None or dy is None:
            exact_dtype = False
        return self._compare_arrays(ax, dx, ay, dy, atol, rtol, exact_dtype, path)

    def _compare_arrays(self, ax, dx, ay, dy, atol, rtol, exact_dtype, path):
        if ax.shape != ay.shape:
            return f"{path}: shapes {ax.shape} != {ay.shape}"
        if exact_dtype and dx is not None and dy is not None and np.dtype(dx) != np.dtype(dy):
            return f"{path}: dtypes {np.dtype(dx)} != {np.dtype(dy)}"
        kinds = {ax.dtype.kind, ay.dtype.kind}
        if kinds <= {"b", "i", "u"} and atol is None:
            ok = np.array_equal(ax.astype(np.int64), ay.astype(np.int64))
            return "" if ok else f"{path}: values differ:\n{ax}\n!=\n{ay}"
        if rtol is None or atol is None:
            cand = [_NP_TOLERANCES.get(np.dtype(d)) for d in (dx, dy) if d is not None]
            cand = [c for c in cand if c] or [_NP_TOLERANCES.get(ax.dtype), _NP_TOLERANCES.get(ay.dtype)]
            cand = [c for c in cand if c] or [(0.0, 0.0)]
            r, a = max(c[0] for c in cand), max(c[1] for c in cand)
            rtol = r if rtol is None else rtol
            atol = a if atol is None else atol
        fx, fy = ax.astype(np.float64), ay.astype(np.float64)
        ok = np.allclose(fx, fy, rtol=rtol, atol=atol, equal_nan=True) if fx.size else True
        return "" if ok else f"{path}: values differ (atol={atol}, rtol={rtol}):\n{ax}\n!=\n{ay}"

    def assertEqual(self, x, y, msg=None, *, atol=None, rtol=None, exact_dtype=None,
                    exact_device=False):
        if exact_dtype is None:
            exact_dtype = self.exact_dtype
        why = self._equal(x, y, atol, rtol, exact_dtype)
        if why:
            self.fail(f"{why}" + (f"\n{msg}" if msg else ""))

    def assertNotEqual(self, x, y, msg=None, *, atol=None, rtol=None, exact_dtype=None):
        if exact_dtype is None:
            exact_dtype = self.exact_dtype
        if not self._equal(x, y, atol, rtol, exact_dtype):
            self.fail(f"{x!r} == {y!r}" + (f"\n{msg}" if msg else ""))

    def compare_with_numpy(self, fn, np_fn, tensor, device=None, dtype=None, **kwargs):
        """fn(tensor) equals np_fn(tensor.numpy())."""
        expected = np_fn(tensor.numpy())
        actual = fn(tensor)
        self.assertEqual(actual, expected, exact_dtype=False, **kwargs)


# --- instantiation ---------------------------------------------------------------------

def instantiate_device_type_tests(cls, scope, xfails=None):
    """Replace cls in scope by <cls.__name__>CPU with one test per (test, dtype),
    named test_<name>_cpu[_<dtype>]; xfails maps a generated name, or a test's base name
    (every dtype), to the reason it is marked xfail(strict=True)."""
    xfails = dict(xfails or {})
    used = set()
    body = {}
    for name, fn in list(vars(cls).items()):
        if not name.startswith("test") or not callable(fn):
            continue
        body[name] = None   # hide the device-generic original
        params = inspect.signature(fn).parameters
        takes_device = "device" in params
        for dt in getattr(fn, "_dtypes", (None,)):
            gen = f"{name}_cpu" + (f"_{dtype_name(dt)}" if dt is not None else "")

            def test(self, _fn=fn, _dt=dt, _dev=takes_device):
                args = ((DEVICE,) if _dev else ()) + ((_dt,) if _dt is not None else ())
                return _fn(self, *args)

            test.__name__ = test.__qualname__ = gen
            test.__doc__ = fn.__doc__
            for key in (gen, name):
                if key in xfails:
                    used.add(key)
                    if not ORACLE:      # PyTorch itself passes them all
                        test = pytest.mark.xfail(strict=True, reason=xfails[key])(test)
                    break
            body[gen] = test
    unknown = set(xfails) - used
    if unknown:
        raise ValueError(f"xfails name no test: {sorted(unknown)}")
    new = type(cls.__name__ + "CPU", (cls,), body)
    new.__module__ = cls.__module__
    scope[new.__name__] = new
    del scope[cls.__name__]
    return new
