"""DLPack exchange: Tensor.__dlpack__ / __dlpack_device__ and strided.from_dlpack.

Both directions share memory.  Exported capsules hold a reference to the tensor (so its
storage outlives the consumer's use); imported tensors hold the producer's managed tensor
and call its deleter when their Storage dies.  Versioned (DLPack >= 1.0) and legacy
capsules are produced and accepted.  Read-only memory stays read-only both ways (NOTE
[ Read-only storage ] in convert.pxi).
"""
from cpython.pycapsule cimport (PyCapsule_New, PyCapsule_IsValid, PyCapsule_GetPointer,
                                PyCapsule_SetName, PyCapsule_CheckExact)
from cpython.ref cimport Py_INCREF, Py_DECREF, PyObject
from libc.stdint cimport int64_t, int32_t, uint8_t, uint16_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport malloc, free

from strided._C.core.dtypes cimport DType, dtype_from_num, BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.core.storage cimport Storage, wrap_memory
from strided._C.core.tensor cimport Tensor, make_tensor, data_of, element_extent
from strided._C.core.iterator cimport MAX_DIMS

cdef extern from *:
    """
    typedef struct { int32_t device_type; int32_t device_id; } DLDevice;
    typedef struct { uint8_t code; uint8_t bits; uint16_t lanes; } DLDataType;
    typedef struct {
        void *data; DLDevice device; int32_t ndim; DLDataType dtype;
        int64_t *shape; int64_t *strides; uint64_t byte_offset;
    } DLTensor;
    typedef struct DLManagedTensor {
        DLTensor dl_tensor; void *manager_ctx; void (*deleter)(struct DLManagedTensor *);
    } DLManagedTensor;
    typedef struct { uint32_t major; uint32_t minor; } DLPackVersion;
    typedef struct DLManagedTensorVersioned {
        DLPackVersion version; void *manager_ctx;
        void (*deleter)(struct DLManagedTensorVersioned *); uint64_t flags; DLTensor dl_tensor;
    } DLManagedTensorVersioned;
    """
    ctypedef struct DLDevice:
        int32_t device_type
        int32_t device_id
    ctypedef struct DLDataType:
        uint8_t code
        uint8_t bits
        uint16_t lanes
    ctypedef struct DLTensor:
        void* data
        DLDevice device
        int32_t ndim
        DLDataType dtype
        int64_t* shape
        int64_t* strides
        uint64_t byte_offset
    ctypedef struct DLManagedTensor:
        DLTensor dl_tensor
        void* manager_ctx
        void (*deleter)(DLManagedTensor*) noexcept
    ctypedef struct DLPackVersion:
        uint32_t major
        uint32_t minor
    ctypedef struct DLManagedTensorVersioned:
        DLPackVersion version
        void* manager_ctx
        void (*deleter)(DLManagedTensorVersioned*) noexcept
        uint64_t flags
        DLTensor dl_tensor

cdef enum:
    kDLCPU = 1
    kDLCUDAHost = 3
    kDLInt = 0
    kDLUInt = 1
    kDLFloat = 2
    kDLBool = 6
    FLAG_READ_ONLY = 1

# (code, bits) for each ScalarType
cdef uint8_t _CODE[6]
cdef uint8_t _BITS[6]
_CODE[:] = [kDLBool, kDLUInt, kDLInt, kDLInt, kDLFloat, kDLFloat]
_BITS[:] = [8, 8, 32, 64, 32, 64]


# ---- export -----------------------------------------------------------------------------

cdef struct Export:
    # one allocation: the managed tensor (either kind) followed by shape and strides
    DLManagedTensor legacy
    DLManagedTensorVersioned versioned
    PyObject* tensor                  # a reference we own until the deleter runs
    int64_t layout[2 * MAX_DIMS]


cdef void _release(void* ctx) noexcept with gil:
    cdef Export* e = <Export*>ctx
    Py_DECREF(<object>e.tensor)
    free(e)


cdef void _delete_legacy(DLManagedTensor* m) noexcept with gil:
    _release(m.manager_ctx)


cdef void _delete_versioned(DLManagedTensorVersioned* m) noexcept with gil:
    _release(m.manager_ctx)


cdef void _capsule_destructor_legacy(object capsule) noexcept:
    cdef DLManagedTensor* m
    if PyCapsule_IsValid(capsule, b"dltensor"):       # never consumed
        m = <DLManagedTensor*>PyCapsule_GetPointer(capsule, b"dltensor")
        m.deleter(m)


cdef void _capsule_destructor_versioned(object capsule) noexcept:
    cdef DLManagedTensorVersioned* m
    if PyCapsule_IsValid(capsule, b"dltensor_versioned"):
        m = <DLManagedTensorVersioned*>PyCapsule_GetPointer(capsule, b"dltensor_versioned")
        m.deleter(m)


def to_dlpack(Tensor t, stream=None, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule sharing t's memory (a copy when copy=True)."""
    cdef int d
    if stream is not None:
        raise BufferError(f"strided tensors live on the CPU; stream must be None, got {stream!r}")
    if dl_device is not None and tuple(dl_device) != (kDLCPU, 0):
        raise BufferError(f"strided tensors live on the CPU (device (1, 0)); cannot export to "
                          f"device {tuple(dl_device)}")
    if copy:
        t = t.clone()
    versioned = max_version is not None and tuple(max_version)[0] >= 1
    if t._storage.read_only and not versioned:
        # a legacy capsule cannot say "read-only", and its consumer would write (NumPy
        # refuses the same way)
        raise BufferError("cannot export a read-only tensor as a legacy (pre-1.0) DLPack "
                          "capsule, which cannot mark it read-only; ask for max_version=(1, 0) "
                          "or copy=True")
    for d in range(t._ndim):
        if t._strides[d] < 0 and t._sizes[d] > 1:
            # NOTE [ DLPack and negative strides ]: DLPack's strides are signed, but
            # consumers do not all cope: PyTorch cannot represent them and (2.x) aborts the
            # whole process from inside from_dlpack.  Refusing here is the safe answer.
            raise BufferError(
                f"cannot export a tensor with negative strides {t.stride()} through DLPack "
                f"(it comes from flip or a negative-step slice); consumers such as PyTorch "
                f"cannot represent negative strides. Call .contiguous() first.")
    cdef Export* e = <Export*>malloc(sizeof(Export))
    if e == NULL:
        raise MemoryError()
    cdef int nd = t._ndim
    cdef int64_t inner = 1
    cdef bint readonly = False
    cdef DLTensor* dl
    for d in range(nd - 1, -1, -1):
        e.layout[d] = t._sizes[d]
        # size-1 dims get the contiguous stride so consumers' contiguity checks pass
        e.layout[MAX_DIMS + d] = inner if t._sizes[d] == 1 else t._strides[d]
        inner = e.layout[MAX_DIMS + d] * t._sizes[d] if t._sizes[d] else inner
        readonly = readonly or (t._strides[d] == 0 and t._sizes[d] > 1)
    readonly = readonly or t._storage.read_only
    dl = &e.versioned.dl_tensor if versioned else &e.legacy.dl_tensor
    dl.data = data_of(t)
    dl.device.device_type = kDLCPU
    dl.device.device_id = 0
    dl.ndim = nd
    dl.dtype.code = _CODE[t._dtype.num]
    dl.dtype.bits = _BITS[t._dtype.num]
    dl.dtype.lanes = 1
    dl.shape = e.layout
    dl.strides = e.layout + MAX_DIMS
    dl.byte_offset = 0
    Py_INCREF(t)
    e.tensor = <PyObject*>t
    if versioned:
        e.versioned.version.major = 1
        e.versioned.version.minor = 0
        e.versioned.manager_ctx = e
        e.versioned.deleter = _delete_versioned
        e.versioned.flags = FLAG_READ_ONLY if readonly else 0
        return PyCapsule_New(&e.versioned, b"dltensor_versioned", _capsule_destructor_versioned)
    e.legacy.manager_ctx = e
    e.legacy.deleter = _delete_legacy
    return PyCapsule_New(&e.legacy, b"dltensor", _capsule_destructor_legacy)


# ---- import -----------------------------------------------------------------------------

cdef class _DLPackOwner:
    """Keeps an imported DLPack tensor alive; calls the producer's deleter when collected."""
    cdef DLManagedTensor* legacy
    cdef DLManagedTensorVersioned* versioned

    def __dealloc__(self):
        if self.versioned != NULL and self.versioned.deleter != NULL:
            self.versioned.deleter(self.versioned)
        elif self.legacy != NULL and self.legacy.deleter != NULL:
            self.legacy.deleter(self.legacy)


cdef int _scalar_type(DLDataType t) except -1:
    if t.lanes == 1:
        for num in range(6):
            if _CODE[num] == t.code and _BITS[num] == t.bits:
                return num
        if t.code == kDLUInt and t.bits == 8:
            return UINT8
    raise TypeError(f"DLPack dtype (code={t.code}, bits={t.bits}, lanes={t.lanes}) is not supported; "
                    f"strided supports bool, uint8, int32, int64, float32 and float64")


def from_dlpack(ext, *, copy=None):
    """A tensor sharing memory with a DLPack producer (an object with __dlpack__, e.g. a
    torch tensor or numpy array, or a DLPack capsule).  Memory the producer marks read-only
    (versioned capsules: a read-only NumPy array, say) gives a read-only tensor; copy=True
    gives a writable copy instead (copy=False or None: always share)."""
    if copy:
        return from_dlpack(ext).clone()
    if isinstance(ext, Tensor):
        return ext
    if hasattr(ext, "__dlpack__"):
        if hasattr(ext, "__dlpack_device__"):
            dev = tuple(ext.__dlpack_device__())
            if dev[0] not in (kDLCPU, kDLCUDAHost):
                raise BufferError(f"from_dlpack: strided reads CPU memory only, but the producer "
                                  f"lives on DLPack device {dev}")
        try:
            capsule = ext.__dlpack__(max_version=(1, 0))
        except TypeError:
            capsule = ext.__dlpack__()
    elif PyCapsule_CheckExact(ext):
        capsule = ext
    else:
        raise TypeError(f"from_dlpack expects an object with __dlpack__ or a DLPack capsule, "
                        f"got {type(ext).__name__}")
    cdef _DLPackOwner owner = _DLPackOwner.__new__(_DLPackOwner)
    cdef DLTensor* dl
    cdef bint read_only = False          # legacy capsules cannot say; we trust them
    if PyCapsule_IsValid(capsule, b"dltensor_versioned"):
        owner.versioned = <DLManagedTensorVersioned*>PyCapsule_GetPointer(capsule, b"dltensor_versioned")
        if owner.versioned.version.major > 1:
            owner.versioned = NULL
            raise BufferError("from_dlpack: DLPack major version > 1 is not supported")
        dl = &owner.versioned.dl_tensor
        read_only = (owner.versioned.flags & FLAG_READ_ONLY) != 0
        PyCapsule_SetName(capsule, b"used_dltensor_versioned")
    elif PyCapsule_IsValid(capsule, b"dltensor"):
        owner.legacy = <DLManagedTensor*>PyCapsule_GetPointer(capsule, b"dltensor")
        dl = &owner.legacy.dl_tensor
        PyCapsule_SetName(capsule, b"used_dltensor")
    else:
        raise BufferError("from_dlpack: the capsule is not an unconsumed DLPack tensor")
    # from here on `owner` calls the producer's deleter, whatever goes wrong below
    if dl.device.device_type not in (kDLCPU, kDLCUDAHost):
        raise BufferError(f"from_dlpack: strided reads CPU memory only, but the tensor lives on "
                          f"DLPack device type {dl.device.device_type}")
    if dl.ndim < 0 or dl.ndim > MAX_DIMS:
        raise BufferError(f"from_dlpack: unsupported number of dimensions {dl.ndim}")
    cdef DType dtype = dtype_from_num(_scalar_type(dl.dtype))
    cdef int64_t strides[MAX_DIMS]
    cdef int64_t numel = 1, lo = 0, hi = 0, inner = 1
    cdef int d, nd = dl.ndim
    for d in range(nd - 1, -1, -1):
        strides[d] = dl.strides[d] if dl.strides != NULL else inner
        inner *= dl.shape[d] if dl.shape[d] > 0 else 1
    for d in range(nd):
        if dl.shape[d] < 0:
            raise BufferError(f"from_dlpack: negative size {dl.shape[d]} at dimension {d}")
        numel *= dl.shape[d]
    if numel:
        element_extent(nd, dl.shape, strides, &lo, &hi)
    cdef char* first = <char*>dl.data + dl.byte_offset
    storage = wrap_memory(first + lo * dtype.itemsize, (hi - lo + 1) if numel else 0, dtype, owner,
                          read_only)
    return make_tensor(storage, nd, dl.shape, strides, -lo if numel else 0, None)
