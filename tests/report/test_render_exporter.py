"""The funder exporter is made once per process (render.funder_exporter): a report rendered by the
reused exporter is byte for byte the one a new exporter renders, and nothing of one report (its
language, its cells, a researcher cell) reaches the next."""
from __future__ import annotations

import nbformat
import pytest

from evaltools.report import render
from evaltools.report.render import render_report


def _notebook(tmp_path, name: str, said: str, researcher: str):
    nb = nbformat.v4.new_notebook()
    hidden = nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/markdown": researcher})])
    hidden.metadata["tags"] = ["researcher"]
    nb.cells = [nbformat.v4.new_markdown_cell("## Results"),
                nbformat.v4.new_code_cell("1", outputs=[nbformat.v4.new_output(
                    "display_data", data={"text/markdown": said})]),
                hidden]
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def _manifest(name: str, language: str) -> dict:
    return {"study": "demo", "run_id": f"20260101T000000Z-{name}", "started_at": "2026-01-01T00:00:00",
            "parameters": {"language": language}, "demo": None}


@pytest.fixture
def fresh_exporter():
    render.funder_exporter.cache_clear()
    yield
    render.funder_exporter.cache_clear()


def test_a_reused_exporter_renders_the_same_bytes_as_a_new_one(tmp_path, fresh_exporter):
    first = _notebook(tmp_path, "a", "The effect was 2.", "SECRET_A")
    second = _notebook(tmp_path, "b", "Efekts bija 3.", "SECRET_B")
    reused = [render_report(first, tmp_path / "a1.html", _manifest("a", "en")).read_bytes(),
              render_report(second, tmp_path / "b1.html", _manifest("b", "lv")).read_bytes()]
    assert render.funder_exporter.cache_info().currsize == 1 and render.funder_exporter.cache_info().hits >= 1
    made_new = []
    for path, name, language in ((first, "a", "en"), (second, "b", "lv")):
        render.funder_exporter.cache_clear()
        made_new.append(render_report(path, tmp_path / f"{name}2.html", _manifest(name, language)).read_bytes())
    assert reused == made_new


def test_nothing_of_one_report_reaches_the_next(tmp_path, fresh_exporter):
    first = _notebook(tmp_path, "a", "ALPHA_ONLY", "SECRET_A")
    second = _notebook(tmp_path, "b", "BETA_ONLY", "SECRET_B")
    render_report(first, tmp_path / "a.html", _manifest("a", "en"))
    page = render_report(second, tmp_path / "b.html", _manifest("b", "lv")).read_text(encoding="utf-8")
    assert "BETA_ONLY" in page and 'lang="lv"' in page
    assert "ALPHA_ONLY" not in page and "SECRET_A" not in page and "SECRET_B" not in page
    assert 'lang="en"' not in page
