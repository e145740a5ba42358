"""Function forms of the Tensor view ops (strided.transpose(t, 0, 1) == t.transpose(0, 1))."""
from __future__ import annotations
from typing import Sequence, TypeGuard

from strided._C.core.tensor import Tensor, _write_out
from strided.types import _DTypeLike


def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    """input with a new shape (one -1 inferred): a view when the strides allow one, else a
    contiguous copy; Tensor.reshape is the method form.

    >>> strided.reshape(strided.arange(6), (2, -1)).shape
    strided.Size([2, 3])
    """
    return input.reshape(shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dims start_dim..end_dim merged into one (a view when possible, else a copy, as
    reshape); a 0-d input gives a 1-d tensor.  Tensor.flatten is the method form.
    """
    return input.flatten(start_dim, end_dim)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Dim dim split into `sizes` (one -1 inferred), a view; Tensor.unflatten is the method
    form.
    """
    return input.unflatten(dim, sizes)


def squeeze(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """A view without the size-1 dims (all of them, or those among dim: an int or a tuple; a
    listed dim whose size is not 1 stays).  Tensor.squeeze is the method form.
    """
    return input.squeeze(dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A view with a size-1 dim inserted at position dim; Tensor.unsqueeze is the method form."""
    return input.unsqueeze(dim)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with dims dim0 and dim1 swapped (no copy); also strided.swapaxes and
    strided.swapdims.  Tensor.transpose is the method form.
    """
    return input.transpose(dim0, dim1)


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """transpose(input, axis0, axis1) under NumPy's names."""
    return input.transpose(axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """transpose(input, dim0, dim1)."""
    return input.transpose(dim0, dim1)


def t(input: Tensor) -> Tensor:
    """The transpose of a tensor with at most 2 dims, a view (0-d and 1-d inputs come back
    unchanged); Tensor.t is the method form.
    """
    return input.t()


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    """A view with the dims reordered: dim i of the result is dim dims[i] of input.

    >>> strided.permute(strided.zeros(2, 3, 4), (2, 0, 1)).shape
    strided.Size([4, 2, 3])
    """
    return input.permute(dims)


def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """A view with the dims in source (an int or a sequence) moved to the positions in
    destination, the others keeping their order; also strided.moveaxis.
    """
    return input.movedim(source, destination)


moveaxis = movedim


def narrow(input: Tensor, dim: int, start: int | Tensor, length: int) -> Tensor:
    """A view of elements start .. start+length-1 along dim (start may be negative)."""
    return input.narrow(dim, start, length)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """A view of the slice at index along dim, that dim removed (input.select(0, i) is
    input[i]).
    """
    return input.select(dim, index)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal of the (dim1, dim2) planes as a new last dim (offset > 0:
    above the main diagonal, < 0: below); Tensor.diagonal is the method form.
    """
    return input.diagonal(offset, dim1, dim2)


def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: int | None = None) -> Tensor:
    """A view of input's storage with explicit size, stride (in elements) and storage_offset
    (default: input's own offset).  The view is checked against the storage's bounds;
    negative strides are allowed.  Elements may overlap: write through such a view with care.

    >>> strided.as_strided(strided.arange(6), (2, 2), (1, 2)).tolist()
    [[0, 2], [1, 3]]
    """
    return input.as_strided(size, stride, storage_offset)


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    """A view of input broadcast to shape (size-1 and missing leading dims get stride 0)."""
    return input.broadcast_to(shape)


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """Views of all tensors expanded to their common broadcast shape."""
    from strided._C.core.tensor import broadcast_shapes
    shape = broadcast_shapes(*(x.shape for x in tensors))
    return tuple(x.expand(shape) for x in tensors)


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int],
          dim: int = 0) -> tuple[Tensor, ...]:
    """Views of consecutive pieces along dim: split_size elements each (the last may be
    smaller) for an int, the given sizes for a list; Tensor.split is the method form.
    """
    return tensor.split(split_size_or_sections, dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most `chunks` views along dim, each ceil(size / chunks) long (the last may be
    smaller); Tensor.chunk is the method form.
    """
    return input.chunk(chunks, dim)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """A tuple of views, one per index along dim, that dim removed."""
    return input.unbind(dim)


def tensor_split(input: Tensor, indices_or_sections: int | Sequence[int] | Tensor,
                 dim: int = 0) -> tuple[Tensor, ...]:
    """Views along dim, as NumPy's array_split: an int n gives n pieces of sizes differing by
    at most one; a sequence (or 1-D tensor) gives split indices.
    """
    return input.tensor_split(indices_or_sections, dim)


def flip(input: Tensor, dims: Sequence[int]) -> Tensor:
    """input with the order of elements reversed along dims.  Unlike PyTorch, which copies,
    this is a view with negative strides (as NumPy's flip): writes reach input.
    """
    return input.flip(dims)


def clone(input: Tensor) -> Tensor:
    """A contiguous copy of input in fresh storage (differentiable: gradients flow back to
    input).
    """
    return input.clone()


def numel(input: Tensor) -> int:
    """The number of elements of input (an int)."""
    return input.numel()


def is_tensor(obj: object) -> TypeGuard[Tensor]:
    """True when obj is a strided.Tensor (a Parameter included)."""
    return isinstance(obj, Tensor)


def count_nonzero(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """The number of nonzero elements of input over dim (an int, a tuple, or all), int64."""
    return input.count_nonzero(dim)


_TITLES = {"bool": "Bool", "uint8": "Byte", "int32": "Int", "int64": "Long"}


def nansum(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
           dtype: _DTypeLike | None = None, out: Tensor | None = None) -> Tensor:
    """input.sum(dim, keepdim) with NaN counted as zero; out= as strided.sum's (computed in
    out's dtype)."""
    if out is None:
        return input.nansum(dim, keepdim, dtype=dtype)
    if dtype is None and input.is_floating_point() and not out.dtype.is_floating_point:
        raise NotImplementedError(f'"nansum_cpu" not implemented for '
                                  f"'{_TITLES.get(out.dtype.name, out.dtype.name)}'")
    r = input.nansum(dim, keepdim, dtype=out.dtype if dtype is None else dtype)
    return _write_out(out, r, "nansum", (input,), "any")


def is_floating_point(input: Tensor) -> bool:
    """True when input's dtype is a floating-point type (float32, float64)."""
    return input.is_floating_point()
