"""Teachers, their yearly posts, Iespējamā misija alumni and the growth programme.

Each school keeps a fixed number of posts (about one teacher per 8.5 pupils,
at least 5). Every year, all teachers at once:

* alumni not yet in the growth programme join it (years ``gp_start_year`` to
  ``gp_last_join_year``) with ``logit p = -1.5 + gp_join_engagement_log_or*(eng-3.8)``:
  the more engaged join, which confounds naive comparisons;
* leave teaching with ``logit h = -2.3 + engagement_leave_log_or*(eng-3.4)
  + 1.8*[age >= 63] + 0.5*[service < 3] + gp_leave_log_or*GP
  + tps_leave_log_or*S``, S = the school's municipality has had methodologist support
  (:mod:`.teacher_support`) since ``start_year <= year``;
* move from ``teacher`` into leadership (subject lead or deputy head) with
  ``logit p = -3.6 + engagement_promotion_log_or*(eng-3.4) + 0.02*service
  + gp_promotion_log_or*GP``.

Leavers are replaced next year by new hires in the same post; a few hires are
new alumni (``im_cohort`` = the year they started their two IM years). Alumni
posts are drawn with weight ``exp(ALUMNI_CULTURE_PULL * culture)``, so alumni
work more often in schools with a collaborative culture.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import YEARS, SynthConfig
from .ids import random_ids
from .pupils import expit

SUBJECT_MIX = (("primary", 0.22), ("math", 0.10), ("latvian", 0.10), ("english", 0.08),
               ("science", 0.12), ("other", 0.38))
ALUMNI_STOCK_NATIONAL = 35.0  # alumni teaching in 2014 (cohorts 2008-2012)
ALUMNI_NEW_NATIONAL = 7.0  # new alumni starting in schools each year
COLLAB_SCHOOL_SD = 6.0  # school collaboration culture, survey points
ALUMNI_CULTURE_PULL = 0.15  # log-odds per point of culture that a post goes to an alumnus


@dataclass
class TeacherSim:
    """Simulated teachers: public tables plus hidden columns for the truth."""

    teachers: pd.DataFrame
    teacher_years: pd.DataFrame  # hidden: _t (index), _h, _h0, _p, _p0, _tps, _hs0
    culture: np.ndarray  # school collaboration culture (points), by school position


def simulate_teachers(
    rng: np.random.Generator, schools: pd.DataFrame, pupils_per_school: np.ndarray, cfg: SynthConfig,
    support_start: np.ndarray | None = None,
) -> TeacherSim:
    """Simulate teachers for the selected schools (see module docstring).

    ``support_start``: by school position, the first school year of methodologist support in the
    school's municipality (9999 = never; none if omitted). ``_h0`` is the hazard without the growth
    programme (with support), ``_hs0`` the hazard without support (with the growth programme).
    """
    tp = cfg.true
    S = len(schools)
    start = np.full(S, 9999, np.int64) if support_start is None else np.asarray(support_start, np.int64)
    posts = np.maximum(5, np.round(pupils_per_school / 8.5)).astype(int)
    lo = schools["grade_min"].to_numpy()
    share = posts.sum() / (cfg.national_pupils / 8.5)
    n_years = len(YEARS)
    cap = int(posts.sum() * (1 + 0.15 * n_years)) + 100

    # teacher attribute arrays (capacity-sized, filled as teachers are created)
    t_school = np.zeros(cap, np.int64)
    t_subject = np.empty(cap, object)
    t_birth = np.zeros(cap, np.int64)
    t_start_service = np.zeros(cap, np.int64)  # calendar year service started
    t_eng = np.zeros(cap)
    t_female = np.zeros(cap, bool)
    t_alum = np.zeros(cap, bool)
    t_cohort = np.full(cap, -1, np.int64)
    t_gp = np.full(cap, 9999, np.int64)
    t_entry = np.zeros(cap, np.int64)
    t_role = np.empty(cap, object)
    n_made = 0

    def new_teachers(sch: np.ndarray, subj: np.ndarray, year: int, initial: bool, roles: np.ndarray) -> np.ndarray:
        nonlocal n_made
        m = len(sch)
        ix = np.arange(n_made, n_made + m)
        n_made += m
        age = (25 + 40 * rng.beta(2.2, 1.6, m)) if initial else (23 + rng.gamma(2.0, 3.5, m))
        age = np.where(roles == "head", np.maximum(age, 40 + rng.integers(0, 15, m)), age)
        service = np.maximum(0, age - 24 - rng.exponential(3.0, m)).round()
        t_school[ix], t_subject[ix] = sch, subj
        t_birth[ix] = (year - age).round().astype(np.int64)
        t_start_service[ix] = (year - service).astype(np.int64)
        t_eng[ix] = np.clip(rng.normal(3.4, 0.55, m), 1.0, 5.0).round(2)
        t_female[ix] = rng.random(m) < 0.88
        t_entry[ix] = year
        t_role[ix] = roles
        return ix

    # --- initial posts: the first three of each school teach math, Latvian, English
    post_school = np.repeat(np.arange(S), posts)
    post_rank = np.arange(len(post_school)) - np.repeat(np.cumsum(posts) - posts, posts)
    names = np.array([s for s, _ in SUBJECT_MIX], dtype=object)
    probs = np.array([p for _, p in SUBJECT_MIX])
    subj = names[rng.choice(len(names), size=len(post_school), p=probs)]
    subj = np.where(post_rank == 0, "math", np.where(post_rank == 1, "latvian",
                    np.where(post_rank == 2, "english", subj)))
    subj = np.where((subj == "primary") & (lo[post_school] > 1), "other", subj).astype(object)
    roles = np.where(post_rank == 3, "head", np.where(post_rank == 4, "deputy_head",
                     np.where(rng.random(len(post_school)) < 0.08, "subject_lead", "teacher"))).astype(object)
    cur = new_teachers(post_school, subj, YEARS[0], True, roles)

    # initial alumni: converted from core-subject posts that are plain teachers
    n_alum0 = rng.poisson(ALUMNI_STOCK_NATIONAL * cfg.alumni_factor * share)
    cand = cur[(roles == "teacher") & np.isin(subj, ["math", "latvian", "english", "science"])]
    # alumni work more often in schools with a collaborative culture (confounds spill-over comparisons)
    culture = rng.normal(0.0, COLLAB_SCHOOL_SD, S)
    pull = np.exp(ALUMNI_CULTURE_PULL * culture)
    a0 = rng.choice(cand, size=min(n_alum0, len(cand)), replace=False, p=pull[t_school[cand]] / pull[t_school[cand]].sum())
    t_alum[a0] = True
    t_cohort[a0] = rng.integers(2008, 2013, len(a0))
    t_start_service[a0] = t_cohort[a0]
    t_birth[a0] = t_cohort[a0] - rng.integers(22, 27, len(a0))
    t_eng[a0] = np.clip(t_eng[a0] + 0.4, 1, 5)

    rows: dict[str, list[np.ndarray]] = {k: [] for k in (
        "t", "year", "school", "role", "service", "gp", "stayed", "h", "h0", "p", "p0", "promoted", "tps", "hs0")}
    for t in YEARS:
        # growth programme: engaged alumni join between the start and the last join year
        if tp.gp_start_year <= t <= tp.gp_last_join_year:
            elig = cur[t_alum[cur] & (t_gp[cur] == 9999)]
            join = rng.random(len(elig)) < expit(-1.5 + tp.gp_join_engagement_log_or * (t_eng[elig] - 3.8))
            t_gp[elig[join]] = t
        gp = t_gp[cur] <= t
        eng = t_eng[cur]
        age = t - t_birth[cur]
        service = t - t_start_service[cur]
        base_h = (-2.3 + tp.engagement_leave_log_or * (eng - 3.4) + 1.8 * (age >= 63)
                  + 0.5 * (service < 3) + 0.3 * t_alum[cur])
        tps = t >= start[t_school[cur]]
        sup = tp.tps_leave_log_or * tps
        h0 = expit(base_h + sup)
        h = expit(base_h + tp.gp_leave_log_or * gp + sup)
        hs0 = expit(base_h + tp.gp_leave_log_or * gp)
        leave = rng.random(len(cur)) < h
        is_teacher = t_role[cur] == "teacher"
        base_p = -3.6 + tp.engagement_promotion_log_or * (eng - 3.4) + 0.02 * service
        p0 = np.where(is_teacher, expit(base_p), np.nan)
        p = np.where(is_teacher, expit(base_p + tp.gp_promotion_log_or * gp), np.nan)
        promote = is_teacher & ~leave & (rng.random(len(cur)) < np.nan_to_num(p))
        for key, val in (("t", cur), ("year", np.full(len(cur), t)), ("school", t_school[cur]),
                         ("role", t_role[cur].copy()), ("service", service), ("gp", gp),
                         ("stayed", ~leave), ("h", h), ("h0", h0), ("p", p), ("p0", p0),
                         ("promoted", promote), ("tps", tps), ("hs0", hs0)):
            rows[key].append(val)
        t_role[cur[promote]] = np.where(rng.random(int(promote.sum())) < 0.7, "subject_lead", "deputy_head")
        # replace leavers in the same post next year
        gone = cur[leave]
        if len(gone):
            hires = new_teachers(t_school[gone], t_subject[gone], t + 1, False,
                                 np.where(t_role[gone] == "head", "head", "teacher").astype(object))
            n_new_alum = rng.poisson(ALUMNI_NEW_NATIONAL * cfg.alumni_factor * share)
            ok = hires[(t_role[hires] == "teacher") & np.isin(t_subject[hires], ["math", "latvian", "english", "science"])]
            na = rng.choice(ok, size=min(n_new_alum, len(ok)), replace=False,
                            p=pull[t_school[ok]] / pull[t_school[ok]].sum()) if len(ok) else ok
            t_alum[na] = True
            t_cohort[na] = t - 1
            t_start_service[na] = t - 1
            t_birth[na] = t - 1 - rng.integers(22, 27, len(na))
            t_eng[na] = np.clip(t_eng[na] + 0.4, 1, 5)
            cur = np.concatenate([cur[~leave], hires])
        cur = np.sort(cur)

    ty = {k: np.concatenate(v) for k, v in rows.items()}
    ids = random_ids(rng, n_made, "T", 8)
    school_ids = schools["school_id"].to_numpy()
    teacher_years = pd.DataFrame({
        "teacher_id": ids[ty["t"]],
        "year": ty["year"].astype("int64"),
        "school_id": school_ids[ty["school"]],
        "role": ty["role"],
        "subject": t_subject[ty["t"]],
        "years_of_service": ty["service"].astype("int64"),
        "in_growth_programme": ty["gp"].astype(bool),
        "stayed": ty["stayed"].astype(bool),
        "_t": ty["t"], "_h": ty["h"], "_h0": ty["h0"], "_p": ty["p"], "_p0": ty["p0"],
        "_promoted": ty["promoted"], "_tps": ty["tps"].astype(bool), "_hs0": ty["hs0"],
    })
    made = np.arange(n_made)
    cohort = pd.array(np.where(t_cohort[made] > 0, t_cohort[made], 0), dtype="Int64")
    cohort[t_cohort[made] < 0] = pd.NA
    gp_start = pd.array(np.where(t_gp[made] < 9999, t_gp[made], 0), dtype="Int64")
    gp_start[t_gp[made] == 9999] = pd.NA
    teachers = pd.DataFrame({
        "teacher_id": ids,
        "sex": np.where(t_female[made], "F", "M"),
        "birth_year": t_birth[made],
        "subject": t_subject[made],
        "engagement": t_eng[made],
        "im_alumnus": t_alum[made],
        "im_cohort": cohort,
        "growth_programme_start": gp_start,
        "entry_year": t_entry[made],
    })
    # hires made for the year after the last one never appear: drop them
    seen = np.zeros(n_made, bool)
    seen[ty["t"]] = True
    teachers = teachers[seen].reset_index(drop=True)
    copied = teachers.set_index("teacher_id")[["im_alumnus", "im_cohort", "growth_programme_start"]]
    extra = copied.reindex(teacher_years["teacher_id"]).reset_index(drop=True)
    pos = teacher_years.columns.get_loc("stayed") + 1
    for i, c in enumerate(extra.columns):
        teacher_years.insert(pos + i, c, extra[c].array)
    return TeacherSim(teachers=teachers, teacher_years=teacher_years, culture=culture)
