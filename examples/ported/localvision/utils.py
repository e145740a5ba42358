"""make_grid and save_image as torchvision.utils defines them (the arguments the tutorials
and examples use)."""
import numpy as np

from ._backend import library_of

__all__ = ["make_grid", "save_image"]


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


def save_image(tensor, fp, nrow=8, padding=2, normalize=False, value_range=None,
               pad_value=0.0, format=None):
    """Write a (B, C, H, W) batch (or one (C, H, W) image) as one PNG grid, values in [0, 1]
    (normalize=True first maps value_range, default the tensor's min..max, to [0, 1]).
    Needs Pillow, as torchvision does."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("save_image needs Pillow (pip install pillow)") from e
    grid = make_grid(tensor, nrow=nrow, padding=padding, pad_value=pad_value).numpy()
    if normalize:
        lo, hi = value_range if value_range is not None else (grid.min(), grid.max())
        grid = (np.clip(grid, lo, hi) - lo) / max(hi - lo, 1e-5)
    img = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(img).save(fp, format=format)
