"""Effect sizes: Hedges' g, Cox index, improvement index, months of progress."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import Table2x2

from evaltools.standards import (
    EffectSize,
    InputError,
    cox_index,
    hedges_g,
    improvement_index,
    months_progress,
    months_table,
)


def test_hedges_g_published_small_example():
    # WWC Procedures and Standards Handbook v5.0, Appendix E formula applied to (5, 6, 7)
    # vs (4, 5, 6): means differ by 1, both SDs are 1, so d = 1.0; N = 6 gives
    # omega = 1 - 3 / (4*6 - 9) = 0.8 and g = 0.80.
    g = hedges_g([5, 6, 7], [4, 5, 6])
    assert g.details["d"] == pytest.approx(1.0)
    assert g.details["omega"] == pytest.approx(0.8)
    assert g.value == pytest.approx(0.80)
    # the WWC standard error: sqrt(N/(n_t n_c) + g^2/(2N)) = sqrt(6/9 + 0.64/12)
    assert g.se == pytest.approx(math.sqrt(6 / 9 + 0.64 / 12))


def test_summary_statistics_match_raw_data():
    rng = np.random.default_rng(1)
    yt, yc = rng.normal(0.3, 1.2, 57), rng.normal(0.0, 0.9, 64)
    raw = hedges_g(yt, yc)
    summ = hedges_g(mean_t=yt.mean(), mean_c=yc.mean(), sd_t=yt.std(ddof=1),
                    sd_c=yc.std(ddof=1), n_t=57, n_c=64)
    assert raw.value == pytest.approx(summ.value, rel=1e-12)
    assert raw.se == pytest.approx(summ.se, rel=1e-12)


def test_hedges_g_unbiased_and_se_calibrated_by_simulation():
    # Truth: delta = 0.5 with n = 10 + 10. Cohen's d is biased upward by about
    # 1/omega - 1 = 4 %; Hedges' g removes it. 4000 draws give an MC SE of ~0.008.
    rng = np.random.default_rng(20261123)
    delta, n, reps = 0.5, 10, 4000
    gs, ds, ses = [], [], []
    for _ in range(reps):
        r = hedges_g(rng.normal(delta, 1, n), rng.normal(0, 1, n))
        gs.append(r.value)
        ds.append(r.details["d"])
        ses.append(r.se)
    gs = np.array(gs)
    mc_se = gs.std() / math.sqrt(reps)
    assert abs(gs.mean() - delta) < 3 * mc_se
    assert np.mean(ds) - delta > 3 * mc_se  # the uncorrected d is visibly biased
    assert np.mean(ses) == pytest.approx(gs.std(), rel=0.05)


def test_cluster_g_reduces_to_individual_when_icc_is_zero():
    kw = dict(mean_t=10.5, mean_c=10.0, sd_t=2.0, sd_c=2.1, n_t=300, n_c=280)
    ind = hedges_g(**kw)
    clu = hedges_g(**kw, icc=0.0, n_clusters=29)
    assert clu.value == pytest.approx(ind.value, rel=1e-12)
    assert clu.details["df_h"] == pytest.approx(578)
    # with a positive ICC the small-number-of-clusters correction shrinks g
    clu2 = hedges_g(**kw, icc=0.2, n_clusters=29)
    assert clu2.value < ind.value
    assert clu2.se > ind.se


def test_cluster_g_unbiased_and_se_calibrated_by_simulation():
    # Cluster RCT: 12 + 12 schools of 15 pupils, ICC 0.2, true effect 0.4 total SD.
    # Hedges (2007): omega_h * gamma * diff / S_T is unbiased for delta_T and the WWC
    # variance (design effect + g^2 / 2h) matches the sampling variance.
    rng = np.random.default_rng(7)
    m, n, rho, delta, reps = 24, 15, 0.2, 0.4, 1500
    arm = np.repeat(np.arange(m) < m // 2, n)
    gs, ses = [], []
    for _ in range(reps):
        u = np.repeat(rng.normal(0, math.sqrt(rho), m), n)
        y = u + rng.normal(0, math.sqrt(1 - rho), m * n) + delta * arm
        r = hedges_g(y[arm], y[~arm], icc=rho, n_clusters=m)
        gs.append(r.value)
        ses.append(r.se)
    gs = np.array(gs)
    mc_se = gs.std() / math.sqrt(reps)
    assert abs(gs.mean() - delta) < 3 * mc_se
    assert np.mean(ses) == pytest.approx(gs.std(), rel=0.08)


def test_covariate_adjusted_g_uses_unadjusted_sd():
    g = hedges_g(mean_t=None, mean_c=None, sd_t=10, sd_c=10, n_t=50, n_c=50,
                 adjusted_diff=3.0)
    assert g.value == pytest.approx((1 - 3 / (4 * 100 - 9)) * 0.3)
    assert "covariate-adjusted" in g.method
    with_se = hedges_g(sd_t=10, sd_c=10, n_t=50, n_c=50, adjusted_diff=3.0, se_diff=1.0)
    assert with_se.se == pytest.approx(math.sqrt(0.01 + with_se.value**2 / 200))


def test_effect_size_result_prints_and_converts():
    g = hedges_g([5, 6, 7, 8], [4, 5, 6, 6])
    text = repr(g)
    assert "Hedges' g" in text and "95% CI" in text and "improvement index" in text
    frame = g.to_frame()
    assert frame.loc["Hedges' g", "value"] == pytest.approx(g.value)
    est = g.to_estimate()
    assert est.estimate == pytest.approx(g.value) and est.n == {"treated": 4, "comparison": 4}
    assert float(g) == g.value


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(treatment=[1, 2, float("nan")], comparison=[1, 2, 3]), "missing"),
        (dict(treatment=[1, 2, 3]), "both"),
        (dict(mean_t=1, mean_c=0, sd_t=1, n_t=5, n_c=5), "sd_c"),
        (dict(mean_t=1, mean_c=0, sd_t=1, sd_c=1, n_t=5, n_c=5, n_clusters=4), "icc"),
        (dict(mean_t=1, mean_c=0, sd_t=1, sd_c=1, n_t=5, n_c=5, icc=0.2), "n_clusters"),
        (dict(mean_t=1, mean_c=0, sd_t=-1, sd_c=1, n_t=5, n_c=5), "sd_t"),
        (dict(treatment=[1, 1, 1], comparison=[1, 1, 1]), "identical"),
    ],
)
def test_hedges_g_bad_input_names_the_problem(kwargs, message):
    with pytest.raises(InputError, match=message):
        hedges_g(**kwargs)


def test_cox_index_matches_log_odds_ratio_reference():
    # statsmodels' Table2x2 is the reference for the log odds ratio and its SE.
    a, b, c, d = 30, 70, 20, 80
    ref = Table2x2(np.array([[a, b], [c, d]]))
    omega = 1 - 3 / (4 * 200 - 9)
    cox = cox_index(events_t=30, events_c=20, n_t=100, n_c=100)
    assert cox.value == pytest.approx(omega * ref.log_oddsratio / 1.65)
    assert cox.se == pytest.approx(omega * ref.log_oddsratio_se / 1.65)
    same = cox_index(p_t=0.3, p_c=0.2, n_t=100, n_c=100)
    arrays = cox_index(np.r_[np.ones(30), np.zeros(70)], np.r_[np.ones(20), np.zeros(80)])
    assert same.value == pytest.approx(cox.value) and arrays.value == pytest.approx(cox.value)
    swapped = cox_index(events_t=20, events_c=30, n_t=100, n_c=100)
    assert swapped.value == pytest.approx(-cox.value)


def test_cox_index_zero_cell_needs_explicit_continuity():
    with pytest.raises(InputError, match="continuity=0.5"):
        cox_index(events_t=0, events_c=5, n_t=50, n_c=50)
    r = cox_index(events_t=0, events_c=5, n_t=50, n_c=50, continuity=0.5)
    assert r.value < 0 and math.isfinite(r.se)
    with pytest.raises(InputError, match="only 0 and 1"):
        cox_index([0, 1, 2], [0, 1, 1])


def test_improvement_index_published_value():
    # WWC: an effect size of 0.25 is an improvement index of +10 (rounded).
    assert round(improvement_index(0.25)) == 10
    assert improvement_index(0.0) == pytest.approx(0.0)
    assert improvement_index(-0.25) == pytest.approx(-improvement_index(0.25))


@given(st.floats(-3, 3), st.floats(-3, 3))
def test_improvement_index_monotone_and_bounded(a, b):
    lo, hi = sorted((a, b))
    assert -50 <= improvement_index(lo) <= improvement_index(hi) <= 50


# EEF Teaching and Learning Toolkit table as published on
# https://educationendowmentfoundation.org.uk/evidence-summaries/about-the-toolkits/attainment/
TOOLKIT = [(-0.01, 0.01, 0), (0.02, 0.09, 1), (0.10, 0.18, 2), (0.19, 0.26, 3),
           (0.27, 0.35, 4), (0.36, 0.44, 5), (0.45, 0.52, 6), (0.53, 0.61, 7),
           (0.62, 0.69, 8), (0.70, 0.78, 9), (0.79, 0.87, 10), (0.88, 0.95, 11),
           (0.96, 1.00, 12)]


@pytest.mark.parametrize("lo, hi, months", TOOLKIT)
def test_months_progress_toolkit_every_row(lo, hi, months):
    assert months_progress(hi, "toolkit") == months
    assert months_progress(max(lo, 0.0), "toolkit") == months
    assert months_progress(-hi, "toolkit") == -months


def test_months_progress_project_table_differs_only_below_005():
    assert months_progress(0.03, "toolkit") == 1
    assert months_progress(0.03, "project") == 0
    assert months_progress(0.05, "project") == 1
    for g in np.arange(0.05, 1.2, 0.01):
        assert months_progress(g, "project") == months_progress(g, "toolkit")
    assert months_progress(1.7) == 12
    assert months_progress(0.0449, "project") == 0  # rounds to 0.04
    tab = months_table("project")
    assert list(tab.columns) == ["es_from", "es_to", "months"] and len(tab) == 13
    with pytest.raises(InputError, match="toolkit"):
        months_progress(0.2, table="eef")


@given(st.floats(0, 2), st.floats(0, 2))
@settings(max_examples=200)
def test_months_progress_monotone(a, b):
    lo, hi = sorted((a, b))
    for table in ("toolkit", "project"):
        assert months_progress(lo, table) <= months_progress(hi, table)


def test_effect_size_is_frozen_dataclass():
    g = hedges_g([1, 2, 3], [0, 1, 2])
    assert isinstance(g, EffectSize)
    with pytest.raises(AttributeError):
        g.value = 3.0  # type: ignore[misc]


@given(st.lists(st.floats(-100, 100), min_size=3, max_size=30),
       st.lists(st.floats(-100, 100), min_size=3, max_size=30),
       st.floats(0.01, 100), st.floats(-1000, 1000))
@settings(max_examples=100, deadline=None)
def test_hedges_g_is_scale_free_and_antisymmetric(t, c, scale, shift):
    yt, yc = np.array(t), np.array(c)
    if min(yt.std(), yc.std()) < 0.1:
        return  # (nearly) constant groups: no stable effect size; tested separately
    g = hedges_g(yt, yc)
    moved = hedges_g(yt * scale + shift, yc * scale + shift)
    assert moved.value == pytest.approx(g.value, rel=1e-6, abs=1e-9)
    assert hedges_g(yc, yt).value == pytest.approx(-g.value, rel=1e-9, abs=1e-12)
    assert g.ci_low <= g.value <= g.ci_high


def test_standards_import_does_not_load_the_estimators():
    import subprocess
    import sys

    code = "import sys, evaltools.standards; print('evaltools.estimate' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
