"""The tensor-view demo: one flat Storage, many Tensors looking at it.

    python examples/tensor_views.py              # text maps in the terminal
    python examples/tensor_views.py --png DIR    # ... and a PNG of each map in DIR

Every step prints a storage map (strided.viz.storage_map): the "cell" row numbers the
storage's cells, and the "elem" row shows which element of the tensor, counted in
row-major order, lives in each cell.
"""
import argparse
import os
import sys
import textwrap

try:
    import strided
except ImportError:     # a source checkout built in place but not installed
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import strided
from strided.viz import storage_map

PNG_DIR = None          # set by --png
_step = 0


def section(title):
    global _step
    _step += 1
    heading = f"{_step}. {title}"
    print(f"\n{heading}\n{'-' * len(heading)}")


def say(text):
    print(textwrap.dedent(text).strip())


def show_map(t, name):
    png = None
    if PNG_DIR is not None:
        png = os.path.join(PNG_DIR, f"{_step:02d}_{name.split(' ')[0]}.png")
    print()
    storage_map(t, title=f"storage map of {name}", file=sys.stdout, png=png)
    print()


def show_error(err):
    text = f"{type(err).__name__}: {err}"
    print(textwrap.indent(textwrap.fill(text, width=74), "  ! "))
    print()


def same_memory(a, b):
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def main():
    print("strided: one Storage, many views")
    print("================================")
    say("""
        A Tensor is metadata over a flat Storage: sizes, strides (in elements) and
        a storage_offset.  Element [i, j] lives in storage cell

            storage_offset + i * stride[0] + j * stride[1]

        View ops only compute new metadata: they copy nothing and share the storage.
        In the storage maps below, the "cell" row numbers the storage's cells and the
        "elem" row shows which element of the tensor, counted in row-major order
        (0 is [0, 0], 1 is [0, 1], ...), sits in each cell.""")

    section("A tensor and its Storage")
    base = strided.arange(12)
    storage = base.untyped_storage()
    print("base = strided.arange(12)")
    print(f"  {base}")
    print(f"  {storage}")
    print(f"  {base.shape=}  {base.stride()=}  {base.storage_offset()=}")
    print(f"  base.data_ptr() = {base.data_ptr():#x}   (storage.data_ptr() "
          f"+ {base.storage_offset()} * {base.element_size()} bytes)")
    show_map(base, "base")

    section("A view shares its base's storage")
    t = base.view(3, 4)
    print("t = base.view(3, 4)")
    print(textwrap.indent(repr(t), "  "))
    print(f"  {t.shape=}  {t.stride()=}   (one row = 4 cells)")
    print(f"  same storage as base: {same_memory(t, base)}   t._base is base: {t._base is base}")
    say("Same cells, same order: a view only reinterprets the metadata.")
    show_map(t, "t")

    section("Slices: an offset and bigger steps")
    v = t[1:, ::2]
    print("v = t[1:, ::2]        # rows 1.., every other column")
    print(textwrap.indent(repr(v), "  "))
    print(f"  {v.stride()=}  {v.storage_offset()=}  {v.is_contiguous()=}")
    print(f"  v.data_ptr() - storage.data_ptr() = {v.data_ptr() - storage.data_ptr()} bytes"
          f" = {v.storage_offset()} cells * {v.element_size()} bytes")
    show_map(v, "v = t[1:, ::2]")

    section("Writing through a view changes its base")
    z = strided.zeros(3, 4, dtype=strided.int64)
    col = z[:, 1]
    col.copy_(strided.tensor([7, 8, 9]))
    print("z = strided.zeros(3, 4, dtype=strided.int64); col = z[:, 1]")
    print("col.copy_(strided.tensor([7, 8, 9]))")
    print(textwrap.indent(repr(z), "  "))
    print(f"  z's storage: {z.untyped_storage().tolist()}")
    show_map(col, "col = z[:, 1]")

    section("transpose: same cells, new order -> non-contiguous")
    tt = t.T
    print("tt = t.T")
    print(f"  {tt.stride()=}  {tt.is_contiguous()=}  same storage: {same_memory(tt, t)}")
    say("""
        Walking tt row by row jumps through the storage (cells 0, 4, 8, 1, ...),
        so no single stride can flatten it: view() refuses.""")
    show_map(tt, "tt = t.T")
    print(">>> tt.view(12)")
    try:
        tt.view(12)
    except RuntimeError as err:
        show_error(err)
    flat = tt.reshape(12)
    print(">>> flat = tt.reshape(12)     # reshape copies when it must")
    print(f"  {flat}")
    print(f"  same storage as t: {same_memory(flat, t)}   flat._base: {flat._base}")
    show_map(flat, "flat = tt.reshape(12)  (a new storage)")

    section("contiguous() copies only when needed")
    c = tt.contiguous()
    print("c = tt.contiguous()")
    print(f"  same storage as t: {same_memory(c, t)}   {c.stride()=}   "
          f"t.contiguous() is t: {t.contiguous() is t}")
    show_map(c, "c = tt.contiguous()")

    section("expand: stride 0 repeats cells")
    small = strided.tensor([10, 20, 30]).view(3, 1)
    e = small.expand(3, 4)
    print("small = strided.tensor([10, 20, 30]).view(3, 1); e = small.expand(3, 4)")
    print(textwrap.indent(repr(e), "  "))
    print(f"  {e.stride()=}   {e.numel()} elements in {e.untyped_storage().size()} cells")
    show_map(e, "e = small.expand(3, 4)")
    say("Writing to e would write one cell many times, so strided refuses:")
    print(">>> e.fill_(0)")
    try:
        e.fill_(0)
    except RuntimeError as err:
        show_error(err)

    section("unfold: overlapping sliding windows")
    seq = strided.arange(8)
    w = seq.unfold(0, 3, 2)
    print("w = strided.arange(8).unfold(0, 3, 2)   # windows of 3, 2 apart")
    print(textwrap.indent(repr(w), "  "))
    print(f"  {w.stride()=}   cells 2 and 4 belong to two windows each")
    show_map(w, "w = arange(8).unfold(0, 3, 2)")

    section("flip: negative strides (a view, not a copy)")
    f = t.flip(0)
    print("f = t.flip(0)            # same as t[::-1]")
    print(textwrap.indent(repr(f), "  "))
    print(f"  {f.stride()=}  {f.storage_offset()=}  same storage: {same_memory(f, t)}")
    say("""
        PyTorch copies in flip() and rejects negative slice steps; strided, like
        NumPy, returns a view, so writes reach the base:""")
    f[0, 0] = 100
    print(f">>> f[0, 0] = 100   ->   t[2, 0] = {t[2, 0].item()}")
    show_map(f, "f = t.flip(0)")

    section("as_strided: any layout, but inside the storage")
    win = t.as_strided((5, 4), (2, 1))
    print("win = t.as_strided((5, 4), (2, 1))   # 5 overlapping rows of 4, 2 apart")
    show_map(win, "win")
    print(">>> t.as_strided((4, 4), (4, 1))     # would need 16 cells; there are 12")
    try:
        t.as_strided((4, 4), (4, 1))
    except RuntimeError as err:
        show_error(err)

    say("""
        Summary: besides the tensors created from data, only flat (reshape of a
        non-contiguous tensor) and c (contiguous) got a storage of their own.
        Every other tensor above is a view: its sizes, strides and storage_offset
        alone decide which cells of a shared storage it sees.""")
    if PNG_DIR is not None:
        print(f"PNG maps written to {PNG_DIR}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", metavar="DIR", help="also write a PNG of each map into DIR")
    args = parser.parse_args()
    if args.png:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            sys.exit("--png needs matplotlib: pip install matplotlib")
        os.makedirs(args.png, exist_ok=True)
        PNG_DIR = args.png
    main()
