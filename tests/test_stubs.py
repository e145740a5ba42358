"""The type stubs of the Cython modules (strided/_C/core/*.pyi) can't silently fall behind: every
public Tensor attribute and module-level function is declared, with the compiled
signature's parameter names, kinds and defaults; the stubs are shipped (py.typed,
package-data)."""
import ast
import inspect
import os
import subprocess
import sys

import pytest

import strided
import strided._C.core.tensor as tensor_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUB = os.path.join(ROOT, "strided", "_C", "core", "tensor.pyi")


def parse_stub(path=STUB):
    with open(path) as f:
        return ast.parse(f.read(), path)


def class_members(tree, name):
    """{member name: [FunctionDef, ...] or [AnnAssign]} of class `name` in a stub."""
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    members = {}
    for node in cls.body:
        if isinstance(node, ast.FunctionDef):
            members.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            members.setdefault(node.target.id, []).append(node)
    return members


def module_names(tree):
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def is_overload(fn):
    return any(isinstance(d, ast.Name) and d.id == "overload" for d in fn.decorator_list)


def stub_params(fn):
    """[(name, kind, default)] of a stub def, default a value or inspect.Parameter.empty."""
    a = fn.args
    out = []
    positional = a.posonlyargs + a.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(a.defaults)) + [
        ast.literal_eval(d) for d in a.defaults]
    for i, (arg, default) in enumerate(zip(positional, defaults)):
        kind = (inspect.Parameter.POSITIONAL_ONLY if i < len(a.posonlyargs)
                else inspect.Parameter.POSITIONAL_OR_KEYWORD)
        out.append((arg.arg, kind, default))
    if a.vararg:
        out.append((a.vararg.arg, inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.empty))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, inspect.Parameter.KEYWORD_ONLY,
                    inspect.Parameter.empty if default is None else ast.literal_eval(default)))
    if a.kwarg:
        out.append((a.kwarg.arg, inspect.Parameter.VAR_KEYWORD, inspect.Parameter.empty))
    return out


def runtime_params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def public_tensor_attributes():
    return [n for n in dir(strided.Tensor) if not n.startswith("_")]


def test_every_public_tensor_attribute_is_in_the_stub():
    declared = class_members(parse_stub(), "Tensor")
    missing = [n for n in public_tensor_attributes() if n not in declared]
    assert not missing, f"add these Tensor attributes to strided/_C/core/tensor.pyi: {missing}"


def test_stub_declares_nothing_tensor_lacks():
    declared = class_members(parse_stub(), "Tensor")
    extra = [n for n in declared if not hasattr(strided.Tensor, n)]
    assert not extra, f"strided/_C/core/tensor.pyi declares what Tensor lacks: {extra}"


def test_every_public_module_function_is_in_the_stub():
    declared = module_names(parse_stub())
    public = [n for n, v in vars(tensor_module).items() if not n.startswith("_")
              and getattr(v, "__module__", None) == tensor_module.__name__]
    public += [n for n in ("BINARY_OPS", "UNARY_OPS", "values_indices")]
    missing = [n for n in public if n not in declared]
    assert not missing, f"add these to strided/_C/core/tensor.pyi: {missing}"


def test_tensor_method_signatures_match_the_stub():
    """Names, kinds and defaults of every (non-overloaded) method's parameters."""
    mismatched = []
    for name, defs in class_members(parse_stub(), "Tensor").items():
        fn = defs[0]
        if not isinstance(fn, ast.FunctionDef) or any(map(is_overload, defs)) or \
                any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list):
            continue
        try:
            want = runtime_params(getattr(strided.Tensor, name))
        except (TypeError, ValueError):       # slot wrappers without a signature
            continue
        if name.startswith("__"):
            # slot wrappers: their names and positional-only markers are CPython's (the
            # stubtest test checks those); compare the parameter count, * / ** and defaults
            got, want = (
                [(k if k != inspect.Parameter.POSITIONAL_ONLY
                  else inspect.Parameter.POSITIONAL_OR_KEYWORD, d) for _, k, d in params]
                for params in (stub_params(fn), want))
        else:
            got = stub_params(fn)
        if got != want:
            mismatched.append(f"{name}: stub {got} != runtime {want}")
    assert not mismatched, "\n".join(mismatched)


def test_overloaded_methods_cover_the_runtime_parameters():
    members = class_members(parse_stub(), "Tensor")
    for name, defs in members.items():
        if not any(isinstance(d, ast.FunctionDef) and is_overload(d) for d in defs):
            continue
        runtime = {p for p, _, _ in runtime_params(getattr(strided.Tensor, name))}
        declared = {p for d in defs for p, _, _ in stub_params(d)}
        assert declared <= runtime, (name, declared - runtime)
        assert runtime <= declared, (name, runtime - declared)


def test_module_function_signatures_match_the_stub():
    mismatched = []
    for node in parse_stub().body:
        if isinstance(node, ast.FunctionDef):
            want = runtime_params(getattr(tensor_module, node.name))
            if stub_params(node) != want:
                mismatched.append(f"{node.name}: stub {stub_params(node)} != runtime {want}")
    assert not mismatched, "\n".join(mismatched)


def test_stubs_are_shipped():
    assert os.path.exists(os.path.join(ROOT, "strided", "py.typed"))
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        package_data = tomllib.load(f)["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["strided"]
    assert "*.pyi" in package_data["strided._C.core"]
    for name in ("tensor", "dtypes", "storage"):
        assert os.path.exists(os.path.join(ROOT, "strided", "_C", "core", name + ".pyi"))


def test_mypy_stubtest_agrees(tmp_path):
    """mypy's stubtest compares the stubs with the compiled modules (types of defaults,
    positional-only slots, missing names); Cython's own module attributes are allowed."""
    pytest.importorskip("mypy.stubtest")
    allow = tmp_path / "allowlist.txt"
    allow.write_text("strided\\._C\\.core\\.\\w+\\.__pyx_capi__\n"
                     "strided\\._C\\.core\\.\\w+\\.__test__\n")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nfollow_imports = silent\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "strided._C.core.tensor",
         "strided._C.core.dtypes", "strided._C.core.storage", "--allowlist", str(allow), "--mypy-config-file", str(config),
         "--ignore-disjoint-bases"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT, MYPYPATH=ROOT))
    assert proc.returncode == 0, proc.stdout + proc.stderr
