"""Every shipped report and the index in headless Chromium (issue 14, item 8).

Each params file is run once per session (``published``, tests/shipped.py) and
its report opened from a server on 127.0.0.1 at 1280 px (a laptop) and 390 px (a phone),
and in print. A page passes when it requests nothing from another host, logs no console
or page error, shows its headline card, every figure (loaded) and, for synthetic input,
the demonstration banner, scrolls sideways only inside the boxes made to scroll, and its
tables fit an A4 page in print. Full-page screenshots are written to
``reports/_screenshots/<study>/<params stem>.png`` (and ``-phone.png``) of the checkout.

``make test`` renders one params file per study and language (tests/shipped.quick_set); the
other shipped files, top-level and per-area (``params/<study>/*.yaml``), are marked slow
(``make test-slow``).
"""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urljoin

import pytest

from evaltools.report.pdf import WIDE_COLUMNS
from evaltools.report.site import headline_card_of, is_demonstration
from tests.browser import chromium
from tests.shipped import params_paths, quick_set

_SHIPPED = params_paths()
_QUICK = quick_set(_SHIPPED)
PARAMS = [pytest.param(p.stem, id=p.stem, marks=() if p in _QUICK else pytest.mark.slow) for p in _SHIPPED]


@pytest.fixture(scope="session")
def pages(browser, server) -> Iterator[Any]:
    """Open a page once per (path, width) for the session: ``pages(path, width)``."""
    opened: dict[tuple[Path, int], chromium.Visit] = {}

    def visit(path: Path, width: int = chromium.WIDE) -> chromium.Visit:
        if (path, width) not in opened:
            opened[(path, width)] = chromium.open_page(browser, server.url(path), width=width)
        return opened[(path, width)]

    yield visit
    for v in opened.values():
        v.page.context.close()


def _manifest(run: Path) -> dict[str, Any]:
    return json.loads((run / "manifest.json").read_text("utf-8"))


def _succeeded(published, stem: str) -> Path:
    run = published.run(stem)
    manifest = _manifest(run)
    error = manifest.get("error") or {}
    assert manifest.get("status") == "succeeded", \
        f"params/{stem}.yaml: the run {manifest.get('status')} ({error.get('kind')}: {str(error.get('message'))[:300]})"
    return run


# --- each report --------------------------------------------------------------------------


@pytest.mark.parametrize("stem", PARAMS)
def test_report_loads_nothing_from_elsewhere_and_logs_no_error(published, pages, screenshots, stem):
    run = _succeeded(published, stem)
    visit = pages(run / "report.html")
    chromium.screenshot(visit.page, screenshots / run.parent.name / f"{stem}.png")
    assert not visit.problems(), f"params/{stem}.yaml: " + "; ".join(visit.problems())


@pytest.mark.parametrize("stem", PARAMS)
def test_report_shows_its_card_every_figure_and_the_demonstration_banner(published, pages, stem):
    run = _succeeded(published, stem)
    page = pages(run / "report.html").page
    problems = (chromium.card_problems(page, expected=headline_card_of(run) is not None)
                + chromium.figure_problems(page)
                + chromium.banner_problems(page, demo=is_demonstration(_manifest(run))))
    assert not problems, f"params/{stem}.yaml: " + "; ".join(problems)


@pytest.mark.parametrize("width", [chromium.WIDE, chromium.PHONE], ids=["laptop", "phone"])
@pytest.mark.parametrize("stem", PARAMS)
def test_report_scrolls_sideways_only_inside_its_table_boxes(published, pages, screenshots, stem, width):
    run = _succeeded(published, stem)
    visit = pages(run / "report.html", width)
    if width == chromium.PHONE:
        chromium.screenshot(visit.page, screenshots / run.parent.name / f"{stem}-phone.png")
    problems = chromium.sideways_problems(visit.page) + chromium.figure_problems(visit.page, width) \
        + chromium.card_problems(visit.page, expected=headline_card_of(run) is not None, width=width)
    assert not problems, f"params/{stem}.yaml at {width} px: " + "; ".join(problems)


@pytest.mark.parametrize("stem", PARAMS)
def test_report_body_lines_up_with_its_header(published, pages, stem):
    run = _succeeded(published, stem)
    page = pages(run / "report.html").page
    boxes = page.evaluate("""() => ['.ev-header', '.ev-main', '.ev-provenance'].map((s) => {
        const e = document.querySelector(s); const r = e.getBoundingClientRect(); return [s, r.left, r.right]; })""")
    (_, left, right), *others = boxes
    for name, l, r in others:
        assert abs(l - left) <= 1 and abs(r - right) <= 1, \
            f"params/{stem}.yaml: {name} spans {l:.0f}–{r:.0f} px, the header {left:.0f}–{right:.0f} px"


@pytest.mark.parametrize("stem", PARAMS)
def test_report_tables_fit_an_a4_page_in_print(published, browser, server, stem):
    run = _succeeded(published, stem)
    visit = chromium.open_page(browser, server.url(run / "report.html"))
    try:
        problems = chromium.print_problems(visit.page, WIDE_COLUMNS)
    finally:
        visit.page.context.close()
    assert not problems, f"params/{stem}.yaml: " + "; ".join(problems)


# --- the index ----------------------------------------------------------------------------


def test_index_loads_nothing_from_elsewhere_and_shows_every_card(published, pages, screenshots):
    visit = pages(published.reports / "index.html")
    chromium.screenshot(visit.page, screenshots / "index" / "lv.png")
    assert not visit.problems(), "; ".join(visit.problems())
    cards = visit.page.eval_on_selector_all("article.ev-card", f"""(els) => els.map((el) => {{
        const r = el.getBoundingClientRect(); const panels = Array.from(el.querySelectorAll('.ev-panel'));
        return {{id: el.id, visible: ({chromium.VISIBLE_JS})(el), left: r.left, right: r.right,
                 panels: panels.filter({chromium.VISIBLE_JS}).length,
                 text: (el.innerText || '').trim().slice(0, 40)}}; }})""")
    studies = {run.parent.name for run in published.runs.values()}
    assert len(cards) >= len(studies), f"{len(cards)} cards for {len(studies)} studies"
    for card in cards:
        assert card["visible"] and card["left"] >= 0 and card["right"] <= chromium.WIDE, f"card {card} not visible"
        assert card["panels"] == 1, f"card {card['id']} ({card['text']!r}) shows {card['panels']} language panels"
    assert not chromium.figure_problems(visit.page), chromium.figure_problems(visit.page)


def test_index_language_switch_shows_the_other_language(browser, server, published, screenshots):
    visit = chromium.open_page(browser, server.url(published.reports / "index.html"))
    page = visit.page
    try:
        switched = 0
        for card in page.query_selector_all("article.ev-card:has(.ev-switch)"):
            lv, en = card.query_selector(".ev-panel-lv"), card.query_selector(".ev-panel-en")
            assert lv.is_visible() and not en.is_visible(), f"{card.get_attribute('id')}: LV is not shown first"
            card.query_selector("label[for$='-en']").click()
            assert en.is_visible() and not lv.is_visible(), f"{card.get_attribute('id')}: EN did not replace LV"
            assert en.inner_text().strip() and en.get_attribute("lang") == "en"
            switched += 1
        assert switched, "no card of the index has both an LV and an EN run: the shipped params have both"
        chromium.screenshot(page, screenshots / "index" / "en.png")
        first = page.query_selector("article.ev-card:has(.ev-switch)")
        first.query_selector("label[for$='-lv']").click()
        assert first.query_selector(".ev-panel-lv").is_visible()
        assert not visit.problems(), "; ".join(visit.problems())
    finally:
        page.context.close()


def test_index_links_resolve_and_reach_every_current_report(published, pages, server):
    page = pages(published.reports / "index.html").page
    hrefs = page.eval_on_selector_all("a[href]", "(els) => els.map((a) => a.getAttribute('href'))")
    targets = sorted({h for h in hrefs if not h.startswith("#")})
    assert targets, "the index links to nothing"
    for href in targets:
        url = urljoin(server.base + "/index.html", href)
        assert chromium.is_local(url), f"the index links to another host: {href}"
        with urllib.request.urlopen(url, timeout=10) as response:  # raises on 404
            assert response.status == 200, f"{href}: HTTP {response.status}"
    for stem, run in published.runs.items():
        if _manifest(run).get("status") == "succeeded":
            rel = run.relative_to(published.reports).as_posix()
            assert f"{rel}/report.html" in targets, f"params/{stem}.yaml: its report is not linked from the index"
            if (run / "report.pdf").exists():
                assert f"{rel}/report.pdf" in targets, f"params/{stem}.yaml: its report.pdf is not linked"


@pytest.mark.parametrize("width", [
    chromium.WIDE, chromium.PHONE], ids=["laptop", "phone"])
def test_index_scrolls_sideways_only_inside_its_table_boxes(published, pages, screenshots, width):
    visit = pages(published.reports / "index.html", width)
    if width == chromium.PHONE:
        chromium.screenshot(visit.page, screenshots / "index" / "lv-phone.png")
    problems = chromium.sideways_problems(visit.page)
    assert not problems, f"index at {width} px: " + "; ".join(problems)


def test_index_tables_fit_an_a4_page_in_print(published, browser, server):
    visit = chromium.open_page(browser, server.url(published.reports / "index.html"))
    try:
        problems = chromium.print_problems(visit.page, WIDE_COLUMNS)
    finally:
        visit.page.context.close()
    assert not problems, "; ".join(problems)
