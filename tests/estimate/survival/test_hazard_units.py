"""discrete_time_hazard's per-unit bookkeeping (one hash of the unit column) on rows in any order:
the same fit, the same units' first rows, the same "ever treated" and the same errors as a plain
pandas computation of each."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaltools.estimate import discrete_time_hazard, person_period


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 1500
    spells = pd.DataFrame({"pupil": [f"P{v:06x}" for v in rng.permutation(n * 3)[:n]], "start": rng.integers(1, 3, n),
                           "x": rng.normal(size=n), "d": (rng.random(n) < 0.4).astype(int),
                           "school": rng.integers(0, 40, n)})
    spells["stop"] = spells["start"] + rng.integers(0, 6, n)
    spells["left"] = (rng.random(n) < 0.35).astype(int)
    pp = person_period(spells, "pupil", "stop", "left", entry="start", time="grade", keep=["x", "d", "school"])
    pp["d"] = np.where(pp["grade"] >= 4, pp["d"], 0)  # treated from grade 4 on: ever treated != first row
    repeat = pp[(pp["left"] == 0)].sample(40, random_state=1)  # a repeated grade: a second year at risk
    return pd.concat([pp, repeat]).sample(frac=1.0, random_state=2).reset_index(drop=True)


def test_rows_in_any_order_give_the_same_fit_and_units(rows):
    a = discrete_time_hazard(rows, "pupil", "grade", "left", covariates="x", treatment="d")
    b = discrete_time_hazard(rows.sort_values(["pupil", "grade"]), "pupil", "grade", "left", covariates="x",
                             treatment="d")
    pd.testing.assert_frame_equal(a.table, b.table, rtol=1e-9)
    assert a.n == b.n == {"rows": len(rows), "units": rows["pupil"].nunique(), "events": int(rows["left"].sum()),
                          "clusters": rows["pupil"].nunique()}
    diag = a.estimate.diagnostics
    assert diag["n_rows_repeating_a_period"] == int(rows.duplicated(["pupil", "grade"]).sum()) > 0
    design = a._design
    first = design["first_rows"]
    # each unit's row in its earliest period, units in the order of those rows in the data
    earliest = rows.loc[rows.groupby("pupil", sort=False)["grade"].idxmin()].sort_index()
    assert list(first["pupil"]) == list(earliest["pupil"])
    np.testing.assert_array_equal(first["x"].to_numpy(), earliest["x"].to_numpy())
    ever = rows.groupby("pupil")["d"].max().reindex(first["pupil"]).to_numpy() > 0
    np.testing.assert_array_equal(design["ever_treated"], ever)
    assert (design["ever_treated"] != (earliest["d"].to_numpy() > 0)).any()  # the case the test is for
    np.testing.assert_array_equal(design["unit_groups"], pd.factorize(rows["pupil"])[0][earliest.index.to_numpy()])
    treated = a.cumulative_incidence(among="treated")
    assert treated.treated.n["units"] == int(ever.sum())


def test_clustering_by_school_and_by_unit(rows):
    by_school = discrete_time_hazard(rows, "pupil", "grade", "left", treatment="d", cluster="school")
    assert by_school.n["clusters"] == rows["school"].nunique()
    np.testing.assert_array_equal(by_school._design["groups"], pd.factorize(rows["school"])[0])
    by_unit = discrete_time_hazard(rows, "pupil", "grade", "left", treatment="d")
    np.testing.assert_array_equal(by_unit._design["groups"], pd.factorize(rows["pupil"])[0])


def test_the_errors_name_the_same_unit(rows):
    twice = rows.copy()
    left = twice.loc[twice["left"] == 1, "pupil"].unique()
    pupils = sorted(left[:3])[::-1]
    for p in pupils:  # a second event for three pupils: the first by id is named
        i = twice.index[(twice["pupil"] == p) & (twice["left"] == 0)]
        if len(i):
            twice.loc[i[0], "left"] = 1
    named = sorted(p for p in pupils if (twice.loc[twice["pupil"] == p, "left"].sum() > 1))[0]
    with pytest.raises(ValueError, match=f"Unit '?{named}'? has 2 events"):
        discrete_time_hazard(twice, "pupil", "grade", "left")
    early = rows.copy()
    at = early.index[(early["left"] == 0) & early.duplicated("pupil", keep=False)]
    k = next(i for i in at if early.loc[i, "grade"] < early.loc[early["pupil"] == early.loc[i, "pupil"], "grade"].max())
    early.loc[early["pupil"] == early.loc[k, "pupil"], "left"] = 0
    early.loc[k, "left"] = 1  # the event before the unit's last row
    with pytest.raises(ValueError, match=f"Unit '?{early.loc[k, 'pupil']}'? has rows after its event"):
        discrete_time_hazard(early, "pupil", "grade", "left")
