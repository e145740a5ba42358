"""Time every convolution path the geometry can use and compare with the automatic choice.

    python benchmarks/tune_conv.py                  # the full grid, 1 and 2 threads
    python benchmarks/tune_conv.py --quick          # a tiny grid, one repeat (smoke run)
    python benchmarks/tune_conv.py --only resnet --threads 2 --repeat 9
    python benchmarks/tune_conv.py --json out/tune.json

For each layer shape of the grid (ResNet-18's 3x3 and 1x1 layers, the LeNet and digits
CNN convolutions, 1-channel inputs, strided and dilated ones) and each thread count, every
path _usable_paths lists is forced in turn (conv._force_path; NOTE [ Choosing a convolution
path ] in strided/_C/kernels/conv_paths/select.pxi) and timed -- the forward, the input
gradient alone and the weight gradient alone -- call by call after a warm-up, reporting the
MEDIAN in ms.  The table marks the fastest path of each pass and what _select_forward /
_select_backward pick, with the pick's time over the fastest's.  Then, for the thresholds
the choice turns on (NOTE [ Convolution thresholds ] in conv_paths/thresholds.pxi), the
boundary this grid's winners suggest next to the value in use.  The suggestions are only
as good as the grid and the machine: run it on an idle machine, with --repeat high enough
that the medians settle, before changing a threshold (conv._set_thresholds tries a value).
Float32 throughout, on the kernel table in use (STRIDED_ISA caps it).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, (N, C, H, W), K, kernel, stride, padding, dilation, groups)
GRID = [
    # ResNet-18 (ImageNet sizes at batch 8): the stem, each stage's 3x3, its downsampling
    # 3x3 stride 2 and 1x1 stride 2 shortcut
    ("resnet stem 7x7/s2 3->64", (8, 3, 224, 224), 64, 7, 2, 3, 1, 1),
    ("resnet 3x3 64->64 56", (8, 64, 56, 56), 64, 3, 1, 1, 1, 1),
    ("resnet 3x3/s2 64->128", (8, 64, 56, 56), 128, 3, 2, 1, 1, 1),
    ("resnet 1x1/s2 64->128", (8, 64, 56, 56), 128, 1, 2, 0, 1, 1),
    ("resnet 3x3 128->128 28", (8, 128, 28, 28), 128, 3, 1, 1, 1, 1),
    ("resnet 3x3/s2 128->256", (8, 128, 28, 28), 256, 3, 2, 1, 1, 1),
    ("resnet 3x3 256->256 14", (8, 256, 14, 14), 256, 3, 1, 1, 1, 1),
    ("resnet 3x3/s2 256->512", (8, 256, 14, 14), 512, 3, 2, 1, 1, 1),
    ("resnet 3x3 512->512 7", (8, 512, 7, 7), 512, 3, 1, 1, 1, 1),
    # CIFAR-sized ResNet stages (small outputs)
    ("resnet 3x3 256->256 8", (32, 256, 8, 8), 256, 3, 1, 1, 1, 1),
    ("resnet 3x3 512->512 4", (32, 512, 4, 4), 512, 3, 1, 1, 1, 1),
    ("resnet 3x3 64->64 32", (32, 64, 32, 32), 64, 3, 1, 1, 1, 1),
    ("3x3 32->32 16", (32, 32, 16, 16), 32, 3, 1, 1, 1, 1),
    ("3x3 128->128 4", (8, 128, 4, 4), 128, 3, 1, 1, 1, 1),
    # small CNNs
    ("LeNet conv1 5x5 1->6", (64, 1, 28, 28), 6, 5, 1, 0, 1, 1),
    ("LeNet conv2 5x5 6->16", (64, 6, 14, 14), 16, 5, 1, 0, 1, 1),
    ("digits conv1 3x3 1->16", (64, 1, 8, 8), 16, 3, 1, 1, 1, 1),
    ("digits conv2 3x3 16->32", (64, 16, 4, 4), 32, 3, 1, 1, 1, 1),
    # 1-channel, strided, dilated, grouped
    ("1-channel 3x3 1->32 64", (16, 1, 64, 64), 32, 3, 1, 1, 1, 1),
    ("3x3/s2 3->64 32", (32, 3, 32, 32), 64, 3, 2, 1, 1, 1),
    ("5x5 16->32 28", (32, 16, 28, 28), 32, 5, 1, 2, 1, 1),
    ("dilated 3x3 d2 64->64 28", (8, 64, 28, 28), 64, 3, 1, 2, 2, 1),
    ("dilated 3x3 d4 32->32 32", (8, 32, 32, 32), 32, 3, 1, 4, 4, 1),
    ("depthwise 3x3 128 28", (8, 128, 28, 28), 128, 3, 1, 1, 1, 128),
]

QUICK = [
    ("quick 3x3 16->32 8", (4, 16, 8, 8), 32, 3, 1, 1, 1, 1),
    ("quick 3x3/s2 8->16 12", (2, 8, 12, 12), 16, 3, 2, 1, 1, 1),
    ("quick 5x5 1->6 16", (8, 1, 16, 16), 6, 5, 1, 0, 1, 1),
]

PASSES = ("forward", "input_grad", "weight_grad")
MASKS = {"input_grad": (True, False, False), "weight_grad": (False, True, False)}


def median_ms(fn, repeat):
    fn()                                             # warm-up (and first-touch of buffers)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def measure(case, threads, repeat):
    """{"forward"|"input_grad"|"weight_grad": {"paths": {path: ms}, "auto": path}}."""
    import numpy as np
    import strided
    import strided.nn.functional as F
    from strided._C.kernels import conv as K
    name, (N, C, H, W), Kout, k, s, p, d, g = case
    rng = np.random.default_rng(0)
    x = strided.from_numpy(rng.standard_normal((N, C, H, W), dtype=np.float32))
    w = strided.from_numpy(rng.standard_normal((Kout, C // g, k, k), dtype=np.float32))
    OH = (H + 2 * p - d * (k - 1) - 1) // s + 1
    OW = (W + 2 * p - d * (k - 1) - 1) // s + 1
    go = strided.from_numpy(rng.standard_normal((N, Kout, OH, OW), dtype=np.float32))
    geo = ((s, s), (p, p), (d, d), g)
    strided.set_num_threads(threads)
    usable = K._usable_paths(x, w, *geo)
    out = {}
    for which in PASSES:
        if which == "forward":
            def run():          # the kernel itself: F.conv2d lowers a 1x1 strided layer
                K.conv2d_forward(x, w, None, s, s, p, p, d, d, g)  # to a pointwise one
            auto = K._select_forward(x, w, *geo)
        else:
            def run(mask=MASKS[which]):
                F.conv2d_backward(go, x, w, s, p, d, g, mask)
            auto = K._select_backward(x, w, *geo, MASKS[which])[which == "weight_grad"]
        times = {}
        for path in usable[which]:
            with K._force_path(**{which: path}):
                times[path] = median_ms(run, repeat)
        out[which] = {"paths": times, "auto": auto}
    return out


def features(case):
    name, (N, C, H, W), Kout, k, s, p, d, g = case
    OH = (H + 2 * p - d * (k - 1) - 1) // s + 1
    OW = (W + 2 * p - d * (k - 1) - 1) // s + 1
    return {"N": N, "Cg": C // g, "Kg": Kout // g, "stride": s, "positions": OH * OW,
            "layer": C * k * k * Kout, "groups": g,
            "winograd": k == 3 and s == 1 and d == 1 and g == 1,
            "tiles": N * ((OH + 1) // 2) * ((OW + 1) // 2)}


# (threshold, pass, path, feature, the shapes it applies to, "max": the path wins up to
# the threshold / "min": from it)
RULES = [
    ("batched_small_layer", "forward", "batched", "layer",
     lambda f: f["groups"] == 1 and f["N"] >= 8 and f["positions"] > 32, "max"),
    ("taps_strided_min_kg", "forward", "taps", "Kg", lambda f: f["stride"] > 1, "min"),
    ("taps_stride1_min_kg", "forward", "taps", "Kg", lambda f: f["stride"] == 1, "min"),
    ("weight_block_depth", "weight_grad", "blocks", "positions",
     lambda f: f["groups"] == 1, "max"),
    ("batched_w_max_layer", "weight_grad", "batched", "layer",
     lambda f: f["groups"] == 1 and f["N"] >= 8, "max"),
    ("input_grad_offset_min_cg", "input_grad", "offset", "Cg", lambda f: f["stride"] == 1,
     "min"),
    ("winograd_min_c", "forward", "winograd", "Cg", lambda f: f["winograd"], "min"),
    ("winograd_min_c", "input_grad", "winograd", "Cg", lambda f: f["winograd"], "min"),
    ("winograd_min_c", "weight_grad", "winograd", "Cg", lambda f: f["winograd"], "min"),
    ("winograd_min_tiles", "forward", "winograd", "tiles",
     lambda f: f["winograd"] and f["Cg"] >= 64, "min"),
]


def suggest(results, table):
    """Lines: per rule, the feature values where the path was fastest and where it was
    not, and the boundary they suggest next to the value in use."""
    lines = []
    for name, which, path, feat, applies, kind in RULES:
        won, lost = [], []
        for case, per_threads in results:
            f = features(case)
            if not applies(f):
                continue
            for res in per_threads.values():
                times = res[which]["paths"]
                if path not in times or len(times) < 2:
                    continue
                (won if min(times, key=times.get) == path else lost).append(f[feat])
        if not won and not lost:
            lines.append(f"  {name:26} {table[name]:>9}  (no shape of this grid decides it)")
            continue
        if kind == "max":
            edge = max(won) if won else None
            above = min((v for v in lost if edge is None or v > edge), default=None)
            hint = (f"fastest up to {feat} {edge}" if edge is not None else "never fastest") + \
                   (f", slower from {above}" if above is not None else "")
        else:
            edge = min(won) if won else None
            below = max((v for v in lost if edge is None or v < edge), default=None)
            hint = (f"fastest from {feat} {edge}" if edge is not None else "never fastest") + \
                   (f", slower at {below}" if below is not None else "")
        lines.append(f"  {name:26} {table[name]:>9}  {path} {which}: {hint}")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a tiny grid, one repeat")
    ap.add_argument("--repeat", type=int, help="timed calls per path (default 5, quick 1)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--only", nargs="+", help="(parts of) shape names, e.g. --only LeNet")
    ap.add_argument("--json", metavar="PATH", help="also write the timings as JSON")
    args = ap.parse_args()
    repeat = args.repeat or (1 if args.quick else 5)
    sys.path.insert(0, ROOT)
    import strided
    from strided._C.kernels import conv as K
    from strided._C.kernels import gemm

    grid = QUICK if args.quick else GRID
    if args.only:
        grid = [c for c in grid if any(o in c[0] for o in args.only)]
    old_threads = strided.get_num_threads()
    print(f"# {platform.processor() or platform.machine()}, kernel table {gemm._kernel_name()}, "
          f"float32, median of {repeat} calls, ms; * fastest, > the automatic choice "
          f"(its time / the fastest's)")
    results = []
    try:
        for case in grid:
            per_threads = {}
            for threads in args.threads:
                res = measure(case, threads, repeat)
                per_threads[threads] = res
                for which in PASSES:
                    times, auto = res[which]["paths"], res[which]["auto"]
                    best = min(times, key=times.get)
                    cells = "  ".join(f"{'*' if p == best else ' '}{'>' if p == auto else ' '}"
                                      f"{p} {t:.3f}" for p, t in times.items())
                    ratio = times[auto] / times[best] if auto in times else float("nan")
                    print(f"{case[0]:28} t={threads} {which:11} {cells}   "
                          f"auto {auto} {ratio:.2f}x")
            results.append((case, per_threads))
    finally:
        strided.set_num_threads(old_threads)
    print("\n# thresholds: name, value in use, what this grid's fastest paths suggest")
    for line in suggest(results, K._thresholds()):
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"repeat": repeat, "table": gemm._kernel_name(),
                       "results": [{"case": c[0], "threads": {str(t): r for t, r in pt.items()}}
                                   for c, pt in results]}, f, indent=1)


if __name__ == "__main__":
    main()
