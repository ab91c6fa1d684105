"""Power of a staggered (stepped) roll-out by simulation, and the Monte-Carlo check of an
analytic design.

* :func:`rollout_power`: the waves of :func:`evaltools.design.allocation.stepped_schedule` as
  cohort shares for :func:`evaltools.inference.simulation.staggered_did_power` (Callaway &
  Sant'Anna on the real panel with placebo adoption years): no closed form exists.
* :func:`simulated_power`: data drawn from the model a :class:`~evaltools.design.plans.Design`
  assumes, analysed as PowerUp! assumes (OLS of the school means on treatment and the g
  covariates, t test with the design's df), so its rejection rate must match the analytic power
  within Monte-Carlo error. School means are drawn from their exact distribution
  (``ybar_j = b T_j + u_j + ebar_j``, ``var(ebar_j) = sigma^2 / n``), so pupils need not be drawn;
  ``r2_1`` is taken as the share of the within-school variance that pupil covariates remove
  (they cost no school-level df), ``r2_2`` is explained by ``g`` school-level covariates.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.core import inputs as ck
from evaltools.core.errors import InputError
from evaltools.core.result import Estimate
from evaltools.design.plans import Design


def rollout_power(panel: pd.DataFrame, *, outcome: str, unit: str, time: str, periods: Sequence[float],
                  never_share: float, effect: float, assign_by: str | None = None, n_sims: int = 100,
                  alpha: float = 0.05, seed: int = 0) -> Any:
    """Power of a stepped roll-out starting in ``periods`` (equal waves) with ``never_share``
    never treated, for an ``effect`` in outcome units (see the module docstring)."""
    from evaltools.inference.simulation import staggered_did_power

    waves = [float(p) for p in periods]
    if not waves:
        raise InputError("'periods' is empty: give the start periods of the waves.")
    ns = ck.proportion("never_share", never_share)
    cohorts = {0.0: ns, **{w: (1 - ns) / len(waves) for w in waves}} if ns else {w: 1 / len(waves) for w in waves}
    return staggered_did_power(panel, outcome=outcome, unit=unit, time=time, cohorts=cohorts, effect=effect,
                               assign_by=assign_by, n_sims=n_sims, alpha=alpha, seed=seed,
                               control_group="never" if ns else "notyet")


def simulated_power(d: Design, *, effect: float, n_sims: int = 1000, alpha: float = 0.05, seed: int = 0) -> Any:
    """Rejection rate of ``d`` (individual or cluster2) at ``effect`` by simulation, with its
    Monte-Carlo SE (:func:`evaltools.inference.simulation.simulate_power`)."""
    from evaltools.inference.simulation import simulate_power

    if d.design not in ("individual", "cluster2"):
        raise InputError(f"simulated_power covers the individual and cluster2 designs; {d.design} is not simulated yet.")
    es = ck.finite("effect", effect)
    if d.design == "individual":  # the pupil is the unit: all variance at the unit level
        units, n, rho, r2_top, r2_1 = int(d.n), 1.0, 1.0, d.r2_1, 0.0
    else:
        units, n, rho, r2_top, r2_1 = int(d.J), float(d.n), d.rho2, d.r2_2, d.r2_1
    g, p = d.g, d.p
    if r2_top and not g:
        raise InputError("The design explains unit-level variance (r2) without covariates (g = 0): give g.")
    k_t = int(round(p * units))
    if k_t < 1 or k_t >= units:
        raise InputError("The design treats no unit or every unit; change p or the number of units.")
    # the covariates: g standard-normal unit-level variables explaining r2_top of the unit variance
    # and r2_1 of the pupil variance (through their unit means)
    top_var, pupil_var = rho, (1 - rho)
    b_top = math.sqrt(r2_top * top_var / g) if g else 0.0
    resid_top = top_var * (1 - r2_top) if g else top_var
    resid_pupil = pupil_var * (1 - r2_1) if g else pupil_var
    df = d.df()

    def simulate(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        treat = np.zeros(units)
        treat[rng.permutation(units)[:k_t]] = 1.0
        x = rng.standard_normal((units, g))
        y = es * treat + x.sum(axis=1) * b_top + rng.normal(0, math.sqrt(resid_top), units) \
            + rng.normal(0, math.sqrt(resid_pupil / n), units)
        return y, np.column_stack([np.ones(units), treat, x])

    def estimate(data: tuple[np.ndarray, np.ndarray]) -> Estimate:
        y, X = data
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ beta
        s2 = resid @ resid / (len(y) - X.shape[1])
        se = math.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1])
        t = beta[1] / se
        crit = stats.t.ppf(0.975, df)
        return Estimate("effect", float(beta[1]), se, beta[1] - crit * se, beta[1] + crit * se,
                        float(2 * stats.t.sf(abs(t), df)), method="OLS of unit means, t(df of the design)")

    return simulate_power(simulate, estimate, n_sims=n_sims, alpha=alpha, seed=seed, effect=es,
                          method=f"{d.code}: unit means drawn from the design's model")
