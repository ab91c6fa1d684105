r"""Survey non-response: weighting-class adjustment and the weighted (Hajek) mean.

A survey of every pupil (the wellbeing questionnaire) reaches only those who answer. When the
answer rate differs between groups whose wellbeing differs, the respondents' mean is biased.
The weighting-class adjustment (Kalton & Flores-Cervantes 2003, "Weighting methods", J. Official
Statistics 19(2), sec. 2; Little 1986, Int. Stat. Rev. 54(2)) gives each respondent of cell
``c`` (e.g. school x grade x sex) the weight

    w_i = N_c / r_c          (N_c: eligible in the cell, r_c: respondents in the cell)

and non-respondents weight 0, so the weights of every cell add up to its eligible count. It
removes the bias when answering is at random *within* cells (missing at random given the cell).
A cell with fewer than ``min_respondents`` respondents is merged into its parent cell (the key
without its last column: school x grade x sex -> school x grade -> school -> everyone) so that
no weight rests on one or two answers; the weights then come from the parent cell.

The weighted mean is the ratio (Hajek) estimator ``ybar_w = sum w y / sum w`` with the
linearised, cluster-robust variance (Wolter 2007, *Introduction to Variance Estimation*, ch. 6):

    z_i = w_i (y_i - ybar_w) / sum w,   V = G / (G - 1) sum_g (sum_{i in g} z_i)^2

with schools as clusters (``G`` clusters); the interval is normal. The weights are treated as
fixed (the cell counts are known totals of the register, not estimates).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaltools.core.errors import DataError, InputError
from evaltools.core.result import Estimate

__all__ = ["cell_weights", "weighted_mean"]


def cell_weights(frame: pd.DataFrame, responded: str, cells: Sequence[str], *, min_respondents: int = 3) -> pd.Series:
    """Weighting-class weights of ``frame``'s rows (module docstring): ``N_c / r_c`` for a
    respondent (``frame[responded]`` true), 0 for a non-respondent.

    ``cells``: the columns whose combination is the weighting cell, most general first (the last
    one is dropped first when a cell is too thin). A cell with fewer than ``min_respondents``
    respondents takes the weight of its parent cell; the coarsest level is the whole frame.
    """
    cells = list(cells)
    missing = [c for c in [responded, *cells] if c not in frame.columns]
    if missing:
        raise InputError(f"cell_weights(): column(s) {missing} not in the frame (it has {list(frame.columns)}).")
    if min_respondents < 1:
        raise InputError(f"cell_weights(): min_respondents must be at least 1, got {min_respondents}.")
    r = frame[responded].astype(bool).to_numpy()
    if not r.any():
        raise DataError("cell_weights(): nobody responded, so no weights can be formed.")
    weight = np.full(len(frame), np.nan)
    for depth in range(len(cells), -1, -1):
        todo = np.isnan(weight)
        if not todo.any():
            break
        keys = cells[:depth]
        if keys:
            grouped = frame[keys].assign(_r=r).groupby(keys, sort=False, dropna=False)["_r"]
            n_c = grouped.transform("size").to_numpy(dtype=float)
            r_c = grouped.transform("sum").to_numpy(dtype=float)
        else:
            n_c = np.full(len(frame), float(len(frame)))
            r_c = np.full(len(frame), float(r.sum()))
        ok = todo & (r_c >= min_respondents) if depth else todo
        weight[ok] = n_c[ok] / r_c[ok]
    return pd.Series(np.where(r, weight, 0.0), index=frame.index, name="weight")


def weighted_mean(values: Any, weights: Any, cluster: Any, *, estimand: str = "weighted mean",
                  level: float = 0.95) -> Estimate:
    """``sum w y / sum w`` over rows with a value and a positive weight, with the linearised
    cluster-robust SE of the module docstring (at least 2 clusters)."""
    y = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    g = np.asarray(cluster)
    if not y.shape == w.shape == g.shape:
        raise InputError(f"weighted_mean({estimand!r}): values, weights and cluster differ in length "
                         f"({y.shape}, {w.shape}, {g.shape}).")
    if (w < 0).any() or np.isnan(w).any():
        raise InputError(f"weighted_mean({estimand!r}): weights must be non-negative numbers.")
    keep = ~np.isnan(y) & (w > 0)
    y, w, g = y[keep], w[keep], g[keep]
    if pd.isna(g).any():
        raise InputError(f"weighted_mean({estimand!r}): some values have no cluster id.")
    codes, uniques = pd.factorize(g)
    G = len(uniques)
    if G < 2:
        raise DataError(f"weighted_mean({estimand!r}): needs at least 2 clusters with values, found {G}.")
    total = float(w.sum())
    mean = float((w * y).sum() / total)
    z = w * (y - mean) / total
    by_cluster = np.bincount(codes, weights=z, minlength=G)
    se = math.sqrt(G / (G - 1) * float((by_cluster ** 2).sum()))
    kish = total ** 2 / float((w ** 2).sum())  # Kish's effective sample size of the weights
    est = Estimate.from_normal(estimand, mean, se, level=level,
                               n={"observations": int(y.size), "clusters": int(G)},
                               method="weighted (Hajek) mean, linearised cluster-robust SE",
                               diagnostics={"weight_effective_n": kish, "weight_design_effect": y.size / kish})
    return est
