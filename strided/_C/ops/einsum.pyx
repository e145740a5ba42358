# cython: wraparound=True, boundscheck=True
"""einsum: Einstein summation as a composition of diagonal, sum, permute, reshape, expand and
batched matrix products (bmm), so its history is theirs.

NOTE [ Einsum by pairwise contraction ]
The equation is parsed into one label list per operand (letters; the dims an ellipsis covers
get labels of their own, right-aligned so they broadcast).  Each operand first takes the
diagonal of a label it repeats and sums out the labels no one else needs.  Operands are then
contracted left to right, two at a time: labels both have and still needed later are batch
dims, labels both have and no longer needed are summed by the product, the rest are kept;
each pair becomes one bmm of (batch, kept_a, summed) x (batch, summed, kept_b).  The result's
leftover labels are summed and its dims permuted into the output's order.
"""
from strided._C.core.tensor import Tensor as _Tensor


cdef object _parse_operand(str sub, int ndim, int pos):
    """Labels of one operand: letters as themselves, ellipsis dims as -1, -2, ... from the
    right (so that they line up across operands)."""
    labels = []
    if "..." in sub:
        left, _, right = sub.partition("...")
        if "." in left or "." in right:
            raise RuntimeError("einsum(): found '.' for operand %d that is not part of any "
                               "ellipsis" % pos)
        n_ell = ndim - len(left) - len(right)
        if n_ell < 0:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({len(left) + len(right)}) is more than the number of "
                               f"dimensions ({ndim}) for operand {pos}")
        labels = list(left) + [-(n_ell - k) for k in range(n_ell)] + list(right)
    else:
        if "." in sub:
            raise RuntimeError("einsum(): found '.' for operand %d that is not part of any "
                               "ellipsis" % pos)
        if len(sub) != ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({len(sub)}) does not match the number of dimensions "
                               f"({ndim}) for operand {pos} and no ellipsis was given")
        labels = list(sub)
    for c in labels:
        if isinstance(c, str) and not c.isalpha():
            raise RuntimeError(f"einsum(): invalid subscript given in the equation string, "
                               f"subscripts must be in [a-zA-Z]")
    return labels


cdef tuple _take_diagonals(object t, list labels):
    """t with each repeated label reduced to its diagonal (one dim)."""
    while True:
        seen = {}
        for i, c in enumerate(labels):
            if c in seen:
                j = seen[c]
                if t.shape[i] != t.shape[j]:
                    raise RuntimeError(f"einsum(): subscript {c} is repeated for operand but "
                                       f"the sizes don't match, {t.shape[j]} != {t.shape[i]}")
                t = t.diagonal(0, j, i)              # the diagonal becomes the last dim
                labels = [x for k, x in enumerate(labels) if k != i and k != j] + [c]
                break
            seen[c] = i
        else:
            return t, labels


cdef tuple _sum_out(object t, list labels, set keep):
    dims = tuple(i for i, c in enumerate(labels) if c not in keep)
    if not dims:
        return t, labels
    return t.sum(dims), [c for c in labels if c in keep]


cdef object _size_of(dict sizes, object c, int n):
    """Record label c's size n (1 broadcasts); a clash raises."""
    old = sizes.get(c)
    if old is None or old == 1:
        sizes[c] = n
    elif n != 1 and n != old:
        raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                           f"(original->remapped): label {c} has sizes {old} and {n}")
    return sizes[c]


cdef tuple _contract(object a, list la, object b, list lb, set needed):
    """The product of a and b summed over their shared labels not in `needed`."""
    sizes = {}
    for c, n in zip(la, a.shape):
        _size_of(sizes, c, n)
    for c, n in zip(lb, b.shape):
        _size_of(sizes, c, n)
    batch = [c for c in la if c in lb and c in needed]
    summed = [c for c in la if c in lb and c not in needed]
    keep_a = [c for c in la if c not in lb]
    keep_b = [c for c in lb if c not in la]
    # a label only one side has, not needed later, was summed out before; shared labels of
    # size 1 on one side broadcast
    a = a.permute([la.index(c) for c in batch + keep_a + summed])
    b = b.permute([lb.index(c) for c in batch + summed + keep_b])
    a = a.expand([sizes[c] for c in batch] + list(a.shape[len(batch):len(batch) + len(keep_a)])
                 + [sizes[c] for c in summed])
    b = b.expand([sizes[c] for c in batch] + [sizes[c] for c in summed]
                 + list(b.shape[len(batch) + len(summed):]))
    nb = 1
    for c in batch:
        nb *= sizes[c]
    m = 1
    for n in a.shape[len(batch):len(batch) + len(keep_a)]:
        m *= n
    k = 1
    for c in summed:
        k *= sizes[c]
    n_ = 1
    for n in b.shape[len(batch) + len(summed):]:
        n_ *= n
    shape = ([sizes[c] for c in batch] + list(a.shape[len(batch):len(batch) + len(keep_a)]) +
             list(b.shape[len(batch) + len(summed):]))
    r = a.reshape(nb, m, k).bmm(b.reshape(nb, k, n_)).reshape(shape)
    return r, batch + keep_a + keep_b


def einsum(equation, *operands):
    """einsum(equation, *operands) -> Tensor

    Einstein summation: "ij,jk->ik" is a matrix product, "ii->i" a diagonal, "bij->bji" a
    transpose, "...ij,...jk" batched products (an ellipsis covers dims that broadcast).
    Without "->" the output is the ellipsis dims then the letters used once, sorted.
    Operands may also be given as one list.

    >>> a = strided.ones(2, 3); b = strided.ones(3, 4)
    >>> tuple(strided.einsum("ij,jk->ik", a, b).shape)
    (2, 4)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): argument 'equation' must be str, not "
                        f"{type(equation).__name__}")
    for t in operands:
        if not isinstance(t, _Tensor):
            raise TypeError(f"einsum(): operands must be Tensors, not {type(t).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(subs) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    labels = [_parse_operand(s, t.ndim, i) for i, (s, t) in enumerate(zip(subs, operands))]
    n_ell = max([sum(1 for c in l if not isinstance(c, str)) for l in labels] + [0])
    ell = [-(n_ell - k) for k in range(n_ell)]
    if arrow:
        if "..." in rhs:
            left, _, right = rhs.partition("...")
            out = list(left) + ell + list(right)
        else:
            out = list(rhs)                     # ellipsis dims, if any, are summed
        for i, c in enumerate(out):
            if isinstance(c, str):
                if not c.isalpha():
                    raise RuntimeError("einsum(): invalid subscript given in the output, "
                                       "subscripts must be in [a-zA-Z]")
                if out.count(c) > 1:
                    raise RuntimeError(f"einsum(): output subscript {c} appears more than "
                                       f"once in the output")
                if not any(c in l for l in labels):
                    raise RuntimeError(f"einsum(): output subscript {c} does not appear in "
                                       f"the equation for any input operand")
    else:
        counts = {}
        for l in labels:
            for c in l:
                if isinstance(c, str):
                    counts[c] = counts.get(c, 0) + 1
        out = ell + sorted(c for c, n in counts.items() if n == 1)
    # each operand: diagonals, then labels nobody else needs summed out
    ts = list(operands)
    for i in range(len(ts)):
        ts[i], labels[i] = _take_diagonals(ts[i], labels[i])
        others = set(out)
        for j, l in enumerate(labels):
            if j != i:
                others.update(l)
        ts[i], labels[i] = _sum_out(ts[i], labels[i], others)
    r, lr = ts[0], labels[0]
    for i in range(1, len(ts)):
        needed = set(out)
        for l in labels[i + 1:]:
            needed.update(l)
        # labels only r has and no one needs any more
        r, lr = _sum_out(r, lr, needed | set(labels[i]))
        r, lr = _contract(r, lr, ts[i], labels[i], needed)
    r, lr = _sum_out(r, lr, set(out))
    # output labels of broadcast ellipsis dims missing from the result: size 1
    for c in out:
        if c not in lr:
            r = r.unsqueeze(-1)
            lr = lr + [c]
    if lr != out:
        r = r.permute([lr.index(c) for c in out])
    return r
