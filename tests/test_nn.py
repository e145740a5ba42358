"""strided.nn.Module mechanics, layers and init (NumPy references; torch parity is in
test_nn_torch.py)."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import strided as S
import strided.nn as nn
import strided.nn.functional as F
from strided.nn import init


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)
        self.register_buffer("steps", S.zeros(()))
        self.register_buffer("scratch", S.zeros(2), persistent=False)
        self.scale = S.ones(1)                 # a plain tensor: not registered

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_parameter_is_a_marked_leaf():
    t = S.randn(3)
    p = nn.Parameter(t)
    assert isinstance(p, nn.Parameter) and isinstance(p, S.Tensor)
    assert p.requires_grad and p.is_leaf
    assert not isinstance(t, nn.Parameter)
    assert p.data_ptr() == t.data_ptr()                 # shares storage, like torch
    assert not nn.Parameter(t, requires_grad=False).requires_grad


def test_registration_by_assignment():
    m = Net()
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight",
                                                     "fc2.bias"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch"]
    assert list(m.state_dict()) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight",
                                    "fc2.bias"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert "scale" not in dict(m.named_parameters())
    m.extra = nn.Parameter(S.zeros(2))
    assert "extra" in dict(m.named_parameters())
    m.extra = None
    assert m.extra is None and len(list(m.parameters())) == 4
    with pytest.raises(TypeError):
        m.fc1.weight = S.zeros(3, 4)                     # a plain tensor onto a parameter
    del m.fc1
    assert "fc1" not in dict(m.named_children())


def test_use_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(S.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_shared_parameters_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 3


def test_train_eval_propagates():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout()))
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())


def test_zero_grad_and_requires_grad_():
    m = Net()
    m(S.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_state_dict_round_trip_and_errors():
    a, b = Net(), Net()
    a.steps.fill_(7)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (k, v), (k2, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2 and np.array_equal(v.numpy(), v2.numpy())
    sd = a.state_dict()
    del sd["fc1.bias"]
    sd["bogus"] = S.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "fc1.bias"') as e:
        b.load_state_dict(sd)
    assert 'Unexpected key(s) in state_dict: "bogus"' in str(e.value)
    missing, unexpected = b.load_state_dict(sd, strict=False)
    assert missing == ["fc1.bias"] and unexpected == ["bogus"]
    sd = a.state_dict()
    sd["fc2.weight"] = S.zeros(5, 5)
    with pytest.raises(RuntimeError, match="size mismatch for fc2.weight"):
        b.load_state_dict(sd, strict=False)


def test_state_dict_shares_storage_and_is_detached():
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    assert sd["weight"].data_ptr() == m.weight.data_ptr()
    assert not sd["weight"].requires_grad


def test_hooks_run_and_are_removable():
    m = nn.Linear(3, 3)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre") or (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post") or out + 1)
    out = m(S.ones(1, 3))
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(out.detach().numpy(), m.bias.detach().numpy()[None] + 1,
                               rtol=1e-6)
    h1.remove()
    h2.remove()
    calls.clear()
    m(S.ones(1, 3))
    assert calls == []


def test_apply_and_init():
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))

    def fill(mod):
        if isinstance(mod, nn.Linear):
            init.constant_(mod.weight, 0.5)
            init.zeros_(mod.bias)
    m.apply(fill)
    assert np.all(m[0].weight.detach().numpy() == 0.5) and np.all(m[1].bias.detach().numpy() == 0)
    assert m[0].weight.requires_grad and m[0].weight.is_leaf


def test_init_statistics():
    S.manual_seed(0)
    w = S.empty(200, 300)
    init.xavier_uniform_(w)
    a = math.sqrt(6 / 500)
    assert np.abs(w.numpy()).max() <= a
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 200)) < 0.01 * math.sqrt(2 / 200) * 5
    init.xavier_normal_(w, gain=init.calculate_gain("tanh"))
    assert abs(w.numpy().std() - 5 / 3 * math.sqrt(2 / 500)) < 0.02
    init.kaiming_uniform_(w, a=math.sqrt(5))
    assert np.abs(w.numpy()).max() <= 1 / math.sqrt(300)
    init.normal_(w, 2.0, 0.5)
    assert abs(w.numpy().mean() - 2) < 0.01
    init.uniform_(w, -1, 3)
    assert w.numpy().min() >= -1 and w.numpy().max() <= 3
    init.ones_(w)
    assert np.all(w.numpy() == 1)


def test_sequential_indexing_slicing_len():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Tanh()]
    s = nn.Sequential(*layers)
    assert len(s) == 3 and s[0] is layers[0] and s[-1] is layers[2]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == layers[1:]
    s.append(nn.Sigmoid())
    assert len(s) == 4
    del s[0]
    assert list(s._modules) == ["0", "1", "2"]
    named = nn.Sequential(OrderedDict(a=nn.ReLU(), b=nn.Tanh()))
    assert list(named._modules) == ["a", "b"]
    with pytest.raises(IndexError):
        s[10]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    assert isinstance(ml[-1], nn.ReLU)
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.Tanh()
    assert list(md.keys()) == ["a", "b"] and "a" in md
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]


def test_dropout_train_only_and_seeded():
    x = S.ones(1000)
    d = nn.Dropout(0.3)
    S.manual_seed(3)
    y1 = d(x).numpy()
    S.manual_seed(3)
    y2 = d(x).numpy()
    assert np.array_equal(y1, y2)
    kept = y1 != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(y1[kept], 1 / 0.7, rtol=1e-6)
    d.eval()
    assert d(x) is x


def test_dropout_gradient_is_mask_times_scale():
    x = S.ones(50, requires_grad=True)
    y = F.dropout(x, 0.5, training=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy(), rtol=1e-6)


def test_batchnorm_eval_uses_running_stats():
    bn = nn.BatchNorm1d(2)
    x = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32)
    bn(S.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.var(0, ddof=1),
                               rtol=1e-5)
    bn.eval()
    y = bn(S.tensor(x)).detach().numpy()
    ref = (x - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_cross_entropy_numpy_reference_and_stability():
    x = np.array([[1e4, 0.0, -1e4], [2.0, 1.0, 0.1]])
    t = np.array([0, 2])
    loss = F.cross_entropy(S.tensor(x), S.tensor(t)).item()
    logp = x - x.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    assert np.isfinite(loss)
    np.testing.assert_allclose(loss, -logp[[0, 1], t].mean(), rtol=1e-12)


def test_conv_modules_construct_without_functional_conv():
    c = nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2)
    assert tuple(c.weight.shape) == (8, 2, 3, 3) and tuple(c.bias.shape) == (8,)
    assert list(c.state_dict()) == ["weight", "bias"]
    c1 = nn.Conv1d(2, 4, 5, padding="same", bias=False)
    assert tuple(c1.weight.shape) == (4, 2, 5) and c1.bias is None
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    if not hasattr(F, "conv2d"):
        with pytest.raises(NotImplementedError):
            c(S.zeros(1, 4, 5, 5))


def test_module_to_double():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).double()
    assert all(p.dtype == S.float64 for p in m.parameters())
    assert m[1].running_mean.dtype == S.float64
    assert m[1].num_batches_tracked.dtype == S.int64
    assert isinstance(m[0].weight, nn.Parameter)


def test_repr_nested():
    m = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU()))
    assert repr(m) == ("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                       "  (1): Sequential(\n    (0): ReLU()\n  )\n)")


def test_deepcopy_keeps_parameters_and_sharing():
    import copy
    lin = nn.Linear(2, 3)
    m = nn.Sequential(lin, nn.BatchNorm1d(3), lin)
    m2 = copy.deepcopy(m)
    assert m2[0] is m2[2] and m2[0] is not lin
    w = m2[0].weight
    assert isinstance(w, nn.Parameter) and w.requires_grad and w.is_leaf
    assert w.data_ptr() != lin.weight.data_ptr()
    np.testing.assert_array_equal(w.detach().numpy(), lin.weight.detach().numpy())
    assert len(list(m2.parameters())) == 4
    assert list(m2.state_dict()) == list(m.state_dict())
