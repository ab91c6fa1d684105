"""Non-response weighting (evaltools.estimate.nonresponse) on simulated surveys with known values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaltools.core.errors import DataError, InputError
from evaltools.estimate.descriptive import cluster_mean
from evaltools.estimate.nonresponse import cell_weights, weighted_mean


def _survey(seed: int, schools: int = 60, per_school: int = 80) -> pd.DataFrame:
    """Pupils whose wellbeing depends on sex and school, girls answering far more often than boys."""
    rng = np.random.default_rng(seed)
    n = schools * per_school
    school = np.repeat(np.arange(schools), per_school)
    girl = rng.random(n) < 0.5
    y = 60 + 10 * girl + rng.normal(0, 3, schools)[school] + rng.normal(0, 8, n)
    answers = rng.random(n) < np.where(girl, 0.9, 0.4)
    return pd.DataFrame({"school": school, "sex": np.where(girl, "F", "M"), "y": y,
                         "wellbeing": np.where(answers, y, np.nan), "responded": answers})


def test_weights_of_each_cell_add_up_to_its_eligible_people():
    f = _survey(1)
    w = cell_weights(f, "responded", ["school", "sex"])
    assert (w[~f["responded"]] == 0).all()
    sums = w.groupby([f["school"], f["sex"]]).sum()
    sizes = f.groupby(["school", "sex"]).size()
    assert np.allclose(sums.to_numpy(), sizes.loc[sums.index].to_numpy())


def test_weighting_removes_a_known_non_response_bias():
    f = _survey(2)
    truth = f["y"].mean()  # everyone's mean, known in a simulation
    plain = weighted_mean(f["wellbeing"], f["responded"].astype(float), f["school"])
    w = cell_weights(f, "responded", ["school", "sex"])
    adjusted = weighted_mean(f["wellbeing"], w, f["school"])
    # girls answer more and are 10 points happier: the respondents' mean is ~ +2.3 too high
    assert plain.estimate - truth > 1.5
    assert plain.ci_low > truth  # the bias is far outside the unweighted interval
    assert adjusted.ci_low <= truth <= adjusted.ci_high
    assert abs(adjusted.estimate - truth) < 0.3


def test_a_thin_cell_takes_its_parent_cells_weight():
    f = pd.DataFrame({"school": ["a"] * 6 + ["b"] * 4, "sex": ["F", "F", "F", "M", "M", "M", "F", "F", "M", "M"],
                      "responded": [True, True, False, True, False, False, True, True, True, False]})
    w = cell_weights(f, "responded", ["school", "sex"], min_respondents=2)
    # school a, girls: 3 eligible, 2 answered -> 1.5; boys have one respondent: school a's 6 / 3
    assert w.tolist()[:4] == [1.5, 1.5, 0.0, 2.0]
    # school b: girls 2/2 -> 1; boys 1 respondent -> school b's 4 / 3
    assert w.tolist()[6:] == pytest.approx([1.0, 1.0, 4 / 3, 0.0])


def test_equal_weights_give_the_cluster_robust_mean():
    f = _survey(3).dropna(subset=["wellbeing"])
    ours = weighted_mean(f["wellbeing"], np.ones(len(f)), f["school"])
    reference = cluster_mean(f["wellbeing"], f["school"])
    assert ours.estimate == pytest.approx(reference.estimate)
    assert ours.se == pytest.approx(reference.se)


@pytest.mark.slow
def test_weighted_interval_covers_the_population_mean_about_95_percent_of_the_time():
    """Schools are drawn too, so the interval is for the mean of the population they come from:
    60 + 10 x 0.5 = 65 (the simulation's own pupils share their schools' effects)."""
    hits = 0
    for seed in range(200):
        f = _survey(100 + seed, schools=30, per_school=40)
        e = weighted_mean(f["wellbeing"], cell_weights(f, "responded", ["school", "sex"]), f["school"])
        hits += e.ci_low <= 65.0 <= e.ci_high
    assert 0.90 <= hits / 200 <= 0.99


def test_bad_input_is_a_clear_error():
    f = _survey(4)
    with pytest.raises(InputError, match="not in the frame"):
        cell_weights(f, "responded", ["school", "grade"])
    with pytest.raises(DataError, match="nobody responded"):
        cell_weights(f.assign(responded=False), "responded", ["school"])
    with pytest.raises(InputError, match="non-negative"):
        weighted_mean([1.0, 2.0], [1.0, -1.0], ["a", "b"])
    with pytest.raises(DataError, match="at least 2 clusters"):
        weighted_mean([1.0, 2.0], [1.0, 1.0], ["a", "a"])
