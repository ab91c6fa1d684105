r"""Event studies: leads and lags of an adoption date, TWFE or Sun-Abraham.

``method="twfe"`` fits the dynamic two-way FE regression

    y_it = a_i + l_t + sum_{e != ref} b_e 1{t - G_i = e} + X_it'g + u_it,

whose ``b_e`` mix effects of other relative periods and cohorts when effects
differ across cohorts (Sun & Abraham 2021, J. Econom. 225(2), Prop. 3).
``method="sunab"`` is their interaction-weighted (IW) estimator: one
coefficient ``d_{g,e}`` per cohort ``g`` and relative period ``e != ref``, the
never-treated units as controls (or, without them, the last-treated cohort,
dropping the periods from its adoption on), then

    b_e^IW = sum_g w_{g,e} d_{g,e},   w_{g,e} = n_{g,e} / sum_h n_{h,e},

with ``n_{g,e}`` the observations of cohort ``g`` at relative period ``e``. The
standard error is the delta method ``sqrt(w' V w)`` with ``V`` the CRV1
covariance of the ``d``'s and the shares treated as fixed (as fixest's
``sunab``/``aggregate``), i.e. inference conditional on the sample's cohort
composition; Sun & Abraham's Stata ``eventstudyinteract`` also adds the sampling
variance of the shares, which is not done here. Both fits run through pyfixest. The joint pre-trend
test of all leads ``b_e = 0 (e < 0, e != ref)`` is by default a restricted wild cluster
bootstrap of max |t| over the leads (``_cs_inference.joint_test``, as ``att_gt``'s pre-test);
the Wald statistic's chi2(q) and F(q, G - q) p-values are kept beside it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaltools.core.inputs import as_list, require_columns, show
from evaltools.core.result import Estimate, ResultMixin, SummaryText
from evaltools.core.vocabulary import choice, renamed
from evaltools.estimate.cluster_robust import FEW_CLUSTERS, check_vcov, cr2_model, few_clusters
from evaltools.estimate.diff_in_diff import _cs_inference as inf
from evaltools.estimate.diff_in_diff.classic import _drop_missing, _feols, _numeric

__all__ = ["EventStudyResult", "event_study"]


@dataclass(frozen=True, repr=False)
class EventStudyResult(ResultMixin):
    """Leads and lags around ``ref``.

    ``table``: one row per relative period (the reference row has estimate 0 and
    no SE); ``estimates``: relative period -> :class:`Estimate`; ``att``: the
    observation-weighted average of the post-period effects; ``pretrend``: the
    joint Wald test of the leads; ``cohort_table`` (Sun-Abraham only): the
    cohort-by-period coefficients and their IW weights; ``fit``: the pyfixest model;
    ``vcov``: the covariance matrix of the lead/lag estimates (rows and columns labelled
    by relative period, the reference period left out), ``R V R'`` with ``V`` the CRV1
    covariance of the regression coefficients and ``R`` the maps from coefficients to
    effects (for Sun-Abraham the IW weights), so ``diag(vcov) = se^2``; the ``sigma`` of
    HonestDiD-style sensitivity analysis (:func:`evaltools.inference.honest_did_event_study`).
    """

    table: pd.DataFrame
    estimates: dict[int, Estimate]
    att: Estimate
    pretrend: dict[str, float] | None
    estimator: str
    ref: int
    cohort_table: pd.DataFrame | None = None
    fit: Any = field(default=None, repr=False)
    vcov: pd.DataFrame | None = field(default=None, repr=False)
    _pretest: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def pretrend_test(self, method: str = inf.DEFAULT_WALD_METHOD, *, n_boot: int | None = None,
                      weight_type: str = "webb", seed: int | None = None) -> inf.WaldTest | None:
        """Joint test that all leads are zero (None without leads), by
        :func:`evaltools.estimate.diff_in_diff._cs_inference.joint_test`, the test of
        ``att_gt(...).pretrend_test()``. W = b' V^-1 b with V the leads' covariance of ``vcov``
        (CR1 or CR2), q leads, G clusters. ``method``:

        * ``"sup-t"`` (default): a restricted wild cluster bootstrap of max_e |b_e| / se_e:
          the model is refitted without the leads (H0), each cluster's scores are multiplied by
          a Webb (or Rademacher, ``weight_type``) weight, all coefficients and their CRV1
          covariance are recomputed in every draw (the fixed effects as partialled out once,
          see ``_lead_scores``); ``n_boot`` draws (default: the fit's) from ``seed`` (default:
          the fit's);
        * ``"wild"``: the same bootstrap of W;
        * ``"F"``: W/q (G - q)/(G - 1) on F(q, G - q);
        * ``"chi2"``: W on chi2(q).

        Every computed p-value is kept on the result (``pvalue_chi2``, ``pvalue_f``, ...).
        """
        pre = self._pretest
        if pre is None:
            return None
        n_boot = pre["n_boot"] if n_boot is None else n_boot
        seed = pre["seed"] if seed is None else seed
        key = (method, n_boot, weight_type, seed)
        if key not in pre["cache"]:
            boot = None
            if inf._ALIASES.get(str(method).lower()) in ("wild", "sup-t"):
                boot = _lead_scores(self.fit, pre["R"], pre["cluster_codes"])
            pre["cache"][key] = inf.joint_test(
                "pre-trend test", pre["estimate"], pre["vcov"], pre["labels"], pre["clusters"], method=method,
                bootstrap=boot, n_boot=n_boot, weight_type=weight_type, seed=seed)
        return pre["cache"][key]

    @property
    def event_times(self) -> np.ndarray:
        """The relative periods of the table's rows, the reference period included."""
        return self.table.index.to_numpy()

    @property
    def estimate(self) -> Estimate:
        """The headline number: the average post-period effect."""
        return self.att

    def to_frame(self) -> pd.DataFrame:
        """One row per relative period: estimate, se, ci_low, ci_high, pvalue."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """The average post effect, the table, the pre-trend test and the options."""
        return {"type": "EventStudyResult", "estimate": self.att, "table": self.table, "pretrend": self.pretrend,
                "estimator": self.estimator, "ref": self.ref, "cohort_table": self.cohort_table}

    def _summary_title(self) -> str:
        return f"Event study ({self.estimator}), reference period {self.ref}"

    def plot(self, ax: Any = None, *, color: str = "C0", label: str | None = None) -> Any:
        """Coefficients with their CIs against relative time; returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        t = self.table
        est = t.drop(index=self.ref)
        ax.errorbar(est.index, est["estimate"], yerr=[est["estimate"] - est["ci_low"], est["ci_high"] - est["estimate"]],
                    fmt="o", color=color, capsize=3, label=label or self.estimator)
        ax.plot([self.ref], [0.0], marker="o", mfc="white", color=color, linestyle="none")
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.axvline(self.ref + 0.5, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xlabel("Periods relative to adoption")
        ax.set_ylabel(f"Effect ({self.att.level:.0%} CI)")
        ax.set_title(f"Event study ({'Sun-Abraham IW' if self.estimator == 'sunab' else 'TWFE'})")
        return ax

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        t = self.table
        lines = [f"Event study ({self.estimator}), reference period {self.ref}",
                 f"{'e':>5}{'estimate':>11}{'se':>10}{'ci_low':>10}{'ci_high':>10}{'p':>11}"]
        for e, r in t.iterrows():
            if e == self.ref:
                lines.append(f"{e:>5}{'0 (ref)':>11}")
                continue
            lines.append(f"{e:>5}{r['estimate']:>11.4g}{r['se']:>10.4g}{r['ci_low']:>10.4g}"
                         f"{r['ci_high']:>10.4g}{r['pvalue']:>11.3g}")
        if self.pretrend:
            p = self.pretrend
            lines.append(f"Pre-trends ({p['method']}): p = {p['pvalue']:.3g}"
                         + (f"; chi2({p['df']}) p = {p['pvalue_chi2']:.3g}" if p["test"] != "chi2" else ""))
        a = self.att
        lines.append(f"Average post effect: {a.estimate:.4g} (SE {a.se:.4g}), p = {a.pvalue:.3g}")
        return "\n".join(lines)


def _prepare(data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str, covs: list[str],
             cluster: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    require_columns(data, {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort,
                            "cluster": cluster, **{f"covariate #{i + 1}": c for i, c in enumerate(covs)}})
    for col, role in [(outcome, "outcome"), (time, "time"), *[(c, "covariate") for c in covs]]:
        _numeric(data, col, role)
    if not pd.api.types.is_numeric_dtype(data[cohort]):
        raise ValueError(f"The cohort column {cohort!r} must be numeric (first treated period; 0 or missing "
                         f"for never treated), found dtype {data[cohort].dtype}.")
    df, n_missing = _drop_missing(data, [outcome, *covs], list(dict.fromkeys([unit, time, cluster])))
    g = df[cohort].fillna(0).to_numpy(float)
    tt = df[time].to_numpy(float)
    if np.any(tt != np.round(tt)):
        raise ValueError(f"The time column {time!r} must hold whole periods (e.g. years), found fractions.")
    per_unit = pd.Series(g).groupby(df[unit].to_numpy()).nunique()
    if (per_unit > 1).any():
        bad = per_unit.index[per_unit.to_numpy() > 1][0]
        raise ValueError(f"The cohort column {cohort!r} must be constant within each unit; unit {show(bad)} "
                         "has several values. It should be the unit's first treated period.")
    t_min, t_max = tt.min(), tt.max()
    g = np.where(g > t_max, 0.0, g)  # adopted after the sample: never treated within it
    always = (g > 0) & (g <= t_min)
    notes = {"rows_dropped_missing": n_missing, "rows_dropped_always_treated": int(always.sum())}
    work = pd.DataFrame({"y_": df[outcome].to_numpy(float), "t_": tt.astype(np.int64), "g_": g.astype(np.int64),
                         "i_": pd.factorize(df[unit])[0], "c_": pd.factorize(df[cluster])[0]})
    for i, c in enumerate(covs):
        work[f"x{i}_"] = df[c].to_numpy(float)
    work = work.loc[~always].reset_index(drop=True)
    if not (work["g_"] > 0).any():
        raise ValueError(f"No unit is treated inside the sample period according to {cohort!r}.")
    return work, notes


def _check_identified_variances(V: pd.DataFrame, cells: list[tuple[int, int, str]] | None,
                                work: pd.DataFrame, cluster: str) -> None:
    """Refuse coefficients whose clustered variance is zero up to rounding.

    When every observation of a dummy lies in one cluster, the normal equations make
    that cluster's score for the dummy sum to zero, so its CRV1 variance is 0
    (rounding makes it +-1e-18) and no standard error exists: e.g. a Sun-Abraham
    cohort of one school, or of schools in one municipality when clustering by
    municipality. Say which cohorts, and what to do, instead of failing on a square root.
    """
    d = np.diag(V.to_numpy())
    scale = float(np.nanmax(np.abs(d))) if d.size else 0.0
    bad = [name for name, v in zip(V.index, d) if not v > 1e-10 * scale]
    bad = [b for b in bad if b.startswith(("sa_", "ev_"))]
    if not bad:
        return
    if cells is not None:
        cohorts = sorted({g for g, _, c in cells if c in bad})
        units = work.loc[work["g_"].isin(cohorts)].groupby("g_")["i_"].nunique()
        clusters = work.loc[work["g_"].isin(cohorts)].groupby("g_")["c_"].nunique()
        what = "; ".join(f"cohort {_fmt_int(g)}: {units[g]} unit(s) in {clusters[g]} {cluster!r} cluster(s)"
                         for g in cohorts)
        raise ValueError(
            f"Sun-Abraham event study: the clustered variance of the cells of {what} is zero (all "
            "of a cohort's observations lie in one cluster, so its cluster score sums to zero): no standard error "
            "can be given. "
            "Drop or merge these cohorts (e.g. into a neighbouring cohort), use a longer panel, or use "
            "method='twfe' or att_gt, which compare each cohort with the comparison group directly.")
    raise ValueError(
        f"Event study: the clustered variance of {', '.join(bad)} is zero; these relative periods are observed "
        f"in a single {cluster!r} cluster, so no standard error can be given. Bin them with `window=` or "
        "cluster at a finer level.")


def _fmt_int(x: Any) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _name(e: int) -> str:
    return f"m{-e}" if e < 0 else f"p{e}"


def _lead_scores(fit: Any, R: np.ndarray, cluster: np.ndarray) -> inf.ScoreBootstrap:
    """The restricted wild cluster bootstrap of the leads theta = R b (see
    :class:`_cs_inference.ScoreBootstrap`) from the fit with the fixed effects partialled out
    (X~, y~ from pyfixest): the restricted fit drops the lead columns, u~ its residuals,
    Z_c = X~_c' u~_c, H_c = X~_c' X~_c, A = X~'X~, P = R A^{-1}. Each draw re-estimates all
    coefficients; its residuals are not re-demeaned for the fixed effects crossed with the
    clusters (the years), a linearisation of the exact bootstrap (Roodman et al. 2019)."""
    X = np.asarray(fit._X, float)
    y = np.asarray(fit._Y, float).ravel()
    free = ~np.any(R != 0, axis=0)                  # the columns H0 leaves free
    Xr = X[:, free]
    br = np.linalg.lstsq(Xr, y, rcond=None)[0] if free.any() else np.zeros(0)
    u = y - Xr @ br
    codes, cl = np.unique(cluster, return_inverse=True)
    G = codes.shape[0]
    Z = inf.cluster_sums(X * u[:, None], cl, G)
    order = np.argsort(cl, kind="stable")
    cuts = np.searchsorted(cl[order], np.arange(G + 1))
    H = np.stack([X[order[a:b]].T @ X[order[a:b]] for a, b in zip(cuts[:-1], cuts[1:])])
    A_inv = np.linalg.pinv(X.T @ X, hermitian=True)
    return inf.ScoreBootstrap(Z=Z, H=H, A_inv=A_inv, P=R @ A_inv)


@renamed(positional=("method", "base_period", "window", "covariates", "cluster"),
         estimator="method", ref="base_period")
def event_study(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    method: Literal["twfe", "sunab"] = "twfe",
    base_period: int = -1,
    window: tuple[int, int] | None = None,
    covariates: Sequence[str] | str | None = None,
    cluster: str | None = None,
    vcov: Literal["CR1", "CR2"] = "CR1",
    n_boot: int | None = inf.DEFAULT_WALD_DRAWS,
    seed: int = 0,
) -> EventStudyResult:
    """Event-study leads and lags around the relative period ``base_period`` (``method``
    ``"twfe"`` or ``"sunab"``, Sun-Abraham IW); the result keeps them as ``estimator``
    and ``ref``.

    ``cohort`` is the first treated period (0 or missing: never treated; units
    treated from the first sample period on are dropped, those treated after it
    count as never treated). ``window=(lo, hi)`` bins relative periods beyond
    the ends into the end points. Standard errors: CRV1 clustered by ``cluster``
    (default ``unit``), t(G - 1) inference. See the module docstring.
    ``vcov="CR2"``: Bell-McCaffrey covariance, each effect with its Satterthwaite
    df (:mod:`evaltools.estimate.cluster_robust`); the pre-trend test's Wald statistic
    then uses the CR2 covariance. Fewer than ``FEW_CLUSTERS``
    clusters: each estimate's ``diagnostics["few_clusters"]`` holds the CR2 interval.

    ``pretrend``: the joint test that all leads are zero, ``.pretrend_test().to_dict()``
    (the same test as ``att_gt(...).pretrend_test()``, see :meth:`EventStudyResult.pretrend_test`):
    by default a restricted wild cluster bootstrap of max |t| over the leads with ``n_boot``
    draws (by default 9,999, or 1,999 with thousands of clusters) from ``seed``.
    """
    vcov = check_vcov(vcov)
    estimator = choice(method, ("twfe", "sunab"), "method", where="event_study")
    ref = base_period
    covs = as_list(covariates)
    cluster = cluster or unit
    work, notes = _prepare(data, outcome, unit, time, cohort, covs, cluster)
    control = "never treated"
    if estimator == "sunab" and not (work["g_"] == 0).any():
        last = int(work["g_"].max())
        notes["rows_dropped_from_last_cohort_adoption"] = int((work["t_"] >= last).sum())
        work = work.loc[work["t_"] < last].reset_index(drop=True)
        work.loc[work["g_"] == last, "g_"] = 0
        control = f"last-treated cohort ({last})"
    treated = work["g_"] > 0
    e = np.where(treated, work["t_"] - work["g_"], 0).astype(np.int64)
    if window is not None:
        lo, hi = window
        if not lo <= ref <= hi:
            raise ValueError(f"base_period={ref} must lie inside window={window}.")
        e = np.clip(e, lo, hi)
    work["e_"] = e
    rel = sorted(set(e[treated.to_numpy()]))
    if ref not in rel:
        raise ValueError(f"The reference period base_period={ref} is not observed for any treated unit; relative "
                         f"periods present: {rel[0]}..{rel[-1]}. Choose one of them.")
    xs = [f"x{i}_" for i in range(len(covs))]
    tr = treated.to_numpy()
    cols: dict[str, np.ndarray] = {}
    cells: list[tuple[int, int, str]] = []  # (cohort, e, column)
    if estimator == "twfe":
        for k in rel:
            if k != ref:
                cols[f"ev_{_name(k)}"] = (tr & (e == k)).astype(float)
    else:
        gv = work["g_"].to_numpy()
        for gg in sorted(set(gv[tr])):
            for k in sorted(set(e[tr & (gv == gg)])):
                if k != ref:
                    c = f"sa_{gg}_{_name(k)}"
                    cols[c] = ((gv == gg) & (e == k)).astype(float)
                    cells.append((int(gg), int(k), c))
    work = pd.concat([work, pd.DataFrame(cols)], axis=1)
    fit = _feols(f"y_ ~ {' + '.join([*cols, *xs])} | i_ + t_", work, {"CRV1": "c_"})
    names = list(fit._coefnames)
    b = pd.Series(np.asarray(fit.coef(), float), index=names)
    V = pd.DataFrame(np.asarray(fit._vcov, float), index=names, columns=names)
    df_t = float(fit._df_t)
    G = int(np.min(fit._G))
    dropped = [c for c in cols if c not in names]
    _check_identified_variances(V, cells if estimator == "sunab" else None, work, cluster)
    small = None  # the CR2 fit: asked for, or the few-clusters alternative
    if vcov == "CR2" or G < FEW_CLUSTERS:
        kept = np.setdiff1d(np.arange(len(work)), np.fromiter(fit._na_index, int, len(fit._na_index)))
        wk = work.iloc[kept]
        try:
            small = cr2_model(wk[names].to_numpy(float), wk["y_"].to_numpy(float), wk["c_"].to_numpy(),
                              fe_codes=wk[["i_", "t_"]].to_numpy())
        except ValueError:
            if vcov == "CR2":
                raise
            # too large a design: the few-clusters note then points to the wild bootstrap
        if vcov == "CR2":
            V = pd.DataFrame(small.vcov, index=names, columns=names)
    # linear maps from the coefficients to each relative period's effect
    maps: dict[int, pd.Series] = {}
    counts = work.loc[tr].groupby("e_").size()
    if estimator == "twfe":
        for k in rel:
            if k != ref and f"ev_{_name(k)}" in names:
                maps[k] = pd.Series({f"ev_{_name(k)}": 1.0})
        post = {c: float(counts[k]) for k in rel if k >= 0 for c in [f"ev_{_name(k)}"] if c in names}
        cohort_table = None
    else:
        n_ge = work.loc[tr].groupby(["g_", "e_"]).size()
        rows = []
        for k in rel:
            if k == ref:
                continue
            cs = [(gg, c) for gg, kk, c in cells if kk == k and c in names]
            if not cs:
                continue
            n = np.array([n_ge[(gg, k)] for gg, _ in cs], float)
            w = n / n.sum()
            maps[k] = pd.Series(w, index=[c for _, c in cs])
            for (gg, c), wi, ni in zip(cs, w, n):
                rows.append({"cohort": gg, "rel_time": k, "estimate": b[c], "se": math.sqrt(V.loc[c, c]),
                             "weight": wi, "n_obs": int(ni)})
        cohort_table = pd.DataFrame(rows).set_index(["cohort", "rel_time"])
        post = {c: float(n_ge[(gg, k)]) for gg, k, c in cells if k >= 0 and c in names}
    opts = {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort, "method": estimator, "base_period": ref,
            "window": window, "covariates": covs, "cluster": cluster, "control": control}
    n = {"obs": int(fit._N), "units": int(work["i_"].nunique()), "treated_units": int(work.loc[tr, "i_"].nunique()),
         "clusters": G}
    method = ("Sun-Abraham (2021) interaction-weighted event study" if estimator == "sunab"
              else "Two-way fixed-effects event study") + (
                  f", CRV1 clustered by {cluster!r}, pyfixest" if vcov == "CR1"
                  else f", CR2 (Satterthwaite df) clustered by {cluster!r}")
    opts["vcov"] = vcov

    def lincomb(m: pd.Series, label: str, extra: dict[str, Any] | None = None) -> Estimate:
        est = float(m @ b[m.index])
        se = math.sqrt(float(m @ V.loc[m.index, m.index] @ m))
        dfe, alt = df_t, None
        if small is not None:
            alt = {"method": "CR2, Satterthwaite df", **small.test(m.reindex(names, fill_value=0.0).to_numpy())}
            if vcov == "CR2":
                se, dfe = alt["se"], alt["df"]
        fc = few_clusters(G, alt, vcov=vcov)
        return Estimate.from_normal(label, est, se, df=dfe, n=n, method=method, options=opts,
                                    diagnostics={**notes, "dropped_collinear": dropped, **(extra or {}),
                                                 **({"few_clusters": fc} if fc else {})})

    estimates = {k: lincomb(m, f"effect at e={k}", {"n_obs_at_e": int(counts.get(k, 0))}) for k, m in maps.items()}
    if not post:
        raise ValueError("No post-adoption period (e >= 0) could be estimated; widen the window or the sample.")
    pw = pd.Series(post)
    att = lincomb(pw / pw.sum(), f"average post effect ({estimator})")
    table = pd.DataFrame([{"rel_time": k, "estimate": v.estimate, "se": v.se, "ci_low": v.ci_low,
                           "ci_high": v.ci_high, "pvalue": v.pvalue, "n_obs": int(counts.get(k, 0))}
                          for k, v in estimates.items()]
                         + [{"rel_time": ref, "estimate": 0.0, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                             "pvalue": np.nan, "n_obs": int(counts.get(ref, 0))}]).set_index("rel_time").sort_index()
    # covariance of the lead/lag effects: R V R' with R the rows of the maps
    keys = sorted(maps)
    Rm = pd.DataFrame(0.0, index=keys, columns=names)
    for k in keys:
        Rm.loc[k, maps[k].index] = maps[k].to_numpy()
    Vk = Rm.to_numpy() @ V.to_numpy() @ Rm.to_numpy().T
    vcov = pd.DataFrame((Vk + Vk.T) / 2, index=pd.Index(keys, name="rel_time"),
                        columns=pd.Index(keys, name="rel_time"))
    leads = [k for k in estimates if k < 0]
    pre = None
    if leads:
        R = Rm.loc[leads].to_numpy()
        kept = np.setdiff1d(np.arange(len(work)), np.fromiter(fit._na_index, int, len(fit._na_index)))
        pre = {"R": R, "estimate": R @ b.to_numpy(), "vcov": R @ V.to_numpy() @ R.T,
               "labels": [f"e={k}" for k in leads], "clusters": G, "cluster_codes": work["c_"].to_numpy()[kept],
               "n_boot": n_boot, "seed": seed, "cache": {}}
    result = EventStudyResult(table, estimates, att, None, estimator, ref, cohort_table, fit, vcov, pre)
    if pre is not None:
        test = result.pretrend_test()
        object.__setattr__(result, "pretrend", {**test.to_dict(), "wald": test.statistic, "F": test.f_statistic,
                                                "df_num": float(test.df)})
    return result
