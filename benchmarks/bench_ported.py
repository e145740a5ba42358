"""Unchanged PyTorch programs on strided (imports ported by examples/ported/run_ported.py)
against the same programs on torch.  The programs come from your checkouts of
pytorch/examples and pytorch/tutorials (PYTORCH_EXAMPLES, PYTORCH_TUTORIALS).

    python benchmarks/bench_ported.py                  # every program, 1 and 2 threads
    python benchmarks/bench_ported.py --quick          # a few batches each, one repeat
    python benchmarks/bench_ported.py --programs mnist_main --repeats 5 --json out.json

Each run is its own process (examples/ported/run_ported.py): the program with its imports
ported under strided, the program itself under torch, both on the same localvision data, the
same seed value and thread count.  The two libraries' random generators differ, so the
initial weights (and regression_main's random target polynomial) differ too: accuracies
agree as two seeds of one program do, not digit for digit.

Repeat r runs with seed --seed + r in both libraries.  Printed per program and thread
count: the training time per epoch (the median over the epochs of a run, then the median
over repeats; regression_main, which has no epochs, in ms per batch), strided/torch (below
1: strided is faster), and the final test accuracy (test loss for regression_main), the
mean over the repeats' seeds; --json keeps each repeat's.  The load average is printed
before and after: numbers taken on a busy machine are noisy.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

from _peers import cpu_model, fmt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "examples", "ported", "run_ported.py")

# program: (runner options, program arguments) for a full and a quick run, and the
# program's own seed flag if it has one (it seeds itself after the runner does)
CONFIGS = {
    "mnist_main": {"full": ([], ["--epochs", "2"]),
                   "quick": (["--max-batches", "3"], ["--epochs", "1"]), "seed": "--seed"},
    "cifar10_tutorial": {"full": ([], []), "quick": (["--max-batches", "20"], [])},
    "quickstart_tutorial": {"full": ([], []), "quick": (["--max-batches", "3"], [])},
    "regression_main": {"full": ([], []), "quick": ([], [])},
}


def have_torch():
    return subprocess.run([sys.executable, "-c", "import torch"],
                          capture_output=True).returncode == 0


def run_once(program, lib, threads, mode, seed):
    """One run of run_ported.py; its JSON report."""
    opts, args = CONFIGS[program][mode]
    if "seed" in CONFIGS[program]:
        args = [*args, CONFIGS[program]["seed"], str(seed)]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory(prefix="bench-ported-") as work:
        out = os.path.join(work, "report.json")
        cmd = [sys.executable, RUNNER, program, "--lib", lib, "--threads", str(threads),
               "--seed", str(seed), "--quiet", "--workdir", os.path.join(work, "run"),
               "--json", out, *opts, "--", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            raise RuntimeError(f"{program} on {lib} failed: {last}")
        with open(out) as f:
            report = json.load(f)
    report.pop("stdout", None)
    return report


def time_of(report):
    """(seconds per epoch, "s/epoch") or, without epochs, (ms per batch, "ms/batch")."""
    if report["epoch_s"]:
        return statistics.median(report["epoch_s"]), "s/epoch"
    return 1000.0 * report["seconds"] / max(1, len(report["losses"])), "ms/batch"


def mean_of(values):
    """The mean of the numbers among values, or None if there are none."""
    numbers = [v for v in values if v is not None]
    return sum(numbers) / len(numbers) if numbers else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few batches, one repeat")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (quick: 1)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--programs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seed", type=int, default=0,
                        help="repeat r runs with seed + r (default 0)")
    parser.add_argument("--json", default=None)
    opts = parser.parse_args()
    sys.path.insert(0, os.path.dirname(RUNNER))
    import run_ported
    missing = [p for p in opts.programs if not run_ported.available(p)]
    if missing:
        sys.exit("bench_ported: the programs come from your checkouts of pytorch/examples and "
                 "pytorch/tutorials: set PYTORCH_EXAMPLES and PYTORCH_TUTORIALS (missing: "
                 + ", ".join(missing) + ")")
    mode = "quick" if opts.quick else "full"
    repeats = opts.repeats or (1 if opts.quick else 3)
    libs = ["strided"] + (["torch"] if have_torch() else [])
    if "torch" not in libs:
        print("torch column skipped: torch is not importable", file=sys.stderr)

    load_before = os.getloadavg()
    print(f"{cpu_model()}, {os.cpu_count()} CPUs; load average {load_before[0]:.2f} "
          f"(1 min) at the start; {mode} runs, {repeats} repeat(s)")
    rows = []
    head = (f"{'program':<20} {'thr':>3} {'unit':>8} {'strided':>9} {'torch':>9} "
            f"{'strided/torch':>13} {'strided acc':>11} {'torch acc':>9}")
    print(head)
    print("-" * len(head))
    for program in opts.programs:
        for threads in opts.threads:
            row = {"program": program, "threads": threads}
            for lib in libs:
                reports = [run_once(program, lib, threads, mode, opts.seed + r)
                           for r in range(repeats)]
                times = [time_of(r) for r in reports]
                row[f"{lib}_time"] = statistics.median(t for t, _ in times)
                row["unit"] = times[0][1]
                row[f"{lib}_accuracies"] = [r["accuracy"] for r in reports]
                row[f"{lib}_test_losses"] = [r["test_loss"] for r in reports]
                row[f"{lib}_accuracy"] = mean_of(row[f"{lib}_accuracies"])
                row[f"{lib}_test_loss"] = mean_of(row[f"{lib}_test_losses"])
                row[f"{lib}_losses"] = [[r["losses"][0], r["losses"][-1]] for r in reports]
                row[f"{lib}_train_batches"] = reports[0]["train_batches"]
            row.setdefault("torch_time", None)
            row["ratio"] = (row["strided_time"] / row["torch_time"]
                            if row["torch_time"] else None)
            rows.append(row)

            def quality(lib):
                if row.get(f"{lib}_accuracy") is not None:
                    return f"{row[f'{lib}_accuracy']:.1f}%"
                loss = row.get(f"{lib}_test_loss")
                return f"loss {loss:.1e}" if loss is not None else "-"
            print(f"{program:<20} {threads:>3} {row['unit']:>8} "
                  f"{fmt(row['strided_time'], '9.3f')} {fmt(row['torch_time'], '9.3f')} "
                  f"{fmt(row['ratio'], '13.2f')} {quality('strided'):>11} "
                  f"{quality('torch'):>9}", flush=True)
    load_after = os.getloadavg()
    print(f"load average {load_after[0]:.2f} (1 min) at the end")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"cpu": cpu_model(), "mode": mode, "repeats": repeats,
                       "load_before": load_before, "load_after": load_after, "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
