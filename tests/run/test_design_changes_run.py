"""A design change made by a study reaches results.json, the manifest and the report
header of a real run (issue 12, item 8: no silent fallback)."""
from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser

from evaltools.cli import main
from tests import FIXTURES

FIXTURE = FIXTURES / "project"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _visible(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def test_a_design_change_is_stated_in_results_manifest_and_report(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    assert main(["--root", str(root), "run", "changes"]) == 0
    (run,) = [p for p in (root / "reports" / "changes").iterdir() if not p.name.startswith(".")]
    change = {"option": "control_group", "asked": "never", "used": "notyet",
              "reason": "the data have no never-treated unit"}
    results = json.loads((run / "results.json").read_text("utf-8"))
    assert results["design_changes"]["value"] == [change]
    manifest = json.loads((run / "manifest.json").read_text("utf-8"))
    assert manifest["status"] == "succeeded" and manifest["design_changes"] == [change]
    text = _visible((run / "report.html").read_text("utf-8"))
    assert "Change to the planned analysis" in text  # the notice in the body
    assert "never → notyet (changed, see the report)" in text  # the parameter block


def test_no_change_means_no_notice(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    assert main(["--root", str(root), "run", "changes", "--set", "control_group=notyet"]) == 0
    (run,) = [p for p in (root / "reports" / "changes").iterdir() if not p.name.startswith(".")]
    assert json.loads((run / "manifest.json").read_text("utf-8"))["design_changes"] == []
    text = _visible((run / "report.html").read_text("utf-8"))
    assert "Change to the planned analysis" not in text and "changed, see the report" not in text
