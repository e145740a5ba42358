"""strided.accelerator, as torch.accelerator (PyTorch 2.6+): the device programs move
work to when one is present.  strided runs on the CPU, which is not an accelerator, so
`strided.accelerator.current_accelerator()` is None and programs fall back to
`strided.device("cpu")` as they do under PyTorch without a GPU."""


def is_available():
    """False: strided computes on the CPU only."""
    return False


def current_accelerator(check_available=False):
    """None: there is no accelerator."""
    return None


def device_count():
    """0: there is no accelerator."""
    return 0


def synchronize(device=None):
    """Nothing to wait for: CPU kernels finish before they return."""
