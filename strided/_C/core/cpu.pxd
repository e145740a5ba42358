# The one place that knows the CPU (NOTE [ Instruction sets ] in cpu.pyx).
#
# Instruction-set levels, each including the ones below it.  Kernels built for a level run
# only when isa_level() is at least that level.
cdef enum:
    ISA_BASELINE = 0        # x86-64 (SSE2) or whatever the compiler targets by default
    ISA_AVX2 = 1            # AVX2 + FMA, ymm state saved by the OS
    ISA_AVX512 = 2          # AVX-512 F/DQ/BW/VL (Skylake-X and later), zmm state saved by the OS

# The level the kernels use: what the CPU (and OS) support, capped by STRIDED_ISA.  Fixed at
# import of strided._C.core.cpu.
cdef int isa_level() noexcept nogil

# What the CPU and OS support, without the cap.
cdef int isa_detected() noexcept nogil
