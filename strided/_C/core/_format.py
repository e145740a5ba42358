"""repr() of tensors in PyTorch's style: tensor([[0., 1.], [2., 3.]], dtype=strided.int32).

Floats follow PyTorch's formatter: integral values print as `1.`, others with 4 decimals,
scientific notation when the finite non-zero magnitudes span more than 1e3 or leave
[1e-4, 1e8]; the column width comes from the finite values only.  Tensors of more than
1000 elements are summarised with 3 items at each edge, and only those are formatted.
"""
import numpy as np

_DEFAULT_DTYPES = ("float32", "int64", "bool")
_THRESHOLD = 1000
_EDGE = 3


def _edges(arr):
    """The elements a summarised print shows (3 at each end of every long dim)."""
    for axis, n in enumerate(arr.shape):
        if n > 2 * _EDGE:
            head = (slice(None),) * axis + (slice(0, _EDGE),)
            tail = (slice(None),) * axis + (slice(n - _EDGE, n),)
            arr = np.concatenate([arr[head], arr[tail]], axis=axis)   # copies views only
    return arr


def _float_formatter(shown):
    finite = np.abs(shown[np.isfinite(shown)]).astype(np.float64)
    nonzero = finite[finite != 0]
    integral = bool(np.all(finite == np.round(finite)))
    hi = nonzero.max() if nonzero.size else 0.0
    lo = nonzero.min() if nonzero.size else 0.0
    if integral:
        fmt = "{:.4e}" if nonzero.size and (hi / lo > 1e3 or hi > 1e8) else "{:.0f}."
    elif nonzero.size and (hi / lo > 1e3 or hi > 1e8 or lo < 1e-4):
        fmt = "{:.4e}"
    else:
        fmt = "{:.4f}"
    values = shown[np.isfinite(shown)]
    width = max((len(fmt.format(v)) for v in values.flat), default=1)

    def format_one(x):
        if np.isnan(x):
            s = "nan"
        elif np.isinf(x):
            s = "inf" if x > 0 else "-inf"
        else:
            s = fmt.format(x)
        return s.rjust(width)
    return format_one


def format_tensor(t):
    arr = t.detach().numpy()
    prefix = "tensor("
    summarise = arr.size > _THRESHOLD
    if arr.size == 0 and arr.ndim == 1:
        body = "[]"
    else:
        kw = dict(separator=", ", prefix=prefix, max_line_width=80, edgeitems=_EDGE,
                  threshold=_THRESHOLD if summarise else arr.size + 1)
        if arr.dtype.kind == "f":
            shown = _edges(arr) if summarise else arr
            kw["formatter"] = {"float_kind": _float_formatter(shown)}
        body = np.array2string(arr, **kw).replace(", ...,", ",  ...,")
    extras = []
    if t.dtype.name not in _DEFAULT_DTYPES or (t.numel() == 0 and t.dtype.name != "float32"):
        extras.append(f"dtype={t.dtype!r}")
    if t.numel() == 0 and t.ndim != 1:
        extras.append(f"size={tuple(t.shape)}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
