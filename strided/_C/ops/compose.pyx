# cython: wraparound=True, boundscheck=True
"""repeat_interleave, unique, bincount, searchsorted and unravel_index: compositions of other
ops (index_select, expand, reshape) with NumPy doing the integer bookkeeping (run lengths,
counts, binary searches) on zero-copy arrays of the inputs.  Their history, where PyTorch
has one (repeat_interleave), is that of the ops they are made of."""
import numpy as np

from strided._C.core.tensor import Tensor as _Tensor, tensor as _tensor, from_numpy as _from_numpy
from strided._C.core.dtypes import int64 as _int64, int32 as _int32, float32 as _float32, \
    float64 as _float64

_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int32": "Int", "int64": "Long",
                "float32": "Float", "float64": "Double"}


cdef object _np(object t):
    """t's values as a NumPy array (zero-copy where the layout allows)."""
    return t.detach().numpy()


cdef object _long(object a):
    return _from_numpy(np.array(a, dtype=np.int64, order="C"))


cdef int _wrap(object dim, int ndim) except -1:
    cdef long long d = dim
    cdef int n = ndim if ndim > 0 else 1
    if d < -n or d >= n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {d})")
    return <int>(d + n if d < 0 else d)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """repeat_interleave(input, repeats, dim=None, *, output_size=None) -> Tensor

    Each slice of input along dim repeated repeats times (an int, or a 0-d / 1-d int64
    tensor with one count per slice); without dim the flattened input.  With only an int64
    1-d tensor, repeat_interleave(repeats) gives 0, 1, ... each repeated repeats[i] times.

    >>> strided.repeat_interleave(strided.tensor([1, 2]), 2).tolist()
    [1, 1, 2, 2]
    """
    if repeats is None:                        # repeat_interleave(repeats)
        r = _repeat_counts(input, None)
        return _long(np.repeat(np.arange(r.size, dtype=np.int64), r))
    if not isinstance(input, _Tensor):
        raise TypeError(f"repeat_interleave(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    x = input
    if dim is None:
        x = input.reshape(-1)
        d = 0
    else:
        d = _wrap(dim, input.ndim)
        if x.ndim == 0:
            x = x.reshape(1)
    n = x.shape[d]
    if isinstance(repeats, _Tensor) and repeats.ndim == 1 and repeats.numel() != 1 or \
            isinstance(repeats, _Tensor) and repeats.ndim > 1:
        r = _repeat_counts(repeats, n)
    else:
        k = int(repeats.item()) if isinstance(repeats, _Tensor) else int(repeats)
        if k < 0:
            raise RuntimeError("Repeats must be non-negative")
        r = np.full(n, k, dtype=np.int64)
    index = _long(np.repeat(np.arange(n, dtype=np.int64), r))
    if output_size is not None and int(output_size) != index.numel():
        raise RuntimeError(f"allocated size does not match required size")
    return x.index_select(d, index)


cdef object _repeat_counts(object repeats, object n):
    if not isinstance(repeats, _Tensor):
        raise TypeError(f"repeat_interleave(): argument 'repeats' must be Tensor, not "
                        f"{type(repeats).__name__}")
    if repeats.dtype not in (_int64, _int32):
        raise RuntimeError("repeat_interleave only accept int32 and int64 type of repeats")
    if repeats.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    r = _np(repeats).reshape(-1).astype(np.int64)
    if n is not None and r.size != n:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {r.size} and input.size(0) = {n}")
    if (r < 0).any():
        raise RuntimeError("repeats can not be negative")
    return r


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None)

    The distinct elements of input (dim=None: flattened; with dim: the distinct slices
    along dim), in ascending order (sorted=False gives the same order).  With
    return_inverse, also each element's (slice's) position in the result (int64, input's
    shape / size of dim); with return_counts, how often each occurs.  NaNs stay distinct,
    as in PyTorch.

    >>> strided.unique(strided.tensor([3, 1, 3]), return_counts=True)[1].tolist()
    [1, 2]
    """
    if not isinstance(input, _Tensor):
        raise TypeError(f"unique(): argument 'input' must be Tensor, not {type(input).__name__}")
    a = _np(input)
    if dim is None:
        vals, inv, counts = np.unique(a.reshape(-1), return_inverse=True, return_counts=True,
                                      equal_nan=False)
        inv = inv.reshape(a.shape)
    else:
        d = _wrap(dim, input.ndim)
        if a.ndim == 0:
            a = a.reshape(1)
        if a.shape[d] == 0:
            vals = a
            inv = np.zeros(0, dtype=np.int64)
            counts = np.zeros(0, dtype=np.int64)
        else:
            vals, inv, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d)
            inv = inv.reshape(-1)
    out = _from_numpy(np.array(vals, order="C")).to(input.dtype)
    res = (out,)
    if return_inverse:
        res += (_long(inv),)
    if return_counts:
        res += (_long(counts),)
    return res[0] if len(res) == 1 else res


def bincount(input, weights=None, minlength=0):
    """bincount(input, weights=None, minlength=0) -> Tensor

    out[v] = how often v occurs in the 1-d non-negative integer tensor input (or the sum
    of weights at its positions), for v < max(input.max() + 1, minlength).  int64 without
    weights; with weights float32 for float32 weights, else float64.

    >>> strided.bincount(strided.tensor([1, 1, 3])).tolist()
    [0, 2, 0, 1]
    """
    if not isinstance(input, _Tensor):
        raise TypeError(f"bincount(): argument 'input' must be Tensor, not {type(input).__name__}")
    minlength = int(minlength)
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if input.dtype.is_floating_point or input.dtype.name == "bool":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for "
                                  f"'{_TORCH_NAMES[input.dtype.name]}'")
    a = _np(input)
    if input.ndim != 1 or (a.size and a.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _long(np.bincount(a.astype(np.int64), minlength=minlength))
    if not isinstance(weights, _Tensor):
        raise TypeError(f"bincount(): argument 'weights' must be Tensor, not "
                        f"{type(weights).__name__}")
    if weights.ndim != 1 or weights.shape[0] != a.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    w = _np(weights)
    out_dtype = np.float32 if weights.dtype is _float32 else np.float64
    r = np.bincount(a.astype(np.int64), weights=w.astype(np.float64), minlength=minlength)
    return _from_numpy(np.array(r, dtype=out_dtype, order="C"))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    """searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
    sorter=None, out=None) -> Tensor

    For each value of input, the position in sorted_sequence's innermost dim where it would
    be inserted to keep it sorted: the first such position, or the last with right=True /
    side='right'.  sorted_sequence is 1-d, or has input's leading dims; input may be a
    number (a 0-d result).  int64, or int32 with out_int32.

    >>> strided.searchsorted(strided.tensor([1, 3, 5]), strided.tensor([3, 6])).tolist()
    [1, 3]
    """
    if not isinstance(sorted_sequence, _Tensor):
        raise TypeError(f"searchsorted(): argument 'sorted_sequence' must be Tensor, not "
                        f"{type(sorted_sequence).__name__}")
    if side is not None and side not in ("left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got "
                           f"{side}")
    if side is not None and right and side == "left":
        raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                           "got side of left while right was True")
    how = "right" if (right or side == "right") else "left"
    seq = _np(sorted_sequence)
    if seq.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if sorter is not None:
        if not isinstance(sorter, _Tensor) or sorter.dtype is not _int64:
            raise RuntimeError("torch.searchsorted(): sorter must be a tensor of long dtype")
        order = _np(sorter)
        if order.shape != seq.shape:
            raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same "
                               "size")
        if order.size and (order.min() < 0 or order.max() >= seq.shape[-1]):
            raise RuntimeError("torch.searchsorted(): sorter index out of range")
        seq = np.take_along_axis(seq, order, -1)
    scalar = not isinstance(input, _Tensor)
    if scalar:
        vals = np.asarray(input)
        if seq.ndim != 1:
            raise RuntimeError("torch.searchsorted(): input value can be a scalar only when "
                               "boundaries tensor dimension is 1")
    else:
        if input.dtype is not sorted_sequence.dtype:
            raise RuntimeError(f"torch.searchsorted(): boundaries and input value tensors "
                               f"should have same dtype, but got "
                               f"{_TORCH_NAMES[sorted_sequence.dtype.name]} and "
                               f"{_TORCH_NAMES[input.dtype.name]}")
        vals = _np(input)
    if seq.ndim == 1:
        res = np.searchsorted(seq, vals, side=how)
    else:
        if vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension "
                               f"or the first N-1 dimensions of boundaries tensor and input "
                               f"value tensor must match, but we got boundaries tensor "
                               f"{list(seq.shape)} and input value tensor {list(vals.shape)}")
        res = np.empty(vals.shape, dtype=np.int64)
        for row in np.ndindex(*seq.shape[:-1]):
            res[row] = np.searchsorted(seq[row], vals[row], side=how)
    r = _long(np.asarray(res))
    if out_int32:
        r = r.to(_int32)
    if out is not None:
        return out.copy_(r)
    return r


def unravel_index(indices, shape):
    """unravel_index(indices, shape) -> tuple of Tensors

    The coordinates, one int64 tensor per dim of shape, of the flat (row-major) positions
    `indices` (an int or integer tensor) in a tensor of that shape.  Like PyTorch, positions
    outside the shape wrap (Python's modulo).

    >>> [c.tolist() for c in strided.unravel_index(strided.tensor([4, 5]), (2, 3))]
    [[1, 1], [1, 2]]
    """
    if isinstance(indices, _Tensor):
        if indices.dtype.is_floating_point or indices.dtype.name == "bool":
            raise TypeError(f"expected 'indices' to be integer dtype, but got "
                            f"torch.{indices.dtype.name}")
        idx = _np(indices).astype(np.int64)
    elif isinstance(indices, int) and not isinstance(indices, bool):
        idx = np.asarray(indices, dtype=np.int64)
    else:
        raise TypeError(f"expected 'indices' to be integer dtype, but got "
                        f"{type(indices).__name__}")
    # PyTorch's rules: an int or a sequence of Python ints (a tensor, a float or a NumPy
    # integer is a TypeError), no negative size (ValueError)
    if isinstance(shape, int):
        shape = (shape,)
    elif isinstance(shape, (tuple, list)):
        for s in shape:
            if not isinstance(s, int):
                raise TypeError(f"expected 'shape' sequence to only contain ints, but got "
                                f"{type(s)}")
        shape = tuple(int(s) for s in shape)
    else:
        kind = "<class 'strided.Tensor'>" if isinstance(shape, _Tensor) else type(shape)
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {kind}")
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    coords = []
    rest = idx
    for s in reversed(shape):
        if s == 0:
            coords.append(np.zeros_like(rest))
            continue
        coords.append(np.mod(rest, s))
        rest = np.floor_divide(rest, s)
    return tuple(_long(c) for c in reversed(coords))


# NOTE [ Sampler hook ]
# Tensor.multinomial draws from strided's generators, which live in strided.random, a layer
# above the core; like the autograd hook, strided.random installs its sampler here at import.
_sampler = None


def _install_sampler(fn):
    global _sampler
    _sampler = fn


# Tensor.uniform_, normal_ and random_ likewise: strided.random installs its fillers here.
_fillers = {}


def _install_fillers(**fillers):
    _fillers.update(fillers)


def fill_random(str name, self, a, b, *, generator=None):
    """Tensor.uniform_ / normal_ / random_ (name) with its two parameters a, b: the filler
    strided.random installed (NOTE [ Sampler hook ])."""
    fill = _fillers.get(name)
    if fill is None:
        raise RuntimeError(f"{name} needs strided.random, which is not imported")
    return fill(self, a, b, generator=generator)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """input.multinomial(num_samples, replacement=False, *, generator=None): strided.multinomial.

    >>> w = strided.tensor([0.0, 1.0])
    >>> w.multinomial(2, replacement=True).tolist()
    [1, 1]
    """
    if _sampler is None:
        raise RuntimeError("multinomial needs strided.random, which is not imported")
    return _sampler(input, num_samples, replacement, generator=generator)
