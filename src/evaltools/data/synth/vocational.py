"""Vocational schools and their students: the grade-9 completers who leave general education.

About 40 % of grade-9 completers go on to a vocational school (:data:`.pupils.VOCATIONAL_SHARE`).
This module gives them a school and a vocational career, from random streams of its own, so that
nothing it draws changes a row of the general-education tables:

* **Schools** (:func:`vocational_frame`): :data:`STATE_CITY_SCHOOLS` in the state cities and one in
  each of the :data:`COUNTY_SCHOOLS` most populous counties, 44 at national scale, type
  ``vocational`` (*profesionālās izglītības iestāde*); ids ``V0001``...; programmes of 3 or 4 years
  after grade 9 (courses 1-4), recorded in ``schools`` as grades 10-13. The sample keeps one school
  per planning region (two in the Rīga region), the region scale every school of its region.
* **Students** (:func:`simulate_vocational`): each vocational entrant (who completed grade 9 in a
  published year, so is in ``pupils``) starts course 1 the next school year at a vocational school
  of their municipality (70 % when it has one) or else of their planning region, chosen by size; a
  programme of 4 years (65 %) or 3 years. Their years are the table ``vocational_years`` (course 1-4,
  never a general-education ``grade``): they are not pupil-years of general education, so no
  statistic of ``pupil_years`` (grade-12 exams, secondary completion, early leaving by grade) can
  count them. ``pupils`` keeps describing the general-education career: ``exit_status``
  ``transferred`` in the grade-9 year.
* **PUMPURS** served vocational students from its start: a vocational school joins in 2017-2020
  (none in the two counties that never took part, :func:`.schools.pumpurs_out_counties`); each
  school year from its roll-out to :data:`.pupils.PUMPURS_LAST_YEAR` a student has a semester-1 and a
  semester-2 risk score, a plan is offered at the threshold and taken up with the school's take-up
  rate, exactly as in general schools (:mod:`.pupils`); measures, costs and risk types follow
  :mod:`.programmes`.
* **Early leaving** (annual hazard; an assumption, no public figure was at hand: vocational early
  leaving is much higher than in general secondary school, most of it in the first course):
  ``logit h = alpha_course + alpha_trend*(year-2014) + beta_score*(s1-50)/10
  + D*(vocational_tau0 + tau_score*(s1-threshold)/10 + tau_years*k)``, with :data:`ALPHA_COURSE`
  giving about 10 % of course-1 students leaving in the year and 3-6 % in later courses (about a quarter
  of entrants never finish; general secondary grades: 1-3 %). The risk index has a higher intercept
  than in general schools (:data:`RISK_INTERCEPT`), calibrated with the hazard so that the national
  PUMPURS totals reach the public ones (see :mod:`.programmes`).

Entrants of the burn-in years (before 2014/15) are not simulated: they are in no general table of
the data. The vocational stock is therefore incomplete in 2015-2017 (course 1 only in 2015, ...;
course 4 of 2017/18 is missing) and complete from 2018/19.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import YEARS, SynthConfig
from .groups import pick_in_groups
from .pupils import PUMPURS_LAST_YEAR, expit
from .schools import _stem

VOCATIONAL_STREAM = 17
"""The vocational part's stream number; its parts are spawned from it (:func:`vocational_rng`)."""
_PARTS = {"frame": 1, "pumpurs": 2, "students": 3, "programmes": 4, "risk_types": 5, "select": 6}

STATE_CITY_SCHOOLS = {"Rīga": 12, "Daugavpils": 3, "Liepāja": 3, "Jelgava": 2, "Jūrmala": 1,
                      "Ventspils": 2, "Rēzekne": 2}
"""Vocational schools per state city (25)."""
COUNTY_SCHOOLS = 19
"""Counties with a vocational school: the most populous ones, one each (44 schools in all)."""
TYPE_LV = "profesionālā vidusskola"
"""Latvian name used in school names (the type is *profesionālās izglītības iestāde*)."""
GRADE_OFFSET = 9
"""A course is recorded in ``schools.grade_min``/``grade_max`` as grade ``course + 9`` (10-13)."""
FOUR_YEAR_SHARE = 0.65
"""Share of entrants in a 4-year programme (vocational secondary); the rest 3 years."""
OWN_MUNICIPALITY = 0.70
"""Probability of choosing a vocational school of one's own municipality when it has one."""
ALPHA_COURSE = np.array([0.0, -1.70, -2.20, -2.40, -2.70])
"""Logit intercepts of the annual early-leaving hazard by course 1-4 (index 0 unused)."""
RISK_INTERCEPT = -0.85
"""Intercept of the semester-1 risk index (general schools: -1.45): vocational students score higher."""
ROLLOUT_YEARS = (2017, 2018, 2019, 2020)
ROLLOUT_SHARES = (0.55, 0.25, 0.15, 0.05)


def vocational_rng(seed: int, part: str) -> np.random.Generator:
    """The random stream of one vocational part: ``[seed, VOCATIONAL_STREAM, part]``."""
    return np.random.default_rng([int(seed), VOCATIONAL_STREAM, _PARTS[part]])


def vocational_frame(rng: np.random.Generator, mun: pd.DataFrame) -> pd.DataFrame:
    """Every vocational school of the country (national frame), with a hidden size weight ``_weight``."""
    names = mun["name"].to_numpy()
    county = mun[mun["kind"] == "county"].sort_values("population", ascending=False, kind="stable")
    count = {m: STATE_CITY_SCHOOLS.get(nm, 0) for m, nm in zip(mun["municipality_id"], names)}
    for m in county["municipality_id"].to_numpy()[:COUNTY_SCHOOLS]:
        count[m] = 1
    m_ids = np.array([m for m in mun["municipality_id"] for _ in range(count[m])], dtype=object)
    n = len(m_ids)
    region = mun.set_index("municipality_id")["region"]
    name_of = mun.set_index("municipality_id")["name"]
    number = pd.Series(m_ids).groupby(m_ids).cumcount().to_numpy() + 1
    minority_p = np.where(pd.Series(m_ids).map(name_of).isin(["Daugavpils", "Rēzekne"]).to_numpy(), 0.3, 0.05)
    return pd.DataFrame({
        "school_id": np.array([f"V{i + 1:04d}" for i in range(n)], dtype=object),
        "municipality_id": m_ids,
        "name": [f"{_stem(name_of[m])} {k}. {TYPE_LV}" for m, k in zip(m_ids, number)],
        "urban": np.ones(n, dtype=bool),
        "language": np.where(rng.random(n) < minority_p, "minority", "latvian").astype(object),
        "type": np.full(n, "vocational", dtype=object),
        "grade_min": np.full(n, 1 + GRADE_OFFSET, dtype=np.int64),
        "grade_max": np.full(n, 4 + GRADE_OFFSET, dtype=np.int64),
        "_weight": np.exp(rng.normal(0.0, 0.4, n)),
        "_region": pd.Series(m_ids).map(region).to_numpy(),
    })


def select_vocational(frame: pd.DataFrame, mun: pd.DataFrame, cfg: SynthConfig) -> pd.DataFrame:
    """The vocational schools of a scale: all (national), the region's (region), or per planning region
    the school of median size (two in the Rīga region: the thirds) at sample scale."""
    if cfg.schools == "all":
        return frame.reset_index(drop=True)
    if cfg.schools == "region":
        return frame[frame["_region"] == cfg.region].reset_index(drop=True)
    keep = []
    for reg, g in frame.groupby("_region", sort=True):
        g = g.sort_values(["_weight", "school_id"], kind="stable")
        picks = (len(g) // 3, 2 * len(g) // 3) if reg == "Rīga" and len(g) > 2 else (len(g) // 2,)
        keep.extend(g.index[list(picks)])
    return frame.loc[sorted(set(keep))].reset_index(drop=True)


def vocational_pumpurs(rng: np.random.Generator, schools: pd.DataFrame, out: np.ndarray) -> pd.DataFrame:
    """Roll-out year (2017-2020) and take-up rate of each vocational school; none in ``out`` counties."""
    n = len(schools)
    year = rng.choice(np.array(ROLLOUT_YEARS), size=n, p=np.array(ROLLOUT_SHARES))
    takeup = np.clip(rng.beta(7, 3, n), 0.2, 0.98)
    join = ~schools["municipality_id"].isin(out).to_numpy()
    rollout = pd.array(np.where(join, year, 0), dtype="Int64")
    rollout[~join] = pd.NA
    return pd.DataFrame({"school_id": schools["school_id"].to_numpy(), "rollout_year": rollout,
                         "_takeup": np.where(join, takeup, 0.0)})


@dataclass
class VocationalSim:
    """Vocational students' years (hidden columns prefixed ``_``) and the schools they attend."""

    years: pd.DataFrame
    schools: pd.DataFrame
    pumpurs: pd.DataFrame


def _destinations(rng: np.random.Generator, entrants: pd.DataFrame, schools: pd.DataFrame,
                  mun: pd.DataFrame) -> np.ndarray:
    """Index into ``schools`` of each entrant's vocational school (-1: none in the region)."""
    region_of = mun.set_index("municipality_id")["region"]
    mun_codes = {m: i for i, m in enumerate(mun["municipality_id"])}
    reg_codes = {r: i for i, r in enumerate(sorted(mun["region"].unique()))}
    s_mun = schools["municipality_id"].map(mun_codes).to_numpy(np.int64)
    s_reg = schools["_region"].map(reg_codes).to_numpy(np.int64)
    w = schools["_weight"].to_numpy()
    e_mun = entrants["_municipality"].map(mun_codes).to_numpy(np.int64)
    e_reg = entrants["_municipality"].map(region_of).map(reg_codes).to_numpy(np.int64)
    own = pick_in_groups(rng, s_mun, e_mun, w)
    anywhere = pick_in_groups(rng, s_reg, e_reg, w)
    stay = (own >= 0) & (rng.random(len(entrants)) < OWN_MUNICIPALITY)
    return np.where(stay, own, anywhere)


def simulate_vocational(seed: int, entrants: pd.DataFrame, mun: pd.DataFrame, cfg: SynthConfig,
                        out_counties: np.ndarray) -> VocationalSim:
    """The vocational schools of the scale and their students' years 2015-2023 (see module docstring).

    ``entrants``: :attr:`.pupils.PupilSim.vocational` (one row per grade-9 completer who left for a
    vocational school, with the hidden attributes the risk score and hazard continue from);
    ``out_counties``: the municipalities that never took part (:func:`.schools.pumpurs_out_counties`).
    """
    tp = cfg.true
    frame = vocational_frame(vocational_rng(seed, "frame"), mun)
    schools = select_vocational(frame, mun, cfg)
    pumpurs = vocational_pumpurs(vocational_rng(seed, "pumpurs"), schools,
                                 out_counties)
    rng = vocational_rng(seed, "students")
    dest = _destinations(rng, entrants, schools, mun)
    ent = entrants[dest >= 0].reset_index(drop=True)
    school = dest[dest >= 0]
    N = len(ent)
    length = np.where(rng.random(N) < FOUR_YEAR_SHARE, 4, 3)
    start = ent["_last_general_year"].to_numpy(np.int64) + 1
    diseng = ent["_diseng"].to_numpy(float) + rng.normal(0.0, 0.3, N)
    ses = ent["_ses"].to_numpy(float)
    special = ent["_special"].to_numpy(bool)
    rep_ever = ent["_repeated_ever"].to_numpy(bool)
    abs_prev = ent["_absences"].to_numpy(float)
    course = np.ones(N, dtype=np.int64)
    repeated_now = np.zeros(N, dtype=bool)
    active = np.zeros(N, dtype=bool)
    rollout = pumpurs["rollout_year"].fillna(9999).to_numpy(dtype=np.int64)
    takeup = pumpurs["_takeup"].to_numpy()
    cols: dict[str, list[np.ndarray]] = {k: [] for k in (
        "i", "year", "course", "absences", "repeated", "status", "s1", "s2", "pumpurs", "offer", "D",
        "h", "h0", "h1", "k")}
    for t in range(YEARS[0] + 1, YEARS[-1] + 1):
        active |= start == t
        idx = np.flatnonzero(active)
        n = len(idx)
        sch, c = school[idx], course[idx]
        e = rng.normal(0.0, 1.0, n)
        z_abs = (np.log1p(abs_prev[idx]) - 3.5) / 0.7
        lin = (RISK_INTERCEPT + 0.75 * diseng[idx] + 0.45 * z_abs + 0.5 * special[idx]
               + 0.8 * rep_ever[idx] - 0.25 * ses[idx] + 0.35 * e)
        s1 = np.round(100.0 * expit(lin), 1)
        in_p = (rollout[sch] <= t) & (t <= PUMPURS_LAST_YEAR)
        offer = in_p & (s1 >= tp.risk_threshold)
        D = offer & (rng.random(n) < takeup[sch])
        k = np.where(in_p, t - rollout[sch], 0)
        s2 = np.round(100.0 * expit(lin + rng.normal(0.0, 0.3, n) - 0.3 * D), 1)
        mu = 42.0 * np.exp(0.45 * diseng[idx] + 0.25 * e + 0.35 * special[idx] + tp.support_absences_log_rr * D)
        absences = rng.poisson(mu * rng.gamma(2.0, 0.5, n))
        base = ALPHA_COURSE[c] + tp.alpha_trend * (t - 2014) + tp.beta_score * (s1 - 50.0) / 10.0
        tau = tp.vocational_tau0 + tp.tau_score * (s1 - tp.risk_threshold) / 10.0 + tp.tau_years * k
        h0, h1 = expit(base), expit(base + tau)
        h = np.where(D, h1, h0)
        leave = rng.random(n) < h
        repeat = ~leave & (rng.random(n) < expit(-4.2 + 0.5 * (s1 - 50.0) / 10.0))
        out = ~leave & (rng.random(n) < 0.02)  # moves abroad, to another school: out of the data
        graduate = ~leave & ~out & ~repeat & (c == length[idx])
        status = np.where(leave, "left_early", np.where(graduate, "graduated",
                                                        np.where(out, "transferred", "enrolled")))
        for key, val in (("i", idx), ("year", np.full(n, t)), ("course", c), ("absences", absences),
                         ("repeated", repeated_now[idx]), ("status", status), ("s1", s1), ("s2", s2),
                         ("pumpurs", in_p), ("offer", offer), ("D", D), ("h", h), ("h0", h0), ("h1", h1),
                         ("k", k)):
            cols[key].append(val)
        ends = leave | out | graduate
        active[idx[ends]] = False
        course[idx] = np.where(repeat, c, c + 1)
        repeated_now[idx] = repeat
        rep_ever[idx] |= repeat
        abs_prev[idx] = absences
    v = {k: np.concatenate(x) if x else np.array([]) for k, x in cols.items()}
    i = v["i"].astype(np.int64)
    years = pd.DataFrame({
        "pupil_id": ent["pupil_id"].to_numpy()[i],
        "year": v["year"].astype(np.int64),
        "school_id": schools["school_id"].to_numpy()[school[i]],
        "course": v["course"].astype(np.int64),
        "programme_years": length[i].astype(np.int64),
        "absences": v["absences"].astype(np.int64),
        "repeated": v["repeated"].astype(bool),
        "status": v["status"].astype(object),
        "_pupil": ent["_pupil"].to_numpy()[i],
        "_s1": v["s1"], "_s2": v["s2"], "_pumpurs": v["pumpurs"].astype(bool), "_offer": v["offer"].astype(bool),
        "_D": v["D"].astype(bool), "_h": v["h"], "_h0": v["h0"], "_h1": v["h1"], "_k": v["k"].astype(np.int64),
    })
    return VocationalSim(years=years, schools=schools, pumpurs=pumpurs)
