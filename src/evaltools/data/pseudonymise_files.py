"""Pseudonymise a whole extract: every identifier column of every file, with one key.

``evaltools data pseudonymise DIR --out NEW`` calls :func:`pseudonymise_folder`. The
identifier columns are found the way the loader and the privacy gate find them
(:data:`~evaltools.data.schemas.IDENTIFIER_COLUMNS`, after the column mapping); each
value becomes a keyed pseudonym (:func:`~evaltools.data.pseudonymise.pseudonymise`), so
the tables still link. Column names, the other columns and the file format are kept;
other files (e.g. ``true_effects.json``) are copied as they are. Nothing is printed or
written about the values or the key.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataFileError
from .io import READERS, MappingLike, _csv_options, _identifier_sources, _read, _table_of, read_mapping
from .pseudonymise import pseudonymise

PREFIX = {"pupil_id": "P", "personal_code": "P", "teacher_id": "T", "plan_id": "PL"}


def _as_text(s: pd.Series) -> pd.Series:
    """Ids as text, a whole float written as an integer (``123.0`` -> ``'123'``, as the loader does)."""
    if pd.api.types.is_float_dtype(s):
        return s.map(lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
    return s.map(lambda v: None if pd.isna(v) else " ".join(str(v).split()))


def _target(column: Any, table: str | None, mapping: dict[str, Any]) -> str:
    """The identifier a source column holds (for the pseudonym's prefix)."""
    name = str(column).strip().lower()
    if name in PREFIX:
        return name
    from .io import _renames_for
    from .schemas import TABLES

    for t in [table] if table else list(TABLES):
        dst = _renames_for(mapping, t).get(str(column))
        if dst in PREFIX:
            return dst
    return "pupil_id"


def pseudonymise_folder(src: str | Path, out: str | Path, key: bytes,
                        mapping: MappingLike = None,
                        counts: dict[str, dict[str, int]] | None = None) -> dict[str, list[str]]:
    """Write ``out``: a copy of ``src`` with identifier columns pseudonymised; return {file: columns}.

    ``counts``, when given, is filled with ``{file: {"rows": n, column: distinct ids, ...}}``
    for each file that had identifier columns (numbers only, never a value)."""
    src, out = Path(src), Path(out)
    if not src.exists():
        raise DataFileError(f"{src} does not exist: pass the extract's folder or one of its files.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataFileError(f"{out} already exists and is not empty: choose a new folder for the output.")
    if src.is_dir() and out.resolve().is_relative_to(src.resolve()):
        raise DataFileError(f"{out} is inside {src}: write the pseudonymised copy elsewhere.")
    m = read_mapping(mapping)
    files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
    base = src.parent if src.is_file() else src
    done: dict[str, list[str]] = {}
    out.mkdir(parents=True, exist_ok=True)
    for path in files:
        dest = out / path.relative_to(base)
        dest.parent.mkdir(parents=True, exist_ok=True)
        kind = READERS.get(path.suffix.lower())
        if kind is None:
            shutil.copy2(path, dest)
            continue
        table = _table_of(path, [m])
        if kind == "excel":
            if path.suffix.lower() != ".xlsx":
                raise DataFileError(f"{path}: save it as .xlsx first (the old .xls format is not written).")
            frame = pd.read_excel(path, sheet_name=0, dtype=object)
        else:
            frame = _read(path)
        cols = _identifier_sources(list(frame.columns), table, [m])
        for c in cols:
            prefix = PREFIX[_target(c, table, m)]
            frame[c] = pseudonymise(_as_text(frame[c]), key, prefix=prefix).astype(object)
        if kind == "parquet":
            frame.to_parquet(dest, index=False)
        elif kind == "csv":
            opts = _csv_options(path)
            frame.to_csv(dest, index=False, sep=opts.get("sep", ","), decimal=opts.get("decimal", "."),
                         encoding="utf-8")
        else:
            frame.to_excel(dest, index=False)
        if cols:
            done[str(path.relative_to(base))] = [str(c) for c in cols]
            if counts is not None:
                counts[str(path.relative_to(base))] = {
                    "rows": int(len(frame)), **{str(c): int(frame[c].nunique(dropna=True)) for c in cols}}
    return done
