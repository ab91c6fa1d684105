"""Vocational schools and students in the synthetic data (issue 17 §1, PUMPURS as it ran).

* the vocational part draws from its own random streams: the general-education rows of every table
  are the same whatever it draws;
* vocational students' years are in ``vocational_years`` only, at vocational schools, after the
  pupil's general-education exit; the cross-table rules catch a mix-up;
* the stored vocational truth's counts are those of the tables, and the log odds ratio it stores is
  recovered by the model its ``how_to_recover`` names.

The sample is generated here (about 5 s each), so the tests hold before ``data/sample`` is regenerated.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaltools.data import synth as synth_pkg
from evaltools.data.crosscheck import cross_table_violations
from evaltools.data.geography import municipalities_frame
from evaltools.data.synth import generate
from evaltools.data.synth import vocational as voc
from evaltools.data.synth.config import config_for
from evaltools.data.synth.schools import pumpurs_out_counties
from evaltools.data.checks import check_table

SEED = 20240901
PUMPURS_TABLES = ("risk_scores", "support_plans", "support_measures", "plan_risk_types", "pumpurs_schools")


@pytest.fixture(scope="module")
def synth():
    return generate("sample", seed=SEED)


def _vocational_ids(tables):
    s = tables["schools"]
    return set(s.loc[s["type"] == "vocational", "school_id"])


def _general_rows(tables, name):
    """The table without vocational schools' rows (plans: without vocational plans)."""
    df, vs = tables[name], _vocational_ids(tables)
    if "school_id" in df:
        return df[~df["school_id"].isin(vs)].reset_index(drop=True)
    if "plan_id" in df:
        plans = tables["support_plans"]
        return df[~df["plan_id"].isin(plans.loc[plans["school_id"].isin(vs), "plan_id"])].reset_index(drop=True)
    return df.reset_index(drop=True)


def test_general_rows_do_not_depend_on_the_vocational_draws(synth, monkeypatch):
    monkeypatch.setattr(voc, "VOCATIONAL_STREAM", voc.VOCATIONAL_STREAM + 1000)
    other = generate("sample", seed=SEED)
    assert not other.tables["vocational_years"].equals(synth.tables["vocational_years"])  # other draws
    for name in synth_pkg.TABLE_ORDER:
        if name == "vocational_years":
            continue
        pd.testing.assert_frame_equal(_general_rows(synth.tables, name), _general_rows(other.tables, name),
                                      obj=name)
    mine = {e["name"]: e for e in synth.truth["effects"]}
    theirs = {e["name"]: e for e in other.truth["effects"]}
    assert mine.keys() == theirs.keys()
    for name in mine:
        if name != "pumpurs_support_dropout_vocational":
            assert mine[name] == theirs[name], name


def test_vocational_students_only_in_their_own_table(synth):
    t = synth.tables
    vs = _vocational_ids(t)
    vy = t["vocational_years"]
    assert 0 < len(vs) and len(vy) > 1000
    assert set(vy["school_id"]) <= vs and not set(t["pupil_years"]["school_id"]) & vs
    for name in ("assessments", "skolas_soma", "wellbeing_pupils", "community_support"):
        key = t[name][["pupil_id", "year"]].drop_duplicates()
        assert len(key.merge(vy[["pupil_id", "year"]], on=["pupil_id", "year"])) == 0, name
    # every vocational student was a general-education pupil who left for it after grade 9
    p = t["pupils"].set_index("pupil_id").loc[vy["pupil_id"].unique()]
    assert (p["exit_status"] == "transferred").all()
    first = vy.groupby("pupil_id")["year"].min()
    assert (first == p["exit_year"].reindex(first.index) + 1).all()
    last9 = t["pupil_years"].merge(first.rename("start").reset_index(), on="pupil_id")
    last9 = last9[last9["year"] == last9["start"] - 1]
    assert (last9["grade"] == 9).all() and len(last9) == len(first)
    assert vy["course"].between(1, 4).all() and (vy["course"] <= vy["programme_years"]).all()
    # a PUMPURS record of a vocational school is a vocational student's
    plans = t["support_plans"][t["support_plans"]["school_id"].isin(vs)]
    assert len(plans.merge(vy, on=["pupil_id", "year", "school_id"])) == len(plans) > 0


def test_the_cross_table_rules_catch_a_mix_up(synth):
    t = {k: v.copy() for k, v in synth.tables.items()
         if k in ("schools", "pupils", "pupil_years", "vocational_years", "municipalities")}
    files = {k: f"{k}.parquet" for k in t}
    assert not [v for v in cross_table_violations(t, files)
                if v.rule in ("wrong_school_type", "vocational_before_exit")]
    vs = sorted(_vocational_ids(t))
    general = t["pupil_years"]["school_id"].iloc[0]
    t["pupil_years"].loc[[3, 5], "school_id"] = vs[0]
    t["vocational_years"].loc[[2], "school_id"] = general
    t["vocational_years"].loc[[7, 8, 9], "year"] = 2000
    found = {(v.table, v.rule): v for v in cross_table_violations(t, files)}
    assert found[("pupil_years", "wrong_school_type")].rows == (4, 6)
    assert found[("vocational_years", "wrong_school_type")].rows == (3,)
    assert found[("vocational_years", "vocational_before_exit")].rows == (8, 9, 10)
    ids = set(t["vocational_years"]["pupil_id"]) | set(t["pupil_years"]["pupil_id"])
    for v in found.values():  # the messages name rows, never a pupil
        assert not {w.strip(".,:()'") for w in f"{v.message} {v.hint}".split()} & ids


def test_schema_rules_of_the_school_type_and_course(synth):
    schools = synth.tables["schools"].copy()
    assert check_table(schools, "schools", "s")[1] == []
    general = schools.index[schools["type"] != "vocational"][:2]
    schools.loc[general, "grade_max"] = 13
    [v] = check_table(schools, "schools", "s")[1]
    assert v.rule == "general_grades" and v.rows == tuple(int(i) + 1 for i in general)
    vy = synth.tables["vocational_years"].head(50).copy()
    vy.loc[4, ["course", "programme_years"]] = [4, 3]
    [v] = check_table(vy, "vocational_years", "v")[1]
    assert v.rule == "course_in_programme" and v.rows == (5,)


def test_school_frame_at_each_scale():
    mun = municipalities_frame()
    frame = voc.vocational_frame(voc.vocational_rng(SEED, "frame"), mun)
    assert len(frame) == sum(voc.STATE_CITY_SCHOOLS.values()) + voc.COUNTY_SCHOOLS == 44
    cities = set(mun.loc[mun["kind"] == "state_city", "municipality_id"])
    assert (frame["municipality_id"].isin(cities)).sum() == 25
    assert frame.loc[~frame["municipality_id"].isin(cities), "municipality_id"].nunique() == voc.COUNTY_SCHOOLS
    sample = voc.select_vocational(frame, mun, config_for("sample", SEED))
    per_region = sample.groupby("_region").size()
    assert per_region.drop("Rīga").eq(1).all() and per_region["Rīga"] == 2
    region = voc.select_vocational(frame, mun, config_for("region", SEED))
    assert set(region["_region"]) == {"Latgale"} and len(region) == (frame["_region"] == "Latgale").sum()
    out = pumpurs_out_counties(np.random.default_rng([SEED, 2]))
    part = voc.vocational_pumpurs(voc.vocational_rng(SEED, "pumpurs"), frame, out)
    joined = frame["municipality_id"][part["rollout_year"].notna().to_numpy()]
    assert not set(joined) & set(out) and set(part["rollout_year"].dropna().astype(int)) <= set(voc.ROLLOUT_YEARS)


def test_the_vocational_truth_counts_are_the_tables(synth):
    t = synth.truth
    e = next(x for x in t["effects"] if x["name"] == "pumpurs_support_dropout_vocational")
    r = e["realised"]
    vs = _vocational_ids(synth.tables)
    plans = synth.tables["support_plans"][synth.tables["support_plans"]["school_id"].isin(vs)]
    meas = synth.tables["support_measures"][synth.tables["support_measures"]["plan_id"].isin(plans["plan_id"])]
    assert r["plans"] == len(plans) and r["plans_taken_up"] == int(plans["taken_up"].sum())
    assert r["students_with_plan"] == plans["pupil_id"].nunique()
    assert r["institutions"] == plans["school_id"].nunique()
    assert r["n_supported_student_years"] == int(plans["taken_up"].sum())
    assert r["cost_eur_total"] == pytest.approx(meas["cost_eur"].sum(), abs=0.01)
    assert r["cost_per_prevented_dropout_eur"] == pytest.approx(r["cost_eur_total"] / r["prevented_dropouts"], rel=1e-5)
    vy = synth.tables["vocational_years"]
    rate = vy.groupby("course")["status"].apply(lambda s: (s == "left_early").mean())
    assert r["leaving_rate_by_course"] == {str(k): pytest.approx(v, abs=1e-6) for k, v in rate.items()}
    assert e["true_value"] == t["parameters"]["vocational_tau0"]
    # vocational early leaving is far above the general secondary grades'
    py = synth.tables["pupil_years"]
    secondary = (py.loc[py["grade"].between(10, 12), "status"] == "left_early").mean()
    assert rate[1] > 3 * secondary
    # plan numbers continue after the general schools' (no id used twice)
    assert synth.tables["support_plans"]["plan_id"].is_unique


def test_the_vocational_truth_is_recovered(synth):
    """The logit ``how_to_recover`` names, on the public tables: the support coefficient's 95 % interval
    covers the stored log odds ratio (a 5 % chance of a false alarm at a fixed seed)."""
    import statsmodels.formula.api as smf

    t = synth.tables
    e = next(x for x in synth.truth["effects"] if x["name"] == "pumpurs_support_dropout_vocational")
    thr = e["parameters"]["threshold"]
    rs = t["risk_scores"][t["risk_scores"]["semester"] == 1][["pupil_id", "year", "score"]]
    d = t["vocational_years"].merge(rs, on=["pupil_id", "year"])  # PUMPURS years only
    d = d.merge(t["support_plans"][["pupil_id", "year", "taken_up"]], on=["pupil_id", "year"], how="left")
    roll = t["pumpurs_schools"].set_index("school_id")["rollout_year"]
    d = d.assign(y=(d["status"] == "left_early").astype(int), D=d["taken_up"].eq(True).astype(int),
                 s10=(d["score"] - 50) / 10, above=(d["score"] - thr) / 10,
                 k=d["year"] - d["school_id"].map(roll).astype(int))
    fit = smf.logit("y ~ C(course) + year + s10 + D + D:above + D:k", data=d).fit(disp=0)
    lo, hi = fit.conf_int().loc["D"]
    assert lo <= e["true_value"] <= hi, (fit.params["D"], lo, hi)
    naive = smf.logit("y ~ D", data=d).fit(disp=0).params["D"]
    assert naive > fit.params["D"]  # the naive comparison is biased upward, as stored
