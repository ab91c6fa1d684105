"""The house attacker reads the response-rate bands quality_monitoring publishes
(``<who>_response_low`` / ``<who>_response_high`` beside ``<who>_response_pct``): a band narrow
enough to pin a hidden respondents' (or non-respondents') count is caught, a 10-point band that
leaves more than small counts is not."""
from __future__ import annotations

import copy

import pytest

from evaltools.report.attack import attack_records

COLS = ["school", "teachers_surveyed", "teachers_respondents", "teachers_response_pct",
        "teachers_response_low", "teachers_response_high"]


def _record(a_band=(10.0, 20.0), b_band=(90.0, 100.0), **extra) -> dict:
    """Two schools of 40 teachers with hidden respondents (the total's hidden too), their bands shown:
    A has 4-8 respondents, B 36-40 (0-4 non-respondents), so nothing is pinned to a small count."""
    return {"wellbeing": {"value": {
        "type": "protected_table", "columns": COLS, "index_columns": 1, "marker": "[c]", "threshold": 5,
        "counts": ["teachers_surveyed", "teachers_respondents"], "total_row": "Total",
        "denominators": {"teachers_response_pct": ["teachers_surveyed"]},
        "numerators": {"teachers_response_pct": "teachers_respondents"},
        "labels": {}, "digits": {"teachers_response_pct": 1},
        "data": [["A", 40, "[c]", "[c]", *a_band], ["B", 40, "[c]", "[c]", *b_band],
                 ["Total", 80, "[c]", "[c]", None, None]],
        **extra}}}


def _about(findings, row: str) -> list[str]:
    return [str(f) for f in findings if f'row "{row}"' in f.where]


def test_ten_point_bands_that_leave_more_than_small_counts_pass():
    assert attack_records(_record(), 5) == []


def test_a_band_narrowed_to_one_point_pins_the_respondents():
    found = attack_records(_record(a_band=(10.0, 10.0)), 5)  # 10 % of 40: exactly 4 respondents
    assert _about(found, "A") and "teachers_respondents" in " ".join(_about(found, "A"))
    assert not _about(found, "B")


def test_a_band_narrowed_to_one_point_pins_the_non_respondents():
    found = attack_records(_record(b_band=(95.0, 95.0)), 5)  # 38 of 40 answered: 2 did not
    assert _about(found, "B") and "base minus numerator" in " ".join(_about(found, "B"))
    assert not _about(found, "A")


def test_without_the_band_columns_nothing_bounds_the_hidden_counts():
    record = _record(a_band=(10.0, 10.0))
    table = record["wellbeing"]["value"]
    table["columns"] = COLS[:4]
    table["data"] = [row[:4] for row in table["data"]]
    assert attack_records(record, 5) == []  # so the finding above comes from the band


@pytest.mark.parametrize("names", [("low_band", "high_band")])
def test_bands_declared_in_the_record_are_read_too(names):
    record = _record(a_band=(10.0, 10.0), bands={"teachers_response_pct": list(names)})
    table = copy.deepcopy(record["wellbeing"]["value"])
    table["columns"] = COLS[:4] + list(names)
    record["wellbeing"]["value"] = table
    assert _about(attack_records(record, 5), "A")


def _tables(node):
    if isinstance(node, dict):
        if node.get("type") == "protected_table":
            yield node
        for value in node.values():
            yield from _tables(value)
    elif isinstance(node, list):
        for value in node:
            yield from _tables(value)


def test_the_shipped_dashboard_passes_and_a_band_narrowed_to_one_point_is_caught(published):
    """The real record of quality_monitoring: its bands pass; one school's band narrowed to the
    point that leaves 2 non-respondents is a finding (the attacker without bands saw nothing)."""
    import json

    run = published.run("quality_monitoring")
    records = json.loads((run / "results.json").read_text("utf-8"))
    assert attack_records(records, 5) == []
    table = next(t for t in _tables(records) if "teachers_response_low" in t["columns"])
    at = {c: j for j, c in enumerate(table["columns"])}
    row = next(r for r in table["data"] if r[at["teachers_respondents"]] == table["marker"]
               and isinstance(r[at["teachers_response_low"]], (int, float))
               and isinstance(r[at["teachers_surveyed"]], (int, float)))
    n = row[at["teachers_surveyed"]]
    row[at["teachers_response_low"]] = row[at["teachers_response_high"]] = 100 * (n - 2) / n
    found = attack_records(records, 5)
    assert found and all("teachers_response_pct" in str(f) for f in found)
