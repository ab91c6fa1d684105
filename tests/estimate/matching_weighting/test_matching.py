"""Tests of evaltools.estimate.matching_weighting.matching: against a brute-force re-implementation
(explicit loops over units), known truth on simulated data, and matched DiD."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from evaltools.estimate import match, match_did, propensity_score


def simulate(n=1500, seed=0, effect=1.0, hetero=0.5):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    e = expit(-1.0 + 1.0 * x1 - 0.5 * x2)
    w = (rng.random(n) < e).astype(int)
    y = 1 + 2 * x1 + x2 + w * (effect + hetero * x1) + rng.normal(size=n)
    d = pd.DataFrame({"y": y, "w": w, "x1": x1, "x2": x2, "school": rng.integers(0, 50, n)})
    d.index = [f"p{i}" for i in range(n)]  # non-integer labels, to test alignment
    return d


def brute_force_att(Zt, Zc, yt, yc, k, J=2, Zc_same=None):
    """ATT and Abadie-Imbens population variance by explicit loops (no ties)."""
    N1, N0 = len(Zt), len(Zc)
    K = np.zeros(N0)
    L = np.zeros(N0)
    diffs = []
    for i in range(N1):
        dist = np.sqrt(((Zc - Zt[i]) ** 2).sum(axis=1))
        nb = np.argsort(dist, kind="stable")[:k]
        diffs.append(yt[i] - yc[nb].mean())
        K[nb] += 1 / k
        L[nb] += 1 / k**2
    diffs = np.array(diffs)
    att = diffs.mean()
    s2 = np.zeros(N0)
    for j in range(N0):
        dist = np.sqrt(((Zc - Zc[j]) ** 2).sum(axis=1))
        dist[j] = np.inf
        nb = np.argsort(dist, kind="stable")[:J]
        s2[j] = J / (J + 1) * (yc[j] - yc[nb].mean()) ** 2
    var = (np.sum((diffs - att) ** 2) + np.sum((K**2 - L) * s2)) / N1**2
    return att, np.sqrt(var)


@pytest.mark.parametrize("k", [1, 3])
def test_logit_ps_matching_matches_brute_force(k):
    d = simulate(n=600, seed=1)
    res = match(d, "y", "w", ["x1", "x2"], k=k)
    lp = propensity_score(d, "w", ["x1", "x2"]).logit.to_numpy()[:, None]
    t, c = d.w.to_numpy() == 1, d.w.to_numpy() == 0
    att, se = brute_force_att(lp[t], lp[c], d.y.to_numpy()[t], d.y.to_numpy()[c], k)
    assert res.estimate.estimate == pytest.approx(att, rel=1e-10)
    assert res.estimate.se == pytest.approx(se, rel=1e-10)
    assert res.estimate.n["treated"] == t.sum()


def test_mahalanobis_matching_matches_brute_force():
    d = simulate(n=500, seed=2)
    res = match(d, "y", "w", ["x1", "x2"], distance="mahalanobis", k=2)
    X = d[["x1", "x2"]].to_numpy()
    Lc = np.linalg.cholesky(np.linalg.inv(np.cov(X, rowvar=False)))
    Z = X @ Lc
    # Mahalanobis distance equals Euclidean distance in Z.
    S_inv = np.linalg.inv(np.cov(X, rowvar=False))
    diff = X[0] - X[1]
    assert np.sqrt(diff @ S_inv @ diff) == pytest.approx(np.linalg.norm(Z[0] - Z[1]))
    t, c = d.w.to_numpy() == 1, d.w.to_numpy() == 0
    att, se = brute_force_att(Z[t], Z[c], d.y.to_numpy()[t], d.y.to_numpy()[c], 2)
    assert res.estimate.estimate == pytest.approx(att, rel=1e-10)
    assert res.estimate.se == pytest.approx(se, rel=1e-10)


def test_weights_and_pairs_are_consistent():
    d = simulate(n=800, seed=3)
    res = match(d, "y", "w", ["x1", "x2"], k=2)
    wts = res.weights
    assert wts.index.equals(d.index)
    assert (wts[d.w == 1] == 1).all()
    # Comparison weights sum to the number of matched treated units.
    assert wts[d.w == 0].sum() == pytest.approx(res.estimate.n["treated"])
    # The ATT is the weighted mean difference in the matched sample.
    yt = d.loc[d.w == 1, "y"].mean()
    yc = np.average(d.loc[d.w == 0, "y"], weights=wts[d.w == 0])
    assert res.estimate.estimate == pytest.approx(yt - yc, rel=1e-10)
    assert set(res.pairs["treated"]) <= set(d.index[d.w == 1])
    assert set(res.pairs["control"]) <= set(d.index[d.w == 0])


def test_without_replacement_uses_each_control_once():
    d = simulate(n=900, seed=4)
    res = match(d, "y", "w", ["x1", "x2"], replace=False, k=1)
    assert res.pairs["control"].is_unique
    assert len(res.pairs) == res.estimate.n["treated"]
    assert res.weights.max() == 1


def test_caliper_drops_treated_without_close_match():
    d = simulate(n=1000, seed=5)
    wide = match(d, "y", "w", ["x1", "x2"])
    tight = match(d, "y", "w", ["x1", "x2"], caliper=0.01)
    assert len(wide.unmatched) == 0
    assert len(tight.unmatched) > 0
    assert tight.estimate.n["treated"] + len(tight.unmatched) == int(d.w.sum())
    assert (tight.pairs["distance"] <= 0.01 * propensity_score(d, "w", ["x1", "x2"]).logit.std()).all()


def test_recovers_known_att_and_bias_adjustment_helps():
    d = simulate(n=8000, seed=6, hetero=0.5)
    ps = propensity_score(d, "w", ["x1", "x2"])
    e = ps.scores.to_numpy()
    # True ATT: 1 + 0.5 E[x1 | W = 1] (sample version).
    att_true = 1 + 0.5 * d.loc[d.w == 1, "x1"].mean()
    naive = d.loc[d.w == 1, "y"].mean() - d.loc[d.w == 0, "y"].mean()
    plain = match(d, "y", "w", ["x1", "x2"], distance="mahalanobis", k=1, pscore=ps)
    adj = match(d, "y", "w", ["x1", "x2"], distance="mahalanobis", k=4, bias_adjust=True)
    assert plain.estimate.ci_low < att_true < plain.estimate.ci_high
    assert adj.estimate.ci_low < att_true < adj.estimate.ci_high
    assert abs(naive - att_true) > 10 * plain.estimate.se
    assert abs(adj.estimate.estimate - att_true) < abs(naive - att_true) / 10
    assert e.min() > 0


def test_cluster_robust_option():
    d = simulate(n=1200, seed=7)
    res = match(d, "y", "w", ["x1", "x2"], cluster="school", replace=False)
    assert res.estimate.n["clusters"] <= 50
    assert "cluster-robust" in res.estimate.diagnostics["se"]
    assert res.estimate.se > 0


def test_repr_and_frame():
    res = match(simulate(n=400), "y", "w", ["x1", "x2"])
    assert "MatchResult" in repr(res) and "ATT" in repr(res)
    assert res.to_frame().shape[0] == 1


def test_clear_errors():
    d = simulate(n=300)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        match(d, "y", "w", ["x1"], k=0)
    with pytest.raises(ValueError, match="distance must be"):
        match(d, "y", "w", ["x1"], distance="euclid")
    with pytest.raises(ValueError, match="replace=True"):
        match(d, "y", "w", ["x1"], replace=False, k=5)
    with pytest.raises(KeyError, match="outcome"):
        match(d, "score", "w", ["x1"])


# ---------------------------------------------------------------------------
# Matching + DiD over adoption cohorts
# ---------------------------------------------------------------------------


def simulate_panel(units=1500, periods=6, seed=0, effect=2.0):
    rng = np.random.default_rng(seed)
    alpha = rng.normal(size=units)  # unit level: drives both selection and outcomes
    x = alpha + rng.normal(size=units)
    p = expit(-1 + 1.2 * x)
    treated = rng.random(units) < p
    cohort = np.where(treated, rng.choice([3, 4, 5], units), np.nan)
    rows = []
    for t in range(1, periods + 1):
        on = ~np.isnan(cohort) & (t >= np.nan_to_num(cohort, nan=99))
        y = 3 * alpha + 0.3 * t + effect * on + rng.normal(size=units)
        rows.append(pd.DataFrame({"unit": np.arange(units), "year": t, "y": y, "x": x, "cohort": cohort}))
    return pd.concat(rows, ignore_index=True)


def test_match_did_recovers_effect_under_selection_on_levels():
    d = simulate_panel()
    res = match_did(d, "y", "unit", "year", "cohort", ["x"])
    assert list(res.table.index) == [3, 4, 5]
    assert res.overall.ci_low < 2.0 < res.overall.ci_high, res
    for g, row in res.table.iterrows():
        assert row["ci_low"] < 2.0 < row["ci_high"], (g, row)
    # The overall ATT is the treated-weighted average of the cohort ATTs.
    share = res.table["n_treated"] / res.table["n_treated"].sum()
    assert res.overall.estimate == pytest.approx(float((share * res.table["att"]).sum()), rel=1e-10)
    # A naive post-period comparison is biased upward (selection on the unit effect).
    post = d[d.year == 6]
    naive = post.loc[post.cohort.notna(), "y"].mean() - post.loc[post.cohort.isna(), "y"].mean()
    assert naive - 2.0 > 5 * res.overall.se
    assert "Matched difference-in-differences" in repr(res)
    frame = res.to_frame()
    assert list(frame.index) == [3, 4, 5, "overall"]
    assert frame.loc["overall", "att"] == pytest.approx(res.overall.estimate)
    assert frame.loc["overall", "n_treated"] == res.table["n_treated"].sum()


def test_match_did_errors():
    d = simulate_panel(units=200)
    with pytest.raises(ValueError, match="duplicate"):
        match_did(pd.concat([d, d.head(3)]), "y", "unit", "year", "cohort", ["x"])
    with pytest.raises(ValueError, match="never-treated"):
        match_did(d.assign(cohort=d.cohort.fillna(6)), "y", "unit", "year", "cohort", ["x"])


@pytest.mark.slow
def test_ci_coverage_monte_carlo():
    """Abadie-Imbens 95% CIs (Mahalanobis, k = 1 and 4) cover the true ATT at about the nominal rate."""
    reps, hits1, hits4 = 250, 0, 0
    for r in range(reps):
        d = simulate(n=1000, seed=500 + r)
        att_true = 1 + 0.5 * d.loc[d.w == 1, "x1"].mean()
        e1 = match(d, "y", "w", ["x1", "x2"], distance="mahalanobis", k=1, bias_adjust=True).estimate
        e4 = match(d, "y", "w", ["x1", "x2"], distance="mahalanobis", k=4, bias_adjust=True).estimate
        hits1 += e1.ci_low < att_true < e1.ci_high
        hits4 += e4.ci_low < att_true < e4.ci_high
    print(f"coverage of 95% CIs: k=1 {hits1 / reps:.3f}, k=4 {hits4 / reps:.3f}")
    assert 0.91 <= hits1 / reps <= 0.985, hits1 / reps
    assert 0.91 <= hits4 / reps <= 0.985, hits4 / reps


def test_match_did_accepts_nullable_cohorts_and_skips_tiny_cohorts():
    d = simulate_panel(units=600, seed=3)
    d["cohort"] = d["cohort"].astype("Int64")  # pandas nullable integers with <NA>
    one = d.loc[d.cohort == 5, "unit"].unique()[1:]  # leave a single unit in cohort 5
    d.loc[d.unit.isin(one), "cohort"] = pd.NA
    with pytest.warns(RuntimeWarning, match=r"Cohorts \[5\] were left out"):
        res = match_did(d, "y", "unit", "year", "cohort", ["x"])
    assert list(res.table.index) == [3, 4]
    with pytest.raises(ValueError, match="constant per unit"):
        match_did(d.assign(cohort=np.where(d.year == 1, 3, d.cohort.astype(float))), "y", "unit", "year", "cohort", ["x"])


def test_single_matched_treated_unit_is_an_error():
    d = simulate(n=300, seed=8)
    d["w"] = 0
    d.iloc[0, d.columns.get_loc("w")] = 1
    with pytest.raises(ValueError, match="at least 2 matched treated"):
        match(d, "y", "w", ["x1", "x2"], distance="mahalanobis")


def test_cluster_se_of_bias_adjusted_att_uses_residuals():
    d = simulate(n=1500, seed=9)
    res = match(d, "y", "w", ["x1", "x2"], cluster="school", bias_adjust=True, distance="mahalanobis")
    # With one unit per cluster the CR1 SE equals the HC1 SE of WLS of (y - mu0(X)) on w in the matched sample.
    import statsmodels.api as sm

    single = match(d.assign(school=np.arange(len(d))), "y", "w", ["x1", "x2"], cluster="school",
                   bias_adjust=True, distance="mahalanobis")
    X = np.column_stack([np.ones(len(d)), d.x1, d.x2])
    c = d.w.to_numpy() == 0
    mu0 = X @ np.linalg.lstsq(X[c], d.y.to_numpy()[c], rcond=None)[0]
    keep = single.weights.to_numpy() > 0
    r = (d.y.to_numpy() - mu0)[keep]
    fit = sm.WLS(r, sm.add_constant(d.w.to_numpy()[keep].astype(float)),
                 weights=single.weights.to_numpy()[keep]).fit(cov_type="HC1")
    assert single.estimate.estimate == pytest.approx(fit.params[1], rel=1e-10)
    assert single.estimate.se == pytest.approx(fit.bse[1], rel=1e-8)
    assert res.estimate.estimate == pytest.approx(single.estimate.estimate)
