"""PyTorch programs run on strided with only their import lines changed
(examples/ported/run_ported.py ports them mechanically): the porting changes import lines
and nothing else, a torch-style training program written here trains through it, and the
four public programs of the README train for a few batches when their checkouts are given
(PYTORCH_EXAMPLES, PYTORCH_TUTORIALS; strided does not ship them)."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTED = os.path.join(ROOT, "examples", "ported")
sys.path.insert(0, PORTED)
import run_ported  # noqa: E402

# A small program in PyTorch's usual style (written for this test): data, a model, an
# optimizer and a scheduler, a DataLoader with workers, save/load and a printed accuracy.
PROGRAM = """
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((512, 20)), dtype=torch.float32)
w = torch.tensor(rng.standard_normal((20, 3)), dtype=torch.float32)
y = (x @ w).argmax(1)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, num_workers=2)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 64)
        self.fc2 = nn.Linear(64, 3)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)

model = Net().to(device)
opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
sched = StepLR(opt, step_size=1, gamma=0.7)
for epoch in range(3):
    model.train()
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        opt.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        opt.step()
    sched.step()
model.eval()
with torch.no_grad():
    correct = model(x.to(device)).argmax(dim=1).eq(y).sum().item()
torch.save(model.state_dict(), "net.pt")
model.load_state_dict(torch.load("net.pt", weights_only=True))
print(f"Accuracy: {100.0 * correct / len(x):.1f}%, Avg loss: {loss.item():.4f}")
"""


def test_port_changes_import_lines_only():
    ported, changed = run_ported.port(PROGRAM)
    before, after = PROGRAM.split("\n"), ported.split("\n")
    assert len(before) == len(after)
    diff = [(a, b) for a, b in zip(before, after) if a != b]
    assert diff == changed and len(diff) == 6
    for a, b in diff:
        assert run_ported._is_import(a) and run_ported._is_import(b)
        assert "strided" in b and "torch" in a
    assert "strided" not in run_ported.port(PROGRAM, "torch")[0]


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


def needs(name):
    if not run_ported.available(name):
        pytest.skip(f"{name}: its checkout is not given ({run_ported.PROGRAMS[name][0]})")


def test_a_torch_style_program_trains_on_strided(tmp_path):
    path = tmp_path / "program.py"
    path.write_text(PROGRAM)
    report, _ = run(tmp_path, str(path))
    losses = report["losses"]
    assert len(losses) == 48 and len(report["passes"]) == 3
    assert sum(losses[-8:]) < sum(losses[:8]) / 2, losses
    assert report["accuracy"] is not None and report["accuracy"] > 80


# The newer PyTorch idioms: layers built with device=, a gradient hook, torchvision's MNIST
# .data as a uint8 tensor, transforms.Lambda, save_image.
PROGRAM_DEVICE_HOOKS = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import datasets, transforms
from torchvision.utils import save_image

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
ds = datasets.MNIST("data", train=True, download=True,
                    transform=transforms.Compose([transforms.ToTensor(),
                                                  transforms.Lambda(lambda x: torch.flatten(x))]))
assert ds.data.dtype == torch.uint8 and ds.data.dim() == 3
images = ds.data.unsqueeze(1).clone().float() / 255
assert ds[0][0].shape == (784,)
loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)
model = nn.Sequential(nn.Linear(784, 64, device=device), nn.ReLU(),
                      nn.Linear(64, 10, True, device, torch.float32))
norms = []
model[0].weight.register_hook(lambda g: norms.append(g.norm().item()))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for data, target in loader:
    opt.zero_grad()
    loss = F.cross_entropy(model(data.to(device)), target.to(device))
    loss.backward()
    opt.step()
save_image(images[:16], "grid.png", nrow=4)
with open("hooks.txt", "w") as f:
    f.write(f"hook calls {len(norms)}, all positive {all(n > 0 for n in norms)}")
"""


def test_a_program_with_device_arguments_hooks_and_transforms(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("PIL")
    path = tmp_path / "program.py"
    path.write_text(PROGRAM_DEVICE_HOOKS)
    report, proc = run(tmp_path, str(path), "--max-batches", "12")
    losses = report["losses"]
    assert len(losses) == 12, proc.stdout + proc.stderr
    work = tmp_path / "work"
    assert (work / "hooks.txt").read_text() == "hook calls 12, all positive True"
    assert (work / "grid.png").stat().st_size > 100
    assert mean(losses[-3:]) < mean(losses[:3]), losses


def test_mnist_main_trains(tmp_path):
    needs("mnist_main")
    pytest.importorskip("sklearn")
    report, proc = run(tmp_path, "mnist_main", "--max-batches", "10", "--", "--epochs", "1")
    assert "not MNIST" in proc.stderr          # the stand-in says what it is
    losses = report["losses"]
    assert len(losses) == 10 and report["train_batches"] == 10
    assert mean(losses[-3:]) < mean(losses[:3]) - 0.1, losses
    assert report["accuracy"] is not None and report["test_loss"] is not None


def test_cifar10_tutorial_trains(tmp_path):
    needs("cifar10_tutorial")
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    report, proc = run(tmp_path, "cifar10_tutorial", "--max-batches", "150")
    assert "not CIFAR-10" in proc.stderr
    losses = report["losses"]
    assert len(losses) == 300 and len(report["epoch_s"]) == 2      # two epochs as written
    assert mean(losses[-50:]) < mean(losses[:50]), (mean(losses[:50]), mean(losses[-50:]))
    assert report["accuracy"] is not None


def test_quickstart_tutorial_trains(tmp_path):
    needs("quickstart_tutorial")
    pytest.importorskip("sklearn")
    report, _ = run(tmp_path, "quickstart_tutorial", "--max-batches", "3")
    losses = report["losses"]
    assert len(losses) == 15 and len(report["epoch_s"]) == 5
    # No shuffling: each epoch starts on the same batch, whose loss must fall epoch by epoch.
    firsts = losses[::3]
    assert all(b < a for a, b in zip(firsts, firsts[1:])), firsts
    assert report["accuracy"] is not None


def test_regression_main_converges(tmp_path):
    needs("regression_main")
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
