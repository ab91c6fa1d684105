"""What a design costs, MDES against budget, and the cheapest design reaching a target MDES.

Cost of a design = ``fixed + cost_per_school * schools + cost_per_pupil * pupils`` (schools and
pupils of the whole sample, both arms: testing, data collection and the evaluation's share of
delivery; give delivery costs of the treated arm only through ``treated_cost_per_school``, which
is multiplied by ``p * schools``). For each candidate design :func:`compare` gives the MDES, the
power at a target effect and the cost; :func:`cheapest` solves each candidate's number of top-level
units for the target MDES (:func:`evaltools.design.plans.sample_size`) and returns the candidates
by cost, the cheapest first (Bloom 2006 ch. 5 and Raudenbush 1997 on cost-constrained designs);
:func:`budget_curve` gives the MDES that each budget buys (:func:`affordable`: the most top-level
units within the budget).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from evaltools.core import inputs as ck
from evaltools.core.errors import InputError
from evaltools.design.plans import TOP, Design, mdes, power, sample_size


@dataclass(frozen=True)
class Candidate:
    """A named design to compare (``label`` is what the report shows)."""

    label: str
    design: Design


@dataclass(frozen=True)
class Costs:
    """Unit costs in one currency (EUR by default)."""

    per_school: float = 0.0
    per_pupil: float = 0.0
    fixed: float = 0.0
    treated_per_school: float = 0.0
    currency: str = "EUR"

    def __post_init__(self) -> None:
        for name in ("per_school", "per_pupil", "fixed", "treated_per_school"):
            ck.nonnegative(name, getattr(self, name))


def cost_of(d: Design, costs: Costs) -> float:
    """Total cost of design ``d`` (see the module docstring)."""
    u = d.units()
    schools = 0.0 if math.isnan(u["schools"]) else u["schools"]
    return float(costs.fixed + costs.per_school * schools + costs.per_pupil * u["pupils"]
                 + costs.treated_per_school * d.p * schools)


def compare(candidates: Sequence[Candidate], costs: Costs, *, target: float | None = None,
            budget: float | None = None, alpha: float = 0.05, power_: float = 0.8) -> pd.DataFrame:
    """One row per candidate: MDES, power at ``target``, schools, pupils, cost, within budget,
    reaches target; the index is the label."""
    if not candidates:
        raise InputError("No candidate designs to compare: give at least one.")
    rows = []
    for c in candidates:
        m = mdes(c.design, alpha=alpha, power=power_)
        u = c.design.units()
        row = {"label": c.label, "design": c.design.code, "schools": u["schools"], "pupils": u["pupils"],
               "df": m.df, "mdes": m.mdes, "cost": cost_of(c.design, costs)}
        if target is not None:
            row["power_at_target"] = power(c.design, effect=target, alpha=alpha).power
            row["reaches_target"] = bool(m.mdes <= target)
        if budget is not None:
            row["within_budget"] = bool(row["cost"] <= ck.nonnegative("budget", budget))
        rows.append(row)
    return pd.DataFrame(rows).set_index("label")


def cheapest(candidates: Sequence[Candidate], costs: Costs, *, target: float, available: float | None = None,
             budget: float | None = None, alpha: float = 0.05, power_: float = 0.8) -> pd.DataFrame:
    """Each candidate resized to the fewest top-level units that reach MDES ``target``, by cost.

    ``available``: the most top-level units there are (e.g. schools in the programme); a
    candidate needing more is marked ``feasible = False``, as is one above ``budget``. The first
    feasible row is the cheapest design that reaches the target."""
    tgt = ck.positive("target", target)
    rows = []
    for c in candidates:
        try:
            s = sample_size(c.design, effect=tgt, power=power_, alpha=alpha)
            d = s.design
            top = float(getattr(d, TOP[d.design]))
            cost = cost_of(d, costs)
            feasible = (available is None or top <= available) and (budget is None or cost <= budget)
        except InputError:
            d, top, cost, feasible = c.design, math.inf, math.inf, False
        u = d.units()
        rows.append({"label": c.label, "design": d.code, "solves": TOP[d.design], "units_needed": top,
                     "schools": u["schools"], "pupils": u["pupils"], "cost": cost, "feasible": feasible})
    out = pd.DataFrame(rows).set_index("label")
    order = np.lexsort((out["cost"].to_numpy(), ~out["feasible"].to_numpy()))
    return out.iloc[order]


def affordable(d: Design, costs: Costs, budget: float) -> Design | None:
    """The design ``d`` with the most top-level units (``TOP[design]``) whose cost is within ``budget``
    (None when even the smallest design with one degree of freedom is too dear)."""
    b = ck.nonnegative("budget", budget)
    lo, hi = 1, 2

    def fits(units: int) -> bool:
        trial = d.with_top(units)
        return trial.df() >= 1 and cost_of(trial, costs) <= b

    while not fits(lo):
        lo += 1
        if lo > 100_000 or cost_of(d.with_top(lo), costs) > b:
            return None
    hi = lo + 1
    while fits(hi):
        hi *= 2
        if hi > 10_000_000:
            raise InputError("The budget buys more than 10 million units: give the unit costs (they cannot all be 0).")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return d.with_top(lo)


def budget_curve(d: Design, costs: Costs, budgets: Sequence[float], *, alpha: float = 0.05,
                 power_: float = 0.8) -> pd.DataFrame:
    """MDES against budget: for each budget the most units it buys (:func:`affordable`) and their MDES
    (columns ``budget``, ``units``, ``cost``, ``mdes``; NaN where the budget buys no design)."""
    rows = []
    for b in budgets:
        a = affordable(d, costs, b)
        rows.append({"budget": float(b), "units": float(getattr(a, TOP[d.design])) if a else float("nan"),
                     "cost": cost_of(a, costs) if a else float("nan"),
                     "mdes": mdes(a, alpha=alpha, power=power_).mdes if a else float("nan")})
    return pd.DataFrame(rows)
