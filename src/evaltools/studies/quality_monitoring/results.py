"""Results by subject and grade with trends, and the gaps between groups of pupils.

- :func:`levels`: the rows every trend table shows: the school (school filter), the
  municipality (school or municipality filter) and Latvia, each a set of schools;
- :func:`by_subject`: pupils tested and mean score (%) by subject of the grade 3 and grade 6
  diagnostics, by (area, year):
  :func:`evaltools.studies.municipal_quality.chapters.diagnostics`, one implementation (pre-school
  results are a table of their own: :mod:`.preschool`);
- :func:`gaps`: score gaps of the report year (girls - boys, Latvian - minority language of
  instruction, special needs - none, lowest - highest national SES quarter, urban - rural) with
  design-effect intervals: :func:`evaltools.studies.municipal_quality.comparison.equity_gaps`
  applied to the diagnostic tests.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from evaltools.data.io import Dataset
from evaltools.studies.municipal_quality import chapters, comparison
from evaltools.studies.quality_monitoring.scope import Scope

#: The name the pre-school results are recorded under (``results_preschool``): they come from the
#: table ``preschool_assessments`` (:mod:`.preschool`), not from a test of ``assessments``.
PRESCHOOL = "preschool"
#: The school tests of ``assessments`` the monitoring system assesses, in the order of the report,
#: with their subjects: grade 3, grade 6.
SUBJECTS: dict[str, tuple[str, ...]] = dict(chapters.DIAG_SUBJECTS)
DIAGNOSTICS = ("diag3", "diag6")


def tests_in(data: Dataset) -> list[str]:
    """The diagnostic tests this extract has results of (grade 3, grade 6)."""
    have = set(data["assessments"]["test"].unique())
    return [t for t in SUBJECTS if t in have]


def levels(data: Dataset, scope: Scope, *, total_label: str, latvia_label: str) -> chapters.Levels:
    """The school (when filtered), the municipality (when filtered) and Latvia, over the trend years."""
    schools = data["schools"][["school_id", "municipality_id"]]
    everyone = frozenset(schools["school_id"])
    rows: list[tuple[str, frozenset[str]]] = []
    if scope.school_id is not None:
        rows.append((str(scope.school), frozenset({scope.school_id})))
    if scope.area.municipality_id is not None:
        own = frozenset(schools.loc[schools["municipality_id"] == scope.area.municipality_id, "school_id"])
        rows.append((str(scope.area.name), own))
    rows.append((latvia_label if rows else total_label, everyone))
    return chapters.Levels(tuple(rows), scope.years)


def by_subject(data: Dataset, lv: chapters.Levels, test: str) -> pd.DataFrame:
    """Pupils tested and mean score by subject of ``test`` (``diag3``, ``diag6``), by (area, year)
    (one implementation: the municipal chapters'
    :func:`~evaltools.studies.municipal_quality.chapters.diagnostics`)."""
    return chapters.diagnostics(data, lv, test)


def gaps(data: Dataset, scope: Scope, *, latvia_label: str, tests: tuple[str, ...] = DIAGNOSTICS) -> pd.DataFrame:
    """Score gaps of the report year by test and dimension for the scope's municipality (a
    school's report shows its municipality's) and for Latvia: rows (area, test, dimension),
    columns of :data:`comparison.GAP_COLUMNS`."""
    areas = {latvia_label: replace(scope.this_year, municipality_id=None, name=None)}
    if scope.area.municipality_id is not None:
        areas = {str(scope.area.name): scope.this_year, **areas}
    parts = {(label, test): comparison.equity_gaps(data, area, test=test)
             for label, area in areas.items() for test in tests}
    out = pd.concat(parts, names=["area", "test", "dimension"])
    return out.astype({"n_a": "int64", "n_b": "int64"})
