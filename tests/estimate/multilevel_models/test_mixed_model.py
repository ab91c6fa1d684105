"""Tests of evaltools.estimate.multilevel_models.mixed_model: against statsmodels MixedLM, a brute-force
Henderson computation, and known truth on simulated data."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaltools.estimate import multilevel


def simulate(G=80, n_lo=5, n_hi=60, tau=0.5, sigma=2.0, beta=(1.0, 0.5, -0.3), seed=1):
    rng = np.random.default_rng(seed)
    n = rng.integers(n_lo, n_hi, G)
    g = np.repeat(np.arange(G), n)
    N = len(g)
    x = rng.normal(size=N) + rng.normal(size=G)[g]  # x correlated within groups
    z = rng.integers(0, 2, N)
    u = rng.normal(size=G) * tau
    y = beta[0] + beta[1] * x + beta[2] * z + u[g] + rng.normal(size=N) * sigma
    return pd.DataFrame({"y": y, "x": x, "z": z, "school": [f"s{k:03d}" for k in g]})


def _mixedlm(d, reml):
    X = sm.add_constant(d[["x", "z"]].astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Tight gradient tolerance, so that differences reflect the estimators, not MixedLM's stopping rule.
        return sm.MixedLM(d["y"], X, groups=d["school"]).fit(reml=reml, method="bfgs", gtol=1e-10)


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12))


@pytest.mark.parametrize("reml", [True, False])
def test_matches_mixedlm(reml):
    d = simulate()
    ref = _mixedlm(d, reml)
    ours = multilevel(d, "y ~ x + z", "school", reml=reml)
    assert ours.engine == "fast"
    assert rel(ours.params.values, ref.fe_params.values) < 1e-4
    assert rel(ours.fixed["se"].values, ref.bse_fe.values) < 1e-4
    assert rel(ours.variance["estimate"].iloc[0], ref.cov_re.iloc[0, 0]) < 1e-4
    assert rel(ours.variance["estimate"].iloc[1], ref.scale) < 1e-4
    assert rel(ours.diagnostics["mixedlm_group_var_se"], ref.bse_re.iloc[0]) < 1e-4
    assert abs(ours.llf - ref.llf) < 1e-6 * abs(ref.llf)
    va = ours.value_added()
    re = pd.Series({k: v.iloc[0] for k, v in ref.random_effects.items()})
    re_sd = pd.Series({k: np.sqrt(v.iloc[0, 0]) for k, v in ref.random_effects_cov().items()}) \
        if callable(ref.random_effects_cov) else \
        pd.Series({k: np.sqrt(v.iloc[0, 0]) for k, v in ref.random_effects_cov.items()})
    assert rel(va.loc[re.index, "effect"], re) < 1e-4
    assert rel(va.loc[re_sd.index, "se_posterior"], re_sd) < 1e-4


def test_prediction_error_variance_matches_henderson_brute_force():
    d = simulate(G=12, n_lo=3, n_hi=9, seed=4)
    res = multilevel(d, "y ~ x + z", "school")
    tau2, sigma2 = res.variance["estimate"]
    X = np.column_stack([np.ones(len(d)), d["x"], d["z"]])
    codes, labels = pd.factorize(d["school"], sort=True)
    Z = np.eye(len(labels))[codes]
    V = sigma2 * np.eye(len(d)) + tau2 * Z @ Z.T
    Vi = np.linalg.inv(V)
    P = Vi - Vi @ X @ np.linalg.inv(X.T @ Vi @ X) @ X.T @ Vi
    Gm = tau2 * np.eye(len(labels))
    pev = np.diag(Gm - Gm @ Z.T @ P @ Z @ Gm)
    blup = Gm @ Z.T @ P @ d["y"].to_numpy()
    va = res.value_added().loc[labels]
    # The PEV uses Cov(beta) = (X'V^-1X)^-1 here; ours uses MixedLM's Hessian-based covariance,
    # which differs from it by the (small) beta-lambda cross term.
    assert rel(va["effect"], blup) < 1e-8
    assert rel(va["se"] ** 2, pev) < 0.05
    assert np.all(va["se"] >= va["se_posterior"])


def test_recovers_known_truth():
    d = simulate(G=300, n_lo=20, n_hi=40, tau=0.6, sigma=1.5, seed=11)
    res = multilevel(d, "y ~ x + z", "school")
    truth = {"Intercept": 1.0, "x": 0.5, "z": -0.3}
    for term, b in truth.items():
        e = res.coefficient(term)
        assert e.ci_low < b < e.ci_high, (term, e)
    tau2, s2 = res.variance["estimate"]
    tau2_se = res.variance["se"].iloc[0]
    assert abs(tau2 - 0.36) < 3 * tau2_se
    assert abs(s2 - 2.25) < 0.05
    true_icc = 0.36 / (0.36 + 2.25)
    assert abs(res.icc.estimate - true_icc) < 3 * res.icc.se
    # Shrinkage: EB effects are less dispersed than raw group means of the residuals.
    va = res.value_added()
    assert va["effect"].std() < va["raw"].std()
    assert va["shrinkage"].between(0, 1).all()


def test_boundary_zero_group_variance_warns():
    d = simulate(G=40, tau=0.0, seed=3)
    # Make groups exactly uninformative: permute the school labels.
    d["school"] = np.random.default_rng(0).permutation(d["school"].to_numpy())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        res = multilevel(d, "y ~ x + z", "school")
    if res.diagnostics["boundary"]:
        assert any("zero" in str(x.message) for x in w)
        assert np.allclose(res.value_added()["effect"], 0)
    else:
        assert res.variance["estimate"].iloc[0] < 0.05


def test_random_slope_and_three_levels_use_mixedlm():
    rng = np.random.default_rng(5)
    M, S, n = 15, 6, 25  # municipalities, schools per municipality, pupils per school
    mun = np.repeat(np.arange(M), S * n)
    sch = np.repeat(np.arange(M * S), n)
    x = rng.normal(size=len(sch))
    y = 0.4 * x + rng.normal(size=M)[mun] * 0.5 + rng.normal(size=M * S)[sch] * 0.7 + rng.normal(size=len(sch))
    d = pd.DataFrame({"y": y, "x": x, "school": sch, "mun": mun})
    # engine="auto" now fits three random-intercept levels with the fast nested engine (test_nested.py)
    three = multilevel(d, "y ~ x", "school", nested_in="mun", engine="mixedlm")
    assert three.engine == "statsmodels MixedLM"
    comps = three.variance["estimate"]
    assert comps.index.tolist() == ["mun (intercept)", "school (intercept)", "residual"]
    assert 0.1 < comps["mun (intercept)"] < 0.8
    assert 0.25 < comps["school (intercept)"] < 0.9
    assert abs(comps["residual"] - 1) < 0.1
    # Same model through statsmodels' own formula interface (variance-component formula).
    import statsmodels.formula.api as smf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = smf.mixedlm("y ~ x", d, groups="mun", re_formula="1", vc_formula={"school": "0 + C(school)"}).fit()
    assert rel(comps.values, [ref.cov_re.iloc[0, 0], ref.vcomp[0], ref.scale]) < 1e-6
    assert rel(three.fixed["se"].values, ref.bse_fe.values) < 1e-6
    slope = multilevel(d, "y ~ x", "school", slopes=["x"])
    assert "school (x)" in slope.variance.index
    assert abs(slope.params["x"] - 0.4) < 3 * slope.fixed.loc["x", "se"]


def test_fast_engine_agrees_with_mixedlm_engine():
    d = simulate(G=30, seed=8)
    fast = multilevel(d, "y ~ x + z", "school", engine="fast")
    slow = multilevel(d, "y ~ x + z", "school", engine="mixedlm")
    assert rel(fast.params.values, slow.params.values) < 1e-3
    assert rel(fast.variance["estimate"].values, slow.variance["estimate"].values) < 1e-2


def test_result_prints_and_tabulates():
    res = multilevel(simulate(G=20), "y ~ x + z", "school")
    text = repr(res)
    assert "REML" in text and "ICC" in text and "school (intercept)" in text
    frame = res.to_frame()
    assert set(frame["kind"]) == {"fixed", "variance"}
    assert res.coefficient("x").n["groups"] == 20


def test_clear_errors():
    d = simulate(G=10)
    with pytest.raises(KeyError, match="group column 'class'"):
        multilevel(d, "y ~ x", "class")
    with pytest.raises(ValueError, match="random-intercept models only"):
        multilevel(d, "y ~ x", "school", slopes=["x"], engine="fast")
    with pytest.raises(ValueError, match="at least 2"):
        multilevel(d.assign(school="one"), "y ~ x", "school")
    with pytest.raises(ValueError, match="rank"):
        multilevel(d.assign(x2=2 * d["x"]), "y ~ x + x2", "school")
    with pytest.raises(KeyError, match="not a fixed effect"):
        multilevel(d, "y ~ x", "school").coefficient("treated")


@pytest.mark.slow
def test_ci_coverage_monte_carlo():
    """95% CIs of the fixed effects and the ICC cover the truth at about the nominal rate."""
    reps, hits_x, hits_z = 300, 0, 0
    for r in range(reps):
        d = simulate(G=60, n_lo=5, n_hi=30, tau=0.5, sigma=1.0, seed=1000 + r)
        res = multilevel(d, "y ~ x + z", "school")
        ex, ez = res.coefficient("x"), res.coefficient("z")
        hits_x += ex.ci_low < 0.5 < ex.ci_high
        hits_z += ez.ci_low < -0.3 < ez.ci_high
    print(f"coverage of 95% CIs: x {hits_x / reps:.3f}, z {hits_z / reps:.3f}")
    # Binomial(300, 0.95): 99.9% of draws lie within [0.91, 0.98].
    assert 0.91 <= hits_x / reps <= 0.985
    assert 0.91 <= hits_z / reps <= 0.985


def test_missing_values_and_categorical_terms_match_mixedlm():
    d = simulate(G=40, seed=12)
    rng = np.random.default_rng(0)
    d["grade"] = rng.choice(["5", "6", "7"], len(d))
    d.loc[d.sample(frac=0.05, random_state=1).index, "x"] = np.nan
    d.loc[d.sample(frac=0.02, random_state=2).index, "school"] = None
    d.index = np.repeat(np.arange(len(d) // 2 + 1), 2)[: len(d)]  # duplicated row labels
    ours = multilevel(d, "y ~ x + z + C(grade)", "school")
    cc = d.dropna(subset=["x", "school"])
    assert ours.n_obs == len(cc)
    X = pd.get_dummies(cc["grade"], prefix="g", drop_first=True, dtype=float)
    X = sm.add_constant(pd.concat([cc[["x", "z"]].astype(float), X], axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.MixedLM(cc["y"].to_numpy(), X.to_numpy(), groups=cc["school"].to_numpy()).fit(
            method="bfgs", gtol=1e-10)
    assert rel(ours.params.values, ref.fe_params) < 1e-4
    assert rel(ours.fixed["se"].values, ref.bse_fe) < 1e-4
    assert rel(ours.variance["estimate"].iloc[0], ref.cov_re[0, 0]) < 1e-4


def test_rank_intervals_cover_point_ranks_and_widen_with_noise():
    d = simulate(G=50, n_lo=5, n_hi=40, tau=0.5, sigma=2.0, seed=21)
    va = multilevel(d, "y ~ x + z", "school").value_added(rank_draws=2000, seed=1)
    assert (va["rank_low"] <= va["rank"]).all() and (va["rank"] <= va["rank_high"]).all()
    assert va["rank_low"].min() >= 1 and va["rank_high"].max() <= 50
    # Groups with more pupils (smaller se) have narrower rank intervals on average.
    width = va["rank_high"] - va["rank_low"]
    assert np.corrcoef(width, va["se"])[0, 1] > 0
    with pytest.raises(ValueError, match="rank_draws"):
        multilevel(d, "y ~ x + z", "school").value_added(rank_draws=10)
