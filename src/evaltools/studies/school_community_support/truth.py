"""The truth check (synthetic data only): each headline estimate next to the stored true effect.

The true effects are read from the data's ``true_effects.json`` (never written here): for each
outcome of :data:`~.frames.OUTCOMES` its entry (``OutcomeSpec.truth``) gives ``true_value`` (the
effect at the supported pupils' mean dose: compared with the value-added estimate),
``parameters.effect_per_10_hours`` (compared with the dose-response slope, when stored) and
``naive_bias_direction`` (the naive comparison should lie on that side of the truth).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from evaltools.data.demo import bias_direction, effect_truth  # one reader of the sidecar's entries
from evaltools.studies.school_community_support.frames import OUTCOMES

__all__ = ["COLUMNS", "effect_truth", "bias_direction", "truth_check", "missing_truths"]

COLUMNS = ["outcome", "quantity", "estimate", "ci_low", "ci_high", "truth", "covered", "naive", "naive_direction",
           "naive_as_stored"]


def missing_truths(truth: Mapping[str, Any] | None) -> list[str]:
    """The outcomes without a stored true effect (all of them for a real extract)."""
    return [k for k, spec in OUTCOMES.items() if effect_truth(truth, spec.truth) is None]


def truth_check(truth: Mapping[str, Any] | None, results: Mapping[str, Any], *, pass_mark: float | None = None
                ) -> pd.DataFrame:
    """One row per headline quantity with a stored truth: the outcome's effect (``effect``: the
    value-added estimate) and, when stored, its effect per 10 hours (``per_10_hours``: the
    dose-response slope). ``results``: outcome -> :class:`~.effects.OutcomeResults`. Columns:
    :data:`COLUMNS` (``naive_as_stored``: the naive comparison lies on the stored side of the
    truth). An outcome not estimated, or whose stored pass mark differs from ``pass_mark``, is left out.
    """
    rows = []
    for outcome, spec in OUTCOMES.items():
        entry, res = effect_truth(truth, spec.truth), results.get(outcome)
        if entry is None or res is None or not res.estimable:
            continue
        par = entry.get("parameters") or {}
        if pass_mark is not None and "pass_mark" in par and float(par["pass_mark"]) != float(pass_mark):
            continue
        direction = bias_direction(entry)
        for quantity, est, value in (("effect", res.value_added, entry.get("true_value")),
                                     ("per_10_hours", res.dose, par.get("effect_per_10_hours"))):
            if value is None or est is None:
                continue
            value = float(value)
            nv = res.naive.estimate if quantity == "effect" and res.naive is not None else None
            rows.append({"outcome": outcome, "quantity": quantity, "estimate": est.estimate, "ci_low": est.ci_low,
                         "ci_high": est.ci_high, "truth": value, "covered": bool(est.ci_low <= value <= est.ci_high),
                         "naive": nv, "naive_direction": direction if nv is not None else None,
                         "naive_as_stored": (None if nv is None or direction is None
                                             else bool(direction * (nv - value) > 0))})
    return pd.DataFrame(rows, columns=COLUMNS)
