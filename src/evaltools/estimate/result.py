"""``Estimate`` lives in :mod:`evaltools.core.result` (below estimate, standards and report);
this name keeps ``from evaltools.estimate.result import Estimate`` working."""
from evaltools.core.result import Estimate

__all__ = ["Estimate"]
