"""Tests of evaltools.estimate.balance_table: statistics against direct numpy /
statsmodels computations, weighting, exports and the love plot."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evaltools.estimate import balance_table, match
from tests import FIXTURES


def simulate(n=600, seed=0):
    rng = np.random.default_rng(seed)
    school = rng.integers(0, 30, n)
    region = school % 5
    age = 30 + 5 * rng.normal(size=n) + 0.3 * school
    female = (rng.random(n) < 0.5).astype(int)
    w = (rng.random(n) < 1 / (1 + np.exp(-(age - 33) / 4))).astype(int)
    return pd.DataFrame({"w": w, "age": age, "female": female, "school": school, "region": region})


def test_statistics_match_direct_computation():
    d = simulate()
    b = balance_table(d, "w", ["age", "female"])
    t, c = d[d.w == 1], d[d.w == 0]
    row = b.table.loc["age"]
    assert row["n_t"] == len(t) and row["n_c"] == len(c)
    assert row["mean_t"] == pytest.approx(t.age.mean())
    assert row["sd_c"] == pytest.approx(c.age.std(ddof=1))
    nd = (t.age.mean() - c.age.mean()) / np.sqrt((t.age.var() + c.age.var()) / 2)
    assert row["norm_diff"] == pytest.approx(nd)
    assert row["var_ratio"] == pytest.approx(t.age.var() / c.age.var())
    ref = smf.ols("age ~ w", d).fit(cov_type="HC1")
    assert row["pvalue"] == pytest.approx(ref.pvalues["w"], rel=1e-3)
    assert row["pvalue"] < 0.01  # age drives selection
    # Joint orthogonality test: F-test of all slopes in w ~ covariates (HC1), as iebaltab.
    f = smf.ols("w ~ age + female", d).fit(cov_type="HC1").f_test("age = 0, female = 0")
    assert b.ftest["F"] == pytest.approx(float(np.squeeze(f.fvalue)), rel=1e-6)
    assert b.ftest["pvalue"] == pytest.approx(float(f.pvalue), rel=1e-4)


def test_fixed_effects_and_clusters_match_statsmodels_dummies():
    d = simulate(seed=1)
    b = balance_table(d, "w", ["age"], cluster="school", fixed_effects="region")
    ref = smf.ols("age ~ w + C(region)", d).fit(cov_type="cluster", cov_kwds={"groups": d["school"]}, use_t=True)
    # Same CR1 variance; pyfixest uses t(G-1) like Stata, statsmodels too with use_t.
    assert b.table.loc["age", "pvalue"] == pytest.approx(ref.pvalues["w"], rel=1e-3)
    unclustered = balance_table(d, "w", ["age"], fixed_effects="region")
    assert unclustered.table.loc["age", "pvalue"] != pytest.approx(b.table.loc["age", "pvalue"], rel=1e-3)


def test_weights_give_adjusted_columns_and_better_balance():
    d = simulate(n=2000, seed=2)
    m = match(d.assign(y=0.0), "y", "w", ["age", "female"], distance="mahalanobis")
    b = balance_table(d, "w", ["age", "female"], weights=m.weights)
    assert b.adjusted is not None and b.ftest_adjusted is not None
    assert abs(b.adjusted.loc["age", "norm_diff"]) < abs(b.table.loc["age", "norm_diff"]) / 4
    assert b.max_abs_norm_diff() < 0.1 < b.max_abs_norm_diff(adjusted=False)
    # Weighted means are np.average with the weights.
    wc = m.weights[d.w == 0]
    assert b.adjusted.loc["age", "mean_c"] == pytest.approx(np.average(d.loc[d.w == 0, "age"], weights=wc))
    # Before/after are on one scale: the adjusted normalised difference uses the unadjusted SDs.
    sd = np.sqrt((b.table.loc["age", "sd_t"] ** 2 + b.table.loc["age", "sd_c"] ** 2) / 2)
    assert b.adjusted.loc["age", "norm_diff"] == pytest.approx(b.adjusted.loc["age", "diff"] / sd)
    assert b.to_frame().columns.nlevels == 2
    # A column name works as weights too.
    b2 = balance_table(d.assign(mw=m.weights), "w", ["age", "female"], weights="mw")
    pd.testing.assert_frame_equal(b.adjusted, b2.adjusted)


def test_any_column_names_work():
    d = simulate(seed=4).rename(columns={"age": "age (years)", "w": "in programme", "school": "school id"})
    b = balance_table(d, "in programme", ["age (years)", "female"], cluster="school id", fixed_effects="region")
    assert list(b.table.index) == ["age (years)", "female"]
    ref = balance_table(simulate(seed=4), "w", ["age", "female"], cluster="school", fixed_effects="region")
    assert np.allclose(b.table.to_numpy(float), ref.table.to_numpy(float), equal_nan=True)
    assert b.ftest == ref.ftest


def test_exports_and_love_plot(tmp_path):
    d = simulate(seed=3)
    b = balance_table(d, "w", ["age", "female"], weights=np.ones(len(d)))
    csv = b.to_csv(tmp_path / "bal.csv")
    text = csv.read_text()
    assert "age" in text and "joint F-test" in text
    xl = b.to_excel(tmp_path / "bal.xlsx")
    sheets = pd.read_excel(xl, sheet_name=None)
    assert set(sheets) == {"balance", "joint F-test"}
    tex = b.to_latex(tmp_path / "bal.tex")
    assert "\\begin{tabular}" in tex and (tmp_path / "bal.tex").exists()
    ax = b.love_plot()
    assert len(ax.collections) == 2  # unadjusted and adjusted markers
    assert [t.get_text() for t in ax.get_yticklabels()] == ["age", "female"]
    assert "Joint F-test" in repr(b)


def test_clear_errors():
    d = simulate()
    with pytest.raises(KeyError, match="covariate"):
        balance_table(d, "w", ["height"])
    with pytest.raises(ValueError, match="numeric"):
        balance_table(d.assign(s=d.school.astype(str)), "w", ["s"])
    with pytest.raises(ValueError, match="rows"):
        balance_table(d, "w", ["age"], weights=np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        balance_table(d, "w", ["age"], weights=-np.ones(len(d)))
    with pytest.raises(KeyError, match="fixed-effect/cluster"):
        balance_table(d, "w", ["age"], cluster="class")


# --------------------------------------------------------------------------- CR2, vocabulary
REF = FIXTURES / "r_reference"


def test_cr2_pvalues_match_r_clubsandwich():
    """balance_table(vcov="CR2") against clubSandwich's coef_test (balance_reference.R)."""
    d = pd.read_csv(REF / "balance_small.csv")
    ref = pd.read_csv(REF / "balance_reference.csv").set_index(["case", "covariate"])["p"]
    plain = balance_table(d, "d", ["x1", "x2"], cluster="g", vcov="cr2")  # any case
    weighted = balance_table(d, "d", ["x1", "x2"], cluster="g", weights="w", vcov="CR2")
    fixed = balance_table(d, "d", ["x1", "x2"], cluster="g", fixed_effects="region", vcov="CR2")
    for case, table in (("plain", plain.table), ("weighted", weighted.adjusted), ("fixed_effects", fixed.table)):
        for cov in ("x1", "x2"):
            assert table.loc[cov, "pvalue"] == pytest.approx(ref[(case, cov)], rel=1e-8), (case, cov)
    cr1 = balance_table(d, "d", ["x1", "x2"], cluster="g")
    assert cr1.table.loc["x1", "pvalue"] != pytest.approx(plain.table.loc["x1", "pvalue"], rel=1e-3)
    # everything but the p-values is the same
    pd.testing.assert_frame_equal(cr1.table.drop(columns="pvalue"), plain.table.drop(columns="pvalue"))
    assert plain.options["vcov"] == "CR2" and cr1.options["vcov"] == "CR1"
    # the joint test: Wald F of the CR2 covariance on F(q, G - 1)
    assert plain.ftest["df_num"] == 2 and plain.ftest["df_denom"] == 11
    assert plain.ftest["F"] != pytest.approx(cr1.ftest["F"], rel=1e-3)


def test_few_clusters_are_said_with_the_cr2_pointer():
    d = pd.read_csv(REF / "balance_small.csv")
    cr1 = balance_table(d, "d", ["x1"], cluster="g")
    info = cr1.diagnostics["few_clusters"]
    assert info["clusters"] == 12 and info["alternative"] is None and "vcov='CR2'" in info["note"]
    assert "Few clusters (12)" in cr1.summary() and "Few clusters (12)" in cr1._repr_html_()
    cr2 = balance_table(d, "d", ["x1"], cluster="g", vcov="CR2")
    assert "CR2 with Satterthwaite" in cr2.diagnostics["few_clusters"]["note"]
    assert balance_table(simulate(), "w", ["age"], cluster="school").diagnostics == {}  # 30 schools
    assert balance_table(d, "d", ["x1"]).diagnostics == {}  # no clusters


def test_cr2_refusals_say_what_to_do():
    d = pd.read_csv(REF / "balance_small.csv")
    with pytest.raises(ValueError, match=r"vcov='CR2'\) needs cluster="):
        balance_table(d, "d", ["x1"], vcov="CR2")
    with pytest.raises(ValueError, match="both weights and fixed_effects"):
        balance_table(d, "d", ["x1"], cluster="g", fixed_effects="region", weights="w", vcov="CR2")
    with pytest.raises(ValueError, match="vcov must be 'CR1'"):
        balance_table(d, "d", ["x1"], cluster="g", vcov="HC3")
    with pytest.raises(ValueError, match=r"missing must be one of 'error', 'drop' \(any case\)"):
        balance_table(d, "d", ["x1"], missing="ignore")


def test_old_positional_options_still_work_with_a_warning():
    d = simulate(seed=1)
    new = balance_table(d, "w", ["age"], cluster="school", fixed_effects="region")
    with pytest.warns(DeprecationWarning, match=r"balance_table\(\): pass cluster, fixed_effects by keyword"):
        old = balance_table(d, "w", ["age"], "school", "region")
    pd.testing.assert_frame_equal(old.table, new.table, check_exact=True)
    assert balance_table(d, "w", ["age"], missing="DROP").options["missing"] == "drop"


def test_result_protocol():
    d = simulate(seed=2)
    b = balance_table(d, "w", ["age", "female"], weights=np.ones(len(d)))
    record = b.to_dict()
    assert record["type"] == "balance_table" and "ones" not in record and "ones_adjusted" not in record
    assert record["ftest"] == b.ftest and record["table"] is b.table
    assert repr(b) == str(b.summary()) and b.summary().startswith("Balance table: w (2 covariates)")
    assert "<table" in b._repr_html_() and "Joint F-test" in b._repr_html_()
    assert not hasattr(b, "estimate")  # many numbers, no headline (docs/api.md)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed (apt-get install r-base-core "
                    "r-cran-clubsandwich); the stored reference values are checked by the test above")
def test_r_reference_is_current(tmp_path):
    for f in ["balance_small.csv", "balance_reference.R"]:
        shutil.copy(REF / f, tmp_path / f)
    run = subprocess.run(["Rscript", "balance_reference.R"], cwd=tmp_path, capture_output=True, text=True)
    if "there is no package called" in run.stderr:
        pytest.skip("R package clubSandwich is not installed (r-cran-clubsandwich)")
    assert run.returncode == 0, run.stderr
    new, old = pd.read_csv(tmp_path / "balance_reference.csv"), pd.read_csv(REF / "balance_reference.csv")
    np.testing.assert_allclose(new[["se", "df", "p"]], old[["se", "df", "p"]], rtol=1e-10)
