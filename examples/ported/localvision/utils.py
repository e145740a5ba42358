"""make_grid as torchvision.utils defines it (the arguments the tutorials use)."""
import numpy as np

from ._backend import library_of

__all__ = ["make_grid"]


def make_grid(tensor, nrow=8, padding=2, pad_value=0.0):
    """A (B, C, H, W) batch laid out as one (3, H', W') image: up to nrow images a row,
    `padding` pixels of pad_value around each; one-channel images become three."""
    lib = library_of(tensor)
    a = tensor.detach().numpy()
    if a.ndim == 3:
        a = a[None]
    if a.shape[1] == 1:
        a = np.concatenate([a, a, a], axis=1)
    b, c, h, w = a.shape
    cols = min(nrow, b)
    rows = -(-b // cols)
    hp, wp = h + padding, w + padding
    grid = np.full((c, rows * hp + padding, cols * wp + padding), pad_value, dtype=a.dtype)
    for k in range(b):
        y, x = (k // cols) * hp + padding, (k % cols) * wp + padding
        grid[:, y:y + h, x:x + w] = a[k]
    return lib.from_numpy(grid)
