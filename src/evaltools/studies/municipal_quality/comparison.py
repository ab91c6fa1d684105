"""Comparing schools fairly, equity gaps and what changed since the previous four-yearly report.

- :func:`value_added`: schools' grade-9 exam results adjusted for intake (the same pupils'
  grade-6 diagnostic three years earlier, socio-economic index, special needs, sex) from a
  random-intercept model of all of Latvia's schools
  (:func:`evaltools.estimate.multilevel`), with empirical-Bayes shrinkage and 95 % rank
  intervals; a school's value added is read with its interval, never as a league-table place.
- :func:`equity_gaps`: the grade-9 exam score gap (percentage points) between groups of the
  area's sitters, with intervals (:func:`evaltools.estimate.bounded_intervals.mean_difference`).
- :func:`changes`: the area's mean results in this period against the previous four years.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from evaltools.core.errors import DataError
from evaltools.data.io import Dataset
from evaltools.studies.municipal_quality import indicators
from evaltools.studies.municipal_quality.indicators import Area

#: Fewer schools than this in an area and its schools are not compared with one another.
MIN_SCHOOLS_TO_COMPARE: int = 3
GAP_COLUMNS = ["n_a", "mean_a", "n_b", "mean_b", "gap", "ci_low", "ci_high"]
DIMENSIONS = ("sex", "language", "special_needs", "ses", "urban")


def _exam_frame(data: Dataset, area: Area, test: str) -> pd.DataFrame:
    frame = indicators.pupil_years(data, area)
    scores = indicators.exam_scores(data, frame, test)
    pupils = data["pupils"][["pupil_id", "sex", "special_needs", "ses_index"]]
    schools = data["schools"][["school_id", "language", "urban"]]
    return scores.merge(pupils, on="pupil_id", how="left").merge(schools, on="school_id", how="left")


def national_icc(data: Dataset, area: Area, test: str = "ce9") -> float:
    """Between-school correlation of ``test`` scores in all of Latvia over the period."""
    from evaltools.estimate.bounded_intervals import icc_anova

    s = _exam_frame(data, replace(area, municipality_id=None), test)
    return icc_anova(s["score"], s["school_id"])


def equity_gaps(data: Dataset, area: Area, *, test: str = "ce9") -> pd.DataFrame:
    """Score gaps in the area over the period: girls - boys, Latvian - minority language of
    instruction, special needs - none, lowest - highest national quarter of the socio-economic
    index, urban - rural schools. Rows where a group has fewer than 2 sitters have no values."""
    from evaltools.estimate.bounded_intervals import mean_difference

    national = _exam_frame(data, replace(area, municipality_id=None), test)
    icc = national_icc(data, area, test)
    q1, q3 = np.nanquantile(data["pupils"]["ses_index"], [0.25, 0.75])
    s = _exam_frame(data, area, test)
    groups = {
        "sex": (s["sex"] == "F", s["sex"] == "M"),
        "language": (s["language"] == "latvian", s["language"] != "latvian"),
        "special_needs": (s["special_needs"].eq(True), s["special_needs"].eq(False)),
        "ses": (s["ses_index"] <= q1, s["ses_index"] >= q3),
        "urban": (s["urban"].eq(True), s["urban"].eq(False)),
    }
    rows = {}
    for dim, (a, b) in groups.items():
        part = s[a | b]
        in_a = a[a | b].to_numpy()
        row = {"n_a": int(a.sum()), "mean_a": np.nan, "n_b": int(b.sum()), "mean_b": np.nan,
               "gap": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        if a.sum():
            row["mean_a"] = float(s.loc[a, "score"].mean())
        if b.sum():
            row["mean_b"] = float(s.loc[b, "score"].mean())
        if a.sum() >= 2 and b.sum() >= 2:
            e = mean_difference(part["score"], in_a, part["school_id"], icc=icc, estimand=dim)
            row.update(gap=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high)
        rows[dim] = row
    del national
    out = pd.DataFrame.from_dict(rows, orient="index", columns=GAP_COLUMNS).astype({"n_a": "int64", "n_b": "int64"})
    out.index.name = "dimension"
    return out


def value_added(data: Dataset, area: Area, *, rank_draws: int = 1000, seed: int = 20240901) -> pd.DataFrame:
    """Intake-adjusted grade-9 results of every school in Latvia over the area's period.

    Model: ``ce9 ~ diag6 + ses_index + special_needs + C(sex) + (1 | school)`` (REML), with
    ``ce9`` a sitter's mean score over subjects and ``diag6`` the same pupil's grade-6 diagnostic
    mean three school years earlier. Columns: ``n`` (pupils), ``effect`` (empirical-Bayes value
    added, score points), ``ci_low``/``ci_high``, ``rank``, ``rank_low``/``rank_high`` (1 = highest).
    """
    from evaltools.estimate import multilevel

    nat = replace(area, municipality_id=None)
    s = _exam_frame(data, nat, "ce9")
    a = data["assessments"]
    d6 = a[a["test"] == "diag6"].groupby(["pupil_id", "year"], as_index=False)["score"].mean()
    d6 = d6.assign(year=d6["year"] + 3).rename(columns={"score": "diag6"})
    m = s.merge(d6, on=["pupil_id", "year"], how="inner").dropna(subset=["score", "diag6", "ses_index"])
    if m["school_id"].nunique() < 10:
        raise DataError(f"Value added for {area.period}: only {m['school_id'].nunique()} schools have pupils with "
                        "both a grade-9 exam and a grade-6 diagnostic three years before; at least 10 are needed.")
    m = m.assign(special_needs=m["special_needs"].astype(float))
    fit = multilevel(m, "score ~ diag6 + ses_index + special_needs + C(sex)", "school_id")
    va = fit.value_added(rank_draws=rank_draws, seed=seed)
    names = data["schools"].set_index("school_id")["name"]
    out = va[["n", "effect", "ci_low", "ci_high", "rank", "rank_low", "rank_high"]].copy()
    out.index = out.index.map(names)
    out.index.name = "school"
    return out.astype({"n": "int64", "rank": "int64", "rank_low": "int64", "rank_high": "int64"})


def changes(data: Dataset, area: Area) -> pd.DataFrame | None:
    """The area's mean results in the period (``now``) against the four school years before it
    (``prev``), with their counts: grade 3 and 6 diagnostics and grade 9 and 12 exams (mean over
    each pupil's subjects, pupils tested), lessons missed per pupil-year. None when the data do
    not reach back to the previous period."""
    years = data["pupil_years"]["year"]
    length = area.last_year - area.first_year + 1
    first_prev = area.first_year - length
    if first_prev < int(years.min()):
        return None
    prev = replace(area, first_year=first_prev, last_year=area.first_year - 1)
    rows = {}
    for key in ("diag3", "diag6", "ce9", "ce12", "absences"):
        cells = []
        for a in (prev, area):
            frame = indicators.pupil_years(data, a)
            values = frame["absences"] if key == "absences" else indicators.exam_scores(data, frame, key)["score"]
            cells += [int(values.notna().sum()), float(values.mean()) if values.notna().any() else np.nan]
        rows[key] = cells
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["n_prev", "prev", "n_now", "now"])
    out["change"] = out["now"] - out["prev"]
    out.index.name = "indicator"
    return out.astype({"n_prev": "int64", "n_now": "int64"})
