"""Inference beyond the estimators: power and minimum detectable effects, multiple
testing, sensitivity analysis, cost-effectiveness, bootstrap inference."""

# Wild cluster bootstrap (issue 5); it lives in evaltools.estimate.wild_bootstrap.
from evaltools.estimate.wild_bootstrap import WildBootstrapResult, wild_cluster_bootstrap  # noqa: E402,F401

# Power, multiple testing, sensitivity and cost (issue 6).
from evaltools.inference.cost import CostPerOutcome, CostPerPupil, cost_per_outcome, cost_per_pupil  # noqa: E402,F401
from evaltools.inference.multiple import (  # noqa: E402,F401
    ClusterCorrection,
    MultipleTesting,
    benjamini_hochberg,
    romano_wolf,
    wwc_cluster_correction,
)
from evaltools.inference.power_analysis import (  # noqa: E402,F401
    PowerResult,
    mdes,
    mdes_curve,
    multiplier,
    plot_mdes_curve,
    power,
    sample_size,
)
from evaltools.inference.sensitivity import EValue, e_value  # noqa: E402,F401
from evaltools.inference.honest_did import (  # noqa: E402,F401
    HonestDiDResult,
    honest_did,
    rm_identified_set,
)
from evaltools.inference.simulation import SimulatedPower, simulate_power, staggered_did_power  # noqa: E402,F401
