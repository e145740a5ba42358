"""Pictures of a tensor's storage: which cells a view covers, and in what order.

    >>> import strided
    >>> from strided.viz import storage_map
    >>> t = strided.arange(12).view(3, 4)
    >>> print(storage_map(t[1:, ::2]))
    size=(2, 2)  stride=(4, 2)  storage_offset=4  non-contiguous
    storage: 12 cells of int64; view: 4 elements in 4 cells
    cell      0   1   2   3   4   5   6   7   8   9  10  11
           +---+---+---+---+---+---+---+---+---+---+---+---+
    elem   |   |   |   |   |  0|   |  1|   |  2|   |  3|   |
           +---+---+---+---+---+---+---+---+---+---+---+---+

The "cell" row numbers the storage's cells; the "elem" row shows, in each cell the view
covers, the position (in row-major order) of the view's element stored there.  When
several elements share a cell (expand, unfold, overlapping as_strided) their positions
stack in the cell's column, and "+N" stands for N more.
"""
from __future__ import annotations
import os
from typing import TYPE_CHECKING, TextIO

import numpy as np

if TYPE_CHECKING:
    from strided._C.core.tensor import Tensor

__all__ = ["storage_map", "element_offsets"]

MAX_CELLS = 4096         # storage cells drawn at most; the rest is summarised
PNG_MAX_CELLS = 512      # cells drawn at most in a picture
MAX_ELEMENTS = 1 << 24   # views with more elements are refused (map a slice instead)
MAX_STACK = 4            # positions shown per shared cell (the last line becomes "+N")
LINE_WIDTH = 80
_MARGIN = 7              # room for the "cell" / "elem" row labels


def element_offsets(t: Tensor) -> np.ndarray:
    """The storage index of every element of t, in row-major order (an int64 array).

    offset + sum_d index[d] * stride[d], built by broadcasting one arange per dim.
    """
    off = np.asarray(t.storage_offset(), dtype=np.int64)
    for n, s in zip(t.size(), t.stride()):
        off = off[..., None] + np.arange(n, dtype=np.int64) * np.int64(s)
    return off.reshape(-1)


def _cell_labels(offsets, n_cells):
    """{cell: list of label strings} for the covered cells below n_cells."""
    order = np.argsort(offsets, kind="stable")          # element positions grouped by cell
    cells, starts, counts = np.unique(offsets[order], return_index=True, return_counts=True)
    keep = cells < n_cells
    labels = {}
    for cell, start, count in zip(cells[keep].tolist(), starts[keep].tolist(),
                                  counts[keep].tolist()):
        shown = count if count <= MAX_STACK else MAX_STACK - 1
        labels[cell] = [str(p) for p in order[start:start + shown].tolist()]
        if count > shown:
            labels[cell].append(f"+{count - shown}")
    return labels


def _plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def _header(t, n_storage, n_covered):
    contig = "contiguous" if t.is_contiguous() else "non-contiguous"
    first = (f"size={tuple(t.size())}  stride={tuple(t.stride())}  "
             f"storage_offset={t.storage_offset()}  {contig}")
    second = (f"storage: {_plural(n_storage, 'cell')} of {t.dtype.name}; "
              f"view: {_plural(t.numel(), 'element')} in {_plural(n_covered, 'cell')}")
    return [first, second]


def _layout(label_w, width):
    """(cells per row, cell width): 16 cells a row if they fit in 80 columns, else 8, ...;
    cells one character wider than their longest label, two when there is room."""
    room = LINE_WIDTH - _MARGIN - 1
    per_row = max(1, int(width)) if width is not None else next(
        (n for n in (16, 8, 4, 2) if n * (label_w + 2) <= room), 1)
    return per_row, max(label_w + 1, min(label_w + 2, room // per_row - 1))


def storage_map(t: Tensor, *, width: int | None = None, file: TextIO | None = None,
                png: str | os.PathLike[str] | None = None, title: str | None = None,
                max_cells: int = MAX_CELLS) -> str:
    """Draw t's storage as rows of cells, numbering the cells t covers.

    width: cells per row (default: 16, fewer if wide labels would pass 80 columns).
    file: print the map there too (e.g. sys.stdout).  png: also save a picture (needs
    matplotlib).  title: a first line (and the picture's title).  Storages larger than
    max_cells are drawn up to max_cells and the rest is summarised.  Returns the text.
    """
    if png is not None:
        _require_matplotlib()
    if t.numel() > MAX_ELEMENTS:
        raise ValueError(f"storage_map: the view has {t.numel()} elements, more than "
                         f"{MAX_ELEMENTS} can be mapped; map a slice of it instead")
    storage = t.untyped_storage()
    n_storage = storage.size()
    n_cells = min(n_storage, max_cells)
    offsets = element_offsets(t)
    labels = _cell_labels(offsets, n_cells)
    covered = np.unique(offsets)
    n_covered = len(covered)

    lines = ([title] if title else []) + _header(t, n_storage, n_covered)
    depth = max([len(v) for v in labels.values()] + [1])
    if depth > 1:
        lines.append("cells hold several elements: their positions stack, '+N' = N more")
    label_w = max([len(str(max(n_cells - 1, 0)))] + [len(s) for v in labels.values() for s in v])
    per_row, cell_w = _layout(label_w, width)

    def cell(text):                                   # right-aligned, padded to cell_w
        return str(text).rjust(label_w + 1).ljust(cell_w)

    if n_storage == 0:
        lines.append("(empty storage: no cells)")
    for row_start in range(0, n_cells, per_row):
        cols = range(row_start, min(row_start + per_row, n_cells))
        rule = " " * _MARGIN + "+" + "+".join("-" * cell_w for _ in cols) + "+"
        lines.append(("cell".ljust(_MARGIN) + " " + " ".join(cell(c) for c in cols)).rstrip())
        lines.append(rule)
        for level in range(depth):
            stacks = [labels.get(c, ()) for c in cols]
            row = "|".join(cell(st[level] if level < len(st) else "") for st in stacks)
            lines.append(("elem" if level == 0 else "").ljust(_MARGIN) + "|" + row + "|")
        lines.append(rule)
    if n_storage > n_cells:
        hidden = int(np.count_nonzero(covered >= n_cells))
        lines.append(f"… {n_storage - n_cells} more cells not drawn "
                     f"({hidden} of them covered by the view)")
    text = "\n".join(lines)
    if file is not None:
        print(text, file=file)
    if png is not None:
        head = lines[:3 if title else 2]
        if n_storage > PNG_MAX_CELLS:
            head.append(f"(first {PNG_MAX_CELLS} of {n_storage} cells drawn)")
        _write_png(png, min(n_cells, PNG_MAX_CELLS), labels, width or 16, "\n".join(head))
    return text


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("storage_map(png=...) needs matplotlib: pip install matplotlib") from None


def _write_png(path, n_cells, labels, per_row, title):
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    per_row = min(per_row, max(n_cells, 1))
    n_rows = max(1, -(-n_cells // per_row))
    depth = max([len(v) for v in labels.values()] + [1])
    cell_h = 0.6 + 0.35 * (depth - 1)
    row_h = cell_h + 0.6                               # room for the index labels
    x_lim, y_lim = (-0.1, per_row + 0.1), (-(n_rows - 1) * row_h - 0.6, cell_h + 0.1)
    fig = Figure(figsize=(0.6 * (x_lim[1] - x_lim[0]), 0.6 * (y_lim[1] - y_lim[0])))
    ax = fig.add_axes((0, 0, 1, 1))
    for c in range(n_cells):
        x, y = c % per_row, -(c // per_row) * row_h
        stack = labels.get(c)
        colour = "#f6f6f6" if not stack else "#5b9bd5" if len(stack) == 1 else "#f0a35e"
        ax.add_patch(Rectangle((x, y), 1, cell_h, facecolor=colour, edgecolor="#444444"))
        if stack:
            ax.text(x + 0.5, y + cell_h / 2, "\n".join(stack), ha="center", va="center",
                    fontsize=9, color="white" if len(stack) == 1 else "black")
        ax.text(x + 0.5, y - 0.12, str(c), ha="center", va="top", fontsize=7, color="#666666")
    ax.set_xlim(*x_lim)
    ax.set_ylim(*y_lim)
    ax.axis("off")
    ax.set_title(title, fontsize=9, family="monospace")
    fig.savefig(path, dpi=100, bbox_inches="tight", pad_inches=0.2)
