"""What the skolas soma report shows, through disclosure control (:mod:`evaltools.report.disclosure`).

Counts are of pupils (a school's table) or pupil-semesters (the trend and the equity tables); a
share is hidden with its count when the pupils, those meeting the rule or those not meeting it are
a small count. A school whose numbers are hidden is never named as falling short: the flag of a
hidden share would bound it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaltools.core.result import Estimate
from evaltools.inference.funnel import LEVELS
from evaltools.report.disclosure import ProtectedTable, protect, protect_linked
from evaltools.report.figures import visible
from evaltools.studies.skolas_soma.coverage import funnel_flags

__all__ = ["GLOSSARY_TERMS", "trend_table", "dimension_table", "school_table", "rate_value", "falling_short",
           "association_table"]

GLOSSARY_TERMS: tuple[str, ...] = ("ci", "p_value", "pp", "funnel", "multiple_testing")
"""The glossary entries the report shows (``evaltools.report.sections.glossary_section``): the terms its texts and
tables use (the equity gap in percentage points, the funnel plot, the Benjamini-Hochberg adjusted p-values)."""


def trend_table(trend: pd.DataFrame, *, threshold: int | None = None, labels: Mapping[str, str] | None = None,
                caption: str | None = None, language: str | None = None) -> ProtectedTable:
    """The per-semester trend (:func:`.coverage.semester_trend`) protected: ``pupils``, ``met``
    and ``met_pct`` (its numerator ``met``); the semester's axis position is shown as is."""
    frame = trend[["pupils", "met", "met_pct", "position"]]
    return protect(frame, counts=["pupils", "met"], denominators={"met_pct": "pupils"}, numerators={"met_pct": "met"},
                   threshold=threshold, total_row=None, total_col=None, labels=dict(labels or {}),
                   digits={"met_pct": 1, "position": 1}, caption=caption, language=language, name="trend")


def dimension_table(frame: pd.DataFrame, name: str, *, total_label: str, threshold: int | None = None,
                    labels: Mapping[str, str] | None = None, caption: str | None = None,
                    language: str | None = None) -> ProtectedTable:
    """One equity breakdown (:func:`.coverage.by_dimension`) with its total row, protected with
    complementary suppression (a hidden level cannot come back from the total and the others)."""
    return protect(frame, counts=["pupils", "met"], denominators={"met_pct": "pupils"}, numerators={"met_pct": "met"},
                   threshold=threshold, total_row=total_label, total_col=None, labels=dict(labels or {}),
                   digits={"met_pct": 1}, caption=caption, language=language, name=name)


def school_table(schools: pd.DataFrame, total: tuple[int, int], *, total_label: str, threshold: int | None = None,
                 labels: Mapping[str, str] | None = None, caption: str | None = None,
                 language: str | None = None) -> ProtectedTable:
    """The schools' compliance (:func:`.coverage.school_compliance`) with the area's total row
    (``total``: pupils, covered): a small school's pupils and share are hidden, and enough other
    cells with them that the total cannot give them back."""
    frame = schools[["municipality", "pupils", "covered", "covered_pct"]].copy()
    pupils, covered = total
    frame.loc[total_label] = {"municipality": "", "pupils": pupils, "covered": covered,
                              "covered_pct": 100 * covered / pupils if pupils else np.nan}
    frame = frame.astype({"pupils": "int64", "covered": "int64"})
    frame.index.name = "school"
    return protect(frame, counts=["pupils", "covered"], denominators={"covered_pct": "pupils"},
                   numerators={"covered_pct": "covered"}, threshold=threshold, total_row=total_label, total_col=None,
                   labels=dict(labels or {}), digits={"covered_pct": 1}, caption=caption, language=language,
                   name="schools")


def rate_value(pupils: int, covered: int, name: str, *, threshold: int | None = None,
               language: str | None = None) -> Any:
    """A compliance rate (%) with its pupils, as a ProtectedValue (hidden when a count is small)."""
    spec = {name: {"value": 100 * covered / pupils if pupils else None, "numerator": int(covered),
                   "denominator": int(pupils), "percent": True, "digits": 1, "language": language}}
    return protect_linked(spec, threshold=threshold)[name]


def falling_short(table: ProtectedTable, theta_pct: float, *, total_label: str,
                  level: float = LEVELS[1]) -> tuple[pd.DataFrame, int]:
    """The schools whose *visible* share lies below the ``level`` funnel limit around
    ``theta_pct`` (Latvia's rate), lowest first; and how many schools could not be judged
    because their numbers are hidden."""
    pupils, pct = visible(table, "pupils"), visible(table, "covered_pct")
    schools = [s for s in table.data.index if s != total_label]
    pupils, pct = pupils.reindex(schools), pct.reindex(schools)
    flags = funnel_flags(pupils, pct, theta_pct, level=level)
    low = flags[flags == -1].index
    out = pd.DataFrame({"municipality": table.data.loc[low, "municipality"], "pupils": pupils[low],
                        "covered_pct": pct[low]}).sort_values("covered_pct")
    return out, int(flags.isna().sum())


def association_table(estimates: Mapping[str, Estimate], table: pd.DataFrame, names: Mapping[str, str], *,
                      threshold: int | None = None, labels: Mapping[str, str] | None = None,
                      caption: str | None = None, notes: Sequence[str] = (),
                      language: str | None = None) -> ProtectedTable:
    """The family of within-school slopes with their p-values before and after the
    Benjamini-Hochberg adjustment, one row per test (``names``: the shown label of each key);
    a test on fewer pupil-years than the threshold is hidden."""
    frame = pd.DataFrame({
        "estimate": table["estimate"].to_numpy(float), "ci_low": table["ci_low"].to_numpy(float),
        "ci_high": table["ci_high"].to_numpy(float), "pvalue": table["pvalue"].to_numpy(float),
        "p_adjusted": table["p_adjusted"].to_numpy(float), "pupil_years": table["pupil_years"].to_numpy("int64")},
        index=pd.Index([names[k] for k in table.index], name="test"))
    values = ("estimate", "ci_low", "ci_high", "pvalue", "p_adjusted")
    return protect(frame, counts=["pupil_years"], denominators={c: "pupil_years" for c in values},
                   threshold=threshold, total_row=None, total_col=None, labels=dict(labels or {}),
                   digits={"estimate": 2, "ci_low": 2, "ci_high": 2, "pvalue": 3, "p_adjusted": 3},
                   caption=caption, notes=notes, language=language, name="association")
