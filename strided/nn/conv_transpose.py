"""ConvTranspose1d / ConvTranspose2d (torch.nn's constructor arguments, initialisation and
forward(input, output_size=None))."""
from __future__ import annotations
import math
from typing import Sequence

from strided import creation as _creation
from strided._C.core import dtypes as _dtypes
from strided.nn import functional as F
from strided.nn import init
from strided.nn.module import Module
from strided.nn.parameter import Parameter
from strided._C.core.tensor import Tensor
from strided.nn.common_types import _size_any_t
from strided.types import Device, _DTypeLike


def _tuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _ConvTransposeNd(Module):
    _n = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_any_t,
                 stride: _size_any_t = 1, padding: _size_any_t = 0, output_padding: _size_any_t = 0,
                 groups: int = 1, bias: bool = True, dilation: _size_any_t = 1,
                 padding_mode: str = "zeros", device: Device = None,
                 dtype: _DTypeLike | None = None) -> None:
        super().__init__()
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f'{type(self).__name__}')
        if device is not None:
            from strided._C.core.device import check_device
            check_device(device, f"{type(self).__name__}()")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, n)
        self.stride = _tuple(stride, n)
        self.padding = _tuple(padding, n)
        self.output_padding = _tuple(output_padding, n)
        self.dilation = _tuple(dilation, n)
        self.groups = groups
        self.padding_mode = padding_mode
        self.transposed = True
        dtype = dtype or _dtypes.float32
        self.weight = Parameter(_creation.empty(in_channels, out_channels // groups,
                                              *self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(_creation.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw weight ~ kaiming_uniform(a=sqrt(5)) and bias ~ U(-1/sqrt(fan_in),
        1/sqrt(fan_in)) in place, as PyTorch's transposed convolutions.
        """
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _output_padding(self, input, output_size):
        """output_padding giving `output_size` (spatial, or with the batch/channel dims),
        as torch computes it; self.output_padding when output_size is None."""
        if output_size is None:
            return self.output_padding
        n = self._n
        output_size = list(output_size)
        non_spatial = 2 if input.ndim == n + 2 else 1
        if len(output_size) == non_spatial + n:
            output_size = output_size[non_spatial:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must "
                             f"have {n} or {non_spatial + n} elements (got "
                             f"{len(output_size)})")
        min_sizes, max_sizes = [], []
        for d in range(n):
            size = ((input.shape[d + non_spatial] - 1) * self.stride[d] - 2 * self.padding[d]
                    + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            min_sizes.append(size)
            max_sizes.append(size + self.stride[d] - 1)
        for size, lo, hi in zip(output_size, min_sizes, max_sizes):
            if size < lo or size > hi:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {min_sizes} to {max_sizes} (for an input of "
                                 f"{list(input.shape[non_spatial:])})")
        return tuple(o - lo for o, lo in zip(output_size, min_sizes))

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        conv = F.conv_transpose2d if self._n == 2 else F.conv_transpose1d
        return conv(input, self.weight, self.bias, self.stride, self.padding,
                    self._output_padding(input, output_size), self.groups, self.dilation)

    def extra_repr(self) -> str:
        n = self._n
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * n:
            s += ", padding={padding}"
        if self.dilation != (1,) * n:
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * n:
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        return s.format(**self.__dict__)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution: weight (in_channels, out_channels/groups, kernel_size),
    L_out = (L - 1) stride - 2 padding + dilation (kernel_size - 1) + output_padding + 1."""
    _n = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution (the input gradient of Conv2d; NOTE [ Transposed
    convolution ]): weight (in_channels, out_channels/groups, kH, kW),
    H_out = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1."""
    _n = 2
