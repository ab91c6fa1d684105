"""Generalised linear models by IRLS with a cluster-robust covariance, and what is built on them.

One implementation, used by the discrete-time hazard model
(:mod:`evaltools.estimate.survival.hazard_models`) and the studies. It sits at the top of
``estimate/`` beside ``cluster_robust`` and ``fixed_effects`` because it is machinery shared by
several families, not a design of its own; it is not exported from :mod:`evaltools.estimate`
(its functions take arrays and design matrices): import it as ``evaltools.estimate.glm``.


* :func:`irls`: a GLM (gaussian identity; poisson log; binomial logit or cloglog) fitted by
  Fisher scoring on the normal equations. Each step solves ``(X'WX) b = X'W z`` with
  ``w = (dmu/deta)^2 / V(mu)`` and ``z = eta + (y - mu) / (dmu/deta)`` (McCullagh & Nelder
  1989, *Generalized Linear Models*, ch. 2.5): a k x k system, much faster than a least
  squares on the n x k design when there are many dummies. The covariance is the cluster
  sandwich ``c B M B`` with ``B`` the inverse observed information, ``M = sum_g s_g s_g'``,
  ``s_g = sum_{i in g} x_i (y_i - mu_i) (dmu/deta)_i / V(mu_i)`` and the CR1 factor
  ``c = G / (G - 1) (N - 1) / (N - K)`` (statsmodels' ``cov_type="cluster"``; Cameron &
  Miller 2015, *J. Human Resources* 50(2)). Without clusters each row is its own cluster
  (``c = N / (N - K)``: HC1).
* :func:`difference_in_means`: the clustered difference in means of two groups (OLS of the
  outcome on a constant and the 0/1 group, CR1) with a t(G - 1) interval, or CR2 with
  Satterthwaite df (``vcov="CR2"``).

CR2 is offered where the model is linear (the difference in means); for the non-linear GLMs of
:func:`irls` (logit, cloglog, poisson) the covariance is CR1 (a CR2 for GLMs would apply the
adjustment to the working weighted least squares at convergence, as R's clubSandwich does: not
offered, see docs/r_conventions.md). With fewer than 30 clusters :attr:`GLMFit.diagnostics` and
the Estimates of :func:`g_computation` carry ``diagnostics["few_clusters"]`` with
``alternative: None``.
* :func:`predicted_means` and :func:`g_computation`: the mean predicted outcome with the
  treatment set to 1 and to 0 over chosen rows (regression adjustment, g-computation;
  Robins 1986) and their difference with a delta-method SE from the model's covariance
  (gradient ``mean_i [mu'(x1_i b) x1_i - mu'(x0_i b) x0_i]``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaltools.core.result import Estimate
from evaltools.core.vocabulary import renamed
from evaltools.estimate.cluster_robust import FEW_CLUSTERS, check_vcov, cr2, few_clusters

__all__ = ["GLMFit", "irls", "difference_in_means", "predicted_means", "g_computation", "glm_few_clusters",
           "FAMILIES"]

Family = Literal["gaussian", "poisson", "binomial"]
_DRIFT = 8.0  # a coefficient this large on the link scale is drifting off (a fitted mean near 0 or 1)
FAMILIES: dict[str, tuple[str, ...]] = {"gaussian": ("identity",), "poisson": ("log",),
                                        "binomial": ("logit", "cloglog")}
"""The families :func:`irls` fits and their links (the first is the default)."""


@dataclass(frozen=True)
class GLMFit:
    """A fitted GLM: coefficients, their cluster-robust covariance (None when not asked for),
    the family and link, rows, columns and clusters, and whether IRLS converged."""

    params: np.ndarray
    cov: np.ndarray | None
    family: str
    link: str
    n: int
    k: int
    clusters: int
    converged: bool

    @property
    def diagnostics(self) -> dict[str, Any]:
        """``{"few_clusters": ...}`` (``alternative: None``: no CR2 for a non-linear GLM) when the
        covariance is clustered on fewer than 30 clusters, else ``{}``."""
        return glm_few_clusters(self.clusters) if self.family != "gaussian" and self.clusters < self.n else {}

    def se(self) -> np.ndarray:
        """Cluster-robust standard errors of the coefficients."""
        if self.cov is None:
            raise ValueError("This fit has no covariance: refit with covariance=True.")
        return np.sqrt(np.diag(self.cov))


NO_CR2 = ("CR2 is not offered for non-linear GLMs (docs/r_conventions.md); a cluster bootstrap is "
          "the small-sample check.")


def glm_few_clusters(G: int) -> dict[str, Any]:
    """``{"few_clusters": {"clusters": G, "note": ..., "alternative": None}}`` for ``G`` under
    :data:`~evaltools.estimate.cluster_robust.FEW_CLUSTERS` clusters, else ``{}``."""
    info = few_clusters(G, None, advice=NO_CR2)
    return {"few_clusters": info} if info else {}


def mean_and_derivative(eta: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray]:
    """``mu = g^-1(eta)`` and ``dmu/deta`` for the identity, log, logit and cloglog links."""
    if link == "identity":
        return eta, np.ones_like(eta)
    if link == "log":
        mu = np.exp(np.minimum(eta, 700))
        return mu, mu
    if link == "logit":
        mu = 1 / (1 + np.exp(-eta))
        return mu, mu * (1 - mu)
    if link == "cloglog":
        e = np.exp(np.minimum(eta, 700))
        return -np.expm1(-e), e * np.exp(-e)
    raise ValueError(f"link must be one of identity, log, logit, cloglog; got {link!r}.")


def _variance(mu: np.ndarray, family: str) -> np.ndarray:
    if family == "gaussian":
        return np.ones_like(mu)
    if family == "poisson":
        return mu
    return mu * (1 - mu)


def _clip(mu: np.ndarray, family: str) -> np.ndarray:
    if family == "binomial":
        return np.clip(mu, 1e-15, 1 - 1e-15)
    if family == "poisson":
        return np.maximum(mu, 1e-300)
    return mu


def _deviance_part(y: np.ndarray, mu: np.ndarray, family: str, fw: np.ndarray) -> float:
    """Minus twice the log likelihood up to a constant (for the stopping rule only)."""
    if family == "poisson":
        return float(-2 * np.sum(fw * (y * np.log(mu) - mu)))
    return float(-2 * np.sum(fw * (y * np.log(mu) + (1 - y) * np.log1p(-mu))))


def irls(X: np.ndarray, y: np.ndarray, *, family: Family = "binomial", link: str | None = None,
         groups: np.ndarray | None = None, weights: np.ndarray | None = None, start: np.ndarray | None = None,
         covariance: bool = True, tol: float = 1e-10, max_iter: int = 100) -> GLMFit:
    """Fit a GLM by IRLS and (``covariance=True``) its CR1 cluster-robust covariance.

    ``X``: the n x k design (with the intercept column if wanted); ``y``: the outcome (0/1
    for binomial, counts for poisson). ``groups``: integer cluster codes 0..G-1 (e.g.
    ``pd.factorize(schools)[0]``); None = each row its own cluster (HC1). ``weights``:
    frequency weights (e.g. cluster-bootstrap counts), used in the fit only. ``start``:
    starting coefficients (default: the data's own means on the link scale). IRLS stops when
    the coefficients settle (largest change below ``tol (1 + max |b|)``) or, with a cell
    without events where some coefficients drift off (|b| of 8 or more), when the deviance and
    the other coefficients do; ``converged``
    is False when neither happened in ``max_iter`` steps or the system was singular (the
    caller decides what to say: a fitted mean at 0 or 1 is the sign of separation).
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}.")
    link = FAMILIES[family][0] if link is None else link
    if link not in FAMILIES[family]:
        raise ValueError(f"The {family} family takes the link {' or '.join(FAMILIES[family])}; got {link!r}.")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = X.shape
    fw = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    converged = False
    if family == "gaussian":
        xtw = X.T * fw
        try:
            theta = np.linalg.solve(xtw @ X, xtw @ y)
            converged = True
        except np.linalg.LinAlgError:
            theta = np.full(k, np.nan)
        eta = X @ theta
    else:
        if start is None:
            mu0 = (y + 0.5) / 2 if family == "binomial" else y + 0.1
            eta = {"logit": lambda m: np.log(m / (1 - m)), "cloglog": lambda m: np.log(-np.log1p(-m)),
                   "log": np.log}[link](mu0)
            theta = np.zeros(k)
        else:
            theta = np.asarray(start, dtype=float)
            eta = X @ theta
        dev_old = np.inf
        for _ in range(max_iter):
            mu, dmu = mean_and_derivative(eta, link)
            mu = _clip(mu, family)
            dmu = np.maximum(dmu, 1e-300)
            w = fw * dmu**2 / _variance(mu, family)
            z = eta + (y - mu) / dmu
            xtw = X.T * w
            try:
                new = np.linalg.solve(xtw @ X, xtw @ z)
            except np.linalg.LinAlgError:
                return GLMFit(theta, np.full((k, k), np.nan) if covariance else None, family, link, n, k,
                              _n_groups(groups, n), False)
            eta = X @ new
            step = np.max(np.abs(new - theta))
            previous, theta = theta, new
            if not np.all(np.isfinite(theta)):
                break
            if step < tol * (1 + np.max(np.abs(theta))):
                converged = True
                break
            # a cell without events: its coefficients drift off while the deviance settles; stop
            # when it has and every coefficient of moderate size has settled too
            dev = _deviance_part(y, _clip(mean_and_derivative(eta, link)[0], family), family, fw)
            moderate = np.abs(theta) < _DRIFT
            if (abs(dev - dev_old) < 1e-10 * (abs(dev) + 0.1) and np.abs(theta).max() >= _DRIFT
                    and (not moderate.any() or np.max(np.abs(new - previous)[moderate]) < 1e-8)):
                converged = True
                break
            dev_old = dev
    G = _n_groups(groups, n)
    if not covariance:
        return GLMFit(theta, None, family, link, n, k, G, converged)
    return GLMFit(theta, _sandwich(X, y, eta, family, link, groups), family, link, n, k, G, converged)


def _n_groups(groups: np.ndarray | None, n: int) -> int:
    return n if groups is None else int(np.max(groups)) + 1 if len(groups) else 0


def _sandwich(X: np.ndarray, y: np.ndarray, eta: np.ndarray, family: str, link: str,
              groups: np.ndarray | None) -> np.ndarray:
    """CR1 sandwich ``c B M B`` at the fitted ``eta`` (see the module docstring)."""
    n, k = X.shape
    mu, dmu = mean_and_derivative(eta, link)
    mu = _clip(mu, family)
    a = dmu / _variance(mu, family)  # d loglik / d eta = (y - mu) a
    w_obs = dmu * a  # expected information; equals the observed one for canonical links
    if link == "cloglog":  # observed information: minus d2 loglik / d eta2 = mu' a - (y - mu) a'
        w_obs = w_obs - (y - mu) * a * (1 - dmu / mu)
    try:
        bread = np.linalg.inv((X.T * w_obs) @ X)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.nan)
    resid = (y - mu) * a
    if groups is None:
        scores = X * resid[:, None]
        G = n
    else:
        G = int(np.max(groups)) + 1
        scores = np.zeros((G, k))
        xr = np.ascontiguousarray(X.T) * resid  # each column's scores in one contiguous row (no strided reads)
        for j in range(k):
            scores[:, j] = np.bincount(groups, weights=xr[j], minlength=G)
    corr = G / (G - 1) * (n - 1) / (n - k) if G > 1 and n > k else np.nan
    return corr * bread @ (scores.T @ scores) @ bread


@renamed(y="values", d="treatment", clusters="cluster")
def difference_in_means(values: Any, treatment: Any, cluster: Any, *, estimand: str = "difference in means",
                        level: float = 0.95, n: Mapping[str, int] | None = None,
                        method: str | None = None, vcov: Literal["CR1", "CR2"] = "CR1") -> Estimate:
    """Mean of ``values`` where ``treatment`` = 1 minus where it is 0, with a CR1 cluster-robust
    SE (clusters: ``cluster``, an array) and a t(G - 1) interval (G clusters).

    The coefficient of ``treatment`` in the OLS of ``values`` on a constant and ``treatment``; its CR1 variance is
    statsmodels' ``OLS(...).fit(cov_type="cluster")``. The interval and p-value use Student's
    t with G - 1 degrees of freedom, as Stata and :func:`evaltools.estimate.cluster_mean` do:
    with G clusters the sandwich has at most G - 1 independent pieces (Cameron & Miller 2015,
    section VI.C). ``n`` is stored with the clusters added.

    ``vcov="CR2"``: the Bell-McCaffrey CR2 variance with Satterthwaite degrees of freedom
    (:func:`evaltools.estimate.cluster_robust.cr2`), valid with few clusters. With fewer than
    :data:`~evaltools.estimate.cluster_robust.FEW_CLUSTERS` clusters a CR1 result says so in
    ``diagnostics["few_clusters"]`` and carries the CR2 interval as the alternative. ``method``:
    the description stored in the Estimate. (Old keywords ``y=``, ``d=``, ``clusters=`` work for
    one release with a DeprecationWarning.)
    """
    vcov = check_vcov(vcov)
    yv, dv = np.asarray(values, dtype=float), np.asarray(treatment, dtype=float)
    codes, uniq = pd.factorize(np.asarray(cluster))
    if (codes < 0).any():
        raise ValueError(f"difference_in_means({estimand!r}): {int((codes < 0).sum())} row(s) have no cluster id; "
                         "drop them or give them one.")
    if not set(np.unique(dv)) <= {0.0, 1.0} or len(np.unique(dv)) < 2:
        raise ValueError(f"difference_in_means({estimand!r}): the group column must be 0/1 with both groups present.")
    G = len(uniq)
    if G < 2:
        raise ValueError(f"difference_in_means({estimand!r}): needs at least 2 clusters, found {G}.")
    X = np.column_stack([np.ones_like(dv), dv])
    fit = irls(X, yv, family="gaussian", groups=codes)
    counts = {**dict(n or {}), "clusters": G}
    how = method or "difference in means (no adjustment), CR1 SE clustered, t(G-1) interval"
    small = None
    if vcov == "CR2" or G < FEW_CLUSTERS:
        test = cr2(X, yv - X @ fit.params, codes).test(fit.params, np.array([0.0, 1.0]), level=level)
        if vcov == "CR2":
            return Estimate.from_normal(
                estimand, test["estimate"], test["se"], level=level, df=test["df"], n=counts,
                method=how.replace("CR1 SE", "CR2 SE").replace("t(G-1) interval", "Satterthwaite t interval"),
                options={"vcov": "CR2"}, diagnostics={"df": test["df"], **({"few_clusters": few_clusters(G, vcov="CR2")}
                                                                           if G < FEW_CLUSTERS else {})})
        small = few_clusters(G, {**test, "method": "CR2, Satterthwaite df"})
    return Estimate.from_normal(estimand, float(fit.params[1]), math.sqrt(fit.cov[1, 1]), level=level, df=G - 1,
                                n=counts, method=how, diagnostics={"few_clusters": small} if small else {})


def predicted_means(params: np.ndarray, X1: np.ndarray, X0: np.ndarray,
                    link: str = "logit") -> tuple[float, float, np.ndarray, np.ndarray]:
    """Mean predicted outcome over the rows of ``X1`` (treatment set to 1) and ``X0`` (set to 0),
    and the gradients of both means in the coefficients."""
    b = np.asarray(params, dtype=float)
    m1, d1 = mean_and_derivative(X1 @ b, link)
    m0, d0 = mean_and_derivative(X0 @ b, link)
    return float(m1.mean()), float(m0.mean()), (X1 * d1[:, None]).mean(axis=0), (X0 * d0[:, None]).mean(axis=0)


def g_computation(params: np.ndarray, cov: np.ndarray, X1: np.ndarray, X0: np.ndarray, *,
                  estimand: str, link: str = "logit", level: float = 0.95, n: Mapping[str, int] | None = None,
                  method: str = "g-computation (mean predicted difference), delta-method SE",
                  options: Mapping[str, Any] | None = None, report_means: bool = False) -> Estimate:
    """The mean over rows of ``mu(x1 b) - mu(x0 b)`` (regression adjustment: the effect on the
    rows' outcome scale, e.g. the ATT on a probability over the treated rows) with the
    delta-method SE ``sqrt(g' V g)``, ``g = mean_i [mu'(x1_i b) x1_i - mu'(x0_i b) x0_i]``.

    ``X1``/``X0``: the model matrix of the rows averaged over with the treatment (and its
    interactions) set to 1 / to 0; ``cov``: the model's (cluster-robust) covariance. With
    ``report_means`` the diagnostics hold the two means (``p_treated``, ``p_untreated``):
    fitted rates of a group, which with its size can give back a count, so a study publishes
    them only through disclosure control. When ``n["clusters"]`` is under 30 the diagnostics
    hold ``few_clusters`` (no CR2 for a non-linear model: ``alternative`` is None).
    """
    if len(X1) == 0:
        raise ValueError(f"g_computation({estimand!r}): no rows to average over.")
    p1, p0, g1, g0 = predicted_means(params, X1, X0, link)
    g = g1 - g0
    se = math.sqrt(max(float(g @ np.asarray(cov) @ g), 0.0))
    counts = dict(n or {})
    diagnostics = {"p_treated": p1, "p_untreated": p0} if report_means else {}
    if link != "identity" and "clusters" in counts:
        diagnostics.update(glm_few_clusters(int(counts["clusters"])))
    return Estimate.from_normal(estimand, p1 - p0, se, level=level, n=counts, method=method,
                                options=dict(options or {}), diagnostics=diagnostics)
