"""Tests of the fast nested (three-level) random-intercept engine,
evaltools.estimate.multilevel_models.nested, through ``multilevel(..., nested_in=...)``: against
statsmodels MixedLM (variance-component formula, tight optimiser), dense brute-force matrices,
R lme4 (a reference file written once by R, see lme4_nested.R beside this file) and known truth."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evaltools.estimate import multilevel
from evaltools.estimate.multilevel_models.mixed_model import MultilevelInputError

HERE = Path(__file__).parent


def simulate(S=30, teachers=(1, 6), pupils=(2, 30), ts=1.0, tt=0.7, sigma=1.0, beta=(1.0, 0.5, 0.3), seed=1,
             singles=True):
    """Pupils in teachers in schools; with ``singles`` school 0 has one teacher and the first teacher
    of school 1 one pupil. ``tr`` varies within teachers (a teacher-year treatment)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(S):
        nt = 1 if (singles and s == 0) else int(rng.integers(*teachers))
        for t in range(nt):
            n = 1 if (singles and s == 1 and t == 0) else int(rng.integers(*pupils))
            rows += [(f"s{s:02d}", f"t{s:02d}_{t}")] * n
    d = pd.DataFrame(rows, columns=["school", "teacher"])
    N = len(d)
    us = pd.Series(rng.normal(0, ts, S), index=[f"s{s:02d}" for s in range(S)])
    vt = pd.Series(rng.normal(0, tt, d["teacher"].nunique()), index=d["teacher"].unique())
    d["x"] = rng.normal(size=N) + d["school"].map(pd.Series(rng.normal(size=S), index=us.index))
    d["tr"] = (rng.random(N) < 0.4).astype(int)
    d["g"] = rng.choice(["a", "b", "c"], N)
    d["y"] = (beta[0] + beta[1] * d["x"] + beta[2] * d["tr"] + d["school"].map(us) + d["teacher"].map(vt)
              + rng.normal(0, sigma, N))
    return d


DESIGNS = {
    "unbalanced, one-teacher school, one-pupil teacher": dict(S=30, seed=1),
    "many small schools": dict(S=120, teachers=(1, 4), pupils=(1, 8), seed=2),
    "few large schools, weak school level": dict(S=12, teachers=(3, 12), pupils=(10, 40), ts=0.2, seed=3),
}


def reference(d, formula, reml):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = smf.mixedlm(formula, d, groups="school", re_formula="1", vc_formula={"teacher": "0 + C(teacher)"})
        return m.fit(reml=reml, method=["bfgs"], gtol=1e-10, maxiter=5000)


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("design", list(DESIGNS))
def test_matches_mixedlm_nested(design, reml):
    d = simulate(**DESIGNS[design])
    formula = "y ~ x + tr + C(g)"
    ours = multilevel(d, formula, "teacher", nested_in="school", reml=reml)
    ref = reference(d, formula, reml)
    # BFGS to gradient 1e-10 (MixedLM's converged flag can stay False there: that tolerance is at the
    # limit of double precision); the optimum is checked through the log-likelihood instead
    assert ours.engine == "fast" and ours.converged
    terms = ours.params.index  # formulaic and patsy order the terms differently
    assert rel(ours.params.values, ref.fe_params[terms].values) < 1e-6
    assert rel(ours.fixed["se"].values, ref.bse_fe[terms].values) < 1e-6
    comps = ours.variance["estimate"]
    assert comps.index.tolist() == ["school (intercept)", "teacher (intercept)", "residual"]
    assert rel(comps.values, [ref.cov_re.iloc[0, 0], ref.vcomp[0], ref.scale]) < 1e-6
    assert abs(ours.llf - ref.llf) < 1e-6 and ours.llf >= ref.llf - 1e-9
    # predicted effects at both levels
    va, up = ours.value_added(), ours.value_added(upper=True)
    for school, eff in ref.random_effects.items():
        assert abs(up.loc[school, "effect"] - eff["school"]) < 1e-6
        for name, v in eff.drop("school").items():
            teacher = name.split("[")[-1].rstrip("]")
            assert abs(va.loc[(school, teacher), "effect"] - v) < 1e-6
    assert ours.n_obs == len(d) and ours.n_groups == d["teacher"].nunique()


def _dense(d, ours):
    """V, Z_s, Z_t and the fitted components as dense matrices (small data only)."""
    Zs = pd.get_dummies(d["school"]).to_numpy(float)
    Zt = pd.get_dummies(d["teacher"]).to_numpy(float)
    ts2, tt2, s2 = ours.variance["estimate"].to_numpy()
    V = ts2 * Zs @ Zs.T + tt2 * Zt @ Zt.T + s2 * np.eye(len(d))
    return V, Zs, Zt, ts2, tt2, s2


def test_variance_information_and_blup_variance_match_brute_force():
    d = simulate(S=10, teachers=(1, 4), pupils=(1, 9), seed=4)
    ours = multilevel(d, "y ~ x + tr", "teacher", nested_in="school")
    V, Zs, Zt, ts2, tt2, s2 = _dense(d, ours)
    Vi = np.linalg.inv(V)
    derivs = [Zs @ Zs.T, Zt @ Zt.T, np.eye(len(d))]
    info = np.array([[0.5 * np.trace(Vi @ A @ Vi @ B) for B in derivs] for A in derivs])
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    assert rel(ours.variance["se"].to_numpy(), se) < 1e-8
    # posterior variances of the teacher and school effects given beta: G - G Z'V^-1 Z G
    post_t = tt2 - tt2**2 * np.einsum("ij,ik,kj->j", Zt, Vi, Zt)
    post_s = ts2 - ts2**2 * np.einsum("ij,ik,kj->j", Zs, Vi, Zs)
    va = ours.value_added()
    teachers = pd.get_dummies(d["teacher"]).columns
    assert rel(va.reset_index(level=0)["se"].reindex(teachers).to_numpy() ** 2, post_t) < 1e-8
    assert rel(ours.value_added(upper=True)["se"].to_numpy() ** 2, post_s) < 1e-8
    # GLS fixed effects with the fitted V (beta given the variances)
    X = np.column_stack([np.ones(len(d)), d["x"], d["tr"]])
    beta = np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ d["y"].to_numpy())
    assert rel(ours.params.values, beta) < 1e-9
    lme4 = multilevel(d, "y ~ x + tr", "teacher", nested_in="school", fixed_se="lme4")
    assert rel(lme4.fixed["se"].values, np.sqrt(np.diag(np.linalg.inv(X.T @ Vi @ X)))) < 1e-8


def test_engines_and_dispatch():
    d = simulate(S=15, seed=5)
    fast = multilevel(d, "y ~ x + tr", "teacher", nested_in="school", engine="fast")
    slow = multilevel(d, "y ~ x + tr", "teacher", nested_in="school", engine="mixedlm")
    assert fast.engine == "fast" and slow.engine == "statsmodels MixedLM"
    assert slow.variance.index.tolist() == fast.variance.index.tolist()
    assert rel(fast.params.values, slow.params.values) < 1e-4
    with pytest.raises(MultilevelInputError, match="random slopes"):
        multilevel(d, "y ~ x + tr", "teacher", nested_in="school", slopes=["x"], engine="fast")
    with pytest.raises(MultilevelInputError, match="at least 2"):
        multilevel(d.assign(school="one"), "y ~ x + tr", "teacher", nested_in="school")
    # the same teacher label in two schools counts as two units
    twice = d.assign(teacher=d["teacher"].str.slice(4))
    split = multilevel(twice, "y ~ x + tr", "teacher", nested_in="school")
    assert rel(split.params.values, fast.params.values) < 1e-10
    assert "ICC" in str(split.icc) and 0 < split.icc.estimate < 1


def test_boundary_teacher_variance_zero_reduces_to_two_levels():
    d = simulate(S=40, teachers=(2, 5), pupils=(5, 20), tt=0.0, seed=6)
    d["y"] = d["y"] - d.groupby("teacher")["y"].transform("mean") + d.groupby("school")["y"].transform("mean")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        three = multilevel(d, "y ~ x + tr", "teacher", nested_in="school")
    assert three.diagnostics["boundary_group"] and any("zero" in str(x.message) for x in w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = multilevel(d, "y ~ x + tr", "school")
    assert abs(three.llf - two.llf) < 1e-8
    assert rel(three.params.values, two.params.values) < 1e-8
    assert rel(three.variance["estimate"].iloc[[0, 2]].values, two.variance["estimate"].values) < 1e-6


def test_matches_r_lme4_reference():
    """One fit against ``lmer(y ~ x + tr + (1 | school/teacher), REML = TRUE)`` (lme4 1.1-31), the
    numbers written by ``lme4_nested.R`` to ``lme4_nested.json`` from ``lme4_nested.csv``."""
    d = pd.read_csv(HERE / "lme4_nested.csv", dtype={"school": str, "teacher": str})
    ref = json.loads((HERE / "lme4_nested.json").read_text())
    ours = multilevel(d, "y ~ x + tr", "teacher", nested_in="school", fixed_se="lme4")
    assert rel(ours.params.values, ref["beta"]) < 1e-6
    assert rel(ours.fixed["se"].values, ref["se"]) < 1e-6
    assert rel(ours.variance["estimate"].values, [ref["var_school"], ref["var_teacher"], ref["sigma2"]]) < 1e-6
    assert abs(ours.llf - ref["reml_loglik"]) < 1e-6


def write_lme4_input(path: Path = HERE / "lme4_nested.csv") -> None:
    """The data of :func:`test_matches_r_lme4_reference` (run once; then ``Rscript lme4_nested.R``)."""
    simulate(S=40, teachers=(1, 7), pupils=(1, 25), seed=11).drop(columns="g").to_csv(path, index=False)


@pytest.mark.slow
def test_coverage_of_the_fixed_effect_over_seeds():
    """95 % intervals of ``tr`` (true 0.3) cover in 88-99 % of 200 simulated data sets (Monte Carlo band)."""
    hits = 0
    for seed in range(200):
        d = simulate(S=25, teachers=(2, 6), pupils=(3, 15), seed=1000 + seed, singles=False)
        fit = multilevel(d, "y ~ x + tr", "teacher", nested_in="school").coefficient("tr")
        hits += fit.ci_low <= 0.3 <= fit.ci_high
    assert 176 <= hits <= 198, hits


def test_cluster_robust_se_matches_dense_sandwich():
    d = simulate(S=24, teachers=(1, 4), pupils=(1, 9), seed=7)
    d["mun"] = d["school"].map({s: f"m{int(s[1:]) % 8}" for s in d["school"].unique()})
    fit = multilevel(d, "y ~ x + tr", "teacher", nested_in="school", cluster="mun")
    V, *_ = _dense(d, fit)
    s2 = fit.variance["estimate"].iloc[-1]
    Vi = np.linalg.inv(V / s2)  # V*^-1
    X = np.column_stack([np.ones(len(d)), d["x"], d["tr"]])
    r = d["y"].to_numpy() - X @ fit.params.to_numpy()
    Minv = np.linalg.inv(X.T @ Vi @ X)
    meat = np.zeros((3, 3))
    for _, idx in d.groupby("mun").indices.items():
        sg = X[idx].T @ Vi[np.ix_(idx, idx)] @ r[idx]
        meat += np.outer(sg, sg)
    cov = 8 / 7 * Minv @ meat @ Minv
    assert rel(fit.fixed["se"].to_numpy(), np.sqrt(np.diag(cov))) < 1e-8
    e = fit.coefficient("tr")
    from scipy import stats

    assert e.n["clusters"] == 8 and "clusters" not in e.options and "df" not in e.options  # counts only in n
    assert abs(e.ci_high - e.estimate - stats.t.ppf(0.975, 7) * e.se) < 1e-10  # t(G-1) reference
    both = fit.combination({"x": 1.0, "tr": 1.0}, "x + tr")
    assert abs(both.se - np.sqrt(cov[1, 1] + cov[2, 2] + 2 * cov[1, 2])) < 1e-8
    with pytest.raises(MultilevelInputError, match="whole 'school'"):
        multilevel(d.assign(mun=np.arange(len(d)) % 3), "y ~ x + tr", "teacher", nested_in="school", cluster="mun")
    with pytest.raises(MultilevelInputError, match="three-level"):
        multilevel(d, "y ~ x + tr", "teacher", cluster="mun")
