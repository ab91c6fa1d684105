"""The truth check: the within-school association next to the effect stored with synthetic data.

The generator's Latvijas skolas soma has **no** effect on wellbeing (``skolas_soma_wellbeing``,
``true_value`` 0 in ``true_effects.json``); urban, better-off schools offer more activities, so the
naive slope is biased upward. The within-school slope should cover the true value; the naive one
need not.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from evaltools.core.result import Estimate
from evaltools.data.demo import effect_truth

__all__ = ["TRUTH_NAME", "stored_truth", "truth_check"]

#: The entry of ``true_effects.json`` the headline association is compared with.
TRUTH_NAME = "skolas_soma_wellbeing"
COLUMNS = ["estimate", "ci_low", "ci_high", "truth", "covered", "bias", "naive", "naive_bias"]


def stored_truth(truth: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The ``skolas_soma_wellbeing`` entry of a ``true_effects.json`` (None if absent)."""
    return effect_truth(truth, TRUTH_NAME)


def truth_check(truth: Mapping[str, Any] | None, within: Estimate | None, naive: Estimate | None = None, *,
                within_pupil: Estimate | None = None) -> pd.DataFrame:
    """One row per design of the wellbeing association (``within_school``, the headline, and
    ``within_pupil``): estimate and CI, the stored true value, whether the CI covers it, the bias,
    and the naive slope with its bias. Empty without a stored truth (real data) or without an
    estimate."""
    entry = stored_truth(truth)
    if entry is None or within is None or entry.get("true_value") is None:
        return pd.DataFrame(columns=COLUMNS, index=pd.Index([], name="design"))
    value = float(entry["true_value"])
    rows = {}
    for key, est in (("within_school", within), ("within_pupil", within_pupil)):
        if est is None:
            continue
        rows[key] = {"estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high, "truth": value,
                     "covered": bool(est.ci_low <= value <= est.ci_high), "bias": est.estimate - value,
                     "naive": None if naive is None else naive.estimate,
                     "naive_bias": None if naive is None else naive.estimate - value}
    return pd.DataFrame.from_dict(rows, orient="index")[COLUMNS].rename_axis("design")
