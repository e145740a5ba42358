"""strided.nn.functional: the functional forms of layers (PyTorch names and arguments)."""
from __future__ import annotations
from typing import TYPE_CHECKING

from strided.nn._functional_pool import (
    max_pool1d, max_pool2d, avg_pool1d, avg_pool2d,
    adaptive_max_pool1d, adaptive_max_pool2d, adaptive_avg_pool1d, adaptive_avg_pool2d,
    max_pool1d_backward, max_pool2d_backward, avg_pool1d_backward, avg_pool2d_backward,
    adaptive_max_pool1d_backward, adaptive_max_pool2d_backward,
    adaptive_avg_pool1d_backward, adaptive_avg_pool2d_backward, pool_output_size)
from strided.nn._functional_conv import (
    conv1d, conv2d, conv1d_backward, conv2d_backward, conv_output_size, conv_transpose1d,
    conv_transpose2d)
from strided.nn._functional_pad import pad
from strided.nn._functional_encoding import one_hot
from strided.nn._functional_sample import (interpolate, upsample, upsample_nearest,
                                           upsample_bilinear)
from strided._C.ops.gemm import linear
from strided._C.core import tensor as _core
from strided._C.core.tensor import leaky_relu, softplus

if TYPE_CHECKING:
    from strided._C.core.tensor import Tensor
    from strided.random import Generator
    from strided.types import _DTypeLike

_UNARY = _core.UNARY_OPS


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) element-wise; inplace=True overwrites input and returns it."""
    return input.relu_() if inplace else input.relu()


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-input)) element-wise."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """tanh(input) element-wise."""
    return input.tanh()


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x); approximate="tanh" uses the tanh formula, as PyTorch does."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")
    op = _UNARY["gelu_tanh" if approximate == "tanh" else "gelu"]
    return _core.unary_op(op, input, None, "gelu")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """input * sigmoid(input) element-wise (floating-point only); inplace=True overwrites input."""
    return _core.unary_op(_UNARY["silu"], input, input if inplace else None, "silu")


def softmax(input: Tensor, dim: int, dtype: _DTypeLike | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim, computed stably (floating-point only; dtype= casts
    the input first).

    >>> F.softmax(strided.tensor([[1., 1.], [0., 0.]]), dim=1)
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """
    return input.softmax(dim, dtype)


def log_softmax(input: Tensor, dim: int, dtype: _DTypeLike | None = None) -> Tensor:
    """log(softmax(x)) along dim, computed stably as x - logsumexp(x) (floating-point only)."""
    return input.log_softmax(dim, dtype)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Generator | None = None) -> Tensor:
    """In training, zero each element with probability p and scale the others by 1 / (1 - p)
    (the mask drawn from strided's generator); input unchanged when not training.
    """
    from strided.nn._functional_norm import dropout as _dropout
    return _dropout(input, p, training, inplace, generator)


from strided.nn._functional_norm import (  # noqa: E402
    batch_norm, layer_norm, embedding, dropout1d, dropout2d, dropout3d)
from strided.nn._functional_loss import (  # noqa: E402
    cross_entropy, nll_loss, mse_loss, l1_loss, binary_cross_entropy,
    binary_cross_entropy_with_logits, smooth_l1_loss, huber_loss, kl_div)
from strided.nn._functional_attention import (  # noqa: E402
    scaled_dot_product_attention)
from strided.nn._functional_activation import (  # noqa: E402
    elu, elu_, selu, selu_, celu, celu_, softsign, hardtanh, hardtanh_, relu6, hardsigmoid,
    hardswish, mish, logsigmoid, softshrink, hardshrink, tanhshrink, threshold, threshold_,
    prelu, rrelu, rrelu_, glu, softmin)
from strided.nn._functional_normalization import (  # noqa: E402
    group_norm, instance_norm, rms_norm, local_response_norm, normalize)
from strided.nn._functional_distance import (  # noqa: E402
    cosine_similarity, pairwise_distance, pdist)
from strided.nn._functional_rearrange import (  # noqa: E402
    pixel_shuffle, pixel_unshuffle, channel_shuffle, unfold, fold)
from strided.nn._functional_loss import (  # noqa: E402
    margin_ranking_loss, hinge_embedding_loss, cosine_embedding_loss, triplet_margin_loss,
    soft_margin_loss, multilabel_soft_margin_loss, multi_margin_loss, poisson_nll_loss,
    gaussian_nll_loss)
