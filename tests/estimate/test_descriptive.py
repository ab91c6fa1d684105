"""cluster_mean against statsmodels' intercept-only OLS with cluster-robust errors."""
import numpy as np
import pytest
import statsmodels.api as sm

from evaltools.estimate.descriptive import cluster_mean


def test_matches_statsmodels_cluster_robust_intercept_regression():
    rng = np.random.default_rng(3)
    clusters = rng.integers(0, 40, size=2000)
    y = (rng.random(2000) < 0.05 + 0.002 * clusters).astype(float)
    ours = cluster_mean(y, clusters, estimand="rate")
    ref = sm.OLS(y, np.ones_like(y)).fit(cov_type="cluster", cov_kwds={"groups": clusters, "use_correction": True,
                                                                         "df_correction": True}, use_t=True)
    assert ours.estimate == pytest.approx(ref.params[0], abs=1e-12)
    # statsmodels' CR1 also multiplies by (N-1)/(N-K); with K = 1 that factor is 1.
    assert ours.se == pytest.approx(ref.bse[0], rel=1e-10)
    lo, hi = ref.conf_int()[0]  # use_t: statsmodels takes t(G - 1) for clustered errors
    assert (ours.ci_low, ours.ci_high) == pytest.approx((lo, hi), rel=1e-10)
    assert ours.n == {"observations": 2000, "clusters": 40}


def test_covers_the_truth_at_nominal_rate_with_correlated_clusters():
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(400):
        effects = rng.normal(0, 1, size=30)
        clusters = np.repeat(np.arange(30), 50)
        y = effects[clusters] + rng.normal(0, 1, size=clusters.size)
        est = cluster_mean(y, clusters)
        hits += est.ci_low <= 0 <= est.ci_high
    assert 0.92 <= hits / 400 <= 0.98  # binomial sd of the rate is about 0.011


def test_needs_two_clusters():
    with pytest.raises(ValueError, match="at least 2 clusters"):
        cluster_mean([1.0, 0.0], ["a", "a"])


def test_missing_cluster_id_is_a_clear_error_without_ids():
    import pandas as pd

    ids = pd.Series(["LV-school-17", None, "LV-school-17", "LV-school-42", np.nan], index=[901, 902, 903, 904, 905])
    with pytest.raises(ValueError) as err:
        cluster_mean(pd.Series([1.0, 0.0, 1.0, 0.0, 1.0], index=ids.index), ids, estimand="rate")
    msg = str(err.value)
    assert "2 of 5 values have no cluster id" in msg and "positions 1, 4" in msg
    assert "LV-school" not in msg and "902" not in msg  # neither id values nor index labels
    # a missing value with a missing cluster is just a missing value
    e = cluster_mean(np.array([1.0, np.nan, 0.0, 1.0]), np.array(["a", None, "b", "b"], dtype=object))
    assert e.n == {"observations": 3, "clusters": 2}
