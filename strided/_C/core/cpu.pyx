"""The CPU's instruction sets, checked once, and the cap STRIDED_ISA puts on them.

NOTE [ Instruction sets ]
At import, cpuid says which instructions the CPU has and xgetbv whether the operating system
saves the registers they use (an OS that does not save the upper halves of ymm / zmm across
context switches makes AVX / AVX-512 code unusable even on a CPU that has it).  From that
one answer, three levels (cpu.pxd): baseline, avx2 (AVX2 + FMA), avx512 (AVX-512 F, DQ, BW,
VL: the Skylake-X set every AVX-512 CPU since has).  Every kernel family picks its build
from isa_level(), never from its own check:
  - the GEMM one kernel table per level (NOTE [ GEMM kernel tables ] in kernels/gemm.pyx);
  - element-wise, reductions, losses, optimizers their AVX2 build (NOTE [ Kernel dispatch ]
    in kernels/elementwise.pyx) at avx2 and above.
The environment variable STRIDED_ISA=baseline|avx2|avx512 caps the level (it never raises
it above what the CPU has): for comparing builds, or to rule a kernel out.  Any other value
makes the import of strided fail with a message naming the variable and the accepted
values -- a typo silently ignored would measure or test the wrong kernels.  Unset or empty:
no cap.  strided.show_config() prints what was found and chosen.
"""
import os

cdef extern from *:
    """
    #include <string.h>
    #if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    #include <cpuid.h>
    #define STRIDED_X86 1
    #else
    #define STRIDED_X86 0
    #endif

    typedef struct {
        unsigned int leaf1_ecx, leaf1_edx, leaf7_ebx, leaf7_ecx, leaf7_edx, leaf7_1_eax;
        unsigned long long xcr0;
        char brand[49];
    } strided_cpuid_t;

    static void strided_cpuid_read(strided_cpuid_t* r)
    {
        memset(r, 0, sizeof *r);
    #if STRIDED_X86
        unsigned int a, b, c, d, max_leaf, max_ext, i;
        max_leaf = __get_cpuid_max(0, NULL);
        if (max_leaf >= 1 && __get_cpuid(1, &a, &b, &c, &d)) {
            r->leaf1_ecx = c;
            r->leaf1_edx = d;
        }
        if (max_leaf >= 7) {
            __cpuid_count(7, 0, a, b, c, d);
            r->leaf7_ebx = b;
            r->leaf7_ecx = c;
            r->leaf7_edx = d;
            if (a >= 1) {
                __cpuid_count(7, 1, a, b, c, d);
                r->leaf7_1_eax = a;
            }
        }
        if (r->leaf1_ecx & (1u << 27)) {       /* OSXSAVE: xgetbv may be executed */
            unsigned int lo, hi;
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            r->xcr0 = ((unsigned long long)hi << 32) | lo;
        }
        max_ext = __get_cpuid_max(0x80000000u, NULL);
        if (max_ext >= 0x80000004u) {
            for (i = 0; i < 3; i++) {
                __cpuid(0x80000002u + i, a, b, c, d);
                memcpy(r->brand + 16 * i, &a, 4);
                memcpy(r->brand + 16 * i + 4, &b, 4);
                memcpy(r->brand + 16 * i + 8, &c, 4);
                memcpy(r->brand + 16 * i + 12, &d, 4);
            }
        }
    #endif
    }
    """
    ctypedef struct strided_cpuid_t:
        unsigned int leaf1_ecx, leaf1_edx, leaf7_ebx, leaf7_ecx, leaf7_edx, leaf7_1_eax
        unsigned long long xcr0
        char brand[49]
    void strided_cpuid_read(strided_cpuid_t* r) noexcept nogil
    int STRIDED_X86

ISA_NAMES = ("baseline", "avx2", "avx512")

# (name, register, bit) of the features worth reporting; the ISA levels use some of them
_FEATURE_BITS = (
    ("sse4_2", "leaf1_ecx", 20), ("avx", "leaf1_ecx", 28), ("fma", "leaf1_ecx", 12),
    ("f16c", "leaf1_ecx", 29), ("avx2", "leaf7_ebx", 5), ("bmi2", "leaf7_ebx", 8),
    ("avx512f", "leaf7_ebx", 16), ("avx512dq", "leaf7_ebx", 17), ("avx512cd", "leaf7_ebx", 28),
    ("avx512bw", "leaf7_ebx", 30), ("avx512vl", "leaf7_ebx", 31),
    ("avx512ifma", "leaf7_ebx", 21), ("avx512vbmi", "leaf7_ecx", 1),
    ("avx512_vnni", "leaf7_ecx", 11), ("avx512_bf16", "leaf7_1_eax", 5),
    ("avx512_fp16", "leaf7_edx", 23), ("avx_vnni", "leaf7_1_eax", 4),
    ("amx_tile", "leaf7_edx", 24), ("amx_bf16", "leaf7_edx", 22), ("amx_int8", "leaf7_edx", 25),
)

cdef int _detected = ISA_BASELINE
cdef int _level = ISA_BASELINE
_features = {}
_brand = ""
_cap = None


def _parse_cap(value):
    """The level STRIDED_ISA names (None when unset or empty); ValueError for anything else."""
    if value is None or value.strip() == "":
        return None
    name = value.strip().lower()
    if name not in ISA_NAMES:
        raise ValueError(f"STRIDED_ISA={value!r} is not one of {', '.join(ISA_NAMES)} "
                         f"(unset it to use everything the CPU has)")
    return ISA_NAMES.index(name)


def _detect():
    global _detected, _level, _features, _brand, _cap
    cdef strided_cpuid_t r
    strided_cpuid_read(&r)
    regs = {"leaf1_ecx": r.leaf1_ecx, "leaf7_ebx": r.leaf7_ebx, "leaf7_ecx": r.leaf7_ecx,
            "leaf7_edx": r.leaf7_edx, "leaf7_1_eax": r.leaf7_1_eax}
    feats = {name: bool(regs[reg] >> bit & 1) for name, reg, bit in _FEATURE_BITS}
    # XCR0: bits 1-2 SSE and ymm state; 5-7 opmask and the two halves of the zmm state
    feats["os_ymm"] = (r.xcr0 & 0x6) == 0x6
    feats["os_zmm"] = (r.xcr0 & 0xE6) == 0xE6
    level = ISA_BASELINE
    if feats["avx"] and feats["avx2"] and feats["fma"] and feats["os_ymm"]:
        level = ISA_AVX2
        if all(feats[f] for f in ("avx512f", "avx512dq", "avx512bw", "avx512vl", "os_zmm")):
            level = ISA_AVX512
    _features = feats if STRIDED_X86 else {}
    _brand = r.brand.decode("ascii", "replace").strip() if STRIDED_X86 else ""
    _detected = level
    _cap = _parse_cap(os.environ.get("STRIDED_ISA"))
    _level = level if _cap is None or _cap > level else _cap


_detect()


cdef int isa_level() noexcept nogil:
    return _level


cdef int isa_detected() noexcept nogil:
    return _detected


def isa():
    """The instruction-set level the kernels use: "baseline", "avx2" or "avx512"."""
    return ISA_NAMES[_level]


def detected_isa():
    """The highest level the CPU and OS support, whatever STRIDED_ISA says."""
    return ISA_NAMES[_detected]


def isa_cap():
    """The level STRIDED_ISA caps at, or None."""
    return None if _cap is None else ISA_NAMES[_cap]


def features():
    """{feature name: present} for the x86 features strided reports (empty on other CPUs);
    os_ymm / os_zmm: the OS saves the AVX / AVX-512 registers."""
    return dict(_features)


def cpu_name():
    """The CPU's brand string (cpuid), or the platform's processor name."""
    if _brand:
        return _brand
    import platform
    return platform.processor() or platform.machine()
