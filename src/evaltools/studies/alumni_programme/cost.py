"""Standards inputs: the MDES in SD units, the programme's costs, baseline differences and the summary."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.estimate.result import Estimate
from evaltools.studies.alumni_programme.frames import StudyData, StudyInputError

__all__ = ['standardised_mdes', 'Costs', 'costs', 'baseline_differences', 'summary_frame']


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
    """Standardised differences (Austin 2009) of the varying ``covariates`` between the arms, unadjusted:
    the ``norm_diff`` of :func:`evaltools.estimate.balance_table` (0 where both arms are constant)."""
    from evaltools.estimate import balance_table

    covs = [c for c in covariates if d[c].nunique() > 1]
    if not covs:
        return {}
    return {c: float(v) for c, v in balance_table(d, treatment, covs).table["norm_diff"].fillna(0.0).items()}


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
