"""The frames of the Skola-kopienā study: one analysis frame per outcome.

Each frame has one row per unit of analysis with the outcome ``y``, the support ``D`` (1: the
pupil received the outcome's support types that year), its ``hours``, the pupil's prior outcomes
and characteristics (:data:`OUTCOMES` names the covariates of each) and the subgroup columns.
Comparison rows are pupils of the same schools and years who received no support of any type. The
exam retake is the exception: its comparison rows also include the failed grade-9 repeaters of the
area's schools that offered no support that year (``offering_school`` = 0; schools offered support at
random, and within offering schools nearly every failed repeater was supported).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaltools.core.errors import DataError

__all__ = ["OutcomeSpec", "OUTCOMES", "SUBGROUPS", "MEASURES", "SupportDataError", "SupportData", "prepare"]

MEASURES: tuple[str, ...] = ("counselling", "mentor", "literacy", "subject_support")
"""Support types of the individual plans, as coded in ``community_support.measure``."""


@dataclass(frozen=True)
class OutcomeSpec:
    """One outcome of the study: the support types that act on it, its covariates (recorded before
    the support), its unit, whether higher is better, whether it is 0/1 and the name of its stored
    true effect in ``true_effects.json``."""

    measures: tuple[str, ...]
    covariates: tuple[str, ...]
    unit: str
    higher_is_better: bool
    binary: bool
    truth: str
    prior: str | None  # the same outcome a year earlier (difference-in-differences), None: no earlier measurement


OUTCOMES: dict[str, OutcomeSpec] = {
    "wellbeing": OutcomeSpec(("counselling", "mentor"),
                             ("y_prev", "absences_prev_log", "ses_index", "special_needs", "female"),
                             "points", True, False, "community_support_wellbeing", "y_prev"),
    "absences": OutcomeSpec(("counselling", "mentor"),
                            ("y_prev", "absences_prev_log", "wellbeing_prev", "wellbeing_prev_missing", "ses_index",
                             "special_needs", "female"),
                            "lessons", False, False, "community_support_absences", "y_prev"),
    "literacy": OutcomeSpec(("literacy",), ("preschool_literacy", "preschool_literacy_missing", "preschool_numeracy",
                                            "ses_index", "special_needs", "female", "other_language",
                                            "absences_prev_log"),
                            "points", True, False, "community_support_literacy", None),
    "exam_retake": OutcomeSpec(("subject_support",), ("ce9_prev_mean", "ce9_prev_min", "ses_index", "special_needs",
                                                       "female", "absences_prev_log", "school_ce9_prev",
                                                       "school_urban", "school_latvian"),
                               "pp", True, True, "community_support_exam_retake", None),
}
"""The outcomes, in the order the report shows them."""

SUBGROUPS: tuple[str, ...] = ("sex", "grade_band", "area", "ses_band", "home_language")
"""Columns of every frame that define the "for whom" subgroups."""


class SupportDataError(DataError, ValueError):
    """The data set cannot support the study (missing table, unknown region, no support in the area)."""


@dataclass(frozen=True)
class SupportData:
    """The study's frames for one area and period (see :func:`prepare`).

    ``frames``: outcome -> analysis frame; ``support``: the support rows of the area and period
    (one row per pupil, year and support type, with ``hours``); ``offering``: pupil-years of the
    schools that offered support that year (grade, school, municipality); ``skipped``: outcome ->
    why its frame is empty.
    """

    frames: dict[str, pd.DataFrame]
    support: pd.DataFrame
    offering: pd.DataFrame
    years: tuple[int, ...]
    region: str | None
    pass_mark: float
    skipped: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Supported pupils, pupil-years, schools and hours of the area and period."""
        s = self.support
        return {"supported_pupils": int(s["pupil_id"].nunique()),
                "supported_pupil_years": int(s[["pupil_id", "year"]].drop_duplicates().shape[0]),
                "schools": int(s["school_id"].nunique()),
                "municipalities": int(self.offering.loc[self.offering["school_id"].isin(s["school_id"]),
                                                        "municipality_id"].nunique()),
                "hours": int(s["hours"].sum()),
                "pupil_years_offering": int(len(self.offering))}

    def supported_by_outcome(self, outcome: str) -> int:
        """Pupils who received the outcome's support types in the area and period (the base of attrition)."""
        s = self.support
        spec = OUTCOMES[outcome]
        return int(s.loc[s["measure"].isin(spec.measures), "pupil_id"].nunique())


def _key(pupil: pd.Series, year: pd.Series) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([pupil.to_numpy(), year.to_numpy(np.int64)])


def _pupil_rows(cur: pd.DataFrame, prev_abs: pd.Series, schools: pd.DataFrame, pupils: pd.DataFrame,
                fills: dict[str, float] | None = None) -> tuple[pd.DataFrame, dict[str, float]]:
    """One row per pupil-year of ``cur`` (pupil_years rows) with the characteristics every frame uses:
    last year's absences, the school's area and municipality, sex, special needs, SES and home
    language. Missing absences and SES are filled with ``fills`` (the offering schools' means and SES
    median, so rows added later are described on the same scale); None: computed from ``cur``."""
    key = _key(cur["pupil_id"], cur["year"])
    base = pd.DataFrame({"pupil_id": cur["pupil_id"].to_numpy(), "year": cur["year"].to_numpy(np.int64),
                         "school_id": cur["school_id"].to_numpy(), "grade": cur["grade"].to_numpy(np.int64),
                         "absences": cur["absences"].to_numpy(float), "repeated": cur["repeated"].to_numpy(bool)})
    base["absences_prev"] = prev_abs.reindex(key).to_numpy()
    pup = pupils.reindex(base["pupil_id"])
    ses = pup["ses_index"].astype(float)
    if fills is None:
        fills = {"absences_prev": float(base["absences_prev"].mean()) if base["absences_prev"].notna().any() else 0.0,
                 "ses_index": float(ses.mean()) if ses.notna().any() else 0.0}
        fills["ses_median"] = float(np.nanmedian(ses.fillna(fills["ses_index"]))) if len(ses) else 0.0
    base["absences_prev_log"] = np.log1p(base["absences_prev"].fillna(fills["absences_prev"]))
    sch = schools.reindex(base["school_id"])
    base["municipality_id"] = sch["municipality_id"].to_numpy()
    urban = sch["urban"].astype(bool).to_numpy()
    base["area"] = np.where(urban, "urban", "rural")
    base["school_urban"] = urban.astype(float)
    base["school_latvian"] = (sch["school_language"].astype(str) == "latvian").to_numpy(float)
    base["sex"] = pup["sex"].astype(str).to_numpy()
    base["female"] = (pup["sex"] == "F").to_numpy(float)
    base["special_needs"] = pup["special_needs"].astype(float).fillna(0.0).to_numpy()
    base["ses_index"] = ses.fillna(fills["ses_index"]).to_numpy()
    base["ses_band"] = np.where(base["ses_index"] < fills["ses_median"], "lower", "higher")
    lang = pup["language"].astype(str).to_numpy()
    base["home_language"] = np.where(lang == "latvian", "latvian", "other")
    base["other_language"] = (base["home_language"] == "other").astype(float)
    base["grade_band"] = np.select([base["grade"] <= 3, base["grade"] <= 6, base["grade"] <= 9],
                                   ["1-3", "4-6", "7-9"], "10-12")
    return base, fills


def _school_prior_ce9(ce9: pd.DataFrame, py: pd.DataFrame, years: tuple[int, ...]) -> pd.Series:
    """(school, year) -> the mean ce9 score of the school's pupils the year before (a school covariate of
    the exam-retake outcome: the school's level before the support year)."""
    prev = py[py["year"].isin([y - 1 for y in years])][["pupil_id", "year", "school_id"]]
    scores = ce9.groupby(["pupil_id", "year"], as_index=False)["score"].mean().merge(prev, on=["pupil_id", "year"])
    out = scores.groupby(["school_id", "year"])["score"].mean()
    return pd.Series(out.to_numpy(float), index=_key(out.index.get_level_values(0).to_series(),
                                                        out.index.get_level_values(1).to_series() + 1))


def prepare(ds: Any, *, region: str | None = None, first_year: int | None = None, last_year: int | None = None,
            pass_mark: float = 30.0) -> SupportData:
    """Build the study's frames from a loaded data set (``evaltools.data.load_dataset``).

    Needs pupils, pupil_years, schools, municipalities and community_support; wellbeing_pupils,
    assessments (diag3, ce9) and preschool_assessments (the literacy outcome's prior results) for
    the outcomes that use them. ``region``: a planning region (None or
    ``"all"``: Latvia); the years default to the years with support in the data. ``pass_mark``: the
    exam score (%) every ce9 subject must reach to count as passed (below it in any subject the
    year before: failed).
    """
    for table in ("community_support", "pupils", "pupil_years", "schools", "municipalities"):
        if table not in ds:
            raise SupportDataError(
                f"The data set has no '{table}' table; the Skola-kopienā study needs it (see docs/codebook.md). "
                "Name its file under 'files' in the column mapping if it is called differently.")
    cs = ds["community_support"]
    unknown = sorted(set(cs["measure"].dropna().astype(str)) - set(MEASURES))
    if unknown:
        raise SupportDataError(
            f"community_support.measure has values the study does not know: {', '.join(map(repr, unknown[:5]))}; "
            f"expected {', '.join(MEASURES)}. Map the extract's codes onto these in the column mapping.")
    if (cs["hours"] < 0).any():
        raise SupportDataError("community_support.hours has negative values (rows "
                               f"{', '.join(map(str, np.flatnonzero(cs['hours'].to_numpy() < 0)[:5] + 2))}); "
                               "hours of support must be 0 or more.")
    years_cs = sorted(int(y) for y in cs["year"].unique())
    if not years_cs:
        raise SupportDataError("community_support has no rows: there is no support to evaluate.")
    lo = years_cs[0] if first_year is None else int(first_year)
    hi = years_cs[-1] if last_year is None else int(last_year)
    if lo > hi:
        raise SupportDataError(f"first_year {lo} is after last_year {hi}.")
    years = tuple(y for y in years_cs if lo <= y <= hi)
    if not years:
        raise SupportDataError(f"No support between {lo} and {hi}; the data have support in "
                               f"{', '.join(map(str, years_cs))}. Change first_year/last_year.")
    mun = ds["municipalities"][["municipality_id", "region"]]
    regions = sorted(mun["region"].dropna().unique())
    reg = None if region in (None, "", "all") else str(region)
    if reg is not None and reg not in regions:
        raise SupportDataError(f"Unknown region {region!r}; the data have {', '.join(regions)} (or 'all').")
    schools = (ds["schools"][["school_id", "municipality_id", "urban", "language"]]
               .rename(columns={"language": "school_language"}).merge(mun, on="municipality_id", how="left"))
    if reg is not None:
        schools = schools[schools["region"] == reg]
    schools = schools.set_index("school_id")

    cs = cs[cs["year"].isin(years) & cs["school_id"].isin(schools.index)]
    if cs.empty:
        raise SupportDataError(f"No pupil received support in {reg or 'Latvia'} in {', '.join(map(str, years))}.")
    offering_sy = cs[["school_id", "year"]].drop_duplicates()

    py = ds["pupil_years"][["pupil_id", "year", "school_id", "grade", "absences", "repeated"]]
    prev = py[py["year"].isin([y - 1 for y in years])][["pupil_id", "year", "absences"]]
    prev_abs = pd.Series(prev["absences"].to_numpy(float), index=_key(prev["pupil_id"], prev["year"] + 1))
    prev_abs = prev_abs[~prev_abs.index.duplicated()]
    pupils = ds["pupils"].drop_duplicates("pupil_id").set_index("pupil_id")
    cur = py[py["year"].isin(years)].merge(offering_sy, on=["school_id", "year"], how="inner")
    base, fills = _pupil_rows(cur, prev_abs, schools, pupils)
    key = _key(base["pupil_id"], base["year"])
    # grade-9 repeaters of the area's schools that offered no support that year: the exam-retake comparisons
    in_area = py[py["year"].isin(years) & py["school_id"].isin(schools.index) & (py["grade"] == 9)
                 & py["repeated"].astype(bool)]
    offers = in_area.merge(offering_sy.assign(_offer=1), on=["school_id", "year"], how="left")["_offer"].notna()
    extra, _ = _pupil_rows(in_area[~offers.to_numpy()], prev_abs, schools, pupils, fills)

    # support per pupil-year: hours by type
    hours = cs.groupby(["pupil_id", "year", "measure"])["hours"].sum().unstack("measure", fill_value=0)
    hours = hours.reindex(columns=list(MEASURES), fill_value=0)
    h = hours.reindex(key).fillna(0.0)
    for m in MEASURES:
        base[f"h_{m}"] = h[m].to_numpy(float)
    base["any_support"] = (h.sum(axis=1) > 0).to_numpy()
    offering = base[["pupil_id", "year", "school_id", "grade", "municipality_id"]]

    frames: dict[str, pd.DataFrame] = {}
    skipped: dict[str, str] = {}
    wb = ds["wellbeing_pupils"] if "wellbeing_pupils" in ds else None
    wb_now = wb_prev = None
    if wb is not None:
        wb = wb[wb["year"].between(years[0] - 1, years[-1])]  # the years of support and the one before
        w = wb.groupby(["pupil_id", "year"])["wellbeing"].mean()
        wb_now = w.reindex(key).to_numpy()
        wb_prev = w.reindex(_key(base["pupil_id"], base["year"] - 1)).to_numpy()
    base["wellbeing_prev"] = np.nan if wb_prev is None else wb_prev
    base["wellbeing_prev_missing"] = np.isnan(base["wellbeing_prev"].to_numpy(float)).astype(float)
    fill = np.nanmean(base["wellbeing_prev"]) if (~np.isnan(base["wellbeing_prev"])).any() else 0.0
    base["wellbeing_prev"] = base["wellbeing_prev"].fillna(fill)

    def frame(outcome: str, rows: pd.DataFrame, y: np.ndarray) -> None:
        spec = OUTCOMES[outcome]
        own = rows[[f"h_{m}" for m in spec.measures]].sum(axis=1).to_numpy()
        keep = (own > 0) | ~rows["any_support"].to_numpy()  # comparison: no support of any type
        keep &= ~np.isnan(y)
        f = rows.assign(y=y, hours=own, D=(own > 0).astype(int))[keep].reset_index(drop=True)
        frames[outcome] = f

    if wb_now is not None:
        sel = ~np.isnan(wb_now) & ~np.isnan(wb_prev)
        frame("wellbeing", base[sel].assign(y_prev=wb_prev[sel]), wb_now[sel])
    else:
        skipped["wellbeing"] = "no wellbeing_pupils table"
    sel = ~np.isnan(base["absences_prev"].to_numpy(float))
    frame("absences", base[sel].assign(y_prev=base.loc[sel, "absences_prev"].to_numpy(float)),
          base.loc[sel, "absences"].to_numpy(float))

    a = ds["assessments"] if "assessments" in ds else pd.DataFrame(columns=["pupil_id", "year", "test", "subject",
                                                                           "score"])
    a = a[a["year"].between(years[0] - 1, years[-1])]  # the years of support and the one before
    # literacy: the grade-3 Latvian diagnostic, with the literacy hours of grades 1-3 up to that year
    d3 = a[(a["test"] == "diag3") & (a["subject"] == "latvian")].groupby(["pupil_id", "year"])["score"].mean()
    g3 = base[base["grade"] == 3].copy()
    pre = ds["preschool_assessments"] if "preschool_assessments" in ds else None
    if pre is not None and len(pre):
        last = pre.sort_values("year").drop_duplicates("pupil_id", keep="last").set_index("pupil_id")
        lit_pre = last["literacy"].reindex(g3["pupil_id"]).to_numpy(float)
        num_pre = last["numeracy"].reindex(g3["pupil_id"]).to_numpy(float)
    else:
        lit_pre = num_pre = np.full(len(g3), np.nan)
    g3["preschool_literacy_missing"] = np.isnan(lit_pre).astype(float)
    g3["preschool_literacy"] = np.where(np.isnan(lit_pre), np.nanmean(lit_pre) if (~np.isnan(lit_pre)).any() else 0.0,
                                        lit_pre)
    g3["preschool_numeracy"] = np.where(np.isnan(num_pre), np.nanmean(num_pre) if (~np.isnan(num_pre)).any() else 0.0,
                                        num_pre)
    if len(g3) and len(d3):
        lit_rows = cs[cs["measure"] == "literacy"][["pupil_id", "year", "hours"]]
        upto = g3[["pupil_id", "year"]].merge(lit_rows, on="pupil_id", suffixes=("", "_s"))
        upto = upto[upto["year_s"] <= upto["year"]].groupby(["pupil_id", "year"])["hours"].sum()
        g3["h_literacy"] = upto.reindex(_key(g3["pupil_id"], g3["year"])).fillna(0.0).to_numpy()
        ever = set(cs.loc[cs["measure"] != "literacy", "pupil_id"])  # other support in any year: not a comparison
        g3["any_support"] = (g3["h_literacy"] > 0) | g3["pupil_id"].isin(ever).to_numpy() | g3["any_support"]
        frame("literacy", g3, d3.reindex(_key(g3["pupil_id"], g3["year"])).to_numpy())
    else:
        skipped["literacy"] = "no grade-3 Latvian diagnostics (assessments, test diag3) in the years of support"

    # exam retake: grade-9 repeaters who failed ce9 the year before; passed = every ce9 subject >= pass_mark.
    # Comparisons: the unsupported of the offering schools and every such repeater of the schools that
    # offered no support (schools offered support at random, so these are like the pupils of offering
    # schools; the prior ce9 results that drove the choice within offering schools are adjusted for)
    ce9 = a[a["test"] == "ce9"]
    rep = pd.concat([base[(base["grade"] == 9) & base["repeated"]].assign(offering_school=1.0),
                     extra.assign(offering_school=0.0, any_support=False,
                                  **{f"h_{m}": 0.0 for m in MEASURES})], ignore_index=True)
    if len(rep) and len(ce9):
        before = ce9.assign(year=ce9["year"] + 1).groupby(["pupil_id", "year"])["score"].agg(["mean", "min"])
        k = _key(rep["pupil_id"], rep["year"])
        b = before.reindex(k)
        rep["ce9_prev_mean"], rep["ce9_prev_min"] = b["mean"].to_numpy(), b["min"].to_numpy()
        rep["school_ce9_prev"] = _school_prior_ce9(ce9, py, years).reindex(
            _key(rep["school_id"], rep["year"])).to_numpy()
        known = ~np.isnan(rep["school_ce9_prev"].to_numpy(float))
        rep["school_ce9_prev"] = rep["school_ce9_prev"].fillna(float(rep.loc[known, "school_ce9_prev"].mean())
                                                               if known.any() else 0.0)
        # failed the year before: a ce9 subject below the pass mark (the pupils subject support is for)
        rep = rep[~np.isnan(rep["ce9_prev_mean"].to_numpy(float)) & (rep["ce9_prev_min"].to_numpy(float) < pass_mark)]
        now = ce9.groupby(["pupil_id", "year"])["score"].min().reindex(_key(rep["pupil_id"], rep["year"]))
        passed = (now.to_numpy() >= float(pass_mark)).astype(float)  # no retake recorded: not passed
        frame("exam_retake", rep, passed)
    else:
        skipped["exam_retake"] = "no pupils repeating grade 9 after failing a ce9 exam"
    for name in OUTCOMES:
        if name not in frames:
            frames[name] = pd.DataFrame(columns=[*base.columns, "y", "hours", "D"])
    return SupportData(frames=frames, support=cs.reset_index(drop=True), offering=offering.reset_index(drop=True),
                       years=years, region=reg, pass_mark=float(pass_mark), skipped=skipped,
                       notes={"covers_all_years": years == tuple(years_cs)})
