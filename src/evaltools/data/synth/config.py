"""Scales and the true parameters of the synthetic data-generating process.

Every number that decides a *true effect* lives in :class:`TrueParameters`, so
the JSON sidecar (``true_effects.json``) and the simulation read the same
values. Calibration targets (public figures) are listed in ``docs/codebook.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

YEARS: tuple[int, ...] = tuple(range(2014, 2024))
"""School years; ``year`` is the calendar year in which the school year starts."""

SUBJECTS = {
    "diag3": ("math", "latvian"),
    "diag6": ("math", "latvian", "science"),
    "ce9": ("math", "latvian", "english"),
    "ce12": ("math", "latvian", "english"),
    "class": ("math", "latvian"),
}
"""Subjects per assessment type."""


CE9_PASS_MARK: float = 30.0
"""Percent: a grade-9 mathematics exam (ce9) score below it counts as failed (an assumption of the
synthetic data; failing makes repeating grade 9 likely, and Skola-kopienā subject support is for
the pupils who failed and repeat the year)."""


@dataclass(frozen=True)
class TrueParameters:
    """Structural parameters; the ``true_effects.json`` sidecar is built from these."""

    # PUMPURS: annual early-leaving hazard, logit scale.
    # logit h = alpha_grade + alpha_trend*(year-2014) + beta_score*(s1-50)/10
    #           + D * (tau0 + tau_score*(s1-threshold)/10 + tau_years*years_since_rollout)
    risk_threshold: float = 60.0
    beta_score: float = 0.55
    alpha_trend: float = -0.02
    tau0: float = -0.60
    tau_score: float = -0.15
    tau_years: float = -0.06
    vocational_tau0: float = -0.45  # the same for vocational-school students (synth/vocational.py)
    takeup_mean: float = 0.70  # mean school take-up rate of offered support plans
    # Support and absences (log rate ratio) and grade repetition (log odds).
    support_absences_log_rr: float = -0.20
    support_repeat_log_or: float = -0.50
    # Iespējamā misija growth programme (teachers).
    gp_start_year: int = 2016
    gp_last_join_year: int = 2019
    gp_leave_log_or: float = -0.70  # on the yearly hazard of leaving teaching
    gp_promotion_log_or: float = 0.80  # on the yearly hazard of moving into leadership
    gp_pupil_score_pp: float = 3.0  # exam/diagnostic percentage points for the teacher's pupils
    engagement_leave_log_or: float = -0.80  # per engagement point (confounder)
    engagement_promotion_log_or: float = 0.90
    engagement_pupil_score_pp: float = 2.5
    gp_join_engagement_log_or: float = 2.0
    gp_self_collaboration_points: float = 6.0  # participant's own collaboration survey score
    gp_spillover_points: float = 3.0  # colleagues of an active participant, same school and year
    # Skola-kopienā individual support: each measure on its own outcome, a dose by hours.
    community_wellbeing_per_10h: float = 2.0  # counselling/mentor -> wellbeing points per 10 hours
    community_absences_per_10h: float = -3.0  # counselling/mentor -> lessons missed per 10 hours
    community_literacy_points_per_10h: float = 1.5  # literacy (grades 1-3) -> grade-3 Latvian diagnostic
    community_retake_points_per_10h: float = 3.0  # subject support -> each retaken ce9 exam score
    community_select_log_or_per_10: float = -1.0  # lower prior wellbeing -> counselling/mentor
    community_select_absences: float = 0.5  # more lessons missed last year -> counselling/mentor
    community_select_literacy_per_10: float = -0.8  # lower pre-school literacy -> literacy support
    # Latvijas skolas soma: no causal effect on wellbeing (association only).
    soma_wellbeing_points_per_activity: float = 0.0
    # Teacher professional support (ESF 4.2.2.3): methodologists rolled out by municipality.
    # Lesson practice (rubric 1-4) gains direct(e) = tps_direct0 + tps_direct_growth*min(e, 3)
    # (+ tps_early_career_extra for teachers with < 5 years of service) at event time e = year - start,
    # plus tps_effect_per_10_hours for every 10 hours of professional development (PD).
    tps_direct0: float = 0.06
    tps_direct_growth: float = 0.03
    tps_early_career_extra: float = 0.05
    tps_effect_per_10_hours: float = 0.04  # rubric points per 10 PD hours (the dose)
    tps_supply_log: float = 0.45  # log of the rise in PD hours once methodologists support the municipality
    tps_supply_participation_log_or: float = 0.8  # on taking part in any PD in the year
    tps_engagement_hours_log: float = 0.5  # log PD hours per engagement point (selection)
    tps_engagement_practice: float = 0.30  # rubric points per engagement point (confounder)
    tps_leave_log_or: float = -0.30  # on the yearly hazard of leaving teaching, after the start year
    tps_pupil_points_per_rubric_point: float = 6.0  # pupils' test points per rubric point of practice gained

    def to_dict(self) -> dict[str, Any]:
        """All parameters as a plain dictionary."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class SynthConfig:
    """What to generate.

    ``schools`` picks the school frame: ``"all"`` (national), ``"region"`` (all
    schools of ``region``) or ``"sample"`` (a few schools per municipality,
    every municipality kept). ``alumni_factor`` multiplies the number of
    Iespējamā misija alumni (1 = realistic; larger values give tests power).
    """

    scale: str = "sample"
    seed: int = 20240901
    schools: str = "sample"
    region: str = "Latgale"
    national_pupils: int = 220_000
    alumni_factor: float = 1.0
    true: TrueParameters = field(default_factory=TrueParameters)

    def with_overrides(self, **overrides: Any) -> "SynthConfig":
        """A copy with some fields replaced (unknown names raise a clear error)."""
        known = set(self.__dataclass_fields__)
        bad = sorted(set(overrides) - known)
        if bad:
            raise ValueError(
                f"Unknown synth option(s) {bad}; valid options are {sorted(known)}."
            )
        return replace(self, **overrides)


SCALES: dict[str, dict[str, Any]] = {
    # the sample over-represents Iespējamā misija alumni (30 times the national rate, about
    # 250 alumni) so that the growth-programme study has something to estimate
    "sample": {"schools": "sample", "alumni_factor": 30.0},
    "region": {"schools": "region"},
    "national": {"schools": "all"},
}
"""The three named scales (see ``docs/codebook.md``)."""


def config_for(scale: str, seed: int, **overrides: Any) -> SynthConfig:
    """The configuration of a named scale with a seed and optional overrides."""
    if scale not in SCALES:
        raise ValueError(
            f"Unknown scale {scale!r}: choose one of {sorted(SCALES)} "
            "(sample is shipped, national is about 220,000 pupils a year)."
        )
    return SynthConfig(scale=scale, seed=int(seed), **SCALES[scale]).with_overrides(**overrides)
