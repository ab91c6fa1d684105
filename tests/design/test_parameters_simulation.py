"""Design parameters from data (ICCs, R-squared) and the simulation check of the analytic power."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaltools.design import design, design_parameters, mdes, power
from evaltools.design.parameters import ParametersInputError
from evaltools.design.rollout import simulated_power


def _two_level(rho: float, r2_1: float, schools: int = 120, n: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    j = np.repeat(np.arange(schools), n)
    pre = rng.standard_normal(len(j))
    u = rng.normal(0, np.sqrt(rho), schools)[j]
    e = np.sqrt(r2_1 * (1 - rho)) * pre + rng.normal(0, np.sqrt((1 - r2_1) * (1 - rho)), len(j))
    return pd.DataFrame({"y": u + e, "pre": pre, "school_id": j, "municipality_id": j // 3})


def test_known_icc_and_r2_are_recovered_within_their_intervals():
    df = _two_level(0.2, 0.5)
    res = design_parameters(df, "y", covariates=["pre"], n_boot=60, seed=1)
    rho2, r2_1 = res.table.loc["rho2"], res.table.loc["r2_1"]
    assert rho2["ci_low"] <= 0.2 <= rho2["ci_high"] and rho2["delta_low"] <= 0.2 <= rho2["delta_high"]
    assert r2_1["ci_low"] <= 0.5 <= r2_1["ci_high"]
    assert res.value("r2_2") < 0.2  # a pupil-level covariate unrelated to schools explains little between them
    assert res.pupils_per_school == pytest.approx(30)


def test_no_school_variance_gives_an_icc_near_zero():
    res = design_parameters(_two_level(0.0, 0.3, seed=2), "y", covariates=["pre"], group=None, n_boot=0)
    assert res.value("rho2") < 0.02 and "rho3" not in res.table.index


def test_too_few_schools_is_a_clear_error():
    df = _two_level(0.1, 0.3, schools=2)
    with pytest.raises(ParametersInputError) as err:
        design_parameters(df, "y", covariates=["pre"], n_boot=0)
    assert "at least 3 schools" in str(err.value)


DESIGNS = [design("cluster2", n=20, J=30, rho2=0.15, r2_1=0.4, r2_2=0.5, g=1, imbalance=True),
           design("cluster2", n=25, J=14, rho2=0.05, r2_2=0.5, g=3, imbalance=True),
           design("cluster2", n=25, J=14, rho2=0.05),
           design("individual", n=120, r2_1=0.3, g=1, imbalance=True)]
IDS = ["CRA2_2r", "CRA2_J14_g3", "CRA2_J14_g0", "IRA"]


@pytest.mark.parametrize("d", DESIGNS, ids=IDS)
def test_simulated_power_at_the_mdes_matches_the_analytic_power(d):
    # 400 runs: the MC SE of a power near 0.8 is 0.02; 3 MC SE is the honest tolerance at this size
    m = mdes(d).mdes
    analytic = power(d, effect=m).power
    sim = simulated_power(d, effect=m, n_sims=400, seed=11)
    assert abs(sim.power - analytic) <= 3 * np.sqrt(analytic * (1 - analytic) / 400)


@pytest.mark.slow
@pytest.mark.parametrize("d", DESIGNS, ids=IDS)
def test_simulated_power_matches_closely_with_many_runs(d):
    m = mdes(d).mdes
    for effect in (m, 0.6 * m):
        analytic = power(d, effect=effect).power
        sim = simulated_power(d, effect=effect, n_sims=20_000, seed=3)
        assert abs(sim.power - analytic) <= 3 * np.sqrt(analytic * (1 - analytic) / 20_000)


@pytest.mark.slow
def test_powerup_formula_overstates_power_with_a_covariate_and_few_schools():
    # PowerUp! assumes the covariate balanced; with 14 schools its power at its own MDES is too high
    d = design("cluster2", n=25, J=14, rho2=0.05, r2_2=0.5, g=3)
    m = mdes(d).mdes
    sim = simulated_power(d, effect=m, n_sims=20_000, seed=5)
    assert sim.power < 0.8 - 3 * sim.mc_se
    assert power(design("cluster2", n=25, J=14, rho2=0.05, r2_2=0.5, g=3, imbalance=True), effect=m).power < 0.8


def test_imbalance_factor_is_raudenbush_for_one_covariate():
    d = design("cluster2", n=20, J=14, rho2=0.1, r2_2=0.4, g=1, imbalance=True)
    assert d.inflation() == pytest.approx(1 + 1 / (14 - 4))
    assert design("cluster2", n=20, J=14, rho2=0.1, g=0, imbalance=True).inflation() == 1.0
