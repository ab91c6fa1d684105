"""The frames every indicator of a report is computed from, built once per data set.

Shared by the studies that show indicators by school, area and year (the municipal report,
the national monitoring report, skolas soma); moved here from ``municipal_quality.frames``,
which re-exports it. A municipal report computes its tables for the area, its planning region
and Latvia over two periods; built table by table, the same pupil-years were merged with their schools 20 times and the
same exam scores averaged 15 times (75 s of a run at national scale). :func:`pupil_base` does
that work once per loaded :class:`~evaltools.data.io.Dataset`: every pupil-year with its
school's label and municipality, the early-leaving flags and, for each diagnostic test and
centralised exam, the mean score over the pupil's subjects (``score_<test>``) and each
subject's score (``<test>:<subject>``). The studies' indicator functions (:mod:`.levels`, the
municipal study's ``indicators``, ``chapters`` and ``comparison``) take slices of it; results are the same numbers as before.

The frames are remembered on the ``Dataset`` object (keyed by the identity of the tables they
were built from, so a replaced table is never served stale) and are not to be modified.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset

#: The tests of the report (diagnostics in grades 3 and 6, centralised exams in 9 and 12).
TESTS = ("diag3", "diag6", "ce9", "ce12")
RISK_GRADES = (5, 12)  # grades of the PUMPURS target group (early leaving)
_CACHE = "_municipal_quality_frames"  # the name on the Dataset (unchanged: frames stay shared)
T = TypeVar("T")


def remember(data: Dataset, key: Hashable, tables: tuple[str, ...], build: Callable[[], T]) -> T:
    """``build()`` once per ``data`` and ``key`` (and the identity of ``tables``' frames)."""
    store: dict[Any, Any] = data.__dict__.setdefault(_CACHE, {})
    full = (key, tuple(id(data.tables.get(t)) for t in tables))
    if full not in store:
        store[full] = build()
    return store[full]


def school_labels(data: Dataset) -> pd.Series:
    """A label for every school (``school_id`` -> label), unique in all of Latvia: the school's
    name, followed by its municipality's where two schools share a name (the city and the county
    around it have schools of the same name: "Jelgavas 1. vidusskola (Jelgava)" and
    "Jelgavas 1. vidusskola (Jelgavas novads)"), and by a number where even that is shared.
    Every table and figure that names schools uses these labels, so rows never merge or collide
    (two schools of one name were one row; value added of all Latvia's schools had duplicate rows)."""
    def build() -> pd.Series:
        schools = data["schools"][["school_id", "municipality_id", "name"]]
        munis = data["municipalities"].set_index("municipality_id")["name"]
        label = schools["name"].astype(str)
        shared = label.duplicated(keep=False)
        if shared.any():
            where = schools["municipality_id"].map(munis).fillna(schools["municipality_id"]).astype(str)
            label = label.where(~shared, label + " (" + where + ")")
        again = label.duplicated(keep=False)
        if again.any():  # the same name twice in one municipality: numbered in the order of the school codes
            number = schools.loc[again, "school_id"].astype(str).groupby(label[again]).rank(method="first")
            label = label.where(~again, label + " (" + number.astype(int).astype(str).reindex(label.index) + ")")
        return pd.Series(label.to_numpy(), index=schools["school_id"].to_numpy(), name="school")

    return remember(data, "school_labels", ("schools", "municipalities"), build)


def _pupil_codes(data: Dataset) -> tuple[pd.Index, np.ndarray]:
    """The distinct pupil ids of ``pupil_years`` and each pupil-year's position among them."""
    def build() -> tuple[pd.Index, np.ndarray]:
        codes, uniques = pd.factorize(data["pupil_years"]["pupil_id"])
        return pd.Index(uniques), codes.astype("int64")

    return remember(data, "pupil_codes", ("pupil_years",), build)


def _key(codes: np.ndarray, years: pd.Series, first: int, span: int) -> np.ndarray:
    """One integer per (pupil, school year): hashing it is far cheaper than hashing the id text."""
    return codes * span + (years.to_numpy(dtype="int64") - first)


def scores_wide(data: Dataset) -> pd.DataFrame:
    """One row per (pupil, year) of ``pupil_years`` with a test of :data:`TESTS`, indexed by the
    pupil-year key of :func:`_key`: ``<test>:<subject>`` scores and ``score_<test>``, the mean over
    the subjects the pupil took (each subject once a year). Scores of pupils without a pupil-year
    are left out (no table of the report can show them)."""
    def build() -> pd.DataFrame:
        a = data["assessments"]
        a = a.loc[a["test"].isin(TESTS), ["pupil_id", "year", "test", "subject", "score"]]
        ids, _ = _pupil_codes(data)
        first, span = _span(data)
        codes = ids.get_indexer(a["pupil_id"])
        keep = (codes >= 0) & a["year"].between(first, first + span - 1).to_numpy()
        a = a[keep].assign(key=_key(codes[keep], a.loc[keep, "year"], first, span)).drop(columns=["pupil_id", "year"])
        means = a.groupby(["key", "test"], sort=False)["score"].mean().unstack("test")
        means.columns = [f"score_{t}" for t in means.columns]
        subj = a.groupby(["key", "test", "subject"], sort=False)["score"].mean().unstack(["test", "subject"])
        subj.columns = [f"{t}:{s}" for t, s in subj.columns]
        return means.join(subj)

    return remember(data, "scores_wide", ("assessments", "pupil_years"), build)


def _span(data: Dataset) -> tuple[int, int]:
    years = data["pupil_years"]["year"]
    first = int(years.min()) if len(years) else 0
    return first, (int(years.max()) - first + 1) if len(years) else 1


def pupil_base(data: Dataset) -> pd.DataFrame:
    """Every pupil-year (all years) with ``municipality_id``, ``school`` (:func:`school_labels`),
    ``municipality`` (name), ``at_risk_grade`` (grades 5-12), ``left_early_flag`` and the columns of
    :func:`scores_wide` (NaN where the pupil has no such test that year); rows in the order of
    ``pupil_years``. Schools and municipalities are looked up by position (no merge copies the
    2.2 million national pupil-years twice)."""
    def build() -> pd.DataFrame:
        py = data["pupil_years"]
        schools = data["schools"]
        at = pd.Index(schools["school_id"]).get_indexer(py["school_id"])
        found = at >= 0

        def lookup(values: pd.Series) -> np.ndarray:
            out = np.full(len(py), None, dtype=object)
            out[found] = values.to_numpy(dtype=object)[at[found]]
            return out

        munis = data["municipalities"].set_index("municipality_id")["name"]
        muni_id = lookup(schools["municipality_id"])
        lo, hi = RISK_GRADES
        at_risk = py["grade"].between(lo, hi).to_numpy()
        extra: dict[str, np.ndarray] = {
            "municipality_id": muni_id, "school": lookup(school_labels(data).reset_index(drop=True)),
            "municipality": pd.Series(muni_id).map(munis).to_numpy(dtype=object),
            "at_risk_grade": at_risk, "left_early_flag": (py["status"] == "left_early").to_numpy() & at_risk}
        if "assessments" in data:
            wide = scores_wide(data)
            ids, codes = _pupil_codes(data)
            first, span = _span(data)
            rows = wide.index.get_indexer(_key(codes, py["year"], first, span))
            hit = rows >= 0
            for column in wide.columns:
                values = np.full(len(py), np.nan)
                values[hit] = wide[column].to_numpy(dtype=float)[rows[hit]]
                extra[column] = values
        return renumbered(pd.concat([py, pd.DataFrame(extra, index=py.index)], axis=1))  # one copy, columns added at once

    return remember(data, "pupil_base", ("pupil_years", "schools", "municipalities", "assessments"), build)


def period(data: Dataset, first_year: int, last_year: int) -> pd.DataFrame:
    """:func:`pupil_base` of the school years ``first_year``-``last_year`` (index reset)."""
    def build() -> pd.DataFrame:
        base = pupil_base(data)
        years = base["year"]
        if len(years) and first_year <= int(years.min()) and int(years.max()) <= last_year:
            return base  # every year: no copy
        return renumbered(base[years.between(first_year, last_year)])

    return remember(data, ("period", first_year, last_year),
                    ("pupil_years", "schools", "municipalities", "assessments"), build)


def renumbered(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a fresh selection) numbered 0..n-1 without copying its columns again
    (``reset_index`` copies every column of a national frame once more)."""
    frame = frame.copy(deep=False)  # its own frame (no "copy of a slice" warning), the data not copied
    frame.index = pd.RangeIndex(len(frame))
    return frame
