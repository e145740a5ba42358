"""Matrix-product speed: strided vs NumPy (OpenBLAS) vs PyTorch, in GFLOP/s.

    python benchmarks/bench_gemm.py             # full run, 1 and 2 threads, float32 and float64
    python benchmarks/bench_gemm.py --quick     # CI smoke run (small shapes, short repeats)
    python benchmarks/bench_gemm.py --json out/gemm.json --threads 1,2 --settle 120
    python benchmarks/bench_gemm.py --isa avx2,avx512   # a strided column per instruction set
    python benchmarks/bench_gemm.py --blocks 480/384/4096,240/384/4096 --dtypes float32
                                                # block sizes MC/KC/NC of strided's GEMM table

Cases (M x K x N, 2*M*N*K flops each):
  square n     A @ B for n = 64 ... 2048
  AT@B, A@BT, AT@BT
               the same with transposed operands: views of a transposed array (strided,
               NumPy) / tensor (torch), never copied first
  fc           y = x @ W^T (linear / F.linear / x @ W.T), batch 64, 9408 -> 4096 features
  conv         256 x 1152 x 192: a 3x3 convolution with 128 input channels as a GEMM
  mlp          y = x @ W^T, batch 64, 784 -> 256 features

Each library runs in its own worker subprocess (`--worker LIB`), so each gets the thread
count under test the way it wants it -- strided.set_num_threads(n); OPENBLAS_NUM_THREADS=n
before NumPy loads; torch.set_num_threads(n) -- and so torch's bundled OpenMP runtime and
OpenBLAS's spinning threads never share a process with strided's OpenMP threads (either
can wreck the other's parallel speed-up).  The workers stay up for the whole run and the
parent makes them take turns, case by case and repeat by repeat (strided, numpy, torch,
strided, ...), pausing between turns until the previous library's idle threads stop
spinning (see pause()); so a burst of load on a shared machine hits every column alike.  A repeat runs
as many calls as fill the target time; each cell is the MEDIAN over repeats, in GFLOP/s.
Ratios are strided's GFLOP/s over the peer's: above 1 means strided is faster.  A cell
marked "!" had a repeat over 1.5x slower than its fastest for some library (the JSON keeps
each library's slowest/fastest ratio and calls per repeat): on a shared machine, mostly a
2-thread call waiting for a core.  The strided worker first checks each case against NumPy.

--isa runs one strided worker per instruction set (STRIDED_ISA=isa in its environment, NOTE
[ Instruction sets ]), side by side with the peers; ratios are given for each.  --blocks
tunes the block sizes of strided's GEMM kernel table (NOTE [ GEMM block sizes ]): strided
alone, one thread, each MC/KC/NC on the square, fc and conv shapes, the best of 5 repeats
of CPU time (so other processes' load, which preempts the process, weighs less).
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

from _peers import Worker, fmt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBS = ("strided", "numpy", "torch")


def cases(quick):
    """[(name, op, M, K, N)]; op is "nn", "tn", "nt", "tt" (which operands are transposed
    views) or "linear" (x @ W^T with W stored out x in)."""
    if quick:
        squares, trans, fc = (64, 128, 256), (128,), ("fc/8", 64, 1176, 512)
    else:
        squares, trans, fc = (64, 128, 256, 512, 1024, 2048), (256, 1024), ("fc", 64, 9408, 4096)
    out = [(f"square {n}", "nn", n, n, n) for n in squares]
    for n in trans:
        out += [(f"AT@B {n}", "tn", n, n, n), (f"A@BT {n}", "nt", n, n, n),
                (f"AT@BT {n}", "tt", n, n, n)]
    out += [(fc[0], "linear", fc[1], fc[2], fc[3]),
            ("conv", "nn", 256, 1152, 192),
            ("mlp", "linear", 64, 784, 256)]
    return out


def operands(lib, op, M, K, N, dtype, seed=0):
    """The two operands and the call computing the product, in lib's natural form."""
    import numpy as np
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, N)).astype(dtype)
    # transposed operands are views of the transpose of a contiguous array
    a_st = np.ascontiguousarray(a.T) if op in ("tn", "tt") else a
    b_st = np.ascontiguousarray(b.T) if op in ("nt", "tt", "linear") else b
    if lib == "numpy":
        A = a_st.T if op in ("tn", "tt") else a_st
        B = b_st.T if op in ("nt", "tt", "linear") else b_st
        return (lambda: A @ B), a, b
    if lib == "strided":
        import strided
        import strided.nn.functional as F
        A0, B0 = strided.from_numpy(a_st), strided.from_numpy(b_st)
        if op == "linear":
            return (lambda: F.linear(A0, B0)), a, b
        A = A0.t() if op in ("tn", "tt") else A0
        B = B0.t() if op in ("nt", "tt") else B0
        return (lambda: A @ B), a, b
    import torch
    A0, B0 = torch.from_numpy(a_st), torch.from_numpy(b_st)
    if op == "linear":
        return (lambda: torch.nn.functional.linear(A0, B0)), a, b
    A = A0.t() if op in ("tn", "tt") else A0
    B = B0.t() if op in ("nt", "tt") else B0
    return (lambda: A @ B), a, b


def worker(lib, threads):
    """Serve the parent: JSON commands on stdin, one JSON reply per line on stdout.

    {"op": "prepare", "case": [name, op, M, K, N], "dtype": dt, "target": s}: build the
        operands, warm up, choose how many calls fill `target` seconds;
    {"op": "time"}: run them, reply the seconds per call."""
    info = {}
    if lib == "strided":
        sys.path.insert(0, ROOT)
        import strided
        from strided._C.kernels import gemm
        strided.set_num_threads(threads)
        info = {"version": strided.__version__, "threads": strided.get_num_threads(),
                "kernel": gemm._kernel_name(), "isa": strided.show_config("dicts")["cpu"]["isa"],
                "cpu": strided.show_config("dicts")["cpu"]["name"]}
    elif lib == "torch":
        import torch
        torch.set_num_threads(threads)
        info = {"version": torch.__version__, "threads": torch.get_num_threads()}
    import numpy as np
    if lib == "numpy":
        info = {"version": np.__version__, "threads": threads}
    print(json.dumps({"info": info}), flush=True)
    fn, number = None, 1
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "prepare":
            fn = None
            name, op, M, K, N = cmd["case"]
            dtype = cmd["dtype"]
            fn, a, b = operands(lib, op, M, K, N, dtype)
            if lib == "strided":
                got = np.asarray(fn().numpy(), np.float64)
                want = a.astype(np.float64) @ b.astype(np.float64)
                err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)
                if got.shape != want.shape or not err < (1e-4 if dtype == "float32" else 1e-12):
                    raise AssertionError(f"{name} {dtype}: strided differs from NumPy "
                                         f"(relative error {err:.2e})")
            del a, b
            fn()                                    # warm-up (buffers, pages, thread pool)
            # Calls per turn from the fastest of a few timed calls: one call caught by a
            # stall (a thread waking up, or preempted, on a busy machine) would otherwise
            # make every turn a handful of calls, each turn's first call (which wakes the
            # thread pool) then weighing on the whole cell.
            once = float("inf")
            for _ in range(5):
                t0 = time.perf_counter()
                fn()
                once = min(once, time.perf_counter() - t0)
            number = max(1, round(cmd["target"] / max(once, 1e-7)))
            reply = {"number": number}
        elif cmd["op"] == "time":
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            reply = {"seconds": (time.perf_counter() - t0) / number}
        else:
            break
        print(json.dumps(reply), flush=True)


def start_workers(libs, threads):
    """{label: Worker}; a label "strided:<isa>" is a strided worker under STRIDED_ISA=<isa>."""
    workers = {}
    for label in libs:
        lib, _, isa = label.partition(":")
        env = dict(os.environ)
        n = str(threads if lib != "strided" else 1)      # strided's worker: OpenBLAS unused
        env.update(OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=n)
        if isa:
            env["STRIDED_ISA"] = isa
        try:
            workers[label] = Worker(__file__, lib, threads, env)
        except RuntimeError as e:
            if lib != "torch":
                raise
            print(f"torch column skipped: {e}", file=sys.stderr)
    return workers


def pause(last, threads):
    """Seconds to wait after `last` library's turn before timing the next: OpenBLAS's idle
    threads spin for ~110 ms after a call (measured here: 110 ms of CPU in the 200 ms after
    a 2-thread call), libgomp's (strided, torch) for ~10 ms."""
    if last == "numpy" and threads > 1:
        return 0.13
    return 0.02


def _proc_stat_busy():
    """(busy jiffies, all jiffies) of the whole machine so far (Linux)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)   # minus idle and iowait


def _proc_jiffies(pid):
    """CPU jiffies (user + system, all threads) process pid has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_busy(interval=0.25):
    """The fraction of the machine's CPU time spent busy over `interval` seconds (Linux;
    0 elsewhere)."""
    try:
        b0, t0 = _proc_stat_busy()
        time.sleep(interval)
        b1, t1 = _proc_stat_busy()
    except (OSError, ValueError, IndexError):
        return 0.0
    return (b1 - b0) / max(t1 - t0, 1)


def wait_idle(max_wait):
    """Wait (up to max_wait seconds) until the machine is idle.  Returns seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait and cpu_busy() > 0.1:
        time.sleep(1.0)
    return time.perf_counter() - t0


class ForeignLoad:
    """How much of the machine other processes used while we measured: all busy time
    minus our own and our workers' (Linux; 0 elsewhere)."""

    def __init__(self, pids):
        self.pids = [os.getpid()] + list(pids)
        self.start = self._sample()

    def _sample(self):
        try:
            busy, total = _proc_stat_busy()
            ours = sum(_proc_jiffies(pid) for pid in self.pids)
            return busy, total, ours
        except (OSError, ValueError, IndexError):
            return None

    def fraction(self):
        end = self._sample()
        if end is None or self.start is None:
            return 0.0
        return max(0.0, ((end[0] - self.start[0]) - (end[2] - self.start[2]))
                   / max(end[1] - self.start[1], 1))


def measure(libs, threads, dtypes, quick, repeat, target, settle=0):
    """({lib: {"case|dtype": median seconds per call}}, {lib: {"case|dtype": {slowest
    repeat over fastest, calls per repeat}}}, workers' info), the libraries taking turns.

    With settle > 0 (for a shared machine, where other people's compilers take a whole
    core for tens of seconds and wreck every 2-thread number taken meanwhile), each case
    waits up to `settle` seconds for an idle machine, and is measured again (up to 3
    times) when other processes took more than 5% of the CPU while it ran."""
    workers = start_workers(libs, threads)
    out = {lib: {} for lib in workers}
    spread = {lib: {} for lib in workers}
    retried = []
    try:
        for dtype in dtypes:
            for case in cases(quick):
                key = f"{case[0]}|{dtype}"
                number = {lib: w.ask(op="prepare", case=case, dtype=dtype,
                                     target=target)["number"] for lib, w in workers.items()}
                for attempt in range(3 if settle else 1):
                    if settle:
                        wait_idle(settle)
                    load = ForeignLoad(w.proc.pid for w in workers.values())
                    samples = {lib: [] for lib in workers}
                    last = None
                    for _ in range(repeat):
                        for lib, w in workers.items():
                            time.sleep(pause(last, threads))    # the last library's threads idle
                            samples[lib].append(w.ask(op="time")["seconds"])
                            last = lib
                    if load.fraction() <= 0.05:
                        break
                    retried.append(f"{key}|{threads}")
                for lib in workers:
                    out[lib][key] = statistics.median(samples[lib])
                    spread[lib][key] = {
                        "slowest_over_fastest": max(samples[lib]) / min(samples[lib]),
                        "calls_per_repeat": number[lib]}
    finally:
        infos = {lib: w.info for lib, w in workers.items()}
        for w in workers.values():
            w.close()
    if retried:
        print(f"measured again (other processes were busy): {', '.join(retried)}",
              file=sys.stderr)
    return out, spread, infos


def geomean(xs):
    xs = [x for x in xs if x is not None]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def tune_blocks(combos, dtypes, quick):
    """Print strided's GFLOP/s per block-size combination (--blocks): one thread, CPU time,
    best of 5 repeats of >= 0.15 s, on the kernel table STRIDED_ISA leaves."""
    sys.path.insert(0, ROOT)
    import numpy as np
    import strided
    from strided._C.kernels import gemm
    strided.set_num_threads(1)
    shapes = [c for c in cases(quick) if c[1] in ("nn", "nt", "linear") and
              (c[0].startswith(("square", "A@BT")) and c[2] >= 512 or c[0] in ("fc", "conv"))]
    print(f"strided GEMM table {gemm._kernel_name()} on {strided.show_config('dicts')['cpu']['name']}, "
          f"1 thread, GFLOP/s (best of 5, CPU time)")
    for dtype in dtypes:
        print(f"{'case':<12} {'dtype':>8} " + " ".join(f"{c:>14}" for c in combos))
        for case in shapes:
            name, op, M, K, N = case
            fn, a, b = operands("strided", op, M, K, N, dtype)
            del a, b
            row = []
            for combo in combos:
                gemm._set_block_sizes(dtype, tuple(int(x) for x in combo.split("/")))
                fn()
                best = float("inf")
                for _ in range(5):
                    t0, calls = time.process_time(), 0
                    while time.process_time() - t0 < (0.03 if quick else 0.15):
                        fn()
                        calls += 1
                    best = min(best, (time.process_time() - t0) / calls)
                row.append(2.0 * M * N * K / best / 1e9)
            gemm._set_block_sizes(dtype, None)
            print(f"{name:<12} {dtype:>8} " + " ".join(f"{g:>14.1f}" for g in row), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small shapes, short repeats (CI smoke)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--threads", default="1,2", help="thread counts to run (default 1,2)")
    p.add_argument("--repeat", type=int, default=None, help="repeats per cell (default 3 quick, 7)")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--no-torch", action="store_true", help="skip the torch column")
    p.add_argument("--isa", metavar="LIST",
                   help="one strided column per instruction set, e.g. avx2,avx512 (STRIDED_ISA)")
    p.add_argument("--blocks", metavar="MC/KC/NC,...",
                   help="tune block sizes instead: strided alone, one thread, per combination")
    p.add_argument("--settle", type=float, default=0, metavar="SECONDS",
                   help="before each case wait up to SECONDS for the machine to go idle")
    p.add_argument("--worker", choices=LIBS, help=argparse.SUPPRESS)     # internal
    args = p.parse_args()
    if args.worker:
        worker(args.worker, int(args.threads))
        return

    dtypes = args.dtypes.split(",")
    if args.blocks:
        tune_blocks(args.blocks.split(","), dtypes, args.quick)
        return
    repeat = args.repeat or (3 if args.quick else 7)
    target = 0.01 if args.quick else 0.1
    thread_counts = [int(t) for t in args.threads.split(",")]
    mine = [f"strided:{isa}" for isa in args.isa.split(",")] if args.isa else ["strided"]
    peers = [lib for lib in LIBS[1:] if not (lib == "torch" and args.no_torch)]
    libs = mine + peers
    results, spreads, infos = {}, {}, {}
    for threads in thread_counts:
        times, spread, info = measure(libs, threads, dtypes, args.quick, repeat, target,
                                      args.settle)
        infos.update(info)
        for lib, t in times.items():
            results[(lib, threads)] = t
            spreads[(lib, threads)] = spread[lib]

    import numpy as np
    first = infos[mine[0]]
    kernels = ", ".join(f"{label}: {infos[label]['kernel']}" for label in mine)
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, strided "
          f"{first['version']} (GEMM kernel table {kernels}), "
          + (f"torch {infos['torch']['version']}" if "torch" in infos else "torch: not available")
          + f"; {first['cpu']} ({platform.machine()}), {os.cpu_count()} CPUs; median of "
          f"{repeat} interleaved repeats of ~{target * 1e3:.0f} ms"
          + (f", waiting up to {args.settle:.0f} s for an idle machine before each case"
             if args.settle else ""))
    short = {label: label.partition(":")[2] or label for label in mine}
    cols = [short[m] for m in mine] + peers
    ratio_cols = [f"{short[m]}/{peer[:5]}" for m in mine for peer in peers]
    width = max(8, max(len(c) for c in cols + ratio_cols) + 1)
    header = (f"{'case':<12} {'M x K x N':>17} {'dtype':>8} {'thr':>3} "
              + " ".join(f"{c:>{width}}" for c in cols) + " "
              + " ".join(f"{c:>{width}}" for c in ratio_cols))
    print("GFLOP/s; ratios strided / peer (above 1: strided faster)")
    print(header)
    print("-" * len(header))
    rows = []
    for threads in thread_counts:
        for dtype in dtypes:
            for name, op, M, K, N in cases(args.quick):
                key = f"{name}|{dtype}"
                flops = 2.0 * M * N * K
                gf = {lib: (flops / results[(lib, threads)][key] / 1e9
                            if (lib, threads) in results else None) for lib in libs}
                ratios = {f"{m}/{peer}": (gf[m] / gf[peer] if gf.get(peer) else None)
                          for m in mine for peer in peers}
                row = {"case": name, "op": op, "M": M, "K": K, "N": N, "dtype": dtype,
                       "threads": threads, "gflops": gf, "ratios": ratios,
                       # the first strided column, under the names of a single-column run
                       "strided_gflops": gf[mine[0]],
                       "numpy_gflops": gf["numpy"], "torch_gflops": gf.get("torch"),
                       "strided_over_numpy": gf[mine[0]] / gf["numpy"],
                       "strided_over_torch": (gf[mine[0]] / gf["torch"]
                                              if gf.get("torch") else None),
                       "repeats": {lib: spreads[(lib, threads)][key] for lib in libs
                                   if (lib, threads) in spreads}}
                rows.append(row)
                # "!": some library's repeats of this cell differ by more than 1.5x -- the
                # machine was busy; the cell's ratios are not to be trusted
                noisy = max(r["slowest_over_fastest"] for r in row["repeats"].values()) > 1.5
                print(f"{name:<12} {f'{M}x{K}x{N}':>17} {dtype:>8} {threads:>3} "
                      + " ".join(fmt(gf.get(lib), f">{width}.1f") for lib in mine + peers) + " "
                      + " ".join(fmt(ratios[f"{m}/{peer}"], f">{width}.2f")
                                 for m in mine for peer in peers)
                      + (" !" if noisy else ""))
        print()
    if any(max(r["slowest_over_fastest"] for r in row["repeats"].values()) > 1.5
           for row in rows):
        print("! a library's slowest repeat of the cell took over 1.5x its fastest (busy machine)")
    geo = {}
    for m in mine:
        for peer in peers:
            geo[f"{m}/{peer}"] = geomean([r["ratios"][f"{m}/{peer}"] for r in rows])
            print(f"geomean over {len(rows)} rows: {m}/{peer} "
                  + (f"{geo[f'{m}/{peer}']:.2f}x" if geo[f"{m}/{peer}"] is not None
                     else "- (not available)"))
    g_np = geo[f"{mine[0]}/numpy"]
    g_torch = geo.get(f"{mine[0]}/torch")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"quick": args.quick, "repeat": repeat, "target_seconds": target,
                       "info": infos, "rows": rows, "geomean": geo,
                       "geomean_strided_over_numpy": g_np,
                       "geomean_strided_over_torch": g_torch}, f, indent=2)


if __name__ == "__main__":
    main()
