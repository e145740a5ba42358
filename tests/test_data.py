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
