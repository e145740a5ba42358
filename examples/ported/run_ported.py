"""Run a ported PyTorch program under strided, or its original under torch, and measure it.

    python examples/ported/run_ported.py mnist_main -- --epochs 1
    python examples/ported/run_ported.py mnist_main --lib torch -- --epochs 1
    python examples/ported/run_ported.py cifar10_tutorial --threads 2 --json out.json
    python examples/ported/run_ported.py quickstart_tutorial --max-batches 5 --quiet

The programs in this folder are the originals with their import lines changed; each file's
header lists those lines ("Changed lines, original -> here").  `--lib torch` runs the
original: the same file with every changed line that names strided put back as it was
(localvision stays in place of torchvision, so both libraries get the same data).

Outside the program, and the same for both libraries, the runner
- seeds the library (`manual_seed(--seed)`) and sets its thread count before the program
  starts (programs that seed themselves, as mnist/main.py does, seed again);
- runs it in a fresh working directory (its data root, checkpoints and plots land there);
- times every pass over a DataLoader (a whole pass over a training set is an epoch) and, with
  --max-batches N, ends each pass after N batches;
- records the value of every one-element tensor that backward() is called on (the loss);
- reads the final test accuracy / loss from what the program prints.
With --json it writes all of that to a file (benchmarks/bench_ported.py and
tests/test_ported_programs.py read it).
"""
import argparse
import io
import json
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = ("mnist_main", "cifar10_tutorial", "quickstart_tutorial", "regression_main")
_CHANGE = re.compile(r"^#   (\S.*?) +-> (\S.*)$")


def changed_lines(source):
    """The header's (original, here) pairs of changed lines."""
    pairs, inside = [], False
    for line in source.splitlines():
        if line.startswith("# Changed lines, original -> here"):
            inside = True
            continue
        if inside:
            m = _CHANGE.match(line)
            if not m:
                break
            pairs.append((m.group(1), m.group(2)))
    if not pairs:
        raise ValueError("no 'Changed lines, original -> here' list in the header")
    return pairs


def program_source(name, lib):
    """(path, source) of a ported program; for lib='torch', the original's import lines put
    back wherever the ported line names strided."""
    path = name if name.endswith(".py") else os.path.join(HERE, name + ".py")
    with open(path, encoding="utf-8") as f:
        source = f.read()
    if lib == "strided":
        return path, source
    back = {here: orig for orig, here in changed_lines(source) if "strided" in here}
    header_end = source.index("\n# " + "-" * 20)       # the header's closing rule
    body = source[header_end:].split("\n")
    body = [back.get(line, line) for line in body]
    return path, source[:header_end] + "\n".join(body)


class _Tee(io.TextIOBase):
    def __init__(self, stream, quiet):
        self.stream, self.quiet, self.buffer_ = stream, quiet, io.StringIO()

    def write(self, s):
        self.buffer_.write(s)
        if not self.quiet:
            self.stream.write(s)
        return len(s)

    def flush(self):
        self.stream.flush()


def _instrument(lib, max_batches, passes, losses):
    """Time DataLoader passes (optionally cut at max_batches) and record backward() losses."""
    loader_cls = lib.utils.data.DataLoader
    original_iter = loader_cls.__iter__

    def timed_iter(self):
        record = {"train": getattr(self.dataset, "train", None), "batches": 0,
                  "seconds": 0.0, "complete": False}
        passes.append(record)
        start = time.perf_counter()
        try:
            for batch in original_iter(self):
                if max_batches is not None and record["batches"] >= max_batches:
                    break
                record["batches"] += 1
                yield batch
            record["complete"] = True       # not a pass the program left after next(iter())
        finally:
            record["seconds"] = time.perf_counter() - start

    loader_cls.__iter__ = timed_iter

    if lib.__name__ == "strided":
        import strided.autograd.dispatch as owner           # Tensor.backward calls this
    else:
        owner = lib.autograd                                 # torch.Tensor.backward calls this
    original_backward = owner.backward

    def recording_backward(tensor, *args, **kwargs):
        if tensor.numel() == 1:
            losses.append(float(tensor.detach().reshape(-1)[0].item()))
        return original_backward(tensor, *args, **kwargs)

    owner.backward = recording_backward


def results(name, stdout, workdir):
    """The final test accuracy (percent) and test loss the program printed (None if none)."""
    acc = loss = None
    if name == "mnist_main":
        found = re.findall(r"Test set: Average loss: ([\d.]+), Accuracy: (\d+)/(\d+)", stdout)
        if found:
            loss, correct, total = found[-1]
            acc, loss = 100.0 * int(correct) / int(total), float(loss)
    elif name == "quickstart_tutorial":
        found = re.findall(r"Accuracy: ([\d.]+)%, Avg loss: ([\d.]+)", stdout)
        if found:
            acc, loss = float(found[-1][0]), float(found[-1][1])
    elif name == "cifar10_tutorial":
        # The program prints a whole percent overall and one decimal per class; with the
        # test set's class counts the per-class lines give the exact number correct.
        per_class = re.findall(r"Accuracy for class: .{5} is ([\d.]+) %", stdout)
        if len(per_class) == 10:
            sys.path.insert(0, HERE)
            from localvision import datasets
            import numpy as np
            old = os.getcwd()
            os.chdir(workdir)
            try:
                counts = np.bincount(datasets.CIFAR10("./data", train=False).targets,
                                     minlength=10)
            finally:
                os.chdir(old)
            correct = sum(round(float(a) * n / 100.0) for a, n in zip(per_class, counts))
            acc = 100.0 * correct / counts.sum()
    elif name == "regression_main":
        found = re.findall(r"Loss: ([\d.]+) after (\d+) batches", stdout)
        if found:
            loss = float(found[-1][0])
    return acc, loss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("program", help=f"one of {', '.join(PROGRAMS)} (or a path)")
    parser.add_argument("--lib", choices=("strided", "torch"), default="strided")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-batches", type=int, default=None,
                        help="end every DataLoader pass after this many batches")
    parser.add_argument("--workdir", default=None, help="default: a new temporary folder")
    parser.add_argument("--json", default=None, help="write the measurements here")
    parser.add_argument("--quiet", action="store_true", help="don't echo the program's output")
    parser.epilog = "Arguments after -- go to the program."
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    opts, prog_args = parser.parse_args(argv[:cut]), argv[cut + 1:]
    name = os.path.basename(opts.program)[:-3] if opts.program.endswith(".py") else opts.program

    os.environ["LOCALVISION_BACKEND"] = opts.lib          # DataLoader workers inherit it
    os.environ.setdefault("MPLBACKEND", "Agg")            # plt.show() must not block
    path, source = program_source(opts.program, opts.lib)
    t_import = time.perf_counter()
    lib = __import__(opts.lib)
    import_s = time.perf_counter() - t_import
    if opts.threads is not None:
        lib.set_num_threads(opts.threads)
    lib.manual_seed(opts.seed)
    passes, losses = [], []
    _instrument(lib, opts.max_batches, passes, losses)

    workdir = opts.workdir or tempfile.mkdtemp(prefix=f"ported-{name}-")
    os.makedirs(workdir, exist_ok=True)
    old_cwd, old_argv, old_stdout = os.getcwd(), sys.argv, sys.stdout
    sys.path.insert(0, HERE)
    sys.argv = [path] + prog_args
    sys.stdout = tee = _Tee(old_stdout, opts.quiet)
    os.chdir(workdir)
    start = time.perf_counter()
    try:
        code = compile(source, path, "exec")
        exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__})
    except SystemExit as e:
        if e.code not in (None, 0):
            raise
    finally:
        seconds = time.perf_counter() - start
        os.chdir(old_cwd)
        sys.stdout, sys.argv = old_stdout, old_argv
    stdout = tee.buffer_.getvalue()
    accuracy, test_loss = results(name, stdout, workdir)
    epochs = [p for p in passes if p["train"] is True and p["complete"]]
    report = {"program": name, "lib": opts.lib, "threads": lib.get_num_threads(),
              "seed": opts.seed, "args": prog_args, "max_batches": opts.max_batches,
              "import_s": import_s, "seconds": seconds, "passes": passes,
              "epoch_s": [p["seconds"] for p in epochs],
              "train_batches": sum(p["batches"] for p in epochs),
              "losses": losses, "accuracy": accuracy, "test_loss": test_loss,
              "workdir": workdir, "stdout": stdout}
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(report, f)
    print(f"[{name} on {opts.lib}, {report['threads']} thread(s)] {seconds:.2f} s; "
          f"{len(losses)} losses, first {losses[0] if losses else float('nan'):.4f}, "
          f"last {losses[-1] if losses else float('nan'):.4f}; "
          f"test accuracy {accuracy if accuracy is not None else '-'}, "
          f"test loss {test_loss if test_loss is not None else '-'}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
