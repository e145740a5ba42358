# Included by strided/_C/kernels/conv.pyx (one extension module).
#
# NOTE [ Convolution thresholds ]
# Every numeric cut-off the strategies' predicates and block sizes use, in one table: the
# path choice (select.pxi) and the blocking of the strategies read it, nothing else holds
# a tuning constant.  One table for every dtype and kernel table: the values were measured
# on the avx2 kernel table, float32 (the Winograd channel counts on a Zen 5 with both the
# avx2 and the avx512 tables, which agreed), and no measurement has yet shown a dtype or
# an ISA that wants others.  benchmarks/tune_conv.py times every usable path on a grid of
# layers and prints the values its timings suggest; _set_thresholds changes them (tuning,
# tests: it is read when a call starts, never while one runs).  Sizes are in elements,
# positions are output positions (OH*OW), "layer" is C*R*S*K (the weight's elements).

cdef struct ConvThresholds:
    int64_t grain                   # multiply-adds per thread below which a thread is not worth it
    # NOTE [ Forward over image blocks ], NOTE [ Input gradient over image blocks ]
    int64_t forward_block_columns   # GEMM columns (images x positions) per forward block
    int64_t input_grad_block_columns    # ... per input-gradient block (col stays a few MB)
    # NOTE [ Weight gradient over image blocks ]: outputs below weight_block_depth positions,
    # layers above weight_block_min_layer, buffers of at most weight_block_max_elems
    int64_t weight_block_depth
    int64_t weight_block_min_layer
    int64_t weight_block_max_elems
    # NOTE [ Convolution over the padded image ]: its micro-kernel columns may exceed the
    # packed path's by a factor 1 + offset_kg_slack/Kg; offset_kc_rows distinct input rows
    # per K block
    int64_t offset_kg_slack
    int64_t offset_kc_rows
    # the input gradient on the offset path (the convolution of grad_output with the
    # flipped weight): at least this many input channels, more than this many positions
    int64_t input_grad_offset_min_cg
    int64_t input_grad_offset_tiny_output
    # NOTE [ Weight gradient over the padded image ]: extra columns at most 1/den of the
    # positions
    int64_t weight_offset_extra_den
    # NOTE [ Column taps for strided convolutions ]
    int64_t taps_min_cg
    int64_t taps_stride1_min_kg
    int64_t taps_stride1_max_s
    int64_t taps_strided_min_kg
    int64_t taps_strided_extra_s    # S <= sW + this
    int64_t band_positions          # output positions per band (whole rows, at least one)
    int64_t chunk_taps              # K rows per chunk (whole channels, at least one)
    # NOTE [ Batch-innermost convolution ]: forward
    int64_t batched_min_n
    int64_t batched_max_copy        # elements of the batch-innermost input copy
    int64_t batched_small_layer     # any output size
    int64_t batched_small_output    # positions; with a layer up to batched_mid_layer
    int64_t batched_mid_layer
    int64_t batch_chunk             # GEMM result elements per forward chunk
    # ... its backward: the weight gradient, the input gradient
    int64_t batched_w_max_output    # N*OH*OW*K
    int64_t batched_w_max_layer
    int64_t batched_x_min_c
    int64_t batched_x_max_output    # positions
    int64_t batched_x_max_layer
    int64_t backward_min_k          # fewest columns (positions x images) per backward chunk
    # NOTE [ Winograd convolution ]: chosen with at least winograd_min_c input and
    # winograd_min_k output channels and winograd_min_tiles 2x2 output tiles in the batch;
    # winograd_tiles tiles per block, K blocks of at most winograd_a_elems elements of U
    int64_t winograd_min_c
    int64_t winograd_min_k
    int64_t winograd_min_tiles
    int64_t winograd_tiles
    int64_t winograd_a_elems
    int64_t winograd_wgrad_chunk    # NOTE [ Winograd weight gradient ]: elements of V and Z


cdef ConvThresholds _T = ConvThresholds(
    grain=1 << 17,
    forward_block_columns=1024,
    input_grad_block_columns=512,
    weight_block_depth=256,
    weight_block_min_layer=1 << 14,
    weight_block_max_elems=1 << 23,
    offset_kg_slack=32,
    offset_kc_rows=85,
    input_grad_offset_min_cg=2,
    input_grad_offset_tiny_output=32,
    weight_offset_extra_den=8,
    taps_min_cg=16,
    taps_stride1_min_kg=128,
    taps_stride1_max_s=3,
    taps_strided_min_kg=64,
    taps_strided_extra_s=1,
    band_positions=336,
    chunk_taps=108,
    batched_min_n=8,
    batched_max_copy=1 << 22,
    batched_small_layer=1 << 14,
    batched_small_output=32,
    batched_mid_layer=1 << 19,
    batch_chunk=1 << 15,
    batched_w_max_output=1 << 20,
    batched_w_max_layer=1 << 14,
    batched_x_min_c=4,
    batched_x_max_output=16,
    batched_x_max_layer=1 << 14,
    backward_min_k=256,
    winograd_min_c=32,
    winograd_min_k=32,
    winograd_min_tiles=256,
    winograd_tiles=128,
    winograd_a_elems=1 << 15,
    winograd_wgrad_chunk=1 << 18,
)
cdef dict _T_DEFAULTS = _T


def _thresholds():
    """The convolution's thresholds (NOTE [ Convolution thresholds ]) as a dict."""
    return _T


def _set_thresholds(**values):
    """Change some of the convolution's thresholds (NOTE [ Convolution thresholds ]; tuning
    and tests) and return the previous table, which restores it:
    ``old = _set_thresholds(band_positions=8); ...; _set_thresholds(**old)``.  With no
    arguments: back to the defaults.  Unknown names and values below 1 raise ValueError."""
    global _T
    cdef dict old = _T
    cdef dict new = dict(_T_DEFAULTS) if not values else dict(old)
    for name, value in values.items():
        if name not in new:
            raise ValueError(f"_set_thresholds: no threshold named {name!r}; "
                             f"expected one of {sorted(new)}")
        if int(value) < 1:
            raise ValueError(f"_set_thresholds: {name} must be at least 1, got {value}")
        new[name] = int(value)
    _T = new
    return old
