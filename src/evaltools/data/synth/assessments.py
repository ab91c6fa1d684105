"""Diagnostic tests, centralised exams and classroom grades.

Score model (percent, clipped to [0, 100]) for pupil i, test/subject s, year t::

    score = mean_s + shock_st + sd_s*(0.8*theta_i + 0.6*eps + v_teacher)
            + engagement_pupil_score_pp*(eng_teacher - 3.4) + gp_pupil_score_pp*GP_teacher
            + tps_pupil_points_per_rubric_point*gain_teacher

(``gain_teacher``: the linked teacher's lesson-practice gain from methodologist support that year,
hidden column ``_tps_gain`` of ``teacher_years``, see :mod:`.teacher_support`; its points are kept
in the hidden column ``_tps``)

(for the grade-9 mathematics exam ``0.8*theta_i + 0.6*eps`` is the pupil simulation's ``z9``,
which decided whether a pupil who failed repeats grade 9). Hidden columns: ``_p`` (pupil
index), ``_raw`` (the score before rounding and clipping, to which
:mod:`.community` adds the effects of Skola-kopienā support) and ``_noise`` (its exam-day part,
``sd*0.6*eps``, from which the expected effect on passing is computed).

``theta`` is the pupil's ability (correlated with SES). ``v_teacher`` is the
linked teacher's persistent effect (SD ``TEACHER_SD`` test SDs, zero without a
link), drawn independently of everything else from its own random stream: the
scores of one teacher's pupils are correlated, as real results are, and nothing
is confounded. Diagnostic tests of
grade 6 and the exams of grades 9 and 12 name the subject teacher
(``teacher_id``); grade 3 diagnostics are taken with the class teacher and have
no link. Classroom grades are integers 1-10 for grades 4-12.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .config import SUBJECTS, YEARS, SynthConfig
from .groups import pick_in_groups

# national means and spreads (percent), approximate published levels; see the codebook
TEST_MEANS = {
    "diag3": {"math": 68.0, "latvian": 74.0},
    "diag6": {"math": 60.0, "latvian": 64.0, "science": 62.0},
    "ce9": {"math": 55.0, "latvian": 63.0, "english": 68.0},
    "ce12": {"math": 36.0, "latvian": 51.0, "english": 62.0},
}
TEST_SD = {"diag3": 16.0, "diag6": 16.0, "ce9": 18.0, "ce12": 20.0}
TEST_GRADE = {"diag3": 3, "diag6": 6, "ce9": 9, "ce12": 12}
CE9_NOT_HELD = (2019, 2020)  # school years whose spring grade-9 exams were cancelled (COVID-19)
TEACHER_SD = 0.15  # persistent teacher effect on their pupils' test scores, in test SDs


def teacher_effects(rng: np.random.Generator, teacher_ids: np.ndarray) -> pd.Series:
    """Persistent teacher effects on test scores (in test SDs, mean 0, SD ``TEACHER_SD``), by teacher id."""
    return pd.Series(rng.normal(0.0, TEACHER_SD, len(teacher_ids)), index=teacher_ids)


def assign_subject_teachers(
    rng: np.random.Generator, pupil_years: pd.DataFrame, teacher_years: pd.DataFrame,
    subjects: tuple[str, ...] = ("math", "latvian", "english"),
) -> pd.DataFrame:
    """One subject teacher per pupil-year (grades 4-12) and subject, drawn within school-year.

    Returns a long frame: row (index into ``pupil_years``), subject, teacher row
    (index into ``teacher_years``, -1 when the school has no such teacher).
    """
    sch_codes = {s: i for i, s in enumerate(pd.unique(teacher_years["school_id"]))}
    ty_s = teacher_years["school_id"].map(sch_codes).to_numpy()
    ty_y = teacher_years["year"].to_numpy() - YEARS[0]
    ty_subj = teacher_years["subject"].to_numpy()
    py_s = pupil_years["school_id"].map(sch_codes).fillna(-1).to_numpy(np.int64)
    py_y = pupil_years["year"].to_numpy() - YEARS[0]
    rows = np.flatnonzero(pupil_years["grade"].to_numpy() >= 4)
    out = []
    for j, subj in enumerate(subjects):
        mem = np.flatnonzero(ty_subj == subj)
        mkey = (ty_s[mem] * 16 + ty_y[mem]) * 4 + j
        qkey = (py_s[rows] * 16 + py_y[rows]) * 4 + j
        pick = pick_in_groups(rng, mkey, qkey)
        out.append(pd.DataFrame({"row": rows, "subject": subj,
                                 "trow": np.where(pick >= 0, mem[np.maximum(pick, 0)], -1)}))
    return pd.concat(out, ignore_index=True)


def simulate_assessments(
    rng: np.random.Generator,
    pupil_years: pd.DataFrame,
    theta: np.ndarray,
    teacher_years: pd.DataFrame,
    teachers: pd.DataFrame,
    links: pd.DataFrame,
    cfg: SynthConfig,
    effects: pd.Series | None = None,
) -> pd.DataFrame:
    """All assessment rows (tests and classroom grades) with hidden truth columns.

    ``effects``: teacher effects from :func:`teacher_effects` (none if omitted).
    """
    tp = cfg.true
    eng_by_id = teachers.set_index("teacher_id")["engagement"]
    t_eng = teacher_years["teacher_id"].map(eng_by_id).to_numpy()
    t_gp = teacher_years["in_growth_programme"].to_numpy()
    t_id = teacher_years["teacher_id"].to_numpy()
    t_gain = (teacher_years["_tps_gain"].to_numpy(float) if "_tps_gain" in teacher_years
              else np.zeros(len(teacher_years)))
    t_eff = (np.zeros(len(teacher_years)) if effects is None
             else teacher_years["teacher_id"].map(effects).to_numpy(float))
    link = {(s): links[links["subject"] == s].set_index("row")["trow"] for s in links["subject"].unique()}

    grade = pupil_years["grade"].to_numpy()
    year = pupil_years["year"].to_numpy()
    sits = (pupil_years["status"] != "left_early").to_numpy()
    pupil = pupil_years["_pupil"].to_numpy()
    frames = []
    for test, means in TEST_MEANS.items():
        rows = np.flatnonzero(sits & (grade == TEST_GRADE[test]))
        if test == "ce9":
            rows = rows[~np.isin(year[rows], CE9_NOT_HELD)]
        for subj, mean in means.items():
            r = rows[rng.random(len(rows)) > 0.03]  # about 3 % absent on the day
            shock = dict(zip(YEARS, rng.normal(0.0, 2.0, len(YEARS))))
            z = 0.8 * theta[pupil[r]] + 0.6 * rng.normal(0.0, 1.0, len(r))
            if (test, subj) == ("ce9", "math"):  # the draw that decided repeating grade 9 (see .pupils)
                z = pupil_years["_z9"].to_numpy()[r]
            score = mean + pd.Series(year[r]).map(shock).to_numpy() + TEST_SD[test] * z
            tid = np.full(len(r), None, dtype=object)
            gp = np.zeros(len(r), bool)
            tps = np.zeros(len(r))
            if test != "diag3" and subj in link:
                tr = link[subj].reindex(r).fillna(-1).to_numpy(np.int64)
                has = tr >= 0
                tid[has] = t_id[tr[has]]
                gp[has] = t_gp[tr[has]]
                score = score + np.where(has, TEST_SD[test] * t_eff[np.maximum(tr, 0)], 0.0)
                score = score + np.where(has, tp.engagement_pupil_score_pp * (t_eng[np.maximum(tr, 0)] - 3.4), 0.0)
                score = score + tp.gp_pupil_score_pp * gp
                tps = np.where(has, tp.tps_pupil_points_per_rubric_point * t_gain[np.maximum(tr, 0)], 0.0)
                score = score + tps
            frames.append(pd.DataFrame({
                "pupil_row": r, "year": year[r], "test": test, "subject": subj,
                "score": np.round(np.clip(score, 0.0, 100.0), 1), "teacher_id": tid, "_gp": gp, "_tps": tps,
                "_raw": score, "_noise": TEST_SD[test] * (z - 0.8 * theta[pupil[r]])}))
    # classroom grades, 1-10, grades 4-12
    rows = np.flatnonzero(sits & (grade >= 4))
    for subj in SUBJECTS["class"]:
        tr = link[subj].reindex(rows).fillna(-1).to_numpy(np.int64) if subj in link else np.full(len(rows), -1)
        has = tr >= 0
        tid = np.full(len(rows), None, dtype=object)
        tid[has] = t_id[tr[has]]
        mark = 6.6 + 1.4 * (0.8 * theta[pupil[rows]] + 0.6 * rng.normal(0.0, 1.0, len(rows)))
        frames.append(pd.DataFrame({
            "pupil_row": rows, "year": year[rows], "test": "class", "subject": subj,
            "score": np.clip(np.round(mark), 1, 10).astype(float), "teacher_id": tid,
            "_gp": np.zeros(len(rows), bool), "_tps": 0.0, "_raw": mark, "_noise": 0.0}))
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "pupil_id", pupil_years["pupil_id"].to_numpy()[out["pupil_row"].to_numpy()])
    # one pupil's results together (smaller files); stable, so the order is deterministic
    out["_p"] = pupil[out["pupil_row"].to_numpy()]
    out = out.sort_values(["_p", "year"], kind="stable")  # integer keys: cheap at national scale
    return out.drop(columns=["pupil_row"]).reset_index(drop=True)
