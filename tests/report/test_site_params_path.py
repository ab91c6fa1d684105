"""The index names a run's params file relative to the project, never by an absolute path (a home
folder carries a person's name): a file outside the project is shown by its name only."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaltools.report.site import build_site, params_shown


def _run(reports: Path, run_id: str, params_path: str, status: str) -> None:
    folder = reports / "tiny" / run_id
    folder.mkdir(parents=True)
    stamp = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:{run_id[11:13]}:00+00:00"
    (folder / "manifest.json").write_text(json.dumps(
        {"study": "tiny", "run_id": run_id, "status": status, "started_at": stamp,
         "parameters": {"language": "en"}, "params_file": {"path": params_path},
         "error": None if status == "succeeded" else {"kind": "cell error", "message": "x"}}), "utf-8")
    (folder / "results.json").write_text("{}", "utf-8")
    (folder / "report.html").write_text("<!DOCTYPE html><html><body>r</body></html>", "utf-8")


@pytest.mark.parametrize(("recorded", "shown"), [
    ("params/municipal_quality/riga.yaml", "params/municipal_quality/riga.yaml"),
    ("/home/anna.berzina/evaluations/riga.yaml", "riga.yaml"),
    ("C:\\Users\\anna.berzina\\riga.yaml", "riga.yaml"),
])
def test_params_file_is_shown_relative_or_by_name(recorded, shown):
    assert params_shown({"params_file": {"path": recorded}}) == shown


def test_the_index_never_shows_the_absolute_path_of_a_params_file(tmp_path):
    reports = tmp_path / "reports"
    _run(reports, "20260101T100000Z-riga", "/home/anna.berzina/evaluations/riga.yaml", "succeeded")
    _run(reports, "20250101T100000Z-riga", "/home/anna.berzina/evaluations/old.yaml", "failed")
    _run(reports, "20240101T100000Z-valm", "params/valm.yaml", "succeeded")
    page = build_site(reports).read_text("utf-8")
    assert "anna.berzina" not in page and "/home/" not in page
    assert "riga.yaml" in page and "old.yaml" in page and "params/valm.yaml" in page
