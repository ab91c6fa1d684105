"""Allocation (seeded, stratified, re-randomised, stepped) and the cost of designs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaltools.design import allocate, design, stepped_schedule
from evaltools.design.allocation import AllocationInputError, normalised_differences
from evaltools.design.budget import Candidate, Costs, cheapest, compare, cost_of


@pytest.fixture()
def schools() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 60
    return pd.DataFrame({"school": [f"S{i:03d}" for i in range(n)], "region": np.repeat(["A", "B", "C"], 20),
                         "prior": rng.normal(50, 10, n), "size": rng.integers(10, 200, n).astype(float)})


def test_same_seed_same_allocation_other_seed_other(schools):
    a = allocate(schools, "school", strata="region", seed=7)
    b = allocate(schools, "school", strata="region", seed=7)
    c = allocate(schools, "school", strata="region", seed=8)
    assert a.table.equals(b.table)
    assert not a.table["treated"].equals(c.table["treated"])


def test_half_of_each_stratum_is_treated(schools):
    a = allocate(schools, "school", strata="region", seed=1)
    assert (a.table.groupby("region")["treated"].sum() == 10).all()


def test_rerandomisation_reaches_the_threshold_and_the_house_balance_table_agrees(schools):
    a = allocate(schools, "school", strata="region", covariates=["prior", "size"], criterion="maxabs",
                 threshold=0.05, seed=3)
    assert a.value <= 0.05 and a.draws >= 1
    # the criterion is the house normalised difference: balance_table's max |nd| is the same number
    assert a.balance.max_abs_norm_diff(adjusted=False) == pytest.approx(a.value, rel=1e-9)
    plain = allocate(schools, "school", strata="region", covariates=["prior", "size"], seed=3)
    x = plain.table[["prior", "size"]].to_numpy()
    assert np.max(np.abs(normalised_differences(x, plain.table["treated"].to_numpy()))) > 0  # a real check


def test_mahalanobis_acceptance_share_sets_the_threshold(schools):
    a = allocate(schools, "school", covariates=["prior", "size"], criterion="mahalanobis", accept=0.1, seed=2)
    from scipy import stats
    assert a.threshold == pytest.approx(stats.chi2.ppf(0.1, 2)) and a.value <= a.threshold


def test_allocation_csv_lists_units_strata_and_arm(schools, tmp_path):
    a = allocate(schools, "school", strata="region", seed=1)
    out = pd.read_csv(a.to_csv(tmp_path / "allocation.csv"))
    assert list(out.columns) == ["school", "region", "treated"] and len(out) == 60


def test_stepped_schedule_gives_equal_waves_within_strata(schools):
    s = stepped_schedule(schools, "school", [2025, 2026, 2027], strata="region", never_share=0.25, seed=4)
    per = s.groupby("region")["start"].apply(lambda v: v.isna().sum())
    assert (per == 5).all()
    counts = s.dropna().groupby(["region", "start"]).size()
    assert counts.max() - counts.min() <= 1
    assert s.equals(stepped_schedule(schools, "school", [2025, 2026, 2027], strata="region", never_share=0.25,
                                     seed=4))


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(criterion="maxabs", covariates=["prior"]), "threshold"),
    (dict(criterion="maxabs", threshold=1e-9, covariates=["prior"], max_draws=5), "No draw"),
    (dict(criterion="best", covariates=["prior"], threshold=.1), "Unknown criterion"),
    (dict(covariates=["region"]), "numeric"),
])
def test_allocation_errors_are_clear(schools, kwargs, fragment):
    with pytest.raises(AllocationInputError) as err:
        allocate(schools, "school", **kwargs)
    assert fragment in str(err.value)


def test_duplicated_units_are_refused_without_showing_them(schools):
    df = pd.concat([schools, schools.iloc[:2]])
    with pytest.raises(AllocationInputError) as err:
        allocate(df, "school")
    assert "2 repeated" in str(err.value) and "S000" not in str(err.value)


def test_cost_counts_schools_and_pupils():
    d = design("cluster2", n=20, J=30, rho2=0.1)
    assert cost_of(d, Costs(per_school=1000, per_pupil=10, fixed=5000)) == 5000 + 30_000 + 6000


def test_cheapest_design_reaching_a_target_is_first_and_really_reaches_it():
    costs = Costs(per_school=2000, per_pupil=15)
    cands = [Candidate("schools", design("cluster2", n=25, J=10, rho2=0.15, r2_2=0.5, g=1)),
             Candidate("blocked", design("blocked_individual", n=25, J=10, blocks="fixed", r2_1=0.4, g=1))]
    out = cheapest(cands, costs, target=0.25)
    assert out["feasible"].iloc[0] and out["cost"].iloc[0] <= out["cost"].iloc[1]
    # blocked individual randomisation needs far fewer schools than randomising whole schools
    assert out.index[0] == "blocked"
    table = compare(cands, costs, target=0.25, budget=out["cost"].iloc[0])
    assert set(table.columns) >= {"mdes", "cost", "power_at_target", "within_budget"}


def test_mdes_against_budget_buys_the_most_units_within_it():
    from evaltools.design.budget import affordable, budget_curve

    costs = Costs(per_school=2000, per_pupil=10, fixed=10_000)
    d = design("cluster2", n=20, J=10, rho2=0.1)
    curve = budget_curve(d, costs, [50_000, 100_000, 200_000])
    assert list(curve["units"]) == [(50_000 - 10_000) // 2200, (100_000 - 10_000) // 2200, (200_000 - 10_000) // 2200]
    assert (curve["cost"] <= curve["budget"]).all() and curve["mdes"].is_monotonic_decreasing
    assert affordable(d, costs, 5_000) is None  # the fixed cost alone is over budget
