"""The designs: every estimator returns an :class:`~evaltools.estimate.result.Estimate`
or a result object holding a tidy table and Estimates for its headline numbers."""
from evaltools.estimate.result import Estimate

__all__ = ["Estimate"]
