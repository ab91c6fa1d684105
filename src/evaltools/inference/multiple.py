"""Multiple testing and the WWC correction for a clustering mismatch.

* :func:`benjamini_hochberg` - false discovery rate control (Benjamini & Hochberg 1995),
  which the WWC applies to the outcomes within a domain (Procedures Handbook v5.0);
  computed with statsmodels' ``multipletests``.
* :func:`wwc_cluster_correction` - the WWC correction of a significance test that
  ignored clustering (Hedges 2007, as in the WWC Procedures Handbook v5.0).
* :func:`romano_wolf` - the Romano & Wolf (2005, 2016) step-down adjustment of
  family-wise error from bootstrap draws of the test statistics.
* :func:`subgroup_family` - an estimate in each subgroup of one or more columns, then
  Benjamini-Hochberg across all of them (the "for whom" tables of the studies).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections.abc import Callable, Mapping
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from evaltools.core import inputs as ck
from evaltools.core.result import record_dict


@dataclass(frozen=True)
class MultipleTesting:
    """Adjusted p-values and rejections for a family of hypotheses (a tidy ``table``)."""

    method: str
    alpha: float
    table: pd.DataFrame
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> pd.Series:
        return self.table["rejected"]

    @property
    def adjusted(self) -> pd.Series:
        return self.table["p_adjusted"]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self, "multiple_testing")

    def __repr__(self) -> str:
        k, m = int(self.rejected.sum()), len(self.table)
        return (f"{self.method}: {k} of {m} hypotheses rejected at {self.alpha:g}\n"
                + self.table.to_string(float_format=lambda v: f"{v:.4g}"))


def _pvalues(pvalues: Any) -> pd.Series:
    if isinstance(pvalues, pd.Series):
        s = pvalues.astype(float)
    elif isinstance(pvalues, dict):
        s = pd.Series(pvalues, dtype=float)
    else:
        arr = np.asarray(pvalues, dtype=float)
        if arr.ndim != 1:
            raise ck.InputError(f"'pvalues' must be one-dimensional, got shape {arr.shape}.")
        s = pd.Series(arr)
    if s.empty:
        raise ck.InputError("'pvalues' is empty; give at least one p-value.")
    bad = s[~s.between(0, 1)]
    if not bad.empty:
        raise ck.InputError(
            f"p-values must lie in [0, 1]; {len(bad)} do not (first: {bad.index[0]!r} = "
            f"{bad.iloc[0]!r}). Missing p-values must be removed, not set to NaN."
        )
    return s


def benjamini_hochberg(pvalues: Sequence[float] | pd.Series | dict, alpha: float = 0.05) -> MultipleTesting:
    """Benjamini-Hochberg step-up procedure.

    Sort the m p-values, find the largest k with ``p_(k) <= k alpha / m`` and reject the
    hypotheses with the k smallest p-values. Adjusted p-values are
    ``min_{j >= i} min(1, m p_(j) / j)``. Names (Series index or dict keys) are kept.
    """
    a = ck.proportion("alpha", alpha, low_open=True)
    p = _pvalues(pvalues)
    reject, p_adj, _, _ = multipletests(p.to_numpy(), alpha=a, method="fdr_bh")
    m = len(p)
    rank = p.rank(method="first").astype(int)
    table = pd.DataFrame({
        "pvalue": p, "rank": rank, "critical_value": rank * a / m,
        "p_adjusted": p_adj, "rejected": reject.astype(bool),
    }, index=p.index)
    return MultipleTesting("Benjamini-Hochberg (1995) false discovery rate", a, table)


SUBGROUP_COLUMNS = ("estimate", "ci_low", "ci_high", "pvalue", "p_bh")


def subgroup_family(frame: pd.DataFrame, by: Sequence[str], fit: Callable[[pd.DataFrame], Any], *,
                    counts: Mapping[str, Callable[[pd.DataFrame], int]] | None = None, alpha: float = 0.05,
                    errors: tuple[type[BaseException], ...] = (ValueError, np.linalg.LinAlgError)) -> pd.DataFrame:
    """The estimate within each group of each column of ``by``, with Benjamini-Hochberg adjusted
    p-values over all the groups together (:func:`benjamini_hochberg`: one family, as the WWC adjusts
    the tests of a domain).

    ``fit(group_frame)`` returns an :class:`~evaltools.core.result.Estimate`, or None to leave the
    group out (e.g. too few treated units); an exception of ``errors`` also leaves it out, and so does
    an estimate without a finite p-value and a positive standard error (no valid test, e.g. one
    cluster). A column of ``by`` missing from ``frame`` or with one value is skipped; groups are
    taken in sorted order. ``counts``: name -> function of the group's rows, shown after ``group``.

    Returns one row per estimated group: ``by``, ``group`` (text), the counts, then ``estimate``,
    ``ci_low``, ``ci_high``, ``pvalue`` and ``p_bh``; no rows (the same columns) when none was estimated.
    """
    counts = dict(counts or {})
    cols = ["by", "group", *counts, *SUBGROUP_COLUMNS]
    rows = []
    for column in by:
        if column not in frame or frame[column].nunique() < 2:
            continue
        for level, g in frame.groupby(column, sort=True):
            try:
                e = fit(g)
            except errors:
                continue
            if e is None or not (np.isfinite(e.pvalue) and np.isfinite(e.se) and e.se > 0):
                continue
            rows.append({"by": column, "group": str(level), **{k: int(f(g)) for k, f in counts.items()},
                         "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "pvalue": e.pvalue})
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        out["p_bh"] = benjamini_hochberg(out["pvalue"], alpha=alpha).adjusted.to_numpy()
    return out


@dataclass(frozen=True)
class ClusterCorrection:
    """A t statistic corrected for a clustering mismatch, with its df and p-value."""

    t: float
    t_corrected: float
    df: float
    pvalue: float
    pvalue_uncorrected: float
    significant: bool
    alpha: float
    icc: float
    n_total: int
    cluster_size: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self, "cluster_correction")

    def __repr__(self) -> str:
        verdict = "significant" if self.significant else "not significant"
        return (
            f"WWC clustering correction (Hedges 2007): t {self.t:.3f} -> {self.t_corrected:.3f}, "
            f"df {self.df:.1f}\n  p {self.pvalue_uncorrected:.4g} -> {self.pvalue:.4g} "
            f"({verdict} at {self.alpha:g}); icc {self.icc:g}, N {self.n_total:,}, "
            f"average cluster size {self.cluster_size:.3g}"
        )


def wwc_cluster_correction(
    t: float | None = None,
    *,
    n_total: int,
    n_clusters: int | None = None,
    cluster_size: float | None = None,
    icc: float = 0.20,
    g: float | None = None,
    n_t: int | None = None,
    n_c: int | None = None,
    alpha: float = 0.05,
) -> ClusterCorrection:
    """Correct the significance of an effect estimated without accounting for clustering.

    WWC Procedures Handbook v5.0 (after Hedges 2007)::

        t_a = t * sqrt(((N - 2) - 2 (n - 1) rho) / ((N - 2) (1 + (n - 1) rho)))
        h   = ((N - 2) - 2 (n - 1) rho)^2
              / ((N - 2)(1 - rho)^2 + n (N - 2n) rho^2 + 2 (N - 2n) rho (1 - rho))

    and the p-value is two-sided from Student's t with h degrees of freedom. ``n`` is the
    average cluster size (``cluster_size`` or ``n_total / n_clusters``); ``icc`` defaults
    to the WWC's 0.20 for achievement outcomes (use 0.10 for behavioural and attitudinal
    outcomes). Give ``t`` directly or as ``g`` with ``n_t``, ``n_c``
    (``t = g * sqrt(n_t n_c / (n_t + n_c))``).
    """
    a = ck.proportion("alpha", alpha, low_open=True)
    N = ck.count("n_total", n_total, minimum=4)
    rho = ck.proportion("icc", icc)
    if t is None:
        if g is None or n_t is None or n_c is None:
            raise ck.InputError("Give the uncorrected 't', or 'g' with 'n_t' and 'n_c'.")
        nt, nc = ck.count("n_t", n_t), ck.count("n_c", n_c)
        t = ck.finite("g", g) * math.sqrt(nt * nc / (nt + nc))
    t = ck.finite("t", t)
    if cluster_size is not None:
        n = ck.positive("cluster_size", cluster_size)
    elif n_clusters is not None:
        n = N / ck.count("n_clusters", n_clusters, minimum=2)
    else:
        raise ck.InputError("Give 'n_clusters' or 'cluster_size' (average pupils per cluster).")
    if n < 1 or n > N / 2:
        raise ck.InputError(f"Average cluster size {n:g} must lie between 1 and n_total/2 = {N / 2:g}.")
    inner = (N - 2) - 2 * (n - 1) * rho
    if inner <= 0:
        raise ck.InputError(
            f"(N-2) - 2(n-1)rho = {inner:.3g} <= 0: too few clusters for the correction "
            f"(N={N}, n={n:g}, icc={rho:g})."
        )
    t_a = t * math.sqrt(inner / ((N - 2) * (1 + (n - 1) * rho)))
    h = inner**2 / ((N - 2) * (1 - rho) ** 2 + n * (N - 2 * n) * rho**2
                    + 2 * (N - 2 * n) * rho * (1 - rho))
    p = float(2 * stats.t.sf(abs(t_a), h))
    p0 = float(2 * stats.t.sf(abs(t), N - 2))
    return ClusterCorrection(t=t, t_corrected=t_a, df=h, pvalue=p, pvalue_uncorrected=p0,
                             significant=p < a, alpha=a, icc=rho, n_total=N, cluster_size=n)


def romano_wolf(t_obs: Sequence[float] | pd.Series, t_boot: Any, *, alpha: float = 0.05,
                alternative: str = "two-sided") -> MultipleTesting:
    """Romano-Wolf step-down adjusted p-values from bootstrap draws.

    ``t_obs``: the S observed test statistics; ``t_boot``: a (B, S) array of bootstrap
    statistics drawn under the null, i.e. centred at the estimate,
    ``(theta*_b - theta_hat) / se*_b`` (the same draws for every hypothesis, so that
    their dependence is kept). Two-sided statistics use absolute values.

    Algorithm (Romano & Wolf 2016, Algorithm 4.1): order hypotheses by decreasing
    statistic; for the j-th, ``p_j = (1 + #{b : max_{k >= j} t*_{b,(k)} >= t_(j)}) / (B + 1)``
    where the maximum runs over the hypotheses not yet rejected; then enforce
    monotonicity ``p_(j) = max(p_(j), p_(j-1))``.
    """
    a = ck.proportion("alpha", alpha, low_open=True)
    names = t_obs.index if isinstance(t_obs, pd.Series) else None
    obs = np.asarray(t_obs, dtype=float).ravel()
    boot = np.asarray(t_boot, dtype=float)
    if boot.ndim == 1 and obs.size == 1:
        boot = boot[:, None]
    if boot.ndim != 2 or boot.shape[1] != obs.size:
        raise ck.InputError(
            f"'t_boot' must have shape (B, {obs.size}) - one column per hypothesis in t_obs - "
            f"got {boot.shape}."
        )
    if not (np.isfinite(obs).all() and np.isfinite(boot).all()):
        raise ck.InputError("'t_obs' and 't_boot' must be finite; drop failed bootstrap draws first.")
    if boot.shape[0] < 99:
        raise ck.InputError(f"Only {boot.shape[0]} bootstrap draws; use at least 99 (999+ for a report).")
    if alternative == "two-sided":
        so, sb = np.abs(obs), np.abs(boot)
    elif alternative == "greater":
        so, sb = obs, boot
    elif alternative == "less":
        so, sb = -obs, -boot
    else:
        raise ck.InputError(f"Unknown alternative {alternative!r}; use 'two-sided', 'greater' or 'less'.")
    order = np.argsort(-so, kind="stable")
    # running maximum over the hypotheses from position j to the end of the ordering
    tail_max = np.maximum.accumulate(sb[:, order][:, ::-1], axis=1)[:, ::-1]
    B = boot.shape[0]
    p_sorted = (1 + (tail_max >= so[order][None, :]).sum(axis=0)) / (B + 1)
    p_sorted = np.maximum.accumulate(p_sorted)
    p_adj = np.empty_like(p_sorted)
    p_adj[order] = p_sorted
    p_raw = (1 + (sb >= so[None, :]).sum(axis=0)) / (B + 1)
    idx = names if names is not None else pd.RangeIndex(obs.size)
    table = pd.DataFrame({"t": obs, "p_bootstrap": p_raw, "p_adjusted": p_adj,
                          "rejected": p_adj <= a}, index=idx)
    return MultipleTesting("Romano-Wolf (2016) step-down, family-wise error", a, table,
                           notes={"draws": B, "alternative": alternative})
