"""Tests of evaltools.estimate.matching_weighting.weighting (ipw, aipw) and the propensity score.

References: the DRDID estimators of Sant'Anna and Zhao (2020) as implemented in
the MIT-licensed ``drdid`` package (with a zero pre-period outcome, its panel
DR-DiD and normalised IPW-DiD reduce to our cross-sectional DR and IPW ATT);
a numerical sandwich of the stacked estimating equations; known truth on
simulated data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.special import expit

from evaltools.estimate import aipw, ipw, propensity_score
from evaltools.estimate.matching_weighting.propensity import CausalInputError, crump_alpha, design_matrix


def simulate(n=4000, seed=0, effect=2.0, hetero=1.0):
    """Confounded treatment; ATE = effect, ATT = effect + hetero * E[x1 | W=1]."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    e = expit(-0.5 + 0.8 * x1 - 0.5 * x2)
    w = (rng.random(n) < e).astype(int)
    y = 1.0 + x1 + 0.5 * x2 + w * (effect + hetero * x1) + rng.normal(size=n)
    d = pd.DataFrame({"y": y, "w": w, "x1": x1, "x2": x2, "cl": rng.integers(0, 80, n)})
    att_true = effect + hetero * np.sum(e * x1) / np.sum(e)  # E[x1 | W=1] from the true scores
    return d, att_true


# ---------------------------------------------------------------------------
# Against the drdid reference implementation (ATT)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nsw_cps():
    from causaldata import cps_mixtape, nsw_mixtape

    nsw = nsw_mixtape.load_pandas().data
    d = pd.concat([nsw[nsw.treat == 1], cps_mixtape.load_pandas().data]).reset_index(drop=True)
    d["u74"] = (d.re74 == 0).astype(int)
    d["u75"] = (d.re75 == 0).astype(int)
    return d


SPEC = "age + I(age**2) + educ + marr + nodegree + black + hisp + re74 + re75 + u74 + u75"


def test_att_matches_drdid_reference(nsw_cps):
    from drdid._estimators import drdid_panel, std_ipw_did_panel

    d = nsw_cps
    X = design_matrix(d, SPEC).to_numpy()
    y = d["re78"].to_numpy()
    D = d["treat"].to_numpy()
    for ours, ref in [(ipw(d, "re78", "treat", SPEC), std_ipw_did_panel),
                      (aipw(d, "re78", "treat", SPEC), drdid_panel)]:
        att, inf = ref(y, np.zeros_like(y), D, X, trim_level=1.0)
        se_ref = np.sqrt(np.sum(inf**2)) / len(y)
        assert ours.estimate == pytest.approx(att, rel=1e-6)
        assert ours.se == pytest.approx(se_ref, rel=1e-4)


# ---------------------------------------------------------------------------
# Against a numerical sandwich of the stacked estimating equations (ATE)
# ---------------------------------------------------------------------------


def _sandwich(g, theta, n):
    """Var(theta) = J^-1 S J^-T / n with J from central differences of mean g."""
    G0 = g(theta)
    k = len(theta)
    J = np.empty((k, k))
    for j in range(k):
        h = 1e-6 * max(1.0, abs(theta[j]))
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        J[:, j] = (g(tp).mean(axis=0) - g(tm).mean(axis=0)) / (2 * h)
    S = G0.T @ G0 / n
    Ji = np.linalg.inv(J)
    return Ji @ S @ Ji.T / n


def test_ate_ses_match_numerical_sandwich():
    d, _ = simulate(n=1500, seed=3)
    X = np.column_stack([np.ones(len(d)), d.x1, d.x2])
    W, Y = d.w.to_numpy(float), d.y.to_numpy()
    n = len(d)
    ps = propensity_score(d, "w", ["x1", "x2"])
    gam = ps.params.to_numpy()

    # IPW (Hajek) ATE: theta = (gamma, mu1, mu0).
    def g_ipw(t):
        e = expit(X @ t[:3])
        return np.column_stack([X * (W - e)[:, None], W / e * (Y - t[3]), (1 - W) / (1 - e) * (Y - t[4])])

    e = ps.scores.to_numpy()
    mu1 = np.sum(W * Y / e) / np.sum(W / e)
    mu0 = np.sum((1 - W) * Y / (1 - e)) / np.sum((1 - W) / (1 - e))
    th = np.concatenate([gam, [mu1, mu0]])
    V = _sandwich(g_ipw, th, n)
    a = np.zeros(5)
    a[3], a[4] = 1, -1
    ours = ipw(d, "y", "w", ["x1", "x2"], estimand="ATE")
    assert ours.estimate == pytest.approx(mu1 - mu0, rel=1e-10)
    assert ours.se == pytest.approx(np.sqrt(a @ V @ a), rel=1e-4)

    # AIPW ATE: theta = (gamma, delta1, delta0, tau).
    def g_aipw(t):
        e = expit(X @ t[:3])
        m1, m0 = X @ t[3:6], X @ t[6:9]
        phi = m1 - m0 + W * (Y - m1) / e - (1 - W) * (Y - m0) / (1 - e)
        return np.column_stack([X * (W - e)[:, None], X * (W * (Y - m1))[:, None],
                                X * ((1 - W) * (Y - m0))[:, None], phi - t[9]])

    d1 = np.linalg.lstsq(X[W == 1], Y[W == 1], rcond=None)[0]
    d0 = np.linalg.lstsq(X[W == 0], Y[W == 0], rcond=None)[0]
    ours = aipw(d, "y", "w", ["x1", "x2"], estimand="ATE")
    th = np.concatenate([gam, d1, d0, [ours.estimate]])
    assert np.abs(g_aipw(th).mean(axis=0)).max() < 1e-8
    V = _sandwich(g_aipw, th, n)
    assert ours.se == pytest.approx(np.sqrt(V[9, 9]), rel=1e-4)


# ---------------------------------------------------------------------------
# Known truth, double robustness, clustering
# ---------------------------------------------------------------------------


def test_recover_known_ate_and_att():
    d, att_true = simulate(n=20000, seed=1)
    naive = d.loc[d.w == 1, "y"].mean() - d.loc[d.w == 0, "y"].mean()
    for est in (ipw, aipw):
        ate = est(d, "y", "w", ["x1", "x2"], estimand="ATE")
        att = est(d, "y", "w", ["x1", "x2"], estimand="ATT")
        assert ate.ci_low < 2.0 < ate.ci_high, ate
        assert att.ci_low < att_true < att.ci_high, att
    # The naive comparison is far off (confounding by x1 is strong).
    assert abs(naive - att_true) > 10 * att.se


def test_aipw_is_doubly_robust():
    rng = np.random.default_rng(7)
    n = 30000
    x = rng.normal(size=n)
    e = expit(0.3 + 1.0 * x + 0.6 * x**2 - 0.5)
    w = (rng.random(n) < e).astype(int)
    y = 1 + 2 * x + 1.5 * x**2 + 1.0 * w + rng.normal(size=n)  # constant effect 1.0
    d = pd.DataFrame({"y": y, "w": w, "x": x})
    # Wrong PS (no x^2), right outcome model.
    a = aipw(d, "y", "w", "x", outcome_covariates="x + I(x**2)", estimand="ATE")
    # Right PS, wrong outcome model (no x^2).
    b = aipw(d, "y", "w", "x + I(x**2)", outcome_covariates="x", estimand="ATE")
    # Both wrong: biased.
    c = aipw(d, "y", "w", "x", outcome_covariates="x", estimand="ATE")
    assert a.ci_low < 1.0 < a.ci_high
    assert b.ci_low < 1.0 < b.ci_high
    assert abs(c.estimate - 1.0) > 4 * c.se


def test_clustered_se():
    d, _ = simulate(n=3000, seed=5)
    # With one unit per cluster the clustered variance is the plain one times G/(G-1).
    single = aipw(d.assign(cl=np.arange(len(d))), "y", "w", ["x1", "x2"], cluster="cl")
    plain = aipw(d, "y", "w", ["x1", "x2"])
    assert single.se == pytest.approx(plain.se * np.sqrt(len(d) / (len(d) - 1)), rel=1e-10)
    assert single.n["clusters"] == len(d)
    # Treatment assigned by cluster plus a shared cluster shock in the outcome: clustered SEs are larger.
    rng = np.random.default_rng(0)
    shock, wc = rng.normal(size=80) * 3, (rng.random(80) < 0.5).astype(int)
    dd = d.assign(w=wc[d.cl], y=d.y + shock[d.cl] + 2 * wc[d.cl])
    assert aipw(dd, "y", "w", ["x1", "x2"], cluster="cl").se > 1.5 * aipw(dd, "y", "w", ["x1", "x2"]).se


def test_aipw_and_ipw_reuse_a_fitted_propensity_score():
    """A fitted score given as ``pscore`` gives the estimate of fitting it again (ATT and ATE,
    clustered, trimmed); a score of other rows or another treatment is refused."""
    d, _ = simulate(n=2500, seed=11)
    ps = propensity_score(d, "w", ["x1", "x2"])
    for est in (aipw, ipw):
        for kw in ({"cluster": "cl"}, {"estimand": "ATE"}, {"trim": "crump", "cluster": "cl"}):
            again, reused = est(d, "y", "w", ["x1", "x2"], **kw), est(d, "y", "w", ["x1", "x2"], pscore=ps, **kw)
            assert (reused.estimate, reused.se, reused.ci_low, reused.ci_high) == (again.estimate, again.se,
                                                                                   again.ci_low, again.ci_high)
    with pytest.raises(CausalInputError, match="other rows"):
        aipw(d.iloc[:-5], "y", "w", ["x1", "x2"], pscore=ps)
    with pytest.raises(CausalInputError, match="another treatment"):
        aipw(d.assign(w2=d["w"]), "y", "w2", ["x1", "x2"], pscore=ps)


def test_trimming_changes_sample_and_reports_it():
    d, _ = simulate(n=3000, seed=9)
    d.loc[:40, "x1"] += 4  # create some extreme scores
    full = ipw(d, "y", "w", ["x1", "x2"], estimand="ATE")
    trimmed = ipw(d, "y", "w", ["x1", "x2"], estimand="ATE", trim="crump")
    alpha = trimmed.options["trim"] and trimmed.diagnostics["alpha"]
    assert alpha > 0
    assert trimmed.n["units"] == full.n["units"] - trimmed.diagnostics["trimmed"]
    assert trimmed.diagnostics["trimmed"] > 0
    fixed = ipw(d, "y", "w", ["x1", "x2"], estimand="ATE", trim=0.1)
    assert fixed.diagnostics["alpha"] == 0.1


# ---------------------------------------------------------------------------
# Propensity score and overlap
# ---------------------------------------------------------------------------


def test_propensity_matches_sklearn_unpenalised_logit():
    from sklearn.linear_model import LogisticRegression

    d, _ = simulate(n=2000, seed=2)
    ps = propensity_score(d, "w", ["x1", "x2"])
    sk = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(d[["x1", "x2"]], d["w"])
    assert np.allclose(ps.params.iloc[1:], sk.coef_[0], atol=1e-5)
    assert ps.params.iloc[0] == pytest.approx(sk.intercept_[0], abs=1e-5)
    assert np.allclose(ps.scores, sk.predict_proba(d[["x1", "x2"]])[:, 1], atol=1e-6)


def test_crump_alpha_solves_its_defining_equation():
    rng = np.random.default_rng(4)
    e = expit(rng.normal(scale=2.5, size=5000))
    alpha = crump_alpha(e)
    assert 0 < alpha < 0.5
    g = 1 / (e * (1 - e))

    def f(a):  # 1/(a(1-a)) - 2 E[g | g <= 1/(a(1-a))]
        c = 1 / (a * (1 - a))
        return c - 2 * g[g <= c].mean()

    # The defining equation changes sign at alpha (a step function on a finite sample).
    assert f(alpha * 0.98) <= 0 <= f(alpha * 1.02) or f(alpha * 0.98) >= 0 >= f(alpha * 1.02)
    # Good overlap: no trimming.
    assert crump_alpha(rng.uniform(0.3, 0.7, 1000)) == 0.0


def test_overlap_table_and_repr():
    d, _ = simulate(n=1000, seed=6)
    ps = propensity_score(d, "w", ["x1", "x2"])
    ov = ps.overlap()
    assert list(ov.index) == ["treated", "comparison"]
    assert ov.loc["treated", "n"] == d.w.sum()
    assert ov.loc["treated", "min"] <= ov.loc["treated", "median"] <= ov.loc["treated", "max"]
    assert "Crump alpha" in repr(ps)
    ax = ps.plot()
    assert ax.get_xlabel() == "propensity score"


def test_clear_errors():
    d, _ = simulate(n=500)
    with pytest.raises(KeyError, match="treatment column"):
        ipw(d, "y", "treated", ["x1"])
    with pytest.raises(ValueError, match="must be 0/1"):
        ipw(d.assign(w=d.w * 2 + 1), "y", "w", ["x1"])
    with pytest.raises(ValueError, match="estimand"):
        aipw(d, "y", "w", ["x1"], estimand="ATC")
    with pytest.raises(ValueError, match="trim must be"):
        ipw(d, "y", "w", ["x1"], trim="yes")
    with pytest.raises(ValueError, match="collinear among the comparison"):
        aipw(d.assign(k=np.where(d.w == 0, 1.0, d.x2)), "y", "w", ["x1"], outcome_covariates=["x1", "k"])
    with pytest.raises(ValueError, match="missing values"):
        ipw(d.assign(y=np.where(d.index == 3, np.nan, d.y)), "y", "w", ["x1"])
    with pytest.raises(CausalInputError, match="perfect separation|predicts treatment"):
        propensity_score(d.assign(z=d.w * 10.0), "w", ["z"])
    with pytest.raises(ValueError, match="collinear"):
        propensity_score(d.assign(x3=2 * d.x1), "w", ["x1", "x3"])


@pytest.mark.slow
def test_ci_coverage_monte_carlo():
    """95% CIs of IPW and AIPW (ATE and ATT) cover the truth at about the nominal rate."""
    reps = 250
    hits = {k: 0 for k in ["ipw_ATE", "ipw_ATT", "aipw_ATE", "aipw_ATT"]}
    for r in range(reps):
        d, att_true = simulate(n=800, seed=100 + r)
        for name, est in [("ipw", ipw), ("aipw", aipw)]:
            for estimand, truth in [("ATE", 2.0), ("ATT", att_true)]:
                e = est(d, "y", "w", ["x1", "x2"], estimand=estimand)
                hits[f"{name}_{estimand}"] += e.ci_low < truth < e.ci_high
    # Binomial(250, 0.95): 99.9% of draws within [0.91, 0.985]. (The ATT truth uses the
    # sample's true scores, a finite-sample target; coverage is still nominal.)
    print("coverage of 95% CIs:", {k: h / reps for k, h in hits.items()})
    for k, h in hits.items():
        assert 0.91 <= h / reps <= 0.985, (k, h / reps)
