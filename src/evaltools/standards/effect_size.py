"""Standardised effect sizes as the What Works Clearinghouse computes them.

* Hedges' g for continuous outcomes (individual and cluster-assigned designs, raw data or
  summary statistics, unadjusted or covariate-adjusted);
* the Cox index for binary outcomes;
* the improvement index.

Reference: What Works Clearinghouse (2022), *Procedures and Standards Handbook, Version
5.0*, Appendix E (effect sizes); Hedges, L. V. (2007), "Effect sizes in cluster-randomized
designs", *Journal of Educational and Behavioral Statistics* 32(4), 341-370.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.core import inputs as ck
from evaltools.core.result import record_dict

if TYPE_CHECKING:  # imported lazily: evaltools.estimate pulls in the estimators
    from evaltools.core.result import Estimate

#: Divisor that puts a log odds ratio on the scale of a standardised mean difference
#: (Cox 1970; WWC Procedures and Standards Handbook v5.0, Appendix E).
COX_DIVISOR = 1.65


@dataclass(frozen=True)
class EffectSize:
    """A standardised effect size with its standard error and a normal-theory CI.

    Attributes: ``value`` (the effect size), ``se``, ``ci_low``/``ci_high`` at ``level``,
    ``measure`` ("Hedges' g" or "Cox index"), ``method`` (formula used), ``inputs``
    (the numbers it was computed from) and ``details`` (the corrections applied).
    """

    value: float
    se: float
    ci_low: float
    ci_high: float
    measure: str
    method: str
    level: float = 0.95
    inputs: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def improvement_index(self) -> float:
        """WWC improvement index of this effect size (percentile points)."""
        return improvement_index(self.value)

    def to_estimate(self, estimand: str | None = None) -> Estimate:
        """The effect size as an :class:`~evaltools.core.result.Estimate`."""
        from evaltools.core.result import Estimate

        names = {"n_t": "treated", "n_c": "comparison", "n_clusters": "clusters"}
        n = {names[k]: int(v) for k, v in self.inputs.items() if k in names}
        return Estimate.from_normal(
            estimand or self.measure, self.value, self.se, level=self.level, n=n,
            method=self.method, diagnostics=dict(self.details),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row: measure, value, se, CI, improvement index and the inputs."""
        row = {
            "measure": self.measure,
            "value": self.value,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "level": self.level,
            "improvement_index": self.improvement_index,
            "method": self.method,
            **self.inputs,
        }
        return pd.DataFrame([row]).set_index("measure")

    def __float__(self) -> float:
        return self.value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``evaltools.report.record``."""
        return record_dict(self, "effect_size", improvement_index=self.improvement_index)

    def __repr__(self) -> str:
        pct = f"{self.level:.0%}"
        ins = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.inputs.items()
        )
        lines = [
            f"{self.measure} = {self.value:.3f} (SE {self.se:.3f}), "
            f"{pct} CI [{self.ci_low:.3f}, {self.ci_high:.3f}]",
            f"  improvement index: {self.improvement_index:+.1f} percentile points",
            f"  method: {self.method}",
        ]
        if ins:
            lines.append(f"  inputs: {ins}")
        return "\n".join(lines)


def _omega(df: float) -> float:
    """Small-sample bias correction J(df) = 1 - 3 / (4 df - 1) (Hedges 1981).

    With df = N - 2 this is the WWC's omega = 1 - 3 / (4N - 9).
    """
    return 1.0 - 3.0 / (4.0 * df - 1.0)


def _cluster_terms(n_total: float, icc: float, cluster_size: float) -> tuple[float, float, float]:
    """Hedges (2007) terms for a design with clusters in both arms.

    Returns (gamma, h, design_effect) where
    gamma = sqrt(1 - 2 (n - 1) rho / (N - 2)) corrects the total-variance effect size,
    h = [(N-2) - 2(n-1)rho]^2 / [(N-2)(1-rho)^2 + n(N-2n)rho^2 + 2(N-2n)rho(1-rho)]
    is its degrees of freedom and 1 + (n - 1) rho is the design effect.
    """
    N, rho, n = n_total, icc, cluster_size
    inner = 1.0 - 2.0 * (n - 1.0) * rho / (N - 2.0)
    if inner <= 0:
        raise ck.InputError(
            f"The cluster correction is undefined: 1 - 2(n-1)rho/(N-2) = {inner:.3g} <= 0 "
            f"for N={N:g}, average cluster size n={n:g}, icc={rho:g}. A design with so few "
            "clusters cannot support a standardised effect size; check 'cluster_size' and "
            "'n_clusters'."
        )
    gamma = math.sqrt(inner)
    num = ((N - 2.0) - 2.0 * (n - 1.0) * rho) ** 2
    den = (N - 2.0) * (1 - rho) ** 2 + n * (N - 2.0 * n) * rho**2 + 2.0 * (N - 2.0 * n) * rho * (1 - rho)
    h = num / den
    return gamma, h, 1.0 + (n - 1.0) * rho


def hedges_g(
    treatment: Any = None,
    comparison: Any = None,
    *,
    mean_t: float | None = None,
    mean_c: float | None = None,
    sd_t: float | None = None,
    sd_c: float | None = None,
    n_t: int | None = None,
    n_c: int | None = None,
    adjusted_diff: float | None = None,
    se_diff: float | None = None,
    icc: float | None = None,
    n_clusters: int | None = None,
    cluster_size: float | None = None,
    level: float = 0.95,
) -> EffectSize:
    """Hedges' g as in the WWC Procedures and Standards Handbook v5.0 (Appendix E).

    Give either the raw outcomes (``treatment``, ``comparison``) or the summary statistics
    (``mean_t``, ``mean_c``, ``sd_t``, ``sd_c``, ``n_t``, ``n_c``).

    Individual assignment::

        g = omega * (ybar_t - ybar_c) / S,   omega = 1 - 3 / (4N - 9)
        S = sqrt(((n_t - 1) s_t^2 + (n_c - 1) s_c^2) / (n_t + n_c - 2))
        SE(g) = sqrt((n_t + n_c) / (n_t n_c) + g^2 / (2N))

    Covariate-adjusted: pass ``adjusted_diff`` (the regression-adjusted mean difference);
    it replaces ybar_t - ybar_c, while S stays the *unadjusted* pooled SD. With
    ``se_diff`` (the SE of the adjusted difference from the impact model) the first term
    of the variance becomes (se_diff / S)^2.

    Cluster assignment (Hedges 2007; pass ``icc`` and ``n_clusters`` or ``cluster_size``;
    S is then the total, pupil-level SD)::

        g = omega_h * gamma * (ybar_t - ybar_c) / S_T,  gamma = sqrt(1 - 2(n-1) rho / (N-2))
        omega_h = 1 - 3 / (4h - 1), h as in Hedges (2007) eq. for the total-variance d
        SE(g) = sqrt((1/n_t + 1/n_c) (1 + (n-1) rho) + g^2 / (2h))

    With rho = 0 this reduces to the individual formula's correction (h = N - 2).
    The CI is g +/- z * SE (normal theory, as the WWC reports it).
    """
    lvl = ck.level(level)
    raw = treatment is not None or comparison is not None
    summary = [mean_t, mean_c, sd_t, sd_c, n_t, n_c]
    if raw:
        if treatment is None or comparison is None:
            raise ck.InputError(
                "Give both 'treatment' and 'comparison' outcome arrays, or neither and use "
                "the summary statistics (mean_t, mean_c, sd_t, sd_c, n_t, n_c)."
            )
        if any(v is not None for v in summary):
            raise ck.InputError(
                "Give either raw outcomes ('treatment', 'comparison') or summary statistics "
                "(mean_t, mean_c, sd_t, sd_c, n_t, n_c), not both."
            )
        yt = ck.sample("treatment", treatment)
        yc = ck.sample("comparison", comparison)
        mt, mc = float(yt.mean()), float(yc.mean())
        st, sc = float(yt.std(ddof=1)), float(yc.std(ddof=1))
        nt, nc = int(yt.size), int(yc.size)
    else:
        needed = {"sd_t": sd_t, "sd_c": sd_c, "n_t": n_t, "n_c": n_c}
        if adjusted_diff is None:
            needed.update({"mean_t": mean_t, "mean_c": mean_c})
        missing = [k for k, v in needed.items() if v is None]
        if missing:
            raise ck.InputError(
                "Missing summary statistic(s): " + ", ".join(missing) + ". Give raw outcome "
                "arrays, or means, SDs and group sizes (an adjusted difference still needs "
                "the unadjusted SDs and the group sizes)."
            )
        nt, nc = ck.count("n_t", n_t, minimum=2), ck.count("n_c", n_c, minimum=2)
        st, sc = ck.positive("sd_t", sd_t), ck.positive("sd_c", sd_c)
        mt = ck.finite("mean_t", mean_t) if mean_t is not None else float("nan")
        mc = ck.finite("mean_c", mean_c) if mean_c is not None else float("nan")

    N = nt + nc
    pooled = math.sqrt(((nt - 1) * st**2 + (nc - 1) * sc**2) / (N - 2))
    if pooled <= 0:
        raise ck.InputError(
            "The pooled standard deviation is 0: every outcome value is identical, so no "
            "standardised effect size exists. Check the outcome column."
        )
    if adjusted_diff is not None:
        diff = ck.finite("adjusted_diff", adjusted_diff)
        adjusted = True
    else:
        diff = mt - mc
        adjusted = False
    d = diff / pooled

    inputs: dict[str, Any] = {"n_t": nt, "n_c": nc}
    if not math.isnan(mt):
        inputs.update(mean_t=mt, mean_c=mc)
    inputs.update(sd_t=st, sd_c=sc, pooled_sd=pooled)
    if adjusted:
        inputs["adjusted_diff"] = diff

    if se_diff is not None:
        se_diff = ck.positive("se_diff", se_diff)
    clustered = icc is not None or n_clusters is not None or cluster_size is not None
    if clustered:
        if icc is None:
            raise ck.InputError(
                "A cluster-assigned design needs 'icc' (the intraclass correlation of the "
                "outcome). If it is unknown, the WWC default is 0.20 for achievement and 0.10 "
                "for behavioural and attitudinal outcomes."
            )
        rho = ck.proportion("icc", icc)
        if cluster_size is not None:
            n_bar = ck.positive("cluster_size", cluster_size)
            if n_clusters is not None:
                inputs["n_clusters"] = ck.count("n_clusters", n_clusters, minimum=2)
        elif n_clusters is not None:
            m = ck.count("n_clusters", n_clusters, minimum=2)
            n_bar = N / m
            inputs["n_clusters"] = m
        else:
            raise ck.InputError(
                "A cluster-assigned design needs 'n_clusters' (total number of clusters in "
                "both arms) or 'cluster_size' (average pupils per cluster)."
            )
        if n_bar < 1 or n_bar > N / 2:
            raise ck.InputError(
                f"The average cluster size {n_bar:g} is impossible for {N} pupils in two "
                "arms: it must lie between 1 and N/2."
            )
        gamma, h, deff = _cluster_terms(N, rho, n_bar)
        omega = _omega(h)
        g = omega * gamma * d
        first = (se_diff / pooled) ** 2 if se_diff is not None else (1 / nt + 1 / nc) * deff
        var = first + g**2 / (2 * h)
        inputs.update(icc=rho, cluster_size=n_bar)
        details = {"omega": omega, "gamma": gamma, "df_h": h, "design_effect": deff, "d": d}
        method = (
            "Hedges' g, cluster-assigned design (total SD; Hedges 2007 correction; "
            "WWC Handbook v5.0)"
        )
    else:
        omega = _omega(N - 2)
        g = omega * d
        first = (se_diff / pooled) ** 2 if se_diff is not None else N / (nt * nc)
        var = first + g**2 / (2 * N)
        details = {"omega": omega, "d": d}
        method = "Hedges' g, individual assignment (WWC Handbook v5.0)"
    if se_diff is not None:
        inputs["se_diff"] = se_diff
    if adjusted:
        method += ", covariate-adjusted mean difference over unadjusted pooled SD"
    se = math.sqrt(var)
    z = float(stats.norm.ppf(0.5 + lvl / 2))
    return EffectSize(
        value=float(g), se=se, ci_low=g - z * se, ci_high=g + z * se, measure="Hedges' g",
        method=method, level=lvl, inputs=inputs, details=details,
    )


def cox_index(
    treatment: Any = None,
    comparison: Any = None,
    *,
    p_t: float | None = None,
    p_c: float | None = None,
    n_t: int | None = None,
    n_c: int | None = None,
    events_t: int | None = None,
    events_c: int | None = None,
    continuity: float | None = None,
    level: float = 0.95,
) -> EffectSize:
    """The Cox index for a binary outcome (WWC Handbook v5.0, Appendix E).

    ``d_Cox = omega * [ln(p_t / (1 - p_t)) - ln(p_c / (1 - p_c))] / 1.65`` with
    ``omega = 1 - 3 / (4N - 9)``; its SE is ``omega / 1.65`` times the usual SE of the log
    odds ratio, ``sqrt(1/a + 1/b + 1/c + 1/d)`` over the four cell counts.

    Give 0/1 arrays (``treatment``, ``comparison``), or proportions ``p_t``, ``p_c`` with
    ``n_t``, ``n_c``, or event counts ``events_t``, ``events_c`` with ``n_t``, ``n_c``. A
    proportion of 0 or 1 makes the log odds infinite: pass ``continuity=0.5`` to add half
    a case to every cell (Haldane-Anscombe correction), and say so in the report.
    """
    lvl = ck.level(level)
    if treatment is not None or comparison is not None:
        if treatment is None or comparison is None:
            raise ck.InputError("Give both 'treatment' and 'comparison' 0/1 arrays.")
        yt = ck.sample("treatment", treatment, minimum=1)
        yc = ck.sample("comparison", comparison, minimum=1)
        for name, y in (("treatment", yt), ("comparison", yc)):
            if not np.isin(y, (0.0, 1.0)).all():
                raise ck.InputError(
                    f"'{name}' must hold only 0 and 1 for the Cox index; found values such "
                    f"as {sorted(set(np.unique(y)) - {0.0, 1.0})[:3]}."
                )
        nt, nc = int(yt.size), int(yc.size)
        et, ec = float(yt.sum()), float(yc.sum())
    else:
        if n_t is None or n_c is None:
            raise ck.InputError("Give 'n_t' and 'n_c' (group sizes) with the proportions or counts.")
        nt, nc = ck.count("n_t", n_t), ck.count("n_c", n_c)
        if events_t is not None or events_c is not None:
            if events_t is None or events_c is None:
                raise ck.InputError("Give both 'events_t' and 'events_c'.")
            et = float(ck.count("events_t", events_t, minimum=0))
            ec = float(ck.count("events_c", events_c, minimum=0))
            if et > nt or ec > nc:
                raise ck.InputError(
                    f"More events than pupils: events_t={et:g} of n_t={nt}, "
                    f"events_c={ec:g} of n_c={nc}."
                )
        elif p_t is not None and p_c is not None:
            et = ck.proportion("p_t", p_t, high_open=False) * nt
            ec = ck.proportion("p_c", p_c, high_open=False) * nc
        else:
            raise ck.InputError(
                "Give 0/1 arrays, or 'p_t' and 'p_c', or 'events_t' and 'events_c' (with "
                "'n_t' and 'n_c')."
            )
    cells = np.array([et, nt - et, ec, nc - ec], dtype=float)
    if continuity is not None:
        cells = cells + ck.positive("continuity", continuity)
    elif (cells <= 0).any():
        raise ck.InputError(
            "A group has a proportion of 0 or 1, so its log odds are infinite. Pass "
            "continuity=0.5 to add half a case to each cell, or report the raw proportions "
            "instead of a Cox index."
        )
    a, b, c, d_ = cells
    log_or = math.log(a / b) - math.log(c / d_)
    N = nt + nc
    omega = _omega(N - 2)
    value = omega * log_or / COX_DIVISOR
    se = omega / COX_DIVISOR * math.sqrt(float((1.0 / cells).sum()))
    z = float(stats.norm.ppf(0.5 + lvl / 2))
    inputs = {"n_t": nt, "n_c": nc, "p_t": a / (a + b), "p_c": c / (c + d_)}
    if continuity is not None:
        inputs["continuity"] = float(continuity)
    return EffectSize(
        value=value, se=se, ci_low=value - z * se, ci_high=value + z * se,
        measure="Cox index", method="Cox index: omega * ln(odds ratio) / 1.65 (WWC Handbook v5.0)",
        level=lvl, inputs=inputs, details={"omega": omega, "log_odds_ratio": log_or},
    )


def improvement_index(g: float | EffectSize) -> float:
    """WWC improvement index: ``100 * Phi(g) - 50`` percentile points.

    The expected change in percentile rank for an average comparison-group pupil had they
    received the intervention (WWC Procedures and Standards Handbook v5.0).
    """
    x = float(g.value) if isinstance(g, EffectSize) else ck.finite("g", g)
    return float(100.0 * stats.norm.cdf(x) - 50.0)
