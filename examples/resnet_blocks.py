"""ResNet building blocks with strided: BasicBlock, Bottleneck and a ResNet-18 for 32x32 inputs.

    python examples/resnet_blocks.py                      # ResNet-18 (CIFAR stem), batch 32
    python examples/resnet_blocks.py --steps 5 --threads 2
    python examples/resnet_blocks.py --bottleneck         # ResNet-50-style stages
    python examples/resnet_blocks.py --batch-size 2 --image-size 16 --width 8   # tiny

The script builds the network, prints each stage's output shape and parameter count, then
times forward + backward + an SGD step (momentum 0.9) on a random batch.  The first step is
reported on its own (it allocates the gradients and momentum buffers); with --steps > 1 the
median of the later steps is the time per step.

The blocks follow the ResNet paper (He et al. 2015) as torchvision writes them:
  BasicBlock  3x3 conv(stride) - BN - ReLU - 3x3 conv - BN, + shortcut, ReLU
  Bottleneck  1x1 conv (reduce) - BN - ReLU - 3x3 conv(stride) - BN - ReLU
              - 1x1 conv (expand x4) - BN, + shortcut, ReLU
The shortcut is the identity, or a 1x1 conv(stride) + BN projection when the stride is not 1
or the channel count changes.  For 32x32 images the stem is a single 3x3 conv to 64 channels
(no 7x7 conv, no max-pool), as in the paper's CIFAR experiments; four stages of blocks at
64/128/256/512 channels (strides 1, 2, 2, 2) give 32, 16, 8 and 4 pixel maps, then a global
average pool and a linear layer.  ResNet-18 is [2, 2, 2, 2] BasicBlocks (11.2M parameters);
--bottleneck builds [3, 4, 6, 3] Bottlenecks (ResNet-50's stage list, 23.5M parameters).

Everything is written against the torch.nn API only (the `nn` argument), so
make_resnet(torch.nn, ...) builds the same network in PyTorch with the same parameter names
(tests/test_examples.py checks outputs and gradients against torch; benchmarks/bench_train.py
times both).
"""
import argparse
import functools
import statistics
import time
from collections import OrderedDict

import numpy as np


@functools.lru_cache(maxsize=None)
def make_blocks(nn):
    """The (BasicBlock, Bottleneck) classes built on `nn` (strided.nn or torch.nn).

    Both take (in_channels, channels, stride) and output channels * expansion channels;
    parameter names match torchvision's (conv1, bn1, ..., downsample.0/1)."""

    def shortcut(in_channels, out_channels, stride):
        """None (identity) or the 1x1 conv + BN projection when the shape changes."""
        if stride == 1 and in_channels == out_channels:
            return None
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                             nn.BatchNorm2d(out_channels))

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, in_channels, channels, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1,
                                   bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)
            self.relu = nn.ReLU()
            self.downsample = shortcut(in_channels, channels, stride)

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, in_channels, channels, stride=1):
            super().__init__()
            out_channels = channels * self.expansion
            self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)
            self.conv3 = nn.Conv2d(channels, out_channels, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(out_channels)
            self.relu = nn.ReLU()
            self.downsample = shortcut(in_channels, out_channels, stride)

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + identity)

    return BasicBlock, Bottleneck


def make_resnet(nn, block="basic", layers=(2, 2, 2, 2), widths=(64, 128, 256, 512),
                num_classes=10, in_channels=3):
    """A ResNet for small (CIFAR-sized) images as an nn.Sequential of named stages:
    stem (3x3 conv - BN - ReLU), layer1..layerK (blocks; the first block of every stage
    but the first has stride 2), pool (global average + flatten), fc.

    block is "basic" or "bottleneck"; layers[i] blocks of widths[i] channels in stage i.
    The defaults are ResNet-18; make_resnet(nn, "bottleneck", (3, 4, 6, 3)) is ResNet-50's
    stage list."""
    BasicBlock, Bottleneck = make_blocks(nn)
    cls = {"basic": BasicBlock, "bottleneck": Bottleneck}[block]
    stages = OrderedDict(stem=nn.Sequential(
        nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
        nn.BatchNorm2d(widths[0]), nn.ReLU()))
    channels = widths[0]
    for i, (count, width) in enumerate(zip(layers, widths)):
        blocks = []
        for j in range(count):
            stride = 2 if i > 0 and j == 0 else 1
            blocks.append(cls(channels, width, stride))
            channels = width * cls.expansion
        stages[f"layer{i + 1}"] = nn.Sequential(*blocks)
    stages["pool"] = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    stages["fc"] = nn.Linear(channels, num_classes)
    return nn.Sequential(stages)


def resnet18(nn, num_classes=10, width=64):
    return make_resnet(nn, "basic", (2, 2, 2, 2), tuple(width * m for m in (1, 2, 4, 8)),
                       num_classes)


def resnet50_stages(nn, num_classes=10, width=64):
    return make_resnet(nn, "bottleneck", (3, 4, 6, 3), tuple(width * m for m in (1, 2, 4, 8)),
                       num_classes)


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())


def stage_summary(model, x):
    """[(stage name, output shape, parameter count)] running x through the stages."""
    rows = []
    for name, stage in model.named_children():
        x = stage(x)
        rows.append((name, tuple(x.shape), count_parameters(stage)))
    return rows


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--batch-size", type=int, default=32, help="images per step")
    p.add_argument("--image-size", type=int, default=32, help="height and width of the images")
    p.add_argument("--width", type=int, default=64,
                   help="channels of the first stage (the others are 2x, 4x, 8x)")
    p.add_argument("--bottleneck", action="store_true",
                   help="ResNet-50-style stages: [3, 4, 6, 3] Bottleneck blocks")
    p.add_argument("--steps", type=int, default=1, help="training steps to time")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for strided's kernels (default: all cores)")
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    p.add_argument("--seed", type=int, default=0, help="seeds the weights and the batch")
    args = p.parse_args(argv)
    if min(args.batch_size, args.image_size, args.width, args.steps) < 1:
        p.error("--batch-size, --image-size, --width and --steps must be positive")
    if args.batch_size * (args.image_size // 8) ** 2 < 2:
        p.error("BatchNorm needs more than one value per channel in the last stage: "
                "raise --batch-size or --image-size")
    return args


def main(argv=None):
    import strided
    import strided.nn as nn
    import strided.optim as optim

    args = parse_args(argv)
    if args.threads is not None:
        strided.set_num_threads(args.threads)
    strided.manual_seed(args.seed)
    build = resnet50_stages if args.bottleneck else resnet18
    model = build(nn, width=args.width)
    name = "ResNet-50 stages (Bottleneck)" if args.bottleneck else "ResNet-18 (BasicBlock)"

    rng = np.random.default_rng(args.seed)
    shape = (args.batch_size, 3, args.image_size, args.image_size)
    x = strided.from_numpy(rng.standard_normal(shape, dtype=np.float32))
    y = strided.from_numpy(rng.integers(0, 10, args.batch_size))

    print(f"{name}, width {args.width}, input {'x'.join(map(str, shape))}, "
          f"{strided.get_num_threads()} thread(s)")
    print(f"{'stage':<8} {'output shape':>20} {'parameters':>12}")
    with strided.no_grad():
        rows = stage_summary(model, x)
    for stage, out_shape, params in rows:
        print(f"{stage:<8} {str(out_shape):>20} {params:>12,}")
    total = count_parameters(model)
    print(f"{'total':<8} {'':>20} {total:>12,}")

    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    times = []
    for step in range(args.steps):
        start = time.perf_counter()
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        print(f"step {step + 1}/{args.steps}  loss {loss.item():.4f}  "
              f"{times[-1] * 1e3:.1f} ms", flush=True)
    later = times[1:] or times
    print(f"time per step: {statistics.median(later) * 1e3:.1f} ms "
          f"(median of {len(later)} step{'s' if len(later) > 1 else ''}"
          f"{' after the first' if len(times) > 1 else ''}; batch {args.batch_size})")
    return total, times


if __name__ == "__main__":
    main()
