"""DataLoader epochs with 0, 1 and 2 worker processes, strided vs PyTorch (CPU).

    python benchmarks/bench_dataloader.py                # strided, then torch in a subprocess
    python benchmarks/bench_dataloader.py --peer torch   # torch only (JSON)
    python benchmarks/bench_dataloader.py --quick --json out/dl.json   # CI smoke run

Two datasets: "decode" spends 0.5 ms of Python per sample (a stand-in for decoding and
augmenting an image; the GIL keeps it to one core unless workers load in parallel) and
returns a (3, 32, 32) float32 tensor and a label, batch 32; "tensor" is a TensorDataset of
(N, 784) float32 rows and int64 labels, batch 64, shuffled (the batch crosses processes
whole: the hand-over cost).  Workers are persistent; after a warm-up epoch the MEDIAN epoch
time over the repeats is reported in ms (a shared machine is noisy: medians and ratios
only).  torch runs in a subprocess so its OpenMP runtime does not share the process.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKERS = (0, 1, 2)


def _cases(lib, repeats, quick):
    import numpy as np
    if lib == "torch":
        import torch as L
        from torch.utils.data import DataLoader, Dataset, TensorDataset
        L.set_num_threads(1)
    else:
        sys.path.insert(0, ROOT)
        import strided as L
        from strided.utils.data import DataLoader, Dataset, TensorDataset
        L.set_num_threads(1)

    class Decode(Dataset):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < 0.0005:
                pass
            return L.full((3, 32, 32), float(i)), i

    rng = np.random.default_rng(0)
    n_rows = 4000 if quick else 20000
    x = L.tensor(rng.standard_normal((n_rows, 784)).astype(np.float32))
    y = L.tensor(rng.integers(0, 10, n_rows))
    datasets = {"decode": (Decode(64 if quick else 256), 32), "tensor": (TensorDataset(x, y), 64)}
    out = {}
    for name, (ds, bs) in datasets.items():
        for nw in WORKERS:
            kw = dict(num_workers=nw, persistent_workers=True) if nw else {}
            loader = DataLoader(ds, batch_size=bs, shuffle=True, **kw)

            def epoch():
                for _ in loader:
                    pass
            epoch()                                         # warm-up (starts the workers)
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                epoch()
                ts.append(time.perf_counter() - t0)
            out[f"{name} workers={nw}"] = statistics.median(ts) * 1e3
            del loader
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=["torch"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="1 repeat, smaller datasets")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    if args.quick:
        args.repeats = 1
    if args.peer:
        print(json.dumps(_cases("torch", args.repeats, args.quick)))
        return
    mine = _cases("strided", args.repeats, args.quick)
    cmd = [sys.executable, __file__, "--peer", "torch", "--repeats", str(args.repeats)]
    try:
        res = subprocess.run(cmd + (["--quick"] if args.quick else []), capture_output=True,
                             text=True, check=True)
        peer = json.loads(res.stdout)
    except (subprocess.CalledProcessError, json.JSONDecodeError):
        peer = {}
    print("DataLoader epoch, median ms (ratio torch/strided: > 1 means strided is faster)")
    print(f"{'case':>18} {'strided':>9} {'torch':>9} {'ratio':>6}")
    rows = []
    for case, v in mine.items():
        p = peer.get(case)
        pt = f"{p:9.1f}" if p is not None else f"{'-':>9}"
        r = f"{p / v:6.2f}" if p is not None else f"{'-':>6}"
        print(f"{case:>18} {v:9.1f} {pt} {r}")
        rows.append({"case": case, "strided_ms": v, "torch_ms": p,
                     "torch_over_strided": p / v if p is not None else None})
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
