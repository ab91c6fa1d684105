"""evaltools.estimate.glm: IRLS with a CR1 cluster-robust covariance, the clustered difference in
means and g-computation, each against an independent implementation (statsmodels)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from evaltools.estimate.glm import difference_in_means, g_computation, irls


def _data(family: str, seed: int = 3):
    rng = np.random.default_rng(seed)
    n, groups = 3000, np.repeat(np.arange(60), 50)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    eta = X @ np.array([-1.0, 0.4, -0.3]) + rng.normal(0, 0.3, 60)[groups]
    if family == "cloglog":
        y = rng.random(n) < -np.expm1(-np.exp(eta))
    else:
        y = {"gaussian": eta + rng.normal(size=n), "poisson": rng.poisson(np.exp(eta)),
             "binomial": rng.random(n) < 1 / (1 + np.exp(-eta))}[family]
    return X, y.astype(float), groups


@pytest.mark.parametrize("family", ["gaussian", "poisson", "binomial", "cloglog"])
def test_irls_matches_statsmodels_glm_with_clustered_errors(family):
    X, y, groups = _data(family)
    links = sm.families.links
    fam = {"gaussian": sm.families.Gaussian(), "poisson": sm.families.Poisson(), "binomial": sm.families.Binomial(),
           "cloglog": sm.families.Binomial(link=links.CLogLog())}[family]
    ref = sm.GLM(y, X, family=fam).fit(cov_type="cluster", cov_kwds={"groups": groups}, tol=1e-13)
    fit = irls(X, y, family="binomial" if family == "cloglog" else family,
               link="cloglog" if family == "cloglog" else None, groups=groups)
    assert fit.converged and fit.clusters == 60 and fit.n == 3000 and fit.k == 3
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(fit.se(), ref.bse, rtol=1e-6)


def test_irls_frequency_weights_equal_repeated_rows_and_no_groups_is_hc1():
    X, y, groups = _data("binomial", seed=5)
    w = np.random.default_rng(1).integers(0, 3, len(y)).astype(float)
    weighted = irls(X, y, weights=w, covariance=False)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    repeated = irls(X[rows], y[rows], covariance=False)
    assert weighted.cov is None
    np.testing.assert_allclose(weighted.params, repeated.params, rtol=1e-8)
    # without groups each row is its own cluster: CR1 with G = N, i.e. N / (N - K) (HC1)
    ref = sm.GLM(y, X, family=sm.families.Binomial()).fit(cov_type="cluster", cov_kwds={"groups": np.arange(len(y))})
    np.testing.assert_allclose(irls(X, y).se(), ref.bse, rtol=1e-6)


def test_irls_reports_separation_and_refuses_unknown_options():
    X = np.column_stack([np.ones(40), np.r_[np.zeros(20), np.ones(20)]])
    y = np.r_[np.zeros(20), np.ones(20)]  # the regressor predicts y perfectly: no MLE
    fit = irls(X, y)
    mu = 1 / (1 + np.exp(-X @ fit.params))
    assert not fit.converged or np.any((mu < 1e-8) | (mu > 1 - 1e-8))
    with pytest.raises(ValueError, match="family must be one of gaussian, poisson, binomial"):
        irls(X, y, family="gamma")
    with pytest.raises(ValueError, match="The poisson family takes the link log; got 'logit'"):
        irls(X, y, family="poisson", link="logit")


def test_difference_in_means_is_the_clustered_ols_slope_with_a_t_interval():
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(25), 12)
    d = (rng.random(len(g)) < 0.4).astype(float)
    y = 2.0 + 0.5 * d + rng.normal(0, 1, 25)[g] + rng.normal(size=len(g))
    est = difference_in_means(y, d, g, estimand="diff", n={"units": 7})
    ref = sm.OLS(y, sm.add_constant(d)).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
    assert est.estimate == pytest.approx(y[d == 1].mean() - y[d == 0].mean())
    assert est.se == pytest.approx(ref.bse[1], rel=1e-9)
    crit = stats.t.ppf(0.975, 24)  # G - 1 degrees of freedom
    assert est.ci_high - est.estimate == pytest.approx(crit * est.se)
    assert est.pvalue == pytest.approx(ref.pvalues[1], rel=1e-9)
    assert est.n == {"units": 7, "clusters": 25}


def test_difference_in_means_refuses_bad_groups_and_missing_cluster_ids():
    y, d = np.arange(6.0), np.array([0, 1, 0, 1, 0, 1.0])
    with pytest.raises(ValueError, match="row\\(s\\) have no cluster id"):
        difference_in_means(y, d, np.array(["a", None, "b", "b", "c", "c"], dtype=object))
    with pytest.raises(ValueError, match="must be 0/1 with both groups"):
        difference_in_means(y, np.zeros(6), np.arange(6))
    with pytest.raises(ValueError, match="at least 2 clusters"):
        difference_in_means(y, d, np.zeros(6))


def test_g_computation_matches_a_statsmodels_logit_and_a_numerical_gradient():
    X, y, groups = _data("binomial", seed=8)
    ref = sm.Logit(y, X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": groups})
    b, V = ref.params, ref.cov_params()
    treated = X[:, 2] == 1
    X1 = X[treated]
    X0 = X1.copy()
    X0[:, 2] = 0.0
    est = g_computation(b, V, X1, X0, estimand="ATT", report_means=True)
    expit = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    att = lambda beta: float(np.mean(expit(X1 @ beta) - expit(X0 @ beta)))  # noqa: E731
    assert est.estimate == pytest.approx(att(b))
    h = 1e-6
    grad = np.array([(att(b + h * e) - att(b - h * e)) / (2 * h) for e in np.eye(3)])
    assert est.se == pytest.approx(float(np.sqrt(grad @ V @ grad)), rel=1e-5)
    assert est.diagnostics["p_treated"] - est.diagnostics["p_untreated"] == pytest.approx(est.estimate)
    assert "p_treated" not in g_computation(b, V, X1, X0, estimand="ATT").diagnostics  # rates only when asked
    with pytest.raises(ValueError, match="no rows to average over"):
        g_computation(b, V, X1[:0], X0[:0], estimand="ATT")


def test_difference_in_means_with_few_clusters_says_so_and_offers_cr2():
    from evaltools.estimate.cluster_robust import FEW_CLUSTERS, cr2

    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(8), 20)
    d = (g % 2).astype(float)  # treatment at the cluster level, 8 clusters
    y = 0.3 * d + rng.normal(0, 1, 8)[g] + rng.normal(size=len(g))
    cr1 = difference_in_means(y, d, g, estimand="diff")
    note = cr1.diagnostics["few_clusters"]
    assert note["clusters"] == 8 < FEW_CLUSTERS and "CR2" in note["note"]
    X = np.column_stack([np.ones_like(d), d])
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    ref = cr2(X, y - X @ b, g).test(b, np.array([0.0, 1.0]))
    two = difference_in_means(y, d, g, estimand="diff", vcov="cr2")  # any case
    assert two.se == pytest.approx(ref["se"]) and two.diagnostics["df"] == pytest.approx(ref["df"])
    assert two.ci_high - two.ci_low > cr1.ci_high - cr1.ci_low  # CR2 with Satterthwaite df is wider here
    assert note["alternative"]["se"] == pytest.approx(ref["se"])
    many = difference_in_means(*_many_clusters(), estimand="diff")
    assert "few_clusters" not in many.diagnostics
    with pytest.raises(ValueError, match="CR1.*CR2"):
        difference_in_means(y, d, g, vcov="HC3")


def _many_clusters():
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(40), 5)
    d = (rng.random(len(g)) < 0.5).astype(float)
    return rng.normal(size=len(g)), d, g


def test_nonlinear_glms_with_few_clusters_say_so_without_an_alternative():
    """No CR2 for logit/cloglog/poisson (docs/r_conventions.md): the few-clusters note has
    alternative None, on the fit and on g_computation's Estimate; linear fits and many
    clusters carry no note."""
    X, y, groups = _data("binomial")
    few = groups % 12
    fit = irls(X, y, groups=few)
    info = fit.diagnostics["few_clusters"]
    assert info["clusters"] == 12 and info["alternative"] is None and "not offered" in info["note"]
    assert irls(X, y, groups=groups).diagnostics == {}  # 60 clusters
    assert irls(X, y).diagnostics == {}  # no clusters: HC1
    assert irls(X, y, family="gaussian", groups=few).diagnostics == {}  # linear: difference_in_means has CR2
    X1, X0 = X.copy(), X.copy()
    X1[:, 2], X0[:, 2] = 1.0, 0.0
    est = g_computation(fit.params, fit.cov, X1, X0, estimand="ATE", n={"clusters": 12})
    assert est.diagnostics["few_clusters"] == info
    assert "Few clusters (12)" in repr(est)
    assert "few_clusters" not in g_computation(fit.params, fit.cov, X1, X0, estimand="ATE",
                                               n={"clusters": 60}).diagnostics


def test_difference_in_means_old_keywords_warn_and_give_the_same_numbers():
    y, d, g = _many_clusters()
    new = difference_in_means(y, d, g, estimand="diff")
    with pytest.warns(DeprecationWarning, match="clusters= is now cluster="):
        old = difference_in_means(y, d, clusters=g, estimand="diff")
    assert (old.estimate, old.se, old.ci_low, old.pvalue) == (new.estimate, new.se, new.ci_low, new.pvalue)
    same = difference_in_means(values=y, treatment=d, cluster=g, estimand="diff")
    assert same.se == new.se
