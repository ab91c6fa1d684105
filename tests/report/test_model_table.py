"""Models side by side (evaltools.report.compare_models): statsmodels, pyfixest and evaltools
results in one table, as HTML, LaTeX, Markdown and Word, with protected counts."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from evaltools.report import compare_models
from evaltools.report.render import PROTECTED_TABLE_MARK
from evaltools.report.tables import TableInputError


@pytest.fixture(scope="module")
def fits():
    import pyfixest as pf
    import statsmodels.formula.api as smf

    from evaltools.estimate import twfe

    rng = np.random.default_rng(7)
    n = 600
    d = pd.DataFrame({"school": rng.integers(0, 8, n), "year": rng.integers(2018, 2022, n)})
    d["treated"] = rng.integers(0, 2, n)
    d["prior"] = rng.normal(size=n)
    d["score"] = 0.4 * d["treated"] + 0.3 * d["prior"] + 0.1 * d["school"] + rng.normal(size=n)
    d["pupil"] = [f"P{i:04d}" for i in range(n)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ols = smf.ols("score ~ treated + prior", d).fit(cov_type="cluster", cov_kwds={"groups": d["school"]})
        fe = pf.feols("score ~ treated + prior | school + year", d, vcov={"CRV1": "school"})
        panel = d.assign(unit=d["school"], time=d["year"])
        tw = twfe(panel.groupby(["unit", "time"], as_index=False).mean(numeric_only=True), "score", "treated",
                  "unit", "time", cluster="unit")
    return ols, fe, tw


def test_the_numbers_are_the_fits_own(fits):
    ols, fe, _ = fits
    table = compare_models({"OLS": ols, "FE": fe}, terms=["treated", "prior"], threshold=5)
    tidy = table.to_frame().set_index(["model", "term"])
    assert tidy.loc[("OLS", "treated"), "estimate"] == pytest.approx(ols.params["treated"], rel=1e-12)
    assert tidy.loc[("OLS", "treated"), "se"] == pytest.approx(ols.bse["treated"], rel=1e-12)
    assert tidy.loc[("FE", "prior"), "estimate"] == pytest.approx(fe.coef()["prior"], rel=1e-12)
    assert tidy.loc[("FE", "prior"), "se"] == pytest.approx(fe.se()["prior"], rel=1e-12)
    assert tidy.loc[("FE", "treated"), "ci_low"] == pytest.approx(fe.confint().loc["treated"].iloc[0], rel=1e-12)
    assert list(dict.fromkeys(tidy.index.get_level_values("term"))) == ["treated", "prior"]


def test_lower_block_n_clusters_fixed_effects_and_fit(fits):
    ols, fe, _ = fits
    shown = compare_models({"OLS": ols, "FE": fe}, terms=["treated"], threshold=5, language="en").display_frame()
    rows = {label: row for (label, kind), row in shown.iterrows()}
    assert rows["Observations"].tolist() == ["600", "600"]
    assert rows["Clusters"].tolist() == ["8", "8"]  # 8 >= threshold 5: shown
    assert rows["Fixed effects: school"].tolist() == ["", "yes"]
    assert rows["Fixed effects: year"].tolist() == ["", "yes"]
    assert rows["R²"].tolist() == [f"{ols.rsquared:.3f}", f"{fe._r2:.3f}"]
    assert rows["Within R²"].tolist() == ["", f"{fe._r2_within:.3f}"]


def test_counts_below_the_threshold_are_suppressed_in_every_format(fits, tmp_path):
    from docx import Document

    ols, fe, _ = fits
    table = compare_models({"OLS": ols, "FE": fe}, terms=["treated"], threshold=10, language="en")
    outputs = {"html": table.to_html(), "tex": table.to_latex(), "md": table.to_markdown()}
    doc = Document(str(table.to_docx(tmp_path / "t.docx")))
    cells = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    clusters = next(r for r in cells if r[0] == "Clusters")
    assert clusters[1:] == ["<10", "<10"]
    assert re.search(r"Clusters\s*\|\s*<10\s*\|\s*<10", outputs["md"])
    assert re.search(r"Clusters & \\textless\{\}10 & \\textless\{\}10", outputs["tex"])
    assert "&lt;10" in outputs["html"] and ">8<" not in outputs["html"]
    recorded = table.to_dict()["table"]  # what results.json gets
    assert 8 not in recorded["n_clusters"].tolist() and recorded["n_observations"].tolist() == [600, 600]


def test_html_is_a_protected_self_contained_escaped_table(fits):
    ols, _, _ = fits
    html = compare_models({"<script>alert(1)</script>": ols}, caption="A & B", terms={"treated": "<b>T</b>"}).to_html()
    assert PROTECTED_TABLE_MARK in html  # the report accepts it as a table made by the report layer
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "<b>T</b>" not in html
    assert not re.search(r"(src|href)=\"https?://|@import|url\(https?:", html)


def test_latex_has_the_structure_of_a_table(fits):
    ols, fe, tw = fits
    tex = compare_models({"OLS": ols, "FE & more": fe, "TWFE": tw}, stars=True, caption="Scores_2024 (%)",
                         language="en").to_latex()
    assert tex.count(r"\begin{table}") == tex.count(r"\end{table}") == 1
    assert r"\begin{tabular" in tex and r"\toprule" in tex and r"\bottomrule" in tex
    assert r"FE \& more" in tex and r"Scores\_2024 (\%)" in tex
    body = tex.split(r"\midrule", 1)[1].split(r"\bottomrule", 1)[0]
    assert all(line.count("&") == 3 for line in body.strip().splitlines() if line.strip().endswith(r"\\"))


def test_word_document_opens_and_holds_the_numbers(fits, tmp_path):
    from docx import Document

    ols, fe, _ = fits
    table = compare_models({"OLS": ols, "FE": fe}, terms={"treated": "Programme"}, stars=True, language="lv",
                           caption="Ietekme", threshold=5)
    path = table.write(tmp_path / "models.docx")
    doc = Document(str(path))
    cells = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert cells[0] == ["", "OLS", "FE"]
    programme = next(r for r in cells if r[0] == "Programme")
    assert programme[1].rstrip("*") == f"{ols.params['treated']:.3f}".replace(".", ",")
    assert programme[2].rstrip("*") == f"{fe.coef()['treated']:.3f}".replace(".", ",")
    se_row = cells[cells.index(programme) + 1]
    assert se_row[1] == f"({ols.bse['treated']:.3f})".replace(".", ",")
    assert "Ietekme" in [p.text for p in doc.paragraphs]


def test_confidence_intervals_instead_of_standard_errors(fits):
    ols, _, _ = fits
    md = compare_models([ols], terms=["treated"], show="ci", level=0.9, language="en").to_markdown()
    lo, hi = ols.conf_int(alpha=0.1).loc["treated"]
    assert f"[{lo:.3f}; {hi:.3f}]" in md and "90% confidence intervals" in md


def test_an_evaltools_result_takes_its_headline_and_bad_input_is_refused(fits):
    _, _, tw = fits
    table = compare_models({"TWFE": tw})
    assert table.to_frame()["estimate"].iloc[0] == pytest.approx(tw.estimate.estimate)
    with pytest.raises(TableInputError, match="statsmodels regression result or a pyfixest fit"):
        compare_models({"x": "not a model"})
    with pytest.raises(TableInputError, match="show must be"):
        compare_models([tw], show="t")
    with pytest.raises(TableInputError, match="no results"):
        compare_models({})
