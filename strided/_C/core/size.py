"""Size: the type of Tensor.shape and Tensor.size(), PyTorch's torch.Size.

A tuple of ints (it compares equal to tuples, hashes, unpacks and pickles like one) with
numel() and PyTorch's repr; slicing it or adding a tuple to it gives a Size again.
"""


class Size(tuple):
    """Size(iterable of ints): a tensor's sizes, a tuple subclass.

    >>> strided.zeros(2, 3).shape
    strided.Size([2, 3])
    >>> strided.Size([2, 3]).numel()
    6
    """
    __slots__ = ()

    def numel(self) -> int:
        """The number of elements a tensor of this size holds (1 for Size([]))."""
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"strided.Size({list(self)!r})"

    def __getitem__(self, index):
        r = tuple.__getitem__(self, index)
        return Size(r) if isinstance(index, slice) else r

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        r = tuple.__mul__(self, n)
        return r if r is NotImplemented else Size(r)

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))
