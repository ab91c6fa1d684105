"""A design option the data cannot support is never changed silently (issue 12, item 8)."""
from __future__ import annotations

import warnings

import pytest

from evaltools.report import deviations
from evaltools.report.record import clear, recorded


@pytest.fixture(autouse=True)
def _clean():
    clear()
    yield
    clear()


def test_change_is_recorded_and_shown_in_the_report_language():
    notice = deviations.design_change("control_group", "never", "notyet", reason="no never-treated school",
                                      language="en")
    stored = deviations.design_changes(recorded())
    assert stored == [{"option": "control_group", "asked": "never", "used": "notyet",
                       "reason": "no never-treated school"}]
    assert "“never”" in notice.text() and "“notyet”" in notice.text()
    assert "Change to the planned analysis" in notice._repr_html_()
    lv = deviations.design_change("control_group", "never", "notyet", reason="x", language="lv")
    assert "Analīzes plāna izmaiņa" in lv._repr_html_()


def test_same_option_twice_keeps_the_last_and_others_stay():
    deviations.design_change("a", 1, 2, reason="r")
    deviations.design_change("b", "x", "y", reason="r")
    deviations.design_change("a", 1, 3, reason="r2")
    stored = deviations.design_changes(recorded())
    assert [(c["option"], c["used"]) for c in stored] == [("b", "y"), ("a", "3")]


def test_markup_and_long_values_are_escaped_and_cut():
    payload = "<svg onload=alert(1)>" + "x" * 500
    notice = deviations.design_change("region", payload, "all", reason=payload, language="en")
    page = notice._repr_html_()
    assert "<svg" not in page and "&lt;svg" in page
    assert len(deviations.design_changes(recorded())[0]["asked"]) <= 200


@pytest.mark.parametrize("option, reason", [("", "r"), ("x", ""), ("x", "   ")])
def test_a_change_needs_its_option_and_reason(option, reason):
    with pytest.raises(ValueError, match="design_change"):
        deviations.design_change(option, 1, 2, reason=reason)


def test_no_changes_when_none_recorded():
    assert deviations.design_changes({}) == []
    assert deviations.design_changes({"design_changes": {"value": "garbage"}}) == []


def test_a_region_without_never_treated_schools_falls_back_and_the_study_reports_it():
    """A region of the shipped sample with at most one never-treated school (found in the data:
    the sample moves) cannot form the never-treated comparison: the roll-out must use
    not-yet-treated schools, and fit_rollout says which group it used."""
    from evaltools.data import load_dataset
    from evaltools.studies import dropout

    ds = load_dataset("data/sample", tables=["schools", "municipalities", "pumpurs_schools"])
    s = ds["schools"].merge(ds["municipalities"][["municipality_id", "region"]], on="municipality_id")
    s = s.merge(ds["pumpurs_schools"], on="school_id", how="left")
    never = s["rollout_year"].isna().groupby(s["region"]).sum().sort_values()
    few, many = never.index[0], never.index[-1]
    assert never[few] <= 1 < never[many]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, used = dropout.fit_rollout(dropout.school_panel(
            dropout.prepare(load_dataset("data/sample"), region=few, first_year=2014, last_year=2023)), "never")
        _, used_all = dropout.fit_rollout(dropout.school_panel(
            dropout.prepare(load_dataset("data/sample"), region=many, first_year=2014, last_year=2023)), "never")
    assert used == "notyet"
    assert used_all == "never"
