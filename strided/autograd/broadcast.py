"""Gradients of broadcast operands: shared by every backward formula that broadcasts."""


def sum_to(g, shape):
    """g summed over the dims that broadcasting added or expanded from size 1 to reach g's
    shape from `shape` (the gradient of a broadcast input)."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    lead = g.ndim - len(shape)
    dims = list(range(lead))
    dims += [lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1]
    if dims:
        g = g.sum(dims, keepdim=True)
    if lead:
        g = g.reshape(shape)
    return g
