"""Planning an evaluation before the programme starts (issue 18).

- ``plans``: MDES, power and sample size of individual, blocked (multi-site), 2- and 3-level
  cluster-randomised designs with PowerUp!'s inputs (Dong & Maynard 2013);
- ``parameters``: the ICCs and R-squared values those formulas need, estimated from the data
  with their uncertainty;
- ``allocation``: seeded (stratified, cluster) random assignment, re-randomisation against a
  balance criterion, a stepped roll-out schedule and the balance table;
- ``budget``: what each design costs, MDES against budget, the cheapest design reaching a target;
- ``rollout``: power of a staggered roll-out by simulation (no closed form exists).

A layer above :mod:`evaltools.inference` (whose power functions it builds on) and below
:mod:`evaltools.studies` (docs/architecture.md). Names load on first use (``evaltools._lazy``).
"""
from typing import TYPE_CHECKING

from evaltools._lazy import install

if TYPE_CHECKING:
    from evaltools.design.allocation import Allocation, allocate, stepped_schedule
    from evaltools.design.budget import Candidate, Costs, affordable, budget_curve, cheapest, compare, cost_of
    from evaltools.design.parameters import DesignParameters, design_parameters
    from evaltools.design.plans import Design, PlanResult, design, mdes, power, power_curve, sample_size
    from evaltools.design.rollout import rollout_power

install(__name__)
