"""Run the examples the gallery shows and save what they print and draw.

    python docs/gallery/run_examples.py            # all of them (about a minute on 2 cores)
    python docs/gallery/run_examples.py tensor_views train_digits

Each example runs as a user would run it, from the repository's root, with the command its
gallery page names.  Its standard output goes to docs/gallery/output/NAME.txt, under a
header saying when and on which CPU it ran; its pictures go to docs/gallery/output/.  The
gallery pages include these files, so the pages show real runs without running the
examples at every docs build (ResNet-18 alone takes several seconds a step).  Rerun this
script after changing an example and commit its output.
"""
from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "output")

# name -> (arguments after "python", pictures to keep: {file the run writes: saved name})
EXAMPLES = {
    "tensor_views": (["examples/tensor_views.py", "--png", "{tmp}"],
                     {"03_v.png": "tensor_views_slice.png",
                      "07_e.png": "tensor_views_expand.png",
                      "08_w.png": "tensor_views_unfold.png",
                      "09_f.png": "tensor_views_flip.png"}),
    "train_digits": (["examples/train_digits.py", "--quiet", "--threads", "1",
                      "--out", "{tmp}"],
                     {"cnn.png": "train_digits_cnn.png"}),
    "resnet_blocks": (["examples/resnet_blocks.py", "--steps", "3", "--threads", "1"], {}),
}
# The timed examples run on one thread: on a machine shared with other jobs a two-thread
# run waits for the busy core at every parallel region (several times slower), while one
# thread keeps its idle speed.


def cpu_model() -> str:
    """The CPU's model name as lscpu shows it (strided.show_config's)."""
    import strided
    return strided.show_config("dicts")["cpu"]["name"]


def run(name: str) -> None:
    args, pictures = EXAMPLES[name]
    with tempfile.TemporaryDirectory() as tmp:
        argv = [a.format(tmp=tmp) for a in args]
        path = os.pathsep.join(p for p in [ROOT, os.environ.get("PYTHONPATH")] if p)
        env = dict(os.environ, PYTHONPATH=path, MPLBACKEND="Agg")
        proc = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, text=True,
                              capture_output=True)
        if proc.returncode != 0:
            sys.exit(f"{name} failed (exit {proc.returncode}):\n{proc.stderr}")
        shown = " ".join(a if a != tmp else "DIR" for a in argv)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        header = (f"$ python {shown}\n"
                  f"# recorded by docs/gallery/run_examples.py on {stamp}\n"
                  f"# {cpu_model()}, {os.cpu_count()} cores, load average {load:.1f}\n")
        text = proc.stdout.replace(tmp, "DIR")
        with open(os.path.join(OUT, f"{name}.txt"), "w") as f:
            f.write(header + text)
        for made, saved in pictures.items():
            shutil.copyfile(os.path.join(tmp, made), os.path.join(OUT, saved))
    print(f"{name}: {len(text.splitlines())} lines, {len(pictures)} pictures")


def main() -> None:
    names = sys.argv[1:] or list(EXAMPLES)
    unknown = [n for n in names if n not in EXAMPLES]
    if unknown:
        sys.exit(f"unknown example(s) {unknown}; expected some of {list(EXAMPLES)}")
    os.makedirs(OUT, exist_ok=True)
    for name in names:
        run(name)


if __name__ == "__main__":
    main()
