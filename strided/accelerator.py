"""strided.accelerator, as torch.accelerator (PyTorch 2.6+): the device programs move
work to when one is present.  strided runs on the CPU, which is not an accelerator, so
`strided.accelerator.current_accelerator()` is None and programs fall back to
`strided.device("cpu")` as they do under PyTorch without a GPU."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strided.types import Device


def is_available() -> bool:
    """False: strided computes on the CPU only."""
    return False


def current_accelerator(check_available: bool = False) -> None:
    """None: there is no accelerator."""
    return None


def device_count() -> int:
    """0: there is no accelerator."""
    return 0


def synchronize(device: Device = None) -> None:
    """Nothing to wait for: CPU kernels finish before they return."""
