"""The staggered roll-out of the methodologist network by municipality: Callaway-Sant'Anna
group-time ATTs (:func:`evaltools.estimate.att_gt`) on head-observed lesson scores, at teacher
level (teacher-years as repeated cross-sections, clustered by municipality) and at municipality
level (a balanced municipality-year panel), the event study, the pre-trend test, a wild cluster
bootstrap of the two-way fixed-effects comparison and HonestDiD bounds; the same design for
leaving teaching and for pupils' results.

Identification: municipalities started in different years (2017-2021 in the programme); comparing
the change in scores of teachers in a municipality that has started with the change, over the same
years, in municipalities that have not started yet (or never do) identifies the effect on the
started ones if, without the network, scores would have moved in parallel (checked on the years
before the start: pre-trend test, event study, HonestDiD sensitivity). Callaway & Sant'Anna
(2021), J. Econometrics 225(2); Rambachan & Roth (2023), Rev. Econ. Stud. 90(5).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.estimate.result import Estimate

__all__ = ["RolloutResult", "rollout", "fit_att_gt", "honest_bounds", "wild_twfe"]


@dataclass
class RolloutResult:
    """One roll-out design: the ``att_gt`` fit, its simple ATT (``att``), its event study
    (``dynamic``), the pre-trend test (None unless asked for), the comparison group used and the sizes."""

    fit: Any
    att: Estimate
    dynamic: Any
    pretrend: Any
    control_group: str
    n: dict[str, int]


def fit_att_gt(frame: pd.DataFrame, outcome: str, *, unit: str | None, control_group: str = "notyet",
               weights: str | None = None, anticipation: int = 0, n_boot: int | None = None,
               seed: int | None = None, label: str | None = None, pretest: bool = False,
               pretest_reps: int | None = None) -> RolloutResult | None:
    """``att_gt`` of ``frame`` (cohort ``cohort``, period ``year``, clustered by ``municipality_id``)
    with a universal base period (the event study HonestDiD needs); with ``unit`` None the rows are
    repeated cross-sections. Falls back to the other comparison group when ``control_group`` cannot
    be formed (e.g. no never-started municipality in a region). None when neither works.
    ``pretest``: also run the package's pre-trend test (``ATTgtResult.pretrend_test``: a wild
    cluster bootstrap that re-estimates the cells, so only for the designs the report tests) with
    ``pretest_reps`` draws (None: the package's default)."""
    from evaltools.estimate import att_gt

    for cg in (control_group, "never" if control_group == "notyet" else "notyet"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = att_gt(frame, outcome, unit, "year", "cohort", control_group=cg, base_period="universal",
                             cluster="municipality_id", weights=weights, panel=unit is not None,
                             anticipation=anticipation, n_boot=n_boot, seed=seed)
                simple = fit.aggregate("simple").overall
                dynamic = fit.aggregate("dynamic")
                draws = {} if pretest_reps is None else {"n_boot": int(pretest_reps)}
                pre = fit.pretrend_test(seed=seed, **draws) if pretest else None
        except (ValueError, KeyError, np.linalg.LinAlgError):
            continue
        n = {"clusters": int(frame["municipality_id"].nunique()), "observations": int(len(frame)),
             "started": int(frame.loc[frame["cohort"] > 0, "municipality_id"].nunique())}
        if label:
            simple = replace(simple, estimand=label)
        return RolloutResult(fit=fit, att=simple, dynamic=dynamic, pretrend=pre, control_group=cg, n=n)
    return None


def rollout(observations: pd.DataFrame, municipality_panel: pd.DataFrame, *, control_group: str = "notyet",
            anticipation: int = 0, bootstrap_reps: int | None = 999, seed: int | None = None,
            pretest_reps: int | None = None) -> dict[str, RolloutResult | None]:
    """The roll-out on head-observed scores: ``teacher`` (teacher-years, repeated cross-sections,
    clustered by municipality: the headline) and ``municipality`` (municipality-year means, each
    municipality weighted by its mean number of observed teachers), each with its pre-trend test
    (``pretest_reps`` bootstrap draws)."""
    teacher = fit_att_gt(observations, "score", unit=None, control_group=control_group, anticipation=anticipation,
                         n_boot=bootstrap_reps, seed=seed, pretest=True,
                         pretest_reps=pretest_reps,
                         label="ATT of the methodologist roll-out on the head-observed lesson score (teacher level)")
    muni = fit_att_gt(municipality_panel, "score", unit="municipality_id", control_group=control_group,
                      weights="weight", anticipation=anticipation, n_boot=bootstrap_reps, seed=seed, pretest=True,
                      pretest_reps=pretest_reps,
                      label="ATT of the methodologist roll-out on the head-observed lesson score (municipality level)")
    return {"teacher": teacher, "municipality": muni}


def wild_twfe(frame: pd.DataFrame, outcome: str = "score", *, n_boot: int = 9999, seed: int | None = None) -> Any:
    """Restricted wild cluster bootstrap (municipalities as clusters, Rademacher weights) of the static
    two-way fixed-effects comparison ``y = a_municipality + l_year + b treated + e``
    (:func:`evaltools.estimate.wild_cluster_bootstrap`): a test of "no effect" that holds its size with
    43 clusters. ``b`` averages the effects with the TWFE weights (negative for early cohorts' late
    years under growing effects), so it is a test, not the headline."""
    from evaltools.estimate import wild_cluster_bootstrap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return wild_cluster_bootstrap(frame, outcome, "treated", cluster="municipality_id",
                                      fixed_effects=["municipality_id", "year"], n_boot=n_boot, seed=seed)


def honest_bounds(res: RolloutResult | None, *, mbar: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
                  ) -> dict[str, Any]:
    """HonestDiD (Rambachan & Roth 2023) bounds on the average post-start effect of the event study:
    ``relative_magnitude`` (post-start violations of parallel trends up to ``mbar`` times the largest
    pre-start one) and ``smoothness``; a method that cannot be computed is given as ``<method>_error``."""
    from evaltools import inference

    out: dict[str, Any] = {}
    if res is None:
        return out
    for method, kw in (("relative_magnitude", {"mbar": list(mbar)}), ("smoothness", {})):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[method] = inference.honest_did_event_study(res.dynamic, method=method, l_vec="average", **kw)
        except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
            out[method + "_error"] = str(exc)
    return out


def cohort_shares(res: RolloutResult) -> dict[int, float]:
    """The cohort weights p_g of the fit (as its simple aggregation uses them)."""
    return {int(g): float(p) for g, p in zip(res.fit.glist.tolist(), res.fit.pg.tolist())}
