"""Train a character-level GPT (or an LSTM language model) on Python's own documentation.

    python examples/train_gpt.py                     # a 4-layer GPT, a few minutes on 2 cores
    python examples/train_gpt.py --model lstm        # a 2-layer LSTM on the same text
    python examples/train_gpt.py --sample runs/gpt/gpt.ckpt --prompt "The for"

The text is the CPython standard library's `pydoc_data/topics.py` (the reference pages
`help("assert")` prints: about 465,000 characters of English and code), so nothing is
downloaded.  The GPT has nanoGPT's shape: token and position embeddings, N pre-norm blocks
of causal self-attention and a GELU MLP, a final LayerNorm and an output head tied to the
token embedding.  Training uses AdamW (weight decay on matrices only), a linear warm-up then
cosine decay, gradient clipping and a tqdm bar; at the end the script saves a checkpoint
(strided.save), a loss plot, and prints text sampled from the model.  Install what it needs
with `pip install -e ".[examples]"` (tqdm, matplotlib).

Batches are views: the encoded text is one tensor, `data.unfold(0, block + 1, 1)` is every
window of block + 1 characters as a view of it (no copy), and a batch gathers random rows
of that view; inputs and targets are the window's first and last `block` characters, two
overlapping slices.  The heads of the attention are a `view` + `transpose` of one projection.

The models are written against the torch.nn API only, so make_model(torch.nn, ...) builds
the same network in PyTorch (benchmarks/bench_seq.py times one training step of each).
"""
import argparse
import math
import os
import sys
import time

import numpy as np

import strided
import strided.nn as nn
import strided.optim as optim


# ---- the corpus -------------------------------------------------------------------------

def load_corpus():
    """Python's reference topics (pydoc_data/topics.py, shipped with CPython) as one string,
    the topics in sorted order; and the file it came from."""
    import pydoc_data.topics as topics
    return "\n\n".join(topics.topics[k] for k in sorted(topics.topics)), topics.__file__


class Vocabulary:
    """The characters of a text, each mapped to an integer in [0, len)."""

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"characters not in the training text: {unknown!r}")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


class Batches:
    """Random (input, target) batches of `block` characters from one encoded text.

    windows = data.unfold(0, block + 1, 1) is a (len - block, block + 1) view over the
    text's one storage, each row starting one character after the last (stride (1, 1)):
    every training example at once, with nothing copied."""

    def __init__(self, data, block, batch_size, generator):
        if len(data) <= block:
            raise ValueError(f"the text has {len(data)} characters, fewer than a block "
                             f"({block}) + 1")
        self.windows = strided.from_numpy(data).unfold(0, block + 1, 1)
        self.batch_size, self.generator = batch_size, generator

    def __call__(self):
        rows = strided.randint(0, self.windows.shape[0], (self.batch_size,),
                               generator=self.generator)
        w = self.windows[rows]                           # (batch, block + 1): one gather
        return w[:, :-1], w[:, 1:]


# ---- the models -------------------------------------------------------------------------

def make_model(nn, name, vocab_size, block=128, n_layer=4, n_head=4, n_embd=128,
               dropout=0.0, hidden=256):
    """The GPT or the LSTM language model; `nn` is strided.nn or torch.nn."""
    F = nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(n_embd, 3 * n_embd)
            self.proj = nn.Linear(n_embd, n_embd)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(x).split(n_embd, dim=2)
            # (b, t, c) -> (b, n_head, t, c / n_head): views, no copy
            q, k, v = (z.view(b, t, n_head, c // n_head).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                               dropout_p=dropout if self.training else 0.0)
            return self.dropout(self.proj(y.transpose(1, 2).reshape(b, t, c)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.attn = nn.LayerNorm(n_embd), CausalSelfAttention()
            self.ln2 = nn.LayerNorm(n_embd)
            self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(),
                                     nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = block
            self.tok = nn.Embedding(vocab_size, n_embd)
            self.pos = nn.Embedding(block, n_embd)
            self.drop = nn.Dropout(dropout)
            self.blocks = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd)
            self.head = nn.Linear(n_embd, vocab_size, bias=False)
            self.head.weight = self.tok.weight                    # tied
            for m_name, p in self.named_parameters():
                if p.dim() == 2:
                    nn.init.normal_(p, 0.0, 0.02)
                if m_name.endswith("proj.weight") or m_name.endswith("mlp.2.weight"):
                    nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))   # GPT-2's scaling
                if m_name.endswith("bias"):
                    nn.init.zeros_(p)

        def forward(self, idx):
            t = idx.shape[1]
            x = self.drop(self.tok(idx) + self.pos.weight[:t])
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln_f(x))

    class LSTMModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = block
            self.tok = nn.Embedding(vocab_size, n_embd)
            self.lstm = nn.LSTM(n_embd, hidden, num_layers=2, batch_first=True,
                                dropout=dropout)
            self.head = nn.Linear(hidden, vocab_size)

        def forward(self, idx):
            out, _ = self.lstm(self.tok(idx))
            return self.head(out)

    if name == "gpt":
        return GPT()
    if name == "lstm":
        return LSTMModel()
    raise ValueError(f"unknown model {name!r}; expected 'gpt' or 'lstm'")


def loss_of(model, x, y):
    """Cross-entropy of the next character over all (batch, time) positions."""
    logits = model(x)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def param_groups(model, weight_decay):
    """AdamW groups: decay on matrices (linear weights, embeddings), none on biases and
    LayerNorm weights, as nanoGPT does."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


@strided.no_grad()
def estimate_loss(model, batches, iters):
    model.eval()
    losses = [loss_of(model, *batches()).item() for _ in range(iters)]
    model.train()
    return float(np.mean(losses))


@strided.no_grad()
def generate(model, idx, new_tokens, temperature=0.8, top_k=None, generator=None):
    """Extend idx (1, t) by new_tokens characters sampled one at a time from the model's
    distribution (divided by temperature, cut to the top_k most likely when given)."""
    model.eval()
    for _ in range(new_tokens):
        logits = model(idx[:, -model.block:])[:, -1, :] / temperature
        if top_k is not None:
            kth = strided.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = nn.functional.softmax(logits, dim=-1)
        nxt = strided.multinomial(probs, 1, generator=generator)
        idx = strided.cat([idx, nxt], dim=1)
    model.train()
    return idx


# ---- training ---------------------------------------------------------------------------

def progress(total, enabled):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:         # tqdm is in the examples extra; train without a bar
        return None
    return tqdm(total=total, leave=False, dynamic_ncols=True)


def train(args, vocab, train_data, val_data):
    gen = strided.Generator(args.seed)
    model = make_model(nn, args.model, len(vocab), block=args.block, n_layer=args.layers,
                       n_head=args.heads, n_embd=args.width, dropout=args.dropout,
                       hidden=args.hidden)
    train_batches = Batches(train_data, args.block, args.batch_size, gen)
    val_batches = Batches(val_data, args.block, args.batch_size, gen)
    optimizer = optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr,
                            betas=(0.9, 0.99))
    warmup = max(1, args.iters // 20)
    scheduler = optim.lr_scheduler.SequentialLR(optimizer, [
        optim.lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=warmup),
        optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.iters - warmup,
                                             eta_min=args.lr / 10)], milestones=[warmup])
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {n_params:,} parameters, vocabulary {len(vocab)}, block "
          f"{args.block}, batch {args.batch_size}, {len(train_data):,} train / "
          f"{len(val_data):,} validation characters, {strided.get_num_threads()} thread(s)")
    history = {"iter": [], "train_loss": [], "val_loss": []}
    bar = progress(args.iters, not args.quiet)
    start, running = time.perf_counter(), None
    for it in range(1, args.iters + 1):
        loss = loss_of(model, *train_batches())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        running = loss.item() if running is None else 0.9 * running + 0.1 * loss.item()
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{running:.3f}", refresh=False)
        if it % args.eval_every == 0 or it == args.iters:
            val = estimate_loss(model, val_batches, args.eval_iters)
            for key, value in zip(history, (it, running, val)):
                history[key].append(value)
            line = (f"iter {it:5d}/{args.iters}  train loss {running:.4f}  val loss {val:.4f}"
                    f"  {time.perf_counter() - start:6.1f} s")
            if bar is not None:
                bar.write(line)
            else:
                print(line, flush=True)
    if bar is not None:
        bar.close()
    return model, history


def save_plot(history, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e \".[examples]\")")
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(history["iter"], history["train_loss"], label="train (running mean)")
    ax.plot(history["iter"], history["val_loss"], label="validation")
    ax.set(xlabel="iteration", ylabel="cross-entropy (nats/char)", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"plot saved to {path}")


def sample_from_checkpoint(args):
    ckpt = strided.load(args.sample)
    vocab = Vocabulary(ckpt["chars"])
    model = make_model(nn, ckpt["model_name"], len(vocab), **ckpt["config"])
    model.load_state_dict(ckpt["model"])
    print(sample_text(model, vocab, args.prompt, args.sample_chars, args.seed))


def sample_text(model, vocab, prompt, n, seed):
    idx = strided.from_numpy(vocab.encode(prompt)).view(1, -1)
    out = generate(model, idx, n, top_k=20, generator=strided.Generator(seed))
    return vocab.decode(out[0].tolist())


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", choices=["gpt", "lstm"], default="gpt")
    p.add_argument("--iters", type=int, default=1000, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--block", type=int, default=64, help="context length in characters")
    p.add_argument("--layers", type=int, default=4, help="GPT blocks")
    p.add_argument("--heads", type=int, default=4, help="attention heads per block")
    p.add_argument("--width", type=int, default=128, help="embedding width")
    p.add_argument("--hidden", type=int, default=384, help="LSTM hidden size")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--eval-iters", type=int, default=20, help="batches per validation loss")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for strided's kernels (default: all cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("runs", "gpt"),
                   help="directory for the checkpoint and the plot")
    p.add_argument("--prompt", default="The ", help="text the sample starts from")
    p.add_argument("--sample-chars", type=int, default=400, help="characters to sample")
    p.add_argument("--sample", metavar="CHECKPOINT", default=None,
                   help="load a checkpoint saved by this script and only sample from it")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if min(args.iters, args.batch_size, args.block, args.layers, args.heads, args.width,
           args.hidden, args.eval_every, args.eval_iters) < 1 or args.lr <= 0:
        p.error("sizes and counts must be positive and --lr > 0")
    if args.width % args.heads:
        p.error(f"--width ({args.width}) must be divisible by --heads ({args.heads})")
    if not 0.0 <= args.dropout < 1.0:
        p.error("--dropout must be in [0, 1)")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads is not None:
        strided.set_num_threads(args.threads)
    if args.sample:
        return sample_from_checkpoint(args)
    strided.manual_seed(args.seed)
    text, source = load_corpus()
    vocab = Vocabulary(text)
    data = vocab.encode(text)
    split = int(0.9 * len(data))
    print(f"corpus: {source} ({len(text):,} characters)")
    model, history = train(args, vocab, data[:split], data[split:])

    os.makedirs(args.out, exist_ok=True)
    config = dict(block=args.block, n_layer=args.layers, n_head=args.heads,
                  n_embd=args.width, hidden=args.hidden)
    ckpt_path = os.path.join(args.out, f"{args.model}.ckpt")
    strided.save({"model": model.state_dict(), "model_name": args.model, "config": config,
                  "chars": "".join(vocab.chars), "history": history}, ckpt_path)
    print(f"checkpoint saved to {ckpt_path} (sample: python {sys.argv[0]} --sample "
          f"{ckpt_path} --prompt \"The \")")
    save_plot(history, os.path.join(args.out, f"{args.model}.png"),
              f"strided {args.model} on pydoc topics")
    print(f"final validation loss {history['val_loss'][-1]:.4f} nats/char")
    print("---- sample ----")
    print(sample_text(model, vocab, args.prompt, args.sample_chars, args.seed))
    return history["val_loss"][-1]


if __name__ == "__main__":
    main()
