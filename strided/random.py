"""Random number generation: strided.Generator, manual_seed and rand/randn/randint/randperm.

A Generator wraps NumPy's PCG64 bit generator, so a seed gives the same numbers on every run
and platform.  Sampling writes straight into the new tensor's storage.  rand, randn, randint
and randperm take out=None as PyTorch's: out receives the samples a call without out= would
give in out's dtype (same seed, same numbers) and is returned.
"""
from __future__ import annotations
from typing import Any

import numpy as np

from strided._C.core.device import check_device
from strided._C.core import tensor as _t
from strided._C.core.dtypes import float32, int64, to_dtype
from strided.creation import _shape, empty, _into, _dtype
from strided._C.core.tensor import Tensor
from strided.types import Device, _DTypeLike, _ShapeArg, _size


class Generator:
    """A seedable source of random numbers (strided.Generator().manual_seed(0))."""

    def __init__(self, seed: int | None = None) -> None:
        self.manual_seed(np.random.SeedSequence().entropy if seed is None else seed)

    def manual_seed(self, seed: int) -> Generator:
        """Reseed with a non-negative int (the same seed gives the same numbers on every run and
        platform); returns self.
        """
        seed = int(seed)
        if seed < 0:
            raise RuntimeError(f"seed must be non-negative, but got {seed}")
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def seed(self) -> int:
        """Reseed from fresh entropy; returns the new seed."""
        self.manual_seed(np.random.SeedSequence().entropy % (1 << 63))
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """The generator's state (the PCG64 bit generator's state dict); set_state restores it."""
        return self._rng.bit_generator.state

    def set_state(self, state: dict[str, Any]) -> Generator:
        """Restore a state returned by get_state(); returns self."""
        self._rng.bit_generator.state = state
        return self


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (makes rand/randn/randint/randperm/dropout reproducible)."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    """The seed of the default generator (0 until manual_seed is called)."""
    return default_generator.initial_seed()


def _rng(generator):
    return (generator or default_generator)._rng


def _float_dtype(dtype):
    dtype = to_dtype(dtype or float32)
    if not dtype.is_floating_point:
        raise TypeError(f"expected a floating point dtype for sampling, but got {dtype!r}")
    return dtype


def rand(*size: _ShapeArg, generator: Generator | None = None, out: Tensor | None = None,
         dtype: _DTypeLike | None = None, device: Device = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1) in a tensor of the given size (ints, one sequence, or
    size=), float32 unless dtype (a floating-point one) is given; drawn from generator, or
    the default one (strided.manual_seed).

    >>> strided.rand(2, 3).shape
    strided.Size([2, 3])
    """
    check_device(device, "rand()")
    r = empty(*size, dtype=_float_dtype(_dtype(dtype, out, None)))
    _rng(generator).random(out=r.numpy(), dtype=r.numpy().dtype)
    return _into(out, r.requires_grad_() if requires_grad else r, "rand")


def randn(*size: _ShapeArg, generator: Generator | None = None, out: Tensor | None = None,
          dtype: _DTypeLike | None = None, device: Device = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples N(0, 1) in a tensor of the given size, float32 unless dtype
    (a floating-point one) is given; drawn from generator, or the default one.

    >>> _ = strided.manual_seed(0)
    >>> a = strided.randn(3)
    >>> _ = strided.manual_seed(0)
    >>> strided.equal(a, strided.randn(3))
    True
    """
    check_device(device, "randn()")
    r = empty(*size, dtype=_float_dtype(_dtype(dtype, out, None)))
    _rng(generator).standard_normal(out=r.numpy(), dtype=r.numpy().dtype)
    return _into(out, r.requires_grad_() if requires_grad else r, "randn")


def randint(low: int, high: int | _size | None = None, size: _size | None = None, *,
            generator: Generator | None = None, out: Tensor | None = None,
            dtype: _DTypeLike | None = None, device: Device = None) -> Tensor:
    """Integers uniform in [low, high) (randint(high, size) means low = 0), in a tensor of
    shape size, int64 unless dtype is given.

    >>> strided.randint(0, 10, (3,)).dtype
    strided.int64
    """
    check_device(device, "randint()")
    if high is None:
        low, high = 0, low
    elif size is None and not isinstance(high, (int, np.integer)):
        low, high, size = 0, low, high          # randint(high, size)
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    values = _rng(generator).integers(low, high, size=_shape((size,)), dtype=np.int64)
    return _into(out, _t.tensor(values, _dtype(dtype, out, int64)), "randint")


def randperm(n: int, *, generator: Generator | None = None, out: Tensor | None = None,
             dtype: _DTypeLike | None = None, device: Device = None) -> Tensor:
    """A random permutation of 0 .. n-1, int64 unless dtype is given."""
    check_device(device, "randperm()")
    if n < 0:
        raise RuntimeError(f"randperm(): n must be non-negative, but got {n}")
    return _into(out, _t.tensor(_rng(generator).permutation(n).astype(np.int64),
                                _dtype(dtype, out, int64)), "randperm")


def rand_like(t: Tensor, *, generator: Generator | None = None, dtype: _DTypeLike | None = None,
              device: Device = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1) with t's shape, and t's dtype unless dtype is given (it must be
    a floating-point dtype: an integer t needs dtype=).
    """
    check_device(device, "rand_like()")
    return rand(t.shape, generator=generator, dtype=dtype or t.dtype,
                requires_grad=requires_grad)


def randn_like(t: Tensor, *, generator: Generator | None = None, dtype: _DTypeLike | None = None,
               device: Device = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples with t's shape, and t's dtype unless dtype is given (it must be
    a floating-point dtype: an integer t needs dtype=).
    """
    check_device(device, "randn_like()")
    return randn(t.shape, generator=generator, dtype=dtype or t.dtype,
                 requires_grad=requires_grad)


# ---- joining, gathering and sorting (issue 17) ----

def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None, out: Tensor | None = None) -> Tensor:
    """multinomial(input, num_samples, replacement=False, *, generator=None) -> Tensor

    Category indices (int64) sampled from the non-negative weights `input` (1-d, or 2-d:
    one distribution per row): with replacement by inverse CDF, without by the
    exponential-keys method (each key exponential / weight, the smallest num_samples
    taken), so zero-weight categories come only after every positive one.  Shape
    (num_samples,) or (rows, num_samples).

    >>> g = strided.manual_seed(0)
    >>> strided.multinomial(strided.tensor([0.0, 1.0, 0.0]), 2, replacement=True).tolist()
    [1, 1]
    """
    if not isinstance(input, _t.Tensor):
        raise TypeError(f"multinomial(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if not input.dtype.is_floating_point:
        names = {"bool": "Bool", "uint8": "Byte", "int32": "Int", "int64": "Long"}
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{names[input.dtype.name]}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    p = np.array(input.detach().numpy(), dtype=np.float64, ndmin=2)
    n = p.shape[1]
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if not np.isfinite(p).all() or (p < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    total = p.sum(axis=1)
    if (total <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = _rng(generator)
    if replacement:
        cdf = np.cumsum(p, axis=1) / total[:, None]
        u = rng.random((p.shape[0], num_samples))
        idx = np.stack([np.searchsorted(cdf[r], u[r], side="right")
                        for r in range(p.shape[0])])
        idx = np.minimum(idx, n - 1)
    else:
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=p.shape) / p
        idx = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.astype(np.int64)
    r = _t.tensor(idx if input.ndim == 2 else idx[0], int64)
    return r if out is None else out.copy_(r)


# ---- in-place fills: Tensor.uniform_, normal_, random_ ----

_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int32": "Int", "int64": "Long",
                "float32": "Float", "float64": "Double"}


def _fill_from(t, values):
    """t (any layout) overwritten with values (t's shape), through copy_."""
    return t.copy_(_t.tensor(values, t.dtype))


def _uniform_(t, low=0, high=1, *, generator=None):
    """Tensor.uniform_: low + (high - low) * U[0, 1), computed in t's dtype."""
    if not t.dtype.is_floating_point:
        raise NotImplementedError(f"\"check_uniform_bounds\" not implemented for "
                                  f"'{_TORCH_NAMES[t.dtype.name]}'")
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={low} > to={high}")
    dt = t.dtype.numpy_dtype
    u = _rng(generator).random(size=tuple(t.shape), dtype=dt)
    return _fill_from(t, u * dt.type(high - low) + dt.type(low))


def _normal_(t, mean=0, std=1, *, generator=None):
    """Tensor.normal_: mean + std * N(0, 1), computed in t's dtype."""
    if not t.dtype.is_floating_point:
        raise NotImplementedError(f"\"normal_kernel_cpu\" not implemented for "
                                  f"'{_TORCH_NAMES[t.dtype.name]}'")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    dt = t.dtype.numpy_dtype
    n = _rng(generator).standard_normal(size=tuple(t.shape), dtype=dt)
    return _fill_from(t, n * dt.type(std) + dt.type(mean))


def _random_bounds(dtype):
    """[lo, hi] of the integers random_ may write into dtype."""
    if dtype.is_floating_point:
        digits = 24 if dtype.name == "float32" else 53
        return -(1 << digits), 1 << digits
    if dtype.name == "bool":
        return 0, 1
    info = np.iinfo(dtype.numpy_dtype)
    return int(info.min), int(info.max)


def _random_(t, low=None, high=None, *, generator=None):
    """Tensor.random_: integers uniform in [low, high); random_(high) means low = 0, and
    random_() draws from [0, 2**mantissa] (floating point) or [0, the dtype's max]."""
    lo, hi = _random_bounds(t.dtype)
    if low is None and high is None:
        low, high = 0, hi + 1
    elif high is None:
        low, high = 0, low
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    if not lo <= low <= hi:
        raise RuntimeError(f"from is out of bounds for {t.dtype.name}")
    if not lo <= high - 1 <= hi:
        raise RuntimeError(f"to - 1 is out of bounds for {t.dtype.name}")
    values = _rng(generator).integers(low, high - 1, size=tuple(t.shape), dtype=np.int64,
                                      endpoint=True)
    return _fill_from(t, values.astype(t.dtype.numpy_dtype))


def _install_sampler():
    from strided._C.ops import compose
    compose._install_sampler(multinomial)      # Tensor.multinomial (NOTE [ Sampler hook ])
    compose._install_fillers(uniform_=_uniform_, normal_=_normal_, random_=_random_)


_install_sampler()
