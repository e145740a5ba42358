"""strided.utils.extension and the kernel-writer's API (strided/_C/api.pxd): a JIT build,
its cache (hits without a compiler, rebuilds after a source change, keys over flags,
versions and the CPU), two processes building one extension at once, compile errors with
the compiler's output, and a prebuilt build (examples/lltm's setup.py) in a temporary
folder; then the LLTM example three ways (strided ops, the fused kernel prebuilt and JIT):
equal outputs and gradients over layouts and dtypes (to rounding), gradcheck on each, and torch's LLTM.

Compiles are slow: the module compiles six extensions in all (one of them a
deliberate C error), into one temporary cache."""
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import strided
from strided.autograd import gradcheck
from strided.utils import extension

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLTM_DIR = os.path.join(ROOT, "examples", "lltm")

# A tiny extension on the API: metadata getters, outputs, the iterator, the version counter
TINY = textwrap.dedent('''
    from libc.stdint cimport int64_t
    from strided._C.api cimport (Tensor, for_each, data_ptr, ndim, sizes, strides,
                                 storage_offset, numel, is_contiguous, dtype, itemsize,
                                 empty, zeros, empty_like, check_writable, mark_written,
                                 num_threads, max_threads, FLOAT32, FLOAT64, API_VERSION)

    cdef void axpy_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
        cdef double a = (<double*>ctx)[0]
        cdef int64_t i
        for i in range(n):
            (<double*>(p[0] + i * s[0]))[0] = (a * (<double*>(p[1] + i * s[1]))[0]
                                               + (<double*>(p[2] + i * s[2]))[0])

    cdef void scale_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
        cdef int64_t i
        for i in range(n):
            (<float*>(p[0] + i * s[0]))[0] *= (<float*>ctx)[0]

    def axpy(double a, Tensor x not None, Tensor y not None, out=None):
        """out = a * x + y over float64 tensors of one shape, any strides."""
        if dtype(x) != FLOAT64 or dtype(y) != FLOAT64:
            raise TypeError("axpy: float64 only")
        cdef Tensor o = empty_like(x) if out is None else out
        if out is not None:
            check_writable(o)
        for_each((o, x, y), axpy_row, &a, 1024)
        if out is not None:
            mark_written(o)
        return o

    def scale_(Tensor t not None, float a):
        """t *= a in place (float32)."""
        check_writable(t)
        for_each((t,), scale_row, &a, 0)
        mark_written(t)
        return t

    def metadata(Tensor t not None):
        cdef int d
        return (ndim(t), tuple(sizes(t)[d] for d in range(ndim(t))),
                tuple(strides(t)[d] for d in range(ndim(t))), storage_offset(t), numel(t),
                bool(is_contiguous(t)), dtype(t), itemsize(t), <size_t>data_ptr(t))

    def new(shape, int kind, bint zero):
        cdef int64_t s[8]
        cdef int d
        for d in range(len(shape)):
            s[d] = shape[d]
        return zeros(len(shape), s, kind) if zero else empty(len(shape), s, kind)

    def threads(int64_t work, int64_t grain):
        return num_threads(work, grain), max_threads(), API_VERSION

    def iterate(tuple operands):
        for_each(operands, axpy_row, NULL, 0)

    def kind_of(Tensor t):            # None reaches dtype(): a TypeError, not a crash
        return dtype(t), itemsize(t)

    def touch(Tensor t):
        check_writable(t)
        mark_written(t)
''')


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("extensions"))


@pytest.fixture(scope="module")
def tiny(cache, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_src")
    path = folder / "tiny_kernels.pyx"
    path.write_text(TINY + '\ninclude "extra.pxi"\n')
    (folder / "extra.pxi").write_text("def answer():\n    return 41\n")
    before = extension._builds
    module = extension.load("tiny_api", [str(path)], build_directory=cache)
    assert extension._builds == before + 1
    return module, str(path)


def _run_python(code, env=None):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, cwd=ROOT, env=dict(os.environ, **(env or {})),
                          timeout=600)


# ------------------------------------------------------------------ the API itself

LAYOUTS = {
    "contiguous": lambda t: t,
    "transposed": lambda t: t.t(),
    "stepped": lambda t: t[::2, 1::3],
    "flipped": lambda t: t.flip(0),
    "sliced": lambda t: t[1:, 2:],
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_metadata_matches_python(tiny, layout):
    module, _ = tiny
    base = strided.arange(60, dtype=strided.float64).view(6, 10)
    t = LAYOUTS[layout](base)
    n, size, stride, offset, numel, contiguous, kind, item, ptr = module.metadata(t)
    assert (n, size, stride, offset, numel) == (t.ndim, tuple(t.shape), t.stride(),
                                                t.storage_offset(), t.numel())
    assert contiguous == t.is_contiguous() and item == 8 and ptr == t.data_ptr()
    assert kind == 5                         # FLOAT64 in the ScalarType order
    assert module.metadata(strided.zeros(2, 3, dtype=strided.int32))[6:8] == (2, 4)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_for_each_over_layouts(tiny, layout):
    module, _ = tiny
    strided.manual_seed(0)
    x = LAYOUTS[layout](strided.randn(6, 10, dtype=strided.float64))
    y = strided.randn(x.shape[1], x.shape[0], dtype=strided.float64).t()   # another layout
    out = module.axpy(2.5, x, y)
    np.testing.assert_allclose(out.numpy(), 2.5 * x.numpy() + y.numpy(), rtol=1e-15)
    assert out.is_contiguous()
    # broadcast operands: expanded, stride 0
    row = strided.randn(1, x.shape[1], dtype=strided.float64).expand(*x.shape)
    np.testing.assert_allclose(module.axpy(-1.0, row, x).numpy(), x.numpy() - row.numpy())


def test_for_each_large_parallel_and_empty(tiny):
    module, _ = tiny
    x = strided.randn(300, 700, dtype=strided.float64)[:, ::2]
    y = strided.randn(700, 300, dtype=strided.float64).t()[:, ::2]
    np.testing.assert_allclose(module.axpy(3.0, x, y).numpy(), 3 * x.numpy() + y.numpy())
    e = strided.zeros(0, 5, dtype=strided.float64)
    assert module.axpy(1.0, e, e).shape == (0, 5)
    s = strided.tensor(3.0, dtype=strided.float64)                   # 0-d
    assert module.axpy(2.0, s, s).shape == () and module.axpy(2.0, s, s).item() == 9.0


def test_outputs_version_counter_and_writes(tiny):
    module, _ = tiny
    t = strided.ones(4, 5)
    view = t[:, 1:]
    v0 = t._version
    module.scale_(view, 3.0)
    assert t._version == v0 + 1 and view._version == v0 + 1
    assert (t[:, 0] == 1).all() and (t[:, 1:] == 3).all()
    out = strided.zeros(4, 5, dtype=strided.float64).t()
    x = strided.ones(5, 4, dtype=strided.float64)
    module.axpy(2.0, x, x, out=out)
    assert out._version == 1 and (out == 3).all()
    with pytest.raises(RuntimeError, match="more than one element"):
        module.scale_(strided.ones(4, 1).expand(4, 5), 2.0)
    z = module.new((3, 4), 4, True)
    assert z.dtype == strided.float32 and z.shape == (3, 4) and (z == 0).all()
    assert module.new((2, 0, 3), 3, False).dtype == strided.int64
    with pytest.raises(ValueError, match="ScalarType"):
        module.new((2,), 9, False)
    with pytest.raises(ValueError, match="negative dimension"):
        module.new((2, -1), 4, False)


def test_for_each_errors_and_threads(tiny):
    module, _ = tiny
    a, b = strided.zeros(3, 4, dtype=strided.float64), strided.zeros(4, 3, dtype=strided.float64)
    with pytest.raises(RuntimeError, match=r"operand 1 has shape \[4, 3\], but operand 0 has "
                                           r"shape \[3, 4\]"):
        module.iterate((a, b))
    with pytest.raises(ValueError, match="expected 1 to 5 tensors, but got 6"):
        module.iterate((a,) * 6)
    with pytest.raises(TypeError, match="operand 1 is int"):
        module.iterate((a, 3))
    with pytest.raises(TypeError):
        module.axpy(1.0, a, [1, 2])
    with pytest.raises(TypeError):
        module.axpy(1.0, None, a)
    with pytest.raises(TypeError, match="dtype: expected a Tensor, but got None"):
        module.kind_of(None)
    with pytest.raises(TypeError, match="check_writable: expected a Tensor, but got None"):
        module.touch(None)
    with pytest.raises(TypeError, match="operand 0 is NoneType"):
        module.iterate((None,))
    assert module.kind_of(strided.zeros(2, dtype=strided.uint8)) == (1, 1)
    old = strided.get_num_threads()
    try:
        strided.set_num_threads(1)
        assert module.threads(10 ** 9, 1000)[:2] == (1, 1)
        strided.set_num_threads(2)
        assert module.threads(10 ** 9, 1000)[:2] == (2, 2)
        assert module.threads(500, 1000) == (1, 2, 1)
    finally:
        strided.set_num_threads(old)


# --------------------------------------------------------------------- the cache

def test_cache_hit_in_this_and_another_process(tiny, cache):
    module, path = tiny
    before = extension._builds
    again = extension.load("tiny_api", [path], build_directory=cache)
    assert again is module and extension._builds == before
    proc = _run_python(f"""
        import strided, strided.utils.extension as E
        m = E.load("tiny_api", [{path!r}], build_directory={cache!r}, verbose=True)
        x = strided.ones(3, dtype=strided.float64)
        print("builds", E._builds, m.axpy(2.0, x, x).tolist())
    """)
    assert proc.returncode == 0, proc.stderr
    assert "builds 0 [3.0, 3.0, 3.0]" in proc.stdout
    assert "using the cached build" in proc.stdout and "gcc" not in proc.stdout


def test_cache_dir_from_environment(tiny, cache, monkeypatch, tmp_path):
    monkeypatch.setenv("STRIDED_EXTENSIONS_DIR", cache)
    assert extension._cache_root(None) == os.path.abspath(cache)
    monkeypatch.delenv("STRIDED_EXTENSIONS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert extension._cache_root(None) == os.path.join(str(tmp_path), "strided_extensions")
    assert extension._cache_root(str(tmp_path / "x")) == str(tmp_path / "x")


def test_key_covers_flags_versions_and_cpu(tiny, monkeypatch):
    _, path = tiny
    args = ("tiny_api", [path], ["-O3"], [], ["/inc"])
    key = extension._build_key(*args)
    assert extension._build_key(*args) == key
    assert extension._build_key("tiny_api", [path], ["-O2"], [], ["/inc"]) != key
    assert extension._build_key("tiny_api", [path], ["-O3"], ["-lm"], ["/inc"]) != key
    assert extension._build_key("other", [path], ["-O3"], [], ["/inc"]) != key
    monkeypatch.setattr(strided, "__version__", "99.0")
    assert extension._build_key(*args) != key
    monkeypatch.undo()
    monkeypatch.setattr(extension, "_cpu", lambda: ("x86_64", "baseline", ()))
    assert extension._build_key(*args) != key
    monkeypatch.undo()
    monkeypatch.setattr(extension, "_strided_api_digest", lambda: "another layout")
    assert extension._build_key(*args) != key


def test_rebuild_after_source_change(tiny, cache):
    module, path = tiny
    # an included file counts as a source: changing it rebuilds
    extra = os.path.join(os.path.dirname(path), "extra.pxi")
    with open(extra, "w") as f:
        f.write("def answer():\n    return 42\n")
    before = extension._builds
    changed = extension.load("tiny_api", [path], build_directory=cache)
    assert changed.answer() == 42 and extension._builds == before + 1
    assert module.answer() == 41 and module.__file__ != changed.__file__   # the old build stays
    assert extension.load("tiny_api", [path], build_directory=cache) is changed
    assert extension._builds == before + 1
    builds = [d for d in os.listdir(cache) if d.startswith("tiny_api_") and "." not in d]
    assert len(builds) == 2


def test_two_processes_build_one_extension(cache):
    source = "def twice(x):\n    return 2 * x\n"
    code = f"""
        import strided.utils.extension as E
        m = E.load_inline("twice_concurrent", {source!r}, build_directory={cache!r})
        print("result", m.twice(21), "builds", E._builds)
    """
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "result 42" in out
    builds = sorted(int(out.split("builds")[1]) for out, _ in outs)
    assert builds == [0, 1]                      # one compiled, the other found its build
    built = [d for d in os.listdir(cache) if d.startswith("twice_concurrent_")
             and not d.endswith(".lock")]
    assert len(built) == 1
    assert not [d for d in os.listdir(cache) if d.startswith(".twice_concurrent")]


def test_compile_errors_carry_the_compilers_output(cache):
    with pytest.raises(RuntimeError, match=r"(?s)Error building extension 'bad_cython': "
                                           r"cythonizing .*undeclared name not builtin: "
                                           r"no_such_name"):
        extension.load_inline("bad_cython", "def f():\n    cdef int x = no_such_name\n",
                              build_directory=cache)
    bad_c = ('cdef extern from *:\n    """\n    static int f(void) { return missing_c_symbol; }'
             '\n    """\n    int f()\ndef g():\n    return f()\n')
    with pytest.raises(RuntimeError, match=r"(?s)compiling bad_c\.c failed.*"
                                           r"missing_c_symbol.*undeclared"):
        extension.load_inline("bad_c", bad_c, build_directory=cache)
    assert not [d for d in os.listdir(cache) if d.startswith(("bad_", ".bad_"))
                and not d.endswith(".lock")]


def test_bad_arguments(cache, tmp_path):
    with pytest.raises(ValueError, match="Python identifier"):
        extension.load("not-a-name", [str(tmp_path / "x.pyx")], build_directory=cache)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        extension.load("x", [str(tmp_path / "missing.pyx")], build_directory=cache)
    (tmp_path / "a.pyx").write_text("")
    (tmp_path / "b.pyx").write_text("")
    (tmp_path / "c.cpp").write_text("")
    with pytest.raises(ValueError, match="at most one .pyx"):
        extension.load("x", [str(tmp_path / "a.pyx"), str(tmp_path / "b.pyx")])
    with pytest.raises(ValueError, match=".pyx or .c"):
        extension.load("x", [str(tmp_path / "c.cpp")])
    with pytest.raises(ValueError, match="at least one"):
        extension.load("x", [])
    with pytest.raises(TypeError, match="must be a str"):
        extension.load_inline("x", b"def f(): pass")


def test_strided_extension_settings():
    ext = extension.StridedExtension("m", ["m.pyx"], include_dirs=["mine"],
                                     extra_compile_args=["-O1"])
    assert ext.include_dirs[-1] == "mine" and ext.include_dirs[:3] == extension.include_paths()
    assert ext.extra_compile_args[-1] == "-O1" and "-fwrapv" in ext.extra_compile_args
    pkg_parent = os.path.dirname(os.path.dirname(strided.__file__))
    assert os.path.isfile(os.path.join(pkg_parent, "strided", "_C", "api.pxd"))
    assert extension.include_paths()[0] == pkg_parent
    from strided._C.core.threads import has_openmp
    assert ("-fopenmp" in ext.extra_link_args) == has_openmp()


# ------------------------------------------------------------------------- LLTM

@pytest.fixture(scope="module")
def lltm_prebuilt(tmp_path_factory):
    """examples/lltm built by its setup.py in a temporary copy of the folder."""
    folder = tmp_path_factory.mktemp("lltm") / "lltm"
    shutil.copytree(LLTM_DIR, folder, ignore=shutil.ignore_patterns("build", "*.so", "*.c"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=folder,
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    built = [f for f in os.listdir(folder) if f.startswith("lltm_cython.") and
             f.endswith((".so", ".pyd"))]
    assert built, os.listdir(folder)
    sys.path.insert(0, str(folder))
    try:
        import lltm
        kernel = lltm.load_kernel("prebuilt")
    finally:
        sys.path.remove(str(folder))
    assert os.path.dirname(kernel.__file__) == str(folder)
    return lltm, kernel


@pytest.fixture(scope="module")
def lltm_jit(lltm_prebuilt, cache):
    lltm, _ = lltm_prebuilt
    before = extension._builds
    # the repository's source, as examples/lltm/jit.py builds it (the same cache key)
    kernel = extension.load("lltm_cython_jit", [os.path.join(LLTM_DIR, "lltm_kernel.pyx")],
                            extra_compile_args=lltm.JIT_COMPILE_ARGS, build_directory=cache)
    assert extension._builds == before + 1 and kernel.__name__ == "lltm_cython_jit"
    return kernel


def _inputs(dtype, layout, B=5, F=7, S=6, seed=0):
    strided.manual_seed(seed)
    x = strided.randn(B, F, dtype=dtype)
    w = strided.randn(3 * S, S + F, dtype=dtype) * 0.5
    b = strided.randn(3 * S, dtype=dtype)
    h = strided.randn(B, S, dtype=dtype)
    c = strided.randn(B, S, dtype=dtype)
    if layout == "transposed":
        x, h, c = (strided.randn(t.shape[1], t.shape[0], dtype=dtype).t() for t in (x, h, c))
        w = strided.randn(S + F, 3 * S, dtype=dtype).t() * 0.5
    elif layout == "stepped":
        x = strided.randn(B, 2 * F, dtype=dtype)[:, ::2]
        c = strided.randn(2 * B, S, dtype=dtype).flip(0)[::2]
    elif layout == "expanded":
        c = strided.randn(1, S, dtype=dtype).expand(B, S)
        b = strided.randn(1, dtype=dtype).expand(3 * S)
    return [x, w, b, h, c]


def _run(fn, args, grad_layout="contiguous"):
    args = [a.detach().requires_grad_() for a in args]
    new_h, new_cell = fn(*args)
    gh = strided.randn(*new_h.shape, dtype=new_h.dtype)
    gc = strided.randn(*new_cell.shape, dtype=new_cell.dtype)
    if grad_layout == "transposed":
        gh, gc = gh.t().contiguous().t(), gc.t().contiguous().t()
    strided.autograd.backward([new_h, new_cell], [gh, gc])
    return [t.detach() for t in [new_h, new_cell] + [a.grad for a in args]]


@pytest.mark.parametrize("dtype", [strided.float32, strided.float64])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "stepped", "expanded"])
def test_lltm_three_ways_agree(lltm_prebuilt, lltm_jit, dtype, layout):
    lltm, prebuilt = lltm_prebuilt
    tol = 2e-5 if dtype == strided.float32 else 1e-12
    args = _inputs(dtype, layout)
    results = []
    for fn in (lltm.lltm_python, lltm.lltm_function(prebuilt).apply,
               lltm.lltm_function(lltm_jit).apply):
        strided.manual_seed(1)
        results.append(_run(fn, args, "transposed" if layout == "transposed" else "contiguous"))
    names = ["new_h", "new_cell", "d_input", "d_weights", "d_bias", "d_old_h", "d_old_cell"]
    for other in results[1:]:
        for name, a, b in zip(names, results[0], other):
            assert a.dtype == b.dtype and a.shape == b.shape, name
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=tol, atol=tol, err_msg=name)
    # one source, two builds: the JIT one adds -march=native, whose FMAs round differently
    close = 1e-6 if dtype == strided.float32 else 1e-14
    for name, a, b in zip(names, results[1], results[2]):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=close, atol=close, err_msg=name)


def test_lltm_gradcheck(lltm_prebuilt, lltm_jit):
    lltm, prebuilt = lltm_prebuilt
    for layout in ["contiguous", "stepped"]:
        args = [a.detach().requires_grad_() for a in _inputs(strided.float64, layout, 3, 4, 5)]
        assert gradcheck(lltm.lltm_python, args)
        assert gradcheck(lltm.lltm_function(prebuilt).apply, args)
        assert gradcheck(lltm.lltm_function(lltm_jit).apply, args)


def test_lltm_modules_and_torch(lltm_prebuilt, lltm_jit):
    lltm, prebuilt = lltm_prebuilt
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    fused = lltm.LLTM(7, 6, lltm_jit, dtype=strided.float64)
    python = lltm.LLTMPython(7, 6, dtype=strided.float64)
    python.load_state_dict(fused.state_dict())
    x, _, _, h, c = _inputs(strided.float64, "contiguous")
    out_f = fused(x, (h, c))
    out_p = python(x, (h, c))
    (out_f[0].sum() + 2 * out_f[1].sum()).backward()
    (out_p[0].sum() + 2 * out_p[1].sum()).backward()
    W = torch.tensor(fused.weights.detach().numpy(), requires_grad=True)
    B = torch.tensor(fused.bias.detach().numpy(), requires_grad=True)
    X = torch.cat([torch.tensor(h.numpy()), torch.tensor(x.numpy())], 1)
    gi, go, gc = TF.linear(X, W, B).chunk(3, 1)
    new_cell = torch.tensor(c.numpy()) + TF.elu(gc) * torch.sigmoid(gi)
    new_h = torch.tanh(new_cell) * torch.sigmoid(go)
    (new_h.sum() + 2 * new_cell.sum()).backward()
    for ours in (out_f, out_p):
        np.testing.assert_allclose(ours[0].detach().numpy(), new_h.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours[1].detach().numpy(), new_cell.detach().numpy(),
                                   rtol=1e-12)
    for model in (fused, python):
        np.testing.assert_allclose(model.weights.grad.numpy(), W.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(model.bias.grad.numpy(), B.grad.numpy(), rtol=1e-10)
    assert out_f[0].grad_fn.name() == "LLTMFunctionBackward"


def test_lltm_kernel_errors(lltm_jit):
    x, w, b, h, c = _inputs(strided.float64, "contiguous")
    with pytest.raises(TypeError, match="old_cell has dtype"):
        lltm_jit.forward(x, w, b, h, c.float())
    with pytest.raises(TypeError, match="must be float32 or float64"):
        lltm_jit.forward(x.long(), w, b, h, c)
    with pytest.raises(RuntimeError, match=r"weights has shape \[18, 12\], expected \[18, 13\]"):
        lltm_jit.forward(x, w[:, :-1], b, h, c)
    with pytest.raises(TypeError, match="old_cell must be a Tensor, but got ndarray"):
        lltm_jit.forward(x, w, b, h, c.numpy())
    with pytest.raises(TypeError, match="old_cell must be a Tensor, but got NoneType"):
        lltm_jit.forward(x, w, b, h, None)
    with pytest.raises(TypeError, match="input and old_h must be Tensors"):
        lltm_jit.forward(None, w, b, h, c)
    with pytest.raises(RuntimeError, match="must be 2-D"):
        lltm_jit.forward(x[0], w, b, h, c)
    with pytest.raises(TypeError, match="grad_h must be a Tensor, but got NoneType"):
        lltm_jit.backward(None, c, c, strided.cat([c, c, c], 1), strided.cat([h, x], 1), w)


def test_lltm_scripts_run(lltm_jit, cache):
    """jit.py finds the build the fixture made (no compiler); benchmark.py prints its
    table (with torch's column when torch is installed)."""
    env = {"STRIDED_EXTENSIONS_DIR": cache, "PYTHONPATH": os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    script = os.path.join(LLTM_DIR, "jit.py")
    proc = subprocess.run([sys.executable, script, "--verbose"], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, **env), timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "using the cached build of extension 'lltm_cython_jit'" in proc.stdout
    assert "gcc" not in proc.stdout and "cython -3" not in proc.stdout
    diffs = proc.stdout.split("outputs ")[1].split(", weight gradients ")
    assert float(diffs[0]) < 1e-12 and float(diffs[1]) < 1e-12, proc.stdout
    script = os.path.join(LLTM_DIR, "benchmark.py")
    proc = subprocess.run([sys.executable, script, "--repeats", "2", "--sizes", "4x5x6,3x2x7"],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, **env),
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if "forward" in l]
    assert len(lines) == 4 and "4 x 5 x 6" in lines[0] and "3 x 2 x 7" in lines[3]
