"""Kernels: computation on pointers, sizes and strides, no Tensor objects (a few modules
that mix layers say so at their top).  kernels/<stem>.pyx computes; ops/<stem> is its
Tensor-level entry point; <stem>_avx2.pyx is its AVX2 build, <stem>_rows.pxi the row code
both builds share (strided/_C/README.md)."""
