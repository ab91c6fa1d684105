"""The truth check: each estimate next to the true value stored with synthetic data."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaltools.data.demo import effect_truth
from evaltools.estimate.result import Estimate
from evaltools.studies.dropout_prevention.frames import DropoutData

__all__ = ['effect_truth', 'truth_comparison']


def truth_comparison(truth: Mapping[str, Any] | None, data: DropoutData, estimates: Mapping[str, Any],
                     itt: Any = None) -> pd.DataFrame:
    """Each estimate next to the true value stored with synthetic data, and whether its CI covers it.

    ``estimates`` maps names to Estimates: ``log_or_threshold`` (the hazard model's support
    coefficient), ``att`` (probability scale), ``naive``, ``rd_late``, ``rd_takeup``,
    ``itt`` (simple ATT of the roll-out), ``cost_per_dropout``, ``prevented``,
    ``absences``, ``repetition``, ``exam_score``, and for vocational students (stored apart:
    ``pumpurs_support_dropout_vocational``) ``vocational_log_or`` and ``vocational_att``.
    ``itt`` is the ``att_gt`` result whose
    cohort shares weight the true ATT(g,t) like its simple aggregation. Realised averages
    (ATT, effect at the threshold, ITT, cost) hold for all of the programme's pupil-years
    in the synthetic data, so they are compared only when the study covers the whole
    country and every year with risk scores; structural parameters (log odds and rate
    ratios) always. Empty when there is no truth.
    """
    dropout = effect_truth(truth, "pumpurs_support_dropout")
    if dropout is None:
        return pd.DataFrame(columns=["estimate", "ci_low", "ci_high", "truth", "covered", "bias"])
    real = dropout.get("realised", {})
    par = dropout.get("parameters", {})
    same_threshold = math.isclose(float(par.get("threshold", data.threshold)), data.threshold)
    whole = data.region is None and data.notes.get("covers_programme", False)
    true: dict[str, float | None] = {}
    if same_threshold:
        true["log_or_threshold"] = par.get("tau0")
    if whole:
        true["att"] = real.get("att_probability")
        true["naive"] = real.get("att_probability")
        if same_threshold:
            true["rd_late"] = real.get("effect_at_threshold_probability")
            true["rd_takeup"] = real.get("takeup_at_threshold")
        true["cost_per_dropout"] = real.get("cost_per_prevented_dropout_eur")
        true["prevented"] = real.get("prevented_dropouts")
        if itt is not None and real.get("itt_att_gt"):
            true["itt"] = _true_simple_itt(real["itt_att_gt"], itt)
    vocational = effect_truth(truth, "pumpurs_support_dropout_vocational")
    if vocational is not None:  # vocational students (vocational.vocational_effect), apart from the population
        vpar = vocational.get("parameters", {})
        if math.isclose(float(vpar.get("threshold", data.threshold)), data.threshold):
            true["vocational_log_or"] = vocational.get("true_value")
        if whole:
            true["vocational_att"] = vocational.get("realised", {}).get("att_probability")
    for key, name in (("absences", "pumpurs_support_absences"), ("repetition", "pumpurs_support_repetition"),
                      ("exam_score", "pumpurs_support_exams")):
        e = effect_truth(truth, name)
        if e is not None:
            true[key] = e.get("true_value")
    rows = []
    for key, value in true.items():
        est = estimates.get(key)
        if est is None or value is None:
            continue
        est = est if isinstance(est, Estimate) else est.estimate
        rows.append({"name": key, "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high,
                     "truth": float(value), "covered": bool(est.ci_low <= value <= est.ci_high),
                     "bias": est.estimate - float(value)})
    return pd.DataFrame(rows).set_index("name") if rows else pd.DataFrame(
        columns=["estimate", "ci_low", "ci_high", "truth", "covered", "bias"])


def _true_simple_itt(cells: Sequence[Mapping[str, Any]], itt: Any) -> float | None:
    """The true ATT(g,t) cells weighted as ``att_gt(...).aggregate("simple")`` weights the
    estimated ones (cohort shares p_g over the post-treatment cells it estimated)."""
    tab = itt.table
    post = tab[tab["post"] & np.isfinite(tab["att"])]
    share = dict(zip(itt.glist.tolist(), itt.pg.tolist()))
    truth = {(int(c["cohort"]), int(c["year"])): float(c["att_probability"]) for c in cells}
    num = den = 0.0
    for g, t in zip(post["group"], post["time"]):
        if (int(g), int(t)) in truth:
            w = share.get(g, share.get(float(g), 0.0))
            num += w * truth[(int(g), int(t))]
            den += w
    return num / den if den > 0 else None
