"""The four true effects of teacher professional support (ESF 4.2.2.3) for ``true_effects.json``.

Each is computed from the simulated potential outcomes (:mod:`.teacher_support`): the observed
score of a head-observed lesson with and without the roll-out (same lesson noise), the leaving
hazard with and without support, and the pupils' scores with and without the teacher's practice
gain (rounded and clipped as published).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .config import SynthConfig
from .teacher_support import COHORT_SIZES, HEAD_SHARE, TeacherSupportResult

PROGRAMME = "Teacher professional support (ESF 4.2.2.3)"


def _r(x: float) -> float:
    return float(np.round(float(x), 6))


def _mean(x: Any) -> float | None:
    return _r(np.mean(x)) if len(x) else None


def _by(values: pd.Series, keys: list[pd.Series], name: str, count: str) -> list[dict[str, Any]]:
    g = values.groupby(keys).agg(["mean", "size"]).reset_index()
    return [{**{k.name: int(v) for k, v in zip(keys, row[:len(keys)])}, name: _r(row[-2]), count: int(row[-1])}
            for row in g.itertuples(index=False)]


def _published(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0.0, 100.0), 1)


def teacher_support_effects(cfg: SynthConfig, ty: pd.DataFrame, tps: TeacherSupportResult,
                            assessments: pd.DataFrame, rollout: pd.DataFrame,
                            schools: pd.DataFrame) -> list[dict[str, Any]]:
    """The entries ``teacher_support_{observation, observation_per_10_hours, retention, pupil_results}``."""
    tp = cfg.true
    sch_mun = schools.set_index("school_id")["municipality_id"]
    sup = ty["_tps"].to_numpy(bool)
    event = pd.Series(tps.event_time, name="event_time")
    start = ty["year"] - tps.event_time
    cohort = pd.Series(np.where(sup, start, 0), name="cohort")
    obs = tps.lesson_observations
    head = obs[obs["observer"] == "head"]
    h_sup = head[sup[head["_row"].to_numpy()]]
    h_ctl = head[~sup[head["_row"].to_numpy()]]
    hrs = np.where(sup, tps.hours1, tps.hours0)
    h_hours = hrs[head["_row"].to_numpy()]
    naive_slope = (float(np.polyfit(h_hours / 10.0, head["score"].to_numpy(), 1)[0])
                   if len(head) > 2 else float("nan"))
    profile = {str(e): _r(tp.tps_direct0 + tp.tps_direct_growth * min(e, 3)) for e in range(7)}
    cohorts = {str(c) if c else "never": k for c, k in COHORT_SIZES}
    rk = rollout.set_index("municipality_id")["start_year"]
    common = {
        "programme": PROGRAMME,
        "roll_out": {"start_years": {str(m): (None if pd.isna(v) else int(v)) for m, v in rk.items()},
                     "cohort_sizes_national": cohorts},
    }
    design = {"tps_direct0": tp.tps_direct0, "tps_direct_growth": tp.tps_direct_growth,
              "tps_early_career_extra": tp.tps_early_career_extra,
              "effect_per_10_hours": tp.tps_effect_per_10_hours, "tps_supply_log": tp.tps_supply_log,
              "tps_supply_participation_log_or": tp.tps_supply_participation_log_or,
              "tps_engagement_hours_log": tp.tps_engagement_hours_log,
              "tps_engagement_practice": tp.tps_engagement_practice,
              "direct_effect_by_event_time": profile}
    practice_model = ("practice = 2.45 + engagement_practice*(engagement-3.4) + u_teacher + 0.12*min(service,10)/10 "
                      "+ level_municipality + effect_per_10_hours*hours/10 + S*(direct0 + direct_growth*min(e,3) "
                      "+ early_career_extra*[years_of_service < 5]); S = year >= start_year, e = year - start_year; "
                      "hours rise by exp(supply_log) (and participation by supply_participation_log_or) under S; "
                      "observed domain scores = practice + offset + observer leniency + lesson noise, 1-4")
    extra_hours = (tps.hours1 - tps.hours0)[sup]
    sup_ty = ty[sup]
    leave_diff = (sup_ty["_h"] - sup_ty["_hs0"]) * 100.0
    pupils = assessments[assessments["_tps"] > 0]
    p_diff = _published(pupils["_raw"].to_numpy()) - _published(pupils["_raw"].to_numpy() - pupils["_tps"].to_numpy())
    linked = assessments[assessments["teacher_id"].notna() & (assessments["test"] != "class")]
    return [
        {
            "name": "teacher_support_observation", **common,
            "outcome": "head-observed lesson score (lesson_observations.score, observer == 'head', rubric mean 1-4)",
            "tables": ["lesson_observations", "methodologist_support", "teacher_years", "schools"],
            "population": "head-observed lessons of teachers in municipalities from their start_year (post-years)",
            "scale": "rubric points (1-4 scale)",
            "model": practice_model,
            "true_value": _mean(h_sup["_gain_score"]),
            "parameters": {**design, "event_time_profile": {
                str(r["event_time"]): r["att"] for r in _by(pd.Series(h_sup["_gain_score"].to_numpy()),
                                                             [event[h_sup["_row"].to_numpy()].reset_index(drop=True)],
                                                             "att", "lessons")}},
            "realised": {
                "att_teacher_years": _mean(tps.gain[sup]),
                "mean_extra_hours": _mean(extra_hours),
                "att_by_event_time": _by(pd.Series(h_sup["_gain_score"].to_numpy(), name="att"),
                                         [event[h_sup["_row"].to_numpy()].reset_index(drop=True)],
                                         "att", "lessons"),
                "att_gt": _by(pd.Series(h_sup["_gain_score"].to_numpy()),
                              [cohort[h_sup["_row"].to_numpy()].reset_index(drop=True),
                               h_sup["year"].reset_index(drop=True)], "att", "lessons"),
                "att_municipality_years": (_r(h_sup.groupby([h_sup["school_id"].map(sch_mun), h_sup["year"]])
                                              ["_gain_score"].mean().mean()) if len(h_sup) else None),
                "n_head_lessons_supported": int(len(h_sup)), "n_head_lessons": int(len(head)),
                "head_share": HEAD_SHARE,
                "naive_difference": (_r(h_sup["score"].mean() - h_ctl["score"].mean())
                                     if len(h_sup) and len(h_ctl) else None),
                "definitions": {
                    "true_value": ("mean over head-observed lessons in supported teacher-years of score with the "
                                   "roll-out minus score without it (same lesson, same noise), as published"),
                    "att_teacher_years": "mean practice gain over supported teacher-years (latent, unrounded)",
                    "att_gt": "the same mean by start-year cohort and year (cohort = start_year)",
                    "event_time_profile": ("parameters.event_time_profile: the same mean by event time "
                                           "year - start_year (realised, direct effect plus extra hours)"),
                    "att_municipality_years": "mean over supported municipality-years of their lessons' mean gain",
                    "naive_difference": "mean head score of supported minus unsupported teacher-years",
                },
            },
            "heterogeneity": ("grows with event time (direct_effect_by_event_time, flat from e = 3), larger by "
                              "early_career_extra for teachers with fewer than 5 years of service, and through the "
                              "extra hours (more for engaged teachers); none by subject or school type"),
            "confounding": ("methodologists came first to municipalities with weaker lesson practice (latent level, SD "
                            "0.12 rubric points); engagement raises both PD hours and practice"),
            "naive_bias_direction": ("downward (the early-served municipalities had lower scores to begin with); "
                                     "two-way fixed effects are biased toward zero too, as the effect grows with "
                                     "event time and already-served municipalities act as controls"),
            "how_to_recover": ("staggered DiD (Callaway-Sant'Anna) on head-observed scores, municipalities (43 "
                               "clusters) by start_year, not-yet-served and never-served municipalities as controls, "
                               "teacher or municipality level; methodologist observations exist only after the start "
                               "and cannot serve as the outcome"),
        },
        {
            "name": "teacher_support_observation_per_10_hours", **common,
            "outcome": "head-observed lesson score per 10 more hours of professional development in the year",
            "tables": ["lesson_observations", "teacher_development", "teachers", "teacher_years"],
            "population": "all teacher-years (hours of teacher_development summed per teacher and year; 0 if none)",
            "scale": "rubric points per 10 hours",
            "model": practice_model,
            "true_value": tp.tps_effect_per_10_hours,
            "parameters": design,
            "realised": {"naive_slope_per_10_hours": _r(naive_slope),
                         "mean_hours": _mean(hrs), "share_with_pd": _mean(hrs > 0),
                         "mean_hours_supported": _mean(hrs[sup]), "mean_hours_unsupported": _mean(hrs[~sup]),
                         "definitions": {"naive_slope_per_10_hours": ("OLS slope of the head-observed score on "
                                                                      "hours/10, all head-observed lessons, no controls")}},
            "heterogeneity": "none: the same slope for every activity type, teacher and year",
            "confounding": ("more engaged teachers (teachers.engagement) take more hours and teach better; supported "
                            "teacher-years have more hours and the direct effect of the roll-out"),
            "naive_bias_direction": "upward (engagement drives both hours and score)",
            "how_to_recover": ("OLS of the head-observed score on hours/10 with teacher fixed effects (engagement is "
                               "fixed per teacher) and municipality-by-year effects plus [years_of_service < 5] x "
                               "supported (or: engagement, years of service and the roll-out's event time as "
                               "controls)"),
        },
        {
            "name": "teacher_support_retention", **common,
            "outcome": "leaving teaching after the year (teacher_years.stayed == False)",
            "tables": ["teacher_years", "methodologist_support", "schools", "teachers"],
            "population": "teacher-years in municipalities from their start_year",
            "scale": "percentage points on the yearly probability of leaving (negative = fewer leave)",
            "model": ("logit h = -2.3 + engagement_leave*(engagement-3.4) + 1.8*[age>=63] + 0.5*[service<3] "
                      "+ 0.3*im_alumnus + gp_leave*in_growth_programme + leave_log_or*S"),
            "true_value": _mean(leave_diff),
            "parameters": {"leave_log_or": tp.tps_leave_log_or,
                           "engagement_leave_log_or": tp.engagement_leave_log_or},
            "realised": {"n_teacher_years_supported": int(sup.sum()),
                         "att_by_event_time": _by(pd.Series(leave_diff.to_numpy()),
                                                  [event[sup].reset_index(drop=True)], "att_pp", "teacher_years"),
                         "leave_rate_without_support_pp": _mean(sup_ty["_hs0"] * 100.0),
                         "naive_difference_pp": (_r(100 * ((~ty.loc[sup, "stayed"]).mean()
                                                           - (~ty.loc[~sup, "stayed"]).mean()))
                                                 if sup.any() and (~sup).any() else None),
                         "definitions": {"true_value": "mean of h - h(without support) over supported teacher-years, x100"}},
            "heterogeneity": "none on the log-odds scale (constant from the start year)",
            "confounding": ("none built in at municipality level (the roll-out order is unrelated to leaving); "
                            "supported teacher-years are later years, with a different age and service mix"),
            "naive_bias_direction": ("no direction built in: a raw before/after or supported/unsupported comparison "
                                     "mixes years and teacher composition (see realised.naive_difference_pp)"),
            "how_to_recover": ("staggered DiD on municipality-year leaving rates (Callaway-Sant'Anna, 43 clusters), or "
                               "a discrete-time logit with municipality and year effects, engagement, [age>=63], "
                               "[years_of_service<3]; report percentage points"),
        },
        {
            "name": "teacher_support_pupil_results", **common,
            "outcome": ("test score (percent) of pupils whose linked teacher (assessments.teacher_id) works in a "
                        "supported municipality that year: tests diag6, ce9, ce12"),
            "tables": ["assessments", "teacher_years", "methodologist_support", "schools"],
            "population": "pupil-subject-years of tests with a linked teacher in a supported teacher-year",
            "scale": "percentage points (assessments score scale)",
            "model": ("score = mean + year shock + sd*(ability + teacher effect) + engagement_pupil*(engagement-3.4) "
                      "+ gp_pupil*GP + points_per_rubric_point*gain; gain = the teacher's practice gain from the "
                      "roll-out that year (see teacher_support_observation)"),
            "true_value": _mean(p_diff),
            "parameters": {"points_per_rubric_point": tp.tps_pupil_points_per_rubric_point, **design},
            "realised": {"n_pupil_scores_supported": int(len(pupils)),
                         "n_pupil_scores_linked": int(len(linked)),
                         "att_points_unclipped": _mean(pupils["_tps"]),
                         "att_by_test": {t: _mean(p_diff[(pupils["test"] == t).to_numpy()])
                                         for t in sorted(pupils["test"].unique())},
                         "definitions": {"true_value": ("mean over those pupil scores of the published score minus "
                                                        "the score without the teacher's gain (rounded, clipped)")}},
            "heterogeneity": "proportional to the teacher's practice gain (event time, early career, extra hours)",
            "confounding": "none built in beyond the teachers' engagement (scores rise with it) and year shocks",
            "naive_bias_direction": ("no direction built in: a raw comparison mixes tests and years; compare within "
                                     "test, subject and year"),
            "how_to_recover": ("staggered DiD on pupils' scores by the linked teacher's municipality, or a multilevel "
                               "model (pupils within teachers within schools) with C(test):C(subject):C(year), "
                               "teacher engagement and municipality effects; SE clustered by municipality"),
        },
    ]
