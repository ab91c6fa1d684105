"""The index a funder uses (evaltools.report.site): one card per study and area with its
current run per language, verdict, padlocks, labelled interval, demonstration marker,
language switch, history, and failed runs in the report's language. Hand-written run
folders, no kernel."""
from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from evaltools.report.i18n import percent, t, text
from evaltools.report.pagecheck import check_self_contained
from evaltools.report.site import area_text, build_site, cards, runs, verdict_of


def _run(reports: Path, study: str, run_id: str, params: dict, status: str = "succeeded",
         results: dict | None = None, **manifest) -> Path:
    folder = reports / study / run_id
    folder.mkdir(parents=True)
    stamp = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:{run_id[11:13]}:00+00:00"
    (folder / "manifest.json").write_text(json.dumps(
        {"study": study, "run_id": run_id, "status": status, "started_at": stamp, "parameters": params,
         "notebook": {"path": f"notebooks/{study}.ipynb"}, **manifest}), "utf-8")
    (folder / "results.json").write_text(json.dumps(results or {}), "utf-8")
    (folder / "report.html").write_text("<!DOCTYPE html><html><body>r</body></html>", "utf-8")
    return folder


def _notebook(root: Path, study: str, title: dict) -> None:
    (root / "notebooks").mkdir(exist_ok=True)
    (root / "notebooks" / f"{study}.ipynb").write_text(json.dumps(
        {"cells": [], "metadata": {"evaltools": {"title": title}}, "nbformat": 4, "nbformat_minor": 5}), "utf-8")


def _card(verdict="better", padlocks=2, wwc="Does not meet WWC standards"):
    return {"headline_card": {"headline": True, "label": "card", "value": {
        "type": "headline", "answer": {"lv": "Jā: samazināja.", "en": "Yes: it lowered."}, "verdict": verdict,
        "effect": {"type": "estimate", "estimate": -0.0511, "ci_low": -0.0822, "ci_high": -0.0199, "level": 0.95},
        "scale": 100.0, "unit": {"lv": "procentpunkti", "en": "percentage points"},
        "rating": {"wwc": wwc, "padlocks": padlocks, "reasons": []}}}}


def _effect(lang: str, effect: str, unit: str, lo: str, hi: str) -> str:
    """The card's own wording of an effect and its labelled interval (headline.effect_value)."""
    return text("headline.effect_value", lang, effect=effect, unit=unit, level=percent(0.95, lang),
                ci_low=lo, ci_high=hi).replace("  ", " ")


def _text(html: str) -> str:
    html = re.sub(r"<(style|title)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _cards(page: str) -> list[str]:
    return re.findall(r"<article class=\"ev-card.*?</article>", page, re.S)


@pytest.fixture
def project(tmp_path):
    root = tmp_path
    _notebook(root, "alumni_programme", {"lv": "Absolventu programma", "en": "The alumni programme"})
    _notebook(root, "municipal_quality", {"lv": "Izglītības kvalitāte", "en": "Education quality"})
    reports = root / "reports"
    cohorts = {"data_dir": "data/sample", "first_cohort": 2016, "last_cohort": 2019}
    _run(reports, "alumni_programme", "20260101T100000Z-alumni_programme", {**cohorts, "language": "lv"},
         results=_card(), demo={"generator": "evaltools.data.synth", "scale": 1.0, "seed": 1, "inputs": ["data_dir"]})
    _run(reports, "alumni_programme", "20260101T110000Z-alumni_programme_en", {**cohorts, "language": "en"},
         results=_card())
    _run(reports, "alumni_programme", "20250101T100000Z-alumni_programme", {**cohorts, "language": "lv"},
         results=_card(verdict="unclear"))
    _run(reports, "alumni_programme", "20260102T100000Z-alumni_programme", {**cohorts, "language": "lv"},
         status="failed", params_file={"path": "params/alumni_programme.yaml"},
         error={"kind": "cell error", "message": "ValueError: no cohort 2031"})
    valmiera = {"data_dir": "data/sample", "municipality": "Valmieras novads", "first_year": 2016,
                "last_year": 2019, "language": "lv"}
    _run(reports, "municipal_quality", "20260101T120000Z-municipal_quality_valmiera", valmiera,
         results={"rate": {"headline": True, "label": "Īpatsvars, %", "value": {
             "type": "estimate", "estimate": 1.1381, "ci_low": 1.0412, "ci_high": 1.2349, "level": 0.95}}})
    _run(reports, "municipal_quality", "20260101T130000Z-municipal_quality",
         {"data_dir": "data/sample", "municipality": "all", "language": "en"}, status="interrupted",
         error={"kind": "interrupted", "message": "the run was interrupted (SIGTERM) during step 'notebook'"})
    return reports


def test_one_card_per_study_and_area_with_the_current_run_per_language(project):
    found = cards(runs(project))
    assert len(found) == 3  # alumni 2016-2019; municipal Valmiera; municipal Latvia
    alumni = next(c for c in found if c.key[0] == "alumni_programme")
    current = alumni.current()
    # the newest LV run failed: the current LV run is the newest that succeeded
    assert current["lv"]["run_id"] == "20260101T100000Z-alumni_programme"
    assert current["en"]["run_id"] == "20260101T110000Z-alumni_programme_en"
    assert [r["run_id"] for r in alumni.history()] == ["20260102T100000Z-alumni_programme",
                                                       "20250101T100000Z-alumni_programme"]


def test_card_shows_title_area_verdict_padlocks_and_labelled_interval_in_its_language(project):
    page = build_site(project).read_text("utf-8")
    check_self_contained(page)
    card = next(c for c in _cards(page) if "Absolventu programma" in c)
    lv = _text(re.search(r'<div class="ev-panel ev-panel-lv".*?(?=<div class="ev-panel ev-panel-en")', card, re.S).group(0))
    en = _text(card.split('<div class="ev-panel ev-panel-en"')[1])
    assert "pievienošanās gadi 2016–2019" in lv and "cohorts 2016–2019" in en
    assert t("index.verdict.better", "lv") in lv and t("index.verdict.better", "en") in en
    assert "2 no 5 slēdzenēm" in lv and "2 of 5 padlocks" in en
    assert t("rating.wwc.does_not", "lv") in lv
    # the card's unit and scale (percentage points), never the raw probability −0.051
    assert _effect("lv", "−5,1", "procentpunkti", "−8,2", "−2,0") in lv
    assert _effect("en", "−5.1", "percentage points", "−8.2", "−2.0") in en
    assert "0,051" not in lv and "0.051" not in en
    assert "Jā: samazināja." in lv and "Yes: it lowered." in en
    assert "The alumni programme" in en and "alumni_programme" not in _text(card).replace("params/alumni_programme.yaml", "")


def test_language_switch_only_when_both_versions_exist(project):
    page = build_site(project).read_text("utf-8")
    by_title = {("Absolventu" in c, "Valmieras novads" in c): c for c in _cards(page)}
    assert by_title[(True, False)].count('type="radio"') == 2
    assert by_title[(False, True)].count('type="radio"') == 0


def test_area_is_a_human_name_never_a_code(project):
    page = build_site(project).read_text("utf-8")
    text = _text(page)
    assert "Valmieras novads, 2016/17–2019/20" in text
    assert "Latvia" in text  # municipality: all, an English run
    assert "municipality=" not in text and "first_year" not in text
    assert area_text({"parameters": {"region": "all"}}, "lv") == "Latvija"


def test_demonstration_marker_only_on_runs_whose_manifest_says_synthetic(project):
    page = build_site(project).read_text("utf-8")
    card = next(c for c in _cards(page) if "Absolventu programma" in c)
    lv, en = card.split('<div class="ev-panel ev-panel-en"')
    assert t("index.demo", "lv") in _text(lv)
    assert t("index.demo", "en") not in _text(en)  # its manifest has no flag
    assert t("index.demo", "lv") not in _text(next(c for c in _cards(page) if "Valmieras" in c))


def test_history_is_collapsed_below_the_card_with_translated_failures(project):
    page = build_site(project).read_text("utf-8")
    card = next(c for c in _cards(page) if "Absolventu programma" in c)
    history = re.search(r'<details class="ev-history">.*?</details>', card, re.S).group(0)
    assert " open" not in history.split(">")[0]
    assert t("index.history", "lv", n=2) in _text(history)
    assert t("index.error.cell", "lv") in _text(history) and "no cohort 2031" in _text(history)
    assert history.count("<tr class=\"ev-") == 2


def test_a_run_that_did_not_finish_has_a_real_title_and_a_translated_message(project):
    page = build_site(project).read_text("utf-8")
    card = next(c for c in _cards(page) if "Latvia" in _text(c))
    text = _text(card)
    assert "ev-interrupted" in card and "Education quality" in text and "municipal_quality" not in text
    assert t("index.status.interrupted", "en") in text and t("index.error.interrupted", "en") in text
    assert "results.json" not in card  # nothing was published: no empty results linked
    assert "report.html" in card


def test_estimate_headline_has_a_labelled_interval_and_no_sign_for_a_level(project):
    page = build_site(project).read_text("utf-8")
    text = _text(next(c for c in _cards(page) if "Valmieras" in c))
    assert "Īpatsvars, %: " + _effect("lv", "1,14", "", "1,04", "1,23") in text  # a level: no "+"


def test_without_headlines_no_headline_no_error_message(project):
    bare = _text(build_site(project, headlines=False).read_text("utf-8"))
    assert "Jā: samazināja." not in bare and "no cohort 2031" not in bare and "1,14" not in bare
    assert "Absolventu programma" in bare and t("index.status.interrupted", "en") in bare


@pytest.mark.parametrize("verdict, expected", [
    ("better", ("better", "Uzlaboja")), ("unclear", ("unclear", "Nav skaidra efekta")),
    ({"code": "promising", "text": {"lv": "Daudzsološs, zema drošība", "en": "Promising, low security"},
      "colour": "#8a6d00"}, ("promising", "Daudzsološs, zema drošība")),
    ({"code": "x", "text": {"lv": "<b>", "en": "b"}, "colour": "red;background:url(x)"}, ("x", "<b>")),
    (None, None),
])
def test_verdict_hook_reads_a_code_or_a_worded_verdict(verdict, expected):
    got = verdict_of({"verdict": verdict}, "lv")
    assert (got[:2] if got else None) == expected
    if got:
        assert re.fullmatch(r"#[0-9a-fA-F]{3,8}", got[2])  # a colour goes into a style attribute


def test_empty_reports_folder_gives_a_page(tmp_path):
    page = build_site(tmp_path / "reports").read_text("utf-8")
    assert t("index.empty", "lv") in _text(page) and "evaltools run-all" in page


def test_a_newer_failed_run_is_said_on_the_card_that_shows_the_older_success(project):
    page = build_site(project).read_text("utf-8")
    card = next(c for c in _cards(page) if "Absolventu programma" in c)
    lv, en = card.split('<div class="ev-panel ev-panel-en"')
    assert t("index.newer_failed", "lv", date="2026-01-02 10:00") in _text(lv)
    assert "ev-newer" not in en.split("ev-history")[0]  # the EN version has no newer failure


def test_a_worded_verdict_from_the_card_is_shown_with_its_colour_and_explanation(tmp_path):
    reports = tmp_path / "reports"
    worded = {"code": "promising", "colour": "#8a6d00", "padlocks": 2,
              "label": {"lv": "Daudzsološs rezultāts, taču zema drošība", "en": "Promising, but low security"},
              "explanation": {"lv": "Drošību ierobežo: 2 no 5 slēdzenēm.", "en": "Security is limited by: 2 of 5 padlocks."}}
    _run(reports, "alumni_programme", "20260101T100000Z-a", {"language": "en"}, results=_card(verdict=worded),
         demo=None)
    page = build_site(reports).read_text("utf-8")
    text = _text(page)
    assert "Promising, but low security" in text and "Security is limited by: 2 of 5 padlocks." in text
    assert 'style="background:#8a6d00"' in page
    assert t("index.demo", "en") not in text  # demo: None is real data


def test_contents_table_links_every_card_with_its_state(project):
    page = build_site(project).read_text("utf-8")
    contents = re.search(r'<nav class="ev-contents">.*?</nav>', page, re.S).group(0)
    links = re.findall(r'href="#(card-\d+)"', contents)
    assert sorted(links) == sorted(re.findall(r'<article class="ev-card[^"]*" id="(card-\d+)"', page))
    text = _text(contents)
    assert "LV · EN" in text and t("index.verdict.better", "lv") in text
    assert t("index.status.interrupted", "en") in text


def test_a_protected_value_is_shown_by_its_text_in_the_language():
    from evaltools.report.disclosure import protect_value
    from evaltools.report.site import format_value

    value = protect_value(12.5, denominator=400, numerator=50, percent=True, label="share").to_dict()
    assert format_value(value, "lv") == value["text"]["lv"] and "{" not in format_value(value, "lv")
    assert format_value(value, "en") == value["text"]["en"] and value["text"]["en"] != value["text"]["lv"]
