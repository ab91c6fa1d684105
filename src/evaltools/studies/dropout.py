"""PUMPURS dropout prevention: the frames and derived estimates of the study.

The study notebook ``notebooks/dropout_prevention.ipynb`` asks whether the PUMPURS
support plans (ESF 8.3.4.0/16/I/001) kept pupils of grades 5-12 in school. This module
prepares what it analyses from a loaded data set (:func:`prepare`) and computes the
study-specific quantities built on the package's estimators:

* **support on supported pupils** (selection on the recorded risk score): a discrete-time
  logit hazard (:func:`support_hazard`, :func:`evaltools.estimate.discrete_time_hazard`)
  turned into a probability-scale ATT with a delta-method CI (:func:`probability_effect`)
  and the WWC Cox index (:func:`cox_index_from_hazard`); by subgroup
  (:func:`subgroup_effects`) and by measure type (:func:`measure_effects`);
* **the naive comparison** of supported and unsupported pupils (:func:`naive_difference`);
* **the school roll-out**: school-year panels (:func:`school_panel`), the weights two-way
  fixed effects puts on each treated school-year (:func:`twfe_weights`) and
  leave-one-municipality-out estimates (:func:`leave_one_out`);
* **the risk-score threshold**: bandwidth sensitivity, placebo cut-offs and covariate
  continuity around it (:func:`rd_checks`);
* **other outcomes** (absences, grade repetition, exam results: :func:`other_outcomes`),
  pupils' spells for survival curves (:func:`leaving_spells`), costs (:func:`support_costs`);
* **the truth check** on synthetic data (:func:`truth_comparison`).

Identification, in one paragraph: a plan is offered when the semester-1 risk score
reaches the threshold, and taken up or not by the family. Given the score, whether a
pupil is supported then depends on the offer rule and on take-up only; if take-up is
unrelated to the pupil's dropout risk given the score (checked by balance among offered
pupils), comparing supported and unsupported pupils *with the same score* identifies
the effect on the supported. The threshold gives a second, local design (fuzzy RD), the
staggered roll-out of schools a third (an intention-to-treat effect of the programme).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.estimate.result import Estimate

__all__ = [
    "DropoutData", "prepare", "school_panel", "naive_difference", "support_hazard",
    "probability_effect", "cox_index_from_hazard", "subgroup_effects", "measure_effects",
    "twfe_weights", "leave_one_out", "rd_checks", "other_outcomes", "leaving_spells",
    "support_costs", "truth_comparison", "effect_truth", "scaled", "attrition", "fit_rollout",
    "GRADES", "SUBGROUPS",
]

GRADES: tuple[int, int] = (5, 12)
"""Grades PUMPURS served (5-12)."""

SUBGROUPS: tuple[str, ...] = ("grade_band", "sex", "school_language", "area", "risk_band")
"""Columns of :attr:`DropoutData.pumpurs` that define the "for whom" subgroups."""

#: hazard-model covariates: school-year trend and the centred risk score per 10 points
TREND, SCORE, YEARS_IN = "trend", "score10", "years_in"
#: characteristics recorded before a plan, adjusted for in the hazard model (those that vary)
BASELINE_COVARIATES: tuple[str, ...] = ("special_needs", "log_absences_prev", "absences_prev_missing")


class DropoutDataError(ValueError):
    """The data set cannot support the study (missing table, unknown region, empty area)."""


@dataclass(frozen=True)
class DropoutData:
    """The study's frames for one area and period.

    ``pupil_years``: every pupil-year of the area and period (all grades) with the school's
    roll-out cohort, the semester-1 risk score ``s1``, ``offered``/``supported`` (a plan,
    taken up), measure types (``m_<type>``), subgroup columns and outcomes
    (``left_early``, ``absences``, ``repeat_next``). ``measures``: one row per plan and
    measure type with its cost. ``exams``: centralised-exam scores (ce9, ce12) of pupil-years
    with a risk score.
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

    Needs the tables pupils, pupil_years, schools, municipalities, pumpurs_schools,
    risk_scores and support_plans; support_measures (costs, measure types) and
    assessments (exam outcomes) are used when present. ``region`` is a planning region
    (``None`` or ``"all"``: the whole country); the years default to the data's range.
    Tables keyed by pupil and year are aligned through one integer key (no merges of the
    wide pupil-year frame: a national extract has millions of rows).
    """
    for table in ("pumpurs_schools", "risk_scores", "support_plans"):
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

    rs = ds["risk_scores"]
    s1 = rs[rs["semester"] == 1].groupby(["pupil_id", "year"], as_index=False)["score"].max()
    at, ok = align(s1)
    col["s1"] = spread(at, ok, s1["score"].to_numpy(float), np.nan)
    plans = ds["support_plans"]
    per_py = (plans.groupby(["pupil_id", "year"], as_index=False)
              .agg(taken_up=("taken_up", "max"), plan_score=("risk_score", "max")))
    at, ok = align(per_py)
    col["offered"] = spread(at, ok, np.ones(len(per_py), bool), False).astype(bool)
    col["supported"] = spread(at, ok, per_py["taken_up"].to_numpy(bool), False).astype(bool)

    # measures and their costs, per pupil-year
    measure_types: tuple[str, ...] = ()
    if "support_measures" in ds:
        meas = ds["support_measures"].merge(plans[["plan_id", "school_id"]], on="plan_id", how="left")
        meas = meas[meas["year"].between(lo, hi) & meas["school_id"].isin(schools.index)]
        measure_types = tuple(sorted(meas["type"].unique()))
        per = meas.groupby(["pupil_id", "year"], as_index=False).agg(plan_cost=("cost_eur", "sum"))
        at, ok = align(per)
        col["plan_cost"] = spread(at, ok, per["plan_cost"].to_numpy(float), np.nan)
        col["plan_cost"] = np.nan_to_num(col["plan_cost"], nan=0.0)
        for m in measure_types:
            got = meas.loc[meas["type"] == m, ["pupil_id", "year"]].drop_duplicates()
            at, ok = align(got)
            col[f"m_{m}"] = spread(at, ok, np.ones(len(got), np.int64), 0).astype(np.int64)
    else:
        meas = pd.DataFrame(columns=["plan_id", "pupil_id", "year", "type", "cost_eur", "school_id"])

    py = pd.DataFrame(col)
    year, grade, cohort = py["year"].to_numpy(), py["grade"].to_numpy(), py["cohort"].to_numpy()
    in_grades = (grade >= GRADES[0]) & (grade <= GRADES[1])
    started = (cohort > 0) & (year >= cohort)
    extra = {
        "left_early": (py["status"] == "left_early").to_numpy(np.int64),
        "in_pumpurs": ~np.isnan(py["s1"].to_numpy()) & in_grades,
        YEARS_IN: np.where(started, year - cohort, 0).astype(np.int64),
        TREND: (year - lo).astype(np.int64),
        SCORE: (py["s1"].to_numpy() - threshold) / 10.0,
        "grade_band": np.where(grade <= 9, "5-9", "10-12"),
        "area": np.where(py["urban"].to_numpy(bool), "urban", "rural"),
        "log_absences_prev": np.nan_to_num(np.log1p(py["absences_prev"].to_numpy()), nan=0.0),
        "absences_prev_missing": np.isnan(py["absences_prev"].to_numpy()).astype(float),
    }
    band = np.clip(np.floor(extra[SCORE]), -1, 2)
    labels = {-1.0: "below", 0.0: f"{threshold:g}-{threshold + 10:g}",
              1.0: f"{threshold + 10:g}-{threshold + 20:g}", 2.0: f"{threshold + 20:g}+"}
    extra["risk_band"] = pd.Series(band).map(labels).to_numpy()
    py = pd.concat([py, pd.DataFrame(extra)], axis=1)

    exams = pd.DataFrame(columns=["pupil_id", "year", "test", "subject", "score"])
    if "assessments" in ds:
        a = ds["assessments"]
        a = a[a["test"].isin(["ce9", "ce12"]) & a["year"].between(lo, hi)]
        at, ok = align(a)
        ok &= np.where(ok, py["in_pumpurs"].to_numpy()[np.maximum(at, 0)], False)
        exams = a.loc[ok, ["pupil_id", "year", "test", "subject", "score"]].reset_index(drop=True)
        for c in ("school_id", "municipality_id", "s1", SCORE, "supported", "offered", "special_needs"):
            exams[c] = py[c].to_numpy()[at[ok]]
    scored = py.loc[py["in_pumpurs"], "year"]
    all_scored = rs["year"]
    notes = {"plans_below_threshold": int((per_py["plan_score"] < threshold).sum()),
             "whole_period": lo <= int(years_all.min()) and hi >= int(years_all.max()),
             # the period holds every year with risk scores: all of the programme's pupil-years
             "covers_programme": bool(len(all_scored)) and lo <= int(all_scored.min()) and hi >= int(all_scored.max()),
             "last_score_year": int(scored.max()) if len(scored) else None}
    return DropoutData(pupil_years=py, measures=meas.reset_index(drop=True), exams=exams,
                       threshold=float(threshold), first_year=lo, last_year=hi, region=reg,
                       measure_types=measure_types, notes=notes)


def school_panel(data: DropoutData, outcome: str = "left_early", grades: tuple[int, int] = GRADES) -> pd.DataFrame:
    """School-year means of ``outcome`` over pupils in ``grades``, with the roll-out cohort.

    Columns: school_id, year, value, pupils, municipality_id, cohort (0 = never in PUMPURS
    within the data), treated (the school is in PUMPURS that year) and weight (the school's
    mean pupils a year, constant within school: pupil-weighted school estimates).
    """
    py = data.pupil_years
    rows = py[py["grade"].between(*grades)]
    panel = (rows.groupby(["school_id", "year"], as_index=False)
             .agg(value=(outcome, "mean"), pupils=(outcome, "size")))
    info = py.drop_duplicates("school_id").set_index("school_id")[["municipality_id", "cohort"]]
    panel = panel.join(info, on="school_id")
    panel["treated"] = ((panel["cohort"] > 0) & (panel["year"] >= panel["cohort"])).astype(float)
    panel["weight"] = panel.groupby("school_id")["pupils"].transform("mean")
    return panel


def scaled(est: Estimate, factor: float = 100.0, label: str | None = None) -> Estimate:
    """``est`` times ``factor`` (e.g. a probability as percentage points), relabelled."""
    from dataclasses import replace

    return replace(est, estimand=label or est.estimand, estimate=est.estimate * factor, se=est.se * abs(factor),
                   ci_low=min(est.ci_low * factor, est.ci_high * factor),
                   ci_high=max(est.ci_low * factor, est.ci_high * factor))


def attrition(data: DropoutData) -> dict[str, float]:
    """Pupil-years PUMPURS should have scored (grades 5-12 of a school from its roll-out to the
    last year with risk scores) and the share of them the analysis lacks (no semester-1
    score): the overall attrition of the risk-adjusted comparison, in percent."""
    py = data.pupil_years
    last = data.notes.get("last_score_year")
    if last is None:
        return {"eligible": 0, "analysed": 0, "pct": float("nan")}
    eligible = (py["grade"].between(*GRADES) & (py["cohort"] > 0) & (py["year"] >= py["cohort"])
                & (py["year"] <= last))
    n_e, n_a = int(eligible.sum()), int((eligible & py["in_pumpurs"]).sum())
    return {"eligible": n_e, "analysed": n_a, "pct": 100.0 * (1 - n_a / n_e) if n_e else float("nan")}


def fit_rollout(panel: pd.DataFrame, control_group: str = "never", **options: Any) -> tuple[Any, str | None]:
    """``att_gt`` of the school panel (outcome ``value``, pupil-weighted, clustered by
    municipality) with ``control_group``; when that comparison group cannot be formed
    (e.g. a region with one never-treated school) it falls back to the other one.

    Returns the result (None if neither works) and the control group used (or None).
    """
    from evaltools.estimate import att_gt

    base = dict(outcome="value", unit="school_id", time="year", cohort="cohort", weights="weight",
                cluster="municipality_id")
    base.update(options)
    for cg in (control_group, "notyet" if control_group == "never" else "never"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = att_gt(panel, control_group=cg, **base)
                res.aggregate("simple")
            return res, cg
        except (ValueError, KeyError):
            continue
    return None, None


# ------------------------------------------------------------------- supported vs not
def _ols_cluster(y: np.ndarray, X: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """OLS with the CR1 cluster-robust covariance (statsmodels' defaults); returns b, V, G."""
    import statsmodels.api as sm

    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]})
    return np.asarray(fit.params), np.asarray(fit.cov_params()), int(len(np.unique(groups)))


def naive_difference(data: DropoutData, outcome: str = "left_early") -> Estimate:
    """Supported minus unsupported PUMPURS pupil-years: the difference in the share who
    left school early that year, nothing adjusted (SE clustered by school, t(G-1) CI)."""
    p = data.pumpurs
    y = p[outcome].to_numpy(float)
    d = p["supported"].to_numpy(float)
    b, V, G = _ols_cluster(y, np.column_stack([np.ones_like(d), d]), p["school_id"].to_numpy())
    return Estimate.from_normal(
        "naive difference, supported - unsupported", float(b[1]), math.sqrt(V[1, 1]), df=G - 1,
        n={"units": int(p.loc[p["supported"], "pupil_id"].nunique()), "pupil_years": int(len(p)),
           "clusters": G},
        method="difference in means (linear probability model), CR1 SE clustered by school",
        diagnostics={"rate_supported": float(y[d == 1].mean()) if (d == 1).any() else float("nan"),
                     "rate_unsupported": float(y[d == 0].mean()) if (d == 0).any() else float("nan")})


def support_hazard(data: DropoutData, spec: str = "linear", *, rows: pd.DataFrame | None = None,
                   extra_covariates: Sequence[str] = (), extra_interactions: Sequence[str] = (),
                   cluster: str = "school_id", link: str = "logit") -> tuple[Any, pd.DataFrame]:
    """Discrete-time hazard of leaving early on PUMPURS pupil-years (periods = grades).

    Returns the :class:`~evaltools.estimate.HazardResult` and the rows it was fitted on
    (with the treatment as ``supported_f`` and any added columns), for
    :func:`probability_effect`.

    ``logit h = a_grade + b trend + c score10 + x'g + D (tau + d score10 + e years_in)`` with
    ``score10 = (s1 - threshold) / 10``: ``tau`` is the log odds ratio of support at the
    threshold in a school's first PUMPURS year. ``x``: the characteristics recorded before
    the plan that the balance check looks at (special needs, log of last year's absences
    and, if some pupils have no last year, an indicator for that), so the model adjusts
    for any imbalance in them. ``spec="bins"`` replaces the linear score by 5-point score
    bins (robustness to its functional form), ``"quadratic"`` adds score10 squared. SEs
    are clustered by school.
    """
    from evaltools.estimate import discrete_time_hazard

    frame = data.pumpurs if rows is None else rows
    covs = [TREND, SCORE]
    if spec == "bins":
        # 5-point bins; the sparse tails (score below threshold - 30 or above + 40) pooled
        bins = np.floor(frame[SCORE] * 2).clip(-6, 8).astype("int64")
        dummies = pd.get_dummies(bins, prefix="bin", dtype="float64")
        dummies = dummies.drop(columns=dummies.columns[0])
        frame = pd.concat([frame, dummies], axis=1)
        covs = [TREND, *dummies.columns]
    elif spec == "quadratic":
        frame = frame.assign(score10_sq=frame[SCORE] ** 2)
        covs = [TREND, SCORE, "score10_sq"]
    elif spec != "linear":
        raise ValueError(f"spec must be 'linear', 'bins' or 'quadratic', got {spec!r}.")
    frame = frame.assign(supported_f=frame["supported"].astype("float64"))
    baseline = [c for c in BASELINE_COVARIATES if frame[c].nunique() > 1]
    return discrete_time_hazard(frame, "left_early", "grade", "pupil_id",
                                covariates=[*covs, *baseline, *extra_covariates], treatment="supported_f",
                                interactions=[SCORE, YEARS_IN, *extra_interactions], cluster=cluster,
                                link=link), frame


def _design(result: Any, frame: pd.DataFrame, d: float) -> np.ndarray:
    """The model matrix of a fitted hazard for ``frame`` with the treatment set to ``d``."""
    treatment = result.names["treatment"]
    period = result.names["period"]
    values = frame[period]
    shown = (values.astype(str) if pd.api.types.is_integer_dtype(values)  # repr of an int is its str
             else values.map(lambda v: repr(v.item() if isinstance(v, np.generic) else v)))
    cols = []
    for name in result.params.index:
        if name.startswith("period[") and name.endswith("]"):
            cols.append((shown == name[7:-1]).to_numpy(float))
        elif name == treatment:
            cols.append(np.full(len(frame), d))
        elif name.startswith(treatment + ":"):
            cols.append(d * frame[name.split(":", 1)[1]].to_numpy(float))
        else:
            cols.append(frame[name].to_numpy(float))
    return np.column_stack(cols)


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _probabilities(result: Any, rows: pd.DataFrame) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Mean predicted hazard with and without treatment over ``rows``, and their gradients."""
    if result.link != "logit":
        raise ValueError("probability effects are implemented for the logit link.")
    theta = result.params.to_numpy()
    X1, X0 = _design(result, rows, 1.0), _design(result, rows, 0.0)
    h1, h0 = _expit(X1 @ theta), _expit(X0 @ theta)
    g1 = (X1 * (h1 * (1 - h1))[:, None]).mean(axis=0)
    g0 = (X0 * (h0 * (1 - h0))[:, None]).mean(axis=0)
    return float(h1.mean()), float(h0.mean()), g1, g0


def probability_effect(result: Any, rows: pd.DataFrame, label: str = "ATT (probability)",
                       level: float = 0.95) -> Estimate:
    """Mean of h(D=1) - h(D=0) over ``rows`` (e.g. the supported pupil-years): the effect
    on the annual probability of leaving early, with a delta-method CI from the
    cluster-robust covariance (covariates held at their observed values)."""
    if len(rows) == 0:
        raise ValueError("probability_effect(): no rows to average over.")
    p1, p0, g1, g0 = _probabilities(result, rows)
    g = g1 - g0
    se = math.sqrt(max(float(g @ result.cov.to_numpy() @ g), 0.0))
    return Estimate.from_normal(
        label, p1 - p0, se, level=level,
        n={"units": int(rows["pupil_id"].nunique()), "pupil_years": int(len(rows)),
           "clusters": int(result.n["clusters"])},
        method="discrete-time logit hazard, mean predicted difference, delta method (cluster-robust)",
        diagnostics={"p_treated": p1, "p_untreated": p0})


def cox_index_from_hazard(result: Any, rows: pd.DataFrame, n_comparison: int, level: float = 0.95) -> Any:
    """WWC Cox index d = omega (logit p1 - logit p0) / 1.65 of the supported pupil-years'
    mean predicted hazard with (p1) and without (p0) support; delta-method SE from the
    cluster-robust covariance, omega = 1 - 3 / (4N - 9) with N = supported + comparison."""
    from evaltools.standards import EffectSize
    from evaltools.standards.effect_size import COX_DIVISOR

    p1, p0, g1, g0 = _probabilities(result, rows)
    n_t = int(len(rows))
    omega = 1 - 3 / (4 * (n_t + int(n_comparison)) - 9)
    value = omega * (math.log(p1 / (1 - p1)) - math.log(p0 / (1 - p0))) / COX_DIVISOR
    grad = omega / COX_DIVISOR * (g1 / (p1 * (1 - p1)) - g0 / (p0 * (1 - p0)))
    se = math.sqrt(max(float(grad @ result.cov.to_numpy() @ grad), 0.0))
    z = float(stats.norm.ppf(0.5 + level / 2))
    return EffectSize(value=value, se=se, ci_low=value - z * se, ci_high=value + z * se, measure="Cox index",
                      method="omega (logit p1 - logit p0) / 1.65 from the hazard model's predictions, "
                             "delta-method SE (cluster-robust)", level=level,
                      inputs={"p_t": p1, "p_c": p0, "n_t": n_t, "n_c": int(n_comparison)},
                      details={"omega": omega})


def _dummies(frame: pd.DataFrame, column: str, levels: Sequence[Any], prefix: str) -> pd.DataFrame:
    return pd.DataFrame({f"{prefix}{i}": (frame[column] == lev).to_numpy(float) for i, lev in enumerate(levels)},
                        index=frame.index)


def subgroup_effects(data: DropoutData, by: str, *, min_rows: int = 10) -> dict[str, Estimate]:
    """The effect of support on supported pupils' annual leaving probability in each group of ``by``.

    One hazard model with the group's main effects and support x group interactions (plus
    the score and years-in-programme interactions); each group's effect is its supported
    pupil-years' mean predicted difference (:func:`probability_effect`). Groups with fewer
    than ``min_rows`` supported pupil-years, or without an event among supported or
    unsupported pupil-years, are left out (their effect is not estimable).
    """
    p = data.pumpurs
    p = p[p[by].notna()]
    if by == "risk_band":  # the support effect by risk level: among pupils at or above the threshold
        p = p[p[by] != "below"]
    levels = []
    for lev, g in p.groupby(by, sort=True):
        sup = g["supported"]
        if (sup.sum() >= min_rows and g.loc[sup, "left_early"].sum() > 0
                and g.loc[~sup, "left_early"].sum() > 0 and (~sup).sum() >= min_rows):
            levels.append(lev)
    if len(levels) < 2:
        return {}
    p = p[p[by].isin(levels)]
    dummies = _dummies(p, by, levels, "grp")
    rows = pd.concat([p, dummies], axis=1)
    names = list(dummies.columns)
    # a group that is a set of grades is already in the baseline (one hazard per grade)
    mains = [] if by == "grade_band" else names[1:]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res, frame = support_hazard(data, rows=rows, extra_covariates=mains, extra_interactions=names[1:])
    except ValueError:
        return {}
    out = {}
    for lev in levels:
        sel = frame[(frame[by] == lev) & frame["supported"]]
        out[str(lev)] = probability_effect(res, sel, label=f"ATT ({by} = {lev})")
    return out


def measure_effects(data: DropoutData, min_rows: int = 10) -> pd.DataFrame:
    """For each measure type: supported pupil-years that received it, the effect of support
    among them (probability scale) and the difference in log odds from supported pupils of
    the same risk who did not receive it (``diff``, ``diff_se``, ``pvalue``; one model per
    type), with Benjamini-Hochberg adjusted p-values across types. Types received by fewer
    than ``min_rows`` supported pupil-years (or by all of them) are left out."""
    from evaltools.inference import benjamini_hochberg

    p = data.pumpurs
    sup = p["supported"]
    rows = []
    for m in data.measure_types:
        col = f"m_{m}"
        if col not in p:
            continue
        n_m = int(p.loc[sup, col].sum())
        if n_m < min_rows or n_m > int(sup.sum()) - min_rows:
            continue
        try:
            res, frame = support_hazard(data, extra_interactions=[col])
        except ValueError:
            continue
        r = res.table.loc[f"supported_f:{col}"]
        eff = probability_effect(res, frame[frame["supported"] & (frame[col] == 1)], label=m)
        rows.append({"measure": m, "pupil_years": n_m, "pupils": int(p.loc[sup & (p[col] == 1), "pupil_id"].nunique()),
                     "effect": eff.estimate, "effect_low": eff.ci_low, "effect_high": eff.ci_high,
                     "diff": float(r["coef"]), "diff_se": float(r["se"]), "pvalue": float(r["pvalue"])})
    out = pd.DataFrame(rows, columns=["measure", "pupil_years", "pupils", "effect", "effect_low", "effect_high",
                                      "diff", "diff_se", "pvalue"]).set_index("measure")
    if len(out):
        out["p_bh"] = benjamini_hochberg(out["pvalue"]).adjusted.to_numpy()
    else:
        out["p_bh"] = pd.Series(dtype=float)
    return out


# --------------------------------------------------------------------------- roll-out
def twfe_weights(panel: pd.DataFrame, unit: str = "school_id", time: str = "year",
                 treatment: str = "treated") -> pd.DataFrame:
    """The weights static two-way fixed effects puts on each treated unit-period's effect.

    The TWFE coefficient is ``sum_it w_it ATT_it`` over treated cells with
    ``w_it = e_it / sum_{D=1} e_it``, ``e`` the residual of the treatment on unit and
    period effects (de Chaisemartin & D'Haultfoeuille 2020, AER 110(9), Theorem 1). Cells
    of early cohorts in late periods get small or negative weights: TWFE then compares
    later changes of already-treated units with newly treated ones. Returns the treated
    cells with cohort, event time and weight.
    """
    from evaltools.estimate.fixed_effects import FixedEffects

    fe = FixedEffects.from_data(panel, [unit, time])
    resid = fe.demean(panel[treatment].to_numpy(float))
    treated = panel[treatment].to_numpy(float) == 1
    w = resid[treated] / resid[treated].sum()
    out = panel.loc[treated, [unit, time, "cohort"]].copy()
    out["event_time"] = out[time] - out["cohort"]
    out["weight"] = w
    return out.reset_index(drop=True)


def leave_one_out(panel: pd.DataFrame, by: str = "municipality_id", **att_gt_options: Any) -> pd.DataFrame:
    """The simple ATT of ``att_gt`` on ``panel`` leaving out one group of ``by`` at a time.

    ``att_gt_options`` go to :func:`evaltools.estimate.att_gt` (outcome, unit, time,
    cohort, control_group, ...). A group whose removal leaves no estimable comparison is
    reported with NaN.
    """
    from evaltools.estimate import att_gt

    rows = []
    for g in sorted(panel[by].unique()):
        sub = panel[panel[by] != g]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = att_gt(sub, **att_gt_options).aggregate("simple").overall
            rows.append({by: g, "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high})
        except (ValueError, KeyError):
            rows.append({by: g, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------- threshold
def rd_checks(data: DropoutData, main: Any, *, factors: Sequence[float] = (0.5, 0.75, 1.0, 1.5, 2.0),
              placebo_offsets: Sequence[float] = (-10.0, 10.0),
              covariates: Sequence[str] = ("absences_prev", "special_needs"),
              cluster: str = "school_id") -> dict[str, pd.DataFrame]:
    """Diagnostics of the fuzzy RD ``main`` (an :class:`evaltools.estimate.RDResult`).

    ``bandwidth``: the LATE at multiples of the chosen bandwidth (and with a local
    quadratic); ``placebo``: sharp RD of leaving at cut-offs where nothing changes
    (threshold + offsets, each side's data only, so the true cut-off is not inside);
    ``covariates``: sharp RD of pre-determined characteristics at the threshold (should be
    no jump).
    """
    from evaltools.estimate import rd

    p = data.pumpurs.assign(supported_f=lambda f: f["supported"].astype(float))
    c = data.threshold
    h = float(main.bandwidths.loc["h", "left"])

    def row(label: str, res: Any) -> dict[str, Any]:
        e = res.estimate
        return {"spec": label, "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                "pvalue": e.pvalue, "h": float(res.bandwidths.loc["h", "left"]),
                "n_effective": int(res.n["effective_left"] + res.n["effective_right"])}

    def safe(label: str, fn: Any) -> dict[str, Any]:
        try:
            return row(label, fn())
        except ValueError:
            return {"spec": label, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "pvalue": np.nan,
                    "h": np.nan, "n_effective": 0}

    bw = [safe(f"h x {f:g}", lambda f=f: rd(p, "left_early", "s1", c, treatment="supported_f", cluster=cluster,
                                              bandwidth=h * f)) for f in factors]
    bw.append(safe("p = 2", lambda: rd(p, "left_early", "s1", c, treatment="supported_f", cluster=cluster, p=2)))
    placebo = []
    for off in placebo_offsets:
        side = p[p["s1"] < c] if off < 0 else p[p["s1"] >= c]
        placebo.append(safe(f"{c + off:g}", lambda side=side, off=off: rd(side, "left_early", "s1", c + off,
                                                                          cluster=cluster)))
    cov = [safe(col, lambda col=col: rd(p[p[col].notna()], col, "s1", c, cluster=cluster)) for col in covariates
           if col in p and p[col].notna().sum() > 100]
    columns = ["spec", "estimate", "ci_low", "ci_high", "pvalue", "h", "n_effective"]
    return {name: pd.DataFrame(rows, columns=columns).set_index("spec")
            for name, rows in (("bandwidth", bw), ("placebo", placebo), ("covariates", cov))}


# ---------------------------------------------------------------------- other outcomes
def _glm_fit(y: np.ndarray, X: np.ndarray, groups: np.ndarray, family: str,
             max_iter: int = 100, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, int]:
    """GLM (gaussian identity, poisson log or binomial logit) by IRLS on the normal
    equations, with the CR1 cluster-robust covariance of statsmodels' ``cov_type="cluster"``
    (G/(G-1) (N-1)/(N-K)); returns the coefficients, their covariance and the clusters.
    Checked against statsmodels in the tests; solving the k x k system is much faster
    than statsmodels' least squares on the n x k design when there are many dummies."""
    n, k = X.shape
    if family == "gaussian":
        mu_of = lambda eta: eta  # noqa: E731
        theta = np.linalg.solve(X.T @ X, X.T @ y)
    else:
        mu_of = np.exp if family == "poisson" else _expit
        theta = np.zeros(k)
        theta[0] = math.log(max(y.mean(), 1e-8)) if family == "poisson" else 0.0
        dev_old = np.inf
        for _ in range(max_iter):
            eta = X @ theta
            mu = mu_of(eta)
            w = mu if family == "poisson" else mu * (1 - mu)
            w = np.maximum(w, 1e-12)
            z = eta + (y - mu) / w
            new = np.linalg.solve((X.T * w) @ X, (X.T * w) @ z)
            mu_new = np.clip(mu_of(X @ new), 1e-300, None if family == "poisson" else 1 - 1e-15)
            dev = float(-2 * (np.sum(y * np.log(mu_new) - mu_new) if family == "poisson"
                              else np.sum(y * np.log(mu_new) + (1 - y) * np.log1p(-mu_new))))
            # coefficients settle, or (a cell without events: some coefficients drift off) the deviance does
            done = (np.max(np.abs(new - theta)) < tol * (1 + np.max(np.abs(theta)))
                    or abs(dev - dev_old) < 1e-10 * (abs(dev) + 0.1))
            theta, dev_old = new, dev
            if done:
                break
        else:
            raise ValueError(f"The {family} GLM did not converge in {max_iter} iterations.")
    mu = mu_of(X @ theta)
    w = np.ones(n) if family == "gaussian" else (mu if family == "poisson" else mu * (1 - mu))
    bread = np.linalg.inv((X.T * w) @ X)
    codes, uniq = pd.factorize(groups)
    G = len(uniq)
    scores = np.zeros((G, k))
    resid = y - mu
    for j in range(k):
        scores[:, j] = np.bincount(codes, weights=X[:, j] * resid, minlength=G)
    corr = G / (G - 1) * (n - 1) / (n - k) if G > 1 else np.nan
    return theta, corr * bread @ (scores.T @ scores) @ bread, G


def _glm_effect(y: np.ndarray, D: np.ndarray, controls: pd.DataFrame, groups: np.ndarray, family: str,
                label: str, n: dict[str, int]) -> Estimate:
    """The coefficient of ``D`` in a GLM of ``y`` on ``D`` and ``controls`` (see :func:`_glm_fit`)."""
    X = np.column_stack([np.ones(len(y)), D, controls.to_numpy(float)])
    keep = np.ptp(X, axis=0) > 0
    keep[0] = True
    theta, V, G = _glm_fit(y, X[:, keep], groups, family)
    return Estimate.from_normal(label, float(theta[1]), math.sqrt(V[1, 1]), df=G - 1, n={**n, "clusters": G},
                                method=f"GLM ({family}) on support with risk-score bins, CR1 SE clustered by school")


def other_outcomes(data: DropoutData, pass_mark: float) -> dict[str, Estimate]:
    """Effects of support on the other outcomes, comparing pupils with the same risk score.

    ``absences``: Poisson log rate ratio of lessons missed (10-point score bins, grade,
    year); ``repetition``: logit log odds ratio of repeating the grade next year (score,
    special needs, grade band, year; pupils who stay); ``exam_score``: OLS difference in
    centralised-exam score, percentage points (5-point score bins with edges on the
    threshold, test x subject x year cells); ``exam_pass``: difference in the share of
    exam results at or above ``pass_mark``. Left out when the data lack the outcome.
    """
    p = data.pumpurs
    out: dict[str, Estimate] = {}
    grade_year = pd.get_dummies(p[["grade", "year"]].astype(str), drop_first=True, dtype=float)
    bins10 = pd.get_dummies(np.floor(p[SCORE]).astype("int64").astype(str), prefix="b", drop_first=True, dtype=float)
    n = {"units": int(p.loc[p["supported"], "pupil_id"].nunique())}
    out["absences"] = _glm_effect(p["absences"].to_numpy(float), p["supported"].to_numpy(float),
                                  pd.concat([bins10, grade_year], axis=1), p["school_id"].to_numpy(), "poisson",
                                  "log rate ratio, lessons missed", n)
    r = p[p["repeat_next"].notna() & (p["left_early"] == 0)]
    if len(r) and r["repeat_next"].sum() > 0:
        ctrl = pd.concat([r[[SCORE]].astype(float), r[["special_needs"]].fillna(0.0),
                          pd.get_dummies(r[["grade_band", "year"]].astype(str), drop_first=True, dtype=float)],
                         axis=1)
        out["repetition"] = _glm_effect(r["repeat_next"].to_numpy(float), r["supported"].to_numpy(float), ctrl,
                                        r["school_id"].to_numpy(), "binomial", "log odds ratio, repeating the grade",
                                        {"units": int(r.loc[r["supported"], "pupil_id"].nunique())})
    e = data.exams
    if len(e) and e["supported"].any():
        b5 = pd.get_dummies(np.floor(e[SCORE] * 2).astype("int64").astype(str), prefix="b", drop_first=True,
                            dtype=float)
        cells = pd.get_dummies(e["test"] + ":" + e["subject"] + ":" + e["year"].astype(str), drop_first=True,
                               dtype=float)
        ctrl = pd.concat([b5, cells], axis=1)
        ne = {"units": int(e.loc[e["supported"], "pupil_id"].nunique())}
        out["exam_score"] = _glm_effect(e["score"].to_numpy(float), e["supported"].to_numpy(float), ctrl,
                                        e["school_id"].to_numpy(), "gaussian", "exam score, percentage points", ne)
        out["exam_pass"] = _glm_effect((e["score"] >= pass_mark).to_numpy(float), e["supported"].to_numpy(float),
                                       ctrl, e["school_id"].to_numpy(), "gaussian",
                                       f"share of exam results >= {pass_mark:g}%", ne)
    return out


# ----------------------------------------------------------------------------- survival
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
    """Total cost of the measures delivered in the area and period, by measure type (with
    the pupils who received each), and the supported pupils and pupil-years it served."""
    m = data.measures
    p = data.pumpurs
    by_type = m.groupby("type")["cost_eur"].sum().sort_values(ascending=False) if len(m) else pd.Series(dtype=float)
    pupils = m.groupby("type")["pupil_id"].nunique() if len(m) else pd.Series(dtype="int64")
    return {"total": float(m["cost_eur"].sum()) if len(m) else 0.0, "by_type": by_type,
            "pupils_by_type": pupils.astype("int64"),
            "supported_pupils": int(p.loc[p["supported"], "pupil_id"].nunique()),
            "supported_pupil_years": int(p["supported"].sum())}


# ----------------------------------------------------------------------------- truth
def effect_truth(truth: Mapping[str, Any] | None, name: str) -> Mapping[str, Any] | None:
    """The entry ``name`` of a ``true_effects.json`` sidecar (None if absent)."""
    if not truth:
        return None
    return next((e for e in truth.get("effects", []) if e.get("name") == name), None)


def truth_comparison(truth: Mapping[str, Any] | None, data: DropoutData, estimates: Mapping[str, Any],
                     itt: Any = None) -> pd.DataFrame:
    """Each estimate next to the true value stored with synthetic data, and whether its CI covers it.

    ``estimates`` maps names to Estimates: ``log_or_threshold`` (the hazard model's support
    coefficient), ``att`` (probability scale), ``naive``, ``rd_late``, ``rd_takeup``,
    ``itt`` (simple ATT of the roll-out), ``cost_per_dropout``, ``prevented``,
    ``absences``, ``repetition``, ``exam_score``. ``itt`` is the ``att_gt`` result whose
    cohort shares weight the true ATT(g,t) like its simple aggregation. Realised averages
    (ATT, effect at the threshold, ITT, cost) hold for all of the programme's pupil-years
    in the synthetic data, so they are compared only when the study covers the whole
    country and every year with risk scores; structural parameters (log odds and rate
    ratios) always. Empty when there is no truth.
    """
    dropout = effect_truth(truth, "pumpurs_support_dropout")
    if dropout is None:
        return pd.DataFrame(columns=["estimate", "ci_low", "ci_high", "truth", "covered", "bias"])
    real = dropout.get("realised", {})
    par = dropout.get("parameters", {})
    same_threshold = math.isclose(float(par.get("threshold", data.threshold)), data.threshold)
    whole = data.region is None and data.notes.get("covers_programme", False)
    true: dict[str, float | None] = {}
    if same_threshold:
        true["log_or_threshold"] = par.get("tau0")
    if whole:
        true["att"] = real.get("att_probability")
        true["naive"] = real.get("att_probability")
        if same_threshold:
            true["rd_late"] = real.get("effect_at_threshold_probability")
            true["rd_takeup"] = real.get("takeup_at_threshold")
        true["cost_per_dropout"] = real.get("cost_per_prevented_dropout_eur")
        true["prevented"] = real.get("prevented_dropouts")
        if itt is not None and real.get("itt_att_gt"):
            true["itt"] = _true_simple_itt(real["itt_att_gt"], itt)
    for key, name in (("absences", "pumpurs_support_absences"), ("repetition", "pumpurs_support_repetition"),
                      ("exam_score", "pumpurs_support_exams")):
        e = effect_truth(truth, name)
        if e is not None:
            true[key] = e.get("true_value")
    rows = []
    for key, value in true.items():
        est = estimates.get(key)
        if est is None or value is None:
            continue
        est = est if isinstance(est, Estimate) else est.estimate
        rows.append({"name": key, "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high,
                     "truth": float(value), "covered": bool(est.ci_low <= value <= est.ci_high),
                     "bias": est.estimate - float(value)})
    return pd.DataFrame(rows).set_index("name") if rows else pd.DataFrame(
        columns=["estimate", "ci_low", "ci_high", "truth", "covered", "bias"])


def _true_simple_itt(cells: Sequence[Mapping[str, Any]], itt: Any) -> float | None:
    """The true ATT(g,t) cells weighted as ``att_gt(...).aggregate("simple")`` weights the
    estimated ones (cohort shares p_g over the post-treatment cells it estimated)."""
    tab = itt.table
    post = tab[tab["post"] & np.isfinite(tab["att"])]
    share = dict(zip(itt.glist.tolist(), itt.pg.tolist()))
    truth = {(int(c["cohort"]), int(c["year"])): float(c["att_probability"]) for c in cells}
    num = den = 0.0
    for g, t in zip(post["group"], post["time"]):
        if (int(g), int(t)) in truth:
            w = share.get(g, share.get(float(g), 0.0))
            num += w * truth[(int(g), int(t))]
            den += w
    return num / den if den > 0 else None


# ----------------------------------------------------------------------------- publishing
# What the funder report shows, through disclosure control. The estimators above are not
# changed; these functions decide which of their numbers may be published and in which form
# (evaltools.report.disclosure; Hundepool et al. 2012, Statistical Disclosure Control, ch. 4).

OBSERVED_RATES = ("p_treated", "p_untreated", "rate_supported", "rate_unsupported")


def public(est: Estimate) -> Estimate:
    """``est`` without the diagnostics that are observed or fitted rates of a group: with the
    group's pupil-years (published beside it) a rate gives back its count of leavers. The rates
    the report shows are published through :func:`naive_rates` instead."""
    from dataclasses import replace

    return replace(est, diagnostics={k: v for k, v in (est.diagnostics or {}).items() if k not in OBSERVED_RATES})


def naive_rates(data: DropoutData, *, threshold: int | None = None, language: str | None = None) -> dict[str, Any]:
    """The yearly leaving rates (%) of supported and unsupported PUMPURS pupil-years, each a
    :class:`~evaltools.report.disclosure.ProtectedValue` with its leavers and pupil-years: hidden
    when the leavers, the stayers or the pupil-years are a small count. (The hazard model's
    ``p_treated`` is the supported rate itself: a logit with the support term fits the group's
    mean exactly, so it is published only through this value.)"""
    from evaltools.report.disclosure import protect_linked

    p = data.pumpurs
    specs = {}
    for key, rows in (("supported", p[p["supported"]]), ("unsupported", p[~p["supported"]])):
        n, k = int(len(rows)), int(rows["left_early"].sum())
        specs[f"leaving_rate_{key}"] = {"value": 100 * k / n if n else None, "numerator": k, "denominator": n,
                                        "percent": True, "digits": 1, "language": language}
    return protect_linked(specs, threshold=threshold)


def designs_table(rows: Sequence[tuple[str, Estimate, int]], *, naive_visible: bool, labels: Mapping[str, str],
                  names: Mapping[str, str], estimands: Mapping[str, str], threshold: int | None = None,
                  caption: str | None = None, notes: Sequence[str] = (), language: str | None = None) -> Any:
    """The designs compared in the report: effect (percentage points) with its CI and the pupil-years
    behind it, one row per design (``rows``: key, estimate, n). A design with fewer pupil-years than
    the threshold is hidden; so is the naive comparison unless ``naive_visible`` (it is the
    difference of the two :func:`naive_rates`: with one of them, it gives back the other)."""
    from dataclasses import replace

    from evaltools.report.disclosure import DEPENDENT, protect

    frame = pd.DataFrame([{"design": names[k], "estimand": estimands[k], "estimate": 100 * e.estimate,
                           "ci_low": 100 * e.ci_low, "ci_high": 100 * e.ci_high, "n": int(n)} for k, e, n in rows])
    frame = frame.set_index("design").astype({"n": "int64"})
    p = protect(frame, counts=["n"], denominators={c: "n" for c in ("estimate", "ci_low", "ci_high")},
                threshold=threshold, total_row=None, total_col=None, labels=dict(labels), caption=caption,
                notes=notes, language=language, digits={c: 2 for c in ("estimate", "ci_low", "ci_high")},
                name="designs")
    if naive_visible or "naive" not in dict((k, 1) for k, _, _ in rows):
        return p
    status, data = p.status.copy(), p.data.copy()
    row = names["naive"]
    for c in ("estimate", "ci_low", "ci_high"):
        if not status.at[row, c]:
            status.at[row, c] = DEPENDENT
        data.at[row, c] = np.nan
    return replace(p, data=data, status=status)


def rollout_table(cs: Any, dynamic: Any, *, threshold: int | None = None) -> Any:
    """The roll-out event study as the report plots it (percentage points): ATT by years since a
    school joined with its CI and the treated schools behind each event time (``schools``); an
    event time with fewer schools than the threshold is hidden."""
    from evaltools.report.disclosure import protect

    units = cs.to_frame().groupby("event_time")["n_treated"].sum()
    d = dynamic.table.set_index("event_time")
    frame = pd.DataFrame({"estimate": 100 * d["estimate"], "ci_low": 100 * d["ci_low"], "ci_high": 100 * d["ci_high"],
                          "schools": d.index.map(units).fillna(0).astype("int64")}, index=d.index)
    return protect(frame, counts=["schools"], denominators={c: "schools" for c in ("estimate", "ci_low", "ci_high")},
                   threshold=threshold, total_row=None, total_col=None, name="rollout_event_study")


def incidence_table(curve: pd.DataFrame, n_rows: int, *, threshold: int | None = None) -> Any:
    """The cumulative-incidence curves as the report plots them (%): by arm and grade, the model's
    prediction with its CI for the supported pupil-years (``n_rows``, the base of every point)."""
    from evaltools.report.disclosure import protect

    c = curve[curve["arm"] != "difference"]
    frame = pd.DataFrame({"estimate": 100 * c["estimate"].to_numpy(), "ci_low": 100 * c["ci_low"].to_numpy(),
                          "ci_high": 100 * c["ci_high"].to_numpy(), "pupil_years": int(n_rows)},
                         index=pd.MultiIndex.from_arrays([c["arm"], c["period"]], names=["arm", "grade"]))
    frame = frame.astype({"pupil_years": "int64"})
    return protect(frame, counts=["pupil_years"],
                   denominators={col: "pupil_years" for col in ("estimate", "ci_low", "ci_high")},
                   threshold=threshold, total_row=None, total_col=None, name="cumulative_incidence")


def cost_tables(data: DropoutData, costs: Mapping[str, Any], *, threshold: int | None = None,
                labels: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None,
                caption: str | None = None, language: str | None = None) -> dict[str, Any]:
    """The cost of the measures by type (pupils, euros, share of the total) and the total, protected
    together: a cost is a sum of the pupils' costs, hidden when fewer pupils than the threshold
    contributed or one or two pupils dominate it (dominance rules, :class:`Dominance`); the
    total is linked to the types so a hidden type cannot be recovered from it. The share column
    is shown only when no type's cost is hidden (the shares add up to 100 %).

    Returns ``{"costs": ProtectedTable, "costs_total": ProtectedTable}`` (the total as one row
    ``total`` with ``cost`` and the supported ``pupils``)."""
    from dataclasses import replace

    from evaltools.report.disclosure import DEPENDENT, Link, protect_linked

    m = data.measures
    by_type = costs["by_type"]
    per_pupil = m.groupby(["type", "pupil_id"])["cost_eur"].sum() if len(m) else pd.Series(dtype=float)
    index = [(names or {}).get(t, t) for t in by_type.index]
    frame = pd.DataFrame({"pupils": costs["pupils_by_type"].reindex(by_type.index).fillna(0).astype("int64").to_numpy(),
                          "cost": by_type.to_numpy(float),
                          "share": (by_type / costs["total"]).to_numpy(float) if costs["total"] else np.nan},
                         index=pd.Index(index, name="measure"))
    contributions = {label: per_pupil.loc[t].to_numpy(float) for label, t in zip(index, by_type.index)}
    total = pd.DataFrame({"pupils": [int(costs["supported_pupils"])], "cost": [float(costs["total"])]},
                         index=pd.Index(["total"], name="measure"))
    every = m.groupby("pupil_id")["cost_eur"].sum().to_numpy(float) if len(m) else np.array([])
    out = protect_linked({
        "costs": {"data": frame, "counts": ["pupils"], "magnitudes": {"cost": contributions},
                  "denominators": {"share": ("cost",)}, "total_row": None, "total_col": None,
                  "labels": dict(labels or {}), "digits": {"cost": 0, "share": 1}, "percents": ["share"],
                  "caption": caption, "language": language},
        "costs_total": {"data": total, "counts": ["pupils"], "magnitudes": {"cost": {"total": every}},
                        "total_row": None, "total_col": None},
    }, [Link(("costs_total", "total", "cost"), [("costs", label, "cost") for label in index])], threshold=threshold)
    table = out["costs"]
    if table.hidden["cost"].any():  # shares add up to 100 %: one hidden cost would come back from the others
        status, values = table.status.copy(), table.data.copy()
        status.loc[status["share"] == "", "share"] = DEPENDENT
        values["share"] = np.nan
        out["costs"] = replace(table, status=status, data=values)
    return out
