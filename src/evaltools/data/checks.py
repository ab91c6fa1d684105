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
from typing import Any

import numpy as np
import pandas as pd

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
    if dtype == "str":
        if pd.api.types.is_float_dtype(s) and np.all(np.mod(s.dropna(), 1) == 0):
            s = s.astype("Int64")
        if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            return s, np.zeros(len(s), bool)
        out = s.astype(str).astype(object).where(s.notna(), None)
        return out, np.zeros(len(s), bool)
    present = s.notna().to_numpy()
    if s.dtype == object:  # numbers or flags typed as text: ignore surrounding blanks
        s = s.map(lambda v: v.strip() if isinstance(v, str) else v)
    if dtype in ("int", "Int64"):
        if pd.api.types.is_integer_dtype(s) and not pd.api.types.is_bool_dtype(s):  # already whole numbers
            if dtype == "int" and s.isna().any():
                return s.astype("Int64"), np.zeros(len(s), bool)
            want = "int64" if dtype == "int" else "Int64"
            return (s if s.dtype == want else s.astype(want)), np.zeros(len(s), bool)
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
        if pd.api.types.is_float_dtype(s) and s.dtype == np.float64:  # already numbers
            return s, np.zeros(len(s), bool)
        if pd.api.types.is_bool_dtype(s):
            s = s.astype(float)
        num = pd.to_numeric(s, errors="coerce").astype("float64")
        return num, present & num.isna().to_numpy()
    if dtype == "bool":
        if pd.api.types.is_bool_dtype(s) and not s.isna().any():
            return (s if s.dtype == bool else s.astype(bool)), np.zeros(len(s), bool)
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


def _range_text(lo: object, hi: object) -> str:
    return f"[{lo}, {hi}]"


def _column_violations(df: pd.DataFrame, col: Col, file: str, table: str, skip: set[int],
                       hide: _Hidden) -> list[Violation]:
    """The value rules of one column (empty cells, range, codes), vectorised (numpy/pandas).

    The same rules and failures as the column's pandera schema (:func:`~evaltools.data.schemas.schema`;
    ``tests/data/test_checks_vectorised.py`` compares the two): a missing cell breaks only
    ``nullable``; range and code rules look at the cells that are filled.
    """
    out: list[Violation] = []
    s = df[col.name]
    na = s.isna().to_numpy()
    if not (col.nullable or col.optional) and na.any():
        idx = np.flatnonzero(na)
        if skip:
            idx = idx[~np.isin(idx, np.fromiter(skip, dtype=np.int64, count=len(skip)))]
        if len(idx):
            rows, n = rows_of(idx)
            out.append(Violation(file, table, col.name, "missing_value", "empty cells in a column that must be filled",
                                 "fill the cells or drop the rows (the codebook says what the column holds).", rows, n))
    filled = ~na
    if col.range is not None and filled.any():
        lo, hi = col.range
        try:
            values = s.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):  # not numbers: compared as they are
            values = s.to_numpy()
        with np.errstate(invalid="ignore"):
            inside = np.zeros(len(s), dtype=bool)
            inside[filled] = (values[filled] >= lo) & (values[filled] <= hi)
        bad = filled & ~inside
        if bad.any():
            idx = np.flatnonzero(bad)
            rows, n = rows_of(idx)
            worst = "" if col.identifier else f", found e.g. {quote_values(pd.unique(s.iloc[idx]), hide=hide)}"
            name = "score out of range" if col.name in ("score", "wellbeing", "risk_score") else "value out of range"
            out.append(Violation(file, table, col.name, "out_of_range",
                                 f"{name}: values {_range_text(lo, hi)} expected{worst}",
                                 ("check the unit (percent 0-100, classroom grades 1-10) and "
                                  if name.startswith("score") else "")
                                 + f"correct or drop the rows; allowed: {lo} to {hi}.", rows, n))
    if col.values is not None and filled.any():
        bad = filled & ~s.isin(list(col.values)).to_numpy()
        if bad.any():
            idx = np.flatnonzero(bad)
            rows, n = rows_of(idx)
            unknown = pd.unique(s.iloc[idx])
            found = f"{len(unknown):,} unknown value(s)" if col.identifier \
                else f"unknown value(s) {quote_values(unknown, hide=hide)}"
            out.append(Violation(file, table, col.name, "unknown_value", f"{found}; not one of {list(col.values)}",
                                 "recode the values to the codebook's codes (a YAML mapping renames columns, "
                                 "recode values before loading).", rows, n))
    return out


def _duplicated(df: pd.DataFrame, key: list[str]) -> np.ndarray:
    """Rows whose ``key`` occurs more than once (every copy marked, as ``duplicated(keep=False)``);
    a row whose key cells are all empty is not counted (its empty cells are reported as such).

    Each key column is factorised to integer codes (missing cells are one code), combined
    into one integer per row, then counted: far less work than hashing tuples of objects.
    """
    codes = np.zeros(len(df), dtype=np.int64)
    size = 1
    for c in key:
        k, uniques = pd.factorize(df[c], use_na_sentinel=False)
        n = len(uniques) + 1
        if size * n >= 2**62:  # too many combinations for one integer: the general (slower) way
            codes = None
            break
        codes = codes * n + k.astype(np.int64)
        size *= n
    dup = (df.duplicated(subset=key, keep=False) if codes is None
           else pd.Series(codes).duplicated(keep=False)).to_numpy()
    if dup.any():
        empty = np.logical_and.reduce([df[c].isna().to_numpy() for c in key])
        dup &= ~empty
    return dup


def _rule_passed(chk: Any, df: pd.DataFrame) -> np.ndarray:
    """Rows that pass a table rule (an element-wise pandera check): a rule that cannot be decided
    for a row (an empty cell: reported as such) passes, as does a row whose cells are all empty."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = chk._check_fn(df)
        except (TypeError, ValueError):  # e.g. text in a number column: reported as a wrong type
            return np.ones(len(df), dtype=bool)
    passed = pd.Series(out, index=df.index).astype("boolean").fillna(True).to_numpy(dtype=bool)
    if not passed.all():
        fail = np.flatnonzero(~passed)
        passed[fail[df.iloc[fail].isna().all(axis=1).to_numpy()]] = True
    return passed


def _value_violations(df: pd.DataFrame, table: str, file: str, present: list[Col], table_rules: bool,
                      key: list[str] | None, skip: dict[str, set[int]], hide: _Hidden) -> list[Violation]:
    """Every value rule of the table on the columns present: per column (empty cells, range, codes),
    the table's rules across columns (when all its columns exist) and the unique key."""
    out: list[Violation] = []
    for col in present:
        out += _column_violations(df, col, file, table, skip.get(col.name, set()), hide)
    if table_rules:
        for chk in schema(table).checks:
            passed = _rule_passed(chk, df)
            if not passed.all():
                rows, n = rows_of(np.flatnonzero(~passed))
                out.append(Violation(file, table, None, chk.name, chk.error,
                                     TABLE_RULE_HINTS.get(chk.name, "correct the rows listed (see the codebook)."),
                                     rows, n))
    if key:
        dup = _duplicated(df, key)
        if dup.any():
            rows, n = rows_of(np.flatnonzero(dup))
            spec = TABLES[table]
            joined = ", ".join(spec.key)
            what = "duplicate pupil-year" if spec.key == ("pupil_id", "year") else f"duplicate ({joined})"
            out.append(Violation(file, table, joined, "duplicate_key",
                                 f"{what}: more than one row with the same ({joined})",
                                 "keep one row per key (e.g. the last record of the year) or fix the ids.", rows, n))
    return out


def check_table(df: pd.DataFrame, table: str, file: str) -> tuple[pd.DataFrame, list[Violation]]:
    """Coerce types and check the value rules of one table; return (table, violations)."""
    if table not in TABLES:
        raise KeyError(f"Unknown table {table!r}; known tables: {sorted(TABLES)}.")
    spec = TABLES[table]
    df = df.copy(deep=False)  # columns are replaced, never written into: no copy of the data
    df.index = pd.RangeIndex(len(df))
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
    present_cols = [c for c in spec.columns if c.name in df.columns]
    key = list(spec.key) if spec.key and all(k in df.columns for k in spec.key) else None
    violations += _value_violations(df, table, file, present_cols, not missing, key, bad_cells, hide)
    return df, violations
