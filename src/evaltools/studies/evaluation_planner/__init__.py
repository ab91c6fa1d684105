"""The evaluation planner (``notebooks/evaluation_planner.ipynb``): a design for a new measure
before it starts (issue 18).

From the data it estimates the design parameters of the chosen outcome (:mod:`.frames`,
:func:`evaltools.design.design_parameters`), compares the candidate designs at the units and
budget available and recommends one (:mod:`.plan`), draws the allocation of schools
(:func:`evaltools.design.allocate`, re-randomised for balance; a stepped schedule for a
roll-out), checks the analytic power by simulation and writes the pre-analysis plan
(:mod:`.pap`). Its texts are in ``messages.yaml`` (``evaluation_planner.*``).

A plan estimates no effect: the verbs that apply are :func:`prepare` and :func:`headline`
(``subgroups``, ``costs`` and ``truth_check`` do not: costs are part of the comparison); the
report has no verdict (as the descriptive municipal study).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

from evaltools.data.io import Dataset
from evaltools.studies.evaluation_planner.frames import OUTCOMES, Frames, outcome_frame
from evaltools.studies.evaluation_planner.plan import Plan, Setting, compare_designs

__all__ = ["prepare", "headline", "Results", "Frames", "Plan", "Setting", "OUTCOMES", "outcome_frame",
           "compare_designs"]


def prepare(data: Dataset, outcome: str, *, years: int = 2) -> Frames:
    """The outcome's pupil and school frames over the data's last ``years`` years."""
    return outcome_frame(data, outcome, years=years)


@dataclass(frozen=True)
class Results:
    """Every number the plan shows: the design parameters, the comparison, the recommended
    design's MDES, the allocation (None for a pupil-level design), the roll-out schedule (None for
    one wave) and the simulation check (None where the design is not simulated)."""

    parameters: Any
    plan: Plan
    recommended: Any  # evaltools.design.PlanResult (MDES of the recommended design)
    allocation: Any
    schedule: Any
    simulation: Any
    setting: Setting
    rollout: Any = None  # simulated power of the staggered roll-out (waves > 1)


def headline(frames: Frames, setting: Setting, *, candidates: Sequence[str], delivery: str = "school",
             seed: int = 0, n_boot: int = 50, threshold: float = 0.1, waves: int = 1, first_year: int = 2025,
             n_sims: int = 400, rollout_sims: int = 40, applicants: Sequence[str] | None = None) -> Results:
    """Parameters, comparison, recommendation, allocation and simulation check, in one call; with
    ``waves > 1`` also the power of the staggered roll-out at the target effect, by simulation on
    the outcome's school-year panel (Callaway-Sant'Anna, not-yet-treated controls; equal waves placed
    in the data's last years). ``applicants``: the school codes that applied (the allocation draws among
    those of them that have the outcome in the data); default a seeded draw of ``setting.schools`` of the
    data's schools, standing in for the list."""
    from evaltools.design import allocate, design_parameters, mdes, stepped_schedule
    from evaltools.design.rollout import simulated_power

    params = design_parameters(frames.pupils, "y", covariates=list(frames.covariates), n_boot=n_boot, seed=seed)
    plan = compare_designs(candidates, params, setting, delivery=delivery, has_pretest="pre" in frames.covariates)
    rec = mdes(plan.design, alpha=setting.alpha, power=setting.power, label=plan.recommended)
    allocation = schedule = None
    if plan.design.design in ("cluster2", "blocked_cluster"):
        units = frames.schools
        if applicants is not None:
            units = _applicants(units, applicants)
        elif len(units) > setting.schools:  # the programme's schools: a seeded draw stands in for the applicant list
            units = units.sample(n=setting.schools, random_state=seed).sort_values("school_id")
        strata = "municipality_id" if plan.design.design == "blocked_cluster" else None
        allocation = allocate(units, "school_id", strata=strata, p=plan.design.p, seed=seed,
                              covariates=["pupils", "prior_mean"], criterion="maxabs", threshold=threshold)
        if waves > 1:  # a wait-list roll-out: the randomised arm starts first, the comparison schools in later waves
            schedule = _rollout(allocation.table, strata, first_year, waves, seed)
    elif plan.design.design == "cluster3":
        munis = frames.schools.groupby("municipality_id", as_index=False).agg(pupils=("pupils", "sum"),
                                                                                prior_mean=("prior_mean", "mean"))
        allocation = allocate(munis, "municipality_id", p=plan.design.p, seed=seed,
                              covariates=["pupils", "prior_mean"], criterion="maxabs", threshold=threshold)
    simulation = None
    if plan.design.design in ("individual", "cluster2"):
        simulation = simulated_power(plan.design, effect=rec.mdes, n_sims=n_sims, alpha=setting.alpha, seed=seed)
    rollout = None
    if waves > 1 and frames.panel is not None:
        from evaltools.design import rollout_power

        # placebo adoption in the data's last years, each wave with at least one earlier year
        years = sorted(frames.panel["year"].unique())[1:][-waves:]
        with warnings.catch_warnings():  # the estimator's notes on dropped cohorts are the design's, not news
            warnings.simplefilter("ignore", UserWarning)
            panel = frames.panel
            if allocation is not None and allocation.unit == "school_id":  # the planned schools only
                panel = panel[panel["school_id"].isin(allocation.table["school_id"])]
            rollout = rollout_power(panel, outcome="y", unit="unit", time="year", periods=years, never_share=0.0,
                                    effect=setting.target * frames.sd, n_sims=rollout_sims, alpha=setting.alpha,
                                    seed=seed)
    return Results(parameters=params, plan=plan, recommended=rec, allocation=allocation, schedule=schedule,
                   simulation=simulation, setting=setting, rollout=rollout)


def _rollout(table: Any, strata: str | None, first_year: int, waves: int, seed: int) -> Any:
    """Start years: the treated schools in ``first_year``, the comparison schools spread at random over the
    next ``waves - 1`` years (within strata), so the first year's comparison is the randomised one."""
    import pandas as pd

    from evaltools.design import stepped_schedule

    later = stepped_schedule(table[table["treated"] == 0], "school_id", list(range(first_year + 1, first_year + waves)),
                             strata=strata, seed=seed).set_index("school_id")["start"]
    start = pd.Series(first_year, index=table["school_id"], dtype="object")
    start.loc[later.index] = later
    return pd.DataFrame({"school_id": table["school_id"].to_numpy(), "start": start.loc[table["school_id"]].to_numpy()})


def _applicants(schools: Any, applicants: Sequence[str]) -> Any:
    """The applicant schools that the data know (school codes are not personal identifiers: a few
    unknown ones are named so that the list can be fixed)."""
    from evaltools.core.errors import InputError

    wanted = list(dict.fromkeys(str(a).strip() for a in applicants if str(a).strip()))
    known = schools[schools["school_id"].isin(wanted)]
    unknown = [a for a in wanted if a not in set(schools["school_id"])]
    if len(known) < 4:
        raise InputError(f"Only {len(known)} of the {len(wanted)} applicant schools have the outcome in the data; "
                         "an allocation needs at least 4. Check the codes (column school_id) or choose another outcome.")
    if unknown:
        warnings.warn(f"{len(unknown)} applicant school(s) have no outcome data and are left out of the allocation "
                      f"(e.g. {', '.join(unknown[:3])}).", UserWarning, stacklevel=3)
    return known
