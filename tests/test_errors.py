"""Every invalid argument gives a clear Python exception with a useful message, never a
crash: dims, shapes, sizes, strides, offsets, dtypes, indices."""
import numpy as np
import pytest

import strided


def t23():
    return strided.arange(6).view(2, 3)


# ---- dims -------------------------------------------------------------------------------

DIM_CALLS = {
    "size": lambda t, d: t.size(d),
    "stride": lambda t, d: t.stride(d),
    "transpose_a": lambda t, d: t.transpose(d, 0),
    "transpose_b": lambda t, d: t.transpose(0, d),
    "select": lambda t, d: t.select(d, 0),
    "narrow": lambda t, d: t.narrow(d, 0, 1),
    "squeeze": lambda t, d: t.squeeze(d),
    "squeeze_tuple": lambda t, d: t.squeeze((0, d)),
    "unfold": lambda t, d: t.unfold(d, 1, 1),
    "diagonal": lambda t, d: t.diagonal(0, 0, d),
    "split": lambda t, d: t.split(1, d),
    "chunk": lambda t, d: t.chunk(2, d),
    "tensor_split": lambda t, d: t.tensor_split(2, d),
    "unbind": lambda t, d: t.unbind(d),
    "movedim_src": lambda t, d: t.movedim(d, 0),
    "movedim_dst": lambda t, d: t.movedim(0, d),
    "flatten": lambda t, d: t.flatten(0, d),
    "unflatten": lambda t, d: t.unflatten(d, (1, -1)),
    "permute": lambda t, d: t.permute(0, d),
    "flip": lambda t, d: t.flip(d),
    "swapaxes": lambda t, d: t.swapaxes(0, d),
    "fn_transpose": lambda t, d: strided.transpose(t, 0, d),
    "fn_select": lambda t, d: strided.select(t, d, 0),
}


@pytest.mark.parametrize("op", DIM_CALLS)
@pytest.mark.parametrize("d", [2, 3, -3, 100, -100])
def test_bad_dim(op, d):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range "
                                         r"of \[-2, 1\], but got " + str(d) + r"\)"):
        DIM_CALLS[op](t23(), d)


@pytest.mark.parametrize("d", [3, -4])
def test_unsqueeze_bad_dim(d):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-3, 2\]"):
        t23().unsqueeze(d)


@pytest.mark.parametrize("d", [1, -2])
def test_bad_dim_0d(d):
    t = strided.tensor(1.0)
    with pytest.raises(IndexError, match=r"\[-1, 0\]"):
        t.transpose(d, 0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.squeeze(d)


@pytest.mark.parametrize("d", [1.0, "0", None, [0]])
def test_dim_wrong_type(d):
    t = t23()
    with pytest.raises(TypeError):
        t.transpose(0, d)
    with pytest.raises(TypeError):
        t.size(d) if d is not None else t.select(d, 0)


# ---- view / reshape ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(-1, -1), (-1, 2, -1), (-1, -1, -1)])
@pytest.mark.parametrize("method", ["view", "reshape"])
def test_view_two_inferred(shape, method):
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        getattr(t23(), method)(*shape)


@pytest.mark.parametrize("shape,numel", [((4,), 6), ((4, -1), 6), ((5, 2), 6), ((7,), 6),
                                         ((-1, 4), 6), ((2, 2, 2), 6), ((0,), 6), ((1,), 6)])
@pytest.mark.parametrize("method", ["view", "reshape"])
def test_view_size_invalid(shape, numel, method):
    t = strided.arange(numel)
    with pytest.raises(RuntimeError, match=r"is invalid for input of size " + str(numel)):
        getattr(t, method)(*shape)


def test_view_invalid_message_exact():
    with pytest.raises(RuntimeError) as e:
        t23().view(4, 5)
    assert str(e.value) == "shape '[4, 5]' is invalid for input of size 6"


def test_view_empty_ambiguous():
    with pytest.raises(RuntimeError, match="ambiguous"):
        strided.zeros(0, 3).view(-1, 0)


@pytest.mark.parametrize("shape", [(-2, 3), (2, -3), (-1, -2)])
def test_view_negative_size(shape):
    with pytest.raises(RuntimeError, match="invalid shape dimension"):
        t23().view(*shape)


def test_view_noncontiguous():
    with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
        t23().T.view(6)


@pytest.mark.parametrize("shape", [(2 ** 40, 2 ** 40), (2 ** 62, 4), (-1, 2 ** 62, 2 ** 62)])
def test_view_overflowing_shape(shape):
    with pytest.raises(RuntimeError, match="overflows int64|is invalid"):
        t23().view(*shape)


@pytest.mark.parametrize("bad", [(2.0, 3), ("a",), (None,), ((2, 3), 1)])
def test_view_wrong_types(bad):
    with pytest.raises(TypeError):
        t23().view(*bad)


# ---- expand -----------------------------------------------------------------------------

@pytest.mark.parametrize("target,msg", [
    ((3, 3), "must match the existing size"),
    ((2, 4), "must match the existing size"),
    ((5, 2, 4), "must match the existing size"),
    ((3,), "number of sizes provided"),
    ((-1, 2, 3), "isn't allowed in a leading, non-existing dimension"),
])
def test_expand_errors(target, msg):
    with pytest.raises(RuntimeError, match=msg):
        t23().expand(*target)


def test_expand_message_exact():
    with pytest.raises(RuntimeError) as e:
        strided.zeros(2, 3).expand(2, 4)
    assert str(e.value) == ("The expanded size of the tensor (4) must match the existing size "
                            "(3) at non-singleton dimension 1.  Target sizes: [2, 4].  Tensor "
                            "sizes: [2, 3]")


def test_expand_negative_on_singleton():
    with pytest.raises(RuntimeError):
        strided.zeros(1, 3).expand(-2, 3)


def test_expand_overflowing_numel():
    with pytest.raises((ValueError, RuntimeError), match="overflow"):
        strided.zeros(1, 1).expand(2 ** 40, 2 ** 40)
    with pytest.raises((ValueError, RuntimeError), match="overflow"):
        strided.zeros(1).expand(2 ** 62, 2 ** 62, 1)


# ---- as_strided -------------------------------------------------------------------------

@pytest.mark.parametrize("size,stride,offset", [
    ((7,), (1,), 0), ((6,), (1,), 1), ((2, 3), (3, 1), 1), ((3,), (3,), 0), ((1,), (1,), 6),
    ((2, 2), (5, 1), 0), ((3,), (-1,), 1), ((3,), (-2,), 0), ((2, 3), (-3, 1), 2),
    ((2 ** 62,), (2,), 0), ((2, 2), (1, 2 ** 62), 0), ((3,), (2 ** 62,), 0),
    ((2,), (-2 ** 62,), 0), ((1,), (1,), 2 ** 62),
])
def test_as_strided_outside_storage(size, stride, offset):
    with pytest.raises(RuntimeError):
        t23().as_strided(size, stride, offset)


def test_as_strided_message():
    with pytest.raises(RuntimeError, match=r"outside a storage of size 6"):
        t23().as_strided((7,), (1,), 0)


def test_as_strided_negative_offset():
    with pytest.raises(RuntimeError, match="non-negative"):
        t23().as_strided((1,), (1,), -1)


def test_as_strided_length_mismatch():
    with pytest.raises(RuntimeError, match="mismatch in length"):
        t23().as_strided((2, 3), (1,))


@pytest.mark.parametrize("size,stride", [((2 ** 40, 2 ** 40), (0, 0)), ((2 ** 62, 4), (0, 0)),
                                         ((2 ** 32, 2 ** 32, 2), (0, 0, 0)),
                                         ((3, 2 ** 62, 2), (0, 0, 1))])
def test_as_strided_numel_overflow(size, stride):
    with pytest.raises((ValueError, RuntimeError), match="overflow"):
        t23().as_strided(size, stride)


def test_as_strided_too_big_int():
    # an int-list argument beyond int64: TypeError, as in PyTorch
    with pytest.raises(TypeError, match="int64 range"):
        t23().as_strided((2 ** 64,), (0,))


# ---- negative sizes ---------------------------------------------------------------------

@pytest.mark.parametrize("fn", [lambda: strided.zeros(-1), lambda: strided.zeros(2, -3),
                                lambda: strided.ones((3, -1)), lambda: strided.empty(-5),
                                lambda: strided.full((-2,), 1.0), lambda: strided.Storage(-1),
                                lambda: strided.rand(-1), lambda: strided.randn(2, -1),
                                lambda: strided.randint(0, 5, (-1,)),
                                lambda: t23().as_strided((-1,), (1,)),
                                lambda: t23().as_strided((2, -2), (1, 1))])
def test_negative_sizes(fn):
    with pytest.raises(ValueError):
        fn()


# ---- allocations whose numel overflows or cannot be served ------------------------------

@pytest.mark.parametrize("fn", [lambda: strided.zeros(2 ** 40, 2 ** 40),
                                lambda: strided.empty(2 ** 32, 2 ** 32),
                                lambda: strided.ones(2 ** 62, 4),
                                lambda: strided.full((2 ** 31, 2 ** 31, 8), 1.0),
                                lambda: strided.zeros(3, 2 ** 62)])
def test_numel_overflow(fn):
    with pytest.raises(ValueError, match="overflows int64"):
        fn()


@pytest.mark.parametrize("fn", [lambda: strided.zeros(2 ** 31, 2 ** 31),
                                lambda: strided.empty(2 ** 62, dtype=strided.uint8),
                                lambda: strided.zeros(2 ** 62, dtype=strided.bool),
                                lambda: strided.empty(2 ** 61, dtype=strided.float64),
                                lambda: strided.zeros(1).expand(2 ** 62).clone(),
                                lambda: strided.zeros(1).expand(2 ** 62).contiguous(),
                                lambda: strided.zeros(2, 1).expand(2, 2 ** 61).reshape(-1),
                                lambda: strided.Storage(2 ** 62, strided.float64)])
def test_huge_allocation_is_a_python_exception(fn):
    # ~2**62 elements: impossible, and must say so with an exception (no abort, no crash)
    with pytest.raises((MemoryError, ValueError, RuntimeError)):
        fn()


def test_huge_shape_with_a_zero():
    # a zero makes the tensor empty, but its sizes must still multiply out in 64 bits (as
    # PyTorch's "Storage size calculation overflowed")
    t = strided.zeros(2 ** 40, 0, 2 ** 40)
    assert t.numel() == 0 and t.shape == (2 ** 40, 0, 2 ** 40)
    with pytest.raises(ValueError, match="beyond int64"):
        strided.zeros(2 ** 40, 2 ** 40, 0)


def test_ints_beyond_int64():
    # PyTorch's classes: TypeError for an element of an int list, ValueError for one int
    with pytest.raises(TypeError, match="int64 range"):
        strided.zeros(2 ** 64)
    with pytest.raises(TypeError, match="int64 range"):
        t23().view(2 ** 63)
    with pytest.raises(ValueError, match="int64 range"):
        t23()[2 ** 64]


# ---- dtypes -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.complex64, np.complex128, np.int16, np.uint16,
                                   np.uint32, np.uint64, np.int8, "float16", "foo", object, str,
                                   complex])
@pytest.mark.parametrize("fn", [lambda dt: strided.zeros(2, dtype=dt),
                                lambda dt: strided.empty(2, dtype=dt),
                                lambda dt: strided.ones(2, dtype=dt),
                                lambda dt: strided.full((2,), 1, dtype=dt),
                                lambda dt: strided.arange(3, dtype=dt),
                                lambda dt: strided.tensor([1, 2], dtype=dt),
                                lambda dt: strided.Storage(2, dt),
                                lambda dt: t23().to(dt),
                                lambda dt: strided.zeros_like(t23(), dtype=dt)])
def test_unsupported_dtype(fn, dtype):
    with pytest.raises(TypeError, match="unsupported dtype|supports"):
        fn(dtype)


def test_dtype_cannot_be_constructed():
    with pytest.raises(TypeError):
        type(strided.float32)()


# ---- indices ----------------------------------------------------------------------------

@pytest.mark.parametrize("idx", [1.5, 0.0, (0, 1.0), (slice(None), 2.5), np.float64(1.0)])
def test_float_index(idx):
    with pytest.raises(IndexError, match="only integers, slices"):
        t23()[idx]
    with pytest.raises(IndexError):
        t23()[idx] = 1


@pytest.mark.parametrize("fn", [lambda t: t.select(0, 1.5), lambda t: t.narrow(0, 0.5, 1),
                                lambda t: t.narrow(0, 0, 1.0), lambda t: t.unfold(0, 1.0, 1),
                                lambda t: t.diagonal(0.5), lambda t: t.split(1.5),
                                lambda t: t.chunk(2.0), lambda t: t.expand(2.0, 3),
                                lambda t: t.permute(0.0, 1), lambda t: t.as_strided((2.0,), (1,))])
def test_float_arguments(fn):
    with pytest.raises(TypeError):
        fn(t23())


@pytest.mark.parametrize("idx", [2, -3, (0, 3), (1, -4), (0, 0, 0)])
def test_index_out_of_range(idx):
    with pytest.raises(IndexError):
        t23()[idx]


@pytest.mark.parametrize("i", [2, -3, 100])
def test_select_out_of_range(i):
    with pytest.raises(IndexError, match="out of range"):
        t23().select(0, i)


# ---- permute ----------------------------------------------------------------------------

@pytest.mark.parametrize("dims", [(0, 0), (1, 1), (0, -2), (-1, 1)])
def test_permute_duplicates(dims):
    with pytest.raises(RuntimeError, match="duplicate dims"):
        t23().permute(*dims)


@pytest.mark.parametrize("dims", [(0,), (0, 1, 2), (), (1, 0, 1)])
def test_permute_wrong_length(dims):
    with pytest.raises(RuntimeError, match="does not match the length of the desired ordering"):
        t23().permute(dims)


def test_movedim_errors():
    with pytest.raises(RuntimeError, match="repeated dim"):
        strided.zeros(2, 3, 4).movedim((0, 0), (1, 2))
    with pytest.raises(RuntimeError, match="same number of dims"):
        strided.zeros(2, 3, 4).movedim((0, 1), (1,))


def test_flip_duplicate_dims():
    with pytest.raises(RuntimeError, match="multiple times"):
        t23().flip(0, 0)
    with pytest.raises(RuntimeError, match="multiple times"):
        t23().flip(1, -1)


# ---- narrow -----------------------------------------------------------------------------

@pytest.mark.parametrize("start,length,exc,msg", [
    (3, 0, IndexError, "start out of range"),
    (-3, 1, IndexError, "start out of range"),
    (1, 2, RuntimeError, r"start \(1\) \+ length \(2\) exceeds dimension size \(2\)"),
    (0, 3, RuntimeError, "exceeds dimension size"),
    (-1, 2, RuntimeError, "exceeds dimension size"),
    (0, -1, RuntimeError, "length must be non-negative"),
])
def test_narrow_out_of_range(start, length, exc, msg):
    with pytest.raises(exc, match=msg):
        t23().narrow(0, start, length)


def test_narrow_0d():
    with pytest.raises((RuntimeError, IndexError)):
        strided.tensor(1.0).narrow(0, 0, 1)


# ---- unfold -----------------------------------------------------------------------------

@pytest.mark.parametrize("size,step,msg", [
    (1, 0, "step is 0 but must be > 0"),
    (1, -2, "step is -2 but must be > 0"),
    (3, 1, "maximum size for tensor at dimension 0 is 2 but size is 3"),
    (100, 1, "maximum size"),
    (-1, 1, "maximum size|size"),
])
def test_unfold_errors(size, step, msg):
    with pytest.raises(RuntimeError, match=msg):
        t23().unfold(0, size, step)


# ---- split / chunk / tensor_split --------------------------------------------------------

@pytest.mark.parametrize("sizes", [[1, 1, 2], [1, 1], [4], [], [2, 2, -1], [0, 0]])
def test_split_sizes_not_summing(sizes):
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes"):
        t23().split(sizes, 1)


def test_split_sum_message():
    with pytest.raises(RuntimeError, match=r"to sum exactly to 3 \(input tensor's size at "
                                           r"dimension 1\)"):
        t23().split([1, 1], 1)


@pytest.mark.parametrize("size", [-1, 0])
def test_split_bad_size(size):
    with pytest.raises(RuntimeError, match="split"):
        t23().split(size, 1)


@pytest.mark.parametrize("chunks", [0, -1])
def test_chunk_bad(chunks):
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0"):
        t23().chunk(chunks)


@pytest.mark.parametrize("n", [0, -2])
def test_tensor_split_bad(n):
    with pytest.raises(RuntimeError, match="number of sections must be larger than 0"):
        t23().tensor_split(n)


@pytest.mark.parametrize("op", [lambda t: t.split(1), lambda t: t.chunk(1), lambda t: t.unbind(),
                                lambda t: t.tensor_split(1), lambda t: t.select(0, 0),
                                lambda t: t.diagonal(), lambda t: t.narrow(0, 0, 1)])
def test_ops_needing_dims_on_0d(op):
    with pytest.raises((RuntimeError, IndexError)):
        op(strided.tensor(3.0))


# ---- misc -------------------------------------------------------------------------------

def test_diagonal_errors():
    with pytest.raises(RuntimeError, match="cannot be identical"):
        t23().diagonal(0, 1, 1)
    with pytest.raises(RuntimeError, match="diagonal dimensions requires"):
        strided.zeros(3).diagonal()


def test_flatten_unflatten_errors():
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        strided.zeros(2, 3, 4).flatten(2, 0)
    with pytest.raises(RuntimeError, match="is invalid for input of size 3"):
        t23().unflatten(1, (2, 2))
    with pytest.raises(RuntimeError, match="non-empty"):
        t23().unflatten(1, ())


def test_too_many_dims():
    with pytest.raises(ValueError, match="at most 64 dimensions"):
        strided.zeros(*([1] * 65))
    with pytest.raises(ValueError, match="at most 64 dimensions"):
        strided.zeros(*([1] * 64)).unsqueeze(0)
    with pytest.raises((ValueError, IndexError), match="64"):
        strided.zeros(*([1] * 64))[None]


def test_t_on_3d():
    with pytest.raises(RuntimeError, match="<= 2 dimensions"):
        strided.zeros(2, 3, 4).t()
    with pytest.raises(RuntimeError, match="mT"):
        strided.zeros(3).mT


def test_legacy_tensor_constructor_refuses_what_pytorch_refuses():
    with pytest.raises(TypeError, match="expected sizes"):
        strided.Tensor("ab")
    with pytest.raises(TypeError, match="expected float32"):
        strided.Tensor(strided.arange(3))


def test_item_and_bool_errors():
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        t23().item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t23())
    with pytest.raises(TypeError):
        t23().__index__()
    with pytest.raises(TypeError):
        strided.tensor(1.5).__index__()


def test_copy_errors():
    with pytest.raises(RuntimeError, match="do not broadcast"):
        t23().copy_(strided.zeros(4))
    with pytest.raises(RuntimeError, match="more than one element"):
        strided.zeros(1).expand(3).fill_(1)
    with pytest.raises(TypeError):
        t23().fill_("x")
    with pytest.raises(TypeError):
        t23().fill_(None)


def test_broadcast_shapes_error():
    with pytest.raises(RuntimeError, match="expected shape should be broadcastable to"):
        strided.broadcast_shapes((2, 3), (4, 3))
    with pytest.raises(RuntimeError):
        strided.broadcast_tensors(strided.zeros(2, 3), strided.zeros(3, 2))


def test_repr_of_huge_expanded_tensor():
    # repr must summarise without scanning (or allocating) every element, as PyTorch does
    r = repr(strided.zeros(1).expand(2 ** 50))
    assert r == "tensor([0., 0., 0.,  ..., 0., 0., 0.])" or ("..." in r and len(r) < 100)
