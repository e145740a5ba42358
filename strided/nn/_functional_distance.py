"""cosine_similarity, pairwise_distance and pdist: compositions of differentiable ops with
PyTorch's numerics (cosine_similarity divides each input by its own clamped norm first, so
the result stays in [-1, 1]; pairwise_distance adds eps to the difference)."""
from __future__ import annotations

from strided._C.core.tensor import Tensor
from strided.functional import broadcast_tensors
from strided.creation import arange


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """||x||_2 along dim (kept), its value clamped below at eps while its gradient stays the
    norm's, as PyTorch clamps it in place without recording."""
    n = x.norm(2, dim, keepdim=True)
    return n + (n.detach().clamp(min=eps) - n.detach())


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along dim, after broadcasting
    x1 and x2; the result has dim removed.

    >>> F.cosine_similarity(strided.tensor([[1., 0.], [1., 1.]]), strided.tensor([[1., 0.]]))
    tensor([1.0000, 0.7071])
    """
    x1, x2 = broadcast_tensors(x1, x2)
    return ((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps))).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (inputs broadcast).

    >>> F.pairwise_distance(strided.tensor([[0., 0.]]), strided.tensor([[3., 4.]]))
    tensor([5.0000])
    """
    d = x1 - x2 + eps
    if d.ndim == 0:
        return d.abs() if p != 0 else (d != 0).to(d.dtype)
    return d.norm(p, -1, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between the rows of an (N, M) input, for each pair i < j in
    row-major order: N * (N - 1) / 2 values.

    >>> F.pdist(strided.tensor([[0., 0.], [3., 4.], [6., 8.]]))
    tensor([ 5., 10.,  5.])
    """
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    idx = arange(n)
    pairs = (idx.unsqueeze(1) < idx.unsqueeze(0)).nonzero()       # (i, j), i < j, row-major
    if pairs.shape[0] == 0:
        return input.new_zeros((0,))
    diff = input.index_select(0, pairs[:, 0]) - input.index_select(0, pairs[:, 1])
    return diff.norm(p, 1)
