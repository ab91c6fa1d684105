"""The study in one call: every number the funder report shows (:func:`headline`), and the
subgroups (:func:`subgroup_effects`) and costs (:func:`support_costs`) it draws on."""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaltools.studies.school_community_support.effects import OutcomeResults, outcome_effects, value_added
from evaltools.studies.school_community_support.frames import MEASURES, OUTCOMES, SUBGROUPS, SupportData
from evaltools.studies.school_community_support.truth import effect_truth, missing_truths, truth_check

__all__ = ["Results", "headline", "subgroup_effects", "support_costs", "outcome_family"]

GRADES: dict[str, tuple[int, int]] = {"wellbeing": (5, 12), "absences": (1, 12), "literacy": (3, 3),
                                      "exam_retake": (9, 9)}
"""Grades in which each outcome is measured for supported pupils (the base of its attrition):
wellbeing surveys from grade 4, so a year before and after from grade 5; the grade-3 diagnostic;
grade-9 repeaters."""


@dataclass
class Results:
    """What the funder report shows (see :func:`headline`)."""

    outcomes: dict[str, OutcomeResults]
    subgroups: dict[str, pd.DataFrame]
    costs: dict[str, Any]
    check: pd.DataFrame
    no_truth: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def estimated(self) -> list[str]:
        """The outcomes whose headline design could be estimated, in the report's order."""
        return [k for k, r in self.outcomes.items() if r.estimable]


def outcome_family(truth: Mapping[str, Any] | None, outcome: str) -> str:
    """The regression family of ``outcome``: Poisson (log rate ratio) when the stored truth of a count
    is on the log scale, else OLS (the difference in the outcome's unit)."""
    entry = effect_truth(truth, OUTCOMES[outcome].truth)
    scale = str((entry or {}).get("scale", "")).lower()
    return "poisson" if outcome == "absences" and ("log" in scale or "ratio" in scale) else "gaussian"


def _supported_in_grades(data: SupportData, outcome: str) -> int:
    s = data.support[data.support["measure"].isin(OUTCOMES[outcome].measures)]
    g = s.merge(data.offering[["pupil_id", "year", "grade"]], on=["pupil_id", "year"], how="left")
    lo, hi = GRADES[outcome]
    return int(g.loc[g["grade"].between(lo, hi), "pupil_id"].nunique())


def subgroup_effects(data: SupportData, outcome: str, *, min_rows: int = 20, family: str = "gaussian"
                     ) -> pd.DataFrame:
    """The value-added effect within each group of :data:`SUBGROUPS` (one regression per group),
    with Benjamini-Hochberg adjusted p-values over all the groups of the outcome
    (:func:`evaltools.inference.subgroup_family`). Groups with fewer than ``min_rows`` supported
    or comparison pupils are left out. Columns: by, group, supported, estimate, ci_low, ci_high,
    pvalue, p_bh."""
    from evaltools.inference import subgroup_family

    frame = data.frames[outcome]

    def fit(g: pd.DataFrame) -> Any:
        if (g["D"] == 1).sum() < min_rows or (g["D"] == 0).sum() < min_rows:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return value_added(g, OUTCOMES[outcome], family)  # no valid SE (one school only): left out

    return subgroup_family(frame, SUBGROUPS, fit, counts={"supported": lambda g: int((g["D"] == 1).sum())})


def support_costs(data: SupportData, cost_per_hour: float) -> dict[str, Any]:
    """Costs from the hours delivered and an assumed cost per hour (the data hold no costs): by support
    type (hours, pupils, cost) and the cost per supported pupil (and per pupil and year,
    :func:`evaltools.inference.cost_per_pupil`)."""
    from evaltools.inference import cost_per_pupil

    s = data.support
    hours = s.groupby("measure")["hours"].sum().reindex(list(MEASURES)).dropna()
    hours = hours[hours > 0]
    pupils = s.groupby("measure")["pupil_id"].nunique().reindex(hours.index).astype("int64")
    by_type = pd.DataFrame({"pupils": pupils, "hours": hours.astype(float), "cost": hours.astype(float) * cost_per_hour})
    c = data.counts()
    per = None
    if c["supported_pupils"] > 0:
        per = cost_per_pupil(components=by_type["cost"].to_dict(), n_pupils=c["supported_pupils"],
                             years=c["supported_pupil_years"] / c["supported_pupils"])
    per_hours = {m: float(s.loc[s["measure"] == m].groupby("pupil_id")["hours"].sum().mean()) for m in hours.index}
    return {"by_type": by_type, "total": float(by_type["cost"].sum()), "cost_per_hour": float(cost_per_hour),
            "per_pupil": per, "hours_per_pupil": per_hours, "supported_pupils": c["supported_pupils"],
            "supported_pupil_years": c["supported_pupil_years"]}


def headline(data: SupportData, *, truth: Mapping[str, Any] | None = None, cost_per_hour: float = 25.0,
             neighbours: int = 4, min_rows: int = 20) -> Results:
    """Every design for every outcome (:func:`~.effects.outcome_effects`), the subgroups, the costs and,
    on synthetic data, the truth check against ``truth`` (the data's ``true_effects.json``)."""
    outcomes, groups = {}, {}
    for name in OUTCOMES:
        family = outcome_family(truth, name)
        outcomes[name] = outcome_effects(data.frames[name], name, min_rows=min_rows, neighbours=neighbours,
                                         family=family, supported_all=_supported_in_grades(data, name))
        if name in data.skipped and outcomes[name].reason is None:
            outcomes[name].reason = data.skipped[name]
        elif name in data.skipped:
            outcomes[name].reason = data.skipped[name]
        groups[name] = (subgroup_effects(data, name, min_rows=min_rows, family=family)
                        if outcomes[name].estimable else pd.DataFrame())
    check = truth_check(truth, outcomes, pass_mark=data.pass_mark) if data.region is None else truth_check(None, {})
    return Results(outcomes=outcomes, subgroups=groups, costs=support_costs(data, cost_per_hour), check=check,
                   no_truth=missing_truths(truth) if truth else list(OUTCOMES),
                   notes={"families": {k: outcome_family(truth, k) for k in OUTCOMES}})
