"""Inference beyond the estimators: power and minimum detectable effects, multiple
testing, sensitivity analysis, cost-effectiveness, bootstrap inference."""

# Wild cluster bootstrap (issue 5); it lives in evaltools.estimate.wild_bootstrap.
from evaltools.estimate.wild_bootstrap import WildBootstrapResult, wild_cluster_bootstrap  # noqa: E402,F401
