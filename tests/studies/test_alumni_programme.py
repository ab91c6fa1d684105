"""The alumni growth programme study (evaltools.studies.alumni, notebooks/alumni_programme.ipynb).

The truth check runs the study's designs on the shipped synthetic sample and compares them
with the true effects stored in ``data/sample/true_effects.json`` (read from the file, not
the code): every estimate's 95 % CI must cover its true value, and the naive comparison must
make the programme look better than the truth (motivated teachers select in).
"""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaltools.cli import main
from evaltools.data import load_dataset
from evaltools.estimate.result import Estimate
from evaltools.report import i18n
from evaltools.studies import alumni
from tests import ROOT

SAMPLE = ROOT / "data" / "sample"
NOTEBOOK = ROOT / "notebooks" / "alumni_programme.ipynb"
PARAMS = sorted((ROOT / "params").glob("alumni_programme*.yaml"))
TABLES = ["teachers", "teacher_years", "teacher_practices", "assessments"]


@pytest.fixture(scope="module")
def data():
    return load_dataset(SAMPLE, tables=TABLES)


@pytest.fixture(scope="module")
def study(data):
    return alumni.build(data)


@pytest.fixture(scope="module")
def truth():
    return json.loads((SAMPLE / "true_effects.json").read_text(encoding="utf-8"))


# -- frames ------------------------------------------------------------------------------


def test_frames_follow_the_source_tables(data, study):
    teachers = data["teachers"]
    ty = study.teacher_years
    joined = teachers.loc[teachers["growth_programme_start"].notna(), "teacher_id"]
    assert set(study.participants) == set(joined) and study.cohorts == (2016, 2017, 2018, 2019)
    # a teacher-year is a participant-year exactly from the joining year on
    part = ty[ty["cohort"].notna()]
    assert ((part["gp"] == 1) == (part["year"] >= part["cohort"])).all()
    assert (ty.loc[ty["cohort"].isna(), "gp"] == 0).all()
    keyed = ty.set_index(["teacher_id", "year"])["left"]
    stayed = data["teacher_years"].set_index(["teacher_id", "year"])["stayed"].reindex(keyed.index)
    assert (keyed == (~stayed).astype(float)).all()
    # chances: joining years taught so far; every participant had one by the year they joined
    assert (part.loc[part["year"] == part["cohort"], "chances"] >= 1).all()
    assert ty.groupby("teacher_id")["chances"].apply(lambda s: s.is_monotonic_increasing).all()
    # scores are centred within test, subject and year
    assert study.scores.groupby("cell")["score_c"].mean().abs().max() < 1e-9
    # a colleague is a non-participant in a school with an active participant that year
    p = study.practices
    active = ty.groupby(["school_id", "year"])["gp"].max()
    assert (p.loc[p["colleague"] == 1, "gp"] == 0).all()
    assert (active.reindex(pd.MultiIndex.from_frame(p.loc[p["colleague"] == 1, ["school_id", "year"]])) == 1).all()


def test_cohort_range_drops_other_cohorts_everywhere(data):
    recent = alumni.build(data, 2018, 2019)
    starts = data["teachers"].set_index("teacher_id")["growth_programme_start"]
    early = set(starts[starts.isin([2016, 2017])].index)
    assert recent.cohorts == (2018, 2019) and recent.dropped_cohorts == (2016, 2017)
    assert recent.programme_start == 2018
    assert not early & set(recent.teacher_years["teacher_id"]) and not early & set(recent.scores["teacher_id"])
    tainted = set(data["teacher_years"].loc[data["teacher_years"]["teacher_id"].isin(early), "school_id"])
    assert not tainted & set(recent.practices["school_id"])
    with pytest.raises(alumni.StudyInputError, match="No participation cohort between 2030 and 2031"):
        alumni.build(data, 2030, 2031)


def test_promotion_frame_marks_moves_into_leadership():
    ty = pd.DataFrame({
        "teacher_id": ["a", "a", "a", "b", "b", "c"],
        "year": [2016, 2017, 2018, 2016, 2017, 2016],
        "role": ["teacher", "subject_lead", "subject_lead", "teacher", "head", "teacher"],
        "left": [0.0, 0.0, 1.0, 0.0, 0.0, 1.0],
    })
    out = alumni.promotion_frame(ty).set_index(["teacher_id", "year"])["promoted"]
    # a: promoted after 2016; b: became head (not a promotion route); c left (not at risk)
    assert out.to_dict() == {("a", 2016): 1, ("b", 2016): 0}


def test_common_support_drops_values_no_participant_has():
    d = pd.DataFrame({"gp": [1, 1, 0, 0, 0], "old": [0, 0, 0, 1, 1], "x": [1, 2, 3, 4, 5]})
    assert alumni.common_support(d, ["old"])["x"].tolist() == [1, 2, 3]


# -- designs -----------------------------------------------------------------------------


def test_gcomp_att_recovers_a_simulated_att():
    """The regression-adjusted ATT of the teacher-year logit against the simulated truth."""
    rng = np.random.default_rng(7)
    n_teachers, years = 3000, range(2016, 2021)
    eng = rng.normal(0, 1, n_teachers)
    rows = []
    for i in range(n_teachers):
        for y in years:
            gp = int(rng.random() < 1 / (1 + np.exp(-(eng[i] - 0.5))))
            p0 = 1 / (1 + np.exp(-(-2.0 - 0.8 * eng[i])))
            p1 = 1 / (1 + np.exp(-(-2.0 - 0.8 * eng[i] - 0.7)))
            left = float(rng.random() < (p1 if gp else p0))
            rows.append((f"t{i}", y, gp, eng[i], left, p1 - p0))
            if left:  # a teacher who leaves is not observed again
                break
    d = pd.DataFrame(rows, columns=["teacher_id", "year", "gp", "engagement", "left", "effect"])
    out = alumni._logit_effects(d, "left", ["engagement"], "leaving")
    true_att = d.loc[d["gp"] == 1, "effect"].mean()
    assert out["gcomp"].ci_low <= true_att <= out["gcomp"].ci_high
    assert out["hazard"].ci_low <= -0.7 <= out["hazard"].ci_high
    assert out["naive"].estimate < true_att  # engaged teachers select in and leave less


def test_matched_cohorts_balance_engagement_and_censor_later_joiners(study):
    cohort = alumni.matched_cohort(study)
    bal = cohort.balance().to_frame().loc["engagement"]
    assert abs(bal[("unadjusted", "norm_diff")]) > 0.5 and abs(bal[("adjusted", "norm_diff")]) < 0.1
    d = cohort.frame
    later = d[(d["treated"] == 0) & d["cohort"].notna()]
    assert len(later) and (later["cohort_year"] + later["duration"] - 1 == later["cohort"] - 1).all()
    assert (later["event"] == 0).all()
    assert (cohort.weights[d["treated"] == 1] == 1).all()
    within = cohort.left_within(3)
    assert within.ci_low <= within.estimate <= within.ci_high


def test_subgroups_leave_out_small_groups_and_test_equality(study):
    groups, p = alumni.subgroups(study, "pupil_results", "subject", min_participants=10)
    assert groups and all(e.n["units"] >= 10 for e in groups.values()) and 0 <= p <= 1
    big, _ = alumni.subgroups(study, "pupil_results", "subject", min_participants=10_000)
    assert big == {}
    with pytest.raises(alumni.StudyInputError, match="by must be one of"):
        alumni.subgroups(study, "pupil_results", "colour")


def test_costs_and_mdes_follow_their_formulas(study):
    att = Estimate.from_normal("att", -0.04, 0.01)
    c = alumni.costs(study, 1000.0, att)
    counts = study.counts()
    assert c.total == 1000.0 * counts["participant_years"]
    assert math.isclose(c.per_participant.per_pupil, c.total / counts["participants"])
    assert math.isclose(c.per_leaving_avoided.estimate.estimate, c.total / (0.04 * counts["participant_years"]))
    assert math.isclose(alumni.standardised_mdes(att, 0.25), (1.959964 + 0.841621) * 0.01 / 0.25, rel_tol=1e-5)
    with pytest.raises(alumni.StudyInputError):
        alumni.costs(study, -1.0, att)


def test_truth_check_logic():
    truth = {"effects": [{"name": "growth_programme_retention", "true_value": -0.7,
                          "realised": {"att_probability": -0.04}}]}
    e = lambda v: Estimate.from_normal("e", v, 0.1)  # noqa: E731
    check = alumni.truth_check(truth, {"retention": {"hazard": e(-0.6), "hazard_naive": e(-1.5),
                                                     "gcomp": e(0.5), "naive": e(0.0)}})
    assert check.loc["retention log OR", "covered"] and check.loc["retention log OR", "naive_favourable"]
    assert not check.loc["retention ATT", "covered"] and not check.loc["retention ATT", "naive_favourable"]
    assert alumni.truth_check(None, {}).empty


# -- the truth check on the shipped sample -------------------------------------------------


def test_true_effects_are_recovered_and_the_naive_comparison_is_biased_upward(study, truth):
    """Every stored growth-programme effect lies inside the study's 95 % CI; the naive
    comparison makes the programme look better than the truth for every one of them."""
    assert study.truth == truth
    estimates = {
        "retention": alumni.retention(study),
        "leadership": alumni.leadership(study),
        "pupil_results": (lambda r: {"adjusted": r.adjusted, "naive": r.naive})(alumni.pupil_results(study)),
        "collaboration": (lambda r: {"twfe": r.twfe, "naive": r.naive})(alumni.collaboration(study)),
    }
    check = alumni.truth_check(truth, estimates)
    assert set(check.index) == set(alumni.TRUTH_MAP), check
    assert check["covered"].all(), check[["truth", "estimate", "ci_low", "ci_high"]]
    assert check["naive_favourable"].all(), check[["truth", "naive"]]
    # the stored values are the ones in the sidecar file, on their own scales
    effects = {e["name"]: e for e in truth["effects"]}
    assert check.loc["retention log OR", "truth"] == effects["growth_programme_retention"]["true_value"]
    assert check.loc["leadership ATT", "truth"] == effects["growth_programme_leadership"]["realised"]["att_probability"]


def test_the_other_designs_also_cover_the_truth(study, truth):
    """DiD over participation cohorts (pupils' results) and the multilevel model's clustering."""
    effects = {e["name"]: e["true_value"] for e in truth["effects"]}
    pupils = alumni.pupil_results(study)
    assert pupils.did is not None
    assert pupils.did.ci_low <= effects["growth_programme_pupil_results"] <= pupils.did.ci_high
    # the teacher effect in the scores makes the independent-errors SE too small
    assert pupils.design_effect > 1.2 and pupils.icc_teacher.estimate > 0.01
    g = pupils.effect_size()
    assert 0 < g.value < 1 and g.ci_low < g.value < g.ci_high


# -- notebook, messages, params -----------------------------------------------------------


def _used_keys() -> set[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    text += "".join(f.read_text(encoding="utf-8") for f in Path(alumni.__file__).parent.glob("alumni_programme/*.py"))
    return set(re.findall(r"""["'](am\.[a-z_.]+)["']""", text))  # literal keys; f-string keys: see below


def test_every_message_key_the_study_uses_exists_in_both_languages():
    keys = _used_keys()
    assert len(keys) > 40, "the scan found too few keys: the pattern is wrong"
    catalogue = i18n.catalogue()
    missing = sorted(k for k in keys if k not in catalogue)
    assert not missing, f"keys used by the alumni study but not in messages.yaml: {missing}"
    # keys built with f-strings: every variant the study can ask for
    for prefix, names in {"am.col.": ["outcome", "estimate", "ci_low", "ci_high", "naive", "participants"],
                          "am.row.": ["retention", "leadership", "pupils", "spillover", "own"],
                          "am.cov.": alumni.COHORT_COVARIATES,
                          "am.subject.": ["math", "latvian", "english", "science"],
                          "am.group.role.": ["teacher", "leader"],
                          "am.group.school_type.": ["basic", "secondary"],
                          "am.flow.": ["declared", "found", "analysed"],  # the steps of alumni.sample_flow_counts
                          "am.flow.aside.": ["found", "analysed"]}.items():
        for name in names:
            assert prefix + name in catalogue, prefix + name
    unused = sorted(k for k in catalogue if k.startswith("am.") and k not in keys
                    and not any(k.startswith(p) for p in ("am.col.", "am.row.", "am.cov.", "am.subject.", "am.group.",
                                                          "am.flow.")))
    assert not unused, f"am. keys nobody uses: {unused}"


def test_notebook_has_typed_parameters_and_no_outputs():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert set(nb["metadata"]["evaltools"]["title"]) == {"lv", "en"}


@pytest.mark.parametrize("params", PARAMS, ids=[p.name for p in PARAMS])
def test_every_shipped_params_file_validates(params, capsys):
    assert main(["--root", str(ROOT), "run", "alumni_programme", "-p", str(params.relative_to(ROOT)), "--check"]) == 0
    assert len(PARAMS) >= 3


# -- end to end (slow) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("alumni_project")
    for sub in ("notebooks", "params"):
        (root / sub).mkdir()
    shutil.copy(NOTEBOOK, root / "notebooks")
    for p in PARAMS:
        shutil.copy(p, root / "params")
    shutil.copytree(SAMPLE, root / "data" / "sample")
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("params", PARAMS, ids=[p.name for p in PARAMS])
def test_every_params_file_runs_renders_its_language_and_protects_every_table(project, params):
    assert main(["--root", str(project), "run", "alumni_programme", "-p", f"params/{params.name}"]) == 0
    run = max((project / "reports" / "alumni_programme").glob(f"*-{params.stem}"))
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    language = manifest["parameters"]["language"]
    page = (run / "report.html").read_text(encoding="utf-8")
    assert f'lang="{language}"' in page
    assert i18n.t("am.h.summary", language) in page and i18n.t("am.h.cost", language) in page
    results = json.loads((run / "results.json").read_text())
    assert results["headline_card"]["value"]["type"] == "headline"
    assert {"results_summary", "balance_matched"} <= set(results)


def test_sample_flow_counts_are_the_participants_declared_found_and_analysed(study):
    analysed = alumni.retention(study)["gcomp"].n["units"]
    flow = alumni.sample_flow_counts(study, analysed)
    assert flow == {"declared": study.declared_participants, "found": len(study.participants), "analysed": analysed}
    # the EEF attrition of the rating is the share of the declared participants not analysed
    assert alumni.attrition_pct(study, analysed) == pytest.approx(100 * (flow["declared"] - flow["analysed"])
                                                                  / flow["declared"])
    with pytest.raises(alumni.StudyInputError, match="do not form a flow"):
        alumni.sample_flow_counts(study, flow["found"] + 1)


def _record_keys(results: dict) -> dict:
    """What a program reading results.json relies on: record names, and for each record its
    keys (a table's columns, index columns included)."""
    out = {}
    for name, entry in results.items():
        value = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
        if isinstance(value, dict) and value.get("type") == "protected_table":
            out[name] = tuple(value["columns"])
        else:
            out[name] = tuple(sorted(value)) if isinstance(value, dict) else type(value).__name__
    return out


@pytest.mark.slow
def test_latvian_and_english_runs_give_the_same_results_json_keys(project):
    found = {}
    for stem in ("alumni_programme", "alumni_programme_en"):
        runs = sorted((project / "reports" / "alumni_programme").glob(f"*-{stem}"))
        if not runs:  # run alone: make the runs here
            assert main(["--root", str(project), "run", "alumni_programme", "-p", f"params/{stem}.yaml"]) == 0
            runs = sorted((project / "reports" / "alumni_programme").glob(f"*-{stem}"))
        found[stem] = json.loads((runs[-1] / "results.json").read_text("utf-8"))
    lv, en = (_record_keys(found[s]) for s in ("alumni_programme", "alumni_programme_en"))
    assert lv == en
    assert lv["results_summary"][0] == "outcome" and lv["balance_matched"][0] == "variable"
    assert lv["sample_flow"] == ("step", "n", "aside")
