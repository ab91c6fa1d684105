"""The EEF cost rating: a programme's cost per pupil per year in one of five bands.

The Teaching and Learning Toolkit (EEF) rates cost from the approximate cost per pupil per
year in pounds sterling: very low (up to £80), low (£80-£200), moderate (£200-£720), high
(£720-£1,200), very high (over £1,200); bands and source in ``standards/data/eef_cost_bands.csv``.
A cost in another currency is converted at ``gbp_per_unit`` pounds per unit; for euros the
default is :data:`GBP_PER_EUR`, the European Central Bank's euro reference rate for sterling,
2023 annual average (0.86979). A cost exactly on a band's upper limit belongs to that band.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evaltools.core import inputs as ck
from evaltools.standards._data import load

#: Pounds per euro: ECB euro foreign exchange reference rate, GBP, average of 2023.
GBP_PER_EUR = 0.86979
_RATES = {"GBP": 1.0, "EUR": GBP_PER_EUR}


@dataclass(frozen=True)
class CostRating:
    """One EEF cost band: ``code`` (``very_low`` ... ``very_high``), ``pounds`` (1-5), the cost
    per pupil per year as given and in pounds, and the band's limits in pounds."""

    code: str
    pounds: int
    per_pupil_per_year: float
    currency: str
    per_pupil_per_year_gbp: float
    gbp_per_unit: float
    band_low_gbp: float
    band_high_gbp: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"type": "eef_cost_rating", "code": self.code, "pounds": self.pounds,
                "per_pupil_per_year": self.per_pupil_per_year, "currency": self.currency,
                "per_pupil_per_year_gbp": self.per_pupil_per_year_gbp, "gbp_per_unit": self.gbp_per_unit,
                "band_low_gbp": self.band_low_gbp, "band_high_gbp": self.band_high_gbp}

    def __repr__(self) -> str:
        return (f"EEF cost rating: {self.code.replace('_', ' ')} ({'£' * self.pounds}); "
                f"{self.per_pupil_per_year:,.2f} {self.currency} = £{self.per_pupil_per_year_gbp:,.2f} per pupil per year")


def cost_bands():
    """The EEF cost bands (pounds, code, upper limit in GBP) as a DataFrame."""
    return load("eef_cost_bands.csv").copy()


def eef_cost_rating(cost: Any, currency: str | None = None, *, gbp_per_unit: float | None = None) -> CostRating:
    """The EEF cost band of ``cost``: a cost per pupil per year, or an object with
    ``per_pupil_per_year`` and ``currency`` (:func:`evaltools.inference.cost_per_pupil`).

    ``currency``: ``"EUR"`` (default, converted at :data:`GBP_PER_EUR`) or ``"GBP"``; any other
    currency needs ``gbp_per_unit`` (pounds per unit of it).
    """
    if hasattr(cost, "per_pupil_per_year"):
        currency = currency or getattr(cost, "currency", None)
        cost = cost.per_pupil_per_year
    value = ck.nonnegative("cost per pupil per year", cost)
    cur = str(currency or "EUR").upper()
    if gbp_per_unit is None:
        if cur not in _RATES:
            raise ck.InputError(f"No exchange rate for {cur!r}: give gbp_per_unit (pounds per {cur}) to rate the cost.")
        rate = _RATES[cur]
    else:
        rate = ck.positive("gbp_per_unit", gbp_per_unit)
    gbp = value * rate
    low = 0.0
    for row in cost_bands().itertuples(index=False):
        high = None if isinstance(row.upper_gbp, float) and math.isnan(row.upper_gbp) else float(row.upper_gbp)
        if high is None or gbp <= high + 1e-9:
            return CostRating(code=str(row.code), pounds=int(row.pounds), per_pupil_per_year=value, currency=cur,
                              per_pupil_per_year_gbp=gbp, gbp_per_unit=rate, band_low_gbp=low, band_high_gbp=high)
        low = high
    raise AssertionError("the last cost band has no upper limit")  # pragma: no cover
