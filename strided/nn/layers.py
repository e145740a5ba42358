"""Layers: PyTorch's constructor arguments, default initialisations and reprs."""
from __future__ import annotations
import math
from typing import Any, Sequence

from strided import creation as _creation, functional as _functional
from strided._C.core import dtypes as _dtypes
from strided._C.core.device import check_device
from strided.autograd.grad_mode import no_grad
from strided.nn import functional as F
from strided.nn import init
from strided.nn.module import Module
from strided.nn.parameter import Parameter
from strided._C.core.tensor import Tensor
from strided.nn.common_types import _size_1_t, _size_2_t, _size_any_opt_t, _size_any_t
from strided.types import Device, _DTypeLike


def _tuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class Identity(Module):
    """Returns its input unchanged (constructor arguments are accepted and ignored)."""
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x W^T + b, W (out_features, in_features) ~ kaiming_uniform(a=sqrt(5)),
    b ~ U(-1/sqrt(in), 1/sqrt(in)), as in torch.

    Input (*, in_features), any number of leading dims; output (*, out_features).
    bias=False leaves b out; dtype sets the parameters' dtype (float32 by default).

    >>> nn.Linear(4, 2)(strided.zeros(5, 7, 4)).shape
    strided.Size([5, 7, 2])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Device = None, dtype: _DTypeLike | None = None) -> None:
        super().__init__()
        check_device(device, "Linear()")
        self.in_features = in_features
        self.out_features = out_features
        dtype = dtype or _dtypes.float32
        self.weight = Parameter(_creation.empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(_creation.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw weight and bias with the default initialisation above (in place)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class _ConvNd(Module):
    _n = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_any_t,
                 stride: _size_any_t = 1, padding: _size_any_t | str = 0, dilation: _size_any_t = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Device = None, dtype: _DTypeLike | None = None) -> None:
        super().__init__()
        check_device(device, f"{type(self).__name__}()")
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in _tuple(stride, n)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode != "zeros":
            raise NotImplementedError(f"padding_mode={padding_mode!r}: only 'zeros' is "
                                      f"supported")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, n)
        self.stride = _tuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n)
        self.dilation = _tuple(dilation, n)
        self.groups = groups
        self.padding_mode = padding_mode
        dtype = dtype or _dtypes.float32
        self.weight = Parameter(_creation.empty(out_channels, in_channels // groups,
                                              *self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(_creation.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw weight ~ kaiming_uniform(a=sqrt(5)) and bias ~ U(-1/sqrt(fan_in),
        1/sqrt(fan_in)) in place, as PyTorch's convolutions.
        """
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        n = self._n
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * n:
            s += ", padding={padding}"
        if self.dilation != (1,) * n:
            s += ", dilation={dilation}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        return s.format(**self.__dict__)

    def forward(self, input: Tensor) -> Tensor:
        conv = getattr(F, "conv%dd" % self._n, None)
        if conv is None:
            raise NotImplementedError(f"strided.nn.functional.conv{self._n}d is not available "
                                      f"in this build")
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                    self.groups)


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) over (N, C_in, L) or unbatched (C_in, L) input,
    giving (N, C_out, L_out): Conv1d(in_channels, out_channels, kernel_size, stride=1,
    padding=0 (an int, "same" or "valid"), dilation=1, groups=1, bias=True).
    weight is (C_out, C_in / groups, kernel_size); PyTorch's default initialisation.
    padding_mode "zeros" only.
    """
    _n = 1


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over (N, C_in, H, W) or unbatched (C_in, H, W)
    input, giving (N, C_out, H_out, W_out): Conv2d(in_channels, out_channels, kernel_size,
    stride=1, padding=0 (ints, "same" or "valid"), dilation=1, groups=1, bias=True).
    weight is (C_out, C_in / groups, kH, kW); PyTorch's default initialisation.
    padding_mode "zeros" only.

    >>> nn.Conv2d(3, 8, 3, padding=1)(strided.zeros(2, 3, 16, 16)).shape
    strided.Size([2, 8, 16, 16])
    """
    _n = 2


# ---- activations -----------------------------------------------------------------------

class ReLU(Module):
    """max(x, 0) element-wise (F.relu); inplace=True overwrites the input."""
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x >= 0, negative_slope * x below (F.leaky_relu); floating-point input only."""
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF (F.gelu); approximate="tanh" uses the tanh
    formula.
    """
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x * sigmoid(x) element-wise (F.silu)."""
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input, inplace=self.inplace)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) element-wise."""
    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x) element-wise."""
    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Softmax(Module):
    """softmax along dim (F.softmax): each slice along dim sums to 1.  dim must be given
    (PyTorch's implicit-dim guess is not made).
    """
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along dim, computed stably (F.log_softmax); dim must be given."""
    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class Flatten(Module):
    """Merge dims start_dim..end_dim (by default all but the batch dim): (N, *) -> (N, prod(*)).

    >>> nn.Flatten()(strided.zeros(2, 3, 4)).shape
    strided.Size([2, 12])
    """
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return _functional.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim into unflattened_size: the inverse of Flatten."""
    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        return _functional.unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout(Module):
    """Zeroes elements with probability p in training and scales the others by 1 / (1 - p)
    (the mask drawn from strided's default generator); in eval mode it returns its input
    unchanged.  inplace=True writes into the input."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _DropoutNd(Dropout):
    _fn = "dropout2d"

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._fn)(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of (N, C, L) or (C, L) inputs with probability p in training
    (F.dropout1d)."""
    _fn = "dropout1d"


class Dropout2d(_DropoutNd):
    """Zeroes whole channels of (N, C, H, W) inputs with probability p in training, scaling
    the rest by 1 / (1 - p) (F.dropout2d)."""
    _fn = "dropout2d"


class Dropout3d(_DropoutNd):
    """Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) inputs (F.dropout3d)."""
    _fn = "dropout3d"


# ---- pooling -----------------------------------------------------------------------------

class _MaxPoolNd(Module):
    def __init__(self, kernel_size: _size_any_t, stride: _size_any_t | None = None,
                 padding: _size_any_t = 0, dilation: _size_any_t = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return ("kernel_size={kernel_size}, stride={stride}, padding={padding}, "
                "dilation={dilation}, ceil_mode={ceil_mode}").format(**self.__dict__)


class MaxPool1d(_MaxPoolNd):
    """Max over windows of kernel_size along the last dim of (N, C, L) or (C, L) input
    (F.max_pool1d); stride defaults to kernel_size; return_indices also returns the
    flat argmax positions.
    """
    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """Max over kernel_size windows of the last two dims of (N, C, H, W) or (C, H, W) input
    (F.max_pool2d); stride defaults to kernel_size; padding pads with -inf; return_indices
    also returns the flat argmax positions.

    >>> nn.MaxPool2d(2)(strided.zeros(1, 3, 8, 8)).shape
    strided.Size([1, 3, 4, 4])
    """
    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool1d(Module):
    """Mean over windows of kernel_size along the last dim of (N, C, L) or (C, L) input
    (F.avg_pool1d); stride defaults to kernel_size; count_include_pad counts padding
    zeros in the divisor.
    """
    def __init__(self, kernel_size: _size_1_t, stride: _size_1_t | None = None,
                 padding: _size_1_t = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _tuple(kernel_size, 1)
        self.stride = _tuple(stride if stride is not None else kernel_size, 1)
        self.padding = _tuple(padding, 1)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return "kernel_size={}, stride={}, padding={}".format(self.kernel_size, self.stride,
                                                             self.padding)


class AvgPool2d(Module):
    """Mean over kernel_size windows of the last two dims of (N, C, H, W) or (C, H, W) input
    (F.avg_pool2d); stride defaults to kernel_size; divisor_override replaces the divisor.
    """
    def __init__(self, kernel_size: _size_2_t, stride: _size_2_t | None = None,
                 padding: _size_2_t = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return "kernel_size={}, stride={}, padding={}".format(self.kernel_size, self.stride,
                                                             self.padding)


class AdaptiveAvgPool2d(Module):
    """Mean pooling to a fixed output_size (an int or (H_out, W_out); None keeps that size),
    windows chosen as PyTorch's (F.adaptive_avg_pool2d).
    """
    def __init__(self, output_size: _size_any_opt_t) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Mean pooling of the last dim to output_size (F.adaptive_avg_pool1d)."""
    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


# ---- normalisation and embedding ---------------------------------------------------------

class _NormBase(Module):
    """What batch and instance normalisation share, as PyTorch's _NormBase: the affine
    weight and bias, the running statistics and their resets."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Device = None,
                 dtype: _DTypeLike | None = None, *, bias: bool = True) -> None:
        super().__init__()
        check_device(device, f"{type(self).__name__}()")
        dtype = dtype or _dtypes.float32
        self.num_features = num_features
        self.use_bias = bias
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(_creation.ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(_creation.zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _creation.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", _creation.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", _creation.zeros((), dtype=_dtypes.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean to 0, running variance to 1 and the batch count to 0 (in place)."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """reset_running_stats(), and weight to 1 and bias to 0 when affine."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)


class _BatchNorm(_NormBase):
    _dims = (2, 3)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._dims:
            raise ValueError(f"expected {' or '.join(f'{d}D' for d in self._dims)} input (got "
                             f"{input.ndim}D input)")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:     # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or self.running_mean is None
        return F.batch_norm(input,
                            self.running_mean if not self.training or self.track_running_stats
                            else None,
                            self.running_var if not self.training or self.track_running_stats
                            else None,
                            self.weight, self.bias, use_batch, momentum, self.eps)

    def extra_repr(self) -> str:
        return ("{num_features}, eps={eps}, momentum={momentum}, affine={affine}, "
                "bias={use_bias}, track_running_stats={track_running_stats}"
                ).format(**self.__dict__)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) input: per channel, (x - mean) /
    sqrt(var + eps) * weight + bias, with the batch's statistics in training (biased
    variance) and the running ones in eval mode (updated in training with `momentum`
    from the unbiased batch variance; momentum=None: a cumulative average).
    """
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) input, per channel (see BatchNorm1d).

    >>> nn.BatchNorm2d(3)(strided.randn(4, 3, 5, 5)).shape
    strided.Size([4, 3, 5, 5])
    """
    _dims = (4,)


class LayerNorm(Module):
    """Layer normalisation over the last len(normalized_shape) dims: (x - mean) /
    sqrt(var + eps) * weight + bias (biased variance), weight and bias of shape
    normalized_shape (ones and zeros) when elementwise_affine.
    """
    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 device: Device = None, dtype: _DTypeLike | None = None) -> None:
        super().__init__()
        check_device(device, "LayerNorm()")
        dtype = dtype or _dtypes.float32
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.use_bias = bias
        if elementwise_affine:
            self.weight = Parameter(_creation.ones(*self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(_creation.zeros(*self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return ("{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}, "
                "bias={use_bias}").format(**self.__dict__)


class Embedding(Module):
    """A lookup table: integer indices of any shape -> rows of weight, the result of shape
    indices.shape + (embedding_dim,).

    weight (num_embeddings, embedding_dim) ~ N(0, 1), the padding_idx row zeroed (and
    never updated: it gets no gradient).  max_norm, scale_grad_by_freq and sparse are not
    supported.

    >>> nn.Embedding(10, 3, padding_idx=0)(strided.tensor([[0, 5]])).shape
    strided.Size([1, 2, 3])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Tensor | None = None, _freeze: bool = False,
                 device: Device = None, dtype: _DTypeLike | None = None) -> None:
        super().__init__()
        check_device(device, "Embedding()")
        dtype = dtype or _dtypes.float32
        if padding_idx is not None:
            if padding_idx > 0:
                assert padding_idx < num_embeddings, \
                    "Padding_idx must be within num_embeddings"
            elif padding_idx < 0:
                assert padding_idx >= -num_embeddings, \
                    "Padding_idx must be within num_embeddings"
                padding_idx = num_embeddings + padding_idx
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        if _weight is None:
            self.weight = Parameter(_creation.empty(num_embeddings, embedding_dim, dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """Redraw weight ~ N(0, 1) in place, the padding_idx row zeroed."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None) -> Embedding:
        """An Embedding whose weight shares the memory of the 2-D tensor embeddings (no
        copy); frozen (requires_grad False) unless freeze=False.
        """
        rows, cols = embeddings.shape
        return cls(rows, cols, _weight=embeddings, _freeze=freeze, padding_idx=padding_idx)

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
