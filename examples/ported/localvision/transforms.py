"""ToTensor, Normalize, Lambda and Compose as torchvision.transforms defines them."""
import numpy as np

from ._backend import backend, library_of

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda"]


class Compose:
    """Apply transforms in order: Compose([t1, t2])(x) == t2(t1(x))."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class ToTensor:
    """A uint8 image, (H, W) or (H, W, C) NumPy array, to a float32 (C, H, W) tensor in
    [0, 1] (torchvision divides uint8 images by 255 and leaves float images as they are)."""

    def __call__(self, pic):
        a = np.asarray(pic)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3:
            raise ValueError(f"ToTensor: expected an (H, W) or (H, W, C) image, got shape {a.shape}")
        a = a.transpose(2, 0, 1)
        a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
        return backend().from_numpy(np.ascontiguousarray(a))

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normalize:
    """(tensor - mean) / std per channel of a (C, H, W) tensor, as a new tensor."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = tuple(mean), tuple(std), inplace
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std {self.std} has a zero; division by zero")

    def __call__(self, tensor):
        lib = library_of(tensor)
        mean = lib.tensor(self.mean, dtype=tensor.dtype).view(-1, 1, 1)
        std = lib.tensor(self.std, dtype=tensor.dtype).view(-1, 1, 1)
        if self.inplace:
            return tensor.sub_(mean).div_(std)
        return (tensor - mean) / std

    def __repr__(self):
        return f"{type(self).__name__}(mean={list(self.mean)}, std={list(self.std)})"


class Lambda:
    """A user function as a transform: Lambda(f)(x) == f(x)."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{type(self).__name__}()"
