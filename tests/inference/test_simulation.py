"""Power by simulation: generic loop and placebo staggered DiD."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower

from evaltools.estimate.result import Estimate
from evaltools.inference import simulate_power, staggered_did_power
from evaltools.standards import InputError
from tests import ROOT


def _ttest_estimate(data):
    y1, y0 = data
    n1, n0 = len(y1), len(y0)
    diff = y1.mean() - y0.mean()
    sp2 = ((n1 - 1) * y1.var(ddof=1) + (n0 - 1) * y0.var(ddof=1)) / (n1 + n0 - 2)
    se = math.sqrt(sp2 * (1 / n1 + 1 / n0))
    p = 2 * stats.t.sf(abs(diff / se), n1 + n0 - 2)
    return Estimate(estimand="diff", estimate=diff, se=se, ci_low=np.nan, ci_high=np.nan,
                    pvalue=float(p))


def test_simulated_power_matches_exact_t_test_power():
    # Truth: the two-sample t test's power is known exactly (noncentral t, statsmodels).
    n, delta, sims = 30, 0.6, 2000
    sim = simulate_power(lambda rng: (rng.normal(delta, 1, n), rng.normal(0, 1, n)),
                         _ttest_estimate, n_sims=sims, seed=4, effect=delta)
    exact = TTestIndPower().power(effect_size=delta, nobs1=n, alpha=0.05)
    assert abs(sim.power - exact) < 3 * math.sqrt(exact * (1 - exact) / sims)
    assert sim.ci_low < exact < sim.ci_high
    assert "Simulated power" in repr(sim) and sim.to_frame().loc[0, "n_sims"] == sims


def _panel(seed=0, schools=40, per_school=8, years=6):
    rng = np.random.default_rng(seed)
    units = schools * per_school
    df = pd.DataFrame({
        "id": np.repeat(np.arange(units), years),
        "year": np.tile(np.arange(2015, 2015 + years), units),
        "school": np.repeat(np.repeat(np.arange(schools), per_school), years),
    })
    df["y"] = (np.repeat(rng.normal(0, 0.5, schools), per_school * years)
               + np.repeat(rng.normal(0, 1, units), years) + rng.normal(0, 1, units * years))
    return df


COHORTS = {0: 0.5, 2017: 0.25, 2019: 0.25}


def test_staggered_did_power_size_bias_and_monotonicity():
    df = _panel()
    kw = dict(outcome="y", unit="id", time="year", cohorts=COHORTS, assign_by="school",
              n_sims=50, seed=1)
    null = staggered_did_power(df, effect=0.0, **kw)
    small = staggered_did_power(df, effect=0.15, **kw)
    big = staggered_did_power(df, effect=0.4, **kw)
    # size: at most nominal + 3 MC SE; power rises with the effect (same random draws)
    assert null.power <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 50)
    assert null.power <= small.power <= big.power
    assert big.power > 0.9
    # the estimator recovers the injected effect
    assert abs(big.mean_estimate - 0.4) < 3 * big.sd_estimate / math.sqrt(50)
    assert null.n_failed == 0


def test_staggered_did_power_bad_input():
    df = _panel(schools=10, per_school=2)
    with pytest.raises(InputError, match="sum to 1"):
        staggered_did_power(df, outcome="y", unit="id", time="year", cohorts={0: 0.5, 2017: 0.4},
                            effect=0.1)
    with pytest.raises(InputError, match="not periods"):
        staggered_did_power(df, outcome="y", unit="id", time="year", cohorts={0: 0.5, 2030: 0.5},
                            effect=0.1)
    with pytest.raises(KeyError, match="score"):
        staggered_did_power(df, outcome="score", unit="id", time="year", cohorts=COHORTS,
                            effect=0.1)
    with pytest.raises(InputError, match="never-treated"):
        staggered_did_power(df, outcome="y", unit="id", time="year", cohorts={2017: 1.0},
                            effect=0.1)


@pytest.mark.slow
def test_staggered_did_power_on_the_shipped_synthetic_sample():
    # The shipped sample (data/sample, evaltools.data.synth): mean absences of grades 5-12
    # in the schools that never joined PUMPURS, so no real effect is in the outcome.
    root = ROOT / "data" / "sample"
    py = pd.read_parquet(root / "pupil_years.parquet", columns=["year", "school_id", "grade", "absences"])
    ps = pd.read_parquet(root / "pumpurs_schools.parquet")
    never = set(ps.loc[ps["rollout_year"].isna(), "school_id"])
    py = py[(py["grade"] >= 5) & py["school_id"].isin(never)]
    panel = py.groupby(["school_id", "year"], as_index=False)["absences"].mean()
    kw = dict(outcome="absences", unit="school_id", time="year",
              cohorts={0: 0.5, 2018: 0.25, 2019: 0.25}, n_sims=300, seed=2)
    null = staggered_did_power(panel, effect=0.0, **kw)
    assert null.power <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 300)
    big = staggered_did_power(panel, effect=-4 * null.sd_estimate, **kw)
    assert big.power > 0.9
