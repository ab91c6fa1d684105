"""The sample-flow diagram (evaltools.report.flow): counts protected with the links
n_before = n_after + aside, an accessible HTML/CSS diagram in the report's language, the
counts exported and recorded with code-named keys."""
import json
import re

import pytest

from evaltools.report.attack import attack_records
from evaltools.report.flow import FlowInputError, sample_flow
from evaltools.report.record import to_jsonable

LABELS = {"eligible": {"lv": "Atbilstoši", "en": "Eligible"}, "scored": {"lv": "Ar novērtējumu", "en": "Scored"},
          "offered": {"lv": "Piedāvāts", "en": "Offered"}, "supported": {"lv": "Atbalstīti", "en": "Supported"}}
ASIDE = {"scored": {"lv": "Bez novērtējuma", "en": "No score"}, "offered": {"lv": "Zem sliekšņa", "en": "Below"},
         "supported": {"lv": "Atteicās", "en": "Declined"}}


def _flow(counts, language="en", threshold=10):
    return sample_flow(list(zip(LABELS, counts)), labels=LABELS, aside_labels=ASIDE, title={"lv": "Plūsma", "en": "Flow"},
                       unit={"lv": "skolēnu gadi", "en": "pupil-years"}, language=language, threshold=threshold)


def test_counts_and_what_was_set_aside_at_each_step():
    flow = _flow([40_123, 37_075, 3_712, 2_514])
    data = flow.table.data
    assert list(data["n"]) == [40_123, 37_075, 3_712, 2_514]
    assert list(data["aside"])[1:] == [40_123 - 37_075, 37_075 - 3_712, 3_712 - 2_514]
    assert flow.table.n_hidden() == 0
    stored = json.loads(json.dumps(to_jsonable(flow, "sample_flow")))
    assert stored["columns"] == ["step", "n", "aside"] and stored["data"][0] == ["eligible", 40_123, None]
    assert len(stored["links"]) == 3  # n_before = n_after + aside, for every step


def test_a_small_count_is_hidden_with_what_gives_it_back():
    flow = _flow([500, 497, 60, 55])  # 3 without a score, 5 declined: both below 10
    hidden = flow.table.hidden
    assert hidden.at["scored", "aside"] and hidden.at["supported", "aside"]
    for step, before in (("scored", "eligible"), ("supported", "offered")):  # the equation cannot be solved
        assert hidden.at[step, "n"] or hidden.at[before, "n"]
    stored = {"sample_flow": {"value": json.loads(json.dumps(to_jsonable(flow, "sample_flow")))}}
    assert attack_records(stored, 10) == []  # the attacker gets nothing back from the published cells
    page = flow.html()
    assert ">3<" not in page and ">5<" not in page and "[c]" in page


def test_the_diagram_is_accessible_self_contained_html_in_its_language():
    lv = _flow([40_123, 37_075, 3_712, 2_514], language="lv").html()
    assert lv.startswith('<figure class="evt-flow" lang="lv" role="group" aria-label="Shēma „Plūsma”')
    assert "40\u00a0123 skolēnu gadi" in lv and "Atteicās: <strong>1\u00a0198</strong>" in lv
    assert lv.count("<li>") == 4 and "<ol>" in lv and "break-inside:avoid" in lv
    for forbidden in ("<script", "<img", "http://", "https://", "url(", "<table"):
        assert forbidden not in lv
    label = re.search(r'aria-label="([^"]+)"', lv).group(1)
    assert "Atbilstoši: 40\u00a0123 skolēnu gadi." in label and "Bez novērtējuma: 3\u00a0048." in label
    en = _flow([40_123, 37_075, 3_712, 2_514], language="en").html()
    assert "40,123 pupil-years" in en and "Declined: <strong>1,198</strong>" in en


def test_the_flow_is_published_as_a_table_file_and_a_record(tmp_path, monkeypatch):
    from evaltools.report import tables
    from evaltools.report.record import clear, recorded

    monkeypatch.setattr(tables, "output_dir", lambda: tmp_path)
    clear()
    flow = _flow([400, 380, 100, 60], language="lv").publish("sample_flow")
    assert {p.name for p in tmp_path.iterdir()} >= {"sample_flow.csv", "sample_flow.xlsx", "sample_flow.tex"}
    csv = (tmp_path / "sample_flow.csv").read_text("utf-8-sig").splitlines()
    assert csv[0] == "Posms,Skaits,Nenonāca līdz šim posmam"  # labels in the file, codes in results.json
    assert recorded()["sample_flow"]["value"]["columns"] == ["step", "n", "aside"]
    assert flow.table.name == "sample_flow"
    clear()


@pytest.mark.parametrize("steps, match", [
    ([("a", 10)], "at least two steps"),
    ([("a", 10), ("a", 5)], "unique"),
    ([("a", 10), ("b", 12)], "more units"),
    ([("a", 10), ("b", 2.5)], "whole number"),
])
def test_bad_counts_are_explained(steps, match):
    with pytest.raises(FlowInputError, match=match):
        sample_flow(steps, labels={c: c for c, _ in steps}, title="t", unit="u")
    with pytest.raises(FlowInputError, match="no label"):
        sample_flow([("a", 10), ("b", 5)], labels={"a": "A"}, title="t", unit="u")
