"""Standard errors from influence functions, the multiplier bootstrap and Wald tests.

For an estimator with influence function psi_i (one entry per row, i = 1..n):

* analytic SE: se = sqrt(sum_i psi_i^2) / n, or with clusters c,
  se = sqrt(sum_c (sum_{i in c} psi_i)^2) / n (Liang-Zeger, no small-sample factor);
* multiplier bootstrap (Callaway & Sant'Anna 2021, sec. 4.1): draws
  delta*_b = sum_c V_bc S_c / n with Rademacher V_bc, se = IQR(delta*) / (z_.75 - z_.25),
  and a simultaneous band from the 1 - alpha quantile of max_j |delta*_bj| / se_j;
* joint tests of H0: theta = 0 (the pre-trend tests of ``att_gt`` and ``event_study``):
  :func:`joint_test`, by default a restricted wild cluster bootstrap of the sup-t statistic
  max_j |theta_j| / se_j; the chi2 Wald test of R ``did`` and Hotelling's F are kept beside it.

The clustered analytic SE is the one R ``did`` 2.5 reports with ``clustervars`` and
``bstrap = FALSE`` (its tests/testthat/test-cluster-analytic.R checks exactly
sqrt(colSums(rowsum(inffunc, cluster)^2)) / n). Without clusters the bootstrap is R's
``mboot``; older R versions averaged psi within clusters instead of summing, which
agrees with the sums for equal cluster sizes.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from evaltools.core.threads import one_blas_thread

Array = np.ndarray
_IQR_NORMAL = float(stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
_TINY = np.sqrt(np.finfo(float).eps) * 10


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


#: Tests of H0: theta = 0 from clustered influence functions (see :func:`wald_test`).
WALD_METHODS = ("sup-t", "wild", "F", "chi2")
#: The default: the only one of the four that held its size in the pre-trend Monte Carlo
#: (tests/estimate/diff_in_diff/test_pretrend_size.py; docs/honest_did.md).
DEFAULT_WALD_METHOD = "sup-t"
#: Draws of the wild cluster bootstrap by default (None: :func:`default_draws`).
DEFAULT_WALD_DRAWS = None
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
_ALIASES = {"f": "F", "chi2": "chi2", "wild": "wild", "wald": "wild", "sup-t": "sup-t", "supt": "sup-t",
            "sup_t": "sup-t", "max-t": "sup-t"}


@dataclass(frozen=True)
class WaldTest:
    """A joint test of H0: all listed parameters are zero, from clustered influence functions.

    ``statistic`` is the Wald statistic W = theta' V^+ theta and ``df`` = q = rank V;
    ``max_t`` = max_j |theta_j| / se_j. ``pvalue`` is the p-value of ``test``:

    * ``"sup-t"``: wild cluster bootstrap of ``max_t`` (``n_boot`` draws, ``weight_type``);
    * ``"wild"``: wild cluster bootstrap of W;
    * ``"F"``: F = W/q (G - q)/(G - 1) on F(q, G - q) (``f_statistic``, ``df_den`` = G - q);
    * ``"chi2"``: W on chi2(q), the large-sample test R ``did`` reports.

    Every computed p-value is kept beside it (``pvalue_sup_t``, ``pvalue_wild``, ``pvalue_f``,
    ``pvalue_chi2``; the bootstrap ones are NaN when ``test`` is F or chi2). See :func:`wald_test`.
    """

    name: str
    statistic: float
    df: int
    pvalue: float
    parameters: tuple[str, ...] = ()
    test: str = "chi2"
    pvalue_chi2: float = float("nan")
    f_statistic: float = float("nan")
    df_den: float = float("nan")
    pvalue_f: float = float("nan")
    max_t: float = float("nan")
    pvalue_sup_t: float = float("nan")
    pvalue_wild: float = float("nan")
    n_clusters: int | None = None
    n_boot: int = 0
    weight_type: str | None = None
    seed: int | None = None

    @property
    def method(self) -> str:
        """What the p-value is, in words (the first line of the repr)."""
        boot = f"{self.weight_type} weights, {self.n_boot:,} draws, {self.n_clusters} clusters, seed {self.seed}"
        if self.test == "sup-t":
            return f"wild cluster bootstrap sup-t test of {self.df} restrictions ({boot})"
        if self.test == "wild":
            return f"wild cluster bootstrap Wald test ({boot})"
        if self.test == "F":
            return f"Wald F test, F({self.df}, {self.df_den:.0f}) ({self.n_clusters} clusters)"
        return f"Wald test, chi2({self.df}) (large-sample)"

    def __repr__(self) -> str:
        if self.test == "sup-t":
            main = f"max|t| = {self.max_t:.4g}, p = {self.pvalue:.4g} (W = {self.statistic:.4g}, q = {self.df})"
        elif self.test == "F":
            main = f"F = {self.f_statistic:.4g} (W = {self.statistic:.4g}), p = {self.pvalue:.4g}"
        else:
            main = f"W = {self.statistic:.4g}, df = {self.df}, p = {self.pvalue:.4g}"
        others = []
        if self.test != "sup-t" and np.isfinite(self.pvalue_sup_t):
            others.append(f"bootstrap sup-t p = {self.pvalue_sup_t:.4g}")
        if self.test != "wild" and np.isfinite(self.pvalue_wild):
            others.append(f"bootstrap Wald p = {self.pvalue_wild:.4g}")
        if self.test != "F" and np.isfinite(self.pvalue_f):
            others.append(f"F({self.df}, {self.df_den:.0f}) p = {self.pvalue_f:.4g}")
        if self.test != "chi2" and np.isfinite(self.pvalue_chi2):
            others.append(f"chi2({self.df}) p = {self.pvalue_chi2:.4g}")
        return (f"{self.name}: {self.method}\n  {main}"
                + (f"\n  other tests: {'; '.join(others)}" if others else "")
                + (f"\n  parameters: {', '.join(self.parameters)}" if self.parameters else ""))

    def to_dict(self) -> dict:
        return {"type": "wald_test", "name": self.name, "test": self.test, "method": self.method,
                "statistic": self.statistic, "df": self.df, "pvalue": self.pvalue,
                "pvalue_chi2": self.pvalue_chi2, "f_statistic": self.f_statistic, "df_den": self.df_den,
                "pvalue_f": self.pvalue_f, "max_t": self.max_t, "pvalue_sup_t": self.pvalue_sup_t,
                "pvalue_wild": self.pvalue_wild, "n_clusters": self.n_clusters, "n_boot": self.n_boot,
                "weight_type": self.weight_type, "seed": self.seed, "parameters": list(self.parameters)}


def default_draws(G: int, q: int, k: int) -> int:
    """9,999 draws, or 1,999 when a draw costs more than G q k = 50,000 multiplications
    (thousands of clusters, e.g. units as clusters): the p-value's Monte Carlo error at 0.05
    is then +-0.01 instead of +-0.004 (95 %)."""
    return 9999 if G * q * max(k, q) <= 50_000 else 1999


def hotelling_f(W: float, q: int, G: int) -> tuple[float, float, float]:
    """(F, df_den, p) of a cluster-robust Wald statistic W of q restrictions from G clusters:
    F = W/q (G - q)/(G - 1) on F(q, G - q), Hotelling's T^2 scaling (exact for normal
    cluster sums of equal covariance: W is then T^2 of G cluster means); NaN when q >= G."""
    if q <= 0 or G - q < 1 or not np.isfinite(W):
        return float("nan"), float("nan"), float("nan")
    F = W / q * (G - q) / (G - 1)
    return float(F), float(G - q), float(stats.f.sf(F, q, G - q))


def bootstrap_weights(weights: str, G: int, reps: int, rng: np.random.Generator) -> Array:
    """reps x G wild-bootstrap weights: Webb's six-point (+-sqrt(1/2), +-1, +-sqrt(3/2), each
    1/6) or Rademacher (+-1)."""
    support = _WEBB if weights == "webb" else np.array([-1.0, 1.0])
    return support[rng.integers(0, support.shape[0], size=(reps, G))]


def _quadratic_forms(theta: Array, V: Array) -> Array:
    """theta_b' V_b^+ theta_b for each draw b (theta: reps x r, V: reps x r x r), by batched
    solves; a draw whose covariance is singular falls back to the pseudo-inverse."""
    try:
        out = np.einsum("bi,bi->b", theta, np.linalg.solve(V, theta[:, :, None])[:, :, 0])
        bad = ~np.isfinite(out) | (out < 0)
    except np.linalg.LinAlgError:
        out, bad = np.empty(theta.shape[0]), np.ones(theta.shape[0], dtype=bool)
    for b in np.flatnonzero(bad):
        out[b] = float(theta[b] @ np.linalg.pinv(V[b], rcond=1e-10, hermitian=True) @ theta[b])
    return out


@dataclass(frozen=True)
class ScoreBootstrap:
    """What the restricted wild cluster bootstrap needs: the estimator delta (k parameters, the
    tested theta = R delta) written through clusters c = 1..G as

        delta - delta_0 = A^{-1} sum_c Z_c,    psi_c = P (Z_c - H_c (delta - delta_0)),

    with ``Z`` (G x k) each cluster's score sum with H0 imposed (delta_0 the restricted
    estimate), ``H`` (G x k, a diagonal per cluster, or G x k x k) each cluster's Jacobian,
    ``A_inv`` (k, diagonal, or k x k) the inverse of A = sum_c H_c and ``P`` = R A^{-1} (q x k);
    psi_c is cluster c's contribution to theta's covariance, V = scale sum_c psi_c psi_c'.
    """

    Z: Array
    H: Array
    A_inv: Array
    P: Array


def _draw(boot: ScoreBootstrap, v: Array, ZP: Array, PH: Array | None) -> tuple[Array, Array]:
    """theta*_b (b x q) and psi*_bc (b x G x q) for the weights v (b x G); PH is P H_c as a
    (G q) x k matrix (None for diagonal H)."""
    b, G = v.shape
    q = ZP.shape[1]
    vZ = v @ boot.Z                                 # b x k
    delta = vZ * boot.A_inv if boot.A_inv.ndim == 1 else vZ @ boot.A_inv.T
    theta = vZ @ boot.P.T
    if PH is None:                                  # diagonal Jacobians: H_c delta = H_c * delta
        psi = (boot.H[None] * delta[:, None, :]) @ boot.P.T
    else:
        psi = (delta @ PH.T).reshape(b, G, q)
    np.subtract(v[:, :, None] * ZP[None], psi, out=psi)
    return theta, psi


def _statistics(theta: Array, psi: Array, U: Array) -> tuple[Array, Array]:
    """W and max|t| of each draw (theta: b x q, psi: b x G x q), W in the directions U."""
    pU = psi @ U if U.shape[1] < U.shape[0] else psi
    tU = theta @ U if U.shape[1] < U.shape[0] else theta
    W = _quadratic_forms(tU, np.matmul(pU.transpose(0, 2, 1), pU))
    se = np.sqrt(np.einsum("bgi,bgi->bi", psi, psi))
    floor = se.max(axis=1, keepdims=True) * 1e-8
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(se > floor, np.abs(theta) / se, 0.0)
    return W, np.max(t, axis=1)


def wild_test_draws(boot: ScoreBootstrap, U: Array, reps: int, weights: str,
                    rng: np.random.Generator) -> tuple[tuple[float, float], Array, Array]:
    """The sample's (W, max|t|) as the bootstrap studentises them (the draw v = 1) and the
    draws' W* and max|t*| (reps each) of the restricted wild cluster bootstrap.

    Draw b: delta*_b = A^{-1} sum_c v_bc Z_c, theta*_b = P sum_c v_bc Z_c, the cluster
    contributions recomputed from the re-estimated delta*, psi*_bc = P (v_bc Z_c - H_c delta*_b),
    V*_b = sum_c psi*_bc psi*_bc'; W*_b = theta*_b' V*_b^+ theta*_b in the directions U (q x r)
    that the sample's V identifies, max|t*_b| = max_j |theta*_bj| / sqrt(V*_b,jj)."""
    Z, H, P = boot.Z, boot.H, boot.P
    G, k = Z.shape
    ZP = Z @ P.T                                    # G x q
    PH = None if H.ndim == 2 else np.einsum("qk,gkl->gql", P, H).reshape(G * P.shape[0], k)
    chunk = int(max(1, min(500, 4_000_000 // max(1, G * max(k, P.shape[0])))))
    W_out, t_out = np.empty(reps), np.empty(reps)
    with one_blas_thread():
        W1, t1 = _statistics(*_draw(boot, np.ones((1, G)), ZP, PH), U)
        for start in range(0, reps, chunk):
            b = min(chunk, reps - start)
            v = bootstrap_weights(weights, G, b, rng)
            W_out[start:start + b], t_out[start:start + b] = _statistics(*_draw(boot, v, ZP, PH), U)
    return (float(W1[0]), float(t1[0])), W_out, t_out


def joint_test(name: str, est: Array, V: Array, labels: Sequence[str], n_clusters: int, *,
               method: str = DEFAULT_WALD_METHOD, bootstrap: ScoreBootstrap | None = None,
               n_boot: int | None = DEFAULT_WALD_DRAWS, weight_type: str = "webb", seed: int | None = 0) -> WaldTest:
    r"""Joint test of H0: theta = 0 (q parameters ``est``, covariance ``V`` from G = ``n_clusters``
    clusters): the one implementation behind ``att_gt(...).pretrend_test()`` and the pre-trend
    test of ``event_study``.

    W = est' V^+ est with q = rank V; se_j = sqrt(V_jj) and max_t = max_j |est_j| / se_j.
    ``method``:

    * ``"chi2"``: W on chi2(q), the large-sample test (R ``did``'s pre-test). V averages only G
      outer products, so with q not small relative to G, W is far larger than chi2(q) suggests.
    * ``"F"``: F = W/q (G - q)/(G - 1) on F(q, G - q) (:func:`hotelling_f`), exact for normal
      cluster sums of equal covariance; not for unequal cluster sizes or skewed outcomes.
    * ``"wild"``: a restricted wild cluster bootstrap (WCR) of W.
    * ``"sup-t"`` (default): the same bootstrap of max_t, each draw studentised by its own SEs:
      the test that the whole simultaneous (sup-t) band covers zero. It needs no inverse of the
      noisy q x q matrix V.

    Measured size at 5 % with q = 14, G = 43 (the dropout roll-out's design, two runs of 1,000
    replications, tests/estimate/diff_in_diff/test_pretrend_size.py): chi2 80-83 %, F 43-46 %,
    bootstrap Wald 7-8 %, bootstrap sup-t 4.7-5.5 %, the only one inside the Monte Carlo band
    (3.6-6.4 %). docs/honest_did.md has the table and the power.

    The bootstrap (``bootstrap``, see :class:`ScoreBootstrap` and :func:`wild_test_draws`): the
    estimator is re-estimated in each draw from cluster scores with H0 imposed, multiplied by
    one weight v_bc per cluster (Webb's six-point weights by default, the usual advice with few
    clusters, Rademacher on request); the draw's theta* and its own covariance V* (as V, up to a
    constant factor, which cancels) give W* and max_t*. With v = 1 the draw reproduces the
    sample. p = (1 + #{stat*_b >= stat}) / (1 + n_boot). Deterministic given ``seed``.

    References: Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2008), "Bootstrap-based
    improvements for inference with clustered errors", Rev. Econ. Stat. 90(3), 414-427;
    MacKinnon, J. G. and Webb, M. D. (2017), J. Appl. Econometrics 32(2), 233-254; Roodman, D.,
    MacKinnon, J. G., Nielsen, M. O. and Webb, M. D. (2019), "Fast and wild", Stata J. 19(1),
    4-60; Webb, M. D. (2023), "Reworking wild bootstrap-based inference for clustered errors",
    Can. J. Econ. 56(3), 986-1017; Canay, I. A., Santos, A. and Shaikh, A. M. (2021), Rev. Econ.
    Stat. 103(2), 346-363 (few clusters); Montiel Olea, J. L. and Plagborg-Moller, M. (2019),
    J. Appl. Econometrics 34(1), 1-17 (sup-t bands); Kline, P. and Santos, A. (2012), J.
    Econometric Methods 1(1), 23-41 (score bootstrap).
    """
    test = _ALIASES.get(str(method).lower())
    if test is None:
        raise ValueError(f"pre-trend/joint test: method must be one of {list(WALD_METHODS)}, got {method!r}.")
    if weight_type not in ("webb", "rademacher"):
        raise ValueError(f"pre-trend/joint test: weight_type must be 'webb' or 'rademacher', got {weight_type!r}.")
    G = int(n_clusters)
    est = np.asarray(est, dtype=float)
    if est.shape[0] == 0:
        return WaldTest(name, float("nan"), 0, float("nan"), (), test=test, n_clusters=G)
    V = (np.asarray(V, dtype=float) + np.asarray(V, dtype=float).T) / 2
    evals, evecs = np.linalg.eigh(V)
    keep = evals > evals.max() * 1e-10 if evals.max() > 0 else np.zeros(evals.shape, bool)
    rank = int(keep.sum())
    if rank == 0:
        return WaldTest(name, float("nan"), 0, float("nan"), tuple(labels), test=test, n_clusters=G)
    U = evecs[:, keep]                              # the directions V identifies
    th = U.T @ est
    W = float(th @ (th / evals[keep]))
    p_chi2 = float(stats.chi2.sf(W, rank))
    F, df_den, p_f = hotelling_f(W, rank, G)
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    ok = se > np.sqrt(evals.max()) * 1e-8
    max_t = float(np.max(np.abs(est[ok]) / se[ok])) if ok.any() else float("nan")
    p_wild = p_sup = float("nan")
    reps = 0
    if test in ("wild", "sup-t"):
        if bootstrap is None:
            raise ValueError(f"pre-trend/joint test: method={test!r} needs the cluster scores (bootstrap=).")
        reps = int(n_boot) if n_boot is not None else default_draws(G, rank, bootstrap.Z.shape[1])
        if reps < 99:
            raise ValueError(f"pre-trend/joint test: n_boot must be at least 99 draws (e.g. 9999), got {n_boot!r}.")
        # the sample's statistics studentised as the draws are (V up to a constant factor)
        (W1, t1), Wb, tb = wild_test_draws(bootstrap, U, reps, weight_type, np.random.default_rng(seed))
        tol = 1 - 1e-12                              # ties up to rounding count as exceedances
        p_wild = float((1 + np.count_nonzero(Wb >= W1 * tol)) / (1 + reps))
        p_sup = float((1 + np.count_nonzero(tb >= t1 * tol)) / (1 + reps))
    p = {"chi2": p_chi2, "F": p_f, "wild": p_wild, "sup-t": p_sup}[test]
    boot = test in ("wild", "sup-t")
    return WaldTest(name, W, rank, p, tuple(labels), test=test, pvalue_chi2=p_chi2, f_statistic=F,
                    df_den=df_den, pvalue_f=p_f, max_t=max_t, pvalue_sup_t=p_sup, pvalue_wild=p_wild,
                    n_clusters=G, n_boot=reps, weight_type=weight_type if boot else None, seed=seed if boot else None)


def wald_test(name: str, est: Array, M: Array, cluster: Array | None, n_clusters: int,
              labels: list[str], *, method: str = "chi2", groups: tuple[Array, Array] | None = None,
              n_boot: int | None = DEFAULT_WALD_DRAWS, weight_type: str = "webb", seed: int | None = 0) -> WaldTest:
    r"""Joint test of H0: est = 0 from influence functions M (n x q), clustered: :func:`joint_test`
    with V = S'S/n^2, S the cluster sums of M (as the SEs).

    The bootstrap (``method`` ``"sup-t"`` or ``"wild"``) reads each parameter j as the
    difference of a treated group's and a comparison group's weighted means, theta_j =
    sum_i psi_ij / n with psi_ij = D1_ij (y_ij - mu1_j) - D0_ij (y_ij - mu0_j), D1_ij =
    n w1_ij / W1_j and D0_ij = n w0_ij / W0_j: ``groups = (w1, w0)`` (n x q) hold each row's
    weight in the treated group of j (w1_ij = w_i 1{i treated in j}) and in its comparison
    group, W1_j and W0_j their totals. H0 is imposed by centring both groups at their pooled
    mean: with B1, B0 the cluster sums of D1, D0 and pi1_j = W1_j / (W1_j + W0_j), the
    restricted scores are T = S(M on D1 rows) + est (1 - pi1) B1 and C = S(M on D0 rows) +
    est pi1 B0 (C carries the comparison group's minus sign). In :class:`ScoreBootstrap` terms Z = [T, C], H = [B1, B0] (diagonal),
    A = n I and P = [I, I] / n: each draw re-estimates both groups' means, t*_b = v_b'T/n and
    c*_b = v_b'C/n, theta*_b = t*_b + c*_b, and recomputes the influence function's cluster
    sums v_bc (T_c + C_c) - B1_c t*_b - B0_c c*_b. Exact re-estimation for difference-in-means
    cells (``att_gt`` on a panel without covariates: checked against refitting in
    tests/estimate/diff_in_diff/test_pretrend_test.py), its linearisation with covariates or
    repeated cross-sections. Without ``groups`` the rows are one group, centred at zero (a
    sign-flip test of cluster sums).
    """
    n = M.shape[0]
    G = n_clusters if cluster is not None else n
    S = cluster_sums(M, cluster, n_clusters)
    V = S.T @ S / n**2
    boot = None
    if _ALIASES.get(str(method).lower()) in ("wild", "sup-t") and est.shape[0] > 0:
        boot = cell_bootstrap(est, M, cluster, n_clusters, groups)
    return joint_test(name, est, V, labels, G, method=method, bootstrap=boot, n_boot=n_boot,
                      weight_type=weight_type, seed=seed)


def cell_bootstrap(est: Array, M: Array, cluster: Array | None, n_clusters: int,
                   groups: tuple[Array, Array] | None = None) -> ScoreBootstrap:
    """The :class:`ScoreBootstrap` of difference-in-means parameters with influence functions
    M (n x q) and ``groups = (w1, w0)`` (see :func:`wald_test`; None: one group, centred at 0)."""
    n, q = M.shape
    S = cluster_sums(M, cluster, n_clusters)
    if groups is None:
        B1 = cluster_sums(np.ones(n), cluster, n_clusters)[:, None] * np.ones(q)
        T, C, B0 = S + est * B1, np.zeros_like(S), np.zeros_like(S)
    else:
        w1, w0 = groups
        in1 = w1 != 0
        T = cluster_sums(np.where(in1, M, 0.0), cluster, n_clusters)
        C = cluster_sums(np.where(in1, 0.0, M), cluster, n_clusters)
        W1, W0 = w1.sum(axis=0), w0.sum(axis=0)    # the groups' total weights
        B1 = cluster_sums(w1, cluster, n_clusters) * np.divide(n, W1, out=np.zeros_like(W1), where=W1 > 0)
        B0 = cluster_sums(w0, cluster, n_clusters) * np.divide(n, W0, out=np.zeros_like(W0), where=W0 > 0)
        pi1 = np.divide(W1, W1 + W0, out=np.ones_like(W1), where=(W1 + W0) > 0)
        T = T + est * (1 - pi1) * B1                # impose H0: both groups at their pooled mean
        C = C + est * pi1 * B0
    eye = np.eye(q)
    return ScoreBootstrap(Z=np.hstack([T, C]), H=np.hstack([B1, B0]), A_inv=np.full(2 * q, 1.0 / n),
                          P=np.hstack([eye, eye]) / n)
