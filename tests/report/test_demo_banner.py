"""The demonstration-data banner of a funder report (synthetic input only), both languages."""
from __future__ import annotations

import html

import nbformat
import pytest

from evaltools.data.demo import GENERATOR
from evaltools.report.i18n import text
from evaltools.report.render import page_context, render_report

MARKER = {"generator": GENERATOR, "scale": "sample", "seed": 20240901, "inputs": ["data_dir"]}


def _render(tmp_path, language, demo):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Results"),
                nbformat.v4.new_code_cell("1", outputs=[nbformat.v4.new_output(
                    "display_data", data={"text/markdown": "The effect was 2."})])]
    path = tmp_path / f"nb-{language}-{bool(demo)}.ipynb"
    nbformat.write(nb, path)
    manifest = {"study": "demo", "run_id": "20260101T000000Z-demo", "started_at": "2026-01-01T00:00:00",
                "parameters": {"language": language}, "demo": demo}
    out = render_report(path, tmp_path / f"report-{language}-{bool(demo)}.html", manifest)
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["lv", "en"])
def test_a_synthetic_run_opens_with_the_banner_in_its_language(tmp_path, language):
    page = _render(tmp_path, language, MARKER)
    body = page.split("<body>", 1)[1]
    banner = body.split('<aside class="ev-demo"', 1)
    assert banner[0].strip() == "", "the banner is the first thing in the page"
    shown = html.unescape(banner[1].split("</aside>")[0])
    assert text("demo.banner_title", language) in shown and text("demo.banner", language) in shown
    other = "en" if language == "lv" else "lv"
    assert text("demo.banner", other) not in html.unescape(page)


@pytest.mark.parametrize("language", ["lv", "en"])
@pytest.mark.parametrize("demo", [None, {}])
def test_a_real_extract_gets_no_banner(tmp_path, language, demo):
    page = _render(tmp_path, language, demo)
    assert "ev-demo" not in page and text("demo.banner_title", language) not in page


def test_the_flag_comes_from_the_manifest():
    assert page_context(None, {"demo": MARKER}, "en")["demo"] is True
    assert page_context(None, {"demo": None}, "en")["demo"] is False
    assert page_context(None, {}, "lv")["demo"] is False
