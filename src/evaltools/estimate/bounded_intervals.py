r"""Intervals for rates and bounded means of clustered data that stay inside the possible range
and stay valid with one, two or a handful of clusters (schools).

A municipality's rate over pupil-years from one or two schools cannot carry a cluster-robust
(CR1/CR2) interval: with G = 2 the t reference has one degree of freedom and the symmetric
interval runs below 0 %. Instead the between-school correlation is *borrowed* from a larger
reference (Latvia's schools) and the sample size discounted by the design effect
(Kish 1965, *Survey Sampling*, sec. 5.4; Korn & Graubard 1998, Survey Methodology 24(2)):

    ICC  rho = (MSB - MSW) / (MSB + (n0 - 1) MSW),   n0 = (N - sum_g n_g^2 / N) / (G - 1)
          (one-way ANOVA estimator, unbalanced groups; Donner 1986, Int. Stat. Rev. 54(1))
    deff = 1 + (m - 1) rho,   m = sum_g n_g^2 / N   (size-weighted mean cluster size, deff >= 1)
    n_eff = N / deff

A rate ``p = x / N`` then gets the Wilson score interval with ``n_eff`` (Wilson 1927, JASA 22;
with a design effect: Korn & Graubard 1998), always inside [0, 1]. A mean of a score bounded
in ``[lower, upper]`` gets a normal interval on the logit scale of ``(mean - lower) / (upper -
lower)`` with the delta-method SE ``s / sqrt(n_eff)``, back-transformed: inside the range and
truncation-free. With many clusters (``icc=None``) the ICC is estimated from the data itself.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.core.errors import DataError, InputError
from evaltools.core.result import Estimate

__all__ = ["icc_anova", "design_effect", "wilson", "clustered_rate", "bounded_mean", "mean_difference",
           "rate_difference", "MIN_REFERENCE_CLUSTERS"]

#: Fewest clusters from which an ICC is estimated (below, a reference ICC must be given).
MIN_REFERENCE_CLUSTERS: int = 10


def _arrays(values: Any, cluster: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(values, dtype=float)
    g = np.asarray(cluster)
    if y.shape != g.shape:
        raise InputError(f"{what}: values ({y.shape}) and cluster ({g.shape}) differ in length.")
    keep = ~np.isnan(y)
    if pd.isna(g[keep]).any():
        raise InputError(f"{what}: some values have no cluster id; fill the cluster column or drop those rows.")
    return y[keep], g[keep]


def icc_anova(values: Any, cluster: Any) -> float:
    """One-way ANOVA estimate of the intraclass correlation, truncated at 0 (module docstring)."""
    y, g = _arrays(values, cluster, "icc_anova()")
    codes, uniques = pd.factorize(g)
    G, N = len(uniques), y.size
    if G < 2 or N <= G:
        raise DataError(f"icc_anova(): needs at least 2 clusters and more values than clusters (got {G} "
                        f"clusters, {N} values).")
    n = np.bincount(codes, minlength=G).astype(float)
    means = np.bincount(codes, weights=y, minlength=G) / n
    grand = y.mean()
    msb = float(np.sum(n * (means - grand) ** 2) / (G - 1))
    msw = float(np.sum((y - means[codes]) ** 2) / (N - G))
    n0 = (N - np.sum(n**2) / N) / (G - 1)
    denom = msb + (n0 - 1) * msw
    return max(0.0, (msb - msw) / denom) if denom > 0 else 0.0


def design_effect(cluster: Any, icc: float) -> float:
    """``1 + (m - 1) icc`` with ``m`` the size-weighted mean cluster size (at least 1)."""
    g = np.asarray(cluster)
    if g.size == 0:
        return 1.0
    n = pd.Series(g).value_counts().to_numpy(dtype=float)
    m = float(np.sum(n**2) / n.sum())
    return max(1.0, 1.0 + (m - 1.0) * max(0.0, float(icc)))


def wilson(p: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``p`` from (effective) sample size ``n``; in [0, 1]."""
    if not n > 0:
        return (math.nan, math.nan)
    z = float(stats.norm.ppf(0.5 + level / 2))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _icc(y: np.ndarray, g: np.ndarray, icc: float | None, what: str) -> tuple[float, str]:
    if icc is not None:
        if not 0 <= icc < 1:
            raise InputError(f"{what}: icc must lie in [0, 1), got {icc}.")
        return float(icc), "reference"
    G = len(pd.unique(g))
    if G < MIN_REFERENCE_CLUSTERS:
        raise DataError(f"{what}: only {G} clusters (schools): too few to estimate how alike pupils of one "
                        f"school are; pass icc= estimated from a larger reference (e.g. all of Latvia's schools).")
    return icc_anova(y, g), "own data"


def clustered_rate(values: Any, cluster: Any, *, icc: float | None = None, scale: float = 1.0,
                   estimand: str = "rate", level: float = 0.95) -> Estimate:
    """Mean of 0/1 ``values`` times ``scale`` (100 for %), Wilson interval with the design effect.

    ``icc``: the between-cluster correlation borrowed from a reference (needed with fewer than
    :data:`MIN_REFERENCE_CLUSTERS` clusters); ``None`` estimates it from these data.
    """
    what = f"clustered_rate({estimand!r})"
    y, g = _arrays(values, cluster, what)
    if y.size == 0:
        raise DataError(f"{what}: no values.")
    if not np.isin(y, (0.0, 1.0)).all():
        raise InputError(f"{what}: values must be 0/1 (or True/False).")
    rho, source = _icc(y, g, icc, what)
    deff = design_effect(g, rho)
    p = float(y.mean())
    n_eff = y.size / deff
    lo, hi = wilson(p, n_eff, level)
    se = math.sqrt(p * (1 - p) / n_eff)
    z = float(stats.norm.ppf(0.5 + level / 2))
    pvalue = float(2 * stats.norm.sf(abs(p / se))) if se > 0 else (0.0 if p else 1.0)
    G = len(pd.unique(g))
    return Estimate(estimand, scale * p, scale * se, scale * lo, scale * hi, pvalue,
                    n={"observations": int(y.size), "clusters": int(G)},
                    method="rate with Wilson score interval, sample size discounted by the design effect",
                    level=level, options={"icc": rho, "icc_source": source},
                    diagnostics={"design_effect": deff, "effective_n": n_eff, "z": z})


def bounded_mean(values: Any, cluster: Any, *, lower: float = 0.0, upper: float = 100.0, icc: float | None = None,
                 estimand: str = "mean", level: float = 0.95) -> Estimate:
    """Mean of a score bounded in ``[lower, upper]``: logit-scale interval with the design effect."""
    what = f"bounded_mean({estimand!r})"
    y, g = _arrays(values, cluster, what)
    if y.size < 2:
        raise DataError(f"{what}: needs at least 2 values, got {y.size}.")
    if not upper > lower:
        raise InputError(f"{what}: upper ({upper}) must exceed lower ({lower}).")
    if (y < lower).any() or (y > upper).any():
        raise DataError(f"{what}: values outside [{lower}, {upper}]; check the score's scale.")
    rho, source = _icc(y, g, icc, what)
    deff = design_effect(g, rho)
    n_eff = y.size / deff
    mean = float(y.mean())
    se = float(y.std(ddof=1) / math.sqrt(n_eff))
    width = upper - lower
    eps = 0.5 / y.size  # keep the logit finite when every score sits on a bound
    u = min(max((mean - lower) / width, eps), 1 - eps)
    se_logit = se / width / (u * (1 - u))
    z = float(stats.norm.ppf(0.5 + level / 2))
    expit = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    logit = math.log(u / (1 - u))
    lo, hi = lower + width * expit(logit - z * se_logit), lower + width * expit(logit + z * se_logit)
    G = len(pd.unique(g))
    return Estimate(estimand, mean, se, lo, hi, float("nan"),
                    n={"observations": int(y.size), "clusters": int(G)},
                    method="mean with logit-scale interval inside the score's range, design-effect SE",
                    level=level, options={"icc": rho, "icc_source": source, "lower": lower, "upper": upper},
                    diagnostics={"design_effect": deff, "effective_n": n_eff})


def mean_difference(values: Any, in_group: Any, cluster: Any, *, icc: float, estimand: str = "difference",
                    level: float = 0.95) -> Estimate:
    """Mean of ``values`` where ``in_group`` minus where not, with a normal interval whose SE
    discounts each group's size by its own design effect (``icc`` borrowed from a reference):
    ``se = sqrt(s_a^2 deff_a / n_a + s_b^2 deff_b / n_b)``. Needs 2 values in each group."""
    what = f"mean_difference({estimand!r})"
    y = np.asarray(values, dtype=float)
    a = np.asarray(in_group, dtype=bool)
    g = np.asarray(cluster)
    keep = ~np.isnan(y)
    y, a, g = y[keep], a[keep], g[keep]
    if (a.sum() < 2) or ((~a).sum() < 2):
        raise DataError(f"{what}: needs at least 2 values in each group, got {int(a.sum())} and {int((~a).sum())}.")
    parts = []
    for mask in (a, ~a):
        deff = design_effect(g[mask], icc)
        parts.append((float(y[mask].mean()), float(y[mask].var(ddof=1)) * deff / int(mask.sum()), deff))
    diff = parts[0][0] - parts[1][0]
    se = math.sqrt(parts[0][1] + parts[1][1])
    est = Estimate.from_normal(estimand, diff, se, level=level,
                               n={"observations": int(y.size), "in_group": int(a.sum()),
                                  "clusters": int(len(pd.unique(g)))},
                               method="difference in means, SEs with each group's design effect",
                               options={"icc": icc}, diagnostics={"design_effects": [parts[0][2], parts[1][2]]})
    return est


def rate_difference(values: Any, in_group: Any, cluster: Any, *, icc: float, scale: float = 1.0,
                    estimand: str = "difference", level: float = 0.95) -> Estimate:
    """Rate of 0/1 ``values`` where ``in_group`` minus where not (times ``scale``, 100 for
    percentage points), with Newcombe's hybrid score interval built from each group's Wilson
    interval at its effective sample size ``n / deff`` (``icc`` borrowed from a reference):

        d = p_a - p_b,   L = d - sqrt((p_a - l_a)^2 + (u_b - p_b)^2),   U = d + sqrt((u_a - p_a)^2 + (p_b - l_b)^2)

    (Newcombe 1998, Stat. Med. 17, 873-890, method 10). The interval stays inside [-1, 1] and is
    not degenerate when a group has no events. Needs 1 value in each group."""
    what = f"rate_difference({estimand!r})"
    y = np.asarray(values, dtype=float)
    a = np.asarray(in_group, dtype=bool)
    g = np.asarray(cluster)
    if not (y.shape == a.shape == g.shape):
        raise InputError(f"{what}: values, in_group and cluster differ in length.")
    keep = ~np.isnan(y)
    y, a, g = y[keep], a[keep], g[keep]
    if not np.isin(y, (0.0, 1.0)).all():
        raise InputError(f"{what}: values must be 0/1 (or True/False).")
    if not 0 <= icc < 1:
        raise InputError(f"{what}: icc must lie in [0, 1), got {icc}.")
    if a.sum() < 1 or (~a).sum() < 1:
        raise DataError(f"{what}: needs values in both groups, got {int(a.sum())} and {int((~a).sum())}.")
    parts = []
    for mask in (a, ~a):
        deff = design_effect(g[mask], icc)
        p = float(y[mask].mean())
        lo, hi = wilson(p, int(mask.sum()) / deff, level)
        parts.append((p, lo, hi, deff))
    (pa, la, ua, da), (pb, lb, ub, db) = parts
    d = pa - pb
    low = d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    high = d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    z = float(stats.norm.ppf(0.5 + level / 2))
    se = (high - low) / (2 * z)
    return Estimate(estimand, scale * d, scale * se, scale * max(-1.0, low), scale * min(1.0, high), float("nan"),
                    n={"observations": int(y.size), "in_group": int(a.sum()), "clusters": int(len(pd.unique(g)))},
                    method="difference in rates, Newcombe hybrid score interval with each group's design effect",
                    level=level, options={"icc": icc}, diagnostics={"design_effects": [da, db]})
