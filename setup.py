"""Build the Cython core (strided._C.*).

Environment switches:
  STRIDED_DEBUG=1   bounds checks and wraparound on in every kernel, -O0 -g (for tests)
  STRIDED_NATIVE=1  compile for this machine (-march=native); the default build is portable
"""
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

MODULES = ["dtypes", "storage", "threads", "iterator", "copy", "elementwise", "reduce", "tensor",
           "dlpack", "gemm", "linalg", "pool", "pooling", "conv", "norm", "loss", "index",
           "optim_kernels", "optim_updates"]

# NOTE [ Op table ] (strided/op_table.py): the GENERATED regions of the Cython sources are
# brought up to date first (files are rewritten only when a region changed)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
import gen_ops  # noqa: E402

gen_ops.apply()

DEBUG = os.environ.get("STRIDED_DEBUG") == "1"
NATIVE = os.environ.get("STRIDED_NATIVE") == "1"


OPENMP_PROGRAM = "#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n"
AVX2_PROGRAM = ("#include <immintrin.h>\nint main(void){__m256 x = _mm256_set1_ps(1.0f);\n"
                "x = _mm256_fmadd_ps(x, x, x); return (int)_mm256_cvtss_f32(x) != 2;}\n")


def compiler_accepts(flag, src):
    """True when the C compiler compiles and links the program `src` with `flag`."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc.split()[0]) is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.c")
        with open(path, "w") as f:
            f.write(src)
        cmd = cc.split() + flag.split() + [path, "-o", os.path.join(tmp, "t")]
        return subprocess.run(cmd, capture_output=True).returncode == 0


OPENMP = sys.platform != "win32" and compiler_accepts("-fopenmp", OPENMP_PROGRAM)
compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]
# -fwrapv: integer overflow wraps (PyTorch's semantics); -fno-math-errno and
# -fno-trapping-math let sqrt/fmin/... and branchy float loops vectorize (strided never
# reads errno or FP exception flags).  No -ffast-math: NaN and signed-zero rules hold.
compile_args += ["-fwrapv", "-fno-math-errno", "-fno-trapping-math",
                 "-Wno-unused-function", "-Wno-unreachable-code", "-Wno-maybe-uninitialized"]
if NATIVE:
    compile_args.append("-march=native")
link_args = []
if OPENMP:
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "nonecheck": False,
    "embedsignature": True,
    "warn.unreachable": False,      # fused-type branches make some code unreachable by design
}

# Kernels also built for AVX2 + FMA, chosen at run time on CPUs that have them
# (NOTE [ Kernel dispatch ] in strided/_C/elementwise.pyx).
ISA_MODULES = {}
if platform.machine().lower() in ("x86_64", "amd64") and compiler_accepts("-mavx2 -mfma", AVX2_PROGRAM):
    # no FP contraction: the AVX2 build rounds exactly like the baseline one (and NumPy)
    ISA_MODULES["elementwise_avx2"] = ["-mavx2", "-mfma", "-ffp-contract=off"]
    ISA_MODULES["reduce_avx2"] = ["-mavx2", "-mfma", "-ffp-contract=off"]
    ISA_MODULES["loss_avx2"] = ["-mavx2", "-mfma", "-ffp-contract=off"]
    ISA_MODULES["optim_kernels_avx2"] = ["-mavx2", "-mfma", "-ffp-contract=off"]

extensions = [
    Extension(
        f"strided._C.{name}",
        [f"strided/_C/{name}.pyx"],
        include_dirs=[numpy.get_include(), "strided/_C"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args + ISA_MODULES.get(name, []),
        extra_link_args=link_args,
    )
    for name in MODULES + list(ISA_MODULES)
]



class ParallelBuildExt(build_ext):
    """Compile the extension modules on every core (pip builds them one at a time)."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1


setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        nthreads=os.cpu_count() or 1,
    ),
    cmdclass={"build_ext": ParallelBuildExt},
)
