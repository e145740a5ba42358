"""No import cycles in the package, lazy imports inside functions included, and the core
(strided._C) never imports the layers above it (NOTE [ Autograd hook ] in
strided/_C/core/tensor.pyx).  Edges are Python-level imports: `cimport` is compile-time and
Cython itself refuses cycles there."""
import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "strided")


def _module_name(path):
    rel = os.path.relpath(path, ROOT)
    parts = os.path.splitext(rel)[0].split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources():
    """{module name: (path, source)}; .pxi files count as part of the module that
    includes them (they are named after themselves here, which only adds edges)."""
    out = {}
    for dirpath, _, files in os.walk(PKG):
        for f in files:
            if f.endswith((".py", ".pyx", ".pxi")):
                path = os.path.join(dirpath, f)
                with open(path) as fh:
                    out[_module_name(path)] = (path, fh.read())
    return out


_PYX_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(strided[\w.]*)[ \t]+import[ \t]+\(?([^)\n]*)"
                         r"|import[ \t]+(strided[\w.]*))", re.M)


def _imports(path, src, modules):
    """(module imported, line) pairs: `from a.b import c` is a.b.c when that is a module,
    else a.b; `import a.b.c` is a.b.c."""
    found = []
    if path.endswith(".py"):
        for node in ast.walk(ast.parse(src, path)):
            if isinstance(node, ast.Import):
                found += [(a.name, node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    found.append((sub if sub in modules else node.module, node.lineno))
    else:
        for m in _PYX_IMPORT.finditer(src):
            line = src.count("\n", 0, m.start()) + 1
            if m.group(3):
                found.append((m.group(3), line))
                continue
            for name in re.split(r"[,\s]+", m.group(2)):
                if not name or name == "as":
                    continue
                sub = f"{m.group(1)}.{name}"
                found.append((sub if sub in modules else m.group(1), line))
                break                   # one edge per statement (the first name decides)
    return [(mod, line) for mod, line in found if mod.startswith("strided")]


def import_graph():
    sources = _sources()
    graph = {}
    for name, (path, src) in sources.items():
        graph[name] = {mod: line for mod, line in _imports(path, src, sources)
                       if mod in sources and mod != name}
    return graph


def _cycles(graph):
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(graph[w])))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        comps.append(sorted(comp))
    return comps


def test_no_import_cycles():
    graph = import_graph()
    cycles = _cycles(graph)
    detail = [{m: {d: graph[m][d] for d in graph[m] if d in comp} for m in comp}
              for comp in cycles]
    assert not cycles, f"import cycles (module -> imported module: line): {detail}"


def test_core_never_imports_the_layers_above():
    graph = import_graph()
    up = {name: {d: line for d, line in deps.items() if not d.startswith("strided._C")}
          for name, deps in graph.items() if name.startswith("strided._C")}
    # the pure-data op table is read by the build only; nothing in _C imports Python layers
    assert all(not deps for deps in up.values()), {k: v for k, v in up.items() if v}


def test_the_cycle_check_finds_cycles():
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [
        ["a", "b", "c"]]
    assert _cycles({"a": {"b": 1}, "b": {}}) == []
