"""Concurrent training: threads that each train their own model, beside threads that flip
grad mode, build layers and run autograd.Functions, must train exactly as alone.

Each of --threads trainers owns a small CNN or MLP (built up front from fixed seeds) and
runs --steps SGD steps on fixed data; the reference is the same model trained alone in the
main thread.  Meanwhile "disturbers" run no_grad / set_grad_enabled(False) loops, build
nn.Linear / nn.Conv2d layers (nn.init runs under no_grad) and call an autograd.Function
that uses no_grad inside.  Counted: backward passes, failures (any exception in a trainer),
trainers whose final weights differ from the reference, and whether grad mode was still on
in the main thread afterwards.

    python benchmarks/fuzz_threads.py --threads 4 --steps 2500
"""
import argparse
import json
import threading
import time

import numpy as np

import strided
import strided.nn as nn
import strided.nn.functional as F


def build(kind, seed):
    strided.manual_seed(seed)
    if kind == "cnn":
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    return nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))


def data(kind, seed):
    rs = np.random.RandomState(seed)
    x = rs.standard_normal((16, 1, 8, 8) if kind == "cnn" else (16, 64)).astype(np.float32)
    y = rs.randint(0, 10, 16).astype(np.int64)
    return strided.tensor(x), strided.tensor(y)


def train(model, x, y, steps, counter=None):
    opt = strided.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if counter is not None:
            counter.append(1)
    return [p.detach().numpy().copy() for p in model.parameters()]


class Scale(strided.autograd.Function):
    """y = 2x, with a no_grad region inside forward (as user Functions often have)."""

    @staticmethod
    def forward(ctx, x):
        with strided.no_grad():
            y = x * 2
        return y

    @staticmethod
    def backward(ctx, g):
        return g * 2


def disturb(kind, stop, errors):
    """Loop until `stop`: flip grad mode, build layers, run a Function."""
    try:
        while not stop.is_set():
            if kind == "no_grad":
                with strided.no_grad():
                    strided.randn(8, 8) @ strided.randn(8, 8)
                strided.set_grad_enabled(False)
                time.sleep(0)
                strided.set_grad_enabled(True)
            elif kind == "build":
                nn.Linear(32, 32)
                nn.Conv2d(3, 8, 3)
            else:
                x = strided.randn(5, requires_grad=True)
                Scale.apply(x).sum().backward()
                if not np.allclose(x.grad.numpy(), 2.0):
                    raise AssertionError("Function gradient wrong")
    except Exception as e:                                   # noqa: BLE001 (reported)
        errors.append(f"{kind}: {type(e).__name__}: {e}")


def run(threads, steps, seed=0):
    kinds = ["cnn" if i % 2 else "mlp" for i in range(threads)]
    inputs = [data(k, seed + i) for i, k in enumerate(kinds)]
    reference = [train(build(k, seed + i), *inputs[i], steps) for i, k in enumerate(kinds)]
    models = [build(k, seed + i) for i, k in enumerate(kinds)]
    results, errors, done = [None] * threads, [], []

    def trainer(i):
        try:
            results[i] = train(models[i], *inputs[i], steps, done)
        except Exception as e:                               # noqa: BLE001 (reported)
            errors.append(f"trainer {i}: {type(e).__name__}: {e}")

    stop = threading.Event()
    helpers = [threading.Thread(target=disturb, args=(k, stop, errors))
               for k in ("no_grad", "build", "function")]
    workers = [threading.Thread(target=trainer, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for t in helpers + workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    for t in helpers:
        t.join()
    elapsed = time.perf_counter() - start
    differ = 0
    max_diff = 0.0
    for got, want in zip(results, reference):
        if got is None:
            differ += 1
            continue
        d = max(float(np.max(np.abs(a - b))) for a, b in zip(got, want))
        max_diff = max(max_diff, d)
        differ += d > 0
    return {"threads": threads, "steps": steps, "backward_passes": len(done),
            "failures": len(errors), "errors": errors[:5], "models_differing": differ,
            "max_abs_diff": max_diff, "grad_mode_after": strided.is_grad_enabled(),
            "seconds": elapsed}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--steps", type=int, default=2500, help="steps per trainer")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the report here")
    a = p.parse_args()
    r = run(a.threads, a.steps, a.seed)
    print(f"fuzz_threads: {a.threads} trainers x {a.steps} steps = {r['backward_passes']} "
          f"concurrent backward passes in {r['seconds']:.1f} s; failures {r['failures']}, "
          f"models differing from training alone {r['models_differing']} (max |diff| "
          f"{r['max_abs_diff']:.3g}), grad mode on afterwards: {r['grad_mode_after']}")
    for e in r["errors"]:
        print("  " + e)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
