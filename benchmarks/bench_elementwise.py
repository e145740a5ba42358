"""Element-wise ops and reductions: strided vs NumPy vs PyTorch, side by side.

    python benchmarks/bench_elementwise.py            # full run: 10M-element float32 tensors
    python benchmarks/bench_elementwise.py --quick    # CI smoke run (small tensors, few repeats)
    python benchmarks/bench_elementwise.py --json out/elementwise.json
    python benchmarks/bench_elementwise.py --ops exp,log,tanh,sigmoid --repeat 21

Ops: add, mul, exp, log (of |a|), tanh, sigmoid (NumPy: 1 / (1 + exp(-a))), relu, sum, sum over
dim 0 and dim 1, softmax over the last dim, on a
2000 x 5000 float32 tensor in three layouts -- contiguous, transposed (a view of a
5000 x 2000 tensor) and a stepped slice (every other column of 2000 x 10000) -- plus the
per-call time of `a + b` on 10-element tensors.  Binary ops take two tensors of the same
layout.  Each cell is the MEDIAN time over repeats (the machine may be shared and noisy);
ratios are peer / strided, so above 1 means strided is faster.  The process CPU time of each
repeat is taken too: the 1-thread strided and NumPy runs' CPU-time ratio is printed beside
the wall-time one (on a loaded machine the CPU time is the steadier of the two).  The CPU
model and the load average are printed with the table.

strided is timed twice, on 1 thread and on all of strided.get_num_threads() threads (NumPy
always runs these on one thread; PyTorch uses its own default).  PyTorch runs in a
subprocess (`--peer torch`): it ships its own OpenMP runtime, which can disturb other
libraries in the same process; its column is skipped when torch can't be imported.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import timeit

from _peers import cpu_model, fmt, peer_in_subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYOUTS = ["contiguous", "transposed", "stepped"]

# (op, statement for strided and torch, NumPy statement).  a, b: operands in the layout.
OPS = [
    ("add", "a + b", "a + b"),
    ("mul", "a * b", "a * b"),
    ("exp", "a.exp()", "np.exp(a)"),
    ("log", "a.abs().log()", "np.log(np.abs(a))"),
    ("tanh", "a.tanh()", "np.tanh(a)"),
    ("sigmoid", "a.sigmoid()", "1 / (1 + np.exp(-a))"),
    ("relu", "a.relu()", "np.maximum(a, 0)"),
    ("sum", "a.sum()", "a.sum()"),
    ("sum dim 0", "a.sum(0)", "a.sum(0)"),
    ("sum dim 1", "a.sum(1)", "a.sum(1)"),
    ("softmax", "a.softmax(-1)", "softmax(a)"),
]
SMALL = ("tiny add", "a + b", "a + b")       # 10-element tensors: per-call overhead


def np_softmax(a):
    import numpy as np
    e = np.exp(a - a.max(-1, keepdims=True))
    e /= e.sum(-1, keepdims=True)
    return e


def operands(lib, layout, R, C, seed):
    """Two R x C float32 operands in `layout` for lib, from the same NumPy values."""
    import numpy as np
    rng = np.random.default_rng(seed)
    if layout == "contiguous":
        base = rng.standard_normal((R, C), dtype=np.float32)
        take = lambda x: x
    elif layout == "transposed":
        base = rng.standard_normal((C, R), dtype=np.float32)
        take = lambda x: x.T
    else:
        base = rng.standard_normal((R, 2 * C), dtype=np.float32)
        take = lambda x: x[:, ::2]
    if lib == "numpy":
        return take(base), take(base.copy() + 1)
    if lib == "torch":
        import torch
        return take(torch.from_numpy(base)), take(torch.from_numpy(base.copy() + 1))
    import strided
    return take(strided.from_numpy(base)), take(strided.from_numpy(base.copy() + 1))


def namespace(lib, a, b):
    import numpy as np
    ns = {"a": a, "b": b, "np": np, "softmax": np_softmax}
    if lib == "torch":
        import torch
        ns["torch"] = torch
    return ns


def calibrate(timer, target):
    number, elapsed = 1, timer.timeit(1)
    while elapsed < target / 10:
        number *= 10
        elapsed = timer.timeit(number)
    return max(1, round(number * target / elapsed))


def cases(shape, ops=None):
    """The (op, layout, shape, statement, NumPy statement) cases; `ops` keeps only those
    ops (and drops the tiny add unless named)."""
    R, C = shape
    for layout in LAYOUTS:
        for op, stmt, np_stmt in OPS:
            if ops is None or op in ops:
                yield op, layout, (R, C), stmt, np_stmt
    if ops is None or SMALL[0] in ops:
        yield SMALL[0], "contiguous", (2, 5), SMALL[1], SMALL[2]


def measure(libs, shape, repeat, target, ops=None, cpu=None):
    """{lib: {"op|layout": median seconds}}; libs' repeats alternate so load hits all alike.
    When `cpu` is a dict, it gets the same for the process CPU time of the repeats.

    lib names: "numpy", "torch", "strided:1" / "strided:N" (strided on that many threads).
    """
    out = {lib: {} for lib in libs}
    if cpu is not None:
        cpu.update({lib: {} for lib in libs})
    for op, layout, (R, C), stmt, np_stmt in cases(shape, ops):
        spaces = {}
        for lib in libs:
            name = lib.split(":")[0]
            spaces[lib] = namespace(name, *operands(name, layout, R, C, seed=0))
        timers = {lib: timeit.Timer(np_stmt if lib == "numpy" else stmt, globals=spaces[lib])
                  for lib in libs}
        numbers, samples = {}, {lib: [] for lib in libs}
        cpu_samples = {lib: [] for lib in libs}
        for lib in libs:
            _set_threads(lib)
            numbers[lib] = calibrate(timers[lib], target)
        for _ in range(repeat):
            for lib in libs:
                _set_threads(lib)
                c0 = time.process_time()
                samples[lib].append(timers[lib].timeit(numbers[lib]) / numbers[lib])
                cpu_samples[lib].append((time.process_time() - c0) / numbers[lib])
        for lib in libs:
            out[lib][f"{op}|{layout}"] = statistics.median(samples[lib])
            if cpu is not None:
                cpu[lib][f"{op}|{layout}"] = statistics.median(cpu_samples[lib])
        del spaces, timers
    return out


def _set_threads(lib):
    if lib.startswith("strided:"):
        import strided
        strided.set_num_threads(int(lib.split(":")[1]))


def check_results(shape, ops=None):
    """strided's values match NumPy's on every case (so the table compares like with like)."""
    import numpy as np
    for op, layout, (R, C), stmt, np_stmt in cases(shape, ops):
        s = namespace("strided", *operands("strided", layout, R, C, seed=1))
        n = namespace("numpy", *operands("numpy", layout, R, C, seed=1))
        got, want = np.asarray(eval(stmt, s)), np.asarray(eval(np_stmt, n))
        scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
        tol = 1e-3 * scale if op.startswith("sum") else 1e-5 * scale
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=tol):
            raise AssertionError(f"{op} ({layout}): strided {stmt} differs from NumPy {np_stmt}")


def torch_in_subprocess(args):
    extra = []
    extra += ["--quick"] if args.quick else []
    extra += ["--ops", args.ops] if args.ops else []
    extra += ["--repeat", str(args.repeat)] if args.repeat else []
    return peer_in_subprocess(__file__, extra)


def geomean(xs):
    xs = [x for x in xs if x is not None]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small tensors, few repeats (CI smoke)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--ops", help="comma-separated ops to run (default: all), e.g. exp,tanh")
    p.add_argument("--repeat", type=int, help="repeats per case (default 7, 3 with --quick)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    p.add_argument("--peer", choices=["torch"], help=argparse.SUPPRESS)   # internal
    args = p.parse_args()
    shape = (200, 500) if args.quick else (2000, 5000)
    repeat, target = (3, 0.003) if args.quick else (7, 0.05)
    repeat = args.repeat or repeat
    ops = None
    if args.ops:
        ops = [o.strip() for o in args.ops.split(",")]
        known = [op for op, _, _ in OPS] + [SMALL[0]]
        unknown = [o for o in ops if o not in known]
        if unknown:
            p.error(f"unknown op(s) {unknown}; expected some of {known}")

    if args.peer == "torch":
        import torch
        times = measure(["torch"], shape, repeat, target, ops)["torch"]
        json.dump({"times": times, "info": {"version": torch.__version__,
                                            "threads": torch.get_num_threads()}}, sys.stdout)
        return

    sys.path.insert(0, ROOT)
    import numpy as np
    import strided
    nthreads = strided.get_num_threads()
    check_results(shape, ops)
    torch_times, torch_info = (None, None) if args.no_torch else torch_in_subprocess(args)
    libs = ["strided:1", f"strided:{nthreads}", "numpy"] if nthreads > 1 else ["strided:1", "numpy"]
    load0 = os.getloadavg()[0]
    cpu = {}
    here = measure(libs, shape, repeat, target, ops, cpu)
    load1 = os.getloadavg()[0]
    strided.set_num_threads(nthreads)
    one, many, numpy_t = here["strided:1"], here[libs[1]] if nthreads > 1 else None, here["numpy"]

    print(f"CPU: {cpu_model()} ({strided.show_config('dicts')['cpu']['isa']} kernels); "
          f"load average {load0:.1f} before, {load1:.1f} after")
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, strided "
          f"{strided.__version__}, "
          + (f"torch {torch_info['version']} ({torch_info['threads']} threads)"
             if torch_info else "torch: not available")
          + f"; {shape[0]}x{shape[1]} float32; median of {repeat} repeats; times in ms "
          f"(tiny add in us)")
    header = (f"{'op':<10} {'layout':<11} {'strided 1T':>10} {'strided ' + str(nthreads) + 'T':>10} "
              f"{'numpy':>9} {'torch':>9} {'np/s 1T':>8} {'cpu 1T':>7} {'np/s':>7} "
              f"{'torch/s':>8}")
    print(header)
    print("-" * len(header))
    rows = []
    for op, layout, _, _, _ in cases(shape, ops):
        key = f"{op}|{layout}"
        unit = 1e6 if op == "tiny add" else 1e3
        s1, n = one[key], numpy_t[key]
        sn = many[key] if many else s1
        t = torch_times[key] if torch_times else None
        c1, cn = cpu["strided:1"][key], cpu["numpy"][key]
        row = {"op": op, "layout": layout, "strided_1t_s": s1, "strided_s": sn, "numpy_s": n,
               "torch_s": t, "numpy_over_strided_1t": n / s1, "numpy_over_strided": n / sn,
               "torch_over_strided": t / sn if t else None, "threads": nthreads,
               "strided_1t_cpu_s": c1, "numpy_cpu_s": cn,
               "numpy_over_strided_1t_cpu": cn / c1 if c1 > 0 else None}
        rows.append(row)
        print(f"{op:<10} {layout:<11} {s1 * unit:>10.3f} {sn * unit:>10.3f} {n * unit:>9.3f} "
              f"{fmt(t * unit if t else None, '>9.3f')} {n / s1:>8.2f} "
              f"{fmt(row['numpy_over_strided_1t_cpu'], '>7.2f')} {n / sn:>7.2f} "
              f"{fmt(row['torch_over_strided'], '>8.2f')}")
    print("np/s 1T and cpu 1T: NumPy's wall and process CPU time over strided's on one thread")
    big = [r for r in rows if r["op"] != "tiny add"]
    print(f"\ngeomean over {len(big)} large cases: numpy/strided "
          f"{geomean([r['numpy_over_strided_1t'] for r in big]):.2f}x on 1 thread, "
          f"{geomean([r['numpy_over_strided'] for r in big]):.2f}x on {nthreads}; torch/strided "
          f"{fmt(geomean([r['torch_over_strided'] for r in big]), '.2f')}x")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"shape": shape, "repeat": repeat, "numpy": np.__version__,
                       "torch": torch_info, "cpu": cpu_model(), "load": [load0, load1],
                       "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
