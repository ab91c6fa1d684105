"""Values that must exist in the data: checked before any kernel starts (issue 19, item 3).

A parameter declared ``Municipality``, ``PlanningRegion``, ``Cohort`` or ``InData[...]``
(evaltools.params) is looked up in its data column; a value not there is refused with a
"did you mean" that ignores case and accents, exit 2, and nothing is run.
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from evaltools.cli import main
from evaltools.run.execute import plan_run
from evaltools.run.parameters import Origin, ParameterError, parse_parameters, validate
from evaltools.run.project import Project
from tests import ROOT

SAMPLE = ROOT / "data" / "sample"
CELL = '''data_dir: InputDir = "../data/sample"   # the data
municipality: Municipality = "all"      # a municipality
region: PlanningRegion = "all"          # a region
cohort: Cohort = 2016                   # a cohort
subject: InData[str, "teachers", "subject", "any"] = "any"  # a subject
'''


def _check(given: dict, cell: str = CELL):
    specs = parse_parameters(cell)
    return validate(specs, {k: (v, Origin("params/x.yaml", 3)) for k, v in given.items()},
                    root=ROOT, notebook_dir=ROOT / "notebooks")


def test_values_in_the_data_and_the_extra_values_pass():
    names = pd.read_parquet(SAMPLE / "municipalities.parquet")
    muni = names["name"].iloc[5]
    cohorts = sorted(pd.read_parquet(SAMPLE / "teachers.parquet")["growth_programme_start"].dropna().astype(int).unique())
    out = _check({"municipality": muni, "region": names["region"].iloc[0], "cohort": int(cohorts[-1]),
                  "subject": "ANY"})
    assert out.values["municipality"] == muni and out.values["cohort"] == cohorts[-1]
    assert _check({"municipality": names["municipality_id"].iloc[3]}).values["municipality"] == names[
        "municipality_id"].iloc[3]  # the id works too, as in select_area


@pytest.mark.parametrize("param, given, hint", [
    ("municipality", "Riga", "Did you mean 'Rīga'?"),              # accents
    ("municipality", "Valmiera", "Did you mean 'Valmieras novads'?"),
    ("region", "latgale", "Did you mean 'Latgale'?"),              # case
    ("subject", "mathz", "Did you mean 'math'?"),
    ("cohort", 2015, "The nearest is 2016."),
])
def test_a_value_not_in_the_data_is_refused_with_a_suggestion(param, given, hint):
    with pytest.raises(ParameterError) as err:
        _check({param: given})
    text = str(err.value)
    assert f"params/x.yaml, line 3: parameter '{param}'" in text
    assert hint in text and "of the data" not in text.split(hint)[1][:5]
    assert len(err.value.problems) == 1


def test_small_columns_list_their_values_large_ones_only_count_them():
    with pytest.raises(ParameterError) as err:
        _check({"region": "Nowhere", "municipality": "Nowhere"})
    region, muni = sorted(err.value.problems, key=lambda p: "region" not in p)
    assert "Use one of: 'all', 'Kurzeme', 'Latgale', 'Rīga', 'Vidzeme', 'Zemgale'." in region
    n = pd.read_parquet(SAMPLE / "municipalities.parquet")["name"].nunique()
    assert f"The data has {n} different values there." in muni and "Use one of" not in muni


def test_an_identifier_column_cannot_be_declared():
    with pytest.raises(ParameterError, match="identifier column 'pupil_id' is not allowed"):
        parse_parameters('pupil: InData[str, "pupils", "pupil_id"] = "x"  # a pupil\n')


def test_a_table_missing_from_the_data_is_named(tmp_path):
    shutil.copy(SAMPLE / "municipalities.parquet", tmp_path / "municipalities.parquet")
    cell = CELL.replace('"../data/sample"', f'"{tmp_path}"')
    with pytest.raises(ParameterError) as err:
        _check({"cohort": 2017}, cell)
    assert "parameter 'cohort': could not be checked against teachers.growth_programme_start" in str(err.value)
    assert "no teachers.parquet" in str(err.value)


def test_the_mapping_parameter_renames_the_column_before_the_lookup(tmp_path):
    frame = pd.read_parquet(SAMPLE / "municipalities.parquet").rename(columns={"region": "planosanas_regions"})
    frame.to_parquet(tmp_path / "municipalities.parquet")
    mapping = tmp_path.parent / f"{tmp_path.name}-mapping.yaml"
    mapping.write_text("municipalities:\n  planosanas_regions: region\n")
    cell = (f'data_dir: InputDir = "{tmp_path}"   # the data\n'
            f'mapping: Optional[InputFile] = "{mapping}"   # the mapping\n'
            'region: PlanningRegion = "all"   # a region\n')
    assert _check({"region": "Kurzeme"}, cell).values["region"] == "Kurzeme"
    with pytest.raises(ParameterError, match="Did you mean 'Kurzeme'"):
        _check({"region": "Kurzemes"}, cell)


def test_check_refuses_a_municipality_not_in_the_data_with_exit_2(capsys):
    """The issue's case: `--check --set municipality=Valmiera` used to pass."""
    code = main(["--root", str(ROOT), "run", "municipal_quality", "--set", "municipality=Valmiera", "--check"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--set: parameter 'municipality': 'Valmiera' is not a value of municipalities.name" in err
    assert "Did you mean 'Valmieras novads'?" in err and "Nothing was run." in err


def test_the_shipped_notebooks_declare_their_data_dependent_parameters():
    project = Project(ROOT)
    kinds = {(s.name, p.name): p.data for s in project.studies() for p in s.parameters}
    assert kinds[("municipal_quality", "municipality")].columns[0] == "name"
    assert kinds[("dropout_prevention", "region")].columns == ("region",)
    assert kinds[("alumni_programme", "first_cohort")].table == "teachers"
    assert kinds[("alumni_programme", "last_cohort")].table == "teachers"
    plan = plan_run(project, "dropout_prevention", "params/dropout_prevention_latgale.yaml")
    assert plan.params.values["region"] == "Latgale"
