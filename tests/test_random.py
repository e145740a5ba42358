"""rand / randn / randint / randperm, Generator and manual_seed."""
import math

import numpy as np
import pytest

import strided
from helpers import contiguous_strides

SHAPES = [(), (0,), (1,), (7,), (3, 4), (2, 0, 3), (2, 3, 4)]


@pytest.fixture(autouse=True)
def _restore_default_seed():
    state = strided.default_generator.get_state()
    seed = strided.initial_seed()
    yield
    strided.manual_seed(seed)
    strided.default_generator.set_state(state)


def check_fresh(t, shape, dtype):
    assert t.shape == tuple(shape)
    assert t.dtype is dtype
    assert t.is_contiguous()
    assert t.stride() == contiguous_strides(shape)
    assert t.storage_offset() == 0


# ---- shapes and dtypes ------------------------------------------------------------------

@pytest.mark.parametrize("fn", [strided.rand, strided.randn])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [None, strided.float32, strided.float64])
def test_rand_randn_shapes(fn, shape, dtype):
    for t in (fn(*shape, dtype=dtype), fn(shape, dtype=dtype), fn(list(shape), dtype=dtype)):
        check_fresh(t, shape, dtype or strided.float32)
        a = t.numpy()
        assert np.all(np.isfinite(a))
    if fn is strided.rand:
        a = fn(shape, dtype=dtype).numpy()
        assert np.all((a >= 0) & (a < 1))


@pytest.mark.parametrize("fn", [strided.rand, strided.randn])
@pytest.mark.parametrize("dtype", [strided.int64, strided.int32, strided.bool, strided.uint8])
def test_rand_randn_reject_integer_dtypes(fn, dtype):
    with pytest.raises(TypeError, match="floating point"):
        fn(3, dtype=dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("low,high", [(0, 10), (-5, 5), (0, 1), (100, 103), (-2 ** 40, 2 ** 40)])
def test_randint_shapes_and_range(shape, low, high):
    t = strided.randint(low, high, shape)
    check_fresh(t, shape, strided.int64)
    a = t.numpy()
    assert np.all((a >= low) & (a < high))


def test_randint_high_only_keyword_size():
    t = strided.randint(10, size=(50,))
    assert t.shape == (50,) and t.dtype is strided.int64
    assert np.all((t.numpy() >= 0) & (t.numpy() < 10))


def test_randint_high_and_size_positional():
    # PyTorch's randint(high, size): low defaults to 0 (and the docstring says so too)
    t = strided.randint(10, (3, 4))
    assert t.shape == (3, 4)
    assert np.all((t.numpy() >= 0) & (t.numpy() < 10))


@pytest.mark.parametrize("dtype,low,high", [(strided.int32, -100, 100), (strided.uint8, 0, 256),
                                            (strided.float32, 0, 5), (strided.float64, -3, 3),
                                            (strided.int64, 0, 2)])
def test_randint_dtype(dtype, low, high):
    t = strided.randint(low, high, (1000,), dtype=dtype)
    assert t.dtype is dtype
    a = t.numpy()
    assert np.all((a >= low) & (a < high))
    assert np.all(a == np.round(a))


def test_randint_covers_range():
    a = strided.randint(0, 5, (2000,)).numpy()
    assert set(np.unique(a).tolist()) == {0, 1, 2, 3, 4}


@pytest.mark.parametrize("low,high", [(5, 5), (5, 3), (0, 0), (1, -1)])
def test_randint_empty_range(low, high):
    with pytest.raises(RuntimeError, match="from"):
        strided.randint(low, high, (3,))


def test_randint_missing_size():
    with pytest.raises(TypeError):
        strided.randint(0, 10)


@pytest.mark.parametrize("n", [0, 1, 2, 10, 1000])
def test_randperm(n):
    t = strided.randperm(n)
    check_fresh(t, (n,), strided.int64)
    assert sorted(t.tolist()) == list(range(n))


@pytest.mark.parametrize("dtype", [strided.int32, strided.float64, strided.int64])
def test_randperm_dtype(dtype):
    t = strided.randperm(50, dtype=dtype)
    assert t.dtype is dtype
    assert sorted(t.tolist()) == list(range(50))


def test_randperm_negative():
    with pytest.raises(RuntimeError, match="non-negative"):
        strided.randperm(-1)


def test_randperm_actually_permutes():
    assert strided.randperm(100).tolist() != list(range(100))


@pytest.mark.parametrize("fn", [strided.rand_like, strided.randn_like])
def test_rand_like(fn):
    src = strided.zeros(4, 3, dtype=strided.float64).T[::2]
    t = fn(src)
    check_fresh(t, src.shape, strided.float64)
    t32 = fn(src, dtype=strided.float32)
    check_fresh(t32, src.shape, strided.float32)
    with pytest.raises(TypeError):
        fn(strided.zeros(3, dtype=strided.int64))


# ---- reproducibility --------------------------------------------------------------------

def _draw_all(generator=None):
    return (strided.rand(5, 3, generator=generator).tolist(),
            strided.randn(4, generator=generator).tolist(),
            strided.randint(0, 1000, (6,), generator=generator).tolist(),
            strided.randperm(20, generator=generator).tolist(),
            strided.rand(3, dtype=strided.float64, generator=generator).tolist())


@pytest.mark.parametrize("seed", [0, 1, 42, 2 ** 32 + 7, 2 ** 63 - 1])
def test_manual_seed_reproducible(seed):
    strided.manual_seed(seed)
    a = _draw_all()
    strided.manual_seed(seed)
    b = _draw_all()
    assert a == b
    assert strided.initial_seed() == seed


@pytest.mark.parametrize("seed", [0, 5, 123456789])
def test_generator_reproducible(seed):
    a = _draw_all(strided.Generator(seed))
    b = _draw_all(strided.Generator(seed))
    assert a == b
    g = strided.Generator(seed + 1)
    g.manual_seed(seed)
    assert _draw_all(g) == a
    assert g.initial_seed() == seed
    # the default generator seeded the same way gives the same stream
    strided.manual_seed(seed)
    assert _draw_all() == a


def test_generator_independent_of_default():
    strided.manual_seed(3)
    a = strided.rand(10).tolist()
    strided.manual_seed(3)
    strided.rand(100, generator=strided.Generator(99))      # must not advance the default
    assert strided.rand(10).tolist() == a


def test_consecutive_draws_differ():
    strided.manual_seed(0)
    assert strided.rand(10).tolist() != strided.rand(10).tolist()
    g = strided.Generator(0)
    assert strided.randn(10, generator=g).tolist() != strided.randn(10, generator=g).tolist()


@pytest.mark.parametrize("fn", [lambda g: strided.rand(100, generator=g),
                                lambda g: strided.randn(100, generator=g),
                                lambda g: strided.randint(0, 10 ** 9, (100,), generator=g),
                                lambda g: strided.randperm(100, generator=g)])
def test_different_seeds_differ(fn):
    outs = [fn(strided.Generator(s)).tolist() for s in range(5)]
    for i in range(5):
        for j in range(i + 1, 5):
            assert outs[i] != outs[j]


def test_generator_state_roundtrip():
    g = strided.Generator(11)
    strided.rand(7, generator=g)
    state = g.get_state()
    a = _draw_all(g)
    g.set_state(state)
    assert _draw_all(g) == a


def test_generator_unseeded_and_reseed():
    a = strided.rand(20, generator=strided.Generator()).tolist()
    b = strided.rand(20, generator=strided.Generator()).tolist()
    assert a != b
    g = strided.Generator(1)
    s = g.seed()
    assert isinstance(s, int) and 0 <= s < 2 ** 63
    assert g.initial_seed() == s


def test_negative_seed():
    with pytest.raises(RuntimeError, match="non-negative"):
        strided.manual_seed(-1)
    with pytest.raises(RuntimeError, match="non-negative"):
        strided.Generator(-5)


# ---- distributions ----------------------------------------------------------------------

N = 100_000


@pytest.mark.parametrize("dtype", [strided.float32, strided.float64])
def test_rand_distribution(dtype):
    a = strided.rand(N, generator=strided.Generator(1), dtype=dtype).numpy().astype(np.float64)
    # uniform [0, 1): mean 1/2, std 1/sqrt(12); tolerances are > 10 standard errors
    assert abs(a.mean() - 0.5) < 0.01
    assert abs(a.std() - 1 / math.sqrt(12)) < 0.01
    assert a.min() >= 0 and a.max() < 1
    hist, _ = np.histogram(a, bins=10, range=(0, 1))
    assert np.all(np.abs(hist - N / 10) < 0.05 * N / 10)


@pytest.mark.parametrize("dtype", [strided.float32, strided.float64])
def test_randn_distribution(dtype):
    a = strided.randn(N, generator=strided.Generator(2), dtype=dtype).numpy().astype(np.float64)
    assert abs(a.mean()) < 0.02
    assert abs(a.std() - 1) < 0.02
    assert abs(np.mean(np.abs(a) < 1) - 0.6827) < 0.01
    assert abs(np.mean(a > 0) - 0.5) < 0.01


def test_randint_distribution():
    a = strided.randint(0, 10, (N,), generator=strided.Generator(3)).numpy()
    counts = np.bincount(a, minlength=10)
    assert counts.sum() == N and len(counts) == 10
    assert np.all(np.abs(counts - N / 10) < 0.05 * N / 10)
    assert abs(a.mean() - 4.5) < 0.05


def test_randperm_uniform_first_element():
    g = strided.Generator(4)
    firsts = np.array([strided.randperm(5, generator=g)[0].item() for _ in range(5000)])
    counts = np.bincount(firsts, minlength=5)
    assert np.all(np.abs(counts - 1000) < 150)


def test_rand_multidim_no_pattern():
    t = strided.rand(300, 400, generator=strided.Generator(5)).numpy()
    # rows and columns are not copies of each other
    assert len(np.unique(t[:, 0])) == 300
    assert len(np.unique(t[0])) == 400
    assert abs(t.mean() - 0.5) < 0.01
