"""Matrix products against PyTorch: values, result dtypes, which calls fail and how.

Every call runs on the same data in strided and in torch; results must agree in shape,
dtype and value (exactly for integers), and a call must raise in strided exactly when it
raises in torch, with the same exception type -- and, for the messages strided copies,
the same text.  Every test runs once per GEMM kernel table this CPU can run.
"""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import strided                                   # noqa: E402
import strided.nn.functional as F                # noqa: E402
from strided._C.kernels import gemm as _gemm     # noqa: E402



@pytest.fixture(autouse=True, params=_gemm._kernel_tables())
def kernel_table(request):
    """Every test of this module on every kernel table."""
    old = _gemm._kernel_name()
    _gemm._set_kernel(request.param)
    yield request.param
    _gemm._set_kernel(old)


DTYPES = ("bool", "uint8", "int32", "int64", "float32", "float64")
TORCH = {"bool": torch.bool, "uint8": torch.uint8, "int32": torch.int32, "int64": torch.int64,
         "float32": torch.float32, "float64": torch.float64}


def data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype in ("float32", "float64"):
        return rng.uniform(-1, 1, size=shape).astype(dtype)
    return rng.integers(0, 5, size=shape).astype(dtype)


def pair(array):
    return strided.from_numpy(array.copy()), torch.from_numpy(array.copy())


def call_both(s_fn, t_fn, *arrays, **kwargs):
    """(strided result or exception, torch result or exception)."""
    s_args, t_args = zip(*(pair(a) for a in arrays)) if arrays else ((), ())
    out = []
    for fn, args in ((s_fn, s_args), (t_fn, t_args)):
        try:
            out.append(fn(*args, **kwargs))
        except Exception as e:          # noqa: BLE001 -- compared below
            out.append(e)
    return out


def assert_same(s, t, exact_message=False):
    if isinstance(t, Exception):
        assert isinstance(s, Exception), f"torch raised {t!r}, strided returned {s!r}"
        assert isinstance(s, type(t)) or type(t) in type(s).__mro__, (s, t)
        if exact_message:
            assert str(s) == str(t)
        return
    assert not isinstance(s, Exception), f"strided raised {s!r}, torch returned"
    tv = t.numpy()
    sv = s.numpy()
    assert sv.shape == tv.shape
    assert sv.dtype == tv.dtype, (sv.dtype, tv.dtype)
    if tv.dtype.kind == "f":
        k = 1 + max(tv.ndim, 1)
        np.testing.assert_allclose(sv, tv, rtol=1e-5 * k, atol=1e-5 * k)
    else:
        np.testing.assert_array_equal(sv, tv)


# --------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------

SHAPE_PAIRS = [
    ((5,), (5,)), ((3, 5), (5,)), ((5,), (5, 4)), ((3, 5), (5, 4)),
    ((2, 3, 5), (5,)), ((5,), (2, 5, 4)), ((2, 3, 5), (5, 4)), ((3, 5), (2, 5, 4)),
    ((2, 3, 5), (2, 5, 4)), ((2, 1, 3, 5), (4, 5, 2)), ((1, 3, 5), (6, 5, 4)),
    ((0, 3, 5), (5, 4)), ((3, 0), (0, 4)), ((2, 3, 5), (1, 5, 0)), ((0,), (0,)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS)
def test_matmul_like_torch(dtype, sa, sb):
    s, t = call_both(strided.matmul, torch.matmul, data(sa, dtype, 1), data(sb, dtype, 2))
    assert_same(s, t, exact_message=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mm_bmm_mv_dot_like_torch(dtype):
    assert_same(*call_both(strided.mm, torch.mm, data((4, 6), dtype), data((6, 3), dtype, 1)),
                exact_message=True)
    assert_same(*call_both(strided.bmm, torch.bmm, data((3, 4, 6), dtype),
                           data((3, 6, 2), dtype, 1)), exact_message=True)
    assert_same(*call_both(strided.mv, torch.mv, data((4, 6), dtype), data((6,), dtype, 1)),
                exact_message=True)
    assert_same(*call_both(strided.dot, torch.dot, data((7,), dtype), data((7,), dtype, 1)),
                exact_message=True)


@pytest.mark.parametrize("da,db", list(itertools.product(DTYPES, DTYPES)))
def test_outer_promotes_like_torch(da, db):
    assert_same(*call_both(strided.outer, torch.outer, data((4,), da), data((3,), db, 1)))


@pytest.mark.parametrize("da,db", [(a, b) for a, b in itertools.product(DTYPES, DTYPES) if a != b])
def test_mixed_dtypes_refused_like_torch(da, db):
    a, b = data((3, 4), da), data((4, 2), db, 1)
    assert_same(*call_both(strided.mm, torch.mm, a, b), exact_message=True)
    assert_same(*call_both(strided.matmul, torch.matmul, a, b), exact_message=True)
    assert_same(*call_both(strided.matmul, torch.matmul, data((2, 3, 4), da), b),
                exact_message=True)
    assert_same(*call_both(strided.matmul, torch.matmul, data((2, 3, 4), da),
                           data((2, 4, 2), db)), exact_message=True)
    assert_same(*call_both(strided.bmm, torch.bmm, data((2, 3, 4), da), data((2, 4, 2), db)),
                exact_message=True)
    assert_same(*call_both(strided.dot, torch.dot, data((4,), da), data((4,), db)),
                exact_message=True)
    assert_same(*call_both(strided.mv, torch.mv, a, data((4,), db)), exact_message=True)


@pytest.mark.parametrize("dtype", ("uint8", "int32", "int64", "float32", "float64"))
@pytest.mark.parametrize("input_shape", [(3, 4), (4,), (1, 4), (3, 1), ()])
@pytest.mark.parametrize("alpha,beta", [(1, 1), (2, 0), (0.5, 1.5), (-1, 2), (0, 1)])
def test_addmm_like_torch(dtype, input_shape, alpha, beta):
    if dtype == "uint8" and (alpha < 0 or beta < 0):
        alpha, beta = abs(alpha), abs(beta)
    s, t = call_both(lambda c, a, b: strided.addmm(c, a, b, beta=beta, alpha=alpha),
                     lambda c, a, b: torch.addmm(c, a, b, beta=beta, alpha=alpha),
                     data(input_shape, dtype), data((3, 5), dtype, 1), data((5, 4), dtype, 2))
    assert_same(s, t)


@pytest.mark.parametrize("dtype", ("float32", "float64", "int64"))
@pytest.mark.parametrize("xshape", [(6,), (3, 6), (2, 3, 6), (2, 2, 3, 6), (0, 6)])
@pytest.mark.parametrize("bias", [None, (4,), (1,), ()])
def test_linear_like_torch(dtype, xshape, bias):
    arrays = [data(xshape, dtype), data((4, 6), dtype, 1)]
    if bias is not None:
        arrays.append(data(bias, dtype, 2))
    assert_same(*call_both(F.linear, torch.nn.functional.linear, *arrays))


def test_linear_vector_weight_like_torch():
    for xshape, wshape, bshape in [((3, 6), (6,), None), ((6,), (6,), None), ((6,), (6,), ()),
                                   ((2, 3, 6), (6,), (3,)), ((6,), (4, 6), (4,))]:
        arrays = [data(xshape, "float64"), data(wshape, "float64", 1)]
        if bshape is not None:
            arrays.append(data(bshape, "float64", 2))
        assert_same(*call_both(F.linear, torch.nn.functional.linear, *arrays))


def test_integer_overflow_wraps_like_torch():
    for dtype, v in (("uint8", 200), ("int32", 2**30), ("int64", 2**62)):
        a = np.full((1, 2), v, dtype)
        b = np.full((2, 1), 3, dtype)
        assert_same(*call_both(strided.matmul, torch.matmul, a, b))


def test_nan_handling_like_torch():
    nan = np.full((2, 2), np.nan, np.float32)
    ones = np.ones((2, 2), np.float32)
    for alpha, beta in ((1, 0), (0, 1), (1, 1), (0, 0)):
        assert_same(*call_both(lambda c, a, b: strided.addmm(c, a, b, beta=beta, alpha=alpha),
                               lambda c, a, b: torch.addmm(c, a, b, beta=beta, alpha=alpha),
                               nan, ones, ones))
        assert_same(*call_both(lambda c, a, b: strided.addmm(c, a, b, beta=beta, alpha=alpha),
                               lambda c, a, b: torch.addmm(c, a, b, beta=beta, alpha=alpha),
                               ones, nan, ones))


def test_strided_operands_like_torch():
    x = data((4, 9, 7), "float32")
    y = data((7, 9), "float32", 1)
    sx, tx = pair(x)
    sy, ty = pair(y)
    for f in (lambda a, b: a[:, ::2].transpose(1, 2).flip(0) @ b[:5, ::3].flip(1),
              lambda a, b: a.permute(2, 0, 1)[:, 1] @ b.t().flip(0),
              lambda a, b: a.transpose(0, 1)[:, None].expand(9, 3, 4, 7) @ b[None, None, :, 1:4]):
        assert_same(f(sx, sy), f(tx, ty))


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------

ERROR_CASES = [
    ("mm", [(2, 3), (4, 5)]), ("mm", [(3,), (3, 2)]), ("mm", [(2, 3), (3,)]),
    ("matmul", [(2, 3), (4, 5)]), ("matmul", [(3,), (4,)]), ("matmul", [(3,), (4, 5)]),
    ("matmul", [(2, 3), (4,)]), ("matmul", [(2, 2, 3), (4, 5)]), ("matmul", [(2, 4, 3), (4,)]),
    ("matmul", [(2, 2, 3), (2, 4, 5)]), ("matmul", [(2, 2, 3), (3, 3, 5)]),
    ("matmul", [(3,), (2, 4, 5)]), ("matmul", [(), (3,)]),
    ("bmm", [(2, 2, 3), (2, 4, 5)]), ("bmm", [(2, 2, 3), (3, 3, 5)]), ("bmm", [(2, 3), (3, 5)]),
    ("mv", [(2, 3), (4,)]), ("mv", [(2, 3), (3, 1)]),
    ("dot", [(3,), (4,)]), ("dot", [(3, 1), (3,)]),
    ("outer", [(3, 1), (3,)]), ("outer", [(3,), (3, 1)]),
    ("addmm", [(3,), (2, 3), (3, 4)]), ("addmm", [(2, 2), (2,), (2, 2)]),
    ("addmm", [(2, 4), (2, 3), (4, 4)]),
    ("linear", [(2, 5), (4, 3)]), ("linear", [(), (4, 3)]), ("linear", [(2, 3), (2, 4, 3)]),
]


@pytest.mark.parametrize("name,shapes", ERROR_CASES)
def test_errors_like_torch(name, shapes):
    s_fn = F.linear if name == "linear" else getattr(strided, name)
    t_fn = torch.nn.functional.linear if name == "linear" else getattr(torch, name)
    arrays = [data(sh, "float32", i) for i, sh in enumerate(shapes)]
    s, t = call_both(s_fn, t_fn, *arrays)
    assert isinstance(t, Exception)
    assert_same(s, t, exact_message=True)


@pytest.mark.parametrize("name", ["matmul", "mm", "bmm", "mv", "dot", "outer"])
def test_non_tensor_arguments_like_torch(name):
    t_fn, s_fn = getattr(torch, name), getattr(strided, name)
    with pytest.raises(TypeError) as te:
        t_fn(torch.ones(3, 3), [1, 2, 3])
    with pytest.raises(TypeError) as se:
        s_fn(strided.ones(3, 3), [1, 2, 3])
    assert str(se.value).split("(")[0] == str(te.value).split("(")[0]
