"""The effect of support on one outcome, by every design of the study (the package's estimators).

For an outcome frame (:mod:`.frames`): the naive comparison (:func:`evaltools.estimate.glm.difference_in_means`),
the value-added / lagged-outcome regression (the headline: OLS of the outcome on support, the
prior outcome and characteristics, year and grade, CR1 SEs clustered by school,
:func:`evaltools.estimate.glm.irls`), AIPW and nearest-neighbour matching on the same
characteristics (:func:`evaltools.estimate.aipw`, :func:`evaltools.estimate.match`) with the
balance table and the overlap of the propensity score, difference-in-differences on pupils
measured before and after (:func:`evaltools.estimate.did_2x2`) and the dose-response by hours.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaltools.core.errors import EvaltoolsWarning
from evaltools.estimate.glm import difference_in_means, irls
from evaltools.estimate.result import Estimate
from evaltools.studies.school_community_support.frames import OUTCOMES, OutcomeSpec

__all__ = ["OutcomeResults", "SupportWarning", "covariates", "separating", "naive", "value_added", "dose_response",
           "dose_bands", "did_before_after", "weighting", "outcome_effects"]


class SupportWarning(EvaltoolsWarning, UserWarning):
    """A design of the Skola-kopienā study could not be estimated on these data."""


def covariates(frame: pd.DataFrame, spec: OutcomeSpec) -> list[str]:
    """The outcome's covariates that vary in ``frame`` (a constant one cannot be adjusted for)."""
    return [c for c in spec.covariates if c in frame and frame[c].nunique() > 1]


def _dummies(values: pd.Series) -> np.ndarray:
    """A 0/1 column per level of ``values`` but the first, the levels in the order of their text
    (``pd.get_dummies(values.astype(str), drop_first=True)``, without building the text of every row)."""
    if not pd.api.types.is_integer_dtype(values):
        return pd.get_dummies(values.astype(str), drop_first=True, dtype=float).to_numpy(float)
    levels, codes = np.unique(values.to_numpy(), return_inverse=True)
    rank = np.empty(len(levels), dtype=np.int64)
    rank[np.argsort(levels.astype(str), kind="stable")] = np.arange(len(levels))
    code = rank[codes]
    out = np.zeros((len(values), max(len(levels) - 1, 0)))
    rows = np.flatnonzero(code > 0)
    out[rows, code[rows] - 1] = 1.0
    return out


def _design(frame: pd.DataFrame, first: np.ndarray | pd.DataFrame, covs: list[str]) -> np.ndarray:
    """[1, first, covariates, year and grade dummies], constant columns dropped (the intercept kept)."""
    X = np.column_stack([np.ones(len(frame)), np.asarray(first, float), frame[covs].to_numpy(float),
                         _dummies(frame["year"]), _dummies(frame["grade"])])
    keep = np.ptp(X, axis=0) > 0
    keep[0] = True
    return X[:, keep]


def _coefficient(frame: pd.DataFrame, first: np.ndarray | pd.DataFrame, covs: list[str], label: str, method: str,
                 family: str = "gaussian") -> list[Estimate]:
    """The coefficients of the ``first`` column(s) in a GLM of ``y`` with the covariates, year and grade
    (:func:`evaltools.estimate.glm.irls`, CR1 SEs clustered by school, t(G-1) intervals)."""
    first = np.asarray(first, float)
    k = 1 if first.ndim == 1 else first.shape[1]
    X = _design(frame, first, covs)
    fit = irls(X, frame["y"].to_numpy(float), family=family, groups=pd.factorize(frame["school_id"])[0])
    if not fit.converged:
        raise ValueError(f"the regression for {label!r} did not converge")
    G = int(fit.clusters)
    names = [label] if k == 1 else [f"{label} [{i}]" for i in range(k)]
    return [Estimate.from_normal(names[i], float(fit.params[1 + i]), math.sqrt(max(fit.cov[1 + i, 1 + i], 0.0)),
                                 df=G - 1, n={"units": int((frame["D"] == 1).sum()), "observations": int(len(frame)),
                                              "clusters": G}, method=method, diagnostics=fit.diagnostics)
            for i in range(k)]


def naive(frame: pd.DataFrame) -> Estimate:
    """Supported minus unsupported, nothing adjusted (CR1 SE clustered by school, t(G-1) CI)."""
    return difference_in_means(frame["y"].to_numpy(float), frame["D"].to_numpy(float), frame["school_id"].to_numpy(),
                               estimand="naive difference, supported - unsupported",
                               n={"units": int((frame["D"] == 1).sum()), "observations": int(len(frame))},
                               method="difference in means, CR1 SE clustered by school")


def value_added(frame: pd.DataFrame, spec: OutcomeSpec, family: str = "gaussian") -> Estimate:
    """The value-added (lagged-outcome) regression at the supported pupils' mean hours:

    ``y = a + tau D + delta D (h - hbar)/10 + b y_prev + x'g + year + grade + e``, ``hbar`` the mean
    hours of the supported pupils: ``tau`` is the effect on the supported at their mean dose (their
    average effect when the effect grows in a straight line with the hours), if, given the prior
    outcome and characteristics, who got support and how many hours is unrelated to the outcome
    (selection on observables). Without varying hours it is the plain coefficient of support.
    ``family="poisson"``: the log rate ratio of a count."""
    covs = covariates(frame, spec)
    d = frame["D"].to_numpy(float)
    h = frame["hours"].to_numpy(float)
    first: np.ndarray = d
    if d.sum() > 0 and np.ptp(h[d == 1]) > 0:
        first = np.column_stack([d, d * (h - h[d == 1].mean()) / 10.0])
    what = "log rate ratio" if family == "poisson" else "difference"
    return _coefficient(frame, first, covs, f"value-added: effect of support at the mean hours ({what})",
                        f"{'Poisson GLM' if family == 'poisson' else 'OLS'} on support and support x (hours - mean "
                        f"hours of the supported)/10, {', '.join(covs)}, year and grade; CR1 SE clustered by school",
                        family)[0]


def dose_response(frame: pd.DataFrame, spec: OutcomeSpec) -> Estimate:
    """The effect per 10 hours of support: the coefficient of hours/10 in the value-added regression
    (0 hours for unsupported pupils): a straight line through no support."""
    covs = covariates(frame, spec)
    return _coefficient(frame, frame["hours"].to_numpy(float) / 10.0, covs, "effect per 10 hours of support",
                        "OLS on hours / 10 with the value-added covariates; CR1 SE clustered by school")[0]


def dose_bands(frame: pd.DataFrame, spec: OutcomeSpec, bands: int = 3, min_rows: int = 10) -> pd.DataFrame:
    """The value-added effect in bands of hours (equal thirds of the supported pupils by hours): one
    regression with a dummy per band. Columns: hours_low, hours_high, mean_hours, supported, estimate,
    ci_low, ci_high. Empty when fewer than ``min_rows`` supported pupils per band."""
    sup = frame.loc[frame["D"] == 1, "hours"]
    cols = ["hours_low", "hours_high", "mean_hours", "supported", "estimate", "ci_low", "ci_high"]
    if len(sup) < bands * min_rows or sup.nunique() < bands:
        return pd.DataFrame(columns=cols)
    edges = np.unique(np.quantile(sup, np.linspace(0, 1, bands + 1)))
    band = np.where(frame["D"] == 1, np.clip(np.searchsorted(edges, frame["hours"], side="right") - 1, 0,
                                             len(edges) - 2), -1)
    levels = sorted(b for b in set(band) if b >= 0)
    dummies = np.column_stack([(band == b).astype(float) for b in levels])
    ests = _coefficient(frame, dummies, covariates(frame, spec), "effect in band of hours",
                        "OLS with a dummy per band of hours and the value-added covariates; CR1 SE by school")
    rows = []
    for b, e in zip(levels, ests):
        h = frame.loc[band == b, "hours"]
        rows.append({"hours_low": float(h.min()), "hours_high": float(h.max()), "mean_hours": float(h.mean()),
                     "supported": int(len(h)), "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high})
    return pd.DataFrame(rows, columns=cols)


def did_before_after(frame: pd.DataFrame) -> Estimate | None:
    """Difference-in-differences on pupils measured the year before and the year of support
    (:func:`evaltools.estimate.did_2x2`, CR1 clustered by school): the change of the supported minus
    the change of the unsupported. Valid if both groups would have changed alike without support:
    support chosen on a bad previous year breaks this (the bad year partly passes anyway)."""
    from evaltools.estimate import did_2x2

    if "y_prev" not in frame or frame["y_prev"].isna().all():
        return None
    long = pd.concat([frame[["D", "school_id"]].assign(y=frame["y_prev"].to_numpy(float), post=0),
                      frame[["D", "school_id"]].assign(y=frame["y"].to_numpy(float), post=1)], ignore_index=True)
    res = did_2x2(long, "y", "D", "post", cluster="school_id")
    est = res.estimate
    from dataclasses import replace
    return replace(est, estimand="difference-in-differences: change of supported - change of unsupported",
                   n={**est.n, "units": int((frame["D"] == 1).sum())})


def separating(frame: pd.DataFrame, covs: list[str]) -> list[str]:
    """The 0/1 covariates with a value taken by supported pupils only or comparison pupils only: they
    separate the groups perfectly, so a logit propensity score cannot be fitted with them (e.g. the
    few pupils of minority-language schools, all supported, in a small sample)."""
    out = []
    for c in covs:
        values = frame[c].dropna().unique()
        if len(values) == 2 and any(frame.loc[frame[c] == v, "D"].nunique() < 2 for v in values):
            out.append(c)
    return out


def _rhs(frame: pd.DataFrame, spec: OutcomeSpec, drop: list[str] | None = None) -> str:
    terms = [c for c in covariates(frame, spec) if c not in (drop or [])] + (
        ["grade"] if frame["grade"].nunique() > 1 else []) + (["C(year)"] if frame["year"].nunique() > 1 else [])
    return " + ".join(terms) if terms else "1"


def weighting(frame: pd.DataFrame, spec: OutcomeSpec, neighbours: int = 4) -> dict[str, Any]:
    """AIPW and k:1 matching (bias-adjusted) ATTs on the value-added covariates, the balance table
    before and after ATT odds weighting (e/(1-e) for the comparison pupils) and the overlap of the
    propensity score. A 0/1 covariate that separates the groups (:func:`separating`) is left out of the
    propensity score and the outcome model of AIPW and matching (kept in the balance table). A design
    that cannot be fitted is left out with a :class:`SupportWarning`."""
    from evaltools.estimate import aipw, balance_table, match, propensity_score
    from evaltools.estimate.matching_weighting.propensity import CausalInputError

    covs = covariates(frame, spec)
    drop = separating(frame, covs)
    if drop:
        warnings.warn(f"left out of the propensity score (a value taken by one group only): {', '.join(drop)}",
                      SupportWarning, stacklevel=2)
    rhs = _rhs(frame, spec, drop)
    out: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ps = propensity_score(frame, "D", rhs)
            e = ps.scores.to_numpy()
            w = np.where(frame["D"] == 1, 1.0, e / (1 - e))
            out["overlap"] = ps.overlap()
            out["balance"] = balance_table(frame, "D", covs, cluster="school_id",
                                           weights=pd.Series(w, index=frame.index)) if covs else None
            out["aipw"] = aipw(frame, "y", "D", rhs, cluster="school_id", pscore=ps)  # the logit fitted once
            out["matching"] = match(frame, "y", "D", rhs, k=neighbours, bias_adjust=True, cluster="school_id",
                                    pscore=ps).estimate
    except (CausalInputError, ValueError, np.linalg.LinAlgError) as exc:
        warnings.warn(f"matching/weighting left out: {exc}", SupportWarning, stacklevel=2)
    return out


@dataclass
class OutcomeResults:
    """Every design's estimate for one outcome (None: not estimable; ``reason`` says why)."""

    outcome: str
    spec: OutcomeSpec
    n: dict[str, int] = field(default_factory=dict)
    naive: Estimate | None = None
    value_added: Estimate | None = None
    aipw: Estimate | None = None
    matching: Estimate | None = None
    did: Estimate | None = None
    dose: Estimate | None = None
    bands: pd.DataFrame | None = None
    balance: Any = None
    overlap: pd.DataFrame | None = None
    effect_size: Any = None
    mdes: float | None = None
    rating: Any = None
    attrition_pct: float | None = None
    sd: float | None = None
    reason: str | None = None

    @property
    def estimable(self) -> bool:
        return self.value_added is not None

    def designs(self) -> dict[str, Estimate]:
        """The designs that could be estimated, naive first."""
        return {k: v for k, v in (("naive", self.naive), ("value_added", self.value_added), ("aipw", self.aipw),
                                  ("matching", self.matching), ("did", self.did)) if v is not None}


def outcome_effects(frame: pd.DataFrame, outcome: str, *, min_rows: int = 20, neighbours: int = 4,
                    family: str = "gaussian", supported_all: int | None = None) -> OutcomeResults:
    """Every design for ``outcome`` on its frame, with the effect size, MDES and evidence rating.

    Not estimated (``reason`` set) when fewer than ``min_rows`` supported or comparison pupils.
    ``supported_all``: the pupils who received the outcome's support in its grades (the base of
    the attrition: those without the outcome measured are lost to the analysis).
    """
    from evaltools import inference
    from evaltools.standards import cox_index, evidence_rating, hedges_g

    spec = OUTCOMES[outcome]
    n_t, n_c = int((frame["D"] == 1).sum()) if len(frame) else 0, int((frame["D"] == 0).sum()) if len(frame) else 0
    res = OutcomeResults(outcome=outcome, spec=spec, n={"supported": n_t, "comparison": n_c,
                                                        "schools": int(frame["school_id"].nunique()) if len(frame) else 0})
    if n_t < min_rows or n_c < min_rows:
        res.reason = f"{n_t} supported and {n_c} comparison pupils with the outcome: fewer than {min_rows}"
        return res
    res.naive = naive(frame)
    try:
        res.value_added = value_added(frame, spec, family)
        res.dose = dose_response(frame, spec)
        res.bands = dose_bands(frame, spec)
    except (ValueError, np.linalg.LinAlgError) as exc:
        res.reason = f"the value-added regression could not be fitted ({exc})"
        return res
    res.did = did_before_after(frame) if spec.prior else None
    w = weighting(frame, spec, neighbours)
    res.aipw, res.matching, res.balance, res.overlap = w.get("aipw"), w.get("matching"), w.get("balance"), \
        w.get("overlap")
    y, d = frame["y"].to_numpy(float), frame["D"].to_numpy(int)
    va = res.value_added
    res.sd = float(np.std(y, ddof=1))
    if spec.binary:
        p_t = float(y[d == 1].mean())
        p_c = min(max(p_t - va.estimate, 1e-6), 1 - 1e-6)
        if 0 < p_t < 1:
            res.effect_size = cox_index(p_t=p_t, p_c=p_c, n_t=n_t, n_c=n_c)
    elif family == "gaussian":
        res.effect_size = hedges_g(sd_t=float(y[d == 1].std(ddof=1)), sd_c=float(y[d == 0].std(ddof=1)), n_t=n_t,
                                   n_c=n_c, adjusted_diff=va.estimate, se_diff=va.se)
    if res.sd and res.sd > 0 and family == "gaussian":
        res.mdes = float(inference.multiplier(va.n["clusters"] - 1) * va.se / res.sd)
    if supported_all:
        res.attrition_pct = float(100.0 * max(supported_all - frame.loc[d == 1, "pupil_id"].nunique(), 0)
                                  / supported_all)
    base = {}
    if res.balance is not None:
        base = res.balance.table["norm_diff"].dropna().to_dict()
    res.rating = evidence_rating("regression", overall_attrition_pct=res.attrition_pct, mdes=res.mdes,
                                 baseline_es=base or None, baseline_adjusted=True)
    return res
