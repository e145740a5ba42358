"""The documentation site (docs/) is checked like code.

- It builds with Sphinx with warnings as errors (once per run of this module, into a
  temporary directory; the pages of the other tests read that build).
- Its API reference documents every public name of strided's public modules and every
  method and property of Tensor, each with a description.
- Every link inside the built site resolves: the file exists and so does the #anchor.
- Every ">>>" example in the docstrings of strided's modules, and in the .rst pages, runs
  and prints what it shows.
- In headless Chromium (Debian's package, driven over the DevTools protocol on a pipe), the
  tutorial's storage maps are drawn: each svg.storage-map's screenshot is not blank and
  shows as many highlighted cells (connected regions of a covered cell's fill colour) as
  its data-covered says.  Skipped, saying why, only where no Chromium is installed.
"""
from __future__ import annotations

import base64
import doctest
import fcntl
import glob
import html.parser
import importlib
import inspect
import io
import json
import os
import pkgutil
import re
import select
import shutil
import subprocess
import sys
import time
import types
import urllib.parse

import numpy as np
import pytest

import strided
import strided.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
TUTORIAL = "tutorials/storage_strides_views.html"

# The modules whose public names the API reference must document.
MODULES = ["strided", "strided.nn", "strided.nn.functional", "strided.nn.init",
           "strided.nn.utils", "strided.optim", "strided.optim.lr_scheduler",
           "strided.autograd", "strided.utils.data", "strided.data", "strided.viz",
           "strided.cuda", "strided.accelerator", "strided.backends", "strided.distributed",
           "strided.utils.extension", "strided.linalg"]


# --------------------------------------------------------------------------- the build

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from docs/ into a temporary directory: (html dir, build output)."""
    pytest.importorskip("sphinx", reason="Sphinx is not installed (pip install -e '.[docs]')")
    pytest.importorskip("furo", reason="the furo theme is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("docs")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / "doctrees"), DOCS, str(out / "html")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    return str(out / "html"), proc, seconds


def test_site_builds_without_warnings(site):
    html_dir, proc, seconds = site
    assert proc.returncode == 0 and not proc.stderr.strip(), (
        f"sphinx-build -W failed (exit {proc.returncode}, {seconds:.0f} s):\n"
        f"{proc.stderr[-6000:]}")
    for page in ["index.html", "api/index.html", "api/tensor.html", TUTORIAL]:
        assert os.path.isfile(os.path.join(html_dir, page)), page


def test_index_names_every_page():
    """The front page's toctree lists the tutorial, the guides, the gallery and the API
    reference, and each of those pages exists."""
    text = open(os.path.join(DOCS, "index.rst"), encoding="utf-8").read()
    for page in ["tutorials/storage_strides_views", "guides/receptive_field",
                 "guides/conv_as_gemm", "guides/coming_from_pytorch",
                 "guides/coming_from_numpy", "gallery/index", "api/index"]:
        assert re.search(r"^   " + re.escape(page) + r"$", text, re.M), page
        assert os.path.isfile(os.path.join(DOCS, page + ".rst")), page


# ------------------------------------------------------------------- the API reference

def public_names(modname):
    """(name, object) of a module's public names: __all__ where the module has one; else
    the names it does not import for its own use -- those defined in it, in its package's
    private modules (for a package: in any of its modules), and functions of strided's
    core it re-exports under a name the top level does not give them (F.linear)."""
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None)
    if names is not None:
        return [(n, getattr(mod, n)) for n in names
                if not isinstance(getattr(mod, n), types.ModuleType)]
    is_package = hasattr(mod, "__path__")
    package = modname if is_package else modname.rpartition(".")[0]
    out = []
    for name in dir(mod):
        obj = getattr(mod, name)
        if name.startswith("_") or isinstance(obj, types.ModuleType):
            continue
        if not callable(obj):
            if type(obj).__module__.startswith("strided") or isinstance(
                    obj, types.SimpleNamespace):
                out.append((name, obj))          # dtypes, default_generator, backends flags
            continue
        origin = getattr(obj, "__module__", "") or ""
        if not origin.startswith("strided"):
            continue
        if (origin == modname or (is_package and origin.startswith(modname + "."))
                or origin.startswith(package + "._")):
            out.append((name, obj))
        elif origin.startswith(package + ".") or getattr(strided, name, None) is obj:
            continue                             # imported for the module's own use
        else:
            out.append((name, obj))
    return out


class _Entries(html.parser.HTMLParser):
    """The ids of the documented objects (<dt id="strided.x">) of one page, and whether each
    has a description (text in its <dd> other than nested entries)."""

    def __init__(self):
        super().__init__()
        self.ids, self.described = [], {}
        self._stack = []           # [(tag, ids of the entry whose dd this is, or ())]
        self._pending = []         # the ids of the <dt>s seen (one per signature) before a <dd>

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        entry = ()
        if tag == "dt" and "sig-object" in (attrs.get("class") or ""):
            if attrs.get("id"):
                self.ids.append(attrs["id"])
                self._pending.append(attrs["id"])
        elif tag == "dd" and self._pending:
            entry, self._pending = tuple(self._pending), []
            for qual in entry:
                self.described.setdefault(qual, False)
        if tag not in ("br", "img", "input", "meta", "link", "hr", "wbr"):
            self._stack.append((tag, entry))

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not data.strip():
            return
        for tag, entry in reversed(self._stack):
            if tag == "dl":                # inside a nested entry: not this one's text
                return
            if entry:
                for qual in entry:
                    self.described[qual] = True
                return


@pytest.fixture(scope="module")
def reference(site):
    html_dir, proc, _ = site
    if proc.returncode != 0:
        pytest.fail("the site did not build")
    ids, described = set(), {}
    for path in glob.glob(os.path.join(html_dir, "api", "*.html")):
        parser = _Entries()
        parser.feed(open(path, encoding="utf-8").read())
        ids.update(parser.ids)
        described.update(parser.described)
    return ids, described


def _resolve(qualname):
    parts = qualname.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError:
            return None
        return obj
    return None


def _expected():
    """The qualified names the reference must document: each module's public names and
    Tensor's public methods and properties."""
    names = []
    for modname in MODULES:
        names += [(f"{modname}.{name}", obj) for name, obj in public_names(modname)]
    names += [(f"strided.Tensor.{n}", None) for n in dir(strided.Tensor)
              if not n.startswith("_")]
    return names


def test_reference_documents_every_public_name(reference):
    """Each public name is documented under its own name, or its object under another one
    (strided.data's names are strided.utils.data's; strided.autograd.no_grad is
    strided.no_grad)."""
    ids, _ = reference
    documented = {}
    for qual in ids:
        obj = _resolve(qual)
        if obj is not None and not isinstance(obj, (int, float, str, bool)):
            documented.setdefault(id(obj), qual)
    expected = _expected()
    missing = [qual for qual, obj in expected
               if qual not in ids and (obj is None or id(obj) not in documented)]
    assert len(expected) > 700
    assert not missing, (f"{len(missing)} public names are not in the API reference "
                         f"(add them to an ``.. api::`` list in docs/api/):\n  "
                         + "\n  ".join(missing))


def test_every_reference_entry_has_a_description(reference):
    """No entry of the reference is a bare signature: each name has a docstring that the
    site shows."""
    ids, described = reference
    bare = sorted(qual for qual in ids if qual.startswith("strided")
                  and not described.get(qual, False))
    assert len(ids) > 700
    assert not bare, f"API entries without a description (write a docstring):\n  " + \
        "\n  ".join(bare)


# ------------------------------------------------------------------------------- links

class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key) and (key == "id" or tag == "a"):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and "preload" in (attrs.get("rel") or "")):
                self.links.append(attrs[key])


def test_internal_links_resolve(site):
    """Every href and src of every built page that stays inside the site points to a file
    that exists and, with a #fragment, to an id on that page."""
    html_dir, proc, _ = site
    pages = {}
    for path in glob.glob(os.path.join(html_dir, "**", "*.html"), recursive=True):
        parser = _Links()
        parser.feed(open(path, encoding="utf-8").read())
        pages[os.path.normpath(path)] = parser
    assert len(pages) >= 10
    broken, checked = [], 0
    for path, parser in pages.items():
        for link in parser.links:
            url = urllib.parse.urlsplit(link)
            if url.scheme or url.netloc or link.startswith("//"):
                continue                                 # outside the site
            target = path if not url.path else os.path.normpath(
                os.path.join(os.path.dirname(path), urllib.parse.unquote(url.path)))
            if os.path.isdir(target):
                target = os.path.join(target, "index.html")
            checked += 1
            rel = os.path.relpath(path, html_dir)
            if not target.startswith(os.path.normpath(html_dir) + os.sep):
                broken.append(f"{rel}: {link} leaves the site")
            elif not os.path.exists(target):
                broken.append(f"{rel}: {link} (no such file)")
            elif url.fragment and target.endswith(".html"):
                ids = pages[target].ids if target in pages else set()
                if urllib.parse.unquote(url.fragment) not in ids:
                    broken.append(f"{rel}: {link} (no id {url.fragment!r} there)")
    assert checked > 1000
    assert not broken, f"{len(broken)} broken links:\n  " + "\n  ".join(broken[:50])


# ---------------------------------------------------------------------------- doctests

def _doc_modules():
    """strided and every module under it, but the kernels (no public names)."""
    names = ["strided"]
    for info in pkgutil.walk_packages(strided.__path__, "strided."):
        if not info.name.startswith("strided._C.kernels"):
            names.append(info.name)
    return names


def _run(test):
    strided.manual_seed(0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    out = io.StringIO()
    result = runner.run(test, out=out.write)
    return result, out.getvalue()


@pytest.mark.parametrize("modname", _doc_modules())
def test_docstring_examples(modname):
    """Every >>> example in the module's docstrings (functions, classes, methods and the
    module's own) prints what it shows, with strided, nn and F in scope."""
    module = importlib.import_module(modname)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = finder.find(module, modname, extraglobs={"strided": strided, "nn": strided.nn,
                                                    "F": F})
    failed = []
    for test in tests:
        result, report = _run(test)
        if result.failed:
            failed.append(report)
    assert not failed, "\n".join(failed)


def test_docstring_examples_are_found():
    """The finder sees the Cython modules' examples too (Tensor's methods, cat, gather)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    core = importlib.import_module("strided._C.core.tensor")
    names = {t.name for t in finder.find(core, core.__name__)}
    assert "strided._C.core.tensor.Tensor.view" in names
    join = importlib.import_module("strided._C.ops.join")
    assert "strided._C.ops.join.cat" in {t.name for t in finder.find(join, join.__name__)}


RST_PAGES = sorted(p for p in glob.glob(os.path.join(DOCS, "**", "*.rst"), recursive=True)
                   if os.sep + "_build" + os.sep not in p
                   and ">>>" in open(p, encoding="utf-8").read())


@pytest.mark.parametrize("path", RST_PAGES, ids=[os.path.relpath(p, DOCS) for p in RST_PAGES])
def test_rst_examples(path):
    """Every >>> example on a page of the site prints what it shows (one namespace per
    page, strided, nn and F imported)."""
    text = open(path, encoding="utf-8").read()
    test = doctest.DocTestParser().get_doctest(
        text, {"strided": strided, "nn": strided.nn, "F": F}, os.path.relpath(path, ROOT),
        path, 0)
    assert test.examples
    result, report = _run(test)
    assert not result.failed, report


def test_rst_pages_have_examples():
    assert os.path.join(DOCS, "index.rst") in RST_PAGES


# ----------------------------------------------------------------------- the browser

def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class DevTools:
    """Chromium in headless mode, driven by the DevTools protocol over --remote-debugging-
    pipe: JSON messages separated by NUL bytes, written to the browser's fd 3 and read
    from its fd 4."""

    def __init__(self, executable, profile):
        to_browser_r, self._w = os.pipe()
        self._r, from_browser_w = os.pipe()

        def wire():                           # in the child: its fds 3 and 4
            # (copies above 10 first, so that neither end is overwritten if it is 3 or 4)
            read_end = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.proc = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
             "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire, pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._id = 0
        self.events = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]

    def _read(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, timeout=60, session=True, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session and getattr(self, "session", None):
            message["sessionId"] = self.session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            for i, message in enumerate(self.events):
                if message.get("method") == event:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


SCALE = 2      # device pixels per CSS pixel: a cell's 1-px border is 2 whole pixels wide

# For each svg.storage-map: its box in page coordinates, what it declares, and the fill
# colours of its covered cells as the browser computes them.
_MAPS_JS = """
Array.from(document.querySelectorAll("svg.storage-map")).map((svg) => {
  svg.scrollIntoView();
  const box = svg.getBoundingClientRect();
  const fig = svg.closest("figure") || svg.parentElement;
  const cells = Array.from(svg.querySelectorAll("rect.cell.covered"));
  const cell = cells.length ? cells[0].getBoundingClientRect() : {width: 0, height: 0};
  return {x: box.left + window.scrollX, y: box.top + window.scrollY,
          width: box.width, height: box.height,
          clipped: fig.scrollWidth > fig.clientWidth + 1,
          covered: Number(svg.dataset.covered), cells: Number(svg.dataset.cells),
          cellWidth: cell.width, cellHeight: cell.height,
          fills: Array.from(new Set(cells.map((c) => getComputedStyle(c).fill)))};
})
"""


def _rgb(css):
    m = re.fullmatch(r"rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*[\d.]+)?\)", css.strip())
    if m:
        return tuple(int(v) for v in m.groups())
    m = re.fullmatch(r"#([0-9a-fA-F]{6})", css.strip())
    assert m, f"cannot read the colour {css!r}"
    return tuple(int(m[1][i:i + 2], 16) for i in (0, 2, 4))


def _png_pixels(data):
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.int16)


def count_highlighted_cells(pixels, fills, min_area):
    """The connected regions (4-neighbour) of pixels within a small tolerance of one of the
    fill colours, counting only regions of at least min_area pixels: a cell's fill is one
    region (its border separates it from the next cell's), and the holes of the digits
    written in it are far smaller."""
    from scipy import ndimage
    count = 0
    for fill in fills:
        mask = (np.abs(pixels - np.array(fill, dtype=np.int16)) <= 12).all(axis=-1)
        labels, n = ndimage.label(mask)
        if n:
            areas = np.bincount(labels.ravel())[1:]
            count += int((areas >= min_area).sum())
    return count


def test_count_highlighted_cells_on_a_drawn_grid():
    """The pixel counter on a hand-made picture: three filled cells (two adjacent, split
    by a border) and a digit-like hole, on a background."""
    pytest.importorskip("scipy", reason="SciPy (a dependency of scikit-learn) is not installed")
    img = np.full((40, 100, 3), 255, dtype=np.int16)
    fill = (74, 134, 197)
    for x0 in (10, 32, 70):
        img[10:30, x0:x0 + 20] = fill
        img[10:30, x0 + 20:x0 + 22] = (55, 65, 81)         # the border between cells
    img[14:26, 14:22] = (255, 255, 255)                    # a "0" drawn in the cell,
    img[16:24, 16:20] = fill                               # its hole in the fill colour
    assert count_highlighted_cells(img, [fill], min_area=100) == 3
    assert count_highlighted_cells(img, [(0, 0, 0)], min_area=100) == 0


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium installed (apt-get install chromium): the browser check "
                    "of the built site cannot run here")
    pytest.importorskip("PIL", reason="Pillow (a dependency of matplotlib) is not installed")
    pytest.importorskip("scipy", reason="SciPy (a dependency of scikit-learn) is not installed")
    tools = DevTools(executable, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield tools
    finally:
        tools.close()


def _open(browser, path, width=1400, height=1000):
    browser.call("Page.enable")
    browser.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                 deviceScaleFactor=SCALE, mobile=False)
    browser.events.clear()                    # a load event of an earlier page is stale
    browser.call("Page.navigate", url="file://" + path)
    browser.wait_for("Page.loadEventFired")
    browser.evaluate("document.fonts.ready.then(() => true)")


def _storage_maps(browser):
    """[(declared map facts, RGB pixels of its screenshot)] for each svg.storage-map."""
    out = []
    for svg in browser.evaluate(_MAPS_JS):
        shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": svg["x"], "y": svg["y"], "width": svg["width"],
                                  "height": svg["height"], "scale": 1})
        out.append((svg, _png_pixels(base64.b64decode(shot["data"]))))
    return out


def _check_maps(maps, where):
    problems = []
    for i, (svg, pixels) in enumerate(maps):
        name = f"{where}: storage map {i + 1} (data-covered={svg['covered']})"
        if svg["width"] < 10 or svg["height"] < 10:
            problems.append(f"{name}: drawn {svg['width']}x{svg['height']} px")
            continue
        if svg["clipped"]:
            problems.append(f"{name}: wider than its figure, partly hidden")
        colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
        if colours < 3:
            problems.append(f"{name}: the screenshot is blank ({colours} colours)")
            continue
        fills = [_rgb(f) for f in svg["fills"]]
        min_area = 0.25 * svg["cellWidth"] * svg["cellHeight"] * SCALE * SCALE
        counted = count_highlighted_cells(pixels, fills, min_area) if fills else 0
        if counted != svg["covered"]:
            problems.append(f"{name}: {counted} highlighted cells in the pixels")
    return problems


def test_browser_draws_a_hand_written_map(browser, tmp_path):
    """The check itself on a page holding a minimal SVG map written here: 3 covered cells
    of 5 (two adjacent), so a broken counter or a blank screenshot fails here first."""
    cells = []
    for i in range(5):
        covered = i in (1, 2, 4)
        cells.append(f'<rect class="cell{" covered" if covered else ""}" x="{8 + 27 * i}" '
                     f'y="20" width="27" height="22" fill="{"#4a86c5" if covered else "#f3f4f6"}" '
                     f'stroke="#374151" stroke-width="1"/>')
        if covered:
            cells.append(f'<text x="{21.5 + 27 * i}" y="35" font-size="12" fill="#fff" '
                         f'text-anchor="middle">{i * 4 + 8}</text>')
    page = tmp_path / "map.html"
    page.write_text(
        '<!DOCTYPE html><html><body><figure class="storage-map-figure">'
        '<svg xmlns="http://www.w3.org/2000/svg" class="storage-map" width="160" height="50" '
        'data-cells="5" data-covered="3"><rect width="160" height="50" fill="#fff"/>'
        + "".join(cells) + "</svg></figure></body></html>")
    _open(browser, str(page))
    maps = _storage_maps(browser)
    assert len(maps) == 1
    assert not _check_maps(maps, "hand-written page")
    svg, pixels = maps[0]
    assert pixels.shape[:2] == (50 * SCALE, 160 * SCALE)


def test_browser_draws_the_tutorials_storage_maps(site, browser, tmp_path_factory):
    """Every storage map of the built tutorial is drawn with as many highlighted cells as
    the view covers."""
    html_dir, proc, _ = site
    page = os.path.join(html_dir, TUTORIAL)
    if proc.returncode != 0 or not os.path.exists(page):
        pytest.fail("the site did not build")
    _open(browser, page)
    maps = _storage_maps(browser)
    declared = len(re.findall(r'<svg[^>]*class="storage-map"',
                              open(page, encoding="utf-8").read()))
    assert len(maps) == declared >= 10
    problems = _check_maps(maps, TUTORIAL)
    assert not problems, "\n".join(problems)
    assert sum(svg["covered"] for svg, _ in maps) > 0
