"""The Cython core of strided, one folder per layer (README.md here): core/ (dtypes,
Storage, Tensor metadata and view ops, iterator, copy, threads), kernels/ (computation on
pointers, sizes and strides) and ops/ (Tensor-level entry points of the kernels)."""
import importlib.util
import sys

# NOTE [ Old module paths ]
# A pickled Tensor or Storage names the function that rebuilds it by module path
# (Tensor.__reduce__, Storage.__reduce__).  Pickles written before _C was split into
# core/kernels/ops name strided._C.tensor and strided._C.storage; those two paths still
# import, as the modules that moved, so such pickles load.  Code imports strided._C.core.*.
_OLD_PATHS = {"strided._C.tensor": "strided._C.core.tensor",
              "strided._C.storage": "strided._C.core.storage"}


class _OldPathFinder:
    """Imports an old module path as the module now at its new path."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname not in _OLD_PATHS:
            return None
        return importlib.util.spec_from_loader(fullname, _OldPathFinder)

    @staticmethod
    def create_module(spec):
        module = importlib.import_module(_OLD_PATHS[spec.name])
        spec.loader_state = module.__spec__     # the import system sets __spec__ to `spec` next
        return module

    @staticmethod
    def exec_module(module):
        module.__spec__ = module.__spec__.loader_state


if not any(f is _OldPathFinder for f in sys.meta_path):
    sys.meta_path.append(_OldPathFinder)
