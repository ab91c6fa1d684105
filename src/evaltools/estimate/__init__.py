"""The designs: every estimator returns an :class:`~evaltools.estimate.result.Estimate`
or a result object holding a tidy table and Estimates for its headline numbers."""
from evaltools.estimate.result import Estimate

__all__ = ["Estimate"]

# Matching, weighting, balance and multilevel models (issue 8).
from evaltools.estimate.multilevel import MultilevelResult, multilevel  # noqa: E402

__all__ += ["multilevel", "MultilevelResult"]

# Wild cluster bootstrap with fixed effects (issue 5).
from evaltools.estimate.wild_bootstrap import WildBootstrapResult, wild_cluster_bootstrap  # noqa: E402

__all__ += ["wild_cluster_bootstrap", "WildBootstrapResult"]

# Callaway & Sant'Anna staggered DiD (issue 5).
from evaltools.estimate.staggered import AggregatedATT, ATTgtResult, att_gt  # noqa: E402

__all__ += ["att_gt", "ATTgtResult", "AggregatedATT"]
