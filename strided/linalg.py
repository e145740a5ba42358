"""strided.linalg: norms, determinants, inverses, solves and factorizations, as torch.linalg.

NOTE [ Linear algebra on NumPy's LAPACK ]
The norms, cross, vecdot, matrix_power and multi_dot are compositions of strided's own ops
(element-wise, reductions, matmul), so autograd goes through them as through any
composition.  The factorizations (det, slogdet, inv, solve, cholesky, qr, eigh, svd, and
pinv, matrix_rank and lstsq built on them) run on NumPy's LAPACK (numpy.linalg, strided's
one runtime dependency), and matrix_exp on NumPy's matmul and solve: the input is copied
to a contiguous NumPy array of its dtype, NumPy's batched routine runs over the leading
dims, and its result is copied into a new strided tensor.  That means
  - one copy in and one out per call, and no out= forms;
  - float32 input is computed in float32 (LAPACK's s-routines, as PyTorch's CPU kernels),
    float64 in float64, so results agree with PyTorch's to rounding, not to the bit;
  - integer and bool input are refused with PyTorch's message; complex dtypes do not exist
    in strided.
Each factorization is recorded as one op with its own backward formula, named as PyTorch's
grad_fn (LinalgDetBackward0, LinalgInvExBackward0, LinalgSvdBackward0, ...); the formulas
are evaluated in NumPy too.  Higher-order gradients are not supported (as everywhere in
strided).
"""
from __future__ import annotations

from collections import namedtuple
import math
from typing import Sequence

import numpy as np

from strided._C.core.dtypes import float32, float64, int32, int64, uint8, bool_
from strided._C.core.tensor import Tensor, from_numpy, _write_out, _write_outs
from strided._C.ops.gemm import matmul
from strided._C.ops.join import stack
from strided.autograd.record import derivative, record, requires_record
from strided.creation import zeros, eye

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "det", "slogdet", "inv",
           "inv_ex", "solve", "cholesky", "cholesky_ex", "qr", "eigh", "eigvalsh", "svd",
           "svdvals", "pinv", "matrix_rank", "lstsq", "matrix_power", "matrix_exp",
           "multi_dot", "cross", "vecdot", "diagonal"]


class LinAlgError(RuntimeError):
    """Raised when a matrix is singular or not positive-definite (torch.linalg.LinAlgError;
    a RuntimeError, so `except RuntimeError` catches it too)."""


SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
InvExResult = namedtuple("InvExResult", ["inverse", "info"])
CholeskyExResult = namedtuple("CholeskyExResult", ["L", "info"])
QRResult = namedtuple("QRResult", ["Q", "R"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])

_TORCH_DTYPE_NAMES = {int64: "Long", int32: "Int", uint8: "Byte", bool_: "Bool",
                      float32: "Float", float64: "Double"}


# ---------------------------------------------------------------- checks and conversions

def _check_tensor(A, fn, name="A"):
    if not isinstance(A, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(A).__name__}")


def _check_float(A, fn, name="A"):
    _check_tensor(A, fn, name)
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. "
                           f"Got {_TORCH_DTYPE_NAMES.get(A.dtype, str(A.dtype))}")


def _check_matrix(A, fn, square=True):
    _check_float(A, fn)
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{fn}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")


def _np(x):
    """x's values as a C-contiguous NumPy array of x's dtype (a copy when x is not
    contiguous; never written to)."""
    return x.detach().contiguous().numpy()


def _t(a, dtype):
    """A new strided tensor holding a NumPy array's values, in dtype."""
    return from_numpy(np.array(a, dtype=np.float64 if dtype is float64 else np.float32,
                               order="C", copy=True))


def _mT(a):
    return np.swapaxes(a, -1, -2)


def _batch_prefix(batch_shape, flat_index):
    """PyTorch's "(Batch element i): " prefix of errors about one matrix of a batch."""
    return f"(Batch element {flat_index}): " if len(batch_shape) else ""


def _sum_to(g, shape):
    """Sum a broadcast gradient back to an input's shape."""
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


# ---------------------------------------------------------------- norms

def vector_norm(x: Tensor, ord: float = 2, dim: int | Sequence[int] | None = None,
                keepdim: bool = False, *, dtype=None) -> Tensor:
    """The vector ord-norm of x over dim (all elements when dim is None), as
    torch.linalg.vector_norm: ord 2 is sqrt(sum(x**2)), inf max(|x|), -inf min(|x|), 0 the
    count of nonzeros, other numbers sum(|x|**ord)**(1/ord).  Floating point only (or
    dtype=, which casts x first).  The 2-norm's gradient at 0 is 0, as PyTorch's.

    >>> strided.linalg.vector_norm(strided.tensor([3., 4.]))
    tensor(5.)
    >>> strided.linalg.vector_norm(strided.tensor([[1., -2.], [3., 0.]]), ord=1, dim=1)
    tensor([3., 3.])
    """
    _check_tensor(x, "linalg.vector_norm", "input")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Expected a numeric ord, got '{ord}'")
    if dtype is None and not x.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {_TORCH_DTYPE_NAMES.get(x.dtype, str(x.dtype))}")
    return x.norm(ord, dim, keepdim, dtype)


def _matrix_dims(A, dim, fn):
    if len(dim) != 2:
        raise RuntimeError(f"{fn}: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    d0, d1 = (d + A.ndim if d < 0 else d for d in dim)
    if not (0 <= d0 < A.ndim and 0 <= d1 < A.ndim):
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-A.ndim}, {A.ndim - 1}], but got {dim[0] if not 0 <= d0 < A.ndim else dim[1]})")
    if d0 == d1:
        raise RuntimeError(f"{fn}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def matrix_norm(A: Tensor, ord: float | str = "fro", dim: tuple[int, int] = (-2, -1),
                keepdim: bool = False, *, dtype=None) -> Tensor:
    """The matrix ord-norm of A over the two dims dim, as torch.linalg.matrix_norm: 'fro'
    (sqrt of the sum of squares), 'nuc' (sum of singular values), 2 / -2 (largest /
    smallest singular value), 1 / -1 (max / min column sum of |A|), inf / -inf (max / min
    row sum of |A|).  The other dims are batch dims.

    >>> A = strided.tensor([[1., -2.], [3., 4.]])
    >>> strided.linalg.matrix_norm(A, ord=1), strided.linalg.matrix_norm(A, ord=float("inf"))
    (tensor(6.), tensor(7.))
    """
    fn = "linalg.matrix_norm"
    _check_tensor(A, fn)
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    if dtype is not None:
        A = A.to(dtype)
    _check_float(A, fn)
    d0, d1 = _matrix_dims(A, tuple(dim), fn)
    if isinstance(ord, str):
        if ord == "fro":
            return A.norm(2, (d0, d1), keepdim)
        if ord != "nuc":
            raise RuntimeError(f"{fn}: Order {ord} not supported.")
    elif ord not in (1, -1, 2, -2, math.inf, -math.inf):
        raise RuntimeError(f"{fn}: Order {ord:g} not supported.")
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        r = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            for d in sorted((d0, d1)):
                r = r.unsqueeze(d)
        return r
    if ord in (math.inf, -math.inf):
        d0, d1 = d1, d0                          # row sums instead of column sums
    r = A.abs().sum(d0, keepdim=True)
    r = r.amax(d1, keepdim=True) if ord > 0 else r.amin(d1, keepdim=True)
    return r if keepdim else r.squeeze((d0, d1))


def norm(A: Tensor, ord: float | str | None = None, dim: int | Sequence[int] | None = None,
         keepdim: bool = False, *, dtype=None) -> Tensor:
    """A vector or matrix norm with torch.linalg.norm's rules: with dim an int (or 1-tuple)
    a vector_norm, with a 2-tuple a matrix_norm; with dim None and ord None the 2-norm of all
    elements, with dim None and ord given a vector_norm of 1-D A or a matrix_norm of 2-D A.

    >>> A = strided.tensor([[3., 0.], [0., 4.]])
    >>> strided.linalg.norm(A), strided.linalg.norm(A, 2), strided.linalg.norm(A, dim=0)
    (tensor(5.), tensor(4.), tensor([3., 4.]))
    """
    fn = "linalg.norm"
    _check_tensor(A, fn)
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        raise RuntimeError(f"{fn}: If dim is specified, it must be of length 1 or 2. "
                           f"Got {list(dims)}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim not in (1, 2):
        raise RuntimeError(f"{fn}: If dim is not specified but ord is, the input must be 1D "
                           f"or 2D. Got {A.ndim}D.")
    if A.ndim == 1:
        if isinstance(ord, str):
            raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                               "dimensions.")
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)


# ---------------------------------------------------------------- det, slogdet

def _cofactor(a):
    """The cofactor matrix of each matrix of a (d det(A) / dA), from the SVD A = U S Vh:
    det(U) det(Vh) U diag(prod_{j != i} s_j) Vh -- defined for singular A too."""
    n = a.shape[-1]
    if n == 0:
        return np.zeros_like(a)
    u, s, vh = np.linalg.svd(a)
    ones = np.ones(s.shape[:-1] + (1,), s.dtype)
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], -1), -1)
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], -1), -1)[..., ::-1]
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * ((u * (before * after)[..., None, :]) @ vh)


@derivative("linalg_det", "LinalgDetBackward0")
def _det_grads(ctx, g):
    a = _np(ctx.A)
    return _t(_np(g)[..., None, None] * _cofactor(a), ctx.dtypes[0])


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix of A (..., n, n): a tensor of shape (...).
    Floating point only; LU on NumPy's LAPACK (NOTE [ Linear algebra on NumPy's LAPACK ]).
    The gradient is the cofactor matrix, computed from the SVD so that singular matrices get
    it too (PyTorch gives 0 for some exactly singular matrices, e.g. [[1, 2], [2, 4]], whose
    cofactor matrix is [[4, -2], [-2, 1]]).

    >>> strided.linalg.det(strided.tensor([[1., 2.], [3., 4.]]))
    tensor(-2.)
    """
    _check_matrix(A, "linalg.det")
    out = _t(np.linalg.det(_np(A)), A.dtype)
    return record("linalg_det", (A,), out, {"A": A}) if requires_record(A) else out


@derivative("linalg_slogdet", "LinalgSlogdetBackward0")
def _slogdet_grads(ctx, g_logabsdet):
    ainv = np.linalg.inv(_np(ctx.A))
    return _t(_np(g_logabsdet)[..., None, None] * _mT(ainv), ctx.dtypes[0])


def slogdet(A: Tensor, *, out: tuple[Tensor, Tensor] | None = None) -> SlogdetResult:
    """(sign, logabsdet) of each square matrix of A: det(A) == sign * exp(logabsdet), stable
    where det would overflow; a singular matrix gives sign 0 and logabsdet -inf.  sign gets
    no gradient.

    >>> strided.linalg.slogdet(strided.tensor([[1., 2.], [3., 4.]]))
    SlogdetResult(sign=tensor(-1.), logabsdet=tensor(0.6931))
    """
    _check_matrix(A, "linalg.slogdet")
    sign, logabs = np.linalg.slogdet(_np(A))
    sign, logabs = _t(sign, A.dtype), _t(logabs, A.dtype)
    if requires_record(A):
        record("linalg_slogdet", (A,), logabs, {"A": A})
    if out is not None:
        return SlogdetResult(*_write_outs(out, (sign, logabs), "slogdet", (A,)))
    return SlogdetResult(sign, logabs)


# ---------------------------------------------------------------- inv, solve

def _first_zero_pivot(a):
    """The 1-based index of the first exactly-zero pivot of LU with partial pivoting of the
    square matrix a (getrf's info), 0 when there is none."""
    a = np.array(a, copy=True)
    n = a.shape[0]
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            return k + 1
        if p != k:
            a[[k, p]] = a[[p, k]]
        a[k + 1:, k] /= a[k, k]
        a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return 0


def _inv_info(a):
    """Per matrix of the batch a: (inverse or nan, getrf's info)."""
    batch = a.shape[:-2]
    flat = a.reshape((-1,) + a.shape[-2:])
    inv = np.empty_like(flat)
    info = np.zeros(flat.shape[0], np.int32)
    for i, m in enumerate(flat):
        try:
            inv[i] = np.linalg.inv(m)
        except np.linalg.LinAlgError:
            info[i] = _first_zero_pivot(m) or m.shape[0]
            inv[i] = np.nan
    return inv.reshape(a.shape), info.reshape(batch)


@derivative("linalg_inv_ex", "LinalgInvExBackward0")
def _inv_grads(ctx, g, g_info=None):
    ainv = _np(ctx.result)
    return _t(-_mT(ainv) @ _np(g) @ _mT(ainv), ctx.dtypes[0])


def _inv(A, fn, check_errors):
    _check_matrix(A, fn)
    a = _np(A)
    try:
        inv = np.linalg.inv(a)
        info = np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        inv, info = _inv_info(a)
        if check_errors:
            bad = int(np.flatnonzero(info.reshape(-1))[0])
            raise LinAlgError(
                f"{fn}: {_batch_prefix(a.shape[:-2], bad)}The diagonal element "
                f"{info.reshape(-1)[bad]} is zero, the inversion could not be completed "
                f"because the input matrix is singular.") from None
    out = _t(inv, A.dtype)
    if requires_record(A):
        record("linalg_inv_ex", (A,), out, {"result": out})
    return out, from_numpy(np.array(info, np.int32))


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix of A (..., n, n).  A singular matrix raises
    LinAlgError with PyTorch's message (which diagonal element of U in A = P L U is zero).

    >>> strided.linalg.inv(strided.tensor([[2., 0.], [0., 4.]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.2500]])
    """
    return _inv(A, "linalg.inv", True)[0]


def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvExResult:
    """(inverse, info) as torch.linalg.inv_ex: info (int32, one per matrix) is 0 where the
    inverse was computed and k where U's k-th diagonal element is zero; the inverse of a
    singular matrix is left as nan (PyTorch leaves LAPACK's partial result).  check_errors
    raises as inv does.

    >>> strided.linalg.inv_ex(strided.tensor([[1., 2.], [2., 4.]])).info
    tensor(2, dtype=strided.int32)
    """
    return InvExResult(*_inv(A, "linalg.inv", check_errors))


@derivative("linalg_solve_ex", "LinalgSolveExBackward0")
def _solve_grads(ctx, g):
    a, x = _np(ctx.A), _np(ctx.result)
    gb = np.linalg.solve(_mT(a), _np(g))
    ga = -gb @ _mT(x)
    return (_t(_sum_to(ga, ctx.shapes[0]), ctx.dtypes[0]) if ctx.needs[0] else None,
            _t(_sum_to(gb, ctx.shapes[1]), ctx.dtypes[1]) if ctx.needs[1] else None)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A @ X == B (left=True) or X @ A == B (left=False) for square invertible A
    (..., n, n).  B is (..., n, k), or a batch of vectors (..., n) when B.ndim == 1 or
    B.shape == A.shape[:-1]; the batch dims of A and B broadcast.  A singular A raises
    LinAlgError.

    >>> A = strided.tensor([[2., 1.], [1., 3.]])
    >>> strided.linalg.solve(A, strided.tensor([3., 5.]))
    tensor([0.8000, 1.4000])
    """
    fn = "linalg.solve"
    _check_matrix(A, fn)
    _check_float(B, fn, "B")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{fn}: Expected A and B to have the same dtype, but found A of "
                           f"type {_TORCH_DTYPE_NAMES[A.dtype]} and B of type "
                           f"{_TORCH_DTYPE_NAMES[B.dtype]} instead")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    B2 = B.unsqueeze(-1) if vector else B
    n = A.shape[-1]
    if B2.shape[-2 if left else -1] != n:
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({A.shape[-2]}x{A.shape[-1]} and "
                           f"{B2.shape[-2]}x{B2.shape[-1]})")
    if vector and not left:
        raise RuntimeError(f"{fn}: Vector broadcasting of the left hand side is not supported "
                           f"for left=False. In this case linalg.solve is equivalent to "
                           f"B / A.squeeze(-1)")
    if not left:
        A, B2 = A.transpose(-2, -1), B2.transpose(-2, -1)
    a = _np(A)
    try:
        x = np.linalg.solve(a, _np(B2))
    except np.linalg.LinAlgError:
        info = _inv_info(a)[1]
        bad = int(np.flatnonzero(info.reshape(-1))[0]) if info.any() else 0
        raise LinAlgError(f"torch.linalg.solve: {_batch_prefix(a.shape[:-2], bad)}The solver "
                          f"failed because the input matrix is singular.") from None
    out = _t(x, A.dtype)
    if requires_record(A, B2):
        record("linalg_solve_ex", (A, B2), out, {"A": A, "result": out})
    out = out if left else out.transpose(-2, -1)
    return out.squeeze(-1) if vector else out


# ---------------------------------------------------------------- cholesky

def _leading_minor(m):
    """The order of the first leading minor of the symmetric matrix m (lower triangle read)
    that is not positive-definite (potrf's info), by bisection on k."""
    lo, hi = 0, m.shape[0]                       # minor lo is PD, minor hi is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            np.linalg.cholesky(m[:mid, :mid])
            lo = mid
        except np.linalg.LinAlgError:
            hi = mid
    return hi


def _cholesky(A, fn, upper, check_errors):
    _check_matrix(A, fn)
    a = _np(A)
    info = np.zeros(a.shape[:-2], np.int32)
    try:
        L = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        flat = a.reshape((-1,) + a.shape[-2:])
        L = np.full_like(flat, np.nan)
        flat_info = info.reshape(-1)
        for i, m in enumerate(flat):
            try:
                L[i] = np.linalg.cholesky(m)
            except np.linalg.LinAlgError:
                flat_info[i] = _leading_minor(m)
        L = L.reshape(a.shape)
        if check_errors:
            bad = int(np.flatnonzero(flat_info)[0])
            raise LinAlgError(
                f"{fn}: {_batch_prefix(a.shape[:-2], bad)}The factorization could not be "
                f"completed because the input is not positive-definite (the leading minor of "
                f"order {flat_info[bad]} is not positive-definite).") from None
    out = _t(_mT(L) if upper else L, A.dtype)
    if requires_record(A):
        record("linalg_cholesky_ex", (A,), out, {"result": out}, upper=upper)
    return out, from_numpy(np.array(info, np.int32))


@derivative("linalg_cholesky_ex", "LinalgCholeskyExBackward0")
def _cholesky_grads(ctx, g, g_info=None):
    # A = L L^T: with P = Phi(L^T gL) (lower triangle, diagonal halved),
    # gA = sym(L^-T P L^-1)
    L, gL = _np(ctx.result), _np(g)
    if ctx.upper:
        L, gL = _mT(L), _mT(gL)
    gL = np.tril(gL)
    P = np.tril(_mT(L) @ gL)
    P = P - 0.5 * np.eye(P.shape[-1], dtype=P.dtype) * P
    Linv = np.linalg.inv(L)
    S = _mT(Linv) @ P @ Linv
    return _t(0.5 * (S + _mT(S)), ctx.dtypes[0])


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor L (lower triangular, A = L @ L.mT) of each symmetric
    positive-definite matrix of A (..., n, n); upper=True gives U = L.mT (A = U.mT @ U).
    Only A's lower triangle is read.  A matrix that is not positive-definite raises
    LinAlgError with PyTorch's message (the order of the first leading minor that is not).

    >>> strided.linalg.cholesky(strided.tensor([[4., 2.], [2., 5.]]))
    tensor([[2., 0.],
            [1., 2.]])
    """
    return _cholesky(A, "linalg.cholesky", upper, True)[0]


def cholesky_ex(A: Tensor, *, upper: bool = False,
                check_errors: bool = False) -> CholeskyExResult:
    """(L, info) as torch.linalg.cholesky_ex: info (int32, one per matrix) is 0 on success
    and the order of the first leading minor that is not positive-definite otherwise, where L
    is left as nan (PyTorch leaves LAPACK's partial factor).

    >>> strided.linalg.cholesky_ex(-strided.eye(2)).info
    tensor(1, dtype=strided.int32)
    """
    return CholeskyExResult(*_cholesky(A, "linalg.cholesky_ex", upper, check_errors))


# ---------------------------------------------------------------- qr

def _qr_backward_tall(q, r, gq, gr):
    """gA for A = Q R with m >= n (reduced): M = R gR^T - gQ^T Q made symmetric from its
    lower triangle, gA = (gQ + Q M) R^-T."""
    m = r @ _mT(gr) - _mT(gq) @ q
    m = np.tril(m) + _mT(np.tril(m, -1))
    b = gq + q @ m
    return _mT(np.linalg.solve(r, _mT(b)))


@derivative("linalg_qr", "LinalgQrBackward0", sparse_grads=True)
def _qr_grads(ctx, gQ, gR):
    if ctx.mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                           "when mode='r'. Please use linalg.qr(A, mode='reduced') if you are "
                           "going to differentiate through linalg.qr.")
    q, r = _np(ctx.Q), _np(ctx.R)
    m, n = ctx.shapes[0][-2], ctx.shapes[0][-1]
    gq = np.zeros_like(q) if gQ is None else _np(gQ)
    gr = np.zeros_like(r) if gR is None else _np(gR)
    if ctx.mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                           "and nrows > ncols.")
    if m >= n:
        return _t(_qr_backward_tall(q, r, gq, gr), ctx.dtypes[0])
    # wide: A = [X | Y], X = Q R1 (square), Y = Q R2
    y = _np(ctx.A)[..., m:]
    gx = _qr_backward_tall(q, r[..., :m], gq + y @ _mT(gr[..., m:]), gr[..., :m])
    gy = q @ gr[..., m:]
    return _t(np.concatenate([gx, gy], -1), ctx.dtypes[0])


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """(Q, R) with A = Q @ R, Q with orthonormal columns and R upper triangular, for each
    matrix of A (..., m, n): mode 'reduced' gives Q (m, k) and R (k, n) with k = min(m, n),
    'complete' Q (m, m) and R (m, n), 'r' only R (Q is an empty tensor).  Householder QR
    (LAPACK geqrf), so signs match PyTorch's.  Differentiable in 'reduced' mode (and
    'complete' when m <= n), for A of full rank.

    >>> Q, R = strided.linalg.qr(strided.tensor([[3., 1.], [4., 2.]]))
    >>> R
    tensor([[-5.0000, -2.2000],
            [ 0.0000,  0.4000]])
    """
    fn = "linalg.qr"
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    _check_matrix(A, fn, square=False)
    a = _np(A)
    if mode == "r":
        r = np.linalg.qr(a, mode="r") if a.size else np.zeros(
            a.shape[:-2] + (min(a.shape[-2:]), a.shape[-1]), a.dtype)
        q = np.zeros((0,), a.dtype)
    else:
        q, r = np.linalg.qr(a, mode=mode)
    Q, R = _t(q, A.dtype), _t(r, A.dtype)
    if requires_record(A):
        record("linalg_qr", (A,), (Q, R), {"Q": Q, "R": R, "A": A}, mode=mode)
    return QRResult(Q, R)


# ---------------------------------------------------------------- eigh

@derivative("linalg_eigh", "LinalgEighBackward0", sparse_grads=True)
def _eigh_grads(ctx, gL, gV):
    # gA = V (diag(gL) + (V^T gV) / E) V^T, E_ij = L_j - L_i (the diagonal of the
    # quotient set to 0)
    lam, v = _np(ctx.eigenvalues), _np(ctx.eigenvectors)
    n = lam.shape[-1]
    inner = np.zeros(lam.shape + (n,), lam.dtype)
    if gV is not None:
        vhgv = _mT(v) @ _np(gV)
        vhgv = 0.5 * (vhgv - _mT(vhgv))
        e = lam[..., None, :] - lam[..., :, None]
        idx = np.arange(n)
        e[..., idx, idx] = 1
        inner = vhgv / e
        inner[..., idx, idx] = 0
    if gL is not None:
        inner = inner + np.eye(n, dtype=lam.dtype) * _np(gL)[..., None, :]
    return _t(v @ inner @ _mT(v), ctx.dtypes[0])


def _eigh(A, fn, UPLO, vectors):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    _check_tensor(A, fn)
    if not A.dtype.is_floating_point:           # PyTorch's dispatch message
        raise RuntimeError(f'"linalg_eigh_cpu" not implemented for '
                           f"'{_TORCH_DTYPE_NAMES[A.dtype]}'")
    _check_matrix(A, fn)
    a = _np(A)
    try:
        if vectors or requires_record(A):
            lam, v = np.linalg.eigh(a, UPLO=UPLO)
        else:
            lam, v = np.linalg.eigvalsh(a, UPLO=UPLO), None
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{fn}: The algorithm failed to converge because the input matrix "
                          f"is ill-conditioned or has too many repeated eigenvalues.") from None
    L = _t(lam, A.dtype)
    V = _t(v, A.dtype) if v is not None else None
    if requires_record(A):
        record("linalg_eigh", (A,), (L, V), {"eigenvalues": L, "eigenvectors": V})
    return L, V


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:
    """(eigenvalues, eigenvectors) of each symmetric matrix of A (..., n, n): eigenvalues
    ascending (..., n), eigenvectors the columns of (..., n, n), A = V diag(L) V.mT.  Only
    the triangle UPLO ('L' or 'U') of A is read.  Eigenvectors are defined up to sign:
    differentiate functions that do not depend on it (the gradient is nan or inf where
    eigenvalues repeat and eigenvectors get a gradient, as PyTorch's).

    >>> strided.linalg.eigh(strided.tensor([[2., 1.], [1., 2.]])).eigenvalues
    tensor([1., 3.])
    """
    return EighResult(*_eigh(A, "linalg.eigh", UPLO, True))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues, ascending, of each symmetric matrix of A (..., n, n) (eigh's first
    result).

    >>> strided.linalg.eigvalsh(strided.tensor([[2., 1.], [1., 2.]]))
    tensor([1., 3.])
    """
    return _eigh(A, "linalg.eigvalsh", UPLO, False)[0]


# ---------------------------------------------------------------- svd

@derivative("linalg_svd", "LinalgSvdBackward0", sparse_grads=True)
def _svd_grads(ctx, gU, gS, gVh):
    u, s, vh = _np(ctx.U), _np(ctx.S), _np(ctx.Vh)
    m, n = ctx.shapes[0][-2], ctx.shapes[0][-1]
    k = s.shape[-1]
    if gU is None and gVh is None:
        ga = (u[..., :, :k] * _np(gS)[..., None, :]) @ vh[..., :k, :]
        return _t(ga, ctx.dtypes[0])
    if ctx.full_matrices and m != n:
        raise RuntimeError("linalg.svd: The derivative of the singular vectors is not "
                           "implemented for full_matrices=True when the matrix is not square. "
                           "Use full_matrices=False.")
    gu = np.zeros_like(u) if gU is None else _np(gU)
    gvh = np.zeros_like(vh) if gVh is None else _np(gVh)
    v, gv = _mT(vh), _mT(gvh)
    uhgu, vhgv = _mT(u) @ gu, _mT(v) @ gv
    s2 = s * s
    e = s2[..., None, :] - s2[..., :, None]           # E_ij = s_j^2 - s_i^2
    idx = np.arange(k)
    e[..., idx, idx] = 1
    inner = ((uhgu - _mT(uhgu)) * s[..., None, :] + s[..., :, None] * (vhgv - _mT(vhgv))) / e
    inner[..., idx, idx] = 0
    if gS is not None:
        inner = inner + np.eye(k, dtype=s.dtype) * _np(gS)[..., None, :]
    ga = u @ inner @ vh
    if m > k:
        ga = ga + ((gu - u @ uhgu) / s[..., None, :]) @ vh
    if n > k:
        ga = ga + u @ _mT((gv - v @ vhgv) / s[..., None, :])
    return _t(ga, ctx.dtypes[0])


def _svd(A, fn, full_matrices, uv):
    _check_matrix(A, fn, square=False)
    a = _np(A)
    try:
        if uv or requires_record(A):
            u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        else:
            u, s, vh = None, np.linalg.svd(a, compute_uv=False), None
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{fn}: The algorithm failed to converge because the input matrix "
                          f"is ill-conditioned or has too many repeated singular values.") from None
    U, S, Vh = (_t(x, A.dtype) if x is not None else None for x in (u, s, vh))
    if requires_record(A):
        record("linalg_svd", (A,), (U, S, Vh), {"U": U, "S": S, "Vh": Vh},
               full_matrices=full_matrices)
    return U, S, Vh


def svd(A: Tensor, full_matrices: bool = True) -> SVDResult:
    """(U, S, Vh) with A = U @ diag(S) @ Vh for each matrix of A (..., m, n): S (..., k),
    k = min(m, n), descending; U (m, m) and Vh (n, n) when full_matrices, else (m, k) and
    (k, n).  Singular vectors are defined up to sign: differentiate functions that do not
    depend on it (U @ Vh, S, |U|, ...); gradients of the vectors need
    full_matrices=False (or square A) and distinct singular values, as in PyTorch.

    >>> strided.linalg.svd(strided.tensor([[3., 0.], [0., -4.]])).S
    tensor([4., 3.])
    """
    return SVDResult(*_svd(A, "linalg.svd", full_matrices, True))


def svdvals(A: Tensor) -> Tensor:
    """The singular values of each matrix of A (..., m, n), descending, (..., min(m, n)).

    >>> strided.linalg.svdvals(strided.tensor([[3., 0.], [0., -4.]]))
    tensor([4., 3.])
    """
    return _svd(A, "linalg.svd", False, False)[1]


# ---------------------------------------------------------------- pinv, rank, lstsq

def _tolerances(s_max, atol, rtol, m, n, dtype):
    eps = np.finfo(np.float32 if dtype is float32 else np.float64).eps
    if rtol is None:
        rtol = max(m, n) * eps if (atol is None or atol <= 0) else 0.0
    atol = 0.0 if atol is None else atol
    return np.maximum(atol, rtol * s_max)


@derivative("linalg_pinv", "LinalgPinvBackward0")
def _pinv_grads(ctx, g):
    # dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P, adjoint in dA
    a, p, g = _np(ctx.A), _np(ctx.result), _np(g)
    m, n = a.shape[-2:]
    pt = _mT(p)
    ga = -pt @ g @ pt
    ga = ga + (np.eye(m, dtype=a.dtype) - a @ p) @ _mT(g) @ (p @ pt)
    ga = ga + (pt @ p) @ _mT(g) @ (np.eye(n, dtype=a.dtype) - p @ a)
    return _t(ga, ctx.dtypes[0])


def pinv(A: Tensor, *, atol: float | None = None, rtol: float | None = None,
         hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse of each matrix of A (..., m, n), (..., n, m), from
    the SVD: singular values at most max(atol, rtol * largest) are treated as zero (by
    default rtol = max(m, n) * eps, as PyTorch).  hermitian=True computes it from eigh.
    The gradient is that of a matrix of constant rank.

    >>> strided.linalg.pinv(strided.tensor([[1., 0.], [0., 0.]]))
    tensor([[1., 0.],
            [0., 0.]])
    """
    fn = "linalg.pinv"
    _check_tensor(A, fn)
    if not A.dtype.is_floating_point or A.ndim < 2:
        raise RuntimeError(f"{fn}({_TORCH_DTYPE_NAMES[A.dtype]}{{{list(A.shape)}}}): expected "
                           f"a tensor with 2 or more dimensions of float, double, cfloat or "
                           f"cdouble types")
    _check_matrix(A, fn, square=hermitian)
    a = _np(A)
    m, n = a.shape[-2:]
    if hermitian:
        lam, v = np.linalg.eigh(a)
        s_abs = np.abs(lam)
        tol = _tolerances(s_abs.max(-1, initial=0), atol, rtol, m, n, A.dtype)
        keep = s_abs > tol[..., None]
        inv_s = np.where(keep, 1 / np.where(keep, lam, 1), 0)
        p = (v * inv_s[..., None, :]) @ _mT(v)
    else:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        tol = _tolerances(s.max(-1, initial=0), atol, rtol, m, n, A.dtype)
        keep = s > tol[..., None]
        inv_s = np.where(keep, 1 / np.where(keep, s, 1), 0)
        p = (_mT(vh) * inv_s[..., None, :]) @ _mT(u)
    out = _t(p, A.dtype)
    if requires_record(A):
        record("linalg_pinv", (A,), out, {"A": A, "result": out})
    return out


def matrix_rank(A: Tensor, *, atol: float | None = None, rtol: float | None = None,
                hermitian: bool = False) -> Tensor:
    """The numerical rank of each matrix of A (..., m, n): the count of singular values
    above max(atol, rtol * largest) (default rtol = max(m, n) * eps); int64.

    >>> strided.linalg.matrix_rank(strided.tensor([[1., 2.], [2., 4.]]))
    tensor(1)
    """
    fn = "linalg.matrix_rank"
    _check_tensor(A, fn)
    if not A.dtype.is_floating_point:
        raise RuntimeError("This function doesn't handle types other than float and double")
    _check_matrix(A, fn, square=hermitian)
    a = _np(A)
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    tol = _tolerances(s.max(-1, initial=0), atol, rtol, a.shape[-2], a.shape[-1], A.dtype)
    return from_numpy(np.array((s > tol[..., None]).sum(-1), np.int64))


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *,
          driver: str | None = None) -> LstsqResult:
    """The least-squares solution X minimising ||A X - B|| for each matrix A (..., m, n) and
    B (..., m, k) (or B (..., m) when B.ndim == A.ndim - 1), batch dims broadcasting: X =
    pinv(A) @ B, the minimum-norm solution, whatever driver names (PyTorch's default
    'gelsy' gives the same X for A of full rank).  Only `solution` is computed: residuals,
    rank and singular_values are empty tensors.  Differentiable in A and B (through pinv).

    >>> A = strided.tensor([[1., 0.], [0., 1.], [1., 1.]])
    >>> strided.linalg.lstsq(A, strided.tensor([[1.], [2.], [3.]])).solution.round(decimals=4)
    tensor([[1.],
            [2.]])
    """
    fn = "linalg.lstsq"
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of "
                           f"(gels, gelsy, gelsd, gelss)")
    _check_matrix(A, fn, square=False)
    _check_float(B, fn, "B")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same "
                           f"dtype, but got input's dtype {_TORCH_DTYPE_NAMES[A.dtype]} and "
                           f"other's dtype {_TORCH_DTYPE_NAMES[B.dtype]}")
    if not (0 <= A.ndim - B.ndim <= 1):
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to "
                           "other.dim() and (input.dim() - other.dim()) <= 1")
    vector = B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1])
    B2 = B.unsqueeze(-1) if vector else B
    if B2.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match "
                           f"other.size(-{1 + (not vector)})")
    x = matmul(pinv(A, rtol=rcond), B2)
    empty = zeros(0, dtype=A.dtype)
    return LstsqResult(x.squeeze(-1) if vector else x, empty, zeros(0, dtype=int64),
                       zeros(0, dtype=A.dtype))


# ---------------------------------------------------------------- matrix_exp

# Pade(13) coefficients b_0..b_13 and the 1-norm up to which it is accurate in float64
# (Higham, "The scaling and squaring method for the matrix exponential revisited", 2005)
_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
           129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
           40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def _expm(a):
    """exp of each square matrix of a by scaling and squaring with the Pade(13)
    approximant, computed in a's dtype: A / 2^s has 1-norm at most theta_13, then
    exp(A) = r(A / 2^s)^(2^s) with r = (V - U)^-1 (V + U)."""
    n = a.shape[-1]
    b = [c / _PADE13[0] for c in _PADE13]        # r is a ratio: b_0 = 1 keeps exp(0) = I
    norm1 = np.abs(a).sum(-2).max(-1, initial=0).astype(np.float64)
    s = np.ceil(np.log2(np.maximum(norm1, 1e-300) / _THETA13))
    s = np.maximum(s, 0).astype(np.int64)
    a = a / np.power(2.0, s).astype(a.dtype)[..., None, None]
    eye_n = np.eye(n, dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4
             + b[3] * a2 + b[1] * eye_n)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 \
        + b[0] * eye_n
    r = np.linalg.solve(v - u, v + u)
    for k in range(int(s.max(initial=0))):
        r = np.where((k < s)[..., None, None], r @ r, r)
    return r


@derivative("linalg_matrix_exp", "LinalgMatrixExpBackward0")
def _matrix_exp_grads(ctx, g):
    # the Frechet derivative's adjoint: gA is the upper right block of
    # exp([[A^T, G], [0, A^T]])
    a, g = _np(ctx.A), _np(g)
    n = a.shape[-1]
    big = np.zeros(np.broadcast_shapes(a.shape, g.shape)[:-2] + (2 * n, 2 * n), a.dtype)
    big[..., :n, :n] = _mT(a)
    big[..., n:, n:] = _mT(a)
    big[..., :n, n:] = g
    return _t(_expm(big)[..., :n, n:], ctx.dtypes[0])


def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential sum_k A^k / k! of each square matrix of A (..., n, n), by
    scaling and squaring with a degree-13 Pade approximant (Higham 2005), in A's dtype on
    NumPy.  The gradient is the adjoint of its Frechet derivative (the exponential of a
    2n x 2n block matrix).

    >>> strided.linalg.matrix_exp(strided.tensor([[0., 1.], [0., 0.]]))
    tensor([[1., 1.],
            [0., 1.]])
    """
    _check_matrix(A, "linalg.matrix_exp")
    out = _t(_expm(_np(A)), A.dtype)
    return record("linalg_matrix_exp", (A,), out, {"A": A}) if requires_record(A) else out


# ---------------------------------------------------------------- compositions

def matrix_power(A: Tensor, n: int, *, out: Tensor | None = None) -> Tensor:
    """A @ A @ ... (n factors) for each square matrix of A, by repeated squaring; n = 0 gives
    identity matrices, n < 0 the power -n of inv(A).  Integer A is allowed for n >= 0.

    >>> strided.linalg.matrix_power(strided.tensor([[1, 1], [0, 1]]), 3)
    tensor([[1, 3],
            [0, 1]])
    """
    r = _matrix_power(A, n)
    return r if out is None else _write_out(out, r, "matrix_power", (A,))


def _matrix_power(A: Tensor, n: int) -> Tensor:
    fn = "linalg.matrix_power"
    _check_tensor(A, fn)
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{fn}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"{fn}(): argument 'n' must be int, not {type(n).__name__}")
    if n == 0:                                   # identities, with a zero gradient to A
        return A.clone().copy_(eye(A.shape[-1], dtype=A.dtype).expand(A.shape))
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result if result is not A else A.clone()


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """The product of a chain of matrices: the first may be a 1-D row vector and the last a
    1-D column vector (the result then drops that dim), all others 2-D.  Multiplied left to
    right (PyTorch picks the cheapest order; the values agree to rounding).

    >>> strided.linalg.multi_dot([strided.ones(3), strided.ones(3, 2), strided.ones(2)])
    tensor(6.)
    """
    fn = "multi_dot()"
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"{fn}: expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        _check_tensor(t, "linalg.multi_dot", f"tensors[{i}]")
        lo = 1 if i in (0, len(tensors) - 1) else 2
        if not (lo <= t.ndim <= 2):
            which = "first" if i == 0 else "last" if i == len(tensors) - 1 else None
            if which:
                raise RuntimeError(f"{fn}: the {which} tensor must be 1D or 2D but got "
                                   f"{t.ndim}D")
            raise RuntimeError(f"{fn}: tensor {i} must be 2D but got {t.ndim}D")
    first, last = tensors[0], tensors[-1]
    row, col = first.ndim == 1, last.ndim == 1
    chain = [first.unsqueeze(0) if row else first] + tensors[1:-1] + \
            [last.unsqueeze(-1) if col else last]
    out = chain[0]
    for t in chain[1:]:
        out = matmul(out, t)
    if col:
        out = out.squeeze(-1)
    if row:
        out = out.squeeze(0)
    return out


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along dim of input and other (broadcast together).

    >>> strided.linalg.cross(strided.tensor([1., 0., 0.]), strided.tensor([0., 1., 0.]))
    tensor([0., 0., 1.])
    """
    _check_tensor(input, "linalg.cross", "input")
    _check_tensor(other, "linalg.cross", "other")
    if input.ndim != other.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions.")
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[dim]} and {other.shape[dim]}")
    a = [input.select(dim, i) for i in range(3)]
    b = [other.select(dim, i) for i in range(3)]
    d = dim if dim >= 0 else dim + input.ndim
    return stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                  a[0] * b[1] - a[1] * b[0]], d)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of x and y (broadcast together) along dim: sum(x * y, dim).

    >>> strided.linalg.vecdot(strided.tensor([[1., 2.], [3., 4.]]), strided.tensor([1., 1.]))
    tensor([3., 7.])
    """
    _check_tensor(x, "linalg.vecdot", "x")
    _check_tensor(y, "linalg.vecdot", "y")
    return (x * y).sum(dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A view of the diagonals of A's matrices (over the last two dims by default), as
    torch.linalg.diagonal (strided.diagonal with dim1=-2, dim2=-1).

    >>> strided.linalg.diagonal(strided.arange(4.).view(2, 2))
    tensor([0., 3.])
    """
    _check_tensor(A, "linalg.diagonal")
    return A.diagonal(offset, dim1, dim2)
