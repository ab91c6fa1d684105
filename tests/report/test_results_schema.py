"""results.json against its JSON Schema (draft 2020-12, shipped in the package): the schema
itself, every kind of record, broken documents it must refuse, and the results of a real
run of each study's default params file, with the files each run exports (issue 14, item 5)."""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from evaltools.core.result import Estimate
from evaltools.report.disclosure import protect, protect_value
from evaltools.report.record import (
    RUN_DIR_ENV,
    SCHEMA_VERSION,
    clear,
    record,
    results_document,
    results_schema,
    validate_results,
)
from tests import ROOT
from tests.shipped import default_studies

VALIDATOR = jsonschema.Draft202012Validator


def _errors(document):
    return validate_results(document)


def test_the_schema_is_valid_draft_2020_12_and_ships_with_the_package():
    shipped = resources.files("evaltools.report").joinpath("results.schema.json")
    schema = json.loads(shipped.read_text(encoding="utf-8"))
    assert schema == results_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    VALIDATOR.check_schema(schema)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'package-data\]\s*\nevaltools = \[[^\]]*"\*\*/\*\.json"', pyproject)
    assert re.fullmatch(r"1\.[0-9]+", SCHEMA_VERSION)


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    clear()
    yield tmp_path
    clear()


def test_every_kind_of_record_validates(fresh):
    table = protect(pd.DataFrame({"pupils": [120, 4, 80, 204]}, index=pd.Index(["a", "b", "c", "Kopā"], name="school")),
                    counts=["pupils"], total_col=None, labels={"pupils": "Skolēni"})
    record("rate", np.float64(1.25), headline=True, label="Rate")
    record("nothing", float("nan"))
    record("text", "hidden")
    record("att", Estimate.from_normal("ATT", -0.5, 0.25, n={"units": 40}))
    record("plain", pd.DataFrame({"pupils": [120, 340]}, index=pd.Index(["a", "b"], name="school")))
    record("protected", table)
    record("share", protect_value(3.0, denominator=400, numerator=12, percent=True, label="share"))
    record("nested", {"gcomp": Estimate.from_normal("ATT", 1, 0.5, n={"units": 3})})
    document = json.loads((fresh / "results.json").read_text("utf-8"))
    assert document == results_document() and _errors(document) == []
    assert document["att"]["value"]["n"] == {"units": 40} and document["nested"]["value"]["gcomp"]["n"] == {"units": "<10"}


def test_the_schema_refuses_what_a_reader_could_not_use(fresh):
    record("protected", protect(pd.DataFrame({"pupils": [120, 340]}, index=["a", "b"]), counts=["pupils"],
                                total_row=None, total_col=None))
    record("att", Estimate.from_normal("ATT", -0.5, 0.25))
    good = results_document()
    assert _errors(good) == [] and _errors({}) == []  # a withdrawn run publishes {}
    broken = {
        "no version": {k: v for k, v in good.items() if k != "schema_version"},
        "future major version": {**good, "schema_version": "2.0"},
        "record without value": {**good, "x": {"label": "X"}},
        "unknown record key": {**good, "x": {"value": 1, "colour": "red"}},
        "headline false": {**good, "x": {"value": 1, "headline": False}},
        "table without labels": {**good, "protected": {"value": {k: v for k, v in good["protected"]["value"].items()
                                                                 if k != "labels"}}},
        "label not text": {**good, "protected": {"value": {**good["protected"]["value"], "labels": {"pupils": 3}}}},
        "estimate without CI": {**good, "att": {"value": {k: v for k, v in good["att"]["value"].items()
                                                          if k != "ci_low"}}},
        "small n as a number string": {**good, "att": {"value": {**good["att"]["value"], "n": {"units": "7"}}}},
        "headline text in an unknown language": {**good, "card": {"value": {"type": "headline", "answer": {"de": "Ja"}}}},
    }
    for what, document in broken.items():
        assert _errors(document), f"the schema accepts a document with {what}"


# -- real runs: the default params file of each study -------------------------------------------

STUDIES = default_studies()


@pytest.fixture(scope="module")
def default_runs(published):
    """The run folder of each study's default params file, from the suite's shared run."""
    return {study: published.run(study) for study in STUDIES}


@pytest.mark.parametrize("study", STUDIES)
def test_each_study_publishes_results_that_match_the_schema(default_runs, study):
    document = json.loads((default_runs[study] / "results.json").read_text("utf-8"))
    assert next(iter(document)) == "schema_version" and document["schema_version"] == SCHEMA_VERSION
    assert _errors(document) == []
    assert sum(1 for e in document.values() if isinstance(e, dict) and e.get("headline")) == 1


@pytest.mark.parametrize("study", STUDIES)
def test_each_study_exports_its_tables_and_figures_as_files(default_runs, study):
    run = default_runs[study]
    tables = {s: sorted(q.stem for q in (run / "tables").glob(f"*{s}")) for s in (".csv", ".xlsx", ".tex", ".parquet", ".md")}
    assert tables[".csv"], f"{study} exports no table"
    assert tables[".xlsx"] == tables[".tex"] and set(tables[".xlsx"]) <= set(tables[".csv"])  # a report table: 3 formats
    data_exports = set(tables[".csv"]) - set(tables[".xlsx"])  # a data export (for BI tools): CSV with Parquet or notes
    assert all(name in tables[".parquet"] or name in tables[".md"] for name in data_exports), data_exports
    figures = {s: sorted(q.stem for q in (run / "figures").glob(f"*.{s}")) for s in ("png", "svg")}
    assert figures["png"] and figures["png"] == figures["svg"]
    assert not list((run / "tables").glob("*.png"))  # figures live in figures/
    records = json.loads((run / "results.json").read_text("utf-8"))
    for name in tables[".csv"]:  # every exported table is recorded under its file name (a data dictionary has no counts)
        if name in tables[".md"] and name not in records:
            continue
        assert records[name]["value"]["type"] in ("protected_table", "model_table"), name


CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _codes(document):
    """Record names, and the column keys of every table past its index columns: what must not
    change with the report language."""
    out = {}
    for name, entry in document.items():
        if name == "schema_version":
            continue
        value = entry["value"]
        if isinstance(value, dict) and value.get("type") == "model_table":
            value = value["table"]
        if isinstance(value, dict) and value.get("type") in ("protected_table", "table"):
            out[name] = value["columns"][int(value.get("index_columns", 1)):]
        elif isinstance(value, dict) and "type" not in value:
            out[name] = sorted(value)  # a mapping of results: its keys
        else:
            out[name] = []
    return out


@pytest.mark.parametrize("study", STUDIES)
def test_record_names_and_column_keys_are_codes(default_runs, study):
    document = json.loads((default_runs[study] / "results.json").read_text("utf-8"))
    bad = {name: [k for k in keys if not CODE.match(str(k))] for name, keys in _codes(document).items()}
    assert {n: k for n, k in bad.items() if k} == {}
    assert all(CODE.match(name) for name in document)


def test_the_english_run_has_the_same_keys_as_the_latvian_one(published):
    en = published.run("municipal_quality_en")
    lv_doc = json.loads((published.run("municipal_quality") / "results.json").read_text("utf-8"))
    en_doc = json.loads((en / "results.json").read_text("utf-8"))
    assert _codes(lv_doc) == _codes(en_doc)
    labels = lv_doc["indicators"]["value"]["labels"], en_doc["indicators"]["value"]["labels"]
    assert labels[0].keys() == labels[1].keys() and labels[0] != labels[1]  # the texts differ, the keys do not
