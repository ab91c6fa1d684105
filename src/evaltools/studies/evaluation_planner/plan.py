"""The candidate designs of a planned evaluation, side by side, and the recommended one.

Each candidate is sized to what is available (schools, pupils per school, municipalities) with
the design parameters estimated from the data (:func:`evaltools.design.design_parameters`):
its MDES, its power at the target effect and its cost (:func:`evaltools.design.budget.compare`);
and resized to the fewest units that reach the target MDES (:func:`~evaltools.design.budget.
cheapest`). Designs that randomise below the level at which the programme is delivered are
left out (pupils of one school share a school-wide programme: randomising them would let the
programme reach the comparison pupils).

The recommendation: the cheapest candidate that reaches the target MDES within the units
available and the budget; if none does, the candidate with the smallest MDES within budget at
the available size (the report then says that the target is out of reach).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from evaltools.core.errors import InputError
from evaltools.design import budget as bud
from evaltools.design.parameters import DesignParameters
from evaltools.design.plans import Design, design, mdes, power_curve

#: Lowest level each design randomises, and the delivery levels it suits.
RANDOMISES = {"individual": "pupil", "blocked_individual": "pupil", "cluster2": "school",
              "blocked_cluster": "school", "cluster3": "municipality"}
_ORDER = {"pupil": 0, "school": 1, "municipality": 2}


@dataclass(frozen=True)
class Setting:
    """What the evaluator has: units available, costs, target and test."""

    schools: int
    pupils_per_school: int
    municipalities: int
    costs: bud.Costs
    budget: float
    target: float
    alpha: float = 0.05
    power: float = 0.8


@dataclass(frozen=True)
class Plan:
    """The comparison (``table``: one row per candidate at the available size), the resized
    designs (``needed``), the power curves, the recommended label and the reasons (codes and
    numbers the notebook words through the catalogue)."""

    table: pd.DataFrame
    needed: pd.DataFrame
    curves: pd.DataFrame
    designs: dict[str, Design]
    excluded: dict[str, str]
    recommended: str
    reaches_target: bool
    reasons: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def design(self) -> Design:
        return self.designs[self.recommended]


def build_design(name: str, params: DesignParameters, setting: Setting, *, has_pretest: bool) -> Design:
    """Candidate ``name`` at the available size with the estimated parameters (one covariate,
    the pre-test, when there is one; its chance imbalance is counted for the cluster designs)."""
    rho2, r2_1 = params.value("rho2"), params.value("r2_1") if "r2_1" in params.table.index else 0.0
    r2_2 = params.value("r2_2") if "r2_2" in params.table.index else 0.0
    rho3 = params.value("rho3") if "rho3" in params.table.index else 0.0
    g = 1 if has_pretest else 0
    n, J, K = setting.pupils_per_school, setting.schools, setting.municipalities
    per_block = max(J / K, 2.0)
    if name == "individual":
        return design("individual", n=n * J, r2_1=r2_1 if g else 0.0, g=g, imbalance=bool(g))
    if name == "blocked_individual":
        return design("blocked_individual", n=n, J=J, r2_1=r2_1 if g else 0.0, g=g, blocks="fixed")
    if name == "cluster2":
        return design("cluster2", n=n, J=J, rho2=rho2, r2_1=r2_1 if g else 0.0, r2_2=r2_2 if g else 0.0, g=g,
                      imbalance=bool(g))
    if name == "blocked_cluster":
        return design("blocked_cluster", n=n, J=per_block, K=K, rho2=rho2, r2_1=r2_1 if g else 0.0,
                      r2_2=r2_2 if g else 0.0, g=g, blocks="fixed")
    if name == "cluster3":
        rho3_ = min(rho3, 0.99 - rho2)
        return design("cluster3", n=n, J=per_block, K=K, rho2=max(rho2 - rho3_, 0.0), rho3=rho3_,
                      r2_1=r2_1 if g else 0.0, r2_2=r2_2 if g else 0.0, g=g, imbalance=bool(g))
    raise InputError(f"Unknown candidate design {name!r}.")


def compare_designs(candidates: Sequence[str], params: DesignParameters, setting: Setting, *,
                    delivery: str = "school", has_pretest: bool = True,
                    effects: Sequence[float] | None = None) -> Plan:
    """The candidates side by side and the recommendation (see the module docstring)."""
    if not candidates:
        raise InputError("No candidate designs: list at least one in 'candidates'.")
    excluded = {c: "below_delivery" for c in candidates if _ORDER[RANDOMISES[c]] < _ORDER[delivery]}
    kept = [c for c in candidates if c not in excluded]
    if not kept:
        raise InputError(f"Every candidate randomises below the delivery level '{delivery}': add 'cluster2' "
                         "(schools) or 'cluster3' (municipalities) to the candidates.")
    designs: dict[str, Design] = {}
    for c in kept:
        try:
            designs[c] = build_design(c, params, setting, has_pretest=has_pretest)
        except InputError:
            excluded[c] = "too_few_units"
    if not designs:
        raise InputError("No candidate design can be formed with the units available: add schools or municipalities.")
    cands = [bud.Candidate(c, d) for c, d in designs.items()]
    table = bud.compare(cands, setting.costs, target=setting.target, budget=setting.budget, alpha=setting.alpha,
                        power_=setting.power)
    needed = bud.cheapest(cands, setting.costs, target=setting.target, budget=setting.budget, alpha=setting.alpha,
                          power_=setting.power)
    needed["feasible"] = _feasible(needed, setting)
    needed = needed.iloc[np.lexsort((needed["cost"].to_numpy(), ~needed["feasible"].to_numpy()))]
    grid = list(effects) if effects is not None else [round(x, 3) for x in np.linspace(0.02, 0.6, 30)]
    curves = pd.concat([power_curve(d, grid, alpha=setting.alpha).assign(design=c) for c, d in designs.items()],
                       ignore_index=True)
    reasons: list[tuple[str, dict[str, Any]]] = []
    feasible = needed[needed["feasible"]]
    if len(feasible):
        best = str(feasible.index[0])
        row = feasible.iloc[0]
        reaches = True
        reasons.append(("cheapest", {"design": best, "cost": float(row["cost"]), "target": setting.target,
                                     "units": float(row["units_needed"]), "solves": str(row["solves"])}))
        others = feasible.iloc[1:]
        if len(others):
            reasons.append(("next", {"design": str(others.index[0]), "cost": float(others.iloc[0]["cost"])}))
    else:
        within = table[table["within_budget"]] if "within_budget" in table else table
        pool = within if len(within) else table
        best = str(pool["mdes"].idxmin())
        reaches = False
        reasons.append(("closest", {"design": best, "mdes": float(pool.loc[best, "mdes"]), "target": setting.target,
                                    "within_budget": bool(len(within))}))
    if has_pretest:
        reasons.append(("pretest", {"r2_1": params.value("r2_1") if "r2_1" in params.table.index else 0.0}))
    for c, why in excluded.items():
        reasons.append((why, {"design": c}))
    return Plan(table=table, needed=needed, curves=curves, designs=designs, excluded=excluded, recommended=best,
                reaches_target=reaches, reasons=reasons)


def _feasible(needed: pd.DataFrame, setting: Setting) -> pd.Series:
    """A resized design is feasible when it is within budget (``cheapest`` checked it) and needs
    no more schools, pupils and municipalities than there are."""
    ok = []
    for _, row in needed.iterrows():
        schools = 0.0 if math.isnan(row["schools"]) else row["schools"]
        fits = (schools <= setting.schools and row["pupils"] <= setting.schools * setting.pupils_per_school
                and (row["solves"] != "K" or row["units_needed"] <= setting.municipalities))
        ok.append(bool(row["feasible"]) and bool(fits))
    return pd.Series(ok, index=needed.index)
