"""The Iespējamā misija alumni growth programme (``notebooks/alumni_programme.ipynb``).

Does the programme keep good teachers in schools? The questions and designs:

* **Staying in teaching.** A discrete-time logit of leaving after the year on alumni
  teacher-years (participation, engagement, service, age, year): its log odds ratio is the
  structural effect, and the ATT on the annual probability by regression adjustment
  (g-computation) is the headline. AIPW, IPW and matching on the same teacher-years are
  robustness checks. Survival curves follow each participation cohort from the year it
  joined against matched alumni who had not joined at that time (:mod:`.cohorts`).
* **Moving into leadership** (teacher -> subject lead or deputy head the next year):
  the same designs on teacher-years at risk of promotion.
* **Pupils' results**: a multilevel model (random intercept by teacher, the level of the
  treatment) of diagnostic-test and exam scores centred on their test-subject-year mean,
  plus a DiD over participation cohorts on teacher-year mean scores.
* **Collaboration spreading to colleagues**: two-way fixed effects (school, year) on
  colleagues who are not in the programme, and a Callaway-Sant'Anna DiD over the cohorts
  of schools by the year their first participant joined; participants' own practice by a
  DiD over participation cohorts.

The verbs (the same in every study): :func:`prepare` (the frames, :mod:`.frames`),
:func:`headline` (every estimate the funder report shows, in one call), :func:`subgroups`
(:mod:`.heterogeneity`), :func:`costs` (:mod:`.cost`) and :func:`truth_check` (:mod:`.truth`).
Effects are in :mod:`.effects`, figures and the protected tables behind them in
:mod:`.figures`; the report's texts in this package's ``messages.yaml`` (keys ``am.*``).
Every function returns :class:`~evaltools.estimate.result.Estimate` objects (or small result
classes holding them) with English estimand names; the notebook labels them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from evaltools.studies.alumni_programme.cohorts import COHORT_COVARIATES, MatchedCohort, matched_cohort
from evaltools.studies.alumni_programme.cost import Costs, baseline_differences, costs, standardised_mdes, summary_frame
from evaltools.studies.alumni_programme.effects import (
    CollaborationResults,
    PupilResults,
    _logit_effects,  # noqa: F401  (old name, used by tests)
    attrition_pct,
    collaboration,
    leadership,
    naive_difference,
    pupil_results,
    retention,
    sample_flow_counts,
    teacher_year_balance,
    within_cell,
)
from evaltools.studies.alumni_programme.figures import (
    curve_units,
    event_table,
    naive_vs_adjusted_table,
    plot_naive_vs_adjusted,
    plot_survival,
    protect_survival,
    share_value,
    survival_table,
)
from evaltools.studies.alumni_programme.frames import (
    FAVOURABLE,
    LEADERSHIP_ROLES,
    PROMOTION_COVARIATES,
    RETENTION_COVARIATES,
    TEST_TYPES,
    StudyData,
    StudyInputError,
    StudyWarning,
    build,
    common_support,
    promotion_frame,
    retention_sample,
    teacher_year_sample,
)
from evaltools.studies.alumni_programme.heterogeneity import SUBGROUPS, subgroups
from evaltools.studies.alumni_programme.truth import TRUTH_MAP, truth_check
from evaltools.studies.alumni_programme.needs import NEEDS, ROWS  # what load_dataset reads (needs.py)

__all__ = [
    # the verbs
    "prepare", "headline", "subgroups", "costs", "truth_check", "Results",
    # frames
    "TEST_TYPES", "LEADERSHIP_ROLES", "FAVOURABLE", "StudyData", "build", "teacher_year_sample", "promotion_frame",
    "common_support", "retention_sample", "StudyInputError", "StudyWarning", "RETENTION_COVARIATES",
    "PROMOTION_COVARIATES", "COHORT_COVARIATES", "SUBGROUPS", "TRUTH_MAP",
    # estimates
    "retention", "leadership", "PupilResults", "pupil_results", "CollaborationResults", "collaboration",
    "MatchedCohort", "matched_cohort", "naive_difference", "teacher_year_balance", "attrition_pct",
    "sample_flow_counts", "within_cell",
    "Costs", "standardised_mdes", "baseline_differences", "summary_frame",
    # figures
    "survival_table", "protect_survival", "plot_survival", "curve_units", "naive_vs_adjusted_table",
    "plot_naive_vs_adjusted", "event_table", "share_value",
]


def prepare(ds: Any, first_cohort: int | None = None, last_cohort: int | None = None) -> StudyData:
    """The study's frames from a loaded data set: :func:`build`."""
    return build(ds, first_cohort, last_cohort)


@dataclass
class Results:
    """Every estimate the funder report shows (see :func:`headline`)."""

    retention: dict[str, Any]
    leadership: dict[str, Any]
    pupils: PupilResults
    collaboration: CollaborationResults
    cohort: MatchedCohort
    costs: Costs
    check: pd.DataFrame  # the truth check (empty unless the data are synthetic)

    @property
    def estimates(self) -> dict[str, dict[str, Any]]:
        """The estimates by outcome, as :func:`truth_check` takes them."""
        return {"retention": self.retention, "leadership": self.leadership,
                "pupil_results": {"adjusted": self.pupils.adjusted, "naive": self.pupils.naive},
                "collaboration": {"twfe": self.collaboration.twfe, "naive": self.collaboration.naive}}

    def truth(self, label: str) -> float | None:
        """The stored true value of ``label`` (a row of :data:`TRUTH_MAP`), None without one."""
        return float(self.check.loc[label, "truth"]) if label in self.check.index else None


def headline(sd: StudyData, *, neighbours: int = 4, cost_per_participant_year: float = 0.0) -> Results:
    """Every estimate of the study, in the order the report shows them: retention and leadership
    (:func:`retention`, :func:`leadership`), pupils' results, collaboration, the matched cohorts,
    the costs from the retention ATT, and the truth check."""
    ret = retention(sd, neighbours=neighbours)
    lead = leadership(sd, neighbours=neighbours)
    res = Results(retention=ret, leadership=lead, pupils=pupil_results(sd), collaboration=collaboration(sd),
                  cohort=matched_cohort(sd, neighbours=neighbours),
                  costs=costs(sd, cost_per_participant_year, ret["gcomp"]), check=pd.DataFrame())
    res.check = truth_check(sd.truth, res.estimates)
    return res
