"""RNN, LSTM, GRU and their cells against PyTorch on the same weights: outputs, final states
and the gradients of inputs, initial states and every parameter, over float32 and float64,
1-3 layers, both directions, batch_first, with and without bias and initial states, sequence
lengths 1, 2 and 17, and non-contiguous inputs; gradcheck, dropout between layers, the
kernels' thread independence and PyTorch's errors for bad inputs."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import strided  # noqa: E402
import strided.nn as nn  # noqa: E402
from strided.autograd import gradcheck  # noqa: E402
from strided.nn.rnn import _rnn_layer  # noqa: E402
from strided._C.kernels import rnn as _rnn  # noqa: E402

DTYPES = [(torch.float32, strided.float32, 2e-5), (torch.float64, strided.float64, 1e-10)]
DTYPE_IDS = ["float32", "float64"]
MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]


def S(t, requires_grad=False):
    s = strided.from_numpy(t.detach().numpy().copy())
    if requires_grad:
        s.requires_grad_(True)
    return s


def close(s, t, tol, what=""):
    a, b = s.detach().numpy(), t.detach().numpy()
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(1.0, float(np.abs(b).max())) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale, err_msg=what)


def make_pair(mode, tdt, sdt, *args, **kw):
    """A torch module and a strided one with the same weights (state_dict copied by name)."""
    if mode.startswith("RNN"):
        kw["nonlinearity"] = "relu" if mode == "RNN_RELU" else "tanh"
        tcls, scls = torch.nn.RNN, nn.RNN
    else:
        tcls, scls = getattr(torch.nn, mode), getattr(nn, mode)
    tm = tcls(*args, **kw).to(tdt)
    sm = scls(*args, dtype=sdt, **kw)
    assert list(sm.state_dict()) == list(tm.state_dict())
    sm.load_state_dict({k: S(v) for k, v in tm.state_dict().items()})
    return tm, sm


def layout(x, kind):
    """A view of torch tensor x (a leaf of base_shape) in the given layout and the same view
    of its strided copy: (torch view, strided leaf, strided view)."""
    xs = S(x, True)
    if kind == "contiguous":
        return x, xs, xs
    if kind == "transposed":          # x is stored with its first two dims swapped
        return x.transpose(0, 1), xs, xs.transpose(0, 1)
    if kind == "sliced":              # every other element of the last dim
        return x[..., ::2], xs, xs[..., ::2]
    if kind == "flipped":             # negative strides in strided (torch copies)
        return x.flip(0), xs, xs.flip(0)
    if kind == "expanded":            # one batch row broadcast (stride 0)
        return x.expand(x.shape[0], 3, x.shape[2]), xs, xs.expand(x.shape[0], 3, x.shape[2])
    raise ValueError(kind)


def base_shape(kind, shape):
    """The leaf's shape for a layout whose view has `shape`."""
    d0, d1, I = shape
    return {"contiguous": (d0, d1, I), "transposed": (d1, d0, I), "sliced": (d0, d1, 2 * I),
            "flipped": (d0, d1, I), "expanded": (d0, 1, I)}[kind]


def compare(tm, sm, mode, x_kind, shape, with_state, tdt, tol, seed=0):
    """Forward and backward of both modules; every output and gradient compared."""
    torch.manual_seed(seed)
    L, D, H = tm.num_layers, 2 if tm.bidirectional else 1, tm.hidden_size
    x = torch.randn(base_shape(x_kind, shape), dtype=tdt, requires_grad=True)
    xt, xs_leaf, xs = layout(x, x_kind)
    B = xt.shape[0] if tm.batch_first else xt.shape[1]
    states_t, states_s = None, None
    leaves = []
    P = getattr(tm, "proj_size", 0) or H
    if with_state:
        h0 = torch.randn(L * D, B, P, dtype=tdt, requires_grad=True)
        leaves.append((h0, S(h0, True)))
        if mode == "LSTM":
            c0 = torch.randn(L * D, B, H, dtype=tdt, requires_grad=True)
            leaves.append((c0, S(c0, True)))
            states_t, states_s = (h0, c0), (leaves[0][1], leaves[1][1])
        else:
            states_t, states_s = h0, leaves[0][1]
    ot, st = tm(xt, states_t)
    os_, ss = sm(xs, states_s)
    close(os_, ot, tol, "output")
    st = st if mode == "LSTM" else (st,)
    ss = ss if mode == "LSTM" else (ss,)
    for a, b in zip(ss, st):
        close(a, b, tol, "final state")
    g = torch.randn_like(ot)
    gs = [torch.randn_like(s) for s in st]
    lt = (ot * g).sum() + sum((s * gg).sum() for s, gg in zip(st, gs))
    ls = (os_ * S(g)).sum()
    for s, gg in zip(ss, gs):
        ls = ls + (s * S(gg)).sum()
    lt.backward()
    ls.backward()
    close(xs_leaf.grad, x.grad, tol, "input grad")
    for t, s in leaves:
        close(s.grad, t.grad, tol, "initial state grad")
    sp = dict(sm.named_parameters())
    for name, p in tm.named_parameters():
        close(sp[name].grad, p.grad, tol, name)


# (T, B, I, H, num_layers, bidirectional, batch_first, bias, initial states, layout)
CONFIGS = [
    (1, 3, 4, 5, 1, False, False, True, False, "contiguous"),
    (2, 1, 3, 4, 2, True, False, True, True, "contiguous"),
    (17, 2, 5, 3, 3, True, True, False, True, "transposed"),
    (17, 4, 3, 6, 2, False, True, True, False, "sliced"),
    (5, 3, 4, 4, 1, True, False, True, True, "flipped"),
    (7, 3, 3, 5, 2, False, False, False, True, "expanded"),
    (2, 5, 6, 7, 3, False, False, True, True, "transposed"),
]


@pytest.mark.parametrize("dt", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "T%d-B%d-I%d-H%d-L%d-%s%s%s%s-%s" % (
    c[0], c[1], c[2], c[3], c[4], "bi" if c[5] else "uni", "-bf" if c[6] else "",
    "" if c[7] else "-nobias", "-h0" if c[8] else "", c[9]))
def test_layers_match_torch(cfg, mode, dt):
    T, B, I, H, L, bidir, batch_first, bias, state, kind = cfg
    tdt, sdt, tol = dt
    tm, sm = make_pair(mode, tdt, sdt, I, H, num_layers=L, bias=bias, batch_first=batch_first,
                       bidirectional=bidir)
    shape = (B, T, I) if batch_first else (T, B, I)     # what the module reads
    if kind == "expanded":
        shape = (shape[0], 3, I)
    compare(tm, sm, mode, kind, shape, state, tdt, tol)


@pytest.mark.parametrize("dt", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "T%d-B%d-I%d-H%d-L%d-%s%s%s%s-%s" % (
    c[0], c[1], c[2], c[3], c[4], "bi" if c[5] else "uni", "-bf" if c[6] else "",
    "" if c[7] else "-nobias", "-h0" if c[8] else "", c[9]))
def test_lstm_projection_matches_torch(cfg, dt):
    """proj_size: h = (o * tanh(c)) @ W_hr^T, so outputs and h have proj_size features."""
    T, B, I, H, L, bidir, batch_first, bias, state, kind = cfg
    tdt, sdt, tol = dt
    H = max(H, 3)
    tm, sm = make_pair("LSTM", tdt, sdt, I, H, num_layers=L, bias=bias,
                       batch_first=batch_first, bidirectional=bidir, proj_size=H - 2)
    shape = (B, T, I) if batch_first else (T, B, I)
    if kind == "expanded":
        shape = (shape[0], 3, I)
    compare(tm, sm, "LSTM", kind, shape, state, tdt, tol)


def test_lstm_projection_shapes_and_errors():
    m, tm = nn.LSTM(3, 6, num_layers=2, proj_size=2), torch.nn.LSTM(3, 6, num_layers=2,
                                                                    proj_size=2)
    assert repr(m) == repr(tm)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
    out, (h, c) = m(strided.randn(4, 5, 3))
    assert (tuple(out.shape), tuple(h.shape), tuple(c.shape)) == ((4, 5, 2), (2, 5, 2),
                                                                  (2, 5, 6))
    for hs, cs in [((2, 5, 6), (2, 5, 6)), ((2, 5, 2), (2, 5, 2))]:
        errors_match(lambda: m(strided.randn(4, 5, 3), (strided.zeros(*hs), strided.zeros(*cs))),
                     lambda: tm(torch.randn(4, 5, 3), (torch.zeros(*hs), torch.zeros(*cs))),
                     RuntimeError)


def test_gradcheck_lstm_projection():
    strided.manual_seed(6)
    m = nn.LSTM(2, 4, num_layers=2, bidirectional=True, proj_size=2, dtype=strided.float64)
    x = strided.randn(3, 2, 2, dtype=strided.float64).requires_grad_(True)
    h0 = strided.randn(4, 2, 2, dtype=strided.float64).requires_grad_(True)
    c0 = strided.randn(4, 2, 4, dtype=strided.float64).requires_grad_(True)
    w = m.weight_hr_l1_reverse
    assert gradcheck(lambda x, h, c, w: (lambda o: (o[0],) + o[1])(m(x, (h, c))),
                     (x, h0, c0, w), atol=1e-6)


@pytest.mark.parametrize("dt", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("with_state", [False, True], ids=["zeros", "h0"])
def test_unbatched_inputs(mode, dt, with_state):
    tdt, sdt, tol = dt
    tm, sm = make_pair(mode, tdt, sdt, 3, 4, num_layers=2, bidirectional=True)
    torch.manual_seed(1)
    x = torch.randn(6, 3, dtype=tdt, requires_grad=True)
    xs = S(x, True)
    st = ss = None
    if with_state:
        h0 = torch.randn(4, 4, dtype=tdt, requires_grad=True)
        if mode == "LSTM":
            c0 = torch.randn(4, 4, dtype=tdt, requires_grad=True)
            st, ss = (h0, c0), (S(h0, True), S(c0, True))
        else:
            st, ss = h0, S(h0, True)
    ot, ht = tm(x, st)
    os_, hs = sm(xs, ss)
    assert tuple(os_.shape) == (6, 8)
    close(os_, ot, tol)
    if mode == "LSTM":
        close(hs[0], ht[0], tol)
        close(hs[1], ht[1], tol)
        (ot.sum() + ht[0].sum() * 2 + ht[1].sum() * 3).backward()
        (os_.sum() + hs[0].sum() * 2 + hs[1].sum() * 3).backward()
    else:
        assert tuple(hs.shape) == (4, 4)
        close(hs, ht, tol)
        (ot.sum() + ht.sum() * 2).backward()
        (os_.sum() + hs.sum() * 2).backward()
    close(xs.grad, x.grad, tol)
    if with_state:
        for a, b in zip(ss if mode == "LSTM" else (ss,), st if mode == "LSTM" else (st,)):
            close(a.grad, b.grad, tol)
    sp = dict(sm.named_parameters())
    for name, p in tm.named_parameters():
        close(sp[name].grad, p.grad, tol, name)


@pytest.mark.parametrize("dt", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode", MODES)
def test_only_part_of_the_outputs_used(mode, dt):
    """Gradients reaching only h_n (or only c_n, or only the output) are right too."""
    tdt, sdt, tol = dt
    tm, sm = make_pair(mode, tdt, sdt, 3, 5, num_layers=2)
    torch.manual_seed(2)
    x = torch.randn(4, 2, 3, dtype=tdt, requires_grad=True)
    for pick in range(3 if mode == "LSTM" else 2):
        x.grad = None
        xs = S(x, True)
        ot, st = tm(x)
        os_, ss = sm(xs)
        ts = [ot] + (list(st) if mode == "LSTM" else [st])
        sl = [os_] + (list(ss) if mode == "LSTM" else [ss])
        ts[pick].pow(2).sum().backward()
        sl[pick].pow(2).sum().backward()
        close(xs.grad, x.grad, tol)


CELLS = [("RNNCell", "tanh"), ("RNNCell", "relu"), ("LSTMCell", None), ("GRUCell", None)]


@pytest.mark.parametrize("dt", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("cell", CELLS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("case", ["batched", "batched-h0", "unbatched", "unbatched-h0",
                                  "noncontiguous-h0"])
def test_cells_match_torch(cell, dt, bias, case):
    tdt, sdt, tol = dt
    name, nl = cell
    kw = {"nonlinearity": nl} if nl else {}
    tc = getattr(torch.nn, name)(5, 4, bias=bias, **kw).to(tdt)
    sc = getattr(nn, name)(5, 4, bias=bias, dtype=sdt, **kw)
    assert list(sc.state_dict()) == list(tc.state_dict())
    sc.load_state_dict({k: S(v) for k, v in tc.state_dict().items()})
    torch.manual_seed(3)
    batched = not case.startswith("unbatched")
    x = torch.randn(*((3, 5) if batched else (5,)), dtype=tdt, requires_grad=True)
    xs = S(x, True)
    hx_t = hx_s = None
    leaves = []
    if case.endswith("h0"):
        shape = (3, 4) if batched else (4,)
        n = 2 if name == "LSTMCell" else 1
        for _ in range(n):
            if case.startswith("noncontiguous"):
                base = torch.randn(4, 3, dtype=tdt, requires_grad=True)
                leaves.append((base, S(base, True)))
            else:
                base = torch.randn(*shape, dtype=tdt, requires_grad=True)
                leaves.append((base, S(base, True)))
        views = [(t.t(), s.t()) if case.startswith("noncontiguous") else (t, s)
                 for t, s in leaves]
        if name == "LSTMCell":
            hx_t, hx_s = (views[0][0], views[1][0]), (views[0][1], views[1][1])
        else:
            hx_t, hx_s = views[0]
    rt, rs = tc(x, hx_t), sc(xs, hx_s)
    rt = rt if isinstance(rt, tuple) else (rt,)
    rs = rs if isinstance(rs, tuple) else (rs,)
    for a, b in zip(rs, rt):
        close(a, b, tol)
    sum((r * (i + 1.5)).sum() for i, r in enumerate(rt)).backward()
    sum((r * (i + 1.5)).sum() for i, r in enumerate(rs)).backward()
    close(xs.grad, x.grad, tol)
    for t, s in leaves:
        close(s.grad, t.grad, tol)
    sp = dict(sc.named_parameters())
    for pname, p in tc.named_parameters():
        close(sp[pname].grad, p.grad, tol, pname)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_gradcheck_layer(mode, reverse):
    """Finite differences of one layer and direction, every input and parameter."""
    m = _MODE_NUM[mode]
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    T, B, I, H = 3, 2, 3, 2
    rng = np.random.default_rng(4)

    def t(*shape):
        return strided.from_numpy(rng.standard_normal(shape) * 0.6).requires_grad_(True)

    x, h0, w_ih, w_hh, b_ih, b_hh = t(T, B, I), t(B, H), t(G * H, I), t(G * H, H), \
        t(G * H), t(G * H)
    c0 = t(B, H) if mode == "LSTM" else None
    if mode == "RNN_RELU":          # keep pre-activations away from relu's kink
        with strided.no_grad():
            b_ih += 2.0

    def fn(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        out, h, c = _rnn_layer(m, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
        return (out, h) if c is None else (out, h, c)

    assert gradcheck(fn, (x, h0, c0, w_ih, w_hh, b_ih, b_hh), eps=1e-6, atol=1e-6)


_MODE_NUM = {"RNN_TANH": _rnn.RNN_TANH, "RNN_RELU": _rnn.RNN_RELU, "LSTM": _rnn.LSTM,
             "GRU": _rnn.GRU}


@pytest.mark.parametrize("mode", ["RNN_TANH", "LSTM", "GRU"])
def test_gradcheck_module(mode):
    """Finite differences through a two-layer bidirectional module (input and states)."""
    kw = {"nonlinearity": "tanh"} if mode.startswith("RNN") else {}
    cls = nn.RNN if mode.startswith("RNN") else getattr(nn, mode)
    strided.manual_seed(5)
    m = cls(2, 3, num_layers=2, bidirectional=True, batch_first=True, dtype=strided.float64,
            **kw)
    x = strided.randn(2, 3, 2, dtype=strided.float64).requires_grad_(True)
    h0 = strided.randn(4, 2, 3, dtype=strided.float64).requires_grad_(True)
    if mode == "LSTM":
        c0 = strided.randn(4, 2, 3, dtype=strided.float64).requires_grad_(True)
        assert gradcheck(lambda x, h, c: (lambda o: (o[0],) + o[1])(m(x, (h, c))),
                         (x, h0, c0), atol=1e-6)
    else:
        assert gradcheck(lambda x, h: m(x, h), (x, h0), atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_eval_mode_ignores_dropout(mode):
    tm, sm = make_pair(mode, torch.float64, strided.float64, 3, 4, num_layers=3,
                       dropout=0.5)
    tm.eval()
    sm.eval()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    close(sm(S(x))[0], tm(x)[0], 1e-10)
    a, b = sm(S(x))[0], sm(S(x))[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_dropout_between_layers_statistics():
    """Layer 0 outputs the constant c everywhere, layer 1 passes its input through relu:
    in training mode the output is 0 with probability p and c / (1 - p) otherwise; the
    last layer's output is not dropped."""
    p, c, H = 0.3, 0.5, 64
    m = nn.RNN(2, H, num_layers=2, nonlinearity="relu", dropout=p, dtype=strided.float64)
    with strided.no_grad():
        for name, w in m.named_parameters():
            w.zero_()
        m.bias_ih_l0.fill_(c)
        m.weight_ih_l1.copy_(strided.eye(H, dtype=strided.float64))
    m.train()
    out, h = m(strided.randn(1, 300, 2, dtype=strided.float64))
    v = out.detach().numpy().ravel()
    zero = np.mean(v == 0)
    n = v.size
    assert abs(zero - p) < 5 * math.sqrt(p * (1 - p) / n), zero
    np.testing.assert_allclose(v[v != 0], c / (1 - p), rtol=1e-12)
    m.eval()
    np.testing.assert_allclose(m(strided.randn(1, 5, 2, dtype=strided.float64))[0].detach().numpy(),
                               c, rtol=1e-12)


def test_dropout_one_drops_every_layer_input():
    """dropout=1 in training mode: every layer after the first sees zeros, as in torch."""
    for mode in MODES:
        tm, sm = make_pair(mode, torch.float64, strided.float64, 3, 4, num_layers=2,
                           dropout=1.0)
        tm.train()
        sm.train()
        x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
        xs = S(x, True)
        ot, os_ = tm(x)[0], sm(xs)[0]
        close(os_, ot, 1e-10)
        ot.sum().backward()
        os_.sum().backward()
        close(xs.grad, x.grad, 1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_thread_count_does_not_change_results(mode):
    # 64 x 512 gates per step: the GEMMs and the fused passes both split over 2 threads
    tm, sm = make_pair(mode, torch.float32, strided.float32, 16, 512, bidirectional=True)
    x = S(torch.randn(3, 64, 16), True)
    old = strided.get_num_threads()
    results = []
    try:
        for nt in (1, 2):
            strided.set_num_threads(nt)
            x.grad = None
            out = sm(x)[0]
            out.pow(2).sum().backward()
            results.append((out.detach().numpy().copy(), x.grad.numpy().copy()))
    finally:
        strided.set_num_threads(old)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_no_grad_forward_equals_recorded_forward():
    for mode in MODES:
        _, sm = make_pair(mode, torch.float32, strided.float32, 3, 4, num_layers=2,
                          bidirectional=True)
        x = strided.randn(6, 2, 3)
        with strided.no_grad():
            a = sm(x)[0]
        b = sm(x.requires_grad_(True))[0]
        assert b.requires_grad and not a.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.detach().numpy())


def test_backward_twice_with_retain_graph():
    _, sm = make_pair("LSTM", torch.float64, strided.float64, 3, 4, num_layers=2)
    x = strided.randn(5, 2, 3, dtype=strided.float64).requires_grad_(True)
    out = sm(x)[0].sum()
    out.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1, rtol=1e-12)


def test_parameters_and_init_follow_torch():
    for mode in MODES:
        kw = {"nonlinearity": "relu" if mode == "RNN_RELU" else "tanh"} \
            if mode.startswith("RNN") else {}
        cls = nn.RNN if mode.startswith("RNN") else getattr(nn, mode)
        tcls = torch.nn.RNN if mode.startswith("RNN") else getattr(torch.nn, mode)
        sm = cls(3, 9, num_layers=2, bidirectional=True, **kw)
        tm = tcls(3, 9, num_layers=2, bidirectional=True, **kw)
        ts = {k: tuple(v.shape) for k, v in tm.state_dict().items()}
        ss = {k: tuple(v.shape) for k, v in sm.state_dict().items()}
        assert list(ss.items()) == list(ts.items())
        bound = 1 / math.sqrt(9)
        for name, p in sm.named_parameters():
            v = p.detach().numpy()
            assert v.min() >= -bound and v.max() <= bound and v.std() > bound / 4, name
        assert len(sm.all_weights) == 4 and len(sm.all_weights[0]) == 4
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True)) == \
        repr(torch.nn.LSTM(3, 4, num_layers=2, batch_first=True))
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == repr(torch.nn.RNN(3, 4,
                                                                       nonlinearity="relu"))
    assert repr(nn.GRUCell(3, 4, bias=False)) == repr(torch.nn.GRUCell(3, 4, bias=False))
    assert [n for n, _ in nn.LSTM(3, 4, bias=False).named_parameters()] == \
        ["weight_ih_l0", "weight_hh_l0"]


def errors_match(fs, ft, exc):
    """fs and ft raise exc with the same message."""
    with pytest.raises(exc) as es:
        fs()
    with pytest.raises(exc) as et:
        ft()
    assert str(es.value) == str(et.value)


@pytest.mark.parametrize("mode", MODES)
def test_errors_match_torch(mode):
    tm, sm = make_pair(mode, torch.float32, strided.float32, 4, 3, num_layers=2)
    x, xs = torch.randn(5, 2, 4), strided.randn(5, 2, 4)

    def states(shape_h, shape_c=None):
        h = (torch.zeros(*shape_h), strided.zeros(*shape_h))
        if mode != "LSTM":
            return h
        c = (torch.zeros(*(shape_c or shape_h)), strided.zeros(*(shape_c or shape_h)))
        return (h[0], c[0]), (h[1], c[1])

    # wrong input size
    errors_match(lambda: sm(strided.randn(5, 2, 6)), lambda: tm(torch.randn(5, 2, 6)),
                 RuntimeError)
    # wrong initial state shape (batch, layers, hidden)
    for shape in [(2, 3, 3), (1, 2, 3), (2, 2, 4)]:
        ht, hs = states(shape)
        errors_match(lambda: sm(xs, hs), lambda: tm(x, ht), RuntimeError)
    if mode == "LSTM":
        ht, hs = states((2, 2, 3), (2, 2, 5))
        errors_match(lambda: sm(xs, hs), lambda: tm(x, ht), RuntimeError)
    # input and state dimensionality
    errors_match(lambda: sm(strided.randn(5, 2, 4, 1)), lambda: tm(torch.randn(5, 2, 4, 1)),
                 ValueError)
    ht, hs = states((2, 3))
    errors_match(lambda: sm(xs, hs), lambda: tm(x, ht), RuntimeError)
    ht, hs = states((2, 1, 3))
    errors_match(lambda: sm(strided.randn(5, 4), hs), lambda: tm(torch.randn(5, 4), ht),
                 RuntimeError)
    # an empty sequence
    errors_match(lambda: sm(strided.randn(0, 2, 4)), lambda: tm(torch.randn(0, 2, 4)),
                 RuntimeError)
    # input dtype against the weights'
    with pytest.raises(ValueError, match="does not match weight dtype"):
        sm(xs.double())
    with pytest.raises(ValueError, match="does not match weight dtype"):
        tm(x.double())


def test_constructor_errors_match_torch():
    cases = [
        ((4, 3), {"dropout": 1.5}, ValueError),
        ((4, 3), {"dropout": True}, ValueError),
        ((4, 0), {}, ValueError),
        ((0, 3), {}, ValueError),
        ((4, 3), {"num_layers": 0}, ValueError),
        ((4, 3.0), {}, TypeError),
        ((4, 3), {"bias": 1}, TypeError),
        ((4, 3), {"batch_first": 1}, TypeError),
        ((4, 3), {"proj_size": -1}, ValueError),
        ((4, 3), {"proj_size": 3}, ValueError),
    ]
    for args, kw, exc in cases:
        for name in ("RNN", "LSTM", "GRU"):
            if "proj_size" in kw and name != "LSTM":
                continue
            errors_match(lambda: getattr(nn, name)(*args, **kw),
                         lambda: getattr(torch.nn, name)(*args, **kw), exc)
    errors_match(lambda: nn.RNN(4, 3, nonlinearity="gelu"),
                 lambda: torch.nn.RNN(4, 3, nonlinearity="gelu"), ValueError)
    errors_match(lambda: nn.GRU(4, 3, proj_size=2), lambda: torch.nn.GRU(4, 3, proj_size=2),
                 ValueError)
    with pytest.warns(UserWarning, match="dropout option adds dropout"):
        nn.LSTM(4, 3, dropout=0.5)


@pytest.mark.parametrize("cell", CELLS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_cell_errors_match_torch(cell):
    name, nl = cell
    kw = {"nonlinearity": nl} if nl else {}
    tc = getattr(torch.nn, name)(4, 3, **kw)
    sc = getattr(nn, name)(4, 3, **kw)

    def hx(shape):
        t, s = torch.zeros(*shape), strided.zeros(*shape)
        return ((t, t), (s, s)) if name == "LSTMCell" else (t, s)

    errors_match(lambda: sc(strided.randn(2, 5)), lambda: tc(torch.randn(2, 5)), RuntimeError)
    for shape in [(3, 3), (2, 5)]:
        ht, hs = hx(shape)
        errors_match(lambda: sc(strided.randn(2, 4), hs), lambda: tc(torch.randn(2, 4), ht),
                     RuntimeError)
    errors_match(lambda: sc(strided.randn(2, 4, 1)), lambda: tc(torch.randn(2, 4, 1)),
                 ValueError)
    ht, hs = hx((1, 2, 3))
    errors_match(lambda: sc(strided.randn(2, 4), hs), lambda: tc(torch.randn(2, 4), ht),
                 ValueError)


def test_kernel_entry_points_check_their_arguments():
    x, h0 = strided.randn(3, 2, 4), strided.zeros(2, 5)
    w_ih, w_hh = strided.randn(5, 4), strided.randn(5, 5)
    with pytest.raises(ValueError, match="unknown mode"):
        _rnn.rnn_forward(7, x, h0, None, w_ih, w_hh)
    with pytest.raises(ValueError, match="w_ih must have shape"):
        _rnn.rnn_forward(_rnn.RNN_TANH, x, h0, None, strided.randn(5, 3), w_hh)
    with pytest.raises(ValueError, match="LSTM needs c0"):
        _rnn.rnn_forward(_rnn.LSTM, x, h0, None, strided.randn(20, 4), strided.randn(20, 5))
    with pytest.raises(TypeError, match="h0 must be float32"):
        _rnn.rnn_forward(_rnn.RNN_TANH, x, h0.double(), None, w_ih, w_hh)
    with pytest.raises(ValueError, match="merge"):
        _rnn.rnn_forward(_rnn.RNN_TANH, strided.randn(2, 3, 4).transpose(0, 1), h0, None, w_ih,
                          w_hh)
    with pytest.raises(TypeError, match="float32 or float64"):
        _rnn.rnn_forward(_rnn.RNN_TANH, x.long(), h0.long(), None, w_ih.long(), w_hh.long())


def test_bias_gradients_are_separate_tensors():
    """b_ih and b_hh get equal gradients (RNN, LSTM) but never one shared buffer, and the
    reused scratch of one backward does not leak into the next (different sizes in turn)."""
    for mode in ("RNN_TANH", "LSTM", "GRU"):
        for T in (3, 5, 3):
            tm, sm = make_pair(mode, torch.float64, strided.float64, 2, 3)
            x = torch.randn(T, 2, 2, dtype=torch.float64)
            tm(x)[0].pow(2).sum().backward()
            sm(S(x))[0].pow(2).sum().backward()
            close(sm.bias_ih_l0.grad, tm.bias_ih_l0.grad, 1e-10)
            close(sm.bias_hh_l0.grad, tm.bias_hh_l0.grad, 1e-10)
            before = sm.bias_hh_l0.grad.numpy().copy()
            sm.bias_ih_l0.grad.add_(1.0)
            np.testing.assert_array_equal(sm.bias_hh_l0.grad.numpy(), before)
