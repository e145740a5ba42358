from libc.stdint cimport int64_t

# The GEMM kernel: C = alpha * A @ B + beta * C on raw pointers (no Tensor).
#
#   dtype_num   IN   ScalarType of A, B and C (one dtype; FLOAT32/FLOAT64 at full speed,
#                    UINT8/INT32/INT64 through a simpler exact path with wrap-around)
#   m, n, k     IN   A is m x k, B is k x n, C is m x n (any of them may be 0)
#   alpha, beta IN   scalars; integer dtypes use them truncated to int64 (|x| <= 2**53)
#   A, B        IN   pointers to element (0, 0); rs*/cs* are row/column strides in
#                    elements, any sign, 0 allowed (expanded operands)
#   C           OUT  pointer to element (0, 0); rsC/csC any sign but no two elements of C
#                    may share memory, and C must not overlap A or B
# Returns 0, or -1 when packing buffers could not be allocated (the caller raises
# MemoryError).  beta == 0 never reads C (it may hold NaN); alpha == 0 or k == 0 never
# reads A or B (C = beta * C).  Runs on up to num_threads_for() threads (see threads.pxd);
# small products take a single-threaded path without packing (NOTE [ GEMM paths ]).
cdef int gemm_strided(int dtype_num, int64_t m, int64_t n, int64_t k, double alpha,
                      const char* A, int64_t rsA, int64_t csA,
                      const char* B, int64_t rsB, int64_t csB,
                      double beta, char* C, int64_t rsC, int64_t csC) noexcept nogil

# The same on at most `nthreads` threads (1: never opens a parallel region).
cdef int gemm_strided_threads(int dtype_num, int64_t m, int64_t n, int64_t k, double alpha,
                              const char* A, int64_t rsA, int64_t csA,
                              const char* B, int64_t rsB, int64_t csB,
                              double beta, char* C, int64_t rsC, int64_t csC,
                              int nthreads) noexcept nogil

# `batch` independent products: matrix b of A, B, C starts at element offset
# offsets[3*b], offsets[3*b + 1], offsets[3*b + 2] from A, B, C (all else as above).
# Many small products run in parallel over the batch; large ones one after another, each
# on all threads.  C matrices of different b must not share memory.
cdef int gemm_batched(int dtype_num, int64_t batch, const int64_t* offsets,
                      int64_t m, int64_t n, int64_t k, double alpha,
                      const char* A, int64_t rsA, int64_t csA,
                      const char* B, int64_t rsB, int64_t csB,
                      double beta, char* C, int64_t rsC, int64_t csC) noexcept nogil

# NOTE [ Packed B panels ]
# The five-loop driver asks a pack_b_fn for each KC x NC panel of B it needs:
#     pack_b(src, p0, kc, j0, nc, dst)
# must write B[p0 : p0+kc, j0 : j0+nc] into dst as NR-wide slivers: sliver s holds
# columns j0 + s*NR ...; its row p is dst[(s*NR*kc + p*NR) + 0 .. NR) (elements of the
# GEMM's dtype); columns past nc within the last sliver are zero.  NR is gemm_nr(dtype).
# gemm_strided packs from a StridedOperand; an implicit GEMM (convolution) passes its own
# packer that reads B straight from the input windows.
ctypedef void (*pack_b_fn)(const void* src, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                           char* dst) noexcept nogil

cdef struct StridedOperand:
    const char* data        # element (0, 0)
    int64_t rs              # row stride, elements
    int64_t cs              # column stride, elements
    int dtype_num
    const void* kt          # the kernel table (strided_gemm_kernels) whose packer to use

# pack_b_fn for a StridedOperand (FLOAT32 or FLOAT64)
cdef void pack_b_strided(const void* src, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                         char* dst) noexcept nogil

# C = alpha * A @ B + beta * C, FLOAT32/FLOAT64 only, B supplied through a packer; on at
# most nthreads threads.  Same contract as gemm_strided otherwise.
cdef int gemm_packed_b(int dtype_num, int64_t m, int64_t n, int64_t k, double alpha,
                       const char* A, int64_t rsA, int64_t csA,
                       pack_b_fn pack_b, const void* b_src,
                       double beta, char* C, int64_t rsC, int64_t csC,
                       int nthreads) noexcept nogil

# NOTE [ Offset-B GEMM ]
# The same product with B's rows given by offsets into one buffer, its columns cut into
# rows of row_len elements row_pitch apart (row_len <= 0: one row of n):
#     B[p, j] = b[b_off[p] + (j // row_len) * row_pitch + j % row_len]
# (elements of the dtype), FLOAT32/FLOAT64 only.  B is never packed: the micro-kernel reads
# it in place (NOTE [ Offset-B micro-kernels ] in gemm_kernel.h) in half-slivers of up to
# gemm_offb_w(dtype) (= NR/2) columns that stop at each row's end, and may read
# gemm_offb_reach(dtype) elements past each row's end at every b_off[p] (the SIMD tables
# load whole half-slivers: offb_w - 1), which must be readable (any value).  A
# convolution is one: row p = (c, r, s) of B restricted to output row oh is a run of the
# padded input's stride phase (NOTE [ Convolution over the padded image ] in
# conv_paths/offset.pxi).
# kc_max > 0 caps the K blocks below the GEMM's KC, so that a block's B rows -- which may
# lie in many more cache lines than a packed sliver -- stay in L1.  C must not overlap b.
cdef int gemm_offset_b(int dtype_num, int64_t m, int64_t n, int64_t k, double alpha,
                       const char* A, int64_t rsA, int64_t csA,
                       const char* b, const int64_t* b_off, int64_t row_len,
                       int64_t row_pitch, int64_t kc_max, double beta, char* C,
                       int64_t rsC, int64_t csC, int nthreads) noexcept nogil

# NOTE [ Offset-A GEMM ]
# The same product with A's rows given by offsets: A[i, p] = A[a_off[i] + p] (unit column
# stride), FLOAT32/FLOAT64 only, B any strides; always the packed path, A packed straight
# from its rows (NOTE [ Packing A from row offsets ] in gemm_kernel.h).  C must not be
# column-major with rsC == 1 (pass it row-major).  A convolution's weight gradient is one:
# row (c, r, s) of col over the padded image's phases is a run of it.
cdef int gemm_offset_a(int dtype_num, int64_t m, int64_t n, int64_t k, double alpha,
                       const char* A, const int64_t* a_off,
                       const char* B, int64_t rsB, int64_t csB,
                       double beta, char* C, int64_t rsC, int64_t csC,
                       int nthreads) noexcept nogil

# NOTE [ Offset-B block with packed A ]
# One K block of the offset-B product on the calling thread, A packed beforehand (so a
# caller running many blocks against the same A packs it once):
#     C[:m, :n] = A @ B + beta * C,      B[p, j] = b[b_off[p] + j]
# a_pk holds A (m x k) as gemm_pack_a wrote it (gemm_packed_a_elems elements).  As for
# gemm_offset_b, the gemm_offb_reach(dtype) elements past each B row's end must be
# readable, and k
# should be small enough for the block's B rows to stay in L1.  C has unit column stride.
cdef int64_t gemm_packed_a_elems(int dtype_num, int64_t m, int64_t k) noexcept nogil
cdef void gemm_pack_a(int dtype_num, const char* A, int64_t rsA, int64_t csA, int64_t m,
                      int64_t k, char* a_pk) noexcept nogil
cdef void gemm_offset_b_block(int dtype_num, int64_t m, int64_t n, int64_t k,
                              const char* a_pk, const char* b, const int64_t* b_off,
                              double beta, char* C, int64_t rsC) noexcept nogil

# The tile of the kernel table in use (NOTE [ GEMM kernel tables ] in gemm_kernel.h), per
# dtype (FLOAT32 / FLOAT64), for callers that pack B or hand row offsets: MR x NR (6 x 16
# / 6 x 8 on the reference and avx2 tables, 12 x 32 / 12 x 16 on avx512 and
# avx512_on_avx2); the columns of each half of an offset-B tile (NR/2); and how many
# elements past a B row's end the offset-B kernels may read (NOTE [ Offset-B GEMM ]).
# They change only when a test switches the table (gemm._set_kernel); a caller reads them
# once per call.
# NR is at most GEMM_NR_MAX in every table (checked when the GEMM module loads), so a
# caller may size per-sliver arrays by it.
cdef enum:
    GEMM_NR_MAX = 32
cdef int gemm_mr(int dtype_num) noexcept nogil
cdef int gemm_nr(int dtype_num) noexcept nogil
cdef int gemm_offb_w(int dtype_num) noexcept nogil
cdef int gemm_offb_reach(int dtype_num) noexcept nogil
# The instruction-set level the table's kernels need (ISA_* of core/cpu.pxd): what the
# convolution's own transforms are built for too, so they follow a test's table switch.
cdef int gemm_isa() noexcept nogil
