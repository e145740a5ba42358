# Included by strided/_C/kernels/conv.pyx (one extension module): the one place that
# decides which strategy runs.
#
# NOTE [ Choosing a convolution path ]
# Each strategy file says when its path is usable (it computes the right result for the
# geometry, within NOTE [ Workspace bounded by the output ]) and when the automatic
# choice wants it (its cost rule, on NOTE [ Convolution thresholds ]).  select_forward and
# select_backward, GIL-free, turn those into one ConvPath per result -- the forward, the
# input gradient, the weight gradient -- and conv2d_forward / conv2d_backward run what
# they return, nothing else deciding.  The automatic forward, in order:
#   winograd        _winograd_auto (3x3, stride 1, enough channels)
#   column taps     where the offset path is chosen with taps' column count and _taps_auto
#   offset          _offset_auto (not on a small output the batch-innermost path takes)
#   batched         _batched_forward_auto
#   blocks          more than one image per block, not pointwise
#   image           everything else (always usable)
# and the backward:
#   input gradient  winograd (_input_grad_winograd_auto), offset
#                   (_input_grad_offset_auto), batched (_batched_input_auto), blocks
#                   (when the weight gradient is not computed image by image, which
#                   shares col with it; more than one image per block), else image
#   weight gradient winograd (_winograd_auto), blocks (_weight_blocks_auto), batched
#                   (_batched_weight_auto), offset (_weight_offset_auto), else image
# _force_path (tests, tuning) makes a selector return the forced path instead; a forced
# path the geometry cannot use makes the selector return PATH_UNUSABLE and the call raise
# RuntimeError (it never falls back: a test forcing a path learns it did not run).  The
# thread split (whole images per thread, or all threads in each GEMM) is chosen by
# _split, which the same forcing overrides.

cdef enum ConvPath:
    PATH_NONE = 0           # nothing to compute (an empty result, or a gradient not wanted)
    PATH_EMPTY              # no input channels: the empty sum (plus bias)
    PATH_INTEGER            # integer dtypes: integer.pxi
    PATH_IMAGE              # image.pxi
    PATH_BLOCKS             # blocks.pxi
    PATH_OFFSET             # offset.pxi
    PATH_TAPS               # taps.pxi (forward only)
    PATH_BATCHED            # batched.pxi
    PATH_WINOGRAD           # winograd.pxi
    PATH_UNUSABLE           # a forced path the geometry cannot use
    PATH_AUTO = -1          # (ConvForce) no forcing

cdef tuple _PATH_NAMES = ("none", "empty", "integer", "image", "blocks", "offset", "taps",
                          "batched", "winograd", "unusable")
cdef tuple _FORWARD_PATHS = ("image", "blocks", "offset", "taps", "batched", "winograd")
cdef tuple _BACKWARD_PATHS = ("image", "blocks", "offset", "batched", "winograd")

# what each path needs, for the error a forced unusable path raises
cdef dict _NEEDS = {
    ("forward", "blocks"): "a convolution that is not pointwise (1x1, stride 1, no padding)",
    ("forward", "offset"): "a convolution that is not pointwise, whose padded copy stays "
                           "within NOTE [ Workspace bounded by the output ]",
    ("forward", "taps"): "a convolution that is not pointwise, whose padded copy stays "
                         "within NOTE [ Workspace bounded by the output ]",
    ("forward", "batched"): "groups == 1 and a padded copy within NOTE [ Workspace bounded "
                            "by the output ]",
    ("forward", "winograd"): "a 3x3 kernel, stride 1, no dilation and groups == 1",
    ("input_grad", "winograd"): "a 3x3 kernel, stride 1, no dilation, groups == 1 and a "
                                "padding within the kernel's reach",
    ("weight_grad", "winograd"): "a 3x3 kernel, stride 1, no dilation and groups == 1",
    ("input_grad", "blocks"): "a convolution that is not pointwise",
    ("input_grad", "offset"): "stride 1, not pointwise, a padding within the dilated "
                              "kernel's reach and a padded copy within NOTE [ Workspace "
                              "bounded by the output ]",
    ("input_grad", "batched"): "groups == 1 and a padded copy within NOTE [ Workspace "
                               "bounded by the output ]",
    ("weight_grad", "blocks"): "groups == 1, not pointwise, and buffers of at most "
                               "weight_block_max_elems elements",
    ("weight_grad", "offset"): "a convolution that is not pointwise, whose padded copy stays "
                               "within NOTE [ Workspace bounded by the output ]",
    ("weight_grad", "batched"): "groups == 1 and a padded copy within NOTE [ Workspace "
                                "bounded by the output ]",
}


cdef struct ConvForce:
    int forward             # a ConvPath, or PATH_AUTO
    int input_grad
    int weight_grad
    int split               # -1: automatic; 0: all threads in each GEMM; 1: images per thread


# the forcing in effect, set only by _force_path (with the GIL); each call copies it
cdef ConvForce _forced = ConvForce(forward=PATH_AUTO, input_grad=PATH_AUTO,
                                   weight_grad=PATH_AUTO, split=-1)


cdef int _split(const ConvGeometry* g, const ConvForce* f, int* nt) noexcept nogil:
    """Threads in all (nt) and whether to split over the batch (1) or inside GEMMs (0):
    over the batch when it has at least as many images as the work is worth threads.
    Forced (f.split >= 0): all threads whatever the size."""
    cdef int64_t work = g.N * g.K * g.OH * g.OW * g.Cg * g.R * g.S
    nt[0] = num_threads_for(work, _T.grain)
    if f.split >= 0:
        nt[0] = get_max_threads()
        return f.split if nt[0] > 1 else 0
    return 1 if nt[0] > 1 and g.N >= nt[0] else 0


cdef bint _forward_usable(const ConvGeometry* g, int path) noexcept nogil:
    if path == PATH_IMAGE:
        return True
    if path == PATH_BLOCKS:
        return _blocks_usable(g)
    if path == PATH_OFFSET or path == PATH_TAPS:
        return _offset_usable(g)
    if path == PATH_BATCHED:
        return _batched_usable(g)
    if path == PATH_WINOGRAD:
        return _winograd_usable(g)
    return False


cdef int select_forward(const ConvGeometry* g, int dtype, const ConvForce* f) noexcept nogil:
    """The forward's path for g (NOTE [ Choosing a convolution path ])."""
    cdef int64_t Hh, Wh
    cdef bint taps
    if g.N * g.K * g.OH * g.OW == 0:
        return PATH_NONE
    if dtype != FLOAT32 and dtype != FLOAT64:
        return PATH_INTEGER
    if g.Cg * g.R * g.S == 0:
        return PATH_EMPTY
    if f.forward != PATH_AUTO:
        return f.forward if _forward_usable(g, f.forward) else PATH_UNUSABLE
    if _winograd_auto(g):
        return PATH_WINOGRAD
    _phase_dims(g, g.Hp, g.Wp, &Hh, &Wh)
    taps = _taps_auto(g)
    if (_offset_auto(g, Wh, taps)
            and not (_batched_forward_auto(g) and g.OH * g.OW <= _T.batched_small_output)):
        return PATH_TAPS if taps else PATH_OFFSET
    if _batched_forward_auto(g):
        return PATH_BATCHED
    if _forward_block_images(g) > 1 and _blocks_usable(g):
        return PATH_BLOCKS
    return PATH_IMAGE


cdef bint _input_grad_usable(const ConvGeometry* g, int path) noexcept nogil:
    if path == PATH_IMAGE:
        return True
    if path == PATH_BLOCKS:
        return _blocks_usable(g)
    if path == PATH_OFFSET:
        return _input_grad_offset_usable(g)
    if path == PATH_BATCHED:
        return _batched_usable(g)
    if path == PATH_WINOGRAD:
        return _input_grad_winograd_usable(g)
    return False


cdef bint _weight_grad_usable(const ConvGeometry* g, int path) noexcept nogil:
    if path == PATH_IMAGE:
        return True
    if path == PATH_BLOCKS:
        return _weight_blocks_usable(g)
    if path == PATH_OFFSET:
        return _offset_usable(g)
    if path == PATH_BATCHED:
        return _batched_usable(g)
    if path == PATH_WINOGRAD:
        return _winograd_usable(g)
    return False


cdef void select_backward(const ConvGeometry* g, bint want_input, bint want_weight,
                          const ConvForce* f, int* input_path,
                          int* weight_path) noexcept nogil:
    """The paths of the input gradient and the weight gradient for g (NOTE [ Choosing a
    convolution path ]); PATH_NONE for a gradient not wanted or empty.  Float dtypes."""
    cdef int64_t Hh, Wh
    cdef int xp = PATH_NONE, wq = PATH_NONE
    if g.N * g.K * g.OH * g.OW == 0 or g.Cg == 0:
        want_input = want_weight = False
    if want_weight:
        if f.weight_grad != PATH_AUTO:
            wq = f.weight_grad if _weight_grad_usable(g, f.weight_grad) else PATH_UNUSABLE
        elif _winograd_auto(g):
            wq = PATH_WINOGRAD
        elif _weight_blocks_auto(g):
            wq = PATH_BLOCKS
        elif _batched_weight_auto(g):
            wq = PATH_BATCHED
        else:
            _phase_dims(g, g.Hp, g.Wp, &Hh, &Wh)
            wq = PATH_OFFSET if _weight_offset_auto(g, Wh) else PATH_IMAGE
    if want_input:
        if f.input_grad != PATH_AUTO:
            xp = f.input_grad if _input_grad_usable(g, f.input_grad) else PATH_UNUSABLE
        elif _input_grad_winograd_auto(g):
            xp = PATH_WINOGRAD
        elif _input_grad_offset_auto(g):
            xp = PATH_OFFSET
        elif _batched_input_auto(g):
            xp = PATH_BATCHED
        elif (wq != PATH_IMAGE and _input_grad_block_images(g) > 1 and _blocks_usable(g)):
            xp = PATH_BLOCKS
        else:
            xp = PATH_IMAGE
    input_path[0] = xp
    weight_path[0] = wq


cdef int _unusable(str what, int path) except -1:
    name = _PATH_NAMES[path]
    raise RuntimeError(f"conv2d: the forced {what} path {name!r} cannot run this "
                       f"convolution: it needs {_NEEDS[what, name]} (_force_path)")


cdef int _force_code(str what, object name, tuple allowed) except -2:
    if name is None:
        return PATH_AUTO
    if name not in allowed:
        raise ValueError(f"_force_path: {what} must be None or one of {allowed}, got {name!r}")
    return _PATH_NAMES.index(name)


class _ForcedPaths:
    """What _force_path returns: restores the previous forcing when used as a context
    manager (or by restore())."""

    def __init__(self, previous):
        self._previous = previous

    def restore(self):
        global _forced
        _forced = self._previous

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.restore()
        return False


def _force_path(forward=None, input_grad=None, weight_grad=None, split=None):
    """Force the convolution's paths (NOTE [ Choosing a convolution path ]; tests, tuning):
    forward one of "image", "blocks", "offset", "taps", "batched", "winograd";
    input_grad and weight_grad one of "image", "blocks", "offset", "batched", "winograd";
    split "batch" (whole images per thread) or "gemm" (all threads in each GEMM), on all
    threads whatever the size.
    None leaves that choice automatic.  A forced path the geometry cannot use makes the
    call raise RuntimeError (it never silently runs another).  Replaces the whole forcing
    (call with no arguments to clear it) and returns an object that restores the previous
    one, as a context manager:

        with conv._force_path(forward="offset", split="batch"):
            ...
    """
    global _forced
    cdef ConvForce f
    f.forward = _force_code("forward", forward, _FORWARD_PATHS)
    f.input_grad = _force_code("input_grad", input_grad, _BACKWARD_PATHS)
    f.weight_grad = _force_code("weight_grad", weight_grad, _BACKWARD_PATHS)
    if split is not None and split != "batch" and split != "gemm":
        raise ValueError(f"_force_path: split must be None, 'batch' or 'gemm', got {split!r}")
    f.split = -1 if split is None else (1 if split == "batch" else 0)
    previous = _ForcedPaths(_forced)
    _forced = f
    return previous


def _forced_paths():
    """The forcing in effect: {"forward": ..., "input_grad": ..., "weight_grad": ...,
    "split": ...}, None where the choice is automatic."""
    cdef ConvForce f = _forced
    return {"forward": None if f.forward == PATH_AUTO else _PATH_NAMES[f.forward],
            "input_grad": None if f.input_grad == PATH_AUTO else _PATH_NAMES[f.input_grad],
            "weight_grad": None if f.weight_grad == PATH_AUTO else _PATH_NAMES[f.weight_grad],
            "split": None if f.split < 0 else ("batch" if f.split else "gemm")}


cdef int _geometry_of(ConvGeometry* g, Tensor x, Tensor w, object stride, object padding,
                      object dilation, int64_t groups) except -1:
    """_geometry from the Python-level arguments of _select_forward / _select_backward:
    padding (pH, pW) or (pH, pW, pH_end, pW_end)."""
    pads = tuple(padding)
    if len(pads) == 2:
        pads = pads + (-1, -1)
    return _geometry(g, x, w, stride[0], stride[1], pads[0], pads[1], dilation[0], dilation[1],
                     groups, pads[2], pads[3])


def _select_forward(Tensor x not None, Tensor w not None, stride=(1, 1), padding=(0, 0),
                    dilation=(1, 1), int64_t groups=1):
    """The name of the path conv2d_forward takes for these arguments under the forcing in
    effect: "image", "blocks", "offset", "taps", "batched", "winograd", "integer", "empty"
    or "none"
    (NOTE [ Choosing a convolution path ]).  Raises RuntimeError where the call would (a
    forced path the geometry cannot use)."""
    cdef ConvGeometry g
    cdef ConvForce f = _forced
    _geometry_of(&g, x, w, stride, padding, dilation, groups)
    cdef int path = select_forward(&g, x._dtype.num, &f)
    if path == PATH_UNUSABLE:
        _unusable("forward", f.forward)
    return _PATH_NAMES[path]


def _select_backward(Tensor x not None, Tensor w not None, stride=(1, 1), padding=(0, 0),
                     dilation=(1, 1), int64_t groups=1, output_mask=(True, True, True)):
    """(input-gradient path, weight-gradient path) conv2d_backward takes for these
    arguments and output_mask (grad_input, grad_weight, grad_bias wanted) under the forcing
    in effect: each "image", "blocks", "offset", "batched", "winograd" or "none" (NOTE
    [ Choosing a convolution path ]).  Raises RuntimeError where the call would."""
    cdef ConvGeometry g
    cdef ConvForce f = _forced
    cdef int xq, wq
    _geometry_of(&g, x, w, stride, padding, dilation, groups)
    if x._dtype.num not in (FLOAT32, FLOAT64):
        raise TypeError(f"conv2d_backward kernel: float32 or float64 only, not {x._dtype.name}")
    select_backward(&g, output_mask[0], output_mask[1], &f, &xq, &wq)
    if xq == PATH_UNUSABLE:
        _unusable("input_grad", f.input_grad)
    if wq == PATH_UNUSABLE:
        _unusable("weight_grad", f.weight_grad)
    return _PATH_NAMES[xq], _PATH_NAMES[wq]


def _usable_paths(Tensor x not None, Tensor w not None, stride=(1, 1), padding=(0, 0),
                  dilation=(1, 1), int64_t groups=1):
    """{"forward": [...], "input_grad": [...], "weight_grad": [...]}: the paths _force_path
    may force for these float arguments (benchmarks/tune_conv.py times each)."""
    cdef ConvGeometry g
    _geometry_of(&g, x, w, stride, padding, dilation, groups)
    return {"forward": [p for p in _FORWARD_PATHS
                        if _forward_usable(&g, _PATH_NAMES.index(p))],
            "input_grad": [p for p in _BACKWARD_PATHS
                           if _input_grad_usable(&g, _PATH_NAMES.index(p))],
            "weight_grad": [p for p in _BACKWARD_PATHS
                            if _weight_grad_usable(&g, _PATH_NAMES.index(p))]}
