"""The frames of the PUMPURS study: pupil-years, measures and exams of one area and period."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from evaltools.core.errors import DataError

__all__ = ["GRADES", "PLACEBO_GRADES", "MIN_SCORE_VALUES", "SUBGROUPS", "TREND", "SCORE", "YEARS_IN", "PUPIL_CODE",
           "BASELINE_COVARIATES", "DropoutDataError", "DropoutData", "prepare", "school_panel", "served_grades",
           "first_served_year", "placebo_panel", "threshold_design_available", "attrition", "leaving_spells",
           "support_costs"]

GRADES: tuple[int, int] = (5, 12)
"""Grades PUMPURS served from its start (5-12): the study's population."""

MIN_SCORE_VALUES = 10
"""Distinct semester-1 risk scores needed on each side of the threshold for the threshold design:
fewer (risk recorded as a few levels or types, not a numeric score) leave no running variable."""

PLACEBO_GRADES: tuple[int, int] = (1, 4)
"""Grades of the roll-out's placebo outcome: not served at the start (PUMPURS added them from the
2021/22 school year), so usable only in the years before they were served (:func:`first_served_year`)."""

SUBGROUPS: tuple[str, ...] = ("grade_band", "sex", "school_language", "area", "risk_band")
"""Columns of :attr:`DropoutData.pumpurs` that define the "for whom" subgroups."""

#: hazard-model covariates: school-year trend and the centred risk score per 10 points
TREND, SCORE, YEARS_IN = "trend", "score10", "years_in"
#: the pupil as an integer code (for grouping pupil-years; not an id of the extract, never published)
PUPIL_CODE = "pupil_code"
#: characteristics recorded before a plan, adjusted for in the hazard model (those that vary)
BASELINE_COVARIATES: tuple[str, ...] = ("special_needs", "log_absences_prev", "absences_prev_missing")


class DropoutDataError(DataError, ValueError):
    """The data set cannot support the study (missing table, unknown region, empty area)."""


@dataclass(frozen=True)
class DropoutData:
    """The study's frames for one area and period.

    ``pupil_years``: every pupil-year of the area and period (all grades) with the school's
    roll-out cohort, the semester-1 risk score ``s1``, ``offered``/``supported`` (a plan,
    taken up), measure types (``m_<type>``), subgroup columns and outcomes
    (``left_early``, ``absences``, ``repeat_next``). ``measures``: one row per plan (grades 5-12) and
    measure type with its cost. ``exams``: centralised-exam scores (ce9, ce12) of pupil-years
    with a risk score, first sittings only (not in a repeated grade).
    """

    pupil_years: pd.DataFrame
    measures: pd.DataFrame
    exams: pd.DataFrame
    threshold: float
    first_year: int
    last_year: int
    region: str | None
    measure_types: tuple[str, ...] = ()
    notes: dict[str, Any] = field(default_factory=dict)
    #: vocational students' frames (:class:`.vocational.VocationalData`), attached by
    #: :func:`.vocational.prepare` (the package's ``prepare``); never part of the study population
    vocational: Any = None

    @cached_property
    def pumpurs(self) -> pd.DataFrame:
        """Pupil-years of grades 5-12 with a semester-1 risk score (the PUMPURS population)."""
        py = self.pupil_years
        return py[py["in_pumpurs"]]

    def counts(self) -> dict[str, int]:
        """Pupils, schools and pupil-years in the frames (for the sample description)."""
        py, p = self.pupil_years, self.pumpurs
        g = py[py["grade"].between(*GRADES)]
        return {
            "schools": int(py["school_id"].nunique()),
            "municipalities": int(py["municipality_id"].nunique()),
            "pumpurs_schools": int(p["school_id"].nunique()),
            "pupils_5_12": int(g["pupil_id"].nunique()),
            "pupil_years_5_12": int(len(g)),
            "pumpurs_pupil_years": int(len(p)),
            "pumpurs_pupils": int(p["pupil_id"].nunique()),
            "offered_pupil_years": int(p["offered"].sum()),
            "supported_pupil_years": int(p["supported"].sum()),
            "supported_pupils": int(p.loc[p["supported"], "pupil_id"].nunique()),
            "events": int(p["left_early"].sum()),
        }


# ----------------------------------------------------------------------------- preparing
def prepare(ds: Any, *, region: str | None = None, first_year: int | None = None,
            last_year: int | None = None, threshold: float = 60.0) -> DropoutData:
    """Build the study's frames from a loaded data set (``evaltools.data.load_dataset``).

    Needs the tables pupils, pupil_years, schools, municipalities, pumpurs_schools and
    support_plans; risk_scores, support_measures (costs, measure types) and assessments (exam
    outcomes) are used when present. Without a numeric semester-1 score (no risk_scores table,
    or one without ``score``: an extract that records risk types only) ``s1`` is the score
    the plan records, so only offered pupil-years are analysed (took the plan up or not, at
    the same score): :func:`threshold_design_available` is then False and
    ``notes["score_source"]`` is ``"support_plans"``. ``region`` is a planning region
    (``None`` or ``"all"``: the whole country); the years default to the data's range.
    Tables keyed by pupil and year are aligned through one integer key (no merges of the
    wide pupil-year frame: a national extract has millions of rows).
    """
    for table in ("pumpurs_schools", "support_plans"):
        if table not in ds:
            raise DropoutDataError(
                f"The data set has no '{table}' table; the PUMPURS study needs it (see docs/codebook.md). "
                "Name its file under 'files' in the column mapping if it is called differently.")
    src = ds["pupil_years"]
    years_all = src["year"].to_numpy(np.int64)
    lo = int(years_all.min()) if first_year is None else int(first_year)
    hi = int(years_all.max()) if last_year is None else int(last_year)
    if lo > hi:
        raise DropoutDataError(f"first_year {lo} is after last_year {hi}.")
    mun = ds["municipalities"][["municipality_id", "region"]]
    regions = sorted(mun["region"].dropna().unique())
    reg = None if region in (None, "", "all") else str(region)
    if reg is not None and reg not in regions:
        raise DropoutDataError(f"Unknown region {region!r}; the data have {', '.join(regions)} (or 'all').")
    schools = (ds["schools"][["school_id", "municipality_id", "urban", "language"]]
               .rename(columns={"language": "school_language"})
               .merge(mun, on="municipality_id", how="left")
               .merge(ds["pumpurs_schools"][["school_id", "rollout_year"]], on="school_id", how="left"))
    schools["cohort"] = schools["rollout_year"].fillna(0).astype("int64")
    if reg is not None:
        schools = schools[schools["region"] == reg]
    schools = schools.set_index("school_id")

    # one integer key per pupil-year; next and previous year of the same pupil by sorting on it
    pcode, pupil_ids = pd.factorize(src["pupil_id"])
    key = pcode.astype(np.int64) * 10_000 + years_all
    order = np.argsort(key, kind="stable")
    k_sorted = key[order]
    nxt = np.full(len(key), -1)
    prv = np.full(len(key), -1)
    adjacent = k_sorted[1:] == k_sorted[:-1] + 1  # same pupil, next year
    nxt[order[:-1][adjacent]] = order[1:][adjacent]
    prv[order[1:][adjacent]] = order[:-1][adjacent]
    repeated = src["repeated"].to_numpy(bool)
    absences = src["absences"].to_numpy(float)
    repeat_next = np.where(nxt >= 0, repeated[np.maximum(nxt, 0)].astype(float), np.nan)
    absences_prev = np.where(prv >= 0, absences[np.maximum(prv, 0)], np.nan)

    keep = (years_all >= lo) & (years_all <= hi) & src["school_id"].isin(schools.index).to_numpy()
    if not keep.any():
        raise DropoutDataError(f"No pupil-years in region {region!r} between {lo} and {hi}.")
    rows = np.flatnonzero(keep)
    key = key[rows]
    col: dict[str, Any] = {c: src[c].to_numpy()[rows] for c in
                           ("pupil_id", "year", "school_id", "grade", "absences", "repeated", "status")}
    col["repeat_next"], col["absences_prev"] = repeat_next[rows], absences_prev[rows]
    sch = schools.reindex(col["school_id"])
    for c in ("municipality_id", "region", "urban", "school_language", "cohort"):
        col[c] = sch[c].to_numpy()
    pupils = ds["pupils"].set_index("pupil_id").reindex(pupil_ids)
    col["sex"] = pupils["sex"].to_numpy()[pcode[rows]]
    col["special_needs"] = pupils["special_needs"].astype(float).to_numpy()[pcode[rows]]
    position = pd.Index(key)

    def align(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Positions in the pupil-year frame of ``df``'s (pupil_id, year) rows (-1: none)."""
        codes = pupil_ids.get_indexer(df["pupil_id"])
        k = codes.astype(np.int64) * 10_000 + df["year"].to_numpy(np.int64)
        at = np.where(codes >= 0, position.get_indexer(k), -1)
        return at, at >= 0

    def spread(at: np.ndarray, ok: np.ndarray, values: Any, fill: Any) -> np.ndarray:
        out = np.full(len(rows), fill, dtype=np.asarray(values).dtype if fill == 0 else float)
        out[at[ok]] = np.asarray(values)[ok]
        return out

    rs = ds["risk_scores"] if "risk_scores" in ds else None
    has_score = rs is not None and "score" in rs and bool(rs["score"].notna().any())
    plans = ds["support_plans"]
    per_py = (plans.groupby(["pupil_id", "year"], as_index=False)
              .agg(taken_up=("taken_up", "max"), plan_score=("risk_score", "max")))
    if has_score:
        s1 = rs[rs["semester"] == 1].groupby(["pupil_id", "year"], as_index=False)["score"].max()
        at, ok = align(s1)
        col["s1"] = spread(at, ok, s1["score"].to_numpy(float), np.nan)
    else:  # no numeric score: the plan's own score, known for offered pupil-years only
        at, ok = align(per_py)
        col["s1"] = spread(at, ok, per_py["plan_score"].to_numpy(float), np.nan)
    # assessed by PUMPURS (a semester-1 risk assessment, or a plan): the pupil-years the study should analyse
    assessed = rs[rs["semester"] == 1] if rs is not None else per_py
    at, ok = align(assessed)
    col["assessed"] = spread(at, ok, np.ones(len(assessed), bool), False).astype(bool) | ~np.isnan(col["s1"])
    at, ok = align(per_py)
    col["offered"] = spread(at, ok, np.ones(len(per_py), bool), False).astype(bool)
    col["supported"] = spread(at, ok, per_py["taken_up"].to_numpy(bool), False).astype(bool)

    # measures and their costs, per pupil-year
    measure_types: tuple[str, ...] = ()
    if "support_measures" in ds:
        meas = ds["support_measures"].merge(plans[["plan_id", "school_id"]], on="plan_id", how="left")
        meas = meas[meas["year"].between(lo, hi) & meas["school_id"].isin(schools.index)]
        # the study population's measures only: plans of grades 1-4 (served from 2021/22) are not costs of
        # keeping pupils of grades 5-12 in school
        at, ok = align(meas)
        meas = meas[ok & np.isin(col["grade"][np.maximum(at, 0)], np.arange(GRADES[0], GRADES[1] + 1))]
        measure_types = tuple(sorted(meas["type"].unique()))
        per = meas.groupby(["pupil_id", "year"], as_index=False).agg(plan_cost=("cost_eur", "sum"))
        at, ok = align(per)
        col["plan_cost"] = spread(at, ok, per["plan_cost"].to_numpy(float), np.nan)
        col["plan_cost"] = np.nan_to_num(col["plan_cost"], nan=0.0)
        for m in measure_types:
            got = meas.loc[meas["type"] == m, ["pupil_id", "year"]].drop_duplicates()
            at, ok = align(got)
            col[f"m_{m}"] = spread(at, ok, np.ones(len(got), np.int8), 0).astype(np.int8)  # 0/1: one byte
    else:
        meas = pd.DataFrame(columns=["plan_id", "pupil_id", "year", "type", "cost_eur", "school_id"])

    # every column in one dict, then one frame that keeps the arrays as they are (copy=False: no
    # consolidation into 2-D blocks, which at national scale costs seconds and twice the memory)
    year, grade, cohort = col["year"].astype(np.int64), col["grade"], col["cohort"]
    in_grades = (grade >= GRADES[0]) & (grade <= GRADES[1])
    started = (cohort > 0) & (year >= cohort)
    s1 = col["s1"]
    col.update({
        "left_early": (col["status"] == "left_early").astype(np.int64),
        "in_pumpurs": ~np.isnan(s1) & in_grades,
        YEARS_IN: np.where(started, year - cohort, 0).astype(np.int64),
        TREND: (year - lo).astype(np.int64),
        SCORE: (s1 - threshold) / 10.0,
        # labels as references to two strings (an object column, not millions of copies)
        "grade_band": np.array(["5-9", "10-12"], dtype=object)[(grade > 9).astype(np.int8)],
        "area": np.array(["rural", "urban"], dtype=object)[col["urban"].astype(bool).astype(np.int8)],
        "log_absences_prev": np.nan_to_num(np.log1p(col["absences_prev"]), nan=0.0),
        "absences_prev_missing": np.isnan(col["absences_prev"]).astype(float),
    })
    band = np.clip(np.floor(col[SCORE]), -1, 2)
    labels = {-1.0: "below", 0.0: f"{threshold:g}-{threshold + 10:g}",
              1.0: f"{threshold + 10:g}-{threshold + 20:g}", 2.0: f"{threshold + 20:g}+"}
    col["risk_band"] = pd.Series(band).map(labels).to_numpy()
    # the pupil as an integer (its position among the data's pupils): the models group pupil-years by
    # pupil many times, and integers sort and hash far faster than text ids (never published)
    col[PUPIL_CODE] = pcode[rows].astype(np.int64)
    py = pd.DataFrame(col, copy=False)

    exams = pd.DataFrame(columns=["pupil_id", "year", "test", "subject", "score"])
    ce9_math = np.full(len(py), np.nan)  # the year's grade-9 mathematics exam result (repeating grade 9 follows it)
    if "assessments" in ds:
        a = ds["assessments"]
        a = a[a["test"].isin(["ce9", "ce12"]) & a["year"].between(lo, hi)]
        at, ok = align(a)
        m9 = ok & (a["test"] == "ce9").to_numpy() & (a["subject"] == "math").to_numpy()
        ce9_math[at[m9]] = a["score"].to_numpy(float)[m9]
        # first sittings only: a pupil repeating the grade retakes its exam, and support in earlier years
        # (which makes repeating rarer) changes who retakes, so retakes would not compare like with like
        first = py["in_pumpurs"].to_numpy() & ~py["repeated"].to_numpy(bool)
        ok &= np.where(ok, first[np.maximum(at, 0)], False)
        exams = a.loc[ok, ["pupil_id", "year", "test", "subject", "score"]].reset_index(drop=True)
        for c in ("school_id", "municipality_id", "s1", SCORE, "supported", "offered", "special_needs"):
            exams[c] = py[c].to_numpy()[at[ok]]
    py["ce9_math"] = ce9_math
    scored = py.loc[py["in_pumpurs"], "year"]
    all_scored = rs["year"] if rs is not None else plans["year"]
    pumpurs_s1 = col["s1"][py["in_pumpurs"].to_numpy()]
    notes = {"plans_below_threshold": int((per_py["plan_score"] < threshold).sum()),
             # distinct semester-1 scores below and at/above the threshold (the threshold design's running variable)
             "score_values": (int(len(np.unique(pumpurs_s1[pumpurs_s1 < threshold]))),
                              int(len(np.unique(pumpurs_s1[pumpurs_s1 >= threshold])))),
             "whole_period": lo <= int(years_all.min()) and hi >= int(years_all.max()),
             # the period holds every year with risk scores: all of the programme's pupil-years
             "covers_programme": bool(len(all_scored)) and lo <= int(all_scored.min()) and hi >= int(all_scored.max()),
             "last_score_year": int(scored.max()) if len(scored) else None,
             # where s1 comes from: the risk assessment, or (no numeric score) the plans (offered pupils only)
             "score_source": "risk_scores" if has_score else "support_plans"}
    return DropoutData(pupil_years=py, measures=meas.reset_index(drop=True), exams=exams,
                       threshold=float(threshold), first_year=lo, last_year=hi, region=reg,
                       measure_types=measure_types, notes=notes)


def threshold_design_available(data: DropoutData) -> bool:
    """Is the threshold design (fuzzy RD at the risk-score threshold) offered on these data?

    Only when the extract records a numeric risk score: at least :data:`MIN_SCORE_VALUES`
    distinct semester-1 scores on each side of the threshold. The real PUMPURS database may
    record risk by type only (learning, economic, family, social/health) or as a few levels;
    then there is no running variable, and the study's fallback is the staggered roll-out of
    schools (Callaway-Sant'Anna), which needs no score (docs/dropout_prevention.md).
    """
    below, above = data.notes.get("score_values", (0, 0))
    return below >= MIN_SCORE_VALUES and above >= MIN_SCORE_VALUES


def school_panel(data: DropoutData, outcome: str = "left_early", grades: tuple[int, int] = GRADES,
                 last_year: int | None = None) -> pd.DataFrame:
    """School-year means of ``outcome`` over pupils in ``grades``, with the roll-out cohort.

    Columns: school_id, year, value, pupils, municipality_id, cohort (0 = never in PUMPURS
    within the data), treated (the school is in PUMPURS that year) and weight (the school's
    mean pupils a year, constant within school: pupil-weighted school estimates).
    ``last_year``: leave out later school years (None: every year of the frames).
    """
    py = data.pupil_years
    keep = py["grade"].between(*grades)
    if last_year is not None:
        keep &= py["year"] <= last_year
    rows = py[keep]
    panel = (rows.groupby(["school_id", "year"], as_index=False)
             .agg(value=(outcome, "mean"), pupils=(outcome, "size")))
    info = py.drop_duplicates("school_id").set_index("school_id")[["municipality_id", "cohort"]]
    panel = panel.join(info, on="school_id")
    panel["treated"] = ((panel["cohort"] > 0) & (panel["year"] >= panel["cohort"])).astype(float)
    panel["weight"] = panel.groupby("school_id")["pupils"].transform("mean")
    return panel


def served_grades(data: DropoutData) -> pd.DataFrame:
    """The grades PUMPURS served each school year, as the data record them: the support plans
    joined to the pupil-years by pupil and year (:func:`prepare`'s ``offered``), counted by year
    and grade. Columns: year, grade, plans (pupil-years with a plan); grades without a plan that
    year are absent."""
    py = data.pupil_years
    served = py.loc[py["offered"].to_numpy(bool), ["year", "grade"]]
    return (served.groupby(["year", "grade"]).size().rename("plans").reset_index()
            .astype({"year": "int64", "grade": "int64", "plans": "int64"}))


def first_served_year(data: DropoutData, grades: tuple[int, int] = PLACEBO_GRADES) -> int | None:
    """The first school year with a support plan for a pupil in ``grades`` (None: never in the
    frames). PUMPURS added grades 1-4 from 2021/22; the data say when, not a constant."""
    served = served_grades(data)
    hit = served[served["grade"].between(*grades)]
    return int(hit["year"].min()) if len(hit) else None


def placebo_panel(data: DropoutData, outcome: str = "absences",
                  grades: tuple[int, int] = PLACEBO_GRADES) -> tuple[pd.DataFrame, int | None]:
    """The roll-out's placebo panel: :func:`school_panel` of ``outcome`` in ``grades`` (1-4),
    only for the school years before those grades were served (:func:`first_served_year`), when
    the programme could not change them. Returns the panel and its last year (None: the grades
    were never served in the frames, so every year is kept)."""
    first = first_served_year(data, grades)
    last = None if first is None else first - 1
    return school_panel(data, outcome=outcome, grades=grades, last_year=last), last


def attrition(data: DropoutData) -> dict[str, float]:
    """Pupil-years PUMPURS should have scored (grades 5-12 of a school from its roll-out to the
    last year with risk scores) and the share of them the analysis lacks (no semester-1
    risk assessment): the overall attrition of the risk-adjusted comparison, in percent. Without
    a numeric risk score (``notes["score_source"] == "support_plans"``) that comparison is of the
    offered pupil-years by design, so only they are eligible."""
    py = data.pupil_years
    last = data.notes.get("last_score_year")
    if last is None:
        return {"eligible": 0, "analysed": 0, "pct": float("nan")}
    eligible = (py["grade"].between(*GRADES) & (py["cohort"] > 0) & (py["year"] >= py["cohort"])
                & (py["year"] <= last))
    if data.notes.get("score_source") == "support_plans":
        eligible &= py["offered"]
    n_e, n_a = int(eligible.sum()), int((eligible & py["assessed"]).sum())
    return {"eligible": n_e, "analysed": n_a, "pct": 100.0 * (1 - n_a / n_e) if n_e else float("nan")}


def sample_flow_counts(data: DropoutData) -> dict[str, int]:
    """The units of the risk-adjusted comparison at each step, in pupil-years (counted once,
    here; the report draws them): ``eligible`` (grades 5-12 of a PUMPURS school from its roll-out
    to the last year with risk scores, :func:`attrition`), ``scored`` (with a semester-1 risk
    score: the analysed pupil-years), ``offered`` (a plan offered: score at the threshold or
    above) and ``supported`` (the plan taken up). Every later step is part of the one before."""
    a = attrition(data)
    p = data.pumpurs
    last = data.notes.get("last_score_year")
    scored = p if last is None else p[p["year"] <= last]
    offered = scored["offered"].astype(bool)
    return {"eligible": int(a["eligible"]), "scored": int(a["analysed"]), "offered": int(offered.sum()),
            "supported": int((offered & scored["supported"].astype(bool)).sum())}


def leaving_spells(data: DropoutData) -> pd.DataFrame:
    """One row per pupil with PUMPURS pupil-years: grades at risk and whether they left early.

    ``entry`` = first grade observed - 1 and ``grade`` = last grade observed (left
    truncation: a pupil is at risk in grades entry < g <= grade); ``left_early`` 0/1;
    ``group``: ``supported`` (a plan taken up in any year), ``offered`` (offered, never
    taken up) or ``below`` (never offered).
    """
    p = data.pumpurs
    g = p.groupby("pupil_id").agg(first=("grade", "min"), grade=("grade", "max"), left_early=("left_early", "max"),
                                  supported=("supported", "max"), offered=("offered", "max"))
    g["entry"] = g["first"] - 1
    g["group"] = np.where(g["supported"], "supported", np.where(g["offered"], "offered", "below"))
    return g.reset_index()[["pupil_id", "entry", "grade", "left_early", "group"]]


# --------------------------------------------------------------------------------- cost
def support_costs(data: DropoutData) -> dict[str, Any]:
    """Total cost of the measures delivered in the area and period to pupils of grades 5-12 (the
    study population, :data:`GRADES`), by measure type (with the pupils who received each), and the
    supported pupils and pupil-years it served."""
    m = data.measures
    p = data.pumpurs
    by_type = m.groupby("type")["cost_eur"].sum().sort_values(ascending=False) if len(m) else pd.Series(dtype=float)
    pupils = m.groupby("type")["pupil_id"].nunique() if len(m) else pd.Series(dtype="int64")
    return {"total": float(m["cost_eur"].sum()) if len(m) else 0.0, "by_type": by_type,
            "pupils_by_type": pupils.astype("int64"),
            "supported_pupils": int(p.loc[p["supported"], "pupil_id"].nunique()),
            "supported_pupil_years": int(p["supported"].sum())}
