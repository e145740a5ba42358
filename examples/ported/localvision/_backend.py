"""Which tensor library localvision makes tensors with: strided or torch."""
import importlib
import os
import sys

_NAMES = ("strided", "torch")


def backend():
    """The module named by $LOCALVISION_BACKEND, else the one of strided and torch that is
    imported; both or neither imported without the variable is an error, not a guess."""
    name = os.environ.get("LOCALVISION_BACKEND")
    if name:
        if name not in _NAMES:
            raise ValueError(f"LOCALVISION_BACKEND={name!r}: expected 'strided' or 'torch'")
        return importlib.import_module(name)
    loaded = [n for n in _NAMES if n in sys.modules]
    if len(loaded) == 1:
        return sys.modules[loaded[0]]
    raise RuntimeError("localvision: cannot tell which tensor library to use "
                       f"({'both' if loaded else 'neither'} of strided and torch imported); "
                       "set LOCALVISION_BACKEND=strided or LOCALVISION_BACKEND=torch")


def library_of(tensor):
    """The module (strided or torch) a tensor belongs to."""
    root = type(tensor).__module__.split(".")[0]
    if root not in _NAMES:
        raise TypeError(f"expected a strided or torch tensor, got {type(tensor).__name__}")
    return importlib.import_module(root)
