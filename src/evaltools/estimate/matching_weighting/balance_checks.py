"""Balance tables in the style of DIME's ``iebaltab``, before and after adjustment.

For each covariate ``x``: N, mean and SD in each arm; the difference in means;
the normalised difference (Imbens and Rubin 2015, eq. 14.1)::

    nd = (mean_t - mean_c) / sqrt((s_t^2 + s_c^2) / 2)

the variance ratio ``s_t^2 / s_c^2``; and the p-value of ``b`` in the
regression ``x = a + b * treatment (+ fixed effects) + u`` with
heteroskedasticity-robust (HC1) or cluster-robust (CR1, t(G-1)) SEs, fitted by
pyfixest, or with ``vcov="CR2"`` the Bell-McCaffrey CR2 SE with Satterthwaite df
(:func:`evaltools.estimate.cluster_robust.cr2_model`; R: ``clubSandwich::coef_test(vcovCR(
lm(x ~ treatment), cluster, type = "CR2"))``). The joint orthogonality test regresses the
treatment on all covariates (plus fixed effects) and F-tests that every slope is zero
(with ``vcov="CR2"`` the Wald F of the CR2 covariance on F(q, G - 1), not clubSandwich's
small-sample HTZ test). With fewer than 30 clusters the result says so in
``diagnostics["few_clusters"]``.

With ``weights`` (matching or IPW weights) the same statistics are computed
in the weighted sample (rows with weight 0 left out).

**One SD convention** (the package's only one; :func:`evaltools.report.balance_table`
formats this result and computes nothing): the normalised difference divides the
difference in (weighted) means by the pooled SD of the sample *before* weighting,
``sqrt((s_t^2 + s_c^2) / 2)`` with each arm's unweighted SD (ddof 1), before and after
weighting alike, so the two are on one scale (Stuart 2010, *Statistical Science* 25(1);
R ``cobalt::bal.tab(s.d.denom = "pooled")``). The SDs shown per arm are the arm's
(weighted) SDs, with the reliability-weights correction ``sum w (x - m)^2 / (V1 - V2/V1)``.
The p-value is always the regression's (HC1, or CR1 with t(G-1) / CR2 with Satterthwaite df
given ``cluster``), never a separate t-test.

``missing="drop"`` compares each covariate on the rows where it is observed (and the
joint test on the complete rows); the default refuses missing values.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.core.result import ResultMixin, SummaryText
from evaltools.core.vocabulary import choice, renamed
from evaltools.estimate.cluster_robust import check_vcov, cr2_model, few_clusters
from evaltools.estimate.matching_weighting.propensity import (
    CausalInputError,
    check_columns,
    check_frame,
    numeric_column,
    treatment_array,
)

__all__ = ["balance_table", "BalanceTable"]

_STAT_COLS = ["n_t", "mean_t", "sd_t", "n_c", "mean_c", "sd_c", "diff", "norm_diff", "var_ratio", "pvalue"]


@dataclass(repr=False)
class BalanceTable(ResultMixin):
    """Balance of covariates between arms (no single headline: no ``.estimate``).

    Attributes
    ----------
    table: the unadjusted statistics, one row per covariate (columns
        ``n_t, mean_t, sd_t, n_c, mean_c, sd_c, diff, norm_diff, var_ratio, pvalue``).
    adjusted: the same after weighting (``None`` without weights).
    ftest / ftest_adjusted: joint orthogonality test (``F``, ``pvalue``, ``df``).
    ones / ones_adjusted: for 0/1 covariates, the rows with a 1 in each arm (``k_t``,
        ``k_c``; NaN for other covariates): what disclosure control needs to protect a share.
    diagnostics: ``few_clusters`` (see :func:`evaltools.estimate.cluster_robust.few_clusters`)
        when the p-values are clustered on fewer than 30 clusters.
    """

    table: pd.DataFrame
    ftest: dict[str, float]
    adjusted: pd.DataFrame | None = None
    ftest_adjusted: dict[str, float] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    ones: pd.DataFrame | None = None
    ones_adjusted: pd.DataFrame | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def result(self, adjusted: bool = True) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The statistics and the counts of ones shown for one sample: after weighting when
        there are weights and ``adjusted``, else before."""
        if adjusted and self.adjusted is not None:
            return self.adjusted, self.ones_adjusted
        return self.table, self.ones

    def to_frame(self) -> pd.DataFrame:
        """One tidy table; with weights the columns have a top level ``unadjusted``/``adjusted``."""
        if self.adjusted is None:
            return self.table.copy()
        return pd.concat({"unadjusted": self.table, "adjusted": self.adjusted}, axis=1)

    def max_abs_norm_diff(self, adjusted: bool = True) -> float:
        """Largest absolute normalised difference (after weighting, when available)."""
        t = self.adjusted if adjusted and self.adjusted is not None else self.table
        return float(t["norm_diff"].abs().max())

    # -- export ------------------------------------------------------------
    def _formatted(self) -> pd.DataFrame:
        f = self.to_frame()
        return f.round(4)

    def to_csv(self, path: str | Path) -> Path:
        """Write the table (and the F-tests as footer rows) to CSV."""
        path = Path(path)
        out = self._formatted()
        out.to_csv(path)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"# joint F-test (unadjusted): F = {self.ftest['F']:.4f}, p = {self.ftest['pvalue']:.4g}\n")
            if self.ftest_adjusted:
                fh.write(f"# joint F-test (adjusted): F = {self.ftest_adjusted['F']:.4f}, p = {self.ftest_adjusted['pvalue']:.4g}\n")
        return path

    def to_excel(self, path: str | Path) -> Path:
        """Write the table and the F-tests (second sheet) to an Excel workbook."""
        path = Path(path)
        tests = [{"sample": "unadjusted", **self.ftest}]
        if self.ftest_adjusted:
            tests.append({"sample": "adjusted", **self.ftest_adjusted})
        with pd.ExcelWriter(path) as xw:
            self._formatted().to_excel(xw, sheet_name="balance")
            pd.DataFrame(tests).to_excel(xw, sheet_name="joint F-test", index=False)
        return path

    def to_latex(self, path: str | Path | None = None) -> str:
        """LaTeX tabular (booktabs style); written to ``path`` when given."""
        f = self._formatted()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tex = f.to_latex(float_format="%.3f", escape=True)
        note = f"% joint F-test: F = {self.ftest['F']:.3f}, p = {self.ftest['pvalue']:.3g}"
        if self.ftest_adjusted:
            note += f"; adjusted F = {self.ftest_adjusted['F']:.3f}, p = {self.ftest_adjusted['pvalue']:.3g}"
        tex = tex + note + "\n"
        if path is not None:
            Path(path).write_text(tex, encoding="utf-8")
        return tex

    def love_plot(self, ax=None, threshold: float = 0.1):
        """Absolute normalised differences by covariate, before (open) and after (filled)."""
        import matplotlib.pyplot as plt

        names = list(self.table.index)
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1.2))
        ypos = np.arange(len(names))[::-1]
        ax.scatter(self.table["norm_diff"].abs(), ypos, facecolors="none", edgecolors="C3", label="unadjusted")
        if self.adjusted is not None:
            ax.scatter(self.adjusted["norm_diff"].abs(), ypos, color="C0", label="adjusted")
        ax.axvline(threshold, color="grey", ls="--", lw=0.8)
        ax.set_yticks(ypos)
        ax.set_yticklabels(names)
        ax.set_xlabel("absolute normalised difference")
        ax.legend(loc="lower right")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """The tables, the joint tests, the options and diagnostics (not the counts of ones,
        which are for disclosure control)."""
        return {"type": "balance_table", "table": self.table, "adjusted": self.adjusted,
                "ftest": dict(self.ftest), "ftest_adjusted": None if self.ftest_adjusted is None
                else dict(self.ftest_adjusted), "options": dict(self.options),
                "diagnostics": dict(self.diagnostics)}

    def _summary_title(self) -> str:
        return f"Balance table: {self.options.get('treatment')} ({len(self.table)} covariates)"

    def _summary_notes(self) -> list[str]:
        lines = [f"Joint F-test: F = {self.ftest['F']:.3f}, p = {self.ftest['pvalue']:.3g}"]
        if self.ftest_adjusted:
            lines.append(f"Joint F-test after weighting: F = {self.ftest_adjusted['F']:.3f}, "
                         f"p = {self.ftest_adjusted['pvalue']:.3g}")
        return lines + super()._summary_notes()

    def summary(self) -> SummaryText:
        """The title, the table (3 decimals), the joint F-tests and any few-clusters note."""
        return SummaryText("\n".join([self._summary_title(),
                                      self.to_frame().to_string(float_format=lambda v: f"{v:.3f}"),
                                      *self._summary_notes()]))


def _wmean_sd(x: np.ndarray, wt: np.ndarray) -> tuple[float, float]:
    """Weighted mean and SD (reliability-weights correction, as in cobalt); NaN for an empty arm."""
    if len(x) == 0:
        return float("nan"), float("nan")
    s = wt.sum()
    m = float(np.sum(wt * x) / s)
    v1, v2 = s, np.sum(wt**2)
    denom = v1 - v2 / v1
    var = float(np.sum(wt * (x - m) ** 2) / denom) if denom > 0 else float("nan")
    return m, float(np.sqrt(var))


def _vcov(cluster: str | None):
    return {"CRV1": cluster} if cluster else "hetero"


def _cr2_design(d: pd.DataFrame, regressors: list[str], fe: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """``X`` (with an intercept unless fixed effects are absorbed) and the fixed-effect codes."""
    X = d[regressors].to_numpy(float)
    if fe:
        return X, np.column_stack([pd.factorize(d[f])[0] for f in fe])
    return np.column_stack([np.ones(len(d)), X]), None


def _cr2_pvalue(d: pd.DataFrame, x: str, treatment: str, cluster: str, fe: list[str], wt: np.ndarray) -> float:
    """CR2/Satterthwaite p-value of ``treatment`` in ``x ~ treatment (+ fe)``."""
    X, codes = _cr2_design(d, [treatment], fe)
    m = cr2_model(X, d[x].to_numpy(float), d[cluster].to_numpy(), fe_codes=codes,
                  weights=None if np.all(wt == 1) else wt)
    contrast = np.zeros(m.p)
    contrast[-1] = 1.0
    return float(m.test(contrast)["pvalue"])


def _stats(df: pd.DataFrame, treatment: str, covs: list[str], wt: np.ndarray, sd_ref: dict[str, float] | None,
           cluster: str | None, fe: list[str], vcov: str = "CR1") -> tuple[pd.DataFrame, pd.DataFrame]:
    import pyfixest as pf

    w = df[treatment].to_numpy()
    rows, ones = {}, {}
    fe_part = (" | " + " + ".join(fe)) if fe else ""
    # only the columns the regressions read (a study's frame may be wide and national)
    d = df[list(dict.fromkeys([*covs, treatment, *([cluster] if cluster else []), *fe]))].assign(__wt=wt)
    for c in covs:
        x = df[c].to_numpy(float)
        seen = ~np.isnan(x)
        t, k = (w == 1) & (wt > 0) & seen, (w == 0) & (wt > 0) & seen
        mt, st = _wmean_sd(x[t], wt[t])
        mc, sc = _wmean_sd(x[k], wt[k])
        ref_t, ref_c = (st, sc) if sd_ref is None else sd_ref[c]
        pooled = np.sqrt((ref_t**2 + ref_c**2) / 2)
        diff = mt - mc
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if vcov == "CR2":
                    keep = (wt > 0) & seen
                    p = _cr2_pvalue(d[keep], c, treatment, cluster, fe, wt[keep])
                else:
                    fit = pf.feols(f"{c} ~ {treatment}{fe_part}", d.loc[(wt > 0) & seen, list(dict.fromkeys(
                                       [c, treatment, "__wt", *([cluster] if cluster else []), *fe]))],
                                   vcov=_vcov(cluster), weights="__wt", copy_data=False)  # a fresh selection
                    p = float(fit.pvalue().loc[treatment])
            except Exception:  # constant covariate within FE, etc.
                p = float("nan")
        rows[c] = {"n_t": int(t.sum()), "mean_t": mt, "sd_t": st, "n_c": int(k.sum()), "mean_c": mc, "sd_c": sc,
                   "diff": diff, "norm_diff": diff / pooled if pooled > 0 else float("nan"),
                   "var_ratio": st**2 / sc**2 if sc > 0 else float("nan"), "pvalue": p}
        binary = bool(seen.any()) and set(np.unique(x[seen])) <= {0.0, 1.0}
        ones[c] = {"k_t": int(x[t].sum()) if binary else np.nan, "k_c": int(x[k].sum()) if binary else np.nan}
    out = pd.DataFrame.from_dict(rows, orient="index")[_STAT_COLS]
    out.index.name = "covariate"
    k = pd.DataFrame.from_dict(ones, orient="index")[["k_t", "k_c"]]
    k.index.name = "covariate"
    return out, k


def _ftest(df: pd.DataFrame, treatment: str, covs: list[str], wt: np.ndarray, cluster: str | None, fe: list[str],
           vcov: str = "CR1") -> dict[str, float]:
    import pyfixest as pf

    fe_part = (" | " + " + ".join(fe)) if fe else ""
    rhs = " + ".join(covs)
    keep = (wt > 0) & df[covs].notna().all(axis=1).to_numpy()
    d = df[list(dict.fromkeys([*covs, treatment, *([cluster] if cluster else []), *fe]))].assign(__wt=wt)[keep]
    if vcov == "CR2":
        return _cr2_ftest(d, treatment, covs, cluster, fe, wt[keep])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = pf.feols(f"{treatment} ~ {rhs}{fe_part}", d, vcov=_vcov(cluster), weights="__wt", copy_data=False)
            b = fit.coef()
        except Exception:  # too few rows or a covariate constant within the fixed effects
            return {"F": float("nan"), "pvalue": float("nan"), "df_num": len(covs), "df_denom": float("nan")}
    keep = [i for i, n in enumerate(b.index) if n != "Intercept"]
    R = np.zeros((len(keep), len(b)))
    R[np.arange(len(keep)), keep] = 1.0
    V = np.asarray(fit._vcov)  # pyfixest 0.60 keeps the (robust/clustered) vcov here
    Rb = R @ b.to_numpy()
    q = len(keep)
    F = float(Rb @ np.linalg.solve(R @ V @ R.T, Rb)) / q
    df_denom = float(fit._df_t)  # N - k, or G - 1 with clusters (as Stata's test after regress)
    return {"F": F, "pvalue": float(stats.f.sf(F, q, df_denom)), "df_num": q, "df_denom": df_denom}


def _cr2_ftest(d: pd.DataFrame, treatment: str, covs: list[str], cluster: str, fe: list[str],
               wt: np.ndarray) -> dict[str, float]:
    """Wald F of every slope of ``treatment ~ covs (+ fe)`` with the CR2 covariance, on F(q, G - 1)."""
    q = len(covs)
    try:
        X, codes = _cr2_design(d, covs, fe)
        m = cr2_model(X, d[treatment].to_numpy(float), d[cluster].to_numpy(), fe_codes=codes,
                      weights=None if np.all(wt == 1) else wt)
        slopes = slice(m.p - q, m.p)
        b, V = m.b[slopes], m.vcov[slopes, slopes]
        F = float(b @ np.linalg.solve(V, b)) / q
    except (ValueError, np.linalg.LinAlgError):
        return {"F": float("nan"), "pvalue": float("nan"), "df_num": q, "df_denom": float("nan")}
    df_denom = float(d[cluster].nunique() - 1)
    return {"F": F, "pvalue": float(stats.f.sf(F, q, df_denom)), "df_num": q, "df_denom": df_denom}


@renamed(positional=("cluster", "fixed_effects", "weights"))
def balance_table(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    cluster: str | None = None,
    fixed_effects: Sequence[str] | str | None = None,
    weights: str | pd.Series | np.ndarray | None = None,
    missing: Literal["error", "drop"] = "error",
    vcov: Literal["CR1", "CR2"] = "CR1",
) -> BalanceTable:
    """Balance of ``covariates`` between the arms of ``treatment`` (0/1).

    Parameters
    ----------
    cluster: column for cluster-robust p-values (e.g. school).
    vcov: with ``cluster``, ``"CR1"`` (default: pyfixest's CRV1, t(G-1)) or ``"CR2"``
        (Bell-McCaffrey with Satterthwaite df, valid with few clusters; any case).
    fixed_effects: column(s) absorbed in the p-value regressions (e.g. strata).
    weights: matching or IPW weights (a column name, or a Series/array aligned
        with ``data``); the table then shows unadjusted and adjusted balance.
    missing: ``"error"`` (default: a missing covariate value is refused) or ``"drop"``
        (each covariate on the rows where it is observed).
    """
    data = check_frame(data)
    treatment_array(data, treatment)
    covs = list(covariates)
    if not covs:
        raise CausalInputError("covariates is empty: list the columns to compare.")
    missing = choice(missing, ("error", "drop"), "missing", where="balance_table", error=CausalInputError)
    try:
        vcov = check_vcov(vcov)
    except ValueError as exc:
        raise CausalInputError(f"balance_table: {exc}") from None
    if vcov == "CR2" and not cluster:
        raise CausalInputError("balance_table(vcov='CR2') needs cluster=<column>: CR2 is a cluster-robust "
                               "covariance (without clusters the p-values are HC1).")
    for c in covs:
        if missing == "drop" and data[c].isna().any():
            numeric_column(data[data[c].notna()], c, "covariate")
            if data[c].notna().sum() == 0:
                raise CausalInputError(f"The covariate column '{c}' has no observed values.")
        else:
            numeric_column(data, c, "covariate")
    fe = [fixed_effects] if isinstance(fixed_effects, str) else list(fixed_effects or [])
    check_columns(data, fe + ([cluster] if cluster else []), "fixed-effect/cluster")
    if weights is None:
        wt = None
    else:
        if isinstance(weights, str):
            wt = numeric_column(data, weights, "weights")
        else:
            wt = np.asarray(weights.reindex(data.index) if isinstance(weights, pd.Series) else weights, dtype=float)
            if wt.shape != (len(data),):
                raise CausalInputError(f"weights has {wt.size} entries but data has {len(data)} rows: align them.")
        if np.any(~np.isfinite(wt)) or np.any(wt < 0):
            raise CausalInputError("weights must be finite and non-negative (rows with weight 0 are left out).")
    if vcov == "CR2" and fe and wt is not None:
        raise CausalInputError("balance_table(vcov='CR2') with both weights and fixed_effects is not supported "
                               "(the CR2 of a weighted fit with absorbed fixed effects is not defined here): "
                               "use vcov='CR1', or drop the fixed effects.")
    # Safe internal names, so that any column name works in the regression formulas.
    names = {treatment: "w__", **{c: f"v{i}__" for i, c in enumerate(covs)},
             **{f: f"fe{i}__" for i, f in enumerate(fe)}, **({cluster: "cl__"} if cluster else {})}
    df = pd.DataFrame({new: data[old].to_numpy() for old, new in names.items()}, index=data.index)
    df["w__"] = df["w__"].astype(int)
    icovs, ife, icl = [names[c] for c in covs], [names[f] for f in fe], names.get(cluster) if cluster else None
    back = {names[c]: c for c in covs}
    ones = np.ones(len(df))
    before, k_before = _stats(df, "w__", icovs, ones, None, icl, ife, vcov)
    before, k_before = before.rename(index=back), k_before.rename(index=back)
    ft = _ftest(df, "w__", icovs, ones, icl, ife, vcov)
    after = ft_after = k_after = None
    if wt is not None:
        sd_ref = {names[c]: (before.loc[c, "sd_t"], before.loc[c, "sd_c"]) for c in covs}
        after, k_after = _stats(df, "w__", icovs, wt, sd_ref, icl, ife, vcov)
        after, k_after = after.rename(index=back), k_after.rename(index=back)
        ft_after = _ftest(df, "w__", icovs, wt, icl, ife, vcov)
    diagnostics: dict[str, Any] = {}
    if cluster:
        G = int(data[cluster].nunique())
        info = (few_clusters(G, vcov="CR2") if vcov == "CR2" else
                few_clusters(G, None, advice="balance_table(..., vcov='CR2') gives Bell-McCaffrey p-values with "
                                             "Satterthwaite df."))
        if info:
            diagnostics["few_clusters"] = info
    return BalanceTable(table=before, ftest=ft, adjusted=after, ftest_adjusted=ft_after,
                        options={"treatment": treatment, "cluster": cluster, "fixed_effects": fe,
                                 "weighted": wt is not None, "missing": missing,
                                 **({"vcov": vcov} if cluster else {})},
                        ones=k_before, ones_adjusted=k_after, diagnostics=diagnostics)
