"""Power by simulation, when no closed-form formula fits the design.

* :func:`simulate_power` - generic: draw a data set, estimate, test; repeat.
* :func:`staggered_did_power` - power of a staggered difference-in-differences
  (Callaway & Sant'Anna 2021, :func:`evaltools.estimate.diff_in_diff.staggered.att_gt`) on an
  existing panel, e.g. the shipped synthetic data or last year's extract: adoption
  years are re-drawn at random across units (or schools), a known effect is added to
  the outcome of units from their adoption year on, and the share of runs in which the
  aggregated ATT is significant is the power. The panel keeps its real serial and
  cross-sectional correlation, which formulas for DiD power have to assume.

Power is reported with its Monte Carlo standard error and a Wilson interval.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from evaltools.core import inputs as ck
from evaltools.core.progress import progress
from evaltools.core.result import Estimate, record_dict


@dataclass(frozen=True)
class SimulatedPower:
    """Rejection rate over simulated data sets, with Monte Carlo precision."""

    power: float
    mc_se: float
    ci_low: float
    ci_high: float
    n_sims: int
    n_failed: int
    alpha: float
    effect: float | None
    mean_estimate: float
    sd_estimate: float
    mean_se: float
    method: str
    draws: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        keys = ["power", "mc_se", "ci_low", "ci_high", "n_sims", "n_failed", "alpha", "effect",
                "mean_estimate", "sd_estimate", "mean_se", "method"]
        return pd.DataFrame([{k: getattr(self, k) for k in keys}])

    def to_dict(self) -> dict[str, Any]:
        d = record_dict(self, "simulated_power")
        d.pop("draws")
        return d

    def __repr__(self) -> str:
        eff = "" if self.effect is None else f" at effect {self.effect:g}"
        lines = [
            f"Simulated power{eff}: {self.power:.3f} (MC SE {self.mc_se:.3f}; "
            f"95% CI [{self.ci_low:.3f}, {self.ci_high:.3f}]) from {self.n_sims} runs, alpha {self.alpha:g}",
            f"  estimates: mean {self.mean_estimate:.4g}, SD {self.sd_estimate:.4g}; mean SE {self.mean_se:.4g}",
            f"  method: {self.method}",
        ]
        if self.n_failed:
            lines.append(f"  {self.n_failed} run(s) failed to estimate and count as non-rejections")
        return "\n".join(lines)


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return centre - half, centre + half


def simulate_power(
    simulate: Callable[[np.random.Generator], Any],
    estimate: Callable[[Any], Estimate],
    *,
    n_sims: int = 500,
    alpha: float = 0.05,
    seed: int = 0,
    effect: float | None = None,
    method: str = "simulation",
) -> SimulatedPower:
    """Share of ``n_sims`` simulated data sets in which ``estimate`` rejects H0 at ``alpha``.

    ``simulate(rng)`` returns one data set; ``estimate(data)`` returns an
    :class:`~evaltools.core.result.Estimate` whose ``pvalue`` is tested. A run whose
    estimation raises counts as a non-rejection and is reported in ``n_failed``.
    """
    sims = ck.count("n_sims", n_sims, minimum=2)
    a = ck.proportion("alpha", alpha, low_open=True)
    rng = np.random.default_rng(seed)
    rows = []
    failed = 0
    for i in progress(range(sims), desc="power simulation", unit="sim"):  # shown only past 1 s, on a tty or in Lab
        data = simulate(rng)
        try:
            est = estimate(data)
        except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
            failed += 1
            rows.append({"run": i, "estimate": np.nan, "se": np.nan, "pvalue": np.nan,
                         "rejected": False})
            continue
        if not isinstance(est, Estimate):
            raise ck.InputError("'estimate' must return an evaltools Estimate (with a p-value).")
        rows.append({"run": i, "estimate": est.estimate, "se": est.se, "pvalue": est.pvalue,
                     "rejected": bool(est.pvalue < a)})
    draws = pd.DataFrame(rows)
    k = int(draws["rejected"].sum())
    p = k / sims
    lo, hi = _wilson(k, sims)
    return SimulatedPower(
        power=p, mc_se=math.sqrt(p * (1 - p) / sims), ci_low=lo, ci_high=hi, n_sims=sims,
        n_failed=failed, alpha=a, effect=effect,
        mean_estimate=float(draws["estimate"].mean()), sd_estimate=float(draws["estimate"].std()),
        mean_se=float(draws["se"].mean()), method=method, draws=draws,
    )


def staggered_did_power(
    panel: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohorts: dict[float, float],
    effect: float,
    assign_by: str | None = None,
    n_sims: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
    aggregation: str = "simple",
    control_group: str = "never",
    cluster: str | None = None,
    covariates: list[str] | None = None,
) -> SimulatedPower:
    """Power of a staggered DiD (Callaway-Sant'Anna) by placebo simulation on ``panel``.

    Each run draws adoption years at random: a share ``cohorts[g]`` of the assignment
    units (``assign_by``, e.g. the school column, or ``unit`` itself) starts in year ``g``
    (key 0 = never treated; shares must sum to 1), adds ``effect`` (in outcome units) to
    ``outcome`` from that year on, estimates ATT(g,t) with
    :func:`~evaltools.estimate.diff_in_diff.staggered.att_gt` and tests the ``aggregation``
    ("simple", "group", "dynamic" or "calendar") overall ATT. Use an outcome without the
    programme's real effect in it (never-treated units, or years before the programme),
    otherwise the real effect is added on top. ``cluster`` defaults to ``assign_by``.
    """
    from evaltools.estimate.diff_in_diff.staggered import att_gt

    ck.require_columns(panel, {"outcome": outcome, "unit": unit, "time": time, "assign_by": assign_by})
    eff = ck.finite("effect", effect)
    if not cohorts:
        raise ck.InputError("'cohorts' is empty; give shares such as {0: 0.4, 2019: 0.3, 2020: 0.3}.")
    years = np.array(sorted(cohorts), dtype=float)
    shares = np.array([ck.proportion(f"cohorts[{g!r}]", cohorts[g], high_open=False) for g in years])
    if not math.isclose(shares.sum(), 1.0, abs_tol=1e-9):
        raise ck.InputError(f"The cohort shares sum to {shares.sum():g}; they must sum to 1.")
    if 0.0 not in years and control_group == "never":
        raise ck.InputError("No never-treated share (key 0) with control_group='never'; add one or "
                            "use control_group='notyet'.")
    times = set(panel[time].unique())
    late = [g for g in years if g and g not in times]
    if late:
        raise ck.InputError(f"Adoption year(s) {late} are not periods of the panel ({sorted(times)}).")
    by = assign_by or unit
    groups = pd.Index(panel[by].unique())
    if panel.groupby(unit)[by].nunique().max() > 1:
        raise ck.InputError(f"Each {unit!r} must belong to one {by!r} (units cannot move between them).")
    base = panel[[c for c in dict.fromkeys([outcome, unit, time, by] + list(covariates or []))]].copy()
    key = base[by].to_numpy()
    tvals = base[time].to_numpy(dtype=float)
    y0 = base[outcome].to_numpy(dtype=float)
    counts = np.floor(shares * len(groups)).astype(int)
    counts[np.argmax(shares)] += len(groups) - counts.sum()

    def simulate(rng: np.random.Generator) -> pd.DataFrame:
        drawn = rng.permutation(np.repeat(years, counts))
        g_of = pd.Series(drawn, index=groups)
        g = g_of.reindex(key).to_numpy()
        treated = (g > 0) & (tvals >= g)
        d = base.copy()
        d["_cohort"] = g
        d[outcome] = y0 + eff * treated
        return d

    def estimate(d: pd.DataFrame) -> Estimate:
        res = att_gt(d, outcome, unit, time, "_cohort", covariates=covariates,
                     control_group=control_group, cluster=cluster or assign_by)
        return res.aggregate(aggregation).overall

    return simulate_power(
        simulate, estimate, n_sims=n_sims, alpha=alpha, seed=seed, effect=eff,
        method=(f"placebo adoption years on the panel, Callaway-Sant'Anna ({aggregation} "
                f"aggregation, {control_group} controls), assigned by {by!r}"),
    )
