"""Descriptive estimates with honest uncertainty: means and rates of clustered data.

Pupils in one school are not independent observations, so the standard error
of a rate over pupil-years is computed with schools (or municipalities) as
clusters. For a mean ybar = sum(y) / N over G clusters with totals
Y_g and sizes N_g, the cluster-robust (CR1) variance is

    V = G / (G - 1) * sum_g (Y_g - ybar * N_g)^2 / N^2

which is what an intercept-only OLS with cluster-robust errors gives
(Cameron & Miller 2015, "A practitioner's guide to cluster-robust inference",
J. Human Resources 50(2), with the CR1 small-sample factor G / (G - 1));
the CI uses t with G - 1 degrees of freedom. ``vcov="CR2"`` gives the
Bell-McCaffrey variance with Satterthwaite df instead
(:mod:`evaltools.estimate.cluster_robust`); with fewer than ``FEW_CLUSTERS``
clusters the result's ``diagnostics["few_clusters"]`` says so and holds the
CR2 interval.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from evaltools.core.result import Estimate
from evaltools.core.vocabulary import renamed
from evaltools.estimate.cluster_robust import FEW_CLUSTERS, check_vcov, cr2, few_clusters


@renamed(positional=("estimand", "level"), clusters="cluster")
def cluster_mean(
    values: pd.Series | np.ndarray,
    cluster: pd.Series | np.ndarray,
    *,
    estimand: str = "mean",
    level: float = 0.95,
    vcov: Literal["CR1", "CR2"] = "CR1",
) -> Estimate:
    """Mean of ``values`` (a rate for 0/1 values) with a cluster-robust CI.

    Missing values are dropped; a missing cluster id is an error (every value
    needs its cluster). Needs at least two clusters. ``vcov``: ``"CR1"``
    (default) or ``"CR2"`` (Satterthwaite df).
    """
    vcov = check_vcov(vcov)
    y = np.asarray(values, dtype=float)
    g = np.asarray(cluster)
    if y.shape != g.shape:
        raise ValueError(f"cluster_mean(): values ({y.shape}) and cluster ({g.shape}) differ in length.")
    missing = pd.isna(g) & ~np.isnan(y)
    if missing.any():
        pos = np.flatnonzero(missing)
        shown = ", ".join(str(int(i)) for i in pos[:5]) + (", ..." if len(pos) > 5 else "")
        raise ValueError(
            f"cluster_mean({estimand!r}): {len(pos):,} of {int((~np.isnan(y)).sum()):,} values have no cluster id "
            f"(row positions {shown}, counting from 0). Every value needs its cluster: fill the cluster column "
            "or drop those rows first."
        )
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
    df: float = n_clusters - 1
    small = None
    if vcov == "CR2" or n_clusters < FEW_CLUSTERS:
        small = {"method": "CR2, Satterthwaite df",
                 **cr2(np.ones((n, 1)), y - mean, codes).test(np.array([mean]), np.array([1.0]), level=level)}
        if vcov == "CR2":
            se, df = small["se"], small["df"]
    fc = few_clusters(n_clusters, small, vcov=vcov)
    return Estimate.from_normal(
        estimand,
        mean,
        se,
        level=level,
        df=df,
        n={"observations": int(n), "clusters": int(n_clusters)},
        method=("mean with cluster-robust (CR1) standard error, t(G-1) interval" if vcov == "CR1"
                else "mean with CR2 (Bell-McCaffrey) standard error, Satterthwaite-df interval"),
        options={"vcov": vcov},
        diagnostics={"few_clusters": fc} if fc else {},
    )
