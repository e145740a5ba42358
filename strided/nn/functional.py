"""strided.nn.functional: the functional forms of layers (PyTorch names and arguments)."""
from strided._C.linalg import linear

__all__ = ["linear"]
