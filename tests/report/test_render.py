"""The funder view: no code, no parameters, self-contained, with provenance."""
import json
import re
import shutil
from pathlib import Path

import pytest

from evaltools.cli import main
from evaltools.report.render import NotSelfContainedError, check_self_contained
from tests import FIXTURES

FIXTURE = FIXTURES / "project"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("render")
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    shutil.rmtree(root / "reports", ignore_errors=True)
    out = {}
    for name in ("tiny", "tiny_lv"):
        assert main(["--root", str(root), "run", "tiny", "-p", f"params/{name}.yaml"]) == 0
        run = max(p for p in (root / "reports" / "tiny").iterdir() if p.name.endswith(f"-{name}"))
        out[name] = run
    return out


def _executed_notebook(run: Path) -> Path:
    """The executed notebook of a run: kept under private/<study>/<run-id>/, not published."""
    root = run.parent.parent.parent
    return root / "private" / run.parent.name / run.name / "notebook.ipynb"


def test_report_has_no_code_no_parameter_cells_and_no_researcher_cells(runs):
    page = (runs["tiny"] / "report.html").read_text()
    nb = json.loads(_executed_notebook(runs["tiny"]).read_text())
    code_lines = [
        line.strip()
        for cell in nb["cells"] if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines() if len(line.strip()) > 12
    ]
    assert code_lines
    for line in code_lines:
        assert line not in page, f"code leaked into the report: {line}"
    assert "jp-InputArea-editor" not in page and "class=\"highlight" not in page
    assert "table_file" not in page.split("<main")[1]  # parameter cells are gone from the body
    header = page.split("<main")[0]
    assert "<dd>numbers.csv</dd>" in header and "notebooks/numbers.csv" not in header  # no local paths
    assert "SECRET_DIAGNOSTIC" not in page


def test_report_keeps_outputs_markdown_and_figures_inline(runs):
    page = (runs["tiny"] / "report.html").read_text()
    assert "Rezultāts" in page  # markdown, with Latvian diacritics intact
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page)
    assert "<table" in page  # the DataFrame output


def test_report_is_self_contained(runs):
    page = (runs["tiny"] / "report.html").read_text()
    check_self_contained(page)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page


def test_header_and_provenance_footer(runs):
    en = (runs["tiny"] / "report.html").read_text()
    lv = (runs["tiny_lv"] / "report.html").read_text()
    manifest = json.loads((runs["tiny"] / "manifest.json").read_text())
    assert "<h1 class=\"ev-title\">Tiny study</h1>" in en and "Provenance" in en
    assert "<h1 class=\"ev-title\">Mazs pētījums</h1>" in lv and "Izcelsme" in lv and 'lang="lv"' in lv
    digest = manifest["inputs"]["table_file"]["sha256"]["numbers.csv"]
    assert digest[:16] in en
    assert f"pandas {manifest['environment']['packages']['pandas']}" in en
    assert manifest["started_at"][:10] in en


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="https://cdn.example.org/x.js"></script>',
        '<img src="figure.png">',
        '<img src=https://example.org/a.png>',
        '<link rel="stylesheet" href="https://example.org/a.css">',
        "<style>body { background: url('https://example.org/bg.png') }</style>",
        "<style>@import 'x.css';</style>",
    ],
)
def test_external_resources_are_refused(snippet):
    with pytest.raises(NotSelfContainedError):
        check_self_contained(f"<html><body>{snippet}</body></html>")


def test_inline_resources_are_accepted():
    check_self_contained('<img src="data:image/png;base64,AAAA"><a href="https://example.org">a link</a>')
