"""The ``storage-map`` directive: run Python at build time and draw the storage maps.

    .. storage-map::
       :show: v

       t = strided.arange(12).view(3, 4)
       v = t[1:, ::2]
       print(v.stride())

shows the code, what it printed, and ``strided.viz.storage_map(v, format="svg")`` for each
name in ``:show:`` (space separated), embedded in the HTML page; ``:chain: v`` draws
``strided.viz.view_chain(v, format="svg")`` instead, each step from the base to ``v``.
The pictures are drawn from the tensors the code made, never by hand.

The code runs in one namespace per page (``import strided`` done), so later directives see
the names earlier ones defined.  Code that raises fails the build, naming the page and the
line; ``:raises: RuntimeError`` instead expects the last statement to raise that exception
and shows its message as part of the output (the build fails if nothing is raised).
"""
from __future__ import annotations

import contextlib
import html
import io
import textwrap
import traceback

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.errors import SphinxError
from sphinx.util.docutils import SphinxDirective



class StorageMapError(SphinxError):
    category = "storage-map code failed"


_NAMESPACE = "storage_maps_namespace"    # key in the data Sphinx keeps for one page


def _namespace(env) -> dict:
    page = getattr(env, "current_document", None) or env.temp_data   # Sphinx >= 8.1 / older
    ns = page.get(_NAMESPACE)
    if ns is None:
        import strided
        ns = page[_NAMESPACE] = {"strided": strided, "__name__": "__docs__"}
    return ns


class StorageMap(SphinxDirective):
    has_content = True
    option_spec = {
        "show": directives.unchanged,
        "chain": directives.unchanged,
        "raises": directives.unchanged,
        "hide-code": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        source, line = self.get_source_info()
        code = "\n".join(self.content)
        ns = _namespace(self.env)
        expected = self.options.get("raises")
        # Pad so that line numbers in tracebacks are the page's own.
        compiled = compile("\n" * self.content_offset + code, source, "exec")
        out = io.StringIO()
        raised = None
        try:
            with contextlib.redirect_stdout(out):
                exec(compiled, ns)
        except Exception as err:  # noqa: BLE001 -- reported below, with the page and line
            raised = err
        if raised is not None and not (expected and type(raised).__name__ == expected):
            tb = "".join(traceback.format_exception(raised))
            raise StorageMapError(f"{source}:{line}: the storage-map code raised\n{tb}")
        if expected and raised is None:
            raise StorageMapError(f"{source}:{line}: the storage-map code was expected to "
                                 f"raise {expected}, but it ran without error")
        printed = out.getvalue()
        if raised is not None:       # wrapped to the width of the code, as a terminal would
            printed += textwrap.fill(f"{type(raised).__name__}: {raised}", width=88,
                                     break_long_words=False, break_on_hyphens=False) + "\n"

        result: list[nodes.Node] = []
        if "hide-code" not in self.options:
            result.append(self._literal(code, "python"))
        if printed:
            result.append(self._literal(printed.rstrip("\n"), "text", "storage-map-output"))
        for option in ("show", "chain"):
            for name in self.options.get(option, "").split():
                if name not in ns:
                    raise StorageMapError(f"{source}:{line}: :{option}: names {name!r}, "
                                          f"which the code did not define")
                result.append(self._picture(name, ns[name], option == "chain"))
        return result

    def _literal(self, text: str, language: str, cls: str | None = None) -> nodes.Node:
        block = nodes.literal_block(text, text, language=language)
        if cls:
            block["classes"].append(cls)
        self.set_source_info(block)
        return block

    def _picture(self, name: str, tensor, chain: bool) -> nodes.Node:
        from strided.viz import storage_map, view_chain
        svg = (view_chain if chain else storage_map)(tensor, format="svg")
        what = "how the view" if chain else "storage map of"
        tail = " was made from its base" if chain else ""
        markup = (f'<figure class="storage-map-figure">{svg}<figcaption>{what} '
                  f'<code>{html.escape(name)}</code>{tail}</figcaption></figure>')
        return nodes.raw("", markup, format="html")


def setup(app):
    app.add_directive("storage-map", StorageMap)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
