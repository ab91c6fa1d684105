"""The synthetic generator: determinism, calibration, and the true effects it stores.

Recovery tests read the true values from ``true_effects.json`` (not from the
code), fit the correctly specified simple model the sidecar names (plain
statsmodels) and check that its 95 % CI covers the truth while the naive
comparison is biased in the stated direction.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evaltools.data.synth import effects_frame, generate, write
from evaltools.data.synth.calibration import calibration_table
from evaltools.data.synth.config import config_for
from tests import ROOT

from tests.data._sample import SAMPLE  # noqa: E402


def test_sample_regenerates_byte_identically(tmp_path):
    meta = json.loads((SAMPLE / "true_effects.json").read_text(encoding="utf-8"))
    write(generate("sample", seed=meta["seed"]), tmp_path)
    shipped = sorted(p.name for p in SAMPLE.iterdir() if p.suffix in (".parquet", ".json"))
    assert shipped == sorted(p.name for p in tmp_path.iterdir())
    for name in shipped:
        assert (SAMPLE / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_truth_table_and_overrides_are_checked():
    meta = json.loads((SAMPLE / "true_effects.json").read_text(encoding="utf-8"))
    eff = effects_frame(meta)
    assert eff.loc["pumpurs_support_dropout", "true_value"] == meta["parameters"]["tau0"]
    assert eff["naive_bias_direction"].notna().all() and len(eff) == len(meta["effects"])
    with pytest.raises(ValueError, match="Unknown synth option"):
        config_for("sample", 1, alumni=3)
    with pytest.raises(ValueError, match="Unknown scale"):
        config_for("tiny", 1)


def test_structure(tabs):
    m = tabs["municipalities"]
    assert len(m) == 43 and (m["kind"] == "state_city").sum() == 7
    assert set(m["region"]) == {"Rīga", "Vidzeme", "Kurzeme", "Zemgale", "Latgale"}
    assert set(tabs["schools"]["municipality_id"]) == set(m["municipality_id"])
    py = tabs["pupil_years"]
    assert py["year"].min() == 2014 and py["year"].max() == 2023
    assert py["grade"].between(1, 12).all()
    roll = tabs["pumpurs_schools"]["rollout_year"].dropna()
    assert set(roll.unique()) == {2017, 2018, 2019, 2020}
    plans = tabs["support_plans"]
    assert (plans["risk_score"] >= 60).all() and 0.4 < plans["taken_up"].mean() < 0.95
    types = tabs["plan_risk_types"]
    assert set(types["plan_id"]) == set(plans["plan_id"])
    assert set(types["risk_type"]) == {"learning", "economic", "family", "social_health"}


def test_sample_calibration(tabs):
    cal = calibration_table(tabs)
    for fig in ("early_leaving_cohort", "pupils_per_teacher", "ce12_math_mean", "ce12_latvian_mean",
                "ce9_math_mean", "repetition_rate"):
        assert cal.loc[fig, "ok"], cal.loc[fig].to_dict()
    a = tabs["assessments"]
    assert a.loc[a["test"] != "class", "score"].between(0, 100).all()
    assert a.loc[a["test"] == "class", "score"].isin(range(1, 11)).all()


def _demean(d: pd.DataFrame, cols: list[str], by: str) -> pd.DataFrame:
    """Subtract group means (absorbs fixed effects of ``by``; same slopes as its dummies, by FWL)."""
    out = d.copy()
    out[cols] = d[cols] - d.groupby(by)[cols].transform("mean")
    return out


def _covers(fit, name: str, value: float) -> bool:
    lo, hi = fit.conf_int().loc[name]
    return lo <= value <= hi


def _dropout_fit(tabs, thr: float):
    """The sidecar's discrete-time logit of early leaving among PUMPURS pupil-years of grades 5-12."""
    py, rs = tabs["pupil_years"], tabs["risk_scores"]
    s1 = rs[rs["semester"] == 1][["pupil_id", "year", "school_id", "score"]]
    d = s1.merge(py, on=["pupil_id", "year", "school_id"], how="inner")
    d = d.merge(tabs["support_plans"][["pupil_id", "year", "taken_up"]], on=["pupil_id", "year"], how="left")
    d = d.merge(tabs["pumpurs_schools"], on="school_id")
    d = d[d["grade"] >= 5]  # the population of the sidecar entry: grades 5-12
    d["D"] = d["taken_up"].astype("boolean").fillna(False).astype(int)
    d["left"] = (d["status"] == "left_early").astype(int)
    d["z"] = (d["score"] - 50) / 10
    d["zc"] = (d["score"] - thr) / 10
    d["k"] = d["year"] - d["rollout_year"].astype(int)
    d["t"] = d["year"] - 2014
    return smf.logit("left ~ C(grade) + t + z + D + D:zc + D:k", d).fit(disp=0), smf.logit("left ~ D", d).fit(disp=0)


def test_pumpurs_dropout_effect_recovered_and_naive_biased_up(tabs, truth):
    e = truth["pumpurs_support_dropout"]
    par = e["parameters"]
    fit, naive = _dropout_fit(tabs, par["threshold"])
    assert _covers(fit, "D", e["true_value"])
    assert _covers(fit, "D:zc", par["tau_score"]) and _covers(fit, "D:k", par["tau_years"])
    assert _covers(fit, "z", par["beta_score"])
    assert naive.params["D"] > e["true_value"] and naive.params["D"] > 0


def test_pumpurs_absence_effect_recovered(tabs, truth):
    e = truth["pumpurs_support_absences"]
    py, rs = tabs["pupil_years"], tabs["risk_scores"]
    d = rs[rs["semester"] == 1].merge(py, on=["pupil_id", "year", "school_id"])
    d = d.merge(tabs["support_plans"][["pupil_id", "year", "taken_up"]], on=["pupil_id", "year"], how="left")
    d["D"] = d["taken_up"].astype("boolean").fillna(False).astype(int)
    d["bin"] = np.floor(d["score"] / 5).astype(int)
    fit = smf.poisson("absences ~ C(bin) + C(grade) + D", d).fit(disp=0, cov_type="HC1")
    assert _covers(fit, "D", e["true_value"])
    naive = smf.poisson("absences ~ D", d).fit(disp=0)
    assert naive.params["D"] > e["true_value"]


def _soma_fits(tables):
    # mean per semester enrolled: pupils who leave early miss semester 2 (and have lower SES)
    act = tables["skolas_soma"].groupby(["pupil_id", "year"], as_index=False)["activities"].mean()
    d = tables["wellbeing_pupils"].merge(act, on=["pupil_id", "year"])
    d["cell"] = d["school_id"] + "_" + d["year"].astype(str)
    fe = smf.ols("wellbeing ~ 0 + activities", _demean(d, ["wellbeing", "activities"], "cell")).fit(cov_type="HC1")
    naive = smf.ols("wellbeing ~ activities", d).fit()
    return fe, naive


def test_skolas_soma_naive_association_removed_by_school_effects(tabs, truth):
    e = truth["skolas_soma_wellbeing"]
    fe, naive = _soma_fits(tabs)
    bias = naive.params["activities"] - e["true_value"]
    assert bias > 0 and naive.pvalues["activities"] < 0.01
    # the within-school estimate is smaller than the naive one; its coverage of the
    # truth is checked over many seeds in the slow test below
    assert fe.params["activities"] < naive.params["activities"]


@pytest.mark.slow
def test_skolas_soma_school_effects_cover_the_null_across_seeds():
    """Coverage of the 95 % CI over 12 seeds; P(fewer than 9 covers | 95 %) is about 0.2 %."""
    covers = 0
    for seed in range(100, 112):
        data = generate("sample", seed=seed)
        e = {x["name"]: x for x in data.truth["effects"]}["skolas_soma_wellbeing"]
        fe, _ = _soma_fits(data.tables)
        covers += _covers(fe, "activities", e["true_value"])
    assert covers >= 9


@pytest.fixture(scope="module")
def many_alumni(tabs):
    """The shipped sample: it has 30 times the national rate of IM alumni (about 250), for power."""
    from types import SimpleNamespace

    meta = json.loads((SAMPLE / "true_effects.json").read_text(encoding="utf-8"))
    assert config_for("sample", meta["seed"]).alumni_factor > 1
    return SimpleNamespace(tables=tabs, truth=meta)


def _alumni_years(data) -> pd.DataFrame:
    t, ty = data.tables["teachers"], data.tables["teacher_years"]
    d = ty.merge(t[["teacher_id", "engagement", "birth_year"]], on="teacher_id")
    d = d[d["im_alumnus"]].copy()
    d["gp"] = d["in_growth_programme"].astype(int)
    d["left"] = (~d["stayed"]).astype(int)
    d["eng"] = d["engagement"] - 3.4
    d["new"] = (d["years_of_service"] < 3).astype(int)
    d["old"] = ((d["year"] - d["birth_year"]) >= 63).astype(int)
    return d


def test_growth_programme_retention_recovered_and_naive_biased(many_alumni):
    e = {x["name"]: x for x in many_alumni.truth["effects"]}["growth_programme_retention"]
    d = _alumni_years(many_alumni)
    assert d["gp"].sum() > 300
    fit = smf.logit("left ~ gp + eng + new + old" if d["old"].any() else "left ~ gp + eng + new", d).fit(disp=0)
    assert _covers(fit, "gp", e["true_value"])
    naive = smf.logit("left ~ gp", d).fit(disp=0)
    assert naive.params["gp"] < e["true_value"]


def test_growth_programme_pupil_results_recovered_and_naive_biased_up(many_alumni):
    e = {x["name"]: x for x in many_alumni.truth["effects"]}["growth_programme_pupil_results"]
    a = many_alumni.tables["assessments"]
    a = a[a["test"].isin(["diag6", "ce9", "ce12"]) & a["teacher_id"].notna()]
    ty = many_alumni.tables["teacher_years"][["teacher_id", "year", "in_growth_programme"]]  # not im_alumnus
    t = many_alumni.tables["teachers"][["teacher_id", "engagement", "im_alumnus"]]
    d = a.merge(ty, on=["teacher_id", "year"]).merge(t, on="teacher_id")
    d = d[d["im_alumnus"]].copy()
    d["gp"] = d["in_growth_programme"].astype(int)
    d["cell"] = d["test"] + "_" + d["subject"] + "_" + d["year"].astype(str)
    fit = smf.ols("score ~ 0 + gp + engagement", _demean(d, ["score", "gp", "engagement"], "cell")).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["teacher_id"])[0]})
    assert _covers(fit, "gp", e["true_value"])
    naive = smf.ols("score ~ 0 + gp", _demean(d, ["score", "gp"], "cell")).fit()
    assert naive.params["gp"] > e["true_value"]


def test_growth_programme_leadership_recovered_and_naive_biased_up(many_alumni):
    e = {x["name"]: x for x in many_alumni.truth["effects"]}["growth_programme_leadership"]
    d = _alumni_years(many_alumni)
    nxt = d[["teacher_id", "year", "role"]].assign(year=lambda x: x["year"] - 1).rename(columns={"role": "next_role"})
    d = d[(d["role"] == "teacher") & d["stayed"]].merge(nxt, on=["teacher_id", "year"])
    d["promoted"] = d["next_role"].isin(["subject_lead", "deputy_head"]).astype(int)
    fit = smf.logit("promoted ~ gp + eng + years_of_service", d).fit(disp=0)
    assert _covers(fit, "gp", e["true_value"])
    naive = smf.logit("promoted ~ gp", d).fit(disp=0)
    assert naive.params["gp"] > e["true_value"]


def test_pumpurs_repetition_effect_recovered_and_naive_biased_up(tabs, truth):
    e = truth["pumpurs_support_repetition"]
    py, rs = tabs["pupil_years"], tabs["risk_scores"]
    d = rs[rs["semester"] == 1].merge(py, on=["pupil_id", "year", "school_id"])
    d = d[d["status"] != "left_early"]
    d = d.merge(tabs["support_plans"][["pupil_id", "year", "taken_up"]], on=["pupil_id", "year"], how="left")
    d = d.merge(tabs["pupils"][["pupil_id", "special_needs"]], on="pupil_id")
    nxt = py.loc[py["repeated"], ["pupil_id", "year"]].assign(year=lambda x: x["year"] - 1, rep=1)
    d = d.merge(nxt, on=["pupil_id", "year"], how="left").fillna({"rep": 0})
    d["D"] = d["taken_up"].astype("boolean").fillna(False).astype(int)
    d["z"] = (d["score"] - 50) / 10
    d["sn"] = d["special_needs"].astype(int)
    fit = smf.logit("rep ~ z + sn + D", d).fit(disp=0)
    assert _covers(fit, "D", e["true_value"])
    naive = smf.logit("rep ~ D", d).fit(disp=0)
    assert naive.params["D"] > e["true_value"]


@pytest.mark.slow
def test_region_scale_passes_every_check(tmp_path):
    from evaltools.data import load_dataset

    data = generate("region", seed=11, region="Kurzeme")
    ds = load_dataset(write(data, tmp_path))
    assert set(ds["municipalities"]["region"]) == {"Kurzeme"} and len(ds["municipalities"]) == 7
    assert ds["pupil_years"].groupby("year").size().between(15_000, 40_000).all()


def test_growth_programme_spillover_recovered_by_twfe_and_naive_biased_up(many_alumni):
    e = {x["name"]: x for x in many_alumni.truth["effects"]}["growth_programme_collaboration_spillover"]
    ty = many_alumni.tables["teacher_years"]
    has = ty.groupby(["school_id", "year"])["in_growth_programme"].transform("any")
    ty = ty.assign(colleague=(has & ~ty["in_growth_programme"]).astype(int))
    d = many_alumni.tables["teacher_practices"].merge(
        ty[["teacher_id", "year", "in_growth_programme", "colleague"]], on=["teacher_id", "year"])
    d = d[~d["in_growth_programme"]]
    assert d["colleague"].sum() > 1000
    fit = smf.ols("collaboration ~ colleague + C(year) + C(school_id)", d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["school_id"])[0]})
    assert _covers(fit, "colleague", e["true_value"])
    naive = smf.ols("collaboration ~ colleague", d).fit()
    assert naive.params["colleague"] > e["true_value"]


def test_pumpurs_exam_null_effect_recovered_and_naive_biased_down(tabs, truth):
    e = truth["pumpurs_support_exams"]
    rs = tabs["risk_scores"]
    a = tabs["assessments"]
    d = a[a["test"].isin(["ce9", "ce12"])].merge(rs[rs["semester"] == 1], on=["pupil_id", "year"])
    d = d.merge(tabs["support_plans"][["pupil_id", "year", "taken_up"]], on=["pupil_id", "year"], how="left")
    d["D"] = d["taken_up"].astype("boolean").fillna(False).astype(int)
    # the truth's population: first sittings (support makes repeating rarer, which changes who retakes)
    d = d.merge(tabs["pupil_years"][["pupil_id", "year", "repeated"]], on=["pupil_id", "year"])
    d = d[~d["repeated"]]
    d["bin"] = np.floor(d["score_y"] / 5).astype(int)
    d["cell"] = d["test"] + "_" + d["subject"] + "_" + d["year"].astype(str)
    fit = smf.ols("score_x ~ D + C(bin) + C(cell)", d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["pupil_id"])[0]})
    assert _covers(fit, "D", e["true_value"])
    naive = smf.ols("score_x ~ D + C(cell)", d).fit()
    assert naive.params["D"] < e["true_value"]


@pytest.mark.slow
def test_same_seed_writes_byte_identical_files(tmp_path):
    """Two runs of the generator with one seed write the same bytes (every table and the truths)."""
    a, b = write(generate("sample", seed=7), tmp_path / "a"), write(generate("sample", seed=7), tmp_path / "b")
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and "preschool_assessments.parquet" in names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_the_2014_stock_comes_from_a_burn_in(tabs):
    """Pupils are simulated from before 2014 and only 2014-2023 are published: the 2014 stock already
    holds repeaters and has been through the early-leaving hazards, like the later years."""
    py = tabs["pupil_years"]
    assert py["year"].min() == 2014 and tabs["pupils"]["entry_year"].min() == 2014
    rep = py.groupby("year")["repeated"].mean()
    assert rep[2014] > 0.5 * rep.loc[2015:2018].mean() > 0
    # grade-9 repeaters of 2014 who failed an exam they took before the data begin (no ce9 row in 2013)
    assert py[(py["year"] == 2014) & (py["grade"] == 9)]["repeated"].sum() > 0


def test_preschool_scores_precede_grade_1_and_predict_grade_3(tabs):
    pre = tabs["preschool_assessments"]
    py = tabs["pupil_years"]
    first = py.sort_values("year").drop_duplicates("pupil_id").set_index("pupil_id")
    f = first.reindex(pre["pupil_id"])
    assert (f["grade"].to_numpy() == 1).all() and (pre["year"].to_numpy() == f["year"].to_numpy() - 1).all()
    starters = first[(first["grade"] == 1) & (first["year"] > 2014)]
    assert 0.9 < len(pre) / len(starters) <= 1.0
    a = tabs["assessments"]
    d3 = a[(a["test"] == "diag3") & (a["subject"] == "latvian")].merge(pre, on="pupil_id")
    assert d3["score"].corr(d3["literacy"]) > 0.3


def test_failing_the_grade_9_exam_makes_repeating_likely(tabs):
    from evaltools.data.synth.config import CE9_PASS_MARK

    a = tabs["assessments"]
    m = a[(a["test"] == "ce9") & (a["subject"] == "math")][["pupil_id", "year", "score"]]
    nxt = tabs["pupil_years"][["pupil_id", "year", "grade", "repeated"]].assign(year=lambda x: x["year"] - 1)
    d = m.merge(nxt, on=["pupil_id", "year"])
    failed = d["score"] < CE9_PASS_MARK - 5  # clearly failed (the recorded score has exam-day shocks)
    assert d.loc[failed, "repeated"].mean() > 0.5 > 0.1 > d.loc[d["score"] > CE9_PASS_MARK + 10, "repeated"].mean()
