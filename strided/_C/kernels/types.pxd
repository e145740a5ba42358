# Layer: kernels.  Fused element types shared by kernels that instantiate per dtype.
from libc.stdint cimport int64_t, int32_t, uint8_t

ctypedef fused num_t:        # every element type but bool (bool runs as uint8_t)
    uint8_t
    int32_t
    int64_t
    float
    double
