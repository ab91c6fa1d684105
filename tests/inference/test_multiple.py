"""Benjamini-Hochberg, the WWC clustering correction and Romano-Wolf."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from evaltools.inference import benjamini_hochberg, romano_wolf, wwc_cluster_correction
from evaltools.standards import InputError


def test_bh_published_example_keeps_first_four():
    # Issue 6 / WWC Procedures Handbook example: BH at 0.05 on (0.01, 0.02, 0.03, 0.04,
    # 0.20): 0.04 <= 4 * 0.05 / 5 = 0.04, 0.20 > 0.05, so the first four are rejected.
    r = benjamini_hochberg([0.01, 0.02, 0.03, 0.04, 0.20], alpha=0.05)
    assert r.rejected.tolist() == [True, True, True, True, False]
    assert r.table["critical_value"].tolist() == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05])


def test_bh_step_up_rejects_below_a_failing_rank():
    # p_(2) = 0.03 > 2*0.05/4 but p_(3) = 0.036 <= 3*0.05/4: step-up rejects ranks 1-3.
    r = benjamini_hochberg({"math": 0.001, "reading": 0.03, "science": 0.036, "absence": 0.9})
    assert r.rejected.to_dict() == {"math": True, "reading": True, "science": True, "absence": False}
    assert "3 of 4" in repr(r)


def _bh_by_hand(p, alpha):
    m = len(p)
    order = np.argsort(p)
    ok = [k for k in range(1, m + 1) if p[order[k - 1]] <= k * alpha / m]
    rej = np.zeros(m, bool)
    if ok:
        rej[order[: max(ok)]] = True
    return rej


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.sampled_from([0.01, 0.05, 0.1]))
@settings(max_examples=200)
def test_bh_properties(ps, alpha):
    p = np.array(ps)
    r = benjamini_hochberg(p, alpha)
    assert (r.rejected.to_numpy() == _bh_by_hand(p, alpha)).all()
    # never rejects more than unadjusted testing, never fewer than Bonferroni
    assert r.rejected.sum() <= (p <= alpha).sum()
    assert r.rejected.sum() >= (p <= alpha / len(p)).sum()
    assert (r.adjusted.to_numpy() >= p - 1e-15).all()


def test_bh_bad_input():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        benjamini_hochberg([0.01, 1.2])
    with pytest.raises(InputError, match="empty"):
        benjamini_hochberg([])
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        benjamini_hochberg(pd.Series([0.1, float("nan")]))


def test_cluster_correction_formula_and_limits():
    r = wwc_cluster_correction(2.5, n_total=400, n_clusters=20, icc=0.2)
    N, n, rho = 400, 20, 0.2
    assert r.t_corrected == pytest.approx(
        2.5 * math.sqrt(((N - 2) - 2 * (n - 1) * rho) / ((N - 2) * (1 + (n - 1) * rho))))
    assert r.pvalue > r.pvalue_uncorrected and not r.significant
    none = wwc_cluster_correction(2.5, n_total=400, n_clusters=20, icc=0.0)
    assert none.t_corrected == pytest.approx(2.5) and none.df == pytest.approx(398)
    via_g = wwc_cluster_correction(g=0.25, n_t=200, n_c=200, n_total=400, n_clusters=20)
    assert via_g.t == pytest.approx(0.25 * math.sqrt(100))
    assert "Hedges 2007" in repr(r)


def test_cluster_correction_restores_nominal_size_by_simulation():
    # Truth: under H0 a naive pupil-level t test on a cluster-randomised sample
    # over-rejects badly; the corrected test should reject at about 5 %.
    rng = np.random.default_rng(3)
    m, n, rho, reps = 30, 20, 0.2, 3000
    arm = np.repeat(np.arange(m) < m // 2, n)
    y = (np.repeat(rng.normal(0, math.sqrt(rho), (reps, m)), n, axis=1)
         + rng.normal(0, math.sqrt(1 - rho), (reps, m * n)))
    t = stats.ttest_ind(y[:, arm], y[:, ~arm], axis=1).statistic
    naive = np.sum(2 * stats.t.sf(np.abs(t), m * n - 2) < 0.05)
    corrected = sum(wwc_cluster_correction(ti, n_total=m * n, n_clusters=m, icc=rho).significant
                    for ti in t)
    se = math.sqrt(0.05 * 0.95 / reps)
    assert naive / reps > 0.3
    assert abs(corrected / reps - 0.05) < 3.5 * se


def test_cluster_correction_bad_input():
    with pytest.raises(InputError, match="n_clusters"):
        wwc_cluster_correction(2.0, n_total=100)
    with pytest.raises(InputError, match="'t'"):
        wwc_cluster_correction(n_total=100, n_clusters=10)


def _rw_by_loop(t, tb):
    """Reference: Romano-Wolf step-down written as the textbook loop."""
    s, sb = np.abs(t), np.abs(tb)
    order = list(np.argsort(-s, kind="stable"))
    p = np.empty(len(t))
    prev = 0.0
    for j, h in enumerate(order):
        rest = order[j:]
        mx = sb[:, rest].max(axis=1)
        pj = (1 + np.sum(mx >= s[h])) / (len(tb) + 1)
        prev = max(prev, pj)
        p[h] = prev
    return p


def test_romano_wolf_matches_loop_and_single_hypothesis():
    rng = np.random.default_rng(5)
    cov = 0.6 + 0.4 * np.eye(5)
    tb = rng.multivariate_normal(np.zeros(5), cov, size=999)
    t = np.array([3.1, -0.4, 2.2, 1.9, -2.6])
    r = romano_wolf(t, tb)
    assert r.adjusted.to_numpy() == pytest.approx(_rw_by_loop(t, tb))
    assert (r.adjusted >= r.table["p_bootstrap"] - 1e-15).all()
    one = romano_wolf([2.0], tb[:, :1])
    assert one.adjusted.iloc[0] == pytest.approx(one.table["p_bootstrap"].iloc[0])


def test_romano_wolf_matches_pyfixest_reference():
    # pyfixest (MIT) implements the same step-down in its rwolf(); its helper takes the
    # observed and bootstrap t statistics directly (private API, pyfixest 0.60).
    from pyfixest.estimation.post_estimation.multcomp import _get_rwolf_pval

    rng = np.random.default_rng(8)
    cov = 0.3 + 0.7 * np.eye(8)
    tb = rng.multivariate_normal(np.zeros(8), cov, size=1999)
    t = rng.normal(0, 2, 8)
    assert romano_wolf(t, tb).adjusted.to_numpy() == pytest.approx(_get_rwolf_pval(t, tb))


def test_romano_wolf_controls_fwer_and_beats_bonferroni_when_correlated():
    # Truth: all nulls true, 6 strongly correlated statistics. FWER should be about 5 %
    # (<= nominal + MC error) and Romano-Wolf should reject more often than Bonferroni.
    rng = np.random.default_rng(9)
    k, reps, B = 6, 400, 499
    cov = 0.8 + 0.2 * np.eye(k)
    chol = np.linalg.cholesky(cov)
    rw_fw = bonf_fw = 0
    for _ in range(reps):
        t = chol @ rng.standard_normal(k)
        tb = rng.standard_normal((B, k)) @ chol.T
        r = romano_wolf(t, tb)
        rw_fw += bool(r.rejected.any())
        bonf_fw += bool((2 * stats.norm.sf(np.abs(t)) * k <= 0.05).any())
    assert rw_fw / reps <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)
    assert rw_fw > bonf_fw


def test_romano_wolf_bad_input():
    with pytest.raises(InputError, match="shape"):
        romano_wolf([1.0, 2.0], np.zeros((200, 3)))
    with pytest.raises(InputError, match="at least 99"):
        romano_wolf([1.0], np.zeros((10, 1)))
    with pytest.raises(InputError, match="alternative"):
        romano_wolf([1.0], np.zeros((100, 1)), alternative="both")


def test_subgroup_family_estimates_each_group_then_adjusts_across_all():
    """One estimate per group of each column (sorted groups), groups the fit leaves out or cannot
    test dropped, and Benjamini-Hochberg over the groups of every column together."""
    from evaltools.core.result import Estimate
    from evaltools.inference import subgroup_family

    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "area": rng.choice(["rural", "urban", "town"], n),
                          "one": "x", "y": rng.normal(size=n) + 0.3})
    frame.loc[frame["area"] == "town", "y"] = 1.0  # no variation: SE 0, no valid test

    def fit(g):
        if len(g) < 150:
            return None
        if g["area"].nunique() == 1 and g["area"].iloc[0] == "rural" and g["sex"].nunique() == 2:
            raise ValueError("cannot fit")  # a fit error leaves the group out
        se = g["y"].std(ddof=1) / math.sqrt(len(g))
        return Estimate.from_normal("mean", float(g["y"].mean()), float(se))

    out = subgroup_family(frame, ["sex", "area", "one", "missing"], fit, counts={"n": len})
    assert list(out.columns) == ["by", "group", "n", "estimate", "ci_low", "ci_high", "pvalue", "p_bh"]
    assert list(zip(out["by"], out["group"])) == [("sex", "F"), ("sex", "M"), ("area", "urban")]
    for _, r in out.iterrows():
        g = frame[frame[r["by"]] == r["group"]]
        assert r["n"] == len(g) and r["estimate"] == pytest.approx(g["y"].mean())
    assert np.allclose(out["p_bh"], benjamini_hochberg(out["pvalue"]).adjusted.to_numpy())
    assert (out["p_bh"] >= out["pvalue"] - 1e-15).all()
    empty = subgroup_family(frame, ["sex"], lambda g: None)
    assert empty.empty and list(empty.columns) == ["by", "group", *["estimate", "ci_low", "ci_high", "pvalue", "p_bh"]]
