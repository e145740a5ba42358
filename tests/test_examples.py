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


# ---- examples/resnet_blocks.py ----------------------------------------------------------

def load_example(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# block, stage list, widths: small, and covering identity and projection shortcuts (a
# stride-2 stage; for Bottleneck also the channel-only projection of the first block)
RESNET_CASES = [("basic", (2, 1), (4, 8)), ("bottleneck", (2, 1), (4, 8))]


@pytest.mark.parametrize("block,layers,widths", RESNET_CASES)
def test_resnet_blocks_match_torch(block, layers, widths):
    """Same weights and input: same logits, loss, gradients and BatchNorm running stats as
    the torch network make_resnet(torch.nn, ...) builds, in train mode."""
    torch = pytest.importorskip("torch")
    import numpy as np
    import strided
    import strided.nn as snn
    resnet = load_example("resnet_blocks")
    strided.manual_seed(0)
    ours = resnet.make_resnet(snn, block, layers, widths)
    theirs = resnet.make_resnet(torch.nn, block, layers, widths)
    state = {k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)            # strict: the parameter names match torch's
    ours.train(), theirs.train()

    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, 4)
    logits = ours(strided.from_numpy(x))
    loss = snn.CrossEntropyLoss()(logits, strided.from_numpy(y))
    loss.backward()
    t_logits = theirs(torch.from_numpy(x))
    t_loss = torch.nn.CrossEntropyLoss()(t_logits, torch.from_numpy(y))
    t_loss.backward()

    np.testing.assert_allclose(logits.detach().numpy(), t_logits.detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    assert abs(loss.item() - t_loss.item()) < 1e-5 * max(1.0, abs(t_loss.item()))
    ours_p, theirs_p = dict(ours.named_parameters()), dict(theirs.named_parameters())
    names = ["stem.0.weight", "layer1.0.conv1.weight", "layer1.0.bn1.weight",
             "layer2.0.downsample.0.weight", "layer2.0.downsample.1.bias", "fc.weight"]
    for name in names:
        g, tg = ours_p[name].grad.numpy(), theirs_p[name].grad.numpy()
        scale = np.abs(tg).max()
        np.testing.assert_allclose(g, tg, rtol=1e-4, atol=1e-5 * scale, err_msg=name)
    t_buffers = dict(theirs.named_buffers())
    for name, buf in ours.named_buffers():
        np.testing.assert_allclose(buf.numpy(), t_buffers[name].numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)


def test_resnet18_shape_and_parameter_count():
    """The CIFAR-style ResNet-18 has torchvision's parameter count for 10 classes."""
    import strided.nn as snn
    resnet = load_example("resnet_blocks")
    model = resnet.resnet18(snn)
    assert resnet.count_parameters(model) == 11_173_962
    assert [name for name, _ in model.named_children()] == [
        "stem", "layer1", "layer2", "layer3", "layer4", "pool", "fc"]


@pytest.mark.parametrize("extra", [[], ["--bottleneck"]])
def test_resnet_blocks_script_tiny(extra):
    out = run("resnet_blocks.py", "--batch-size", "2", "--image-size", "16", "--width", "4",
              "--steps", "2", "--threads", "1", *extra, timeout=60)
    for stage in ("stem", "layer1", "layer4", "fc", "total"):
        assert stage in out
    assert "(2, 10)" in out                     # the logits' shape
    assert "time per step" in out and "step 2/2" in out
