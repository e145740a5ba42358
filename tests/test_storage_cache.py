"""The block cache of large storages (NOTE [ Block cache ] in strided/_C/core/storage.pyx):
freed blocks are reused by the next storage of their size class, never while anything still
views them, zeros() of a reused block is zero, the cap (STRIDED_CACHE_BYTES) holds, and 0
turns the cache off."""
import os
import subprocess
import sys

import numpy as np
import pytest

import strided
from strided._C.core import storage

MiB = 1024 * 1024
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _fresh_cache():
    storage._empty_cache()
    yield
    storage._empty_cache()


def test_a_freed_large_block_is_reused_by_the_same_size_class():
    a = strided.empty(3 * MiB // 4)                  # 3 MiB of float32
    ptr = a.untyped_storage().data_ptr()
    del a
    blocks, nbytes = storage._cache_info()
    assert blocks == 1 and nbytes >= 3 * MiB
    b = strided.empty(3 * MiB // 4 - 1000)           # smaller, same 2 MiB class
    assert b.untyped_storage().data_ptr() == ptr
    assert storage._cache_info() == (0, 0)


@pytest.mark.parametrize("dtype", [strided.float32, strided.float64, strided.int64,
                                   strided.uint8, strided.bool])
def test_zeros_from_a_reused_block_are_zero(dtype):
    n = 5 * MiB // dtype.itemsize
    a = strided.full((n,), 7, dtype=dtype) if dtype != strided.bool else strided.ones(n, dtype=dtype)
    del a
    z = strided.zeros(n, dtype=dtype)
    assert storage._cache_info()[0] == 0            # it took the cached block
    assert not z.numpy().any()
    s = strided.Storage(n, dtype)                   # Storage(size) is zero-initialised too
    assert not np.frombuffer(memoryview(s), dtype=np.uint8).any()


def test_small_blocks_are_not_cached():
    a = strided.empty(1000)
    del a
    assert storage._cache_info() == (0, 0)


def test_a_block_is_not_reused_while_a_view_or_an_array_holds_it():
    a = strided.arange(MiB, dtype=strided.float32)
    v = a[10:20]
    arr = a.numpy()
    ptr = a.untyped_storage().data_ptr()
    del a
    assert storage._cache_info() == (0, 0)           # v and arr keep the storage alive
    b = strided.full((MiB,), -1.0)
    assert b.untyped_storage().data_ptr() != ptr
    np.testing.assert_array_equal(v.numpy(), np.arange(10, 20, dtype=np.float32))
    np.testing.assert_array_equal(arr[:5], np.arange(5, dtype=np.float32))
    del v, arr
    assert storage._cache_info()[0] == 1


def test_training_steps_reuse_their_blocks():
    lin = strided.nn.Linear(512, 512)
    x = strided.randn(2048, 512)
    for step in range(3):
        lin.zero_grad()
        (lin(x).relu() ** 2).mean().backward()
        if step == 1:
            after_first = storage._cache_info()
    assert storage._cache_info()[1] <= max(after_first[1], 64 * MiB)


def test_empty_cache_frees_everything():
    blocks = [strided.empty(MiB) for _ in range(4)]
    del blocks
    assert storage._cache_info()[0] == 4
    assert storage._empty_cache() >= 16 * MiB
    assert storage._cache_info() == (0, 0)


def _run(code, **env):
    e = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=e, timeout=120)


def test_the_cap_holds_and_zero_turns_the_cache_off():
    code = ("import strided\nfrom strided._C.core import storage\n"
            "ts = [strided.empty(1 << 20) for _ in range(8)]\n"   # 8 blocks of 4 MiB (+ align)
            "del ts\nprint(*storage._cache_info())")
    r = _run(code, STRIDED_CACHE_BYTES=str(13 * MiB))
    assert r.returncode == 0, r.stderr
    blocks, nbytes = map(int, r.stdout.split())
    assert 0 < nbytes <= 13 * MiB and blocks >= 1
    r = _run(code, STRIDED_CACHE_BYTES="0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0"]


def test_a_bad_cache_size_fails_import_clearly():
    r = _run("import strided", STRIDED_CACHE_BYTES="lots")
    assert r.returncode != 0
    assert "STRIDED_CACHE_BYTES='lots'" in r.stderr and "number of bytes" in r.stderr
