"""Indicators by (level, school year): an area, its planning region and Latvia, each a set of schools.

A table of counts and values with one row per (level, year) of the period, every year present
(an empty year is a row of zeros and NaN, never a missing row): :func:`by_level_year` applies
one aggregate to each level's rows of a pupil-level frame. :func:`by_levels` lets the levels
after the area come from a precomputed table (the municipal study computes them once per data
set and period). :func:`years_without` / :func:`blank_years_without` mark the years in which
nobody in Latvia has the count (the test, survey or programme did not take place).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset
from evaltools.studies.shared import frames


@dataclass(frozen=True)
class Levels:
    """The areas each indicator is shown for: (label, school ids), area first, Latvia last.
    ``codes`` names each row whatever the report's language (``"area"``, ``"region:<name>"``,
    ``"latvia"``): the key of rows computed once per data set (:class:`LevelRows`)."""

    rows: tuple[tuple[str, frozenset[str]], ...]
    years: tuple[int, ...]
    codes: tuple[str, ...] = ()

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.rows]


class LevelRows(Protocol):
    """Precomputed rows of the levels after the area (e.g. the municipal study's ``National``)."""

    def level_rows(self, name: str, lv: Levels) -> pd.DataFrame: ...


def by_level_year(frame: pd.DataFrame, lv: Levels, agg: Callable[[pd.DataFrame], dict[str, float]],
                  columns: list[str]) -> pd.DataFrame:
    """``agg`` of ``frame``'s rows of each (level, year) (rows of the level's schools,
    ``school_id``), every year of the period present; index (``area``, ``year``)."""
    rows = {}
    for label, schools in lv.rows:
        part = frame[frame["school_id"].isin(schools)]
        groups = dict(list(part.groupby("year", sort=True)))
        for year in lv.years:
            rows[(label, year)] = agg(groups.get(year, part.iloc[:0]))
    out = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    out.index = pd.MultiIndex.from_tuples(out.index, names=["area", "year"])
    return out


def by_levels(data: Dataset, lv: Levels, name: str, raw: Callable[[Dataset, Levels], pd.DataFrame],
              national: LevelRows | None = None) -> pd.DataFrame:
    """``raw(data, lv)``: one row per (level, year). With ``national`` only the area's rows are
    computed from ``data`` (which may hold the area alone); the planning region's and Latvia's
    are ``national.level_rows(name, lv)``."""
    if national is None or len(lv.rows) < 2:
        return raw(data, lv)
    own = raw(data, Levels(lv.rows[:1], lv.years, lv.codes[:1]))
    return pd.concat([own, national.level_rows(name, lv)])


def period_frame(data: Dataset, lv: Levels) -> pd.DataFrame:
    """Pupil-years of the period with their exam scores (:func:`.frames.period`, built once)."""
    return frames.period(data, lv.years[0], lv.years[-1])


def scores_by_subject(data: Dataset, lv: Levels, test: str, subjects: Sequence[str]) -> pd.DataFrame:
    """One row per pupil, year and school of the period with the mean score of each subject
    of ``test`` (NaN for a subject not taken)."""
    py = period_frame(data, lv)
    own = [c for c in py.columns if c.startswith(f"{test}:")]
    took = py[py[own].notna().any(axis=1)] if own else py.iloc[:0]
    wide = took[["pupil_id", "year", "school_id"]].copy()
    for s in subjects:
        wide[s] = took[f"{test}:{s}"] if f"{test}:{s}" in took else np.nan
    return wide


def years_without(table: pd.DataFrame, count: str, latvia_label: str) -> list[int]:
    """School years in which nobody in Latvia has a ``count`` (the test, survey or programme did
    not take place, or the data do not cover that year)."""
    latvia = table.xs(latvia_label, level="area")[count]
    return [int(y) for y, n in latvia.items() if n == 0]


def blank_years_without(table: pd.DataFrame, count: str, values: list[str], latvia_label: str) -> pd.DataFrame:
    """Set ``values`` to NaN in the years :func:`years_without` ``count``: a year without data is
    shown as such, never as 0 % (a response rate of 0 in a year without a survey)."""
    out = table.copy()
    missing = years_without(table, count, latvia_label)
    if missing:
        rows = out.index.get_level_values("year").isin(missing)
        out.loc[rows, values] = np.nan
    return out
