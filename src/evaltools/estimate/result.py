"""The one result type every estimator in :mod:`evaltools.estimate` returns.

An :class:`Estimate` is a single estimand: the number, its standard error, a
confidence interval, a p-value, the sample it came from and how it was made.
Estimators that produce many numbers (event-study coefficients, group-time
ATTs, balance rows) return an object that holds a tidy table and hands out
:class:`Estimate` objects for its headline numbers.

``evaltools.report.record`` stores an Estimate through :meth:`Estimate.to_dict`,
so every recorded effect carries its design and options into ``results.json``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    """One estimated quantity with its uncertainty and provenance.

    Attributes
    ----------
    estimand: what is estimated, e.g. ``"ATT"`` or ``"ATT(2019, 2021)"``.
    estimate, se: the point estimate and its standard error.
    ci_low, ci_high: the confidence interval at level ``level``.
    pvalue: two-sided p-value of H0: estimand = 0.
    n: sample sizes by name, e.g. ``{"units": 500, "treated": 191, "clusters": 43}``.
    method: the estimator, e.g. ``"Callaway-Sant'Anna (2021), doubly robust"``.
    options: the options it was called with (control group, clustering, ...).
    diagnostics: anything else worth keeping (bandwidth, pre-trend test, ...).
    """

    estimand: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float
    n: dict[str, int] = field(default_factory=dict)
    method: str = ""
    level: float = 0.95
    options: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_normal(
        cls,
        estimand: str,
        estimate: float,
        se: float,
        *,
        level: float = 0.95,
        df: float | None = None,
        **kwargs: Any,
    ) -> "Estimate":
        """Build an estimate with a Wald CI and p-value: t = b / se.

        With ``df`` the reference distribution is Student's t with ``df``
        degrees of freedom (e.g. G - 1 for G clusters), otherwise N(0, 1).
        """
        dist = stats.t(df) if df is not None else stats.norm()
        crit = float(dist.ppf(0.5 + level / 2))
        if se > 0 and math.isfinite(se):
            p = float(2 * dist.sf(abs(estimate / se)))
        else:
            p = float("nan")
        return cls(
            estimand=estimand,
            estimate=float(estimate),
            se=float(se),
            ci_low=float(estimate - crit * se),
            ci_high=float(estimate + crit * se),
            pvalue=p,
            level=level,
            **kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (used by ``evaltools.report.record``)."""
        return {"type": "estimate", **asdict(self)}

    def to_frame(self) -> pd.DataFrame:
        """One row: estimand, estimate, se, ci_low, ci_high, pvalue and the n's."""
        row = {
            "estimand": self.estimand,
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "pvalue": self.pvalue,
            **{f"n_{k}": v for k, v in self.n.items()},
        }
        return pd.DataFrame([row]).set_index("estimand")

    def __repr__(self) -> str:
        pct = f"{self.level:.0%}"
        ns = ", ".join(f"{k}={v:,}" for k, v in self.n.items())
        lines = [
            f"{self.estimand}: {self.estimate:.4g} (SE {self.se:.4g})",
            f"  {pct} CI [{self.ci_low:.4g}, {self.ci_high:.4g}], p = {self.pvalue:.3g}",
        ]
        if ns:
            lines.append(f"  n: {ns}")
        if self.method:
            lines.append(f"  method: {self.method}")
        if self.options:
            opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
            lines.append(f"  options: {opts}")
        return "\n".join(lines)
