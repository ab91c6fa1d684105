"""The alumni study's frames: teacher-years, linked test scores and practice-survey answers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaltools.core.errors import EvaltoolsWarning, InputError
from evaltools.data.demo import synthetic_truth
from evaltools.studies.shared.frames import renumbered

__all__ = ["TEST_TYPES", "LEADERSHIP_ROLES", "FAVOURABLE", "StudyInputError", "StudyWarning", "StudyData", "build",
           "teacher_year_sample", "promotion_frame", "common_support", "retention_sample", "RETENTION_COVARIATES",
           "PROMOTION_COVARIATES", "Pool"]


TEST_TYPES = ("diag6", "ce9", "ce12")
"""Assessments that name the subject teacher (grade 3 diagnostics are taken with the class teacher)."""
LEADERSHIP_ROLES = ("subject_lead", "deputy_head")
"""Roles a teacher can move into; heads are appointed to a post, not promoted from it."""
Pool = Literal["alumni", "non_alumni"]

FAVOURABLE = {"retention": -1, "leadership": 1, "pupil_results": 1, "collaboration": 1}
"""The favourable direction of each outcome (+1: higher is better; -1: lower is better)."""


class StudyInputError(InputError, ValueError):
    """The data or options cannot be used for the alumni study."""


class StudyWarning(EvaltoolsWarning, UserWarning):
    """A robustness check of the alumni study could not be computed on these data."""


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
    truth = synthetic_truth(ds)  # the generator's true effects only: a real extract shows none
    declared = int(teachers["growth_programme_start"].isin(cohorts).sum())
    return StudyData(teacher_years=frame, scores=scores, practices=practices, cohorts=cohorts,
                     programme_start=int(cohorts[0]), truth=truth, dropped_cohorts=dropped,
                     declared_participants=declared)


def _scores(assessments: pd.DataFrame, ty: pd.DataFrame) -> pd.DataFrame:
    """Linked test scores, centred on the mean of their test, subject and year (over all linked scores)."""
    a = assessments.loc[assessments["test"].isin(TEST_TYPES) & assessments["teacher_id"].notna(),
                        ["pupil_id", "year", "test", "subject", "score", "teacher_id"]]
    a.columns = ["pupil_id", "year", "test", "test_subject", "score", "teacher_id"]  # a fresh selection: no copy
    keep = ["teacher_id", "year", "school_id", "gp", "engagement", "alumnus", "cohort", "role", "leader",
            "school_type", "urban"]
    d = renumbered(a.merge(ty[keep], on=["teacher_id", "year"], how="inner", validate="many_to_one"))
    # the cell (test, subject, year): its label is built once per cell, not once per score (millions at
    # national scale), and the mean is taken over the same rows in the same order as by label
    by = d.groupby(["test", "test_subject", "year"], sort=False)
    keys = by.size().index
    labels = np.array([f"{t}_{s}_{y}" for t, s, y in keys], dtype=object)
    d["cell"] = labels[by.ngroup().to_numpy()]
    d["score_c"] = d["score"] - by["score"].transform("mean")
    return d


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
