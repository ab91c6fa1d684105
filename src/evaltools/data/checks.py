"""Check one table: column types first, then the pandera value rules.

:func:`check_table` never raises on bad data: it returns the coerced table and
the list of :class:`~evaltools.data.errors.Violation` found, so a caller can
collect the problems of many files and report them together. No message quotes a value
of an identifier column (rows and row numbers only); other values go through
:func:`~evaltools.data.errors.quote_values` (a few, cut short).
"""
from __future__ import annotations

import difflib
import warnings

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .errors import Violation, quote_values, rows_of
from .schemas import TABLES, Col, schema

_TRUE = {"true", "1", "yes", "y", "jā", "ja", "t"}
_FALSE = {"false", "0", "no", "n", "nē", "ne", "f"}
TABLE_RULE_HINTS = {
    "class_grade_range": "classroom grades are whole marks 1-10; test scores are percent (is the test column right?).",
    "exit_before_entry": "check entry_year (first year in general education) and exit_year (year of exclusion).",
    "grade_span": "grade_min and grade_max may be swapped.",
}
MAPPING_HINT = "map your extract's column to it with a column mapping (docs/codebook.md, 'Column mapping')"


def _coerce(s: pd.Series, dtype: str) -> tuple[pd.Series, np.ndarray]:
    """Convert a column to its type; return the result and a mask of cells that failed."""
    present = s.notna().to_numpy()
    if dtype == "str":
        if pd.api.types.is_float_dtype(s) and np.all(np.mod(s.dropna(), 1) == 0):
            s = s.astype("Int64")
        if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            return s, np.zeros(len(s), bool)
        out = s.astype(str).astype(object).where(s.notna(), None)
        return out, np.zeros(len(s), bool)
    if s.dtype == object:  # numbers or flags typed as text: ignore surrounding blanks
        s = s.map(lambda v: v.strip() if isinstance(v, str) else v)
    if dtype in ("int", "Int64"):
        if pd.api.types.is_bool_dtype(s):
            s = s.astype("Int64")
        num = pd.to_numeric(s, errors="coerce")
        frac = num.notna().to_numpy() & (np.mod(num.fillna(0).to_numpy(dtype=float), 1) != 0)
        bad = present & (num.isna().to_numpy() | frac)
        out = num.where(~bad).astype("Float64").astype("Int64")
        if dtype == "int" and not out.isna().any():
            out = out.astype("int64")
        return out, bad
    if dtype == "float":
        if pd.api.types.is_bool_dtype(s):
            s = s.astype(float)
        num = pd.to_numeric(s, errors="coerce").astype("float64")
        return num, present & num.isna().to_numpy()
    if dtype == "bool":
        if pd.api.types.is_bool_dtype(s) and not s.isna().any():
            return s.astype(bool), np.zeros(len(s), bool)
        low = s.astype(str).str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[low.isin(_TRUE) & s.notna()] = True
        out[low.isin(_FALSE) & s.notna()] = False
        if pd.api.types.is_numeric_dtype(s):
            out[s == 1] = True
            out[s == 0] = False
        bad = present & out.isna().to_numpy()
        if not out.isna().any():
            out = out.astype(bool)
        return out, bad
    raise ValueError(f"Unknown column type {dtype!r} in a schema.")


_TYPE_WORDS = {"str": "text", "int": "whole numbers", "Int64": "whole numbers",
               "float": "numbers", "bool": "true/false values"}


def _missing_column(file: str, table: str, col: Col, present: list[str]) -> Violation:
    close = difflib.get_close_matches(col.name, present, n=1, cutoff=0.6)
    close += [c for c in present if c.lower() == col.name.lower() and c not in close]
    guess = f" Did you mean {quote_values(close[:1], width=40)}?" if close else ""
    return Violation(file, table, col.name, "missing_column",
                     f"required column '{col.name}' is missing ({col.meaning})",
                     f"add the column, or {MAPPING_HINT}.{guess}")


class _Hidden:
    """The identifier values of a table as text, gathered on first use (to mask them in examples)."""

    def __init__(self, df: pd.DataFrame, table: str):
        self._df, self._table = df, table
        self._values: set[str] | None = None

    def __contains__(self, value: object) -> bool:
        if self._values is None:
            cols = [c.name for c in TABLES[self._table].columns if c.identifier and c.name in self._df.columns]
            self._values = {" ".join(str(v).split()) for c in cols for v in pd.unique(self._df[c].dropna())}
        return value in self._values


def _pandera_violations(err: pa.errors.SchemaErrors, file: str, table: str,
                        skip: dict[str, set[int]], hide: _Hidden) -> list[Violation]:
    fc = err.failure_cases
    spec = TABLES[table]
    out: list[Violation] = []
    for (column, check), g in fc.groupby([fc["column"].astype(str), fc["check"].astype(str)], sort=False):
        col = None if column in ("None", "nan") else column
        idx = [int(i) for i in g["index"].dropna()]
        if check == "not_nullable":
            idx = [i for i in idx if i not in skip.get(col, set())]
            if not idx:
                continue
            rows, n = rows_of(idx)
            out.append(Violation(file, table, col, "missing_value", "empty cells in a column that must be filled",
                                 "fill the cells or drop the rows (the codebook says what the column holds).", rows, n))
        elif check.startswith("outside the allowed range"):
            rows, n = rows_of(idx)
            c = spec.col(col)
            worst = "" if c.identifier else f", found e.g. {quote_values(pd.unique(g['failure_case']), hide=hide)}"
            name = "score out of range" if col in ("score", "wellbeing", "risk_score") else "value out of range"
            out.append(Violation(file, table, col, "out_of_range",
                                 f"{name}: values {check.split('range ')[-1]} expected{worst}",
                                 ("check the unit (percent 0-100, classroom grades 1-10) and " if name.startswith("score")
                                  else "") + f"correct or drop the rows; allowed: {c.range[0]} to {c.range[1]}.",
                                 rows, n))
        elif check.startswith("not one of"):
            rows, n = rows_of(idx)
            found = f"{len(pd.unique(g['failure_case'])):,} unknown value(s)" if col and spec.col(col).identifier \
                else f"unknown value(s) {quote_values(pd.unique(g['failure_case']), hide=hide)}"
            out.append(Violation(file, table, col, "unknown_value", f"{found}; {check}",
                                 "recode the values to the codebook's codes (a YAML mapping renames columns, "
                                 "recode values before loading).", rows, n))
        elif check == "multiple_fields_uniqueness":
            continue  # handled once per table below
        elif check == "column_in_dataframe":
            continue  # reported by the caller with a hint
        else:
            continue  # table-level rules: reported once per rule below
    for chk in schema(table).checks:
        hit = fc[fc["check"].astype(str) == chk.error]
        if len(hit):
            rows, n = rows_of(hit["index"].dropna())
            out.append(Violation(file, table, None, chk.name, chk.error,
                                 TABLE_RULE_HINTS.get(chk.name, "correct the rows listed (see the codebook)."),
                                 rows, n))
    dup = fc[fc["check"].astype(str) == "multiple_fields_uniqueness"]
    if len(dup):
        rows, n = rows_of(dup["index"].dropna())
        key = ", ".join(spec.key)
        what = "duplicate pupil-year" if spec.key == ("pupil_id", "year") else f"duplicate ({key})"
        out.append(Violation(file, table, key, "duplicate_key",
                             f"{what}: more than one row with the same ({key})",
                             "keep one row per key (e.g. the last record of the year) or fix the ids.", rows, n))
    return out


def check_table(df: pd.DataFrame, table: str, file: str) -> tuple[pd.DataFrame, list[Violation]]:
    """Coerce types and check the value rules of one table; return (table, violations)."""
    if table not in TABLES:
        raise KeyError(f"Unknown table {table!r}; known tables: {sorted(TABLES)}.")
    spec = TABLES[table]
    df = df.reset_index(drop=True).copy()
    violations: list[Violation] = []
    present = [str(c) for c in df.columns]
    for col in spec.columns:
        if col.optional and col.name not in df.columns:
            df[col.name] = pd.Series(pd.NA, index=df.index, dtype=object)
    missing = [c for c in spec.columns if c.name not in df.columns]
    for col in missing:
        violations.append(_missing_column(file, table, col, present))
    bad_cells: dict[str, set[int]] = {}
    hide = _Hidden(df, table)
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        orig = df[col.name]
        conv, bad = _coerce(orig, col.dtype)
        df[col.name] = conv
        if bad.any():
            pos = np.flatnonzero(bad)
            bad_cells[col.name] = set(pos.tolist())
            rows, n = rows_of(pos)
            found = "" if col.identifier else f", found e.g. {quote_values(orig.iloc[pos[:50]].astype(str), hide=hide)}"
            violations.append(Violation(
                file, table, col.name, "wrong_type",
                f"wrong type: expected {_TYPE_WORDS[col.dtype]}{found}",
                f"correct the cells (e.g. a stray letter, a decimal comma or a note in a number column) "
                f"or {MAPPING_HINT} if this is the wrong column.", rows, n))
    # value rules only on columns that exist and on table rules whose columns exist
    sch = schema(table)
    keep = {k: v for k, v in sch.columns.items() if k in df.columns}
    checks = sch.checks if not missing else []
    unique = sch.unique if sch.unique and all(k in df.columns for k in sch.unique) else None
    sch = pa.DataFrameSchema(keep, checks=checks, unique=unique, name=sch.name, strict=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sch.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        violations.extend(_pandera_violations(err, file, table, bad_cells, hide))
    return df, violations
