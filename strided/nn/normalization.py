"""Normalisation layers beyond BatchNorm and LayerNorm (layers.py): GroupNorm, the
InstanceNorms, RMSNorm and LocalResponseNorm, over the functions of
strided/nn/_functional_normalization.py, with PyTorch's arguments, parameters, buffers and
reprs."""
from __future__ import annotations
from typing import Sequence

from strided import creation as _creation
from strided._C.core import dtypes as _dtypes
from strided._C.core.device import check_device
from strided._C.core.tensor import Tensor
from strided.nn import functional as F
from strided.nn import init
from strided.nn.layers import _NormBase
from strided.nn.module import Module
from strided.nn.parameter import Parameter
from strided.types import Device, _DTypeLike


class GroupNorm(Module):
    """Group normalisation (F.group_norm) of (N, C, *) input: the C channels split into
    num_groups groups, each normalised over its channels and positions, then a per-channel
    weight (ones) and bias (zeros) when affine.

    >>> nn.GroupNorm(2, 4)
    GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)
    """
    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device: Device = None, dtype: _DTypeLike | None = None,
                 *, bias: bool = True) -> None:
        super().__init__()
        check_device(device, "GroupNorm()")
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        dtype = dtype or _dtypes.float32
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(_creation.ones(num_channels, dtype=dtype))
            if bias:
                self.bias = Parameter(_creation.zeros(num_channels, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """weight to 1 and bias to 0 (in place) when affine."""
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_NormBase):
    _batched = 3           # the input's ndim with a batch dim; one less is unbatched

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False,
                 device: Device = None, dtype: _DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        b = self._batched
        if input.ndim not in (b - 1, b):
            raise ValueError(f"expected {b - 1}D or {b}D input (got {input.ndim}D input)")
        feature_dim = input.ndim - (b - 1)
        if input.shape[feature_dim] != self.num_features and self.affine:
            raise ValueError(f"expected input's size at dim={feature_dim} to match "
                             f"num_features ({self.num_features}), but got: "
                             f"{input.shape[feature_dim]}.")
        unbatched = input.ndim == b - 1
        x = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              self.momentum if self.momentum is not None else 0.0, self.eps)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation (F.instance_norm) of (N, C, L) or unbatched (C, L) input: each
    channel of each sample normalised over L.  affine=True adds a per-channel weight and
    bias; track_running_stats=True keeps running statistics (used in eval mode).

    >>> nn.InstanceNorm1d(3)
    InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)
    """
    _batched = 3


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or unbatched (C, H, W) input (see
    InstanceNorm1d)."""
    _batched = 4


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or unbatched (C, D, H, W) input (see
    InstanceNorm1d)."""
    _batched = 5


class RMSNorm(Module):
    """Root-mean-square normalisation (F.rms_norm) over the last len(normalized_shape)
    dims, times a weight of normalized_shape (ones) when elementwise_affine; eps=None uses
    finfo(input.dtype).eps.

    >>> nn.RMSNorm([2, 3])
    RMSNorm((2, 3), eps=None, elementwise_affine=True)
    """
    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, device: Device = None,
                 dtype: _DTypeLike | None = None) -> None:
        super().__init__()
        check_device(device, "RMSNorm()")
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_creation.ones(*self.normalized_shape,
                                                   dtype=dtype or _dtypes.float32))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        """weight to 1 (in place) when elementwise_affine."""
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return ("{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}"
                .format(**self.__dict__))


class LocalResponseNorm(Module):
    """Local response normalisation across channels (F.local_response_norm).

    >>> nn.LocalResponseNorm(2)
    LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)
    """
    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return "{size}, alpha={alpha}, beta={beta}, k={k}".format(**self.__dict__)
