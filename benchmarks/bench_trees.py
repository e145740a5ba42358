"""Two builds of strided, side by side: the same element-wise ops and losses timed in two
built source trees, in alternating processes, on one thread.

    python benchmarks/bench_trees.py /path/to/tree_a /path/to/tree_b [--rounds 4]

For changes that only a build can show: compiler flags (setup.py's MODULE_FLAGS), kernel
code, an ISA copy.  Build each tree in place first (`python setup.py build_ext --inplace`);
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


def child():
    """Time every case in this process's strided; print {name: seconds} as JSON."""
    import numpy as np
    import strided
    import strided.nn.functional as F

    strided.set_num_threads(1)
    rng = np.random.default_rng(0)
    res = {}
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
    args = p.parse_args()
    trees = [os.path.abspath(args.tree_a), os.path.abspath(args.tree_b)]
    times = [{}, {}]
    for r in range(args.rounds):
        for i in ((0, 1) if r % 2 == 0 else (1, 0)):
            env = dict(os.environ, PYTHONPATH=trees[i])
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"],
                                 cwd=trees[i], env=env, capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{trees[i]}: {out.stderr[-2000:]}")
            for name, t in json.loads(out.stdout).items():
                times[i].setdefault(name, []).append(t)
    print(f"CPU: {cpu_model()}; one thread; "
          f"{args.rounds} rounds; a = {trees[0]}, b = {trees[1]}")
    print(f"{'case':40s} {'a ms':>9s} {'b ms':>9s} {'b / a':>6s}")
    ratios = []
    for name in times[0]:
        a, b = statistics.median(times[0][name]), statistics.median(times[1][name])
        ratios.append(b / a)
        print(f"{name:40s} {a * 1e3:9.3f} {b * 1e3:9.3f} {b / a:6.2f}")
    print(f"geometric mean of b / a over {len(ratios)} cases: "
          f"{math.exp(sum(map(math.log, ratios)) / len(ratios)):.3f}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        child()
    else:
        main()
