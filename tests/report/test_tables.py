"""Model, balance and DiD tables; publishing (CSV, Excel, results.json) with disclosure control."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evaltools.estimate import balance_table as estimate_balance
from evaltools.estimate.result import Estimate
from evaltools.report.record import RUN_DIR_ENV, clear, recorded
from evaltools.report.disclosure import ProtectedTable, assert_safe
from evaltools.report.tables import (
    ModelTable,
    TableInputError,
    balance_table,
    did_table,
    model_table,
    publish_table,
)

MARK = "[c]"


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    clear()
    yield tmp_path
    clear()


def _est(name, b, se, **n):
    return Estimate.from_normal(name, b, se, n=n)


def test_model_table_side_by_side_with_stars_and_protected_n():
    a = _est("ATT", 0.123, 0.045, units=1234, clusters=43)
    b = _est("ATT", 0.100, 0.060, units=1000, clusters=8)
    c = _est("girl", -0.02, 0.01, units=1000, clusters=8)
    mt = model_table({"OLS": a, "FE": [b, c]}, stars=True, language="en")
    shown = mt.display_frame()
    assert list(shown.columns) == ["OLS", "FE"]
    # stars follow the p-values of the Estimates
    for est, col in ((a, "OLS"), (b, "FE")):
        n_stars = sum(est.pvalue < lvl for lvl in (0.10, 0.05, 0.01))
        assert shown.loc[("ATT", "estimate"), col].endswith("*" * n_stars + "") and (
            shown.loc[("ATT", "estimate"), col].count("*") == n_stars
        )
    assert shown.loc[("ATT", "se"), "OLS"] == "(0.045)"
    assert shown.loc[("girl", "estimate"), "OLS"] == ""
    assert shown.loc[("Pupils", "n"), "OLS"] == "1,234"
    assert shown.loc[("Clusters", "n"), "FE"] == "<10"  # 8 schools is a small count
    tidy = mt.to_frame()
    assert set(tidy["model"]) == {"OLS", "FE"} and len(tidy) == 3
    assert (tidy.loc[tidy["model"] == "FE", "n_clusters"] == MARK).all()
    assert_safe(tidy)
    assert "&lt;10" in mt._repr_html_()  # escaped in HTML


def test_model_table_in_latvian_and_from_a_list():
    mt = model_table([_est("ATT", 1.5, 0.25, units=200)], language="lv", digits=2)
    shown = mt.display_frame()
    assert shown.columns.tolist() == ["(1)"]
    assert shown.loc[("ATT", "estimate"), "(1)"] == "1,50"
    assert shown.loc[("Skolēni", "n"), "(1)"] == "200"
    assert "Iekavās – standartkļūdas." in mt.notes()
    assert isinstance(mt, ModelTable) and "ModelTable: 1 models" in repr(mt)


def test_model_table_rejects_what_is_not_an_estimate():
    with pytest.raises(TableInputError, match="must be an evaltools Estimate"):
        model_table({"m": [0.5]})
    with pytest.raises(TableInputError, match="needs a mapping"):
        model_table(_est("ATT", 1, 1))


@pytest.fixture
def pupils():
    rng = np.random.default_rng(7)
    n = 600
    d = pd.DataFrame({"t": rng.integers(0, 2, n), "score": rng.normal(60, 12, n),
                      "girl": rng.integers(0, 2, n)})
    d["score"] += 3.0 * d["t"]
    return d


def test_balance_table_formats_the_estimators_result_and_recomputes_nothing(pupils):
    result = estimate_balance(pupils, "t", ["score", "girl"])
    p = balance_table(result, language="en", show_sd=True)
    assert isinstance(p, ProtectedTable) and p.n_hidden() == 0
    g1, g0 = pupils[pupils.t == 1], pupils[pupils.t == 0]
    row = p.data.loc["score"]
    assert row["n_treated"] == len(g1) and row["n_comparison"] == len(g0)
    assert row["mean_treated"] == pytest.approx(g1.score.mean())
    assert row["sd_comparison"] == pytest.approx(g0.score.std(ddof=1))
    sd_pooled = np.sqrt((g1.score.var() + g0.score.var()) / 2)
    assert row["std_diff"] == pytest.approx((g1.score.mean() - g0.score.mean()) / sd_pooled)
    # the p-value is the estimator's regression (HC1), checked against statsmodels
    ref = smf.ols("score ~ t", pupils).fit(cov_type="HC1")
    ref = smf.ols("score ~ t", pupils).fit(cov_type="HC1", use_t=True)  # t(N - 2), as pyfixest
    assert row["pvalue"] == pytest.approx(ref.pvalues["t"], rel=1e-6)
    # every published statistic is the estimator's number, unchanged
    src = result.table.loc["score"]
    for shown, own in (("mean_treated", "mean_t"), ("sd_comparison", "sd_c"), ("difference", "diff"),
                       ("std_diff", "norm_diff"), ("pvalue", "pvalue")):
        assert row[shown] == src[own], shown
    assert "k_treated" not in p.data.columns  # helper counts are not published
    assert "sd_treated" not in balance_table(result).data.columns
    assert p.display_frame().columns[0] == "N, programme group"


def test_balance_table_with_clusters_shows_the_clustered_p_value(pupils):
    d = pupils.assign(school=np.arange(len(pupils)) % 20)
    clustered = balance_table(estimate_balance(d, "t", ["score"], cluster="school"), language="en")
    plain_p = balance_table(estimate_balance(d, "t", ["score"]), language="en")
    ref = smf.ols("score ~ t", d).fit(cov_type="cluster", cov_kwds={"groups": d["school"]}, use_t=True)
    assert clustered.data.at["score", "pvalue"] == pytest.approx(ref.pvalues["t"], rel=1e-3)
    assert clustered.data.at["score", "pvalue"] != pytest.approx(plain_p.data.at["score", "pvalue"], rel=1e-3)
    assert "cluster-robust" in clustered.notes[0] and "cluster-robust" not in plain_p.notes[0]


def test_balance_table_after_weighting_keeps_the_sds_before_weighting(pupils):
    rng = np.random.default_rng(3)
    w = pd.Series(np.where(pupils.t == 1, 1.0, rng.uniform(0.2, 3.0, len(pupils))), index=pupils.index)
    result = estimate_balance(pupils, "t", ["score"], weights=w)
    after = balance_table(result, show_sd=True).data.loc["score"]
    before = balance_table(result, adjusted=False, show_sd=True).data.loc["score"]
    g1, g0 = pupils[pupils.t == 1], pupils[pupils.t == 0]
    diff_w = g1.score.mean() - np.average(g0.score, weights=w[g0.index])
    sd_before = np.sqrt((g1.score.var() + g0.score.var()) / 2)
    assert after["std_diff"] == pytest.approx(diff_w / sd_before)  # one SD convention, before and after
    assert after["std_diff"] == pytest.approx(after["difference"] / sd_before)
    assert before["std_diff"] == pytest.approx((g1.score.mean() - g0.score.mean()) / sd_before)
    # unit weights give the unweighted table
    unit = balance_table(estimate_balance(pupils, "t", ["score"], weights=np.ones(len(pupils))), show_sd=True).data
    plain = balance_table(estimate_balance(pupils, "t", ["score"]), show_sd=True).data
    cols = ["mean_treated", "sd_treated", "mean_comparison", "sd_comparison", "std_diff", "pvalue"]
    np.testing.assert_allclose(unit[cols].to_numpy(), plain[cols].to_numpy())


def test_balance_table_hides_small_groups_and_revealing_shares(pupils):
    d = pupils.copy()
    d.loc[d.t == 1, "girl"] = 0
    d.loc[d.index[d.t == 1][:3], "girl"] = 1  # three girls in the programme group
    d["rare"] = np.where(d.t == 1, np.nan, d.score)
    d.loc[d.index[d.t == 1][:5], "rare"] = 50.0 + np.arange(5)  # five treated pupils observed
    p = balance_table(estimate_balance(d, "t", ["score", "girl", "rare"], missing="drop"), language="lv",
                      show_sd=True)
    st = p.status
    assert (st.loc["score"] == "").all()
    for col in ("mean_treated", "sd_treated", "difference", "std_diff", "pvalue"):
        assert st.at["girl", col] != "", col
    assert st.at["girl", "mean_comparison"] == ""
    assert st.at["rare", "n_treated"] == "primary"
    assert st.at["rare", "mean_treated"] != "" and st.at["rare", "difference"] != ""
    assert_safe(p)


def test_balance_table_old_call_warns_and_gives_the_estimators_numbers(pupils):
    with pytest.warns(DeprecationWarning, match="estimate.balance_table"):
        old = balance_table(pupils, ["score", "girl"], "t", language="en")
    new = balance_table(estimate_balance(pupils, "t", ["score", "girl"]), language="en")
    pd.testing.assert_frame_equal(old.data, new.data)
    with pytest.raises(TableInputError, match="needs the result of evaltools.estimate.balance_table"):
        balance_table({"score": 1.0})
    with pytest.raises(TableInputError, match="pass the options by name"):
        balance_table(estimate_balance(pupils, "t", ["score"]), ["score"])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the old call form still checks its columns
def test_balance_table_errors_name_the_column(pupils):
    with pytest.raises(KeyError, match=r"columns \['age'\] are not in the data"):
        balance_table(pupils, ["age"], "t")
    with pytest.raises(TableInputError, match="Column 'score' must be 0/1"):
        balance_table(pupils, ["girl"], "score")


def test_did_table_equals_the_interaction_in_a_saturated_regression():
    rng = np.random.default_rng(3)
    n = 2000
    d = pd.DataFrame({"treated": rng.integers(0, 2, n), "post": rng.integers(0, 2, n)})
    d["y"] = 50 + 2 * d.treated + 1.5 * d.post + 4.0 * d.treated * d.post + rng.normal(0, 5, n)
    fit = smf.ols("y ~ treated * post", data=d).fit()
    est = Estimate.from_normal("ATT", fit.params["treated:post"], fit.bse["treated:post"])
    p = did_table(d, "y", "treated", "post", estimate=est, language="en")
    did = p.data.iloc[2]["Change (after − before)"]
    assert did == pytest.approx(fit.params["treated:post"], abs=1e-9)
    assert abs(did - 4.0) < 4 * fit.bse["treated:post"]  # close to the true effect
    means = d.groupby(["treated", "post"]).y.mean()
    assert p.data.iloc[0]["Before"] == pytest.approx(means[(1, 0)])
    assert any("Difference-in-differences (regression): 4." in note or "regression" in note
               for note in p.footnotes())
    assert p.n_hidden() == 0


def test_did_table_hides_the_difference_when_a_cell_is_small():
    d = pd.DataFrame({"treated": [1] * 6 + [1] * 40 + [0] * 40 + [0] * 40,
                      "post": [0] * 6 + [1] * 40 + [0] * 40 + [1] * 40,
                      "y": np.arange(126, dtype=float)})
    p = did_table(d, "y", "treated", "post", language="en")
    assert p.status.iloc[0]["Before"] == "dependent"
    assert p.status.iloc[0]["N, Before"] == "primary"
    assert p.status.iloc[2]["Before"] != "" and p.status.iloc[2]["Change (after − before)"] != ""
    assert p.status.iloc[1]["Before"] == ""


def test_publish_table_exports_records_and_protects(run_dir):
    raw = pd.DataFrame({"skolēni": [4, 30, 12, 46]}, index=["Rīga", "Daugavpils", "Liepāja", "Kopā"])
    pub = publish_table(raw, "pupils_by_city", caption="Skolēni pēc pilsētas")
    csv, xlsx = pub.files
    assert csv == run_dir / "tables" / "pupils_by_city.csv" and xlsx.exists()
    assert pub.latex == run_dir / "tables" / "pupils_by_city.tex" and "Liepāja" in pub.latex.read_text()
    assert pub.exports == (csv, xlsx, pub.latex)
    back = pd.read_csv(csv, index_col=0, encoding="utf-8-sig")
    assert back.loc["Rīga", "skolēni"] == MARK and back.loc["Liepāja", "skolēni"] == MARK
    assert str(back.loc["Kopā", "skolēni"]) == "46"
    from openpyxl import load_workbook

    ws = load_workbook(xlsx).active
    cells = {str(c.value) for row in ws.iter_rows() for c in row}
    assert "Liepāja" in cells and "4" not in cells
    stored = recorded()["pupils_by_city"]
    assert stored["value"]["type"] == "protected_table" and stored["label"] == "Skolēni pēc pilsētas"
    assert [MARK] in [row[1:] for row in stored["value"]["data"]]
    assert (run_dir / "results.json").exists()
    html = pub._repr_html_()
    assert "Liepāja" in html and "<style" in html
    assert "http" not in html and "<script" not in html and "<link" not in html


def test_publish_table_rejects_bad_names_and_double_protection(run_dir):
    with pytest.raises(TableInputError, match="file-name-safe"):
        publish_table(pd.DataFrame({"n": [20]}), "../escape")
    pt = balance_table(estimate_balance(pd.DataFrame({"t": [0, 1] * 20, "x": range(40)}), "t", ["x"]))
    with pytest.raises(TableInputError, match="already protected"):
        publish_table(pt, "bal", counts=["n_treated"])
    with pytest.raises(TableInputError, match="threshold, round_to apply to a raw DataFrame"):
        publish_table(pt, "bal", threshold=5, round_to=5)
    assert publish_table(pt, "bal", export=False).files == ()


# -- property: what leaves the report layer (CSV, Excel, results.json) -------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def raw_tables(draw):
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(1, 3))
    cell = st.one_of(st.integers(0, 12), st.integers(0, 90))
    body = pd.DataFrame([[draw(cell) for _ in range(cols)] for _ in range(rows)],
                        index=[f"skola {i}" for i in range(rows)], columns=[f"klase {j}" for j in range(cols)])
    if draw(st.booleans()):
        body["Kopā"] = body.sum(axis=1)
    if draw(st.booleans()):
        body.loc["Kopā"] = body.sum()
    return body.astype("int64")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw_tables())
def test_property_published_files_show_no_small_count(run_dir, table):
    import json

    pub = publish_table(table, "t")
    threshold = pub.table.threshold
    csv = pd.read_csv(pub.files[0], index_col=0, encoding="utf-8-sig")
    xlsx = pd.read_excel(pub.files[1], index_col=0)
    stored = json.loads((run_dir / "results.json").read_text())["t"]["value"]
    from_json = pd.DataFrame([row[1:] for row in stored["data"]], columns=stored["columns"][1:])
    for frame in (csv, xlsx, from_json):
        values = pd.to_numeric(frame.stack(), errors="coerce").dropna()
        assert not ((values > 0) & (values < threshold)).any()
        assert set(frame.stack()[pd.to_numeric(frame.stack(), errors="coerce").isna()]) <= {MARK}
    # the exported CSV passes the checker with the totals it publishes (read back, no metadata)
    assert_safe(csv, counts=list(csv.columns),
                total_row="Kopā" if "Kopā" in csv.index else None,
                total_col="Kopā" if "Kopā" in csv.columns else None)


def test_model_table_takes_results_that_hold_their_estimate():
    from dataclasses import dataclass

    @dataclass
    class Result:  # e.g. did_2x2 / twfe / event_study results expose .estimate
        estimate: Estimate

    mt = model_table({"TWFE": Result(_est("ATT", 0.2, 0.05, units=300))}, language="en")
    assert mt.display_frame().loc[("ATT", "estimate"), "TWFE"] == "0.200"
    with pytest.raises(TableInputError, match="or a result holding one"):
        model_table({"x": Result(0.2)})


@st.composite
def small_samples(draw):
    sizes = [draw(st.integers(1, 25)) for _ in range(4)]  # (treated, post) cells
    rows = []
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    for (g, t), n in zip([(1, 0), (1, 1), (0, 0), (0, 1)], sizes):
        for _ in range(n):
            rows.append({"treated": g, "post": t, "y": rng.normal(), "girl": int(rng.random() < 0.5)})
    return pd.DataFrame(rows)


@settings(max_examples=30, deadline=None)
@given(small_samples())
def test_property_balance_and_did_tables_never_show_small_groups(d):
    threshold = 10
    did = did_table(d, "y", "treated", "post", language="en")
    n_cols = [c for c in did.data.columns if str(c).startswith("N, ")]
    for c in n_cols:
        shown = did.data[c].dropna()
        assert not ((shown > 0) & (shown < threshold)).any()
    sizes = d.groupby(["treated", "post"]).size()
    means = {(1, 0): ("Programme group", "Before"), (1, 1): ("Programme group", "After"),
             (0, 0): ("Comparison group", "Before"), (0, 1): ("Comparison group", "After")}
    for cell, (row, col) in means.items():
        if sizes.get(cell, 0) < threshold:
            assert pd.isna(did.data.at[row, col])
            assert pd.isna(did.data.iloc[2][col])  # the difference row would reveal it
            assert pd.isna(did.data.iloc[2]["Change (after − before)"])
    bal = balance_table(estimate_balance(d[d.post == 0], "treated", ["y", "girl"]), language="en", show_sd=True)
    for c in ("n_treated", "n_comparison"):
        shown = bal.data[c].dropna()
        assert not ((shown > 0) & (shown < threshold)).any()
    for c, n in (("mean_treated", "n_treated"), ("mean_comparison", "n_comparison")):
        raw_n = (d[d.post == 0].treated == (1 if c.endswith("treated") else 0)).sum()
        if raw_n < threshold:
            assert bal.data[c].isna().all() and bal.data["difference"].isna().all()


def test_balance_p_value_with_one_constant_group_matches_statsmodels():
    import warnings

    d = pd.DataFrame({"t": [1] * 30 + [0] * 40, "girl": [0] * 30 + [0, 1] * 20})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = estimate_balance(d, "t", ["girl"])
        p = balance_table(result, threshold=5).data.at["girl", "pvalue"]  # nothing below 5 here
    ref = smf.ols("girl ~ t", d).fit(cov_type="HC1", use_t=True)
    assert p == pytest.approx(ref.pvalues["t"], rel=1e-6)


# -- exports: CSV, Excel, LaTeX, the same bytes on every rerun (issue 14, item 5) ---------------


def _exported_bytes(run_dir, name):
    return {ext: (run_dir / "tables" / f"{name}.{ext}").read_bytes() for ext in ("csv", "xlsx", "tex")}


def test_publish_table_writes_the_same_bytes_on_rerun(run_dir):
    import time
    import zipfile

    raw = pd.DataFrame({"skolēni": [40, 30, 4, 74]}, index=pd.Index(["Rīga", "Cēsis", "Ape", "Kopā"], name="novads"))
    models = model_table({"A": _est("ATT", 0.12, 0.04, units=1200), "B": _est("ATT", 0.10, 0.05, units=900)})
    publish_table(raw, "pupils", caption="Skolēni", total_col=None)
    publish_table(models, "models")
    first = {n: _exported_bytes(run_dir, n) for n in ("pupils", "models")}
    time.sleep(2.1)  # zip entries carry times to 2 s, Excel's properties to 1 s
    publish_table(raw, "pupils", caption="Skolēni", total_col=None)
    publish_table(models, "models")
    for name, files in first.items():
        again = _exported_bytes(run_dir, name)
        for ext, data in files.items():
            assert data and again[ext] == data, f"{name}.{ext} differs on rerun"
    with zipfile.ZipFile(run_dir / "tables" / "pupils.xlsx") as z:
        core = z.read("docProps/core.xml").decode()
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
    assert "2000-01-01T00:00:00Z" in core and str(time.gmtime().tm_year) not in core
    back = pd.read_excel(run_dir / "tables" / "pupils.xlsx", index_col=0)  # still a workbook Excel reads
    assert back.loc["Kopā", "skolēni"] == 74 and back.loc["Ape", "skolēni"] == MARK


def test_latex_export_escapes_every_special_character_from_data(run_dir):
    from evaltools.report.tables import latex_text

    nasty = r"A&B 50% $x$ #1 a_b {c} ~d ^e \input{/etc/passwd}"
    assert latex_text(nasty) == (r"A\&B 50\% \$x\$ \#1 a\_b \{c\} \textasciitilde{}d \textasciicircum{}e "
                                 r"\textbackslash{}input\{/etc/passwd\}")
    raw = pd.DataFrame({"pupils": [120, 340]}, index=pd.Index([nasty, "Cēsis"], name="school_name"))
    pub = publish_table(raw, "schools", total_row=None, total_col=None, caption="50% & more", labels={"pupils": "N_pupils"})
    tex = pub.latex.read_text("utf-8")
    assert latex_text(nasty) in tex and r"\caption{50\% \& more}" in tex and r"N\_pupils" in tex
    assert r"school\_name" in tex and "\\input{" not in tex
    body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0]
    for macro in (r"\textasciitilde{}", r"\textasciicircum{}", r"\textbackslash{}"):
        body = body.replace(macro, "")
    unescaped = [m for m in __import__("re").finditer(r"(?<!\\)[&%$#_{}~^]", body)]
    # the only unescaped specials left are the table's own column separators
    assert {m.group(0) for m in unescaped} <= {"&"} and body.count(r"\&") == 1


def test_latex_export_shows_the_table_as_the_report_does(run_dir):
    raw = pd.DataFrame({"pupils": [4, 30, 40, 74]}, index=["Rīga", "Daugavpils", "Liepāja", "Kopā"])
    pub = publish_table(raw, "cities", language="lv", total_col=None)
    tex = pub.latex.read_text("utf-8")
    rows = {line.split("&")[0].strip(): line for line in tex.splitlines() if "&" in line and "\\\\" in line}
    assert "[c]" in rows["Rīga"] and "[c]" in rows["Daugavpils"] and " 4 " not in rows["Rīga"]
    assert "74" in rows["Kopā"]
    assert r"\begin{tabular}" in tex and r"\toprule" in tex  # booktabs
