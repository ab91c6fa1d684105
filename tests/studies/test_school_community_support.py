"""The Skola-kopienā study (evaltools.studies.school_community_support, notebooks/school_community_support.ipynb):
its designs on small simulated frames, the truth-check logic, the errors, the column mapping, and the
recovery of the true effects stored with the shipped sample (read from data/sample/true_effects.json)."""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaltools.data import load_dataset
from evaltools.data.demo import synthetic_truth
from evaltools.report import i18n, sections
from evaltools.studies import school_community_support as study
from evaltools.yamlfile import parse_yaml
from tests.studies.glossary_use import unexplained

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "school_community_support.ipynb"
SAMPLE = ROOT / "data" / "sample"
MAPPING = ROOT / "params" / "mappings" / "school_community_support_extract_lv.yaml"


@pytest.fixture(scope="module")
def sample():
    ds = load_dataset(SAMPLE, needs=study.NEEDS, optional=study.OPTIONAL, rows=study.ROWS)
    return ds, study.prepare(ds)


@pytest.fixture(scope="module")
def results(sample):
    ds, data = sample
    return study.headline(data, truth=synthetic_truth(ds))


def _simulated(n: int = 3000, effect: float = 4.0, per10: float | None = None, seed: int = 7) -> pd.DataFrame:
    """Pupils of 40 schools; support chosen on a low previous outcome (as the programme chose), the outcome
    an AR(1) of the previous one plus the effect (constant, or ``per10`` per 10 hours)."""
    rng = np.random.default_rng(seed)
    y_prev = rng.normal(60, 10, n)
    ses = rng.normal(0, 1, n)
    p = 1 / (1 + np.exp(-(-2.0 - 0.1 * (y_prev - 60))))
    D = (rng.random(n) < p).astype(int)
    hours = np.where(D == 1, rng.poisson(20, n) + 1, 0).astype(float)
    eff = effect * D if per10 is None else per10 * hours / 10
    y = 62 + 0.6 * (y_prev - 60) + 1.5 * ses + eff + rng.normal(0, 8, n)
    return pd.DataFrame({"y": y, "y_prev": y_prev, "D": D, "hours": hours, "ses_index": ses,
                         "absences_prev_log": rng.normal(3, 0.5, n), "special_needs": (rng.random(n) < 0.1) * 1.0,
                         "female": (rng.random(n) < 0.5) * 1.0, "school_id": rng.integers(0, 40, n).astype(str),
                         "pupil_id": np.arange(n).astype(str), "year": rng.choice([2022, 2023], n),
                         "grade": rng.integers(5, 13, n)})


# ------------------------------------------------------------------------------- the notebook's texts
def test_the_study_offers_the_verbs():
    for verb in ("prepare", "headline", "subgroups", "costs", "truth_check"):
        assert callable(getattr(study, verb)), verb


def test_every_message_key_of_the_notebook_exists_in_both_languages_and_every_key_is_used():
    text = "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"])
    cat = i18n.catalogue()
    keys = {k for k in cat if k.startswith("scs.")}
    for key in keys:
        assert set(cat[key]) == {"lv", "en"}, key
    literal = set(re.findall(r't\("(scs\.[a-z0-9_.]+)"', text))
    assert literal and literal <= keys, literal - keys
    # keys built from codes (f"scs.outcome.{k}"): every code the study produces has its text
    families = {"scs.outcome.": study.OUTCOMES, "scs.measure.": study.MEASURES,
                "scs.design.": ("naive", "value_added", "aipw", "matching", "did"),
                "scs.quantity.": ("effect", "per_10_hours"), "scs.overlap.": ("treated", "comparison"),
                "scs.unit.": {spec.unit for spec in study.OUTCOMES.values()}}
    for prefix, codes in families.items():
        assert f'"{prefix}{{' in text or f"'{prefix}{{" in text or f"{prefix}{{" in text, prefix
        for code in codes:
            assert prefix + code in keys, prefix + code
    unused = {k for k in keys if k not in text and not any(k.startswith(p) for p in (
        *families, "scs.group.", "scs.cov.", "scs.ocol.", "scs.col.", "scs.tcol."))}
    assert not unused, unused


def test_the_report_glossary_explains_every_acronym_its_texts_use():
    """The notebook shows study.GLOSSARY_TERMS; every acronym of the scs.* texts (AIPW, BH, CI/TI, DiD, pp)
    is explained by one of those entries, in both languages (tests/studies/glossary_use.py)."""
    text = "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"])
    assert "glossary_section(study.GLOSSARY_TERMS)" in text
    assert not unexplained("scs.", study.GLOSSARY_TERMS)
    for lang in i18n.LANGUAGES:  # every listed entry exists (glossary_section refuses an unknown one)
        assert len(sections.glossary_section(study.GLOSSARY_TERMS, lang).items) == len(study.GLOSSARY_TERMS)


# ------------------------------------------------------------------------------- the designs
def test_value_added_recovers_a_simulated_effect_that_the_naive_comparison_hides():
    f = _simulated()
    spec = study.OUTCOMES["wellbeing"]
    va, nv = study.value_added(f, spec), study.naive(f)
    assert va.ci_low <= 4.0 <= va.ci_high
    assert nv.estimate < 4.0 and not (nv.ci_low <= 4.0 <= nv.ci_high)  # support chosen on a bad year: downward
    did = study.did_before_after(f)
    assert did.estimate > 4.0  # a bad year partly passes anyway: the change of the supported is larger


def test_did_is_the_difference_of_the_mean_changes():
    f = _simulated(800, seed=3)
    change = f["y"] - f["y_prev"]
    expected = change[f["D"] == 1].mean() - change[f["D"] == 0].mean()
    assert math.isclose(study.did_before_after(f).estimate, expected, rel_tol=1e-9, abs_tol=1e-9)


def test_dose_response_recovers_a_linear_dose_and_its_bands_rise():
    f = _simulated(4000, per10=3.0, seed=11)
    spec = study.OUTCOMES["wellbeing"]
    dose = study.dose_response(f, spec)
    assert dose.ci_low <= 3.0 <= dose.ci_high
    bands = study.dose_bands(f, spec)
    assert len(bands) == 3 and bands["mean_hours"].is_monotonic_increasing
    assert bands["supported"].sum() == int(f["D"].sum())


def test_an_outcome_with_too_few_supported_pupils_is_not_estimated_and_says_why():
    f = _simulated(400, seed=5)
    res = study.outcome_effects(f, "wellbeing", min_rows=int(f["D"].sum()) + 1)
    assert not res.estimable and "fewer than" in res.reason
    assert study.designs_frame({"wellbeing": res}).empty


def test_a_covariate_that_separates_the_groups_is_left_out_of_the_propensity_score_only():
    """A 0/1 covariate taken at one value by supported pupils only (a minority-language school, all its
    repeaters supported) makes the logit propensity diverge: it is left out of AIPW/matching with a
    warning, kept in the balance table; without it the weighting designs are estimated."""
    f = _simulated(600, seed=17)
    f["flag"] = 1.0
    f.loc[f.index[f["D"] == 1][:15], "flag"] = 0.0
    spec = study.OutcomeSpec(("counselling",), ("y_prev", "ses_index", "flag"), "points", True, False, "x", "y_prev")
    assert study.effects.separating(f, ["y_prev", "ses_index", "flag"]) == ["flag"]
    with pytest.warns(study.SupportWarning, match="flag"):
        out = study.weighting(f, spec)
    assert out["aipw"] is not None and out["matching"] is not None
    assert "flag" in out["balance"].table.index
    assert study.effects.separating(f.assign(flag=1.0), ["flag"]) == []  # constant: not separating (and not a covariate)


def test_public_drops_a_small_number_of_schools_only():
    f = _simulated(600, seed=2).assign(school_id=lambda d: (d["pupil_id"].astype(int) % 6).astype(str))
    est = study.value_added(f, study.OUTCOMES["wellbeing"])
    assert est.n["clusters"] == 6 and study.few_clusters(est)
    shown = study.public(est, 10)
    assert "clusters" not in shown.n and "few_clusters" not in shown.diagnostics
    assert (shown.estimate, shown.ci_low, shown.ci_high) == (est.estimate, est.ci_low, est.ci_high)
    assert study.public(est, 5).n["clusters"] == 6


# ------------------------------------------------------------------------------- the truth check
def test_truth_check_compares_effect_and_dose_and_reads_the_bias_direction():
    f = _simulated(3000, per10=2.0, seed=13)
    res = study.outcome_effects(f, "wellbeing")
    truth = {"effects": [{"name": "community_support_wellbeing", "true_value": 4.2, "naive_bias_direction": "downward",
                          "parameters": {"effect_per_10_hours": 2.0}}]}
    check = study.truth_check(truth, {"wellbeing": res})
    assert list(check["quantity"]) == ["effect", "per_10_hours"]
    eff = check.set_index("quantity").loc["effect"]
    assert eff["covered"] == (eff["ci_low"] <= 4.2 <= eff["ci_high"])
    assert eff["naive_as_stored"] == (res.naive.estimate < 4.2)
    upward = {"effects": [{**truth["effects"][0], "naive_bias_direction": "upward (...)"}]}
    assert study.truth_check(upward, {"wellbeing": res}).loc[0, "naive_as_stored"] == (res.naive.estimate > 4.2)
    assert study.missing_truths(truth) == ["absences", "literacy", "exam_retake"]
    assert study.truth_check(None, {"wellbeing": res}).empty


# ------------------------------------------------------------------------------- errors for users
def test_bad_options_get_clear_errors(sample):
    ds, _ = sample
    with pytest.raises(study.SupportDataError, match="Unknown region 'Atlantis'.*Latgale"):
        study.prepare(ds, region="Atlantis")
    with pytest.raises(study.SupportDataError, match="first_year 2023 is after last_year 2022"):
        study.prepare(ds, first_year=2023, last_year=2022)
    with pytest.raises(study.SupportDataError, match="No support between 2010 and 2012"):
        study.prepare(ds, first_year=2010, last_year=2012)


def test_a_data_set_without_support_records_is_refused_without_identifiers(sample):
    ds, _ = sample

    class Without(dict):
        pass

    tables = Without({k: ds[k] for k in ("pupils", "pupil_years", "schools", "municipalities")})
    with pytest.raises(study.SupportDataError, match="no 'community_support' table") as err:
        study.prepare(tables)
    assert not re.search(r"\bP[0-9a-f]{10}\b", str(err.value))


def test_the_municipality_mapping_reads_an_extract_with_latvian_names(tmp_path, sample):
    _, data = sample
    mapping = parse_yaml(MAPPING.read_text(encoding="utf-8"), str(MAPPING)).data
    for table, columns in mapping.items():
        if table in ("values", "files") or not (SAMPLE / f"{table}.parquet").exists():
            continue
        frame = pd.read_parquet(SAMPLE / f"{table}.parquet")
        frame = frame.rename(columns={v: k for k, v in columns.items()})
        for col, codes in (mapping.get("values", {}).get(table) or {}).items():
            src = next(k for k, v in columns.items() if v == col)
            frame[src] = frame[src].map({v: k for k, v in codes.items()}).fillna(frame[src])
        frame.to_parquet(tmp_path / f"{table}.parquet")
    shutil.copy(SAMPLE / "true_effects.json", tmp_path / "true_effects.json")
    ds = load_dataset(tmp_path, mapping=MAPPING, needs=study.NEEDS, optional=study.OPTIONAL, rows=study.ROWS)
    again = study.prepare(ds)
    assert again.counts() == data.counts()
    assert {k: len(f) for k, f in again.frames.items()} == {k: len(f) for k, f in data.frames.items()}


# ------------------------------------------------------------------------------- the exam-retake comparison
def _offering(data) -> set[tuple[str, int]]:
    return {(str(s), int(y)) for s, y in data.support[["school_id", "year"]].drop_duplicates().to_numpy()}


def test_exam_retake_adds_failed_repeaters_of_schools_without_support_as_comparisons_only(sample):
    """Schools offered support at random: the failed repeaters of the schools without support join the
    exam-retake comparison (never as supported); the other outcomes keep the offering schools only."""
    _, data = sample
    offering = _offering(data)
    f = data.frames["exam_retake"]
    in_offering = np.array([(str(s), int(y)) in offering for s, y in zip(f["school_id"], f["year"])])
    assert (f["offering_school"].to_numpy() == in_offering).all()
    assert (~in_offering).sum() > 0 and (f.loc[~in_offering, "D"] == 0).all()
    assert (f["grade"] == 9).all() and f["repeated"].all() and (f["ce9_prev_min"] < data.pass_mark).all()
    assert {"school_ce9_prev", "school_urban", "school_latvian"} <= set(study.OUTCOMES["exam_retake"].covariates)
    for outcome in ("wellbeing", "absences", "literacy"):
        g = data.frames[outcome]
        assert all((str(s), int(y)) in offering for s, y in zip(g["school_id"], g["year"])), outcome


def test_exam_retake_with_too_few_comparisons_is_not_estimated_and_says_why(sample):
    """The rule: fewer than min_rows supported or comparison pupils -> not estimated, with the counts in
    the reason (the report prints scs.not_estimated). The offering schools alone hold fewer comparisons
    than the frame with the other schools' repeaters; at a threshold between the two only the latter is
    estimated."""
    _, data = sample
    f = data.frames["exam_retake"]
    alone = f[f["offering_school"] == 1]
    n_alone, n_all = int((alone["D"] == 0).sum()), int((f["D"] == 0).sum())
    threshold = n_alone + 1
    assert n_all >= threshold and int((f["D"] == 1).sum()) >= threshold
    res = study.outcome_effects(alone, "exam_retake", min_rows=threshold)
    assert not res.estimable and f"{n_alone} comparison" in res.reason
    assert study.designs_frame({"exam_retake": res}).empty
    assert study.outcome_effects(f, "exam_retake", min_rows=threshold).estimable


@pytest.mark.slow
def test_exam_retake_effect_is_recovered_at_national_scale(tmp_path):
    """The national data set of the current generator (written and read back as a user's data): the
    value-added CI covers the stored effect and the effect per 10 hours, the naive comparison lies on
    the stored side; truths read from its own true_effects.json."""
    from evaltools.data.synth import generate, write

    out = tmp_path / "national"
    write(generate("national", seed=20240901), out)
    ds = load_dataset(out, needs=study.NEEDS, optional=study.OPTIONAL, rows=study.ROWS)
    data = study.prepare(ds)
    truth = json.loads((out / "true_effects.json").read_text(encoding="utf-8"))
    res = study.outcome_effects(data.frames["exam_retake"], "exam_retake")
    assert res.estimable, res.reason
    check = study.truth_check(truth, {"exam_retake": res}, pass_mark=data.pass_mark).set_index("quantity")
    assert "effect" in check.index, check
    for quantity, row in check.iterrows():
        assert row["covered"], (quantity, row.to_dict())
    assert check.loc["effect", "naive_as_stored"], check.loc["effect"].to_dict()


# ------------------------------------------------------------------------------- reading the data
def test_an_extract_without_preschool_scores_is_read_and_needs_for_still_works_with_a_warning(tmp_path):
    """OPTIONAL goes to load_dataset(optional=...): read when the folder has the file, absent otherwise;
    the old needs_for() gives the same tables, with a DeprecationWarning naming the new call."""
    assert set(study.OPTIONAL) == {"preschool_assessments"} and not set(study.OPTIONAL) & set(study.NEEDS)
    for name in study.NEEDS:
        shutil.copy(SAMPLE / f"{name}.parquet", tmp_path / f"{name}.parquet")
    ds = load_dataset(tmp_path, needs=study.NEEDS, optional=study.OPTIONAL, rows=study.ROWS)
    assert "preschool_assessments" not in ds and "community_support" in ds
    with pytest.warns(DeprecationWarning, match="optional=study.OPTIONAL"):
        assert study.needs_for(tmp_path) == study.NEEDS
    shutil.copy(SAMPLE / "preschool_assessments.parquet", tmp_path / "preschool_assessments.parquet")
    with pytest.warns(DeprecationWarning):
        assert study.needs_for(tmp_path) == {**study.NEEDS, **study.OPTIONAL}


# ------------------------------------------------------------------------------- the shipped sample
def test_costs_are_the_hours_times_the_assumed_rate(sample):
    _, data = sample
    c = study.costs(data, cost_per_hour=30.0)
    assert math.isclose(c["total"], 30.0 * float(data.support["hours"].sum()))
    assert math.isclose(c["per_pupil"].per_pupil, c["total"] / data.support["pupil_id"].nunique())


def test_subgroups_are_adjusted_for_multiple_testing(results):
    sub = results.subgroups["wellbeing"]
    assert len(sub) >= 4 and (sub["supported"] >= 20).all()
    assert (sub["p_bh"] >= sub["pvalue"] - 1e-12).all()
    order = sub.sort_values("pvalue")
    assert order["p_bh"].is_monotonic_increasing


def test_each_stored_truth_is_recovered_and_the_naive_comparison_is_biased_as_stored(sample, results):
    """Reads every community_support_* truth from data/sample/true_effects.json (the generator may add
    outcomes): an outcome estimable on the sample must be in the truth check, its CI must cover the
    truth at the shipped seed, and the naive comparison must lie on the stored side of it."""
    stored = json.loads((SAMPLE / "true_effects.json").read_text(encoding="utf-8"))
    names = {e["name"] for e in stored["effects"] if e["name"].startswith("community_support_")}
    assert "community_support_wellbeing" in names
    check = results.check
    for outcome, spec in study.OUTCOMES.items():
        if spec.truth not in names:
            assert outcome in results.no_truth
            continue
        if not results.outcomes[outcome].estimable:  # e.g. subject support: a handful of pupils at sample scale
            assert results.outcomes[outcome].reason
            continue
        rows = check[check["outcome"] == outcome].set_index("quantity")
        assert "effect" in rows.index, outcome
        for quantity, row in rows.iterrows():
            assert row["covered"], (outcome, quantity, row.to_dict())
        if study.bias_direction(study.effect_truth(stored, spec.truth)) is not None:
            assert rows.loc["effect", "naive_as_stored"], (outcome, rows.loc["effect"].to_dict())


def test_year_and_grade_dummies_are_those_of_get_dummies_on_the_text():
    """The regressions' year and grade dummies (built from codes, not from the text of every row)
    are pandas' dummies of the text, in its column order ("10" before "9"), first level dropped."""
    from evaltools.studies.school_community_support.effects import _dummies

    rng = np.random.default_rng(4)
    for values in (pd.Series(rng.integers(1, 13, 500)), pd.Series(rng.integers(2016, 2024, 300)).astype("int32"),
                   pd.Series([9] * 7), pd.Series(rng.choice([8.0, 9.0, 10.0], 50))):
        expected = pd.get_dummies(values.astype(str), drop_first=True, dtype=float).to_numpy(float)
        got = _dummies(values)
        assert got.shape == expected.shape and (got == expected).all()
