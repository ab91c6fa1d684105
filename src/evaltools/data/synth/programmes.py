"""Programme tables: PUMPURS records, Latvijas skolas soma, teachers' wellbeing and practices.

* PUMPURS (``risk_scores``, ``support_plans``, ``support_measures``) are read off
  the pupil simulation (:mod:`.pupils`); ``plan_risk_types`` records each plan's risk types.
* Skola-kopienā support and the pupil wellbeing survey: :mod:`.community`.
* Latvijas skolas soma (from 2018): activities per pupil per semester ~
  Poisson(school rate), more in urban schools; no effect on wellbeing.

PUMPURS calibration (national scale, seed 20240901) against the project's public figures
(ESF 8.3.4.0/16/I/001, 2017 to the end of 2023: about 93,500 individual support plans for about
50,000 pupils in 599 institutions of 41 municipalities, vocational-school students included):

* 41 of the 43 municipalities take part (two counties never do,
  :data:`.schools.PUMPURS_MUNICIPALITIES_OUT`); about 550 of the 633 general-education schools
  join (:data:`.schools.PUMPURS_JOIN_LOGIT`; 555 at the shipped seed), in 2017-2020;
* plans from the school's roll-out to semester 1 of 2023/24 (``year`` 2023, the end of 2023,
  :data:`.pupils.PUMPURS_LAST_YEAR`), grades 5-12 and, from 2021/22, grades 1-4
  (:data:`.pupils.PUMPURS_GRADES_1_4_FROM`); one plan per pupil-year offered (semester 1,
  risk score at the threshold or above), taken up or not;
* result for general-education schools: 71,898 plans (51,180 taken up) for 37,520 pupils (31,124
  supported), 1.9 plans per pupil as in the public figures (93,500 / 50,000); plans of grades 1-4 are
  about 22 % of them;
* the vocational schools (:mod:`.vocational`: 44 schools, students in courses 1-4, served from the
  schools' roll-out in 2017-2020) add 22,234 plans (15,383 taken up) for 13,975 students in 43
  institutions, drawn from streams of their own: 94,132 plans for 48,437 pupils in 597
  institutions of 41 municipalities in all. Their plans are numbered after the general schools'
  (:func:`pumpurs_tables` ``first_plan``).

The sample scale draws its schools' roll-out the same way, so its counts are in proportion
(85 general-education schools, 74 in PUMPURS, 41 municipalities; 7,292 plans; its 6 vocational
schools add about 2,200 plans).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .community import WELLBEING_YEARS
from .config import SynthConfig

MEASURES = {  # type: (share of measures, mean cost in EUR per plan)
    "teacher_support": (0.35, 180.0),
    "psychologist": (0.20, 240.0),
    "social_pedagogue": (0.20, 200.0),
    "transport": (0.08, 150.0),
    "meals": (0.08, 220.0),
    "dormitory": (0.02, 400.0),
    "learning_materials": (0.07, 60.0),
}
SOMA_FIRST_YEAR = 2018


def pumpurs_tables(rng: np.random.Generator, py: pd.DataFrame, first_plan: int = 1) -> dict[str, pd.DataFrame]:
    """risk_scores, support_plans and support_measures from the pupil-years (or the vocational
    students' years); plans are numbered from ``first_plan``."""
    p = py[py["_pumpurs"]]
    risk = pd.concat([
        pd.DataFrame({"pupil_id": p["pupil_id"].to_numpy(), "year": p["year"].to_numpy(),
                      "semester": 1, "school_id": p["school_id"].to_numpy(), "score": p["_s1"].to_numpy()}),
        pd.DataFrame({"pupil_id": p["pupil_id"].to_numpy(), "year": p["year"].to_numpy(),
                      "semester": 2, "school_id": p["school_id"].to_numpy(), "score": p["_s2"].to_numpy()}),
    ]).sort_values(["year", "pupil_id", "semester"], kind="stable").reset_index(drop=True)
    risk["semester"] = risk["semester"].astype("int64")
    o = py[py["_offer"]]
    plan_ids = np.char.add("PL", np.char.zfill(np.arange(first_plan, first_plan + len(o)).astype(str), 6)).astype(object)
    plans = pd.DataFrame({
        "plan_id": plan_ids, "pupil_id": o["pupil_id"].to_numpy(), "year": o["year"].to_numpy(),
        "semester": np.ones(len(o), np.int64), "school_id": o["school_id"].to_numpy(),
        "risk_score": o["_s1"].to_numpy(), "taken_up": o["_D"].to_numpy().astype(bool),
    })
    taken = plans[plans["taken_up"]]
    n_meas = 1 + np.minimum(rng.poisson(0.9, len(taken)), 3)
    names = np.array(list(MEASURES), dtype=object)
    share = np.array([v[0] for v in MEASURES.values()])
    cost = np.array([v[1] for v in MEASURES.values()])
    kind = rng.choice(len(names), size=int(n_meas.sum()), p=share / share.sum())
    measures = pd.DataFrame({
        "plan_id": np.repeat(taken["plan_id"].to_numpy(), n_meas),
        "pupil_id": np.repeat(taken["pupil_id"].to_numpy(), n_meas),
        "year": np.repeat(taken["year"].to_numpy(), n_meas),
        "type": names[kind],
        "cost_eur": np.round(cost[kind] * rng.lognormal(-0.06, 0.35, len(kind)), 2),
    }).drop_duplicates(["plan_id", "type"]).reset_index(drop=True)
    return {"risk_scores": risk, "support_plans": plans, "support_measures": measures}


RISK_TYPES = ("learning", "economic", "family", "social_health")


def plan_risk_types(rng: np.random.Generator, plans: pd.DataFrame, pupils: pd.DataFrame) -> pd.DataFrame:
    """The risk types recorded for each support plan (one row per plan and type, at least one):
    learning ``expit(0.2 + 1.2*special_needs)``, economic ``expit(-0.6 - 0.9*ses)``, family 0.3,
    social/health ``expit(-1.2 + 0.8*special_needs)``; a plan with none drawn gets its likeliest."""
    info = pupils.set_index("pupil_id").reindex(plans["pupil_id"])
    special = info["special_needs"].to_numpy(float)
    ses = info["ses_index"].to_numpy(float)
    prob = np.column_stack([1 / (1 + np.exp(-(0.2 + 1.2 * special))), 1 / (1 + np.exp(0.6 + 0.9 * ses)),
                            np.full(len(plans), 0.3), 1 / (1 + np.exp(1.2 - 0.8 * special))])
    has = rng.random(prob.shape) < prob
    none = ~has.any(axis=1)
    has[np.flatnonzero(none), prob[none].argmax(axis=1)] = True
    r, c = np.nonzero(has)
    return pd.DataFrame({"plan_id": plans["plan_id"].to_numpy()[r], "pupil_id": plans["pupil_id"].to_numpy()[r],
                         "year": plans["year"].to_numpy()[r],
                         "risk_type": np.array(RISK_TYPES, dtype=object)[c]})


def soma_table(rng: np.random.Generator, py: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """Latvijas skolas soma activities per pupil per semester (2018 onwards)."""
    rate = pd.Series(np.where(schools["urban"], 1.5, 1.0) * rng.lognormal(0.0, 0.3, len(schools)),
                     index=schools["school_id"].to_numpy())
    p = py[py["year"] >= SOMA_FIRST_YEAR]
    lam = p["school_id"].map(rate).to_numpy()
    frames = []
    for sem in (1, 2):
        present = (p["status"] != "left_early").to_numpy() | (sem == 1)
        q = p[present]
        frames.append(pd.DataFrame({
            "pupil_id": q["pupil_id"].to_numpy(), "year": q["year"].to_numpy(),
            "semester": np.full(len(q), sem, np.int64), "school_id": q["school_id"].to_numpy(),
            "activities": rng.poisson(lam[present]).astype(np.int64), "_p": q["_pupil"].to_numpy()}))
    # one pupil's rows together (smaller files); integer keys keep the sort cheap at national scale
    return (pd.concat(frames, ignore_index=True).sort_values(["_p", "year", "semester"], kind="stable")
            .drop(columns="_p").reset_index(drop=True))


def teacher_wellbeing(rng: np.random.Generator, teacher_years: pd.DataFrame, teachers: pd.DataFrame) -> pd.DataFrame:
    """Teachers' yearly wellbeing survey (2021-2023, 80 % answer), 0-100."""
    ty = teacher_years[teacher_years["year"].isin(WELLBEING_YEARS)]
    ty = ty[rng.random(len(ty)) < 0.80]
    eng = ty["teacher_id"].map(teachers.set_index("teacher_id")["engagement"]).to_numpy()
    wb = np.clip(60 + 8 * (eng - 3.4) + rng.normal(0, 10, len(ty)), 0, 100)
    return pd.DataFrame({"teacher_id": ty["teacher_id"].to_numpy(), "year": ty["year"].to_numpy(),
                         "school_id": ty["school_id"].to_numpy(), "wellbeing": np.round(wb, 1)})



def teacher_practices(rng: np.random.Generator, teacher_years: pd.DataFrame, teachers: pd.DataFrame,
                      culture: pd.Series, cfg: SynthConfig) -> pd.DataFrame:
    """Yearly teacher practice survey (2014-2023, 85 % answer): collaboration score 0-100.

    ``collab = 50 + 5*(eng-3.4) + culture_school + 0.8*(year-2014)
    + gp_self_collaboration_points*GP + gp_spillover_points*[colleague of an active participant] + N(0, 8^2)``
    """
    tp = cfg.true
    ty = teacher_years
    gp = ty["in_growth_programme"].to_numpy()
    has = ty.assign(_g=gp).groupby(["school_id", "year"])["_g"].transform("any").to_numpy()
    colleague = has & ~gp
    eng = ty["teacher_id"].map(teachers.set_index("teacher_id")["engagement"]).to_numpy()
    score = (50 + 5 * (eng - 3.4) + ty["school_id"].map(culture).to_numpy() + 0.8 * (ty["year"].to_numpy() - 2014)
             + tp.gp_self_collaboration_points * gp + tp.gp_spillover_points * colleague
             + rng.normal(0, 8, len(ty)))
    answer = rng.random(len(ty)) < 0.85
    return pd.DataFrame({
        "teacher_id": ty["teacher_id"].to_numpy()[answer], "year": ty["year"].to_numpy()[answer],
        "school_id": ty["school_id"].to_numpy()[answer],
        "collaboration": np.round(np.clip(score[answer], 0, 100), 1),
        "_colleague": colleague[answer]})
