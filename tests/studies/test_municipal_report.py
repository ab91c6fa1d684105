"""The four-yearly municipal report for every municipality (issue 15): intervals with one or two
schools, readable checks, chapter tables, params files per municipality and their discovery."""
import json
import shutil
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

from evaltools.data import load_dataset
from evaltools.data.geography import TILE_GRID, slug
from evaltools.report import disclosure
from evaltools.run.project import Project, ProjectError
from evaltools.studies import municipal_quality as study
from evaltools.studies.municipal_quality import checks
from evaltools.studies.municipal_quality.params_files import write_params
from tests import ROOT

SAMPLE = ROOT / "data" / "sample"
NOTEBOOK = ROOT / "notebooks" / "municipal_quality.ipynb"


@pytest.fixture(scope="module")
def data():
    return load_dataset(SAMPLE, needs=study.NEEDS, rows=study.ROWS)


def _headline(data, name, chapters=False):
    area = study.prepare(data, name, 2020, 2023)
    label = area.name or "Latvija"
    return area, study.headline(data, area, total_label=label, latvia_label="Latvija", rate_label="rate",
                                chapters=chapters, region_label=lambda r: f"{r} region", threshold=10)


# The hardest cases: one school (Rēzekne), the CR1 interval furthest below zero before the fix
# (Ludzas novads, Krāslavas novads), the capital's two schools (Rīga), the fewest pupils (Jelgavas novads).
HARDEST = ["Rēzekne", "Ludzas novads", "Krāslavas novads", "Rīga", "Jelgavas novads"]


@pytest.mark.parametrize("names", [pytest.param(HARDEST, id="hardest"),
                                   pytest.param(None, id="all-43", marks=pytest.mark.slow)])
def test_every_municipality_gets_rates_inside_0_100_even_with_one_or_two_schools(data, names):
    from evaltools.data.schemas import GENERAL_SCHOOL_TYPES

    general = data["schools"][data["schools"]["type"].isin(GENERAL_SCHOOL_TYPES)]
    schools = general.groupby("municipality_id").size()
    assert schools.max() <= 2  # the sample: every municipality has one or two general-education schools
    names = names or list(data["municipalities"]["name"])
    from evaltools.estimate.bounded_intervals import clustered_rate
    from evaltools.studies.municipal_quality import indicators

    for name in names:
        area, res = _headline(data, name)
        checks.check_interval(res.rate, name, "early leaving")  # raises ReportCheckError, never AssertionError
        # the interval of every area, also where disclosure control hides the published one
        risk = indicators.pupil_years(data, area)
        risk = risk[risk["at_risk_grade"]]
        rate = clustered_rate(risk["left_early_flag"], risk["school_id"], scale=100, estimand="rate",
                              icc=res.rate_latvia.options["icc"])
        assert 0 <= rate.ci_low <= rate.estimate <= rate.ci_high <= 100
        assert rate.options["icc_source"] == "reference"  # borrowed from Latvia's schools
        if res.rate is not None:  # the published rate is that interval
            assert (res.rate.estimate, res.rate.ci_low, res.rate.ci_high) == (rate.estimate, rate.ci_low, rate.ci_high)
        exams = res.published.exams.data.dropna()
        assert ((exams["ce9_low"] >= 0) & (exams["ce9_high"] <= 100)).all()


def test_checks_speak_to_the_board_not_assertion_errors():
    @dataclass
    class Fake:
        estimate: float = 1.0
        ci_low: float = -0.5
        ci_high: float = 2.0
        n: dict = None

    with pytest.raises(checks.ReportCheckError, match="Report for Cēsu novads: .*outside the possible range"):
        checks.check_interval(Fake(), "Cēsu novads", "Early leaving")
    import pandas as pd
    table = pd.DataFrame({"pupils": [3, 4, 8]}, index=["A", "B", "Cēsu novads"])
    with pytest.raises(checks.ReportCheckError, match="add up to 7, the total row says 8.*school codes"):
        checks.check_adds_up(table, "Cēsu novads", ["pupils"], "Cēsu novads")
    assert not issubclass(checks.ReportCheckError, AssertionError)


def test_one_school_municipality_gets_every_chapter_protected(data):
    area, res = _headline(data, "Rēzekne", chapters=True)
    chapters, notes = res.published.chapters, res.published.notes
    assert res.schools == 1 and notes["schools"] == 1
    for name in ("diag3_by_year", "diag6_by_year", "ce9_by_year", "ce12_by_year", "school_life_by_year",
                 "wellbeing_by_year", "support_by_year", "soma_by_year", "soma_by_school", "equity_gaps", "changes"):
        assert name in chapters, name
        disclosure.assert_safe(chapters[name])
    # grade 9 exams did not take place in 2020/21 in the sample: shown as a year without the exam
    assert notes["ce9_missing"] == [2020]
    ce9 = chapters["ce9_by_year"].data
    assert ce9.xs(2020, level=1)["sitters"].eq(0).all() and ce9.xs(2020, level=1)["mean_math"].isna().all()
    # the area, its planning region and Latvia, every year of the period
    assert list(ce9.index.get_level_values(0).unique()) == ["Rēzekne", "Latgale region", "Latvija"]
    # the period's yearly counts add up to the indicator table's total (linked for disclosure control)
    years = chapters["school_life_by_year"].data.xs("Rēzekne", level=0)
    assert years["pupil_years"].sum() == res.published.indicators.data.at["Rēzekne", "pupil_years"]
    wellbeing = chapters["wellbeing_by_year"].data.xs("Latvija", level=0)
    assert np.isnan(wellbeing.at[2020, "response_pct"])  # no survey before 2021: empty, not 0 %


def test_value_added_has_shrinkage_and_rank_intervals(data):
    area = study.prepare(data, "Rīga", 2020, 2023)
    va = study.comparison.value_added(data, area, rank_draws=500)
    assert len(va) >= 50
    assert (va["rank_low"] <= va["rank"]).all() and (va["rank"] <= va["rank_high"]).all()
    assert ((va["ci_low"] <= va["effect"]) & (va["effect"] <= va["ci_high"])).all()


def test_params_files_per_municipality_are_generated_committed_and_discovered(tmp_path, data):
    names = list(data["municipalities"]["name"])
    written = write_params(tmp_path, names)
    assert len(written) == 43 == len({p.name for p in written})
    valmiera = (tmp_path / "params" / "municipal_quality" / "valmieras-novads.yaml").read_text(encoding="utf-8")
    assert 'municipality: "Valmieras novads"' in valmiera and "Valmieras novads" in valmiera.split("\n")[2]
    # the committed files are what the command writes
    committed = ROOT / "params" / "municipal_quality"
    for p in written:
        assert (committed / p.name).read_text(encoding="utf-8") == p.read_text(encoding="utf-8"), p.name
    # discovery: params/*.yaml and params/<folder>/*.yaml, not params/mappings/
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "params" / "mappings").mkdir()
    (tmp_path / "params" / "mappings" / "extract.yaml").write_text("pupils:\n  a: pupil_id\n", encoding="utf-8")
    (tmp_path / "params" / "top.yaml").write_text("study: municipal_quality\n", encoding="utf-8")
    paths = Project(tmp_path).params_paths()
    assert len(paths) == 44 and paths[0].name == "top.yaml"
    assert not any("mappings" in p.parts for p in paths)
    (tmp_path / "params" / "other").mkdir()
    (tmp_path / "params" / "other" / "top.yaml").write_text("study: x\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="both named 'top'"):
        Project(tmp_path).params_paths()


def test_tile_grid_places_every_municipality_once():
    from evaltools.data.geography import MUNICIPALITIES

    assert set(TILE_GRID) == {m[0] for m in MUNICIPALITIES}
    assert len(set(TILE_GRID.values())) == 43
    assert slug("Ķekavas novads") == "kekavas-novads" and slug("Rīga") == "riga"


@pytest.fixture(scope="module")
def one_school_run(tmp_path_factory):
    """One real run (kernel) of the hardest case: a municipality with a single school."""
    from evaltools.cli import main

    project = tmp_path_factory.mktemp("mq") / "project"
    (project / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOK, project / "notebooks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["--root", str(project), "run", "municipal_quality", "--set", "municipality=Rēzekne",
                     "--set", f"data_dir={SAMPLE}"])
    run = next((project / "reports" / "municipal_quality").iterdir())
    return code, run


def test_a_one_school_municipality_runs_and_says_schools_cannot_be_compared(one_school_run):
    code, run = one_school_run
    manifest = json.loads((run / "manifest.json").read_text())
    assert code == 0, manifest.get("error")
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "Izglītības kvalitāte: Rēzekne, 2020/21–2023/24" in html
    assert "savā starpā salīdzināt nevar" in html  # too few schools to compare them
    results = json.loads((run / "results.json").read_text())
    for name in ("ce9_by_year", "wellbeing_by_year", "support_by_year", "soma_by_school", "equity_gaps"):
        assert results[name]["value"]["type"] == "protected_table", name
        assert (run / "tables" / f"{name}.csv").is_file(), name
    assert (run / "figures" / "funnel_early_leaving.svg").is_file()


@pytest.mark.slow
def test_run_all_gives_every_municipality_a_report(tmp_path):
    """`evaltools run-all --study municipal_quality` on the committed params: 43 + the national ones."""
    from evaltools.cli import main

    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOK, project / "notebooks")
    shutil.copytree(ROOT / "params" / "municipal_quality", project / "params" / "municipal_quality")
    for p in (ROOT / "params").glob("municipal_quality*.yaml"):
        shutil.copy(p, project / "params")
    (project / "data").mkdir()
    (project / "data" / "sample").symlink_to(SAMPLE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["--root", str(project), "run-all", "--study", "municipal_quality", "-j", "1"])
    manifests = [json.loads(p.read_text()) for p in (project / "reports" / "municipal_quality").glob("*/manifest.json")]
    assert len(manifests) == 43 + len(list((ROOT / "params").glob("municipal_quality*.yaml")))
    assert all(m["status"] == "succeeded" for m in manifests), [m.get("error") for m in manifests if m["status"] != "succeeded"]
    assert code == 0
