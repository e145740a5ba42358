"""Convolution-layer kernels, strided vs PyTorch (CPU): pooling and convolution, forward and
forward+backward.

    python benchmarks/bench_conv.py                 # full run: issue 5's shapes, 1 and 2 threads
    python benchmarks/bench_conv.py --quick         # CI smoke run (small shapes, 3 repeats)
    python benchmarks/bench_conv.py --threads 2 --only max_pool2d
    python benchmarks/bench_conv.py --only LeNet digits --repeat 31   # the small layers
    python benchmarks/bench_conv.py --json out/conv.json
    python benchmarks/bench_conv.py --threads 2 --only conv --rounds 3   # a noisy machine

Each case is timed call by call (after a warm-up call) and the MEDIAN over the repeats is
reported in ms; the machine may be shared and noisy, so only medians and ratios mean
anything.  Ratios are torch / strided: above 1 means strided is faster.

"fwd" is the functional call (max_pool2d without indices: the value a layer returns).
"fwd+bwd" is what training runs: the forward pass keeping what backward needs (max pooling's
argmax indices) plus the backward pass with an all-ones output gradient -- for strided the
nn.functional *_backward functions, for torch loss.backward() through autograd.  Convolution
cases carry a bias and compute all three gradients (input, weight, bias); GFLOP/s counts
2*N*K*OH*OW*C*R*S per pass (three passes for fwd+bwd).

PyTorch runs in a subprocess (`--peer torch`, which prints JSON): its bundled OpenMP runtime
can spoil the thread scaling of another OpenMP library in the same process.  Its column is
skipped when torch can't be imported.  torch is timed with NCHW (contiguous) inputs, and for
reference with channels_last inputs (its channels-last kernels vectorize over C); strided is
timed with NCHW inputs.

Cases are a table (CASES); a case names the op, its arguments and the input shape, and
builders turn it into the two timed closures per library, so convolution cases can be added
next to the pooling ones.
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

# (name, op, kwargs, full-size input shape, quick input shape)
CASES = [
    ("max_pool2d 3x3/s2/p1", "max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1},
     (32, 64, 112, 112), (4, 16, 56, 56)),
    ("max_pool2d 2x2/s2", "max_pool2d", {"kernel_size": 2, "stride": 2},
     (32, 64, 112, 112), (4, 16, 56, 56)),
    ("avg_pool2d 2x2/s2", "avg_pool2d", {"kernel_size": 2, "stride": 2},
     (32, 64, 112, 112), (4, 16, 56, 56)),
    # convolutions: "out" output channels, "kernel" square kernel size, plus conv2d's kwargs
    ("conv 3x3 64->64", "conv2d", {"out": 64, "kernel": 3, "padding": 1},
     (32, 64, 56, 56), (2, 64, 14, 14)),
    ("conv 3x3/s2 64->128", "conv2d", {"out": 128, "kernel": 3, "stride": 2, "padding": 1},
     (32, 64, 56, 56), (2, 64, 14, 14)),
    ("conv 1x1 256->64", "conv2d", {"out": 64, "kernel": 1},
     (32, 256, 56, 56), (2, 256, 14, 14)),
    ("LeNet conv1 5x5 1->6", "conv2d", {"out": 6, "kernel": 5},
     (64, 1, 28, 28), (8, 1, 28, 28)),
    ("LeNet conv2 5x5 6->16", "conv2d", {"out": 16, "kernel": 5},
     (64, 6, 14, 14), (8, 6, 14, 14)),
    # a small CNN on 8x8 digit images, batch 64 (conv, 2x2 pool, conv, 2x2 pool)
    ("digits conv1 3x3 1->16", "conv2d", {"out": 16, "kernel": 3, "padding": 1},
     (64, 1, 8, 8), (8, 1, 8, 8)),
    ("digits pool1 max 2x2", "max_pool2d", {"kernel_size": 2},
     (64, 16, 8, 8), (8, 16, 8, 8)),
    ("digits conv2 3x3 16->32", "conv2d", {"out": 32, "kernel": 3, "padding": 1},
     (64, 16, 4, 4), (8, 16, 4, 4)),
    ("digits pool2 max 2x2", "max_pool2d", {"kernel_size": 2},
     (64, 32, 4, 4), (8, 32, 4, 4)),
]

MODES = ("fwd", "fwd+bwd")


# --------------------------------------------------------------------------------------
# Builders: case -> {mode: zero-argument callable}
# --------------------------------------------------------------------------------------

def strided_pool(op, kwargs, x):
    import numpy as np
    import strided
    import strided.nn.functional as F
    fwd = getattr(F, op)
    if op == "max_pool2d":
        out, ind = F.max_pool2d(x, return_indices=True, **kwargs)
        grad = strided.from_numpy(np.ones(out.shape, np.float32))

        def fwd_bwd():
            _, indices = F.max_pool2d(x, return_indices=True, **kwargs)
            return F.max_pool2d_backward(grad, x, indices)
    else:
        out = fwd(x, **kwargs)
        grad = strided.from_numpy(np.ones(out.shape, np.float32))

        def fwd_bwd():
            fwd(x, **kwargs)
            return F.avg_pool2d_backward(grad, x, **kwargs)
    return {"fwd": lambda: fwd(x, **kwargs), "fwd+bwd": fwd_bwd}


def torch_pool(op, kwargs, x):
    import torch
    fwd = getattr(torch.nn.functional, op)
    xg = x.detach().clone().requires_grad_()
    grad = torch.ones_like(fwd(x, **kwargs))

    def fwd_bwd():
        fwd(xg, **kwargs).backward(grad)
        xg.grad = None

    def fwd_only():
        with torch.no_grad():
            return fwd(x, **kwargs)
    return {"fwd": fwd_only, "fwd+bwd": fwd_bwd}


def conv_params(kwargs, shape):
    """(weight shape, conv2d kwargs) of a conv case on an input of `shape`."""
    kw = dict(kwargs)
    k = kw.pop("kernel")
    return (kw.pop("out"), shape[1], k, k), kw


def conv_flops(kwargs, shape):
    """Multiply-adds x 2 of the forward pass (backward: twice that)."""
    (K, C, R, S), kw = conv_params(kwargs, shape)
    N, _, H, W = shape
    st, p = kw.get("stride", 1), kw.get("padding", 0)
    OH, OW = (H + 2 * p - R) // st + 1, (W + 2 * p - S) // st + 1
    return 2 * N * K * OH * OW * C * R * S


def strided_conv(op, kwargs, x):
    import strided
    import strided.nn.functional as F
    wshape, kw = conv_params(kwargs, x.shape)
    w = strided.from_numpy(input_array(wshape) * 0.1)
    b = strided.from_numpy(input_array(wshape[:1]))
    out = F.conv2d(x, w, b, **kw)
    grad = strided.ones(*out.shape)

    def fwd_bwd():
        F.conv2d(x, w, b, **kw)
        return F.conv2d_backward(grad, x, w, kw.get("stride", 1), kw.get("padding", 0))
    return {"fwd": lambda: F.conv2d(x, w, b, **kw), "fwd+bwd": fwd_bwd}


def torch_conv(op, kwargs, x):
    import torch
    wshape, kw = conv_params(kwargs, tuple(x.shape))
    w = torch.from_numpy(input_array(wshape) * 0.1)
    b = torch.from_numpy(input_array(wshape[:1]))
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        w = w.contiguous(memory_format=torch.channels_last)
    xg, wg, bg = (t.detach().clone().requires_grad_() for t in (x, w, b))
    if not x.is_contiguous():
        xg = x.detach().clone(memory_format=torch.channels_last).requires_grad_()
    grad = torch.ones_like(torch.nn.functional.conv2d(x, w, b, **kw))

    def fwd_bwd():
        torch.nn.functional.conv2d(xg, wg, bg, **kw).backward(grad)
        xg.grad = wg.grad = bg.grad = None

    def fwd_only():
        with torch.no_grad():
            return torch.nn.functional.conv2d(x, w, b, **kw)
    return {"fwd": fwd_only, "fwd+bwd": fwd_bwd}


BUILDERS = {"max_pool2d": (strided_pool, torch_pool), "avg_pool2d": (strided_pool, torch_pool),
            "conv2d": (strided_conv, torch_conv)}


def input_array(shape):
    import numpy as np
    return np.random.default_rng(0).standard_normal(shape, dtype=np.float32)


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------

def median_ms(fn, repeat):
    fn()                                             # warm-up (and first-touch of buffers)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def selected(args):
    """Cases named by --only (ops, case names or parts of case names), or all."""
    if not args.only:
        return CASES
    return [c for c in CASES if any(o == c[1] or o in c[0] for o in args.only)]


def measure(lib, args, repeat):
    """{"case|mode|threads[|layout]": median ms} for one library (in this process)."""
    out = {}
    for name, op, kwargs, full, quick in selected(args):
        a = input_array(quick if args.quick else full)
        if lib == "strided":
            import strided
            x = strided.from_numpy(a)
            layouts = {"": x}
        else:
            import torch
            x = torch.from_numpy(a)
            layouts = {"": x, "|cl": x.contiguous(memory_format=torch.channels_last)}
        build = BUILDERS[op][0 if lib == "strided" else 1]
        for suffix, xx in layouts.items():
            fns = build(op, kwargs, xx)
            for threads in args.threads:
                set_threads(lib, threads)
                for mode in MODES:
                    out[f"{name}|{mode}|{threads}{suffix}"] = median_ms(fns[mode], repeat)
    return out


def set_threads(lib, n):
    if lib == "strided":
        import strided
        strided.set_num_threads(n)
    else:
        import torch
        torch.set_num_threads(n)


def check_results():
    """strided's pooling equals a NumPy sliding-window reference on a small input, so the
    table compares like with like (the full tests are tests/test_pool*.py)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view
    import strided
    import strided.nn.functional as F
    a = input_array((2, 3, 9, 10))
    x = strided.from_numpy(a)
    padded = np.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    want = sliding_window_view(padded, (3, 3), axis=(2, 3))[:, :, ::2, ::2].max(axis=(4, 5))
    if not np.array_equal(F.max_pool2d(x, 3, 2, 1).numpy(), want):
        raise AssertionError("max_pool2d 3x3/s2/p1 differs from the NumPy reference")
    want = sliding_window_view(a, (2, 2), axis=(2, 3))[:, :, ::2, ::2]
    if not np.array_equal(F.max_pool2d(x, 2, 2).numpy(), want.max(axis=(4, 5))):
        raise AssertionError("max_pool2d 2x2/s2 differs from the NumPy reference")
    if not np.allclose(F.avg_pool2d(x, 2, 2).numpy(), want.mean(axis=(4, 5)), rtol=1e-5,
                       atol=1e-6):
        raise AssertionError("avg_pool2d 2x2/s2 differs from the NumPy reference")


def median_over(rounds):
    """{key: median over the rounds} of a list of {key: ms}."""
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


def torch_in_subprocess(args):
    """Run this script with --peer torch; its timings, or (None, None) without torch."""
    extra = ["--threads", *map(str, args.threads)]
    extra += ["--quick"] if args.quick else []
    extra += ["--only", *args.only] if args.only else []
    return peer_in_subprocess(__file__, extra)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small shapes, 3 repeats (CI smoke)")
    p.add_argument("--repeat", type=int, help="timed calls per case (default 7, quick 3)")
    p.add_argument("--rounds", type=int, default=1,
                   help="alternate torch and strided this many times and report each "
                        "library's median over the rounds (a drifting, shared machine)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--only", nargs="+", help="ops (e.g. max_pool2d) or (parts of) case "
                                              "names, e.g. --only LeNet digits")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--peer", choices=["torch"], help=argparse.SUPPRESS)   # internal
    args = p.parse_args()
    repeat = args.repeat or (3 if args.quick else 7)

    if args.peer == "torch":
        import torch
        times = measure("torch", args, repeat)
        json.dump({"times": times, "info": {"version": torch.__version__}}, sys.stdout)
        return

    sys.path.insert(0, ROOT)
    import numpy as np
    import strided
    check_results()
    torch_rounds, our_rounds = [], []
    for _ in range(max(1, args.rounds)):
        torch_times, torch_info = torch_in_subprocess(args)
        if torch_times:
            torch_rounds.append(torch_times)
        our_rounds.append(measure("strided", args, repeat))
    ours = median_over(our_rounds)
    torch_times = median_over(torch_rounds) if torch_rounds else None

    print(f"Python {platform.python_version()}, NumPy {np.__version__}, strided "
          f"{strided.__version__} (OpenMP: {strided._C.core.threads.has_openmp()}), "
          + (f"torch {torch_info['version']}" if torch_info else "torch: not available")
          + f"; float32, median of {repeat} calls"
          + (f" (then over {args.rounds} alternating rounds)" if args.rounds > 1 else "")
          + ", ms")
    header = (f"{'case':<22} {'input':>17} {'mode':>8} {'thr':>3} {'strided':>9} "
              f"{'torch':>9} {'torch CL':>9} {'torch/strided':>14} {'CL/strided':>11}")
    print(header)
    print("-" * len(header))
    rows = []
    for name, op, kwargs, full, quick in selected(args):
        shape = quick if args.quick else full
        for threads in args.threads:
            for mode in MODES:
                key = f"{name}|{mode}|{threads}"
                s = ours[key]
                t = torch_times.get(key) if torch_times else None
                tc = torch_times.get(key + "|cl") if torch_times else None
                row = {"case": name, "op": op, "input": list(shape), "mode": mode,
                       "threads": threads, "strided_ms": s, "torch_ms": t,
                       "torch_channels_last_ms": tc,
                       "torch_over_strided": t / s if t is not None else None,
                       "torch_cl_over_strided": tc / s if tc is not None else None}
                flops = conv_flops(kwargs, shape) * (3 if mode == "fwd+bwd" else 1) \
                    if op == "conv2d" else None
                row["strided_gflops"] = flops / s / 1e6 if flops else None
                rows.append(row)
                print(f"{name:<22} {'x'.join(map(str, shape)):>17} {mode:>8} {threads:>3} "
                      f"{s:>9.2f} {fmt(t, '>9.2f')} {fmt(tc, '>9.2f')} "
                      f"{fmt(row['torch_over_strided'], '>14.2f')} "
                      f"{fmt(row['torch_cl_over_strided'], '>11.2f')} "
                      f"{fmt(row['strided_gflops'], '>8.1f')}")

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"repeat": repeat, "quick": args.quick, "numpy": np.__version__,
                       "torch": torch_info, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
