"""strided.nn.utils.summary / receptive_field: the formula's worked examples (sizes, jumps,
starts), residual branches, pooling, and the field measured by autograd -- the non-zero
region of the input gradient of one output pixel -- for LeNet, the digits CNN and
ResNet-18 (examples/resnet_blocks.py).

Measuring: all weights and inputs positive (max pooling replaced by average pooling with
the same geometry, batch norm in eval mode with positive statistics), so that no ReLU cuts
a path and no contributions cancel; then the gradient is non-zero exactly on the input
pixels the output pixel depends on.  Near the borders the predicted window is clipped to
the image (ReceptiveField.window); the unclipped size is what summary prints."""
import importlib.util
import os

import numpy as np
import pytest

import strided
import strided.nn as nn
from strided.nn.utils import receptive_field, summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples",
                                                                       name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------- the formula

@pytest.mark.parametrize("layers, size, jump, start", [
    ([nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)], 5, 1, 2.0),               # 3x3 twice: 5x5
    ([nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3)], 7, 2, 3.0),     # stride 2 first
    ([nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, stride=2)], 5, 2, 2.0),     # stride 2 last
    ([nn.Conv2d(1, 1, 3, stride=2)] * 3, 15, 8, 7.0),
    ([nn.Conv2d(1, 1, 3, dilation=2)], 5, 1, 2.0),                       # k_eff = 5
    ([nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, dilation=2), nn.Conv2d(1, 1, 3, dilation=4)],
     15, 1, 7.0),                                                         # 3 + 4 + 8
    ([nn.Conv2d(1, 1, 3, padding=1)] * 2, 5, 1, 0.0),                    # padding moves start
    ([nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, padding=1)],
     8, 2, 0.5),
    ([nn.AvgPool2d(2), nn.AvgPool2d(2)], 4, 4, 1.5),
    ([nn.Conv2d(1, 1, 7, stride=2, padding=3), nn.MaxPool2d(3, stride=2, padding=1)],
     11, 4, 0.0),                                                         # ImageNet stem
    ([nn.Conv2d(1, 1, 5, padding="same"), nn.ReLU(), nn.Conv2d(1, 1, 3, padding="valid")],
     7, 1, 1.0),
])
def test_formula(layers, size, jump, start):
    model = nn.Sequential(*layers)
    rf = receptive_field(model, (1, 33, 33))
    assert rf.size == (size, size) and rf.jump == (jump, jump) and rf.start == (start, start)
    # the backward rule F_in = (F_out - 1) * s + k_eff gives the same size
    F = 1
    for layer in reversed([m for m in layers if hasattr(m, "kernel_size")]):
        k = layer.kernel_size[0] if isinstance(layer.kernel_size, tuple) else layer.kernel_size
        s = layer.stride[0] if isinstance(layer.stride, tuple) else layer.stride
        d = getattr(layer, "dilation", 1)
        d = d[0] if isinstance(d, tuple) else d
        F = (F - 1) * s + d * (k - 1) + 1
    assert F == size


def test_rectangular_kernels_and_1d():
    model = nn.Sequential(nn.Conv2d(1, 1, (3, 5), stride=(1, 2)), nn.Conv2d(1, 1, (3, 3)))
    rf = receptive_field(model, (1, 20, 30))
    assert rf.size == (5, 9) and rf.jump == (1, 2)
    rf1 = receptive_field(nn.Sequential(nn.Conv1d(2, 2, 3, stride=2), nn.MaxPool1d(2),
                                        nn.Conv1d(2, 2, 3)), (2, 40))
    assert rf1.size == (3 + 2 + 4 * 2,) and rf1.jump == (4,)


def test_summary_rows_and_totals(capsys):
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    rows = summary(model, (1, 8, 8))
    out = capsys.readouterr().out
    assert [r["type"] for r in rows] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert [r["output_shape"] for r in rows] == [(1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 4, 4),
                                                (1, 64), (1, 3)]
    assert [r["params"] for r in rows] == [40, 0, 0, 0, 195]
    assert rows[0]["field"] == (3, 3) and rows[2]["field"] == (4, 4)
    assert rows[2]["jump"] == (2, 2) and rows[2]["start"] == (0.5, 0.5)
    # flattening: the logits see the whole 8x8 input
    rf = receptive_field(model, (1, 8, 8))
    assert rf.window(0, 0) == ((0, 7), (0, 7))
    assert "total params: 235 (trainable 235)" in out
    assert "not clipped" in out


def test_summary_restores_modes_and_counts_each_call():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), relu, nn.Conv2d(2, 2, 3), relu)
    model.train()
    before = model[1].running_mean.clone()
    rows = summary(model, (1, 10, 10), print_fn=None)
    assert model.training and model[1].training
    assert (model[1].running_mean == before).all()
    assert [r["field"] for r in rows] == [(3, 3)] * 3 + [(5, 5)] * 2


class _Residual(nn.Module):
    """conv(k) + shortcut(1x1 or identity): the sum's field is the larger branch's."""

    def __init__(self, k, dilation=1, project=False):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, k, padding=dilation * (k - 1) // 2, dilation=dilation)
        self.short = nn.Conv2d(2, 2, 1) if project else None
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x) + (self.short(x) if self.short is not None else x))


def test_residual_branches_take_the_largest_field():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), _Residual(5), _Residual(3, project=True),
                          _Residual(3, dilation=2))
    rows = summary(model, (1, 32, 32), print_fn=None)
    relus = [r["field"] for r in rows if r["type"] == "ReLU"]
    assert relus == [(7, 7), (9, 9), (13, 13)]
    assert receptive_field(model, (1, 32, 32)).size == (13, 13)


def test_unknown_spatial_change_and_bad_input():
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2))
    rows = summary(model, (1, 8, 8), print_fn=None)
    assert rows[-1]["field"] is None
    with pytest.raises(RuntimeError, match="spatial shape"):
        receptive_field(model, (1, 8, 8))
    with pytest.raises(ValueError, match="input_size"):
        summary(nn.Conv2d(1, 1, 3), (8,))
    with pytest.raises(ValueError, match="indices"):
        receptive_field(nn.Conv2d(1, 1, 3), (1, 8, 8)).window(1)


# -------------------------------------------------------------- measured by autograd

def _positive(model):
    """A copy-free preparation: max pooling -> average pooling of the same geometry,
    every parameter and BN statistic positive, eval mode."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.MaxPool2d):
            setattr(model, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding))
        else:
            _positive(child)
    with strided.no_grad():
        for p in model.parameters():
            p.uniform_(0.01, 0.1)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
    return model.eval()


def _measured(model, input_size, index):
    x = (strided.rand(1, *input_size, dtype=strided.float64) + 0.1).requires_grad_()
    out = model(x)
    out[(0, 0) + tuple(index)].backward()
    touched = (x.grad[0].abs().sum(0) != 0).numpy()
    return touched


def _check(model, input_size, indices):
    model = _positive(model).double()
    rf = receptive_field(model, input_size, dtype=strided.float64)
    for index in indices:
        touched = _measured(model, input_size, index)
        (r0, r1), (c0, c1) = rf.window(*index)
        expected = np.zeros_like(touched)
        expected[r0:r1 + 1, c0:c1 + 1] = True
        assert (touched == expected).all(), (index, rf, np.argwhere(touched)[[0, -1]])
        (u0, u1), (v0, v1) = rf.unclipped_window(*index)
        assert (u1 - u0 + 1, v1 - v0 + 1) == rf.size
    return rf


def test_measured_guide_network():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Conv2d(4, 8, 3, padding=2, dilation=2), nn.ReLU(),
                          nn.Conv2d(8, 8, 3, stride=2, padding=1))
    rf = _check(model, (1, 32, 32), [(3, 4), (0, 0), (7, 7), (0, 5)])
    assert rf.size == (16, 16) and rf.jump == (4, 4)


def _lenet(classifier=True):
    features = [nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)]
    head = [nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10)]
    return nn.Sequential(*(features + (head if classifier else [])))


def test_measured_lenet():
    # the last pooling layer's pixels: 16x16 fields 4 pixels apart, clipped at the borders
    rf = _check(_lenet(classifier=False), (1, 28, 28), [(0, 0), (2, 3), (4, 4), (4, 0)])
    assert rf.size == (16, 16) and rf.jump == (4, 4) and rf.start == (5.5, 5.5)
    # the logits see the whole image
    rf = receptive_field(_lenet(), (1, 28, 28))
    touched = _measured(_positive(_lenet()).double(), (1, 28, 28), ())
    assert touched.all() and rf.window() == ((0, 27), (0, 27))


def test_measured_digits_cnn():
    make_model = _example("train_digits").make_model
    features = nn.Sequential(*list(make_model(nn, "cnn"))[:6])
    rf = _check(features, (1, 8, 8), [(0, 0), (1, 1), (0, 1)])
    assert rf.size == (10, 10) and rf.jump == (4, 4)
    full = _positive(make_model(nn, "cnn")).double()
    assert receptive_field(full, (1, 8, 8), dtype=strided.float64).window() == ((0, 7), (0, 7))
    assert _measured(full, (1, 8, 8), ()).all()


def test_measured_resnet18():
    resnet18 = _example("resnet_blocks").resnet18
    model = resnet18(nn, width=4)
    rows = summary(model, (3, 32, 32), print_fn=None)
    assert sum(r["params"] for r in rows if r["type"] != "ReLU") == sum(
        p.numel() for p in model.parameters())
    stage = {r["name"]: r["field"] for r in rows}
    assert stage["stem.0"] == (3, 3) and stage["layer1.1.relu"] == (11, 11)
    assert stage["layer4.1.relu"] == (109, 109)
    # through layer2: a 25x25 field with jump 2, checked by the gradient inside the image
    # and clipped at its corners
    trunk = nn.Sequential(model.stem, model.layer1, model.layer2)
    rf = _check(trunk, (3, 48, 48), [(12, 12), (0, 0), (23, 5)])
    assert rf.size == (25, 25) and rf.jump == (2, 2)
    # the whole network (global pooling, fc): every input pixel
    full = _positive(model).double()
    assert receptive_field(full, (3, 32, 32), dtype=strided.float64).window() == ((0, 31), (0, 31))
    assert _measured(full, (3, 32, 32), ()).all()


def test_example_script():
    """examples/receptive_field.py: every predicted window matches the measured one."""
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "receptive_field.py")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": match") == 9 and "MISMATCH" not in proc.stdout, proc.stdout
    assert "output receptive field 32x32, jump 20x20" in proc.stdout          # LeNet
    assert "layer4  [1, 512, 4, 4]    field 109, jump  8" in proc.stdout     # ResNet-18
