"""PUMPURS as it really ran, in the synthetic data (issue 17 §1).

* grades 1-4 are served from the 2021/22 school year (``year`` 2021), grades 5-12 from the roll-out;
  plans run to the end of 2023 (semester 1 of 2023/24);
* 41 of the 43 municipalities take part, the same two counties left out at every scale, and
  about 550 of the national frame's general-education schools join;
* the stored truths of the dropout study are over its population (grades 5-12): the prevented
  dropouts and the cost per prevented dropout leave out grade 1-4 plans, whose cost is stored apart.

The sample is generated here (about 5 s), so the tests hold before ``data/sample`` is regenerated;
the numbers they compare with come from the generator's constants and from the tables themselves.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaltools.data.synth import generate
from evaltools.data.synth.config import config_for
from evaltools.data.synth.pupils import PUMPURS_GRADES, PUMPURS_GRADES_1_4_FROM, PUMPURS_LAST_YEAR
from evaltools.data.synth.schools import (PUMPURS_MUNICIPALITIES_OUT, national_frame, pumpurs_frame,
                                          select_schools)

SEED = 20240901


@pytest.fixture(scope="module")
def synth():
    return generate("sample", seed=SEED)


def _general_plans(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Plans of general-education schools (vocational students' plans are tested in test_synth_vocational)."""
    vocational = tables["schools"].loc[tables["schools"]["type"] == "vocational", "school_id"]
    return tables["support_plans"][~tables["support_plans"]["school_id"].isin(vocational)]


def _plans_with_grade(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return _general_plans(tables).merge(tables["pupil_years"][["pupil_id", "year", "grade"]],
                                        on=["pupil_id", "year"], how="left", validate="one_to_one")


def test_grades_1_4_are_served_from_2021_and_plans_run_to_2023(synth):
    plans = _plans_with_grade(synth.tables)
    assert plans["grade"].notna().all()
    young = plans[plans["grade"] < PUMPURS_GRADES[0]]
    old = plans[plans["grade"] >= PUMPURS_GRADES[0]]
    assert len(young) > 0 and young["year"].min() == PUMPURS_GRADES_1_4_FROM
    assert old["year"].min() < PUMPURS_GRADES_1_4_FROM  # grades 5-12 from the first roll-out year
    assert plans["year"].max() == PUMPURS_LAST_YEAR == 2023
    # every grade 1-12 is served in the years grades 1-4 are, each with plans at the threshold or above
    served = set(plans.loc[plans["year"] >= PUMPURS_GRADES_1_4_FROM, "grade"].astype(int))
    assert served == set(range(1, 13))
    assert (plans["risk_score"] >= 60).all()
    # risk scores are recorded for the served grades too (one per semester)
    # an inner join: vocational students' scores have no pupil-year
    rs = synth.tables["risk_scores"].merge(synth.tables["pupil_years"][["pupil_id", "year", "grade"]],
                                           on=["pupil_id", "year"])
    assert rs.loc[rs["grade"] < 5, "year"].min() == PUMPURS_GRADES_1_4_FROM


def test_41_of_43_municipalities_take_part_the_same_ones_at_every_scale():
    cfg = config_for("national", SEED)
    mun, frame = national_frame(np.random.default_rng([SEED, 1]), cfg.national_pupils)
    national = pumpurs_frame(np.random.default_rng([SEED, 2]), frame)
    joined = frame.loc[national["rollout_year"].notna().to_numpy()]
    assert joined["municipality_id"].nunique() == len(mun) - PUMPURS_MUNICIPALITIES_OUT == 41
    assert 500 <= len(joined) <= 600  # about 550 general-education schools (599 institutions incl. vocational)
    left_out = set(mun["municipality_id"]) - set(joined["municipality_id"])
    assert set(mun.loc[mun["municipality_id"].isin(left_out), "kind"]) == {"county"}
    sample = select_schools(frame, mun, config_for("sample", SEED))
    part = pumpurs_frame(np.random.default_rng([SEED, 2]), sample)
    in_sample = sample.loc[part["rollout_year"].notna().to_numpy(), "municipality_id"]
    assert not set(in_sample) & left_out  # the same counties stay out of the sample's PUMPURS
    assert set(part["rollout_year"].dropna().astype(int)) == {2017, 2018, 2019, 2020}


def test_the_dropout_truth_counts_grades_5_12_only_and_stores_grade_1_4_costs_apart(synth):
    e = next(x for x in synth.truth["effects"] if x["name"] == "pumpurs_support_dropout")
    real = e["realised"]
    general = synth.tables["support_measures"]["plan_id"].isin(_general_plans(synth.tables)["plan_id"])
    m = synth.tables["support_measures"][general].merge(synth.tables["pupil_years"][["pupil_id", "year", "grade"]],
                                                        on=["pupil_id", "year"], how="left")
    young_cost = m.loc[m["grade"] < PUMPURS_GRADES[0], "cost_eur"].sum()
    assert young_cost > 0
    assert real["cost_eur_grades_1_4"] == pytest.approx(young_cost, abs=0.01)
    assert real["cost_eur_total"] == pytest.approx(m["cost_eur"].sum() - young_cost, abs=0.01)
    assert real["cost_per_prevented_dropout_eur"] == pytest.approx(
        real["cost_eur_total"] / real["prevented_dropouts"], rel=1e-5)
    assert real["n_supported_pupil_years_grades_1_4"] > 0
    plans = _plans_with_grade(synth.tables)
    taken_5_12 = plans[plans["taken_up"] & (plans["grade"] >= PUMPURS_GRADES[0])]
    assert real["n_supported_pupil_years"] == len(taken_5_12)
    assert str(PUMPURS_LAST_YEAR) in e["population"]


def test_the_exam_null_is_recovered_on_first_sittings(synth):
    """The stored null effect on exam scores, by the model its ``how_to_recover`` names: first sittings
    only (support lowers repeating, which changes who retakes), the naive comparison biased down."""
    import statsmodels.formula.api as smf

    e = next(x for x in synth.truth["effects"] if x["name"] == "pumpurs_support_exams")
    assert "first sittings" in e["how_to_recover"]
    t = synth.tables
    rs, a = t["risk_scores"], t["assessments"]
    d = a[a["test"].isin(["ce9", "ce12"])].merge(rs[rs["semester"] == 1], on=["pupil_id", "year"],
                                                 suffixes=("", "_risk"))
    d = d.merge(t["support_plans"][["pupil_id", "year", "taken_up"]], on=["pupil_id", "year"], how="left")
    d = d.merge(t["pupil_years"][["pupil_id", "year", "repeated"]], on=["pupil_id", "year"])
    d = d[~d["repeated"]]
    d["D"] = d["taken_up"].astype("boolean").fillna(False).astype(int)
    d["bin"] = np.floor(d["score_risk"] / 5).astype(int)
    d["cell"] = d["test"] + "_" + d["subject"] + "_" + d["year"].astype(str)
    fit = smf.ols("score ~ D + C(bin) + C(cell)", d).fit(cov_type="cluster",
                                                         cov_kwds={"groups": pd.factorize(d["pupil_id"])[0]})
    lo, hi = fit.conf_int().loc["D"]
    assert lo <= e["true_value"] <= hi
    assert smf.ols("score ~ D + C(cell)", d).fit().params["D"] < e["true_value"]
