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

The same map is drawn as SVG (``storage_map(t, format="svg")``) or as an HTML fragment
(``format="html"``) for web pages and notebooks, where ``Tensor._repr_html_`` shows a
small tensor's values with its map.  ``view_chain(t)`` draws how a view was derived from
its base, step by step, for views made inside ``record_views()`` (NOTE [ View chains ]).
"""
from __future__ import annotations
import contextlib
import html
import math
import operator
import os
import textwrap
import threading
import weakref
from typing import TYPE_CHECKING, Iterator, NamedTuple, TextIO

import numpy as np

from strided._C.core import tensor as _core

if TYPE_CHECKING:
    from strided._C.core.tensor import Tensor

__all__ = ["storage_map", "element_offsets", "view_chain", "record_views"]

MAX_CELLS = 4096         # storage cells drawn at most; the rest is summarised
PNG_MAX_CELLS = 512      # cells drawn at most in a picture
MAX_ELEMENTS = 1 << 24   # views with more elements are refused (map a slice instead)
MAX_STACK = 4            # positions shown per shared cell (the last line becomes "+N")
REPR_MAX_CELLS = 256     # Tensor._repr_html_ draws a map when numel and storage fit this
LINE_WIDTH = 80
_MARGIN = 7              # room for the "cell" / "elem" row labels
_FORMATS = ("text", "svg", "html")


class _Layout(NamedTuple):
    """What a map is drawn from: a view's metadata and its storage's size (no tensor, so a
    step of a view chain can be drawn after its tensor is gone)."""
    size: tuple
    stride: tuple
    offset: int
    n_storage: int
    dtype: str
    numel: int
    contiguous: bool


def _layout_of(t):
    return _Layout(tuple(t.size()), tuple(t.stride()), t.storage_offset(),
                   t.untyped_storage().size(), t.dtype.name, t.numel(), t.is_contiguous())


def _offsets(size, stride, offset):
    off = np.asarray(offset, dtype=np.int64)
    for n, s in zip(size, stride):
        off = off[..., None] + np.arange(n, dtype=np.int64) * np.int64(s)
    return off.reshape(-1)


def element_offsets(t: Tensor) -> np.ndarray:
    """The storage index of every element of t, in row-major order (an int64 array).

    offset + sum_d index[d] * stride[d], built by broadcasting one arange per dim.

    >>> strided.viz.element_offsets(strided.arange(6).view(2, 3).t()).tolist()
    [0, 3, 1, 4, 2, 5]
    """
    return _offsets(t.size(), t.stride(), t.storage_offset())


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


def _header(lay, n_covered):
    contig = "contiguous" if lay.contiguous else "non-contiguous"
    first = (f"size={lay.size}  stride={lay.stride}  "
             f"storage_offset={lay.offset}  {contig}")
    second = (f"storage: {_plural(lay.n_storage, 'cell')} of {lay.dtype}; "
              f"view: {_plural(lay.numel, 'element')} in {_plural(n_covered, 'cell')}")
    return [first, second]


def _layout(label_w, width):
    """(cells per row, cell width): 16 cells a row if they fit in 80 columns, else 8, ...;
    cells one character wider than their longest label, two when there is room."""
    room = LINE_WIDTH - _MARGIN - 1
    per_row = max(1, operator.index(width)) if width is not None else next(
        (n for n in (16, 8, 4, 2) if n * (label_w + 2) <= room), 1)
    return per_row, max(label_w + 1, min(label_w + 2, room // per_row - 1))


def _is_int(x):
    try:
        operator.index(x)
    except TypeError:
        return False
    return not isinstance(x, bool)


class _Map(NamedTuple):
    """A map before drawing: the first n_cells cells, the labels of the covered ones."""
    lines: list           # title (if any) and the two header lines
    labels: dict          # {cell: [label, ...]} for covered cells below n_cells
    n_cells: int          # cells drawn
    n_storage: int
    depth: int            # most labels stacked in one cell
    label_w: int          # longest label or cell number, in characters
    per_row: int
    summary: str | None   # the line saying what was not drawn


def _plan(lay, width, title, max_cells):
    if lay.numel > MAX_ELEMENTS:
        raise ValueError(f"storage_map: the view has {lay.numel} elements, more than "
                         f"{MAX_ELEMENTS} can be mapped; map a slice of it instead")
    if not _is_int(max_cells) or max_cells < 0:
        raise ValueError(f"storage_map: max_cells must be a non-negative int, got {max_cells!r}")
    if width is not None and (not _is_int(width) or width < 1):
        raise ValueError(f"storage_map: width must be a positive int (cells per row) or None, "
                         f"got {width!r}")
    max_cells = operator.index(max_cells)
    n_storage = lay.n_storage
    n_cells = min(n_storage, max_cells)
    offsets = _offsets(lay.size, lay.stride, lay.offset)
    labels = _cell_labels(offsets, n_cells)
    covered = np.unique(offsets)
    lines = ([title] if title else []) + _header(lay, len(covered))
    depth = max([len(v) for v in labels.values()] + [1])
    label_w = max([len(str(max(n_cells - 1, 0)))] + [len(s) for v in labels.values() for s in v])
    per_row, _ = _layout(label_w, width)
    summary = None
    if n_storage > n_cells:
        hidden = int(np.count_nonzero(covered >= n_cells))
        summary = (f"… {n_storage - n_cells} more cells not drawn "
                   f"({hidden} of them covered by the view)")
    return _Map(lines, labels, n_cells, n_storage, depth, label_w, per_row, summary)


def _text(m, width):
    lines = list(m.lines)
    depth, labels, label_w = m.depth, m.labels, m.label_w
    if depth > 1:
        lines.append("cells hold several elements: their positions stack, '+N' = N more")
    per_row, cell_w = _layout(label_w, width)

    def cell(text):                                   # right-aligned, padded to cell_w
        return str(text).rjust(label_w + 1).ljust(cell_w)

    if m.n_storage == 0:
        lines.append("(empty storage: no cells)")
    for row_start in range(0, m.n_cells, per_row):
        cols = range(row_start, min(row_start + per_row, m.n_cells))
        rule = " " * _MARGIN + "+" + "+".join("-" * cell_w for _ in cols) + "+"
        lines.append(("cell".ljust(_MARGIN) + " " + " ".join(cell(c) for c in cols)).rstrip())
        lines.append(rule)
        for level in range(depth):
            stacks = [labels.get(c, ()) for c in cols]
            row = "|".join(cell(st[level] if level < len(st) else "") for st in stacks)
            lines.append(("elem" if level == 0 else "").ljust(_MARGIN) + "|" + row + "|")
        lines.append(rule)
    if m.summary:
        lines.append(m.summary)
    return "\n".join(lines)


# ---- SVG ------------------------------------------------------------------------------------
# NOTE [ Storage map SVG ]
# One <svg class="storage-map"> per map, standalone (its own xmlns, size and viewBox, fills
# and fonts as attributes, no stylesheet), so it can be written to a file, inlined in HTML or
# nested in another SVG.  Every drawn cell is a <rect class="cell" data-cell="i">; cells the
# view covers are class="cell covered" with a highlight fill (blue; orange where several
# elements share the cell).  The cell's element positions are <text class="elem"
# data-cell="i"> lines, top to bottom as in the text map, and its number a <text
# class="index">.  The root's data-cells and data-covered count the cells drawn and the
# covered ones among them, for tests and for pages that check the picture.

_FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
_CHAR_W = 7.3            # width of one character of 12px monospace, with some room
_PAD = 8
_HEADER_H = 16           # one header line
_INDEX_H = 14            # the cell numbers above each row of cells
_LABEL_H = 14            # one stacked label
_ROW_GAP = 6
_FILL = {"empty": "#f3f4f6", "one": "#4a86c5", "shared": "#f0a35e"}
_INK = {"empty": "#9ca3af", "one": "#ffffff", "shared": "#1f2937"}


def _esc(s):
    return html.escape(str(s), quote=True)


def _num(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


def _svg(m, head, pos=None):
    """The map m as an <svg> string with the lines `head` above the cells; pos=(x, y)
    places it inside an enclosing SVG."""
    per_row = max(1, min(m.per_row, m.n_cells))
    cell_w = max(26, math.ceil(_CHAR_W * m.label_w) + 12)
    cell_h = 8 + _LABEL_H * m.depth
    row_h = _INDEX_H + cell_h + _ROW_GAP
    n_rows = -(-m.n_cells // per_row)
    tail = [m.summary] if m.summary else ["(empty storage: no cells)"] if m.n_storage == 0 else []
    if m.depth > 1:
        tail.insert(0, "orange cells hold several elements: positions stack, '+N' = N more")
    top = _PAD + _HEADER_H * len(head) + (4 if head else 0)
    grid_h = n_rows * row_h
    width = math.ceil(max(per_row * cell_w, max([len(s) for s in head + tail] + [0]) * _CHAR_W)
                      + 2 * _PAD)
    height = math.ceil(top + grid_h + _HEADER_H * len(tail) + _PAD)
    where = f' x="{_num(pos[0])}" y="{_num(pos[1])}"' if pos else ""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="storage-map"{where} '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'data-cells="{m.n_cells}" data-covered="{len(m.labels)}" '
           f'data-storage-cells="{m.n_storage}" font-family="{_esc(_FONT)}" role="img">',
           f'<title>{_esc("; ".join(m.lines))}</title>',
           f'<rect class="background" x="0" y="0" width="{width}" height="{height}" '
           f'fill="#ffffff"/>']

    def line(y, s, cls):
        out.append(f'<text class="{cls}" x="{_PAD}" y="{y}" font-size="12" fill="#1f2937" '
                   f'xml:space="preserve" style="white-space: pre">{_esc(s)}</text>')

    for i, s in enumerate(head):
        line(_PAD + _HEADER_H * (i + 1) - 4, s, "header")
    for c in range(m.n_cells):
        r, k = divmod(c, per_row)
        x, y = _PAD + k * cell_w, top + r * row_h + _INDEX_H
        stack = m.labels.get(c)
        kind = "empty" if not stack else "one" if len(stack) == 1 else "shared"
        cx = _num(x + cell_w / 2)
        out.append(f'<text class="index" data-cell="{c}" x="{cx}" y="{y - 3}" '
                   f'text-anchor="middle" font-size="10" fill="#6b7280">{c}</text>')
        out.append(f'<rect class="{"cell covered" if stack else "cell"}" data-cell="{c}" '
                   f'x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" fill="{_FILL[kind]}" '
                   f'stroke="#374151" stroke-width="1"/>')
        for level, label in enumerate(stack or ()):
            out.append(f'<text class="elem" data-cell="{c}" x="{cx}" '
                       f'y="{y + 4 + _LABEL_H * (level + 1) - 3}" text-anchor="middle" '
                       f'font-size="12" fill="{_INK[kind]}">{_esc(label)}</text>')
    for i, s in enumerate(tail):
        line(top + grid_h + _HEADER_H * (i + 1) - 4, s, "summary")
    out.append("</svg>")
    return "\n".join(out), width, height


def _html(m):
    svg, _, _ = _svg(m, [])
    return (f'<div class="strided-storage-map"><pre>{_esc(chr(10).join(m.lines))}</pre>\n'
            f'{svg}\n</div>')


def storage_map(t: Tensor, *, format: str = "text", width: int | None = None,
                file: TextIO | None = None, png: str | os.PathLike[str] | None = None,
                title: str | None = None, max_cells: int = MAX_CELLS) -> str:
    """Draw t's storage as rows of cells, numbering the cells t covers.

    format: "text" (the default: lines of characters, as in the module's example), "svg"
    (a standalone <svg class="storage-map"> whose covered cells are <rect class="cell
    covered">; NOTE [ Storage map SVG ]) or "html" (a <div> holding the header lines and
    that SVG, every string escaped).  width: cells per row (default: 16, fewer if wide
    labels would pass 80 columns).  file: print the result there too (e.g. sys.stdout).
    png: also save a picture (needs matplotlib).  title: a first line (and the picture's
    title).  Storages larger than max_cells are drawn up to max_cells and the rest is
    summarised; views of more than MAX_ELEMENTS elements are refused (ValueError).
    Returns the text, SVG or HTML.

    >>> svg = storage_map(strided.arange(6)[::2], format="svg")
    >>> svg.count('class="cell covered"'), svg.count('class="cell"')
    (3, 3)
    >>> svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="storage-map"')
    True
    """
    if png is not None:
        _require_matplotlib()
    if format not in _FORMATS:
        raise ValueError(f"storage_map: format must be 'text', 'svg' or 'html', got {format!r}")
    lay = _layout_of(t)
    m = _plan(lay, width, title, max_cells)
    out = _text(m, width) if format == "text" else _svg(m, m.lines)[0] if format == "svg" \
        else _html(m)
    if file is not None:
        print(out, file=file)
    if png is not None:
        head = list(m.lines)
        if m.n_storage > PNG_MAX_CELLS:
            head.append(f"(first {PNG_MAX_CELLS} of {m.n_storage} cells drawn)")
        _write_png(png, min(m.n_cells, PNG_MAX_CELLS), m.labels, width or 16, "\n".join(head))
    return out


# ---- notebooks --------------------------------------------------------------------------------

def _repr_html(t):
    """Tensor._repr_html_ (installed into the core at import; NOTE [ Display hooks ] in
    strided/_C/core/tensor.pyx): the values as repr shows them and, when the tensor and its
    storage have at most REPR_MAX_CELLS elements and cells, its storage map.  Bigger tensors
    get a one-line note instead; nothing here grows with the tensor beyond repr itself."""
    values = f'<pre>{_esc(repr(t))}</pre>'
    numel, n_storage = t.numel(), t.untyped_storage().size()
    if numel <= REPR_MAX_CELLS and n_storage <= REPR_MAX_CELLS:
        picture = _html(_plan(_layout_of(t), None, None, MAX_CELLS))
    else:
        picture = (f'<p class="strided-note">storage map not drawn: {_plural(numel, "element")} '
                   f'over a storage of {_plural(n_storage, "cell")} (drawn up to '
                   f'{REPR_MAX_CELLS} of each); strided.viz.storage_map(t) draws it</p>')
    return f'<div class="strided-tensor">{values}\n{picture}\n</div>'


_core.install_repr_html(_repr_html)


# ---- view chains -------------------------------------------------------------------------------
# NOTE [ View chains ]
# What strided knows of how a view was made: t._base, the root tensor whose storage it views
# (intermediate views are not kept), and -- only when the base requires grad -- the autograd
# view Nodes, which hold each op's name and arguments but not the intermediate layouts, and
# exist for no other tensor.  So history is recorded where it is asked for: inside
# record_views() the core calls _observe (set_view_observer; NOTE [ Display hooks ] in
# strided/_C/core/tensor.pyx) with (source, view, op name) for every view the recording
# thread makes, and _observe keeps a _Step -- the op, the view's layout at that moment, and
# the source's _Step -- keyed by the view's id.  A _Step holds layouts, not tensors: an
# intermediate view can die (t = a.view(3, 4)[1:].t() keeps only t) and still be drawn, and
# recording keeps no storage alive.  The key is dropped when its view dies (a weakref), so
# ids are never confused; memory grows only with the views still alive and their ancestry.
# view_chain(t) walks t's _Steps back to one made from a tensor that owns its storage (the
# base).  Views made outside record_views(), views whose layout changed in place afterwards
# (t_(), as_strided_(), set_()) and views that do not go through _view() (view(dtype),
# which reinterprets the storage) have no recorded steps; their chain is base -> t in one
# step, and the drawing says so.

class _Step(NamedTuple):
    op: str | None        # the view op that made this layout; None for the chain's start
    layout: _Layout
    parent: "_Step | None"
    owns_storage: bool    # (start only) whether the tensor was the base, not a view


_RECORDED: dict = {}      # id(view) -> (weakref to the view, its _Step)
_RECORDING: dict = {}     # thread id -> depth of record_views() in that thread
_LOCK = threading.Lock()


def _step_of(t):
    entry = _RECORDED.get(id(t))
    if entry is None or entry[0]() is not t:
        return None
    return entry[1]


def _forget(key, ref):
    entry = _RECORDED.get(key)
    if entry is not None and entry[0] is ref:
        _RECORDED.pop(key, None)


def _observe(src, view, op):
    """The core's view observer while record_views() is active (NOTE [ View chains ])."""
    if threading.get_ident() not in _RECORDING:
        return
    parent = _step_of(src)
    if parent is None or parent.layout != _layout_of(src):
        parent = _Step(None, _layout_of(src), None, src._base is None)
    key = id(view)
    _RECORDED[key] = (weakref.ref(view, lambda ref, key=key: _forget(key, ref)),
                      _Step(op, _layout_of(view), parent, False))


@contextlib.contextmanager
def record_views() -> Iterator[None]:
    """Record, for view_chain, every view the calling thread makes inside the block: the
    op that made it from which tensor, and the layouts of both (NOTE [ View chains ]).

    What is kept is small metadata per view still alive, and no tensor or storage; it stays
    after the block, so view_chain can draw those views later.  Blocks nest; other threads
    are not recorded.

    >>> with strided.viz.record_views():
    ...     t = strided.arange(6).view(2, 3).t()
    >>> print(strided.viz.view_chain(t).splitlines()[0])
    view_chain: 3 steps from the base, as recorded by record_views()
    """
    ident = threading.get_ident()
    with _LOCK:
        if not _RECORDING:
            _core.set_view_observer(_observe)
        _RECORDING[ident] = _RECORDING.get(ident, 0) + 1
    try:
        yield
    finally:
        with _LOCK:
            _RECORDING[ident] -= 1
            if not _RECORDING[ident]:
                del _RECORDING[ident]
            if not _RECORDING:
                _core.set_view_observer(None)


def _chain(t):
    """[(caption, layout)] from t's base to t, and a note on where the steps come from."""
    lay = _layout_of(t)
    base = t._base
    if base is None:
        return [("t owns its storage (it is not a view)", lay)], \
            "view_chain: t is not a view: it is its own base, in one step"
    step = _step_of(t)
    if step is not None and step.layout != lay:
        step = None                                   # its layout changed in place since
    steps = []
    while step is not None:
        steps.append(step)
        step = step.parent
    steps.reverse()
    if not steps:
        return [("the base (owns the storage)", _layout_of(base)),
                ("t: how it was made from the base is not recorded", lay)], \
            ("view_chain: how t was made from its base was not recorded (make the views "
             "inside strided.viz.record_views()); drawn as base -> t in one step")
    out = [("the base (owns the storage)", _layout_of(base))]
    start = steps[0]
    if start.owns_storage:
        steps = steps[1:]                             # the start is the base itself
        note = (f"view_chain: {_plural(len(steps) + 1, 'step')} from the base, as recorded "
                f"by record_views()")
    else:
        out.append(("a view made from the base outside record_views() (not recorded)",
                    start.layout))
        steps = steps[1:]
        note = ("view_chain: the first view was made outside record_views(), so base -> "
                f"that view is one step; the {_plural(len(steps), 'step')} after it "
                "were recorded")
    for s in steps:
        out.append((_describe(s.op, len(out) - 1), s.layout))
    return out, note


def _describe(op, source):
    """A step's caption: its op (arguments are not recorded) and the step it was made from."""
    call = ("[...] (indexing)" if op == "index" else f".{op}()" if op in ("t", "detach")
            else f".{op}(...)" if op else "a view")
    return f"{call} of step {source}"


def view_chain(t: Tensor, format: str = "text", *, max_cells: int = MAX_CELLS) -> str:
    """How the view t was derived from its base, step by step: each step's op, its size,
    stride and storage offset, and its storage map (as storage_map draws them).

    format: "text", "svg" (one <svg class="view-chain"> holding a caption and a <svg
    class="storage-map"> per step) or "html".  The steps are known for views made inside
    record_views(); for any other view the chain is base -> t in one step, and its first
    line says so (NOTE [ View chains ]).  A tensor that is not a view is one step.

    >>> with strided.viz.record_views():
    ...     t = strided.arange(4).view(2, 2)[:, 1]
    >>> print(view_chain(t))
    view_chain: 3 steps from the base, as recorded by record_views()
    <BLANKLINE>
    step 0: the base (owns the storage)
    size=(4,)  stride=(1,)  storage_offset=0  contiguous
    storage: 4 cells of int64; view: 4 elements in 4 cells
    cell     0   1   2   3
           +---+---+---+---+
    elem   | 0 | 1 | 2 | 3 |
           +---+---+---+---+
    <BLANKLINE>
    step 1: .view(...) of step 0
    size=(2, 2)  stride=(2, 1)  storage_offset=0  contiguous
    storage: 4 cells of int64; view: 4 elements in 4 cells
    cell     0   1   2   3
           +---+---+---+---+
    elem   | 0 | 1 | 2 | 3 |
           +---+---+---+---+
    <BLANKLINE>
    step 2: [...] (indexing) of step 1
    size=(2,)  stride=(2,)  storage_offset=1  non-contiguous
    storage: 4 cells of int64; view: 2 elements in 2 cells
    cell     0   1   2   3
           +---+---+---+---+
    elem   |   | 0 |   | 1 |
           +---+---+---+---+
    """
    if format not in _FORMATS:
        raise ValueError(f"view_chain: format must be 'text', 'svg' or 'html', got {format!r}")
    steps, note = _chain(t)
    # a step too big to map (a large base, say) is named but not drawn
    maps = [None if lay.numel > MAX_ELEMENTS else _plan(lay, None, None, max_cells)
            for _, lay in steps]
    captions = [f"step {i}: {caption}" for i, (caption, _) in enumerate(steps)]
    unmapped = [f"size={lay.size}  stride={lay.stride}  storage_offset={lay.offset}: not drawn, "
                f"{lay.numel} elements (more than {MAX_ELEMENTS})" for _, lay in steps]
    note_lines = textwrap.wrap(note, LINE_WIDTH, subsequent_indent="  ")
    if format == "text":
        return "\n\n".join(["\n".join(note_lines)] +
                           [c + "\n" + (_text(m, None) if m else u)
                            for c, m, u in zip(captions, maps, unmapped)])
    if format == "html":
        items = "\n".join(f'<li class="step" data-step="{i}"><p>{_esc(c)}</p>\n'
                          f'{_html(m) if m else "<p>" + _esc(u) + "</p>"}</li>'
                          for i, (c, m, u) in enumerate(zip(captions, maps, unmapped)))
        return (f'<div class="strided-view-chain" data-steps="{len(maps)}">'
                f'<p class="note">{_esc(note)}</p>\n<ol start="0">\n{items}\n</ol>\n</div>')
    parts, y = [], _PAD
    width = math.ceil(max(len(s) for s in note_lines) * _CHAR_W + 2 * _PAD)
    text = ('<text class="{cls}" x="{x}" y="{y}" font-size="12" fill="#1f2937" '
            'xml:space="preserve" style="white-space: pre"{weight}>{s}</text>')
    for s in note_lines:
        y += _HEADER_H
        parts.append(text.format(cls="note", x=_PAD, y=y - 4, weight="", s=_esc(s)))
    for c, m, u in zip(captions, maps, unmapped):
        y += 10 + _HEADER_H
        parts.append(text.format(cls="step", x=_PAD, y=y - 4, weight=' font-weight="bold"',
                                 s=_esc(c)))
        if m is None:
            y += _HEADER_H
            parts.append(text.format(cls="unmapped", x=_PAD, y=y - 4, weight="", s=_esc(u)))
            width = max(width, math.ceil(len(u) * _CHAR_W + 2 * _PAD))
            continue
        svg, w, h = _svg(m, m.lines, pos=(0, y))
        parts.append(svg)
        y += h
        width = max(width, w, math.ceil(len(c) * _CHAR_W + 2 * _PAD))
    height = y + _PAD
    return "\n".join([f'<svg xmlns="http://www.w3.org/2000/svg" class="view-chain" '
                      f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                      f'data-steps="{len(maps)}" font-family="{_esc(_FONT)}" role="img">',
                      f'<title>{_esc(note)}</title>',
                      f'<rect class="background" x="0" y="0" width="{width}" '
                      f'height="{height}" fill="#ffffff"/>'] + parts + ["</svg>"])


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
