from libc.stdint cimport int64_t

# NOTE [ Loss rows ] (loss.pyx): logits x (A, B, C) and targets t (A, B) -- or, for class
# probabilities, t (A, B, C) with class stride tc -- strides in elements, any sign.
cdef struct Rows:
    int64_t A, B, C
    int64_t xa, xb, xc
    int64_t ta, tb, tc

# The row kernels of one ISA build (loss_rows.pxi); dt is FLOAT32 or FLOAT64 and every
# float pointer is of that type.  Contracts: the kernels of the same names in loss_rows.pxi.
ctypedef int (*xent_forward_fn)(int dt, const Rows* L, const void* x, const int64_t* t,
                                const void* w, int64_t ignore_index, double eps, void* loss,
                                void* wrow, void* stats) noexcept nogil
ctypedef void (*xent_backward_fn)(int dt, const Rows* L, const void* x, const int64_t* t,
                                  const void* w, int64_t ignore_index, double eps,
                                  const void* stats, const void* g, int64_t g_a, int64_t g_b,
                                  double scale, void* gx, int64_t ga, int64_t gb,
                                  int64_t gc) noexcept nogil
ctypedef int (*probs_forward_fn)(int dt, const Rows* L, const void* x, const void* t,
                                 const void* w, double eps, void* loss,
                                 void* stats) noexcept nogil
ctypedef void (*probs_backward_fn)(int dt, const Rows* L, const void* x, const void* t,
                                   const void* w, double eps, const void* stats, const void* g,
                                   int64_t g_a, int64_t g_b, double scale, void* gx,
                                   int64_t ga, int64_t gb, int64_t gc) noexcept nogil

cdef struct LossKernels:
    xent_forward_fn xent_forward
    xent_backward_fn xent_backward
    probs_forward_fn probs_forward
    probs_backward_fn probs_backward
