"""The designs: every estimator returns an :class:`~evaltools.estimate.result.Estimate`
or a result object holding a tidy table and Estimates for its headline numbers.

Names are imported from their modules on first use (see ``evaltools._lazy``), so
``from evaltools.estimate import att_gt`` loads only what ``att_gt`` needs.
"""
from evaltools._lazy import install

_EXPORTS = {
    "result": ["Estimate"],
    "descriptive": ["cluster_mean"],
    # 2x2 DiD, two-way FE, event studies, wild cluster bootstrap with fixed effects (issue 5)
    "did": ["did_2x2", "twfe", "DiD2x2Result", "TWFEResult"],
    "event_study": ["event_study", "EventStudyResult"],
    "wild_bootstrap": ["wild_cluster_bootstrap", "WildBootstrapResult"],
    # Callaway & Sant'Anna staggered DiD (issue 5)
    "staggered": ["att_gt", "ATTgtResult", "AggregatedATT"],
    # propensity scores, matching, weighting, balance, stability, multilevel (issue 8)
    "propensity": ["propensity_score", "PropensityScore"],
    "weighting": ["ipw", "aipw"],
    "matching": ["match", "match_did", "MatchResult", "MatchDiDResult"],
    "balance": ["balance_table", "BalanceTable"],
    "stability": ["oster_delta", "OsterResult"],
    "multilevel": ["multilevel", "MultilevelResult"],
    # regression discontinuity, survival curves, discrete-time hazard (issue 7)
    "rd": ["rd", "rd_density_test", "RDResult", "DensityTest"],
    "survival": ["kaplan_meier", "KaplanMeierResult", "LogRankTest"],
    "hazard": ["discrete_time_hazard", "cumulative_incidence", "person_period", "HazardResult",
               "CumulativeIncidence"],
}

install(__name__, {name: module for module, names in _EXPORTS.items() for name in names})
