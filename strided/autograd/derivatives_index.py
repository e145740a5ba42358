"""Rows of the derivative table (NOTE [ Derivative table ]) for joining, gathering and
sorting: cat, stack, repeat, roll, tril / triu, gather, scatter, masked ops, sort, topk."""
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
