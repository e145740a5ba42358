"""Tensor.register_hook against torch: which gradients the hooks see, what their return
values change (.grad of leaves and retained non-leaves, autograd.grad's results, gradients
further up the graph), their order, remove(), and the errors."""
import numpy as np
import pytest

import strided

torch = pytest.importorskip("torch")


def _pair(shape, seed, dtype="float64"):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return (strided.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True))


def _close(s, t):
    assert s is not None and t is not None
    np.testing.assert_allclose(s.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)


def _run(lib, x, w, program):
    """One program (a graph with hooks) built in lib; returns what it records."""
    seen = []
    out = program(lib, x, w, seen)
    return out, seen


def _leaf_scale(lib, x, w, seen):
    x.register_hook(lambda g: seen.append(g.clone()))
    x.register_hook(lambda g: g * 2)
    x.register_hook(lambda g: seen.append(g.clone()))      # sees the doubled gradient
    (x * w).sum().backward()
    return [x.grad, w.grad]


def _nonleaf_shift(lib, x, w, seen):
    y = x * w
    y.register_hook(lambda g: g + 1)
    y.retain_grad()                              # .grad shows the hooked gradient
    z = (y * y).sum()
    z.backward()
    return [y.grad, x.grad, w.grad]


def _retain_first(lib, x, w, seen):
    y = (x * 3).tanh()
    y.retain_grad()
    y.register_hook(lambda g: g * 0.5)
    (y * w).sum().backward()
    return [y.grad, x.grad, w.grad]


def _two_paths(lib, x, w, seen):
    # y feeds two consumers: the hook sees the summed gradient once
    y = x.exp()
    y.register_hook(lambda g: seen.append(g.clone()))
    y.register_hook(lambda g: g * 3)
    ((y * w).sum() + (y * y).sum()).backward()
    return [x.grad, w.grad]


def _view_hook(lib, x, w, seen):
    y = x.t() if x.dim() == 2 else x[1:]
    y.register_hook(lambda g: g - 1)
    (y * y).sum().backward()
    return [x.grad]


def _grad_capture(lib, x, w, seen):
    x.register_hook(lambda g: g * 2)
    y = x * w
    y.register_hook(lambda g: g + 1)
    # each captured on its own: torch returns a captured non-leaf's gradient before its
    # hooks when the graph also runs on past it to another input, after them otherwise
    (gx,) = lib.autograd.grad((y * y).sum(), [x], retain_graph=True)
    (gy,) = lib.autograd.grad((y * y).sum(), [y], retain_graph=True)
    return [gx, gy]


def _removed(lib, x, w, seen):
    h = x.register_hook(lambda g: g * 100)
    h.remove()
    h.remove()                                   # again: nothing happens
    (x * w).sum().backward()
    return [x.grad]


def _accumulate_twice(lib, x, w, seen):
    x.register_hook(lambda g: g * 2)
    (x * w).sum().backward()
    (x * x).sum().backward()                     # hooks run on each backward's gradient
    return [x.grad]


def _backward_inputs(lib, x, w, seen):
    x.register_hook(lambda g: g + 10)
    (x * w).sum().backward(inputs=[x])
    return [x.grad]


PROGRAMS = [_leaf_scale, _nonleaf_shift, _retain_first, _two_paths, _view_hook,
            _grad_capture, _removed, _accumulate_twice, _backward_inputs]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("shape", [(3,), (2, 3), (4, 1), (5, 5)])
def test_hooks_match_torch(program, shape):
    xs, xt = _pair(shape, 0)
    ws, wt = _pair(shape, 1)
    out_s, seen_s = _run(strided, xs, ws, program)
    out_t, seen_t = _run(torch, xt, wt, program)
    assert len(out_s) == len(out_t)
    for s, t in zip(out_s, out_t):
        if t is None:
            assert s is None
        else:
            _close(s, t)
    assert len(seen_s) == len(seen_t)
    for s, t in zip(seen_s, seen_t):
        _close(s, t)


def test_hook_on_float32_nn_layer_gradient():
    # a hook on an activation in the middle of a network (the Grad-CAM pattern)
    rng = np.random.default_rng(2)
    xa = rng.standard_normal((4, 3, 8, 8)).astype("float32")
    grads = {}
    for lib in (strided, torch):
        lib.manual_seed(0)
        conv = lib.nn.Conv2d(3, 5, 3, padding=1)
        conv.weight.data.copy_(lib.tensor(np.linspace(-1, 1, 135, dtype="float32").reshape(5, 3, 3, 3)))
        conv.bias.data.zero_()
        x = lib.tensor(xa)
        act = conv(x).relu()
        kept = []
        act.register_hook(lambda g: kept.append(g))
        act.mean().backward()
        grads[lib.__name__] = (kept[0].numpy() if lib is strided else kept[0].numpy(),
                               conv.weight.grad.numpy())
    np.testing.assert_allclose(grads["strided"][0], grads["torch"][0], rtol=1e-6)
    np.testing.assert_allclose(grads["strided"][1], grads["torch"][1], rtol=1e-4, atol=1e-6)


def test_errors_match_torch():
    for lib in (strided, torch):
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_hook(lambda g: g)
    x = strided.ones(2, requires_grad=True)
    x.register_hook(lambda g: "not a tensor")
    with pytest.raises(TypeError, match="hook returned 'str'"):
        (x * 1).sum().backward()
    x = strided.ones(2, requires_grad=True)
    x.register_hook(lambda g: strided.ones(3))
    with pytest.raises(RuntimeError, match="changed the size"):
        (x * 1).sum().backward()
    with pytest.raises(TypeError, match="callable"):
        strided.ones(2, requires_grad=True).register_hook(3)


def test_leaf_hooks_go_with_the_tensor():
    import gc
    x = strided.ones(2, requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(1))
    from strided.autograd import graph
    key = id(x)
    assert key in graph._LEAF_HOOKS
    del x
    gc.collect()
    assert key not in graph._LEAF_HOOKS
    y = strided.ones(2, requires_grad=True)      # may reuse the id: no stale hook runs
    (y * 2).sum().backward()
    assert calls == []
