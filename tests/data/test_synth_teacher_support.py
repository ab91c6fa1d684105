"""The generator's teacher professional-support data (ESF 4.2.2.3) and its four stored truths.

One simulation of the ``sample`` scale at the shipped seed, with its hidden columns
(:func:`evaltools.data.synth.simulate`): the truths are read from its ``true_effects`` (never
from the code), recomputed from the potential outcomes, and recovered by the simple models the
sidecar names, while the naive comparisons are biased in the stated direction.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evaltools.data import validate
from evaltools.data.crosscheck import cross_table_violations
from evaltools.data.synth import TABLE_ORDER, _rng, simulate
from evaltools.data.synth.config import config_for
from evaltools.data.synth.teacher_support import (COHORT_SIZES, PD_TYPES, methodologist_rollout,
                                                  simulate_teacher_support)

NEW = ("methodologist_support", "teacher_development", "lesson_observations")


@pytest.fixture(scope="module")
def sim():
    return simulate("sample", seed=config_for("sample", 20240901).seed)


@pytest.fixture(scope="module")
def truth(sim):
    return {e["name"]: e for e in sim.truth["effects"]}


@pytest.fixture(scope="module")
def head(sim):
    """Head-observed lessons with municipality, start year, supported flag and the year's PD hours."""
    t = sim.tables
    obs = t["lesson_observations"]
    h = obs[obs["observer"] == "head"].copy()
    h["mun"] = h["school_id"].map(t["schools"].set_index("school_id")["municipality_id"])
    h["g"] = h["mun"].map(t["methodologist_support"].set_index("municipality_id")["start_year"]).astype("float64")
    h["D"] = (h["year"] >= h["g"].fillna(9999)).astype(int)
    hours = t["teacher_development"].groupby(["teacher_id", "year"])["hours"].sum()
    h["h10"] = pd.MultiIndex.from_frame(h[["teacher_id", "year"]]).map(hours).fillna(0.0).to_numpy() / 10.0
    return h


def _public(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if not c.startswith("_")]].reset_index(drop=True)


def test_new_tables_are_in_the_output_and_pass_the_checks(sim):
    for name in NEW:
        assert name in TABLE_ORDER
        validate(_public(sim.tables[name]), name)  # raises on any broken rule
    parts = {k: _public(sim.tables[k]) for k in ("municipalities", "schools", "teachers", "teacher_years", *NEW)}
    assert cross_table_violations(parts, {k: f"{k}.parquet" for k in parts}) == []


def test_shapes_keys_and_links(sim):
    t = sim.tables
    ms = t["methodologist_support"]
    assert sorted(ms["municipality_id"]) == sorted(t["municipalities"]["municipality_id"])
    counts = ms["start_year"].value_counts(dropna=False)
    assert {(None if pd.isna(k) else int(k)): int(v) for k, v in counts.items()} == dict(COHORT_SIZES)
    assert ((ms["methodologists"] > 0) == ms["start_year"].notna()).all()
    ty_keys = pd.MultiIndex.from_frame(t["teacher_years"][["teacher_id", "year", "school_id"]])
    td, lo = t["teacher_development"], t["lesson_observations"]
    assert not td.duplicated(["teacher_id", "year", "type"]).any()
    assert set(td["type"]) == set(PD_TYPES) and (td["hours"] > 0).all()
    assert pd.MultiIndex.from_frame(td[["teacher_id", "year"]]).isin(ty_keys.droplevel(2)).all()
    assert not lo.duplicated(["teacher_id", "year", "observer"]).any()
    assert pd.MultiIndex.from_frame(lo[["teacher_id", "year", "school_id"]]).isin(ty_keys).all()
    # the lesson score is the mean of its three domain scores (each rounded to 0.01)
    dom = lo[["climate", "instruction", "assessment"]].mean(axis=1)
    assert (lo["score"] - dom).abs().max() <= 0.006
    assert lo["score"].between(1, 4).all()


def test_roll_out_is_staggered_and_methodologist_records_start_with_it(sim, head):
    t = sim.tables
    start = t["methodologist_support"].set_index("municipality_id")["start_year"].astype("float64")
    assert start.dropna().nunique() >= 5 and start.isna().sum() >= 3
    mun = t["schools"].set_index("school_id")["municipality_id"]
    ty = t["teacher_years"]
    g = ty["school_id"].map(mun).map(start).fillna(9999)
    lo = t["lesson_observations"]
    lo_g = lo["school_id"].map(mun).map(start).fillna(9999)
    assert (lo.loc[lo["observer"] == "methodologist", "year"] >= lo_g[lo["observer"] == "methodologist"]).all()
    td = t["teacher_development"].merge(ty[["teacher_id", "year", "school_id"]], on=["teacher_id", "year"])
    td_g = td["school_id"].map(mun).map(start).fillna(9999)
    assert not (td["with_methodologist"] & (td["year"] < td_g)).any()
    assert td["with_methodologist"].any()
    # the head observes teachers in every municipality and every year (the consistent outcome)
    assert head.groupby(["mun", "year"]).size().unstack().notna().all().all()
    assert head["mun"].nunique() == len(start)
    # the supply shift: in served municipalities mean hours rise after the start (DiD on never-served ones)
    hours = t["teacher_development"].groupby(["teacher_id", "year"])["hours"].sum()
    tyh = ty.assign(h=pd.MultiIndex.from_frame(ty[["teacher_id", "year"]]).map(hours).fillna(0.0).to_numpy(), g=g)
    served, never = tyh[tyh["g"] < 9999], tyh[tyh["g"] == 9999]
    change = served.loc[served["year"] >= served["g"], "h"].mean() - served.loc[served["year"] < served["g"], "h"].mean()
    trend = never.loc[never["year"] >= 2019, "h"].mean() - never.loc[never["year"] < 2019, "h"].mean()
    assert change - trend > 3.0  # hours


def test_generation_is_deterministic_and_the_roll_out_does_not_depend_on_the_scale(sim):
    from evaltools.data.geography import municipalities_frame

    full = municipalities_frame()
    assert len(full) == 43 == len(sim.tables["methodologist_support"])
    a = methodologist_rollout(_rng(sim.config.seed, "tps_rollout"), full)
    b = methodologist_rollout(_rng(sim.config.seed, "tps_rollout"), full)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(_public(a), _public(sim.tables["methodologist_support"]))
    cfg = sim.config
    ty = sim.tables["teacher_years"]
    outs = [simulate_teacher_support(_rng(cfg.seed, "tps"), ty.drop(columns=["_tps_gain"]).copy(),
                                     sim.tables["teachers"], sim.tables["schools"], a, cfg) for _ in range(2)]
    for name in ("teacher_development", "lesson_observations"):
        pd.testing.assert_frame_equal(getattr(outs[0], name), getattr(outs[1], name))
        pd.testing.assert_frame_equal(_public(getattr(outs[0], name)), _public(sim.tables[name]))


def test_observation_truth_is_the_mean_of_the_potential_outcomes(sim, truth):
    e = truth["teacher_support_observation"]
    ty, lo = sim.tables["teacher_years"], sim.tables["lesson_observations"]
    sup = ty["_tps"].to_numpy(bool)
    head = lo[(lo["observer"] == "head") & sup[lo["_row"].to_numpy()]]
    assert e["true_value"] == pytest.approx(head["_gain_score"].mean(), abs=1e-6)
    assert e["realised"]["n_head_lessons_supported"] == len(head) == sum(c["lessons"] for c in e["realised"]["att_gt"])
    # the gain is the direct effect at the event time plus the dose of the extra hours
    p = e["parameters"]
    s = ty[sup]
    ev = s["_event"].to_numpy()
    direct = (np.array([p["direct_effect_by_event_time"][str(min(k, 6))] for k in ev])
              + p["tps_early_career_extra"] * (s["years_of_service"].to_numpy() < 5))
    gain = direct + p["effect_per_10_hours"] * (s["_hours1"] - s["_hours0"]).to_numpy() / 10.0
    np.testing.assert_allclose(s["_tps_gain"].to_numpy(), gain, atol=1e-12)
    assert (ty.loc[~sup, "_tps_gain"] == 0).all() and (ev >= 0).all()
    assert e["realised"]["att_teacher_years"] == pytest.approx(gain.mean(), abs=1e-6)
    # the effect grows with event time
    by_e = {r["event_time"]: r["att"] for r in e["realised"]["att_by_event_time"]}
    assert by_e[3] > by_e[0] > 0
    assert {int(k): v for k, v in p["event_time_profile"].items()} == by_e


def _imputation(h: pd.DataFrame, keep: np.ndarray | None = None) -> float:
    """ATT by imputation: municipality and year effects fitted by least squares on the not-yet-served
    lessons, the served lessons' scores minus their imputed untreated scores, averaged (Borusyak,
    Jaravel and Spiess 2024). ``keep``: the lessons to use (a jackknife drops one municipality)."""
    x = np.column_stack([pd.get_dummies(h["mun"]).to_numpy(float), pd.get_dummies(h["year"]).to_numpy(float)[:, 1:]])
    y, d = h["score"].to_numpy(), h["D"].to_numpy() == 1
    keep = np.ones(len(h), bool) if keep is None else keep
    xu, yu = x[keep & ~d], y[keep & ~d]
    cols = xu.any(axis=0)  # a dropped municipality leaves an empty column
    beta = np.zeros(x.shape[1])
    beta[cols] = np.linalg.solve(xu[:, cols].T @ xu[:, cols], xu[:, cols].T @ yu)
    return float((y[keep & d] - x[keep & d] @ beta).mean())


def test_observation_att_recovered_with_43_clusters_and_naive_biased_down(head, truth):
    e = truth["teacher_support_observation"]
    est = _imputation(head)
    muns = head["mun"].unique()
    jack = np.array([_imputation(head, (head["mun"] != m).to_numpy()) for m in muns])
    se = np.sqrt((len(muns) - 1) / len(muns) * ((jack - jack.mean()) ** 2).sum())
    assert abs(est - e["true_value"]) < 1.96 * se
    assert est / se > 3  # detectable at sample scale
    naive = head.loc[head["D"] == 1, "score"].mean() - head.loc[head["D"] == 0, "score"].mean()
    assert naive == pytest.approx(e["realised"]["naive_difference"], abs=1e-6)
    assert naive < e["true_value"]


def test_dose_naive_slope_above_the_truth_and_teacher_effects_recover_it(sim, head, truth):
    e = truth["teacher_support_observation_per_10_hours"]
    naive = smf.ols("score ~ h10", head).fit()
    assert naive.params["h10"] == pytest.approx(e["realised"]["naive_slope_per_10_hours"], abs=1e-6)
    assert naive.conf_int().loc["h10", 0] > e["true_value"]
    ty = sim.tables["teacher_years"].set_index(["teacher_id", "year"])["years_of_service"]
    d = head.assign(early=(pd.MultiIndex.from_frame(head[["teacher_id", "year"]]).map(ty) < 5).astype(int))
    d["eD"] = d["early"] * d["D"]
    d["cell"] = d["mun"] + "_" + d["year"].astype(str)
    from linearmodels.iv.absorbing import AbsorbingLS

    fit = AbsorbingLS(d["score"], d[["h10", "early", "eD"]],
                      absorb=pd.DataFrame({"t": pd.Categorical(d["teacher_id"]), "c": pd.Categorical(d["cell"])})
                      ).fit(cov_type="clustered", clusters=pd.factorize(d["mun"])[0])
    lo, hi = fit.conf_int().loc["h10"]
    assert lo <= e["true_value"] <= hi


def test_retention_truth_from_the_hazards_and_recovered_by_a_logit(sim, truth):
    e = truth["teacher_support_retention"]
    t = sim.tables
    ty = t["teacher_years"].copy()
    sup = ty["_tps"]
    assert e["true_value"] == pytest.approx(100 * (ty.loc[sup, "_h"] - ty.loc[sup, "_hs0"]).mean(), abs=1e-6)
    assert e["true_value"] < 0
    # the growth-programme hazards keep the support term: _h0 differs from _h by the programme only
    gp = ty["in_growth_programme"]
    np.testing.assert_allclose(ty.loc[~gp, "_h"], ty.loc[~gp, "_h0"])
    np.testing.assert_allclose(ty.loc[~sup, "_h"], ty.loc[~sup, "_hs0"])
    mun = t["schools"].set_index("school_id")["municipality_id"]
    teachers = t["teachers"].set_index("teacher_id")
    ty["mun"] = ty["school_id"].map(mun)
    ty["S"] = sup.astype(int)
    ty["left"] = (~ty["stayed"]).astype(int)
    ty["eng"] = ty["teacher_id"].map(teachers["engagement"]) - 3.4
    ty["old"] = ((ty["year"] - ty["teacher_id"].map(teachers["birth_year"])) >= 63).astype(int)
    ty["new"] = (ty["years_of_service"] < 3).astype(int)
    ty["gp"] = gp.astype(int)
    ty["al"] = ty["im_alumnus"].astype(int)
    fit = smf.logit("left ~ S + eng + old + new + gp + al + C(year) + C(mun)", ty).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(ty["mun"])[0]})
    lo, hi = fit.conf_int().loc["S"]
    assert lo <= e["parameters"]["leave_log_or"] <= hi


def test_pupil_results_act_through_the_linked_teacher(sim, truth):
    e = truth["teacher_support_pupil_results"]
    a, ty = sim.tables["assessments"], sim.tables["teacher_years"]
    gain = ty.set_index(["teacher_id", "year"])["_tps_gain"]
    tests = a[a["teacher_id"].notna() & (a["test"] != "class")]
    g = pd.MultiIndex.from_frame(tests[["teacher_id", "year"]]).map(gain).to_numpy(float)
    np.testing.assert_allclose(tests["_tps"].to_numpy(), e["parameters"]["points_per_rubric_point"] * g)
    assert (a.loc[a["teacher_id"].isna() | (a["test"] == "class"), "_tps"] == 0).all()
    s = a[a["_tps"] > 0]

    def pub(x):
        return np.round(np.clip(x, 0.0, 100.0), 1)

    diff = pub(s["_raw"].to_numpy()) - pub(s["_raw"].to_numpy() - s["_tps"].to_numpy())
    assert e["true_value"] == pytest.approx(diff.mean(), abs=1e-6)
    assert e["realised"]["n_pupil_scores_supported"] == len(s) > 1000
    assert (a["score"] == pub(a["_raw"])).loc[a["test"] != "class"].all()


def test_every_entry_has_the_agreed_fields(truth):
    for name in ("teacher_support_observation", "teacher_support_observation_per_10_hours",
                 "teacher_support_retention", "teacher_support_pupil_results"):
        e = truth[name]
        assert e["programme"] == "Teacher professional support (ESF 4.2.2.3)"
        for key in ("outcome", "population", "scale", "model", "true_value", "parameters",
                    "naive_bias_direction", "how_to_recover", "tables"):
            assert e.get(key) not in (None, "", {}), (name, key)
        assert "effect_per_10_hours" in e["parameters"] or name == "teacher_support_retention"


@pytest.mark.slow
def test_observation_att_imputation_covers_the_truth_across_seeds():
    covers = 0
    for seed in (1, 2, 3, 4, 5):
        s = simulate("sample", seed=seed)
        t = s.tables
        obs = t["lesson_observations"]
        h = obs[obs["observer"] == "head"].copy()
        h["mun"] = h["school_id"].map(t["schools"].set_index("school_id")["municipality_id"])
        g = h["mun"].map(t["methodologist_support"].set_index("municipality_id")["start_year"]).astype("float64")
        h["D"] = (h["year"] >= g.fillna(9999)).astype(int)
        true = {e["name"]: e for e in s.truth["effects"]}["teacher_support_observation"]["true_value"]
        muns = h["mun"].unique()
        jack = np.array([_imputation(h, (h["mun"] != m).to_numpy()) for m in muns])
        se = np.sqrt((len(muns) - 1) / len(muns) * ((jack - jack.mean()) ** 2).sum())
        covers += abs(_imputation(h) - true) < 1.96 * se
    assert covers >= 4
