r"""Restricted wild cluster bootstrap (WCR) with high-dimensional fixed effects.

Model ``y = X b + D a + u`` with clusters ``g = 1..G``; test ``H0: b_j = r``.
The fixed effects ``D`` are partialled out once (Frisch-Waugh-Lovell, see
:mod:`evaltools.estimate.fixed_effects`): ``y~ = M_D y``, ``X~ = M_D X``.

With ``a = (X~'X~)^-1 e_j``, restricted residuals ``u(r)`` (``b_j = r`` imposed)
and draws ``v_b`` (one weight per cluster), the bootstrap t-statistic of draw
``b`` is (Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and wild", Stata J. 19(1))

    t*_b = (v_b . C) / sqrt(ssc * sum_g (sum_h v_bh K_gh)^2),
    C_g  = a' X~_g' u_g(r),
    K_gh = E_gh - a' X~_g'X~_g (X~'X~)^-1 X~_h' u_h(r),
    E_gh = (M_D(x_a 1_g))' (u(r) 1_h),           x_a = X~ a.

``E`` is the part of the bootstrap score that comes from re-estimating the
fixed effects on each bootstrap sample. When every fixed-effect factor is nested
within the clusters ``E = diag(C)``. Otherwise it is computed exactly, so the
result equals the bootstrap with the fixed effects written as dummies: through
the levels of the crossed factors (e.g. years) when they are at most ``G``
(``E - diag(C) = -S (B~'B~)^+ W'`` with ``B`` their dummies, ``B~`` = ``B``
with the nested factors partialled out, in closed form for one nested factor),
else with one extra partialling-out of ``G`` columns. Every piece is a ``G``-vector or a
``G x G`` matrix linear in ``r``, so after one pass over the data the draws are
two ``(reps x G) @ (G x G)`` products; each draw's numerator is then linear and
its squared denominator quadratic in ``r``, and the test is inverted for a
confidence interval at O(reps) per trial value. The p-value is ``mean(|t*_b| > |t|)``.
Rademacher draws with ``G <= 13`` enumerate all ``2^G`` sign vectors.
"""
from __future__ import annotations

import functools
import inspect
import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.linalg

from pyfixest.core.detect_singletons import detect_singletons

from evaltools.core.inputs import as_list, require_columns, require_frame, show
from evaltools.core.inputs import level as check_level
from evaltools.core.progress import progress
from evaltools.core.result import Estimate, ResultMixin, SummaryText
from evaltools.core.vocabulary import choice, renamed
from evaltools.estimate.fixed_effects import FixedEffects
from evaltools.estimate.fixed_effects import demean as demean_codes

__all__ = ["WildBootstrapResult", "wild_cluster_bootstrap", "draw_weights"]

_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])
#: Largest G for which Rademacher weights are fully enumerated (2^13 = 8192 draws).
ENUMERATE_MAX_G = 13


def draw_weights(G: int, reps: int, weights: str, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Bootstrap weights as a ``(reps, G)`` array and whether they were enumerated.

    Random draws use ``rng.choice`` over the support filled cluster-major, the
    same stream as the ``wildboottest`` package, so equal seeds give equal draws.
    """
    if weights == "rademacher" and G <= ENUMERATE_MAX_G:
        return np.array(list(itertools.product([-1.0, 1.0], repeat=G))), True
    support = np.array([-1.0, 1.0]) if weights == "rademacher" else _WEBB
    v = rng.choice(support, size=G * reps, replace=True).reshape(G, reps)
    return np.ascontiguousarray(v.T), False


@dataclass(frozen=True, repr=False)
class WildBootstrapResult(ResultMixin):
    """Result of :func:`wild_cluster_bootstrap`.

    ``estimate`` is the headline :class:`Estimate`: the coefficient, its CRV1
    standard error, the bootstrap p-value and the test-inversion CI.
    """

    estimate: Estimate
    t_stat: float
    n_boot: int
    weight_type: str
    enumerated: bool
    t_boot: np.ndarray = field(repr=False)

    @property
    def reps(self) -> int:
        """Deprecated name of :attr:`n_boot` (docs/api.md)."""
        warnings.warn("WildBootstrapResult.reps is now .n_boot (docs/api.md).", DeprecationWarning, stacklevel=2)
        return self.n_boot

    @property
    def coef(self) -> float:
        return self.estimate.estimate

    @property
    def pvalue(self) -> float:
        return self.estimate.pvalue

    @property
    def ci(self) -> tuple[float, float]:
        return (self.estimate.ci_low, self.estimate.ci_high)

    def to_frame(self) -> pd.DataFrame:
        """One row: estimate, CRV1 se, bootstrap CI and p-value, t, draws, n's."""
        df = self.estimate.to_frame()
        df.insert(5, "t_stat", self.t_stat)
        df["n_boot"] = self.n_boot
        df["weight_type"] = self.weight_type
        return df

    def to_dict(self) -> dict[str, Any]:
        """The estimate (bootstrap p and CI), t and the draws' settings (not the draws)."""
        return {"type": "WildBootstrapResult", "estimate": self.estimate, "t_stat": self.t_stat, "n_boot": self.n_boot,
                "weight_type": self.weight_type, "enumerated": self.enumerated}

    def _summary_title(self) -> str:
        return "Wild cluster bootstrap (WCR, null imposed)"

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        how = "all 2^G sign vectors" if self.enumerated else f"{self.n_boot:,} {self.weight_type} draws"
        return (
            "Wild cluster bootstrap (WCR, null imposed)\n"
            f"{self.estimate!r}\n  t = {self.t_stat:.4g}; bootstrap p and CI from {how}"
        )


class _Pieces:
    """The cluster-level sufficient statistics; everything below is O(G^2)."""

    def __init__(self, y: np.ndarray, X: np.ndarray, j: int, g: np.ndarray, G: int,
                 fe: FixedEffects | None, nested: np.ndarray) -> None:
        N, k = X.shape
        XtX = X.T @ X
        XtX_inv = np.linalg.inv(XtX)
        self.beta = XtX_inv @ (X.T @ y)
        a = XtX_inv[:, j]
        x_a = X @ a
        uhat = y - X @ self.beta
        # restricted residuals u(r) = u0 - r * m, with m = M_{X_-j} x_j
        keep = np.arange(k) != j
        Xr = X[:, keep]
        if Xr.shape[1]:
            Pr = np.linalg.solve(Xr.T @ Xr, Xr.T @ np.column_stack([y, X[:, j]]))
            u0 = y - Xr @ Pr[:, 0]
            m = X[:, j] - Xr @ Pr[:, 1]
        else:
            u0, m = y.copy(), X[:, j].copy()
        # per-cluster sums in one pass each (bincount), no sorting:
        # S_h = X_h'u_h,  L_g = (X'X)^-1 X_g'X_g a = (X'X)^-1 X_g' x_a,  score_g = x_a,g' uhat_g
        S0 = _cluster_sums(X, u0, g, G)
        S1 = _cluster_sums(X, m, g, G)
        L = _cluster_sums(X, x_a, g, G) @ XtX_inv
        score = np.bincount(g, weights=x_a * uhat, minlength=G)
        self.score = score
        self.C0, self.C1 = S0 @ a, S1 @ a
        self.H0, self.H1 = L @ S0.T, L @ S1.T
        if fe is None or nested.all():
            self.E0, self.E1 = np.diag(self.C0), np.diag(self.C1)
        elif sum(n for n, f in zip(fe.n_levels, nested) if not f) <= G:
            self.E0, self.E1 = self._fe_part_crossed(x_a, u0, m, g, G, fe, nested)
            self.E0 += np.diag(self.C0)
            self.E1 += np.diag(self.C1)
        else:
            self.E0, self.E1 = self._fe_part(x_a, u0, m, g, G, fe)

    @staticmethod
    def _fe_part_crossed(x_a: np.ndarray, u0: np.ndarray, m: np.ndarray, g: np.ndarray, G: int,
                         fe: FixedEffects, nested: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """E - diag(C) = -S (B~'B~)^+ W' through the few levels of the crossed factors.

        A = dummies of the factors nested in the clusters, B = those of the crossed
        ones, B~ = M_A B. Every vector w here (x_a 1_g, u 1_h) is orthogonal to A,
        so P_D w = B~ (B~'B~)^+ B'w; S[g] = B'(x_a 1_g), W[h] = B'(u 1_h).
        """
        crossed = [j for j in range(len(nested)) if not nested[j]]
        codes = [fe.codes[:, j].astype(np.int64) for j in crossed]
        levels = [fe.n_levels[j] for j in crossed]
        off = np.concatenate([[0], np.cumsum(levels)])
        N, LB = len(g), int(off[-1])
        A = fe.codes[:, nested]
        gram = np.empty((LB, LB))  # B'B~
        for i, ci in enumerate(codes):  # B'B: the tables of level counts
            for k, ck in enumerate(codes):
                gram[off[i]:off[i + 1], off[k]:off[k + 1]] = np.bincount(
                    ci * levels[k] + ck, minlength=levels[i] * levels[k]).reshape(levels[i], levels[k])
        if A.shape[1] == 1:
            # one nested factor: B'P_A B = sum_a c_a c_a' / n_a, c_a = level counts in group a
            a = A[:, 0].astype(np.int64)
            n_a = np.bincount(a).astype(float)
            Cnt = np.hstack([np.bincount(a * L + c, minlength=len(n_a) * L).reshape(len(n_a), L)
                             for L, c in zip(levels, codes)]).astype(float)
            gram -= Cnt.T @ (Cnt / np.maximum(n_a, 1.0)[:, None])
        elif A.shape[1] > 1:  # several nested factors: B~ = M_A B by alternating projections
            B = np.zeros((N, LB))
            rows = np.arange(N)
            for i, c in enumerate(codes):
                B[rows, off[i] + c] = 1.0
            Bt = demean_codes(B, A)
            del B
            for i, c in enumerate(codes):  # block row i of B'B~ by bincount
                for col in range(LB):
                    gram[off[i]:off[i + 1], col] = np.bincount(c, weights=Bt[:, col], minlength=levels[i])
        idx = [g * L + c for L, c in zip(levels, codes)]
        S, W0, W1 = (np.hstack([np.bincount(ix, weights=w, minlength=G * L).reshape(G, L)
                                for ix, L in zip(idx, levels)]) for w in (x_a, u0, m))
        core = S @ np.linalg.pinv(gram, rcond=1e-12, hermitian=True)
        return -core @ W0.T, -core @ W1.T

    @staticmethod
    def _fe_part(x_a: np.ndarray, u0: np.ndarray, m: np.ndarray, g: np.ndarray, G: int,
                 fe: FixedEffects, chunk: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """E_gh = (M_D(x_a 1_g))' (u 1_h) for u = u0 and u = m, in column chunks."""
        E0 = np.empty((G, G))
        E1 = np.empty((G, G))
        for start in range(0, G, chunk):
            cols = np.arange(start, min(start + chunk, G))
            Z = np.where(g[:, None] == cols[None, :], x_a[:, None], 0.0)
            W = fe.demean(Z)
            for i, c in enumerate(cols):
                E0[c] = np.bincount(g, weights=W[:, i] * u0, minlength=G)
                E1[c] = np.bincount(g, weights=W[:, i] * m, minlength=G)
        return E0, E1

    def draws(self, v: np.ndarray, ssc: float) -> "_Draws":
        """Project the draws once: two (reps x G) @ (G x G) products."""
        s0 = v @ (self.E0 - self.H0).T
        s1 = v @ (self.E1 - self.H1).T
        return _Draws(v @ self.C0, v @ self.C1, np.einsum("bg,bg->b", s0, s0),
                      np.einsum("bg,bg->b", s0, s1), np.einsum("bg,bg->b", s1, s1), ssc)


@dataclass(frozen=True)
class _Draws:
    """Per draw b: numerator a0 - r a1 and denominator ssc (q00 - 2 r q01 + r^2 q11).

    Both are polynomials in the null value r, so t*_b(r) for any r costs O(reps).
    """

    a0: np.ndarray
    a1: np.ndarray
    q00: np.ndarray
    q01: np.ndarray
    q11: np.ndarray
    ssc: float

    def t(self, r: float) -> np.ndarray:
        den = self.q00 - 2.0 * r * self.q01 + r * r * self.q11
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.a0 - r * self.a1) / np.sqrt(self.ssc * np.maximum(den, 0.0))


def _cluster_sums(X: np.ndarray, w: np.ndarray, g: np.ndarray, G: int) -> np.ndarray:
    """``out[h] = sum_{i in h} X_i w_i``, shape ``(G, k)``."""
    return np.column_stack([np.bincount(g, weights=X[:, c] * w, minlength=G) for c in range(X.shape[1])])


def _check_inputs(data: pd.DataFrame, outcome: str, regressors: Sequence[str], param: str,
                  cluster: str, fixed_effects: Sequence[str], reps: int, weights: str) -> None:
    require_frame(data)
    if param not in regressors:
        raise ValueError(
            f"param={param!r} is not one of the regressors {list(regressors)}; "
            "name the coefficient to test among them."
        )
    require_columns(data, {"outcome": outcome, "regressor": list(regressors), "cluster": cluster,
                           "fixed-effect": list(fixed_effects)})
    for col in [outcome, *regressors]:
        if not pd.api.types.is_numeric_dtype(data[col]):
            raise ValueError(f"Column {col!r} must be numeric, found dtype {data[col].dtype}.")
        bad = ~np.isfinite(data[col].to_numpy(dtype=float))
        if bad.any():
            raise ValueError(
                f"Column {col!r} has {int(bad.sum())} missing or infinite value(s) (first at row "
                f"{show(data.index[np.flatnonzero(bad)[0]])}); drop those rows first."
            )
    if data[cluster].isna().any():
        raise ValueError(f"Cluster column {cluster!r} has missing values; drop those rows first.")
    if weights not in ("rademacher", "webb"):
        raise ValueError(f"weights must be 'rademacher' or 'webb', got {weights!r}.")
    if not isinstance(reps, (int, np.integer)) or reps < 1:
        raise ValueError(f"reps must be a positive integer, got {reps!r}.")


def _invert(p_of: Any, b: float, se: float, alpha: float, side: int, tol: float) -> float:
    """Move from b (inside) outward until p < alpha, then bisect the crossing."""
    inside, step = b, max(se, 1e-12 * max(1.0, abs(b)))
    outside = b + side * 2 * step
    for _ in range(60):
        if p_of(outside) < alpha:
            break
        inside, outside = outside, b + side * (abs(outside - b) * 2)
    else:
        return side * math.inf
    while abs(outside - inside) > tol:
        mid = 0.5 * (inside + outside)
        if p_of(mid) >= alpha:
            inside = mid
        else:
            outside = mid
    return 0.5 * (inside + outside)


_OLD_SIGNATURE = inspect.Signature([
    inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
    for name, default in [("data", inspect.Parameter.empty), ("outcome", inspect.Parameter.empty),
                          ("regressors", inspect.Parameter.empty), ("param", inspect.Parameter.empty),
                          ("cluster", inspect.Parameter.empty), ("fixed_effects", ()), ("reps", 9999),
                          ("weights", "rademacher"), ("seed", None)]])


def _accept_the_old_call(func: Any) -> Any:
    """Until the next release: the old form ``(data, outcome, regressors, param, cluster,
    fixed_effects, reps, weights, seed)`` still works, with a DeprecationWarning."""
    renamed_func = renamed(reps="n_boot", weights="weight_type")(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> WildBootstrapResult:
        old = (len(args) > 3 or (len(args) == 3 and not isinstance(args[2], str))
               or "regressors" in kwargs or "param" in kwargs)
        if not old:
            return renamed_func(*args, **kwargs)
        bound = _OLD_SIGNATURE.bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        warnings.warn("wild_cluster_bootstrap(data, outcome, regressors, param, cluster, ...) is now "
                      "wild_cluster_bootstrap(data, outcome, treatment, covariates=..., cluster=..., "
                      "n_boot=..., weight_type=...) (docs/api.md); the old form stops working in the "
                      "next release.", DeprecationWarning, stacklevel=2)
        regressors = [a["regressors"]] if isinstance(a["regressors"], str) else list(a["regressors"])
        return _bootstrap(a["data"], a["outcome"], regressors, a["param"], a["cluster"], a["fixed_effects"],
                          a["reps"], a["weights"], a["seed"], 0.95)

    wrapper.__renamed__ = {"reps": "n_boot", "weights": "weight_type", "regressors": "treatment, covariates",
                           "param": "treatment"}
    return wrapper


@_accept_the_old_call
def wild_cluster_bootstrap(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    covariates: Sequence[str] | str | None = None,
    cluster: str,
    fixed_effects: Sequence[str] | str = (),
    n_boot: int = 9999,
    weight_type: Literal["rademacher", "webb"] = "rademacher",
    seed: int | None = None,
    level: float = 0.95,
) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap test of ``treatment``'s coefficient = 0, with a
    test-inversion CI.

    The regression is ``outcome`` on ``treatment`` and ``covariates`` (numeric columns; an
    intercept is added when there are no fixed effects); ``cluster`` the cluster column,
    ``fixed_effects`` factor columns partialled out, ``n_boot`` draws of ``weight_type``
    ``"rademacher"`` or ``"webb"`` weights, ``seed``. The ``level`` CI collects every ``r``
    with bootstrap p-value of ``H0: b = r`` at least ``1 - level``, with the same draws for
    every ``r``. The reported SE is CRV1 with fixest's small-sample factor
    (N-1)/(N-K) * G/(G-1), fixed effects nested in the clusters not counted in K. See the
    module docstring for the formulas. (Before: ``(data, outcome, regressors, param,
    cluster, fixed_effects, reps, weights, seed)``, still accepted for one release.)
    """
    regressors = [treatment, *[c for c in as_list(covariates) if c != treatment]]
    weight_type = choice(weight_type, ("rademacher", "webb"), "weight_type", where="wild_cluster_bootstrap")
    return _bootstrap(data, outcome, regressors, treatment, cluster, fixed_effects, n_boot, weight_type, seed,
                      level)


def _bootstrap(data: pd.DataFrame, outcome: str, regressors: list[str], param: str, cluster: str,
               fixed_effects: Sequence[str] | str, reps: int, weights: str, seed: int | None,
               level: float) -> WildBootstrapResult:
    """The bootstrap of the coefficient on ``param`` among ``regressors`` (in this order)."""
    fixed_effects = [fixed_effects] if isinstance(fixed_effects, str) else list(fixed_effects)
    _check_inputs(data, outcome, regressors, param, cluster, fixed_effects, reps, weights)
    n_singletons = 0
    fe = FixedEffects.from_data(data, fixed_effects) if fixed_effects else None
    if fe is not None:
        # rows alone in a fixed-effect group carry no information (they demean to 0);
        # drop them as fixest does, so that N and the small-sample factor agree with it
        single = detect_singletons(np.asfortranarray(fe.codes))
        n_singletons = int(single.sum())
        if n_singletons:
            data = data.loc[~single]
            fe = FixedEffects.from_data(data, fixed_effects)
    g, clusters = pd.factorize(data[cluster], sort=True)
    g = g.astype(np.int64)
    G = len(clusters)
    if G < 2:
        raise ValueError(f"The cluster column {cluster!r} has {G} cluster(s); the bootstrap needs at least 2.")
    y = data[outcome].to_numpy(dtype=np.float64)
    X = data[regressors].to_numpy(dtype=np.float64)
    names = list(regressors)
    if fe is None:
        X = np.column_stack([np.ones(len(y)), X])
        names = ["(intercept)", *names]
        nested_flags = np.zeros(0, dtype=bool)
    else:
        yx = fe.demean(np.column_stack([y, X]))
        y, X = yx[:, 0], np.ascontiguousarray(yx[:, 1:])
        nested_flags = fe.nested_in(g)
    N, k = X.shape
    j = names.index(param)
    _check_rank(X, names, j)

    # a bar of the four steps below, shown only past 1 s and on a tty or in Lab (core/progress.py)
    bar = progress(total=4, desc="wild bootstrap", unit="step")
    pieces = _Pieces(y, X, j, g, G, fe, nested_flags)
    bar.update()
    b = float(pieces.beta[j])
    # fixest-style K: regressors + non-nested FE levels (one level dropped per extra factor)
    if fe is None:
        K = k
    else:
        lv = np.array(fe.n_levels)
        k_fe = int(lv.sum()) - (len(lv) - 1)
        K = k + k_fe - int(lv[nested_flags].sum()) + int(nested_flags.sum())
    ssc = (N - 1) / (N - K) * G / (G - 1)
    se = math.sqrt(ssc * float(pieces.score @ pieces.score))
    t_stat = b / se

    rng = np.random.default_rng(seed)
    v, enumerated = draw_weights(G, reps, weights, rng)

    projected = pieces.draws(v, ssc)
    bar.update()

    def p_of(r: float) -> float:
        tb = projected.t(r)
        return float(np.mean(np.abs(tb) > abs((b - r) / se) * (1 + 1e-10)))

    t_boot = projected.t(0.0)
    p = float(np.mean(np.abs(t_boot) > abs(t_stat) * (1 + 1e-10)))
    alpha, tol = round(1 - check_level(level), 12), 1e-6 * se
    lo = _invert(p_of, b, se, alpha, -1, tol)
    bar.update()
    hi = _invert(p_of, b, se, alpha, +1, tol)
    bar.update()
    est = Estimate(
        estimand=param,
        estimate=b,
        se=se,
        ci_low=lo,
        ci_high=hi,
        pvalue=p,
        n={"obs": int(N), "clusters": int(G)},
        method="Wild cluster bootstrap-t, restricted (WCR), CRV1; CI by test inversion",
        level=level,
        options={"cluster": cluster, "fixed_effects": list(fixed_effects), "n_boot": int(len(v)),
                 "weight_type": weights, "seed": seed},
        diagnostics={"t_stat": t_stat, "enumerated": enumerated, "rows_dropped_singletons": n_singletons,
                     "fixed_effects_nested_in_clusters": [bool(f) for f in nested_flags]},
    )
    bar.close()
    return WildBootstrapResult(est, t_stat, int(len(v)), weights, enumerated, t_boot)


def _check_rank(X: np.ndarray, names: list[str], j: int) -> None:
    """Raise if the tested regressor is (nearly) collinear with the others after partialling."""
    norms = np.sqrt((X * X).sum(axis=0))
    if norms[j] <= 1e-10 * max(1.0, float(np.abs(X).max(initial=0.0)) * math.sqrt(len(X))):
        raise ValueError(
            f"Regressor {names[j]!r} has no variation left after partialling out the fixed "
            "effects (it is constant within the fixed-effect groups); it cannot be tested."
        )
    Xs = X / np.where(norms > 0, norms, 1.0)
    R, piv = scipy.linalg.qr(Xs, mode="r", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int((d > 1e-9 * d[0]).sum())
    if rank < X.shape[1]:
        redundant = [names[p] for p in piv[rank:]]
        more = f" and {len(redundant) - 8} more" if len(redundant) > 8 else ""
        raise ValueError(
            f"The regressors are collinear after partialling out the fixed effects: "
            f"{', '.join(map(repr, redundant[:8]))}{more} are combinations of the others; drop them."
        )
