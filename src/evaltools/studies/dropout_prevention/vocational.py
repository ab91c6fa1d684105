"""PUMPURS for vocational-school students: the programme's totals and their early leaving.

PUMPURS served vocational students as well as general-education pupils (the public totals count
both). Their years are the table ``vocational_years`` (course 1-4 after grade 9), never rows of
``pupil_years``: the study's population (grades 5-12 of general schools) and every estimate of it
are untouched, and this module reports the vocational students apart:

* :func:`programme_totals`: plans, plans taken up, pupils with a plan, institutions and
  municipalities, for general-education and vocational schools (a plan is a vocational student's
  when its pupil and year are a row of ``vocational_years``);
* :func:`leaving_by_course`: students' years and early leavers by course;
* :func:`vocational_effect`: the same discrete-time hazard as the headline design
  (:func:`.effects.support_hazard`, periods = courses), fitted on the vocational students' PUMPURS
  years, with its ATT on the probability scale (:func:`.effects.probability_effect`). Few
  vocational schools make school clusters unreliable, so SEs are clustered by student.

An extract without ``vocational_years`` gives ``None`` (the report says so).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.estimate.result import Estimate
from evaltools.studies.dropout_prevention import frames
from evaltools.studies.dropout_prevention.effects import probability_effect, support_hazard
from evaltools.studies.dropout_prevention.frames import PUPIL_CODE, SCORE, TREND, YEARS_IN, DropoutData

__all__ = ["VocationalData", "prepare", "vocational_frames", "programme_totals", "leaving_by_course",
           "vocational_effect", "pupils_in_all", "GROUPS"]

GROUPS = ("general", "vocational")
"""The rows of :func:`programme_totals`."""


@dataclass(frozen=True)
class VocationalData:
    """The vocational students' years of the area and period (``years``) and every plan of the area and
    period with its group (``plans``: ``group`` general or vocational)."""

    years: pd.DataFrame
    plans: pd.DataFrame


def vocational_frames(ds: Any, data: DropoutData) -> VocationalData | None:
    """Build :class:`VocationalData` for the area, period and threshold of ``data`` (``None`` when the
    data set has no ``vocational_years`` table)."""
    if "vocational_years" not in ds:
        return None
    lo, hi, threshold = data.first_year, data.last_year, data.threshold
    mun = ds["municipalities"][["municipality_id", "region"]]
    schools = (ds["schools"][["school_id", "municipality_id"]].merge(mun, on="municipality_id", how="left")
               .merge(ds["pumpurs_schools"][["school_id", "rollout_year"]], on="school_id", how="left"))
    schools["cohort"] = schools["rollout_year"].fillna(0).astype("int64")
    if data.region is not None:
        schools = schools[schools["region"] == data.region]
    schools = schools.drop_duplicates("school_id").set_index("school_id")
    plans = ds["support_plans"]
    rs = ds["risk_scores"] if "risk_scores" in ds else None
    s1 = (rs[rs["semester"] == 1].groupby(["pupil_id", "year"], as_index=False)["score"].max()
          if data.notes.get("score_source") == "risk_scores" and rs is not None else None)
    pupils = ds["pupils"].drop_duplicates("pupil_id").set_index("pupil_id")
    vy = ds["vocational_years"]
    vy = vy[vy["year"].between(lo, hi) & vy["school_id"].isin(schools.index)].copy()
    vy = vy.sort_values(["pupil_id", "year"], kind="stable").reset_index(drop=True)
    key = ["pupil_id", "year"]
    voc_keys = ds["vocational_years"][key].assign(_voc=True)
    area_plans = plans[plans["year"].between(lo, hi) & plans["school_id"].isin(schools.index)]
    area_plans = area_plans.merge(voc_keys, on=key, how="left")
    area_plans = area_plans.assign(group=np.where(area_plans["_voc"].eq(True), "vocational", "general"),
                                   municipality_id=area_plans["school_id"].map(schools["municipality_id"]))
    per_py = plans.groupby(key, as_index=False).agg(taken_up=("taken_up", "max"), plan_score=("risk_score", "max"))
    vy = vy.merge(per_py, on=key, how="left")
    if s1 is not None:
        vy = vy.merge(s1.rename(columns={"score": "s1"}), on=key, how="left")
    else:
        vy["s1"] = vy["plan_score"]
    prev = vy.groupby("pupil_id")["absences"].shift(1)
    same = vy.groupby("pupil_id")["year"].shift(1).eq(vy["year"] - 1)
    prev = prev.where(same)
    cohort = vy["school_id"].map(schools["cohort"]).fillna(0).astype("int64").to_numpy()
    year = vy["year"].to_numpy(np.int64)
    started = (cohort > 0) & (year >= cohort)
    vy = vy.assign(
        grade=vy["course"].astype("int64"),  # the hazard's periods: courses
        left_early=(vy["status"] == "left_early").astype("int64"),
        offered=vy["taken_up"].notna(), supported=vy["taken_up"].eq(True),
        municipality_id=vy["school_id"].map(schools["municipality_id"]),
        special_needs=vy["pupil_id"].map(pupils["special_needs"]).astype(float).fillna(0.0),
        absences_prev=prev, log_absences_prev=np.nan_to_num(np.log1p(prev.to_numpy(float)), nan=0.0),
        absences_prev_missing=prev.isna().astype(float),
        in_pumpurs=vy["s1"].notna(),
    )
    vy[TREND] = (year - lo).astype(np.int64)
    vy[SCORE] = (vy["s1"] - threshold) / 10.0
    vy[YEARS_IN] = np.where(started, year - cohort, 0).astype(np.int64)
    vy[PUPIL_CODE] = pd.factorize(vy["pupil_id"])[0].astype(np.int64)
    return VocationalData(years=vy.drop(columns=["taken_up", "plan_score"]),
                          plans=area_plans.drop(columns="_voc"))


def programme_totals(v: VocationalData) -> pd.DataFrame:
    """Plans, plans taken up, pupils with a plan, institutions and municipalities, by group (index
    :data:`GROUPS`): the programme's totals in the area and period, vocational students included."""
    rows = {}
    for g in GROUPS:
        p = v.plans[v.plans["group"] == g]
        rows[g] = {"plans": len(p), "taken_up": int(p["taken_up"].sum()), "pupils": int(p["pupil_id"].nunique()),
                   "institutions": int(p["school_id"].nunique()), "municipalities": int(p["municipality_id"].nunique())}
    return pd.DataFrame.from_dict(rows, orient="index").astype("int64").rename_axis("group")


def pupils_in_all(v: VocationalData) -> dict[str, int]:
    """Distinct pupils with a plan in either group, and those with plans in both (a general-school plan,
    then a vocational one): the difference between the groups' sum and the total."""
    g = v.plans.groupby("pupil_id")["group"].nunique()
    return {"pupils": int(len(g)), "both": int((g > 1).sum()),
            "municipalities": int(v.plans["municipality_id"].nunique())}


def leaving_by_course(v: VocationalData) -> pd.DataFrame:
    """Students' years and early leavers by course, with the rate (%) and an ``all`` row."""
    y = v.years
    g = y.groupby("course").agg(student_years=("left_early", "size"), left_early=("left_early", "sum"))
    g.loc["all"] = g.sum()
    g = g.astype("int64")
    g["rate"] = 100.0 * g["left_early"] / g["student_years"].where(g["student_years"] > 0)
    g.index = g.index.map(str)
    return g.rename_axis("course")


def vocational_effect(data: DropoutData, *, min_rows: int = 10) -> dict[str, Estimate] | None:
    """Support on vocational students' early leaving: ``log_or`` (the support coefficient at the
    threshold in a school's first year) and ``att`` (mean h(1) - h(0) over the supported years), from
    :func:`.effects.support_hazard` on their PUMPURS years; ``None`` without the table, or with fewer
    than ``min_rows`` supported years, leavers or non-supported years."""
    v = data.vocational
    if v is None:
        return None
    rows = v.years[v.years["in_pumpurs"]].reset_index(drop=True)
    sup = rows["supported"]
    if min(int(sup.sum()), int((~sup).sum()), int(rows["left_early"].sum())) < min_rows:
        return None
    result, frame = support_hazard(data, rows=rows, cluster=PUPIL_CODE)
    att = probability_effect(result, frame[frame["supported"]], label="ATT (probability), vocational students")
    return {"log_or": result.estimate, "att": att}


def prepare(ds: Any, **options: Any) -> DropoutData:
    """:func:`.frames.prepare` with the vocational students' frames attached (``data.vocational``)."""
    data = frames.prepare(ds, **options)
    return replace(data, vocational=vocational_frames(ds, data))
