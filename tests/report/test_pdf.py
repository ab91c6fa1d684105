"""report.pdf (evaltools.report.pdf and the print rules of templates/funder/funder.css).

The PDF is read back with pypdf: page sizes, the text of every page (so a column cut
off at the page edge, a card split over two pages or a heading left at the foot of a
page shows), the text's position on the page, and the bytes of two renders.
The page images were looked at by hand (`pdftoppm -png`); these tests check what
can be checked in text.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import urllib.request

import nbformat
import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from evaltools.cli import main
from evaltools.core.result import Estimate
from evaltools.estimate import balance_table as estimate_balance
from evaltools.report import headline_card
from evaltools.report.html import html_table
from evaltools.report.pdf import PDF_NAME, WIDE_COLUMNS, columns, html_to_pdf, mark_wide_tables, write_pdf
from evaltools.report.render import render_report
from evaltools.report.tables import balance_table
from tests import FIXTURES, ROOT

A4 = (595.3, 841.9)  # points
MARGIN_RIGHT_PT = 14 / 25.4 * 72  # funder.css: @page margin 14 mm left and right


def _pages(pdf: bytes) -> list:
    return list(PdfReader(io.BytesIO(pdf)).pages)


def _size(page) -> tuple[float, float]:
    return round(float(page.mediabox.width), 1), round(float(page.mediabox.height), 1)


def _text(page) -> str:
    """A page's text with line breaks and hyphenation undone (for searching)."""
    text = page.extract_text() or ""
    return " ".join(re.sub(r"[\u2010\u00ad-]\n", "", text).split())


def _rightmost(page) -> float:
    """The largest x at which a piece of text starts on the page (points)."""
    xs = [0.0]

    def visit(text, cm, tm, font, size):
        if text.strip():
            xs.append(tm[4] * cm[0] + cm[4])

    page.extract_text(visitor_text=visit)
    return max(xs)


# --- a report made through the real template and stylesheet, without a kernel -------------


def _html_output(html: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "<table>"})


def _markdown_output(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"text/markdown": text, "text/plain": text})


def _cell(*outputs) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = list(outputs)
    return cell


def _wide_frame(n_rows: int, n_cols: int, last: str) -> pd.DataFrame:
    """Row labels and ``n_cols`` numeric columns; the last column's values are ``{last}{row}``."""
    cols = {f"Column header number {j}": [f"{1000 + 7 * i + j:,}".replace(",", "\u00a0") for i in range(n_rows)]
            for j in range(n_cols - 1)}
    cols[f"{last} header"] = [f"{last}{i}" for i in range(n_rows)]
    return pd.DataFrame(cols, index=pd.Index([f"Municipality {i} novads" for i in range(n_rows)], name="Area"))


def _balance_html() -> str:
    rng = np.random.default_rng(3)
    n = 400
    data = pd.DataFrame({"treated": rng.integers(0, 2, n), "age": rng.normal(40, 8, n),
                         "service": rng.normal(10, 4, n), "female": rng.integers(0, 2, n)})
    result = estimate_balance(data, "treated", ["age", "service", "female"])
    return balance_table(result, caption="Balance at baseline", language="en")._repr_html_()


def _card(i: int) -> str:
    est = Estimate(estimand="ATT", estimate=-0.05 - i / 1000, se=0.02, ci_low=-0.09, ci_high=-0.01, pvalue=0.01,
                   n={"treated": 120, "control": 240}, method=f"CARDMETHOD{i}")
    both = lambda text: {"lv": text, "en": text}  # noqa: E731
    html = headline_card(both(f"CARDQUESTION{i}: does the programme keep teachers?"),
                         both("Leaving teaching"), est, unit=both("percentage points"), scale=100, digits=1,
                         teachers=360, language="en", method=f"Matched comparison CARDEND{i}")
    return html if isinstance(html, str) else html._repr_html_()


def _filler(i: int) -> str:
    return " ".join(f"Filler sentence {i}.{k} about the programme and its schools." for k in range(8 + 11 * i))


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cells = [
        _cell(_markdown_output("## Indicators")),
        _cell(_html_output(html_table(_wide_frame(70, 12, "LASTCOL"), caption="Indicators by municipality"))),
        _cell(_markdown_output("## Balance")),
        _cell(_html_output(_balance_html())),
        _cell(_html_output(html_table(_wide_frame(8, WIDE_COLUMNS + 7, "WIDECOL"), caption="Every indicator"))),
    ]
    # cards and headings after text of growing length: some would straddle a page end
    for i in range(6):
        cells.append(_cell(_markdown_output(_filler(i))))
        cells.append(_cell(_html_output(_card(i))))
        cells.append(_cell(_markdown_output(f"## HEADING{i} of a section")))
        cells.append(_cell(_markdown_output(f"Body of section {i}: " + _filler(i))))
    nb.cells = cells
    return nb


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("pdf")
    notebook = folder / "notebook.ipynb"
    nbformat.write(_notebook(), notebook)
    manifest = {"study": "pdf_test", "run_id": "20260101T000000Z-pdf", "started_at": "2026-01-01T00:00:00+00:00",
                "parameters": {"language": "en"}}
    return render_report(notebook, folder / "report.html", manifest).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pdf(report_html) -> bytes:
    return html_to_pdf(report_html)


def test_pages_are_a4_and_a_very_wide_table_gets_a_landscape_page(pdf):
    pages = _pages(pdf)
    sizes = [_size(p) for p in pages]
    assert len(pages) >= 4
    assert all(s in (A4, A4[::-1]) for s in sizes), sizes
    wide = [p for p in pages if _size(p) == A4[::-1]]
    assert wide and all("WIDECOL" in _text(p) for p in wide)
    assert all("WIDECOL" not in _text(p) for p in pages if _size(p) == A4)


def test_no_column_is_cut_off(pdf):
    text = " ".join(_text(p) for p in _pages(pdf))
    # the last column of the 12-column table, every row, and the balance table's p-values
    assert all(f"LASTCOL{i}" in text for i in range(70))
    assert all(f"WIDECOL{i}" in text for i in range(8))
    assert re.search(r"p-value", text, re.I), "the balance table's p-value column is missing"
    for page in _pages(pdf):  # nothing starts beyond the right margin
        width = _size(page)[0]
        assert _rightmost(page) < width - MARGIN_RIGHT_PT, page.page_number


def test_table_header_repeats_on_every_page_of_a_long_table(pdf):
    pages = [_text(p) for p in _pages(pdf)]
    with_rows = [t for t in pages if re.search(r"LASTCOL\d", t)]
    assert len(with_rows) >= 2  # the 70 rows need two pages
    assert all("LASTCOL header" in t for t in with_rows)


def _page_of(pages: list[str], marker: str) -> list[int]:
    return [i for i, t in enumerate(pages) if marker in t]


def test_headline_cards_are_never_split(pdf):
    pages = [_text(p) for p in _pages(pdf)]
    for i in range(6):
        start, end = _page_of(pages, f"CARDQUESTION{i}"), _page_of(pages, f"CARDEND{i}")
        assert len(start) == 1 and start == end, (i, start, end)


def test_headings_are_kept_with_what_follows(pdf):
    pages = [_text(p) for p in _pages(pdf)]
    for i in range(6):
        assert _page_of(pages, f"HEADING{i}") == _page_of(pages, f"Body of section {i}:")
    assert _page_of(pages, "Balance") == _page_of(pages, "Balance at baseline")[:1]


def test_the_checks_above_can_fail_without_the_print_rules(report_html):
    """Control: with the print rules removed, some card or heading does break badly, so the
    two tests above test the stylesheet and not luck."""
    bare = re.sub(r"@media print \{.*\n\}\n", "", report_html, flags=re.S)
    assert bare != report_html
    pages = [_text(p) for p in _pages(html_to_pdf(bare))]
    split_card = any(_page_of(pages, f"CARDQUESTION{i}") != _page_of(pages, f"CARDEND{i}") for i in range(6))
    orphan = any(_page_of(pages, f"HEADING{i}") != _page_of(pages, f"Body of section {i}:") for i in range(6))
    cut = not all(f"LASTCOL{i}" in " ".join(pages) for i in range(70)) or any(
        _rightmost(p) >= _size(p)[0] - MARGIN_RIGHT_PT for p in _pages(html_to_pdf(bare)))
    assert split_card or orphan or cut


def test_two_renders_are_byte_identical_and_carry_no_time(report_html, pdf):
    again = html_to_pdf(report_html)
    assert again == pdf
    assert b"/CreationDate" not in pdf and b"/ModDate" not in pdf


def test_nothing_is_fetched(monkeypatch):
    opened: list[str] = []
    real_open = urllib.request.OpenerDirector.open

    def spy(self, url, *args, **kwargs):
        opened.append(getattr(url, "full_url", url))
        return real_open(self, url, *args, **kwargs)

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", spy)
    refused: list[str] = []
    html = ('<html><head><link rel="stylesheet" href="https://example.org/x.css">'
            '<style>@import url("http://example.org/y.css"); body { background: url(file:///etc/hostname) }</style>'
            '</head><body><p>Text</p><img src="http://example.org/pixel.png">'
            '<img src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSI0IiBoZWlnaHQ9IjQiLz4=">'
            '</body></html>')
    out = html_to_pdf(html, refused)
    assert out.startswith(b"%PDF")
    assert opened and all(url.startswith("data:") for url in opened)  # the one inline image only
    assert {"https", "http", "file"} <= set(refused)
    assert "data" not in refused


def test_wide_tables_are_counted_with_colspans():
    assert columns("<table><thead><tr><th></th><th colspan=\"3\">a</th><th>b</th></tr></thead></table>") == 5
    narrow = html_table(_wide_frame(2, WIDE_COLUMNS - 1, "X"))
    wide = html_table(_wide_frame(2, WIDE_COLUMNS + 1, "X"))
    assert "evt-wide" not in mark_wide_tables(narrow)
    assert 'class="evt-table evt-wide"' in mark_wide_tables(wide)
    assert mark_wide_tables(narrow + wide).count("evt-wide") == 1


def test_write_pdf_writes_beside_the_html(tmp_path, report_html):
    html = tmp_path / "report.html"
    html.write_text(report_html, encoding="utf-8")
    out = write_pdf(html)
    assert out == tmp_path / PDF_NAME and out.read_bytes().startswith(b"%PDF")
    assert {p.name for p in tmp_path.iterdir()} == {"report.html", PDF_NAME}  # no temporary file left


# --- the runner --------------------------------------------------------------------------


@pytest.fixture()
def project(tmp_path):
    shutil.copytree(FIXTURES / "project", tmp_path, dirs_exist_ok=True)
    shutil.rmtree(tmp_path / "reports", ignore_errors=True)
    return tmp_path


def _last_run(root, study="tiny"):
    return max((root / "reports" / study).iterdir())


def test_a_run_publishes_report_pdf_through_the_gates(project):
    assert main(["--root", str(project), "run", "tiny", "-p", "params/tiny.yaml"]) == 0
    run = _last_run(project)
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert (run / PDF_NAME).read_bytes().startswith(b"%PDF")
    assert PDF_NAME in manifest["outputs"] and manifest["pdf"] == {"file": PDF_NAME, "error": None}
    assert all(_size(p) == A4 for p in PdfReader(run / PDF_NAME).pages)


def test_a_pdf_failure_is_reported_and_the_html_kept(project, monkeypatch, capsys):
    from evaltools.report import pdf as pdf_module

    def broken(html, refused=None):
        raise pdf_module.PdfError("the report could not be laid out as a PDF (test)")

    monkeypatch.setattr(pdf_module, "html_to_pdf", broken)
    assert main(["--root", str(project), "run", "tiny", "-p", "params/tiny.yaml"]) == 0
    run = _last_run(project)
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "succeeded" and (run / "report.html").is_file()
    assert not (run / PDF_NAME).exists() and not list(run.glob("*.tmp"))
    assert manifest["pdf"]["file"] is None and "could not be laid out" in manifest["pdf"]["error"]
    assert "report.pdf was not made" in capsys.readouterr().err


def test_a_failed_run_has_no_pdf(project):
    assert main(["--root", str(project), "run", "failing", "-p", "params/failing.yaml"]) != 0
    run = _last_run(project, "failing")
    assert (run / "report.html").is_file() and not (run / PDF_NAME).exists()


def test_a_report_with_an_identifier_takes_its_pdf_down_with_it(project):
    """The privacy gate reads report.pdf's metadata but not the text WeasyPrint draws (glyph
    codes); the PDF is made from report.html alone, and an identifier in the HTML withdraws
    every published file, the PDF too."""
    assert main(["--root", str(project), "run", "leaky", "--set", "show=rows"]) != 0
    run = _last_run(project, "leaky")
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["error"]["kind"] == "privacy"
    assert manifest["pdf"]["file"] == PDF_NAME  # it had been made, before the gate
    assert not (run / PDF_NAME).exists() and PDF_NAME not in manifest["outputs"]


# --- a shipped study, run for real (one kernel, about 15 s) ------------------------------


@pytest.fixture(scope="module")
def municipal_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("shipped")
    for name in ("notebooks", "params", "data"):
        (root / name).symlink_to(ROOT / name)
    for name in ("pyproject.toml", "disclosure.yaml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, root / name)
    assert main(["--root", str(root), "run", "municipal_quality", "-p",
                 "params/municipal_quality_valmiera.yaml"]) == 0
    return _last_run(root, "municipal_quality")


def test_shipped_municipal_report_prints_every_indicator_column(municipal_run):
    pages = PdfReader(municipal_run / PDF_NAME).pages
    figures = len(list((municipal_run / "figures").glob("*.png")))
    # no runaway pagination (a table split row by row, a figure per blank page): at most two
    # pages per figure with the text and tables around it (Valmiera: 8 figures, 10 pages)
    assert 1 <= len(pages) <= 2 * (1 + figures) and all(_size(p) == A4 for p in pages)
    text = " ".join(_text(p) for p in pages)
    results = json.loads((municipal_run / "results.json").read_text(encoding="utf-8"))
    table = next(v["value"] for v in results.values()
                 if isinstance(v, dict) and isinstance(v.get("value"), dict)
                 and v["value"].get("type") == "protected_table" and len(v["value"].get("columns", [])) >= 10)
    last = str(table["labels"].get(table["columns"][-1], table["columns"][-1]))
    assert " ".join(last.split()) in text, last  # the header of the last indicator column
    assert str(table["total_row"]) in text  # and the rows
    for page in pages:
        assert _rightmost(page) < _size(page)[0] - MARGIN_RIGHT_PT
