"""Memory lifetime: views, numpy/buffer/DLPack exports and imports keep memory alive exactly
as long as needed, and create/view/destroy cycles do not leak."""
import ctypes
import gc
import os
import weakref

import numpy as np
import pytest

import strided


def _scribble():
    """Allocate and fill memory so that freed blocks would likely be reused and overwritten."""
    junk = [strided.full((4096,), -7) for _ in range(32)]
    junk += [np.full(4096, -7, np.int64) for _ in range(32)]
    return junk


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# ---- views outlive their base -----------------------------------------------------------

VIEW_MAKERS = {
    "slice": lambda b: b[2:, 1::3],
    "transpose": lambda b: b.T,
    "flip": lambda b: b.flip(0, 1),
    "view": lambda b: b.view(-1),
    "select": lambda b: b[3],
    "expand": lambda b: b[:1].expand(5, 40),
    "unfold": lambda b: b[1].unfold(0, 5, 3),
    "diagonal": lambda b: b.diagonal(2),
    "as_strided": lambda b: b.as_strided((4, 4), (7, 2), 11),
    "chain": lambda b: b.T[::2].unsqueeze(0).flip(2)[0, 1:],
    "split": lambda b: b.split(3, 1)[2],
}


@pytest.mark.parametrize("make", VIEW_MAKERS)
def test_view_outlives_base(make):
    base = strided.arange(400).view(10, 40)
    v = VIEW_MAKERS[make](base)
    expected = v.tolist()
    storage_ptr = base.untyped_storage().data_ptr()
    del base
    gc.collect()
    junk = _scribble()
    assert v.tolist() == expected
    assert v.untyped_storage().data_ptr() == storage_ptr
    np.testing.assert_array_equal(v.clone().numpy(), np.array(expected))
    del junk


def test_views_of_deleted_views():
    base = strided.arange(100)
    v = base.view(10, 10)
    w = v.T[2:5]
    expected = w.tolist()
    del base, v
    gc.collect()
    _scribble()
    assert w.tolist() == expected
    w.fill_(1)
    assert w.tolist() == [[1] * 10] * 3


def test_view_of_from_numpy_outlives_everything():
    a = np.arange(50.0)
    t = strided.from_numpy(a)
    v = t[::-5]
    del a, t
    gc.collect()
    _scribble()
    assert v.tolist() == [49.0, 44.0, 39.0, 34.0, 29.0, 24.0, 19.0, 14.0, 9.0, 4.0]


# ---- numpy / buffer exports keep the storage (not the tensor) alive ---------------------

@pytest.mark.parametrize("make", ["slice", "transpose", "flip", "select", "chain"])
def test_numpy_export_keeps_storage_alive(make):
    base = strided.arange(400).view(10, 40)
    t = VIEW_MAKERS[make](base)
    expected = t.tolist()
    wt, wb = weakref.ref(t), weakref.ref(base)
    a = t.numpy()
    del t, base
    gc.collect()
    assert wt() is None and wb() is None          # the tensors are gone...
    _scribble()
    assert a.tolist() == expected                 # ...the memory is not
    a[...] = 3                                    # and is still writable, still ours
    assert np.all(a == 3)


def test_asarray_export_keeps_storage_alive():
    t = strided.arange(1000.0).view(20, 50)[::2, 3:]
    expected = t.tolist()
    w = weakref.ref(t)
    a = np.asarray(t)
    del t
    gc.collect()
    _scribble()
    assert a.tolist() == expected
    assert w() is None or isinstance(w(), strided.Tensor)


def test_memoryview_holds_tensor_until_released():
    t = strided.arange(64).view(8, 8).T
    expected = t.tolist()
    w = weakref.ref(t)
    m = memoryview(t)
    del t
    gc.collect()
    assert w() is not None                        # the exporter must live while exported
    _scribble()
    assert m.tolist() == expected
    m.release()
    gc.collect()
    assert w() is None


def test_storage_export_keeps_memory_alive():
    t = strided.arange(300)
    s = t.untyped_storage()
    a = np.asarray(s)
    del t, s
    gc.collect()
    _scribble()
    assert a.tolist() == list(range(300))


def test_from_numpy_holds_array_until_tensor_dies():
    a = np.arange(20.0)
    wa = weakref.ref(a)
    t = strided.from_numpy(a)
    v = t[5:]
    del a
    gc.collect()
    assert wa() is not None
    del t
    gc.collect()
    assert wa() is not None                       # the view still needs it
    assert v[0].item() == 5.0
    del v
    gc.collect()
    assert wa() is None                           # released once the last user is gone


# ---- DLPack -----------------------------------------------------------------------------

def test_unconsumed_capsule_releases_tensor():
    for kw in ({}, {"max_version": (1, 0)}):
        t = strided.arange(100)
        w = weakref.ref(t)
        cap = t.__dlpack__(**kw)
        del t
        gc.collect()
        assert w() is not None                    # the capsule owns a reference
        del cap
        gc.collect()
        assert w() is None                        # and gives it back when dropped unused


def test_consumed_capsule_keeps_memory_alive_and_then_releases():
    for kw in ({}, {"max_version": (1, 0)}):
        t = strided.arange(100).view(10, 10).T
        expected = t.tolist()
        w = weakref.ref(t)
        cap = t.__dlpack__(**kw)
        del t
        u = strided.from_dlpack(cap)
        del cap
        gc.collect()
        assert w() is not None
        _scribble()
        assert u.tolist() == expected
        del u
        gc.collect()
        assert w() is None                        # the importer called the deleter


def test_numpy_from_dlpack_keeps_memory_alive():
    t = strided.arange(500).view(5, 100)[:, ::7]
    expected = t.tolist()
    w = weakref.ref(t)
    a = np.from_dlpack(t)
    del t
    gc.collect()
    _scribble()
    assert a.tolist() == expected
    del a
    gc.collect()
    assert w() is None


def test_strided_from_numpy_dlpack_keeps_array_alive():
    a = np.arange(40).reshape(5, 8).T
    expected = a.tolist()
    wa = weakref.ref(a.base if a.base is not None else a)
    t = strided.from_dlpack(a)
    del a
    gc.collect()
    _scribble()
    assert t.tolist() == expected
    del t
    gc.collect()
    assert wa() is None


def test_torch_import_keeps_memory_alive():
    torch = pytest.importorskip("torch")
    tt = torch.arange(1000).view(10, 100).t()[::3]
    expected = tt.tolist()
    s = strided.from_dlpack(tt)
    del tt
    gc.collect()
    junk = [torch.full((4096,), -7) for _ in range(32)]
    assert s.tolist() == expected
    del junk
    # and the other way round: torch holding strided memory
    st = strided.arange(1000).view(10, 100)[:, 1::4]
    expected = st.tolist()
    w = weakref.ref(st)
    tt = torch.from_dlpack(st)
    del st
    gc.collect()
    _scribble()
    assert tt.tolist() == expected
    assert w() is not None
    del tt
    gc.collect()
    assert w() is None


# ---- no leaks over many cycles ----------------------------------------------------------
#
# Leaks are measured with glibc's mallinfo2() (bytes currently handed out by malloc, whether
# or not the pages were touched), so a leaked 1 MB storage counts in full even when nothing
# was written to it, and cycles can stay cheap.  Where mallinfo2 is missing, resident memory
# is used instead and every cycle touches its pages.  Kernels run single-threaded here: the
# point is lifetime, and it keeps the timing independent of machine load.

class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                               "usmblks", "fsmblks", "uordblks", "fordblks",
                                               "keepcost")]


def _mallinfo_bytes_fn():
    try:
        fn = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    fn.argtypes = []
    return lambda: fn().uordblks + fn().hblkhd


_MALLOCED = _mallinfo_bytes_fn()


@pytest.fixture
def one_thread():
    n = strided.get_num_threads()
    strided.set_num_threads(1)
    yield
    strided.set_num_threads(n)


def _assert_no_growth(cycle, n_batches, per_batch, budget_mb, what, measure):
    """Run cycle() n_batches * per_batch times after a warm-up; memory must plateau.

    Stops at the first batch over budget, so a leak fails fast instead of exhausting memory.
    """
    for _ in range(per_batch):
        cycle()
    gc.collect()
    start = measure()
    for b in range(n_batches):
        for _ in range(per_batch):
            cycle()
        gc.collect()
        grown = (measure() - start) / 2 ** 20
        assert grown < budget_mb, (f"{what}: memory grew by {grown:.1f} MB after "
                                   f"{(b + 1) * per_batch} cycles")


def _views_and_exports(t):
    v = t.T[::2].unsqueeze(0).flip(2)
    w = v.expand(3, -1, -1)
    x = t.view(-1)[::3]
    a = t.numpy()
    m = memoryview(t.T)
    m.release()
    u = strided.from_numpy(a)
    cap = t.__dlpack__()
    d = strided.from_dlpack(cap)
    return (v, w, x, a, u, d)


@pytest.mark.skipif(_MALLOCED is None, reason="needs glibc mallinfo2")
def test_no_leak_1mb_tensors_malloc_accounting(one_thread):
    def cycle():
        t = strided.empty(256, 1024)                   # 1 MB of float32
        keep = _views_and_exports(t)
        del t, keep
    # 100k cycles: a leak of the storage would be 100 GB of (virtual) allocations; one of
    # 100 bytes per cycle would be 10 MB
    _assert_no_growth(cycle, n_batches=10, per_batch=10000, budget_mb=4,
                      what="1 MB tensors", measure=_MALLOCED)


@pytest.mark.skipif(_MALLOCED is None, reason="needs glibc mallinfo2")
def test_no_leak_copies_malloc_accounting(one_thread):
    def cycle():
        t = strided.zeros(128, 256, dtype=strided.float64)     # 256 KB
        c = t.T.contiguous()                                   # a copy through the kernel
        r = t.T.reshape(-1)                                    # reshape that must copy
        f = t.to(strided.float32)
        del t, c, r, f
    # a leak of any of the four 256 KB blocks would be >= 60 MB per batch
    _assert_no_growth(cycle, n_batches=4, per_batch=250, budget_mb=4,
                      what="copies", measure=_MALLOCED)


def test_no_leak_1mb_tensors_rss(one_thread):
    def cycle():
        t = strided.empty(256, 1024)                   # 1 MB, every page touched below
        t.fill_(1.0)
        keep = _views_and_exports(t)
        del t, keep
    # a leak would grow RSS by 1 GB per 1000 cycles; allocator noise stays far below 64 MB
    _assert_no_growth(cycle, n_batches=5, per_batch=400, budget_mb=64,
                      what="1 MB tensors (RSS)", measure=_rss_bytes)


@pytest.mark.skipif(_MALLOCED is None, reason="needs glibc mallinfo2")
def test_no_leak_small_objects_many_dims(one_thread):
    # tensors with more than 8 dims keep sizes/strides in malloc'd memory; buffers malloc
    # their shape/strides; DLPack exports malloc a manager struct
    base = strided.zeros(*([2] * 12))
    arr = np.zeros((2,) * 12)

    def cycle():
        v = base.permute(*range(11, -1, -1))
        w = v.unsqueeze(3)[0]
        m = memoryview(w)
        m.release()
        cap = w.__dlpack__()
        u = strided.from_dlpack(cap)
        cap2 = base.__dlpack__(max_version=(1, 0))    # dropped unconsumed
        f = strided.from_numpy(arr)
        del v, w, u, cap, cap2, f
    _assert_no_growth(cycle, n_batches=4, per_batch=10000, budget_mb=2,
                      what="small many-dim objects", measure=_MALLOCED)


def test_weakrefs_die_after_cycles():
    refs = []
    for _ in range(200):
        t = strided.arange(1000).view(10, 100)
        v = t.T[1:]
        a = v.numpy()
        refs.append(weakref.ref(t))
        refs.append(weakref.ref(v))
        del t, v, a
    gc.collect()
    assert all(r() is None for r in refs)
