"""repr() of tensors in PyTorch's style: tensor([[0., 1.], [2., 3.]], dtype=strided.int32)."""
import numpy as np

_DEFAULT_DTYPES = ("float32", "int64", "bool")


def format_tensor(t):
    arr = np.asarray(t.numpy())
    prefix = "tensor("
    if arr.size == 0 and arr.ndim == 1:
        body = "[]"
    else:
        kw = dict(separator=", ", prefix=prefix, threshold=1000, edgeitems=3, max_line_width=80)
        if arr.dtype.kind == "f":
            finite = arr[np.isfinite(arr)]
            integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
            big = finite.size and (np.abs(finite).max() >= 1e8 or
                                   (np.abs(finite[finite != 0]).min(initial=1) < 1e-4))
            if not (integral and not big):
                kw.update(precision=4, floatmode="fixed", suppress_small=False)
        elif arr.dtype.kind == "b":
            kw["formatter"] = {"bool": lambda x: "True" if x else "False"}
        body = np.array2string(arr, **kw)
    extras = []
    if t.dtype.name not in _DEFAULT_DTYPES or (t.numel() == 0 and t.dtype.name != "float32"):
        extras.append(f"dtype={t.dtype!r}")
    if t.numel() == 0 and t.ndim != 1:
        extras.append(f"size={tuple(t.shape)}")
    return prefix + body + "".join(", " + e for e in extras) + ")"

