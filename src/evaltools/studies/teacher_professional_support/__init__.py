"""Teacher professional support: the methodologist network (ESF 4.2.2.3;
``notebooks/teacher_professional_support.ipynb``): does the support system change teaching?

The study's verbs (the same in every study):

* :func:`prepare` the frames from a loaded data set (:mod:`.frames`);
* :func:`headline`: every number the funder report shows, in one call (:mod:`.analysis`): the
  staggered roll-out of the network by municipality on head-observed lesson scores
  (Callaway-Sant'Anna at teacher and municipality level, event study, pre-trend test, wild cluster
  bootstrap, HonestDiD; :mod:`.rollout`), leaving teaching and pupils' results (multilevel: pupils
  within teachers within schools, all scores, cohort-by-year effects: the pupils' headline) and
  the dose of professional development with its selection handled (:mod:`.effects`), the
  activities by purpose (Sims et al. 2021) and the costs (:mod:`.mechanisms`), the evidence rating;
* :func:`subgroups` ("for whom": years of service, subject, school type, Benjamini-Hochberg
  adjusted), :func:`costs` (cost per supported teacher from labelled cost parameters);
* :func:`truth_check` against the effects stored with synthetic data (:mod:`.truth`).

Identification, in one paragraph: municipalities joined the network in different years; the change
in head-observed scores of teachers in a municipality that has started, against the change over the
same years in municipalities not started yet (or never), is the effect if scores would otherwise have
moved in parallel (tested on the years before the start; HonestDiD shows how far a violation may go).
The head observations are the outcome because heads observe lessons everywhere and every year;
methodologists observe only after the start. Hours of development are chosen by the teachers: the
more engaged take more hours and also teach better, so the naive slope of score on hours is biased
upward; within-teacher changes remove every fixed trait. The report's texts are in this package's
``messages.yaml`` (keys ``tps.*``); what may be published in :mod:`.publish`.
"""
from __future__ import annotations

from typing import Any

from evaltools.studies.teacher_professional_support.analysis import Results, headline
from evaltools.studies.teacher_professional_support.effects import (
    DoseResults,
    PupilResults,
    dose,
    pupil_results,
    retention,
    subgroup_effects,
    three_level_att,
)
from evaltools.studies.teacher_professional_support.frames import (
    ACTIVITY_TYPES,
    SERVICE_BANDS,
    SUBGROUPS,
    TEST_TYPES,
    TPSData,
    TPSDataError,
    prepare,
)
from evaltools.studies.teacher_professional_support.mechanisms import (
    MECHANISMS,
    PURPOSES,
    activity_profile,
    purpose_hours,
    support_costs,
)
from evaltools.studies.teacher_professional_support.needs import NEEDS, ROWS, needs_for
from evaltools.studies.teacher_professional_support.publish import (
    SCALE,
    designs_frame,
    event_frame,
    honest_frame,
    public,
    truth_frame,
)
from evaltools.studies.teacher_professional_support.rollout import (
    RolloutResult,
    fit_att_gt,
    honest_bounds,
    rollout,
    wild_twfe,
)
from evaltools.studies.teacher_professional_support.truth import NAMES, missing_truths

__all__ = [
    # the verbs
    "prepare", "headline", "subgroups", "costs", "truth_check",
    # frames and results
    "TPSData", "TPSDataError", "Results", "RolloutResult", "PupilResults", "DoseResults", "ACTIVITY_TYPES",
    "SUBGROUPS", "SERVICE_BANDS", "TEST_TYPES", "NEEDS", "ROWS", "needs_for", "MECHANISMS", "PURPOSES", "NAMES",
    # estimates
    "rollout", "fit_att_gt", "wild_twfe", "honest_bounds", "retention", "pupil_results", "three_level_att", "dose",
    "subgroup_effects",
    "activity_profile", "purpose_hours", "support_costs",
    # publishing and the truth check
    "SCALE", "designs_frame", "event_frame", "honest_frame", "truth_frame", "public", "missing_truths",
]


def subgroups(data: TPSData, *, control_group: str = "notyet", min_teachers: int = 20) -> Any:
    """The roll-out's effect on observed scores by years of service, subject and school type,
    Benjamini-Hochberg adjusted: :func:`subgroup_effects`."""
    return subgroup_effects(data, control_group=control_group, min_teachers=min_teachers)


def costs(data: TPSData, *, cost_per_methodologist_year: float = 18000.0,
          cost_per_hour: float = 25.0) -> dict[str, Any]:
    """The network's cost and the cost per supported teacher: :func:`support_costs`."""
    return support_costs(data, cost_per_methodologist_year=cost_per_methodologist_year, cost_per_hour=cost_per_hour)


def truth_check(truth: Any, results: Results) -> Any:
    """Each headline estimate next to the true value stored with synthetic data: :func:`.truth.truth_check`."""
    from evaltools.studies.teacher_professional_support.truth import truth_check as _check

    fits = {"observation": results.observation.fit if results.observation else None,
            "observation_municipality": results.municipality.fit if results.municipality else None}
    return _check(truth, results.estimates(), fits=fits,
                  naive={"per_10_hours": results.dose.naive} if results.dose.naive is not None else {})
