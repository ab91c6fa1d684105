"""Two-period DiD estimators behind :func:`evaltools.estimate.att_gt` (one (g, t) cell).

Each function takes the rows of one cell (treated cohort ``D == 1`` and its
comparison units ``D == 0``) and returns ``(att, influence)``, where ``influence``
is the estimator's influence function evaluated at each row, scaled so that
``Var(att) ~= mean(influence**2) / n_rows``.

Panel estimators (Sant'Anna & Zhao 2020, J. Econometrics 219(1), 101-122) work on
``dy = Y_t - Y_base`` for units seen in both periods:

* ``reg``: outcome regression, ATT = mean_D(dy) - mean_D(X b), b from WLS of dy on X
  among comparison units (Heckman, Ichimura & Todd 1997).
* ``ipw``: normalised (Hajek) inverse probability weighting (Abadie 2005) with a logit
  propensity score.
* ``dr``: the doubly robust estimator, eq. (3.1) of Sant'Anna & Zhao (2020): IPW
  weights applied to ``dy - X b``.

Repeated cross-section estimators use ``y`` and a ``post`` indicator instead:
``reg`` and ``ipw`` are the cross-section analogues, ``dr`` is the locally efficient
DR estimator (Sant'Anna & Zhao 2020, eq. 3.4).

All influence functions include the estimation effect of the nuisance parameters
(WLS coefficients and logit coefficients), as in R ``DRDID``. Weights are normalised
to mean one within the cell, as ``DRDID`` does. This is our own vectorised
implementation; it is checked against R ``did`` numbers and the ``csdid``/``drdid``
ports in ``tests/estimate/diff_in_diff/test_att_gt_reference.py``.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.special import expit

from evaltools.core.errors import EvaltoolsWarning

Array = np.ndarray

PS_CAP = 1.0 - 1e-6  # propensity scores are capped here (as DRDID does)
TRIM_LEVEL = 0.995  # comparison units with a larger propensity score are trimmed


class EstimationWarning(EvaltoolsWarning, UserWarning):
    """A cell could be estimated, but something about it deserves attention."""


def _cmean(X: Array, v: Array) -> Array:
    """Column means of X * v[:, None], as one matrix-vector product."""
    return (v @ X) / X.shape[0]


def _check_rank(A: Array) -> None:
    """Raise LinAlgError if the cross-product matrix A is (numerically) singular.

    The condition number is taken after scaling A to unit diagonal, so that covariates
    measured in large units (incomes in euros) are not mistaken for collinear ones.
    """
    d = np.sqrt(np.diag(A))
    if np.any(d == 0) or not np.all(np.isfinite(A)):
        raise np.linalg.LinAlgError("a covariate is constant zero in this cell")
    if A.shape[0] > 1 and np.linalg.cond(A / np.outer(d, d)) > 1e10:
        raise np.linalg.LinAlgError("collinear covariates")


def _wls(X: Array, y: Array, w: Array) -> Array:
    """Weighted least squares coefficients: b = (X'WX)^{-1} X'Wy."""
    Xw = X * w[:, None]
    A = Xw.T @ X
    _check_rank(A)
    return np.linalg.solve(A, Xw.T @ y)


def _ols_lin_rep(X: Array, resid: Array, w: Array, n: int) -> Array:
    """Asymptotic linear representation of a WLS fit on the rows with weight w > 0.

    Returns the n x k matrix w_i e_i x_i' (X'WX / n)^{-1} (zero where w == 0).
    """
    Xw = X * w[:, None]
    xpx_inv = np.linalg.inv(Xw.T @ X / n)
    return (Xw * resid[:, None]) @ xpx_inv


def logit(X: Array, d: Array, w: Array, *, max_iter: int = 50, tol: float = 1e-10) -> tuple[Array, Array]:
    """Weighted logit by Newton-Raphson; returns (fitted probabilities, n * vcov).

    vcov is the usual ML covariance (X' diag(w p (1-p)) X)^{-1}, the same matrix as
    R ``vcov(glm(..., family = binomial, weights = w))``.
    """
    n, k = X.shape
    _check_rank((X * w[:, None]).T @ X)
    beta = np.zeros(k)
    # start from the weighted share in the intercept (the model without covariates)
    share = float(np.sum(w * d) / np.sum(w))
    if 0.0 < share < 1.0 and np.allclose(X[:, 0], 1.0):
        beta[0] = np.log(share / (1.0 - share))
    converged = False
    for _ in range(max_iter):
        p = expit(X @ beta)
        W = w * p * (1.0 - p)
        H = (X * W[:, None]).T @ X
        g = X.T @ (w * (d - p))
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1.0 + np.max(np.abs(beta))):
            converged = True
            break
    p = expit(X @ beta)
    if not converged:
        warnings.warn(
            "The propensity-score logit did not converge in this cell (perfect or quasi-perfect "
            "separation?): its estimate may be unreliable. Consider fewer covariates or "
            "method='reg'.",
            EstimationWarning,
            stacklevel=3,
        )
    W = w * p * (1.0 - p)
    hessian_n = np.linalg.pinv((X * W[:, None]).T @ X) * n
    return p, hessian_n


def ps_parts(X: Array, D: Array, w: Array) -> tuple[Array, Array, Array]:
    """Capped propensity score, trimming indicator and its linear representation.

    ``w`` must already be normalised to mean one.
    """
    n = X.shape[0]
    p, hessian_n = logit(X, D, w)
    ps = np.minimum(p, PS_CAP)
    keep = np.ones(n)
    keep[(D == 0) & (ps >= TRIM_LEVEL)] = 0.0
    score = X * (w * (D - p))[:, None]
    return ps, keep, score @ hessian_n


# --------------------------------------------------------------------------- panel
#
# The panel estimators take ``dy`` as a vector (one cell) or an n x m matrix: m cells
# that share the same rows (one cohort and one comparison group, several periods).
# Everything is linear in dy for fixed rows, so the WLS solve, the propensity score and
# all weights are computed once and the m cells come out of matrix products.


def _as_matrix(dy: Array) -> tuple[Array, bool]:
    return (dy[:, None], True) if dy.ndim == 1 else (dy, False)


def _control_ols(dy: Array, D: Array, X: Array, w: Array) -> tuple[Array, Array]:
    """WLS of dy on X among comparison units: fitted values (n x m) and (X'WX/n)^{-1}."""
    n = X.shape[0]
    c = D == 0
    Xw = X[c] * w[c, None]
    xtwx = Xw.T @ X[c]
    _check_rank(xtwx)
    beta = np.linalg.solve(xtwx, Xw.T @ dy[c])
    return X @ beta, np.linalg.inv(xtwx / n)


def _finish(att: Array, inf: Array, single: bool):
    return (float(att[0]), inf[:, 0]) if single else (att, inf)


def panel_reg(dy: Array, D: Array, X: Array, w: Array, ps: tuple | None = None):
    """Outcome-regression DiD on panel differences (DRDID ``reg_did_panel``).

    ATT = mean_{D=1}(dy - X b), b from WLS of dy on X among comparison units; the
    influence function includes the estimation of b.
    """
    dy, single = _as_matrix(dy)
    n = dy.shape[0]
    w = w / w.mean()
    w_ols = w * (1.0 - D)
    fit, xpx_inv = _control_ols(dy, D, X, w)
    w_t = w * D
    mw = w_t.mean()
    eta_t = (w_t @ dy) / n / mw
    eta_c = (w_t @ fit) / n / mw
    h = X @ (xpx_inv @ _cmean(X, w_t))  # estimation effect of b, per unit
    inf_t = w_t[:, None] * (dy - eta_t) / mw
    inf_c = (w_t[:, None] * (fit - eta_c) + (w_ols * h)[:, None] * (dy - fit)) / mw
    return _finish(eta_t - eta_c, inf_t - inf_c, single)


def panel_ipw(dy: Array, D: Array, X: Array, w: Array, ps: tuple | None = None):
    """Normalised IPW DiD on panel differences (DRDID ``std_ipw_did_panel``).

    ``ps`` may carry a propensity-score fit already made on the same rows
    (``ps_parts(X, D, w / mean(w))``): it depends on the cell only through its rows.
    """
    dy, single = _as_matrix(dy)
    n = dy.shape[0]
    w = w / w.mean()
    ps, keep, lin_ps = ps if ps is not None else ps_parts(X, D, w)
    w_t = keep * w * D
    w_c = keep * w * ps * (1.0 - D) / (1.0 - ps)
    mt, mc = w_t.mean(), w_c.mean()
    eta_t = (w_t @ dy) / n / mt
    eta_c = (w_c @ dy) / n / mc
    inf_t = w_t[:, None] * (dy - eta_t) / mt
    m2 = X.T @ (w_c[:, None] * (dy - eta_c)) / n
    inf_c = (w_c[:, None] * (dy - eta_c) + lin_ps @ m2) / mc
    return _finish(eta_t - eta_c, inf_t - inf_c, single)


def panel_dr(dy: Array, D: Array, X: Array, w: Array, ps: tuple | None = None):
    """Doubly robust DiD on panel differences (DRDID ``drdid_panel``); ``ps`` as in panel_ipw.

    With r = dy - X b (b: WLS of dy on X among comparison units), w_t = w D and
    w_c = w p/(1-p) (1-D) (both times the trimming indicator), means m_t, m_c:

        ATT = eta_t - eta_c,  eta_t = mean(w_t r) / m_t,  eta_c = mean(w_c r) / m_c,
        psi = [w_t (r - eta_t) - h1 r] / m_t - [w_c (r - eta_c) + L_ps m2 - h3 r] / m_c,

    where h1, h3 carry the estimation of b, L_ps that of the propensity score and
    m2 = mean(x w_c (r - eta_c)). Everything but ``a * dy`` with
    a = (w_t - h1) / m_t - (w_c - h3) / m_c is of rank 2k + 2, so for m cells the
    influence functions are ``a * dy + U @ C`` with U = [a X, w_t/m_t, w_c/m_c, L_ps]
    (n x (2k+2)) and C = [-b; -eta_t; eta_c; -m2/m_c]; every reduction of dy comes from
    one product ``[w_t, w_c, X w_c, X w_ols]' dy``. No n x m matrix but dy and psi.
    """
    dy, single = _as_matrix(dy)
    n, k = X.shape
    w = w / w.mean()
    ps, keep, lin_ps = ps if ps is not None else ps_parts(X, D, w)
    w_ols = w * (1.0 - D)
    w_t = keep * w * D
    w_c = keep * w * ps * (1.0 - D) / (1.0 - ps)
    mt, mc = w_t.mean(), w_c.mean()
    Xw_ols = X * w_ols[:, None]
    Xw_c = X * w_c[:, None]
    xtwx = Xw_ols.T @ X
    _check_rank(xtwx)
    reducers = np.column_stack([w_t, w_c, Xw_c, Xw_ols])
    Z = reducers.T @ dy                                  # (2 + 2k) x m
    b = np.linalg.solve(xtwx, Z[2 + k:])                 # k x m: the comparison-group WLS
    wtX, wcX = w_t @ X, w_c @ X
    eta_t = (Z[0] - wtX @ b) / (n * mt)
    eta_c = (Z[1] - wcX @ b) / (n * mc)
    m2 = (Z[2:2 + k] - (Xw_c.T @ X) @ b - np.outer(wcX, eta_c)) / n
    xpx_inv = np.linalg.inv(xtwx / n)
    h1 = w_ols * (X @ (xpx_inv @ (wtX / n)))
    h3 = w_ols * (X @ (xpx_inv @ (wcX / n)))
    a = (w_t - h1) / mt - (w_c - h3) / mc
    U = np.column_stack([X * a[:, None], w_t / mt, w_c / mc, lin_ps])
    C = np.vstack([-b, -eta_t, eta_c, -m2 / mc])
    inf = U @ C
    inf += a[:, None] * dy
    return _finish(eta_t - eta_c, inf, single)


# ----------------------------------------------------------- repeated cross-sections


def _ols_part(X: Array, y: Array, w: Array, sel: Array, n: int) -> tuple[Array, Array]:
    """Fitted values of a WLS fit on the rows ``sel`` and its linear representation."""
    beta = _wls(X[sel], y[sel], w[sel])
    fit = X @ beta
    return fit, _ols_lin_rep(X, y - fit, w * sel, n)


def rc_reg(y: Array, post: Array, D: Array, X: Array, w: Array) -> tuple[float, Array]:
    """Outcome-regression DiD for repeated cross-sections (DRDID ``reg_did_rc``)."""
    n = y.shape[0]
    w = w / w.mean()
    fit_pre, lin_pre = _ols_part(X, y, w, (D == 0) & (post == 0), n)
    fit_post, lin_post = _ols_part(X, y, w, (D == 0) & (post == 1), n)
    w_tpre, w_tpost, w_c = w * D * (1 - post), w * D * post, w * D
    m_tpre, m_tpost, m_c = w_tpre.mean(), w_tpost.mean(), w_c.mean()
    eta_tpre = np.mean(w_tpre * y) / m_tpre
    eta_tpost = np.mean(w_tpost * y) / m_tpost
    cont = w_c * (fit_post - fit_pre)
    eta_c = cont.mean() / m_c
    inf_t = (w_tpost * y - w_tpost * eta_tpost) / m_tpost - (w_tpre * y - w_tpre * eta_tpre) / m_tpre
    m1 = _cmean(X, w_c)
    inf_c = (cont - w_c * eta_c + lin_post @ m1 - lin_pre @ m1) / m_c
    return float(eta_tpost - eta_tpre - eta_c), inf_t - inf_c


def rc_ipw(y: Array, post: Array, D: Array, X: Array, w: Array) -> tuple[float, Array]:
    """Normalised IPW DiD for repeated cross-sections (DRDID ``std_ipw_did_rc``)."""
    w = w / w.mean()
    ps, keep, lin_ps = ps_parts(X, D, w)
    odds = ps * (1.0 - D) / (1.0 - ps)
    parts = {
        "tpre": keep * w * D * (1 - post),
        "tpost": keep * w * D * post,
        "cpre": keep * w * odds * (1 - post),
        "cpost": keep * w * odds * post,
    }
    att, inf = {}, {}
    for key, wk in parts.items():
        m = wk.mean()
        att[key] = np.mean(wk * y) / m
        inf[key] = (wk * y - wk * att[key]) / m
    m2 = {
        key: _cmean(X, parts[key] * (y - att[key])) / parts[key].mean()
        for key in ("cpre", "cpost")
    }
    inf_t = inf["tpost"] - inf["tpre"]
    inf_c = inf["cpost"] - inf["cpre"] + lin_ps @ (m2["cpost"] - m2["cpre"])
    est = (att["tpost"] - att["tpre"]) - (att["cpost"] - att["cpre"])
    return float(est), inf_t - inf_c


def rc_dr(y: Array, post: Array, D: Array, X: Array, w: Array) -> tuple[float, Array]:
    """Locally efficient DR DiD for repeated cross-sections (DRDID ``drdid_rc``)."""
    n = y.shape[0]
    w = w / w.mean()
    ps, keep, lin_ps = ps_parts(X, D, w)
    pre, c = 1 - post, 1 - D
    fc_pre, lin_c_pre = _ols_part(X, y, w, (c == 1) & (pre == 1), n)
    fc_post, lin_c_post = _ols_part(X, y, w, (c == 1) & (post == 1), n)
    ft_pre, lin_t_pre = _ols_part(X, y, w, (D == 1) & (pre == 1), n)
    ft_post, lin_t_post = _ols_part(X, y, w, (D == 1) & (post == 1), n)
    fc = post * fc_post + pre * fc_pre
    odds = ps * c / (1.0 - ps)
    wt = {
        "tpre": keep * w * D * pre,
        "tpost": keep * w * D * post,
        "cpre": keep * w * odds * pre,
        "cpost": keep * w * odds * post,
        "d": keep * w * D,
        "dt1": keep * w * D * post,
        "dt0": keep * w * D * pre,
    }
    mean = {k: v.mean() for k, v in wt.items()}
    eta = {
        "tpre": wt["tpre"] * (y - fc) / mean["tpre"],
        "tpost": wt["tpost"] * (y - fc) / mean["tpost"],
        "cpre": wt["cpre"] * (y - fc) / mean["cpre"],
        "cpost": wt["cpost"] * (y - fc) / mean["cpost"],
        "d_post": wt["d"] * (ft_post - fc_post) / mean["d"],
        "dt1_post": wt["dt1"] * (ft_post - fc_post) / mean["dt1"],
        "d_pre": wt["d"] * (ft_pre - fc_pre) / mean["d"],
        "dt0_pre": wt["dt0"] * (ft_pre - fc_pre) / mean["dt0"],
    }
    att = {k: v.mean() for k, v in eta.items()}
    est = (
        (att["tpost"] - att["tpre"])
        - (att["cpost"] - att["cpre"])
        + (att["d_post"] - att["dt1_post"])
        - (att["d_pre"] - att["dt0_pre"])
    )

    def centred(key: str, wkey: str) -> Array:
        return eta[key] - wt[wkey] * att[key] / mean[wkey]

    def colmean(v: Array) -> Array:
        return _cmean(X, v)

    # treated part, with the estimation effect of the comparison-group regressions.
    # ATT contains -att_tpre, so the pre-period regression enters with a minus sign
    # (as in the `drdid` port of DRDID 1.4.0). R DRDID 1.3.0 (used by did 2.5.1) adds it
    # instead; on mpdta with lpop that moves the simple-ATT SE by 3e-4 (relative).
    m1_post = -colmean(wt["tpost"] * post) / mean["tpost"]
    m1_pre = -colmean(wt["tpre"] * pre) / mean["tpre"]
    inf_t = (
        centred("tpost", "tpost")
        - centred("tpre", "tpre")
        + lin_c_post @ m1_post
        - lin_c_pre @ m1_pre
    )
    # comparison part: propensity score and regressions
    m2_pre = colmean(wt["cpre"] * (y - fc - att["cpre"])) / mean["cpre"]
    m2_post = colmean(wt["cpost"] * (y - fc - att["cpost"])) / mean["cpost"]
    m3_post = -colmean(wt["cpost"] * post) / mean["cpost"]
    m3_pre = -colmean(wt["cpre"] * pre) / mean["cpre"]
    inf_c = (
        centred("cpost", "cpost")
        - centred("cpre", "cpre")
        + lin_ps @ (m2_post - m2_pre)
        + lin_c_post @ m3_post
        - lin_c_pre @ m3_pre
    )
    # local-efficiency adjustment terms
    inf_eff = (centred("d_post", "d") - centred("dt1_post", "dt1")) - (
        centred("d_pre", "d") - centred("dt0_pre", "dt0")
    )
    mom_post = colmean(wt["d"] / mean["d"] - wt["dt1"] / mean["dt1"])
    mom_pre = colmean(wt["d"] / mean["d"] - wt["dt0"] / mean["dt0"])
    inf_or = (lin_t_post - lin_c_post) @ mom_post - (lin_t_pre - lin_c_pre) @ mom_pre
    return float(est), inf_t - inf_c + inf_eff + inf_or


PANEL = {"dr": panel_dr, "ipw": panel_ipw, "reg": panel_reg}
CROSS_SECTION = {"dr": rc_dr, "ipw": rc_ipw, "reg": rc_reg}
