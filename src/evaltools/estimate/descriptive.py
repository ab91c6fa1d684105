"""Descriptive estimates with honest uncertainty: means and rates of clustered data.

Pupils in one school are not independent observations, so the standard error
of a rate over pupil-years is computed with schools (or municipalities) as
clusters. For a mean ybar = sum(y) / N over G clusters with totals
Y_g and sizes N_g, the cluster-robust (CR1) variance is

    V = G / (G - 1) * sum_g (Y_g - ybar * N_g)^2 / N^2

which is what an intercept-only OLS with cluster-robust errors gives
(Cameron & Miller 2015, "A practitioner's guide to cluster-robust inference",
J. Human Resources 50(2), with the CR1 small-sample factor G / (G - 1));
the CI uses t with G - 1 degrees of freedom.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaltools.estimate.result import Estimate


def cluster_mean(
    values: pd.Series | np.ndarray,
    clusters: pd.Series | np.ndarray,
    estimand: str = "mean",
    level: float = 0.95,
) -> Estimate:
    """Mean of ``values`` (a rate for 0/1 values) with a cluster-robust CI.

    Missing values are dropped. Needs at least two clusters.
    """
    y = np.asarray(values, dtype=float)
    g = np.asarray(clusters)
    if y.shape != g.shape:
        raise ValueError(f"cluster_mean(): values ({y.shape}) and clusters ({g.shape}) differ in length.")
    keep = ~np.isnan(y)
    y, g = y[keep], g[keep]
    n = y.size
    codes, uniques = pd.factorize(g)
    n_clusters = len(uniques)
    if n_clusters < 2:
        raise ValueError(
            f"cluster_mean({estimand!r}): needs at least 2 clusters with data, found {n_clusters}."
        )
    mean = float(y.mean())
    totals = np.bincount(codes, weights=y, minlength=n_clusters)
    sizes = np.bincount(codes, minlength=n_clusters)
    scores = totals - mean * sizes
    factor = n_clusters / (n_clusters - 1)
    se = float(np.sqrt(factor * np.sum(scores**2)) / n)
    return Estimate.from_normal(
        estimand,
        mean,
        se,
        level=level,
        df=n_clusters - 1,
        n={"observations": int(n), "clusters": int(n_clusters)},
        method="mean with cluster-robust (CR1) standard error, t(G-1) interval",
    )
