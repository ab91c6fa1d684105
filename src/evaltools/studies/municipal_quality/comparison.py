"""Comparing schools fairly, equity gaps and what changed since the previous four-yearly report.

- :func:`value_added`: schools' grade-9 exam results adjusted for intake (the same pupils'
  grade-6 diagnostic three years earlier, socio-economic index, special needs, sex) from a
  random-intercept model of all of Latvia's schools
  (:func:`evaltools.estimate.multilevel`), with empirical-Bayes shrinkage and 95 % rank
  intervals; a school's value added is read with its interval, never as a league-table place.
- :func:`equity_gaps`: the grade-9 exam score gap (percentage points) between groups of the
  area's sitters, with intervals (:func:`evaltools.estimate.bounded_intervals.mean_difference`).
- :func:`early_leaving_gaps`: the same groups' early-leaving rates (grades 5-12, per pupil-year)
  and their gap in percentage points, with intervals inside -100..100
  (:func:`evaltools.estimate.bounded_intervals.rate_difference`).
- :func:`changes`: the area's mean results in this period against the previous four years.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.core.errors import DataError
from evaltools.data.io import Dataset
from evaltools.studies.municipal_quality import frames, indicators
from evaltools.studies.municipal_quality.indicators import Area

National = Any  # :class:`.national.National` (built from these functions, so not imported here)

#: Fewer schools than this in an area and its schools are not compared with one another.
MIN_SCHOOLS_TO_COMPARE: int = 3
GAP_COLUMNS = ["n_a", "mean_a", "n_b", "mean_b", "gap", "ci_low", "ci_high"]
DIMENSIONS = ("sex", "language", "special_needs", "ses", "urban")


def _exam_frame(data: Dataset, area: Area, test: str) -> pd.DataFrame:
    """The sitters of ``test`` in the area and period with their sex, special needs, SES index
    and their school's language of instruction and urban/rural (Latvia's built once per run)."""
    def build() -> pd.DataFrame:
        frame = indicators.pupil_years(data, replace(area, municipality_id=None, name=None))
        scores = indicators.exam_scores(data, frame, test)
        pupils = data["pupils"][["pupil_id", "sex", "special_needs", "ses_index"]]
        schools = data["schools"][["school_id", "municipality_id", "language", "urban"]]
        return scores.merge(pupils, on="pupil_id", how="left").merge(schools, on="school_id", how="left")

    national = frames.remember(data, ("exam_frame", test, area.first_year, area.last_year),
                               ("pupil_years", "schools", "municipalities", "assessments", "pupils"), build)
    if area.municipality_id is None:
        return national
    return frames.renumbered(national[national["municipality_id"] == area.municipality_id])


def national_icc(data: Dataset, area: Area, test: str = "ce9") -> float:
    """Between-school correlation of ``test`` scores in all of Latvia over the period."""
    from evaltools.estimate.bounded_intervals import icc_anova

    s = _exam_frame(data, replace(area, municipality_id=None), test)
    return icc_anova(s["score"], s["school_id"])


def equity_gaps(data: Dataset, area: Area, *, test: str = "ce9", national: National | None = None) -> pd.DataFrame:
    """Score gaps in the area over the period: girls - boys, Latvian - minority language of
    instruction, special needs - none, lowest - highest national quarter of the socio-economic
    index, urban - rural schools. Rows where a group has fewer than 2 sitters have no values.
    ``national`` (:mod:`.national`): Latvia's correlation and SES quarters computed once."""
    from evaltools.estimate.bounded_intervals import mean_difference

    if national is not None and test == "ce9":
        icc, (q1, q3) = national.icc_exams, national.ses_quarters
    else:
        icc = national_icc(data, area, test)
        q1, q3 = np.nanquantile(data["pupils"]["ses_index"], [0.25, 0.75])
    s = _exam_frame(data, area, test)
    groups = equity_groups(s, q1, q3)
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
    out = pd.DataFrame.from_dict(rows, orient="index", columns=GAP_COLUMNS).astype({"n_a": "int64", "n_b": "int64"})
    out.index.name = "dimension"
    return out


LEAVING_GAP_COLUMNS = ["n_a", "left_a", "rate_a", "n_b", "left_b", "rate_b", "gap", "ci_low", "ci_high"]


def equity_groups(frame: pd.DataFrame, q1: float, q3: float) -> dict[str, tuple[pd.Series, pd.Series]]:
    """The two groups of each equity dimension (:data:`DIMENSIONS`), as boolean masks of ``frame``."""
    return {
        "sex": (frame["sex"] == "F", frame["sex"] == "M"),
        "language": (frame["language"] == "latvian", frame["language"] != "latvian"),
        "special_needs": (frame["special_needs"].eq(True), frame["special_needs"].eq(False)),
        "ses": (frame["ses_index"] <= q1, frame["ses_index"] >= q3),
        "urban": (frame["urban"].eq(True), frame["urban"].eq(False)),
    }


def _leaving_frame(data: Dataset, area: Area) -> pd.DataFrame:
    """Pupil-years of grades 5-12 of the area and period with the pupil's and the school's groups."""
    def build() -> pd.DataFrame:
        frame = indicators.pupil_years(data, replace(area, municipality_id=None, name=None))
        risk = frame.loc[frame["at_risk_grade"], ["pupil_id", "school_id", "municipality_id", "left_early_flag"]]
        pupils = data["pupils"][["pupil_id", "sex", "special_needs", "ses_index"]]
        schools = data["schools"][["school_id", "language", "urban"]]
        return risk.merge(pupils, on="pupil_id", how="left").merge(schools, on="school_id", how="left")

    national = frames.remember(data, ("leaving_frame", area.first_year, area.last_year),
                               ("pupil_years", "schools", "municipalities", "assessments", "pupils"), build)
    if area.municipality_id is None:
        return national
    return frames.renumbered(national[national["municipality_id"] == area.municipality_id])


def early_leaving_gaps(data: Dataset, area: Area, *, threshold: int = 1,
                       national: National | None = None) -> pd.DataFrame:
    """Early-leaving rates (% of pupil-years in grades 5-12 ending in early leaving) of the groups
    of :func:`equity_gaps` in the area over the period, and the gap A - B in percentage points
    with a 95 % interval (:func:`rate_difference`, design effect with the between-school
    correlation of early leaving in all of Latvia's schools).

    The gap is a function of both groups' leavers: it is left empty (not computed) where a group
    has fewer than ``threshold`` leavers or non-leavers, so that it can never give back a count
    that disclosure control hides in the group's rate (the report passes its ``min_cell``)."""
    from evaltools.estimate.bounded_intervals import rate_difference

    if national is not None:
        icc, (q1, q3) = national.icc_leaving, national.ses_quarters
    else:
        icc = remember_icc(data, area, _leaving_frame(data, replace(area, municipality_id=None)))
        q1, q3 = np.nanquantile(data["pupils"]["ses_index"], [0.25, 0.75])
    f = _leaving_frame(data, area)
    y = f["left_early_flag"].astype(float)
    rows = {}
    for dim, (a, b) in equity_groups(f, q1, q3).items():
        row: dict[str, float] = {c: np.nan for c in LEAVING_GAP_COLUMNS}
        for tag, mask in (("a", a), ("b", b)):
            n, k = int(mask.sum()), int(y[mask].sum())
            row[f"n_{tag}"], row[f"left_{tag}"] = n, k
            row[f"rate_{tag}"] = 100 * k / n if n else np.nan
        small = any(0 < v < threshold for v in (row["left_a"], row["left_b"], row["n_a"] - row["left_a"],
                                                row["n_b"] - row["left_b"]))
        if row["n_a"] and row["n_b"] and not small:
            part = a | b
            e = rate_difference(y[part], a[part].to_numpy(), f.loc[part, "school_id"], icc=icc, scale=100, estimand=dim)
            row.update(gap=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high)
        rows[dim] = row
    out = pd.DataFrame.from_dict(rows, orient="index", columns=LEAVING_GAP_COLUMNS)
    out = out.astype({c: "int64" for c in ("n_a", "left_a", "n_b", "left_b")})
    out.index.name = "dimension"
    return out


def remember_icc(data: Dataset, area: Area, national: pd.DataFrame) -> float:
    """Between-school correlation of early leaving (0/1 per pupil-year) in all of Latvia over the period."""
    from evaltools.estimate.bounded_intervals import icc_anova

    return frames.remember(data, ("leaving_icc", area.first_year, area.last_year),
                           ("pupil_years", "schools", "municipalities", "pupils"),
                           lambda: icc_anova(national["left_early_flag"].astype(float), national["school_id"]))


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
    s = s.sort_values(["pupil_id", "year"], kind="stable")  # the model's rows in a fixed order (same fit every run)
    m = s.merge(d6, on=["pupil_id", "year"], how="inner").dropna(subset=["score", "diag6", "ses_index"])
    if m["school_id"].nunique() < 10:
        raise DataError(f"Value added for {area.period}: only {m['school_id'].nunique()} schools have pupils with "
                        "both a grade-9 exam and a grade-6 diagnostic three years before; at least 10 are needed.")
    m = m.assign(special_needs=m["special_needs"].astype(float))
    fit = multilevel(m, "score ~ diag6 + ses_index + special_needs + C(sex)", "school_id")
    va = fit.value_added(rank_draws=rank_draws, seed=seed)
    names = indicators.school_labels(data)
    out = va[["n", "effect", "ci_low", "ci_high", "rank", "rank_low", "rank_high"]].copy()
    out.index = out.index.map(names)
    out.index.name = "school"
    return out.astype({"n": "int64", "rank": "int64", "rank_low": "int64", "rank_high": "int64"})


def changes(data: Dataset, area: Area, *, first_data_year: int | None = None) -> pd.DataFrame | None:
    """The area's mean results in the period (``now``) against the four school years before it
    (``prev``), with their counts: grade 3 and 6 diagnostics and grade 9 and 12 exams (mean over
    each pupil's subjects, pupils tested), lessons missed per pupil-year. None when the data do
    not reach back to the previous period (``first_data_year``: the data's first school year,
    default ``data``'s)."""
    first = int(data["pupil_years"]["year"].min()) if first_data_year is None else int(first_data_year)
    length = area.last_year - area.first_year + 1
    first_prev = area.first_year - length
    if first_prev < first:
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
