"""strided.distributed over MPI on this machine: all-reduce bandwidth, data-parallel scaling
and how much of the gradient all-reduce backward hides.

    python benchmarks/bench_distributed.py            # launches the mpiexec runs itself
    python benchmarks/bench_distributed.py --steps 4 --batch 8 --sizes-mb 1 25

1. All-reduce bandwidth, 2 ranks, float32, for each size S: mpi4py's raw Allreduce on a
   NumPy buffer of S bytes against (a) strided.distributed.all_reduce on a tensor of S
   bytes (zero-copy, plus the cross-rank dtype/shape check) and (b) the gradient reduction
   of DistributedDataParallel on parameters totalling S bytes: every gradient copied into
   its bucket, the buckets' non-blocking all-reduces, the division by the world size and
   the copy back into .grad.  Bandwidth = S / time (the algorithm bandwidth).
2. Data-parallel scaling: ResNet-18 (CIFAR-sized 32x32 inputs, --batch images per process)
   trained by DistributedDataParallel with 2 processes x 1 thread against 1 process x 1
   thread at the same per-process batch: samples/s (median step) and scaling efficiency
   (2-process samples/s / (2 x 1-process samples/s)).
3. Overlap: in the 2-process run, rounds of a synchronised step, a no_sync step and the
   gradients' all-reduce alone (medians).  The rank that finishes its backward computation
   last waits, after its last gradient, only for what the all-reduces have not done yet
   (and DDP's copy back into .grad); the fraction hidden behind backward is
   1 - that wait / (all-reduce alone).
"""
import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes-mb", type=float, nargs="+", default=[1, 4, 25, 100])
    p.add_argument("--repeats", type=int, default=20, help="all-reduces timed per size")
    p.add_argument("--steps", type=int, default=6, help="timed ResNet-18 steps")
    p.add_argument("--batch", type=int, default=16, help="ResNet-18 images per process")
    p.add_argument("--rounds", type=int, default=2,
                   help="1-process and 2-process runs alternated this many times; the best "
                        "of each is reported (the machine may be shared)")
    p.add_argument("--parts", nargs="+", choices=["bandwidth", "train"],
                   default=["bandwidth", "train"])
    p.add_argument("--worker", choices=["bandwidth", "train"], help=argparse.SUPPRESS)
    return p.parse_args(argv)


def interleaved(fns, repeats, barrier):
    """{name: median seconds}: each round runs every fn once, in a rotating order, so that
    they all see the same changes in the machine's load."""
    names = list(fns)
    times = {name: [] for name in names}
    for r in range(repeats + 1):
        for name in names[r % len(names):] + names[:r % len(names)]:
            barrier()
            start = time.perf_counter()
            fns[name]()
            if r:                              # round 0 warms up
                times[name].append(time.perf_counter() - start)
    return {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}


# ---- workers (run under mpiexec) ----------------------------------------------------------

def bandwidth_worker(args):
    import numpy as np
    import strided
    import strided.distributed as dist
    import strided.nn as nn
    from mpi4py import MPI
    dist.init_process_group()
    comm = MPI.COMM_WORLD
    rows = []
    for mb in args.sizes_mb:
        n = int(mb * 2 ** 20) // 4
        raw = np.ones(n, dtype=np.float32)
        t = strided.ones(n)
        # DDP over parameters of mixed sizes totalling n elements (as a network's layers)
        sizes, left = [], n
        while left > 0:
            k = min(left, max(1, n // 10), 2 ** 20 + 12345)
            sizes.append(k)
            left -= k
        net = nn.Module()
        for i, k in enumerate(sizes):
            setattr(net, f"p{i}", nn.Parameter(strided.zeros(k)))
        params = list(net.parameters())

        def ddp_reduce(model):
            model._arm(None)
            for i in reversed(range(len(params))):     # as backward produces them
                model._hook_for(i)(params[i])
        models = {}
        for key, view in (("buckets_only", False), ("ddp", False), ("ddp_view", True)):
            models[key] = dist.DistributedDataParallel(net, gradient_as_bucket_view=view)
        for p in params:
            p.grad = strided.ones(p.shape)

        def buckets_only(model):               # the bucket all-reduces alone, as DDP runs them
            for b in model._buckets:
                model._progress.start(b, last=b is model._buckets[-1])
            for b in model._buckets:
                model._progress.wait(b)
        fns = {"raw": lambda: comm.Allreduce(MPI.IN_PLACE, raw, MPI.SUM),
               "all_reduce": lambda: dist.all_reduce(t),
               "buckets_only": lambda: buckets_only(models["buckets_only"]),
               "ddp": lambda: ddp_reduce(models["ddp"]),
               "ddp_view": lambda: ddp_reduce(models["ddp_view"])}
        row = {"mb": mb, "buckets": len(models["ddp"]._buckets)}
        row.update(interleaved(fns, args.repeats, comm.Barrier))
        rows.append(row)
    if comm.rank == 0:
        print(json.dumps(rows))
    dist.destroy_process_group()


def train_worker(args):
    import numpy as np
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    from resnet_blocks import resnet18
    import strided
    import strided.distributed as dist
    import strided.nn as nn
    import strided.nn.functional as F
    from mpi4py import MPI
    dist.init_process_group()
    comm = MPI.COMM_WORLD
    strided.set_num_threads(1)
    strided.manual_seed(0)
    model = dist.DistributedDataParallel(resnet18(nn))
    opt = strided.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(comm.rank)
    x = strided.tensor(rng.standard_normal((args.batch, 3, 32, 32), dtype=np.float32))
    y = strided.tensor(rng.integers(0, 10, args.batch))

    params = list(model.parameters())

    def step(sync):
        """One training step; returns (step seconds, backward seconds)."""
        begin = time.perf_counter()
        with (contextlib.nullcontext() if sync else model.no_sync()):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            start = time.perf_counter()
            loss.backward()
            back = time.perf_counter() - start
        opt.step()
        return time.perf_counter() - begin, back

    def reduce_only():
        model._arm(None)
        for i in reversed(range(len(params))):     # the gradients' all-reduce, no backward
            model._hook_for(i)(params[i])
    for _ in range(2):
        step(True)
    # rounds of (synchronised step, local step, all-reduce alone), so that all three see
    # the same load on a shared machine
    # the slowest rank's times: the ranks wait for each other in the all-reduce, so the
    # baseline for the synchronised backward is the slowest local one, not this rank's
    slowest = lambda t: comm.allreduce(t, op=MPI.MAX)  # noqa: E731
    synced, local, alone, exposed = [], [], [], []
    for _ in range(args.steps):
        comm.Barrier()
        step_time, back = step(True)
        synced.append((slowest(step_time), slowest(back)))
        # the rank that finished its backward computation last waits only for the
        # all-reduces' unhidden rest (and the copy back into .grad)
        everyone = comm.allgather((back - model._finish_seconds, model._finish_seconds))
        exposed.append(max(everyone)[1])
        if comm.size > 1:
            comm.Barrier()
            local.append(tuple(map(slowest, step(False))))
            comm.Barrier()
            s = time.perf_counter()
            reduce_only()
            alone.append(slowest(time.perf_counter() - s))
    step_time = float(np.median([t for t, _ in synced]))
    result = {"ranks": comm.size, "batch": args.batch, "step": step_time,
              "samples_per_s": comm.size * args.batch / step_time,
              "buckets": len(model._buckets),
              "grad_mb": sum(p.numel() for p in params) * 4 / 2 ** 20}
    if comm.size > 1:
        result.update(backward_ddp=float(np.median([b for _, b in synced])),
                      exposed=float(np.median(exposed)),
                      backward_local=float(np.median([b for _, b in local])),
                      allreduce_alone=float(np.median(alone)))
    if comm.rank == 0:
        print(json.dumps(result))
    dist.destroy_process_group()


# ---- driver --------------------------------------------------------------------------------

def launch(n, worker, args, extra=()):
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    cmd = [shutil.which("mpiexec") or "mpiexec", "-n", str(n), sys.executable,
           os.path.abspath(__file__), "--worker", worker, "--steps", str(args.steps),
           "--batch", str(args.batch), "--repeats", str(args.repeats),
           "--sizes-mb", *map(str, args.sizes_mb), *extra]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    if args.worker == "bandwidth":
        return bandwidth_worker(args)
    if args.worker == "train":
        return train_worker(args)
    sys.path[:0] = [ROOT, HERE]
    from _peers import cpu_model
    print(f"CPU: {cpu_model()}; {os.cpu_count()} cores; load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if "bandwidth" in args.parts:
        print("\n1. All-reduce, 2 ranks, float32 (median of "
              f"{args.repeats}; bandwidth = bytes / time)")
        print("   raw: mpi4py Allreduce on a NumPy buffer; all_reduce: strided.distributed's on a "
              "Tensor;\n   buckets: DDP's bucket all-reduces alone (started in order, then waited "
              "for);\n   DDP: + each gradient divided into its bucket and copied back to .grad; "
              "DDP view: gradient_as_bucket_view=True (no copy back)\n   each cell: time, "
              "bandwidth, raw time / its time")
        for r in launch(2, "bandwidth", args):
            gb = r["mb"] / 1024
            print(f"{r['mb']:6g} MB in {r['buckets']} bucket(s):  raw {r['raw'] * 1e3:.2f} ms "
                  f"{gb / r['raw']:.2f} GB/s")
            print("      " + "  |  ".join(
                f"{name} {r[key] * 1e3:.2f} ms {gb / r[key]:.2f} GB/s {r['raw'] / r[key]:.2f}x"
                for name, key in (("all_reduce", "all_reduce"), ("buckets", "buckets_only"),
                                  ("DDP", "ddp"), ("DDP view", "ddp_view"))))
    if "train" not in args.parts:
        return
    runs = {1: [], 2: []}
    for _ in range(args.rounds):
        for n in (1, 2):
            runs[n].append(launch(n, "train", args))
    one, two = (max(runs[n], key=lambda r: r["samples_per_s"]) for n in (1, 2))
    print(f"\n2. Data-parallel ResNet-18, 32x32 inputs, batch {args.batch} per process, "
          f"1 thread per process ({two['grad_mb']:.1f} MB of gradients in "
          f"{two['buckets']} buckets), {args.steps} timed steps, best of {args.rounds} runs")
    for r in (one, two):
        print(f"   {r['ranks']} process(es): {r['step']:.3f} s/step, "
              f"{r['samples_per_s']:.1f} samples/s")
    eff = two["samples_per_s"] / (2 * one["samples_per_s"])
    print(f"   scaling efficiency (2 processes vs 2 x 1): {eff:.2f}")
    hidden = 1 - two["exposed"] / two["allreduce_alone"]
    print(f"\n3. Overlap, 2 processes (medians of the slowest rank): backward "
          f"{two['backward_local']:.3f} s under no_sync, {two['backward_ddp']:.3f} s with the "
          f"all-reduces; the all-reduces alone {two['allreduce_alone']:.3f} s, of which the last "
          f"rank to finish backward still waits {two['exposed']:.3f} s -> "
          f"{100 * max(0.0, hidden):.0f}% hidden behind backward")


if __name__ == "__main__":
    main()
