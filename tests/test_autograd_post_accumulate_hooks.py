"""Tensor.register_post_accumulate_grad_hook against torch: when hooks run, what .grad they
see, removal, and the errors (NOTE [ Post-accumulate-grad hooks ])."""
import gc

import numpy as np
import pytest

import strided

torch = pytest.importorskip("torch")


def _run(lib, calls_of, backward_twice=False, use_inputs=False):
    """A leaf used twice in the graph, another used once; records (name, grad) per call."""
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(("w", p.grad.tolist())))
    w.register_post_accumulate_grad_hook(lambda p: seen.append(("w2", p.grad.tolist())))
    b.register_post_accumulate_grad_hook(lambda p: seen.append(("b", p.grad.tolist())))
    for _ in range(2 if backward_twice else 1):
        loss = ((w * b).sin() + w * w).sum()
        if use_inputs:
            loss.backward(inputs=[w])
        else:
            loss.backward()
    return sorted(seen)


@pytest.mark.parametrize("twice", [False, True])
@pytest.mark.parametrize("use_inputs", [False, True])
def test_hooks_run_once_per_accumulation_with_the_accumulated_grad(twice, use_inputs):
    got = _run(strided, None, twice, use_inputs)
    want = _run(torch, None, twice, use_inputs)
    assert [n for n, _ in got] == [n for n, _ in want]
    for (_, g), (_, e) in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-6)


def test_hook_may_change_grad_and_remove_stops_it():
    for lib in (strided, torch):
        w = lib.ones(3, requires_grad=True)
        calls = []

        def halve(p):
            calls.append(1)
            p.grad.mul_(0.5)
        h = w.register_post_accumulate_grad_hook(halve)
        (w * 4).sum().backward()
        assert w.grad.tolist() == [2.0, 2.0, 2.0]
        h.remove()
        h.remove()                      # twice: no effect
        (w * 4).sum().backward()
        assert w.grad.tolist() == [6.0, 6.0, 6.0] and len(calls) == 1


def test_hooks_are_dropped_with_the_leaf():
    from strided.autograd import graph
    before = len(graph._POST_ACCUMULATE_HOOKS)
    w = strided.ones(2, requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda p: None)
    assert len(graph._POST_ACCUMULATE_HOOKS) == before + 1
    del w
    gc.collect()
    assert len(graph._POST_ACCUMULATE_HOOKS) == before


def test_errors_match_torch():
    cases = [lambda lib: lib.ones(2),                                  # no grad
             lambda lib: lib.ones(2, requires_grad=True) * 2]           # not a leaf
    for make in cases:
        with pytest.raises(RuntimeError) as want:
            make(torch).register_post_accumulate_grad_hook(lambda p: None)
        with pytest.raises(RuntimeError) as got:
            make(strided).register_post_accumulate_grad_hook(lambda p: None)
        assert str(got.value) == str(want.value)
    with pytest.raises(TypeError, match="callable"):
        strided.ones(2, requires_grad=True).register_post_accumulate_grad_hook(3)
