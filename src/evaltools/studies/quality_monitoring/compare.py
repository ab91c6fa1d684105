r"""Municipalities and schools compared: funnel plots and shrunken (empirical-Bayes) means.

For a test of the report year (pupil score = mean over the test's subjects):

- **funnel** (:func:`evaltools.inference.funnel.funnel_limits`, ``kind="mean"``): around Latvia's
  mean ``theta`` with the national pupil-level ``sd``; a unit's ``funnel`` flag is -1/+1 when its
  mean lies below/above the 99.8 % limits at its size, 0 inside. Municipalities' pupils are
  clustered in schools: their limits use the design effect ``deff = 1 + (m - 1) ICC``
  (:func:`evaltools.estimate.bounded_intervals.design_effect` with ``m`` the size-weighted mean number of
  tested pupils per school, ICC of Latvia's schools); schools' limits use ``deff = 1``.
- **shrunken means**: a random-intercept model ``score ~ 1 + (1 | unit)`` of all of Latvia's
  units (:func:`evaltools.estimate.multilevel`, REML), the unit's empirical-Bayes mean
  ``intercept + u_j`` with its 95 % interval (``MultilevelResult.value_added``): a small unit's
  mean is pulled towards Latvia's by its reliability ``w_j = tau^2 / (tau^2 + sigma^2 / n_j)``.
Neither ranks the units; a unit is read against the limits and with its interval.
"""
from __future__ import annotations

import pandas as pd

from evaltools.data.io import Dataset
from evaltools.report.i18n import sort_names
from evaltools.studies.shared.frames import school_labels
from evaltools.studies.quality_monitoring.scope import Scope

COLUMNS = ["n", "mean", "funnel", "shrunken", "ci_low", "ci_high", "shrinkage"]


def pupil_scores(data: Dataset, year: int, test: str) -> pd.DataFrame:
    """One row per pupil tested in ``test`` in ``year``: mean score over subjects, school and
    municipality (names as labels)."""
    a = data["assessments"]
    s = a[(a["test"] == test) & (a["year"] == year)].groupby("pupil_id", as_index=False)["score"].mean()
    py = data["pupil_years"]
    s = s.merge(py.loc[py["year"] == year, ["pupil_id", "school_id"]], on="pupil_id", how="inner")
    schools = data["schools"][["school_id", "municipality_id"]]
    s = s.merge(schools, on="school_id", how="left")
    munis = data["municipalities"].set_index("municipality_id")["name"]
    return s.assign(school=s["school_id"].map(school_labels(data)), municipality=s["municipality_id"].map(munis))


def funnel_reference(scores: pd.DataFrame, unit: str) -> dict[str, float]:
    """Latvia's mean and pupil-level SD, and the design effect of the unit's limits."""
    from evaltools.estimate.bounded_intervals import design_effect, icc_anova

    deff = 1.0
    if unit == "municipality":
        deff = design_effect(scores["school_id"].to_numpy(), icc_anova(scores["score"], scores["school_id"]))
    return {"theta": float(scores["score"].mean()), "sd": float(scores["score"].std(ddof=1)), "design_effect": deff}


def comparison(data: Dataset, scope: Scope, test: str, *, rank_draws: int = 0) -> tuple[pd.DataFrame, dict[str, float]]:
    """The units of the scope (municipalities of Latvia, or the schools of the municipality)
    with their pupils tested, mean, funnel flag and shrunken mean (module docstring), and the
    funnel's reference (``theta``, ``sd``, ``design_effect``) and the model's ``intercept`` (the
    value the shrunken means move toward)."""
    from evaltools.estimate import multilevel
    from evaltools.inference.funnel import funnel_limits, outside_limits

    scores = pupil_scores(data, scope.year, test)
    key = scope.unit
    ref = funnel_reference(scores, key)
    fit = multilevel(scores.dropna(subset=["score"]), "score ~ 1", key)
    va = fit.value_added(rank_draws=rank_draws)
    intercept = float(fit.params.iloc[0])
    raw = scores.groupby(key)["score"].agg(n="size", mean="mean")
    out = raw.join(va[["effect", "ci_low", "ci_high", "shrinkage"]], how="left")
    out = out.assign(shrunken=out["effect"] + intercept, ci_low=out["ci_low"] + intercept,
                     ci_high=out["ci_high"] + intercept)
    limits = funnel_limits(out["n"].to_numpy(float), ref["theta"], kind="mean", sd=ref["sd"],
                           design_effect=ref["design_effect"])
    out["funnel"] = outside_limits(out["mean"].to_numpy(), limits).astype(float)
    if key == "school":
        own = school_labels(data)[data["schools"]["municipality_id"].eq(scope.area.municipality_id).to_numpy()]
        out = out[out.index.isin(set(own))]
    out = out[COLUMNS].astype({"n": "int64"})
    out.index.name = key
    return out.loc[sort_names(out.index, "lv")], {**ref, "intercept": intercept}
