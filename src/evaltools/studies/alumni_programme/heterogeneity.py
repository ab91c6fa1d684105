"""For whom: the effect within subgroups and the test that they are equal."""
from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.estimate.result import Estimate
from evaltools.studies.alumni_programme.effects import _baseline
from evaltools.studies.shared.frames import renumbered
from evaltools.studies.alumni_programme.frames import RETENTION_COVARIATES, StudyData, StudyInputError, StudyWarning, _varying, teacher_year_sample

__all__ = ['SUBGROUPS', 'subgroups']


SUBGROUPS = {
    "subject": lambda d: d["subject"] if "test_subject" not in d else d["test_subject"],
    "role": lambda d: np.where(d["leader"] == 1, "leader", "teacher"),
    "school_type": lambda d: np.where(d["school_type"].isin(["secondary", "gymnasium"]), "secondary", "basic"),
}
"""Subgroup definitions: the subject (of the test, for pupils' results), the role that year
(teacher or a leadership role) and the school (secondary or gymnasium vs primary or basic)."""


def subgroups(sd: StudyData, outcome: Literal["pupil_results", "retention"], by: str,
              min_participants: int = 10) -> tuple[dict[str, Estimate], float | None]:
    """The effect within each subgroup of ``by`` and the p-value of a test that they are equal.

    Pupils' results: one multilevel model with a programme effect per subgroup; retention:
    one discrete-time logit (alumni) with programme-by-subgroup interactions. Subgroups with
    fewer than ``min_participants`` participating teachers are left out (not estimated).
    Each Estimate's ``n["units"]`` is its number of participating teachers. A model that cannot
    be fitted (e.g. separation in a small sample) gives no estimates and a warning.
    """
    try:
        return _subgroups(sd, outcome, by, min_participants)
    except (ValueError, np.linalg.LinAlgError) as exc:
        if isinstance(exc, StudyInputError):
            raise
        warnings.warn(f"subgroups of {outcome} by {by} could not be estimated: {exc}", StudyWarning, stacklevel=2)
        return {}, None


def _subgroups(sd: StudyData, outcome: str, by: str, min_participants: int) -> tuple[dict[str, Estimate], float | None]:
    if by not in SUBGROUPS:
        raise StudyInputError(f"by must be one of {', '.join(SUBGROUPS)}, got {by!r}.")
    if outcome == "pupil_results":
        # only the columns the groups and the model read (the scores frame has millions of rows at
        # national scale; the same rows in the same order)
        used = [c for c in ("score_c", "teacher_id", "gp", "engagement", "alumnus", "test_subject", "leader",
                            "school_type") if c in sd.scores]
        d = sd.scores[used].copy(deep=False)  # a selection (its own columns): the group added without a copy
        d["group"] = SUBGROUPS[by](d)
    elif outcome == "retention":
        d = teacher_year_sample(sd, "alumni", programme_years=False).dropna(subset=["left"]).copy(deep=False)
        d["group"] = SUBGROUPS[by](d)
    else:
        raise StudyInputError(f"outcome must be 'pupil_results' or 'retention', got {outcome!r}.")
    sizes = d[d["gp"] == 1].groupby("group")["teacher_id"].nunique()
    keep = sorted(sizes[sizes >= min_participants].index)
    if not keep:
        return {}, None
    inside = d["group"].isin(keep)
    d = renumbered(d if inside.all() else d[inside])  # every row kept: not copied again
    names = {g: f"g{i}" for i, g in enumerate(keep)}
    for g, c in names.items():
        d[c] = (d["group"] == g).astype(int)
        d[c + "_gp"] = d[c] * d["gp"]
    if outcome == "pupil_results":
        from evaltools.estimate import multilevel

        covs = _varying(d, ["engagement", "alumnus"])
        terms = [names[g] + "_gp" for g in keep] + [names[g] for g in keep[1:]] + covs
        fit = multilevel(d, "score_c ~ " + " + ".join(terms), "teacher_id")
        beta, cov = fit.params, fit.cov_params
        cols = [names[g] + "_gp" for g in keep]
        method = fit.coefficient(cols[0]).method
        ests = {g: Estimate.from_normal(f"effect on pupils' scores [{by} = {g}]", float(beta[c]),
                                        float(np.sqrt(cov.loc[c, c])), n={"units": int(sizes[g])}, method=method)
                for g, c in zip(keep, cols)}
        return ests, _equal_test(beta[cols].to_numpy(), cov.loc[cols, cols].to_numpy())
    from evaltools.estimate import discrete_time_hazard

    inter = [names[g] for g in keep[1:]]
    covs = _varying(d, RETENTION_COVARIATES) + inter
    res = discrete_time_hazard(d, "teacher_id", "year", "left", covariates=covs, treatment="gp",
                               baseline=_baseline(d, "left"), interactions=inter or None, cluster="teacher_id")
    params, cov = res.params, res.cov
    inames = [f"gp:{c}" for c in inter]  # the treatment's interaction with each non-reference group
    ests = {}
    for g in keep:
        a = pd.Series(0.0, index=params.index)
        a["gp"] = 1.0
        if g != keep[0]:
            a[f"gp:{names[g]}"] = 1.0
        ests[g] = Estimate.from_normal(f"log odds ratio of leaving [{by} = {g}]", float(a @ params),
                                       float(np.sqrt(a @ cov @ a)), n={"units": int(sizes[g])},
                                       method=res.estimate.method)
    if not inames:
        return ests, None
    b = params[inames].to_numpy()
    V = cov.loc[inames, inames].to_numpy()
    return ests, float(stats.chi2.sf(float(b @ np.linalg.solve(V, b)), len(b)))


def _equal_test(beta: np.ndarray, cov: np.ndarray) -> float | None:
    """p-value of the Wald test that all entries of ``beta`` are equal."""
    k = len(beta)
    if k < 2:
        return None
    C = np.hstack([np.ones((k - 1, 1)), -np.eye(k - 1)])
    diff = C @ beta
    V = C @ cov @ C.T
    return float(stats.chi2.sf(float(diff @ np.linalg.solve(V, diff)), k - 1))
