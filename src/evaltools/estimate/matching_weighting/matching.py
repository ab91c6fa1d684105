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

Ties (distances within ``TIE_TOL`` relative): by default exactly ``k``
neighbours are used, ties at the k-th distance broken by data order (the
first rows of ``data`` win), whatever order the tree search returns them in.
``ties="all"`` keeps every unit tied at the k-th distance with equal weight,
as Abadie and Imbens (2006) and R ``Matching::Match(ties = TRUE)``; the
conditional variances then also use all tied same-arm neighbours and R
Matching's sample-variance form. A unit is never its own neighbour.
Mahalanobis distance uses the sample covariance of the covariates, or with
``mahalanobis_cov="within"`` the pooled within-arm covariance (R MatchIt).
With ``cluster=``, ``vcov="CR2"`` gives Bell-McCaffrey SEs with Satterthwaite
df; with fewer than ``FEW_CLUSTERS`` clusters ``diagnostics["few_clusters"]``
holds the CR2 interval. docs/r_conventions.md lists the differences from R.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from evaltools.core.result import Estimate, ResultMixin, SummaryText
from evaltools.core.vocabulary import choice
from evaltools.estimate.cluster_robust import FEW_CLUSTERS, check_vcov, cr2, few_clusters
from evaltools.estimate.matching_weighting.propensity import (
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

__all__ = ["match", "MatchResult", "match_did", "MatchDiDResult"]

_DISTANCES = ("logit", "propensity", "mahalanobis")


@dataclass(repr=False)
class MatchResult(ResultMixin):
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

    def to_dict(self) -> dict[str, Any]:
        """The ATT, the number of unmatched treated units and the options (not the pairs or
        the weights, which name units)."""
        return {"type": "MatchResult", "estimate": self.estimate, "unmatched": len(self.unmatched),
                "options": self.options}

    def _summary_title(self) -> str:
        return f"Matching ({self.options.get('distance')}, k={self.options.get('k')})"

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        o = self.options
        n_used = int((self.weights[self.pairs["control"].unique()] > 0).sum()) if len(self.pairs) else 0
        return (
            f"MatchResult ({o['distance']}, k={o['k']}, replace={o['replace']}, caliper={o['caliper']})\n"
            f"  matched treated: {self.estimate.n['treated']:,}; unmatched treated: {len(self.unmatched):,}; "
            f"distinct comparison units used: {n_used:,}\n"
            + "\n".join("  " + line for line in repr(self.estimate).splitlines())
        )


def _distance_space(data: pd.DataFrame, distance: str, covariates, ps: PropensityScore | None,
                    arm: np.ndarray | None = None):
    """Coordinates in which Euclidean distance is the requested distance.

    Mahalanobis: ``S`` is the sample covariance of the covariates, or with ``arm``
    the pooled within-arm covariance ``sum_arms (X_a - mean_a)'(X_a - mean_a) / (n - 2)``
    (R MatchIt's convention).
    """
    if distance in ("propensity", "logit"):
        assert ps is not None  # fitted by match()
        z = ps.scores.to_numpy() if distance == "propensity" else ps.logit.to_numpy()
        return z[:, None], ps
    if distance == "mahalanobis":
        X = design_matrix(data, covariates, intercept=False).to_numpy()
        if arm is None:
            S = np.cov(X, rowvar=False).reshape(X.shape[1], X.shape[1])
        else:
            Xc = X.astype(float).copy()
            for a in (0, 1):
                Xc[arm == a] -= Xc[arm == a].mean(axis=0)
            S = Xc.T @ Xc / (len(X) - 2)
        if np.linalg.matrix_rank(S) < S.shape[0]:
            raise CausalInputError("The covariates are collinear, so the Mahalanobis distance is undefined: drop redundant ones.")
        L = np.linalg.cholesky(np.linalg.inv(S))
        return X @ L, ps
    raise CausalInputError(f"distance must be 'propensity', 'logit' or 'mahalanobis', got {distance!r}.")


#: Distances closer than this (relative to max(1, distance)) are ties.
TIE_TOL = 1e-10


def _select(d: np.ndarray, pos: np.ndarray, k: int, ties: str) -> np.ndarray:
    """Which of the candidates (distances ``d``, data positions ``pos``) are the neighbours.

    All candidates strictly closer than the k-th distance, then the ones tied at
    the k-th distance: all of them (``ties="all"``) or the first in data order.
    """
    dk = np.partition(d, k - 1)[k - 1] if len(d) > k else d.max()
    tol = TIE_TOL * max(1.0, dk)
    closer = np.flatnonzero(d < dk - tol)
    tied = np.flatnonzero(np.abs(d - dk) <= tol)
    if ties == "all":
        return np.concatenate([closer, tied])
    tied = tied[np.argsort(pos[tied], kind="stable")][: k - len(closer)]
    return np.concatenate([closer, tied])


def _candidates(nn: NearestNeighbors, Zref: np.ndarray, Zq: np.ndarray, k: int, skip: np.ndarray | None = None):
    """For each query row, the reference rows up to and including every tie at the k-th
    distance (distances recomputed exactly). ``skip[i]``: a reference row to leave out
    (the query itself, so no unit is its own neighbour)."""
    extra = 0 if skip is None else 1
    q = np.full(len(Zq), min(len(Zref), k + extra + 8))
    n_ref = len(Zref)
    out: list[tuple[np.ndarray, np.ndarray]] = [None] * len(Zq)  # type: ignore[list-item]
    todo = np.arange(len(Zq))
    while len(todo):
        again = []
        for qq in np.unique(q[todo]):
            rows = todo[q[todo] == qq]
            _, idx = nn.kneighbors(Zq[rows], n_neighbors=int(qq))
            for r, ii in zip(rows, idx):
                if skip is not None:
                    ii = ii[ii != skip[r]]
                d = np.sqrt(((Zref[ii] - Zq[r]) ** 2).sum(axis=1))
                kk = min(k, len(ii))
                dk = np.partition(d, kk - 1)[kk - 1]
                # the farthest candidate must be beyond the k-th distance, else ties may be missing
                if qq < n_ref and d.max() <= dk + TIE_TOL * max(1.0, dk):
                    again.append(r)
                else:
                    out[r] = (d, ii)
        todo = np.array(again, int)
        q[todo] = np.minimum(n_ref, q[todo] * 4)
    return out


def _neighbours(Zref: np.ndarray, Zq: np.ndarray, k: int, ties: str, skip: np.ndarray | None = None):
    """Flat arrays (query row, reference row, distance) of each query row's neighbours.

    Rows whose k-th and (k+1)-th nearest candidates are not tied take the k nearest
    at once (vectorised); the others go through :func:`_candidates`/:func:`_select`.
    ``skip[i]``: a reference row that query row ``i`` may not use (itself).
    """
    nn = NearestNeighbors().fit(Zref)
    extra = 0 if skip is None else 1
    q = min(len(Zref), k + 1 + extra)
    dist, idx = nn.kneighbors(Zq, n_neighbors=q)
    if skip is not None:
        keep = idx != skip[:, None]
        found = keep.sum(axis=1) == q - 1
        keep[~found, -1] = False  # self not among the candidates: a tie row (slow path); keep shapes
        dist, idx = dist[keep].reshape(len(Zq), q - 1), idx[keep].reshape(len(Zq), q - 1)
    else:
        found = np.ones(len(Zq), bool)
    if dist.shape[1] > k:
        dk = dist[:, k - 1]
        fast = found & (dist[:, k] > dk + TIE_TOL * np.maximum(1.0, dk))
    else:
        fast = np.zeros(len(Zq), bool)
    rows = np.flatnonzero(fast)
    qi, rj, dd = [np.repeat(rows, k)], [idx[rows, :k].ravel()], [dist[rows, :k].ravel()]
    slow = np.flatnonzero(~fast)
    if len(slow):
        sub_skip = None if skip is None else skip[slow]
        for r, (d, ii) in zip(slow, _candidates(nn, Zref, Zq[slow], k, skip=sub_skip)):
            sel = _select(d, ii, min(k, len(ii)), ties)
            qi.append(np.full(len(sel), r))
            rj.append(ii[sel])
            dd.append(d[sel])
    qi, rj, dd = np.concatenate(qi), np.concatenate(rj), np.concatenate(dd)
    order = np.lexsort((rj, qi))
    return qi[order], rj[order], dd[order]


def _nn_with_replacement(Zt, Zc, k, caliper, ties):
    """Flat arrays (treated position, control position, distance) of the matches."""
    ti, cj, dd = _neighbours(Zc, Zt, k, ties)
    if caliper is not None:
        ok = dd <= caliper
        ti, cj, dd = ti[ok], cj[ok], dd[ok]
    return ti, cj, dd


def _nn_without_replacement(Zt, Zc, k, caliper, order):
    """Greedy matching without replacement in ``order``; ties by data order."""
    if k * len(Zt) > len(Zc) and caliper is None:
        raise CausalInputError(
            f"Matching without replacement needs at least k x treated = {k * len(Zt)} comparison units; "
            f"there are {len(Zc)}. Use replace=True or a smaller k."
        )
    available = np.ones(len(Zc), bool)
    nn = NearestNeighbors().fit(Zc)
    ti, cj, dd = [], [], []
    for i in order:
        q = min(len(Zc), 4 * k + 16)
        while True:
            _, ii = nn.kneighbors(Zt[i : i + 1], n_neighbors=q)
            ii = ii[0][available[ii[0]]]
            d = np.sqrt(((Zc[ii] - Zt[i]) ** 2).sum(axis=1))
            if q == len(Zc):
                break
            if len(ii) > k:  # the farthest free candidate must lie beyond the k-th distance (ties)
                dk = np.partition(d, k - 1)[k - 1]
                if d.max() > dk + TIE_TOL * max(1.0, dk):
                    break
            q = min(len(Zc), q * 4)
        if len(ii) == 0:
            continue
        sel = _select(d, ii, min(k, len(ii)), "first")
        if caliper is not None:
            sel = sel[d[sel] <= caliper]
        ti.append(np.full(len(sel), i))
        cj.append(ii[sel])
        dd.append(d[sel])
        available[ii[sel]] = False
    if not ti:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    return np.concatenate(ti), np.concatenate(cj), np.concatenate(dd)


def _same_arm_variance(Z: np.ndarray, y: np.ndarray, J: int, ties: str = "first") -> np.ndarray:
    """Conditional variance of each unit from its ``J`` nearest same-arm neighbours.

    ``ties="first"``: ``s^2 = J/(J+1) (y - mean of the J neighbours)^2`` (AI 2006,
    eq. 14), ties at the J-th distance broken by data order. ``ties="all"``: every
    unit tied at the J-th distance is a neighbour and ``s^2`` is the sample variance
    (denominator m) of the unit and its m neighbours, as R ``Matching`` (``Var.calc = J``);
    the two agree for J = 1 without ties. A unit is never its own neighbour
    (duplicates of it may be).
    """
    J = min(J, len(y) - 1)
    r, j, _ = _neighbours(Z, Z, J, ties, skip=np.arange(len(Z)))
    m = np.bincount(r, minlength=len(y)).astype(float)
    mean_nb = np.bincount(r, weights=y[j], minlength=len(y)) / m
    if ties == "all":  # sample variance (denominator m) of the unit and its m neighbours
        mean_all = (mean_nb * m + y) / (m + 1)
        ss = np.bincount(r, weights=(y[j] - mean_all[r]) ** 2, minlength=len(y)) + (y - mean_all) ** 2
        return ss / m
    return J / (J + 1) * (y - mean_nb) ** 2


def match(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] | str,
    *,
    distance: Literal["logit", "propensity", "mahalanobis"] = "logit",
    k: int = 1,
    caliper: float | None = None,
    replace: bool = True,
    bias_adjust: bool = False,
    cluster: str | None = None,
    variance_neighbours: int = 2,
    pscore: PropensityScore | None = None,
    level: float = 0.95,
    ties: Literal["first", "all"] = "first",
    mahalanobis_cov: Literal["pooled", "within"] = "pooled",
    vcov: Literal["CR1", "CR2"] = "CR1",
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
    ties: ``"first"`` (default): exactly ``k`` neighbours, ties at the k-th
        distance broken by data order; ``"all"``: every comparison unit tied at
        the k-th distance is used, with equal weight (Abadie-Imbens; R
        ``Matching::Match(ties = TRUE)``); with replacement only.
    mahalanobis_cov: ``"pooled"`` (default): covariance of the whole sample;
        ``"within"``: the pooled within-arm covariance (R ``MatchIt``'s
        ``distance = "mahalanobis"``); see docs/r_conventions.md.
    vcov: with ``cluster``: ``"CR1"`` (default) or ``"CR2"`` (Bell-McCaffrey with
        Satterthwaite df; :mod:`evaltools.estimate.cluster_robust`).
    """
    data = check_frame(data)
    w = treatment_array(data, treatment)
    y = numeric_column(data, outcome, "outcome")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise CausalInputError(f"k must be a positive integer, got {k!r}.")
    if caliper is not None and not caliper > 0:
        raise CausalInputError(f"caliper must be a positive number of standard deviations, got {caliper!r}.")
    distance = choice(distance, _DISTANCES, "distance", where="match", error=CausalInputError)
    ties = choice(ties, ("first", "all"), "ties", where="match", error=CausalInputError,
                  hint="'first': the first in data order, 'all': every tied control (Abadie-Imbens).")
    if ties == "all" and not replace:
        raise CausalInputError("ties='all' needs replace=True: without replacement a tied unit can serve one "
                               "treated unit only.")
    mahalanobis_cov = choice(mahalanobis_cov, ("pooled", "within"), "mahalanobis_cov", where="match",
                             error=CausalInputError)
    vcov = check_vcov(vcov)
    if vcov == "CR2" and cluster is None:
        raise CausalInputError("vcov='CR2' is a cluster-robust variance: give cluster= (e.g. the school column); "
                               "without clusters the SE is Abadie-Imbens'.")
    ps = pscore
    if distance in ("propensity", "logit") and ps is None:
        ps = propensity_score(data, treatment, covariates)
    if ps is not None and len(ps.scores) != len(data):
        raise CausalInputError("The pscore given was fitted on a different number of rows than data.")
    Z, ps = _distance_space(data, distance, covariates, ps, w if mahalanobis_cov == "within" else None)
    t_idx, c_idx = np.nonzero(w == 1)[0], np.nonzero(w == 0)[0]
    Zt, Zc = Z[t_idx], Z[c_idx]
    cal = None if caliper is None else caliper * (float(np.std(Z[:, 0], ddof=1)) if Z.shape[1] == 1 else 1.0)
    if replace:
        ti, cj, pdist = _nn_with_replacement(Zt, Zc, k, cal, ties)
    else:
        order = np.argsort(-Zt[:, 0], kind="stable") if Z.shape[1] == 1 else np.arange(len(Zt))
        ti, cj, pdist = _nn_without_replacement(Zt, Zc, k, cal, order)
    m_i = np.bincount(ti, minlength=len(t_idx))
    matched = m_i > 0
    if not matched.any():
        raise CausalInputError("No treated unit has a comparison unit within the caliper: widen the caliper.")
    # Pairs and weights.
    pw = 1.0 / m_i[ti]
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
        s2 = _same_arm_variance(Zc, y_c, variance_neighbours, ties)
        var = (np.sum((diffs - att) ** 2) + np.sum((K**2 - L) * s2)) / N1**2
        se_method = "Abadie-Imbens (2006), population ATT" + (
            "; propensity score treated as known" if distance != "mahalanobis" else "")
        df = None
    else:
        cl = cluster_codes(data, cluster)
        keep = weights > 0
        var, G, small = _weighted_cluster_var(resid[keep], w[keep], weights[keep], cl[keep], vcov, level)
        n["clusters"] = G
        se_method = (f"cluster-robust ({vcov}) SE of the weighted regression in the matched sample, "
                     + ("Satterthwaite df" if vcov == "CR2" else "t(G-1)"))
        df = small["df"] if vcov == "CR2" else G - 1
    est = Estimate.from_normal(
        f"ATT of {treatment} on {outcome}", att, float(np.sqrt(var)), level=level, df=df, n=n,
        method=f"nearest-neighbour matching on {distance} distance ({k}:1, "
               f"{'with' if replace else 'without'} replacement{', bias-adjusted' if bias_adjust else ''})",
        options={"distance": distance, "k": k, "caliper": caliper, "replace": replace,
                 "bias_adjust": bias_adjust, "cluster": cluster, "ties": ties,
                 **({"mahalanobis_cov": mahalanobis_cov} if distance == "mahalanobis" else {}),
                 **({"vcov": vcov} if cluster is not None else {})},
        diagnostics={"se": se_method, "unmatched_treated": int((~matched).sum()),
                     "max_comparison_weight": float(K.max()),
                     **({"few_clusters": fc} if cluster is not None and (fc := few_clusters(G, small, vcov=vcov)) else {})},
    )
    pairs = pd.DataFrame({"treated": labels[t_idx[ti]], "control": labels[c_idx[cj]],
                          "distance": pdist, "weight": pw})
    return MatchResult(estimate=est, pairs=pairs, weights=weights_s,
                       unmatched=list(labels[t_idx[~matched]]), pscore=ps,
                       options={"distance": distance, "k": k, "caliper": caliper, "replace": replace,
                                "ties": ties})


def _weighted_cluster_var(y, w, wt, cl, vcov="CR1", level=0.95):
    """Variance of the coefficient on ``w`` in WLS of ``y`` on (1, w) with weights ``wt``:
    CR1 (``G/(G-1) (n-1)/(n-p)``) or CR2; also the CR2 test (``None`` when CR1 with
    enough clusters, since nothing needs it)."""
    X = np.column_stack([np.ones_like(y), w.astype(float)])
    XtWX = (X * wt[:, None]).T @ X
    b = np.linalg.solve(XtWX, (X * wt[:, None]).T @ y)
    u = y - X @ b
    codes = pd.factorize(cl)[0]
    G = codes.max() + 1
    if G < 2:
        raise CausalInputError("Clustered standard errors need at least two clusters in the matched sample.")
    small = None
    if vcov == "CR2" or G < FEW_CLUSTERS:
        small = {"method": "CR2, Satterthwaite df",
                 **cr2(X, u, codes, weights=wt).test(b, np.array([0.0, 1.0]), level=level)}
    if vcov == "CR2":
        return small["se"] ** 2, int(G), small
    S = np.zeros((G, 2))
    np.add.at(S, codes, X * (wt * u)[:, None])
    B = np.linalg.inv(XtWX)
    n, p = len(y), 2
    V = B @ (S.T @ S) @ B * (G / (G - 1)) * ((n - 1) / (n - p))
    return float(V[1, 1]), int(G), small


# ---------------------------------------------------------------------------
# Matching + difference in differences over adoption cohorts
# ---------------------------------------------------------------------------


@dataclass(repr=False)
class MatchDiDResult(ResultMixin):
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

    @property
    def estimate(self) -> Estimate:
        """The headline: the treated-weighted average over cohorts (``overall``)."""
        return self.overall

    def to_dict(self) -> dict[str, Any]:
        """The overall ATT, the cohort table and the options."""
        return {"type": "MatchDiDResult", "estimate": self.overall, "table": self.table, "options": self.options}

    def _summary_title(self) -> str:
        return "Matched difference-in-differences by cohort"

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
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
    distance: Literal["logit", "propensity", "mahalanobis"] = "logit",
    k: int = 1,
    caliper: float | None = None,
    replace: bool = True,
    level: float = 0.95,
    vcov: Literal["CR1", "CR2"] = "CR1",
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
    regression (a never-treated unit can serve several cohorts): CR1 with a
    normal reference, or with ``vcov="CR2"`` CR2 with Satterthwaite df.
    """
    vcov = check_vcov(vcov)
    distance = choice(distance, _DISTANCES, "distance", where="match_did", error=CausalInputError)
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
    small, df = None, None
    if vcov == "CR2" or Gc < FEW_CLUSTERS:
        small = {"method": "CR2, Satterthwaite df", **cr2(D, u, codes, weights=wt).test(beta, a, level=level)}
        if vcov == "CR2":
            se, df = small["se"], small["df"]
    fc = few_clusters(int(Gc), small, vcov=vcov)
    est = Estimate.from_normal(
        f"ATT of adoption on {outcome} (matched DiD, cohort-weighted)", overall, se, level=level, df=df,
        n={"treated": int(table["n_treated"].sum()), "comparison": int(S.loc[S["w"] == 0, "unit"].nunique()),
           "cohorts": len(gs), "clusters": int(Gc)},
        method="matching on baseline covariates within adoption cohort + DiD (never-treated comparisons)",
        options={"distance": distance, "k": k, "caliper": caliper, "replace": replace, "covariates": list(covariates),
                 "vcov": vcov},
        diagnostics={"se": f"unit-clustered ({vcov}) SE of the stacked weighted regression",
                     **({"few_clusters": fc} if fc else {})},
    )
    return MatchDiDResult(table=table, overall=est, options={"cohort": cohort, "time": time, "unit": unit})
