"""The top-level matrix functions PyTorch has besides torch.linalg: its older forms of the
factorizations (torch.svd's (U, S, V), torch.qr's some=, torch.cholesky's positional
upper), logdet, inverse, pinverse, trace and the diagonal builders diag, diag_embed and
diagflat.  All are compositions of strided.linalg and view ops, so autograd goes through
them.  The module is installed into the core at import as the one the Tensor methods of
the same names call (NOTE [ Linear algebra hook ] in strided/_C/core/tensor.pyx).
"""
from __future__ import annotations

from collections import namedtuple
import sys

from strided._C.core.tensor import Tensor, install_linalg, _write_out, _write_outs
from strided.creation import zeros
from strided import linalg as _la
from strided.linalg import det, slogdet, matrix_power  # noqa: F401  (Tensor methods)

SVDTorchResult = namedtuple("SVDTorchResult", ["U", "S", "V"])


def logdet(input: Tensor) -> Tensor:
    """log(det(input)) of each square matrix: nan where the determinant is negative, -inf
    where it is 0 (computed from slogdet, so it does not overflow).

    >>> strided.logdet(strided.tensor([[2., 0.], [0., 3.]]))
    tensor(1.7918)
    """
    sign, logabsdet = _la.slogdet(input)
    return logabsdet + sign.log()


def inverse(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """strided.linalg.inv(input).

    >>> strided.inverse(strided.tensor([[2., 0.], [0., 4.]])).diagonal()
    tensor([0.5000, 0.2500])
    """
    r = _la.inv(input)
    return r if out is None else _write_out(out, r, "inverse", (input,))


def cholesky(input: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """strided.linalg.cholesky(input, upper=upper) (PyTorch's deprecated torch.cholesky,
    whose upper is positional).

    >>> strided.cholesky(strided.tensor([[4., 2.], [2., 5.]]), True)
    tensor([[2., 1.],
            [0., 2.]])
    """
    r = _la.cholesky(input, upper=bool(upper))
    return r if out is None else _write_out(out, r, "cholesky", (input,))


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """strided.linalg.pinv(input, rtol=rcond) (torch.pinverse's default rcond is 1e-15).

    >>> strided.pinverse(strided.tensor([[2., 0.], [0., 0.]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.0000]])
    """
    return _la.pinv(input, rtol=rcond)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *,
        out: tuple[Tensor, Tensor, Tensor] | None = None) -> SVDTorchResult:
    """(U, S, V) with input = U @ diag(S) @ V.mT, as torch.svd: V, not linalg.svd's Vh; some
    (default) gives the reduced factors; compute_uv=False gives zero U (m, m) and V (n, n).

    >>> U, S, V = strided.svd(strided.tensor([[3., 0.], [0., -4.]]))
    >>> S
    tensor([4., 3.])
    """
    if not compute_uv:
        S = _la.svdvals(input)
        m, n = input.shape[-2:]
        r = SVDTorchResult(zeros(*input.shape[:-2], m, m, dtype=input.dtype), S,
                           zeros(*input.shape[:-2], n, n, dtype=input.dtype))
    else:
        U, S, Vh = _la.svd(input, full_matrices=not some)
        r = SVDTorchResult(U, S, Vh.transpose(-2, -1))
    return r if out is None else SVDTorchResult(*_write_outs(out, tuple(r), "svd", (input,)))


def qr(input: Tensor, some: bool = True, *,
       out: tuple[Tensor, Tensor] | None = None) -> _la.QRResult:
    """strided.linalg.qr(input, 'reduced' if some else 'complete') (torch.qr's form).

    >>> strided.qr(strided.ones(3, 2))[1].shape
    strided.Size([2, 2])
    """
    r = _la.qr(input, "reduced" if some else "complete")
    return r if out is None else _la.QRResult(*_write_outs(out, tuple(r), "qr", (input,)))


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor (integer input gives int64, as sum).

    >>> strided.trace(strided.arange(9).view(3, 3))
    tensor(12)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"trace(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return input.diagonal().sum()


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A new tensor whose diagonals (offset, over the new dims dim1 and dim2) hold the last
    dim of input, zeros elsewhere: input (..., n) gives (..., n + |offset|, n + |offset|)
    by default.

    >>> strided.diag_embed(strided.tensor([1, 2]))
    tensor([[1, 0],
            [0, 2]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"diag_embed(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    nd = input.ndim + 1
    d1, d2 = (d + nd if d < 0 else d for d in (dim1, dim2))
    if not (0 <= d1 < nd and 0 <= d2 < nd):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, "
                         f"{nd - 1}], but got {dim1 if not 0 <= d1 < nd else dim2})")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = (input.shape[-1] if input.ndim else 1) + abs(offset)
    batch = list(input.shape[:-1])
    shape = []
    for d in range(nd):
        shape.append(n if d in (d1, d2) else batch.pop(0))
    out = zeros(*shape, dtype=input.dtype)
    out.diagonal(offset, d1, d2).copy_(input)
    return out


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-D tensor with input's elements (flattened) on its offset diagonal.

    >>> strided.diagflat(strided.tensor([[1, 2]]))
    tensor([[1, 0],
            [0, 2]])
    """
    return diag_embed(input.flatten(), offset)


def diag(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    """1-D input: a 2-D tensor with input on its diagonal-th diagonal (diag_embed); 2-D
    input: a copy of its diagonal-th diagonal.

    >>> strided.diag(strided.tensor([[1, 2], [3, 4]]))
    tensor([1, 4])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"diag(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim == 1:
        r = diag_embed(input, diagonal)
    elif input.ndim == 2:
        r = input.diagonal(diagonal).clone()
    else:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " f"{input.ndim}D")
    return r if out is None else _write_out(out, r, "diag", (input,))


install_linalg(sys.modules[__name__])
