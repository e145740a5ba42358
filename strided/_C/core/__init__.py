"""Metadata, memory and iteration: dtypes, Storage, the Tensor class (metadata, view ops,
indexing, conversion), the strided iterator, copy, threads, DLPack, printing
(strided/_C/README.md)."""
