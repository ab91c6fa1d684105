"""The report's own checks, with messages an education board can read.

Run at the end of the notebook (and by nbval): each failure is a :class:`ReportCheckError`
(an :class:`evaltools.core.errors.DataError`) that says what is inconsistent, for which
municipality and what to do, never a bare ``AssertionError``.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from evaltools.core.errors import DataError


class ReportCheckError(DataError, ValueError):
    """A number of the municipal report failed a consistency check."""


def _fail(area: str, what: str, fix: str) -> None:
    raise ReportCheckError(f"Report for {area}: {what}. {fix}")


def check_interval(estimate: Any, area: str, what: str, lower: float = 0.0, upper: float = 100.0) -> None:
    """The estimate lies in its interval and the interval inside ``[lower, upper]``."""
    if estimate is None:
        return
    lo, est, hi = float(estimate.ci_low), float(estimate.estimate), float(estimate.ci_high)
    if any(math.isnan(v) for v in (lo, est, hi)):
        _fail(area, f"{what} has no interval (only {estimate.n.get('observations', 0)} observations)",
              "Choose a longer period or report Latvia-wide figures only.")
    if not lower <= lo <= est <= hi <= upper:
        _fail(area, f"{what} = {est:.1f} with interval {lo:.1f} to {hi:.1f}, outside the possible range "
                    f"{lower:g} to {upper:g}", "This is a fault in evaltools: please report it with the params file.")


def check_adds_up(table: pd.DataFrame, total_label: str, columns: list[str], area: str) -> None:
    """The units' counts add up to the area's total row."""
    units = table.drop(index=total_label)
    for col in columns:
        if int(units[col].sum()) != int(table.loc[total_label, col]):
            _fail(area, f"the schools' '{col}' add up to {int(units[col].sum())}, the total row says "
                        f"{int(table.loc[total_label, col])}",
                  "Each pupil-year must belong to exactly one school of the municipality: check the extract's "
                  "school codes (schools table) for duplicates or missing schools.")


def check_published(table: Any, area: str) -> None:
    """Disclosure control was applied to a published table (its small counts are hidden)."""
    from evaltools.core.errors import DisclosureError
    from evaltools.report import disclosure

    try:
        disclosure.assert_safe(table)
    except DisclosureError as exc:
        _fail(area, f"a published table is not protected ({exc})", "Publish it through disclosure.protect.")
