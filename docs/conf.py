"""Sphinx configuration for strided's documentation site.

Build from the repository's root with ``sphinx-build -W -b html docs docs/_build/html``.
The API reference pages in ``api/`` name every public name in ``.. api::`` blocks, which
document them from their docstrings (tests/test_docs.py checks that none is missing).
"""
from __future__ import annotations

import importlib
import inspect
import os
import re
import sys

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The checkout's strided (built in place) comes before any installed copy.
sys.path.insert(0, ROOT)

project = "strided"
author = "the strided developers"
copyright = "the strided developers"

import strided  # noqa: E402  (after the path set-up above)

version = release = strided.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
]
if os.path.exists(os.path.join(HERE, "_ext", "storage_maps.py")):
    sys.path.insert(0, os.path.abspath(os.path.join(HERE, "_ext")))
    extensions.append("storage_maps")

# No intersphinx and no MathJax: the build and the pages must not need the network.
html_static_path = ["_static"]
html_css_files = ["strided.css"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]

# The API pages list their names in ``.. api::`` blocks (below): a summary table and each
# name's documentation on the page itself, no page per name (a site of ~900 small pages
# built ten times slower and gave the sidebar ~900 entries).
autosummary_generate = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
add_module_names = False
napoleon_google_docstring = True
napoleon_numpy_docstring = True

# Docstrings quote Python strings ("svg", "mean"): keep the quotes straight.
smartquotes = False

html_theme = "furo"
html_title = f"strided {release}"
html_theme_options = {
    "sidebar_hide_name": False,
}
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None

# NOTE [ Plain-text docstrings ]
# strided's docstrings are written for help() and an editor's hover: plain text, with
# ">>>" examples, ``code`` spans and indented blocks (formulas, pseudo-code, text maps),
# not reStructuredText. _plain_text_to_rst renders them as written: it drops the signature
# lines Cython puts first (the page shows the signature), escapes the characters that
# reStructuredText would read as markup (* | \ and a trailing _), turns `x` into ``x``,
# shows each indented block as preformatted text and each ">>>" example as a doctest
# block. A docstring written for Sphinx (NumPy or Google sections, or Sphinx roles) is left
# as it is, for napoleon and Sphinx to read.
_SECTIONS = re.compile(r"^(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?|"
                       r"See Also|Attributes):?\s*$", re.M)
_ROLE = re.compile(r":(func|class|meth|attr|mod|doc|ref|math):`")
_CODE = re.compile(r"(``.+?``)")


def _escape(text: str) -> str:
    text = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)
    out = []
    for i, part in enumerate(_CODE.split(text)):
        if i % 2:                       # a ``code`` span: as written
            out.append(part)
            continue
        part = part.replace("\\", "\\\\")
        part = re.sub(r"([*|`])", r"\\\1", part)
        part = re.sub(r"(?<=\w)_(?=\W|$)", r"\\_", part)
        out.append(part)
    return "".join(out)


def _is_signature(line: str, name: str) -> bool:
    """The line Cython's embedsignature puts first (or one like it): name(args) -> type."""
    return re.fullmatch(r"(\w+\.)*" + re.escape(name) + r"\((?:[^()]|\([^()]*\))*\)"
                        r"(\s*->\s*[\w.\[\], |]+)?",
                        line.strip()) is not None


def _plain_text_to_rst(app, what, name, obj, options, lines):
    if not name.startswith("strided") or not lines:
        return
    text = "\n".join(lines)
    if _SECTIONS.search(text) or _ROLE.search(text):
        return
    short = name.rsplit(".", 1)[-1]
    while lines and (_is_signature(lines[0], short) or not lines[0].strip()):
        del lines[0]
    out: list[str] = []
    mode = "prose"                      # prose | doctest | block
    for line in lines:
        indented = line[:1] in (" ", "\t") and line.strip()
        if mode == "block" and (indented or not line.strip()):
            out.append("   " + line if line.strip() else "")
            continue
        if mode == "block":             # the first line back at the margin
            out.append("")
            mode = "prose"
        if not line.strip():
            mode = "prose"
            out.append("")
            continue
        if mode == "doctest":
            out.append(line)
            continue
        if line.lstrip().startswith(">>>") and not indented:
            if out and out[-1]:
                out.append("")
            out.append(line)
            mode = "doctest"
            continue
        if indented:
            if out and out[-1]:
                out.append("")
            out += [".. code-block:: text", "", "   " + line]
            mode = "block"
            continue
        out.append(_escape(line))
    lines[:] = out


# The ``.. api::`` directive: for the names it lists (relative to the current module), a
# summary table linking to each, then each one's documentation, on the page itself.
def _resolve(modname: str, dotted: str):
    obj = importlib.import_module(modname)
    for part in dotted.split("."):
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
    return obj


def _autodoc_for(obj) -> tuple[str, list[str]]:
    if inspect.isclass(obj):
        return "autoclass", [":members:", ":show-inheritance:"]
    if isinstance(obj, property):
        return "autoproperty", []
    if type(obj).__name__ in ("getset_descriptor", "member_descriptor"):
        return "autoattribute", []
    if isinstance(obj, (staticmethod, classmethod)) or type(obj).__name__ in (
            "method_descriptor", "cython_function_or_method", "function"):
        return None, []               # decided by the caller: method or function
    if callable(obj):
        return "autofunction", []
    return "autodata", []


class ApiDirective(SphinxDirective):
    has_content = True

    def run(self) -> list[nodes.Node]:
        modname = self.env.ref_context.get("py:module")
        source, _ = self.get_source_info()
        names = [line.strip() for line in self.content if line.strip()]
        rst = [".. autosummary::", ""] + [f"   {name}" for name in names] + [""]
        for name in names:
            directive, opts = _autodoc_for(_resolve(modname, name))
            if directive is None:
                directive = "automethod" if "." in name else "autofunction"
            rst += [f".. {directive}:: {name}"] + [f"   {o}" for o in opts] + [""]
        holder = nodes.Element()
        self.state.nested_parse(StringList(rst, source=source), self.content_offset, holder)
        return holder.children


def setup(app):
    app.connect("autodoc-process-docstring", _plain_text_to_rst, priority=400)
    app.add_directive("api", ApiDirective)
