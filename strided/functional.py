"""Function forms of the Tensor view ops (strided.transpose(t, 0, 1) == t.transpose(0, 1))."""
from strided._C.core.tensor import Tensor


def reshape(input, shape):
    return input.reshape(shape)


def flatten(input, start_dim=0, end_dim=-1):
    return input.flatten(start_dim, end_dim)


def unflatten(input, dim, sizes):
    return input.unflatten(dim, sizes)


def squeeze(input, dim=None):
    return input.squeeze(dim)


def unsqueeze(input, dim):
    return input.unsqueeze(dim)


def transpose(input, dim0, dim1):
    return input.transpose(dim0, dim1)


swapaxes = swapdims = transpose


def t(input):
    return input.t()


def permute(input, dims):
    return input.permute(dims)


def movedim(input, source, destination):
    return input.movedim(source, destination)


moveaxis = movedim


def narrow(input, dim, start, length):
    return input.narrow(dim, start, length)


def select(input, dim, index):
    return input.select(dim, index)


def diagonal(input, offset=0, dim1=0, dim2=1):
    return input.diagonal(offset, dim1, dim2)


def as_strided(input, size, stride, storage_offset=None):
    return input.as_strided(size, stride, storage_offset)


def broadcast_to(input, shape):
    return input.broadcast_to(shape)


def broadcast_tensors(*tensors):
    """Views of all tensors expanded to their common broadcast shape."""
    from strided._C.core.tensor import broadcast_shapes
    shape = broadcast_shapes(*(x.shape for x in tensors))
    return tuple(x.expand(shape) for x in tensors)


def split(tensor, split_size_or_sections, dim=0):
    return tensor.split(split_size_or_sections, dim)


def chunk(input, chunks, dim=0):
    return input.chunk(chunks, dim)


def unbind(input, dim=0):
    return input.unbind(dim)


def tensor_split(input, indices_or_sections, dim=0):
    return input.tensor_split(indices_or_sections, dim)


def flip(input, dims):
    return input.flip(dims)


def clone(input):
    return input.clone()


def numel(input):
    return input.numel()


def is_tensor(obj):
    return isinstance(obj, Tensor)


def count_nonzero(input, dim=None):
    """The number of nonzero elements of input over dim (an int, a tuple, or all), int64."""
    return input.count_nonzero(dim)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """input.sum(dim, keepdim) with NaN counted as zero."""
    return input.nansum(dim, keepdim, dtype=dtype)


def is_floating_point(input):
    """True when input's dtype is a floating-point type (float32, float64)."""
    return input.is_floating_point()
