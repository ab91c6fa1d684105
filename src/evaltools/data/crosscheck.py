"""Rules across tables of one data set (ids that must exist, order of events).

Each rule returns :class:`~evaltools.data.errors.Violation` objects whose rows
point into the table that breaks it. Rules whose tables are absent are skipped.
A message names the rows, never a pupil's, teacher's or plan's id.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import Violation, quote_values, rows_of
from .schemas import IDENTIFIER_COLUMNS

_TERMINAL = ("left_early", "graduated")


_KEYS: dict[tuple[int, str], pd.Index] = {}


def _key_index(df: pd.DataFrame, col: str) -> pd.Index:
    """Unique ids of a parent table as an Index (its hash table is built once and reused)."""
    k = (id(df), col)
    if k not in _KEYS:
        _KEYS[k] = pd.Index(df[col].dropna().unique())
    return _KEYS[k]


def _unknown_ids(tables, files, child: str, col: str, parent: str, pcol: str, what: str) -> list[Violation]:
    if child not in tables or parent not in tables or col not in tables[child] or pcol not in tables[parent]:
        return []
    c = tables[child][col]
    bad = c.notna().to_numpy() & (_key_index(tables[parent], pcol).get_indexer(c) < 0)
    if not bad.any():
        return []
    rows, n = rows_of(np.flatnonzero(bad))
    missing = pd.unique(c[bad])
    if col in IDENTIFIER_COLUMNS or pcol in IDENTIFIER_COLUMNS:  # never quote a person's id
        ex = f"{len(missing):,} id{'s' if len(missing) != 1 else ''}"
    else:
        ex = quote_values(missing)
    return [Violation(files[child], child, col, f"unknown_{what.replace(' ', '_')}",
                      f"unknown {what}: {ex} not found in {files[parent]} ({pcol})",
                      f"add the missing rows to {parent}, or correct the ids (a pseudonymised extract must "
                      "use the same key for every table).", rows, n)]


def _pupil_year_order(tables, files) -> list[Violation]:
    out: list[Violation] = []
    if "pupil_years" not in tables:
        return out
    py = tables["pupil_years"]
    need = {"pupil_id", "year", "status"}
    if not need <= set(py.columns):
        return out
    d = pd.DataFrame({"pupil_id": py["pupil_id"], "year": py["year"], "status": py["status"],
                      "pos": np.arange(len(py))}).dropna(subset=["pupil_id", "year"])
    end = d[d["status"].isin(_TERMINAL)].groupby("pupil_id")["year"].min()
    after = d["year"].to_numpy() > d["pupil_id"].map(end).fillna(np.inf).to_numpy()
    if after.any():
        rows, n = rows_of(d["pos"].to_numpy()[after])
        out.append(Violation(files["pupil_years"], "pupil_years", "year", "record_after_leaving",
                             "pupil-year after the pupil left early or graduated (leaving before entering the year)",
                             "check the exclusion date and the later enrolment; a pupil who returns needs a "
                             "new entry, not a 'left_early' status in the earlier year.", rows, n))
    if "pupils" in tables and {"pupil_id", "exit_year"} <= set(tables["pupils"].columns):
        ex = tables["pupils"].drop_duplicates("pupil_id").set_index("pupil_id")["exit_year"]
        x = d["pupil_id"].map(ex)
        late = (x.notna() & (d["year"] > x)).to_numpy(dtype=bool)
        if late.any():
            rows, n = rows_of(d["pos"].to_numpy()[late])
            out.append(Violation(files["pupil_years"], "pupil_years", "year", "year_after_exit",
                                 "pupil-year after the pupil's exit_year in pupils (left before this enrolment)",
                                 "correct exit_year in pupils (the year the pupil left) or the year.", rows, n))
    if "pupils" in tables and {"pupil_id", "entry_year"} <= set(tables["pupils"].columns):
        entry = tables["pupils"].drop_duplicates("pupil_id").set_index("pupil_id")["entry_year"]
        e = d["pupil_id"].map(entry)
        before = (e.notna() & (d["year"] < e)).to_numpy()
        if before.any():
            rows, n = rows_of(d["pos"].to_numpy()[before])
            out.append(Violation(files["pupil_years"], "pupil_years", "year", "year_before_entry",
                                 "pupil-year before the pupil's entry_year in pupils",
                                 "correct entry_year in pupils (first year in general education) or the year.",
                                 rows, n))
    return out


def _support_before_rollout(tables, files) -> list[Violation]:
    out: list[Violation] = []
    if "pumpurs_schools" not in tables:
        return out
    ps = tables["pumpurs_schools"]
    if not {"school_id", "rollout_year"} <= set(ps.columns):
        return out
    roll = ps.drop_duplicates("school_id").set_index("school_id")["rollout_year"]
    for name, what in (("support_plans", "support plan"), ("risk_scores", "risk score")):
        if name not in tables or not {"school_id", "year"} <= set(tables[name].columns):
            continue
        t = tables[name]
        r = t["school_id"].map(roll)
        bad = (t["year"].notna() & (r.isna() | (t["year"] < r.fillna(0)))).to_numpy(dtype=bool)
        if bad.any():
            rows, n = rows_of(np.flatnonzero(bad))
            out.append(Violation(files[name], name, "year", "support_before_rollout",
                                 f"{what} before the school's PUMPURS roll-out (or in a school that never joined)",
                                 "check rollout_year in pumpurs_schools and the school of the record.", rows, n))
    return out


def _measures_without_takeup(tables, files) -> list[Violation]:
    if "support_measures" not in tables or "support_plans" not in tables:
        return []
    sp, sm = tables["support_plans"], tables["support_measures"]
    if "taken_up" not in sp or "plan_id" not in sp or "plan_id" not in sm:
        return []
    taken = sm["plan_id"].map(sp.drop_duplicates("plan_id").set_index("plan_id")["taken_up"])
    bad = (taken.notna() & (taken == False)).to_numpy(dtype=bool)  # noqa: E712
    if not bad.any():
        return []
    rows, n = rows_of(np.flatnonzero(bad))
    return [Violation(files["support_measures"], "support_measures", "plan_id", "measure_without_takeup",
                      "measure delivered under a plan that was not taken up",
                      "set taken_up to true in support_plans or drop the measure.", rows, n)]


def cross_table_violations(tables: dict[str, pd.DataFrame], files: dict[str, str]) -> list[Violation]:
    """Every cross-table rule (see module docstring)."""
    v: list[Violation] = []
    _KEYS.clear()
    for child in ("schools", "preschool_assessments"):
        v += _unknown_ids(tables, files, child, "municipality_id", "municipalities", "municipality_id",
                          "municipality id")
    for child in ("pupil_years", "teacher_years", "pumpurs_schools", "risk_scores", "support_plans",
                  "community_support", "skolas_soma", "wellbeing_pupils", "wellbeing_teachers",
                  "teacher_practices"):
        v += _unknown_ids(tables, files, child, "school_id", "schools", "school_id", "school id")
    for child in ("pupil_years", "assessments", "risk_scores", "support_plans", "support_measures",
                  "community_support", "skolas_soma", "wellbeing_pupils", "preschool_assessments", "plan_risk_types"):
        v += _unknown_ids(tables, files, child, "pupil_id", "pupils", "pupil_id", "pupil id")
    for child in ("teacher_years", "wellbeing_teachers", "teacher_practices", "assessments"):
        v += _unknown_ids(tables, files, child, "teacher_id", "teachers", "teacher_id", "teacher id")
    for child in ("support_measures", "plan_risk_types"):
        v += _unknown_ids(tables, files, child, "plan_id", "support_plans", "plan_id", "plan id")
    v += _pupil_year_order(tables, files)
    v += _support_before_rollout(tables, files)
    v += _measures_without_takeup(tables, files)
    _KEYS.clear()
    return v
