"""Users' own kernels as Cython extensions, built ahead of time or just in time.

Two ways, as torch.utils.cpp_extension offers for C++:

- **prebuilt**: a user's ``setup.py`` lists :func:`StridedExtension` modules and passes
  ``cmdclass={"build_ext": build_ext}``; ``python setup.py build_ext --inplace`` (or
  ``pip install .``) compiles them with strided's include paths, flags and OpenMP setting;
- **just in time**: :func:`load` (or :func:`load_inline` for a source string) compiles on
  first use, caches the build and imports it.

An extension's Cython code cimports the kernel-writer's API, ``strided._C.api`` (NOTE
[ Kernel-writer's API ] in strided/_C/api.pxd): a Tensor's data pointer, dtype, sizes,
strides and storage offset, new outputs, the version counter, the strided iterator and the
library's thread count.

NOTE [ Extension build cache ]
A JIT build lives in ``<cache>/<name>_<key>/``, where ``<cache>`` is ``build_directory``,
else ``$STRIDED_EXTENSIONS_DIR``, else ``$XDG_CACHE_HOME/strided_extensions`` (by default
``~/.cache/strided_extensions``), and ``<key>`` hashes everything the binary depends on:
the sources' contents (and the files they include or cimport from their folders),
the compiler and every flag, the Python, Cython, NumPy and strided versions, strided's
.pxd files (the API's struct layouts) and the CPU's instruction sets (a build with
``-march=native`` must not be reused on another CPU).  Any change gives another key, hence
a rebuild; an unchanged key imports the existing build without running a compiler.
Two processes building the same key at once: each takes an exclusive lock
(``fcntl.flock`` on ``<name>_<key>.lock``) before looking; the first builds in a private
temporary folder and renames it into place (atomic), the second then finds the build and
only imports it.  A failed compile raises RuntimeError with the command and the
compiler's (or Cython's) output and leaves nothing in the cache.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from typing import Sequence

from setuptools import Extension
from setuptools.command.build_ext import build_ext as _setuptools_build_ext

import strided

__all__ = ["StridedExtension", "build_ext", "include_paths", "load", "load_inline"]

# The C flags of strided's own release build (setup.py): -fwrapv for PyTorch's wrapping
# integer overflow, no errno or FP traps so math calls vectorize, never -ffast-math
COMPILE_ARGS = ["-O3", "-g0", "-fwrapv", "-fno-math-errno", "-fno-trapping-math",
                "-Wno-unused-function", "-Wno-unreachable-code"]
# Cython directives strided's kernels are compiled with (setup.py's `directives`)
DIRECTIVES = {"language_level": 3, "boundscheck": False, "wraparound": False,
              "initializedcheck": False, "cdivision": True, "nonecheck": False,
              "embedsignature": True}
DEFINE_MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]

_builds = 0          # compilations this process ran (the tests count them)


def _openmp() -> bool:
    from strided._C.core.threads import has_openmp
    return has_openmp()


def include_paths() -> list[str]:
    """The folders an extension compiles against: the one holding the ``strided`` package
    (so ``cimport strided._C.api`` finds the .pxd files), strided's kernel headers, and
    NumPy's headers."""
    import numpy
    pkg = os.path.dirname(os.path.abspath(strided.__file__))
    return [os.path.dirname(pkg), os.path.join(pkg, "_C", "kernels"), numpy.get_include()]


def _compile_args() -> list[str]:
    return COMPILE_ARGS + (["-fopenmp"] if _openmp() else [])


def _link_args() -> list[str]:
    return ["-fopenmp"] if _openmp() else []


def StridedExtension(name: str, sources: Sequence[str], *args, **kwargs) -> Extension:
    """A setuptools ``Extension`` built as strided's own modules are: strided's include
    paths (for ``cimport strided._C.api``), C flags, NumPy macro and OpenMP setting are
    added to the ``include_dirs``, ``extra_compile_args``, ``extra_link_args`` and
    ``define_macros`` given (the user's come last, so they win).  ``.pyx`` sources are
    cythonized by :class:`build_ext` with strided's directives (no bounds checks,
    C division).  PyTorch's ``CppExtension``.

    >>> ext = strided.utils.extension.StridedExtension("my_ops", ["my_ops.pyx"])
    >>> ext.name, ext.sources, "-fwrapv" in ext.extra_compile_args
    ('my_ops', ['my_ops.pyx'], True)
    """
    kwargs["include_dirs"] = include_paths() + list(kwargs.get("include_dirs", []))
    kwargs["extra_compile_args"] = _compile_args() + list(kwargs.get("extra_compile_args", []))
    kwargs["extra_link_args"] = _link_args() + list(kwargs.get("extra_link_args", []))
    kwargs["define_macros"] = DEFINE_MACROS + list(kwargs.get("define_macros", []))
    kwargs.setdefault("language", "c")
    return Extension(name, list(sources), *args, **kwargs)


class build_ext(_setuptools_build_ext):
    """setuptools' ``build_ext`` that cythonizes each extension's ``.pyx`` sources with
    strided's directives and include path before compiling (PyTorch's
    ``BuildExtension``).  Use it in a setup.py as
    ``setup(ext_modules=[StridedExtension(...)], cmdclass={"build_ext": build_ext})``."""

    def build_extension(self, ext):
        """Cythonize ext's .pyx sources (strided's .pxd files on the include path, the
        generated C in the build folder) and compile the extension as setuptools does."""
        if any(s.endswith(".pyx") for s in ext.sources):
            from Cython.Build import cythonize
            folders = sorted({os.path.dirname(os.path.abspath(s)) for s in ext.sources})
            directives = dict(DIRECTIVES, **getattr(ext, "cython_directives", {}))
            # the generated C goes to the build folder, not next to the user's sources
            built = cythonize([ext], compiler_directives=directives, force=self.force,
                              include_path=include_paths() + folders, quiet=not self.verbose,
                              build_dir=os.path.join(self.build_temp, "cython"))
            ext.sources = list(built[0].sources)
        super().build_extension(ext)


# ------------------------------------------------------------------------------- JIT

def _cache_root(build_directory: str | None) -> str:
    if build_directory:
        return os.path.abspath(build_directory)
    if os.environ.get("STRIDED_EXTENSIONS_DIR"):
        return os.path.abspath(os.environ["STRIDED_EXTENSIONS_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "strided_extensions")


def _digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


_DEPENDENCY = re.compile(rb'^\s*(?:include\s+"([^"]+)"|#\s*include\s+"([^"]+)"'
                         rb'|cdef\s+extern\s+from\s+"([^"]+)"|from\s+(\w+)\s+cimport'
                         rb'|cimport\s+(\w+))', re.M)


def _dependencies(path: str, seen: dict[str, str]) -> None:
    """Add path and, recursively, the files it includes or cimports from its own folder
    (.pxi, .h, local .pxd) to seen {path: sha256}."""
    if path in seen or not os.path.isfile(path):
        return
    seen[path] = _digest(path)
    folder = os.path.dirname(path)
    with open(path, "rb") as f:
        text = f.read()
    if path.endswith(".pyx"):
        _dependencies(path[:-4] + ".pxd", seen)
    for m in _DEPENDENCY.finditer(text):
        included = m.group(1) or m.group(2) or m.group(3)
        if included:
            _dependencies(os.path.join(folder, included.decode()), seen)
        else:
            module = (m.group(4) or m.group(5)).decode()
            _dependencies(os.path.join(folder, module + ".pxd"), seen)


def _compiler() -> tuple[list[str], list[str]]:
    """(compile command, link command) of the compiler Python's extensions are built
    with, as setuptools sets them up (CC, CFLAGS, LDSHARED... from the environment)."""
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler
    cc = new_compiler()
    customize_compiler(cc)
    return list(cc.compiler_so), list(cc.linker_so)


def _strided_api_digest() -> str:
    """The contents of strided's installed .pxd and .h files: an extension cimporting
    them depends on the struct layouts and inline code they declare."""
    pkg = os.path.join(os.path.dirname(os.path.abspath(strided.__file__)), "_C")
    h = hashlib.sha256()
    for folder, _, files in sorted(os.walk(pkg)):
        for f in sorted(files):
            if f.endswith((".pxd", ".h")):
                h.update(f.encode() + b"\0" + _digest(os.path.join(folder, f)).encode())
    return h.hexdigest()


def _cpu() -> tuple:
    cpu = strided.show_config("dicts")["cpu"]
    return cpu.get("machine"), cpu.get("isa"), tuple(cpu.get("features", ()))


def _build_key(name, sources, compile_args, link_args, include_dirs) -> str:
    import Cython
    import numpy
    deps: dict[str, str] = {}
    for s in sources:
        _dependencies(s, deps)
    parts = [name, sorted((os.path.basename(p), d) for p, d in deps.items()),
             [os.path.basename(s) for s in sources], _compiler(), compile_args, link_args,
             include_dirs, sorted(DIRECTIVES.items()), sys.version,
             sysconfig.get_config_var("EXT_SUFFIX"), Cython.__version__, numpy.__version__,
             strided.__version__, _strided_api_digest(), _cpu()]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


class _FileLock:
    """An exclusive fcntl lock on a file, held inside the with block (blocking)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self):
        import fcntl
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _run(cmd: list[str], what: str, name: str, verbose: bool) -> None:
    if verbose:
        print(" ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    output = (proc.stdout + proc.stderr).strip()
    if verbose and output:
        print(output, flush=True)
    if proc.returncode != 0:
        raise RuntimeError(f"Error building extension '{name}': {what} failed "
                           f"(exit code {proc.returncode}).\ncommand: {' '.join(cmd)}\n"
                           f"{output}")


def _compile(name, sources, out_dir, compile_args, link_args, include_dirs, verbose) -> str:
    """Cythonize and compile `sources` into out_dir/<name><EXT_SUFFIX>; returns its path."""
    global _builds
    _builds += 1
    cc, ld = _compiler()
    c_files = []
    for s in sources:
        if s.endswith(".pyx"):
            c_file = os.path.join(out_dir, name + ".c")
            directives = ",".join(f"{k}={v}" for k, v in DIRECTIVES.items()
                                  if k != "language_level")
            cmd = [sys.executable, "-m", "cython", "-3", "--module-name", name, "-X", directives]
            for d in include_dirs:
                cmd += ["-I", d]
            _run(cmd + ["-o", c_file, s], "cythonizing " + os.path.basename(s), name, verbose)
            c_files.append(c_file)
        else:
            c_files.append(s)
    objects = []
    python_h = [sysconfig.get_paths()["include"], sysconfig.get_paths()["platinclude"]]
    macros = [f"-D{k}={v}" for k, v in DEFINE_MACROS]
    for i, c_file in enumerate(c_files):
        obj = os.path.join(out_dir, f"{i}_{os.path.basename(c_file)}.o")
        cmd = (cc + [f"-I{d}" for d in include_dirs + python_h] + macros + compile_args
               + ["-c", c_file, "-o", obj])
        _run(cmd, "compiling " + os.path.basename(c_file), name, verbose)
        objects.append(obj)
    target = os.path.join(out_dir, name + sysconfig.get_config_var("EXT_SUFFIX"))
    _run(ld + objects + link_args + ["-o", target], "linking", name, verbose)
    return target


def _import(name: str, path: str):
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__file__", None) == path:
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def load(name: str, sources: str | Sequence[str], extra_compile_args: Sequence[str] = (),
         verbose: bool = False, build_directory: str | None = None,
         extra_link_args: Sequence[str] = (), extra_include_paths: Sequence[str] = ()):
    """Compile a Cython extension on first use and import it (PyTorch's
    ``torch.utils.cpp_extension.load``).

    ``sources``: one ``.pyx`` (the module; it is compiled as module ``name`` whatever its
    file is called) and any ``.c`` files to link with it.  The build is cached (NOTE
    [ Extension build cache ] in this module): the first call compiles, later calls -- in
    this process or another -- import the cached build, and any change to a source, a file
    it includes, a flag, the Python, Cython, NumPy or strided version or the CPU's
    instruction sets builds again.  Safe when several processes load the same extension
    at once (one compiles, the others wait for it).  ``verbose=True`` prints each command
    and the compiler's output.  A failed compile raises RuntimeError with the compiler's
    output.

    Example (not run here: it compiles)::

        from strided.utils.extension import load
        lltm = load("lltm_cython", ["examples/lltm/lltm_kernel.pyx"], verbose=True)
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"load: the extension name must be a Python identifier, but got "
                         f"{name!r}")
    sources = [sources] if isinstance(sources, str) else list(sources)
    if not sources:
        raise ValueError("load: expected at least one source file")
    sources = [os.path.abspath(s) for s in sources]
    for s in sources:
        if not os.path.isfile(s):
            raise FileNotFoundError(f"load: source file {s} does not exist")
        if not s.endswith((".pyx", ".c")):
            raise ValueError(f"load: sources must be .pyx or .c files, but got {s}")
    if sum(s.endswith(".pyx") for s in sources) > 1:
        raise ValueError("load: an extension has at most one .pyx source (the module); "
                         "build several extensions for several modules")
    folders = []
    for s in sources:
        if os.path.dirname(s) not in folders:
            folders.append(os.path.dirname(s))
    include_dirs = folders + [os.path.abspath(p) for p in extra_include_paths] + include_paths()
    compile_args = _compile_args() + list(extra_compile_args)
    link_args = _link_args() + list(extra_link_args)
    key = _build_key(name, sources, compile_args, link_args, include_dirs)
    root = _cache_root(build_directory)
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, f"{name}_{key}")
    target = os.path.join(final, name + sysconfig.get_config_var("EXT_SUFFIX"))
    if not os.path.isfile(target):
        with _FileLock(final + ".lock"):
            if not os.path.isfile(target):          # another process may have built it
                tmp = tempfile.mkdtemp(prefix=f".{name}_{key}.", dir=root)
                try:
                    if verbose:
                        print(f"building extension '{name}' in {final}", flush=True)
                    _compile(name, sources, tmp, compile_args, link_args, include_dirs,
                             verbose)
                    if os.path.isdir(final):        # a half-made folder from a crash
                        shutil.rmtree(final)
                    os.rename(tmp, final)
                finally:
                    if os.path.isdir(tmp):
                        shutil.rmtree(tmp, ignore_errors=True)
    elif verbose:
        print(f"using the cached build of extension '{name}': {target}", flush=True)
    return _import(name, target)


def load_inline(name: str, source: str, extra_compile_args: Sequence[str] = (),
                verbose: bool = False, build_directory: str | None = None,
                extra_link_args: Sequence[str] = ()):
    """:func:`load` for Cython source code given as a string: it is written to
    ``<cache>/inline/<name>_<hash>/<name>.pyx`` and built and cached like a file.

    Example (not run here: it compiles)::

        from strided.utils.extension import load_inline
        m = load_inline("twice", "def twice(x):\\n    return 2 * x\\n")
        m.twice(21)       # 42
    """
    if not isinstance(source, str):
        raise TypeError(f"load_inline: source must be a str, but got {type(source).__name__}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"load_inline: the extension name must be a Python identifier, but "
                         f"got {name!r}")
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    folder = os.path.join(_cache_root(build_directory), "inline", f"{name}_{digest}")
    path = os.path.join(folder, name + ".pyx")
    if not os.path.isfile(path):
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    return load(name, [path], extra_compile_args=extra_compile_args, verbose=verbose,
                build_directory=build_directory, extra_link_args=extra_link_args)
