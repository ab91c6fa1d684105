"""An attacker on the published files of a study run, for the study tests.

Holds only what a reader gets: ``results.json`` of a run folder (or the dicts that
``record`` writes there). It tries the attacks the issue names (rate x visible base,
rounding intervals, totals minus the other rows, linked tables) and returns findings
``(record, where, how)``; it never looks at the data behind the report.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def as_published(objects: dict[str, Any]) -> dict[str, Any]:
    """What record() would write for each object (the JSON a reader gets)."""
    from evaltools.report.record import to_jsonable

    return {k: json.loads(json.dumps(to_jsonable(v, k))) for k, v in objects.items()}


def load(run_dir: Path) -> dict[str, Any]:
    return {k: v["value"] for k, v in json.loads((Path(run_dir) / "results.json").read_text()).items()
            if k != "schema_version"}


def _is_marker(v: Any) -> bool:
    return isinstance(v, str)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _rows(table: dict[str, Any]) -> tuple[list[Any], dict[str, dict[Any, Any]]]:
    cols = table["columns"]
    nidx = int(table.get("index_columns", 1))
    labels, cells = [], {c: {} for c in cols[nidx:]}
    for row in table["data"]:
        label = row[0] if nidx == 1 else tuple(row[:nidx])
        labels.append(label)
        for c, v in zip(cols[nidx:], row[nidx:]):
            cells[c][label] = v
    return labels, cells


def _small(k: float, thr: int) -> bool:
    return 0 < k < thr


def attack(results: dict[str, Any], threshold: int) -> list[tuple[str, str, str]]:
    """Every small count recoverable from ``results`` (name -> recorded value)."""
    found: list[tuple[str, str, str]] = []
    tables = {k: v for k, v in results.items() if isinstance(v, dict) and v.get("type") == "protected_table"}
    for name, table in tables.items():
        labels, cells = _rows(table)
        counts = [c for c in table.get("counts", []) if c in cells]
        # 1. a visible count below the threshold
        for c in counts:
            for r, v in cells[c].items():
                if _num(v) is not None and _small(v, threshold):
                    found.append((name, f"{r}/{c}", "visible small count"))
        # 2. a share times its visible base
        for col, num in (table.get("numerators") or {}).items():
            den = (table.get("denominators") or {}).get(col, [None])[0]
            if col not in cells or den not in cells:
                continue
            for r in labels:
                value, base = _num(cells[col][r]), _num(cells[den][r])
                if value is None or base is None or base == 0:
                    continue
                for scale in (100.0, 1.0):
                    k = value * base / scale
                    if abs(k - round(k)) < 1e-6 and 0 <= round(k) <= base:
                        if _small(round(k), threshold) or _small(base - round(k), threshold):
                            found.append((name, f"{r}/{col}", f"share x base gives a small count (scale {scale:g})"))
                        break
        # 3. the total row minus the visible rows
        total = table.get("total_row")
        if total is not None and total in labels:
            for c in counts:
                hidden = [r for r in labels if _is_marker(cells[c][r])]
                if len(hidden) == 1:
                    found.append((name, f"{hidden[0]}/{c}", "the only hidden cell of a column with a total"))
    # 4. linked cells across tables and values: total = sum(parts) with exactly one unknown
    seen = set()
    for name, entry in results.items():
        if not isinstance(entry, dict):
            continue
        for link in entry.get("links") or []:
            key = json.dumps(link, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            cells_ = [link["total"], *link["parts"]]
            values = [_cell(results, c) for c in cells_]
            unknown = [c for c, v in zip(cells_, values) if v is None]
            if len(unknown) == 1:
                known = [v for v in values if v is not None]
                tot = values[0]
                rec = (tot - sum(known[1:])) if tot is not None else sum(known)
                if _small(rec, threshold):
                    found.append((str(unknown[0][0]), str(unknown[0][1:]), "recovered from a linked total"))
    # 5. a single published share with its base (rounding interval)
    for name, v in results.items():
        if isinstance(v, dict) and v.get("type") == "protected_value" and _num(v.get("value")) is not None \
                and _num(v.get("denominator")) and v.get("share"):
            n, d, scale = v["denominator"], int(v.get("digits", 1)), float(v.get("scale") or 1.0)
            h = 0.5 * 10.0 ** -d
            lo, hi = math.ceil((v["value"] - h) * n / scale - 1e-9), math.floor((v["value"] + h) * n / scale + 1e-9)
            ks = range(max(lo, 0), min(hi, n) + 1)
            if ks and all(_small(k, threshold) or _small(n - k, threshold) for k in ks):
                found.append((name, "value", "rounding interval holds only small counts"))
    # 6. estimates that carry a group's observed rate beside its base
    for name, v in results.items():
        for est in _estimates(v):
            diag = est.get("diagnostics") or {}
            n = est.get("n") or {}
            base = _num(n.get("pupil_years")) or _num(n.get("observations"))
            for key in ("p_treated", "rate_supported"):
                p = _num(diag.get(key))
                if p is not None and base:
                    found.append((name, key, "a group's observed rate published in an estimate's diagnostics"))
    return found


def _estimates(v: Any) -> list[dict[str, Any]]:
    if isinstance(v, dict):
        out = [v] if v.get("type") == "estimate" else []
        for x in v.values():
            out += _estimates(x)
        return out
    if isinstance(v, list):
        return [e for x in v for e in _estimates(x)]
    return []


def _cell(results: dict[str, Any], cell: list[Any]) -> float | None:
    name, row, col = cell
    entry = results.get(name)
    if not isinstance(entry, dict):
        return None
    if entry.get("type") == "protected_value":
        return _num(entry.get(col))
    labels, cells = _rows(entry)
    row = tuple(row) if isinstance(row, list) else row
    if col not in cells or row not in cells[col]:
        return None
    return _num(cells[col][row])
