"""Pupils and their school careers, 2014-2023, with PUMPURS risk scores and support.

The simulation starts ``BURN_IN_YEARS`` before the first published year (a stock of
pupils in every grade in 2004, grade-1 entrants every year after) and keeps only the
published years 2014-2023: by 2014 the at-risk pupils of every grade have been through
the same early-leaving hazards as later cohorts, so the pupil stock is in steady state
and school-level early-leaving rates have no pre-programme trend of their own.

One vectorised step per school year moves every enrolled pupil at once:

1. semester-1 risk score ``s1 = 100 * expit(index)`` from the pupil's
   disengagement, last year's absences, special needs, past repetition, SES;
2. in a PUMPURS school after its roll-out (grades 5-12, and grades 1-4 from the
   2021/22 school year; the last plans are those of semester 1 of 2023/24, as the
   programme ran to the end of 2023) a support plan is offered when
   ``s1 >= threshold``; it is taken up with the school's take-up rate (independent
   of the pupil, so support is as good as random given ``s1``);
3. absences (negative binomial) fall with support by ``exp(support_absences_log_rr)``;
4. early leaving: ``logit h = alpha_grade + alpha_trend*(year-2014)
   + beta_score*(s1-50)/10 + D*(tau0 + tau_score*(s1-thr)/10 + tau_years*k)``
   with ``k`` years since the school's roll-out;
5. grade repetition (more often after failing the grade-9 mathematics exam:
   ``z9 = 0.8*theta + 0.6*eps`` is the exam's standardised result, the same draw the
   ce9 mathematics score uses in :mod:`.assessments`), transfers (within the
   municipality, to vocational school after grade 9, out of the general-education tables),
   graduation after grade 12. A grade-9 completer who goes to vocational school continues
   in :mod:`.vocational` (table ``vocational_years``) from its own random stream.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .assessments import CE9_NOT_HELD, TEST_MEANS, TEST_SD
from .config import CE9_PASS_MARK, YEARS, SynthConfig
from .groups import pick_in_groups
from .ids import random_ids

# approximate live births in Latvia by year (thousands; shape only)
_BIRTHS = {1986: 42.0, 1987: 42.1, 1988: 41.3, 1989: 38.9, 1990: 37.9, 1991: 34.6,
           1992: 31.6, 1993: 26.8, 1994: 24.3, 1995: 21.6, 1996: 19.8, 1997: 18.8, 1998: 18.4, 1999: 19.4, 2000: 20.2,
           2001: 19.7, 2002: 20.0, 2003: 21.0, 2004: 20.3, 2005: 21.5, 2006: 22.3,
           2007: 23.3, 2008: 24.0, 2009: 21.7, 2010: 19.2, 2011: 18.8, 2012: 19.9,
           2013: 20.6, 2014: 21.7, 2015: 21.9, 2016: 22.0}
_SURVIVAL = np.array([0.0] + [0.93] * 9 + [0.56] * 3)  # index by grade 1..12 (2014 stock)
_ALPHA_GRADE = np.array([0.0, -9.0, -9.0, -9.0, -9.0, -5.3, -5.1, -4.9, -4.7, -2.9,
                         -2.7, -3.0, -3.3])
VOCATIONAL_SHARE = 0.40  # share of grade-9 completers leaving for vocational schools (continued in .vocational)
PUMPURS_LAST_YEAR = 2023  # plans until the end of 2023: semester 1 of the 2023/24 school year
PUMPURS_GRADES = (5, 12)  # grades served from the start (2017/18)
PUMPURS_GRADES_1_4_FROM = 2021  # grades 1-4 served from the 2021/22 school year (year 2021)
BURN_IN_YEARS = 10  # simulated school years before the first published one (not written)
CE9_MATH = (TEST_MEANS["ce9"]["math"], TEST_SD["ce9"])  # mean and SD (percent) of the grade-9 maths exam
FAIL_REPEAT_LOG_OR = 5.0  # failing the grade-9 mathematics exam -> repeating grade 9 (about 70 %)


def expit(x: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-x))


def expected_pupils(schools: pd.DataFrame, national_weight: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Expected pupils a year of each school (the 2014 stock's expectation), from the frame alone.

    The teacher simulation sizes its posts with it, so the teachers' random draws do not depend
    on the pupils' (a change to the pupil model leaves the teacher tables as they are).
    """
    lo, hi = schools["grade_min"].to_numpy(), schools["grade_max"].to_numpy()
    stock = sum(_BIRTHS[2014 - g - 6] * _SURVIVAL[g] for g in range(1, 13))
    per_birth = cfg.national_pupils / stock
    w = schools["_weight"].to_numpy()
    return sum(np.where((lo <= g) & (hi >= g), _BIRTHS[2014 - g - 6] * _SURVIVAL[g] * per_birth * w
                        / national_weight[g], 0.0) for g in range(1, 13))


@dataclass
class PupilSim:
    """The simulated pupils: public tables plus hidden columns used for the truth."""

    pupils: pd.DataFrame
    pupil_years: pd.DataFrame  # includes hidden columns prefixed with "_"
    theta: np.ndarray  # ability by pupil index
    pupil_ids: np.ndarray
    # grade-9 completers who went on to a vocational school in a published year (one row each, hidden
    # columns only): pupil index, last general year, municipality and the attributes the vocational
    # simulation (:mod:`.vocational`) continues from; no random draw is spent on it
    vocational: pd.DataFrame | None = None


def simulate_pupils(
    rng: np.random.Generator,
    schools: pd.DataFrame,
    pumpurs: pd.DataFrame,
    national_weight: np.ndarray,
    cfg: SynthConfig,
) -> PupilSim:
    """Simulate pupils and pupil-years for the selected schools.

    ``national_weight[g]`` is the sum of size weights of all national schools
    teaching grade ``g``, so a school has the same expected size at every scale.
    """
    tp = cfg.true
    S = len(schools)
    lo = schools["grade_min"].to_numpy()
    hi = schools["grade_max"].to_numpy()
    w = schools["_weight"].to_numpy()
    mun_codes, mun = np.unique(schools["municipality_id"].to_numpy(), return_inverse=True)
    ses_mean = schools["_ses_mean"].to_numpy()
    minority = (schools["language"] == "minority").to_numpy()
    rollout = pumpurs["rollout_year"].fillna(9999).to_numpy(dtype=np.int64)
    takeup = pumpurs["_takeup"].to_numpy()

    # national cohort scale: a 2014 stock drawn like the burn-in's would equal cfg.national_pupils
    stock = sum(_BIRTHS[2014 - g - 6] * _SURVIVAL[g] for g in range(1, 13))
    per_birth = cfg.national_pupils / stock
    first = YEARS[0] - BURN_IN_YEARS
    sim_years = tuple(range(first, YEARS[-1] + 1))

    # --- initial stock (first simulated year, all grades) and entrants (grade 1, every later year)
    blocks_school, blocks_grade, blocks_year = [], [], []
    for g in range(1, 13):
        serve = (lo <= g) & (hi >= g)
        lam = np.where(serve, _BIRTHS[first - g - 6] * _SURVIVAL[g] * per_birth * w / national_weight[g], 0.0)
        cnt = rng.poisson(lam)
        blocks_school.append(np.repeat(np.arange(S), cnt))
        blocks_grade.append(np.full(cnt.sum(), g))
        blocks_year.append(np.full(cnt.sum(), first))
    serve1 = lo <= 1
    for t in sim_years[1:]:
        lam = np.where(serve1, _BIRTHS[t - 7] * per_birth * 0.97 * w / national_weight[1], 0.0)
        cnt = rng.poisson(lam)
        blocks_school.append(np.repeat(np.arange(S), cnt))
        blocks_grade.append(np.full(cnt.sum(), 1))
        blocks_year.append(np.full(cnt.sum(), t))
    school = np.concatenate(blocks_school).astype(np.int64)
    grade = np.concatenate(blocks_grade).astype(np.int64)
    start = np.concatenate(blocks_year).astype(np.int64)
    N = len(school)

    # --- fixed pupil attributes
    male = rng.random(N) < 0.51
    late = rng.random(N)
    birth_year = start - grade - 6 + np.where(late < 0.10, -1, np.where(late > 0.96, 1, 0))
    special = rng.random(N) < 0.06
    ses = ses_mean[school] + rng.normal(0.0, 0.9, N)
    u_lang = rng.random(N)
    language = np.where(
        minority[school],
        np.where(u_lang < 0.85, "russian", np.where(u_lang < 0.95, "latvian", "other")),
        np.where(u_lang < 0.88, "latvian", np.where(u_lang < 0.98, "russian", "other")),
    )
    theta = 0.35 * ses + rng.normal(0.0, 0.94, N) - 0.5 * special
    diseng = -0.30 * ses + 0.3 * special + rng.normal(0.0, 0.95, N)
    repeated_ever = (grade > 1) & (rng.random(N) < 0.03 * (grade - 1) / 11 + 0.01) & (start == first)
    entry_mun = mun[school]
    abs_prev = 38.0 * np.exp(0.45 * diseng + 0.35 * special)

    active = start == first
    repeated_now = np.zeros(N, dtype=bool)
    # destination schools by (municipality, grade taught), chosen by size weight
    serve_s, serve_g = np.nonzero((lo[:, None] <= np.arange(13)[None, :]) & (hi[:, None] >= np.arange(13)[None, :]))
    serve_key = mun[serve_s] * 13 + serve_g
    is_gym = (schools["type"] == "gymnasium").to_numpy()
    gym_s, gym_key = serve_s[is_gym[serve_s]], serve_key[is_gym[serve_s]]

    cols: dict[str, list[np.ndarray]] = {k: [] for k in (
        "pupil", "year", "school", "grade", "absences", "repeated", "status",
        "s1", "s2", "pumpurs", "offer", "D", "h", "h0", "h1", "k", "moved_to", "z9")}
    voc_cols: dict[str, list[np.ndarray]] = {k: [] for k in (
        "pupil", "year", "mun", "diseng", "ses", "special", "repeated_ever", "absences", "theta")}
    exit_year = np.full(N, -1, dtype=np.int64)
    exit_status = np.full(N, "", dtype=object)

    for t in sim_years:
        active |= start == t
        idx = np.flatnonzero(active)
        n = len(idx)
        sch, g = school[idx], grade[idx]
        e = rng.normal(0.0, 1.0, n)
        z_abs = (np.log1p(abs_prev[idx]) - 3.5) / 0.7
        lin = (-1.45 + 0.75 * diseng[idx] + 0.45 * z_abs + 0.5 * special[idx]
               + 0.8 * repeated_ever[idx] - 0.25 * ses[idx] + 0.35 * e)
        s1 = np.round(100.0 * expit(lin), 1)
        in_p = ((rollout[sch] <= t) & (t <= PUMPURS_LAST_YEAR)
                & ((g >= PUMPURS_GRADES[0]) | (t >= PUMPURS_GRADES_1_4_FROM)))
        offer = in_p & (s1 >= tp.risk_threshold)
        D = offer & (rng.random(n) < takeup[sch])
        k = np.where(in_p, t - rollout[sch], 0)
        s2 = np.round(100.0 * expit(lin + rng.normal(0.0, 0.3, n) - 0.3 * D), 1)

        mu = 38.0 * np.exp(0.45 * diseng[idx] + 0.25 * e + 0.35 * special[idx]
                           + 0.04 * (g - 6) + tp.support_absences_log_rr * D)
        absences = rng.poisson(mu * rng.gamma(2.0, 0.5, n))

        base = _ALPHA_GRADE[g] + tp.alpha_trend * (t - 2014) + tp.beta_score * (s1 - 50.0) / 10.0
        tau = tp.tau0 + tp.tau_score * (s1 - tp.risk_threshold) / 10.0 + tp.tau_years * k
        h0 = expit(base)
        h1 = expit(base + tau)
        h = np.where(D, h1, h0)
        leave = rng.random(n) < h

        # the grade-9 mathematics exam (its score in .assessments is CE9_MATH applied to z9)
        z9 = 0.8 * theta[idx] + 0.6 * rng.normal(0.0, 1.0, n)
        fail9 = ((g == 9) & (t not in CE9_NOT_HELD)
                 & (CE9_MATH[0] + CE9_MATH[1] * z9 < CE9_PASS_MARK))
        rep_lin = (-4.0 + 0.5 * (s1 - 50.0) / 10.0 + 0.5 * special[idx] + FAIL_REPEAT_LOG_OR * fail9
                   + tp.support_repeat_log_or * D)
        repeat = ~leave & (rng.random(n) < expit(rep_lin))
        out = ~leave & (rng.random(n) < 0.012)  # emigration and other exits from the data
        g_next = np.where(repeat, g, g + 1)
        vocational = ~leave & ~out & ~repeat & (g == 9) & (rng.random(n) < VOCATIONAL_SHARE)
        graduate = ~leave & ~out & ~repeat & (g == 12)
        cont = ~leave & ~out & ~vocational & ~graduate
        need_move = cont & (g_next > hi[sch])
        voluntary = cont & ~need_move & (rng.random(n) < 0.015)
        dest = np.full(n, -1, dtype=np.int64)
        mv = need_move | voluntary
        pick = pick_in_groups(rng, serve_key, mun[sch[mv]] * 13 + g_next[mv], w[serve_s])
        dest[mv] = np.where(pick >= 0, serve_s[np.maximum(pick, 0)], -1)
        dest[voluntary & (dest == sch)] = -1
        # selective gymnasiums admit at grades 7 and 10, abler pupils more often
        p_gym = expit(np.where(g_next == 7, -1.8, -1.2) + 0.8 * theta[idx])
        gym_try = (cont & ~repeat & ((g_next == 7) | (g_next == 10)) & ~is_gym[sch]
                   & (rng.random(n) < p_gym))
        pick = pick_in_groups(rng, gym_key, mun[sch[gym_try]] * 13 + g_next[gym_try], w[gym_s])
        to_gym = np.zeros(n, dtype=bool)
        to_gym[gym_try] = pick >= 0
        dest[to_gym] = gym_s[pick[pick >= 0]]
        mv = mv | to_gym
        moved = mv & (dest >= 0)
        lost = need_move & (dest < 0)  # no school teaches the next grade here: leaves the data
        status = np.where(leave, "left_early",
                          np.where(graduate, "graduated",
                                   np.where(out | vocational | moved | lost, "transferred", "enrolled")))

        if t >= YEARS[0]:  # the burn-in years move the pupils on and record nothing
            for key, val in (("pupil", idx), ("year", np.full(n, t)), ("school", sch), ("grade", g),
                             ("absences", absences), ("repeated", repeated_now[idx]),
                             ("status", status), ("s1", s1), ("s2", s2), ("pumpurs", in_p),
                             ("offer", offer), ("D", D), ("h", h), ("h0", h0), ("h1", h1),
                             ("k", k), ("moved_to", np.where(moved, dest, -1)), ("z9", z9)):
                cols[key].append(val)
            v = idx[vocational]
            for key, val in (("pupil", v), ("year", np.full(len(v), t)), ("mun", mun[sch[vocational]]),
                             ("diseng", diseng[v]), ("ses", ses[v]), ("special", special[v]),
                             ("repeated_ever", repeated_ever[v]), ("absences", absences[vocational]),
                             ("theta", theta[v])):
                voc_cols[key].append(val)

        stays = cont & (~need_move | moved)
        ends = ~stays
        exit_year[idx[ends]] = t
        exit_status[idx[ends]] = status[ends]
        active[idx[ends]] = False
        school[idx[moved]] = dest[moved]
        grade[idx] = g_next
        repeated_now[idx] = repeat
        repeated_ever[idx] |= repeat
        abs_prev[idx] = absences

    py = {k: np.concatenate(v) for k, v in cols.items()}
    pupil_ids = random_ids(rng, N, "P", 10)
    school_ids = schools["school_id"].to_numpy()
    pupil_years = pd.DataFrame({
        "pupil_id": pupil_ids[py["pupil"]],
        "year": py["year"].astype("int64"),
        "school_id": school_ids[py["school"]],
        "grade": py["grade"].astype("int64"),
        "absences": py["absences"].astype("int64"),
        "repeated": py["repeated"].astype(bool),
        "status": py["status"],
        "_pupil": py["pupil"],
        "_s1": py["s1"], "_s2": py["s2"], "_pumpurs": py["pumpurs"], "_offer": py["offer"],
        "_D": py["D"], "_h": py["h"], "_h0": py["h0"], "_h1": py["h1"], "_k": py["k"], "_z9": py["z9"],
    })
    seen = np.zeros(N, dtype=bool)
    seen[py["pupil"]] = True
    ex = pd.array(np.where(exit_year >= 0, exit_year, 0), dtype="Int64")
    ex[exit_year < 0] = pd.NA
    pupils = pd.DataFrame({
        "pupil_id": pupil_ids,
        "sex": np.where(male, "M", "F"),
        "birth_year": birth_year.astype("int64"),
        "language": language,
        "special_needs": special,
        "ses_index": np.round(ses, 3),
        "entry_year": np.maximum(start, YEARS[0]).astype("int64"),  # first year in the data
        "exit_year": ex,
        "exit_status": pd.array(np.where(exit_status == "", None, exit_status), dtype=object),
        "_municipality": mun_codes[entry_mun],
    })[seen].reset_index(drop=True)
    voc = {k: np.concatenate(v) for k, v in voc_cols.items()}
    vocational = pd.DataFrame({"pupil_id": pupil_ids[voc["pupil"]], "_pupil": voc["pupil"],
                               "_last_general_year": voc["year"].astype(np.int64),
                               "_municipality": mun_codes[voc["mun"]], **{f"_{k}": voc[k] for k in (
                                   "diseng", "ses", "special", "repeated_ever", "absences", "theta")}})
    return PupilSim(pupils=pupils, pupil_years=pupil_years, theta=theta, pupil_ids=pupil_ids,
                    vocational=vocational)
