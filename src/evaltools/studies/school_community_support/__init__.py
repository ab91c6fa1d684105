"""Skola-kopienā individual support plans (ESF 4.2.3.1; ``notebooks/school_community_support.ipynb``):
did supported pupils' wellbeing, absences, literacy and exam results improve?

The study's verbs (the same in every study):

* :func:`prepare` the frames from a loaded data set, one per outcome (:mod:`.frames`);
* :func:`headline`: every number the funder report shows, in one call (:mod:`.analysis`): for
  each outcome the naive comparison, the value-added (lagged-outcome) regression (the headline),
  AIPW and matching with their balance and overlap, difference-in-differences on pupils measured
  before and after, and the dose-response by hours (:mod:`.effects`), effect sizes and the
  evidence rating; the subgroups and the costs;
* :func:`subgroups` ("for whom", Benjamini-Hochberg adjusted), :func:`costs` (from an assumed
  cost per hour: the data hold no costs);
* :func:`truth_check` against the effects stored with synthetic data (:mod:`.truth`).

Identification, in one paragraph: schools chose pupils for support on how they had fared the
year before (wellbeing, absences, results). Comparing supported and unsupported pupils of the
same schools and years *with the same prior outcome and characteristics* identifies the effect on
the supported if nothing else that drives the outcome guided the choice (selection on
observables). The naive comparison is biased downward (the supported had fared worse) and the
difference-in-differences upward (a bad year is partly followed by recovery anyway); the two
bracket the effect. For the retaken exams the comparison also takes the failed repeaters of schools
that offered no support (schools offered support at random; within offering schools nearly every
failed repeater was supported), adjusted for their prior ce9 results and school covariates. The
report's texts are in this package's ``messages.yaml`` (keys ``scs.*``).
"""
from __future__ import annotations

from typing import Any

from evaltools.studies.school_community_support.analysis import (
    GRADES,
    Results,
    headline,
    outcome_family,
    subgroup_effects,
    support_costs,
)
from evaltools.studies.school_community_support.effects import (
    OutcomeResults,
    SupportWarning,
    did_before_after,
    dose_bands,
    dose_response,
    naive,
    outcome_effects,
    value_added,
    weighting,
)
from evaltools.studies.school_community_support.frames import (
    MEASURES,
    OUTCOMES,
    SUBGROUPS,
    OutcomeSpec,
    SupportData,
    SupportDataError,
    prepare,
)
from evaltools.studies.school_community_support.needs import NEEDS, OPTIONAL, ROWS, needs_for
from evaltools.studies.school_community_support.publish import (
    GLOSSARY_TERMS,
    designs_frame,
    few_clusters,
    public,
    truth_frame,
)
from evaltools.studies.school_community_support.truth import bias_direction, effect_truth, missing_truths

__all__ = [
    # the verbs
    "prepare", "headline", "subgroups", "costs", "truth_check",
    # frames and results
    "SupportData", "SupportDataError", "SupportWarning", "OutcomeSpec", "OutcomeResults", "Results", "OUTCOMES",
    "MEASURES", "SUBGROUPS", "GRADES", "NEEDS", "OPTIONAL", "ROWS", "needs_for",
    # estimates
    "naive", "value_added", "dose_response", "dose_bands", "did_before_after", "weighting", "outcome_effects",
    "subgroup_effects", "support_costs", "outcome_family",
    # publishing and the truth check
    "designs_frame", "truth_frame", "public", "few_clusters", "GLOSSARY_TERMS", "effect_truth", "bias_direction",
    "missing_truths",
]


def subgroups(data: SupportData, outcome: str = "wellbeing", *, min_rows: int = 20) -> Any:
    """The value-added effect on ``outcome`` in each subgroup, Benjamini-Hochberg adjusted: :func:`subgroup_effects`."""
    return subgroup_effects(data, outcome, min_rows=min_rows)


def costs(data: SupportData, cost_per_hour: float = 25.0) -> dict[str, Any]:
    """Hours and costs by support type and the cost per supported pupil: :func:`support_costs`."""
    return support_costs(data, cost_per_hour)


def truth_check(truth: Any, results: Any, *, pass_mark: float | None = None) -> Any:
    """Each headline estimate next to the true value stored with synthetic data:
    :func:`.truth.truth_check` (``results``: a :class:`Results` or outcome -> :class:`OutcomeResults`)."""
    from evaltools.studies.school_community_support.truth import truth_check as _check

    return _check(truth, getattr(results, "outcomes", results), pass_mark=pass_mark)
