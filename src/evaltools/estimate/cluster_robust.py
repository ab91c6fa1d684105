r"""Small-sample cluster-robust inference: CR2 with Satterthwaite degrees of freedom.

Model ``y = X b + e`` fitted by (weighted) least squares with weights ``W``;
``M = (X'WX)^-1``, residuals ``e``, clusters ``g = 1..G``. The bias-reduced
linearisation of Bell & McCaffrey (2002), as generalised by Pustejovsky &
Tipton (2018, JBES 36(4)) with the working model ``Phi = I``::

    V_CR2 = M [ sum_g X_g' W_g A_g e_g e_g' A_g W_g X_g ] M,   A_g = B_g^{+1/2}
    B_g   = [(I - H) (I - H)']_gg,                              H = X M X' W

(``+1/2``: symmetric square root of the Moore-Penrose inverse). For a contrast
``c`` the Satterthwaite degrees of freedom are ``(tr O)^2 / ||O||_F^2`` with
``O_gh = p_g' p_h``, ``p_g = (I - H)_g.' A_g W_g X_g M c`` (P&T 2018, eq. 11);
with ``Phi = I`` and no weights this is also Imbens & Kolesár's (2016, REStat
98(4)) ``K_IK`` with a homoskedastic working model. Both match R's
``clubSandwich::vcovCR(type = "CR2")`` and ``coef_test(test = "Satterthwaite")``
(the default ``target`` of an ``lm``, with or without weights).

Nothing ``N x N`` is built. ``B_g = I + Z K Z'`` with ``Z = [X_g, W_g X_g]``
(rank <= 2p), so ``A_g`` comes from a ``2p x 2p`` eigen-problem, and ``O`` is
diagonal plus rank ``3p``, so its trace and Frobenius norm cost ``O(G p^2)``.
The limit is the dense design: ``X`` is ``N x p`` (``MAX_COLUMNS``).

Absorbed fixed effects (Pustejovsky & Tipton 2018, sec. 3.2): factors *nested*
in the clusters may be partialled out of ``X`` (``X = M_D X``), since then
``(I - H_full)_gg`` equals ``I - H_gg`` on the space the residuals live in;
factors that cross the clusters (e.g. periods when clustering by unit) must be
in ``X`` as dummies. :func:`fe_design` builds that design. Weights with
absorbed fixed effects are not supported (the within projection is then not
symmetric).

``FEW_CLUSTERS``: below this many clusters CR1 with ``t(G-1)`` over-rejects
(Cameron & Miller 2015, sec. VI); results then carry
``diagnostics["few_clusters"]`` (see :func:`few_clusters`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["FEW_CLUSTERS", "MAX_COLUMNS", "CR2Result", "CR2Model", "cr2", "cr2_model", "cr2_fit", "fe_design",
           "few_clusters", "check_vcov"]

#: Fewer clusters than this and every cluster-robust result says so.
FEW_CLUSTERS: int = 30
#: Most columns of the dense design (regressors + dummies of crossed fixed effects).
MAX_COLUMNS: int = 2_000
#: Most cells of the dense design (N x p float64: 8 bytes each, i.e. 2 GB).
MAX_CELLS: int = 250_000_000


def check_vcov(vcov: str) -> str:
    """``"CR1"`` or ``"CR2"`` in any case; anything else is a clear error."""
    v = str(vcov).upper()
    if v not in ("CR1", "CR2"):
        raise ValueError(f"vcov must be 'CR1' (cluster-robust, t(G-1)) or 'CR2' (Bell-McCaffrey with "
                         f"Satterthwaite df), got {vcov!r}.")
    return v


@dataclass(frozen=True)
class CR2Result:
    """CR2 covariance of the coefficients and what the Satterthwaite df needs.

    ``vcov`` (p x p), ``clusters`` (G); :meth:`test` gives the SE, df, t, p-value
    and CI of one contrast ``c'b``.
    """

    vcov: np.ndarray
    clusters: int
    _M: np.ndarray
    _S2: np.ndarray
    _blocks: tuple  # per cluster: (X_g, w_g, Q_g, coef_g) with A_g = I + Q_g diag(coef_g) Q_g'

    def _apply_A(self, g: int, v: np.ndarray) -> np.ndarray:
        _, _, Q, coef = self._blocks[g]
        return v + Q @ (coef * (Q.T @ v))

    def df(self, contrast: np.ndarray) -> float:
        """Satterthwaite degrees of freedom of ``contrast @ b`` (P&T 2018, eq. 11)."""
        c = np.asarray(contrast, float)
        Mc = self._M @ c
        G = len(self._blocks)
        p = len(c)
        a = np.empty(G)
        F = np.empty((G, p))
        Hm = np.empty((G, p))
        for g, (Xg, wg, _, _) in enumerate(self._blocks):
            u = self._apply_A(g, wg * (Xg @ Mc))
            a[g] = u @ u
            F[g] = Xg.T @ u
            Hm[g] = Xg.T @ (wg * u)
        M, S2 = self._M, self._S2
        L = np.hstack([Hm, F, F])
        R = np.hstack([-F @ M, -Hm @ M, F @ (M @ S2 @ M)])
        lr_diag = np.einsum("ij,ij->i", L, R)
        trace = a.sum() + lr_diag.sum()
        frob2 = (a**2).sum() + 2 * (a * lr_diag).sum() + np.sum((L.T @ L) * (R.T @ R))
        return float(trace**2 / frob2) if frob2 > 0 else float("nan")

    def test(self, b: np.ndarray, contrast: np.ndarray, *, level: float = 0.95) -> dict[str, float]:
        """SE, Satterthwaite df, t, two-sided p-value and CI of ``contrast @ b``."""
        c = np.asarray(contrast, float)
        est = float(c @ b)
        se = float(np.sqrt(max(c @ self.vcov @ c, 0.0)))
        df = self.df(c)
        t = est / se if se > 0 else float("nan")
        crit = float(stats.t.ppf(0.5 + level / 2, df))
        return {"estimate": est, "se": se, "df": df, "t": t, "pvalue": float(2 * stats.t.sf(abs(t), df)),
                "ci_low": est - crit * se, "ci_high": est + crit * se}


def _orthonormal(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Z = Q R`` with ``Q`` an orthonormal basis of the column space (rank-revealing SVD)."""
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)
    keep = s > s.max(initial=0.0) * max(Z.shape) * np.finfo(float).eps
    return U[:, keep], s[keep, None] * Vt[keep]


def cr2(X: np.ndarray, resid: np.ndarray, cluster: np.ndarray | Sequence[Any], *,
        weights: np.ndarray | None = None) -> CR2Result:
    """CR2 (Bell-McCaffrey) covariance of a (weighted) least-squares fit, with Satterthwaite df.

    ``X``: the design (N x p; partialled of fixed effects nested in the clusters,
    see :func:`fe_design`); ``resid``: the fit's residuals; ``cluster``: a cluster
    id per row (no missing); ``weights``: regression weights (``None``: OLS).
    See the module docstring for the formulas.
    """
    X = np.asarray(X, float)
    if X.ndim == 1:
        X = X[:, None]
    e = np.asarray(resid, float)
    N, p = X.shape
    if len(e) != N or len(cluster) != N:
        raise ValueError(f"cr2(): X has {N} rows, resid {len(e)} and cluster {len(cluster)}; they must agree.")
    codes, uniq = pd.factorize(np.asarray(cluster), use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError(f"cr2(): the cluster ids have {int((codes < 0).sum())} missing value(s); every row "
                         "needs a cluster.")
    G = len(uniq)
    if G < 2:
        raise ValueError(f"CR2 standard errors need at least 2 clusters, found {G}.")
    w = np.ones(N) if weights is None else np.asarray(weights, float)
    XtWX = X.T @ (X * w[:, None])
    M = np.linalg.pinv(XtWX, hermitian=True)
    S2 = X.T @ (X * (w**2)[:, None])
    K = np.block([[M @ S2 @ M, -M], [-M, np.zeros((p, p))]])
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(G + 1))
    blocks = []
    meat = np.zeros((p, p))
    for g in range(G):
        rows = order[bounds[g]:bounds[g + 1]]
        Xg, wg, eg = X[rows], w[rows], e[rows]
        Q, R = _orthonormal(np.hstack([Xg, Xg * wg[:, None]]))
        lam, V = np.linalg.eigh(R @ K @ R.T)
        QV = Q @ V
        one = 1.0 + lam
        # A_g = (I + QV diag(lam) V'Q')^{+1/2}: on the eigen-directions 1/sqrt(1+lam) - 1,
        # or -1 where 1 + lam = 0 (the Moore-Penrose inverse drops them).
        tol = 1e-10
        coef = np.where(one > tol, 1.0 / np.sqrt(np.maximum(one, tol)) - 1.0, -1.0)
        blocks.append((Xg, wg, QV, coef))
        v = Xg.T @ (wg * (eg + QV @ (coef * (QV.T @ eg))))
        meat += np.outer(v, v)
    V_cr2 = M @ meat @ M
    return CR2Result(vcov=V_cr2, clusters=G, _M=M, _S2=S2, _blocks=tuple(blocks))


def fe_design(X: np.ndarray, fe_codes: np.ndarray, cluster: np.ndarray, names: Sequence[str] = ()) -> np.ndarray:
    """The design for :func:`cr2` of a model with absorbed fixed effects.

    ``fe_codes`` (N x F integer codes, e.g. :func:`evaltools.estimate.fixed_effects.factor_codes`).
    Factors nested in ``cluster`` are partialled out of ``[X, dummies of the other
    factors]`` (one level of each crossed factor dropped); without nested factors
    an intercept is added instead (last column). The first columns are always ``X``'s. Refuses designs over ``MAX_COLUMNS``/``MAX_CELLS``.
    """
    from evaltools.estimate.fixed_effects import demean, nested_in

    X = np.asarray(X, float).reshape(len(X), -1)
    fe_codes = np.asarray(fe_codes).reshape(len(X), -1)
    fe_codes = np.column_stack([pd.factorize(fe_codes[:, j])[0] for j in range(fe_codes.shape[1])]
                               ).astype(np.uint64) if fe_codes.shape[1] else fe_codes
    cl = pd.factorize(np.asarray(cluster))[0]
    nested = nested_in(fe_codes, cl) if fe_codes.shape[1] else np.zeros(0, bool)
    crossed = [j for j in range(fe_codes.shape[1]) if not nested[j]]
    extra = sum(int(fe_codes[:, j].max()) for j in crossed)
    p = X.shape[1] + extra + (0 if nested.any() else 1)
    if p > MAX_COLUMNS or p * len(X) > MAX_CELLS:
        what = ", ".join(names[j] for j in crossed) if names else f"{len(crossed)} factor(s)"
        raise ValueError(
            f"CR2 needs the dummies of the fixed effects that cross the clusters ({what}) as columns: "
            f"{p:,} columns x {len(X):,} rows is over the limit ({MAX_COLUMNS:,} columns, {MAX_CELLS:,} cells). "
            "Cluster at a level that nests those fixed effects, or use vcov='CR1' with the wild cluster bootstrap.")
    cols = [X]
    for j in crossed:
        f = fe_codes[:, j].astype(np.int64)
        D = np.zeros((len(X), int(f.max()) + 1))
        D[np.arange(len(X)), f] = 1.0
        cols.append(D[:, 1:])
    Z = np.hstack(cols)
    if nested.any():
        return demean(Z, np.ascontiguousarray(fe_codes[:, nested]))
    return np.hstack([Z, np.ones((len(X), 1))])


@dataclass(frozen=True)
class CR2Model:
    """A least-squares fit with its CR2 result; contrasts are over the columns of ``X``.

    ``b``: the coefficients of ``X``; ``vcov``: their CR2 covariance.
    """

    coef: np.ndarray
    result: CR2Result
    p: int

    @property
    def b(self) -> np.ndarray:
        return self.coef[: self.p]

    @property
    def vcov(self) -> np.ndarray:
        return self.result.vcov[: self.p, : self.p]

    def test(self, contrast: np.ndarray, *, level: float = 0.95) -> dict[str, float]:
        """:meth:`CR2Result.test` of ``contrast @ b``."""
        c = np.zeros(len(self.coef))
        c[: self.p] = np.asarray(contrast, float)
        return self.result.test(self.coef, c, level=level)


def cr2_model(X: np.ndarray, y: np.ndarray, cluster: np.ndarray | Sequence[Any], *,
              fe_codes: np.ndarray | None = None, weights: np.ndarray | None = None) -> CR2Model:
    """Fit ``y = X b (+ fixed effects)`` by (weighted) least squares, with the CR2 result.

    ``fe_codes``: integer codes of absorbed fixed-effect factors (N x F); the design
    is built by :func:`fe_design`. Without ``fe_codes`` give ``X`` its intercept.
    """
    from evaltools.estimate.fixed_effects import demean, nested_in

    X = np.asarray(X, float).reshape(len(y), -1)
    y = np.asarray(y, float)
    if fe_codes is not None and np.asarray(fe_codes).size:
        if weights is not None:
            raise ValueError("CR2 with both regression weights and absorbed fixed effects is not supported: "
                             "use vcov='CR1' (or give the fixed effects as dummy columns).")
        raw = np.asarray(fe_codes).reshape(len(y), -1)
        codes = np.column_stack([pd.factorize(raw[:, j])[0] for j in range(raw.shape[1])]).astype(np.uint64)
        Z = fe_design(X, codes, cluster)
        nested = nested_in(codes, pd.factorize(np.asarray(cluster))[0])
        yt = demean(y, np.ascontiguousarray(codes[:, nested])) if nested.any() else y
    else:
        Z, yt = X, y
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(Z * sw[:, None], yt * sw, rcond=None)[0]
    return CR2Model(coef, cr2(Z, yt - Z @ coef, cluster, weights=weights), X.shape[1])


def cr2_fit(X: np.ndarray, y: np.ndarray, cluster: np.ndarray | Sequence[Any], *,
            fe_codes: np.ndarray | None = None, weights: np.ndarray | None = None,
            level: float = 0.95, contrasts: np.ndarray | None = None) -> list[dict[str, float]]:
    """:func:`cr2_model`, then the CR2/Satterthwaite test of each column of ``X`` (or of each
    row of ``contrasts``): a list of :meth:`CR2Result.test` dicts."""
    m = cr2_model(X, y, cluster, fe_codes=fe_codes, weights=weights)
    C = np.eye(m.p) if contrasts is None else np.asarray(contrasts, float).reshape(-1, m.p)
    return [m.test(c, level=level) for c in C]


def few_clusters(G: int, alternative: dict[str, Any] | None = None, *, vcov: str = "CR1",
                 advice: str | None = None) -> dict[str, Any] | None:
    """``diagnostics["few_clusters"]`` for ``G`` clusters, or ``None`` when ``G >= FEW_CLUSTERS``.

    ``alternative``: a small-sample-valid interval (e.g. ``CR2Result.test`` plus
    ``"method"``), or ``None`` when none is computed; ``advice`` then replaces the
    default pointer to the wild cluster bootstrap.
    """
    if G >= FEW_CLUSTERS:
        return None
    if vcov == "CR2":
        note = (f"Only {G} clusters (fewer than {FEW_CLUSTERS}): the interval uses CR2 with Satterthwaite "
                "df, which keeps close to nominal coverage with few clusters (Pustejovsky & Tipton 2018); CR1 with "
                "t(G-1) would be too narrow.")
    elif alternative:
        note = (f"Only {G} clusters (fewer than {FEW_CLUSTERS}): CR1 with t(G-1) can give too narrow an "
                "interval; prefer the CR2 interval reported with it.")
    elif advice:
        note = f"Only {G} clusters (fewer than {FEW_CLUSTERS}): cluster-robust intervals can be too narrow; {advice}"
    else:
        note = (f"Only {G} clusters (fewer than {FEW_CLUSTERS}): CR1 with t(G-1) can give too narrow an "
                "interval; use the wild cluster bootstrap (wild_cluster_bootstrap) for a reliable one.")
    return {"clusters": int(G), "note": note, "alternative": alternative}
