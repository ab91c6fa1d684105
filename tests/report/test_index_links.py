"""The index links the PDF with its size; a failed run's page and index entry carry the
study's title in the report's language (not its code name). Hand-written folders, no kernel."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from evaltools.report.i18n import text
from evaltools.report.site import build_site, file_size
from evaltools.run.finish import failure_page

TITLE = {"lv": "Skolēnu noturēšana skolā (PUMPURS)", "en": "Keeping pupils in school (PUMPURS)"}


def _project(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "dropout_prevention.ipynb").write_text(json.dumps(
        {"cells": [], "metadata": {"evaltools": {"title": TITLE}}, "nbformat": 4, "nbformat_minor": 5}), "utf-8")
    return tmp_path / "reports"


def _folder(reports, run_id, language, status="succeeded", pdf_bytes=None):
    folder = reports / "dropout_prevention" / run_id
    folder.mkdir(parents=True)
    manifest = {"study": "dropout_prevention", "run_id": run_id, "status": status,
                "started_at": "2026-01-01T10:00:00+00:00", "parameters": {"language": language, "region": "all"},
                "notebook": {"path": "notebooks/dropout_prevention.ipynb"}}
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    (folder / "results.json").write_text("{}", "utf-8")
    (folder / "report.html").write_text("<!DOCTYPE html><html><body>r</body></html>", "utf-8")
    if pdf_bytes is not None:
        (folder / "report.pdf").write_bytes(b"%PDF" + b"0" * (pdf_bytes - 4))
    return folder, manifest


@pytest.mark.parametrize("n, lv, en", [(412_300, "412\u00a0kB", "412\u00a0kB"), (1_234_567, "1,2\u00a0MB", "1.2\u00a0MB"),
                                       (300, "1\u00a0kB", "1\u00a0kB")])
def test_file_size_in_the_languages_form(n, lv, en):
    assert file_size(n, "lv") == lv and file_size(n, "en") == en


def test_current_run_and_history_link_the_pdf_with_its_size(tmp_path):
    reports = _project(tmp_path)
    _folder(reports, "20260101T100000Z-dropout_prevention", "lv", pdf_bytes=412_300)
    _folder(reports, "20260102T100000Z-dropout_prevention", "lv", pdf_bytes=398_700)  # current; the other is history
    page = build_site(reports).read_text("utf-8")
    links = re.findall(r'<a href="([^"]+report\.pdf)"[^>]*>([^<]+)</a>', page)
    assert ("dropout_prevention/20260102T100000Z-dropout_prevention/report.pdf", "PDF, 399\u00a0kB") in links
    assert ("dropout_prevention/20260101T100000Z-dropout_prevention/report.pdf", "PDF, 412\u00a0kB") in links


@pytest.mark.parametrize("language", ["lv", "en"])
def test_a_failed_runs_page_and_index_entry_have_the_studys_title(tmp_path, language):
    reports = _project(tmp_path)
    folder, manifest = _folder(reports, f"20260101T100000Z-x_{language}", language, status="failed")
    error = {"kind": "cell error", "message": "ValueError: boom"}
    assert failure_page(folder, manifest, error)
    page = (folder / "report.html").read_text("utf-8")
    expected = text("page.title_failed", language, title=TITLE[language])
    assert unescape(re.search(r"<title>(.*?)</title>", page).group(1)) == expected
    assert expected.endswith({"lv": "— neizdevās", "en": "— failed"}[language])
    assert f'<h1 class="ev-title">{TITLE[language]}</h1>' in unescape(page)
    assert "dropout_prevention" not in re.sub(r"<code>.*?</code>", "", page)
    (folder / "manifest.json").write_text(json.dumps({**manifest, "error": error}), "utf-8")
    index = unescape(build_site(reports).read_text("utf-8"))
    assert TITLE[language] in index
