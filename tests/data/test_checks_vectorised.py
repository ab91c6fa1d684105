"""The vectorised value rules of ``check_table`` find exactly what the pandera schema finds.

``evaltools.data.checks`` checks empty cells, ranges, codes, the table rules and the unique key
with numpy/pandas (pandera's own pass cost seconds on a national extract). The codebook's
pandera schema (``schemas.schema``) stays the reference: each table of the sample, broken in
every way a rule can catch (empty, out of range, unknown code, duplicate key, a table rule),
gives the same rules on the same columns and rows from both.
"""
from __future__ import annotations

import warnings
import zlib

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from evaltools.data.checks import check_table
from evaltools.data.schemas import TABLES, schema
from tests import ROOT

from tests.data._sample import SAMPLE  # noqa: E402
# columns the table rules read: left filled here (pandera cannot decide a rule on an empty cell)
RULE_COLUMNS = {"grade_min", "grade_max", "entry_year", "exit_year", "test", "score", "type", "course",
                "programme_years"}


def pandera_findings(df: pd.DataFrame, table: str) -> set[tuple[str | None, str, tuple[int, ...]]]:
    """(column, rule, every failing row, 1-based) as the pandera schema reports them."""
    sch = schema(table)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sch.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
    else:
        return set()
    out = set()
    table_rules = {c.error: c.name for c in sch.checks}
    across: dict[str, set[int]] = {}  # a table rule's failures come once per column it reads: one set of rows
    for (column, check), g in fc.groupby([fc["column"].astype(str), fc["check"].astype(str)], sort=False):
        rows = tuple(sorted(int(i) + 1 for i in g["index"].dropna()))
        if check in table_rules:
            across.setdefault(table_rules[check], set()).update(rows)
        elif check == "multiple_fields_uniqueness":
            out.add((", ".join(TABLES[table].key), "duplicate_key", rows))
        elif check.startswith("outside the allowed range"):
            out.add((column, "out_of_range", rows))
        elif check.startswith("not one of"):
            out.add((column, "unknown_value", rows))
        elif check == "not_nullable":
            out.add((column, "missing_value", rows))
    out |= {(None, rule, tuple(sorted(rows))) for rule, rows in across.items()}
    return out


def ours(df: pd.DataFrame, table: str) -> set[tuple[str | None, str, tuple[int, ...]]]:
    checked, found = check_table(df, table, "x.parquet")
    # every failing row: the message shows the first few, rows_of keeps them all only up to its cap,
    # so compare the count and the first rows with pandera's full list
    return {(v.column, v.rule, v.rows, v.count) for v in found}


def _break(df: pd.DataFrame, table: str, rng: np.random.Generator) -> pd.DataFrame:
    """The table with a few cells broken against each of its rules (types kept)."""
    df = df.copy()
    n = len(df)
    spec = TABLES[table]
    pick = lambda k=3: rng.choice(n, size=min(k, n), replace=False)  # noqa: E731
    for col in spec.columns:
        if col.name not in df.columns or col.identifier:
            continue
        if col.range is not None and pd.api.types.is_numeric_dtype(df[col.name]) \
                and not pd.api.types.is_bool_dtype(df[col.name]):
            rows = pick()
            values = df[col.name].astype("float64").to_numpy().copy()
            values[rows] = col.range[1] + 1 + np.arange(len(rows))
            if pd.api.types.is_integer_dtype(df[col.name]):
                df[col.name] = pd.array(values, dtype="Float64").round().astype("Int64")
            else:
                df[col.name] = values
        if col.values is not None:
            df[col.name] = df[col.name].astype(object)
            df.loc[pick(2), col.name] = "no-such-code"
        if not (col.nullable or col.optional) and col.name not in RULE_COLUMNS:
            df[col.name] = df[col.name].astype(object) if df[col.name].dtype == bool else df[col.name]
            df.loc[pick(2), col.name] = None
    if spec.key and n > 3:
        dup = df.iloc[[1, 2]].copy()
        df = pd.concat([df, dup], ignore_index=True)
    return df


TABLE_NAMES = sorted(p.stem for p in SAMPLE.glob("*.parquet") if p.stem in TABLES)


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_vectorised_rules_match_the_pandera_schema(table):
    rng = np.random.default_rng(zlib.crc32(table.encode()))  # the same cells broken in every run
    df = pd.read_parquet(SAMPLE / f"{table}.parquet")
    if len(df) > 20_000:
        df = df.iloc[rng.choice(len(df), 20_000, replace=False)].reset_index(drop=True)
    bad = _break(df, table, rng)
    checked, _ = check_table(bad, table, "x.parquet")  # the coerced table pandera is given too
    reference = pandera_findings(checked, table)
    found = ours(bad, table)
    assert reference, "the broken table must break some rule"
    assert {(c, r) for c, r, _ in reference} == {(c, r) for c, r, _, _ in found}
    for column, rule, rows in reference:
        (mine,) = [f for f in found if f[:2] == (column, rule)]
        assert mine[3] == len(rows) and mine[2] == rows[:len(mine[2])], (column, rule)


def test_table_rules_and_all_empty_rows_as_pandera():
    schools = pd.read_parquet(SAMPLE / "schools.parquet").head(6).copy()
    schools.loc[[1, 4], "grade_min"] = 12
    schools.loc[[1, 4], "grade_max"] = 1
    _, found = check_table(schools, "schools", "schools.parquet")
    [span] = [v for v in found if v.rule == "grade_span"]
    assert span.rows == (2, 5) and span.count == 2
    assert pandera_findings(check_table(schools, "schools", "s")[0], "schools") == {(None, "grade_span", (2, 5))}


def test_a_table_rule_on_an_empty_cell_passes_and_the_cell_is_reported():
    schools = pd.read_parquet(SAMPLE / "schools.parquet").head(6).copy()
    schools["grade_min"] = schools["grade_min"].astype("Int64")
    schools.loc[2, "grade_min"] = pd.NA
    schools.loc[3, ["grade_min", "grade_max"]] = [12, 1]
    _, found = check_table(schools, "schools", "schools.parquet")
    assert {(v.rule, v.rows) for v in found} == {("missing_value", (3,)), ("grade_span", (4,))}


def test_clean_tables_pass_both_ways():
    for table in ("pupils", "schools", "support_plans"):
        df = pd.read_parquet(SAMPLE / f"{table}.parquet")
        checked, found = check_table(df, table, "x")
        assert found == [] and pandera_findings(checked, table) == set()
