"""Device boilerplate of PyTorch programs: strided.device, device= on factories, Tensor.to /
.cpu(), Module.to(device), strided.cuda / strided.accelerator / strided.backends."""
import pickle

import numpy as np
import pytest

import strided as S

torch = pytest.importorskip("torch")

SPECS = ["cpu", "cpu:0", "cuda", "cuda:1", "mps", "meta", "xpu:3"]


@pytest.mark.parametrize("spec", SPECS)
def test_device_names_as_torch(spec):
    d, t = S.device(spec), torch.device(spec)
    assert (d.type, d.index, str(d), repr(d)) == (t.type, t.index, str(t), repr(t))
    assert d == spec and d == S.device(d) and hash(d) == hash(S.device(spec))
    assert pickle.loads(pickle.dumps(d)) == d


@pytest.mark.parametrize("args", [("cuda", 0), ("cpu", 0), ("mps", 2)])
def test_device_with_index_as_torch(args):
    d, t = S.device(*args), torch.device(*args)
    assert (d.type, d.index, str(d)) == (t.type, t.index, str(t))


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "", "cpu:-1"])
def test_device_bad_strings_raise_as_torch(bad):
    with pytest.raises(RuntimeError):
        torch.device(bad)
    with pytest.raises(RuntimeError):
        S.device(bad)


def test_device_is_immutable_and_compares():
    d = S.device("cpu")
    with pytest.raises(AttributeError):
        d.type = "cuda"
    assert d != S.device("cuda") and d != "cuda" and d != "nonsense" and d != 3


FACTORIES = {
    "zeros": lambda L, dev: L.zeros(2, 3, device=dev),
    "ones": lambda L, dev: L.ones((2, 3), device=dev),
    "empty": lambda L, dev: L.empty(2, device=dev),
    "full": lambda L, dev: L.full((2,), 1.5, device=dev),
    "arange": lambda L, dev: L.arange(5, device=dev),
    "linspace": lambda L, dev: L.linspace(0, 1, 4, device=dev),
    "eye": lambda L, dev: L.eye(3, device=dev),
    "tensor": lambda L, dev: L.tensor([[1.0, 2.0]], device=dev),
    "rand": lambda L, dev: L.rand(2, 2, device=dev),
    "randn": lambda L, dev: L.randn(2, device=dev),
    "randint": lambda L, dev: L.randint(0, 5, (3,), device=dev),
    "randperm": lambda L, dev: L.randperm(4, device=dev),
    "zeros_like": lambda L, dev: L.zeros_like(L.ones(2), device=dev),
    "ones_like": lambda L, dev: L.ones_like(L.ones(2), device=dev),
    "full_like": lambda L, dev: L.full_like(L.ones(2), 3, device=dev),
    "rand_like": lambda L, dev: L.rand_like(L.ones(2), device=dev),
    "randn_like": lambda L, dev: L.randn_like(L.ones(2), device=dev),
    "empty_like": lambda L, dev: L.empty_like(L.ones(2), device=dev),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("dev", [None, "cpu", "cpu:0", "device"])
def test_factories_take_cpu_devices(name, dev):
    outs = []
    for L in (S, torch):
        d = L.device("cpu") if dev == "device" else dev
        t = FACTORIES[name](L, d)
        outs.append((tuple(t.shape), str(t.dtype).split(".")[-1], t.device.type))
    assert outs[0] == outs[1]
    if name not in ("empty", "empty_like", "rand", "randn", "randint", "randperm",
                    "rand_like", "randn_like"):
        a = FACTORIES[name](S, None).numpy()
        b = FACTORIES[name](torch, None).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-6)     # linspace: 1 ulp apart


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_refuse_other_devices(name):
    for dev in ("cuda", S.device("mps"), "meta"):
        with pytest.raises(RuntimeError, match="strided tensors live on the CPU"):
            FACTORIES[name](S, dev)


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
def test_tensor_to_and_cpu(layout):
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    t = S.tensor(a)
    t = {"contiguous": t, "transposed": t.T, "sliced": t[:, ::2]}[layout]
    assert t.cpu() is t and t.to("cpu") is t and t.to(S.device("cpu")) is t
    assert t.to(device="cpu") is t and t.is_cpu and not t.is_cuda
    u = t.to(S.device("cpu"), S.float64)
    assert u.dtype is S.float64 and u.device == S.device("cpu")
    np.testing.assert_array_equal(u.numpy(), t.numpy().astype(np.float64))
    w = t.to("cpu", dtype=S.int64)
    assert w.dtype is S.int64
    for dev in ("cuda", S.device("cuda", 0), "mps:0"):
        with pytest.raises(RuntimeError, match="strided tensors live on the CPU"):
            t.to(dev)
    with pytest.raises(RuntimeError, match="strided tensors live on the CPU"):
        t.cuda()


def test_module_to_device_keeps_training():
    m = S.nn.Sequential(S.nn.Linear(3, 4), S.nn.ReLU(), S.nn.Linear(4, 2))
    assert m.to(S.device("cpu")) is m and m.cpu() is m and m.to("cpu") is m
    assert m.to(device="cpu") is m
    m = m.to(S.device("cpu"), S.float64)
    assert all(p.dtype is S.float64 and p.device.type == "cpu" for p in m.parameters())
    with pytest.raises(RuntimeError, match="strided tensors live on the CPU"):
        m.to("cuda")
    with pytest.raises(RuntimeError, match="strided tensors live on the CPU"):
        m.cuda()


def test_availability_checks_as_on_a_cpu_only_torch():
    assert S.cuda.is_available() is False and S.cuda.device_count() == 0
    assert S.accelerator.is_available() is False
    assert S.accelerator.current_accelerator() is None
    assert S.backends.mps.is_available() is False
    S.cuda.manual_seed_all(0)
    S.set_default_device("cpu")
    S.set_default_device(None)
    assert S.get_default_device() == S.device("cpu")
    with pytest.raises(RuntimeError, match="strided tensors live on the CPU"):
        S.set_default_device("cuda")


def test_pytorch_examples_device_boilerplate_runs():
    """pytorch/examples mnist/main.py's device choice and training-loop moves, unchanged
    but for the module name."""
    use_accel = S.accelerator.is_available()
    device = S.accelerator.current_accelerator() if use_accel else S.device("cpu")
    model = S.nn.Linear(4, 3).to(device)
    opt = S.optim.SGD(model.parameters(), lr=0.1)
    data = S.randn(8, 4)
    target = S.randint(0, 3, (8,))
    losses = []
    for _ in range(5):
        data, target = data.to(device), target.to(device)
        opt.zero_grad()
        loss = S.nn.functional.cross_entropy(model(data), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    # the tutorials' form
    dev = S.device("cuda:0" if S.cuda.is_available() else "cpu")
    assert S.zeros(2, device=dev).device.type == "cpu"
