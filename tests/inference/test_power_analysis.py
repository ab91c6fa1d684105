"""Power, MDES and sample size (Bloom 2006; Dong & Maynard 2013 PowerUp!)."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import TTestIndPower

from evaltools.inference import mdes, mdes_curve, multiplier, plot_mdes_curve, power, sample_size
from evaltools.standards import InputError


def test_multiplier_tends_to_2_80():
    # Bloom (2006): for alpha 0.05 two-tailed and power 0.80 the multiplier -> 2.80.
    assert round(multiplier(math.inf), 2) == 2.80
    ms = [multiplier(df) for df in (10, 30, 100, 1000, 100_000)]
    assert all(a > b for a, b in zip(ms, ms[1:]))  # decreases towards the limit
    assert ms[-1] == pytest.approx(multiplier(math.inf), abs=1e-4)
    assert ms[0] > 2.9  # with few df the 2.8 approximation understates the MDES


# PowerUpR documentation "cross-checks" (Bulus, Dong, Kelcey & Spybrook; examples of
# mdes.ira1r1, mdes.cra2r2 and mdes.cra3r3, which reproduce the PowerUp! Excel tool of
# Dong & Maynard 2013): MDES .356, .629 and .269.
def test_powerup_worked_example_individual():
    assert round(mdes("individual", n=250).mdes, 3) == 0.356


def test_powerup_worked_example_cluster2():
    r = mdes("cluster2", n_clusters=20, cluster_size=15, icc=0.17)
    assert round(r.mdes, 3) == 0.629
    assert r.df == 18


def test_powerup_worked_example_cluster3():
    r = mdes("cluster3", n_clusters=60, n_subclusters=3, cluster_size=15, icc=0.06, icc2=0.17)
    assert round(r.mdes, 3) == 0.269
    # and the PowerUpR power cross-check at that effect size is 0.80
    p = power("cluster3", effect=0.269, n_clusters=60, n_subclusters=3, cluster_size=15,
              icc=0.06, icc2=0.17)
    assert round(p.power, 2) == 0.80


@pytest.mark.parametrize("n, effect", [(20, 0.8), (64, 0.5), (250, 0.3), (1000, 0.1)])
def test_noncentral_power_equals_statsmodels(n, effect):
    ref = TTestIndPower().power(effect_size=effect, nobs1=n // 2, alpha=0.05, ratio=1.0)
    ours = power("individual", effect=effect, n=n, method="noncentral").power
    assert ours == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("n", [20, 64, 250, 1000])
def test_noncentral_mdes_has_exact_power_in_statsmodels(n):
    es = mdes("individual", n=n, method="noncentral").mdes
    assert TTestIndPower().power(effect_size=es, nobs1=n // 2, alpha=0.05) == pytest.approx(0.8, abs=1e-9)


def test_multiplier_mdes_close_to_exact():
    gaps = []
    for n in (20, 60, 200, 2000):
        approx = mdes("individual", n=n).mdes
        exact = mdes("individual", n=n, method="noncentral").mdes
        gaps.append(abs(approx - exact) / exact)
    assert max(gaps) < 1e-3  # Bloom's multiplier is within 0.1 % of the exact MDES
    assert gaps[-1] < gaps[1]  # and the gap vanishes as df grows


def test_round_trips():
    kw = dict(n_clusters=40, cluster_size=25, icc=0.2, r2_2=0.5, covariates=1)
    m = mdes("cluster2", **kw).mdes
    assert power("cluster2", effect=m, method="multiplier", **kw).power == pytest.approx(0.8, abs=1e-10)
    m_nc = mdes("cluster2", method="noncentral", **kw).mdes
    assert power("cluster2", effect=m_nc, **kw).power == pytest.approx(0.8, abs=1e-9)
    ss = sample_size("cluster2", effect=m, cluster_size=25, icc=0.2, r2_2=0.5, covariates=1)
    assert ss.sizes["n_clusters"] == 40
    ss3 = sample_size("cluster3", effect=mdes("cluster3", n_clusters=60, n_subclusters=3,
                                              cluster_size=15, icc=0.06, icc2=0.17).mdes,
                      n_subclusters=3, cluster_size=15, icc=0.06, icc2=0.17)
    assert ss3.sizes["n_clusters"] == 60


def test_cluster2_power_matches_simulation_of_cluster_means_t_test():
    # Truth by simulation: a balanced cluster RCT analysed by a t test on cluster means
    # is exactly the noncentral-t power of the CRA2 formula (no covariates).
    rng = np.random.default_rng(11)
    J, n, rho, delta, reps = 16, 10, 0.15, 0.5, 4000
    u = rng.normal(0, math.sqrt(rho), (reps, J))
    e = rng.normal(0, math.sqrt(1 - rho), (reps, J, n)).mean(axis=2)
    means = u + e + delta * (np.arange(J) < J // 2)
    t, c = means[:, : J // 2], means[:, J // 2:]
    sp = np.sqrt((t.var(axis=1, ddof=1) + c.var(axis=1, ddof=1)) / 2)
    tstat = (t.mean(axis=1) - c.mean(axis=1)) / (sp * math.sqrt(4 / J))
    from scipy import stats
    rate = np.mean(np.abs(tstat) > stats.t.ppf(0.975, J - 2))
    theory = power("cluster2", effect=delta, n_clusters=J, cluster_size=n, icc=rho).power
    assert abs(rate - theory) < 3 * math.sqrt(theory * (1 - theory) / reps)


def test_result_prints_and_frames():
    r = mdes("cluster2", n_clusters=30, cluster_size=20, icc=0.2)
    text = repr(r)
    assert "MDES" in text and "CRA2" in text and "multiplier" in text
    f = r.to_frame()
    assert f.loc[0, "mdes"] == pytest.approx(r.mdes) and f.loc[0, "n_clusters"] == 30
    assert float(r) == r.mdes


def test_mdes_curve_and_plot():
    curve = mdes_curve("cluster2", range(10, 101, 10), cluster_size=20, icc=0.2, r2_2=0.5)
    assert list(curve["units"]) == list(range(10, 101, 10))
    assert curve["mdes"].is_monotonic_decreasing
    ax = plot_mdes_curve(curve, target=0.2, label="ICC 0.2", xlabel="Skolu skaits")
    assert ax.get_xlabel() == "Skolu skaits"
    assert len(ax.lines) == 2
    import matplotlib.pyplot as plt
    plt.close("all")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: mdes("cluster2", n_clusters=20, cluster_size=10), "icc"),
        (lambda: mdes("cluster2", n_clusters=3, cluster_size=10, icc=0.1, covariates=1), "Too few"),
        (lambda: mdes("individual", n=100, icc=0.2), "does not apply"),
        (lambda: mdes("cluster3", n_clusters=20, cluster_size=10, icc=0.1), "n_subclusters"),
        (lambda: mdes("cluster3", n_clusters=20, n_subclusters=2, cluster_size=10, icc=0.6,
                      icc2=0.5), "below 1"),
        (lambda: mdes("classroom", n=100), "Unknown design"),
        (lambda: mdes("individual", n=100, r2_2=0.5), "r2_1"),
        (lambda: mdes("cluster2", n_clusters=20, cluster_size=10, icc=0.1, r2_3=0.5), "cluster3"),
        (lambda: mdes("individual", n=100, p=1.0), "share of units"),
        (lambda: power("individual", effect=0.2, n=100, method="exact"), "Unknown method"),
        (lambda: sample_size("cluster2", effect=0.05, cluster_size=20, icc=0.5,
                             max_units=10_000), "not reached"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(InputError, match=message):
        call()


@given(n1=st.integers(10, 3000), extra=st.integers(1, 3000), es=st.floats(0.01, 1.0),
       method=st.sampled_from(["multiplier", "noncentral"]))
@settings(max_examples=60, deadline=None)
def test_power_increases_with_n(n1, extra, es, method):
    p1 = power("individual", effect=es, n=n1, method=method).power
    p2 = power("individual", effect=es, n=n1 + extra, method=method).power
    assert p2 >= p1 - 1e-12


@given(j=st.integers(5, 300), extra=st.integers(1, 300), icc=st.floats(0.0, 0.5),
       size=st.integers(1, 60))
@settings(max_examples=60, deadline=None)
def test_mdes_decreases_with_clusters(j, extra, icc, size):
    m1 = mdes("cluster2", n_clusters=j, cluster_size=size, icc=icc).mdes
    m2 = mdes("cluster2", n_clusters=j + extra, cluster_size=size, icc=icc).mdes
    assert m2 < m1
