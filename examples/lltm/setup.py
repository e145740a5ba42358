"""Build the LLTM kernel ahead of time: `python setup.py build_ext --inplace` makes the
module lltm_cython next to this file (strided must be installed or on PYTHONPATH)."""
from setuptools import setup

from lltm import COMPILE_ARGS
from strided.utils.extension import StridedExtension, build_ext

setup(
    name="lltm_cython",
    ext_modules=[StridedExtension("lltm_cython", ["lltm_kernel.pyx"],
                                  extra_compile_args=COMPILE_ARGS)],
    cmdclass={"build_ext": build_ext},
)
