"""The Python layers' public API is annotated for type checkers, as the Cython core is by its
stubs (tests/test_stubs.py): every public function, class __init__, public method and
property of strided.nn, strided.optim, strided.utils.data and the Python modules at the top
has an annotation on each parameter (self/cls aside) and on its return, and every annotation
resolves (typing.get_type_hints, names imported only under TYPE_CHECKING included)."""
import ast
import functools
import importlib
import inspect
import os
import sys
import typing

MODULES = [
    "strided.nn", "strided.nn.functional", "strided.nn.init", "strided.nn.parameter",
    "strided.nn.module", "strided.nn.container", "strided.nn.layers", "strided.nn.loss",
    "strided.nn.conv_transpose", "strided.nn.resampling", "strided.nn.utils",
    "strided.optim", "strided.optim.lr_scheduler", "strided.optim.optimizer",
    "strided.utils.data", "strided.data",
    "strided.creation", "strided.random", "strided.serialization", "strided.functional",
    "strided.ops", "strided.typeinfo",
    "strided.autograd", "strided.autograd.grad_mode", "strided.autograd.function",
    "strided.autograd.engine", "strided.autograd.graph", "strided.autograd.gradcheck",
    "strided", "strided.cuda", "strided.accelerator", "strided._config", "strided.viz",
    "strided._deterministic",
]

# Protocol methods that are part of a class's public API (len(dataset), dataset[i], ...).
PUBLIC_DUNDERS = {"__init__", "__new__", "__call__", "__add__", "__getitem__", "__len__",
                  "__iter__", "__next__", "__enter__", "__exit__", "__contains__", "__setitem__",
                  "__delitem__"}


def _public_objects(module):
    """(name, object) for the module's public functions and classes written in Python: the
    names in __all__, else those defined in the module itself, in a module of the package
    (for a package) or in a private module of its package (strided.nn.functional's
    re-exports of strided.nn._functional_*).  For strided itself: its own functions and
    what it re-exports from the modules listed above.  The Cython core (strided._C) has its
    stubs."""
    names = getattr(module, "__all__", None)
    is_package = hasattr(module, "__path__")
    package = module.__name__ if is_package else module.__name__.rpartition(".")[0]
    for name in names if names is not None else sorted(vars(module)):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        origin = getattr(obj, "__module__", "") or ""
        if not origin.startswith("strided") or origin.startswith("strided._C"):
            continue
        if module.__name__ == "strided":
            if origin != "strided" and origin not in MODULES:
                continue
        elif names is None and origin != module.__name__:
            rest = origin[len(package) + 1:] if origin.startswith(package + ".") else None
            if rest is None or not (is_package or rest.startswith("_")):
                continue
        yield name, obj


def _members(cls):
    """(qualified name, function, whether it takes self/cls first) for a strided class's
    public methods, properties and protocol methods, its strided base classes' included."""
    seen = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("strided") or klass.__module__.startswith("strided._C"):
            continue
        for name, attr in vars(klass).items():
            if name in seen or (name.startswith("_") and name not in PUBLIC_DUNDERS):
                continue
            seen.add(name)
            if isinstance(attr, property):
                funcs = [f for f in (attr.fget, attr.fset) if f is not None]
            elif isinstance(attr, (staticmethod, classmethod)):
                funcs = [attr.__func__]
            elif inspect.isfunction(attr):
                funcs = [attr]
            else:
                continue
            for f in funcs:
                # __new__ is a static method taking cls first
                yield (f"{klass.__module__}.{klass.__qualname__}.{name}", f,
                       not isinstance(attr, staticmethod) or name == "__new__")


@functools.lru_cache(maxsize=None)
def _collect():
    """[(qualified name, function, is a method)] over MODULES, each function once."""
    out, seen = [], set()
    for modname in MODULES:
        module = importlib.import_module(modname)
        for name, obj in _public_objects(module):
            if inspect.isfunction(obj):
                items = [(f"{obj.__module__}.{obj.__qualname__}", obj, False)]
            else:
                items = list(_members(obj))
            for qual, f, is_method in items:
                if id(f) not in seen:
                    seen.add(id(f))
                    out.append((qual, f, is_method))
    return out


def _missing(fn, is_method):
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if is_method and params and params[0].kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
        params = params[1:]                 # self / cls
    missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


@functools.lru_cache(maxsize=None)
def _type_checking_namespace(modname):
    """The module's globals plus what its `if TYPE_CHECKING:` blocks import (run now that
    every module is loaded, so no cycle can arise)."""
    module = sys.modules[modname]
    ns = dict(vars(module))
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if (isinstance(node, ast.If) and isinstance(node.test, (ast.Name, ast.Attribute))
                and ast.unparse(node.test).endswith("TYPE_CHECKING")):
            code = compile(ast.Module(body=node.body, type_ignores=[]), modname, "exec")
            exec(code, ns)
    return ns


def test_modules_use_postponed_annotations():
    """`from __future__ import annotations`: annotations cost nothing at run time and may
    name classes imported only for type checkers."""
    import strided
    files = {sys.modules[f.__module__].__file__ for _, f, _ in _collect()}
    # strided/__init__.py itself goes without: the import would bind the public name
    # strided.annotations (its two functions' annotations are evaluated, cheaply, at import).
    files.discard(strided.__file__)
    lacking = []
    for path in sorted(files):
        with open(path) as fh:
            tree = ast.parse(fh.read())
        if not any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                   and any(a.name == "annotations" for a in n.names) for n in tree.body):
            lacking.append(path)
    assert not lacking, "no `from __future__ import annotations` in:\n" + "\n".join(lacking)


def test_public_api_is_annotated():
    items = _collect()
    assert len(items) > 300, len(items)     # the walk found the API
    lacking = []
    for qual, fn, is_method in items:
        missing = _missing(fn, is_method)
        if missing:
            lacking.append(f"{qual}: {', '.join(missing)}")
    assert not lacking, f"{len(lacking)} unannotated:\n" + "\n".join(lacking)


def test_annotations_resolve():
    failures = []
    for qual, fn, _ in _collect():
        ns = _type_checking_namespace(fn.__module__)
        try:
            typing.get_type_hints(fn, globalns=ns)
        except Exception as e:                # noqa: BLE001  (report every failure at once)
            failures.append(f"{qual}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)


def test_no_names_made_through_globals():
    """strided.exp & co. are visible to type checkers: every name strided.ops exports is
    bound by a def, an assignment or an import in strided/ops.py, and no module of the
    package creates names by writing to globals()."""
    import strided.ops
    with open(strided.ops.__file__) as fh:
        tree = ast.parse(fh.read())
    bound = set()
    statements = list(tree.body)
    while statements:                   # module level, into if/try blocks
        node = statements.pop()
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.If, ast.Try)):
            statements += node.body + node.orelse + getattr(node, "handlers", [])
        elif isinstance(node, ast.ExceptHandler):
            statements += node.body
    unbound = sorted(set(strided.ops.__all__) - bound)
    assert not unbound, unbound
    assert {"exp", "add", "sum", "atan2", "where"} <= set(strided.ops.__all__)

    root = os.path.dirname(strided.ops.__file__)
    writers = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(dirpath, f)
            with open(path) as fh:
                tree = ast.parse(fh.read(), path)
            for node in ast.walk(tree):
                call = node.value if isinstance(node, (ast.Subscript, ast.Attribute)) else None
                writes = (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)
                          or isinstance(node, ast.Attribute) and node.attr in (
                              "update", "setdefault", "__setitem__"))
                if (writes and isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id in ("globals", "vars", "locals")):
                    writers.append(f"{path}:{node.lineno}")
    assert not writers, writers
