"""strided.use_deterministic_algorithms and the two flags it sets, as PyTorch has them.

Every strided kernel is deterministic already: reductions and scatters combine in one fixed
order (NOTE [ Gather and scatter walks ] in strided/_C/kernels/gather.pyx, NOTE [ Index
slices ] in strided/_C/ops/index.pyx), threads split work into the same pieces every run, and
of duplicate indices the last write wins.  So the flags change no result: they are state a
program sets and reads (as code written for PyTorch does around its nondeterministic CUDA
kernels), and strided never warns or raises for lack of a deterministic kernel.
"""
from __future__ import annotations

_state = {"mode": False, "warn_only": False}


def _check_bool(value: object, name: str, position: int | None) -> None:
    if not isinstance(value, bool):
        where = f" (position {position})" if position else ""
        raise TypeError(f"_set_deterministic_algorithms(): argument '{name}'{where} must be "
                        f"bool, not {type(value).__name__}")


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Set whether operations must use deterministic algorithms (mode, a bool) and whether a
    missing one would only warn (warn_only).  strided's kernels give the same bits on every
    run whatever the setting, so this only records the flags that
    are_deterministic_algorithms_enabled() and is_deterministic_algorithms_warn_only_enabled()
    read back.

    >>> strided.use_deterministic_algorithms(True)
    >>> strided.are_deterministic_algorithms_enabled()
    True
    >>> strided.use_deterministic_algorithms(False)
    """
    _check_bool(mode, "mode", 1)
    _check_bool(warn_only, "warn_only", None)
    _state["mode"], _state["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    """True when use_deterministic_algorithms(True) is in effect (False at start).

    >>> strided.are_deterministic_algorithms_enabled()
    False
    """
    return _state["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """True when use_deterministic_algorithms was last called with warn_only=True.

    >>> strided.is_deterministic_algorithms_warn_only_enabled()
    False
    """
    return _state["warn_only"]
