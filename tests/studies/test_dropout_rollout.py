"""PUMPURS as it ran (issue 17 §1) and the study's fast paths (issue 15 item 5).

* the grades served each year are read from the data (support plans joined to pupil-years); the
  placebo of grades 1-4 keeps only the years before they were served;
* the threshold design is offered only with a numeric risk score; without one the headline has
  no RD and the rating no threshold threats (the roll-out is the fallback design);
* the integer pupil code the hazard models group by gives the same fit as the text ids.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evaltools.studies import dropout_prevention as dropout
from tests.studies.test_dropout_prevention import _tiny_dataset


def _with_early_grades(first_year: int) -> dict[str, pd.DataFrame]:
    """The tiny data set with a grade-3 pupil in school A (2016-2018) and a plan for them from ``first_year``."""
    ds = _tiny_dataset()
    py = ds["pupil_years"]
    extra = pd.DataFrame({"pupil_id": ["p4"] * 3, "year": [2016, 2017, 2018], "school_id": ["A"] * 3,
                          "grade": [2, 3, 4], "absences": [3, 4, 5], "repeated": [False] * 3,
                          "status": ["enrolled"] * 3})
    ds["pupil_years"] = pd.concat([py, extra], ignore_index=True)
    ds["pupils"] = pd.concat([ds["pupils"], pd.DataFrame({"pupil_id": ["p4"], "sex": ["M"],
                                                          "special_needs": [False]})], ignore_index=True)
    plan = pd.DataFrame({"plan_id": ["PL9"], "pupil_id": ["p4"], "year": [first_year], "semester": [1],
                         "school_id": ["A"], "risk_score": [65.0], "taken_up": [True]})
    ds["support_plans"] = pd.concat([ds["support_plans"], plan], ignore_index=True)
    return ds


def test_the_grades_served_each_year_come_from_the_plans():
    data = dropout.prepare(_tiny_dataset())
    served = dropout.served_grades(data)
    assert served.to_dict("records") == [{"year": 2017, "grade": 8, "plans": 1},
                                         {"year": 2018, "grade": 12, "plans": 1}]
    assert dropout.first_served_year(data) is None and dropout.first_served_year(data, (8, 8)) == 2017


def test_the_placebo_of_grades_1_4_stops_before_they_were_served():
    data = dropout.prepare(_with_early_grades(2018))
    assert dropout.first_served_year(data) == 2018
    panel, last = dropout.placebo_panel(data)
    assert last == 2017 and set(panel["year"]) == {2016, 2017}
    whole = dropout.school_panel(data, outcome="absences", grades=(1, 4))
    assert set(whole["year"]) == {2016, 2017, 2018}  # without the restriction, the served year is in
    pd.testing.assert_frame_equal(panel, whole[whole["year"] <= 2017].reset_index(drop=True), check_like=True)
    # served from the first year on: no year left for the placebo
    panel, last = dropout.placebo_panel(dropout.prepare(_with_early_grades(2016)))
    assert last == 2015 and panel.empty


def test_never_served_grades_keep_every_year_of_the_placebo():
    data = dropout.prepare(_tiny_dataset())
    panel, last = dropout.placebo_panel(data, outcome="absences", grades=(5, 7))
    assert last is None
    pd.testing.assert_frame_equal(panel, dropout.school_panel(data, outcome="absences", grades=(5, 7)))


def test_the_threshold_design_needs_a_numeric_score():
    data = dropout.prepare(_tiny_dataset())
    assert data.notes["score_values"] == (1, 2)  # 55 below; 61 and 72 at or above the threshold
    assert not dropout.threshold_design_available(data)


@pytest.fixture(scope="module")
def sample():
    from evaltools.data import load_dataset
    from tests import ROOT

    return load_dataset(ROOT / "data" / "sample", needs=dropout.NEEDS, optional=dropout.OPTIONAL, rows=dropout.ROWS)


def test_risk_recorded_as_levels_gives_no_threshold_design_and_the_headline_says_so(sample):
    data = dropout.prepare(sample)
    assert dropout.threshold_design_available(data)
    levels = dict(sample.tables)
    rs = levels["risk_scores"].copy()
    rs["score"] = np.floor(rs["score"] / 20) * 20  # five levels, no running variable
    levels["risk_scores"] = rs
    coarse = dropout.prepare(levels)
    assert not dropout.threshold_design_available(coarse)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dropout.headline(coarse, bootstrap_reps=99, seed=1)
    assert res.rd is None and res.density is None and np.isnan(res.gap)
    assert res.att.ci_low <= res.att.estimate <= res.att.ci_high  # the score-adjusted comparison still runs
    assert res.rollout is not None  # the fallback design
    assert res.rating.inputs["threats"] == []  # no threshold threats without the threshold design


def test_the_pupil_code_fit_equals_the_text_id_fit(sample):
    data = dropout.prepare(sample)
    p = data.pumpurs
    codes, ids = pd.factorize(p["pupil_id"])
    assert (p[dropout.PUPIL_CODE].nunique() == len(ids)
            and (pd.factorize(p[dropout.PUPIL_CODE])[0] == codes).all())  # one to one, same order
    fit, rows = dropout.support_hazard(data)
    by_text, _ = dropout.support_hazard(data, rows=p.drop(columns=[dropout.PUPIL_CODE]))
    assert fit.names["unit"] == dropout.PUPIL_CODE and by_text.names["unit"] == "pupil_id"
    pd.testing.assert_frame_equal(fit.table, by_text.table, check_exact=True)
    pd.testing.assert_frame_equal(fit.cov, by_text.cov, check_exact=True)
    a = fit.cumulative_incidence(among="treated").difference
    b = by_text.cumulative_incidence(among="treated").difference
    assert (a.estimate, a.se) == (b.estimate, b.se)


def test_score_bins_without_a_leaver_in_the_tail_are_pooled_not_fatal(sample):
    from dataclasses import replace

    data = dropout.prepare(sample)
    py = data.pupil_years.copy()
    top = py["in_pumpurs"] & (py["s1"] >= 95)
    assert top.any() and py.loc[top, "left_early"].sum() > 0
    py.loc[top, "left_early"] = 0  # nobody in the top 5-point bin leaves, as in a small area
    quiet = replace(data, pupil_years=py)
    fit, rows = dropout.support_hazard(quiet, spec="bins")
    assert "bin_7" not in rows and "bin_6" in rows  # the empty top bin joined its neighbour
    att = dropout.probability_effect(fit, rows[rows["supported"]])
    assert np.isfinite(att.estimate) and att.ci_low < att.estimate < att.ci_high
    fit, rows = dropout.support_hazard(data, spec="bins")
    assert "bin_7" in rows  # with a leaver there the bin stays its own
