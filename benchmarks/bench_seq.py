"""Sequence models, strided vs PyTorch (CPU), float32, forward and forward+backward, with
the peak extra memory: scaled_dot_product_attention (batch 8, 8 heads, head dim 64, causal
and not), nn.LSTM (2 layers, input and hidden 512, batch 32, sequence 128) and one training
step of examples/train_gpt.py's GPT (6 layers, 6 heads, width 384, block 256, batch 16).

    python benchmarks/bench_seq.py                          # seq 256 1024 4096, 1 and 2 threads
    python benchmarks/bench_seq.py --seqs 256 1024 --threads 1
    python benchmarks/bench_seq.py --cases lstm             # the LSTM table only
    python benchmarks/bench_seq.py --cases gpt --threads 2  # the GPT training step only
    python benchmarks/bench_seq.py --rounds 5               # more processes per case
    python benchmarks/bench_seq.py --quick --json out/seq.json   # CI smoke run (short seqs)

Every (library, seq, causal, pass, threads) case runs in a fresh process, so the two
libraries never share an OpenMP runtime and each case's memory is its own: the process
builds q, k, v (and the output gradient), resets its peak resident size (Linux's
clear_refs), reads its resident size, runs the case once, and reads the peak (VmHWM); the
difference is the case's peak extra memory (outputs, gradients and scratch: the resident
size sees C allocations, which tracemalloc does not).  For scale the table gives the size one B x H x L x L float32 score matrix would
take: an attention that materialised it would need at least that much.  Then the case is
timed call by call, and its MEDIAN taken.  Each case runs in --rounds (default 3) processes
per library, the two libraries alternating which goes first; the table gives the median
over rounds in ms and the median of the rounds' ratios (the machine may be shared and noisy:
only medians and ratios mean anything).  "fwd" is one call on inputs that do not require grad;
"fwd+bwd" calls it on leaves that do and runs backward with a fixed output gradient.  The
LSTM's "fwd" runs under no_grad, its "fwd+bwd" backpropagates a fixed gradient of the output
into the input and every parameter (PyTorch's CPU LSTM is oneDNN's fused RNN primitive).
The GPT "step" is examples/train_gpt.py's: forward, cross-entropy over (B, T, V), backward,
gradient clipping and an AdamW step with weight-decay groups, on the same model built by
make_model(strided.nn) or make_model(torch.nn) (vocabulary 103, the example's corpus).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B, H, E = 8, 8, 64
LSTM = {"layers": 2, "input": 512, "hidden": 512, "batch": 32, "seq": 128}
LSTM_QUICK = {"layers": 2, "input": 32, "hidden": 64, "batch": 4, "seq": 16}
GPT = {"n_layer": 6, "n_head": 6, "n_embd": 384, "block": 256, "batch": 16}
GPT_QUICK = {"n_layer": 2, "n_head": 2, "n_embd": 64, "block": 32, "batch": 4}


def _reset_peak():
    """Start a new peak-resident-size measurement (Linux: writing 5 to clear_refs resets
    VmHWM); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise OSError(field)


def _extra_mb(run):
    """Peak resident size while run() runs, minus the resident size before it: VmHWM after
    a reset where the kernel allows it, else ru_maxrss (which also counts any higher peak
    reached before, e.g. while the inputs were made).  strided's block cache is emptied
    first (NOTE [ Block cache ]), so blocks freed by an earlier call count as new again."""
    if "strided" in sys.modules:
        from strided._C.core import storage
        storage._empty_cache()
    if _reset_peak():
        before = _status_mb("VmRSS")
        run()
        return _status_mb("VmHWM") - before
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    run()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 - before


def _measure(run, repeats, budget):
    """{"ms": the median time of run() over up to `repeats` calls (at least 3, no new call
    after `budget` seconds), "extra_mb": the peak extra memory of one call}."""
    extra = _extra_mb(run)
    times = []
    start = time.perf_counter()
    while len(times) < repeats and (len(times) < 3 or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return {"ms": statistics.median(times) * 1e3, "extra_mb": extra}


def _worker(lib, L, causal, mode, threads, repeats, budget):
    """Time one case in this process; returns {"ms", "extra_mb"}."""
    import numpy as np
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((B, H, L, E), dtype=np.float32) for _ in range(4)]
    grad = mode == "fwd+bwd"
    if lib == "torch":
        import torch
        torch.set_num_threads(threads)
        sdpa = torch.nn.functional.scaled_dot_product_attention
        q, k, v = (torch.tensor(a, requires_grad=grad) for a in arrays[:3])
        g = torch.tensor(arrays[3])
    else:
        sys.path.insert(0, ROOT)
        import strided
        strided.set_num_threads(threads)
        sdpa = strided.nn.functional.scaled_dot_product_attention
        q, k, v = (strided.tensor(a, requires_grad=grad) for a in arrays[:3])
        g = strided.tensor(arrays[3])
    del arrays

    def run():
        out = sdpa(q, k, v, is_causal=causal)
        if grad:
            q.grad = k.grad = v.grad = None
            out.backward(g)

    return _measure(run, repeats, budget)


def _lstm_worker(lib, shape, mode, threads, repeats, budget):
    """Time one LSTM case in this process; returns {"ms", "extra_mb"}."""
    import numpy as np
    rng = np.random.default_rng(0)
    T, N, I, Hd = shape["seq"], shape["batch"], shape["input"], shape["hidden"]
    x_np = rng.standard_normal((T, N, I), dtype=np.float32)
    g_np = rng.standard_normal((T, N, Hd), dtype=np.float32)
    grad = mode == "fwd+bwd"
    if lib == "torch":
        import torch as lib_mod
        lib_mod.set_num_threads(threads)
        lib_mod.manual_seed(0)
        model = lib_mod.nn.LSTM(I, Hd, shape["layers"])
    else:
        sys.path.insert(0, ROOT)
        import strided as lib_mod
        lib_mod.set_num_threads(threads)
        lib_mod.manual_seed(0)
        model = lib_mod.nn.LSTM(I, Hd, shape["layers"])
    x = lib_mod.tensor(x_np, requires_grad=grad)
    g = lib_mod.tensor(g_np)
    del x_np, g_np

    def run():
        if grad:
            model.zero_grad()
            x.grad = None
            out, _ = model(x)
            out.backward(g)
        else:
            with lib_mod.no_grad():
                model(x)

    return _measure(run, repeats, budget)


def _gpt_worker(lib, shape, threads, repeats, budget):
    """Time one GPT training step in this process; returns {"ms", "extra_mb"}."""
    import numpy as np
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _peers import example_functions
    if lib == "torch":
        import torch as lib_mod
    else:
        sys.path.insert(0, ROOT)
        import strided as lib_mod
    make_model = example_functions("train_gpt.py", "make_model")["make_model"]
    lib_mod.set_num_threads(threads)
    lib_mod.manual_seed(0)
    vocab, T, N = 103, shape["block"], shape["batch"]
    model = make_model(lib_mod.nn, "gpt", vocab, block=T, n_layer=shape["n_layer"],
                                 n_head=shape["n_head"], n_embd=shape["n_embd"])
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = lib_mod.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                               {"params": rest, "weight_decay": 0.0}], lr=1e-4)
    idx = np.random.default_rng(0).integers(0, vocab, (N, T + 1))
    x, y = lib_mod.tensor(idx[:, :-1]), lib_mod.tensor(idx[:, 1:])
    F = lib_mod.nn.functional

    def run():
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        lib_mod.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    run()                       # the optimizer's state is allocated in the first step
    return _measure(run, repeats, budget)


def _run_case(lib, L, causal, mode, threads, repeats, budget, case="attention", quick=False):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--seqs", str(L),
           "--mode", mode, "--threads", str(threads), "--repeats", str(repeats),
           "--budget", str(budget), "--cases", case] + (["--causal"] if causal else []) + \
        (["--quick"] if quick else [])
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (subprocess.CalledProcessError, json.JSONDecodeError, IndexError) as e:
        if lib == "strided":
            raise RuntimeError(f"strided case failed: {getattr(e, 'stderr', e)}") from e
        return None


def _paired(rounds, L, causal, mode, threads, repeats, budget, case="attention", quick=False):
    """(strided result, torch result or None, strided/torch) over `rounds` rounds: each round
    runs both libraries back to back, strided first in even rounds and torch first in odd
    ones, so a machine that slows down or speeds up between processes weighs on both alike.
    The ms reported are the medians over rounds of each process's median; the ratio is the
    median of the rounds' own ratios."""
    runs = {"strided": [], "torch": []}
    for r in range(rounds):
        for lib in (("strided", "torch") if r % 2 == 0 else ("torch", "strided")):
            res = _run_case(lib, L, causal, mode, threads, repeats, budget, case, quick)
            if res is not None:
                runs[lib].append(res)
    s = {"ms": statistics.median(x["ms"] for x in runs["strided"]),
         "extra_mb": max(x["extra_mb"] for x in runs["strided"])}
    if len(runs["torch"]) < rounds:
        return s, None, None
    t = {"ms": statistics.median(x["ms"] for x in runs["torch"]),
         "extra_mb": max(x["extra_mb"] for x in runs["torch"])}
    ratio = statistics.median(a["ms"] / b["ms"] for a, b in zip(runs["strided"], runs["torch"]))
    return s, t, ratio


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seqs", type=int, nargs="+", default=[256, 1024, 4096])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=7, help="timed calls per case (at most)")
    ap.add_argument("--budget", type=float, default=10.0,
                    help="seconds per case after which no further call is timed (min 3)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="processes per library and case, alternating which runs first")
    ap.add_argument("--quick", action="store_true",
                    help="seq 96 only, 3 repeats, one round (smoke run)")
    ap.add_argument("--cases", nargs="+", choices=["attention", "lstm", "gpt"],
                    default=["attention", "lstm", "gpt"])
    ap.add_argument("--json", help="also write the rows to this file (attention: \"rows\", "
                    "LSTM: \"lstm_rows\", GPT step: \"gpt_rows\")")
    ap.add_argument("--worker", choices=["strided", "torch"], help=argparse.SUPPRESS)
    ap.add_argument("--mode", choices=["fwd", "fwd+bwd"], help=argparse.SUPPRESS)
    ap.add_argument("--causal", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        if args.cases[0] == "gpt":
            print(json.dumps(_gpt_worker(args.worker, GPT_QUICK if args.quick else GPT,
                                         args.threads[0], args.repeats, args.budget)))
        elif args.cases[0] == "lstm":
            print(json.dumps(_lstm_worker(args.worker, LSTM_QUICK if args.quick else LSTM,
                                          args.mode, args.threads[0], args.repeats,
                                          args.budget)))
        else:
            print(json.dumps(_worker(args.worker, args.seqs[0], args.causal, args.mode,
                                     args.threads[0], args.repeats, args.budget)))
        return
    if args.quick:
        args.seqs, args.repeats, args.budget, args.rounds = [96], 3, 1.0, 1
    sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), ROOT]
    from _peers import cpu_model
    print(f"CPU: {cpu_model()}; {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.2f}")
    rows = _attention_table(args) if "attention" in args.cases else []
    lstm_rows = _lstm_table(args) if "lstm" in args.cases else []
    gpt_rows = _gpt_table(args) if "gpt" in args.cases else []
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "lstm_rows": lstm_rows, "gpt_rows": gpt_rows}, f,
                      indent=1)


def _gpt_table(args):
    shape = GPT_QUICK if args.quick else GPT
    print(f"GPT training step (examples/train_gpt.py) float32, {shape['n_layer']} layers, "
          f"{shape['n_head']} heads, width {shape['n_embd']}, block {shape['block']}, batch "
          f"{shape['batch']}; median ms per step; strided/torch < 1 means strided is faster")
    print(f"{'thr':>3} {'strided':>9} {'torch':>9} {'s/t':>5} {'extra_s':>8} {'extra_t':>8}")
    rows = []
    for threads in args.threads:
        s, t, ratio = _paired(args.rounds, 0, False, "fwd+bwd", threads, args.repeats,
                              args.budget, "gpt", args.quick)
        print(f"{threads:>3} {s['ms']:9.1f} {t['ms'] if t else float('nan'):9.1f} "
              f"{ratio if ratio else float('nan'):5.2f} {s['extra_mb']:8.1f} "
              f"{t['extra_mb'] if t else float('nan'):8.1f}", flush=True)
        rows.append(dict(shape, threads=threads, strided_ms=s["ms"],
                         torch_ms=t["ms"] if t else None, strided_over_torch=ratio,
                         strided_extra_mb=s["extra_mb"],
                         torch_extra_mb=t["extra_mb"] if t else None))
    return rows


def _lstm_table(args):
    shape = LSTM_QUICK if args.quick else LSTM
    print(f"nn.LSTM float32, {shape['layers']} layers, input {shape['input']}, hidden "
          f"{shape['hidden']}, batch {shape['batch']}, seq {shape['seq']}; median ms; "
          f"strided/torch < 1 means strided is faster; extra = peak extra memory (MB)")
    print(f"{'pass':>8} {'thr':>3} {'strided':>9} {'torch':>9} {'s/t':>5} {'extra_s':>8} "
          f"{'extra_t':>8}")
    rows = []
    for mode in ("fwd", "fwd+bwd"):
        for threads in args.threads:
            s, t, ratio = _paired(args.rounds, shape["seq"], False, mode, threads,
                                  args.repeats, args.budget, "lstm", args.quick)
            print(f"{mode:>8} {threads:>3} {s['ms']:9.2f} "
                  f"{t['ms'] if t else float('nan'):9.2f} "
                  f"{ratio if ratio else float('nan'):5.2f} {s['extra_mb']:8.1f} "
                  f"{t['extra_mb'] if t else float('nan'):8.1f}", flush=True)
            rows.append(dict(shape, mode=mode, threads=threads, strided_ms=s["ms"],
                             torch_ms=t["ms"] if t else None, strided_over_torch=ratio,
                             strided_extra_mb=s["extra_mb"],
                             torch_extra_mb=t["extra_mb"] if t else None))
    return rows


def _attention_table(args):
    print(f"scaled_dot_product_attention float32, B={B} H={H} E={E}; median ms; "
          f"strided/torch < 1 means strided is faster; extra = peak extra memory (MB)")
    print(f"{'seq':>5} {'causal':>6} {'pass':>8} {'thr':>3} {'strided':>9} {'torch':>9} "
          f"{'s/t':>5} {'extra_s':>8} {'extra_t':>8} {'BHLL':>8}")
    rows = []
    for L in args.seqs:
        for causal in (False, True):
            for mode in ("fwd", "fwd+bwd"):
                for threads in args.threads:
                    s, t, ratio = _paired(args.rounds, L, causal, mode, threads,
                                          args.repeats, args.budget)
                    scores_mb = B * H * L * L * 4 / 2**20
                    print(f"{L:>5} {str(causal):>6} {mode:>8} {threads:>3} {s['ms']:9.2f} "
                          f"{t['ms'] if t else float('nan'):9.2f} "
                          f"{ratio if ratio else float('nan'):5.2f} {s['extra_mb']:8.1f} "
                          f"{t['extra_mb'] if t else float('nan'):8.1f} {scores_mb:8.1f}",
                          flush=True)
                    rows.append({"seq": L, "causal": causal, "mode": mode, "threads": threads,
                                 "strided_ms": s["ms"], "torch_ms": t["ms"] if t else None,
                                 "strided_over_torch": ratio,
                                 "strided_extra_mb": s["extra_mb"],
                                 "torch_extra_mb": t["extra_mb"] if t else None,
                                 "scores_mb": scores_mb})
    return rows


if __name__ == "__main__":
    main()
