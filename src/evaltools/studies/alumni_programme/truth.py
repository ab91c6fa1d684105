"""The truth check (synthetic data only): estimates against the stored true effects."""
from __future__ import annotations

from typing import Any

import pandas as pd

from evaltools.estimate.result import Estimate
from evaltools.studies.alumni_programme.frames import FAVOURABLE

__all__ = ['TRUTH_MAP', 'truth_check']


TRUTH_MAP = {
    # stored effect: (outcome, which value of the sidecar, estimate key, naive key)
    "retention log OR": ("retention", ("growth_programme_retention", None), "hazard", "hazard_naive"),
    "retention ATT": ("retention", ("growth_programme_retention", "att_probability"), "gcomp", "naive"),
    "leadership log OR": ("leadership", ("growth_programme_leadership", None), "hazard", "hazard_naive"),
    "leadership ATT": ("leadership", ("growth_programme_leadership", "att_probability"), "gcomp", "naive"),
    "pupil results": ("pupil_results", ("growth_programme_pupil_results", None), "adjusted", "naive"),
    "collaboration spill-over": ("collaboration", ("growth_programme_collaboration_spillover", None), "twfe", "naive"),
}
"""Which estimate of the study is compared with which stored true effect."""


def truth_check(truth: dict[str, Any] | None, estimates: dict[str, dict[str, Estimate]]) -> pd.DataFrame:
    """Estimates against the stored true effects.

    ``estimates`` maps an outcome (``retention``, ``leadership``, ``pupil_results``,
    ``collaboration``) to its dict of Estimates. Columns: truth, estimate, ci_low, ci_high,
    covered (truth inside the CI), naive, naive_favourable (the naive comparison makes the
    programme look better than the truth does: motivated teachers select in).
    """
    if not truth:
        return pd.DataFrame(columns=["truth", "estimate", "ci_low", "ci_high", "covered", "naive", "naive_favourable"])
    effects = {e["name"]: e for e in truth.get("effects", [])}
    rows = {}
    for label, (outcome, (name, realised), key, naive_key) in TRUTH_MAP.items():
        if name not in effects or outcome not in estimates or key not in estimates[outcome]:
            continue
        eff = effects[name]
        value = eff["true_value"] if realised is None else (eff.get("realised") or {}).get(realised)
        if value is None:
            continue
        e, n = estimates[outcome][key], estimates[outcome].get(naive_key)
        sign = FAVOURABLE[outcome]
        rows[label] = {"truth": float(value), "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                       "covered": bool(e.ci_low <= value <= e.ci_high),
                       "naive": None if n is None else n.estimate,
                       "naive_favourable": None if n is None else bool(sign * (n.estimate - value) > 0)}
    return pd.DataFrame.from_dict(rows, orient="index")
