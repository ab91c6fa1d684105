"""Issue 15, item 1: cohort completion, early-leaving equity gaps with intervals, the pass mark as
a parameter, years without an exam shown as such; and the PDF's figures as vectors. Checked on
the shipped sample against computations written here from the raw tables (no kernel)."""
import base64

import numpy as np
import pandas as pd
import pytest

from evaltools.data import load_dataset
from evaltools.estimate.bounded_intervals import rate_difference, wilson
from evaltools.report.pdf import vector_figures
from evaltools.studies import municipal_quality as study
from evaltools.studies.municipal_quality import chapters as ch
from evaltools.studies.municipal_quality import comparison as cmp
from tests import ROOT

SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def data():
    return load_dataset(SAMPLE, needs=study.NEEDS, rows=study.ROWS)


def _levels(data, name, first, last):
    area = study.prepare(data, name, first, last)
    return area, ch.levels(data, area, total_label=area.name or "Latvija", region_label=lambda r: f"{r} (reģions)",
                           latvia_label="Latvija")


def test_cohort_completion_follows_grade_5_pupils_to_grade_9(data):
    area, lv = _levels(data, "Cēsu novads", 2020, 2023)
    table = ch.cohort_completion(data, lv)
    py = pd.read_parquet(SAMPLE / "pupil_years.parquet")
    schools = pd.read_parquet(SAMPLE / "schools.parquet")
    own = set(schools.loc[schools["municipality_id"] == area.municipality_id, "school_id"])
    for year in (2020, 2023):
        start = py[(py["grade"] == 5) & (py["year"] == year - 4)]
        first = py[py["grade"] == 5].sort_values("year", kind="stable").drop_duplicates("pupil_id")
        start = start[start["pupil_id"].isin(first.loc[first["year"] == year - 4, "pupil_id"])]
        start = start[start["school_id"].isin(own)]
        later = py[py["pupil_id"].isin(start["pupil_id"]) & py["year"].between(year - 4, year)]
        done = set(later.loc[(later["grade"] >= 9) & (later["status"] != "left_early"), "pupil_id"])
        left = set(later.loc[later["status"] == "left_early", "pupil_id"]) - done
        row = table.loc[("Cēsu novads", year)]
        assert row["cohort"] == len(start) > 0
        assert row["completed"] == len(done) and row["left_early"] == len(left)
        assert row[["completed", "left_early", "still_in_school", "not_followed"]].sum() == row["cohort"]
        assert row["completed_pct"] == pytest.approx(100 * len(done) / len(start))
    # Latvia's rows hold every municipality's cohort
    assert table.loc[("Latvija", 2021), "cohort"] > table.loc[("Cēsu novads", 2021), "cohort"]


def test_cohorts_that_began_before_the_data_are_empty_not_zero(data):
    _, lv = _levels(data, "all", 2014, 2019)
    table = ch.cohort_completion(data, lv)
    first_year = int(pd.read_parquet(SAMPLE / "pupil_years.parquet")["year"].min())
    early = [y for y in lv.years if y - 4 < first_year]
    assert early and all(table.loc[("Latvija", y), "cohort"] == 0 for y in early)
    assert table.loc[[("Latvija", y) for y in early], "completed_pct"].isna().all()
    assert table.loc[("Latvija", first_year + 4), "completed_pct"] > 50


def test_rate_difference_is_newcombes_interval_and_stays_in_range():
    y = np.r_[np.ones(5), np.zeros(95), np.ones(2), np.zeros(98)]
    a = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    g = np.arange(200)  # every pupil their own cluster: design effect 1
    e = rate_difference(y, a, g, icc=0.0, scale=100)
    (la, ua), (lb, ub) = wilson(0.05, 100), wilson(0.02, 100)
    assert e.estimate == pytest.approx(3.0)
    assert e.ci_low == pytest.approx(100 * (0.03 - np.hypot(0.05 - la, ub - 0.02)))
    assert e.ci_high == pytest.approx(100 * (0.03 + np.hypot(ua - 0.05, 0.02 - lb)))
    # every pupil of A leaving, nobody of B, in two schools: inside -100..100 all the same
    y2, a2 = np.r_[np.ones(6), np.zeros(6)], np.r_[np.ones(6, bool), np.zeros(6, bool)]
    e2 = rate_difference(y2, a2, np.r_[["s1"] * 6, ["s2"] * 6], icc=0.3, scale=100)
    assert -100 <= e2.ci_low <= e2.estimate == 100 <= e2.ci_high <= 100
    # clustering widens the interval
    wide = rate_difference(y, a, np.repeat(["s1", "s2", "s3", "s4"], 50), icc=0.1, scale=100)
    assert wide.ci_high - wide.ci_low > e.ci_high - e.ci_low


def test_early_leaving_gaps_match_the_raw_rates_and_withhold_small_groups(data):
    area = study.prepare(data, "all", 2020, 2023)
    gaps = cmp.early_leaving_gaps(data, area, threshold=10)
    py = pd.read_parquet(SAMPLE / "pupil_years.parquet")
    py = py[py["year"].between(2020, 2023) & py["grade"].between(5, 12)]
    pupils = pd.read_parquet(SAMPLE / "pupils.parquet")
    f = py.merge(pupils[["pupil_id", "sex"]], on="pupil_id")
    girls, boys = f[f["sex"] == "F"], f[f["sex"] == "M"]
    row = gaps.loc["sex"]
    assert row["n_a"] == len(girls) and row["left_a"] == (girls["status"] == "left_early").sum()
    assert row["rate_b"] == pytest.approx(100 * (boys["status"] == "left_early").mean())
    assert row["gap"] == pytest.approx(row["rate_a"] - row["rate_b"])
    assert row["ci_low"] < row["gap"] < row["ci_high"]
    assert (gaps["ci_low"].dropna() >= -100).all() and (gaps["ci_high"].dropna() <= 100).all()
    # a municipality's groups with fewer leavers than the threshold get no gap at all
    small = cmp.early_leaving_gaps(data, study.prepare(data, "Rēzekne", 2020, 2023), threshold=10)
    few = (small[["left_a", "left_b"]].lt(10) & small[["left_a", "left_b"]].gt(0)).any(axis=1)
    assert few.any() and small.loc[few, ["gap", "ci_low", "ci_high"]].isna().all().all()


def test_published_gap_is_hidden_with_any_hidden_leaver_count(data):
    area = study.prepare(data, "Valmieras novads", 2020, 2023)
    res = study.headline(data, area, total_label=area.name, latvia_label="Latvija", rate_label="r",
                         region_label=lambda r: f"{r} (reģions)", threshold=10, chapters=True)
    t = res.published.chapters["leaving_gaps"]
    hidden = t.hidden[["left_a", "left_b"]].any(axis=1)
    assert hidden.any()
    assert t.hidden.loc[hidden, ["gap", "ci_low", "ci_high"]].all().all()
    assert t.hidden.loc[t.hidden["left_a"], "rate_a"].all()


def test_pass_mark_is_a_parameter_of_the_exam_tables(data):
    area = study.prepare(data, "all", 2020, 2023)
    lv = ch.levels(data, area, total_label="Latvija", region_label=None, latvia_label="Latvija")
    low, high = ch.exams(data, lv, "ce9", pass_mark=10.0), ch.exams(data, lv, "ce9", pass_mark=40.0)
    a = pd.read_parquet(SAMPLE / "assessments.parquet")
    math = a[(a["test"] == "ce9") & (a["subject"] == "math") & (a["year"] == 2022)]
    assert high.at[("Latvija", 2022), "below_math"] == pytest.approx(100 * (math["score"] < 40).mean())
    assert high.at[("Latvija", 2022), "below_math"] > low.at[("Latvija", 2022), "below_math"]
    res = study.headline(data, area, total_label="Latvija", latvia_label="Latvija", rate_label="r", threshold=10,
                         chapters=True, pass_mark=40.0)
    assert res.published.notes["pass_mark"] == 40.0
    shown = res.published.chapters["ce9_by_year"].data
    assert shown.at[("Latvija", 2022), "below_math"] == pytest.approx(high.at[("Latvija", 2022), "below_math"], abs=0.05)


def test_years_without_an_exam_are_named_and_empty_not_averaged(data):
    area = study.prepare(data, "Cēsu novads", 2018, 2021)
    res = study.headline(data, area, total_label=area.name, latvia_label="Latvija", rate_label="r",
                         region_label=lambda r: f"{r} (reģions)", threshold=10, chapters=True)
    a = pd.read_parquet(SAMPLE / "assessments.parquet")
    sat = set(a.loc[a["test"] == "ce9", "year"])
    missing = [y for y in range(2018, 2022) if y not in sat]
    assert missing and res.published.notes["ce9_missing"] == missing
    t = res.published.chapters["ce9_by_year"].data
    for label in t.index.get_level_values(0).unique():
        for y in missing:
            assert t.at[(label, y), "sitters"] == 0
            assert pd.isna(t.loc[(label, y), ["mean_math", "below_math"]]).all()
    # the period's mean is over the years with the exam only: the sitters add up to the table's
    years = [y for y in range(2018, 2022) if y not in missing]
    total = res.published.indicators.data.at[area.name, "ce9_n"]
    assert sum(t.at[(area.name, y), "sitters"] for y in years) == total


def test_pdf_prints_published_figures_as_their_svg(tmp_path):
    figures = tmp_path / "figures"
    figures.mkdir()
    png = b"\x89PNG\r\n\x1a\n" + b"fake-png-bytes"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
    (figures / "trend.png").write_bytes(png)
    (figures / "trend.svg").write_bytes(svg)
    lonely = b"\x89PNG\r\n\x1a\nno-svg"
    (figures / "lonely.png").write_bytes(lonely)
    other = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nnot-a-figure").decode()
    html = (f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}"><img src="{other}">'
            f'<img src="data:image/png;base64,{base64.b64encode(lonely).decode()}">')
    out = vector_figures(html, figures)
    assert f'data:image/svg+xml;base64,{base64.b64encode(svg).decode()}' in out
    assert other in out and out.count("data:image/png") == 2  # no SVG beside: left as it is
    assert vector_figures(html, tmp_path / "none") == html
