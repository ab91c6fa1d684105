"""Regression discontinuity: sharp and fuzzy, built on ``rdrobust`` and ``rddensity``.

``rd`` estimates the jump at the cutoff ``c`` of a running variable ``X``,

    tau = lim_{x↓c} E[Y|X=x] - lim_{x↑c} E[Y|X=x]                       (sharp)
    tau = (jump in E[Y|X]) / (jump in E[D|X])                           (fuzzy, LATE)

by local polynomial regression of order ``p`` on each side within a bandwidth
``h`` (MSE-optimal by default), with the robust bias-corrected confidence
interval of Calonico, Cattaneo & Titiunik (2014, Econometrica 82(6)). As they
recommend, the *headline* :class:`Estimate` pairs the conventional point
estimate with the robust bias-corrected CI and p-value (the CI is centred on the
bias-corrected estimate, so it need not be symmetric about the point estimate).

The estimation is done entirely by the installed ``rdrobust`` package (GPL-3,
called as a library, nothing copied); ``RDResult.density_test`` calls
``rddensity`` (Cattaneo, Jansson & Ma 2020, JASA 115(531)) for the manipulation
test. Only the RD plot's binned means and display fits are computed here.
"""
from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.core.inputs import as_list, require_columns
from evaltools.core.result import Estimate, ResultMixin, SummaryText
from evaltools.core.vocabulary import choice, renamed
from evaltools.estimate.cluster_robust import few_clusters

__all__ = ["RDResult", "DensityTest", "rd", "rd_density_test"]

_KERNELS = {"triangular": "tri", "tri": "tri", "epanechnikov": "epa", "epa": "epa",
            "uniform": "uni", "uni": "uni"}
_BWSELECT = ("mserd", "msetwo", "msesum", "msecomb1", "msecomb2",
             "cerrd", "certwo", "cersum", "cercomb1", "cercomb2")


# --------------------------------------------------------------------------- helpers
def _numeric(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    s = data[col]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(s):
        raise ValueError(
            f"The {role} column {col!r} must be numeric (or boolean), found dtype {s.dtype}; "
            f"convert it, e.g. pd.to_numeric(data[{col!r}])."
        )
    return s.to_numpy(dtype=float)


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """Call ``fn`` capturing what it prints (rdrobust prints notes such as mass points)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        out = fn(*args, **kwargs)
    return out, buf.getvalue().strip()


def _kernel_weights(u: np.ndarray, kernel: str) -> np.ndarray:
    """K(u) on |u| <= 1 for the three rdrobust kernels (u = (x - c) / h)."""
    a = np.abs(u)
    if kernel == "tri":
        w = 1 - a
    elif kernel == "epa":
        w = 0.75 * (1 - a**2)
    else:
        w = np.full_like(a, 0.5)
    return np.where(a <= 1, w, 0.0)


def _fmt(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


# --------------------------------------------------------------------------- density test
@dataclass(frozen=True, repr=False)
class DensityTest(ResultMixin):
    """Manipulation test of Cattaneo, Jansson & Ma (2020) at the cutoff (``rddensity``).

    H0: the density of the running variable is continuous at the cutoff,
    f(c+) = f(c-). ``statistic`` is the robust bias-corrected t statistic of
    f(c+) - f(c-) (jackknife SE) and ``pvalue`` its two-sided p-value; a small
    p-value is evidence of sorting (bunching) around the cutoff.
    """

    statistic: float
    pvalue: float
    density_left: float
    density_right: float
    h_left: float
    h_right: float
    n_left: int
    n_right: int
    n_effective_left: int
    n_effective_right: int
    cutoff: float
    options: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row: the test statistic, p-value, densities, bandwidths and counts."""
        row = {k: getattr(self, k) for k in (
            "statistic", "pvalue", "density_left", "density_right", "h_left", "h_right",
            "n_left", "n_right", "n_effective_left", "n_effective_right")}
        return pd.DataFrame([row], index=pd.Index([f"density jump at {self.cutoff:g}"], name="test"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (for ``evaltools.report.record``)."""
        return {"type": "rd_density_test", **{k: v for k, v in self.__dict__.items()}}

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        return "\n".join([
            f"RD manipulation test (Cattaneo-Jansson-Ma, rddensity) at cutoff {self.cutoff:g}",
            f"  density left {self.density_left:.4g}, right {self.density_right:.4g}",
            f"  T = {self.statistic:.3f}, p = {self.pvalue:.3g}"
            + ("  -> evidence of sorting at the cutoff" if self.pvalue < 0.05 else ""),
            f"  bandwidths h = {self.h_left:.4g} (left), {self.h_right:.4g} (right); "
            f"n = {self.n_left:,} / {self.n_right:,}, effective {self.n_effective_left:,} / "
            f"{self.n_effective_right:,}",
        ])


def _density_test_array(x: np.ndarray, cutoff: float, p: int = 2,
                        bandwidth: float | Sequence[float] | None = None) -> DensityTest:
    from rddensity import rddensity

    if not (isinstance(p, (int, np.integer)) and 1 <= p <= 7):
        raise ValueError(f"The density test's polynomial order p must be an integer from 1 to 7, got {p!r}.")
    h: Any = []
    if bandwidth is not None:
        pair = [bandwidth] * 2 if np.isscalar(bandwidth) else list(bandwidth)  # type: ignore[arg-type]
        h = [float(b) for b in pair]
    res, _ = _quiet(rddensity, x, c=cutoff, p=int(p), h=h)
    return DensityTest(
        statistic=float(res.test["t_jk"]),
        pvalue=float(res.test["p_jk"]),
        density_left=float(res.hat["left"]),
        density_right=float(res.hat["right"]),
        h_left=float(res.h["left"]),
        h_right=float(res.h["right"]),
        n_left=int(res.n["left"]),
        n_right=int(res.n["right"]),
        n_effective_left=int(res.n["eff_left"]),
        n_effective_right=int(res.n["eff_right"]),
        cutoff=float(cutoff),
        options={"p": int(p), "bandwidth": bandwidth, "vce": "jackknife"},
    )


@renamed(positional=("cutoff", "p", "bandwidth"))
def rd_density_test(data: pd.DataFrame, running: str, *, cutoff: float = 0.0, p: int = 2,
                    bandwidth: float | Sequence[float] | None = None) -> DensityTest:
    """Manipulation test of the running variable's density at ``cutoff`` (``rddensity``).

    Cattaneo, Jansson & Ma (2020), "Simple local polynomial density estimators",
    JASA 115(531). ``bandwidth`` (one value or a left/right pair) overrides the
    data-driven choice.
    """
    require_columns(data, {"running": [running]})
    x = _numeric(data, running, "running")
    x = x[np.isfinite(x)]
    _check_sides(x, cutoff, running)
    return _density_test_array(x, float(cutoff), p, bandwidth)


def _check_sides(x: np.ndarray, cutoff: float, running: str) -> None:
    n_left, n_right = int((x < cutoff).sum()), int((x >= cutoff).sum())
    if min(n_left, n_right) < 10:
        raise ValueError(
            f"The cutoff {cutoff!r} leaves {n_left} observation(s) below and {n_right} at or above it "
            f"in the running column {running!r} (range {x.min():.4g} to {x.max():.4g}); an RD needs "
            f"at least 10 on each side: check the cutoff and the running variable's scale."
        )


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, repr=False)
class RDResult(ResultMixin):
    """A sharp or fuzzy RD estimate from ``rdrobust``.

    Attributes
    ----------
    estimate: the headline: conventional point estimate with the robust
        bias-corrected CI, SE and p-value (Calonico, Cattaneo & Titiunik 2014).
    conventional: conventional estimate, SE and Wald CI (valid only if the
        bias from the bandwidth choice is negligible).
    robust: bias-corrected estimate with the robust SE and CI.
    first_stage: for a fuzzy design, the jump in take-up at the cutoff
        (conventional point estimate, robust CI); ``None`` for a sharp design.
    bandwidths: ``h`` (estimation) and ``b`` (bias) bandwidths, left and right.
    n: observations left/right of the cutoff and effective (within ``h``).
    """

    estimate: Estimate
    conventional: Estimate
    robust: Estimate
    first_stage: Estimate | None
    bandwidths: pd.DataFrame
    n: dict[str, int]
    design: str
    cutoff: float
    p: int
    kernel: str
    messages: str
    _x: np.ndarray = field(repr=False)
    _y: np.ndarray = field(repr=False)
    _d: np.ndarray | None = field(repr=False)
    _names: dict[str, str | None] = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The headline, conventional, robust and first-stage rows with bandwidths and n."""
        rows = [("headline (conventional estimate, robust CI)", self.estimate),
                ("conventional", self.conventional), ("robust bias-corrected", self.robust)]
        if self.first_stage is not None:
            rows.append(("first stage (take-up jump)", self.first_stage))
        out = pd.DataFrame([{
            "estimand": e.estimand, "estimate": e.estimate, "se": e.se, "ci_low": e.ci_low,
            "ci_high": e.ci_high, "pvalue": e.pvalue,
        } for _, e in rows], index=pd.Index([r for r, _ in rows], name="row"))
        out["h_left"], out["h_right"] = self.bandwidths.loc["h", "left"], self.bandwidths.loc["h", "right"]
        out["n_effective_left"] = self.n["effective_left"]
        out["n_effective_right"] = self.n["effective_right"]
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (for ``evaltools.report.record``)."""
        return {
            "type": "rd", "design": self.design, "cutoff": self.cutoff,
            "estimate": self.estimate.to_dict(), "conventional": self.conventional.to_dict(),
            "robust": self.robust.to_dict(),
            "first_stage": None if self.first_stage is None else self.first_stage.to_dict(),
            "bandwidths": self.bandwidths.to_dict(), "n": dict(self.n),
        }

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        e, c, r = self.estimate, self.conventional, self.robust
        pct = f"{e.level:.0%}"
        bw = self.bandwidths
        lines = [
            f"{self.design.capitalize()} regression discontinuity at {self._names['running']} = "
            f"{self.cutoff:g} (rdrobust; p = {self.p}, {e.options['kernel']} kernel)",
            f"  {'':<24}{'estimate':>10}{'SE':>10}{pct + ' CI':>24}{'p':>10}",
        ]
        for name, est in (("Conventional", c), ("Robust bias-corrected", r)):
            lines.append(f"  {name:<24}{est.estimate:>10.4g}{est.se:>10.4g}"
                         f"{'[' + _fmt(est.ci_low) + ', ' + _fmt(est.ci_high) + ']':>24}{est.pvalue:>10.3g}")
        if self.first_stage is not None:
            f = self.first_stage
            lines.append(f"  {'First stage (take-up)':<24}{f.estimate:>10.4g}{f.se:>10.4g}"
                         f"{'[' + _fmt(f.ci_low) + ', ' + _fmt(f.ci_high) + ']':>24}{f.pvalue:>10.3g}")
        lines += [
            f"  Headline: {e.estimand} = {e.estimate:.4g}, robust {pct} CI [{e.ci_low:.4g}, {e.ci_high:.4g}], "
            f"p = {e.pvalue:.3g}",
            f"  Bandwidth h = {bw.loc['h', 'left']:.4g} / {bw.loc['h', 'right']:.4g}, "
            f"b = {bw.loc['b', 'left']:.4g} / {bw.loc['b', 'right']:.4g} (left / right; "
            f"{e.options.get('bandwidth')})",
            f"  n left {self.n['left']:,}, right {self.n['right']:,}; effective {self.n['effective_left']:,} / "
            f"{self.n['effective_right']:,}" + (f"; {self.n['clusters']} clusters" if "clusters" in self.n else ""),
        ]
        if self.messages:
            lines.append(f"  rdrobust: {self.messages}")
        return "\n".join(lines)

    @renamed(positional=("p", "bandwidth"))
    def density_test(self, *, p: int = 2, bandwidth: float | Sequence[float] | None = None) -> DensityTest:
        """Manipulation test of the running variable's density at the cutoff (``rddensity``)."""
        return _density_test_array(self._x, self.cutoff, p, bandwidth)

    def plot(self, ax: Any = None, bins: int = 20, which: str = "outcome",
             full_range: bool = False) -> Any:
        """RD plot: binned means (evenly spaced bins on each side) and the local fits.

        The lines are kernel-weighted polynomial fits of order ``p`` within the
        bandwidth ``h`` on each side (the conventional local fit, without
        covariates). ``which="treatment"`` plots the first stage of a fuzzy design.
        By default only the data within the bandwidth are binned; ``full_range``
        bins the whole support. Returns the matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        if which not in ("outcome", "treatment"):
            raise ValueError(f"which must be 'outcome' or 'treatment', got {which!r}.")
        if which == "treatment" and self._d is None:
            raise ValueError("which='treatment' needs a fuzzy design: call rd(..., treatment=<take-up column>).")
        if not (isinstance(bins, (int, np.integer)) and bins >= 2):
            raise ValueError(f"bins (per side) must be an integer >= 2, got {bins!r}.")
        y = self._y if which == "outcome" else self._d
        assert y is not None
        x, c = self._x, self.cutoff
        h_l, h_r = float(self.bandwidths.loc["h", "left"]), float(self.bandwidths.loc["h", "right"])
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        lo = x.min() if full_range else max(x.min(), c - h_l)
        hi = x.max() if full_range else min(x.max(), c + h_r)
        for side, (a, b), h in (("left", (lo, c), h_l), ("right", (c, hi), h_r)):
            mask = (x < c) if side == "left" else (x >= c)
            mask &= (x >= lo) & (x <= hi)
            edges = np.linspace(a, b, bins + 1)
            idx = np.clip(np.digitize(x[mask], edges) - 1, 0, bins - 1)
            means = pd.Series(y[mask]).groupby(idx).mean()
            mids = (edges[:-1] + edges[1:])[means.index.to_numpy()] / 2
            ax.scatter(mids, means.to_numpy(), s=18, color="0.3", zorder=3,
                       label="binned means" if side == "left" else None)
            fit = self._local_fit(y, side, h)
            if fit is not None:
                grid = np.linspace(max(a, c - h) if side == "left" else c, c if side == "left" else min(b, c + h), 100)
                ax.plot(grid, np.polyval(fit, grid - c), color="C0", lw=2,
                        label=f"local fit (p = {self.p}, within h)" if side == "left" else None)
        ax.axvline(c, color="C3", ls="--", lw=1)
        ax.set_xlabel(self._names["running"] or "running variable")
        ax.set_ylabel((self._names["outcome"] if which == "outcome" else self._names["treatment"]) or which)
        est = self.estimate if which == "outcome" else self.first_stage
        assert est is not None
        ax.set_title(f"{'RD' if which == 'outcome' else 'First stage'}: {est.estimate:.3g} "
                     f"[{est.ci_low:.3g}, {est.ci_high:.3g}]", loc="left")
        ax.legend(frameon=False)
        return ax

    def _local_fit(self, y: np.ndarray, side: str, h: float) -> np.ndarray | None:
        x, c = self._x, self.cutoff
        m = (x < c) if side == "left" else (x >= c)
        u = (x[m] - c) / h
        w = _kernel_weights(u, self.kernel)
        keep = w > 0
        if keep.sum() <= self.p:
            return None
        # np.polyfit weights multiply residuals, so pass sqrt of the kernel weights.
        return np.polyfit(x[m][keep] - c, y[m][keep], deg=self.p, w=np.sqrt(w[keep]))


# --------------------------------------------------------------------------- estimator
@renamed(positional=("cutoff", "treatment", "covariates", "cluster", "kernel", "p", "bandwidth", "level"))
def rd(
    data: pd.DataFrame,
    outcome: str,
    running: str,
    *,
    cutoff: float = 0.0,
    treatment: str | None = None,
    covariates: str | Sequence[str] | None = None,
    cluster: str | None = None,
    kernel: Literal["triangular", "epanechnikov", "uniform", "tri", "epa", "uni"] = "triangular",
    p: int = 1,
    bandwidth: str | float | Sequence[float] | None = None,
    level: float = 0.95,
) -> RDResult:
    """Sharp (or, with ``treatment``, fuzzy) regression discontinuity with ``rdrobust``.

    Parameters
    ----------
    data: one row per unit.
    outcome, running: the outcome Y and the running variable X columns.
    cutoff: treatment is assigned (offered) for X >= cutoff.
    treatment: the take-up column D of a fuzzy design; the estimate is then the
        LATE at the cutoff, jump in E[Y|X] / jump in E[D|X].
    covariates: columns added to the local regressions (precision only;
        Calonico, Cattaneo, Farrell & Titiunik 2019, REStat 101(3)).
    cluster: column of cluster ids; SEs are then cluster-robust (rdrobust's CR1).
    kernel: "triangular", "epanechnikov" or "uniform".
    p: order of the local polynomial (the bias correction uses p + 1).
    bandwidth: None or a selector name ("mserd" default, "msetwo", "cerrd", ...)
        or a fixed h (one number, or a left/right pair).
    level: confidence level of the intervals.
    """
    covs = as_list(covariates)
    require_columns(data, {"outcome": [outcome], "running": [running],
                            "treatment": as_list(treatment), "covariate": covs,
                            "cluster": as_list(cluster)})
    kernel = choice(kernel, tuple(_KERNELS), "kernel", where="rd")
    if not (isinstance(p, (int, np.integer)) and not isinstance(p, bool) and 0 <= p <= 4):
        raise ValueError(f"p (the local polynomial order) must be an integer from 0 to 4, got {p!r}.")
    if not (isinstance(level, float) and 0 < level < 1):
        raise ValueError(f"level must be a probability between 0 and 1 (e.g. 0.95), got {level!r}.")
    if not isinstance(cutoff, (int, float, np.integer, np.floating)) or not math.isfinite(cutoff):
        raise ValueError(f"cutoff must be a finite number on the running variable's scale, got {cutoff!r}.")
    bw_kwargs: dict[str, Any]
    if bandwidth is None or isinstance(bandwidth, str):
        sel = bandwidth or "mserd"
        if not any(sel.casefold() == s for s in _BWSELECT):
            raise ValueError(f"bandwidth must be a number, a left/right pair or one of {', '.join(_BWSELECT)}; "
                             f"got {bandwidth!r}.")
        sel = sel.casefold()
        bw_kwargs, bw_label = {"bwselect": sel}, sel
    else:
        hs = [bandwidth] if np.isscalar(bandwidth) else list(bandwidth)  # type: ignore[arg-type]
        if len(hs) not in (1, 2) or not all(isinstance(h, (int, float, np.number)) and h > 0 for h in hs):
            raise ValueError(f"A fixed bandwidth must be one positive number or a (left, right) pair, "
                             f"got {bandwidth!r}.")
        h_arg: Any = float(hs[0]) if len(hs) == 1 else [float(h) for h in hs]
        bw_kwargs, bw_label = {"h": h_arg}, f"fixed h = {bandwidth}"

    roles = {outcome: "outcome", running: "running", **{c: "covariate" for c in covs}}
    if treatment is not None:
        roles[treatment] = "treatment"
    arrays = {col: _numeric(data, col, role) for col, role in roles.items()}
    keep = np.logical_and.reduce([np.isfinite(a) for a in arrays.values()])
    if cluster is not None:
        keep &= data[cluster].notna().to_numpy()
    n_dropped = int((~keep).sum())
    x = arrays[running][keep]
    y = arrays[outcome][keep]
    d = arrays[treatment][keep] if treatment is not None else None
    _check_sides(x, float(cutoff), running)
    if d is not None and (np.ptp(d[x < cutoff]) == 0 and np.ptp(d[x >= cutoff]) == 0
                          and d[x < cutoff][0] == 0 and d[x >= cutoff][0] == 1):
        # stacklevel 3: the caller of rd(), past the @renamed wrapper
        warnings.warn(f"The treatment column {treatment!r} is 0 below and 1 at/above the cutoff everywhere: "
                      "the design is sharp, and the fuzzy estimate equals the sharp one.", stacklevel=3)
    cov_arr = np.column_stack([arrays[c][keep] for c in covs]) if covs else None
    cl = pd.factorize(data.loc[keep, cluster])[0] if cluster is not None else None

    from rdrobust import rdrobust

    try:
        res, msg = _quiet(rdrobust, y, x, c=float(cutoff), fuzzy=d, p=int(p), covs=cov_arr,
                          kernel=_KERNELS[kernel], cluster=cl, level=level * 100, **bw_kwargs)
    except Exception as exc:  # rdrobust raises bare Exceptions with terse text
        raise ValueError(f"rdrobust could not estimate the RD of {outcome!r} on {running!r} at {cutoff!r}: "
                         f"{exc}. Check the bandwidth (enough observations on each side) and the covariates "
                         f"(no constant or collinear columns).") from exc

    fuzzy = treatment is not None
    design = "fuzzy" if fuzzy else "sharp"
    estimand = f"LATE at {running} = {cutoff:g} (fuzzy RD)" if fuzzy else f"RD effect at {running} = {cutoff:g}"
    n = {"left": int(res.N[0]), "right": int(res.N[1]),
         "effective_left": int(res.N_h[0]), "effective_right": int(res.N_h[1])}
    if cluster is not None:
        n["clusters"] = int(res.n_clust)
    bws = res.bws.copy()
    bws.index.name = "bandwidth"
    options = {"cutoff": float(cutoff), "kernel": kernel, "p": int(p), "q": int(res.q), "bandwidth": bw_label,
               "vce": res.vce, "covariates": covs or None, "cluster": cluster, "treatment": treatment}
    diagnostics = {"h_left": float(bws.loc["h", "left"]), "h_right": float(bws.loc["h", "right"]),
                   "b_left": float(bws.loc["b", "left"]), "b_right": float(bws.loc["b", "right"]),
                   "bias_corrected_estimate": float(res.coef.loc["Bias-Corrected", "Coeff"]),
                   "n_dropped_missing": n_dropped}
    if msg:
        diagnostics["rdrobust_messages"] = msg
    if cluster is not None and (fc := few_clusters(int(res.n_clust), None, advice=(
            "rdrobust's cluster-robust variance has no small-sample correction: treat the interval as too "
            "narrow (CR2 for a local-polynomial fit is not offered; see docs/r_conventions.md)."))):
        diagnostics["few_clusters"] = fc
    common = {"n": n, "options": options, "diagnostics": diagnostics, "level": level}

    def triple(coef: pd.DataFrame, se: pd.DataFrame, ci: pd.DataFrame, pv: pd.Series | None,
               name: str, method_suffix: str) -> tuple[Estimate, Estimate, Estimate]:
        tau_cl, tau_bc = float(coef.iloc[0, 0]), float(coef.loc["Robust"].iloc[0])
        se_cl, se_rb = float(se.iloc[0, 0]), float(se.loc["Robust"].iloc[0])
        if pv is not None:
            p_rb = float(pv.loc["Robust"])
        else:
            p_rb = float(2 * stats.norm.sf(abs(tau_bc / se_rb))) if se_rb > 0 else float("nan")
        conv = Estimate.from_normal(name, tau_cl, se_cl,
                                    method=f"rdrobust conventional local polynomial{method_suffix}", **common)
        rob = Estimate(estimand=name, estimate=tau_bc, se=se_rb, ci_low=float(ci.loc["Robust"].iloc[0]),
                       ci_high=float(ci.loc["Robust"].iloc[1]), pvalue=p_rb,
                       method=f"rdrobust robust bias-corrected{method_suffix}", **common)
        head = Estimate(estimand=name, estimate=tau_cl, se=se_rb, ci_low=rob.ci_low, ci_high=rob.ci_high,
                        pvalue=p_rb, method=("rdrobust: conventional estimate, robust bias-corrected CI "
                                             f"(Calonico-Cattaneo-Titiunik 2014){method_suffix}"), **common)
        return head, conv, rob

    head, conv, rob = triple(res.coef, res.se, res.ci, res.pv["P>|z|"], estimand,
                             ", fuzzy (Wald ratio)" if fuzzy else "")
    first = None
    if fuzzy:
        first, _, _ = triple(res.tau_T, res.se_T, res.ci_T, res.pv_T["P>|z|"],
                             f"first stage: jump in {treatment} at {running} = {cutoff:g}", ", first stage")
    return RDResult(estimate=head, conventional=conv, robust=rob, first_stage=first, bandwidths=bws, n=n,
                    design=design, cutoff=float(cutoff), p=int(p), kernel=_KERNELS[kernel], messages=msg,
                    _x=x, _y=y, _d=d, _names={"outcome": outcome, "running": running, "treatment": treatment})
