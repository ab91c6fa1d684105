"""The frames of the teacher professional-support study (ESF 4.2.2.3).

The treatment is the municipality's: from its ``start_year`` (``methodologist_support``) the
methodologist network supports its teachers. Every frame carries the municipality of the school
the row belongs to that year, its ``cohort`` (the start year; 0 = not started within the data's
years) and ``treated`` (1 from the start year on). Frames:

* ``observations``: teacher-years with a head-observed lesson (mean of the year's head
  observations: ``score`` and the three domains), with the teacher's hours of professional
  development that year (``hours``, 0 without any), the previous observed score, service, subject,
  school type (and ``engagement`` when the data have it);
* ``municipality_panel``: municipality-years, mean head-observed score and its observations;
* ``retention``: teacher-years with ``left`` = 1 when the teacher left teaching after the year
  (``teacher_years.stayed`` False; the last data year, whose leaving is unknown, is left out);
* ``pupils``: pupil-subject-years of the percent-scale tests (diag6, ce9, ce12) linked to a
  teacher, the score centred on its test-subject-year mean (``score_c``), the teacher's school;
* ``development``: the activities (teacher, year, type, hours, with_methodologist) of the area.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaltools.core.errors import DataError

__all__ = ["TPSDataError", "TPSData", "prepare", "ACTIVITY_TYPES", "SUBGROUPS", "SERVICE_BANDS", "TEST_TYPES"]

ACTIVITY_TYPES: tuple[str, ...] = ("course", "mentoring", "lesson_study", "learning_community",
                                   "observation_feedback")
"""Activity types of ``teacher_development.type``."""

TEST_TYPES: tuple[str, ...] = ("diag6", "ce9", "ce12")
"""Percent-scale tests linked to a teacher (``assessments.teacher_id``)."""

SUBGROUPS: tuple[str, ...] = ("service_band", "subject", "school_type")
"""Columns of ``observations`` that define the "for whom" subgroups."""

SERVICE_BANDS: tuple[tuple[int, int, str], ...] = ((0, 4, "0-4"), (5, 14, "5-14"), (15, 200, "15+"))
"""Years of service: (first, last, label)."""


class TPSDataError(DataError, ValueError):
    """The data set cannot support the study (missing table, unknown region, no roll-out in the area)."""


@dataclass
class TPSData:
    """The study's frames for one area and period (see :func:`prepare` and the module docstring)."""

    observations: pd.DataFrame
    municipality_panel: pd.DataFrame
    retention: pd.DataFrame
    pupils: pd.DataFrame
    development: pd.DataFrame
    support: pd.DataFrame
    years: tuple[int, ...]
    region: str | None
    has_engagement: bool
    notes: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Sizes the report names: municipalities (started, never), teachers observed, observations."""
        s, o = self.support, self.observations
        return {"municipalities": int(len(s)), "started": int((s["cohort"] > 0).sum()),
                "not_started": int((s["cohort"] == 0).sum()), "teachers": int(o["teacher_id"].nunique()),
                "teacher_years": int(len(o)),
                "supported_teachers": int(o.loc[o["treated"] == 1, "teacher_id"].nunique()),
                "schools": int(o["school_id"].nunique())}


def _service_band(years: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=years.index, dtype="object")
    for lo, hi, label in SERVICE_BANDS:
        out[(years >= lo) & (years <= hi)] = label
    return out


def _table(ds: Any, name: str) -> pd.DataFrame:
    if name not in ds:
        raise TPSDataError(f"The data set has no table {name!r}, which the teacher professional-support study needs "
                           f"(see docs/teacher_professional_support.md, 'Data'). Add the file {name}.parquet/.csv "
                           "to the data folder or name it in the column mapping's 'files' section.")
    return ds[name]


def prepare(ds: Any, *, region: str | None = None, first_year: int | None = None,
            last_year: int | None = None) -> TPSData:
    """The study's frames from a loaded data set (all of Latvia, or one planning ``region``), for the
    school years ``first_year``..``last_year`` (default: the data's)."""
    region = None if region in (None, "", "all") else str(region)
    munis = _table(ds, "municipalities")[["municipality_id", "region"]]
    if region is not None:
        known = sorted(munis["region"].dropna().unique())
        if region not in known:
            raise TPSDataError(f"Parameter 'region': {region!r} is not a planning region of the data set; "
                               f"choose one of {', '.join(known)} or 'all'.")
        munis = munis[munis["region"] == region]
    schools = _table(ds, "schools")[["school_id", "municipality_id", "type"]]
    schools = schools[schools["municipality_id"].isin(munis["municipality_id"])]
    sup = _table(ds, "methodologist_support")[["municipality_id", "start_year", "methodologists"]].copy()
    sup = sup[sup["municipality_id"].isin(munis["municipality_id"])]
    obs_all = _table(ds, "lesson_observations")
    years_all = sorted(int(y) for y in obs_all["year"].unique())
    if not years_all:
        raise TPSDataError("The table 'lesson_observations' has no rows: the study needs head-observed lessons.")
    lo = first_year if first_year is not None else years_all[0]
    hi = last_year if last_year is not None else years_all[-1]
    if lo > hi:
        raise TPSDataError(f"Parameters 'first_year' ({lo}) and 'last_year' ({hi}): the first year is after the last.")
    years = tuple(y for y in years_all if lo <= y <= hi)
    if len(years) < 3:
        raise TPSDataError(f"Parameters 'first_year'/'last_year': only {len(years)} school year(s) with observed "
                           "lessons in the period; the roll-out design needs at least 3 (choose a longer period).")
    start = pd.to_numeric(sup["start_year"], errors="coerce")
    # a municipality supported from before the period has no pre-period: it cannot serve as a cohort
    sup["cohort"] = np.where(start.notna() & (start <= years[-1]), start.fillna(0), 0).astype("int64")
    always = sup["cohort"].between(1, years[0])
    sup = sup[~always].reset_index(drop=True)
    if not (sup["cohort"] > 0).any():
        raise TPSDataError("No municipality of the area starts methodologist support within the period "
                           f"{years[0]}-{years[-1]}: there is no roll-out to evaluate. Choose a larger area or "
                           "another period.")
    cohort = sup.set_index("municipality_id")["cohort"]
    sch = schools[schools["municipality_id"].isin(cohort.index)].set_index("school_id")

    def locate(frame: pd.DataFrame) -> pd.DataFrame:
        f = frame[frame["school_id"].isin(sch.index) & frame["year"].isin(years)].copy()
        f["municipality_id"] = f["school_id"].map(sch["municipality_id"])
        f["school_type"] = f["school_id"].map(sch["type"]).astype(str)
        f["cohort"] = f["municipality_id"].map(cohort).astype("int64")
        f["treated"] = ((f["cohort"] > 0) & (f["year"] >= f["cohort"])).astype("int64")
        return f

    ty = _table(ds, "teacher_years")
    teachers = _table(ds, "teachers")
    has_eng = "engagement" in teachers.columns and teachers["engagement"].notna().any()

    dev = _table(ds, "teacher_development")[["teacher_id", "year", "type", "hours", "with_methodologist"]]
    hours = dev.groupby(["teacher_id", "year"], as_index=False)["hours"].sum()

    heads = obs_all[obs_all["observer"] == "head"]
    domains = [c for c in ("climate", "instruction", "assessment") if c in heads.columns]
    o = (heads.groupby(["teacher_id", "year"], as_index=False)
         .agg(school_id=("school_id", "first"), score=("score", "mean"), n_obs=("score", "size"),
              **{d: (d, "mean") for d in domains}))
    o = o.sort_values(["teacher_id", "year"])
    o["score_prev"] = o.groupby("teacher_id")["score"].shift(1)
    o["year_prev"] = o.groupby("teacher_id")["year"].shift(1)
    o = locate(o)
    o = o.merge(hours, on=["teacher_id", "year"], how="left")
    o["hours"] = o["hours"].fillna(0.0).astype(float)
    o["hours10"] = o["hours"] / 10.0
    o = o.merge(ty[["teacher_id", "year", "years_of_service", "subject"]], on=["teacher_id", "year"], how="left")
    if o["subject"].isna().any():
        o["subject"] = o["subject"].fillna(o["teacher_id"].map(teachers.set_index("teacher_id")["subject"]))
    o["service_band"] = _service_band(o["years_of_service"])
    if has_eng:
        o["engagement"] = o["teacher_id"].map(teachers.set_index("teacher_id")["engagement"]).astype(float)
    o = o.reset_index(drop=True)
    if o.empty:
        raise TPSDataError("No head-observed lesson in the area and period: nothing to evaluate.")

    mp = (o.groupby(["municipality_id", "year"], as_index=False)
          .agg(score=("score", "mean"), n_obs=("n_obs", "sum"), teachers=("teacher_id", "nunique"),
               cohort=("cohort", "first")))
    mp["weight"] = mp.groupby("municipality_id")["teachers"].transform("mean")

    last = int(ty["year"].max())
    r = ty[ty["year"] < last][["teacher_id", "year", "school_id", "years_of_service", "subject", "stayed"]]
    r = locate(r)
    r["left"] = (~r["stayed"].astype(bool)).astype(float)
    r["service_band"] = _service_band(r["years_of_service"])
    r = r.reset_index(drop=True)

    a = _table(ds, "assessments")
    a = a[a["test"].isin(TEST_TYPES) & a["teacher_id"].notna()][["pupil_id", "year", "test", "subject", "score",
                                                                  "teacher_id"]]
    a = a.merge(ty[["teacher_id", "year", "school_id"]], on=["teacher_id", "year"], how="inner")
    a = locate(a)
    if len(a):
        a["score_c"] = a["score"] - a.groupby(["test", "subject", "year"])["score"].transform("mean")
    a = a.reset_index(drop=True)

    d = dev.merge(ty[["teacher_id", "year", "school_id"]], on=["teacher_id", "year"], how="inner")
    d = locate(d).reset_index(drop=True)

    return TPSData(observations=o, municipality_panel=mp, retention=r, pupils=a, development=d, support=sup,
                   years=years, region=region, has_engagement=bool(has_eng),
                   notes={"dropped_always_supported": int(always.sum()), "last_teacher_year": last})
