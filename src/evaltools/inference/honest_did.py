"""Sensitivity of an event-study effect to violations of parallel trends.

Rambachan & Roth (2023), "A More Credible Approach to Parallel Trends", Review of
Economic Studies 90(5), 2555-2591 (the "HonestDiD" method).

The event-study coefficients are ``betahat = beta + noise``, ``beta = (delta_pre,
tau_post + delta_post)``, where ``delta`` is the bias from non-parallel trends (zero in
the omitted reference period) and ``noise ~ N(0, sigma)``. The target is
``theta = l' tau_post``. Given a set ``Delta`` of trend violations one is willing to
entertain, a robust confidence set covers ``theta`` for every ``delta`` in ``Delta``:

* ``Delta^SD(M)`` ("smoothness"): ``|(delta_t+1 - delta_t) - (delta_t - delta_t-1)| <= M``
  for every t (M = 0: the violation is an exact linear trend). Inference by the
  fixed-length CI (FLCI): the affine estimator ``v' betahat`` with ``v = (v_pre, l)``
  that minimises ``sd(v) * cv_alpha(bias(v) / sd(v))``, where ``bias(v) = M *
  ||P' v||_1`` is its worst-case bias over ``Delta^SD(M)`` and ``cv_alpha(b)`` the
  1 - alpha quantile of ``|N(b, 1)|`` (RR 2023, Section 4.1; Armstrong & Kolesar 2018).
* ``Delta^RM(Mbar)`` ("relative magnitudes"): every post-period first difference of
  ``delta`` is at most ``Mbar`` times the largest pre-period first difference.
  ``Delta^RM`` is a union of ``2 * num_pre`` polyhedra (which pre-period difference is
  the largest, and its sign); each is tested with the conditional-least-favourable
  hybrid moment-inequality test of Andrews, Roth & Pakes (2023, ARP), inverted on a grid
  of ``theta``; the confidence set is the union (RR 2023, Sections 4.2 and 5.3).

The ARP test here enumerates the vertices of the dual linear programme once per
polyhedron, so the test statistic, its conditioning interval ``[v_lo, v_up]`` and the
least-favourable critical value are computed for the whole grid and all simulation
draws with matrix products (no linear programme per grid point).
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from evaltools.core.errors import InputError
from evaltools.core.result import Estimate

Method = Literal["relative_magnitude", "smoothness"]

__all__ = ["HonestDiDResult", "honest_did", "honest_did_event_study", "flci", "original_ci",
           "m_upper_bound", "rm_identified_set"]


# ---------------------------------------------------------------------------- checks
def _check_inputs(betahat: Any, sigma: Any, num_pre: Any, num_post: Any, l_vec: Any,
                  alpha: Any) -> tuple[np.ndarray, np.ndarray, int, int, np.ndarray, float]:
    b = np.asarray(betahat, dtype=float).ravel()
    s = np.asarray(sigma, dtype=float)
    for name, v in (("num_pre", num_pre), ("num_post", num_post)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(f"Parameter '{name}' must be a whole number >= 1, got {v!r}.")
    num_pre, num_post = int(num_pre), int(num_post)
    if b.size != num_pre + num_post:
        raise InputError(
            f"'betahat' has {b.size} coefficients but num_pre + num_post = "
            f"{num_pre} + {num_post} = {num_pre + num_post}. Pass the pre-period coefficients "
            "(earliest first) then the post-period ones, without the omitted reference period."
        )
    if not np.all(np.isfinite(b)):
        raise InputError(f"'betahat' holds a missing or infinite value at position "
                         f"{int(np.flatnonzero(~np.isfinite(b))[0])}.")
    if s.shape != (b.size, b.size):
        raise InputError(f"'sigma' must be a {b.size} x {b.size} covariance matrix (one row and "
                         f"column per coefficient in 'betahat'), got shape {s.shape}.")
    if not np.all(np.isfinite(s)):
        raise InputError("'sigma' holds missing or infinite values.")
    if not np.allclose(s, s.T, rtol=1e-8, atol=1e-12 * max(1.0, np.abs(s).max())):
        raise InputError("'sigma' is not symmetric; pass the covariance matrix of 'betahat'.")
    s = (s + s.T) / 2
    if np.linalg.eigvalsh(s).min() < -1e-10 * max(1.0, np.abs(s).max()):
        raise InputError("'sigma' is not positive semi-definite; pass a valid covariance matrix.")
    if np.any(np.diag(s) <= 0):
        raise InputError(f"'sigma' has a zero variance on its diagonal at position "
                         f"{int(np.flatnonzero(np.diag(s) <= 0)[0])}; every coefficient needs a "
                         "positive variance.")
    if l_vec is None:
        lv = np.zeros(num_post)
        lv[0] = 1.0
    else:
        lv = np.asarray(l_vec, dtype=float).ravel()
        if lv.size != num_post:
            raise InputError(f"'l_vec' must have one weight per post period ({num_post}), got "
                             f"{lv.size}. E.g. l_vec=[1/{num_post}]*{num_post} for the average.")
        if not np.all(np.isfinite(lv)) or not np.any(lv != 0):
            raise InputError("'l_vec' must be finite and not all zero.")
    a = float(alpha) if isinstance(alpha, (int, float, np.floating)) else float("nan")
    if not (0 < a < 1):
        raise InputError(f"Parameter 'alpha' must lie in (0, 1), e.g. 0.05 for 95 % intervals, "
                         f"got {alpha!r}.")
    return b, s, num_pre, num_post, lv, a


def _grid(name: str, values: Any, default: np.ndarray) -> np.ndarray:
    if values is None:
        return default
    g = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    if g.size == 0 or not np.all(np.isfinite(g)) or np.any(g < 0):
        raise InputError(f"Parameter '{name}' must be a non-empty list of finite numbers >= 0, "
                         f"got {values!r}.")
    return g


# ------------------------------------------------------------------ original interval
def original_ci(betahat: Sequence[float], sigma: Any, num_pre: int, num_post: int,
                l_vec: Sequence[float] | None = None, alpha: float = 0.05) -> Estimate:
    """The usual CI for ``theta = l' beta_post`` assuming exact parallel trends."""
    b, s, num_pre, num_post, lv, alpha = _check_inputs(betahat, sigma, num_pre, num_post,
                                                       l_vec, alpha)
    est = float(lv @ b[num_pre:])
    se = math.sqrt(float(lv @ s[num_pre:, num_pre:] @ lv))
    return Estimate.from_normal(_estimand(lv), est, se, level=1 - alpha,
                                method="event study, parallel trends assumed",
                                options={"l_vec": lv.tolist()})


def _estimand(lv: np.ndarray) -> str:
    nz = np.flatnonzero(lv)
    if nz.size == 1 and lv[nz[0]] == 1:
        return f"effect in post period {nz[0] + 1}"
    if np.allclose(lv, 1 / lv.size):
        return f"average effect over {lv.size} post periods"
    return "l' tau_post, l = (" + ", ".join(f"{x:.3g}" for x in lv) + ")"


# ----------------------------------------------------------------------------- FLCI
def _folded_normal_quantile(p: float, b: float) -> float:
    """``c`` with P(|N(b, 1)| <= c) = Phi(c - b) - Phi(-c - b) = p (the square root of a
    noncentral chi-square(1, b^2) quantile), by Brent's method on the bracket
    ``[max(b + z_p, z_(1+p)/2), b + z_(1+p)/2]``."""
    b = abs(float(b))
    z2 = float(special.ndtri(0.5 + p / 2))
    if b < 1e-12:
        return z2
    def excess(c: float) -> float:
        return float(special.ndtr(c - b) - special.ndtr(-c - b)) - p

    lo, hi = max(b + float(special.ndtri(p)), z2), b + z2
    if excess(lo) >= 0:          # far from 0 the lower tail vanishes: c = b + z_p
        return lo
    if excess(hi) <= 0:
        return hi
    return optimize.brentq(excess, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps)


def _sd_bias_matrix(num_pre: int, num_post: int) -> np.ndarray:
    """``P`` (T+1 x T-1): delta (with delta_0 = 0 at the reference) = P @ second differences + c t.

    The worst-case bias of ``v' delta`` over Delta^SD(M), for v orthogonal to linear
    trends, is ``M * ||P' v||_1``.
    """
    n = num_pre + num_post + 1
    d2 = np.zeros((n - 2, n))
    for r in range(n - 2):
        d2[r, r:r + 3] = (1.0, -2.0, 1.0)
    k = np.vstack([d2, np.eye(n)[num_pre], np.eye(n)[num_pre + 1]])
    return np.linalg.inv(k)[:, : n - 2]


@dataclass(frozen=True)
class _Flci:
    center: float
    half_length: float
    weights: np.ndarray
    sd: float
    max_bias: float


def _flci_core(b: np.ndarray, s: np.ndarray, num_pre: int, num_post: int, lv: np.ndarray,
               m: float, alpha: float) -> _Flci:
    n_full = num_pre + num_post + 1
    t_full = np.arange(n_full) - num_pre
    p = _sd_bias_matrix(num_pre, num_post)
    keep = np.r_[np.arange(num_pre), np.arange(num_pre + 1, n_full)]  # drop reference
    p = p[keep]                       # rows: coefficients in betahat order
    q_pre, c_post = p[:num_pre].T, p[num_pre:].T @ lv      # P'v = q_pre v_pre + c_post
    t_pre, t_post = t_full[:num_pre], t_full[num_pre + 1:]
    # equality: v_pre . t_pre = -(l . t_post)  (no bias from a linear trend)
    rhs = -float(lv @ t_post)
    s_pp, s_pq = s[:num_pre, :num_pre], s[:num_pre, num_pre:]
    lin = s_pq @ lv
    const = float(lv @ s[num_pre:, num_pre:] @ lv)

    def var(vp: np.ndarray) -> float:
        return float(vp @ s_pp @ vp + 2 * vp @ lin + const)

    def bias1(vp: np.ndarray) -> float:          # worst-case bias per unit of M
        return float(np.abs(q_pre @ vp + c_post).sum())

    # minimum-variance estimator subject to the linear-trend constraint (closed form)
    kkt = np.block([[2 * s_pp, t_pre[:, None]], [t_pre[None, :], np.zeros((1, 1))]])
    v_minvar = np.linalg.lstsq(kkt, np.r_[-2 * lin, rhs], rcond=None)[0][:num_pre]
    if m == 0:
        sd = math.sqrt(max(var(v_minvar), 0.0))
        half = sd * float(stats.norm.ppf(1 - alpha / 2))
        w = np.r_[v_minvar, lv]
        return _Flci(float(w @ b), half, w, sd, 0.0)

    k = q_pre.shape[0]
    z = 1 - alpha
    a_ub = np.block([[q_pre, -np.eye(k)], [-q_pre, -np.eye(k)]])   # |q v + c| <= u
    b_ub = np.r_[-c_post, c_post]
    eq_cons = {"type": "eq", "fun": lambda x: np.array([x[:num_pre] @ t_pre - rhs]),
               "jac": lambda x: np.r_[t_pre, np.zeros(k)][None, :]}
    ub_cons = {"type": "ineq", "fun": lambda x: b_ub - a_ub @ x, "jac": lambda x: -a_ub}

    def finish(vp: np.ndarray) -> _Flci:
        sd = math.sqrt(var(vp))
        bias = m * bias1(vp)
        w = np.r_[vp, lv]
        return _Flci(float(w @ b), sd * _folded_normal_quantile(z, bias / sd), w, sd, bias)

    # 1) Direct: minimise sd(v) cv(M sum(u) / sd(v)) over (v_pre, u) with |q v + c| <= u.
    #    s cv(t / s) is the perspective of the convex cv, increasing in t and s, and sd(v)
    #    is a norm, so the problem is convex and smooth; dcv/db has a closed form.
    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        vp, u = x[:num_pre], x[num_pre:]
        sd = math.sqrt(max(var(vp), 1e-300))
        bb = m * u.sum() / sd
        c = _folded_normal_quantile(z, bb)
        f1, f2 = stats.norm.pdf(c - bb), stats.norm.pdf(-c - bb)
        dc = (f1 - f2) / (f1 + f2)
        return sd * c, np.r_[(s_pp @ vp + lin) / sd * (c - dc * bb), np.full(k, dc * m)]

    x0 = np.r_[v_minvar, np.abs(q_pre @ v_minvar + c_post)]
    direct = optimize.minimize(objective, x0, jac=True, constraints=[eq_cons, ub_cons],
                               method="SLSQP", options={"ftol": 1e-14, "maxiter": 1000})
    cand = finish(direct.x[:num_pre])
    if direct.success:
        return cand

    # 2) Fallback (as the R package): for a bias bound B, the least-variance estimator is
    #    a QP; minimise the half-length over B. Smallest achievable bias first (an LP).
    c_lp = np.r_[np.zeros(num_pre), np.ones(k)]
    a_eq = np.r_[t_pre, np.zeros(k)][None, :]
    lp = optimize.linprog(c_lp, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[rhs],
                          bounds=[(None, None)] * num_pre + [(0, None)] * k, method="highs")
    if lp.status != 0:
        raise RuntimeError(f"FLCI: the minimum-bias linear programme failed ({lp.message}).")
    b_min, b_max = lp.fun, bias1(v_minvar)

    def min_var_given_bias(bb: float, start: np.ndarray) -> np.ndarray:
        """argmin var(v_pre) s.t. ||q_pre v + c||_1 <= bb and the trend constraint (QP)."""
        if bb >= b_max:
            return v_minvar
        u0 = np.abs(q_pre @ start + c_post)
        x0 = np.r_[start, u0 * min(1.0, bb / max(u0.sum(), 1e-300))]
        cons = [eq_cons, ub_cons,
                {"type": "ineq", "fun": lambda x: np.array([bb - x[num_pre:].sum()]),
                 "jac": lambda x: np.r_[np.zeros(num_pre), -np.ones(k)][None, :]}]
        res = optimize.minimize(
            lambda x: var(x[:num_pre]), x0,
            jac=lambda x: np.r_[2 * s_pp @ x[:num_pre] + 2 * lin, np.zeros(k)],
            constraints=cons, method="SLSQP", options={"ftol": 1e-15, "maxiter": 500})
        return res.x[:num_pre]

    state = {"v": lp.x[:num_pre]}

    def half_length(bb: float) -> float:
        vp = min_var_given_bias(bb, state["v"])
        state["v"] = vp
        sd = math.sqrt(max(var(vp), 1e-300))
        return sd * _folded_normal_quantile(z, m * bias1(vp) / sd)

    if b_max - b_min <= 1e-12 * max(1.0, b_max):
        best = b_max
    else:
        res = optimize.minimize_scalar(half_length, bounds=(b_min, b_max), method="bounded",
                                       options={"xatol": 1e-10 * max(b_max, 1e-8)})
        best = float(res.x)
        # the ends are not evaluated by the bounded search; compare with them
        for edge in (b_min, b_max):
            if half_length(edge) < half_length(best):
                best = edge
    fallback = finish(min_var_given_bias(best, state["v"]))
    return fallback if fallback.half_length < cand.half_length else cand


def flci(betahat: Sequence[float], sigma: Any, num_pre: int, num_post: int, m: float = 0.0,
         l_vec: Sequence[float] | None = None, alpha: float = 0.05) -> tuple[float, float]:
    """The optimal fixed-length confidence interval for ``l' tau_post`` under Delta^SD(m)."""
    b, s, num_pre, num_post, lv, alpha = _check_inputs(betahat, sigma, num_pre, num_post,
                                                       l_vec, alpha)
    if not (math.isfinite(m) and m >= 0):
        raise InputError(f"Parameter 'm' must be a finite number >= 0, got {m!r}.")
    r = _flci_core(b, s, num_pre, num_post, lv, float(m), alpha)
    return r.center - r.half_length, r.center + r.half_length


def m_upper_bound(betahat: Sequence[float], sigma: Any, num_pre: int,
                  alpha: float = 0.05) -> float:
    """A data-driven upper bound for M: the largest one-sided (1 - alpha) upper confidence
    limit of the pre-period second differences (both signs), as in the R package's
    ``DeltaSD_upperBound_Mpre``; used for the default grid of M."""
    b = np.asarray(betahat, dtype=float).ravel()[:num_pre]
    s = np.asarray(sigma, dtype=float)[:num_pre, :num_pre]
    if num_pre < 2:
        raise InputError("An upper bound for M from the pre-periods needs num_pre >= 2; pass "
                         "m_grid yourself.")
    full = np.r_[b, 0.0]
    cov = np.zeros((num_pre + 1, num_pre + 1))
    cov[:num_pre, :num_pre] = s
    d2 = np.zeros((num_pre - 1, num_pre + 1))
    for r in range(num_pre - 1):
        d2[r, r:r + 3] = (1.0, -2.0, 1.0)
    a = np.vstack([d2, -d2])
    se = np.sqrt(np.diag(a @ cov @ a.T))
    return float(np.max(a @ full + stats.norm.ppf(1 - alpha) * se))


# ------------------------------------------------------------- ARP test, Delta^RM
def _rm_polyhedron(num_pre: int, num_post: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """A (rows x num_pre+num_post) with Delta^RM_{s,sign}(Mbar) = {delta : A delta <= 0}.

    ``s`` in {-(num_pre-1), ..., 0} names the pre-period first difference
    ``delta_s - delta_(s-1)`` that is the largest in absolute value (sign ``positive``).
    """
    n_diff = num_pre + num_post
    n_full = n_diff + 1
    diffs = np.zeros((n_diff, n_full))
    for r in range(n_diff):
        diffs[r, r:r + 2] = (-1.0, 1.0)
    vmax = np.zeros(n_full)
    vmax[num_pre + s - 1: num_pre + s + 1] = (-1.0, 1.0)
    if not positive:
        vmax = -vmax
    ub = np.vstack([np.tile(vmax, (num_pre, 1)), np.tile(mbar * vmax, (num_post, 1))])
    a = np.vstack([diffs - ub, -diffs - ub])
    a = a[(a * a).sum(axis=1) > 1e-10]
    return np.delete(a, num_pre, axis=1)


def _null_complement(lv: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning {tau : l' tau = 0} (the nuisance directions)."""
    return np.linalg.svd(lv[None, :])[2][1:].T


def _dual_vertices(sd: np.ndarray, x: np.ndarray, max_bases: int) -> np.ndarray:
    """Vertices of {g >= 0 : g' sd = 1, X' g = 0}, the dual of min eta s.t. y - X t <= eta sd.

    For every y the ARP statistic is ``eta(y) = max over vertices g of g' y``.
    """
    m = sd.size
    if x.shape[1]:
        uu, sv, _ = np.linalg.svd(x, full_matrices=False)
        x = uu[:, sv > 1e-10 * max(sv.max(), 1e-300)]
    w = np.column_stack([sd, x])                       # m x r
    r = w.shape[1]
    if np.linalg.matrix_rank(w) < r:                   # sd in span(X): eta = -inf
        return np.zeros((0, m))
    n_bases = math.comb(m, r)
    if n_bases > max_bases:
        raise InputError(
            f"The relative-magnitudes test would enumerate {n_bases:,} bases of its dual "
            f"programme (more than max_bases={max_bases:,}): too many post periods for this "
            "implementation, which enumerates the dual vertices once instead of solving a "
            "linear programme per grid point. Pass fewer post periods (e.g. up to the last "
            "period with weight in l_vec; this drops the restrictions on later periods), "
            "raise max_bases, or use method='smoothness'.")
    e1 = np.zeros(r)
    e1[0] = 1.0
    col_scale = np.linalg.norm(w, axis=0)
    wn = w / col_scale                                 # unit columns: a scale-free det test
    out = []
    combos = _combinations(m, r)
    for start in range(0, len(combos), 50_000):
        cb = combos[start:start + 50_000]
        mats = np.swapaxes(wn[cb], 1, 2)               # (n, r, r): W_S' (normalised)
        ok = np.abs(np.linalg.det(mats)) > 1e-14
        if not ok.any():
            continue
        # W_S' g = e1  <=>  Wn_S' g = e1 / col_scale[0]; scaled by col_scale[0], g is O(1)
        rhs = np.broadcast_to(e1, (int(ok.sum()), r))
        g_s = np.linalg.solve(mats[ok], rhs[..., None])[..., 0]
        resid = np.abs(np.einsum("nij,nj->ni", mats[ok], g_s) - rhs).max(axis=1)
        feas = np.all(g_s >= -1e-10 * np.abs(g_s).max(axis=1, keepdims=True), axis=1) & (
            resid < 1e-9)
        g_s = g_s / col_scale[0]
        g = np.zeros((int(feas.sum()), m))
        rows = np.repeat(np.arange(feas.sum()), r)
        g[rows, cb[ok][feas].ravel()] = np.clip(g_s[feas], 0, None).ravel()
        out.append(g)
    if not out:
        return np.zeros((0, m))
    g = np.vstack(out)
    _, first = np.unique(np.round(g * col_scale[0], 10), axis=0, return_index=True)
    return g[np.sort(first)]


@functools.lru_cache(maxsize=32)
def _combinations(m: int, r: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(m), r)), dtype=np.intp).reshape(-1, r)


@dataclass(frozen=True)
class _ArpSetup:
    vertices: np.ndarray     # nv x m
    y0: np.ndarray           # m
    a: np.ndarray            # m ; moments at theta are y0 - a theta
    sigma_y: np.ndarray      # m x m


def _arp_accept(setup: _ArpSetup, thetas: np.ndarray, alpha: float, kappa: float,
                lf_cv: float | None) -> np.ndarray:
    """Accept (True) / reject for each theta: ARP conditional test, LF hybrid if ``lf_cv``."""
    v = setup.vertices
    if v.shape[0] == 0:
        return np.ones(thetas.size, dtype=bool)
    vy = v @ setup.y0                                   # nv
    va = v @ setup.a
    vals = vy[:, None] - va[:, None] * thetas[None, :]  # nv x ngrid
    j = np.argmax(vals, axis=0)
    eta = vals[j, np.arange(thetas.size)]
    vsv = v @ setup.sigma_y @ v.T                       # nv x nv
    s2 = vsv[j, j]
    sig_b = np.sqrt(np.maximum(s2, 0))
    accept = np.ones(thetas.size, dtype=bool)
    tiny = sig_b < 1e-10
    accept[tiny] = eta[tiny] <= 0
    if lf_cv is not None:
        mod = (alpha - kappa) / (1 - kappa)
        first = eta > lf_cv
    else:
        mod = alpha
        first = np.zeros(thetas.size, dtype=bool)
    todo = ~tiny & ~first
    accept[first & ~tiny] = False
    if not todo.any():
        return accept
    jj, ee, ss = j[todo], eta[todo], s2[todo]
    gb = vsv[:, jj] / ss[None, :]                       # g' Sigma g* / sigma_B^2
    gs = vals[:, todo] - gb * ee[None, :]               # g' s(theta)
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = gs / (1 - gb)
    lo = np.where(gb < 1 - 1e-9, bound, -np.inf).max(axis=0)
    up = np.where(gb > 1 + 1e-9, bound, np.inf).min(axis=0)
    if lf_cv is not None:
        up = np.minimum(up, lf_cv)
    sb = np.sqrt(ss)
    zlo, zup, stat = lo / sb, up / sb, ee / sb
    inside = (zlo <= stat + 1e-12) & (stat <= zup + 1e-12)
    rej = np.zeros(stat.size, dtype=bool)
    if inside.any():
        a_, b_ = zlo[inside], np.maximum(zup[inside], zlo[inside])
        cv = np.asarray(stats.truncnorm.ppf(1 - mod, a_, b_), dtype=float)
        # numerically degenerate truncation (a == b): the quantile is the point itself
        cv = np.where(np.isfinite(cv), cv, a_)
        rej[inside] = stat[inside] > np.maximum(0.0, cv)
    accept[np.flatnonzero(todo)] = ~rej
    return accept


def _arp_setup(b: np.ndarray, s: np.ndarray, a_full: np.ndarray, num_pre: int,
               lv: np.ndarray, post_moments_only: bool, max_bases: int) -> _ArpSetup:
    num_post = lv.size
    if post_moments_only and num_post > 1:
        rows = np.flatnonzero(np.any(a_full[:, num_pre:] != 0, axis=1))
        a_full = a_full[rows]
    a_post = a_full[:, num_pre:]
    t1 = lv / (lv @ lv)                                 # l' t1 = 1
    x = a_post @ _null_complement(lv)
    y0 = a_full @ b
    sig_y = a_full @ s @ a_full.T
    sd = np.sqrt(np.diag(sig_y))
    return _ArpSetup(_dual_vertices(sd, x, max_bases), y0, a_post @ t1, sig_y)


def _lf_cv(setup: _ArpSetup, kappa: float, draws: np.ndarray) -> float:
    """1 - kappa quantile of the ARP statistic at the least-favourable null mean (zero)."""
    if setup.vertices.shape[0] == 0:
        return float("inf")
    root = _psd_sqrt(setup.sigma_y)                     # xi = root @ z ~ N(0, sigma_y)
    eta = ((setup.vertices @ root) @ draws[: root.shape[0]]).max(axis=0)
    return float(np.quantile(eta, 1 - kappa))


def _psd_sqrt(a: np.ndarray) -> np.ndarray:
    w, q = np.linalg.eigh((a + a.T) / 2)
    return q * np.sqrt(np.clip(w, 0, None))


def _rm_accept_region(b: np.ndarray, s: np.ndarray, num_pre: int, lv: np.ndarray, mbar: float,
                      thetas: np.ndarray, alpha: float, hybrid: bool, kappa: float,
                      draws: np.ndarray, post_moments_only: bool, max_bases: int) -> np.ndarray:
    num_post = lv.size
    accept = np.zeros(thetas.size, dtype=bool)
    for s_idx in range(-(num_pre - 1), 1):
        for positive in (True, False):
            a_full = _rm_polyhedron(num_pre, num_post, mbar, s_idx, positive)
            setup = _arp_setup(b, s, a_full, num_pre, lv, post_moments_only, max_bases)
            cv = _lf_cv(setup, kappa, draws) if hybrid else None
            accept |= _arp_accept(setup, thetas, alpha, kappa, cv)
    return accept


def rm_identified_set(beta: Sequence[float], num_pre: int, num_post: int, mbar: float,
                      l_vec: Sequence[float] | None = None) -> tuple[float, float]:
    """Bounds of the identified set for ``l' tau_post`` under Delta^RM(mbar) when the
    event-study coefficients are known exactly (union over the polyhedra, one LP each)."""
    beta = np.asarray(beta, dtype=float).ravel()
    lv = np.eye(num_post)[0] if l_vec is None else np.asarray(l_vec, dtype=float)
    lo, hi = np.inf, -np.inf
    c = np.r_[np.zeros(num_pre), lv]
    a_eq = np.hstack([np.eye(num_pre), np.zeros((num_pre, num_post))])
    for s_idx in range(-(num_pre - 1), 1):
        for positive in (True, False):
            a = _rm_polyhedron(num_pre, num_post, mbar, s_idx, positive)
            kw = dict(A_ub=a, b_ub=np.zeros(a.shape[0]), A_eq=a_eq, b_eq=beta[:num_pre],
                      bounds=[(None, None)] * (num_pre + num_post), method="highs")
            mx = optimize.linprog(-c, **kw)
            mn = optimize.linprog(c, **kw)
            if mx.status == 0 and mn.status == 0:
                lo = min(lo, lv @ beta[num_pre:] + mx.fun)
                hi = max(hi, lv @ beta[num_pre:] - mn.fun)
    return float(lo), float(hi)


# ------------------------------------------------------------------------ result
@dataclass(frozen=True)
class HonestDiDResult:
    """Robust confidence sets for ``theta = l' tau_post`` over a grid of M (or Mbar).

    ``table`` has one row per value: ``M`` (or ``Mbar``), ``lower``, ``upper``,
    ``method`` and ``delta`` (the restriction); ``original`` is the usual CI under exact
    parallel trends; ``breakdown`` is the largest M (Mbar) at which the robust CI still
    excludes 0 (NaN if even the tightest restriction's CI contains 0).
    """

    table: pd.DataFrame
    original: Estimate
    breakdown: float
    restriction: str
    parameter: str
    alpha: float
    l_vec: list[float]
    num_pre: int
    num_post: int
    options: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The original CI (first row, parameter NaN) and the robust CIs, one row each."""
        orig = pd.DataFrame([{self.parameter: np.nan, "lower": self.original.ci_low,
                              "upper": self.original.ci_high, "method": "Original",
                              "delta": "parallel trends"}])
        return pd.concat([orig, self.table], ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "honest_did", "restriction": self.restriction,
                "parameter": self.parameter, "alpha": self.alpha, "l_vec": self.l_vec,
                "num_pre": self.num_pre, "num_post": self.num_post,
                "breakdown": self.breakdown, "original": self.original.to_dict(),
                "table": self.table, "options": self.options}

    def __repr__(self) -> str:
        pct = f"{1 - self.alpha:.0%}"
        o = self.original
        lines = [f"HonestDiD sensitivity ({self.restriction}) for {o.estimand}"]
        if "source" in self.options:
            op = self.options
            lines.append(f"  from {op['source']}: pre periods {_span(op['pre_periods'])}, "
                         f"post periods {_span(op['post_periods'])}, reference {op['reference']}")
        lines += [
            f"  original {pct} CI (parallel trends): [{o.ci_low:.4g}, {o.ci_high:.4g}]"
            f"  (estimate {o.estimate:.4g}, SE {o.se:.4g})",
            f"  {'':>2}{self.parameter:>8}  {'lower':>10}  {'upper':>10}  method",
        ]
        for _, r in self.table.iterrows():
            lines.append(f"  {'':>2}{r[self.parameter]:>8.4g}  {r['lower']:>10.4g}  "
                         f"{r['upper']:>10.4g}  {r['method']}")
        bd = ("none: the CI contains 0 even at the tightest restriction"
              if not np.isfinite(self.breakdown) else f"{self.breakdown:.4g}")
        lines.append(f"  breakdown {self.parameter} (largest value whose CI excludes 0): {bd}")
        return "\n".join(lines)

    def plot(self, ax: Any = None, *, color: str = "#01a2d9", original_color: str = "#c0392b"):
        """Sensitivity plot: the original CI at the left, then the robust CI for each value
        of M (Mbar); a horizontal line at 0 and a dashed vertical line at the breakdown value.
        Returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        x = self.table[self.parameter].to_numpy(dtype=float)
        gap = float(np.min(np.diff(np.sort(x)))) if x.size > 1 else max(abs(x[0]), 1.0) * 0.2
        x0 = float(x.min()) - gap
        mid = (self.table["lower"] + self.table["upper"]) / 2
        ax.errorbar(x, mid, yerr=[mid - self.table["lower"], self.table["upper"] - mid],
                    fmt="none", ecolor=color, capsize=4, lw=2, label=f"robust ({self.restriction})")
        o = self.original
        ax.errorbar([x0], [(o.ci_low + o.ci_high) / 2], yerr=[[(o.ci_high - o.ci_low) / 2]],
                    fmt="none", ecolor=original_color, capsize=4, lw=2,
                    label="original (parallel trends)")
        ax.axhline(0, color="black", lw=0.8)
        if np.isfinite(self.breakdown):
            ax.axvline(self.breakdown, color="grey", ls="--", lw=1,
                       label=f"breakdown = {self.breakdown:.3g}")
        ax.set_xlabel(self.parameter)
        ax.set_ylabel(f"{1 - self.alpha:.0%} confidence set")
        ax.set_title(o.estimand)
        ax.legend(loc="best", fontsize="small")
        return ax


# --------------------------------------------------------------------------- main
def honest_did(
    betahat: Sequence[float],
    sigma: Any,
    num_pre: int,
    num_post: int,
    l_vec: Sequence[float] | None = None,
    method: Method = "relative_magnitude",
    mbar_grid: Sequence[float] | None = None,
    m_grid: Sequence[float] | None = None,
    alpha: float = 0.05,
    *,
    grid: tuple[float, float, int] | None = None,
    hybrid: bool = True,
    lf_sims: int = 10_000,
    seed: int = 0,
    post_moments_only: bool = True,
    breakdown: bool = True,
    extend_grid: int = 4,
    max_bases: int = 1_000_000,
) -> HonestDiDResult:
    """Robust confidence sets for ``theta = l' tau_post`` under violations of parallel trends.

    Parameters
    ----------
    betahat, sigma: event-study coefficients (pre periods earliest first, then post
        periods; the omitted reference period is not included) and their covariance.
    num_pre, num_post: how many of ``betahat`` are pre- and post-period coefficients.
    l_vec: weights on the post-period effects; default the first post period.
    method: ``"relative_magnitude"`` (Delta^RM(Mbar), ARP hybrid test inverted on a grid)
        or ``"smoothness"`` (Delta^SD(M), optimal FLCI).
    mbar_grid: values of Mbar (default 10 values on [0, 2], as the R package).
    m_grid: values of M (default 10 values from 0 to :func:`m_upper_bound`, as the R package).
    alpha: 1 - coverage.
    grid: ``(lower, upper, points)`` of the theta grid for the RM test inversion; default
        ``(-20 sd, 20 sd, 1000)`` with sd the standard error of l' betahat_post (the R
        default).
    extend_grid: if the accepted set reaches an end of the grid, continue the grid past
        that end with the same step, up to this many times (0 reproduces R, which then
        reports the grid end as the CI end). A CI still open is flagged in the column
        ``open``.
    hybrid: least-favourable hybrid (R's "C-LF", default) or the pure conditional test.
    lf_sims, seed: draws for the least-favourable critical value (R uses 1,000).
    post_moments_only: use only moments that involve post periods in the ARP test
        (R's default ``postPeriodMomentsOnly = TRUE``).
    breakdown: also find the breakdown value by bisection.

    References: Rambachan & Roth (2023, REStud); Andrews, Roth & Pakes (2023, "Inference
    for linear conditional moment inequalities", REStud); Armstrong & Kolesar (2018).
    """
    b, s, num_pre, num_post, lv, alpha = _check_inputs(betahat, sigma, num_pre, num_post,
                                                       l_vec, alpha)
    orig = original_ci(b, s, num_pre, num_post, lv, alpha)
    opts: dict[str, Any] = {}
    if method == "smoothness":
        if mbar_grid is not None:
            raise InputError("method='smoothness' takes 'm_grid' (bounds on the change in "
                             "slope); 'mbar_grid' belongs to method='relative_magnitude'.")
        if m_grid is None and num_pre < 2:
            raise InputError("With one pre period pass 'm_grid' explicitly for "
                             "method='smoothness'.")
        ms = (_grid("m_grid", m_grid, np.zeros(1)) if m_grid is not None
              else np.linspace(0, m_upper_bound(b, s, num_pre, alpha), 10))

        def ci_at(mv: float) -> tuple[float, float, bool]:
            r = _flci_core(b, s, num_pre, num_post, lv, float(mv), alpha)
            return r.center - r.half_length, r.center + r.half_length, False

        param, delta, meth = "M", "DeltaSD", "FLCI"
    elif method == "relative_magnitude":
        if m_grid is not None:
            raise InputError("method='relative_magnitude' takes 'mbar_grid' (Mbar, relative to "
                             "the largest pre-period violation); 'm_grid' belongs to "
                             "method='smoothness'.")
        ms = _grid("mbar_grid", mbar_grid, np.linspace(0, 2, 10))
        sd_theta = math.sqrt(float(lv @ s[num_pre:, num_pre:] @ lv))
        if grid is None:
            grid = (-20 * sd_theta, 20 * sd_theta, 1000)
        try:
            g_lo, g_hi, g_n = float(grid[0]), float(grid[1]), int(grid[2])
        except (TypeError, ValueError, IndexError):
            raise InputError(f"'grid' must be (lower, upper, points), got {grid!r}.") from None
        if not (g_lo < g_hi and g_n >= 2):
            raise InputError(f"'grid' must have lower < upper and at least 2 points, got {grid!r}.")
        thetas = np.linspace(g_lo, g_hi, g_n)
        kappa = alpha / 10
        n_mom = 2 * (num_pre + num_post)
        if isinstance(lf_sims, bool) or not isinstance(lf_sims, (int, np.integer)) \
                or lf_sims < 100:
            raise InputError(f"Parameter 'lf_sims' (draws for the least-favourable critical "
                             f"value) must be a whole number >= 100, got {lf_sims!r}.")
        if isinstance(extend_grid, bool) or not isinstance(extend_grid, (int, np.integer)) \
                or extend_grid < 0:
            raise InputError(f"Parameter 'extend_grid' must be a whole number >= 0, got "
                             f"{extend_grid!r}.")
        draws = np.random.default_rng(seed).standard_normal((n_mom, int(lf_sims)))
        opts = {"grid": (g_lo, g_hi, g_n), "extend_grid": int(extend_grid),
                "hybrid": "LF" if hybrid else "none",
                "kappa": kappa, "lf_sims": int(lf_sims), "seed": seed,
                "post_moments_only": post_moments_only}

        step = thetas[1] - thetas[0]

        def region(th: np.ndarray, mv: float) -> np.ndarray:
            return _rm_accept_region(b, s, num_pre, lv, mv, th, alpha, hybrid, kappa, draws,
                                     post_moments_only, max_bases)

        def ci_at(mv: float) -> tuple[float, float, bool]:
            th, acc = thetas, region(thetas, float(mv))
            for _ in range(extend_grid):     # continue the grid (same step) past an open end
                if not (acc[0] or acc[-1]):
                    break
                if acc[-1]:
                    new = th[-1] + step * np.arange(1, g_n + 1)
                    th, acc = np.r_[th, new], np.r_[acc, region(new, float(mv))]
                if acc[0]:
                    new = th[0] - step * np.arange(g_n, 0, -1)
                    th, acc = np.r_[new, th], np.r_[region(new, float(mv)), acc]
            if not acc.any():
                return float("nan"), float("nan"), False
            idx = np.flatnonzero(acc)
            return float(th[idx[0]]), float(th[idx[-1]]), bool(acc[0] or acc[-1])

        param, delta, meth = "Mbar", "DeltaRM", "C-LF" if hybrid else "Conditional"
    else:
        raise InputError(f"Parameter 'method' must be 'relative_magnitude' or 'smoothness', "
                         f"got {method!r}.")

    rows = []
    for mv in ms:
        lo, hi, open_ = ci_at(mv)
        rows.append({param: float(mv), "lower": lo, "upper": hi, "method": meth,
                     "delta": delta, "open": open_})
    table = pd.DataFrame(rows)
    if table["open"].any():
        warnings.warn(
            f"The robust CI reaches an end of the theta grid at {param} = "
            f"{', '.join(f'{v:g}' for v in table.loc[table['open'], param])}; it may be "
            "longer than shown. Pass a wider grid=(lower, upper, points) or a larger "
            "extend_grid.", stacklevel=2)
    if method == "relative_magnitude" and table["lower"].isna().any() \
            and not (g_lo <= orig.estimate <= g_hi):
        warnings.warn(
            f"No value of the theta grid [{g_lo:.4g}, {g_hi:.4g}] is accepted at {param} = "
            f"{', '.join(f'{v:g}' for v in table.loc[table['lower'].isna(), param])}, and the "
            f"estimate {orig.estimate:.4g} lies outside the grid (the default grid is centred "
            "at 0, as in R). Pass grid=(lower, upper, points) around the estimate.",
            stacklevel=2)
    bd = (_breakdown(ci_at, table, param, 1e-4 if method == "smoothness" else 1e-3)
          if breakdown else float("nan"))
    return HonestDiDResult(table=table, original=orig, breakdown=bd, restriction=delta,
                           parameter=param, alpha=alpha, l_vec=lv.tolist(), num_pre=num_pre,
                           num_post=num_post, options=opts)


def _breakdown(ci_at, table: pd.DataFrame, param: str, rel_tol: float) -> float:
    """Largest M whose CI excludes 0, by bisection between the last value of the table
    that excludes 0 and the first that does not (the CIs widen with M)."""
    def excludes(lo: float, hi: float) -> bool:
        return bool(np.isfinite(lo) and (lo > 0 or hi < 0))

    rows = table.sort_values(param)
    ms = rows[param].to_numpy(dtype=float)
    ex = [excludes(lo, hi) for lo, hi in zip(rows["lower"], rows["upper"])]
    if ms[0] > 0:
        lo0, hi0, _ = ci_at(0.0)
        ms, ex = np.r_[0.0, ms], [excludes(lo0, hi0)] + ex
    if not ex[0]:
        return float("nan")
    if all(ex):
        lo, hi = float(ms[-1]), max(2 * float(ms[-1]), 1e-3)
        for _ in range(30):
            if not excludes(*ci_at(hi)[:2]):
                break
            lo, hi = hi, 2 * hi
        else:
            return float("inf")
    else:
        first = ex.index(False)
        lo, hi = float(ms[first - 1]), float(ms[first])
    while hi - lo > rel_tol * hi:
        mid = (lo + hi) / 2
        if excludes(*ci_at(mid)[:2]):
            lo = mid
        else:
            hi = mid
    return lo


# ------------------------------------------------------- from an event-study result
def _span(values: Sequence[Any]) -> str:
    return str(values[0]) if len(values) == 1 else f"{values[0]}..{values[-1]}"


def _event_study_inputs(result: Any, reference: int | None
                        ) -> tuple[np.ndarray, np.ndarray, list[int], list[int], int, str]:
    """(betahat, sigma, pre event times, post event times, reference, source) of an
    event-study result, the reference period left out; clear errors for what HonestDiD
    cannot use."""
    staggered = sys.modules.get("evaltools.estimate.diff_in_diff.staggered")
    event_study = sys.modules.get("evaltools.estimate.diff_in_diff.event_time")
    if staggered is not None and isinstance(result, staggered.ATTgtResult):
        raise TypeError("honest_did_event_study needs the event study of the group-time ATTs: "
                        "pass res.aggregate('dynamic'), not the att_gt result itself.")
    if staggered is not None and isinstance(result, staggered.AggregatedATT):
        if result.kind != "dynamic":
            raise InputError(f"honest_did_event_study needs aggregate('dynamic') (effects by "
                             f"event time); this is a {result.kind!r} aggregation.")
        if result.options.get("base_period") != "universal":
            raise InputError(
                "att_gt was run with base_period='varying': its pre-period estimates compare "
                "each period with the one before (first differences), not with a common "
                "reference period, so they are not the pre-trend coefficients HonestDiD "
                "needs. Re-run att_gt(..., base_period='universal').")
        own_ref = -1 - int(result.options.get("anticipation", 0))
        est = pd.Series(result.table["estimate"].to_numpy(float), index=result.event_times)
        vcov = result.vcov
        source = "att_gt dynamic aggregation"
    elif event_study is not None and isinstance(result, event_study.EventStudyResult):
        own_ref = int(result.ref)
        est = result.table["estimate"].astype(float)
        vcov = result.vcov
        source = f"event study ({result.estimator})"
    else:
        raise TypeError(
            f"honest_did_event_study takes the result of event_study(...) or of "
            f"att_gt(...).aggregate('dynamic'), got {type(result).__name__}. For "
            f"coefficients and their covariance use honest_did(betahat, sigma, num_pre, "
            f"num_post).")
    if reference is None:
        reference = own_ref
    elif isinstance(reference, bool) or not isinstance(reference, (int, np.integer)):
        raise InputError(f"Parameter 'reference' must be a whole number (an event time), got "
                         f"{reference!r}.")
    elif reference != own_ref:
        raise InputError(f"The result's reference period (normalised to 0) is e = {own_ref}, "
                         f"not {reference}; pass reference={own_ref} or leave it out.")
    if vcov is None or vcov.empty:
        raise InputError(f"The {source} result carries no covariance matrix ('vcov').")
    times = [int(e) for e in est.index if e != reference]
    missing = sorted(set(range(min(times + [reference]), max(times + [reference]) + 1))
                     - set(times) - {reference})
    if missing:
        raise InputError(f"The event times must be consecutive for HonestDiD; e = "
                         f"{', '.join(map(str, missing))} {'is' if len(missing) == 1 else 'are'} "
                         f"missing (e.g. a coefficient dropped as collinear).")
    b = est.loc[times].to_numpy(float)
    sig = vcov.loc[times, times].to_numpy(float)
    bad = [e for e, v, d in zip(times, b, np.diag(sig)) if not (np.isfinite(v) and d > 0)]
    if bad:
        raise InputError(f"No estimate or standard error at e = {', '.join(map(str, bad))}.")
    pre = [e for e in times if e < reference]
    post = [e for e in times if e > reference]
    if not pre:
        raise InputError(f"HonestDiD needs at least one pre-period coefficient before the "
                         f"reference period e = {reference}; the {source} has none.")
    if not post:
        raise InputError(f"The {source} has no period after the reference e = {reference}.")
    return b, sig, pre, post, int(reference), source


def honest_did_event_study(
    result: Any,
    *,
    method: Method = "relative_magnitude",
    m: float | Sequence[float] | None = None,
    mbar: float | Sequence[float] | None = None,
    l_vec: Sequence[float] | Literal["average"] | None = None,
    reference: int | None = None,
    alpha: float = 0.05,
    **options: Any,
) -> HonestDiDResult:
    """:func:`honest_did` on an event-study result (Rambachan & Roth 2023).

    ``result`` is ``event_study(...)`` (TWFE or Sun-Abraham) or
    ``att_gt(..., base_period="universal").aggregate("dynamic")``. Its estimates by
    event time e and their covariance ``result.vcov`` are split into pre periods
    (``e < reference``, earliest first) and post periods (``e > reference``); the
    reference period (normalised to 0, default: the result's own, e = -1 without
    anticipation) is left out. The event times must be consecutive.

    method: ``"relative_magnitude"`` with ``mbar`` (one value or a grid; default
        10 values on [0, 2]) or ``"smoothness"`` with ``m`` (default 10 values from 0 to
        :func:`m_upper_bound`).
    l_vec: weights on the post-period effects: None = the first post period (e.g.
        e = 0; the R package's default), ``"average"`` = their equal-weight mean, or
        one weight per post period.
    options: passed on to :func:`honest_did` (``grid``, ``hybrid``, ``lf_sims``,
        ``seed``, ``breakdown``, ``extend_grid``, ...).

    The original CI uses the normal distribution (as HonestDiD), also where the
    event study reports t(G - 1) intervals.
    """
    b, sig, pre, post, ref, source = _event_study_inputs(result, reference)
    if method == "smoothness" and mbar is not None:
        raise InputError("method='smoothness' takes 'm' (bound on the change in slope); "
                         "'mbar' belongs to method='relative_magnitude'.")
    if method == "relative_magnitude" and m is not None:
        raise InputError("method='relative_magnitude' takes 'mbar' (relative to the largest "
                         "pre-period violation); 'm' belongs to method='smoothness'.")
    if isinstance(l_vec, str):
        if l_vec != "average":
            raise InputError(f"Parameter 'l_vec' must be None, 'average' or one weight per post "
                             f"period, got {l_vec!r}.")
        lv = np.full(len(post), 1.0 / len(post))
    else:
        lv = None if l_vec is None else np.asarray(l_vec, dtype=float).ravel()
    if method == "relative_magnitude" and options.get("grid") is None:
        # the R default grid is centred at 0, which misses an effect more than about 20
        # standard errors away from 0; centre it at the estimate instead
        w = np.eye(len(post))[0] if lv is None else lv
        if w.size == len(post) and np.all(np.isfinite(w)):     # else honest_did explains
            c = float(w @ b[len(pre):])
            sd = math.sqrt(max(float(w @ sig[len(pre):, len(pre):] @ w), 0.0))
            if sd > 0:
                options["grid"] = (c - 20 * sd, c + 20 * sd, 1000)
    res = honest_did(b, sig, len(pre), len(post), l_vec=lv, method=method,
                     mbar_grid=None if mbar is None else np.atleast_1d(mbar),
                     m_grid=None if m is None else np.atleast_1d(m), alpha=alpha, **options)
    weights = np.asarray(res.l_vec)
    nz = np.flatnonzero(weights)
    if nz.size == 1 and weights[nz[0]] == 1:
        label = f"effect at e = {post[nz[0]]}"
    elif np.allclose(weights, 1 / weights.size):
        label = f"average effect over e = {_span(post)}"
    else:
        label = "sum of l_vec x effects at e = " + _span(post)
    return dataclasses.replace(
        res, original=dataclasses.replace(res.original, estimand=label),
        options={**res.options, "source": source, "pre_periods": pre, "post_periods": post,
                 "reference": ref})
