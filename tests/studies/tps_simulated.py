"""A small simulated data set following the contract of the teacher professional-support tables
(/work/s14/contract_tps.md: methodologist_support, teacher_development, lesson_observations), with
known effects, for the unit tests of ``evaltools.studies.teacher_professional_support`` (no kernel,
no files): 43 municipalities with a staggered start 2017-2021 (5 never), 2 schools each, teachers
observed by the head in a share of years; engagement raises both the hours of development and the
observed score (the naive dose slope is biased upward)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset

YEARS = range(2014, 2024)
PROGRAMME = "Teacher professional support (ESF 4.2.2.3)"


def simulate(seed: int = 1, *, att: float = 0.25, per_10_hours: float = 0.04, leave_pp: float = -3.0,
             pupil_pp: float = 2.0, teachers_per_school: int = 14, growth: float = 0.03) -> Dataset:
    """The tables and their ``true_effects.json`` (as a parsed dict in ``Dataset.truth``)."""
    rng = np.random.default_rng(seed)
    regions = ["Rīga", "Latgale", "Kurzeme", "Vidzeme", "Zemgale"]
    munis = pd.DataFrame({"municipality_id": [f"LV{i:02d}" for i in range(1, 44)],
                          "region": [regions[i % 5] for i in range(43)]})
    starts = np.array([2017, 2018, 2019, 2020, 2021] * 8 + [0, 0, 0], dtype=object)[:43]
    rng.shuffle(starts)
    support = pd.DataFrame({"municipality_id": munis["municipality_id"],
                            "start_year": pd.array([None if s == 0 else int(s) for s in starts], dtype="Int64"),
                            "methodologists": rng.integers(1, 5, 43)})
    schools = pd.DataFrame({"school_id": [f"S{i:04d}" for i in range(86)],
                            "municipality_id": np.repeat(munis["municipality_id"].to_numpy(), 2),
                            "type": rng.choice(["primary", "basic", "secondary"], 86)})
    n_t = 86 * teachers_per_school
    teachers = pd.DataFrame({"teacher_id": [f"T{i:05d}" for i in range(n_t)],
                             "subject": rng.choice(["math", "latvian", "english", "science", "primary"], n_t),
                             "engagement": np.round(rng.normal(3.4, 0.6, n_t), 2)})
    teachers["school_id"] = np.repeat(schools["school_id"].to_numpy(), teachers_per_school)
    service0 = rng.integers(0, 30, n_t)
    t_eff = rng.normal(0, 0.25, n_t)
    start_of = dict(zip(support["municipality_id"], [0 if pd.isna(s) else int(s) for s in support["start_year"]]))
    muni_of = dict(zip(schools["school_id"], schools["municipality_id"]))
    y_shock = {y: rng.normal(0, 0.05) for y in YEARS}
    ty, dev, obs, asm = [], [], [], []
    cells = {}
    for i, row in teachers.iterrows():
        g = start_of[muni_of[row.school_id]]
        eng = row.engagement - 3.4
        for y in YEARS:
            post = g > 0 and y >= g
            e = y - g if post else None
            eff = (att + growth * (e - 1.5)) if post else 0.0  # grows by event time, mean att at e = 1.5
            base_h = np.exp(1.2 + 0.6 * eng)  # no supply shift: the roll-out's truth is then eff alone
            h = float(rng.poisson(base_h)) * 2.0
            if h > 0:
                typ = rng.choice(["course", "mentoring", "lesson_study", "learning_community", "observation_feedback"])
                dev.append((row.teacher_id, y, typ, h, bool(post and rng.random() < 0.6)))
            p_leave = 0.08 + (leave_pp / 100 if post else 0.0) - 0.02 * eng
            stayed = rng.random() > p_leave
            ty.append((row.teacher_id, y, row.school_id, row.subject, int(service0[i] + y - 2014), bool(stayed)))
            if rng.random() < 0.6:
                s = 2.6 + 0.25 * eng + t_eff[i] + y_shock[y] + eff + per_10_hours * h / 10 + rng.normal(0, 0.2)
                s = float(np.clip(s, 1, 4))
                obs.append((row.teacher_id, y, row.school_id, "head", s, s, s, s))
            if post and rng.random() < 0.3:
                obs.append((row.teacher_id, y, row.school_id, "methodologist", 3.0, 3.0, 3.0, 3.0))
            if post:
                cells.setdefault((g, y), []).append(eff)
            for k in range(3):
                sc = 60 + 10 * rng.normal() + 2.0 * eng + (pupil_pp if post else 0.0)
                asm.append((f"P{i}_{y}_{k}", y, "ce9", row.subject, float(sc), row.teacher_id))
    tables = {
        "municipalities": munis, "schools": schools, "teachers": teachers.drop(columns="school_id"),
        "teacher_years": pd.DataFrame(ty, columns=["teacher_id", "year", "school_id", "subject", "years_of_service",
                                                   "stayed"]),
        "methodologist_support": support,
        "teacher_development": pd.DataFrame(dev, columns=["teacher_id", "year", "type", "hours", "with_methodologist"]),
        "lesson_observations": pd.DataFrame(obs, columns=["teacher_id", "year", "school_id", "observer", "score",
                                                          "climate", "instruction", "assessment"]),
        "assessments": pd.DataFrame(asm, columns=["pupil_id", "year", "subject_", "subject", "score", "teacher_id"])
        .rename(columns={"subject_": "test"}),
    }
    profile = {str(e): att + growth * (e - 1.5) for e in range(0, 7)}
    truth = {"generator": "tests.studies.tps_simulated", "scale": "test", "seed": seed, "effects": [
        {"name": "teacher_support_observation", "programme": PROGRAMME, "true_value": att,
         "parameters": {"event_time_profile": profile, "effect_per_10_hours": per_10_hours},
         "naive_bias_direction": "upward"},
        {"name": "teacher_support_observation_per_10_hours", "programme": PROGRAMME, "true_value": per_10_hours,
         "parameters": {"effect_per_10_hours": per_10_hours}, "naive_bias_direction": "upward"},
        {"name": "teacher_support_retention", "programme": PROGRAMME, "true_value": leave_pp, "parameters": {}},
        {"name": "teacher_support_pupil_results", "programme": PROGRAMME, "true_value": pupil_pp, "parameters": {}},
    ]}
    return Dataset(path=Path("simulated"), tables=tables, truth=truth)
