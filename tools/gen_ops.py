"""Write the GENERATED regions of the Cython core from the op table (NOTE [ Op table ] in
strided/op_table.py).

    python tools/gen_ops.py           rewrite every region that differs from the table
    python tools/gen_ops.py --check   exit 1, naming the stale regions, if any differs

A region is the lines between `# BEGIN GENERATED: <name>` and `# END GENERATED: <name>` in
a source file; the markers stay, the lines between them are this script's.  setup.py runs
it before Cython, so a row added to the table is built without another step.
"""
import argparse
import os
import runpy
import textwrap
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPES = ("float", "double", "uint8_t", "int")


def load_table():
    return runpy.run_path(os.path.join(ROOT, "strided", "op_table.py"))


def _kernel_for(row, ctype):
    """The row's kernel source for one of TYPES, or None when it has none."""
    k = row.kernel
    if isinstance(k, str):
        return k
    general = "floating" if ctype in ("float", "double") else "integer"
    return k.get(ctype, k.get(general))


def _wrap(items, indent, width=92):
    """items joined by ', ' in lines of at most `width` characters."""
    lines, line = [], indent
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if len(line) + len(piece) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += piece + " "
    lines.append(line.rstrip())
    return lines


def _emit_value(src, indent):
    """`return <expr>`, or a statement block, at `indent`."""
    if "\n" in src:
        return [indent + s for s in src.split("\n")]
    return [f"{indent}return {src}"]


def _branches(row, indent):
    """The per-dtype body of one op in _unary / _predicate."""
    by_type = {t: _kernel_for(row, t) for t in TYPES}
    if row.kind == "float":
        by_type["uint8_t"] = by_type["int"] = None
    present = {t: v for t, v in by_type.items() if v is not None}
    if len(set(present.values())) == 1 and len(present) == 4:
        return _emit_value(next(iter(present.values())), indent)
    # group equal sources: float / double / uint8_t / int (int32 and int64)
    conds = {"float": "scalar_t is float", "double": "scalar_t is double",
             "uint8_t": "scalar_t is uint8_t", "int": "scalar_t is int32_t or scalar_t is int64_t"}
    groups = []
    for t in TYPES:
        v = by_type[t]
        if v is None:
            continue
        for g in groups:
            if g[1] == v:
                g[0].append(t)
                break
        else:
            groups.append(([t], v))
    lines = []
    for i, (ts, v) in enumerate(groups):
        last = i == len(groups) - 1 and all(by_type[t] is not None for t in TYPES)
        if last and i > 0:
            lines.append(f"{indent}else:")
        else:
            cond = " or ".join(conds[t] for t in ts)
            if len(ts) == 2 and set(ts) == {"float", "double"}:
                cond = "scalar_t is float or scalar_t is double"
            if set(ts) == {"uint8_t", "int"}:
                cond = "scalar_t is not float and scalar_t is not double"
            lines.append(f"{indent}{'if' if i == 0 else 'elif'} {cond}:")
        lines += _emit_value(v, indent + "    ")
    if not all(by_type[t] is not None for t in TYPES):
        lines.append(f"{indent}return 0             # never called for these dtypes")
    return lines


def _formula(signature, row):
    """One op's formula as its own inline function: `cdef inline <signature>`.

    NOTE [ One function per formula ]
    Cython copies a fused function's whole body once per combination of its fused types
    before it prunes the `if unop_t is ...` branches of each copy.  _unary is fused over the
    op tag and the dtype (42 x 5 copies): with every formula inside it, each copy carried
    all 42 formulas.  Each formula is instead a function fused over the dtype only, and
    _unary's branches are calls to them (likewise _binary).  Cython's time on the
    element-wise module went 17.8 -> 15.9 s; the machine code is the same (gcc inlines the
    calls: every function of the three element-wise builds disassembles to the same
    instructions, three of them with other stack slots)."""
    lines = [f"cdef inline {signature} noexcept nogil:"]
    if row.note:
        lines += textwrap.wrap(row.note, 92, initial_indent="    # ",
                               subsequent_indent="    # ")
    return lines + _branches(row, "    ") + ["", ""]


def _formula_switch(name, fused, rows, params, last_param):
    """The rows' formula functions (_formula: _u_<op> for name _unary, _b_<op> for _binary)
    and `name`, fused over the op tag `fused` and the dtype: a switch of calls to them
    (NOTE [ One function per formula ]).  The parameters are `params, last_param` (C
    declarations)."""
    prefix = name[:2] + "_"                 # "_unary" -> "_u_"
    names = [p.split()[-1].lstrip("*") for p in (params + ", " + last_param).split(", ")]
    lines = []
    for r in rows:
        lines += _formula(f"scalar_t {prefix}{r.name}({params}, {last_param})", r)
    lines += [f"cdef inline scalar_t {name}({fused}* op, {params},",
              " " * (len(name) + 22) + f"{last_param}) noexcept nogil:"]
    for i, r in enumerate(rows):
        lines.append(f"    {'if' if i == 0 else 'elif'} {fused} is {r.tag}:")
        lines.append(f"        return {prefix}{r.name}({', '.join(names)})")
    return lines + ["    return 0"]


def regions(table):
    """{(relative path, region name): text of the region's lines}."""
    rows = table["UNARY"]
    values = [r for r in rows if r.kind != "bool"]
    preds = [r for r in rows if r.kind == "bool"]
    kinds = [r.kind for r in rows]
    if kinds != sorted(kinds, key=("any", "float", "bool").index):
        raise SystemExit("op_table.UNARY: rows must come as kind 'any', then 'float', then "
                         "'bool' (the kernels test ranges of op codes)")
    first_float = next(r for r in rows if r.kind == "float")
    first_bool = preds[0]
    out = {}

    # ---- the enum ----
    lines = ["cdef enum UnaryOp:"]
    for kind, title in (("any", "every dtype, result in the input's dtype"),
                        ("float", "floating point only (the Tensor layer promotes integer "
                                  "inputs first)"),
                        ("bool", "bool result")):
        lines.append(f"    # {title}")
        lines += _wrap([r.code for r in rows if r.kind == kind], "    ")
        lines[-1] += ","
    lines += ["    NUM_UNARY_OPS", "", "cdef enum:",
              f"    U_FLOAT_FIRST = {first_float.code}    # the first floating-point-only op",
              f"    U_BOOL_FIRST = {first_bool.code}      # the first op with a bool result"]
    out[("strided/_C/kernels/elementwise.pxd", "unary enum")] = lines

    # ---- cimports of the codes ----
    cim = ["from strided._C.kernels.elementwise cimport ("]
    cim += _wrap([r.code for r in rows] + ["U_FLOAT_FIRST", "U_BOOL_FIRST"], "    ")
    cim[-1] += ")"
    out[("strided/_C/ops/elementwise.pxi", "unary codes")] = cim
    out[("strided/_C/kernels/elementwise_baseline.pyx", "unary codes")] = cim

    # ---- kernel tags, formulas and dispatch ----
    lines = []
    for r in rows:
        lines += [f"cdef struct {r.tag}:", "    char unused"]
    lines += ["", "ctypedef fused unop_t:"] + [f"    {r.tag}" for r in values]
    lines += ["", "ctypedef fused predop_t:"] + [f"    {r.tag}" for r in preds]
    out[("strided/_C/kernels/elementwise_rows.pxi", "unary tags")] = lines

    lines = _formula_switch("_unary", "unop_t", values, "scalar_t x, scalar_t p0, scalar_t p1",
                            "int flags")
    lines += ["", "",
              "cdef inline uint8_t _predicate(predop_t* op, scalar_t x) noexcept nogil:"]
    for i, r in enumerate(preds):
        lines.append(f"    {'if' if i == 0 else 'elif'} predop_t is {r.tag}:")
        lines += _branches(r, "        ")
    lines.append("    return 0")
    out[("strided/_C/kernels/elementwise_rows.pxi", "unary kernels")] = lines

    lines = ["cdef inline void _unary_dispatch(scalar_t* ty, char** p, const int64_t* s, "
             "int64_t n,", "                                 OpArgs* a) noexcept nogil:",
             "    cdef int op = a.op"]
    for i, r in enumerate(r for r in values if r.kind == "any"):
        lines.append(f"    {'if' if i == 0 else 'elif'} op == {r.code}:")
        lines.append(f"        _unary_row(<{r.tag}*>NULL, ty, p, s, n, a)")
    lines += ["    elif op < U_BOOL_FIRST:",
              "        # floating-point-only ops: built for float and double only",
              "        if scalar_t is float or scalar_t is double:"]
    for i, r in enumerate(r for r in values if r.kind == "float"):
        lines.append(f"            {'if' if i == 0 else 'elif'} op == {r.code}:")
        lines.append(f"                _unary_row(<{r.tag}*>NULL, ty, p, s, n, a)")
    for r in preds:
        lines.append(f"    elif op == {r.code}:")
        lines.append(f"        _predicate_row(<{r.tag}*>NULL, ty, p, s, n)")
    out[("strided/_C/kernels/elementwise_rows.pxi", "unary dispatch")] = lines

    out.update(binary_regions(table["BINARY"]))

    # ---- names, methods, stubs ----
    public = [r for r in rows if r.forms in ("method", "functional")]
    lines = ["UNARY_OPS = {"]
    lines += _wrap([f'"{r.name}": {r.code}' for r in public], "    ")
    lines[-1] += "}"
    out[("strided/_C/ops/elementwise.pxi", "unary names")] = lines
    lines = ["cdef dict _NO_INTEGER_KERNEL = {   # ops that refuse integer and bool inputs"]
    lines += _wrap([f'{r.code}: "{r.no_ints}"' for r in rows if r.no_ints], "    ")
    lines[-1] += "}"
    out[("strided/_C/ops/elementwise.pxi", "unary integer refusals")] = lines

    lines, stub = [], []
    for r in (r for r in rows if r.forms == "method"):
        what = ("whether each element is " + r.name[2:]) if r.kind == "bool" \
            and r.name.startswith("is") else f"{r.name} of each element"
        lines += [f"def {r.name}(self):",
                  f'    """{what[0].upper() + what[1:]} (a new tensor).  The op table\'s row '
                  f'{r.name!r}."""',
                  f'    return _unary({r.code}, self, None, "{r.name}")', ""]
        stub.append(f"def {r.name}(self) -> Tensor: ...")
        if r.kind != "bool" or r.name == "logical_not":
            lines += [f"def {r.name}_(self):",
                      f'    """{r.name}, in place; returns self."""',
                      f'    return _unary({r.code}, self, self, "{r.name}_")', ""]
            stub.append(f"def {r.name}_(self) -> Tensor: ...")
    out[("strided/_C/core/tensor.pyx", "unary methods")] = lines[:-1]
    out[("strided/_C/core/tensor.pyi", "unary methods")] = stub

    # the function forms strided.exp(input, *, out=None), strided.atan2(input, other, ...)
    lines = []
    for r in (r for r in rows if r.forms == "method"):
        lines += ["", "",
                  f"def {r.name}(input: Tensor, *, out: Tensor | None = None) -> Tensor:",
                  f'    """Element-wise {r.name}(input), into out when given.',
                  "", f'    Tensor.{r.name} is the method form."""',
                  f'    return _core.unary_op(_UNARY["{r.name}"], input, out, "{r.name}")']
    for r in (r for r in table["BINARY"] if r.forms == "function" and r.methods != "manual"):
        o = "other" if r.other == "other" else r.other
        head = f"def {r.name}(input: Tensor | Number, {o}: Tensor | Number, *,"
        tail = "out: Tensor | None = None) -> Tensor:"
        sig = ([f"{head} {tail}"] if len(head) + len(tail) < 100
               else [head, " " * (len(r.name) + 5) + tail])
        lines += ["", "", *sig,
                  f'    """Element-wise {r.name}(input, {o}), broadcasting, into out when given.',
                  "", f'    Tensor.{r.name} is the method form."""',
                  f'    return _core.binary_op(_BINARY["{r.name}"], input, {o}, out)']
    out[("strided/ops.py", "functions")] = lines[2:]
    return out


def binary_regions(rows):
    values = [r for r in rows if r.kind != "bool"]
    compares = [r for r in rows if r.kind == "bool"]
    if [r.kind for r in rows] != sorted((r.kind for r in rows), key=("any", "bool").index):
        raise SystemExit("op_table.BINARY: rows must come as kind 'any', then 'bool'")
    out = {}
    lines = ["cdef enum BinaryOp:", "    # result in the promoted dtype"]
    lines += _wrap([r.code for r in values], "    ")
    lines[-1] += ","
    lines.append("    # bool result")
    lines += _wrap([r.code for r in compares], "    ")
    lines[-1] += ","
    lines += ["    NUM_BINARY_OPS", "", "cdef enum:",
              f"    B_BOOL_FIRST = {compares[0].code}      # the first op with a bool result"]
    out[("strided/_C/kernels/elementwise.pxd", "binary enum")] = lines

    cim = ["from strided._C.kernels.elementwise cimport ("]
    cim += _wrap([r.code for r in rows] + ["B_BOOL_FIRST"], "    ")
    cim[-1] += ")"
    out[("strided/_C/ops/elementwise.pxi", "binary codes")] = cim
    out[("strided/_C/kernels/elementwise_baseline.pyx", "binary codes")] = cim

    lines = []
    for r in rows:
        lines += [f"cdef struct {r.tag}:", "    char unused"]
    lines += ["", "ctypedef fused binop_t:"] + [f"    {r.tag}" for r in values]
    lines += ["", "ctypedef fused cmpop_t:"] + [f"    {r.tag}" for r in compares]
    out[("strided/_C/kernels/elementwise_rows.pxi", "binary tags")] = lines

    lines = _formula_switch("_binary", "binop_t", values, "scalar_t x, scalar_t y, scalar_t p0",
                            "int* err")
    lines += ["", "",
              "cdef inline bint _branch_free(binop_t* op) noexcept nogil:",
              '    """A formula without branches: a plain strided loop beats gathering."""',
              *textwrap.wrap("    return (" + " or ".join(f"binop_t is {r.tag}" for r in values
                                                    if r.branch_free) + ")",
                             92, subsequent_indent="            "),
              "", "",
              "cdef inline uint8_t _compare(cmpop_t* op, scalar_t x, scalar_t y) noexcept nogil:"]
    for i, r in enumerate(compares):
        lines.append(f"    {'if' if i == 0 else 'elif'} cmpop_t is {r.tag}:")
        lines += _branches(r, "        ")
    lines.append("    return 0")
    out[("strided/_C/kernels/elementwise_rows.pxi", "binary kernels")] = lines

    lines = ["cdef inline void _binary_dispatch(scalar_t* ty, char** p, const int64_t* s, "
             "int64_t n,", "                                  OpArgs* a) noexcept nogil:",
             "    cdef int op = a.op"]
    for i, r in enumerate(values):
        lines.append(f"    {'if' if i == 0 else 'elif'} op == {r.code}:")
        lines.append(f"        _binary_row(<{r.tag}*>NULL, ty, p, s, n, a)")
    for r in compares:
        lines.append(f"    elif op == {r.code}:")
        lines.append(f"        _compare_row(<{r.tag}*>NULL, ty, p, s, n)")
    out[("strided/_C/kernels/elementwise_rows.pxi", "binary dispatch")] = lines

    lines = ["BINARY_OPS = {"]
    lines += _wrap([f'"{r.name}": {r.code}' for r in rows if r.forms == "function"], "    ")
    lines[-1] += "}"
    lines += ["INTERNAL_BINARY_OPS = {   # op codes with no public form (backward kernels)"]
    lines += _wrap([f'"{r.name}": {r.code}' for r in rows if r.forms == "internal"], "    ")
    lines[-1] += "}"
    out[("strided/_C/ops/elementwise.pxi", "binary names")] = lines
    lines = ["cdef frozenset _FLOAT_RESULT = frozenset({   # integer operands compute in float32"]
    lines += _wrap([r.code for r in rows if r.ints == "float"], "    ")
    lines[-1] += "})"
    classes = {"float": 1, "int": 2, "bool": 4}
    lines += ["cdef dict _NO_KERNEL = {   # op: (PyTorch's kernel name, refused classes: "
              "1 float, 2 int, 4 bool)"]
    lines += _wrap([f'{r.code}: ("{r.no_kernel[0]}", '
                    f'{sum(classes[c] for c in r.no_kernel[1])})'
                    for r in rows if r.no_kernel], "    ")
    lines[-1] += "}"
    out[("strided/_C/ops/elementwise.pxi", "binary dtype rules")] = lines
    lines = ["cdef object _BINARY_NAMES = {"]
    lines += _wrap([f'{r.code}: "{r.message}"' for r in rows], "    ")
    lines[-1] += "}"
    out[("strided/_C/ops/elementwise.pxi", "binary messages")] = lines

    lines, stub = [], []
    for r in (r for r in rows if r.methods != "manual"):
        o = r.other
        what = "a bool tensor" if r.kind == "bool" else "a new tensor"
        lines += [f"def {r.name}(self, {o}):",
                  f'    """Element-wise {r.name}(self, {o}), broadcasting ({what}).',
                  "", f'    The op table\'s row {r.name!r}."""',
                  f"    return _binary({r.code}, self, {o}, None, None, False)", ""]
        stub.append(f"def {r.name}(self, {o}: _TensorOrScalar) -> Tensor: ...")
        if r.methods == "both":
            lines += [f"def {r.name}_(self, {o}):",
                      f'    """{r.name}, in place; returns self."""',
                      f"    return _binary({r.code}, self, {o}, self, None, False)", ""]
            stub.append(f"def {r.name}_(self, {o}: _TensorOrScalar) -> Tensor: ...")
    out[("strided/_C/core/tensor.pyx", "binary methods")] = lines[:-1]
    out[("strided/_C/core/tensor.pyi", "binary methods")] = stub
    return out


def apply(check=False):
    """Rewrite (or, with check, compare) every region; returns the stale ones."""
    wanted = regions(load_table())
    stale = []
    for path in sorted({p for p, _ in wanted}):
        full = os.path.join(ROOT, path)
        with open(full) as f:
            lines = f.read().split("\n")
        result, i = [], 0
        names = {name for p, name in wanted if p == path}
        found = set()
        while i < len(lines):
            line = lines[i]
            result.append(line)
            stripped = line.strip()
            if stripped.startswith("# BEGIN GENERATED: "):
                name = stripped[len("# BEGIN GENERATED: "):].split(" (")[0]
                indent = line[:len(line) - len(line.lstrip())]
                end = i + 1
                while not lines[end].strip().startswith(f"# END GENERATED: {name}"):
                    end += 1
                body = [(indent + s) if s else "" for s in wanted[(path, name)]]
                if lines[i + 1:end] != body:
                    stale.append(f"{path}: {name}")
                result += body
                found.add(name)
                i = end
                continue
            i += 1
        missing = names - found
        if missing:
            raise SystemExit(f"{path}: no GENERATED region named {sorted(missing)}")
        text = "\n".join(result)
        if not check and stale and any(s.startswith(path + ":") for s in stale):
            with open(full, "w") as f:
                f.write(text)
    return stale


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="only report stale regions")
    a = p.parse_args()
    stale = apply(check=a.check)
    for s in stale:
        print(("stale: " if a.check else "rewrote: ") + s)
    if a.check and stale:
        sys.exit(1)


if __name__ == "__main__":
    main()
