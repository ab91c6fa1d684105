"""Record the numbers a study produces, so they reach ``results.json``.

A notebook calls ``record(name, value)`` for every number a reader or a machine
may want: scalars, tables (DataFrame/Series) and estimate objects (anything
with ``.to_dict()``, e.g. :class:`evaltools.estimate.Estimate`).

``results.json`` is published, so a plain table is checked by disclosure
control first: every integer column counts as a count and no visible count
may lie between 1 and the threshold. Tables made by
``evaltools.report.disclosure.protect`` are recorded as protected, with what a
reader needs to relate their numbers (totals, denominators, numerators, share
scales, links to other tables); single numbers made by ``protect_value`` with
their base and the decimals shown. Each record is attacked on its own as it is
stored (:func:`evaltools.report.attack.attack_records`: a small sample size in an
estimate, a full-precision share beside its base), so a leak fails at the cell
that makes it; the runner attacks all records and exported files together at the
end of the run (:func:`evaltools.report.attack.attack_run`). Inside a run
started by ``evaltools run`` the runner sets ``EVALTOOLS_RUN_DIR`` and every
call rewrites ``results.json`` there atomically; in JupyterLab or under nbval
the values are only kept in memory (see :func:`recorded`).
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaltools.report.escape import plain

RUN_DIR_ENV = "EVALTOOLS_RUN_DIR"
RESULTS_FILE = "results.json"
#: Version of the layout of ``results.json`` (``results.schema.json`` in this package, docs/results.md).
#: Stored as the top-level key ``schema_version``; every other top-level key is a record name.
#: Minor: keys added; major: keys removed or changed meaning.
SCHEMA_VERSION = "1.0"
#: Top-level keys of ``results.json`` that are not records (no record may take these names).
RESERVED = frozenset({"schema_version"})
SCHEMA_FILE = Path(__file__).with_name("results.schema.json")

_results: dict[str, dict[str, Any]] = {}


def record(name: str, value: Any, *, headline: bool = False, label: str | None = None) -> Any:
    """Store ``value`` under ``name`` and return it unchanged.

    ``headline=True`` marks the figure the index page shows for this run (the
    last one so marked wins). ``label`` is a human-readable description.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"record(): the name must be a non-empty string, got {name!r}.")
    if name in RESERVED:
        raise ValueError(f"record(): {name!r} is a reserved key of results.json; choose another name.")
    if isinstance(value, (pd.DataFrame, pd.Series)):
        _check_disclosure(value if isinstance(value, pd.DataFrame) else value.to_frame(), name)
    entry: dict[str, Any] = {"value": _protect_estimate_counts(to_jsonable(value, where=name))}
    _attack_entry(name, entry)
    if label:
        entry["label"] = plain(label)  # a catalogue message's text, not its Markdown escapes
    if headline:
        for other in _results.values():
            other.pop("headline", None)
        entry["headline"] = True
    _results[name] = entry
    _flush()
    return value


def _check_disclosure(df: pd.DataFrame, name: str) -> None:
    from evaltools.report.disclosure import DisclosureError, assert_safe

    counts = [c for c in df.columns if pd.api.types.is_integer_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    if not counts:
        return
    try:
        assert_safe(df, counts=counts, total_row=None, total_col=None)
    except DisclosureError as exc:
        raise DisclosureError(
            f"record({name!r}): {exc} Protect the table first: "
            "evaltools.report.disclosure.protect(table, counts=[...])."
        ) from None


def _attack_entry(name: str, entry: dict[str, Any]) -> None:
    """Refuse a record from which the attacker recovers a small count (named, never the value)."""
    from evaltools.report.attack import attack_records
    from evaltools.report.disclosure import DisclosureError, get_threshold

    text = json.dumps(entry, ensure_ascii=False)  # what results.json will hold, read back as a reader would
    findings = attack_records({name: json.loads(text, parse_float=_json_float())}, get_threshold())
    if findings:
        shown = "; ".join(str(f) for f in findings[:3]) + (" ..." if len(findings) > 3 else "")
        raise DisclosureError(
            f"record({name!r}): a reader could recover a count below the disclosure threshold: {shown}. "
            "Publish the number through evaltools.report.disclosure (protect, protect_value, protect_linked)."
        )


def _json_float() -> Any:
    from evaltools.report.attack import _Num

    return _Num


def _protect_estimate_counts(value: Any) -> Any:
    """Sample sizes inside recorded estimates are published too: a count below the
    disclosure threshold becomes the text ``"<threshold"`` (e.g. ``"<10"``)."""
    if isinstance(value, list):
        return [_protect_estimate_counts(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _protect_estimate_counts(v) for k, v in value.items()}
    if out.get("type") == "estimate" and isinstance(out.get("n"), dict):
        from evaltools.report.disclosure import get_threshold

        threshold = get_threshold()
        out["n"] = {
            k: f"<{threshold}" if isinstance(v, int) and 0 < v < threshold else v
            for k, v in out["n"].items()
        }
    return out


def recorded() -> dict[str, dict[str, Any]]:
    """Everything recorded so far in this kernel (the records of ``results.json``, without
    its ``schema_version``)."""
    return json.loads(json.dumps(_results))


def results_document() -> dict[str, Any]:
    """``results.json`` as written: ``schema_version`` first, then the records by name."""
    return {"schema_version": SCHEMA_VERSION, **recorded()}


def records_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """The records of a ``results.json`` mapping (any version): every key but the reserved ones."""
    return {k: v for k, v in document.items() if k not in RESERVED}


def results_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``results.json``, shipped with the package."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def validate_results(document: Any) -> list[str]:
    """Every way ``document`` (a parsed ``results.json``) departs from :func:`results_schema`:
    ``"<path>: <message>"`` per problem, empty when it conforms."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(results_schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
            for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]


def clear() -> None:
    """Forget everything recorded (for tests and for re-running a notebook top to bottom)."""
    _results.clear()
    _flush()


def run_dir() -> Path | None:
    """The run directory when executing under ``evaltools run``, else ``None``."""
    path = os.environ.get(RUN_DIR_ENV)
    return Path(path) if path else None


def output_dir() -> Path:
    """Folder for files published beside the report (CSV and Excel tables).

    Inside a run: ``<run>/tables``; elsewhere a folder in the system's temporary
    directory, so that an interactive session never writes into the repository.
    """
    base = run_dir()
    folder = base / "tables" if base else Path(tempfile.gettempdir()) / "evaltools-interactive"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def figures_dir() -> Path:
    """Folder for published figures (PNG and SVG): ``<run>/figures`` inside a run, else a
    folder in the system's temporary directory."""
    base = run_dir()
    folder = base / "figures" if base else Path(tempfile.gettempdir()) / "evaltools-interactive" / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def to_jsonable(value: Any, where: str = "value") -> Any:
    """Convert ``value`` to plain JSON types; NaN and infinities become ``None``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, pd.Series):
        value = value.to_frame()
    if isinstance(value, pd.DataFrame):
        return _table(value, where)
    if isinstance(value, np.ndarray):
        return [to_jsonable(v, where) for v in value.tolist()]
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return to_jsonable(value.to_dict(), where)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, where) for v in value]
    raise TypeError(
        f"record({where!r}): cannot store a {type(value).__name__}. Record a number, a "
        "string, a pandas DataFrame/Series, or an object with a .to_dict() method."
    )


def _table(df: pd.DataFrame, where: str) -> dict[str, Any]:
    flat = df.reset_index() if _has_named_index(df) else df
    return {
        "type": "table",
        "columns": [str(c) for c in flat.columns],
        "data": [[to_jsonable(v, where) for v in row] for row in flat.itertuples(index=False)],
    }


def _has_named_index(df: pd.DataFrame) -> bool:
    return any(name is not None for name in df.index.names) or not isinstance(
        df.index, pd.RangeIndex
    )


def _flush() -> None:
    base = run_dir()
    if base is None:
        return
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / (RESULTS_FILE + ".tmp")
    tmp.write_text(json.dumps(results_document(), indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, base / RESULTS_FILE)
