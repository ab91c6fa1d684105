"""The effect of support on supported pupils, and on the other outcomes.

The headline design: a discrete-time logit hazard on PUMPURS pupil-years (:func:`support_hazard`,
:func:`evaltools.estimate.discrete_time_hazard`) turned into a probability-scale ATT by
g-computation (:func:`probability_effect`) and the WWC Cox index (:func:`cox_index_from_hazard`);
by subgroup (:func:`subgroup_effects`) and measure type (:func:`measure_effects`); the naive
comparison (:func:`naive_difference`); GLMs of the other outcomes (:func:`other_outcomes`).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.estimate.glm import difference_in_means, g_computation, irls, predicted_means
from evaltools.estimate.result import Estimate
from evaltools.studies.dropout_prevention.frames import (
    BASELINE_COVARIATES,
    PUPIL_CODE,
    SCORE,
    TREND,
    YEARS_IN,
    DropoutData,
)

__all__ = ["model_rows", "naive_difference", "support_hazard", "probability_effect", "cox_index_from_hazard",
           "subgroup_effects", "measure_effects", "other_outcomes"]


def naive_difference(data: DropoutData, outcome: str = "left_early") -> Estimate:
    """Supported minus unsupported PUMPURS pupil-years: the difference in the share who
    left school early that year, nothing adjusted (:func:`evaltools.estimate.glm.difference_in_means`:
    CR1 SE clustered by school, t(G-1) CI)."""
    p = data.pumpurs
    y = p[outcome].to_numpy(float)
    d = p["supported"].to_numpy(float)
    est = difference_in_means(
        y, d, p["school_id"].to_numpy(), estimand="naive difference, supported - unsupported",
        n={"units": int(p.loc[p["supported"], "pupil_id"].nunique()), "pupil_years": int(len(p))},
        method="difference in means (linear probability model), CR1 SE clustered by school")
    return replace(est, diagnostics={
        "rate_supported": float(y[d == 1].mean()) if (d == 1).any() else float("nan"),
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
    bins (robustness to its functional form; tail bins without a leaver pooled inwards),
    ``"quadratic"`` adds score10 squared. SEs
    are clustered by school.
    """
    from evaltools.estimate import discrete_time_hazard

    frame = data.pumpurs if rows is None else rows
    covs = [TREND, SCORE]
    if spec == "bins":
        # 5-point bins; the sparse tails (score below threshold - 30 or above + 40) pooled
        bins = np.floor(frame[SCORE] * 2).clip(-6, 8).astype("int64")
        # a tail bin in which nobody left sends its logit to minus infinity (the fit fails): pool the
        # tails into the outermost bins with a leaver (a small area's top scores can have none)
        with_event = np.unique(bins[frame["left_early"].to_numpy() == 1])
        if len(with_event):
            bins = bins.clip(with_event.min(), with_event.max())
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
    # the pupil as an integer code when the frames carry it: the same grouping (codes and ids are one
    # to one, in the same order), so the same fit, without sorting millions of text ids
    unit = PUPIL_CODE if PUPIL_CODE in frame else "pupil_id"
    covariates = [*covs, *baseline, *extra_covariates]
    interactions = [SCORE, YEARS_IN, *extra_interactions]
    # the model sees only its columns (the estimator copies what it is given); the same rows in the same order
    used = list(dict.fromkeys([unit, "grade", "left_early", *covariates, "supported_f", *interactions, cluster]))
    return discrete_time_hazard(frame[used], unit, "grade", "left_early", covariates=covariates,
                                treatment="supported_f", interactions=interactions, cluster=cluster,
                                link=link), frame


def model_rows(data: DropoutData, extra: Sequence[str] = ()) -> pd.DataFrame:
    """The PUMPURS pupil-years with only the columns the hazard models and their effects read (plus
    ``extra``): the same rows in the same order as ``data.pumpurs``, a fraction of its memory (each
    model copies the frame it is given; at national scale the whole frame is about 40 columns)."""
    p = data.pumpurs
    cols = ["pupil_id", PUPIL_CODE, "school_id", "municipality_id", "grade", "year", "left_early", "supported",
            "s1", TREND, SCORE, YEARS_IN, *BASELINE_COVARIATES, *extra]
    return p[[c for c in dict.fromkeys(cols) if c in p.columns]]


def _designs(result: Any, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The model matrices of ``rows`` with support set to 1 and to 0 (logit link only)."""
    if result.link != "logit":
        raise ValueError("probability effects are implemented for the logit link.")
    return result.model_matrix(rows, 1.0), result.model_matrix(rows, 0.0)


def _probabilities(result: Any, rows: pd.DataFrame) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Mean predicted hazard with and without treatment over ``rows``, and their gradients."""
    return predicted_means(result.params.to_numpy(), *_designs(result, rows))


def probability_effect(result: Any, rows: pd.DataFrame, label: str = "ATT (probability)",
                       level: float = 0.95) -> Estimate:
    """Mean of h(D=1) - h(D=0) over ``rows`` (e.g. the supported pupil-years): the effect
    on the annual probability of leaving early, with a delta-method CI from the
    cluster-robust covariance, covariates held at their observed values
    (:func:`evaltools.estimate.glm.g_computation`)."""
    if len(rows) == 0:
        raise ValueError("probability_effect(): no rows to average over.")
    return g_computation(
        result.params.to_numpy(), result.cov.to_numpy(), *_designs(result, rows), estimand=label, level=level,
        n={"units": int(rows["pupil_id"].nunique()), "pupil_years": int(len(rows)),
           "clusters": int(result.n["clusters"])},
        method="discrete-time logit hazard, mean predicted difference, delta method (cluster-robust)",
        report_means=True)


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
    p = model_rows(data, [by])
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
            res, frame = support_hazard(data, rows=model_rows(data, [col]), extra_interactions=[col])
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


def _glm_effect(y: np.ndarray, D: np.ndarray, controls: pd.DataFrame, groups: np.ndarray, family: str,
                label: str, n: dict[str, int]) -> Estimate:
    """The coefficient of ``D`` in a GLM of ``y`` on ``D`` and ``controls`` (:func:`evaltools.estimate.glm.irls`,
    CR1 SE clustered by ``groups``, t(G-1) CI)."""
    X = np.column_stack([np.ones(len(y)), D, controls.to_numpy(float)])
    keep = np.ptp(X, axis=0) > 0
    keep[0] = True
    codes = pd.factorize(groups)[0]
    fit = irls(X[:, keep], y, family=family, groups=codes)
    if not fit.converged:
        raise ValueError(f"The {family} GLM of {label!r} did not converge.")
    theta, V, G = fit.params, fit.cov, fit.clusters
    return Estimate.from_normal(label, float(theta[1]), math.sqrt(V[1, 1]), df=G - 1, n={**n, "clusters": G},
                                method=f"GLM ({family}) on support with risk-score bins, CR1 SE clustered by school",
                                diagnostics=fit.diagnostics)


def other_outcomes(data: DropoutData, pass_mark: float) -> dict[str, Estimate]:
    """Effects of support on the other outcomes, comparing pupils with the same risk score.

    ``absences``: Poisson log rate ratio of lessons missed (10-point score bins, grade,
    year); ``repetition``: logit log odds ratio of repeating the grade next year (score,
    special needs, grade band, year, the year's grade-9 mathematics exam result in 10-point
    bins; pupils who stay); ``exam_score``: OLS difference in
    centralised-exam score, percentage points (5-point score bins with edges on the
    threshold, test x subject x year cells); ``exam_pass``: difference in the share of
    exam results at or above ``pass_mark``. Left out when the data lack the outcome.
    """
    p = model_rows(data, ["absences", "repeat_next", "grade_band", "ce9_math"])  # the columns read below (same rows)
    out: dict[str, Estimate] = {}
    grade_year = pd.get_dummies(p[["grade", "year"]].astype(str), drop_first=True, dtype=float)
    bins10 = pd.get_dummies(np.floor(p[SCORE]).astype("int64").astype(str), prefix="b", drop_first=True, dtype=float)
    n = {"units": int(p.loc[p["supported"], "pupil_id"].nunique())}
    out["absences"] = _glm_effect(p["absences"].to_numpy(float), p["supported"].to_numpy(float),
                                  pd.concat([bins10, grade_year], axis=1), p["school_id"].to_numpy(), "poisson",
                                  "log rate ratio, lessons missed", n)
    r = p[p["repeat_next"].notna() & (p["left_early"] == 0)]
    if len(r) and r["repeat_next"].sum() > 0:
        # repeating grade 9 is decided mostly by the year's mathematics exam: its result in 10-point bins (no
        # exam: none of them), which support does not change; left out, it makes the odds ratio of support
        # a marginal one over exam results, nearer 1 than the pupil's own (non-collapsibility of the logit)
        exam = r["ce9_math"] if "ce9_math" in r else pd.Series(np.nan, index=r.index)
        ce9 = pd.get_dummies(pd.Series(np.floor(exam / 10), index=r.index).dropna().astype("int64"),
                             prefix="ce9", dtype=float).reindex(r.index, fill_value=0.0)
        ctrl = pd.concat([r[[SCORE]].astype(float), r[["special_needs"]].fillna(0.0),
                          pd.get_dummies(r[["grade_band", "year"]].astype(str), drop_first=True, dtype=float),
                          ce9], axis=1)
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
