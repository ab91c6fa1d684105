"""Sensitivity to unmeasured confounding: the E-value (VanderWeele & Ding 2017).

The E-value is the minimum strength of association, on the risk-ratio scale, that an
unmeasured confounder would need with both the treatment and the outcome, above the
measured covariates, to explain away an observed association::

    E = RR + sqrt(RR (RR - 1))          for RR >= 1 (use 1 / RR for RR < 1)

The E-value of the confidence interval uses the limit closer to the null (1 if the
interval contains the null). Other measures are first put on the risk-ratio scale
(VanderWeele & Ding 2017, Annals of Internal Medicine 167(4), 268-274, Table):

* odds ratio, rare outcome (< 15 %): RR ~ OR; common outcome: RR ~ sqrt(OR);
* hazard ratio, rare outcome: RR ~ HR; common: RR ~ (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR));
* standardised mean difference d with SE s: RR ~ exp(0.91 d), CI exp(0.91 d -/+ 1.78 s).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from evaltools.core import inputs as ck
from evaltools.core.result import record_dict

Measure = Literal["RR", "OR", "HR", "SMD"]


def _e(rr: float) -> float:
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


def _to_rr(x: float, measure: str, rare: bool) -> float:
    if measure == "RR" or (measure in ("OR", "HR") and rare):
        return x
    if measure == "OR":
        return math.sqrt(x)
    if measure == "HR":
        return (1 - 0.5 ** math.sqrt(x)) / (1 - 0.5 ** math.sqrt(1 / x))
    raise AssertionError(measure)


@dataclass(frozen=True)
class EValue:
    """E-values of a point estimate and of its confidence limit closer to the null."""

    measure: str
    estimate: float
    ci_low: float | None
    ci_high: float | None
    rr: float
    rr_ci_low: float | None
    rr_ci_high: float | None
    e_value: float
    e_value_ci: float | None
    true: float
    note: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])

    def to_dict(self) -> dict:
        return record_dict(self, "e_value")

    def __repr__(self) -> str:
        ci = (f" [{self.ci_low:.3g}, {self.ci_high:.3g}]" if self.ci_low is not None else "")
        lines = [f"E-value for {self.measure} = {self.estimate:.3g}{ci} (as RR {self.rr:.3g})",
                 f"  point estimate: {self.e_value:.3f}"]
        if self.e_value_ci is not None:
            lines.append(f"  confidence limit: {self.e_value_ci:.3f}")
        lines.append(f"  {self.note}")
        return "\n".join(lines)


def e_value(estimate: float, ci_low: float | None = None, ci_high: float | None = None, *,
            measure: Measure = "RR", rare: bool = True, se: float | None = None,
            true: float = 1.0) -> EValue:
    """E-value of an observational estimate and of its confidence interval.

    ``measure``: "RR" (risk ratio), "OR" (odds ratio), "HR" (hazard ratio) - with
    ``rare=True`` when the outcome is under 15 % by the end of follow-up - or "SMD"
    (standardised mean difference, e.g. Hedges' g; give ``se`` for the CI).
    ``true``: the value to shift the estimate to (default: the null, 1; on the SMD scale
    give it as a risk ratio too).
    """
    m = str(measure).upper()
    if m not in ("RR", "OR", "HR", "SMD"):
        raise ck.InputError(f"Unknown measure {measure!r}; use 'RR', 'OR', 'HR' or 'SMD'.")
    tr = ck.positive("true", true)
    est = ck.finite("estimate", estimate)
    lo = hi = None
    if m == "SMD":
        if ci_low is not None or ci_high is not None:
            raise ck.InputError(
                "For measure='SMD' give the standard error 'se' instead of CI limits: the "
                "conversion exp(0.91 d -/+ 1.78 se) needs it."
            )
        rr = math.exp(0.91 * est)
        if se is not None:
            s = ck.positive("se", se)
            rlo, rhi = math.exp(0.91 * est - 1.78 * s), math.exp(0.91 * est + 1.78 * s)
        else:
            rlo = rhi = None
        note = "SMD converted with RR = exp(0.91 d) (VanderWeele & Ding 2017)."
    else:
        if est <= 0:
            raise ck.InputError(f"A {m} must be positive, got {est:g}. Did you pass a log ratio?")
        if (ci_low is None) != (ci_high is None):
            raise ck.InputError("Give both 'ci_low' and 'ci_high', or neither.")
        if ci_low is not None:
            lo, hi = ck.positive("ci_low", ci_low), ck.positive("ci_high", ci_high)
            if not lo <= est <= hi:
                raise ck.InputError(
                    f"The interval [{lo:g}, {hi:g}] does not contain the estimate {est:g}; "
                    "check the order of the arguments (estimate, ci_low, ci_high)."
                )
        rr = _to_rr(est, m, rare)
        rlo = _to_rr(lo, m, rare) if lo is not None else None
        rhi = _to_rr(hi, m, rare) if hi is not None else None
        note = {"RR": "Risk ratio used directly.",
                "OR": "Rare outcome: OR used as RR." if rare else "Common outcome: RR = sqrt(OR).",
                "HR": "Rare outcome: HR used as RR." if rare else
                "Common outcome: RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))."}[m]
    # shift to the chosen reference value
    r = rr / tr
    e_point = _e(r) if r != 1 else 1.0
    e_ci = None
    if rlo is not None and rhi is not None:
        lo_r, hi_r = rlo / tr, rhi / tr
        if lo_r <= 1 <= hi_r:
            e_ci = 1.0
        else:
            e_ci = _e(lo_r if r > 1 else hi_r)
    return EValue(measure=m, estimate=est, ci_low=lo if m != "SMD" else None,
                  ci_high=hi if m != "SMD" else None, rr=rr, rr_ci_low=rlo, rr_ci_high=rhi,
                  e_value=e_point, e_value_ci=e_ci, true=tr, note=note)
