"""The other outcomes of the roll-out (leaving teaching, pupils' results), the dose of professional
development and the subgroups ("for whom"): calls of the package's estimators only."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.estimate.result import Estimate
from evaltools.studies.teacher_professional_support.frames import SUBGROUPS, TPSData
from evaltools.studies.teacher_professional_support.rollout import RolloutResult, fit_att_gt

__all__ = ["retention", "PupilResults", "pupil_results", "three_level_att", "FORMULA", "DoseResults", "dose",
           "subgroup_effects"]


def retention(data: TPSData, *, control_group: str = "notyet", anticipation: int = 0) -> RolloutResult | None:
    """The roll-out's effect on the yearly probability of leaving teaching (teacher-years as repeated
    cross-sections, 0/1 ``left``, clustered by municipality): a share; the report shows points x 100."""
    return fit_att_gt(data.retention, "left", unit=None, control_group=control_group, anticipation=anticipation,
                      label="ATT of the roll-out on the yearly probability of leaving teaching")


@dataclass
class PupilResults:
    """Pupils' results. ``three_level`` (the headline): the multilevel model of pupils within teachers
    within schools with an effect for every start cohort and year, averaged over the supported
    scores (:func:`three_level_att`), SEs clustered by municipality; ``rollout``: the roll-out ATT
    (Callaway-Sant'Anna) on the same centred scores, the check; ``icc_teacher``: the share of the
    variance of results between teachers (their own and their school's part), ``variance``: the
    three components; ``multilevel`` is the old name of ``three_level``."""

    rollout: RolloutResult | None
    three_level: Estimate | None
    icc_teacher: Any
    n: dict[str, int]
    note: str | None = None
    variance: pd.DataFrame | None = None

    @property
    def multilevel(self) -> Estimate | None:
        """The multilevel estimate (now the three-level model; the two-level one is retired)."""
        return self.three_level


FORMULA = "score_c ~ C(cell, contr.treatment('0')) + C(municipality_id) + C(year)"
"""The three-level model's fixed part: a dummy per supported start cohort x year (``cell``, '0' = not
supported yet or never), municipality and year effects (the scores are centred on their test-subject-
year mean)."""


def three_level_att(p: pd.DataFrame, *, anticipation: int = 0) -> tuple[Estimate, Any]:
    """The average effect on pupils' scores from the multilevel model pupils within teachers within
    schools (:func:`evaltools.estimate.multilevel`, fast nested REML, all scores).

    The roll-out is staggered and its effect grows with the years since the start, so a single
    ``treated`` coefficient with municipality and year effects (two-way fixed effects) compares
    later-started with already-started municipalities and is pulled toward zero (at national scale
    0.80 against a truth of 0.97). The model therefore gives every start cohort g and year t >= g its
    own effect (Wooldridge 2021, "extended TWFE"; the same cells as Callaway-Sant'Anna) and the ATT
    is their average weighted by the supported scores in each cell:
    ``ATT = sum_gt w_gt beta_gt``, ``w_gt = N_gt / sum N_gt``. With ``anticipation`` = k, the k years
    before a start get their own dummies (kept out of the controls and of the average). SEs are the
    GLS sandwich clustered by municipality (the roll-out's unit), t(G-1)."""
    from evaltools.estimate import multilevel

    cohort, year = p["cohort"].to_numpy(), p["year"].to_numpy()
    started = cohort > 0
    post = started & (year >= cohort)
    pre = started & (year < cohort) & (year >= cohort - anticipation)
    key = "c" + pd.Series(cohort).astype(str) + "_" + pd.Series(year).astype(str)
    cell = np.where(post, key, np.where(pre, "a" + key, "0"))
    frame = p[["score_c", "municipality_id", "year", "teacher_id", "school_id"]].assign(cell=cell)
    fit = multilevel(frame, FORMULA, "teacher_id", nested_in="school_id", cluster="municipality_id")
    counts = pd.Series(cell[post]).value_counts()
    prefix = "C(cell, contr.treatment('0'))[T."
    weights = {f"{prefix}{k}]": float(v) / float(counts.sum()) for k, v in counts.items()}
    est = fit.combination(weights, "pupils' scores: roll-out (multilevel, pupils within teachers within schools; "
                                   "cohort-by-year effects, municipality and year effects)")
    est = replace(est, n={**(est.n or {}), "cells": len(weights), "scores_supported": int(post.sum())})
    return est, fit


def pupil_results(data: TPSData, *, control_group: str = "notyet", anticipation: int = 0,
                  max_rows_three_level: int | None = None, seed: int | None = None) -> PupilResults:
    """Pupils' results (percent-scale tests linked to a teacher, centred on the test-subject-year
    mean): the three-level model on all scores (:func:`three_level_att`, the headline) and the
    roll-out ATT (Callaway-Sant'Anna) as its check. ``max_rows_three_level`` and ``seed`` are
    deprecated (the model once ran on a random sample of the scores; it now fits all of them in
    seconds): a positive value is ignored with a DeprecationWarning, 0 still leaves the model out."""
    if max_rows_three_level is not None or seed is not None:
        warnings.warn("pupil_results(max_rows_three_level=..., seed=...) is deprecated: the three-level model now "
                      "fits all scores (fast nested engine); 0 still leaves it out, other values are ignored.",
                      DeprecationWarning, stacklevel=2)
    p = data.pupils
    n = {"scores": int(len(p)), "teachers": int(p["teacher_id"].nunique()) if len(p) else 0,
         "schools": int(p["school_id"].nunique()) if len(p) else 0,
         "treated_scores": int(p["treated"].sum()) if len(p) else 0}
    if len(p) == 0 or p["treated"].sum() == 0:
        return PupilResults(None, None, None, n, note="no pupil's score is linked to a supported teacher")
    ro = fit_att_gt(p, "score_c", unit=None, control_group=control_group, anticipation=anticipation,
                    label="ATT of the roll-out on pupils' scores (percentage points)")
    three = icc = var = None
    note = None
    if max_rows_three_level == 0:
        note = "three-level model left out (max_rows_three_level = 0)"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                three, fit = three_level_att(p, anticipation=anticipation)
                icc, var = fit.icc, fit.variance
            except (ValueError, KeyError, np.linalg.LinAlgError) as exc:
                note = f"the three-level model could not be fitted ({exc})"
    return PupilResults(rollout=ro, three_level=three, icc_teacher=icc, n=n, note=note, variance=var)


@dataclass
class DoseResults:
    """The effect of 10 more hours of professional development on the observed score, by design:
    ``naive`` (hours and year only: biased upward when more engaged teachers take more hours),
    ``engagement`` (adjusted for the teachers' engagement, when the data have it), ``lagged`` (the
    previous observed score), ``teacher_fe`` (within teacher, with municipality-by-year effects that absorb the roll-out
    and the extra effect for early-career teachers under support: the headline, free of every fixed
    trait of the teacher)."""

    naive: Estimate | None
    engagement: Estimate | None
    lagged: Estimate | None
    teacher_fe: Estimate | None
    mean_hours: float
    n: dict[str, int]

    def designs(self) -> dict[str, Estimate]:
        """The designs that could be estimated, naive first."""
        return {k: v for k, v in (("naive", self.naive), ("engagement", self.engagement), ("lagged", self.lagged),
                                  ("teacher_fe", self.teacher_fe)) if v is not None}


def _ols(frame: pd.DataFrame, covs: list[str], label: str, method: str) -> Estimate:
    """The coefficient of ``hours10`` in OLS of ``score`` on it, ``covs`` and year dummies
    (:func:`evaltools.estimate.glm.irls`, CR1 SEs clustered by municipality, t(G-1) interval)."""
    from evaltools.estimate.glm import irls

    years = pd.get_dummies(frame["year"], prefix="y", drop_first=True, dtype=float)
    X = np.column_stack([np.ones(len(frame)), frame["hours10"].to_numpy(float),
                         *[frame[c].to_numpy(float) for c in covs], years.to_numpy(float)])
    fit = irls(X, frame["score"].to_numpy(float), family="gaussian",
               groups=pd.factorize(frame["municipality_id"])[0])
    G = int(fit.clusters)
    return Estimate.from_normal(label, float(fit.params[1]), math.sqrt(max(float(fit.cov[1, 1]), 0.0)), df=G - 1,
                                n={"observations": int(len(frame)), "teachers": int(frame["teacher_id"].nunique()),
                                   "clusters": G}, method=method)


def dose(data: TPSData) -> DoseResults:
    """The dose designs of :class:`DoseResults` on the teacher-years with a head-observed lesson."""
    from evaltools.estimate import twfe

    o = data.observations
    n = {"teacher_years": int(len(o)), "teachers": int(o["teacher_id"].nunique()),
         "with_hours": int((o["hours"] > 0).sum())}
    naive = _ols(o, [], "effect of 10 hours of development (naive)",
                 "OLS of the score on hours/10 and year; CR1 SE by municipality")
    eng = None
    if data.has_engagement and o["engagement"].notna().all():
        eng = _ols(o, ["treated", "engagement"], "effect of 10 hours of development (engagement adjusted)",
                   "OLS adding the teacher's engagement; CR1 SE by municipality")
    lag = None
    lagged = o[o["score_prev"].notna()]
    if len(lagged) > 50:
        lag = _ols(lagged, ["treated", "score_prev"], "effect of 10 hours of development (previous score adjusted)",
                   "OLS adding the teacher's previous observed score; CR1 SE by municipality")
    fe = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # municipality-by-year effects absorb the roll-out (its effect at every event time); the
            # extra effect for early-career teachers under support varies within them
            w = o.assign(municipality_year=o["municipality_id"].astype(str) + ":" + o["year"].astype(str),
                         early_treated=((o["years_of_service"] < 5) & (o["treated"] == 1)).astype(float))
            r = twfe(w, "score", "hours10", "teacher_id", "municipality_year", covariates=["early_treated"],
                     cluster="municipality_id")
        fe = replace(r.estimate, estimand="effect of 10 hours of development (within teacher)",
                     n={**(r.estimate.n or {}), "teachers": n["teachers"]})
    except ValueError:
        pass
    return DoseResults(naive=naive, engagement=eng, lagged=lag, teacher_fe=fe, mean_hours=float(o["hours"].mean()), n=n)


def subgroup_effects(data: TPSData, *, control_group: str = "notyet", min_teachers: int = 20) -> pd.DataFrame:
    """The roll-out ATT on the observed score within each group of :data:`~.frames.SUBGROUPS`
    (years of service, subject, school type), one ``att_gt`` per group, with Benjamini-Hochberg
    adjusted p-values over all the groups (:func:`evaltools.inference.subgroup_family`). A group
    with fewer than ``min_teachers`` supported teachers, or without a valid test, is left out.
    Columns: by, group, teachers, estimate, ci_low, ci_high, pvalue, p_bh."""
    from evaltools.inference import subgroup_family

    def supported_teachers(g: pd.DataFrame) -> int:
        return int(g.loc[g["treated"] == 1, "teacher_id"].nunique())

    def fit(g: pd.DataFrame) -> Estimate | None:
        if supported_teachers(g) < min_teachers:
            return None
        res = fit_att_gt(g, "score", unit=None, control_group=control_group)
        return None if res is None else res.att

    return subgroup_family(data.observations, SUBGROUPS, fit, counts={"teachers": supported_teachers})
