"""Disclosure control of what the three studies publish (issue 12, item 1).

Kernel-free where possible: the studies' publishing functions are called directly and
what they would record is attacked with ``tests/study_attack.py`` (rate x visible base,
rounding intervals, totals minus rows, linked tables). One municipal run goes through the
runner and its published folder is attacked as a reader would (results.json, report.html).
"""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evaltools import indicators
from evaltools.report.disclosure import set_defaults
from tests import ROOT
from tests.study_attack import as_published, attack, load

DATA = ROOT / "data" / "sample"
THR = 10


@pytest.fixture(scope="module")
def sample():
    from evaltools.data import load_dataset

    set_defaults(threshold=THR)
    return load_dataset(DATA, tables=["assessments"])


def municipal(sample, name: str, first: int, last: int):
    from evaltools.studies import municipal as mq

    area = indicators.select_area(sample, name, first, last)
    years = sample["pupil_years"]["year"]
    pub = mq.publish(sample, area, total_label=area.name or "Latvija", latvia_label="Latvija",
                     trend_years=(int(years.min()), int(years.max())), threshold=THR)
    return area, pub


# -- municipal_quality: the Valmiera leaks of the issue ---------------------------------


def _small_leavers(sample, first: int, last: int) -> str:
    """The first municipality (Latvian order of names) with 1 to THR - 1 early leavers in the period,
    found in the data rather than named (the issue's case was Valmiera with 6; the sample moves)."""
    for name in sorted(sample["municipalities"]["name"]):
        area = indicators.select_area(sample, name, first, last)
        table = indicators.indicator_table(sample, area, name)
        if 0 < int(table.loc[name, "left_early"]) < THR:
            return name
    pytest.fail(f"no municipality of the sample has 1-{THR - 1} early leavers in {first}-{last}")


@pytest.fixture(scope="module")
def small_leavers(sample) -> str:
    return _small_leavers(sample, 2016, 2019)


def test_a_headline_rate_cannot_give_back_the_hidden_leavers(sample, small_leavers):
    area, pub = municipal(sample, small_leavers, 2016, 2019)
    assert pub.indicators.hidden.at[small_leavers, "left_early"]
    assert pub.headline.hidden and pub.headline.value is None  # no rate to multiply by the pupil-years
    assert not pub.headline_visible


def _small_repetition(sample, first: int, last: int):
    """The first municipality (in the order of the table) whose indicator table has a school with
    1 to THR - 1 repeaters in the period, found in the data rather than named (the sample moves)."""
    for name in sorted(sample["municipalities"]["name"]):
        area, pub = municipal(sample, name, first, last)
        table = indicators.indicator_table(sample, area, name)
        small = table.index[(table["repeated"] > 0) & (table["repeated"] < THR)]
        if len(small):
            return pub, small
    pytest.fail(f"no municipality of the sample has a school with 1-{THR - 1} repeaters in {first}-{last}")


def test_a_small_repetition_share_has_a_protected_numerator(sample):
    pub, small = _small_repetition(sample, 2016, 2019)
    for row in small:
        assert pub.indicators.hidden.at[row, "repeated"] and pub.indicators.hidden.at[row, "repeated_pct"]
    # every visible share times its visible base gives a count of 0 or >= threshold
    shown = pub.indicators.data
    ok = ~pub.indicators.hidden["repeated_pct"] & ~pub.indicators.hidden["pupil_years"]
    k = (shown.loc[ok, "repeated_pct"] * shown.loc[ok, "pupil_years"] / 100).round()
    assert not ((k > 0) & (k < THR)).any()


def test_valmiera_trend_hides_the_years_the_table_hides(sample):
    area, pub = municipal(sample, "Valmieras novads", 2016, 2019)
    trend = pub.trend
    period = [("Valmieras novads", y) for y in range(2016, 2020)]
    hidden = [trend.hidden.at[ix, "left_early"] for ix in period]
    # the period total is hidden, so the years it sums may not all be visible
    assert sum(hidden) >= 2 or (not any(hidden) and not pub.indicators.hidden.at["Valmieras novads", "left_early"])
    for ix in trend.data.index:  # a plotted rate is hidden with its leavers
        if trend.hidden.at[ix, "left_early"]:
            assert trend.hidden.at[ix, "early_leaving_pct"]
    assert attack(as_published({"indicators": pub.indicators, "early_leaving_trend": pub.trend,
                                "ce9_means": pub.exams, "early_leaving_rate_published": pub.headline}), THR) == []


def _logit_interval(score, deff: float) -> tuple[float, float]:
    """The promised interval, by hand: 95 % normal interval of the mean on the logit scale of
    score/100 with SE = sd / sqrt(n / deff), back-transformed (docs/municipal_quality.md)."""
    from scipy import stats

    u = score.mean() / 100
    se = score.std(ddof=1) / math.sqrt(len(score) / deff) / 100 / (u * (1 - u))
    z = stats.norm.ppf(0.975)
    logit = math.log(u / (1 - u))
    return tuple(100 / (1 + math.exp(-(logit + k * z * se))) for k in (-1, 1))


def test_exam_chart_plots_only_what_the_table_shows_with_the_promised_interval(sample):
    area, pub = municipal(sample, "Valmieras novads", 2016, 2019)
    ex, ind = pub.exams, pub.indicators
    for unit in ex.data.index:
        assert ex.hidden.at[unit, "ce9_mean"] == ind.hidden.at[unit, "ce9_mean"]
        if not ex.hidden.at[unit, "ce9_mean"]:
            assert ex.data.at[unit, "ce9_mean"] == pytest.approx(ind.data.at[unit, "ce9_mean"])
    frame = indicators.pupil_years(sample, area)
    s = indicators.exam_scores(sample, frame, "ce9")
    s = s[s["unit"] == "Valmieras 13. vidusskola"]["score"].dropna()
    low, high = _logit_interval(s, deff=1.0)  # one school: its pupils are independent
    assert 0 < low < s.mean() < high < 100
    assert (ex.data.at["Valmieras 13. vidusskola", "ce9_low"], ex.data.at["Valmieras 13. vidusskola", "ce9_high"]) \
        == pytest.approx((low, high))


def test_latvia_exam_intervals_are_clustered_by_school(sample):
    area, pub = municipal(sample, "all", 2020, 2023)
    frame = indicators.pupil_years(sample, area)
    s = indicators.exam_scores(sample, frame, "ce9")[["unit", "score", "school_id"]].dropna()
    # between-school correlation of Latvia's schools (one-way ANOVA estimator, by hand)
    groups = s.groupby("school_id")["score"]
    n, N, G = groups.size(), len(s), s["school_id"].nunique()
    msb = (n * (groups.mean() - s["score"].mean()) ** 2).sum() / (G - 1)
    msw = ((s["score"] - groups.transform("mean")) ** 2).sum() / (N - G)
    n0 = (N - (n ** 2).sum() / N) / (G - 1)
    icc = max(0.0, (msb - msw) / (msb + (n0 - 1) * msw))
    assert icc > 0
    unit = next(u for u in pub.exams.data.index if not pub.exams.hidden.at[u, "ce9_mean"]
                and s.loc[s["unit"] == u, "school_id"].nunique() >= 2)
    sub = s[s["unit"] == unit]
    m = sub.groupby("school_id").size()
    deff = 1 + ((m ** 2).sum() / m.sum() - 1) * icc
    low, high = _logit_interval(sub["score"], deff)
    assert (pub.exams.data.at[unit, "ce9_low"], pub.exams.data.at[unit, "ce9_high"]) == pytest.approx((low, high))
    assert high - low > _logit_interval(sub["score"], 1.0)[1] - _logit_interval(sub["score"], 1.0)[0]
    assert pub.headline_visible  # Latvia: many leavers, the headline is shown


# -- dropout_prevention --------------------------------------------------------------


@pytest.fixture(scope="module")
def latgale():
    from evaltools.data import load_dataset
    from evaltools.studies import dropout

    ds = load_dataset(DATA, tables=["pumpurs_schools", "risk_scores", "support_plans", "support_measures",
                                    "assessments"])
    return dropout.prepare(ds, region="Latgale", first_year=2014, last_year=2023, threshold=60.0)


def test_naive_rates_are_protected_with_their_counts(latgale):
    from evaltools.studies import dropout

    rates = dropout.naive_rates(latgale, threshold=THR)
    p = latgale.pumpurs
    for key, rows in (("supported", p[p["supported"]]), ("unsupported", p[~p["supported"]])):
        v, k, n = rates[f"leaving_rate_{key}"], int(rows["left_early"].sum()), len(rows)
        assert v.hidden == (0 < k < THR or 0 < n - k < THR or n < THR)
        if not v.hidden:
            assert v.value == pytest.approx(round(100 * k / n, 1))
    # with a high threshold they hide
    high = dropout.naive_rates(latgale, threshold=10_000)
    assert all(v.hidden for v in high.values())


def test_public_estimate_drops_the_groups_fitted_rate():
    from evaltools.estimate.result import Estimate
    from evaltools.studies import dropout

    e = Estimate.from_normal("att", -0.04, 0.01, n={"units": 20, "pupil_years": 30},
                             diagnostics={"p_treated": 0.1, "p_untreated": 0.14, "iterations": 7})
    out = dropout.public(e)
    assert out.diagnostics == {"iterations": 7} and out.estimate == e.estimate and e.diagnostics["p_treated"] == 0.1


def _cost_data(costs_by_pupil: dict[str, list[float]]):
    from types import SimpleNamespace

    rows = [{"pupil_id": f"P{t}{i}", "type": t, "cost_eur": c} for t, cs in costs_by_pupil.items()
            for i, c in enumerate(cs)]
    m = pd.DataFrame(rows)
    by_type = m.groupby("type")["cost_eur"].sum().sort_values(ascending=False)
    costs = {"total": float(m["cost_eur"].sum()), "by_type": by_type,
             "pupils_by_type": m.groupby("type")["pupil_id"].nunique().astype("int64"),
             "supported_pupils": int(m["pupil_id"].nunique()), "supported_pupil_years": int(m["pupil_id"].nunique())}
    return SimpleNamespace(measures=m), costs


def test_cost_table_applies_dominance_and_protects_the_total_link():
    from evaltools.studies import dropout

    data, costs = _cost_data({"meals": [50.0] * 30, "transport": [40.0] * 25,
                              "dormitory": [5000.0] + [10.0] * 14})  # one pupil dominates the dormitory cost
    out = dropout.cost_tables(data, costs, threshold=THR)
    table, total = out["costs"], out["costs_total"]
    assert table.hidden.at["dormitory", "cost"]
    assert table.hidden["share"].all()  # the shares add up to 100 %
    # the total minus the visible types must not give the dormitory back
    assert total.hidden.at["total", "cost"] or int(table.hidden["cost"].sum()) >= 2
    published = as_published(out)
    assert attack(published, THR) == []


def test_cost_table_without_a_sensitive_cell_shows_everything():
    from evaltools.studies import dropout

    data, costs = _cost_data({"meals": [50.0 + i for i in range(30)], "transport": [40.0 + i for i in range(25)]})
    out = dropout.cost_tables(data, costs, threshold=THR)
    assert not out["costs"].hidden.to_numpy().any() and not out["costs_total"].hidden.to_numpy().any()
    assert out["costs"].data["share"].sum() == pytest.approx(1.0)


# -- alumni_programme ----------------------------------------------------------------


def test_survival_curve_stops_at_the_first_small_count():
    from evaltools.studies import alumni

    idx = pd.MultiIndex.from_product([["treated"], [1, 2, 3, 4]], names=["curve", "time"])
    frame = pd.DataFrame({"at_risk": [100, 80, 60, 40], "events": [20, 3, 15, 12],
                          "survival": [0.8, 0.77, 0.58, 0.4]}, index=idx).astype({"at_risk": "int64", "events": "int64"})
    p = alumni.protect_survival(frame, threshold=THR)
    assert list(p.hidden["survival"]) == [False, True, True, True]  # a step after a hidden count would give it back
    assert p.data["survival"].iloc[0] == pytest.approx(0.8)


def test_share_value_hides_a_small_numerator_or_rest():
    from evaltools.studies import alumni

    few = alumni.share_value(pd.DataFrame({"left": [1] * 4 + [0] * 96}), "left", threshold=THR)
    many = alumni.share_value(pd.DataFrame({"left": [1] * 40 + [0] * 60}), "left", threshold=THR)
    almost_all = alumni.share_value(pd.DataFrame({"left": [1] * 97 + [0] * 3}), "left", threshold=THR)
    assert few.hidden and almost_all.hidden and not many.hidden and many.value == pytest.approx(40.0)


# -- one run through the runner: the published folder under attack --------------------


@pytest.fixture(scope="module")
def valmiera_run(tmp_path_factory, small_leavers):
    """The Valmiera params file (2016-2019) run for the municipality with few leavers in that period."""
    root = tmp_path_factory.mktemp("proj")
    for name in ("notebooks", "params", "data"):
        (root / name).symlink_to(ROOT / name)
    out = subprocess.run([str(Path(sys.executable).parent / "evaltools"), "--root", str(root), "run",
                          "municipal_quality", "-p", "params/municipal_quality_valmiera.yaml",
                          "--set", f"municipality={small_leavers}"],
                         capture_output=True, text=True, cwd=root, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    runs = sorted((root / "reports" / "municipal_quality").glob("*valmiera"))
    yield runs[-1]
    shutil.rmtree(root, ignore_errors=True)


def test_valmiera_run_passes_the_attackers(valmiera_run):
    from evaltools.report.attack import attack_run

    results = load(valmiera_run)
    assert attack(results, THR) == []
    assert [str(f) for f in attack_run(valmiera_run, THR)] == []
    headline = json.loads((valmiera_run / "results.json").read_text())["early_leaving_rate"]
    assert headline.get("headline") and isinstance(headline["value"], str)  # the index shows no rate
    for name in ("early_leaving_trend", "ce9_means"):  # the figures' data are published with them
        assert results[name]["type"] == "protected_table"
    assert (valmiera_run / "figures" / "early_leaving_trend.png").is_file()


def test_valmiera_report_shows_no_rate_of_the_hidden_leavers(valmiera_run, sample, small_leavers):
    page = (valmiera_run / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page))
    row = indicators.indicator_table(sample, indicators.select_area(sample, small_leavers, 2016, 2019),
                                     small_leavers).loc[small_leavers]
    rate = 100 * row["left_early"] / row["pupil_years"]
    for shown in (f"{rate:.1f} %", f"{rate:.1f}%", f"{rate:.2f}"):  # the hidden rate in any rounding
        assert shown.replace(".", ",") not in text
    # exactly the published figures, each once (figures/ holds their PNG and SVG files)
    assert page.count("<img") == page.count("data:image/png") == len(list((valmiera_run / "figures").glob("*.png")))


@pytest.mark.slow
@pytest.mark.parametrize("params", sorted(p.name for p in (ROOT / "params").glob("*.yaml")))
def test_every_shipped_params_file_runs_and_passes_the_attackers(params, tmp_path):
    from evaltools.report.attack import attack_run

    study = re.search(r"^study:\s*(\S+)", (ROOT / "params" / params).read_text(), re.M).group(1)
    for name in ("notebooks", "params", "data"):
        (tmp_path / name).symlink_to(ROOT / name)
    out = subprocess.run([str(Path(sys.executable).parent / "evaltools"), "--root", str(tmp_path), "run", study,
                          "-p", f"params/{params}"], capture_output=True, text=True, cwd=tmp_path, timeout=1200)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    run = sorted((tmp_path / "reports" / study).glob(f"*{Path(params).stem}"))[-1]
    threshold = int(json.loads((run / "manifest.json").read_text())["parameters"].get("min_cell", THR))
    assert attack(load(run), threshold) == []
    assert [str(f) for f in attack_run(run, threshold)] == []
