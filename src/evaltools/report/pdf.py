"""``report.pdf`` from ``report.html``: the printed report funders circulate.

WeasyPrint lays the page out with the system's Pango (no browser, nothing
downloaded) following the ``@media print`` / ``@page`` rules of
``templates/funder/funder.css``: A4, tables that fit the width, cards and
figures never split, headings kept with what follows.

Two promises:

- **Nothing is fetched.** The report is self-contained (images are ``data:``
  URIs); the URL fetcher refuses every other scheme, so a stray ``http:`` or
  ``file:`` reference cannot reach the network or the evaluator's disk.
- **Figures print as vectors.** A figure published with ``publish_figure`` is shown in the
  HTML as its PNG (drawn at twice the screen resolution) and saved beside it as SVG;
  :func:`write_pdf` prints the SVG (:func:`vector_figures`): sharp at any zoom, and a
  tenth of the bytes (the municipal report: 1.5 MB to 0.2 MB). The privacy gate inflates
  every stream of the PDF; the bitmaps made it read about 80 MB per report (40 s of a
  run), the vectors a few hundred kB. The SVG's words are text (``figures.SVG_FONTTYPE``),
  set in DejaVu Sans as on screen: drawing each letter as an outline cost 1.6 CPU-s more per
  municipal report here and made the PDF 60 % larger (166 → 266 kB).
- **The same HTML gives the same bytes.** No creation or modification time is
  written, the file identifier is a digest of the HTML and the embedded font
  subsets carry a fixed time (``SOURCE_DATE_EPOCH``), so a rerun of a study that
  publishes the same report publishes a byte-identical PDF.
"""
from __future__ import annotations

import hashlib
import os
import re
import warnings
from pathlib import Path
from typing import Any

from evaltools.core.errors import EvaltoolsError

PDF_NAME = "report.pdf"
FONT_EPOCH = "946684800"  # 2000-01-01T00:00:00Z: the time stamped into embedded font subsets
# A table with more columns than this (row labels included) is printed on a landscape
# page of its own (``@page wide`` in funder.css); up to it, smaller type and wrapped
# headers fit the A4 portrait width (the municipal indicator table has 12).
WIDE_COLUMNS = 13

_TABLE_BOX = re.compile(r'<div class="evt-table"(?P<rest>[^>]*)>(?P<body>.*?)</table>', re.S)
_FIRST_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S)
_CELL = re.compile(r"<t[hd]\b([^>]*)>", re.S)
_COLSPAN = re.compile(r'colspan\s*=\s*"?(\d+)')


class PdfError(EvaltoolsError, RuntimeError):
    """The PDF could not be made (renderer missing, or the HTML could not be laid out)."""


class FetchRefused(EvaltoolsError, ValueError):
    """The report asked for a resource outside itself (only ``data:`` URIs are allowed)."""


def is_allowed(url: str) -> bool:
    """Whether the PDF renderer may load ``url``: ``data:`` URIs only."""
    return url[:5].lower() == "data:"


def _fetcher(refused: list[str]) -> Any:
    """A WeasyPrint URL fetcher that loads ``data:`` URIs and refuses everything else
    (the refused URL's scheme is appended to ``refused``)."""
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not is_allowed(url):
                refused.append(url.split(":", 1)[0][:20] if ":" in url else "relative")
                raise FetchRefused("report.pdf fetches nothing but data: URIs")
            return super().fetch(url, headers)

    return DataOnlyFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


def columns(table_html: str) -> int:
    """How many columns the first row of a table spans (``colspan`` counted)."""
    row = _FIRST_ROW.search(table_html)
    if row is None:
        return 0
    total = 0
    for attrs in _CELL.findall(row.group(1)):
        span = _COLSPAN.search(attrs)
        total += int(span.group(1)) if span else 1
    return total


def mark_wide_tables(html: str, limit: int = WIDE_COLUMNS) -> str:
    """``html`` with the class ``evt-wide`` added to every report-layer table box
    (``<div class="evt-table">``) whose table has more than ``limit`` columns."""
    def mark(m: re.Match[str]) -> str:
        if columns(m.group("body")) <= limit:
            return m.group(0)
        return f'<div class="evt-table evt-wide"{m.group("rest")}>{m.group("body")}</table>'

    return _TABLE_BOX.sub(mark, html)


def vector_figures(html: str, figures: Path) -> str:
    """``html`` with every embedded PNG that is a published figure of ``figures`` (the run's
    ``figures/`` folder: ``<name>.png`` and ``<name>.svg`` side by side, written by
    :func:`evaltools.report.figures.publish_figure`) replaced by its SVG, as a ``data:`` URI.
    A PNG is matched by its bytes (the report embeds the file as written); images without an
    SVG sibling are left as they are."""
    import base64

    if not figures.is_dir() or "data:image/png;base64," not in html:
        return html
    for png in sorted(figures.glob("*.png")):
        svg = png.with_suffix(".svg")
        if not svg.is_file():
            continue
        old = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
        if old in html:
            html = html.replace(old, "data:image/svg+xml;base64," + base64.b64encode(svg.read_bytes()).decode("ascii"))
    return html


def html_to_pdf(html: str, refused: list[str] | None = None) -> bytes:
    """The PDF bytes of one self-contained HTML page (A4, print styles), deterministically.

    Every URL but a ``data:`` URI is refused (its scheme appended to ``refused`` when
    given); the refused resource is left out of the page."""
    try:
        with warnings.catch_warnings():  # "HarfBuzz-Subset will be required by future versions"
            warnings.simplefilter("ignore", DeprecationWarning)
            import weasyprint
    except (ImportError, OSError) as exc:  # pragma: no cover - weasyprint is a dependency
        raise PdfError(
            f"WeasyPrint cannot be loaded ({type(exc).__name__}: {str(exc)[:160]}): run `make setup`; "
            "on Windows and macOS it also needs Pango (see WeasyPrint's installation notes)."
        ) from exc
    # WeasyPrint logs every refused fetch and every unsupported CSS property at
    # WARNING; the refusals are the point and the properties are screen-only.
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        document = weasyprint.HTML(string=mark_wide_tables(html), base_url=None, url_fetcher=_fetcher(refused if refused is not None else [])).render()
    except Exception as exc:  # noqa: BLE001 - any layout failure is one clear error
        raise PdfError(f"the report could not be laid out as a PDF ({type(exc).__name__}: "
                       f"{str(exc)[:200]})") from exc
    meta = document.metadata
    meta.created = None
    meta.modified = None
    # the file identifier: a digest of the HTML, stable across reruns and unique per report
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    # The font subsetter (fontTools) stamps each embedded font with the current time
    # unless SOURCE_DATE_EPOCH is set (reproducible-builds.org): a fixed one, or the caller's.
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = saved or FONT_EPOCH
    try:
        return document.write_pdf(pdf_identifier=identifier)
    except Exception as exc:  # noqa: BLE001
        raise PdfError(f"the PDF could not be written ({type(exc).__name__}: {str(exc)[:200]})") from exc
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)


def write_pdf(html_path: Path, pdf_path: Path | None = None) -> Path:
    """Render ``html_path`` to ``pdf_path`` (default: ``report.pdf`` beside it), atomically; the
    figures of the ``figures/`` folder beside the HTML are printed as vectors (:func:`vector_figures`)."""
    html_path = Path(html_path)
    pdf_path = Path(pdf_path) if pdf_path is not None else html_path.with_name(PDF_NAME)
    data = html_to_pdf(vector_figures(html_path.read_text(encoding="utf-8"), html_path.parent / "figures"))
    tmp = pdf_path.with_name(pdf_path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, pdf_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return pdf_path
