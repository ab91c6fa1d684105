"""The stored truth of PUMPURS for vocational-school students (``pumpurs_support_dropout_vocational``).

Computed from the simulated potential outcomes of :mod:`.vocational` (hidden columns ``_h0``/``_h1``),
never estimated; realised over the students' years of the data set, like the general schools' truth
in :mod:`.truth`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .config import SynthConfig
from .pupils import PUMPURS_LAST_YEAR


def _r(x: float) -> float:
    return float(np.round(float(x), 6))


def vocational_effect(cfg: SynthConfig, years: pd.DataFrame, plans: pd.DataFrame,
                      measures: pd.DataFrame) -> dict[str, Any]:
    """The truth entry of PUMPURS support on vocational students' early leaving, with the programme's
    vocational totals (plans, plans taken up, students with a plan, institutions, costs)."""
    tp = cfg.true
    sup = years[years["_D"]]
    served = years[years["_pumpurs"]]
    near = served[(served["_s1"] - tp.risk_threshold).abs() < 1.0]
    prevented = float((sup["_h0"] - sup["_h1"]).sum())
    cost = float(measures["cost_eur"].sum())
    by_course = years.groupby("course")["status"].apply(lambda s: float((s == "left_early").mean()))
    return {
        "name": "pumpurs_support_dropout_vocational",
        "programme": "PUMPURS",
        "outcome": "early leaving in the school year (vocational_years.status == 'left_early')",
        "tables": ["vocational_years", "risk_scores", "support_plans", "support_measures", "pumpurs_schools"],
        "population": (f"vocational students' years (courses 1-4) in PUMPURS vocational schools from the roll-out "
                       f"year to {PUMPURS_LAST_YEAR}; not in the general schools' truth (pumpurs_support_dropout)"),
        "scale": "log odds ratio on the annual early-leaving hazard",
        "model": ("logit h = alpha_course + alpha_trend*(year-2014) + beta_score*(s1-50)/10 "
                  "+ D*(vocational_tau0 + tau_score*(s1-threshold)/10 + tau_years*years_since_rollout)"),
        "true_value": tp.vocational_tau0,
        "parameters": {"vocational_tau0": tp.vocational_tau0, "tau_score": tp.tau_score,
                       "tau_years": tp.tau_years, "beta_score": tp.beta_score, "alpha_trend": tp.alpha_trend,
                       "threshold": tp.risk_threshold},
        "realised": {
            "att_probability": _r((sup["_h1"] - sup["_h0"]).mean()) if len(sup) else None,
            "n_supported_student_years": int(len(sup)),
            "effect_at_threshold_probability": _r((near["_h1"] - near["_h0"]).mean()) if len(near) else None,
            "prevented_dropouts": _r(prevented),
            "cost_eur_total": _r(cost),
            "cost_per_prevented_dropout_eur": _r(cost / prevented) if prevented > 0 else None,
            "plans": int(len(plans)),
            "plans_taken_up": int(plans["taken_up"].sum()),
            "students_with_plan": int(plans["pupil_id"].nunique()),
            "institutions": int(plans["school_id"].nunique()),
            "leaving_rate_by_course": {str(int(k)): _r(v) for k, v in by_course.items()},
            "definitions": {
                "att_probability": "mean of h1 - h0 over supported vocational students' years",
                "prevented_dropouts": "sum of h0 - h1 over supported vocational students' years",
                "cost_eur_total": "cost of the measures of vocational students' plans",
                "leaving_rate_by_course": "share of vocational students' years (all years) ending in early leaving",
            },
        },
        "confounding": ("support is offered when the risk score is at or above the threshold, so supported "
                        "students are at higher risk"),
        "naive_bias_direction": ("upward: a raw comparison of supported and unsupported students makes support "
                                 "look harmful"),
        "how_to_recover": ("discrete-time logit of left_early on C(course), year, (s1-50)/10, D, "
                           "D*(s1-threshold)/10 and D*years_since_rollout among PUMPURS vocational students' "
                           "years (support is as good as random given s1)"),
    }
