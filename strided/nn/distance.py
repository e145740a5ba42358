"""Distance layers: CosineSimilarity and PairwiseDistance (F.cosine_similarity,
F.pairwise_distance), PyTorch's arguments."""
from __future__ import annotations

from strided._C.core.tensor import Tensor
from strided.nn import functional as F
from strided.nn.module import Module


class CosineSimilarity(Module):
    """Cosine similarity of x1 and x2 along dim (F.cosine_similarity).

    >>> nn.CosineSimilarity(dim=0)(strided.tensor([1., 0.]), strided.tensor([0., 2.]))
    tensor(0.)
    """
    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """p-norm of x1 - x2 + eps over the last dim (F.pairwise_distance)."""
    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
