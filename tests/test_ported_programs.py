"""The PyTorch programs in examples/ported/ (the originals with their import lines changed)
run on strided for a few batches each and their loss goes down; their headers list only
import lines as changed."""
import ast
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTED = os.path.join(ROOT, "examples", "ported")
sys.path.insert(0, PORTED)
import run_ported  # noqa: E402


def _is_import(line):
    tree = ast.parse(line)
    return len(tree.body) == 1 and isinstance(tree.body[0], (ast.Import, ast.ImportFrom))


@pytest.mark.parametrize("name", run_ported.PROGRAMS)
def test_only_import_lines_changed(name):
    path, ported = run_ported.program_source(name, "strided")
    pairs = run_ported.changed_lines(ported)
    body = ported[ported.index("\n# " + "-" * 20):].split("\n")[1:]
    for original, here in pairs:
        assert _is_import(original) and _is_import(here), (original, here)
        assert here in body, f"{here!r} is listed but not in the program"
    # Every line that names strided or localvision is a listed change: put them all back
    # and nothing of strided's is left.
    back = {here: original for original, here in pairs}
    restored = [back.get(line, line) for line in body]
    for line in restored:
        assert "strided" not in line and "localvision" not in line, line
    assert "BSD 3-Clause License" in ported and "Pytorch contributors" in ported


@pytest.mark.parametrize("name", run_ported.PROGRAMS)
def test_torch_variant_is_the_original_with_local_data(name):
    _, ported = run_ported.program_source(name, "strided")
    _, original = run_ported.program_source(name, "torch")
    changed = [(a, b) for a, b in zip(ported.split("\n"), original.split("\n")) if a != b]
    listed = {(here, orig) for orig, here in run_ported.changed_lines(ported)
              if "strided" in here}
    assert set(changed) == listed
    body = original[original.index("\n# " + "-" * 20):]
    assert "strided" not in body


def run(tmp_path, name, *args, lib="strided", timeout=900):
    """Run a ported program through run_ported.py in a subprocess; (its report, the process)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = str(tmp_path / "report.json")
    cmd = [sys.executable, os.path.join(PORTED, "run_ported.py"), name, "--lib", lib,
           "--quiet", "--threads", "1", "--workdir", str(tmp_path / "work"), "--json", out,
           *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out) as f:
        return json.load(f), proc


def mean(xs):
    return sum(xs) / len(xs)


def test_mnist_main_trains(tmp_path):
    pytest.importorskip("sklearn")
    report, proc = run(tmp_path, "mnist_main", "--max-batches", "10", "--", "--epochs", "1")
    assert "not MNIST" in proc.stderr          # the stand-in says what it is
    losses = report["losses"]
    assert len(losses) == 10 and report["train_batches"] == 10
    assert mean(losses[-3:]) < mean(losses[:3]) - 0.1, losses
    assert report["accuracy"] is not None and report["test_loss"] is not None


def test_cifar10_tutorial_trains(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    report, proc = run(tmp_path, "cifar10_tutorial", "--max-batches", "150")
    assert "not CIFAR-10" in proc.stderr
    losses = report["losses"]
    assert len(losses) == 300 and len(report["epoch_s"]) == 2      # two epochs as written
    assert mean(losses[-50:]) < mean(losses[:50]), (mean(losses[:50]), mean(losses[-50:]))
    assert report["accuracy"] is not None


def test_quickstart_tutorial_trains(tmp_path):
    pytest.importorskip("sklearn")
    report, _ = run(tmp_path, "quickstart_tutorial", "--max-batches", "3")
    losses = report["losses"]
    assert len(losses) == 15 and len(report["epoch_s"]) == 5
    # No shuffling: each epoch starts on the same batch, whose loss must fall epoch by epoch.
    firsts = losses[::3]
    assert all(b < a for a, b in zip(firsts, firsts[1:])), firsts
    assert report["accuracy"] is not None


def test_regression_main_converges(tmp_path):
    report, _ = run(tmp_path, "regression_main")
    losses = report["losses"]
    assert report["test_loss"] is not None and report["test_loss"] < 1e-3
    assert losses[0] > 100 * losses[-1]
    assert f"after {len(losses)} batches" in report["stdout"]


def test_load_accepts_torch_keywords(tmp_path):
    """The quickstart tutorial loads with torch.load(path, weights_only=True)."""
    import strided
    path = str(tmp_path / "model.pth")
    strided.save({"w": strided.arange(3.0)}, path)
    for kwargs in ({"weights_only": True}, {"weights_only": False},
                   {"map_location": "cpu"}, {"map_location": strided.device("cpu")}):
        assert strided.load(path, **kwargs)["w"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="cuda"):
        strided.load(path, map_location="cuda:0")
    with pytest.raises(TypeError):
        strided.load(path, weights_only="yes")
