"""Tensor-level entry points: argument checks, result allocation, then a call of the kernel
of the same stem in kernels/ (ops/pool.pyx -> kernels/pool.pyx).  ops/elementwise.pxi and
ops/reduce.pxi are Tensor methods, compiled into core/tensor.pyx (strided/_C/README.md)."""
