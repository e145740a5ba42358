"""Edge cases that once gave silently wrong answers, checked against PyTorch and NumPy.

- View ops on tensors with zero-size dims: every op's shape, stride and storage_offset
  equal PyTorch's (empty views keep their offset; flatten keeps the merged size), and
  as_strided from an empty view reads the element PyTorch reads, bounds-checked.
- Read-only producers (NumPy arrays with writeable=False, read-only memmaps, DLPack
  capsules flagged read-only) give read-only tensors: every write path refuses, views
  inherit it, reads share memory, copies are writable (NOTE [ Read-only storage ]).
- Ints beyond int64 raise PyTorch's exception classes (NOTE [ Integer arguments beyond
  int64 ]).
"""
import itertools
import math

import numpy as np
import pytest

import strided

torch = pytest.importorskip("torch")

SHAPES = [(0,), (3,), (0, 3), (3, 0), (2, 3), (1, 0), (0, 1), (0, 3, 4), (5, 0, 3, 4),
          (2, 4, 0, 1), (2, 1, 3), (1, 1, 0), (2, 0, 0, 3)]


def _base(lib, shape, kind):
    """The same tensor in both libraries: contiguous, at an offset, or permuted."""
    n = math.prod(shape)
    if kind == "plain":
        return lib.arange(float(n)).reshape(shape)
    if kind == "offset":
        return lib.arange(float(n + 3))[3:].reshape(shape)
    rev = shape[::-1]                                       # "permuted"
    return lib.arange(float(n + 2))[2:].reshape(rev).permute(*range(len(rev) - 1, -1, -1))


BASES = [(s, k) for s in SHAPES for k in ("plain", "offset", "permuted")
         if k != "permuted" or len(s) >= 2]


def _meta(t):
    return tuple(t.shape), tuple(t.stride()), t.storage_offset()


def _compare(shape, kind, op):
    """op on both libraries: the same exception-or-not, and equal layouts (and values)."""
    try:
        want = op(_base(torch, shape, kind))
    except (RuntimeError, IndexError, ValueError):
        with pytest.raises((RuntimeError, IndexError, ValueError)):
            op(_base(strided, shape, kind))
        return
    got = op(_base(strided, shape, kind))
    want = want if isinstance(want, (tuple, list)) else [want]
    got = got if isinstance(got, (tuple, list)) else [got]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert _meta(g) == _meta(w)
        assert g.tolist() == w.tolist()


def _ops(shape):
    """(name, op) for every view op and argument worth trying on a tensor of shape."""
    nd = len(shape)
    for s, e in itertools.product(range(-nd, nd), repeat=2):
        yield f"flatten({s},{e})", lambda t, s=s, e=e: t.flatten(s, e)
    yield "flatten()", lambda t: t.flatten()
    for d in range(-nd - 1, nd + 1):
        yield f"unsqueeze({d})", lambda t, d=d: t.unsqueeze(d)
    yield "squeeze()", lambda t: t.squeeze()
    n = math.prod(shape)
    for new in [(n,), (-1,), (1, n), (n, 1), (n, -1) if n else (0, -1), shape, (2, 0, 3),
                (0,), (1, -1, 1)]:
        yield f"reshape({new})", lambda t, new=new: t.reshape(new)
        yield f"view({new})", lambda t, new=new: t.view(new)
    yield "expand", lambda t: t.expand(2, *t.shape)
    yield "T", lambda t: t.permute(*range(t.ndim - 1, -1, -1))
    yield "movedim", lambda t: t.movedim(0, -1)
    yield "[...]", lambda t: t[...]
    yield "[None]", lambda t: t[None]
    for d in range(-nd, nd):
        size = shape[d]
        yield f"squeeze({d})", lambda t, d=d: t.squeeze(d)
        for start in range(-size, size + 1):
            for length in range(0, size - start % max(size, 1) + 1 if start < 0 else size - start + 1):
                yield f"narrow({d},{start},{length})", \
                    lambda t, d=d, a=start, b=length: t.narrow(d, a, b)
        for i in range(-size, size):
            yield f"select({d},{i})", lambda t, d=d, i=i: t.select(d, i)
        for k in range(4):
            yield f"split({k},{d})", lambda t, d=d, k=k: t.split(k, d)
        for k in range(1, 4):
            yield f"chunk({k},{d})", lambda t, d=d, k=k: t.chunk(k, d)
            yield f"tensor_split({k},{d})", lambda t, d=d, k=k: t.tensor_split(k, d)
        yield f"unbind({d})", lambda t, d=d: t.unbind(d)
        for a in range(-1, size + 3):             # empty ranges at every position
            for b in range(-1, size + 3):
                for step in (1, 2):
                    idx = (slice(None),) * (d % nd) + (slice(a, b, step),)
                    yield f"[{idx}]", lambda t, idx=idx: t[idx]
        yield f"unflatten({d},(-1,1))", lambda t, d=d: t.unflatten(d, (-1, 1))
        yield f"unflatten({d},(1,-1))", lambda t, d=d: t.unflatten(d, (1, -1))
        if size == 0:
            yield f"unflatten({d},(0,5))", lambda t, d=d: t.unflatten(d, (0, 5))
            yield f"unflatten({d},(5,0))", lambda t, d=d: t.unflatten(d, (5, 0))
        for d2 in range(nd):
            yield f"transpose({d},{d2})", lambda t, d=d, d2=d2: t.transpose(d, d2)
            if d % nd != d2:
                for off in (-2, -1, 0, 1, 2, 5):
                    yield f"diagonal({off},{d},{d2})", \
                        lambda t, d=d, d2=d2, off=off: t.diagonal(off, d, d2)
        for size2 in range(3):
            for step in (1, 2):
                yield f"unfold({d},{size2},{step})", \
                    lambda t, d=d, a=size2, b=step: t.unfold(d, a, b)
    yield "as_strided(0,)", lambda t: t.as_strided((0,), (1,))
    yield "as_strided(()) of empty", lambda t: t.as_strided((), ())
    yield "as_strided(2,)", lambda t: t.as_strided((2,), (1,))
    yield "as_strided(own layout)", lambda t: t.as_strided(t.shape, t.stride())


@pytest.mark.parametrize("shape,kind", BASES, ids=[f"{'x'.join(map(str, s))}-{k}" for s, k in BASES])
def test_view_ops_match_torch(shape, kind):
    failures = []
    for name, op in _ops(shape):
        try:
            _compare(shape, kind, op)
        except AssertionError as e:
            failures.append(f"{name}: {e}")
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
def test_flatten_matches_numpy(shape):
    a = np.zeros(shape)
    t = strided.zeros(*shape)
    nd = len(shape)
    for s in range(nd):
        for e in range(s, nd):
            want = shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:]
            assert t.flatten(s, e).shape == want == a.reshape(want).shape
            assert t.flatten(s - nd, e - nd).shape == want


def test_the_reported_cases():
    assert strided.zeros(0, 3, 4).flatten(1, 2).shape == (0, 12)
    assert strided.zeros(5, 0, 3, 4).flatten(2).shape == (5, 0, 12)
    assert strided.zeros(2, 4, 0, 1).flatten(0, 1).shape == (8, 0, 1)
    e = strided.arange(10.)[5:5]
    assert e.storage_offset() == 5
    assert e.as_strided((), ()).item() == 5.0


def _empty_views(lib):
    a = lib.arange(24.).reshape(4, 6)
    return [a[2:2], a[:, 3:3], a[1:1, 2:], a.narrow(1, 4, 0), a[3, 6:], a[4:],
            a[:0].select(1, 5), a.split(2, 0)[1][:, 5:5], a[:, 2:2].unflatten(0, (2, 2)),
            a[1:1].flatten(), a.T[2:2], a[:, 4:4].unsqueeze(1), a[10:][:, 3:]]


def test_as_strided_from_empty_views_reads_what_torch_reads():
    for v, w in zip(_empty_views(strided), _empty_views(torch)):
        assert v.numel() == 0 and _meta(v) == _meta(w)
        off = w.storage_offset()
        if off < 24:
            assert v.as_strided((), ()).item() == w.as_strided((), ()).item() == off
            assert v.as_strided((1,), (1,)).tolist() == w.as_strided((1,), (1,)).tolist()
        else:          # past the storage's end: nothing to read, and nothing is read
            with pytest.raises(RuntimeError, match="outside a storage"):
                v.as_strided((), ())
            with pytest.raises(RuntimeError):
                w.as_strided((), ())


def test_as_strided_of_empty_view_is_bounds_checked():
    root = strided.arange(24.)
    e = root.view(4, 6)[:, 6:]                     # empty, offset 6
    assert e.storage_offset() == 6
    assert e.as_strided((3, 6), (6, 1)).tolist() == root[6:].view(3, 6).tolist()
    with pytest.raises(RuntimeError, match="outside a storage of size 24"):
        e.as_strided((4, 6), (6, 1))               # one row too many from offset 6
    far = root.as_strided((0,), (1,), 1000)        # PyTorch accepts any offset when empty
    assert far.storage_offset() == 1000 and far.tolist() == []
    with pytest.raises(RuntimeError, match="outside a storage"):
        far.as_strided((1,), (1,))
    assert far.as_strided((2,), (1,), 3).tolist() == [3.0, 4.0]


def test_empty_views_with_huge_strides_do_not_overflow_silently():
    t = strided.zeros(4).as_strided((0, 5), (1, 2 ** 62))
    with pytest.raises(RuntimeError, match="overflows int64"):
        t[:, 4:]
    with pytest.raises(RuntimeError, match="overflows int64"):
        t.select(1, 3)
    with pytest.raises(RuntimeError, match="overflows int64"):
        strided.zeros(4).as_strided((0,), (1,), 2 ** 62)      # offset * itemsize
    assert strided.zeros(4).as_strided((0, 5), (1, 2 ** 40))[:, 3:].storage_offset() == 3 * 2 ** 40


def test_flipped_empty_views_keep_a_non_negative_offset():
    t = strided.arange(3.).flip(0)
    e = t[3:3]                                     # offset 2 - 3 would be -1
    assert e.numel() == 0 and e.storage_offset() == 0


# ---- read-only producers --------------------------------------------------------------

def _readonly_array():
    a = np.arange(12.0).reshape(3, 4)
    a.flags.writeable = False
    return a


@pytest.fixture
def memmap_r(tmp_path):
    path = tmp_path / "data.bin"
    np.arange(12.0).reshape(3, 4).tofile(path)
    return np.memmap(path, dtype=np.float64, mode="r", shape=(3, 4))


PRODUCERS = ["from_numpy", "from_dlpack", "memmap_from_numpy", "memmap_from_dlpack",
             "broadcast_to", "numpy_roundtrip", "dlpack_capsule_roundtrip"]


@pytest.fixture(params=PRODUCERS)
def readonly(request, tmp_path):
    """(tensor, the array whose memory it shares)."""
    kind = request.param
    if kind.startswith("memmap"):
        path = tmp_path / "data.bin"
        np.arange(12.0).reshape(3, 4).tofile(path)
        a = np.memmap(path, dtype=np.float64, mode="r", shape=(3, 4))
        return (strided.from_numpy(a) if kind.endswith("numpy") else strided.from_dlpack(a)), a
    if kind == "broadcast_to":
        a = np.broadcast_to(np.arange(4.0), (3, 4))
        return strided.from_numpy(a), a
    a = _readonly_array()
    if kind == "from_numpy":
        return strided.from_numpy(a), a
    if kind == "from_dlpack":
        return strided.from_dlpack(a), a
    if kind == "numpy_roundtrip":                   # a read-only tensor's export, re-imported
        return strided.from_numpy(strided.from_numpy(a).numpy()), a
    capsule = strided.from_dlpack(a).__dlpack__(max_version=(1, 0))
    return strided.from_dlpack(capsule), a


def _write_paths():
    f64 = strided.float64
    return {
        "setitem int": lambda t: t.__setitem__(0, 1.0),
        "setitem slice": lambda t: t.__setitem__((slice(None), slice(1, 2)), 5.0),
        "setitem empty": lambda t: t.__setitem__(slice(0, 0), 5.0),
        "setitem advanced": lambda t: t.__setitem__([0, 2], 1.0),
        "setitem mask": lambda t: t.__setitem__(t > 3, 0.0),
        "add_": lambda t: t.add_(1),
        "mul_": lambda t: t.mul_(2),
        "div_": lambda t: t.div_(2),
        "clamp_": lambda t: t.clamp_(0, 1),
        "neg_": lambda t: t.neg_(),
        "exp_": lambda t: t.exp_(),
        "iadd": lambda t: t.__iadd__(1),
        "imul": lambda t: t.__imul__(t),
        "copy_": lambda t: t.copy_(strided.zeros(3, 4, dtype=f64)),
        "fill_": lambda t: t.fill_(1),
        "zero_": lambda t: t.zero_(),
        "lerp_": lambda t: t.lerp_(strided.zeros(3, 4, dtype=f64), 0.5),
        "index_add_": lambda t: t.index_add_(0, strided.tensor([0]), strided.ones(1, 4, dtype=f64)),
        "add out=": lambda t: strided.add(strided.ones(3, 4, dtype=f64), 1, out=t),
        "exp out=": lambda t: strided.exp(strided.ones(3, 4, dtype=f64), out=t),
        "gemm C": lambda t: strided.gemm(strided.ones(3, 2, dtype=f64),
                                         strided.ones(2, 4, dtype=f64), t),
        "view add_": lambda t: t[1].add_(1),
        "transposed view copy_": lambda t: t.T.copy_(strided.zeros(4, 3, dtype=f64)),
        "detach add_": lambda t: t.detach().add_(1),
        "storage setitem": lambda t: t.untyped_storage().__setitem__(0, 1.0),
        "numpy write": lambda t: t.numpy().__setitem__(0, 1.0),
        "writable buffer": lambda t: np.frombuffer(t.untyped_storage(), np.float64).__setitem__(0, 1),
        "nn.init": lambda t: strided.nn.init.zeros_(t),
        "sgd step": lambda t: _optimizer_step(t, "SGD", momentum=0.9),
        "adam step": lambda t: _optimizer_step(t, "Adam"),
        "adamw step": lambda t: _optimizer_step(t, "AdamW"),
        "grad accumulation": _accumulate_into,
    }


def _optimizer_step(t, name, **kw):
    p = strided.nn.Parameter(t)
    p.grad = strided.ones(*t.shape, dtype=t.dtype)
    getattr(strided.optim, name)([p], lr=0.1, **kw).step()


def _accumulate_into(t):
    w = strided.zeros(*t.shape, dtype=t.dtype, requires_grad=True)
    w.grad = t                                     # a read-only .grad: backward adds into it
    (w * 2).sum().backward()


@pytest.mark.parametrize("path", list(_write_paths()))
def test_every_write_path_refuses(readonly, path):
    t, a = readonly
    before = np.array(a, copy=True)
    with pytest.raises((ValueError, BufferError), match="read-only"):
        _write_paths()[path](t)
    assert np.array_equal(np.asarray(a), before)    # nothing was written


def test_read_only_message_names_the_producer():
    with pytest.raises(ValueError, match="NumPy array that is not writeable"):
        strided.from_numpy(_readonly_array()).add_(1)
    with pytest.raises(ValueError, match="DLPack producer that marked it read-only"):
        strided.from_dlpack(_readonly_array()).add_(1)


def test_reads_share_memory(readonly):
    t, a = readonly
    assert t.untyped_storage().read_only
    assert t.tolist() == np.asarray(a).tolist()
    assert t.data_ptr() == a.__array_interface__["data"][0]            # no copy
    assert (t * 2).tolist() == (np.asarray(a) * 2).tolist()             # results are fresh
    assert not (t * 2).untyped_storage().read_only
    assert t.sum().item() == np.asarray(a).sum()
    for v in (t[1:], t.T, t[:, ::2], t.unsqueeze(0),
              t.expand(2, 3, 4), t.detach(), t.flip(0), t[t.shape[0]:]):
        assert v.untyped_storage().read_only                            # views inherit
        with pytest.raises(ValueError, match="read-only"):
            v.zero_()


def test_exports_stay_read_only(readonly):
    t, a = readonly
    assert not t.numpy().flags.writeable
    assert not np.asarray(t).flags.writeable
    assert memoryview(t).readonly
    assert not t.untyped_storage()._numpy().flags.writeable
    with pytest.raises(BufferError, match="legacy"):
        t.__dlpack__()                              # cannot say read-only: refused, like NumPy
    assert not np.from_dlpack(t).flags.writeable   # versioned: flagged
    back = strided.from_dlpack(t)
    assert back.untyped_storage().read_only
    assert torch.from_dlpack(t).tolist() == t.tolist()
    assert t.__dlpack__(copy=True) is not None      # a copy may go anywhere


def test_copies_are_writable(readonly):
    t, a = readonly
    before = np.array(a, copy=True)
    for c in (t.clone(), strided.tensor(a), strided.from_dlpack(a, copy=True), t.contiguous()
              if not t.is_contiguous() else t.clone(), t.to(strided.float32),
              strided.from_numpy(np.array(a))):
        assert not c.untyped_storage().read_only
        c.add_(1)
        assert c.tolist() == (before + 1).tolist()
    assert np.array_equal(np.asarray(a), before)


def test_writable_producers_stay_writable(tmp_path):
    a = np.arange(4.0)
    t = strided.from_numpy(a)
    t.add_(1)
    assert a.tolist() == [1.0, 2.0, 3.0, 4.0]
    strided.from_dlpack(a).mul_(2)
    assert a.tolist() == [2.0, 4.0, 6.0, 8.0]
    path = tmp_path / "w.bin"
    np.zeros(3).tofile(path)
    m = np.memmap(path, dtype=np.float64, mode="r+", shape=(3,))
    strided.from_numpy(m).fill_(7)
    m.flush()
    assert np.fromfile(path).tolist() == [7.0, 7.0, 7.0]
    assert strided.from_dlpack(torch.arange(3.0)).add_(1).tolist() == [1.0, 2.0, 3.0]


def test_read_only_memmap_write_is_refused_not_a_crash(memmap_r):
    t = strided.from_numpy(memmap_r)
    with pytest.raises(ValueError, match="read-only"):
        t[0, 0] = 1.0                               # (writing would fault: the pages are read-only)
    assert t[2].tolist() == [8.0, 9.0, 10.0, 11.0]


def test_from_numpy_of_read_only_array_does_not_warn():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        strided.from_numpy(_readonly_array())


# ---- ints beyond int64 ----------------------------------------------------------------

BIG = 2 ** 64


def _int_cases(lib):
    t = lib.arange(6.).reshape(2, 3)
    storage = (lambda n: strided.Storage(n)) if lib is strided else (lambda n: torch.UntypedStorage(n))
    return {
        "view": lambda: t.view(BIG), "view 2**63": lambda: t.view(2 ** 63),
        "view -2**63-1": lambda: t.view(-2 ** 63 - 1), "reshape": lambda: t.reshape(BIG, 1),
        "expand": lambda: t[:1].expand(BIG, 3), "permute": lambda: t.permute(BIG, 0),
        "flip": lambda: t.flip(BIG), "unflatten": lambda: t.unflatten(1, (BIG, -1)),
        "as_strided size": lambda: t.as_strided((BIG,), (1,)),
        "as_strided stride": lambda: t.as_strided((2,), (BIG,)),
        "as_strided offset": lambda: t.as_strided((2,), (1,), BIG),
        "zeros": lambda: lib.zeros(BIG), "empty": lambda: lib.empty(2, BIG),
        "ones": lambda: lib.ones((2, BIG)), "full": lambda: lib.full((BIG,), 1.0),
        "randn": lambda: lib.randn(BIG),
        "index": lambda: t[BIG], "negative index": lambda: t[-BIG], "index 2d": lambda: t[0, BIG],
        "setitem": lambda: t.__setitem__(BIG, 1.0),
        "narrow start": lambda: t.narrow(0, 2 ** 63, 1), "narrow length": lambda: t.narrow(0, 0, BIG),
        "select": lambda: t.select(0, BIG), "unsqueeze": lambda: t.unsqueeze(BIG),
        "transpose": lambda: t.transpose(BIG, 0), "flatten": lambda: t.flatten(BIG),
        "squeeze": lambda: t.squeeze(BIG), "squeeze list": lambda: t.squeeze((BIG,)),
        "movedim": lambda: t.movedim(BIG, 0), "movedim list": lambda: t.movedim((BIG,), (0,)),
        "split": lambda: t.split(BIG), "split sizes": lambda: t.split([BIG, 1]),
        "chunk": lambda: t.chunk(BIG), "tensor_split": lambda: t.tensor_split(BIG),
        "tensor_split indices": lambda: t.tensor_split([BIG]),
        "unfold size": lambda: t.unfold(0, BIG, 1), "unfold step": lambda: t.unfold(0, 1, BIG),
        "diagonal": lambda: t.diagonal(BIG), "sum dim": lambda: t.sum(BIG),
        "sum dims": lambda: t.sum((BIG,)), "Storage": lambda: storage(BIG),
        "tensor list": lambda: lib.tensor([BIG]), "tensor int": lambda: lib.tensor(2 ** 63),
    }


@pytest.mark.parametrize("case", list(_int_cases(strided)))
def test_ints_beyond_int64_raise_torchs_exception(case):
    with pytest.raises(Exception) as want:
        _int_cases(torch)[case]()
    with pytest.raises(want.type, match="int64 range"):
        _int_cases(strided)[case]()


def test_huge_slice_bounds_clamp_like_torch():
    t, w = strided.arange(6.).reshape(2, 3), torch.arange(6.).reshape(2, 3)
    assert _meta(t[BIG:]) == _meta(w[BIG:])
    assert _meta(t[:BIG]) == _meta(w[:BIG])
    assert _meta(t[-BIG:]) == _meta(w[-BIG:])
    assert t[::BIG].shape == np.zeros((2, 3))[::BIG].shape == (1, 3)    # (PyTorch raises here)


@pytest.mark.parametrize("shape", [(2, 3, 2**63 - 1, 0), (2**62, 2**62, 0), (0, 2**62, 2),
                                   (2**62, 0), (0, 2**31, 2**31), (1, 2**62, 1, 0),
                                   (2**40, 0, 2**40), (3, 2**62, 0), (0, 3, 2**62)])
def test_empty_shapes_multiply_out_as_torchs(shape):
    """An empty tensor's strides (products of its later sizes) and the running product of
    its sizes must fit in int64: refused exactly where PyTorch refuses."""
    try:
        want = torch.empty(shape)
    except RuntimeError:
        for make in (strided.empty, strided.zeros, strided.ones):
            with pytest.raises(ValueError, match="beyond int64"):
                make(*shape)
        return
    t = strided.empty(*shape)
    assert t.shape == want.shape and t.stride() == want.stride()
