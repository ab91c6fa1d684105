"""The evaluation planner (evaltools.studies.evaluation_planner, notebooks/evaluation_planner.ipynb):
frames of every outcome, the comparison and recommendation, the allocation (reproducible,
balanced within strata), the pre-analysis plan, the catalogue, and one run through the runner
whose published folder is attacked (no pupil-level data, no verdict)."""
from __future__ import annotations

import json
import re
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evaltools.design.budget import Costs
from evaltools.report import i18n
from evaltools.studies import evaluation_planner as study
from evaltools.studies.evaluation_planner import pap
from tests import ROOT

NOTEBOOK = ROOT / "notebooks" / "evaluation_planner.ipynb"
CANDIDATES = ["individual", "blocked_individual", "cluster2", "blocked_cluster", "cluster3"]


@pytest.fixture(scope="module")
def data():
    from evaltools.data import load_dataset

    return load_dataset(ROOT / "data" / "sample", tables=["assessments", "wellbeing_pupils"])


def _setting(**kw) -> study.Setting:
    base = dict(schools=60, pupils_per_school=25, municipalities=20, budget=300_000.0, target=0.2,
                costs=Costs(per_school=3000, per_pupil=20, fixed=20_000))
    base.update(kw)
    return study.Setting(**base)


@pytest.fixture(scope="module")
def planned(data):
    frames = study.prepare(data, "diag6_math")
    return frames, study.headline(frames, _setting(), candidates=CANDIDATES, seed=7, n_boot=20, n_sims=200)


def test_the_study_offers_prepare_and_headline():
    assert callable(study.prepare) and callable(study.headline)


@pytest.mark.parametrize("outcome", list(study.OUTCOMES))
def test_every_outcome_has_a_frame_with_schools_and_municipalities(data, outcome):
    f = study.prepare(data, outcome)
    assert len(f.pupils) > 500 and f.pupils["school_id"].nunique() >= 10
    assert f.pupils[["y", "school_id", "municipality_id"]].notna().all().all()
    assert set(f.covariates) <= set(f.pupils.columns) and "pupil_id" not in f.pupils
    assert f.schools["school_id"].is_unique


def test_unknown_outcome_lists_the_choices(data):
    with pytest.raises(ValueError, match="diag6_math"):
        study.prepare(data, "reading")


def test_the_recommended_design_is_the_cheapest_that_reaches_the_target(planned):
    _, res = planned
    plan = res.plan
    assert plan.reaches_target and plan.recommended == plan.needed.index[0]
    feasible = plan.needed[plan.needed["feasible"]]
    assert feasible["cost"].iloc[0] == feasible["cost"].min()
    # a school-wide measure: pupil-level designs are left out with their reason
    assert set(plan.excluded) == {"individual", "blocked_individual"}
    assert all(plan.excluded[c] == "below_delivery" for c in plan.excluded)
    # the MDES at the available size is the comparison table's
    assert res.recommended.mdes == pytest.approx(plan.table.loc[plan.recommended, "mdes"])


def test_no_design_reaching_the_target_says_so(data):
    frames = study.prepare(data, "diag6_math")
    res = study.compare_designs(CANDIDATES, _params(frames), _setting(target=0.02), has_pretest=True)
    assert not res.reaches_target and res.reasons[0][0] == "closest"
    assert not res.needed["feasible"].any()


def _params(frames):
    from evaltools.design import design_parameters

    return design_parameters(frames.pupils, "y", covariates=list(frames.covariates), n_boot=0)


def test_the_allocation_is_reproducible_and_balanced(planned, data):
    frames, res = planned
    again = study.headline(frames, _setting(), candidates=CANDIDATES, seed=7, n_boot=0, n_sims=2)
    assert again.allocation.table.equals(res.allocation.table)
    assert res.allocation.value <= 0.1 and int(res.allocation.table["treated"].sum()) == 30
    other = study.headline(frames, _setting(), candidates=CANDIDATES, seed=8, n_boot=0, n_sims=2)
    assert not other.allocation.table["treated"].equals(res.allocation.table["treated"])


def test_a_blocked_allocation_treats_half_of_each_municipality(data):
    frames = study.prepare(data, "diag6_math")
    res = study.headline(frames, _setting(schools=80, municipalities=20), candidates=["blocked_cluster"], seed=3,
                         n_boot=0, n_sims=2)
    alloc = res.allocation
    assert alloc.strata == "municipality_id"
    sizes = alloc.table.groupby("municipality_id")["treated"].agg(["size", "sum"])
    assert ((sizes["sum"] - sizes["size"] / 2).abs() <= 0.5).all()


def test_a_stepped_rollout_starts_the_treated_first_and_has_simulated_power(data):
    frames = study.prepare(data, "wellbeing")
    res = study.headline(frames, _setting(schools=40, pupils_per_school=30, target=0.25), candidates=["cluster2"],
                         seed=1, n_boot=0, n_sims=2, waves=3, first_year=2025, rollout_sims=8)
    start = res.schedule.set_index("school_id")["start"]
    treated = res.allocation.table.set_index("school_id")["treated"]
    assert (start[treated == 1] == 2025).all() and set(start[treated == 0]) == {2026, 2027}
    assert 0 <= res.rollout.power <= 1 and res.rollout.n_sims == 8


def test_the_simulated_power_is_within_monte_carlo_error_of_the_analytic(planned):
    from evaltools.design import power

    _, res = planned
    analytic = power(res.plan.design, effect=res.recommended.mdes).power
    sim = res.simulation
    assert abs(sim.power - analytic) <= 3 * (analytic * (1 - analytic) / sim.n_sims) ** 0.5


@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_pre_analysis_plan_has_the_wwc_eef_sections(planned, language):
    _, res = planned
    text = pap.markdown(res, measure="stem", outcome="diag6_math", secondary=["wellbeing"], seed=7, language=language)
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert len(headings) == len(pap.SECTIONS) == 7
    assert i18n.number(res.recommended.mdes, language, digits=2) in text


def test_every_message_has_both_languages_and_the_same_placeholders():
    keys = {k: v for k, v in i18n.catalogue().items() if k.startswith("evaluation_planner.")}
    assert len(keys) > 50
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for key, entry in keys.items():
        assert set(entry) == {"lv", "en"}, key
        assert fields(entry["lv"]) == fields(entry["en"]), key


def test_every_short_key_the_notebook_uses_exists():
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)
    used = set(re.findall(r'L\("([a-z_.]+)"', text))
    assert used and all(i18n.has(f"evaluation_planner.{k}") for k in used), used


@pytest.mark.parametrize("params", sorted(p.name for p in (ROOT / "params").glob("evaluation_planner*.yaml")))
def test_every_params_file_is_valid_for_the_notebook(params):
    from evaltools.run.parameters import read_parameters

    specs = {s.name for s in read_parameters(NOTEBOOK)}
    text = (ROOT / "params" / params).read_text(encoding="utf-8")
    given = set(re.findall(r"^  ([a-z_]+):", text, re.M))
    assert given <= specs, given - specs


# -- one run through the runner: what it publishes -------------------------------------


@pytest.fixture(scope="module")
def stem_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    for name in ("notebooks", "params", "data"):
        (root / name).symlink_to(ROOT / name)
    out = subprocess.run([str(Path(sys.executable).parent / "evaltools"), "--root", str(root), "run",
                          "evaluation_planner", "-p", "params/evaluation_planner_stem_en.yaml"],
                         capture_output=True, text=True, cwd=root, timeout=900)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    yield sorted((root / "reports" / "evaluation_planner").glob("*stem_en"))[-1]
    shutil.rmtree(root, ignore_errors=True)


def test_the_run_publishes_the_plan_the_allocation_and_no_pupil_data(stem_run):
    from evaltools.report.attack import attack_run

    assert [str(f) for f in attack_run(stem_run, 10)] == []
    results = json.loads((stem_run / "results.json").read_text(encoding="utf-8"))
    assert results["mdes_recommended"]["headline"] and "verdict" not in results["mdes_recommended"]
    alloc = pd.read_csv(stem_run / "tables" / "allocation.csv", encoding="utf-8-sig")
    assert list(alloc.columns)[0] == "school_id" and alloc["school_id"].str.match(r"^S\d{4}$").all()
    assert len(alloc.columns) == 3  # school code, municipality, arm: no pupil counts or results per school
    assert set(alloc.iloc[:, 2]) == {0, 1} and alloc.iloc[:, 2].sum() == len(alloc) // 2
    plan_md = (stem_run / "tables" / "pre_analysis_plan.md").read_text(encoding="utf-8")
    assert plan_md.startswith("# Pre-analysis plan") and plan_md.count("\n## ") == 7
    page = (stem_run / "report.html").read_text(encoding="utf-8")
    assert "not applicable" in page and re.search(r"\bP[0-9a-f]{10}\b", page) is None  # no pupil id


def test_a_pupil_level_measure_may_randomise_pupils_and_publishes_no_allocation(data):
    frames = study.prepare(data, "diag6_math")
    res = study.headline(frames, _setting(), candidates=["individual", "blocked_individual", "cluster2"],
                         delivery="pupil", seed=2, n_boot=0, n_sims=100)
    assert res.plan.recommended in ("individual", "blocked_individual") and not res.plan.excluded
    assert res.allocation is None  # pupils are drawn in the schools when the measure starts, never published


def test_a_municipality_level_measure_allocates_municipalities(data):
    frames = study.prepare(data, "wellbeing")
    res = study.headline(frames, _setting(municipalities=40, schools=80, target=0.3), candidates=CANDIDATES,
                         delivery="municipality", seed=4, n_boot=0, n_sims=2)
    assert res.plan.recommended == "cluster3" and res.allocation.unit == "municipality_id"
    assert res.allocation.table["municipality_id"].is_unique and res.allocation.value <= 0.1


def test_an_outcome_whose_table_is_missing_is_a_clear_error(data):
    from dataclasses import replace

    without = replace(data, tables={k: v for k, v in data.tables.items() if k != "wellbeing_pupils"})
    with pytest.raises(ValueError, match="needs the table 'wellbeing_pupils'"):
        study.prepare(without, "wellbeing")


def test_the_allocation_draws_among_the_applicant_schools(data):
    frames = study.prepare(data, "diag6_math")
    applicants = list(frames.schools["school_id"].iloc[::3]) + ["S9999"]
    with pytest.warns(UserWarning, match="1 applicant school"):
        res = study.headline(frames, _setting(schools=len(applicants)), candidates=["cluster2"], seed=5, n_boot=0,
                             n_sims=2, applicants=applicants)
    assert set(res.allocation.table["school_id"]) == set(applicants) - {"S9999"}
    with pytest.raises(ValueError, match="at least 4"):
        study.headline(frames, _setting(), candidates=["cluster2"], n_boot=0, n_sims=2, applicants=["S0065", "X"])
