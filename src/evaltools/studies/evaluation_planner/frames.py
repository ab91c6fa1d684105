"""The outcome frames the planner estimates its design parameters on.

One row per pupil tested (or per pupil-year for early leaving) in the outcome's last
``years`` years, with the school and municipality of that year, the pupil's earlier result on
the pre-test (the same subject three grades earlier, where there is one and at least half the
pupils have it) and the SES index:

=================  =====================================  =================================
outcome            measured by                            pre-test (level-1 covariate)
=================  =====================================  =================================
diag3_math         grade-3 diagnostic test, mathematics   none (SES only)
diag6_math         grade-6 diagnostic test, mathematics   grade-3 diagnostic, mathematics
ce9_math           grade-9 centralised exam, mathematics  grade-6 diagnostic, mathematics
ce12_math          grade-12 centralised exam, mathematics grade-9 exam, mathematics
wellbeing          pupil wellbeing survey score           the pupil's previous survey score
early_leaving      left school early (0/1), grades 5-12   absences in the previous year
=================  =====================================  =================================
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evaltools.core.errors import InputError
from evaltools.data.io import Dataset

OUTCOMES: dict[str, dict[str, object]] = {
    "diag3_math": {"test": "diag3", "pre": None},
    "diag6_math": {"test": "diag6", "pre": "diag3"},
    "ce9_math": {"test": "ce9", "pre": "diag6"},
    "ce12_math": {"test": "ce12", "pre": "ce9"},
    "wellbeing": {"test": None, "pre": "wellbeing"},
    "early_leaving": {"test": None, "pre": "absences"},
}


class OutcomeError(InputError, ValueError):
    """The chosen outcome cannot be built from the data."""


@dataclass(frozen=True)
class Frames:
    """The pupil-level outcome frame and the school frame (one row per school, for allocation)."""

    outcome: str
    pupils: pd.DataFrame   # y, pre (if any), ses_index, school_id, municipality_id, year
    schools: pd.DataFrame  # school_id, municipality_id, pupils (tested per year), prior_mean
    covariates: tuple[str, ...]
    years: tuple[int, int]
    panel: pd.DataFrame | None = None  # school-year means of the outcome over every year (for roll-out power)
    sd: float = float("nan")           # pupil-level SD of the outcome in the frame's years


def outcome_frame(data: Dataset, outcome: str, years: int = 2) -> Frames:
    """The frames of ``outcome`` over the last ``years`` years of the data (see the module table)."""
    if outcome not in OUTCOMES:
        raise OutcomeError(f"Unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}.")
    spec = OUTCOMES[outcome]
    need = "assessments" if spec["test"] else ("wellbeing_pupils" if outcome == "wellbeing" else "pupil_years")
    if need not in data.tables:
        raise OutcomeError(f"The outcome {outcome!r} needs the table '{need}', which the data set has not "
                           f"(it has {', '.join(sorted(data.tables))}): add the table or choose another outcome.")
    py = data["pupil_years"][["pupil_id", "year", "school_id", "grade", "absences", "status"]]
    schools = data["schools"][["school_id", "municipality_id"]]
    pupils = data["pupils"][["pupil_id", "ses_index"]]
    if spec["test"]:
        a = data["assessments"]
        a = a[a["subject"] == "math"]
        y = a[a["test"] == spec["test"]][["pupil_id", "year", "score"]].rename(columns={"score": "y"})
        frame = y.merge(py[["pupil_id", "year", "school_id"]], on=["pupil_id", "year"])
        if spec["pre"]:
            pre = (a[a["test"] == spec["pre"]].sort_values("year").groupby("pupil_id", as_index=False)["score"].last()
                   .rename(columns={"score": "pre"}))
            frame = frame.merge(pre, on="pupil_id", how="left")
    elif outcome == "wellbeing":
        w = data["wellbeing_pupils"][["pupil_id", "year", "school_id", "wellbeing"]].rename(columns={"wellbeing": "y"})
        prev = w[["pupil_id", "year", "y"]].rename(columns={"y": "pre"}).assign(year=lambda d: d["year"] + 1)
        frame = w.merge(prev, on=["pupil_id", "year"], how="left")
    else:
        risk = py[py["grade"].between(5, 12)].copy()
        risk["y"] = (risk["status"] == "left_early").astype(float)
        prev = py[["pupil_id", "year", "absences"]].rename(columns={"absences": "pre"}).assign(
            year=lambda d: d["year"] + 1)
        frame = risk[["pupil_id", "year", "school_id", "y"]].merge(prev, on=["pupil_id", "year"], how="left")
    if frame.empty:
        raise OutcomeError(f"The data hold no {outcome} results; choose another outcome or give data that have them.")
    panel = frame.groupby(["school_id", "year"], as_index=False)["y"].mean()
    panel["unit"] = pd.factorize(panel["school_id"])[0]
    last = int(frame["year"].max())
    first = last - max(int(years), 1) + 1
    frame = frame[frame["year"] >= first]
    frame = frame.merge(schools, on="school_id", how="left").merge(pupils, on="pupil_id", how="left")
    if "pre" in frame and frame["pre"].notna().mean() < 0.5:  # too few pupils have the pre-test: SES only
        frame = frame.drop(columns="pre")
    covs = ("pre", "ses_index") if "pre" in frame else ("ses_index",)
    keep = ["y", *covs, "school_id", "municipality_id", "year"]
    tested = frame.groupby(["school_id", "year"]).size().groupby("school_id").mean().rename("pupils")
    prior = frame.groupby("school_id")["pre" if "pre" in frame else "y"].mean().rename("prior_mean")
    by_school = schools.merge(tested.reset_index(), on="school_id").merge(prior.reset_index(), on="school_id")
    by_school = by_school.dropna().sort_values("school_id").reset_index(drop=True)
    return Frames(outcome=outcome, pupils=frame[keep].reset_index(drop=True), schools=by_school,
                  covariates=covs, years=(first, last), panel=panel, sd=float(frame["y"].std()))
