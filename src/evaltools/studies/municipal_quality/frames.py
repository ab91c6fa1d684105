"""Old place of :mod:`evaltools.studies.shared.frames` (the frames every indicator of a report is
computed from, built once per data set), now shared by several studies; every name still works."""
from __future__ import annotations

from evaltools.studies.shared.frames import (  # noqa: F401  re-exported
    _CACHE,
    RISK_GRADES,
    TESTS,
    T,
    _key,
    _pupil_codes,
    _span,
    period,
    pupil_base,
    remember,
    renumbered,
    school_labels,
    scores_wide,
)

__all__ = ["TESTS", "RISK_GRADES", "remember", "school_labels", "scores_wide", "pupil_base", "period", "renumbered"]
