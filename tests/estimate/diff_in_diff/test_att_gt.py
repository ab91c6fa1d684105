"""att_gt: truth recovery on simulated data, exact small-case checks, options, errors, output."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest

from evaltools.estimate import AggregatedATT, ATTgtResult, Estimate, att_gt
from evaltools.estimate.diff_in_diff._cs_data import StaggeredColumnError, StaggeredDataError

from tests.simulate import staggered_panel as simulate, true_att, true_simple

T = 6


def fit(df, **kw):
    return att_gt(df, "y", "id", "t", "g", **kw)


@pytest.fixture(scope="module")
def panel():
    return simulate(n=3000, T=T, b=1.0, seed=11)


@pytest.fixture(scope="module")
def res_dr(panel):
    return fit(panel, covariates="x", method="dr")


# ------------------------------------------------------------------- truth recovery


@pytest.mark.parametrize("method", ["dr", "reg", "ipw"])
def test_recovers_true_group_time_effects(panel, method):
    res = fit(panel, covariates="x", method=method)
    tab = res.table
    truth = np.array([true_att(g, t) for g, t in zip(tab["group"], tab["time"])])
    z = (tab["att"] - truth) / tab["se"]
    # 36 cells: all within 4 SE of the truth, and no systematic bias
    assert np.all(np.abs(z) < 4), tab.assign(z=z)
    assert abs(z.mean()) < 1.0


def test_covariate_adjustment_matters_when_trends_depend_on_x(panel, res_dr):
    """With x-dependent trends, unconditional DiD is biased; conditioning on x fixes it."""
    naive = fit(panel).table
    post = naive["post"].to_numpy()
    truth = np.array([true_att(g, t) for g, t in zip(naive["group"], naive["time"])])
    bias_naive = np.abs(naive["att"].to_numpy() - truth)[post].mean()
    bias_dr = np.abs(res_dr.table["att"].to_numpy() - truth)[post].mean()
    assert bias_naive > 5 * bias_dr


def test_simple_aggregate_covers_weighted_truth(panel, res_dr):
    o = res_dr.aggregate("simple").overall
    assert isinstance(o, Estimate)
    assert abs(o.estimate - true_simple(panel, T)) < 4 * o.se


def test_dynamic_aggregate_recovers_event_time_profile(res_dr):
    tab = res_dr.aggregate("dynamic").table.set_index("event_time")
    # pre-periods near zero, post effects increase by 0.5 a period (plus cohort mix)
    assert np.all(np.abs(tab.loc[tab.index < 0, "estimate"]) < 4 * tab.loc[tab.index < 0, "se"])
    post = tab.loc[tab.index >= 0, "estimate"].to_numpy()
    assert np.all(np.diff(post) > 0.3)


# ------------------------------------------------------------------- exact checks


def _two_by_two(df, g, t, base, controls):
    w = df.pivot(index="id", columns="t", values="y")
    gg = df.drop_duplicates("id").set_index("id")["g"]
    d = (w[t] - w[base]).dropna()
    gg = gg.loc[d.index]
    return d[gg == g].mean() - d[gg.isin(controls)].mean()


def test_no_covariate_cell_is_the_two_by_two_did(panel):
    res = fit(panel, control_group="notyet")
    tab = res.table.set_index(["group", "time"])
    # ATT(4, 5): base 3, comparisons = never treated and cohort 5? no: cohort 5 is treated at 5
    manual = _two_by_two(panel, 4, 5, 3, controls=[0])
    assert tab.loc[(4, 5), "att"] == pytest.approx(manual, abs=1e-12)
    # pre-period ATT(5, 3) with varying base: 3 vs 2, not-yet-treated by 3 = {0, 4}
    manual = _two_by_two(panel, 5, 3, 2, controls=[0, 4])
    assert tab.loc[(5, 3), "att"] == pytest.approx(manual, abs=1e-12)
    n_ctrl = panel.drop_duplicates("id")["g"].isin([0, 4]).sum()
    assert tab.loc[(5, 3), "n_control"] == n_ctrl


def test_unbalanced_panel_uses_units_seen_in_both_periods(panel):
    rng = np.random.default_rng(5)
    unb = panel[rng.random(len(panel)) > 0.15].reset_index(drop=True)
    res = fit(unb)
    assert res.options["balanced_panel"] is False
    tab = res.table.set_index(["group", "time"])
    manual = _two_by_two(unb, 3, 5, 2, controls=[0])
    assert tab.loc[(3, 5), "att"] == pytest.approx(manual, abs=1e-12)
    # every unit still counts in n, and estimates stay on the truth
    assert res.n["units"] == unb["id"].nunique()
    truth = np.array([true_att(g, t) for g, t in zip(res.table["group"], res.table["time"])])
    resx = fit(unb, covariates="x")
    z = (resx.table["att"].to_numpy() - truth) / resx.table["se"].to_numpy()
    assert np.all(np.abs(z) < 4)


def test_repeated_cross_sections_recover_truth_and_match_four_means():
    rng = np.random.default_rng(3)
    df = simulate(n=6000, T=T, b=1.0, seed=4)
    rc = df[rng.random(len(df)) < 1 / T].reset_index(drop=True)  # each unit seen about once
    res = att_gt(rc, "y", None, "t", "g", covariates="x", panel=False)
    truth = np.array([true_att(g, t) for g, t in zip(res.table["group"], res.table["time"])])
    z = (res.table["att"].to_numpy() - truth) / res.table["se"].to_numpy()
    assert np.all(np.abs(z) < 4)
    assert res.n["observations"] == len(rc)
    r0 = att_gt(rc, "y", None, "t", "g", panel=False, method="reg").table.set_index(["group", "time"])
    m = rc.groupby(["g", "t"])["y"].mean()
    manual = (m[(4, 6)] - m[(4, 3)]) - (m[(0, 6)] - m[(0, 3)])
    assert r0.loc[(4, 6), "att"] == pytest.approx(manual, abs=1e-12)


# ------------------------------------------------------------------- options


def test_constant_weights_change_nothing_and_frequency_weights_equal_duplicates(panel):
    base = fit(panel, covariates="x")
    w3 = fit(panel.assign(w=3.0), covariates="x", weights="w")
    np.testing.assert_allclose(w3.table["att"], base.table["att"], atol=1e-10)
    np.testing.assert_allclose(w3.table["se"], base.table["se"], atol=1e-10)
    small = panel[panel["id"] < 800]
    dup_ids = small["id"].unique()[::3]
    dup = small[small["id"].isin(dup_ids)].assign(id=lambda d: d["id"] + 100_000)
    wide = pd.concat([small, dup])
    weighted = small.assign(w=np.where(small["id"].isin(dup_ids), 2.0, 1.0))
    ra, rb = fit(wide, covariates="x"), fit(weighted, covariates="x", weights="w")
    np.testing.assert_allclose(ra.table["att"], rb.table["att"], atol=1e-9)
    # the cohort shares that weight the aggregations use the weights too
    for kind in ("simple", "group", "dynamic", "calendar"):
        assert ra.aggregate(kind).overall.estimate == pytest.approx(
            rb.aggregate(kind).overall.estimate, abs=1e-9)


def test_clustering(panel):
    base = fit(panel)
    same = fit(panel.assign(c=panel["id"]), cluster="c")
    np.testing.assert_allclose(same.table["se"], base.table["se"], rtol=1e-12)
    coarse = panel.assign(c=panel["id"] % 40)
    cl = fit(coarse, cluster="c")
    assert cl.n["clusters"] == 40
    # manual Liang-Zeger SE for one cell from the stored influence function
    psi = cl.influence_function().iloc[:, 5].to_numpy()
    cid = coarse.drop_duplicates("id")["c"].to_numpy()
    S = np.bincount(cid, weights=psi)
    assert cl.table["se"].iloc[5] == pytest.approx(np.sqrt(S @ S) / len(psi), rel=1e-12)
    assert not np.allclose(cl.table["se"], base.table["se"])
    with pytest.raises(StaggeredDataError, match="varies within unit"):
        fit(panel.assign(c=np.arange(len(panel)) % 7), cluster="c")


def test_bootstrap_se_band_and_reproducibility(panel):
    a = fit(panel, n_boot=499, seed=7)
    b = fit(panel, n_boot=499, seed=7)
    pd.testing.assert_frame_equal(a.table, b.table)
    an = fit(panel)
    ratio = a.table["se"] / an.table["se"]
    assert ratio.between(0.8, 1.2).all()
    assert 1.96 < a.critical_value < 4.0
    assert (a.table["band_low"] <= a.table["ci_low"] + 1e-12).all()
    agg = a.aggregate("dynamic")
    assert agg.critical_value > 1.96 and "band_low" in agg.table
    s_boot = a.aggregate("simple").overall.se
    s_an = an.aggregate("simple").overall.se
    assert 0.8 < s_boot / s_an < 1.2


def test_pretrend_test(panel):
    res = fit(panel)
    pt = res.pretrend_test()
    tab = res.table
    pre = (tab["time"] < tab["group"]).to_numpy()
    theta = tab["att"].to_numpy()[pre]
    IF = res.influence_function().to_numpy()[:, pre]
    V = IF.T @ IF / len(IF) ** 2
    assert pt.df == pre.sum()
    assert pt.statistic == pytest.approx(theta @ np.linalg.solve(V, theta), rel=1e-8)
    violated = fit(simulate(n=3000, T=T, seed=12, pretrend=0.3)).pretrend_test()
    assert violated.pvalue < 1e-3
    assert "pre-trend" in repr(pt)


def test_anticipation_moves_the_base_period():
    df = simulate(n=3000, T=T, seed=21, anticipation=1, cohorts=(4, 5))
    no = fit(df).table.set_index(["group", "time"])
    yes = fit(df, anticipation=1).table.set_index(["group", "time"])
    assert yes.loc[(4, 4), "base_period"] == 2 and no.loc[(4, 4), "base_period"] == 3
    # with the right anticipation the post cells are unbiased
    for (g, t), r in yes[yes["post"]].iterrows():
        assert abs(r["att"] - true_att(g - 1, t)) < 4 * r["se"]
    # ignoring anticipation understates the effect at t = g
    assert no.loc[(4, 4), "att"] < yes.loc[(4, 4), "att"] - 0.5


def test_universal_base_period_has_zero_reference_cells(panel):
    res = fit(panel, base_period="universal")
    ref = res.table[res.table["time"] == res.table["group"] - 1]
    assert len(ref) == 3 and (ref["att"] == 0).all() and ref["se"].isna().all()
    assert (res.table["base_period"] == res.table["group"] - 1).all()


def test_not_yet_treated_without_never_treated(panel):
    late = panel[panel["g"] != 0]
    with pytest.raises(StaggeredDataError, match="no never-treated"):
        fit(late)
    with pytest.warns(UserWarning, match="comparison group"):
        res = fit(late, control_group="notyet")
    assert set(res.table["group"]) == {3, 4}
    assert res.table["time"].max() < 5


def test_aggregation_windows(res_dr):
    full = res_dr.aggregate("dynamic")
    win = res_dr.aggregate("dynamic", min_e=-1, max_e=1)
    assert list(win.table["event_time"]) == [-1, 0, 1]
    np.testing.assert_allclose(win.table["estimate"],
                               full.table.set_index("event_time").loc[[-1, 0, 1], "estimate"])
    bal = res_dr.aggregate("dynamic", balance_e=1)
    assert bal.table["event_time"].max() == 1
    # max_e also trims the simple aggregation (R aggte semantics)
    s0 = res_dr.aggregate("simple", max_e=0).overall.estimate
    e0 = full.table.set_index("event_time").loc[0, "estimate"]
    assert s0 == pytest.approx(e0, abs=1e-12)
    with pytest.raises(ValueError, match="balance_e"):
        res_dr.aggregate("simple", balance_e=1)
    with pytest.raises(ValueError, match="aggregate: kind must be one of"):
        res_dr.aggregate("event")


def test_group_and_calendar_aggregations_are_weighted_means_of_cells(res_dr):
    tab = res_dr.table
    post = tab[tab["post"]]
    grp = res_dr.aggregate("group").table.set_index("group")
    for g, s in post.groupby("group"):
        assert grp.loc[g, "estimate"] == pytest.approx(s["att"].mean(), abs=1e-12)
    cal = res_dr.aggregate("calendar").table.set_index("time")
    assert list(cal.index) == [3, 4, 5, 6]
    assert cal.loc[3, "estimate"] == pytest.approx(post[post["time"] == 3]["att"].iloc[0], abs=1e-12)


# ------------------------------------------------------------------- errors


def test_bad_input_gives_clear_errors(panel):
    with pytest.raises(StaggeredColumnError, match="The outcome column 'yy' is not in the data"):
        att_gt(panel, "yy", "id", "t", "g")
    with pytest.raises(KeyError):
        att_gt(panel, "y", "id", "t", "gg")
    bad = panel.copy()
    bad.loc[bad.index[2], "g"] = 4
    with pytest.raises(StaggeredDataError, match="varies within unit 0"):
        fit(bad)
    with pytest.raises(StaggeredDataError, match="appears 2 times"):
        fit(pd.concat([panel, panel.iloc[:1]]))
    with pytest.raises(StaggeredDataError, match="must be numeric"):
        fit(panel.assign(y=panel["y"].astype(str)))
    with pytest.raises(ValueError, match="method must be"):
        fit(panel, method="ols")
    with pytest.raises(ValueError, match="control_group"):
        fit(panel, control_group="later")
    with pytest.raises(StaggeredDataError, match="No unit is ever treated"):
        fit(panel.assign(g=0.0))
    with pytest.raises(StaggeredDataError, match="`unit`"):
        att_gt(panel, "y", None, "t", "g")
    with pytest.raises(ValueError, match="n_boot must be"):
        fit(panel, n_boot=1)


def test_missing_cohort_means_never_treated(panel):
    nan = panel.assign(g=panel["g"].replace(0, np.nan))
    pd.testing.assert_frame_equal(fit(nan).table, fit(panel).table)


def test_first_period_cohort_is_dropped_with_warning(panel):
    df = panel.copy()
    df.loc[df["id"] < 50, "g"] = 1
    with pytest.warns(UserWarning, match="already treated in the first period"):
        res = fit(df)
    assert res.n["units"] == panel["id"].nunique() - 50


# ------------------------------------------------------------------- output


def test_result_objects_print_and_export(res_dr):
    assert isinstance(res_dr, ATTgtResult)
    text = repr(res_dr)
    assert "doubly robust" in text and "never treated" in text and "pre-trend" in text
    frame = res_dr.to_frame()
    assert {"group", "time", "att", "se", "ci_low", "ci_high", "pvalue", "n_treated"} <= set(frame)
    e = res_dr.cell(3, 4)
    assert e.estimand == "ATT(3, 4)" and e.n["cohort"] > 0
    with pytest.raises(KeyError, match="No cell"):
        res_dr.cell(9, 9)
    agg = res_dr.aggregate("group")
    assert isinstance(agg, AggregatedATT)
    assert "aggregation: group" in repr(agg)
    assert [x.estimand for x in agg.estimates()] == ["ATT(g=3)", "ATT(g=4)", "ATT(g=5)"]
    f = agg.to_frame()
    assert f.shape[0] == 4 and f["estimate"].notna().all()
    assert agg.overall.to_dict()["options"]["aggregation"] == "group"


def test_plots_return_axes(res_dr):
    import matplotlib.pyplot as plt

    ax = res_dr.plot()
    assert ax.get_xlabel().startswith("periods since")
    ax2 = res_dr.aggregate("dynamic").plot()
    assert len(ax2.collections) + len(ax2.lines) > 0
    ax3 = res_dr.aggregate("simple").plot()
    assert ax3 is not None
    plt.close("all")


def test_collinear_covariates_leave_cells_out_with_a_warning(panel):
    from evaltools.estimate.diff_in_diff._cs_estimators import EstimationWarning

    df = panel.assign(x2=2 * panel["x"] + 1, big=np.exp(panel["x"]) * 1e6)
    with pytest.warns(EstimationWarning, match="collinear"):
        res = fit(df, covariates=["x", "x2"])
    assert res.table["att"].isna().all()
    # large units are not collinearity: the fit is the same as with the rescaled covariate
    a = fit(df, covariates="big", method="reg").table["att"]
    b = fit(df.assign(big=df["big"] / 1e6), covariates="big", method="reg").table["att"]
    np.testing.assert_allclose(a, b, rtol=1e-8)


def test_repeated_cross_sections_with_clusters():
    rng = np.random.default_rng(8)
    df = simulate(n=4000, T=T, seed=9)
    rc = df[rng.random(len(df)) < 0.3].reset_index(drop=True).assign(c=lambda d: d["id"] % 30)
    plain = att_gt(rc, "y", None, "t", "g", panel=False)
    cl = att_gt(rc, "y", None, "t", "g", panel=False, cluster="c")
    np.testing.assert_allclose(cl.table["att"], plain.table["att"])
    psi = cl.influence_function().iloc[:, 7].to_numpy()
    S = np.bincount(rc["c"].to_numpy(), weights=psi)
    assert cl.table["se"].iloc[7] == pytest.approx(np.sqrt(S @ S) / len(psi), rel=1e-12)
    assert cl.n == {"observations": len(rc), "treated": int((rc["g"] > 0).sum()), "clusters": 30}


def test_unequally_spaced_periods():
    df = simulate(n=4000, T=8, cohorts=(2, 5, 7), seed=31)
    df = df[df["t"].isin([1, 2, 5, 7])]
    res = fit(df)
    tab = res.table.set_index(["group", "time"])
    # base periods are the last observed period before the cohort starts
    assert tab.loc[(5, 7), "base_period"] == 2 and tab.loc[(7, 7), "base_period"] == 5
    assert tab.loc[(5, 2), "base_period"] == 1  # pre-period: the previous observed period
    for (g, t), r in tab[tab["post"]].iterrows():
        assert abs(r["att"] - true_att(g, t)) < 4 * r["se"], (g, t)
    dyn = res.aggregate("dynamic").table
    # event time in the units of the time column: t - g over the observed cells
    assert list(dyn["event_time"]) == [-5, -3, -2, 0, 2, 3, 5]
