"""The benchmark scripts run (quick mode) and report every op, so they cannot rot."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_views_quick(tmp_path):
    out = tmp_path / "views.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_views.py"),
                           "--quick", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "geomean" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    ops = {row["op"] for row in rows}
    assert {"slice", "int index", "view", "reshape", "transpose", "permute", "expand",
            "unfold", "as_strided", "contiguous"} <= ops
    for row in rows:
        assert row["strided_ns"] > 0 and row["numpy_ns"] > 0
        assert abs(row["numpy_over_strided"] - row["numpy_ns"] / row["strided_ns"]) < 1e-6


def test_bench_gemm_quick(tmp_path):
    out = tmp_path / "gemm.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_gemm.py"),
                           "--quick", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "geomean" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    cases = {row["case"] for row in rows}
    assert {"square 64", "square 256", "AT@B 128", "A@BT 128", "AT@BT 128", "conv", "mlp"} <= cases
    assert {row["threads"] for row in rows} == {1, 2}
    assert {row["dtype"] for row in rows} == {"float32", "float64"}
    for row in rows:
        assert row["strided_gflops"] > 0 and row["numpy_gflops"] > 0
        assert abs(row["strided_over_numpy"] - row["strided_gflops"] / row["numpy_gflops"]) < 1e-9


def test_bench_conv_quick(tmp_path):
    out = tmp_path / "conv.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_conv.py"),
                           "--quick", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "torch/strided" in proc.stdout
    result = json.loads(out.read_text())
    rows = result["rows"]
    cases = {row["case"] for row in rows}
    assert {"max_pool2d 3x3/s2/p1", "max_pool2d 2x2/s2", "avg_pool2d 2x2/s2"} <= cases
    assert {"conv 3x3 64->64", "conv 3x3/s2 64->128", "conv 1x1 256->64",
            "LeNet conv1 5x5 1->6", "LeNet conv2 5x5 6->16"} <= cases
    assert {(row["mode"], row["threads"]) for row in rows} == {
        (mode, threads) for mode in ("fwd", "fwd+bwd") for threads in (1, 2)}
    for row in rows:
        assert row["strided_ms"] > 0
        if row["torch_ms"] is not None:
            assert abs(row["torch_over_strided"] - row["torch_ms"] / row["strided_ms"]) < 1e-9


def test_bench_elementwise_quick(tmp_path):
    out = tmp_path / "elementwise.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_elementwise.py"),
                           "--quick", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "geomean" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    assert {(r["op"], r["layout"]) for r in rows} >= {
        (op, layout) for op in ("add", "mul", "exp", "relu", "sum", "sum dim 0", "sum dim 1",
                                "softmax") for layout in ("contiguous", "transposed", "stepped")}
    for row in rows:
        assert row["strided_s"] > 0 and row["numpy_s"] > 0
        assert abs(row["numpy_over_strided"] - row["numpy_s"] / row["strided_s"]) < 1e-9


def test_bench_loss_quick(tmp_path):
    out = tmp_path / "loss.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_loss.py"),
                           "--quick", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "torch/strided" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    assert {(r["shape"], r["mode"]) for r in rows} == {
        (shape, mode) for shape in ("64x10", "256x1000") for mode in ("fwd", "fwd+bwd")}
    for row in rows:
        assert row["strided_ms"] > 0
        if row["torch_ms"] is not None:
            assert abs(row["torch_over_strided"] - row["torch_ms"] / row["strided_ms"]) < 1e-9


def test_bench_optim_quick(tmp_path):
    out = tmp_path / "optim.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_optim.py"),
                           "--quick", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "torch/strided" in proc.stdout
    result = json.loads(out.read_text())
    assert result["tensors"] == 62
    rows = result["rows"]
    assert {(row["case"], row["threads"]) for row in rows} == {
        (case, threads) for case in ("SGD momentum=0.9", "Adam") for threads in (1, 2)}
    for row in rows:
        assert row["strided_ms"] > 0
        if row["torch_ms"] is not None:
            assert abs(row["torch_over_strided"] - row["torch_ms"] / row["strided_ms"]) < 1e-9


def test_bench_train_quick(tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "train.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_train.py"),
                           "--quick", "--threads", "1", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "strided/torch" in proc.stdout and "mean train loss" in proc.stdout
    result = json.loads(out.read_text())
    assert {row["workload"] for row in result["rows"]} == {"digits_cnn", "mlp", "resnet18"}
    for row in result["rows"]:
        assert row["threads"] == 1 and row["strided_s"] > 0
        if row["torch_s"] is not None:
            assert abs(row["ratio"] - row["strided_s"] / row["torch_s"]) < 1e-9
    for curve in result["curves"]:
        # warm-up round + timed rounds; same weights, data and batches: the same losses
        assert len(curve["strided_loss"]) == (3 if curve["workload"] == "resnet18" else 2)
        if curve["torch_loss"] is not None:
            for s, t in zip(curve["strided_loss"], curve["torch_loss"]):
                assert abs(s - t) <= 1e-3 * max(1.0, abs(t)), curve


def test_profile_train_runs(tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "profile.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "profile_train.py"),
                           "--steps", "5", "--batch-size", "4", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())["strided"]
    assert set(result["phases"]) >= {"forward", "loss", "backward", "step", "total"}
    assert any(k.startswith("ConvolutionBackward0") for k in result["nodes"])
    assert "engine (backward - nodes)" in result["nodes"]


def test_bench_ported_quick(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    sys.path.insert(0, os.path.join(ROOT, "examples", "ported"))
    import run_ported
    if not all(run_ported.available(p) for p in run_ported.PROGRAMS):
        pytest.skip("the programs' checkouts are not given (PYTORCH_EXAMPLES, PYTORCH_TUTORIALS)")
    out = tmp_path / "ported.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_ported.py"),
                           "--quick", "--threads", "1", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "strided/torch" in proc.stdout and "load average" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    assert {row["program"] for row in rows} == {"mnist_main", "cifar10_tutorial",
                                                "quickstart_tutorial", "regression_main"}
    for row in rows:
        assert row["threads"] == 1 and row["strided_time"] > 0
        if row["program"] == "regression_main":
            assert row["unit"] == "ms/batch" and row["strided_test_loss"] < 1e-3
        else:
            assert row["unit"] == "s/epoch" and 0 <= row["strided_accuracy"] <= 100
        if row["torch_time"] is not None:
            assert abs(row["ratio"] - row["strided_time"] / row["torch_time"]) < 1e-9


def test_bench_seq_quick(tmp_path):
    out = tmp_path / "seq.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_seq.py"),
                           "--quick", "--threads", "1", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "strided/torch" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    assert {(row["causal"], row["mode"]) for row in rows} == {
        (causal, mode) for causal in (False, True) for mode in ("fwd", "fwd+bwd")}
    for row in rows:
        assert row["seq"] == 96 and row["threads"] == 1
        assert row["strided_ms"] > 0 and row["strided_extra_mb"] >= 0
        if row["torch_ms"] is not None:
            assert abs(row["strided_over_torch"] - row["strided_ms"] / row["torch_ms"]) < 1e-9
    gpt = json.loads(out.read_text())["gpt_rows"]
    assert len(gpt) == 1 and gpt[0]["n_layer"] == 2 and gpt[0]["strided_ms"] > 0
    if gpt[0]["torch_ms"] is not None:
        assert abs(gpt[0]["strided_over_torch"] - gpt[0]["strided_ms"] / gpt[0]["torch_ms"]) < 1e-9
