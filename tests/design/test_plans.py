"""evaltools.design.plans against PowerUp!'s published worked examples (Dong & Maynard 2013)
and the PowerUpR documentation's cross-checks (Bulus, Dong, Kelcey & Spybrook)."""
from __future__ import annotations

import pytest

from evaltools.design import design, mdes, power, sample_size
from evaltools.design.plans import DesignInputError
from evaltools.inference import mdes as inference_mdes

# (design, inputs, published MDES to 3 decimals, source)
PUBLISHED = [
    ("individual", dict(n=250), 0.356, "PowerUpR mdes.ira(n=250)"),
    ("individual", dict(n=400), 0.281, "Dong & Maynard IRA, n=400"),
    ("blocked_individual", dict(n=55, J=14, blocks="constant"), 0.202, "Dong & Maynard BIRA2_1c"),
    ("blocked_individual", dict(n=15, J=20, blocks="constant"), 0.325, "PowerUpR mdes.bira2c1"),
    ("blocked_individual", dict(n=15, J=20, blocks="fixed"), 0.325, "PowerUpR mdes.bira2f1"),
    ("blocked_individual", dict(n=55, J=3, r2_1=0.5, blocks="fixed"), 0.310, "Dong & Maynard BIRA2_1f"),
    ("blocked_individual", dict(n=15, J=20, rho2=0.17, omega=0.5, blocks="random"), 0.366, "PowerUpR mdes.bira2"),
    ("cluster2", dict(n=15, J=20, rho2=0.17), 0.629, "PowerUpR mdes.cra2"),
    ("blocked_cluster", dict(n=20, J=44, K=5, rho2=0.10, blocks="fixed"), 0.145, "PowerUpR mdes.bcra3f2"),
    ("blocked_cluster", dict(n=10, J=6, K=24, rho2=0.10, rho3=0.13, omega=0.4, blocks="random"), 0.246,
     "PowerUpR mdes.bcra3r2"),
    ("cluster3", dict(n=15, J=3, K=60, rho2=0.17, rho3=0.06), 0.269, "PowerUpR mdes.cra3"),
]


@pytest.mark.parametrize("name, inputs, published, source", PUBLISHED, ids=[p[3] for p in PUBLISHED])
def test_mdes_matches_the_published_value(name, inputs, published, source):
    ours = mdes(design(name, **inputs)).mdes
    assert abs(ours - published) <= 0.0005 + 1e-9  # the published value is rounded to 3 decimals


@pytest.mark.parametrize("name, inputs, published, source", PUBLISHED, ids=[p[3] for p in PUBLISHED])
def test_power_at_the_published_mdes_is_80_percent(name, inputs, published, source):
    # PowerUpR's power cross-check at the published (rounded) MDES gives 0.80 to 2 decimals
    assert round(power(design(name, **inputs), effect=published).power, 2) == 0.80


@pytest.mark.parametrize("name, inputs, solved, es, published", [
    ("cluster2", dict(n=15, rho2=0.17), "J", 0.629, 20),                                  # mrss.cra2
    ("blocked_individual", dict(n=15, rho2=0.17, omega=0.5, blocks="random"), "J", 0.366, 20),  # mrss.bira2
    ("blocked_cluster", dict(n=10, J=6, rho2=0.10, rho3=0.13, omega=0.4, blocks="random"), "K", 0.246, 24),
])
def test_sample_size_matches_powerupr_mrss(name, inputs, solved, es, published):
    base = design(name, need_top=False, **inputs)
    # the published effect is rounded to 3 decimals: any effect in its rounding interval needs `published` units
    got = sample_size(base, effect=es + 0.0005)
    assert getattr(got.design, solved) == published
    # and the solver is exact: just below the MDES of `published` units, one more unit is needed
    exact = mdes(base.with_top(published)).mdes
    assert getattr(sample_size(base, effect=exact * (1 + 1e-9)).design, solved) == published
    assert getattr(sample_size(base, effect=exact * (1 - 1e-6)).design, solved) == published + 1


def test_degrees_of_freedom_follow_dong_maynard():
    assert design("blocked_individual", n=15, J=20, blocks="constant").df() == 15 * 20 - 20 - 0 - 1
    assert design("blocked_individual", n=15, J=20, blocks="fixed", g=2).df() == 20 * 13 - 2
    assert design("blocked_individual", n=15, J=20, rho2=.2, blocks="random", g=1).df() == 18
    assert design("blocked_cluster", n=20, J=6, K=5, rho2=.1).df() == 5 * 4
    assert design("cluster3", n=15, J=3, K=60, rho2=.17, rho3=.06, g=1).df() == 57


def test_the_three_inherited_designs_are_the_inference_formulas():
    # one implementation: evaltools.inference.mdes and the design layer give the same numbers
    kw = dict(n=25, J=40, rho2=0.2, r2_1=0.4, r2_2=0.5, g=1)
    ours = mdes(design("cluster2", **kw)).mdes
    theirs = inference_mdes("cluster2", n_clusters=40, cluster_size=25, icc=0.2, r2_1=0.4, r2_2=0.5, covariates=1).mdes
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_blocking_with_fixed_municipalities_beats_cluster_randomisation_when_municipalities_differ():
    # same schools and pupils; 3-level CRA randomises 10 municipalities, BCRA3_2f 60 schools in 10 blocks
    cra3 = mdes(design("cluster3", n=20, J=6, K=10, rho2=0.1, rho3=0.1)).mdes
    bcra = mdes(design("blocked_cluster", n=20, J=6, K=10, rho2=0.1)).mdes
    assert bcra < cra3


def test_plain_language_sentence_names_the_sample_and_the_effect():
    r = mdes(design("cluster2", n=20, J=40, rho2=0.15))
    text = r.sentence()
    assert "40 schools with 800 pupils" in text and f"{r.mdes:.2f} SD" in text and "80%" in text


@pytest.mark.parametrize("name, inputs, fragment", [
    ("cluster2", dict(n=20), "'J'"),
    ("cluster2", dict(n=20, J=30), "'rho2'"),
    ("individual", dict(n=100, J=4), "'J'"),
    ("blocked_cluster", dict(n=20, J=5, K=4, rho2=.1, blocks="random"), "'rho3'"),
    ("blocked_individual", dict(n=20, J=5, blocks="mixed"), "blocks"),
    ("cluster2", dict(n=20, J=3, rho2=.1, g=1), "degrees of freedom"),
    ("cluster3", dict(n=20, J=3, K=20, rho2=.5, rho3=.5), "below 1"),
    ("triple", dict(n=20), "Unknown design"),
])
def test_bad_inputs_say_what_and_how(name, inputs, fragment):
    with pytest.raises(DesignInputError) as err:
        design(name, **inputs)
    assert fragment in str(err.value)
