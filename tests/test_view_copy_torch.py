"""The *_copy variants of the view ops against PyTorch: same values, shapes and gradients,
contiguous results that share no memory with the input, out= (and its errors)."""
import numpy as np
import pytest

import strided

torch = pytest.importorskip("torch")

rng = np.random.default_rng(7)


def layouts(shape):
    """(name, strided tensor, torch tensor) of the same values in several layouts."""
    a = rng.standard_normal(shape)
    out = [("contiguous", strided.tensor(a), torch.tensor(a))]
    if len(shape) >= 2:
        b = np.ascontiguousarray(np.swapaxes(a, 0, 1))
        out.append(("transposed", strided.tensor(b).transpose(0, 1),
                    torch.tensor(b).transpose(0, 1)))
    if len(shape) >= 1 and shape[0] > 0:
        b = a[::-1].copy()
        out.append(("flipped", strided.tensor(b).flip(0), torch.tensor(b).flip(0)))
        wide = np.repeat(a, 2, axis=0)
        out.append(("stepped", strided.tensor(wide)[::2], torch.tensor(wide)[::2]))
    return out


# (name, shape, args, kwargs)
CASES = [
    ("view_copy", (2, 6), ((3, 4),), {}),
    ("view_copy", (12,), ((2, -1),), {}),
    ("alias_copy", (3, 4), (), {}),
    ("as_strided_copy", (3, 4), ((2, 2), (1, 2)), {}),
    ("detach_copy", (3, 4), (), {}),
    ("diagonal_copy", (4, 5), (), {}),
    ("diagonal_copy", (3, 4, 5), (), {"offset": 1, "dim1": 0, "dim2": 2}),
    ("expand_copy", (3, 1), ((3, 4),), {}),
    ("narrow_copy", (5, 4), (0, 1, 3), {}),
    ("permute_copy", (2, 3, 4), ((2, 0, 1),), {}),
    ("select_copy", (3, 4), (1, -1), {}),
    ("slice_copy", (6, 4), (0, 1, 5, 2), {}),
    ("squeeze_copy", (3, 1, 4), (), {}),
    ("squeeze_copy", (3, 1, 4), (1,), {}),
    ("t_copy", (3, 4), (), {}),
    ("transpose_copy", (2, 3, 4), (0, 2), {}),
    ("unfold_copy", (7, 3), (0, 3, 2), {}),
    ("unsqueeze_copy", (3, 4), (1,), {}),
]
MANY = [
    ("split_copy", (5, 4), (2,), {}),
    ("split_copy", (5, 4), (3, 1), {}),
    ("split_with_sizes_copy", (5, 4), ([1, 4],), {}),
    ("unbind_copy", (3, 4), (1,), {}),
]


def _as_torch(args):
    return tuple(tuple(a) if isinstance(a, list) else a for a in args)


@pytest.mark.parametrize("name,shape,args,kwargs", CASES)
def test_copy_variant_matches_torch(name, shape, args, kwargs):
    if name == "as_strided_copy":
        cases = [("contiguous", strided.tensor(a := rng.standard_normal(shape)), torch.tensor(a))]
    else:
        cases = layouts(shape)
    for layout, x, tx in cases:
        r = getattr(strided, name)(x, *args, **kwargs)
        tr = getattr(torch, name)(tx, *_as_torch(args), **kwargs)
        assert tuple(r.shape) == tuple(tr.shape), (name, layout)
        np.testing.assert_array_equal(r.numpy(), tr.numpy(), err_msg=f"{name} {layout}")
        assert r.is_contiguous()
        assert r.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()


@pytest.mark.parametrize("name,shape,args,kwargs", MANY)
def test_copy_variants_of_splits_match_torch(name, shape, args, kwargs):
    for layout, x, tx in layouts(shape):
        rs = getattr(strided, name)(x, *args, **kwargs)
        trs = getattr(torch, name)(tx, *args, **kwargs)
        assert len(rs) == len(trs)
        for r, tr in zip(rs, trs):
            np.testing.assert_array_equal(r.numpy(), tr.numpy(), err_msg=f"{name} {layout}")
            assert r.is_contiguous()
            assert r.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()


@pytest.mark.parametrize("name,shape,args,kwargs",
                         [c for c in CASES if c[0] != "detach_copy"] + MANY)
def test_copy_variant_gradient_matches_torch(name, shape, args, kwargs):
    a = rng.standard_normal(shape)
    x = strided.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    r = getattr(strided, name)(x, *args, **kwargs)
    tr = getattr(torch, name)(tx, *_as_torch(args), **kwargs)
    rs, trs = (r, tr) if isinstance(r, tuple) else ((r,), (tr,))
    for i, (o, to) in enumerate(zip(rs, trs)):
        w = rng.standard_normal(tuple(o.shape))
        (o * strided.tensor(w)).sum().backward(retain_graph=True)
        (to * torch.tensor(w)).sum().backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_writes_to_the_copy_leave_the_input_alone():
    x = strided.arange(6.).view(2, 3)
    for r in (strided.view_copy(x, (3, 2)), strided.t_copy(x), strided.diagonal_copy(x)):
        r.fill_(-1.0)
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_out_forms_match_torch():
    a = rng.standard_normal((3, 3))
    out, tout = strided.empty(3, dtype=strided.float64), torch.empty(3, dtype=torch.float64)
    r = strided.diagonal_copy(strided.tensor(a), out=out)
    torch.diagonal_copy(torch.tensor(a), out=tout)
    assert r is out
    np.testing.assert_array_equal(out.numpy(), tout.numpy())
    parts = (strided.empty(2, 3, dtype=strided.float64), strided.empty(1, 3, dtype=strided.float64))
    tparts = (torch.empty(2, 3, dtype=torch.float64), torch.empty(1, 3, dtype=torch.float64))
    strided.split_copy(strided.tensor(a), 2, out=parts)
    torch.split_copy(torch.tensor(a), 2, out=tparts)
    for p, tp in zip(parts, tparts):
        np.testing.assert_array_equal(p.numpy(), tp.numpy())


def test_out_errors_say_what_was_expected():
    x = strided.arange(6.).view(2, 3)
    with pytest.raises(RuntimeError, match="shape"):
        strided.t_copy(x, out=strided.empty(2, 3))
    with pytest.raises(RuntimeError, match="dtype"):
        strided.t_copy(x, out=strided.empty(3, 2, dtype=strided.int64))
    with pytest.raises(TypeError, match="out"):
        strided.t_copy(x, out=[1, 2])
    with pytest.raises(RuntimeError, match="expected 2 tensors"):
        strided.split_copy(strided.arange(4), 2, out=(strided.empty(2, dtype=strided.int64),))
