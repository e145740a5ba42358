"""strided.viz as SVG and HTML: storage_map(t, format="svg"|"html") marks exactly the cells
NumPy says a view covers, with the text map's labels; Tensor._repr_html_ and its small/big
switch; view_chain and record_views (NOTE [ Storage map SVG ], NOTE [ View chains ])."""
import gc
import html
import threading
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import strided
import strided.viz as viz
from strided._C.core import tensor as core
from strided.viz import record_views, storage_map, view_chain
from test_viz import LAYOUTS as TEXT_LAYOUTS, expected_labels, numpy_offsets, parse_map

SVG = "{http://www.w3.org/2000/svg}"


def _dtyped(dtype, n=24):
    return strided.arange(n).to(dtype)


LAYOUTS = dict(TEXT_LAYOUTS)
LAYOUTS.update({
    "int32 transposed": lambda: _dtyped(strided.int32).view(4, 6).t(),
    "float64 stepped": lambda: _dtyped(strided.float64)[1::5],
    "float32 flip": lambda: _dtyped(strided.float32).view(2, 3, 4).flip(2),
    "bool expand": lambda: (strided.arange(4) > 1).view(4, 1).expand(4, 3),
    "bool unfold": lambda: (strided.arange(10) > 4).unfold(0, 4, 3),
    "uint8 as_strided overlap": lambda: _dtyped(strided.uint8).as_strided((4, 4), (3, 1), 2),
    "offset view": lambda: strided.arange(30)[7:19].view(3, 4)[:, 1:],
    "permute 4-d": lambda: strided.arange(120).view(2, 3, 4, 5).permute(3, 1, 0, 2),
    "flip of a transpose": lambda: strided.arange(12).view(3, 4).t().flip(0),
    "unfold 2-d overlap": lambda: strided.arange(36.0).view(6, 6).unfold(0, 3, 1).unfold(1, 2, 2),
    "empty transposed": lambda: strided.zeros(0, 3).t(),
    "0-d float64": lambda: strided.tensor(2.5, dtype=strided.float64),
})


# ---- parsing ---------------------------------------------------------------------------------

def parse_svg(svg):
    """(root, [drawn cells], {covered cells}, {cell: [labels top to bottom]}) of one map."""
    root = ET.fromstring(svg) if isinstance(svg, str) else svg
    assert root.tag == SVG + "svg" and root.get("class") == "storage-map"
    drawn, covered, labels, fills = [], set(), {}, {}
    for rect in root.iter(SVG + "rect"):
        cls = rect.get("class")
        if cls == "background":
            continue
        assert cls in ("cell", "cell covered"), cls
        c = int(rect.get("data-cell"))
        drawn.append(c)
        fills[c] = rect.get("fill")
        if cls == "cell covered":
            covered.add(c)
    elems = [e for e in root.iter(SVG + "text") if e.get("class") == "elem"]
    for e in sorted(elems, key=lambda e: float(e.get("y"))):    # top to bottom in each cell
        labels.setdefault(int(e.get("data-cell")), []).append(e.text)
    return root, drawn, covered, labels, fills


def _size(root):
    w, h = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    return w, h


# ---- storage_map(format="svg") -------------------------------------------------------------

@pytest.mark.parametrize("name", list(LAYOUTS))
def test_svg_covers_exactly_the_numpy_offsets(name):
    t = LAYOUTS[name]()
    root, drawn, covered, labels, fills = parse_svg(storage_map(t, format="svg"))
    n_storage = t.untyped_storage().size()
    assert drawn == list(range(min(n_storage, viz.MAX_CELLS)))
    assert covered == set(numpy_offsets(t).tolist()) & set(drawn)
    assert covered == set(viz.element_offsets(t).tolist()) & set(drawn)
    assert labels == expected_labels(t, len(drawn))
    assert int(root.get("data-covered")) == len(covered)
    assert int(root.get("data-cells")) == len(drawn)
    assert int(root.get("data-storage-cells")) == n_storage
    # a highlight fill for covered cells, one neutral fill for the others
    assert len({fills[c] for c in drawn if c not in covered}) <= 1
    assert not {fills[c] for c in covered} & {fills[c] for c in drawn if c not in covered}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_svg_labels_and_rows_match_the_text_map(name):
    t = LAYOUTS[name]()
    text = storage_map(t)
    text_labels, text_drawn = parse_map(text)
    root, drawn, _, labels, _ = parse_svg(storage_map(t, format="svg"))
    assert labels == text_labels and drawn == text_drawn
    rows = {float(r.get("y")) for r in root.iter(SVG + "rect") if r.get("class") != "background"}
    assert len(rows) == sum(line.startswith("cell ") for line in text.splitlines())
    header = [e.text for e in root.iter(SVG + "text") if e.get("class") == "header"]
    assert header == text.splitlines()[:2]


@pytest.mark.parametrize("name", ["contiguous", "wraps rows", "3-digit labels",
                                  "expanded scalar (+N)", "unfold 2-d overlap", "empty storage",
                                  "0-d tensor"])
def test_svg_is_drawn_inside_its_viewbox(name):
    t = LAYOUTS[name]()
    root, drawn, _, _, _ = parse_svg(storage_map(t, format="svg", title="a title"))
    w, h = _size(root)
    assert 0 < w < 2000 and 0 < h < 20000
    for r in root.iter(SVG + "rect"):
        x, y = float(r.get("x")), float(r.get("y"))
        assert 0 <= x and x + float(r.get("width")) <= w
        assert 0 <= y and y + float(r.get("height")) <= h
    for e in root.iter(SVG + "text"):
        assert 0 <= float(e.get("y")) <= h
        assert 0 <= float(e.get("x")) <= w


def test_svg_cells_per_row_follow_width():
    t = strided.arange(20).view(4, 5)[1:3, 1:4]
    root, drawn, covered, labels, _ = parse_svg(storage_map(t, format="svg", width=5))
    ys = {}
    for r in root.iter(SVG + "rect"):
        if r.get("class") != "background":
            ys.setdefault(float(r.get("y")), []).append(int(r.get("data-cell")))
    assert sorted(ys.values()) == [list(range(i, i + 5)) for i in range(0, 20, 5)]
    assert covered == {6, 7, 8, 11, 12, 13} and labels[13] == ["5"]


def test_svg_summarises_big_storages():
    t = strided.arange(5000)[4990:]
    svg = storage_map(t, format="svg", max_cells=40)
    root, drawn, covered, _, _ = parse_svg(svg)
    assert drawn == list(range(40)) and covered == set()
    assert root.get("data-covered") == "0" and root.get("data-cells") == "40"
    summary = [e.text for e in root.iter(SVG + "text") if e.get("class") == "summary"]
    assert summary == ["… 4960 more cells not drawn (10 of them covered by the view)"]
    root, _, _, _, _ = parse_svg(storage_map(strided.arange(3).expand(2, 3), format="svg"))
    summary = [e.text for e in root.iter(SVG + "text") if e.get("class") == "summary"]
    assert summary == ["orange cells hold several elements: positions stack, '+N' = N more"]
    root, drawn, covered, _, _ = parse_svg(storage_map(strided.arange(5000)[::-3], format="svg"))
    assert len(drawn) == viz.MAX_CELLS
    assert covered == {c for c in range(4999, -1, -3) if c < viz.MAX_CELLS}


@pytest.mark.parametrize("format", ["svg", "html"])
def test_too_many_elements_refused(format):
    huge = strided.tensor([1.0]).expand(viz.MAX_ELEMENTS + 1)
    with pytest.raises(ValueError, match="map a slice"):
        storage_map(huge, format=format)


def test_bad_arguments():
    t = strided.arange(4)
    with pytest.raises(ValueError, match="format must be 'text', 'svg' or 'html', got 'png'"):
        storage_map(t, format="png")
    with pytest.raises(ValueError, match="width must be a positive int"):
        storage_map(t, format="svg", width=0)
    with pytest.raises(ValueError, match="width must be a positive int"):
        storage_map(t, width=2.5)
    with pytest.raises(ValueError, match="max_cells must be a non-negative int"):
        storage_map(t, format="svg", max_cells=-1)
    assert storage_map(t, width=np.int64(2)) == storage_map(t, width=2)


def test_svg_file_argument(capsys):
    svg = storage_map(strided.arange(3), format="svg", file=__import__("sys").stdout)
    assert capsys.readouterr().out == svg + "\n"


# ---- format="html" -------------------------------------------------------------------------

def test_html_holds_header_and_svg():
    t = strided.arange(12).view(3, 4)[:, ::3]
    out = storage_map(t, format="html")
    div = ET.fromstring(out)                                   # a well-formed fragment
    assert div.tag == "div" and div.get("class") == "strided-storage-map"
    assert div.find("pre").text == "\n".join(storage_map(t).splitlines()[:2])
    _, drawn, covered, labels, _ = parse_svg(div.find(SVG + "svg"))
    assert covered == {0, 3, 4, 7, 8, 11} and labels == expected_labels(t)
    assert not [e for e in div.iter(SVG + "text") if e.get("class") == "header"]


def test_html_and_svg_escape_everything():
    title = "<script>alert('x')</script> & \"quotes\""
    for format in ("svg", "html"):
        out = storage_map(strided.arange(3), format=format, title=title)
        assert "<script>" not in out and "&lt;script&gt;" in out
        root = ET.fromstring(out)
        texts = ["".join(e.itertext()) for e in root.iter()
                 if e.tag in ("pre", SVG + "text", SVG + "title")]
        assert any(title in s for s in texts)


# ---- Tensor._repr_html_ ---------------------------------------------------------------------

def _repr_parts(t):
    out = t._repr_html_()
    div = ET.fromstring(out)
    assert div.get("class") == "strided-tensor"
    return out, div


@pytest.mark.parametrize("make", [
    lambda: strided.arange(12).view(3, 4)[1:, ::2],
    lambda: strided.tensor([[1.5, -2.0], [3.0, 4.25]]).t(),
    lambda: strided.tensor([True, False, True]).flip(0),
    lambda: strided.tensor([1.0, 2.0], requires_grad=True) * 2,
    lambda: strided.tensor(3, dtype=strided.int32),
    lambda: strided.zeros(0, 4),
    lambda: strided.arange(16).view(16, 1).expand(16, 16),      # 256 elements: drawn
    lambda: strided.arange(256)[::-1],                          # 256 cells: drawn
])
def test_repr_html_small_tensors_show_values_and_map(make):
    t = make()
    out, div = _repr_parts(t)
    assert div.find("pre").text == repr(t)
    assert html.escape(repr(t)) in out
    svg = div.find("div").find(SVG + "svg")
    _, drawn, covered, labels, _ = parse_svg(svg)
    assert covered == set(numpy_offsets(t).tolist())
    assert labels == expected_labels(t)


@pytest.mark.parametrize("make", [
    lambda: strided.arange(257),                                 # 257 elements and cells
    lambda: strided.arange(1000)[:3],                            # small view, big storage
    lambda: strided.tensor([1.0]).expand(257),                   # one cell, many elements
    lambda: strided.tensor([1.0]).expand(1 << 40),               # 2**40 elements (repr summarises)
    lambda: strided.zeros(300, 300).t(),
])
def test_repr_html_big_tensors_show_values_and_a_note(make):
    t = make()
    start = time.perf_counter()
    out, div = _repr_parts(t)
    elapsed = time.perf_counter() - start
    assert div.find("pre").text == repr(t)
    assert "<svg" not in out
    note = div.find("p").text
    assert note.startswith("storage map not drawn: ")
    assert f"{t.numel()} element" in note and f"{t.untyped_storage().size()} cell" in note
    assert elapsed < 5.0


def test_repr_html_without_the_hook_is_none():
    t = strided.arange(3)
    try:
        core.install_repr_html(None)
        assert t._repr_html_() is None
    finally:
        core.install_repr_html(viz._repr_html)
    assert "<svg" in t._repr_html_()
    with pytest.raises(TypeError, match="expected a callable"):
        core.install_repr_html(42)


# ---- view_chain and record_views ------------------------------------------------------------

def _chain_steps():
    """A chain of views, each kept, made inside record_views()."""
    with record_views():
        base = strided.arange(24.0)
        a = base.view(4, 6)
        b = a[1:, ::2]
        c = b.t()
        d = c.flip(1)
        e = d[1]
        f = e.unsqueeze(0).expand(3, 3)
    return [base, a, b, c, d, e, e.unsqueeze(0), f]


def test_view_chain_text_has_every_step():
    steps = _chain_steps()
    text = view_chain(steps[-1])
    blocks = text.split("\n\n")
    assert blocks[0] == "view_chain: 8 steps from the base, as recorded by record_views()"
    ops = ["the base (owns the storage)", ".view(...) of step 0", "[...] (indexing) of step 1",
           ".t() of step 2", ".flip(...) of step 3", ".select(...) of step 4",
           ".unsqueeze(...) of step 5", ".expand(...) of step 6"]
    assert len(blocks) == 1 + len(steps)
    for i, (block, t, op) in enumerate(zip(blocks[1:], steps, ops)):
        caption, _, body = block.partition("\n")
        assert caption == f"step {i}: {op}"
        assert body == storage_map(t)


def test_view_chain_survives_dead_intermediates():
    with record_views():
        t = strided.arange(12).view(3, 4)[1:].t()
    gc.collect()
    text = view_chain(t)
    assert text.startswith("view_chain: 4 steps from the base")
    assert text.split("\n\n")[-1].partition("\n")[2] == storage_map(t)
    assert "step 2: [...] (indexing) of step 1" in text


def test_view_chain_svg_draws_each_step():
    steps = _chain_steps()
    root = ET.fromstring(view_chain(steps[-1], "svg"))
    assert root.tag == SVG + "svg" and root.get("class") == "view-chain"
    assert int(root.get("data-steps")) == len(steps)
    w, h = _size(root)
    maps = [m for m in root if m.tag == SVG + "svg"]
    assert len(maps) == len(steps)
    captions = [e.text for e in root if e.tag == SVG + "text" and e.get("class") == "step"]
    assert captions[0] == "step 0: the base (owns the storage)" and len(captions) == len(steps)
    bottom = 0
    for m, t in zip(maps, steps):
        _, drawn, covered, labels, _ = parse_svg(m)
        assert covered == set(numpy_offsets(t).tolist())
        assert labels == expected_labels(t)
        assert float(m.get("y")) >= bottom                       # stacked, not overlapping
        bottom = float(m.get("y")) + float(m.get("height"))
        assert float(m.get("width")) <= w
    assert bottom <= h


def test_view_chain_html():
    steps = _chain_steps()
    div = ET.fromstring(view_chain(steps[3], "html"))
    assert div.get("class") == "strided-view-chain" and div.get("data-steps") == "4"
    items = div.find("ol").findall("li")
    assert [li.find("p").text for li in items] == [
        "step 0: the base (owns the storage)", "step 1: .view(...) of step 0",
        "step 2: [...] (indexing) of step 1", "step 3: .t() of step 2"]
    for li, t in zip(items, steps):
        _, _, covered, labels, _ = parse_svg(li.find("div").find(SVG + "svg"))
        assert labels == expected_labels(t)


def test_view_chain_unrecorded_is_one_step():
    base = strided.arange(12)
    t = base.view(3, 4)[:, 1::2]
    text = view_chain(t)
    blocks = text.split("\n\n")
    assert "was not recorded" in blocks[0] and "base -> t in one step" in blocks[0]
    assert len(blocks) == 3
    assert blocks[1].partition("\n")[2] == storage_map(base)
    assert blocks[2].partition("\n")[2] == storage_map(t)
    assert all(len(line) <= 80 for line in text.splitlines())
    root = ET.fromstring(view_chain(t, "svg"))
    assert root.get("data-steps") == "2"
    notes = [e.text for e in root if e.get("class") == "note"]
    assert "was not recorded" in " ".join(notes)


def test_view_chain_of_a_tensor_that_is_not_a_view():
    t = strided.arange(5)
    text = view_chain(t)
    assert text.startswith("view_chain: t is not a view")
    assert text.split("\n\n")[1] == "step 0: t owns its storage (it is not a view)\n" + storage_map(t)


def test_view_chain_first_view_outside_the_recording():
    a = strided.arange(12).view(3, 4)
    with record_views():
        b = a.t()[::2]
    text = view_chain(b)
    blocks = text.split("\n\n")
    assert "first view was made outside record_views()" in blocks[0]
    assert blocks[2].startswith("step 1: a view made from the base outside record_views()")
    assert blocks[2].partition("\n")[2] == storage_map(a)
    assert blocks[3].startswith("step 2: .t() of step 1")
    assert blocks[4].partition("\n")[2] == storage_map(b)


def test_view_changed_in_place_after_recording_is_not_trusted():
    with record_views():
        t = strided.arange(6).view(2, 3)
    t.t_()
    text = view_chain(t)
    assert "was not recorded" in text
    assert text.split("\n\n")[-1].partition("\n")[2] == storage_map(t)


def test_record_views_stops_and_nests():
    assert core.set_view_observer(None) is None                  # nothing installed
    with record_views():
        with record_views():
            a = strided.arange(6).view(2, 3)
        b = a.t()                                                # still inside the outer block
    c = b.t()                                                    # outside: not recorded
    assert core.set_view_observer(None) is None
    assert view_chain(b).startswith("view_chain: 3 steps from the base")
    assert "was not recorded" in view_chain(c)


def test_record_views_records_only_its_thread():
    base = strided.arange(8)
    made = {}
    with record_views():
        worker = threading.Thread(target=lambda: made.setdefault("v", base.view(2, 4)))
        worker.start()
        worker.join()
        mine = base.view(4, 2)
    assert "was not recorded" in view_chain(made["v"])
    assert view_chain(mine).startswith("view_chain: 2 steps from the base")


def test_record_views_forgets_dead_views():
    with record_views():
        base = strided.arange(100)
        before = len(viz._RECORDED)
        views = [base[i:] for i in range(50)]
        assert len(viz._RECORDED) == before + 50
        del views
        gc.collect()
        assert len(viz._RECORDED) == before


def test_record_views_with_autograd():
    x = strided.arange(6.0).requires_grad_()
    with record_views():
        y = x.view(2, 3).t()
    assert y.grad_fn is not None
    assert view_chain(y).startswith("view_chain: 3 steps from the base")
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(6))


def test_view_chain_bad_format():
    with pytest.raises(ValueError, match="view_chain: format must be"):
        view_chain(strided.arange(3), "png")


def test_view_chain_names_steps_too_big_to_map():
    base = strided.zeros(1).expand(viz.MAX_ELEMENTS + 1)       # a view of 2**24 + 1 elements
    with record_views():
        t = base[:3]
    text = view_chain(t)
    blocks = text.split("\n\n")
    assert blocks[2] == ("step 1: a view made from the base outside record_views() (not "
                         "recorded)\nsize=(16777217,)  stride=(0,)  storage_offset=0: not "
                         "drawn, 16777217 elements (more than 16777216)")
    assert blocks[3].partition("\n")[2] == storage_map(t)
    root = ET.fromstring(view_chain(t, "svg"))
    assert root.get("data-steps") == "3" and len([m for m in root if m.tag == SVG + "svg"]) == 2
    div = ET.fromstring(view_chain(t, "html"))
    assert "not drawn" in div.find("ol").findall("li")[1].findall("p")[1].text


def test_record_views_sees_split_chunk_unbind_and_iteration():
    with record_views():
        a = strided.arange(12).view(3, 4)
        pieces = {"split": a.split(2)[1], "chunk": a.chunk(2, 1)[1], "unbind": a.unbind(0)[2],
                  "iter": list(a)[1], "narrow": a.narrow(1, 1, 2), "mT": a.mT}
    for name, p in pieces.items():
        text = view_chain(p)
        assert text.startswith("view_chain: 3 steps from the base"), name
        assert text.split("\n\n")[-1].partition("\n")[2] == storage_map(p), name
    with record_views():
        f = strided.arange(4, dtype=strided.int32).view(strided.float32)  # reinterprets
    assert "was not recorded" in view_chain(f)
