"""strided.data (TensorDataset, DataLoader) and checkpoints (strided.save / load)."""
import os
from collections import OrderedDict

import numpy as np
import pytest

import strided as S
import strided.nn as nn
import strided.optim as optim
from strided.data import DataLoader, TensorDataset, Dataset


def test_tensor_dataset():
    x, y = S.arange(10).reshape(5, 2), S.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    a, b = ds[3]
    assert a.tolist() == [6, 7] and b.item() == 3
    with pytest.raises(ValueError):
        TensorDataset(x, S.arange(4))


def test_loader_batches_in_order_and_drop_last():
    ds = TensorDataset(S.arange(10), S.arange(10) * 10)
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[1][1].tolist() == [40, 50, 60, 70]
    assert len(DataLoader(ds, batch_size=4)) == 3
    dl = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dl) == 2 and [len(b[0]) for b in dl] == [4, 4]


def test_loader_shuffle_is_a_seeded_permutation():
    ds = TensorDataset(S.arange(20))

    def epoch(gen):
        return [v for b in DataLoader(ds, batch_size=6, shuffle=True, generator=gen)
                for v in b[0].tolist()]
    e1, e2 = epoch(S.Generator(5)), epoch(S.Generator(5))
    assert e1 == e2 and sorted(e1) == list(range(20)) and e1 != list(range(20))
    g = S.Generator(5)
    dl = DataLoader(ds, batch_size=6, shuffle=True, generator=g)
    first = [v for b in dl for v in b[0].tolist()]
    second = [v for b in dl for v in b[0].tolist()]
    assert first == e1 and second != first          # a fresh order each epoch
    S.manual_seed(11)
    a = epoch(None)
    S.manual_seed(11)
    assert epoch(None) == a


def test_loader_generic_dataset_collates():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": S.tensor([float(i), float(i * i)]), "i": i}

    batches = list(DataLoader(Squares(), batch_size=2))
    assert batches[0]["x"].tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert batches[2]["i"].tolist() == [4]


# ---- checkpoints -----------------------------------------------------------------------

def test_save_load_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(S.randn(5, 3)).sum().backward()
    opt.step()
    obj = {"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3,
           "history": [1.5, float("inf"), None, ("a", True)], 7: S.tensor([True, False]),
           "i32": S.tensor([1, 2], dtype=S.int32)}
    path = tmp_path / "ck.npz"
    S.save(obj, path)
    back = S.load(path)
    assert isinstance(back["model"], OrderedDict)
    assert list(back["model"]) == list(obj["model"])
    for k, v in obj["model"].items():
        assert back["model"][k].dtype == v.dtype
        assert np.array_equal(back["model"][k].numpy(), v.numpy())
    assert back["epoch"] == 3 and back["history"] == [1.5, float("inf"), None, ("a", True)]
    assert back[7].tolist() == [True, False] and back["i32"].dtype == S.int32
    assert list(back["optim"]["state"]) == [0, 1, 2, 3]
    model2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model2.load_state_dict(back["model"])
    opt2 = optim.SGD(model2.parameters(), lr=0.5, momentum=0.9)
    opt2.load_state_dict(back["optim"])
    assert opt2.param_groups[0]["lr"] == 0.1


def test_save_rejects_arbitrary_objects(tmp_path):
    with pytest.raises(TypeError):
        S.save({"f": lambda: 0}, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []                   # no temporary file left behind


def test_load_truncated_corrupted_foreign(tmp_path):
    path = tmp_path / "ck.npz"
    S.save({"w": S.randn(100)}, path)
    data = path.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="truncated.npz"):
        S.load(bad)
    corrupt = bytearray(data)
    corrupt[len(data) // 3] ^= 0xFF
    bad2 = tmp_path / "corrupt.npz"
    bad2.write_bytes(bytes(corrupt))
    with pytest.raises(RuntimeError, match="corrupt.npz"):
        S.load(bad2)
    foreign = tmp_path / "plain.npz"
    np.savez(foreign, a=np.zeros(3))
    with pytest.raises(RuntimeError, match="plain.npz"):
        S.load(foreign)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(RuntimeError, match="notes.txt"):
        S.load(text)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __strided__=np.array([object()], dtype=object))
    with pytest.raises(RuntimeError, match="pickled.npz"):
        S.load(pickled)


def test_failing_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    S.save({"w": S.ones(3)}, path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        S.save({"w": S.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]
    assert S.load(path)["w"].tolist() == [1.0, 1.0, 1.0]


# ---- read_idx (MNIST's IDX format) -------------------------------------------------------

import gzip as _gzip
import struct as _struct

from strided.data import read_idx

_IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
              np.float32: 0x0D, np.float64: 0x0E}


def _idx_bytes(arr):
    header = bytes([0, 0, _IDX_CODES[arr.dtype.type], arr.ndim])
    header += b"".join(_struct.pack(">I", d) for d in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype", list(_IDX_CODES))
@pytest.mark.parametrize("shape", [(0,), (7,), (3, 28, 28), (2, 3, 4, 5), (4, 0, 2)])
def test_read_idx_round_trip(tmp_path, dtype, shape):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal(shape) * 100).astype(dtype)
    path = tmp_path / "x.idx"
    path.write_bytes(_idx_bytes(arr))
    t = read_idx(path)
    assert t.shape == shape
    widened = np.int32 if dtype in (np.int8, np.int16) else dtype
    np.testing.assert_array_equal(t.numpy(), arr.astype(widened))
    assert t.numpy().dtype == widened


def test_read_idx_gzip(tmp_path):
    arr = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with _gzip.open(path, "wb") as f:
        f.write(_idx_bytes(arr))
    np.testing.assert_array_equal(read_idx(str(path)).numpy(), arr)


def test_read_idx_mnist_labels(tmp_path):
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    path = tmp_path / "labels"
    path.write_bytes(bytes([0, 0, 8, 1]) + _struct.pack(">I", 5) + labels.tobytes())
    np.testing.assert_array_equal(read_idx(path).numpy(), labels)


@pytest.mark.parametrize("cut", [1, 3, 6, 10, 20])
def test_read_idx_truncated(tmp_path, cut):
    data = _idx_bytes(np.arange(24, dtype=np.int32).reshape(2, 3, 4))
    path = tmp_path / "cut.idx"
    path.write_bytes(data[:-cut])
    with pytest.raises(ValueError, match="cut.idx"):
        read_idx(path)


def test_read_idx_extra_bytes(tmp_path):
    path = tmp_path / "long.idx"
    path.write_bytes(_idx_bytes(np.zeros(4, np.uint8)) + b"\x00")
    with pytest.raises(ValueError, match="long.idx.*needs"):
        read_idx(path)


@pytest.mark.parametrize("head", [b"", b"\x00", b"\x01\x00\x08\x01", b"\x00\x00\x07\x01",
                                  b"PK\x03\x04", b"\x89PNG"])
def test_read_idx_wrong_magic(tmp_path, head):
    path = tmp_path / "bad.idx"
    path.write_bytes(head + b"\x00" * 8)
    with pytest.raises(ValueError, match="bad.idx: not an IDX file"):
        read_idx(path)


def test_read_idx_corrupt_gzip(tmp_path):
    path = tmp_path / "bad.gz"
    with _gzip.open(path, "wb") as f:
        f.write(_idx_bytes(np.arange(100, dtype=np.uint8)))
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(ValueError, match="bad.gz"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")


# ---- strided.utils.data: the rest of torch.utils.data ----------------------------------------

import collections

import strided.utils.data as sud


def test_module_paths_are_one_implementation():
    import strided.data
    for name in sud.__all__:
        assert getattr(strided.data, name) is getattr(sud, name)
    assert S.utils.data.DataLoader is DataLoader
    from strided.utils.data import (ConcatDataset, IterableDataset, Subset,  # noqa: F401
                                    random_split, Sampler, SequentialSampler, RandomSampler,
                                    BatchSampler, default_collate, get_worker_info)


def test_subset_concat_stack_datasets():
    ds = TensorDataset(S.arange(10) * 2)
    sub = sud.Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[1][0].item() == 4
    assert [b[0].tolist() for b in DataLoader(sub, batch_size=2)] == [[14, 4], [10]]
    cat = ds + sud.Subset(ds, [0, 1])
    assert isinstance(cat, sud.ConcatDataset) and len(cat) == 12
    assert cat.cumulative_sizes == [10, 12] and cat[10][0].item() == 0 and cat[-1][0].item() == 2
    with pytest.raises(ValueError, match="absolute value of index"):
        cat[-13]
    st = sud.StackDataset(a=ds, b=sub.dataset)
    assert st[3]["a"].__class__ is tuple and len(st) == 10
    with pytest.raises(ValueError):
        sud.StackDataset(ds, sub)


def test_random_split_lengths_and_fractions():
    ds = TensorDataset(S.arange(10))
    a, b = sud.random_split(ds, [7, 3], generator=S.Generator(0))
    got = sorted(a.indices + b.indices)
    assert got == list(range(10)) and len(a) == 7 and len(b) == 3
    a2, _ = sud.random_split(ds, [7, 3], generator=S.Generator(0))
    assert a2.indices == a.indices
    parts = sud.random_split(ds, [0.5, 0.3, 0.2], generator=S.Generator(1))
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = sud.random_split(TensorDataset(S.arange(11)), [0.34, 0.33, 0.33])
    assert [len(p) for p in parts] == [4, 4, 3]           # torch deals the remainder in order
    with pytest.raises(ValueError, match="Sum of input lengths"):
        sud.random_split(ds, [5, 6])


def test_samplers():
    assert list(sud.SequentialSampler(range(4))) == [0, 1, 2, 3]
    r = list(sud.RandomSampler(range(6), generator=S.Generator(3)))
    assert sorted(r) == list(range(6))
    r2 = list(sud.RandomSampler(range(6), num_samples=14, generator=S.Generator(3)))
    assert len(r2) == 14 and r2[:6] == r and sorted(r2[:12]) == sorted(list(range(6)) * 2)
    w = list(sud.RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(w) == 50 and set(w) <= {0, 1, 2}
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        sud.RandomSampler(range(3), num_samples=0)
    bs = sud.BatchSampler(sud.SequentialSampler(range(5)), 2, False)
    assert list(bs) == [[0, 1], [2, 3], [4]] and len(bs) == 3
    assert len(sud.BatchSampler(range(5), 2, True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        sud.BatchSampler(range(5), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        sud.BatchSampler(range(5), 2, 1)
    ws = list(sud.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 40, generator=S.Generator(0)))
    assert len(ws) == 40 and set(ws) <= {1, 3}
    subs = list(sud.SubsetRandomSampler([10, 20, 30]))
    assert sorted(subs) == [10, 20, 30]


def test_default_collate_follows_torch():
    Point = collections.namedtuple("Point", "x y")
    b = sud.default_collate([(S.zeros(2), 1, 2.5, "a", True), (S.ones(2), 2, 3.5, "b", False)])
    assert isinstance(b, list)                              # tuples collate to lists
    assert b[0].tolist() == [[0, 0], [1, 1]] and b[1].dtype == S.int64
    assert b[2].dtype == S.float64 and tuple(b[3]) == ("a", "b") and b[4].dtype == S.bool
    p = sud.default_collate([Point(1, np.float32(2)), Point(3, np.float32(4))])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3] and p.y.dtype == S.float32
    arr = sud.default_collate([np.zeros((2, 2), np.int32), np.ones((2, 2), np.int32)])
    assert arr.shape == (2, 2, 2) and arr.dtype == S.int32
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        sud.default_collate([[1, 2], [1]])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        sud.default_collate([S.zeros(2), S.zeros(3)])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        sud.default_collate([object(), object()])
    assert sud.default_convert((np.arange(2), "s"))[0].tolist() == [0, 1]


def test_iterable_dataset_and_loader_arguments():
    class Count(sud.IterableDataset):
        def __iter__(self):
            return iter(range(7))
    assert [b.tolist() for b in DataLoader(Count(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Count(), batch_size=3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]
    chained = list(DataLoader(Count() + Count(), batch_size=None))
    assert chained == list(range(7)) * 2
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Count(), shuffle=True)
    ds = TensorDataset(S.arange(6))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0, 1]], batch_size=2)
    dl = DataLoader(ds, batch_sampler=[[0, 5], [2]])
    assert [b[0].tolist() for b in dl] == [[0, 5], [2]]
    dl = DataLoader(ds, batch_size=4, pin_memory=True)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        dl.batch_size = 3


def test_loader_matches_torch_batches():
    torch = pytest.importorskip("torch")
    tud = torch.utils.data
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    for kw in (dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None),
               dict(batch_size=3, sampler=[9, 0, 4, 4, 1])):
        ours = list(DataLoader(TensorDataset(S.tensor(x), S.tensor(y)), **kw))
        theirs = list(tud.DataLoader(tud.TensorDataset(torch.tensor(x), torch.tensor(y)), **kw))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert type(a) is type(b)
            for u, v in zip(a, b):
                assert np.array_equal(u.numpy(), v.numpy()) and u.shape == tuple(v.shape)
    samples = [({"a": 1.5, "b": [1, 2]}, np.float64(2.0), "s") for _ in range(3)]
    ours, theirs = sud.default_collate(samples), tud.default_collate(samples)
    assert type(ours) is type(theirs) and type(ours[0]["b"]) is type(theirs[0]["b"])
    assert ours[0]["a"].dtype.name == str(theirs[0]["a"].dtype).removeprefix("torch.")
    assert ours[1].dtype.name == str(theirs[1].dtype).removeprefix("torch.")
    assert ours[2] == theirs[2]
