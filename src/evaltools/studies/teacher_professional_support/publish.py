"""The frames the funder report publishes (through :func:`evaltools.report.publish_table` and
:func:`evaltools.report.protect`, which apply disclosure control): estimates by design, the event
study, the HonestDiD bounds and the truth check. The estimators are not changed here; this module
only lays their numbers out."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.estimate.result import Estimate

__all__ = ["SCALE", "designs_frame", "event_frame", "honest_frame", "truth_frame", "public"]

SCALE: dict[str, float] = {"observation": 1.0, "retention": 100.0, "pupil_results": 1.0, "dose": 1.0}
"""Shown = estimate x scale (a share of teachers leaving as percentage points)."""


def designs_frame(results: Any) -> pd.DataFrame:
    """One row per outcome and design: outcome, design (codes), estimate, ci_low, ci_high (in the
    outcome's unit, :data:`SCALE`), teachers (the supported teachers behind it, or the pupils' teachers)."""
    rows = []

    def add(outcome: str, design: str, est: Estimate | None, units: int) -> None:
        if est is None:
            return
        s = SCALE.get(outcome, 1.0)
        rows.append({"outcome": outcome, "design": design, "estimate": s * est.estimate, "ci_low": s * est.ci_low,
                     "ci_high": s * est.ci_high, "teachers": int(units)})

    n_obs = results.dose.n["teachers"]
    if results.observation is not None:
        add("observation", "cs_teacher", results.observation.att, n_obs)
    if results.municipality is not None:
        add("observation", "cs_municipality", results.municipality.att, n_obs)
    if results.wild is not None:
        add("observation", "twfe_wild", results.wild.estimate, n_obs)
    if results.retention is not None:
        add("retention", "cs_teacher", results.retention.att, results.retention.n.get("teachers", n_obs))
    p = results.pupils
    # the three-level model (all scores, cohort-by-year effects) is the headline, the roll-out its check
    for design, est in (("three_level", p.three_level), ("cs_teacher", p.rollout.att if p.rollout else None)):
        add("pupil_results", design, est, p.n["teachers"])
    for design, est in results.dose.designs().items():
        add("dose", design, est, n_obs)
    frame = pd.DataFrame(rows, columns=["outcome", "design", "estimate", "ci_low", "ci_high", "teachers"])
    return frame.astype({"teachers": "int64"})


def event_frame(res: Any, observations: pd.DataFrame) -> pd.DataFrame:
    """The event study of a roll-out fit (``res.dynamic``): event time, estimate, ci_low, ci_high and
    the teachers observed at that event time in started municipalities (``teachers``, the count the
    disclosure control protects)."""
    tab = res.dynamic.table
    o = observations[observations["cohort"] > 0]
    e = o["year"] - o["cohort"]
    counts = o.groupby(e)["teacher_id"].nunique()
    out = pd.DataFrame({"event_time": tab["event_time"].astype("int64").to_numpy(),
                        "estimate": tab["estimate"].to_numpy(float), "ci_low": tab["ci_low"].to_numpy(float),
                        "ci_high": tab["ci_high"].to_numpy(float)})
    out["teachers"] = out["event_time"].map(counts).fillna(0).astype("int64")
    return out


def honest_frame(honest: dict[str, Any]) -> pd.DataFrame:
    """The HonestDiD relative-magnitudes bounds: Mbar, ci_low, ci_high (the first row's Mbar = 0 is
    parallel trends exactly as before the start); empty without them."""
    rm = honest.get("relative_magnitude")
    if rm is None:
        return pd.DataFrame(columns=["mbar", "ci_low", "ci_high"])
    tab = rm.to_frame().reset_index()
    par = [c for c in tab.columns if c.lower() in ("mbar", "m")]
    lo = [c for c in tab.columns if c.lower() in ("lb", "ci_low", "lower")]
    hi = [c for c in tab.columns if c.lower() in ("ub", "ci_high", "upper")]
    if not (par and lo and hi):
        return pd.DataFrame(columns=["mbar", "ci_low", "ci_high"])
    return pd.DataFrame({"mbar": tab[par[0]].astype(float), "ci_low": tab[lo[0]].astype(float),
                         "ci_high": tab[hi[0]].astype(float)})


def truth_frame(check: pd.DataFrame) -> pd.DataFrame:
    """The truth check as the report shows it: quantity, estimate, CI, truth and the naive estimate."""
    cols = ["quantity", "estimate", "ci_low", "ci_high", "truth", "naive"]
    if check.empty:
        return pd.DataFrame(columns=cols)
    out = check[cols].copy()
    out["naive"] = np.asarray(out["naive"].astype(float))
    return out.reset_index(drop=True)


def public(est: Estimate, threshold: int) -> Estimate:
    """``est`` as results.json may hold it: any count in ``n`` below the disclosure ``threshold``
    (a small region) left out, and the few-clusters note that repeats it. The estimate and CI are
    unchanged."""
    n = {k: v for k, v in dict(est.n or {}).items() if not (isinstance(v, (int, np.integer)) and v < threshold)}
    diag = dict(est.diagnostics or {})
    if "clusters" not in n:
        diag.pop("few_clusters", None)
    return replace(est, n=n, diagnostics=diag)
