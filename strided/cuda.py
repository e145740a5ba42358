"""strided.cuda: what PyTorch programs ask before choosing a device.  strided runs on the
CPU, so no CUDA device is ever available; the calls answer that instead of failing."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strided.types import Device


def is_available() -> bool:
    """False: strided has no CUDA backend."""
    return False


def device_count() -> int:
    """0: strided sees no CUDA devices."""
    return 0


def manual_seed(seed: int) -> None:
    """No CUDA generator to seed (strided.manual_seed seeds the CPU's)."""


def manual_seed_all(seed: int) -> None:
    """No CUDA generators to seed (strided.manual_seed seeds the CPU's)."""


def synchronize(device: Device = None) -> None:
    """Nothing to wait for: CPU kernels finish before they return."""
