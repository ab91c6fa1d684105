"""Funnel-plot control limits (evaltools.inference.funnel)."""
import numpy as np
import pytest
from scipy import stats

from evaltools.core.errors import InputError
from evaltools.inference.funnel import funnel_limits, outside_limits


def test_binomial_limits_hold_the_stated_probability_and_narrow_with_size():
    lim = funnel_limits([50, 500, 5000], 0.1)
    assert (np.diff(lim["high_99.8"]) < 0).all() and (np.diff(lim["low_99.8"]) > 0).all()
    for n, hi in zip([50, 500, 5000], lim["high_99.8"]):
        # at most 0.1 % of Bin(n, theta) lies above the upper 99.8 % limit (interpolation inside one step)
        assert stats.binom.sf(np.floor(hi * n), n, 0.1) <= 0.001 + stats.binom.pmf(np.floor(hi * n), n, 0.1)
    assert ((lim["low_95"] >= lim["low_99.8"]) & (lim["high_95"] <= lim["high_99.8"])).all()


def test_large_n_limits_approach_the_normal_approximation():
    n, theta = 1_000_000, 0.2
    lim = funnel_limits([n], theta, scale=100)
    z = stats.norm.ppf(0.999)
    assert lim["high_99.8"].iloc[0] == pytest.approx(100 * (theta + z * np.sqrt(theta * (1 - theta) / n)), abs=1e-3)


def test_mean_limits_and_outside_flags():
    lim = funnel_limits([25, 100], 50.0, kind="mean", sd=10.0)
    assert lim["high_95"].iloc[0] == pytest.approx(50 + stats.norm.ppf(0.975) * 2)
    flags = outside_limits([60.0, 50.0], lim)
    assert list(flags) == [1, 0]
    with pytest.raises(InputError, match="sd"):
        funnel_limits([10], 50.0, kind="mean")
    with pytest.raises(InputError, match="positive"):
        funnel_limits([0], 0.1)
