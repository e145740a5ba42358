"""A model's layers with their output shapes, parameter counts and receptive fields.

NOTE [ Receptive field tracing ]
summary() runs the model once on zeros of shape (1, *input_size) under no_grad, in eval
mode (the modes are restored), with a forward hook on every leaf module.  Each tensor a
hook sees carries a field per spatial dim (the dims after batch and channels): its size
r, jump j and start c, in input pixels (docs/guides/receptive_field.rst derives them).  A
layer with kernel k, stride s, padding p and dilation d (convolutions and pooling) maps
the field of its input to

    k_eff = d * (k - 1) + 1,  j_out = j * s,  r_out = r + (k_eff - 1) * j,
    c_out = c + ((k_eff - 1) / 2 - p) * j

adaptive pooling is the layer with k = ceil(n_in / n_out), s = n_in // n_out; a layer
that drops the spatial dims (Flatten, or anything whose output has fewer dims) sees its
whole input, as a kernel the size of the map; any other layer keeping the spatial shape
(activations, normalization, dropout) keeps the field.  A tensor made outside any layer
(the sum of a residual block's branches, a functional call) takes the largest field of
the tensors recorded so far with its spatial shape: for a sum of branches, the largest
field over the branches.  A layer that changes the spatial shape otherwise (upsampling,
transposed convolution) gets no field (None), nor do the layers after it.

The sizes are not clipped to the image: near the borders part of a window lies in the
padding.  ReceptiveField.window(i, ...) gives the input pixels output pixel i sees,
clipped to the image, and unclipped_window the whole window.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from strided._C.core.dtypes import float32
from strided._C.core.tensor import Tensor
from strided.autograd.grad_mode import no_grad
from strided.creation import zeros

if TYPE_CHECKING:
    from strided._C.core.dtypes import DType
    from strided.nn.module import Module

__all__ = ["ReceptiveField", "summary", "receptive_field"]


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of a layer's outputs over the input, one entry per spatial dim:
    `size` (input pixels one output pixel depends on, not clipped), `jump` (input pixels
    between neighbouring output pixels), `start` (the centre of output pixel 0's window,
    in input pixel coordinates; may be fractional or negative) and `input_shape` (the
    input's spatial shape)."""
    size: tuple
    jump: tuple
    start: tuple
    input_shape: tuple

    def unclipped_window(self, *index: int) -> tuple:
        """((first, last), ...) inclusive input pixels of output pixel `index`'s window per
        spatial dim, before clipping (may reach into the padding).  No index: position 0
        (for an output without spatial dims, such as a classifier's logits)."""
        index = index or (0,) * len(self.size)
        if len(index) != len(self.size):
            raise ValueError(f"window: expected {len(self.size)} indices (one per spatial "
                             f"dim), but got {len(index)}")
        out = []
        for i, r, j, c in zip(index, self.size, self.jump, self.start):
            centre = c + i * j
            out.append((int(round(centre - (r - 1) / 2)), int(round(centre + (r - 1) / 2))))
        return tuple(out)

    def window(self, *index: int) -> tuple:
        """((first, last), ...) inclusive input pixels output pixel `index` depends on,
        clipped to the input: what the input gradient of that pixel can touch.

        >>> model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, padding=1))
        >>> rf = nn.utils.receptive_field(model, (1, 8, 8))
        >>> rf.size, rf.unclipped_window(0, 3), rf.window(0, 3)
        ((5, 5), ((-2, 2), (1, 5)), ((0, 2), (1, 5)))
        """
        return tuple((max(lo, 0), min(hi, n - 1))
                     for (lo, hi), n in zip(self.unclipped_window(*index), self.input_shape))


def _per_dim(value, n, what):
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return tuple(value) * n
        if len(value) != n:
            raise ValueError(f"{what} has {len(value)} entries for {n} spatial dims")
        return tuple(value)
    return (value,) * n


def _fmt(values) -> str:
    if values is None:
        return "-"
    text = ["%g" % v for v in values]
    return "x".join(text)


def _layer_geometry(module, n_in, n_out):
    """(k, s, p, d) per spatial dim of a layer that windows its input, or None."""
    n = len(n_in)
    name = type(module).__name__
    if name.startswith("Adaptive"):
        k = tuple(-(-a // b) for a, b in zip(n_in, n_out))
        s = tuple(max(a // b, 1) for a, b in zip(n_in, n_out))
        return k, s, (0,) * n, (1,) * n
    if name.startswith("ConvTranspose") or not hasattr(module, "kernel_size"):
        return None
    k = _per_dim(module.kernel_size, n, "kernel_size")
    stride = getattr(module, "stride", None)
    s = _per_dim(stride if stride is not None else module.kernel_size, n, "stride")
    d = _per_dim(getattr(module, "dilation", 1), n, "dilation")
    padding = getattr(module, "padding", 0)
    if padding == "valid":
        p = (0,) * n
    elif padding == "same":
        p = tuple(di * (ki - 1) // 2 for ki, di in zip(k, d))
    else:
        p = _per_dim(padding, n, "padding")
    return k, s, p, d


def _apply(field, k, s, p, d):
    r, j, c = field
    size, jump, start = [], [], []
    for ri, ji, ci, ki, si, pi, di in zip(r, j, c, k, s, p, d):
        k_eff = di * (ki - 1) + 1
        size.append(ri + (k_eff - 1) * ji)
        start.append(ci + ((k_eff - 1) / 2 - pi) * ji)
        jump.append(ji * si)
    return tuple(size), tuple(jump), tuple(start)


def _trace(model, input_size, dtype):
    """Run the model once; returns (rows, input spatial shape, final field or None)."""
    input_size = tuple(int(v) for v in input_size)
    if len(input_size) < 2 or any(v < 1 for v in input_size):
        raise ValueError(f"summary: input_size is (channels, *spatial) without the batch dim, "
                         f"with positive sizes, but got {input_size}")
    spatial_in = input_size[1:]
    nsp = len(spatial_in)
    fields: dict[int, tuple] = {}       # id(tensor) -> (field or None, spatial shape)
    keep: list = []                     # tensors seen, kept alive so their ids stay unique
    rows: list[dict[str, Any]] = []

    def spatial(t):
        return tuple(t.shape[2:]) if t.ndim == 2 + nsp else None

    def field_of(t):
        if id(t) in fields:
            return fields[id(t)]
        shape = spatial(t)
        # made outside any layer: the largest field recorded with this spatial shape
        best = None
        for f, sh in fields.values():
            if f is not None and sh == shape and shape is not None:
                if best is None or math.prod(f[0]) > math.prod(best[0]):
                    best = f
        return best, shape

    names = {}
    leaves = []
    for name, m in model.named_modules():
        if not list(m.children()):
            names[id(m)] = name or type(m).__name__
            leaves.append(m)

    def hook(module, args, output):
        ins = [a for a in args if isinstance(a, Tensor)]
        if isinstance(output, Tensor):
            outs = [output]
        else:
            many = output if isinstance(output, (tuple, list)) else ()
            outs = [o for o in many if isinstance(o, Tensor)]
        if not outs:
            return None
        known = [field_of(t) for t in ins]
        fs = [f for f, _ in known if f is not None]
        field = max(fs, key=lambda f: math.prod(f[0])) if fs and len(fs) == len(known) else None
        shape_in = known[0][1] if known else None
        out = outs[0]
        shape_out = spatial(out)
        if field is not None:
            if shape_in is not None and shape_out is None:          # flattened: sees it all
                field = _apply(field, shape_in, shape_in, (0,) * nsp, (1,) * nsp)
            elif shape_in is not None and shape_out is not None:
                geometry = _layer_geometry(module, shape_in, shape_out)
                if geometry is not None:
                    field = _apply(field, *geometry)
                elif shape_in != shape_out:
                    field = None
        for o in outs:
            keep.append(o)
            fields[id(o)] = (field, spatial(o))
        rows.append({"name": names[id(module)], "type": type(module).__name__,
                     "output_shape": tuple(out.shape),
                     "params": sum(p.numel() for p in module.parameters(recurse=False)),
                     "field": field[0] if field else None,
                     "jump": field[1] if field else None,
                     "start": field[2] if field else None})
        return None

    x = zeros((1,) + input_size, dtype=dtype)
    keep.append(x)
    fields[id(x)] = (((1,) * nsp, (1,) * nsp, (0.0,) * nsp), spatial_in)
    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        model.eval()
        with no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    outs = [out] if isinstance(out, Tensor) else [o for o in out if isinstance(o, Tensor)]
    final = field_of(outs[0])[0] if outs else None
    return rows, spatial_in, final


def summary(model: Module, input_size: Sequence[int], dtype: DType | None = None,
            print_fn: Callable[[str], Any] | None = print) -> list[dict[str, Any]]:
    """Print, per leaf layer call of `model` on an input of shape (1, *input_size), the
    output shape, the layer's parameter count and the receptive field of each output
    position over the input: its size, the jump between neighbouring positions and the
    start (centre of position 0), per spatial dim (NOTE [ Receptive field tracing ] in
    strided/nn/utils/summary.py: convolution, pooling, stride, padding, dilation and
    residual branches, where the largest field over the branches is taken); then the
    parameter totals and the field of the model's output.  Returns the rows as a list of
    dicts (name, type, output_shape, params, field, jump, start).  Fields are not clipped
    to the image (receptive_field(...).window clips).  PyTorch has no counterpart.

    input_size is (channels, *spatial), without the batch dim; the model runs once in eval
    mode under no_grad (its modes are restored).

    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2))
    >>> rows = nn.utils.summary(model, (1, 9, 9))
    layer (type)  output shape      params  field  jump  start
    0 (Conv2d)    [1, 4, 7, 7]          40    3x3   1x1    1x1
    1 (ReLU)      [1, 4, 7, 7]           0    3x3   1x1    1x1
    2 (Conv2d)    [1, 4, 3, 3]         148    5x5   2x2    2x2
    total params: 188 (trainable 188)
    output receptive field 5x5, jump 2x2, start 2x2 (sizes not clipped to the 9x9 input)
    >>> rows[-1]["field"]
    (5, 5)
    """
    rows, spatial_in, final = _trace(model, input_size, dtype or float32)
    labels = [f"{row['name']} ({row['type']})" for row in rows]
    shapes = [str(list(row["output_shape"])) for row in rows]
    wl = max([len("layer (type)")] + [len(t) for t in labels])
    ws = max([len("output shape")] + [len(t) for t in shapes])
    cells = [(_fmt(r["field"]), _fmt(r["jump"]), _fmt(r["start"])) for r in rows]
    wf, wj, wc = (max([len(h)] + [len(c[i]) for c in cells])
                  for i, h in enumerate(("field", "jump", "start")))
    lines = [f"{'layer (type)':<{wl}}  {'output shape':<{ws}}  {'params':>10}  "
             f"{'field':>{wf}}  {'jump':>{wj}}  {'start':>{wc}}"]
    for label, shape, row, (f, j, c) in zip(labels, shapes, rows, cells):
        lines.append(f"{label:<{wl}}  {shape:<{ws}}  {row['params']:>10,}  {f:>{wf}}  "
                     f"{j:>{wj}}  {c:>{wc}}")
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines.append(f"total params: {total:,} (trainable {trainable:,})")
    if final is not None:
        lines.append(f"output receptive field {_fmt(final[0])}, jump {_fmt(final[1])}, "
                     f"start {_fmt(final[2])} (sizes not clipped to the "
                     f"{_fmt(spatial_in)} input)")
    else:
        lines.append("output receptive field unknown (a layer changes the spatial shape in a "
                     "way the summary does not model)")
    if print_fn is not None:
        print_fn("\n".join(lines))
    return rows


def receptive_field(model: Module, input_size: Sequence[int],
                    dtype: DType | None = None) -> ReceptiveField:
    """The receptive field of the model's output positions over an input of shape
    (1, *input_size): a ReceptiveField with size, jump and start per spatial dim (see
    summary()); `.window(i, j)` is the clipped window of output pixel (i, j).  An output
    without spatial dims (a classifier's logits) sees the whole input.  Raises
    RuntimeError when a layer changes the spatial shape in a way the trace does not model.

    >>> model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))
    >>> nn.utils.receptive_field(model, (1, 16, 16)).size
    (5, 5)
    """
    _, spatial_in, final = _trace(model, input_size, dtype or float32)
    if final is None:
        raise RuntimeError("receptive_field: a layer changes the spatial shape in a way the "
                           "trace does not model (upsampling, transposed convolution)")
    size, jump, start = final
    return ReceptiveField(tuple(size), tuple(jump), tuple(start), tuple(spatial_in))
