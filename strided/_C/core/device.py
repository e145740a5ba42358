"""strided.device: where a tensor lives -- always the CPU, named as PyTorch names devices.

PyTorch programs carry device boilerplate (`device=` on factories, `t.to(device)`,
`t.device.type`, `torch.device("cuda" if torch.cuda.is_available() else "cpu")`); strided
accepts all of it for the CPU and refuses any other device with a clear error.
"""

DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "hpu", "ipu", "mtia",
                "vulkan", "privateuseone")


class device:
    """A device name, as torch.device: device("cpu"), device("cuda:1"), device("cuda", 0).

    Any of PyTorch's device types can be named (programs build them before checking
    availability); only the CPU can hold a tensor.  Attributes (read-only): type ("cpu",
    "cuda", ...) and index (an int, or None when not given)."""
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise ValueError("device(): an index cannot be given with a device")
            type, index = type.type, type.index
        elif not isinstance(type, str):
            raise TypeError(f"device(): argument 'type' must be str or device, not "
                            f"{_type_name(type)}")
        elif ":" in type:
            if index is not None:
                raise RuntimeError(f"device(): type {type!r} already names an index")
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start "
                               f"of device string: {type}")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise RuntimeError(f"Device index must not be negative, got {index!r}")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, ValueError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


def _type_name(x):
    return x.__class__.__name__


CPU = device("cpu")


def check_device(d, op="strided"):
    """d (None, a string, a device) if it names the CPU; a clear error for any other."""
    if d is None:
        return None
    if isinstance(d, int) and not isinstance(d, bool):
        raise RuntimeError(f"{op}: device {d} is an accelerator index; strided tensors live on "
                           f"the CPU (use device='cpu')")
    dev = d if isinstance(d, device) else device(d)
    if dev.type != "cpu":
        raise RuntimeError(f"{op}: strided tensors live on the CPU; device {str(dev)!r} is "
                           f"not available (strided.cuda.is_available() is False)")
    return dev
