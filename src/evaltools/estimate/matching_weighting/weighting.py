"""Inverse-probability weighting (IPW) and augmented IPW (doubly robust).

With a logit propensity score ``e(x)`` and, for AIPW, least-squares outcome
models ``m_w(x) = x' delta_w`` fitted in each arm:

- IPW, ATE (normalised, Hajek): ``sum W Y / e / sum W / e - sum (1-W) Y/(1-e) / sum (1-W)/(1-e)``.
- IPW, ATT: treated mean minus the control mean weighted by ``e / (1 - e)``.
- AIPW, ATE (Robins, Rotnitzky and Zhao 1994; Glynn and Quinn 2010)::

      tau = mean[ m1 - m0 + W (Y - m1) / e - (1 - W)(Y - m0) / (1 - e) ]

- AIPW, ATT (doubly robust; the cross-section analogue of Sant'Anna and Zhao
  2020)::

      tau = sum W (Y - m0) / sum W - sum (1-W) r (Y - m0) / sum (1-W) r,   r = e/(1-e)

Standard errors come from the influence function of the whole stacked
M-estimator, *including* the estimation of the propensity score and outcome
models (so IPW SEs are not the conservative "known weights" ones):
``psi = psi_0 + D_gamma' IF_gamma + D_delta' IF_delta``. ``Var = sum psi^2 / n^2``,
or clustered ``G/(G-1) sum_g (sum_{i in g} psi_i)^2 / n^2``.

Trimming (``trim="crump"`` or a number ``alpha``) drops units with
``e < alpha`` or ``e > 1 - alpha`` from the effect estimate (the logit is fitted
on all units, and its influence function counts all of them); the estimand is
then the effect in the trimmed (overlap) population. The SE treats ``alpha``
as fixed.
"""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import pandas as pd

from evaltools.core.result import Estimate
from evaltools.core.vocabulary import choice
from evaltools.estimate.cluster_robust import few_clusters
from evaltools.estimate.matching_weighting.propensity import (
    CausalInputError,
    PropensityScore,
    check_frame,
    cluster_codes,
    design_matrix,
    numeric_column,
    propensity_score,
)

__all__ = ["ipw", "aipw"]


def _variance(psi: np.ndarray, clusters: np.ndarray | None) -> tuple[float, int | None]:
    n = len(psi)
    if clusters is None:
        return float(np.sum(psi**2) / n**2), None
    sums = np.bincount(clusters, weights=psi)
    G = len(sums)
    if G < 2:
        raise CausalInputError("Clustered standard errors need at least two clusters.")
    return float(G / (G - 1) * np.sum(sums**2) / n**2), G


def _prepare(data, outcome, treatment, covariates, cluster, trim, pscore=None):
    """Fit the propensity score on all rows (or take ``pscore``, fitted on the same rows and
    ``covariates``); ``keep`` marks the rows that trimming keeps.

    Trimmed rows still enter the logit fit (and so its influence function); the
    effect is estimated on the kept rows (Crump et al. 2009).
    """
    data = check_frame(data)
    numeric_column(data, outcome, "outcome")
    ps = propensity_score(data, treatment, covariates) if pscore is None else pscore
    if pscore is not None and (len(ps.scores) != len(data) or ps.treatment != treatment):
        raise CausalInputError("The pscore given was fitted on other rows or another treatment than data and "
                               f"{treatment!r}: fit it with propensity_score(data, {treatment!r}, covariates).")
    alpha = None
    keep = np.ones(len(data))
    if isinstance(trim, str):
        trim = choice(trim, ("crump",), "trim", error=CausalInputError)
    if trim is not None:
        if not (trim == "crump" or (isinstance(trim, (int, float)) and 0 < trim < 0.5)):
            raise CausalInputError(f"trim must be None, 'crump' or a threshold alpha in (0, 0.5); got {trim!r}.")
        alpha = ps.crump_alpha() if trim == "crump" else float(trim)
        keep = ps.keep(alpha).to_numpy().astype(float)
        for arm, lab in [(1, "treated"), (0, "comparison")]:
            if not np.any((keep > 0) & (ps.w == arm)):
                raise CausalInputError(f"Trimming at alpha = {alpha:.3f} leaves no {lab} units: use a smaller trim.")
    y = data[outcome].to_numpy(float)
    cl = cluster_codes(data, cluster)
    return data, ps, y, cl, keep, {"trim": trim, "alpha": alpha, "trimmed": int((keep == 0).sum())}


def _ps_influence(ps: PropensityScore) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logit design X, scores e and the influence function of gamma (n x k)."""
    X = ps.design.to_numpy()
    e = ps.scores.to_numpy()
    w = ps.w
    n = len(e)
    H = (X * (e * (1 - e))[:, None]).T @ X / n
    if_gamma = (X * (w - e)[:, None]) @ np.linalg.inv(H)
    return X, e, if_gamma


def _ols_influence(Xo: np.ndarray, y: np.ndarray, mask: np.ndarray, arm: str) -> tuple[np.ndarray, np.ndarray]:
    """Least squares of y on Xo within ``mask``: fitted values for all rows and the IF of delta."""
    Xm = Xo[mask]
    if np.linalg.matrix_rank(Xm) < Xo.shape[1]:
        raise CausalInputError(
            f"The outcome-model covariates are collinear among the {arm} units used (e.g. a dummy that is "
            "constant there, often after trimming): drop or merge them via outcome_covariates."
        )
    delta = np.linalg.lstsq(Xm, y[mask], rcond=None)[0]
    fit = Xo @ delta
    n = len(y)
    M = (Xo * mask[:, None]).T @ Xo / n
    if_delta = (Xo * (mask * (y - fit))[:, None]) @ np.linalg.inv(M)
    return fit, if_delta


def _finish(name, tau, psi, cl, ps, keep, outcome, estimand, method, options, diagnostics, level, cluster):
    var, G = _variance(psi, cl)
    se = float(np.sqrt(var))
    kept = keep > 0
    n = {"units": int(kept.sum()), "treated": int(ps.w[kept].sum()), "comparison": int((1 - ps.w[kept]).sum())}
    if G is not None:
        n["clusters"] = G
        fc = few_clusters(G, None, advice=(
            "no small-sample correction exists for this influence-function SE: treat the interval as too "
            "narrow, or compare with a regression estimator with vcov='CR2' or the wild cluster bootstrap."))
        if fc:
            diagnostics = {**diagnostics, "few_clusters": fc}
    return Estimate.from_normal(
        f"{estimand} of {ps.treatment} on {outcome}", tau, se, level=level, n=n, method=method,
        options={"estimand": estimand, "cluster": cluster, **options},
        diagnostics={**diagnostics, "se": "influence function incl. nuisance estimation"
                     + (", clustered" if G else "")},
    )


def ipw(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] | str,
    *,
    estimand: Literal["ATT", "ATE"] = "ATT",
    cluster: str | None = None,
    trim: str | float | None = None,
    level: float = 0.95,
    pscore: PropensityScore | None = None,
) -> Estimate:
    """Normalised inverse-probability-weighting estimate of the ATT or ATE.

    ``covariates`` (columns or a formula right-hand side) enter a logit
    propensity model. SEs: influence function including the logit estimation
    (Lunceford and Davidian 2004), optionally clustered. ``pscore``: the
    :func:`propensity_score` of ``data`` on ``covariates``, already fitted (the same estimate).
    """
    estimand = choice(estimand, ("ATT", "ATE"), "estimand", where="ipw", error=CausalInputError)
    data, ps, y, cl, k, tr = _prepare(data, outcome, treatment, covariates, cluster, trim, pscore)
    X, e, if_g = _ps_influence(ps)
    W = ps.w.astype(float)
    if estimand == "ATE":
        w1, w0 = k * W / e, k * (1 - W) / (1 - e)
    else:
        w1, w0 = k * W, k * (1 - W) * e / (1 - e)
    mu1 = np.sum(w1 * y) / np.sum(w1)
    mu0 = np.sum(w0 * y) / np.sum(w0)
    G0 = np.mean((k * (1 - W) * e / (1 - e) * (y - mu0))[:, None] * X, axis=0)
    psi0 = (w0 * (y - mu0) + if_g @ G0) / np.mean(w0)
    if estimand == "ATE":
        G1 = np.mean((-k * W * (1 - e) / e * (y - mu1))[:, None] * X, axis=0)
        psi1 = (w1 * (y - mu1) + if_g @ G1) / np.mean(w1)
    else:
        psi1 = w1 * (y - mu1) / np.mean(w1)
    psi = psi1 - psi0
    diag = {**tr, "max_weight_share": float(np.max(w0) / np.sum(w0)),
            "effective_n_comparison": float(np.sum(w0) ** 2 / np.sum(w0**2))}
    return _finish("ipw", mu1 - mu0, psi, cl, ps, k, outcome, estimand,
                   "inverse probability weighting (normalised, logit propensity score)",
                   {"covariates": ps.options["covariates"], "trim": trim}, diag, level, cluster)


def aipw(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] | str,
    *,
    outcome_covariates: Sequence[str] | str | None = None,
    estimand: Literal["ATT", "ATE"] = "ATT",
    cluster: str | None = None,
    trim: str | float | None = None,
    level: float = 0.95,
    pscore: PropensityScore | None = None,
) -> Estimate:
    """Augmented IPW (doubly robust) estimate of the ATT or ATE.

    Consistent if either the logit propensity model (``covariates``) or the
    linear outcome model (``outcome_covariates``, default the same terms) is
    right. SEs from the influence function including both nuisance fits,
    optionally clustered. ``pscore``: the :func:`propensity_score` of ``data`` on ``covariates``,
    already fitted (the same estimate, without fitting the logit again).
    """
    estimand = choice(estimand, ("ATT", "ATE"), "estimand", where="aipw", error=CausalInputError)
    data, ps, y, cl, k, tr = _prepare(data, outcome, treatment, covariates, cluster, trim, pscore)
    X, e, if_g = _ps_influence(ps)
    Xo = (ps.design if outcome_covariates is None and pscore is not None
          else design_matrix(data, covariates if outcome_covariates is None else outcome_covariates)).to_numpy()
    W = ps.w.astype(float)
    kept = k > 0
    m0, if_d0 = _ols_influence(Xo, y, (W == 0) & kept, "comparison")
    if estimand == "ATE":
        m1, if_d1 = _ols_influence(Xo, y, (W == 1) & kept, "treated")
        phi = m1 - m0 + W * (y - m1) / e - (1 - W) * (y - m0) / (1 - e)
        pk = np.mean(k)
        tau = float(np.sum(k * phi) / np.sum(k))
        D_g = np.mean((-k * (W * (y - m1) * (1 - e) / e + (1 - W) * (y - m0) * e / (1 - e)))[:, None] * X, axis=0)
        D_d1 = np.mean(Xo * (k * (1 - W / e))[:, None], axis=0)
        D_d0 = -np.mean(Xo * (k * (1 - (1 - W) / (1 - e)))[:, None], axis=0)
        psi = (k * (phi - tau) + if_g @ D_g + if_d1 @ D_d1 + if_d0 @ D_d0) / pk
    else:
        R = y - m0
        t = k * W
        r = k * (1 - W) * e / (1 - e)
        tau1 = np.sum(t * R) / np.sum(t)
        tau0 = np.sum(r * R) / np.sum(r)
        tau = float(tau1 - tau0)
        psi1 = t * (R - tau1) / np.mean(t)
        psi0 = r * (R - tau0) / np.mean(r)
        D_g = -np.mean((r * (R - tau0))[:, None] * X, axis=0) / np.mean(r)
        D_d0 = -np.mean(t[:, None] * Xo, axis=0) / np.mean(t) + np.mean(r[:, None] * Xo, axis=0) / np.mean(r)
        psi = psi1 - psi0 + if_g @ D_g + if_d0 @ D_d0
    diag = {**tr}
    return _finish("aipw", tau, psi, cl, ps, k, outcome, estimand,
                   "augmented IPW (doubly robust; logit propensity score, linear outcome model)",
                   {"covariates": ps.options["covariates"],
                    "outcome_covariates": outcome_covariates if outcome_covariates is None or isinstance(outcome_covariates, str) else list(outcome_covariates),
                    "trim": trim}, diag, level, cluster)
