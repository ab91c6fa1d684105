"""record(): what reaches results.json, and that published tables pass disclosure control."""
import json

import numpy as np
import pandas as pd
import pytest

from evaltools.estimate import Estimate
from evaltools.report import disclosure, record
from evaltools.report.disclosure import DisclosureError
from evaltools.report.record import RUN_DIR_ENV, SCHEMA_VERSION, clear, recorded


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    clear()
    yield tmp_path
    clear()


def test_scalars_estimates_and_tables_are_written_as_json(fresh):
    record("rate", np.float64(1.25), headline=True, label="Rate")
    record("missing", float("nan"))
    record("att", Estimate.from_normal("ATT", -0.5, 0.25, n={"units": 40}))
    record("table", pd.DataFrame({"pupils": [120, 340]}, index=pd.Index(["a", "b"], name="school")))
    on_disk = json.loads((fresh / "results.json").read_text())
    assert next(iter(on_disk)) == "schema_version" and on_disk.pop("schema_version") == SCHEMA_VERSION
    assert on_disk == recorded()
    assert on_disk["rate"] == {"value": 1.25, "label": "Rate", "headline": True}
    assert on_disk["missing"]["value"] is None  # NaN is not valid JSON
    assert on_disk["att"]["value"]["ci_low"] == pytest.approx(-0.5 - 1.959964 * 0.25, abs=1e-6)
    assert on_disk["table"]["value"] == {"type": "table", "columns": ["school", "pupils"],
                                         "data": [["a", 120], ["b", 340]]}


def test_only_the_last_headline_is_marked():
    record("a", 1.0, headline=True)
    record("b", 2.0, headline=True)
    assert [k for k, v in recorded().items() if v.get("headline")] == ["b"]


def test_a_table_with_a_small_count_is_refused():
    small = pd.DataFrame({"pupils": [120, 4]}, index=["a", "b"])
    with pytest.raises(DisclosureError, match=r"record\('small'\).*protect"):
        record("small", small)
    assert "small" not in recorded()


def test_the_same_table_protected_is_accepted_and_hides_the_count():
    small = pd.DataFrame({"pupils": [120, 4]}, index=["a", "b"])
    record("protected", disclosure.protect(small, counts=["pupils"], total_row=None, total_col=None))
    text = json.dumps(recorded()["protected"])
    assert "120" in text and ", 4]" not in text and "[4" not in text


def test_unsupported_values_are_explained():
    with pytest.raises(TypeError, match="cannot store a set"):
        record("s", {1, 2})


def test_small_sample_sizes_inside_estimates_are_protected():
    record("att", Estimate.from_normal("ATT", 0.1, 0.05, n={"units": 7, "treated": 120, "clusters": 0}))
    n = recorded()["att"]["value"]["n"]
    assert n == {"units": "<10", "treated": 120, "clusters": 0}


def test_index_shows_a_headline_card_by_its_answer_in_the_report_language(tmp_path):
    from evaltools.report.site import headline_text

    (tmp_path / "results.json").write_text(json.dumps(
        {"card": {"value": {"type": "headline", "answer": {"lv": "Jā.", "en": "Yes."}}, "headline": True}}))
    (tmp_path / "manifest.json").write_text(json.dumps({"parameters": {"language": "en"}}))
    assert headline_text(tmp_path) == "Yes."


@pytest.mark.parametrize("language, expected", [
    # CI width 2.76: two significant digits of the width -> one decimal for all three
    ("en", "Effect, pp: \u22124.4 [\u22125.8, \u22123.0]"),
    ("lv", "Effect, pp: \u22124,4 [\u22125,8; \u22123,0]"),
])
def test_index_shows_an_estimate_with_one_precision_from_its_ci(tmp_path, language, expected):
    from evaltools.report.site import headline_text

    est = {"type": "estimate", "estimate": -4.3837, "ci_low": -5.7612, "ci_high": -3.0004}
    (tmp_path / "results.json").write_text(json.dumps(
        {"att": {"value": est, "label": "Effect, pp", "headline": True}}))
    (tmp_path / "manifest.json").write_text(json.dumps({"parameters": {"language": language}}))
    assert headline_text(tmp_path) == expected


def test_index_precision_follows_the_ci_width(tmp_path):
    from evaltools.report.site import format_value

    est = {"type": "estimate", "estimate": -0.043837, "ci_low": -0.0576, "ci_high": -0.0300}
    assert format_value(est, "en") == "\u22120.044 [\u22120.058, \u22120.030]"
    est = {"type": "estimate", "estimate": 7226.3, "ci_low": 5495.0, "ci_high": 10549.2}
    assert format_value(est, "en") == "7,226 [5,495, 10,549]"


def test_results_json_starts_with_its_schema_version_and_reserves_the_key(fresh):
    from evaltools.report.record import records_of, results_document

    record("rate", 1.5)
    on_disk = json.loads((fresh / "results.json").read_text("utf-8"))
    assert list(on_disk) == ["schema_version", "rate"] and on_disk == results_document()
    assert records_of(on_disk) == recorded() == {"rate": {"value": 1.5}}
    with pytest.raises(ValueError, match="reserved"):
        record("schema_version", "2.0")
    assert json.loads((fresh / "results.json").read_text("utf-8"))["schema_version"] == SCHEMA_VERSION
