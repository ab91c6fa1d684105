"""Public HonestDiD inputs of the event-study results (``vcov``, ``event_times``) and
``honest_did_event_study``, which feeds them to the Rambachan-Roth sensitivity analysis."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaltools.estimate import att_gt, event_study  # noqa: E402
from evaltools.inference import HonestDiDResult, honest_did, honest_did_event_study  # noqa: E402

from tests.simulate import staggered_panel as simulate  # noqa: E402


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    # parallel trends hold (no pre-trend, no anticipation); cohorts 4, 5, 6 of 8 periods
    return simulate(n=4000, T=8, cohorts=(4, 5, 6), seed=3)


@pytest.fixture(scope="module")
def dyn(panel):
    return att_gt(panel, "y", "id", "t", "g", base_period="universal").aggregate("dynamic")


@pytest.fixture(scope="module")
def es_fits(panel):
    df = panel.assign(g=panel["g"].astype(int), t=panel["t"].astype(int))
    return {est: event_study(df, "y", "id", "t", "g", method=est) for est in ("twfe", "sunab")}


# ----------------------------------------------------------------- vcov of att_gt
@pytest.mark.parametrize("kw", [{}, {"base_period": "universal"}, {"cluster": "c"},
                                {"n_boot": 199, "seed": 1}])
def test_aggregated_vcov_diagonal_is_the_squared_se(panel, kw):
    df = panel.assign(c=panel["id"] % 30)
    agg = att_gt(df, "y", "id", "t", "g", **kw).aggregate("dynamic")
    V = agg.vcov
    assert list(V.index) == list(agg.event_times) == list(agg.table["event_time"])
    assert V.index.name == "event_time"
    se = agg.table["se"].to_numpy()
    ok = np.isfinite(se)
    np.testing.assert_allclose(np.diag(V.to_numpy())[ok], se[ok] ** 2, rtol=1e-12)
    np.testing.assert_array_equal(V.to_numpy(), V.to_numpy().T)
    # the universal reference row has no SE: its row and column are NaN
    assert V.loc[~ok].isna().all().all() and V.loc[:, ~ok].isna().all().all()
    assert ok.sum() == len(se) - (1 if kw.get("base_period") == "universal" else 0)


def test_aggregated_vcov_off_diagonal_gives_the_overall_se(panel):
    """The overall dynamic ATT is the mean of the e >= 0 rows (its influence function is
    the mean of theirs), so its variance is w'Vw: a check of the off-diagonal terms."""
    for kw in ({}, {"cluster": "c"}):
        agg = att_gt(panel.assign(c=panel["id"] % 30), "y", "id", "t", "g",
                     **kw).aggregate("dynamic")
        post = agg.event_times >= 0
        w = post / post.sum()
        V = agg.vcov.to_numpy()
        assert math.sqrt(w @ V @ w) == pytest.approx(agg.overall.se, rel=1e-12)
        # and the independence-assuming sum would be wrong (rows are correlated)
        assert math.sqrt(w @ np.diag(np.diag(V)) @ w) < 0.95 * agg.overall.se


def test_aggregated_vcov_is_the_influence_function_cross_product(panel):
    """Without clusters V = IF'IF / n^2 (R did users' formula), checked against the cells:
    a dynamic row is a p_g-weighted mean of cells plus the weight-estimation term."""
    res = att_gt(panel, "y", "id", "t", "g")
    agg = res.aggregate("dynamic", min_e=2, max_e=2)        # one row: e = 2
    assert list(agg.event_times) == [2]
    shares = panel.drop_duplicates("id")["g"].value_counts(normalize=True)
    tab = res.table[res.table["event_time"] == 2]
    p = shares.loc[tab["group"].to_numpy()].to_numpy()
    IF = res.influence_function().to_numpy()[:, tab.index.to_numpy()]
    theta = float(p @ tab["att"].to_numpy() / p.sum())
    assert agg.table["estimate"].iloc[0] == pytest.approx(theta, rel=1e-12)
    G = panel.drop_duplicates("id")["g"].to_numpy()
    wif = sum((a - theta) / p.sum() * ((G == g) - pg)
              for g, a, pg in zip(tab["group"], tab["att"], p))
    psi = IF @ (p / p.sum()) + wif
    assert agg.vcov.iloc[0, 0] == pytest.approx(psi @ psi / len(psi) ** 2, rel=1e-10)


def test_event_times_only_for_dynamic(panel):
    res = att_gt(panel, "y", "id", "t", "g")
    assert res.aggregate("group").vcov.shape == (3, 3)
    with pytest.raises(ValueError, match="aggregate\\('dynamic'\\) only"):
        res.aggregate("group").event_times


# ------------------------------------------------------------ vcov of event_study
@pytest.mark.parametrize("estimator", ["twfe", "sunab"])
def test_event_study_vcov_diagonal_and_average_effect(es_fits, estimator):
    es = es_fits[estimator]
    V = es.vcov
    est = es.table.drop(index=es.ref)
    assert list(V.index) == list(est.index) and es.ref not in V.index
    assert es.ref in es.event_times
    np.testing.assert_allclose(np.diag(V.to_numpy()), est["se"].to_numpy() ** 2, rtol=1e-12)
    # the average post effect weights the e >= 0 effects by their observations
    n = est["n_obs"].where(est.index >= 0, 0).to_numpy(float)
    w = n / n.sum()
    assert math.sqrt(w @ V.to_numpy() @ w) == pytest.approx(es.att.se, rel=1e-10)


# ------------------------------------------------------------- honest_did_event_study
def _grid_step(res: HonestDiDResult) -> float:
    lo, hi, pts = res.options["grid"]
    return (hi - lo) / (pts - 1)


def test_inputs_are_the_pre_and_post_rows_without_the_reference(dyn):
    res = honest_did_event_study(dyn, method="smoothness", m=[0.0, 0.02], l_vec="average",
                                 breakdown=False)
    assert res.options["pre_periods"] == [-5, -4, -3, -2]
    assert res.options["post_periods"] == [0, 1, 2, 3, 4]
    assert res.options["reference"] == -1 and res.num_pre == 4 and res.num_post == 5
    t = dyn.table.set_index("event_time")
    b = t.loc[[-5, -4, -3, -2, 0, 1, 2, 3, 4], "estimate"].to_numpy()
    V = dyn.vcov.loc[[-5, -4, -3, -2, 0, 1, 2, 3, 4], [-5, -4, -3, -2, 0, 1, 2, 3, 4]].to_numpy()
    direct = honest_did(b, V, 4, 5, l_vec=[0.2] * 5, method="smoothness", m_grid=[0.0, 0.02],
                        breakdown=False)
    pd.testing.assert_frame_equal(res.table, direct.table)
    assert res.original.ci_low == direct.original.ci_low


def test_rm_at_mbar_zero_is_the_original_ci_and_widens(dyn):
    """Parallel trends hold. Delta^RM(0) point-identifies the average post effect, and
    the inverted test accepts exactly the grid points inside the original CI
    l'b +- z sqrt(l' Sigma_post l); larger Mbar gives nested, wider sets."""
    res = honest_did_event_study(dyn, l_vec="average", mbar=[0.0, 0.5, 1.0, 2.0],
                                 breakdown=False)
    o = res.original
    post = dyn.table[dyn.table["event_time"] >= 0]
    V = dyn.vcov.loc[post["event_time"], post["event_time"]].to_numpy()
    w = np.full(len(post), 1 / len(post))
    assert o.estimate == pytest.approx(w @ post["estimate"].to_numpy(), rel=1e-12)
    assert o.se == pytest.approx(math.sqrt(w @ V @ w), rel=1e-12)
    assert o.estimate == pytest.approx(dyn.overall.estimate, rel=1e-12)   # = the overall ATT
    assert o.se == pytest.approx(dyn.overall.se, rel=1e-12)
    lo_g, hi_g, pts = res.options["grid"]
    grid = np.linspace(lo_g, hi_g, pts)
    inside = grid[(grid >= o.ci_low) & (grid <= o.ci_high)]
    lo, hi = res.table["lower"].to_numpy(), res.table["upper"].to_numpy()
    assert lo[0] == inside[0] and hi[0] == inside[-1]
    assert np.all(np.diff(lo) <= 0) and np.all(np.diff(hi) >= 0)
    assert (hi[-1] - lo[-1]) > 2 * (hi[0] - lo[0])
    assert "average effect over e = 0..4" in repr(res)


def test_smoothness_widens_with_m_and_covers_the_truth(dyn):
    res = honest_did_event_study(dyn, method="smoothness", m=[0.0, 0.01, 0.05, 0.1],
                                 l_vec="average", breakdown=False)
    width = (res.table["upper"] - res.table["lower"]).to_numpy()
    assert np.all(np.diff(width) > 0)
    # M = 0 extrapolates a linear pre-trend (none here): the FLCI contains the estimate
    # but is longer than the original CI, which assumes parallel trends outright
    o = res.original
    assert res.table["lower"].iloc[0] < o.estimate < res.table["upper"].iloc[0]
    assert width[0] > o.ci_high - o.ci_low


def test_first_post_period_by_default_and_event_study_input(es_fits):
    es = es_fits["sunab"]
    res = honest_did_event_study(es, mbar=[0.0, 1.0])
    assert res.l_vec == [1.0] + [0.0] * 4
    assert res.original.estimand == "effect at e = 0"
    assert res.original.estimate == pytest.approx(es.table.loc[0, "estimate"], rel=1e-12)
    assert res.original.se == pytest.approx(es.table.loc[0, "se"], rel=1e-12)
    assert res.options["pre_periods"] == [-5, -4, -3, -2] and res.options["source"].startswith(
        "event study (sunab)")
    frame = res.to_frame()
    assert frame["method"].iloc[0] == "Original" and len(frame) == 3
    ax = res.plot()
    assert ax.get_xlabel() == "Mbar" and ax.get_title() == "effect at e = 0"
    assert "pre periods -5..-2, post periods 0..4, reference -1" in repr(res)


def test_the_r_grid_centred_at_zero_misses_a_large_effect_with_a_warning(dyn):
    post = dyn.table["event_time"].to_numpy() >= 0
    keep = dyn.table["event_time"].to_numpy() != -1
    b = dyn.table["estimate"].to_numpy()[keep]
    V = dyn.vcov.to_numpy()[np.ix_(keep, keep)]
    with pytest.warns(UserWarning, match="lies outside the grid"):
        r = honest_did(b, V, 4, 5, mbar_grid=[0.0], breakdown=False)
    assert np.isnan(r.table["lower"].iloc[0]) and post.sum() == 5
    ours = honest_did_event_study(dyn, mbar=[0.0], breakdown=False)
    assert np.isfinite(ours.table["lower"].iloc[0])


# ------------------------------------------------------------------------- errors
def test_wrong_inputs_give_clear_errors(panel, dyn, es_fits):
    res = att_gt(panel, "y", "id", "t", "g", base_period="universal")
    with pytest.raises(TypeError, match="aggregate\\('dynamic'\\)"):
        honest_did_event_study(res)
    with pytest.raises(TypeError, match="got DataFrame.*honest_did\\(betahat, sigma"):
        honest_did_event_study(dyn.table)
    with pytest.raises(TypeError, match="got ndarray"):
        honest_did_event_study(np.zeros(5))
    with pytest.raises(ValueError, match="'simple' aggregation"):
        honest_did_event_study(res.aggregate("simple"))
    with pytest.raises(ValueError, match="base_period='universal'"):
        honest_did_event_study(att_gt(panel, "y", "id", "t", "g").aggregate("dynamic"))
    with pytest.raises(ValueError, match="reference period .* is e = -1, not -2"):
        honest_did_event_study(dyn, reference=-2)
    with pytest.raises(ValueError, match="'m' belongs to method='smoothness'"):
        honest_did_event_study(dyn, m=[0.1])
    with pytest.raises(ValueError, match="'mbar' belongs"):
        honest_did_event_study(dyn, method="smoothness", mbar=[1.0])
    with pytest.raises(ValueError, match="'l_vec' must be None, 'average'"):
        honest_did_event_study(dyn, l_vec="mean")
    with pytest.raises(ValueError, match="one weight per post period \\(5\\)"):
        honest_did_event_study(dyn, l_vec=[1, 0])
    with pytest.raises(ValueError, match="at least one pre-period"):
        honest_did_event_study(res.aggregate("dynamic", min_e=-1))
    with pytest.raises(ValueError, match="e = -3 is missing"):
        honest_did_event_study(_drop_row(es_fits["twfe"], -3))


def _drop_row(es, e):
    """An event-study result with the coefficient at e removed (as if collinear)."""
    import dataclasses

    return dataclasses.replace(es, table=es.table.drop(index=e),
                               vcov=es.vcov.drop(index=e, columns=e))
