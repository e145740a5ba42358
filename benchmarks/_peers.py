"""What the benchmark scripts share: running a peer library in its own process (PyTorch's
bundled libgomp disturbs OpenMP in a shared process) and printing optional numbers, naming the CPU."""
import ast
import json
import math
import os
import subprocess
import sys

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def cpu_model():
    """The CPU's model name as lscpu shows it (strided.show_config's)."""
    import strided
    return strided.show_config("dicts")["cpu"]["name"]


def example_functions(script, *names):
    """{name: function} of top-level functions of an example script, without running the
    rest of it: the examples import strided at the top, and a torch worker must not load
    strided (nor its OpenMP runtime).  The functions may use only `np` and `math`."""
    import numpy as np
    path = os.path.join(EXAMPLES, script)
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    body = [node for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name in names]
    if len(body) != len(names):
        raise LookupError(f"{script} lacks one of {names}")
    namespace = {"np": np, "math": math}
    exec(compile(ast.Module(body=body, type_ignores=[]), path, "exec"), namespace)
    return {name: namespace[name] for name in names}


def peer_in_subprocess(script, extra_args=()):
    """Run `script --peer torch *extra_args` to completion; its JSON's (times, info), or
    (None, None) with a note on stderr when torch is unavailable or the run fails."""
    cmd = [sys.executable, os.path.abspath(script), "--peer", "torch", *extra_args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        print(f"torch column skipped: {last}", file=sys.stderr)
        return None, None
    result = json.loads(proc.stdout)
    return result["times"], result["info"]


class Worker:
    """A long-lived worker subprocess (`script --worker lib --threads n`) for one library
    and thread count, answering one JSON line per JSON command line."""

    def __init__(self, script, lib, threads, env=None):
        cmd = [sys.executable, os.path.abspath(script), "--worker", lib,
               "--threads", str(threads)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.lib = lib
        self.info = self._read()["info"]

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().strip().splitlines()
            raise RuntimeError(f"{self.lib} worker failed: {err[-1] if err else '?'}")
        return json.loads(line)

    def ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(timeout=60)


def fmt(x, spec):
    """x formatted by spec, or "-" for a missing number."""
    return format(x, spec) if x is not None else "-"
