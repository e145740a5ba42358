"""The optimizer row kernels compiled for AVX-512 (F, DQ, BW, VL) with 512-bit vectors: the
source of optim_avx2.pyx, built with other flags (NOTE [ Kernel dispatch ] in
elementwise.pyx; imported only when the instruction-set level is avx512)."""
include "optim_avx2.pyx"
