"""WWC sample attrition and baseline equivalence rules.

References: What Works Clearinghouse (2020), *Standards Handbook v4.1*, Table II.1 (the
attrition boundaries; unchanged in the v5.0 Procedures and Standards Handbook, 2022) and
the baseline-equivalence thresholds of the same handbooks (|ES| <= 0.05 satisfied,
0.05 < |ES| <= 0.25 requires statistical adjustment, > 0.25 not satisfied).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import pandas as pd

from evaltools.core import inputs as ck
from evaltools.core.result import record_dict
from evaltools.standards._data import load

Boundary = Literal["cautious", "optimistic"]


def attrition_boundaries() -> pd.DataFrame:
    """Both WWC boundaries, every row: overall (%) -> highest low-attrition differential."""
    return load("wwc_attrition_boundaries.csv").copy()


@lru_cache(maxsize=None)
def _boundary(boundary: str) -> dict[int, float]:
    tab = load("wwc_attrition_boundaries.csv")
    return {int(o): float(v) for o, v in zip(tab["overall"], tab[boundary])}


def max_differential(overall_pct: float, boundary: Boundary = "cautious",
                     rounding: Literal["conservative", "nearest"] = "conservative") -> float:
    """Highest differential attrition (percentage points) still "low" at ``overall_pct``.

    The WWC tables hold whole-percent rows. A non-integer overall rate maps to rows as:

    * ``rounding="conservative"`` (default): the smaller boundary of the two rows either
      side (floor and ceiling), so a study is never called low attrition when a
      neighbouring row would call it high;
    * ``rounding="nearest"``: the row of the overall rate rounded half up.

    Returns ``nan`` when the overall rate lies beyond the table (cautious > 57 %,
    optimistic > 65 %): such a sample has high attrition whatever the differential.
    """
    if boundary not in ("cautious", "optimistic"):
        raise ck.InputError(
            f"Unknown attrition boundary {boundary!r}; use 'cautious' (when the intervention "
            "may itself affect who leaves the sample, e.g. dropout prevention) or "
            "'optimistic'."
        )
    if rounding not in ("conservative", "nearest"):
        raise ck.InputError(f"Unknown rounding {rounding!r}; use 'conservative' or 'nearest'.")
    x = ck.nonnegative("overall_pct", overall_pct)
    tab = _boundary(boundary)
    if rounding == "nearest":
        rows = [int(math.floor(x + 0.5 + 1e-9))]
    else:
        rows = sorted({int(math.floor(x + 1e-9)), int(math.ceil(x - 1e-9))})
    vals = []
    for r in rows:
        v = tab.get(r, float("nan"))
        vals.append(float(v) if pd.notna(v) else float("nan"))
    if any(math.isnan(v) for v in vals):
        return float("nan")
    return min(vals)


@dataclass(frozen=True)
class Attrition:
    """Overall and differential attrition and the WWC verdict (low or high)."""

    n_randomised_t: int
    n_randomised_c: int
    n_analysed_t: int
    n_analysed_c: int
    attrition_t: float
    attrition_c: float
    overall: float
    differential: float
    boundary: str
    max_differential: float
    level: str
    reason: str

    @property
    def low(self) -> bool:
        return self.level == "low"

    def to_dict(self) -> dict:
        return record_dict(self, "wwc_attrition")

    def to_frame(self) -> pd.DataFrame:
        """One row with every count, rate (in percent) and the verdict."""
        return pd.DataFrame([{
            "n_randomised_t": self.n_randomised_t, "n_randomised_c": self.n_randomised_c,
            "n_analysed_t": self.n_analysed_t, "n_analysed_c": self.n_analysed_c,
            "attrition_t_pct": self.attrition_t, "attrition_c_pct": self.attrition_c,
            "overall_pct": self.overall, "differential_pct": self.differential,
            "boundary": self.boundary, "max_differential_pct": self.max_differential,
            "attrition": self.level,
        }])

    def __repr__(self) -> str:
        return (
            f"WWC attrition: {self.level.upper()} ({self.boundary} boundary)\n"
            f"  overall {self.overall:.1f} %, differential {self.differential:.1f} pp "
            f"(treatment {self.attrition_t:.1f} %, comparison {self.attrition_c:.1f} %)\n"
            f"  randomised {self.n_randomised_t:,} / {self.n_randomised_c:,}, analysed "
            f"{self.n_analysed_t:,} / {self.n_analysed_c:,}\n"
            f"  {self.reason}"
        )


def wwc_attrition(
    n_randomised_t: int,
    n_randomised_c: int,
    n_analysed_t: int,
    n_analysed_c: int,
    boundary: Boundary = "cautious",
    *,
    rounding: Literal["conservative", "nearest"] = "conservative",
) -> Attrition:
    """Overall and differential attrition and whether it is low or high (WWC).

    attrition_t = 1 - analysed_t / randomised_t (likewise for c);
    overall = 1 - (analysed_t + analysed_c) / (randomised_t + randomised_c);
    differential = |attrition_t - attrition_c|, all in percent.
    Attrition is low when the differential is at or below the boundary's value for the
    overall rate (see :func:`max_differential` for how non-integer rates map to rows).
    Use ``boundary="cautious"`` when the intervention may change who stays in the sample
    (dropout prevention does), ``"optimistic"`` otherwise, as the review protocol says.
    """
    rt = ck.count("n_randomised_t", n_randomised_t)
    rc = ck.count("n_randomised_c", n_randomised_c)
    at = ck.count("n_analysed_t", n_analysed_t, minimum=0)
    ac = ck.count("n_analysed_c", n_analysed_c, minimum=0)
    if at > rt:
        raise ck.InputError(
            f"n_analysed_t={at} exceeds n_randomised_t={rt}: the analysed sample cannot be "
            "larger than the randomised one. Pupils who joined after randomisation are "
            "'joiners' and must not be counted here."
        )
    if ac > rc:
        raise ck.InputError(
            f"n_analysed_c={ac} exceeds n_randomised_c={rc}: the analysed sample cannot be "
            "larger than the randomised one."
        )
    att_t = 100.0 * (1 - at / rt)
    att_c = 100.0 * (1 - ac / rc)
    overall = 100.0 * (1 - (at + ac) / (rt + rc))
    diff = abs(att_t - att_c)
    limit = max_differential(overall, boundary, rounding)
    if math.isnan(limit):
        level = "high"
        top = 57 if boundary == "cautious" else 65
        reason = (f"Overall attrition {overall:.1f} % is beyond the {boundary} boundary "
                  f"(last row {top} %): high at any differential.")
    elif diff <= limit + 1e-9:
        level = "low"
        reason = (f"Differential {diff:.1f} pp is within the {boundary} limit of {limit:.1f} pp "
                  f"at {overall:.1f} % overall attrition.")
    else:
        level = "high"
        reason = (f"Differential {diff:.1f} pp exceeds the {boundary} limit of {limit:.1f} pp "
                  f"at {overall:.1f} % overall attrition.")
    return Attrition(rt, rc, at, ac, att_t, att_c, overall, diff, boundary, limit, level, reason)


BaselineStatus = Literal["satisfied", "adjustment required", "not satisfied"]


@dataclass(frozen=True)
class BaselineEquivalence:
    """WWC baseline-equivalence verdict for one baseline effect size."""

    es: float
    status: str

    @property
    def satisfied_without_adjustment(self) -> bool:
        return self.status == "satisfied"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"baseline_es": self.es, "status": self.status}])

    def to_dict(self) -> dict:
        return record_dict(self, "baseline_equivalence")

    def __repr__(self) -> str:
        rule = {"satisfied": "|ES| <= 0.05",
                "adjustment required": "0.05 < |ES| <= 0.25: the impact model must adjust for it",
                "not satisfied": "|ES| > 0.25"}[self.status]
        return f"Baseline equivalence: {self.status} (ES = {self.es:.3f}; {rule})"


def baseline_equivalence(es: float) -> BaselineEquivalence:
    """Classify a baseline difference (in effect-size units) by the WWC rule.

    ``|es| <= 0.05``: satisfied; ``0.05 < |es| <= 0.25``: satisfied only if the impact
    model adjusts for this characteristic ("adjustment required"); ``|es| > 0.25``: not
    satisfied. ``es`` is compared after rounding to 10 decimals so that 0.05 computed in
    floating point counts as 0.05.
    """
    if hasattr(es, "value"):
        es = es.value
    x = ck.finite("es", es)
    a = round(abs(x), 10)
    if a <= 0.05:
        status = "satisfied"
    elif a <= 0.25:
        status = "adjustment required"
    else:
        status = "not satisfied"
    return BaselineEquivalence(es=x, status=status)


def baseline_equivalence_table(effect_sizes: dict[str, float] | pd.Series) -> pd.DataFrame:
    """Classify several baseline characteristics; one row per characteristic."""
    items = effect_sizes.items()
    rows = [{"characteristic": k, "baseline_es": float(v),
             "status": baseline_equivalence(v).status} for k, v in items]
    if not rows:
        raise ck.InputError("Give at least one baseline effect size.")
    return pd.DataFrame(rows).set_index("characteristic")
