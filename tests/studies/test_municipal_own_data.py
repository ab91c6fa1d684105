"""A municipality's own extract through a column mapping (params/municipal_quality_own_data.yaml,
params/mappings/municipal_extract_lv.yaml), like the PUMPURS study's own-data params.

The shipped sample is written out as an extract with the mapping's Latvian column names and
codes (the mapping inverted); read back through the mapping it must give exactly the tables the
study reads from the sample. One kernel run of the params file on that extract."""
from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from evaltools.data import load_dataset
from evaltools.run.execute import plan_run
from evaltools.run.parameters import ParameterError
from evaltools.run.project import Project, read_params_file
from evaltools.studies import municipal_quality as study
from evaltools.yamlfile import read_yaml
from tests import ROOT

SAMPLE = ROOT / "data" / "sample"
PARAMS = ROOT / "params" / "municipal_quality_own_data.yaml"
MAPPING = ROOT / "params" / "mappings" / "municipal_extract_lv.yaml"
NOTEBOOK = ROOT / "notebooks" / "municipal_quality.ipynb"


@pytest.fixture(scope="module")
def extract(tmp_path_factory) -> Path:
    """The sample as a municipality's extract would name it: columns and codes in Latvian."""
    mapping = read_yaml(MAPPING, "mapping").data
    out = tmp_path_factory.mktemp("extract")
    for table in study.NEEDS:
        frame = pd.read_parquet(SAMPLE / f"{table}.parquet")
        for column, codes in (mapping.get("values", {}).get(table) or {}).items():
            back = {ours: theirs for theirs, ours in codes.items()}
            frame[column] = frame[column].map(lambda v, back=back: back.get(v, v))
        frame = frame.rename(columns={ours: theirs for theirs, ours in (mapping.get(table) or {}).items()})
        frame.to_parquet(out / f"{table}.parquet", index=False)
    return out


def test_the_mapping_covers_every_column_the_study_reads():
    mapping = read_yaml(MAPPING, "mapping").data
    for table, columns in study.NEEDS.items():
        ours = set(mapping.get(table, {}).values())
        wanted = set(pd.read_parquet(SAMPLE / f"{table}.parquet").columns) if columns is None else set(columns)
        assert wanted <= ours, (table, wanted - ours)


def test_the_extract_read_through_the_mapping_is_the_sample(extract):
    assert "skolena_pseidonims" in pd.read_parquet(extract / "pupil_years.parquet").columns  # really renamed
    assert set(pd.read_parquet(extract / "pupils.parquet")["dzimums"]) <= {"S", "V"}  # really recoded
    mine = load_dataset(extract, mapping=MAPPING, needs=study.NEEDS, rows=study.ROWS)
    shipped = load_dataset(SAMPLE, needs=study.NEEDS, rows=study.ROWS)
    for table in study.NEEDS:
        pd.testing.assert_frame_equal(mine[table].reset_index(drop=True), shipped[table].reset_index(drop=True),
                                      check_like=True, obj=table)
    with pytest.raises(Exception):  # without the mapping the extract is not readable as the study's data
        load_dataset(extract, needs=study.NEEDS, rows=study.ROWS)


def test_the_params_file_names_the_mapping_and_validates_on_the_extract(extract):
    pf = read_params_file(PARAMS)
    assert pf.study == "municipal_quality" and pf.parameters["mapping"] == "params/mappings/municipal_extract_lv.yaml"
    project = Project(ROOT)
    plan = plan_run(project, "municipal_quality", PARAMS, [f"data_dir={extract}"])
    assert plan.params.inputs["mapping"] == MAPPING.resolve()
    # the municipality is checked in the extract's (mapped) municipalities table before any kernel starts
    with pytest.raises(ParameterError, match="Cēsu novadss|municipality"):
        plan_run(project, "municipal_quality", PARAMS, [f"data_dir={extract}", "municipality=Cēsu novadss"])


def test_a_run_on_the_own_extract_succeeds(extract, tmp_path):
    from evaltools.cli import main

    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOK, project / "notebooks")
    (project / "params" / "mappings").mkdir(parents=True)
    shutil.copy(PARAMS, project / "params")
    shutil.copy(MAPPING, project / "params" / "mappings")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["--root", str(project), "run", "municipal_quality", "-p", "params/municipal_quality_own_data.yaml",
                     "--set", f"data_dir={extract}"])
    [manifest_path] = (project / "reports" / "municipal_quality").glob("*/manifest.json")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    assert code == 0 and manifest["status"] == "succeeded", manifest.get("error")
    assert manifest["parameters"]["mapping"].endswith("municipal_extract_lv.yaml")
    page = (manifest_path.parent / "report.html").read_text("utf-8")
    assert "Cēsu novads" in re.search(r"<title>(.*?)</title>", page).group(1)
    stable = project / "reports" / "latest" / "municipal_quality" / "municipal_quality_own_data" / "report.html"
    assert stable.read_bytes() == (manifest_path.parent / "report.html").read_bytes()
