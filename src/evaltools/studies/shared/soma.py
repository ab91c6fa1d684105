"""The Latvijas skolas soma indicator: the share of pupils with at least one activity in every
semester of the school year (the programme's own rule), by level and year or by school.

A pupil counts once a year at each school with records; covered when the fewest activities in
any of the year's semesters is at least one (``skolas_soma``: one row per pupil, school, year and
semester with the number of activities).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset
from evaltools.studies.shared import frames
from evaltools.studies.shared.levels import Levels, LevelRows, by_level_year, by_levels


def soma_pupils(data: Dataset, lv: Levels) -> pd.DataFrame:
    """One row per (pupil, year, school) of the period with skolas soma records: ``covered``."""
    def build() -> pd.DataFrame:
        s = data["skolas_soma"]
        s = s.loc[s["year"].between(lv.years[0], lv.years[-1]), ["pupil_id", "year", "school_id", "activities"]]
        per = s.groupby(["pupil_id", "year", "school_id"], as_index=False, sort=False)["activities"].min()
        return per.assign(covered=per["activities"] >= 1).drop(columns="activities")

    return frames.remember(data, ("soma_pupils", lv.years[0], lv.years[-1]), ("skolas_soma",), build)


def soma(data: Dataset, lv: Levels, national: LevelRows | None = None) -> pd.DataFrame:
    """Pupils with skolas soma records and the share (%) with an activity in every semester, by
    (level, year) (``national``: the levels after the area precomputed, :func:`.levels.by_levels`)."""
    def agg(f: pd.DataFrame) -> dict[str, float]:
        n, k = len(f), int(f["covered"].sum())
        return {"pupils": n, "covered": k, "covered_pct": 100 * k / n if n else np.nan}

    def raw(d: Dataset, levels_: Levels) -> pd.DataFrame:
        return by_level_year(soma_pupils(d, levels_), levels_, agg, ["pupils", "covered", "covered_pct"])

    return by_levels(data, lv, "soma", raw, national).astype({"pupils": "int64", "covered": "int64"})


def soma_by_school(data: Dataset, lv: Levels) -> pd.DataFrame:
    """:func:`soma` for each school of the area (the first level), by (school, year); schools
    named by :func:`.frames.school_labels`."""
    own = lv.rows[0][1]
    f = soma_pupils(data, lv)
    f = f[f["school_id"].isin(own)]
    names = frames.school_labels(data)
    out = f.groupby([f["school_id"].map(names).rename("school"), "year"]).agg(
        pupils=("covered", "size"), covered=("covered", "sum"))
    out["covered_pct"] = 100 * out["covered"] / out["pupils"]
    return out.astype({"pupils": "int64", "covered": "int64"})
