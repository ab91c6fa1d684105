"""Education-quality indicators, recomputed independently from the raw sample tables."""

import pandas as pd
import pytest

from evaltools import indicators
from evaltools.data import load_dataset
from tests import ROOT

DATA = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def data():
    return load_dataset(DATA, tables=["assessments"])


def _raw(data, first, last):
    py = pd.read_parquet(DATA / "pupil_years.parquet")
    py = py[py["year"].between(first, last)]
    schools = pd.read_parquet(DATA / "schools.parquet")
    return py.merge(schools[["school_id", "municipality_id"]], on="school_id")


def test_latvia_table_matches_direct_computation_and_adds_up(data):
    area = indicators.select_area(data, "all", 2020, 2023)
    table = indicators.indicator_table(data, area, total_label="Latvia")
    raw = _raw(data, 2020, 2023)
    risk = raw[raw["grade"].between(5, 12)]
    total = table.loc["Latvia"]
    assert total["pupils"] == raw["pupil_id"].nunique()
    assert total["pupil_years"] == len(raw)
    assert total["left_early"] == (risk["status"] == "left_early").sum()
    assert total["early_leaving_pct"] == pytest.approx(100 * (risk["status"] == "left_early").mean())
    assert total["absences_mean"] == pytest.approx(raw["absences"].mean())
    # the repetition share's numerator is a published count, so disclosure control can protect it
    assert total["repeated"] == raw["repeated"].sum()
    assert total["repeated_pct"] == pytest.approx(100 * total["repeated"] / total["pupil_years"])
    assert indicators.NUMERATORS["repeated_pct"] == "repeated" and "repeated" in indicators.COUNT_COLUMNS
    units = table.drop(index="Latvia")
    assert len(units) == 43
    for col in ["pupils", "pupil_years", "pupil_years_5_12", "left_early", "repeated", "ce9_n", "ce12_n"]:
        assert units[col].sum() == total[col], col


def test_exam_means_average_each_sitters_subjects(data):
    area = indicators.select_area(data, "all", 2020, 2023)
    table = indicators.indicator_table(data, area, total_label="Latvia")
    a = pd.read_parquet(DATA / "assessments.parquet")
    raw = _raw(data, 2020, 2023)
    ce9 = a[(a["test"] == "ce9") & a["year"].between(2020, 2023)]
    ce9 = ce9.merge(raw[["pupil_id", "year"]], on=["pupil_id", "year"])
    per_pupil = ce9.groupby(["pupil_id", "year"])["score"].mean()
    assert table.loc["Latvia", "ce9_n"] == len(per_pupil)
    assert table.loc["Latvia", "ce9_mean"] == pytest.approx(per_pupil.mean())


def test_one_municipality_is_reported_by_school(data):
    name = data["municipalities"]["name"].iloc[10]
    area = indicators.select_area(data, name.upper(), 2016, 2019)  # case does not matter
    assert area.unit == "school" and area.name == name and area.period == "2016/17–2019/20"
    table = indicators.indicator_table(data, area, total_label=name)
    mid = area.municipality_id
    schools = data["schools"]
    assert set(table.index) - {name} <= set(schools.loc[schools["municipality_id"] == mid, "name"])
    raw = _raw(data, 2016, 2019)
    assert table.loc[name, "pupil_years"] == (raw["municipality_id"] == mid).sum()


def test_trend_by_year(data):
    area = indicators.select_area(data, "all", 2014, 2023)
    trend = indicators.early_leaving_by_year(data, area)
    raw = _raw(data, 2014, 2023)
    risk = raw[raw["grade"].between(5, 12)]
    direct = risk.groupby("year")["status"].apply(lambda s: 100 * (s == "left_early").mean())
    pd.testing.assert_series_equal(trend["early_leaving_pct"], direct, check_names=False)


def test_bad_area_parameters_are_explained(data):
    with pytest.raises(indicators.UnknownAreaError, match="Did you mean 'Valmieras novads'"):
        indicators.select_area(data, "Valmieras nvads", 2020, 2023)
    with pytest.raises(ValueError, match="must lie within the school years of the data, 2014-2023"):
        indicators.select_area(data, "all", 2010, 2013)
