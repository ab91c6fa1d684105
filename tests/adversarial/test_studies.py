"""Adversarial cases for what the three studies publish (issue 12, items 1 and 9).

Each case builds what a study would publish (kernel-free, through the studies'
publishing functions and the report layer) for an area, period or input chosen to
produce small counts, and attacks it as a reader holding results.json would
(``tests/study_attack.py``: rate x visible base, rounding intervals, totals minus
rows, linked tables). Every case asserts that no count between 1 and the threshold
can be recovered, and where a small count exists in the data, that it is hidden.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from evaltools import indicators
from evaltools.report.disclosure import set_defaults
from tests.study_attack import as_published, attack

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "sample"
THR = 10

# small municipalities (two schools each in the sample) and periods with few leavers
MUNICIPALITIES = ["Ādažu novads", "Jelgavas novads", "Siguldas novads", "Madonas novads", "Valmieras novads"]
PERIODS = [(2016, 2019), (2020, 2023), (2018, 2018)]


@pytest.fixture(scope="module")
def sample():
    from evaltools.data import load_dataset

    set_defaults(threshold=THR)
    return load_dataset(DATA, tables=["assessments"])


def _publish(sample, name, first, last, threshold=THR):
    from evaltools.studies import municipal

    area = indicators.select_area(sample, name, first, last)
    years = sample["pupil_years"]["year"]
    pub = municipal.publish(sample, area, total_label=area.name or "Latvija", latvia_label="Latvija",
                            trend_years=(int(years.min()), int(years.max())), threshold=threshold)
    return area, pub


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: f"{p[0]}-{p[1]}")
@pytest.mark.parametrize("name", MUNICIPALITIES)
def test_municipal_report_of_a_small_area_leaks_no_small_count(sample, name, period):
    area, pub = _publish(sample, name, *period)
    objects = {"indicators": pub.indicators, "early_leaving_trend": pub.trend, "ce9_means": pub.exams,
               "early_leaving_rate_published": pub.headline}
    assert attack(as_published(objects), THR) == []
    truth = indicators.indicator_table(sample, area, area.name)
    for unit in truth.index:  # every small count of the data is hidden, with the shares built on it
        for count, share in (("left_early", "early_leaving_pct"), ("repeated", "repeated_pct")):
            if 0 < truth.at[unit, count] < THR:
                assert pub.indicators.hidden.at[unit, count] and pub.indicators.hidden.at[unit, share]
    total_leavers = truth.at[area.name, "left_early"]
    rest = truth.at[area.name, "pupil_years_5_12"] - total_leavers
    if 0 < total_leavers < THR or 0 < rest < THR:
        assert pub.headline.hidden  # the headline rate with its pupil-years would give them back


@pytest.mark.parametrize("threshold", [5, 20, 50])
def test_municipal_report_with_another_threshold(sample, threshold):
    _, pub = _publish(sample, "Valmieras novads", 2016, 2019, threshold=threshold)
    objects = {"indicators": pub.indicators, "early_leaving_trend": pub.trend, "ce9_means": pub.exams,
               "early_leaving_rate_published": pub.headline}
    assert attack(as_published(objects), threshold) == []
    assert all(t.threshold == threshold for t in (pub.indicators, pub.trend, pub.exams))


# -- dropout_prevention: regions, costs --------------------------------------------------


@pytest.fixture(scope="module")
def pumpurs():
    from evaltools.data import load_dataset

    return load_dataset(DATA, tables=["pumpurs_schools", "risk_scores", "support_plans", "support_measures",
                                      "assessments"])


@pytest.mark.parametrize("region,first,last", [("Latgale", 2014, 2023), ("Vidzeme", 2017, 2018),
                                               ("Kurzeme", 2019, 2019), ("Zemgale", 2016, 2017)])
def test_dropout_rates_and_costs_of_a_small_area_leak_no_small_count(pumpurs, region, first, last):
    from evaltools.studies import dropout

    data = dropout.prepare(pumpurs, region=region, first_year=first, last_year=last, threshold=60.0)
    rates = dropout.naive_rates(data, threshold=THR)
    costs = dropout.support_costs(data)
    objects = dict(rates)
    if costs["total"] > 0:
        objects.update(dropout.cost_tables(data, costs, threshold=THR))
    assert attack(as_published(objects), THR) == []
    p = data.pumpurs
    k = int(p.loc[p["supported"], "left_early"].sum())
    if 0 < k < THR:
        assert rates["leaving_rate_supported"].hidden


def _cost_case(costs_by_pupil):
    from types import SimpleNamespace

    rows = [{"pupil_id": f"P{t[:2]}{i}", "type": t, "cost_eur": c} for t, cs in costs_by_pupil.items()
            for i, c in enumerate(cs)]
    m = pd.DataFrame(rows)
    by_type = m.groupby("type")["cost_eur"].sum().sort_values(ascending=False)
    costs = {"total": float(m["cost_eur"].sum()), "by_type": by_type,
             "pupils_by_type": m.groupby("type")["pupil_id"].nunique().astype("int64"),
             "supported_pupils": int(m["pupil_id"].nunique()), "supported_pupil_years": int(m["pupil_id"].nunique())}
    return SimpleNamespace(measures=m), costs


COST_CASES = {
    "few_contributors": ({"meals": [30.0] * 40, "dormitory": [200.0] * 3}, "dormitory"),
    "one_dominates_nk": ({"meals": [30.0] * 40, "psychologist": [9000.0] + [20.0] * 20}, "psychologist"),
    "two_dominate_p": ({"meals": [30.0] * 40, "transport": [3000.0, 2900.0] + [5.0] * 12}, "transport"),
    "single_pupil_total": ({"meals": [30.0] * 40, "transport": [25.0] * 30, "tutor": [500.0]}, "tutor"),
}


@pytest.mark.parametrize("case", sorted(COST_CASES))
def test_cost_table_hides_a_dominated_or_thin_cost_and_cannot_be_differenced(case):
    from evaltools.studies import dropout

    spec, sensitive = COST_CASES[case]
    data, costs = _cost_case(spec)
    out = dropout.cost_tables(data, costs, threshold=THR)
    table, total = out["costs"], out["costs_total"]
    assert table.hidden.at[sensitive, "cost"] and table.hidden["share"].all()
    # the total minus the visible costs must not give the sensitive one back
    assert total.hidden.at["total", "cost"] or int(table.hidden["cost"].sum()) >= 2
    assert attack(as_published(out), THR) == []


# -- alumni_programme: survival curves and shares ------------------------------------


SURVIVAL_CASES = {
    "few_leave_first_year": ([100, 95, 90], [3, 20, 15], [True, True, True]),
    "almost_all_leave": ([100, 30, 25], [70, 5, 12], [False, True, True]),
    "few_left_at_risk": ([100, 50, 8], [25, 15, 2], [False, False, True]),
    "no_one_leaves": ([50, 50, 50], [0, 0, 0], [False, False, False]),
}


@pytest.mark.parametrize("case", sorted(SURVIVAL_CASES))
def test_survival_curve_never_shows_a_step_of_a_small_count(case):
    from evaltools.studies import alumni

    at_risk, events, hidden = SURVIVAL_CASES[case]
    idx = pd.MultiIndex.from_product([["treated"], [1, 2, 3]], names=["curve", "time"])
    s = np.cumprod([1 - e / n for e, n in zip(events, at_risk)])
    frame = pd.DataFrame({"at_risk": at_risk, "events": events, "survival": s}, index=idx)
    p = alumni.protect_survival(frame.astype({"at_risk": "int64", "events": "int64"}), threshold=THR)
    assert list(p.hidden["survival"]) == hidden
    # what is plotted (survival only) times the legend's n cannot pin a small number of leavers
    shown = p.drop(["at_risk", "events"])
    first = shown.data["survival"].iloc[0]
    if not np.isnan(first):
        k = round((1 - first) * at_risk[0])
        assert k == 0 or k >= THR


@pytest.mark.parametrize("left,total", [(3, 200), (9, 9), (195, 200), (0, 5), (12, 15)])
def test_share_value_is_hidden_when_it_gives_back_a_small_count(left, total):
    from evaltools.studies import alumni

    v = alumni.share_value(pd.DataFrame({"x": [1] * left + [0] * (total - left)}), "x", threshold=THR)
    recoverable = [k for k in (left, total - left, total) if 0 < k < THR]
    assert v.hidden == bool(recoverable)
    assert attack(as_published({"v": v}), THR) == []


# -- figures: only published figures reach the funder view ------------------------------


@pytest.mark.parametrize("mime", ["image/png", "image/jpeg", "image/svg+xml"])
def test_render_fails_a_funder_cell_with_an_unpublished_image(mime):
    from evaltools.report.render import UnpublishedFigureError, check_figures_published

    c = nbformat.v4.new_code_cell("plt.show()")
    c.outputs = [nbformat.v4.new_output("display_data", data={mime: "AAAA", "text/plain": "<Figure>"})]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), c])
    with pytest.raises(UnpublishedFigureError) as err:
        check_figures_published(nb, "study.ipynb")
    text = str(err.value)
    assert "study.ipynb" in text and "cell(s) 1" in text and "Traceback" not in text


@pytest.mark.parametrize("notebook", ["municipal_quality", "dropout_prevention", "alumni_programme"])
def test_shipped_notebooks_show_no_figure_outside_publish_figure(notebook):
    """Static check of the funder cells: a figure is shown only through publish_figure."""
    nb = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    for i, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags") or [])
        if cell.cell_type != "code" or tags & {"researcher", "parameters"}:
            continue
        src = cell.source
        assert "plt.show(" not in src and "display(fig)" not in src, f"cell {i}"
        if "fig =" in src:
            assert "publish_figure(fig" in src, f"cell {i}"
