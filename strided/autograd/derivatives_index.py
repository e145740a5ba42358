"""Rows of the derivative table (NOTE [ Derivative table ]) for joining, gathering and
sorting: cat, stack, repeat, roll, tril / triu, gather, scatter, masked ops, sort, topk."""
from strided.autograd.broadcast import sum_to
from strided.autograd.record import derivative


def _cast(g, dtype):
    return g if g.dtype == dtype else g.to(dtype)


def _zeros(shape, dtype):
    from strided.creation import zeros
    return zeros(shape, dtype=dtype)


# ---- joining and reshaping ---------------------------------------------------------------------

@derivative("cat", "CatBackward0")
def _cat(ctx, g):
    """Each input's gradient is its slice (a narrow) of g; 1-d empties that cat skipped get
    zeros."""
    grads, offset = [], 0
    for i, n in enumerate(ctx.lengths):
        if n is None:
            grads.append(_zeros(ctx.shapes[i], ctx.dtypes[i]) if ctx.needs[i] else None)
            continue
        grads.append(_cast(g.narrow(ctx.dim, offset, n), ctx.dtypes[i]) if ctx.needs[i]
                     else None)
        offset += n
    return tuple(grads)


@derivative("stack", "StackBackward0")
def _stack(ctx, g):
    return tuple(_cast(g.select(ctx.dim, i), ctx.dtypes[i]) if ctx.needs[i] else None
                 for i in range(len(ctx.needs)))


@derivative("repeat", "RepeatBackward0")
def _repeat(ctx, g):
    """g viewed as (r0, s0, r1, s1, ...) summed over the repeats."""
    reps, shape = ctx.repeats, tuple(ctx.shapes[0])
    padded = (1,) * (len(reps) - len(shape)) + shape
    inter = []
    for r, s in zip(reps, padded):
        inter += [r, s]
    if not reps:
        return g.reshape(shape)
    summed = g.reshape(inter).sum(tuple(range(0, 2 * len(reps), 2)))
    return summed.reshape(shape)


@derivative("roll", "RollBackward0")
def _roll(ctx, g):
    shifts = tuple(-s for s in ctx.shifts)
    return g.roll(shifts[0] if ctx.dims is None else shifts, ctx.dims)


@derivative("tril", "TrilBackward0")
def _tril(ctx, g):
    return g.tril(ctx.diagonal)


@derivative("triu", "TriuBackward0")
def _triu(ctx, g):
    return g.triu(ctx.diagonal)


# ---- gathering and scattering --------------------------------------------------------------------

@derivative("gather", "GatherBackward0")
def _gather(ctx, g):
    """Each picked element's gradient goes back to where it was read (duplicates add)."""
    return _zeros(ctx.shapes[0], ctx.dtypes[0]).scatter_add_(ctx.dim, ctx.index, g)


def _src_grad(ctx, g):
    """g read at the indices, in src's shape (src may be larger than index: 0 beyond it)."""
    picked = g.gather(ctx.dim, ctx.index)
    shape = tuple(ctx.shapes[1])
    if tuple(picked.shape) == shape:
        return picked
    gs = _zeros(shape, picked.dtype)
    gs[tuple(slice(0, n) for n in picked.shape)] = picked
    return gs


@derivative("scatter", "ScatterBackward0")
def _scatter(ctx, g):
    """Overwritten elements of self get no gradient; src's is g read at the indices."""
    gx = g.scatter(ctx.dim, ctx.index, 0) if ctx.needs[0] else None
    gs = _src_grad(ctx, g) if ctx.needs[1] else None
    return gx, gs


@derivative("scatter_value", "ScatterBackward1")
def _scatter_value(ctx, g):
    return g.scatter(ctx.dim, ctx.index, 0)


@derivative("scatter_add", "ScatterAddBackward0")
def _scatter_add(ctx, g):
    return g, (_src_grad(ctx, g) if ctx.needs[1] else None)


@derivative("masked_fill",
            lambda ctx: "MaskedFillBackward1" if ctx.tensor_value else "MaskedFillBackward0")
def _masked_fill(ctx, g):
    gx = sum_to(g.masked_fill(ctx.mask, 0), ctx.shapes[0]) if ctx.needs[0] else None
    gv = None
    if ctx.needs[1]:
        gv = _cast(g.masked_fill(ctx.mask.logical_not(), 0).sum(), ctx.dtypes[1])
    return gx, gv


@derivative("masked_select", "MaskedSelectBackward0")
def _masked_select(ctx, g):
    from strided._C.core.tensor import broadcast_shapes
    shape = tuple(broadcast_shapes(tuple(ctx.shapes[0]), tuple(ctx.mask.shape)))
    return sum_to(_zeros(shape, g.dtype).masked_scatter(ctx.mask, g), ctx.shapes[0])


@derivative("masked_scatter", "MaskedScatterBackward0")
def _masked_scatter(ctx, g):
    """self's gradient is g off the mask; source's first k elements (k = ones in the
    mask) get g on the mask in row-major order, the rest 0."""
    from strided._C.ops.join import cat
    gx = sum_to(g.masked_fill(ctx.mask, 0), ctx.shapes[0]) if ctx.needs[0] else None
    gs = None
    if ctx.needs[1]:
        picked = g.masked_select(ctx.mask)
        n = 1
        for s in ctx.shapes[1]:
            n *= s
        rest = _zeros((n - picked.shape[0],), g.dtype)
        gs = cat([picked, rest]).reshape(ctx.shapes[1])
    return gx, gs


@derivative("index_put", "IndexPutBackward0")
def _index_put(ctx, g):
    """self's gradient is g, zero where values were written (unless accumulating); values'
    is g at the indices, summed over broadcasting."""
    gx = gv = None
    if ctx.needs[0]:
        gx = g
        if not ctx.accumulate:
            gx = g.clone()
            gx[ctx.index] = 0
    if ctx.needs[1]:
        gv = sum_to(g[ctx.index], ctx.shapes[1])
    return gx, gv


# ---- sorting -------------------------------------------------------------------------------------

@derivative("sort", lambda ctx: ctx.node_name)
def _sort(ctx, g):
    """sort, topk, kthvalue: each value's gradient goes back to the position it came from."""
    idx = ctx.indices
    if not ctx.keepdim:
        idx, g = idx.unsqueeze(ctx.dim), g.unsqueeze(ctx.dim)
    return _zeros(ctx.shapes[0], ctx.dtypes[0]).scatter(ctx.dim, idx, g)


def _pad_to(t, shape):
    """t in the top-left corner of zeros of `shape` (t's shape fits inside)."""
    shape = tuple(shape)
    if tuple(t.shape) == shape:
        return t
    out = _zeros(shape, t.dtype)
    out[tuple(slice(0, n) for n in t.shape)] = t
    return out


@derivative("scatter_reduce", "ScatterReduceBackward0")
def _scatter_reduce(ctx, g):
    """PyTorch's scatter_reduce_backward: sum and mean pass g (divided by the counts for
    mean); prod multiplies by the product of the others (result / x); amax and amin share g
    evenly among the elements equal to the result."""
    dim, index, reduce = ctx.dim, ctx.index, ctx.reduce
    x, src, result = ctx.self, ctx.src, ctx.result
    src_part = src[tuple(slice(0, n) for n in index.shape)]
    written = _zeros(tuple(ctx.shapes[0]), g.dtype).scatter(dim, index, 1.0) != 0
    gx = gs = None
    if reduce == "sum":
        gx = g if ctx.include_self else g.masked_fill(written, 0)
        gs = g.gather(dim, index)
    elif reduce == "mean":
        n = _zeros(tuple(ctx.shapes[0]), g.dtype) + (1.0 if ctx.include_self else 0.0)
        n = n.scatter_add(dim, index, _zeros(tuple(index.shape), g.dtype) + 1.0)
        n = n.masked_fill(n == 0, 1.0)
        gx = g / n
        if not ctx.include_self:
            gx = gx.masked_fill(written, 0)
        gs = (g / n).gather(dim, index)
    elif reduce == "prod":
        if bool((x == 0).any()) or bool((src_part == 0).any()):
            raise RuntimeError("the derivative of scatter_reduce(reduce='prod') with zeros in "
                               "self or src is not implemented in strided")
        gr = g * result
        gx = gr / x
        if not ctx.include_self:
            gx = gx.masked_fill(written, 0)
        gs = gr.gather(dim, index) / src_part
    else:
        value = result.gather(dim, index)
        self_is = x == result
        if not ctx.include_self:
            self_is = self_is.logical_and(written.logical_not())
        src_is = src_part == value
        count = self_is.to(g.dtype).scatter_add(dim, index, src_is.to(g.dtype))
        share = g / count.masked_fill(count == 0, 1.0)
        gx = share.masked_fill(self_is.logical_not(), 0)
        gs = share.gather(dim, index).masked_fill(src_is.logical_not(), 0)
    return (gx if ctx.needs[0] else None,
            _pad_to(gs, ctx.shapes[1]) if ctx.needs[1] else None)


# ---- index_copy_, index_fill_, index_reduce_ (NOTE [ Slice scatters ]) ----------------------------

def _at_least_1d(t):
    return t.reshape(1) if t.ndim == 0 else t


@derivative("index_copy", "IndexCopyBackward0")
def _index_copy(ctx, g):
    """PyTorch's rows: self's gradient is g with the written slices zeroed; source's is g's
    slices at the indices (each duplicate gets its slice's gradient, as in PyTorch)."""
    gx = gs = None
    if ctx.needs[0]:
        gx = g.index_fill(ctx.dim, ctx.index, 0)
    if ctx.needs[1]:
        gs = _at_least_1d(g).index_select(ctx.dim, ctx.index).reshape(ctx.shapes[1])
        gs = _cast(gs, ctx.dtypes[1])
    return gx, gs


@derivative("index_fill",
            lambda ctx: "IndexFillBackward1" if ctx.tensor_value else "IndexFillBackward0")
def _index_fill(ctx, g):
    """self's gradient is g with the filled slices zeroed; a 0-d value tensor's is the sum
    of g over the filled slices (each counted once, however often its index repeats)."""
    gx = gv = None
    if ctx.needs[0]:
        gx = g.index_fill(ctx.dim, ctx.index, 0)
    if ctx.needs[1]:
        picked = _at_least_1d(g).index_select(ctx.dim, ctx.index.reshape(-1).unique())
        gv = _cast(picked.sum(), ctx.dtypes[1])
    return gx, gv


@derivative("index_reduce", "IndexReduceBackward0")
def _index_reduce(ctx, g):
    """PyTorch's index_reduce_backward.  mean: g divided by each slot's count.  prod: g
    times the product of the other factors, computed with zeros masked out (a source slot
    holding the only zero of its product gets the product of the rest; two or more zeros
    give 0).  amax / amin: g shared evenly among self's and source's elements equal to the
    result (self's counted even with include_self=False, as PyTorch does).  With
    include_self=False self's gradient is 0 in the slices written to."""
    dim, index, reduce = ctx.dim, ctx.index, ctx.reduce
    x, src, result = ctx.self, ctx.source, ctx.result
    shape0, shape1 = tuple(ctx.shapes[0]), tuple(ctx.shapes[1])
    g, x, result = _at_least_1d(g), _at_least_1d(x.detach()), _at_least_1d(result)
    src = _at_least_1d(src.detach())
    if reduce == "mean":
        n = _zeros(tuple(g.shape), g.dtype) + (1.0 if ctx.include_self else 0.0)
        n = n.index_add(dim, index, _zeros(tuple(src.shape), g.dtype) + 1.0)
        n = n.masked_fill(n == 0, 1.0)
        gx = g / n
        gs = g.index_select(dim, index) / n.index_select(dim, index)
    elif reduce == "prod":
        masked_x = x.masked_fill(x == 0, 1)
        gx = g * masked_x.index_reduce(dim, index, src, "prod",
                                       include_self=ctx.include_self) / masked_x
        src_zero = src == 0
        zeros_per_slot = _zeros(tuple(x.shape), x.dtype).index_add(
            dim, index, src_zero.to(x.dtype)).index_select(dim, index)
        single_zero = src_zero & (zeros_per_slot == 1)
        others = x.index_reduce(dim, index, src.masked_fill(single_zero, 1), "prod",
                                include_self=ctx.include_self)
        from strided._C.core.tensor import where
        gs = where(single_zero, (g * others).index_select(dim, index),
                   (g * result).index_select(dim, index) / src.masked_fill(src_zero, 1))
    else:
        x_is = (x == result).to(x.dtype)
        src_is = (src == result.index_select(dim, index)).to(x.dtype)
        share = g / x_is.index_add(dim, index, src_is)
        gx = x_is * share
        gs = src_is * share.index_select(dim, index)
    if not ctx.include_self:
        gx = gx.index_fill(dim, index, 0)
    gx = _cast(gx.reshape(shape0), ctx.dtypes[0]) if ctx.needs[0] else None
    gs = _cast(gs.reshape(shape1), ctx.dtypes[1]) if ctx.needs[1] else None
    return gx, gs
