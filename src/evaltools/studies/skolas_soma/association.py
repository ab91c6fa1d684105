r"""Association of skolas soma activities with pupils' outcomes: labelled as association, not effect.

**Within-school comparison** (the headline association): pupils of the same school, surveyed in
the same school year, compared by how many activities they had per semester enrolled,

    y_ist = a_s + l_t + b * activities_ist + e_ist,

school fixed effects ``a_s`` and school-year effects ``l_t``, by
:func:`evaltools.estimate.twfe` (unit = school, time = year), SEs clustered by school (CR1 with
t(G-1); CR2 with Satterthwaite df when there are fewer than 30 schools). ``b`` is the difference
in the outcome per extra activity per semester *within a school*: it removes everything that
differs between schools (urban schools offer more and their pupils are better off), not what
differs between pupils of one school. It would be a causal effect only if, within a school, the
pupils who attend more were otherwise like those who attend fewer (no selection of pupils into
activities): the design cannot check that, so the report calls it an association.

**Within-pupil comparison** (the second design, :func:`within_pupil`): the same pupil in
survey years with more and with fewer activities (pupil and year fixed effects, clustered by
school). It also removes what is stable about a pupil (who attends more within a school:
motivation, family), at the price of using only pupils surveyed in two or more years; what
changes with the year for a pupil (a bad year, fewer activities and lower wellbeing) it does not.

**Naive association**: the same slope without the school effects (OLS,
:func:`evaltools.estimate.glm.irls`, gaussian, CR1 clustered by school); its difference from the
within-school slope is the between-school confounding.

**Family of tests**: the within-school slope for each outcome and, for wellbeing, in each
subgroup (urban/rural, socio-economic band, grade band); p-values adjusted by
Benjamini-Hochberg (:func:`evaltools.inference.multiple.benjamini_hochberg`, the WWC's procedure
within a domain).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from evaltools.core.result import Estimate
from evaltools.estimate.cluster_robust import FEW_CLUSTERS
from evaltools.studies.skolas_soma.frames import GRADE_BANDS, SES_BANDS, SomaData

__all__ = ["OUTCOMES", "SUBGROUPS", "within_school", "within_pupil", "naive", "family", "rows", "MIN_SCHOOLS"]

#: Outcomes of the family (column of ``pupil_years``), the first is the headline.
OUTCOMES: tuple[str, ...] = ("wellbeing", "absences")
#: Subgroups of the wellbeing association: column -> levels.
SUBGROUPS: dict[str, tuple[str, ...]] = {"urban": ("urban", "rural"), "ses_band": SES_BANDS,
                                         "grade_band": tuple(code for code, lo, _ in GRADE_BANDS if lo >= 4)}
#: Fewest schools for a within-school slope (fewer: not estimated).
MIN_SCHOOLS: int = 5


#: The columns of ``SomaData.pupil_years`` the association's regressions read.
COLUMNS: tuple[str, ...] = ("pupil_id", "year", "school_id", "activities", *OUTCOMES, *SUBGROUPS)


def rows(data: SomaData, outcome: str, *, narrow: bool = False) -> pd.DataFrame:
    """The pupil-years with ``outcome`` and a skolas soma record (the association's sample);
    ``narrow``: only the :data:`COLUMNS` the regressions read (a national frame is not copied whole)."""
    py = data.pupil_years
    keep = py[outcome].notna() & py["activities"].notna()
    return py.loc[keep, [c for c in COLUMNS if c in py]] if narrow else py[keep]


def within_school(frame: pd.DataFrame, outcome: str, *, label: str | None = None) -> Estimate:
    """The within-school slope of ``outcome`` on activities per semester (see the module
    docstring): :func:`evaltools.estimate.twfe` with school and year effects, clustered by
    school (CR2 below 30 schools). ``n``: pupil-years (``pupil_years``, also as ``units``) and
    ``schools``."""
    from evaltools.estimate import twfe

    schools = int(frame["school_id"].nunique())
    if schools < MIN_SCHOOLS:
        raise ValueError(f"only {schools} schools with {outcome} and skolas soma records (fewer than {MIN_SCHOOLS})")
    vcov = "CR2" if schools < FEW_CLUSTERS else "CR1"
    with warnings.catch_warnings():  # a school surveyed in one year only: dropped by the estimator, counted in n
        warnings.filterwarnings("ignore", message=".*singleton fixed effect", category=UserWarning)
        res = twfe(frame, outcome, "activities", "school_id", "year", cluster="school_id", vcov=vcov)
    return _relabel(res.estimate, label or f"within-school slope: {outcome} per activity per semester")


def within_pupil(frame: pd.DataFrame, outcome: str, *, label: str | None = None) -> Estimate:
    """The within-pupil slope of ``outcome`` on activities per semester: :func:`evaltools.estimate.twfe`
    with pupil and year effects, clustered by school (CR1 with t(G-1): pupils who change school
    cross the clusters, so CR2 would need a dummy per pupil; below 30 schools the result carries
    the few-clusters note); pupils observed once carry no information and are dropped by the
    estimator (singletons)."""
    from evaltools.estimate import twfe

    schools = int(frame["school_id"].nunique())
    if schools < MIN_SCHOOLS:
        raise ValueError(f"only {schools} schools with {outcome} and skolas soma records (fewer than {MIN_SCHOOLS})")
    with warnings.catch_warnings():  # pupils surveyed once carry no information: dropped by the estimator
        warnings.filterwarnings("ignore", message=".*singleton fixed effect", category=UserWarning)
        res = twfe(frame, outcome, "activities", "pupil_id", "year", cluster="school_id", vcov="CR1")
    return _relabel(res.estimate, label or f"within-pupil slope: {outcome} per activity per semester")


def _relabel(est: Estimate, label: str) -> Estimate:
    """The estimate under the study's label, with ``n`` as pupil-years (``pupil_years`` and
    ``units`` for the report's tables) and schools."""
    from dataclasses import replace

    n = dict(est.n or {})
    counts = {"pupil_years": int(n.get("obs", 0)), "units": int(n.get("obs", 0)), "schools": int(n.get("clusters", 0))}
    return replace(est, estimand=label, n=counts)


def naive(frame: pd.DataFrame, outcome: str, *, label: str | None = None) -> Estimate:
    """The slope of ``outcome`` on activities per semester across all pupils, no school effects
    (OLS by :func:`evaltools.estimate.glm.irls`, CR1 clustered by school, t(G-1))."""
    from evaltools.estimate import glm

    y = frame[outcome].to_numpy(float)
    x = frame["activities"].to_numpy(float)
    codes = pd.factorize(frame["school_id"])[0]
    fit = glm.irls(np.column_stack([np.ones_like(x), x]), y, family="gaussian", groups=codes)
    G = int(codes.max()) + 1
    return Estimate.from_normal(label or f"naive slope: {outcome} per activity per semester", float(fit.params[1]),
                                float(np.sqrt(fit.cov[1, 1])), df=G - 1,
                                n={"pupil_years": len(frame), "units": len(frame), "schools": G},
                                method="OLS without school effects (evaltools.estimate.glm.irls), CR1 clustered by "
                                       "school, t(G-1)")


def family(data: SomaData, *, min_rows: int = 10,
           alpha: float = 0.05) -> tuple[dict[str, Estimate], pd.DataFrame, dict[str, str]]:
    """The within-school slope for each outcome of :data:`OUTCOMES` and each wellbeing subgroup
    of :data:`SUBGROUPS`, and the Benjamini-Hochberg adjustment over all of them.

    Returns ``(estimates, table, skipped)``: estimates by key (``"wellbeing"``, ``"absences"``,
    ``"wellbeing.urban.rural"``, ...), a table (key -> estimate, ci_low, ci_high, pvalue,
    p_adjusted, rejected, pupil_years, schools) and the keys not estimated with the reason
    (fewer than ``min_rows`` pupil-years or :data:`MIN_SCHOOLS` schools, or no variation)."""
    from evaltools.inference.multiple import benjamini_hochberg

    estimates: dict[str, Estimate] = {}
    skipped: dict[str, str] = {}
    jobs: list[tuple[str, pd.DataFrame, str]] = [(o, rows(data, o, narrow=True), o) for o in OUTCOMES]
    base = jobs[0][1]
    for column, levels in SUBGROUPS.items():
        for level in levels:
            jobs.append((f"{OUTCOMES[0]}.{column}.{level}", base[base[column] == level], OUTCOMES[0]))
    for key, frame, outcome in jobs:
        if len(frame) < min_rows:
            skipped[key] = f"{len(frame)} pupil-years (fewer than {min_rows})"
            continue
        try:
            estimates[key] = within_school(frame, outcome, label=key)
        except ValueError as exc:
            skipped[key] = str(exc)
    table = pd.DataFrame(columns=["estimate", "ci_low", "ci_high", "pvalue", "p_adjusted", "rejected", "pupil_years",
                                  "schools"])
    if estimates:
        mt = benjamini_hochberg({k: e.pvalue for k, e in estimates.items()}, alpha=alpha)
        table = pd.DataFrame({
            "estimate": [e.estimate for e in estimates.values()], "ci_low": [e.ci_low for e in estimates.values()],
            "ci_high": [e.ci_high for e in estimates.values()], "pvalue": [e.pvalue for e in estimates.values()],
            "p_adjusted": mt.adjusted.reindex(list(estimates)).to_numpy(float),
            "rejected": mt.rejected.reindex(list(estimates)).to_numpy(bool),
            "pupil_years": [int(e.n["pupil_years"]) for e in estimates.values()],
            "schools": [int(e.n["schools"]) for e in estimates.values()]}, index=pd.Index(list(estimates), name="test"))
    return estimates, table, skipped

