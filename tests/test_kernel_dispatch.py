"""The element-wise, reduction, loss and optimizer kernels are built for several instruction
sets (baseline, AVX2+FMA, AVX-512: NOTE [ Kernel dispatch ]); every build this CPU runs must
give the baseline's answers."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import strided
from strided._C.kernels import elementwise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROGRAM = r"""
import json, numpy as np, strided
from strided._C.kernels import elementwise
rng = np.random.default_rng(7)
x = strided.from_numpy((rng.standard_normal((67, 129)) * 30).astype(np.float32))
y = strided.from_numpy(rng.standard_normal((67, 129)).astype(np.float32))
xs = x[:, ::2]
out = {
    "isa": elementwise.kernel_isa(),
    "exp": x.exp().tolist(), "exp_strided": xs.exp().tolist(),
    "sigmoid": x.sigmoid().tolist(), "add": (x + y).tolist(), "maximum": x.maximum(y).tolist(),
    "relu_strided": xs.relu().tolist(), "sum1": x.sum(1).tolist(), "sum0": xs.sum(0).tolist(),
    "softmax": (x / 30).softmax(1).tolist(), "log_softmax": (x / 30).log_softmax(1).tolist(),
    "logsumexp": x.logsumexp(1).tolist(), "amax": x.amax(0).tolist(),
    "ifloor": (x.to(strided.int32) // 7).tolist(), "cumsum": x.cumsum(1).tolist(),
}
from strided._C.kernels import optim as optim_kernels
import strided.optim as optim
out["optim_isa"] = optim_kernels.kernel_isa()
for name, make in (("sgd", lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)),
                   ("adam", lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1)),
                   ("adamw", lambda p: optim.AdamW(p, lr=0.01))):
    for dtype in (strided.float32, strided.float64):
        ps = [x.to(dtype).clone().requires_grad_(), x.to(dtype).clone().t().requires_grad_()]
        opt = make(ps)
        for _ in range(3):
            for p in ps:
                p.grad = (y.t() if p.shape[0] != y.shape[0] else y).to(dtype) * p.detach()
            opt.step()
        out[f"{name}_{dtype.name}"] = [p.tolist() for p in ps]
print(json.dumps(out))
"""


def run(kernels):
    env = dict(os.environ, STRIDED_ISA=kernels)
    proc = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_baseline_kernels_can_be_forced():
    assert run("baseline")["isa"] == "baseline"


def _builds():
    """The ISA builds this CPU can run and this install has."""
    from importlib.util import find_spec
    from strided._C.core import cpu
    levels = ("avx2", "avx512")
    top = cpu.detected_isa()
    return [isa for isa in levels
            if top in levels and levels.index(isa) <= levels.index(top)
            and find_spec(f"strided._C.kernels.elementwise_{isa}") is not None]


@pytest.mark.parametrize("isa", ["avx2", "avx512"])
def test_isa_and_baseline_kernels_agree(isa):
    if isa not in _builds():
        pytest.skip(f"this CPU or build has no {isa} kernels")
    fast, base = run(isa), run("baseline")
    assert fast["isa"] == fast["optim_isa"] == isa
    assert base["optim_isa"] == "baseline"
    for key in base:
        if key.endswith("isa"):
            continue
        if key.startswith(("sgd", "adam")):
            # the same operations in the same order, no FMA contraction: bit for bit
            assert fast[key] == base[key], key
            continue
        a, b = np.array(fast[key], dtype=np.float64), np.array(base[key], dtype=np.float64)
        # the same formulas; only FMA contraction and summation order may differ
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6, err_msg=key)
