"""out= wherever PyTorch has it (NOTE [ out= arguments ] in strided/_C/core/out.pxi).

OUT_FUNCTIONS lists every public strided function that torch also has and whose torch
form takes out= (read from torch's own signatures by test_every_torch_out_function_is_listed,
so a function added later without out= fails here).  For each, over several shapes and
dtypes: the values written into out equal torch's (and its dtype and shape), out may be
contiguous, transposed or a strided slice of a larger tensor (only the view's elements
change), the call returns out itself (the tuple forms: the named tuple of the outs), and
an out of another dtype is accepted or refused exactly when torch accepts or refuses it.
"""
import ast
import inspect
import os

import numpy as np
import pytest

import strided

torch = pytest.importorskip("torch")

# ---- the list ---------------------------------------------------------------------------------

# Functions whose torch form takes out=, but that are not element-wise op-table rows (those
# are tested by test_op_table/test_elementwise) -- each has a case below.
OUT_FUNCTIONS = sorted("""
    mm bmm matmul mv dot outer addmm
    sum nansum mean prod amax amin all any argmax argmin max min logsumexp norm std var
    cumsum cumprod softmax log_softmax nan_to_num where tril triu
    index_select index_add scatter scatter_add scatter_reduce
    gather take_along_dim masked_select index_copy index_reduce cat stack
    sort argsort msort topk kthvalue
    empty zeros ones full arange linspace eye rand randn randint randperm
""".split())


def _torch_out_names():
    """Names of torch functions with an out= parameter, from torch's stub of its bindings
    and torch.functional."""
    path = os.path.join(os.path.dirname(torch.__file__), "_C", "_VariableFunctions.pyi")
    with open(path) as f:
        tree = ast.parse(f.read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            if "out" in [a.arg for a in node.args.args + node.args.kwonlyargs]:
                names.add(node.name)
    import torch.functional as tf
    for n in dir(tf):
        try:
            if "out" in inspect.signature(getattr(tf, n)).parameters:
                names.add(n)
        except (TypeError, ValueError):
            pass
    return names


def _has_out(f):
    try:
        return "out" in inspect.signature(f).parameters
    except (TypeError, ValueError):
        return "out=" in (f.__doc__ or "").split("\n")[0]


def test_every_torch_out_function_is_listed():
    torch_out = _torch_out_names()
    missing = []
    for name in dir(strided):
        f = getattr(strided, name)
        if name.startswith("_") or not callable(f) or isinstance(f, type):
            continue
        if name in torch_out and hasattr(torch, name) and not _has_out(f):
            missing.append(name)
    assert missing == [], f"torch takes out= for these, strided does not: {missing}"
    for name in OUT_FUNCTIONS:
        assert _has_out(getattr(strided, name)), name


# ---- cases ------------------------------------------------------------------------------------

RNG = np.random.default_rng(0)


def _data(shape, dtype):
    if dtype == "bool":
        return RNG.random(shape) > 0.5
    if dtype in ("int64", "int32", "uint8"):      # distinct values: no ties in sort/topk
        n = int(np.prod(shape, dtype=np.int64))
        return (RNG.permutation(n) % 97 - n // 3).reshape(shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def _t(lib, a):
    a = np.array(a, copy=True)
    return strided.from_numpy(a) if lib is strided else torch.from_numpy(a)


def _idx(lib, values):
    return _t(lib, np.asarray(values, dtype=np.int64))


F = ("float32", "float64")
FI = ("float32", "float64", "int64")

# name -> list of (call(lib, *inputs, out=...), input shapes, input dtypes)
CASES = {
    "mm": [(lambda L, a, b, out: L.mm(a, b, out=out), [(3, 4), (4, 5)], FI),
           (lambda L, a, b, out: L.mm(a, b, out=out), [(1, 7), (7, 1)], F),
           (lambda L, a, b, out: L.mm(a, b, out=out), [(4, 0), (0, 3)], F)],
    "bmm": [(lambda L, a, b, out: L.bmm(a, b, out=out), [(2, 3, 4), (2, 4, 5)], FI)],
    "matmul": [(lambda L, a, b, out: L.matmul(a, b, out=out), [(3, 4), (4, 5)], FI),
               (lambda L, a, b, out: L.matmul(a, b, out=out), [(4,), (4, 3)], F),
               (lambda L, a, b, out: L.matmul(a, b, out=out), [(2, 1, 3, 4), (3, 4, 2)], F),
               (lambda L, a, b, out: L.matmul(a, b, out=out), [(5,), (5,)], F)],
    "mv": [(lambda L, a, v, out: L.mv(a, v, out=out), [(3, 4), (4,)], FI)],
    "dot": [(lambda L, a, b, out: L.dot(a, b, out=out), [(6,), (6,)], FI)],
    "outer": [(lambda L, a, b, out: L.outer(a, b, out=out), [(3,), (4,)], FI)],
    "addmm": [(lambda L, c, a, b, out: L.addmm(c, a, b, beta=0.5, alpha=2, out=out),
               [(3, 5), (3, 4), (4, 5)], F),
              (lambda L, c, a, b, out: L.addmm(c, a, b, out=out), [(5,), (3, 4), (4, 5)], F)],
    "sum": [(lambda L, x, out: L.sum(x, 1, out=out), [(3, 4)], FI),
            (lambda L, x, out: L.sum(x, (0, 2), keepdim=True, out=out), [(2, 3, 4)], F)],
    "nansum": [(lambda L, x, out: L.nansum(x, 0, out=out), [(3, 4)], F)],
    "mean": [(lambda L, x, out: L.mean(x, 1, out=out), [(3, 4)], F),
             (lambda L, x, out: L.mean(x, (0, 1), keepdim=True, out=out), [(2, 3, 4)], F)],
    "prod": [(lambda L, x, out: L.prod(x, 1, out=out), [(3, 4)], FI)],
    "amax": [(lambda L, x, out: L.amax(x, 1, out=out), [(3, 4)], FI),
             (lambda L, x, out: L.amax(x, (0, 2), out=out), [(2, 3, 4)], F)],
    "amin": [(lambda L, x, out: L.amin(x, 0, keepdim=True, out=out), [(3, 4)], FI)],
    "all": [(lambda L, x, out: L.all(x, 1, out=out), [(3, 4)], ("bool", "float32"))],
    "any": [(lambda L, x, out: L.any(x, 0, out=out), [(3, 4)], ("bool", "int64"))],
    "argmax": [(lambda L, x, out: L.argmax(x, 1, out=out), [(3, 4)], FI),
               (lambda L, x, out: L.argmax(x, 0, keepdim=True, out=out), [(2, 3, 4)], F)],
    "argmin": [(lambda L, x, out: L.argmin(x, 1, out=out), [(3, 4)], FI)],
    "max": [(lambda L, x, out: L.max(x, out=out), [(3, 4)], FI),
            (lambda L, x, y, out: L.max(x, y, out=out), [(3, 4), (3, 4)], F),
            (lambda L, x, out: L.max(x, 1, out=out), [(3, 4)], FI),
            (lambda L, x, out: L.max(x, 0, keepdim=True, out=out), [(2, 3, 4)], F)],
    "min": [(lambda L, x, out: L.min(x, out=out), [(3, 4)], F),
            (lambda L, x, y, out: L.min(x, y, out=out), [(3, 4), (3, 4)], F),
            (lambda L, x, out: L.min(x, 1, out=out), [(3, 4)], FI)],
    "logsumexp": [(lambda L, x, out: L.logsumexp(x, 1, out=out), [(3, 4)], F)],
    "norm": [(lambda L, x, out: L.norm(x, 2, 1, out=out), [(3, 4)], F),
             (lambda L, x, out: L.norm(x, 1, (0, 1), keepdim=True, out=out), [(2, 3, 4)], F)],
    "std": [(lambda L, x, out: L.std(x, 1, out=out), [(3, 4)], F)],
    "var": [(lambda L, x, out: L.var(x, (0, 2), correction=0, out=out), [(2, 3, 4)], F)],
    "cumsum": [(lambda L, x, out: L.cumsum(x, 1, out=out), [(3, 4)], FI),
               (lambda L, x, out: L.cumsum(x, 0, out=out), [(5,)], F)],
    "cumprod": [(lambda L, x, out: L.cumprod(x, 0, out=out), [(3, 4)], FI)],
    "softmax": [(lambda L, x, out: L.softmax(x, 1, out=out), [(3, 4)], F)],
    "log_softmax": [(lambda L, x, out: L.log_softmax(x, 0, out=out), [(3, 4)], F)],
    "nan_to_num": [(lambda L, x, out: L.nan_to_num(x / (x * 0.0 + (x > 0.5)), 0.0, out=out),
                    [(3, 4)], F)],
    "where": [(lambda L, x, y, out: L.where(x > 0, x, y, out=out), [(3, 4), (3, 4)], FI),
              (lambda L, x, y, out: L.where(x > 0, x, y, out=out), [(3, 1), (4,)], F)],
    "tril": [(lambda L, x, out: L.tril(x, out=out), [(3, 4)], FI),
             (lambda L, x, out: L.tril(x, -1, out=out), [(2, 4, 3)], F)],
    "triu": [(lambda L, x, out: L.triu(x, 1, out=out), [(4, 3)], FI)],
    "index_select": [(lambda L, x, out: L.index_select(x, 1, _idx(L, [2, 0, 2]), out=out),
                      [(3, 4)], FI)],
    "index_add": [(lambda L, x, s, out: L.index_add(x, 0, _idx(L, [2, 0]), s, out=out),
                   [(3, 4), (2, 4)], FI)],
    "scatter": [(lambda L, x, s, out: L.scatter(x, 0, _idx(L, [[1, 0, 2, 1]]), s, out=out),
                 [(3, 4), (1, 4)], FI)],
    "scatter_add": [(lambda L, x, s, out: L.scatter_add(x, 1, _idx(L, [[0, 0], [3, 1], [2, 2]]),
                                                        s, out=out), [(3, 4), (3, 2)], FI)],
    "scatter_reduce": [(lambda L, x, s, out: L.scatter_reduce(
        x, 0, _idx(L, [[1, 0, 2, 1], [1, 1, 1, 1]]), s, "amax", out=out), [(3, 4), (2, 4)], F)],
    "gather": [(lambda L, x, out: L.gather(x, 1, _idx(L, [[0, 3], [1, 1], [2, 0]]), out=out),
                [(3, 4)], FI)],
    "take_along_dim": [(lambda L, x, out: L.take_along_dim(x, _idx(L, [[0], [3], [1]]), 1,
                                                           out=out), [(3, 4)], F)],
    "masked_select": [(lambda L, x, out: L.masked_select(x, x > 0, out=out), [(3, 4)], F)],
    "index_copy": [(lambda L, x, s, out: L.index_copy(x, 0, _idx(L, [2, 0]), s, out=out),
                    [(3, 4), (2, 4)], F)],
    "index_reduce": [(lambda L, x, s, out: L.index_reduce(x, 0, _idx(L, [2, 0]), s, "prod",
                                                          out=out), [(3, 4), (2, 4)], F)],
    "cat": [(lambda L, x, y, out: L.cat([x, y], 0, out=out), [(2, 3), (1, 3)], FI),
            (lambda L, x, y, out: L.cat([x, y], 1, out=out), [(2, 3), (2, 2)], F)],
    "stack": [(lambda L, x, y, out: L.stack([x, y], 1, out=out), [(2, 3), (2, 3)], F)],
    "sort": [(lambda L, x, out: L.sort(x, 1, out=out), [(3, 4)], FI),
             (lambda L, x, out: L.sort(x, 0, descending=True, out=out), [(3, 2, 4)], F)],
    "argsort": [(lambda L, x, out: L.argsort(x, dim=1, stable=True, out=out), [(3, 4)], FI)],
    "msort": [(lambda L, x, out: L.msort(x, out=out), [(3, 4)], FI)],
    "topk": [(lambda L, x, out: L.topk(x, 2, out=out), [(3, 4)], FI),
             (lambda L, x, out: L.topk(x, 2, 0, largest=False, out=out), [(3, 4)], F)],
    "kthvalue": [(lambda L, x, out: L.kthvalue(x, 2, 1, out=out), [(3, 4)], F),
                 (lambda L, x, out: L.kthvalue(x, 1, 0, keepdim=True, out=out), [(3, 4)], F)],
    "zeros": [(lambda L, out: L.zeros(3, 4, out=out), [], ("float32",))],
    "ones": [(lambda L, out: L.ones((2, 3), out=out), [], ("float32",))],
    "full": [(lambda L, out: L.full((3, 2), 2.5, out=out), [], ("float32",))],
    "arange": [(lambda L, out: L.arange(1, 10, 2, out=out), [], ("float32",)),
               (lambda L, out: L.arange(6, out=out), [], ("float32",))],
    "linspace": [(lambda L, out: L.linspace(-1, 1, 7, out=out), [], ("float32",))],
    "eye": [(lambda L, out: L.eye(3, out=out), [], ("float32",)),
            (lambda L, out: L.eye(2, 4, out=out), [], ("float32",))],
}
# results that are not values to compare: only shape/dtype (and, for the random ones, equal
# to strided's own call without out= from the same seed)
UNCOMPARED = {"empty", "rand", "randn", "randint", "randperm"}
OUT_DTYPES = ("float32", "float64", "int64", "int32", "bool")
LAYOUTS = ("contiguous", "transposed", "sliced")


def _cases():
    for name in OUT_FUNCTIONS:
        for i, (call, shapes, dtypes) in enumerate(CASES.get(name, ())):
            for dt in dtypes:
                yield pytest.param(name, call, shapes, dt, id=f"{name}-{i}-{dt}")


def test_every_listed_function_has_a_case():
    assert sorted(set(OUT_FUNCTIONS) - set(CASES) - UNCOMPARED) == []


def _make_out(lib, shape, dtype, layout):
    """(out, base, covered): out a view of base with the given layout; covered the flat
    positions of base that out's elements occupy."""
    n = len(shape)
    if layout == "transposed" and n >= 2:
        bshape = tuple(reversed(shape))
        base = _t(lib, np.full(bshape, 7, dtype=dtype))
        out = base.permute(*reversed(range(n)))
        cov = np.arange(int(np.prod(bshape))).reshape(bshape).transpose()
    elif layout == "sliced":
        bshape = tuple(shape[:-1]) + (2 * shape[-1] + 1,) if n else (3,)
        base = _t(lib, np.full(bshape, 7, dtype=dtype))
        idx = np.arange(int(np.prod(bshape))).reshape(bshape)
        if n:
            out, cov = base[..., 1::2], idx[..., 1::2]
        else:
            out, cov = base[1], idx[1]
    else:
        base = _t(lib, np.full(shape, 7, dtype=dtype))
        out, cov = base, np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
    return out, base, np.asarray(cov).ravel()


def _np(t):
    return t.numpy() if isinstance(t, torch.Tensor) else np.asarray(t.numpy())


def _tol(dt):
    return dict(rtol=1e-4, atol=1e-5) if dt == "float32" else dict(rtol=1e-10, atol=1e-12)


def _as_tuple(r):
    return tuple(r) if isinstance(r, tuple) else (r,)


def _check_written(name, r_s, outs_s, bases_s, covs, expected, layout):
    if len(outs_s) == 1:
        assert r_s is outs_s[0], f"{name}: out= must return out itself"
    else:
        assert isinstance(r_s, tuple) and all(a is b for a, b in zip(r_s, outs_s)), name
        assert r_s.values is outs_s[0] and r_s.indices is outs_s[1], name
    for o, base, cov, e in zip(outs_s, bases_s, covs, expected):
        assert tuple(o.shape) == tuple(e.shape), (name, layout)
        assert str(o.dtype).split(".")[-1] == str(e.dtype).split(".")[-1], (name, layout)
        got = _np(o)
        want = e.numpy()
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got, want, **_tol(str(want.dtype)), err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)
        flat = _np(base).ravel()
        untouched = np.setdiff1d(np.arange(flat.size), cov)
        assert (flat[untouched] == np.array(7).astype(flat.dtype)).all(), \
            f"{name}: elements outside the out view changed"


@pytest.mark.parametrize("name, call, shapes, dt", list(_cases()))
def test_out_matches_torch(name, call, shapes, dt):
    arrays = [_data(s, dt) for s in shapes]
    xs_t = [_t(torch, a) for a in arrays]
    ref = _as_tuple(call(torch, *xs_t, out=None))
    for layout in LAYOUTS:
        outs_dt = [str(e.dtype).split(".")[-1] for e in ref]
        outs_s, bases_s, covs = zip(*[_make_out(strided, tuple(e.shape), d, layout)
                                      for e, d in zip(ref, outs_dt)])
        xs_s = [_t(strided, a) for a in arrays]
        out_arg = outs_s if len(outs_s) > 1 else outs_s[0]
        r_s = call(strided, *xs_s, out=out_arg)
        _check_written(name, r_s, outs_s, bases_s, covs, ref, layout)
        # torch agrees on the same layout
        outs_t = [_make_out(torch, tuple(e.shape), d, layout)[0] for e, d in zip(ref, outs_dt)]
        call(torch, *xs_t, out=tuple(outs_t) if len(outs_t) > 1 else outs_t[0])
        for a, b in zip(outs_s, outs_t):
            np.testing.assert_allclose(_np(a), _np(b), **_tol(dt if dt in F else "float64"))


@pytest.mark.parametrize("name, call, shapes, dt", list(_cases()))
def test_out_dtype_rule_matches_torch(name, call, shapes, dt):
    """An out of each other dtype: refused when torch refuses it, else the same values."""
    arrays = [_data(s, dt) for s in shapes]
    ref = _as_tuple(call(torch, *[_t(torch, a) for a in arrays], out=None))
    for od in OUT_DTYPES:
        dts = [od] + [str(e.dtype).split(".")[-1] for e in ref[1:]]
        outs_t = [_t(torch, np.zeros(tuple(e.shape), d)) for e, d in zip(ref, dts)]
        try:
            call(torch, *[_t(torch, a) for a in arrays],
                 out=tuple(outs_t) if len(outs_t) > 1 else outs_t[0])
        except (RuntimeError, TypeError, NotImplementedError):
            accepted = False
        else:
            accepted = True
        outs_s = [_t(strided, np.zeros(tuple(e.shape), d)) for e, d in zip(ref, dts)]
        out_arg = tuple(outs_s) if len(outs_s) > 1 else outs_s[0]
        xs_s = [_t(strided, a) for a in arrays]
        if not accepted:
            with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
                call(strided, *xs_s, out=out_arg)
            continue
        call(strided, *xs_s, out=out_arg)
        for a, b in zip(outs_s, outs_t):
            if od == "float32" or a.dtype.is_floating_point:
                np.testing.assert_allclose(_np(a), _np(b), rtol=1e-4, atol=1e-5,
                                           err_msg=f"{name} into {od}")
            else:
                np.testing.assert_array_equal(_np(a), _np(b), err_msg=f"{name} into {od}")


# ---- creation functions without values to compare --------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name, call, dtype", [
    ("empty", lambda L, **kw: L.empty(3, 4, **kw), "float32"),
    ("rand", lambda L, **kw: L.rand(3, 4, **kw), "float64"),
    ("randn", lambda L, **kw: L.randn((3, 4), **kw), "float32"),
    ("randint", lambda L, **kw: L.randint(2, 9, (3, 4), **kw), "int64"),
    ("randint", lambda L, **kw: L.randint(2, 9, (3, 4), **kw), "float32"),
    ("randperm", lambda L, **kw: L.randperm(7, **kw), "int64"),
])
def test_random_and_empty_out(name, call, dtype, layout):
    """Values torch cannot be compared with: out gets what the call without out= gives in
    out's dtype from the same seed, and only out's elements of its base change."""
    shape = tuple(call(torch).shape)
    out, base, cov = _make_out(strided, shape, dtype, layout)
    strided.manual_seed(3)
    r = call(strided, out=out)
    assert r is out and r.dtype == getattr(strided, dtype) and tuple(r.shape) == shape
    flat = base.numpy().ravel()
    assert (flat[np.setdiff1d(np.arange(flat.size), cov)] == np.array(7).astype(flat.dtype)).all()
    if name == "empty":
        return
    strided.manual_seed(3)
    fresh = call(strided, dtype=getattr(strided, dtype))
    np.testing.assert_array_equal(out.numpy(), fresh.numpy())
    if name == "randperm":
        assert sorted(out.tolist()) == list(range(7))


# ---- the shared rules ------------------------------------------------------------------------

def test_wrong_shape_is_refused_and_zero_element_out_too():
    a, b = strided.ones(2, 3), strided.ones(3, 4)
    for out in (strided.empty(2, 5), strided.empty(0)):
        with pytest.raises(RuntimeError, match="does not resize out="):
            strided.mm(a, b, out=out)
        with pytest.raises(RuntimeError, match="does not resize out="):
            strided.sum(a, 1, out=out)
        with pytest.raises(RuntimeError, match="does not resize out="):
            strided.zeros(2, 4, out=out)
    with pytest.raises(RuntimeError, match="does not resize out="):
        strided.sort(a, out=(strided.empty(2, 3), strided.empty(0, dtype=strided.int64)))


def test_out_must_be_a_tensor_or_a_tuple_of_two():
    a = strided.ones(2, 3)
    with pytest.raises(TypeError, match="argument 'out' must be Tensor"):
        strided.mm(a, a.t(), out=[1])
    with pytest.raises(TypeError, match="must be tuple of 2 Tensors"):
        strided.sort(a, out=strided.empty(2, 3))
    with pytest.raises(TypeError, match="must be tuple of 2 Tensors"):
        strided.max(a, 1, out=(strided.empty(2),))


@pytest.mark.parametrize("fn", [
    lambda x, out: strided.mm(x, x, out=out),
    lambda x, out: strided.matmul(x, x, out=out),
    lambda x, out: strided.sum(x, 0, keepdim=True, out=out),
    lambda x, out: strided.cumsum(x, 0, out=out),
    lambda x, out: strided.tril(x, out=out),
    lambda x, out: strided.softmax(x, 1, out=out),
    lambda x, out: strided.index_select(x, 0, strided.tensor([2, 0, 1]), out=out),
])
def test_autograd_refused_then_written_under_no_grad(fn):
    x = strided.randn(3, 3, requires_grad=True)
    shape = tuple(fn(x.detach(), None).shape)
    out = strided.zeros(shape)
    with pytest.raises(RuntimeError, match=r"functions with out=\.\.\. arguments don't support "
                                           r"automatic differentiation, but one of the "
                                           r"arguments requires grad\."):
        fn(x, out)
    assert (out == 0).all().item()
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        fn(x.detach(), strided.zeros(shape, requires_grad=True))
    version = out._version
    with strided.no_grad():
        r = fn(x, out)
    assert r is out and out._version > version and not out.requires_grad
    np.testing.assert_allclose(out.numpy(), fn(x.detach(), None).numpy(), rtol=1e-5)


def test_tuple_out_refused_under_autograd():
    x = strided.randn(3, 4, requires_grad=True)
    outs = (strided.empty(3, 4), strided.empty(3, 4, dtype=strided.int64))
    for call in (lambda: strided.sort(x, out=outs),
                 lambda: strided.max(x, 1, out=(outs[0][:, 0], outs[1][:, 0]))):
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            call()


def test_writing_out_bumps_its_version_so_saved_tensors_fail():
    w = strided.randn(3, 3, requires_grad=True)
    h = strided.randn(3, 3)
    y = (w * h).sum()              # saves h
    with strided.no_grad():
        strided.mm(strided.eye(3), strided.eye(3), out=h)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_out_overlapping_an_input_gives_the_right_answer(dtype):
    a0 = _data((4, 4), dtype)
    b0 = _data((4, 4), dtype)
    tol = _tol(dtype)
    a, b = _t(strided, a0), _t(strided, b0)
    strided.mm(a, b, out=a)                                  # out is an operand
    np.testing.assert_allclose(a.numpy(), a0 @ b0, **tol)
    a = _t(strided, a0)
    strided.mm(a, b, out=a.t())                              # out is an operand's transpose
    np.testing.assert_allclose(a.numpy(), (a0 @ b0).T, **tol)
    a = _t(strided, a0)
    strided.matmul(a[:2], a, out=a[2:])                      # out overlaps neither row read twice
    np.testing.assert_allclose(a.numpy()[2:], a0[:2] @ a0, **tol)
    a = _t(strided, a0)
    strided.bmm(a.view(2, 2, 4)[:, :, :2], a.view(2, 2, 4)[:, :, 2:], out=a.view(2, 2, 4)[:, :, :2])
    r = a0.reshape(2, 2, 4)
    np.testing.assert_allclose(a.numpy().reshape(2, 2, 4)[:, :, :2], r[:, :, :2] @ r[:, :, 2:],
                               **tol)
    x = _t(strided, a0)
    strided.cumsum(x, 1, out=x)
    np.testing.assert_allclose(x.numpy(), np.cumsum(a0, 1), **tol)
    x = _t(strided, a0)
    strided.sum(x, 0, keepdim=True, out=x[1:2])
    np.testing.assert_allclose(x.numpy()[1], a0.sum(0), **tol)
    x = _t(strided, a0)
    v, i = strided.sort(x, 1, out=(x, strided.empty(4, 4, dtype=strided.int64)))
    np.testing.assert_allclose(x.numpy(), np.sort(a0, 1), **tol)
    x = _t(strided, a0)
    strided.tril(x, out=x.t())
    np.testing.assert_allclose(x.numpy(), np.tril(a0).T, **tol)
    x = _t(strided, a0)
    strided.softmax(x, 0, out=x)
    e = np.exp(a0 - a0.max(0))
    np.testing.assert_allclose(x.numpy(), e / e.sum(0), **tol)


def test_tuple_outs_must_not_share_memory():
    x = strided.randn(3, 4)
    buf = strided.empty(3, 4, dtype=strided.int64)
    with pytest.raises(RuntimeError, match="must not share memory"):
        strided.sort(x.long(), out=(buf, buf))


def test_read_only_out_is_refused():
    a = np.zeros((2, 2), np.float32)
    a.flags.writeable = False
    out = strided.from_numpy(a)
    with pytest.raises(ValueError):
        strided.mm(strided.ones(2, 2), strided.ones(2, 2), out=out)
    with pytest.raises(ValueError):
        strided.zeros(2, 2, out=out)


# ---- the matrix functions (torch.inverse, torch.svd, ...): named tuples of their own ----------

def _spd(n, dt, seed):
    a = np.random.default_rng(seed).standard_normal((n, n))
    return (a @ a.T + n * np.eye(n)).astype(dt)


MATRIX_CASES = [
    ("inverse", lambda L, a, out: L.inverse(a, out=out), 1),
    ("cholesky", lambda L, a, out: L.cholesky(a, out=out), 1),
    ("cholesky_upper", lambda L, a, out: L.cholesky(a, True, out=out), 1),
    ("diag", lambda L, a, out: L.diag(a, 1, out=out), 1),
    ("matrix_power", lambda L, a, out: L.matrix_power(a, 3, out=out), 1),
    ("slogdet", lambda L, a, out: L.slogdet(a, out=out), 2),
    ("qr", lambda L, a, out: L.qr(a, out=out), 2),
    ("svd", lambda L, a, out: L.svd(a, out=out), 3),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dt", F)
@pytest.mark.parametrize("name, call, nout", MATRIX_CASES, ids=[c[0] for c in MATRIX_CASES])
def test_matrix_function_out_matches_torch(name, call, nout, dt, layout):
    a = _spd(4, dt, 1)
    ref = _as_tuple(call(torch, _t(torch, a), None))
    assert len(ref) == nout
    made = [_make_out(strided, tuple(e.shape), str(e.dtype).split(".")[-1], layout)
            for e in ref]
    outs = tuple(m[0] for m in made)
    r = call(strided, _t(strided, a), outs if nout > 1 else outs[0])
    if nout == 1:
        assert r is outs[0]
    else:
        assert isinstance(r, tuple) and all(x is y for x, y in zip(r, outs))
    for o, (_, base, cov), e in zip(outs, made, ref):
        want = e.numpy()
        got = _np(o)
        if name in ("qr", "svd"):                 # factors are unique up to column signs
            got, want = np.abs(got), np.abs(want)
        np.testing.assert_allclose(got, want, **_tol(dt), err_msg=name)
        flat = _np(base).ravel()
        untouched = np.setdiff1d(np.arange(flat.size), cov)
        assert (flat[untouched] == 7).all(), f"{name}: elements outside the out view changed"


def test_matrix_function_out_refuses_wrong_dtype_and_autograd():
    a = strided.tensor(_spd(3, "float64", 2))
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype double"):
        strided.inverse(a, out=strided.empty(3, 3))
    with pytest.raises(RuntimeError, match="doesn't match"):
        strided.qr(a, out=(strided.empty(3, 3, dtype=strided.float64),
                           strided.empty(2, 3, dtype=strided.float64)))
    a.requires_grad_()
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        strided.svd(a, out=tuple(strided.empty(*s, dtype=strided.float64)
                                 for s in ((3, 3), (3,), (3, 3))))
