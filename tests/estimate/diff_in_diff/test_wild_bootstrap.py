"""Tests of evaltools.estimate.wild_cluster_bootstrap against wildboottest, pyfixest and
dummy-variable fits of the same model."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from wildboottest.wildboottest import wildboottest

from evaltools.estimate import wild_cluster_bootstrap
from evaltools.inference import wild_cluster_bootstrap as wcb_inference


def _panel(seed: int = 1, G: int = 20, N: int = 2000, beta: float = 0.05) -> pd.DataFrame:
    """Clustered data: units nested in clusters, a year factor crossing them."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"c": rng.integers(0, G, N)})
    df["x"] = rng.normal(size=N) + 0.5 * rng.normal(size=G)[df["c"]]
    df["z"] = rng.normal(size=N)
    df["unit"] = df["c"] * 10 + rng.integers(0, 10, N)
    df["year"] = rng.integers(0, 5, N)
    df["cross"] = rng.integers(0, 40, N)  # a factor with more levels than clusters, crossing them
    df["grade"] = (df["unit"] + df["year"]) % 3  # a second small crossed factor
    df["y"] = (beta * df["x"] + 0.5 * df["z"] + 0.3 * df["year"] + rng.normal(size=G)[df["c"]]
               + 0.4 * rng.normal(size=df["unit"].max() + 1)[df["unit"]] + rng.normal(size=N))
    return df


def _wbt(df: pd.DataFrame, reps: int, seed: int, weights: str = "rademacher") -> pd.DataFrame:
    model = sm.OLS(df["y"], sm.add_constant(df[["x", "z"]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return wildboottest(model, B=reps, cluster=df["c"].to_numpy(), param="x", seed=seed,
                            weights_type=weights, show=False)


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
def test_same_draws_as_wildboottest_give_same_t_and_p(weights: str) -> None:
    df = _panel()
    ref = _wbt(df, 1999, seed=7, weights=weights)
    res = wild_cluster_bootstrap(df, "y", "x", covariates=["z"], cluster="c", n_boot=1999, weight_type=weights, seed=7)
    assert res.t_stat == pytest.approx(float(ref["statistic"].iloc[0]), rel=1e-10)
    assert res.pvalue == pytest.approx(float(ref["p-value"].iloc[0]), abs=1e-12)


def test_pvalue_agrees_with_wildboottest_within_monte_carlo_error() -> None:
    # Independent draws (different seeds): each p is a mean of B Bernoulli(p*) indicators,
    # so p_ours - p_ref has sd sqrt(2 p*(1-p*)/B). We allow 4.5 sd (false alarm ~ 7e-6).
    df = _panel(seed=3, beta=0.04)
    B = 4999
    ref = float(_wbt(df, B, seed=11)["p-value"].iloc[0])
    res = wild_cluster_bootstrap(df, "y", "x", covariates=["z"], cluster="c", n_boot=B, seed=12345)
    sd = math.sqrt(2 * max(ref * (1 - ref), 0.01 * 0.99) / B)
    assert 0.02 < ref < 0.98, "fixture should give an interior p-value"
    assert abs(res.pvalue - ref) <= 4.5 * sd


def test_rademacher_with_few_clusters_enumerates_all_sign_vectors() -> None:
    df = _panel(G=10, N=600)
    res = wild_cluster_bootstrap(df, "y", "x", covariates=["z"], cluster="c", n_boot=9999, seed=1)
    assert res.enumerated and res.n_boot == 2**10
    assert res.pvalue * 1024 == pytest.approx(round(res.pvalue * 1024), abs=1e-9)
    # wildboottest also enumerates when 2^G < B. The sign vectors v = +1 and v = -1 give
    # |t*| = |t| exactly; we count such ties as not exceeding (p = share of |t*| > |t|),
    # wildboottest's rounding may count them, so the two differ by 0, 1 or 2 draws.
    ties = np.isclose(np.abs(res.t_boot), abs(res.t_stat), rtol=1e-9, atol=0).sum()
    assert ties == 2
    ref = float(_wbt(df, 9999, seed=1)["p-value"].iloc[0])
    assert res.pvalue - 1e-12 <= ref <= res.pvalue + ties / 1024 + 1e-12
    # enumeration does not depend on the seed
    assert wild_cluster_bootstrap(df, "y", "x", covariates=["z"], cluster="c", seed=99).pvalue == res.pvalue


@pytest.mark.parametrize("fe", [["unit"], ["year"], ["unit", "year"], ["unit", "c", "year"],
                                ["year", "grade"], ["unit", "year", "grade"], ["year", "cross"],
                                ["unit", "cross"]])
def test_fixed_effects_partialled_out_equal_dummies(fe: list[str]) -> None:
    # 'unit' and 'c' are nested in the clusters; 'year' (5 levels) and 'cross' (40 levels > G)
    # are not. The exact paths (crossed levels with 0, 1 or 2 nested factors; G extra
    # partialled columns when the crossed levels exceed G) must all equal the dummy fit.
    df = _panel(seed=5, beta=0.08)
    spanning = [f for f in fe if not (f == "c" and "unit" in fe)]  # c's dummies lie in unit's span
    dummies = pd.get_dummies(df[spanning].astype(str), drop_first=True).astype(float)
    wide = pd.concat([df, dummies], axis=1)
    a = wild_cluster_bootstrap(df, "y", "x", covariates=["z"], cluster="c", fixed_effects=fe, n_boot=999, seed=3)
    b = wild_cluster_bootstrap(wide, "y", "x", covariates=["z", *dummies.columns], cluster="c", n_boot=999, seed=3)
    assert a.coef == pytest.approx(b.coef, abs=1e-10)
    np.testing.assert_allclose(np.abs(a.t_boot) / abs(a.t_stat), np.abs(b.t_boot) / abs(b.t_stat),
                               rtol=1e-7)
    assert a.pvalue == pytest.approx(b.pvalue, abs=1e-10)
    assert a.ci[0] == pytest.approx(b.ci[0], abs=1e-5 * a.estimate.se)
    assert a.ci[1] == pytest.approx(b.ci[1], abs=1e-5 * a.estimate.se)


def test_matches_pyfixest_estimate_se_and_wildboottest_with_fixed_effects() -> None:
    pf = pytest.importorskip("pyfixest")
    df = _panel(seed=8)
    df.loc[df.index[:15], "unit"] = 10_000 + np.arange(15)  # 15 singleton units: fixest drops them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # pyfixest's default demeaning tolerance (1e-8) limits its own accuracy; tighten it
        fit = pf.feols("y ~ x + z | unit + year", df, vcov={"CRV1": "c"}, fixef_tol=1e-12)
        ref = fit.wildboottest(reps=999, param="x", seed=5)
    res = wild_cluster_bootstrap(df, "y", "x", covariates=["z"], cluster="c", fixed_effects=["unit", "year"],
                                 n_boot=999, seed=5)
    assert res.coef == pytest.approx(fit.coef()["x"], abs=1e-9)
    assert res.estimate.se == pytest.approx(fit.se()["x"], rel=1e-8)
    assert res.pvalue == pytest.approx(float(ref["Pr(>|t|)"]), abs=1e-12)
    assert res.estimate.n["obs"] == fit._N == len(df) - 15
    assert res.estimate.diagnostics["rows_dropped_singletons"] == 15


def test_ci_is_the_inversion_of_the_test() -> None:
    # p(H0: b = r) is the p-value of H0: b = 0 after replacing y by y - r x (same draws).
    df = _panel(seed=2, beta=0.1)
    res = wild_cluster_bootstrap(df, "y", "x", covariates=["z"], cluster="c", n_boot=999, seed=4)
    lo, hi = res.ci
    assert lo < res.coef < hi
    eps = 1e-3 * res.estimate.se
    for r, inside in [(lo + eps, True), (lo - eps, False), (hi - eps, True), (hi + eps, False)]:
        shifted = df.assign(y=df["y"] - r * df["x"])
        p = wild_cluster_bootstrap(shifted, "y", "x", covariates=["z"], cluster="c", n_boot=999, seed=4).pvalue
        assert (p >= 0.05) is inside, (r, p)


@pytest.mark.slow  # Monte Carlo
def test_size_under_the_null_and_power_under_the_alternative() -> None:
    # 200 data sets with few, unequal clusters and b = 0: rejection at 5 % must be near 5 %
    # (binomial 99.9 % band for n = 200 is about [0.014, 0.10]); with b large, near 100 %.
    rej0 = rej1 = 0
    for s in range(200):
        df = _panel(seed=100 + s, G=15, N=300, beta=0.0)
        rej0 += wild_cluster_bootstrap(df, "y", "x", covariates=["z"], cluster="c", n_boot=199, seed=s).pvalue < 0.05
    for s in range(20):
        df = _panel(seed=500 + s, G=15, N=300, beta=0.6)
        rej1 += wild_cluster_bootstrap(df, "y", "x", covariates=["z"], cluster="c", n_boot=199, seed=s).pvalue < 0.05
    assert 0.014 <= rej0 / 200 <= 0.10
    assert rej1 >= 18


def test_result_prints_and_tabulates() -> None:
    res = wcb_inference(_panel(), "y", "x", covariates=["z"], cluster="c", n_boot=199, seed=1)
    text = repr(res)
    assert "WCR" in text and "x:" in text and "199 rademacher draws" in text
    frame = res.to_frame()
    assert list(frame.index) == ["x"]
    assert frame.loc["x", "pvalue"] == res.pvalue and frame.loc["x", "n_clusters"] == 20


def test_bad_input_is_explained() -> None:
    df = _panel()
    with pytest.raises(ValueError, match="not one of the regressors"), pytest.warns(DeprecationWarning):
        wild_cluster_bootstrap(df, "y", ["x"], "z", "c")  # the old form, kept for one release
    with pytest.raises(TypeError, match="cluster"):
        wild_cluster_bootstrap(df, "y", "x")  # cluster is required
    with pytest.raises(KeyError, match="'nope' is not in the data"):
        wild_cluster_bootstrap(df, "y", "x", cluster="nope")
    with pytest.raises(ValueError, match="missing or infinite"):
        wild_cluster_bootstrap(df.assign(x=df["x"].where(df.index != 5)), "y", "x", cluster="c")
    with pytest.raises(ValueError, match="weight_type must be one of 'rademacher', 'webb'"):
        wild_cluster_bootstrap(df, "y", "x", cluster="c", weight_type="mammen")
    with pytest.raises(ValueError, match="at least 2"):
        wild_cluster_bootstrap(df.assign(c=1), "y", "x", cluster="c")
    with pytest.raises(ValueError, match="no variation left"):
        wild_cluster_bootstrap(df.assign(w=df["year"] * 2.0), "y", "w", covariates=["x"], cluster="c",
                               fixed_effects=["year"])
    with pytest.raises(ValueError, match="collinear after partialling out the fixed effects: '(w|x)'"):
        wild_cluster_bootstrap(df.assign(w=2 * df["x"]), "y", "x", covariates=["w"], cluster="c")


# ----------------------------------------------------------------------------- fixed_effects
def test_partialling_out_equals_residuals_on_dummies() -> None:
    from evaltools.estimate.fixed_effects import FixedEffects

    df = _panel(seed=9, N=800)
    fe = FixedEffects.from_data(df, ["unit", "year", "cross"])
    D = pd.get_dummies(df[["unit", "year", "cross"]].astype(str), drop_first=True).astype(float).to_numpy()
    D = np.column_stack([np.ones(len(df)), D])
    Y = df[["y", "x"]].to_numpy()
    resid = Y - D @ np.linalg.lstsq(D, Y, rcond=None)[0]
    np.testing.assert_allclose(fe.demean(Y), resid, atol=1e-8)
    assert "unit (" in repr(fe) and "levels" in repr(fe)


def test_nesting_of_factors_in_clusters() -> None:
    from evaltools.estimate.fixed_effects import FixedEffects

    df = _panel(seed=9, N=800)
    fe = FixedEffects.from_data(df, ["unit", "year", "c"])
    assert list(fe.nested_in(df["c"].to_numpy())) == [True, False, True]
    df.loc[df.index[0], "unit"] = int(df.loc[df["c"] != df.loc[df.index[0], "c"], "unit"].iloc[0])
    assert not FixedEffects.from_data(df, ["unit"]).nested_in(df["c"].to_numpy())[0]


def test_fixed_effect_column_errors() -> None:
    from evaltools.estimate.fixed_effects import factor_codes

    df = _panel(N=100)
    with pytest.raises(KeyError, match="Fixed-effect column 'school'"):
        factor_codes(df, ["school"])
    with pytest.raises(ValueError, match=r"'year' has 1 missing value\(s\) \(first at row position 4\)"):
        factor_codes(df.assign(year=df["year"].where(df.index != 4)), ["year"])


def test_invariance_to_rescaling_and_to_adding_controls_to_the_outcome() -> None:
    # y -> 3 y + 2 z + 5 leaves the t-statistics of x unchanged and scales b and the CI by 3
    df = _panel(seed=12, beta=0.1)
    a = wild_cluster_bootstrap(df, "y", "x", covariates=["z"], cluster="c", fixed_effects=["unit", "year"], n_boot=999, seed=2)
    moved = df.assign(y=3 * df["y"] + 2 * df["z"] + 5)
    b = wild_cluster_bootstrap(moved, "y", "x", covariates=["z"], cluster="c", fixed_effects=["unit", "year"], n_boot=999, seed=2)
    assert b.t_stat == pytest.approx(a.t_stat, rel=1e-9)
    np.testing.assert_allclose(b.t_boot, a.t_boot, rtol=1e-7)
    assert b.pvalue == a.pvalue
    assert b.coef == pytest.approx(3 * a.coef, rel=1e-9)
    assert b.ci[0] == pytest.approx(3 * a.ci[0], abs=1e-5 * b.estimate.se)
    assert b.ci[1] == pytest.approx(3 * a.ci[1], abs=1e-5 * b.estimate.se)
