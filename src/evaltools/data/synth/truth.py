"""The known true effects, written beside the data as ``true_effects.json``.

Each entry names the programme, the outcome and the table(s), the structural
parameter(s) of the data-generating process, realised averages over the
generated units (e.g. the ATT on the probability scale, computed from the
simulated potential outcomes, not estimated), the built-in confounding, the
direction of the naive bias and how to recover the truth.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .assessments import TEACHER_SD
from .community import COMMUNITY_SCHOOL_SHARE, COMMUNITY_YEARS, MEAN_HOURS, CommunityResult
from .config import CE9_PASS_MARK, SynthConfig
from .pupils import FAIL_REPEAT_LOG_OR, PUMPURS_GRADES, PUMPURS_GRADES_1_4_FROM, PUMPURS_LAST_YEAR


def _r(x: float) -> float:
    return float(np.round(float(x), 6))


def build_truth(cfg: SynthConfig, py: pd.DataFrame, ty: pd.DataFrame, assessments: pd.DataFrame,
                costs: pd.DataFrame, rollout: pd.Series, practices: pd.DataFrame,
                comm: CommunityResult) -> dict[str, Any]:
    """The sidecar dictionary (see module docstring); ``rollout`` maps school_id to roll-out year."""
    tp = cfg.true
    # the study population: grades 5-12. Grades 1-4, served from 2021/22 (PUMPURS_GRADES_1_4_FROM), stay
    # out of every realised figure, their plans' costs too: they almost never leave early, and the study
    # (frames.GRADES) estimates the effect, the prevented dropouts and the cost for grades 5-12 only
    main = py["_pumpurs"] & py["grade"].between(*PUMPURS_GRADES)
    sup = py[py["_D"] & main]
    p_active = py[main]
    near = p_active[(p_active["_s1"] - tp.risk_threshold).abs() < 1.0]
    prevented = float((sup["_h0"] - sup["_h1"]).sum())
    young = py.loc[py["_pumpurs"] & ~main, ["pupil_id", "year"]]
    cost_young = float(costs.merge(young, on=["pupil_id", "year"])["cost_eur"].sum()) if len(young) else 0.0
    cost_main = float(costs["cost_eur"].sum()) - cost_young
    att_gt = (py[main].assign(diff=lambda d: d["_h"] - d["_h0"])
              .groupby(["_k"])["diff"].mean())
    gt = (py[main]
          .assign(cohort=lambda d: d["school_id"].map(rollout).astype(int), diff=lambda d: d["_h"] - d["_h0"])
          .groupby(["cohort", "year"])["diff"].agg(["mean", "size"]).reset_index())
    alumni_gp = ty[ty["in_growth_programme"]]
    teach_gp = alumni_gp[alumni_gp["_p"].notna()]
    effects = [
        {
            "name": "pumpurs_support_dropout",
            "programme": "PUMPURS",
            "outcome": "early leaving in the school year (pupil_years.status == 'left_early')",
            "tables": ["pupil_years", "risk_scores", "support_plans", "pumpurs_schools"],
            "population": (f"pupil-years of grades {PUMPURS_GRADES[0]}-{PUMPURS_GRADES[1]} in PUMPURS schools from "
                           f"the roll-out year to {PUMPURS_LAST_YEAR} (grades 1-4 are served from "
                           f"{PUMPURS_GRADES_1_4_FROM} but are not in the study population)"),
            "scale": "log odds ratio on the annual early-leaving hazard",
            "model": ("logit h = alpha_grade + alpha_trend*(year-2014) + beta_score*(s1-50)/10 "
                      "+ D*(tau0 + tau_score*(s1-threshold)/10 + tau_years*years_since_rollout); "
                      "s1 = semester-1 risk score (risk_scores.semester == 1), D = support_plans.taken_up"),
            "true_value": tp.tau0,
            "parameters": {"tau0": tp.tau0, "tau_score": tp.tau_score, "tau_years": tp.tau_years,
                           "beta_score": tp.beta_score, "alpha_trend": tp.alpha_trend,
                           "threshold": tp.risk_threshold},
            "realised": {
                "att_probability": _r((sup["_h1"] - sup["_h0"]).mean()) if len(sup) else None,
                "n_supported_pupil_years": int(len(sup)),
                "n_supported_pupil_years_grades_1_4": int((py["_D"] & ~main).sum()),
                "effect_at_threshold_probability": _r((near["_h1"] - near["_h0"]).mean()) if len(near) else None,
                "takeup_at_threshold": _r(near.loc[near["_s1"] >= tp.risk_threshold, "_D"].mean()) if len(near) else None,
                "itt_by_years_since_rollout": {str(int(k)): _r(v) for k, v in att_gt.items()},
                "definitions": {
                    "att_probability": "mean of h1 - h0 over supported pupil-years of grades 5-12 (annual early-leaving probability)",
                    "effect_at_threshold_probability": "mean of h1 - h0 over PUMPURS pupil-years with |s1 - threshold| < 1",
                    "itt_att_gt": ("mean of h - h0 over grade 5-12 pupil-years in schools of roll-out cohort g in year t "
                                   "(intention-to-treat effect of the roll-out, pupil-weighted, probability scale)"),
                    "prevented_dropouts": "sum of h0 - h1 over supported pupil-years of grades 5-12",
                    "cost_eur_total": "cost of the measures of plans of grades 5-12 (cost_eur_grades_1_4: the rest)",
                },
                "itt_att_gt": [{"cohort": int(r.cohort), "year": int(r.year), "att_probability": _r(r.mean),
                                "pupil_years": int(r.size)} for r in gt.itertuples()],
                "prevented_dropouts": _r(prevented),
                "cost_eur_total": _r(cost_main),
                "cost_eur_grades_1_4": _r(cost_young),
                "cost_per_prevented_dropout_eur": _r(cost_main / prevented) if prevented > 0 else None,
            },
            "heterogeneity": ("by risk (tau_score per 10 points above the threshold) and by years since the school's "
                              "roll-out (tau_years); none by measure type, sex, language or municipality, so apparent "
                              "differences between measure types are selection or noise"),
            "confounding": "support is offered when the risk score is at or above the threshold, so supported pupils are at higher risk",
            "naive_bias_direction": "upward: a raw comparison of supported and unsupported pupils makes support look harmful (positive log odds ratio)",
            "how_to_recover": ("(a) discrete-time logit of left_early on C(grade), year, (s1-50)/10, D, D*(s1-threshold)/10 "
                               "and D*years_since_rollout among PUMPURS pupil-years (support is as good as random given s1); "
                               "(b) fuzzy regression discontinuity at s1 = threshold (offer jumps 0 -> 1, take-up about "
                               f"{tp.takeup_mean:.0%}) for the effect at the threshold; (c) staggered DiD on school-year "
                               "early-leaving rates for the roll-out (intention-to-treat)"),
        },
        {
            "name": "pumpurs_support_absences",
            "programme": "PUMPURS",
            "outcome": "lessons missed in the year (pupil_years.absences)",
            "tables": ["pupil_years", "risk_scores", "support_plans"],
            "scale": "log rate ratio",
            "true_value": tp.support_absences_log_rr,
            "confounding": "as above (risk score drives both support and absences)",
            "naive_bias_direction": "upward (supported pupils miss more lessons)",
            "how_to_recover": "Poisson regression of absences on D with the risk score s1 flexibly (e.g. 10-point bins) among PUMPURS pupil-years",
        },
        {
            "name": "pumpurs_support_repetition",
            "programme": "PUMPURS",
            "outcome": "repeating the grade next year (next pupil_years row has repeated == True)",
            "tables": ["pupil_years", "support_plans"],
            "scale": "log odds ratio",
            "true_value": tp.support_repeat_log_or,
            "model": "logit r = -4 + 0.5*(s1-50)/10 + 0.5*special_needs + effect*D",
            "naive_bias_direction": "upward",
            "how_to_recover": "logit of repetition on D, (s1-50)/10 and special_needs among PUMPURS pupil-years of pupils who did not leave",
        },
        {
            "name": "pumpurs_support_exams",
            "programme": "PUMPURS",
            "outcome": ("centralised exam score (assessments test ce9 or ce12) in the year of support, first "
                        "sittings (not in a repeated grade)"),
            "tables": ["assessments", "risk_scores", "support_plans"],
            "scale": "percentage points",
            "true_value": 0.0,
            "model": "support changes neither ability nor the exam score; scores depend on ability, which is correlated with the risk score",
            "confounding": "pupils at higher risk (who get support) have lower ability",
            "naive_bias_direction": "downward (supported pupils score lower)",
            "how_to_recover": ("OLS of score on D with 5-point risk-score bins (edges on the threshold) and "
                               "C(test):C(subject):C(year), first sittings only: support lowers repeating, so it "
                               "changes who retakes an exam (retakers score lower), and Skola-kopienā subject support "
                               "raises retakers' scores"),
        },
        {
            "name": "growth_programme_retention",
            "programme": "Iespējamā misija alumni growth programme",
            "outcome": "leaving teaching after the year (teacher_years.stayed == False)",
            "tables": ["teacher_years", "teachers"],
            "scale": "log odds ratio on the annual hazard of leaving",
            "model": ("logit h = -2.3 + engagement_leave*(engagement-3.4) + 1.8*[age>=63] + 0.5*[service<3] "
                      "+ 0.3*im_alumnus + effect*in_growth_programme"),
            "true_value": tp.gp_leave_log_or,
            "parameters": {"engagement_leave_log_or": tp.engagement_leave_log_or,
                           "gp_join_engagement_log_or": tp.gp_join_engagement_log_or,
                           "start_year": tp.gp_start_year, "last_join_year": tp.gp_last_join_year},
            "realised": {"att_probability": _r((alumni_gp["_h"] - alumni_gp["_h0"]).mean()) if len(alumni_gp) else None,
                         "n_participant_years": int(len(alumni_gp))},
            "confounding": "alumni with higher engagement join the programme more often and also leave less",
            "naive_bias_direction": "away from zero (participants look even more likely to stay): naive log odds ratio below the true value",
            "how_to_recover": "logit of (not stayed) on in_growth_programme + engagement + [age>=63] + [years_of_service<3] among alumni teacher-years (selection on observables)",
        },
        {
            "name": "growth_programme_leadership",
            "programme": "Iespējamā misija alumni growth programme",
            "outcome": "moving from role 'teacher' into a leadership role the next year (subject_lead or deputy_head)",
            "tables": ["teacher_years", "teachers"],
            "scale": "log odds ratio",
            "model": "logit p = -3.6 + engagement_promotion*(engagement-3.4) + 0.02*years_of_service + effect*in_growth_programme",
            "true_value": tp.gp_promotion_log_or,
            "realised": {"att_probability": _r((teach_gp["_p"] - teach_gp["_p0"]).mean()) if len(teach_gp) else None},
            "confounding": "engagement raises both joining and promotion",
            "naive_bias_direction": "upward",
            "how_to_recover": "logit of promotion on in_growth_programme + engagement + years_of_service among alumni teacher-years with role 'teacher' who stayed",
        },
        {
            "name": "growth_programme_pupil_results",
            "programme": "Iespējamā misija alumni growth programme",
            "outcome": "test score (percent) of the teacher's pupils: assessments of type diag6, ce9, ce12 with teacher_id",
            "tables": ["assessments", "teacher_years", "teachers"],
            "scale": "percentage points",
            "model": ("score = mean + year shock + sd*(ability + teacher effect) + engagement_pupil*(engagement-3.4) "
                      "+ effect*in_growth_programme; the teacher effect is persistent and independent of everything "
                      "else (SD teacher_effect_sd test SDs), so one teacher's pupils' scores are correlated"),
            "true_value": tp.gp_pupil_score_pp,
            "parameters": {"engagement_pupil_score_pp": tp.engagement_pupil_score_pp,
                           "teacher_effect_sd": TEACHER_SD},
            "realised": {"n_scores_with_participant_teacher": int(assessments["_gp"].sum())},
            "confounding": "participants are more engaged and engagement raises pupils' scores",
            "naive_bias_direction": "upward",
            "how_to_recover": "OLS of score on in_growth_programme (of the linked teacher that year) + engagement + C(test):C(subject):C(year), alumni-taught pupils, SE clustered by teacher",
        },
        {
            "name": "growth_programme_collaboration_spillover",
            "programme": "Iespējamā misija alumni growth programme",
            "outcome": "collaboration survey score (0-100) of colleagues who are not in the programme",
            "tables": ["teacher_practices", "teacher_years"],
            "scale": "points",
            "model": ("collab = 50 + 5*(engagement-3.4) + school culture + 0.8*(year-2014) + self*GP "
                      "+ effect*[school has an active participant that year and the teacher is not one] + N(0, 8^2)"),
            "true_value": tp.gp_spillover_points,
            "parameters": {"gp_self_collaboration_points": tp.gp_self_collaboration_points},
            "realised": {"n_colleague_years_answered": int(practices["_colleague"].sum())},
            "confounding": "alumni work more often in schools with a collaborative culture (time-invariant)",
            "naive_bias_direction": "upward (colleagues in schools with a participant already collaborate more)",
            "how_to_recover": ("two-way fixed effects (school and year) on non-participant teacher-years, treatment = "
                               "the school has an active participant that year (from teacher_years.in_growth_programme); "
                               "the effect is constant and immediate, so TWFE is unbiased here"),
        },
        *community_effects(cfg, py, comm),
        {
            "name": "skolas_soma_wellbeing",
            "programme": "Latvijas skolas soma",
            "outcome": "pupil wellbeing survey score (0-100)",
            "tables": ["skolas_soma", "wellbeing_pupils"],
            "scale": "points per activity in the year",
            "true_value": tp.soma_wellbeing_points_per_activity,
            "confounding": "urban schools, whose pupils have higher SES and wellbeing, offer more activities",
            "naive_bias_direction": "upward (a positive association with no causal effect)",
            "how_to_recover": ("within-school comparison (school fixed effects) of activities per semester enrolled: the school's "
                               "activity rate is the only confounder; summing over semesters confounds with early leaving "
                               "(leavers miss semester 2)"),
        },
    ]
    return {
        "generator": "evaltools.data.synth",
        "scale": cfg.scale,
        "seed": cfg.seed,
        "effects": effects,
        "parameters": tp.to_dict(),
    }


def _mean(x: Any) -> float | None:
    return _r(np.mean(x)) if len(x) else None


def community_effects(cfg: SynthConfig, py: pd.DataFrame, comm: CommunityResult) -> list[dict[str, Any]]:
    """The four Skola-kopienā entries: each support type on its own outcome, with a dose by hours."""
    tp = cfg.true
    cs = comm.community_support
    cm = cs[cs["measure"].isin(["counselling", "mentor"])]
    answered = comm.wellbeing_pupils[comm.wellbeing_pupils["_effect"] > 0]
    answered_hours = answered["_effect"] / tp.community_wellbeing_per_10h * 10.0
    y1 = py["absences"].to_numpy()[cm["_row"].to_numpy()]
    y0 = cm["_abs_before"].to_numpy()
    lit, ret = comm.literacy, comm.retake
    att_pass = _mean(ret["expected1"] - ret["expected0"])
    years = f"{COMMUNITY_YEARS[0]}-{COMMUNITY_YEARS[-1]}"
    common = {"programme": "Skola-kopienā individual support (ESF 4.2.3.1)",
              "support_years": list(COMMUNITY_YEARS),
              "schools": f"a random {COMMUNITY_SCHOOL_SHARE:.0%} of schools offer support ({years})"}
    hours_model = ("hours = 1 + Poisson(mean_hours*exp(0.15*need)), need = the standardised shortfall the pupil was "
                   "selected on (more hours for greater need)")
    return [
        {
            "name": "community_support_wellbeing", **common,
            "outcome": "pupil wellbeing survey score (0-100) in the year of support (wellbeing_pupils.wellbeing)",
            "tables": ["community_support", "wellbeing_pupils", "pupil_years", "pupils"],
            "scale": "points at the supported pupils' mean hours",
            "model": ("wb_t = 62 + 0.6*(wb_{t-1}-62) + 1.5*ses_index + effect_per_10_hours*hours/10*[counselling or "
                      "mentor] + N(0, 8^2); " + hours_model),
            "true_value": _r(tp.community_wellbeing_per_10h * answered_hours.mean() / 10.0) if len(answered) else None,
            "parameters": {"effect_per_10_hours": tp.community_wellbeing_per_10h, "measure": ["counselling", "mentor"],
                           "select_log_or_per_10_wellbeing": tp.community_select_log_or_per_10,
                           "select_log_or_per_sd_log_absences": tp.community_select_absences,
                           "mean_hours_planned": {k: MEAN_HOURS[k] for k in ("counselling", "mentor")}},
            "realised": {"att_points": _mean(answered["_effect"]),
                         "mean_hours": _mean(answered_hours),
                         "n_supported_pupil_years_answering": int(len(answered)),
                         "mean_hours_all_supported": _mean(cm["hours"]),
                         "definitions": {"att_points": "mean effect over counselled or mentored pupil-years that "
                                                       "answered the survey (= true_value)"}},
            "heterogeneity": "none: the same points per hour for counselling and mentoring, every grade and group",
            "confounding": ("counselling and mentoring go to pupils with low wellbeing in last year's survey (missing: "
                            "treated as 62) and many lessons missed last year; more hours for lower prior wellbeing"),
            "naive_bias_direction": "downward (supported pupils report lower wellbeing; the naive dose slope is too low)",
            "how_to_recover": ("OLS of wellbeing_t on hours/10 (or support) + wellbeing_{t-1} + ses_index (+ log(1 + "
                               "absences last year)), counselled/mentored and unsupported pupils answering both "
                               "surveys, 2022-2023; matching/AIPW on the same prior outcomes"),
        },
        {
            "name": "community_support_absences", **common,
            "outcome": "lessons missed in the year of support (pupil_years.absences)",
            "tables": ["community_support", "pupil_years", "wellbeing_pupils", "pupils"],
            "scale": "lessons missed in the year (ATT of the supported pupils at their own hours)",
            "model": ("absences = Y0 - Poisson(-effect_per_10_hours*hours/10), never below 0, for counselled or "
                      "mentored pupils; Y0 = the pupil's absences without support (negative binomial, persistent "
                      "disengagement); " + hours_model),
            "true_value": _mean(y1 - y0),
            "parameters": {"effect_per_10_hours": tp.community_absences_per_10h, "measure": ["counselling", "mentor"],
                           "select_log_or_per_10_wellbeing": tp.community_select_log_or_per_10,
                           "select_log_or_per_sd_log_absences": tp.community_select_absences,
                           "selection_absences_scale": "(log(1 + absences last year) - 3.5)/0.7"},
            "realised": {"att_lessons": _mean(y1 - y0), "mean_hours": _mean(cm["hours"]),
                         "effect_at_mean_hours": _r(tp.community_absences_per_10h * cm["hours"].mean() / 10.0)
                         if len(cm) else None,
                         "mean_absences_without_support": _mean(y0),
                         "n_supported_pupil_years": int(len(cm)),
                         "definitions": {"att_lessons": "mean of absences - absences without support over counselled or "
                                                        "mentored pupil-years (= true_value; below effect_at_mean_hours "
                                                        "in size where a pupil would miss fewer lessons than the cut)"}},
            "confounding": ("support goes to pupils who missed many lessons last year (absences persist) and had low "
                            "prior wellbeing"),
            "naive_bias_direction": "upward (supported pupils miss more lessons: support looks harmful)",
            "how_to_recover": ("Poisson or OLS of absences on hours/10 (or support) + log(1 + absences last year) + "
                               "wellbeing last year (with a missing indicator: pupils of grades 1-4 and non-respondents "
                               "have none) among counselled/mentored and unsupported pupils with a year before; "
                               "report the effect in lessons"),
        },
        {
            "name": "community_support_literacy", **common,
            "outcome": ("grade-3 Latvian diagnostic score (assessments test diag3, subject latvian, percent) in "
                        f"{years}"),
            "tables": ["community_support", "assessments", "preschool_assessments", "pupil_years"],
            "scale": "percentage points at the supported pupils' mean hours (literacy hours of grades 1-3 up to "
                     "and including the year of the diagnostic)",
            "model": ("diag3 latvian = mean + year shock + 16*(0.8*ability + 0.6*eps) + effect_per_10_hours*hours/10; "
                      "ability also drives the pre-school literacy score; " + hours_model),
            "true_value": _mean(lit["points"]),
            "parameters": {"effect_per_10_hours": tp.community_literacy_points_per_10h, "measure": "literacy",
                           "select_log_or_per_10_preschool_literacy": tp.community_select_literacy_per_10,
                           "selection": "logit p = -2.2 + select*(preschool literacy - 60)/10 (missing: 60), grades 1-3"},
            "realised": {"mean_hours": _mean(lit["hours"]), "n_diagnostics_supported": int(len(lit))},
            "confounding": "literacy support goes to pupils with low pre-school literacy, who also score lower in grade 3",
            "naive_bias_direction": "downward (supported pupils score lower)",
            "how_to_recover": ("OLS of the grade-3 Latvian diagnostic on literacy hours/10 (or support) + pre-school "
                               "literacy (preschool_assessments, with a missing indicator) + pre-school numeracy, "
                               "pupils of grade 3 in the support years with literacy support or none"),
        },
        {
            "name": "community_support_exam_retake", **common,
            "outcome": (f"passing the retaken grade-9 exams: every ce9 subject at or above {CE9_PASS_MARK:g} % "
                        "(assessments test ce9) in the repeated year; no ce9 result counts as not passed"),
            "tables": ["community_support", "assessments", "pupil_years"],
            "population": (f"9th-graders who repeat the year after a ce9 subject below {CE9_PASS_MARK:g} % the year "
                           "before, in schools offering support"),
            "scale": ("probability of passing (ATT of the supported pupils at their own hours, expected over the "
                      "exam-day noise of the retake)"),
            "model": ("every ce9 score of a supported retaker rises by score_points_per_10_hours*hours/10; failing the "
                      f"mathematics exam makes repeating grade 9 likely (log OR {FAIL_REPEAT_LOG_OR:g}); " + hours_model),
            "true_value": att_pass,
            "parameters": {"pass_mark": CE9_PASS_MARK, "measure": "subject_support",
                           "score_points_per_10_hours": tp.community_retake_points_per_10h,
                           "effect_per_10_hours": (_r(att_pass / (ret["hours"].mean() / 10.0))
                                                   if len(ret) and att_pass is not None else None),
                           "selection": ("logit p = -1 + (pass_mark - lowest ce9 score last year)/10 + (50 - mean ce9 "
                                         "score last year)/10; hours: need = the same sum")},
            "realised": {"att_pass": att_pass, "att_pass_realised": _mean(ret["pass1"] - ret["pass0"]),
                         "pass_probability_without_support": _mean(ret["expected0"]),
                         "pass_rate_without_support_realised": _mean(ret["pass0"]),
                         "pass_rate_supported": _mean(ret["pass1"]), "mean_hours": _mean(ret["hours"]),
                         "n_supported_retakers": int(len(ret)),
                         "score_points_at_mean_hours": (_r(tp.community_retake_points_per_10h * ret["hours"].mean() / 10)
                                                        if len(ret) else None),
                         "definitions": {"att_pass": ("mean over supported retakers of P(pass with their hours) - "
                                                      "P(pass without), over the exam-day noise (= true_value)"),
                                         "att_pass_realised": "the same with the drawn exam-day noise",
                                         "effect_per_10_hours": "true_value / (mean hours / 10): the slope of a "
                                                                "straight line through zero on the probability scale; "
                                                                "the structural slope is on the exam score"}},
            "confounding": ("retakers with lower ce9 scores last year (lowest and mean) get support more often and "
                            "more hours, and pass less often"),
            "naive_bias_direction": "downward (supported retakers pass less often than unsupported ones)",
            "how_to_recover": ("among repeaters who failed a ce9 subject the year before: logit/LPM or AIPW of passing on "
                               "support (or hours/10) + the lowest and the mean ce9 score of the year before"),
        },
    ]


def effects_frame(truth: dict[str, Any]) -> pd.DataFrame:
    """The sidecar's effects as a table: one row per effect, indexed by name.

    Columns: programme, outcome, true_value, scale, naive_bias_direction, how_to_recover.
    """
    cols = ["programme", "outcome", "true_value", "scale", "naive_bias_direction", "how_to_recover"]
    rows = [{"name": e["name"], **{c: e.get(c) for c in cols}} for e in truth.get("effects", [])]
    return pd.DataFrame(rows, columns=["name", *cols]).set_index("name")
