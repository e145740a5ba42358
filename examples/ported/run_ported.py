"""Run an unchanged PyTorch program on strided (its imports ported), or on torch, and measure it.

    python examples/ported/run_ported.py mnist_main -- --epochs 1
    python examples/ported/run_ported.py mnist_main --lib torch -- --epochs 1
    python examples/ported/run_ported.py path/to/some_program.py --threads 2 --json out.json

strided does not ship the programs: they are read from your own checkouts of
pytorch/examples (environment variable PYTORCH_EXAMPLES) and pytorch/tutorials
(PYTORCH_TUTORIALS), or from any path.  PROGRAMS names the four measured in the README.
Under strided the runner changes the program's import lines and nothing else (port()):
`import torch` -> `import strided as torch`, `from torch.X import Y` -> `from strided.X
import Y`, `import torch.X as Y` -> `import strided.X as Y`; under both libraries
torchvision -> localvision (this folder: local data, nothing downloaded), so both get the
same data.

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
import ast
import io
import json
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# name: (the checkout's environment variable, the program's path in it)
PROGRAMS = {
    "mnist_main": ("PYTORCH_EXAMPLES", "mnist/main.py"),
    "regression_main": ("PYTORCH_EXAMPLES", "regression/main.py"),
    "cifar10_tutorial": ("PYTORCH_TUTORIALS", "beginner_source/blitz/cifar10_tutorial.py"),
    "quickstart_tutorial": ("PYTORCH_TUTORIALS",
                            "beginner_source/basics/quickstart_tutorial.py"),
}


def find_program(name):
    """The path of a program: a file path as given, or a PROGRAMS name in its checkout."""
    if name.endswith(".py"):
        return name
    if name not in PROGRAMS:
        raise ValueError(f"unknown program {name!r}: one of {', '.join(PROGRAMS)} or a path")
    var, rel = PROGRAMS[name]
    root = os.environ.get(var)
    if not root or not os.path.isfile(os.path.join(root, rel)):
        raise FileNotFoundError(f"{name}: set {var} to a checkout of "
                                f"{'pytorch/examples' if var == 'PYTORCH_EXAMPLES' else 'pytorch/tutorials'}"
                                f" holding {rel}")
    return os.path.join(root, rel)


def available(name):
    try:
        find_program(name)
        return True
    except (FileNotFoundError, ValueError):
        return False


def _port_import(line, lib):
    """An import line for lib: torch -> strided (lib 'strided'), torchvision -> localvision."""
    body = line.strip()
    indent = line[:len(line) - len(line.lstrip())]
    m = re.fullmatch(r"from (torchvision)(\.\S+)? import (.+)", body)
    if m:
        return f"{indent}from localvision{m.group(2) or ''} import {m.group(3)}"
    m = re.fullmatch(r"import torchvision(\.\S+)?(?: as (\w+))?", body)
    if m:
        return f"{indent}import localvision{m.group(1) or ''} as {m.group(2) or 'torchvision'}"
    if lib != "strided":
        return line
    m = re.fullmatch(r"from torch(\.\S+)? import (.+)", body)
    if m:
        return f"{indent}from strided{m.group(1) or ''} import {m.group(2)}"
    m = re.fullmatch(r"import torch(\.\S+)? as (\w+)", body)
    if m:
        return f"{indent}import strided{m.group(1) or ''} as {m.group(2)}"
    m = re.fullmatch(r"import torch(\.\S+)?", body)
    if m:
        return f"{indent}import strided as torch" + (f", strided{m.group(1)}" if m.group(1) else "")
    return line


def _is_import(line):
    try:
        tree = ast.parse(line.strip())
    except SyntaxError:
        return False
    return len(tree.body) == 1 and isinstance(tree.body[0], (ast.Import, ast.ImportFrom))


def port(source, lib="strided"):
    """(the program with its torch / torchvision import lines ported to lib, the list of
    (original, ported) lines changed); no other line changes."""
    lines, changed = source.split("\n"), []
    for i, line in enumerate(lines):
        if ("torch" in line) and _is_import(line):
            new = _port_import(line, lib)
            if new != line:
                changed.append((line.strip(), new.strip()))
                lines[i] = new
    return "\n".join(lines), changed


def program_source(name, lib):
    """(path, the program's source ported to lib)."""
    path = find_program(name)
    with open(path, encoding="utf-8") as f:
        return path, port(f.read(), lib)[0]


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
    elif name not in PROGRAMS:            # any other program: the quickstart's line format
        found = re.findall(r"Accuracy: ([\d.]+)%, Avg loss: ([\d.]+)", stdout)
        if found:
            acc, loss = float(found[-1][0]), float(found[-1][1])
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
    name = opts.program
    if name.endswith(".py"):
        stem = os.path.basename(name)[:-3]
        parent = os.path.basename(os.path.dirname(os.path.abspath(name)))
        name = f"{parent}_{stem}" if stem == "main" else stem

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
