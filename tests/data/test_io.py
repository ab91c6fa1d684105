"""Loading and checking data: every kind of violation gives its documented message.

The fixture is a small, valid slice of the shipped sample (all small tables,
the pupil-level tables of pupils from three schools) written as CSV; each
test breaks it in one known way.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evaltools.data import DataFileError, DataValidationError, load, load_dataset, validate
from tests import ROOT

from tests.data._sample import SAMPLE  # noqa: E402
PUPIL_TABLES = ("pupils", "pupil_years", "assessments", "risk_scores", "support_plans",
                "support_measures", "community_support", "skolas_soma", "wellbeing_pupils", "preschool_assessments",
                "plan_risk_types", "vocational_years")


@pytest.fixture(scope="module")
def small_tables() -> dict[str, pd.DataFrame]:
    tabs = {p.stem: pd.read_parquet(p) for p in SAMPLE.glob("*.parquet")}
    schools = tabs["pumpurs_schools"].dropna()["school_id"].iloc[:3]
    pids = set(tabs["pupil_years"].loc[tabs["pupil_years"]["school_id"].isin(schools), "pupil_id"])
    for t in PUPIL_TABLES:
        tabs[t] = tabs[t][tabs[t]["pupil_id"].isin(pids)].reset_index(drop=True)
    return tabs


def write(tabs: dict[str, pd.DataFrame], d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for k, v in tabs.items():
        v.to_csv(d / f"{k}.csv", index=False)
    return d


def broken(small_tables, tmp_path, **changes) -> Path:
    tabs = {k: v.copy() for k, v in small_tables.items()}
    for table, fn in changes.items():
        tabs[table] = fn(tabs[table])
    return write(tabs, tmp_path / "ds")


def violations(path: Path) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        load_dataset(path)
    return info.value


def test_shipped_sample_is_clean_and_carries_truth():
    ds = load_dataset(SAMPLE)
    assert len(ds["municipalities"]) == 43
    assert ds.truth is not None and ds.truth["effects"]
    assert ds.pupil_years["year"].dtype == "int64"
    assert "pupil_years" in repr(ds)


def test_clean_csv_slice_loads(small_tables, tmp_path):
    ds = load_dataset(write(small_tables, tmp_path / "ok"))
    assert set(ds.keys()) == set(small_tables)
    assert ds["pupils"]["special_needs"].dtype == bool


def test_missing_column(small_tables, tmp_path):
    err = violations(broken(small_tables, tmp_path, pupil_years=lambda d: d.drop(columns="grade")))
    (v,) = [v for v in err.violations if v.rule == "missing_column"]
    assert v.column == "grade" and v.file.endswith("pupil_years.csv")
    assert "required column 'grade' is missing" in str(err)
    assert "column mapping" in v.hint


def test_missing_column_suggests_close_name(small_tables, tmp_path):
    err = violations(broken(small_tables, tmp_path, pupil_years=lambda d: d.rename(columns={"grade": "Grade"})))
    assert "Did you mean 'Grade'?" in str(err)


def test_wrong_type_lists_rows(small_tables, tmp_path):
    def bad(d):
        d["absences"] = d["absences"].astype(object)
        d.loc[[4, 9], "absences"] = ["twelve", "3,5"]
        return d

    err = violations(broken(small_tables, tmp_path, pupil_years=bad))
    (v,) = err.violations
    assert (v.rule, v.column, v.rows, v.count) == ("wrong_type", "absences", (5, 10), 2)
    assert "expected whole numbers" in str(err) and "'twelve'" in str(err)


def test_score_out_of_range(small_tables, tmp_path):
    def bad(d):
        tests = d.index[d["test"] != "class"][:7]
        d.loc[tests, "score"] = 130.0
        return d

    err = violations(broken(small_tables, tmp_path, assessments=bad))
    (v,) = err.violations
    assert v.rule == "out_of_range" and v.count == 7 and len(v.rows) == 5
    assert "score out of range" in str(err) and "and 2 more" in str(err)


def test_class_grade_outside_1_10(small_tables, tmp_path):
    def bad(d):
        d.loc[d.index[d["test"] == "class"][:2], "score"] = 55.0
        return d

    err = violations(broken(small_tables, tmp_path, assessments=bad))
    assert [v.rule for v in err.violations] == ["class_grade_range"]
    assert "classroom grade outside 1-10" in str(err)


def test_duplicate_pupil_year(small_tables, tmp_path):
    err = violations(broken(small_tables, tmp_path,
                            pupil_years=lambda d: pd.concat([d, d.iloc[[3]]], ignore_index=True)))
    (v,) = [v for v in err.violations if v.rule == "duplicate_key"]
    assert "duplicate pupil-year" in v.message and v.count == 2


def test_leaving_before_entering(small_tables, tmp_path):
    def bad_pupils(d):
        d.loc[0, "exit_year"] = d.loc[0, "entry_year"] - 2
        return d

    err = violations(broken(small_tables, tmp_path, pupils=bad_pupils))
    rules = {v.rule: v for v in err.violations}
    assert set(rules) <= {"exit_before_entry", "year_after_exit"} and rules["exit_before_entry"].rows == (1,)
    assert "leaves before entering" in str(err)


def test_record_after_leaving(small_tables, tmp_path):
    def bad(d):
        d = d.copy()
        pid = d.loc[d["status"] == "enrolled", "pupil_id"].iloc[0]
        first = d.index[d["pupil_id"] == pid].min()
        d.loc[first, "status"] = "left_early"
        return d

    err = violations(broken(small_tables, tmp_path, pupil_years=bad))
    rules = {v.rule for v in err.violations}
    assert "record_after_leaving" in rules
    assert "after the pupil left early or graduated" in str(err)


def test_pupil_year_after_exit_year(small_tables, tmp_path):
    def bad(d):
        left = d.index[d["exit_year"].notna()][0]
        d.loc[left, "exit_year"] = d.loc[left, "entry_year"]
        return d

    err = violations(broken(small_tables, tmp_path, pupils=bad))
    assert "year_after_exit" in {v.rule for v in err.violations}
    assert "after the pupil's exit_year" in str(err)


def test_support_before_rollout(small_tables, tmp_path):
    roll = small_tables["pumpurs_schools"].set_index("school_id")["rollout_year"]

    def bad(d):
        d.loc[0, "year"] = int(roll[d.loc[0, "school_id"]]) - 1
        return d

    err = violations(broken(small_tables, tmp_path, support_plans=bad))
    (v,) = err.violations
    assert v.rule == "support_before_rollout" and v.rows == (1,)
    assert "before the school's PUMPURS roll-out" in str(err)


def test_unknown_school_id(small_tables, tmp_path):
    def bad(d):
        d.loc[[2, 5], "school_id"] = "S9999"
        return d

    err = violations(broken(small_tables, tmp_path, pupil_years=bad))
    (v,) = err.violations
    assert v.rule == "unknown_school_id" and v.rows == (3, 6)
    assert "'S9999' not found" in str(err)


def test_every_violation_reported_at_once(small_tables, tmp_path):
    def py(d):
        d = d.drop(columns="repeated")
        d.loc[1, "school_id"] = "S0000"
        return d

    def a(d):
        d.loc[d.index[d["test"] != "class"][0], "score"] = -4.0
        return d

    err = violations(broken(small_tables, tmp_path, pupil_years=py, assessments=a))
    assert {v.rule for v in err.violations} == {"missing_column", "unknown_school_id", "out_of_range"}
    assert len({v.file for v in err.violations}) == 2
    assert err.to_frame().shape[0] == 3


def test_missing_required_table(small_tables, tmp_path):
    d = write(small_tables, tmp_path / "ds")
    (d / "schools.csv").unlink()
    err = violations(d)
    assert "missing_table" in {v.rule for v in err.violations}


def test_column_mapping_dict_and_yaml(small_tables, tmp_path):
    d = broken(small_tables, tmp_path, pupil_years=lambda x: x.rename(
        columns={"pupil_id": "personas_kods_hash", "grade": "klase"}))
    mapping = {"pupil_years": {"personas_kods_hash": "pupil_id", "klase": "grade"}}
    assert len(load_dataset(d, mapping=mapping)["pupil_years"]) == len(small_tables["pupil_years"])
    y = tmp_path / "mapping.yaml"
    y.write_text("pupil_years:\n  personas_kods_hash: pupil_id\n  klase: grade\n", encoding="utf-8")
    one = load(d / "pupil_years.csv", mapping=y)
    assert list(one.columns[:4]) == ["pupil_id", "year", "school_id", "grade"]
    with pytest.raises(DataFileError, match="not columns of pupil_years"):
        load(d / "pupil_years.csv", mapping={"klase": "class_level"})


def test_excel_and_parquet_single_files(small_tables, tmp_path):
    x = tmp_path / "schools.xlsx"
    small_tables["schools"].to_excel(x, index=False)
    df = load(x)
    assert df["urban"].dtype == bool and len(df) == len(small_tables["schools"])
    p = tmp_path / "extract.parquet"
    small_tables["pumpurs_schools"].to_parquet(p)
    assert load(p, table="pumpurs_schools")["rollout_year"].dtype == "Int64"


def test_file_errors_are_clear(tmp_path):
    with pytest.raises(DataFileError, match="file not found"):
        load(tmp_path / "pupils.csv")
    with pytest.raises(DataFileError, match="unknown table 'notes'"):
        load(tmp_path / "notes.csv")
    with pytest.raises(DataFileError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    bad = tmp_path / "pupils.parquet"
    bad.write_text("not parquet")
    with pytest.raises(DataFileError, match="cannot be read as parquet"):
        load(bad)


def test_validate_in_memory_frame(small_tables):
    ok = validate(small_tables["schools"], "schools")
    assert ok["grade_min"].dtype == "int64"
    bad = small_tables["schools"].assign(type="lyceum")
    with pytest.raises(DataValidationError, match="<DataFrame>, column 'type': unknown value"):
        validate(bad, "schools")
    with pytest.raises(DataFileError, match="Unknown table 'school'"):
        validate(bad, "school")


def test_optional_column_may_be_absent(small_tables, tmp_path):
    d = broken(small_tables, tmp_path, pupils=lambda x: x.drop(columns="ses_index"))
    pupils = load_dataset(d)["pupils"]
    assert pupils["ses_index"].isna().all() and len(pupils) == len(small_tables["pupils"])


def test_european_csv_with_semicolons_and_decimal_commas(small_tables, tmp_path):
    p = tmp_path / "pupils.csv"
    small_tables["pupils"].to_csv(p, sep=";", decimal=",", index=False, encoding="utf-8-sig")
    df = load(p)
    assert df["ses_index"].dtype == "float64"
    assert df["ses_index"].tolist() == small_tables["pupils"]["ses_index"].tolist()


def test_value_recoding_in_the_mapping(small_tables, tmp_path):
    d = broken(small_tables, tmp_path, pupils=lambda x: x.rename(columns={"sex": "dzimums"}).assign(
        dzimums=lambda y: y["dzimums"].map({"M": "V", "F": "S"})))
    with pytest.raises(DataValidationError, match="unknown value"):
        load_dataset(d, mapping={"pupils": {"dzimums": "sex"}})
    mapping = {"pupils": {"dzimums": "sex"}, "values": {"pupils": {"sex": {"V": "M", "S": "F"}}}}
    pupils = load_dataset(d, mapping=mapping)["pupils"]
    assert pupils["sex"].tolist() == small_tables["pupils"]["sex"].tolist()
    with pytest.raises(DataFileError, match="'values' must look like"):
        load_dataset(d, mapping={"values": {"pupil": {"sex": {"V": "M"}}}})


def test_type_coercion_rules():
    from evaltools.data.checks import _coerce

    out, bad = _coerce(pd.Series([" 12 ", "12.0", "12.5", "x", None]), "int")
    assert out.tolist()[:2] == [12, 12] and bad.tolist() == [False, False, True, True, False]
    out, bad = _coerce(pd.Series(["jā", "nē", "TRUE", "0", "maybe", None]), "bool")
    assert out.tolist()[:4] == [True, False, True, False] and bad.tolist() == [False] * 4 + [True, False]
    out, _ = _coerce(pd.Series([101.0, None]), "str")
    assert out.tolist() == ["101", None]


# --- reading only what a study needs (needs=, rows=, municipality=/region=) ---------------------


@pytest.fixture(scope="module")
def whole_sample():
    return load_dataset(SAMPLE)


def _one_municipality(ds) -> tuple[str, set[str]]:
    mun = ds["municipalities"].sort_values("municipality_id").iloc[3]
    schools = set(ds["schools"].loc[ds["schools"]["municipality_id"] == mun["municipality_id"], "school_id"])
    return mun["name"], schools


def test_needs_reads_only_the_columns_asked_and_the_key(whole_sample):
    ds = load_dataset(SAMPLE, needs={"pupil_years": ["status"], "assessments": ["score"]})
    assert sorted(ds.keys()) == ["assessments", "pupil_years"]  # no other table is read
    assert list(ds["pupil_years"].columns) == ["pupil_id", "year", "status"]  # the key comes along
    assert list(ds["assessments"].columns) == ["pupil_id", "year", "test", "subject", "score"]
    whole = whole_sample["pupil_years"][["pupil_id", "year", "status"]]
    pd.testing.assert_frame_equal(ds["pupil_years"], whole)  # same rows, same types as a whole read


def test_an_area_keeps_the_rows_of_its_schools_and_of_its_pupils(whole_sample):
    sch = whole_sample["schools"]
    voc = sorted(sch.loc[sch["type"] == "vocational", "municipality_id"])
    assert voc, "the sample has a vocational school"  # so that its students are part of the area below
    mun = whole_sample["municipalities"].set_index("municipality_id")
    name, schools = mun.loc[voc[0], "name"], set(sch.loc[sch["municipality_id"] == voc[0], "school_id"])
    ds = load_dataset(SAMPLE, municipality=name,
                      needs={t: None for t in ("municipalities", "schools", "pupils", "pupil_years", "assessments",
                                               "skolas_soma", "teachers", "teacher_years")})
    assert list(ds["municipalities"]["name"]) == [name]
    assert set(ds["schools"]["school_id"]) == schools
    py = whole_sample["pupil_years"]
    expected = py[py["school_id"].isin(schools)].reset_index(drop=True)
    pd.testing.assert_frame_equal(ds["pupil_years"], expected)
    pupils = set(expected["pupil_id"])
    vy = whole_sample["vocational_years"]  # and the students of its vocational schools
    vocational = set(vy.loc[vy["school_id"].isin(schools), "pupil_id"])
    assert vocational and set(ds["pupils"]["pupil_id"]) == pupils | vocational
    a = whole_sample["assessments"]
    assert len(ds["assessments"]) == int(a["pupil_id"].isin(pupils).sum()) > 0
    assert set(ds["skolas_soma"]["school_id"]) <= schools and len(ds["skolas_soma"]) > 0
    # teachers: of the area's schools and of its pupils' assessments (no unknown teacher id)
    assert set(ds["assessments"]["teacher_id"].dropna()) <= set(ds["teachers"]["teacher_id"])


def test_a_region_and_a_row_filter(whole_sample):
    region = sorted(whole_sample["municipalities"]["region"].unique())[0]
    ds = load_dataset(SAMPLE, region=region, needs={"schools": ["municipality_id"], "assessments": None},
                      rows={"assessments": {"test": ["ce9"]}})
    ids = set(whole_sample["municipalities"].loc[whole_sample["municipalities"]["region"] == region,
                                                 "municipality_id"])
    assert set(ds["schools"]["municipality_id"]) == ids
    assert set(ds["assessments"]["test"]) == {"ce9"}
    full = load_dataset(SAMPLE, needs={"assessments": None}, rows={"assessments": {"test": ["ce9"]}})
    a = whole_sample["assessments"]
    assert len(full["assessments"]) == int((a["test"] == "ce9").sum())


def test_needs_from_a_csv_extract_with_a_mapping(small_tables, tmp_path):
    tabs = {k: v.copy() for k, v in small_tables.items()}
    tabs["pupil_years"] = tabs["pupil_years"].rename(columns={"status": "statuss", "year": "gads"})
    d = write(tabs, tmp_path / "csv")
    ds = load_dataset(d, mapping={"pupil_years": {"statuss": "status", "gads": "year"}},
                      needs={"pupil_years": ["status"]})
    assert list(ds["pupil_years"].columns) == ["pupil_id", "year", "status"]
    assert len(ds["pupil_years"]) == len(tabs["pupil_years"])


def test_a_needed_column_that_is_missing_or_bad_is_reported_with_file_rows(small_tables, tmp_path):
    tabs = {k: v.copy() for k, v in small_tables.items()}
    tabs["pupil_years"] = tabs["pupil_years"].drop(columns=["absences"])
    tabs["pupil_years"]["grade"] = tabs["pupil_years"]["grade"].astype(object)
    tabs["pupil_years"].loc[4, "grade"] = "x"  # row 5 of the file
    d = write(tabs, tmp_path / "bad")
    ds = load_dataset(d, needs={"pupil_years": ["status"]})  # neither column asked: not read, not checked
    assert "absences" not in ds["pupil_years"]
    with pytest.raises(DataValidationError) as exc:
        load_dataset(d, needs={"pupil_years": ["absences", "grade"]})
    rules = {(v.column, v.rule) for v in exc.value.violations}
    assert ("absences", "missing_column") in rules and ("grade", "wrong_type") in rules
    school = tabs["pupil_years"].loc[4, "school_id"]
    mun = tabs["schools"].set_index("school_id").loc[school, "municipality_id"]
    name = tabs["municipalities"].set_index("municipality_id").loc[mun, "name"]
    with pytest.raises(DataValidationError) as exc:
        load_dataset(d, needs={"pupil_years": ["grade"]}, municipality=name)
    [bad] = [v for v in exc.value.violations if v.rule == "wrong_type"]
    assert bad.rows[0] == 5  # the row of the file, not of the area's rows


def test_unknown_area_table_or_column_is_a_clear_error(whole_sample):
    name, _ = _one_municipality(whole_sample)
    with pytest.raises(DataFileError, match="is not in .*Did you mean"):
        load_dataset(SAMPLE, municipality=name[:-1] + "x", needs={"schools": None})
    with pytest.raises(DataFileError, match="region 'Atlantis' is not in"):
        load_dataset(SAMPLE, region="Atlantis", needs={"schools": None})
    with pytest.raises(DataFileError, match=r"needs: \['nosuch'\] are not columns of pupils"):
        load_dataset(SAMPLE, needs={"pupils": ["nosuch"]})
    with pytest.raises(DataFileError, match="Unknown table"):
        load_dataset(SAMPLE, needs={"nosuch": None})


@pytest.mark.parametrize("study", ["municipal_quality", "dropout_prevention", "alumni_programme"])
def test_each_study_declares_known_tables_and_columns(study):
    import importlib

    from evaltools.data.schemas import TABLES

    package = importlib.import_module(f"evaltools.studies.{study}")
    for table, columns in package.NEEDS.items():
        assert table in TABLES and (columns is None or set(columns) <= set(TABLES[table].column_names))
    for table, filters in package.ROWS.items():
        assert table in package.NEEDS and set(filters) <= set(TABLES[table].column_names)


def test_a_file_version_that_passed_is_not_checked_again(small_tables, tmp_path, monkeypatch):
    import evaltools.data.io as io

    monkeypatch.setenv(io.CHECK_CACHE_ENV, str(tmp_path / "cache"))
    d = write({k: v.copy() for k, v in small_tables.items()}, tmp_path / "data")
    needs = {"schools": None, "pupil_years": ["status", "grade"]}
    first = load_dataset(d, needs=needs)
    assert len(list((tmp_path / "cache").iterdir())) == 3  # two tables and the cross-table rules

    def no_check(*args, **kwargs):
        raise AssertionError("checked again")

    monkeypatch.setattr(io, "check_table", no_check)
    monkeypatch.setattr(io, "cross_table_violations", no_check)
    again = load_dataset(d, needs=needs)
    for table in needs:
        pd.testing.assert_frame_equal(again[table], first[table])
    with pytest.raises(AssertionError, match="checked again"):  # other columns: another key
        load_dataset(d, needs={"schools": None, "pupil_years": ["status"]})


def test_a_changed_file_is_checked_and_problems_are_never_remembered(small_tables, tmp_path, monkeypatch):
    import evaltools.data.io as io

    monkeypatch.setenv(io.CHECK_CACHE_ENV, str(tmp_path / "cache"))
    tabs = {k: v.copy() for k, v in small_tables.items()}
    d = write(tabs, tmp_path / "data")
    load_dataset(d, needs={"pupil_years": ["grade"]})
    tabs["pupil_years"]["grade"] = tabs["pupil_years"]["grade"].astype(object)
    tabs["pupil_years"].loc[2, "grade"] = "x"
    write(tabs, d)
    for _ in range(2):  # found each time
        with pytest.raises(DataValidationError, match="wrong type"):
            load_dataset(d, needs={"pupil_years": ["grade"]})
    monkeypatch.setenv(io.CHECK_CACHE_ENV, "0")
    assert io._cache_dir() is None


@pytest.mark.parametrize("table, column, rule", [
    ("preschool_assessments", "pupil_id", "unknown_pupil_id"),
    ("preschool_assessments", "municipality_id", "unknown_municipality_id"),
    ("plan_risk_types", "pupil_id", "unknown_pupil_id"),
    ("plan_risk_types", "plan_id", "unknown_plan_id"),
])
def test_the_pre_school_and_risk_type_tables_point_to_known_rows(small_tables, tmp_path, table, column, rule):
    assert len(small_tables[table]) > 2, f"the small data set has no {table} rows to break"

    def bad(d):
        d[column] = d[column].astype(object)
        d.loc[1, column] = "X" + "9" * 9
        return d

    err = violations(broken(small_tables, tmp_path, **{table: bad}))
    found = [v for v in err.violations if v.rule == rule]
    assert found and found[0].rows == (2,), [(v.rule, v.rows) for v in err.violations]
