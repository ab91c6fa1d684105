"""CR2 (Bell-McCaffrey) with Satterthwaite df: against R clubSandwich and a dense
implementation written here from the formulas (Pustejovsky & Tipton 2018, JBES
36(4), eqs. 5-11; Imbens & Kolesar 2016), and the few-clusters diagnostic of the
estimators that offer it.

R reference: tests/fixtures/r_reference/cr2_reference.csv, written by
cr2_reference.R there (clubSandwich 0.5.8, Debian r-cran-clubsandwich) from the
two CSV files beside it. ``test_r_reference_is_current`` reruns R when it is installed.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import linalg

from evaltools.estimate import cluster_mean, did_2x2, match, twfe
from evaltools.estimate.cluster_robust import FEW_CLUSTERS, MAX_COLUMNS, cr2, cr2_fit, fe_design, few_clusters
from tests import FIXTURES

REF = FIXTURES / "r_reference"


# --------------------------------------------------------------------------- dense reference
def dense_cr2(X, y, cl, w=None):
    """Everything N x N, straight from the formulas (working model Phi = I)."""
    N, p = X.shape
    w = np.ones(N) if w is None else w
    W = np.diag(w)
    M = np.linalg.pinv(X.T @ W @ X)
    b = M @ X.T @ W @ y
    e = y - X @ b
    IH = np.eye(N) - X @ M @ X.T @ W
    groups = [np.flatnonzero(cl == g) for g in np.unique(cl)]
    A = []
    for idx in groups:
        B = (IH @ IH.T)[np.ix_(idx, idx)]
        A.append(np.real(linalg.sqrtm(np.linalg.pinv(B))))
    meat = sum(np.outer(X[i].T @ W[np.ix_(i, i)] @ a @ e[i], X[i].T @ W[np.ix_(i, i)] @ a @ e[i])
               for i, a in zip(groups, A))
    V = M @ meat @ M

    def df(c):
        P = []
        for i, a in zip(groups, A):
            P.append(IH[i].T @ a.T @ W[np.ix_(i, i)] @ X[i] @ M @ c)
        Om = np.array(P) @ np.array(P).T
        return np.trace(Om) ** 2 / np.sum(Om**2)

    return b, V, df


def _small():
    return pd.read_csv(REF / "cr2_small.csv")


def _r(case):
    r = pd.read_csv(REF / "cr2_reference.csv")
    return r[r.case == case].set_index("term")


@pytest.mark.parametrize("weighted", [False, True])
def test_cr2_matches_dense_formulas(weighted):
    rng = np.random.default_rng(7)
    G = 11
    cl = np.repeat(np.arange(G), rng.integers(1, 9, G))
    N = len(cl)
    X = np.column_stack([np.ones(N), rng.normal(size=N), rng.binomial(1, 0.4, N)])
    y = X @ [1, 0.5, -1] + rng.normal(size=N) + rng.normal(size=G)[cl]
    w = rng.uniform(0.3, 3, N) if weighted else None
    b, V, df = dense_cr2(X, y, cl, w)
    e = y - X @ b
    res = cr2(X, e, cl, weights=w)
    np.testing.assert_allclose(res.vcov, V, rtol=1e-9, atol=1e-13)
    for c in [np.eye(3)[1], np.eye(3)[2], np.array([0, 1.0, -2.0])]:
        assert res.df(c) == pytest.approx(df(c), rel=1e-9)


@pytest.mark.parametrize("case,weights", [("ols", None), ("wls", "w")])
def test_cr2_matches_clubsandwich(case, weights):
    d = _small()
    X = np.column_stack([np.ones(len(d)), d.x, d.z])
    tests = cr2_fit(X, d.y.to_numpy(), d.g.to_numpy(), weights=None if weights is None else d[weights].to_numpy())
    ref = _r(case)
    for t, term in zip(tests, ["(Intercept)", "x", "z"]):
        assert t["estimate"] == pytest.approx(ref.loc[term, "estimate"], rel=1e-8)
        assert t["se"] == pytest.approx(ref.loc[term, "se"], rel=1e-8)
        assert t["df"] == pytest.approx(ref.loc[term, "df"], rel=1e-8)
        assert t["pvalue"] == pytest.approx(ref.loc[term, "p"], rel=1e-8)


def test_absorbed_nested_fixed_effects_equal_dummies_in_clubsandwich():
    """Cluster FE absorbed (P&T 2018 sec. 3.2), period FE as dummies: same as lm with both as dummies."""
    d = _small()
    tests = cr2_fit(d[["x", "z"]].to_numpy(), d.y.to_numpy(), d.g.to_numpy(),
                    fe_codes=d[["g", "t"]].to_numpy().astype(np.uint64))
    ref = _r("fe_nested")
    for t, term in zip(tests, ["x", "z"]):
        assert t["estimate"] == pytest.approx(ref.loc[term, "estimate"], rel=1e-8)
        assert t["se"] == pytest.approx(ref.loc[term, "se"], rel=1e-8)
        assert t["df"] == pytest.approx(ref.loc[term, "df"], rel=1e-8)


@pytest.mark.parametrize("cluster,case", [("unit", "twfe_unit"), ("school", "twfe_school")])
def test_twfe_cr2_matches_clubsandwich(cluster, case):
    p = pd.read_csv(REF / "cr2_panel.csv")
    r = twfe(p, "y", "d", "unit", "time", covariates="x", cluster=cluster, vcov="CR2")
    ref = _r(case)
    assert r.estimate.estimate == pytest.approx(ref.loc["d", "estimate"], rel=1e-8)
    assert r.estimate.se == pytest.approx(ref.loc["d", "se"], rel=1e-8)
    assert r.table.loc["x", "se"] == pytest.approx(ref.loc["x", "se"], rel=1e-8)
    assert r.table.loc["x", "pvalue"] == pytest.approx(ref.loc["x", "p"], rel=1e-8)
    fc = r.estimate.diagnostics["few_clusters"]
    assert fc["clusters"] == p[cluster].nunique() and fc["alternative"]["df"] == pytest.approx(ref.loc["d", "df"], rel=1e-8)
    # the default stays CR1 (pyfixest), with the CR2 interval as the few-clusters alternative
    r1 = twfe(p, "y", "d", "unit", "time", covariates="x", cluster=cluster)
    assert r1.estimate.se != pytest.approx(r.estimate.se, rel=1e-3)
    assert r1.estimate.diagnostics["few_clusters"]["alternative"]["se"] == pytest.approx(r.estimate.se, rel=1e-12)


def test_cluster_mean_cr2_matches_clubsandwich_and_cr1_is_unchanged():
    d = _small()
    ref = _r("mean").loc["(Intercept)"]
    e2 = cluster_mean(d.y, d.g, vcov="CR2")
    assert (e2.se, e2.pvalue) == pytest.approx((ref["se"], ref["p"]), rel=1e-8)
    e1 = cluster_mean(d.y, d.g)
    G = d.g.nunique()
    scores = d.groupby("g").y.sum() - d.y.mean() * d.groupby("g").size()
    assert e1.se == pytest.approx(np.sqrt(G / (G - 1) * (scores**2).sum()) / len(d), rel=1e-12)
    assert e1.diagnostics["few_clusters"]["alternative"]["se"] == pytest.approx(ref["se"], rel=1e-8)


def test_did_2x2_cr2_equals_the_regression_cr2():
    rng = np.random.default_rng(2)
    n = 400
    d = pd.DataFrame({"school": rng.integers(0, 12, n), "post": rng.integers(0, 2, n)})
    d["treated"] = (d.school < 5).astype(int)
    d["y"] = 0.4 * d.treated * d.post + rng.normal(size=n) + rng.normal(size=12)[d.school]
    r = did_2x2(d, "y", "treated", "post", cluster="school", vcov="CR2")
    X = np.column_stack([np.ones(n), d.treated, d.post, d.treated * d.post])
    b, V, df = dense_cr2(X, d.y.to_numpy(float), d.school.to_numpy())
    c = np.array([0, 0, 0, 1.0])
    assert r.estimate.se == pytest.approx(np.sqrt(c @ V @ c), rel=1e-9)
    from scipy import stats
    crit = stats.t.ppf(0.975, df(c))
    assert r.estimate.ci_high - r.estimate.estimate == pytest.approx(crit * np.sqrt(c @ V @ c), rel=1e-9)
    assert r.table.loc["Difference-in-differences", "se"] == pytest.approx(r.estimate.se)
    with pytest.raises(ValueError, match="give cluster="):
        did_2x2(d, "y", "treated", "post", vcov="CR2")
    with pytest.raises(ValueError, match="vcov must be"):
        did_2x2(d, "y", "treated", "post", cluster="school", vcov="CR3")


def test_few_clusters_flag_follows_the_threshold():
    rng = np.random.default_rng(4)
    for G, flagged in [(FEW_CLUSTERS - 1, True), (FEW_CLUSTERS, False)]:
        cl = np.repeat(np.arange(G), 10)
        e = cluster_mean(rng.normal(size=len(cl)), cl)
        assert ("few_clusters" in e.diagnostics) is flagged
        if flagged:
            fc = e.diagnostics["few_clusters"]
            assert fc["clusters"] == G and str(G) in fc["note"] and fc["alternative"]["method"].startswith("CR2")
    assert few_clusters(FEW_CLUSTERS) is None


def test_matching_cluster_cr2_and_few_clusters():
    rng = np.random.default_rng(9)
    n = 300
    d = pd.DataFrame({"x": rng.normal(size=n), "school": rng.integers(0, 8, n)})
    d["t"] = (rng.random(n) < 1 / (1 + np.exp(-d.x))).astype(int)
    d["y"] = d.x + 0.5 * d.t + rng.normal(size=n)
    m1 = match(d, "y", "t", ["x"], cluster="school").estimate
    m2 = match(d, "y", "t", ["x"], cluster="school", vcov="CR2").estimate
    assert m1.estimate == m2.estimate
    wts = match(d, "y", "t", ["x"]).weights.to_numpy()
    keep = wts > 0
    X = np.column_stack([np.ones(keep.sum()), d.t[keep]])
    _, V, df = dense_cr2(X, d.y.to_numpy()[keep], d.school.to_numpy()[keep], wts[keep])
    assert m2.se == pytest.approx(np.sqrt(V[1, 1]), rel=1e-9)
    assert m1.diagnostics["few_clusters"]["alternative"]["df"] == pytest.approx(df(np.array([0, 1.0])), rel=1e-9)


def test_design_size_limit_is_a_clear_error():
    n = 2 * MAX_COLUMNS + 10
    cl = np.arange(n) % 2
    codes = np.column_stack([cl, np.arange(n) // 2]).astype(np.uint64)  # each 2nd-factor level in both clusters
    with pytest.raises(ValueError, match="over the limit") as err:
        fe_design(np.ones((n, 1)), codes, cl, names=["school", "teacher"])
    assert "teacher" in str(err.value) and "school" not in str(err.value).split("(")[1].split(")")[0]
    assert fe_design(np.ones((n // 4, 1)), codes[: n // 4], cl[: n // 4]).shape[1] == 1 + codes[: n // 4, 1].max()


def test_cr2_refuses_missing_cluster_ids():
    with pytest.raises(ValueError, match="missing"):
        cr2(np.ones((4, 1)), np.zeros(4), np.array([1.0, np.nan, 2.0, 2.0]))


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed (apt-get install r-base-core "
                    "r-cran-clubsandwich); the stored reference values are checked by the other tests")
def test_r_reference_is_current(tmp_path):
    for f in ["cr2_small.csv", "cr2_panel.csv", "cr2_reference.R"]:
        shutil.copy(REF / f, tmp_path / f)
    run = subprocess.run(["Rscript", "cr2_reference.R"], cwd=tmp_path, capture_output=True, text=True)
    if "there is no package called" in run.stderr:
        pytest.skip("R package clubSandwich is not installed (r-cran-clubsandwich)")
    assert run.returncode == 0, run.stderr
    new, old = pd.read_csv(tmp_path / "cr2_reference.csv"), pd.read_csv(REF / "cr2_reference.csv")
    np.testing.assert_allclose(new[["estimate", "se", "df"]], old[["estimate", "se", "df"]], rtol=1e-10)


def test_estimators_without_cr2_still_flag_few_clusters():
    from evaltools.estimate import att_gt, ipw

    rng = np.random.default_rng(12)
    n = 600
    d = pd.DataFrame({"x": rng.normal(size=n), "school": rng.integers(0, 10, n)})
    d["t"] = (rng.random(n) < 1 / (1 + np.exp(-d.x))).astype(int)
    d["y"] = d.x + d.t + rng.normal(size=n)
    fc = ipw(d, "y", "t", ["x"], cluster="school").diagnostics["few_clusters"]
    assert fc["clusters"] == 10 and fc["alternative"] is None and "too narrow" in fc["note"]
    assert "few_clusters" not in ipw(d.assign(school=np.arange(n) % 40), "y", "t", ["x"], cluster="school").diagnostics
    p = pd.read_csv(REF.parent / "mpdta.csv")
    p["state"] = p.countyreal % 12
    agg = att_gt(p, "lemp", "countyreal", "year", "first.treat", cluster="state").aggregate("simple")
    assert agg.overall.diagnostics["few_clusters"]["clusters"] == 12


def test_event_study_cr2_effects_equal_cr2_fit():
    from evaltools.estimate import event_study

    p = pd.read_csv(REF / "cr2_panel.csv")
    p["cohort"] = p.groupby("unit").apply(lambda g: g.time[g.d == 1].min() if g.d.any() else 0,
                                          include_groups=False).reindex(p.unit).to_numpy()
    es = event_study(p, "y", "unit", "time", "cohort", cluster="school", vcov="CR2")
    e1 = es.estimates[0] if isinstance(es.estimates, dict) and 0 in es.estimates else None
    assert e1 is not None
    # the same model by hand: event-time dummies (ref -1) + unit and period effects
    rel = np.where(p.cohort > 0, p.time - p.cohort, -999)
    ks = sorted(k for k in set(rel[p.cohort > 0]) if k != -1)
    X = np.column_stack([(rel == k).astype(float) for k in ks])
    tests = cr2_fit(X, p.y.to_numpy(), p.school.to_numpy(), fe_codes=p[["unit", "time"]].to_numpy())
    t0 = tests[ks.index(0)]
    assert e1.estimate == pytest.approx(t0["estimate"], rel=1e-8)
    assert e1.se == pytest.approx(t0["se"], rel=1e-8)
    assert e1.ci_high - e1.estimate == pytest.approx(t0["ci_high"] - t0["estimate"], rel=1e-8)
