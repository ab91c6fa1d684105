"""Wellbeing of pupils and teachers: response rates and the non-response-weighted means.

Response rates and means by school year come from the municipal chapters
(:func:`evaltools.studies.municipal_quality.chapters.wellbeing`: pupils of grades 4-12 and
teachers, by area and year). For the report year, :func:`weighted` sets the respondents' mean
beside the mean weighted for non-response (:mod:`evaltools.estimate.nonresponse`): each
respondent of a cell counts for the cell's eligible people, ``w = N_c / r_c``; pupils' cells are
school x grade x sex, teachers' school x sex (a thin cell, fewer than :data:`MIN_RESPONDENTS`
respondents, is merged into its school). The difference (weighted - unweighted) is the effect of
weighting: how much the respondents' mean was pulled by who answered.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset
from evaltools.studies.municipal_quality.chapters import WELLBEING_GRADES

#: Fewest respondents a weighting cell needs before it is merged into its parent cell.
MIN_RESPONDENTS: int = 3
PUPIL_CELLS = ("school_id", "grade", "sex")
TEACHER_CELLS = ("school_id", "sex")
COLUMNS = ["eligible", "respondents", "response_pct", "mean", "ci_low", "ci_high", "weighted_mean",
           "weighted_ci_low", "weighted_ci_high", "weighting_effect"]


def eligible_pupils(data: Dataset, year: int, schools: frozenset[str] | set[str]) -> pd.DataFrame:
    """Pupils of the survey's grades in ``schools`` in ``year``, with ``wellbeing`` (NaN: no answer)
    and ``sex``."""
    lo, hi = WELLBEING_GRADES
    py = data["pupil_years"]
    py = py[(py["year"] == year) & py["grade"].between(lo, hi) & py["school_id"].isin(schools)]
    py = py[["pupil_id", "year", "school_id", "grade"]]
    wp = data["wellbeing_pupils"][["pupil_id", "year", "school_id", "wellbeing"]]
    out = py.merge(wp, on=["pupil_id", "year", "school_id"], how="left")
    return out.merge(data["pupils"][["pupil_id", "sex"]], on="pupil_id", how="left")


def eligible_teachers(data: Dataset, year: int, schools: frozenset[str] | set[str]) -> pd.DataFrame:
    """Teachers working in ``schools`` in ``year``, with ``wellbeing`` (NaN: no answer) and ``sex``."""
    ty = data["teacher_years"]
    ty = ty[(ty["year"] == year) & ty["school_id"].isin(schools)][["teacher_id", "year", "school_id"]]
    wt = data["wellbeing_teachers"][["teacher_id", "year", "school_id", "wellbeing"]]
    out = ty.merge(wt, on=["teacher_id", "year", "school_id"], how="left")
    return out.merge(data["teachers"][["teacher_id", "sex"]], on="teacher_id", how="left")


def weighted(frame: pd.DataFrame, cells: tuple[str, ...], *, min_respondents: int = MIN_RESPONDENTS) -> dict[str, float]:
    """Eligible, respondents, response rate (%), the respondents' mean and the weighted mean,
    each with a school-clustered 95 % interval, and the effect of weighting (module docstring).
    Means are NaN with fewer than 2 respondents or fewer than 2 schools with respondents."""
    from evaltools.estimate.nonresponse import cell_weights, weighted_mean

    n, answered = len(frame), frame["wellbeing"].notna()
    row = dict.fromkeys(COLUMNS, np.nan)
    row.update(eligible=n, respondents=int(answered.sum()), response_pct=100 * answered.mean() if n else np.nan)
    if answered.sum() < 2 or frame.loc[answered, "school_id"].nunique() < 2:
        return row
    f = frame.assign(responded=answered, sex=frame["sex"].fillna("unknown"))
    w = cell_weights(f, "responded", list(cells), min_respondents=min_respondents)
    plain = weighted_mean(f["wellbeing"], answered.astype(float), f["school_id"], estimand="respondents' mean")
    adjusted = weighted_mean(f["wellbeing"], w, f["school_id"], estimand="weighted mean")
    row.update(mean=plain.estimate, ci_low=plain.ci_low, ci_high=plain.ci_high, weighted_mean=adjusted.estimate,
               weighted_ci_low=adjusted.ci_low, weighted_ci_high=adjusted.ci_high,
               weighting_effect=adjusted.estimate - plain.estimate)
    return row


def weighting_table(data: Dataset, year: int, rows: tuple[tuple[str, frozenset[str]], ...]) -> pd.DataFrame:
    """:func:`weighted` for pupils and teachers of each (label, schools) in ``year``: rows
    (area, population)."""
    out = {}
    for label, schools in rows:
        out[(label, "pupils")] = weighted(eligible_pupils(data, year, schools), PUPIL_CELLS)
        out[(label, "teachers")] = weighted(eligible_teachers(data, year, schools), TEACHER_CELLS)
    table = pd.DataFrame.from_dict(out, orient="index", columns=COLUMNS)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["area", "population"])
    return table.astype({"eligible": "int64", "respondents": "int64"})
