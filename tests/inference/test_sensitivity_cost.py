"""E-values (VanderWeele & Ding 2017) and cost per pupil / per outcome."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaltools.inference import cost_per_outcome, cost_per_pupil, e_value
from evaltools.standards import InputError


def test_e_value_published_example():
    # VanderWeele & Ding (2017), Ann Intern Med 167:268: RR 3.9 (95 % CI 1.8 to 8.7)
    # has E-value 7.26 for the estimate and 3.0 for the lower confidence limit.
    r = e_value(3.9, 1.8, 8.7)
    assert round(r.e_value, 2) == 7.26
    assert round(r.e_value_ci, 2) == 3.00


def test_e_value_protective_and_null_crossing():
    r = e_value(0.8, 0.71, 0.91)
    assert r.e_value == pytest.approx(1 / 0.8 + math.sqrt(1 / 0.8 * (1 / 0.8 - 1)))
    assert r.e_value_ci == pytest.approx(1 / 0.91 + math.sqrt(1 / 0.91 * (1 / 0.91 - 1)))
    assert e_value(1.3, 0.9, 1.8).e_value_ci == 1.0


def test_e_value_conversions():
    # common outcome: OR 4 -> RR 2; HR conversion; SMD: RR = exp(0.91 d)
    assert e_value(4.0, measure="OR", rare=False).rr == pytest.approx(2.0)
    assert e_value(4.0, measure="OR", rare=True).rr == pytest.approx(4.0)
    hr = e_value(2.0, measure="HR", rare=False).rr
    assert hr == pytest.approx((1 - 0.5 ** math.sqrt(2)) / (1 - 0.5 ** math.sqrt(0.5)))
    smd = e_value(0.5, measure="SMD", se=0.1)
    assert smd.rr == pytest.approx(math.exp(0.455))
    assert smd.rr_ci_low == pytest.approx(math.exp(0.455 - 0.178))
    assert smd.e_value_ci < smd.e_value
    assert "E-value" in repr(smd)


@given(st.floats(1.0001, 50), st.floats(1.0001, 50))
def test_e_value_monotone_and_at_least_rr(a, b):
    lo, hi = sorted((a, b))
    assert e_value(lo).e_value <= e_value(hi).e_value + 1e-12
    assert e_value(hi).e_value >= hi


def test_e_value_bad_input():
    with pytest.raises(InputError, match="log ratio"):
        e_value(-0.2)
    with pytest.raises(InputError, match="does not contain"):
        e_value(2.0, 2.5, 3.0)
    with pytest.raises(InputError, match="se"):
        e_value(0.3, 0.1, 0.5, measure="SMD")


def test_cost_per_pupil_components():
    r = cost_per_pupil(components={"staff": 80_000, "transport": 20_000}, n_pupils=800, years=2)
    assert r.per_pupil == pytest.approx(125.0) and r.per_pupil_per_year == pytest.approx(62.5)
    assert r.to_frame().loc["transport", "share"] == pytest.approx(0.2)
    with pytest.raises(InputError, match="differs from the sum"):
        cost_per_pupil(100_001, 800, components={"staff": 100_000})
    with pytest.raises(InputError, match="n_pupils"):
        cost_per_pupil(1000, 0)


def test_cost_per_outcome_bounded_is_inverted_effect_ci():
    r = cost_per_outcome(100_000, effect=0.04, se=0.015, n=1000)
    z = 1.959963984540054
    assert r.estimate.estimate == pytest.approx(2500.0)
    assert r.estimate.ci_low == pytest.approx(100_000 / (1000 * (0.04 + z * 0.015)))
    assert r.estimate.ci_high == pytest.approx(100_000 / (1000 * (0.04 - z * 0.015)))
    assert r.bounded and r.outcomes.estimate == pytest.approx(40.0)
    # asymmetric, unlike the delta method
    d = cost_per_outcome(100_000, effect=0.04, se=0.015, n=1000, method="delta")
    assert d.estimate.ci_high - 2500 == pytest.approx(2500 - d.estimate.ci_low)
    assert r.estimate.ci_high - 2500 > 2500 - r.estimate.ci_low


def test_cost_per_outcome_effect_ci_crossing_zero_is_unbounded():
    r = cost_per_outcome(100_000, effect=0.04, se=0.025, n=1000)
    assert not r.bounded and math.isinf(r.estimate.ci_high)
    assert "no upper bound" in repr(r)
    none = cost_per_outcome(100_000, effect=-0.05, se=0.01, n=1000)
    assert math.isnan(none.estimate.estimate) and not none.bounded


def test_fieller_coverage_with_uncertain_cost_by_simulation():
    # Truth: cost 100k (SE 15k), effect 0.03 (SE 0.01), 1000 pupils -> theta = 3333.
    # Fieller's set should cover the true ratio about 95 % of the time.
    rng = np.random.default_rng(2)
    C, sc, e, s, n, reps = 100_000, 15_000, 0.03, 0.01, 1000, 2000
    truth = C / (n * e)
    hits = 0
    for _ in range(reps):
        ch, eh = rng.normal(C, sc), rng.normal(e, s)
        r = cost_per_outcome(max(ch, 0), effect=eh, se=s, n=n, cost_se=sc)
        lo, hi = r.estimate.ci_low, r.estimate.ci_high
        hits += (lo <= truth <= hi) if not math.isnan(lo) else 0
    assert abs(hits / reps - 0.95) < 3 * math.sqrt(0.95 * 0.05 / reps)


def test_cost_per_outcome_bad_input():
    with pytest.raises(InputError, match="se"):
        cost_per_outcome(1000, 0.1, 0.0, 100)
    with pytest.raises(InputError, match="fieller"):
        cost_per_outcome(1000, 0.1, 0.01, 100, method="bootstrap")
