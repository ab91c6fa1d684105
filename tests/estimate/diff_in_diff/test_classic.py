"""Tests of did_2x2 and twfe: known truth, statsmodels/pyfixest/linearmodels references,
a published number, and error messages."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from evaltools.estimate import did_2x2, twfe


def _two_by_two(seed: int = 0, n: int = 4000, effect: float = 0.7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"T": rng.integers(0, 2, n), "P": rng.integers(0, 2, n), "school": rng.integers(0, 40, n)})
    df["x"] = rng.normal(size=n) + 0.3 * df["T"]
    df["y"] = (1 + 0.5 * df["T"] + 0.3 * df["P"] + effect * df["T"] * df["P"] + 0.4 * df["x"]
               + 0.5 * rng.normal(size=40)[df["school"]] + rng.normal(size=n))
    return df


def _panel(seed: int = 0, units: int = 300, periods: int = 8, effect: float = 1.5) -> pd.DataFrame:
    """Staggered-free panel (one adoption date), homogeneous effect, some rows missing."""
    rng = np.random.default_rng(seed)
    i = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(2010, 2010 + periods), units)
    treated_unit = rng.random(units) < 0.4
    d = (treated_unit[i] & (t >= 2014)).astype(float)
    df = pd.DataFrame({"pupil": i, "year": t, "d": d, "muni": i % 25})
    df["x"] = rng.normal(size=len(df))
    df["y"] = rng.normal(size=units)[i] + 0.1 * (t - 2010) + effect * d + 0.3 * df["x"] + rng.normal(size=len(df))
    return df.sample(frac=0.9, random_state=1).sort_index()  # unbalanced


def test_2x2_without_covariates_is_the_difference_of_cell_means() -> None:
    df = _two_by_two()
    res = did_2x2(df, "y", "T", "P")
    m = df.groupby(["T", "P"])["y"].mean()
    fd_t, fd_c = m[1, 1] - m[1, 0], m[0, 1] - m[0, 0]
    tab = res.to_frame()
    assert tab.loc["Treatment", "mean_baseline"] == pytest.approx(m[1, 0], abs=1e-12)
    assert tab.loc["Control", "mean_followup"] == pytest.approx(m[0, 1], abs=1e-12)
    assert tab.loc["Treatment", "diff"] == pytest.approx(fd_t, abs=1e-10)
    assert tab.loc["Control", "diff"] == pytest.approx(fd_c, abs=1e-10)
    assert res.estimate.estimate == pytest.approx(fd_t - fd_c, abs=1e-10)
    assert tab.loc["Treatment", "n_baseline"] == int(((df["T"] == 1) & (df["P"] == 0)).sum())
    assert res.estimate.n["obs"] == len(df)


@pytest.mark.parametrize("cluster", [None, "school"])
def test_2x2_se_and_p_match_statsmodels(cluster: str | None) -> None:
    df = _two_by_two(seed=3)
    res = did_2x2(df, "y", "T", "P", covariates=["x"], cluster=cluster)
    model = smf.ols("y ~ T * P + x", df)
    fit = (model.fit(cov_type="cluster", cov_kwds={"groups": df["school"]}) if cluster
           else model.fit(cov_type="HC1"))
    assert res.estimate.estimate == pytest.approx(fit.params["T:P"], abs=1e-10)
    assert res.estimate.se == pytest.approx(fit.bse["T:P"], rel=1e-8)
    dof = 40 - 1 if cluster else len(df) - 5
    t = res.estimate.estimate / res.estimate.se
    assert res.estimate.pvalue == pytest.approx(2 * stats.t.sf(abs(t), dof), rel=1e-10)
    # the treated first difference is P + T:P with its covariance
    w = pd.Series(0.0, index=fit.params.index)
    w[["P", "T:P"]] = 1.0
    se_t = float(np.sqrt(w @ fit.cov_params() @ w))
    assert res.first_diff_treated.se == pytest.approx(se_t, rel=1e-8)


def test_2x2_recovers_the_true_effect() -> None:
    res = did_2x2(_two_by_two(seed=11, n=20000, effect=0.7), "y", "T", "P", covariates="x", cluster="school")
    e = res.estimate
    assert abs(e.estimate - 0.7) < 4 * e.se
    assert e.ci_low < e.estimate < e.ci_high


def test_2x2_result_prints_and_explains_bad_input() -> None:
    df = _two_by_two()
    text = repr(did_2x2(df, "y", "T", "P", cluster="school"))
    assert "Treatment" in text and "Control" in text and "Difference-in-differences" in text
    with pytest.raises(ValueError, match=r"only 0/1.*row 7"):
        did_2x2(df.assign(T=df["T"].where(df.index != 7, 2)), "y", "T", "P")
    with pytest.raises(KeyError, match="post column 'after'"):
        did_2x2(df, "y", "T", "after")
    with pytest.raises(ValueError, match="no treated observations at follow-up"):
        did_2x2(df[~((df["T"] == 1) & (df["P"] == 1))], "y", "T", "P")
    with pytest.raises(ValueError, match="must be numeric"):
        did_2x2(df.assign(y="a"), "y", "T", "P")
    res = did_2x2(df.assign(y=df["y"].where(df.index % 10 != 0)), "y", "T", "P")
    assert res.estimate.diagnostics["rows_dropped_missing"] == len(df) // 10


@pytest.mark.parametrize("covariates,cluster", [(None, None), (["x"], "muni")])
def test_twfe_equals_pyfixest(covariates: list[str] | None, cluster: str | None) -> None:
    import pyfixest as pf

    df = _panel()
    res = twfe(df, "y", "d", "pupil", "year", covariates=covariates, cluster=cluster)
    rhs = "d" + (" + x" if covariates else "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols(f"y ~ {rhs} | pupil + year", df, vcov={"CRV1": cluster or "pupil"}, fixef_tol=1e-11)
    assert res.estimate.estimate == pytest.approx(ref.coef()["d"], abs=1e-8)
    assert res.estimate.se == pytest.approx(ref.se()["d"], abs=1e-8)
    assert res.estimate.pvalue == pytest.approx(ref.pvalue()["d"], abs=1e-8)
    assert res.estimate.ci_low == pytest.approx(ref.confint().loc["d"].iloc[0], abs=1e-8)


def test_twfe_agrees_with_an_independent_dummy_variable_fit() -> None:
    # statsmodels with explicit dummies: same coefficient; its CRV1 counts every dummy in K,
    # fixest drops the unit dummies (nested in the unit clusters), so rescale by that ratio.
    df = _panel(units=120)
    res = twfe(df, "y", "d", "pupil", "year")
    fit = smf.ols("y ~ d + C(pupil) + C(year)", df).fit(cov_type="cluster", cov_kwds={"groups": df["pupil"]})
    assert res.estimate.estimate == pytest.approx(fit.params["d"], abs=1e-9)
    n, k_all = len(df), fit.df_model + 1
    k_fixest = 1 + df["year"].nunique()  # d + (T - 1) year effects + 1 for the nested unit FE
    se = fit.bse["d"] * np.sqrt((n - k_all) / (n - k_fixest))
    assert res.estimate.se == pytest.approx(se, rel=1e-8)


def test_twfe_recovers_the_true_homogeneous_effect() -> None:
    res = twfe(_panel(seed=4, units=2000, effect=1.5), "y", "d", "pupil", "year", covariates="x")
    assert abs(res.estimate.estimate - 1.5) < 4 * res.estimate.se
    assert res.to_frame().loc["x", "estimate"] == pytest.approx(0.3, abs=4 * res.to_frame().loc["x", "se"])


def test_twfe_reproduces_a_published_estimate() -> None:
    # Huntington-Klein (2021), The Effect, ch. 18: organ donation rates, California's
    # active-choice policy from 2011 Q3, feols(Rate ~ Treated | State + Quarter) = -0.0225.
    # Data: causaldata (Kessler & Roth 2014), MIT licence.
    from causaldata import organ_donations

    od = organ_donations.load_pandas().data
    od["Treated"] = ((od["State"] == "California") & od["Quarter"].isin(["Q32011", "Q42011", "Q12012"])).astype(int)
    res = twfe(od, "Rate", "Treated", "State", "Quarter")
    assert round(res.estimate.estimate, 4) == -0.0225
    assert res.estimate.n == {"obs": 162, "units": 27, "treated_units": 1, "periods": 6, "clusters": 27}


def test_twfe_bad_input_is_explained() -> None:
    df = _panel()
    with pytest.raises(KeyError, match="unit column 'school'"):
        twfe(df, "y", "d", "school", "year")
    with pytest.raises(ValueError, match="absorbed by the unit or time fixed effects"):
        twfe(df.assign(d=(df["pupil"] % 2).astype(float)), "y", "d", "pupil", "year")
    with pytest.raises(ValueError, match=r"'year' has 1 missing"):
        twfe(df.assign(year=df["year"].where(df.index != df.index[3])), "y", "d", "pupil", "year")
    assert "Two-way fixed effects" in repr(twfe(df, "y", "d", "pupil", "year"))


def test_static_twfe_is_biased_under_staggered_heterogeneous_effects() -> None:
    # Goodman-Bacon (2021): with staggered adoption and effects growing over time, already
    # treated units act as controls and TWFE misses the ATT; with one adoption date it does not.
    rng = np.random.default_rng(7)
    units, years = 3000, np.arange(2010, 2022)
    g = rng.choice([0, 2013, 2016, 2019], units)
    i = np.repeat(np.arange(units), len(years))
    t = np.tile(years, units)
    gi = g[i]
    tau = np.where((gi > 0) & (t >= gi), 0.5 * (t - gi + 1), 0.0)
    df = pd.DataFrame({"id": i, "year": t, "d": ((gi > 0) & (t >= gi)).astype(float),
                       "y": rng.normal(size=units)[i] + 0.1 * (t - 2010) + tau + rng.normal(size=len(i))})
    true_att = tau[df["d"].to_numpy() == 1].mean()
    res = twfe(df, "y", "d", "id", "year")
    assert abs(res.estimate.estimate - true_att) > 10 * res.estimate.se
    single = df[np.isin(gi, [0, 2016])]
    res1 = twfe(single, "y", "d", "id", "year")
    true1 = tau[np.isin(gi, [0, 2016]) & (df["d"].to_numpy() == 1)].mean()
    assert abs(res1.estimate.estimate - true1) < 4 * res1.estimate.se


def test_twfe_wild_bootstrap_uses_the_same_model_rows_and_clusters() -> None:
    from evaltools.estimate import wild_cluster_bootstrap

    df = _panel(seed=5, units=400)
    df.loc[df.index[:7], "y"] = np.nan  # dropped by twfe, so also by its bootstrap
    res = twfe(df, "y", "d", "pupil", "year", covariates="x", cluster="muni")
    wb = res.wild_bootstrap(n_boot=999, seed=3)
    direct = wild_cluster_bootstrap(df.dropna(subset=["y"]), "y", "d", covariates=["x"], cluster="muni",
                                    fixed_effects=["pupil", "year"], n_boot=999, seed=3)
    assert wb.coef == pytest.approx(res.estimate.estimate, abs=1e-9)
    assert wb.estimate.se == pytest.approx(res.estimate.se, rel=1e-8)  # same CRV1 and small-sample factor
    assert wb.pvalue == direct.pvalue and wb.ci == direct.ci
    assert wb.estimate.n["clusters"] == 25
