"""The designs, by family: every estimator returns an :class:`~evaltools.core.result.Estimate`
or a result holding a tidy table and Estimates for its headline numbers.

- ``diff_in_diff/``: 2x2 and two-way fixed effects (``classic``), event studies
  (``event_time``), staggered Callaway & Sant'Anna (``staggered`` and ``_cs_*``), the wild
  cluster bootstrap (``wild_bootstrap``);
- ``matching_weighting/``: propensity scores, matching, inverse-probability and doubly
  robust weighting, coefficient stability (Oster's delta), balance tables (``balance_checks``);
- ``multilevel_models/``: linear mixed models (``mixed_model``);
- ``discontinuity/``: sharp and fuzzy regression discontinuity (``local_polynomial``);
- ``survival/``: Kaplan-Meier curves and the log-rank test (``curves``), discrete-time
  hazard models and cumulative incidence (``hazard_models``);
- shared by the families: ``cluster_robust`` (CR1/CR2 covariances), ``fixed_effects``
  (demeaning), ``glm`` (IRLS with a cluster-robust covariance, the clustered difference in
  means, g-computation: used by ``survival.hazard_models`` and the studies), ``descriptive``
  (clustered means).

Import the names from here: ``from evaltools.estimate import att_gt, rd, twfe``. The
vocabulary they share (argument order and names, result methods) is in ``docs/api.md``.
Names are imported from their modules on first use (see ``evaltools._lazy``, which reads
the list below), so ``from evaltools.estimate import att_gt`` loads only what ``att_gt``
needs; editors and type checkers read the same list.
"""
from typing import TYPE_CHECKING

from evaltools._lazy import install

if TYPE_CHECKING:
    from evaltools.core.result import Estimate
    from evaltools.estimate.descriptive import cluster_mean
    from evaltools.estimate.diff_in_diff.classic import DiD2x2Result, TWFEResult, did_2x2, twfe
    from evaltools.estimate.diff_in_diff.event_time import EventStudyResult, event_study
    from evaltools.estimate.diff_in_diff.staggered import AggregatedATT, ATTgtResult, att_gt
    from evaltools.estimate.diff_in_diff.wild_bootstrap import WildBootstrapResult, wild_cluster_bootstrap
    from evaltools.estimate.discontinuity.local_polynomial import DensityTest, RDResult, rd, rd_density_test
    from evaltools.estimate.matching_weighting.balance_checks import BalanceTable, balance_table
    from evaltools.estimate.matching_weighting.matching import MatchDiDResult, MatchResult, match, match_did
    from evaltools.estimate.matching_weighting.propensity import PropensityScore, propensity_score
    from evaltools.estimate.matching_weighting.stability import OsterResult, oster_delta
    from evaltools.estimate.matching_weighting.weighting import aipw, ipw
    from evaltools.estimate.multilevel_models.mixed_model import MultilevelResult, multilevel
    from evaltools.estimate.survival.curves import KaplanMeierResult, LogRankTest, kaplan_meier
    from evaltools.estimate.survival.hazard_models import (CumulativeIncidence, HazardResult, discrete_time_hazard,
                                                           person_period)

install(__name__)
