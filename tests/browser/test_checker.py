"""The browser checker itself (tests/browser/chromium.py) on synthetic pages: each check
passes a clean page and fails one broken in the way it looks for. No kernel; the real
reports are checked in test_reports.py."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.browser import chromium

PNG = base64.b64encode(bytes.fromhex(  # a 1×1 PNG
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5b1d2b80000000049454e44ae426082")).decode()

CLEAN = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><style>
body {{ margin: 0; }} .evt-table {{ overflow-x: auto; max-width: 100%; }}
@media print {{ table {{ width: 100%; font-size: 7pt; }} }}</style></head><body>
<aside class="ev-demo">Demonstration data</aside><h1 class="ev-title">Report</h1>
<div class="evt-headline">The card</div>
<img src="data:image/png;base64,{PNG}" width="300" height="200" alt="a figure">
<svg width="200" height="100"><rect width="200" height="100"/></svg>
<div class="evt-table"><table><tr>{'<td>1234567</td>' * 20}</tr></table></div>
BODY</body></html>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[Path, chromium.Server]]:
    folder = tmp_path_factory.mktemp("pages")
    yield from ((folder, s) for s in chromium.serve(folder))


@pytest.fixture
def page_of(browser, site) -> Iterator[Any]:
    folder, server = site
    opened = []

    def open_(body: str = "", width: int = chromium.WIDE, html: str | None = None) -> chromium.Visit:
        name = f"p{len(list(folder.iterdir()))}.html"
        (folder / name).write_text(html if html is not None else CLEAN.replace("BODY", body), "utf-8")
        visit = chromium.open_page(browser, server.url(name), width=width)
        opened.append(visit)
        return visit

    yield open_
    for visit in opened:
        visit.page.context.close()


def test_a_clean_page_passes_every_check(page_of):
    for width in (chromium.WIDE, chromium.PHONE):
        visit = page_of(width=width)
        page = visit.page
        assert visit.problems() == []
        assert chromium.card_problems(page, expected=True, width=width) == []
        assert chromium.figure_problems(page, width) == []
        assert chromium.banner_problems(page, demo=True) == []
        assert chromium.sideways_problems(page) == []  # the 20-column table scrolls inside its box
    assert chromium.print_problems(page, wide_columns=13) == []  # 20 columns: allowed a landscape page


@pytest.mark.parametrize("body, expected", [
    ('<img src="https://example.org/x.png" alt="x">', "request to another host: https://example.org/x.png"),
    ('<link rel="stylesheet" href="http://fonts.example.com/a.css">', "request to another host: http://fonts.example.com"),
    ("<style>@import url('https://cdn.example.net/x.css');</style>", "request to another host: https://cdn.example.net"),
    ("<script>console.error('boom')</script>", "console error: boom"),
    ("<script>undefinedFunction()</script>", "page error:"),
    ('<img src="missing.png" alt="gone">', "missing.png (HTTP 404)"),
])
def test_a_request_elsewhere_or_an_error_fails(page_of, body, expected):
    problems = page_of(body).problems()
    assert any(expected in p for p in problems), problems


def test_an_image_that_does_not_load_or_show_fails(page_of):
    page = page_of('<img src="missing.png" alt="gone"><img src="data:image/png;base64,'
                   f'{PNG}" style="visibility:hidden" alt="hidden">').page
    problems = chromium.figure_problems(page)
    assert any("'gone'" in p and "did not load" in p for p in problems), problems
    assert any("'hidden'" in p and "not visible" in p for p in problems), problems


def test_a_missing_or_hidden_card_fails(page_of):
    page = page_of("<style>.evt-headline { display: none; }</style>").page
    assert chromium.card_problems(page, expected=True) == ["headline card 1 is not visible"]
    bare = page_of(html="<html><body><p>no card</p></body></html>").page
    assert chromium.card_problems(bare, expected=True) == ["the headline card (.evt-headline) is missing"]
    assert chromium.card_problems(bare, expected=False) == []


def test_the_banner_must_match_the_manifest(page_of):
    page = page_of().page
    assert chromium.banner_problems(page, demo=False)  # a banner on real data
    bare = page_of(html="<html><body><h1 class='ev-title'>t</h1></body></html>").page
    assert "missing" in chromium.banner_problems(bare, demo=True)[0]


def test_a_page_wider_than_a_phone_fails_and_names_the_element(page_of):
    page = page_of('<table class="loose"><tr>' + "<td>1234567</td>" * 12 + "</tr></table>",
                   width=chromium.PHONE).page
    (problem,) = chromium.sideways_problems(page)
    assert "in a 390 px window" in problem and "<table class=loose>" in problem


def test_a_table_wider_than_a4_in_print_fails(page_of):
    page = page_of('<table class="loose"><caption>Too wide</caption><tr>'
                   + "<td>12345678901234</td>" * 12 + "</tr></table>").page
    problems = chromium.print_problems(page, wide_columns=13)
    assert any("'Too wide' (12 columns)" in p for p in problems), problems


def test_a_real_report_with_an_injected_fault_fails(published, browser, tmp_path):
    """A copy of a shipped report with a remote image, and with a console error, fails."""
    report = next(iter(sorted(published.reports.glob("*/*/report.html"))))
    html = report.read_text("utf-8")
    faults = {"remote.html": '<img src="https://example.org/x.png" alt="x">',
              "console.html": "<script>console.error('injected')</script>"}
    for name, fault in faults.items():
        (tmp_path / name).write_text(html.replace("</main>", fault + "</main>", 1), "utf-8")
    for server in chromium.serve(tmp_path):
        for name, expected in (("remote.html", "request to another host: https://example.org/x.png"),
                               ("console.html", "console error: injected")):
            visit = chromium.open_page(browser, server.url(name))
            try:
                assert any(expected in p for p in visit.problems()), visit.problems()
            finally:
                visit.page.context.close()


def test_without_chromium_the_tests_skip_saying_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv(chromium.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    monkeypatch.delenv(chromium.REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        chromium.require_chromium()
    monkeypatch.setenv(chromium.REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="EVALTOOLS_REQUIRE_BROWSER=1 but headless Chromium not found"):
        chromium.require_chromium()
