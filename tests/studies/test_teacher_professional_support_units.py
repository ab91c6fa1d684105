"""Unit tests of evaltools.studies.teacher_professional_support on a small simulated data set with
known effects (tests/studies/tps_simulated.py; no kernel, no files)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from evaltools.report import i18n
from evaltools.studies import teacher_professional_support as study
from tests.studies.tps_simulated import simulate


@pytest.fixture(scope="module")
def sim():
    return simulate(3, teachers_per_school=8)


@pytest.fixture(scope="module")
def data(sim):
    return study.prepare(sim)


def test_the_verbs_exist():
    for verb in ("prepare", "headline", "subgroups", "costs", "truth_check"):
        assert callable(getattr(study, verb)), verb


def test_frames_carry_the_municipality_start_and_use_head_observations_only(sim, data):
    o = data.observations
    start = sim.tables["methodologist_support"].set_index("municipality_id")["start_year"]
    expected = o["municipality_id"].map(start).fillna(0).astype(int)
    assert (o["cohort"] == expected).all()
    assert ((o["treated"] == 1) == ((o["cohort"] > 0) & (o["year"] >= o["cohort"]))).all()
    # one row per teacher-year, the mean of the head's observations (the methodologists' 3.0 never enters)
    heads = sim.tables["lesson_observations"].query("observer == 'head'")
    assert len(o) == len(heads.groupby(["teacher_id", "year"]))
    assert np.allclose(np.sort(o["score"].to_numpy()), np.sort(heads.groupby(["teacher_id", "year"])["score"].mean()))
    # teacher-years without any development count 0 hours
    dev = sim.tables["teacher_development"].groupby(["teacher_id", "year"])["hours"].sum()
    key = list(zip(o["teacher_id"], o["year"]))
    assert np.allclose(o["hours"].to_numpy(), [dev.get(k, 0.0) for k in key])
    # the last year's leaving is unknown: left out of the retention frame
    assert data.retention["year"].max() == sim.tables["teacher_years"]["year"].max() - 1
    assert set(data.retention["left"].unique()) <= {0.0, 1.0}


def test_the_rollout_recovers_the_simulated_effect(sim, data):
    ro = study.rollout(data.observations, data.municipality_panel, bootstrap_reps=None, pretest_reps=199)
    truth = study.truth.weighted_truth(study.truth.effect_truth(sim.truth, "teacher_support_observation"),
                                       ro["teacher"].fit)
    assert truth is not None and truth != sim.truth["effects"][0]["true_value"]  # weighted by the estimated cells
    for level in ("teacher", "municipality"):
        att = ro[level].att
        assert att.ci_low <= truth <= att.ci_high, (level, att, truth)
        assert ro[level].n["clusters"] == 43
    assert ro["teacher"].pretrend.pvalue > 0.01  # parallel trends hold in the simulation
    honest = study.honest_bounds(ro["teacher"])
    assert "relative_magnitude" in honest and "smoothness" in honest, honest


def test_the_dose_naive_slope_is_biased_upward_and_within_teacher_recovers_it(sim, data):
    d = study.dose(data)
    true = sim.truth["effects"][1]["true_value"]
    assert d.teacher_fe.ci_low <= true <= d.teacher_fe.ci_high, d.teacher_fe
    assert d.naive.ci_low > true  # engagement drives hours and scores
    assert d.engagement is not None and abs(d.engagement.estimate - true) < abs(d.naive.estimate - true)


def test_retention_and_pupils_recover_the_simulated_effects(sim, data):
    r = study.retention(data)
    leave = sim.truth["effects"][2]["true_value"] / 100
    assert r.att.ci_low <= leave <= r.att.ci_high, r.att
    p = study.pupil_results(data)
    pupil = sim.truth["effects"][3]["true_value"]
    assert p.rollout.att.ci_low <= pupil <= p.rollout.att.ci_high, p.rollout.att
    # the three-level model on all scores (headline): cohort-by-year cells averaged, clustered by municipality
    three = p.three_level
    assert three.ci_low <= pupil <= three.ci_high, three
    assert three.n["observations"] == len(data.pupils) and three.n["clusters"] == 43 and p.note is None
    assert three.n["scores_supported"] == int(data.pupils["treated"].sum())
    assert p.variance.index.tolist() == ["school_id (intercept)", "teacher_id (intercept)", "residual"]
    assert p.multilevel is three  # the old name
    with pytest.warns(DeprecationWarning, match="all scores"):
        left_out = study.pupil_results(data, max_rows_three_level=0)
    assert left_out.three_level is None and "left out" in left_out.note


def test_three_level_average_weights_the_cells_by_supported_scores(data):
    est, fit = study.effects.three_level_att(data.pupils)
    p = data.pupils
    post = p[p["treated"] == 1]
    cells = post.groupby(["cohort", "year"]).size()
    coef = fit.params
    by_hand = sum(n * coef[f"C(cell, contr.treatment('0'))[T.c{g}_{t}]"] for (g, t), n in cells.items()) / cells.sum()
    assert est.estimate == pytest.approx(by_hand, rel=1e-12)
    assert est.n["cells"] == len(cells)
    # anticipation: the year before each start gets its own dummy, outside the average
    est1, fit1 = study.effects.three_level_att(p, anticipation=1)
    assert any("[T.ac" in k for k in fit1.params.index) and est1.n["cells"] == len(cells)


def test_subgroups_are_adjusted_for_multiple_testing(data):
    sub = study.subgroups(data, min_teachers=20)
    assert set(sub["by"]) <= set(study.SUBGROUPS) and len(sub) >= 3
    assert (sub["p_bh"] >= sub["pvalue"] - 1e-12).all()
    big = study.subgroups(data, min_teachers=10**6)
    assert big.empty


def test_costs_add_the_labelled_components(data):
    c = study.costs(data, cost_per_methodologist_year=1000.0, cost_per_hour=10.0)
    s = data.support[data.support["cohort"] > 0]
    years = (data.years[-1] - s["cohort"] + 1).clip(lower=0)
    assert c["methodologist_years"] == pytest.approx(float((s["methodologists"] * years).sum()))
    assert c["components"]["methodologists"] == pytest.approx(1000.0 * c["methodologist_years"])
    assert c["components"]["development_hours"] == pytest.approx(10.0 * c["hours_with_methodologist"])
    assert c["per_teacher"].per_pupil == pytest.approx(c["total"] / c["supported_teachers"])
    zero = study.costs(data, cost_per_methodologist_year=0.0, cost_per_hour=0.0)
    assert zero["per_teacher"] is None


def test_every_activity_type_maps_onto_named_purposes_in_both_languages(data):
    assert set(study.MECHANISMS) == set(study.ACTIVITY_TYPES)
    assert {p for ps in study.MECHANISMS.values() for p in ps} == set(study.PURPOSES)
    prof = study.activity_profile(data)
    assert set(prof["period"]) == {"before", "after"}
    ph = study.purpose_hours(data)
    assert list(ph["purpose"]) == list(study.PURPOSES)
    for lang in ("lv", "en"):
        for k in study.ACTIVITY_TYPES:
            assert i18n.text(f"tps.type.{k}", lang)
        for p in study.PURPOSES:
            assert i18n.text(f"tps.purpose.{p}", lang)


def test_the_truth_check_compares_each_headline_quantity(sim, data):
    res = study.headline(data, truth=sim.truth, bootstrap_reps=None, wild_reps=199, min_teachers=20)
    check = res.check.set_index("quantity")
    assert set(check.index) >= {"observation", "per_10_hours", "retention", "pupil_results", "pupil_results_rollout"}
    assert check.loc["pupil_results", "estimate"] == res.pupils.three_level.estimate  # the headline design
    assert check.loc["retention", "truth"] == sim.truth["effects"][2]["true_value"]  # pp, the estimate x 100
    assert check.loc["per_10_hours", "naive_as_stored"]
    assert check.loc[list(study.truth.HEADLINE), "covered"].all(), check
    again = study.truth_check(sim.truth, res)
    assert np.allclose(again["estimate"], res.check["estimate"])
    assert study.truth_check(None, res).empty


def test_a_missing_table_is_a_clear_error_without_identifiers(sim):
    tables = {k: v for k, v in sim.tables.items() if k != "methodologist_support"}
    ds = type(sim)(path=sim.path, tables=tables, truth=None)
    with pytest.raises(study.TPSDataError, match="methodologist_support") as err:
        study.prepare(ds)
    assert not re.search(r"T\d{5}|S\d{4}|P\d+_", str(err.value))


def test_bad_area_and_period_are_clear_errors(sim):
    with pytest.raises(study.TPSDataError, match="region"):
        study.prepare(sim, region="Atlantis")
    with pytest.raises(study.TPSDataError, match="first_year"):
        study.prepare(sim, first_year=2020, last_year=2015)
    with pytest.raises(study.TPSDataError, match="at least 3"):
        study.prepare(sim, first_year=2022)


def test_no_rollout_in_the_area_is_a_clear_error(sim):
    sup = sim.tables["methodologist_support"].assign(start_year=pd.array([None] * 43, dtype="Int64"))
    ds = type(sim)(path=sim.path, tables={**sim.tables, "methodologist_support": sup}, truth=None)
    with pytest.raises(study.TPSDataError, match="no roll-out"):
        study.prepare(ds)


def test_the_published_estimate_drops_small_counts(data):
    ro = study.rollout(data.observations, data.municipality_panel, bootstrap_reps=None, pretest_reps=99)
    est = ro["teacher"].att
    pub = study.public(est, threshold=50)
    assert "clusters" not in pub.n and pub.estimate == est.estimate
    assert study.public(est, threshold=5).n["clusters"] == 43
