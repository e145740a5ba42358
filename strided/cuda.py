"""strided.cuda: what PyTorch programs ask before choosing a device.  strided runs on the
CPU, so no CUDA device is ever available; the calls answer that instead of failing."""


def is_available():
    """False: strided has no CUDA backend."""
    return False


def device_count():
    """0: strided sees no CUDA devices."""
    return 0


def manual_seed(seed):
    """No CUDA generator to seed (strided.manual_seed seeds the CPU's)."""


def manual_seed_all(seed):
    """No CUDA generators to seed (strided.manual_seed seeds the CPU's)."""


def synchronize(device=None):
    """Nothing to wait for: CPU kernels finish before they return."""
