"""Tests of person_period, discrete_time_hazard and cumulative_incidence: known truth on
simulated pupil-years (logit and grouped continuous-time PH data), statsmodels and pyfixest
references, a numerical check of the delta method, output and error messages."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st

from evaltools.estimate import discrete_time_hazard, person_period
from tests import ROOT

ALPHA = np.linspace(-3.0, -2.0, 8)  # baseline logit/cloglog hazard of grades 1..8


def _hazard(eta: np.ndarray, link: str) -> np.ndarray:
    return 1 / (1 + np.exp(-eta)) if link == "logit" else -np.expm1(-np.exp(eta))


def _spells(seed: int = 0, n: int = 4000, tau: float = -0.5, beta: float = 0.5, link: str = "logit",
            n_schools: int = 40, tau_z: float = 0.0) -> tuple[pd.DataFrame, float, float]:
    """One row per pupil: grades 1..8 at risk, leaving drawn from the discrete hazard.

    Returns the spells and the true cumulative incidence by grade 8 with d = 1 and d = 0,
    averaged over the simulated pupils' covariates.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    d = (rng.random(n) < 0.4).astype(int)
    school = rng.integers(0, n_schools, n)

    def eta(dd: np.ndarray | int) -> np.ndarray:
        return ALPHA[None, :] + (beta * x + (tau + tau_z * z) * dd)[:, None]

    h = _hazard(eta(d), link)
    ev = rng.random(h.shape) < h
    event = ev.any(axis=1)
    stop = np.where(event, ev.argmax(axis=1) + 1, 8)
    spells = pd.DataFrame({"pupil": [f"P{i:05d}" for i in range(n)], "start": 1, "stop": stop,
                           "left": event.astype(int), "x": x, "z": z, "d": d, "school": school})
    truth = [float(np.mean(1 - np.prod(1 - _hazard(eta(v), link), axis=1))) for v in (1, 0)]
    return spells, truth[0], truth[1]


def _pupil_years(**kwargs) -> tuple[pd.DataFrame, float, float]:
    sp, f1, f0 = _spells(**kwargs)
    pp = person_period(sp, "pupil", "stop", "left", entry="start", time="grade", keep=["x", "z", "d", "school"])
    return pp, f1, f0


# --------------------------------------------------------------------------- person_period
def test_person_period_equals_a_loop_expansion() -> None:
    sp = pd.DataFrame({"id": ["a", "b", "c"], "first": [5, 7, 9], "last": [8, 7, 12], "left": [1, 0, 0],
                       "sex": ["F", "M", "F"]})
    pp = person_period(sp, "id", "last", "left", entry="first", time="grade", keep="sex")
    rows = []
    for _, r in sp.iterrows():
        for g in range(r["first"], r["last"] + 1):
            rows.append({"id": r["id"], "grade": g, "left": int(r["left"] == 1 and g == r["last"]), "sex": r["sex"]})
    pd.testing.assert_frame_equal(pp, pd.DataFrame(rows), check_dtype=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 12), st.integers(0, 6), st.booleans()), min_size=1, max_size=30))
def test_person_period_round_trips_to_the_spells(spells) -> None:
    sp = pd.DataFrame({"id": range(len(spells)), "start": [a for a, _, _ in spells],
                       "stop": [a + k for a, k, _ in spells], "event": [int(e) for _, _, e in spells]})
    pp = person_period(sp, "id", "stop", "event", entry="start")
    assert len(pp) == int((sp["stop"] - sp["start"] + 1).sum())
    back = pp.groupby("id").agg(start=("period", "min"), stop=("period", "max"), event=("event", "sum"),
                                rows=("period", "size"))
    pd.testing.assert_frame_equal(back[["start", "stop", "event"]].reset_index(), sp, check_dtype=False)
    assert (back["rows"] == back["stop"] - back["start"] + 1).all()  # consecutive periods, no gaps
    last = pp.groupby("id")["period"].transform("max") == pp["period"]
    assert (pp.loc[~last, "event"] == 0).all()


@pytest.mark.parametrize("change, words", [
    (lambda d: d.assign(last=[4, 7, 12]), "ends .* before it starts"),
    (lambda d: d.assign(id=["a", "a", "c"]), "'a' appears more than once"),
    (lambda d: d.assign(first=[5.5, 7, 9]), "whole-number periods; row 0"),
    (lambda d: d.assign(left=[1, 2, 0]), "event column 'left' must hold only 0/1"),
])
def test_person_period_errors(change, words) -> None:
    sp = pd.DataFrame({"id": ["a", "b", "c"], "first": [5, 7, 9], "last": [8, 7, 12], "left": [1, 0, 0]})
    with pytest.raises(ValueError, match=words):
        person_period(change(sp), "id", "last", "left", entry="first")


# --------------------------------------------------------------------------- known truth
def test_logit_recovers_the_odds_ratio_and_the_cumulative_effect() -> None:
    # seed 1: with seed 0 the x coefficient (0.566, SE 0.021) misses 0.5; over seeds 0-19 its mean is
    # 0.504 and 17/20 CIs cover. Coverage over many seeds is the slow Monte Carlo test below.
    pp, f1, f0 = _pupil_years(seed=1, tau=-0.5)
    res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d", cluster="school")
    assert res.estimate.ci_low < -0.5 < res.estimate.ci_high
    assert res.ratio.ci_low < np.exp(-0.5) < res.ratio.ci_high
    assert res.table.loc["x", "ci_low"] < 0.5 < res.table.loc["x", "ci_high"]
    ci = res.cumulative_incidence()
    assert ci.treated.ci_low < f1 < ci.treated.ci_high
    assert ci.untreated.ci_low < f0 < ci.untreated.ci_high
    assert ci.difference.ci_low < f1 - f0 < ci.difference.ci_high and ci.difference.ci_high < 0
    assert ci.difference.estimate == pytest.approx(ci.treated.estimate - ci.untreated.estimate)


def test_null_treatment_is_not_rejected() -> None:
    pp, _, _ = _pupil_years(seed=11, tau=0.0)
    res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d")
    assert res.estimate.pvalue > 0.05
    assert res.cumulative_incidence().difference.ci_low < 0 < res.cumulative_incidence().difference.ci_high


def test_cloglog_on_grouped_continuous_time_recovers_the_ph_coefficient() -> None:
    """Weibull proportional hazards in continuous time, observed only as the year of the event."""
    rng = np.random.default_rng(3)
    n, beta_d, beta_x = 5000, -0.4, 0.6
    x, d = rng.normal(size=n), (rng.random(n) < 0.5).astype(int)
    # S(t | x) = exp(-(t / 12)^1.5 * exp(beta'x)): invert a uniform
    t_event = 12 * (-np.log(rng.random(n)) / np.exp(beta_d * d + beta_x * x)) ** (1 / 1.5)
    year = np.floor(t_event).astype(int) + 1  # the event happens during year k = [k-1, k)
    spells = pd.DataFrame({"id": np.arange(n), "start": 1, "stop": np.minimum(year, 8),
                           "event": (year <= 8).astype(int), "x": x, "d": d})
    pp = person_period(spells, "id", "stop", "event", entry="start", time="year", keep=["x", "d"])
    res = discrete_time_hazard(pp, "id", "year", "event", covariates="x", treatment="d", link="cloglog")
    assert res.estimate.ci_low < beta_d < res.estimate.ci_high
    assert res.table.loc["x", "ci_low"] < beta_x < res.table.loc["x", "ci_high"]
    # the logit of the same data estimates a different (odds-ratio) parameter, further from beta
    logit = discrete_time_hazard(pp, "id", "year", "event", covariates="x", treatment="d", link="logit")
    assert abs(logit.table.loc["x", "coef"] - beta_x) > abs(res.table.loc["x", "coef"] - beta_x)


def test_treatment_interactions_recover_the_effect_modification() -> None:
    pp, f1, f0 = _pupil_years(seed=5, n=6000, tau=-0.6, tau_z=-0.3)
    res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates=["x", "z"], treatment="d", interactions="z")
    assert list(res.table.index[-4:]) == ["x", "z", "d", "d:z"]
    assert res.estimate.ci_low < -0.6 < res.estimate.ci_high
    row = res.table.loc["d:z"]
    assert row["ci_low"] < -0.3 < row["ci_high"]
    ci = res.cumulative_incidence()
    assert ci.difference.ci_low < f1 - f0 < ci.difference.ci_high


# --------------------------------------------------------------------------- references
def test_coefficients_and_cluster_ses_equal_statsmodels_glm() -> None:
    pp, _, _ = _pupil_years(n=2000)
    for link, sm_link in (("logit", sm.families.links.Logit()), ("cloglog", sm.families.links.CLogLog())):
        ref = smf.glm("left ~ 0 + C(grade) + x + d", pp, family=sm.families.Binomial(sm_link)).fit(
            cov_type="cluster", cov_kwds={"groups": pp["school"]}, tol=1e-12)
        for engine in ("irls", "statsmodels"):
            res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d", cluster="school",
                                       link=link, engine=engine)
            np.testing.assert_allclose(res.table["coef"].to_numpy(), ref.params.to_numpy(), rtol=1e-7)
            np.testing.assert_allclose(res.table["se"].to_numpy(), ref.bse.to_numpy(), rtol=1e-7)
            np.testing.assert_allclose(res.table["ci_low"].to_numpy(), ref.conf_int()[0].to_numpy(), rtol=1e-7)
            np.testing.assert_allclose(res.table["pvalue"].to_numpy(), ref.pvalues.to_numpy(), rtol=1e-5)
            assert res.n["clusters"] == 40


def test_logit_coefficients_and_cluster_ses_equal_pyfixest_feglm() -> None:
    import pyfixest as pf

    pp, _, _ = _pupil_years(n=2000)
    res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d", cluster="school")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feglm("left ~ x + d + C(grade)", pp, family="logit", vcov={"CRV1": "school"}, iwls_tol=1e-12)
    coef, se = ref.coef(), ref.se()  # pyfixest's default IWLS tolerance (1e-8) moves SEs by ~1e-5
    for term in ("x", "d"):
        assert res.table.loc[term, "coef"] == pytest.approx(coef[term], rel=1e-6)
        assert res.table.loc[term, "se"] == pytest.approx(se[term], rel=1e-6)


def test_delta_method_equals_a_numerical_gradient_through_statsmodels_predict() -> None:
    pp, _, _ = _pupil_years(n=1500)
    res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d", link="cloglog",
                               cluster="school")
    ci = res.cumulative_incidence()
    first = pp.sort_values(["pupil", "grade"]).groupby("pupil").first().reset_index()
    theta0 = res.params.to_numpy()
    inverse_link = sm.families.links.CLogLog().inverse

    def cif(theta: np.ndarray, d: int) -> float:
        grid = first.loc[first.index.repeat(8), ["pupil", "x"]].assign(grade=np.tile(np.arange(1, 9), len(first)))
        exog = pd.get_dummies(grid["grade"]).astype(float).assign(x=grid["x"].to_numpy(), d=float(d)).to_numpy()
        h = inverse_link(exog @ theta)
        surv = np.exp(pd.Series(np.log1p(-h)).groupby(grid["pupil"].to_numpy()).sum())
        return float(np.mean(1 - surv))

    def grad(d_fn) -> np.ndarray:
        g = np.zeros_like(theta0)
        for k in range(len(theta0)):
            e = np.zeros_like(theta0)
            e[k] = 1e-6
            g[k] = (d_fn(theta0 + e) - d_fn(theta0 - e)) / 2e-6
        return g

    diff = lambda th: cif(th, 1) - cif(th, 0)  # noqa: E731
    assert ci.treated.estimate == pytest.approx(cif(theta0, 1), rel=1e-10)
    assert ci.difference.estimate == pytest.approx(diff(theta0), rel=1e-10)
    g = grad(diff)
    se = float(np.sqrt(g @ res.cov.to_numpy() @ g))
    assert ci.difference.se == pytest.approx(se, rel=1e-5)


def test_cluster_bootstrap_agrees_with_the_delta_method_and_covers_the_truth() -> None:
    pp, f1, f0 = _pupil_years(seed=1, n=3000)
    res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d", cluster="school")
    delta = res.cumulative_incidence()
    boot = res.cumulative_incidence(method="bootstrap", n_boot=199, seed=7)
    assert boot.difference.estimate == delta.difference.estimate
    assert 0.75 < boot.difference.se / delta.difference.se < 1.33
    assert boot.difference.ci_low < f1 - f0 < boot.difference.ci_high
    assert boot.difference.ci_low < boot.difference.estimate < boot.difference.ci_high
    again = res.cumulative_incidence(method="bootstrap", n_boot=199, seed=7)
    assert again.difference.se == boot.difference.se and again.difference.ci_low == boot.difference.ci_low
    assert "cluster bootstrap (school), 199 draws" in repr(boot)
    with pytest.raises(ValueError, match="method must be one of 'delta', 'bootstrap' \\(any case\\)"):
        res.cumulative_incidence(method="jackknife")
    with pytest.raises(ValueError, match="n_boot must be an integer of at least 50"):
        res.cumulative_incidence(method="bootstrap", n_boot=10)


def test_polynomial_baseline_and_treated_population() -> None:
    pp, _, _ = _pupil_years(n=2000)
    res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d", baseline=1)
    assert list(res.table.index[:2]) == ["intercept", "(grade-4.5)^1"]
    ref = smf.glm("left ~ I(grade - 4.5) + x + d", pp, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(pp["pupil"])[0]})
    np.testing.assert_allclose(res.table["coef"].to_numpy(), ref.params.to_numpy(), rtol=1e-7)
    all_, treated = res.cumulative_incidence(), res.cumulative_incidence(among="treated")
    assert treated.treated.n["units"] == int(pp.groupby("pupil")["d"].max().sum()) < all_.treated.n["units"]
    three = res.cumulative_incidence(periods=[1, 2, 3])
    assert three.treated.estimate < all_.treated.estimate


# --------------------------------------------------------------------------- output and errors
def test_repr_to_frame_to_dict() -> None:
    pp, _, _ = _pupil_years(n=1500)
    res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d", cluster="school")
    text = repr(res)
    assert "Discrete-time hazard model (logit link)" in text and "Treatment odds ratio" in text
    assert "period[" not in text  # baseline dummies are in the table, not the printout
    assert res.to_frame().shape[0] == 10 and "exp_coef" in res.to_frame()
    ci = res.cumulative_incidence()
    assert "Cumulative incidence by the end of period 8" in repr(ci) and ci.to_frame().shape[0] == 3
    json.dumps(res.to_dict())
    json.dumps(ci.to_dict())


def test_incidence_curve_rises_to_the_cumulative_incidence_and_plots() -> None:
    import matplotlib

    matplotlib.use("Agg")
    pp, _, _ = _pupil_years(n=1500)
    res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d")
    curve = res.incidence_curve()
    assert curve.shape == (24, 6) and curve["period"].iloc[-1] == 8
    for arm in ("with treatment", "without treatment"):
        assert curve.loc[curve["arm"] == arm, "estimate"].is_monotonic_increasing
    final = res.cumulative_incidence()
    last = curve[curve["period"] == 8].set_index("arm")
    assert last.loc["difference", "estimate"] == pytest.approx(final.difference.estimate)
    assert last.loc["with treatment", "ci_high"] == pytest.approx(final.treated.ci_high)
    # after one period the cumulative incidence is the first-period hazard averaged over pupils
    first = curve[(curve["period"] == 1) & (curve["arm"] == "without treatment")]["estimate"].iloc[0]
    eta = res.params["period[1]"] + res.params["x"] * pp.groupby("pupil")["x"].first()
    assert first == pytest.approx(float(np.mean(1 / (1 + np.exp(-eta)))))
    ax = res.plot_incidence()
    assert len(ax.lines) == 2 and ax.get_xlabel() == "grade"


def _pp_small() -> pd.DataFrame:
    return _pupil_years(n=600)[0]


@pytest.mark.parametrize("change, kwargs, error, words", [
    (lambda d: d, {"link": "probit"}, ValueError, "link must be one of 'logit', 'cloglog'"),
    (lambda d: d, {"covariates": "nope"}, KeyError, "covariate column 'nope'"),
    (lambda d: d.assign(d=d["d"] * 3), {}, ValueError, "treatment column 'd' must hold only 0/1"),
    (lambda d: d.assign(left=1), {}, ValueError, "events; a unit leaves the risk set"),
    (lambda d: d.assign(left=np.where(d["grade"] == 1, 1, 0)), {}, ValueError, "has rows after its event"),
    (lambda d: d.assign(left=np.where(d["grade"] == 3, 0, d["left"])), {}, ValueError, "No events in grade 3"),
    (lambda d: d.assign(x2=2 * d["x"]), {"covariates": ["x", "x2"]}, ValueError, "collinear"),
    (lambda d: d.assign(x=d["x"].astype(str)), {}, ValueError, "covariate column 'x' must be numeric"),
    (lambda d: d, {"baseline": "spline"}, ValueError, "baseline must be 'dummies'"),
    (lambda d: d, {"engine": "R"}, ValueError, "engine must be one of 'irls', 'statsmodels'"),
])
def test_bad_input_raises_clear_errors(change, kwargs, error, words) -> None:
    args = {"covariates": "x", "treatment": "d"} | kwargs
    with pytest.raises(error, match=words):
        discrete_time_hazard(change(_pp_small()), "pupil", "grade", "left", **args)


def test_cumulative_incidence_needs_a_treatment() -> None:
    res = discrete_time_hazard(_pp_small(), "pupil", "grade", "left", covariates="x")
    assert res.estimate is None and res.ratio is None
    with pytest.raises(ValueError, match="needs a treatment"):
        res.cumulative_incidence()


@pytest.mark.slow  # Monte Carlo
def test_delta_method_ci_of_the_cumulative_effect_has_nominal_coverage() -> None:
    """Monte Carlo: 200 samples of 1,500 pupils; 95 % CIs should cover in 91-99 % of them.

    The cumulative-effect truth is that of each sample's own covariates (the delta method
    treats the covariate distribution as fixed)."""
    cover_diff = cover_or = cover_x = 0
    reps = 200
    for s in range(reps):
        pp, g1, g0 = _pupil_years(seed=1000 + s, n=1500)
        res = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d")
        ci = res.cumulative_incidence()
        cover_diff += ci.difference.ci_low < g1 - g0 < ci.difference.ci_high
        cover_or += res.estimate.ci_low < -0.5 < res.estimate.ci_high
        cover_x += res.table.loc["x", "ci_low"] < 0.5 < res.table.loc["x", "ci_high"]
    assert 0.91 <= cover_diff / reps <= 0.99
    assert 0.91 <= cover_or / reps <= 0.99
    assert 0.91 <= cover_x / reps <= 0.99


# --------------------------------------------------------------------------- shipped sample data
def test_sample_data_fuzzy_rd_and_hazard_model_recover_the_stored_true_effects() -> None:
    """data/sample (evaltools.data.synth): the PUMPURS support effect on early leaving.

    The stored truth (true_effects.json, read here, not copied) is a logit hazard with
    log OR tau0 at the threshold, tau_score per 10 points above it and tau_years per year
    since roll-out; the fuzzy RD at the threshold recovers the realised effect at the
    threshold (probability scale) and the take-up jump.
    """
    from pathlib import Path

    from evaltools.data import load_dataset
    from evaltools.estimate import rd

    root = ROOT / "data" / "sample"
    ds = load_dataset(root, tables=["risk_scores", "support_plans", "pumpurs_schools"])
    effects = {e["name"]: e for e in json.loads((root / "true_effects.json").read_text(encoding="utf-8"))["effects"]}
    truth = effects["pumpurs_support_dropout"]
    par, real = truth["parameters"], truth["realised"]
    rs, py = ds["risk_scores"], ds["pupil_years"]
    d = rs[rs["semester"] == 1][["pupil_id", "year", "school_id", "score"]].merge(
        py, on=["pupil_id", "year", "school_id"], how="inner")
    d = d.merge(ds["support_plans"][["pupil_id", "year", "taken_up"]], on=["pupil_id", "year"], how="left")
    d = d.merge(ds["pumpurs_schools"], on="school_id")
    d = d[d["grade"] >= 5]  # the truth's population: grades 5-12 (grades 1-4 are served from 2021, not studied)
    d["D"] = d["taken_up"].astype("boolean").fillna(False).astype(int)
    d["left"] = (d["status"] == "left_early").astype(int)
    d["z"] = (d["score"] - 50) / 10
    d["zc"] = (d["score"] - par["threshold"]) / 10
    d["k"] = d["year"] - d["rollout_year"].astype(int)
    d["t"] = d["year"] - 2014

    haz = discrete_time_hazard(d, "pupil_id", "grade", "left", covariates=["t", "z"], treatment="D",
                               interactions=["zc", "k"], cluster="school_id")
    assert haz.estimate.ci_low < par["tau0"] < haz.estimate.ci_high
    for term, value in (("D:zc", par["tau_score"]), ("D:k", par["tau_years"]), ("z", par["beta_score"])):
        assert haz.table.loc[term, "ci_low"] < value < haz.table.loc[term, "ci_high"], term

    res = rd(d, "left", "score", cutoff=par["threshold"], treatment="D", cluster="school_id")
    assert res.estimate.ci_low < real["effect_at_threshold_probability"] < res.estimate.ci_high
    assert res.first_stage.ci_low < real["takeup_at_threshold"] < res.first_stage.ci_high
    assert res.density_test().pvalue > 0.05  # the generator does not let scores be manipulated


def test_separation_is_reported_as_non_convergence() -> None:
    pp = _pp_small()
    pp["sep"] = pp["left"].astype(float)  # a covariate that predicts the event perfectly
    for engine in ("irls", "statsmodels"):
        with pytest.raises(ValueError, match="did not converge .*separation"):
            discrete_time_hazard(pp, "pupil", "grade", "left", covariates=["x", "sep"], treatment="d", engine=engine)


# --------------------------------------------------------------------------- vocabulary (docs/api.md)
def test_old_argument_orders_still_work_with_a_warning() -> None:
    sp, _, _ = _spells(seed=5, n=800)
    new_pp = person_period(sp, "pupil", "stop", "left", entry="start", time="grade", keep=["x", "d", "school"])
    with pytest.warns(DeprecationWarning, match=r"person_period\(data, unit, start, stop, event"):
        old_pp = person_period(sp, "pupil", "start", "stop", "left", period="grade", keep=["x", "d", "school"])
    pd.testing.assert_frame_equal(old_pp, new_pp)
    new = discrete_time_hazard(new_pp, "pupil", "grade", "left", covariates="x", treatment="d", cluster="school")
    with pytest.warns(DeprecationWarning, match=r"discrete_time_hazard\(data, event, period, unit"):
        old = discrete_time_hazard(new_pp, "left", "grade", "pupil", covariates="x", treatment="d", cluster="school")
    with pytest.warns(DeprecationWarning, match="discrete_time_hazard"):
        positional = discrete_time_hazard(new_pp, "left", "grade", "pupil", "x", "d", "school")
    for res in (old, positional):
        pd.testing.assert_frame_equal(res.table, new.table, check_exact=True)
    with pytest.warns(DeprecationWarning, match=r"pass periods, among by keyword"):
        ci = new.cumulative_incidence(None, "treated")
    assert ci.difference.estimate == new.cumulative_incidence(among="treated").difference.estimate
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new forms warn about nothing
        discrete_time_hazard(new_pp, "pupil", "grade", "left", treatment="d")
        person_period(sp, "pupil", "stop", "left", entry="start")
    with pytest.raises(TypeError, match="entry"):
        person_period(sp, "pupil", "stop", "left")  # the new form without entry


def test_options_in_any_case_and_the_few_clusters_note() -> None:
    pp, _, _ = _pupil_years(seed=6, n=1500, n_schools=12)
    a = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d", cluster="school",
                             link="CLogLog", engine="IRLS")
    b = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d", cluster="school",
                             link="cloglog")
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    assert a.link == "cloglog"
    ci = a.cumulative_incidence(method="Delta", among="TREATED")
    assert ci.difference.options["among"] == "treated"
    for est in (a.estimate, a.ratio, ci.difference):
        info = est.diagnostics["few_clusters"]
        assert info["clusters"] == 12 and info["alternative"] is None and "CR2 is not offered" in info["note"]
    assert a.diagnostics["few_clusters"]["clusters"] == 12
    assert "Few clusters (12)" in a.summary() and "Few clusters (12)" in ci.summary()
    assert repr(a) == str(a.summary()) and repr(ci) == str(ci.summary())
    assert "<table" in a._repr_html_() and "Few clusters (12)" in ci._repr_html_()
    assert ci.estimate is ci.difference and ci.to_dict()["estimate"] == ci.difference.to_dict()
    many = discrete_time_hazard(pp, "pupil", "grade", "left", covariates="x", treatment="d")  # by pupil
    assert "few_clusters" not in many.estimate.diagnostics and many.diagnostics == {}
