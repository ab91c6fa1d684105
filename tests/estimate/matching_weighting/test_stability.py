"""Tests of evaltools.estimate.oster_delta (Oster 2019 coefficient stability).

Known truth: with one observed and one unobserved confounder that enter the
treatment and the outcome in the same proportion (delta = 1) and R_max set to
the R-squared of the full regression, Oster's bias-adjusted beta recovers the
true effect and delta for the true effect is 1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaltools.estimate import oster_delta


def simulate(n=200_000, seed=0, beta=0.5, gamma2=1.0):
    rng = np.random.default_rng(seed)
    w1 = rng.normal(size=n)
    w2 = rng.normal(size=n)
    x = w1 + gamma2 * w2 + rng.normal(size=n)
    y = beta * x + w1 + gamma2 * w2 + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "w1": w1, "w2": w2})


def full_r2(d):
    X = np.column_stack([np.ones(len(d)), d.x, d.w1, d.w2])
    b = np.linalg.lstsq(X, d.y, rcond=None)[0]
    return 1 - np.var(d.y - X @ b) / np.var(d.y)


def test_recovers_true_effect_under_proportional_selection():
    d = simulate()
    res = oster_delta(d, "y", "x", ["w1"], r_max=full_r2(d))
    assert res.beta_controlled > 0.9  # still badly biased by w2
    assert res.beta_adjusted == pytest.approx(0.5, abs=0.02)
    res2 = oster_delta(d, "y", "x", ["w1"], r_max=full_r2(d), beta_target=0.5)
    assert res2.delta == pytest.approx(1.0, abs=0.03)


def test_delta_and_adjusted_beta_are_mutually_consistent():
    """The delta that makes beta = b also returns b as the bias-adjusted beta (two different formulas)."""
    d = simulate(n=20_000, seed=1, gamma2=0.6)
    base = oster_delta(d, "y", "x", ["w1"])  # default R_max = 1.3 R_controlled
    for target in (0.0, 0.3):
        dl = oster_delta(d, "y", "x", ["w1"], beta_target=target).delta
        back = oster_delta(d, "y", "x", ["w1"], delta=dl)
        assert any(abs(r - target) < 1e-6 for r in back.roots), (target, back.roots)
    assert base.r_max == pytest.approx(min(1.3 * base.r2_controlled, 1))


def test_stable_coefficient_with_rising_r2_is_robust():
    """Controls that explain the outcome but not the treatment leave beta unmoved: delta is large."""
    rng = np.random.default_rng(2)
    n = 50_000
    w1 = rng.normal(size=n)
    x = rng.normal(size=n)
    d = pd.DataFrame({"y": 0.5 * x + w1 + rng.normal(size=n), "x": x, "w1": w1})
    res = oster_delta(d, "y", "x", ["w1"])
    assert res.beta_controlled == pytest.approx(0.5, abs=0.02)
    assert res.r2_controlled > res.r2_short + 0.2
    assert abs(res.delta) > 5 and res.robust
    assert res.beta_adjusted == pytest.approx(res.beta_controlled, abs=0.05)
    assert "delta" in repr(res)
    assert res.to_frame().shape == (7, 1)


def test_always_included_controls_and_errors():
    d = simulate(n=5000, seed=3).assign(region=lambda f: (f.w1 > 0).astype(float))
    res = oster_delta(d, "y", "x", ["w1"], always=["region"])
    assert res.inputs["always"] == ["region"]
    with pytest.raises(ValueError, match="covariates is empty"):
        oster_delta(d, "y", "x", [])
    with pytest.raises(ValueError, match="r_max"):
        oster_delta(d, "y", "x", ["w1"], r_max=0.01)
    with pytest.raises(KeyError, match="w9"):
        oster_delta(d, "y", "x", ["w9"])
