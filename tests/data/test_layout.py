"""The area layout of Parquet files (data/layout.py) and the loader's row-group skipping on it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import evaltools.data.io as io
from evaltools.data import load_dataset
from evaltools.data.layout import arrange, write_parquet, write_tables
from evaltools.data.schemas import TABLES
from tests import ROOT

from tests.data._sample import SAMPLE  # noqa: E402
GROUP = 4096  # small row groups, so that the sample has many to skip


@pytest.fixture(scope="module")
def tabs() -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(SAMPLE.glob("*.parquet"))}


@pytest.fixture(scope="module")
def laid_out(tabs, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("layout")
    write_tables(tabs, d, row_group_rows=GROUP)
    (d / "true_effects.json").write_bytes((SAMPLE / "true_effects.json").read_bytes())
    return d


def _by_key(df: pd.DataFrame, table: str) -> pd.DataFrame:
    return df.sort_values(list(TABLES[table].key), kind="stable").reset_index(drop=True)


def test_values_are_kept_only_the_order_changes(tabs, laid_out):
    for table, df in tabs.items():
        back = pd.read_parquet(laid_out / f"{table}.parquet")
        pd.testing.assert_frame_equal(_by_key(back, table), _by_key(df, table), check_like=False)


def test_the_same_rows_in_any_order_give_the_same_bytes(tabs, tmp_path):
    for table in ("pupil_years", "assessments", "schools"):
        shuffled = tabs[table].sample(frac=1.0, random_state=7)
        a = write_parquet(tabs[table], tmp_path / "a.parquet", table, tabs, row_group_rows=GROUP).read_bytes()
        b = write_parquet(shuffled, tmp_path / "b.parquet", table, tabs, row_group_rows=GROUP).read_bytes()
        assert a == b, table


def test_rows_lie_by_municipality_then_school_then_key(tabs, laid_out):
    muni = tabs["schools"].set_index("school_id")["municipality_id"]
    py = pd.read_parquet(laid_out / "pupil_years.parquet")
    m = py["school_id"].map(muni)
    assert m.is_monotonic_increasing  # one run per municipality
    assert (py["school_id"] != py["school_id"].shift()).sum() == py["school_id"].nunique()  # one run per school
    for _, rows in py.groupby("school_id", sort=False):
        assert rows.index.is_monotonic_increasing
        assert pd.MultiIndex.from_frame(rows[["pupil_id", "year"]]).is_monotonic_increasing
    meta = pq.ParquetFile(laid_out / "pupil_years.parquet").metadata
    assert meta.num_row_groups == -(-len(py) // GROUP)
    assert meta.row_group(0).column(2).statistics.has_min_max  # statistics written


def test_a_pupils_scores_follow_their_first_school(tabs, laid_out):
    py = tabs["pupil_years"].sort_values(["pupil_id", "year", "school_id"])
    first = py.drop_duplicates("pupil_id").set_index("pupil_id")["school_id"]
    a = pd.read_parquet(laid_out / "assessments.parquet")
    home = a["pupil_id"].map(first)
    known = home.notna().to_numpy()
    muni = tabs["schools"].set_index("school_id")["municipality_id"]
    order = pd.DataFrame({"m": home.map(muni), "s": home})[known]
    assert order.equals(order.sort_values(["m", "s"], kind="stable"))
    if (~known).any():  # rows of pupils without a pupil-year come last
        assert not known[np.argmax(~known):].any()


def test_without_the_other_tables_rows_are_sorted_by_school_and_key(tabs):
    out = arrange(tabs["assessments"].iloc[::-1], "assessments")
    pd.testing.assert_frame_equal(out, _by_key(tabs["assessments"], "assessments"))
    py = arrange(tabs["pupil_years"], "pupil_years")
    assert py["school_id"].is_monotonic_increasing
    with pytest.raises(ValueError, match="Unknown table"):
        arrange(tabs["schools"], "nosuch")


AREA_NEEDS = {t: None for t in ("municipalities", "schools", "pupils", "pupil_years", "assessments",
                                "skolas_soma", "teachers", "teacher_years", "support_plans", "support_measures")}


def _groups_read(monkeypatch) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    real = io._row_groups

    def spy(path, pf, filters):
        seen[Path(path).stem] = out = real(path, pf, filters)
        return out

    monkeypatch.setattr(io, "_row_groups", spy)
    return seen


@pytest.mark.parametrize("area", ["municipality", "region"])
def test_an_area_read_skips_row_groups_and_equals_the_whole_read_filtered(laid_out, monkeypatch, area):
    monkeypatch.setenv(io.CHECK_CACHE_ENV, "0")
    whole = load_dataset(laid_out, needs=AREA_NEEDS)
    mun = whole["municipalities"].sort_values("municipality_id").iloc[7]
    where = {"municipality": mun["name"]} if area == "municipality" else {"region": mun["region"]}
    seen = _groups_read(monkeypatch)
    part = load_dataset(laid_out, needs=AREA_NEEDS, **where)
    ids = set(whole["municipalities"].loc[whole["municipalities"][area if area == "region" else "name"]
                                          == mun[area if area == "region" else "name"], "municipality_id"])
    schools = set(whole["schools"].loc[whole["schools"]["municipality_id"].isin(ids), "school_id"])
    for table in ("pupil_years", "skolas_soma", "teacher_years", "support_plans"):
        w = whole[table]
        expected = w[w["school_id"].isin(schools)].reset_index(drop=True)  # the file's order kept
        pd.testing.assert_frame_equal(part[table], expected)
    pupils = set(part["pupil_years"]["pupil_id"])
    for table in ("pupils", "assessments"):
        w = whole[table]
        pd.testing.assert_frame_equal(part[table], w[w["pupil_id"].isin(pupils)].reset_index(drop=True))
    for table in ("pupil_years", "skolas_soma", "assessments"):
        total = pq.ParquetFile(laid_out / f"{table}.parquet").metadata.num_row_groups
        assert 0 < len(seen[table]) < total / 2, (table, len(seen[table]), total)


def test_row_filters_on_the_layout_equal_the_old_layout(laid_out):
    rows = {"assessments": {"test": ["ce9", "diag3"]}}
    new = load_dataset(laid_out, needs={"assessments": None}, rows=rows)["assessments"]
    old = load_dataset(SAMPLE, needs={"assessments": None}, rows=rows)["assessments"]
    pd.testing.assert_frame_equal(_by_key(new, "assessments"), _by_key(old, "assessments"))


def test_a_missing_filter_value_cell_is_never_kept(tmp_path, tabs):
    df = tabs["skolas_soma"].copy()
    df["school_id"] = df["school_id"].astype(object)
    df.loc[df.index[:50], "school_id"] = None
    path = tmp_path / "skolas_soma.parquet"
    write_parquet(df, path, "skolas_soma", row_group_rows=GROUP)
    school = str(df["school_id"].dropna().iloc[0])
    got = io._read_parquet(path, None, {"school_id": {school}})
    assert set(got["school_id"]) == {school}
    assert len(got) == int((df["school_id"] == school).sum())


def test_the_layout_command_checks_renames_and_rewrites(tabs, tmp_path, capsys):
    import argparse

    from evaltools.data.cli import register

    def run(argv: list[str]) -> int:
        parser = argparse.ArgumentParser(prog="evaltools")
        register(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(argv)
        return args.func(args)

    schools = tabs["schools"]["school_id"].iloc[:4]
    py = tabs["pupil_years"][tabs["pupil_years"]["school_id"].isin(schools)]
    small = {"municipalities": tabs["municipalities"], "schools": tabs["schools"],
             "pupils": tabs["pupils"][tabs["pupils"]["pupil_id"].isin(py["pupil_id"])],
             "pupil_years": py.rename(columns={"year": "gads"})}
    src = tmp_path / "extract"
    src.mkdir()
    for name, df in small.items():
        df.to_csv(src / f"{name}.csv", index=False)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("pupil_years:\n  gads: year\n", encoding="utf-8")
    assert run(["data", "layout", str(src), "--out", str(tmp_path / "fast"), "--mapping", str(mapping)]) == 0
    assert "4 checked tables" in capsys.readouterr().out
    before = load_dataset(src, mapping=mapping)
    after = load_dataset(tmp_path / "fast")
    for name in small:  # a blank CSV cell is NaN, a Parquet null None: the same missing value
        a, b = (_by_key(x[name], name) for x in (after, before))
        pd.testing.assert_frame_equal(a.astype(object).where(a.notna(), None), b.astype(object).where(b.notna(), None))
        assert list(a.dtypes) == list(b.dtypes)
    assert run(["data", "layout", str(src), "--out", str(tmp_path / "fast")]) == 2  # never over a folder
    assert "not empty" in capsys.readouterr().err
    assert run(["data", "layout", str(src), "--out", str(tmp_path / "x")]) == 2  # unmapped 'gads': a clear error
    err = capsys.readouterr().err
    assert "year" in err and "Traceback" not in err


def test_after_a_whole_read_passed_each_areas_read_skips_the_checks(laid_out, monkeypatch, tmp_path):
    monkeypatch.setenv(io.CHECK_CACHE_ENV, str(tmp_path / "cache"))
    needs = {"municipalities": None, "schools": None, "pupil_years": ["grade", "status"]}
    names = sorted(pd.read_parquet(laid_out / "municipalities.parquet")["name"])
    checked = load_dataset(laid_out, needs=needs, municipality=names[0])  # checked: its own rows only
    load_dataset(laid_out, needs={t: None for t in needs})  # every row and column passes once

    real = io.check_table

    def no_check(df, table, file):
        if table == "municipalities":  # the area's names are looked up in a checked table (43 rows)
            return real(df, table, file)
        raise AssertionError("checked again")

    monkeypatch.setattr(io, "check_table", no_check)
    again = load_dataset(laid_out, needs=needs, municipality=names[0])
    for table in needs:
        pd.testing.assert_frame_equal(again[table], checked[table])
    other = load_dataset(laid_out, needs=needs, municipality=names[1])  # never read before: not checked
    assert len(other["pupil_years"]) > 0
    with pytest.raises(AssertionError, match="checked again"):  # another file version: checked
        load_dataset(SAMPLE, needs=needs, municipality=names[1])
