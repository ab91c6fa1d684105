"""linearmodels as an independent reference for the panel and IV estimators.

* ``evaltools.estimate.twfe`` (pyfixest, CRV1) against ``linearmodels.PanelOLS`` with
  entity and time effects: the coefficients agree exactly; the clustered SEs differ only
  by the small-sample factor, which each package documents differently. With the raw
  sandwich of PanelOLS (``debiased=False, group_debias=False, count_effects=False``)

      se_twfe = se_raw * sqrt(G / (G - 1) * (n - 1) / (n - k - T))

  (fixest's CRV1: the unit effects are nested in the unit clusters and not counted, the
  T period effects are). PanelOLS's default counts every absorbed effect in the degrees
  of freedom, so its SEs are larger (PITFALLS.md; about 9 % in the panel below).
* the fuzzy RD of ``evaltools.estimate.discontinuity.local_polynomial`` (rdrobust, the dropout study's design at the
  risk threshold) against ``linearmodels.IV2SLS``: within the bandwidth, the local linear
  Wald ratio is two-stage least squares of the outcome on take-up, instrumented by the
  offer 1[x >= c], with a slope on each side and the kernel as weights, so the two
  conventional estimates (and first stages) agree exactly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linearmodels import IV2SLS, PanelOLS

from evaltools.estimate import rd, twfe


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """60 schools x 6 years, staggered adoption in three cohorts and never-treated, a covariate."""
    rng = np.random.default_rng(3)
    n_units, n_years = 60, 6
    unit = np.repeat(np.arange(n_units), n_years)
    year = np.tile(np.arange(2015, 2015 + n_years), n_units)
    start = rng.choice([2017, 2018, 2019, 9999], n_units)[unit]
    d = (year >= start).astype(float)
    x = rng.normal(size=unit.size)
    y = rng.normal(size=n_units)[unit] + 0.3 * (year - 2015) + 1.5 * d + 0.5 * x + rng.normal(size=unit.size)
    return pd.DataFrame({"school": unit, "year": year, "d": d, "x": x, "y": y})


def _panelols(panel: pd.DataFrame, **fit: object):
    p = panel.set_index(["school", "year"])
    return PanelOLS(p["y"], p[["d", "x"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, **fit)


def test_twfe_coefficients_equal_panelols(panel):
    ours = twfe(panel, outcome="y", treatment="d", unit="school", time="year", covariates=["x"])
    ref = _panelols(panel)
    np.testing.assert_allclose(ours.table.loc[["d", "x"], "estimate"], ref.params[["d", "x"]], rtol=1e-10, atol=0)
    assert ours.estimate.estimate == pytest.approx(float(ref.params["d"]), rel=1e-10)


def test_twfe_clustered_se_is_panelols_raw_sandwich_times_fixest_factor(panel):
    ours = twfe(panel, outcome="y", treatment="d", unit="school", time="year", covariates=["x"])
    raw = _panelols(panel, debiased=False, group_debias=False, auto_df=False, count_effects=False)
    n, k, n_years, G = len(panel), 2, panel["year"].nunique(), panel["school"].nunique()
    factor = G / (G - 1) * (n - 1) / (n - k - n_years)
    np.testing.assert_allclose(ours.table.loc[["d", "x"], "se"], raw.std_errors[["d", "x"]] * np.sqrt(factor),
                               rtol=1e-9, atol=0)


def test_panelols_default_counts_the_absorbed_effects_and_is_wider(panel):
    """The pitfall, measured: same point estimate, SE larger by the absorbed degrees of freedom."""
    ours = twfe(panel, outcome="y", treatment="d", unit="school", time="year", covariates=["x"])
    ratio = float(_panelols(panel).std_errors["d"]) / float(ours.table.loc["d", "se"])
    assert 1.05 < ratio < 1.12


@pytest.fixture(scope="module")
def fuzzy() -> pd.DataFrame:
    """Pupils with a risk score; a support plan is offered from 60, taken up by most offered."""
    rng = np.random.default_rng(11)
    n = 4000
    score = rng.uniform(20, 100, n)
    offered = score >= 60
    took = np.where(offered, rng.random(n) < 0.8, rng.random(n) < 0.1).astype(float)
    left = (rng.random(n) < 0.05 + 0.002 * (score - 60) - 0.04 * took).astype(float)
    return pd.DataFrame({"s1": score, "supported": took, "left_early": left})


@pytest.mark.parametrize("kernel", ["triangular", "uniform"])
def test_fuzzy_rd_equals_weighted_iv2sls_within_the_bandwidth(fuzzy, kernel):
    c, h = 60.0, 12.0
    ours = rd(fuzzy, outcome="left_early", running="s1", cutoff=c, treatment="supported", bandwidth=h, kernel=kernel)
    u = (fuzzy["s1"] - c) / h
    w = np.where(np.abs(u) <= 1, 1 - np.abs(u) if kernel == "triangular" else 1.0, 0.0)
    local = fuzzy.assign(xc=fuzzy["s1"] - c, z=(fuzzy["s1"] >= c).astype(float), w=w)[w > 0]
    local = local.assign(const=1.0, xz=local["xc"] * local["z"])
    iv = IV2SLS(local["left_early"], local[["const", "xc", "xz"]], local["supported"], local[["z"]],
                weights=local["w"]).fit(cov_type="robust")
    first = IV2SLS(local["supported"], local[["const", "z", "xc", "xz"]], None, None,
                   weights=local["w"]).fit(cov_type="robust")
    assert ours.conventional.estimate == pytest.approx(float(iv.params["supported"]), rel=1e-9)
    assert ours.first_stage.estimate == pytest.approx(float(first.params["z"]), rel=1e-9)
    assert ours.n["effective_left"] + ours.n["effective_right"] == int((np.abs(u) <= 1).sum())
