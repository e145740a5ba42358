"""strided.viz.storage_map against offsets computed independently with NumPy, and the demo."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import strided
from strided.viz import element_offsets, storage_map

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def numpy_offsets(t):
    """Storage index of every element in row-major order, from an independent NumPy view."""
    cells = np.arange(t.untyped_storage().size(), dtype=np.int64)
    if t.numel() == 0:
        return np.zeros(0, np.int64)
    view = np.lib.stride_tricks.as_strided(
        cells[t.storage_offset():], shape=t.shape, strides=[s * 8 for s in t.stride()])
    return view.reshape(-1)


def layouts():
    base = strided.arange(24).view(4, 6)
    return {
        "contiguous": base,
        "transposed": base.T,
        "stepped": base[1:, ::2],
        "negative": base[::-1, 1::-1],
        "expanded": strided.arange(6).expand(3, 6),
        "unfold": strided.arange(10).unfold(0, 4, 2),
        "flip": base.flip(0, 1),
        "empty": base[:, 3:3],
        "zero_d": base[2, 3],
        "as_strided": base.as_strided((3, 3), (5, -1), 7),
    }


def parse_map(text):
    """{cell: [element positions]} read back from the text map (no '+N' in these cases)."""
    lines = text.splitlines()
    covered = {}
    cells = None
    for line in lines:
        if line.startswith("cell "):
            cells = [int(c) for c in line.split()[1:]]
        elif cells is not None and line.strip().startswith(("elem", "|")) and "|" in line:
            body = line[line.index("|"):]
            for cell, field in zip(cells, body.strip("|").split("|")):
                if field.strip():
                    covered.setdefault(cell, []).append(int(field))
    return covered


@pytest.mark.parametrize("name", list(layouts()))
def test_element_offsets_match_numpy(name):
    t = layouts()[name]
    np.testing.assert_array_equal(element_offsets(t), numpy_offsets(t))


@pytest.mark.parametrize("name", list(layouts()))
def test_text_map_marks_exactly_the_covered_cells(name):
    t = layouts()[name]
    text = storage_map(t)
    assert f"storage_offset={t.storage_offset()}" in text
    expected = {}
    for pos, cell in enumerate(numpy_offsets(t).tolist()):
        expected.setdefault(cell, []).append(pos)
    assert parse_map(text) == expected


def test_shared_cells_are_summarised():
    t = strided.arange(3).expand(10, 3)          # each cell holds 10 elements
    text = storage_map(t)
    assert "+" in text and "30 elements in 3 cells" in text


def test_large_storage_is_truncated():
    text = storage_map(strided.arange(100_000)[::7])
    assert len(text.splitlines()) < 4000 and "100000 cells" in text


def test_png_written(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "map.png"
    storage_map(strided.arange(12).view(3, 4)[1:, ::2], png=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_runs():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "tensor_views.py")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    flat = re.sub(r"\n\s*! ", " ", out.stdout)          # join wrapped error messages
    for phrase in ("Storage", "stride", "storage_offset", "Use .reshape(...) instead",
                   "negative", "outside a storage"):
        assert phrase in flat, phrase
    assert re.search(r"same storage as base: True", out.stdout)
