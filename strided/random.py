"""Random number generation: strided.Generator, manual_seed and rand/randn/randint/randperm.

A Generator wraps NumPy's PCG64 bit generator, so a seed gives the same numbers on every run
and platform.  Sampling writes straight into the new tensor's storage.
"""
import numpy as np

from strided._C.core.device import check_device
from strided._C.core import tensor as _t
from strided._C.core.dtypes import float32, int64, to_dtype
from strided.creation import _shape, empty


class Generator:
    """A seedable source of random numbers (strided.Generator().manual_seed(0))."""

    def __init__(self, seed=None):
        self.manual_seed(np.random.SeedSequence().entropy if seed is None else seed)

    def manual_seed(self, seed):
        """Reseed with a non-negative int (the same seed gives the same numbers on every run and
        platform); returns self.
        """
        seed = int(seed)
        if seed < 0:
            raise RuntimeError(f"seed must be non-negative, but got {seed}")
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def initial_seed(self):
        """The seed this generator was last seeded with."""
        return self._seed

    def seed(self):
        """Reseed from fresh entropy; returns the new seed."""
        self.manual_seed(np.random.SeedSequence().entropy % (1 << 63))
        return self._seed

    def get_state(self):
        """The generator's state (the PCG64 bit generator's state dict); set_state restores it."""
        return self._rng.bit_generator.state

    def set_state(self, state):
        """Restore a state returned by get_state(); returns self."""
        self._rng.bit_generator.state = state
        return self


default_generator = Generator(0)


def manual_seed(seed):
    """Seed the default generator (makes rand/randn/randint/randperm/dropout reproducible)."""
    return default_generator.manual_seed(seed)


def initial_seed():
    """The seed of the default generator (0 until manual_seed is called)."""
    return default_generator.initial_seed()


def _rng(generator):
    return (generator or default_generator)._rng


def _float_dtype(dtype):
    dtype = to_dtype(dtype or float32)
    if not dtype.is_floating_point:
        raise TypeError(f"expected a floating point dtype for sampling, but got {dtype!r}")
    return dtype


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples from [0, 1) in a tensor of the given size (ints, one sequence, or
    size=), float32 unless dtype (a floating-point one) is given; drawn from generator, or
    the default one (strided.manual_seed).

    >>> strided.rand(2, 3).shape
    strided.Size([2, 3])
    """
    check_device(device, "rand()")
    out = empty(*size, dtype=_float_dtype(dtype))
    _rng(generator).random(out=out.numpy(), dtype=out.numpy().dtype)
    return out.requires_grad_() if requires_grad else out


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples N(0, 1) in a tensor of the given size, float32 unless dtype
    (a floating-point one) is given; drawn from generator, or the default one.

    >>> _ = strided.manual_seed(0)
    >>> a = strided.randn(3)
    >>> _ = strided.manual_seed(0)
    >>> strided.equal(a, strided.randn(3))
    True
    """
    check_device(device, "randn()")
    out = empty(*size, dtype=_float_dtype(dtype))
    _rng(generator).standard_normal(out=out.numpy(), dtype=out.numpy().dtype)
    return out.requires_grad_() if requires_grad else out


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None):
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
    return _t.tensor(values, dtype or int64)


def randperm(n, *, generator=None, dtype=None, device=None):
    """A random permutation of 0 .. n-1, int64 unless dtype is given."""
    check_device(device, "randperm()")
    if n < 0:
        raise RuntimeError(f"randperm(): n must be non-negative, but got {n}")
    return _t.tensor(_rng(generator).permutation(n).astype(np.int64), dtype or int64)


def rand_like(t, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples from [0, 1) with t's shape, and t's dtype unless dtype is given (it must be
    a floating-point dtype: an integer t needs dtype=).
    """
    check_device(device, "rand_like()")
    return rand(t.shape, generator=generator, dtype=dtype or t.dtype,
                requires_grad=requires_grad)


def randn_like(t, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples with t's shape, and t's dtype unless dtype is given (it must be
    a floating-point dtype: an integer t needs dtype=).
    """
    check_device(device, "randn_like()")
    return randn(t.shape, generator=generator, dtype=dtype or t.dtype,
                 requires_grad=requires_grad)


# ---- joining, gathering and sorting (issue 17) ----

def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
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


def _install_sampler():
    from strided._C.ops import compose
    compose._install_sampler(multinomial)      # Tensor.multinomial (NOTE [ Sampler hook ])


_install_sampler()
