"""Exact REML/ML for nested random intercepts: pupils in teachers in schools.

Model (three levels, random intercepts; pupil ``i`` of teacher ``j`` in school ``s``)::

    y_ijs = x_ijs' beta + u_s + v_js + e_ijs,
    u_s ~ N(0, tau_s^2),  v_js ~ N(0, tau_t^2),  e_ijs ~ N(0, sigma^2)

``V = sigma^2 V*`` with ``V* = I + g_s Z_s Z_s' + g_t Z_t Z_t'`` and the two variance ratios
``g_s = tau_s^2 / sigma^2``, ``g_t = tau_t^2 / sigma^2``. ``beta`` and ``sigma^2`` are profiled
out and the (RE)ML log-likelihood is maximised over ``(log g_s, log g_t)``.

Nested Woodbury identity. Within school ``s``, ``A_s = I + g_t blockdiag(J_{n_j})`` has inverse
``blockdiag(I - a_j J_{n_j})`` with ``a_j = g_t / (1 + n_j g_t)``; with
``c_j = n_j / (1 + n_j g_t)``, ``C_s = sum_{j in s} c_j`` and ``b_s = g_s / (1 + g_s C_s)``::

    V*_s^-1 = A_s^-1 - b_s (A_s^-1 1)(A_s^-1 1)'            (A_s^-1 1 = 1 / (1 + n_j g_t) on teacher j's rows)
    X'V*^-1 X = W_xx + sum_j c_j xbar_j xbar_j' - sum_s b_s m_s m_s',   m_s = sum_{j in s} c_j xbar_j
    (likewise X'V*^-1 y and y'V*^-1 y with ybar_j), W = pooled within-teacher cross-products
    log|V*|   = sum_j log(1 + n_j g_t) + sum_s log(1 + g_s C_s)

so one evaluation costs O(J p^2) for J teachers (O(#sizes p^2 + J p) here: the ``c_j xbar xbar'``
term is pooled by teacher size), never O(N^2). Profiled as in the two-level engine
(:mod:`.mixed_model`): ``q = y'V*^-1 y - beta_hat' X'V*^-1 y``,
REML ``l = -1/2 [(N-p) log q + log|V*| + log|X'V*^-1 X|]``, ML ``l = -1/2 [N log q + log|V*|]``,
plus MixedLM's constants, so log-likelihoods agree with statsmodels.

The gradient in ``(g_s, g_t)`` is analytic, from ``Z_t'V*^-1 r`` (teacher ``j``:
``c_j (rbar_j - b_s m_s(r))``), ``Z_s'V*^-1 r`` (school ``s``: ``m_s(r) / (1 + g_s C_s)``) and
the traces ``tr(V*^-1 Z_t Z_t') = sum_j c_j (1 - b_s c_j)``, ``tr(V*^-1 Z_s Z_s') = sum_s C_s / (1 + g_s C_s)``.

Standard errors of ``beta`` follow the two-level engine's (and statsmodels MixedLM's) convention:
the inverse of the negative Hessian of the scale-profiled log-likelihood in ``(beta, g_s, g_t)``
(``d2l/dbeta2 = -(f/q) X'V*^-1 X``, the cross block analytic, the ``(g_s, g_t)`` block by central
differences of the analytic gradient); at a boundary (a ratio estimated at 0) the GLS covariance
``sigma^2 (X'V*^-1 X)^-1``, as there. Variance components' SEs come from the expected information
``I_kl = 1/2 tr(V^-1 V_k V^-1 V_l)`` of ``(tau_s^2, tau_t^2, sigma^2)``, computed from the same sums.

Cluster-robust SEs (``cluster_cov``; upper units nested in clusters, e.g. schools in
municipalities, so that ``V`` is block-diagonal by cluster): the GLS sandwich of Liang and Zeger
(1986) with ``V*`` as working covariance, ``Cov = G/(G-1) M^-1 (sum_g s_g s_g') M^-1`` with
``M = X'V*^-1 X`` and the cluster scores
``s_g = X_g'V*_g^-1 r_g = sum_i x_i r_i + sum_j (c_j - n_j) xbar_j rbar_j - sum_s b_s m_s m_s(r)``
(sums over the cluster's pupils, teachers and schools), to be used with ``t(G-1)``.

Predicted effects (BLUPs): ``u_hat_s = g_s m_s(r) / (1 + g_s C_s)``,
``v_hat_js = g_t c_j (rbar_j - b_s m_s(r))``, with posterior variances
``sigma^2 g_s / (1 + g_s C_s)`` and ``sigma^2 g_t (1 - g_t c_j (1 - b_s c_j))`` (given ``beta_hat``).

References: Longford (1987), Biometrika 74, 817-827 (Fisher scoring for nested random effects);
Goldstein (2011), *Multilevel Statistical Models*, 4th ed., ch. 2-3; Pinheiro and Bates (2000),
*Mixed-Effects Models in S and S-PLUS*, sec. 2.2 (profiled likelihood of nested models);
Harville (1977), JASA 72, 320-340.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, sparse

__all__ = ["NestedStats", "NestedFit", "fit_nested", "nested_stats", "frame_codes", "cluster_cov"]


@dataclass
class NestedStats:
    """Sufficient statistics of ``y`` and ``X`` by teacher (the inner unit) and school."""

    n: np.ndarray  # (J,) pupils per teacher
    mx: np.ndarray  # (J, p) teacher means of X
    my: np.ndarray  # (J,) teacher means of y
    wxx: np.ndarray  # (p, p) within-teacher cross-products
    wxy: np.ndarray  # (p,)
    wyy: float
    school: np.ndarray  # (J,) school code of each teacher
    n_schools: int
    n_obs: int
    S: sparse.csr_matrix  # (n_schools, J) school-teacher incidence
    # c_j depends on the teacher only through n_j: teachers of equal size pool
    sizes: np.ndarray  # (K,) distinct teacher sizes
    bxx: np.ndarray  # (K, p, p) sum of xbar xbar' over teachers of each size
    bxy: np.ndarray  # (K, p) sum of xbar ybar
    byy: np.ndarray  # (K,) sum of ybar^2

    @property
    def p(self) -> int:
        return self.mx.shape[1]


def nested_stats(y: np.ndarray, X: np.ndarray | sparse.spmatrix, inner: np.ndarray, upper: np.ndarray) -> NestedStats:
    """Statistics for rows with inner-unit codes ``inner`` (0..J-1, each inside one upper unit) and
    upper-unit codes ``upper`` (0..S-1); ``X`` dense or sparse. The within-teacher cross-products are
    ``X'X - sum_j n_j xbar_j xbar_j'`` (no N x p temporaries)."""
    N = len(y)
    J = int(inner.max()) + 1
    T = sparse.csr_matrix((np.ones(N), (inner, np.arange(N))), shape=(J, N))
    n = np.bincount(inner, minlength=J).astype(float)
    p = X.shape[1]
    sx = T @ X
    sx = sx.toarray() if sparse.issparse(sx) else np.asarray(sx)
    mx = sx / n[:, None]
    my = np.bincount(inner, weights=y, minlength=J) / n
    xtx = X.T @ X
    xtx = xtx.toarray() if sparse.issparse(xtx) else np.asarray(xtx)
    xty = np.asarray(X.T @ y).ravel()
    wxx = xtx - (mx * n[:, None]).T @ mx
    wxy = xty - (mx * n[:, None]).T @ my
    wyy = float(y @ y - n @ my**2)
    school = np.zeros(J, dtype=np.int64)
    school[inner] = upper
    S_n = int(upper.max()) + 1
    S = sparse.csr_matrix((np.ones(J), (school, np.arange(J))), shape=(S_n, J))
    sizes, by_size = np.unique(n, return_inverse=True)
    K = len(sizes)
    bxx = np.empty((K, p, p))
    order = np.argsort(by_size, kind="stable")
    bounds = np.searchsorted(by_size[order], np.arange(K + 1))
    for k in range(K):
        rows = order[bounds[k]:bounds[k + 1]]
        bxx[k] = mx[rows].T @ mx[rows]
    bxy = np.stack([np.bincount(by_size, weights=mx[:, k] * my, minlength=K) for k in range(p)], axis=1)
    byy = np.bincount(by_size, weights=my**2, minlength=K)
    return NestedStats(n=n, mx=mx, my=my, wxx=(wxx + wxx.T) / 2, wxy=wxy, wyy=wyy, school=school,
                       n_schools=S_n, n_obs=N, S=S, sizes=sizes, bxx=bxx, bxy=bxy, byy=byy)


@dataclass
class _Parts:
    """Quantities at one ``(g_s, g_t)``."""

    c: np.ndarray  # (J,)
    C: np.ndarray  # (S,)
    b: np.ndarray  # (S,)
    M: np.ndarray  # X'V*^-1 X
    xy: np.ndarray  # X'V*^-1 y
    yy: float
    mX: np.ndarray  # (S, p) m_s
    my: np.ndarray  # (S,) m_s(y)
    logdet_v: float


def _parts(st: NestedStats, gs: float, gt: float) -> _Parts:
    c = st.n / (1.0 + st.n * gt)
    ck = st.sizes / (1.0 + st.sizes * gt)  # c by teacher size
    C = st.S @ c
    b = gs / (1.0 + gs * C)
    mX = st.S @ (st.mx * c[:, None])
    my = st.S @ (c * st.my)
    M = st.wxx + np.tensordot(ck, st.bxx, axes=1) - (mX * b[:, None]).T @ mX
    xy = st.wxy + ck @ st.bxy - mX.T @ (b * my)
    yy = st.wyy + float(ck @ st.byy) - float(b @ my**2)
    logdet_v = float(np.sum(np.log1p(st.n * gt)) + np.sum(np.log1p(gs * C)))
    return _Parts(c=c, C=C, b=b, M=(M + M.T) / 2, xy=xy, yy=yy, mX=mX, my=my, logdet_v=logdet_v)


def _constant(f: int) -> float:
    return -0.5 * f * math.log(2 * math.pi) + 0.5 * f * math.log(f) - 0.5 * f


def _profile(st: NestedStats, gs: float, gt: float, reml: bool) -> tuple[float, np.ndarray, float, _Parts]:
    """Profiled log-likelihood at ``(g_s, g_t)``; also beta_hat, q and the parts."""
    P = _parts(st, gs, gt)
    chol = np.linalg.cholesky(P.M)
    beta = np.linalg.solve(P.M, P.xy)
    q = max(P.yy - float(P.xy @ beta), 1e-300)
    f = st.n_obs - st.p if reml else st.n_obs
    llf = -0.5 * (f * math.log(q) + P.logdet_v)
    if reml:
        llf -= float(np.sum(np.log(np.diag(chol))))
    return llf + _constant(f), beta, q, P


def _resid_terms(st: NestedStats, P: _Parts, beta: np.ndarray, gs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Z_t'V*^-1 r`` (J,), ``Z_s'V*^-1 r`` (S,) and ``m_s(r)`` for ``r = y - X beta``."""
    rbar = st.my - st.mx @ beta
    mr = P.my - P.mX @ beta
    zt = P.c * (rbar - P.b[st.school] * mr[st.school])
    zs = mr / (1.0 + gs * P.C)
    return zt, zs, mr


def _grad_g(st: NestedStats, gs: float, gt: float, beta: np.ndarray | None, reml: bool) -> np.ndarray:
    """Gradient of the scale-profiled log-likelihood in ``(g_s, g_t)``: at ``beta`` (held fixed) or,
    with ``beta=None``, of the fully profiled one (beta_hat; the same by the envelope theorem)."""
    P = _parts(st, gs, gt)
    if beta is None:
        beta = np.linalg.solve(P.M, P.xy)
    f = st.n_obs - st.p if reml else st.n_obs
    q = max(P.yy - 2.0 * float(P.xy @ beta) + float(beta @ P.M @ beta), 1e-300)
    zt, zs, _ = _resid_terms(st, P, beta, gs)
    dq = np.array([-float(zs @ zs), -float(zt @ zt)])
    tr = np.array([float(np.sum(P.C / (1.0 + gs * P.C))), float(np.sum(P.c * (1.0 - P.b[st.school] * P.c)))])
    g = -0.5 * (f / q * dq + tr)
    if reml:
        # P_k = X'V*^-1 Z_k Z_k'V*^-1 X; rows of Z_t'V*^-1 X are T_j = c_j (xbar_j - b_s m_s), so
        # P_t = sum c_j^2 xbar xbar' - sum_s b_s (K_s m_s' + m_s K_s') + sum_s b_s^2 (sum_j c_j^2) m_s m_s'
        ck2 = (st.sizes / (1.0 + st.sizes * gt)) ** 2
        Ks = st.S @ (st.mx * (P.c**2)[:, None])
        KmT = (Ks * P.b[:, None]).T @ P.mX
        Pt = (np.tensordot(ck2, st.bxx, axes=1) - KmT - KmT.T
              + (P.mX * (P.b**2 * (st.S @ P.c**2))[:, None]).T @ P.mX)
        Ts = P.mX / (1.0 + gs * P.C)[:, None]  # rows: Z_s'V*^-1 X
        Ps = Ts.T @ Ts
        g += 0.5 * np.array([float(np.trace(np.linalg.solve(P.M, Ps))), float(np.trace(np.linalg.solve(P.M, Pt)))])
    return g


@dataclass
class NestedFit:
    """A nested random-intercept fit at the optimum."""

    gs: float  # tau_s^2 / sigma^2
    gt: float  # tau_t^2 / sigma^2
    beta: np.ndarray
    scale: float  # sigma^2
    llf: float
    M: np.ndarray  # X'V*^-1 X
    cov_fe: np.ndarray
    cov_vc: np.ndarray  # of (tau_s^2, tau_t^2, sigma^2), expected information
    converged: bool
    boundary: tuple[bool, bool]  # (school ratio at 0, teacher ratio at 0)
    teacher_effect: np.ndarray
    teacher_se: np.ndarray
    school_effect: np.ndarray
    school_se: np.ndarray
    diagnostics: dict[str, Any]


_LO, _HI = -20.0, 14.0


def _maximise(st: NestedStats, reml: bool) -> tuple[float, float, bool]:
    """``(g_s, g_t)`` at the maximum: L-BFGS-B in ``log g`` with the analytic gradient, Newton polish,
    and the boundaries (either ratio at 0, fitted in one dimension) compared by log-likelihood."""
    def neg(th: np.ndarray) -> tuple[float, np.ndarray]:
        gs, gt = math.exp(th[0]), math.exp(th[1])
        ll = _profile(st, gs, gt, reml)[0]
        g = _grad_g(st, gs, gt, None, reml)
        return -ll, -g * np.array([gs, gt])

    def value(th: tuple[float, float]) -> float:
        return -_profile(st, math.exp(th[0]), math.exp(th[1]), reml)[0]

    # start: a coarse grid over both log-ratios (likelihood only)
    grid = np.linspace(-8.0, 4.0, 7)
    best = min(((value((a, b)), a, b) for a in grid for b in grid))
    res = optimize.minimize(neg, np.array(best[1:]), jac=True, method="L-BFGS-B", bounds=[(_LO, _HI)] * 2,
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500})
    th = res.x.copy()
    # Newton polish in log g (the Hessian by central differences of the analytic gradient)
    for _ in range(30):
        f0, g0 = neg(th)
        if np.max(np.abs(g0)) < 1e-9 or np.any(th <= _LO + 1e-6):
            break
        H = np.empty((2, 2))
        for k in range(2):
            h = 1e-5
            e = np.zeros(2)
            e[k] = h
            H[:, k] = (neg(th + e)[1] - neg(th - e)[1]) / (2 * h)
        H = (H + H.T) / 2
        try:
            step = -np.linalg.solve(H, g0)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.linalg.eigvalsh(H) > 0):
            break
        t = 1.0
        while t > 1e-4 and neg(np.clip(th + t * step, _LO, _HI))[0] > f0 + 1e-12:
            t /= 2
        if t <= 1e-4:
            break
        th = np.clip(th + t * step, _LO, _HI)
    # a ratio driven to the lower bound of log g is a ratio of 0 (the boundary, exactly)
    gs, gt = (0.0 if th[0] <= _LO + 1 else math.exp(th[0])), (0.0 if th[1] <= _LO + 1 else math.exp(th[1]))
    ll = _profile(st, gs, gt, reml)[0]
    candidates = [(ll, gs, gt, bool(res.success))]
    # boundaries: one ratio at 0, the other on a grid in log g, refined by Brent where the grid comes
    # within 1e-3 of the interior optimum (otherwise that boundary cannot win)
    for fixed in (0, 1):
        def one(v: float, fixed: int = fixed) -> float:
            pair = (0.0, math.exp(v)) if fixed == 0 else (math.exp(v), 0.0)
            return -_profile(st, *pair, reml)[0]
        vals = np.linspace(-12.0, 8.0, 21)
        lls = [one(v) for v in vals]
        k = int(np.argmin(lls))
        if -lls[k] < ll - 1e-3 and k not in (0, len(vals) - 1):
            candidates.append((-lls[k], *((0.0, math.exp(vals[k])) if fixed == 0 else (math.exp(vals[k]), 0.0)), True))
            continue
        r1 = optimize.minimize_scalar(one, bounds=(vals[max(k - 1, 0)], vals[min(k + 1, len(vals) - 1)]),
                                      method="bounded", options={"xatol": 1e-12})
        pair = (0.0, math.exp(r1.x)) if fixed == 0 else (math.exp(r1.x), 0.0)
        candidates.append((-r1.fun, *pair, True))
    candidates.append((_profile(st, 0.0, 0.0, reml)[0], 0.0, 0.0, True))
    ll, gs, gt, ok = max(candidates, key=lambda c: c[0])
    # an interior optimum within rounding of a boundary one: keep the interior
    inside = all(g > 0.0 for g in candidates[0][1:3])
    if (gs == 0.0 or gt == 0.0) and candidates[0][0] >= ll - 1e-9 and inside:
        ll, gs, gt, ok = candidates[0]
    return gs, gt, ok


def _fixed_cov(st: NestedStats, gs: float, gt: float, beta: np.ndarray, q: float, P: _Parts, reml: bool) -> np.ndarray:
    """Inverse negative Hessian of the scale-profiled log-likelihood in ``(beta, g_s, g_t)``, beta block."""
    p = st.p
    f = st.n_obs - p if reml else st.n_obs
    zt, zs, _ = _resid_terms(st, P, beta, gs)
    Tt = P.c[:, None] * (st.mx - P.b[st.school][:, None] * P.mX[st.school])
    Ts = P.mX / (1.0 + gs * P.C)[:, None]
    H = np.empty((p + 2, p + 2))
    H[:p, :p] = -(f / q) * P.M
    # d/dg_k of (f/q)(X'V*^-1 y - X'V*^-1 X beta) = -(f/q) X'V*^-1 Z_k Z_k'V*^-1 r (at beta_hat)
    H[:p, p] = H[p, :p] = -(f / q) * (Ts.T @ zs)
    H[:p, p + 1] = H[p + 1, :p] = -(f / q) * (Tt.T @ zt)
    th = np.array([gs, gt])
    Hg = np.empty((2, 2))
    for k in range(2):
        h = 1e-6 * max(th[k], 1e-3)
        e = np.zeros(2)
        e[k] = h
        Hg[:, k] = (_grad_g(st, *(th + e), beta, reml) - _grad_g(st, *(th - e), beta, reml)) / (2 * h)
    H[p:, p:] = (Hg + Hg.T) / 2
    return np.linalg.inv(-H)[:p, :p]


def _vc_information(st: NestedStats, gs: float, gt: float, sigma2: float, P: _Parts) -> np.ndarray:
    """Expected information ``1/2 tr(V^-1 V_k V^-1 V_l)`` of ``(tau_s^2, tau_t^2, sigma^2)``.

    With ``V* ^-1`` per school ``= A^-1 - b w w'`` (``w = A^-1 1``): traces from ``Z_s'V*^-1 Z_s``
    (diagonal ``C_s / (1 + g_s C_s)``), ``Z_t'V*^-1 Z_s`` (``c_j / (1 + g_s C_s)``), ``Z_t'V*^-1 Z_t``
    (per school ``diag(c) - b c c'``), ``Z_k'V*^-2 Z_k`` and ``tr(V*^-2)``."""
    n, c, C, b, sch = st.n, P.c, P.C, P.b, st.school
    d = 1.0 + n * gt
    bj = b[sch]
    # ||Z_s'V*^-1 Z_s||_F^2, ||Z_t'V*^-1 Z_s||_F^2, ||Z_t'V*^-1 Z_t||_F^2
    ss = float(np.sum((C / (1.0 + gs * C)) ** 2))
    ts = float(np.sum((c / (1.0 + gs * C[sch])) ** 2))
    sum_c2 = st.S @ (c**2)
    tt = float(np.sum(c**2) - 2.0 * np.sum(b * (st.S @ c**3)) + np.sum(b**2 * sum_c2**2))
    # ||V*^-1 Z_k||_F^2 = tr(Z_k'V*^-2 Z_k)
    w2 = st.S @ (n / d**2)  # w'w by school
    wAw = st.S @ (n / d**3)  # w'A^-1 w
    # teacher j row of Z_t'V*^-1: 1_j'/d_j - b c_j w'
    vt = float(np.sum(n / d**2 - 2.0 * bj * c * n / d**2 + bj**2 * c**2 * w2[sch]))
    vs = float(np.sum(w2 / (1.0 + gs * C) ** 2))
    # tr(V*^-2)
    a_norm = float(np.sum((n - 1.0) + 1.0 / d**2))
    vv = a_norm - 2.0 * float(np.sum(b * wAw)) + float(np.sum(b**2 * w2**2))
    s4 = sigma2**2
    info = 0.5 / s4 * np.array([[ss, ts, vs], [ts, tt, vt], [vs, vt, vv]])
    return info


def fit_nested(st: NestedStats, reml: bool = True) -> NestedFit:
    """Maximise the profiled (RE)ML likelihood of the nested model (see the module docstring).
    BLAS runs on one thread: the products are small, and several threads on a busy machine wait
    more than they compute."""
    from evaltools.core.threads import one_blas_thread

    with one_blas_thread():
        return _fit_nested(st, reml)


def _fit_nested(st: NestedStats, reml: bool) -> NestedFit:
    gs, gt, ok = _maximise(st, reml)
    llf, beta, q, P = _profile(st, gs, gt, reml)
    p = st.p
    f = st.n_obs - p if reml else st.n_obs
    scale = q / f
    boundary = (gs == 0.0, gt == 0.0)
    cov_gls = scale * np.linalg.inv(P.M)
    if any(boundary):
        cov_fe = cov_gls
    else:
        try:
            cov_fe = _fixed_cov(st, gs, gt, beta, q, P, reml)
            if not np.all(np.diag(cov_fe) > 0):
                cov_fe = cov_gls
        except np.linalg.LinAlgError:
            cov_fe = cov_gls
    info = _vc_information(st, gs, gt, scale, P)
    keep = [k for k, at0 in enumerate(boundary) if not at0] + [2]
    cov_vc = np.full((3, 3), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cov_vc[np.ix_(keep, keep)] = np.linalg.inv(info[np.ix_(keep, keep)])
    zt, zs, mr = _resid_terms(st, P, beta, gs)
    v_eff = gt * zt
    u_eff = gs * zs
    v_se = np.sqrt(np.maximum(scale * gt * (1.0 - gt * P.c * (1.0 - P.b[st.school] * P.c)), 0.0))
    u_se = np.sqrt(np.maximum(scale * gs / (1.0 + gs * P.C), 0.0))
    return NestedFit(gs=gs, gt=gt, beta=beta, scale=scale, llf=llf, M=P.M, cov_fe=cov_fe, cov_vc=cov_vc,
                     converged=ok, boundary=boundary, teacher_effect=v_eff, teacher_se=v_se, school_effect=u_eff,
                     school_se=u_se, diagnostics={"ratio_school": gs, "ratio_teacher": gt})


def cluster_cov(st: NestedStats, fit: "NestedFit", y: np.ndarray, X: np.ndarray, inner: np.ndarray,
                cluster_of_upper: np.ndarray, n_clusters: int) -> np.ndarray:
    """CR1 sandwich covariance of ``beta_hat`` by clusters of upper units (module docstring):
    rows have inner-unit codes ``inner``; ``cluster_of_upper[s]`` is the cluster of upper unit ``s``.
    O(N p) once."""
    P = _parts(st, fit.gs, fit.gt)
    beta = fit.beta
    cl_inner = cluster_of_upper[st.school]
    r = y - np.asarray(X @ beta).ravel()
    rows = cl_inner[inner]
    R = sparse.csr_matrix((r, (rows, np.arange(len(r)))), shape=(n_clusters, len(r)))  # residuals by cluster
    score = R @ X
    score = score.toarray() if sparse.issparse(score) else np.asarray(score)
    rbar = st.my - st.mx @ beta
    score += sparse.csr_matrix((np.ones(len(cl_inner)), (cl_inner, np.arange(len(cl_inner)))),
                               shape=(n_clusters, len(cl_inner))) @ (st.mx * ((P.c - st.n) * rbar)[:, None])
    mr = P.my - P.mX @ beta
    score -= sparse.csr_matrix((np.ones(st.n_schools), (cluster_of_upper, np.arange(st.n_schools))),
                               shape=(n_clusters, st.n_schools)) @ (P.mX * (P.b * mr)[:, None])
    Minv = np.linalg.inv(P.M)
    G = n_clusters
    return G / (G - 1) * Minv @ (score.T @ score) @ Minv


def frame_codes(inner_labels: pd.Series, upper_labels: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.DataFrame,
                                                                           pd.Index]:
    """Codes of the inner unit (an inner label within its upper unit: the same teacher in two schools
    is two units, as in MixedLM's variance-component formula) and of the upper unit; the labels of
    each inner unit (columns ``upper``, ``inner``) and of each upper unit, in code order (sorted)."""
    upper, ulab = pd.factorize(pd.Series(upper_labels).to_numpy(), sort=True)
    icode, ilab = pd.factorize(pd.Series(inner_labels).to_numpy(), sort=True)
    pair = upper.astype(np.int64) * max(len(ilab), 1) + icode
    keys, inner = np.unique(pair, return_inverse=True)
    lab = pd.DataFrame({"upper": np.asarray(ulab)[keys // max(len(ilab), 1)],
                        "inner": np.asarray(ilab)[keys % max(len(ilab), 1)]})
    return inner.astype(np.int64), upper.astype(np.int64), lab, pd.Index(ulab)
