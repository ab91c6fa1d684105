"""The frames the funder report publishes (through :func:`evaltools.report.publish_table`, which applies
disclosure control): estimates by outcome and design, and the truth check. The estimators are not
changed here; this module only lays their numbers out."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from evaltools.estimate.result import Estimate
from evaltools.studies.school_community_support.effects import OutcomeResults

__all__ = ["SCALE", "GLOSSARY_TERMS", "designs_frame", "truth_frame", "public", "few_clusters"]

SCALE = {"wellbeing": 1.0, "absences": 1.0, "literacy": 1.0, "exam_retake": 100.0}
"""Shown = estimate x scale (a share of pupils passing as percentage points)."""

GLOSSARY_TERMS: tuple[str, ...] = ("ci", "p_value", "pp", "sd", "effect_size", "months", "padlocks", "wwc", "mdes",
                                   "did", "attrition", "cost_rating", "aipw", "multiple_testing")
"""The glossary entries the report shows (``evaltools.report.sections.glossary_section``): every term its card,
tables and texts use, AIPW (a design) and multiple testing (the Benjamini-Hochberg subgroups) among them."""


def designs_frame(results: Mapping[str, OutcomeResults]) -> pd.DataFrame:
    """One row per estimable outcome and design: ``outcome``, ``design`` (codes), ``estimate``,
    ``ci_low``, ``ci_high`` (in the outcome's unit, :data:`SCALE`) and ``supported`` (the pupils behind it)."""
    rows = []
    for outcome, res in results.items():
        s = SCALE.get(outcome, 1.0)
        for design, e in res.designs().items():
            rows.append({"outcome": outcome, "design": design, "estimate": s * e.estimate, "ci_low": s * e.ci_low,
                         "ci_high": s * e.ci_high, "supported": int(res.n["supported"])})
    frame = pd.DataFrame(rows, columns=["outcome", "design", "estimate", "ci_low", "ci_high", "supported"])
    return frame.astype({"supported": "int64"})


def truth_frame(check: pd.DataFrame) -> pd.DataFrame:
    """The truth check as the report shows it (outcome's unit, :data:`SCALE`): estimate, CI, truth, naive."""
    if check.empty:
        return pd.DataFrame(columns=["outcome", "quantity", "estimate", "ci_low", "ci_high", "truth", "naive"])
    s = check["outcome"].map(SCALE).fillna(1.0).to_numpy()
    out = check[["outcome", "quantity"]].copy()
    for c in ("estimate", "ci_low", "ci_high", "truth"):
        out[c] = check[c].to_numpy(float) * s
    out["naive"] = np.asarray(check["naive"].astype(float)) * s
    return out.reset_index(drop=True)


def few_clusters(est: Estimate) -> bool:
    """Whether ``est`` rests on so few schools that its cluster-robust SE is unreliable: the estimator's
    ``few_clusters`` diagnostic, or fewer clusters than :data:`evaltools.estimate.cluster_robust.FEW_CLUSTERS`."""
    from evaltools.estimate.cluster_robust import FEW_CLUSTERS

    return "few_clusters" in (est.diagnostics or {}) or int((est.n or {}).get("clusters", FEW_CLUSTERS)) < FEW_CLUSTERS


def public(est: Estimate, threshold: int) -> Estimate:
    """``est`` as results.json may hold it: the number of schools (clusters) behind it, and the
    few-clusters note that repeats it, left out when it is below the disclosure ``threshold`` (a
    region with a handful of schools offering support). The estimate and its CI are unchanged."""
    n = dict(est.n or {})
    diag = dict(est.diagnostics or {})
    if int(n.get("clusters", threshold)) < threshold:
        n.pop("clusters")
        diag.pop("few_clusters", None)
    return replace(est, n=n, diagnostics=diag)
