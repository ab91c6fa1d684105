r"""Control limits of a funnel plot: where a unit's rate or mean would fall by chance alone.

A funnel plot sets each unit's (school's, municipality's) indicator against its size, with
limits around the national value ``theta`` that narrow as the size grows; a unit outside
the 99.8 % limits differs by more than chance (Spiegelhalter 2005, "Funnel plots for comparing
institutional performance", Stat. Med. 24(8), 1185-1202). It never ranks the units.

- proportion (``kind="rate"``): exact binomial limits with Spiegelhalter's interpolation
  (appendix A.1.1): ``r_p`` the ``p`` quantile of Bin(n, theta),
  ``alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1))``, limit ``(r_p - alpha) / n``;
- mean (``kind="mean"``): ``theta +/- z_p * sd / sqrt(n)``, with ``sd`` the national
  pupil-level standard deviation.

``design_effect`` (>= 1) widens the limits for pupils clustered within the unit by using the
effective size ``n / deff`` (the same discount as
:mod:`evaltools.estimate.bounded_intervals`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.core.errors import InputError

__all__ = ["funnel_limits", "outside_limits", "LEVELS"]

#: The two customary pairs of limits: about 2 and 3 standard errors.
LEVELS: tuple[float, float] = (0.95, 0.998)


def _binomial_limit(p: float, n: float, theta: float) -> float:
    n_int = max(1, int(round(n)))
    r = stats.binom.ppf(p, n_int, theta)
    f_r = stats.binom.cdf(r, n_int, theta)
    f_prev = stats.binom.cdf(r - 1, n_int, theta)
    alpha = (f_r - p) / (f_r - f_prev) if f_r > f_prev else 0.0
    return float(min(1.0, max(0.0, (r - alpha) / n_int)))


def funnel_limits(sizes: Sequence[float] | np.ndarray, theta: float, *, kind: Literal["rate", "mean"] = "rate",
                  sd: float | None = None, levels: Sequence[float] = LEVELS, design_effect: float = 1.0,
                  scale: float = 1.0) -> pd.DataFrame:
    """Lower and upper control limits at each size, one pair per level.

    ``theta`` is the national proportion (0-1, ``kind="rate"``) or mean (``kind="mean"``, with
    the pupil-level ``sd``); ``scale`` multiplies the limits (100 for percentages). Returns one
    row per size with columns ``size``, ``low_<level>``, ``high_<level>`` (e.g. ``low_95``,
    ``high_99.8``).
    """
    n = np.asarray(sizes, dtype=float)
    if (n <= 0).any() or not np.isfinite(n).all():
        raise InputError("funnel_limits(): every size must be a positive number.")
    if design_effect < 1:
        raise InputError(f"funnel_limits(): design_effect must be at least 1, got {design_effect}.")
    if kind == "rate" and not 0 <= theta <= 1:
        raise InputError(f"funnel_limits(): theta is a proportion in [0, 1] for kind='rate', got {theta}.")
    if kind == "mean" and (sd is None or not sd > 0):
        raise InputError("funnel_limits(): kind='mean' needs the pupil-level sd (> 0).")
    if kind not in ("rate", "mean"):
        raise InputError(f"funnel_limits(): kind must be 'rate' or 'mean', got {kind!r}.")
    eff = n / design_effect
    out = {"size": n}
    for level in levels:
        tag = f"{100 * level:g}"
        lo_p, hi_p = (1 - level) / 2, 1 - (1 - level) / 2
        if kind == "rate":
            lows = [_binomial_limit(lo_p, e, theta) for e in eff]
            highs = [_binomial_limit(hi_p, e, theta) for e in eff]
        else:
            z = float(stats.norm.ppf(hi_p))
            lows = theta - z * sd / np.sqrt(eff)
            highs = theta + z * sd / np.sqrt(eff)
        out[f"low_{tag}"] = scale * np.asarray(lows, dtype=float)
        out[f"high_{tag}"] = scale * np.asarray(highs, dtype=float)
    return pd.DataFrame(out)


def outside_limits(values: Sequence[float] | np.ndarray, limits: pd.DataFrame, level: float = LEVELS[1]) -> np.ndarray:
    """-1 below, +1 above, 0 inside the ``level`` limits (rows of ``limits`` match ``values``)."""
    tag = f"{100 * level:g}"
    v = np.asarray(values, dtype=float)
    return np.where(v < limits[f"low_{tag}"].to_numpy(), -1, np.where(v > limits[f"high_{tag}"].to_numpy(), 1, 0))
