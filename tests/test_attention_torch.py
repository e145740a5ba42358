"""scaled_dot_product_attention and MultiheadAttention against PyTorch (outputs and
gradients), the fused kernel against the plain softmax(QK^T * scale + mask) V composition,
gradcheck, dropout statistics and bad inputs."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import strided  # noqa: E402
import strided.nn as nn  # noqa: E402
import strided.nn.functional as F  # noqa: E402
from strided._C.kernels import attention as _attn  # noqa: E402

TF = torch.nn.functional
DTYPES = [(torch.float32, strided.float32, 2e-5), (torch.float64, strided.float64, 1e-12)]


def S(t, requires_grad=False):
    s = strided.from_numpy(t.detach().numpy().copy())
    if requires_grad:
        s.requires_grad_(True)
    return s


def close(s, t, tol):
    a, b = s.detach().numpy(), t.detach().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(1.0, float(np.abs(b).max())) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale)


@pytest.fixture(params=[(64, 128), (8, 16), (5, 3)], ids=["blocks64x128", "blocks8x16",
                                                          "blocks5x3"])
def blocks(request):
    """Run with the default blocks and with small ones that cross every block edge."""
    old = _attn._block_sizes()
    _attn._set_block_sizes(*request.param)
    yield request.param
    _attn._set_block_sizes(*old)


def run_both(q, k, v, mask=None, grad_mask=False, tol=1e-12, **kw):
    """Forward and backward of torch's and strided's SDPA on the same tensors (q, k, v
    given as torch tensors, possibly non-contiguous views of leaves)."""
    leaves_t = [q, k, v]
    sq, sk, sv = S(q, True), S(k, True), S(v, True)
    sm = None
    if mask is not None:
        if grad_mask:
            mask = mask.detach().requires_grad_(True)
            leaves_t.append(mask)
        sm = S(mask, grad_mask)
    qt, kt, vt = [x.detach().requires_grad_(True) for x in (q, k, v)]
    leaves_t[:3] = [qt, kt, vt]
    ro = TF.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask, **kw)
    so = F.scaled_dot_product_attention(sq, sk, sv, attn_mask=sm, **kw)
    close(so, ro, tol)
    g = torch.randn_like(ro)
    rg = torch.autograd.grad(ro, leaves_t, g)
    so.backward(S(g))
    for s, r in zip([sq, sk, sv] + ([sm] if grad_mask else []), rg):
        close(s.grad, r, tol * 10)
    return so


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
@pytest.mark.parametrize("Lq,Lk", [(1, 1), (7, 7), (33, 33), (129, 129), (7, 33), (33, 7),
                                   (1, 129), (129, 5)])
@pytest.mark.parametrize("kind", ["none", "causal", "bool", "float"])
def test_sdpa_against_torch(tdt, sdt, tol, Lq, Lk, kind, blocks):
    torch.manual_seed(Lq * 131 + Lk)
    q = torch.randn(2, 3, Lq, 16, dtype=tdt)
    k = torch.randn(2, 3, Lk, 16, dtype=tdt)
    v = torch.randn(2, 3, Lk, 8, dtype=tdt)
    kw, mask, gm = {}, None, False
    if kind == "causal":
        kw["is_causal"] = True
    elif kind == "bool":
        mask = torch.rand(3, Lq, Lk) > 0.4
    elif kind == "float":
        mask, gm = torch.randn(2, 1, Lq, Lk, dtype=tdt), True
    run_both(q, k, v, mask, gm, tol, **kw)


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
def test_sdpa_layouts(tdt, sdt, tol, blocks):
    """Heads made by view + transpose, slices, negative-free steps, expanded k/v, 3-d and
    2-d inputs, batch dims that broadcast."""
    torch.manual_seed(1)
    x = torch.randn(2, 19, 3 * 4 * 8, dtype=tdt)              # (N, L, 3 * H * D)
    q, k, v = x[..., :32], x[..., 32:64], x[..., 64:]
    heads = [t.reshape(2, 19, 4, 8).transpose(1, 2) for t in (q, k, v)]
    run_both(*heads, tol=tol)
    run_both(*heads, tol=tol, is_causal=True)
    base = torch.randn(3, 40, 12, dtype=tdt)
    run_both(base[:, ::2, :8], base[:, 1::2, 2:10], base[:, ::2, 4:], tol=tol)   # stepped
    kv = torch.randn(1, 1, 21, 8, dtype=tdt)
    run_both(torch.randn(2, 3, 9, 8, dtype=tdt), kv.expand(2, 3, 21, 8),
             kv.expand(2, 3, 21, 8), tol=tol)                                     # expanded
    run_both(torch.randn(2, 3, 9, 8, dtype=tdt), kv, kv, tol=tol)               # broadcast
    run_both(torch.randn(5, 9, 8, dtype=tdt), torch.randn(5, 11, 8, dtype=tdt),
             torch.randn(5, 11, 6, dtype=tdt), tol=tol)                          # 3-d
    run_both(torch.randn(9, 8, dtype=tdt), torch.randn(11, 8, dtype=tdt),
             torch.randn(11, 6, dtype=tdt), tol=tol, is_causal=True)             # 2-d
    run_both(torch.randn(9, 8, dtype=tdt), torch.randn(2, 3, 11, 8, dtype=tdt),
             torch.randn(11, 6, dtype=tdt), tol=tol)                             # 2-d q, 4-d k
    t = torch.randn(2, 4, 8, 10, dtype=tdt)                   # last dim not unit-strided
    run_both(t.transpose(-1, -2), t.transpose(-1, -2), t.transpose(-1, -2), tol=tol)


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
def test_sdpa_masks_broadcast_and_strided(tdt, sdt, tol, blocks):
    torch.manual_seed(2)
    q = torch.randn(2, 3, 13, 8, dtype=tdt)
    k = torch.randn(2, 3, 17, 8, dtype=tdt)
    v = torch.randn(2, 3, 17, 8, dtype=tdt)
    for shape in [(13, 17), (1, 13, 17), (3, 13, 17), (2, 1, 13, 17), (2, 3, 13, 17),
                  (2, 3, 1, 17), (13, 1)]:
        mask = torch.randn(*shape, dtype=tdt)
        run_both(q, k, v, mask, True, tol)
        run_both(q, k, v, torch.rand(*shape) > 0.3, False, tol)
    m = torch.randn(17, 13, dtype=tdt).t()                     # transposed float mask
    run_both(q, k, v, m, True, tol)
    m = (torch.rand(2, 17, 13) > 0.5).transpose(-1, -2).unsqueeze(1)
    run_both(q, k, v, m, False, tol)


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
def test_sdpa_fully_masked_rows_and_empty(tdt, sdt, tol):
    """Rows with no visible key give zeros and zero gradients, as torch's CPU kernels."""
    torch.manual_seed(3)
    q = torch.randn(2, 6, 8, dtype=tdt)
    k = torch.randn(2, 9, 8, dtype=tdt)
    v = torch.randn(2, 9, 5, dtype=tdt)
    m = torch.rand(6, 9) > 0.5
    m[1] = False
    m[4] = False
    out = run_both(q, k, v, m, False, tol)
    assert np.all(out.detach().numpy()[:, 1] == 0)
    fm = torch.randn(6, 9, dtype=tdt)
    fm[2] = -math.inf
    run_both(q, k, v, fm, False, tol)
    run_both(torch.randn(2, 0, 8, dtype=tdt), k, v, tol=tol)
    run_both(q, torch.randn(2, 0, 8, dtype=tdt), torch.randn(2, 0, 5, dtype=tdt), tol=tol)
    run_both(torch.randn(0, 6, 8, dtype=tdt), torch.randn(0, 9, 8, dtype=tdt),
             torch.randn(0, 9, 5, dtype=tdt), tol=tol)



@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
@pytest.mark.parametrize("spread", [1.0, 30.0, 200.0])
def test_sdpa_wide_scores_and_nan(tdt, sdt, tol, spread, blocks):
    """Scores spread over tens to hundreds below their row's max (the softmax's exp then
    runs through its whole range, down to where it flushes to 0) against torch and a
    float64 NumPy softmax; a NaN in a query row gives that row NaN and leaves the others."""
    torch.manual_seed(4)
    q = torch.randn(2, 37, 16, dtype=tdt) * spread ** 0.5
    k = torch.randn(2, 41, 16, dtype=tdt) * spread ** 0.5
    v = torch.randn(2, 41, 9, dtype=tdt)
    run_both(q, k, v, tol=tol)
    s = q.double().numpy() @ k.double().numpy().transpose(0, 2, 1) / 4.0
    p = np.exp(s - s.max(-1, keepdims=True))
    ref = (p / p.sum(-1, keepdims=True)) @ v.double().numpy()
    out = F.scaled_dot_product_attention(S(q), S(k), S(v)).numpy()
    np.testing.assert_allclose(out, ref, rtol=0, atol=tol * max(1.0, np.abs(ref).max()))
    qn = q.clone()
    qn[1, 5, 3] = math.nan              # every score of one row NaN
    out = run_both(qn, k, v, tol=tol).detach().numpy()     # NaNs where torch's are
    assert np.isnan(out[1, 5]).all()
    rows = np.ones(out.shape[:2], bool)
    rows[1, 5] = False
    np.testing.assert_allclose(out[rows], ref[rows], rtol=0,
                               atol=tol * max(1.0, np.abs(ref).max()))
    kn = k.clone()
    kn[0, 40, 0] = math.nan             # one score of every row of matrix 0 NaN
    out = run_both(q, kn, v, tol=tol).detach().numpy()
    assert np.isnan(out[0]).all() and not np.isnan(out[1]).any()

@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
def test_sdpa_scale_and_gqa(tdt, sdt, tol, blocks):
    torch.manual_seed(4)
    q = torch.randn(2, 6, 11, 8, dtype=tdt)
    k = torch.randn(2, 6, 14, 8, dtype=tdt)
    v = torch.randn(2, 6, 14, 4, dtype=tdt)
    for scale in (0.0, 0.3, 2.5):
        run_both(q, k, v, tol=tol, scale=scale)
        run_both(q, k, v, tol=tol, scale=scale, is_causal=True)
    for hk, hv in [(1, 1), (2, 2), (3, 6), (6, 2)]:
        run_both(q, k[:, :hk], v[:, :hv], tol=tol, enable_gqa=True)
        run_both(q, k[:, :hk], v[:, :hv], torch.rand(11, 14) > 0.3, tol=tol, enable_gqa=True)


def composed(q, k, v, mask=None, is_causal=False, scale=None):
    """The plain formula with strided's own ops."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = (q @ k.transpose(-2, -1)) * scale
    Lq, Lk = q.shape[-2], k.shape[-2]
    if is_causal:
        mask = strided.ones(Lq, Lk, dtype=strided.bool).tril()
    if mask is not None:
        s = s.masked_fill(mask.logical_not(), -math.inf) if mask.dtype == strided.bool \
            else s + mask
    return F.softmax(s, dim=-1) @ v


@pytest.mark.parametrize("sdt", [strided.float32, strided.float64])
@pytest.mark.parametrize("case", ["none", "causal", "bool", "float", "scale"])
def test_fused_against_composition(sdt, case, blocks):
    strided.manual_seed(5)
    tol = 2e-5 if sdt == strided.float32 else 1e-12
    q = strided.randn(2, 2, 37, 16, dtype=sdt, requires_grad=True)
    k = strided.randn(2, 2, 41, 16, dtype=sdt, requires_grad=True)
    v = strided.randn(2, 2, 41, 12, dtype=sdt, requires_grad=True)
    kw = {}
    if case == "causal":
        kw["is_causal"] = True
    elif case == "bool":
        kw["mask"] = strided.rand(37, 41) > 0.2
    elif case == "float":
        kw["mask"] = strided.randn(2, 1, 37, 41, dtype=sdt)
    elif case == "scale":
        kw["scale"] = 0.7
    ref = composed(q, k, v, **kw)
    kw["attn_mask"] = kw.pop("mask", None)
    out = F.scaled_dot_product_attention(q, k, v, **kw)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=tol)
    g = strided.randn(*out.shape, dtype=sdt)
    g1 = strided.autograd.grad(out, [q, k, v], g)
    g2 = strided.autograd.grad(ref, [q, k, v], g)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=tol * 10)


@pytest.mark.parametrize("case", ["none", "causal", "float_mask", "gqa", "dropout"])
def test_gradcheck(case, blocks):
    strided.manual_seed(6)
    d = strided.float64
    q = strided.randn(1, 2, 5, 3, dtype=d, requires_grad=True)
    k = strided.randn(1, 2, 6, 3, dtype=d, requires_grad=True)
    v = strided.randn(1, 2, 6, 4, dtype=d, requires_grad=True)
    m = strided.randn(5, 6, dtype=d, requires_grad=True)
    if case == "none":
        fn, args = (lambda q, k, v: F.scaled_dot_product_attention(q, k, v)), (q, k, v)
    elif case == "causal":
        fn, args = (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)), (q, k, v)
    elif case == "float_mask":
        fn, args = (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m)), (q, k, v, m)
    elif case == "gqa":
        k1 = strided.randn(1, 1, 6, 3, dtype=d, requires_grad=True)
        fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)  # noqa: E731
        args = (q, k1, v)
    else:
        # the same seed before each call: the same dropout mask every time
        def fn(q, k, v):
            strided.manual_seed(7)
            return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
        args = (q, k, v)
    assert strided.autograd.gradcheck(fn, args)


def test_dropout_statistics_and_consistency():
    """Each weight is dropped with probability p, survivors scaled by 1 / (1 - p): with v the
    identity, out holds dropout(P) itself."""
    strided.manual_seed(8)
    L, p = 64, 0.3
    q = strided.zeros(4, 8, L, 16)                  # uniform weights 1 / L
    v = strided.eye(L).expand(4, 8, L, L)
    out = F.scaled_dot_product_attention(q, q, v, dropout_p=p).numpy()
    kept = out != 0
    frac = kept.mean()
    assert abs(frac - (1 - p)) < 0.01, frac
    np.testing.assert_allclose(out[kept], 1 / L / (1 - p), rtol=1e-5)
    a = F.scaled_dot_product_attention(q, q, v, dropout_p=p).numpy()
    assert (a != out).any()                         # a fresh mask per call
    strided.manual_seed(8)
    b = F.scaled_dot_product_attention(q, q, v, dropout_p=p).numpy()
    np.testing.assert_array_equal(b, out)           # the seed decides the mask
    assert np.all(F.scaled_dot_product_attention(q, q, v, dropout_p=1.0).numpy() == 0)
    # the backward regenerates the forward's mask: d out / d v = dropout(P)^T @ g
    vv = strided.randn(1, 1, L, 8, dtype=strided.float64, requires_grad=True)
    qq = strided.randn(1, 1, L, 8, dtype=strided.float64)
    old = _attn._block_sizes()
    try:
        for bq, bk in [(64, 128), (7, 5)]:
            _attn._set_block_sizes(bq, bk)
            strided.manual_seed(9)
            o = F.scaled_dot_product_attention(qq, qq, vv, dropout_p=0.5)
            g = strided.randn(*o.shape, dtype=strided.float64)
            (gv,) = strided.autograd.grad(o, [vv], g)
            strided.manual_seed(9)
            w = F.scaled_dot_product_attention(qq, qq, strided.eye(L, dtype=strided.float64)
                                               .view(1, 1, L, L), dropout_p=0.5)
            np.testing.assert_allclose(gv.numpy(), (w.transpose(-1, -2) @ g).numpy(),
                                       atol=1e-12)
    finally:
        _attn._set_block_sizes(*old)


def test_threads_give_same_result():
    strided.manual_seed(10)
    q = strided.randn(4, 4, 200, 32, requires_grad=True)
    k = strided.randn(4, 4, 200, 32, requires_grad=True)
    n = strided.get_num_threads()
    res = []
    try:
        for t in (1, 2):
            strided.set_num_threads(t)
            o = F.scaled_dot_product_attention(q, k, k, is_causal=True)
            res.append([o.detach().numpy()] + [g.numpy() for g in strided.autograd.grad(
                o.sum(), [q, k])])
    finally:
        strided.set_num_threads(n)
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


def test_sdpa_errors():
    q = strided.randn(2, 3, 4, 8)
    k = strided.randn(2, 3, 5, 8)
    v = strided.randn(2, 3, 5, 6)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(RuntimeError, match="float32 or float64"):
        F.scaled_dot_product_attention(q.long(), k.long(), v.long())
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        F.scaled_dot_product_attention(q[0, 0, 0], k[0, 0, 0], v[0, 0, 0])
    with pytest.raises(RuntimeError, match="last dim"):
        F.scaled_dot_product_attention(q, k[..., :7], v)
    with pytest.raises(RuntimeError, match="sequence length"):
        F.scaled_dot_product_attention(q, k, v[:, :, :4])
    with pytest.raises(RuntimeError, match="must match the size"):
        F.scaled_dot_product_attention(q, k[:, :2], v[:, :2])
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=strided.zeros(4, 5, dtype=strided.int64))
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=strided.zeros(4, 5, dtype=strided.float64))
    with pytest.raises(RuntimeError, match="should not be set when is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=strided.zeros(4, 5), is_causal=True)
    with pytest.raises(RuntimeError, match="does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=strided.zeros(3, 5))
    with pytest.raises(RuntimeError, match="does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=strided.zeros(7, 2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="dropout probability"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    with pytest.raises(RuntimeError, match="Number of heads"):
        F.scaled_dot_product_attention(q, k[:, :2], v[:, :2], enable_gqa=True)
    with pytest.raises(TypeError, match="must be Tensor"):
        F.scaled_dot_product_attention(q, k, np.zeros((2, 3, 5, 6)))


# ---- MultiheadAttention ------------------------------------------------------------------

def copy_mha(tm, sm):
    with strided.no_grad():
        for (n, p), (n2, p2) in zip(tm.named_parameters(), sm.named_parameters()):
            assert n == n2, (n, n2)
            p2.copy_(S(p))


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kdim", [None, 6])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("masks", ["none", "kpm", "attn", "both", "attn3d_bool"])
def test_mha_against_torch(tdt, sdt, tol, batch_first, kdim, need_weights, average, masks):
    torch.manual_seed(11)
    E, H, N, L, Sk = 8, 2, 3, 5, 7
    tm = torch.nn.MultiheadAttention(E, H, batch_first=batch_first, kdim=kdim, vdim=kdim,
                                     dtype=tdt)
    sm = nn.MultiheadAttention(E, H, batch_first=batch_first, kdim=kdim, vdim=kdim, dtype=sdt)
    copy_mha(tm, sm)
    shape = (lambda n, l, e: (n, l, e)) if batch_first else (lambda n, l, e: (l, n, e))
    x = torch.randn(*shape(N, L, E), dtype=tdt)
    kv = torch.randn(*shape(N, Sk, kdim or E), dtype=tdt)
    kw, skw = {}, {}
    if masks in ("kpm", "both"):
        kpm = torch.rand(N, Sk) > 0.6
        kpm[:, 0] = False
        kw["key_padding_mask"], skw["key_padding_mask"] = kpm, S(kpm)
    if masks in ("attn", "both"):
        am = torch.randn(L, Sk, dtype=tdt)
        kw["attn_mask"], skw["attn_mask"] = am, S(am)
    if masks == "attn3d_bool":
        am = torch.rand(N * H, L, Sk) > 0.7
        am[..., 0] = False
        kw["attn_mask"], skw["attn_mask"] = am, S(am)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ro, rw = tm(x, kv, kv, need_weights=need_weights, average_attn_weights=average, **kw)
    so, sw = sm(S(x), S(kv), S(kv), need_weights=need_weights, average_attn_weights=average,
                **skw)
    close(so, ro, tol)
    assert (rw is None) == (sw is None)
    if rw is not None:
        close(sw, rw, tol)
    g = torch.randn_like(ro)
    ro.backward(g)
    so.backward(S(g))
    for (n, p), p2 in zip(tm.named_parameters(), sm.parameters()):
        close(p2.grad, p.grad, tol * 10)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_self_attention_causal_unbatched_extras(need_weights):
    torch.manual_seed(12)
    E, H = 12, 3
    for extra in [{}, {"add_bias_kv": True}, {"add_zero_attn": True}, {"bias": False}]:
        tm = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **extra)
        sm = nn.MultiheadAttention(E, H, dtype=strided.float64, **extra)
        copy_mha(tm, sm)
        x = torch.randn(6, 2, E, dtype=torch.float64, requires_grad=True)
        sx = S(x, True)
        causal = torch.nn.Transformer.generate_square_subsequent_mask(6, dtype=torch.float64)
        ro, _ = tm(x, x, x, attn_mask=causal, is_causal=True, need_weights=need_weights)
        so, _ = sm(sx, sx, sx, attn_mask=S(causal), is_causal=True, need_weights=need_weights)
        close(so, ro, 1e-12)
        g = torch.randn_like(ro)
        ro.backward(g)
        so.backward(S(g))
        close(sx.grad, x.grad, 1e-11)
        for p, p2 in zip(tm.parameters(), sm.parameters()):
            close(p2.grad, p.grad, 1e-11)
        xu = torch.randn(6, E, dtype=torch.float64)           # unbatched
        ro, rw = tm(xu, xu, xu, need_weights=need_weights)
        so, sw = sm(S(xu), S(xu), S(xu), need_weights=need_weights)
        close(so, ro, 1e-12)
        if rw is not None:
            close(sw, rw, 1e-12)


def test_mha_parameters_and_errors():
    sm = nn.MultiheadAttention(8, 2)
    tm = torch.nn.MultiheadAttention(8, 2)
    assert [n for n, _ in sm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [tuple(p.shape) for p in sm.parameters()] == [tuple(p.shape) for p in tm.parameters()]
    assert np.all(sm.in_proj_bias.detach().numpy() == 0)
    bound = math.sqrt(6 / (8 + 24))                             # xavier_uniform on (24, 8)
    assert np.abs(sm.in_proj_weight.detach().numpy()).max() <= bound
    sm2 = nn.MultiheadAttention(8, 2, kdim=4, vdim=5)
    tm2 = torch.nn.MultiheadAttention(8, 2, kdim=4, vdim=5)
    assert [n for n, _ in sm2.named_parameters()] == [n for n, _ in tm2.named_parameters()]
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    x = strided.randn(5, 2, 8)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        sm(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        sm(x, x, x, attn_mask=strided.zeros(4, 5))
    with pytest.raises(RuntimeError, match="3D attn_mask"):
        sm(x, x, x, attn_mask=strided.zeros(3, 5, 5))
    with pytest.raises(AssertionError, match=r"key_padded_mask.shape\[1\] to be 5"):
        sm(x, x, x, key_padding_mask=strided.zeros(2, 4, dtype=strided.bool))
    with pytest.raises(AssertionError, match="`key_padding_mask` to be `None` or 2-D"):
        sm(x, x, x, key_padding_mask=strided.zeros(2, 5, 1, dtype=strided.bool))
    with pytest.raises(AssertionError, match="`attn_mask` to be `None`, 2-D or 3-D"):
        sm(x, x, x, attn_mask=strided.zeros(1, 1, 5, 5))
    with pytest.raises(AssertionError, match="`key` and `value` to be 3-D"):
        sm(x, x[0], x[0])
    with pytest.raises(AssertionError, match="embedding dimension"):
        y = strided.randn(5, 2, 6)
        sm(y, y, y)
    sm.eval()                                      # dropout off in evaluation
    sd = nn.MultiheadAttention(8, 2, dropout=0.5)
    sd.load_state_dict(sm.state_dict())
    sd.eval()
    np.testing.assert_array_equal(sd(x, x, x)[0].detach().numpy(),
                                  sm(x, x, x)[0].detach().numpy())
