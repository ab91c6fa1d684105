"""Discrete-time hazard models on person-period data, and cumulative incidence.

With one row per unit and period at risk (pupil-years), y_it = 1 if unit i has
the event (leaves school early) in period t, the hazard h_it = P(y_it = 1 | at
risk, x_it) is modelled as

    g(h_it) = alpha_t + x_it'beta + tau D_it (+ D_it z_it'delta)

with g = logit (exp(tau): odds ratio of the per-period hazard) or g = cloglog
(exp(tau): hazard ratio of the underlying continuous-time proportional-hazards
model observed in intervals; Prentice & Gloeckler 1978, Biometrics 34(1)).
The likelihood is the Binomial GLM on the person-period rows (Allison 1982,
Sociological Methodology 13; Singer & Willett 2003, ch. 10-12), fitted by our
IRLS on the normal equations (:func:`evaltools.estimate.glm.irls`: same numbers as
statsmodels' GLM, checked in the tests; faster at a million pupil-years, see
benchmarks/bench_rd_survival.py) or
by statsmodels itself; SEs are cluster-robust (by default by unit; pass e.g. the school or
municipality column to cluster higher). The covariance is CR1 (``G / (G - 1) (N - 1) / (N - K)``);
CR2 is not offered for these non-linear models (see docs/r_conventions.md): with fewer than
30 clusters every Estimate says so in ``diagnostics["few_clusters"]`` and points to the cluster
bootstrap of :meth:`HazardResult.cumulative_incidence`.

``HazardResult.cumulative_incidence`` gives the predicted probability of the
event by the end of the last period,

    F_i(d) = 1 - prod_t (1 - h(alpha_t + x_i'beta + tau d + d z_i'delta)),

averaged over units with treatment set to 1 and to 0, and the difference, with
delta-method SEs from the cluster-robust covariance (d log S_i / d theta =
-sum_t k_it x_it with k = h for logit and k = exp(eta) for cloglog).

``person_period`` expands unit-level spells into these rows.

Arguments follow docs/api.md: ``discrete_time_hazard(data, unit, time, event, *, treatment=,
covariates=, cluster=, ...)`` and ``person_period(data, unit, duration, event, *, entry=,
time=, keep=)``; the old orders ``(data, event, period, unit, ...)`` and ``(data, unit, start,
stop, event, period=)`` still work for one release with a DeprecationWarning.
"""
from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.core.inputs import as_list, require_columns, show
from evaltools.core.progress import progress
from evaltools.core.result import Estimate, ResultMixin, SummaryText, few_clusters_note
from evaltools.core.vocabulary import choice, renamed
from evaltools.estimate.glm import glm_few_clusters, irls, mean_and_derivative

__all__ = ["CumulativeIncidence", "HazardResult", "discrete_time_hazard", "person_period"]

Link = Literal["logit", "cloglog"]
Engine = Literal["irls", "statsmodels"]


def _binary(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    s = data[col]
    vals = s.astype(float) if pd.api.types.is_bool_dtype(s) else pd.to_numeric(s, errors="coerce")
    bad = ~vals.isin([0.0, 1.0]).to_numpy()
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"The {role} column {col!r} must hold only 0/1 (or True/False); row "
                         f"{show(data.index[i])} has {show(s.iloc[i])}.")
    return vals.to_numpy(dtype=float)


# --------------------------------------------------------------------------- person-period
def _old_order(old: Callable[..., Any], translate: Callable[[dict[str, Any]], tuple[tuple, dict]],
               looks_old: Callable[[pd.DataFrame, dict[str, Any]], bool] | None = None,
               new_form: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Accept a function's old argument order for one release (DeprecationWarning).

    A call that does not bind to the new signature, or binds but ``looks_old`` (the roles'
    columns can only be the old order), is bound to ``old``'s signature and translated."""
    old_sig = inspect.signature(old)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        new_sig = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = new_sig.bind(*args, **kwargs).arguments
            except TypeError:
                bound = None
            if bound is not None and not (looks_old and looks_old(bound["data"], bound)):
                return func(*args, **kwargs)
            try:
                was = old_sig.bind(*args, **kwargs)
            except TypeError:
                return func(*args, **kwargs)  # neither form: the new signature's own error
            was.apply_defaults()
            warnings.warn(f"{func.__name__}({', '.join(old_sig.parameters)}) is now {func.__name__}({new_form}) "
                          "(docs/api.md); the old form stops working in the next release.", DeprecationWarning,
                          stacklevel=2)
            new_args, new_kwargs = translate(dict(was.arguments))
            return func(*new_args, **new_kwargs)

        return wrapper

    return decorate


def _person_period_before(data: pd.DataFrame, unit: str, start: str, stop: str, event: str,
                          period: str = "period", keep: str | Sequence[str] | None = None) -> None:
    """The order of person_period until issue 13."""


@_old_order(_person_period_before,
            lambda a: ((a["data"], a["unit"], a["stop"], a["event"]),
                       {"entry": a["start"], "time": a["period"], "keep": a["keep"]}),
            new_form="data, unit, duration, event, *, entry, time='period', keep=None")
def person_period(data: pd.DataFrame, unit: str, duration: str, event: str, *, entry: str,
                  time: str = "period", keep: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Expand one row per unit (a spell from period ``entry`` to period ``duration``, integer
    periods, both inclusive) into one row per unit and period at risk.

    ``duration``: the column of the last period at risk (the period of the event, or of
    censoring); ``entry``: the column of the first period at risk. The new ``event`` column
    is 1 only in the ``duration`` period of units whose ``event`` is 1 (e.g. left school early
    in that grade), 0 otherwise; the new ``time`` column holds the period. ``keep`` columns
    are copied to every row of the unit. (The old form ``person_period(data, unit, start,
    stop, event, period=...)`` works for one release with a DeprecationWarning.)
    """
    start, stop, period = entry, duration, time
    keep_cols = as_list(keep)
    require_columns(data, {"unit": [unit], "entry": [start], "duration": [stop], "event": [event],
                           "keep": keep_cols})
    if data[unit].duplicated().any():
        dup = data.loc[data[unit].duplicated(), unit].iloc[0]
        raise ValueError(f"The unit column {unit!r} must identify one spell per row; {show(dup)} appears more "
                         "than once. Keep one spell per unit (or give each spell its own id).")
    ev = _binary(data, event, "event")
    bounds = {}
    for col in (start, stop):
        v = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v) | (v != np.round(v))
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise ValueError(f"The {col!r} column must hold whole-number periods; row {show(data.index[i])} has "
                             f"{show(data[col].iloc[i])}.")
        bounds[col] = v.astype(np.int64)
    length = bounds[stop] - bounds[start] + 1
    if (length < 1).any():
        i = np.flatnonzero(length < 1)[0]
        raise ValueError(f"Row {show(data.index[i])} ends ({stop!r} = {bounds[stop][i]}) before it starts "
                         f"({start!r} = {bounds[start][i]}); fix the spell.")
    rows = np.repeat(np.arange(len(data)), length)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(length) - length, length)
    out = pd.DataFrame({unit: data[unit].to_numpy()[rows], period: bounds[start][rows] + offset})
    last = offset == np.repeat(length - 1, length)
    out[event] = (last & (ev[rows] == 1)).astype(int)
    for c in keep_cols:
        out[c] = data[c].to_numpy()[rows]
    return out


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, repr=False)
class CumulativeIncidence(ResultMixin):
    """Predicted P(event by the end of the last period) with treatment 1 and 0, and the difference
    (``.estimate``, the headline)."""

    treated: Estimate
    untreated: Estimate
    difference: Estimate
    periods: tuple[Any, ...]

    @property
    def estimate(self) -> Estimate:
        """The headline: the difference treated - untreated."""
        return self.difference

    def to_frame(self) -> pd.DataFrame:
        """Three rows: with treatment, without, difference."""
        return pd.concat([e.to_frame() for e in (self.treated, self.untreated, self.difference)])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {"type": "cumulative_incidence", "periods": [show(p) for p in self.periods],
                "estimate": self.difference.to_dict(),
                "treated": self.treated.to_dict(), "untreated": self.untreated.to_dict(),
                "difference": self.difference.to_dict()}

    def _summary_title(self) -> str:
        return (f"Cumulative incidence by the end of period {show(self.periods[-1])} "
                f"(from period {show(self.periods[0])})")

    def _summary_notes(self) -> list[str]:
        note = few_clusters_note(self.difference.diagnostics)
        return [note] if note else []

    def summary(self) -> SummaryText:
        """The three estimates with their SEs and CIs, the test of the difference and how."""
        pct = f"{self.difference.level:.0%}"
        lines = [f"Cumulative incidence by the end of period {show(self.periods[-1])} "
                 f"(from period {show(self.periods[0])}; {self.treated.n.get('units', 0):,} units averaged)"]
        for name, e in (("with treatment", self.treated), ("without", self.untreated),
                        ("difference", self.difference)):
            lines.append(f"  {name:<16}{e.estimate:>9.4f}  (SE {e.se:.4f})  {pct} CI [{e.ci_low:.4f}, {e.ci_high:.4f}]")
        o = self.difference.options
        how = ("delta method, " + str(o.get("cov_type")) + " covariance" if o.get("method") == "delta"
               else f"{o.get('cov_type')}, {o.get('n_boot')} draws, percentile CIs")
        lines.append(f"  p (difference = 0) = {self.difference.pvalue:.3g}; {how}")
        lines += [f"  {note}" for note in self._summary_notes()]
        return SummaryText("\n".join(lines))


@dataclass(frozen=True, repr=False)
class HazardResult(ResultMixin):
    """A fitted discrete-time hazard model.

    ``table``: one row per term (coefficient, SE, z, p, CI and exp() of them).
    ``estimate``: the headline, the treatment coefficient (log odds ratio or log hazard
    ratio); None without a treatment.
    ``ratio``: exp of it: odds ratio (logit) or hazard ratio (cloglog), CI = exp(CI).
    ``params``, ``cov``: all coefficients and their cluster-robust covariance.
    """

    table: pd.DataFrame
    estimate: Estimate | None
    ratio: Estimate | None
    params: pd.Series
    cov: pd.DataFrame
    link: str
    names: dict[str, Any]
    n: dict[str, int]
    _design: dict[str, Any] = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the coefficient table and the treatment estimates)."""
        return {"type": "discrete_time_hazard", "link": self.link, "n": dict(self.n),
                "table": self.table.reset_index().to_dict("records"),
                "estimate": None if self.estimate is None else self.estimate.to_dict(),
                "ratio": None if self.ratio is None else self.ratio.to_dict()}

    @property
    def diagnostics(self) -> dict[str, Any]:
        """The few-clusters note (``diagnostics["few_clusters"]``) when clusters are under 30."""
        return glm_few_clusters(self.n["clusters"])

    def _summary_title(self) -> str:
        return f"Discrete-time hazard model ({self.link} link) of {self.names['event']}"

    def summary(self) -> SummaryText:
        """The sample, the baseline, the non-baseline terms with exp(coef) and CIs, the treatment ratio."""
        what = "odds ratio" if self.link == "logit" else "hazard ratio"
        lines = [f"Discrete-time hazard model ({self.link} link) of {self.names['event']} on person-period rows",
                 f"  n: {self.n['rows']:,} rows, {self.n['units']:,} units, {self.n['events']:,} events, "
                 f"{self.n['clusters']:,} clusters ({self.names['cluster']})",
                 f"  baseline: {self.names['baseline']}"]
        shown = self.table[~self.table.index.str.startswith("period[")]
        pct = f"{self._design['level']:.0%}"
        lines.append(f"  {'term':<28}{'coef':>9}{'SE':>9}{'p':>10}{'exp(coef)':>11}{pct + ' CI':>22}")
        for term, r in shown.iterrows():
            lines.append(f"  {str(term):<28}{r['coef']:>9.4f}{r['se']:>9.4f}{r['pvalue']:>10.3g}{r['exp_coef']:>11.4f}"
                         f"{'[' + format(r['exp_ci_low'], '.4f') + ', ' + format(r['exp_ci_high'], '.4f') + ']':>22}")
        if self.ratio is not None:
            r = self.ratio
            lines.append(f"  Treatment {what}: {r.estimate:.4f}, {pct} CI [{r.ci_low:.4f}, {r.ci_high:.4f}], "
                         f"p = {r.pvalue:.3g}")
        lines += [f"  {note}" for note in self._summary_notes()]
        return SummaryText("\n".join(lines))

    # ----------------------------------------------------------------- predictions
    def model_matrix(self, rows: pd.DataFrame, treatment: float | None = None) -> np.ndarray:
        """The model matrix of ``rows`` (person-period rows with the model's columns), in the order
        of ``params``; ``treatment`` sets the treatment (and its interactions) to that value, e.g.
        1 and 0 for :func:`evaltools.estimate.glm.g_computation`."""
        des = self._design
        period = self.names["period"]
        require_columns(rows, {"period": [period], "covariate": des["covariate_terms"],
                               "interaction": des["interactions"]})
        unknown = set(pd.unique(rows[period])) - set(des["periods"])
        if unknown and des["baseline_kind"] == "dummies":
            raise ValueError(f"{period} {', '.join(show(v) for v in sorted(unknown))} has no baseline dummy; the fitted "
                             f"periods are {', '.join(show(v) for v in des['periods'])}.")
        parts = [des["baseline_matrix"](rows[period].to_numpy()), rows[des["covariate_terms"]].to_numpy(dtype=float)]
        if des["treatment"] is not None:
            d = (rows[des["treatment"]].to_numpy(dtype=float) if treatment is None
                 else np.full(len(rows), float(treatment)))
            parts += [d[:, None], rows[des["interactions"]].to_numpy(dtype=float) * d[:, None]]
        return np.column_stack(parts)

    def _profiles(self, among: str) -> np.ndarray:
        """Boolean mask over the units' first rows: all units or those ever treated."""
        base = self._design["first_rows"]
        if among == "all":
            return np.ones(len(base), dtype=bool)
        if among == "treated":
            if self._design["treatment"] is None:
                raise ValueError("among='treated' needs a treatment: fit with treatment=<column>.")
            return np.asarray(self._design["ever_treated"], dtype=bool)
        raise ValueError(f"among must be 'all' or 'treated', got {among!r}.")

    def _eta_parts(self, profiles: pd.DataFrame, periods: Sequence[Any], d: float) -> np.ndarray:
        """Design tensor (units x periods x parameters) with treatment set to ``d``."""
        des = self._design
        cols = des["columns"]
        n_u, n_t = len(profiles), len(periods)
        X = np.zeros((n_u, n_t, len(cols)))
        base = des["baseline_matrix"](np.asarray(periods))  # periods x baseline terms
        nb = base.shape[1]
        X[:, :, :nb] = base[None, :, :]
        cov = profiles[des["covariate_terms"]].to_numpy(dtype=float)
        k = nb
        X[:, :, k:k + cov.shape[1]] = cov[:, None, :]
        k += cov.shape[1]
        if des["treatment"] is not None:
            X[:, :, k] = d
            k += 1
            inter = profiles[des["interactions"]].to_numpy(dtype=float) * d
            X[:, :, k:k + inter.shape[1]] = inter[:, None, :]
        return X

    def _cif(self, theta: np.ndarray, X: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """Mean predicted cumulative incidence over units and its gradient in theta."""
        eta = X @ theta
        if self.link == "logit":
            h = 1 / (1 + np.exp(-eta))
            kfac = h
        else:
            h = -np.expm1(-np.exp(eta))
            kfac = np.exp(eta)
        surv = np.prod(1 - h, axis=1)
        grad_i = surv[:, None] * np.einsum("ut,utk->uk", kfac, X)  # dF_i/dtheta
        return float(np.average(1 - surv, weights=weights)), np.average(grad_i, axis=0, weights=weights)

    @renamed(positional=("periods", "among", "level", "method", "n_boot", "seed"))
    def cumulative_incidence(self, *, periods: Sequence[Any] | None = None,
                             among: Literal["all", "treated"] = "all", level: float | None = None,
                             method: Literal["delta", "bootstrap"] = "delta", n_boot: int = 499,
                             seed: int | None = None) -> CumulativeIncidence:
        """P(event by the end of the last of ``periods``) with treatment 1 and 0, and the difference.

        Each unit's covariates are taken from its first person-period row and held
        fixed over ``periods`` (default: every period of the baseline, in order).
        ``among="treated"`` averages over units ever treated (an ATT-style
        contrast). ``method="delta"``: SEs by the delta method from the model's
        cluster-robust covariance, treating the covariate distribution as fixed.
        ``method="bootstrap"``: ``n_boot`` cluster-bootstrap refits (clusters drawn
        with replacement, units' covariates with them); SE = SD of the draws, CI =
        percentile interval; ``seed`` makes it reproducible.
        """
        des = self._design
        if des["treatment"] is None:
            raise ValueError("cumulative_incidence needs a treatment: fit with treatment=<column>.")
        method = choice(method, ("delta", "bootstrap"), "method", where="cumulative_incidence")
        among = choice(among, ("all", "treated"), "among", where="cumulative_incidence")
        if method == "bootstrap" and not (isinstance(n_boot, (int, np.integer)) and n_boot >= 50):
            raise ValueError(f"n_boot must be an integer of at least 50 (499 or more for a 95% CI), got {n_boot!r}.")
        level = des["level"] if level is None else level
        if periods is None:
            periods = des["periods"]
        else:
            periods = list(periods)
            unknown = [p for p in periods if p not in set(des["periods"])]
            if unknown and des["baseline_kind"] == "dummies":
                raise ValueError(f"Period(s) {unknown} have no baseline dummy; the fitted periods are "
                                 f"{list(des['periods'])}.")
        mask = self._profiles(among)
        profiles = des["first_rows"][mask]
        theta = self.params.to_numpy()
        V = self.cov.to_numpy()
        X1, X0 = (self._eta_parts(profiles, periods, d) for d in (1.0, 0.0))
        (f1, g1), (f0, g0) = self._cif(theta, X1), self._cif(theta, X0)
        n = {"units": int(len(profiles)), "clusters": self.n["clusters"]}
        opts = {"periods": [show(p) for p in (periods[0], periods[-1])], "among": among, "link": self.link,
                "cov_type": f"cluster-robust ({self.names['cluster']})", "method": method}
        label = f"cumulative incidence by end of period {show(periods[-1])}"
        points = {"with treatment": f1, "without treatment": f0, "difference": f1 - f0}
        ests = {}
        if method == "delta":
            how = f"discrete-time hazard ({self.link}), predicted cumulative incidence, delta method"
            for (name, val), g in zip(points.items(), (g1, g0, g1 - g0)):
                se = float(math.sqrt(max(g @ V @ g, 0.0)))
                ests[name] = Estimate.from_normal(f"{label}, {name}", val, se, level=level, n=n, method=how,
                                                  options=opts, diagnostics=glm_few_clusters(self.n["clusters"]))
        else:
            draws = self._bootstrap(X1, X0, mask, n_boot, seed)
            how = (f"discrete-time hazard ({self.link}), predicted cumulative incidence, cluster bootstrap "
                   f"({n_boot} draws, percentile CI)")
            opts = {**opts, "n_boot": n_boot, "seed": seed, "cov_type": f"cluster bootstrap ({self.names['cluster']})"}
            for j, (name, val) in enumerate(points.items()):
                col = draws[:, j][np.isfinite(draws[:, j])]
                se = float(np.std(col, ddof=1))
                lo, hi = np.quantile(col, [0.5 - level / 2, 0.5 + level / 2])
                p = float(2 * stats.norm.sf(abs(val / se))) if se > 0 else float("nan")
                ests[name] = Estimate(estimand=f"{label}, {name}", estimate=val, se=se, ci_low=float(lo),
                                      ci_high=float(hi), pvalue=p, n=n, method=how, level=level, options=opts,
                                      diagnostics={"failed_draws": int(n_boot - col.size)})
        return CumulativeIncidence(treated=ests["with treatment"], untreated=ests["without treatment"],
                                   difference=ests["difference"], periods=tuple(periods))

    @renamed(positional=("among", "level"))
    def incidence_curve(self, *, among: Literal["all", "treated"] = "all",
                        level: float | None = None) -> pd.DataFrame:
        """Predicted cumulative incidence by the end of each period, with and without treatment.

        One row per period and arm ("with treatment", "without treatment",
        "difference"): the estimate and its delta-method CI, as in
        :meth:`cumulative_incidence` over the periods up to that one.
        """
        periods = list(self._design["periods"])
        rows = []
        for k in range(1, len(periods) + 1):
            ci = self.cumulative_incidence(periods=periods[:k], among=among, level=level)
            for arm, e in (("with treatment", ci.treated), ("without treatment", ci.untreated),
                           ("difference", ci.difference)):
                rows.append({"period": periods[k - 1], "arm": arm, "estimate": e.estimate, "se": e.se,
                             "ci_low": e.ci_low, "ci_high": e.ci_high})
        return pd.DataFrame(rows)

    @renamed(positional=("among",))
    def plot_incidence(self, ax: Any = None, *, among: Literal["all", "treated"] = "all") -> Any:
        """Plot the predicted cumulative incidence by period with and without treatment (CI bands)."""
        import matplotlib.pyplot as plt

        curve = self.incidence_curve(among=among)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        for i, arm in enumerate(("without treatment", "with treatment")):
            c = curve[curve["arm"] == arm]
            x = np.arange(len(c))
            ax.plot(x, c["estimate"], marker="o", color=f"C{i}", label=arm)
            ax.fill_between(x, c["ci_low"], c["ci_high"], color=f"C{i}", alpha=0.2, lw=0)
        periods = curve.loc[curve["arm"] == "difference", "period"].tolist()
        ax.set_xticks(np.arange(len(periods)), [str(p) for p in periods])
        ax.set_xlabel(self.names["period"])
        ax.set_ylabel(f"cumulative probability of {self.names['event']}")
        last = curve[curve["arm"] == "difference"].iloc[-1]
        ax.set_title(f"difference by {last['period']}: {last['estimate']:.3f} "
                     f"[{last['ci_low']:.3f}, {last['ci_high']:.3f}]", loc="left")
        ax.legend(frameon=False)
        return ax

    def _bootstrap(self, X1: np.ndarray, X0: np.ndarray, mask: np.ndarray, n_boot: int,
                   seed: int | None) -> np.ndarray:
        """Draws of (F1, F0, F1 - F0): clusters resampled as frequency weights, model refitted."""
        des = self._design
        X, y, groups = des["X"], des["y"], des["groups"]
        unit_groups = des["unit_groups"][mask]
        n_groups = int(groups.max()) + 1
        rng = np.random.default_rng(seed)
        out = np.full((n_boot, 3), np.nan)
        theta0 = self.params.to_numpy()
        for b in progress(range(n_boot), desc="hazard bootstrap", unit="draw"):
            counts = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups).astype(float)
            uw = counts[unit_groups]
            if uw.sum() == 0:
                continue
            theta, _, ok = _fit_binomial(X, y, groups, self.link, weights=counts[groups], start=theta0,
                                         covariance=False)
            if not ok:
                continue
            f1 = self._cif(theta, X1, uw)[0]
            f0 = self._cif(theta, X0, uw)[0]
            out[b] = (f1, f0, f1 - f0)
        return out


# --------------------------------------------------------------------------- fitting
def _fit_binomial(X: np.ndarray, y: np.ndarray, groups: np.ndarray, link: str, *,
                  weights: np.ndarray | None = None, start: np.ndarray | None = None,
                  covariance: bool = True) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """The Binomial GLM of :func:`evaltools.estimate.glm.irls` (IRLS, CR1 sandwich by ``groups``):
    coefficients, covariance and whether it converged."""
    fit = irls(X, y, family="binomial", link=link, groups=groups, weights=weights, start=start,
               covariance=covariance)
    return fit.params, fit.cov, fit.converged


# --------------------------------------------------------------------------- estimator
def _hazard_before(data: pd.DataFrame, event: str, period: str, unit: str,
                   covariates: str | Sequence[str] | None = None, treatment: str | None = None,
                   cluster: str | None = None, link: str = "logit", baseline: str | int = "dummies",
                   interactions: str | Sequence[str] | None = None, level: float = 0.95,
                   engine: str = "irls") -> None:
    """The order of discrete_time_hazard until issue 13."""


def _is01(data: pd.DataFrame, col: Any) -> bool:
    if not isinstance(col, str) or col not in data.columns:
        return False
    v = pd.to_numeric(data[col], errors="coerce")
    return bool(v.notna().all() and v.isin([0, 1]).all())


def _translate_hazard(a: dict[str, Any]) -> tuple[tuple, dict]:
    roles = (a.pop("data"), a.pop("unit"), a.pop("period"), a.pop("event"))
    return roles, a


@_old_order(_hazard_before, _translate_hazard,
            # the new order's event column must be 0/1; the old order's event came second
            looks_old=lambda data, a: not _is01(data, a.get("event")) and _is01(data, a.get("unit")),
            new_form="data, unit, time, event, *, treatment=None, covariates=None, cluster=None, ...")
def discrete_time_hazard(
    data: pd.DataFrame,
    unit: str,
    time: str,
    event: str,
    *,
    treatment: str | None = None,
    covariates: str | Sequence[str] | None = None,
    cluster: str | None = None,
    link: Link = "logit",
    baseline: str | int = "dummies",
    interactions: str | Sequence[str] | None = None,
    level: float = 0.95,
    engine: Engine = "irls",
) -> HazardResult:
    """Fit a discrete-time hazard model to person-period data (one row per unit and period at risk).

    Parameters
    ----------
    data: person-period rows (see :func:`person_period`); a unit leaves the risk
        set after its event, so ``event`` is 1 at most once per unit, in its last row.
    unit: the unit id (pupil).
    time: the period of the baseline hazard (e.g. grade or school year). A unit
        may have two rows in one period (a repeated grade): each row is one
        year at risk.
    event: 0/1, the event happened in this period.
    covariates: numeric columns (or 0/1 indicators); constant within unit for
        ``cumulative_incidence``, which uses each unit's first row.
    treatment: 0/1 treatment column; its coefficient is the headline.
    cluster: column to cluster SEs on; default ``unit``.
    link: "logit" (odds ratios) or "cloglog" (hazard ratios), any case.
    baseline: "dummies" (one intercept per period) or an integer degree of a
        polynomial in the period (flexible, smoother baseline).
    interactions: columns whose product with the treatment is added (the
        treatment coefficient is then the effect where these are 0). Their main
        effects are not added: put them (or a linear equivalent) in ``covariates``.
    level: confidence level.
    engine: "irls" (default: our Fisher scoring on the normal equations, same
        numbers as statsmodels, faster on large data) or
        "statsmodels" (``GLM(...).fit(cov_type="cluster")``).
    """
    period = time
    covs, inter = as_list(covariates), as_list(interactions)
    require_columns(data, {"event": [event], "time": [period], "unit": [unit], "covariate": covs,
                    "treatment": as_list(treatment), "cluster": as_list(cluster), "interaction": inter})
    engine = choice(engine, ("irls", "statsmodels"), "engine", where="discrete_time_hazard")
    link = choice(link, ("logit", "cloglog"), "link", where="discrete_time_hazard")
    if not (isinstance(level, float) and 0 < level < 1):
        raise ValueError(f"level must be a probability between 0 and 1 (e.g. 0.95), got {level!r}.")
    if inter and treatment is None:
        raise ValueError("interactions are products with the treatment: pass treatment=<column> too.")
    if not (baseline == "dummies" or (isinstance(baseline, int) and not isinstance(baseline, bool)
                                      and 0 <= baseline <= 6)):
        raise ValueError(f"baseline must be 'dummies' or a polynomial degree 0-6, got {baseline!r}.")
    cluster = cluster or unit
    for col in {unit, period, cluster}:
        if data[col].isna().any():
            i = np.flatnonzero(data[col].isna().to_numpy())[0]
            raise ValueError(f"Column {col!r} has {int(data[col].isna().sum())} missing value(s) (first at row "
                             f"{show(data.index[i])}); the model cannot place those rows: drop or fill them.")
    numeric = [*covs, *as_list(treatment)]
    for c in numeric:
        s = data[c]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise ValueError(f"The covariate column {c!r} must be numeric (dtype {s.dtype}); encode categories as "
                             f"0/1 columns first, e.g. pd.get_dummies(data[{c!r}], drop_first=True).")
    keep = data[[event, *numeric]].notna().all(axis=1).to_numpy()
    df = data.loc[keep]
    n_dropped = int((~keep).sum())
    y = _binary(df, event, "event")
    d = _binary(df, treatment, "treatment") if treatment is not None else None
    # The unit column is hashed once: every per-unit step below works on its codes (0, 1, ... in
    # order of first appearance) and looks a unit's id up only for an error message.
    ucodes, uids = pd.factorize(df[unit])
    n_units = len(uids)
    pcodes = pd.factorize(df[period])[0]
    pair = ucodes.astype(np.int64) * (int(pcodes.max()) + 1 if len(pcodes) else 1) + pcodes
    n_repeated = int(len(pair) - len(pd.unique(pair)))  # e.g. a repeated grade: two years at risk in it
    ev_units = np.bincount(ucodes, weights=y, minlength=n_units)
    if (ev_units > 1).any():
        first = pd.Index(uids[ev_units > 1]).sort_values()[0]  # the first by id, as a sorted groupby named it
        raise ValueError(f"Unit {show(first)} has {int(ev_units.max())} events; a unit leaves the risk set at its "
                         "event, so drop its rows after the first event.")
    pv = df[period].to_numpy()
    order = np.lexsort((pv, ucodes))
    sorted_codes = ucodes[order]
    starts = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]] if len(order) else np.zeros(0, dtype=bool)
    ends = np.r_[starts[1:], True] if len(order) else starts
    last_period = np.empty(n_units, dtype=pv.dtype)
    last_period[sorted_codes[ends]] = pv[order[ends]]  # each unit's last period at risk
    ev_pos = np.flatnonzero(y == 1)
    after = pv[ev_pos] != last_period[ucodes[ev_pos]]
    if after.any():
        i = ev_pos[np.flatnonzero(after)[0]]
        raise ValueError(f"Unit {show(df[unit].iloc[i])} has rows after its event (event in {period} "
                         f"{show(pv[i])}); drop rows after the event.")

    periods = sorted(pd.unique(df[period]))
    if baseline == "dummies":
        ev_by = pd.Series(y).groupby(df[period].to_numpy()).sum()
        empty = [p for p in periods if ev_by.get(p, 0) == 0]
        if empty:
            raise ValueError(f"No events in {period} {', '.join(show(p) for p in empty)}: its baseline hazard "
                             f"would be estimated as 0 (coefficient -inf). Merge such periods with neighbours, "
                             f"drop them, or use a polynomial baseline (baseline=2).")
        names_b = [f"period[{show(p)}]" for p in periods]

        def baseline_matrix(pv: np.ndarray) -> np.ndarray:
            codes = pd.Categorical(pv, categories=periods).codes
            m = np.zeros((len(pv), len(periods)))
            m[np.arange(len(pv)), codes] = 1.0
            return m
        kind = "dummies"
    else:
        if not pd.api.types.is_numeric_dtype(df[period]):
            raise ValueError(f"A polynomial baseline needs a numeric {period!r} column (dtype {df[period].dtype}).")
        centre = float(np.mean(periods))
        deg = int(baseline)
        names_b = ["intercept"] + [f"({period}-{centre:g})^{k}" for k in range(1, deg + 1)]

        def baseline_matrix(pv: np.ndarray) -> np.ndarray:
            return np.vander(np.asarray(pv, dtype=float) - centre, deg + 1, increasing=True)
        kind = f"polynomial of degree {deg}"

    cov_mat = df[covs].to_numpy(dtype=float) if covs else np.zeros((len(df), 0))
    parts = [baseline_matrix(df[period].to_numpy()), cov_mat]
    names = names_b + covs
    if d is not None:
        parts += [d[:, None], df[inter].to_numpy(dtype=float) * d[:, None]]
        names += [treatment] + [f"{treatment}:{c}" for c in inter]
    X = pd.DataFrame(np.column_stack(parts), columns=names, index=df.index)
    xm = X.to_numpy()
    norms = np.sqrt(np.einsum("ij,ij->j", xm, xm))
    gram = (xm.T @ xm) / np.outer(np.where(norms > 0, norms, 1), np.where(norms > 0, norms, 1))
    eig = np.linalg.eigvalsh(gram)
    rank = int((eig > 1e-10 * max(eig.max(), 1e-300)).sum())
    if rank < X.shape[1]:
        raise ValueError(f"The design matrix is collinear (rank {rank} of {X.shape[1]} columns: {', '.join(names)}); "
                         "drop a covariate that is constant or a combination of others (period effects are "
                         "already in the baseline).")

    groups = ucodes if cluster == unit else pd.factorize(df[cluster])[0]
    if engine == "statsmodels":
        import statsmodels.api as sm

        fam = sm.families.Binomial(link=sm.families.links.Logit() if link == "logit" else sm.families.links.CLogLog())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            model = sm.GLM(pd.Series(y, index=df.index, name=event), X, family=fam).fit(
                cov_type="cluster", cov_kwds={"groups": groups})
        converged = bool(model.converged)
        params, cov = model.params, model.cov_params()
    else:
        theta, V, converged = _fit_binomial(X.to_numpy(), y, groups, link)
        params, cov = pd.Series(theta, index=names), pd.DataFrame(V, index=names, columns=names)
    if converged:  # statsmodels' IRLS stops on a flat deviance even when the MLE does not exist
        mu_hat, _ = mean_and_derivative(X.to_numpy() @ params.to_numpy(), link)
        converged = bool(np.all((mu_hat > 1e-10) & (mu_hat < 1 - 1e-10)))
    if not converged:
        raise ValueError("The hazard model did not converge (likely separation: a covariate predicts the event "
                         "perfectly in some period, fitted hazards reach 0 or 1); simplify the baseline or the "
                         "covariates.")
    se_all = np.sqrt(np.diag(cov.to_numpy()))
    crit = float(stats.norm.ppf(0.5 + level / 2))
    table = pd.DataFrame({"coef": params, "se": se_all, "z": params / se_all,
                          "pvalue": 2 * stats.norm.sf(np.abs(params / se_all)),
                          "ci_low": params - crit * se_all, "ci_high": params + crit * se_all})
    table["exp_coef"], table["exp_ci_low"], table["exp_ci_high"] = (np.exp(table[c]) for c in
                                                                    ("coef", "ci_low", "ci_high"))
    table.index.name = "term"
    n = {"rows": int(len(df)), "units": int(n_units), "events": int(y.sum()),
         "clusters": int(groups.max() + 1)}
    names_out = {"event": event, "period": period, "unit": unit, "cluster": cluster, "baseline": kind,
                 "treatment": treatment}
    est = ratio = None
    if treatment is not None:
        what = "odds ratio of the per-period hazard" if link == "logit" else "hazard ratio"
        b, se = float(params[treatment]), float(table.loc[treatment, "se"])
        opts = {"link": link, "baseline": kind, "covariates": covs or None, "interactions": inter or None,
                "cluster": cluster}
        method = (f"discrete-time hazard, Binomial GLM ({link}) on person-period rows, cluster-robust SE "
                  f"({'statsmodels' if engine == 'statsmodels' else 'evaltools IRLS, checked against statsmodels'})")
        n_est = {**n, "treated_rows": int(d.sum())}
        diag = {"n_dropped_missing": n_dropped, "n_rows_repeating_a_period": n_repeated,
                **glm_few_clusters(n["clusters"])}
        est = Estimate.from_normal(f"log {what}: {treatment}", b, se, level=level, n=n_est, method=method,
                                   options=opts, diagnostics=diag)
        ratio = Estimate(estimand=f"{what}: {treatment}", estimate=math.exp(b), se=math.exp(b) * se,
                         ci_low=math.exp(est.ci_low), ci_high=math.exp(est.ci_high), pvalue=est.pvalue,
                         n=n_est, method=method + "; CI = exp(CI of the coefficient), SE by the delta method",
                         level=level, options=opts, diagnostics=diag)
    first_idx = np.sort(order[starts])  # each unit's first row (in its earliest period), units by code
    first_rows = df.iloc[first_idx][[unit, *dict.fromkeys(covs + inter)]].reset_index(drop=True)
    ever = None
    if d is not None:
        ever = (np.bincount(ucodes, weights=(d > 0), minlength=n_units) > 0)[ucodes[first_idx]]  # as first_rows
    unit_groups = groups[first_idx]
    design = {"X": X.to_numpy(), "y": y, "groups": groups, "unit_groups": unit_groups,
              "columns": names, "baseline_matrix": baseline_matrix, "covariate_terms": covs,
              "interactions": inter, "treatment": treatment, "first_rows": first_rows, "ever_treated": ever,
              "periods": periods, "baseline_kind": kind, "level": level}
    return HazardResult(table=table, estimate=est, ratio=ratio, params=params, cov=cov, link=link,
                        names=names_out, n=n, _design=design)
