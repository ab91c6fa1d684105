"""Classic difference-in-differences: the 2x2 table and two-way fixed effects.

``did_2x2`` fits ``y = a + b T + c P + d T*P (+ X'g) + e`` and reports the table
of DIME's ``ieddtab`` (baseline means by arm, each arm's first difference, the
difference-in-differences ``d``); Angrist & Pischke (2009), *Mostly Harmless
Econometrics*, ch. 5. ``twfe`` fits ``y_it = a_i + l_t + b D_it (+ X_it'g) + e_it``
with pyfixest; with staggered adoption and heterogeneous effects ``b`` is a
weighted average with possibly negative weights (Goodman-Bacon 2021, J. Econom.
225(2)): use :func:`evaltools.estimate.diff_in_diff.event_time` or ``att_gt`` then.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaltools.core.inputs import as_list, require_columns, show
from evaltools.core.result import Estimate, ResultMixin, SummaryText
from evaltools.core.vocabulary import renamed
from evaltools.estimate.cluster_robust import FEW_CLUSTERS, check_vcov, cr2, cr2_fit, few_clusters
from evaltools.estimate.fixed_effects import DEFAULT_TOL

__all__ = ["DiD2x2Result", "TWFEResult", "did_2x2", "twfe"]


# --------------------------------------------------------------------------- helpers
def _numeric(data: pd.DataFrame, col: str, role: str) -> None:
    if not (pd.api.types.is_numeric_dtype(data[col]) or pd.api.types.is_bool_dtype(data[col])):
        raise ValueError(f"The {role} column {col!r} must be numeric, found dtype {data[col].dtype}.")


def _binary(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    """The column as 0/1 floats; anything else is an error naming the first bad row."""
    s = data[col]
    vals = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_bool_dtype(s) else s.astype(float)
    bad = ~vals.isin([0, 1])
    if bad.any():
        row = data.index[np.flatnonzero(bad.to_numpy())[0]]
        raise ValueError(
            f"The {role} column {col!r} must hold only 0/1 (or True/False); row {show(row)} has "
            f"{show(s.loc[row])}. Recode it, e.g. data[{col!r}] = (data[{col!r}] == <treated value>)."
        )
    return vals.to_numpy(dtype=float)


def _drop_missing(data: pd.DataFrame, numeric: list[str], keys: list[str]) -> tuple[pd.DataFrame, int]:
    """Drop rows with a missing outcome/covariate; a missing design key is an error."""
    for col in keys:
        if data[col].isna().any():
            row = data.index[np.flatnonzero(data[col].isna().to_numpy())[0]]
            raise ValueError(
                f"Column {col!r} has {int(data[col].isna().sum())} missing value(s) (first at row "
                f"{show(row)}); the design cannot place those rows: drop or fill them first."
            )
    keep = data[numeric].notna().all(axis=1)
    return data.loc[keep], int((~keep).sum())


def _feols(fml: str, df: pd.DataFrame, vcov: Any, *, own: bool = False) -> Any:
    """pyfixest.feols with the fixed effects partialled out to DEFAULT_TOL (1e-11), tighter
    than pyfixest's 1e-8, which leaves ~1e-8 relative error on unbalanced panels. ``own``: ``df``
    is the caller's private frame, so pyfixest need not copy it first (it does not change it;
    the same fit, about a quarter of the time on a national frame)."""
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        return pf.feols(fml, df, vcov=vcov, fixef_tol=DEFAULT_TOL, copy_data=not own)


# --------------------------------------------------------------------------- 2x2
@dataclass(frozen=True, repr=False)
class DiD2x2Result(ResultMixin):
    """The 2x2 DiD table (``.table``) and the DiD as an :class:`Estimate` (``.estimate``).

    ``first_diff_treated`` / ``first_diff_control`` are the follow-up minus
    baseline changes of each arm (regression-adjusted when there are covariates).
    """

    table: pd.DataFrame
    estimate: Estimate
    first_diff_treated: Estimate
    first_diff_control: Estimate

    def to_frame(self) -> pd.DataFrame:
        """The table: one row per arm and one for the DiD."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """The DiD, the two first differences and the table (for ``evaltools.report.record``)."""
        return {"type": "DiD2x2Result", "estimate": self.estimate, "first_diff_treated": self.first_diff_treated,
                "first_diff_control": self.first_diff_control, "table": self.table}

    def _summary_title(self) -> str:
        return f"Difference-in-differences 2x2: {self.estimate.estimand}"

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        t = self.table
        fmt = lambda x: "" if pd.isna(x) else f"{x:.4g}"  # noqa: E731
        head = f"{'':<28}{'N base':>8}{'N follow':>9}{'Mean base':>11}{'Mean follow':>12}{'Diff':>10}{'(SE)':>11}{'p':>11}"
        lines = [f"Difference-in-differences 2x2: {self.estimate.estimand}", head]
        for name, r in t.iterrows():
            lines.append(
                f"{str(name):<28}{fmt(r['n_baseline']):>8}{fmt(r['n_followup']):>9}"
                f"{fmt(r['mean_baseline']):>11}{fmt(r['mean_followup']):>12}{fmt(r['diff']):>10}"
                f"{'(' + fmt(r['se']) + ')':>11}{fmt(r['pvalue']):>11}"
            )
        e = self.estimate
        lines.append(f"DiD {e.level:.0%} CI [{e.ci_low:.4g}, {e.ci_high:.4g}]; {e.method}")
        return "\n".join(lines)


@renamed(positional=("covariates", "cluster"), treated="treatment")
def did_2x2(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    post: str,
    *,
    covariates: Sequence[str] | str | None = None,
    cluster: str | None = None,
    vcov: Literal["CR1", "CR2"] = "CR1",
) -> DiD2x2Result:
    """Two-group, two-period difference-in-differences in the layout of DIME's ``ieddtab``.

    Regression ``y = a + b T + c P + d T*P (+ X'g)``: control first difference
    ``c``, treated first difference ``c + d``, DiD ``d``. Standard errors are
    cluster-robust (CRV1, t with G-1 df) with ``cluster``, else HC1 (t with N-k df);
    ``vcov="CR2"`` (with ``cluster``): Bell-McCaffrey SEs with Satterthwaite df
    (:mod:`evaltools.estimate.cluster_robust`). Fewer than ``FEW_CLUSTERS``
    clusters: ``diagnostics["few_clusters"]`` holds the note and the CR2 interval.
    Baseline and follow-up means are raw cell means. Rows with a missing outcome
    or covariate are dropped (counted in ``estimate.diagnostics``).
    """
    covs = as_list(covariates)
    require_columns(data, {"outcome": outcome, "treatment": treatment, "post": post, "cluster": cluster,
                            **{f"covariate #{i + 1}": c for i, c in enumerate(covs)}})
    for col, role in [(outcome, "outcome"), *[(c, "covariate") for c in covs]]:
        _numeric(data, col, role)
    vcov = check_vcov(vcov)
    if vcov == "CR2" and not cluster:
        raise ValueError("vcov='CR2' is a cluster-robust variance: give cluster= (e.g. the school column).")
    keys = [treatment, post] + ([cluster] if cluster else [])
    df, n_dropped = _drop_missing(data, [outcome, *covs], keys)
    T = _binary(df, treatment, "treatment")
    P = _binary(df, post, "post")
    for t in (0, 1):
        for p in (0, 1):
            if not ((T == t) & (P == p)).any():
                arm = "treated" if t else "control"
                per = "follow-up" if p else "baseline"
                raise ValueError(f"There are no {arm} observations at {per} ({treatment}={t}, {post}={p}).")
    work = pd.DataFrame({"y_": df[outcome].to_numpy(float), "T_": T, "P_": P})
    for i, c in enumerate(covs):
        work[f"x{i}_"] = df[c].to_numpy(float)
    if cluster:
        work["c_"] = pd.factorize(df[cluster])[0]
    rhs = " + ".join(["T_", "P_", "T_:P_"] + [f"x{i}_" for i in range(len(covs))])
    fit = _feols(f"y_ ~ {rhs}", work, {"CRV1": "c_"} if cluster else "hetero", own=True)
    names = list(fit._coefnames)
    b, V = np.asarray(fit.coef()), np.asarray(fit._vcov)
    df_t = float(fit._df_t)
    method = "OLS y ~ T + P + T:P" + (" + covariates" if covs else "") + (
        f", CRV1 clustered by {cluster!r}" if cluster else ", HC1 robust SE")
    G = int(work["c_"].nunique()) if cluster else None
    n_all = {"obs": len(work), "treated": int((T == 1).sum()), "comparison": int((T == 0).sum())}
    if G:
        n_all["clusters"] = G
    small = None  # CR2 with Satterthwaite df: asked for, or the few-clusters alternative
    if G and (vcov == "CR2" or G < FEW_CLUSTERS):
        small = cr2(np.asarray(fit._X), np.asarray(fit._u_hat).ravel(), work["c_"].to_numpy())
        if vcov == "CR2":
            method = method.replace("CRV1", "CR2 (Bell-McCaffrey, Satterthwaite df)")

    def lin(weights: dict[str, float], name: str) -> Estimate:
        w = np.zeros(len(names))
        for k, v in weights.items():
            w[names.index(k)] = v
        alt = None if small is None else {"method": "CR2, Satterthwaite df", **small.test(b, w)}
        se, dfv = (alt["se"], alt["df"]) if vcov == "CR2" and alt else (float(np.sqrt(w @ V @ w)), df_t)
        fc = few_clusters(G, alt, vcov=vcov) if G else None
        return Estimate.from_normal(
            name, float(w @ b), se, df=dfv, n=n_all, method=method,
            options={"outcome": outcome, "treatment": treatment, "post": post, "covariates": covs,
                     "cluster": cluster, **({"vcov": vcov} if cluster else {})},
            diagnostics={"rows_dropped_missing": n_dropped, **({"few_clusters": fc} if fc else {})},
        )

    did = lin({"T_:P_": 1.0}, f"DiD({outcome})")
    fd_c = lin({"P_": 1.0}, "First difference, control")
    fd_t = lin({"P_": 1.0, "T_:P_": 1.0}, "First difference, treated")
    rows = []
    for label, t, fd in [("Treatment", 1, fd_t), ("Control", 0, fd_c)]:
        base, foll = (T == t) & (P == 0), (T == t) & (P == 1)
        rows.append({"row": label, "n_baseline": int(base.sum()), "n_followup": int(foll.sum()),
                     "mean_baseline": work.loc[base, "y_"].mean(), "mean_followup": work.loc[foll, "y_"].mean(),
                     "diff": fd.estimate, "se": fd.se, "ci_low": fd.ci_low, "ci_high": fd.ci_high,
                     "pvalue": fd.pvalue})
    rows.append({"row": "Difference-in-differences", "n_baseline": int((P == 0).sum()),
                 "n_followup": int((P == 1).sum()), "mean_baseline": np.nan, "mean_followup": np.nan,
                 "diff": did.estimate, "se": did.se, "ci_low": did.ci_low, "ci_high": did.ci_high,
                 "pvalue": did.pvalue})
    table = pd.DataFrame(rows).set_index("row")
    table.index.name = outcome
    return DiD2x2Result(table, did, fd_t, fd_c)


# --------------------------------------------------------------------------- TWFE
def _varies_within(x: np.ndarray, codes: np.ndarray) -> bool:
    """Whether x deviates from its group mean anywhere (O(N), bincount)."""
    n = np.bincount(codes)
    mean = np.bincount(codes, weights=x) / np.maximum(n, 1)
    dev = x - mean[codes]
    return bool(np.abs(dev).max(initial=0.0) > 1e-12 * max(1.0, float(np.abs(x).max(initial=0.0))))


@dataclass(frozen=True, repr=False)
class TWFEResult(ResultMixin):
    """Two-way fixed-effects fit: ``.estimate`` for the treatment, ``.table`` for all
    coefficients, ``.fit`` the underlying pyfixest model."""

    estimate: Estimate
    table: pd.DataFrame
    fit: Any
    _data: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """All coefficients: estimate, se, ci_low, ci_high, pvalue."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """The treatment effect and the coefficient table (not the data or the fit)."""
        return {"type": "TWFEResult", "estimate": self.estimate, "table": self.table}

    def _summary_title(self) -> str:
        return "Two-way fixed effects"

    @renamed(positional=("n_boot", "weight_type", "seed"), reps="n_boot", weights="weight_type")
    def wild_bootstrap(self, *, n_boot: int = 9999, weight_type: str = "rademacher", seed: int | None = None,
                       level: float = 0.95) -> Any:
        """Restricted wild cluster bootstrap of the treatment coefficient, same model, rows
        and clusters (see :func:`evaltools.estimate.wild_cluster_bootstrap`); for few clusters."""
        from evaltools.estimate.diff_in_diff.wild_bootstrap import wild_cluster_bootstrap

        o = self.estimate.options
        if self._data is None:
            raise ValueError("This result does not hold its data; call wild_cluster_bootstrap() directly.")
        return wild_cluster_bootstrap(self._data, o["outcome"], o["treatment"], covariates=o["covariates"],
                                      cluster=o["cluster"], fixed_effects=[o["unit"], o["time"]], n_boot=n_boot,
                                      weight_type=weight_type, seed=seed, level=level)

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        return f"Two-way fixed effects\n{self.estimate!r}"


@renamed(positional=("covariates", "cluster"))
def twfe(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    unit: str,
    time: str,
    *,
    covariates: Sequence[str] | str | None = None,
    cluster: str | None = None,
    vcov: Literal["CR1", "CR2"] = "CR1",
) -> TWFEResult:
    """Two-way fixed effects ``y_it = a_i + l_t + b D_it (+ X_it'g) + e_it`` via pyfixest.

    ``treatment`` is numeric (0/1 or a dose). Standard errors are CRV1 clustered by
    ``cluster`` (default: ``unit``) with fixest's small-sample factor and t(G-1)
    inference, identical to ``pyfixest.feols`` (run with ``fixef_tol=1e-11``). Unbalanced panels are fine;
    singleton groups are dropped as in fixest. Rows with a missing outcome,
    treatment or covariate are dropped (counted in ``estimate.diagnostics``).
    ``vcov="CR2"``: Bell-McCaffrey SEs with Satterthwaite df, fixed effects nested
    in the clusters absorbed and the others (periods) as dummies
    (:func:`evaltools.estimate.cluster_robust.fe_design`, which limits their number).
    Fewer than ``FEW_CLUSTERS`` clusters: ``diagnostics["few_clusters"]`` holds the
    note and the CR2 interval (and ``.wild_bootstrap()`` is the other alternative).
    """
    vcov = check_vcov(vcov)
    covs = as_list(covariates)
    cluster = cluster or unit
    require_columns(data, {"outcome": outcome, "treatment": treatment, "unit": unit, "time": time,
                            "cluster": cluster, **{f"covariate #{i + 1}": c for i, c in enumerate(covs)}})
    for col, role in [(outcome, "outcome"), (treatment, "treatment"), *[(c, "covariate") for c in covs]]:
        _numeric(data, col, role)
    cols = list(dict.fromkeys([outcome, treatment, *covs, unit, time, cluster]))
    # only the model's columns are copied when rows are dropped (a study's frame may be wide)
    df, n_dropped = _drop_missing(data[cols], [outcome, treatment, *covs], list(dict.fromkeys([unit, time, cluster])))
    work = pd.DataFrame({"y_": df[outcome].to_numpy(float), "d_": df[treatment].to_numpy(float),
                         "i_": pd.factorize(df[unit])[0], "t_": pd.factorize(df[time])[0],
                         "c_": pd.factorize(df[cluster])[0]})
    for i, c in enumerate(covs):
        work[f"x{i}_"] = df[c].to_numpy(float)
    rhs = " + ".join(["d_"] + [f"x{i}_" for i in range(len(covs))])
    d = work["d_"].to_numpy()
    if not (_varies_within(d, work["i_"].to_numpy()) and _varies_within(d, work["t_"].to_numpy())):
        raise ValueError(
            f"The treatment {treatment!r} does not vary within units or within periods, so it is "
            "absorbed by the unit or time fixed effects; two-way FE cannot estimate its effect."
        )
    fit = _feols(f"y_ ~ {rhs} | i_ + t_", work, {"CRV1": "c_"}, own=True)
    if "d_" not in fit._coefnames:  # e.g. additive in unit and period: pyfixest dropped it
        raise ValueError(f"The treatment {treatment!r} is collinear with the unit and period fixed effects.")
    tidy = fit.tidy()
    rename = {"d_": treatment, **{f"x{i}_": c for i, c in enumerate(covs)}}
    table = pd.DataFrame({
        "estimate": tidy["Estimate"].to_numpy(), "se": tidy["Std. Error"].to_numpy(),
        "ci_low": tidy["2.5%"].to_numpy(), "ci_high": tidy["97.5%"].to_numpy(),
        "pvalue": tidy["Pr(>|t|)"].to_numpy()}, index=pd.Index([rename[c] for c in tidy.index], name="term"))
    G = int(np.min(fit._G))
    alt, se_df = None, (float(table.loc[treatment, "se"]), float(fit._df_t))
    if vcov == "CR2" or G < FEW_CLUSTERS:
        kept = np.setdiff1d(np.arange(len(work)), np.fromiter(fit._na_index, int, len(fit._na_index)))
        wk = work.iloc[kept]
        try:
            tests = cr2_fit(wk[list(fit._coefnames)].to_numpy(float), wk["y_"].to_numpy(),
                            wk["c_"].to_numpy(), fe_codes=wk[["i_", "t_"]].to_numpy())
        except ValueError:
            if vcov == "CR2":
                raise
            tests = None  # too large a design: the few-clusters note points to .wild_bootstrap()
        if tests is not None:
            alt = {"method": "CR2, Satterthwaite df", **tests[list(fit._coefnames).index("d_")]}
        if vcov == "CR2":
            table["se"] = [t["se"] for t in tests]
            table["ci_low"] = [t["ci_low"] for t in tests]
            table["ci_high"] = [t["ci_high"] for t in tests]
            table["pvalue"] = [t["pvalue"] for t in tests]
            se_df = (alt["se"], alt["df"])
    fc = few_clusters(G, alt, vcov=vcov)
    r = table.loc[treatment]
    ever = work.loc[work["d_"] != 0, "i_"].nunique()
    est = Estimate.from_normal(
        f"TWFE({treatment} -> {outcome})", float(r["estimate"]), se_df[0], df=se_df[1],
        n={"obs": int(fit._N), "units": int(work["i_"].nunique()), "treated_units": int(ever),
           "periods": int(work["t_"].nunique()), "clusters": G},
        method=f"Two-way fixed effects OLS (pyfixest), {'CRV1' if vcov == 'CR1' else 'CR2 (Satterthwaite df)'} "
               f"clustered by {cluster!r}",
        options={"outcome": outcome, "treatment": treatment, "unit": unit, "time": time,
                 "covariates": covs, "cluster": cluster, "vcov": vcov},
        diagnostics={"rows_dropped_missing": n_dropped, "rows_dropped_singletons": int(len(work) - fit._N),
                     **({"few_clusters": fc} if fc else {})},
    )
    return TWFEResult(est, table, fit, df)
