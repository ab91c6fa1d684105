"""Coverage and equity: who gets at least one skolas soma activity per semester.

Two statistics, each with one implementation:

* **per semester** (this module): the share of pupils with a record in a semester who had at
  least one activity in it, ``met / pupils`` (pupil-semesters); by semester (the trend) and, over
  the semesters of the last school year, by municipality, planning region, urban/rural, school
  size, language of instruction and the pupil's socio-economic band;
* **per school year** (the municipal study's indicator,
  :func:`evaltools.studies.shared.soma.soma` and ``soma_by_school``): the share of
  pupils who had an activity in *every* semester of the year they were recorded in. It is the
  school's compliance in the funnel plot (one Bernoulli trial per pupil, so the binomial limits
  of :func:`evaltools.inference.funnel.funnel_limits` apply).

Every function returns plain counts and shares; :mod:`.publish` protects them.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset
from evaltools.inference.funnel import LEVELS, funnel_limits, outside_limits
from evaltools.studies.shared.levels import Levels
from evaltools.studies.shared.soma import soma, soma_by_school
from evaltools.report.i18n import sort_names
from evaltools.studies.skolas_soma.frames import DIMENSIONS, ORDER, PANDEMIC, SomaData, semester_position

__all__ = ["semester_trend", "by_dimension", "school_compliance", "compliance_rate", "funnel_flags",
           "COUNT_COLUMNS"]

COUNT_COLUMNS = ("pupils", "met")


def _shares(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    out = frame.groupby(list(keys), sort=True).agg(pupils=("met", "size"), met=("met", "sum"))
    out["met_pct"] = 100 * out["met"] / out["pupils"]
    return out.astype({"pupils": "int64", "met": "int64"})


def semester_trend(data: SomaData, *, area_label: str, latvia_label: str) -> pd.DataFrame:
    """Per semester: pupils with a record, pupils with at least one activity, the share (%),
    the semester's place on the school-year axis (``position``) and whether schooling was
    restricted by the pandemic (``pandemic``). Rows (area, year, semester): the area, then
    Latvia when the area is a region."""
    parts = [(area_label, data.semesters)]
    if data.region is not None:
        nat = data.national_semesters
        parts.append((latvia_label, nat[nat["year"].between(data.first_year, data.last_year)]))
    frames = []
    for label, frame in parts:
        t = _shares(frame, ["year", "semester"]).reset_index()
        t.insert(0, "area", label)
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    out["position"] = semester_position(out["year"], out["semester"]).astype(float)
    out["pandemic"] = [(int(y), int(s)) in PANDEMIC for y, s in zip(out["year"], out["semester"])]
    return out.set_index(["area", "year", "semester"])


def by_dimension(data: SomaData, dimension: str, *, total_label: str, year: int | None = None) -> pd.DataFrame:
    """Pupil-semesters, those meeting the rule and the share (%) by the levels of ``dimension``
    (one of :data:`DIMENSIONS` or ``"municipality"``) over the semesters of ``year`` (default: the
    last school year of the period), with a total row ``total_label``."""
    if dimension not in (*DIMENSIONS, "municipality"):
        raise ValueError(f"by_dimension(): unknown dimension {dimension!r}; use one of "
                         f"{', '.join((*DIMENSIONS, 'municipality'))}.")
    y = data.last_year if year is None else int(year)
    frame = data.semesters.loc[data.semesters["year"] == y, [dimension, "met"]]  # only what is counted
    out = _shares(frame.assign(level=frame[dimension].astype(str)), ["level"])
    order = [c for c in ORDER.get(dimension, ()) if c in out.index]
    out = out.loc[order + sort_names([c for c in out.index if c not in order], "lv")]
    total = _shares(frame.assign(level=total_label), ["level"])
    out = pd.concat([out, total])
    out.index.name = dimension
    return out


def school_compliance(data: SomaData, dataset_like: Dataset, *, year: int | None = None) -> pd.DataFrame:
    """Each school's pupils recorded in ``year`` (default: the last year) and those with an
    activity in every semester (``covered``, ``covered_pct``), from the municipal study's
    indicator (:func:`evaltools.studies.shared.soma.soma_by_school`); with the
    school's municipality. Rows: the schools' labels (``SomaData.schools["label"]``)."""
    y = data.last_year if year is None else int(year)
    lv = Levels(rows=(("area", frozenset(data.schools["school_id"])),), years=(y,))
    t = soma_by_school(dataset_like, lv).xs(y, level="year")
    where = data.schools.set_index("label")["municipality"]
    t.insert(0, "municipality", t.index.map(where))
    return t


def compliance_rate(dataset_like: Dataset, schools: Sequence[str], year: int) -> tuple[int, int]:
    """Pupils recorded in ``year`` in ``schools`` and those with an activity in every semester
    (:func:`evaltools.studies.shared.soma.soma`)."""
    lv = Levels(rows=(("area", frozenset(schools)),), years=(int(year),))
    row = soma(dataset_like, lv).iloc[0]
    return int(row["pupils"]), int(row["covered"])


def funnel_flags(pupils: pd.Series, covered_pct: pd.Series, theta_pct: float,
                 level: float = LEVELS[1]) -> pd.Series:
    """-1 where a school's share lies below the ``level`` funnel limit around ``theta_pct``, +1
    above, 0 inside (:func:`evaltools.inference.funnel.outside_limits`); NaN where either value
    is missing (hidden)."""
    ok = pupils.notna() & covered_pct.notna() & (pupils > 0)
    out = pd.Series(np.nan, index=pupils.index)
    if ok.any():
        limits = funnel_limits(pupils[ok].to_numpy(float), theta_pct / 100, kind="rate", scale=100, levels=(level,))
        out[ok] = outside_limits(covered_pct[ok].to_numpy(float), limits, level=level)
    return out
