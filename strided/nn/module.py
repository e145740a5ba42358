"""strided.nn.Module: the base class of layers (torch/nn/modules/module.py's design).

Parameters, buffers and submodules are registered by assignment into three ordered dicts
(_parameters, _buffers, _modules); __getattr__ finds them there, so `self.weight` reads the
registered tensor.  See NOTE [ Parameters are marked leaves, not a subclass ] for how a
Parameter is recognised.
"""
from __future__ import annotations
from collections import OrderedDict
import itertools
from typing import Any, Callable, Iterator, Mapping, TypeVar

from strided._C.core.device import device, check_device
from strided._C.core.tensor import Tensor, is_grad_enabled
from strided.autograd.grad_mode import no_grad
from strided.autograd.record import derivative, record
from strided.creation import zeros
from strided.nn.parameter import Parameter
from strided.types import Device, _DTypeLike

T = TypeVar("T", bound="Module")


class RemovableHandle:
    """Returned by register_forward_(pre_)hook; remove() unregisters the hook."""
    _next_id = itertools.count()

    def __init__(self, hooks_dict: dict[int, Callable[..., Any]]) -> None:
        self._hooks = hooks_dict
        self.id = next(RemovableHandle._next_id)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _IncompatibleKeys:
    """load_state_dict's result: missing_keys and unexpected_keys (a namedtuple in torch)."""

    def __init__(self, missing_keys, unexpected_keys):
        self.missing_keys = missing_keys
        self.unexpected_keys = unexpected_keys

    def __iter__(self):
        return iter((self.missing_keys, self.unexpected_keys))

    def __eq__(self, other):
        return tuple(self) == tuple(other)

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


def _addindent(s, n):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


class Module:
    """Base class of all layers: subclass, assign parameters/submodules in __init__ (after
    super().__init__()), and define forward().

    Assigned Parameters, submodules and buffers are registered by name, so parameters(),
    state_dict(), train()/eval() and to() reach them; call the module, not forward.

    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = nn.Linear(4, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    >>> net = Net()
    >>> net(strided.zeros(3, 4)).shape
    strided.Size([3, 2])
    >>> [name for name, _ in net.named_parameters()]
    ['fc.weight', 'fc.bias']
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_state_dict_pre_hooks", OrderedDict())
        object.__setattr__(self, "_load_state_dict_post_hooks", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the layer; every subclass defines it.  Call the module (module(x))
        rather than forward, so that forward hooks run.
        """
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    # ---- registration -------------------------------------------------------------------

    def _check_init(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")

    def register_parameter(self, name: str, param: Tensor | None) -> None:
        """Add param (a Parameter, or None for an absent one) under name; assigning a Parameter
        as an attribute does the same.
        """
        self._check_init("parameter")
        if not isinstance(name, str):
            raise TypeError(f"parameter name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError('parameter name can\'t contain "."')
        if name == "":
            raise KeyError('parameter name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (strided.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor (or None) that is module state but not a parameter (running statistics,
        ...): converted by to(), and in state_dict() unless persistent=False.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError('buffer name can\'t contain "."')
        if name == "":
            raise KeyError('buffer name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a submodule (or None) under name; assigning a Module as an attribute does the same.
        Also register_module.
        """
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        def remove_from(*dicts):
            for d in dicts:
                if name in d:
                    del d[name]

        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(self.__dict__, self._buffers, self._modules)
            self._non_persistent_buffers_set.discard(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                f"(strided.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            modules = self.__dict__.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            remove_from(self.__dict__, self._parameters, self._buffers)
            self._non_persistent_buffers_set.discard(name)
            modules[name] = value
        elif self.__dict__.get("_modules") is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (strided.nn.Module or None expected)")
            self._modules[name] = value
        elif self.__dict__.get("_buffers") is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                f"(Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = set(dir(type(self))) | set(self.__dict__)
        keys |= set(self._parameters) | set(self._buffers) | set(self._modules)
        return sorted(k for k in keys if not k[0].isdigit())

    # ---- traversal ----------------------------------------------------------------------

    def named_modules(self, memo: set[Module] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(name, module) for this module (name prefix, "" by default) and every submodule,
        depth first, with dotted names; a module reachable twice is given once.
        """
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every submodule, depth first (each once)."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for the direct submodules (each once)."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct submodules (each once)."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for mod_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + k, v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Parameter) for the parameters of this module and, with recurse, of its
        submodules; a shared parameter is given once.

        >>> [n for n, _ in nn.Linear(2, 3).named_parameters()]
        ['weight', 'bias']
        """
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        """The parameters of this module and (recurse) its submodules, each once: what an
        optimizer takes.
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) for the buffers of this module and (recurse) its submodules."""
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers of this module and (recurse) its submodules."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path target ("" is self); AttributeError if absent.

        >>> nn.Sequential(nn.Linear(2, 2), nn.ReLU()).get_submodule("1")
        ReLU()
        """
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if item not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = mod._modules[item]
        return mod

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put module at the dotted path target (its parent must exist); strict=True
        requires the attribute to exist already.

        >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        >>> net.set_submodule("1", nn.Tanh())
        >>> net[1]
        Tanh()
        """
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError("`module` is not an nn.Module, found " + str(type(module)))
        atoms = target.split(".")
        parent = self if len(atoms) == 1 else self.get_submodule(".".join(atoms[:-1]))
        name = atoms[-1]
        if strict and not hasattr(parent, name):
            raise AttributeError(parent._get_name() + " has no attribute `" + name + "`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError("`" + name + "` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target: str) -> Tensor:
        """The parameter at the dotted path target ("0.weight"); AttributeError if absent.

        >>> nn.Sequential(nn.Linear(2, 3)).get_parameter("0.bias").shape
        strided.Size([3])
        """
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError("`" + name + "` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path target ("0.running_mean"); AttributeError if
        absent."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        if name not in mod._buffers:
            raise AttributeError("`" + name + "` is not a buffer")
        return getattr(mod, name)

    # ---- modes and bulk operations ------------------------------------------------------

    def train(self: T, mode: bool = True) -> T:
        """Set training mode (mode=True) or evaluation mode on this module and every submodule
        (dropout and batch norm behave differently); returns self.
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self: T) -> T:
        """train(False): evaluation mode for this module and its submodules; returns self."""
        return self.train(False)

    def requires_grad_(self: T, requires_grad: bool = True) -> T:
        """Set requires_grad on every parameter (False freezes the module); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter: to None (the default, as PyTorch 2), or to
        zeros in place with set_to_none=False.
        """
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g.grad_fn is not None:
                    g = g.detach()
                    p.grad = g
                g.zero_()

    def cpu(self: T) -> T:
        """self: parameters and buffers are on the CPU already."""
        return self

    def cuda(self: T, device: Device = None) -> T:
        """Raises: strided has no CUDA device (the error says what is available: the CPU)."""
        check_device("cuda" if device is None else device, "Module.cuda()")
        return self

    def to(self: T, dtype: _DTypeLike | Device = None, *args: Any, **kwargs: Any) -> T:
        """Cast floating-point parameters and buffers to dtype (device arguments other than
        "cpu" are rejected).  Parameters whose dtype changes are replaced by new Parameters
        (a Tensor's dtype is fixed), so optimizers must be built after the cast; a parameter
        shared by several modules (tied weights) is replaced by one new Parameter, so it stays
        shared."""
        if isinstance(dtype, (str, device)):
            check_device(dtype, "Module.to()")
            dtype = kwargs.get("dtype", args[0] if args else None)
        check_device(kwargs.get("device"), "Module.to()")
        dtype = kwargs.get("dtype", dtype)
        if dtype is None:
            return self
        cast = {}           # id(old) -> new: a tensor shared by two modules stays shared
        for m in self.modules():
            for k, p in m._parameters.items():
                if p is not None and p.dtype.is_floating_point and p.dtype is not dtype:
                    if id(p) not in cast:
                        with no_grad():
                            cast[id(p)] = (p, Parameter(p.to(dtype), p.requires_grad))
                    m._parameters[k] = cast[id(p)][1]
            for k, b in m._buffers.items():
                if b is not None and b.dtype.is_floating_point and b.dtype is not dtype:
                    if id(b) not in cast:
                        cast[id(b)] = (b, b.to(dtype))
                    m._buffers[k] = cast[id(b)][1]
        return self

    def double(self: T) -> T:
        """to(strided.float64): floating-point parameters and buffers cast; returns self."""
        from strided._C.core.dtypes import float64
        return self.to(float64)

    def float(self: T) -> T:
        """to(strided.float32): floating-point parameters and buffers cast; returns self."""
        from strided._C.core.dtypes import float32
        return self.to(float32)

    def apply(self: T, fn: Callable[[Module], None]) -> T:
        """Call fn(m) on every submodule (children first) and then on self; returns self.
        Used for custom initialisation.
        """
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- hooks and calling --------------------------------------------------------------

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """hook(module, args) -> None or new args (a tuple, or one value wrapped into one)."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """hook(module, args, output) -> None or a replacement output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_full_backward_pre_hook(self, hook: Callable[..., Any],
                                        prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_output) -> None or a replacement grad_output tuple, run when the
        gradients of the module's outputs are computed, before those of its inputs
        (NOTE [ Module backward hooks ]).
        """
        return self._add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook: Callable[..., Any],
                                    prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_input, grad_output) -> None or a replacement grad_input tuple,
        run when the gradients of the module's positional inputs are computed: grad_input
        has one entry per positional argument (None for non-tensors and tensors that need
        no gradient), grad_output one per output tensor (NOTE [ Module backward hooks ]).

        >>> m = nn.Linear(2, 1)
        >>> seen = []
        >>> h = m.register_full_backward_hook(lambda mod, gi, go: seen.append(go[0].shape))
        >>> m(strided.ones(3, 2, requires_grad=True)).sum().backward()
        >>> seen
        [strided.Size([3, 1])]
        """
        return self._add_hook(self._backward_hooks, hook, prepend)

    @staticmethod
    def _add_hook(hooks, hook, prepend):
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks):
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        bw = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            bw = _BackwardHook(self)
            args = bw.setup_input_hook(args)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        if bw is not None:
            output = bw.setup_output_hook(output)
        return output

    # ---- state dict ---------------------------------------------------------------------

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, destination: dict[str, Any] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Any]:
        """An ordered dict of every parameter and persistent buffer, by dotted name.  The
        tensors share storage with the module's (detached unless keep_vars)."""
        if destination is None:
            destination = OrderedDict()
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _load_from_state_dict(self, state_dict, prefix, missing, unexpected, errors):
        local = [(k, v) for k, v in self._parameters.items() if v is not None]
        local += [(k, v) for k, v in self._buffers.items()
                  if v is not None and k not in self._non_persistent_buffers_set]
        for name, param in local:
            key = prefix + name
            if key not in state_dict:
                missing.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                errors.append(f'While copying the parameter named "{key}", expected Tensor '
                              f'but got {type(value).__name__}.')
                continue
            if tuple(value.shape) != tuple(param.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{_size(value.shape)} from checkpoint, the shape in current "
                              f"model is {_size(param.shape)}.")
                continue
            try:
                with no_grad():
                    param.copy_(value)
            except Exception as ex:      # noqa: BLE001 -- reported with the key, as torch does
                errors.append(f'While copying the parameter named "{key}", whose dimensions '
                              f'in the model are {_size(param.shape)} and whose dimensions in '
                              f'the checkpoint are {_size(value.shape)}, an exception '
                              f'occurred : {ex}.')

    def load_state_dict(self, state_dict: Mapping[str, Any],
                        strict: bool = True) -> _IncompatibleKeys:
        """Copy tensors from state_dict into this module's parameters and buffers in place.
        Returns (missing_keys, unexpected_keys); with strict, raises RuntimeError naming
        them.  Shape mismatches always raise."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        expected = set()
        for prefix, module in self.named_modules():
            p = prefix + "." if prefix else ""
            module._load_from_state_dict(state_dict, p, missing, unexpected, errors)
            expected.update(p + k for k, v in module._parameters.items() if v is not None)
            expected.update(p + k for k, v in module._buffers.items()
                            if v is not None and k not in module._non_persistent_buffers_set)
        unexpected.extend(k for k in state_dict.keys() if k not in expected)
        incompatible = _IncompatibleKeys(missing, unexpected)
        for _, module in self.named_modules():
            for hook in module._load_state_dict_post_hooks.values():
                if hook(module, incompatible) is not None:
                    raise RuntimeError("load_state_dict post hooks should modify "
                                       "incompatible_keys in place and return None")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return incompatible

    def register_state_dict_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """hook(module, prefix, keep_vars), run by state_dict() before it saves this module's
        tensors."""
        return self._add_hook(self._state_dict_pre_hooks, hook, False)

    def register_load_state_dict_post_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """hook(module, incompatible_keys), run by load_state_dict() after every tensor is
        loaded and before strict checking: it may edit incompatible_keys.missing_keys and
        .unexpected_keys in place (returning None)."""
        return self._add_hook(self._load_state_dict_post_hooks, hook, False)

    # ---- copying ------------------------------------------------------------------------

    def __deepcopy__(self, memo):
        """Copy with parameters re-created as marked Parameters (a Tensor's own deepcopy
        would drop the mark and requires_grad) and buffers cloned; shared tensors and
        modules stay shared in the copy."""
        import copy
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for store in ("_parameters", "_buffers"):
            copied = OrderedDict()
            for k, t in self.__dict__[store].items():
                if t is not None and id(t) not in memo:
                    with no_grad():
                        c = t.detach().clone()
                    memo[id(t)] = (Parameter(c, t.requires_grad) if store == "_parameters"
                                   else c)
                copied[k] = None if t is None else memo[id(t)]
            object.__setattr__(new, store, copied)
        for k, v in self.__dict__.items():
            if k not in ("_parameters", "_buffers"):
                object.__setattr__(new, k, copy.deepcopy(v, memo))
        return new

    # ---- repr ---------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The layer-specific part of repr(module) ("in_features=2, ..."); subclasses override
        it, the default is "".
        """
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for key, module in self._modules.items():
            lines.append("(" + key + "): " + _addindent(repr(module), 2))
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


# NOTE [ Module backward hooks ]
# register_full_backward_hook / register_full_backward_pre_hook follow PyTorch's design
# (torch/utils/hooks.py BackwardHook): when a module with such hooks is called with grad
# mode on, its positional tensor arguments that require grad pass through one recorded
# identity op ("backward_hook", BackwardHookFunctionBackward) before forward, and its output
# tensors through another after the forward hooks.  The identity's backward formula gets
# every gradient of the op's outputs at once: the outputs' one runs the pre hooks on
# grad_output (they may replace it) and keeps it; the inputs' one runs the full hooks on
# (grad_input, grad_output) (they may replace grad_input).  When no input requires grad the
# full hooks run from the outputs' node with grad_input all None.
@derivative("backward_hook", "BackwardHookFunctionBackward", sparse_grads=True)
def _backward_hook_grads(ctx, *grads):
    return tuple(ctx.fn(grads))


def _identity(tensors, fn):
    """tensors (each requiring grad) passed through one recorded identity op whose backward
    returns fn(grads)."""
    with no_grad():
        outs = tuple(t.view_as(t) for t in tensors)
    record("backward_hook", tuple(tensors), outs, {}, fn=fn)
    return outs


class _BackwardHook:
    """The state of one call of a module with backward hooks (NOTE [ Module backward
    hooks ])."""

    def __init__(self, module):
        self.module = module
        self.n_inputs = 0
        self.input_idx = []
        self.grad_outputs = None

    def _run_full_hooks(self, grad_inputs):
        for hook in list(self.module._backward_hooks.values()):
            res = hook(self.module, grad_inputs, self.grad_outputs)
            if res is None:
                continue
            res = res if isinstance(res, tuple) else (res,)
            if len(res) != len(grad_inputs):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                   f"got {len(res)}, but expected {len(grad_inputs)}")
            grad_inputs = res
        return grad_inputs

    def setup_input_hook(self, args):
        self.n_inputs = len(args)
        self.input_idx = [i for i, a in enumerate(args)
                          if isinstance(a, Tensor) and a.requires_grad]
        if not self.input_idx or not self.module._backward_hooks:
            return args
        # tensors that need no gradient show as zeros in grad_input, as in PyTorch
        others = [(i, a) for i, a in enumerate(args)
                  if isinstance(a, Tensor) and not a.requires_grad]
        metas = [(args[i].shape, args[i].dtype) for i in self.input_idx]

        def fn(grads):
            grad_inputs = [None] * self.n_inputs
            for i, g, (shape, dtype) in zip(self.input_idx, grads, metas):
                grad_inputs[i] = g if g is not None else zeros(tuple(shape), dtype=dtype)
            for i, a in others:
                grad_inputs[i] = zeros(tuple(a.shape), dtype=a.dtype)
            grad_inputs = self._run_full_hooks(tuple(grad_inputs))
            return tuple(grad_inputs[i] for i in self.input_idx)

        outs = _identity([args[i] for i in self.input_idx], fn)
        args = list(args)
        for i, o in zip(self.input_idx, outs):
            args[i] = o
        return tuple(args)

    def setup_output_hook(self, output):
        single = isinstance(output, Tensor)
        items = [output] if single else list(output) if isinstance(output, (tuple, list)) \
            else []
        idx = [i for i, o in enumerate(items) if isinstance(o, Tensor) and o.requires_grad]
        if not idx:
            return output

        metas = [(items[i].shape, items[i].dtype) for i in idx]

        def fn(grads):
            grad_outputs = tuple(g if g is not None else zeros(tuple(shape), dtype=dtype)
                                 for g, (shape, dtype) in zip(grads, metas))
            for hook in list(self.module._backward_pre_hooks.values()):
                res = hook(self.module, grad_outputs)
                if res is None:
                    continue
                res = res if isinstance(res, tuple) else (res,)
                if len(res) != len(grad_outputs):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(res)}, but expected "
                                       f"{len(grad_outputs)}")
                grad_outputs = res
            self.grad_outputs = grad_outputs
            if not self.input_idx and self.module._backward_hooks:
                res = self._run_full_hooks((None,) * self.n_inputs)
                if any(r is not None for r in res):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
            return grad_outputs

        outs = _identity([items[i] for i in idx], fn)
        for i, o in zip(idx, outs):
            items[i] = o
        if single:
            return items[0]
        return type(output)(items)


def _size(shape):
    return "strided.Size([" + ", ".join(str(s) for s in shape) + "])"
