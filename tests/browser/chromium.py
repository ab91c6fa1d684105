"""Headless Chromium for the browser tests: find it, serve a folder on 127.0.0.1, open a
page with every request checked, and the checks a published page must pass.

Chromium is the Debian package (``apt-get install chromium``), driven by Playwright's
Python client; no browser is ever downloaded. Where Chromium is absent the browser tests
are skipped with a reason that says how to install it, unless ``EVALTOOLS_REQUIRE_BROWSER=1``
(set by ``.ci/run``), which turns the skip into a failure.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

REQUIRE = "EVALTOOLS_REQUIRE_BROWSER"
CHROMIUM_ENV = "EVALTOOLS_CHROMIUM"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = ("headless Chromium not found: install it with `sudo apt-get install chromium` "
                f"(Debian/Ubuntu) or set {CHROMIUM_ENV}=/path/to/chromium; `.ci/run` installs it "
                "and runs these tests always")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps", "--mute-audio"]
LOCAL_HOSTS = ("127.0.0.1", "localhost")
WIDE = 1280   # a laptop screen
PHONE = 390   # a phone held upright
A4_CONTENT_PX = 182 / 25.4 * 96   # A4 portrait minus funder.css's 14 mm side margins, CSS px
A4_LANDSCAPE_CONTENT_PX = 269 / 25.4 * 96


def chromium_path() -> str | None:
    """The Chromium executable: ``$EVALTOOLS_CHROMIUM``, else the first of NAMES on PATH."""
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return given if Path(given).is_file() else None
    return next((found for name in NAMES if (found := shutil.which(name))), None)


def require_chromium() -> str:
    """The Chromium executable and a working Playwright client, or a skip saying how to
    install them (a failure when ``EVALTOOLS_REQUIRE_BROWSER=1``)."""
    path = chromium_path()
    problem = None if path else INSTALL_HINT
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the Playwright client is not installed: run `make setup-test` (it is in the test extra)"
    if problem:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but {problem}", pytrace=False)
        pytest.skip(problem)
    return path  # type: ignore[return-value]


# --- a local server ------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a browser that hung up mid-file: harmless
            super().handle_error(request, client_address)


@dataclass
class Server:
    """A folder served over HTTP on 127.0.0.1 (a thread of http.server)."""

    root: Path
    base: str

    def url(self, path: Path | str) -> str:
        rel = Path(path).resolve().relative_to(self.root.resolve()).as_posix() if Path(path).is_absolute() else str(path)
        return f"{self.base}/{rel}"


def serve(folder: Path) -> Iterator[Server]:
    """Serve ``folder`` on an ephemeral port of 127.0.0.1 until the generator is closed."""
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(folder, f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def launch(playwright: Any, executable: str) -> Any:
    return playwright.chromium.launch(executable_path=executable, args=ARGS, headless=True)


# --- one page, every request checked --------------------------------------------------------


def is_local(url: str) -> bool:
    """A URL the page may load: ``data:``/``blob:``/``about:``, or http(s) on 127.0.0.1/localhost."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https") and (parts.hostname or "") in LOCAL_HOSTS


@dataclass
class Visit:
    """What happened while a page was open: refused (non-local) requests, console errors,
    uncaught page errors, failed local requests."""

    page: Any
    foreign: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return ([f"request to another host: {u}" for u in self.foreign]
                + [f"console error: {m}" for m in self.console_errors]
                + [f"page error: {m}" for m in self.page_errors]
                + [f"request failed: {m}" for m in self.failed])


def open_page(browser: Any, url: str, width: int = WIDE, height: int = 900) -> Visit:
    """Open ``url`` in a fresh context ``width`` CSS px wide. Every request the page makes is
    routed: a non-local one is recorded and aborted; console errors, page errors and failed
    or 4xx/5xx local responses are recorded. The caller closes ``visit.page.context``."""
    context = browser.new_context(viewport={"width": width, "height": height}, service_workers="block",
                                  java_script_enabled=True)
    page = context.new_page()
    visit = Visit(page)

    def route(route: Any) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            visit.foreign.append(route.request.url[:200])
            route.abort("blockedbyclient")

    context.route("**/*", route)
    page.on("console", lambda m: visit.console_errors.append(m.text[:300]) if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.page_errors.append(str(e)[:300]))
    page.on("requestfailed", lambda r: None if r.url[:200] in visit.foreign
            else visit.failed.append(f"{r.url[:200]} ({r.failure})"))
    page.on("response", lambda r: visit.failed.append(f"{r.url[:200]} (HTTP {r.status})") if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    return visit


# --- what is on the page (one evaluate per check) -------------------------------------------

VISIBLE_JS = """
(el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'
         && parseFloat(s.opacity || '1') > 0; }
"""

FIGURES_JS = """
() => { const out = [];
  const shown = (el) => { if (el.closest('details:not([open])')) return null;
    const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return {w: r.width, h: r.height, left: r.left + scrollX, right: r.right + scrollX,
            visible: r.width > 0 && r.height > 0 && s.visibility !== 'hidden'}; };
  for (const img of document.querySelectorAll('img')) {
    const box = shown(img); if (box === null) continue;
    out.push({kind: 'img', alt: (img.alt || '').slice(0, 80), loaded: img.complete && img.naturalWidth > 0, ...box}); }
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.parentElement && svg.parentElement.closest('svg')) continue;   // nested svg: part of a figure
    if (svg.getAttribute('aria-hidden') === 'true' && svg.closest('.ev-panel')) continue;  // index icons: see cards
    const box = shown(svg); if (box === null) continue;
    out.push({kind: 'svg', alt: (svg.getAttribute('aria-label') || '').slice(0, 80), loaded: true, ...box}); }
  return out; }
"""

OVERFLOW_JS = """
() => { const w = window.innerWidth; const doc = document.scrollingElement;
  const scrolls = (el) => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; }
    return false; };
  const culprits = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.parentElement && el.parentElement.closest('svg')) continue;   // inside a figure
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= w + 1 || scrolls(el)) continue;
    if (el.parentElement && el.parentElement.getBoundingClientRect().right > w + 1 && !scrolls(el.parentElement)
        && el.parentElement !== document.body) continue;   // report the outermost element only
    const cls = (el.getAttribute('class') || '').split(/\\s+/).filter(Boolean).slice(0, 3).join('.');
    culprits.push(`<${el.tagName.toLowerCase()}${cls ? ' class=' + cls : ''}> right edge ${Math.round(r.right)} px`
                  + ` (text: ${JSON.stringify((el.textContent || '').trim().slice(0, 50))})`); }
  return {scrollWidth: doc.scrollWidth, innerWidth: w, culprits: culprits.slice(0, 8)}; }
"""

TABLES_JS = """
() => Array.from(document.querySelectorAll('table')).map((t) => {
  const row = t.querySelector('tr'); let cols = 0;
  if (row) for (const c of row.children) cols += parseInt(c.getAttribute('colspan') || '1', 10);
  const r = t.getBoundingClientRect();
  const cap = t.querySelector('caption');
  return {cols, width: r.width, right: r.right, hidden: r.width === 0,
          caption: ((cap && cap.textContent) || (t.textContent || '')).trim().slice(0, 60)}; })
"""


def visible(page: Any, selector: str) -> list[bool]:
    """Whether each element matching ``selector`` has a non-empty box and is not hidden."""
    return page.eval_on_selector_all(selector, f"(els) => els.map({VISIBLE_JS})")


def figures(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(FIGURES_JS)


def overflow(page: Any) -> dict[str, Any]:
    return page.evaluate(OVERFLOW_JS)


def tables(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(TABLES_JS)


# --- the checks, each a list of problems (empty: passed) -------------------------------------


def _inside(box: dict[str, Any], width: int) -> bool:
    return box["left"] >= -1 and box["right"] <= width + 1


def card_problems(page: Any, expected: bool, width: int = WIDE) -> list[str]:
    """The headline card(s) (``.evt-headline``): present when ``expected``, each with a
    non-empty box inside the page's width and not hidden."""
    boxes = page.eval_on_selector_all(".evt-headline", f"""(els) => els.map((el) => {{
        const r = el.getBoundingClientRect();
        return {{visible: ({VISIBLE_JS})(el), left: r.left + scrollX, right: r.right + scrollX}}; }})""")
    if expected and not boxes:
        return ["the headline card (.evt-headline) is missing"]
    problems = []
    for k, box in enumerate(boxes, 1):
        if not box["visible"]:
            problems.append(f"headline card {k} is not visible")
        elif not _inside(box, width):
            problems.append(f"headline card {k} sticks out of the {width} px page "
                            f"({box['left']:.0f}–{box['right']:.0f} px)")
    return problems


def figure_problems(page: Any, width: int = WIDE) -> list[str]:
    """Every figure (``<img>``, top-level ``<svg>``) not in a closed ``<details>``: loaded
    (``naturalWidth`` > 0), visible and inside the page's width."""
    problems = []
    for k, fig in enumerate(figures(page), 1):
        name = f"figure {k} (<{fig['kind']}> {fig['alt']!r})"
        if not fig["loaded"]:
            problems.append(f"{name} did not load")
        elif not fig["visible"]:
            problems.append(f"{name} is not visible ({fig['w']:.0f}×{fig['h']:.0f} px)")
        elif not _inside(fig, width):
            problems.append(f"{name} sticks out of the {width} px page ({fig['left']:.0f}–{fig['right']:.0f} px)")
    return problems


def banner_problems(page: Any, demo: bool) -> list[str]:
    """The demonstration-data banner (``aside.ev-demo``): shown above the title exactly when
    the run's manifest says its input is synthetic."""
    found = page.eval_on_selector_all("aside.ev-demo", f"""(els) => els.map((el) => {{
        const h = document.querySelector('.ev-title');
        return {{visible: ({VISIBLE_JS})(el),
                 above: !h || el.getBoundingClientRect().bottom <= h.getBoundingClientRect().top + 1}}; }})""")
    if not demo:
        return ["a demonstration banner on a run whose manifest has no synthetic input"] if found else []
    if not found:
        return ["the demonstration banner (aside.ev-demo) is missing though the manifest says the input is synthetic"]
    return [p for b in found for p in (["the demonstration banner is not visible"] if not b["visible"] else [])
            + (["the demonstration banner is not above the title"] if not b["above"] else [])]


def sideways_problems(page: Any) -> list[str]:
    """The page scrolls sideways (``scrollWidth`` > ``innerWidth``); the outermost elements
    that stick out, outside any box that scrolls on purpose, are named."""
    found = overflow(page)
    if found["scrollWidth"] <= found["innerWidth"]:
        return []
    return [f"the page is {found['scrollWidth']} px wide in a {found['innerWidth']} px window: "
            + ("; ".join(found["culprits"]) or "no single element found")]


def print_problems(page: Any, wide_columns: int) -> list[str]:
    """In print (``emulate_media(media="print")``, a window as wide as A4's content), every
    table fits the page: a portrait A4 width, or a landscape one for tables of more than
    ``wide_columns`` columns (evaltools.report.pdf prints those on a landscape page)."""
    page.set_viewport_size({"width": round(A4_CONTENT_PX), "height": 1100})
    page.emulate_media(media="print")
    problems = []
    for t in tables(page):
        limit = A4_LANDSCAPE_CONTENT_PX if t["cols"] > wide_columns else A4_CONTENT_PX
        if not t["hidden"] and t["width"] > limit + 1:
            problems.append(f"table {t['caption']!r} ({t['cols']} columns) is {t['width']:.0f} px wide in print, "
                            f"the page has {limit:.0f} px")
    if not problems and not any(t["cols"] > wide_columns for t in tables(page)):
        problems += [f"in print: {p}" for p in sideways_problems(page)]
    return problems


def screenshot(page: Any, path: Path) -> Path:
    """A full-page PNG of ``page`` at ``path`` (folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
