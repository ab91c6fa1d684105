"""PUMPURS dropout prevention (``notebooks/dropout_prevention.ipynb``): did the support plans
(ESF 8.3.4.0/16/I/001) keep pupils of grades 5-12 in school?

The study's verbs (the same in every study):

* :func:`prepare` the frames from a loaded data set (:mod:`.frames`);
* :func:`headline`: every number the funder report shows, in one call (:mod:`.analysis`):
  the risk-adjusted hazard model and its ATT (:mod:`.effects`), the fuzzy RD at the threshold
  and the staggered roll-out (:mod:`.designs`), the evidence rating and the costs;
  :func:`robustness` the checks it summarises;
* :func:`subgroups` ("for whom"), :func:`costs` (measures delivered, by type);
* :func:`truth_check` against the effects stored with synthetic data (:mod:`.truth`);
* vocational-school students, whom PUMPURS served too, reported apart from the study population
  (:mod:`.vocational`: the programme's totals, their leaving by course, the hazard model on their years).

What may be published, and in which form, is in :mod:`.publish` (disclosure control); the
report's texts are in this package's ``messages.yaml`` (keys ``dp.*``).

Identification, in one paragraph: a plan is offered when the semester-1 risk score reaches the
threshold, and taken up or not by the family. Given the score, whether a pupil is supported then
depends on the offer rule and on take-up only; if take-up is unrelated to the pupil's dropout
risk given the score (checked by balance among offered pupils), comparing supported and
unsupported pupils *with the same score* identifies the effect on the supported. The threshold
gives a second, local design (fuzzy RD), the staggered roll-out of schools a third (an
intention-to-treat effect of the programme).
"""
from __future__ import annotations

from typing import Any

from evaltools.studies.dropout_prevention.analysis import BALANCE_COVARIATES, Results, Robustness, headline, robustness
from evaltools.studies.dropout_prevention.designs import fit_rollout, leave_one_out, rd_checks, twfe_weights
from evaltools.studies.dropout_prevention.effects import (
    _probabilities,  # noqa: F401  (old name, used by tests)
    cox_index_from_hazard,
    measure_effects,
    naive_difference,
    other_outcomes,
    probability_effect,
    subgroup_effects,
    support_hazard,
)
from evaltools.studies.dropout_prevention.frames import (
    BASELINE_COVARIATES,
    GRADES,
    MIN_SCORE_VALUES,
    PLACEBO_GRADES,
    PUPIL_CODE,
    SCORE,
    SUBGROUPS,
    TREND,
    YEARS_IN,
    DropoutData,
    DropoutDataError,
    attrition,
    first_served_year,
    leaving_spells,
    placebo_panel,
    sample_flow_counts,
    school_panel,
    served_grades,
    support_costs,
    threshold_design_available,
)
from evaltools.studies.dropout_prevention.publish import (
    OBSERVED_RATES,
    cost_tables,
    designs_table,
    incidence_table,
    naive_rates,
    public,
    rollout_table,
    scaled,
)
from evaltools.studies.dropout_prevention.truth import effect_truth, truth_comparison
from evaltools.studies.dropout_prevention.vocational import (  # prepare: frames.prepare + vocational students
    GROUPS,
    VocationalData,
    leaving_by_course,
    prepare,
    programme_totals,
    pupils_in_all,
    vocational_effect,
    vocational_frames,
)
from evaltools.studies.dropout_prevention.publish import vocational_tables
from evaltools.studies.dropout_prevention.needs import NEEDS, OPTIONAL, ROWS  # what load_dataset reads (needs.py)

__all__ = [
    # the verbs
    "prepare", "headline", "robustness", "subgroups", "costs", "truth_check",
    # frames and results
    "NEEDS", "OPTIONAL", "ROWS",
    "DropoutData", "DropoutDataError", "Results", "Robustness", "GRADES", "SUBGROUPS", "TREND", "SCORE", "YEARS_IN",
    "BASELINE_COVARIATES", "BALANCE_COVARIATES", "school_panel", "attrition", "leaving_spells", "support_costs",
    "sample_flow_counts", "PLACEBO_GRADES", "PUPIL_CODE", "served_grades", "first_served_year", "placebo_panel",
    "MIN_SCORE_VALUES", "threshold_design_available",
    # estimates
    "naive_difference", "support_hazard", "probability_effect", "cox_index_from_hazard", "subgroup_effects",
    "measure_effects", "other_outcomes", "fit_rollout", "twfe_weights", "leave_one_out", "rd_checks",
    # publishing and the truth check
    "OBSERVED_RATES", "scaled", "public", "naive_rates", "designs_table", "rollout_table", "incidence_table",
    "cost_tables", "effect_truth", "truth_comparison",
    # vocational-school students (reported apart from the study population)
    "GROUPS", "VocationalData", "vocational_frames", "programme_totals", "pupils_in_all", "leaving_by_course",
    "vocational_effect", "vocational_tables",
]


def subgroups(data: DropoutData, by: str, *, min_rows: int = 10) -> dict[str, Any]:
    """The effect of support on supported pupils' annual leaving probability in each group of
    ``by`` (one of :data:`SUBGROUPS`): :func:`subgroup_effects`."""
    return subgroup_effects(data, by, min_rows=min_rows)


def costs(data: DropoutData) -> dict[str, Any]:
    """The cost of the measures delivered in the area and period, by type: :func:`support_costs`."""
    return support_costs(data)


def truth_check(truth: Any, data: DropoutData, estimates: Any, itt: Any = None) -> Any:
    """Each estimate next to the true value stored with synthetic data: :func:`truth_comparison`."""
    return truth_comparison(truth, data, estimates, itt=itt)
