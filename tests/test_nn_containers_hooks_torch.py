"""ParameterList / ParameterDict, the full backward hooks of modules, the state-dict hooks
and get_parameter / get_buffer / set_submodule, against torch: the same programs run with
both libraries (same weights) must see the same names, reprs, hook arguments and
gradients."""
import numpy as np
import pytest

import strided as S
import strided.nn as nn

torch = pytest.importorskip("torch")


def _np(t):
    return None if t is None else t.detach().numpy().copy()


def _repr(lib_obj):
    return repr(lib_obj).replace("torch.", "strided.")


# ---- ParameterList / ParameterDict -------------------------------------------------------------

def _plist(lib, N):
    pl = N.ParameterList([N.Parameter(lib.zeros(2, 3)), lib.ones(4)])
    pl.append(lib.full((1,), 2.0))
    pl.extend([lib.zeros(2, dtype=lib.float64)])
    pl += [N.Parameter(lib.ones(3), requires_grad=False)]
    return pl


def test_parameter_list_matches_torch():
    s, t = _plist(S, nn), _plist(torch, torch.nn)
    assert repr(s) == _repr(t)
    assert list(s.state_dict()) == list(t.state_dict()) == ["0", "1", "2", "3", "4"]
    assert [n for n, _ in s.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert len(s) == len(t) == 5
    assert all(isinstance(p, nn.Parameter) for p in s)
    assert [p.requires_grad for p in s] == [p.requires_grad for p in t]
    assert repr(s[1:3]) == _repr(t[1:3])
    assert s[-1] is s[4]
    s[0] = S.ones(5)
    t[0] = torch.ones(5)
    assert repr(s) == _repr(t)
    with pytest.raises(IndexError, match="index 5 is out of range"):
        s[5]
    # inside a model: optimisers and load_state_dict see the parameters
    m = nn.Module()
    m.params = s
    assert list(m.state_dict())[:2] == ["params.0", "params.1"]
    sd = {k: v + 1 for k, v in m.state_dict().items()}
    m.load_state_dict(sd)
    assert S.equal(m.params[1], S.full((4,), 2.0))
    opt = S.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=1.0)
    (m.params[2] * 3).sum().backward()
    opt.step()
    assert m.params[2].tolist() == [0.0]
    assert repr(nn.ParameterList()) == "ParameterList()"


def _pdict(lib, N):
    pd = N.ParameterDict({"a": N.Parameter(lib.zeros(2)), "b": lib.ones(3, 1)})
    pd["c"] = lib.zeros(1, dtype=lib.float64)
    pd.update([("d", lib.ones(2))])
    return pd


def test_parameter_dict_matches_torch():
    s, t = _pdict(S, nn), _pdict(torch, torch.nn)
    assert repr(s) == _repr(t)
    assert list(s.state_dict()) == list(t.state_dict()) == ["a", "b", "c", "d"]
    assert list(s.keys()) == list(t.keys())
    assert "b" in s and "z" not in s and len(s) == 4
    assert isinstance(s["b"], nn.Parameter)
    s.pop("b")
    t.pop("b")
    del s["a"]
    del t["a"]
    assert repr(s) == _repr(t)
    assert [n for n, _ in s.named_parameters()] == ["c", "d"]
    assert s.get("zz", 3) == 3
    s.clear()
    assert len(s) == 0 and list(s.parameters()) == []


# ---- backward hooks ----------------------------------------------------------------------------

class _Two:
    """A module of two tensor inputs and a number, built for either library."""

    @staticmethod
    def make(N):
        class Two(N.Module):
            def __init__(self):
                super().__init__()
                self.lin = N.Linear(3, 3)

            def forward(self, x, y, scale):
                return self.lin(x) * y * scale, (x * y).sum(1)
        return Two()


def _same_weights(ms, mt):
    for (n, p), (_, q) in zip(ms.named_parameters(), mt.named_parameters()):
        with S.no_grad():
            p.copy_(S.tensor(q.detach().numpy()))


def _run_hooks(lib, N, m, replace_in, replace_out, y_grad):
    log = []

    def pre(mod, go):
        log.append(("pre", [_np(g) for g in go]))
        if replace_out:
            return (go[0] * 2, go[1])

    def full(mod, gi, go):
        log.append(("full", [_np(g) for g in gi], [_np(g) for g in go]))
        if replace_in:
            return (gi[0] * -1, gi[1], None)

    h1 = m.register_full_backward_pre_hook(pre)
    h2 = m.register_full_backward_hook(full)
    r = np.random.default_rng(0)
    x = lib.tensor(r.standard_normal((4, 3)), dtype=lib.float32, requires_grad=True)
    y = lib.tensor(r.standard_normal((4, 3)), dtype=lib.float32, requires_grad=y_grad)
    a, b = m(x, y, 0.5)
    (a.sum() + (b * b).sum()).backward()
    h1.remove()
    h2.remove()
    a2, _ = m(x, y, 0.5)
    a2.sum().backward()          # removed hooks no longer run
    return log, _np(x.grad), _np(y.grad) if y_grad else None


@pytest.mark.parametrize("replace_in", [False, True])
@pytest.mark.parametrize("replace_out", [False, True])
@pytest.mark.parametrize("y_grad", [False, True])
def test_full_backward_hooks_match_torch(replace_in, replace_out, y_grad):
    ms, mt = _Two.make(nn), _Two.make(torch.nn)
    _same_weights(ms, mt)
    ls, xs, ys = _run_hooks(S, nn, ms, replace_in, replace_out, y_grad)
    lt, xt, yt = _run_hooks(torch, torch.nn, mt, replace_in, replace_out, y_grad)
    assert [e[0] for e in ls] == [e[0] for e in lt] == ["pre", "full"]
    for es, et in zip(ls, lt):
        for gs, gt in zip(es[1:], et[1:]):
            assert len(gs) == len(gt)
            for a, b in zip(gs, gt):
                assert (a is None) == (b is None)
                if a is not None:
                    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xs, xt, rtol=1e-5, atol=1e-6)
    if y_grad:
        np.testing.assert_allclose(ys, yt, rtol=1e-5, atol=1e-6)


def test_hook_order_prepend_and_no_input_grad():
    for lib, N in [(S, nn), (torch, torch.nn)]:
        m = N.Linear(2, 2)
        order = []
        m.register_full_backward_hook(lambda mod, gi, go: order.append("a"))
        m.register_full_backward_hook(lambda mod, gi, go: order.append("b"), prepend=True)
        m.register_full_backward_pre_hook(lambda mod, go: order.append("pre"))
        m(lib.ones(1, 2, requires_grad=True)).sum().backward()
        assert order == ["pre", "b", "a"]
        seen = []
        m2 = N.Linear(2, 2)
        m2.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go[0].shape)))
        with pytest.warns(UserWarning) if lib is torch else _nothing():
            m2(lib.ones(3, 2)).sum().backward()
        assert seen[0][0] == (None,) and tuple(seen[0][1]) == (3, 2)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_hook_errors():
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of "
                                           "grad_input, got 2, but expected 1"):
        m(S.ones(1, 2, requires_grad=True)).sum().backward()
    m2 = nn.Linear(2, 2)
    m2.register_full_backward_hook(lambda mod, gi, go: (S.ones(1, 2),))
    with pytest.raises(RuntimeError, match="where no input requires gradient should always "
                                           "return None"):
        m2(S.ones(1, 2)).sum().backward()


def test_no_hook_without_grad_mode_and_handles_as_context():
    m = nn.Linear(2, 2)
    calls = []
    with m.register_full_backward_hook(lambda *a: calls.append(1)):
        with S.no_grad():
            y = m(S.ones(1, 2, requires_grad=True))
        assert y.grad_fn is None
    m(S.ones(1, 2, requires_grad=True)).sum().backward()
    assert calls == []


# ---- state-dict hooks, get_parameter, get_buffer, set_submodule ------------------------------

def test_state_dict_hooks():
    for N in (nn, torch.nn):
        m = N.Sequential(N.Linear(2, 2), N.BatchNorm1d(2))
        seen = []
        m[1].register_state_dict_pre_hook(lambda mod, prefix, keep: seen.append(prefix))
        m.state_dict()
        assert seen == ["1."]

        def forgive(mod, keys):
            keys.missing_keys[:] = [k for k in keys.missing_keys if "num_batches" not in k]
        m.register_load_state_dict_post_hook(forgive)
        sd = m.state_dict()
        del sd["1.num_batches_tracked"]
        r = m.load_state_dict(sd)
        assert list(r.missing_keys) == [] and list(r.unexpected_keys) == []


def test_get_parameter_buffer_set_submodule_match_torch():
    for N in (nn, torch.nn):
        m = N.Sequential(N.Linear(2, 3), N.Sequential(N.BatchNorm1d(3), N.ReLU()))
        assert tuple(m.get_parameter("0.weight").shape) == (3, 2)
        assert tuple(m.get_buffer("1.0.running_mean").shape) == (3,)
        with pytest.raises(AttributeError, match="Linear has no attribute `foo`"):
            m.get_parameter("0.foo")
        with pytest.raises(AttributeError, match="`running_mean` is not an nn.Parameter"):
            m.get_parameter("1.0.running_mean")
        with pytest.raises(AttributeError, match="`weight` is not a buffer"):
            m.get_buffer("1.0.weight")
        m.set_submodule("1.1", N.Tanh())
        assert type(m[1][1]).__name__ == "Tanh"
        m.set_submodule("1.extra", N.ReLU())
        with pytest.raises(AttributeError, match="has no attribute `other`"):
            m.set_submodule("1.other", N.ReLU(), strict=True)
        with pytest.raises(ValueError, match="Cannot set the submodule without a target name"):
            m.set_submodule("", N.ReLU())
        with pytest.raises(ValueError, match="`module` is not an nn.Module"):
            m.set_submodule("0", 3)
