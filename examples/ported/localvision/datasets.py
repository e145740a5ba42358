"""MNIST, FashionMNIST and CIFAR10 with torchvision's constructor arguments, read from
local files in torchvision's layout, or a named stand-in when the files are not there.

Nothing is downloaded: `download=True` is accepted and only changes the message.  The
stand-ins are built from scikit-learn's 8x8 digits (1,797 images, shipped with
scikit-learn), split 80/20 into train and test by a fixed permutation:

- MNIST / FashionMNIST: each digit upsampled to 20x20 (bilinear) and centred in 28x28,
  uint8 in [0, 255], as MNIST centres its 20x20 digits.  FashionMNIST gets the same
  digits: there is no clothing data here, and the message says so.
- CIFAR10: each digit upsampled to 24x24 and centred in a 32x32 RGB image, drawn in a
  random light colour on a random dark one, with a little noise; label = the digit (not
  CIFAR-10's classes).  (With random offsets or colours of any brightness, the tutorial's
  two epochs of SGD at lr=0.001 over 1,438 images learned next to nothing, in torch as in
  strided: no accuracy to compare.)

A stand-in's `substitute` attribute names what it is; a real data set's is None.
"""
import gzip
import os
import pickle
import struct
import sys

import numpy as np

from ._backend import backend

__all__ = ["MNIST", "FashionMNIST", "CIFAR10"]

_SEED = 0
_TEST_FRACTION = 0.2
_warned = set()


def _note(key, text):
    if key not in _warned:
        _warned.add(key)
        print(f"localvision: {text}", file=sys.stderr)


# ---- the stand-in's source: scikit-learn's digits -----------------------------------------

def _digits_split(train):
    """scikit-learn's digits as float64 (N, 8, 8) in [0, 1] and int64 labels, the train or
    test part of a fixed permutation."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise RuntimeError("localvision: the real data set is not on disk and its stand-in "
                           "needs scikit-learn (pip install scikit-learn)") from e
    digits = load_digits()
    images = digits.images / 16.0
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(_SEED).permutation(len(labels))
    n_test = int(round(len(labels) * _TEST_FRACTION))
    part = order[n_test:] if train else order[:n_test]
    return images[part], labels[part]


def _resize_bilinear(images, size):
    """(N, h, w) -> (N, size, size), bilinear with half-pixel centres."""
    n, h, w = images.shape

    def weights(src, dst):
        pos = np.clip((np.arange(dst) + 0.5) * src / dst - 0.5, 0, src - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, src - 1)
        return lo, hi, pos - lo

    ylo, yhi, fy = weights(h, size)
    xlo, xhi, fx = weights(w, size)
    rows = images[:, ylo, :] * (1 - fy)[None, :, None] + images[:, yhi, :] * fy[None, :, None]
    return rows[:, :, xlo] * (1 - fx) + rows[:, :, xhi] * fx


def _digits_as_mnist(train):
    images, labels = _digits_split(train)
    out = np.zeros((len(images), 28, 28))
    out[:, 4:24, 4:24] = _resize_bilinear(images, 20)
    return np.round(out * 255).astype(np.uint8), labels


def _digits_as_cifar(train):
    images, labels = _digits_split(train)
    rng = np.random.default_rng(_SEED + (1 if train else 2))
    n = len(images)
    alpha = np.zeros((n, 32, 32, 1))
    alpha[:, 4:28, 4:28, 0] = _resize_bilinear(images, 24)      # the digit, centred
    background = rng.uniform(0.0, 0.2, (n, 1, 1, 3))            # a dark colour
    foreground = rng.uniform(0.8, 1.0, (n, 1, 1, 3))            # a light colour
    out = background * (1 - alpha) + foreground * alpha + rng.normal(0.0, 0.03, (n, 32, 32, 3))
    return np.round(np.clip(out, 0.0, 1.0) * 255).astype(np.uint8), labels


# ---- real files --------------------------------------------------------------------------

def _read_idx(path):
    """An IDX file (MNIST's format), gzipped or not, as a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {body.size} bytes of data for shape {shape}")
    return body.reshape(shape)


def _find(folder, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    return None


class _Images:
    """Common part: images (N, H, W[, C]) uint8, targets int64; transforms applied per item."""

    classes = []
    substitute = None

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        self.data, self.targets = self._load(root, train, download)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets[index])
        if not isinstance(img, np.ndarray):
            img = img.numpy()
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self):
        what = self.substitute or "files under " + repr(self.root)
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Split: {'Train' if self.train else 'Test'}\n    Data: {what}")


class MNIST(_Images):
    """MNIST from `<root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`,
    or scikit-learn's digits at 28x28 when those files are absent."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def _load(self, root, train, download):
        name = type(self).__name__
        raw = os.path.join(root, name, "raw")
        prefix = "train" if train else "t10k"
        images = _find(raw, f"{prefix}-images-idx3-ubyte")
        labels = _find(raw, f"{prefix}-labels-idx1-ubyte")
        if images and labels:
            return self._as_tensors(_read_idx(images), _read_idx(labels).astype(np.int64))
        data, targets = _digits_as_mnist(train)
        self.classes = MNIST.classes
        self.substitute = (f"scikit-learn's 8x8 digits upsampled to 28x28 "
                           f"({len(targets)} {'train' if train else 'test'} images), "
                           f"not {name}")
        _note(name, f"{name} is not under {raw!r} and nothing is downloaded here"
                    f"{' (download=True ignored)' if download else ''}; using in its place "
                    f"{self.substitute}")
        return self._as_tensors(data, targets)

    @staticmethod
    def _as_tensors(data, targets):
        # torchvision's MNIST keeps .data (N, 28, 28) uint8 and .targets int64 as tensors
        lib = backend()
        return (lib.from_numpy(np.ascontiguousarray(data, dtype=np.uint8)),
                lib.from_numpy(np.ascontiguousarray(targets, dtype=np.int64)))


class FashionMNIST(MNIST):
    """FashionMNIST from `<root>/FashionMNIST/raw/...` (MNIST's file names), or the same
    digit stand-in as MNIST when those files are absent."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class CIFAR10(_Images):
    """CIFAR-10 from `<root>/cifar-10-batches-py/` (the Python pickles), or coloured
    scikit-learn digits at 3x32x32 when those files are absent."""

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck"]

    def _load(self, root, train, download):
        folder = os.path.join(root, "cifar-10-batches-py")
        names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        paths = [os.path.join(folder, n) for n in names]
        if all(os.path.exists(p) for p in paths):
            data, targets = [], []
            for p in paths:
                with open(p, "rb") as f:
                    batch = pickle.load(f, encoding="latin1")
                data.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
                targets.extend(batch["labels"])
            return (np.concatenate(data).transpose(0, 2, 3, 1).copy(),
                    np.asarray(targets, dtype=np.int64))
        data, targets = _digits_as_cifar(train)
        self.classes = MNIST.classes
        self.substitute = (f"scikit-learn's 8x8 digits as coloured 3x32x32 images "
                           f"({len(targets)} {'train' if train else 'test'} images; "
                           f"labels are digits), not CIFAR-10")
        _note("CIFAR10", f"CIFAR-10 is not under {folder!r} and nothing is downloaded here"
                         f"{' (download=True ignored)' if download else ''}; using in its "
                         f"place {self.substitute}")
        return data, targets
