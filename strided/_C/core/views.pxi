# View ops that need more than a few lines (included into tensor.pyx).  Each computes
# sizes/strides/offset on the C stack and calls _view(), i.e. make_tensor().

cdef Tensor _select(Tensor t, int d, int64_t index):
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef int i, j = 0
    if t._ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    cdef int64_t size = t._sizes[d]
    if index < -size or index >= size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{_shape_str(t._ndim, t._sizes)} at dimension {d}")
    if index < 0:
        index += size
    cdef int64_t offset = t._offset
    _advance(&offset, index, t._strides[d])
    for i in range(t._ndim):
        if i != d:
            sizes[j] = t._sizes[i]
            strides[j] = t._strides[i]
            j += 1
    return _view(t, t._ndim - 1, sizes, strides, offset, "select",
                 (d, index) if _recording(t) else None)


cdef Tensor _slice_dim(Tensor t, int d, int64_t start, int64_t length, int64_t step):
    """Dim d reduced to `length` elements start, start+step, ...; an empty slice keeps the
    offset of `start` (0 <= start <= size), as PyTorch's does."""
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef int64_t offset = t._offset
    _advance(&offset, start, t._strides[d])
    memcpy(sizes, t._sizes, t._ndim * sizeof(int64_t))
    memcpy(strides, t._strides, t._ndim * sizeof(int64_t))
    sizes[d] = length
    if mul_overflow(t._strides[d], step, &strides[d]):
        raise RuntimeError(f"slice step {step} times stride {t._strides[d]} overflows int64")
    return _view(t, t._ndim, sizes, strides, offset, "slice",
                 (d, start, length, step) if _recording(t) else None)


cdef Tensor _expand(Tensor t, object shape):
    cdef int64_t sizes[MAX_DIMS]
    cdef int n = _parse_ints(shape, sizes, "expand(): argument 'size'")
    return _expand_c(t, n, sizes)


cdef Tensor _expand_c(Tensor t, int n, int64_t* sizes):
    """t expanded to sizes[:n] (modified in place: -1 entries become t's sizes)."""
    cdef int64_t strides[MAX_DIMS]
    cdef int i, d, lead = n - t._ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({n}) must be greater or equal "
                           f"to the number of dimensions in the tensor ({t._ndim})")
    for i in range(n - 1, -1, -1):          # right to left: a new dim's stride reads the next's
        d = i - lead
        if d < 0:
            if sizes[i] < 0:
                raise RuntimeError(f"The expanded size of the tensor ({sizes[i]}) isn't allowed in "
                                   f"a leading, non-existing dimension {i}")
            # PyTorch's stride for a new size-1 dim: what unsqueeze would give it
            strides[i] = 0 if sizes[i] != 1 or t._ndim == 0 else sizes[i + 1] * strides[i + 1]
        elif sizes[i] == -1 or sizes[i] == t._sizes[d]:
            sizes[i] = t._sizes[d]
            strides[i] = t._strides[d]
        elif t._sizes[d] == 1:
            if sizes[i] < 0:
                raise RuntimeError(f"expand: invalid size {sizes[i]} at dimension {i}")
            strides[i] = 0
        else:
            raise RuntimeError(
                f"The expanded size of the tensor ({sizes[i]}) must match the existing size "
                f"({t._sizes[d]}) at non-singleton dimension {i}.  Target sizes: "
                f"{_shape_str(n, sizes)}.  Tensor sizes: {_shape_str(t._ndim, t._sizes)}")
    return _view(t, n, sizes, strides, t._offset, "expand")


cdef Tensor _permute_c(Tensor t, int n, const int64_t* perm):
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef bint seen[MAX_DIMS]
    cdef int i, d
    if n != t._ndim:
        raise RuntimeError(f"permute(): number of dimensions in the tensor input does not match "
                           f"the length of the desired ordering of dimensions i.e. input.dim() = "
                           f"{t._ndim} is not equal to len(dims) = {n}")
    for i in range(n):
        seen[i] = False
    for i in range(n):
        d = _wrap_dim_c(perm[i], n)
        if seen[d]:
            raise RuntimeError(f"permute(): duplicate dims are not allowed (dim {d} appears twice "
                               f"in {_shape_str(n, perm)})")
        seen[d] = True
        sizes[i] = t._sizes[d]
        strides[i] = t._strides[d]
    return _view(t, n, sizes, strides, t._offset, "permute",
                 tuple([_wrap_dim_c(perm[i], n) for i in range(n)]) if _recording(t) else None)


cdef Tensor _movedim(Tensor t, object source, object destination):
    cdef int64_t src[MAX_DIMS]
    cdef int64_t dst[MAX_DIMS]
    cdef int64_t order[MAX_DIMS]
    cdef bint taken[MAX_DIMS]
    if PyLong_Check(source):            # PyTorch's int form: out-of-range is a ValueError
        index_int64(source, "movedim(): argument 'source'")
    if PyLong_Check(destination):
        index_int64(destination, "movedim(): argument 'destination'")
    cdef int n = _parse_ints(source, src, "movedim(): argument 'source'")
    cdef int m = _parse_ints(destination, dst, "movedim(): argument 'destination'")
    cdef int i, s, d, k = 0, nd = t._ndim
    if n != m:
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({n} dims) "
                           f"should contain the same number of dims as destination ({m} dims)")
    for i in range(nd):
        order[i] = -1
        taken[i] = False
    for i in range(n):
        s = _wrap_dim(src[i], nd)
        d = _wrap_dim(dst[i], nd)
        if nd == 0:
            continue            # a 0-d tensor's only "dim" is 0 / -1: nothing moves
        if taken[s] or order[d] != -1:
            raise RuntimeError("movedim: repeated dim in `source` or `destination`")
        order[d] = s
        taken[s] = True
    for d in range(nd):
        if order[d] == -1:
            while taken[k]:
                k += 1
            order[d] = k
            taken[k] = True
    return _permute_c(t, nd, order)


cdef Tensor _squeeze(Tensor t, object dim):
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef int64_t dims[MAX_DIMS]
    cdef bint drop[MAX_DIMS]
    cdef int i, j = 0, n
    for i in range(t._ndim):
        drop[i] = dim is None and t._sizes[i] == 1
    if dim is not None:
        if PyLong_Check(dim):
            dims[0] = index_int64(dim, "squeeze(): argument 'dim'")
            n = 1
        else:
            n = _parse_ints(dim, dims, "squeeze(): argument 'dim'")
        for i in range(n):
            j = _wrap_dim(dims[i], t._ndim)
            if t._ndim:
                drop[j] = t._sizes[j] == 1
        j = 0
    for i in range(t._ndim):
        if not drop[i]:
            sizes[j] = t._sizes[i]
            strides[j] = t._strides[i]
            j += 1
    return _view(t, j, sizes, strides, t._offset, "squeeze", dim)


cdef Tensor _unfold(Tensor t, object dimension, int64_t size, int64_t step):
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef int d = _wrap_dim(dimension, t._ndim)
    cdef int64_t dim_size = t._sizes[d] if t._ndim else 1
    cdef int64_t dim_stride = t._strides[d] if t._ndim else 1
    if t._ndim + 1 > MAX_DIMS:
        raise ValueError(f"a tensor can have at most {MAX_DIMS} dimensions")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0 or size > dim_size:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {dim_size} but size is {size}")
    if t._ndim == 0:
        sizes[0] = size
        strides[0] = 1
        return _view(t, 1, sizes, strides, t._offset, "unfold",
                     (d, size, step) if _recording(t) else None)
    memcpy(sizes, t._sizes, t._ndim * sizeof(int64_t))
    memcpy(strides, t._strides, t._ndim * sizeof(int64_t))
    sizes[d] = (dim_size - size) // step + 1
    if mul_overflow(dim_stride, step, &strides[d]):
        raise RuntimeError(f"unfold step {step} times stride {dim_stride} overflows int64")
    sizes[t._ndim] = size
    strides[t._ndim] = dim_stride
    return _view(t, t._ndim + 1, sizes, strides, t._offset, "unfold",
                 (d, size, step) if _recording(t) else None)


cdef Tensor _diagonal(Tensor t, int64_t offset, object dim1, object dim2):
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    if t._ndim < 2:
        raise RuntimeError(f"diagonal dimensions requires ndim larger than 1, but got {t._ndim}")
    cdef int a = _wrap_dim(dim1, t._ndim), b = _wrap_dim(dim2, t._ndim), i, j = 0
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    cdef int64_t n, start = t._offset
    if offset >= 0:
        n = min(t._sizes[a], t._sizes[b] - offset)
        if n > 0:
            start += offset * t._strides[b]
    else:
        n = min(t._sizes[a] + offset, t._sizes[b])
        if n > 0:
            start -= offset * t._strides[a]
    if n < 0:
        n = 0
    for i in range(t._ndim):
        if i != a and i != b:
            sizes[j] = t._sizes[i]
            strides[j] = t._strides[i]
            j += 1
    sizes[j] = n
    strides[j] = t._strides[a] + t._strides[b]
    return _view(t, j + 1, sizes, strides, start, "diagonal",
                 (offset, a, b) if _recording(t) else None)


cdef tuple _split(Tensor t, object split_size_or_sections, object dim):
    """t split along dim into pieces of split_size (the last may be shorter) or of the given
    sizes; one multi-output backward node records them all (_record_pieces)."""
    cdef int d = _wrap_dim(dim, t._ndim)
    if not _recording(t):
        return _split_views(t, split_size_or_sections, d)
    return _record_pieces(t, d, "split" if PyLong_Check(split_size_or_sections) or
                          isinstance(split_size_or_sections, Tensor) else "split_with_sizes",
                          split_size_or_sections)


cdef tuple _record_pieces(Tensor t, int d, str op, object arg):
    """Pieces of t along d (split/unbind) made without per-piece history, then recorded as
    the outputs of one node, so backward builds t's gradient once (not once per piece)."""
    cdef bint prev = _set_grad_enabled(False)
    try:
        if op == "unbind":
            pieces = tuple([_select(t, d, i) for i in range(t._sizes[d])])
        else:
            pieces = _split_views(t, arg, d)
    finally:
        _set_grad_enabled(prev)
    _autograd().record_pieces(t, pieces, d, op)
    return pieces


cdef tuple _split_views(Tensor t, object split_size_or_sections, int d):
    cdef int64_t size, step, start = 0, total = 0
    if t._ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    size = t._sizes[d]
    if PyLong_Check(split_size_or_sections) or isinstance(split_size_or_sections, Tensor):
        step = index_int64(split_size_or_sections, "split(): argument 'split_size'")
        if step < 0 or (step == 0 and size != 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}" if step == 0 else
                               f"split expects split_size be non-negative, but got split_size={step}")
        if size == 0:
            return (_slice_dim(t, d, 0, 0, 1),)
        return tuple([_slice_dim(t, d, s, min(step, size - s), 1) for s in range(0, size, step)])
    sections = [_int64_element(_index(s), "split_with_sizes(): argument 'split_sizes'", i)
                for i, s in enumerate(split_size_or_sections)]
    for s in sections:
        if s < 0:
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={sections}")
        total += s
    if total != size:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input "
                           f"tensor's size at dimension {d}), but got split_sizes={sections}")
    out = []
    for s in sections:
        out.append(_slice_dim(t, d, start, s, 1))
        start += s
    return tuple(out)


cdef tuple _tensor_split(Tensor t, object indices_or_sections, object dim):
    cdef int d = _wrap_dim(dim, t._ndim)
    cdef int64_t size, n, q, r, i, start, end
    cdef Tensor idx
    if t._ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    size = t._sizes[d]
    if isinstance(indices_or_sections, Tensor):
        # PyTorch's tensor form: a 0-d tensor gives the number of sections, a 1-d one the
        # indices; either must hold integers
        idx = <Tensor>indices_or_sections
        if idx._dtype.num != INT64:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype "
                               f"of long, but got {_DTYPE_TITLE[idx._dtype.num].decode()}")
        if idx._ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a "
                               f"zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {idx._ndim} dims")
        indices_or_sections = idx.item() if idx._ndim == 0 else idx.tolist()
    if PyLong_Check(indices_or_sections):
        n = index_int64(indices_or_sections, "tensor_split(): argument 'sections'")
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        q = size // n
        r = size % n
        out = []
        start = 0
        for i in range(n):
            end = start + q + (1 if i < r else 0)
            out.append(_slice_dim(t, d, start, end - start, 1))
            start = end
        return tuple(out)
    bounds = [_int64_element(_index(b), "tensor_split(): argument 'indices'", i)
              for i, b in enumerate(indices_or_sections)]
    out = []
    start = 0
    for b in bounds + [size]:
        end = b + size if b < 0 else b
        end = max(0, min(end, size))
        s = min(start, size)
        out.append(_slice_dim(t, d, s, max(end - s, 0), 1))
        start = end
    return tuple(out)


cdef Tensor _flip_c(Tensor t, int n, const int64_t* which):
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef bint seen[MAX_DIMS]
    cdef int i, d
    cdef int64_t offset = t._offset
    memcpy(sizes, t._sizes, t._ndim * sizeof(int64_t))
    memcpy(strides, t._strides, t._ndim * sizeof(int64_t))
    for i in range(t._ndim):
        seen[i] = False
    for i in range(n):
        d = _wrap_dim_c(which[i], t._ndim)
        if t._ndim == 0:
            continue
        if seen[d]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen[d] = True
        if sizes[d] > 1:
            _advance(&offset, sizes[d] - 1, strides[d])
        strides[d] = -strides[d]
    return _view(t, t._ndim, sizes, strides, offset, "flip",
                 tuple([_wrap_dim_c(which[i], t._ndim) for i in range(n)])
                 if _recording(t) and t._ndim else None)


# ---- views and conveniences (issue 17): metadata changed in place, dtype views ------------

cdef int _set_layout(Tensor self, Tensor src) except -1:
    # NOTE [ In-place metadata changes ]
    # t_(), transpose_(), squeeze_(), unsqueeze_(), swapdims_(), as_strided_(), resize_(),
    # set_() and assigning .data change a tensor's own sizes, strides, offset (and for the
    # last three its storage), as in PyTorch.  They never write metadata themselves: the new
    # layout is built as a tensor by make_tensor() -- the one constructor, which checks it
    # against the storage (NOTE [ Bounds ]) and derives numel and contiguity -- and this
    # function copies that checked layout into self.  So the bounds invariant holds for
    # self exactly as for any view, and _numel/_contiguous stay derived.
    self._storage = src._storage
    self._dtype = src._dtype
    self._offset = src._offset
    self._numel = src._numel
    self._contiguous = src._contiguous
    if src._ndim > INLINE_DIMS:
        self._dims_buffer = bytearray(2 * src._ndim * sizeof(int64_t))
        self._sizes = <int64_t*><char*>self._dims_buffer
        self._strides = self._sizes + src._ndim
    else:
        self._sizes = self._inline
        self._strides = self._inline + INLINE_DIMS
        self._dims_buffer = None
    self._ndim = src._ndim
    memcpy(self._sizes, src._sizes, src._ndim * sizeof(int64_t))
    memcpy(self._strides, src._strides, src._ndim * sizeof(int64_t))
    return 0


cdef int _refuse_leaf_in_place(Tensor t) except -1:
    if grad_mode_enabled() and t._requires_grad and t._grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    return 0


cdef object _inplace_view(Tensor self, object op, str name, object args):
    """self's layout replaced by the view op(self) (NOTE [ In-place metadata changes ]).

    As in PyTorch: a leaf that requires grad refuses (under grad mode); a tensor with
    history gets the view row `name` (with `args`) on top of it, recorded from an alias
    standing for self's old identity; a piece of split/chunk/unbind refuses, since its
    multi-output node cannot be rewritten; the version counter is bumped."""
    cdef Tensor alias, v
    _refuse_leaf_in_place(self)
    if _recording(self):
        fn = self.grad_fn
        row = getattr(fn, "row", None)
        if row is not None and getattr(row, "op", None) == "pieces":
            raise RuntimeError(
                f"Output {self._output_nr} of {fn.name().replace('Backward0', '')} is a view "
                f"and is being modified inplace. This view is the output of a function that "
                f"returns multiple views. Such functions do not allow the output views to be "
                f"modified inplace. You should replace the inplace operation by an out-of-place "
                f"one.")
        alias = make_tensor(self._storage, self._ndim, self._sizes, self._strides,
                            self._offset, self)
        alias._base_tensor = self._base_tensor
        alias._grad_fn = fn
        alias._output_nr = self._output_nr
        alias._view_version = self._view_version
        prev = _set_grad_enabled(False)
        try:
            v = op(alias)
        finally:
            _set_grad_enabled(prev)
        _autograd().record_view(alias, v, name, args)
        _set_layout(self, v)
        self._grad_fn = v._grad_fn
        self._output_nr = v._output_nr
    else:
        prev = _set_grad_enabled(False)
        try:
            v = op(self)
        finally:
            _set_grad_enabled(prev)
        _set_layout(self, v)
    mark_written(self)
    self._view_version = self._storage._version
    return self


cdef object _resize(Tensor self, int n, int64_t* sizes):
    """resize_: contiguous strides over self's storage from self's offset; a storage too
    small is replaced by a larger one holding the old elements first (PyTorch grows its
    storage in place; here other tensors on the old storage keep it, NOTE [ Lifetime ])."""
    cdef int64_t strides[MAX_DIMS]
    cdef int64_t numel = 1, needed, nbytes
    cdef int d
    cdef Storage s
    if needs_grad(self):
        raise RuntimeError("cannot resize variables that require grad")
    for d in range(n):
        if sizes[d] < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {sizes[d]}: "
                               f"{_shape_str(n, sizes)}")
    if n == self._ndim and memcmp(sizes, self._sizes, n * sizeof(int64_t)) == 0:
        return self                         # the same sizes: nothing changes (strides kept)
    for d in range(n):
        if mul_overflow(numel, sizes[d], &numel) and not _has_zero(n, sizes):
            raise RuntimeError(f"Storage size calculation overflowed with sizes="
                               f"{_shape_str(n, sizes)}")
    if _has_zero(n, sizes):
        numel = 0
    if numel and (add_overflow(self._offset, numel, &needed) or
                  mul_overflow(needed, self._dtype.itemsize, &nbytes)):
        raise RuntimeError(f"Storage size calculation overflowed with sizes="
                           f"{_shape_str(n, sizes)}")
    if numel == 0:
        _check_empty_sizes(n, sizes)
    _contiguous_strides(n, sizes, strides)
    s = self._storage
    if numel > 0:
        if needed > s._size:
            refuse_read_only(self)
            s = new_storage(needed, self._dtype, True)
            memcpy(s.data, self._storage.data, self._storage._size * self._dtype.itemsize)
    if s is not self._storage:
        self._base_tensor = None          # a new storage: no longer a view of anything
    _set_layout(self, make_tensor(s, n, sizes, strides, self._offset, None))
    mark_written(self)
    return self


cdef object _set_(Tensor self, object source, object storage_offset, object size, object stride):
    """set_(): self views source's storage (a Tensor's, with its layout unless given, or a
    Storage) -- or a new empty storage when source is None."""
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef int n, m
    cdef int64_t off
    cdef Storage s
    cdef Tensor src
    if needs_grad(self):
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation." if self._grad_fn is None else
                           "set_: cannot set the storage of a tensor that requires grad")
    if source is None:
        s = new_storage(0, self._dtype, True)
        sizes[0] = 0
        strides[0] = 1
        _set_layout(self, make_tensor(s, 1, sizes, strides, 0, None))
    elif isinstance(source, Tensor) and size is None and stride is None and storage_offset is None:
        src = <Tensor>source
        if src._dtype is not self._dtype:
            raise RuntimeError(f"set_(): expected the source to have dtype {self._dtype.name}, "
                               f"but got {src._dtype.name}")
        _set_layout(self, src)
    else:
        if isinstance(source, Tensor):
            s = (<Tensor>source)._storage
        elif isinstance(source, Storage):
            s = <Storage>source
        else:
            raise TypeError(f"set_(): expected a Tensor or a Storage as source, but got "
                            f"{type(source).__name__}")
        if s.dtype is not self._dtype:
            raise RuntimeError(f"set_(): expected the source to have dtype {self._dtype.name}, "
                               f"but got {s.dtype.name}")
        off = 0 if storage_offset is None else index_int64(storage_offset,
                                                            "set_(): argument 'storage_offset'")
        if off < 0:
            raise RuntimeError(f"set_(): storage_offset must be non-negative, but got {off}")
        if size is None:
            sizes[0] = s._size - off if s._size > off else 0
            n = 1
        else:
            n = _parse_ints(size, sizes, "set_(): argument 'size'")
        if stride is None:
            _contiguous_strides(n, sizes, strides)
        else:
            m = _parse_ints(stride, strides, "set_(): argument 'stride'")
            if m != n:
                raise RuntimeError(f"mismatch in length of strides and shape: size has {n} "
                                   f"entries, stride has {m}")
        _set_layout(self, make_tensor(s, n, sizes, strides, off, None))
    self._base_tensor = None
    mark_written(self)
    return self


cdef Storage _reinterpret(Storage s, DType dt):
    """The memory of s as elements of dt (a Storage sharing it, keeping s alive)."""
    if s.dtype is dt:
        return s
    return wrap_memory(s.data, s._size * s.dtype.itemsize // dt.itemsize, dt, s, s.read_only)


cdef Tensor _view_dtype(Tensor t, DType dt):
    """view(dtype): t's memory read as dt (PyTorch's rules).  Same element size: any layout,
    sizes and strides kept.  A different size needs t.stride(-1) == 1; the last size (and,
    for a larger dt, the other strides and the offset) are scaled by the ratio."""
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef int64_t offset = t._offset, ratio
    cdef int d, n = t._ndim, old = t._dtype.itemsize, new = dt.itemsize
    cdef str what
    if dt is t._dtype:      # no gradient either (PyTorch's view(dtype) is not differentiable)
        return make_tensor(t._storage, n, t._sizes, t._strides, t._offset, t)
    memcpy(sizes, t._sizes, n * sizeof(int64_t))
    memcpy(strides, t._strides, n * sizeof(int64_t))
    if old != new:
        what = (f"to view {_DTYPE_TITLE[t._dtype.num].decode()} as "
                f"{_DTYPE_TITLE[dt.num].decode()} (different element sizes)")
        if n == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        if old > new:
            ratio = old // new
            if strides[n - 1] != 1:
                raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[n - 1]}")
            for d in range(n - 1):
                if mul_overflow(strides[d], ratio, &strides[d]):
                    raise RuntimeError(f"view(dtype): stride {t._strides[d]} overflows int64")
            if mul_overflow(sizes[n - 1], ratio, &sizes[n - 1]) or \
                    mul_overflow(offset, ratio, &offset):
                raise RuntimeError("view(dtype): the size or offset overflows int64")
        else:
            ratio = new // old
            if sizes[n - 1] % ratio:
                raise RuntimeError(f"self.size(-1) must be divisible by {ratio} {what}, but got "
                                   f"{sizes[n - 1]}")
            if offset % ratio:
                raise RuntimeError(f"self.storage_offset() must be divisible by {ratio} {what}, "
                                   f"but got {offset}")
            if strides[n - 1] != 1:
                raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[n - 1]}")
            for d in range(n - 1):
                if strides[d] % ratio:
                    raise RuntimeError(f"self.stride({d}) must be divisible by {ratio} {what}, "
                                       f"but got {strides[d]}")
                strides[d] //= ratio
            sizes[n - 1] //= ratio
            offset //= ratio
    return make_tensor(_reinterpret(t._storage, dt), n, sizes, strides, offset, t)


cdef tuple _LEGACY_TYPE_NAMES = ("BoolTensor", "ByteTensor", "IntTensor", "LongTensor",
                                 "FloatTensor", "DoubleTensor")


cdef DType _legacy_type(str name):
    """'strided.FloatTensor', 'torch.FloatTensor' or 'FloatTensor' -> float32, ..."""
    cdef int i
    base = name.rpartition(".")[2]
    for i in range(6):
        if _LEGACY_TYPE_NAMES[i] == base and name in (base, "strided." + base, "torch." + base):
            return dtype_from_num(i)
    raise ValueError(f"invalid type: '{name}'")


cdef object _legacy_new(tuple args, DType dt, str name):
    """What PyTorch's legacy constructors build: no args, an empty tensor; sizes (ints), an
    uninitialised tensor of that shape; data (a sequence or array), a copy in dtype dt; a
    tensor of dtype dt, that tensor."""
    if len(args) == 0:
        return _empty((0,), dt, True)
    if len(args) == 1 and isinstance(args[0], Tensor):
        if (<Tensor>args[0])._dtype is not dt:
            raise TypeError(f"expected {dt.name} (got {(<Tensor>args[0])._dtype.name}) for "
                            f"{name}(tensor)")
        return args[0]
    if len(args) == 1 and isinstance(args[0], _Size):
        args = tuple(args[0])                           # a Size gives sizes, as in PyTorch
    if all([_is_int_index(a) for a in args]):
        return _empty(args, dt, False)
    if len(args) == 1 and isinstance(args[0], (bool, int, float, np.generic)):
        raise TypeError(f"{name}(): data must be a sequence (got {type(args[0]).__name__})")
    if len(args) == 1 and not isinstance(args[0], (str, bytes)):
        return _tensor_from_data(args[0], dt)
    raise TypeError(f"{name}(): expected sizes (ints), a sequence of numbers or a tensor, "
                    f"but got {tuple([type(a).__name__ for a in args])}")


cdef object _maybe_requires_grad(Tensor t, object requires_grad):
    if requires_grad:
        t.requires_grad_()
    return t


def _legacy_tensor(tuple args, dtype, str name):
    """PyTorch's legacy constructors (strided.FloatTensor(...) and friends, in
    strided.creation): see _legacy_new."""
    return _legacy_new(args, as_dtype(dtype), name)


cdef extern from *:
    """
    static PyObject* strided_alloc_var(PyObject* type, Py_ssize_t n) {
        return ((PyTypeObject*)type)->tp_alloc((PyTypeObject*)type, n);
    }
    """
    object strided_alloc_var(PyObject* type, Py_ssize_t n)


cdef object _size_of(int ndim, const int64_t* sizes):
    """A strided.Size of sizes[:ndim], built as tuple's own constructor builds a subclass
    instance (tp_alloc, then the items), without the Python-level call tuple.__new__ costs."""
    cdef object out = strided_alloc_var(<PyObject*>_Size, ndim)
    cdef int d
    for d in range(ndim):
        v = PyLong_FromLongLong(sizes[d])
        Py_INCREF(v)                        # PyTuple_SET_ITEM steals a reference
        PyTuple_SET_ITEM(out, d, v)
    return out
