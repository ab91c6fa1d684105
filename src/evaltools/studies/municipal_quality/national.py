"""What every municipality's report shows of its planning region and of Latvia, computed once.

Each of the 43 reports shows every indicator against its planning region and Latvia, compares
its schools with all of Latvia's (value added, funnel limits around Latvia's rate) and borrows
Latvia's between-school correlations for its intervals. Computed in every run, that is most of
a run's work at national scale and the same numbers 43 times. :func:`build` computes them once
per data set and period (:class:`National`: the chapter tables for every planning region and
Latvia, the grade-5 cohorts followed in all of Latvia, Latvia's early-leaving series and rate,
the correlations, the national quarters of the socio-economic index and the value-added
table), :mod:`.cache` keeps them on disk, and :func:`load` gives a run its municipality's rows
only (``load_dataset(municipality=…)``) with the stored national part. Every function of the
study that takes ``national=`` returns the same table with and without it
(``tests/studies/test_municipal_national.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset
from evaltools.studies.municipal_quality import cache
from evaltools.studies.municipal_quality.indicators import Area

#: The chapter tables of :func:`build`, by the name :func:`.chapters.by_levels` asks for.
TABLES = ("diag3", "diag6", "ce9", "ce12", "school_life", "wellbeing", "support", "soma", "cohort")


@dataclass(frozen=True)
class National:
    """The national part of every municipal report of one data set and period."""

    first_year: int
    last_year: int
    pass_mark: float
    years: tuple[int, int]  # the data's first and last school year
    tables: dict[str, pd.DataFrame]  # chapter tables, rows (level code, year) of every region and Latvia
    cohorts: pd.DataFrame  # :func:`.chapters._cohorts` of all Latvia (school, year, outcomes)
    trend: pd.DataFrame  # Latvia's early leaving by school year over ``years``
    rate: Any  # Latvia's early-leaving rate over the period (Estimate; its estimand is set by the report)
    icc_exams: float  # between-school correlation of grade-9 exam scores
    icc_leaving: float  # between-school correlation of early leaving
    ses_quarters: tuple[float, float]  # the national lower and upper quarter of the SES index
    value_added: pd.DataFrame | None
    value_added_error: str | None = None

    def level_rows(self, name: str, lv: Any) -> pd.DataFrame:
        """Table ``name``'s rows of ``lv``'s levels after the area's, labelled as ``lv`` labels them."""
        if len(lv.codes) != len(lv.rows):
            raise ValueError("national rows need levels with codes (chapters.levels())")
        table = self.tables[name]
        if tuple(lv.years) != tuple(range(self.first_year, self.last_year + 1)):
            raise ValueError(f"national rows of {self.first_year}-{self.last_year} asked for years {lv.years}")
        parts = {label: table.xs(code, level="area") for code, label in zip(lv.codes[1:], lv.labels[1:])}
        return pd.concat(parts, names=["area"])


def latvia_rate(data: Dataset, area: Area, estimand: str) -> Any:
    """Latvia's early-leaving rate (%) over ``area``'s period: pupil-years of grades 5-12 ending in
    early leaving, Wilson interval with the design effect of its schools
    (:func:`evaltools.estimate.bounded_intervals.clustered_rate`)."""
    from evaltools.estimate.bounded_intervals import clustered_rate
    from evaltools.studies.municipal_quality import indicators

    national = indicators.pupil_years(data, replace(area, municipality_id=None, name=None))
    national = national[national["at_risk_grade"]]
    return clustered_rate(national["left_early_flag"], national["school_id"], scale=100, estimand=estimand)


def data_years(data: Dataset) -> tuple[int, int]:
    years = data["pupil_years"]["year"]
    return int(years.min()), int(years.max())


def build(data: Dataset, first_year: int, last_year: int, pass_mark: float) -> National:
    """The national part from the whole data set (every municipality's rows)."""
    from evaltools.studies.municipal_quality import chapters as ch
    from evaltools.studies.municipal_quality import comparison as cmp
    from evaltools.studies.municipal_quality import indicators

    area = Area(None, None, first_year, last_year)
    schools = data["schools"][["school_id", "municipality_id"]]
    muni = data["municipalities"]
    rows, codes = [], []
    for region in sorted(muni["region"].dropna().astype(str).unique()):
        in_region = muni.loc[muni["region"].astype(str) == region, "municipality_id"]
        rows.append((f"region:{region}", frozenset(schools.loc[schools["municipality_id"].isin(in_region), "school_id"])))
        codes.append(f"region:{region}")
    rows.append(("latvia", frozenset(schools["school_id"])))
    codes.append("latvia")
    lv = ch.Levels(tuple(rows), tuple(range(first_year, last_year + 1)), tuple(codes))
    tables = {"diag3": ch.diagnostics(data, lv, "diag3"), "diag6": ch.diagnostics(data, lv, "diag6"),
              "ce9": ch.exams(data, lv, "ce9", pass_mark=pass_mark), "ce12": ch.exams(data, lv, "ce12", pass_mark=pass_mark),
              "school_life": ch.school_life(data, lv), "wellbeing": ch.wellbeing(data, lv), "support": ch.support(data, lv),
              "soma": ch.soma(data, lv), "cohort": ch.cohort_completion(data, lv)}
    lo, hi = data_years(data)
    trend = indicators.early_leaving_by_year(data, Area(None, None, lo, hi), whole_country=True)
    q1, q3 = np.nanquantile(data["pupils"]["ses_index"], [0.25, 0.75])
    try:
        va, va_error = cmp.value_added(data, area), None
    except Exception as exc:  # noqa: BLE001  too few linked pupils: every report says so
        va, va_error = None, str(exc)
    return National(first_year, last_year, float(pass_mark), (lo, hi), tables, ch._cohorts(data, lv), trend,
                    latvia_rate(data, area, ""), float(cmp.national_icc(data, area)),
                    float(cmp.remember_icc(data, area, cmp._leaving_frame(data, area))), (float(q1), float(q3)),
                    va, va_error)


def load(data_dir: str | Path, *, mapping: str | Path | None, needs: dict[str, Any], rows: dict[str, Any],
         municipality: str, first_year: int, last_year: int, pass_mark: float) -> tuple[Dataset, National | None]:
    """The data a report needs and its national part.

    For one municipality with the national part in the cache (:mod:`.cache`): the municipality's
    rows only and the stored part. Otherwise the whole data set and, for one municipality, the
    national part computed from it and stored for the next runs. The national report and a run with the cache off
    (``EVALTOOLS_NATIONAL_CACHE=0``) get the whole data set and None.
    """
    from evaltools.data import load_dataset
    from evaltools.data.errors import DataFileError

    def everything() -> Dataset:
        return load_dataset(data_dir, mapping=mapping, needs=needs, rows=rows)

    if str(municipality).strip().lower() in ("all", "latvija", "latvia"):
        return everything(), None
    name = cache.key(data_dir, mapping, {"first_year": int(first_year), "last_year": int(last_year),
                                         "pass_mark": float(pass_mark), "needs": needs, "rows": rows})
    if name is None:
        return everything(), None

    def area_only(part: National) -> tuple[Dataset, National | None]:
        try:
            return load_dataset(data_dir, mapping=mapping, needs=needs, rows=rows, municipality=municipality), part
        except DataFileError:  # a name the loader does not know as given: the whole data set says why
            return everything(), None

    part = cache.read(name)
    if isinstance(part, National):
        return area_only(part)
    with cache.locked(name):
        part = cache.read(name)  # another run may have computed it while this one waited
        if isinstance(part, National):
            return area_only(part)
        data = everything()
        from evaltools.studies.municipal_quality.indicators import select_area

        select_area(data, municipality, first_year, last_year)  # bad parameters: the study's own message
        part = build(data, int(first_year), int(last_year), float(pass_mark))
        cache.write(name, part)
    return data, part  # the whole data set with its national part: the same numbers, computed once
