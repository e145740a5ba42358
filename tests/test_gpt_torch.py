"""examples/train_gpt.py: its GPT trains like PyTorch's on the same weights and batches, and
the script runs end to end (a tiny configuration)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import strided

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))
import train_gpt  # noqa: E402


def pair(name, dtype, **config):
    """The example's model in strided and in torch, torch's weights copied into strided's."""
    torch.manual_seed(0)
    theirs = train_gpt.make_model(torch.nn, name, 23, **config).to(dtype)
    ours = train_gpt.make_model(strided.nn, name, 23, **config)
    state = {k: strided.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    return ours.to(getattr(strided, str(dtype).split(".")[1])), theirs


def optimizers(ours, theirs, iters=6):
    made = []
    for lib, model in ((strided, ours), (torch, theirs)):
        decay = [p for p in model.parameters() if p.dim() >= 2]
        rest = [p for p in model.parameters() if p.dim() < 2]
        opt = lib.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                               {"params": rest, "weight_decay": 0.0}], lr=3e-3,
                              betas=(0.9, 0.99))
        sched = lib.optim.lr_scheduler.SequentialLR(opt, [
            lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=2),
            lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=iters - 2)], milestones=[2])
        made.append((opt, sched))
    return made


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-9), (torch.float32, 2e-4)])
@pytest.mark.parametrize("name,config", [
    ("gpt", dict(block=16, n_layer=2, n_head=2, n_embd=32)),
    ("gpt", dict(block=9, n_layer=1, n_head=4, n_embd=16)),
    ("lstm", dict(block=12, n_embd=16, hidden=24))], ids=str)
def test_training_steps_match_torch(dtype, tol, name, config):
    """Loss and every parameter after a few AdamW steps (weight-decay groups, warm-up then
    cosine, gradient clipping) equal PyTorch's on the same weights and batches, for the GPT
    (its tied head stays tied) and the LSTM language model."""
    ours, theirs = pair(name, dtype, **config)
    (opt_s, sched_s), (opt_t, sched_t) = optimizers(ours, theirs)
    rs = np.random.RandomState(0)
    block = config["block"]
    for step in range(6):
        t = block if step % 2 == 0 else block - 3           # full and shorter contexts
        idx = rs.randint(0, 23, (4, t + 1))
        losses = []
        for lib, model, opt in ((strided, ours, opt_s), (torch, theirs, opt_t)):
            x, y = lib.tensor(idx[:, :-1]), lib.tensor(idx[:, 1:])
            loss = train_gpt.loss_of(model, x, y) if lib is strided else \
                torch.nn.functional.cross_entropy(model(x).reshape(-1, 23), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
        sched_s.step()
        sched_t.step()
        assert abs(losses[0] - losses[1]) <= tol * max(1.0, abs(losses[1])), (step, losses)
    theirs_state = theirs.state_dict()
    for name, p in ours.state_dict().items():
        np.testing.assert_allclose(p.numpy(), theirs_state[name].detach().numpy(), rtol=tol,
                                   atol=tol, err_msg=name)
    if name == "gpt":
        assert ours.head.weight is ours.tok.weight


def test_batches_are_views_of_the_text():
    data = np.arange(50, dtype=np.int64) % 7
    b = train_gpt.Batches(data, 8, 5, strided.Generator(1))
    assert b.windows.shape == (42, 9) and b.windows.stride() == (1, 1)
    x, y = b()
    assert x.shape == y.shape == (5, 8)
    # each target row is its input row shifted by one character of the text
    for xr, yr in zip(x.numpy(), y.numpy()):
        start = next(s for s in range(42) if (data[s:s + 8] == xr).all()
                     and (data[s + 1:s + 9] == yr).all())
        assert start >= 0
    with pytest.raises(ValueError, match="fewer than a block"):
        train_gpt.Batches(data[:8], 8, 5, strided.Generator(1))


def test_vocabulary_round_trip_and_unknown_characters():
    v = train_gpt.Vocabulary("hello world")
    assert v.decode(v.encode("low")) == "low"
    with pytest.raises(ValueError, match="not in the training text"):
        v.encode("xyz")


def run(*args, timeout=600):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "train_gpt.py"),
                           *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.parametrize("model", ["gpt", "lstm"])
def test_train_gpt_script_tiny(tmp_path, model):
    """A tiny run trains (validation loss well below a uniform guess's ln 103 = 4.63),
    saves a checkpoint and a sample; --sample reloads it."""
    out = run("--model", model, "--iters", "60", "--layers", "1", "--heads", "2", "--width",
              "32", "--hidden", "32", "--block", "16", "--batch-size", "16", "--eval-every",
              "30", "--eval-iters", "2", "--sample-chars", "40", "--quiet", "--threads", "1",
              "--out", str(tmp_path))
    val = float(out.split("final validation loss")[1].split()[0])
    assert val < 3.6, out
    sample = out.split("---- sample ----\n")[1]
    assert sample.startswith("The ") and len(sample.rstrip("\n")) >= 44, sample
    assert (tmp_path / f"{model}.ckpt").exists()
    again = run("--sample", str(tmp_path / f"{model}.ckpt"), "--prompt", "def",
                "--sample-chars", "20")
    assert again.startswith("def") and len(again.rstrip("\n")) >= 23
