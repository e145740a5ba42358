"""Train a small CNN or MLP on handwritten digits with strided.

    python examples/train_digits.py                      # CNN on scikit-learn's 8x8 digits
    python examples/train_digits.py --model mlp
    python examples/train_digits.py --evaluate runs/digits/cnn.ckpt
    python examples/train_digits.py --data-dir ~/mnist   # MNIST from its four IDX files

scikit-learn ships the digits (1,797 8x8 images), so nothing is downloaded.  Each epoch
shows a progress bar with the running loss and prints the train loss, the test accuracy
and the seconds taken; at the end the script saves a checkpoint (strided.save) and a
plot of loss and accuracy per epoch.  Install what it needs with
`pip install -e ".[examples]"` (scikit-learn, tqdm, matplotlib).

The models are written against the torch.nn API only, so make_model(torch.nn, ...) builds
the same network in PyTorch (benchmarks/bench_train.py does that).
"""
import argparse
import os
import sys
import time

import numpy as np

import strided
import strided.nn as nn
import strided.optim as optim
from strided.data import DataLoader, TensorDataset


def make_model(nn, name, image_size=8, num_classes=10):
    """conv -> ReLU -> max-pool -> conv -> ReLU -> pool -> flatten -> linear, or
    linear -> ReLU -> linear; `nn` is strided.nn or torch.nn."""
    if name == "cnn":
        side = image_size // 4
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * side * side, num_classes))
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(image_size * image_size, 128), nn.ReLU(),
                             nn.Linear(128, num_classes))
    raise ValueError(f"unknown model {name!r}; expected 'cnn' or 'mlp'")


# ---- data -------------------------------------------------------------------------------

def load_digits_split(seed=0, test_fraction=0.2):
    """scikit-learn's digits as float32 (N, 1, 8, 8) in [0, 1] and int64 labels, split
    into train and test by a fixed permutation (stratification is not needed at 1,797)."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(len(labels) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return (images[train], labels[train]), (images[test], labels[test])


def load_mnist(data_dir):
    """MNIST from the four standard IDX files (gzipped or not) in data_dir."""
    def find(stem):
        for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                     stem.replace("-idx", ".idx") + ".gz"):
            path = os.path.join(data_dir, name)
            if os.path.exists(path):
                return path
        raise FileNotFoundError(f"{data_dir}: no {stem}[.gz] (expected MNIST's IDX files)")

    def split(prefix):
        images = strided.data.read_idx(find(f"{prefix}-images-idx3-ubyte")).numpy()
        labels = strided.data.read_idx(find(f"{prefix}-labels-idx1-ubyte")).numpy()
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise ValueError(f"{data_dir}: {prefix} images {images.shape} and labels "
                             f"{labels.shape} don't match")
        return (images / 255.0).astype(np.float32)[:, None], labels.astype(np.int64)
    return split("train"), split("t10k")


def standardize(train_x, test_x):
    mean, std = float(train_x.mean()), float(train_x.std())
    return (train_x - mean) / std, (test_x - mean) / std, (mean, std)


# ---- training ---------------------------------------------------------------------------

def evaluate(model, x, y, batch_size=512):
    """Accuracy (%) of model on (x, y), in eval mode without building a graph."""
    model.eval()
    correct = 0
    with strided.no_grad():
        for start in range(0, len(y), batch_size):
            logits = model(strided.from_numpy(x[start:start + batch_size]))
            correct += int((logits.argmax(1).numpy() == y[start:start + batch_size]).sum())
    model.train()
    return 100.0 * correct / len(y)


def progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:         # tqdm is in the examples extra; train without a bar
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


def train(args, train_data, test_data):
    (train_x, train_y), (test_x, test_y) = train_data, test_data
    model = make_model(nn, args.model, image_size=train_x.shape[-1])
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                          weight_decay=args.weight_decay)
    loader = DataLoader(TensorDataset(strided.from_numpy(train_x), strided.from_numpy(train_y)),
                        batch_size=args.batch_size, shuffle=True,
                        generator=strided.Generator(args.seed))
    history = {"epoch": [], "train_loss": [], "test_accuracy": [], "seconds": []}
    print(f"{args.model}: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{len(train_y)} train / {len(test_y)} test images, {strided.get_num_threads()} "
          f"thread(s)")
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        total, seen = 0.0, 0
        bar = progress(loader, len(loader), f"epoch {epoch}/{args.epochs}", not args.quiet)
        for x, y in bar:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
            seen += len(y)
            if bar is not loader:
                bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
        seconds = time.perf_counter() - start
        accuracy = evaluate(model, test_x, test_y)
        for key, value in zip(history, (epoch, total / seen, accuracy, seconds)):
            history[key].append(value)
        print(f"epoch {epoch:3d}/{args.epochs}  train loss {total / seen:.4f}  "
              f"test accuracy {accuracy:6.2f}%  {seconds:.2f} s", flush=True)
    return model, history


def save_plot(history, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e \".[examples]\")")
        return
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(history["epoch"], history["train_loss"], marker="o")
    ax_loss.set(xlabel="epoch", ylabel="train loss", yscale="log", title="loss")
    ax_acc.plot(history["epoch"], history["test_accuracy"], marker="o", color="C1")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"plot saved to {path}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", choices=["cnn", "mlp"], default="cnn",
                   help="the convolutional network or the two-layer perceptron")
    p.add_argument("--epochs", type=int, default=10, help="passes over the training set")
    p.add_argument("--batch-size", type=int, default=32, help="images per SGD step")
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="SGD weight decay")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for strided's kernels (default: all cores)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the weights, the shuffling and the train/test split")
    p.add_argument("--out", default=os.path.join("runs", "digits"),
                   help="directory for the checkpoint and the plot")
    p.add_argument("--data-dir", default=None,
                   help="train on MNIST from the four IDX files in this directory instead")
    p.add_argument("--evaluate", metavar="CHECKPOINT", default=None,
                   help="load a checkpoint saved by this script and report its test accuracy")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        p.error("--epochs and --batch-size must be positive and --lr > 0")
    return args


def load_data(args, seed):
    if args.data_dir:
        return "mnist", load_mnist(args.data_dir)
    return "digits", load_digits_split(seed)


def evaluate_checkpoint(args):
    ckpt = strided.load(args.evaluate)
    dataset, (_, (test_x, test_y)) = load_data(args, ckpt["seed"])
    if ckpt["dataset"] != dataset:
        sys.exit(f"{args.evaluate} was trained on {ckpt['dataset']}, not {dataset}")
    mean, std = ckpt["normalization"]
    model = make_model(nn, ckpt["model_name"], image_size=test_x.shape[-1])
    model.load_state_dict(ckpt["model"])
    accuracy = evaluate(model, (test_x - mean) / std, test_y)
    print(f"{args.evaluate}: {ckpt['model_name']} test accuracy {accuracy:.2f}% "
          f"(saved after epoch {ckpt['epoch']} with {ckpt['test_accuracy']:.2f}%)")
    return accuracy


def main(argv=None):
    args = parse_args(argv)
    if args.threads is not None:
        strided.set_num_threads(args.threads)
    if args.evaluate:
        return evaluate_checkpoint(args)
    strided.manual_seed(args.seed)
    dataset, (train_data, test_data) = load_data(args, args.seed)
    train_x, test_x, (mean, std) = standardize(train_data[0], test_data[0])
    train_data, test_data = (train_x, train_data[1]), (test_x, test_data[1])

    model, history = train(args, train_data, test_data)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, f"{args.model}.ckpt")
    strided.save({"model": model.state_dict(), "model_name": args.model, "dataset": dataset,
                  "seed": args.seed, "epoch": history["epoch"][-1], "test_accuracy": history["test_accuracy"][-1],
                  "normalization": [mean, std], "history": history}, ckpt_path)
    print(f"checkpoint saved to {ckpt_path} (evaluate: python {sys.argv[0]} --evaluate "
          f"{ckpt_path}{' --data-dir ' + args.data_dir if args.data_dir else ''})")
    save_plot(history, os.path.join(args.out, f"{args.model}.png"),
              f"strided {args.model} on {dataset}")
    return history["test_accuracy"][-1]


if __name__ == "__main__":
    main()
