"""The index's group of municipal reports (evaltools.report.site): the national comparison
first as a card, then the municipalities in a compact list by planning region, alphabetical in
Latvian order, in both languages; other studies' cards unchanged; the right words for a study
without a verdict; no empty band above a single-language card's title. No kernel."""
from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from evaltools.report.i18n import collation_key, text
from evaltools.report.i18n import text as _txt
from evaltools.report.site import GROUP_MIN_CARDS, _CSS, build_site, cards, runs, split_groups, state_text

STUDY = "municipal_quality"
# (name, planning region) of the 43 (evaltools.data.geography), a few of them
MUNICIPALITIES = [("Valmieras novads", "Vidzeme"), ("Ādažu novads", "Rīga"), ("Rīga", "Rīga"),
                  ("Alūksnes novads", "Vidzeme"), ("Cēsu novads", "Vidzeme"), ("Ludzas novads", "Latgale"),
                  ("Ogres novads", "Rīga")]


def _run(reports: Path, study: str, run_id: str, params: dict, status: str = "succeeded",
         results: dict | None = None) -> Path:
    folder = reports / study / run_id
    folder.mkdir(parents=True)
    stamp = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:{run_id[11:13]}:00+00:00"
    stem = run_id[17:]
    manifest = {"study": study, "run_id": run_id, "status": status, "started_at": stamp, "parameters": params,
                "params_file": {"path": f"params/{stem}.yaml"}}
    if status != "succeeded":
        manifest["error"] = {"kind": "cell error", "message": "DataError: boom"}
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    (folder / "results.json").write_text(json.dumps(results or {}), "utf-8")
    (folder / "report.html").write_text("<!DOCTYPE html><html><body>r</body></html>", "utf-8")
    return folder


def _text(html: str) -> str:
    html = re.sub(r"<(style|title)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


RATE = {"rate": {"headline": True, "label": "Īpatsvars, %", "value": {
    "type": "estimate", "estimate": 1.1, "ci_low": 1.0, "ci_high": 1.2, "level": 0.95}}}
CARD = {"card": {"headline": True, "label": "card", "value": {
    "type": "headline", "answer": {"lv": "Jā.", "en": "Yes."}, "verdict": "better"}}}


@pytest.fixture
def reports(tmp_path):
    reports = tmp_path / "reports"
    period = {"data_dir": "data/sample", "first_year": 2020, "last_year": 2023}
    _run(reports, STUDY, "20260101T090000Z-municipal_quality", {**period, "municipality": "all", "language": "lv"},
         results=RATE)
    _run(reports, STUDY, "20260101T090100Z-municipal_quality_en", {**period, "municipality": "all", "language": "en"},
         results=RATE)
    for k, (name, _) in enumerate(MUNICIPALITIES):
        _run(reports, STUDY, f"20260101T10{k:02d}00Z-m{k}", {**period, "municipality": name, "language": "lv"},
             results=RATE)
    _run(reports, STUDY, "20260102T100000Z-m1", {**period, "municipality": "Ādažu novads", "language": "lv"},
         status="failed")  # newer than Ādaži's success
    _run(reports, STUDY, "20260101T110000Z-m9", {**period, "municipality": "Ludzas novads", "language": "lv",
                                                 "mapping": "params/mappings/municipal_extract_lv.yaml"},
         status="failed")
    _run(reports, "dropout_prevention", "20260101T100000Z-dropout_prevention", {"region": "all", "language": "lv"},
         results=CARD)
    _run(reports, "evaluation_planner", "20260101T100000Z-evaluation_planner_stem", {"language": "lv"},
         results={"mdes": {"headline": True, "label": "MDES", "value": 0.128}})
    _run(reports, "dropout_prevention", "20260101T100000Z-dropout_prevention_latgale",
         {"region": "Latgale", "language": "lv"}, results=CARD)
    return reports


def _rows(group: str) -> list[str]:
    """The municipalities' rows (each with its collapsed history of earlier runs)."""
    return ['<tr class="ev-muni-row' + part for part in group.split('<tr class="ev-muni-row')[1:]]


def _group(page: str) -> str:
    return re.search(r'<section class="ev-group" id="group-municipal_quality">.*?</section>', page, re.S).group(0)


def test_one_group_with_the_national_comparison_first_then_the_municipalities_by_region(reports):
    page = build_site(reports).read_text("utf-8")
    group = _group(page)
    text = _text(group).strip()
    assert text.startswith(f'{_txt("index.group.municipal_quality", "lv")} · {_txt("index.group.municipal_quality", "en")}')
    assert group.count("<article") == 1  # the national comparison, LV and EN in one card
    assert group.index("<article") < group.index('class="ev-muni-table"')
    assert group.count('type="radio"') == 2
    regions = re.findall(r'<h3 class="ev-region">(.*?)</h3>', group)
    assert [_text(r).strip() for r in regions] == ["Rīgas plānošanas reģions · Riga planning region",
                                                  "Vidzemes plānošanas reģions · Vidzeme planning region",
                                                  "Latgales plānošanas reģions · Latgale planning region"]
    chunks = group.split('<h3 class="ev-region">')[1:]  # one per region (a history table has no row headings)
    names = [[unescape(n) for n in re.findall(r'<th scope="row" lang="lv">([^<]+)</th>', c)] for c in chunks]
    assert names[0] == ["Ādažu novads", "Ogres novads", "Rīga"]  # Ā right after A, Rīga after Ogre
    assert names[1] == ["Alūksnes novads", "Cēsu novads", "Valmieras novads"]
    assert names[2] == ["Ludzas novads", "Ludzas novads"]  # two cards: the own extract is its own row
    for region in names:
        assert region == sorted(region, key=lambda n: collation_key(n, "lv"))
    # no municipality is also a card of its own, and the other studies keep their cards
    cards_outside = page.replace(group, "")
    assert "Valmieras novads" not in _text(cards_outside.split('<nav class="ev-contents">')[1].split("</nav>")[1])
    assert cards_outside.count("<article") == 3  # dropout (Latvia, Latgale), the planner


def test_each_municipality_links_its_report_and_pdf_and_says_its_state(reports):
    page = build_site(reports).read_text("utf-8")
    group = _group(page)
    rows = {unescape(n): r for r, n in ((r, re.search(r'<th scope="row" lang="lv">([^<]+)</th>', r).group(1))
                                         for r in _rows(group))}
    cesis = rows["Cēsu novads"]
    assert 'href="latest/municipal_quality/m4/report.html"' in cesis  # the stable address
    assert _txt("index.state.no_verdict", "lv") in _text(cesis)
    adazi = rows["Ādažu novads"]  # a newer run failed: the success is shown and the failure said
    assert "latest/municipal_quality/m1/report.html" in adazi
    assert text("index.newer_failed", "lv", date="2026-01-02 10:00") in _text(adazi)
    assert '<details class="ev-history">' in adazi
    for href in re.findall(r'href="([^"#]+)"', group):
        assert (reports / unescape(href)).is_file(), href


def test_a_failed_municipality_says_why_and_links_its_failure_page(reports):
    group = _group(build_site(reports).read_text("utf-8"))
    ludza = [r for r in _rows(group) if r.startswith('<tr class="ev-muni-row ev-failed"')]
    assert len(ludza) == 1 and "Ludzas novads" in ludza[0]
    assert text("index.status.failed", "lv") in _text(ludza[0]) and text("index.error.cell", "lv") in _text(ludza[0])
    assert "municipal_extract_lv.yaml" in _text(ludza[0])  # the own extract is said
    assert "report.pdf" not in ludza[0] and "report.html" in ludza[0]


def test_the_contents_lists_the_group_once_and_no_study_without_a_verdict_says_succeeded(reports):
    page = build_site(reports).read_text("utf-8")
    contents = re.search(r'<nav class="ev-contents">.*?</nav>', page, re.S).group(0)
    assert contents.count('href="#group-municipal_quality"') == 1
    assert _txt("index.group.count", "lv", n=len(MUNICIPALITIES) + 1) in _text(contents)
    assert "Valmieras novads" not in _text(contents)
    succeeded = text("index.status.succeeded", "lv")
    assert succeeded not in _text(contents)  # the planner has no verdict: not "Izdevās"
    assert _txt("index.state.no_verdict", "lv") in _text(contents)
    assert text("index.verdict.better", "lv") in _text(contents)  # dropout's verdict
    anchors = set(re.findall(r'href="#([^"]+)"', contents))
    assert anchors <= set(re.findall(r' id="([^"]+)"', page))


def test_state_words():
    run = {"status": "succeeded", "_dir": Path("/nonexistent")}
    assert state_text(run, "en") == _txt("index.state.no_verdict", "en")
    assert state_text({"status": "interrupted"}, "en") == text("index.status.interrupted", "en")


def test_few_municipal_cards_stay_cards(reports):
    found = cards(runs(reports))
    groups, others = split_groups(found)
    assert len(groups) == 1 and len(groups[0].national) == 1 and len(groups[0].municipal) == len(MUNICIPALITIES) + 1
    few = [c for c in found if c.key[0] != STUDY or "all" in c.key[1] or "Rīga" in c.key[1]]
    groups, others = split_groups(few)
    assert groups == [] and len(others) == len(few)  # fewer than GROUP_MIN_CARDS municipalities
    assert GROUP_MIN_CARDS > 1


def test_a_single_language_card_has_no_empty_band_above_its_title():
    # funder.css gives `.ev-main h2` a top margin; the card's title must override it
    assert re.search(r"\.ev-card \.ev-card-title \{ margin: 0 0", _CSS)
