"""The national part computed once (studies/municipal_quality/national.py, cache.py) changes no
published number: a municipality's report from its own rows plus the stored national part equals
the report from the whole data set, table by table, hidden cell by hidden cell, interval by
interval and note by note. No kernel; the sample data (three areas, one with a single school).

The cache: keyed by the files' contents and the parameters that matter, written atomically,
never inside a run folder, off with EVALTOOLS_NATIONAL_CACHE=0."""
from __future__ import annotations

import dataclasses
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaltools.data import load_dataset
from evaltools.report import disclosure
from evaltools.studies import municipal_quality as study
from evaltools.studies.municipal_quality import cache, national

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
LABELS = dict(total_label=None, latvia_label="Latvija", rate_label="Priekšlaicīgas pamešanas īpatsvars",
              labels=lambda c: f"L:{c}", index_label="Skola", language="lv",
              region_label=lambda r: f"{r} reģions", captions=lambda n: f"T:{n}", row_labels=lambda c: f"R:{c}",
              pass_mark=10.0)


def _schools_per_municipality() -> pd.Series:
    schools = pd.read_parquet(SAMPLE / "schools.parquet")
    munis = pd.read_parquet(SAMPLE / "municipalities.parquet").set_index("municipality_id")["name"]
    return schools.groupby("municipality_id").size().rename(index=munis).sort_values(kind="stable")


def _areas() -> list[str]:
    counts = _schools_per_municipality()
    one = counts[counts == 1].index[:1].tolist()  # a municipality with one school
    return one + [n for n in ("Valmieras novads", "Rīga") if n in counts.index and n not in one][:2]


@pytest.fixture(scope="module")
def whole():
    return load_dataset(SAMPLE, needs=study.NEEDS, rows=study.ROWS)


@pytest.fixture(scope="module")
def part(whole):
    return national.build(whole, 2020, 2023, 10.0)


def _same(a, b, where: str) -> None:
    """Field by field (DataFrames exactly, NaN where NaN)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, float) and isinstance(b, float) and np.isnan(a):
        assert np.isnan(b), where
    elif callable(a):
        return
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("name", _areas())
def test_a_report_from_its_own_rows_and_the_national_part_is_the_report_from_everything(whole, part, name):
    disclosure.set_defaults(threshold=10)
    own = load_dataset(SAMPLE, needs=study.NEEDS, rows=study.ROWS, municipality=name)
    assert len(own["pupil_years"]) < len(whole["pupil_years"])  # really the area's rows only
    area = study.prepare(whole, name, 2020, 2023)
    options = dict(LABELS, total_label=name)
    before = study.headline(whole, area, **options)
    after = study.headline(own, study.prepare(own, name, 2020, 2023), national=part, **options)
    _same(before.published, after.published, name)
    _same(before.rate_latvia, after.rate_latvia, f"{name}: Latvia's rate")
    _same(before.rate, after.rate, f"{name}: the area's rate")
    assert before.schools == after.schools
    assert set(before.published.chapters) >= {"value_added", "cohort_by_year", "wellbeing_by_year", "leaving_gaps"}


def test_the_area_rows_of_the_national_report_are_left_alone(whole, part):
    """A national report (one level, Latvia) ignores the national part: the same table."""
    area = study.prepare(whole, "all", 2020, 2023)
    lv = study.chapters.levels(whole, area, total_label="Latvija", region_label=None, latvia_label="Latvija")
    pd.testing.assert_frame_equal(study.chapters.school_life(whole, lv),
                                  study.chapters.school_life(whole, lv, national=part), check_exact=True)


def test_rows_of_another_period_or_pass_mark_are_refused(whole, part):
    area = study.prepare(whole, "Valmieras novads", 2019, 2022)
    lv = study.chapters.levels(whole, area, total_label="V", region_label=lambda r: r, latvia_label="L")
    with pytest.raises(ValueError, match="2020-2023"):
        study.chapters.school_life(whole, lv, national=part)
    area = study.prepare(whole, "Valmieras novads", 2020, 2023)
    lv = study.chapters.levels(whole, area, total_label="V", region_label=lambda r: r, latvia_label="L")
    with pytest.raises(ValueError, match="pass mark"):
        study.chapters.exams(whole, lv, "ce9", pass_mark=20.0, national=part)


def test_the_stored_part_holds_no_identifier(part):
    """Aggregates only: no pupil, teacher or plan id column anywhere in the entry."""
    frames = [*part.tables.values(), part.cohorts, part.trend, part.value_added]
    for frame in frames:
        names = [*frame.columns, *frame.index.names]
        assert not {"pupil_id", "teacher_id", "plan_id"} & set(names)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(folder))
    monkeypatch.setattr(cache, "_code", lambda: "pinned")  # others editing the source mid-test change no key
    return folder


def _load(data_dir, name="Valmieras novads", **changes):
    args = dict(mapping=None, needs=study.NEEDS, rows=study.ROWS, municipality=name, first_year=2020,
                last_year=2023, pass_mark=10.0)
    args.update(changes)
    return national.load(data_dir, **args)


def test_the_first_run_stores_the_part_and_the_next_loads_its_area_only(cache_dir, whole):
    data, first = _load(SAMPLE)
    assert first is not None and len(data["pupil_years"]) == len(whole["pupil_years"])
    entries = list(cache_dir.glob("*.pickle"))
    assert len(entries) == 1 and not list(cache_dir.glob("*.tmp"))
    data, again = _load(SAMPLE)
    assert len(data["pupil_years"]) < len(whole["pupil_years"])
    _same(first, again, "stored")
    _load(SAMPLE, pass_mark=20.0)
    _load(SAMPLE, first_year=2019, last_year=2022)
    assert len(list(cache_dir.glob("*.pickle"))) == 3  # the parameters that matter are in the key
    data, none = _load(SAMPLE, name="all")
    assert none is None and len(data["pupil_years"]) == len(whole["pupil_years"])


def test_changed_code_is_a_new_entry(cache_dir, monkeypatch):
    before = cache.key(SAMPLE, None, {"a": 1})
    monkeypatch.setattr(cache, "_code", lambda: "edited")
    assert cache.key(SAMPLE, None, {"a": 1}) not in (before, None)


def test_changed_data_is_a_new_entry(cache_dir, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(SAMPLE, copy)
    before = cache.key(copy, None, {"a": 1})
    py = pd.read_parquet(copy / "pupil_years.parquet")
    py.loc[0, "absences"] = int(py.loc[0, "absences"]) + 1
    py.to_parquet(copy / "pupil_years.parquet", index=False)
    assert cache.key(copy, None, {"a": 1}) not in (before, None)
    assert cache.key(copy, None, {"a": 2}) != cache.key(copy, None, {"a": 1})


def test_off_means_no_file_and_the_whole_data_set(monkeypatch, tmp_path, whole):
    monkeypatch.setenv(cache.CACHE_ENV, "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data, part = _load(SAMPLE)
    assert part is None and len(data["pupil_years"]) == len(whole["pupil_years"])
    assert not (tmp_path / "xdg" / "evaltools" / "municipal_quality").exists()  # (the loader's check cache may be there)


def test_two_runs_at_once_compute_the_part_once(cache_dir, monkeypatch):
    """Two threads (as two Dask workers) ask together: one builds, the other waits and reads."""
    calls = []
    real = national.build

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(national, "build", counted)
    out: list = []
    threads = [threading.Thread(target=lambda: out.append(_load(SAMPLE)[1])) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and all(isinstance(p, national.National) for p in out)
    assert len(list(cache_dir.glob("*.pickle"))) == 1 and not list(cache_dir.glob(".*.tmp"))


def test_an_unreadable_entry_is_computed_again(cache_dir):
    _load(SAMPLE)
    (entry,) = cache_dir.glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    data, part = _load(SAMPLE)
    assert isinstance(part, national.National)
    assert os.path.getsize(entry) > 100
