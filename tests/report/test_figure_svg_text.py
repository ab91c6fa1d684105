"""A published figure's SVG holds its words as text (figures.SVG_FONTTYPE): Latvian letters and
markup from data come back as written, no letter is drawn as an outline, the printed report keeps
the words, and the privacy gate reads them in the SVG and in the PDF."""
from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaltools.report.disclosure import protect  # noqa: E402
from evaltools.report.figures import line_plot, publish_figure  # noqa: E402
from evaltools.report.record import RUN_DIR_ENV, clear  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
TOKEN = "ZX93QK71"  # a value shaped like an identifier of the inputs
TITLE = f"Kavējumi – Cēsu novads {TOKEN} <b>&amp; 'x'"  # Latvian letters, and markup a name from data could hold


def _table():
    frame = pd.DataFrame({"pupils": [120, 80, 60], "rate": [1.5, 2.5, 3.0]},
                         index=pd.Index([2020, 2021, 2022], name="year"))
    return protect(frame, counts=["pupils"], denominators={"rate": "pupils"}, total_row=None, total_col=None,
                   threshold=10)


@pytest.fixture
def published(tmp_path, monkeypatch):
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    clear()
    data = _table()
    try:
        yield publish_figure(line_plot(data, x="year", y="rate", title=TITLE, xlabel="Mācību gads", language="lv"),
                             "trend", data=data)
    finally:
        clear()


def _words(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def test_the_svg_holds_the_words_as_text_with_no_letter_outlines(published):
    svg = published.svg.read_bytes()
    words = _words(svg)
    assert TITLE in words and "Mācību gads" in words and "2021" in words
    assert b"DejaVuSans-" not in svg  # glyph outlines are defined under the font's name
    assert b"<b>" not in svg  # the data's markup is escaped text, not elements


def test_the_printed_report_and_the_gate_read_the_figure_words(published, tmp_path):
    from evaltools.report.pdf import html_to_pdf
    from evaltools.report.privacy import scan_file

    assert scan_file(published.svg, {TOKEN}) == ["identifier"]
    assert scan_file(published.svg, {"QK71ZX93"}) == []
    uri = "data:image/svg+xml;base64," + base64.b64encode(published.svg.read_bytes()).decode("ascii")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(html_to_pdf(f'<html><body><p>Attēls</p><img src="{uri}"></body></html>'))
    assert scan_file(pdf, {TOKEN}) == ["identifier"]  # the figure's words are text in the PDF too
    assert scan_file(pdf, {"QK71ZX93"}) == []
