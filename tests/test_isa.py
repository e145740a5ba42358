"""The one CPU check and the STRIDED_ISA cap (NOTE [ Instruction sets ] in
strided/_C/core/cpu.pyx), and strided.show_config().

Each level up to what this CPU has runs in a subprocess with STRIDED_ISA set: it must
report that level (never more than the CPU has), pick its kernels from it -- GEMM table,
element-wise and optimizer builds -- and compute what the uncapped run computes, to
rounding (FMA contraction and the GEMM's K blocks may differ between instruction sets).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import strided
from strided._C.core import cpu
from strided._C.kernels import gemm as _gemm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVELS = ("baseline", "avx2", "avx512")

PROGRAM = r"""
import json, numpy as np, strided
from strided._C.kernels import gemm
rng = np.random.default_rng(3)
out = {"config": strided.show_config("dicts"),
       "tables": {t: gemm._table_info(t)["isa"] for t in gemm._kernel_tables()}}
for dt in ("float32", "float64"):
    for m, n, k in ((67, 71, 83), (300, 301, 302), (64, 64, 64), (5, 700, 40)):
        a = rng.standard_normal((m, k)).astype(dt)
        b = rng.standard_normal((k, n)).astype(dt)
        A, B = strided.from_numpy(a), strided.from_numpy(np.ascontiguousarray(b.T)).t()
        out[f"mm_{dt}_{m}_{n}_{k}"] = (A @ B).tolist()
        out[f"mmt_{dt}_{m}_{n}_{k}"] = (A @ strided.from_numpy(b)).tolist()
x = strided.from_numpy(rng.standard_normal((37, 129)).astype(np.float32))
out["exp"] = x.exp().tolist()
out["sum"] = x.sum(1).tolist()
print(json.dumps(out))
"""


def run(isa):
    env = dict(os.environ)
    env.pop("STRIDED_ISA", None)
    if isa is not None:
        env["STRIDED_ISA"] = isa
    return subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


@pytest.fixture(scope="module")
def uncapped():
    proc = run(None)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_detected_level_matches_features():
    feats = cpu.features()
    level = cpu.detected_isa()
    assert level in LEVELS
    assert cpu.isa() in LEVELS
    assert LEVELS.index(cpu.isa()) <= LEVELS.index(level)
    if level in ("avx2", "avx512"):
        assert feats["avx2"] and feats["fma"] and feats["os_ymm"]
    if level == "avx512":
        assert all(feats[f] for f in ("avx512f", "avx512dq", "avx512bw", "avx512vl", "os_zmm"))
    elif feats:
        # an x86 CPU below avx512 lacks one of its features or the OS support
        assert not all(feats[f] for f in ("avx512f", "avx512dq", "avx512bw", "avx512vl",
                                         "os_zmm", "avx2", "fma", "os_ymm"))


@pytest.mark.parametrize("isa", LEVELS)
def test_cap_picks_kernels_and_results_agree(uncapped, isa):
    if LEVELS.index(isa) > LEVELS.index(cpu.detected_isa()):
        pytest.skip(f"this CPU has no {isa}")
    proc = run(isa)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    c = got["config"]
    assert c["cpu"]["isa"] == isa
    assert c["cpu"]["STRIDED_ISA"] == isa
    assert c["cpu"]["detected_isa"] == cpu.detected_isa()
    k = c["kernels"]
    # the GEMM's widest table for the level (avx512_on_avx2 is for tests only)
    want_gemm = {"baseline": "reference", "avx2": "avx2", "avx512": "avx512"}[isa]
    assert k["gemm"]["table"] == want_gemm
    assert LEVELS.index(k["gemm"]["isa"]) <= LEVELS.index(isa)
    # the convolution runs on the GEMM's table (NOTE [ Convolution on the GEMM's tile ])
    assert k["convolution"]["table"] == want_gemm
    # the row kernels: the build of the level, or the AVX2 one if this install lacks it
    from importlib.util import find_spec
    want_rows = isa
    if isa == "avx512" and find_spec("strided._C.kernels.elementwise_avx512") is None:
        want_rows = "avx2"
    for family in ("element-wise", "reductions", "losses", "optimizers"):
        assert k[family] == want_rows, family
    # no table above the cap can even be selected (asked in the child: this process may
    # run under a cap of its own)
    assert all(LEVELS.index(level) <= LEVELS.index(isa) for level in got["tables"].values())
    if isa == "baseline":
        assert list(got["tables"]) == ["reference"]
    for key, ref in uncapped.items():
        if key in ("config", "tables"):
            continue
        a, b = np.array(got[key], np.float64), np.array(ref, np.float64)
        assert a.shape == b.shape, key
        tol = 1e-12 if "float64" in key else 2e-5
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * np.abs(b).max(), err_msg=key)


@pytest.mark.parametrize("stem", ["elementwise", "reduce", "loss", "optim"])
def test_every_row_build_this_cpu_runs_imports(stem):
    """Each build of a module's row kernels that this install has and this CPU can run
    imports and hands out its table (NOTE [ Kernel dispatch ]); a build that exists but fails
    to import would otherwise leave its family on slower kernels with nothing said.  The
    ISA copies are one module's generated C under other names (setup.py's ISA_COPIES)."""
    import importlib
    from importlib.util import find_spec
    found = []
    for level in LEVELS[:LEVELS.index(cpu.detected_isa()) + 1]:
        name = f"strided._C.kernels.{stem}_{level}"
        if find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        assert type(module.row_kernels()).__name__ == "PyCapsule", name
        assert module.__name__ == name
        found.append(level)
    if cpu.detected_isa() != "baseline":
        assert "avx2" in found, f"no AVX2 build of {stem} on an x86-64 build"


@pytest.mark.parametrize("value", ["avx3", "AVX-512", "native", "1"])
def test_bad_value_fails_import_with_clear_message(value):
    proc = run(value)
    assert proc.returncode != 0
    assert "STRIDED_ISA" in proc.stderr and "baseline, avx2, avx512" in proc.stderr
    assert repr(value) in proc.stderr


@pytest.mark.parametrize("value", ["", "  ", "AVX2", " baseline "])
def test_empty_and_case_insensitive_values(value):
    proc = run(value)
    assert proc.returncode == 0, proc.stderr
    level = json.loads(proc.stdout)["config"]["cpu"]["isa"]
    if value.strip():
        want = min(LEVELS.index(value.strip().lower()), LEVELS.index(cpu.detected_isa()))
        assert level == LEVELS[want]
    else:
        assert level == cpu.detected_isa()


def test_show_config_prints_cpu_kernels_and_threads(capsys):
    assert strided.show_config() is None
    out = capsys.readouterr().out
    cfg = strided.show_config("dicts")
    assert f"CPU: {cfg['cpu']['name']}" in out
    assert f"instruction set: {cpu.isa()}" in out
    assert f"gemm:         {_gemm._kernel_name()}" in out
    assert f"Threads: {strided.get_num_threads()}" in out
    assert cfg["threads"] == strided.get_num_threads()
    with pytest.raises(ValueError, match="mode"):
        strided.show_config("yaml")
