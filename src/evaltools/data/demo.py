"""Is a data set the synthetic generator's? (Demonstration data, not real pupils.)

:func:`evaltools.data.synth.write` puts ``true_effects.json`` beside the tables, a JSON
object whose ``generator`` is ``"evaltools.data.synth"`` (with ``scale`` and ``seed``);
pseudonymising a folder copies it along. That marker, not the file name alone, is the
test: a real extract has no such file, and a ``true_effects.json`` written by anyone
else (or unreadable) does not count. Reports of synthetic data carry a banner saying so
(:mod:`evaltools.report.render`) and only they may show "true effect" markers
(:func:`synthetic_truth`); the runner stores the marker in ``manifest.json`` under
``demo``.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: The file the generator writes beside the tables, and its ``generator`` value.
TRUTH_FILE = "true_effects.json"
GENERATOR = "evaltools.data.synth"


def is_synthetic_truth(truth: Any) -> bool:
    """Whether ``truth`` (a parsed ``true_effects.json``) was written by the generator."""
    return isinstance(truth, Mapping) and truth.get("generator") == GENERATOR


def synthetic_marker(path: str | Path) -> dict[str, Any] | None:
    """The generator's marker of the data in ``path`` (a folder, or a file in one):
    ``{"generator", "scale", "seed"}``, or None for anything else (no sidecar, another
    writer's, unreadable)."""
    folder = Path(path)
    if not folder.is_dir():
        folder = folder.parent
    sidecar = folder / TRUTH_FILE
    try:
        truth = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not is_synthetic_truth(truth):
        return None
    return {"generator": GENERATOR, "scale": truth.get("scale"), "seed": truth.get("seed")}


def demo_inputs(inputs: Mapping[str, str | Path] | Iterable[tuple[str, str | Path]]) -> dict[str, Any] | None:
    """The marker of a run's inputs (parameter name → path): None when no input is the
    generator's data, else the first marker with ``inputs``, the parameters that are."""
    items = inputs.items() if isinstance(inputs, Mapping) else inputs
    found: dict[str, dict[str, Any]] = {}
    for name, path in items:
        marker = synthetic_marker(path)
        if marker is not None:
            found[str(name)] = marker
    if not found:
        return None
    first = next(iter(found.values()))
    return {**first, "inputs": sorted(found)}


def synthetic_truth(dataset: Any) -> dict[str, Any] | None:
    """A data set's true effects if they are the generator's, else None (a real extract's
    folder never yields "true effect" markers)."""
    truth = getattr(dataset, "truth", dataset)
    return truth if is_synthetic_truth(truth) else None


def effect_truth(truth: Mapping[str, Any] | None, name: str) -> Mapping[str, Any] | None:
    """The entry ``name`` of a parsed ``true_effects.json`` (None if there is no such entry)."""
    if not truth:
        return None
    return next((e for e in truth.get("effects", []) if e.get("name") == name), None)


def bias_direction(entry: Mapping[str, Any]) -> int | None:
    """+1 when an entry's ``naive_bias_direction`` says upward, -1 downward, None when it says neither."""
    text = str(entry.get("naive_bias_direction", "")).strip().lower()
    return 1 if text.startswith("up") else -1 if text.startswith("down") else None
