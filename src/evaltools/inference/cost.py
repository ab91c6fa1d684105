"""Cost per pupil and cost per outcome (e.g. per dropout prevented) with a confidence set.

Cost per outcome is a ratio ``theta = C / (n * effect)``: programme cost over the number
of outcomes the programme caused (``effect`` is the change in the probability of the
outcome per pupil - a risk difference - and ``n`` the pupils served).

Its confidence set is Fieller's (Fieller 1954; in cost-effectiveness analysis Willan &
O'Brien 1996): the set of theta for which ``a - theta b`` is not significantly different
from 0, with ``a = C`` and ``b = n * effect``::

    (a - theta b)^2 <= z^2 (var_a + theta^2 var_b)

We use Fieller rather than the delta method because the ratio's denominator is an
estimated effect that is often close to zero: the delta method then gives a symmetric
interval that can include negative or absurdly small costs, whereas Fieller's set is
exact under normality of the effect. When the cost is known (``cost_se=0``) Fieller's set
is simply the effect's CI inverted: ``[C / (n U), C / (n L)]``. When the effect's CI
includes zero, the data cannot rule out that the programme prevents nothing, so the
set is unbounded: we report ``[C / (n U), inf)`` and say so (``bounded=False``). The delta
method is available (``method="delta"``) for comparison only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import pandas as pd
from scipy import stats

from evaltools.core import inputs as ck
from evaltools.core.result import Estimate, record_dict


@dataclass(frozen=True)
class CostPerPupil:
    """Total and per-pupil cost, with the components it is made of."""

    total_cost: float
    n_pupils: int
    per_pupil: float
    per_pupil_per_year: float
    years: float
    currency: str
    components: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.components.copy()

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self, "cost_per_pupil")

    def __repr__(self) -> str:
        return (f"Cost: {self.total_cost:,.0f} {self.currency} for {self.n_pupils:,} pupils = "
                f"{self.per_pupil:,.2f} {self.currency} per pupil "
                f"({self.per_pupil_per_year:,.2f} per pupil per year over {self.years:g} years)")


def cost_per_pupil(total_cost: float | None = None, n_pupils: int | None = None, *,
                   components: Mapping[str, float] | None = None, years: float = 1.0,
                   currency: str = "EUR") -> CostPerPupil:
    """Cost per pupil = total cost / pupils served (and per year over ``years``).

    Give ``total_cost`` or ``components`` (e.g. ``{"staff": 120_000, "transport":
    30_000}``; ingredients method, Levin et al. 2018); with both, they must agree.
    """
    n = ck.count("n_pupils", n_pupils)
    yrs = ck.positive("years", years)
    if components is not None:
        if not components:
            raise ck.InputError("'components' is empty; give at least one cost item.")
        comp = {str(k): ck.nonnegative(f"components[{k!r}]", v) for k, v in components.items()}
        total = sum(comp.values())
        if total_cost is not None and not math.isclose(total, ck.finite("total_cost", total_cost),
                                                       rel_tol=1e-9, abs_tol=1e-6):
            raise ck.InputError(
                f"total_cost={total_cost:,.2f} differs from the sum of components "
                f"{total:,.2f}; give one or make them agree."
            )
    elif total_cost is not None:
        total = ck.nonnegative("total_cost", total_cost)
        comp = {"total": total}
    else:
        raise ck.InputError("Give 'total_cost' or 'components'.")
    table = pd.DataFrame({"cost": comp}).rename_axis("component")
    table["per_pupil"] = table["cost"] / n
    table["share"] = table["cost"] / total if total > 0 else float("nan")
    return CostPerPupil(total_cost=total, n_pupils=n, per_pupil=total / n,
                        per_pupil_per_year=total / n / yrs, years=yrs, currency=currency,
                        components=table)


@dataclass(frozen=True)
class CostPerOutcome:
    """Cost per outcome with its confidence set (``estimate`` is an Estimate)."""

    estimate: Estimate
    outcomes: Estimate
    bounded: bool
    note: str
    currency: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        df = pd.concat([self.estimate.to_frame(), self.outcomes.to_frame()])
        df["bounded"] = [self.bounded, True]
        return df

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self, "cost_per_outcome")

    def __repr__(self) -> str:
        e = self.estimate
        hi = "no upper bound" if math.isinf(e.ci_high) else f"{e.ci_high:,.0f}"
        lo = "-" if math.isnan(e.ci_low) else f"{e.ci_low:,.0f}"
        pt = "undefined" if math.isnan(e.estimate) else f"{e.estimate:,.0f}"
        return (f"{e.estimand}: {pt} {self.currency}, {e.level:.0%} CI [{lo}, {hi}]\n"
                f"  outcomes caused: {self.outcomes.estimate:,.1f} "
                f"[{self.outcomes.ci_low:,.1f}, {self.outcomes.ci_high:,.1f}]\n"
                f"  method: {e.method}\n  {self.note}")


def _fieller(a: float, var_a: float, b: float, var_b: float, z: float) -> tuple[float, float, bool]:
    """Fieller set for a / b (independent a, b): (low, high, bounded)."""
    qa = b * b - z * z * var_b          # coefficient of theta^2
    qb = -2 * a * b
    qc = a * a - z * z * var_a
    disc = qb * qb - 4 * qa * qc
    if qa > 0 and disc >= 0:
        r = math.sqrt(disc)
        return (-qb - r) / (2 * qa), (-qb + r) / (2 * qa), True
    return float("nan"), float("nan"), False


def cost_per_outcome(total_cost: float, effect: float, se: float, n: int, *,
                     level: float = 0.95, method: Literal["fieller", "delta"] = "fieller",
                     cost_se: float = 0.0, df: float | None = None,
                     outcome: str = "dropout prevented", currency: str = "EUR") -> CostPerOutcome:
    """Cost per outcome caused, e.g. per dropout prevented, with a CI.

    ``effect``: the programme's effect on the probability of the good outcome per pupil
    (e.g. 0.04 = four fewer dropouts per 100 pupils; sign it so that positive is good),
    ``se`` its standard error, ``n`` the pupils served, ``total_cost`` the programme cost
    (``cost_se`` if it is itself uncertain, assumed independent of the effect).
    ``df``: use Student's t with ``df`` (e.g. clusters - 1) instead of the normal.
    See the module docstring for why Fieller's interval is the default.
    """
    C = ck.nonnegative("total_cost", total_cost)
    e = ck.finite("effect", effect)
    s = ck.positive("se", se)
    npup = ck.count("n", n)
    sc = ck.nonnegative("cost_se", cost_se)
    lvl = ck.level(level)
    if method not in ("fieller", "delta"):
        raise ck.InputError(f"Unknown method {method!r}; use 'fieller' or 'delta'.")
    if df is not None:
        dfv = ck.positive("df", df)
        z = float(stats.t.ppf(0.5 + lvl / 2, dfv))
        p = 2 * float(stats.t.sf(abs(e / s), dfv))
    else:
        z = float(stats.norm.ppf(0.5 + lvl / 2))
        p = 2 * float(stats.norm.sf(abs(e / s)))
    b, var_b = npup * e, (npup * s) ** 2
    outcomes = Estimate(estimand=f"{outcome}s caused", estimate=b, se=npup * s,
                        ci_low=b - z * npup * s, ci_high=b + z * npup * s, pvalue=p,
                        n={"pupils": npup}, method="n * effect", level=lvl)
    theta = C / b if b > 0 else float("nan")
    se_delta = abs(theta) * math.sqrt((sc / C) ** 2 + (s / e) ** 2) if b > 0 and C > 0 else float("nan")
    e_lo, e_hi = e - z * s, e + z * s
    if method == "delta":
        lo, hi = theta - z * se_delta, theta + z * se_delta
        bounded = math.isfinite(hi)
        how = "delta method (symmetric; for comparison only)"
        note = ("Delta-method interval: symmetric around the estimate and unreliable when the "
                "effect is imprecise; prefer method='fieller'.")
    else:
        how = "Fieller (1954) confidence set"
        lo, hi, bounded = _fieller(C, sc * sc, b, var_b, z)
        if bounded and e > 0:
            note = (f"The effect's {lvl:.0%} CI [{e_lo:.4g}, {e_hi:.4g}] excludes zero, so the "
                    "cost per outcome is bounded.")
        elif e_hi > 0:
            # the effect's CI reaches zero: no finite upper bound on the cost per outcome
            lo = C / (npup * e_hi) if sc == 0 else _fieller_lower_unbounded(C, sc, npup, e, s, z)
            hi, bounded = float("inf"), False
            note = (f"The effect's {lvl:.0%} CI [{e_lo:.4g}, {e_hi:.4g}] includes zero: the data "
                    f"are consistent with no {outcome} at all, so the cost per outcome has no "
                    "upper bound. Report the lower bound only.")
        else:
            lo, hi, bounded = float("nan"), float("nan"), False
            note = (f"The effect is not positive and its CI [{e_lo:.4g}, {e_hi:.4g}] excludes "
                    f"benefit: there is no cost per {outcome} to report.")
    est = Estimate(estimand=f"cost per {outcome}", estimate=theta, se=se_delta, ci_low=lo,
                   ci_high=hi, pvalue=p, n={"pupils": npup}, method=how, level=lvl,
                   options={"cost_se": sc, "df": df, "currency": currency},
                   diagnostics={"bounded": bounded, "effect": e, "effect_se": s,
                                "number_needed_to_treat": 1 / e if e > 0 else float("nan")})
    return CostPerOutcome(estimate=est, outcomes=outcomes, bounded=bounded, note=note,
                          currency=currency, details={"total_cost": C, "effect_ci": (e_lo, e_hi)})


def _fieller_lower_unbounded(C: float, sc: float, npup: int, e: float, s: float, z: float) -> float:
    """Lower end of the positive, unbounded Fieller set (qa <= 0 case), or 0."""
    b, var_b, var_a = npup * e, (npup * s) ** 2, sc * sc
    qa, qb, qc = b * b - z * z * var_b, -2 * C * b, C * C - z * z * var_a
    disc = qb * qb - 4 * qa * qc
    if qa == 0:
        return max(0.0, -qc / qb) if qb != 0 else 0.0
    if disc < 0:
        return 0.0  # the whole real line: every cost per outcome is compatible
    r = math.sqrt(disc)
    r1, r2 = sorted(((-qb - r) / (2 * qa), (-qb + r) / (2 * qa)))
    # qa < 0: the set is theta <= r1 or theta >= r2; its positive part starts at 0 when
    # r1 > 0, otherwise at r2
    return 0.0 if r1 > 0 else max(r2, 0.0)
