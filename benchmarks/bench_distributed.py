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
   thread at the same per-process batch: samples/s and scaling efficiency
   (2-process samples/s / (2 x 1-process samples/s)).
3. Overlap: in the 2-process run, backward with the all-reduces (DDP) against backward
   without them (no_sync), and the all-reduce of the same buckets alone; the fraction of
   all-reduce time hidden behind backward is 1 - (extra backward time) / (all-reduce time).
"""
import argparse
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
    p.add_argument("--progress", choices=["thread", "poke"], default="thread",
                   help="how DDP drives MPI during backward (NOTE [ MPI progress ]): a helper "
                        "thread (the default when MPI grants THREAD_MULTIPLE) or tests at "
                        "each gradient hook")
    p.add_argument("--worker", choices=["bandwidth", "train"], help=argparse.SUPPRESS)
    return p.parse_args(argv)


def best_of(fn, repeats, barrier):
    times = []
    for _ in range(repeats):
        barrier()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]          # the median


# ---- workers (run under mpiexec) ----------------------------------------------------------

def use_progress(model, kind):
    from strided.distributed.ddp import _Progress
    if kind == "poke" and type(model._progress) is not _Progress:
        old = model._progress
        old.close()
        object.__setattr__(model, "_progress", _Progress(old.MPI, old.comm))


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
        model = dist.DistributedDataParallel(net)
        use_progress(model, args.progress)
        params = list(net.parameters())
        for p in params:
            p.grad = strided.ones(p.shape)

        def ddp_reduce():
            model._arm(None)
            for i in reversed(range(len(params))):     # as backward produces them
                model._hook_for(i)(params[i])
        t_raw = best_of(lambda: comm.Allreduce(MPI.IN_PLACE, raw, MPI.SUM), args.repeats,
                        comm.Barrier)
        t_str = best_of(lambda: dist.all_reduce(t), args.repeats, comm.Barrier)
        t_ddp = best_of(ddp_reduce, args.repeats, comm.Barrier)
        rows.append({"mb": mb, "raw": t_raw, "all_reduce": t_str, "ddp": t_ddp,
                     "buckets": len(model._buckets)})
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
    use_progress(model, args.progress)
    opt = strided.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(comm.rank)
    x = strided.tensor(rng.standard_normal((args.batch, 3, 32, 32), dtype=np.float32))
    y = strided.tensor(rng.integers(0, 10, args.batch))

    def step(sync=True):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        start = time.perf_counter()
        if sync:
            loss.backward()
        else:
            with model.no_sync():
                loss.backward()
        back = time.perf_counter() - start
        opt.step()
        return back
    for _ in range(2):
        step()
    comm.Barrier()
    start = time.perf_counter()
    backs = [step() for _ in range(args.steps)]
    total = time.perf_counter() - start
    result = {"ranks": comm.size, "batch": args.batch, "step": total / args.steps,
              "samples_per_s": comm.size * args.batch * args.steps / total,
              "backward_ddp": float(np.median(backs)),
              "buckets": len(model._buckets),
              "grad_mb": sum(p.numel() for p in model.parameters()) * 4 / 2 ** 20}
    if comm.size > 1:
        # backward without the all-reduces (the forward runs outside no_sync, so take care
        # to run it inside: no_sync around the whole step)
        local = []
        for _ in range(args.steps):
            with model.no_sync():
                opt.zero_grad()
                loss = F.cross_entropy(model(x), y)
                s = time.perf_counter()
                loss.backward()
                local.append(time.perf_counter() - s)
        params = [p for p in model.parameters()]

        def reduce_only():
            model._arm(None)
            for i in reversed(range(len(params))):
                model._hook_for(i)(params[i])
        comm.Barrier()
        comm_times = []
        for _ in range(args.steps):
            comm.Barrier()
            s = time.perf_counter()
            reduce_only()
            comm_times.append(time.perf_counter() - s)
        result.update(backward_local=float(np.median(local)),
                      allreduce_alone=float(np.median(comm_times)))
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
           "--progress", args.progress, "--sizes-mb", *map(str, args.sizes_mb), *extra]
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
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; DDP progress: {args.progress}")
    print("\n1. All-reduce, 2 ranks, float32 (median of "
          f"{args.repeats}; bandwidth = bytes / time)")
    print(f"{'size':>8} {'raw Allreduce':>16} {'all_reduce':>16} {'ratio':>6} "
          f"{'DDP buckets':>18} {'ratio':>6}")
    for r in launch(2, "bandwidth", args):
        gb = r["mb"] / 1024
        print(f"{r['mb']:6g}MB {r['raw'] * 1e3:8.2f} ms {gb / r['raw']:4.1f} GB/s "
              f"{r['all_reduce'] * 1e3:7.2f} ms {gb / r['all_reduce']:4.1f} GB/s "
              f"{r['raw'] / r['all_reduce']:5.2f}x {r['ddp'] * 1e3:7.2f} ms ({r['buckets']:2d}) "
              f"{gb / r['ddp']:4.1f} GB/s {r['raw'] / r['ddp']:5.2f}x")
    one = launch(1, "train", args)
    two = launch(2, "train", args)
    print(f"\n2. Data-parallel ResNet-18, 32x32 inputs, batch {args.batch} per process, "
          f"1 thread per process ({two['grad_mb']:.1f} MB of gradients in "
          f"{two['buckets']} buckets), {args.steps} timed steps")
    for r in (one, two):
        print(f"   {r['ranks']} process(es): {r['step']:.3f} s/step, "
              f"{r['samples_per_s']:.1f} samples/s")
    eff = two["samples_per_s"] / (2 * one["samples_per_s"])
    print(f"   scaling efficiency (2 processes vs 2 x 1): {eff:.2f}")
    extra = two["backward_ddp"] - two["backward_local"]
    hidden = 1 - max(0.0, extra) / two["allreduce_alone"]
    print(f"\n3. Overlap, 2 processes: backward {two['backward_local']:.3f} s without "
          f"all-reduce, {two['backward_ddp']:.3f} s with it; the all-reduce alone "
          f"{two['allreduce_alone']:.3f} s -> {100 * max(0.0, hidden):.0f}% of it hidden "
          f"behind backward")


if __name__ == "__main__":
    main()
