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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset
from evaltools.report.components import components
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
    chapters: dict[str, Any] = field(default_factory=dict)  # name -> ProtectedTable (see CHAPTERS)
    notes: dict[str, Any] = field(default_factory=dict)  # years without data, schools in the area

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
    region_label: Callable[[str], str] | None = None,
    captions: Callable[[str], str] | None = None,
    row_labels: Callable[[str], str] | None = None,
    chapters: bool | None = None,
    pass_mark: float | None = None,
    national: Any = None,
) -> Published:
    """Indicators, trend series, exam means and the headline rate of ``area``, protected together.

    ``labels`` (column name -> display label, or a function of the column name), ``index_label``, ``caption`` and
    ``language`` only change how the indicator table displays; the recorded tables
    keep the column names of :mod:`evaltools.studies.municipal_quality.indicators`.
    With ``chapters`` (default: when the data set has every table they need, :data:`CHAPTER_TABLES`)
    the chapter tables of :data:`CHAPTERS` are protected in the same
    system (:func:`chapter_specs`), labelled by ``labels`` and captioned by ``captions(name)``;
    ``region_label(region)`` names the planning region's rows. ``pass_mark`` (default
    :data:`.chapters.PASS_MARK`) is the exam score (%) below which a subject counts as not passed.
    ``national`` (:class:`.national.National`, for one municipality's report): the planning
    region's and Latvia's numbers computed once per data set and period, so that ``data`` may hold
    the municipality's rows only; the tables are the same as without it.
    """
    from evaltools.report.disclosure import Link, protect_linked, same

    table = indicators.indicator_table(data, area, total_label=total_label)
    label_of = labels if callable(labels) else (lambda c: dict(labels or {}).get(c, c))
    if callable(labels):
        labels = {c: labels(c) for c in table.columns}
    if index_label:
        table = table.rename_axis(index_label)
    units = [u for u in table.index if u != total_label]
    whole = replace(area, first_year=trend_years[0], last_year=trend_years[1])
    series = [_series(indicators.early_leaving_by_year(data, whole), total_label)]
    if area.municipality_id is not None:
        latvia = (indicators.early_leaving_by_year(data, whole, whole_country=True) if national is None
                  else national.trend.loc[trend_years[0]:trend_years[1]])
        series.append(_series(latvia, latvia_label))
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
    notes: dict[str, Any] = {}
    if chapters is None:
        chapters = all(t in data for t in CHAPTER_TABLES)
    if chapters:
        more_specs, more_links, notes = chapter_specs(data, area, table=table, trend=trend, total_label=total_label,
                                                      latvia_label=latvia_label, region_label=region_label,
                                                      period=period, units=units, row_label=row_labels,
                                                      pass_mark=pass_mark, threshold=threshold, national=national)
        for name, spec in more_specs.items():
            spec["labels"] = {c: label_of(c) for c in spec["data"].columns}
            spec["data"] = spec["data"].rename_axis([label_of(n) for n in spec["data"].index.names])
            if name == "leaving_gaps":
                spec["digits"] = {"rate_a": 1, "rate_b": 1, "gap": 1, "ci_low": 1, "ci_high": 1}
            if name == "value_added":
                spec["digits"] = {"effect": 2, "ci_low": 2, "ci_high": 2, "rank": 0, "rank_low": 0, "rank_high": 0}
            spec["language"] = language
            spec["caption"] = captions(name) if captions else None
        specs.update(more_specs)
        links += more_links
    out: dict[str, Any] = {}
    for names, part_links in components(specs, links):  # tables no equation connects: protected apart (faster)
        out.update(protect_linked({n: specs[n] for n in names}, part_links, threshold=threshold))
    return Published(out[NAMES["indicators"]], out[NAMES["trend"]], out[NAMES["exams"]], out[NAMES["headline"]],
                     total_label, {k: out[k] for k in specs if k in CHAPTERS}, notes)


_components = components  # old name (quality_monitoring imports it until it uses evaltools.report.components)


#: The tables of the data set the chapters read (besides pupils, pupil_years, schools, assessments).
CHAPTER_TABLES = ("teacher_years", "wellbeing_pupils", "wellbeing_teachers", "support_plans", "skolas_soma")
#: The chapter tables, in the order of the report (IKVD criteria), by the name each is recorded under.
CHAPTERS = ("diag3_by_year", "diag6_by_year", "ce9_by_year", "ce12_by_year", "cohort_by_year", "school_life_by_year",
            "wellbeing_by_year", "support_by_year", "soma_by_year", "soma_by_school", "value_added", "equity_gaps",
            "leaving_gaps", "changes")


def _spec(data: pd.DataFrame, counts: list[str], denominators: dict[str, Any], numerators: dict[str, str] | None = None,
          shares: dict[str, float] | None = None, total_row: Any = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"data": data, "counts": counts, "denominators": denominators, "total_row": total_row,
                            "total_col": None}
    if numerators:
        spec["numerators"] = numerators
    if shares:
        spec["shares"] = shares
    return spec


def wellbeing_spec(table: pd.DataFrame) -> dict[str, Any]:
    """How the wellbeing table (:func:`.chapters.wellbeing`) is protected: its four counts, the
    response rates with their numerators and the means over the respondents."""
    return _spec(table, ["pupil_years_4_12", "respondents", "teacher_years", "teacher_respondents"],
                 {"response_pct": "pupil_years_4_12", "wellbeing_mean": "respondents",
                  "teacher_response_pct": "teacher_years", "teacher_wellbeing_mean": "teacher_respondents"},
                 numerators={"response_pct": "respondents", "teacher_response_pct": "teacher_respondents"})


def chapter_specs(data: Dataset, area: indicators.Area, *, table: pd.DataFrame, trend: pd.DataFrame, total_label: str,
                  latvia_label: str, region_label: Callable[[str], str] | None, period: list[int],
                  units: list[str], row_label: Callable[[str], str] | None = None, pass_mark: float | None = None,
                  threshold: int | None = None, national: Any = None) -> tuple[dict[str, dict[str, Any]], list[Any], dict[str, Any]]:
    """The chapter tables (:mod:`.chapters`, :mod:`.comparison`) as :func:`protect_linked`
    specifications, with every equation a reader could use to work back a hidden count:
    the area's yearly counts add up to the indicator table's period totals (pupil-years,
    repeated, exam sitters), the support table's pupil-years of grades 5-12 are the trend's,
    the skolas soma schools add up to the area, and the equity groups to the exam sitters and to
    the early leavers and pupil-years of grades 5-12. The cohort table's outcomes add up to its
    cohort (``total_col``). ``national``: see :func:`publish`."""
    from evaltools.report.disclosure import Link, same
    from evaltools.studies.municipal_quality import chapters as ch
    from evaltools.studies.municipal_quality import comparison as cmp

    lv = ch.levels(data, area, total_label=total_label, region_label=region_label, latvia_label=latvia_label)
    latvia = lv.labels[-1]
    ind = NAMES["indicators"]
    specs: dict[str, dict[str, Any]] = {}
    links: list[Any] = []
    notes: dict[str, Any] = {"schools": len(units) if area.unit == "school" else None}
    years = list(lv.years)

    def sums(name: str, column: str, ind_column: str) -> None:
        links.append(Link((ind, total_label, ind_column), [(name, (total_label, y), column) for y in years]))

    for test in ("diag3", "diag6"):
        t = ch.diagnostics(data, lv, test, national=national)
        specs[f"{test}_by_year"] = _spec(t, ["pupils"], {s: "pupils" for s in ch.DIAG_SUBJECTS[test]})
        notes[f"{test}_missing"] = ch.years_without(t, "pupils", latvia)
    mark = ch.PASS_MARK if pass_mark is None else float(pass_mark)
    notes["pass_mark"] = mark
    for test in ("ce9", "ce12"):
        t = ch.exams(data, lv, test, pass_mark=mark, national=national)
        values = [c for c in t.columns if c != "sitters"]
        specs[f"{test}_by_year"] = _spec(t, ["sitters"], {c: "sitters" for c in values},
                                         shares={c: 100.0 for c in values if c.startswith("below_")})
        sums(f"{test}_by_year", "sitters", f"{test}_n")
        notes[f"{test}_missing"] = ch.years_without(t, "sitters", latvia)
    t = ch.cohort_completion(data, lv, national=national)
    specs["cohort_by_year"] = _spec(t, ch.COHORT_COLUMNS[:-1], {"completed_pct": "cohort"},
                                    numerators={"completed_pct": "completed"})
    specs["cohort_by_year"]["total_col"] = "cohort"
    notes["cohort_missing"] = ch.years_without(t, "cohort", latvia)
    t = ch.school_life(data, lv, national=national)
    specs["school_life_by_year"] = _spec(t, ["pupil_years", "repeated"],
                                         {"repeated_pct": "pupil_years", "absences_mean": "pupil_years"},
                                         numerators={"repeated_pct": "repeated"})
    sums("school_life_by_year", "pupil_years", "pupil_years")
    sums("school_life_by_year", "repeated", "repeated")
    t = ch.wellbeing(data, lv, national=national)
    specs["wellbeing_by_year"] = wellbeing_spec(t)
    notes["wellbeing_missing"] = ch.years_without(t, "respondents", latvia)
    t = ch.support(data, lv, national=national)
    specs["support_by_year"] = _spec(t, ["pupil_years_5_12", "pumpurs_pupils", "kopiena_pupils"],
                                     {"pumpurs_per_100": "pupil_years_5_12", "kopiena_per_100": "pupil_years_5_12"},
                                     numerators={"pumpurs_per_100": "pumpurs_pupils",
                                                 "kopiena_per_100": "kopiena_pupils"})
    for label in dict.fromkeys((total_label, latvia)):
        links += [same(("support_by_year", (label, y), "pupil_years_5_12"),
                       (NAMES["trend"], (label, y), "pupil_years_5_12")) for y in years if (label, y) in trend.index]
    notes["pumpurs_missing"] = ch.years_without(t, "pumpurs_pupils", latvia)
    notes["kopiena_missing"] = ch.years_without(t, "kopiena_pupils", latvia)
    t = ch.soma(data, lv, national=national)
    specs["soma_by_year"] = _spec(t, ["pupils", "covered"], {"covered_pct": "pupils"},
                                  numerators={"covered_pct": "covered"})
    notes["soma_missing"] = ch.years_without(t, "pupils", latvia)
    if area.unit == "school":
        t = ch.soma_by_school(data, lv)
        specs["soma_by_school"] = _spec(t, ["pupils", "covered"], {"covered_pct": "pupils"},
                                        numerators={"covered_pct": "covered"})
        for y in years:
            parts = [s for s in t.index.get_level_values("school").unique() if (s, y) in t.index]
            if parts:
                for c in ("pupils", "covered"):
                    links.append(Link(("soma_by_year", (total_label, y), c), [("soma_by_school", (s, y), c) for s in parts]))
    if national is not None:
        va = national.value_added
        if va is None:
            notes["value_added_error"] = national.value_added_error
    else:
        try:
            va = cmp.value_added(data, area)
        except Exception as exc:  # noqa: BLE001  too few linked pupils: the report says so
            va = None
            notes["value_added_error"] = str(exc)
    if va is not None:
        specs["value_added"] = _spec(va, ["n"], {c: "n" for c in va.columns if c != "n"})
    row = row_label or (lambda code: code)
    gaps = cmp.equity_gaps(data, area, national=national)
    codes = list(gaps.index)
    gaps = gaps.rename(index=row)
    specs["equity_gaps"] = _spec(gaps, ["n_a", "n_b"], {"mean_a": "n_a", "mean_b": "n_b",
                                                         **{c: ("n_a", "n_b") for c in ("gap", "ci_low", "ci_high")}})
    total_ce9 = int(table.loc[total_label, "ce9_n"])
    for code, dim in zip(codes, gaps.index):
        if code != "ses" and int(gaps.at[dim, "n_a"] + gaps.at[dim, "n_b"]) == total_ce9:
            links.append(Link((ind, total_label, "ce9_n"), [("equity_gaps", dim, "n_a"), ("equity_gaps", dim, "n_b")]))
    from evaltools.report.disclosure import get_threshold

    thr = get_threshold() if threshold is None else int(threshold)
    leaving = cmp.early_leaving_gaps(data, area, threshold=thr, national=national)
    leaving_codes = list(leaving.index)
    leaving = leaving.rename(index=row)
    both = ("n_a", "n_b", "left_a", "left_b")  # the gap is hidden with any of its groups' counts
    specs["leaving_gaps"] = _spec(leaving, ["n_a", "left_a", "n_b", "left_b"],
                                  {"rate_a": "n_a", "rate_b": "n_b", **{c: both for c in ("gap", "ci_low", "ci_high")}},
                                  numerators={"rate_a": "left_a", "rate_b": "left_b"})
    for code, dim in zip(leaving_codes, leaving.index):
        if code == "ses":
            continue
        if int(leaving.at[dim, "n_a"] + leaving.at[dim, "n_b"]) == int(table.loc[total_label, "pupil_years_5_12"]):
            for n, k in (("n_a", "n_b"), ("left_a", "left_b")):
                column = "pupil_years_5_12" if n == "n_a" else "left_early"
                links.append(Link((ind, total_label, column), [("leaving_gaps", dim, n), ("leaving_gaps", dim, k)]))
    chg = cmp.changes(data, area, first_data_year=None if national is None else national.years[0])
    if chg is not None:
        chg = chg.rename(index=row)
        specs["changes"] = _spec(chg, ["n_prev", "n_now"], {"prev": "n_prev", "now": "n_now",
                                                             "change": ("n_prev", "n_now")})
        for key, col in (("ce9", "ce9_n"), ("ce12", "ce12_n"), ("absences", "pupil_years")):
            if int(chg.at[row(key), "n_now"]) == int(table.loc[total_label, col]):
                links.append(same(("changes", row(key), "n_now"), (ind, total_label, col)))
        for key in ("diag3", "diag6"):
            by_year = specs[f"{key}_by_year"]["data"].xs(total_label, level="area")["pupils"]
            if int(chg.at[row(key), "n_now"]) == int(by_year.sum()):
                links.append(Link(("changes", row(key), "n_now"), [(f"{key}_by_year", (total_label, y), "pupils")
                                                               for y in years]))
    return specs, links, notes


def _series(by_year: pd.DataFrame, label: str) -> pd.DataFrame:
    frame = by_year.assign(area=label).reset_index().set_index(["area", "year"])[TREND_COLUMNS]
    return frame.astype({"pupil_years_5_12": "int64", "left_early": "int64"})


def exam_means(data: Dataset, frame: pd.DataFrame, area: indicators.Area, units: list[str]) -> pd.DataFrame:
    """Grade-9 exam sitters and mean score by unit, with a 95 % interval inside 0-100 that holds
    with few schools (:func:`evaltools.estimate.bounded_intervals.bounded_mean`: logit-scale
    interval, sample size discounted by the design effect). Where a unit is a municipality, the
    between-school correlation is that of Latvia's schools; within one school, pupils are
    independent (design effect 1). NaN where it cannot be formed (fewer than 2 sitters)."""
    from evaltools.estimate.bounded_intervals import MIN_REFERENCE_CLUSTERS, bounded_mean, icc_anova

    scores = indicators.exam_scores(data, frame, "ce9")
    icc = 0.0
    if area.unit == "municipality":
        s = scores[["score", "school_id"]].dropna()
        icc = icc_anova(s["score"], s["school_id"]) if s["school_id"].nunique() >= MIN_REFERENCE_CLUSTERS else 0.0
    rows = {}
    for unit in units:
        s = scores.loc[scores["unit"] == unit, ["score", "school_id"]].dropna()
        mean = float(s["score"].mean()) if len(s) else np.nan
        lo = hi = np.nan
        if len(s) >= 2:
            e = bounded_mean(s["score"], s["school_id"], lower=0.0, upper=100.0, icc=icc)
            lo, hi = e.ci_low, e.ci_high
        rows[unit] = {"ce9_n": int(len(s)), "ce9_mean": mean, "ce9_low": lo, "ce9_high": hi}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=EXAM_COLUMNS).astype({"ce9_n": "int64"})
    out.index.name = area.unit
    return out
