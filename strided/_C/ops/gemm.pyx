"""Matrix products on Tensors: matmul (and @), mm, bmm, mv, dot, outer, addmm, linear,
and the BLAS-style gemm / gemv.

This layer only checks arguments (PyTorch's rules and messages), lays out the result and
hands raw pointers and strides to the one GEMM kernel (gemm.pyx).  Operands are never
copied to make them contiguous: transposed, sliced, negative-stride and broadcast
(stride-0) operands reach the kernel as they are, and batch dims broadcast as stride-0
views.  Like torch 2.13, the products refuse operands of different dtypes (only outer,
an element-wise product in torch, promotes) and bool matrices.
"""
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free

import math

from strided._C.core.dtypes cimport DType, dtype_from_num, BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.core.tensor cimport (Tensor, mark_written, make_tensor, new_tensor, copy_into,
                                data_of, check_writable, _memory_overlaps,
                                grad_mode_enabled, needs_grad, autograd_dispatch,
                                check_out, _check_out_grad, _write_out)
from strided._C.core.iterator cimport (StridedLoop, MAX_DIMS, loop_init, loop_set_operand,
                                       loop_prepare, loop_run_range, loop_numel)
from strided._C.kernels.gemm cimport gemm_strided, gemm_batched

cdef enum:
    NOGIL_MIN_WORK = 16384      # multiply-adds below which releasing the GIL costs more

_CPP_NAMES = ("bool", "unsigned char", "int", "long int", "float", "double")
_SCALAR_NAMES = ("Bool", "Byte", "Int", "Long", "Float", "Double")
_CPP_SCALAR_NAMES = ("bool", "uint8_t", "int", "int64_t", "float", "double")


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------

cdef inline Tensor _arg(object x, str fn, str name, int pos):
    if isinstance(x, Tensor):
        return <Tensor>x
    raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, "
                    f"not {type(x).__name__}")


cdef str _shape2(Tensor t):
    return f"{t._sizes[0]}x{t._sizes[1]}"


cdef int _same_dtype_m1m2(Tensor a, Tensor b) except -1:
    if a._dtype is not b._dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_CPP_NAMES[a._dtype.num]} != {_CPP_NAMES[b._dtype.num]}")
    return 0


cdef int _same_dtype_addmv(Tensor mat, Tensor vec) except -1:
    if mat._dtype is not vec._dtype:       # torch names the vector's dtype first
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_SCALAR_NAMES[vec._dtype.num]}, {_SCALAR_NAMES[mat._dtype.num]}, "
                           f"and {_SCALAR_NAMES[vec._dtype.num]}")
    return 0


cdef int _check_bmm_dtypes(Tensor a, Tensor b, int64_t m, int64_t n, int64_t k) except -1:
    """bmm's dtype checks: torch dispatches on the first operand's dtype, so a bool first
    operand fails as unimplemented before the two dtypes are compared."""
    if a._dtype.num == BOOL and m > 0 and n > 0 and (k > 0 or a._dtype is not b._dtype):
        raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"expected scalar type {_SCALAR_NAMES[a._dtype.num]} but found "
                           f"{_SCALAR_NAMES[b._dtype.num]}")
    return 0


cdef int _addmm_dtypes(Tensor c, Tensor a, Tensor b) except -1:
    """addmm's dtype checks, in torch's order (before the shapes)."""
    if c._dtype is not b._dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{_SCALAR_NAMES[c._dtype.num]} and {_SCALAR_NAMES[b._dtype.num]}")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{_SCALAR_NAMES[a._dtype.num]} and {_SCALAR_NAMES[b._dtype.num]}")
    return 0


cdef int _not_bool(Tensor t, str kernel, int64_t m, int64_t n, int64_t k) except -1:
    """torch has no bool matrix products -- but it only notices when there is arithmetic
    to do: empty results, and k = 0 (zeros), come back without an error."""
    if t._dtype.num == BOOL and m > 0 and n > 0 and k > 0:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")
    return 0


cdef int _scalars(DType dtype, object alpha, object beta, double* a, double* b) except -1:
    """alpha and beta as the kernel takes them: floats for float dtypes; for integer
    dtypes truncated to integers, as PyTorch converts Scalars to the tensor's type."""
    a[0] = _scalar(dtype, alpha)
    b[0] = _scalar(dtype, beta)
    return 0


cdef double _scalar(DType dtype, object value) except? -1:
    cdef int num = dtype.num
    if not isinstance(value, (int, float)):
        try:
            value = value.item()            # numpy scalars, 1-element tensors
        except AttributeError:
            raise TypeError(f"expected a number for alpha / beta, but got "
                            f"{type(value).__name__}") from None
    if num == FLOAT32 or num == FLOAT64:
        return float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RuntimeError(f"value cannot be converted to type {_CPP_SCALAR_NAMES[num]} "
                               f"without overflow")
        value = int(value)
    value = int(value)
    if num == INT32 and not -2**31 <= value < 2**31:
        raise RuntimeError("value cannot be converted to type int without overflow")
    if not -2**63 <= value < 2**64:
        raise RuntimeError(f"value cannot be converted to type {_CPP_SCALAR_NAMES[num]} "
                           f"without overflow")
    # the kernel reduces mod 2**width: reduce first, so the double carries it exactly
    if num == UINT8:
        return <double>(value % 256)
    if num == INT32:
        return <double>value
    value = (value + 2**63) % 2**64 - 2**63
    if not -2**53 <= value <= 2**53:
        raise RuntimeError("integer alpha and beta must lie within +-2**53 for int64 products")
    return <double>value


# --------------------------------------------------------------------------------------
# Calling the kernel
# --------------------------------------------------------------------------------------

cdef int _run(int dt, int64_t m, int64_t n, int64_t k, double alpha,
              const char* A, int64_t rsA, int64_t csA, const char* B, int64_t rsB, int64_t csB,
              double beta, char* C, int64_t rsC, int64_t csC) except -1:
    """gemm_strided, with the GIL released unless the product is tiny."""
    cdef int rc
    if m * n < NOGIL_MIN_WORK and m * n * k < NOGIL_MIN_WORK:
        rc = gemm_strided(dt, m, n, k, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC)
    else:
        with nogil:
            rc = gemm_strided(dt, m, n, k, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC)
    if rc != 0:
        raise MemoryError("cannot allocate the GEMM packing buffers")
    return 0


cdef int _mm_into(Tensor C, Tensor A, Tensor B, double alpha, double beta) except -1:
    """C = alpha * A @ B + beta * C for 2-D A (m x k), B (k x n), C (m x n), shapes and
    dtypes already checked."""
    return _run(A._dtype.num, C._sizes[0], C._sizes[1], A._sizes[1], alpha,
                data_of(A), A._strides[0], A._strides[1],
                data_of(B), B._strides[0], B._strides[1],
                beta, data_of(C), C._strides[0], C._strides[1])


cdef Tensor _empty(DType dtype, tuple shape):
    cdef int64_t sizes[MAX_DIMS]
    cdef int i, n = len(shape)
    for i in range(n):
        sizes[i] = shape[i]
    return new_tensor(n, sizes, dtype, False)


cdef Tensor _empty2(DType dtype, int64_t m, int64_t n):
    cdef int64_t sizes[2]
    sizes[0] = m
    sizes[1] = n
    return new_tensor(2, sizes, dtype, False)


cdef Tensor _reshaped(Tensor t, tuple shape):
    """A view of the contiguous tensor t with another shape of the same numel."""
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef int i, n = len(shape)
    cdef int64_t s = 1
    for i in range(n - 1, -1, -1):
        sizes[i] = shape[i]
        strides[i] = s
        s *= sizes[i] if sizes[i] > 1 else 1
    return make_tensor(t._storage, n, sizes, strides, t._offset, None)


cdef int _prefill(Tensor out, object addend, double beta) except -1:
    """out = addend broadcast to out's shape (expand's rule and message, as torch), unless
    beta == 0, when the kernel never reads out."""
    if addend is not None and beta != 0:
        copy_into(out, (<Tensor>addend).expand(out.shape))
    return 0


cdef bint _fold_rows(Tensor t, int mdim, int64_t* rs):
    """True when dims 0..mdim of t (batch dims and the row dim) form one run of rows,
    i.e. each outer dim's stride is the next inner one's stride times its size (size-1
    dims ignored); rs gets the stride of the merged rows."""
    cdef int d
    cdef int64_t expected = -1
    rs[0] = 1
    for d in range(mdim, -1, -1):
        if t._sizes[d] == 1:
            continue
        if expected == -1:
            rs[0] = t._strides[d]
        elif t._strides[d] != expected:
            return False
        expected = t._strides[d] * t._sizes[d]
    return True


cdef struct OffsetsCtx:
    char* base[3]
    int64_t itemsize
    int64_t* out                # the next (a, b, c) triple


cdef void _offsets_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef OffsetsCtx* c = <OffsetsCtx*>ctx
    cdef int64_t j
    cdef int op
    for j in range(n):
        for op in range(3):
            c.out[op] = (p[op] + j * s[op] - c.base[op]) // c.itemsize
        c.out += 3


cdef void _batch_offsets(Tensor a, Tensor b, Tensor out, int nbd, int64_t* offsets):
    """offsets[3 i .. 3 i + 2] = the element offsets of a's, b's and out's matrix i, for
    every index i of the batch dims 0..nbd-1 (the strided iterator over them; the
    products are independent, so their order is free)."""
    cdef StridedLoop L
    cdef OffsetsCtx c
    loop_init(&L, 3, nbd, out._sizes)
    loop_set_operand(&L, 0, a._strides, a._dtype.itemsize)
    loop_set_operand(&L, 1, b._strides, a._dtype.itemsize)
    loop_set_operand(&L, 2, out._strides, a._dtype.itemsize)
    loop_prepare(&L)
    c.base[0], c.base[1], c.base[2] = data_of(a), data_of(b), data_of(out)
    c.itemsize, c.out = a._dtype.itemsize, offsets
    loop_run_range(&L, c.base, _offsets_row, &c, 0, loop_numel(&L))


cdef int _matmul_nd(Tensor a, Tensor b, Tensor out, double alpha, double beta) except -1:
    """out[i] = alpha * a[i] @ b[i] + beta * out[i] for every batch index i: a, b and out
    have the same number of dims and batch shape (a and b may be expanded, stride 0).

    One matrix B shared by all batches (stride 0 or a single batch) with a's batch and row
    dims folding into rows makes one big product (M = batch * m), as torch folds; anything
    else runs as a batch of products, in parallel over the batch when they are small."""
    cdef int nd = out._ndim, nbd = nd - 2, d
    cdef int64_t m = out._sizes[nd - 2], n = out._sizes[nd - 1], k = a._sizes[nd - 1]
    cdef int64_t nb = 1, rsA, rsC
    cdef int64_t* offsets
    cdef bint b_shared = True
    cdef int rc, dt = a._dtype.num
    for d in range(nbd):
        nb *= out._sizes[d]
        if out._sizes[d] > 1 and b._strides[d] != 0:
            b_shared = False
    if nb == 0 or m == 0 or n == 0:
        return 0
    if b_shared and _fold_rows(a, nd - 2, &rsA) and _fold_rows(out, nd - 2, &rsC):
        return _run(dt, nb * m, n, k, alpha, data_of(a), rsA, a._strides[nd - 1],
                    data_of(b), b._strides[nd - 2], b._strides[nd - 1],
                    beta, data_of(out), rsC, out._strides[nd - 1])
    offsets = <int64_t*>malloc(3 * nb * sizeof(int64_t))
    if offsets == NULL:
        raise MemoryError()
    _batch_offsets(a, b, out, nbd, offsets)
    with nogil:
        rc = gemm_batched(dt, nb, offsets, m, n, k, alpha,
                          data_of(a), a._strides[nd - 2], a._strides[nd - 1],
                          data_of(b), b._strides[nd - 2], b._strides[nd - 1],
                          beta, data_of(out), out._strides[nd - 2], out._strides[nd - 1])
    free(offsets)
    if rc != 0:
        raise MemoryError("cannot allocate the GEMM packing buffers")
    return 0


cdef tuple _broadcast_batch(tuple sa, tuple sb):
    """Broadcast two batch shapes with PyTorch's message on a mismatch."""
    cdef int n = max(len(sa), len(sb)), i
    out = []
    for i in range(n):
        x = sa[i - n + len(sa)] if i - n + len(sa) >= 0 else 1
        y = sb[i - n + len(sb)] if i - n + len(sb) >= 0 else 1
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return tuple(out)


# --------------------------------------------------------------------------------------
# The products
# --------------------------------------------------------------------------------------

cdef Tensor _mm(Tensor a, Tensor b, object addend, double alpha, double beta):
    """alpha * a @ b (+ beta * addend) for matrices a, b.  Checks in torch's order:
    shapes, dtypes, bool."""
    if a._sizes[1] != b._sizes[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_shape2(a)} and {_shape2(b)})")
    _same_dtype_m1m2(a, b)
    _not_bool(a, "addmm_impl_cpu_", a._sizes[0], b._sizes[1], a._sizes[1])
    cdef Tensor out = _empty2(a._dtype, a._sizes[0], b._sizes[1])
    _prefill(out, addend, beta)
    _mm_into(out, a, b, alpha, beta if addend is not None else 0.0)
    return out


cdef Tensor _mv(Tensor a, Tensor v, object addend, double alpha, double beta):
    """alpha * a @ v (+ beta * addend) for a matrix a and a vector v."""
    cdef int64_t m = a._sizes[0]
    if a._sizes[1] != v._sizes[0]:
        raise RuntimeError(f"size mismatch, got input ({m}), mat ({_shape2(a)}), "
                           f"vec ({v._sizes[0]})")
    _same_dtype_addmv(a, v)
    _not_bool(a, "addmv_impl_cpu", m, 1, a._sizes[1])
    cdef int64_t size = m
    cdef Tensor out = new_tensor(1, &size, a._dtype, False)
    _prefill(out, addend, beta)
    _run(a._dtype.num, m, 1, a._sizes[1], alpha, data_of(a), a._strides[0], a._strides[1],
         data_of(v), v._strides[0], 1, beta if addend is not None else 0.0,
         data_of(out), out._strides[0], 1)
    return out


cdef Tensor _vm(Tensor v, Tensor b, object addend, double alpha, double beta):
    """alpha * v @ b (+ beta * addend) for a vector v and a matrix b: torch's 1-D @ 2-D."""
    cdef int64_t n = b._sizes[1]
    if v._sizes[0] != b._sizes[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"(1x{v._sizes[0]} and {_shape2(b)})")
    _same_dtype_m1m2(v, b)
    _not_bool(v, "addmm_impl_cpu_", 1, n, v._sizes[0])
    cdef Tensor out = new_tensor(1, &n, v._dtype, False)
    _prefill(out, addend, beta)
    _run(v._dtype.num, 1, n, v._sizes[0], alpha, data_of(v), 0, v._strides[0],
         data_of(b), b._strides[0], b._strides[1], beta if addend is not None else 0.0,
         data_of(out), n, out._strides[0])
    return out


cdef Tensor _dot(Tensor a, Tensor b, object addend, double alpha, double beta):
    """alpha * a . b (+ beta * addend, the result taking addend's shape: linear of two
    vectors with a bias)."""
    if a._dtype is not b._dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_SCALAR_NAMES[a._dtype.num]} and {_SCALAR_NAMES[b._dtype.num]}")
    if a._sizes[0] != b._sizes[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a._sizes[0]}] and src "
                           f"[{b._sizes[0]}] to have the same number of elements, but got "
                           f"{a._sizes[0]} and {b._sizes[0]} elements respectively")
    if a._dtype.num == BOOL:
        raise NotImplementedError("\"dot\" not implemented for 'Bool'")
    cdef Tensor out
    if addend is None:
        out = new_tensor(0, NULL, a._dtype, False)
        beta = 0.0
    else:           # every element of the addend-shaped result gets the same dot product
        out = _empty(a._dtype, tuple((<Tensor>addend).shape))
        _prefill(out, addend, beta)
    if out._numel:
        _run(a._dtype.num, out._numel, 1, a._sizes[0], alpha, data_of(a), 0, a._strides[0],
             data_of(b), b._strides[0], 1, beta, data_of(out), 1, 1)
    return out


cdef Tensor _batched(Tensor a, Tensor b, object addend, double alpha, double beta, bint fold_msg):
    """torch.matmul for operands with >= 3 dims (or one of them): batch dims broadcast;
    a 1-D a gets a row dim prepended, a 1-D b a column dim appended, removed afterwards."""
    cdef int da = a._ndim, db = b._ndim
    cdef tuple sa = tuple(a.shape), sb = tuple(b.shape)
    cdef tuple ba = sa[:da - 2] if da >= 2 else ()
    cdef tuple bb = sb[:db - 2] if db >= 2 else ()
    cdef int64_t m = a._sizes[da - 2] if da >= 2 else 1, k = a._sizes[da - 1]
    cdef int64_t k2 = b._sizes[db - 2] if db >= 2 else b._sizes[0]
    cdef int64_t n = b._sizes[db - 1] if db >= 2 else 1, nb
    cdef tuple batch
    if fold_msg:        # torch folds a's batch dims into rows here, and words errors so
        nb = math.prod(ba)
        if db == 1:
            if k != k2:
                raise RuntimeError(f"size mismatch, got input ({nb * m}), mat ({nb * m}x{k}), "
                                   f"vec ({k2})")
            _same_dtype_addmv(a, b)
            _not_bool(a, "addmv_impl_cpu", nb * m, 1, k)
        else:
            if k != k2:
                raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                                   f"({nb * m}x{k} and {k2}x{n})")
            _same_dtype_m1m2(a, b)
            _not_bool(a, "addmm_impl_cpu_", nb * m, n, k)
        batch = ba
    else:
        batch = _broadcast_batch(ba, bb)
        nb = math.prod(batch)
        if k != k2:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{nb}, {k}] but got: [{nb}, {k2}].")
        _check_bmm_dtypes(a, b, nb * m, n, k)
    a3 = (a if da >= 2 else a.unsqueeze(0)).expand(batch + (m, k))
    b3 = (b if db >= 2 else b.unsqueeze(-1)).expand(batch + (k, n))
    cdef Tensor out = _empty(a._dtype, batch + (m, n))
    shape = batch + ((m,) if da >= 2 else ()) + ((n,) if db >= 2 else ())
    cdef Tensor result = _reshaped(out, shape)
    _prefill(result, addend, beta)
    _matmul_nd(a3, b3, out, alpha, beta if addend is not None else 0.0)
    return result


cdef Tensor _matmul(Tensor a, Tensor b, object addend, double alpha, double beta):
    """alpha * torch.matmul(a, b) (+ beta * addend, broadcast to the result)."""
    cdef int da = a._ndim, db = b._ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{da}D and {db}D")
    if da == 2 and db == 2:
        return _mm(a, b, addend, alpha, beta)
    if da == 2 and db == 1:
        return _mv(a, b, addend, alpha, beta)
    if da == 1 and db == 2:
        return _vm(a, b, addend, alpha, beta)
    if da == 1 and db == 1:
        return _dot(a, b, addend, alpha, beta)
    return _batched(a, b, addend, alpha, beta, da >= 3 and db <= 2)


# --------------------------------------------------------------------------------------
# Public functions (also the targets of the Tensor methods)
# --------------------------------------------------------------------------------------

cdef inline bint _ng(object x) noexcept:
    return isinstance(x, Tensor) and needs_grad(<Tensor>x)


cdef inline bint _records(object a, object b, object c=None) noexcept:
    """True when the product must be recorded for autograd (strided.autograd.dispatch)."""
    return grad_mode_enabled() and (_ng(a) or _ng(b) or _ng(c))


def matmul(input, other, *, out=None):
    """Matrix product with PyTorch's rules: 1-D @ 1-D is a dot product (0-d result); a 1-D
    first operand gets a row dim prepended and a 1-D second operand a column dim appended
    (both removed from the result); operands with more dims are batches of matrices whose
    batch dims broadcast.  out=: a tensor of the result's shape and dtype (NOTE [ out=
    arguments ])."""
    if out is not None:
        _check_out_grad(out, "matmul", (input, other))
        return _write_out(out, matmul(input, other), "matmul", (input, other))
    if _records(input, other):
        return autograd_dispatch().matmul(input, other)
    return _matmul(_arg(input, "matmul", "input", 1), _arg(other, "matmul", "other", 2),
                   None, 1.0, 0.0)


def mm(input, mat2, *, out=None):
    """input @ mat2 for matrices (n x m) and (m x p); out=: an (n x p) tensor of their
    dtype, written in place (through a temporary when it shares memory with an operand).

    >>> a = strided.ones(2, 3); o = strided.empty(4, 2).t()[:, ::2]   # a strided view
    >>> strided.mm(a, strided.ones(3, 2), out=o) is o, o.tolist()
    (True, [[3.0, 3.0], [3.0, 3.0]])
    """
    if out is not None:
        return _mm_out(input, mat2, out)
    if _records(input, mat2):
        return autograd_dispatch().mm(input, mat2)
    cdef Tensor a = _arg(input, "mm", "input", 1), b = _arg(mat2, "mm", "mat2", 2)
    if a._ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b._ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return _mm(a, b, None, 1.0, 0.0)


cdef object _mm_out(object input, object mat2, object out):
    """mm(input, mat2, out=out): the product written straight into out (any strides) unless
    out shares memory with an operand, then through a temporary (NOTE [ out= arguments ])."""
    _check_out_grad(out, "mm", (input, mat2))
    cdef Tensor a = _arg(input, "mm", "input", 1), b = _arg(mat2, "mm", "mat2", 2)
    if not isinstance(out, Tensor):
        raise TypeError(f"mm(): argument 'out' must be Tensor, not {type(out).__name__}")
    cdef Tensor o = <Tensor>out
    if a._ndim != 2 or b._ndim != 2 or _memory_overlaps(o, a) or _memory_overlaps(o, b):
        return _write_out(o, mm(a, b), "mm", (a, b))
    if a._sizes[1] != b._sizes[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_shape2(a)} and {_shape2(b)})")
    _same_dtype_m1m2(a, b)
    _not_bool(a, "addmm_impl_cpu_", a._sizes[0], b._sizes[1], a._sizes[1])
    cdef int64_t shape[2]
    shape[0] = a._sizes[0]
    shape[1] = b._sizes[1]
    check_out(o, 2, shape, a._dtype.num, "mm", "same")
    _mm_into(o, a, b, 1.0, 0.0)
    mark_written(o)
    return o


def bmm(input, mat2, *, out=None):
    """Batched input[i] @ mat2[i] for 3-D tensors (b x n x m) and (b x m x p), no
    broadcasting; out=: a (b x n x p) tensor of their dtype."""
    if out is not None:
        _check_out_grad(out, "bmm", (input, mat2))
        return _write_out(out, bmm(input, mat2), "bmm", (input, mat2))
    if _records(input, mat2):
        return autograd_dispatch().bmm(input, mat2)
    cdef Tensor a = _arg(input, "bmm", "input", 1), b = _arg(mat2, "bmm", "mat2", 2)
    if a._ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b._ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if b._sizes[0] != a._sizes[0] or b._sizes[1] != a._sizes[2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a._sizes[0]}, {a._sizes[2]}] but got: [{b._sizes[0]}, {b._sizes[1]}].")
    _check_bmm_dtypes(a, b, a._sizes[0] * a._sizes[1], b._sizes[2], a._sizes[2])
    cdef Tensor r = _empty(a._dtype, (a._sizes[0], a._sizes[1], b._sizes[2]))
    _matmul_nd(a, b, r, 1.0, 0.0)
    return r


def mv(input, vec, *, out=None):
    """input @ vec for a matrix (n x m) and a vector (m); out=: an (n) tensor of their dtype."""
    if out is not None:
        _check_out_grad(out, "mv", (input, vec))
        return _write_out(out, mv(input, vec), "mv", (input, vec))
    if _records(input, vec):
        return autograd_dispatch().matmul(input, vec)
    cdef Tensor a = _arg(input, "mv", "input", 1), v = _arg(vec, "mv", "vec", 2)
    if a._ndim != 2 or v._ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a._ndim}, {v._ndim}")
    return _mv(a, v, None, 1.0, 0.0)


def dot(input, tensor, *, out=None):
    """The dot product of two 1-D tensors of the same size and dtype (a 0-d tensor); out=:
    a 0-d tensor of their dtype."""
    if out is not None:
        _check_out_grad(out, "dot", (input, tensor))
        r = dot(input, tensor)
        if isinstance(out, Tensor) and (<Tensor>out)._dtype is not (<Tensor>r)._dtype:
            raise RuntimeError(f"result dtype {_SCALAR_NAMES[(<Tensor>out)._dtype.num]} does "
                               f"not match input dtype {_SCALAR_NAMES[(<Tensor>r)._dtype.num]}")
        return _write_out(out, r, "dot", (input, tensor))
    if _records(input, tensor):
        return autograd_dispatch().matmul(input, tensor)
    cdef Tensor a = _arg(input, "dot", "input", 1), b = _arg(tensor, "dot", "tensor", 2)
    if a._ndim != 1 or b._ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._ndim}D and {b._ndim}D tensors")
    return _dot(a, b, None, 1.0, 0.0)


def outer(input, vec2, *, out=None):
    """out[i, j] = input[i] * vec2[j]; the dtypes promote (torch computes outer as an
    element-wise product), bool stays bool.  out=: any dtype the result casts to, as for
    element-wise ops."""
    if out is not None:
        _check_out_grad(out, "outer", (input, vec2))
        return _write_out(out, outer(input, vec2), "outer", (input, vec2), "cast")
    if _records(input, vec2):
        return autograd_dispatch().outer(input, vec2)
    cdef Tensor a = _arg(input, "outer", "input", 1), b = _arg(vec2, "outer", "vec2", 2)
    if a._ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {a._ndim}-D")
    if b._ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {b._ndim}-D")
    cdef DType dt = a._dtype if a._dtype.num >= b._dtype.num else b._dtype
    if a._dtype is not dt:
        a = a.to(dt)
    if b._dtype is not dt:
        b = b.to(dt)
    cdef Tensor r = _empty2(dt, a._sizes[0], b._sizes[0])
    # a k = 1 product: alpha = 1, beta = 0 make every element exactly a[i] * b[j]; bool
    # runs as uint8 (0/1 products are 0/1)
    _run(dt.num, a._sizes[0], b._sizes[0], 1, 1.0, data_of(a), a._strides[0], 0,
         data_of(b), 0, b._strides[0], 0.0, data_of(r), r._strides[0], 1)
    return r


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat1 @ mat2); input broadcasts to the result.  beta = 0
    ignores input (NaN in it does not propagate); alpha = 0 ignores the product.  out=: a
    tensor of the result's shape and dtype."""
    if out is not None:
        _check_out_grad(out, "addmm", (input, mat1, mat2))
        return _write_out(out, addmm(input, mat1, mat2, beta=beta, alpha=alpha), "addmm",
                          (input, mat1, mat2))
    if _records(input, mat1, mat2):
        return autograd_dispatch().addmm(input, mat1, mat2, beta, alpha)
    cdef Tensor c = _arg(input, "addmm", "input", 1)
    cdef Tensor a = _arg(mat1, "addmm", "mat1", 2), b = _arg(mat2, "addmm", "mat2", 3)
    cdef double al, be
    if a._ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {a._ndim}-D tensor")
    if b._ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {b._ndim}-D tensor")
    _addmm_dtypes(c, a, b)
    _scalars(a._dtype, alpha, beta, &al, &be)
    return _mm(a, b, c, al, be)


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias for weight (out_features x in_features) -- the transpose
    is a view the kernel packs through, never a copy; input may have any leading dims."""
    if _records(input, weight, bias):
        return autograd_dispatch().linear(input, weight, bias)
    cdef Tensor x = _arg(input, "linear", "input", 1), w = _arg(weight, "linear", "weight", 2)
    if bias is not None:
        _arg(bias, "linear", "bias", 3)
    if x._ndim == 0 or w._ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{x._ndim}D and {w._ndim}D")
    if w._ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {w._ndim}D")
    cdef Tensor wt = w.t(), bt
    cdef int64_t M, K, N
    if bias is None:
        return _matmul(x, wt, None, 1.0, 0.0)
    bt = <Tensor>bias
    # torch 2.13 runs a biased linear as addmm(bias, input folded to 2-D, weight.t()) for
    # 1-D and 2-D inputs and contiguous 3-D ones (any contiguous one with a 1-D bias),
    # and as matmul + add_ otherwise; the two fail differently, so check as it does.
    folds = x._ndim <= 2 or (x._contiguous and (x._ndim == 3 or bt._ndim == 1))
    if folds and w._ndim == 1 and x._ndim >= 2:
        raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
    if folds and w._ndim == 2:
        K = x._sizes[x._ndim - 1]
        N = w._sizes[0]
        M = x._numel // K if K else math.prod(x.shape[:x._ndim - 1])
        _addmm_dtypes(bt, x, wt)
        if K != w._sizes[1]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({M}x{K} and {w._sizes[1]}x{N})")
        bt.expand(M, N)                 # torch's message when the bias does not broadcast
        _not_bool(x, "addmm_impl_cpu_", M, N, K)
    elif bt._dtype is not w._dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{_SCALAR_NAMES[bt._dtype.num]} and {_SCALAR_NAMES[w._dtype.num]}")
    return _matmul(x, wt, bt, 1.0, 1.0)


def gemm(A, B, C=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """C = alpha * op(A) @ op(B) + beta * C, op(X) = X.T when trans_x, in the BLAS sense.

    C, when given, is written in place (it may be any strided view without self-overlap)
    and returned; without C a new tensor is returned (beta is then irrelevant).  A C
    sharing memory with A or B is computed through a temporary.  beta = 0 never reads C."""
    if _records(A, B, C):
        return autograd_dispatch().gemm(A, B, C, trans_a, trans_b, alpha, beta)
    cdef Tensor a = _arg(A, "gemm", "A", 1), b = _arg(B, "gemm", "B", 2), c, tmp
    cdef double al, be
    if a._ndim != 2:
        raise RuntimeError(f"gemm: A must be a matrix, got {a._ndim}-D tensor")
    if b._ndim != 2:
        raise RuntimeError(f"gemm: B must be a matrix, got {b._ndim}-D tensor")
    if trans_a:
        a = a.t()
    if trans_b:
        b = b.t()
    if a._sizes[1] != b._sizes[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_shape2(a)} and {_shape2(b)})")
    _same_dtype_m1m2(a, b)
    if a._dtype.num == BOOL:
        raise NotImplementedError("gemm is not implemented for 'Bool'")
    _scalars(a._dtype, alpha, beta, &al, &be)
    if C is None:
        c = _empty2(a._dtype, a._sizes[0], b._sizes[1])
        _mm_into(c, a, b, al, 0.0)
        return c
    c = _arg(C, "gemm", "C", 3)
    if c._ndim != 2 or c._sizes[0] != a._sizes[0] or c._sizes[1] != b._sizes[1]:
        raise RuntimeError(f"gemm: C has shape {list(c.shape)}, but op(A) @ op(B) has shape "
                           f"[{a._sizes[0]}, {b._sizes[1]}]")
    if c._dtype is not a._dtype:
        raise RuntimeError(f"gemm: C has dtype {c._dtype.name}, but A and B have {a._dtype.name}")
    _write_product(c, a, b, al, be)
    return c


def gemv(A, x, y=None, *, trans=False, alpha=1.0, beta=0.0):
    """y = alpha * op(A) @ x + beta * y, op(A) = A.T when trans; y written in place when
    given (any strided 1-D view), else a new tensor."""
    if _records(A, x, y):
        return autograd_dispatch().gemv(A, x, y, trans, alpha, beta)
    cdef Tensor a = _arg(A, "gemv", "A", 1), v = _arg(x, "gemv", "x", 2), c
    cdef double al, be
    if a._ndim != 2:
        raise RuntimeError(f"gemv: A must be a matrix, got {a._ndim}-D tensor")
    if v._ndim != 1:
        raise RuntimeError(f"gemv: x must be a vector, got {v._ndim}-D tensor")
    if trans:
        a = a.t()
    if a._dtype is not v._dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_SCALAR_NAMES[a._dtype.num]} and {_SCALAR_NAMES[v._dtype.num]}")
    if a._sizes[1] != v._sizes[0]:
        raise RuntimeError(f"size mismatch, got mat ({_shape2(a)}), vec ({v._sizes[0]})")
    if a._dtype.num == BOOL:
        raise NotImplementedError("gemv is not implemented for 'Bool'")
    _scalars(a._dtype, alpha, beta, &al, &be)
    if y is None:
        return _mv(a, v, None, al, 0.0)
    c = _arg(y, "gemv", "y", 3)
    if c._ndim != 1 or c._sizes[0] != a._sizes[0]:
        raise RuntimeError(f"gemv: y has shape {list(c.shape)}, but op(A) @ x has shape "
                           f"[{a._sizes[0]}]")
    if c._dtype is not a._dtype:
        raise RuntimeError(f"gemv: y has dtype {c._dtype.name}, but A and x have {a._dtype.name}")
    _write_product(c.unsqueeze(1), a, v.unsqueeze(1), al, be)
    return c


cdef int _write_product(Tensor c, Tensor a, Tensor b, double alpha, double beta) except -1:
    """c = alpha * a @ b + beta * c in place, for a user's 2-D c (NOTE [ Writes into
    overlapping tensors ], NOTE [ Read-only storage ]): refused when c overlaps itself or
    is read-only; through a temporary when it shares memory with a or b."""
    cdef Tensor tmp
    check_writable(c)
    if _memory_overlaps(c, a) or _memory_overlaps(c, b):
        tmp = _empty2(c._dtype, c._sizes[0], c._sizes[1])
        if beta != 0:
            copy_into(tmp, c)
        _mm_into(tmp, a, b, alpha, beta)
        copy_into(c, tmp)
    else:
        _mm_into(c, a, b, alpha, beta)
        mark_written(c)
    return 0
