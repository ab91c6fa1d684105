"""Intervals for rates and bounded means with few clusters (evaltools.estimate.bounded_intervals)."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaltools.core.errors import DataError
from evaltools.estimate.bounded_intervals import (bounded_mean, clustered_rate, design_effect, icc_anova,
                                                  mean_difference, wilson)


def _clustered(rng, G, m, icc, p=None):
    u = rng.normal(0, np.sqrt(icc), G)
    g = np.repeat(np.arange(G), m)
    e = rng.normal(0, np.sqrt(1 - icc), G * m)
    return u[g] + e, g


def test_icc_anova_recovers_the_simulated_correlation():
    rng = np.random.default_rng(1)
    y, g = _clustered(rng, 300, 20, 0.2)
    assert icc_anova(y, g) == pytest.approx(0.2, abs=0.04)
    # balanced groups: the textbook (MSB - MSW) / (MSB + (m - 1) MSW)
    frame = pd.DataFrame({"y": y, "g": g})
    means = frame.groupby("g")["y"].mean()
    msb = 20 * ((means - y.mean()) ** 2).sum() / 299
    msw = ((frame["y"] - frame["g"].map(means)) ** 2).sum() / (6000 - 300)
    assert icc_anova(y, g) == pytest.approx((msb - msw) / (msb + 19 * msw))


def test_design_effect_uses_the_size_weighted_cluster_size():
    g = np.array([0] * 10 + [1] * 30)
    m = (10**2 + 30**2) / 40
    assert design_effect(g, 0.1) == pytest.approx(1 + (m - 1) * 0.1)
    assert design_effect(g, 0.0) == 1.0


def test_wilson_matches_the_closed_form_and_stays_in_range():
    lo, hi = wilson(0.0, 20)
    assert lo == 0.0 and 0 < hi < 0.2
    z = stats.norm.ppf(0.975)
    p, n = 0.3, 50
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert wilson(p, n) == pytest.approx((centre - half, centre + half))


def test_rate_from_two_schools_stays_inside_0_100_where_cr1_went_below_zero():
    # 2 leavers in 300 pupil-years at one school, 0 in 40 at the other: the old CR1 t(1) interval
    # of this rate runs far below 0 %
    values = np.r_[np.ones(2), np.zeros(298), np.zeros(40)]
    cluster = np.r_[np.zeros(300), np.ones(40)]
    e = clustered_rate(values, cluster, icc=0.01, scale=100)
    assert 0 <= e.ci_low <= e.estimate <= e.ci_high <= 100
    assert e.estimate == pytest.approx(100 * 2 / 340)
    assert e.options["icc_source"] == "reference"
    with pytest.raises(DataError, match="too few to estimate"):
        clustered_rate(values, cluster)  # 2 schools cannot give their own correlation


def test_rate_interval_covers_in_few_cluster_simulation():
    rng = np.random.default_rng(7)
    hits, p_true = 0, 0.05
    for _ in range(400):
        # 2 schools with school-level variation on the logit scale; icc known from a reference
        u = rng.normal(0, 0.3, 2)
        n = rng.integers(50, 300, 2)
        p = 1 / (1 + np.exp(-(np.log(p_true / (1 - p_true)) + u)))
        values = np.concatenate([rng.random(k) < q for k, q in zip(n, p)]).astype(float)
        cluster = np.repeat([0, 1], n)
        mean_p = float(np.average(p, weights=n))
        e = clustered_rate(values, cluster, icc=0.005)
        hits += e.ci_low <= mean_p <= e.ci_high
    assert hits / 400 >= 0.9


def test_bounded_mean_stays_inside_the_range_and_widens_with_the_design_effect():
    rng = np.random.default_rng(3)
    y = np.clip(rng.normal(97, 5, 30), 0, 100)
    g = np.repeat([0, 1], 15)
    e0 = bounded_mean(y, g, icc=0.0)
    e1 = bounded_mean(y, g, icc=0.3)
    assert 0 <= e1.ci_low <= e1.estimate <= e1.ci_high <= 100
    assert (e1.ci_high - e1.ci_low) > (e0.ci_high - e0.ci_low)
    with pytest.raises(DataError, match="outside"):
        bounded_mean(np.array([50.0, 120.0]), np.array([0, 0]), icc=0.0)


def test_mean_difference_without_clustering_is_welch_normal():
    rng = np.random.default_rng(5)
    a, b = rng.normal(60, 10, 80), rng.normal(55, 12, 60)
    y = np.r_[a, b]
    grp = np.r_[np.ones(80, bool), np.zeros(60, bool)]
    e = mean_difference(y, grp, np.arange(140), icc=0.0)
    se = np.sqrt(a.var(ddof=1) / 80 + b.var(ddof=1) / 60)
    assert e.estimate == pytest.approx(a.mean() - b.mean())
    assert e.se == pytest.approx(se)
