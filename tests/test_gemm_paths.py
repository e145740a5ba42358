"""The GEMM kernel's paths, each checked against NumPy and against the others.

gemm_strided picks one path per product (NOTE [ GEMM paths ] in strided/_C/kernels/gemm.pyx):
C = beta * C when k = 0 or alpha = 0, a matrix-vector kernel when m or n is 1, the direct
path (no packing, one thread) for products of at most SMALL_WORK multiply-adds with an
operand it can stream, and otherwise the packed five loops on a grid of threads; integer
dtypes take a simple exact path of their own.  These tests check which path a product takes
(gemm._path, gemm._thread_grid_for), force the others (gemm._set_small_work,
gemm._force_thread_rows, strided.set_num_threads), and require that
  - every path matches NumPy (float64 / exact integer reference);
  - the direct and the packed path agree bit for bit while k <= KC (they do the same FMAs
    in the same order; beyond KC the packed path sums K blocks separately);
  - every thread grid agrees bit for bit with one thread: the K blocks depend on k alone and
    M / N are cut on micro-tile edges, so each element of C sees the same operations.
Every test runs once per GEMM kernel table this CPU can run (the `kernel_table` fixture;
their tiles differ, so do the micro-tile edges and thread grids).
"""
import itertools

import numpy as np
import pytest

import strided
from strided._C.kernels import gemm as _gemm

FLOATS = ("float32", "float64")
INTS = ("uint8", "int32", "int64")
SMALL_WORK = 100 * 100 * 100        # gemm.pyx's default threshold for the direct path
TRANS = list(itertools.product((False, True), repeat=2))


@pytest.fixture(autouse=True, params=_gemm._kernel_tables())
def kernel_table(request):
    """Every test of this module on every kernel table."""
    old = _gemm._kernel_name()
    _gemm._set_kernel(request.param)
    yield request.param
    _gemm._set_kernel(old)


def have_direct():
    """The table in use has direct (unpacked) kernels: all but the reference one."""
    return _gemm._kernel_name() != "reference"


def tile(dtype):
    info = _gemm._table_info()[dtype]
    return info["mr"], info["nr"]


@pytest.fixture
def threads():
    old = strided.get_num_threads()
    yield strided.set_num_threads
    strided.set_num_threads(old)


@pytest.fixture
def small_work():
    old = _gemm._set_small_work(SMALL_WORK)
    yield _gemm._set_small_work
    _gemm._set_small_work(old)


@pytest.fixture
def forced_rows():
    yield _gemm._force_thread_rows
    _gemm._force_thread_rows(0)


def need_openmp():
    if not strided._C.core.threads.has_openmp():
        pytest.skip("built without OpenMP")


def rand(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype in FLOATS:
        return rng.uniform(-1, 1, size=shape).astype(dtype)
    if dtype == "uint8":
        return rng.integers(0, 4, size=shape).astype(dtype)        # zeros included
    return rng.integers(-6, 6, size=shape).astype(dtype)


def operand(values, layout):
    """A strided tensor holding the 2-D array `values`, laid out as asked."""
    m, k = values.shape
    if layout == "row":
        return strided.from_numpy(values.copy())
    if layout == "col":                 # strides (1, m)
        return strided.from_numpy(np.ascontiguousarray(values.T)).t()
    if layout == "neg":                 # both strides negative
        return strided.from_numpy(values[::-1, ::-1].copy()).flip(0, 1)
    if layout == "neg_col":             # column-major, columns reversed
        return strided.from_numpy(np.ascontiguousarray(values.T[::-1])).flip(0).t()
    if layout == "stepped":             # strides (6, 2) into a bigger buffer
        big = np.zeros((3 * m + 1, 2 * k + 1), values.dtype)
        big[1::3, 1::2] = values
        return strided.from_numpy(big)[1::3, 1::2]
    raise ValueError(layout)


def transposed_operands(a, b, trans_a, trans_b, layout="row"):
    """(A, B) for strided.gemm(A, B, trans_a=..., trans_b=...) computing a @ b."""
    A = operand(np.ascontiguousarray(a.T) if trans_a else a, layout)
    B = operand(np.ascontiguousarray(b.T) if trans_b else b, layout)
    return A, B


C_KINDS = ("contiguous", "transposed", "stepped", "negative")


def c_view(values, kind, sentinel):
    """(C view holding `values`, its storage array, a function reading C back out of the
    storage, mask of the storage elements C covers)."""
    m, n = values.shape
    dtype = values.dtype
    if kind == "contiguous":
        buf = np.full((m + 2, n + 3), sentinel, dtype)
        sl = (slice(1, m + 1), slice(2, n + 2))
        C = strided.from_numpy(buf)[1:m + 1, 2:n + 2]
        read = lambda: buf[sl]                                  # noqa: E731
    elif kind == "transposed":         # column-major C: the kernel computes C^T = B^T A^T
        buf = np.full((n + 1, m + 1), sentinel, dtype)
        sl = (slice(1, None), slice(1, None))
        C = strided.from_numpy(buf)[1:, 1:].t()
        read = lambda: buf[sl].T                                # noqa: E731
    elif kind == "stepped":
        buf = np.full((2 * m + 1, 3 * n + 1), sentinel, dtype)
        sl = (slice(1, 2 * m + 1, 2), slice(0, 3 * n, 3))
        C = strided.from_numpy(buf)[1::2, ::3][:m, :n]
        read = lambda: buf[sl]                                  # noqa: E731
    elif kind == "negative":
        buf = np.full((m + 1, n), sentinel, dtype)
        sl = (slice(1, None), slice(None))
        C = strided.from_numpy(buf)[1:].flip(0, 1)
        read = lambda: buf[sl][::-1, ::-1]                      # noqa: E731
    else:
        raise ValueError(kind)
    C.copy_(strided.from_numpy(np.ascontiguousarray(values)))
    mask = np.zeros(buf.shape, bool)
    mask[sl] = True
    assert np.array_equal(read(), values, equal_nan=values.dtype.kind == "f")
    return C, buf, read, mask


def reference(a, b, c0, alpha, beta, dtype):
    if dtype in FLOATS:
        return alpha * (a.astype(np.float64) @ b.astype(np.float64)) + beta * c0.astype(np.float64)
    bits = np.dtype(dtype).itemsize * 8
    prod = a.astype(object) @ b.astype(object) if a.size and b.size else \
        np.zeros((a.shape[0], b.shape[1]), object)
    x = (int(alpha) * prod + int(beta) * c0.astype(object)) % (1 << bits)
    if np.dtype(dtype).kind == "i":
        x = np.where(x >= (1 << (bits - 1)), x - (1 << bits), x)
    return x.astype(dtype)


def check(got, want, dtype, k, scale=4.0):
    if dtype in FLOATS:
        eps = np.finfo(dtype).eps
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=0,
                                   atol=4 * eps * max(k, 1) * scale + eps)
    else:
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, want)


def run_gemm(a, b, c0, trans_a, trans_b, alpha, beta, c_kind="contiguous", layout="row"):
    """strided.gemm into a C view; returns (C read back, storage outside C untouched?)."""
    A, B = transposed_operands(a, b, trans_a, trans_b, layout)
    C, buf, read, mask = c_view(c0, c_kind, 7)
    out = strided.gemm(A, B, C, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta)
    assert out is C
    return read().copy(), bool((buf[~mask] == 7).all())


def expected_path(m, n, k, trans_a, trans_b, c_kind, work_limit):
    """The path NOTE [ GEMM paths ] promises, for row-major A / B stored transposed when
    trans_x (so op(A) is column-major when trans_a) and C of the given kind."""
    col_a, col_b = trans_a, trans_b
    if c_kind == "transposed":          # C^T = B^T A^T: the operands swap and transpose
        m, n, col_a, col_b = n, m, not col_b, not col_a
    if m == 1 or n == 1:
        return "gemv_n" if n == 1 else "gemv_m"
    if m * n * k <= work_limit and have_direct():
        if not col_b:
            return "direct"
        if col_a:
            return "direct_t"
    return "packed"


def path_of(dtype, m, n, k, trans_a, trans_b, c_kind):
    """gemm._path for the operands run_gemm builds (contiguous storage, "row" layout)."""
    rsA, csA = (1, m) if trans_a else (k, 1)
    rsB, csB = (1, k) if trans_b else (n, 1)
    rsC, csC = {"contiguous": (n + 3, 1), "transposed": (1, m + 1),
                "stepped": (6 * n + 2, 3), "negative": (-n, -1)}[c_kind]
    return _gemm._path(dtype, m, n, k, 0.5, rsA, csA, rsB, csB, rsC, csC)


# --------------------------------------------------------------------------------------
# The direct path vs the packed path
# --------------------------------------------------------------------------------------

# (m, n, k) right at, just below and just above SMALL_WORK
THRESHOLD_SHAPES = [(100, 100, 100), (100, 100, 101), (101, 100, 100), (99, 101, 100),
                    (50, 200, 100), (50, 200, 101), (250, 40, 100), (40, 251, 100),
                    (1000, 10, 100), (10, 1000, 101)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k", THRESHOLD_SHAPES)
@pytest.mark.parametrize("c_kind", ["contiguous", "transposed"])
def test_threshold_picks_path_and_paths_agree(small_work, threads, dtype, m, n, k, c_kind):
    """Around SMALL_WORK, each trans_a / trans_b combination takes the path NOTE [ GEMM
    paths ] says; it matches NumPy, and forcing the packed path (small_work 0, on 2
    threads when they pay) gives the same bits."""
    a, b, c0 = rand((m, k), dtype, 1), rand((k, n), dtype, 2), rand((m, n), dtype, 3)
    want = reference(a, b, c0, 0.5, -1.5, dtype)
    for trans_a, trans_b in TRANS:
        threads(1)
        path = path_of(dtype, m, n, k, trans_a, trans_b, c_kind)
        assert path == expected_path(m, n, k, trans_a, trans_b, c_kind, SMALL_WORK), \
            (trans_a, trans_b)
        got, clean = run_gemm(a, b, c0, trans_a, trans_b, 0.5, -1.5, c_kind)
        check(got, want, dtype, k)
        assert clean
        small_work(0)
        threads(2)
        try:
            assert path_of(dtype, m, n, k, trans_a, trans_b, c_kind) == "packed"
            packed, clean = run_gemm(a, b, c0, trans_a, trans_b, 0.5, -1.5, c_kind)
        finally:
            small_work(SMALL_WORK)
        assert clean
        np.testing.assert_array_equal(got, packed)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", ["row", "col", "neg", "neg_col", "stepped"])
@pytest.mark.parametrize("c_kind", C_KINDS)
@pytest.mark.parametrize("m,n,k", [(2, 2, 1), (5, 15, 3), (6, 16, 7), (7, 17, 9),
                                   (12, 32, 4), (13, 9, 40), (19, 33, 256)])
def test_direct_matches_packed_bitwise(small_work, dtype, layout, c_kind, m, n, k):
    """Every trans combination, operand layout (negative strides included) and C view,
    over micro-tile edges: the direct path's bits are the packed path's (k <= KC)."""
    if not have_direct():
        pytest.skip("the reference kernel table has no direct path")
    a, b, c0 = rand((m, k), dtype, 4), rand((k, n), dtype, 5), rand((m, n), dtype, 6)
    want = reference(a, b, c0, 2.0, 0.25, dtype)
    for trans_a, trans_b in TRANS:
        got = []
        for limit in (1 << 40, 0):
            small_work(limit)
            got.append(run_gemm(a, b, c0, trans_a, trans_b, 2.0, 0.25, c_kind, layout))
        (direct, clean_d), (packed, clean_p) = got
        assert clean_d and clean_p
        check(direct, want, dtype, k)
        np.testing.assert_array_equal(direct, packed)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k", [(7, 20, 300), (13, 17, 600)])
def test_direct_beyond_kc(small_work, dtype, m, n, k):
    """k above KC: the direct path sums all of k at once, the packed path per K block --
    both close to NumPy, not necessarily the same bits."""
    a, b, c0 = rand((m, k), dtype, 7), rand((k, n), dtype, 8), rand((m, n), dtype, 9)
    want = reference(a, b, c0, -1.0, 1.0, dtype)
    for limit in (1 << 40, 0):
        small_work(limit)
        for trans_a, trans_b in TRANS:
            got, clean = run_gemm(a, b, c0, trans_a, trans_b, -1.0, 1.0, "negative", "neg")
            assert clean
            check(got, want, dtype, k)


@pytest.mark.parametrize("dtype", FLOATS)
def test_beta_zero_direct_and_packed_ignore_nan(small_work, dtype):
    a, b = rand((9, 5), dtype, 10), rand((5, 21), dtype, 11)
    c0 = np.full((9, 21), np.nan, dtype)
    for limit in (1 << 40, 0):
        small_work(limit)
        for trans_a, trans_b in TRANS:
            for c_kind in C_KINDS:
                got, clean = run_gemm(a, b, c0, trans_a, trans_b, 1.5, 0.0, c_kind)
                assert clean
                check(got, reference(a, b, np.zeros_like(c0), 1.5, 0.0, dtype), dtype, 5)


# --------------------------------------------------------------------------------------
# Thread grids
# --------------------------------------------------------------------------------------

GRID_SHAPES = [(130, 140, 300), (61, 500, 70), (700, 20, 150), (260, 250, 64)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k", GRID_SHAPES)
def test_every_thread_grid_matches_one_thread(threads, forced_rows, dtype, m, n, k):
    """Every grid tm x tn on 2, 3 and 4 threads (M split, N split, both) gives the bits of
    one thread, for every trans combination, negative-stride operands, alpha / beta and a
    stepped C.  (More threads than cores is fine: it only costs time.)"""
    need_openmp()
    a, b, c0 = rand((m, k), dtype, 12), rand((k, n), dtype, 13), rand((m, n), dtype, 14)
    want = reference(a, b, c0, 0.75, -0.5, dtype)
    mr, nr = tile(dtype)
    um, un = -(-m // mr), -(-n // nr)
    for trans_a, trans_b in TRANS:
        for layout in ("row", "neg"):
            threads(1)
            one, clean = run_gemm(a, b, c0, trans_a, trans_b, 0.75, -0.5, "stepped", layout)
            assert clean
            check(one, want, dtype, k)
            for nt in (2, 3, 4):
                assert m * n * k >= nt * 500_000      # so gemm_strided asks for nt threads
                threads(nt)
                for tm in (0,) + tuple(t for t in range(1, nt + 1) if nt % t == 0):
                    forced_rows(tm)
                    grid = _gemm._thread_grid_for(dtype, m, n, nt)
                    if tm and tm <= um and nt // tm <= un:
                        assert grid == (tm, nt // tm)
                    got, clean = run_gemm(a, b, c0, trans_a, trans_b, 0.75, -0.5, "stepped",
                                          layout)
                    assert clean
                    np.testing.assert_array_equal(got, one, err_msg=f"{nt} threads, grid {grid}")
            forced_rows(0)


@pytest.mark.parametrize("dtype", FLOATS)
def test_thread_grid_column_major_c(threads, forced_rows, dtype):
    """A column-major C is computed as C^T = B^T A^T: its grid is over C^T."""
    need_openmp()
    m, n, k = 40, 300, 120
    a, b, c0 = rand((m, k), dtype, 15), rand((k, n), dtype, 16), rand((m, n), dtype, 17)
    threads(1)
    one, _ = run_gemm(a, b, c0, True, False, 1.0, 1.0, "transposed")
    threads(2)
    for tm in (1, 2):
        forced_rows(tm)
        assert _gemm._thread_grid_for(dtype, n, m, 2) == (tm, 2 // tm)
        got, clean = run_gemm(a, b, c0, True, False, 1.0, 1.0, "transposed")
        assert clean
        np.testing.assert_array_equal(got, one)


def test_thread_grid_choice():
    """The automatic grid: N split for a wide product and for the fully-connected shape,
    M split for a tall one, fewer threads than asked when there are too few tiles."""
    assert _gemm._thread_grid_for("float32", 64, 4096, 2) == (1, 2)
    assert _gemm._thread_grid_for("float32", 2000, 30, 2) == (2, 1)
    assert _gemm._thread_grid_for("float32", 5, 5, 2) == (1, 1)
    mr, nr = tile("float64")
    assert _gemm._thread_grid_for("float64", mr, 2 * nr + 1, 4) == (1, 3)     # 1 x 3 tiles


def test_small_products_run_direct_on_any_thread_count(threads):
    """The direct path is single-threaded: 2 threads change nothing below SMALL_WORK."""
    if not have_direct():
        pytest.skip("the reference kernel table has no direct path")
    a, b, c0 = rand((90, 100), "float32", 18), rand((100, 110), "float32", 19), \
        rand((90, 110), "float32", 20)
    assert _gemm._path("float32", 90, 110, 100) == "direct"
    got = []
    for nt in (1, 2):
        threads(nt)
        got.append(run_gemm(a, b, c0, False, False, 1.0, 0.5)[0])
    np.testing.assert_array_equal(got[0], got[1])


# --------------------------------------------------------------------------------------
# Integer dtypes: one exact path, rows split over threads
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("m,n,k", [(3, 127, 5), (9, 128, 7), (40, 129, 30), (33, 257, 20),
                                   (200, 3, 150)])
def test_int_path(threads, dtype, m, n, k):
    """Exact wrap-around results for every trans combination, operand layout and C view, on
    1, 2 and 4 threads (n around the 128-column accumulator block; A holds zeros, which the
    path skips)."""
    a, b, c0 = rand((m, k), dtype, 21), rand((k, n), dtype, 22), rand((m, n), dtype, 23)
    alpha, beta = 3, -2
    want = reference(a, b, c0, alpha, beta, dtype)
    for nt in (1, 2, 4):
        threads(nt)
        for trans_a, trans_b in TRANS:
            for layout, c_kind in (("row", "contiguous"), ("neg", "negative"),
                                   ("stepped", "transposed"), ("neg_col", "stepped")):
                got, clean = run_gemm(a, b, c0, trans_a, trans_b, alpha, beta, c_kind, layout)
                assert clean
                check(got, want, dtype, k)


@pytest.mark.parametrize("dtype", INTS)
def test_int_path_big_values_wrap_on_threads(threads, dtype):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(24)
    m, n, k = 64, 150, 40
    a = rng.integers(info.min, info.max, size=(m, k), endpoint=True).astype(dtype)
    b = rng.integers(info.min, info.max, size=(k, n), endpoint=True).astype(dtype)
    c0 = rng.integers(info.min, info.max, size=(m, n), endpoint=True).astype(dtype)
    want = reference(a, b, c0, 5, 1, dtype)
    for nt in (1, 2):
        threads(nt)
        got, clean = run_gemm(a, b, c0, False, True, 5, 1, "negative", "neg")
        assert clean
        np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------------------
# Degenerate sizes: k = 0 (C = beta * C, alpha ignored), m or n = 0 (nothing to do)
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("c_kind", C_KINDS)
@pytest.mark.parametrize("alpha,beta", [(1, 0), (5, 0), (5, 1), (0, 2), (7, -1), (2, 3)])
def test_k_zero_scales_c_and_ignores_alpha(dtype, c_kind, alpha, beta):
    m, n = 5, 19
    c0 = rand((m, n), dtype, 25)
    if dtype in FLOATS and beta == 0:
        c0[0, 0] = np.nan                       # beta == 0 never reads C
    if dtype in FLOATS:
        assert _gemm._path(dtype, m, n, 0, alpha) == "scale"
    for trans_a, trans_b in TRANS:
        a, b = np.zeros((m, 0), dtype), np.zeros((0, n), dtype)
        got, clean = run_gemm(a, b, c0, trans_a, trans_b, alpha, beta, c_kind)
        assert clean
        if beta == 0:
            want = np.zeros((m, n), dtype)
        elif dtype in FLOATS:
            want = np.asarray(beta, dtype) * c0         # one rounding, as the kernel
        else:
            want = reference(a, b, c0, alpha, beta, dtype)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", FLOATS)
def test_k_zero_beta_one_keeps_nan(dtype):
    c0 = rand((4, 6), dtype, 26)
    c0[1, 2] = np.nan
    got, clean = run_gemm(np.zeros((4, 0), dtype), np.zeros((0, 6), dtype), c0, False, False,
                          3.0, 1.0, "negative")
    assert clean
    np.testing.assert_array_equal(got, c0)


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (4, 0, 3), (0, 0, 0), (0, 5, 0), (4, 0, 0),
                                   (0, 300, 400), (300, 0, 400)])
def test_empty_m_or_n(threads, dtype, m, n, k):
    """m or n = 0: nothing is written (the storage around an empty C keeps its values),
    whatever alpha, beta and the thread count."""
    a, b = rand((m, k), dtype, 27), rand((k, n), dtype, 28)
    for nt in (1, 2):
        threads(nt)
        for trans_a, trans_b in TRANS:
            A, B = transposed_operands(a, b, trans_a, trans_b, "neg")
            buf = np.full((m + 2, n + 2), 9, dtype)
            C = strided.from_numpy(buf)[1:m + 1, 1:n + 1]
            assert strided.gemm(A, B, C, trans_a=trans_a, trans_b=trans_b, alpha=2,
                                beta=3) is C
            assert (buf == 9).all()
            out = strided.gemm(A, B, trans_a=trans_a, trans_b=trans_b)
            assert out.shape == (m, n)
            assert strided.matmul(A.t() if trans_a else A, B.t() if trans_b else B).shape == (m, n)
