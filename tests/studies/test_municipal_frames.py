"""Schools that share a name (a city and the county around it: "Jelgavas 1. vidusskola" in
Jelgava and in Jelgavas novads, as in the national-scale data) keep apart in every table
that names schools, and the per-run frames give the same numbers as the tables they replace.

At national scale every municipal run failed with ``protect(): row labels and column names must
be unique``: value added (all of Latvia's schools) was indexed by school name. A small synthetic
data set, no kernel."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaltools.data.io import Dataset
from evaltools.report import disclosure
from evaltools.studies.municipal_quality import chapters, comparison, frames, indicators

SHARED = "Jelgavas 1. vidusskola"


def _synthetic(seed: int = 3) -> Dataset:
    """14 schools in 3 municipalities: SHARED in both Jelgava and Jelgavas novads, and
    "Lauku pamatskola" twice in Jelgavas novads; 30 pupils per school sitting the grade-6
    diagnostic in 2017 and the grade-9 exam in 2020."""
    rng = np.random.default_rng(seed)
    munis = pd.DataFrame({"municipality_id": ["M1", "M2", "M3"], "name": ["Jelgava", "Jelgavas novads", "Dobeles novads"],
                          "kind": ["state_city", "county", "county"], "region": ["Zemgale"] * 3})
    names = [SHARED, "Jelgavas 2. vidusskola", "Jelgavas 3. vidusskola",
             SHARED, "Lauku pamatskola", "Lauku pamatskola", "Ozolu skola", "Bērzu skola",
             "Dobeles 1. vidusskola", "Dobeles 2. vidusskola", "Auces skola", "Penkules skola", "Bēnes skola", "Naudītes skola"]
    mids = ["M1"] * 3 + ["M2"] * 5 + ["M3"] * 6
    schools = pd.DataFrame({"school_id": [f"S{i:02d}" for i in range(len(names))], "municipality_id": mids, "name": names,
                            "urban": [m == "M1" for m in mids], "language": "latvian"})
    pupils, years, scores = [], [], []
    for s, sid in enumerate(schools["school_id"]):
        effect = rng.normal(0, 3)
        for k in range(30):
            pid = f"P{s:02d}{k:03d}abcdef"
            ses = rng.normal()
            pupils.append({"pupil_id": pid, "sex": "F" if k % 2 else "M", "special_needs": k % 10 == 0, "ses_index": ses})
            for year, grade in ((2017, 6), (2018, 7), (2019, 8), (2020, 9)):
                left = year == 2020 and k % 15 == 0
                years.append({"pupil_id": pid, "year": year, "school_id": sid, "grade": grade,
                              "absences": int(rng.integers(0, 30)), "repeated": k % 29 == 0,
                              "status": "left_early" if left else "enrolled"})
            d6 = 60 + 5 * ses + rng.normal(0, 8)
            for subject in ("math", "latvian", "science"):
                scores.append({"pupil_id": pid, "year": 2017, "test": "diag6", "subject": subject,
                               "score": float(np.clip(d6 + rng.normal(0, 4), 0, 100))})
            for subject in ("math", "latvian", "english"):
                scores.append({"pupil_id": pid, "year": 2020, "test": "ce9", "subject": subject,
                               "score": float(np.clip(0.8 * d6 + effect + rng.normal(0, 6), 0, 100))})
    tables = {"municipalities": munis, "schools": schools, "pupils": pd.DataFrame(pupils),
              "pupil_years": pd.DataFrame(years), "assessments": pd.DataFrame(scores)}
    return Dataset(path=Path("synthetic"), tables=tables)


@pytest.fixture(scope="module")
def data():
    return _synthetic()


def test_school_labels_are_unique_and_say_where_a_shared_name_is(data):
    labels = frames.school_labels(data)
    assert labels.is_unique and len(labels) == len(data["schools"])
    assert labels["S00"] == f"{SHARED} (Jelgava)" and labels["S03"] == f"{SHARED} (Jelgavas novads)"
    # the same name twice in one municipality: numbered in the order of the school codes
    assert labels["S04"] == "Lauku pamatskola (Jelgavas novads) (1)"
    assert labels["S05"] == "Lauku pamatskola (Jelgavas novads) (2)"
    assert labels["S01"] == "Jelgavas 2. vidusskola"  # a name of its own is left as it is


def test_value_added_of_all_schools_can_be_protected(data):
    """The national-scale failure: value added is indexed by school, over all of Latvia."""
    area = indicators.select_area(data, "Jelgava", 2020, 2020)
    va = comparison.value_added(data, area, rank_draws=200)
    assert va.index.is_unique and len(va) == len(data["schools"])
    table = disclosure.protect(va, ["n"], denominators={c: "n" for c in va.columns if c != "n"}, threshold=5,
                               total_row=None, total_col=None)
    assert f"{SHARED} (Jelgava)" in table.data.index


def test_schools_of_one_name_in_one_municipality_stay_two_rows(data):
    area = indicators.select_area(data, "Jelgavas novads", 2017, 2020)
    table = indicators.indicator_table(data, area, total_label="Jelgavas novads")
    assert len(table) == 5 + 1  # five schools and the total row (two of them were one row)
    assert table.loc["Lauku pamatskola (Jelgavas novads) (1)", "pupil_years"] == 30 * 4
    assert table.drop(index="Jelgavas novads")["pupil_years"].sum() == table.loc["Jelgavas novads", "pupil_years"]


def test_frames_give_the_numbers_of_a_direct_computation(data):
    """The per-run frames (built once) against the tables, merged here by hand."""
    area = indicators.select_area(data, "Jelgava", 2020, 2020)
    frame = indicators.pupil_years(data, area)
    ce9 = indicators.exam_scores(data, frame, "ce9")
    a = data["assessments"]
    direct = a[a["test"] == "ce9"].groupby(["pupil_id", "year"])["score"].mean()
    own = data["pupil_years"].merge(data["schools"], on="school_id")
    own = own[(own["municipality_id"] == "M1") & (own["year"] == 2020)]
    direct = direct[direct.index.get_level_values("pupil_id").isin(own["pupil_id"])]
    assert len(ce9) == len(direct) == 90
    assert ce9["score"].mean() == pytest.approx(direct.mean())
    lv = chapters.levels(data, area, total_label="Jelgava", region_label=None, latvia_label="Latvija")
    exams = chapters.exams(data, lv, "ce9", pass_mark=50.0)
    math = a[(a["test"] == "ce9") & (a["subject"] == "math")]
    math = math[math["pupil_id"].isin(own["pupil_id"])]
    assert exams.at[("Jelgava", 2020), "mean_math"] == pytest.approx(math["score"].mean())
    assert exams.at[("Jelgava", 2020), "below_math"] == pytest.approx(100 * (math["score"] < 50).mean())
    # a replaced table is never served from the frames built before
    changed = Dataset(path=data.path, tables=dict(data.tables))
    frames.pupil_base(changed)
    changed.tables["assessments"] = a.assign(score=a["score"] / 2)
    again = indicators.exam_scores(changed, indicators.pupil_years(changed, area), "ce9")
    assert again["score"].mean() == pytest.approx(direct.mean() / 2)
