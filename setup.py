"""Build the Cython core (strided._C.*).

Environment switches:
  STRIDED_DEBUG=1   bounds checks and wraparound on in every kernel, -O0 -g (for tests)
  STRIDED_NATIVE=1  compile for this machine (-march=native); the default build is portable
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

MODULES = ["dtypes", "storage", "threads", "iterator", "copy", "tensor", "dlpack",
           "pool", "pooling"]

DEBUG = os.environ.get("STRIDED_DEBUG") == "1"
NATIVE = os.environ.get("STRIDED_NATIVE") == "1"


def compiler_accepts(flag):
    """True when the C compiler compiles and links a trivial OpenMP program with `flag`."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc.split()[0]) is None:
        return False
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.c")
        with open(path, "w") as f:
            f.write(src)
        cmd = cc.split() + [flag, path, "-o", os.path.join(tmp, "t")]
        return subprocess.run(cmd, capture_output=True).returncode == 0


OPENMP = sys.platform != "win32" and compiler_accepts("-fopenmp")
compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]
compile_args += ["-Wno-unused-function", "-Wno-unreachable-code"]
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
}

extensions = [
    Extension(
        f"strided._C.{name}",
        [f"strided/_C/{name}.pyx"],
        include_dirs=[numpy.get_include(), "strided/_C"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    for name in MODULES
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
    ),
)
