"""att_gt's two data layouts give the same numbers.

A panel stored unit by unit with the same increasing periods is laid out by reshaping
(``_cs_data._rectangular_panel``); any other row order goes through the general path
(factorize, scatter). Both must give identical cells, SEs, aggregations and influence
functions, and the reshaping path must not swallow the general path's error messages.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evaltools.estimate import att_gt
from evaltools.estimate.diff_in_diff import _cs_data
from evaltools.estimate.diff_in_diff._cs_data import StaggeredDataError

from tests.simulate import staggered_panel as simulate


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    df = simulate(n=1500, T=6, b=1.0, seed=5)
    rng = np.random.default_rng(8)
    df["z"] = df["x"] * 0.5 + 0.3 * rng.normal(size=len(df))  # a time-varying covariate
    df["w"] = 1.0 + (df["id"] % 3)
    df["school"] = "s" + (df["id"] % 23).astype(str)  # string clusters
    df["pupil"] = "p" + df["id"].astype(str)          # string unit ids, not in sorted order
    return df


@pytest.fixture
def layout_used(monkeypatch):
    """Records whether the reshaping layout was used in each call of prepare."""
    used: list[bool] = []
    real = _cs_data._rectangular_panel

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        used.append(out is not None)
        return out

    monkeypatch.setattr(_cs_data, "_rectangular_panel", spy)
    return used


def _fit(df, **kw):
    return att_gt(df, "y", kw.pop("unit", "id"), "t", "g", **kw)


def _by_unit(res, df, unit):
    """The cells' influence functions indexed by unit id (rows are the units in order of
    first appearance in the data)."""
    return res.influence_function().set_axis(pd.unique(df[unit]), axis=0)


@pytest.mark.parametrize("kw", [
    {"covariates": "x"},
    {"covariates": ["x", "z"], "control_group": "notyet"},
    {"covariates": "x", "weights": "w", "cluster": "school"},
    {"covariates": "x", "unit": "pupil", "method": "ipw", "base_period": "universal"},
    {"method": "reg", "anticipation": 1},
])
def test_reshaped_and_general_layouts_agree(panel, layout_used, kw):
    unit = kw.get("unit", "id")
    shuffled = panel.sample(frac=1.0, random_state=3)
    a = _fit(panel, **dict(kw))
    b = _fit(shuffled, **dict(kw))
    assert layout_used == [True, False]
    cols = ["group", "time", "att", "se", "n_treated", "n_control"]
    pd.testing.assert_frame_equal(a.table[cols], b.table[cols], rtol=1e-11, atol=0)
    for kind in ("simple", "dynamic", "group"):
        x, y = a.aggregate(kind), b.aggregate(kind)
        assert x.overall.estimate == pytest.approx(y.overall.estimate, rel=1e-11)
        assert x.overall.se == pytest.approx(y.overall.se, rel=1e-11)
        np.testing.assert_allclose(x.table["se"], y.table["se"], rtol=1e-11)
    ia, ib = _by_unit(a, panel, unit), _by_unit(b, shuffled, unit)
    pd.testing.assert_frame_equal(ia, ib.loc[ia.index], rtol=1e-10, atol=1e-12)
    pa, pb = a.pretrend_test(n_boot=199), b.pretrend_test(n_boot=199)
    assert pa.statistic == pytest.approx(pb.statistic, rel=1e-9)
    assert pa.pvalue == pb.pvalue                # the bootstrap's draws do not follow the row order


def test_time_varying_covariate_uses_the_base_period_value(panel, layout_used):
    """With a covariate that changes over time the cells use its value in the earlier of
    their two periods; a static copy of the first period's value gives other numbers."""
    res = _fit(panel, covariates="z")
    first = panel.groupby("id")["z"].transform("first")
    static = _fit(panel.assign(z=first), covariates="z")
    assert layout_used == [True, True]
    late = res.table["time"] > 3
    assert not np.allclose(res.table.loc[late, "att"], static.table.loc[late, "att"])


def test_balanced_panel_with_a_missing_outcome_goes_the_general_way(panel, layout_used):
    df = panel.copy()
    df.loc[5, "y"] = np.nan
    with pytest.warns(UserWarning, match="Dropping 1 rows"):
        res = _fit(df, covariates="x")
    assert layout_used == []                 # not tried: a row is dropped
    assert res.options["balanced_panel"] is False


@pytest.mark.parametrize("change, match", [
    (lambda d: d.assign(g=np.where(d.index == 7, 5.0, d["g"])), "varies within unit"),
    (lambda d: d.assign(w=np.where(d.index == 7, 9.0, d["w"])), "varies within unit"),
    (lambda d: d.assign(t=np.where(d.index == 7, d["t"] - 1, d["t"])), "appears 2 times"),
    (lambda d: d.assign(id=np.where(d["id"] == 3, 2, d["id"])), "appears 2 times"),
])
def test_errors_are_the_general_paths(panel, change, match):
    bad = change(panel.copy())
    with pytest.raises(StaggeredDataError, match=match):
        _fit(bad, covariates="x", weights="w")


@pytest.mark.parametrize("shuffle", [False, True])
def test_first_period_cohort_warning_points_at_the_caller(panel, shuffle):
    df = panel.copy()
    df.loc[df["id"] < 10, "g"] = 1
    if shuffle:
        df = df.sample(frac=1.0, random_state=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = _fit(df)
    hit = [w for w in caught if "already treated in the first period" in str(w.message)]
    assert len(hit) == 1 and hit[0].filename == __file__
    assert res.n["units"] == panel["id"].nunique() - 10
