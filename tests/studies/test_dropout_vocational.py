"""PUMPURS for vocational-school students, reported apart from the study's population (issue 17 §1).

No kernel: the study's functions on a synthetic data set with vocational students (``data/sample``
when it has ``vocational_years``, else ``DP_DATA_DIR``, else a sample generated here, about 15 s).
Truths come from the data set's ``true_effects.json``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaltools.data import load_dataset
from evaltools.data.synth import generate, write
from evaltools.studies import dropout_prevention as dropout
from evaltools.studies.dropout_prevention import frames
from tests import ROOT


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    for d in (os.environ.get("DP_DATA_DIR"), ROOT / "data" / "sample"):
        if d and (Path(d) / "vocational_years.parquet").exists():
            return Path(d)
    return write(generate("sample", seed=20240901), tmp_path_factory.mktemp("voc") / "sample")


@pytest.fixture(scope="module")
def ds(data_dir):
    return load_dataset(data_dir, needs=dropout.NEEDS, optional=dropout.OPTIONAL, rows=dropout.ROWS)


@pytest.fixture(scope="module")
def data(ds):
    return dropout.prepare(ds)


def _truth(ds, name="pumpurs_support_dropout_vocational"):
    return dropout.effect_truth(ds.truth, name)


def test_the_study_population_is_untouched(ds, data):
    plain = frames.prepare(ds)  # without the vocational frames
    pd.testing.assert_frame_equal(plain.pupil_years, data.pupil_years)
    assert plain.counts() == data.counts()
    # no vocational student's year is a pupil-year of the study
    voc = data.vocational.years[["pupil_id", "year"]]
    assert len(voc.merge(data.pupil_years[["pupil_id", "year"]], on=["pupil_id", "year"])) == 0


def test_programme_totals_are_the_stored_ones(ds, data):
    totals = dropout.programme_totals(data.vocational)
    real = _truth(ds)["realised"]
    v = totals.loc["vocational"]
    assert (v["plans"], v["taken_up"], v["pupils"], v["institutions"]) == (
        real["plans"], real["plans_taken_up"], real["students_with_plan"], real["institutions"])
    plans = ds["support_plans"]
    assert totals["plans"].sum() == len(plans) and totals["taken_up"].sum() == int(plans["taken_up"].sum())
    both = dropout.pupils_in_all(data.vocational)
    assert both["pupils"] == plans["pupil_id"].nunique()
    assert both["pupils"] == totals["pupils"].sum() - both["both"] and both["both"] > 0


def test_leaving_by_course_is_the_stored_rate(ds, data):
    table = dropout.leaving_by_course(data.vocational)
    stored = _truth(ds)["realised"]["leaving_rate_by_course"]
    for course, rate in stored.items():
        assert table.at[course, "rate"] == pytest.approx(100 * rate, abs=1e-4)
    assert table.at["all", "student_years"] == table.drop(index="all")["student_years"].sum()


def test_the_vocational_effect_recovers_the_truth(ds, data):
    est = dropout.vocational_effect(data)
    table = dropout.truth_comparison(ds.truth, data, {"vocational_log_or": est["log_or"],
                                                      "vocational_att": est["att"]})
    assert set(table.index) == {"vocational_log_or", "vocational_att"}
    assert table["covered"].all(), table
    assert table.at["vocational_log_or", "truth"] == _truth(ds)["true_value"]


def test_a_region_without_vocational_support_and_an_extract_without_the_table(ds, data_dir):
    region = dropout.prepare(ds, region="Latgale")
    assert set(region.vocational.years["school_id"]) <= set(
        ds["schools"].merge(ds["municipalities"], on="municipality_id").query("region == 'Latgale'")["school_id"])
    plain = load_dataset(data_dir, needs=dropout.NEEDS, optional={"risk_scores": dropout.OPTIONAL["risk_scores"]},
                         rows=dropout.ROWS)
    none = dropout.prepare(plain)
    assert none.vocational is None and dropout.vocational_effect(none) is None


def test_small_counts_are_protected():
    leaving = pd.DataFrame({"student_years": [400, 300, 12], "left_early": [40, 3, 1]},
                           index=pd.Index(["1", "2", "3"], name="course"))
    leaving.loc["all"] = leaving.sum()
    leaving["rate"] = 100 * leaving["left_early"] / leaving["student_years"]
    totals = pd.DataFrame({"plans": [500, 4], "taken_up": [300, 2], "pupils": [200, 3], "institutions": [20, 1],
                           "municipalities": [9, 1]}, index=pd.Index(list(dropout.GROUPS), name="group"))
    out = dropout.vocational_tables(totals, leaving, threshold=10)
    lv = out["vocational_leaving"]
    assert lv.hidden.at["2", "left_early"] and lv.hidden.at["2", "rate"]
    assert not lv.hidden.at["1", "rate"] and np.isclose(lv.data.at["1", "rate"], 10.0)
    assert out["programme_totals"].hidden.loc["vocational", ["plans", "taken_up", "pupils"]].all()
