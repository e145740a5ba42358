"""Checkpoints for distributed training: rank 0 writes, everyone reads what it loads.

NOTE [ Distributed checkpoints ]
Replicas of a data-parallel model are equal, so one copy is saved: save() writes obj with
strided.save on the source rank only.  load() reads the file on the source rank and
broadcasts it: the structure (dicts, lists, numbers, strings) goes as one pickled message,
then every tensor's memory goes by MPI_Bcast straight into a tensor allocated on each
receiver (no pickling of tensor data).  A failure on the source rank (a missing file, a
full disk) is sent to the other ranks too, so every rank raises the same error instead of
waiting for a message that never comes.
"""
from __future__ import annotations
import os
from typing import Any

from strided._C.core.tensor import Tensor
from strided.distributed.collectives import _as_array, _check_rank
from strided.distributed.process_group import _group


class _Slot:
    def __init__(self, index: int, dtype: str, shape: tuple[int, ...],
                 requires_grad: bool) -> None:
        self.index, self.dtype, self.shape, self.requires_grad = index, dtype, shape, requires_grad


def _strip(obj: Any, tensors: list[Tensor]) -> Any:
    if isinstance(obj, Tensor):
        tensors.append(obj.detach().contiguous())
        return _Slot(len(tensors) - 1, obj.dtype.name, tuple(obj.shape), obj.requires_grad)
    if isinstance(obj, dict):
        return type(obj)((k, _strip(v, tensors)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        return type(obj)(_strip(v, tensors) for v in obj)
    return obj


def _fill(obj: Any, tensors: list[Tensor]) -> Any:
    if isinstance(obj, _Slot):
        t = tensors[obj.index]
        return t.requires_grad_() if obj.requires_grad else t
    if isinstance(obj, dict):
        return type(obj)((k, _fill(v, tensors)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        return type(obj)(_fill(v, tensors) for v in obj)
    return obj


def save(obj: Any, f: str | os.PathLike[str], src: int = 0) -> None:
    """strided.save(obj, f) on rank src only; every rank returns once the file is written
    (or raises the writer's error)."""
    g = _group()
    _check_rank(src, g.size, "src")
    error = None
    if g.rank == src:
        from strided.serialization import save as _save
        try:
            _save(obj, f)
        except Exception as e:             # sent to every rank, then raised everywhere
            error = e
    error = g.comm.bcast(error, root=src)
    if error is not None:
        raise error


def load(f: str | os.PathLike[str], src: int = 0, **kwargs: Any) -> Any:
    """strided.load(f, **kwargs) on rank src, broadcast to every rank
    (NOTE [ Distributed checkpoints ]): every rank returns an equal object, with tensors of
    its own.  Only rank src needs to see the file."""
    from strided.creation import empty
    g = _group()
    _check_rank(src, g.size, "src")
    tensors: list[Tensor] = []
    message = None
    if g.rank == src:
        from strided.serialization import load as _load
        try:
            skeleton = _strip(_load(f, **kwargs), tensors)
            message = ("ok", skeleton)
        except Exception as e:
            message = ("error", e)
    kind, payload = g.comm.bcast(message, root=src)
    if kind == "error":
        raise payload
    if g.rank != src:
        slots: list[_Slot] = []
        _collect(payload, slots)
        slots.sort(key=lambda s: s.index)
        tensors = [empty(s.shape, dtype=s.dtype) for s in slots]
    for t in tensors:
        if t.numel():
            g.comm.Bcast(_as_array(t), root=src)
    return _fill(payload, tensors)


def _collect(obj: Any, out: list[_Slot]) -> None:
    if isinstance(obj, _Slot):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            _collect(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect(v, out)
