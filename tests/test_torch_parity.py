"""strided against PyTorch: view ops (sizes, strides, storage_offset, values), error
messages, DLPack exchange in both directions and is_contiguous."""
import itertools
import math
import random

import numpy as np
import pytest

import strided

torch = pytest.importorskip("torch")

STORAGE = 200

# (shape, strides, storage_offset): non-negative strides only, so torch can build them too.
LAYOUTS = {
    "0d": ((), (), 3),
    "1d": ((6,), (1,), 0),
    "1d_step": ((5,), (3,), 2),
    "1d_size1": ((1,), (7,), 4),
    "2d": ((3, 4), (4, 1), 0),
    "2d_offset": ((3, 4), (4, 1), 9),
    "2d_T": ((4, 3), (1, 4), 0),
    "2d_sliced": ((3, 4), (10, 2), 1),
    "2d_colslice": ((4, 2), (5, 1), 2),       # rows of a wider matrix
    "2d_expand_rows": ((3, 4), (0, 1), 1),
    "2d_expand_cols": ((3, 4), (1, 0), 1),
    "2d_odd": ((3, 2), (2, 3), 0),
    "3d": ((2, 3, 4), (12, 4, 1), 0),
    "3d_perm": ((3, 2, 4), (4, 12, 1), 5),
    "3d_fortran": ((2, 3, 4), (1, 2, 6), 0),
    "3d_inner_T": ((2, 4, 3), (12, 1, 4), 0),
    "3d_sliced": ((2, 3, 2), (40, 8, 3), 7),
    "3d_expand_mid": ((2, 3, 4), (4, 0, 1), 0),
    "size1_dims": ((2, 1, 3, 1), (3, 17, 1, 5), 0),
    "size1_lead": ((1, 4, 3), (50, 1, 4), 0),
    "4d": ((2, 2, 3, 2), (12, 6, 2, 1), 0),
    "4d_mixed": ((2, 2, 2, 3), (24, 3, 12, 1), 1),
    "empty_0x3": ((0, 3), (3, 1), 0),
    "empty_3x0": ((3, 0), (1, 1), 0),
    "empty_T": ((3, 0), (1, 3), 0),
    "empty_3d": ((2, 0, 4), (4, 4, 1), 0),
    "empty_offset": ((0, 5), (5, 1), 10),
}


# Layouts over a fresh, exactly-sized storage (empty storage for the empty ones): views
# of these must stay valid even though offsets may point at (or past) the storage end.
FRESH = {"fresh_0x5": (0, 5), "fresh_3x0x4": (3, 0, 4), "fresh_2x3": (2, 3), "fresh_0d": ()}
ALL_LAYOUTS = list(LAYOUTS) + list(FRESH)


def pair(name):
    """The same tensor in both libraries: int64 values 0, 1, ... in its storage."""
    if name in FRESH:
        shape = FRESH[name]
        n = math.prod(shape)
        return (strided.arange(n).view(shape), torch.arange(n).view(shape))
    shape, strides, offset = LAYOUTS[name]
    s = strided.arange(STORAGE).as_strided(shape, strides, offset)
    t = torch.arange(STORAGE).as_strided(shape, strides, offset)
    return s, t


def _ndim(name):
    return len(_shape(name))


def _shape(name):
    return FRESH[name] if name in FRESH else LAYOUTS[name][0]


def describe_same(s, t):
    """None when strided tensor s has t's sizes, strides, storage offset and values."""
    got = (tuple(s.shape), tuple(s.stride()), s.is_contiguous())
    want = (tuple(t.shape), tuple(t.stride()), t.is_contiguous())
    if got != want:
        return f"(shape, stride, contiguous) {got} != torch {want}"
    # (an empty view's storage_offset addresses nothing; strided may leave it at the
    # base's offset where torch advances it, so it is compared for non-empty results)
    if t.numel() and s.storage_offset() != t.storage_offset():
        return f"storage_offset {s.storage_offset()} != torch {t.storage_offset()}"
    if s.tolist() != t.tolist():
        return f"values {s.tolist()} != torch {t.tolist()}"
    return None


def describe_values(s, t):
    if tuple(s.shape) != tuple(t.shape):
        return f"shape {tuple(s.shape)} != torch {tuple(t.shape)}"
    if s.tolist() != t.tolist():
        return f"values {s.tolist()} != torch {t.tolist()}"
    return None


def compare(name, label, fn, describe=describe_same, view=True):
    """Apply fn to both libraries.  Returns None when both succeed and agree (and strided's
    results are views of the input), or both raise the same exception class; else a
    description of the mismatch."""
    s, t = pair(name)
    where = f"{name}: {label}"
    try:
        rt = fn(t)
    except (RuntimeError, IndexError, ValueError, TypeError) as e:
        try:
            fn(s)
        except Exception as es:
            if type(es) is not type(e):
                return f"{where}: raised {type(es).__name__}({es}) where torch raised {type(e).__name__}({e})"
            return None
        return f"{where}: succeeded where torch raised {type(e).__name__}({e})"
    try:
        rs = fn(s)
    except Exception as es:
        return f"{where}: raised {type(es).__name__}({es}) where torch succeeded"
    pairs = list(zip(rs, rt)) if isinstance(rt, (tuple, list)) else [(rs, rt)]
    if isinstance(rt, (tuple, list)) and len(rs) != len(rt):
        return f"{where}: {len(rs)} pieces != torch {len(rt)}"
    for i, (a, b) in enumerate(pairs):
        d = describe(a, b)
        if d:
            return f"{where}[{i}]: {d}"
        if view and a.untyped_storage() is not s.untyped_storage():
            return f"{where}[{i}]: not a view of the input"
    return None


def check_calls(name, calls, **kw):
    """Run compare() for every (label, fn) and fail with the list of all mismatches."""
    problems = [p for p in (compare(name, label, fn, **kw) for label, fn in calls) if p]
    assert not problems, f"{len(problems)} of {len(calls)} mismatches:\n" + "\n".join(problems[:40])


# ---- view / reshape ---------------------------------------------------------------------

def _factor_pairs(n):
    return [(a, n // a) for a in range(1, n + 1) if n % a == 0]


def view_shapes(shape):
    n = math.prod(shape)
    out = {(-1,), (n,), (1, n), (n, 1), (1, -1, 1), tuple(reversed(shape)), shape, (-1, -1),
           (n + 1,), (2, -1, 3)}
    for a, b in _factor_pairs(n):
        out.add((a, b))
        out.add((a, -1))
    for d in range(len(shape) - 1):                     # merge neighbours
        out.add(shape[:d] + (shape[d] * shape[d + 1],) + shape[d + 2:])
    for d in range(len(shape)):                         # split one dim / insert a 1
        for a, b in _factor_pairs(shape[d]):
            out.add(shape[:d] + (a, b) + shape[d + 1:])
        out.add(shape[:d] + (1,) + shape[d:])
    if n == 0:
        out |= {(0,), (0, 5), (5, 0, 2), (2, 0), (0, -1)}
    return sorted(out, key=str)


@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_view(name):
    check_calls(name, [(f"view{shp}", lambda x, shp=shp: x.view(shp))
                       for shp in view_shapes(_shape(name))])


@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_reshape(name):
    problems = []
    for shp in view_shapes(_shape(name)):
        s, t = pair(name)
        try:
            rt = t.reshape(shp)
        except RuntimeError:
            try:
                s.reshape(shp)
                problems.append(f"reshape{shp}: succeeded where torch raised")
            except RuntimeError:
                pass
            continue
        rs = s.reshape(shp)
        d = describe_values(rs, rt)
        if d:
            problems.append(f"reshape{shp}: {d}")
            continue
        # a view exactly when torch.view would succeed; a contiguous copy otherwise
        try:
            tv = t.view(shp)
        except RuntimeError:
            tv = None
        if tv is not None:
            if rs.untyped_storage() is not s.untyped_storage():
                problems.append(f"reshape{shp}: copied where a view exists")
            elif rs.stride() != tv.stride():
                problems.append(f"reshape{shp}: stride {rs.stride()} != torch {tv.stride()}")
        elif rs.untyped_storage() is s.untyped_storage() or not rs.is_contiguous():
            problems.append(f"reshape{shp}: expected a contiguous copy")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", ["2d_T", "2d_sliced", "3d_perm", "3d_fortran", "2d_expand_rows",
                                  "3d_inner_T", "4d_mixed"])
def test_view_failure_message(name):
    s, t = pair(name)
    with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead") as es:
        s.view(-1)
    with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead") as et:
        t.view(-1)
    assert str(es.value) == str(et.value)


# ---- expand -----------------------------------------------------------------------------

def expand_targets(shape):
    out = [shape, (2,) + shape, (1, 2) + shape, tuple(-1 for _ in shape),
           (3,) + tuple(-1 for _ in shape)]
    for d, n in enumerate(shape):
        if n == 1:
            out.append(shape[:d] + (5,) + shape[d + 1:])
            out.append(shape[:d] + (0,) + shape[d + 1:])
        else:
            out.append(shape[:d] + (n + 1,) + shape[d + 1:])       # invalid
    out.append(tuple(max(n, 1) * 2 for n in shape))
    if shape:
        out.append(shape[1:])                                       # too few dims
    return out


@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_expand(name):
    calls = []
    for tgt in expand_targets(_shape(name)):
        calls.append((f"expand({tgt})", lambda x, tgt=tgt: x.expand(tgt)))
        if tgt:                    # torch's arg parser wants at least one vararg
            calls.append((f"expand(*{tgt})", lambda x, tgt=tgt: x.expand(*tgt)))
    check_calls(name, calls)


@pytest.mark.parametrize("name", ["2d", "2d_T", "3d", "1d"])
def test_expand_message(name):
    s, t = pair(name)
    target = (_shape(name)[0] + 1,) + _shape(name)[1:]
    with pytest.raises(RuntimeError, match="must match the existing size") as es:
        s.expand(*target)
    with pytest.raises(RuntimeError, match="must match the existing size") as et:
        t.expand(*target)
    assert str(es.value) == str(et.value)


# ---- transpose / permute / unsqueeze / squeeze / movedim / flatten ----------------------

@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_transpose_permute(name):
    nd = _ndim(name)
    calls = [(f"transpose({a}, {b})", lambda x, a=a, b=b: x.transpose(a, b))
             for a in range(-nd - 1, nd + 1) for b in range(-nd, nd)]
    for p in itertools.permutations(range(nd)):
        if p:                      # torch's arg parser wants at least one vararg
            calls.append((f"permute(*{p})", lambda x, p=p: x.permute(*p)))
        neg = tuple(d - nd for d in p)
        calls.append((f"permute({neg})", lambda x, neg=neg: x.permute(neg)))
    calls.append(("t()", lambda x: x.t()))
    if nd == 2:                    # torch deprecates .T on other ranks
        calls.append(("T", lambda x: x.T))
    if nd >= 2:
        calls.append(("mT", lambda x: x.mT))
    check_calls(name, calls)


@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_unsqueeze_squeeze(name):
    nd = _ndim(name)
    calls = [(f"unsqueeze({d})", lambda x, d=d: x.unsqueeze(d)) for d in range(-nd - 2, nd + 2)]
    calls.append(("squeeze()", lambda x: x.squeeze()))
    calls += [(f"squeeze({d})", lambda x, d=d: x.squeeze(d)) for d in range(-nd - 1, nd + 1)]
    calls.append(("squeeze(all)", lambda x: x.squeeze(tuple(range(nd)))))
    check_calls(name, calls)


@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_movedim_flatten(name):
    nd = _ndim(name)
    calls = [(f"movedim({a}, {b})", lambda x, a=a, b=b: x.movedim(a, b))
             for a in range(-nd, nd) for b in range(-nd, nd)]
    check_calls(name, calls)
    flat = [(f"flatten({a}, {b})", lambda x, a=a, b=b: x.flatten(a, b))
            for a in range(-nd, nd) for b in range(-nd, nd)]
    check_calls(name, flat, describe=describe_values, view=False)


# ---- narrow / select / unfold / diagonal ------------------------------------------------

@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_narrow_select(name):
    nd, shape = _ndim(name), _shape(name)
    calls = []
    for d in range(-nd, nd):
        n = shape[d]
        for st in range(-n - 1, n + 2):
            for ln in sorted({0, 1, 2, n}):
                calls.append((f"narrow({d}, {st}, {ln})",
                              lambda x, d=d, st=st, ln=ln: x.narrow(d, st, ln)))
        for i in range(-n - 1, n + 1):
            calls.append((f"select({d}, {i})", lambda x, d=d, i=i: x.select(d, i)))
    if nd:
        check_calls(name, calls)


@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_unfold(name):
    nd, shape = _ndim(name), _shape(name)
    calls = []
    for d in (range(-nd, nd) if nd else (0, -1)):
        n = shape[d] if nd else 1
        for size in range(0, n + 2):
            for step in (1, 2, 3):
                calls.append((f"unfold({d}, {size}, {step})",
                              lambda x, d=d, size=size, step=step: x.unfold(d, size, step)))
    check_calls(name, calls)


@pytest.mark.parametrize("name", [n for n in ALL_LAYOUTS if _ndim(n) >= 2])
def test_diagonal(name):
    nd = _ndim(name)
    calls = [(f"diagonal({off}, {a}, {b})", lambda x, off=off, a=a, b=b: x.diagonal(off, a, b))
             for off in range(-4, 5) for a in range(nd) for b in range(-nd, nd)]
    check_calls(name, calls)


# ---- split / chunk / tensor_split / unbind ----------------------------------------------

def _split_args(n):
    args = [1, 2, 3, n, n + 1]
    sections = [[n], [0, n], [1, n - 1] if n >= 1 else [0, 0], [n - 1, 1] if n >= 1 else [0],
                [1] * n, [n + 1], [n, 1]]
    if n >= 3:
        sections.append([1, 1, n - 2])
    return args + sections


@pytest.mark.parametrize("name", [n for n in ALL_LAYOUTS if _ndim(n)])
def test_split(name):
    nd, shape = _ndim(name), _shape(name)
    check_calls(name, [(f"split({a}, {d})", lambda x, a=a, d=d: x.split(a, d))
                       for d in range(-nd, nd) for a in _split_args(shape[d])])


@pytest.mark.parametrize("name", [n for n in ALL_LAYOUTS if _ndim(n)])
def test_chunk(name):
    nd = _ndim(name)
    check_calls(name, [(f"chunk({c}, {d})", lambda x, c=c, d=d: x.chunk(c, d))
                       for d in range(-nd, nd) for c in (1, 2, 3, 4, 7)])


@pytest.mark.parametrize("name", [n for n in ALL_LAYOUTS if _ndim(n)])
def test_tensor_split(name):
    nd = _ndim(name)
    args = (1, 2, 3, 5, [1], [0, 2], [1, 1], [-1], [2, 1], [0, 10], [-2, 3], [])
    check_calls(name, [(f"tensor_split({a}, {d})", lambda x, a=a, d=d: x.tensor_split(a, d))
                       for d in range(-nd, nd) for a in args])


@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_unbind(name):
    nd = _ndim(name)
    check_calls(name, [(f"unbind({d})", lambda x, d=d: x.unbind(d))
                       for d in range(-nd - 1, nd + 1)])


# ---- as_strided (non-negative strides) ---------------------------------------------------

def _as_strided_cases():
    rng = random.Random(1234)
    cases = []
    for _ in range(150):
        nd = rng.randint(0, 4)
        size = tuple(rng.randint(0, 4) for _ in range(nd))
        stride = tuple(rng.randint(0, 20) for _ in range(nd))
        off = rng.choice([None, 0, 1, 17, 150, 199, 200, 250])
        cases.append((size, stride, off))
    cases += [((2, 2), (1, 1), 0), ((5,), (40,), 40), ((200,), (1,), 0), ((201,), (1,), 0),
              ((1,), (1,), 199), ((0,), (1,), 200), ((0,), (1,), 201)]
    return cases


@pytest.mark.parametrize("base", ["1d", "2d_offset", "2d_T"])
def test_as_strided(base):
    check_calls(base, [(f"as_strided({sz}, {st}, {off})",
                        lambda x, sz=sz, st=st, off=off: x.as_strided(sz, st, off))
                       for sz, st, off in _as_strided_cases()])


# ---- flip (torch copies; compare values and shape) --------------------------------------

@pytest.mark.parametrize("name", ALL_LAYOUTS)
def test_flip_values(name):
    nd = _ndim(name)
    calls = [(f"flip({dims})", lambda x, dims=dims: x.flip(dims))
             for k in range(nd + 1) for dims in itertools.combinations(range(nd), k)]
    check_calls(name, calls, describe=describe_values)      # strided: views (checked too)


# ---- error message parity ---------------------------------------------------------------

DIM_OPS = {
    "size": lambda x: x.size(2),
    "stride": lambda x: x.stride(-3),
    "transpose": lambda x: x.transpose(0, 2),
    "transpose_neg": lambda x: x.transpose(-3, 0),
    "select": lambda x: x.select(2, 0),
    "narrow": lambda x: x.narrow(2, 0, 1),
    "squeeze": lambda x: x.squeeze(2),
    "unfold": lambda x: x.unfold(2, 1, 1),
    "diagonal": lambda x: x.diagonal(0, 0, 2),
    "split": lambda x: x.split(1, 2),
    "chunk": lambda x: x.chunk(2, 2),
    "unbind": lambda x: x.unbind(2),
    "movedim": lambda x: x.movedim(2, 0),
    "flatten": lambda x: x.flatten(0, 2),
    "permute": lambda x: x.permute(0, 2),
    "flip": lambda x: x.flip(2),
    "tensor_split": lambda x: x.tensor_split(2, 2),
}


@pytest.mark.parametrize("op", DIM_OPS)
def test_dim_out_of_range_message(op):
    s, t = pair("2d")
    msg = "Dimension out of range (expected to be in range of [-2, 1], but got "
    with pytest.raises(IndexError) as et:
        DIM_OPS[op](t)
    with pytest.raises(IndexError) as es:
        DIM_OPS[op](s)
    assert msg in str(et.value)
    assert str(es.value) == str(et.value)


def test_dim_out_of_range_exact_message():
    s = strided.zeros(2, 3)
    with pytest.raises(IndexError) as e:
        s.transpose(0, 2)
    assert str(e.value) == "Dimension out of range (expected to be in range of [-2, 1], but got 2)"
    with pytest.raises(IndexError) as e:
        s.unsqueeze(3)
    assert str(e.value) == "Dimension out of range (expected to be in range of [-3, 2], but got 3)"


@pytest.mark.parametrize("fn", [lambda m, x: x.view(5, -1), lambda m, x: x.view(-1, -1),
                                lambda m, x: x.view(7), lambda m, x: x.reshape(5, 5),
                                lambda m, x: x.permute(0, 0), lambda m, x: x.permute(0),
                                lambda m, x: x.unfold(0, 2, 0), lambda m, x: x.unfold(0, 9, 1),
                                lambda m, x: x.narrow(0, 1, 5), lambda m, x: x.split([1, 1], 1),
                                lambda m, x: x.select(0, 5), lambda m, x: x.expand(3),
                                lambda m, x: x.diagonal(0, 1, 1), lambda m, x: x.chunk(0)])
def test_error_class_parity(fn):
    s, t = strided.zeros(2, 3), torch.zeros(2, 3)
    try:
        fn(torch, t)
    except Exception as e:
        with pytest.raises(type(e)):
            fn(strided, s)
    else:
        pytest.fail("torch accepted the call")


@pytest.mark.parametrize("call,torch_call", [
    (lambda: strided.zeros(2, 3).view(-1, -1), lambda: torch.zeros(2, 3).view(-1, -1)),
    (lambda: strided.zeros(2, 3).view(4, 5), lambda: torch.zeros(2, 3).view(4, 5)),
    (lambda: strided.zeros(3).unfold(0, 2, 0), lambda: torch.zeros(3).unfold(0, 2, 0)),
    (lambda: strided.zeros(3).unfold(0, 4, 1), lambda: torch.zeros(3).unfold(0, 4, 1)),
    (lambda: strided.zeros(3).narrow(0, 2, 2), lambda: torch.zeros(3).narrow(0, 2, 2)),
])
def test_error_message_text_parity(call, torch_call):
    with pytest.raises(Exception) as et:
        torch_call()
    with pytest.raises(type(et.value)) as es:
        call()
    assert str(es.value) == str(et.value)


# ---- DLPack with torch ------------------------------------------------------------------

DLPACK_DTYPES = [(strided.float32, torch.float32), (strided.float64, torch.float64),
                 (strided.int64, torch.int64), (strided.int32, torch.int32),
                 (strided.uint8, torch.uint8), (strided.bool, torch.bool)]
DLPACK_LAYOUTS = ["0d", "1d", "1d_step", "2d", "2d_offset", "2d_T", "2d_sliced", "3d_perm",
                  "3d_fortran", "size1_dims", "size1_lead", "empty_0x3", "empty_T",
                  "2d_expand_rows", "3d_expand_mid"]


def _strides_ignoring_size1(x):
    return [st for n, st in zip(x.shape, x.stride()) if n > 1]


def _new_value(old, is_bool):
    return (not old) if is_bool else (old + 7) % 100


@pytest.mark.parametrize("name", DLPACK_LAYOUTS)
@pytest.mark.parametrize("sd,td", DLPACK_DTYPES, ids=lambda d: str(d))
def test_torch_from_dlpack_strided(name, sd, td):
    shape, strides, offset = LAYOUTS[name]
    s = strided.tensor(np.arange(STORAGE) % 100).to(sd).as_strided(shape, strides, offset)
    t = torch.from_dlpack(s)
    assert t.dtype == td
    assert tuple(t.shape) == s.shape
    assert t.tolist() == s.tolist()
    if s.numel():
        assert t.data_ptr() == s.data_ptr()
        assert _strides_ignoring_size1(t) == _strides_ignoring_size1(s)
        if 0 not in s.stride():
            idx = (0,) * s.ndim
            old = s[idx].item()
            t[idx] = _new_value(old, sd is strided.bool)
            assert s[idx].item() == _new_value(old, sd is strided.bool)    # torch -> strided
            s[idx] = old
            assert t[idx].item() == old                                     # strided -> torch


@pytest.mark.parametrize("name", DLPACK_LAYOUTS)
@pytest.mark.parametrize("sd,td", DLPACK_DTYPES, ids=lambda d: str(d))
def test_strided_from_dlpack_torch(name, sd, td):
    shape, strides, offset = LAYOUTS[name]
    t = (torch.arange(STORAGE) % 100).to(td).as_strided(shape, strides, offset)
    s = strided.from_dlpack(t)
    assert s.dtype is sd
    assert s.shape == tuple(t.shape)
    assert s.tolist() == t.tolist()
    if t.numel():
        assert s.data_ptr() == t.data_ptr()
        assert _strides_ignoring_size1(s) == _strides_ignoring_size1(t)
        if 0 not in t.stride():
            idx = (0,) * t.ndim
            old = t[idx].item()
            s[idx] = _new_value(old, sd is strided.bool)
            assert t[idx].item() == _new_value(old, sd is strided.bool)
            t[idx] = old
            assert s[idx].item() == old


def test_dlpack_torch_roundtrip_views():
    s = strided.arange(24.0).view(4, 6)
    t = torch.from_dlpack(s.T[1:, ::2])
    t.mul_(10)
    expected = np.arange(24.0).reshape(4, 6)
    expected.T[1:, ::2] *= 10
    np.testing.assert_array_equal(s.numpy(), expected)
    back = strided.from_dlpack(t)
    assert back.data_ptr() == t.data_ptr() == s.T[1:, ::2].data_ptr()
    assert back.stride() == s.T[1:, ::2].stride()


def test_dlpack_torch_negative_strides_refused():
    s = strided.arange(10).flip(0)
    with pytest.raises(BufferError, match="negative strides"):
        torch.from_dlpack(s)


def test_dlpack_torch_keeps_memory_alive():
    import gc
    s = strided.arange(1000.0).view(10, 100).T
    t = torch.from_dlpack(s)
    expected = s.tolist()
    del s
    gc.collect()
    junk = [strided.full((1000,), -1.0) for _ in range(20)]
    assert t.tolist() == expected
    ts = torch.arange(1000.0).view(10, 100).T
    u = strided.from_dlpack(ts)
    exp2 = ts.tolist()
    del ts
    gc.collect()
    junk2 = [torch.full((1000,), -1.0) for _ in range(20)]
    assert u.tolist() == exp2
    del junk, junk2


# ---- is_contiguous over many layouts ----------------------------------------------------

def _random_layouts(n=400, seed=7):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        nd = rng.randint(0, 5)
        shape = [rng.choice([0, 1, 1, 2, 3, 4]) if rng.random() < 0.9 else 1 for _ in range(nd)]
        if rng.random() < 0.15 and nd:
            shape[rng.randrange(nd)] = 0
        # start from contiguous strides, then perturb: permute, step, expand, random
        strides, acc = [], 1
        for sz in reversed(shape):
            strides.append(acc)
            acc *= max(sz, 1)
        strides = list(reversed(strides))
        kind = rng.random()
        if kind < 0.25 and nd >= 2:
            p = list(range(nd))
            rng.shuffle(p)
            shape, strides = [shape[i] for i in p], [strides[i] for i in p]
        elif kind < 0.45 and nd:
            d = rng.randrange(nd)
            strides = [st * 2 if i <= d else st for i, st in enumerate(strides)]
        elif kind < 0.55 and nd:
            strides[rng.randrange(nd)] = 0
        elif kind < 0.75:
            strides = [rng.randint(0, 12) for _ in range(nd)]
        out.append((tuple(shape), tuple(strides), rng.randint(0, 5)))
    return out


@pytest.mark.parametrize("shape,strides,offset", _random_layouts())
def test_is_contiguous_agrees(shape, strides, offset):
    need = offset + sum((n - 1) * st for n, st in zip(shape, strides)) + 1
    if math.prod(shape) == 0:
        need = offset
    size = max(need, 1)
    s = strided.zeros(size).as_strided(shape, strides, offset)
    t = torch.zeros(size).as_strided(shape, strides, offset)
    assert s.is_contiguous() == t.is_contiguous()
    assert s.contiguous().is_contiguous()
    assert s.contiguous().stride() == t.contiguous().stride()
