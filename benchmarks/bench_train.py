"""Training speed: strided vs PyTorch (CPU) on the same networks, weights, data and batches.

    python benchmarks/bench_train.py                 # 2 threads, every workload
    python benchmarks/bench_train.py --threads 1
    python benchmarks/bench_train.py --quick         # CI smoke run (tiny: 1 epoch, 2 steps)
    python benchmarks/bench_train.py --only mlp --json out/train.json

Workloads (SGD lr 0.05, momentum 0.9, weight decay 1e-4, as examples/train_digits.py):
  digits CNN   examples/train_digits.py's make_model(nn, "cnn") on scikit-learn's digits
               (1,437 train images, batch 32): a warm-up epoch, then --epochs timed epochs;
               seconds per epoch and the per-epoch mean train loss of both libraries
  MLP          784 -> 256 -> ReLU -> 10, batch 64, 6,400 synthetic images (100 steps per
               epoch; labels from a random linear teacher, so the loss falls): as above
  ResNet-18    examples/resnet_blocks.py's CIFAR-style ResNet-18, one training step on a
               random 32x32 batch of 32: a warm-up step, then --steps timed steps

Both networks come from the same make_model(nn, ...) / resnet18(nn) (written against the
torch.nn API), so their parameter names match; the initial weights are drawn with NumPy from
--seed and copied into both by name (numpy_weights), and every epoch's batch order is a
NumPy permutation seeded by (seed, epoch), so the two libraries compute the same thing and
their loss curves should overlap up to float32 rounding.  Each batch is sliced in NumPy and
wrapped with from_numpy in the timed loop, the same for both.

Each library runs in its own worker subprocess (`--worker LIB`) with the thread count under
test (strided.set_num_threads / torch.set_num_threads, OMP_NUM_THREADS): torch's bundled
OpenMP runtime and strided's would disturb each other in one process.  The workers stay up
and take turns epoch by epoch (strided, torch, torch, strided, ...), so a burst of load on a
shared machine hits both columns alike.  Times are the MEDIAN over the timed epochs/steps;
ratio = strided time / torch time (below 1: strided is faster).  Goals (issue 8): ResNet-18
step and MLP <= 1.0, digits CNN <= 1.25.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
import zlib

import numpy as np

from _peers import Worker, example_functions, fmt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
LIBS = ("strided", "torch")
WORKLOADS = ("digits_cnn", "mlp", "resnet18")
LABELS = {"digits_cnn": "digits CNN epoch", "mlp": "MLP 784-256-10 epoch",
          "resnet18": "ResNet-18 step"}
GOALS = {"digits_cnn": 1.25, "mlp": 1.0, "resnet18": 1.0}
SGD = dict(lr=0.05, momentum=0.9, weight_decay=1e-4)


# --------------------------------------------------------------------------------------
# Same weights, same data (NumPy only: used by both workers)
# --------------------------------------------------------------------------------------

def numpy_weights(shapes, seed):
    """{name: float32 array} for {parameter name: shape}, from NumPy alone.

    Weights of conv / linear layers (ndim >= 2) and their biases are uniform in
    +-1/sqrt(fan_in) (the bound of torch's default init); 1-D weights without a matching
    >= 2-D weight (BatchNorm's) are ones, their biases zeros.  Each array has its own
    generator seeded by (seed, crc32(name)), so it doesn't depend on the order of names."""
    out = {}
    for name, shape in shapes.items():
        prefix = name.rpartition(".")[0]
        weight = shapes.get(f"{prefix}.weight" if prefix else "weight", shape)
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        if len(weight) >= 2:
            bound = 1.0 / float(np.prod(weight[1:])) ** 0.5
            out[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
        elif name.endswith("weight"):
            out[name] = np.ones(shape, np.float32)
        else:
            out[name] = np.zeros(shape, np.float32)
    return out


def digits_data():
    """scikit-learn's digits, the train split of examples/train_digits.py, standardized."""
    fns = example_functions("train_digits.py", "load_digits_split", "standardize")
    load_digits_split, standardize = fns["load_digits_split"], fns["standardize"]
    (train_x, train_y), (test_x, _) = load_digits_split(0)
    train_x, _, _ = standardize(train_x, test_x)
    return train_x, train_y


def mlp_data(n, seed):
    """n synthetic 784-dim float32 images with labels from a random linear teacher."""
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((n, 784), dtype=np.float32)
    teacher = rng.standard_normal((784, 10), dtype=np.float32)
    return x, (x @ teacher).argmax(1).astype(np.int64)


def make_mlp(nn):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def workload_config(name, quick):
    """(model builder taking nn, data builder, batch size, what a round is: "epoch" over
    the data or one "step" on a fixed batch)."""
    if name == "digits_cnn":
        make_model = example_functions("train_digits.py", "make_model")["make_model"]
        return (lambda nn: make_model(nn, "cnn", image_size=8)), digits_data, 32, "epoch"
    if name == "mlp":
        n = 640 if quick else 6400
        return make_mlp, (lambda: mlp_data(n, 0)), 64, "epoch"
    if name == "resnet18":
        from resnet_blocks import resnet18        # imports strided only in its main()
        batch = 2 if quick else 32

        def data():
            rng = np.random.default_rng(2)
            return (rng.standard_normal((batch, 3, 32, 32), dtype=np.float32),
                    rng.integers(0, 10, batch))
        return resnet18, data, batch, "step"
    raise ValueError(name)


# --------------------------------------------------------------------------------------
# Worker: one library in its own process
# --------------------------------------------------------------------------------------

class Lib:
    """The few library calls the training loop needs, for strided or torch."""

    def __init__(self, name, threads):
        self.name = name
        if name == "strided":
            import strided
            import strided.nn
            import strided.optim
            strided.set_num_threads(threads)
            self.mod, self.nn, self.optim = strided, strided.nn, strided.optim
            self.info = {"version": strided.__version__, "threads": strided.get_num_threads(),
                         "openmp": strided._C.core.threads.has_openmp()}
        else:
            import torch
            torch.set_num_threads(threads)
            self.mod, self.nn, self.optim = torch, torch.nn, torch.optim
            self.info = {"version": torch.__version__, "threads": torch.get_num_threads()}

    def from_numpy(self, a):
        return self.mod.from_numpy(a)

    def load_weights(self, model, seed):
        params = dict(model.named_parameters())
        weights = numpy_weights({k: tuple(p.shape) for k, p in params.items()}, seed)
        with self.mod.no_grad():
            for name, p in params.items():
                p.copy_(self.from_numpy(weights[name]))


class Trainer:
    def __init__(self, lib, workload, quick, seed):
        build, data, self.batch, self.unit = workload_config(workload, quick)
        self.lib, self.seed = lib, seed
        self.model = build(lib.nn)
        lib.load_weights(self.model, seed)
        self.model.train()
        self.loss_fn = lib.nn.CrossEntropyLoss()
        self.optimizer = lib.optim.SGD(self.model.parameters(), **SGD)
        self.x, self.y = data()
        self.n = len(self.y)
        if self.unit == "step":                   # one fixed batch, wrapped once
            self.xb, self.yb = lib.from_numpy(self.x), lib.from_numpy(self.y)

    def step(self, x, y):
        loss = self.loss_fn(self.model(x), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def round(self, index):
        """One epoch (or step); (seconds, mean loss)."""
        t0 = time.perf_counter()
        if self.unit == "step":
            loss = self.step(self.xb, self.yb)
            return time.perf_counter() - t0, loss
        order = np.random.default_rng([self.seed, index]).permutation(self.n)
        total = 0.0
        for start in range(0, self.n, self.batch):
            idx = order[start:start + self.batch]
            total += self.step(self.lib.from_numpy(self.x[idx]),
                               self.lib.from_numpy(self.y[idx])) * len(idx)
        return time.perf_counter() - t0, total / self.n


def worker(lib_name, threads):
    """Serve the parent: JSON commands on stdin, one JSON reply per line on stdout.
    {"op": "prepare", "workload": w, "quick": q, "seed": s} builds the model and data;
    {"op": "round", "index": i} runs epoch/step i and replies seconds and mean loss."""
    sys.path[:0] = [ROOT, EXAMPLES] if lib_name == "strided" else [EXAMPLES]
    lib = Lib(lib_name, threads)
    print(json.dumps({"info": lib.info}), flush=True)
    trainer = None
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "prepare":
            trainer = None
            trainer = Trainer(lib, cmd["workload"], cmd["quick"], cmd["seed"])
            reply = {"n": trainer.n, "batch": trainer.batch, "unit": trainer.unit}
            if lib_name == "torch" and "strided" in sys.modules:
                raise AssertionError("the torch worker imported strided")
        elif cmd["op"] == "round":
            seconds, loss = trainer.round(cmd["index"])
            reply = {"seconds": seconds, "loss": loss}
        else:
            break
        print(json.dumps(reply), flush=True)


def start_worker(lib, threads):
    """A Worker running this script's worker(lib, threads), with the thread variables of
    the OpenMP/BLAS runtimes set to match."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS="1" if lib == "strided" else str(threads),
               MKL_NUM_THREADS=str(threads))
    return Worker(__file__, lib, threads, env)


# --------------------------------------------------------------------------------------
# Parent: take turns, tabulate
# --------------------------------------------------------------------------------------

def run_workload(workers, workload, args):
    """{lib: {"seconds": [...timed], "loss": [...all rounds], "warmup": s}} for one workload."""
    for w in workers.values():
        w.ask(op="prepare", workload=workload, quick=args.quick, seed=args.seed)
    epochs = workload != "resnet18"
    timed = (args.epochs if epochs else args.steps) if not args.quick else (1 if epochs else 2)
    result = {lib: {"seconds": [], "loss": []} for lib in workers}
    libs = list(workers)
    for index in range(1 + timed):                     # round 0 is the warm-up
        order = libs if index % 2 == 0 else libs[::-1]
        for lib in order:
            reply = workers[lib].ask(op="round", index=index)
            result[lib]["loss"].append(reply["loss"])
            if index == 0:
                result[lib]["warmup"] = reply["seconds"]
            else:
                result[lib]["seconds"].append(reply["seconds"])
            time.sleep(0.02)                           # let the other's idle threads settle
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[2],
                   help="thread counts to run (each with its own pair of workers)")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs after the warm-up")
    p.add_argument("--steps", type=int, default=5, help="timed ResNet-18 steps after warm-up")
    p.add_argument("--seed", type=int, default=0, help="weights and batch order")
    p.add_argument("--only", choices=WORKLOADS, nargs="+", help="run only these workloads")
    p.add_argument("--quick", action="store_true",
                   help="CI smoke run: 1 timed epoch, 2 ResNet steps at batch 2, MLP N=640")
    p.add_argument("--no-torch", action="store_true", help="strided only")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--worker", choices=LIBS, help=argparse.SUPPRESS)    # internal
    args = p.parse_args()
    if args.worker:
        return worker(args.worker, args.threads[0])
    if args.epochs < 1 or args.steps < 1:
        p.error("--epochs and --steps must be positive")

    workloads = args.only or WORKLOADS
    rows, curves, infos = [], [], {}
    for threads in args.threads:
        workers = {"strided": start_worker("strided", threads)}
        if not args.no_torch:
            try:
                workers["torch"] = start_worker("torch", threads)
            except RuntimeError as e:
                print(f"torch column skipped: {e}", file=sys.stderr)
        infos.update({lib: w.info for lib, w in workers.items()})
        try:
            for workload in workloads:
                res = run_workload(workers, workload, args)
                s = statistics.median(res["strided"]["seconds"])
                t = statistics.median(res["torch"]["seconds"]) if "torch" in res else None
                rows.append({"workload": workload, "threads": threads, "strided_s": s,
                             "torch_s": t, "ratio": s / t if t else None,
                             "goal": GOALS[workload], "timed": len(res["strided"]["seconds"]),
                             "strided_warmup_s": res["strided"]["warmup"],
                             "torch_warmup_s": res["torch"]["warmup"] if t else None})
                curves.append({"workload": workload, "threads": threads,
                               "strided_loss": res["strided"]["loss"],
                               "torch_loss": res["torch"]["loss"] if t else None})
        finally:
            for w in workers.values():
                w.close()

    t_info = infos.get("torch")
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, strided "
          f"{infos['strided']['version']} (OpenMP: {infos['strided']['openmp']}), "
          + (f"torch {t_info['version']}" if t_info else "torch: not available")
          + "; float32, SGD(lr 0.05, momentum 0.9, wd 1e-4); median seconds"
          + (" (quick mode)" if args.quick else ""))
    header = (f"{'workload':<22} {'thr':>3} {'timed':>5} {'strided s':>10} {'torch s':>10} "
              f"{'strided/torch':>13} {'goal':>6}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{LABELS[r['workload']]:<22} {r['threads']:>3} {r['timed']:>5} "
              f"{r['strided_s']:>10.4f} {fmt(r['torch_s'], '>10.4f')} "
              f"{fmt(r['ratio'], '>13.2f')} {'<=' + format(r['goal'], '.2f'):>6}")
    print()
    print("mean train loss per epoch (ResNet-18: per step on its one batch); round 0 is the "
          "warm-up")
    for c in curves:
        print(f"{LABELS[c['workload']]}, {c['threads']} thread(s)")
        print(f"  {'round':>5} {'strided':>10} {'torch':>10} {'|diff|':>9}")
        for i, s in enumerate(c["strided_loss"]):
            t = c["torch_loss"][i] if c["torch_loss"] else None
            print(f"  {i:>5} {s:>10.5f} {fmt(t, '>10.5f')} "
                  f"{fmt(abs(s - t) if t is not None else None, '>9.2e')}")

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"quick": args.quick, "numpy": np.__version__, "info": infos,
                       "rows": rows, "curves": curves}, f, indent=2)


if __name__ == "__main__":
    main()
