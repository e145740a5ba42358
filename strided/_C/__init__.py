"""The Cython core of strided: dtypes, Storage, Tensor metadata and view ops, kernels."""
