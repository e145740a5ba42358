"""The Tensor API a PyTorch program reaches for first (issue 17), against PyTorch: dtype=float
and friends, byte masks, tensors where PyTorch takes ints, PyTorch's exceptions, views of
zero-element tensors, view(dtype), in-place view ops, resize_/set_, .data, Size, finfo/iinfo,
the legacy constructors, new_*, type(), __format__ and inference_mode."""
import pickle

import numpy as np
import pytest

import strided

torch = pytest.importorskip("torch")

TORCH_DTYPES = {strided.bool: torch.bool, strided.uint8: torch.uint8, strided.int32: torch.int32,
                strided.int64: torch.int64, strided.float32: torch.float32,
                strided.float64: torch.float64}


def same_dtype(s, t):
    return TORCH_DTYPES[s] == t


def check_same(s, t):
    """A strided tensor and a torch tensor hold the same values, shape and dtype."""
    assert tuple(s.shape) == tuple(t.shape)
    assert same_dtype(s.dtype, t.dtype), (s.dtype, t.dtype)
    np.testing.assert_array_equal(np.asarray(s.tolist()), np.asarray(t.tolist()))


def layouts(lib, a):
    """The same values in several layouts: contiguous, transposed, step-sliced, expanded."""
    t = lib.tensor(a)
    yield t
    yield lib.tensor(np.ascontiguousarray(a.T)).t() if a.ndim == 2 else t
    big = lib.tensor(np.repeat(a, 2, axis=-1))
    yield big[..., ::2]


# ---- dtype=float / int / bool ------------------------------------------------------------

PY_TYPES = [float, int, bool]


@pytest.mark.parametrize("py", PY_TYPES)
def test_python_types_as_dtypes_in_factories(py):
    for name, args in [("zeros", (2, 3)), ("ones", (2,)), ("empty", (3,))]:
        s = getattr(strided, name)(*args, dtype=py)
        t = getattr(torch, name)(*args, dtype=py)
        assert same_dtype(s.dtype, t.dtype), (name, py)
    assert same_dtype(strided.full((2,), 1, dtype=py).dtype, torch.full((2,), 1, dtype=py).dtype)
    assert same_dtype(strided.tensor([1, 0], dtype=py).dtype,
                      torch.tensor([1, 0], dtype=py).dtype)
    assert same_dtype(strided.zeros_like(strided.ones(2), dtype=py).dtype,
                      torch.zeros_like(torch.ones(2), dtype=py).dtype)
    if py is not bool:
        assert same_dtype(strided.arange(3, dtype=py).dtype, torch.arange(3, dtype=py).dtype)


@pytest.mark.parametrize("py", PY_TYPES)
def test_python_types_as_dtypes_in_conversions(py):
    a = np.array([[1.5, 0.0], [2.25, -3.0]])
    for s, t in zip(layouts(strided, a), layouts(torch, a)):
        check_same(s.to(py), t.to(py))
        check_same(s.to(dtype=py), t.to(dtype=py))
        if py is not bool:
            check_same(s.sum(dtype=py), t.sum(dtype=py))
            check_same(s.cumsum(0, dtype=py), t.cumsum(0, dtype=py))
        check_same(s.new_zeros(2, dtype=py), t.new_zeros(2, dtype=py))


def test_float64_values_are_not_rounded_to_float32():
    x = 0.1 + 1e-12
    s = strided.tensor([x], dtype=float)
    assert s.item() == torch.tensor([x], dtype=float).item() == x


# ---- byte masks ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 2)])
def test_uint8_index_is_a_mask(shape):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    m = rng.integers(0, 3, size=shape[:1]).astype(np.uint8)     # 2 counts as True too
    m2 = rng.integers(0, 3, size=shape).astype(np.uint8)
    for s, t in zip(layouts(strided, a), layouts(torch, a)):
        for idx_s, idx_t in [(strided.tensor(m), torch.tensor(m)), (m, m),
                             (strided.tensor(m2), torch.tensor(m2))]:
            check_same(s[idx_s], t[idx_t])
            s2 = s.clone()
            s2[idx_s] = 7.0           # PyTorch refuses some byte-mask writes: NumPy's answer
            want = np.asarray(s.tolist())
            want[np.asarray(idx_s.tolist() if isinstance(idx_s, strided.Tensor) else idx_s,
                            dtype=bool)] = 7.0
            np.testing.assert_array_equal(np.asarray(s2.tolist()), want)


def test_uint8_and_bool_mask_shape_mismatch_is_pytorchs_index_error():
    x_s, x_t = strided.arange(12).view(3, 4), torch.arange(12).view(3, 4)
    cases = [lambda lib, x: x[lib.tensor([True, False])],
             lambda lib, x: x[lib.tensor([[True, False]])],
             lambda lib, x: x[:, lib.tensor([True, False])],
             lambda lib, x: x[1:, lib.tensor([1, 0], dtype=lib.uint8)],
             lambda lib, x: x[None, lib.tensor([True, False])],
             lambda lib, x: x[..., lib.tensor([True, False, True])]]
    for case in cases:
        with pytest.raises(IndexError) as want:
            case(torch, x_t)
        with pytest.raises(IndexError) as got:
            case(strided, x_s)
        assert str(got.value) == str(want.value)
    with pytest.raises(IndexError, match="The shape of the mask"):
        x_s[strided.tensor([True, False])] = 1


# ---- empty slices and zero-element views -------------------------------------------------------

def test_empty_slice_keeps_its_offset():
    for lib in (strided, torch):
        v = lib.arange(10.)[5:5]
        assert v.storage_offset() == 5
        assert v.as_strided((1,), (1,)).item() == 5.0
    s, t = strided.arange(12.).view(3, 4)[:, 3:3], torch.arange(12.).view(3, 4)[:, 3:3]
    assert s.storage_offset() == t.storage_offset()
    assert s.as_strided((2,), (1,)).tolist() == t.as_strided((2,), (1,)).tolist()


ZERO_SHAPES = [(0,), (2, 0), (0, 3), (2, 4, 0, 1), (0, 1, 5), (3, 0, 2, 0), (1, 0)]


@pytest.mark.parametrize("shape", ZERO_SHAPES)
def test_flatten_reshape_view_of_zero_element_tensors(shape):
    s, t = strided.zeros(*shape), torch.zeros(*shape)
    n = len(shape)
    for a in range(-n, n):
        for b in range(-n, n):
            if (a % n) > (b % n):
                continue
            fs, ft = s.flatten(a, b), t.flatten(a, b)
            assert fs.shape == ft.shape and fs.stride() == ft.stride(), (shape, a, b)
    for new in [(0,), (-1,), (0, 7), (7, 0), (0, 1, 0), shape[::-1], (1,) + shape, (-1, 0)]:
        try:
            want = t.view(new)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                s.view(new)
            with pytest.raises(RuntimeError):
                s.reshape(new)
            continue
        got = s.view(new)
        assert got.shape == want.shape and got.stride() == want.stride(), (shape, new)
        assert s.reshape(new).shape == t.reshape(new).shape
    for d in range(n):
        us, ut = s.unflatten(d, (1, shape[d])), t.unflatten(d, (1, shape[d]))
        assert us.shape == ut.shape and us.stride() == ut.stride()


# ---- tensors where PyTorch takes an int --------------------------------------------------------

T_INT_CASES = [
    ("ones(t)", lambda L: L.ones(L.tensor(27)).shape),
    ("ones(t[1])", lambda L: L.ones(L.tensor([27])).shape),
    ("zeros(t, t)", lambda L: L.zeros(L.tensor(2), L.tensor(3)).shape),
    ("zeros((t, 3))", lambda L: L.zeros((L.tensor(2), 3)).shape),
    ("empty(t int32)", lambda L: L.empty(L.tensor(4, dtype=L.int32)).shape),
    ("view(t, -1)", lambda L: L.arange(6).view(L.tensor(2), -1).shape),
    ("reshape(t)", lambda L: L.arange(6).reshape(L.tensor(6)).shape),
    ("expand(t)", lambda L: L.ones(1).expand(L.tensor(3)).shape),
    ("tensor_split(t)", lambda L: [p.tolist() for p in L.arange(10).tensor_split(L.tensor(3))]),
    ("tensor_split(t 1-d)", lambda L: [p.tolist() for p in
                                       L.arange(10).tensor_split(L.tensor([3, 5]))]),
    ("narrow(t)", lambda L: L.arange(10).narrow(0, L.tensor(1), 2).tolist()),
    ("narrow(len t)", lambda L: L.arange(10).narrow(0, 1, L.tensor(2)).tolist()),
    ("select(t, t)", lambda L: L.arange(10).view(2, 5).select(L.tensor(1), L.tensor(2)).tolist()),
    ("transpose(t)", lambda L: L.ones(2, 3).transpose(L.tensor(0), 1).shape),
    ("unsqueeze(t)", lambda L: L.ones(2, 3).unsqueeze(L.tensor(0)).shape),
    ("sum(t)", lambda L: L.ones(2, 3).sum(L.tensor(0)).shape),
]
T_INT_ERRORS = [
    ("ones(float t)", lambda L: L.ones(L.tensor(2.)), TypeError),
    ("zeros(t[2])", lambda L: L.zeros(L.tensor([2, 3])), TypeError),
    ("view(float t)", lambda L: L.arange(6).view(L.tensor(2.), -1), TypeError),
    ("tensor_split(float t)", lambda L: L.arange(10).tensor_split(L.tensor(3.)), RuntimeError),
    ("tensor_split(2-d t)", lambda L: L.arange(10).tensor_split(L.tensor([[3]])), RuntimeError),
    ("narrow(float t)", lambda L: L.arange(10).narrow(0, L.tensor(1.), 2), RuntimeError),
    ("narrow(t[1])", lambda L: L.arange(10).narrow(0, L.tensor([1]), 2), RuntimeError),
    ("select(float t)", lambda L: L.arange(10).select(0, L.tensor(1.)), TypeError),
    ("transpose(float t)", lambda L: L.ones(2, 3).transpose(L.tensor(0.), 1), TypeError),
]


@pytest.mark.parametrize("name,case", T_INT_CASES, ids=[c[0] for c in T_INT_CASES])
def test_integer_tensors_where_pytorch_takes_ints(name, case):
    got, want = case(strided), case(torch)
    assert (tuple(got) if isinstance(got, tuple) else got) == (
        tuple(want) if isinstance(want, torch.Size) else want)


@pytest.mark.parametrize("name,case,exc", T_INT_ERRORS, ids=[c[0] for c in T_INT_ERRORS])
def test_other_tensors_where_pytorch_takes_ints_raise_like_pytorch(name, case, exc):
    with pytest.raises(exc):
        case(torch)
    with pytest.raises(exc):
        case(strided)


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_indexing_with_a_0d_integer_tensor_is_a_view(dtype):
    a = np.arange(24.).reshape(2, 3, 4)
    for s, t in zip(layouts(strided, a), layouts(torch, a)):
        for idx in [lambda L: L.tensor(1, dtype=getattr(L, dtype)),
                    lambda L: (slice(None), L.tensor(-1, dtype=getattr(L, dtype)))]:
            vs, vt = s[idx(strided)], t[idx(torch)]
            check_same(vs, vt)
            assert vs._base is not None and vs.storage_offset() - s.storage_offset() == \
                vt.storage_offset() - t.storage_offset()
    s, t = strided.arange(10.), torch.arange(10.)
    s[strided.tensor(3)] = -1.0
    t[torch.tensor(3)] = -1.0
    check_same(s, t)
    # bool and uint8 0-d tensors are masks (a new dim), as in PyTorch
    for L, x in ((strided, s), (torch, t)):
        assert tuple(x[L.tensor(True)].shape) == (1, 10)
        assert tuple(x[L.tensor(1, dtype=L.uint8)].shape) == (1, 10)


def test_indexing_with_a_0d_tensor_records_a_view():
    xs = strided.arange(12.).view(3, 4).requires_grad_()
    xt = torch.arange(12.).view(3, 4).requires_grad_()
    (xs[strided.tensor(1)] * strided.arange(4.)).sum().backward()
    (xt[torch.tensor(1)] * torch.arange(4.)).sum().backward()
    check_same(xs.grad, xt.grad)


# ---- exceptions ----------------------------------------------------------------------------------

ZERO_DIM_INDEX = [lambda L: L.tensor(3)[0], lambda L: L.tensor(3)[:],
                  lambda L: L.tensor(3)[L.tensor(0)], lambda L: L.tensor(3.)[0, ...],
                  lambda L: L.tensor(3.)[(slice(None),)], lambda L: L.tensor(3.)[None, 0]]


@pytest.mark.parametrize("case", ZERO_DIM_INDEX)
def test_indexing_a_0d_tensor_raises_pytorchs_index_error(case):
    with pytest.raises(IndexError) as want:
        case(torch)
    with pytest.raises(IndexError) as got:
        case(strided)
    assert str(got.value) == str(want.value)


def test_0d_tensor_with_none_ellipsis_and_bool():
    for idx in [None, Ellipsis, True, (None, None)]:
        assert tuple(strided.tensor(3.)[idx].shape) == tuple(torch.tensor(3.)[idx].shape)


def test_out_of_bounds_views_say_out_of_bounds():
    for lib in (strided, torch):
        with pytest.raises(RuntimeError, match="out of bounds"):
            lib.arange(4).as_strided((10,), (1,))
        with pytest.raises(RuntimeError, match="out of bounds"):
            lib.arange(4).as_strided((2,), (1,), 3)


# ---- views: data, view(dtype), H/mH/mT/adjoint, storage() ---------------------------------------

def test_data_is_a_detached_alias_and_assignable():
    ps, pt = strided.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    for p in (ps, pt):
        d = p.data
        assert not d.requires_grad and d.data_ptr() == p.data_ptr()
        p.data.mul_(2.5)
    check_same(ps.detach(), pt.detach())
    assert ps.is_leaf and ps.requires_grad
    ys, yt = (ps * ps).sum(), (pt * pt).sum()
    ys.backward()
    yt.backward()
    check_same(ps.grad, pt.grad)
    new_s, new_t = strided.arange(4.).view(2, 2), torch.arange(4.).view(2, 2)
    ps.data, pt.data = new_s, new_t
    assert ps.shape == pt.shape and ps.requires_grad and ps.data_ptr() == new_s.data_ptr()
    check_same(ps.detach(), pt.detach())
    with pytest.raises(TypeError):
        ps.data = 3


VIEW_DTYPE_CASES = [((4, 6), None), ((4, 6), (slice(1, None), slice(2, 4))), ((3, 4), (slice(None), slice(0, 2))),
                    ((2, 3, 4), None), ((8,), (slice(2, None),)), ((5,), None), ((4, 2), "t"),
                    ((3, 3), (slice(None), slice(0, 2))), ((), None), ((6,), (slice(1, None),))]


@pytest.mark.parametrize("shape,index", VIEW_DTYPE_CASES)
@pytest.mark.parametrize("src", ["float32", "float64", "int32", "int64", "uint8"])
@pytest.mark.parametrize("dst", ["float32", "float64", "int32", "int64", "uint8", "bool"])
def test_view_dtype_matches_pytorch(shape, index, src, dst):
    base = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) % 7
    s = strided.tensor(base, dtype=getattr(strided, src))
    t = torch.tensor(base, dtype=getattr(torch, src))
    if index == "t":
        s, t = s.t(), t.t()
    elif index is not None:
        s, t = s[index], t[index]
    if dst == "bool" and src != "uint8":
        return                      # PyTorch reads arbitrary bytes as bool: undefined values
    try:
        vt = t.view(getattr(torch, dst))
    except RuntimeError as e:
        with pytest.raises(RuntimeError) as got:
            s.view(getattr(strided, dst))
        assert str(got.value) == str(e).split("\n")[0]
        return
    vs = s.view(getattr(strided, dst))
    assert vs.shape == vt.shape and vs.stride() == vt.stride()
    assert vs.storage_offset() == vt.storage_offset()
    assert vs.data_ptr() == s.data_ptr()
    check_same(vs, vt)
    vs.zero_() if vs.numel() else None        # writes go to the shared memory
    if vs.numel():
        assert (s == 0).all().item()


def test_view_dtype_is_not_differentiable():
    for lib in (strided, torch):
        x = lib.ones(3, requires_grad=True)
        for v in (x.view(lib.int32), x.view(lib.float32), (x * 2).view(lib.float32)):
            assert not v.requires_grad and v.grad_fn is None


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (4, 2, 3), (2, 1, 3, 5)])
def test_H_mH_mT_adjoint(shape):
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    for attr in ["H", "mH", "mT", "adjoint"]:
        for s, t in zip(layouts(strided, a), layouts(torch, a)):
            try:
                want = getattr(t, attr)
                want = want() if callable(want) else want
            except RuntimeError as e:
                with pytest.raises(RuntimeError) as got:
                    r = getattr(s, attr)
                    r() if callable(r) else r
                assert str(got.value) == str(e)
                continue
            got = getattr(s, attr)
            got = got() if callable(got) else got
            check_same(got, want)
            assert got.stride() == want.stride() and got.data_ptr() == s.data_ptr()
    if len(shape) >= 2:
        xs = strided.tensor(a, requires_grad=True)
        xt = torch.tensor(a, requires_grad=True)
        w = np.arange(int(np.prod(shape))).reshape(shape[:-2] + shape[-1:] + shape[-2:-1])
        (xs.mH * strided.tensor(w)).sum().backward()
        (xt.mH * torch.tensor(w)).sum().backward()
        check_same(xs.grad, xt.grad)


def test_storage_is_typed():
    for dtype in ["float32", "int64", "uint8"]:
        s = strided.arange(6).to(getattr(strided, dtype)).view(2, 3)[1:].storage()
        t = torch.arange(6).to(getattr(torch, dtype)).view(2, 3)[1:].untyped_storage()
        ts = torch.arange(6).to(getattr(torch, dtype)).view(2, 3)[1:].storage()
        assert len(s) == len(ts) and s.size() == ts.size()
        assert s.tolist() == ts.tolist() and s[0] == ts[0] and s[-1] == ts[-1]
        assert s.element_size() == ts.element_size() and same_dtype(s.dtype, ts.dtype)
        assert len(s.untyped()) == t.nbytes() == s.nbytes()
        assert s.untyped().data_ptr() == s.data_ptr()


# ---- in-place view ops -------------------------------------------------------------------------

INPLACE_VIEWS = [("t_", ()), ("transpose_", (0, 1)), ("swapdims_", (1, 0)), ("swapaxes_", (-1, 0)),
                 ("squeeze_", ()), ("squeeze_", (0,)), ("unsqueeze_", (1,)), ("unsqueeze_", (-1,)),
                 ("as_strided_", ((2, 2), (1, 2), 0)), ("as_strided_", ((3,), (1,)))]


@pytest.mark.parametrize("name,args", INPLACE_VIEWS)
def test_inplace_view_ops_match_pytorch(name, args):
    a = np.arange(6.).reshape(1, 6)[:, :4].reshape(2, 2) if name != "squeeze_" else \
        np.arange(6.).reshape(1, 6)
    for make in (lambda L: L.tensor(a), lambda L: L.tensor(a).t() if a.ndim == 2 else L.tensor(a)):
        s, t = make(strided), make(torch)
        v0s, v0t = s._version, t._version
        rs, rt = getattr(s, name)(*args), getattr(t, name)(*args)
        assert rs is s and rt is t
        assert s.shape == t.shape and s.stride() == t.stride()
        assert s.storage_offset() == t.storage_offset() and s.is_contiguous() == t.is_contiguous()
        assert s._version - v0s == t._version - v0t
        check_same(s, t)


def test_inplace_view_ops_and_autograd():
    for lib in (strided, torch):
        leaf = lib.ones(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            leaf.t_()
        with lib.no_grad():
            pass
    results = []
    for lib in (strided, torch):
        leaf = lib.arange(6., requires_grad=True)
        b = (leaf * 2).view(2, 3)
        assert b.t_().grad_fn.name() == "TBackward1"
        assert b.unsqueeze_(0).grad_fn.name() == "UnsqueezeBackward1"
        assert b.transpose_(2, 1).grad_fn.name() == "TransposeBackward1"
        assert b.swapdims_(1, 2).grad_fn.name() == "TransposeBackward1"
        assert b.unsqueeze_(0).squeeze_().grad_fn.name() == "SqueezeBackward3"
        assert b.unsqueeze_(0).squeeze_(0).grad_fn.name() == "SqueezeBackward4"
        assert b.unsqueeze_(0).squeeze_((0,)).grad_fn.name() == "SqueezeBackward5"
        assert tuple(b.shape) == (3, 2)
        (b * lib.arange(6.).view(3, 2)).sum().backward()
        results.append(leaf.grad.tolist())
        c = (leaf * 2).view(2, 3)
        d = c[0]
        d.unsqueeze_(0)
        (d * 3).sum().backward()
        results.append(leaf.grad.tolist())
        e = (leaf * 3).as_strided_((2, 2), (1, 2), 1)
        assert e.grad_fn.name() == "AsStridedBackward1"
        (e * lib.arange(4.).view(2, 2)).sum().backward()
        results.append(leaf.grad.tolist())
        pieces = (leaf * 1).view(2, 3).unbind(0)
        with pytest.raises(RuntimeError, match="returns multiple views"):
            pieces[0].unsqueeze_(0)
    assert results[:3] == results[3:]


def test_inplace_view_ops_keep_the_bounds_invariant():
    x = strided.arange(4.)
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.as_strided_((20,), (2,), 1)
    assert x.shape == (4,) and x.stride() == (1,) and x.tolist() == [0., 1., 2., 3.]
    y = strided.zeros(*([1] * 12))            # more dims than fit inline, then fewer
    y.squeeze_()
    assert y.shape == () and y.item() == 0.0
    y.unsqueeze_(0)
    assert y.shape == (1,)


# ---- resize_, resize_as_, set_ ---------------------------------------------------------------------

@pytest.mark.parametrize("new", [(2, 2), (6,), (3, 3), (0,), (2, 0, 3), (10,), ()])
def test_resize_matches_pytorch(new):
    for start in [lambda L: L.arange(6.), lambda L: L.arange(8.)[2:]]:
        s, t = start(strided), start(torch)
        ptr = s.data_ptr()
        rs, rt = s.resize_(new), t.resize_(new)
        assert rs is s and s.shape == t.shape and s.stride() == t.stride()
        assert s.storage_offset() == t.storage_offset()
        n = min(s.numel(), 6)
        keep = min(n, 6)
        assert s.reshape(-1)[:keep].tolist() == t.reshape(-1)[:keep].tolist()
        if s.numel() + s.storage_offset() <= 8:
            assert s.data_ptr() == ptr or s.numel() == 0
    a_s, a_t = strided.zeros(3), torch.zeros(3)
    a_s.resize_as_(strided.ones(2, 2))
    a_t.resize_as_(torch.ones(2, 2))
    assert a_s.shape == a_t.shape
    for lib in (strided, torch):
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            lib.ones(2, requires_grad=True).resize_(3)


def test_set_matches_pytorch():
    for args in [lambda L, src: (src,), lambda L, src: (src.storage(), 1, (2, 2), (1, 2)),
                 lambda L, src: (src.storage(), 2, (4,)), lambda L, src: (src.storage(),),
                 lambda L, src: ()]:
        src_s, src_t = strided.arange(6.), torch.arange(6.)
        s, t = strided.zeros(3), torch.zeros(3)
        s.set_(*args(strided, src_s))
        t.set_(*args(torch, src_t))
        assert s.shape == t.shape and s.stride() == t.stride()
        assert s.storage_offset() == t.storage_offset()
        check_same(s, t)
        if s.numel():
            s.fill_(-1.0)
            assert src_s.min().item() == -1.0          # shares the source's memory
    with pytest.raises(RuntimeError, match="out of bounds"):
        strided.zeros(3).set_(strided.arange(6.).storage(), 4, (3,), (1,))
    with pytest.raises(RuntimeError):
        strided.zeros(3).set_(strided.arange(6))       # another dtype
    for lib in (strided, torch):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            lib.ones(2, requires_grad=True).set_(lib.ones(3))


# ---- conveniences ----------------------------------------------------------------------------------

def test_new_factories_match_pytorch():
    for dtype in ["float32", "int64", "float64"]:
        s, t = strided.ones(2, dtype=getattr(strided, dtype)), torch.ones(2, dtype=getattr(torch, dtype))
        check_same(s.new_zeros(2, 3), t.new_zeros(2, 3))
        check_same(s.new_zeros((2, 3)), t.new_zeros((2, 3)))
        check_same(s.new_ones(4), t.new_ones(4))
        check_same(s.new_full((2,), 3), t.new_full((2,), 3))
        check_same(s.new_tensor([1, 2]), t.new_tensor([1, 2]))
        check_same(s.new_tensor([[1.5]], dtype=strided.float64),
                   t.new_tensor([[1.5]], dtype=torch.float64))
        assert s.new_empty(3, 1).shape == t.new_empty(3, 1).shape
        assert same_dtype(s.new_empty(2, dtype=strided.int32).dtype,
                          t.new_empty(2, dtype=torch.int32).dtype)
    r = strided.ones(1).new_zeros(2, requires_grad=True)
    assert r.requires_grad and r.is_leaf


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64", "float32", "float64"])
def test_type_names_and_conversion(dtype):
    s, t = strided.ones(2, dtype=getattr(strided, dtype)), torch.ones(2, dtype=getattr(torch, dtype))
    assert s.type() == t.type().replace("torch.", "strided.")
    for target in ["torch.FloatTensor", "torch.LongTensor", "torch.DoubleTensor"]:
        check_same(s.type(target), t.type(target))
        check_same(s.type(target.replace("torch.", "strided.")), t.type(target))
    check_same(s.type(strided.int32), t.type(torch.int32))
    with pytest.raises(ValueError):
        s.type("torch.HalfTensor")


LEGACY = ["BoolTensor", "ByteTensor", "IntTensor", "LongTensor", "FloatTensor", "DoubleTensor"]


@pytest.mark.parametrize("name", LEGACY + ["Tensor"])
def test_legacy_constructors(name):
    S, T = getattr(strided, name), getattr(torch, name)
    check_same(S([1, 0, 2]), T([1, 0, 2]))
    check_same(S([[1.0, 2.0]]), T([[1.0, 2.0]]))
    assert S(2, 3).shape == T(2, 3).shape and same_dtype(S(2, 3).dtype, T(2, 3).dtype)
    assert S().shape == T().shape == (0,)
    assert S(np.array([1, 2])).tolist() == T(np.array([1, 2])).tolist()
    assert S(strided.Size([2, 3])).shape == T(torch.Size([2, 3])).shape == (2, 3)
    check_same(S((2, 3)), T((2, 3)))
    check_same(S([]), T([]))
    for bad in [(2.5,), (True,), (2, 3.0)]:
        with pytest.raises(TypeError):
            T(*bad)
        with pytest.raises(TypeError):
            S(*bad)
    if name != "Tensor":
        check_same(strided.ones(2).type(S), torch.ones(2).type(T))


def test_tensor_of_a_float_tensor_is_an_alias():
    x = strided.arange(3.)
    y = strided.Tensor(x)
    assert isinstance(y, strided.Tensor) and y.data_ptr() == x.data_ptr() and y.shape == x.shape


def test_finfo_iinfo_match_pytorch():
    for dt in ["float32", "float64"]:
        s, t = strided.finfo(getattr(strided, dt)), torch.finfo(getattr(torch, dt))
        for attr in ["bits", "min", "max", "eps", "tiny", "smallest_normal", "resolution"]:
            assert getattr(s, attr) == getattr(t, attr), (dt, attr)
        assert s.dtype == str(t.dtype).replace("torch.", "")
    assert strided.finfo().eps == torch.finfo().eps
    for dt in ["uint8", "int32", "int64"]:
        s, t = strided.iinfo(getattr(strided, dt)), torch.iinfo(getattr(torch, dt))
        assert (s.bits, s.min, s.max) == (t.bits, t.min, t.max)
        assert s.dtype == str(t.dtype).replace("torch.", "")
    for lib in (strided, torch):
        with pytest.raises(TypeError):
            lib.finfo(lib.int32)
        with pytest.raises(TypeError):
            lib.iinfo(lib.float32)
        with pytest.raises(TypeError):
            lib.iinfo(lib.bool)


def test_size_is_a_tuple_with_numel():
    for shape in [(), (2, 3), (4, 0, 2), (5,)]:
        s, t = strided.zeros(shape), torch.zeros(shape)
        assert isinstance(s.shape, strided.Size) and isinstance(s.size(), strided.Size)
        assert isinstance(s.shape, tuple) and s.shape == shape == t.shape
        assert repr(s.shape) == repr(t.shape).replace("torch.", "strided.")
        assert s.shape.numel() == t.shape.numel()
        assert type(s.shape[1:]) is strided.Size and s.shape[1:] == t.shape[1:]
        assert type(s.shape + (1,)) is strided.Size and s.shape + (1,) == t.shape + (1,)
        assert type((1,) + s.shape) is strided.Size
        back = pickle.loads(pickle.dumps(s.shape))
        assert type(back) is strided.Size and back == shape
        assert hash(s.shape) == hash(shape)
    assert s.stride() == t.stride() and type(s.stride()) is tuple


def test_format_matches_pytorch():
    for lib in (strided, torch):
        assert f"{lib.tensor(3.14159):.3f}" == "3.142"
        assert f"{lib.tensor(7):4d}" == "   7"
        assert f"{lib.tensor(2.5, requires_grad=True):.1f}" == "2.5"
        with pytest.raises(TypeError, match="unsupported format string"):
            f"{lib.tensor([2.5]):.2f}"
        with pytest.raises(TypeError, match="unsupported format string"):
            f"{lib.ones(2):.2f}"
    assert format(strided.ones(2), "") == str(strided.ones(2))


def test_inference_mode():
    assert not strided.is_inference_mode_enabled()
    x = strided.ones(2, requires_grad=True)
    with strided.inference_mode():
        assert strided.is_inference_mode_enabled() and not strided.is_grad_enabled()
        assert not (x * 2).requires_grad
        with strided.inference_mode(False):
            assert not strided.is_inference_mode_enabled() and strided.is_grad_enabled()
    assert strided.is_grad_enabled() and not strided.is_inference_mode_enabled()

    @strided.inference_mode()
    def f(t):
        return t * 2

    @strided.inference_mode
    def g(t):
        return t * 2
    assert not f(x).requires_grad and not g(x).requires_grad and (x * 2).requires_grad


def test_size_keyword_and_function_forms():
    for name in ["zeros", "ones", "empty"]:
        s, t = getattr(strided, name)(size=(2, 3)), getattr(torch, name)(size=(2, 3))
        assert s.shape == t.shape
        with pytest.raises(TypeError):
            getattr(strided, name)(2, size=(2, 3))
    check_same(strided.full(size=(2,), fill_value=1.5), torch.full(size=(2,), fill_value=1.5))
    assert strided.is_floating_point(strided.ones(1)) and not strided.is_floating_point(
        strided.ones(1, dtype=strided.int64))
    assert strided.is_tensor(strided.ones(1)) and strided.numel(strided.ones(2, 3)) == 6


# ---- reductions over a tuple of dims ---------------------------------------------------------

TUPLE_REDUCTIONS = ["sum", "mean", "amax", "amin", "var", "std", "norm", "logsumexp", "nansum",
                    "count_nonzero", "all", "any"]


def _reduce(lib, name, x, dims, keepdim):
    if name in ("all", "any"):
        x = x > 0.5
    f = getattr(lib, name)
    if name == "norm":
        return f(x, dim=dims, keepdim=keepdim)
    if name == "count_nonzero":
        return f(x, dims)
    return f(x, dims, keepdim=keepdim)


@pytest.mark.parametrize("name", TUPLE_REDUCTIONS)
@pytest.mark.parametrize("dims", [(0, 2), [1], (-1, 0), (2, 1, 0), ()])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions_over_a_tuple_of_dims(name, dims, keepdim):
    a = np.linspace(0.05, 2.0, 24).reshape(2, 3, 4)
    a[0, 1, 2] = 0.0
    if name == "nansum":
        a[1, 0, 3] = np.nan
    for s, t in zip(layouts(strided, a), layouts(torch, a)):
        xs = s.detach().requires_grad_()
        xt = t.detach().requires_grad_()
        try:
            rt = _reduce(torch, name, xt, dims, keepdim)
        except RuntimeError:
            # PyTorch's norm takes at most 2 dims, its logsumexp over dim=() fails without
            # keepdim: strided reduces there as over any other dims
            assert name in ("norm", "logsumexp")
            rs = _reduce(strided, name, xs, dims, keepdim)
            want = (torch.linalg.vector_norm(xt.detach(), dim=dims) if name == "norm" else
                    torch.logsumexp(xt.detach(), (0, 1, 2)))
            np.testing.assert_allclose(np.asarray(rs.reshape(-1).tolist()),
                                       np.asarray(want.reshape(-1).tolist()), rtol=1e-12)
            continue
        rs = _reduce(strided, name, xs, dims, keepdim)
        assert tuple(rs.shape) == tuple(rt.shape) and same_dtype(rs.dtype, rt.dtype)
        np.testing.assert_allclose(np.asarray(rs.tolist(), dtype=float),
                                   np.asarray(rt.tolist(), dtype=float), rtol=1e-12)
        # PyTorch's var/std/logsumexp gradients over dim=() are inf/raise (a PyTorch bug)
        if rt.requires_grad and not (dims == () and name in ("var", "std", "logsumexp")):
            w = np.arange(1, rt.numel() + 1, dtype=float).reshape(tuple(rt.shape))
            (rs * strided.tensor(w)).sum().backward()
            (rt * torch.tensor(w)).sum().backward()
            np.testing.assert_allclose(np.asarray(xs.grad.tolist()),
                                       np.asarray(xt.grad.tolist()), rtol=1e-10, atol=1e-12)


def test_prod_takes_one_dim_as_pytorch():
    for lib in (strided, torch):
        with pytest.raises(TypeError):
            lib.ones(2, 3).prod((0, 1))
        with pytest.raises(TypeError):
            lib.prod(lib.ones(2, 3), (0, 1))
    check_same(strided.arange(1., 7.).view(2, 3).prod(strided.tensor(1)),
               torch.arange(1., 7.).view(2, 3).prod(torch.tensor(1)))


# ---- more of PyTorch's behaviours (found by the ported suites) -----------------------------------

def test_byte_mask_warns_once_as_pytorch():
    import warnings
    for lib in (strided, torch):
        x = lib.arange(5.)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            x[lib.tensor([1, 0, 1, 0, 1], dtype=lib.uint8)]
        assert len(w) == 1 and "uint8 is now deprecated" in str(w[0].message)


def test_setitem_value_shapes_as_pytorch():
    for shape in [(), (2, 3)]:
        a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        results = []
        for lib in (strided, torch):
            x = lib.tensor(a)
            big = (x * -1).unsqueeze(0).unsqueeze(0)            # leading 1s are dropped
            x[True] = big
            x[lib.tensor(True)] = big * 2
            results.append(x.tolist())
            with pytest.raises(RuntimeError):
                x[True] = x.expand((5, 1) + tuple(x.shape))
        assert results[0] == results[1]
    for lib in (strided, torch):
        x = lib.arange(4)
        for v in ([], [1, 2, 3]):
            with pytest.raises(RuntimeError, match="shape mismatch: value tensor of shape"):
                x[x > -1] = lib.tensor(v)


def test_index_out_of_range_message():
    for case in [lambda L: L.arange(4)[[5]], lambda L: L.zeros(10, 0)[:, [0, 1]],
                 lambda L: L.zeros(3, 4)[[-7]]]:
        with pytest.raises(IndexError) as want:
            case(torch)
        with pytest.raises(IndexError) as got:
            case(strided)
        assert str(got.value) == str(want.value)


@pytest.mark.parametrize("shape,target", [((5,), (1, 1, 5)), ((5,), (3, 1, 5)), ((2, 1), (4, 1, 2, 3)),
                                          ((), (1,)), ((), (2, 1)), ((3, 1), (1, 3, 4)),
                                          ((1,), (1, 1, 0))])
def test_expand_strides_match_pytorch(shape, target):
    s, t = strided.ones(shape).expand(target), torch.ones(shape).expand(target)
    assert s.shape == t.shape and s.stride() == t.stride()
    assert s.is_contiguous() == t.is_contiguous()


def test_resize_same_size_and_overflow_as_pytorch():
    for lib in (strided, torch):
        x = lib.arange(6.).view(2, 3).t()
        x.resize_as_(lib.ones(3, 2))
        assert x.stride() == (1, 3)
        y = lib.empty((), dtype=lib.float64)
        with pytest.raises(RuntimeError, match="Storage size calculation overflowed"):
            y.resize_([2, 4, 2 ** 29, 2 ** 29])
        with pytest.raises(RuntimeError, match="overflow"):
            y.resize_([8, 8, 2 ** 29, 2 ** 29])


def test_legacy_new_and_swapaxes_keywords():
    for dtype in ["int64", "float32"]:
        s, t = strided.ones(2, dtype=getattr(strided, dtype)), torch.ones(2, dtype=getattr(torch, dtype))
        assert s.new(2, 3).shape == t.new(2, 3).shape and same_dtype(s.new(2, 3).dtype, t.new(2, 3).dtype)
        check_same(s.new([1, 2]), t.new([1, 2]))
        assert s.new().shape == t.new().shape
    x = np.arange(6.).reshape(2, 3)
    check_same(strided.swapaxes(strided.tensor(x), axis0=0, axis1=1),
               torch.swapaxes(torch.tensor(x), axis0=0, axis1=1))
    check_same(strided.swapdims(strided.tensor(x), dim0=1, dim1=0),
               torch.swapdims(torch.tensor(x), dim0=1, dim1=0))


def test_list_of_sequences_indexes_as_a_tuple_as_pytorch():
    import warnings
    a = np.arange(12.).reshape(3, 4)
    for idx in [[[0, 1], [1, 2]], [0, slice(None)], [[0, 1]], [slice(1, None), [0, 3]],
                [0, None], [Ellipsis, 1], [0, 1, 2], [[True, False, True]]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for s, t in zip(layouts(strided, a), layouts(torch, a)):
                check_same(s[idx], t[idx])
                s2, t2 = s.clone(), t.clone()
                s2[idx] = -1.0
                t2[idx] = -1.0
                check_same(s2, t2)


def test_del_item_and_broadcast_shapes_errors_as_pytorch():
    for lib in (strided, torch):
        x = lib.ones(3)
        with pytest.raises(TypeError, match="does not support deleting items"):
            del x[0]
        for bad in [((2, -1), (2,)), ((-1,),)]:
            with pytest.raises(ValueError, match="negative length"):
                lib.broadcast_shapes(*bad)
        with pytest.raises(RuntimeError, match="should be of type ints"):
            lib.broadcast_shapes(1.5)
    for shapes in [((3, 1), (1, 4), (2, 1, 1)), (1, (5,)), ((2, 3), (3,)), ((3, 5),)]:
        s = strided.broadcast_shapes(*shapes)
        assert s == torch.broadcast_shapes(*shapes) and isinstance(s, strided.Size)
    for bad in [((3,), (5,)), ((2, 3), (5,))]:
        with pytest.raises(RuntimeError) as want:
            torch.broadcast_shapes(*bad)
        with pytest.raises(RuntimeError) as got:
            strided.broadcast_shapes(*bad)
        assert str(got.value) == str(want.value)


def test_inplace_ops_between_dtype_views_of_one_memory_read_old_values():
    """view(dtype) reads memory through a second Storage: in-place ops that read and write
    overlapping views of it must still see the old values (NumPy's answer)."""
    base = np.arange(8, dtype=np.float32)
    for dt, npdt in [("int32", np.int32), ("uint8", np.uint8)]:
        b = strided.tensor(base)
        u, v = b.view(getattr(strided, dt)), b.view(getattr(strided, dt))
        want = base.copy().view(npdt)
        want[1:] += want[:-1].copy()
        u[1:].add_(v[:-1])
        np.testing.assert_array_equal(np.asarray(b.view(getattr(strided, dt)).tolist()), want)
    a = np.arange(6.)
    x, y = strided.from_numpy(a), strided.from_numpy(a)
    x[1:].mul_(y[:-1])
    want = np.arange(6.)
    want[1:] *= np.arange(6.)[:-1]
    np.testing.assert_array_equal(a, want)
