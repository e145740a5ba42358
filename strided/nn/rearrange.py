"""Layers that rearrange elements: PixelShuffle, PixelUnshuffle, ChannelShuffle, Unfold and
Fold (the functions of strided/nn/_functional_rearrange.py), PyTorch's arguments and
reprs."""
from __future__ import annotations
from strided._C.core.tensor import Tensor
from strided.nn import functional as F
from strided.nn.module import Module
from strided.nn.common_types import _size_2_t


class PixelShuffle(Module):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r) (F.pixel_shuffle).

    >>> nn.PixelShuffle(3)(strided.zeros(1, 9, 4, 4)).shape
    strided.Size([1, 1, 12, 12])
    """
    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W) (F.pixel_unshuffle)."""
    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave the channels of `groups` groups (F.channel_shuffle)."""
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class Unfold(Module):
    """Sliding blocks as columns, im2col (F.unfold).

    >>> nn.Unfold(kernel_size=(2, 3))(strided.zeros(2, 5, 3, 4)).shape
    strided.Size([2, 30, 4])
    """
    def __init__(self, kernel_size: _size_2_t, dilation: _size_2_t = 1, padding: _size_2_t = 0,
                 stride: _size_2_t = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return ("kernel_size={kernel_size}, dilation={dilation}, padding={padding}, "
                "stride={stride}".format(**self.__dict__))


class Fold(Module):
    """Columns summed back into an image, col2im (F.fold)."""
    def __init__(self, output_size: _size_2_t, kernel_size: _size_2_t, dilation: _size_2_t = 1, padding: _size_2_t = 0,
                 stride: _size_2_t = 1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return ("output_size={output_size}, kernel_size={kernel_size}, dilation={dilation}, "
                "padding={padding}, stride={stride}".format(**self.__dict__))
