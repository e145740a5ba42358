"""Build the Cython core (strided._C.*).

Environment switches:
  STRIDED_DEBUG=1   bounds checks and wraparound on in every kernel, -O2 -g (for tests)
  STRIDED_NATIVE=1  compile for this machine (-march=native); the default build is portable

NOTE [ Incremental builds ]
A build redoes only what changed, judged by content, not by timestamps: `pip install -e .`
runs in a fresh isolated environment each time (new Cython, numpy, temporary build dirs),
so every timestamp-based check would say "changed".
  - cythonize: each generated .c ends with a key, the hash of the .pyx and everything it
    cimports or includes (Cython's own dependency scan), the Cython version and the
    directives (so STRIDED_DEBUG=1 regenerates it).  A module whose key matches is not
    cythonized again and its .c is not touched.
  - C compiler: each built extension is kept in build/cache/ under the hash of its .c, the
    project headers it includes (and those they include), the compiler, its flags, numpy's
    and Python's versions.  A hit is copied instead of compiled (the three newest builds of
    each module are kept, so switching STRIDED_DEBUG or STRIDED_NATIVE back and forth costs
    nothing).
  - in-place copies: an extension identical to the one already in the source tree is not
    copied; a changed one replaces it by rename, so running processes keep the old file.
  - compiler probes (OpenMP, AVX2, AVX-512): answered once per compiler and assembler and
    kept in build/compiler_probes.json (compiler_accepts).
Modules compile on every core, largest first.  Output is line-buffered, so `pip install -v`
shows each module as it is cythonized and compiled.
"""
import filecmp
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# pip reads the build's output through a pipe: flush each line so `pip install -v` shows
# progress as it happens, not in 4 KiB bursts
if hasattr(sys.stdout, "reconfigure"):
    sys.stdout.reconfigure(line_buffering=True)

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE_DIR = os.path.join(HERE, "build", "cache")
CACHE_KEEP = 3                      # builds of each extension kept in CACHE_DIR
try:
    CORES = len(os.sched_getaffinity(0))
except AttributeError:              # not Linux
    CORES = os.cpu_count() or 1

# strided._C's extension modules, by layer (strided/_C/README.md): each is
# strided/_C/<folder>/<stem>.pyx, built as strided._C.<folder>.<stem>
MODULES = ["core." + m for m in ("dtypes", "storage", "threads", "iterator", "copy", "tensor",
                                 "dlpack", "cpu")]
MODULES += ["kernels." + m for m in ("elementwise", "elementwise_baseline", "reduce", "gemm",
                                     "pool", "conv", "norm", "loss", "optim")]
MODULES += ["ops." + m for m in ("gemm", "pool", "index", "optim")]
MODULES += ["ops.join", "kernels.gather", "ops.gather",     # issue 17: joining, gathering,
            "kernels.sort", "ops.sort", "ops.compose",        # sorting
            "ops.einsum"]
MODULES += ["kernels.attention"]                            # issue 19: fused attention
MODULES += ["kernels.rnn"]                                  # issue 19: recurrent layers
HEADERS = os.path.join("strided", "_C", "kernels")     # gemm_kernel.h, conv_kernels.h

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
AVX512_FLAGS = ["-mavx2", "-mfma", "-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl",
                "-mprefer-vector-width=512"]
AVX512_PROGRAM = ("#include <immintrin.h>\nint main(void){__m512 x = _mm512_set1_ps(1.0f);\n"
                  "x = _mm512_fmadd_ps(x, x, x); return (int)_mm512_reduce_add_ps(x);}\n")


def _sha256(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()


PROBES = os.path.join(HERE, "build", "compiler_probes.json")


def compiler_accepts(flag, src):
    """True when the C compiler compiles and links the program `src` with `flag`.  The
    answer is kept in build/compiler_probes.json under the compiler's and the assembler's
    paths, sizes and mtimes, the flag and the program: pip loads this file three times per
    install (build requirements, metadata, build), and each probe costs ~0.3 s of
    immintrin.h parsing."""
    cc = os.environ.get("CC", "cc")
    exe = shutil.which(cc.split()[0])
    if exe is None:
        return False
    tools = [os.path.realpath(t) for t in (exe, shutil.which("as")) if t]   # gcc's assembler too
    key = _sha256(cc, [(t, os.stat(t).st_size, os.stat(t).st_mtime_ns) for t in tools], flag, src)
    try:
        with open(PROBES) as f:
            known = json.load(f)
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if isinstance(known.get(key), bool):
        return known[key]
    known[key] = _compiles(cc, flag, src)
    try:
        os.makedirs(os.path.dirname(PROBES), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(PROBES), suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(known, f)
        os.replace(tmp, PROBES)
    except OSError:                 # a read-only tree: probe again next time
        pass
    return known[key]


def _compiles(cc, flag, src):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.c")
        with open(path, "w") as f:
            f.write(src)
        cmd = cc.split() + flag.split() + [path, "-o", os.path.join(tmp, "t")]
        return subprocess.run(cmd, capture_output=True).returncode == 0


OPENMP = sys.platform != "win32" and compiler_accepts("-fopenmp", OPENMP_PROGRAM)
# -g0 in the default build: Python's CFLAGS ask for -g, whose full debug info costs ~40% of
# the compile time of the big generated modules, and even line tables (-g1) ~7% (tensor.c
# 27.8 -> 25.9 s); the machine code is the same either way, and function names stay in the
# symbol table.  STRIDED_DEBUG=1 builds keep full -g.
# The debug build optimizes too (-O2, not -O0): gcc contracts a*b+c into one FMA only when
# optimizing, and the suite checks that the GEMM's paths agree bit for bit, which they do
# when the plain-C paths round like the release build's.
compile_args = ["-O2", "-g"] if DEBUG else ["-O3", "-g0"]
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
    # no copy of the .pyx source in comments above each statement of the generated C: a
    # quarter of its size (core/tensor.c 6.9 -> 5.2 MB) that the compiler would lex for
    # nothing; the machine code is the same (every module's disassembly compared)
    "emit_code_comments": False,
}

# Kernels also built for AVX2 + FMA and for AVX-512, chosen at run time on CPUs that have
# them (NOTE [ Kernel dispatch ] in strided/_C/kernels/elementwise.pyx).  A module in
# ISA_COPIES is another module's generated C under its own name (_renamed_copy), compiled
# with other flags: Cython runs once for all the builds of the same rows.
ISA_MODULES = {}
ISA_COPIES = {}                     # module -> the module whose generated C it builds, renamed
ROWS_SOURCE = {"elementwise": "kernels.elementwise_baseline",     # stem -> the rows' module
               "reduce": "kernels.reduce_avx2", "loss": "kernels.loss_avx2",
               "optim": "kernels.optim_avx2"}
if platform.machine().lower() in ("x86_64", "amd64") and compiler_accepts("-mavx2 -mfma", AVX2_PROGRAM):
    # no FP contraction: the AVX2 build rounds exactly like the baseline one (and NumPy)
    for stem in ROWS_SOURCE:
        ISA_MODULES[f"kernels.{stem}_avx2"] = ["-mavx2", "-mfma", "-ffp-contract=off"]
    if compiler_accepts(" ".join(AVX512_FLAGS), AVX512_PROGRAM):
        # the same sources with 512-bit vectors; still no FP contraction, so every build
        # rounds alike
        for stem in ROWS_SOURCE:
            ISA_MODULES[f"kernels.{stem}_avx512"] = AVX512_FLAGS + ["-ffp-contract=off"]
        # the reductions' eight-accumulator blocked sums (NOTE [ Blocked float sum ]) run
        # ~6x slower as gcc vectorizes them for zmm: keep them 256 bits wide
        # (benchmarks/bench_elementwise.py, sum dim 1, on an AVX-512 Xeon)
        ISA_MODULES["kernels.reduce_avx512"] += ["-mprefer-vector-width=256"]
for name in ISA_MODULES:
    stem = name.split(".")[1].rsplit("_", 1)[0]
    if ROWS_SOURCE[stem] != name:
        ISA_COPIES[name] = ROWS_SOURCE[stem]

# `x != x` (the NaN test) in the row kernels (clamp in elementwise_rows.pxi; max/min and
# argmax/argmin in reduce_rows.pxi) is false for the integer instantiations of their fused
# types, and gcc says so once per integer type.  The float instantiations need the test and
# gcc drops it from the integer ones; spelling it per type in the source changes the
# generated machine code of the kernels, this flag changes nothing but the message.
NAN_TEST_MODULES = ["kernels.elementwise_baseline", "kernels.elementwise_avx2",
                    "kernels.elementwise_avx512", "kernels.reduce", "kernels.reduce_avx2",
                    "kernels.reduce_avx512", "kernels.gather", "kernels.sort"]
MODULE_FLAGS = {name: ["-Wno-tautological-compare"] for name in NAN_TEST_MODULES}
# Python-facing glue with no loops of its own (argument checks, metadata, calls into the
# kernels) compiles at -O1: it is no slower per call than at -O2 or -O3
# (benchmarks/bench_trees.py --cases views --callgrind 300, an -O2/-O3 tree against this one
# on the AVX-512 Xeon: 0.85x its instructions over the 30 cases; timed, within the VM's
# noise) and compiles in about half the time (core/tensor.c 31 -> 17 s, ops/gather.c
# 10 -> 5 s); kernels and modules with loops keep -O3
if not DEBUG:
    for name in ("core.tensor", "core.dtypes", "core.storage", "core.dlpack", "core.cpu",
                 "core.threads", "ops.gemm", "ops.pool", "ops.optim", "ops.sort",
                 "ops.compose", "ops.einsum", "ops.gather", "ops.join"):
        MODULE_FLAGS.setdefault(name, []).append("-O1")
    # The element-wise and loss row kernels are loops the vectorizer makes: -O2 with its
    # full cost model vectorizes them as -O3 does and compiles in 60% of the time
    # (elementwise_avx2.c 26 -> 16 s, loss_avx2.c 8 -> 2 s) and runs as fast
    # (benchmarks/bench_trees.py, an -O3 tree against this one on the AVX-512 Xeon, one
    # thread: geometric mean 0.96 over 76 ops and losses, each case 0.78-1.09)
    for name in MODULES + list(ISA_MODULES):
        if name.startswith(("kernels.elementwise_", "kernels.loss")):
            MODULE_FLAGS.setdefault(name, []).extend(
                ["-O2", "-ftree-vectorize", "-fvect-cost-model=dynamic"])

extensions = [
    Extension(
        f"strided._C.{name}",
        [f"strided/_C/{ISA_COPIES.get(name, name).replace('.', '/')}.pyx"],
        include_dirs=[numpy.get_include(), HEADERS],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args + ISA_MODULES.get(name, []) + MODULE_FLAGS.get(name, []),
        extra_link_args=link_args,
    )
    for name in MODULES + list(ISA_MODULES)
]


def _file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


KEY_PREFIX = b"/* strided build key: "


def _tail(c_file):
    """The last 200 bytes of a file (b"" when it does not exist)."""
    try:
        with open(c_file, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 200))
            return f.read()
    except OSError:
        return b""


def _c_key(c_file):
    """The key written at the end of a generated .c (NOTE [ Incremental builds ]), or None."""
    tail = _tail(c_file)
    at = tail.rfind(KEY_PREFIX)
    return tail[at + len(KEY_PREFIX):].split(b" ", 1)[0].decode() if at >= 0 else None


def cythonize_changed(exts):
    """Cythonize the modules whose sources, dependencies, Cython version or directives
    changed since their .c was generated (NOTE [ Incremental builds ]); point every
    extension at its .c (in place: the Extension objects stay the build's own)."""
    import Cython
    from Cython.Build.Dependencies import create_dependency_tree

    tree = create_dependency_tree()
    stale = {}
    copies = [ext for ext in exts if ext.name[len("strided._C."):] in ISA_COPIES]
    exts = [ext for ext in exts if ext not in copies]
    for ext in exts:
        pyx = ext.sources[0]
        deps = []
        for dep in tree.all_dependencies(pyx):
            full = os.path.abspath(dep)
            # files outside the project (Cython's and numpy's .pxd) by name and content:
            # their directory is a fresh temporary one in each isolated build
            name = (os.path.relpath(full, HERE) if full.startswith(HERE + os.sep)
                    else full.rsplit("site-packages" + os.sep, 1)[-1])
            deps.append((name, _file_digest(dep)))
        key = _sha256(Cython.__version__, sorted(directives.items()), sorted(deps))
        c_file = pyx[:-len(".pyx")] + ".c"
        if _c_key(c_file) != key:
            stale[ext.name] = key
        ext.sources = [c_file]
    if stale:
        todo = [ext for ext in exts if ext.name in stale]
        for ext in todo:
            ext.sources = [ext.sources[0][:-len(".c")] + ".pyx"]
        done = {ext.name: ext for ext in cythonize(todo, compiler_directives=directives,
                                                   nthreads=CORES, force=True)}
        for name, key in stale.items():
            with open(done[name].sources[0], "ab") as f:
                f.write(KEY_PREFIX + key.encode() + b" */\n")
        for ext in todo:
            ext.sources = list(done[ext.name].sources)
    for ext in copies:
        ext.sources = [_renamed_copy(ext.sources[0][:-len(".pyx")] + ".c", ext.name)]


# Cython 3.1+ keeps a module's string constants in one concatenated array indexed by their
# lengths (compressed or not): renaming inside it would shift every string after the name
_STRING_TABLE = (b"static const char bytes[] = ", b"static const char cstring[] = ")
_RENAMED = b"/* strided renamed copy: string table kept */\n"    # a copy made by these rules


def _renamed_copy(c_file, name):
    """The generated C of module `c_file` rewritten as module `name` (ISA_COPIES): every
    occurrence of the module's name in the C (its init functions, Cython's mangled
    identifiers, the names in its messages) is replaced, except the .pyx path tracebacks
    point to and the string table, whose constants keep the source module's name (so a
    function's __module__ names the source module).  Written only when the source C
    changed (its key, NOTE [ Incremental builds ])."""
    old = os.path.basename(c_file)[:-len(".c")].encode()
    new = name.rsplit(".", 1)[1].encode()
    target = os.path.join(os.path.dirname(c_file), new.decode() + ".c")
    if _c_key(target) == _c_key(c_file) is not None and _tail(target).endswith(_RENAMED):
        return target
    with open(c_file, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if not line.lstrip().startswith(_STRING_TABLE):
            lines[i] = line.replace(old, new).replace(new + b".pyx", old + b".pyx")
    with open(target + ".tmp", "wb") as f:
        f.writelines(lines)
        f.write(_RENAMED)
    os.replace(target + ".tmp", target)
    return target


_INCLUDE = re.compile(rb'^#include "([^"]+)"', re.M)


class ParallelBuildExt(build_ext):
    """Compile the extension modules on every core, largest first, each only when its
    inputs changed (NOTE [ Incremental builds ])."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = CORES

    def build_extensions(self):
        # Cython runs here, not when setup.py is loaded: pip loads it three times (build
        # requirements, metadata, build) and only the build needs the C
        cythonize_changed(self.extensions)
        # longest first, so the biggest modules don't start last on a core of their own
        self.extensions.sort(key=lambda e: -sum(os.path.getsize(s) for s in e.sources))
        try:
            version = subprocess.run(self.compiler.compiler_so[:1] + ["--version"],
                                     capture_output=True, text=True).stdout
        except OSError:
            version = ""
        self._compiler_id = (self.compiler.compiler_so, self.compiler.linker_so, version,
                             numpy.__version__, sys.version, self.debug)
        super().build_extensions()

    def _build_key(self, ext):
        parts = [self._compiler_id, ext.name, ext.extra_compile_args, ext.extra_link_args,
                 ext.define_macros, ext.undef_macros, ext.libraries]
        folders = [d for d in ext.include_dirs if not os.path.isabs(d)]
        seen = set()

        def add_headers(text, here):
            # the project headers `text` includes, and the ones they include in turn
            for header in sorted(set(_INCLUDE.findall(text))):
                for folder in [here] + folders:
                    path = os.path.join(folder, header.decode())
                    if os.path.isfile(path):
                        if path not in seen:
                            seen.add(path)
                            with open(path, "rb") as f:
                                included = f.read()
                            parts.append((path, hashlib.sha256(included).hexdigest()))
                            add_headers(included, os.path.dirname(path))
                        break

        for source in sorted(ext.sources):
            with open(source, "rb") as f:
                text = f.read()
            parts.append(hashlib.sha256(text).hexdigest())
            add_headers(text, os.path.dirname(source))
        return _sha256(*parts)[:24]

    def build_extension(self, ext):
        target = self.get_ext_fullpath(ext.name)
        suffix = os.path.basename(target).split(".", 1)[1]
        cached = os.path.join(CACHE_DIR, f"{ext.name}.{self._build_key(ext)}.{suffix}")
        if not self.force and os.path.isfile(cached):
            sys.stdout.write(f"reusing {ext.name}: its C source and flags are unchanged\n")
            os.utime(cached)            # recently used: pruned last
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(cached, target)
            return
        if os.path.exists(target):      # compile even if it looks newer than the .c
            os.remove(target)
        super().build_extension(ext)
        os.makedirs(CACHE_DIR, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=CACHE_DIR, suffix=".tmp")
        os.close(fd)
        shutil.copy2(target, tmp)
        os.replace(tmp, cached)
        mine = [os.path.join(CACHE_DIR, f) for f in os.listdir(CACHE_DIR)
                if f.startswith(ext.name + ".") and f.endswith("." + suffix)
                and len(f) == len(os.path.basename(cached))]
        for old in sorted(mine, key=os.path.getmtime)[:-CACHE_KEEP]:
            os.remove(old)

    def copy_extensions_to_source(self):
        if any(getattr(ext, "_needs_stub", False) for ext in self.extensions):
            return super().copy_extensions_to_source()
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            inplace, built = self._get_inplace_equivalent(build_py, ext)
            if os.path.isfile(inplace) and filecmp.cmp(built, inplace, shallow=False):
                continue
            # a new file renamed over the old one: a process that loaded the old one keeps
            # its mapping (overwriting it in place would crash that process)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(inplace) or ".", suffix=".tmp")
            os.close(fd)
            shutil.copy2(built, tmp)
            os.replace(tmp, inplace)
            sys.stdout.write(f"copied {built} -> {inplace}\n")


setup(
    ext_modules=extensions,
    cmdclass={"build_ext": ParallelBuildExt},
)
