"""Tests of kaplan_meier: statsmodels and brute-force references, known truth, weights,
output and error messages."""
from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

matplotlib.use("Agg")

from evaltools.estimate import kaplan_meier  # noqa: E402


def _exponential(seed: int = 0, n: int = 800, rates: tuple[float, float] = (0.10, 0.20)) -> pd.DataFrame:
    """Two groups with exponential event times (known S(t) = exp(-rate t)), uniform censoring."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    rate = np.where(g == 1, rates[1], rates[0])
    t_event = rng.exponential(1 / rate)
    t_cens = rng.uniform(0, 25, n)
    return pd.DataFrame({"time": np.minimum(t_event, t_cens), "event": (t_event <= t_cens).astype(int),
                         "arm": np.where(g == 1, "B", "A")})


def _grades(seed: int = 1, n: int = 600) -> pd.DataFrame:
    """Pupil data with heavy ties: years in school 1-8, leaving early or censored."""
    rng = np.random.default_rng(seed)
    years = rng.integers(1, 9, n)
    left = (rng.random(n) < 0.3).astype(int)
    return pd.DataFrame({"years": years, "left": left, "supported": rng.integers(0, 2, n)})


def test_survival_and_greenwood_se_equal_statsmodels_with_ties() -> None:
    df = _grades()
    res = kaplan_meier(df, "years", "left")
    ref = SurvfuncRight(df["years"], df["left"])
    tab = res.table.set_index("time")
    at_events = tab.loc[ref.surv_times]
    np.testing.assert_allclose(at_events["survival"], ref.surv_prob, rtol=1e-12)
    np.testing.assert_allclose(at_events["se"], ref.surv_prob_se, rtol=1e-10)
    np.testing.assert_array_equal(at_events["at_risk"], ref.n_risk)


def test_product_limit_equals_a_brute_force_computation() -> None:
    df = pd.DataFrame({"t": [1, 2, 2, 3, 4, 4, 5, 6, 6, 6], "e": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1]})
    res = kaplan_meier(df, "t", "e")
    s, var_sum, expected = 1.0, 0.0, {}
    for time in sorted(df["t"].unique()):
        n = int((df["t"] >= time).sum())
        d = int(((df["t"] == time) & (df["e"] == 1)).sum())
        s *= 1 - d / n
        var_sum += d / (n * (n - d)) if n > d else np.inf
        expected[time] = (s, s * np.sqrt(var_sum) if s > 0 else np.nan)
    tab = res.table.set_index("time")
    for time, (surv, se) in expected.items():
        assert tab.loc[time, "survival"] == pytest.approx(surv, rel=1e-12)
        if np.isnan(se):
            assert np.isnan(tab.loc[time, "se"])
        else:
            assert tab.loc[time, "se"] == pytest.approx(se, rel=1e-12)


def test_greenwood_se_reproduces_lifelines_loglog_interval() -> None:
    res = kaplan_meier(_exponential(), "time", "event", group="arm")
    tab = res.table[(res.table["survival"] < 1) & (res.table["survival"] > 0)]
    z = stats.norm.ppf(0.975)
    s = tab["survival"].to_numpy()
    half = z * tab["se"].to_numpy() / (s * np.abs(np.log(s)))
    theta = np.log(-np.log(s))
    np.testing.assert_allclose(tab["ci_low"], np.exp(-np.exp(theta + half)), rtol=1e-8)
    np.testing.assert_allclose(tab["ci_high"], np.exp(-np.exp(theta - half)), rtol=1e-8)


def test_intervals_and_medians_equal_lifelines_without_truncation() -> None:
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    df = _exponential(seed=2)
    res = kaplan_meier(df, "time", "event", group="arm", level=0.9)
    for arm in ("A", "B"):
        sub = df[df["arm"] == arm]
        kmf = KaplanMeierFitter(alpha=0.1).fit(sub["time"], sub["event"])
        tab = res.table[res.table["group"] == arm]
        np.testing.assert_allclose(tab["ci_low"], kmf.confidence_interval_.iloc[:, 0], rtol=1e-8)
        np.testing.assert_allclose(tab["ci_high"], kmf.confidence_interval_.iloc[:, 1], rtol=1e-8)
        med_ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
        assert res.medians.loc[arm, "median"] == kmf.median_survival_time_
        assert (res.medians.loc[arm, "ci_low"], res.medians.loc[arm, "ci_high"]) == tuple(med_ci)
        assert res.medians.loc[arm, "n"] == len(sub)


def test_left_truncation_equals_statsmodels() -> None:
    """Pupils first observed in different grades (entry) are at risk only after entry."""
    rng = np.random.default_rng(2)
    n = 800
    entry = rng.integers(0, 4, n).astype(float)
    df = pd.DataFrame({"entry": entry, "grade": entry + rng.integers(1, 6, n),
                       "left": (rng.random(n) < 0.4).astype(int), "g": rng.integers(0, 2, n)})
    res = kaplan_meier(df, "grade", "left", group="g", entry="entry")
    for lev in (0, 1):
        sub = df[df["g"] == lev]
        ref = SurvfuncRight(sub["grade"], sub["left"], entry=sub["entry"])
        tab = res.table[res.table["group"] == lev].set_index("time").loc[ref.surv_times]
        np.testing.assert_allclose(tab["survival"], ref.surv_prob, rtol=1e-12)
        np.testing.assert_allclose(tab["se"], ref.surv_prob_se, rtol=1e-10)
        np.testing.assert_array_equal(tab["at_risk"], ref.n_risk)
    stat, p = survdiff(df["grade"], df["left"], df["g"], entry=df["entry"])
    assert res.logrank.statistic == pytest.approx(stat, rel=1e-10) and res.logrank.pvalue == pytest.approx(p)
    # ignoring the late entry gives a different (biased) curve
    naive = kaplan_meier(df, "grade", "left", group="g")
    assert not np.allclose(naive.table["survival"], res.table["survival"])


def test_logrank_equals_statsmodels_survdiff() -> None:
    df = _exponential()
    res = kaplan_meier(df, "time", "event", group="arm")
    stat, p = survdiff(df["time"], df["event"], df["arm"])
    assert res.logrank.statistic == pytest.approx(stat, rel=1e-8)
    assert res.logrank.pvalue == pytest.approx(p, rel=1e-6)
    assert res.logrank.df == 1 and res.logrank.pvalue < 1e-4


def test_known_truth_survival_median_and_difference_are_covered() -> None:
    res = kaplan_meier(_exponential(seed=4), "time", "event", group="arm")
    for arm, rate in (("A", 0.10), ("B", 0.20)):
        s5 = res.survival_at(5.0, arm)
        assert s5.ci_low < np.exp(-rate * 5) < s5.ci_high
        med = res.medians.loc[arm]
        assert med["ci_low"] < np.log(2) / rate < med["ci_high"]
    diff = res.difference_at(5.0, "B", "A")
    assert diff.ci_low < np.exp(-1.0) - np.exp(-0.5) < diff.ci_high and diff.ci_high < 0
    assert diff.se == pytest.approx(np.hypot(res.survival_at(5.0, "B").se, res.survival_at(5.0, "A").se))


def test_no_difference_is_not_rejected() -> None:
    res = kaplan_meier(_exponential(seed=9, rates=(0.1, 0.1)), "time", "event", group="arm")
    assert res.logrank.pvalue > 0.05


def test_integer_weights_equal_duplicated_rows() -> None:
    df = _grades(n=200)
    df["w"] = np.random.default_rng(3).integers(1, 4, len(df))
    weighted = kaplan_meier(df, "years", "left", group="supported", weights="w")
    expanded = kaplan_meier(df.loc[df.index.repeat(df["w"])], "years", "left", group="supported")
    np.testing.assert_allclose(weighted.table["survival"], expanded.table["survival"], rtol=1e-12)
    np.testing.assert_allclose(weighted.table["at_risk"], expanded.table["at_risk"], rtol=1e-12)
    assert weighted.logrank.statistic == pytest.approx(expanded.logrank.statistic, rel=1e-8)


def test_single_curve_output_and_plot() -> None:
    res = kaplan_meier(_grades(), "years", "left")
    assert res.groups == ["all"] and res.logrank is None
    assert "Kaplan-Meier survival of years (event left)" in repr(res)
    ax = res.plot(cumulative=True)
    assert ax.get_ylabel() == "cumulative incidence"
    res2 = kaplan_meier(_grades(), "years", "left", group="supported")
    text = repr(res2)
    assert "Log-rank test" in text and "median" in text
    assert res2.medians["ci_high"].eq(np.inf).any()  # some upper limits are never reached in 8 years
    json.dumps(res2.to_dict(), allow_nan=False)
    assert res2.to_frame().columns.tolist() == ["group", "time", "at_risk", "events", "censored", "survival",
                                                "se", "ci_low", "ci_high"]
    ax = res2.plot()
    assert len(ax.lines) == 2 and ax.get_legend().get_title().get_text() == "supported"


@pytest.mark.parametrize("change, error, words", [
    (lambda d: d.assign(years=-d["years"]), ValueError, "duration column 'years' must hold finite non-negative"),
    (lambda d: d.assign(left=d["left"] * 2), ValueError, "event column 'left' must be 0/1"),
    (lambda d: d.assign(supported=d["supported"].where(d.index != 5)), ValueError, "first at row 5"),
    (lambda d: d.drop(columns="left"), KeyError, "event column 'left' is not in the data"),
    (lambda d: d.assign(entry=d["years"] + 1), ValueError,
     "entry column 'entry' must be finite, non-negative and not after"),
])
def test_bad_input_raises_clear_errors(change, error, words) -> None:
    with pytest.raises(error, match=words):
        kaplan_meier(change(_grades(n=50).assign(entry=0)), "years", "left", group="supported", entry="entry")


def test_unknown_group_and_early_time_are_errors() -> None:
    res = kaplan_meier(_grades(n=100), "years", "left", group="supported")
    with pytest.raises(KeyError, match="Group 7 is not in the result"):
        res.survival_at(3, 7)
    with pytest.raises(ValueError, match="before the first time"):
        res.survival_at(-1, 0)
