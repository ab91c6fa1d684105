"""Latvijas skolas soma (``notebooks/skolas_soma.ipynb``): does every pupil get at least one cultural
activity per semester, equally across Latvia, and how do activities go with pupils' wellbeing?

A **descriptive study with an association**, not an impact evaluation: there is no comparison of
pupils with and without the programme (every pupil is meant to take part), so it gives no verdict
of effectiveness (like :mod:`evaltools.studies.municipal_quality`, no headline card).

* :func:`prepare` the frames (:mod:`.frames`);
* :func:`headline`: every number the funder report shows, in one call: coverage per semester and
  its trend, equity by municipality, region, urban/rural, school size, language and socio-economic
  band (:mod:`.coverage`), the schools' compliance against Latvia's rate in a funnel plot (the
  municipal study's indicator and :mod:`evaltools.inference.funnel`), and the association of
  activities with wellbeing and absences within schools, with the Benjamini-Hochberg adjustment
  (:mod:`.association`); all protected (:mod:`.publish`);
* :func:`subgroups`: the within-school association of wellbeing by a subgroup;
* :func:`truth_check` against the (zero) effect stored with synthetic data (:mod:`.truth`).

``costs`` does not apply (the data hold no costs of the activities). Texts: ``messages.yaml``
(keys ``skolas_soma.*``).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evaltools.core.result import Estimate
from evaltools.data.io import Dataset
from evaltools.studies.skolas_soma import association, coverage, publish
from evaltools.studies.skolas_soma.frames import (DIMENSIONS, FIRST_YEAR, PANDEMIC, SomaData, SomaDataError,
                                                  prepare, semester_position)
from evaltools.studies.skolas_soma.needs import NEEDS, ROWS  # what load_dataset reads (needs.py)
from evaltools.studies.skolas_soma.truth import TRUTH_NAME, stored_truth, truth_check

__all__ = ["prepare", "headline", "subgroups", "truth_check", "Results", "SomaData", "SomaDataError", "NEEDS",
           "ROWS", "DIMENSIONS", "FIRST_YEAR", "PANDEMIC", "TRUTH_NAME", "stored_truth", "semester_position",
           "association", "coverage", "publish"]


@dataclass(frozen=True)
class Results:
    """Every number of the funder report (protected where it is published) and the raw
    estimates behind them (for researchers and the truth check)."""

    trend: Any                      # ProtectedTable: per semester, the area (and Latvia)
    dimensions: dict[str, Any]      # dimension -> ProtectedTable (last school year, pupil-semesters)
    schools: Any                    # ProtectedTable: each school's compliance in the last year, with the area's total
    short: pd.DataFrame             # visible schools below the 99.8 % funnel limit
    unjudged: int                   # schools whose numbers are hidden (not judged)
    rate_latvia: Any                # ProtectedValue: Latvia's yearly compliance rate (%), last year
    rate_area: Any                  # ProtectedValue: the area's
    share_semester: Any             # ProtectedValue: share of pupil-semesters meeting the rule, last year
    within: Estimate | None         # headline association: wellbeing per activity per semester, within schools
    naive: Estimate | None          # the same slope without school effects
    within_pupil: Estimate | None   # the same pupils in years with more and fewer activities
    family: dict[str, Estimate]     # every within-school slope tested
    tests: pd.DataFrame             # the family with raw and BH-adjusted p-values
    skipped: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _like(data: SomaData, frame: pd.DataFrame) -> Dataset:
    """The tables the municipal study's skolas soma indicator reads (``frame`` as its records)."""
    return Dataset(path=Path("."), tables={"skolas_soma": frame, **data.directory})


def headline(data: SomaData, *, area_label: str, latvia_label: str, total_label: str,
             labels: Callable[[str], str] = str, level_label: Callable[[str, str], str] | None = None,
             threshold: int | None = None, language: str | None = None, min_rows: int = 10) -> Results:
    """Every number the report shows (see the module docstring). ``labels(code)`` names a column,
    ``level_label(dimension, code)`` a level of an equity dimension (default: the code)."""
    level_label = level_label or (lambda dim, code: code)
    trend = coverage.semester_trend(data, area_label=area_label, latvia_label=latvia_label)
    cols = {c: labels(c) for c in ("pupils", "met", "met_pct", "position", "covered", "covered_pct", "municipality",
                                   "area", "year", "semester", "school", *DIMENSIONS)}
    trend_t = publish.trend_table(trend, threshold=threshold, labels=cols, language=language)
    dims = {}
    for dim in ("municipality", *DIMENSIONS):
        frame = coverage.by_dimension(data, dim, total_label=total_label)
        frame = frame.rename(index=lambda code, d=dim: code if code == total_label else level_label(d, code))
        dims[dim] = publish.dimension_table(frame, f"by_{dim}", total_label=total_label, threshold=threshold,
                                            labels=cols, language=language)
    national = _like(data, data.national_semesters)
    own = national if data.semesters is data.national_semesters else _like(data, data.semesters)  # Latvia: one
    all_schools = data.national_semesters["school_id"].unique().tolist()
    lv_pupils, lv_covered = coverage.compliance_rate(national, all_schools, data.last_year)
    rate_lv = publish.rate_value(lv_pupils, lv_covered, "compliance_latvia", threshold=threshold, language=language)
    area_pupils, area_covered = coverage.compliance_rate(own, data.schools["school_id"].tolist(), data.last_year)
    rate_area = publish.rate_value(area_pupils, area_covered, "compliance_area", threshold=threshold,
                                   language=language)
    sc = coverage.school_compliance(data, own)  # the pupils' coverage computed once per frame (shared.soma)
    schools_t = publish.school_table(sc, (area_pupils, area_covered), total_label=total_label, threshold=threshold,
                                     labels=cols, language=language)
    theta = 100 * lv_covered / lv_pupils if lv_pupils else float("nan")
    short, unjudged = publish.falling_short(schools_t, theta, total_label=total_label)
    last = trend.xs(area_label, level="area").xs(data.last_year, level="year")
    share = publish.rate_value(int(last["pupils"].sum()), int(last["met"].sum()), "share_semester_area",
                               threshold=threshold, language=language)
    family, tests, skipped = association.family(data, min_rows=min_rows)
    within = family.get(association.OUTCOMES[0])
    naive = pupil = None
    rows = association.rows(data, association.OUTCOMES[0], narrow=True)
    if within is not None:
        naive = association.naive(rows, association.OUTCOMES[0])
        try:
            pupil = association.within_pupil(rows, association.OUTCOMES[0])
        except ValueError as exc:  # e.g. no pupil surveyed twice in a small area
            skipped["within_pupil"] = str(exc)
    return Results(trend=trend_t, dimensions=dims, schools=schools_t, short=short, unjudged=unjudged,
                   rate_latvia=rate_lv, rate_area=rate_area, share_semester=share, within=within, naive=naive,
                   within_pupil=pupil,
                   family=family, tests=tests, skipped=skipped,
                   counts={**data.counts(), "schools_in_area": len(data.schools), "latvia_pupils": lv_pupils})


def subgroups(data: SomaData, by: str, *, min_rows: int = 10) -> dict[str, Estimate]:
    """The within-school association of wellbeing with activities in each level of ``by`` (one of
    :data:`association.SUBGROUPS`), unadjusted for multiple testing (``headline`` adjusts)."""
    if by not in association.SUBGROUPS:
        raise ValueError(f"subgroups(): by must be one of {', '.join(association.SUBGROUPS)}, got {by!r}.")
    base = association.rows(data, association.OUTCOMES[0], narrow=True)
    out = {}
    for level in association.SUBGROUPS[by]:
        part = base[base[by] == level]
        if len(part) >= min_rows:
            try:
                out[level] = association.within_school(part, association.OUTCOMES[0], label=f"{by}={level}")
            except ValueError:
                continue
    return out


def check(truth: Mapping[str, Any] | None, results: Results) -> pd.DataFrame:
    """:func:`truth_check` of a :class:`Results` (empty unless the data are synthetic)."""
    return truth_check(truth, results.within, results.naive, within_pupil=results.within_pupil)
