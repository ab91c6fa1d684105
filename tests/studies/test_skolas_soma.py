"""The Latvijas skolas soma study (evaltools.studies.skolas_soma, notebooks/skolas_soma.ipynb).

Unit checks of coverage, equity, the funnel flags and disclosure on small hand-made frames; the
association's designs on data whose truth is known by construction; the truth check on the
shipped sample (the stored truth is read from data/sample/true_effects.json, never written here)
and, slow, over 20 generator seeds."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaltools.report import disclosure, i18n, sections
from evaltools.studies import skolas_soma as study
from evaltools.studies.skolas_soma import association, coverage, publish
from evaltools.studies.skolas_soma.frames import SomaData
from tests.studies.glossary_use import unexplained

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "skolas_soma.ipynb"
SAMPLE = ROOT / "data" / "sample"


# -- the scaffold's checks, kept ------------------------------------------------------------------
def test_the_study_offers_the_verbs_that_apply():
    for verb in ("prepare", "headline", "subgroups", "truth_check"):
        assert callable(getattr(study, verb)), verb
    assert not hasattr(study, "costs")  # no costs in the data: the verb does not apply (docstring says so)


def test_the_report_glossary_explains_every_acronym_its_texts_use():
    """The notebook shows publish.GLOSSARY_TERMS; every acronym of the skolas_soma.* texts (BH, CI/TI) is
    explained by one of those entries, in both languages (tests/studies/glossary_use.py)."""
    text = "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"])
    assert "glossary_section(study.publish.GLOSSARY_TERMS)" in text
    assert not unexplained("skolas_soma.", publish.GLOSSARY_TERMS)
    assert "multiple_testing" in publish.GLOSSARY_TERMS  # the Benjamini-Hochberg adjusted association table
    for lang in i18n.LANGUAGES:  # every listed entry exists (glossary_section refuses an unknown one)
        assert len(sections.glossary_section(publish.GLOSSARY_TERMS, lang).items) == len(publish.GLOSSARY_TERMS)


def test_every_message_key_the_notebook_names_exists_in_both_languages():
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)
    literal = set(re.findall(r'"(skolas_soma\.[a-z_.0-9]+)"', text))
    catalogue = i18n.catalogue()
    assert literal and not (literal - set(catalogue)), sorted(literal - set(catalogue))
    for key in (k for k in catalogue if k.startswith("skolas_soma.")):
        assert set(catalogue[key]) == {"lv", "en"}, key


def test_every_level_and_column_the_report_labels_has_a_text():
    catalogue = i18n.catalogue()
    for dim, levels in study.frames.ORDER.items():
        for code in levels:
            assert f"skolas_soma.level.{dim}.{code}" in catalogue, (dim, code)
    for dim, levels in association.SUBGROUPS.items():
        assert f"skolas_soma.col.{dim}" in catalogue
        for code in levels:
            assert f"skolas_soma.level.{dim}.{code}" in catalogue, (dim, code)


# -- coverage and equity on a hand-made frame -----------------------------------------------------
def _tiny(region: str | None = None) -> SomaData:
    """Two schools, one year, two semesters; school A: 12 pupils, 9 with an activity in semester 1
    and 6 in semester 2; school B: 30 pupils, all with an activity in both semesters."""
    rows = []
    for school, n, met1, met2 in (("A", 12, 9, 6), ("B", 30, 30, 30)):
        for i in range(n):
            pid = f"{school}{i:03d}"
            rows.append({"pupil_id": pid, "year": 2023, "semester": 1, "school_id": school,
                         "activities": int(i < met1)})
            rows.append({"pupil_id": pid, "year": 2023, "semester": 2, "school_id": school,
                         "activities": 2 * int(i < met2)})
    s = pd.DataFrame(rows)
    attrs = pd.DataFrame({"school_id": ["A", "B"], "municipality": ["M1", "M2"], "region": ["R", "R"],
                          "urban": ["rural", "urban"], "language": ["latvian", "minority"],
                          "size_band": ["lt100", "lt100"], "name": ["Skola A", "Skola B"],
                          "label": ["Skola A", "Skola B"], "municipality_id": ["m1", "m2"], "pupils": [12, 30]})
    s = s.merge(attrs[["school_id", "municipality", "region", "urban", "language", "size_band"]], on="school_id")
    s = s.assign(met=s["activities"] >= 1, ses_band="middle", grade=5)
    directory = {"schools": attrs[["school_id", "municipality_id", "name"]],
                 "municipalities": pd.DataFrame({"municipality_id": ["m1", "m2"], "name": ["M1", "M2"]})}
    return SomaData(semesters=s, pupil_years=pd.DataFrame(), schools=attrs, national_semesters=s, region=region,
                    first_year=2023, last_year=2023, directory=directory)


def test_semester_trend_is_the_share_meeting_the_rule_in_each_semester():
    trend = coverage.semester_trend(_tiny(), area_label="Latvija", latvia_label="Latvija")
    s1, s2 = trend.loc[("Latvija", 2023, 1)], trend.loc[("Latvija", 2023, 2)]
    assert (s1["pupils"], s1["met"]) == (42, 39) and s1["met_pct"] == pytest.approx(100 * 39 / 42)
    assert (s2["pupils"], s2["met"]) == (42, 36)
    assert s2["position"] == 2023.5 and not s1["pandemic"]


def test_equity_levels_add_up_to_the_total_in_the_report_order():
    t = coverage.by_dimension(_tiny(), "urban", total_label="Kopā")
    assert list(t.index) == ["urban", "rural", "Kopā"]  # the report's order, not the alphabet
    assert t.loc["Kopā", "pupils"] == t.drop("Kopā")["pupils"].sum() == 84
    assert t.loc["rural", "met"] == 15
    with pytest.raises(ValueError, match="unknown dimension 'colour'"):
        coverage.by_dimension(_tiny(), "colour", total_label="Kopā")


def test_school_compliance_is_the_municipal_indicator_every_semester():
    d = _tiny()
    from evaltools.data.io import Dataset

    like = Dataset(path=Path("."), tables={"skolas_soma": d.semesters, **d.directory})
    t = coverage.school_compliance(d, like)
    # school A: pupils 0-5 had an activity in both semesters (6 of 12); B: all 30
    assert t.loc["Skola A", ["pupils", "covered"]].tolist() == [12, 6]
    assert t.loc["Skola B", "covered_pct"] == 100
    assert coverage.compliance_rate(like, ["A", "B"], 2023) == (42, 36)


def test_funnel_flags_a_school_far_below_the_rate_and_leaves_hidden_ones_unjudged():
    pupils = pd.Series([400.0, 400.0, np.nan, 20.0], index=list("abcd"))
    pct = pd.Series([30.0, 51.0, 10.0, 45.0], index=list("abcd"))
    flags = coverage.funnel_flags(pupils, pct, theta_pct=50.0)
    assert flags["a"] == -1 and flags["b"] == 0 and flags["d"] == 0 and np.isnan(flags["c"])


def test_a_small_school_is_hidden_never_named_as_falling_short_and_cannot_come_back_from_the_total():
    frame = pd.DataFrame({"municipality": ["M", "M", "M"], "pupils": [400, 6, 300], "covered": [120, 0, 150],
                          "covered_pct": [30.0, 0.0, 50.0]}, index=pd.Index(["Big", "Tiny", "Mid"], name="school"))
    table = publish.school_table(frame, (706, 270), total_label="Kopā", threshold=10)
    assert table.hidden.at["Tiny", "pupils"] and table.hidden.at["Tiny", "covered_pct"]
    disclosure.assert_safe(table)  # the total row does not give the small school back
    short, unjudged = publish.falling_short(table, theta_pct=50.0, total_label="Kopā")
    assert "Tiny" not in short.index and unjudged >= 1
    assert short.index.tolist() == ["Big"]  # 30 % of 400 pupils is far below 50 %


# -- the association's designs on data with a known truth -----------------------------------------
def _confounded(effect: float, seed: int = 1, schools: int = 40, per: int = 60) -> pd.DataFrame:
    """Schools with more activities have better-off pupils (higher wellbeing); within a school,
    activities are random and change wellbeing by ``effect`` per activity."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.5, 2.5, schools)
    rows = []
    for s in range(schools):
        for y in (2021, 2022):
            act = rng.poisson(rate[s], per).astype(float)
            wb = 50 + 8 * rate[s] + effect * act + rng.normal(0, 8, per)
            rows.append(pd.DataFrame({"pupil_id": [f"p{s}_{i}" for i in range(per)], "year": y,
                                      "school_id": f"S{s}", "activities": act, "wellbeing": wb}))
    return pd.concat(rows, ignore_index=True)


def test_within_school_removes_the_school_confounding_that_the_naive_slope_keeps():
    d = _confounded(0.0)
    within, naive = association.within_school(d, "wellbeing"), association.naive(d, "wellbeing")
    assert naive.ci_low > 0  # crude association: urban, better-off schools offer more
    assert within.ci_low <= 0 <= within.ci_high
    assert within.n["schools"] == 40 and within.n["pupil_years"] == len(d)
    real = association.within_school(_confounded(1.5), "wellbeing")
    assert real.ci_low <= 1.5 <= real.ci_high and real.ci_low > 0


def test_few_schools_use_cr2_and_too_few_are_refused():
    d = _confounded(0.0, schools=8)
    assert "CR2" in association.within_school(d, "wellbeing").method
    with pytest.raises(ValueError, match="only 3 schools"):
        association.within_school(d[d["school_id"].isin(["S0", "S1", "S2"])], "wellbeing")


# -- the shipped sample: one headline for the module ----------------------------------------------
@pytest.fixture(scope="module")
def sample():
    from evaltools.data import load_dataset

    disclosure.set_defaults(threshold=10)
    ds = load_dataset(SAMPLE, needs=study.NEEDS, rows=study.ROWS)
    data = study.prepare(ds)
    res = study.headline(data, area_label="Latvija", latvia_label="Latvija", total_label="Kopā")
    truth = json.loads((SAMPLE / "true_effects.json").read_text(encoding="utf-8"))
    return ds, data, res, truth


def test_sample_tables_are_protected_and_add_up(sample):
    _, data, res, _ = sample
    for table in (res.trend, res.schools, *res.dimensions.values()):
        disclosure.assert_safe(table)
    last = res.trend.data.xs(data.last_year, level="year")["pupils"].sum()
    for dim, table in res.dimensions.items():
        assert table.data.at["Kopā", "pupils"] == last, dim  # pupil-semesters of the last year, every breakdown
    assert res.rate_latvia.value == pytest.approx(res.rate_area.value)  # the area is Latvia
    assert (res.tests["p_adjusted"] >= res.tests["pvalue"] - 1e-12).all()


def test_sample_urban_schools_offer_more_as_the_generator_says(sample):
    _, _, res, truth = sample
    entry = study.stored_truth(truth)
    assert "urban" in entry["confounding"]
    urban = res.dimensions["urban"].data["met_pct"]
    assert urban.iloc[0] > urban.iloc[1]  # urban first, then rural


def test_truth_check_reads_the_stored_truth_and_the_naive_slope_is_biased_as_stored(sample):
    _, _, res, truth = sample
    entry = study.stored_truth(truth)
    check = study.check(truth, res)
    assert check.loc["within_school", "truth"] == float(entry["true_value"])
    assert "upward" in entry["naive_bias_direction"]
    assert check.loc["within_school", "naive_bias"] > 0 and res.naive.ci_low > entry["true_value"]
    assert res.within.estimate < res.naive.estimate


def test_estimate_compatible_with_the_stored_truth_at_the_shipped_seed(sample):
    """The issue's requirement: the study must not claim an effect that is not there."""
    _, _, res, truth = sample
    check = study.check(truth, res)
    row = check.loc["within_school"]
    assert row["covered"], (f"within-school slope {row['estimate']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}] "
                            f"excludes the stored truth {row['truth']}")


def test_truth_check_is_empty_on_real_data_and_checks_its_inputs():
    from evaltools.core.result import Estimate

    e = Estimate.from_normal("x", 0.1, 0.1)
    assert study.truth_check(None, e).empty
    assert study.truth_check({"effects": []}, e).empty
    fake = {"effects": [{"name": study.TRUTH_NAME, "true_value": 0.2}]}
    row = study.truth_check(fake, e, Estimate.from_normal("n", 0.9, 0.1)).loc["within_school"]
    assert row["covered"] and row["bias"] == pytest.approx(-0.1) and row["naive_bias"] == pytest.approx(0.7)
    far = {"effects": [{"name": study.TRUTH_NAME, "true_value": 0.5}]}
    assert not study.truth_check(far, e).loc["within_school", "covered"]  # 0.1 +- 1.96 x 0.1 misses 0.5


def test_bad_parameters_get_a_clear_message(sample):
    ds = sample[0]
    with pytest.raises(study.SomaDataError, match="region='Sēlija'.*Latgale"):
        study.prepare(ds, region="Sēlija")
    with pytest.raises(study.SomaDataError, match="first_year=2030"):
        study.prepare(ds, first_year=2030, last_year=2031)
    with pytest.raises(ValueError, match="by must be one of"):
        study.subgroups(sample[1], "colour")


# -- over generator seeds (slow) ------------------------------------------------------------------
@pytest.mark.slow
def test_within_school_ci_covers_the_stored_truth_in_90_percent_of_20_seeds(tmp_path):
    """The generator at its smallest scale (``sample``), 20 seeds, each written to a folder and
    read back as a user's data; the truth is each seed's own true_effects.json."""
    from evaltools.data import load_dataset
    from evaltools.data.synth import generate, write

    covered = 0
    for seed in range(1000, 1020):
        out = tmp_path / str(seed)
        write(generate("sample", seed=seed), out)
        ds = load_dataset(out, needs=study.NEEDS, rows=study.ROWS)
        data = study.prepare(ds)
        within = association.within_school(association.rows(data, "wellbeing"), "wellbeing")
        truth = json.loads((out / "true_effects.json").read_text(encoding="utf-8"))
        covered += bool(study.truth_check(truth, within).loc["within_school", "covered"])
    assert covered >= 18, f"the 95 % CI covered the truth in {covered} of 20 seeds"


def test_the_own_data_template_reads_an_extract_named_in_latvian(tmp_path, sample):
    """params/skolas_soma_own_data.yaml's mapping: the pupils of one region, written with the
    extract's Latvian column names and codes, are read back as the same data (same pupil-semesters,
    the same ones meeting the rule, the same school languages)."""
    from evaltools.data import load_dataset
    from evaltools.yamlfile import read_yaml

    ds, data, _, _ = sample
    mapping = ROOT / "params" / "mappings" / "skolas_soma_extract_lv.yaml"
    spec = read_yaml(mapping).data
    schools = set(data.schools.loc[data.schools["region"] == "Kurzeme", "school_id"])
    pupils = set(ds["pupil_years"].loc[ds["pupil_years"]["school_id"].isin(schools), "pupil_id"])
    for table in study.NEEDS:
        back = {ours: theirs for theirs, ours in spec.get(table, {}).items()}
        frame = ds[table]
        frame = frame[frame["pupil_id"].isin(pupils)].copy() if "pupil_id" in frame else frame.copy()
        for column, codes in spec.get("values", {}).get(table, {}).items():  # the extract's own codes
            if column in frame:
                frame[column] = frame[column].map({ours: theirs for theirs, ours in codes.items()}).fillna(frame[column])
        frame.rename(columns=back).to_parquet(tmp_path / f"{table}.parquet", index=False)
    assert "semestris" in pd.read_parquet(tmp_path / "skolas_soma.parquet").columns
    assert "latviesu" in set(pd.read_parquet(tmp_path / "schools.parquet")["macibu_valoda"])
    mine = study.prepare(load_dataset(tmp_path, mapping=mapping, needs=study.NEEDS, rows=study.ROWS))
    theirs = data.semesters[data.semesters["pupil_id"].isin(pupils)]
    assert len(mine.semesters) == len(theirs) > 0
    assert mine.semesters["met"].sum() == theirs["met"].sum()
    assert set(mine.schools["language"]) == set(data.schools["language"]) == {"latvian", "minority"}


def test_per_pupil_year_is_the_groupby_of_the_three_ids_in_first_appearance_order():
    """The pupil-year rows (built from one integer per pupil, year and school) are pandas' groupby of
    the three ids: the same rows in the same order, mean activities and semesters counted; a row
    with a missing id is left out as the groupby leaves it out."""
    from evaltools.studies.skolas_soma.frames import _per_pupil_year

    rng = np.random.default_rng(2)
    n = 400
    s = pd.DataFrame({"pupil_id": rng.choice([f"P{i}" for i in range(60)], n), "year": rng.choice([2019, 2021, 2020], n),
                      "semester": rng.choice([1, 2], n), "school_id": rng.choice(["S1", "S2", "S3"], n),
                      "activities": rng.integers(0, 4, n)}, index=rng.permutation(n) + 10)
    s.loc[s.index[[3, 50]], "school_id"] = None
    expected = s.groupby(["pupil_id", "year", "school_id"], as_index=False, sort=False).agg(
        activities=("activities", "mean"), semesters=("semester", "size"))
    pd.testing.assert_frame_equal(_per_pupil_year(s), expected, check_exact=True)
