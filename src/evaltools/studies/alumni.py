"""The Iespējamā misija alumni growth programme study (``notebooks/alumni_programme.ipynb``).

One job: turn a data set into the study's frames and numbers with the package's
estimators, so that the notebook only tells the story. The questions and designs:

* **Staying in teaching.** A discrete-time logit of leaving after the year on alumni
  teacher-years (participation, engagement, service, age, year): its log odds ratio is the
  structural effect, and the ATT on the annual probability by regression adjustment
  (g-computation) is the headline. AIPW, IPW and matching on the same teacher-years are
  robustness checks. Survival curves follow each participation cohort from the year it
  joined against matched alumni who had not joined at that time.
* **Moving into leadership** (teacher -> subject lead or deputy head the next year):
  the same designs on teacher-years at risk of promotion.
* **Pupils' results**: a multilevel model (random intercept by teacher, the level of the
  treatment) of diagnostic-test and exam scores centred on their test-subject-year mean,
  plus a DiD over participation cohorts on teacher-year mean scores.
* **Collaboration spreading to colleagues**: two-way fixed effects (school, year) on
  colleagues who are not in the programme, and a Callaway-Sant'Anna DiD over the cohorts
  of schools by the year their first participant joined; participants' own practice by a
  DiD over participation cohorts.

Every function takes the :class:`StudyData` of :func:`build` and returns
:class:`~evaltools.estimate.result.Estimate` objects (or small result classes holding
them), with English estimand names; the notebook labels them through the message catalogue.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.estimate.result import Estimate

__all__ = [
    "TEST_TYPES", "LEADERSHIP_ROLES", "StudyData", "build", "teacher_year_sample", "promotion_frame",
    "retention", "leadership", "PupilResults", "pupil_results", "CollaborationResults", "collaboration",
    "MatchedCohort", "matched_cohort", "subgroups", "truth_check", "Costs", "costs",
    "standardised_mdes", "FAVOURABLE", "retention_sample", "teacher_year_balance", "attrition_pct",
    "common_support", "naive_difference", "StudyInputError", "StudyWarning", "SUBGROUPS", "TRUTH_MAP",
    "baseline_differences", "summary_frame", "plot_survival", "plot_naive_vs_adjusted",
    "RETENTION_COVARIATES", "PROMOTION_COVARIATES", "COHORT_COVARIATES",
]

TEST_TYPES = ("diag6", "ce9", "ce12")
"""Assessments that name the subject teacher (grade 3 diagnostics are taken with the class teacher)."""
LEADERSHIP_ROLES = ("subject_lead", "deputy_head")
"""Roles a teacher can move into; heads are appointed to a post, not promoted from it."""
Pool = Literal["alumni", "non_alumni"]

FAVOURABLE = {"retention": -1, "leadership": 1, "pupil_results": 1, "collaboration": 1}
"""The favourable direction of each outcome (+1: higher is better; -1: lower is better)."""


class StudyInputError(ValueError):
    """The data or options cannot be used for the alumni study."""


class StudyWarning(UserWarning):
    """A robustness check of the alumni study could not be computed on these data."""


# ---------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------


@dataclass
class StudyData:
    """The study's frames (see :func:`build`).

    ``teacher_years``: one row per teacher and school year with the study columns;
    ``scores``: pupils' test results linked to their subject teacher;
    ``practices``: practice-survey answers with the school-year exposure;
    ``cohorts``: the participation cohorts (joining years) in the study;
    ``truth``: the synthetic data's ``true_effects.json`` (None for a real extract).
    """

    teacher_years: pd.DataFrame
    scores: pd.DataFrame
    practices: pd.DataFrame
    cohorts: tuple[int, ...]
    programme_start: int
    truth: dict[str, Any] | None = None
    dropped_cohorts: tuple[int, ...] = ()
    declared_participants: int = 0

    @property
    def participants(self) -> pd.Index:
        """Ids of the participating teachers in the study's cohorts."""
        ty = self.teacher_years
        return pd.Index(ty.loc[ty["cohort"].notna(), "teacher_id"].unique())

    def counts(self) -> dict[str, int]:
        """Participants, participant-years, alumni, teachers, schools with a participant, pupils with a result."""
        ty, sc = self.teacher_years, self.scores
        return {
            "participants": len(self.participants),
            "participant_years": int(ty["gp"].sum()),
            "alumni": int(ty.loc[ty["alumnus"] == 1, "teacher_id"].nunique()),
            "teachers": int(ty["teacher_id"].nunique()),
            "schools_with_participant": int(ty.loc[ty["gp"] == 1, "school_id"].nunique()),
            "pupils_of_participants": int(sc.loc[sc["gp"] == 1, "pupil_id"].nunique()),
        }


def build(ds: Any, first_cohort: int | None = None, last_cohort: int | None = None) -> StudyData:
    """The study's frames from a :class:`~evaltools.data.io.Dataset`.

    Participation cohorts outside ``[first_cohort, last_cohort]`` are left out entirely
    (their teachers are neither participants nor clean comparisons), and so are the
    practice answers from schools where such a teacher ever took part.
    """
    for table in ("teachers", "teacher_years", "teacher_practices", "assessments", "schools"):
        if table not in ds.tables:
            raise StudyInputError(f"The alumni study needs the table '{table}', which the data set does not have.")
    teachers = ds["teachers"]
    if "engagement" not in teachers or teachers["engagement"].isna().all():
        raise StudyInputError(
            "teachers.engagement (the baseline engagement survey) is empty: the study's selection model "
            "needs it, because engagement drives both joining the programme and the outcomes."
        )
    joined = teachers["growth_programme_start"].dropna().astype(int)
    if joined.empty:
        raise StudyInputError("No teacher has a growth_programme_start: there are no participants to study.")
    available = sorted(int(c) for c in joined.unique())
    lo = available[0] if first_cohort is None else int(first_cohort)
    hi = available[-1] if last_cohort is None else int(last_cohort)
    cohorts = tuple(c for c in available if lo <= c <= hi)
    if not cohorts:
        raise StudyInputError(
            f"No participation cohort between {lo} and {hi}; the data have cohorts {', '.join(map(str, available))}."
        )
    dropped = tuple(c for c in available if c not in cohorts)
    excluded = set(teachers.loc[teachers["growth_programme_start"].isin(dropped), "teacher_id"])

    t = teachers[~teachers["teacher_id"].isin(excluded)]
    schools = ds["schools"].set_index("school_id")
    ty = ds["teacher_years"]
    ty = ty[~ty["teacher_id"].isin(excluded)]
    ty = ty.drop(columns=[c for c in ("im_alumnus", "im_cohort", "growth_programme_start") if c in ty])
    ty = ty.merge(t[["teacher_id", "sex", "birth_year", "engagement", "im_alumnus", "growth_programme_start"]],
                  on="teacher_id", how="left", validate="many_to_one")
    ty = ty.dropna(subset=["engagement"])
    age = ty["year"] - ty["birth_year"]
    stayed = ty["stayed"].astype("boolean")
    frame = pd.DataFrame({
        "teacher_id": ty["teacher_id"].to_numpy(),
        "year": ty["year"].to_numpy(),
        "school_id": ty["school_id"].to_numpy(),
        "role": ty["role"].to_numpy(),
        "subject": ty["subject"].to_numpy(),
        "years_of_service": ty["years_of_service"].to_numpy(float),
        "engagement": ty["engagement"].to_numpy(float),
        "age": age.to_numpy(float),
        "female": (ty["sex"] == "F").to_numpy(int),
        "alumnus": ty["im_alumnus"].astype(bool).to_numpy(int),
        "cohort": ty["growth_programme_start"].astype("Float64").to_numpy(float, na_value=np.nan),
        "gp": ty["in_growth_programme"].astype(bool).to_numpy(int),
        "left": np.where(stayed.isna(), np.nan, (~stayed.fillna(True)).astype(float)),
    })
    frame["new_teacher"] = (frame["years_of_service"] < 3).astype(int)
    frame["near_retirement"] = (frame["age"] >= 63).astype(int)
    frame["leader"] = (frame["role"] != "teacher").astype(int)
    frame["urban"] = frame["school_id"].map(schools["urban"]).astype(bool).astype(int)
    frame["school_type"] = frame["school_id"].map(schools["type"])
    frame = frame.sort_values(["teacher_id", "year"], kind="stable").reset_index(drop=True)
    # joining years (of the study's cohorts) the teacher has taught in so far: no chance, no choice
    in_window = frame["year"].isin(cohorts).astype(int)
    frame["chances"] = in_window.groupby(frame["teacher_id"]).cumsum()

    scores = _scores(ds["assessments"], frame)
    practices = _practices(ds["teacher_practices"], frame, ds["teacher_years"], excluded)
    truth = getattr(ds, "truth", None)
    declared = int(teachers["growth_programme_start"].isin(cohorts).sum())
    return StudyData(teacher_years=frame, scores=scores, practices=practices, cohorts=cohorts,
                     programme_start=int(cohorts[0]), truth=truth, dropped_cohorts=dropped,
                     declared_participants=declared)


def _scores(assessments: pd.DataFrame, ty: pd.DataFrame) -> pd.DataFrame:
    """Linked test scores, centred on the mean of their test, subject and year (over all linked scores)."""
    a = assessments[assessments["test"].isin(TEST_TYPES) & assessments["teacher_id"].notna()]
    a = a[["pupil_id", "year", "test", "subject", "score", "teacher_id"]]
    keep = ["teacher_id", "year", "school_id", "gp", "engagement", "alumnus", "cohort", "role", "leader",
            "school_type", "urban"]
    d = a.merge(ty[keep], on=["teacher_id", "year"], how="inner", validate="many_to_one")
    d = d.rename(columns={"subject": "test_subject"})
    cell = d["test"].astype(str) + "_" + d["test_subject"].astype(str) + "_" + d["year"].astype(str)
    d["cell"] = cell.to_numpy()
    d["score_c"] = d["score"] - d.groupby("cell")["score"].transform("mean")
    return d.reset_index(drop=True)


def _practices(practices: pd.DataFrame, ty: pd.DataFrame, raw_ty: pd.DataFrame, excluded: set) -> pd.DataFrame:
    """Survey answers with ``colleague`` = 1 when another teacher of the school takes part that year."""
    tainted = set(raw_ty.loc[raw_ty["teacher_id"].isin(excluded), "school_id"])
    active = ty.groupby(["school_id", "year"])["gp"].max().rename("school_active")
    d = practices.merge(ty[["teacher_id", "year", "gp", "alumnus", "cohort", "engagement"]],
                        on=["teacher_id", "year"], how="inner", validate="one_to_one")
    d = d[~d["school_id"].isin(tainted)]
    d = d.join(active, on=["school_id", "year"])
    d["colleague"] = ((d["school_active"] == 1) & (d["gp"] == 0)).astype(int)
    first = ty[ty["gp"] == 1].groupby("school_id")["year"].min()
    d["school_cohort"] = d["school_id"].map(first).fillna(0).astype(int)
    return d.drop(columns="school_active").reset_index(drop=True)


def teacher_year_sample(sd: StudyData, pool: Pool = "alumni", *, programme_years: bool = True) -> pd.DataFrame:
    """Participant teacher-years with the comparison teacher-years of ``pool``.

    ``pool="alumni"``: alumni outside the programme that year (never or not yet joined);
    ``"non_alumni"``: teachers who are not alumni. ``programme_years`` keeps the years from
    the programme's start (before it nobody can be a participant).
    """
    ty = sd.teacher_years
    if pool == "alumni":
        d = ty[ty["alumnus"] == 1]
    elif pool == "non_alumni":
        d = ty[(ty["gp"] == 1) | (ty["alumnus"] == 0)]
    else:
        raise StudyInputError(f"pool must be 'alumni' or 'non_alumni', got {pool!r}.")
    if programme_years:
        d = d[d["year"] >= sd.programme_start]
    return d.reset_index(drop=True)


def promotion_frame(ty: pd.DataFrame) -> pd.DataFrame:
    """Teacher-years at risk of promotion: role ``teacher``, still teaching next year and observed then.

    ``promoted`` = 1 when next year's role is a leadership role (:data:`LEADERSHIP_ROLES`).
    """
    nxt = ty[["teacher_id", "year", "role"]].assign(year=ty["year"] - 1).rename(columns={"role": "next_role"})
    d = ty[(ty["role"] == "teacher") & (ty["left"] == 0)].merge(nxt, on=["teacher_id", "year"], how="inner")
    d["promoted"] = d["next_role"].isin(LEADERSHIP_ROLES).astype(int)
    return d.drop(columns="next_role")


# ---------------------------------------------------------------------------------------
# Teacher-year outcomes: staying in teaching and moving into leadership
# ---------------------------------------------------------------------------------------


def _varying(d: pd.DataFrame, cols: list[str]) -> list[str]:
    return [c for c in cols if d[c].nunique() > 1]


def common_support(d: pd.DataFrame, binary: list[str], treatment: str = "gp") -> pd.DataFrame:
    """Drop comparison rows whose 0/1 covariate takes a value no treated row has.

    E.g. no participant is within two years of retirement, so teachers aged 63 or over
    cannot be compared with them (and would make the propensity model separate perfectly).
    """
    keep = np.ones(len(d), bool)
    for c in binary:
        seen = set(d.loc[d[treatment] == 1, c].unique())
        keep &= d[c].isin(seen).to_numpy()
    return d[keep].reset_index(drop=True)


def _formula(d: pd.DataFrame, cols: list[str], by_year: bool = True) -> str:
    terms = _varying(d, cols) + (["C(year)"] if by_year and d["year"].nunique() > 1 else [])
    return " + ".join(terms) if terms else "1"


def naive_difference(d: pd.DataFrame, outcome: str, treatment: str, cluster: str, label: str) -> Estimate:
    """Raw difference in means between the arms, with a cluster-robust SE (the naive comparison)."""
    import statsmodels.api as sm

    y = d[outcome].to_numpy(float)
    X = sm.add_constant(d[treatment].to_numpy(float))
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(d[cluster])[0]})
    g = int(d[cluster].nunique())
    return Estimate.from_normal(
        label, float(fit.params[1]), float(fit.bse[1]),
        n={"treated": int(d.loc[d[treatment] == 1, cluster].nunique()),
           "comparison": int(d.loc[d[treatment] == 0, cluster].nunique()), "clusters": g},
        method="difference in means (no adjustment), SE clustered by " + cluster)


def _weighting_effects(d: pd.DataFrame, outcome: str, covariates: list[str], neighbours: int) -> dict[str, Estimate]:
    """AIPW, IPW and matching ATTs with a logit propensity score on ``covariates`` and the year.

    These are robustness checks: when the score cannot be fitted (e.g. perfect separation in a
    small sample) they are left out with a warning that says why.
    """
    from evaltools.estimate import aipw, ipw, match
    from evaltools.estimate.propensity import CausalInputError

    rhs = _formula(d, covariates)
    fits = {"aipw": lambda: aipw(d, outcome, "gp", rhs, cluster="teacher_id"),
            "ipw": lambda: ipw(d, outcome, "gp", rhs, cluster="teacher_id"),
            "match": lambda: match(d, outcome, "gp", rhs, k=neighbours, bias_adjust=True,
                                   cluster="teacher_id").estimate}
    out = {}
    for name, fit in fits.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[name] = fit()
        except (CausalInputError, np.linalg.LinAlgError) as exc:
            warnings.warn(f"{name} of {outcome} left out: {exc}", StudyWarning, stacklevel=3)
    return out


def _logit_effects(d: pd.DataFrame, event: str, covariates: list[str], label: str) -> dict[str, Estimate]:
    """The discrete-time logit of ``event`` (period = school year, SEs clustered by teacher):

    ``hazard``: the programme's log odds ratio, with the covariates; ``hazard_naive``: without;
    ``gcomp``: the ATT on the probability scale by regression adjustment (g-computation), the mean
    over participant-years of ``expit(x'b) - expit(x'b - b_gp)``, delta-method SE from the
    clustered covariance.
    """
    import statsmodels.api as sm

    from evaltools.estimate import discrete_time_hazard

    covs = _varying(d, covariates)
    baseline = _baseline(d, event)
    adj = discrete_time_hazard(d, event, "year", "teacher_id", covariates=covs or None,
                               treatment="gp", cluster="teacher_id", baseline=baseline)
    naive = discrete_time_hazard(d, event, "year", "teacher_id", treatment="gp", cluster="teacher_id",
                                 baseline=baseline)
    if baseline == "dummies":
        years = pd.get_dummies(d["year"], prefix="y", drop_first=True, dtype=float)
    else:
        z = (d["year"] - d["year"].mean()) / max(d["year"].std(), 1.0)
        years = pd.DataFrame({"y1": z, "y2": z**2}, index=d.index)
    X = pd.concat([pd.Series(1.0, index=d.index, name="const"), d[["gp", *covs]].astype(float), years], axis=1)
    groups = pd.factorize(d["teacher_id"])[0]
    fit = sm.Logit(d[event].to_numpy(float), X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": groups})
    b, V = fit.params.to_numpy(), fit.cov_params().to_numpy()
    X1 = X[d["gp"].to_numpy() == 1].to_numpy()
    X0 = X1.copy()
    X0[:, 1] = 0.0
    p1, p0 = 1 / (1 + np.exp(-X1 @ b)), 1 / (1 + np.exp(-X0 @ b))
    att = float(np.mean(p1 - p0))
    grad = ((p1 * (1 - p1))[:, None] * X1 - (p0 * (1 - p0))[:, None] * X0).mean(axis=0)
    n_t = int(d.loc[d["gp"] == 1, "teacher_id"].nunique())
    gcomp = Estimate.from_normal(
        f"ATT: {label} (regression adjustment)", att, float(np.sqrt(grad @ V @ grad)),
        n={"units": n_t, "treated": int(len(X1)), "observations": int(len(d)), "clusters": int(groups.max() + 1)},
        method="logit on teacher-years (year dummies, " + ", ".join(covs) + "), g-computation over participant-years, "
               "delta-method SE clustered by teacher",
        options={"covariates": covs})
    return {"hazard": adj.estimate, "hazard_naive": naive.estimate, "gcomp": gcomp,
            "naive": naive_difference(d, event, "gp", "teacher_id", f"naive difference: {label}")}


def _baseline(d: pd.DataFrame, event: str) -> str | int:
    """Year dummies when every year has an event, else a quadratic in the year (a year without any
    event would get a baseline hazard of 0, as with the few alumni of a national extract)."""
    return "dummies" if (d.groupby("year")[event].sum() > 0).all() else 2


RETENTION_COVARIATES = ["engagement", "years_of_service", "new_teacher", "near_retirement"]
PROMOTION_COVARIATES = ["engagement", "years_of_service"]


def retention_sample(sd: StudyData, pool: Pool = "alumni") -> pd.DataFrame:
    """Teacher-years for the weighting and matching ATTs: outcome known, from the programme's start;
    for the alumni pool only those who had been teaching in a joining year (else they could not
    have joined), and comparisons on the participants' support of the 0/1 covariates."""
    d = teacher_year_sample(sd, pool).dropna(subset=["left"])
    if pool == "alumni":
        d = d[d["chances"] > 0]
    return common_support(d, ["new_teacher", "near_retirement"])


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


# ---------------------------------------------------------------------------------------
# Pupils' results
# ---------------------------------------------------------------------------------------


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


def pupil_results(sd: StudyData) -> PupilResults:
    """Fit the pupil-results models (see :class:`PupilResults`)."""
    import statsmodels.api as sm

    from evaltools.estimate import multilevel

    d = sd.scores
    if d.empty or d["gp"].sum() == 0:
        raise StudyInputError("No pupil has a test result linked to a participating teacher.")
    covs = _varying(d, ["engagement", "alumnus"])
    model = multilevel(d, "score_c ~ " + " + ".join(["gp", *covs]), "teacher_id")
    naive = multilevel(d, "score_c ~ gp", "teacher_id")
    school = multilevel(d, "score_c ~ 1", "school_id")
    n = {"units": int(d.loc[d["gp"] == 1, "teacher_id"].nunique()),
         "scores": int(len(d)), "teachers": int(d["teacher_id"].nunique()),
         "pupils_of_participants": int(d.loc[d["gp"] == 1, "pupil_id"].nunique()),
         "n_t": int((d["gp"] == 1).sum()), "n_c": int((d["gp"] == 0).sum())}
    arms = {"sd_t": float(d.loc[d["gp"] == 1, "score_c"].std()), "sd_c": float(d.loc[d["gp"] == 0, "score_c"].std())}
    X = sm.add_constant(d[["gp", *covs]].to_numpy(float))
    ols = sm.OLS(d["score_c"].to_numpy(float), X).fit()
    ols_est = Estimate.from_normal("coefficient on gp (OLS, independent errors)", float(ols.params[1]),
                                   float(ols.bse[1]), n={"observations": int(len(d))},
                                   method="OLS assuming independent pupils (ignores clustering in teachers)")
    return PupilResults(
        model=model,
        adjusted=replace(model.estimate("gp"), estimand="effect on pupils' scores (multilevel, adjusted)",
                         n={**model.estimate("gp").n, "units": n["units"]}),
        naive=replace(naive.estimate("gp"), estimand="effect on pupils' scores (multilevel, naive)",
                      n={**naive.estimate("gp").n, "units": n["units"]}),
        ols_naive_se=ols_est,
        did=_score_did(d),
        icc_teacher=model.icc,
        icc_school=school.icc,
        sd=float(d["score_c"].std()),
        n=n,
        arms=arms,
    )


def _score_did(d: pd.DataFrame) -> Estimate | None:
    """Callaway-Sant'Anna ATT on alumni teacher-year mean scores (never or not-yet participants as controls)."""
    from evaltools.estimate import att_gt

    al = d[d["alumnus"] == 1]
    panel = (al.groupby(["teacher_id", "year"], as_index=False)
             .agg(score_c=("score_c", "mean"), cohort=("cohort", "first")))
    panel["cohort"] = panel["cohort"].fillna(0).astype(int)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = att_gt(panel, "score_c", "teacher_id", "year", "cohort", control_group="notyet")
            agg = res.aggregate("simple")
    except (ValueError, np.linalg.LinAlgError):
        return None
    e = agg.overall
    return replace(e, estimand="effect on pupils' scores (DiD over participation cohorts)",
                   n={**e.n, "units": int(panel.loc[panel["cohort"] > 0, "teacher_id"].nunique())})


# ---------------------------------------------------------------------------------------
# Collaboration
# ---------------------------------------------------------------------------------------


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
    from evaltools.estimate import att_gt, twfe

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
    cs = res = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = att_gt(school_years, "collaboration", "school_id", "year", "cohort", control_group="notyet")
            cs = res.aggregate("simple").overall
        cs = replace(cs, estimand="spill-over on colleagues' collaboration (DiD over school cohorts)",
                     n={**cs.n, "units": n_treated})
    except (ValueError, np.linalg.LinAlgError):
        cs = res = None
    own = None
    mine = p[p["alumnus"] == 1].assign(cohort=lambda x: x["cohort"].fillna(0).astype(int))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            o = att_gt(mine, "collaboration", "teacher_id", "year", "cohort", control_group="notyet")
            own = o.aggregate("simple").overall
        own = replace(own, estimand="participants' own collaboration (DiD over participation cohorts)",
                      n={**own.n, "units": int(mine.loc[mine["cohort"] > 0, "teacher_id"].nunique())})
    except (ValueError, np.linalg.LinAlgError):
        pass
    return CollaborationResults(twfe=fe, naive=naive, cs=cs, cs_result=res, own=own,
                                n={"schools_with_participant": n_treated,
                                   "colleague_answers": int(col["colleague"].sum()),
                                   "schools": int(col["school_id"].nunique())})


# ---------------------------------------------------------------------------------------
# The matched participation cohorts: balance, overlap and survival curves
# ---------------------------------------------------------------------------------------

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
    :class:`~evaltools.estimate.matching.MatchResult`; its ``weights`` weight the comparison
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
        """Balance before and after matching (:func:`evaltools.estimate.balance_table`)."""
        from evaltools.estimate import balance_table

        return balance_table(self.frame, "treated", self.covariates, weights=self.weights)

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


# ---------------------------------------------------------------------------------------
# Heterogeneity
# ---------------------------------------------------------------------------------------

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
        d = sd.scores.assign(group=lambda x: SUBGROUPS[by](x))
    elif outcome == "retention":
        d = teacher_year_sample(sd, "alumni", programme_years=False).dropna(subset=["left"])
        d = d.assign(group=SUBGROUPS[by](d))
    else:
        raise StudyInputError(f"outcome must be 'pupil_results' or 'retention', got {outcome!r}.")
    sizes = d[d["gp"] == 1].groupby("group")["teacher_id"].nunique()
    keep = sorted(sizes[sizes >= min_participants].index)
    if not keep:
        return {}, None
    d = d[d["group"].isin(keep)].reset_index(drop=True)
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
        method = fit.estimate(cols[0]).method
        ests = {g: Estimate.from_normal(f"effect on pupils' scores [{by} = {g}]", float(beta[c]),
                                        float(np.sqrt(cov.loc[c, c])), n={"units": int(sizes[g])}, method=method)
                for g, c in zip(keep, cols)}
        return ests, _equal_test(beta[cols].to_numpy(), cov.loc[cols, cols].to_numpy())
    from evaltools.estimate import discrete_time_hazard

    inter = [names[g] for g in keep[1:]]
    covs = _varying(d, RETENTION_COVARIATES) + inter
    res = discrete_time_hazard(d, "left", "year", "teacher_id", covariates=covs, treatment="gp",
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


# ---------------------------------------------------------------------------------------
# The truth check (synthetic data only)
# ---------------------------------------------------------------------------------------


TRUTH_MAP = {
    # stored effect: (outcome, which value of the sidecar, estimate key, naive key)
    "retention log OR": ("retention", ("growth_programme_retention", None), "hazard", "hazard_naive"),
    "retention ATT": ("retention", ("growth_programme_retention", "att_probability"), "gcomp", "naive"),
    "leadership log OR": ("leadership", ("growth_programme_leadership", None), "hazard", "hazard_naive"),
    "leadership ATT": ("leadership", ("growth_programme_leadership", "att_probability"), "gcomp", "naive"),
    "pupil results": ("pupil_results", ("growth_programme_pupil_results", None), "adjusted", "naive"),
    "collaboration spill-over": ("collaboration", ("growth_programme_collaboration_spillover", None), "twfe", "naive"),
}
"""Which estimate of the study is compared with which stored true effect."""


def truth_check(truth: dict[str, Any] | None, estimates: dict[str, dict[str, Estimate]]) -> pd.DataFrame:
    """Estimates against the stored true effects.

    ``estimates`` maps an outcome (``retention``, ``leadership``, ``pupil_results``,
    ``collaboration``) to its dict of Estimates. Columns: truth, estimate, ci_low, ci_high,
    covered (truth inside the CI), naive, naive_favourable (the naive comparison makes the
    programme look better than the truth does: motivated teachers select in).
    """
    if not truth:
        return pd.DataFrame(columns=["truth", "estimate", "ci_low", "ci_high", "covered", "naive", "naive_favourable"])
    effects = {e["name"]: e for e in truth.get("effects", [])}
    rows = {}
    for label, (outcome, (name, realised), key, naive_key) in TRUTH_MAP.items():
        if name not in effects or outcome not in estimates or key not in estimates[outcome]:
            continue
        eff = effects[name]
        value = eff["true_value"] if realised is None else (eff.get("realised") or {}).get(realised)
        if value is None:
            continue
        e, n = estimates[outcome][key], estimates[outcome].get(naive_key)
        sign = FAVOURABLE[outcome]
        rows[label] = {"truth": float(value), "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                       "covered": bool(e.ci_low <= value <= e.ci_high),
                       "naive": None if n is None else n.estimate,
                       "naive_favourable": None if n is None else bool(sign * (n.estimate - value) > 0)}
    return pd.DataFrame.from_dict(rows, orient="index")


# ---------------------------------------------------------------------------------------
# Standards: MDES, cost
# ---------------------------------------------------------------------------------------


def standardised_mdes(effect: Estimate, outcome_sd: float, power: float = 0.8) -> float:
    """Minimum detectable effect in SD units of the outcome: (z_(1-a/2) + z_power) x SE / SD."""
    if not outcome_sd > 0:
        raise StudyInputError("The outcome's SD must be positive to standardise the MDES.")
    m = stats.norm.ppf(0.5 + effect.level / 2) + stats.norm.ppf(power)
    return float(m * effect.se / outcome_sd)


@dataclass
class Costs:
    """Programme cost: total, per participant (:func:`evaltools.inference.cost_per_pupil` with
    participants as the unit) and per leaving avoided (:func:`evaltools.inference.cost_per_outcome`)."""

    total: float
    per_participant: Any
    per_leaving_avoided: Any
    participant_years: int
    participants: int


def costs(sd: StudyData, cost_per_participant_year: float, retention_att: Estimate) -> Costs:
    """Costs from an assumed cost per participant and school year and the retention ATT.

    The ATT is the change in the annual probability of leaving per participant-year; the
    leavings avoided are ``-ATT x participant-years``.
    """
    from evaltools.inference import cost_per_outcome, cost_per_pupil

    c = sd.counts()
    if not (isinstance(cost_per_participant_year, (int, float)) and math.isfinite(cost_per_participant_year)
            and cost_per_participant_year >= 0):
        raise StudyInputError(
            f"cost_per_participant_year must be a non-negative amount, got {cost_per_participant_year!r}.")
    total = float(cost_per_participant_year) * c["participant_years"]
    per = cost_per_pupil(total, c["participants"], years=c["participant_years"] / c["participants"])
    outcome = cost_per_outcome(total, -retention_att.estimate, retention_att.se, c["participant_years"],
                               outcome="leaving avoided")
    return Costs(total=total, per_participant=per, per_leaving_avoided=outcome,
                 participant_years=c["participant_years"], participants=c["participants"])


def baseline_differences(d: pd.DataFrame, covariates: list[str], treatment: str = "gp") -> dict[str, float]:
    """Standardised differences (Austin 2009) of ``covariates`` between the arms, unadjusted."""
    out = {}
    for c in _varying(d, covariates):
        x1, x0 = d.loc[d[treatment] == 1, c].astype(float), d.loc[d[treatment] == 0, c].astype(float)
        pooled = math.sqrt((x1.var() + x0.var()) / 2)
        out[c] = float((x1.mean() - x0.mean()) / pooled) if pooled > 0 else 0.0
    return out


def summary_frame(rows: dict[str, tuple[Estimate, Estimate | None, float]]) -> pd.DataFrame:
    """One row per outcome: effect, CI, the naive comparison (all times ``scale``) and participants.

    ``rows`` maps an outcome key to (adjusted estimate, naive estimate or None, scale); the
    participants are the adjusted estimate's ``n["units"]``.
    """
    out = {}
    for key, (adj, naive, scale) in rows.items():
        out[key] = {"estimate": adj.estimate * scale, "ci_low": adj.ci_low * scale, "ci_high": adj.ci_high * scale,
                    "naive": np.nan if naive is None else naive.estimate * scale,
                    "participants": int(adj.n.get("units", 0))}
    frame = pd.DataFrame.from_dict(out, orient="index")
    frame.index.name = "outcome"
    return frame.astype({"participants": "int64"})


# ---------------------------------------------------------------------------------------
# Figures (labels come translated from the notebook)
# ---------------------------------------------------------------------------------------


def survival_table(cohort: MatchedCohort) -> pd.DataFrame:
    """The three curves the report plots, by school year since joining: ``at_risk`` (distinct teachers
    still followed at the start of the year, unweighted), ``events`` (teachers who left that year,
    unweighted) and ``survival`` (Kaplan-Meier share still teaching; match-weighted for ``matched``).
    Index: (``curve``, ``time``) with curves ``treated``, ``matched`` and ``naive``."""
    d = cohort.frame
    used = cohort.weights.to_numpy() > 0
    weighted = cohort.survival(True)
    curves = [("treated", weighted, 1, d[d["treated"] == 1]),
              ("matched", weighted, 0, d[(d["treated"] == 0) & used]),
              ("naive", cohort.survival(False), 0, d[d["treated"] == 0])]
    rows = []
    for key, km, group, sub in curves:
        tab = km.table[km.table["group"] == group].set_index("time")["survival"]
        for t in range(1, int(sub["duration"].max()) + 1 if len(sub) else 1):
            at = sub[sub["duration"] >= t]
            rows.append({"curve": key, "time": t, "at_risk": int(at["teacher_id"].nunique()),
                         "events": int(((sub["duration"] == t) & (sub["event"] == 1)).sum()),
                         "survival": float(tab.loc[:t].iloc[-1]) if (tab.index <= t).any() else 1.0})
    out = pd.DataFrame(rows, columns=["curve", "time", "at_risk", "events", "survival"])
    return out.set_index(["curve", "time"]).astype({"at_risk": "int64", "events": "int64"})


def protect_survival(frame: pd.DataFrame, threshold: int | None = None) -> Any:
    """The survival curves as published: at-risk and event counts through disclosure control, and
    each curve's share still teaching shown only up to the first year whose at-risk count or
    number of leavers (or stayers) is hidden or small. A Kaplan-Meier step is
    ``1 - events / at_risk``: with the curve before it, a step after a hidden count would give
    that count back, so a curve stops there (Hundepool et al. 2012, ch. 4: dependent values)."""
    from evaltools.report.disclosure import DEPENDENT, protect

    p = protect(frame, counts=["at_risk", "events"], denominators={"survival": "at_risk"},
                numerators={"survival": "events"}, threshold=threshold, total_row=None, total_col=None)
    status = p.status.copy()
    for curve in frame.index.get_level_values("curve").unique():
        rows = [ix for ix in frame.index if ix[0] == curve]
        stop = False
        for ix in rows:
            stop = stop or bool(status.at[ix, "survival"]) or bool(status.at[ix, "events"])
            if stop and not status.at[ix, "survival"]:
                status.at[ix, "survival"] = DEPENDENT
    data = p.data.copy()
    data.loc[status["survival"] != "", "survival"] = np.nan
    return replace(p, data=data, status=status)


def plot_survival(table: Any, labels: dict[str, str], n_units: dict[str, int], *, language: str,
                  xlabel: str, ylabel: str, title: str) -> Any:
    """Share still teaching by school years since joining, from :func:`protect_survival`'s table:
    participants, matched comparison and the unmatched comparison (the naive curve), each drawn
    only where the table shows it. ``labels``: ``treated``, ``matched``, ``naive`` (format field
    ``{n}``: the group's teachers from ``n_units``, through disclosure control)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from evaltools.report import i18n
    from evaltools.report.disclosure import safe_count
    from evaltools.report.figures import PALETTE, use_style, visible

    use_style()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    shown = visible(table, "survival")
    style = {"treated": (PALETTE[0], "-"), "matched": (PALETTE[1], "-"), "naive": ("#8a8f96", "--")}
    for key, (colour, line) in style.items():
        curve = shown[shown.index.get_level_values("curve") == key].dropna()
        if curve.empty:
            continue
        t = np.concatenate([[0.0], curve.index.get_level_values("time").to_numpy(float)])
        s = np.concatenate([[1.0], curve.to_numpy(float)])
        ax.step(t, s, where="post", color=colour, linestyle=line, linewidth=2,
                label=labels[key].format(n=safe_count(n_units.get(key, 0), table.threshold, language)))
    ax.set_ylim(top=1.01)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.percent(v, language)))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(frameon=False, loc="lower left", fontsize=9)
    plt.close(fig)  # the notebook shows or saves it
    return fig


def curve_units(cohort: MatchedCohort) -> dict[str, int]:
    """Distinct teachers behind each survival curve (for the legend)."""
    d = cohort.frame
    used = cohort.weights.to_numpy() > 0
    return {"treated": int(d.loc[d["treated"] == 1, "teacher_id"].nunique()),
            "matched": int(d.loc[(d["treated"] == 0) & used, "teacher_id"].nunique()),
            "naive": int(d.loc[d["treated"] == 0, "teacher_id"].nunique())}


def naive_vs_adjusted_table(panels: dict[str, dict[str, Any]], threshold: int | None = None) -> Any:
    """The estimates the naive-versus-adjusted figure plots, as a protected table: one row per
    (outcome, ``naive``/``adjusted``) with the estimate and CI times the panel's ``scale`` and the
    participants behind it (the adjusted estimate's ``n["units"]``); a row with fewer
    participants than the threshold is hidden."""
    from evaltools.report.disclosure import protect

    rows = []
    for key, p in panels.items():
        n = int(p["adjusted"].n.get("units", 0))
        for arm in ("naive", "adjusted"):
            e, k = p[arm], p["scale"]
            rows.append({"outcome": key, "arm": arm, "estimate": e.estimate * k, "ci_low": e.ci_low * k,
                         "ci_high": e.ci_high * k, "participants": n})
    frame = pd.DataFrame(rows).set_index(["outcome", "arm"]).astype({"participants": "int64"})
    return protect(frame, counts=["participants"],
                   denominators={c: "participants" for c in ("estimate", "ci_low", "ci_high")},
                   threshold=threshold, total_row=None, total_col=None)


def plot_naive_vs_adjusted(table: Any, panels: dict[str, dict[str, Any]], labels: dict[str, str], *,
                           language: str) -> Any:
    """Small multiples: for each outcome the naive comparison against the adjusted estimate (95 % CI)
    from :func:`naive_vs_adjusted_table` (hidden rows are not drawn), with the true effect when the
    data are synthetic. ``panels``: ``{outcome: {"title", "unit", "scale", "truth"}}``; ``labels``:
    ``naive``, ``adjusted``, ``truth``."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from evaltools.report import i18n
    from evaltools.report.figures import PALETTE, use_style, visible

    use_style()
    cols = 2
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(8.0, 1.9 * rows + 0.6), squeeze=False)
    shown = pd.DataFrame({c: visible(table, c) for c in ("estimate", "ci_low", "ci_high")})
    for ax, (key, p) in zip(axes.flat, panels.items()):
        for y, arm, colour in ((1, "naive", "#8a8f96"), (0, "adjusted", PALETTE[0])):
            b, lo, hi = shown.loc[(key, arm)]
            if any(np.isnan([b, lo, hi])):
                continue
            ax.errorbar([b], [y], xerr=[[b - lo], [hi - b]], fmt="o", color=colour, elinewidth=2, capsize=0,
                        markersize=6)
        if p.get("truth") is not None:
            ax.axvline(p["truth"] * p["scale"], color=PALETTE[2], linestyle=":", linewidth=2, label=labels["truth"])
        ax.axvline(0, color="#6b7480", linewidth=1)
        ax.set_yticks([1, 0], [labels["naive"], labels["adjusted"]])
        ax.set_ylim(-0.6, 1.6)
        ax.set_title(p["title"], fontsize=10)
        ax.set_xlabel(p["unit"], fontsize=9)
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _: i18n.number(v, language, 0 if abs(v) >= 1 or v == 0 else 1)))
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    if any(p.get("truth") is not None for p in panels.values()):
        fig.legend(*axes.flat[0].get_legend_handles_labels(), frameon=False, loc="lower center", ncol=1, fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    plt.close(fig)  # the notebook shows or saves it
    return fig


def event_table(event: pd.DataFrame, threshold: int | None = None) -> Any:
    """The collaboration event study as the figure plots it: ATT by event time with its CI and the
    treated schools behind it (``units``); an event time with fewer schools than the threshold is hidden."""
    from evaltools.report.disclosure import protect

    frame = event.set_index("event_time")[["estimate", "ci_low", "ci_high", "units"]].astype({"units": "int64"})
    return protect(frame, counts=["units"], denominators={c: "units" for c in ("estimate", "ci_low", "ci_high")},
                   threshold=threshold, total_row=None, total_col=None)


def share_value(frame: pd.DataFrame, column: str, *, threshold: int | None = None, language: str | None = None) -> Any:
    """The share (%) of rows of ``frame`` with ``column`` = 1, protected with its numerator and base
    (:func:`evaltools.report.disclosure.protect_value`): hidden when either count, or the rest, is small."""
    from evaltools.report.disclosure import protect_value

    x = frame[column].dropna()
    return protect_value(100 * float(x.mean()) if len(x) else None, numerator=int(x.sum()), denominator=int(len(x)),
                         percent=True, digits=1, threshold=threshold, language=language)
