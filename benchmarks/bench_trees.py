"""Two builds of strided, side by side: the same element-wise ops and losses timed in two
built source trees, in alternating processes, on one thread.

    python benchmarks/bench_trees.py /path/to/tree_a /path/to/tree_b [--rounds 4]

For changes that only a build can show: compiler flags (setup.py's MODULE_FLAGS), kernel
code, an ISA copy.  `--cases kernels` times element-wise ops and losses on big tensors;
`--cases views` the per-call cost of view, indexing and metadata calls and of a few ops on
small tensors (the Python-facing glue of core/tensor.pyx and ops/); the default, both.  `--callgrind N` counts instead
of timing: each tree runs the views cases N times under valgrind's callgrind, and the
instructions per round of all cases are printed (the same count on a busy machine as on an
idle one; a proxy for speed, not a time).  Build each tree in place first (`python setup.py build_ext --inplace`);
each round runs tree a then tree b (b then a on odd rounds) in fresh processes, so a
machine that is busy with other work slows both alike.  Each cell is the median over rounds
of a best-of-7 time; the last column is b / a (below 1: tree b is faster), and the
geometric mean of the ratios closes the table.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import timeit

from _peers import cpu_model


def _time(fn, number=5, repeat=7):
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def view_calls():
    """{name: call} of view, indexing and metadata calls on a small tensor."""
    import strided

    import strided.nn.functional as F

    t = strided.arange(24.0).view(2, 3, 4)
    idx = strided.tensor([0, 1, 0])
    gidx = strided.zeros(2, 3, 2, dtype=strided.int64)
    w = strided.ones(4, 4)
    mask = t > 5

    def setitem():
        t[0, 1] = 1.0

    return {"t[1:]": lambda: t[1:], "t[:, ::2]": lambda: t[:, ::2], "t[0]": lambda: t[0],
            "t[0, 1, 2] (item view)": lambda: t[0, 1, 2], "t[..., None]": lambda: t[..., None],
            "view": lambda: t.view(6, 4), "reshape": lambda: t.reshape(4, 6),
            "transpose": lambda: t.transpose(0, 2), "permute": lambda: t.permute(2, 0, 1),
            "expand": lambda: t[:, :1].expand(2, 5, 4), "narrow": lambda: t.narrow(2, 1, 2),
            "unsqueeze": lambda: t.unsqueeze(1), "flip": lambda: t.flip(0),
            "contiguous (already)": lambda: t.contiguous(), "size()": lambda: t.size(),
            "stride()": lambda: t.stride(), "shape": lambda: t.shape,
            "t[index tensor]": lambda: t[idx], "t[mask]": lambda: t[mask],
            "empty(3, 4)": lambda: strided.empty(3, 4), "clone": lambda: t.clone(),
            "t[0, 1] = 1.0": setitem,
            # the entry points of ops/ (argument checks and calls into the kernels)
            "cat": lambda: strided.cat([t, t], 1), "stack": lambda: strided.stack([t, t]),
            "gather": lambda: t.gather(2, gidx), "masked_fill": lambda: t.masked_fill(mask, 0.0),
            "matmul": lambda: t @ w, "einsum": lambda: strided.einsum("bij,jk->bik", t, w),
            "sort": lambda: t.sort(2), "max_pool2d": lambda: F.max_pool2d(t, 2)}


def views(res):
    """Per-call times of view, indexing and metadata calls on a small tensor."""
    for name, fn in view_calls().items():
        res[f"view {name} (per call)"] = _time(fn, number=2000)


def loop(n):
    """Run every view case n times (what --callgrind counts)."""
    calls = list(view_calls().values())
    for _ in range(n):
        for fn in calls:
            fn()


def callgrind(trees, n):
    """Instructions per round of the view cases in each tree: a run of n rounds minus a
    run of none, both under callgrind."""
    import re
    import tempfile
    counts = []
    for tree in trees:
        got = []
        for rounds in (0, n):
            with tempfile.TemporaryDirectory() as tmp:
                out = subprocess.run(
                    ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg",
                     sys.executable, os.path.abspath(__file__), "--loop", str(rounds)],
                    cwd=tree, env=dict(os.environ, PYTHONPATH=tree), capture_output=True,
                    text=True)
            m = re.search(r"Collected : (\d+)", out.stderr)
            if out.returncode or not m:
                sys.exit(f"{tree}: {out.stderr[-2000:]}")
            got.append(int(m.group(1)))
        counts.append((got[1] - got[0]) / n)
    print(f"CPU: {cpu_model()} (instruction counts do not depend on it much)")
    print(f"instructions per round of the view cases (callgrind, {n} rounds)")
    for tree, c in zip(trees, counts):
        print(f"  {tree}: {c:,.0f}")
    print(f"b / a: {counts[1] / counts[0]:.4f}")


def child(cases):
    """Time the cases in this process's strided; print {name: seconds} as JSON."""
    import numpy as np
    import strided
    import strided.nn.functional as F

    strided.set_num_threads(1)
    rng = np.random.default_rng(0)
    res = {}
    if cases in ("views", "all"):
        views(res)
    if cases == "views":
        print(json.dumps(res))
        return
    for dt in ("float32", "float64"):
        x = strided.from_numpy(rng.standard_normal((1000, 2000)).astype(dt))
        y = strided.from_numpy(rng.standard_normal((1000, 2000)).astype(dt))
        layouts = {"contiguous": (x, y), "transposed": (x.t(), y.t()),
                   "stepped": (x[:, ::2], y[:, ::2])}
        for layout, (a, b) in layouts.items():
            if dt == "float64" and layout != "contiguous":
                continue
            ops = {"add": lambda: a + b, "mul": lambda: a * b, "div": lambda: a / b,
                   "maximum": lambda: strided.maximum(a, b), "exp": lambda: a.exp(),
                   "log": lambda: a.abs().log(), "tanh": lambda: a.tanh(),
                   "sigmoid": lambda: a.sigmoid(), "relu": lambda: a.relu(),
                   "gelu": lambda: F.gelu(a), "sqrt": lambda: a.abs().sqrt(),
                   "clamp": lambda: a.clamp(-0.5, 0.5), "lt": lambda: a < b,
                   "where": lambda: strided.where(a > 0, a, b), "pow": lambda: a.pow(2.0)}
            for op, fn in ops.items():
                res[f"{dt} {layout} {op}"] = _time(fn)
    ia = strided.from_numpy(rng.integers(-1000, 1000, (1000, 2000)))
    ib = strided.from_numpy(rng.integers(1, 1000, (1000, 2000)))
    res["int64 add"] = _time(lambda: ia + ib)
    res["int64 floor_divide"] = _time(lambda: ia // ib)
    res["int64 bitwise_and"] = _time(lambda: ia & ib)
    small = strided.ones(10)
    res["10 elements add (per call)"] = _time(lambda: small + small, number=2000)
    for dt in ("float32", "float64"):
        logits = strided.from_numpy(rng.standard_normal((512, 1000)).astype(dt))
        logits.requires_grad_()
        target = strided.from_numpy(rng.integers(0, 1000, 512))

        def ce_backward():
            F.cross_entropy(logits, target).backward()

        x = strided.from_numpy(rng.standard_normal((1000, 1000)).astype(dt))
        y = strided.from_numpy(rng.standard_normal((1000, 1000)).astype(dt))
        res[f"{dt} cross_entropy fwd+bwd 512x1000"] = _time(ce_backward)
        res[f"{dt} cross_entropy fwd 512x1000"] = _time(
            lambda: F.cross_entropy(logits.detach(), target))
        res[f"{dt} mse_loss"] = _time(lambda: F.mse_loss(x, y))
        res[f"{dt} smooth_l1_loss"] = _time(lambda: F.smooth_l1_loss(x, y))
        res[f"{dt} log_softmax dim 1"] = _time(lambda: F.log_softmax(x, 1))
        p = y.sigmoid()
        res[f"{dt} bce_with_logits"] = _time(lambda: F.binary_cross_entropy_with_logits(x, p))
    print(json.dumps(res))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tree_a")
    p.add_argument("tree_b")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--cases", choices=["kernels", "views", "all"], default="all")
    p.add_argument("--callgrind", type=int, metavar="N",
                   help="count instructions of N rounds of the view cases instead of timing")
    args = p.parse_args()
    trees = [os.path.abspath(args.tree_a), os.path.abspath(args.tree_b)]
    if args.callgrind:
        callgrind(trees, args.callgrind)
        return
    times = [{}, {}]
    for r in range(args.rounds):
        for i in ((0, 1) if r % 2 == 0 else (1, 0)):
            env = dict(os.environ, PYTHONPATH=trees[i])
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", args.cases],
                                 cwd=trees[i], env=env, capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{trees[i]}: {out.stderr[-2000:]}")
            for name, t in json.loads(out.stdout).items():
                times[i].setdefault(name, []).append(t)
    print(f"CPU: {cpu_model()}; one thread; "
          f"{args.rounds} rounds; a = {trees[0]}, b = {trees[1]}")
    print(f"{'case':40s} {'a us':>10s} {'b us':>10s} {'b / a':>6s}")
    ratios = []
    for name in times[0]:
        a, b = statistics.median(times[0][name]), statistics.median(times[1][name])
        ratios.append(b / a)
        print(f"{name:40s} {a * 1e6:10.2f} {b * 1e6:10.2f} {b / a:6.2f}")
    print(f"geometric mean of b / a over {len(ratios)} cases: "
          f"{math.exp(sum(map(math.log, ratios)) / len(ratios)):.3f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    elif sys.argv[1:2] == ["--loop"]:
        loop(int(sys.argv[2]))
    else:
        main()
