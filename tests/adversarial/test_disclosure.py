"""Adversarial cases: no published number gives back a count below the threshold.

Four groups, each case a distinct parameter id:

- ``leak``: a run folder whose published files (results.json, tables/*.csv, *.xlsx) let
  an outsider recover a small count, by every route we know of (a visible small count, a
  single suppression beside a total, a rate and its visible base, a rounding interval,
  a share's rest, a yearly series against its period total, a headline against its table,
  an export that shows what the record hides, a dominated amount ...). The attacker
  (``attack_run``, which the runner calls on every run) must find each one, naming the
  file, record, row and column, never the value, and without a traceback.
- ``safe``: the same kinds of outputs made through the report layer (protect,
  protect_value, protect_linked, dominance rules): the attacker finds nothing.
- ``record``: ``record()`` refuses a leaky value at the cell that makes it, naming the
  record and never the value.
- ``floor``: a threshold below the floor is refused wherever it can be given, naming
  ``min_cell``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaltools.report import disclosure as sdc
from evaltools.report.attack import attack_run
from evaltools.report.disclosure import (
    DisclosureError,
    DisclosureInputError,
    Link,
    protect,
    protect_linked,
    protect_value,
    same,
)
from evaltools.report.record import to_jsonable

THR = 10
TRACEBACK = "Traceback (most recent call last)"


def write(d: Path, **records) -> None:
    """results.json as record() writes it."""
    (d / "results.json").write_text(json.dumps({k: {"value": to_jsonable(v)} for k, v in records.items()}))


def export(d: Path, name: str, frame: pd.DataFrame, kind: str = "csv") -> None:
    (d / "tables").mkdir(exist_ok=True)
    if kind == "csv":
        frame.to_csv(d / "tables" / f"{name}.csv", encoding="utf-8-sig")
    elif kind == "parquet":
        frame.to_parquet(d / "tables" / f"{name}.parquet")
    else:
        frame.to_excel(d / "tables" / f"{name}.xlsx", sheet_name=name)


def tampered(p: sdc.ProtectedTable, show: list[tuple]) -> sdc.ProtectedTable:
    """The table with some hidden cells shown again (what a careless hand-made table publishes)."""
    status = p.status.copy()
    for r, c in show:
        status.at[r, c] = ""
    return replace(p, status=status)


def restore(p: sdc.ProtectedTable, truth: pd.DataFrame, show: list[tuple]) -> sdc.ProtectedTable:
    t = tampered(p, show)
    data = t.data.copy()
    for r, c in show:
        data.at[r, c] = truth.at[r, c]
    return replace(t, data=data)


def lone(df: pd.DataFrame, cells: list[tuple], **kw) -> sdc.ProtectedTable:
    """A table that hides exactly ``cells`` (primary suppression only, no complements)."""
    p = protect(df, **kw)
    status = p.status.copy()
    status.loc[:, :] = ""
    for r, c in cells:
        status.at[r, c] = "primary"
    data = df.astype({c: float for c in p.counts}).copy()
    for r, c in cells:
        data.at[r, c] = np.nan
    return replace(p, status=status, data=data)


AREAS = ["north", "south", "east"]


def counts_with_total(values, cols=("pupils", "left")) -> pd.DataFrame:
    df = pd.DataFrame(values, index=AREAS[: len(values)], columns=list(cols))
    df.loc["Total"] = df.sum()
    return df.astype("int64")


# ---------------------------------------------------------------------------------- leak cases


@dataclass
class Leak:
    build: Callable[[Path], None]
    names: tuple[str, ...]  # one finding must name all of these
    secret: int  # the count that must never be written in a finding


def _visible_small(d):
    p = tampered(protect(counts_with_total([[120, 3], [200, 30]]), total_col=None), [("north", "left")])
    p = restore(p, counts_with_total([[120, 3], [200, 30]]), [("north", "left")])
    write(d, t=p)


def _plain_table_small(d):
    (d / "results.json").write_text(json.dumps({"t": {"value": {
        "type": "table", "columns": ["area", "pupils"], "data": [["north", 120], ["south", 4]]}}}))


def _estimate_n(d):
    (d / "results.json").write_text(json.dumps({"att": {"value": {
        "type": "estimate", "estimate": -0.5, "n": {"units": 400, "clusters": 7}}}}))


def _headline_pupils(d):
    (d / "results.json").write_text(json.dumps({"headline_card": {"value": {
        "type": "headline", "pupils": 6, "schools": 40}}}))


def _model_table(d):
    (d / "results.json").write_text(json.dumps({"models": {"value": {"type": "model_table", "table": {
        "type": "table", "columns": ["model", "term", "estimate", "n_clusters"],
        "data": [["OLS", "ATT", 0.1, 40], ["FE", "ATT", 0.2, 8]]}}}}))


def _nested_estimate(d):
    (d / "results.json").write_text(json.dumps({"cif": {"value": {"type": "cumulative_incidence", "treated": {
        "type": "estimate", "estimate": 0.3, "n": {"pupils": 3}}}}}))


def _total_row(d):
    df = counts_with_total([[120, 3], [200, 30]])
    write(d, t=lone(df, [("north", "left")], total_col=None))


def _total_col(d):
    df = pd.DataFrame({"girls": [4, 60], "boys": [50, 70]}, index=["north", "south"])
    df["Total"] = df.sum(axis=1)
    write(d, t=lone(df, [("north", "girls")], total_row=None))


def _chain(d):
    # hidden (north, a), (north, b), (south, a); (south, b) visible: south row, then column a
    df = pd.DataFrame({"a": [3, 12, 0], "b": [15, 40, 0]}, index=["north", "south", "east"])
    df["Total"] = df.sum(axis=1)
    df.loc["Total"] = df.sum()
    write(d, t=lone(df, [("north", "a"), ("north", "b"), ("south", "a")]))


def _narrowed(d):
    # "1 %" of 570 pupil-years: the numerator is one of 3 ... 8, every one a small count
    v = protect_value(1.0, denominator=570, percent=True, digits=0)
    write(d, rate=replace(v, value=1.0, status=""))


def _share_exact(d):
    df = pd.DataFrame({"py": [22, 300], "rep_pct": [100 / 22, 10.0]}, index=["north", "south"])
    write(d, t=protect(df, counts=["py"], denominators={"rep_pct": "py"}, total_row=None, total_col=None))


def _share_rounded(d):
    df = pd.DataFrame({"py": [22, 300], "rep_pct": [4.5, 10.0]}, index=["north", "south"])
    p = protect(df, counts=["py"], denominators={"rep_pct": "py"}, total_row=None, total_col=None,
                digits={"rep_pct": 1})
    write(d, t=replace(p, shares={"rep_pct": 100.0}))


def _share_whole_percent(d):
    df = pd.DataFrame({"py": [20, 300], "pct": [5.0, 10.0]}, index=["north", "south"])
    p = protect(df, counts=["py"], denominators={"pct": "py"}, total_row=None, total_col=None, digits={"pct": 0})
    write(d, t=replace(p, shares={"pct": 100.0}))


def _share_rest(d):
    df = pd.DataFrame({"py": [50, 300], "stayed_pct": [98.0, 90.0]}, index=["north", "south"])
    p = protect(df, counts=["py"], denominators={"stayed_pct": "py"}, total_row=None, total_col=None)
    write(d, t=replace(p, shares={"stayed_pct": 100.0}))


def _numerator_rest(d):
    df = pd.DataFrame({"n": [50, 400], "left": [49, 120]}, index=["north", "south"])
    df["pct"] = 100 * df["left"] / df["n"]
    p = protect(df, counts=["n", "left"], denominators={"pct": "n"}, numerators={"pct": "left"},
                total_row=None, total_col=None)
    write(d, t=restore(p, df, [(r, c) for r in df.index for c in df.columns]))


def _share_total_differencing(d):
    # the share of north is hidden, but the total row's share and south's give north's numerator
    df = pd.DataFrame({"py": [22, 300, 322], "rep_pct": [100 / 22, 10.0, 100 * 31 / 322]},
                      index=["north", "south", "Total"])
    p = protect(df, counts=["py"], denominators={"rep_pct": "py"}, shares={"rep_pct": 100}, total_col=None)
    write(d, t=restore(p, df, [("south", "rep_pct")]))


def _figure_rates(d):
    # a chart's data: yearly rates with their bases, while the counts are hidden
    years = [2019, 2020, 2021]
    df = pd.DataFrame({"py": [150, 160, 170], "left": [3, 20, 25]}, index=pd.Index(years, name="year"))
    df["pct"] = (100 * df["left"] / df["py"]).round(1)
    p = lone(df, [(2019, "left")], counts=["py", "left"], total_row=None, total_col=None)
    p = replace(p, denominators={"pct": ("py",)}, numerators={"pct": "left"}, digits={"pct": 1})
    write(d, **{"figure.trend": p})


def _valmiera_headline(d):
    v = protect_value(1.1, denominator=570, percent=True)
    v = replace(v, value=1.1, status="")  # shown anyway
    write(d, early_leaving_rate=v)


def _estimate_full_precision(d):
    (d / "results.json").write_text(json.dumps({"early_leaving_rate": {"value": {
        "type": "estimate", "estimate": 100 * 6 / 570, "n": {"pupil_years": 570, "clusters": 12}}}}))


def _value_numerator(d):
    v = replace(protect_value(40.0, numerator=20, denominator=50, percent=True), numerator=4)
    write(d, share=v)


def _series_vs_period(d):
    years = [2020, 2021, 2022]
    trend = pd.DataFrame({"n": [100, 120, 130], "left": [3, 12, 15]}, index=pd.Index(years, name="year"))
    period = pd.DataFrame({"n": [350, 1000], "left": [30, 40]}, index=["north", "south"])
    links = tuple(Link(("period", "north", "left"), [("trend", y, "left") for y in years]).to_dict() for _ in [0])
    t = replace(lone(trend, [(2020, "left")], counts=["n", "left"], total_row=None, total_col=None),
                name="trend", links=links)
    write(d, **{"figure.trend": t, "period": protect(period, total_row=None, total_col=None, name="period")})


def _two_tables_same_count(d):
    # table one hides north's 4 and its complement south; table two shows south's count
    one = counts_with_total([[120, 4], [200, 30]])
    p1 = replace(lone(one, [("north", "left"), ("south", "left")], total_col=None), name="one")
    two = pd.DataFrame({"left": [30, 66]}, index=["south", "east"])
    p2 = replace(protect(two, total_row=None, total_col=None, name="two"),
                 links=(same(("one", "south", "left"), ("two", "south", "left")).to_dict(),))
    write(d, one=p1, two=p2)


def _headline_vs_table(d):
    table = pd.DataFrame({"n": [400, 600, 1000], "left": [7, 40, 47]}, index=["north", "south", "Total"])
    p = replace(lone(table, [("north", "left"), ("Total", "left")], total_col=None), name="indicators")
    v = protect_value(4.7, denominator=1000, percent=True, name="headline")
    v = replace(v, links=(same(("headline", None, "numerator"), ("indicators", "Total", "left")).to_dict(),))
    write(d, indicators=p, headline=v)


def _multiindex_link(d):
    idx = pd.MultiIndex.from_tuples([("north", 2020), ("north", 2021)], names=["area", "year"])
    trend = pd.DataFrame({"left": [4, 20]}, index=idx)
    t = replace(lone(trend, [(("north", 2020), "left")], counts=["left"], total_row=None, total_col=None),
                name="trend", links=(Link(("period", "north", "left"),
                                          [("trend", ("north", 2020), "left"), ("trend", ("north", 2021), "left")]).to_dict(),))
    period = pd.DataFrame({"left": [24, 80]}, index=["north", "south"])
    write(d, trend=t, period=protect(period, total_row=None, total_col=None, name="period"))


def _csv_shows_hidden(d):
    df = counts_with_total([[120, 3], [200, 30]])
    p = protect(df, total_col=None)
    write(d, t=p)
    export(d, "t", df)


def _xlsx_shows_hidden(d):
    df = counts_with_total([[120, 3], [200, 30]])
    write(d, t=protect(df, total_col=None))
    export(d, "t", df, "xlsx")


def _parquet_shows_hidden(d):
    df = counts_with_total([[120, 3], [200, 30]])
    write(d, t=protect(df, total_col=None))
    export(d, "t", df, "parquet")


def _parquet_without_record(d):
    export(d, "extra", pd.DataFrame({"pupils": [120, 4]}, index=["north", "south"]), "parquet")


def _csv_without_record(d):
    export(d, "extra", pd.DataFrame({"pupils": [120, 4]}, index=["north", "south"]))


def _xlsx_without_record(d):
    export(d, "extra", pd.DataFrame({"pupils": [120, 4]}, index=["north", "south"]), "xlsx")


def _csv_share_beside_base(d):
    export(d, "rates", pd.DataFrame({"py": [300, 22], "rep_pct": [10.0, 100 / 22]}, index=["south", "north"]))


def _magnitude_exact(d):
    contributions = {"north": [100.0] * 12, "south": [9000.0, 5.0] + [5.0] * 10}
    contributions["Total"] = contributions["north"] + contributions["south"]
    df = pd.DataFrame({"cost": [sum(contributions[r]) for r in ["north", "south", "Total"]]},
                      index=["north", "south", "Total"])
    p = protect(df, counts=[], magnitudes={"cost": contributions}, total_col=None)
    write(d, costs=restore(p, df, [("north", "cost")]))


def _rounded_counts(d):
    # rounded to 5 but not suppressed: the 3 leavers show as 5, a group below the threshold
    df = counts_with_total([[120, 3], [200, 30]])
    p = protect(df, total_col=None, round_to=5)
    rounded = np.floor(df.astype(float) / 5 + 0.5) * 5
    write(d, t=replace(tampered(p, [("north", "left")]), data=rounded))


def _value_rest(d):
    v = protect_value(90.0, denominator=50, percent=True, digits=0)
    write(d, stayed=replace(v, value=98.0, status=""))


def _value_small_base(d):
    v = protect_value(3.4, denominator=22)
    write(d, mean=replace(v, denominator=7))


def _totals_do_not_add_up(d):
    # a hand-edited total: the system contradicts itself, so nothing hidden can be vouched for
    df = pd.DataFrame({"girls": [120, 200], "boys": [3, 30]}, index=["north", "south"])
    df["Total"] = df.sum(axis=1)
    df.loc["Total"] = df.sum()
    p = protect(df)
    data = p.data.copy()
    data.at["north", "Total"] = 100  # fewer than the girls alone
    write(d, t=replace(p, data=data))


LEAKS = {
    "visible-small-count-in-protected-table": Leak(_visible_small, ("results.json: t", '"north"', "'left'", "below"), 3),
    "visible-small-count-in-plain-table": Leak(_plain_table_small, ("results.json: t", "row 2", "'pupils'"), 4),
    "estimate-sample-size": Leak(_estimate_n, ("results.json: att", "n[clusters]"), 7),
    "headline-card-pupils": Leak(_headline_pupils, ("results.json: headline_card", "pupils"), 6),
    "model-table-n": Leak(_model_table, ("results.json: models", "row 2", "'n_clusters'"), 8),
    "nested-estimate-n": Leak(_nested_estimate, ("results.json: cif", "treated", "n[pupils]"), 3),
    "single-suppression-total-row": Leak(_total_row, ("results.json: t", '"north"', "'left'", "worked out"), 3),
    "single-suppression-total-column": Leak(_total_col, ("results.json: t", '"north"', "'girls'"), 4),
    "chain-through-rows-and-columns": Leak(_chain, ("results.json: t", '"north"', "'a'"), 3),
    "narrowed-to-small-counts": Leak(_narrowed, ("results.json: rate", "numerator", "rounding interval"), 6),
    "share-full-precision-beside-base": Leak(_share_exact, ("results.json: t", '"north"', "'rep_pct'", "exactly"), 1),
    "share-rounding-interval-one-decimal": Leak(_share_rounded, ("results.json: t", '"north"', "'rep_pct'"), 1),
    "share-rounding-interval-whole-percent": Leak(_share_whole_percent, ("results.json: t", '"north"', "'pct'"), 1),
    "share-rest-small": Leak(_share_rest, ("results.json: t", '"north"', "'stayed_pct'", "base minus"), 1),
    "numerator-and-base-shown-rest-small": Leak(_numerator_rest, ("results.json: t", '"north"', "base minus"), 1),
    "share-differencing-with-total-row": Leak(_share_total_differencing, ("results.json: t", '"north"', "'rep_pct'"), 1),
    "figure-rates-with-hidden-counts": Leak(_figure_rates, ("results.json: figure.trend", "2019", "'left'"), 3),
    "headline-rate-and-its-base": Leak(_valmiera_headline, ("results.json: early_leaving_rate", "numerator"), 6),
    "estimate-full-precision-rate": Leak(_estimate_full_precision, ("results.json: early_leaving_rate", "n[pupil_years]"), 6),
    "value-numerator-shown-small": Leak(_value_numerator, ("results.json: share", "numerator"), 4),
    "yearly-series-vs-period-total": Leak(_series_vs_period, ("results.json: figure.trend", "2020", "'left'"), 3),
    "same-count-in-two-tables": Leak(_two_tables_same_count, ("results.json: one", '"north"', "'left'"), 4),
    "headline-vs-table-total": Leak(_headline_vs_table, ("results.json: indicators", '"north"', "'left'"), 7),
    "multiindex-series-link": Leak(_multiindex_link, ("results.json: trend", '"north"', "2020", "'left'"), 4),
    "csv-shows-what-the-record-hides": Leak(_csv_shows_hidden, ("tables/t.csv", "row 1", "'left'"), 3),
    "xlsx-shows-what-the-record-hides": Leak(_xlsx_shows_hidden, ("tables/t.xlsx", "row 1", "'left'"), 3),
    "parquet-shows-what-the-record-hides": Leak(_parquet_shows_hidden, ("tables/t.parquet", "row 1", "'left'"), 3),
    "parquet-without-record-small-count": Leak(_parquet_without_record, ("tables/extra.parquet", "row 2", "'pupils'"), 4),
    "csv-without-record-small-count": Leak(_csv_without_record, ("tables/extra.csv", "row 2", "'pupils'"), 4),
    "xlsx-without-record-small-count": Leak(_xlsx_without_record, ("tables/extra.xlsx", "row 2", "'pupils'"), 4),
    "csv-share-beside-base": Leak(_csv_share_beside_base, ("tables/rates.csv", "row 2", "'rep_pct'"), 1),
    "magnitude-recovered-from-total": Leak(_magnitude_exact, ("results.json: costs", '"south"', "'cost'", "amount"), 9055),
    "rounded-count-below-threshold": Leak(_rounded_counts, ("results.json: t", '"north"', "'left'", "below"), 3),
    "value-rest-small": Leak(_value_rest, ("results.json: stayed", "base minus"), 1),
    "value-small-base": Leak(_value_small_base, ("results.json: mean", "denominator", "below"), 7),
    "totals-that-do-not-add-up": Leak(_totals_do_not_add_up, ("results.json: t", "do not add up"), 3),
}


def assert_clean(findings, names, secret) -> None:
    texts = [str(f) for f in findings]
    assert texts, "the attacker found nothing"
    assert any(all(n in t for n in names) for t in texts), (names, texts)
    for t in texts:
        assert TRACEBACK not in t and "Error(" not in t, t
        how = t.split(": ")[-1]  # the way: never a number of the table
        assert not re.search(r"\d", how), t
        assert not re.search(rf"(?<![\d.\w]){secret}(?![\d.])", t), (secret, t)


@pytest.mark.parametrize("case", list(LEAKS.values()), ids=list(LEAKS))
def test_leak_is_found_and_named_without_the_value(case, tmp_path):
    case.build(tmp_path)
    assert_clean(attack_run(tmp_path, THR), case.names, case.secret)


# ---------------------------------------------------------------------------------- safe cases


def _safe_protected_totals(d):
    write(d, t=protect(counts_with_total([[120, 3], [200, 30], [80, 9]]), total_col=None))


def _safe_two_totals(d):
    df = pd.DataFrame({"a": [3, 12, 20], "b": [15, 40, 2]}, index=AREAS)
    df["Total"] = df.sum(axis=1)
    df.loc["Total"] = df.sum()
    write(d, t=protect(df))


def _safe_shares(d):
    df = pd.DataFrame({"py": [22, 300, 150, 472], "rep_pct": [100 / 22, 10.0, 20.0, 100 * 61 / 472]},
                      index=AREAS + ["Total"])
    write(d, t=protect(df, counts=["py"], denominators={"rep_pct": "py"}, shares={"rep_pct": 100}, total_col=None))


def _safe_numerators(d):
    df = pd.DataFrame({"n": [50, 400, 300], "left": [49, 120, 4]}, index=AREAS)
    df.loc["Total"] = df.sum()
    df["pct"] = 100 * df["left"] / df["n"]
    write(d, t=protect(df, counts=["n", "left"], denominators={"pct": "n"}, numerators={"pct": "left"}, total_col=None))


def _safe_linked(d):
    years = [2020, 2021, 2022]
    trend = pd.DataFrame({"n": [100, 120, 130], "left": [3, 12, 15]}, index=pd.Index(years, name="year"))
    period = pd.DataFrame({"n": [350, 1000], "left": [30, 40]}, index=["north", "south"])
    period.loc["Total"] = period.sum()
    out = protect_linked(
        {"trend": {"data": trend, "counts": ["n", "left"], "total_row": None, "total_col": None},
         "period": {"data": period, "counts": ["n", "left"], "total_col": None}},
        [Link(("period", "north", c), [("trend", y, c) for y in years]) for c in ("n", "left")])
    write(d, **{"figure.trend": out["trend"], "period": out["period"]})


def _safe_headline_linked(d):
    table = pd.DataFrame({"n": [400, 600, 1000], "left": [7, 40, 47]}, index=["north", "south", "Total"])
    out = protect_linked(
        {"indicators": {"data": table, "counts": ["n", "left"], "total_col": None},
         "headline": {"value": 4.7, "denominator": 1000, "numerator": 47, "percent": True}},
        [same(("headline", None, "numerator"), ("indicators", "Total", "left"))])
    write(d, **out)


def _safe_values(d):
    write(d, hidden=protect_value(100 * 6 / 570, denominator=570, percent=True),
          shown=protect_value(100 * 87 / 570, denominator=570, percent=True),
          mean=protect_value(3.4, denominator=8), zero=protect_value(0.0, denominator=50, percent=True))


def _safe_magnitudes(d):
    contributions = {"north": [100.0, 120.0, 130.0] * 4, "south": [9000.0] + [5.0] * 11}
    contributions["Total"] = contributions["north"] + contributions["south"]
    df = pd.DataFrame({"pupils": [12, 12, 24]}, index=["north", "south", "Total"])
    df["cost"] = [sum(contributions[r]) for r in df.index]
    write(d, costs=protect(df, counts=["pupils"], magnitudes={"cost": contributions}, total_col=None))


def _safe_estimate_marker(d):
    (d / "results.json").write_text(json.dumps({"att": {"value": {
        "type": "estimate", "estimate": -4.383004616268486, "n": {"units": 1589, "clusters": "<10"}}}}))


def _safe_zeros(d):
    write(d, t=protect(counts_with_total([[120, 0], [200, 30]]), total_col=None))


def _safe_rounded(d):
    write(d, t=protect(counts_with_total([[121, 3], [203, 31], [88, 12]]), total_col=None, round_to=5))


def _safe_csv_matches(d):
    p = protect(counts_with_total([[120, 3], [200, 30], [80, 9]]), total_col=None)
    write(d, t=p)
    export(d, "t", p.to_frame())
    export(d, "t", p.to_frame(), "xlsx")
    export(d, "t", p.data, "parquet")  # hidden cells empty (null), as a BI export holds them


def _safe_large_share(d):
    (d / "results.json").write_text(json.dumps({"rate_latvia": {"value": {
        "type": "estimate", "estimate": 100 * 615 / 46661, "n": {"observations": 46661, "clusters": 85}}}}))


def _safe_plain_table(d):
    (d / "results.json").write_text(json.dumps({"t": {"value": {
        "type": "table", "columns": ["area", "pupils"], "data": [["north", 120], ["south", 40]]}}}))


def _safe_tiny_share_of_big_base(d):
    write(d, v=protect_value(0.0, denominator=100_000, percent=True, digits=1))


def _safe_model_table_marker(d):
    (d / "results.json").write_text(json.dumps({"models": {"value": {"type": "model_table", "table": {
        "type": "table", "columns": ["model", "n_clusters"], "data": [["OLS", 40], ["FE", "[c]"]]}}}}))


def _safe_dropout_style_exports(d):
    df = pd.DataFrame({"pupils": [996, 702], "effect": [-4.529959679591973, -4.851391122367196]},
                      index=["tutor", "psychologist"])
    p = protect(df, counts=["pupils"], denominators={"effect": "pupils"}, total_row=None, total_col=None)
    write(d, measures=p)
    export(d, "measures", p.to_frame())


def _safe_share_on_another_base(d):
    # a share declared on the wrong scale contradicts its base: the attacker drops the rounding
    # intervals (never trusts a contradiction) and still checks the totals
    df = pd.DataFrame({"py": [400, 300, 700], "pct": [12.5, 10.0, 100 * 80 / 700]}, index=["north", "south", "Total"])
    p = protect(df, counts=["py"], denominators={"pct": "py"}, shares={"pct": 100}, total_col=None)
    write(d, t=replace(p, shares={"pct": 1.0}))


SAFE = {
    "protected-table-with-total-row": _safe_protected_totals,
    "protected-table-with-both-totals": _safe_two_totals,
    "protected-shares-with-total": _safe_shares,
    "protected-numerators-and-rests": _safe_numerators,
    "linked-series-and-period": _safe_linked,
    "headline-linked-to-table": _safe_headline_linked,
    "protected-values": _safe_values,
    "dominance-protected-costs": _safe_magnitudes,
    "estimate-with-marked-n": _safe_estimate_marker,
    "zero-counts-shown": _safe_zeros,
    "rounded-protected-table": _safe_rounded,
    "exports-match-their-record": _safe_csv_matches,
    "large-share-full-precision": _safe_large_share,
    "plain-table-large-counts": _safe_plain_table,
    "zero-share-of-large-base": _safe_tiny_share_of_big_base,
    "model-table-with-marker": _safe_model_table_marker,
    "effects-beside-counts": _safe_dropout_style_exports,
    "share-contradicting-its-base": _safe_share_on_another_base,
}


@pytest.mark.parametrize("build", list(SAFE.values()), ids=list(SAFE))
def test_output_of_the_report_layer_passes_the_attacker(build, tmp_path):
    build(tmp_path)
    assert attack_run(tmp_path, THR) == []


# ---------------------------------------------------------------------------------- record()


@pytest.fixture
def in_run(monkeypatch, tmp_path):
    from evaltools.report.record import RUN_DIR_ENV, clear

    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    clear()
    yield tmp_path
    clear()


def _rec_estimate():
    from evaltools.estimate import Estimate

    return Estimate.from_normal("rate", 100 * 6 / 570, 0.3, n={"pupil_years": 570})


RECORDS = {
    "record-full-precision-rate": (_rec_estimate, ("early_leaving_rate", "n[pupil_years]"), 6),
    "record-single-suppression": (lambda: lone(counts_with_total([[120, 3], [200, 30]]), [("north", "left")],
                                               total_col=None), ("results.json: t", "'left'"), 3),
    "record-shown-small-value-numerator": (
        lambda: replace(protect_value(40.0, numerator=20, denominator=50, percent=True), numerator=4),
        ("share", "numerator"), 4),
}


@pytest.mark.parametrize("case", list(RECORDS.values()), ids=list(RECORDS))
def test_record_refuses_a_leaky_value_naming_it(case, in_run):
    from evaltools.report.record import record, recorded

    make, names, secret = case
    name = names[0].replace("results.json: ", "") if names[0].startswith("results.json") else names[0]
    name = {"early_leaving_rate": "early_leaving_rate", "t": "t", "share": "share"}[name]
    with pytest.raises(DisclosureError) as info:
        record(name, make())
    text = str(info.value)
    assert f"record({name!r})" in text and TRACEBACK not in text
    assert all(n.replace("results.json: ", "") in text for n in names[1:])
    assert not re.search(rf"(?<![\d.\w]){secret}(?![\d.])", text.split("recover")[1]), text
    assert name not in recorded()


# ---------------------------------------------------------------------------------- the floor


FLOOR = {
    "set-defaults-below-floor": lambda: sdc.set_defaults(threshold=3),
    "set-defaults-zero": lambda: sdc.set_defaults(threshold=0),
    "protect-threshold-one": lambda: protect(pd.DataFrame({"n": [30]}), threshold=1),
    "safe-count-threshold-two": lambda: sdc.safe_count(12, threshold=2),
    "protect-value-threshold-four": lambda: protect_value(1.0, denominator=50, threshold=4),
    "protect-linked-threshold-three": lambda: protect_linked({"a": {"data": pd.DataFrame({"n": [30]})}}, threshold=3),
    "assert-safe-threshold-two": lambda: sdc.assert_safe(pd.DataFrame({"n": [30]}), threshold=2, counts=["n"]),
    "negative-threshold": lambda: sdc.set_defaults(threshold=-10),
}


@pytest.mark.parametrize("call", list(FLOOR.values()), ids=list(FLOOR))
def test_threshold_below_the_floor_is_refused(call, monkeypatch, tmp_path):
    monkeypatch.setenv("EVALTOOLS_ROOT", str(tmp_path))
    before = sdc.get_threshold()
    with pytest.raises(DisclosureInputError) as info:
        call()
    text = str(info.value)
    assert "min_cell" in text and "floor 5" in text and TRACEBACK not in text
    assert sdc.get_threshold() == before


def test_a_project_floor_raises_the_bar(monkeypatch, tmp_path):
    monkeypatch.setenv("EVALTOOLS_ROOT", str(tmp_path))
    (tmp_path / "disclosure.yaml").write_text("min_cell_floor: 15\n")
    with pytest.raises(DisclosureInputError, match="min_cell = 12 is below the disclosure floor 15"):
        sdc.set_defaults(threshold=12)
