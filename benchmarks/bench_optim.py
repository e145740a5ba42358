"""Optimizer steps, strided vs PyTorch (CPU): one SGD(momentum=0.9) step and one Adam step
over a ResNet-18-sized parameter list (62 float32 tensors, 11.7M elements).

    python benchmarks/bench_optim.py                # full run, 1 and 2 threads
    python benchmarks/bench_optim.py --quick        # CI smoke run (channels / 8, 3 repeats)
    python benchmarks/bench_optim.py --threads 2 --json out/optim.json

Each step is timed call by call after two warm-up steps (the first creates the optimizer
state) and the MEDIAN over the repeats is reported in ms; the machine may be shared and
noisy, so only medians and ratios mean anything.  Ratios are torch / strided: above 1
means strided is faster.  torch runs its default (foreach, multi-tensor) implementation
and, for reference, the single-tensor loop (foreach=False), which is what strided's
fused per-parameter kernels replace; strided runs its fused kernels.

PyTorch runs in a subprocess (`--peer torch`, which prints JSON): its bundled OpenMP runtime
can spoil the thread scaling of another OpenMP library in the same process.  Its columns are
skipped when torch can't be imported.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

from _peers import fmt, peer_in_subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def resnet18_shapes(width=64):
    """Parameter shapes of torchvision's resnet18 (convs without bias, batch-norm weight
    and bias, the 1000-way classifier) with `width` channels in the first stage."""
    shapes = [(width, 3, 7, 7), (width,), (width,)]
    cin = width
    for stage in range(4):
        cout = width * 2 ** stage
        for block in range(2):
            shapes += [(cout, cin, 3, 3), (cout,), (cout,), (cout, cout, 3, 3), (cout,), (cout,)]
            if block == 0 and cin != cout:
                shapes += [(cout, cin, 1, 1), (cout,), (cout,)]
            cin = cout
    return shapes + [(1000, cin), (1000,)]


def arrays(quick):
    """[(param, grad)] as float32 NumPy arrays, the same for every library."""
    import numpy as np
    rng = np.random.default_rng(0)
    return [(rng.standard_normal(s, dtype=np.float32), rng.standard_normal(s, dtype=np.float32))
            for s in resnet18_shapes(8 if quick else 64)]


CASES = [("SGD momentum=0.9", "SGD", dict(lr=0.01, momentum=0.9)),
         ("Adam", "Adam", dict(lr=1e-3))]


def optimizers(lib, quick):
    """{case label: optimizer} over lib's copies of the parameters, grads set."""
    out = {}
    for name, cls, kwargs in CASES:
        variants = {"": {}}
        if lib == "strided":
            import strided as mod
            import strided.optim as optim
        else:
            import torch as mod
            import torch.optim as optim
            variants = {"": {}, " (foreach=False)": {"foreach": False}}
        for suffix, extra in variants.items():
            params = []
            for p, g in arrays(quick):
                t = mod.tensor(p, requires_grad=True)
                t.grad = mod.tensor(g)
                params.append(t)
            out[name + suffix] = getattr(optim, cls)(params, **kwargs, **extra)
    return out


def median_ms(fn, repeat):
    fn()
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def set_threads(lib, n):
    if lib == "strided":
        import strided
        strided.set_num_threads(n)
    else:
        import torch
        torch.set_num_threads(n)


def measure(lib, args, repeat):
    """{"case|threads": median ms} for one library (in this process)."""
    out = {}
    for label, opt in optimizers(lib, args.quick).items():
        for threads in args.threads:
            set_threads(lib, threads)
            out[f"{label}|{threads}"] = median_ms(opt.step, repeat)
    return out


def check_results():
    """strided's two steps equal a NumPy transcription of the rules on one tensor, so the
    table compares like with like (the full tests are tests/test_optim.py)."""
    import numpy as np
    import strided
    import strided.optim as optim
    p, g = arrays(True)[0]
    t = strided.tensor(p, requires_grad=True)
    t.grad = strided.tensor(g)
    opt = optim.SGD([t], lr=0.01, momentum=0.9)
    opt.step()
    opt.step()
    want = p - 0.01 * g - 0.01 * (0.9 * g + g)
    if not np.allclose(t.detach().numpy(), want, rtol=1e-5, atol=1e-6):
        raise AssertionError("SGD momentum step differs from the NumPy reference")
    t = strided.tensor(p, requires_grad=True)
    t.grad = strided.tensor(g)
    optim.Adam([t], lr=1e-3).step()     # first step: p - lr * g / (|g| + eps') = p - lr sign(g)
    want = p - 1e-3 * g / (np.abs(g) + 1e-8)
    if not np.allclose(t.detach().numpy(), want, rtol=1e-5, atol=1e-6):
        raise AssertionError("Adam step differs from the NumPy reference")


def torch_in_subprocess(args):
    """Run this script with --peer torch; its timings, or (None, None) without torch."""
    extra = ["--threads", *map(str, args.threads)]
    extra += ["--quick"] if args.quick else []
    extra += ["--repeat", str(args.repeat)] if args.repeat else []
    return peer_in_subprocess(__file__, extra)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="channels / 8, 3 repeats (CI smoke)")
    p.add_argument("--repeat", type=int, help="timed steps per case (default 9, quick 3)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--peer", choices=["torch"], help=argparse.SUPPRESS)   # internal
    args = p.parse_args()
    repeat = args.repeat or (3 if args.quick else 9)

    if args.peer == "torch":
        import torch
        json.dump({"times": measure("torch", args, repeat),
                   "info": {"version": torch.__version__}}, sys.stdout)
        return

    sys.path.insert(0, ROOT)
    import numpy as np
    from strided._C.kernels.elementwise import kernel_isa
    check_results()
    torch_times, torch_info = torch_in_subprocess(args)
    times = measure("strided", args, repeat)
    shapes = resnet18_shapes(8 if args.quick else 64)
    numel = sum(int(np.prod(s)) for s in shapes)
    print(f"optimizer step over {len(shapes)} float32 tensors, {numel / 1e6:.2f}M elements; "
          f"median of {repeat} steps, ms (noisy if the machine is shared)")
    print(f"numpy {np.__version__}, torch {torch_info['version'] if torch_info else '-'}, "
          f"{platform.machine()}")
    head = (f"{'case':<18} {'thr':>3} {'strided':>9} {'torch':>9} {'torch/strided':>13} "
            f"{'torch 1-tensor':>14} {'ratio':>6}")
    print(head)
    print("-" * len(head))
    rows = []
    for name, _, _ in CASES:
        for threads in args.threads:
            key = f"{name}|{threads}"
            s = times[key]
            t = torch_times.get(key) if torch_times else None
            t1 = torch_times.get(f"{name} (foreach=False)|{threads}") if torch_times else None
            row = dict(case=name, threads=threads, strided_ms=s, torch_ms=t,
                       torch_single_tensor_ms=t1,
                       torch_over_strided=t / s if t is not None else None,
                       torch_single_tensor_over_strided=t1 / s if t1 is not None else None)
            rows.append(row)
            print(f"{name:<18} {threads:>3} {s:>9.2f} {fmt(t, '9.2f'):>9} "
                  f"{fmt(row['torch_over_strided'], '13.2f'):>13} {fmt(t1, '14.2f'):>14} "
                  f"{fmt(row['torch_single_tensor_over_strided'], '6.2f'):>6}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"repeat": repeat, "quick": args.quick, "numel": numel,
                       "tensors": len(shapes), "numpy": np.__version__,
                       "torch": torch_info["version"] if torch_info else None,
                       "strided_kernels": kernel_isa(),
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
