"""Sphinx configuration for strided's documentation site.

Build from the repository's root with ``sphinx-build -W -b html docs docs/_build/html``.
The API reference pages in ``api/`` list every public name in ``autosummary`` tables; the
stub page of each name is generated into ``api/generated/`` at build time (not committed).
"""
from __future__ import annotations

import os
import sys

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
    "sphinx.ext.mathjax",
]
if os.path.exists(os.path.join(HERE, "_ext", "storage_maps.py")):
    sys.path.insert(0, os.path.abspath(os.path.join(HERE, "_ext")))
    extensions.append("storage_maps")

# No intersphinx: the build must not need the network.
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["strided.css"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
# The annotations are strings (``from __future__ import annotations``); aliases stay short.
autodoc_type_aliases = {}
add_module_names = False
napoleon_google_docstring = True
napoleon_numpy_docstring = True

html_theme = "furo"
html_title = f"strided {release}"
html_theme_options = {
    "sidebar_hide_name": False,
}
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None

# Entries of index.rst's toctree whose page is not written yet are left out, so that the
# build stays free of warnings while the pages are added one by one.
_PLANNED = ("tutorials/storage_strides_views", "guides/receptive_field", "guides/conv_as_gemm",
            "guides/coming_from_pytorch", "guides/coming_from_numpy", "gallery/index")


def _drop_unwritten_pages(app, docname, source):
    if docname != "index":
        return
    lines = source[0].splitlines(keepends=True)
    keep = [line for line in lines
            if line.strip() not in _PLANNED
            or os.path.exists(os.path.join(HERE, line.strip() + ".rst"))]
    source[0] = "".join(keep)


def setup(app):
    app.connect("source-read", _drop_unwritten_pages)
