"""The study in two calls: every number the funder report shows (:func:`headline`) and the
robustness checks it summarises (:func:`robustness`).

The notebook calls each once in a visible cell, so the funder report never depends on a cell
tagged ``researcher`` (those only show diagnostics of these results). Each function runs the
package's estimators in the order the notebook's sections explain them.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaltools.estimate.result import Estimate
from evaltools.studies.dropout_prevention.designs import fit_rollout, leave_one_out, rd_checks
from evaltools.studies.dropout_prevention.effects import (
    cox_index_from_hazard,
    model_rows,
    naive_difference,
    probability_effect,
    support_hazard,
)
from evaltools.studies.dropout_prevention.frames import (
    GRADES,
    DropoutData,
    attrition,
    school_panel,
    support_costs,
    threshold_design_available,
)

__all__ = ["Results", "Robustness", "headline", "robustness", "BALANCE_COVARIATES"]

BALANCE_COVARIATES = ("s1", "absences_prev", "special_needs")
"""Characteristics recorded before a plan, compared among offered pupils (took it up or not)."""


@dataclass
class Results:
    """What the funder report shows, and the fits behind it (see :func:`headline`)."""

    hazard: Any  # HazardResult of the headline model
    rows: pd.DataFrame  # the pupil-years it was fitted on
    att: Estimate  # ATT on the annual probability of leaving early
    cox: Any  # EffectSize: WWC Cox index
    at_threshold: Estimate  # the model's effect for pupils at the threshold
    naive: Estimate  # supported minus unsupported, unadjusted
    balance: Any  # estimate.BalanceTable among offered pupils (None: one group only)
    rd: Any  # RDResult: fuzzy RD at the threshold (None: no numeric risk score, threshold_design_available)
    density: Any  # its density test (None without the RD)
    gap: float  # z of RD minus the model's effect at the threshold (NaN without the RD)
    panel: pd.DataFrame  # school-year panel of the roll-out
    rollout: Any  # att_gt result (None: no comparison schools)
    rollout_control: str | None  # the comparison group used
    itt: Estimate | None
    dynamic: Any
    pretrend: Any
    twfe: Any  # static TWFE of the roll-out
    share_supported: float | None
    attrition: dict[str, float]
    mdes: float
    rating: Any  # EvidenceRating
    costs: dict[str, Any]
    cost_per_pupil: Any
    cost_per_dropout: Any
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def baseline_es(self) -> dict[str, float]:
        """Standardised differences among offered pupils (took the plan up or not)."""
        if self.balance is None:
            return {}
        return self.balance.table["norm_diff"].dropna().to_dict()


def headline(data: DropoutData, *, control_group: str = "never", anticipation: int = 0, bootstrap_reps: int = 999,
             seed: int | None = None, threats: Mapping[str, Callable[..., str]] | None = None) -> Results:
    """Fit the three designs, the standards and the cost of the study (every funder number).

    ``threats``: the texts of the evidence rating's threats in the report language, as functions:
    ``density(p)`` (manipulation at the threshold, density-test p-value) and ``disagree()`` (the RD
    and the model disagree at the threshold); English by default.
    """
    from evaltools import inference
    from evaltools.estimate import balance_table, rd, twfe
    from evaltools.standards import evidence_rating

    texts: dict[str, Callable[..., str]] = {
        "density": lambda p: f"manipulation of the risk score at the threshold (density test p = {p:.3f})",
        "disagree": lambda: "the threshold design and the model disagree", **(threats or {})}
    hazard, rows = support_hazard(data, rows=model_rows(data))  # the columns the designs read (same rows)
    supported = rows[rows["supported"]]
    att = probability_effect(hazard, supported, label="ATT: annual probability of leaving early")
    cox = cox_index_from_hazard(hazard, supported, n_comparison=int((~rows["supported"]).sum()))
    at_threshold = probability_effect(hazard, rows[(rows["s1"] - data.threshold).abs() < 1],
                                      label="model: effect at the threshold")
    naive = naive_difference(data)
    offered = data.pumpurs[data.pumpurs["offered"]].assign(took_up=lambda f: f["supported"].astype(int))
    covs = [c for c in BALANCE_COVARIATES if offered[c].notna().any()]
    balance = None
    if offered["took_up"].nunique() == 2 and covs:
        ok = offered[covs].notna().all(axis=1)
        balance = balance_table(offered[ok], "took_up", covs, cluster="school_id")
    rd_main = density = None
    gap = float("nan")
    if threshold_design_available(data):  # offered only with a numeric risk score (the fallback: the roll-out)
        rd_main = rd(rows, "left_early", "s1", cutoff=data.threshold, treatment="supported_f", cluster="school_id")
        density = rd_main.density_test()
        gap = (rd_main.estimate.estimate - at_threshold.estimate) / math.hypot(rd_main.estimate.se, at_threshold.se)

    panel = school_panel(data)
    cs, cs_control = fit_rollout(panel, control_group, anticipation=anticipation, base_period="universal",
                                 n_boot=bootstrap_reps, seed=seed)
    itt = dynamic = pretrend = tw = share = None
    if cs is not None:
        itt = cs.aggregate("simple").overall
        dynamic = cs.aggregate("dynamic")
        pretrend = cs.pretrend_test()
        py = data.pupil_years
        in_programme = py[py["grade"].between(*GRADES) & (py["cohort"] > 0) & (py["year"] >= py["cohort"])]
        share = float(in_programme["supported"].mean())
        tw = twfe(panel, "value", "treated", "school_id", "year", cluster="municipality_id")

    mdes = inference.multiplier(hazard.n["clusters"] - 1) * cox.se
    lost = attrition(data)
    threat_list = []
    if density is not None and density.pvalue < 0.05:
        threat_list.append(texts["density"](density.pvalue))
    if math.isfinite(gap) and abs(gap) > 1.96:
        threat_list.append(texts["disagree"]())
    base = balance.table["norm_diff"].dropna().to_dict() if balance is not None else {}
    # the hazard model adjusts for every characteristic of the balance check (score, special needs,
    # last year's absences), so a difference of 0.05-0.25 in them counts as adjusted (WWC)
    rating = evidence_rating("regression", overall_attrition_pct=lost["pct"], mdes=mdes, baseline_es=base or None,
                             baseline_adjusted=True, threats=threat_list)
    costs = support_costs(data)
    cost_pupil = cost_dropout = None
    if costs["total"] > 0 and costs["supported_pupils"] > 0:
        # per pupil, and per pupil and year of support (the EEF cost rating's unit): total / supported pupil-years
        cost_pupil = inference.cost_per_pupil(components=costs["by_type"].to_dict(), n_pupils=costs["supported_pupils"],
                                              years=costs["supported_pupil_years"] / costs["supported_pupils"])
        cost_dropout = inference.cost_per_outcome(costs["total"], -att.estimate, att.se,
                                                  costs["supported_pupil_years"], outcome="dropout prevented")
    return Results(hazard=hazard, rows=rows, att=att, cox=cox, at_threshold=at_threshold, naive=naive,
                   balance=balance, rd=rd_main, density=density, gap=float(gap), panel=panel, rollout=cs,
                   rollout_control=cs_control, itt=itt, dynamic=dynamic, pretrend=pretrend, twfe=tw,
                   share_supported=share, attrition=lost, mdes=float(mdes), rating=rating, costs=costs,
                   cost_per_pupil=cost_pupil, cost_per_dropout=cost_dropout)


@dataclass
class Robustness:
    """The robustness checks the funder report summarises (see :func:`robustness`)."""

    specs: dict[str, Estimate]  # the ATT under other score forms and clustering
    rd: dict[str, pd.DataFrame]  # rd_checks: bandwidth, placebo cut-offs, covariates (empty without the RD)
    wild_lpm: Any  # wild cluster bootstrap of the risk-adjusted comparison as an LPM
    wild: Any  # wild cluster bootstrap of the roll-out's static TWFE (None: no roll-out)
    rollout_grid: pd.DataFrame | None  # roll-out ATT by comparison group, base period, anticipation
    leave_one_out: pd.DataFrame | None  # roll-out ATT leaving out one municipality at a time
    honest: dict[str, Any]  # HonestDiD sensitivity by method


def robustness(data: DropoutData, res: Results, *, anticipation: int = 0, wild_reps: int = 9999,
               seed: int | None = None) -> Robustness:
    """Re-estimate the headline under other specifications, and the roll-out under other choices.

    ``specs``: the ATT with 5-point score bins, a quadratic score, SEs clustered by
    municipality; ``rd``: :func:`rd_checks`; ``wild_lpm``: the risk-adjusted comparison as a
    linear probability model with a wild cluster bootstrap over municipalities (few clusters);
    with a roll-out: the wild bootstrap of its TWFE, the grid of comparison group x base period x
    anticipation (and outcome regression), leave one municipality out, and HonestDiD bounds.
    """
    from evaltools import inference

    specs = {"linear score (main)": res.att}
    for spec in ("bins", "quadratic"):
        fit, fr = support_hazard(data, spec=spec, rows=model_rows(data))
        specs[f"{spec} score"] = probability_effect(fit, fr[fr["supported"]], label=spec)
    fit, fr = support_hazard(data, cluster="municipality_id", rows=model_rows(data))
    specs["clustered by municipality"] = probability_effect(fit, fr[fr["supported"]], label="municipality")
    rows = res.rows
    lpm = rows.assign(score_bin=np.floor(rows["score10"] * 2).astype("int64"))
    wild_lpm = inference.wild_cluster_bootstrap(lpm, "left_early", "supported_f", cluster="municipality_id",
                                                fixed_effects=["score_bin", "grade", "year"], n_boot=wild_reps, seed=seed)
    wild = grid_frame = loo = None
    honest: dict[str, Any] = {}
    if res.rollout is not None:
        wild = res.twfe.wild_bootstrap(n_boot=wild_reps, seed=seed)
        grid = {}
        for cg in ("never", "notyet"):
            for base in ("universal", "varying"):
                for ant in sorted({0, 1, anticipation}):
                    fit, used = fit_rollout(res.panel, cg, base_period=base, anticipation=ant)
                    if fit is not None and used == cg:
                        grid[f"{cg} treated, {base} base, anticipation {ant}"] = fit.aggregate("simple").overall
        fit, used = fit_rollout(res.panel, res.rollout_control, method="reg", anticipation=anticipation)
        if fit is not None:
            grid[f"{used} treated, outcome regression"] = fit.aggregate("simple").overall
        grid_frame = pd.DataFrame({k: {"estimate": v.estimate, "ci_low": v.ci_low, "ci_high": v.ci_high}
                                   for k, v in grid.items()}).T
        loo = leave_one_out(res.panel, outcome="value", unit="school_id", time="year", cohort="cohort",
                            weights="weight", cluster="municipality_id", control_group=res.rollout_control,
                            anticipation=anticipation)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for method, kw in (("relative_magnitude", {"mbar": [0, 0.5, 1, 1.5, 2]}), ("smoothness", {})):
                try:
                    honest[method] = inference.honest_did_event_study(res.dynamic, method=method, l_vec="average",
                                                                      **kw)
                except ValueError as exc:
                    honest[method + "_error"] = str(exc)
    return Robustness(specs=specs, rd=rd_checks(data, res.rd) if res.rd is not None else {}, wild_lpm=wild_lpm,
                      wild=wild,
                      rollout_grid=grid_frame, leave_one_out=loo, honest=honest)
