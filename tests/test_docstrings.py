"""Every public function, class and method has a docstring that says something, so that
help(strided.zeros) and an editor's hover are useful (issue 17, "Docs where a user looks").

The namespaces checked are those a user imports: strided, strided.nn (with functional, init
and utils), strided.optim (with lr_scheduler), strided.data / strided.utils.data,
strided.autograd, strided.viz and the device modules (cuda, accelerator, backends); for
each public class, every public method and property it has (inherited ones included, so
methods of private bases count too).  A Cython docstring that is only the signature line
Cython embeds (`Tensor.sum(self, dim=None, ...)`) counts as missing.  A method overriding a documented one (Linear.forward over Module.forward) inherits
its docstring, as help() shows it.  Attributes without a docstring of their own (Cython
`cdef readonly` fields) count as documented when the class docstring names them.

A new public name must come with a docstring; ALLOWED lists the few that may not, each
with its reason.  Every ">>>" example in these docstrings must run and print what it shows
(EXAMPLES_NOT_RUN lists the illustrations that are not meant to run).
"""
import doctest
import importlib
import inspect
import re
import types

import pytest

import strided

NAMESPACES = ["strided", "strided.nn", "strided.nn.functional", "strided.nn.init",
              "strided.nn.utils", "strided.optim", "strided.optim.lr_scheduler",
              "strided.data", "strided.utils.data", "strided.autograd", "strided.viz",
              "strided.cuda", "strided.accelerator", "strided.backends", "strided.distributed",
              "strided.utils.extension", "strided.linalg"]

# "qualified name": why it has no docstring yet
ALLOWED = {
}


def _modules():
    return [importlib.import_module(name) for name in NAMESPACES]


def _own(obj):
    """True for objects strided defines (not re-exported from the standard library or NumPy)."""
    mod = getattr(obj, "__module__", None) or ""
    return mod == "strided" or mod.startswith("strided.")


def _is_signature_line(line, name):
    """The line Cython's embedsignature puts first: `[Class.]name(args)[ -> type]`."""
    return re.fullmatch(r"(\w+\.)*" + re.escape(name) + r"\(.*\)(\s*->\s*[\w.\[\], ]+)?",
                        line.strip()) is not None


def _says_something(doc, name):
    if not doc or not doc.strip():
        return False
    lines = doc.strip().splitlines()
    if _is_signature_line(lines[0], name):
        return bool("\n".join(lines[1:]).strip())
    return True


def _is_data_descriptor(v):
    return isinstance(v, property) or type(v).__name__ in ("getset_descriptor",
                                                           "member_descriptor")


def _public_names(mod):
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n in dir(mod) if not n.startswith("_")]
    return names


def _class_members(cls):
    """(name, raw attribute, class defining it) for cls's public members defined in strided."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        for klass in cls.__mro__:
            if name in vars(klass):
                break
        else:
            continue
        if klass is object or not (_own(klass) or klass is cls):
            continue
        yield name, vars(klass)[name], klass


def undocumented():
    """Qualified names of the public functions, classes, methods and properties without a
    docstring, each once (a name reached from two namespaces under its first one)."""
    public = {}                                       # id -> (qualified name, object)
    for mod in _modules():
        for name in _public_names(mod):
            obj = getattr(mod, name, None)
            if obj is None or isinstance(obj, (types.ModuleType, strided.DType)):
                continue
            if callable(obj) and _own(obj) and id(obj) not in public:
                public[id(obj)] = (f"{mod.__name__}.{name}", obj)
    missing, seen = [], set()
    for qual, obj in public.values():
        name = qual.rsplit(".", 1)[1]
        own_doc = obj.__doc__ if inspect.isclass(obj) else inspect.getdoc(obj)
        if not _says_something(own_doc, name):
            missing.append(qual)
        if not inspect.isclass(obj):
            continue
        class_doc = obj.__doc__ or ""
        for mname, raw, klass in _class_members(obj):
            key = (id(klass), mname)
            if key in seen:
                continue
            seen.add(key)
            # named after the class defining it (its public name when it has one)
            where = public[id(klass)][0] if id(klass) in public else (
                f"{klass.__module__}.{klass.__qualname__}")
            if isinstance(raw, (staticmethod, classmethod)):
                raw = raw.__func__
            if _is_data_descriptor(raw):
                if _says_something(raw.__doc__, mname):
                    continue
                if re.search(r"\b" + re.escape(mname) + r"\b", klass.__doc__ or class_doc):
                    continue                  # named in the class docstring
                missing.append(f"{where}.{mname}")
                continue
            if not callable(raw):
                continue                      # plain class attributes (constants)
            doc = inspect.getdoc(getattr(obj, mname, raw))
            if not _says_something(doc, mname):
                missing.append(f"{where}.{mname}")
    return missing


def test_every_public_name_has_a_docstring():
    missing = [q for q in undocumented() if q not in ALLOWED]
    assert not missing, (
        f"{len(missing)} public names have no docstring (say what it does: arguments, "
        f"shapes, dtypes, view or copy; Cython methods need more than their signature):\n  "
        + "\n  ".join(missing))


def test_allow_list_is_current():
    """An allowed name that has a docstring now (or is gone) leaves ALLOWED."""
    stale = sorted(set(ALLOWED) - set(undocumented()))
    assert not stale, f"documented now, remove from ALLOWED: {stale}"


# ">>>" examples that are illustrations, not runnable: "qualified name": why
EXAMPLES_NOT_RUN: dict[str, str] = {}


def _examples():
    """(qualified name, docstring, module) of every public docstring holding ">>>"."""
    seen = set()
    for mod in _modules():
        for name in _public_names(mod):
            obj = getattr(mod, name, None)
            if obj is None or isinstance(obj, types.ModuleType) or not callable(obj):
                continue
            if not _own(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            items = [(f"{mod.__name__}.{name}", obj)]
            if inspect.isclass(obj):
                items += [(f"{mod.__name__}.{name}.{m}", raw)
                          for m, raw, klass in _class_members(obj) if klass is obj]
            for qual, o in items:
                if isinstance(o, (staticmethod, classmethod)):
                    o = o.__func__
                doc = getattr(o, "__doc__", None)
                if isinstance(doc, str) and ">>>" in doc:
                    yield qual, doc, mod


def test_docstring_examples_run():
    """Every ">>>" example gives the output it shows, run with strided, nn, F and its
    module's names in scope."""
    import strided.nn.functional as F
    failed = []
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE |
                                   doctest.ELLIPSIS)
    for qual, doc, mod in _examples():
        if qual in EXAMPLES_NOT_RUN:
            continue
        scope = dict(vars(mod), strided=strided, nn=strided.nn, F=F)
        test = doctest.DocTestParser().get_doctest(doc, scope, qual, None, 0)
        report = []
        if runner.run(test, out=report.append).failed:
            failed.append("".join(report))
    assert not failed, "docstring examples that fail:\n" + "\n".join(failed)


@pytest.mark.parametrize("doc, ok", [
    ("Tensor.sum(self, dim=None, keepdim=False, *, dtype=None)", False),
    ("Tensor.sum(self, dim=None)\n\nThe sum over dim.", True),
    ("sum(input, dim=None)", False),
    ("sum(input) -> Tensor", False),
    ("", False),
    ("The sum over dim.", True),
    ("sum(x): the sum of x's elements.", True),
])
def test_signature_only_docstrings_count_as_missing(doc, ok):
    assert _says_something(doc, "sum") is ok
