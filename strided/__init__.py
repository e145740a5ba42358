"""strided: a CPU tensor library built around strided views.

One flat Storage holds the data; a Tensor is (sizes, strides, storage_offset) over it, so
slicing, transposing, expanding, unfolding and reshaping copy nothing.
"""
from strided._C.core.dtypes import (DType, bool_ as bool, uint8, int32, int64, float32, float64)
from strided._C.core.storage import Storage
from strided._C.core.tensor import Tensor, from_numpy, tensor, broadcast_shapes
from strided._C.core.threads import set_num_threads, get_num_threads
from strided.creation import (empty, zeros, ones, full, arange, linspace, eye,
                              empty_like, zeros_like, ones_like, full_like,
                              BoolTensor, ByteTensor, IntTensor, LongTensor, FloatTensor,
                              DoubleTensor)
from strided._C.core.size import Size
from strided.typeinfo import finfo, iinfo
from strided.random import (Generator, manual_seed, initial_seed, default_generator,
                            rand, randn, randint, randperm, rand_like, randn_like)
from strided.functional import (reshape, flatten, unflatten, squeeze, unsqueeze, transpose,
                                swapaxes, swapdims, t, permute, movedim, moveaxis, narrow,
                                select, diagonal, as_strided, broadcast_to, broadcast_tensors,
                                split, chunk, unbind, tensor_split, flip, clone, numel, is_tensor,
                                is_floating_point, count_nonzero, nansum)
from strided._C.core.dlpack import from_dlpack
from strided._C.ops.join import (cat, concat, concatenate, stack, hstack, vstack, row_stack,
                                dstack, column_stack, hsplit, vsplit, dsplit, atleast_1d,
                                atleast_2d, atleast_3d, ravel, meshgrid, tile, roll, tril, triu)
from strided._C.ops.gather import (gather, scatter, scatter_add, masked_fill, masked_select,
                                  masked_scatter, nonzero, argwhere, index_put, index_put_,
                                  scatter_reduce, take_along_dim, index_copy, index_fill,
                                  index_reduce)
from strided._C.ops.compose import (repeat_interleave, unique, bincount, searchsorted,
                                   unravel_index)
from strided._C.ops.einsum import einsum
from strided.random import multinomial
from strided._C.ops.sort import sort, argsort, msort, topk, kthvalue
from strided.view_copy import *  # noqa: F401,F403  (view_copy, diagonal_copy, split_copy, ...)
from strided.ops import *  # noqa: F401,F403  (element-wise ops and reductions, PyTorch names)
from strided.ops import __all__ as _ops_all
from strided import autograd
from strided.autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled,
                                       inference_mode, is_inference_mode_enabled)
from strided.serialization import save, load
from strided import nn, optim, data
from strided._C.ops.gemm import gemm, gemv, matmul, mm, mv, bmm, dot, outer, addmm
from strided import linalg
from strided.linalg import det, slogdet, matrix_power
from strided._matrix import (logdet, inverse, cholesky, pinverse, svd, qr, trace, diag,
                             diag_embed, diagflat)
from strided._C.core.device import device, check_device as _check_device
from strided import cuda, accelerator, backends
from strided import viz  # installs Tensor._repr_html_ (NOTE [ Display hooks ])
from strided._config import show_config
from strided._deterministic import (use_deterministic_algorithms,
                                    are_deterministic_algorithms_enabled,
                                    is_deterministic_algorithms_warn_only_enabled)
from strided.types import Device as _Device


def set_default_device(device: _Device) -> None:
    """Accepts the CPU (or None), the only device strided tensors live on; any other device
    raises, since factories could not honour it."""
    _check_device(device, "set_default_device()")


def get_default_device() -> device:
    """device(type='cpu')."""
    return _CPU_DEVICE


_CPU_DEVICE = device("cpu")

# PyTorch's dtype aliases
float = float32
double = float64
int = int32
long = int64

__version__ = "0.1.0"
