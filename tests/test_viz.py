"""strided.viz.storage_map: the text map marks exactly the cells NumPy says a view covers,
numbered in row-major order; PNG output; and the tensor-view demo runs."""
import doctest
import os
import subprocess
import sys

import numpy as np
import pytest

import strided
import strided.viz
from strided.viz import MAX_STACK, element_offsets, storage_map

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "examples", "tensor_views.py")


# ---- an oracle and a parser --------------------------------------------------------------

def numpy_offsets(t):
    """Storage index of each element of t in row-major order, computed by NumPy: a strided
    view of arange(storage size) with t's layout (strides in bytes) holds those indices."""
    cells = np.arange(max(t.untyped_storage().size(), 1), dtype=np.int64)
    view = np.lib.stride_tricks.as_strided(
        cells[t.storage_offset():] if t.numel() else cells[:0],
        shape=t.shape, strides=[s * cells.itemsize for s in t.stride()])
    return view.reshape(-1).copy() if t.numel() else np.empty(0, np.int64)


def expected_labels(t, n_cells=None):
    offsets = numpy_offsets(t)
    out = {}
    for pos, cell in enumerate(offsets.tolist()):
        out.setdefault(cell, []).append(pos)
    labels = {}
    for cell, positions in out.items():
        if n_cells is not None and cell >= n_cells:
            continue
        if len(positions) > MAX_STACK:
            shown = positions[:MAX_STACK - 1]
            labels[cell] = [str(p) for p in shown] + [f"+{len(positions) - len(shown)}"]
        else:
            labels[cell] = [str(p) for p in positions]
    return labels


def parse_map(text):
    """{cell: [labels top to bottom]} for covered cells, and the list of drawn cells."""
    lines = text.splitlines()
    labels, drawn = {}, []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("cell "):
            i += 1
            continue
        index_line, rule = lines[i], lines[i + 1]
        bounds = [k for k, ch in enumerate(rule) if ch == "+"]
        spans = list(zip(bounds, bounds[1:]))
        cols = [int(index_line[a + 1:b].strip()) for a, b in spans]
        drawn.extend(cols)
        i += 2
        while lines[i] != rule:
            row = lines[i]
            assert row[bounds[0]] == "|" and all(row[b] == "|" for b in bounds)
            for c, (a, b) in zip(cols, spans):
                cell_text = row[a + 1:b].strip()
                if cell_text:
                    labels.setdefault(c, []).append(cell_text)
            i += 1
        i += 1
    return labels, drawn


def _base(n=48):
    return strided.arange(n)


LAYOUTS = {
    "contiguous": lambda: _base(12).view(3, 4),
    "transposed": lambda: _base(12).view(3, 4).T,
    "permuted 3-d": lambda: _base(24).view(2, 3, 4).permute(2, 0, 1),
    "stepped slice": lambda: _base(12).view(3, 4)[1:, ::2],
    "row": lambda: _base(12).view(3, 4)[2],
    "column": lambda: _base(12).view(3, 4)[:, 1],
    "negative stride": lambda: _base(40)[::-3],
    "flip both dims": lambda: _base(12).view(3, 4).flip(0, 1),
    "flip then slice": lambda: _base(20).view(4, 5).flip(1)[1:3, ::2],
    "expanded": lambda: strided.tensor([1.0, 2.0, 3.0]).view(3, 1).expand(3, 4),
    "expanded scalar (+N)": lambda: strided.tensor([7.0]).expand(2, 50),
    "expand a slice": lambda: _base(12)[4:6].view(1, 2).expand(3, 2),
    "unfold": lambda: _base(8).unfold(0, 3, 2),
    "unfold 2-d": lambda: _base(20).view(4, 5).unfold(1, 2, 1),
    "overlapping as_strided": lambda: _base(12).as_strided((5, 4), (2, 1)),
    "as_strided negative": lambda: _base(12).as_strided((3, 2), (-4, 1), 9),
    "as_strided mixed signs": lambda: _base(24).as_strided((3, 3), (5, -1), 7),
    "reversed rows and cols": lambda: _base(24).view(4, 6)[::-1, 1::-1],
    "expand rows": lambda: _base(6).expand(3, 6),
    "diagonal": lambda: _base(16).view(4, 4).diagonal(),
    "wraps rows": lambda: _base(100)[::7],
    "3-digit labels": lambda: _base(300)[::-1],
    "empty slice": lambda: _base(12)[5:5],
    "empty storage": lambda: strided.zeros(0),
    "empty 2-d": lambda: strided.zeros(3, 0),
    "0-d select": lambda: _base(12)[3],
    "0-d tensor": lambda: strided.tensor(5.0),
}


# ---- the text map ------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(LAYOUTS))
def test_element_offsets_match_numpy(name):
    t = LAYOUTS[name]()
    got = element_offsets(t)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, numpy_offsets(t))


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_map_marks_exactly_the_numpy_offsets_in_row_major_order(name):
    t = LAYOUTS[name]()
    text = storage_map(t)
    labels, drawn = parse_map(text)
    assert drawn == list(range(t.untyped_storage().size()))
    assert labels == expected_labels(t)


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_map_fits_80_columns_and_has_a_header(name):
    t = LAYOUTS[name]()
    text = storage_map(t)
    assert all(len(line) <= 80 for line in text.splitlines())
    header = text.splitlines()[0]
    assert f"size={tuple(t.shape)}" in header
    assert f"stride={tuple(t.stride())}" in header
    assert f"storage_offset={t.storage_offset()}" in header
    assert header.endswith("non-contiguous" if not t.is_contiguous() else " contiguous")


def test_random_as_strided_layouts():
    rng = np.random.default_rng(0)
    base = _base(60)
    tried = 0
    while tried < 300:
        ndim = int(rng.integers(0, 4))
        sizes = [int(x) for x in rng.integers(0, 5, ndim)]
        strides = [int(x) for x in rng.integers(-6, 7, ndim)]
        offset = int(rng.integers(0, 60))
        try:
            t = base.as_strided(sizes, strides, offset)
        except RuntimeError:
            continue                                    # outside the storage: skip
        tried += 1
        labels, drawn = parse_map(storage_map(t))
        assert labels == expected_labels(t), (sizes, strides, offset)


def test_numbering_examples():
    t = _base(12).view(3, 4)
    labels, _ = parse_map(storage_map(t))
    assert labels == {c: [str(c)] for c in range(12)}
    labels, _ = parse_map(storage_map(t.T))            # t.T[i, j] = cell i + 4 j
    assert labels[1] == ["3"] and labels[4] == ["1"] and labels[11] == ["11"]
    labels, _ = parse_map(storage_map(t.flip(0)))
    assert labels[0] == ["8"] and labels[8] == ["0"]
    labels, _ = parse_map(storage_map(_base(8).unfold(0, 3, 2)))
    assert labels[2] == ["2", "3"] and labels[4] == ["5", "6"] and 7 not in labels


def test_shared_cells_are_explained():
    text = storage_map(strided.tensor([7.0]).expand(100))
    assert "+N" in text
    assert parse_map(text)[0] == {0: ["0", "1", "2", "+97"]}
    assert "view: 100 elements in 1 cell" in text
    assert "+N" not in storage_map(_base(12))


def test_empty_and_0d_headers():
    assert "view: 0 elements in 0 cells" in storage_map(_base(12)[5:5])
    assert "empty storage" in storage_map(strided.zeros(0))
    text = storage_map(_base(12)[3])
    assert text.splitlines()[0].startswith("size=()  stride=()  storage_offset=3")
    assert parse_map(text)[0] == {3: ["0"]}


def test_truncation():
    t = _base(5000)[4990:]
    text = storage_map(t, max_cells=40)
    labels, drawn = parse_map(text)
    assert drawn == list(range(40)) and labels == {}
    assert text.splitlines()[-1] == "… 4960 more cells not drawn (10 of them covered by the view)"
    big = storage_map(_base(5000)[::-1])                # default cap: 4096 cells
    labels, drawn = parse_map(big)
    assert drawn == list(range(strided.viz.MAX_CELLS))
    assert labels == expected_labels(_base(5000)[::-1], strided.viz.MAX_CELLS)
    assert "… 904 more cells not drawn" in big
    huge = storage_map(_base(100_000)[::7])
    assert len(huge.splitlines()) < 2100 and "100000 cells" in huge   # 512 rows of 8 cells


def test_width_sets_cells_per_row():
    t = _base(20).view(4, 5)[1:3, 1:4]
    text = storage_map(t, width=5)
    assert sum(line.startswith("cell ") for line in text.splitlines()) == 4
    assert parse_map(text)[0] == expected_labels(t)


def test_title_and_file(capsys):
    text = storage_map(_base(4), title="my view", file=sys.stdout)
    assert text.splitlines()[0] == "my view"
    assert capsys.readouterr().out == text + "\n"
    assert storage_map(_base(4)) != "" and capsys.readouterr().out == ""


def test_too_many_elements_refused():
    huge = strided.tensor([1.0]).expand(strided.viz.MAX_ELEMENTS + 1)
    with pytest.raises(ValueError, match="map a slice"):
        storage_map(huge)


def test_module_doctest():
    result = doctest.testmod(strided.viz, extraglobs={"strided": strided})
    assert result.attempted > 0 and result.failed == 0


# ---- PNG -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["stepped slice", "expanded", "empty storage", "0-d tensor",
                                  "wraps rows"])
def test_png_written(tmp_path, name):
    pytest.importorskip("matplotlib")
    path = tmp_path / "map.png"
    text = storage_map(LAYOUTS[name](), png=str(path), title=name)
    assert text.startswith(name)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_large_storage_is_capped(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "big.png"
    storage_map(_base(5000)[::3], png=str(path))
    assert path.stat().st_size > 0


def test_png_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    path = tmp_path / "map.png"
    with pytest.raises(ImportError, match="pip install matplotlib"):
        storage_map(_base(4), png=str(path))
    assert not path.exists()
    assert "cell" in storage_map(_base(4))               # text still works


# ---- the demo ------------------------------------------------------------------------------

def _run_demo(*args):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, DEMO, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


def test_demo_runs():
    proc = _run_demo()
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for phrase in ["same storage as base: True", "t._base is base: True",
                   "v.storage_offset()=4", "view size is not compatible",
                   "same storage as t: False", "t.contiguous() is t: True",
                   "e.stride()=(1, 0)", "w.stride()=(2, 1)", "f.stride()=(-4, 1)",
                   "t[2, 0] = 100", "outside a storage of size 12", "storage map of",
                   "elem   |"]:
        assert phrase in out, phrase
    assert all(len(line) <= 80 for line in out.splitlines())


def test_demo_png(tmp_path):
    pytest.importorskip("matplotlib")
    proc = _run_demo("--png", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(p.name for p in tmp_path.iterdir())
    assert len(pngs) >= 10 and pngs[0] == "01_base.png"
