"""The matched participation cohorts: balance, overlap and survival curves."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.estimate.result import Estimate
from evaltools.studies.alumni_programme.frames import Pool, StudyData, StudyInputError, _varying, common_support

__all__ = ['COHORT_COVARIATES', 'MatchedCohort', 'matched_cohort']


COHORT_COVARIATES = ["engagement", "years_of_service", "age", "female", "leader", "urban"]


@dataclass
class MatchedCohort:
    """Participants in the year they joined, stacked with the ``pool`` teachers of that year
    who had not joined (yet), matched on the propensity score (a sequence of target trials,
    one per participation cohort).

    ``frame``: one row per (teacher, cohort year) with ``treated``, the baseline covariates,
    ``duration`` (school years taught from the cohort year on) and ``event`` (1 = left
    teaching, 0 = censored). A comparison alumnus who joins later is followed only until the
    year before joining (censored then): defining comparisons as "never joined" would look
    into the future and pick those who left before they could join. ``matched``: the
    :class:`~evaltools.estimate.MatchResult`; its ``weights`` weight the comparison
    rows.
    """

    frame: pd.DataFrame
    matched: Any
    pool: str
    covariates: list[str]

    @property
    def weights(self) -> pd.Series:
        return self.matched.weights

    def balance(self) -> Any:
        """Balance before and after matching (:func:`evaltools.estimate.balance_table`), p-values
        clustered by teacher (a teacher is compared in every cohort year before joining); the report
        formats this result (:func:`evaltools.report.balance_table`), so its text and table agree."""
        from evaltools.estimate import balance_table

        return balance_table(self.frame, "treated", self.covariates, weights=self.weights, cluster="teacher_id")

    def survival(self, weighted: bool = True) -> Any:
        """Kaplan-Meier curves of staying in teaching since the cohort year, participants vs comparison
        (match-weighted comparison unless ``weighted=False``: then every comparison row counts once)."""
        from evaltools.estimate import kaplan_meier

        d = self.frame.assign(w=self.weights.to_numpy() if weighted else 1.0)
        d = d[d["w"] > 0]
        return kaplan_meier(d, "duration", "event", group="treated", weights="w")

    def left_within(self, years: int, weighted: bool = True) -> Estimate:
        """Difference in the share who left teaching within ``years`` school years of the cohort year
        (participants minus comparison; Kaplan-Meier, Greenwood SEs)."""
        km = self.survival(weighted)
        d = km.difference_at(years, 0, 1)  # S_comparison - S_participants = leaving_participants - leaving_comparison
        return replace(d, estimand=f"left teaching within {years} years of joining",
                       n={**d.n, "units": int(self.frame["treated"].sum())})

    def at_risk(self, times: list[int]) -> pd.DataFrame:
        """Distinct teachers still followed at the start of each year since joining, by group (unweighted)."""
        d = self.frame[self.weights.to_numpy() > 0]
        rows = {t: {g: int(d.loc[(d["treated"] == g) & (d["duration"] >= t), "teacher_id"].nunique())
                    for g in (1, 0)} for t in times}
        return pd.DataFrame.from_dict(rows, orient="index").rename(columns={1: "treated", 0: "comparison"})


def matched_cohort(sd: StudyData, pool: Pool = "alumni", neighbours: int = 4) -> MatchedCohort:
    """Build and match the stacked cohort frame (see :class:`MatchedCohort`)."""
    from evaltools.estimate import match

    ty = sd.teacher_years
    end = ty.groupby("teacher_id").agg(last=("year", "max"))
    end["left_last"] = ty.groupby("teacher_id")["left"].last()
    rows = []
    for g in sd.cohorts:
        now = ty[ty["year"] == g]
        treated = now[now["cohort"] == g]
        waiting = now[now["cohort"].isna() | (now["cohort"] > g)]
        comp = waiting[waiting["alumnus"] == (1 if pool == "alumni" else 0)]
        rows.append(pd.concat([treated.assign(treated=1), comp.assign(treated=0)]).assign(cohort_year=g))
    d = pd.concat(rows, ignore_index=True).join(end, on="teacher_id")
    joins_later = (d["treated"] == 0) & d["cohort"].notna()
    stop = np.where(joins_later, d["cohort"] - 1, d["last"])
    d["duration"] = (stop - d["cohort_year"] + 1).astype(int)
    d["event"] = ((~joins_later) & (d["left_last"] == 1)).astype(int)
    # a 0/1 characteristic no participant has (e.g. a leadership role) cannot be matched on
    d = common_support(d, ["female", "leader", "urban"], treatment="treated")
    if d["treated"].sum() < 2 or (d["treated"] == 0).sum() < 2:
        raise StudyInputError("Too few participants or comparison teachers to build matched cohorts.")
    covs = _varying(d, COHORT_COVARIATES)
    rhs = " + ".join(covs + (["C(cohort_year)"] if d["cohort_year"].nunique() > 1 else [])) or "1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = match(d, "duration", "treated", rhs, k=neighbours, cluster="teacher_id")
    return MatchedCohort(frame=d, matched=m, pool=pool, covariates=covs)
