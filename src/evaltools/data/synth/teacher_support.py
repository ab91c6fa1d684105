"""Teacher professional support (ESF 4.2.2.3): methodologists, professional development, observed lessons.

**Roll-out.** The state and municipal methodologist network reaches the municipalities in
different school years (cohorts 2017-2021, :data:`COHORT_SIZES`; a few never within the data).
Every municipality has a latent level of lesson practice ``level_m`` (SD :data:`LEVEL_SD` rubric
points); the weaker ones are served first (priority ``-level_m/LEVEL_SD + N(0, 1)``), so a raw
comparison of supported and unsupported teacher-years understates the effect. The roll-out is
drawn for all 43 municipalities from its own random stream, so it is the same at every scale.

**Professional development (PD)**, per teacher-year, with ``S`` = the municipality is supported
(``year >= start_year``) and engagement ``eng`` (the confounder, from ``teachers``)::

    P(any PD) = expit(1.4 + 1.0*(eng-3.4) + tps_supply_participation_log_or*S)
    hours     = max(1, round_half(14*exp(tps_engagement_hours_log*(eng-3.4) + tps_supply_log*S)*G)),
                G ~ Gamma(2, 1/2) drawn every year

Both potential hour counts (``S`` = 0 and 1) share the same uniform and ``G`` draws. The hours are
split over one to five activity types (more mentoring, lesson study and observation feedback with
methodologists); ``with_methodologist`` marks activities a methodologist led or arranged.

**Lesson practice** (rubric points 1-4; latent, per teacher-year)::

    practice = 2.45 + tps_engagement_practice*(eng-3.4) + u_teacher + 0.12*min(service, 10)/10
               + level_m + tps_effect_per_10_hours*hours/10
               + S*(tps_direct0 + tps_direct_growth*min(e, 3) + tps_early_career_extra*[service < 5])

with ``e = year - start_year`` and ``u_teacher ~ N(0, 0.25^2)``. The *gain* is the difference of
the two potential practices (direct part plus the dose of the extra hours); it also raises the
teacher's pupils' test scores (:mod:`.assessments`) and the roll-out lowers the leaving hazard
(:mod:`.teachers`).

**Observed lessons.** The head observes a random 45 % of teacher-years in every municipality and
year; methodologists observe 30 % of supported teacher-years (50 % of early-career teachers). Each
domain score (climate, instruction, assessment) is ``practice + domain offset + observer leniency
(school head: persistent N(0, 0.1^2); methodologist: -0.05) + lesson noise N(0, 0.25^2) + domain
noise N(0, 0.2^2)``, clipped to 1-4 and rounded to 0.01; ``score`` is their mean.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import SynthConfig
from .pupils import expit

COHORT_SIZES: tuple[tuple[int | None, int], ...] = ((2017, 8), (2018, 9), (2019, 9), (2020, 7), (2021, 5), (None, 5))
"""Municipalities per start year of methodologist support (``None``: not within the data); sums to 43."""
LEVEL_SD = 0.12  # municipality lesson-practice level, rubric points
TEACHER_PRACTICE_SD = 0.25
HOURS_BASE = 14.0  # mean PD hours of a participating teacher at engagement 3.4, without support
PD_TYPES = ("course", "mentoring", "lesson_study", "learning_community", "observation_feedback")
_TYPE_WEIGHTS = {False: (0.55, 0.08, 0.05, 0.25, 0.07), True: (0.35, 0.15, 0.15, 0.20, 0.15)}
_WITH_METHODOLOGIST = (0.3, 0.8, 0.8, 0.5, 0.9)  # by type, supported municipalities only
HEAD_SHARE = 0.45
METHODOLOGIST_SHARE = (0.30, 0.50)  # experienced, early-career (< 5 years of service)
DOMAINS = (("climate", 0.15), ("instruction", -0.05), ("assessment", -0.10))
TEACHERS_PER_METHODOLOGIST = 150  # assumption: about one methodologist post per 150 teachers


def methodologist_rollout(rng: np.random.Generator, mun: pd.DataFrame) -> pd.DataFrame:
    """One row per municipality: start_year (Int64, missing = never), methodologists and the hidden ``_level``."""
    n = len(mun)
    level = rng.normal(0.0, LEVEL_SD, n)
    priority = -level / LEVEL_SD + rng.normal(0.0, 1.0, n)
    sizes = np.array([k for _, k in COHORT_SIZES])
    cuts = np.round(np.cumsum(sizes) / sizes.sum() * n).astype(int)  # 43 municipalities: the sizes above
    rank = np.empty(n, np.int64)
    rank[np.argsort(-priority, kind="stable")] = np.arange(n)
    cohort = np.searchsorted(cuts, rank, side="right")
    start = np.array([COHORT_SIZES[c][0] or 0 for c in cohort], np.int64)
    start_year = pd.array(start, dtype="Int64")
    start_year[start == 0] = pd.NA
    teachers = mun["population"].to_numpy() / 1.9e6 * 26_000  # national teacher count by population share
    posts = np.where(start > 0, np.maximum(1, np.round(teachers / TEACHERS_PER_METHODOLOGIST)), 0)
    return pd.DataFrame({"municipality_id": mun["municipality_id"].to_numpy(), "start_year": start_year,
                         "methodologists": posts.astype(np.int64), "_level": level})


def school_start_years(schools: pd.DataFrame, rollout: pd.DataFrame) -> np.ndarray:
    """By school position, the municipality's first supported school year (9999 = never)."""
    start = rollout.set_index("municipality_id")["start_year"].astype("float64").fillna(9999)
    return schools["municipality_id"].map(start).fillna(9999).to_numpy(np.int64)


@dataclass
class TeacherSupportResult:
    """The two public tables and per teacher-year (aligned with ``teacher_years``) hidden arrays."""

    teacher_development: pd.DataFrame
    lesson_observations: pd.DataFrame  # hidden: _row (teacher_years row), _gain_score (Y1 - Y0 of score)
    hours0: np.ndarray  # potential PD hours without support
    hours1: np.ndarray  # with support
    gain: np.ndarray  # practice gain (rubric points), 0 where not supported
    event_time: np.ndarray  # year - start_year (-9999 where never supported)


def _round_half(x: np.ndarray) -> np.ndarray:
    return np.round(2.0 * x) / 2.0


def _rubric(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 1.0, 4.0), 2)


def _development(rng: np.random.Generator, ty: pd.DataFrame, supported: np.ndarray,
                 hours: np.ndarray) -> pd.DataFrame:
    """Split each teacher-year's hours over activity types (one row per teacher, year and type)."""
    rows = np.flatnonzero(hours > 0)
    sup = supported[rows]
    units = np.round(2 * hours[rows]).astype(np.int64)  # half hours
    k = np.minimum(1 + rng.binomial(4, np.where(sup, 0.35, 0.2)), units)
    weights = np.where(sup[:, None], np.array(_TYPE_WEIGHTS[True]), np.array(_TYPE_WEIGHTS[False]))
    keys = np.log(weights) + rng.gumbel(size=weights.shape)  # Gumbel top-k: k types without replacement
    order = np.argsort(-keys, axis=1)
    chosen = np.zeros(weights.shape, bool)
    np.put_along_axis(chosen, order, np.arange(len(PD_TYPES))[None, :] < k[:, None], axis=1)
    share = np.where(chosen, rng.gamma(2.0, 1.0, weights.shape), 0.0)
    share = share / share.sum(axis=1, keepdims=True)
    extra = rng.multinomial(units - k, share)  # every chosen type gets half an hour, the rest by share
    alloc = (extra + chosen) / 2.0
    r_i, t_i = np.nonzero(alloc > 0)
    with_m = sup[r_i] & (rng.random(len(r_i)) < np.array(_WITH_METHODOLOGIST)[t_i])
    src = rows[r_i]
    return pd.DataFrame({
        "teacher_id": ty["teacher_id"].to_numpy()[src], "year": ty["year"].to_numpy()[src].astype(np.int64),
        "type": np.array(PD_TYPES, dtype=object)[t_i], "hours": alloc[r_i, t_i].astype(float),
        "with_methodologist": with_m, "_row": src})


def simulate_teacher_support(
    rng: np.random.Generator, teacher_years: pd.DataFrame, teachers: pd.DataFrame, schools: pd.DataFrame,
    rollout: pd.DataFrame, cfg: SynthConfig,
) -> TeacherSupportResult:
    """PD hours, lesson practice and observations (module docstring).

    Adds hidden columns to ``teacher_years`` in place: ``_tps_gain`` (practice gain, rubric points),
    which :func:`.assessments.simulate_assessments` turns into pupils' points, ``_hours0`` and
    ``_hours1`` (the potential PD hours) and ``_event`` (year - start_year; -9999 if never).
    """
    tp = cfg.true
    ty = teacher_years
    n = len(ty)
    year = ty["year"].to_numpy()
    sch_mun = schools.set_index("school_id")["municipality_id"]
    mun = ty["school_id"].map(sch_mun)
    rk = rollout.set_index("municipality_id")
    start = mun.map(rk["start_year"].astype("float64")).fillna(9999).to_numpy()
    level = mun.map(rk["_level"]).to_numpy(float)
    supported = year >= start
    if "_tps" in ty and not np.array_equal(supported, ty["_tps"].to_numpy(bool)):
        raise RuntimeError("teacher_years._tps disagrees with the roll-out: simulate teachers with the same roll-out.")
    event = np.where(start < 9999, year - start, -9999).astype(np.int64)
    eng = ty["teacher_id"].map(teachers.set_index("teacher_id")["engagement"]).to_numpy(float) - 3.4
    service = ty["years_of_service"].to_numpy()
    codes, uniq = pd.factorize(ty["teacher_id"])
    u_teacher = rng.normal(0.0, TEACHER_PRACTICE_SD, len(uniq))[codes]

    # PD hours: both potential counts from the same draws
    u_part = rng.random(n)
    g = rng.gamma(2.0, 0.5, n)
    lp0 = 1.4 + 1.0 * eng
    m0 = HOURS_BASE * np.exp(tp.tps_engagement_hours_log * eng)
    hours0 = np.where(u_part < expit(lp0), np.maximum(1.0, _round_half(m0 * g)), 0.0)
    hours1 = np.where(u_part < expit(lp0 + tp.tps_supply_participation_log_or),
                      np.maximum(1.0, _round_half(m0 * np.exp(tp.tps_supply_log) * g)), 0.0)
    hours = np.where(supported, hours1, hours0)

    direct = (tp.tps_direct0 + tp.tps_direct_growth * np.minimum(np.maximum(event, 0), 3)
              + tp.tps_early_career_extra * (service < 5))
    gain = np.where(supported, direct + tp.tps_effect_per_10_hours * (hours1 - hours0) / 10.0, 0.0)
    practice0 = (2.45 + tp.tps_engagement_practice * eng + u_teacher + 0.12 * np.minimum(service, 10) / 10.0
                 + level + tp.tps_effect_per_10_hours * hours0 / 10.0)
    practice = practice0 + gain
    ty["_tps_gain"], ty["_hours0"], ty["_hours1"], ty["_event"] = gain, hours0, hours1, event

    # observed lessons: head (everyone, every year) and methodologist (supported teacher-years)
    s_codes, s_uniq = pd.factorize(ty["school_id"])
    lenient = rng.normal(0.0, 0.10, len(s_uniq))[s_codes]
    head = rng.random(n) < HEAD_SHARE
    meth = supported & (rng.random(n) < np.where(service < 5, METHODOLOGIST_SHARE[1], METHODOLOGIST_SHARE[0]))
    frames = []
    for observer, mask, bias in (("head", head, lenient), ("methodologist", meth, np.full(n, -0.05))):
        r = np.flatnonzero(mask)
        noise = rng.normal(0.0, 0.25, len(r))[:, None] + rng.normal(0.0, 0.20, (len(r), len(DOMAINS)))
        offset = np.array([o for _, o in DOMAINS])[None, :] + bias[r][:, None] + noise
        d1 = _rubric(practice[r][:, None] + offset)
        d0 = _rubric(practice0[r][:, None] + offset)
        s1, s0 = np.round(d1.mean(axis=1), 2), np.round(d0.mean(axis=1), 2)
        frames.append(pd.DataFrame({
            "teacher_id": ty["teacher_id"].to_numpy()[r], "year": year[r].astype(np.int64),
            "school_id": ty["school_id"].to_numpy()[r], "observer": observer, "score": s1,
            **{name: d1[:, j] for j, (name, _) in enumerate(DOMAINS)},
            "_row": r, "_gain_score": s1 - s0}))
    obs = pd.concat(frames, ignore_index=True)
    obs = obs.sort_values(["_row", "observer"], kind="stable").reset_index(drop=True)
    return TeacherSupportResult(teacher_development=_development(rng, ty, supported, hours),
                                lesson_observations=obs, hours0=hours0, hours1=hours1, gain=gain,
                                event_time=event)
