"""The GEMM kernel: C = alpha * A @ B + beta * C on raw pointers with arbitrary strides.

Float32/float64 products follow BLIS's five loops (NOTE [ GEMM loops ]) on up to
num_threads_for() threads, each owning a block of C; products of at most SMALL_WORK
multiply-adds skip packing and run on one thread (_gemm_direct) when B is row-major or A
column-major (NOTE [ GEMM paths ]); matrix-vector shapes stream (_gemv).  The
micro-kernels, the packing routines, their tables per instruction set (NOTE [ GEMM kernel
tables ], one picked at import from core/cpu's level) and the packing-buffer pool are C, in
gemm_kernel.h and gemm_kernel_wide.h.  Integer dtypes take a simpler exact path with wrap-around.
Every entry point runs with the GIL released.
"""
from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint64_t, int32_t, uint8_t


from strided._C.core.dtypes cimport UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.core.threads cimport num_threads_for
from strided._C.core.cpu cimport isa_level

cdef extern from "gemm_kernel.h" nogil:
    ctypedef void (*strided_sgemm_ukr_t)(int64_t k, const float* a, const float* b, float* c,
                                         int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                         float alpha, float beta) noexcept nogil
    ctypedef void (*strided_dgemm_ukr_t)(int64_t k, const double* a, const double* b, double* c,
                                         int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                         double alpha, double beta) noexcept nogil
    ctypedef void (*strided_sgemm_offb_ukr_t)(int64_t k, const float* a, const float* b,
                                              const int64_t* boff, int64_t d1, float* c, int64_t rs_c,
                                              int64_t cs_c, int64_t mr, int64_t nr,
                                              float alpha, float beta) noexcept nogil
    ctypedef void (*strided_dgemm_offb_ukr_t)(int64_t k, const double* a, const double* b,
                                              const int64_t* boff, int64_t d1, double* c, int64_t rs_c,
                                              int64_t cs_c, int64_t mr, int64_t nr,
                                              double alpha, double beta) noexcept nogil
    ctypedef void (*strided_sgemm_direct_t)(int64_t k, const float* a, int64_t rs_a, int64_t cs_a,
                                            const float* b, int64_t rs_b, float* c, int64_t rs_c,
                                            int64_t cs_c, int64_t mr, int64_t nr, float alpha,
                                            float beta) noexcept nogil
    ctypedef void (*strided_dgemm_direct_t)(int64_t k, const double* a, int64_t rs_a, int64_t cs_a,
                                            const double* b, int64_t rs_b, double* c, int64_t rs_c,
                                            int64_t cs_c, int64_t mr, int64_t nr, double alpha,
                                            double beta) noexcept nogil
    ctypedef int (*strided_sgemv_t)(const float* M, int64_t rsM, int64_t csM, const float* x,
                                    int64_t incx, float* y, int64_t incy, int64_t k, float alpha,
                                    float beta, int64_t i0, int64_t i1) noexcept nogil
    ctypedef int (*strided_dgemv_t)(const double* M, int64_t rsM, int64_t csM, const double* x,
                                    int64_t incx, double* y, int64_t incy, int64_t k, double alpha,
                                    double beta, int64_t i0, int64_t i1) noexcept nogil
    ctypedef void (*strided_spack_a_t)(float* dst, const float* src, int64_t rs, int64_t cs,
                                       int64_t mc, int64_t kc) noexcept nogil
    ctypedef void (*strided_dpack_a_t)(double* dst, const double* src, int64_t rs, int64_t cs,
                                       int64_t mc, int64_t kc) noexcept nogil
    ctypedef void (*strided_spack_a_off_t)(float* dst, const float* src, const int64_t* aoff,
                                           int64_t mc, int64_t kc) noexcept nogil
    ctypedef void (*strided_dpack_a_off_t)(double* dst, const double* src, const int64_t* aoff,
                                           int64_t mc, int64_t kc) noexcept nogil
    ctypedef void (*strided_spack_b_t)(float* dst, const float* src, int64_t rs, int64_t cs,
                                       int64_t kc, int64_t nc) noexcept nogil
    ctypedef void (*strided_dpack_b_t)(double* dst, const double* src, int64_t rs, int64_t cs,
                                       int64_t kc, int64_t nc) noexcept nogil
    ctypedef struct strided_gemm_kernels:
        const char* name
        int isa
        int64_t mr[2]
        int64_t nr[2]
        int64_t mc[2]
        int64_t kc[2]
        int64_t nc[2]
        int64_t offb_w[2]
        int64_t offb_reach[2]
        strided_sgemm_ukr_t sukr
        strided_dgemm_ukr_t dukr
        strided_sgemm_offb_ukr_t soffb
        strided_dgemm_offb_ukr_t doffb
        strided_sgemm_direct_t sdirect
        strided_dgemm_direct_t ddirect
        strided_spack_a_t spack_a
        strided_dpack_a_t dpack_a
        strided_spack_a_off_t spack_a_off
        strided_dpack_a_off_t dpack_a_off
        strided_spack_b_t spack_b
        strided_dpack_b_t dpack_b
        strided_sgemv_t sgemv
        strided_dgemv_t dgemv
    enum:
        STRIDED_GEMM_TABLES
    const strided_gemm_kernels strided_gemm_tables[]
    ctypedef struct strided_gemm_bufs:
        char* a
        char* b
    strided_gemm_bufs* strided_gemm_bufs_acquire(size_t a_bytes, size_t b_bytes)
    void strided_gemm_bufs_release(strided_gemm_bufs* s)
    void strided_gemm_bufs_trim()

ctypedef fused real:
    float
    double

ctypedef fused int_t:
    uint8_t
    int32_t
    int64_t


cdef enum:
    MAX_THREADS = 256
    SMALL_WORK = 100 * 100 * 100    # m*n*k up to this: the unpacked single-thread path, if
                                    # the layout allows (NOTE [ GEMM paths ])
    GEMM_GRAIN = SMALL_WORK // 2    # multiply-adds per thread: 2 threads pay right above it
    GEMV_GRAIN = 1 << 16
    BATCH_SPLIT_WORK = 1 << 22      # batched products below this split the batch over threads
    INT_JB = 128                    # columns per accumulator block in the integer path
    GEMV_IB = 256                   # rows per accumulator block in the portable column gemv

# NOTE [ GEMM block sizes ]
# MC x KC of packed A stays in L2, a KC x NR sliver of packed B in L1, the KC x NC panel of
# B in L3.  Each kernel table (NOTE [ GEMM kernel tables ] in gemm_kernel.h) has its own:
#   reference, avx2: BLIS's zen3 values (sgemm 144/256/4080, dgemm 72/256/4080), measured on
#     an AMD Zen 3 (32 KiB L1d and 512 KiB L2 per core, 32 MiB shared L3): MC 72..240,
#     KC 192..512 and NC 256..4080 all came within its noise (2-3%) of them, except
#     KC < 256 (slower);
#   avx512, avx512_on_avx2: in gemm_kernel_wide.h (STRIDED_WIDE_*MC ...), measured with
#     benchmarks/bench_gemm.py --blocks on an Intel Xeon with AVX-512 (48 KiB L1d and 2 MiB
#     L2 per core).
# Tests shrink them (_set_block_sizes) to cross every block edge with small matrices: an
# override per dtype applying to every table (0: the table's own).
cdef int64_t _MC_set[2]
cdef int64_t _KC_set[2]
cdef int64_t _NC_set[2]
_MC_set[:] = [0, 0]
_KC_set[:] = [0, 0]
_NC_set[:] = [0, 0]
cdef int64_t _small_work = SMALL_WORK   # private switches (tests, tuning): see the end
cdef int _forced_tm = 0

# The table every entry point runs on, those whose caller packs B or hands row offsets
# (gemm_packed_b, gemm_offset_a/b, gemm_pack_a, ...: the convolution) included; such
# callers read its tile through gemm_mr / gemm_nr / gemm_offb_w / gemm_offb_reach
# (NOTE [ GEMM kernel tables ]).
cdef const strided_gemm_kernels* _kt = &strided_gemm_tables[0]


cdef inline int64_t _mc(const strided_gemm_kernels* kt, int t) noexcept nogil:
    return _MC_set[t] if _MC_set[t] > 0 else kt.mc[t]


cdef inline int64_t _kc(const strided_gemm_kernels* kt, int t) noexcept nogil:
    return _KC_set[t] if _KC_set[t] > 0 else kt.kc[t]


cdef inline int64_t _nc(const strided_gemm_kernels* kt, int t) noexcept nogil:
    return _NC_set[t] if _NC_set[t] > 0 else kt.nc[t]


cdef struct GemmArgs:
    int dtype_num
    const strided_gemm_kernels* kt    # the kernel table running this product
    int64_t m, n, k
    double alpha, beta
    const char* A
    int64_t rsA, csA
    const int64_t* a_off        # not NULL: A[i, p] = A[a_off[i] + p] (NOTE [ Offset-A GEMM ])
    pack_b_fn pack_b
    const void* b_src
    const int64_t* b_off        # not NULL: B is never packed (NOTE [ Offset-B GEMM ]):
    int64_t b_row_len           #   B[p, j] = b_src[b_off[p] + (j // b_row_len) * b_row_pitch
    int64_t b_row_pitch         #                   + j % b_row_len]
    char* C
    int64_t rsC, csC
    int64_t kc_max              # > 0: K blocks of at most this (an offset B's rows in L1)


cdef inline int64_t _cdiv(int64_t a, int64_t b) noexcept nogil:
    return (a + b - 1) // b


cdef inline int64_t _round_up(int64_t a, int64_t b) noexcept nogil:
    return _cdiv(a, b) * b


cdef inline int _t(int dtype_num) noexcept nogil:
    return 0 if dtype_num == FLOAT32 else 1


cdef int gemm_mr(int dtype_num) noexcept nogil:
    return <int>_kt.mr[_t(dtype_num)]


cdef int gemm_nr(int dtype_num) noexcept nogil:
    return <int>_kt.nr[_t(dtype_num)]


cdef int gemm_offb_w(int dtype_num) noexcept nogil:
    return <int>_kt.offb_w[_t(dtype_num)]


cdef int gemm_offb_reach(int dtype_num) noexcept nogil:
    return <int>_kt.offb_reach[_t(dtype_num)]


cdef int gemm_isa() noexcept nogil:
    return _kt.isa


# --------------------------------------------------------------------------------------
# Packing (NOTE [ Packing A ], NOTE [ Packing B ] in gemm_kernel.h)
# --------------------------------------------------------------------------------------

cdef inline void _pack_a(const strided_gemm_kernels* kt, real* dst, const real* A, int64_t rsA,
                         int64_t csA, int64_t mc, int64_t kc) noexcept nogil:
    if real is float:
        kt.spack_a(dst, A, rsA, csA, mc, kc)
    else:
        kt.dpack_a(dst, A, rsA, csA, mc, kc)


cdef void pack_b_strided(const void* src, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                         char* dst) noexcept nogil:
    cdef const StridedOperand* b = <const StridedOperand*>src
    cdef const strided_gemm_kernels* kt = <const strided_gemm_kernels*>b.kt
    # NOTE [ Packing B ] (gemm_kernel.h): loop orders for row- and column-major B
    if b.dtype_num == FLOAT32:
        kt.spack_b(<float*>dst, <const float*>b.data + p0 * b.rs + j0 * b.cs, b.rs, b.cs, kc, nc)
    else:
        kt.dpack_b(<double*>dst, <const double*>b.data + p0 * b.rs + j0 * b.cs, b.rs, b.cs, kc, nc)


# --------------------------------------------------------------------------------------
# The five loops
# --------------------------------------------------------------------------------------

cdef void _macro_kernel_offb(int64_t mc, int64_t nc, int64_t kc, real alpha,
                             const real* a_pk, const GemmArgs* g, int64_t jc,
                             const int64_t* b_off, real beta, real* C, int64_t rsC,
                             int64_t csC) noexcept nogil:
    """_macro_kernel for an offset B (NOTE [ Offset-B GEMM ]): columns jc .. jc+nc in
    tiles of two half-slivers (the table's offb_w columns, NR/2), each within one B row
    (b_row_len columns), read in place from b_src + (j // b_row_len) * b_row_pitch + j %
    b_row_len.  A tile's second half starts where its first ends, so C's columns stay
    contiguous: a first half cut short by a row's end is a tile of its own."""
    cdef int t = 0 if real is float else 1
    cdef int64_t jr = 0, ir, j, nr, d1, len0, len1, start0, start1
    cdef int64_t H = g.kt.offb_w[t]
    cdef int64_t MR = g.kt.mr[t]
    cdef const real* b
    cdef strided_sgemm_offb_ukr_t sok = g.kt.soffb
    cdef strided_dgemm_offb_ukr_t dok = g.kt.doffb
    while jr < nc:
        j = jc + jr
        len0 = _run_in_row(g, j, nc - jr, H, &start0)
        nr = len0
        d1 = H
        if len0 == H and jr + H < nc:
            len1 = _run_in_row(g, j + H, nc - jr - H, H, &start1)
            d1 = start1 - start0
            nr = H + len1
        b = <const real*>g.b_src + start0
        ir = 0
        while ir < mc:
            if real is float:
                sok(kc, a_pk + ir * kc, b, b_off, d1, C + ir * rsC + jr * csC, rsC, csC,
                    min(MR, mc - ir), nr, alpha, beta)
            else:
                dok(kc, a_pk + ir * kc, b, b_off, d1, C + ir * rsC + jr * csC, rsC, csC,
                    min(MR, mc - ir), nr, alpha, beta)
            ir += MR
        jr += nr


cdef inline int64_t _run_in_row(const GemmArgs* g, int64_t j, int64_t left, int64_t H,
                                int64_t* start) noexcept nogil:
    """Columns from j (at most H and `left`) before the end of j's B row; start: j's offset
    in b_src."""
    cdef int64_t row = j // g.b_row_len, col = j - row * g.b_row_len
    start[0] = row * g.b_row_pitch + col
    return min(H, min(left, g.b_row_len - col))


cdef void _macro_kernel(const strided_gemm_kernels* kt, int64_t mc, int64_t nc, int64_t kc,
                        real alpha, const real* a_pk, const real* b_pk, real beta, real* C,
                        int64_t rsC, int64_t csC) noexcept nogil:
    """Loops 4 and 5 (over NR slivers of packed B, then MR slivers of packed A) around
    the micro-kernel: the B sliver stays in L1 while A's slivers stream from L2."""
    cdef int t = 0 if real is float else 1
    cdef int64_t MR = kt.mr[t], NR = kt.nr[t]
    cdef int64_t jr = 0, ir
    cdef strided_sgemm_ukr_t sk = kt.sukr
    cdef strided_dgemm_ukr_t dk = kt.dukr
    while jr < nc:
        ir = 0
        while ir < mc:
            if real is float:
                sk(kc, a_pk + ir * kc, b_pk + jr * kc, C + ir * rsC + jr * csC, rsC, csC,
                   min(MR, mc - ir), min(NR, nc - jr), alpha, beta)
            else:
                dk(kc, a_pk + ir * kc, b_pk + jr * kc, C + ir * rsC + jr * csC, rsC, csC,
                   min(MR, mc - ir), min(NR, nc - jr), alpha, beta)
            ir += MR
        jr += NR


cdef int _gemm_part(const real* A, real* C, const GemmArgs* g, int64_t i0, int64_t i1,
                    int64_t j0, int64_t j1) noexcept nogil:
    """C[i0:i1, j0:j1] = alpha * A[i0:i1, :] @ B[:, j0:j1] + beta * C[i0:i1, j0:j1] on
    this thread (A, C point at element (0, 0) of the whole matrices).

    NOTE [ GEMM loops ]
        for jc in 0..n step NC:                     loop 1
            for pc in 0..k step KC:                 loop 2: pack B[pc:, jc:] (KC x NC)
                for ic in 0..m step MC:             loop 3: pack A[ic:, pc:] (MC x KC)
                    for jr in 0..NC step NR:        loop 4  (_macro_kernel)
                        for ir in 0..MC step MR:    loop 5
                            micro-kernel: C[ic+ir:, jc+jr:] (MR x NR) += A sliver . B sliver
    beta scales C in the first KC step only; later steps accumulate (beta = 1).  Blocks of
    K (and M, N) are balanced -- k = 257 runs as 129 + 128, not 256 + 1 -- and M, N block
    edges fall on multiples of MR, NR, so every tile's arithmetic (and thus the result)
    is the same whatever the thread split.
    """
    cdef int t = 0 if real is float else 1
    cdef const strided_gemm_kernels* kt = g.kt
    cdef int64_t MR = kt.mr[t], NR = kt.nr[t]
    cdef int64_t m = i1 - i0, n = j1 - j0, k = g.k
    cdef int64_t KC = _kc(kt, t) if g.kc_max <= 0 or g.kc_max > _kc(kt, t) else g.kc_max
    cdef int64_t kc_blk = _cdiv(k, _cdiv(k, KC))
    cdef int64_t mc_blk = _round_up(_cdiv(m, _cdiv(m, _mc(kt, t))), MR)
    cdef int64_t nc_blk = _round_up(_cdiv(n, _cdiv(n, _nc(kt, t))), NR)
    cdef int64_t jc, pc, ic, nc, kc, mc
    cdef real alpha = <real>g.alpha, beta = <real>g.beta, beta_k
    cdef strided_gemm_bufs* bufs
    cdef real* a_pk
    cdef real* b_pk
    if m <= 0 or n <= 0:
        return 0
    bufs = strided_gemm_bufs_acquire(mc_blk * kc_blk * sizeof(real),
                                     0 if g.b_off != NULL else kc_blk * nc_blk * sizeof(real))
    if bufs == NULL:
        return -1
    a_pk = <real*>bufs.a
    b_pk = <real*>bufs.b
    jc = j0
    while jc < j1:
        nc = min(nc_blk, j1 - jc)
        pc = 0
        while pc < k:
            kc = min(kc_blk, k - pc)
            if g.b_off == NULL:
                g.pack_b(g.b_src, pc, kc, jc, nc, <char*>b_pk)
            beta_k = beta if pc == 0 else 1
            ic = i0
            while ic < i1:
                mc = min(mc_blk, i1 - ic)
                if g.a_off == NULL:
                    _pack_a(kt, a_pk, A + ic * g.rsA + pc * g.csA, g.rsA, g.csA, mc, kc)   # NOTE [ Packing A ]
                elif real is float:        # NOTE [ Packing A from row offsets ]
                    kt.spack_a_off(a_pk, A + pc, g.a_off + ic, mc, kc)
                else:
                    kt.dpack_a_off(a_pk, A + pc, g.a_off + ic, mc, kc)
                if g.b_off == NULL:
                    _macro_kernel(kt, mc, nc, kc, alpha, a_pk, b_pk, beta_k,
                                  C + ic * g.rsC + jc * g.csC, g.rsC, g.csC)
                else:
                    _macro_kernel_offb(mc, nc, kc, alpha, a_pk, g, jc, g.b_off + pc, beta_k,
                                       C + ic * g.rsC + jc * g.csC, g.rsC, g.csC)
                ic += mc
            pc += kc
        jc += nc
    strided_gemm_bufs_release(bufs)
    return 0


cdef int _gemm_thread(const GemmArgs* g, int t, int tm, int tn) noexcept nogil:
    """Thread t's share of the product: block (t % tm, t // tm) of a tm x tn grid over C,
    cut on MR / NR multiples so the shares differ by at most one tile row / column."""
    cdef int64_t MR = g.kt.mr[_t(g.dtype_num)], NR = g.kt.nr[_t(g.dtype_num)]
    cdef int64_t um = _cdiv(g.m, MR), un = _cdiv(g.n, NR)
    cdef int r = t % tm, s = t // tm
    cdef int64_t i0 = min(g.m, um * r // tm * MR), i1 = min(g.m, um * (r + 1) // tm * MR)
    cdef int64_t j0 = min(g.n, un * s // tn * NR), j1 = min(g.n, un * (s + 1) // tn * NR)
    if g.dtype_num == FLOAT32:
        return _gemm_part(<const float*>g.A, <float*>g.C, g, i0, i1, j0, j1)
    return _gemm_part(<const double*>g.A, <double*>g.C, g, i0, i1, j0, j1)


cdef int _thread_grid(const GemmArgs* g, int nthreads, int* tm_out, int* tn_out) noexcept nogil:
    """The thread grid tm x tn for the packed product on up to nthreads threads; returns
    tm * tn (1: run on the calling thread).

    It minimises the busiest thread's time per k, in micro-kernel cycles: its tiles
    (ceil(um/tm) * ceil(un/tn), MR*NR/16 cycles each on two FMA pipes of 8 lanes) plus the
    rows of A and columns of B it packs (~1 cycle each).  So the fully-connected 64 x 4096
    splits N (each thread packs all of the small A, half of B); squares split whichever way
    cuts the tiles more evenly.  Grids with more threads than tile rows / columns are never
    chosen (fewer threads are used instead); _force_thread_rows overrides the choice among
    the others."""
    cdef int64_t MR = g.kt.mr[_t(g.dtype_num)], NR = g.kt.nr[_t(g.dtype_num)]
    cdef int64_t um = _cdiv(g.m, MR), un = _cdiv(g.n, NR)
    cdef int tm = 1, tn = 1, a, b
    cdef int64_t cost, best = -1, tiles_m, tiles_n
    if nthreads > MAX_THREADS:
        nthreads = MAX_THREADS
    while nthreads > 1:
        for a in range(1, nthreads + 1):
            if nthreads % a:
                continue
            b = nthreads // a
            if a > um or b > un:
                continue
            tiles_m = _cdiv(um, a)
            tiles_n = _cdiv(un, b)
            cost = tiles_m * tiles_n * MR * NR // 16 + tiles_m * MR + tiles_n * NR
            if _forced_tm and a != _forced_tm:
                cost += (<int64_t>1) << 60
            if best < 0 or cost < best:
                best = cost
                tm = a
                tn = b
        if best >= 0:
            break
        nthreads -= 1           # too few tiles for this many threads
    if nthreads <= 1:
        tm = tn = 1
    tm_out[0] = tm
    tn_out[0] = tn
    return tm * tn


cdef int _gemm_packed(const GemmArgs* g, int nthreads) noexcept nogil:
    """The packed product on up to nthreads threads, each owning a block of C on the grid
    _thread_grid picks.  A thread packs its own A blocks and B panels, so threads never
    wait on each other; the grid changes no result (NOTE [ GEMM loops ])."""
    cdef int tm, tn, t, nt
    cdef int errs[MAX_THREADS]
    nt = _thread_grid(g, nthreads, &tm, &tn)
    if nt <= 1:
        return _gemm_thread(g, 0, 1, 1)
    for t in prange(nt, num_threads=nt, schedule="static"):
        errs[t] = _gemm_thread(g, t, tm, tn)
    for t in range(nt):
        if errs[t]:
            return -1
    return 0


# --------------------------------------------------------------------------------------
# Small products, matrix-vector shapes, C = beta * C
# --------------------------------------------------------------------------------------

cdef void _scale(real* C, int64_t m, int64_t n, int64_t rsC, int64_t csC, real beta) noexcept nogil:
    """C = beta * C (beta == 0 writes zeros without reading C)."""
    cdef int64_t i, j
    if beta == 1:
        return
    for i in range(m):
        if beta == 0:
            for j in range(n):
                C[i * rsC + j * csC] = 0
        else:
            for j in range(n):
                C[i * rsC + j * csC] = beta * C[i * rsC + j * csC]


cdef void _gemm_direct(const strided_gemm_kernels* kt, const real* A, int64_t rsA,
                       int64_t csA, const real* B, int64_t rsB, real* C, int64_t rsC,
                       int64_t csC, int64_t m, int64_t n, int64_t k, real alpha,
                       real beta) noexcept nogil:
    """The small-product path: no packing, one thread.  The table's direct kernels read A in
    place through any strides and a row-major B (csB == 1) in place, tile by tile.  For k
    up to KC the FMAs are the packed path's, in the same order, so the results are
    identical (beyond KC the packed path adds up K blocks separately).

    For products this small, packing is not what costs (it is a few percent), but each
    packed call also claims buffers and sizes blocks, which a batch of thousands of 8 x 8
    products pays thousands of times."""
    cdef int t = 0 if real is float else 1
    cdef int64_t MR = kt.mr[t], NR = kt.nr[t]
    cdef int64_t ir, jr = 0
    while jr < n:           # the B sliver stays in L1 while the rows of A go by
        ir = 0
        while ir < m:
            if real is float:
                kt.sdirect(k, A + ir * rsA, rsA, csA, B + jr, rsB, C + ir * rsC + jr * csC,
                           rsC, csC, min(MR, m - ir), min(NR, n - jr), alpha, beta)
            else:
                kt.ddirect(k, A + ir * rsA, rsA, csA, B + jr, rsB, C + ir * rsC + jr * csC,
                           rsC, csC, min(MR, m - ir), min(NR, n - jr), alpha, beta)
            ir += MR
        jr += NR


cdef void _gemv_rows(const strided_gemm_kernels* kt, const real* M, int64_t rsM, int64_t csM, const real* x, int64_t incx,
                     real* y, int64_t incy, int64_t k, real alpha, real beta,
                     int64_t i0, int64_t i1) noexcept nogil:
    """y[i] = alpha * sum_p M[i, p] x[p] + beta * y[i] for i in [i0, i1): a streaming
    matrix-vector product (each element of M is used once, so nothing is packed)."""
    cdef int64_t i, p, l, ib, nb
    cdef real acc[8]
    cdef real tmp[GEMV_IB]
    cdef real s, xp
    cdef const real* row
    cdef const real* col
    cdef real* yp
    if real is float:
        if kt.sgemv != NULL and kt.sgemv(M, rsM, csM, x, incx, y, incy, k, alpha, beta, i0, i1):
            return
    else:
        if kt.dgemv != NULL and kt.dgemv(M, rsM, csM, x, incx, y, incy, k, alpha, beta, i0, i1):
            return
    if rsM == 1 and csM != 1:
        # column-major M: axpy down each column into a block of accumulators
        ib = i0
        while ib < i1:
            nb = min(<int64_t>GEMV_IB, i1 - ib)
            for l in range(nb):
                tmp[l] = 0
            for p in range(k):
                xp = x[p * incx]
                col = M + p * csM + ib
                for l in range(nb):
                    tmp[l] = tmp[l] + xp * col[l]
            for l in range(nb):
                yp = y + (ib + l) * incy
                yp[0] = alpha * tmp[l] if beta == 0 else alpha * tmp[l] + beta * yp[0]
            ib += nb
        return
    for i in range(i0, i1):
        row = M + i * rsM
        if csM == 1 and incx == 1:
            # 8 interleaved partial sums: vectorisable without reassociating the compiler's way
            for l in range(8):
                acc[l] = 0
            p = 0
            while p + 8 <= k:
                for l in range(8):
                    acc[l] = acc[l] + row[p + l] * x[p + l]
                p += 8
            s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
            while p < k:
                s = s + row[p] * x[p]
                p += 1
        else:
            s = 0
            for p in range(k):
                s = s + row[p * csM] * x[p * incx]
        yp = y + i * incy
        yp[0] = alpha * s if beta == 0 else alpha * s + beta * yp[0]


cdef void _gemv(const strided_gemm_kernels* kt, const real* M, int64_t rsM, int64_t csM, const real* x, int64_t incx,
                real* y, int64_t incy, int64_t m, int64_t k, real alpha, real beta,
                int nthreads) noexcept nogil:
    cdef int64_t chunk
    cdef int t, nt = num_threads_for(m * k, GEMV_GRAIN)
    if nt > nthreads:
        nt = nthreads
    if nt > m:
        nt = <int>m
    if nt <= 1:
        _gemv_rows(kt, M, rsM, csM, x, incx, y, incy, k, alpha, beta, 0, m)
        return
    chunk = _cdiv(m, nt)
    for t in prange(nt, num_threads=nt, schedule="static"):
        _gemv_rows(kt, M, rsM, csM, x, incx, y, incy, k, alpha, beta, t * chunk,
                   min(m, (t + 1) * chunk))


cdef enum:
    PATH_SCALE = 0      # k == 0 or alpha == 0: C = beta * C
    PATH_GEMV_N = 1     # n == 1: y = A x
    PATH_GEMV_M = 2     # m == 1: c^T = B^T a^T
    PATH_DIRECT = 3     # small, B row-major: _gemm_direct on A, B
    PATH_DIRECT_T = 4   # small, A column-major: _gemm_direct on C^T = B^T A^T
    PATH_PACKED = 5     # the five loops

cdef int _float_path(const GemmArgs* g, const StridedOperand* b) noexcept nogil:
    """Which path a float product takes (b: B's layout, or NULL for a custom packer).

    NOTE [ GEMM paths ]
    The direct (unpacked) path needs a table with direct kernels (avx2, avx512), m*n*k <=
    _small_work (SMALL_WORK),
    and one operand it can stream in place: a row-major B (csB == 1), or else a column-major
    A (rsA == 1), as the row-major B^T of C^T = B^T A^T.  Anything else -- A @ B^T with
    both row-major, both strides non-unit, the reference kernels, an implicit GEMM's
    packer -- is packed, however small."""
    cdef bint alpha_zero = (<float>g.alpha == 0) if g.dtype_num == FLOAT32 else g.alpha == 0
    if g.k == 0 or alpha_zero:
        return PATH_SCALE
    if b == NULL:
        return PATH_PACKED
    if g.n == 1:
        return PATH_GEMV_N
    if g.m == 1:
        return PATH_GEMV_M
    if g.m * g.n * g.k <= _small_work and g.kt.sdirect != NULL:
        if b.cs == 1:
            return PATH_DIRECT
        if g.rsA == 1:
            return PATH_DIRECT_T
    return PATH_PACKED


cdef int _gemm_float(real* C, const GemmArgs* g, const StridedOperand* b, int nthreads) noexcept nogil:
    """Run a float product on the path _float_path picks."""
    cdef real alpha = <real>g.alpha, beta = <real>g.beta
    cdef int path = _float_path(g, b)
    if path == PATH_SCALE:
        _scale(C, g.m, g.n, g.rsC, g.csC, beta)
    elif path == PATH_GEMV_N:
        _gemv(g.kt, <const real*>g.A, g.rsA, g.csA, <const real*>b.data, b.rs, C, g.rsC,
              g.m, g.k, alpha, beta, nthreads)
    elif path == PATH_GEMV_M:
        _gemv(g.kt, <const real*>b.data, b.cs, b.rs, <const real*>g.A, g.csA, C, g.csC,
              g.n, g.k, alpha, beta, nthreads)
    elif path == PATH_DIRECT:
        _gemm_direct(g.kt, <const real*>g.A, g.rsA, g.csA, <const real*>b.data, b.rs,
                     C, g.rsC, g.csC, g.m, g.n, g.k, alpha, beta)
    elif path == PATH_DIRECT_T:
        _gemm_direct(g.kt, <const real*>b.data, b.cs, b.rs, <const real*>g.A, g.csA,
                     C, g.csC, g.rsC, g.n, g.m, g.k, alpha, beta)
    else:
        return _gemm_packed(g, nthreads)
    return 0


# --------------------------------------------------------------------------------------
# Integer dtypes
# --------------------------------------------------------------------------------------

cdef void _int_rows(const int_t* A, const int_t* B, int_t* C, const GemmArgs* g,
                    int64_t rsB, int64_t csB, int64_t i0, int64_t i1) noexcept nogil:
    """Rows [i0, i1) of C = alpha * A @ B + beta * C with wrap-around arithmetic: every
    product and sum is done mod 2**64 and the result truncated to C's width, which gives
    the same bits as doing it all in the narrow type (as PyTorch's integer matmul does)."""
    cdef uint64_t acc[INT_JB]
    cdef uint64_t av, v
    cdef uint64_t alpha = <uint64_t><int64_t>g.alpha, beta = <uint64_t><int64_t>g.beta
    cdef int64_t i, j0, jb, p, j
    cdef const int_t* bp
    cdef int_t* cp
    for i in range(i0, i1):
        j0 = 0
        while j0 < g.n:
            jb = min(<int64_t>INT_JB, g.n - j0)
            for j in range(jb):
                acc[j] = 0
            for p in range(g.k):
                av = <uint64_t><int64_t>A[i * g.rsA + p * g.csA]
                if av == 0:
                    continue
                bp = B + p * rsB + j0 * csB
                for j in range(jb):
                    acc[j] += av * <uint64_t><int64_t>bp[j * csB]
            for j in range(jb):
                cp = C + i * g.rsC + (j0 + j) * g.csC
                v = alpha * acc[j]
                if beta != 0:
                    v += beta * <uint64_t><int64_t>cp[0]
                cp[0] = <int_t>v
            j0 += jb


cdef void _gemm_int(const int_t* A, const int_t* B, int_t* C, const GemmArgs* g,
                    int64_t rsB, int64_t csB, int nthreads) noexcept nogil:
    cdef int64_t chunk, i, j
    cdef uint64_t beta = <uint64_t><int64_t>g.beta
    cdef int_t* cp
    cdef int t, nt
    if g.k == 0 or <int64_t>g.alpha == 0:
        if beta != 1:
            for i in range(g.m):
                for j in range(g.n):
                    cp = C + i * g.rsC + j * g.csC
                    cp[0] = 0 if beta == 0 else <int_t>(beta * <uint64_t><int64_t>cp[0])
        return
    nt = num_threads_for(g.m * g.n * g.k, GEMM_GRAIN // 8)
    if nt > nthreads:
        nt = nthreads
    if nt > g.m:
        nt = <int>g.m
    if nt <= 1:
        _int_rows(A, B, C, g, rsB, csB, 0, g.m)
        return
    chunk = _cdiv(g.m, nt)
    for t in prange(nt, num_threads=nt, schedule="static"):
        _int_rows(A, B, C, g, rsB, csB, t * chunk, min(g.m, (t + 1) * chunk))


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------

cdef void _strided_args(GemmArgs* g, StridedOperand* b, int dtype_num, int64_t m, int64_t n,
                        int64_t k, double alpha, const char* A, int64_t rsA, int64_t csA,
                        const char* B, int64_t rsB, int64_t csB,
                        double beta, char* C, int64_t rsC, int64_t csC) noexcept nogil:
    """Fill g and b for gemm_strided_threads's product."""
    if csC != 1 and rsC == 1:
        # Column-major C: compute C^T = B^T A^T instead, so the micro-kernel stores rows.
        m, n = n, m
        A, B = B, A
        rsA, csA, rsB, csB = csB, rsB, csA, rsA
        rsC, csC = csC, rsC
    g.dtype_num = dtype_num
    g.kt = _kt
    g.m = m
    g.n = n
    g.k = k
    g.alpha = alpha
    g.beta = beta
    g.A = A
    g.rsA = rsA
    g.csA = csA
    g.a_off = NULL
    g.C = C
    g.rsC = rsC
    g.csC = csC
    b.data = B
    b.rs = rsB
    b.cs = csB
    b.dtype_num = dtype_num
    b.kt = _kt
    g.pack_b = pack_b_strided
    g.b_src = b
    g.b_off = NULL
    g.kc_max = 0


cdef int gemm_strided_threads(int dtype_num, int64_t m, int64_t n, int64_t k, double alpha,
                              const char* A, int64_t rsA, int64_t csA,
                              const char* B, int64_t rsB, int64_t csB,
                              double beta, char* C, int64_t rsC, int64_t csC,
                              int nthreads) noexcept nogil:
    cdef GemmArgs g
    cdef StridedOperand b
    if m <= 0 or n <= 0:
        return 0
    _strided_args(&g, &b, dtype_num, m, n, k, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC)
    if dtype_num == FLOAT32:
        return _gemm_float(<float*>g.C, &g, &b, nthreads)
    if dtype_num == FLOAT64:
        return _gemm_float(<double*>g.C, &g, &b, nthreads)
    if dtype_num == INT64:
        _gemm_int(<const int64_t*>g.A, <const int64_t*>b.data, <int64_t*>g.C, &g,
                  b.rs, b.cs, nthreads)
    elif dtype_num == INT32:
        _gemm_int(<const int32_t*>g.A, <const int32_t*>b.data, <int32_t*>g.C, &g,
                  b.rs, b.cs, nthreads)
    else:       # UINT8 (and BOOL's bytes, if a caller wants them)
        _gemm_int(<const uint8_t*>g.A, <const uint8_t*>b.data, <uint8_t*>g.C, &g,
                  b.rs, b.cs, nthreads)
    return 0


cdef inline int _threads_for(int64_t m, int64_t n, int64_t k) noexcept nogil:
    cdef int64_t work = m * n
    if k > 1:
        work *= k
    return num_threads_for(work, GEMM_GRAIN)


cdef int gemm_strided(int dtype_num, int64_t m, int64_t n, int64_t k, double alpha,
                      const char* A, int64_t rsA, int64_t csA,
                      const char* B, int64_t rsB, int64_t csB,
                      double beta, char* C, int64_t rsC, int64_t csC) noexcept nogil:
    return gemm_strided_threads(dtype_num, m, n, k, alpha, A, rsA, csA, B, rsB, csB,
                                beta, C, rsC, csC, _threads_for(m, n, k))


cdef int _gemm_custom(GemmArgs* g, int nthreads) noexcept nogil:
    """The packed product of a GemmArgs with a custom operand (a packer, row offsets)."""
    if g.m <= 0 or g.n <= 0:
        return 0
    if g.dtype_num == FLOAT32:
        return _gemm_float(<float*>g.C, g, NULL, nthreads)
    return _gemm_float(<double*>g.C, g, NULL, nthreads)


cdef int gemm_packed_b(int dtype_num, int64_t m, int64_t n, int64_t k, double alpha,
                       const char* A, int64_t rsA, int64_t csA,
                       pack_b_fn pack_b, const void* b_src,
                       double beta, char* C, int64_t rsC, int64_t csC,
                       int nthreads) noexcept nogil:
    cdef GemmArgs g = GemmArgs(dtype_num, _kt, m, n, k, alpha, beta, A, rsA, csA, NULL, pack_b,
                               b_src, NULL, 0, 0, C, rsC, csC, 0)
    return _gemm_custom(&g, nthreads)


cdef int gemm_offset_a(int dtype_num, int64_t m, int64_t n, int64_t k, double alpha,
                       const char* A, const int64_t* a_off,
                       const char* B, int64_t rsB, int64_t csB,
                       double beta, char* C, int64_t rsC, int64_t csC,
                       int nthreads) noexcept nogil:
    cdef StridedOperand b = StridedOperand(B, rsB, csB, dtype_num, _kt)
    cdef GemmArgs g = GemmArgs(dtype_num, _kt, m, n, k, alpha, beta, A, 0, 1, a_off,
                               pack_b_strided, &b, NULL, 0, 0, C, rsC, csC, 0)
    return _gemm_custom(&g, nthreads)


cdef int gemm_offset_b(int dtype_num, int64_t m, int64_t n, int64_t k, double alpha,
                       const char* A, int64_t rsA, int64_t csA,
                       const char* b, const int64_t* b_off, int64_t b_row_len,
                       int64_t b_row_pitch, int64_t kc_max, double beta, char* C,
                       int64_t rsC, int64_t csC, int nthreads) noexcept nogil:
    cdef GemmArgs g = GemmArgs(dtype_num, _kt, m, n, k, alpha, beta, A, rsA, csA, NULL, NULL, b,
                               b_off, b_row_len if b_row_len > 0 else n,
                               b_row_pitch if b_row_len > 0 else n, C, rsC, csC, kc_max)
    return _gemm_custom(&g, nthreads)


cdef int64_t gemm_packed_a_elems(int dtype_num, int64_t m, int64_t k) noexcept nogil:
    return _round_up(m, _kt.mr[_t(dtype_num)]) * k


cdef void gemm_pack_a(int dtype_num, const char* A, int64_t rsA, int64_t csA, int64_t m,
                      int64_t k, char* a_pk) noexcept nogil:
    if dtype_num == FLOAT32:
        _pack_a(_kt, <float*>a_pk, <const float*>A, rsA, csA, m, k)
    else:
        _pack_a(_kt, <double*>a_pk, <const double*>A, rsA, csA, m, k)


cdef void gemm_offset_b_block(int dtype_num, int64_t m, int64_t n, int64_t k,
                              const char* a_pk, const char* b, const int64_t* b_off,
                              double beta, char* C, int64_t rsC) noexcept nogil:
    cdef GemmArgs g = GemmArgs(dtype_num, _kt, m, n, k, 1.0, beta, NULL, 0, 0, NULL, NULL, b,
                               b_off, n, n, C, rsC, 1, k)
    if m <= 0 or n <= 0:
        return
    if dtype_num == FLOAT32:
        _macro_kernel_offb(m, n, k, <float>1, <const float*>a_pk, &g, 0, b_off, <float>beta,
                           <float*>C, rsC, 1)
    else:
        _macro_kernel_offb(m, n, k, <double>1, <const double*>a_pk, &g, 0, b_off, beta,
                           <double*>C, rsC, 1)


cdef int _batch_range(int dtype_num, int64_t b0, int64_t b1, const int64_t* offsets,
                      int64_t m, int64_t n, int64_t k, double alpha,
                      const char* A, int64_t rsA, int64_t csA,
                      const char* B, int64_t rsB, int64_t csB,
                      double beta, char* C, int64_t rsC, int64_t csC, int nthreads) noexcept nogil:
    cdef int64_t b
    cdef int64_t size = 8 if dtype_num == INT64 or dtype_num == FLOAT64 else \
        4 if dtype_num == INT32 or dtype_num == FLOAT32 else 1
    for b in range(b0, b1):
        if gemm_strided_threads(dtype_num, m, n, k, alpha,
                                A + offsets[3 * b] * size, rsA, csA,
                                B + offsets[3 * b + 1] * size, rsB, csB,
                                beta, C + offsets[3 * b + 2] * size, rsC, csC, nthreads):
            return -1
    return 0


cdef int gemm_batched(int dtype_num, int64_t batch, const int64_t* offsets,
                      int64_t m, int64_t n, int64_t k, double alpha,
                      const char* A, int64_t rsA, int64_t csA,
                      const char* B, int64_t rsB, int64_t csB,
                      double beta, char* C, int64_t rsC, int64_t csC) noexcept nogil:
    cdef int64_t work = m * n * (k if k > 1 else 1), chunk
    cdef int nt = num_threads_for(work * batch, GEMM_GRAIN), t
    cdef int errs[MAX_THREADS]
    if batch <= 0 or m <= 0 or n <= 0:
        return 0
    if nt > MAX_THREADS:
        nt = MAX_THREADS
    if nt <= 1 or work >= BATCH_SPLIT_WORK or batch < nt:
        return _batch_range(dtype_num, 0, batch, offsets, m, n, k, alpha, A, rsA, csA,
                            B, rsB, csB, beta, C, rsC, csC, _threads_for(m, n, k))
    chunk = _cdiv(batch, nt)
    for t in prange(nt, num_threads=nt, schedule="static"):
        errs[t] = _batch_range(dtype_num, t * chunk, min(batch, (t + 1) * chunk), offsets,
                               m, n, k, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC, 1)
    for t in range(nt):
        if errs[t]:
            return -1
    return 0


# --------------------------------------------------------------------------------------
# Private switches for tests and benchmarks
# --------------------------------------------------------------------------------------

cdef const strided_gemm_kernels* _table(name) except NULL:
    cdef int i
    for i in range(STRIDED_GEMM_TABLES):
        if strided_gemm_tables[i].name != NULL and strided_gemm_tables[i].name.decode() == name:
            if strided_gemm_tables[i].isa > isa_level():
                break
            return &strided_gemm_tables[i]
    raise ValueError(f"GEMM kernel table must be 'auto' or one of {_kernel_tables()}, "
                     f"not {name!r}")


def _kernel_tables():
    """Names of the kernel tables this CPU (under STRIDED_ISA's cap) can run, the portable
    one first (NOTE [ GEMM kernel tables ] in gemm_kernel.h)."""
    return [strided_gemm_tables[i].name.decode() for i in range(STRIDED_GEMM_TABLES)
            if strided_gemm_tables[i].name != NULL and strided_gemm_tables[i].isa <= isa_level()]


def _default_table():
    """The table "auto" picks: the widest this CPU (under STRIDED_ISA's cap) runs; the
    avx512_on_avx2 one is for tests only."""
    names = [n for n in _kernel_tables() if n != "avx512_on_avx2"]
    return names[len(names) - 1]


def _set_kernel(name):
    """Run every entry point (the convolution's included) on the kernel table `name`
    ("auto": the one chosen at import).  Returns the name now in use.  Not to be called
    while another thread is inside the GEMM or a convolution: their callers read the tile
    once per call."""
    global _kt
    _kt = _table(_default_table() if name == "auto" else name)
    return _kernel_name()


def _kernel_name():
    """The kernel table gemm_strided uses."""
    return _kt.name.decode()


def _panel_kernel_name():
    """The kernel table of the entry points taking a packer or offsets (the convolution's):
    the one gemm_strided uses."""
    return _kt.name.decode()


def _table_info(name=None):
    """{"name", "isa", "float32": {"mr", "nr", "mc", "kc", "nc", "offb_w", "offb_reach"},
    "float64": {...}} of a table (default: the one in use), block sizes as they apply
    now."""
    cdef const strided_gemm_kernels* kt = _kt if name is None else _table(name)
    info = {"name": kt.name.decode(), "isa": ("baseline", "avx2", "avx512")[kt.isa]}
    for t, dt in enumerate(("float32", "float64")):
        info[dt] = {"mr": kt.mr[t], "nr": kt.nr[t], "mc": _mc(kt, t), "kc": _kc(kt, t),
                    "nc": _nc(kt, t), "offb_w": kt.offb_w[t], "offb_reach": kt.offb_reach[t]}
    return info


def _set_block_sizes(dtype_name, sizes):
    """Override MC, KC, NC for "float32" or "float64" in every table: sizes = (mc, kc, nc),
    or None for the tables' own (tests use small ones to cross every block edge with small
    matrices; MC and NC are rounded up to MR and NR where used).  Returns the previous
    override, or None."""
    cdef int t = 0 if dtype_name == "float32" else 1
    old = None if _MC_set[t] == 0 else (_MC_set[t], _KC_set[t], _NC_set[t])
    if sizes is None:
        _MC_set[t] = _KC_set[t] = _NC_set[t] = 0
        return old
    mc, kc, nc = sizes
    if mc < 1 or kc < 1 or nc < 1:
        raise ValueError("block sizes must be positive")
    _MC_set[t], _KC_set[t], _NC_set[t] = mc, kc, nc
    return old


def _block_sizes(dtype_name):
    """(MC, KC, NC) of the table in use, as they apply now."""
    cdef int t = 0 if dtype_name == "float32" else 1
    return (_mc(_kt, t), _kc(_kt, t), _nc(_kt, t))


def _set_small_work(n):
    """The largest m*n*k taking the unpacked path (0: never); returns the previous value."""
    global _small_work
    old = _small_work
    _small_work = n
    return old


def _force_thread_rows(tm):
    """Make the packed path's thread grid tm x (threads // tm) whenever tm divides the
    thread count and there are at least tm tile rows and threads // tm tile columns
    (0: automatic).  _thread_grid_for tells which grid a product gets."""
    global _forced_tm
    _forced_tm = tm


_PATH_NAMES = ("scale", "gemv_n", "gemv_m", "direct", "direct_t", "packed")


def _path(dtype_name, m, n, k, alpha=1.0, rsA=None, csA=1, rsB=None, csB=1, rsC=None, csC=1):
    """The path gemm_strided takes for a float product of these sizes and strides (row-major
    by default): "scale", "gemv_n", "gemv_m", "direct", "direct_t" or "packed" (NOTE [ GEMM
    paths ]); "none" when m or n is 0."""
    cdef GemmArgs g
    cdef StridedOperand b
    cdef int dt = FLOAT32 if dtype_name == "float32" else FLOAT64
    if m <= 0 or n <= 0:
        return "none"
    _strided_args(&g, &b, dt, m, n, k, alpha, NULL, k if rsA is None else rsA, csA,
                  NULL, n if rsB is None else rsB, csB, 0.0, NULL, n if rsC is None else rsC, csC)
    return _PATH_NAMES[_float_path(&g, &b)]


def _thread_grid_for(dtype_name, m, n, nthreads):
    """(tm, tn): the thread grid of a packed m x n product on up to nthreads threads (row-
    major C; the current _force_thread_rows applies)."""
    cdef GemmArgs g
    cdef int tm, tn
    g.dtype_num = FLOAT32 if dtype_name == "float32" else FLOAT64
    g.kt = _kt
    g.m = m
    g.n = n
    _thread_grid(&g, nthreads, &tm, &tn)
    return (tm, tn)


def _offset_b_product(table, A, buf, b_off, n, row_len, row_pitch, kc_max=0, nthreads=1):
    """Test hook: A @ B on kernel table `table` through gemm_offset_b (NOTE [ Offset-B
    GEMM ]), B[p, j] = buf[b_off[p] + (j // row_len) * row_pitch + j % row_len]; A a
    C-contiguous float32/float64 NumPy matrix, buf of its dtype (readable the table's
    offb_reach elements past every row's end), b_off int64.  Returns C as a new NumPy
    array."""
    import numpy as np
    global _kt
    cdef const strided_gemm_kernels* old = _kt
    cdef int dt = FLOAT32 if A.dtype == np.float32 else FLOAT64
    cdef int64_t m = A.shape[0], k = A.shape[1]
    C = np.full((m, n), np.nan, A.dtype)
    cdef size_t pa = A.ctypes.data, pb = buf.ctypes.data, po = b_off.ctypes.data, pc = C.ctypes.data
    cdef int64_t nc = n, rl = row_len, rp = row_pitch, kcm = kc_max
    cdef int nt = nthreads, err
    _kt = _table(table)
    try:
        with nogil:
            err = gemm_offset_b(dt, m, nc, k, 1.0, <const char*>pa, k, 1, <const char*>pb,
                                <const int64_t*>po, rl, rp, kcm, 0.0, <char*>pc, nc, 1, nt)
    finally:
        _kt = old
    if err:
        raise MemoryError()
    return C


def _offset_a_product(table, buf, a_off, B, nthreads=1):
    """Test hook: A @ B on kernel table `table` through gemm_offset_a (NOTE [ Offset-A
    GEMM ]), A[i, p] = buf[a_off[i] + p] for p < B.shape[0]; B a C-contiguous NumPy matrix
    of buf's dtype, a_off int64.  Returns C as a new NumPy array."""
    import numpy as np
    global _kt
    cdef const strided_gemm_kernels* old = _kt
    cdef int dt = FLOAT32 if B.dtype == np.float32 else FLOAT64
    cdef int64_t m = a_off.shape[0], k = B.shape[0], n = B.shape[1]
    C = np.full((m, n), np.nan, B.dtype)
    cdef size_t pa = buf.ctypes.data, po = a_off.ctypes.data, pb = B.ctypes.data, pc = C.ctypes.data
    cdef int nt = nthreads, err
    _kt = _table(table)
    try:
        with nogil:
            err = gemm_offset_a(dt, m, n, k, 1.0, <const char*>pa, <const int64_t*>po,
                                <const char*>pb, n, 1, 0.0, <char*>pc, n, 1, nt)
    finally:
        _kt = old
    if err:
        raise MemoryError()
    return C


def _trim_buffers():
    """Free the idle packing buffers (they are re-allocated on the next product)."""
    strided_gemm_bufs_trim()


for _i in range(STRIDED_GEMM_TABLES):       # GEMM_NR_MAX (gemm.pxd) bounds every table's NR
    if strided_gemm_tables[_i].name != NULL and max(strided_gemm_tables[_i].nr[0],
                                                    strided_gemm_tables[_i].nr[1]) > GEMM_NR_MAX:
        raise ImportError(f"GEMM kernel table {strided_gemm_tables[_i].name.decode()!r} has "
                          f"NR > GEMM_NR_MAX = {GEMM_NR_MAX}")

# the widest table the instruction-set level allows (NOTE [ Instruction sets ])
_set_kernel("auto")
