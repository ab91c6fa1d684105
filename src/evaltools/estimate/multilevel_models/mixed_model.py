"""Linear mixed models of pupils nested in classes, schools and municipalities.

Model (random intercept, two levels)::

    y_ij = x_ij' beta + u_j + e_ij,   u_j ~ N(0, tau^2),   e_ij ~ N(0, sigma^2)

For the random-intercept model we fit REML or ML ourselves from per-group
sufficient statistics (the ``"fast"`` engine). With ``lambda = tau^2 / sigma^2``
and ``c_j = n_j / (1 + n_j lambda)``, group means ``xbar_j``, ``ybar_j`` and the
within-group cross-products ``W``::

    X'V*^-1 X = W_xx + sum_j c_j xbar_j xbar_j'        (V* = V / sigma^2)
    X'V*^-1 y = W_xy + sum_j c_j xbar_j ybar_j
    q(lambda) = y'V*^-1 y - beta_hat' X'V*^-1 y,        beta_hat = GLS
    REML: l(lambda) = -1/2 [(N-p) log q + sum_j log(1 + n_j lambda) + log|X'V*^-1 X|] + c
    ML:   l(lambda) = -1/2 [N log q + sum_j log(1 + n_j lambda)] + c

so after profiling out ``beta`` and ``sigma^2`` one variance ratio is optimised.
``c_j`` depends on the group only through ``n_j``, so groups of equal size are
pooled once and each evaluation costs O(S p^2) for S distinct group sizes, not
O(N) (or O(G)). This is exact: the same
likelihood that statsmodels ``MixedLM`` maximises (Harville 1977; Pinheiro and
Bates 2000, ch. 2). The standard errors of the fixed effects follow MixedLM's
convention (inverse Hessian of the scale-profiled log-likelihood in
``(beta, lambda)``), so both engines agree to numerical precision.

Three-level random-intercept models (pupils in teachers in schools: ``nested_in``)
have a fast exact engine of their own, :mod:`.nested` (nested Woodbury identities,
two variance ratios). Random slopes are fitted with statsmodels ``MixedLM``
(``engine="mixedlm"``), which is slower but general; ``engine="mixedlm"`` also
fits the three-level model through MixedLM's variance-component formula.

School (or teacher) value-added is the empirical-Bayes prediction (BLUP) of
``u_j``: ``u_hat_j = w_j (ybar_j - xbar_j' beta_hat)`` with shrinkage
``w_j = n_j tau^2 / (sigma^2 + n_j tau^2)``. Its uncertainty is the prediction
error variance ``tau^2 (1 - w_j) + w_j^2 xbar_j' Cov(beta_hat) xbar_j``
(Henderson 1975), which adds the uncertainty of ``beta_hat`` to the posterior
variance ``tau^2 (1 - w_j)``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import formulaic
import numpy as np
import pandas as pd
from scipy import optimize, stats

from evaltools.core.errors import InputError
from evaltools.core.inputs import require_columns
from evaltools.core.result import Estimate, ResultMixin, SummaryText
from evaltools.core.vocabulary import choice

__all__ = ["multilevel", "MultilevelResult", "fit_random_intercept"]


class MultilevelInputError(InputError, ValueError):
    """The data or options given to :func:`multilevel` cannot be used."""


# ---------------------------------------------------------------------------
# The fast random-intercept engine
# ---------------------------------------------------------------------------


@dataclass
class _GroupStats:
    """Per-group sufficient statistics of ``y`` and ``X``."""

    n: np.ndarray  # (G,) group sizes
    mx: np.ndarray  # (G, p) group means of X
    my: np.ndarray  # (G,) group means of y
    wxx: np.ndarray  # (p, p) within-group cross-product of X
    wxy: np.ndarray  # (p,) within-group cross-product of X and y
    wyy: float  # within-group sum of squares of y
    n_obs: int
    # The likelihood depends on lambda only through c(n_j), so groups of equal size pool:
    sizes: np.ndarray = field(default=None)  # (S,) distinct group sizes
    count: np.ndarray = field(default=None)  # (S,) number of groups of each size
    bxx: np.ndarray = field(default=None)  # (S, p, p) sum of mx mx' over groups of each size
    bxy: np.ndarray = field(default=None)  # (S, p) sum of mx my
    byy: np.ndarray = field(default=None)  # (S,) sum of my^2

    def __post_init__(self) -> None:
        sizes, inv = np.unique(self.n, return_inverse=True)
        S, p = len(sizes), self.mx.shape[1]
        self.sizes = sizes
        self.count = np.bincount(inv, minlength=S).astype(float)
        order = np.argsort(inv, kind="stable")
        starts = np.searchsorted(inv[order], np.arange(S))
        outer = self.mx[:, :, None] * self.mx[:, None, :]
        self.bxx = np.add.reduceat(outer[order], starts, axis=0).reshape(S, p, p)
        self.bxy = np.add.reduceat((self.mx * self.my[:, None])[order], starts, axis=0)
        self.byy = np.add.reduceat((self.my**2)[order], starts)

    @classmethod
    def from_arrays(cls, y: np.ndarray, X: np.ndarray, codes: np.ndarray, n_groups: int) -> "_GroupStats":
        n = np.bincount(codes, minlength=n_groups).astype(float)
        p = X.shape[1]
        mx = np.empty((n_groups, p))
        for k in range(p):
            mx[:, k] = np.bincount(codes, weights=X[:, k], minlength=n_groups) / n
        my = np.bincount(codes, weights=y, minlength=n_groups) / n
        # Within-group deviations: exact and numerically stable cross-products.
        Xw = X - mx[codes]
        yw = y - my[codes]
        return cls(n=n, mx=mx, my=my, wxx=Xw.T @ Xw, wxy=Xw.T @ yw, wyy=float(yw @ yw), n_obs=len(y))


@dataclass
class _RIFit:
    """Internals of a random-intercept fit, at the optimum."""

    lam: float
    beta: np.ndarray
    scale: float
    llf: float
    xtvix: np.ndarray  # X'V*^-1 X at lambda
    hessian: np.ndarray  # of the scale-profiled log-likelihood in (beta, lambda)
    converged: bool
    boundary: bool


def _profile(stats_: _GroupStats, lam: float, reml: bool) -> tuple[float, np.ndarray, float, np.ndarray]:
    """Profiled log-likelihood at ``lam``; also beta_hat, q and X'V*^-1 X."""
    s = stats_
    p = s.mx.shape[1]
    c = s.sizes / (1.0 + s.sizes * lam)  # c_j = n_j / (1 + n_j lambda), one per distinct size
    xtvix = s.wxx + np.tensordot(c, s.bxx, axes=1)
    xtviy = s.wxy + c @ s.bxy
    ytviy = s.wyy + float(c @ s.byy)
    try:
        chol = np.linalg.cholesky(xtvix)
    except np.linalg.LinAlgError as exc:  # pragma: no cover - guarded by the rank check
        raise MultilevelInputError(
            "The fixed-effects design matrix is not of full rank: drop collinear "
            "regressors from the formula."
        ) from exc
    beta = np.linalg.solve(xtvix, xtviy)
    q = max(ytviy - float(xtviy @ beta), 1e-300)
    logdet_v = float(s.count @ np.log1p(s.sizes * lam))
    N = s.n_obs
    if reml:
        f = N - p
        logdet_x = 2.0 * float(np.sum(np.log(np.diag(chol))))
        llf = -0.5 * (f * math.log(q) + logdet_v + logdet_x)
    else:
        f = N
        llf = -0.5 * (f * math.log(q) + logdet_v)
    # Constants as in statsmodels MixedLM.loglike, so that llf values agree.
    llf += -0.5 * f * math.log(2 * math.pi) + 0.5 * f * math.log(f) - 0.5 * f
    return llf, beta, q, xtvix


def _hessian(stats_: _GroupStats, lam: float, beta: np.ndarray, q: float, xtvix: np.ndarray, reml: bool) -> np.ndarray:
    """Hessian of the scale-profiled log-likelihood in ``(beta, lambda)``.

    ``q(beta, lambda) = sum_ij r_ij^2 - sum_j a_j s_j^2`` with residual sums
    ``s_j`` and ``a_j = lambda / (1 + n_j lambda)``; derivatives are analytic.
    This is the matrix statsmodels ``MixedLM.hessian`` returns.
    """
    s = stats_
    p = s.mx.shape[1]
    N = s.n_obs
    f = N - p if reml else N
    d = 1.0 + s.n * lam
    a1 = 1.0 / d**2  # d a_j / d lambda
    a2 = -2.0 * s.n / d**3  # d^2 a_j / d lambda^2
    sj = s.n * (s.my - s.mx @ beta)  # residual sums by group
    t = s.mx * s.n[:, None]  # column sums of X by group
    g_lam = -float(a1 @ sj**2)
    h_bb = 2.0 * xtvix
    h_bl = 2.0 * t.T @ (a1 * sj)
    h_ll = -float(a2 @ sj**2)
    H = np.empty((p + 1, p + 1))
    H[:p, :p] = -0.5 * f * h_bb / q
    H[:p, p] = H[p, :p] = -0.5 * f * h_bl / q
    H[p, p] = -0.5 * f * (h_ll / q - g_lam**2 / q**2) + 0.5 * float(np.sum(s.n**2 / d**2))
    if reml:
        P1 = -(t * a1[:, None]).T @ t
        P2 = -(t * a2[:, None]).T @ t
        A1 = np.linalg.solve(xtvix, P1)
        A2 = np.linalg.solve(xtvix, P2)
        H[p, p] += -0.5 * (np.trace(A2) - np.trace(A1 @ A1))
    return H


def fit_random_intercept(stats_: _GroupStats, reml: bool = True) -> _RIFit:
    """Maximise the profiled (RE)ML likelihood over ``lambda = tau^2/sigma^2``.

    A grid over ``log lambda`` brackets the maximum, Brent's method refines it
    (tolerance 1e-12 in ``log lambda``); the boundary ``lambda = 0`` is checked.
    """
    def negll(loglam: float) -> float:
        return -_profile(stats_, math.exp(loglam), reml)[0]

    grid = np.linspace(-18.0, 12.0, 61)
    vals = np.array([negll(v) for v in grid])
    k = int(np.argmin(vals))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(negll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12, "maxiter": 500})
    lam = math.exp(res.x)
    boundary = False
    ll0 = _profile(stats_, 0.0, reml)[0]
    if ll0 >= -res.fun or k == 0:
        lam, boundary = 0.0, True
    if k == len(grid) - 1:
        raise MultilevelInputError(
            "The between-group variance is more than 160,000 times the residual "
            "variance: the outcome barely varies within groups. Check that the "
            "group column is not a row identifier."
        )
    llf, beta, q, xtvix = _profile(stats_, lam, reml)
    p = stats_.mx.shape[1]
    scale = q / (stats_.n_obs - p if reml else stats_.n_obs)
    H = _hessian(stats_, lam, beta, q, xtvix, reml)
    return _RIFit(lam=lam, beta=beta, scale=scale, llf=llf, xtvix=xtvix, hessian=H,
                  converged=bool(res.success), boundary=boundary)


# ---------------------------------------------------------------------------
# The result object
# ---------------------------------------------------------------------------


@dataclass(repr=False)
class MultilevelResult(ResultMixin):
    """A fitted multilevel model.

    Attributes
    ----------
    fixed: coefficient table (coef, se, z, pvalue, ci_low, ci_high).
    variance: variance components (estimate, se) by level, and the residual.
    icc: intraclass correlation ``tau^2 / (tau^2 + sigma^2)`` of the lowest
        grouping level (an :class:`Estimate`, delta-method SE).
    llf: the maximised (RE)ML log-likelihood (MixedLM's constants).
    """

    formula: str
    group: str
    fixed: pd.DataFrame
    variance: pd.DataFrame
    icc: Estimate
    llf: float
    method: str
    engine: str
    n_obs: int
    n_groups: int
    converged: bool
    level: float = 0.95
    options: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    _value_added: pd.DataFrame | None = field(default=None, repr=False)
    _upper_effects: pd.DataFrame | None = field(default=None, repr=False)
    _cov_fe: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def params(self) -> pd.Series:
        """The fixed-effect coefficients."""
        return self.fixed["coef"]

    @property
    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effect coefficients."""
        assert self._cov_fe is not None
        return self._cov_fe

    def estimate(self, term: str) -> Estimate:
        """Deprecated: use :meth:`coefficient` (``.estimate`` is the headline attribute of a
        result, see ``docs/api.md``; a multilevel model has none)."""
        warnings.warn("MultilevelResult.estimate(term) is now .coefficient(term) (docs/api.md); "
                      "the old name stops working in the next release.", DeprecationWarning, stacklevel=2)
        return self.coefficient(term)

    def coefficient(self, term: str) -> Estimate:
        """The fixed effect of ``term`` as an :class:`Estimate` (normal reference)."""
        if term not in self.fixed.index:
            raise KeyError(
                f"'{term}' is not a fixed effect of this model; the terms are "
                f"{list(self.fixed.index)}."
            )
        row = self.fixed.loc[term]
        clusters = {"clusters": self.options["clusters"]} if "clusters" in self.options else {}
        return Estimate.from_normal(
            f"coefficient on {term}", row["coef"], row["se"], level=self.level, df=self.options.get("df"),
            n={"observations": self.n_obs, "groups": self.n_groups, **clusters},
            method=f"linear mixed model ({self.method}, {self.engine} engine)",
            options={"formula": self.formula, "group": self.group, **self._options_public()},
            diagnostics={"icc": self.icc.estimate, "converged": self.converged},
        )

    def _options_public(self) -> dict[str, Any]:
        """The options an :class:`Estimate` carries: without the cluster count and its degrees of
        freedom, which go in ``n`` (where disclosure control sees a small count)."""
        return {k: v for k, v in self.options.items() if k not in ("clusters", "df")}

    def combination(self, weights: dict[str, float], estimand: str) -> Estimate:
        """The linear combination ``sum_k w_k beta_k`` of fixed effects (e.g. an average of
        cohort-by-year effects) with SE ``sqrt(w' Cov w)``, on the model's reference distribution."""
        missing = [k for k in weights if k not in self.fixed.index]
        if missing:
            raise KeyError(f"{missing} are not fixed effects of this model; the terms are {list(self.fixed.index)}.")
        names = list(weights)
        w = np.array([weights[k] for k in names], dtype=float)
        est = float(w @ self.fixed.loc[names, "coef"].to_numpy())
        se = float(np.sqrt(max(w @ self.cov_params.loc[names, names].to_numpy() @ w, 0.0)))
        clusters = {"clusters": self.options["clusters"]} if "clusters" in self.options else {}
        return Estimate.from_normal(
            estimand, est, se, level=self.level, df=self.options.get("df"),
            n={"observations": self.n_obs, "groups": self.n_groups, **clusters},
            method=f"linear mixed model ({self.method}, {self.engine} engine), combination of {len(names)} terms",
            options={"formula": self.formula, "group": self.group, **self._options_public()},
            diagnostics={"icc": self.icc.estimate, "converged": self.converged})

    def value_added(self, rank_draws: int = 0, seed: int = 0, upper: bool = False) -> pd.DataFrame:
        """Empirical-Bayes (shrunken) group effects with their uncertainty.

        Columns: ``n``, ``raw`` (mean residual, unshrunken), ``shrinkage``
        (``w_j``), ``effect`` (BLUP), ``se_posterior`` (``sqrt(tau^2(1-w_j))``),
        ``se`` (root prediction error variance, includes ``Cov(beta_hat)``),
        ``ci_low``/``ci_high`` and ``rank`` (1 = highest effect).

        With ``rank_draws > 0``, ``rank_low``/``rank_high`` give a central
        interval (at the model's level) of each group's rank, from draws of
        the effects from their approximate posterior ``N(effect, se^2)``
        (independent across groups): league tables are far less certain than
        point ranks suggest (Goldstein and Spiegelhalter 1996).

        Three-level models (fast engine): one row per ``group`` within its
        ``nested_in`` unit (index: both), its own effect ``v_js`` beside the upper
        unit's; ``upper=True`` gives the upper level's effects ``u_s``. There ``se``
        is the posterior SD given ``beta_hat`` (see :mod:`.nested`).
        """
        src = self._upper_effects if upper else self._value_added
        if src is None:
            where = " at the upper level (fit a three-level model with the fast engine)." if upper else "."
            raise ValueError("Value-added is not available for this model" + where)
        va = src.copy()
        if rank_draws:
            if rank_draws < 100:
                raise ValueError(f"rank_draws must be 0 (off) or at least 100, got {rank_draws}.")
            rng = np.random.default_rng(seed)
            draws = va["effect"].to_numpy() + va["se"].to_numpy() * rng.standard_normal((rank_draws, len(va)))
            ranks = (-draws).argsort(axis=1).argsort(axis=1) + 1
            a = (1 - self.level) / 2
            va["rank_low"] = np.quantile(ranks, a, axis=0, method="lower").astype(int)
            va["rank_high"] = np.quantile(ranks, 1 - a, axis=0, method="higher").astype(int)
        return va

    def to_frame(self) -> pd.DataFrame:
        """Fixed effects and variance components in one tidy table."""
        fe = self.fixed.assign(kind="fixed")
        vc = self.variance.rename(columns={"estimate": "coef"}).assign(kind="variance")
        return pd.concat([fe, vc])[["kind", *[c for c in fe.columns if c != "kind"]]]

    def to_dict(self) -> dict[str, Any]:
        """Fixed effects, variance components, the ICC and the fit's facts (not value added)."""
        return {"type": "MultilevelResult", "formula": self.formula, "group": self.group, "fixed": self.fixed,
                "variance": self.variance, "icc": self.icc, "llf": self.llf, "method": self.method,
                "engine": self.engine, "n_obs": self.n_obs, "n_groups": self.n_groups,
                "converged": self.converged, "level": self.level, "options": self.options}

    def _summary_title(self) -> str:
        return f"Linear mixed model: {self.formula}, groups: {self.group}"

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        lines = [
            f"Linear mixed model: {self.formula}, groups: {self.group}",
            f"  {self.method}, {self.engine} engine; N = {self.n_obs:,}, groups = {self.n_groups:,}; "
            f"log-likelihood {self.llf:.4f}; converged: {self.converged}",
            "",
            self.fixed.to_string(float_format=lambda v: f"{v:.4g}"),
            "",
            self.variance.to_string(float_format=lambda v: f"{v:.4g}"),
            f"ICC = {self.icc.estimate:.4f} (SE {self.icc.se:.4f})",
        ]
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _check_inputs(data: pd.DataFrame, group: str, slopes: Sequence[str], nested_in: str | None, level: float) -> None:
    require_columns(data, {"group": group, "nested_in": nested_in, "random-slope": list(slopes)})
    if not 0 < level < 1:
        raise MultilevelInputError(f"level must be between 0 and 1 (e.g. 0.95), got {level}.")


def _design(data: pd.DataFrame, formula: str, extra: list[str]) -> tuple[np.ndarray, np.ndarray, list[str], pd.Index]:
    try:
        mm = formulaic.model_matrix(formula, data)
    except Exception as exc:
        raise MultilevelInputError(f"Could not build the model from formula '{formula}': {exc}") from exc
    if not hasattr(mm, "lhs"):
        raise MultilevelInputError(f"The formula '{formula}' needs an outcome on the left, e.g. 'score ~ treated + prior'.")
    y = np.asarray(mm.lhs, dtype=float)
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise MultilevelInputError(f"The formula '{formula}' must have exactly one outcome.")
        y = y[:, 0]
    X = np.asarray(mm.rhs, dtype=float)
    idx = mm.rhs.index
    keep = data.loc[idx, extra].notna().all(axis=1).to_numpy()
    if not keep.all():
        y, X, idx = y[keep], X[keep], idx[keep]
    if X.shape[0] == 0:
        raise MultilevelInputError("No complete rows are left after dropping missing values.")
    rank = np.linalg.matrix_rank(X[: min(len(X), 200_000)]) if X.shape[0] < 200_000 else np.linalg.matrix_rank(X.T @ X)
    if rank < X.shape[1]:
        raise MultilevelInputError(
            f"The fixed-effects design of '{formula}' has {X.shape[1]} columns but rank {rank}: "
            "drop collinear regressors."
        )
    return y, X, list(mm.rhs.columns), idx


def _design_sparse(data: pd.DataFrame, formula: str, extra: list[str]):
    """As :func:`_design`, with ``X`` as a sparse CSC matrix (dummies stay sparse; for the nested
    engine, which needs only sums of X by unit). Rows with a missing value in a column the formula
    or ``extra`` uses are dropped first."""
    from scipy import sparse

    try:
        needed = [c for c in formulaic.Formula(formula).required_variables if c in data.columns]
    except Exception as exc:
        raise MultilevelInputError(f"Could not read formula '{formula}': {exc}") from exc
    keep = data[needed + extra].notna().all(axis=1).to_numpy()
    sub = data.loc[keep] if not keep.all() else data
    if len(sub) == 0:
        raise MultilevelInputError("No complete rows are left after dropping missing values.")
    try:
        mm = formulaic.model_matrix(formula, sub, output="sparse", na_action="raise")
    except Exception as exc:
        raise MultilevelInputError(f"Could not build the model from formula '{formula}': {exc}") from exc
    if not hasattr(mm, "lhs"):
        raise MultilevelInputError(f"The formula '{formula}' needs an outcome on the left, "
                                   "e.g. 'score ~ treated + prior'.")
    if mm.lhs.shape[1] != 1:
        raise MultilevelInputError(f"The formula '{formula}' must have exactly one outcome.")
    y = np.asarray(mm.lhs.todense(), dtype=float)[:, 0]
    X = sparse.csc_matrix(mm.rhs, dtype=float)
    xtx = (X.T @ X).toarray()
    rank = np.linalg.matrix_rank(xtx)
    if rank < X.shape[1]:
        raise MultilevelInputError(
            f"The fixed-effects design of '{formula}' has {X.shape[1]} columns but rank {rank}: "
            "drop collinear regressors.")
    return y, X, list(mm.rhs.model_spec.column_names), sub.index


def multilevel(
    data: pd.DataFrame,
    formula: str,
    group: str,
    *,
    slopes: Sequence[str] = (),
    nested_in: str | None = None,
    reml: bool = True,
    engine: Literal["auto", "fast", "mixedlm"] = "auto",
    level: float = 0.95,
    fixed_se: Literal["mixedlm", "lme4"] = "mixedlm",
    cluster: str | None = None,
) -> MultilevelResult:
    """Fit a linear mixed model of units (pupils) nested in ``group`` (schools).

    Parameters
    ----------
    data: one row per pupil (or pupil-year).
    formula: fixed part, e.g. ``"score ~ treated + prior_score + C(grade)"``.
    group: the grouping column with a random intercept (class, school, teacher).
    slopes: variables that also get a random slope by ``group`` (MixedLM engine).
    nested_in: an upper level (school, municipality) with its own random intercept;
        ``group`` is then nested within it (three levels: pupils in ``group`` in
        ``nested_in``; a ``group`` label met in two upper units counts as two units).
        Fitted exactly by the fast nested engine (:mod:`.nested`) without slopes.
    reml: REML (default) or ML.
    engine: ``"fast"`` (our sufficient-statistics REML/ML, random intercepts
        only, two or three levels), ``"mixedlm"`` (statsmodels) or ``"auto"``
        (fast when possible).
    level: confidence level of intervals.
    fixed_se: standard errors of the fixed effects: ``"mixedlm"`` (default; inverse
        Hessian in ``(beta, lambda)``, as statsmodels MixedLM) or ``"lme4"``
        (``sigma^2 (X'V*^-1 X)^-1`` at the estimates, as R ``vcov(lmer(...))``;
        fast engine only, two or three levels). See docs/r_conventions.md.
    cluster: a column of clusters that contain whole ``nested_in`` units (e.g. the
        municipality of each school): the fixed effects' SEs are then the GLS
        sandwich by cluster (CR1, ``G/(G-1)``) with a ``t(G-1)`` reference, robust
        to any correlation within a cluster that the random effects miss (e.g. a
        treatment assigned by municipality with municipality-year shocks). Three-level
        fast engine only; see :mod:`.nested`.

    Returns
    -------
    MultilevelResult with the fixed effects, variance components, ICC and,
    for random-intercept models, :meth:`~MultilevelResult.value_added`.

    References
    ----------
    Raudenbush and Bryk (2002), *Hierarchical Linear Models*, 2nd ed.;
    Pinheiro and Bates (2000), *Mixed-Effects Models in S and S-PLUS*;
    Longford (1987), Biometrika 74 (nested random effects).
    """
    slopes = list(slopes)
    _check_inputs(data, group, slopes, nested_in, level)
    if cluster is not None:
        require_columns(data, {"cluster": cluster})
        if nested_in is None or slopes or engine == "mixedlm":
            raise MultilevelInputError("cluster= is available for three-level random-intercept models (nested_in=..., "
                                       "the fast engine): add nested_in, drop slopes, or leave cluster out.")
    engine = choice(engine, ("auto", "fast", "mixedlm"), "engine", where="multilevel", error=MultilevelInputError)
    simple = not slopes
    if engine == "fast" and not simple:
        raise MultilevelInputError(
            "The fast engine fits random-intercept models only: use engine='mixedlm' "
            "(or 'auto') for random slopes."
        )
    use_fast = simple and engine in ("auto", "fast")
    extra = [group] + ([nested_in] if nested_in else []) + slopes + ([cluster] if cluster else [])
    data = data.reset_index(drop=True)  # row labels must be unique for the alignment below
    if use_fast and nested_in is not None:
        y, X, names, idx = _design_sparse(data, formula, extra)
    else:
        y, X, names, idx = _design(data, formula, extra)
    groups = data.loc[idx, group].to_numpy()
    crit = float(stats.norm.ppf(0.5 + level / 2))
    method = "REML" if reml else "ML"
    fixed_se = choice(fixed_se, ("mixedlm", "lme4"), "fixed_se", where="multilevel", error=MultilevelInputError)
    if fixed_se == "lme4" and not use_fast:
        raise MultilevelInputError("fixed_se='lme4' is available for random-intercept models (the fast "
                                   "engine); drop slopes, use engine='auto'/'fast' or fixed_se='mixedlm'.")
    options = {"reml": reml, "slopes": slopes, "nested_in": nested_in, "fixed_se": fixed_se}
    if cluster is not None:
        options["cluster"] = cluster
    if use_fast and nested_in is not None:
        return _fit_fast_nested(data.loc[idx, group], data.loc[idx, nested_in], y, X, names, formula, group,
                                nested_in, method, reml, crit, level, options,
                                data.loc[idx, cluster] if cluster else None)
    if use_fast:
        return _fit_fast(y, X, names, groups, formula, group, method, reml, crit, level, options)
    return _fit_mixedlm(data.loc[idx], y, X, names, formula, group, slopes, nested_in, method, reml, crit, level, options)


def _fixed_table(names: list[str], beta: np.ndarray, cov: np.ndarray, crit: float,
                 df: int | None = None) -> pd.DataFrame:
    se = np.sqrt(np.diag(cov))
    z = beta / se
    pvalue = 2 * (stats.t.sf(np.abs(z), df) if df else stats.norm.sf(np.abs(z)))
    return pd.DataFrame(
        {"coef": beta, "se": se, "z": z, "pvalue": pvalue,
         "ci_low": beta - crit * se, "ci_high": beta + crit * se},
        index=pd.Index(names, name="term"),
    )


def _vc_info(n: np.ndarray, tau2: float, sigma2: float) -> np.ndarray:
    """Expected information of (tau^2, sigma^2) in the random-intercept model.

    V_j has eigenvalues sigma^2 (n_j - 1 times) and sigma^2 + n_j tau^2, so
    I_tt = 1/2 sum n_j^2 / v_j^2, I_ts = 1/2 sum n_j / v_j^2,
    I_ss = 1/2 sum [(n_j - 1)/sigma^4 + 1/v_j^2], with v_j = sigma^2 + n_j tau^2.
    """
    v = sigma2 + n * tau2
    i_tt = 0.5 * np.sum(n**2 / v**2)
    i_ts = 0.5 * np.sum(n / v**2)
    i_ss = 0.5 * np.sum((n - 1) / sigma2**2 + 1 / v**2)
    return np.array([[i_tt, i_ts], [i_ts, i_ss]])


def _icc_estimate(tau2: float, sigma2: float, cov_vc: np.ndarray, level: float, n: dict[str, int]) -> Estimate:
    icc = tau2 / (tau2 + sigma2)
    grad = np.array([sigma2, -tau2]) / (tau2 + sigma2) ** 2
    se = float(np.sqrt(max(grad @ cov_vc @ grad, 0.0)))
    return Estimate.from_normal("ICC", icc, se, level=level, n=n,
                                method="tau^2 / (tau^2 + sigma^2), delta-method SE")


def _fit_fast(y, X, names, groups, formula, group, method, reml, crit, level, options) -> MultilevelResult:
    codes, labels = pd.factorize(groups, sort=True)
    G = len(labels)
    if G < 2:
        raise MultilevelInputError(f"The group column '{group}' has {G} distinct value(s); a multilevel model needs at least 2.")
    st = _GroupStats.from_arrays(y, X, codes, G)
    fit = fit_random_intercept(st, reml=reml)
    p = X.shape[1]
    try:
        cov_all = np.linalg.inv(-fit.hessian)
    except np.linalg.LinAlgError:
        cov_all = np.full_like(fit.hessian, np.nan)
    if options.get("fixed_se") == "lme4" or fit.boundary or not np.all(np.diag(cov_all) > 0):
        # lme4's convention; and at lambda = 0 the Hessian is not informative for lambda: the GLS covariance.
        cov_fe = fit.scale * np.linalg.inv(fit.xtvix)
    else:
        cov_fe = cov_all[:p, :p]
    tau2, sigma2 = fit.lam * fit.scale, fit.scale
    info = _vc_info(st.n, tau2, sigma2)
    cov_vc = np.linalg.inv(info)
    se_vc = np.sqrt(np.diag(cov_vc))
    variance = pd.DataFrame(
        {"estimate": [tau2, sigma2], "se": se_vc},
        index=pd.Index([f"{group} (intercept)", "residual"], name="component"),
    )
    fixed = _fixed_table(names, fit.beta, cov_fe, crit)
    n = {"observations": st.n_obs, "groups": G}
    icc = _icc_estimate(tau2, sigma2, cov_vc, level, n)
    # Empirical Bayes value-added.
    w = st.n * fit.lam / (1.0 + st.n * fit.lam)
    raw = st.my - st.mx @ fit.beta
    eff = w * raw
    se_post = np.sqrt(tau2 * (1 - w))
    quad = np.einsum("gi,ij,gj->g", st.mx, cov_fe, st.mx)
    se_pev = np.sqrt(tau2 * (1 - w) + w**2 * quad)
    va = pd.DataFrame(
        {"n": st.n.astype(int), "raw": raw, "shrinkage": w, "effect": eff,
         "se_posterior": se_post, "se": se_pev,
         "ci_low": eff - crit * se_pev, "ci_high": eff + crit * se_pev},
        index=pd.Index(labels, name=group),
    )
    va["rank"] = va["effect"].rank(ascending=False, method="min").astype(int)
    diagnostics = {
        "lambda": fit.lam, "boundary": fit.boundary,
        "mixedlm_group_var_se": float(np.sqrt(fit.scale * cov_all[p, p])) if np.isfinite(cov_all[p, p]) else float("nan"),
        "variance_se_method": "expected information of (tau^2, sigma^2)",
        "fixed_se_method": ("sigma^2 (X'V*^-1 X)^-1 at the estimates (as R lme4)" if options.get("fixed_se") == "lme4"
                            else "inverse Hessian of the scale-profiled log-likelihood (as statsmodels MixedLM)"),
    }
    if fit.boundary:
        warnings.warn(
            f"The between-{group} variance is estimated at zero (boundary): the groups "
            "do not differ beyond chance; value-added is zero for every group.",
            RuntimeWarning, stacklevel=3,
        )
    return MultilevelResult(
        formula=formula, group=group, fixed=fixed, variance=variance, icc=icc, llf=fit.llf,
        method=method, engine="fast", n_obs=st.n_obs, n_groups=G, converged=fit.converged,
        level=level, options=options, diagnostics=diagnostics, _value_added=va,
        _cov_fe=pd.DataFrame(cov_fe, index=names, columns=names),
    )


def _vc_se(cov: np.ndarray) -> np.ndarray:
    d = np.diag(cov)
    return np.where(np.isfinite(d) & (d >= 0), np.sqrt(np.abs(d)), np.nan)


def _fit_fast_nested(inner_lab, upper_lab, y, X, names, formula, group, nested_in, method, reml, crit, level,
                     options, cluster_lab=None) -> MultilevelResult:
    """Three levels (pupils in ``group`` in ``nested_in``) by the exact nested engine (:mod:`.nested`)."""
    from evaltools.estimate.multilevel_models.nested import cluster_cov, fit_nested, frame_codes, nested_stats

    inner, upper, lab, ulab = frame_codes(inner_lab, upper_lab)
    if lab["upper"].nunique() < 2 or len(lab) < 2:
        raise MultilevelInputError(
            f"A three-level model needs at least 2 '{nested_in}' units and 2 '{group}' units; the data have "
            f"{lab['upper'].nunique()} and {len(lab)}.")
    st = nested_stats(y, X, inner, upper)
    fit = fit_nested(st, reml=reml)
    cov_fe = fit.scale * np.linalg.inv(fit.M) if options.get("fixed_se") == "lme4" else fit.cov_fe
    df = None
    if cluster_lab is not None:
        cl_codes, cl_labels = pd.factorize(pd.Series(cluster_lab).to_numpy(), sort=True)
        per_upper = pd.Series(cl_codes).groupby(upper).nunique()
        if (per_upper > 1).any():
            raise MultilevelInputError(
                f"cluster='{options['cluster']}': {int((per_upper > 1).sum())} '{nested_in}' unit(s) have rows in more "
                f"than one cluster; clusters must contain whole '{nested_in}' units (e.g. the municipality of the "
                "school). Use a coarser cluster or fix the column.")
        G = len(cl_labels)
        if G < 2:
            raise MultilevelInputError(f"cluster='{options['cluster']}' has {G} distinct value; "
                                       "clustering needs at least 2.")
        of_upper = np.zeros(st.n_schools, dtype=np.int64)
        of_upper[upper] = cl_codes
        cov_fe = cluster_cov(st, fit, y, X, inner, of_upper, G)
        df = G - 1
        crit = float(stats.t.ppf(0.5 + level / 2, df))
        options = {**options, "clusters": G, "df": df}
    ts2, tt2, s2 = fit.gs * fit.scale, fit.gt * fit.scale, fit.scale
    variance = pd.DataFrame(
        {"estimate": [ts2, tt2, s2], "se": _vc_se(fit.cov_vc)},
        index=pd.Index([f"{nested_in} (intercept)", f"{group} (intercept)", "residual"], name="component"))
    fixed = _fixed_table(names, fit.beta, cov_fe, crit, df)
    n = {"observations": st.n_obs, "groups": int(pd.Series(inner_lab).nunique()), "upper_groups": st.n_schools}
    total = ts2 + tt2 + s2
    grad = np.array([s2, s2, -(ts2 + tt2)]) / total**2
    cv = np.nan_to_num(fit.cov_vc)
    icc = Estimate.from_normal("ICC", (ts2 + tt2) / total, float(np.sqrt(max(grad @ cv @ grad, 0.0))), level=level,
                               n=n, method=f"(tau_{nested_in}^2 + tau_{group}^2) / total variance: correlation of two "
                                            f"units of the same {group}; delta-method SE")
    va = pd.DataFrame({"n": st.n.astype(int), "effect": fit.teacher_effect, "se_posterior": fit.teacher_se,
                       "se": fit.teacher_se, "ci_low": fit.teacher_effect - crit * fit.teacher_se,
                       "ci_high": fit.teacher_effect + crit * fit.teacher_se,
                       f"{nested_in}_effect": fit.school_effect[st.school]},
                      index=pd.MultiIndex.from_arrays([lab["upper"], lab["inner"]], names=[nested_in, group]))
    va["rank"] = va["effect"].rank(ascending=False, method="min").astype(int)
    up_n = np.bincount(upper, minlength=st.n_schools)
    ue = pd.DataFrame({"n": up_n, "effect": fit.school_effect, "se_posterior": fit.school_se, "se": fit.school_se,
                       "ci_low": fit.school_effect - crit * fit.school_se,
                       "ci_high": fit.school_effect + crit * fit.school_se},
                      index=pd.Index(ulab, name=nested_in))
    ue["rank"] = ue["effect"].rank(ascending=False, method="min").astype(int)
    diagnostics = {
        "ratio_upper": fit.gs, "ratio_group": fit.gt, "boundary": any(fit.boundary),
        "boundary_upper": fit.boundary[0], "boundary_group": fit.boundary[1],
        "variance_se_method": "expected information of (tau_upper^2, tau_group^2, sigma^2)",
        "fixed_se_method": (f"GLS sandwich by {options['cluster']} (CR1, G/(G-1)), t({df})" if df else
                            "sigma^2 (X'V*^-1 X)^-1 at the estimates (as R lme4)" if options.get("fixed_se") == "lme4"
                            or any(fit.boundary) else
                            "inverse Hessian of the scale-profiled log-likelihood (as statsmodels MixedLM)"),
        "value_added_se": "posterior SD given beta_hat",
    }
    for at0, who in zip(fit.boundary, (nested_in, group)):
        if at0:
            warnings.warn(f"The between-{who} variance is estimated at zero (boundary): the model reduces to "
                          "fewer levels.", RuntimeWarning, stacklevel=3)
    return MultilevelResult(
        formula=formula, group=group, fixed=fixed, variance=variance, icc=icc, llf=fit.llf, method=method,
        engine="fast", n_obs=st.n_obs, n_groups=n["groups"], converged=fit.converged, level=level, options=options,
        diagnostics=diagnostics, _value_added=va, _upper_effects=ue,
        _cov_fe=pd.DataFrame(cov_fe, index=names, columns=names))


def _fit_mixedlm(df, y, X, names, formula, group, slopes, nested_in, method, reml, crit, level, options) -> MultilevelResult:
    import statsmodels.api as sm

    if nested_in is None:
        groups = df[group].to_numpy()
        exog_re = np.column_stack([np.ones(len(df))] + [df[s].to_numpy(float) for s in slopes])
        re_names = ["intercept"] + slopes
        model = sm.MixedLM(y, X, groups=groups, exog_re=exog_re)
    else:
        groups = df[nested_in].to_numpy()
        top = df[nested_in].astype(str)
        exog_re = np.column_stack([np.ones(len(df))] + [df[s].to_numpy(float) for s in slopes])
        re_names = ["intercept"] + slopes
        # Variance component: one random intercept per group within each top-level unit.
        inner = pd.factorize(df[group].astype(str) + "\x1f" + top)[0]
        from statsmodels.regression.mixed_linear_model import VCSpec

        # MixedLM orders groups by their sorted labels; the VCSpec lists follow that order.
        mats, colnames = [], []
        for g in np.unique(groups):
            local = pd.factorize(inner[groups == g])[0]
            mats.append(np.eye(local.max() + 1)[local])
            colnames.append([f"{group}[{k}]" for k in range(local.max() + 1)])
        model = sm.MixedLM(y, X, groups=groups, exog_re=exog_re,
                           exog_vc=VCSpec([group], [colnames], [mats]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(reml=reml)
    p = X.shape[1]
    cov_fe = np.asarray(res.cov_params())[:p, :p]
    fixed = _fixed_table(names, np.asarray(res.fe_params), cov_fe, crit)
    upper = nested_in if nested_in else group
    cov_re = np.asarray(res.cov_re)
    rows, est = [], []
    for i, nm in enumerate(re_names):
        rows.append(f"{upper} ({nm})")
        est.append(cov_re[i, i])
    for i in range(len(re_names)):
        for j in range(i):
            rows.append(f"{upper} cov({re_names[j]}, {re_names[i]})")
            est.append(cov_re[i, j])
    if nested_in:
        rows.append(f"{group} (intercept)")
        est.append(float(np.asarray(res.vcomp)[0]))
    rows.append("residual")
    est.append(float(res.scale))
    variance = pd.DataFrame({"estimate": est, "se": np.nan}, index=pd.Index(rows, name="component"))
    n = {"observations": len(y), "groups": int(df[group].nunique())}
    if nested_in:
        n["upper_groups"] = int(df[nested_in].nunique())
        tau2 = float(np.asarray(res.vcomp)[0])
    else:
        tau2 = float(cov_re[0, 0])
    sigma2 = float(res.scale)
    total = sigma2 + tau2 + (float(cov_re[0, 0]) if nested_in else 0.0)
    icc_val = tau2 / total if not nested_in else (tau2 + float(cov_re[0, 0])) / total
    icc = Estimate.from_normal("ICC", icc_val, float("nan"), level=level, n=n,
                               method="variance share of the grouping levels (MixedLM; no SE)")
    va = None
    if not nested_in:
        re = res.random_effects
        rec = res.random_effects_cov
        labels = list(re.keys())
        eff = np.array([np.asarray(re[g])[0] for g in labels])
        sep = np.array([math.sqrt(np.asarray(rec[g])[0, 0]) for g in labels])
        va = pd.DataFrame({"n": df.groupby(group).size().reindex(labels).to_numpy(),
                           "effect": eff, "se_posterior": sep, "se": sep,
                           "ci_low": eff - crit * sep, "ci_high": eff + crit * sep},
                          index=pd.Index(labels, name=group))
        va["rank"] = va["effect"].rank(ascending=False, method="min").astype(int)
    engine = "statsmodels MixedLM"
    return MultilevelResult(
        formula=formula, group=group, fixed=fixed, variance=variance, icc=icc, llf=float(res.llf),
        method=method, engine=engine, n_obs=len(y), n_groups=n["groups"], converged=bool(res.converged),
        level=level, options=options,
        diagnostics={"note": "random slopes / three levels fitted by statsmodels MixedLM; "
                             "value-added SE is the posterior SD (ignores Cov(beta_hat))"},
        _value_added=va, _cov_fe=pd.DataFrame(cov_fe, index=names, columns=names),
    )
