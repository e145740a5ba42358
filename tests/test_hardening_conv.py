"""Hostile convolution and pooling arguments: PyTorch's answer or a clear error, never a
crash, a hang or a workspace that grows with the padding (NOTE [ Convolution geometry fits
in int64 ] in strided/_C/kernels/conv.pyx, NOTE [ Workspace bounded by the output ] in
conv_paths/common.pxi)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import strided
import strided.nn.functional as F
from strided._C.kernels import gemm as _gemm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_limited(code, mem_gib=1.5, timeout=120):
    """Run `code` in a child under RLIMIT_AS; its stdout (raises on a crash or a hang)."""
    prelude = ("import resource\n"
               f"resource.setrlimit(resource.RLIMIT_AS, ({int(mem_gib * 2**30)},) * 2)\n")
    proc = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, f"child died ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc.stdout


# Each: (op, input shape, weight shape or None, kwargs, PyTorch's output shape)
ONE_PIXEL = [
    ("conv2d", (1, 1, 3, 3), (1, 1, 2, 2), dict(stride=2**31, padding=1), (1, 1, 1, 1)),
    ("conv2d", (1, 1, 3, 3), (1, 1, 2, 2), dict(stride=2**62, padding=1), (1, 1, 1, 1)),
    ("conv2d", (1, 1, 3, 3), (1, 1, 2, 2), dict(stride=2**63 - 1, padding=1), (1, 1, 1, 1)),
    ("conv2d", (1, 1, 3, 3), (1, 1, 2, 2), dict(stride=65536, padding=1), (1, 1, 1, 1)),
    ("conv2d", (1, 1, 3, 3), (1, 1, 2, 2), dict(stride=(2**40, 1), padding=1), (1, 1, 1, 4)),
    ("conv2d", (1, 1, 3, 3), (1, 1, 2, 2), dict(stride=2**20, padding=2**20), (1, 1, 3, 3)),
    ("conv1d", (2, 2, 7), (2, 2, 5), dict(stride=2**62, padding=2**31), (2, 2, 1)),
    ("conv2d", (3, 2, 6, 2), (2, 1, 2, 2), dict(stride=(7, 2**62), padding=7, dilation=7,
                                                groups=2), (3, 2, 2, 1)),
    ("conv2d", (1, 2, 5, 7), (4, 1, 2, 2), dict(padding="same", dilation=(2**32, 3),
                                                groups=2), (1, 4, 5, 7)),
    ("conv2d", (2, 16, 4, 4), (32, 16, 3, 3), dict(stride=2**33, padding=2**32), (2, 32, 2, 2)),
    ("max_pool2d", (1, 2, 5, 5), None, dict(kernel_size=3, stride=2**30, padding=1), (1, 2, 1, 1)),
    ("avg_pool1d", (2, 3, 9), None, dict(kernel_size=5, stride=2**30, ceil_mode=True), (2, 3, 1)),
]


@pytest.mark.parametrize("case", ONE_PIXEL, ids=lambda c: f"{c[0]}-{c[3]}")
def test_huge_geometry_small_output(case):
    """Each case in a child with a 1.5 GiB address-space limit, on every GEMM kernel table
    (the convolution's tile is the table's): PyTorch's shape, finite values and gradients
    (values: test_huge_geometry_values_match_numpy)."""
    op, xs, ws, kw, want = case
    code = f"""
import json
import numpy as np, strided, strided.nn.functional as F
from strided._C.kernels import gemm
results = []
for table in gemm._kernel_tables():
    gemm._set_kernel(table)
    rs = np.random.RandomState(0)
    x = strided.tensor(rs.standard_normal({xs!r}).astype(np.float64), requires_grad=True)
    args = [x]
    if {ws!r} is not None:
        args.append(strided.tensor(rs.standard_normal({ws!r}).astype(np.float64),
                                   requires_grad=True))
    out = getattr(F, {op!r})(*args, **{kw!r})
    out.backward(strided.ones_like(out))
    results.append([table, list(out.shape), float(out.detach().sum().item()),
                    float(x.grad.sum().item())])
print(json.dumps(results))
"""
    results = json.loads(_run_limited(code))
    assert len(results) >= 1
    for table, shape, total, gsum in results:
        assert shape == list(want), table
        assert np.isfinite(total) and np.isfinite(gsum), table


def _conv_reference(x, w, stride, pad, dilation, groups):
    """NumPy conv2d over explicit (top, bottom, left, right) padding, any stride."""
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    (sH, sW), (pt, pb, pl, pr), (dH, dW) = stride, pad, dilation
    OH = (H + pt + pb - dH * (R - 1) - 1) // sH + 1
    OW = (W + pl + pr - dW * (S - 1) - 1) // sW + 1
    out = np.zeros((N, K, OH, OW))
    Kg = K // groups
    for k in range(K):
        grp = k // Kg
        for oh in range(OH):
            for ow in range(OW):
                acc = np.zeros(N)
                for r in range(R):
                    ih = oh * sH - pt + r * dH
                    if not 0 <= ih < H:
                        continue
                    for s in range(S):
                        iw = ow * sW - pl + s * dW
                        if 0 <= iw < W:
                            acc += x[:, grp * Cg:(grp + 1) * Cg, ih, iw] @ w[k, :, r, s]
                out[:, k, oh, ow] = acc
    return out


@pytest.mark.parametrize("stride,padding,dilation", [
    ((2**40, 1), (1, 1), (1, 1)),
    ((2**62, 3), (2**31, 2), (1, 2)),
    ((5, 2**62), (7, 7), (7, 1)),
    ((2**20, 2**20), (2**20, 2**20), (1, 1)),
    ((3, 1), (2**12, 0), (2**11, 1)),
])
@pytest.mark.parametrize("table", _gemm._kernel_tables())
def test_huge_geometry_values_match_numpy(stride, padding, dilation, table):
    old = _gemm._kernel_name()
    _gemm._set_kernel(table)
    try:
        _check_huge_geometry_values(stride, padding, dilation)
    finally:
        _gemm._set_kernel(old)


def _check_huge_geometry_values(stride, padding, dilation):
    rs = np.random.RandomState(1)
    x = rs.standard_normal((2, 4, 6, 5))
    w = rs.standard_normal((6, 2, 3, 2))
    got = F.conv2d(strided.tensor(x), strided.tensor(w), stride=stride, padding=padding,
                   dilation=dilation, groups=2).numpy()
    pad = (padding[0], padding[0], padding[1], padding[1])
    want = _conv_reference(x, w, stride, pad, dilation, 2)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_workspace_does_not_grow_with_padding():
    """A 1-pixel output with a padding of 2**31 under a 1 GiB address-space cap, on every
    GEMM kernel table."""
    code = """
import strided, strided.nn.functional as F
from strided._C.kernels import gemm
x = strided.randn(8, 64, 9, 9, requires_grad=True)
w = strided.randn(64, 64, 3, 3, requires_grad=True)
for table in gemm._kernel_tables():
    gemm._set_kernel(table)
    for i in range(3):
        out = F.conv2d(x, w, stride=2**33, padding=2**31)
        out.sum().backward()
    print(table, tuple(out.shape))
"""
    lines = _run_limited(code, mem_gib=1.0).strip().splitlines()
    assert len(lines) >= 1
    for line in lines:
        assert line.split(" ", 1)[1] == "(8, 64, 1, 1)", line


@pytest.mark.parametrize("xs,ws,kw", [
    ((3, 3, 3, 6), (2, 3, 1, 3), dict(stride=(2, 1), dilation=7, padding=(2**31,))),
    ((3, 3, 3, 5), (1, 3, 1, 2), dict(dilation=(2**31, 5), padding=(4, 2**40))),
    ((1, 1, 2, 2), (1, 1, 1, 1), dict(padding=(2**30, 2**31))),
])
def test_unallocatable_output_refused_at_once(xs, ws, kw):
    """An output too large to exist (or whose element count overflows int64) is refused
    by the allocator before the path choice does arithmetic over its size (which once
    walked it element block by element block and hung), on every GEMM kernel table."""
    code = f"""
import time
import strided, strided.nn.functional as F
from strided._C.kernels import gemm
for table in gemm._kernel_tables():
    gemm._set_kernel(table)
    x, w = strided.randn(*{xs!r}), strided.randn(*{ws!r})
    t = time.perf_counter()
    try:
        F.conv2d(x, w, strided.randn({ws[0]}), **{kw!r})
        print(table, "computed")
    except (MemoryError, ValueError, RuntimeError) as e:
        print(table, type(e).__name__, round(time.perf_counter() - t, 3))
"""
    lines = _run_limited(code, mem_gib=1.0, timeout=60).strip().splitlines()
    assert len(lines) >= 1
    for line in lines:
        table, kind, seconds = line.split()
        assert kind in ("MemoryError", "ValueError"), line
        assert float(seconds) < 5.0, line


@pytest.mark.parametrize("kw,message", [
    (dict(padding=2**63 - 1), "padded input"),
    (dict(stride=2**64), "does not fit in int64"),
    (dict(padding=-2**63 - 1), "does not fit in int64"),
    (dict(dilation=2**62), "dilated kernel"),
    (dict(stride=0), "non-positive stride"),
    (dict(dilation=-1), "non-positive dilation"),
    (dict(padding=-1), "negative padding"),
    (dict(groups=0), "non-positive groups"),
])
def test_clear_errors(kw, message):
    x, w = strided.randn(2, 2, 3), strided.randn(1, 2, 2)
    with pytest.raises(RuntimeError, match=message):
        F.conv1d(x, w, **kw)


@pytest.mark.parametrize("fn,kw", [
    (F.max_pool2d, dict(kernel_size=2, stride=2**64)),
    (F.avg_pool2d, dict(kernel_size=2, divisor_override=2**63)),
    (F.adaptive_avg_pool2d, dict(output_size=2**64)),
    (F.adaptive_max_pool1d, dict(output_size=(2**63,))),
])
def test_pool_int64_overflow_is_runtime_error(fn, kw):
    x = strided.randn(1, 2, 4, 4) if fn is not F.adaptive_max_pool1d else strided.randn(1, 2, 4)
    with pytest.raises(RuntimeError, match="does not fit in int64"):
        fn(x, **kw)


@pytest.mark.parametrize("ashape,bshape", [((0, 4), (1, 4, 6)), ((4, 0), (0, 0, 2)),
                                           ((2, 0, 3), (3, 5)), ((0, 2, 3), (1, 3, 4)),
                                           ((3,), (0, 3, 2)), ((2, 1, 0, 3), (5, 3, 1))])
def test_matmul_empty_batches_with_grad(ashape, bshape):
    a = strided.randn(*ashape, requires_grad=True)
    b = strided.randn(*bshape, requires_grad=True)
    out = strided.matmul(a, b)
    want = np.matmul(a.detach().numpy(), b.detach().numpy())
    assert out.shape == want.shape
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


def test_fuzz_conv_against_torch(tmp_path):
    """The fuzzer, fixed seed: every case agrees with PyTorch or is refused clearly."""
    pytest.importorskip("torch")
    out = tmp_path / "fuzz.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "fuzz_conv.py"),
                           "--cases", "1500", "--seed", "7", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    counts = report["counts"]
    for kind in ("wrong", "oom", "unclear", "crash", "hang"):
        assert counts[kind] == 0, (kind, report["examples"][kind], proc.stdout)
    assert counts["match"] >= 1400
