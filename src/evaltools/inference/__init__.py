"""Inference beyond the estimators: power and minimum detectable effects, multiple
testing, sensitivity analysis (E-values, HonestDiD bounds), cost-effectiveness,
bootstrap inference. Names load on first use (see ``evaltools._lazy``)."""
from evaltools._lazy import install

_EXPORTS = {
    # power, multiple testing, sensitivity and cost (issue 6)
    "cost": ["cost_per_outcome", "cost_per_pupil", "CostPerOutcome", "CostPerPupil"],
    "multiple": ["benjamini_hochberg", "romano_wolf", "wwc_cluster_correction", "ClusterCorrection",
                 "MultipleTesting", "subgroup_family"],
    "power_analysis": ["mdes", "mdes_curve", "multiplier", "plot_mdes_curve", "power", "sample_size",
                       "PowerResult"],
    "sensitivity": ["e_value", "EValue"],
    "simulation": ["simulate_power", "staggered_did_power", "SimulatedPower"],
    # sensitivity to violations of parallel trends (issue 7)
    "honest_did": ["honest_did", "honest_did_event_study", "rm_identified_set", "HonestDiDResult"],
    # the wild cluster bootstrap lives with the estimators (issue 5)
    "evaltools.estimate.diff_in_diff.wild_bootstrap": ["wild_cluster_bootstrap", "WildBootstrapResult"],
}

# honest_did is both a module and a function (legacy, see evaltools._lazy): the name is the function
install(__name__, {name: module for module, names in _EXPORTS.items() for name in names},
        shadowed=("honest_did",))

