"""Kaplan-Meier survival curves by group, median survival and the log-rank test.

The product-limit estimator (Kaplan & Meier 1958, JASA 53(282)) at the distinct
times t_j with n_j at risk and d_j events is

    S(t) = prod_{t_j <= t} (1 - d_j / n_j),
    Var S(t) = S(t)^2 sum_{t_j <= t} d_j / (n_j (n_j - d_j))         (Greenwood 1926).

The curves and the log-rank test come from ``lifelines`` (with left truncation
the log-rank test comes from statsmodels); the Greenwood standard errors, the
pointwise log(-log) ("exponential Greenwood") intervals and the median CIs (the
times the interval limits cross 0.5) are computed here from lifelines' event table (lifelines reports only the
interval, and with left truncation its event table's risk set differs from the
one its estimator uses), and are checked against statsmodels' ``SurvfuncRight``
and lifelines' own intervals in the tests. With ``weights`` the counts are
weighted and the Greenwood formula is the usual approximation.

For dropout, ``duration`` is e.g. the number of school years observed (or the
grade reached) and ``event`` is 1 if the pupil left early then, 0 if censored
(graduated, transferred, still enrolled at the end of the data).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.core.inputs import require_columns, show
from evaltools.core.result import Estimate, ResultMixin, SummaryText
from evaltools.core.vocabulary import choice, renamed

__all__ = ["KaplanMeierResult", "LogRankTest", "kaplan_meier"]


def _loglog_ci(s: np.ndarray, gw: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI of S(t) on the log(-log) scale: S^exp(+-z sqrt(gw) / log S) (Kalbfleisch-Prentice)."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    inside = (s > 0) & (s < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.log(-np.log(np.where(inside, s, 0.5)))
        half = z * np.sqrt(gw) / np.abs(np.log(np.where(inside, s, 0.5)))
        lo = np.where(inside, np.exp(-np.exp(theta + half)), s)
        hi = np.where(inside, np.exp(-np.exp(theta - half)), s)
    return lo, hi


def _first_time_at_or_below_half(times: np.ndarray, curve: np.ndarray, rule: str = "first") -> float:
    """The first time the curve is <= 0.5 (the median and its CI limits); inf if never.

    ``rule="midpoint"`` (R ``survival``): where the curve is exactly 0.5 over a flat
    stretch, the midpoint of that stretch, i.e. of the first time at 0.5 and the
    next time the curve drops (the first time if it never drops again).
    """
    hit = np.flatnonzero(curve <= 0.5 + 1e-10)  # a product that is 0.5 exactly may round to 0.5 + 1e-16
    if not hit.size:
        return float("inf")
    i = hit[0]
    if rule == "midpoint" and abs(curve[i] - 0.5) <= 1e-10:
        later = np.flatnonzero(curve[i:] < curve[i] - 1e-10)
        if later.size:
            return float((times[i] + times[i + later[0]]) / 2)
    return float(times[i])


def _first_bad(data: pd.DataFrame, bad: np.ndarray) -> str:
    row = data.index[np.flatnonzero(bad)[0]]
    return show(row)


@dataclass(frozen=True, repr=False)
class LogRankTest(ResultMixin):
    """Log-rank test of H0: the survival curves of all groups are equal.

    Mantel (1966); the statistic is chi-squared with (groups - 1) degrees of freedom.
    """

    statistic: float
    df: int
    pvalue: float
    groups: tuple[Any, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row: statistic, df, p-value."""
        return pd.DataFrame([{"statistic": self.statistic, "df": self.df, "pvalue": self.pvalue}],
                            index=pd.Index(["log-rank"], name="test"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {"type": "logrank", "statistic": self.statistic, "df": self.df, "pvalue": self.pvalue,
                "groups": [str(g) for g in self.groups]}

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        return (f"Log-rank test of equal survival across {len(self.groups)} groups: "
                f"chi2({self.df}) = {self.statistic:.3f}, p = {self.pvalue:.3g}")


@dataclass(frozen=True, repr=False)
class KaplanMeierResult(ResultMixin):
    """Kaplan-Meier curves (``.table``), medians (``.medians``) and the log-rank test.

    ``table`` has one row per group and distinct time: at risk, events,
    censored, survival, Greenwood SE and the log(-log) CI.
    """

    table: pd.DataFrame
    medians: pd.DataFrame
    logrank: LogRankTest | None
    level: float
    names: dict[str, str | None] = field(default_factory=dict)

    @property
    def groups(self) -> list[Any]:
        """The groups in the order of the table."""
        return list(self.table["group"].drop_duplicates())

    def to_frame(self) -> pd.DataFrame:
        """The tidy curve table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (medians and log-rank; curves are pupil-level-free counts)."""
        meds = self.medians.reset_index().astype({"group": str}).astype(object)
        meds = meds.where(~meds.isin([np.inf]), None)  # "not reached" is null in JSON, not Infinity
        return {"type": "kaplan_meier", "level": self.level,
                "medians": meds.to_dict("records"),
                "logrank": None if self.logrank is None else self.logrank.to_dict()}

    def _row_at(self, group: Any, t: float) -> pd.Series:
        if group not in self.groups:
            raise KeyError(f"Group {group!r} is not in the result; groups: {', '.join(map(str, self.groups))}.")
        g = self.table[self.table["group"] == group]
        g = g[g["time"] <= t]
        if g.empty:
            raise ValueError(f"Time {t!r} is before the first time of group {group!r}.")
        return g.iloc[-1]

    def survival_at(self, t: float, group: Any = None) -> Estimate:
        """S(t) of one group with its Greenwood SE and the log(-log) CI of the table.

        The p-value (H0: S(t) = 0) has no use here and is left NaN.
        """
        group = self.groups[0] if group is None else group
        r = self._row_at(group, t)
        n = int(self.medians.loc[group, "n"])
        return Estimate(estimand=f"S({t:g}) [{group}]", estimate=float(r["survival"]), se=float(r["se"]),
                        ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]), pvalue=float("nan"),
                        n={"units": n}, method="Kaplan-Meier (lifelines), Greenwood SE, log(-log) CI",
                        level=self.level, options={"time": t, "group": group})

    def difference_at(self, t: float, group: Any, reference: Any) -> Estimate:
        """S_group(t) - S_reference(t), Wald CI with SE sqrt(Var_1 + Var_0) (independent groups).

        1 - S(t) is the cumulative incidence, so the negative of this difference
        is the difference in the share who had the event by ``t``.
        """
        a, b = self._row_at(group, t), self._row_at(reference, t)
        n1, n0 = int(self.medians.loc[group, "n"]), int(self.medians.loc[reference, "n"])
        return Estimate.from_normal(
            f"S({t:g}) difference [{group} - {reference}]", float(a["survival"] - b["survival"]),
            math.sqrt(float(a["se"]) ** 2 + float(b["se"]) ** 2), level=self.level,
            n={"treated": n1, "comparison": n0}, method="Kaplan-Meier (lifelines), Greenwood SEs",
            options={"time": t, "group": group, "reference": reference})

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        lines = [f"Kaplan-Meier survival of {self.names.get('duration')} (event {self.names.get('event')})"
                 + (f" by {self.names['group']}" if self.names.get("group") else "")]
        pct = f"{self.level:.0%}"
        lines.append(f"  {'group':<16}{'n':>8}{'events':>8}{'median':>9}{pct + ' CI':>18}{'S(last)':>9}")
        for g in self.groups:
            tab = self.table[self.table["group"] == g]
            med = self.medians.loc[g]
            ci = f"[{med['ci_low']:.4g}, {med['ci_high']:.4g}]"
            lines.append(f"  {str(g):<16}{med['n']:>8,.0f}{med['events']:>8,.0f}"
                         f"{med['median']:>9.4g}{ci:>18}{tab['survival'].iloc[-1]:>9.3f}")
        if self.logrank is not None:
            lines.append(f"  {self.logrank!r}")
        return "\n".join(lines)

    def plot(self, ax: Any = None, ci: bool = True, cumulative: bool = False) -> Any:
        """Step plot of S(t) (or 1 - S(t) with ``cumulative``) per group with CI bands."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        for i, g in enumerate(self.groups):
            tab = self.table[self.table["group"] == g]
            t = tab["time"].to_numpy()
            s, lo, hi = (tab[c].to_numpy() for c in ("survival", "ci_low", "ci_high"))
            if cumulative:
                s, lo, hi = 1 - s, 1 - hi, 1 - lo
            ax.step(t, s, where="post", color=f"C{i}", label=str(g))
            if ci:
                ax.fill_between(t, lo, hi, step="post", color=f"C{i}", alpha=0.2, lw=0)
        ax.set_xlabel(self.names.get("duration") or "time")
        ax.set_ylabel("cumulative incidence" if cumulative else "survival probability")
        if self.logrank is not None:
            ax.set_title(f"log-rank p = {self.logrank.pvalue:.3g}", loc="left")
        if self.names.get("group"):
            ax.legend(title=self.names["group"], frameon=False)
        return ax


@renamed(positional=("group", "weights", "entry", "level"))
def kaplan_meier(
    data: pd.DataFrame,
    duration: str,
    event: str,
    *,
    group: str | None = None,
    weights: str | None = None,
    entry: str | None = None,
    level: float = 0.95,
    median: Literal["first", "midpoint"] = "first",
) -> KaplanMeierResult:
    """Kaplan-Meier curves (by ``group``), medians and, with groups, the log-rank test.

    Parameters
    ----------
    data: one row per unit (pupil).
    duration: time to the event or to censoring (non-negative).
    event: 1/True if the event happened at ``duration``, 0/False if censored.
    group: optional column splitting the sample (e.g. supported / not supported).
    weights: optional non-negative case weights.
    entry: optional time at which each unit enters the risk set (left truncation,
        e.g. the grade in which a pupil is first observed); a unit counts as at
        risk at times t with entry < t <= duration.
    level: confidence level of the pointwise intervals and median CIs.
    median: ``"first"`` (default): the median is the first time the curve is at
        or below 0.5; ``"midpoint"``: where the curve is exactly 0.5 over a flat
        stretch, the midpoint of the stretch (R ``survival``'s ``print(survfit)``);
        the same rule gives the CI limits. See docs/r_conventions.md.
    """
    median = choice(median, ("first", "midpoint"), "median", where="kaplan_meier",
                    hint="'midpoint' is R survival's convention.")
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    require_columns(data, {"duration": duration, "event": event, "group": group, "weights": weights,
                           "entry": entry})
    if not (isinstance(level, float) and 0 < level < 1):
        raise ValueError(f"level must be a probability between 0 and 1 (e.g. 0.95), got {level!r}.")
    t = pd.to_numeric(data[duration], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        r = _first_bad(data, bad)
        raise ValueError(f"The duration column {duration!r} must hold finite non-negative numbers; row {r} has "
                         f"{show(data[duration].loc[data.index[np.flatnonzero(bad)[0]]])}. Drop or fix such rows.")
    ev_raw = data[event]
    e = ev_raw.astype(float).to_numpy() if pd.api.types.is_bool_dtype(ev_raw) else \
        pd.to_numeric(ev_raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(e, [0.0, 1.0])
    if bad.any():
        r = _first_bad(data, bad)
        raise ValueError(f"The event column {event!r} must be 0/1 (1 = event, 0 = censored); row {r} has "
                         f"{show(ev_raw.iloc[np.flatnonzero(bad)[0]])}.")
    w = None
    if weights is not None:
        w = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise ValueError(f"The weights column {weights!r} must be finite and non-negative; row "
                             f"{_first_bad(data, bad)} is not.")
    t0 = None
    if entry is not None:
        if weights is not None:
            raise ValueError("weights and entry together are not supported (the log-rank test with left "
                             "truncation is unweighted); drop one of them.")
        t0 = pd.to_numeric(data[entry], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(t0) | (t0 < 0) | (t0 > t)
        if bad.any():
            raise ValueError(f"The entry column {entry!r} must be finite, non-negative and not after {duration!r}; "
                             f"row {_first_bad(data, bad)} is not.")
    if group is not None:
        if data[group].isna().any():
            raise ValueError(f"The group column {group!r} has {int(data[group].isna().sum())} missing value(s) "
                             f"(first at row {_first_bad(data, data[group].isna().to_numpy())}); drop or label them.")
        g = data[group].to_numpy()
        levels = list(pd.unique(g))
        try:
            levels = sorted(levels)
        except TypeError:
            pass
    else:
        levels = ["all"]
        g = np.array(["all"] * len(data), dtype=object)

    tables, medians = [], []
    for lev in levels:
        m = g == lev
        kmf = KaplanMeierFitter(alpha=1 - level)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines warns that weights are not integers
            kmf.fit(t[m], e[m], weights=None if w is None else w[m], entry=None if t0 is None else t0[m],
                    label="S")
        et = kmf.event_table
        s = kmf.survival_function_["S"].to_numpy()
        n_risk, d = et["at_risk"].to_numpy(dtype=float), et["observed"].to_numpy(dtype=float)
        if t0 is not None:  # lifelines' event table counts entrants at t as at risk at t; the estimator does not
            times = et.index.to_numpy(dtype=float)
            n_risk = (np.sort(t[m]).size - np.searchsorted(np.sort(t[m]), times, side="left")
                      - (np.sort(t0[m]).size - np.searchsorted(np.sort(t0[m]), times, side="left"))).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            gw = np.cumsum(np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0))
            se = np.where(s > 0, s * np.sqrt(gw), np.nan)
        lo, hi = _loglog_ci(s, gw, level)
        times = et.index.to_numpy(dtype=float)
        tables.append(pd.DataFrame({
            "group": lev, "time": times, "at_risk": n_risk, "events": d,
            "censored": et["censored"].to_numpy(dtype=float), "survival": s, "se": se,
            "ci_low": lo, "ci_high": hi}))
        medians.append({"group": lev, "n": float(m.sum() if w is None else w[m].sum()), "events": float(d.sum()),
                        "median": _first_time_at_or_below_half(times, s, median),
                        "ci_low": _first_time_at_or_below_half(times, lo, median),
                        "ci_high": _first_time_at_or_below_half(times, hi, median)})
    table = pd.concat(tables, ignore_index=True)
    if w is None:
        table[["at_risk", "events", "censored"]] = table[["at_risk", "events", "censored"]].astype(int)
    lr = None
    if group is not None and len(levels) > 1:
        if t0 is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = multivariate_logrank_test(t, g, e, weights=w)
            stat, pval = float(res.test_statistic), float(res.p_value)
        else:  # lifelines' log-rank has no left truncation; statsmodels' does
            from statsmodels.duration.survfunc import survdiff

            codes = pd.Series(g).map({lev: i for i, lev in enumerate(levels)}).to_numpy()
            stat, pval = (float(v) for v in survdiff(t, e, codes, entry=t0))
        lr = LogRankTest(statistic=stat, df=len(levels) - 1, pvalue=pval, groups=tuple(levels))
    return KaplanMeierResult(table=table, medians=pd.DataFrame(medians).set_index("group"), logrank=lr,
                             level=level, names={"duration": duration, "event": event, "group": group,
                                                 "entry": entry})
