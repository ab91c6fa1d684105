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

from tests.data._sample import SAMPLE  # noqa: E402
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


def _literacy_fits(tabs, e):
    """The dose (per 10 hours) and value-added fits of the grade-3 literacy entry, with the naive fit."""
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
    dose = smf.ols("score ~ h10 + literacy + numeracy + pre_missing + C(year)", d).fit(cov_type="HC1")
    va = smf.ols("score ~ D + literacy + numeracy + pre_missing + C(year)", d).fit(cov_type="HC1")
    return dose, va, smf.ols("score ~ D", d).fit()


def test_literacy_effect_is_found_with_the_preschool_score_and_naive_biased_down(tabs, truth):
    """At the shipped seed: a clear positive effect and dose, and the naive comparison below the truth.
    Whether the CIs cover the truths is a property over seeds (next test): at the shipped seed the
    dose's CI misses (1.09 [0.78, 1.41] against 1.5), mostly by test-day noise (-0.26 of the gap)."""
    e = truth["community_support_literacy"]
    dose, va, naive = _literacy_fits(tabs, e)
    assert dose.conf_int().loc["h10", 0] > 0 and va.conf_int().loc["D", 0] > 0
    assert naive.params["D"] < 0 < e["true_value"]


@pytest.mark.slow
def test_literacy_effect_is_recovered_over_seeds():
    """Coverage of the dose and the value-added effect over 10 generator seeds: at least 8 of 10 each.
    Known: the score's cap at 100 makes the linear pre-school adjustment biased by about -0.07 per
    10 hours (40 seeds: mean dose 1.42, Monte Carlo s.e. 0.03), which this coverage still tolerates."""
    from evaltools.data.synth import generate

    cover_dose = cover_va = 0
    for seed in range(1, 11):
        data = generate("sample", seed=seed)
        e = next(x for x in data.truth["effects"] if x["name"] == "community_support_literacy")
        dose, va, _ = _literacy_fits(data.tables, e)
        cover_dose += _covers(dose, "h10", e["parameters"]["effect_per_10_hours"])
        cover_va += _covers(va, "D", e["true_value"])
    assert cover_dose >= 8 and cover_va >= 8, (cover_dose, cover_va)


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
