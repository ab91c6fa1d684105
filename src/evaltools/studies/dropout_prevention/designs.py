"""The other two designs: the staggered roll-out of schools (Callaway-Sant'Anna, TWFE weights,
leave-one-municipality-out) and the diagnostics of the fuzzy RD at the risk-score threshold."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaltools.studies.dropout_prevention.frames import DropoutData

__all__ = ['fit_rollout', 'twfe_weights', 'leave_one_out', 'rd_checks']


def fit_rollout(panel: pd.DataFrame, control_group: str = "never", **options: Any) -> tuple[Any, str | None]:
    """``att_gt`` of the school panel (outcome ``value``, pupil-weighted, clustered by
    municipality) with ``control_group``; when that comparison group cannot be formed
    (e.g. a region with one never-treated school) it falls back to the other one.

    Returns the result (None if neither works) and the control group used (or None).
    """
    from evaltools.estimate import att_gt

    base = dict(outcome="value", unit="school_id", time="year", cohort="cohort", weights="weight",
                cluster="municipality_id")
    base.update(options)
    for cg in (control_group, "notyet" if control_group == "never" else "never"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = att_gt(panel, control_group=cg, **base)
                res.aggregate("simple")
            return res, cg
        except (ValueError, KeyError):
            continue
    return None, None


def twfe_weights(panel: pd.DataFrame, unit: str = "school_id", time: str = "year",
                 treatment: str = "treated") -> pd.DataFrame:
    """The weights static two-way fixed effects puts on each treated unit-period's effect.

    The TWFE coefficient is ``sum_it w_it ATT_it`` over treated cells with
    ``w_it = e_it / sum_{D=1} e_it``, ``e`` the residual of the treatment on unit and
    period effects (de Chaisemartin & D'Haultfoeuille 2020, AER 110(9), Theorem 1). Cells
    of early cohorts in late periods get small or negative weights: TWFE then compares
    later changes of already-treated units with newly treated ones. Returns the treated
    cells with cohort, event time and weight.
    """
    from evaltools.estimate.fixed_effects import FixedEffects

    fe = FixedEffects.from_data(panel, [unit, time])
    resid = fe.demean(panel[treatment].to_numpy(float))
    treated = panel[treatment].to_numpy(float) == 1
    w = resid[treated] / resid[treated].sum()
    out = panel.loc[treated, [unit, time, "cohort"]].copy()
    out["event_time"] = out[time] - out["cohort"]
    out["weight"] = w
    return out.reset_index(drop=True)


def leave_one_out(panel: pd.DataFrame, by: str = "municipality_id", **att_gt_options: Any) -> pd.DataFrame:
    """The simple ATT of ``att_gt`` on ``panel`` leaving out one group of ``by`` at a time.

    ``att_gt_options`` go to :func:`evaltools.estimate.att_gt` (outcome, unit, time,
    cohort, control_group, ...). A group whose removal leaves no estimable comparison is
    reported with NaN.
    """
    from evaltools.estimate import att_gt

    rows = []
    for g in sorted(panel[by].unique()):
        sub = panel[panel[by] != g]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = att_gt(sub, **att_gt_options).aggregate("simple").overall
            rows.append({by: g, "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high})
        except (ValueError, KeyError):
            rows.append({by: g, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan})
    return pd.DataFrame(rows)


def rd_checks(data: DropoutData, main: Any, *, factors: Sequence[float] = (0.5, 0.75, 1.0, 1.5, 2.0),
              placebo_offsets: Sequence[float] = (-10.0, 10.0),
              covariates: Sequence[str] = ("absences_prev", "special_needs"),
              cluster: str = "school_id") -> dict[str, pd.DataFrame]:
    """Diagnostics of the fuzzy RD ``main`` (an :class:`evaltools.estimate.RDResult`).

    ``bandwidth``: the LATE at multiples of the chosen bandwidth (and with a local
    quadratic); ``placebo``: sharp RD of leaving at cut-offs where nothing changes
    (threshold + offsets, each side's data only, so the true cut-off is not inside);
    ``covariates``: sharp RD of pre-determined characteristics at the threshold (should be
    no jump).
    """
    from evaltools.estimate import rd

    p = data.pumpurs.assign(supported_f=lambda f: f["supported"].astype(float))
    c = data.threshold
    h = float(main.bandwidths.loc["h", "left"])

    def row(label: str, res: Any) -> dict[str, Any]:
        e = res.estimate
        return {"spec": label, "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                "pvalue": e.pvalue, "h": float(res.bandwidths.loc["h", "left"]),
                "n_effective": int(res.n["effective_left"] + res.n["effective_right"])}

    def safe(label: str, fn: Any) -> dict[str, Any]:
        try:
            return row(label, fn())
        except ValueError:
            return {"spec": label, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "pvalue": np.nan,
                    "h": np.nan, "n_effective": 0}

    bw = [safe(f"h x {f:g}", lambda f=f: rd(p, "left_early", "s1", cutoff=c, treatment="supported_f", cluster=cluster,
                                              bandwidth=h * f)) for f in factors]
    bw.append(safe("p = 2", lambda: rd(p, "left_early", "s1", cutoff=c, treatment="supported_f", cluster=cluster, p=2)))
    placebo = []
    for off in placebo_offsets:
        side = p[p["s1"] < c] if off < 0 else p[p["s1"] >= c]
        placebo.append(safe(f"{c + off:g}", lambda side=side, off=off: rd(side, "left_early", "s1", cutoff=c + off,
                                                                          cluster=cluster)))
    cov = [safe(col, lambda col=col: rd(p[p[col].notna()], col, "s1", cutoff=c, cluster=cluster)) for col in covariates
           if col in p and p[col].notna().sum() > 100]
    columns = ["spec", "estimate", "ci_low", "ci_high", "pvalue", "h", "n_effective"]
    return {name: pd.DataFrame(rows, columns=columns).set_index("spec")
            for name, rows in (("bandwidth", bw), ("placebo", placebo), ("covariates", cov))}
