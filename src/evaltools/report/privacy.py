"""The last gate before publication: no identifier leaves in a published file.

Disclosure control (``evaltools.report.disclosure``) protects the tables a
notebook publishes. This gate checks the finished files themselves, whatever
produced them: ``report.html``, ``results.json`` and the exported tables must
not contain

- a Latvian personal code (``DDMMYY-NNNNN``, also the newer ``32NNNN-NNNNN``), or
- any value of an identifier column (pupil or teacher id) of the run's input data.

The runner calls :func:`scan_run` before a run is moved into place and fails
the run, withdrawing those files, when anything is found.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

# Not after a digit, '-' or '.': the 11 decimals of a float in results.json (5556.01094253253)
# are not a personal code.
PERSONAL_CODE = re.compile(r"(?<![\d.-])(?:[0-3]\d[01]\d\d\d|32\d{4})-?\d{5}(?![\d-])")
IDENTIFIER_COLUMNS = ("pupil_id", "teacher_id", "personal_code")
_TOKEN = re.compile(r"[A-Za-z0-9_]{6,}")
PUBLISHED = ("report.html", "results.json", "tables/*.csv", "tables/*.xlsx")


def identifier_values(inputs: Iterable[Path]) -> set[str]:
    """Values of identifier columns in every Parquet/CSV table under ``inputs``."""
    import pandas as pd
    import pyarrow.parquet as pq

    ids: set[str] = set()
    for base in inputs:
        files = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in files:
            suffix = path.suffix.lower()
            if suffix == ".parquet":
                names = pq.read_schema(path).names
                cols = [c for c in IDENTIFIER_COLUMNS if c in names]
                if cols:
                    table = pq.read_table(path, columns=cols)
                    for c in cols:
                        ids.update(str(v) for v in table.column(c).to_pylist() if v is not None)
            elif suffix == ".csv":
                head = pd.read_csv(path, nrows=0).columns
                cols = [c for c in IDENTIFIER_COLUMNS if c in head]
                if cols:
                    frame = pd.read_csv(path, usecols=cols, dtype=str)
                    for c in cols:
                        ids.update(frame[c].dropna())
    return ids


def find_identifiers(text: str, identifiers: set[str]) -> list[str]:
    """Personal codes and known identifier values that occur in ``text``."""
    found = PERSONAL_CODE.findall(text)
    if identifiers:
        found += sorted({tok for tok in _TOKEN.findall(text) if tok in identifiers})
    return found


def scan_run(run_dir: Path, identifiers: set[str]) -> dict[str, list[str]]:
    """Identifiers found in each published file of a run (empty when clean)."""
    hits: dict[str, list[str]] = {}
    for pattern in PUBLISHED:
        for path in sorted(run_dir.glob(pattern)):
            if path.suffix == ".xlsx":
                text = _xlsx_text(path)
            else:
                text = path.read_text(encoding="utf-8", errors="replace")
            found = find_identifiers(text, identifiers)
            if found:
                hits[str(path.relative_to(run_dir))] = found
    return hits


def _xlsx_text(path: Path) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    return "\n".join(
        " ".join("" if v is None else str(v) for v in row)
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
    )
