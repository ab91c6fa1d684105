"""Standard errors from influence functions, the multiplier bootstrap and Wald tests.

For an estimator with influence function psi_i (one entry per row, i = 1..n):

* analytic SE: se = sqrt(sum_i psi_i^2) / n, or with clusters c,
  se = sqrt(sum_c (sum_{i in c} psi_i)^2) / n (Liang-Zeger, no small-sample factor);
* multiplier bootstrap (Callaway & Sant'Anna 2021, sec. 4.1): draws
  delta*_b = sum_c V_bc S_c / n with Rademacher V_bc, se = IQR(delta*) / (z_.75 - z_.25),
  and a simultaneous band from the 1 - alpha quantile of max_j |delta*_bj| / se_j.

The clustered analytic SE is the one R ``did`` 2.5 reports with ``clustervars`` and
``bstrap = FALSE`` (its tests/testthat/test-cluster-analytic.R checks exactly
sqrt(colSums(rowsum(inffunc, cluster)^2)) / n). Without clusters the bootstrap is R's
``mboot``; older R versions averaged psi within clusters instead of summing, which
agrees with the sums for equal cluster sizes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

Array = np.ndarray
_IQR_NORMAL = float(stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
_TINY = np.sqrt(np.finfo(float).eps) * 10


_BLAS_CONTROLLER = None


def one_blas_thread():
    """Context: one BLAS thread. The products here are skinny (n x few); with several
    threads on a busy machine OpenBLAS spends more time waiting than computing.

    threadpoolctl finds the BLAS libraries by scanning every loaded shared library
    (about 15 ms in a process with pandas, SciPy and pyarrow loaded); the scan is done
    once and its controller reused.
    """
    global _BLAS_CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    if _BLAS_CONTROLLER is None:
        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def cluster_sums(M: Array, cluster: Array | None, n_clusters: int) -> Array:
    """Row sums of M within clusters (M itself without clusters)."""
    if cluster is None:
        return M
    M2 = M if M.ndim == 2 else M[:, None]
    out = np.empty((n_clusters, M2.shape[1]))
    for j in range(M2.shape[1]):
        out[:, j] = np.bincount(cluster, weights=M2[:, j], minlength=n_clusters)
    return out if M.ndim == 2 else out[:, 0]


def analytic_se(M: Array, cluster: Array | None, n_clusters: int) -> Array:
    """Influence-function standard errors of the columns of M (n x m)."""
    n = M.shape[0]
    S = cluster_sums(M, cluster, n_clusters)
    return se_from_sum_of_squares(np.einsum("ij,ij->j", S, S) if S.ndim == 2 else S @ S, n)


def se_from_sum_of_squares(ss: Array, n: int) -> Array:
    """sqrt(ss) / n, NaN where that is zero up to rounding (a parameter fixed by design)."""
    se = np.sqrt(ss) / n
    return np.where(se > _TINY, se, np.nan)


def influence_vcov(M: Array, cluster: Array | None, n_clusters: int) -> Array:
    """Covariance of the columns of M (n x m) from their influence functions:
    V = S'S / n^2 with S the cluster sums of M (M itself without clusters), the matrix
    whose diagonal is :func:`analytic_se` squared (R ``did`` users' ``IF'IF / n^2``)."""
    n = M.shape[0]
    S = cluster_sums(M, cluster, n_clusters)
    return (S.T @ S) / n**2


_SIGNS = (np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float32) * 2 - 1)


def multiplier_draws(M: Array, cluster: Array | None, n_clusters: int, reps: int,
                     rng: np.random.Generator, chunk: int = 64) -> Array:
    """reps x m bootstrap draws of the estimation error of the columns of M.

    delta*_b = sum_c V_bc S_c / n with Rademacher V (one random bit per cluster and
    draw; bytes are expanded to +-1 through a 256 x 8 table).
    """
    n = M.shape[0]
    S64 = cluster_sums(M, cluster, n_clusters)
    # the products run in float32: the draws' Monte Carlo error (about 1/sqrt(2 reps)
    # relative on an SE) is far larger than the rounding
    S = np.ascontiguousarray(S64, dtype=np.float32)
    m_rows = S.shape[0]
    n_bytes = (m_rows + 7) // 8
    out = np.empty((reps, S.shape[1]))
    buf = np.empty((chunk, n_bytes, 8), dtype=np.float32)
    # one BLAS thread: skinny products with several threads stall on a shared machine
    with one_blas_thread():
        for start in range(0, reps, chunk):
            b = min(chunk, reps - start)
            bits = np.frombuffer(rng.bytes(b * n_bytes), dtype=np.uint8).reshape(b, n_bytes)
            np.take(_SIGNS, bits, axis=0, out=buf[:b])
            V = buf[:b].reshape(b, n_bytes * 8)[:, :m_rows]
            out[start:start + b] = V @ S
    out /= n
    return out


def bootstrap_se(draws: Array) -> Array:
    """Robust bootstrap SE: interquartile range over that of N(0, 1) (as R ``did``)."""
    q75 = np.quantile(draws, 0.75, axis=0, method="inverted_cdf")
    q25 = np.quantile(draws, 0.25, axis=0, method="inverted_cdf")
    se = (q75 - q25) / _IQR_NORMAL
    return np.where(se > _TINY, se, np.nan)


def sup_t_critical(draws: Array, se: Array, level: float) -> float:
    """Critical value of a simultaneous band: quantile of max_j |draw_j| / se_j."""
    ok = np.isfinite(se)
    if not ok.any():
        return float("nan")
    t = np.max(np.abs(draws[:, ok]) / se[ok], axis=1)
    return float(np.quantile(t, level, method="inverted_cdf"))


@dataclass(frozen=True)
class WaldTest:
    """A joint Wald test of H0: all listed parameters are zero."""

    name: str
    statistic: float
    df: int
    pvalue: float
    parameters: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (f"{self.name}: chi2({self.df}) = {self.statistic:.4g}, p = {self.pvalue:.4g}"
                + (f"\n  parameters: {', '.join(self.parameters)}" if self.parameters else ""))

    def to_dict(self) -> dict:
        return {"type": "wald_test", "name": self.name, "statistic": self.statistic, "df": self.df,
                "pvalue": self.pvalue, "parameters": list(self.parameters)}


def wald_test(name: str, est: Array, M: Array, cluster: Array | None, n_clusters: int,
              labels: list[str]) -> WaldTest:
    """W = est' V^+ est with V the influence-function covariance; chi2(rank V)."""
    n = M.shape[0]
    S = cluster_sums(M, cluster, n_clusters)
    V = S.T @ S / n**2
    if est.shape[0] == 0:
        return WaldTest(name, float("nan"), 0, float("nan"), ())
    evals = np.linalg.eigvalsh(V)
    rank = int(np.sum(evals > evals.max() * 1e-10)) if evals.max() > 0 else 0
    W = float(est @ np.linalg.pinv(V, rcond=1e-10, hermitian=True) @ est)
    p = float(stats.chi2.sf(W, rank)) if rank > 0 else float("nan")
    return WaldTest(name, W, rank, p, tuple(labels))
