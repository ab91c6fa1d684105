"""The study in one call: every number the funder report shows (:func:`headline`).

The notebook calls it once in a visible cell, so the funder report never depends on a cell tagged
``researcher`` (those only show diagnostics of these results)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evaltools.estimate.result import Estimate
from evaltools.studies.teacher_professional_support.effects import (
    DoseResults,
    PupilResults,
    dose,
    pupil_results,
    retention,
    subgroup_effects,
)
from evaltools.studies.teacher_professional_support.frames import TPSData
from evaltools.studies.teacher_professional_support.mechanisms import activity_profile, purpose_hours, support_costs
from evaltools.studies.teacher_professional_support.rollout import RolloutResult, honest_bounds, rollout, wild_twfe
from evaltools.studies.teacher_professional_support.truth import missing_truths, truth_check

__all__ = ["Results", "headline"]


@dataclass
class Results:
    """What the funder report shows (see :func:`headline`)."""

    observation: RolloutResult | None  # teacher level: the headline
    municipality: RolloutResult | None
    wild: Any  # WildBootstrapResult of the static TWFE (None: could not be fitted)
    honest: dict[str, Any]
    retention: RolloutResult | None
    pupils: PupilResults
    dose: DoseResults
    subgroups: pd.DataFrame
    activities: pd.DataFrame
    purposes: pd.DataFrame
    costs: dict[str, Any]
    rating: Any
    effect_size: Any
    check: pd.DataFrame
    no_truth: list[str] = field(default_factory=list)

    def estimates(self) -> dict[str, Estimate]:
        """The headline quantities (as :func:`~.truth.truth_check` takes them)."""
        out: dict[str, Estimate] = {}
        for key, res in (("observation", self.observation), ("observation_municipality", self.municipality),
                         ("retention", self.retention), ("pupil_results_rollout", self.pupils.rollout)):
            if res is not None:
                out[key] = res.att
        if self.pupils.three_level is not None:
            out["pupil_results"] = self.pupils.three_level
        if self.dose.teacher_fe is not None:
            out["per_10_hours"] = self.dose.teacher_fe
        return out


def headline(data: TPSData, *, truth: Mapping[str, Any] | None = None, control_group: str = "notyet",
             anticipation: int = 0, bootstrap_reps: int = 999, wild_reps: int = 9999, seed: int | None = 20240901,
             cost_per_methodologist_year: float = 18000.0, cost_per_hour: float = 25.0,
             min_teachers: int = 20, three_level_rows: int | None = None) -> Results:
    """Every design of the study: the roll-out on observed scores at teacher and municipality level
    (:func:`~.rollout.rollout`) with its wild bootstrap and HonestDiD bounds, leaving teaching and
    pupils' results, the dose, the subgroups, the activities and costs, the evidence rating and, on
    synthetic data for all of Latvia, the truth check against ``truth`` (``true_effects.json``).
    ``wild_reps``: the draws of the wild cluster bootstrap and of the pre-trend test;
    ``three_level_rows``: deprecated (the three-level model now fits all scores; 0 leaves it out,
    see :func:`~.effects.pupil_results`)."""
    from evaltools import inference
    from evaltools.standards import evidence_rating, hedges_g

    ro = rollout(data.observations, data.municipality_panel, control_group=control_group,
                 anticipation=anticipation, bootstrap_reps=bootstrap_reps, seed=seed, pretest_reps=wild_reps)
    main = ro["teacher"]
    wild = None
    try:
        wild = wild_twfe(data.observations, n_boot=wild_reps, seed=seed)
    except ValueError:
        pass
    ret = retention(data, control_group=control_group, anticipation=anticipation)
    if three_level_rows is not None:
        import warnings

        warnings.warn("headline(three_level_rows=...) is deprecated: the three-level model fits all scores; "
                      "0 still leaves it out, other values are ignored.", DeprecationWarning, stacklevel=2)
    pupils = pupil_results(data, control_group=control_group, anticipation=anticipation,
                           max_rows_three_level=0 if three_level_rows == 0 else None)
    ds = dose(data)
    groups = subgroup_effects(data, control_group=control_group, min_teachers=min_teachers)
    costs = support_costs(data, cost_per_methodologist_year=cost_per_methodologist_year, cost_per_hour=cost_per_hour)
    rating = es = None
    if main is not None:
        o = data.observations
        t, c = o[o["treated"] == 1], o[o["treated"] == 0]  # Hedges' g: the ATT over the pooled SD of the arms
        if len(t) > 1 and len(c) > 1:
            es = hedges_g(sd_t=float(t["score"].std(ddof=1)), sd_c=float(c["score"].std(ddof=1)), n_t=len(t),
                          n_c=len(c), adjusted_diff=main.att.estimate, se_diff=main.att.se)
        threats = []
        p = getattr(main.pretrend, "pvalue", None)
        if p is not None and p == p and p < 0.05:
            threats.append(f"pre-start trends differ (pre-trend test p = {p:.3f})")
        sd = float(o["score"].std(ddof=1))
        # MDES in SD units from the headline's SE (t(G-1) multiplier, 80% power at 5%)
        mdes = float(inference.multiplier(main.n["clusters"] - 1) * main.att.se / sd) if sd > 0 else None
        rating = evidence_rating("staggered_did", mdes=mdes, threats=threats)
    res = Results(observation=main, municipality=ro["municipality"], wild=wild, honest=honest_bounds(main),
                  retention=ret, pupils=pupils, dose=ds, subgroups=groups, activities=activity_profile(data),
                  purposes=purpose_hours(data), costs=costs, rating=rating, effect_size=es, check=pd.DataFrame())
    whole = data.region is None
    fits = {"observation": main.fit if main else None,
            "observation_municipality": ro["municipality"].fit if ro["municipality"] else None}
    res.check = truth_check(truth if whole else None, res.estimates(), fits=fits,
                            naive={"per_10_hours": ds.naive} if ds.naive is not None else {})
    res.no_truth = missing_truths(truth) if truth else []
    return res
