"""The alumni study's effects: staying in teaching, moving into leadership, pupils' results and
collaboration, each by the package's estimators (see the package docstring for the designs)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.estimate.glm import difference_in_means, g_computation
from evaltools.estimate.result import Estimate
from evaltools.studies.alumni_programme.frames import (
    PROMOTION_COVARIATES,
    RETENTION_COVARIATES,
    Pool,
    StudyData,
    StudyInputError,
    StudyWarning,
    _formula,
    _varying,
    common_support,
    promotion_frame,
    retention_sample,
    teacher_year_sample,
)

__all__ = ["naive_difference", "within_cell", "retention", "leadership", "teacher_year_balance", "attrition_pct", "PupilResults",
           "pupil_results", "CollaborationResults", "collaboration"]


def naive_difference(d: pd.DataFrame, outcome: str, treatment: str, cluster: str, label: str) -> Estimate:
    """Raw difference in means between the arms (the naive comparison):
    :func:`evaltools.estimate.glm.difference_in_means`, CR1 SE clustered by ``cluster``, t(G-1) CI."""
    return difference_in_means(
        d[outcome].to_numpy(float), d[treatment].to_numpy(float), d[cluster].to_numpy(), estimand=label,
        n={"treated": int(d.loc[d[treatment] == 1, cluster].nunique()),
           "comparison": int(d.loc[d[treatment] == 0, cluster].nunique())},
        method="difference in means (no adjustment), CR1 SE clustered by " + cluster + ", t(G-1) interval")


def _weighting_effects(d: pd.DataFrame, outcome: str, covariates: list[str], neighbours: int) -> dict[str, Estimate]:
    """AIPW, IPW and matching ATTs with a logit propensity score on ``covariates`` and the year.

    These are robustness checks: when the score cannot be fitted (e.g. perfect separation in a
    small sample) they are left out with a warning that says why.
    """
    from evaltools.estimate import aipw, ipw, match, propensity_score
    from evaltools.estimate.matching_weighting.propensity import CausalInputError

    rhs = _formula(d, covariates)
    ps: Any = None
    try:  # the logit fitted once for the three designs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ps = propensity_score(d, "gp", rhs)
    except (CausalInputError, np.linalg.LinAlgError) as exc:
        ps = exc  # each design is left out with this reason, as when each fitted it
    fits = {"aipw": lambda: aipw(d, outcome, "gp", rhs, cluster="teacher_id", pscore=ps),
            "ipw": lambda: ipw(d, outcome, "gp", rhs, cluster="teacher_id", pscore=ps),
            "match": lambda: match(d, outcome, "gp", rhs, k=neighbours, bias_adjust=True,
                                   cluster="teacher_id", pscore=ps).estimate}
    out = {}
    for name, fit in fits.items():
        try:
            if isinstance(ps, Exception):
                raise ps
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[name] = fit()
        except (CausalInputError, np.linalg.LinAlgError) as exc:
            warnings.warn(f"{name} of {outcome} left out: {exc}", StudyWarning, stacklevel=3)
    return out


def _logit_effects(d: pd.DataFrame, event: str, covariates: list[str], label: str) -> dict[str, Estimate]:
    """The discrete-time logit of ``event`` (period = school year, SEs clustered by teacher):

    ``hazard``: the programme's log odds ratio, with the covariates; ``hazard_naive``: without;
    ``gcomp``: the ATT on the probability scale by regression adjustment (g-computation of the
    ``hazard`` model, :func:`evaltools.estimate.glm.g_computation`), the mean over
    participant-years of ``expit(x'b) - expit(x'b - b_gp)``, delta-method SE from the clustered
    covariance.
    """
    from evaltools.estimate import discrete_time_hazard

    covs = _varying(d, covariates)
    baseline = _baseline(d, event)
    adj = discrete_time_hazard(d, "teacher_id", "year", event, covariates=covs or None,
                               treatment="gp", cluster="teacher_id", baseline=baseline)
    naive = discrete_time_hazard(d, "teacher_id", "year", event, treatment="gp", cluster="teacher_id",
                                 baseline=baseline)
    treated = d[d["gp"] == 1]
    n_t = int(d.loc[d["gp"] == 1, "teacher_id"].nunique())
    gcomp = g_computation(
        adj.params.to_numpy(), adj.cov.to_numpy(), adj.model_matrix(treated, 1.0), adj.model_matrix(treated, 0.0),
        estimand=f"ATT: {label} (regression adjustment)",
        n={"units": n_t, "treated": int(len(treated)), "observations": int(adj.n["rows"]),
           "clusters": int(adj.n["clusters"])},
        method="logit on teacher-years (year dummies, " + ", ".join(covs) + "), g-computation over participant-years, "
               "delta-method SE clustered by teacher",
        options={"covariates": covs})
    return {"hazard": adj.estimate, "hazard_naive": naive.estimate, "gcomp": gcomp,
            "naive": naive_difference(d, event, "gp", "teacher_id", f"naive difference: {label}")}


def _baseline(d: pd.DataFrame, event: str) -> str | int:
    """Year dummies when every year has an event, else a quadratic in the year (a year without any
    event would get a baseline hazard of 0, as with the few alumni of a national extract)."""
    return "dummies" if (d.groupby("year")[event].sum() > 0).all() else 2


def teacher_year_balance(sd: StudyData, pool: Pool = "alumni") -> Any:
    """Balance of the retention sample before and after weighting comparisons by the odds
    ``e/(1-e)`` of the propensity score (the ATT weights of IPW and AIPW)."""
    from evaltools.estimate import balance_table, propensity_score

    d = retention_sample(sd, pool)
    ps = propensity_score(d, "gp", _formula(d, RETENTION_COVARIATES)).scores.to_numpy()
    w = np.where(d["gp"] == 1, 1.0, ps / (1 - ps))
    covs = _varying(d, RETENTION_COVARIATES + ["age", "female", "leader", "urban"])
    return balance_table(d, "gp", covs, weights=pd.Series(w, index=d.index))


def attrition_pct(sd: StudyData, analysed: int) -> float:
    """Participants of the study's cohorts left out of an analysis, in percent of all of them."""
    declared = max(sd.declared_participants, 1)
    return float(100.0 * max(declared - analysed, 0) / declared)


def sample_flow_counts(sd: StudyData, analysed: int) -> dict[str, int]:
    """The participants at each step (counted once, here; the report draws them): ``declared``
    (teachers whose joining year is one of the study's cohorts), ``found`` (with a programme
    year in the teacher records) and ``analysed`` (in the headline analysis: ``analysed``, its
    ``n["units"]``). :func:`attrition_pct` is the share of ``declared`` not ``analysed``."""
    found = len(sd.participants)
    if not sd.declared_participants >= found >= analysed:
        raise StudyInputError(
            f"The participants do not form a flow: {sd.declared_participants} declared, {found} in the teacher "
            f"records, {analysed} analysed; check the teachers' joining years against the teacher-years table.")
    return {"declared": int(sd.declared_participants), "found": int(found), "analysed": int(analysed)}


def retention(sd: StudyData, pool: Pool = "alumni", neighbours: int = 4) -> dict[str, Estimate]:
    """Effects on leaving teaching after the year.

    Alumni pool: ``gcomp`` (the headline: ATT on the annual probability of leaving by
    regression adjustment), ``hazard`` / ``hazard_naive`` (log odds ratio of the annual hazard
    with and without the covariates) and ``naive`` (raw difference) from all alumni
    teacher-years. Both pools: ``aipw``, ``ipw``, ``match`` on :func:`retention_sample` (the
    odds weights of a logit score balance engagement poorly here, because the most engaged
    alumni had all joined: see :func:`teacher_year_balance`). Non-alumni pool: ``gcomp`` and
    ``naive`` against non-alumni teacher-years (alumni status cannot be adjusted for).
    """
    every = teacher_year_sample(sd, pool, programme_years=pool != "alumni").dropna(subset=["left"])
    if pool == "non_alumni":
        every = common_support(every, ["new_teacher", "near_retirement"])
    out = _logit_effects(every, "left", RETENTION_COVARIATES, "annual probability of leaving teaching")
    if pool == "non_alumni":
        out = {k: out[k] for k in ("gcomp", "naive")}
    out.update(_weighting_effects(retention_sample(sd, pool), "left", RETENTION_COVARIATES, neighbours))
    return out


def leadership(sd: StudyData, pool: Pool = "alumni", neighbours: int = 4) -> dict[str, Estimate]:
    """Effects on moving from ``teacher`` into a leadership role the next year (keys as :func:`retention`)."""
    every = promotion_frame(teacher_year_sample(sd, pool, programme_years=pool != "alumni"))
    out = _logit_effects(every, "promoted", PROMOTION_COVARIATES, "annual probability of moving into leadership")
    if pool == "non_alumni":
        out = {k: out[k] for k in ("gcomp", "naive")}
    d = promotion_frame(teacher_year_sample(sd, pool))
    if pool == "alumni":
        d = d[d["chances"] > 0]
    out.update(_weighting_effects(d, "promoted", PROMOTION_COVARIATES, neighbours))
    return out


@dataclass
class PupilResults:
    """Multilevel and DiD estimates of the effect on pupils' test scores (points of 0-100).

    ``model``: the adjusted multilevel fit (random intercept by teacher); ``adjusted`` and
    ``naive`` its and the unadjusted model's programme coefficient; ``ols_naive_se`` the
    adjusted OLS coefficient with independent-errors SEs (what ignoring the clustering
    claims); ``did`` the DiD over participation cohorts on teacher-year mean scores;
    ``icc_teacher`` / ``icc_school`` the share of score variance between teachers / schools;
    ``sd`` the SD of the centred scores; ``n`` counts; ``arms`` the SDs of the centred scores
    of participants' and other pupils (``sd_t``, ``sd_c``).
    """

    model: Any
    adjusted: Estimate
    naive: Estimate
    ols_naive_se: Estimate
    did: Estimate | None
    icc_teacher: Estimate
    icc_school: Estimate
    sd: float
    n: dict[str, int] = field(default_factory=dict)
    arms: dict[str, float] = field(default_factory=dict)

    @property
    def design_effect(self) -> float:
        """(SE of the multilevel estimate / SE assuming independent pupils)^2."""
        return (self.adjusted.se / self.ols_naive_se.se) ** 2

    def effect_size(self) -> Any:
        """Hedges' g of the adjusted effect (WWC: adjusted difference over the unadjusted pooled SD,
        with the teacher ICC and the number of teachers for the cluster correction)."""
        from evaltools.standards import hedges_g

        return hedges_g(sd_t=self.arms["sd_t"], sd_c=self.arms["sd_c"], n_t=self.n["n_t"], n_c=self.n["n_c"],
                        adjusted_diff=self.adjusted.estimate, se_diff=self.adjusted.se,
                        icc=self.icc_teacher.estimate, n_clusters=self.n["teachers"])


def within_cell(d: pd.DataFrame, cols: list[str], cell: str = "cell") -> pd.DataFrame:
    """``d`` with ``cols`` replaced by their deviations from the mean of their ``cell``
    (test, subject and year): ``x - mean_cell(x)``.

    The score is centred on its cell (``score_c``); the regressors must be centred on the same
    cells, so that the model equals one with a fixed effect per cell (Frisch-Waugh-Lovell,
    e.g. Wooldridge 2010, 10.5). Centring the score alone subtracts from every score the programme
    effect times its cell's share of participants' pupils and the engagement term of its cell's
    mean, which rise with the year: the programme's coefficient then shrank by about a tenth
    (0.27 points of 3 on the synthetic sample).
    """
    out = d.copy()
    by = d.groupby(cell, sort=False)
    for c in cols:
        out[c] = d[c].astype(float) - by[c].transform("mean").astype(float)
    return out


def pupil_results(sd: StudyData) -> PupilResults:
    """Fit the pupil-results models (see :class:`PupilResults`): a random intercept by teacher,
    the score and every regressor centred on their test-subject-year cell (:func:`within_cell`,
    i.e. cell fixed effects)."""
    import statsmodels.api as sm

    from evaltools.estimate import multilevel

    d = sd.scores
    if d.empty or d["gp"].sum() == 0:
        raise StudyInputError("No pupil has a test result linked to a participating teacher.")
    covs = _varying(d, ["engagement", "alumnus"])
    # the models' columns only (same rows, same order), every regressor centred on its cell like the score
    m = within_cell(d, ["gp", *covs])[["score_c", "gp", *covs, "teacher_id", "school_id"]]
    model = multilevel(m, "score_c ~ " + " + ".join(["gp", *covs]), "teacher_id")
    naive = multilevel(m, "score_c ~ gp", "teacher_id")
    school = multilevel(m, "score_c ~ 1", "school_id")
    n = {"units": int(d.loc[d["gp"] == 1, "teacher_id"].nunique()),
         "scores": int(len(d)), "teachers": int(d["teacher_id"].nunique()),
         "pupils_of_participants": int(d.loc[d["gp"] == 1, "pupil_id"].nunique()),
         "n_t": int((d["gp"] == 1).sum()), "n_c": int((d["gp"] == 0).sum())}
    arms = {"sd_t": float(d.loc[d["gp"] == 1, "score_c"].std()), "sd_c": float(d.loc[d["gp"] == 0, "score_c"].std())}
    X = sm.add_constant(m[["gp", *covs]].to_numpy(float))
    ols = sm.OLS(d["score_c"].to_numpy(float), X).fit()
    ols_est = Estimate.from_normal("coefficient on gp (OLS, independent errors)", float(ols.params[1]),
                                   float(ols.bse[1]), n={"observations": int(len(d))},
                                   method="OLS assuming independent pupils (ignores clustering in teachers)")
    return PupilResults(
        model=model,
        adjusted=replace(model.coefficient("gp"), estimand="effect on pupils' scores (multilevel, adjusted)",
                         n={**model.coefficient("gp").n, "units": n["units"]}),
        naive=replace(naive.coefficient("gp"), estimand="effect on pupils' scores (multilevel, naive)",
                      n={**naive.coefficient("gp").n, "units": n["units"]}),
        ols_naive_se=ols_est,
        did=_score_did(d),
        icc_teacher=model.icc,
        icc_school=school.icc,
        sd=float(d["score_c"].std()),
        n=n,
        arms=arms,
    )


def _cohort_did(panel: pd.DataFrame, outcome: str, unit: str, estimand: str,
                units: int) -> tuple[Estimate | None, Any]:
    """The simple ATT of a Callaway-Sant'Anna DiD over ``panel``'s cohorts (not-yet-treated
    comparisons), relabelled, with its ``units``; (None, None) when it cannot be estimated."""
    from evaltools.estimate import att_gt

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = att_gt(panel, outcome, unit, "year", "cohort", control_group="notyet")
            e = res.aggregate("simple").overall
    except (ValueError, np.linalg.LinAlgError):
        return None, None
    return replace(e, estimand=estimand, n={**e.n, "units": units}), res


def _score_did(d: pd.DataFrame) -> Estimate | None:
    """Callaway-Sant'Anna ATT on alumni teacher-year mean scores (never or not-yet participants as controls)."""
    al = d[d["alumnus"] == 1]
    panel = (al.groupby(["teacher_id", "year"], as_index=False)
             .agg(score_c=("score_c", "mean"), cohort=("cohort", "first")))
    panel["cohort"] = panel["cohort"].fillna(0).astype(int)
    return _cohort_did(panel, "score_c", "teacher_id", "effect on pupils' scores (DiD over participation cohorts)",
                       int(panel.loc[panel["cohort"] > 0, "teacher_id"].nunique()))[0]


@dataclass
class CollaborationResults:
    """Spill-over to colleagues and participants' own practice, in survey points (0-100).

    ``twfe``: two-way FE on colleagues' answers; ``naive``: raw difference; ``cs``: the
    Callaway-Sant'Anna ATT over school cohorts (``cs_result`` the full result, None if it
    could not be estimated); ``own``: participants' own collaboration, DiD over
    participation cohorts.
    """

    twfe: Estimate
    naive: Estimate
    cs: Estimate | None
    cs_result: Any
    own: Estimate | None
    n: dict[str, int] = field(default_factory=dict)

    def event_study(self, min_units: int = 10) -> pd.DataFrame:
        """ATT by years since the school's first participant joined, with the number of treated
        schools behind each event time (``units``); event times with fewer than ``min_units``
        treated schools are left out (too few to show, and their SEs are unreliable)."""
        if self.cs_result is None:
            return pd.DataFrame(columns=["event_time", "estimate", "se", "ci_low", "ci_high", "units"])
        cells = self.cs_result.to_frame()
        units = cells.groupby("event_time")["n_treated"].sum()  # one cell per cohort and event time
        dyn = self.cs_result.aggregate("dynamic").table.copy()
        dyn["units"] = dyn["event_time"].map(units).fillna(0).astype(int)
        return dyn[dyn["units"] >= min_units].reset_index(drop=True)

    def pretrend(self, min_units: int = 10) -> dict[str, float] | None:
        """Wald test that the pre-period event-time ATTs shown (``event_study(min_units)``) are all zero."""
        if self.cs_result is None:
            return None
        es = self.event_study(min_units)
        pre = es.loc[es["event_time"] < 0, "event_time"].tolist()
        if not pre:
            return None
        agg = self.cs_result.aggregate("dynamic")
        b = agg.table.set_index("event_time").loc[pre, "estimate"].to_numpy()
        V = agg.vcov.loc[pre, pre].to_numpy()
        chi2 = float(b @ np.linalg.solve(V, b))
        return {"chi2": chi2, "df": len(pre), "pvalue": float(stats.chi2.sf(chi2, len(pre)))}


def collaboration(sd: StudyData) -> CollaborationResults:
    """Estimate the collaboration effects (see :class:`CollaborationResults`)."""
    from evaltools.estimate import twfe

    p = sd.practices
    col = p[p["gp"] == 0]
    if col["colleague"].sum() == 0:
        raise StudyInputError("No colleague of a participant answered the practice survey.")
    n_treated = int(col.loc[col["colleague"] == 1, "school_id"].nunique())
    fe = twfe(col, "collaboration", "colleague", "school_id", "year", cluster="school_id").estimate
    fe = replace(fe, estimand="spill-over on colleagues' collaboration (two-way FE)",
                 n={**fe.n, "units": n_treated})
    naive = naive_difference(col, "collaboration", "colleague", "school_id",
                             "naive difference: colleagues' collaboration")
    naive = replace(naive, n={**naive.n, "units": n_treated})
    school_years = (col.groupby(["school_id", "year"], as_index=False)
                    .agg(collaboration=("collaboration", "mean"), cohort=("school_cohort", "first")))
    cs, res = _cohort_did(school_years, "collaboration", "school_id",
                          "spill-over on colleagues' collaboration (DiD over school cohorts)", n_treated)
    mine = p[p["alumnus"] == 1].assign(cohort=lambda x: x["cohort"].fillna(0).astype(int))
    own, _ = _cohort_did(mine, "collaboration", "teacher_id",
                         "participants' own collaboration (DiD over participation cohorts)",
                         int(mine.loc[mine["cohort"] > 0, "teacher_id"].nunique()))
    return CollaborationResults(twfe=fe, naive=naive, cs=cs, cs_result=res, own=own,
                                n={"schools_with_participant": n_treated,
                                   "colleague_answers": int(col["colleague"].sum()),
                                   "schools": int(col["school_id"].nunique())})
