"""Tests of event_study: pyfixest references, known truth with heterogeneous dynamic effects
(where the TWFE event study is contaminated and Sun-Abraham is not), options and errors."""
from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaltools.estimate import event_study  # noqa: E402

YEARS = np.arange(2010, 2022)
JUMP = {2014: 0.5, 2016: 1.0, 2018: 2.0}
SLOPE = {2014: 1.0, 2016: 0.5, 2018: 0.1}


def _staggered(seed: int = 0, units: int = 3000, never: float = 0.3, heterogeneous: bool = True) -> pd.DataFrame:
    """Balanced panel, cohorts 2014/2016/2018 (+ never treated as cohort 0).

    Effect of cohort g at e = t - g >= 0: JUMP[g] + SLOPE[g] * e (heterogeneous and
    dynamic) or 1 + 0.5 e for every cohort (homogeneous). Column ``tau`` is the truth.
    """
    rng = np.random.default_rng(seed)
    cohorts = np.array(sorted(JUMP))
    g = np.where(rng.random(units) < never, 0, rng.choice(cohorts, units))
    i = np.repeat(np.arange(units), len(YEARS))
    t = np.tile(YEARS, units)
    gi = g[i]
    e = t - gi
    jump = np.array([JUMP.get(x, 0.0) if heterogeneous else 1.0 for x in gi])
    slope = np.array([SLOPE.get(x, 0.0) if heterogeneous else 0.5 for x in gi])
    tau = np.where((gi > 0) & (e >= 0), jump + slope * e, 0.0)
    y = rng.normal(size=units)[i] + 0.2 * (t - 2010) + tau + rng.normal(size=len(i))
    return pd.DataFrame({"pupil": i, "year": t, "first": gi, "y": y, "tau": tau, "muni": i % 40})


def _truth(df: pd.DataFrame) -> pd.Series:
    """The IW estimand: the observation-weighted mean effect of treated units at each e."""
    tr = df[df["first"] > 0]
    return tr.groupby(tr["year"] - tr["first"])["tau"].mean()


@pytest.fixture(scope="module")
def hetero() -> pd.DataFrame:
    return _staggered()


@pytest.fixture(scope="module")
def fits(hetero: pd.DataFrame) -> dict:
    return {est: event_study(hetero, "y", "pupil", "year", "first", method=est) for est in ("twfe", "sunab")}


def test_sunab_equals_pyfixest_saturated_event_study(hetero: pd.DataFrame, fits: dict) -> None:
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.event_study(hetero, yname="y", idname="pupil", tname="year", gname="first",
                             estimator="saturated").aggregate()
    ref.index = ref.index.astype(int)
    ours = fits["sunab"].table.drop(index=-1)
    assert list(ours.index) == list(ref.index)
    np.testing.assert_allclose(ours["estimate"], ref["Estimate"].astype(float), atol=1e-8)
    np.testing.assert_allclose(ours["se"], ref["Std. Error"].astype(float), rtol=1e-8)


def test_twfe_event_study_equals_pyfixest_dynamic_twfe(hetero: pd.DataFrame, fits: dict) -> None:
    import pyfixest as pf

    d = hetero.assign(rel=np.where(hetero["first"] > 0, hetero["year"] - hetero["first"], -1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols("y ~ i(rel, ref=-1) | pupil + year", d, vcov={"CRV1": "pupil"}, fixef_tol=1e-11)
    tidy = ref.tidy()
    tidy = tidy[~tidy.index.str.contains("-1000")]
    tidy.index = [int(float(s.split("::")[1].rstrip("]"))) for s in tidy.index]
    ours = fits["twfe"].table.drop(index=-1)
    np.testing.assert_allclose(ours["estimate"], tidy.loc[ours.index, "Estimate"], atol=1e-8)
    np.testing.assert_allclose(ours["se"], tidy.loc[ours.index, "Std. Error"], rtol=1e-8)


def test_sunab_recovers_heterogeneous_dynamic_effects(hetero: pd.DataFrame, fits: dict) -> None:
    res = fits["sunab"]
    z = (res.table.drop(index=-1)["estimate"] - _truth(hetero)) / res.table.drop(index=-1)["se"]
    assert z.abs().max() < 4.0, z
    assert res.pretrend["pvalue"] > 0.01
    true_att = hetero.loc[hetero["tau"] != 0, "tau"].mean()  # obs-weighted over treated post cells
    assert abs(res.att.estimate - true_att) < 4 * res.att.se
    w = res.cohort_table["weight"].groupby(level="rel_time").sum()
    np.testing.assert_allclose(w, 1.0, atol=1e-12)


def test_twfe_event_study_is_contaminated_by_heterogeneous_effects(hetero: pd.DataFrame, fits: dict) -> None:
    # Sun & Abraham (2021), Prop. 3: with cohort-specific dynamics the TWFE leads and lags
    # pick up effects from other periods: spurious pre-trends and biased lags.
    res = fits["twfe"]
    z = (res.table.drop(index=-1)["estimate"] - _truth(hetero)) / res.table.drop(index=-1)["se"]
    assert res.pretrend["pvalue"] < 1e-3
    assert z.abs().max() > 5.0


def test_both_estimators_agree_when_effects_are_homogeneous() -> None:
    df = _staggered(seed=2, units=2000, heterogeneous=False)
    tw = event_study(df, "y", "pupil", "year", "first", method="twfe")
    sa = event_study(df, "y", "pupil", "year", "first", method="sunab")
    truth = _truth(df)
    for res in (tw, sa):
        z = (res.table.drop(index=-1)["estimate"] - truth) / res.table.drop(index=-1)["se"]
        assert z.abs().max() < 4.0
        assert res.pretrend["pvalue"] > 0.01


def test_last_treated_cohort_is_the_control_without_never_treated() -> None:
    df = _staggered(seed=3, units=2000, never=0.0)
    res = event_study(df, "y", "pupil", "year", "first", method="sunab")
    assert res.att.options["control"] == "last-treated cohort (2018)"
    used = df[(df["year"] < 2018) & (df["first"] < 2018)]
    truth = _truth(used)
    est = res.table.drop(index=-1)
    assert set(est.index) == set(truth.index) - {-1}
    z = (est["estimate"] - truth) / est["se"]
    assert z.abs().max() < 4.0


def test_window_bins_the_end_points_and_covariates_enter() -> None:
    df = _staggered(seed=4, units=800)
    df["x"] = np.random.default_rng(0).normal(size=len(df))
    df["y"] = df["y"] + 0.7 * df["x"]
    res = event_study(df, "y", "pupil", "year", "first", method="sunab", window=(-3, 3), covariates="x",
                      cluster="muni")
    assert list(res.table.index) == [-3, -2, -1, 0, 1, 2, 3]
    assert res.att.n["clusters"] == 40
    rel = (df["year"] - df["first"])[df["first"] > 0]
    assert res.table.loc[3, "n_obs"] == int((rel >= 3).sum())
    assert res.fit.coef()["x0_"] == pytest.approx(0.7, abs=0.05)


def test_plot_repr_and_frame(fits: dict) -> None:
    res = fits["sunab"]
    ax = res.plot()
    assert ax.get_xlabel() == "Periods relative to adoption"
    n_est = len(res.table) - 1
    assert len(ax.containers[0].lines[0].get_xdata()) == n_est
    text = repr(res)
    assert "Pre-trends (wild cluster bootstrap sup-t test of 7 restrictions" in text and "0 (ref)" in text
    assert f"chi2(7) p = {res.pretrend['pvalue_chi2']:.3g}" in text
    frame = res.to_frame()
    assert frame.loc[-1, "estimate"] == 0 and np.isnan(frame.loc[-1, "se"])
    assert res.estimates[0].estimand == "effect at e=0"


def test_bad_input_is_explained(hetero: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="method must be one of 'twfe', 'sunab'"):
        event_study(hetero, "y", "pupil", "year", "first", method="cs")
    bad = hetero.copy()
    bad.loc[0, "first"] = 2016
    with pytest.raises(ValueError, match="constant within each unit; unit 0"):
        event_study(bad, "y", "pupil", "year", "first")
    with pytest.raises(ValueError, match="base_period=-20 is not observed"):
        event_study(hetero, "y", "pupil", "year", "first", base_period=-20)
    with pytest.raises(ValueError, match="must lie inside window"):
        event_study(hetero, "y", "pupil", "year", "first", window=(0, 3))
    with pytest.raises(KeyError, match="cohort column 'g'"):
        event_study(hetero, "y", "pupil", "year", "g")
    with pytest.raises(ValueError, match="No unit is treated"):
        event_study(hetero.assign(first=0), "y", "pupil", "year", "first")


def test_sunab_on_an_unbalanced_panel_equals_pyfixest() -> None:
    import pyfixest as pf

    # entry and exit at random (2010-2012 in, 2019-2021 out); every adoption year stays
    # observed, because pyfixest re-derives the cohort as the first *observed* treated year
    df = _staggered(seed=6, units=1500)
    rng = np.random.default_rng(2)
    start, end = rng.integers(2010, 2013, 1500), rng.integers(2019, 2022, 1500)
    df = df[(df["year"] >= start[df["pupil"]]) & (df["year"] <= end[df["pupil"]])]
    ours = event_study(df, "y", "pupil", "year", "first", method="sunab").table.drop(index=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.event_study(df, yname="y", idname="pupil", tname="year", gname="first",
                             estimator="saturated").aggregate()
    ref.index = ref.index.astype(int)
    # pyfixest.event_study has no tolerance option: its demeaning stops at 1e-8, which on an
    # unbalanced panel leaves ~1e-8 relative error in its own numbers (ours use 1e-11).
    np.testing.assert_allclose(ours["estimate"], ref.loc[ours.index, "Estimate"].astype(float), atol=1e-7)
    np.testing.assert_allclose(ours["se"], ref.loc[ours.index, "Std. Error"].astype(float), rtol=1e-7)


def test_sunab_recovers_the_truth_when_adoption_rows_are_missing() -> None:
    # pupils leave and miss years; the declared cohort (not the first observed treated
    # year) defines relative time, so dropping rows must not shift anyone's event time
    df = _staggered(seed=8, units=3000).sample(frac=0.8, random_state=3).sort_index()
    res = event_study(df, "y", "pupil", "year", "first", method="sunab")
    est = res.table.drop(index=-1)
    z = (est["estimate"] - _truth(df)) / est["se"]
    assert z.abs().max() < 4.0
    assert res.pretrend["pvalue"] > 0.01


@pytest.mark.slow
def test_sunab_confidence_intervals_cover_the_truth_in_repeated_samples() -> None:
    # 200 panels with heterogeneous dynamic effects; the estimand conditions on each sample's
    # cohort composition (shares treated as fixed, as in the SE). Binomial 99 % band for a
    # 95 % interval over 200 draws: about [0.91, 0.99].
    cover = {0: 0, 3: 0, "att": 0}
    n_sim = 200
    for s in range(n_sim):
        df = _staggered(seed=1000 + s, units=400)
        res = event_study(df, "y", "pupil", "year", "first", method="sunab")
        truth = _truth(df)
        for e in (0, 3):
            est = res.estimates[e]
            cover[e] += est.ci_low <= truth[e] <= est.ci_high
        att = df.loc[df["tau"] != 0, "tau"].mean()
        cover["att"] += res.att.ci_low <= att <= res.att.ci_high
    for key, c in cover.items():
        assert 0.91 <= c / n_sim <= 0.99, (key, c / n_sim)



def test_a_cohort_without_residual_variation_is_refused_with_the_reason() -> None:
    # 8 units: one never treated, one in cohort 2014, three each in 2016 and 2018. The lone
    # 2014 unit is fitted exactly by its unit effect and its Sun-Abraham cells, and with one
    # comparison unit nothing else identifies their variance: CRV1 gives 0 (+-1e-18).
    df = _staggered(seed=1, units=8, never=0.2)
    assert df.groupby("first")["pupil"].nunique().to_dict() == {0: 1, 2014: 1, 2016: 3, 2018: 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest's own sqrt of the negative rounding
        with pytest.raises(ValueError, match=r"cohort 2014: 1 unit\(s\) in 1 'muni' cluster") as err:
            event_study(df, "y", "pupil", "year", "first", method="sunab", cluster="muni")
        assert "method='twfe'" in str(err.value)
        # the pooled TWFE event study has residual variation left and gives finite SEs
        tw = event_study(df, "y", "pupil", "year", "first", method="twfe", cluster="muni")
    assert np.isfinite(tw.table["se"].drop(index=-1)).all() and (tw.table["se"].drop(index=-1) > 0).all()
