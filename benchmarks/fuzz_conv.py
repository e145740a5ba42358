"""Fuzz convolution, pooling and matmul arguments against PyTorch.

Hostile arguments (huge, negative, zero strides / padding / dilation / groups / kernel and
output sizes: 2**31, 2**62, 2**63-1, 2**64, ...) on small inputs.  PyTorch is the reference;
each library runs in a worker subprocess under a memory limit (RLIMIT_AS) and a per-case
timeout (PyTorch itself crashes on some of these arguments), so a crash, a hang or a runaway allocation is counted
instead of taking the machine down.  Every case ends as one of:

  match      both libraries agree (same shape and values and gradients, or both refuse)
  torch_failure  strided computed a result where PyTorch failed or gave another shape
             from its own int64 overflow of the arguments or in oneDNN (huge strides; the
             results were checked against PyTorch with the stride lowered to one that
             gives the same output size)
  numpy_verified  PyTorch failed or disagreed from its own overflow on a huge stride, and
             strided's convolution agrees with a NumPy loop over the output positions
  unverified strided computed a result where PyTorch overflowed, and no equivalent call
             small enough for PyTorch exists (kernel or padded sizes past 2**31; such
             convolutions are checked against NumPy in tests/test_hardening_conv.py)
  refused    strided raised a clear error where PyTorch computed a result
  wrong      strided returned a different shape, values or gradients (or no error where
             PyTorch's is a real error of the arguments)
  oom        strided raised MemoryError where PyTorch's answer is small
  unclear    strided raised an exception type other than RuntimeError/ValueError/TypeError
             /IndexError
  crash      the worker died (a signal: SIGSEGV, SIGABRT, ...)
  hang       the case took longer than --timeout seconds (ten times that for an output of
             more than 2**25 elements, which is real work)

    python benchmarks/fuzz_conv.py --cases 10000 --seed 1
prints the counts, the worker's peak RSS, and up to --show examples of each failure kind.
"""
import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HUGE = [2**31 - 1, 2**31, 2**32, 2**40, 2**62, 2**63 - 1, 2**63, 2**64]
SMALL = [0, 1, 1, 2, 2, 3, 4, 5, 7]
NEG = [-1, -2, -(2**31), -(2**63)]
SMALL_OUT = 1 << 22        # a reference output above this many elements is not computed
BIG_OUT = 1 << 25          # outputs this large get ten times the timeout (real work)
CLEAR = ("RuntimeError", "ValueError", "TypeError", "IndexError")


def _int(rng, small=0.6, huge=0.25):
    u = rng.random()
    if u < small:
        return rng.choice(SMALL)
    if u < small + huge:
        return rng.choice(HUGE)
    if u < small + huge + 0.1:
        return rng.choice([8, 16, 64, 65536])
    return rng.choice(NEG)


def _arg(rng, n, **kw):
    """An int, or a tuple of n ints (now and then of the wrong length)."""
    if rng.random() < 0.5:
        return _int(rng, **kw)
    m = n if rng.random() < 0.92 else rng.choice([1, n + 1])
    return tuple(_int(rng, **kw) for _ in range(m))


def _shape(rng, ndim, lo=0, hi=6):
    return [rng.randint(lo, hi) if rng.random() < 0.9 else 0 for _ in range(ndim)]


def make_case(rng, i):
    """One hostile call, as a JSON-able dict (the data comes from its seed)."""
    op = rng.choice(["conv2d", "conv2d", "conv1d", "max_pool2d", "max_pool1d", "avg_pool2d",
                     "avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
                     "adaptive_avg_pool1d", "matmul"])
    case = {"i": i, "op": op, "seed": rng.randrange(2**31),
            "dtype": rng.choice(["float32", "float64"]), "grad": rng.random() < 0.5}
    n = 1 if op.endswith("1d") else 2
    if op.startswith("conv"):
        groups = rng.choice([1, 1, 1, 2, 3]) if rng.random() < 0.9 else _int(rng)
        g = groups if isinstance(groups, int) and 1 <= groups <= 3 else 1
        C = g * rng.randint(1, 3)
        K = g * rng.randint(1, 3)
        case["x"] = [rng.randint(1, 3), C] + [rng.randint(1, 8) for _ in range(n)]
        case["w"] = [K, C // g] + [rng.randint(1, 4) for _ in range(n)]
        if rng.random() < 0.1:
            case["w"][1] += 1                          # channel mismatch
        case["bias"] = rng.random() < 0.5
        case["kw"] = {"stride": _arg(rng, n), "dilation": _arg(rng, n, small=0.75),
                      "groups": groups}
        case["kw"]["padding"] = (rng.choice(["same", "valid"]) if rng.random() < 0.1
                                 else _arg(rng, n))
    elif op.startswith("adaptive"):
        case["x"] = [rng.randint(1, 3), rng.randint(1, 3)] + _shape(rng, n, 1, 9)
        case["kw"] = {"output_size": _arg(rng, n, small=0.7, huge=0.2)}
        if op.startswith("adaptive_max"):
            case["kw"]["return_indices"] = rng.random() < 0.5
    elif op == "matmul":
        case["x"] = _shape(rng, rng.randint(1, 4))
        case["w"] = _shape(rng, rng.randint(1, 4))
        if rng.random() < 0.7 and len(case["x"]) and len(case["w"]):  # mostly compatible
            k = case["x"][-1]
            case["w"][-2 if len(case["w"]) > 1 else 0] = k
        case["kw"] = {}
    else:
        case["x"] = [rng.randint(1, 3), rng.randint(1, 3)] + _shape(rng, n, 1, 9)
        kw = {"kernel_size": _arg(rng, n, small=0.8), "padding": _arg(rng, n, small=0.8),
              "ceil_mode": rng.random() < 0.3}
        if rng.random() < 0.7:
            kw["stride"] = _arg(rng, n)
        if op.startswith("max"):
            kw["dilation"] = _arg(rng, n, small=0.8)
            kw["return_indices"] = rng.random() < 0.3
        else:
            kw["count_include_pad"] = rng.random() < 0.5
            if rng.random() < 0.2:
                kw["divisor_override"] = _int(rng)
        case["kw"] = kw
    return case


def _data(case):
    rs = np.random.RandomState(case["seed"])
    dt = np.dtype(case["dtype"])
    x = rs.standard_normal(case["x"]).astype(dt)
    w = rs.standard_normal(case["w"]).astype(dt) if "w" in case else None
    b = rs.standard_normal(case["w"][0]).astype(dt) if case.get("bias") else None
    return x, w, b


def run_case(lib, case):
    """Run one case with `lib` (torch or strided); a JSON-able outcome."""
    x, w, b = _data(case)
    F = lib.nn.functional
    kw = dict(case["kw"])
    for k, v in kw.items():
        if isinstance(v, list):
            kw[k] = tuple(v)
    try:
        xt = lib.tensor(x)
        args = [xt]
        if case["op"] == "matmul":
            args.append(lib.tensor(w))
        elif case["op"].startswith("conv"):
            args += [lib.tensor(w), None if b is None else lib.tensor(b)]
        if case["grad"]:
            for a in args:
                if a is not None:
                    a.requires_grad_(True)
        fn = lib.matmul if case["op"] == "matmul" else getattr(F, case["op"])
        out = fn(*args, **kw)
        idx = None
        if isinstance(out, tuple):
            out, idx = out
        res = {"status": "ok", "shape": list(out.shape)}
        if out.numel() <= SMALL_OUT:
            res["sum"] = float(out.detach().double().sum().item())
            res["abs"] = float(out.detach().double().abs().sum().item())
            if idx is not None:
                res["idx"] = idx.reshape(-1).tolist()[:4096]
            if case["op"].startswith("max") or idx is not None:
                res["empty"] = [not v > float("-inf")
                                for v in out.detach().reshape(-1).tolist()[:4096]]
            if case["grad"] and out.numel():
                gout = np.random.RandomState(case["seed"] + 1).standard_normal(
                    list(out.shape)).astype(np.dtype(case["dtype"]))
                out.backward(lib.tensor(gout))
                res["grads"] = [None if a is None or a.grad is None else
                                float(a.grad.double().abs().sum().item()) for a in args]
    except MemoryError as e:
        return {"status": "error", "type": "MemoryError", "msg": str(e)[:200]}
    except Exception as e:                                   # noqa: BLE001 (classified)
        return {"status": "error", "type": type(e).__name__, "msg": str(e)[:200]}
    return res


def _close(a, b, tol):
    if a == b:                                   # also -inf == -inf (empty max windows)
        return True
    return abs(a - b) <= tol * (1 + abs(a) + abs(b))


def _tuple(v, n):
    return tuple(v) * (n if len(v) == 1 else 1) if isinstance(v, (list, tuple)) else (v,) * n


def output_numel(case):
    """Elements of the output the conv/pool formula gives (None when it does not apply)."""
    op, kw = case["op"], case["kw"]
    n = 1 if op.endswith("1d") else 2
    try:
        if op.startswith("conv"):
            if isinstance(kw["padding"], str):
                return None
            kernel, pad = case["w"][2:], _tuple(kw["padding"], n)
            stride, dil, ceil = _tuple(kw["stride"], n), _tuple(kw["dilation"], n), False
            lead = case["x"][0] * case["w"][0]
        elif op.startswith(("max", "avg")):
            kernel, pad = _tuple(kw["kernel_size"], n), _tuple(kw["padding"], n)
            stride = _tuple(kw.get("stride", kw["kernel_size"]), n)
            dil, ceil = _tuple(kw.get("dilation", 1), n), kw["ceil_mode"]
            lead = case["x"][0] * case["x"][1]
        else:
            return None
        total = lead
        for i in range(n):
            size = case["x"][2 + i] + 2 * pad[i] - dil[i] * (kernel[i] - 1) - 1
            total *= max(0, (size + (stride[i] - 1 if ceil else 0)) // stride[i] + 1)
        return total
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None


def _huge_stride(case):
    st = case["kw"].get("stride")
    return st is not None and max(_tuple(st, 1)) >= 2**31


def numpy_conv(case, max_out=4096):
    """conv1d/conv2d of the case's data by NumPy loops over the output positions (its
    shape, sum and sum of absolute values, without gradients), or None when the case is
    not a convolution with int/tuple padding and a small output."""
    op, kw = case["op"], case["kw"]
    if not op.startswith("conv") or isinstance(kw["padding"], str):
        return None
    n = 1 if op == "conv1d" else 2
    pad, st, dil = (_tuple(kw[k], n) for k in ("padding", "stride", "dilation"))
    g = kw["groups"]
    if not (len(pad) == len(st) == len(dil) == n) or min(st + dil) < 1 or min(pad) < 0 \
            or not isinstance(g, int) or g < 1:
        return None
    x, w, b = _data(case)
    if x.shape[1] != w.shape[1] * g or w.shape[0] % g:
        return None
    sizes = [(x.shape[2 + i] + 2 * pad[i] - dil[i] * (w.shape[2 + i] - 1) - 1) // st[i] + 1
             for i in range(n)]
    if min(sizes) < 1 or np.prod(sizes) * x.shape[0] * w.shape[0] > max_out:
        return None
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    out = np.zeros([x.shape[0], w.shape[0]] + sizes)
    kg, cg = w.shape[0] // g, w.shape[1]
    for k in range(w.shape[0]):
        xs = x64[:, (k // kg) * cg:(k // kg + 1) * cg]
        for pos in np.ndindex(*sizes):
            acc = np.zeros(x.shape[0]) if b is None else np.full(x.shape[0], float(b[k]))
            for tap in np.ndindex(*w.shape[2:]):
                idx = [pos[i] * st[i] - pad[i] + tap[i] * dil[i] for i in range(n)]
                if all(0 <= idx[i] < x.shape[2 + i] for i in range(n)):
                    acc += xs[(slice(None), slice(None)) + tuple(idx)] @ w64[(k, slice(None)) + tap]
            out[(slice(None), k) + pos] = acc
    return {"status": "ok", "shape": list(out.shape), "sum": float(out.sum()),
            "abs": float(np.abs(out).sum())}


def lowered_stride(case, shape):
    """The case with each huge stride (>= 2**31) lowered to one that gives the same output
    size along its dim (one output: any stride past both the padded size and the dilated
    kernel, with or without ceil_mode),
    or None when no stride is huge or the output has more than one element along it.  A
    stride only matters between outputs, so both calls have the same answer, and PyTorch,
    which overflows on the huge one, can compute the lowered one."""
    op, kw = case["op"], case["kw"]
    if op.startswith(("adaptive", "matmul")) or "stride" not in kw:
        return None
    n = 1 if op.endswith("1d") else 2
    strides = _tuple(kw["stride"], n)
    if len(strides) != n or max(strides) < 2**31:
        return None
    if op.startswith("conv"):
        kernel, pad = case["w"][2:], kw["padding"]
        pad = (0,) * n if pad == "valid" else _tuple(pad, n)
        pads = [2 * p for p in pad] if pad != "same" else None
    else:
        kernel, pads = _tuple(kw["kernel_size"], n), [2 * p for p in _tuple(kw["padding"], n)]
    dil = _tuple(kw.get("dilation", 1), n)
    if pads is None or len(kernel) != n or len(pads) != n or len(dil) != n \
            or max(k * d for k, d in zip(kernel, dil)) >= 2**31:
        return None
    new = []
    for i in range(n):
        s = strides[i]
        if s >= 2**31:
            if shape[2 + i] != 1:
                return None
            padded, eff = case["x"][2 + i] + pads[i], dil[i] * (kernel[i] - 1) + 1
            s = max(padded, eff) + 1       # with or without ceil_mode, as any larger one
            if s >= 2**31:                 # PyTorch overflows on this one too
                return None
        new.append(s)
    return dict(case, kw=dict(kw, stride=tuple(new)))


def classify(ref, got, dtype, mem_gib):
    """The kind of a case from the reference and strided outcomes."""
    if got["status"] == "error":
        if got["type"] == "MemoryError":
            # an output too large for memory is a fair answer (PyTorch sometimes computes
            # such a call with its sizes wrapped around); workspace growing is not
            elems = got["msg"].split("storage of ")[-1].split()[0]
            huge = elems.isdigit() and int(elems) * 4 > mem_gib * 2**30 / 4
            return "oom" if not huge else "match"
        if got["type"] not in CLEAR:
            return "unclear"
        return "match" if ref["status"] == "error" else "refused"
    if ref["status"] == "error":
        # PyTorch's allocator failing on a huge output is not an argument error; PyTorch's
        # own int64 overflow on a huge stride is not one either (strided computes it)
        if "allocate" in ref["msg"]:
            return "match"
        return "torch_failure?"
    if got["shape"] != ref["shape"]:
        return "wrong"
    tol = 1e-3 if dtype == "float32" else 1e-9
    for key in ("sum", "abs"):
        if key in ref and key in got and not _close(ref[key], got[key], tol):
            return "wrong"
    if "idx" in ref:
        # a window entirely in the padding (possible with dilation) has no element: strided
        # gives index -1 there and no gradient, PyTorch an index past the window (it then
        # adds the gradient to an element outside the window): not compared
        if any(a != b for a, b, e in zip(ref["idx"], got["idx"], got["empty"]) if not e) \
                or any(b != -1 for b, e in zip(got["idx"], got["empty"]) if e):
            return "wrong"
    if any(got.get("empty", ())):
        return "match"          # PyTorch sends an empty window's gradient outside the window
    for a, b in zip(ref.get("grads", []), got.get("grads", [])):
        if (a is None) != (b is None) or (a is not None and not _close(a, b, tol)):
            return "wrong"
    return "match"


# --------------------------------------------------------------------------------------
# the strided worker: reads one case per line, answers one outcome per line
# --------------------------------------------------------------------------------------

def worker(lib, mem_gib):
    if lib == "torch":
        import torch as mod
        mod.set_num_threads(1)
    else:
        sys.path.insert(0, ROOT)        # this checkout's strided, also when built in place
        import strided as mod
    warnings.simplefilter("ignore")
    limit = int(mem_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for line in sys.stdin:
        res = run_case(mod, json.loads(line))
        res["rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


class Worker:
    def __init__(self, lib, mem_gib):
        self.lib, self.mem_gib = lib, mem_gib
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker",
                                      lib, "--mem-gib", str(mem_gib)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)
        os.set_blocking(self.proc.stdout.fileno(), True)

    def ask(self, case, timeout):
        """The worker's outcome, or 'crash' / 'hang'."""
        import select
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.proc.kill()
            self.proc.wait()
            return "hang"
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            return "crash"
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait()


def fuzz(cases, seed, timeout, mem_gib, show=3, quiet=False):
    rng = random.Random(seed)
    kinds = ("match", "torch_failure", "numpy_verified", "unverified", "refused", "wrong",
             "oom", "unclear", "crash", "hang")
    torch_failures = 0          # cases where PyTorch itself crashed or hung
    counts = dict.fromkeys(kinds, 0)
    examples = {k: [] for k in kinds}
    peak, peak_case = 0, None
    w, tw = Worker("strided", mem_gib), Worker("torch", mem_gib)
    start = time.perf_counter()
    for i in range(cases):
        case = make_case(rng, i)
        big = (output_numel(case) or 0) > BIG_OUT
        ref = tw.ask(case, timeout * (10 if big else 1))
        if isinstance(ref, str):                   # PyTorch crashed or hung: an error
            torch_failures += 1
            tw = Worker("torch", mem_gib)
            ref = {"status": "error", "type": ref, "msg": f"torch {ref}"}
        got = w.ask(case, timeout * (10 if big else 1))
        if isinstance(got, str):
            kind = got
            w = Worker("strided", mem_gib)
        else:
            if got["rss_kib"] > peak:
                peak, peak_case = got["rss_kib"], case
            kind = classify(ref, got, case["dtype"], mem_gib)
            if kind == "wrong" and got["status"] == "ok" and _huge_stride(case):
                kind = "torch_failure?"        # PyTorch's own size arithmetic may overflow
            if kind == "torch_failure?":
                # PyTorch refused where strided computed: right when PyTorch agrees once the
                # huge stride is lowered to one with the same output size
                low = lowered_stride(case, got["shape"])
                kind = "unverified"
                ref_np = numpy_conv(case)
                if ref_np is not None:
                    kind = "numpy_verified" if classify(ref_np, got, case["dtype"], mem_gib) \
                        == "match" else "wrong"
                elif low is not None:
                    kind = "wrong"
                    ref2 = tw.ask(low, timeout)
                    if isinstance(ref2, str):
                        tw = Worker("torch", mem_gib)
                    elif classify(ref2, got, case["dtype"], mem_gib) == "match":
                        kind = "torch_failure"
        counts[kind] += 1
        if kind != "match" and len(examples[kind]) < show:
            examples[kind].append({"case": case, "torch": ref, "strided": got})
    w.close()
    tw.close()
    elapsed = time.perf_counter() - start
    report = {"cases": cases, "seed": seed, "counts": counts, "peak_rss_mib": peak / 1024, "peak_case": peak_case,
              "seconds": elapsed, "torch_failures": torch_failures, "examples": examples}
    if not quiet:
        print(f"fuzz_conv: {cases} cases (seed {seed}) in {elapsed:.1f} s; worker peak RSS "
              f"{peak / 1024:.0f} MiB (limit {mem_gib} GiB); PyTorch itself crashed or hung "
              f"on {torch_failures}")
        if peak_case:
            print(f"  the peak came with: {peak_case['op']} x{peak_case['x']} "
                  f"w{peak_case.get('w')} {peak_case['kw']}")
        print("  " + "  ".join(f"{k} {v}" for k, v in counts.items()))
        for k in kinds[1:]:
            for ex in examples[k]:
                c = ex["case"]
                print(f"  {k}: {c['op']} x{c['x']} w{c.get('w')} {c['kw']} -> torch "
                      f"{ex['torch'].get('shape') or ex['torch'].get('msg', '')[:80]!r}, "
                      f"strided {ex['strided'] if isinstance(ex['strided'], str) else ex['strided'].get('shape') or ex['strided'].get('type', '') + ': ' + ex['strided'].get('msg', '')[:100]}")
    return report


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    p.add_argument("--mem-gib", type=float, default=3.0, help="the worker's RLIMIT_AS")
    p.add_argument("--show", type=int, default=3, help="examples printed per failure kind")
    p.add_argument("--json", help="write the report here")
    p.add_argument("--worker", choices=("torch", "strided"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        return worker(a.worker, a.mem_gib)
    report = fuzz(a.cases, a.seed, a.timeout, a.mem_gib, a.show)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
