"""Every strided.nn layer takes the constructor arguments its torch.nn namesake takes, by
name and in the same positional order, so `nn.Linear(i, o, True, device, dtype)` and
`nn.Conv2d(..., device=device)` written for torch run unchanged; a device other than the
CPU is refused with a clear error."""
import inspect

import pytest

import strided

torch = pytest.importorskip("torch")

# torch's names that are not layers one constructs from arguments like these
_SKIP = {"Module", "Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer",
         "ModuleList", "ModuleDict", "Sequential", "ParameterList", "ParameterDict",
         "Container", "DataParallel"}


def _layers():
    for name in sorted(dir(strided.nn)):
        s, t = getattr(strided.nn, name), getattr(torch.nn, name, None)
        if (name[0].isupper() and name not in _SKIP and isinstance(s, type)
                and isinstance(t, type) and issubclass(s, strided.nn.Module)):
            yield name


def _params(cls):
    return [p for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self"]


@pytest.mark.parametrize("name", list(_layers()))
def test_constructor_takes_torch_arguments(name):
    t_params = [p for p in _params(getattr(torch.nn, name))
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    s_params = _params(getattr(strided.nn, name))
    if any(p.kind == p.VAR_KEYWORD for p in s_params) and not [
            p for p in s_params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]:
        return                          # (*args, **kwargs): takes anything, like Identity
    s_names = [p.name for p in s_params]
    missing = [p.name for p in t_params if p.name not in s_names]
    assert not missing, f"strided.nn.{name} lacks torch's arguments {missing}"
    t_pos = [p.name for p in t_params if p.kind == p.POSITIONAL_OR_KEYWORD]
    s_pos = [p.name for p in s_params if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert s_pos[:len(t_pos)] == t_pos, (f"strided.nn.{name}'s positional order "
                                         f"{s_pos} differs from torch's {t_pos}")


_EXAMPLES = {
    "Linear": (3, 4), "Conv1d": (2, 3, 3), "Conv2d": (2, 3, 3), "ConvTranspose1d": (2, 3, 3),
    "ConvTranspose2d": (2, 3, 3), "Embedding": (5, 3), "LayerNorm": (4,),
    "BatchNorm1d": (4,), "BatchNorm2d": (4,), "RNN": (3, 4), "LSTM": (3, 4), "GRU": (3, 4),
    "RNNCell": (3, 4), "LSTMCell": (3, 4), "GRUCell": (3, 4), "MultiheadAttention": (8, 2),
    "TransformerEncoderLayer": (8, 2), "TransformerDecoderLayer": (8, 2),
}


@pytest.mark.parametrize("name", sorted(_EXAMPLES))
def test_device_argument(name):
    cls = getattr(strided.nn, name)
    args = _EXAMPLES[name]
    for dev in ("cpu", strided.device("cpu"), None):
        m = cls(*args, device=dev)
        assert all(p.device.type == "cpu" for p in m.parameters())
    with pytest.raises(RuntimeError, match="CPU"):
        cls(*args, device="cuda")
    # torch's positional order: Linear(in, out, bias, device, dtype)
    if name == "Linear":
        m = cls(3, 4, False, "cpu", strided.float64)
        assert m.bias is None and m.weight.dtype == strided.float64
