"""Nearest-neighbour matching for the ATT, and matching combined with DiD.

Each treated unit ``i`` is matched to its ``k`` nearest comparison units
``J(i)`` on the (logit) propensity score or on the Mahalanobis distance of the
covariates, with or without replacement, optionally within a caliper. With
``K_j = sum_{i: j in J(i)} 1 / |J(i)|`` the weight of comparison unit ``j``::

    ATT = 1/N1 sum_{i treated} (Y_i - Y_i(0)_hat),   Y_i(0)_hat = mean_{j in J(i)} Y_j

``bias_adjust=True`` adds the Abadie-Imbens (2011) regression adjustment
``mu0(X_i) - mu0(X_j)`` (least squares on the comparison units).

Standard errors (``se="ai"``): Abadie and Imbens (2006), for the population
ATT, with conditional variances from ``J`` same-arm neighbours::

    V = 1/N1^2 [ sum_treated (Y_i - Y_i(0)_hat - ATT)^2 + sum_comparison (K_j^2 - L_j) s_j^2 ]

where ``L_j = sum 1/|J(i)|^2`` and ``s_j^2 = J/(J+1) (Y_j - mean of its J
nearest comparison neighbours)^2``. When matching on an *estimated*
propensity score this formula treats the score as known (Abadie and Imbens
2016 give the correction; for the ATT the sign of the error is not known).
With ``cluster=`` the SE is instead the cluster-robust SE of the weighted
regression of ``Y`` on treatment in the matched sample (Abadie and Spiess
2022 justify this for matching without replacement), conditional on the match.

Ties: exactly ``k`` neighbours are used (ties at the k-th distance are broken
by data order), unlike Abadie-Imbens' estimator, which keeps all tied units.
Mahalanobis distance uses the pooled sample covariance of the covariates.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from evaltools.estimate.propensity import (
    CausalInputError,
    PropensityScore,
    check_columns,
    check_frame,
    cluster_codes,
    design_matrix,
    numeric_column,
    propensity_score,
    treatment_array,
)
from evaltools.estimate.result import Estimate

__all__ = ["match", "MatchResult", "match_did", "MatchDiDResult"]


@dataclass
class MatchResult:
    """The matched sample and the ATT.

    Attributes
    ----------
    estimate: the ATT (:class:`Estimate`).
    pairs: one row per (treated, comparison) match: ``treated``, ``control``
        (row labels of the data), ``distance`` and ``weight`` (``1/|J(i)|``).
    weights: a weight per row of the data (1 for matched treated, ``K_j`` for
        comparison units, 0 for unmatched), for :func:`balance_table`.
    unmatched: labels of treated units with no comparison within the caliper.
    """

    estimate: Estimate
    pairs: pd.DataFrame
    weights: pd.Series
    unmatched: list
    pscore: PropensityScore | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The ATT as a one-row table."""
        return self.estimate.to_frame()

    def __repr__(self) -> str:
        o = self.options
        n_used = int((self.weights[self.pairs["control"].unique()] > 0).sum()) if len(self.pairs) else 0
        return (
            f"MatchResult ({o['distance']}, k={o['k']}, replace={o['replace']}, caliper={o['caliper']})\n"
            f"  matched treated: {self.estimate.n['treated']:,}; unmatched treated: {len(self.unmatched):,}; "
            f"distinct comparison units used: {n_used:,}\n"
            + "\n".join("  " + line for line in repr(self.estimate).splitlines())
        )


def _distance_space(data: pd.DataFrame, distance: str, covariates, ps: PropensityScore | None):
    """Coordinates in which Euclidean distance is the requested distance."""
    if distance in ("propensity", "logit"):
        assert ps is not None  # fitted by match()
        z = ps.scores.to_numpy() if distance == "propensity" else ps.logit.to_numpy()
        return z[:, None], ps
    if distance == "mahalanobis":
        X = design_matrix(data, covariates, intercept=False).to_numpy()
        S = np.cov(X, rowvar=False).reshape(X.shape[1], X.shape[1])
        if np.linalg.matrix_rank(S) < S.shape[0]:
            raise CausalInputError("The covariates are collinear, so the Mahalanobis distance is undefined: drop redundant ones.")
        L = np.linalg.cholesky(np.linalg.inv(S))
        return X @ L, ps
    raise CausalInputError(f"distance must be 'propensity', 'logit' or 'mahalanobis', got {distance!r}.")


def _nn_with_replacement(Zt, Zc, k, caliper):
    nn = NearestNeighbors(n_neighbors=min(k, len(Zc))).fit(Zc)
    dist, idx = nn.kneighbors(Zt)
    ok = np.ones_like(dist, bool) if caliper is None else dist <= caliper
    return dist, idx, ok


def _nn_without_replacement(Zt, Zc, k, caliper, order):
    if k * len(Zt) > len(Zc) and caliper is None:
        raise CausalInputError(
            f"Matching without replacement needs at least k x treated = {k * len(Zt)} comparison units; "
            f"there are {len(Zc)}. Use replace=True or a smaller k."
        )
    available = np.ones(len(Zc), bool)
    nn = NearestNeighbors().fit(Zc)
    dist = np.full((len(Zt), k), np.inf)
    idx = np.zeros((len(Zt), k), int)
    for i in order:
        q = min(len(Zc), 4 * k + 16)
        while True:
            dd, ii = nn.kneighbors(Zt[i : i + 1], n_neighbors=q)
            free = available[ii[0]]
            if free.sum() >= k or q == len(Zc):
                break
            q = min(len(Zc), q * 4)
        cand_d, cand_i = dd[0][free][:k], ii[0][free][:k]
        if caliper is not None:
            keep = cand_d <= caliper
            cand_d, cand_i = cand_d[keep], cand_i[keep]
        dist[i, : len(cand_d)] = cand_d
        idx[i, : len(cand_i)] = cand_i
        available[cand_i] = False
    ok = np.isfinite(dist)
    return dist, idx, ok


def _same_arm_variance(Z: np.ndarray, y: np.ndarray, J: int) -> np.ndarray:
    """s^2 = J/(J+1) (y - mean of the J nearest same-arm neighbours)^2 (AI 2006, eq. 14)."""
    J = min(J, len(y) - 1)
    nn = NearestNeighbors(n_neighbors=J + 1).fit(Z)
    _, idx = nn.kneighbors(Z)
    nb = idx[:, 1:]  # drop self (ties aside)
    return J / (J + 1) * (y - y[nb].mean(axis=1)) ** 2


def match(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] | str,
    *,
    distance: str = "logit",
    k: int = 1,
    caliper: float | None = None,
    replace: bool = True,
    bias_adjust: bool = False,
    cluster: str | None = None,
    variance_neighbours: int = 2,
    pscore: PropensityScore | None = None,
    level: float = 0.95,
) -> MatchResult:
    """Nearest-neighbour matching estimate of the ATT.

    Parameters
    ----------
    distance: ``"logit"`` (logit of the propensity score; default),
        ``"propensity"`` or ``"mahalanobis"`` (on ``covariates``).
    k: comparison units per treated unit (k:1).
    caliper: maximum distance, in standard deviations of the score for
        ``"logit"``/``"propensity"`` (0.2 SD of the logit is the usual choice,
        Austin 2011), in Mahalanobis units for ``"mahalanobis"``.
    replace: match with replacement (default) or greedy without replacement
        (treated units with the highest score first).
    bias_adjust: Abadie-Imbens (2011) regression bias adjustment.
    cluster: column for cluster-robust SEs (weighted regression in the matched sample).
    variance_neighbours: ``J`` for the AI conditional-variance estimate.
    pscore: a fitted :class:`PropensityScore` to reuse (else fitted on ``covariates``).
    """
    data = check_frame(data)
    w = treatment_array(data, treatment)
    y = numeric_column(data, outcome, "outcome")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise CausalInputError(f"k must be a positive integer, got {k!r}.")
    if caliper is not None and not caliper > 0:
        raise CausalInputError(f"caliper must be a positive number of standard deviations, got {caliper!r}.")
    ps = pscore
    if distance in ("propensity", "logit") and ps is None:
        ps = propensity_score(data, treatment, covariates)
    if ps is not None and len(ps.scores) != len(data):
        raise CausalInputError("The pscore given was fitted on a different number of rows than data.")
    Z, ps = _distance_space(data, distance, covariates, ps)
    t_idx, c_idx = np.nonzero(w == 1)[0], np.nonzero(w == 0)[0]
    Zt, Zc = Z[t_idx], Z[c_idx]
    cal = None if caliper is None else caliper * (float(np.std(Z[:, 0], ddof=1)) if Z.shape[1] == 1 else 1.0)
    if replace:
        dist, idx, ok = _nn_with_replacement(Zt, Zc, k, cal)
    else:
        order = np.argsort(-Zt[:, 0]) if Z.shape[1] == 1 else np.arange(len(Zt))
        dist, idx, ok = _nn_without_replacement(Zt, Zc, k, cal, order)
    m_i = ok.sum(axis=1)
    matched = m_i > 0
    if not matched.any():
        raise CausalInputError("No treated unit has a comparison unit within the caliper: widen the caliper.")
    # Pairs and weights.
    ti, col = np.nonzero(ok)
    pw = 1.0 / m_i[ti]
    cj = idx[ti, col]
    K = np.bincount(cj, weights=pw, minlength=len(c_idx))
    L = np.bincount(cj, weights=pw**2, minlength=len(c_idx))
    y_t, y_c = y[t_idx], y[c_idx]
    adj = np.zeros(len(ti))
    resid = y  # the ATT is the weighted mean difference of y (bias-adjusted: of y - mu0(X))
    if bias_adjust:
        Xo = design_matrix(data, covariates).to_numpy()
        beta = np.linalg.lstsq(Xo[c_idx], y_c, rcond=None)[0]
        mu0 = Xo @ beta
        adj = mu0[t_idx[ti]] - mu0[c_idx[cj]]
        resid = y - mu0
    y0hat = np.bincount(ti, weights=pw * (y_c[cj] + adj), minlength=len(t_idx))
    N1 = int(matched.sum())
    if N1 < 2:
        raise CausalInputError(
            f"Only {N1} treated unit has a match: an ATT and its standard error need at least 2 matched "
            "treated units (widen the caliper or pool cohorts)."
        )
    diffs = (y_t - y0hat)[matched]
    att = float(diffs.mean())
    labels = data.index.to_numpy()
    weights = np.zeros(len(data))
    weights[t_idx[matched]] = 1.0
    weights[c_idx] = K
    weights_s = pd.Series(weights, index=data.index, name="match_weight")
    n = {"treated": N1, "comparison": int((K > 0).sum()), "units": N1 + int((K > 0).sum())}
    if cluster is None:
        s2 = _same_arm_variance(Zc, y_c, variance_neighbours)
        var = (np.sum((diffs - att) ** 2) + np.sum((K**2 - L) * s2)) / N1**2
        se_method = "Abadie-Imbens (2006), population ATT" + (
            "; propensity score treated as known" if distance != "mahalanobis" else "")
        df = None
    else:
        cl = cluster_codes(data, cluster)
        keep = weights > 0
        var, G = _weighted_cluster_var(resid[keep], w[keep], weights[keep], cl[keep])
        n["clusters"] = G
        se_method = "cluster-robust (CR1) SE of the weighted regression in the matched sample, t(G-1)"
        df = G - 1
    est = Estimate.from_normal(
        f"ATT of {treatment} on {outcome}", att, float(np.sqrt(var)), level=level, df=df, n=n,
        method=f"nearest-neighbour matching on {distance} distance ({k}:1, "
               f"{'with' if replace else 'without'} replacement{', bias-adjusted' if bias_adjust else ''})",
        options={"distance": distance, "k": k, "caliper": caliper, "replace": replace,
                 "bias_adjust": bias_adjust, "cluster": cluster},
        diagnostics={"se": se_method, "unmatched_treated": int((~matched).sum()),
                     "max_comparison_weight": float(K.max())},
    )
    pairs = pd.DataFrame({"treated": labels[t_idx[ti]], "control": labels[c_idx[cj]],
                          "distance": dist[ti, col], "weight": pw})
    return MatchResult(estimate=est, pairs=pairs, weights=weights_s,
                       unmatched=list(labels[t_idx[~matched]]), pscore=ps,
                       options={"distance": distance, "k": k, "caliper": caliper, "replace": replace})


def _weighted_cluster_var(y, w, wt, cl):
    """CR1 variance of the coefficient on ``w`` in WLS of ``y`` on (1, w) with weights ``wt``."""
    X = np.column_stack([np.ones_like(y), w.astype(float)])
    XtWX = (X * wt[:, None]).T @ X
    b = np.linalg.solve(XtWX, (X * wt[:, None]).T @ y)
    u = y - X @ b
    codes = pd.factorize(cl)[0]
    G = codes.max() + 1
    if G < 2:
        raise CausalInputError("Clustered standard errors need at least two clusters in the matched sample.")
    S = np.zeros((G, 2))
    np.add.at(S, codes, X * (wt * u)[:, None])
    B = np.linalg.inv(XtWX)
    n, p = len(y), 2
    V = B @ (S.T @ S) @ B * (G / (G - 1)) * ((n - 1) / (n - p))
    return float(V[1, 1]), int(G)


# ---------------------------------------------------------------------------
# Matching + difference in differences over adoption cohorts
# ---------------------------------------------------------------------------


@dataclass
class MatchDiDResult:
    """Matched DiD by adoption cohort and overall.

    ``table`` has one row per cohort (ATT, SE, CI, n treated, n comparison);
    ``overall`` is the treated-weighted average (an :class:`Estimate`).
    """

    table: pd.DataFrame
    overall: Estimate
    options: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Cohort rows plus an ``overall`` row (columns: att, se, ci_low, ci_high, n_treated, n_comparison)."""
        o = self.overall
        overall = pd.DataFrame([{"baseline": np.nan, "att": o.estimate, "se": o.se, "ci_low": o.ci_low,
                                 "ci_high": o.ci_high, "n_treated": o.n["treated"],
                                 "n_comparison": o.n["comparison"]}], index=pd.Index(["overall"], name="cohort"))
        return pd.concat([self.table, overall])

    def __repr__(self) -> str:
        return ("Matched difference-in-differences by cohort (never-treated comparison units)\n"
                + self.table.to_string(float_format=lambda v: f"{v:.4g}") + "\n" + repr(self.overall))


def match_did(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str],
    *,
    distance: str = "logit",
    k: int = 1,
    caliper: float | None = None,
    replace: bool = True,
    level: float = 0.95,
) -> MatchDiDResult:
    """Match each adoption cohort to never-treated units on pre-adoption data, then DiD.

    For cohort ``g`` (first treated period) the baseline is period ``g - 1``;
    treated units of cohort ``g`` are matched to never-treated units (``cohort``
    missing or 0) on ``covariates`` measured at the baseline (include the
    baseline outcome to match on it). The outcome is the change from the
    baseline to the mean of the periods ``g, ..., T``:
    ``dY_i = mean_{t >= g} Y_it - Y_i,g-1``, and ATT_g is the matched
    difference in ``dY`` (Heckman, Ichimura and Todd 1997). Per-cohort SEs are
    Abadie-Imbens; the overall ATT averages cohorts by their matched treated
    counts, and its SE is the unit-clustered SE of the stacked weighted
    regression (a never-treated unit can serve several cohorts).
    """
    data = check_frame(data)
    check_columns(data, [outcome, unit, time, cohort, *covariates], "panel")
    if data.duplicated([unit, time]).any():
        raise CausalInputError(f"There are duplicate ({unit}, {time}) rows: the data must be a panel with one row per unit and period.")
    if not pd.api.types.is_numeric_dtype(data[cohort]):
        raise CausalInputError(f"The cohort column '{cohort}' must hold the first treated period (a number) or be missing.")
    if (data.groupby(unit)[cohort].nunique(dropna=False) > 1).any():
        raise CausalInputError(f"The cohort column '{cohort}' varies within some units: it must be constant per {unit}.")
    coh = data.groupby(unit)[cohort].first().astype("float64")  # nullable Int64 -> float with NaN
    never = coh.isna() | (coh == 0)
    cohorts = [int(g) if float(g).is_integer() else float(g) for g in sorted(coh[~never].unique())]
    if not cohorts:
        raise CausalInputError(f"No unit has a cohort (first treated period) in '{cohort}'.")
    if never.sum() == 0:
        raise CausalInputError("There are no never-treated units to serve as comparisons.")
    wide = data.pivot(index=unit, columns=time, values=outcome)
    periods = np.array(sorted(wide.columns))
    rows, stacked, skipped = [], [], []
    for g in cohorts:
        base = periods[periods < g]
        post = periods[periods >= g]
        if len(base) == 0 or len(post) == 0:
            skipped.append(g)
            continue
        b = base.max()
        units = coh.index[(coh == g) | never]
        bl = data[(data[time] == b) & data[unit].isin(units)].set_index(unit)
        dy = wide.loc[bl.index, post].mean(axis=1) - wide.loc[bl.index, b]
        sub = bl[list(covariates)].assign(_dy=dy, _w=(coh.loc[bl.index] == g).astype(int).to_numpy())
        sub = sub.dropna()
        if sub["_w"].sum() < 2 or sub["_w"].min() == 1:
            skipped.append(g)
            continue
        m = match(sub, "_dy", "_w", list(covariates), distance=distance, k=k, caliper=caliper, replace=replace, level=level)
        e = m.estimate
        rows.append({"cohort": g, "baseline": b, "att": e.estimate, "se": e.se, "ci_low": e.ci_low,
                     "ci_high": e.ci_high, "n_treated": e.n["treated"], "n_comparison": e.n["comparison"]})
        wts = m.weights[m.weights > 0]
        stacked.append(pd.DataFrame({"unit": wts.index, "cohort": g, "w": sub.loc[wts.index, "_w"].to_numpy(),
                                     "weight": wts.to_numpy(), "dy": sub.loc[wts.index, "_dy"].to_numpy()}))
    if not rows:
        raise CausalInputError(
            "No cohort has a baseline period, a post period and at least 2 treated units with complete data."
        )
    if skipped:
        warnings.warn(f"Cohorts {skipped} were left out: fewer than 2 treated units with complete baseline data, "
                      "or no baseline/post period.", RuntimeWarning, stacklevel=2)
    table = pd.DataFrame(rows).set_index("cohort")
    S = pd.concat(stacked, ignore_index=True)
    # Stacked WLS: dy on cohort dummies and cohort-specific treated dummies; combine treated-weighted.
    gs = table.index.to_numpy()
    D = np.column_stack([(S["cohort"] == g).to_numpy(float) for g in gs]
                        + [((S["cohort"] == g) & (S["w"] == 1)).to_numpy(float) for g in gs])
    wt = S["weight"].to_numpy()
    XtWX = (D * wt[:, None]).T @ D
    beta = np.linalg.solve(XtWX, (D * wt[:, None]).T @ S["dy"].to_numpy())
    u = S["dy"].to_numpy() - D @ beta
    codes = pd.factorize(S["unit"])[0]
    Gc = codes.max() + 1
    M = np.zeros((Gc, D.shape[1]))
    np.add.at(M, codes, D * (wt * u)[:, None])
    B = np.linalg.inv(XtWX)
    V = B @ (M.T @ M) @ B * Gc / (Gc - 1)
    share = table["n_treated"].to_numpy() / table["n_treated"].sum()
    a = np.concatenate([np.zeros(len(gs)), share])
    overall = float(a @ beta)
    se = float(np.sqrt(a @ V @ a))
    est = Estimate.from_normal(
        f"ATT of adoption on {outcome} (matched DiD, cohort-weighted)", overall, se, level=level,
        n={"treated": int(table["n_treated"].sum()), "comparison": int(S.loc[S["w"] == 0, "unit"].nunique()),
           "cohorts": len(gs), "clusters": int(Gc)},
        method="matching on baseline covariates within adoption cohort + DiD (never-treated comparisons)",
        options={"distance": distance, "k": k, "caliper": caliper, "replace": replace, "covariates": list(covariates)},
        diagnostics={"se": "unit-clustered SE of the stacked weighted regression"},
    )
    return MatchDiDResult(table=table, overall=est, options={"cohort": cohort, "time": time, "unit": unit})
