"""The examples run end to end (short mode) so they cannot rot."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def run(script, *args, timeout=600):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.parametrize("model", ["cnn", "mlp"])
def test_train_digits_short_run_and_evaluate(tmp_path, model):
    pytest.importorskip("sklearn")
    out = run("train_digits.py", "--model", model, "--epochs", "2", "--quiet",
              "--out", str(tmp_path))
    lines = [l for l in out.splitlines() if l.startswith("epoch")]
    assert len(lines) == 2
    accuracy = float(lines[-1].split("test accuracy")[1].split("%")[0])
    assert accuracy > 80.0, out          # two epochs: well above chance (10%)
    ckpt = tmp_path / f"{model}.ckpt"
    assert ckpt.exists()
    evaluated = run("train_digits.py", "--evaluate", str(ckpt))
    assert f"test accuracy {accuracy:.2f}%" in evaluated, (out, evaluated)


def test_train_digits_help():
    out = run("train_digits.py", "--help")
    for flag in ("--epochs", "--batch-size", "--lr", "--threads", "--seed", "--out",
                 "--data-dir", "--evaluate"):
        assert flag in out


def test_train_digits_on_idx_files(tmp_path):
    """--data-dir reads MNIST-format IDX files (here tiny synthetic 12x12 ones)."""
    import numpy as np
    import struct
    rng = np.random.default_rng(0)

    def write(name, arr):
        head = bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
        (tmp_path / name).write_bytes(head + arr.astype(np.uint8).tobytes())

    for prefix, n in (("train", 64), ("t10k", 32)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 50, (n, 12, 12))
        for i, label in enumerate(labels):          # a learnable pattern: a bright row
            images[i, label, :] = 255
        write(f"{prefix}-images-idx3-ubyte", images)
        write(f"{prefix}-labels-idx1-ubyte", labels)
    out = run("train_digits.py", "--data-dir", str(tmp_path), "--epochs", "3", "--quiet",
              "--batch-size", "16", "--out", str(tmp_path / "run"))
    assert "epoch   3/3" in out
    evaluated = run("train_digits.py", "--data-dir", str(tmp_path), "--evaluate",
                    str(tmp_path / "run" / "cnn.ckpt"))
    assert "test accuracy" in evaluated
