"""The PUMPURS dropout-prevention study (evaltools.studies.dropout, notebooks/dropout_prevention.ipynb).

* unit checks of the study module on small hand-made or simulated data;
* the truth check: on the shipped synthetic sample the study's estimates cover the stored
  true effects, and the naive comparison of supported and unsupported pupils is biased in
  the direction the data-generating process implies;
* bring your own data: a renamed, recoded CSV copy of the sample and the shipped column
  mapping run through `evaltools run` and give the same headline as the original.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evaltools.estimate.result import Estimate
from evaltools.studies import dropout
from tests import ROOT

SAMPLE = ROOT / "data" / "sample"
NOTEBOOK = ROOT / "notebooks" / "dropout_prevention.ipynb"
MAPPING = ROOT / "params" / "mappings" / "pumpurs_extract_lv.yaml"
TABLES = ["pumpurs_schools", "risk_scores", "support_plans", "support_measures", "assessments"]


# ------------------------------------------------------------------------ small data
def _tiny_dataset() -> dict[str, pd.DataFrame]:
    """Two schools (one joins PUMPURS in 2017), three pupils, 2016-2018."""
    return {
        "municipalities": pd.DataFrame({"municipality_id": ["M1", "M2"], "region": ["Latgale", "Rīga"]}),
        "schools": pd.DataFrame({"school_id": ["A", "B"], "municipality_id": ["M1", "M2"], "urban": [False, True],
                                 "language": ["latvian", "minority"]}),
        "pumpurs_schools": pd.DataFrame({"school_id": ["A", "B"], "rollout_year": pd.array([2017, pd.NA], "Int64")}),
        "pupils": pd.DataFrame({"pupil_id": ["p1", "p2", "p3"], "sex": ["F", "M", "F"],
                                "special_needs": [False, True, False]}),
        "pupil_years": pd.DataFrame({
            "pupil_id": ["p1", "p1", "p1", "p2", "p2", "p3"],
            "year": [2016, 2017, 2018, 2017, 2018, 2017],
            "school_id": ["A", "A", "A", "A", "A", "B"],
            "grade": [7, 8, 8, 11, 12, 6],
            "absences": [10, 40, 30, 5, 6, 7],
            "repeated": [False, False, True, False, False, False],
            "status": ["enrolled", "enrolled", "enrolled", "enrolled", "left_early", "enrolled"]}),
        "risk_scores": pd.DataFrame({"pupil_id": ["p1", "p1", "p1", "p2"], "year": [2017, 2017, 2018, 2018],
                                     "semester": [1, 2, 1, 1], "school_id": ["A"] * 4,
                                     "score": [72.0, 70.0, 55.0, 61.0]}),
        "support_plans": pd.DataFrame({"plan_id": ["PL1", "PL2"], "pupil_id": ["p1", "p2"], "year": [2017, 2018],
                                       "semester": [1, 1], "school_id": ["A", "A"], "risk_score": [72.0, 61.0],
                                       "taken_up": [True, False]}),
        "support_measures": pd.DataFrame({"plan_id": ["PL1", "PL1"], "pupil_id": ["p1", "p1"], "year": [2017, 2017],
                                          "type": ["psychologist", "meals"], "cost_eur": [200.0, 150.0]}),
    }


def test_prepare_builds_the_study_frame_from_the_tables():
    data = dropout.prepare(_tiny_dataset(), threshold=60.0)
    py = data.pupil_years.set_index(["pupil_id", "year"])
    # next year's repetition and last year's absences, only from the adjacent year
    assert py.loc[("p1", 2017), "repeat_next"] == 1 and py.loc[("p1", 2016), "repeat_next"] == 0
    assert np.isnan(py.loc[("p2", 2018), "repeat_next"]) and np.isnan(py.loc[("p3", 2017), "repeat_next"])
    assert py.loc[("p1", 2017), "absences_prev"] == 10 and np.isnan(py.loc[("p2", 2017), "absences_prev"])
    # semester-1 score, plan offered / taken up, measures and their cost
    assert py.loc[("p1", 2017), "s1"] == 72.0 and py.loc[("p1", 2017), "supported"]
    assert py.loc[("p2", 2018), "offered"] and not py.loc[("p2", 2018), "supported"]
    assert py.loc[("p1", 2017), ["m_meals", "m_psychologist"]].tolist() == [1, 1]
    assert py.loc[("p1", 2017), "plan_cost"] == 350.0 and py.loc[("p1", 2018), "plan_cost"] == 0.0
    # PUMPURS population: grades 5-12 with a semester-1 score; years since the school joined
    assert data.pumpurs.index.size == 3 and py.loc[("p1", 2018), "years_in"] == 1
    assert py.loc[("p1", 2018), "risk_band"] == "below" and py.loc[("p1", 2017), "risk_band"] == "70-80"
    assert py.loc[("p3", 2017), "cohort"] == 0 and py.loc[("p3", 2017), "school_language"] == "minority"
    assert data.measure_types == ("meals", "psychologist")
    assert data.counts()["supported_pupils"] == 1 and data.notes["covers_programme"]
    assert dropout.support_costs(data)["total"] == 350.0
    spells = dropout.leaving_spells(data).set_index("pupil_id")
    assert spells.loc["p1", ["entry", "grade", "group"]].tolist() == [7, 8, "supported"]
    assert spells.loc["p2", ["left_early", "group"]].tolist() == [1, "offered"]


def test_prepare_filters_region_and_period_and_explains_bad_input():
    data = dropout.prepare(_tiny_dataset(), region="Rīga")
    assert set(data.pupil_years["school_id"]) == {"B"} and data.region == "Rīga"
    data = dropout.prepare(_tiny_dataset(), first_year=2017, last_year=2017)
    assert set(data.pupil_years["year"]) == {2017} and not data.notes["covers_programme"]
    with pytest.raises(dropout.DropoutDataError, match="Unknown region 'Kurzeme'.*Latgale, Rīga"):
        dropout.prepare(_tiny_dataset(), region="Kurzeme")
    ds = _tiny_dataset()
    del ds["support_plans"]
    with pytest.raises(dropout.DropoutDataError, match="no 'support_plans' table"):
        dropout.prepare(ds)


def test_twfe_weights_reproduce_the_twfe_coefficient():
    """With effects that differ by cohort and time and no noise, static TWFE equals
    sum(w * effect) over treated cells (de Chaisemartin & D'Haultfoeuille 2020)."""
    from evaltools.estimate import twfe

    cohort = np.repeat([2017, 2019, 2021], 5)  # no never-treated schools: later cohorts are the controls
    rows = []
    for i, g in enumerate(cohort):
        for t in range(2015, 2023):
            treated = g > 0 and t >= g
            effect = (0.5 + 0.4 * (t - g)) * (g == 2017) + 2.0 * (g == 2019) if treated else 0.0
            rows.append({"school_id": f"s{i}", "year": t, "cohort": g, "treated": float(treated), "effect": effect,
                         "value": 0.3 * i + 0.1 * (t - 2015) ** 1.5 + effect})
    panel = pd.DataFrame(rows)
    w = dropout.twfe_weights(panel)
    fit = twfe(panel, "value", "treated", "school_id", "year")
    effects = panel.loc[panel["treated"] == 1, "effect"].to_numpy()
    assert w["weight"].sum() == pytest.approx(1.0)
    assert fit.estimate.estimate == pytest.approx(float(w["weight"] @ effects), abs=1e-8)
    # the early cohort's last years get negative weight: TWFE subtracts their (larger) effects
    late = w[(w["cohort"] == 2017) & (w["year"] >= 2021)]
    assert (late["weight"] < 0).all() and len(late) == 5 * 2


def _simulated_study(n_pupils: int = 6000, tau: float = -0.7, seed: int = 1) -> dropout.DropoutData:
    """Pupil-years where support is random given the score above 60 (as PUMPURS): the
    annual leaving hazard is logit(-4 + 0.5 z + grade effect + tau * D)."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_pupils):
        school = p % 40
        for grade in range(5, 10):
            s1 = float(np.clip(rng.normal(45, 15), 0, 100))
            z = (s1 - 60) / 10
            d = bool(s1 >= 60 and rng.random() < 0.7)
            h = 1 / (1 + np.exp(-(-4 + 0.5 * z + 0.3 * (grade - 5) + tau * d)))
            left = rng.random() < h
            year = int(rng.integers(2017, 2022))
            rows.append({"pupil_id": f"p{p}", "school_id": f"s{school}", "municipality_id": f"m{school % 10}",
                         "grade": grade, "year": year, "s1": s1, "score10": z, "trend": year - 2017,
                         "years_in": int(rng.integers(0, 4)), "supported": d, "offered": s1 >= 60,
                         "left_early": int(left),
                         "in_pumpurs": True, "special_needs": float(rng.random() < 0.1),
                         "log_absences_prev": float(np.log1p(rng.poisson(30))), "absences_prev_missing": 0.0,
                         "h_true": h, "h0_true": 1 / (1 + np.exp(-(-4 + 0.5 * z + 0.3 * (grade - 5))))})
            if left:
                break
    py = pd.DataFrame(rows)
    return dropout.DropoutData(pupil_years=py, measures=pd.DataFrame(), exams=pd.DataFrame(), threshold=60.0,
                               first_year=2017, last_year=2021, region=None)


def test_probability_effect_recovers_the_att_with_a_delta_method_se():
    data = _simulated_study()
    res, rows = dropout.support_hazard(data)
    sup = rows[rows["supported"]]
    att = dropout.probability_effect(res, sup)
    true_att = float((sup["h_true"] - sup["h0_true"]).mean())
    assert abs(att.estimate - true_att) < 3 * att.se
    # the delta-method SE equals the one from a numerical gradient of the same function
    theta0 = res.params.to_numpy().copy()

    def mean_diff(theta):
        res.params[:] = theta
        p1, p0, _, _ = dropout._probabilities(res, sup)
        return p1 - p0

    eps = 1e-6
    grad = np.array([(mean_diff(theta0 + eps * e) - mean_diff(theta0 - eps * e)) / (2 * eps)
                     for e in np.eye(len(theta0))])
    res.params[:] = theta0
    assert att.se == pytest.approx(math.sqrt(grad @ res.cov.to_numpy() @ grad), rel=1e-4)
    # the Cox index has the sign of the effect and its CI contains its point estimate
    cox = dropout.cox_index_from_hazard(res, sup, n_comparison=int((~rows["supported"]).sum()))
    assert cox.value < 0 and cox.ci_low < cox.value < cox.ci_high


def test_naive_difference_is_the_difference_in_means():
    data = _simulated_study(n_pupils=1500)
    p = data.pumpurs
    naive = dropout.naive_difference(data)
    diff = p.loc[p["supported"], "left_early"].mean() - p.loc[~p["supported"], "left_early"].mean()
    assert naive.estimate == pytest.approx(diff) and naive.n["clusters"] == 40


def test_scaled_and_truth_comparison():
    est = Estimate.from_normal("x", -0.04, 0.01)
    pp = dropout.scaled(est, 100, "pp")
    assert (pp.estimand, pp.estimate, pp.se) == ("pp", pytest.approx(-4.0), pytest.approx(1.0))
    assert pp.ci_low == pytest.approx(100 * est.ci_low)
    data = dropout.prepare(_tiny_dataset())
    truth = {"effects": [{"name": "pumpurs_support_dropout", "parameters": {"tau0": -0.6, "threshold": 60.0},
                          "realised": {"att_probability": -0.045}},
                         {"name": "pumpurs_support_absences", "true_value": -0.2}]}
    table = dropout.truth_comparison(truth, data, {
        "att": est, "naive": Estimate.from_normal("n", 0.03, 0.005), "log_or_threshold": Estimate.from_normal(
            "b", -0.1, 0.1), "absences": Estimate.from_normal("a", -0.21, 0.02)})
    assert table["covered"].to_dict() == {"log_or_threshold": False, "att": True, "naive": False, "absences": True}
    assert table.loc["naive", "bias"] == pytest.approx(0.075)
    assert dropout.truth_comparison(None, data, {"att": est}).empty


def test_every_message_key_of_the_notebook_is_in_the_catalogue():
    from evaltools.report import i18n

    source = "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"])
    literal = set(re.findall(r"""\bt\(\s*["'](dp\.[A-Za-z0-9_.]+)["']""", source))
    literal |= set(re.findall(r"""both\(\s*["'](dp\.[A-Za-z0-9_.]+)["']""", source))
    assert len(literal) > 30, "the scan found too few keys: the pattern is wrong"
    families = {f"dp.by.{by}" for by in dropout.SUBGROUPS}
    families |= {f"dp.{k}.{x}" for k in ("est", "estimand") for x in ("naive", "adjusted", "rd", "itt")}
    families |= {f"dp.{k}.{x}" for k in ("outcome", "scale") for x in ("absences", "repetition", "exam_score",
                                                                          "exam_pass")}
    families |= {f"dp.group.{by}.{lev}" for by, levels in (("grade_band", ("5-9", "10-12")), ("sex", "FM"),
                                                           ("school_language", ("latvian", "minority")),
                                                           ("area", ("urban", "rural"))) for lev in levels}
    families |= {f"dp.measure.{m}" for m in ("teacher_support", "psychologist", "social_pedagogue", "transport",
                                             "meals", "dormitory", "learning_materials")}
    families |= {f"dp.flow.{k}" for k in ("eligible", "scored", "offered", "supported")}  # dropout.sample_flow_counts
    families |= {f"dp.flow.aside.{k}" for k in ("scored", "offered", "supported")}
    missing = sorted(k for k in literal | families if not i18n.has(k))
    assert not missing, f"keys used by the study but not in messages.yaml: {missing}"


# -------------------------------------------------------------------- truth check
@pytest.fixture(scope="module")
def sample_study():
    from evaltools.data import load_dataset
    from evaltools.estimate import rd
    from evaltools.inference import cost_per_outcome

    ds = load_dataset(SAMPLE, tables=TABLES)
    data = dropout.prepare(ds)
    hazard, rows = dropout.support_hazard(data)
    att = dropout.probability_effect(hazard, rows[rows["supported"]])
    rd_main = rd(rows, "left_early", "s1", cutoff=data.threshold, treatment="supported_f", cluster="school_id")
    cs, _ = dropout.fit_rollout(dropout.school_panel(data), "never", base_period="universal")
    costs = dropout.support_costs(data)
    cost = cost_per_outcome(costs["total"], -att.estimate, att.se, costs["supported_pupil_years"])
    estimates = {"log_or_threshold": hazard.estimate, "att": att, "naive": dropout.naive_difference(data),
                 "rd_late": rd_main.estimate, "rd_takeup": rd_main.first_stage,
                 "itt": cs.aggregate("simple").overall, "cost_per_dropout": cost.estimate,
                 "prevented": cost.outcomes, **dropout.other_outcomes(data, pass_mark=10.0)}
    return ds, data, estimates, dropout.truth_comparison(ds.truth, data, estimates, itt=cs), cs


def test_the_study_recovers_the_true_effects_of_the_sample(sample_study):
    ds, _, _, table, cs = sample_study
    expected = {"log_or_threshold", "att", "rd_late", "rd_takeup", "itt", "cost_per_dropout", "prevented",
                "absences", "repetition", "exam_score"}
    assert expected <= set(table.index)
    causal = table.drop(index="naive")
    assert causal["covered"].all(), causal[~causal["covered"]]
    # the truth is not trivially inside: the headline's CI is narrow relative to the true effect
    att = table.loc["att"]
    assert att["ci_high"] - att["ci_low"] < abs(att["truth"])
    # the roll-out: each true ATT(g, t) against its estimated cell (95% CIs, most must cover)
    cells = {(c["cohort"], c["year"]): c["att_probability"]
             for c in dropout.effect_truth(ds.truth, "pumpurs_support_dropout")["realised"]["itt_att_gt"]}
    post = cs.table[cs.table["post"]]
    covered = [lo <= cells[(g, t)] <= hi for g, t, lo, hi in post[["group", "time", "ci_low", "ci_high"]].itertuples(
        index=False) if (g, t) in cells]
    assert len(covered) >= 15 and np.mean(covered) >= 0.8


def test_the_naive_comparison_is_biased_in_the_direction_the_data_imply(sample_study):
    ds, _, estimates, table, _ = sample_study
    direction = dropout.effect_truth(ds.truth, "pumpurs_support_dropout")["naive_bias_direction"]
    assert direction.startswith("upward")
    naive, truth = table.loc["naive"], table.loc["naive", "truth"]
    assert truth < 0 < naive["estimate"]            # support looks harmful although it helps
    assert naive["ci_low"] > truth and not naive["covered"]
    assert naive["bias"] > 0 and estimates["att"].ci_high < naive["ci_low"]


# ---------------------------------------------------------------- bring your own data
def _write_extract(mapping: dict, out: Path) -> None:
    """The sample's tables with the extract's column names and codes (the mapping inverted),
    as CSV; two of them as European exports (semicolons, decimal commas)."""
    out.mkdir()
    values = mapping.get("values", {})
    for table in ["municipalities", "schools", "pupils", "pupil_years", *TABLES]:
        df = pd.read_parquet(SAMPLE / f"{table}.parquet")
        for col, codes in values.get(table, {}).items():
            df[col] = df[col].map({ours: theirs for theirs, ours in codes.items()}).fillna(df[col])
        df = df.rename(columns={ours: theirs for theirs, ours in mapping[table].items()})
        european = table in ("risk_scores", "support_measures")
        df.to_csv(out / f"{table}.csv", index=False, sep=";" if european else ",", decimal="," if european else ".")


def run_quick(tmp_path: Path, *settings: str) -> tuple[Path, dict]:
    """``evaltools run dropout_prevention`` in a fresh project under ``tmp_path`` (English, few bootstrap
    draws) with ``settings`` (``key=value``); returns the run folder and its manifest, after checking
    that the run succeeded."""
    from evaltools.cli import main

    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOK, project / "notebooks")
    args = [x for kv in ("language=en", "bootstrap_reps=99", "wild_reps=999", *settings) for x in ("--set", kv)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["--root", str(project), "run", "dropout_prevention", *args])
    run = next((project / "reports" / "dropout_prevention").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    assert code == 0, manifest["error"]
    return run, manifest


def test_own_extract_with_other_column_names_runs_through_the_mapping(tmp_path, sample_study):
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    extract = tmp_path / "extract"
    _write_extract(mapping, extract)
    head = pd.read_csv(extract / "pupil_years.csv", nrows=1)
    assert "pupil_id" not in head and "skolena_pseidonims" in head
    run, manifest = run_quick(tmp_path, f"data_dir={extract}", f"mapping={MAPPING}")
    results = json.loads((run / "results.json").read_text())
    # the same pupils and numbers as the sample itself: the mapping renamed and recoded everything
    assert results["support_att"]["value"]["estimate"] == pytest.approx(100 * sample_study[2]["att"].estimate,
                                                                         rel=1e-9)
    assert "mapping" in manifest["inputs"] and (run / "tables" / "designs.csv").is_file()
    assert 'lang="en"' in (run / "report.html").read_text()


def test_a_misspelt_region_is_refused_before_anything_runs(tmp_path, capsys):
    from evaltools.cli import main

    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOK, project / "notebooks")
    code = main(["--root", str(project), "run", "dropout_prevention", "--set", "region=Latgalle",
                 "--set", f"data_dir={SAMPLE}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "region" in err and "Latgale" in err
    assert not (project / "reports").exists() or not any((project / "reports").rglob("manifest.json"))


def test_sample_flow_counts_follow_the_frames_and_the_attrition():
    data = dropout.prepare(_tiny_dataset(), threshold=60.0)
    flow = dropout.sample_flow_counts(data)
    lost = dropout.attrition(data)
    assert list(flow) == ["eligible", "scored", "offered", "supported"]
    assert flow["eligible"] == lost["eligible"] and flow["scored"] == lost["analysed"]
    p = data.pumpurs
    assert flow["offered"] == int(p["offered"].sum()) == 2 and flow["supported"] == int(p["supported"].sum()) == 1
    assert flow["eligible"] >= flow["scored"] >= flow["offered"] >= flow["supported"]
    # the report protects and draws them without a change: the diagram shows the same numbers
    from evaltools.report.flow import sample_flow

    drawn = sample_flow(list(flow.items()), labels={k: k for k in flow}, title="t", unit="u", threshold=5)
    assert list(flow.values()) == [4, 3, 2, 1] and drawn.table.hidden["n"].all()  # three pupils: small counts hidden
    assert not re.search(r">\s*[1-4] u<", drawn.html().split("</style>")[1])  # no small count in the diagram
