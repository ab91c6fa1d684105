"""The joint pre-trend test (``_cs_inference.joint_test``) behind ``att_gt(...).pretrend_test()``
and ``event_study(...).pretrend``: the bootstrap draws against a brute-force refit, the
fields and texts the studies read, determinism, and errors. Its size: test_pretrend_size.py."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaltools.estimate import att_gt, event_study
from evaltools.estimate.diff_in_diff import _cs_inference as inf

from tests.simulate import staggered_panel

T = 6


@pytest.fixture(scope="module")
def clustered() -> pd.DataFrame:
    """Two cohorts (4, 5) and never treated, 40 clusters of unequal size, unit weights."""
    df = staggered_panel(n=400, T=T, cohorts=(4, 5), seed=5)
    rng = np.random.default_rng(1)
    ids = df["id"].to_numpy()
    df["cl"] = (ids * 13 + 5) % 40                      # clusters scattered over the unit ids
    df["w"] = np.repeat(rng.uniform(1, 50, df["id"].nunique()), T)
    return df


def _fit(df: pd.DataFrame, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return att_gt(df, "y", "id", "t", "g", weights="w", cluster="cl", base_period="universal", **kw)


def _pre_pieces(res):
    c, d = res._cells, res._d
    pre = (c.time < c.group) & np.isfinite(c.att) & c.nonzero()
    js = np.flatnonzero(pre)
    return js, c.att[pre], c.dense(js), res._cell_groups(js), d


def test_a_bootstrap_draw_equals_refitting_att_gt_on_the_restricted_bootstrap_data(clustered):
    """Each draw is the estimator refitted on wild-bootstrap data with H0 imposed: per cohort,
    y*_it = y_ib + mu_t + v_c (dy_it - mu_t) with mu_t the pooled weighted mean of the cell's
    dy = y_t - y_base; att_gt on that data gives theta*, its influence functions V*, and so W*
    and max|t*|, which must equal the draw's (computed without refitting)."""
    res = _fit(clustered)
    js, est, M, groups, d = _pre_pieces(res)
    boot = inf.cell_bootstrap(est, M, d.cluster, d.n_clusters, groups)
    V = inf.cluster_sums(M, d.cluster, d.n_clusters)
    V = V.T @ V / M.shape[0] ** 2
    evals, U = np.linalg.eigh(V)
    rng = np.random.default_rng(3)
    v = inf.bootstrap_weights("webb", d.n_clusters, 3, rng)
    ZP = boot.Z @ boot.P.T
    theta, psi = inf._draw(boot, v, ZP, None)
    W_fast, t_fast = inf._statistics(theta, psi, U)
    # brute force: one refit per draw and cohort (the cells of a cohort share its base period)
    cells = res.table.iloc[js][["group", "time"]].to_numpy()
    wide = clustered.pivot(index="id", columns="t", values="y")
    unit = clustered.drop_duplicates("id").set_index("id").loc[wide.index]
    code = pd.Series(d.cluster, index=np.asarray(d.unit_ids)).loc[wide.index].to_numpy()
    for b in range(v.shape[0]):
        theta_b, IF_b = [], []
        for g in np.unique(cells[:, 0]):
            base = g - 1
            star = wide.copy()
            rows = ((unit["g"] == g) | (unit["g"] == 0)).to_numpy()
            w = unit["w"].to_numpy()[rows]
            for t in cells[cells[:, 0] == g, 1]:
                dy = (wide[t] - wide[base]).to_numpy()[rows]
                mu = np.sum(w * dy) / np.sum(w)
                star.loc[rows, t] = wide[base].to_numpy()[rows] + mu + v[b, code[rows]] * (dy - mu)
            long = star.stack().rename("y").reset_index().merge(
                unit[["g", "w", "cl"]].reset_index(), on="id")
            refit = _fit(long)
            tab = refit.table.reset_index(drop=True)
            for t in cells[cells[:, 0] == g, 1]:
                j = int(np.flatnonzero((tab["group"] == g) & (tab["time"] == t))[0])
                theta_b.append(tab.loc[j, "att"])
                IF_b.append(refit._cells.dense(np.array([j]))[:, 0])
        th = np.array(theta_b)
        ids_refit = np.asarray(refit._d.unit_ids)
        order = pd.Series(np.arange(len(ids_refit)), index=ids_refit).loc[np.asarray(d.unit_ids)].to_numpy()
        IFm = np.column_stack(IF_b)[order]
        S = inf.cluster_sums(IFm, d.cluster, d.n_clusters)
        Vb = S.T @ S / IFm.shape[0] ** 2
        np.testing.assert_allclose(theta[b], th, rtol=1e-9, atol=1e-12)
        assert W_fast[b] == pytest.approx(float(th @ np.linalg.solve(Vb, th)), rel=1e-8)
        assert t_fast[b] == pytest.approx(float(np.max(np.abs(th) / np.sqrt(np.diag(Vb)))), rel=1e-8)


def test_the_draw_with_all_weights_one_is_the_sample(clustered):
    res = _fit(clustered)
    js, est, M, groups, d = _pre_pieces(res)
    boot = inf.cell_bootstrap(est, M, d.cluster, d.n_clusters, groups)
    (W1, t1), _, _ = inf.wild_test_draws(boot, np.eye(est.shape[0]), 9, "webb", np.random.default_rng(0))
    pt = res.pretrend_test("chi2")
    assert W1 == pytest.approx(pt.statistic, rel=1e-9)
    assert t1 == pytest.approx(pt.max_t, rel=1e-9)


def test_default_is_the_bootstrap_sup_t_and_keeps_every_p_value(clustered):
    res = _fit(clustered, n_boot=99, seed=4)
    pt = res.pretrend_test()
    q, G = pt.df, pt.n_clusters
    assert (pt.test, pt.weight_type, pt.n_boot, pt.seed, G) == ("sup-t", "webb", 9999, 4, 40)
    assert pt.pvalue == pt.pvalue_sup_t and 1 / 10000 <= pt.pvalue <= 1
    assert pt.pvalue_chi2 == pytest.approx(stats.chi2.sf(pt.statistic, q), rel=1e-12)
    F = pt.statistic / q * (G - q) / (G - 1)
    assert (pt.f_statistic, pt.df_den) == (pytest.approx(F, rel=1e-12), G - q)
    assert pt.pvalue_f == pytest.approx(stats.f.sf(F, q, G - q), rel=1e-12)
    assert 0 < pt.pvalue_wild <= 1
    text = repr(pt)
    assert text.startswith("pre-trend test: wild cluster bootstrap sup-t test of")
    assert "9,999 draws, 40 clusters, seed 4" in text and f"chi2({q}) p = {pt.pvalue_chi2:.4g}" in text
    d = pt.to_dict()
    assert d["test"] == "sup-t" and d["pvalue"] == pt.pvalue and d["method"] == pt.method
    # the summary and to_dict reuse the test (computed once per options)
    assert res.pretrend_test() is pt and repr(pt) in res.summary()


def test_same_seed_same_p_value_and_the_seed_matters(clustered):
    a, b = _fit(clustered), _fit(clustered)
    assert a.pretrend_test(n_boot=499, seed=1).pvalue == b.pretrend_test(n_boot=499, seed=1).pvalue
    draws = [a.pretrend_test("wild", n_boot=499, seed=s).pvalue for s in (1, 2, 3)]
    assert len(set(draws)) > 1


@pytest.mark.parametrize("method, field", [("chi2", "pvalue_chi2"), ("F", "pvalue_f"), ("wild", "pvalue_wild")])
def test_other_tests_on_request(clustered, method, field):
    pt = _fit(clustered).pretrend_test(method, n_boot=199)
    assert pt.test == method and pt.pvalue == getattr(pt, field)
    assert np.isnan(pt.pvalue_sup_t) == (method != "wild")


def test_a_violated_pre_trend_is_detected():
    df = staggered_panel(n=1500, T=T, seed=12, pretrend=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = att_gt(df, "y", "id", "t", "g", base_period="universal")
    pt = res.pretrend_test()
    assert pt.pvalue < 0.01 and pt.n_boot == 1999          # units as clusters: 1,999 draws


def test_bad_options_are_explained(clustered):
    res = _fit(clustered)
    with pytest.raises(ValueError, match="method must be one of .*'sup-t'.*got 'bonferroni'"):
        res.pretrend_test("bonferroni")
    with pytest.raises(ValueError, match="weight_type must be 'webb' or 'rademacher'"):
        res.pretrend_test(weight_type="mammen")
    with pytest.raises(ValueError, match="n_boot must be at least 99"):
        res.pretrend_test(n_boot=10)


def test_event_study_uses_the_same_test():
    df = staggered_panel(n=600, T=T, seed=3)
    df["cl"] = df["id"] % 30
    res = event_study(df, "y", "id", "t", "g", cluster="cl", seed=2)
    p = res.pretrend
    q, G = int(p["df_num"]), 30
    assert p["test"] == "sup-t" and p["n_clusters"] == G and p["n_boot"] == 9999
    assert p["wald"] == p["statistic"] and p["pvalue"] == p["pvalue_sup_t"]
    assert p["pvalue_chi2"] == pytest.approx(stats.chi2.sf(p["wald"], q), rel=1e-12)
    assert p["F"] == pytest.approx(p["wald"] / q * (G - q) / (G - 1), rel=1e-12) and p["df_den"] == G - q
    assert p["pvalue_f"] == pytest.approx(stats.f.sf(p["F"], q, G - q), rel=1e-12)
    chi = res.pretrend_test("chi2")
    assert chi.pvalue == chi.pvalue_chi2 == pytest.approx(p["pvalue_chi2"], rel=1e-12)
    assert res.pretrend_test().to_dict().items() <= p.items()     # the stored dict is the default test
    assert res.pretrend_test(weight_type="rademacher").weight_type == "rademacher"
    assert "Pre-trends (wild cluster bootstrap sup-t test" in repr(res)
    # the leads' bootstrap: the draw with all weights one is the sample, up to CRV1's
    # small-sample factor G/(G-1) (N-1)/(N-K)
    from evaltools.estimate.diff_in_diff.event_time import _lead_scores

    leads = [k for k in res.vcov.index if k < 0]
    R = np.zeros((len(leads), len(res.fit._coefnames)))
    for i, k in enumerate(leads):
        R[i, res.fit._coefnames.index(f"ev_m{-k}")] = 1.0
    boot = _lead_scores(res.fit, R, df["cl"].to_numpy())
    (W1, t1), _, _ = inf.wild_test_draws(boot, np.eye(q), 9, "webb", np.random.default_rng(0))
    factor = W1 / p["wald"]
    assert factor == pytest.approx(t1**2 / p["max_t"] ** 2, rel=1e-9)
    assert G / (G - 1) <= factor < G / (G - 1) * 1.01, factor
