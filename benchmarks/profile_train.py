"""Where a training step's time goes: the digits CNN of examples/train_digits.py, strided vs
PyTorch (CPU), one step split into phases, layers and backward nodes.

    python benchmarks/profile_train.py                 # 1 thread, 300 steps, batch 32
    python benchmarks/profile_train.py --threads 2 --steps 500
    python benchmarks/profile_train.py --batch-size 1  # fixed per-call costs (compute ~ 0)

Each library runs in its own subprocess (as in bench_train.py, whose model, weights and
data it reuses) and times, per step, with perf_counter around each call:
  phases    from_numpy of the batch, forward, loss, zero_grad, backward, optimizer.step, item
  layers    each module of the Sequential's forward, and the loss
  nodes     (strided only) each backward Node's apply() -- wrapped by this script, keyed by
            the Node's name and output shape -- and the engine's own time (backward() minus
            the nodes)
Medians over the steps after the first 10%, in microseconds.  The machine may be shared:
compare columns measured in one run.
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHASES = ("from_numpy", "forward", "loss", "zero_grad", "backward", "step", "item")


def instrument_nodes(loss, times):
    """Wrap apply() of every Node class in loss's graph to record its time in times."""
    from strided.autograd.graph import AccumulateGrad
    stack, seen, classes = [loss.grad_fn], set(), set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if not isinstance(node, AccumulateGrad):
            classes.add(type(node))
        stack += [edge[0] for edge in node.next_functions if edge is not None]
    for cls in classes:
        if getattr(cls.apply, "_profiled", False):
            continue
        def apply(self, grads, _orig=cls.apply):
            t0 = time.perf_counter()
            result = _orig(self, grads)
            shape = tuple(self._outputs_meta[0][0]) if self._outputs_meta else ()
            times[f"{self.name()} {shape}"].append(time.perf_counter() - t0)
            return result
        apply._profiled = True
        cls.apply = apply
    orig = AccumulateGrad.accumulate
    if not getattr(orig, "_profiled", False):
        def accumulate(self, grad, _orig=orig):
            t0 = time.perf_counter()
            _orig(self, grad)
            times["AccumulateGrad (each)"].append(time.perf_counter() - t0)
        accumulate._profiled = True
        AccumulateGrad.accumulate = accumulate


def worker(lib_name, args):
    sys.path[:0] = ([ROOT] if lib_name == "strided" else []) + [os.path.join(ROOT, "benchmarks")]
    import numpy as np
    import bench_train
    lib = bench_train.Lib(lib_name, args.threads)
    trainer = bench_train.Trainer(lib, "digits_cnn", False, 0)
    model, loss_fn, optimizer = trainer.model, trainer.loss_fn, trainer.optimizer
    rng = np.random.default_rng(0)
    phases, layers, nodes = (collections.defaultdict(list) for _ in range(3))
    for step in range(args.steps):
        idx = rng.permutation(trainer.n)[:args.batch_size]
        t = [time.perf_counter()]
        x, y = lib.from_numpy(trainer.x[idx]), lib.from_numpy(trainer.y[idx])
        t.append(time.perf_counter())
        h = x
        for i, module in enumerate(model):
            t0 = time.perf_counter()
            h = module(h)
            layers[f"{i} {type(module).__name__}"].append(time.perf_counter() - t0)
        t.append(time.perf_counter())
        loss = loss_fn(h, y)
        t.append(time.perf_counter())
        layers["loss"].append(t[-1] - t[-2])
        if lib_name == "strided" and step == 0:
            instrument_nodes(loss, nodes)
        optimizer.zero_grad()
        t.append(time.perf_counter())
        loss.backward()
        t.append(time.perf_counter())
        optimizer.step()
        t.append(time.perf_counter())
        loss.item()
        t.append(time.perf_counter())
        for name, a, b in zip(PHASES, t, t[1:]):
            phases[name].append(b - a)

    skip = args.steps // 10

    def med(values):
        return statistics.median(values[skip:] if len(values) > skip else values) * 1e6
    result = {"phases": {k: med(v) for k, v in phases.items()},
              "layers": {k: med(v) for k, v in layers.items()},
              "nodes": {k: med(v) for k, v in nodes.items()}, "info": lib.info}
    result["phases"]["total"] = sum(result["phases"].values())
    if nodes:
        per_step = sum(med(v) * (6 if k.startswith("AccumulateGrad") else 1)
                       for k, v in nodes.items())
        result["nodes"]["engine (backward - nodes)"] = result["phases"]["backward"] - per_step
    json.dump(result, sys.stdout)


def run_worker(lib, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--threads",
           str(args.threads), "--steps", str(args.steps), "--batch-size", str(args.batch_size)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        if lib == "strided":
            raise RuntimeError(proc.stderr)
        print(f"torch column skipped: {(proc.stderr.strip().splitlines() or ['?'])[-1]}",
              file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def fmt(x):
    return f"{x:10.1f}" if x is not None else f"{'-':>10}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--worker", choices=("strided", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.worker, args)
    ours, theirs = run_worker("strided", args), run_worker("torch", args)
    print(f"digits CNN training step, batch {args.batch_size}, {args.threads} thread(s), "
          f"median of {args.steps} steps, microseconds")
    for section in ("phases", "layers"):
        print(f"\n{section:<46} {'strided':>10} {'torch':>10}")
        for key, value in ours[section].items():
            print(f"  {key:<44} {fmt(value)} {fmt(theirs[section].get(key) if theirs else None)}")
    print(f"\n{'strided backward nodes (apply)':<46} {'strided':>10}")
    for key, value in ours["nodes"].items():
        print(f"  {key:<44} {fmt(value)}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"strided": ours, "torch": theirs, "args": vars(args)}, f, indent=2)


if __name__ == "__main__":
    main()
