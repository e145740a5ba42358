"""cross_entropy forward + backward, strided vs PyTorch (CPU), float32.

    python benchmarks/bench_loss.py                # strided, then torch in a subprocess
    python benchmarks/bench_loss.py --peer torch   # torch only (JSON)
    python benchmarks/bench_loss.py --threads 2
    python benchmarks/bench_loss.py --quick --json out/loss.json   # CI smoke run

Each case is timed call by call after a warm-up; the MEDIAN over the repeats is reported in
ms (the machine may be shared and noisy: only medians and ratios mean anything).  "fwd" is
F.cross_entropy(x, t) (mean reduction) with x not requiring grad; "fwd+bwd" builds the loss
from a leaf x that requires grad and runs loss.backward().  torch runs in a subprocess so
its OpenMP runtime does not share the process with strided's.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPES = [(64, 10), (256, 1000)]


def _median_ms(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def _cases(lib, threads, repeats):
    import numpy as np
    rng = np.random.default_rng(0)
    out = {}
    for N, C in SHAPES:
        x = rng.standard_normal((N, C)).astype(np.float32)
        t = rng.integers(0, C, size=N)
        if lib == "torch":
            import torch
            import torch.nn.functional as F
            torch.set_num_threads(threads)
            xs, ts = torch.tensor(x), torch.tensor(t)
            xg = torch.tensor(x, requires_grad=True)
        else:
            sys.path.insert(0, ROOT)
            import strided as S
            import strided.nn.functional as F
            S.set_num_threads(threads)
            xs, ts = S.tensor(x), S.tensor(t)
            xg = S.tensor(x, requires_grad=True)

        def fwd():
            F.cross_entropy(xs, ts)

        def fwd_bwd():
            xg.grad = None
            F.cross_entropy(xg, ts).backward()

        out[f"{N}x{C}"] = {"fwd": _median_ms(fwd, repeats), "fwd+bwd": _median_ms(fwd_bwd, repeats)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=["torch"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="5 repeats (a smoke run)")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    if args.quick:
        args.repeats = 5
    if args.peer:
        print(json.dumps(_cases("torch", args.threads, args.repeats)))
        return
    mine = _cases("strided", args.threads, args.repeats)
    try:
        res = subprocess.run([sys.executable, __file__, "--peer", "torch", "--threads",
                              str(args.threads), "--repeats", str(args.repeats)],
                             capture_output=True, text=True, check=True)
        peer = json.loads(res.stdout)
    except (subprocess.CalledProcessError, json.JSONDecodeError):
        peer = {}
    print(f"cross_entropy float32, {args.threads} thread(s), median ms "
          f"(ratio torch/strided: > 1 means strided is faster)")
    print(f"{'shape':>10} {'pass':>8} {'strided':>9} {'torch':>9} {'ratio':>6}")
    rows = []
    for shape, row in mine.items():
        for k, v in row.items():
            p = peer.get(shape, {}).get(k)
            pt = f"{p:9.3f}" if p is not None else f"{'-':>9}"
            r = f"{p / v:6.2f}" if p is not None else f"{'-':>6}"
            print(f"{shape:>10} {k:>8} {v:9.3f} {pt} {r}")
            rows.append({"shape": shape, "mode": k, "threads": args.threads, "strided_ms": v,
                         "torch_ms": p, "torch_over_strided": p / v if p is not None else None})
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
