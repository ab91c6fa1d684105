"""The runner's manifest says whether a run's input is the synthetic generator's data (no kernel)."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

from evaltools.data.demo import GENERATOR, TRUTH_FILE
from evaltools.run.execute import _manifest, plan_run
from evaltools.run.project import Project
from tests import FIXTURES


def test_the_manifest_marks_synthetic_inputs_only(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", root)
    project = Project.find(root)
    started = datetime(2026, 1, 1, tzinfo=timezone.utc)
    plan = plan_run(project, "tiny", "params/tiny.yaml")  # table_file: notebooks/numbers.csv
    assert _manifest(plan, "r1", started)["demo"] is None
    (root / "notebooks" / TRUTH_FILE).write_text(json.dumps({"effects": []}), encoding="utf-8")
    assert _manifest(plan, "r2", started)["demo"] is None  # not the generator's sidecar
    (root / "notebooks" / TRUTH_FILE).write_text(
        json.dumps({"generator": GENERATOR, "scale": "tiny", "seed": 5, "effects": []}), encoding="utf-8")
    assert _manifest(plan, "r3", started)["demo"] == {"generator": GENERATOR, "scale": "tiny", "seed": 5,
                                                       "inputs": ["table_file"]}
