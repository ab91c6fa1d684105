"""Tests of the RD wrapper: known truth on simulated sharp and fuzzy designs, identity with
calling rdrobust / rddensity directly, the manipulation test, output and error messages."""
from __future__ import annotations

import contextlib
import io
import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from evaltools.estimate import rd, rd_density_test  # noqa: E402
from evaltools.estimate.discontinuity.local_polynomial import RDResult  # noqa: E402


def _sharp(seed: int = 0, n: int = 4000, effect: float = 0.8, cutoff: float = 50.0) -> pd.DataFrame:
    """Score on 0-100, curved outcome, jump of ``effect`` at the cutoff, 40 schools."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 100, n)
    school = rng.integers(0, 40, n)
    z = rng.normal(size=n)
    u = (x - cutoff) / 10
    y = 1 + 0.4 * u - 0.05 * u**2 + effect * (x >= cutoff) + 0.5 * z + 0.3 * rng.normal(size=40)[school] \
        + rng.normal(size=n)
    return pd.DataFrame({"score": x, "y": y, "z": z, "school": school})


def _fuzzy(seed: int = 1, n: int = 6000, late: float = -1.5, cutoff: float = 60.0) -> pd.DataFrame:
    """Offer above the cutoff; take-up 10 % below and 75 % above (jump 0.65); constant effect."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(20, 100, n)
    above = x >= cutoff
    d = (rng.random(n) < np.where(above, 0.75, 0.10)).astype(float)
    y = 5 + 0.03 * (x - cutoff) + late * d + rng.normal(size=n)
    return pd.DataFrame({"risk": x, "y": y, "took_up": d})


def _rdrobust(*args, **kwargs):
    from rdrobust import rdrobust

    with contextlib.redirect_stdout(io.StringIO()):
        return rdrobust(*args, **kwargs)


# --------------------------------------------------------------------------- known truth
def test_sharp_rd_ci_covers_the_true_jump_and_excludes_zero() -> None:
    res = rd(_sharp(effect=0.8), "y", "score", cutoff=50)
    assert isinstance(res, RDResult) and res.design == "sharp" and res.first_stage is None
    assert res.estimate.ci_low < 0.8 < res.estimate.ci_high
    assert res.estimate.ci_low > 0
    assert res.n["left"] + res.n["right"] == 4000


def test_sharp_rd_null_effect_is_not_rejected() -> None:
    res = rd(_sharp(seed=3, effect=0.0), "y", "score", cutoff=50)
    assert res.estimate.ci_low < 0 < res.estimate.ci_high
    assert res.estimate.pvalue > 0.05


def test_fuzzy_rd_recovers_the_late_and_the_take_up_jump() -> None:
    res = rd(_fuzzy(late=-1.5), "y", "risk", cutoff=60, treatment="took_up")
    assert res.design == "fuzzy"
    assert res.estimate.ci_low < -1.5 < res.estimate.ci_high
    assert res.estimate.ci_high < 0
    fs = res.first_stage
    assert fs is not None and fs.ci_low < 0.65 < fs.ci_high


def test_fuzzy_estimate_is_reduced_form_over_first_stage_at_the_same_bandwidth() -> None:
    df = _fuzzy()
    fuzzy = rd(df, "y", "risk", cutoff=60, treatment="took_up", bandwidth=12.0)
    reduced = rd(df, "y", "risk", cutoff=60, bandwidth=12.0)
    first = rd(df, "took_up", "risk", cutoff=60, bandwidth=12.0)
    assert fuzzy.conventional.estimate == pytest.approx(reduced.conventional.estimate / first.conventional.estimate,
                                                         rel=1e-10)
    assert fuzzy.first_stage.estimate == pytest.approx(first.conventional.estimate, rel=1e-10)


def test_headline_pairs_the_conventional_estimate_with_the_robust_ci() -> None:
    res = rd(_sharp(), "y", "score", cutoff=50)
    assert res.estimate.estimate == res.conventional.estimate
    assert (res.estimate.ci_low, res.estimate.ci_high) == (res.robust.ci_low, res.robust.ci_high)
    assert res.estimate.se == res.robust.se > res.conventional.se
    assert res.robust.estimate == res.estimate.diagnostics["bias_corrected_estimate"]
    # the robust CI is centred on the bias-corrected estimate, not on the headline number
    assert (res.robust.ci_low + res.robust.ci_high) / 2 == pytest.approx(res.robust.estimate)


# --------------------------------------------------------------------------- we wrap rdrobust
def test_sharp_numbers_equal_rdrobust_called_directly() -> None:
    df = _sharp()
    res = rd(df, "y", "score", cutoff=50, covariates=["z"], cluster="school", kernel="epanechnikov", p=2)
    ref = _rdrobust(df["y"].to_numpy(), df["score"].to_numpy(), c=50, p=2, kernel="epa",
                    covs=df[["z"]].to_numpy(), cluster=df["school"].to_numpy())
    assert res.conventional.estimate == pytest.approx(ref.coef.loc["Conventional", "Coeff"], rel=1e-12)
    assert res.conventional.se == pytest.approx(ref.se.loc["Conventional", "Std. Err."], rel=1e-12)
    assert res.robust.estimate == pytest.approx(ref.coef.loc["Robust", "Coeff"], rel=1e-12)
    assert res.robust.se == pytest.approx(ref.se.loc["Robust", "Std. Err."], rel=1e-12)
    assert res.robust.ci_low == pytest.approx(ref.ci.loc["Robust", "CI Lower"], rel=1e-12)
    assert res.robust.pvalue == pytest.approx(ref.pv.loc["Robust", "P>|z|"], rel=1e-9)
    assert res.bandwidths.loc["h", "left"] == pytest.approx(ref.bws.loc["h", "left"], rel=1e-12)
    assert res.n["clusters"] == 40 and res.estimate.options["vce"] == ref.vce
    assert res.n["effective_left"] == ref.N_h[0]


def test_fuzzy_numbers_equal_rdrobust_called_directly() -> None:
    df = _fuzzy()
    res = rd(df, "y", "risk", cutoff=60, treatment="took_up", bandwidth="msetwo", level=0.9)
    ref = _rdrobust(df["y"].to_numpy(), df["risk"].to_numpy(), c=60, fuzzy=df["took_up"].to_numpy(),
                    bwselect="msetwo", level=90)
    assert res.estimate.estimate == pytest.approx(ref.coef.loc["Conventional", "Coeff"], rel=1e-12)
    assert res.estimate.ci_high == pytest.approx(ref.ci.loc["Robust", "CI Upper"], rel=1e-12)
    assert res.first_stage.estimate == pytest.approx(ref.tau_T.loc["Conventional", "Coeff"], rel=1e-12)
    assert res.first_stage.ci_low == pytest.approx(ref.ci_T.loc["Robust", "CI Lower"], rel=1e-12)
    assert res.bandwidths.loc["h", "right"] == pytest.approx(ref.bws.loc["h", "right"], rel=1e-12)
    assert res.bandwidths.loc["h", "left"] != res.bandwidths.loc["h", "right"]
    assert res.estimate.level == 0.9


def test_fixed_bandwidth_is_used_and_missing_rows_are_dropped_and_counted() -> None:
    df = _sharp()
    df.loc[[3, 10, 99], "y"] = np.nan
    res = rd(df, "y", "score", cutoff=50, bandwidth=(8.0, 12.0))
    assert res.bandwidths.loc["h", "left"] == 8.0 and res.bandwidths.loc["h", "right"] == 12.0
    assert res.estimate.diagnostics["n_dropped_missing"] == 3
    assert res.n["left"] + res.n["right"] == 3997
    inside = df.dropna()
    assert res.n["effective_left"] == int(((inside.score < 50) & (inside.score >= 42)).sum())


# --------------------------------------------------------------------------- density test
def _bunched(seed: int = 5, n: int = 4000) -> pd.DataFrame:
    """Scores uniform, but 30 % of those just below the cutoff are pushed just above it."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 100, n)
    move = (x >= 45) & (x < 50) & (rng.random(n) < 0.3)
    x[move] = 50 + rng.uniform(0, 5, move.sum())
    return pd.DataFrame({"score": x, "y": rng.normal(size=n)})


def test_density_test_rejects_with_bunching_above_the_cutoff() -> None:
    res = rd(_bunched(), "y", "score", cutoff=50)
    test = res.density_test()
    assert test.pvalue < 0.01
    assert test.density_right > test.density_left and test.statistic > 0


def test_density_test_does_not_reject_without_manipulation() -> None:
    test = rd_density_test(_sharp(seed=7), "score", cutoff=50)
    assert test.pvalue > 0.05


def test_density_test_equals_rddensity_called_directly() -> None:
    from rddensity import rddensity

    df = _bunched()
    test = rd_density_test(df, "score", cutoff=50)
    ref = rddensity(df["score"].to_numpy(), c=50)
    assert test.statistic == pytest.approx(float(ref.test["t_jk"]), rel=1e-12)
    assert test.pvalue == pytest.approx(float(ref.test["p_jk"]), rel=1e-12)
    assert test.h_left == pytest.approx(float(ref.h["left"]), rel=1e-12)
    assert "sorting" in repr(test) and test.to_frame().shape == (1, 10)


# --------------------------------------------------------------------------- output
def test_repr_to_frame_to_dict_and_plot() -> None:
    res = rd(_fuzzy(), "y", "risk", cutoff=60, treatment="took_up")
    text = repr(res)
    assert "Fuzzy regression discontinuity at risk = 60" in text and "First stage" in text
    frame = res.to_frame()
    assert list(frame.index) == ["headline (conventional estimate, robust CI)", "conventional",
                                 "robust bias-corrected", "first stage (take-up jump)"]
    assert frame.loc["conventional", "estimate"] == res.conventional.estimate
    json.dumps(res.to_dict())
    ax = res.plot()
    assert ax.get_xlabel() == "risk" and len(ax.lines) == 3  # two fits and the cutoff line
    ax2 = res.plot(which="treatment", full_range=True, bins=10)
    assert ax2.get_ylabel() == "took_up"
    fits = [ln for ln in ax.lines if len(ln.get_xdata()) == 100]
    left, right = (f.get_ydata() for f in fits)
    # with h as the bandwidth the display fits reproduce the conventional jump
    reduced = rd(_fuzzy(), "y", "risk", cutoff=60, bandwidth=float(res.bandwidths.loc["h", "left"]))
    assert right[0] - left[-1] == pytest.approx(reduced.conventional.estimate, rel=1e-8)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, error, words", [
    ({"outcome": "nope"}, KeyError, "outcome column 'nope'"),
    ({"cluster": "nope"}, KeyError, "cluster column 'nope'"),
    ({"kernel": "gaussian"}, ValueError, "kernel must be one of"),
    ({"p": 1.5}, ValueError, "integer from 0 to 4"),
    ({"bandwidth": "optimal"}, ValueError, "mserd"),
    ({"bandwidth": -2.0}, ValueError, "positive number"),
    ({"cutoff": 150.0}, ValueError, "0 at or above it"),
    ({"level": 95}, ValueError, "between 0 and 1"),
])
def test_bad_arguments_raise_clear_errors(kwargs, error, words) -> None:
    args = {"data": _sharp(n=500), "outcome": "y", "running": "score", "cutoff": 50.0} | kwargs
    with pytest.raises(error, match=words):
        rd(**args)


def test_non_numeric_running_variable_and_sharp_plot_of_treatment_are_errors() -> None:
    df = _sharp(n=500).assign(score=lambda d: d["score"].astype(str))
    with pytest.raises(ValueError, match="running column 'score' must be numeric"):
        rd(df, "y", "score", cutoff=50)
    res = rd(_sharp(n=1000), "y", "score", cutoff=50)
    with pytest.raises(ValueError, match="needs a fuzzy design"):
        res.plot(which="treatment")


def test_fuzzy_call_on_a_sharp_design_warns() -> None:
    df = _sharp(n=1000).assign(d=lambda d: (d["score"] >= 50).astype(int))
    with pytest.warns(UserWarning, match="the design is sharp"):
        res = rd(df, "y", "score", cutoff=50, treatment="d")
    assert res.first_stage.estimate == pytest.approx(1.0)


@pytest.mark.slow  # Monte Carlo
def test_robust_ci_has_nominal_coverage_in_a_curved_sharp_design() -> None:
    """Monte Carlo: 300 samples of 1,500; the robust bias-corrected 95 % CI covers 0.8 in 92-98.5 %."""
    reps, cover = 300, 0
    for s in range(reps):
        res = rd(_sharp(seed=100 + s, n=1500), "y", "score", cutoff=50)
        cover += res.estimate.ci_low < 0.8 < res.estimate.ci_high
    assert 0.92 <= cover / reps <= 0.985
