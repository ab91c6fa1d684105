"""Skola-kopienā support in the synthetic data: each measure acts on its own outcome with a dose
by hours, selection on recorded prior outcomes, and the stored truths are recovered.

The true values are read from ``data/sample/true_effects.json``; each test fits the simple model
the entry's ``how_to_recover`` names (plain statsmodels) and checks that its 95 % CI covers the
truth while the naive comparison lies on the stored side of it.
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from tests import ROOT

SAMPLE = ROOT / "data" / "sample"
NAMES = ("community_support_wellbeing", "community_support_absences", "community_support_literacy",
         "community_support_exam_retake")


def _covers(fit, name: str, value: float) -> bool:
    lo, hi = fit.conf_int().loc[name]
    return lo <= value <= hi


def _offering(tabs) -> pd.DataFrame:
    """Pupil-years of the school-years that gave support, with hours by measure and last year's records."""
    cs = tabs["community_support"]
    py = tabs["pupil_years"].merge(cs[["school_id", "year"]].drop_duplicates(), on=["school_id", "year"])
    d = py.merge(cs[["pupil_id", "year", "measure", "hours"]], on=["pupil_id", "year"], how="left")
    d["hours"] = d["hours"].fillna(0.0)
    prev = tabs["pupil_years"][["pupil_id", "year", "absences"]].assign(year=lambda x: x["year"] + 1)
    d = d.merge(prev.rename(columns={"absences": "abs_prev"}), on=["pupil_id", "year"], how="left")
    wb = tabs["wellbeing_pupils"]
    d = d.merge(wb[["pupil_id", "year", "wellbeing"]], on=["pupil_id", "year"], how="left")
    d = d.merge(wb[["pupil_id", "year", "wellbeing"]].assign(year=lambda x: x["year"] + 1)
                .rename(columns={"wellbeing": "wb_prev"}), on=["pupil_id", "year"], how="left")
    return d.merge(tabs["pupils"][["pupil_id", "ses_index"]], on="pupil_id")


def test_every_entry_has_the_agreed_fields(truth):
    for name in NAMES:
        e = truth[name]
        for field in ("programme", "outcome", "tables", "scale", "model", "true_value", "parameters",
                      "confounding", "naive_bias_direction", "how_to_recover", "realised"):
            assert e.get(field) is not None, (name, field)
        assert "effect_per_10_hours" in e["parameters"] and "measure" in e["parameters"], name
    assert truth["community_support_exam_retake"]["parameters"]["pass_mark"] > 0


def test_measures_by_grade_and_enough_cases(tabs, truth):
    cs = tabs["community_support"].merge(tabs["pupil_years"][["pupil_id", "year", "grade", "repeated"]],
                                         on=["pupil_id", "year"])
    assert cs.loc[cs["measure"] == "literacy", "grade"].between(1, 3).all()
    assert (cs.loc[cs["measure"] == "mentor", "grade"] >= 7).all()
    sub = cs[cs["measure"] == "subject_support"]
    assert ((sub["grade"] == 9) & sub["repeated"]).all()
    assert len(sub) >= 30, len(sub)  # enough retakers at sample scale for an estimate
    assert truth["community_support_exam_retake"]["realised"]["n_supported_retakers"] == len(sub)


def test_wellbeing_dose_recovered_and_naive_biased_down(tabs, truth):
    e = truth["community_support_wellbeing"]
    d = _offering(tabs)
    d = d[d["wellbeing"].notna() & (d["measure"].isna() | d["measure"].isin(["counselling", "mentor"]))]
    # the truth is the effect at the mean hours of the counselled or mentored pupils who answered
    mean_h = d.loc[d["hours"] > 0, "hours"].mean()
    assert abs(mean_h / 10 * e["parameters"]["effect_per_10_hours"] - e["true_value"]) < 1e-3
    d = d[d["wb_prev"].notna()]
    d = d.assign(h10=d["hours"] / 10, D=(d["hours"] > 0).astype(int))
    fit = smf.ols("wellbeing ~ h10 + wb_prev + ses_index", d).fit(cov_type="HC1")
    assert _covers(fit, "h10", e["parameters"]["effect_per_10_hours"])
    naive = smf.ols("wellbeing ~ D", d).fit()
    assert naive.params["D"] < e["true_value"]


def test_absences_effect_recovered_and_naive_biased_up(tabs, truth):
    e = truth["community_support_absences"]
    d = _offering(tabs)
    d = d[d["abs_prev"].notna() & (d["measure"].isna() | d["measure"].isin(["counselling", "mentor"]))].copy()
    d["h10"] = d["hours"] / 10
    d["D"] = (d["hours"] > 0).astype(int)
    d["labs"] = np.log1p(d["abs_prev"])
    d["wb_missing"] = d["wb_prev"].isna().astype(int)
    d["wb_prev"] = d["wb_prev"].fillna(62.0)
    fit = smf.ols("absences ~ h10 + labs + I(labs**2) + I(labs**3) + wb_prev + wb_missing + C(grade)",
                  d).fit(cov_type="HC1")
    assert _covers(fit, "h10", e["parameters"]["effect_per_10_hours"])
    naive = smf.ols("absences ~ D", d).fit()
    assert naive.params["D"] > e["true_value"]


def test_literacy_effect_recovered_with_the_preschool_score_and_naive_biased_down(tabs, truth):
    e = truth["community_support_literacy"]
    a = tabs["assessments"]
    d3 = a[(a["test"] == "diag3") & (a["subject"] == "latvian") & a["year"].isin(e["support_years"])]
    lit = tabs["community_support"].query("measure == 'literacy'")[["pupil_id", "year", "hours"]]
    d = d3[["pupil_id", "year", "score"]].merge(lit.rename(columns={"year": "ys"}), on="pupil_id", how="left")
    d["hours"] = np.where(d["ys"] <= d["year"], d["hours"], 0.0)
    d = d.groupby(["pupil_id", "year", "score"], as_index=False)["hours"].sum()
    pre = tabs["preschool_assessments"][["pupil_id", "literacy", "numeracy"]]
    d = d.merge(pre, on="pupil_id", how="left")
    d["pre_missing"] = d["literacy"].isna().astype(int)
    d[["literacy", "numeracy"]] = d[["literacy", "numeracy"]].fillna(60.0)
    d["h10"], d["D"] = d["hours"] / 10, (d["hours"] > 0).astype(int)
    fit = smf.ols("score ~ h10 + literacy + numeracy + pre_missing + C(year)", d).fit(cov_type="HC1")
    assert _covers(fit, "h10", e["parameters"]["effect_per_10_hours"])
    va = smf.ols("score ~ D + literacy + numeracy + pre_missing + C(year)", d).fit(cov_type="HC1")
    assert _covers(va, "D", e["true_value"])
    naive = smf.ols("score ~ D", d).fit()
    assert naive.params["D"] < e["true_value"]


def test_exam_retake_effect_recovered_and_naive_biased_down(tabs, truth):
    e = truth["community_support_exam_retake"]
    mark = e["parameters"]["pass_mark"]
    a = tabs["assessments"]
    ce9 = a[a["test"] == "ce9"]
    before = ce9.assign(year=ce9["year"] + 1).groupby(["pupil_id", "year"])["score"].agg(["min", "mean"]).reset_index()
    py = tabs["pupil_years"]
    rep = py[(py["grade"] == 9) & py["repeated"] & py["year"].isin(e["support_years"])]
    d = rep.merge(before, on=["pupil_id", "year"])
    d = d[d["min"] < mark]
    now = ce9.groupby(["pupil_id", "year"])["score"].min().rename("now").reset_index()
    d = d.merge(now, on=["pupil_id", "year"], how="left")
    d["passed"] = (d["now"] >= mark).astype(int)  # no result: not passed
    sub = tabs["community_support"].query("measure == 'subject_support'")[["pupil_id", "year"]].assign(D=1)
    d = d.merge(sub, on=["pupil_id", "year"], how="left").fillna({"D": 0})
    fit = smf.ols("passed ~ D + min + mean", d).fit(cov_type="HC1")
    assert _covers(fit, "D", e["true_value"])
    naive = smf.ols("passed ~ D", d).fit()
    assert naive.params["D"] < e["true_value"]
