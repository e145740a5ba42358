"""cosine_similarity, pairwise_distance, pdist, pixel_shuffle / pixel_unshuffle,
channel_shuffle, unfold / fold and their modules against torch: values and gradients in
float32 and float64 over contiguous, transposed and sliced inputs, edge cases (zero
vectors, equal inputs), reprs, errors, and gradcheck."""
import numpy as np
import pytest

import strided as S
import strided.nn as nn
import strided.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}
DTYPES = [np.float32, np.float64]
LAYOUTS = ["contiguous", "transposed", "sliced"]


def _view(t, kind):
    if kind == "transposed":
        return t.transpose(0, -1)
    if kind == "sliced":
        return t[..., ::2]
    return t


def _base(shape, kind):
    """The shape of the array whose _view(., kind) has `shape`."""
    if kind == "transposed":
        return shape[-1:] + shape[1:-1] + shape[:1]
    if kind == "sliced":
        return shape[:-1] + (shape[-1] * 2,)
    return shape


def _compare(fs, ft, shapes, dtype, kind="contiguous", seed=0, arrays=None):
    rng = np.random.default_rng(seed)
    if arrays is None:
        arrays = [rng.standard_normal(_base(sh, kind)) for sh in shapes]
    leaves = [(S.tensor(a.astype(dtype)).requires_grad_(),
               torch.tensor(a.astype(dtype), requires_grad=True)) for a in arrays]
    ys = fs(*[_view(s, kind) for s, _ in leaves])
    yt = ft(*[_view(t, kind) for _, t in leaves])
    assert tuple(ys.shape) == tuple(yt.shape)
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), **TOL[dtype])
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ys.backward(S.tensor(g))
    yt.backward(torch.tensor(g))
    for s, t in leaves:
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
def test_cosine_similarity(kind, dtype):
    for shapes, dim in [([(5, 6), (5, 6)], 1), ([(4, 3, 6), (4, 3, 6)], -1),
                        ([(4, 3, 6), (4, 3, 6)], 0), ([(4, 3, 6), (1, 3, 6)], 2)]:
        _compare(lambda a, b: F.cosine_similarity(a, b, dim),
                 lambda a, b: TF.cosine_similarity(a, b, dim), shapes, dtype, kind)
    # zero vectors: the norm is clamped at eps, the gradient is the unclamped norm's
    a = np.zeros((3, 4))
    a[1] = [1.0, 2.0, 0.0, -1.0]
    b = np.ones((3, 4))
    _compare(F.cosine_similarity, TF.cosine_similarity, None, dtype, arrays=[a, b])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
def test_pairwise_distance(kind, dtype):
    for shapes in [[(5, 6), (5, 6)], [(4, 3, 6), (4, 3, 6)], [(4, 3, 6), (1, 6)]]:
        for p, keepdim in [(2.0, False), (1.0, True), (3.0, False), (float("inf"), False)]:
            _compare(lambda a, b: F.pairwise_distance(a, b, p, keepdim=keepdim),
                     lambda a, b: TF.pairwise_distance(a, b, p, keepdim=keepdim), shapes,
                     dtype, kind)
    a = np.arange(12.0).reshape(3, 4)
    _compare(F.pairwise_distance, TF.pairwise_distance, None, dtype, arrays=[a, a.copy()])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["contiguous", "sliced"])
def test_pdist(kind, dtype):
    for n, m in [(5, 4), (2, 3), (7, 1)]:
        for p in (2.0, 1.0, 3.0):
            _compare(lambda x: F.pdist(x, p), lambda x: TF.pdist(x, p), [(n, m)], dtype, kind)
    x = S.tensor(np.random.default_rng(1).standard_normal((6, 3)).T.copy()).t()
    np.testing.assert_allclose(F.pdist(x).numpy(), TF.pdist(torch.tensor(x.numpy())).numpy(),
                               rtol=1e-12)
    assert F.pdist(S.zeros(1, 3)).shape == (0,)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
def test_pixel_shuffle_unshuffle(kind, dtype):
    for shape, r in [((2, 8, 3, 4), 2), ((18, 2, 3), 3), ((2, 1, 4, 2, 2), 2)]:
        _compare(lambda x: F.pixel_shuffle(x, r), lambda x: TF.pixel_shuffle(x, r), [shape],
                 dtype, kind)
    for shape, r in [((2, 2, 4, 6), 2), ((3, 6, 9), 3), ((2, 1, 4, 2, 2), 2)]:
        _compare(lambda x: F.pixel_unshuffle(x, r), lambda x: TF.pixel_unshuffle(x, r),
                 [shape], dtype, kind)
    x = S.randn(2, 12, 3, 5)
    assert S.equal(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2), x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
def test_channel_shuffle(kind, dtype):
    for shape, g in [((2, 6, 4), 2), ((2, 6, 3, 4), 3), ((3, 4, 2, 2, 2), 4)]:
        _compare(lambda x: F.channel_shuffle(x, g),
                 lambda x: TF.channel_shuffle(x, g), [shape], dtype, kind)


UNFOLD_ARGS = [dict(kernel_size=3), dict(kernel_size=(2, 3), dilation=(1, 2), padding=(1, 0),
                                         stride=(2, 1)),
               dict(kernel_size=2, dilation=2, padding=1, stride=2), dict(kernel_size=(1, 4)),
               dict(kernel_size=3, padding=2, stride=3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("args", range(len(UNFOLD_ARGS)))
def test_unfold_and_fold(args, kind, dtype):
    kw = UNFOLD_ARGS[args]
    for shape in [(2, 3, 7, 8), (3, 6, 9)]:
        _compare(lambda x: F.unfold(x, **kw), lambda x: TF.unfold(x, **kw), [shape], dtype,
                 kind)
        h, w = shape[-2:]
        cols = TF.unfold(torch.zeros(shape), **kw).shape
        _compare(lambda x: F.fold(x, (h, w), **kw), lambda x: TF.fold(x, (h, w), **kw),
                 [tuple(cols)], dtype, kind)


def test_modules_reprs_and_forward():
    pairs = [(nn.PixelShuffle(2), torch.nn.PixelShuffle(2), (1, 8, 3, 3)),
             (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), (1, 2, 4, 6)),
             (nn.ChannelShuffle(2), torch.nn.ChannelShuffle(2), (1, 4, 3, 3)),
             (nn.Unfold(2, padding=1), torch.nn.Unfold(2, padding=1), (2, 3, 4, 4)),
             (nn.Fold((3, 3), 2), torch.nn.Fold((3, 3), 2), (2, 8, 4))]
    for ms, mt, shape in pairs:
        assert repr(ms) == repr(mt)
        a = np.random.default_rng(0).standard_normal(shape)
        np.testing.assert_array_equal(ms(S.tensor(a)).numpy(), mt(torch.tensor(a)).numpy())
    a, b = np.random.default_rng(1).standard_normal((2, 4, 5))
    for ms, mt in [(nn.CosineSimilarity(), torch.nn.CosineSimilarity()),
                   (nn.CosineSimilarity(0, 1e-3), torch.nn.CosineSimilarity(0, 1e-3)),
                   (nn.PairwiseDistance(), torch.nn.PairwiseDistance()),
                   (nn.PairwiseDistance(1.0, 1e-3, True),
                    torch.nn.PairwiseDistance(1.0, 1e-3, True))]:
        assert repr(ms) == repr(mt)
        np.testing.assert_allclose(ms(S.tensor(a), S.tensor(b)).numpy(),
                                   mt(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)


def test_errors_match_torch():
    cases = [
        (lambda: F.pixel_shuffle(S.zeros(1, 6, 2, 2), 2), RuntimeError,
         "divisible by the square of upscale_factor, but input.size\\(-3\\)=6 is not "
         "divisible by 4"),
        (lambda: F.pixel_shuffle(S.zeros(4, 2), 2), RuntimeError, "at least 3 dimensions"),
        (lambda: F.pixel_unshuffle(S.zeros(1, 1, 3, 4), 2), RuntimeError,
         "height to be divisible by downscale_factor"),
        (lambda: F.channel_shuffle(S.zeros(1, 5, 2), 2), RuntimeError,
         "Number of channels must be divisible by groups. Got 5 channels and 2 groups."),
        (lambda: F.unfold(S.zeros(2, 3), 2), RuntimeError, "Only 3D or 4D input"),
        (lambda: F.unfold(S.zeros(1, 1, 2, 2), 3), RuntimeError,
         "its components must be at least one"),
        (lambda: F.fold(S.zeros(1, 5, 4), (3, 3), 2), RuntimeError,
         "divisible by the product of kernel_size"),
        (lambda: F.fold(S.zeros(1, 4, 5), (3, 3), 2), RuntimeError,
         "number of sliding blocks 2 \\* 2 = 4, but got input.size\\(2\\)=5"),
        (lambda: F.pdist(S.zeros(2, 3, 4)), RuntimeError, "pdist only supports 2D tensors, "
                                                          "got: 3D"),
    ]
    for f, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            f()


GRADCHECK = [
    lambda a, b: F.cosine_similarity(a, b, 1),
    lambda a, b: F.pairwise_distance(a, b, 1.5),
    lambda a, b: F.pdist(a * b, 2.0),
    lambda a, b: F.unfold((a * b).view(1, 1, 4, 6), (2, 3), padding=1, stride=(1, 2)),
    lambda a, b: F.fold((a * b).view(1, 4, 6), (3, 4), 2, stride=(1, 1)),
    lambda a, b: F.pixel_shuffle((a + b).view(1, 4, 2, 3), 2),
]


@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck(i):
    rng = np.random.default_rng(i)
    a = S.tensor(rng.standard_normal((6, 4))).t().requires_grad_()
    b = S.tensor(rng.standard_normal((4, 6))).requires_grad_()
    assert S.autograd.gradcheck(GRADCHECK[i], (a, b))
