"""The indicators of the four-yearly report's chapters, by school year, for the area, its planning
region and Latvia (IKVD's criteria for schools' quality: competences and achievements; equity
and inclusion; access; safety and psychological wellbeing; continuing education).

Every function returns a plain table of counts and values (one row per (area, year) or per
school); :mod:`.publish` protects them together with the indicator table. Definitions:

- ``diag3`` / ``diag6``: pupils tested and mean score (%) by subject (numeracy ``math``,
  literacy ``latvian``, ``science`` in grade 6);
- ``ce9`` / ``ce12``: sitters (pupils with any subject) and, by subject, the mean score (%)
  and the share of that subject's sitters below :data:`PASS_MARK`; a year without the exam
  (2019/20 and 2020/21 grade 9, cancelled in the pandemic) has 0 sitters and no values;
- ``cohort_completion``: the pupils in grade 5 (for the first time) four school years before ``year`` (in the area's
  schools that year), followed in every school of Latvia to the end of school year ``year``:
  completed grade 9 (a grade-9 year not ended by early leaving), left early, still in school
  (repeated a grade), not followed (moved abroad or out of the data); the completion share is
  completed per 100 of the cohort. The annual early-leaving rate counts leavers per pupil-year;
  this counts them per pupil over the five years from grade 5 to grade 9;
- ``school_life``: pupil-years, repeated pupil-years with their share, lessons missed per
  pupil-year;
- ``wellbeing``: pupil-years of grades 4-12 (the survey's grades), respondents, response rate,
  mean score (0-100); teacher-years, teacher respondents, response rate, mean score;
- ``support``: pupil-years of grades 5-12, pupils with a PUMPURS individual support plan and with
  Skola-kopienā support in the year, each per 100 pupil-years;
- ``soma``: pupils with Latvijas skolas soma records and the share with at least one activity in
  every semester of the year (the programme's rule), by area and by school.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset
from evaltools.studies.municipal_quality import frames
from evaltools.studies.municipal_quality.indicators import Area, school_labels  # noqa: F401  (school_labels: old name)
# Shared with the other studies (moved to evaltools.studies.shared; the old names stay importable here)
from evaltools.studies.shared.levels import (  # noqa: F401
    Levels,
    blank_years_without,
    by_level_year,
    by_levels,
    period_frame,
    scores_by_subject,
    years_without,
)
from evaltools.studies.shared.soma import soma, soma_by_school, soma_pupils  # noqa: F401

_by_level_year = by_level_year  # old private names, used by other studies until they import the shared ones
_scores_by_subject = scores_by_subject
_pupil_years = period_frame
_soma_pupils = soma_pupils

#: What the chapter functions take as ``national=``: :class:`.national.National` (the planning
#: regions' and Latvia's rows computed once per data set and period), named loosely here because
#: :mod:`.national` is built from these functions.
National = Any

#: Exam score (%) below which a subject counts as not passed (assumption: the 5-10 % rules of the
#: period; set the rule of the year before quoting).
PASS_MARK: float = 10.0
DIAG_SUBJECTS = {"diag3": ("math", "latvian"), "diag6": ("math", "latvian", "science")}
EXAM_SUBJECTS = ("math", "latvian", "english")
WELLBEING_GRADES = (4, 12)
RISK_GRADES = (5, 12)


def levels(data: Dataset, area: Area, *, total_label: str, region_label: Callable[[str], str] | None,
           latvia_label: str) -> Levels:
    """The area, its planning region (``region_label(region)``) and Latvia; Latvia alone for a
    national report."""
    schools = data["schools"][["school_id", "municipality_id"]]
    years = tuple(range(area.first_year, area.last_year + 1))
    everyone = frozenset(schools["school_id"])
    if area.municipality_id is None:
        return Levels(((total_label, everyone),), years, ("latvia",))
    muni = data["municipalities"].set_index("municipality_id")
    region = str(muni.at[area.municipality_id, "region"])
    in_region = muni.index[muni["region"] == region]
    own = frozenset(schools.loc[schools["municipality_id"] == area.municipality_id, "school_id"])
    reg = frozenset(schools.loc[schools["municipality_id"].isin(in_region), "school_id"])
    rows, codes = [(total_label, own)], ["area"]
    if region_label is not None:
        rows.append((region_label(region), reg))
        codes.append(f"region:{region}")
    rows.append((latvia_label, everyone))
    codes.append("latvia")
    return Levels(tuple(rows), years, tuple(codes))


def diagnostics(data: Dataset, lv: Levels, test: str, national: National | None = None) -> pd.DataFrame:
    """Pupils tested and mean score by subject of ``diag3`` or ``diag6``, by (area, year)."""
    subjects = DIAG_SUBJECTS[test]

    def agg(f: pd.DataFrame) -> dict[str, float]:
        return {"pupils": len(f), **{s: f[s].mean() if len(f) else np.nan for s in subjects}}

    def raw(d: Dataset, levels_: Levels) -> pd.DataFrame:
        return by_level_year(scores_by_subject(d, levels_, test, subjects), levels_, agg, ["pupils", *subjects])

    return by_levels(data, lv, test, raw, national).astype({"pupils": "int64"})


def exams(data: Dataset, lv: Levels, test: str, pass_mark: float = PASS_MARK,
          national: National | None = None) -> pd.DataFrame:
    """Sitters, and by subject the mean score and the % of the subject's sitters below ``pass_mark``
    (``national``: its pass mark must be ``pass_mark``)."""
    columns = ["sitters"] + [f"mean_{s}" for s in EXAM_SUBJECTS] + [f"below_{s}" for s in EXAM_SUBJECTS]

    def agg(f: pd.DataFrame) -> dict[str, float]:
        out: dict[str, float] = {"sitters": len(f)}
        for s in EXAM_SUBJECTS:
            took = f[s].dropna()
            out[f"mean_{s}"] = took.mean() if len(took) else np.nan
            out[f"below_{s}"] = 100 * (took < pass_mark).mean() if len(took) else np.nan
        return out

    def raw(d: Dataset, levels_: Levels) -> pd.DataFrame:
        return by_level_year(scores_by_subject(d, levels_, test, EXAM_SUBJECTS), levels_, agg, columns)

    if national is not None and national.pass_mark != pass_mark:
        raise ValueError(f"exams(): the national rows were computed with pass mark {national.pass_mark}, "
                         f"not {pass_mark}.")
    return by_levels(data, lv, test, raw, national).astype({"sitters": "int64"})


COHORT_GRADES = (5, 9)  # the cohort enters grade 5 and should complete grade 9 four school years later
COHORT_COLUMNS = ["cohort", "completed", "left_early", "still_in_school", "not_followed", "completed_pct"]


def _cohorts(data: Dataset, lv: Levels) -> pd.DataFrame:
    """One row per pupil of a cohort (:data:`COHORT_GRADES`) whose grade-9 year lies in the period:
    ``school_id`` and ``year`` (the grade-9 year) of the cohort and the pupil's outcome."""
    def build() -> pd.DataFrame:
        first, last = COHORT_GRADES
        span = last - first
        base = frames.pupil_base(data)
        keys = base[["pupil_id", "year", "grade", "status"]]
        starts = base.loc[keys["grade"] == first, ["pupil_id", "year", "school_id"]].sort_values("year", kind="stable")
        starts = starts.drop_duplicates("pupil_id", keep="first")  # a pupil's cohort: the first year in grade 5
        starts = starts[starts["year"].between(lv.years[0] - span, lv.years[-1] - span)].rename(columns={"year": "start"})
        seen = keys[keys["pupil_id"].isin(starts["pupil_id"])].merge(starts[["pupil_id", "start"]], on="pupil_id")
        seen = seen[seen["year"].between(seen["start"], seen["start"] + span)]
        done = seen[(seen["grade"] >= last) & (seen["status"] != "left_early")].groupby("pupil_id").size()
        left = seen[seen["status"] == "left_early"].groupby("pupil_id").size()
        still = seen[(seen["year"] == seen["start"] + span) & (seen["grade"] < last)
                     & (seen["status"] != "left_early")].groupby("pupil_id").size()
        out = starts.assign(year=starts["start"] + span)
        completed = out["pupil_id"].isin(done.index)
        left_early = ~completed & out["pupil_id"].isin(left.index)
        still_in = ~completed & ~left_early & out["pupil_id"].isin(still.index)
        return out.assign(completed=completed, left_early=left_early, still_in_school=still_in,
                          not_followed=~(completed | left_early | still_in))[
            ["school_id", "year", "completed", "left_early", "still_in_school", "not_followed"]]

    return frames.remember(data, ("cohorts", lv.years[0], lv.years[-1]),
                           ("pupil_years", "schools", "municipalities", "assessments"), build)


def cohort_completion(data: Dataset, lv: Levels, national: National | None = None) -> pd.DataFrame:
    """Completion of grade 9 by the cohort that entered grade 5 four school years earlier, by
    (area, year of grade 9): the cohort's pupils, how many completed, left early, are still in
    school or were not followed, and the completion share (%). Years whose cohort began before
    the data did are empty (:func:`blank_years_without`). The cohort is followed in all of Latvia:
    with ``national``, its cohorts (computed once from every pupil-year) replace ``data``'s."""
    def agg(f: pd.DataFrame) -> dict[str, float]:
        n = len(f)
        k = int(f["completed"].sum())
        return {"cohort": n, "completed": k, "left_early": int(f["left_early"].sum()),
                "still_in_school": int(f["still_in_school"].sum()), "not_followed": int(f["not_followed"].sum()),
                "completed_pct": 100 * k / n if n else np.nan}

    cohorts = _cohorts(data, lv) if national is None else national.cohorts
    out = by_levels(data, lv, "cohort", lambda d, levels_: by_level_year(cohorts, levels_, agg, COHORT_COLUMNS), national)
    out = blank_years_without(out, "cohort", ["completed_pct"], lv.labels[-1])
    return out.astype({c: "int64" for c in COHORT_COLUMNS[:-1]})


def school_life(data: Dataset, lv: Levels, national: National | None = None) -> pd.DataFrame:
    """Pupil-years, repeated pupil-years and their share (%), lessons missed per pupil-year."""
    def agg(f: pd.DataFrame) -> dict[str, float]:
        n = len(f)
        return {"pupil_years": n, "repeated": int(f["repeated"].sum()),
                "repeated_pct": 100 * f["repeated"].mean() if n else np.nan,
                "absences_mean": f["absences"].mean() if n else np.nan}

    cols = ["pupil_years", "repeated", "repeated_pct", "absences_mean"]
    out = by_levels(data, lv, "school_life", lambda d, levels_: by_level_year(period_frame(d, levels_), levels_, agg, cols),
                    national)
    return out.astype({"pupil_years": "int64", "repeated": "int64"})


def wellbeing(data: Dataset, lv: Levels, national: National | None = None) -> pd.DataFrame:
    """Survey coverage and mean wellbeing of pupils (grades 4-12) and teachers, by (area, year)."""
    out = by_levels(data, lv, "wellbeing", _wellbeing_raw, national)
    latvia = lv.labels[-1]
    out = blank_years_without(out, "respondents", ["response_pct", "wellbeing_mean"], latvia)
    out = blank_years_without(out, "teacher_respondents", ["teacher_response_pct", "teacher_wellbeing_mean"], latvia)
    return out.astype({c: "int64" for c in ("pupil_years_4_12", "respondents", "teacher_years", "teacher_respondents")})


def _wellbeing_raw(data: Dataset, lv: Levels) -> pd.DataFrame:
    lo, hi = WELLBEING_GRADES
    py = period_frame(data, lv)
    py = py[py["grade"].between(lo, hi)][["pupil_id", "year", "school_id"]]
    wp = data["wellbeing_pupils"][["pupil_id", "year", "school_id", "wellbeing"]]
    pupils = py.merge(wp, on=["pupil_id", "year", "school_id"], how="left")
    ty = data["teacher_years"]
    ty = ty[ty["year"].between(lv.years[0], lv.years[-1])][["teacher_id", "year", "school_id"]]
    wt = data["wellbeing_teachers"][["teacher_id", "year", "school_id", "wellbeing"]]
    teachers = ty.merge(wt, on=["teacher_id", "year", "school_id"], how="left")
    cols_p = ["pupil_years_4_12", "respondents", "response_pct", "wellbeing_mean"]
    cols_t = ["teacher_years", "teacher_respondents", "teacher_response_pct", "teacher_wellbeing_mean"]

    def agg(cols: list[str]) -> Callable[[pd.DataFrame], dict[str, float]]:
        def inner(f: pd.DataFrame) -> dict[str, float]:
            n, answered = len(f), f["wellbeing"].dropna()
            return dict(zip(cols, (n, len(answered), 100 * len(answered) / n if n else np.nan,
                                   answered.mean() if len(answered) else np.nan)))
        return inner

    return pd.concat([by_level_year(pupils, lv, agg(cols_p), cols_p),
                      by_level_year(teachers, lv, agg(cols_t), cols_t)], axis=1)


def support(data: Dataset, lv: Levels, national: National | None = None) -> pd.DataFrame:
    """Pupils with a PUMPURS plan and with Skola-kopienā support in the year, per 100 pupil-years
    of grades 5-12 (a pupil counts once a year, whatever the number of plans or measures)."""
    cols = ["pupil_years_5_12", "pumpurs_pupils", "pumpurs_per_100", "kopiena_pupils", "kopiena_per_100"]
    out = by_levels(data, lv, "support", _support_raw, national)
    out = blank_years_without(out, "pumpurs_pupils", ["pumpurs_per_100"], lv.labels[-1])
    out = blank_years_without(out, "kopiena_pupils", ["kopiena_per_100"], lv.labels[-1])
    return out.astype({c: "int64" for c in cols if not c.endswith("_100")})


def _support_raw(data: Dataset, lv: Levels) -> pd.DataFrame:
    lo, hi = RISK_GRADES
    py = period_frame(data, lv)
    py = py[py["grade"].between(lo, hi)][["pupil_id", "year", "school_id"]]
    plans = data["support_plans"][["pupil_id", "year"]].drop_duplicates().assign(pumpurs=True)
    kopiena = (data["community_support"][["pupil_id", "year"]].drop_duplicates().assign(kopiena=True)
               if "community_support" in data else pd.DataFrame(columns=["pupil_id", "year", "kopiena"]))
    f = py.merge(plans, on=["pupil_id", "year"], how="left").merge(kopiena, on=["pupil_id", "year"], how="left")
    f["pumpurs"] = f["pumpurs"].eq(True)
    f["kopiena"] = f["kopiena"].eq(True)

    def agg(g: pd.DataFrame) -> dict[str, float]:
        n = len(g)
        a, b = int(g["pumpurs"].sum()), int(g["kopiena"].sum())
        return {"pupil_years_5_12": n, "pumpurs_pupils": a, "pumpurs_per_100": 100 * a / n if n else np.nan,
                "kopiena_pupils": b, "kopiena_per_100": 100 * b / n if n else np.nan}

    cols = ["pupil_years_5_12", "pumpurs_pupils", "pumpurs_per_100", "kopiena_pupils", "kopiena_per_100"]
    return by_level_year(f, lv, agg, cols)
