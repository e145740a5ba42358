"""Upsampling and padding layers (torch.nn.Upsample, UpsamplingNearest2d,
UpsamplingBilinear2d, ZeroPad2d, ConstantPadNd, ReflectionPadNd, ReplicationPadNd,
CircularPadNd) over F.interpolate and F.pad."""
from __future__ import annotations
from strided.nn import functional as F
from strided.nn.module import Module
from strided._C.core.tensor import Tensor
from strided.nn.common_types import _ratio_any_t, _size_2_t, _size_any_t


class Upsample(Module):
    """F.interpolate as a layer: size or scale_factor, mode "nearest", "nearest-exact",
    "linear" or "bilinear", align_corners."""

    def __init__(self, size: _size_any_t | None = None, scale_factor: _ratio_any_t | None = None,
                 mode: str = "nearest", align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor = (tuple(float(f) for f in scale_factor)
                             if isinstance(scale_factor, (tuple, list))
                             else float(scale_factor) if scale_factor is not None else None)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        """F.interpolate(input, ...) with this layer's arguments."""
        return F.interpolate(input, self.size, self.scale_factor, self.mode,
                             self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        """torch's repr arguments: scale_factor or size, and mode."""
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Upsample(size, scale_factor, mode="nearest") for (N, C, H, W) input."""
    def __init__(self, size: _size_2_t | None = None,
                 scale_factor: _ratio_any_t | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Upsample(size, scale_factor, mode="bilinear", align_corners=True) for (N, C, H, W)
    input, as PyTorch's.
    """
    def __init__(self, size: _size_2_t | None = None,
                 scale_factor: _ratio_any_t | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class _PadNd(Module):
    _mode = "constant"
    _n = 2

    def __init__(self, padding: _size_any_t, value: float | None = None) -> None:
        super().__init__()
        n = self._n
        self.padding = (tuple(padding) if isinstance(padding, (tuple, list))
                        else (padding,) * (2 * n))
        if len(self.padding) != 2 * n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a "
                             f"{2 * n}-tuple, got {padding!r}")
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        if self._mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        if self._mode == "constant" and not type(self).__name__.startswith("Zero"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ZeroPad1d(_PadNd):
    """Pad the last dim with zeros."""
    _mode = "constant"
    _n = 1

    def __init__(self, padding: _size_any_t) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(_PadNd):
    """Pad the last 2 dims with zeros."""
    _mode = "constant"
    _n = 2

    def __init__(self, padding: _size_any_t) -> None:
        super().__init__(padding, 0.0)


class ConstantPad1d(_PadNd):
    """Pad the last dim with value."""
    _mode = "constant"
    _n = 1

    def __init__(self, padding: _size_any_t, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_PadNd):
    """Pad the last 2 dims with value."""
    _mode = "constant"
    _n = 2

    def __init__(self, padding: _size_any_t, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad3d(_PadNd):
    """Pad the last 3 dims with value."""
    _mode = "constant"
    _n = 3

    def __init__(self, padding: _size_any_t, value: float) -> None:
        super().__init__(padding, value)


class ReflectionPad1d(_PadNd):
    """Mirror-pad the last dim (F.pad mode "reflect")."""
    _mode = "reflect"
    _n = 1

    def __init__(self, padding: _size_any_t) -> None:
        super().__init__(padding)


class ReflectionPad2d(_PadNd):
    """Mirror-pad the last 2 dims (F.pad mode "reflect")."""
    _mode = "reflect"
    _n = 2

    def __init__(self, padding: _size_any_t) -> None:
        super().__init__(padding)


class ReplicationPad1d(_PadNd):
    """Edge-pad the last dim (F.pad mode "replicate")."""
    _mode = "replicate"
    _n = 1

    def __init__(self, padding: _size_any_t) -> None:
        super().__init__(padding)


class ReplicationPad2d(_PadNd):
    """Edge-pad the last 2 dims (F.pad mode "replicate")."""
    _mode = "replicate"
    _n = 2

    def __init__(self, padding: _size_any_t) -> None:
        super().__init__(padding)


class CircularPad1d(_PadNd):
    """Wrap-pad the last dim (F.pad mode "circular")."""
    _mode = "circular"
    _n = 1

    def __init__(self, padding: _size_any_t) -> None:
        super().__init__(padding)


class CircularPad2d(_PadNd):
    """Wrap-pad the last 2 dims (F.pad mode "circular")."""
    _mode = "circular"
    _n = 2

    def __init__(self, padding: _size_any_t) -> None:
        super().__init__(padding)
