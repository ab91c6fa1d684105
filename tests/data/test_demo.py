"""Which inputs are the synthetic generator's data (evaltools.data.demo)."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from evaltools.data.demo import GENERATOR, TRUTH_FILE, demo_inputs, synthetic_marker, synthetic_truth

from tests.data._sample import SAMPLE  # noqa: E402


def _folder(tmp_path: Path, name: str, sidecar: str | None) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "pupils.csv").write_text("pupil_id\n1\n", encoding="utf-8")
    if sidecar is not None:
        (folder / TRUTH_FILE).write_text(sidecar, encoding="utf-8")
    return folder


def test_the_shipped_sample_carries_the_generators_marker():
    marker = synthetic_marker(SAMPLE)
    assert marker is not None and marker["generator"] == GENERATOR
    truth = json.loads((SAMPLE / TRUTH_FILE).read_text(encoding="utf-8"))
    assert marker["seed"] == truth["seed"] and marker["scale"] == truth["scale"]


@pytest.mark.parametrize("sidecar, synthetic", [
    (json.dumps({"generator": GENERATOR, "scale": "tiny", "seed": 3, "effects": []}), True),
    (None, False),                                                  # a real extract: no sidecar
    (json.dumps({"generator": "someone else", "effects": []}), False),  # another writer's file
    (json.dumps({"effects": []}), False),                           # no marker at all
    (json.dumps([GENERATOR]), False),                               # not an object
    ("{not json", False),                                           # unreadable
])
def test_only_the_generators_sidecar_marks_a_folder_synthetic(tmp_path, sidecar, synthetic):
    folder = _folder(tmp_path, "extract", sidecar)
    assert (synthetic_marker(folder) is not None) is synthetic
    assert (synthetic_marker(folder / "pupils.csv") is not None) is synthetic  # a file input: its folder
    truth = json.loads(sidecar) if synthetic else None
    assert synthetic_truth(SimpleNamespace(truth=truth)) == truth


def test_a_runs_inputs_name_the_synthetic_ones(tmp_path):
    synth = _folder(tmp_path, "synth", json.dumps({"generator": GENERATOR, "scale": "sample", "seed": 1}))
    real = _folder(tmp_path, "real", None)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns: {}\n", encoding="utf-8")
    assert demo_inputs({"data_dir": real, "mapping": mapping}) is None
    assert demo_inputs({}) is None
    found = demo_inputs({"data_dir": synth, "mapping": mapping})
    assert found == {"generator": GENERATOR, "scale": "sample", "seed": 1, "inputs": ["data_dir"]}
    # a stray true_effects.json without the marker shows no truth either
    assert synthetic_truth(SimpleNamespace(truth={"effects": [{"name": "x", "true_value": 1}]})) is None
