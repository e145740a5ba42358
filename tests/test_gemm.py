"""The GEMM kernel and the matrix products built on it, checked against NumPy.

Every product is compared with NumPy over shapes that hit each path of the kernel (empty,
1, primes, tall, wide, k = 0 and 1, block edges), every trans_a / trans_b combination and
operand layouts the kernel must read without copying (transposed, stepped, negative and
zero strides, offsets), for both micro-kernels (the AVX2+FMA one and the plain-C
reference), with 1 and 2 threads.

Every test runs once per GEMM kernel table this CPU can run (the `kernel_table` fixture,
NOTE [ GEMM kernel tables ]): reference (plain C), avx2, avx512 and avx512_on_avx2 (the
AVX-512 tile and code built on AVX2 registers, so any AVX2 machine tests the 512-bit
logic).
"""
import itertools

import numpy as np
import pytest

import strided
import strided.nn.functional as F
from strided._C.kernels import gemm as _gemm

TABLES = _gemm._kernel_tables()
FLOATS = ("float32", "float64")
INTS = ("uint8", "int32", "int64")
EPS = {"float32": np.finfo(np.float32).eps, "float64": np.finfo(np.float64).eps}


@pytest.fixture(autouse=True, params=TABLES)
def kernel_table(request):
    """Every test of this module on every kernel table."""
    old = _gemm._kernel_name()
    _gemm._set_kernel(request.param)
    yield request.param
    _gemm._set_kernel(old)


@pytest.fixture
def kernel(kernel_table):
    return kernel_table


@pytest.fixture
def threads():
    old = strided.get_num_threads()
    yield strided.set_num_threads
    strided.set_num_threads(old)


@pytest.fixture
def small_blocks():
    """Tiny MC/KC/NC so that small matrices cross every block edge of the five loops."""
    old = {"float32": _gemm._set_block_sizes("float32", (12, 5, 32)),
           "float64": _gemm._set_block_sizes("float64", (12, 7, 16))}
    yield
    for dt, sizes in old.items():
        _gemm._set_block_sizes(dt, sizes)


def rand(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype in FLOATS:
        return rng.uniform(-1, 1, size=shape).astype(dtype)
    hi = 4 if dtype == "uint8" else 6
    lo = 0 if dtype == "uint8" else -6
    return rng.integers(lo, hi, size=shape).astype(dtype)


LAYOUTS = ("contiguous", "transposed", "stepped", "negative", "neg_transposed", "offset",
           "expanded_rows", "expanded_cols")


def make(values, layout):
    """A strided tensor with the values of the 2-D array `values` and the given layout.
    The expanded layouts replace values by a broadcast of its first row / column (the
    returned array says what the tensor holds)."""
    m, k = values.shape
    if layout == "contiguous":
        return strided.from_numpy(values.copy()), values
    if layout == "transposed":          # column-major: strides (1, m)
        return strided.from_numpy(np.ascontiguousarray(values.T)).t(), values
    if layout == "stepped":
        big = np.zeros((2 * m + 1, 3 * k + 2), values.dtype)
        big[1::2, 2::3] = values
        return strided.from_numpy(big)[1::2, 2::3], values
    if layout == "negative":
        return strided.from_numpy(values[::-1, ::-1].copy()).flip(0, 1), values
    if layout == "neg_transposed":
        t = strided.from_numpy(np.ascontiguousarray(values.T[::-1])).flip(0).t()
        return t, values
    if layout == "offset":
        buf = np.zeros(m * k + 7, values.dtype)
        buf[7:] = values.ravel()
        return strided.from_numpy(buf)[7:].view(m, k), values
    if layout == "expanded_rows":       # stride 0 along rows
        row = values[:1].copy()
        return strided.from_numpy(row).expand(m, k), np.broadcast_to(row, (m, k))
    if layout == "expanded_cols":       # stride 0 along columns
        col = values[:, :1].copy()
        return strided.from_numpy(col).expand(m, k), np.broadcast_to(col, (m, k))
    raise ValueError(layout)


def ref_product(a, b, dtype):
    """a @ b exactly enough: float64 for floats, wrap-around integers for int dtypes."""
    if dtype in FLOATS:
        return a.astype(np.float64) @ b.astype(np.float64)
    prod = a.astype(object) @ b.astype(object) if a.size and b.size else \
        np.zeros((a.shape[0], b.shape[1]), object)
    return wrap(prod, dtype)


def wrap(x, dtype):
    bits = np.dtype(dtype).itemsize * 8
    x = np.asarray(x, dtype=object) % (1 << bits)
    if np.dtype(dtype).kind == "i":
        x = np.where(x >= (1 << (bits - 1)), x - (1 << bits), x)
    return x.astype(dtype)


def check(got, want, dtype, k, scale=1.0):
    got = np.asarray(got)
    assert got.shape == want.shape
    if dtype in FLOATS:
        tol = 4 * EPS[dtype] * max(k, 1) * scale + EPS[dtype]
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=0, atol=tol)
    else:
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, want)


SHAPES = [  # (m, n, k)
    (0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0),
    (1, 1, 1), (1, 7, 1), (7, 1, 5), (1, 1, 9), (1, 9, 4), (5, 7, 1),
    (2, 3, 4), (6, 16, 8), (6, 8, 3), (13, 17, 19), (31, 37, 41),
    (97, 5, 11), (5, 97, 11), (7, 6, 300), (150, 20, 9), (12, 260, 7),
]


# --------------------------------------------------------------------------------------
# gemm: shapes x transposes x dtypes x kernels
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_gemm_shapes(kernel, dtype, m, n, k):
    a, b = rand((m, k), dtype, 1), rand((k, n), dtype, 2)
    for trans_a, trans_b in itertools.product((False, True), repeat=2):
        A = strided.from_numpy(np.ascontiguousarray(a.T) if trans_a else a)
        B = strided.from_numpy(np.ascontiguousarray(b.T) if trans_b else b)
        C = strided.gemm(A, B, trans_a=trans_a, trans_b=trans_b)
        assert C.shape == (m, n) and C.dtype == A.dtype
        check(C, ref_product(a, b, dtype), dtype, k)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k", [(7, 9, 11), (25, 40, 17), (13, 70, 16), (40, 33, 23)])
def test_gemm_block_edges(kernel, small_blocks, dtype, m, n, k):
    """Block sizes far below the matrices: several MC, KC and NC blocks, ragged ends."""
    a, b = rand((m, k), dtype, 3), rand((k, n), dtype, 4)
    c0 = rand((m, n), dtype, 5)
    for trans_a, trans_b in itertools.product((False, True), repeat=2):
        A = strided.from_numpy(np.ascontiguousarray(a.T) if trans_a else a)
        B = strided.from_numpy(np.ascontiguousarray(b.T) if trans_b else b)
        C = strided.from_numpy(c0.copy())
        strided.gemm(A, B, C, trans_a=trans_a, trans_b=trans_b, alpha=0.5, beta=-2.0)
        check(C, 0.5 * ref_product(a, b, dtype) - 2.0 * c0, dtype, k, scale=2)


@pytest.mark.parametrize("dtype", FLOATS + ("int32",))
@pytest.mark.parametrize("layout_a", LAYOUTS)
@pytest.mark.parametrize("layout_b", LAYOUTS)
def test_gemm_layouts(kernel, dtype, layout_a, layout_b):
    """Operands read in place through any strides: no contiguous copy needed."""
    m, n, k = 23, 29, 19
    A, a = make(rand((m, k), dtype, 6), layout_a)
    B, b = make(rand((k, n), dtype, 7), layout_b)
    check(strided.gemm(A, B), ref_product(np.asarray(a), np.asarray(b), dtype), dtype, k)
    check(strided.mm(A, B), ref_product(np.asarray(a), np.asarray(b), dtype), dtype, k)


@pytest.mark.parametrize("dtype", FLOATS)
def test_gemm_layouts_packed_path(kernel, dtype):
    """Layouts through the packed five-loop path with several blocks."""
    m, n, k = 70, 90, 300
    for layout_a, layout_b in [("transposed", "negative"), ("stepped", "transposed"),
                               ("neg_transposed", "expanded_rows"),
                               ("expanded_cols", "stepped")]:
        A, a = make(rand((m, k), dtype, 8), layout_a)
        B, b = make(rand((k, n), dtype, 9), layout_b)
        check(strided.gemm(A, B), ref_product(np.asarray(a), np.asarray(b), dtype), dtype, k)


# --------------------------------------------------------------------------------------
# C: strided views, alpha / beta, overlap
# --------------------------------------------------------------------------------------

C_VIEWS = ("contiguous", "transposed", "stepped", "negative", "row_reversed")


def c_view(m, n, dtype, kind, fill):
    """(C, storage array, mask of the storage elements C covers) for a C view of m x n."""
    if kind == "contiguous":
        buf = np.full((m + 2, n + 3), fill, dtype)
        return strided.from_numpy(buf)[1:m + 1, 2:n + 2], buf, (slice(1, m + 1), slice(2, n + 2))
    if kind == "transposed":
        buf = np.full((n + 1, m + 1), fill, dtype)
        return strided.from_numpy(buf)[1:, 1:].t(), buf, (slice(1, None), slice(1, None))
    if kind == "stepped":
        buf = np.full((3 * m + 1, 2 * n + 1), fill, dtype)
        return (strided.from_numpy(buf)[1::3, ::2][:m, :n], buf,
                (slice(1, 3 * m + 1, 3), slice(0, 2 * n, 2)))
    if kind == "negative":
        buf = np.full((m, n + 1), fill, dtype)
        return strided.from_numpy(buf)[:, :n].flip(0, 1), buf, (slice(None), slice(0, n))
    if kind == "row_reversed":
        buf = np.full((m + 1, n), fill, dtype)
        return strided.from_numpy(buf)[1:].flip(0), buf, (slice(1, None), slice(None))
    raise ValueError(kind)


def c_values(buf, mask, kind):
    v = buf[mask]
    if kind == "transposed":
        return v.T
    if kind == "negative":
        return v[::-1, ::-1]
    if kind == "row_reversed":
        return v[::-1]
    return v


@pytest.mark.parametrize("dtype", FLOATS + ("int64",))
@pytest.mark.parametrize("kind", C_VIEWS)
@pytest.mark.parametrize("m,n,k", [(1, 1, 3), (5, 1, 4), (1, 6, 4), (3, 4, 2), (19, 23, 17),
                                   (40, 50, 30)])
def test_gemm_into_strided_c(kernel, dtype, kind, m, n, k):
    a, b = rand((m, k), dtype, 10), rand((k, n), dtype, 11)
    c0 = rand((m, n), dtype, 12)
    sentinel = 7
    C, buf, mask = c_view(m, n, dtype, kind, sentinel)
    C.copy_(strided.from_numpy(c0))
    alpha, beta = (2, 3) if dtype == "int64" else (0.75, -1.5)
    out = strided.gemm(strided.from_numpy(a), strided.from_numpy(b), C, alpha=alpha, beta=beta)
    assert out is C
    want = ref_product(a, b, dtype) * alpha + beta * c0.astype(np.float64 if dtype in FLOATS else dtype)
    check(c_values(buf, mask, kind), want.astype(np.float64) if dtype in FLOATS else want,
          dtype, k, scale=2)
    untouched = np.ones(buf.shape, bool)
    untouched[mask] = False
    assert (buf[untouched] == sentinel).all()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k", [(1, 1, 4), (4, 1, 5), (1, 4, 5), (2, 2, 2), (30, 40, 50)])
def test_beta_zero_ignores_nan_in_c(kernel, dtype, m, n, k):
    a, b = rand((m, k), dtype, 13), rand((k, n), dtype, 14)
    C = strided.from_numpy(np.full((m, n), np.nan, dtype))
    strided.gemm(strided.from_numpy(a), strided.from_numpy(b), C, beta=0.0)
    check(C, ref_product(a, b, dtype), dtype, k)


@pytest.mark.parametrize("dtype", FLOATS + ("int32",))
@pytest.mark.parametrize("m,n,k", [(1, 1, 4), (4, 1, 5), (2, 3, 2), (30, 40, 50)])
def test_alpha_zero_ignores_a_and_b(dtype, m, n, k):
    a = np.full((m, k), np.nan if dtype in FLOATS else 1, dtype)
    b = rand((k, n), dtype, 15)
    c0 = rand((m, n), dtype, 16)
    C = strided.from_numpy(c0.copy())
    strided.gemm(strided.from_numpy(a), strided.from_numpy(b), C, alpha=0, beta=2)
    np.testing.assert_array_equal(C.numpy(), (2 * c0).astype(dtype))


@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_k_zero_scales_c(dtype):
    c0 = rand((3, 4), dtype, 17)
    C = strided.from_numpy(c0.copy())
    strided.gemm(strided.zeros(3, 0, dtype=getattr(strided, dtype)),
                 strided.zeros(0, 4, dtype=getattr(strided, dtype)), C, beta=3)
    np.testing.assert_array_equal(C.numpy(), (3 * c0).astype(dtype))
    strided.gemm(strided.zeros(3, 0, dtype=getattr(strided, dtype)),
                 strided.zeros(0, 4, dtype=getattr(strided, dtype)), C, beta=0)
    np.testing.assert_array_equal(C.numpy(), np.zeros((3, 4), dtype))
    out = strided.matmul(strided.ones(3, 0, dtype=getattr(strided, dtype)),
                         strided.ones(0, 4, dtype=getattr(strided, dtype)))
    np.testing.assert_array_equal(out.numpy(), np.zeros((3, 4), dtype))


def test_gemm_c_overlapping_inputs():
    """C sharing memory with A or B is computed through a temporary."""
    a = rand((20, 20), "float64", 18)
    b = rand((20, 20), "float64", 19)
    A = strided.from_numpy(a.copy())
    strided.gemm(A, strided.from_numpy(b), A, beta=1.0)
    check(A, a @ b + a, "float64", 20, scale=2)
    B = strided.from_numpy(b.copy())
    strided.gemm(strided.from_numpy(a), B, B.t(), alpha=2.0)     # C = B^T, overlaps B
    check(B.t(), 2 * a @ b, "float64", 20, scale=2)
    # a C that overlaps A only partially: a row block of the same storage
    buf = rand((30, 10), "float32", 20)
    T = strided.from_numpy(buf.copy())
    strided.gemm(T[:10], T[5:15], T[10:20], beta=0.0)    # writes rows 10..19, reads 0..14
    check(T[10:20], buf[:10].astype(np.float64) @ buf[5:15], "float32", 10)


def test_gemm_refuses_self_overlapping_c():
    A, B = strided.ones(3, 2), strided.ones(2, 4)
    C = strided.zeros(1, 4).expand(3, 4)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        strided.gemm(A, B, C)
    C = strided.zeros(3, 1).expand(3, 4)
    with pytest.raises(RuntimeError, match="Please clone"):
        strided.gemm(A, B, C, beta=1)


def test_gemm_bumps_version():
    C = strided.zeros(2, 2)
    v = C._version
    strided.gemm(strided.ones(2, 2), strided.ones(2, 2), C)
    assert C._version > v


# --------------------------------------------------------------------------------------
# Integer dtypes: exact, wrap-around like torch
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", INTS)
def test_int_wraps_around(dtype):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(21)
    a = rng.integers(info.min, info.max, size=(9, 13), endpoint=True).astype(dtype)
    b = rng.integers(info.min, info.max, size=(13, 11), endpoint=True).astype(dtype)
    c0 = rng.integers(info.min, info.max, size=(9, 11), endpoint=True).astype(dtype)
    C = strided.from_numpy(c0.copy())
    strided.gemm(strided.from_numpy(a), strided.from_numpy(b), C, alpha=3, beta=-1)
    want = wrap(3 * (a.astype(object) @ b.astype(object)) - c0.astype(object), dtype)
    np.testing.assert_array_equal(C.numpy(), want)


def test_int_alpha_beta_truncate_like_torch():
    I = strided.ones(2, 2, dtype=strided.int64)
    out = strided.addmm(strided.full((2,), 3, dtype=strided.int64), I, I, beta=0.5, alpha=2.7)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 2), 4))     # 0*3 + 2*2
    with pytest.raises(RuntimeError, match="without overflow"):
        strided.addmm(I, I, I, beta=float("nan"))
    with pytest.raises(RuntimeError, match="without overflow"):
        strided.addmm(I.int(), I.int(), I.int(), beta=2**40)


# --------------------------------------------------------------------------------------
# Threads and kernels agree
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k", [(200, 190, 180), (13, 700, 150), (600, 9, 150),
                                   (257, 255, 64), (1, 3000, 400), (3000, 1, 400)])
def test_threads_give_identical_results(threads, dtype, m, n, k):
    if not strided._C.core.threads.has_openmp():
        pytest.skip("built without OpenMP")
    A = strided.from_numpy(rand((m, k), dtype, 22))
    At = strided.from_numpy(rand((k, m), dtype, 22)).t()        # column-major A
    B = strided.from_numpy(rand((n, k), dtype, 23)).t()
    results = []
    for nt in (1, 2):
        threads(nt)
        results.append((strided.mm(A, B).numpy(), strided.mm(At, B).numpy(),
                        strided.mm(At, B.contiguous()).numpy(),
                        strided.matmul(A.unsqueeze(0).expand(3, m, k), B).numpy()))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("dtype", FLOATS + ("int64",))
def test_threads_batched_identical(threads, dtype):
    if not strided._C.core.threads.has_openmp():
        pytest.skip("built without OpenMP")
    A = strided.from_numpy(rand((64, 9, 31), dtype, 24))
    B = strided.from_numpy(rand((64, 31, 17), dtype, 25))
    out = []
    for nt in (1, 2):
        threads(nt)
        out.append(strided.bmm(A, B).numpy())
    np.testing.assert_array_equal(out[0], out[1])


def table_products(a, b, c0, alpha, beta, tables):
    """{table: alpha * a @ b + beta * c0} on each kernel table (the packed path: a
    transposed A and B are never read in place)."""
    out = {}
    old = _gemm._kernel_name()
    try:
        for name in tables:
            _gemm._set_kernel(name)
            A = strided.from_numpy(np.ascontiguousarray(a.T)).t()
            B = strided.from_numpy(np.ascontiguousarray(b.T)).t()
            C = strided.from_numpy(c0.copy())
            strided.gemm(A, B, C, alpha=alpha, beta=beta)
            out[name] = C.numpy()
    finally:
        _gemm._set_kernel(old)
    return out


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k", [(67, 71, 83), (13, 100, 300), (150, 33, 7), (1, 2, 3)])
def test_kernel_tables_agree(kernel_table, dtype, m, n, k):
    """Every table against NumPy and against the portable one to rounding (FMA contraction
    and K blocks may differ); the avx512 code built on AVX2 registers gives the avx512
    table's bits (the same FMAs in the same order), and for k <= KC (one K block) so does
    the avx2 table (NOTE [ Wide micro-kernels ])."""
    a, b, c0 = rand((m, k), dtype, 26), rand((k, n), dtype, 27), rand((m, n), dtype, 28)
    got = table_products(a, b, c0, 0.5, -2.0, TABLES)
    want = 0.5 * (a.astype(np.float64) @ b) - 2.0 * c0
    for name, c in got.items():
        check(c, want, dtype, k, 4)
        check(c, got["reference"].astype(np.float64), dtype, k, 8)
    if "avx512_on_avx2" in got and "avx512" in got:
        np.testing.assert_array_equal(got["avx512"], got["avx512_on_avx2"])
    if "avx512_on_avx2" in got and "avx2" in got:
        np.testing.assert_array_equal(got["avx2"], got["avx512_on_avx2"])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout_a", ["contiguous", "transposed", "negative", "expanded_cols"])
@pytest.mark.parametrize("layout_b", ["contiguous", "transposed", "negative", "expanded_rows",
                                      "stepped"])
@pytest.mark.parametrize("m,n,k", [(1, 2, 3), (7, 9, 5), (6, 16, 8), (13, 31, 40), (50, 21, 256)])
def test_small_path_matches_packed(dtype, layout_a, layout_b, m, n, k):
    """Small products read A and B in place (no packing); for k <= KC they do the packed
    path's FMAs in the same order, so the results are bit for bit the same."""
    A, a = make(rand((m, k), dtype, 60), layout_a)
    B, b = make(rand((k, n), dtype, 61), layout_b)
    c0 = rand((m, n), dtype, 62)
    got = []
    for small in (1 << 40, 0):
        old = _gemm._set_small_work(small)
        try:
            C = strided.from_numpy(c0.copy())
            strided.gemm(A, B, C, alpha=0.5, beta=2.0)
            got.append(C.numpy())
        finally:
            _gemm._set_small_work(old)
    np.testing.assert_array_equal(got[0], got[1])
    check(got[0], 0.5 * ref_product(np.asarray(a), np.asarray(b), dtype) + 2.0 * c0, dtype, k, 4)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,k", [(12, 8), (24, 13), (37, 300), (60, 3), (97, 385), (11, 9)])
@pytest.mark.parametrize("pitch", [0, 5])
def test_packed_a_layouts_identical(dtype, m, k, pitch):
    """A row-major A (its own transposing packer, 8 or 4 columns at a time, then the
    columns past a multiple of 8 or 4 and the partial sliver) packs into exactly what a
    column-major A does, so the packed path's results are the same bits; with KC small,
    K blocks start at columns that are not multiples of 8."""
    a = rand((m, k), dtype, 63)
    b = rand((k, 40), dtype, 64)
    rows = np.zeros((m, k + pitch), dtype)
    rows[:, :k] = a
    A_rows = strided.from_numpy(rows)[:, :k]
    A_cols = strided.from_numpy(np.ascontiguousarray(a.T)).t()
    assert A_rows.stride() == (k + pitch, 1) and A_cols.stride() == (1, m)
    old = _gemm._set_small_work(0)
    old_blocks = _gemm._block_sizes(dtype)
    try:
        for kc in (old_blocks[1], 11):
            _gemm._set_block_sizes(dtype, (old_blocks[0], kc, old_blocks[2]))
            got = [strided.mm(A, strided.from_numpy(b)).numpy() for A in (A_rows, A_cols)]
            np.testing.assert_array_equal(got[0], got[1])
            check(got[0], ref_product(a, b, dtype), dtype, k)
    finally:
        _gemm._set_small_work(old)
        _gemm._set_block_sizes(dtype, old_blocks)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k", [(150, 90, 70), (20, 400, 60), (301, 33, 80)])
def test_thread_grids_identical(threads, dtype, m, n, k):
    """Whichever way the threads split C (rows, columns), every element gets the same
    arithmetic."""
    if not strided._C.core.threads.has_openmp():
        pytest.skip("built without OpenMP")
    A = strided.from_numpy(rand((m, k), dtype, 63))
    B = strided.from_numpy(rand((k, n), dtype, 64))
    threads(1)
    want = strided.mm(A, B).numpy()
    threads(2)
    try:
        for rows in (0, 1, 2):
            _gemm._force_thread_rows(rows)
            np.testing.assert_array_equal(strided.mm(A, B).numpy(), want)
    finally:
        _gemm._force_thread_rows(0)


# --------------------------------------------------------------------------------------
# matmul: every rank combination, broadcasting batch dims
# --------------------------------------------------------------------------------------

RANK_SHAPES = {
    1: [(5,)],
    2: [(4, 5), (1, 5)],
    3: [(3, 4, 5), (1, 4, 5)],
    4: [(2, 3, 4, 5), (2, 1, 4, 5)],
}


def rhs_shape(lhs, rank_b, k=5, n=6):
    """A second-operand shape of rank_b whose k matches lhs (batch dims broadcastable)."""
    if rank_b == 1:
        return (k,)
    batch = lhs[:-2] if len(lhs) > 2 else ()
    batch = tuple(1 if i % 2 else s for i, s in enumerate(batch))       # some 1s broadcast
    need = rank_b - 2
    batch = ((3,) * max(0, need - len(batch)) + batch)[-need:] if need else ()
    return batch + (k, n)


@pytest.mark.parametrize("dtype", ("float32", "float64", "int32"))
@pytest.mark.parametrize("rank_a", [1, 2, 3, 4])
@pytest.mark.parametrize("rank_b", [1, 2, 3, 4])
def test_matmul_ranks(dtype, rank_a, rank_b):
    for sa in RANK_SHAPES[rank_a]:
        sb = rhs_shape(sa, rank_b)
        a, b = rand(sa, dtype, 28), rand(sb, dtype, 29)
        want = np.matmul(a.astype(np.float64), b.astype(np.float64)) if dtype in FLOATS else \
            np.matmul(a, b)
        for swap in (False, True):
            A, B = strided.from_numpy(a), strided.from_numpy(b)
            got = strided.matmul(A, B) if not swap else A @ B
            assert got.shape == want.shape, (sa, sb)
            check(got.numpy(), want, dtype, 5)


@pytest.mark.parametrize("sa,sb", [
    ((2, 1, 4, 5), (3, 5, 6)), ((1, 4, 5), (7, 5, 6)), ((7, 4, 5), (1, 5, 6)),
    ((2, 3, 4, 5), (5, 6)), ((5,), (2, 3, 5, 6)), ((2, 3, 4, 5), (5,)),
    ((4, 5), (2, 5, 6)), ((0, 4, 5), (5, 6)), ((2, 4, 0), (0, 6)), ((3, 0, 5), (3, 5, 2)),
    ((1, 1, 4, 5), (2, 1, 5, 6)), ((6, 1, 1), (6, 1, 3)),
])
def test_matmul_broadcast_batches(sa, sb):
    a, b = rand(sa, "float64", 30), rand(sb, "float64", 31)
    got = strided.matmul(strided.from_numpy(a), strided.from_numpy(b))
    check(got.numpy(), np.matmul(a, b), "float64", sa[-1])


def test_matmul_strided_batches():
    """Batches read through permuted / stepped / expanded / negative views, no copies."""
    x = rand((6, 5, 8, 7), "float32", 32)
    y = rand((7, 5, 9), "float32", 33)
    X = strided.from_numpy(x).permute(1, 0, 3, 2)[:, ::2]       # (5, 3, 7, 8)
    Y = strided.from_numpy(y).permute(1, 2, 0).flip(0)          # (5, 9, 7)
    Y = Y.unsqueeze(1).expand(5, 3, 9, 7).transpose(-1, -2)      # (5, 3, 7, 9) stride-0 dim
    want = np.matmul(np.asarray(X.numpy(), np.float64).swapaxes(-1, -2),
                     np.asarray(Y.numpy(), np.float64))
    got = strided.matmul(X.transpose(-1, -2), Y)
    check(got.numpy(), want, "float32", 7)


def test_matmul_folds_batches_when_b_is_shared():
    """(..., m, k) @ (k, n) runs as one product (M = batch * m): same values."""
    a = rand((4, 3, 50, 40), "float32", 34)
    b = rand((40, 30), "float32", 35)
    A = strided.from_numpy(a)
    got = strided.matmul(A, strided.from_numpy(b))
    check(got.numpy(), a.astype(np.float64) @ b, "float32", 40)
    # a layout whose batch dims do not fold: the batched path gives the same numbers
    got2 = strided.matmul(A.transpose(0, 1).contiguous().transpose(0, 1), strided.from_numpy(b))
    np.testing.assert_array_equal(got2.numpy(), got.numpy())


# --------------------------------------------------------------------------------------
# mm, bmm, mv, dot, outer, addmm, linear, gemv
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_bmm(dtype):
    a, b = rand((5, 4, 6), dtype, 36), rand((5, 6, 3), dtype, 37)
    got = strided.bmm(strided.from_numpy(a), strided.from_numpy(b))
    want = np.stack([ref_product(a[i], b[i], dtype) for i in range(5)])
    check(got.numpy(), want, dtype, 6)
    got = strided.from_numpy(a).bmm(strided.from_numpy(b).flip(0).flip(0))
    check(got.numpy(), want, dtype, 6)


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("m,k", [(1, 1), (7, 1), (1, 9), (33, 70), (300, 17), (5, 600)])
def test_mv_and_gemv(dtype, m, k):
    a, x = rand((m, k), dtype, 38), rand((k,), dtype, 39)
    want = ref_product(a, x[:, None], dtype)[:, 0]
    for layout in ("contiguous", "transposed", "negative", "stepped"):
        A, av = make(a, layout)
        check(strided.mv(A, strided.from_numpy(x)).numpy(), want, dtype, k)
        check(A.mv(strided.from_numpy(x[::-1].copy()).flip(0)).numpy(), want, dtype, k)
        check(strided.gemv(A, strided.from_numpy(x)).numpy(), want, dtype, k)
    if dtype in FLOATS:
        y0 = rand((k,), dtype, 40)
        Y = strided.from_numpy(np.concatenate([y0, y0])[::2].copy())
        buf = np.zeros(2 * k, dtype)
        buf[::2] = y0
        Yv = strided.from_numpy(buf)[::2]
        xm = rand((m,), dtype, 41)
        out = strided.gemv(strided.from_numpy(a), strided.from_numpy(xm), Yv, trans=True,
                           alpha=2.0, beta=0.5)
        assert out is Yv
        check(buf[::2], 2 * ref_product(a.T, xm[:, None], dtype)[:, 0] + 0.5 * y0, dtype, m, 2)
        assert (buf[1::2] == 0).all()
        del Y


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("n", [0, 1, 5, 8, 9, 100, 1001])
def test_dot(dtype, n):
    a, b = rand((n,), dtype, 42), rand((n,), dtype, 43)
    got = strided.dot(strided.from_numpy(a), strided.from_numpy(b))
    assert got.shape == () and got.dtype == getattr(strided, dtype)
    check(got.numpy(), ref_product(a[None], b[:, None], dtype)[0, 0], dtype, n)
    got = strided.from_numpy(a[::-1].copy()).flip(0).dot(strided.from_numpy(b))
    check(got.numpy(), ref_product(a[None], b[:, None], dtype)[0, 0], dtype, n)


@pytest.mark.parametrize("da,db", [("float32", "float32"), ("int32", "float64"),
                                   ("uint8", "int32"), ("bool", "bool"), ("bool", "int64"),
                                   ("int64", "float32")])
def test_outer_promotes(da, db):
    a = rand((5,), "int32", 44).astype(da)
    b = rand((4,), "int32", 45).astype(db)
    got = strided.outer(strided.from_numpy(a), strided.from_numpy(b))
    order = ("bool", "uint8", "int32", "int64", "float32", "float64")    # torch's promotion
    result = order[max(order.index(da), order.index(db))]
    want = np.outer(a, b).astype(result)
    assert got.dtype.name == result
    np.testing.assert_array_equal(got.numpy(), want)
    got = strided.from_numpy(a).outer(strided.from_numpy(b[::-1].copy()).flip(0))
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("dtype", FLOATS + ("int64",))
@pytest.mark.parametrize("input_shape", [(4, 6), (6,), (1, 6), (4, 1), (), (1,)])
def test_addmm(dtype, input_shape):
    a, b = rand((4, 5), dtype, 46), rand((5, 6), dtype, 47)
    c = rand(input_shape, dtype, 48)
    alpha, beta = (2, 3) if dtype == "int64" else (0.5, -1.25)
    got = strided.addmm(strided.from_numpy(c), strided.from_numpy(a), strided.from_numpy(b),
                        beta=beta, alpha=alpha)
    want = alpha * ref_product(a, b, dtype) + beta * np.broadcast_to(c, (4, 6))
    check(got.numpy(), want.astype(np.float64) if dtype in FLOATS else want.astype(dtype),
          dtype, 5, scale=2)
    got = strided.from_numpy(c).addmm(strided.from_numpy(a), strided.from_numpy(b))
    check(got.numpy(), (ref_product(a, b, dtype) + np.broadcast_to(c, (4, 6))).astype(
        np.float64 if dtype in FLOATS else dtype), dtype, 5)


def test_addmm_beta_zero_ignores_nan_input():
    got = strided.addmm(strided.full((2, 2), float("nan")), strided.ones(2, 3),
                        strided.ones(3, 2), beta=0)
    np.testing.assert_array_equal(got.numpy(), np.full((2, 2), 3.0, np.float32))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("xshape", [(7,), (3, 7), (2, 3, 7), (2, 1, 4, 7), (0, 7)])
@pytest.mark.parametrize("bias", [False, True])
def test_linear(dtype, xshape, bias):
    x, w = rand(xshape, dtype, 49), rand((5, 7), dtype, 50)
    bv = rand((5,), dtype, 51)
    got = F.linear(strided.from_numpy(x), strided.from_numpy(w),
                                       strided.from_numpy(bv) if bias else None)
    want = x.astype(np.float64) @ w.T.astype(np.float64) + (bv if bias else 0)
    check(got.numpy(), want, dtype, 7, scale=2)
    # a transposed weight (in x out stored, viewed as out x in) and a strided input
    W = strided.from_numpy(np.ascontiguousarray(w.T)).t()
    X = strided.from_numpy(np.ascontiguousarray(x[..., ::-1])).flip(-1)
    got = F.linear(X, W, strided.from_numpy(bv) if bias else None)
    check(got.numpy(), want, dtype, 7, scale=2)


def test_linear_vector_weight():
    x, w = rand((3, 7), "float64", 52), rand((7,), "float64", 53)
    got = F.linear(strided.from_numpy(x), strided.from_numpy(w))
    check(got.numpy(), x @ w, "float64", 7)
    got = F.linear(strided.from_numpy(x[0]), strided.from_numpy(w),
                                       strided.tensor(0.5, dtype=strided.float64))
    check(got.numpy(), x[0] @ w + 0.5, "float64", 7)


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------

def test_shape_errors_name_both_shapes():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        strided.mm(strided.ones(2, 3), strided.ones(4, 5))
    with pytest.raises(RuntimeError, match=r"\(2x3 and 4x5\)"):
        strided.matmul(strided.ones(2, 3), strided.ones(4, 5))
    with pytest.raises(RuntimeError, match=r"\(2x3 and 4x5\)"):
        strided.ones(2, 3) @ strided.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"\(4x3 and 4x5\)"):
        strided.matmul(strided.ones(2, 2, 3), strided.ones(4, 5))
    with pytest.raises(RuntimeError, match=r"\(1x3 and 4x5\)"):
        strided.matmul(strided.ones(3), strided.ones(4, 5))
    with pytest.raises(RuntimeError, match=r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)"):
        strided.matmul(strided.ones(2, 3), strided.ones(4))
    with pytest.raises(RuntimeError, match=r"expected tensor \[3\] and src \[4\]"):
        strided.dot(strided.ones(3), strided.ones(4))
    with pytest.raises(RuntimeError, match=r"batch2 tensor to be: \[2, 3\] but got: \[2, 4\]"):
        strided.bmm(strided.ones(2, 2, 3), strided.ones(2, 4, 5))
    with pytest.raises(RuntimeError, match=r"must match the size of tensor b \(3\)"):
        strided.matmul(strided.ones(2, 2, 3), strided.ones(3, 3, 5))
    with pytest.raises(RuntimeError, match=r"\(2x5 and 3x4\)"):
        F.linear(strided.ones(2, 5), strided.ones(4, 3))
    with pytest.raises(RuntimeError, match=r"\(2x3 and 4x5\)"):
        strided.gemm(strided.ones(3, 2), strided.ones(5, 4), trans_a=True, trans_b=True)
    with pytest.raises(RuntimeError, match="C has shape"):
        strided.gemm(strided.ones(2, 3), strided.ones(3, 4), strided.zeros(4, 2))


def test_rank_errors():
    with pytest.raises(RuntimeError, match="both arguments to matmul need to be at least 1D"):
        strided.matmul(strided.tensor(1.0), strided.ones(3))
    with pytest.raises(RuntimeError, match="self must be a matrix"):
        strided.mm(strided.ones(3), strided.ones(3, 2))
    with pytest.raises(RuntimeError, match="batch1 must be a 3D tensor"):
        strided.bmm(strided.ones(2, 3), strided.ones(3, 2))
    with pytest.raises(RuntimeError, match="1D tensors expected"):
        strided.dot(strided.ones(3, 1), strided.ones(3))
    with pytest.raises(RuntimeError, match="outer: Expected 1-D argument self"):
        strided.outer(strided.ones(3, 1), strided.ones(3))
    with pytest.raises(RuntimeError, match="mat1 must be a matrix, got 1-D tensor"):
        strided.addmm(strided.ones(2, 2), strided.ones(2), strided.ones(2, 2))
    with pytest.raises(RuntimeError, match="both arguments to linear need to be at least 1D"):
        F.linear(strided.tensor(1.0), strided.ones(4, 3))


def test_dtype_errors_like_torch():
    f, d = strided.ones(2, 3), strided.ones(3, 4, dtype=strided.float64)
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: float != double"):
        strided.mm(f, d)
    with pytest.raises(RuntimeError, match="float != long int"):
        strided.matmul(f, strided.ones(3, 4, dtype=strided.int64))
    with pytest.raises(RuntimeError, match="dot : expected both vectors to have same dtype"):
        strided.dot(strided.ones(3), strided.ones(3, dtype=strided.float64))
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        strided.bmm(strided.ones(2, 2, 3), strided.ones(2, 3, 4, dtype=strided.float64))
    with pytest.raises(RuntimeError, match="self and mat2 must have the same dtype"):
        strided.addmm(strided.ones(4, dtype=strided.float64), f, strided.ones(3, 4))
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        strided.mm(strided.ones(2, 2, dtype=strided.bool), strided.ones(2, 2, dtype=strided.bool))
    with pytest.raises(RuntimeError, match="not implemented for 'Bool'"):
        strided.dot(strided.ones(2, dtype=strided.bool), strided.ones(2, dtype=strided.bool))


def test_non_tensor_arguments_raise_type_error():
    t = strided.ones(3, 3)
    for call in (lambda: strided.matmul(t, [1, 2, 3]), lambda: strided.mm(t, 3),
                 lambda: strided.bmm(np.ones((1, 3, 3)), t), lambda: strided.mv(t, None),
                 lambda: strided.dot(t[0], (1, 2, 3)), lambda: strided.outer(1, t[0]),
                 lambda: strided.addmm(0, t, t), lambda: t @ [1.0, 2.0, 3.0],
                 lambda: strided.gemm(t, "x"), lambda: F.linear(t, 2.0),
                 lambda: F.linear(t, t, [1, 2, 3])):
        with pytest.raises(TypeError, match="must be Tensor"):
            call()


def test_kernel_switch():
    assert _gemm._set_kernel("reference") == "reference"
    assert _gemm._set_kernel("auto") == _gemm._default_table()
    assert _gemm._kernel_name() == _gemm._table_info()["name"]
    with pytest.raises(ValueError, match="kernel table"):
        _gemm._set_kernel("avx1024")
    _gemm._trim_buffers()           # buffers come back on demand
    check(strided.mm(strided.ones(30, 40), strided.ones(40, 50)).numpy(),
          np.full((30, 50), 40.0), "float32", 40)


# --------------------------------------------------------------------------------------
# Offset operands (the convolution's): every table's offset-B micro-kernels and offset-A
# packer
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k,row_len,row_pitch,kc_max", [
    (13, 37, 9, 0, 0, 0), (30, 64, 50, 64, 64, 0), (25, 50, 40, 10, 13, 0),
    (7, 45, 300, 9, 11, 0), (40, 70, 600, 35, 40, 100), (1, 3, 1, 3, 3, 0)])
@pytest.mark.parametrize("nt", [1, 2])
def test_offset_b_product(kernel_table, dtype, m, n, k, row_len, row_pitch, kc_max, nt):
    """B's rows at offsets into one buffer, cut into rows of row_len columns row_pitch
    apart (NOTE [ Offset-B GEMM ]); the kernel may read the table's offb_reach elements
    past each row's end (NR/2 - 1 for the SIMD tables, 0 for the reference), so the buffer
    has that slack (NaN: never used) and nothing else around."""
    rng = np.random.default_rng(70)
    info = _gemm._table_info(kernel_table)[dtype]
    assert 2 * info["offb_w"] == info["nr"]
    assert info["offb_reach"] <= info["offb_w"] - 1
    rl, rp = (row_len, row_pitch) if row_len else (n, n)
    span = (n - 1) // rl * rp + (n - 1) % rl + 1          # elements one B row covers
    size = span + 5 * k + info["offb_reach"]
    buf = np.full(size, np.nan, dtype)
    b_off = rng.integers(0, 5 * k + 1, size=k).astype(np.int64)
    B = np.empty((k, n))
    cols = np.arange(n)
    where = cols // rl * rp + cols % rl
    for p in range(k):
        buf[b_off[p] + where] = rng.uniform(-1, 1, n)
    for p in range(k):
        B[p] = buf[b_off[p] + where]
    A = rand((m, k), dtype, 71)
    got = _gemm._offset_b_product(kernel_table, A, buf, b_off, n, row_len, row_pitch,
                                  kc_max, nt)
    check(got, A.astype(np.float64) @ B, dtype, k)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k", [(13, 37, 9), (30, 40, 300), (1, 5, 3), (50, 17, 64)])
@pytest.mark.parametrize("nt", [1, 2])
def test_offset_a_product(kernel_table, dtype, m, n, k, nt):
    """A's rows at offsets into one buffer (NOTE [ Offset-A GEMM ]), read exactly."""
    rng = np.random.default_rng(72)
    buf = rand((3 * k + 2 * m,), dtype, 73)
    a_off = rng.integers(0, 2 * k + 2 * m + 1, size=m).astype(np.int64)
    A = np.stack([buf[o:o + k] for o in a_off]).astype(np.float64)
    B = rand((k, n), dtype, 74)
    got = _gemm._offset_a_product(kernel_table, buf, a_off, B, nt)
    check(got, A @ B, dtype, k)
