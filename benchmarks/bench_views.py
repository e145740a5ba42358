"""Per-call time of the view ops: strided vs NumPy vs PyTorch.

    python benchmarks/bench_views.py            # full run (7 repeats of ~30 ms each)
    python benchmarks/bench_views.py --quick    # CI smoke run (3 short repeats)
    python benchmarks/bench_views.py --json out/views.json

Every op is timed with timeit: `number` calls per repeat, chosen so one repeat takes about
the target time, and the MEDIAN over repeats is reported in ns per call (the machine may be
shared and noisy, so only medians and ratios are meaningful).  Ratios are peer / strided:
above 1 means strided is faster.

strided and NumPy are timed in this process, their repeats of each op alternating so that
load bursts hit both alike.  PyTorch is timed in a subprocess
(`--peer torch`, which prints JSON) because it ships its own OpenMP runtime, which can
disturb other libraries in the same process; its column is skipped when torch can't be
imported.  Each library is called in its own natural form: NumPy's equivalent of a
strided/torch method is the ndarray method where one exists (a.reshape, a.swapaxes,
a.transpose(axes), a.T) and the stride_tricks/broadcast function otherwise.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import timeit

from _peers import fmt, peer_in_subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SIZES = [(4, 8), (2048, 2048)]


def ops(R, C):
    """(op, statement for strided and torch, NumPy statement) for an R x C float32 tensor.

    Names in the statements: t (R x C, contiguous), tT (t transposed), row (1 x C).
    """
    return [
        ("slice", "t[1:, ::2]", "t[1:, ::2]"),
        ("int index", "t[3]", "t[3]"),
        ("view", f"t.view({C}, {R})", f"t.reshape({C}, {R})"),
        ("reshape", f"t.reshape({R // 2}, -1)", f"t.reshape({R // 2}, -1)"),
        ("transpose", "t.transpose(0, 1)", "t.swapaxes(0, 1)"),
        (".T", "t.T", "t.T"),
        ("permute", "t.permute(1, 0)", "t.transpose(1, 0)"),
        ("expand", f"row.expand({R}, {C})", f"broadcast_to(row, ({R}, {C}))"),
        ("unfold", "t.unfold(1, 3, 1)", "sliding_window_view(t, 3, axis=1)"),
        ("as_strided", f"t.as_strided(({R // 2}, {C // 2}), ({2 * C}, 2))",
         f"as_strided(t, ({R // 2}, {C // 2}), ({2 * C * 4}, 8))"),
        ("contiguous", "tT.contiguous()", "ascontiguousarray(tT)"),
        ("expanded row, contiguous", f"row.expand({R}, {C}).contiguous()",
         f"ascontiguousarray(broadcast_to(row, ({R}, {C})))"),
    ]


# real copies: reported, but left out of the view-op summary
COPY_OPS = {"contiguous", "expanded row, contiguous"}


def namespace(lib, R, C):
    """The globals the statements run in: the operands, built from arange, plus helpers."""
    if lib == "strided":
        import strided
        t = strided.arange(R * C, dtype=strided.float32).view(R, C)
        return {"t": t, "tT": t.transpose(0, 1), "row": t[:1]}
    if lib == "torch":
        import torch
        t = torch.arange(R * C, dtype=torch.float32).view(R, C)
        return {"t": t, "tT": t.transpose(0, 1), "row": t[:1]}
    import numpy as np
    from numpy.lib.stride_tricks import as_strided, sliding_window_view
    t = np.arange(R * C, dtype=np.float32).reshape(R, C)
    return {"t": t, "tT": t.T, "row": t[:1], "broadcast_to": np.broadcast_to,
            "as_strided": as_strided, "sliding_window_view": sliding_window_view,
            "ascontiguousarray": np.ascontiguousarray}


def calibrate(timer, target):
    """The number of calls that take about `target` seconds (at least 1)."""
    number, elapsed = 1, timer.timeit(1)            # also a warm-up call
    while elapsed < target / 10:                    # calibrate on >= 1/10 of the target
        number *= 10
        elapsed = timer.timeit(number)
    return max(1, round(number * target / elapsed))


def measure(libs, repeat, target):
    """{lib: {"op|size": median ns per call}}.

    The libraries' repeats of one op alternate (strided, numpy, strided, numpy, ...), so a
    burst of load on a shared machine hits both columns alike instead of skewing a ratio.
    """
    out = {lib: {} for lib in libs}
    for R, C in SIZES:
        spaces = {lib: namespace(lib, R, C) for lib in libs}
        for op, stmt, np_stmt in ops(R, C):
            timers = {lib: timeit.Timer(np_stmt if lib == "numpy" else stmt, globals=spaces[lib])
                      for lib in libs}
            numbers = {lib: calibrate(timers[lib], target) for lib in libs}
            samples = {lib: [] for lib in libs}
            for _ in range(repeat):
                for lib in libs:
                    samples[lib].append(timers[lib].timeit(numbers[lib]) / numbers[lib])
            for lib in libs:
                out[lib][f"{op}|{R}x{C}"] = statistics.median(samples[lib]) * 1e9
    return out


def check_results():
    """Each strided op gives NumPy's values (so the table compares like with like)."""
    import numpy as np
    for R, C in SIZES:
        s_ns, n_ns = namespace("strided", R, C), namespace("numpy", R, C)
        for op, stmt, np_stmt in ops(R, C):
            got, want = np.asarray(eval(stmt, s_ns)), eval(np_stmt, n_ns)
            if got.shape != want.shape or not np.array_equal(got, want):
                raise AssertionError(f"{op} {R}x{C}: strided {stmt} != numpy {np_stmt}")


def torch_in_subprocess(args):
    """Run this script with --peer torch; its timings, or None when torch is unavailable."""
    extra = []
    extra += ["--quick"] if args.quick else []
    return peer_in_subprocess(__file__, extra)


def ratio(peer, ours):
    return peer / ours if peer is not None else None


def geomean(xs):
    xs = [x for x in xs if x is not None]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer, shorter repeats (CI smoke)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--peer", choices=["torch"], help=argparse.SUPPRESS)   # internal
    args = p.parse_args()
    repeat, target = (3, 0.005) if args.quick else (7, 0.03)

    if args.peer == "torch":
        import torch
        times = measure(["torch"], repeat, target)["torch"]
        json.dump({"times": times, "info": {"version": torch.__version__,
                                            "threads": torch.get_num_threads()}}, sys.stdout)
        return

    sys.path.insert(0, ROOT)
    import numpy as np
    import strided
    check_results()
    torch_times, torch_info = torch_in_subprocess(args)
    here = measure(["strided", "numpy"], repeat, target)
    ours, numpy_times = here["strided"], here["numpy"]

    print(f"Python {platform.python_version()}, NumPy {np.__version__}, strided "
          f"{strided.__version__} ({strided.get_num_threads()} threads), "
          + (f"torch {torch_info['version']} ({torch_info['threads']} threads)"
             if torch_info else "torch: not available")
          + f"; median of {repeat} repeats, ns per call")
    header = (f"{'op':<11} {'size':>9} {'strided ns':>11} {'numpy ns':>10} {'torch ns':>10} "
              f"{'numpy/strided':>14} {'torch/strided':>14}")
    print(header)
    print("-" * len(header))
    rows = []
    for R, C in SIZES:
        for op, _, _ in ops(R, C):
            key = f"{op}|{R}x{C}"
            s, n = ours[key], numpy_times[key]
            t = torch_times[key] if torch_times else None
            row = {"op": op, "size": f"{R}x{C}", "strided_ns": s, "numpy_ns": n,
                   "torch_ns": t, "numpy_over_strided": ratio(n, s),
                   "torch_over_strided": ratio(t, s)}
            rows.append(row)
            print(f"{op:<11} {row['size']:>9} {s:>11.0f} {n:>10.0f} {fmt(t, '>10.0f')} "
                  f"{row['numpy_over_strided']:>14.2f} {fmt(row['torch_over_strided'], '>14.2f')}")

    views = [r for r in rows if r["op"] not in COPY_OPS]
    g_np = geomean([r["numpy_over_strided"] for r in views])
    g_torch = geomean([r["torch_over_strided"] for r in views])
    print(f"\ngeomean over {len(views)} view-op rows (excluding contiguous): "
          f"numpy/strided {g_np:.2f}x, torch/strided {fmt(g_torch, '.2f')}"
          + ("x" if g_torch is not None else " (torch not available)"))

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"repeat": repeat, "target_seconds": target,
                       "numpy": np.__version__, "torch": torch_info, "rows": rows,
                       "geomean_numpy_over_strided": g_np,
                       "geomean_torch_over_strided": g_torch}, f, indent=2)


if __name__ == "__main__":
    main()
