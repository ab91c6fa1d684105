"""Where R's reference packages differ from our default by definition, the option that
gives R's convention reproduces R (docs/r_conventions.md).

References in tests/fixtures/r_reference/, written by the R scripts there: lme4
1.1-31 (lmm_reference.R), survival 3.5-3 and pwr 1.3-0 (conventions_reference.R).
The within-arm Mahalanobis covariance (MatchIt) is tested in test_matching_ties.py.
"""
from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from evaltools.estimate import kaplan_meier, multilevel
from evaltools.inference.power_analysis import sample_size
from tests import FIXTURES

REF = FIXTURES / "r_reference"
TERMS = {"(Intercept)": "Intercept", "x": "x", "t": "t"}

KM = {"a": ([1, 2, 3, 4, 5, 6], [1] * 6),
      "b": (list(range(1, 21)), [1] * 20),
      "c": ([1, 2, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 1, 0, 1, 1, 1, 0, 1, 1]),
      "d": ([2, 2, 3, 5, 5, 7, 8, 8, 9, 12, 12, 15], [1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1])}


@pytest.mark.parametrize("reml", [True, False])
def test_lme4_fixed_effect_ses(reml):
    d = pd.read_csv(REF / "lmm_small.csv")
    ref = pd.read_csv(REF / "lmm_reference.csv")
    ref = ref[ref.reml == reml].set_index("term")
    ours = multilevel(d, "y ~ x + t", "school", reml=reml, fixed_se="lme4").fixed
    default = multilevel(d, "y ~ x + t", "school", reml=reml).fixed
    for r_term, term in TERMS.items():  # both fits stop an optimiser (of lambda) at ~1e-8: agree to 1e-6
        assert ours.loc[term, "coef"] == pytest.approx(ref.loc[r_term, "estimate"], rel=1e-6)
        assert ours.loc[term, "se"] == pytest.approx(ref.loc[r_term, "se"], rel=1e-6)
    # the default (statsmodels MixedLM's inverse Hessian) is a different, slightly larger number
    assert default.loc["x", "se"] > ours.loc["x", "se"] * 1.001


def test_lme4_option_needs_the_fast_engine():
    d = pd.read_csv(REF / "lmm_small.csv")
    with pytest.raises(ValueError, match="random-intercept"):
        multilevel(d, "y ~ x", "school", slopes=["x"], fixed_se="lme4")


@pytest.mark.parametrize("case", list(KM))
def test_kaplan_meier_median_midpoint_matches_r(case):
    t, e = KM[case]
    ref = pd.read_csv(REF / "km_reference.csv").set_index("case").loc[case]
    m = kaplan_meier(pd.DataFrame({"t": t, "e": e}), "t", "e", median="midpoint").medians.iloc[0]
    assert m["median"] == ref["median"]
    assert m["ci_low"] == ref["lcl"]


def test_kaplan_meier_median_default_is_the_first_time_at_half():
    """S = 0.5 exactly at t = 3 (a product of fractions that rounds to 0.5 + 1e-16): the first time
    at or below 0.5 is 3, not 4; R's midpoint of the flat stretch [3, 4) is 3.5."""
    d = pd.DataFrame({"t": KM["a"][0], "e": KM["a"][1]})
    assert kaplan_meier(d, "t", "e").medians.iloc[0]["median"] == 3
    assert kaplan_meier(d, "t", "e", median="midpoint").medians.iloc[0]["median"] == 3.5
    with pytest.raises(ValueError, match="median must be"):
        kaplan_meier(d, "t", "e", median="mean")


@pytest.mark.parametrize("effect", [0.2, 0.25, 0.3, 0.5, 0.8])
def test_sample_size_per_arm_matches_pwr(effect):
    ref = pd.read_csv(REF / "pwr_reference.csv").set_index("effect").loc[effect, "n_per_group"]
    r = sample_size(effect=effect, method="noncentral", round_up="per_arm")
    assert r.sizes["treated"] == r.sizes["control"] == math.ceil(ref)
    assert r.sizes["n"] == 2 * math.ceil(ref)
    assert r.power >= 0.8
    total = sample_size(effect=effect, method="noncentral")
    assert total.sizes["n"] in (2 * math.ceil(ref) - 1, 2 * math.ceil(ref))  # PowerUpR's whole total


def test_sample_size_per_arm_with_unequal_allocation():
    r = sample_size("cluster2", effect=0.25, icc=0.2, cluster_size=20, p=0.4, round_up="per_arm")
    n1, n0 = r.sizes["treated"], r.sizes["control"]
    assert n1 + n0 == r.sizes["n_clusters"] and r.parameters["p"] == pytest.approx(n1 / (n1 + n0))
    assert r.power >= 0.8
    # the arms are the exact (fractional) solution split 40:60, each rounded up
    from scipy import optimize

    from evaltools.inference.power_analysis import power as power_of

    def gap(x):
        return float(power_of("cluster2", effect=0.25, icc=0.2, cluster_size=20, n_clusters=x, p=0.4,
                              method="multiplier")) - 0.8

    exact = optimize.brentq(gap, 10, 1000, xtol=1e-10)
    assert (n1, n0) == (math.ceil(0.4 * exact), math.ceil(0.6 * exact))
    with pytest.raises(ValueError, match="round_up"):
        sample_size(effect=0.3, round_up="per_group")


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed (apt-get install r-base-core "
                    "r-cran-lme4 r-cran-survival r-cran-pwr); the stored reference values are checked above")
def test_r_references_are_current(tmp_path):
    for f in ["lmm_small.csv", "lmm_reference.R", "conventions_reference.R"]:
        shutil.copy(REF / f, tmp_path / f)
    for script in ["lmm_reference.R", "conventions_reference.R"]:
        run = subprocess.run(["Rscript", script], cwd=tmp_path, capture_output=True, text=True)
        if "there is no package called" in run.stderr:
            pytest.skip(f"an R package used by {script} is not installed")
        assert run.returncode == 0, run.stderr
    for out in ["lmm_reference.csv", "km_reference.csv", "pwr_reference.csv"]:
        new, old = pd.read_csv(tmp_path / out), pd.read_csv(REF / out)
        num = new.select_dtypes("number").columns
        np.testing.assert_allclose(new[num].to_numpy(float), old[num].to_numpy(float), rtol=1e-10)
