"""Skola-kopienā individual support (ESF 4.2.3.1), the pupil wellbeing survey and the pre-school assessment.

Pre-school assessment (4.2.2.4): every child is assessed in numeracy and literacy in the
year before grade 1 (age 5-6), 95 % of them; ``score = 62 + 16*(0.75*theta + 0.66*eps)``.

Support (2022-2023, in the schools that take part, ``COMMUNITY_SCHOOL_SHARE`` of them), one
measure per pupil-year, each chosen on *recorded* prior outcomes and acting on its own outcome
with a dose by hours (``effect = effect_per_10_hours * hours / 10``):

* ``subject_support``: 9th-graders who failed a grade-9 exam the year before (a ce9 subject
  below :data:`~.config.CE9_PASS_MARK`) and repeat the year;
  ``logit p = -1 + (pass_mark - lowest ce9 score last year)/10 + (50 - mean ce9 score last
  year)/10``; every ce9 score of the
  retake rises by ``community_retake_points_per_10h``;
* ``literacy`` (grades 1-3): ``logit p = -2.2 + community_select_literacy_per_10*(preschool
  literacy - 60)/10`` (missing pre-school score: 60); the grade-3 Latvian diagnostic (diag3)
  rises by ``community_literacy_points_per_10h`` per 10 hours received in grades 1-3 up to it
  (the truth is the rise of the published score, which is capped at 100: ``clip(y0 + points) -
  clip(y0)``, about 1.5 % below the nominal points);
* ``counselling`` (grades 1-12) and ``mentor`` (grades 7-12, 40 % of those supported):
  ``logit p = -2 + community_select_log_or_per_10*(wellbeing last year - 62)/10
  + community_select_absences*(log(1 + absences last year) - 3.5)/0.7`` (missing: 62 and 0);
  wellbeing rises by ``community_wellbeing_per_10h`` and absences fall by a Poisson draw with
  mean ``community_absences_per_10h`` lessons per 10 hours (never below zero).

Hours: ``1 + Poisson(mean_hours * exp(0.15*need))``, ``need`` the standardised shortfall the
pupil was selected on, so pupils in greater need get more hours (a naive dose-response
comparison is confounded too).

Pupil wellbeing (survey 2021-2023, grades 4-12, 85 % answer):
``wb_t = 62 + 0.6*(wb_{t-1}-62) + 1.5*ses + effect*[counselling or mentor] + N(0, 8^2)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .assessments import TEST_SD
from .config import CE9_PASS_MARK, SynthConfig

WELLBEING_YEARS = (2021, 2022, 2023)
COMMUNITY_YEARS = (2022, 2023)
COMMUNITY_SCHOOL_SHARE = 0.6
MEAN_HOURS = {"counselling": 16.0, "mentor": 24.0, "literacy": 30.0, "subject_support": 36.0}
PRESCHOOL_MEAN, PRESCHOOL_SD = 62.0, 16.0


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def preschool_table(rng: np.random.Generator, py: pd.DataFrame, schools: pd.DataFrame, theta: np.ndarray
                    ) -> pd.DataFrame:
    """Pre-school numeracy and literacy (0-100) in the year before grade 1, for pupils who start
    grade 1 within the data (95 % assessed); hidden ``_p`` is the pupil index."""
    first = py.drop_duplicates("_pupil")  # pupil-years are in year order: a pupil's first row
    starters = first[(first["grade"] == 1) & (first["year"] > int(py["year"].min()))]
    starters = starters[rng.random(len(starters)) < 0.95]
    i = starters["_pupil"].to_numpy()
    n = len(i)
    scores = {}
    for subj in ("numeracy", "literacy"):
        z = 0.75 * theta[i] + 0.66 * rng.normal(0.0, 1.0, n)
        scores[subj] = np.round(np.clip(PRESCHOOL_MEAN + PRESCHOOL_SD * z, 0.0, 100.0), 1)
    mun = starters["school_id"].map(schools.set_index("school_id")["municipality_id"]).to_numpy()
    out = pd.DataFrame({"pupil_id": starters["pupil_id"].to_numpy(), "year": starters["year"].to_numpy() - 1,
                        "municipality_id": mun, **scores, "_p": i})
    return out.sort_values("_p", kind="stable").reset_index(drop=True)


@dataclass
class CommunityResult:
    """The two public tables and the hidden columns the truth is built from."""

    wellbeing_pupils: pd.DataFrame
    community_support: pd.DataFrame  # hidden: _row, _p, _effect (wellbeing points), _abs_before
    retake: pd.DataFrame  # supported retakers: _p, year, hours, pass0, pass1, expected0, expected1
    literacy: pd.DataFrame  # diag3 Latvian rows of pupils with literacy hours: _p, year, hours, points (realised)


def _pass_probability(rows: pd.DataFrame, bonus: np.ndarray, mark: float, sd: float) -> pd.Series:
    """Expected pass (every recorded ce9 subject at or above the mark) over the exam-day noise
    (normal, SD ``sd``), given the score without it plus ``bonus``: prod_s Phi((m_s + bonus - mark)/sd)."""
    from scipy.stats import norm

    m = rows["_raw"].to_numpy() - rows["_noise"].to_numpy() + bonus
    return pd.Series(norm.cdf((m - mark) / sd), index=rows.index).groupby([rows["_p"], rows["year"]]).prod()


def _pass(scores: pd.DataFrame, col: str, mark: float) -> pd.Series:
    """Passed = every recorded ce9 subject of the pupil-year at or above the mark."""
    rounded = np.round(np.clip(scores[col], 0.0, 100.0), 1)
    return (rounded >= mark).groupby([scores["_p"], scores["year"]]).all()


def community_and_wellbeing(rng: np.random.Generator, py: pd.DataFrame, pupils: pd.DataFrame,
                            schools: pd.DataFrame, assessments: pd.DataFrame, preschool: pd.DataFrame,
                            cfg: SynthConfig) -> CommunityResult:
    """Support, its effects and the wellbeing survey (module docstring).

    Changes ``py['absences']`` of pupils counselled or mentored and the ``score`` (and ``_raw``) of
    the diag3 Latvian and ce9 rows of pupils given literacy or subject support, in place.
    """
    tp = cfg.true
    n_pupils = int(py["_pupil"].max()) + 1 if len(py) else 0
    ses = np.zeros(n_pupils)
    ses[py["_pupil"].to_numpy()] = py["pupil_id"].map(pupils.set_index("pupil_id")["ses_index"]).to_numpy()
    part = pd.Series(rng.random(len(schools)) < COMMUNITY_SCHOOL_SHARE, index=schools["school_id"].to_numpy())
    pre_lit = np.full(n_pupils, np.nan)
    pre_lit[preschool["_p"].to_numpy()] = preschool["literacy"].to_numpy()
    ce9 = assessments[assessments["test"] == "ce9"]
    ce9_min = ce9.groupby(["_p", "year"])["score"].min()
    ce9_mean = ce9.groupby(["_p", "year"])["score"].mean()
    latent = np.full(n_pupils, np.nan)
    recorded = np.full(n_pupils, np.nan)
    wb_rows, cs_rows = [], []
    lit_rows = []
    for t in (WELLBEING_YEARS[0] - 1, *WELLBEING_YEARS):
        cur = py[py["year"] == t]
        rows = cur.index.to_numpy()
        i = cur["_pupil"].to_numpy()
        n = len(i)
        g = cur["grade"].to_numpy()
        prev = latent[i]
        prev_filled = np.where(np.isnan(prev), 62.0 + 3.0 * ses[i] + rng.normal(0, 10, n), prev)
        wb_effect = np.zeros(n)
        if t in COMMUNITY_YEARS:
            offer = cur["school_id"].map(part).to_numpy(bool)
            # subject support: failed a ce9 subject last year and repeat grade 9
            key_prev = pd.MultiIndex.from_arrays([i, np.full(n, t - 1)])
            last = ce9_min.reindex(key_prev).to_numpy()
            last_mean = ce9_mean.reindex(key_prev).to_numpy()
            retaker = offer & (g == 9) & cur["repeated"].to_numpy(bool) & (last < CE9_PASS_MARK)
            need_s = np.nan_to_num((CE9_PASS_MARK - last) / 10.0 + (50.0 - last_mean) / 10.0)
            p_sub = _expit(-1.0 + 1.0 * need_s)
            # literacy (grades 1-3) on the pre-school literacy score
            lit = np.where(np.isnan(pre_lit[i]), 60.0, pre_lit[i])
            need_l = -(lit - 60.0) / 10.0
            p_lit = np.where(g <= 3, _expit(-2.2 - tp.community_select_literacy_per_10 * need_l), 0.0)
            # counselling / mentor on last year's recorded wellbeing and absences
            x = np.where(np.isnan(recorded[i]), 62.0, recorded[i])
            last_year = py[py["year"] == t - 1]  # as published: after last year's support
            a_prev = pd.Series(last_year["absences"].to_numpy(float),
                               index=last_year["_pupil"].to_numpy()).reindex(i).to_numpy()
            z_abs = np.where(np.isnan(a_prev), 0.0, (np.log1p(np.nan_to_num(a_prev)) - 3.5) / 0.7)
            need_c = -(x - 62.0) / 10.0
            p_cou = _expit(-2.0 + tp.community_select_log_or_per_10 * (x - 62.0) / 10.0
                           + tp.community_select_absences * z_abs)
            u = rng.random((3, n))
            literacy = offer & ~retaker & (u[1] < p_lit)
            counselled = offer & ~retaker & ~literacy & (u[2] < p_cou)
            mentor = counselled & (g >= 7) & (rng.random(n) < 0.4)
            measure = np.select([retaker & (u[0] < p_sub), literacy, mentor, counselled],
                                ["subject_support", "literacy", "mentor", "counselling"], "")
            need = np.select([measure == "subject_support", measure == "literacy"], [need_s, need_l], need_c)
            mean_h = pd.Series(measure).map(MEAN_HOURS).fillna(0.0).to_numpy()
            hours = 1 + rng.poisson(mean_h * np.exp(0.15 * np.clip(need, -2.0, 3.0)))
            sup = measure != ""
            cm = (measure == "counselling") | (measure == "mentor")
            wb_effect = np.where(cm, tp.community_wellbeing_per_10h * hours / 10.0, 0.0)
            # absences: fewer lessons missed, never below zero
            before = cur["absences"].to_numpy()
            cut = np.where(cm, rng.poisson(-tp.community_absences_per_10h * np.where(cm, hours, 0) / 10.0), 0)
            py.loc[rows[cm], "absences"] = np.maximum(before - cut, 0)[cm].astype(np.int64)
            cs_rows.append(pd.DataFrame({
                "pupil_id": cur["pupil_id"].to_numpy()[sup], "year": np.full(int(sup.sum()), t),
                "school_id": cur["school_id"].to_numpy()[sup], "measure": measure[sup],
                "hours": hours[sup].astype(np.int64), "_row": rows[sup], "_p": i[sup], "_effect": wb_effect[sup],
                "_abs_before": before[sup]}))
            is_lit = measure == "literacy"
            lit_rows.append(pd.DataFrame({"_p": i[is_lit], "ys": t, "hours": hours[is_lit].astype(float)}))
        wb = np.clip(62.0 + 0.6 * (prev_filled - 62.0) + 1.5 * ses[i] + wb_effect + rng.normal(0, 8, n), 0, 100)
        latent[i] = wb
        recorded[:] = np.nan
        if t in WELLBEING_YEARS:
            answer = (g >= 4) & (rng.random(n) < 0.85)
            recorded[i[answer]] = np.round(wb[answer], 1)
            wb_rows.append(pd.DataFrame({
                "pupil_id": cur["pupil_id"].to_numpy()[answer], "year": np.full(int(answer.sum()), t),
                "school_id": cur["school_id"].to_numpy()[answer],
                "wellbeing": np.round(wb[answer], 1), "_effect": wb_effect[answer]}))
    wellbeing = pd.concat(wb_rows, ignore_index=True)
    community = pd.concat(cs_rows, ignore_index=True)
    community["year"] = community["year"].astype("int64")
    wellbeing["year"] = wellbeing["year"].astype("int64")

    # literacy: the grade-3 Latvian diagnostic rises with the literacy hours received up to that year
    d3 = assessments[(assessments["test"] == "diag3") & (assessments["subject"] == "latvian")
                     & assessments["year"].isin(COMMUNITY_YEARS)]
    lh = pd.concat(lit_rows, ignore_index=True)
    got = d3[["_p", "year"]].reset_index().merge(lh, on="_p")
    got = got[got["ys"] <= got["year"]].groupby(["index", "_p", "year"], as_index=False)["hours"].sum()
    points = tp.community_literacy_points_per_10h * got["hours"].to_numpy() / 10.0
    idx = got["index"].to_numpy()
    raw0 = assessments.loc[idx, "_raw"].to_numpy()
    assessments.loc[idx, "_raw"] = raw0 + points
    assessments.loc[idx, "score"] = np.round(np.clip(raw0 + points, 0.0, 100.0), 1)
    # the truth is the effect on the published score, capped at 100: clip(y0 + points) - clip(y0)
    realised = np.clip(raw0 + points, 0.0, 100.0) - np.clip(raw0, 0.0, 100.0)
    literacy = got.assign(points=realised)[["_p", "year", "hours", "points"]]

    # exam retake: every ce9 score of a supported retaker rises with the hours
    sub = community[community["measure"] == "subject_support"][["_p", "year", "hours"]]
    rows9 = ce9[["_p", "year"]].reset_index().merge(sub, on=["_p", "year"])
    before9 = assessments.loc[rows9["index"], ["_p", "year", "_raw", "_noise"]]
    pass0 = _pass(before9, "_raw", CE9_PASS_MARK)
    bonus = tp.community_retake_points_per_10h * rows9["hours"].to_numpy() / 10.0
    sd = TEST_SD["ce9"] * 0.6
    expected0 = _pass_probability(before9, np.zeros(len(before9)), CE9_PASS_MARK, sd)
    expected1 = _pass_probability(before9, bonus, CE9_PASS_MARK, sd)
    idx = rows9["index"].to_numpy()
    assessments.loc[idx, "_raw"] = assessments.loc[idx, "_raw"].to_numpy() + bonus
    assessments.loc[idx, "score"] = np.round(np.clip(assessments.loc[idx, "_raw"].to_numpy(), 0.0, 100.0), 1)
    pass1 = _pass(assessments.loc[idx, ["_p", "year", "_raw"]], "_raw", CE9_PASS_MARK)
    key = sub.set_index(["_p", "year"]).index  # no ce9 result: not passed, with or without support
    retake = sub.assign(pass0=pass0.astype(float).reindex(key).fillna(0.0).to_numpy(),
                        pass1=pass1.astype(float).reindex(key).fillna(0.0).to_numpy(),
                        expected0=expected0.reindex(key).fillna(0.0).to_numpy(),
                        expected1=expected1.reindex(key).fillna(0.0).to_numpy())
    return CommunityResult(wellbeing_pupils=wellbeing, community_support=community,
                           retake=retake, literacy=literacy)
