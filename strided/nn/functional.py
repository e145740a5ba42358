"""strided.nn.functional: the functional forms of layers (PyTorch names and arguments)."""
from strided.nn._functional_pool import (
    max_pool1d, max_pool2d, avg_pool1d, avg_pool2d,
    adaptive_max_pool1d, adaptive_max_pool2d, adaptive_avg_pool1d, adaptive_avg_pool2d,
    max_pool1d_backward, max_pool2d_backward, avg_pool1d_backward, avg_pool2d_backward,
    adaptive_max_pool1d_backward, adaptive_max_pool2d_backward,
    adaptive_avg_pool1d_backward, adaptive_avg_pool2d_backward, pool_output_size)
