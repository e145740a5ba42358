"""Grad mode is per thread (NOTE [ Grad mode is per thread ] in strided/_C/core/tensor.pyx), and
threads training separate models train exactly as alone."""
import os
import sys
import threading

import pytest

import strided
import strided.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import fuzz_threads  # noqa: E402


def _in_thread(fn):
    out, errors = [], []

    def body():
        try:
            out.append(fn())
        except BaseException as e:                           # noqa: BLE001 (re-raised)
            errors.append(e)
    t = threading.Thread(target=body)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive()
    if errors:
        raise errors[0]
    return out[0]


def test_no_grad_in_one_thread_does_not_reach_another():
    entered, release = threading.Event(), threading.Event()

    def hold():
        with strided.no_grad():
            entered.set()
            release.wait(30)
            return strided.is_grad_enabled()
    t = threading.Thread(target=lambda: results.append(hold()))
    results = []
    t.start()
    assert entered.wait(30)
    try:
        assert strided.is_grad_enabled()
        x = strided.randn(3, requires_grad=True)
        y = (x * 2).sum()
        assert y.requires_grad and y.grad_fn is not None
    finally:
        release.set()
        t.join(30)
    assert results == [False]
    assert strided.is_grad_enabled()


def test_new_thread_starts_with_grad_on_even_under_no_grad():
    with strided.no_grad():
        assert _in_thread(strided.is_grad_enabled) is True
        assert not strided.is_grad_enabled()


def test_set_grad_enabled_stays_in_its_thread():
    def flip():
        strided.set_grad_enabled(False)
        return strided.is_grad_enabled()
    assert _in_thread(flip) is False
    assert strided.is_grad_enabled()


@pytest.mark.parametrize("ctx", [lambda: strided.no_grad(), lambda: strided.enable_grad(),
                                 lambda: strided.set_grad_enabled(False)])
def test_mode_restored_after_exception(ctx):
    for outer in (True, False):
        strided.set_grad_enabled(outer)
        try:
            with pytest.raises(ValueError):
                with ctx():
                    raise ValueError("inside")
            assert strided.is_grad_enabled() is outer
        finally:
            strided.set_grad_enabled(True)


def test_layer_built_in_one_thread_while_another_trains():
    strided.manual_seed(0)
    model = nn.Linear(16, 4)
    x, y = strided.randn(32, 16), strided.randint(0, 4, (32,))
    opt = strided.optim.SGD(model.parameters(), lr=0.1)
    stop = threading.Event()
    built = []

    def builder():
        while not stop.is_set():
            built.append(nn.Linear(64, 64))
    t = threading.Thread(target=builder)
    t.start()
    try:
        for _ in range(200):
            loss = strided.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        stop.set()
        t.join(30)
    assert built and all(p.requires_grad for p in built[-1].parameters())


def test_concurrent_training_matches_training_alone():
    r = fuzz_threads.run(threads=4, steps=150)
    assert r["failures"] == 0, r["errors"]
    assert r["backward_passes"] == 600
    assert r["models_differing"] == 0, r["max_abs_diff"]
    assert r["grad_mode_after"] is True
