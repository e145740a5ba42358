"""Receptive fields of LeNet, the digits CNN and ResNet-18, from the formulas and measured.

    python examples/receptive_field.py

strided.nn.utils.summary prints each layer's output shape, parameter count and receptive
field (size, jump and start over the input, per spatial dim); receptive_field gives the
field of the model's output and the window of any output pixel.  The measurement: with
every weight and input positive (max pooling swapped for average pooling of the same
geometry, batch norm in eval mode), the input gradient of one output pixel is non-zero
exactly on the input pixels it depends on.  Windows are clipped to the image: near the
borders part of a field lies in the padding.
"""
import os
import sys

import strided
import strided.nn as nn
from strided.nn.utils import receptive_field, summary

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet_blocks import resnet18          # noqa: E402
from train_digits import make_model         # noqa: E402


def lenet(classifier=True):
    """LeNet-5 for 28x28 images (padding 2 on the first convolution)."""
    layers = [nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
              nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)]
    if classifier:
        layers += [nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84),
                   nn.ReLU(), nn.Linear(84, 10)]
    return nn.Sequential(*layers)


def positive(model):
    """The model made for measuring: average instead of max pooling, positive weights,
    eval mode (float64)."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.MaxPool2d):
            setattr(model, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding))
        else:
            positive(child)
    with strided.no_grad():
        for p in model.parameters():
            p.uniform_(0.01, 0.1)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
    return model.eval().double()


def measure(model, input_size, index):
    """((first, last) rows, (first, last) columns, pixel count) where the input gradient
    of output pixel `index` (channel 0) is non-zero."""
    x = (strided.rand(1, *input_size, dtype=strided.float64) + 0.1).requires_grad_()
    out = model(x)
    out[(0, 0) + tuple(index)].backward()
    touched = (x.grad[0].abs().sum(0) != 0).numpy()
    rows = touched.any(axis=1).nonzero()[0]
    cols = touched.any(axis=0).nonzero()[0]
    return (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1])), int(touched.sum())


def check(title, model, input_size, indices):
    model = positive(model)
    rf = receptive_field(model, input_size, dtype=strided.float64)
    print(f"{title}: field {rf.size[0]}x{rf.size[1]}, jump {rf.jump[0]}, start "
          f"{rf.start[0]:g} on a {input_size[1]}x{input_size[2]} input")
    for index in indices:
        predicted = rf.window(*index)
        rows, cols, count = measure(model, input_size, index)
        area = (predicted[0][1] - predicted[0][0] + 1) * (predicted[1][1] - predicted[1][0] + 1)
        ok = (rows, cols) == predicted and count == area
        clipped = " (clipped)" if rf.unclipped_window(*index) != predicted else ""
        print(f"  output pixel {str(index):8} predicted rows {predicted[0]}, cols {predicted[1]}"
              f"{clipped}; gradient non-zero on rows {rows}, cols {cols}, {count} pixels: "
              f"{'match' if ok else 'MISMATCH'}")
    return rf


def main():
    strided.manual_seed(0)
    print("LeNet-5 on 28x28 images")
    summary(lenet(), (1, 28, 28))
    print()
    print("The digits CNN (examples/train_digits.py) on 8x8 images")
    summary(make_model(nn, "cnn"), (1, 8, 8))
    print()
    print("ResNet-18 (examples/resnet_blocks.py) on 32x32 images: the last layer of each stage")
    rows = summary(resnet18(nn), (3, 32, 32), print_fn=None)
    last = {}
    for row in rows:
        last[row["name"].split(".")[0]] = row
    for stage, row in last.items():
        print(f"  {stage:7} {str(list(row['output_shape'])):17} field "
              f"{row['field'][0]:>3}, jump {row['jump'][0]:>2}, start {row['start'][0]:g}")
    print()
    print("Checked by autograd:")
    check("LeNet features", lenet(classifier=False), (1, 28, 28), [(0, 0), (2, 3), (4, 4)])
    check("LeNet logits", lenet(), (1, 28, 28), [()])
    check("digits CNN features", nn.Sequential(*list(make_model(nn, "cnn"))[:6]), (1, 8, 8),
          [(0, 0), (1, 1)])
    model = resnet18(nn)
    check("ResNet-18 through layer2", nn.Sequential(model.stem, model.layer1, model.layer2),
          (3, 48, 48), [(12, 12), (0, 0)])
    check("ResNet-18 logits", model, (3, 32, 32), [()])


if __name__ == "__main__":
    main()
