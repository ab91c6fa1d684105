"""``load_dataset(optional=...)``: tables read when the data set has them, absent otherwise."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evaltools.data import DataFileError, load_dataset
from tests import ROOT

from tests.data._sample import SAMPLE  # noqa: E402
NEEDS = {"pupils": ["sex"], "pupil_years": ["school_id"]}
PRE = {"preschool_assessments": ["numeracy"]}


def _copy(d: Path, drop: tuple[str, ...] = (), rename: dict[str, str] | None = None) -> Path:
    """The sample's Parquet files in ``d``, without the tables ``drop``, some under other names."""
    d.mkdir(parents=True, exist_ok=True)
    for p in SAMPLE.glob("*.parquet"):
        if p.stem not in drop:
            (d / (rename or {}).get(p.stem, p.name)).write_bytes(p.read_bytes())
    return d


def test_a_present_optional_table_is_read_like_a_needed_one():
    ds = load_dataset(SAMPLE, needs=NEEDS, optional=PRE)
    assert "preschool_assessments" in ds
    same = load_dataset(SAMPLE, needs={**NEEDS, **PRE})
    assert sorted(ds.keys()) == sorted(same.keys())
    pd.testing.assert_frame_equal(ds["preschool_assessments"], same["preschool_assessments"])
    assert list(ds["preschool_assessments"].columns) == ["pupil_id", "year", "numeracy"]  # asked + key


def test_an_absent_optional_table_is_simply_not_there(tmp_path):
    d = _copy(tmp_path / "ds", drop=("preschool_assessments",))
    ds = load_dataset(d, needs=NEEDS, optional=PRE)
    assert "preschool_assessments" not in ds
    assert sorted(ds.keys()) == sorted(NEEDS)
    with pytest.raises(Exception, match="no file for the table 'preschool_assessments'"):
        load_dataset(d, needs={**NEEDS, **PRE})  # needed, it must exist


def test_the_mapping_files_section_names_an_optional_file(tmp_path):
    d = _copy(tmp_path / "ds", rename={"preschool_assessments": "pirmsskola.parquet"})
    named = load_dataset(d, mapping={"files": {"preschool_assessments": "pirmsskola.parquet"}},
                         needs=NEEDS, optional=PRE)
    assert len(named["preschool_assessments"]) == len(pd.read_parquet(SAMPLE / "preschool_assessments.parquet"))
    assert "preschool_assessments" not in load_dataset(d, needs=NEEDS, optional=PRE)  # not named: not found
    template = {"files": {"preschool_assessments": "nav_tada.parquet"}}  # a template naming a file not sent
    assert "preschool_assessments" not in load_dataset(d, mapping=template, needs=NEEDS, optional=PRE)


def test_an_optional_table_is_filtered_by_area_and_rows():
    whole = load_dataset(SAMPLE, needs={"pupil_years": ["school_id"], "preschool_assessments": None,
                                        "municipalities": None, "schools": ["municipality_id"]})
    mun = whole["municipalities"].sort_values("municipality_id").iloc[5]
    ds = load_dataset(SAMPLE, needs={"pupils": ["sex"], "pupil_years": ["school_id"]},
                      optional={"preschool_assessments": None}, municipality=mun["name"])
    schools = set(whole["schools"].loc[whole["schools"]["municipality_id"] == mun["municipality_id"], "school_id"])
    pupils = set(whole["pupil_years"].loc[whole["pupil_years"]["school_id"].isin(schools), "pupil_id"])
    pre = whole["preschool_assessments"]
    expected = pre[pre["pupil_id"].isin(pupils)].reset_index(drop=True)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(ds["preschool_assessments"], expected)
    year = int(pre["year"].min())
    few = load_dataset(SAMPLE, needs=NEEDS, optional=PRE, rows={"preschool_assessments": {"year": [year]}})
    assert set(few["preschool_assessments"]["year"]) == {year}
    assert len(few["preschool_assessments"]) == int((pre["year"] == year).sum())


def test_caller_mistakes_are_clear_errors(tmp_path):
    with pytest.raises(DataFileError, match=r"\['pupils'\] named in both needs and optional"):
        load_dataset(SAMPLE, needs=NEEDS, optional={"pupils": None})
    d = _copy(tmp_path / "ds", drop=("preschool_assessments",))
    with pytest.raises(DataFileError, match=r"needs: \['nosuch'\] are not columns of preschool_assessments"):
        load_dataset(d, needs=NEEDS, optional={"preschool_assessments": ["nosuch"]})  # even when absent
    with pytest.raises(DataFileError, match="Unknown table"):
        load_dataset(SAMPLE, needs=NEEDS, optional={"nosuch": None})


def test_optional_without_needs_narrows_the_columns_of_a_whole_load():
    ds = load_dataset(SAMPLE, tables=[], optional=PRE)
    assert sorted(ds.keys()) == sorted(["municipalities", "schools", "pupils", "pupil_years",
                                        "preschool_assessments"])
    assert list(ds["preschool_assessments"].columns) == ["pupil_id", "year", "numeracy"]


def test_an_area_pupil_from_another_municipalitys_pre_school_is_no_unknown_id(tmp_path):
    d = _copy(tmp_path / "ds")
    pre = pd.read_parquet(d / "preschool_assessments.parquet")
    mun = pd.read_parquet(d / "municipalities.parquet").sort_values("municipality_id")
    here, other = mun["municipality_id"].iloc[5], mun["municipality_id"].iloc[6]
    moved = pre.index[pre["municipality_id"] == here][:3]
    pre.loc[moved, "municipality_id"] = other  # went to pre-school next door
    pre.to_parquet(d / "preschool_assessments.parquet", index=False)
    ds = load_dataset(d, needs={**NEEDS, "municipalities": None}, optional={"preschool_assessments": None},
                      municipality=here)
    got = ds["preschool_assessments"]
    assert set(pre.loc[moved, "pupil_id"]) <= set(got["pupil_id"])
    assert (got["municipality_id"] == other).sum() == 3
