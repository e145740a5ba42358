"""Train the digits CNN data-parallel over MPI with strided.distributed.

    mpiexec -n 2 python examples/train_ddp.py
    mpiexec -n 4 python examples/train_ddp.py --epochs 10 --batch-size 16
    mpiexec -n 8 -f hosts python examples/train_ddp.py     # several machines (MPICH hostfile)

Every process (rank) holds the whole model and trains on its own share of each epoch
(DistributedSampler); DistributedDataParallel averages the gradients across ranks during
backward, so N processes with batch B per process train as one process with batch N * B.
Only rank 0 prints and saves the checkpoint.  Needs `pip install -e ".[distributed]"`
(mpi4py and MPICH) and scikit-learn for the data; the model and data helpers are
train_digits.py's.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_digits import evaluate, load_digits_split, make_model, standardize  # noqa: E402

import strided  # noqa: E402
import strided.distributed as dist  # noqa: E402
import strided.nn as nn  # noqa: E402
import strided.optim as optim  # noqa: E402
from strided.data import DataLoader, TensorDataset  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="cnn", choices=["cnn", "mlp"])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32, help="per process")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="threads per process")
    p.add_argument("--sync-bn", action="store_true",
                   help="add BatchNorm after each conv, synchronised across ranks")
    p.add_argument("--checkpoint", default=os.path.join("runs", "digits", "ddp.ckpt"))
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    strided.set_num_threads(args.threads)
    strided.manual_seed(args.seed)
    (train_x, train_y), (test_x, test_y) = load_digits_split(args.seed)
    train_x, test_x, _ = standardize(train_x, test_x)
    model = make_model(nn, args.model, image_size=train_x.shape[-1])
    if args.sync_bn and args.model == "cnn":
        layers = list(model)                        # conv, ReLU, pool, conv, ReLU, pool, ...
        layers.insert(1, nn.BatchNorm2d(16))
        layers.insert(5, nn.BatchNorm2d(32))
        model = dist.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(*layers))
    model = dist.DistributedDataParallel(model)     # rank 0's weights everywhere
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    dataset = TensorDataset(strided.from_numpy(train_x), strided.from_numpy(train_y))
    sampler = dist.DistributedSampler(dataset, shuffle=True, seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)
    if rank == 0:
        print(f"{args.model}: {sum(p.numel() for p in model.parameters()):,} parameters, "
              f"{world} processes x {strided.get_num_threads()} thread(s), batch "
              f"{args.batch_size} per process ({args.batch_size * world} global), "
              f"{len(sampler)} of {len(dataset)} train images per process", flush=True)
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)                    # a new shuffle, the same on every rank
        start = time.perf_counter()
        sums = np.zeros(2)                          # loss * samples, samples
        for x, y in loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            sums += (loss.item() * len(y), len(y))
        totals = strided.from_numpy(sums)
        dist.all_reduce(totals)                     # the loss over all ranks' samples
        seconds = time.perf_counter() - start
        if rank == 0:
            accuracy = evaluate(model.module, test_x, test_y)
            print(f"epoch {epoch:3d}/{args.epochs}  train loss "
                  f"{totals[0].item() / totals[1].item():.4f}  test accuracy {accuracy:6.2f}%  "
                  f"{seconds:.2f} s", flush=True)
    if rank == 0:
        os.makedirs(os.path.dirname(args.checkpoint) or ".", exist_ok=True)
    dist.save(model.module.state_dict(), args.checkpoint)   # written by rank 0
    if rank == 0:
        print(f"saved {args.checkpoint}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
