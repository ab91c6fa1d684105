"""Rules across tables of one data set (ids that must exist, order of events).

Among them: a pupil-year of general education is never at a vocational school and a vocational
student's year always is (``schools.type``), after the student's general-education exit.

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


_CODES: dict[tuple[int, str], tuple[np.ndarray, pd.Index]] = {}


def _factor(df: pd.DataFrame, col: str) -> tuple[np.ndarray, pd.Index]:
    """A column as codes (-1: missing) and its distinct values in order of first appearance.

    Hashing millions of ids is the cost of these rules: each column is hashed once per pass and
    every rule on it works on the codes (and looks up only the distinct values).
    """
    k = (id(df), col)
    if k not in _CODES:
        codes, uniques = pd.factorize(df[col], use_na_sentinel=True)
        _CODES[k] = (np.asarray(codes), pd.Index(uniques))
    return _CODES[k]


def _first_rows(codes: np.ndarray, n: int) -> np.ndarray:
    """For each of ``n`` codes, the position of its first row (codes from :func:`_factor`)."""
    first = np.full(n, len(codes), dtype=np.int64)
    valid = np.flatnonzero(codes >= 0)
    np.minimum.at(first, codes[valid], valid)
    return first


def _known(tables, child: str, col: str, parent: str, pcol: str, parents=None) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes of ``child[col]`` and, per distinct value, whether ``parent[pcol]`` has it."""
    ptab = (parents or {}).get(parent, tables.get(parent))
    if child not in tables or ptab is None or col not in tables[child] or pcol not in ptab:
        return None
    codes, uniques = _factor(tables[child], col)
    _, keys = _factor(ptab, pcol)
    return codes, keys.get_indexer(uniques) >= 0


def _unknown_ids(tables, files, child: str, col: str, parent: str, pcol: str, what: str,
                 parents=None) -> list[Violation]:
    found = _known(tables, child, col, parent, pcol, parents)
    if found is None or found[1].all():
        return []
    codes, known = found
    bad = (codes >= 0) & ~np.append(known, True)[codes]  # code -1 (missing) reads the appended True
    rows, n = rows_of(np.flatnonzero(bad))
    missing = _factor(tables[child], col)[1][~known]  # in order of first appearance
    if col in IDENTIFIER_COLUMNS or pcol in IDENTIFIER_COLUMNS:  # never quote a person's id
        ex = f"{len(missing):,} id{'s' if len(missing) != 1 else ''}"
    else:
        ex = quote_values(missing)
    return [Violation(files[child], child, col, f"unknown_{what.replace(' ', '_')}",
                      f"unknown {what}: {ex} not found in {files[parent]} ({pcol})",
                      f"add the missing rows to {parent}, or correct the ids (a pseudonymised extract must "
                      "use the same key for every table).", rows, n)]


def _as_float(values: pd.Series) -> np.ndarray:
    """Numbers as floats, missing as NaN (years may be nullable integers)."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _pupil_year_order(tables, files) -> list[Violation]:
    out: list[Violation] = []
    if "pupil_years" not in tables:
        return out
    py = tables["pupil_years"]
    need = {"pupil_id", "year", "status"}
    if not need <= set(py.columns):
        return out
    codes, uniques = _factor(py, "pupil_id")
    year = _as_float(py["year"])
    ok = (codes >= 0) & ~np.isnan(year)  # rows with a pupil and a year
    term = ok & py["status"].isin(_TERMINAL).to_numpy(dtype=bool)
    end = np.full(len(uniques), np.inf)
    np.minimum.at(end, codes[term], year[term])  # each pupil's first year of leaving or graduating
    after = ok & (year > end[np.where(ok, codes, 0)])
    if after.any():
        rows, n = rows_of(np.flatnonzero(after))
        out.append(Violation(files["pupil_years"], "pupil_years", "year", "record_after_leaving",
                             "pupil-year after the pupil left early or graduated (leaving before entering the year)",
                             "check the exclusion date and the later enrolment; a pupil who returns needs a "
                             "new entry, not a 'left_early' status in the earlier year.", rows, n))
    pupils = tables.get("pupils")
    if pupils is None or "pupil_id" not in pupils.columns:
        return out
    pcodes, pids = _factor(pupils, "pupil_id")
    first = _first_rows(pcodes, len(pids))  # each pupil's first row in pupils
    at = pids.get_indexer(uniques)  # of each pupil in pupil_years, its index in pids (-1: none)
    row = np.where(at >= 0, first[np.maximum(at, 0)], -1)[np.where(ok, codes, 0)]
    row = np.where(ok, row, -1)  # each pupil-year's row in pupils (-1: none)

    def of_pupil(column: str) -> np.ndarray:
        values = _as_float(pupils[column])
        return np.where(row >= 0, values[np.maximum(row, 0)], np.nan)

    if "exit_year" in pupils.columns:
        late = year > of_pupil("exit_year")  # NaN on either side: False
        if late.any():
            rows, n = rows_of(np.flatnonzero(late))
            out.append(Violation(files["pupil_years"], "pupil_years", "year", "year_after_exit",
                                 "pupil-year after the pupil's exit_year in pupils (left before this enrolment)",
                                 "correct exit_year in pupils (the year the pupil left) or the year.", rows, n))
    if "entry_year" in pupils.columns:
        before = year < of_pupil("entry_year")
        if before.any():
            rows, n = rows_of(np.flatnonzero(before))
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


def _school_types(tables, files) -> list[Violation]:
    """General-education pupil-years at general schools, vocational students' years at vocational ones,
    and a student's vocational years after their general-education exit (``pupils.exit_year``)."""
    out: list[Violation] = []
    schools = tables.get("schools")
    if schools is None or not {"school_id", "type"} <= set(schools.columns):
        return out
    voc = schools.drop_duplicates("school_id").set_index("school_id")["type"].eq("vocational")
    for name, want, what, fix in (
            ("pupil_years", False, "general-education pupil-year at a vocational school",
             "a vocational student's years belong in vocational_years (course 1-4), not in pupil_years."),
            ("vocational_years", True, "vocational student's year at a school whose type is not 'vocational'",
             "correct the school_id, or the school's type in schools (type 'vocational').")):
        t = tables.get(name)
        if t is None or "school_id" not in t:
            continue
        at = t["school_id"].map(voc)
        bad = (at.notna() & (at != want)).to_numpy(dtype=bool)
        if bad.any():
            rows, n = rows_of(np.flatnonzero(bad))
            out.append(Violation(files[name], name, "school_id", "wrong_school_type", what, fix, rows, n))
    vy, pupils = tables.get("vocational_years"), tables.get("pupils")
    if (vy is not None and pupils is not None and {"pupil_id", "year"} <= set(vy.columns)
            and {"pupil_id", "exit_year"} <= set(pupils.columns)):
        exit_year = vy["pupil_id"].map(pupils.drop_duplicates("pupil_id").set_index("pupil_id")["exit_year"])
        early = (_as_float(vy["year"]) <= _as_float(exit_year))  # NaN on either side: False
        if early.any():
            rows, n = rows_of(np.flatnonzero(early))
            out.append(Violation(files["vocational_years"], "vocational_years", "year", "vocational_before_exit",
                                 "vocational year not after the pupil's general-education exit_year in pupils",
                                 "a vocational student's years start after the year they left general education "
                                 "(exit_status 'transferred'); correct the year or exit_year.", rows, n))
    return out


def cross_table_violations(tables: dict[str, pd.DataFrame], files: dict[str, str],
                           parents: dict[str, pd.DataFrame] | None = None) -> list[Violation]:
    """Every cross-table rule (see module docstring).

    ``parents`` (table -> the whole table) stands in for a parent table loaded only in part, for the
    children whose rows may point outside the part: the pre-school scores of an area's pupils name
    the municipality of their pre-school, which may be another one.
    """
    v: list[Violation] = []
    _CODES.clear()
    v += _unknown_ids(tables, files, "schools", "municipality_id", "municipalities", "municipality_id",
                      "municipality id")
    v += _unknown_ids(tables, files, "preschool_assessments", "municipality_id", "municipalities",
                      "municipality_id", "municipality id", parents)
    v += _unknown_ids(tables, files, "methodologist_support", "municipality_id", "municipalities",
                      "municipality_id", "municipality id")
    for child in ("pupil_years", "teacher_years", "pumpurs_schools", "risk_scores", "support_plans",
                  "community_support", "skolas_soma", "wellbeing_pupils", "wellbeing_teachers",
                  "teacher_practices", "lesson_observations", "vocational_years"):
        v += _unknown_ids(tables, files, child, "school_id", "schools", "school_id", "school id")
    for child in ("pupil_years", "assessments", "risk_scores", "support_plans", "support_measures",
                  "community_support", "skolas_soma", "wellbeing_pupils", "preschool_assessments", "plan_risk_types",
                  "vocational_years"):
        v += _unknown_ids(tables, files, child, "pupil_id", "pupils", "pupil_id", "pupil id")
    for child in ("teacher_years", "wellbeing_teachers", "teacher_practices", "assessments", "teacher_development",
                  "lesson_observations"):
        v += _unknown_ids(tables, files, child, "teacher_id", "teachers", "teacher_id", "teacher id")
    for child in ("support_measures", "plan_risk_types"):
        v += _unknown_ids(tables, files, child, "plan_id", "support_plans", "plan_id", "plan id")
    v += _pupil_year_order(tables, files)
    v += _support_before_rollout(tables, files)
    v += _measures_without_takeup(tables, files)
    v += _school_types(tables, files)
    _CODES.clear()
    return v
