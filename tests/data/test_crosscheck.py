"""The cross-table rules (data/crosscheck.py) find exactly what the plain pandas rules found.

The rules now hash each id column once and work on its codes. The reference below is the
previous, row-by-row pandas formulation of the same rules (a test oracle, kept only here); each
case breaks a slice of the shipped sample in one way and both must return the same violations:
rule, column, message (with the quoted values and their order), first rows and count.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaltools.data.checks import check_table
from evaltools.data.crosscheck import cross_table_violations
from evaltools.data.errors import Violation, quote_values, rows_of
from evaltools.data.schemas import IDENTIFIER_COLUMNS
from tests import ROOT

from tests.data._sample import SAMPLE  # noqa: E402
_TERMINAL = ("left_early", "graduated")


# ------------------------------------------------------------------ the reference (plain pandas)

def _ref_unknown(tables, files, child, col, parent, pcol, what):
    if child not in tables or parent not in tables or col not in tables[child] or pcol not in tables[parent]:
        return []
    c = tables[child][col]
    keys = pd.Index(tables[parent][pcol].dropna().unique())
    bad = c.notna().to_numpy() & (keys.get_indexer(c) < 0)
    if not bad.any():
        return []
    rows, n = rows_of(np.flatnonzero(bad))
    missing = pd.unique(c[bad])
    ex = (f"{len(missing):,} id{'s' if len(missing) != 1 else ''}"
          if col in IDENTIFIER_COLUMNS or pcol in IDENTIFIER_COLUMNS else quote_values(missing))
    return [(child, col, f"unknown_{what.replace(' ', '_')}",
             f"unknown {what}: {ex} not found in {files[parent]} ({pcol})", rows, n)]


def _ref_order(tables):
    out = []
    py = tables.get("pupil_years")
    if py is None:
        return out
    d = pd.DataFrame({"pupil_id": py["pupil_id"], "year": py["year"], "status": py["status"],
                      "pos": np.arange(len(py))}).dropna(subset=["pupil_id", "year"])
    end = d[d["status"].isin(_TERMINAL)].groupby("pupil_id")["year"].min()
    after = d["year"].to_numpy() > d["pupil_id"].map(end).fillna(np.inf).to_numpy()
    if after.any():
        out.append(("pupil_years", "year", "record_after_leaving", *rows_of(d["pos"].to_numpy()[after])))
    for col, rule, cmp in (("exit_year", "year_after_exit", np.greater), ("entry_year", "year_before_entry", np.less)):
        if "pupils" in tables and col in tables["pupils"]:
            x = d["pupil_id"].map(tables["pupils"].drop_duplicates("pupil_id").set_index("pupil_id")[col])
            hit = (x.notna() & cmp(d["year"], x)).to_numpy(dtype=bool)
            if hit.any():
                out.append(("pupil_years", "year", rule, *rows_of(d["pos"].to_numpy()[hit])))
    return out


def reference(tables, files):
    """(table, column, rule, message or None, rows, count) of the id and order rules."""
    v = []
    for child in ("schools", "preschool_assessments"):
        v += _ref_unknown(tables, files, child, "municipality_id", "municipalities", "municipality_id",
                          "municipality id")
    for child in ("pupil_years", "teacher_years", "pumpurs_schools", "risk_scores", "support_plans",
                  "community_support", "skolas_soma", "wellbeing_pupils", "wellbeing_teachers", "teacher_practices",
                  "vocational_years"):
        v += _ref_unknown(tables, files, child, "school_id", "schools", "school_id", "school id")
    for child in ("pupil_years", "assessments", "risk_scores", "support_plans", "support_measures",
                  "community_support", "skolas_soma", "wellbeing_pupils", "preschool_assessments", "plan_risk_types",
                  "vocational_years"):
        v += _ref_unknown(tables, files, child, "pupil_id", "pupils", "pupil_id", "pupil id")
    for child in ("teacher_years", "wellbeing_teachers", "teacher_practices", "assessments"):
        v += _ref_unknown(tables, files, child, "teacher_id", "teachers", "teacher_id", "teacher id")
    for child in ("support_measures", "plan_risk_types"):
        v += _ref_unknown(tables, files, child, "plan_id", "support_plans", "plan_id", "plan id")
    v += [(t, c, r, None, rows, n) for t, c, r, rows, n in _ref_order(tables)]
    return v


def found(tables, files):
    rules = {"record_after_leaving", "year_after_exit", "year_before_entry"}
    return [(x.table, x.column, x.rule, None if x.rule in rules else x.message, x.rows, x.count)
            for x in cross_table_violations(tables, files) if x.rule.startswith("unknown_") or x.rule in rules]


# ------------------------------------------------------------------ cases


@pytest.fixture(scope="module")
def base() -> dict[str, pd.DataFrame]:
    """The sample's tables for the pupils of 12 schools, as the loader returns them (checked)."""
    tabs = {p.stem: pd.read_parquet(p) for p in sorted(SAMPLE.glob("*.parquet"))}
    schools = sorted(tabs["schools"]["school_id"])[::7][:12]
    pids = set(tabs["pupil_years"].loc[tabs["pupil_years"]["school_id"].isin(schools), "pupil_id"])
    for t, df in tabs.items():
        if "pupil_id" in df and t != "pupils":
            tabs[t] = df[df["pupil_id"].isin(pids)].reset_index(drop=True)
    tabs["pupils"] = tabs["pupils"][tabs["pupils"]["pupil_id"].isin(pids)].reset_index(drop=True)
    return {t: check_table(df, t, t)[0] for t, df in tabs.items()}


def _obj(s: pd.Series) -> pd.Series:
    return s.astype(object)


def _unknown_ids(t):
    rng = np.random.default_rng(1)
    for name, col in (("pupil_years", "pupil_id"), ("assessments", "pupil_id"), ("assessments", "teacher_id"),
                      ("skolas_soma", "school_id"), ("support_measures", "plan_id"), ("schools", "municipality_id")):
        df = t[name].copy()
        df[col] = _obj(df[col])
        rows = rng.choice(len(df), size=min(7, len(df)), replace=False)
        df.loc[rows[:5], col] = [f"X{i % 3}" for i in range(len(rows[:5]))]  # unknown, some repeated
        df.loc[rows[5:], col] = None  # missing: never unknown
        t[name] = df
    return t


def _left_then_back(t):
    py = t["pupil_years"].copy()
    first = py.sort_values(["pupil_id", "year"]).drop_duplicates("pupil_id").index[:9]
    py.loc[first, "status"] = "left_early"
    py.loc[first[:3], "year"] = np.nan if py["year"].dtype.kind == "f" else py.loc[first[:3], "year"]
    t["pupil_years"] = py
    return t


def _exit_and_entry(t):
    p = t["pupils"].copy()
    p.loc[p.index[:20], "exit_year"] = 2000
    p.loc[p.index[20:40], "entry_year"] = 2100
    p.loc[p.index[40:45], "exit_year"] = np.nan
    extra = p.iloc[50:53].copy()
    extra["exit_year"] = 1990  # a duplicate pupil row: the first one counts
    t["pupils"] = pd.concat([p, extra], ignore_index=True)
    return t


def _missing_ids_and_years(t):
    py = t["pupil_years"].copy()
    py["pupil_id"] = _obj(py["pupil_id"])
    py.loc[py.index[:4], "pupil_id"] = None
    py["year"] = py["year"].astype(float)
    py.loc[py.index[10:14], "year"] = np.nan
    py.loc[py.index[20:30], "status"] = "graduated"
    t["pupil_years"] = py
    p = t["pupils"].copy()
    p["pupil_id"] = _obj(p["pupil_id"])
    p.loc[p.index[:3], "pupil_id"] = None  # a missing key in the parent matches nothing
    t["pupils"] = p
    return t


def _without_tables(t):
    for name in ("pupils", "teachers", "support_plans"):
        t.pop(name)
    return t


@pytest.mark.parametrize("breaker", [lambda t: t, _unknown_ids, _left_then_back, _exit_and_entry,
                                     _missing_ids_and_years, _without_tables],
                         ids=["clean", "unknown_ids", "left_then_back", "exit_and_entry", "missing", "absent_tables"])
def test_the_rules_find_what_the_plain_pandas_rules_find(base, breaker):
    tables = breaker({k: v.copy() for k, v in base.items()})
    files = {k: f"{k}.csv" for k in tables}
    expected = reference(tables, files)
    got = found(tables, files)
    assert got == expected
    if breaker is not _without_tables and breaker.__name__ != "<lambda>":
        assert got, "the case breaks nothing: it cannot tell the two apart"


def test_messages_name_no_id_and_quote_other_values_in_order(base):
    tables = _unknown_ids({k: v.copy() for k, v in base.items()})
    files = {k: f"{k}.csv" for k in tables}
    by_rule = {(v.table, v.column): v for v in cross_table_violations(tables, files)}
    pupil = by_rule[("pupil_years", "pupil_id")]
    assert "X0" not in pupil.message and "3 ids" in pupil.message and pupil.count == 5
    school = by_rule[("skolas_soma", "school_id")]
    assert "'X0', 'X1', 'X2'" in school.message or "'X1'" in school.message
    assert isinstance(school, Violation) and school.count == 5
