"""TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder
and Transformer against PyTorch on the same weights (loaded by torch's parameter names):
outputs and the gradients of the inputs and of every parameter over dtypes, batch_first,
norm_first, activations, masks and input layouts; dropout statistics; gradcheck; errors
with PyTorch's messages; Adam training steps."""
import math
import re
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import strided  # noqa: E402
import strided.nn as nn  # noqa: E402
import strided.nn.functional as F  # noqa: E402
from strided.nn import transformer as _transformer  # noqa: E402

TNN = torch.nn
TF = torch.nn.functional
DTYPES = [(torch.float32, strided.float32, 1e-5), (torch.float64, strided.float64, 1e-10)]
ACTIVATIONS = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
               "silu_fn": (TF.silu, F.silu), "gelu_module": (TNN.GELU(), nn.GELU())}


def S(t, requires_grad=False):
    """A strided copy of torch tensor t (a leaf; requires_grad as asked)."""
    s = strided.from_numpy(t.detach().numpy().copy())
    if requires_grad:
        s.requires_grad_(True)
    return s


def close(s, t, tol, what=""):
    """|s - t| <= tol * max(1, max |t|), NaN where t has NaN."""
    a, b = s.detach().numpy(), t.detach().numpy()
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(1.0, float(np.nanmax(np.abs(b)))) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale, err_msg=what)


def copy_state(tmod, smod):
    """Load torch module tmod's state_dict into smod by name (strict: every name matches)."""
    smod.load_state_dict({k: S(v) for k, v in tmod.state_dict().items()})


LAYOUTS = ["contiguous", "transposed", "stepped", "flipped"]


def make_input(shape, layout, tdt, seed):
    """(torch leaf, torch view, strided leaf, strided view): the same values in both
    libraries, the view non-contiguous as layout says (its gradient lands on the leaf)."""
    g = torch.Generator().manual_seed(seed)
    if layout == "transposed" and len(shape) >= 2:
        base = torch.randn(shape[1], shape[0], *shape[2:], generator=g, dtype=tdt)
        view = lambda x: x.transpose(0, 1)          # noqa: E731
    elif layout == "stepped":
        base = torch.randn(*shape[:-1], 2 * shape[-1], generator=g, dtype=tdt)
        view = lambda x: x[..., ::2]                # noqa: E731
    elif layout == "flipped":
        base = torch.randn(*shape, generator=g, dtype=tdt)
        view = lambda x: x.flip(0)                  # noqa: E731
    else:
        base = torch.randn(*shape, generator=g, dtype=tdt)
        view = lambda x: x                          # noqa: E731
    tb = base.clone().requires_grad_(True)
    sb = S(base, True)
    return tb, view(tb), sb, view(sb)


def check_module(tmod, smod, t_inputs, s_inputs, t_leaves, s_leaves, tol, kwargs_t,
                 kwargs_s, seed=0):
    """Forward both modules, compare outputs; backward one random gradient, compare the
    gradients of the leaves and of every parameter (matched by name)."""
    tout = tmod(*t_inputs, **kwargs_t)
    sout = smod(*s_inputs, **kwargs_s)
    close(sout, tout, tol, "output")
    g = torch.randn(tout.shape, generator=torch.Generator().manual_seed(seed),
                    dtype=tout.dtype)
    tout.backward(g)
    sout.backward(S(g))
    for i, (tl, sl) in enumerate(zip(t_leaves, s_leaves)):
        close(sl.grad, tl.grad, tol * 10, f"grad of input {i}")
    sparams = dict(smod.named_parameters())
    tparams = dict(tmod.named_parameters())
    assert sorted(sparams) == sorted(tparams)
    for name, tp in tparams.items():
        close(sparams[name].grad, tp.grad, tol * 10, f"grad of {name}")
    return tout, sout


def masks_for(kind, N, H, L, S_, tdt, seed):
    """(torch kwargs, strided kwargs) of an attention mask and key padding mask of kind,
    for L queries over S_ keys; no row is fully masked."""
    g = torch.Generator().manual_seed(seed)
    attn, kpm, causal = None, None, False
    if kind in ("causal_float", "causal_hint", "causal_kpm"):
        attn = TNN.Transformer.generate_square_subsequent_mask(L, dtype=tdt)
        causal = kind != "causal_float"
    elif kind in ("bool", "bool_kpm"):
        attn = torch.rand(L, S_, generator=g) > 0.6
        attn[:, 0] = False
    elif kind == "float":
        attn = torch.randn(L, S_, generator=g, dtype=tdt)
    elif kind == "float3d":
        attn = torch.randn(N * H, L, S_, generator=g, dtype=tdt)
    if kind in ("kpm_bool", "bool_kpm"):
        kpm = torch.rand(N, S_, generator=g) > 0.6
        kpm[:, -1] = False
    elif kind in ("kpm_float", "causal_kpm"):
        kpm = torch.zeros(N, S_, dtype=tdt)
        kpm[0, 1:] = -math.inf                      # batch 0 sees only its first key
        kpm[-1, S_ // 2] = -math.inf
    conv = lambda m: None if m is None else S(m)    # noqa: E731
    return (attn, kpm, causal), (conv(attn), conv(kpm), causal)


ENC_MASKS = ["none", "causal_float", "causal_hint", "bool", "float", "float3d", "kpm_bool",
             "kpm_float", "bool_kpm", "causal_kpm"]


def encoder_layer_pair(tdt, sdt, seed=0, **kw):
    torch.manual_seed(seed)
    tact, sact = ACTIVATIONS[kw.pop("activation", "relu")]
    t = TNN.TransformerEncoderLayer(activation=tact, dtype=tdt, **kw)
    s = nn.TransformerEncoderLayer(activation=sact, dtype=sdt, **kw)
    copy_state(t, s)
    return t, s


# ---- TransformerEncoderLayer -----------------------------------------------------------

@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("masks", ENC_MASKS)
def test_encoder_layer_against_torch(tdt, sdt, tol, batch_first, norm_first, activation,
                                     masks):
    N, L, E, H = 3, 7, 8, 2
    t, s = encoder_layer_pair(tdt, sdt, d_model=E, nhead=H, dim_feedforward=12,
                              dropout=0.0, activation=activation, batch_first=batch_first,
                              norm_first=norm_first)
    shape = (N, L, E) if batch_first else (L, N, E)
    tb, tx, sb, sx = make_input(shape, "contiguous", tdt, 1)
    (ta, tk, tc), (sa, sk, sc) = masks_for(masks, N, H, L, L, tdt, 2)
    check_module(t, s, (tx,), (sx,), (tb,), (sb,), tol,
                 dict(src_mask=ta, src_key_padding_mask=tk, is_causal=tc),
                 dict(src_mask=sa, src_key_padding_mask=sk, is_causal=sc))


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("activation", ["silu_fn", "gelu_module"])
@pytest.mark.parametrize("L", [1, 4, 9])
def test_encoder_layer_layouts_and_callable_activations(tdt, sdt, tol, layout, activation, L):
    """Non-contiguous inputs (transposed, stepped, flipped), callables as activation,
    sequence lengths 1 / even / odd, bias=False and another layer_norm_eps."""
    N, E, H = 2, 12, 3
    for bias in (True, False):
        t, s = encoder_layer_pair(tdt, sdt, d_model=E, nhead=H, dim_feedforward=10,
                                  dropout=0.0, activation=activation, bias=bias,
                                  layer_norm_eps=1e-3, norm_first=bias)
        tb, tx, sb, sx = make_input((L, N, E), layout, tdt, 3)
        check_module(t, s, (tx,), (sx,), (tb,), (sb,), tol, {}, {})
    assert s.activation_relu_or_gelu == t.activation_relu_or_gelu


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_unbatched(tdt, sdt, tol, norm_first):
    L, E, H = 5, 8, 4
    t, s = encoder_layer_pair(tdt, sdt, d_model=E, nhead=H, dim_feedforward=16,
                              dropout=0.0, norm_first=norm_first)
    tb, tx, sb, sx = make_input((L, E), "transposed", tdt, 4)
    kpm = torch.tensor([False, True, False, False, True])
    mask = TNN.Transformer.generate_square_subsequent_mask(L, dtype=tdt)
    check_module(t, s, (tx,), (sx,), (tb,), (sb,), tol,
                 dict(src_mask=mask, src_key_padding_mask=kpm),
                 dict(src_mask=S(mask), src_key_padding_mask=S(kpm)))


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
def test_encoder_layer_fully_padded_row(tdt, sdt, tol):
    """A batch element whose keys are all padded: PyTorch's training path (the one taken
    whenever autograd records or the layer trains) gives an attention output of 0 there, so
    the layer's output is finite and strided's equals it.  PyTorch's inference fast path
    (eval mode under no_grad) gives NaN instead; strided has one path."""
    N, L, E, H = 3, 6, 8, 2
    t, s = encoder_layer_pair(tdt, sdt, d_model=E, nhead=H, dim_feedforward=16,
                              dropout=0.0, batch_first=True)
    tb, tx, sb, sx = make_input((N, L, E), "contiguous", tdt, 5)
    kpm = torch.zeros(N, L, dtype=torch.bool)
    kpm[1] = True
    kpm[2, 3:] = True
    tout, sout = check_module(t, s, (tx,), (sx,), (tb,), (sb,), tol,
                              dict(src_key_padding_mask=kpm),
                              dict(src_key_padding_mask=S(kpm)))
    assert np.isfinite(sout.detach().numpy()).all()
    t.eval()
    with torch.no_grad():
        fast = t(tx, src_key_padding_mask=kpm)
    assert torch.isnan(fast[1]).all()               # torch's fast path: NaN
    assert not torch.isnan(fast[0]).any()


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_eval_matches_torch_fast_path(tdt, sdt, tol, norm_first):
    """Eval mode with dropout=0.1 is deterministic and equals PyTorch with autograd on
    (its training path) and under no_grad (its fused inference path)."""
    N, L, E, H = 2, 5, 8, 2
    t, s = encoder_layer_pair(tdt, sdt, d_model=E, nhead=H, dim_feedforward=16,
                              dropout=0.1, batch_first=True, norm_first=norm_first,
                              activation="gelu")
    t.eval()
    s.eval()
    x = torch.randn(N, L, E, dtype=tdt)
    kpm = torch.tensor([[False] * L, [False] * 3 + [True] * 2])
    ref = t(x, src_key_padding_mask=kpm)
    with torch.no_grad():
        ref_fast = t(x, src_key_padding_mask=kpm)
    a = s(S(x), src_key_padding_mask=S(kpm))
    b = s(S(x), src_key_padding_mask=S(kpm))
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    close(a, ref, tol)
    close(a, ref_fast, tol * 10)


# ---- TransformerDecoderLayer -----------------------------------------------------------

DEC_MASKS = ["none", "causal_hint", "causal_bool", "memory_float", "memory3d", "kpms",
             "all_bool", "all_float"]


def decoder_masks(kind, N, H, T, S_, tdt, seed):
    g = torch.Generator().manual_seed(seed)
    kw = {}
    if kind in ("causal_hint", "all_float"):
        kw["tgt_mask"] = TNN.Transformer.generate_square_subsequent_mask(T, dtype=tdt)
        kw["tgt_is_causal"] = kind == "causal_hint"
    if kind in ("causal_bool", "all_bool"):
        kw["tgt_mask"] = TNN.Transformer.generate_square_subsequent_mask(T, dtype=torch.bool)
    if kind in ("memory_float", "all_float"):
        kw["memory_mask"] = torch.randn(T, S_, generator=g, dtype=tdt)
    if kind == "memory3d":
        kw["memory_mask"] = torch.randn(N * H, T, S_, generator=g, dtype=tdt)
    if kind == "all_bool":
        m = torch.rand(T, S_, generator=g) > 0.5
        m[:, 2] = False
        kw["memory_mask"] = m
    if kind in ("kpms", "all_bool", "all_float"):
        tk = torch.rand(N, T, generator=g) > 0.6
        tk[:, 0] = False
        mk = torch.rand(N, S_, generator=g) > 0.6
        mk[:, 2] = False
        if kind == "all_float":
            tk = torch.zeros(N, T, dtype=tdt).masked_fill(tk, -math.inf)
            mk = torch.zeros(N, S_, dtype=tdt).masked_fill(mk, -math.inf)
        kw["tgt_key_padding_mask"], kw["memory_key_padding_mask"] = tk, mk
    skw = {k: S(v) if isinstance(v, torch.Tensor) else v for k, v in kw.items()}
    return kw, skw


def decoder_layer_pair(tdt, sdt, seed=0, **kw):
    torch.manual_seed(seed)
    tact, sact = ACTIVATIONS[kw.pop("activation", "relu")]
    t = TNN.TransformerDecoderLayer(activation=tact, dtype=tdt, **kw)
    s = nn.TransformerDecoderLayer(activation=sact, dtype=sdt, **kw)
    copy_state(t, s)
    return t, s


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("masks", DEC_MASKS)
def test_decoder_layer_against_torch(tdt, sdt, tol, batch_first, norm_first, activation,
                                     masks):
    N, T, S_, E, H = 3, 5, 7, 8, 2
    t, s = decoder_layer_pair(tdt, sdt, d_model=E, nhead=H, dim_feedforward=12,
                              dropout=0.0, activation=activation, batch_first=batch_first,
                              norm_first=norm_first)
    tshape, mshape = ((N, T, E), (N, S_, E)) if batch_first else ((T, N, E), (S_, N, E))
    layout = "stepped" if norm_first else "transposed"
    tb, tx, sb, sx = make_input(tshape, layout, tdt, 1)
    mb, mx, smb, smx = make_input(mshape, "flipped" if batch_first else "contiguous", tdt, 2)
    kw, skw = decoder_masks(masks, N, H, T, S_, tdt, 3)
    check_module(t, s, (tx, mx), (sx, smx), (tb, mb), (sb, smb), tol, kw, skw)


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
def test_decoder_layer_unbatched_and_no_bias(tdt, sdt, tol):
    T, S_, E, H = 4, 3, 6, 3
    for bias in (True, False):
        t, s = decoder_layer_pair(tdt, sdt, d_model=E, nhead=H, dim_feedforward=9,
                                  dropout=0.0, bias=bias, activation="silu_fn")
        tb, tx, sb, sx = make_input((T, E), "transposed", tdt, 1)
        mb, mx, smb, smx = make_input((S_, E), "stepped", tdt, 2)
        mask = TNN.Transformer.generate_square_subsequent_mask(T, dtype=tdt)
        check_module(t, s, (tx, mx), (sx, smx), (tb, mb), (sb, smb), tol,
                     dict(tgt_mask=mask, tgt_is_causal=True),
                     dict(tgt_mask=S(mask), tgt_is_causal=True))


# ---- stacks and the Transformer --------------------------------------------------------

@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
@pytest.mark.parametrize("num_layers,with_norm", [(1, False), (2, True), (3, False)])
@pytest.mark.parametrize("masks", ["none", "causal_detect", "causal_bool", "kpm_float",
                                   "float_kpm_bool"])
def test_encoder_against_torch(tdt, sdt, tol, num_layers, with_norm, masks):
    N, L, E, H = 2, 7, 8, 2
    torch.manual_seed(1)
    tl = TNN.TransformerEncoderLayer(E, H, 16, dropout=0.0, dtype=tdt)
    t = TNN.TransformerEncoder(tl, num_layers, TNN.LayerNorm(E, dtype=tdt) if with_norm
                               else None, enable_nested_tensor=False)
    s = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, dtype=sdt),
                              num_layers, nn.LayerNorm(E, dtype=sdt) if with_norm else None)
    copy_state(t, s)
    tb, tx, sb, sx = make_input((L, N, E), "stepped", tdt, 2)
    kw = {}
    if masks == "causal_detect":                    # is_causal=None: detected from the mask
        kw["mask"] = TNN.Transformer.generate_square_subsequent_mask(L, dtype=tdt)
    elif masks == "causal_bool":
        kw["mask"] = TNN.Transformer.generate_square_subsequent_mask(L, dtype=torch.bool)
    elif masks == "kpm_float":
        kw["src_key_padding_mask"] = torch.zeros(N, L, dtype=tdt)
        kw["src_key_padding_mask"][1, 4:] = -math.inf
    elif masks == "float_kpm_bool":
        kw["mask"] = torch.randn(L, L, dtype=tdt)
        kw["src_key_padding_mask"] = torch.tensor([[False] * L, [False] * 5 + [True] * 2])
    skw = {k: S(v) for k, v in kw.items()}
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        tout = t(tx, **kw)
    with warnings.catch_warnings(record=True) as sw:
        warnings.simplefilter("always")
        sout = s(sx, **skw)
    assert [str(w.message) for w in sw] == [str(w.message) for w in tw]
    close(sout, tout, tol)
    g = torch.randn(tout.shape, dtype=tdt)
    tout.backward(g)
    sout.backward(S(g))
    close(sb.grad, tb.grad, tol * 10)
    sp = dict(s.named_parameters())
    for name, p in t.named_parameters():
        close(sp[name].grad, p.grad, tol * 10, name)


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_and_transformer_against_torch(tdt, sdt, tol, batch_first, norm_first):
    N, T, S_, E, H = 2, 5, 7, 8, 4
    torch.manual_seed(2)
    cfg = dict(d_model=E, nhead=H, dim_feedforward=12, dropout=0.0, batch_first=batch_first,
               norm_first=norm_first)
    t = TNN.Transformer(num_encoder_layers=2, num_decoder_layers=3, activation="gelu",
                        dtype=tdt, **cfg)
    s = nn.Transformer(num_encoder_layers=2, num_decoder_layers=3, activation="gelu",
                       dtype=sdt, **cfg)
    copy_state(t, s)
    sshape, tshape = ((N, S_, E), (N, T, E)) if batch_first else ((S_, N, E), (T, N, E))
    ab, ax, sab, sax = make_input(sshape, "transposed", tdt, 1)
    bb, bx, sbb, sbx = make_input(tshape, "flipped", tdt, 2)
    kw, skw = decoder_masks("all_bool", N, H, T, S_, tdt, 3)
    kw["src_key_padding_mask"] = torch.tensor([[False] * S_, [False] * 4 + [True] * 3])
    skw["src_key_padding_mask"] = S(kw["src_key_padding_mask"])
    check_module(t, s, (ax, bx), (sax, sbx), (ab, bb), (sab, sbb), tol, kw, skw)
    # the decoder stack alone, tgt_is_causal detected from a float causal mask
    mem = torch.randn(sshape, dtype=tdt)
    mask = TNN.Transformer.generate_square_subsequent_mask(T, dtype=tdt)
    tout = t.decoder(bx, mem, tgt_mask=mask)
    sout = s.decoder(sbx, S(mem), tgt_mask=S(mask))
    close(sout, tout, tol)


@pytest.mark.parametrize("tdt,sdt,tol", DTYPES)
def test_encoder_enable_nested_tensor_is_ignored(tdt, sdt, tol):
    """PyTorch's nested-tensor packing (eval mode, no autograd, enable_nested_tensor,
    left-aligned padding) returns 0 at padded positions; strided runs the padded batch,
    so it equals PyTorch at every unpadded position and at padded ones computes what
    PyTorch's training path does."""
    N, L, E, H = 3, 6, 8, 2
    torch.manual_seed(7)
    t = TNN.TransformerEncoder(TNN.TransformerEncoderLayer(E, H, 16, batch_first=True,
                                                           dtype=tdt), 2)
    s = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, 16, batch_first=True,
                                                         dtype=sdt), 2,
                              enable_nested_tensor=True)
    copy_state(t, s)
    t.eval()
    s.eval()
    x = torch.randn(N, L, E, dtype=tdt)
    kpm = torch.zeros(N, L, dtype=torch.bool)
    kpm[1, 4:] = True
    kpm[2, 1:] = True
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        packed = t(x, src_key_padding_mask=kpm)
    padded = t(x, src_key_padding_mask=kpm)         # autograd on: PyTorch's padded path
    with strided.no_grad():
        out = s(S(x), src_key_padding_mask=S(kpm))
    keep = ~kpm.numpy()
    np.testing.assert_allclose(out.numpy()[keep], packed.numpy()[keep], rtol=0,
                               atol=10 * tol * float(packed.abs().max()))
    assert (packed.numpy()[~keep] == 0).all()
    close(out, padded, tol)


def test_transformer_init_and_clones():
    """Parameter names, shapes and init as PyTorch's: xavier_uniform_ bounds on every
    matrix, LayerNorms ones/zeros, biases zero in attention; the stacks' layers are
    independent deep copies of the layer given."""
    s = nn.Transformer(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                       dim_feedforward=24)
    t = TNN.Transformer(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                        dim_feedforward=24)
    ss, ts = s.state_dict(), t.state_dict()
    assert list(ss) == list(ts)
    for k in ts:
        assert tuple(ss[k].shape) == tuple(ts[k].shape), k
        v = ss[k].numpy()
        if v.ndim > 1:
            bound = math.sqrt(6.0 / (v.shape[0] + v.shape[1]))
            assert np.abs(v).max() <= bound and v.std() > bound / 4, k
        elif "norm" in k and k.endswith("weight"):
            assert (v == 1).all(), k
        elif "attn" in k:
            assert (v == 0).all(), k
    assert s.d_model == 16 and s.nhead == 4 and s.batch_first is False

    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=True, mask_check=False)
    assert len(enc.layers) == 3 and enc.num_layers == 3 and enc.mask_check is False
    w0 = layer.linear1.weight.detach().numpy().copy()
    for m in enc.layers:
        assert m is not layer and m.linear1.weight is not layer.linear1.weight
        assert isinstance(m.linear1.weight, nn.Parameter) and m.linear1.weight.requires_grad
        np.testing.assert_array_equal(m.linear1.weight.detach().numpy(), w0)
    with strided.no_grad():
        enc.layers[0].linear1.weight.add_(1.0)
    np.testing.assert_array_equal(enc.layers[1].linear1.weight.detach().numpy(), w0)
    np.testing.assert_array_equal(layer.linear1.weight.detach().numpy(), w0)
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))

    custom = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1)
    m = nn.Transformer(8, 2, custom_encoder=custom, num_decoder_layers=1,
                       dim_feedforward=16)
    assert m.encoder is custom and len(m.decoder.layers) == 1
    d64 = nn.TransformerDecoderLayer(8, 2, 16, dtype=strided.float64)
    assert {p.dtype for p in d64.parameters()} == {strided.float64}


@pytest.mark.parametrize("sz", [0, 1, 5])
@pytest.mark.parametrize("dtypes", [(None, None), (torch.float64, strided.float64),
                                    (torch.bool, strided.bool)])
def test_generate_square_subsequent_mask(sz, dtypes):
    tdt, sdt = dtypes
    r = TNN.Transformer.generate_square_subsequent_mask(sz, dtype=tdt)
    m = nn.Transformer.generate_square_subsequent_mask(sz, dtype=sdt, device="cpu")
    assert m.dtype == (sdt or strided.float32)
    np.testing.assert_array_equal(m.numpy(), r.numpy())


@pytest.mark.parametrize("case", ["float", "bool", "float64", "other", "wrong_size", "none"])
@pytest.mark.parametrize("hint", [None, True, False])
def test_detect_is_causal_mask(case, hint):
    n = 4
    mk = {"float": lambda: TNN.Transformer.generate_square_subsequent_mask(n),
          "bool": lambda: TNN.Transformer.generate_square_subsequent_mask(n, dtype=torch.bool),
          "float64": lambda: TNN.Transformer.generate_square_subsequent_mask(
              n, dtype=torch.float64),
          "other": lambda: torch.zeros(n, n),
          "wrong_size": lambda: TNN.Transformer.generate_square_subsequent_mask(n + 1),
          "none": lambda: None}[case]
    m = mk()
    expect = torch.nn.modules.transformer._detect_is_causal_mask(m, hint, n)
    got = _transformer._detect_is_causal_mask(None if m is None else S(m), hint, n)
    assert got == expect


# ---- dropout -----------------------------------------------------------------------------

def test_dropout_statistics():
    """In train mode the feed-forward branch's two dropouts drop with probability p and
    scale survivors by 1 / (1 - p).  With attention's out_proj zeroed, linear1 = I + 10,
    linear2 = I - 10 (pre-norm), out - x = D2(D1(n + 10) - 10) for n = norm2(x): exactly 0
    with probability p, -10 / (1 - p) with probability p (1 - p), mean n."""
    strided.manual_seed(3)
    E, p = 16, 0.25
    layer = nn.TransformerEncoderLayer(E, 4, E, dropout=p, norm_first=True,
                                       dtype=strided.float64)
    with strided.no_grad():
        layer.self_attn.out_proj.weight.zero_()
        layer.self_attn.out_proj.bias.zero_()
        layer.linear1.weight.copy_(strided.eye(E, dtype=strided.float64))
        layer.linear1.bias.fill_(10.0)
        layer.linear2.weight.copy_(strided.eye(E, dtype=strided.float64))
        layer.linear2.bias.fill_(-10.0)
    x = strided.randn(48, 40, E, dtype=strided.float64)
    d = (layer(x) - x).detach().numpy()
    n = layer.norm2(x).detach().numpy()
    zero = np.abs(d) < 1e-12
    low = np.abs(d + 10 / (1 - p)) < 1e-9
    assert abs(zero.mean() - p) < 0.015, zero.mean()
    assert abs(low.mean() - p * (1 - p)) < 0.015, low.mean()
    kept = ~zero & ~low
    np.testing.assert_allclose(d[kept], ((n[kept] + 10) / (1 - p) - 10) / (1 - p), atol=1e-9)
    assert abs((d - n).mean()) < 0.15
    layer.eval()
    np.testing.assert_allclose((layer(x) - x).detach().numpy(), n, atol=1e-9)


@pytest.mark.parametrize("cls", ["encoder", "decoder"])
def test_dropout_train_consistency(cls):
    """Train mode with dropout: a fresh mask per call, the seed decides it, and the
    backward uses the forward's masks (gradcheck with the seed reset per call)."""
    d = strided.float64
    strided.manual_seed(4)
    if cls == "encoder":
        layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.3, dtype=d)
        fn = lambda x, m: layer(x)                  # noqa: E731
    else:
        layer = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.3, dtype=d)
        fn = lambda x, m: layer(x, m)               # noqa: E731
    x = strided.randn(3, 2, 4, dtype=d, requires_grad=True)
    mem = strided.randn(4, 2, 4, dtype=d, requires_grad=True)
    a, b = fn(x, mem).detach().numpy(), fn(x, mem).detach().numpy()
    assert (a != b).any()
    strided.manual_seed(11)
    a = fn(x, mem).detach().numpy()
    strided.manual_seed(11)
    np.testing.assert_array_equal(fn(x, mem).detach().numpy(), a)

    def seeded(x, m, *params):
        strided.manual_seed(12)
        return fn(x, m)
    params = [layer.linear1.weight, layer.self_attn.in_proj_weight]
    inputs = (x, mem, *params) if cls == "decoder" else (x, mem.detach(), *params)
    assert strided.autograd.gradcheck(seeded, inputs, atol=1e-6)


# ---- gradcheck -----------------------------------------------------------------------------

@pytest.mark.parametrize("norm_first,activation", [(False, "relu"), (True, "gelu")])
def test_gradcheck_tiny_layers(norm_first, activation):
    """Finite differences on float64 layers: the inputs and one parameter of each kind
    (attention projections, feed-forward, LayerNorm); every parameter's gradient is
    compared with PyTorch's above."""
    d = strided.float64
    strided.manual_seed(5)
    enc = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation=activation,
                                     norm_first=norm_first, dtype=d)
    x = strided.randn(3, 2, 4, dtype=d, requires_grad=True)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=d)
    params = [enc.self_attn.in_proj_weight, enc.self_attn.out_proj.bias, enc.linear1.bias,
              enc.linear2.weight, enc.norm1.weight, enc.norm2.bias]
    assert strided.autograd.gradcheck(lambda x, *p: enc(x, src_mask=mask), (x, *params))
    dec = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, activation=activation,
                                     norm_first=norm_first, batch_first=True, dtype=d)
    t = strided.randn(2, 3, 4, dtype=d, requires_grad=True)
    m = strided.randn(2, 5, 4, dtype=d, requires_grad=True)
    kpm = strided.tensor([[False, True, False, False, True], [False] * 5])
    params = [dec.multihead_attn.in_proj_weight, dec.self_attn.in_proj_bias,
              dec.linear1.weight, dec.norm2.weight, dec.norm3.bias]
    assert strided.autograd.gradcheck(
        lambda t, m, *p: dec(t, m, tgt_mask=mask, memory_key_padding_mask=kpm),
        (t, m, *params))


# ---- errors ---------------------------------------------------------------------------------

def _message(e):
    """An exception's message with torch.Size([a, b]) written as (a, b)."""
    return re.sub(r"torch\.Size\(\[([^\]]*)\]\)", lambda m: "(" + m.group(1) + (
        ",)" if m.group(1).count(",") == 0 and m.group(1) else ")"), str(e))


def same_error(tcall, scall):
    """Both calls raise the same exception type with the same message."""
    with pytest.raises(Exception) as te:
        tcall()
    with pytest.raises(Exception) as se:
        scall()
    assert type(se.value) is type(te.value), (se.value, te.value)
    assert _message(se.value) == _message(te.value)


def test_errors_match_torch():
    same_error(lambda: TNN.TransformerEncoderLayer(10, 3), lambda: nn.TransformerEncoderLayer(10, 3))
    same_error(lambda: TNN.TransformerDecoderLayer(10, 4), lambda: nn.TransformerDecoderLayer(10, 4))
    same_error(lambda: TNN.Transformer(10, 3), lambda: nn.Transformer(10, 3))
    same_error(lambda: TNN.TransformerEncoderLayer(8, 2, activation="tanh"),
               lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"))
    same_error(lambda: TNN.TransformerDecoderLayer(8, 2, activation="swish"),
               lambda: nn.TransformerDecoderLayer(8, 2, activation="swish"))
    same_error(lambda: TNN.TransformerEncoderLayer(8, 0), lambda: nn.TransformerEncoderLayer(8, 0))

    torch.manual_seed(0)
    t, s = encoder_layer_pair(torch.float32, strided.float32, d_model=8, nhead=2,
                              dim_feedforward=16, dropout=0.0)
    x = torch.randn(5, 2, 8)
    sx = S(x)
    for kw in [dict(src_mask=torch.zeros(4, 4)),
               dict(src_mask=torch.zeros(5, 5, dtype=torch.int64)),
               dict(src_mask=torch.zeros(3, 5, 5)),
               dict(src_mask=torch.zeros(1, 1, 5, 5)),
               dict(src_key_padding_mask=torch.zeros(2, 4, dtype=torch.bool)),
               dict(src_key_padding_mask=torch.zeros(2, 5, dtype=torch.int32)),
               dict(src_key_padding_mask=torch.zeros(2, 5, 1, dtype=torch.bool)),
               dict(src_mask=None, is_causal=True)]:
        same_error(lambda: t(x, **kw), lambda: s(sx, **{k: S(v) if isinstance(
            v, torch.Tensor) else v for k, v in kw.items()}))
    same_error(lambda: t(torch.randn(5, 2, 6)), lambda: s(strided.randn(5, 2, 6)))
    same_error(lambda: t(torch.randn(2, 5, 2, 8)), lambda: s(strided.randn(2, 5, 2, 8)))

    tt = TNN.Transformer(8, 2, 1, 1, 16)
    st = nn.Transformer(8, 2, 1, 1, 16)
    same_error(lambda: tt(torch.randn(5, 2, 8), torch.randn(4, 3, 8)),
               lambda: st(strided.randn(5, 2, 8), strided.randn(4, 3, 8)))
    same_error(lambda: tt(torch.randn(5, 2, 8), torch.randn(4, 2, 6)),
               lambda: st(strided.randn(5, 2, 8), strided.randn(4, 2, 6)))
    td = TNN.TransformerDecoderLayer(8, 2, 16)
    sd = nn.TransformerDecoderLayer(8, 2, 16)
    same_error(lambda: td(torch.randn(4, 2, 8), torch.randn(5, 2, 8),
                          memory_mask=torch.zeros(4, 4)),
               lambda: sd(strided.randn(4, 2, 8), strided.randn(5, 2, 8),
                          memory_mask=strided.zeros(4, 4)))
    same_error(lambda: td(torch.randn(4, 2, 8), torch.randn(5, 2, 8), tgt_is_causal=True),
               lambda: sd(strided.randn(4, 2, 8), strided.randn(5, 2, 8), tgt_is_causal=True))
    with pytest.raises(RuntimeError, match="CPU"):
        nn.TransformerEncoderLayer(8, 2, device="cuda")
    with pytest.raises(RuntimeError, match="CPU"):
        nn.Transformer.generate_square_subsequent_mask(3, device="cuda")


def test_mismatched_mask_types_warn_as_torch():
    t = TNN.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    s = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    copy_state(t, s)
    x = torch.randn(5, 2, 8)
    mask = torch.zeros(5, 5)
    kpm = torch.tensor([[False] * 5, [False, False, True, True, True]])
    with pytest.warns(UserWarning) as tw:
        tout = t(x, src_mask=mask, src_key_padding_mask=kpm)
    with pytest.warns(UserWarning) as sw:
        sout = s(S(x), src_mask=S(mask), src_key_padding_mask=S(kpm))
    assert [str(w.message) for w in sw] == [str(w.message) for w in tw]
    close(sout, tout, 1e-5)


# ---- training ---------------------------------------------------------------------------------

def test_adam_training_steps_match_torch():
    """Eight Adam steps of a 2-layer encoder and a linear head (float32, causal mask, key
    padding): the losses and every parameter agree with PyTorch's within float32 noise.

    The key projection's bias is the exception: softmax is invariant to adding one
    number to all of a query's scores, so its exact gradient is 0 and both libraries
    compute rounding noise (~1e-9), which Adam's normalisation turns into steps of up to
    lr in either direction.  It is checked for that: a tiny gradient in both, at most
    steps * lr from where it started."""
    N, L, E, H = 4, 9, 16, 4
    torch.manual_seed(6)
    tl = TNN.TransformerEncoderLayer(E, H, 32, dropout=0.0, batch_first=True,
                                     norm_first=True, activation="gelu")
    tenc = TNN.ModuleDict({"encoder": TNN.TransformerEncoder(tl, 2, TNN.LayerNorm(E),
                                                             enable_nested_tensor=False),
                           "head": TNN.Linear(E, 3)})
    senc = nn.ModuleDict({"encoder": nn.TransformerEncoder(
        nn.TransformerEncoderLayer(E, H, 32, dropout=0.0, batch_first=True, norm_first=True,
                                   activation="gelu"), 2, nn.LayerNorm(E)),
        "head": nn.Linear(E, 3)})
    copy_state(tenc, senc)
    x = torch.randn(N, L, E)
    y = torch.randint(0, 3, (N, L))
    mask = TNN.Transformer.generate_square_subsequent_mask(L)
    kpm = torch.zeros(N, L, dtype=torch.bool)
    kpm[1, 6:] = True
    topt = torch.optim.Adam(tenc.parameters(), lr=1e-3)
    sopt = strided.optim.Adam(senc.parameters(), lr=1e-3)
    sx, sy, smask, skpm = S(x), S(y), S(mask), S(kpm)
    for step in range(8):
        tl_ = TF.cross_entropy(tenc["head"](tenc["encoder"](
            x, mask=mask, src_key_padding_mask=kpm)).reshape(-1, 3), y.reshape(-1))
        sl_ = F.cross_entropy(senc["head"](senc["encoder"](
            sx, mask=smask, src_key_padding_mask=skpm)).reshape(-1, 3), sy.reshape(-1))
        assert abs(sl_.item() - tl_.item()) <= 2e-5 * abs(tl_.item()), step
        topt.zero_grad()
        tl_.backward()
        topt.step()
        sopt.zero_grad()
        sl_.backward()
        sopt.step()
        for i in range(2):
            key_bias = slice(E, 2 * E)
            tg = tenc["encoder"].layers[i].self_attn.in_proj_bias.grad[key_bias]
            sg = senc["encoder"].layers[i].self_attn.in_proj_bias.grad[key_bias]
            assert tg.abs().max() < 1e-6 and np.abs(sg.numpy()).max() < 1e-6
    sp = dict(senc.named_parameters())
    for name, p in tenc.named_parameters():
        if name.endswith("self_attn.in_proj_bias"):
            a, b = sp[name].detach().numpy(), p.detach().numpy()
            close(sp[name][:E], p[:E], 2e-5, name)
            close(sp[name][2 * E:], p[2 * E:], 2e-5, name)
            assert np.abs(a[E:2 * E]).max() <= 8 * 1e-3 and np.abs(b[E:2 * E]).max() <= 8e-3
        else:
            close(sp[name], p, 2e-5, name)
