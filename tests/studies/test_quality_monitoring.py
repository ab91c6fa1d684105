"""The quality_monitoring study (evaltools.studies.quality_monitoring, notebooks/quality_monitoring.ipynb):
a descriptive report, so no truth check; its statistics are tested on simulated data with known
values and its published tables against the shipped sample (recomputed from the raw tables)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evaltools.data import load_dataset
from evaltools.report import attack, disclosure, i18n
from evaltools.studies import quality_monitoring as study
from evaltools.studies.quality_monitoring import dashboard, progress, results
from tests import ROOT

NOTEBOOK = ROOT / "notebooks" / "quality_monitoring.ipynb"
DATA = ROOT / "data" / "sample"
THRESHOLD = 10


@pytest.fixture(scope="module")
def data():
    return load_dataset(DATA, needs=study.NEEDS, rows=study.ROWS, optional=study.OPTIONAL)


@pytest.fixture(scope="module")
def valmiera(data):
    """One municipality's report (every table, protected together): about 10 s."""
    disclosure.set_defaults(threshold=THRESHOLD)
    scope = study.prepare(data, municipality="Valmieras novads", year=2023)
    return scope, study.headline(data, scope, total_label="Valmieras novads", latvia_label="Latvija")


def test_a_descriptive_study_offers_prepare_and_headline_only():
    assert callable(study.prepare) and callable(study.headline)
    for verb in ("subgroups", "costs", "truth_check"):
        assert not hasattr(study, verb), verb


def test_every_message_key_the_notebook_uses_exists_in_both_languages():
    import re

    text = "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"])
    catalogue = i18n.catalogue()
    used = set(re.findall(r'"(quality_monitoring\.[a-z_.0-9]+)"', text))
    assert used and all(k in catalogue for k in used), used - set(catalogue)
    for key in (k for k in catalogue if k.startswith("quality_monitoring.")):
        assert set(catalogue[key]) == {"lv", "en"}, key


def test_the_scope_names_the_filter_and_refuses_unknown_schools_with_a_hint(data):
    scope = study.prepare(data, municipality="all", school="all", year=2023)
    assert scope.level == "latvia" and scope.unit == "municipality" and scope.years[-1] == 2023
    name = str(data["schools"]["name"].iloc[0])
    one = study.prepare(data, school=name, year=2022)
    assert one.level == "school" and one.area.municipality_id == data["schools"]["municipality_id"].iloc[0]
    with pytest.raises(study.UnknownSchoolError, match="Did you mean") as err:
        study.prepare(data, school=name[:-1] + "X", year=2023)
    assert "P0" not in str(err.value) and "S0" not in str(err.value)  # no identifier in the message
    other = data["municipalities"].loc[data["municipalities"]["municipality_id"] != one.area.municipality_id, "name"].iloc[0]
    with pytest.raises(study.UnknownSchoolError, match="is not a school of"):
        study.prepare(data, municipality=other, school=name, year=2023)
    with pytest.raises(ValueError, match="year=1999"):
        study.prepare(data, year=1999)


def test_the_diagnostic_tests_are_those_the_extract_has_and_pre_school_is_its_own_table():
    a = pd.DataFrame({"test": ["diag6", "diag3"]})
    assert results.tests_in({"assessments": a}) == ["diag3", "diag6"]
    assert results.tests_in({"assessments": pd.DataFrame({"test": ["diag6"]})}) == ["diag6"]
    assert "preschool" not in study.ROWS["assessments"]["test"]  # pre-school is read from preschool_assessments
    assert set(study.OPTIONAL) == {"preschool_assessments"}


def _linked_pupils(seed: int, delta: float, schools: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = schools * 50
    school = np.repeat([f"s{i}" for i in range(schools)], 50)
    girl = rng.random(n) < 0.5
    score3 = rng.normal(65, 12, n)
    score6 = 10 + 0.8 * score3 + delta * girl + rng.normal(0, 2, schools)[np.arange(n) // 50] + rng.normal(0, 6, n)
    return pd.DataFrame({"school_id": school, "score3": score3, "score6": score6, "sex": np.where(girl, "F", "M"),
                         "language": "latvian", "special_needs": False, "ses_index": rng.normal(0, 1, n),
                         "urban": rng.random(n) < 0.5})


def test_progress_gap_and_slope_recover_known_values():
    f = _linked_pupils(7, delta=-2.5)
    gaps = progress.progress_gaps(f, (-0.67, 0.67))
    sex = gaps.loc["sex"]
    assert sex["ci_low"] <= -2.5 <= sex["ci_high"] and sex["ci_high"] < 0
    assert sex["n_a"] + sex["n_b"] == len(f)
    slope = progress.slope(f)
    assert slope.ci_low <= 0.8 <= slope.ci_high
    # a dimension with one group empty has counts but no gap
    assert gaps.loc["language", "n_b"] == 0 and np.isnan(gaps.loc["language", "gap"])


def test_linked_pupils_are_the_same_pupils_three_years_apart(data):
    everyone = frozenset(data["schools"]["school_id"])
    f = progress.linked(data, everyone, (2022, 2023))
    a = data["assessments"]
    d3 = a[a["test"] == "diag3"].groupby(["pupil_id", "year"])["score"].mean()
    sample = f.sample(50, random_state=1)
    for pupil, year, s3 in zip(sample["pupil_id"], sample["year"], sample["score3"]):
        assert d3.loc[(pupil, year - 3)] == pytest.approx(s3)
    d6 = a[(a["test"] == "diag6") & a["year"].isin([2022, 2023])]["pupil_id"].nunique()
    assert 0.5 * d6 < f["pupil_id"].nunique() <= d6


def test_every_table_is_protected_and_no_record_can_be_attacked(valmiera):
    _, head = valmiera
    assert set(head.tables) >= {"results_preschool", "preschool_gaps", "results_diag3", "results_diag6", "gaps",
                                "progress", "progress_gaps",
                                "wellbeing_by_year", "wellbeing_weighting", "comparison_diag6", *dashboard.NAMES}
    records = {}
    for name, table in head.tables.items():
        disclosure.assert_safe(table.to_frame())
        records[name] = {"value": json.loads(json.dumps(table.to_dict(), default=str))}
    assert attack.attack_records(records, THRESHOLD) == []


def test_the_groups_of_a_gap_cannot_give_back_a_hidden_count(valmiera):
    scope, head = valmiera
    gaps, res = head.tables["gaps"], head.tables["results_diag3"]
    tested = res.data.at[("Valmieras novads", 2023), "pupils"]
    for dim in ("sex", "special_needs"):
        row = ("Valmieras novads", "diag3", dim)
        shown = [c for c in ("n_a", "n_b") if not gaps.hidden.at[row, c]]
        if len(shown) == 1 and not res.hidden.at[("Valmieras novads", 2023), "pupils"]:
            pytest.fail(f"{dim}: one group and the total shown, the other hidden: {tested} - shown gives it back")


def test_the_dashboard_adds_up_and_its_files_hold_what_the_record_holds(data, valmiera, tmp_path):
    scope, head = valmiera
    schools = head.tables[dashboard.NAMES[0]]
    counts = list(schools.counts)
    own = results.levels(data, scope, total_label="x", latvia_label="Latvija").rows[0][1]
    raw_s, raw_m = dashboard.frames(data, 2023, own, head.tests)
    assert (raw_m[counts].to_numpy() == raw_s[counts].sum().to_numpy()).all()  # the municipality = its schools
    dictionary = dashboard.dictionary(head.tests, i18n.t)
    files = dashboard.write({n: head.tables[n] for n in dashboard.NAMES}, dictionary, tmp_path)
    assert {f.name for f in files} >= {"dashboard_schools.csv", "dashboard_schools.parquet", "dashboard_dictionary.md"}
    csv = pd.read_csv(tmp_path / "dashboard_schools.csv", encoding="utf-8-sig")
    parquet = pd.read_parquet(tmp_path / "dashboard_schools.parquet")
    assert list(csv.columns) == list(parquet.columns) and len(csv) == len(schools.data)
    for col in schools.data.columns:
        hidden = schools.hidden[col].to_numpy()
        assert csv[col].isna().to_numpy()[hidden].all() and parquet[col].isna().to_numpy()[hidden].all()
    assert set(dictionary["column"]) == set(csv.columns)
    record = {"dashboard_schools": {"value": json.loads(json.dumps(schools.to_dict(), default=str))}}
    (tmp_path / "results.json").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "dashboard_schools.csv").write_bytes((tmp_path / "dashboard_schools.csv").read_bytes())
    assert attack.attack_run(tmp_path, THRESHOLD) == []


def test_shrunken_means_lie_between_the_raw_mean_and_the_models_centre(data):
    scope = study.prepare(data, year=2023)
    table, ref = study.compare.comparison(data, scope, "diag6")
    assert len(table) == data["municipalities"].shape[0]
    inside = (table["shrunken"] - table["mean"]) * (table["shrunken"] - ref["intercept"])
    assert (inside <= 1e-9).all()  # each moves from its raw mean toward the intercept, never past it
    assert abs(ref["intercept"] - ref["theta"]) < 1.0  # the centre is near Latvia's mean (points)
    assert ((table["shrinkage"] > 0) & (table["shrinkage"] < 1)).all()
    assert set(table["funnel"].unique()) <= {-1.0, 0.0, 1.0} and ref["design_effect"] >= 1


def test_weighting_changes_the_sample_mean_by_what_the_cells_say(valmiera):
    _, head = valmiera
    wt = head.tables["wellbeing_weighting"].data
    row = wt.loc[("Latvija", "pupils")]
    assert row["weighting_effect"] == pytest.approx(row["weighted_mean"] - row["mean"])
    assert 0 < row["response_pct"] < 100 and row["weighted_ci_low"] < row["weighted_mean"] < row["weighted_ci_high"]


@pytest.mark.slow  # ~15-30 s; the shipped national runs (tests/shipped.py) attack the same tables at run end
def test_the_national_dashboard_survives_the_attacker_with_latvias_total(data):
    """Modular protection (one system per municipality, then Latvia's row and the national
    equation): every record attacked together, and no count column with one hidden municipality."""
    disclosure.set_defaults(threshold=THRESHOLD)
    scope = study.prepare(data, year=2023)
    tests = results.tests_in(data)
    by_school, by_muni = dashboard.frames(data, scope.year, frozenset(data["schools"]["school_id"]), tests,
                                          total_label="Latvija")
    tables = dashboard.protect_national(by_school, by_muni, tests, total_label="Latvija")
    records = {n: {"value": json.loads(json.dumps(t.to_dict(), default=str))} for n, t in tables.items()}
    assert attack.attack_records(records, THRESHOLD) == []
    munis = tables[dashboard.NAMES[1]]
    assert munis.total_row == ("Latvija", "Latvija", 2023)
    body = munis.status.drop(index=[munis.total_row])
    for col in munis.counts:
        assert (body[col] != "").sum() != 1, col
    total = by_muni.loc[munis.total_row]
    assert int(total["diag6_pupils"]) == int(by_muni.drop(index=[munis.total_row])["diag6_pupils"].sum())
    # Latvia's means are the pupils' means, as in the results table (not a mean of municipalities' means)
    a = data["assessments"]
    d6 = a[(a["test"] == "diag6") & (a["year"] == 2023) & (a["subject"] == "math")]
    d6 = d6[d6["pupil_id"].isin(data["pupil_years"].query("year == 2023")["pupil_id"])]
    assert total["diag6_math"] == pytest.approx(d6.groupby("pupil_id")["score"].mean().mean())


def test_a_schools_report_links_its_row_in_every_table_and_survives_the_attacker(data):
    disclosure.set_defaults(threshold=THRESHOLD)
    name = "Rīgas 77. vidusskola"
    scope = study.prepare(data, school=name, year=2023)
    head = study.headline(data, scope, total_label=name, latvia_label="Latvija")
    assert head.levels == [name, scope.area.name, "Latvija"]
    records = {n: {"value": json.loads(json.dumps(t.to_dict(), default=str))} for n, t in head.tables.items()}
    assert attack.attack_records(records, THRESHOLD) == []
    # the dashboard of a school's report is its municipality's: every school of it, and the municipality
    schools = head.tables[dashboard.NAMES[0]].data.index.get_level_values("municipality")
    assert set(schools) == {scope.area.name}
    n_schools = int((data["schools"]["municipality_id"] == scope.area.municipality_id).sum())
    assert len(schools) == n_schools
