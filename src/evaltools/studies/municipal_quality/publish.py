"""What the municipal education-quality study publishes, protected together.

The study publishes one period's indicators by unit (school or municipality)
with the area's total row, the early-leaving series by school year that its
trend chart plots, the headline rate (the total row's rate, with its
pupil-years) and the grade-9 exam means that its exam chart plots. These share
counts: the area's leavers in the period are the total row of the table, the
numerator of the headline rate *and* the sum of the period's years in the
series; the exam chart's sitters are the table's. Protected one by one, a count
hidden in one could be worked out from another (the headline rate times its
pupil-years gave back the 6 Valmiera leavers the table hid).

:func:`publish` protects them as one system with
:func:`evaltools.report.disclosure.protect_linked` (links: period total = sum of
the period's years; headline numerator and base = the total row; chart sitters =
table sitters), so a count hidden anywhere stays hidden everywhere it could be
worked out from (Hundepool et al. 2012, *Statistical Disclosure Control*, Wiley,
ch. 4, linked tables). The notebook shows and records these tables as they are;
nothing published is recomputed from the data.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset
from evaltools.studies.municipal_quality import indicators

LINKED = ("left_early", "pupil_years_5_12")  # counts shown both by unit (period) and by year
TREND_COLUMNS = ["pupil_years_5_12", "left_early", "early_leaving_pct"]
EXAM_COLUMNS = ["ce9_n", "ce9_mean", "ce9_low", "ce9_high"]
NAMES = {"indicators": "indicators", "trend": "early_leaving_trend", "exams": "ce9_means",
         "headline": "early_leaving_rate_published"}


@dataclass(frozen=True)
class Published:
    """The protected tables of one municipal report; record each under its ``name``."""

    indicators: Any  # ProtectedTable: units x indicators, total row = the area
    trend: Any  # ProtectedTable: (area, year) x pupil_years_5_12, left_early, early_leaving_pct
    exams: Any  # ProtectedTable: units x ce9_n, ce9_mean, ce9_low, ce9_high
    headline: Any  # ProtectedValue: the area's early-leaving rate (%) with its pupil-years
    total_label: str

    @property
    def headline_visible(self) -> bool:
        """Whether the area's early-leaving rate may be published."""
        return not self.headline.hidden

    def total(self, column: str) -> float | None:
        """The area's published total of ``column`` in the indicator table (``None`` when hidden)."""
        if self.indicators.hidden.at[self.total_label, column]:
            return None
        return float(self.indicators.data.at[self.total_label, column])


def publish(
    data: Dataset,
    area: indicators.Area,
    *,
    total_label: str,
    latvia_label: str,
    trend_years: tuple[int, int],
    threshold: int | None = None,
    labels: Mapping[str, str] | Callable[[str], str] | None = None,
    index_label: str | None = None,
    caption: str | None = None,
    language: str | None = None,
) -> Published:
    """Indicators, trend series, exam means and the headline rate of ``area``, protected together.

    ``labels`` (column name -> display label, or a function of the column name), ``index_label``, ``caption`` and
    ``language`` only change how the indicator table displays; the recorded tables
    keep the column names of :mod:`evaltools.studies.municipal_quality.indicators`.
    """
    from evaltools.report.disclosure import Link, protect_linked, same

    table = indicators.indicator_table(data, area, total_label=total_label)
    if callable(labels):
        labels = {c: labels(c) for c in table.columns}
    if index_label:
        table = table.rename_axis(index_label)
    units = [u for u in table.index if u != total_label]
    whole = replace(area, first_year=trend_years[0], last_year=trend_years[1])
    series = [_series(indicators.early_leaving_by_year(data, whole), total_label)]
    if area.municipality_id is not None:
        series.append(_series(indicators.early_leaving_by_year(data, whole, whole_country=True), latvia_label))
    trend = pd.concat(series)
    frame = indicators.pupil_years(data, area)
    exams = exam_means(data, frame, area, units)
    total = table.loc[total_label]
    rate = float(total["early_leaving_pct"]) if total["pupil_years_5_12"] else None
    specs: dict[str, dict[str, Any]] = {
        NAMES["indicators"]: {
            "data": table, "counts": indicators.COUNT_COLUMNS + ["pupil_years_5_12"],
            "denominators": indicators.DENOMINATORS, "numerators": indicators.NUMERATORS,
            "total_row": total_label, "total_col": None, "labels": dict(labels or {}),
            "digits": {c: 1 for c in indicators.DENOMINATORS}, "caption": caption, "language": language,
        },
        NAMES["trend"]: {
            "data": trend, "counts": ["pupil_years_5_12", "left_early"],
            "denominators": {"early_leaving_pct": "pupil_years_5_12"},
            "numerators": {"early_leaving_pct": "left_early"}, "total_row": None, "total_col": None,
        },
        NAMES["exams"]: {
            "data": exams, "counts": ["ce9_n"], "denominators": {c: "ce9_n" for c in EXAM_COLUMNS[1:]},
            "total_row": None, "total_col": None,
        },
        NAMES["headline"]: {
            "value": rate, "numerator": int(total["left_early"]), "denominator": int(total["pupil_years_5_12"]),
            "percent": True, "digits": 1, "language": language,
        },
    }
    period = [y for y in range(area.first_year, area.last_year + 1) if (total_label, y) in trend.index]
    links = [Link((NAMES["indicators"], total_label, c), [(NAMES["trend"], (total_label, y), c) for y in period])
             for c in LINKED]
    links += [same((NAMES["headline"], None, "numerator"), (NAMES["indicators"], total_label, "left_early")),
              same((NAMES["headline"], None, "denominator"), (NAMES["indicators"], total_label, "pupil_years_5_12"))]
    links += [same((NAMES["exams"], u, "ce9_n"), (NAMES["indicators"], u, "ce9_n")) for u in units]
    out = protect_linked(specs, links, threshold=threshold)
    return Published(out[NAMES["indicators"]], out[NAMES["trend"]], out[NAMES["exams"]], out[NAMES["headline"]],
                     total_label)


def _series(by_year: pd.DataFrame, label: str) -> pd.DataFrame:
    frame = by_year.assign(area=label).reset_index().set_index(["area", "year"])[TREND_COLUMNS]
    return frame.astype({"pupil_years_5_12": "int64", "left_early": "int64"})


def exam_means(data: Dataset, frame: pd.DataFrame, area: indicators.Area, units: list[str]) -> pd.DataFrame:
    """Grade-9 exam sitters and mean score by unit, with the 95 % interval the report's definitions
    promise: clustered by school (CR1, t with G-1 df) where a unit is a municipality; within one
    school, the pupil-level t interval (the school is the only cluster). NaN where it cannot be formed."""
    from evaltools.estimate.descriptive import cluster_mean

    scores = indicators.exam_scores(data, frame, "ce9")
    rows = {}
    for unit in units:
        s = scores.loc[scores["unit"] == unit, ["score", "school_id"]].dropna()
        mean = float(s["score"].mean()) if len(s) else np.nan
        lo = hi = np.nan
        if area.unit == "municipality" and s["school_id"].nunique() >= 2:
            e = cluster_mean(s["score"], s["school_id"])
            lo, hi = e.ci_low, e.ci_high
        elif area.unit == "school" and len(s) >= 2:  # each pupil its own cluster: s / sqrt(n), t(n-1)
            e = cluster_mean(s["score"], np.arange(len(s)))
            lo, hi = e.ci_low, e.ci_high
        rows[unit] = {"ce9_n": int(len(s)), "ce9_mean": mean, "ce9_low": lo, "ce9_high": hi}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=EXAM_COLUMNS).astype({"ce9_n": "int64"})
    out.index.name = area.unit
    return out
