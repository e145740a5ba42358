"""The `*_copy` variants of the view ops: the same result as the view, in a new contiguous
tensor that shares no memory with the input (PyTorch's functional variants, used where a
view must not alias: `view_copy`, `diagonal_copy`, `split_copy`, ...).

Each is its view op followed by a copy, so autograd needs nothing new: the gradient flows
back through the copy and then the view's own backward.  `out=` takes a tensor of the
result's shape and dtype (for split_copy, split_with_sizes_copy and unbind_copy a sequence of
them) and writes the result into it.
"""
from __future__ import annotations

from typing import Callable, Sequence

from strided._C.core.tensor import Tensor

__all__ = ["alias_copy", "as_strided_copy", "detach_copy", "diagonal_copy", "expand_copy",
           "narrow_copy", "permute_copy", "select_copy", "slice_copy", "split_copy",
           "split_with_sizes_copy", "squeeze_copy", "t_copy", "transpose_copy", "unbind_copy",
           "unfold_copy", "unsqueeze_copy", "view_copy"]


def _fresh(view: Tensor) -> Tensor:
    """A contiguous copy of `view` that never aliases it (contiguous() of a contiguous
    tensor would return it unchanged)."""
    return view.clone() if view.is_contiguous() else view.contiguous()


def _into(out: Tensor, result: Tensor, name: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if tuple(out.shape) != tuple(result.shape):
        raise RuntimeError(f"{name}(): out has shape {list(out.shape)}, but the result has "
                           f"shape {list(result.shape)} (strided does not resize out=)")
    if out.dtype != result.dtype:
        raise RuntimeError(f"{name}(): expected out to have dtype {result.dtype}, "
                           f"got {out.dtype}")
    return out.copy_(result)


def _doc(name: str, what: str, example: str) -> str:
    doc = (f"{name}(input, ..., *, out=None): the same result as {what}, in new contiguous "
           f"tensor(s) that share no memory with input.")
    return doc + ("\n\n" + example if example else "")


def _one(name: str, view: Callable[..., Tensor], what: str,
         example: str = "") -> Callable[..., Tensor]:
    def fn(input: Tensor, *args, out: Tensor | None = None, **kwargs) -> Tensor:
        result = _fresh(view(input, *args, **kwargs))
        return result if out is None else _into(out, result, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = _doc(name, what, example)
    return fn


def _many(name: str, view: Callable[..., Sequence[Tensor]], what: str,
          example: str = "") -> Callable[..., tuple]:
    def fn(input: Tensor, *args, out: Sequence[Tensor] | None = None, **kwargs) -> tuple:
        results = tuple(_fresh(v) for v in view(input, *args, **kwargs))
        if out is None:
            return results
        if len(out) != len(results):
            raise RuntimeError(f"{name}(): expected {len(results)} tensors in out, "
                               f"got {len(out)}")
        for o, r in zip(out, results):
            _into(o, r, name)
        return None
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = _doc(name, what, example)
    return fn


def _slice(input: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
           step: int = 1) -> Tensor:
    index = [slice(None)] * input.dim()
    index[dim] = slice(start, end, step)
    return input[tuple(index)]


alias_copy = _one("alias_copy", lambda x: x, "an alias of the whole tensor")
as_strided_copy = _one("as_strided_copy", Tensor.as_strided, "as_strided")
detach_copy = _one("detach_copy", Tensor.detach, "detach")
diagonal_copy = _one("diagonal_copy", Tensor.diagonal, "diagonal", """\
    >>> x = strided.arange(9.).view(3, 3)
    >>> d = strided.diagonal_copy(x)
    >>> d.tolist(), d.data_ptr() == x.data_ptr()
    ([0.0, 4.0, 8.0], False)""")
expand_copy = _one("expand_copy", Tensor.expand, "expand")
narrow_copy = _one("narrow_copy", Tensor.narrow, "narrow")
permute_copy = _one("permute_copy", Tensor.permute, "permute")
select_copy = _one("select_copy", Tensor.select, "select")
slice_copy = _one("slice_copy", _slice, "slicing one dim (dim=0, start=None, end=None, step=1)")
squeeze_copy = _one("squeeze_copy", Tensor.squeeze, "squeeze")
t_copy = _one("t_copy", Tensor.t, "t", """\
    >>> strided.t_copy(strided.arange(6).view(2, 3)).is_contiguous()
    True""")
transpose_copy = _one("transpose_copy", Tensor.transpose, "transpose")
unfold_copy = _one("unfold_copy", Tensor.unfold, "unfold")
unsqueeze_copy = _one("unsqueeze_copy", Tensor.unsqueeze, "unsqueeze")
# any layout, as PyTorch's: the copy need not alias the input, so a shape view() refuses
# for a non-viewable layout is fine here
view_copy = _one("view_copy", Tensor.reshape, "view", """\
    >>> strided.view_copy(strided.arange(4), (2, 2)).tolist()
    [[0, 1], [2, 3]]""")
split_copy = _many("split_copy", Tensor.split, "split", """\
    >>> [t.tolist() for t in strided.split_copy(strided.arange(5), 2)]
    [[0, 1], [2, 3], [4]]""")
split_with_sizes_copy = _many("split_with_sizes_copy", Tensor.split, "split with a list of sizes")
unbind_copy = _many("unbind_copy", Tensor.unbind, "unbind")
