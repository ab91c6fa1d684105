"""The designs: every estimator returns an :class:`~evaltools.estimate.result.Estimate`
or a result object holding a tidy table and Estimates for its headline numbers."""
from evaltools.estimate.result import Estimate

__all__ = ["Estimate"]

# Matching, weighting, balance and multilevel models (issue 8).
from evaltools.estimate.multilevel import MultilevelResult, multilevel  # noqa: E402

__all__ += ["multilevel", "MultilevelResult"]

# 2x2 DiD, two-way FE, event studies, wild cluster bootstrap with fixed effects (issue 5).
from evaltools.estimate.did import DiD2x2Result, TWFEResult, did_2x2, twfe  # noqa: E402
from evaltools.estimate.event_study import EventStudyResult, event_study  # noqa: E402
from evaltools.estimate.wild_bootstrap import WildBootstrapResult, wild_cluster_bootstrap  # noqa: E402

__all__ += ["wild_cluster_bootstrap", "WildBootstrapResult", "did_2x2", "twfe", "DiD2x2Result",
            "TWFEResult", "event_study", "EventStudyResult"]

# Callaway & Sant'Anna staggered DiD (issue 5).
from evaltools.estimate.staggered import AggregatedATT, ATTgtResult, att_gt  # noqa: E402

__all__ += ["att_gt", "ATTgtResult", "AggregatedATT"]

# Propensity scores, matching, weighting, balance, coefficient stability (issue 8).
from evaltools.estimate.propensity import PropensityScore, propensity_score  # noqa: E402
from evaltools.estimate.weighting import aipw, ipw  # noqa: E402
from evaltools.estimate.matching import MatchDiDResult, MatchResult, match, match_did  # noqa: E402
from evaltools.estimate.balance import BalanceTable, balance_table  # noqa: E402
from evaltools.estimate.stability import OsterResult, oster_delta  # noqa: E402

__all__ += ["propensity_score", "PropensityScore", "ipw", "aipw", "match", "MatchResult", "match_did",
            "MatchDiDResult", "balance_table", "BalanceTable", "oster_delta", "OsterResult"]

# Regression discontinuity, survival curves, discrete-time hazard (issue 7).
from evaltools.estimate.rd import DensityTest, RDResult, rd, rd_density_test  # noqa: E402

from evaltools.estimate.survival import KaplanMeierResult, LogRankTest, kaplan_meier  # noqa: E402

__all__ += ["rd", "RDResult", "rd_density_test", "DensityTest", "kaplan_meier", "KaplanMeierResult",
            "LogRankTest"]
from evaltools.estimate.hazard import (  # noqa: E402
    CumulativeIncidence, HazardResult, cumulative_incidence, discrete_time_hazard, person_period)

__all__ += ["discrete_time_hazard", "HazardResult", "cumulative_incidence", "CumulativeIncidence",
            "person_period"]
