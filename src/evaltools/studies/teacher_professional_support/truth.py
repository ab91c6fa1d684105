"""The truth check (synthetic data only): each headline estimate next to the stored true effect.

The true effects are read from the data's ``true_effects.json`` (never written here) with
:func:`evaltools.data.demo.effect_truth`; names fixed by the data contract:

* ``teacher_support_observation``: ATT of the roll-out on the head-observed score. When the entry
  stores the effect by event time (``parameters.event_time_profile`` or ``by_event_time``:
  ``{e: effect}``) or by cohort and year (``realised.att_gt``: ``[{cohort, year, att}]``), the truth
  is weighted as the estimate's simple aggregation weights its cells (cohort shares over the
  post-start cells it estimated); otherwise ``true_value``;
* ``teacher_support_observation_per_10_hours``: the dose (``true_value``, or
  ``parameters.effect_per_10_hours``), with the naive slope's stored bias direction;
* ``teacher_support_retention``: percentage points (the estimate is a share: x 100);
* ``teacher_support_pupil_results``: points on the tests' percent scale (the three-level model, the
  headline, and the roll-out ATT, ``pupil_results_rollout``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from evaltools.data.demo import bias_direction, effect_truth
from evaltools.estimate.result import Estimate

__all__ = ["NAMES", "COLUMNS", "truth_check", "missing_truths", "bias_direction", "weighted_truth"]

NAMES: dict[str, str] = {
    "observation": "teacher_support_observation",
    "observation_municipality": "teacher_support_observation",
    "per_10_hours": "teacher_support_observation_per_10_hours",
    "retention": "teacher_support_retention",
    "pupil_results": "teacher_support_pupil_results",
    "pupil_results_rollout": "teacher_support_pupil_results",
}
"""Quantity -> the name of its entry in ``true_effects.json``."""

SCALE: dict[str, float] = {"retention": 100.0}
"""Estimate x scale = the stored truth's unit (a share as percentage points)."""

HEADLINE: tuple[str, ...] = ("observation", "per_10_hours", "retention", "pupil_results")
"""The headline quantities (the municipality-level ATT is a second design of the first; the
roll-out ATT on pupils' scores, ``pupil_results_rollout``, a second design of the three-level one)."""

COLUMNS = ["quantity", "estimate", "ci_low", "ci_high", "truth", "covered", "headline", "naive", "naive_direction",
           "naive_as_stored"]


def missing_truths(truth: Mapping[str, Any] | None) -> list[str]:
    """The headline quantities without a stored true effect (all of them for a real extract)."""
    return [q for q in HEADLINE if effect_truth(truth, NAMES[q]) is None]


def _profile(entry: Mapping[str, Any]) -> dict[int, float] | None:
    par = entry.get("parameters") or {}
    for key in ("event_time_profile", "by_event_time", "profile"):
        prof = par.get(key)
        if isinstance(prof, Mapping) and prof:
            return {int(float(k)): float(v) for k, v in prof.items()}
        if isinstance(prof, list) and prof and isinstance(prof[0], Mapping):
            return {int(p.get("event_time", p.get("e"))): float(p.get("effect", p.get("att"))) for p in prof}
    return None


def _cells(entry: Mapping[str, Any]) -> dict[tuple[int, int], float] | None:
    real = entry.get("realised") or {}
    cells = real.get("att_gt") or real.get("cells")
    if isinstance(cells, list) and cells:
        try:
            return {(int(c["cohort"]), int(c["year"])): float(c.get("att", c.get("effect"))) for c in cells}
        except (KeyError, TypeError, ValueError):
            return None
    return None


def weighted_truth(entry: Mapping[str, Any], fit: Any) -> float | None:
    """The true ATT weighted as ``fit.aggregate("simple")`` weights its post-start cells (cohort
    shares p_g); None when the entry stores neither cells nor an event-time profile."""
    cells, prof = _cells(entry), _profile(entry)
    if fit is None or (cells is None and prof is None):
        return None
    tab = fit.table
    post = tab[tab["post"] & np.isfinite(tab["att"])]
    share = {float(g): float(p) for g, p in zip(fit.glist.tolist(), fit.pg.tolist())}
    num = den = 0.0
    for g, t in zip(post["group"], post["time"]):
        g, t = int(g), int(t)
        value = cells.get((g, t)) if cells is not None else None
        if value is None and prof is not None:
            e = t - g
            value = prof.get(e, prof.get(max(k for k in prof if k <= e)) if any(k <= e for k in prof) else None)
        if value is None:
            continue
        w = share.get(float(g), 0.0)
        num += w * value
        den += w
    return num / den if den > 0 else None


def truth_check(truth: Mapping[str, Any] | None, estimates: Mapping[str, Any],
                fits: Mapping[str, Any] | None = None, naive: Mapping[str, Estimate] | None = None) -> pd.DataFrame:
    """One row per quantity of :data:`NAMES` with a stored truth and an estimate. ``estimates``:
    quantity -> Estimate (on the estimate's own scale; :data:`SCALE` converts); ``fits``: quantity ->
    the ``att_gt`` fit behind a roll-out ATT (for the weighted truth); ``naive``: quantity -> the
    naive estimate whose stored bias direction is checked. Columns: :data:`COLUMNS`."""
    fits, naive = fits or {}, naive or {}
    rows = []
    for q, name in NAMES.items():
        entry, est = effect_truth(truth, name), estimates.get(q)
        if entry is None or est is None:
            continue
        value = weighted_truth(entry, fits.get(q)) if q.startswith("observation") else None
        if value is None:
            value = entry.get("true_value")
            if value is None and q == "per_10_hours":
                value = (entry.get("parameters") or {}).get("effect_per_10_hours")
        if value is None:
            continue
        value, s = float(value), SCALE.get(q, 1.0)
        nv = naive.get(q)
        direction = bias_direction(entry) if nv is not None else None
        rows.append({"quantity": q, "estimate": s * est.estimate, "ci_low": s * est.ci_low, "ci_high": s * est.ci_high,
                     "truth": value, "covered": bool(s * est.ci_low <= value <= s * est.ci_high),
                     "headline": q in HEADLINE, "naive": None if nv is None else s * nv.estimate,
                     "naive_direction": direction,
                     "naive_as_stored": (None if nv is None or direction is None
                                         else bool(direction * (s * nv.estimate - value) > 0))})
    return pd.DataFrame(rows, columns=COLUMNS)
