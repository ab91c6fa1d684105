"""The area in words (evaltools.report.area) and in the report's title and page title
(evaltools.report.render.page_context): Latvian names of municipalities in both languages,
planning regions as the law names them, Latvia for ``all``. No kernel."""
from __future__ import annotations

import pytest

from evaltools.data.geography import MUNICIPALITIES, PLANNING_REGIONS
from evaltools.report import site
from evaltools.report.area import area_name, area_text, planning_region, region_name, titled
from evaltools.report.i18n import text
from evaltools.report.render import page_context

PERIOD = {"first_year": 2020, "last_year": 2023}
TITLE = {"lv": "Izglītības kvalitāte pašvaldībās", "en": "Education quality in the municipalities"}


class _Nb:
    metadata = {"evaltools": {"title": TITLE}}


def _manifest(**params):
    return {"study": "municipal_quality", "parameters": params}


@pytest.mark.parametrize("params, lv, en", [
    ({"municipality": "Valmieras novads"}, "Valmieras novads", "Valmieras novads"),
    ({"municipality": "Rīga"}, "Rīga", "Rīga"),
    ({"municipality": "all"}, "Latvija", "Latvia"),
    ({"region": "Latgale"}, "Latgales plānošanas reģions", "Latgale planning region"),
    ({"region": "Rīga"}, "Rīgas plānošanas reģions", "Riga planning region"),
    ({"region": "all"}, "Latvija", "Latvia"),
    ({"language": "lv"}, "", ""),
])
def test_area_name_in_both_languages(params, lv, en):
    assert area_name(_manifest(**params), "lv") == lv
    assert area_name(_manifest(**params), "en") == en


def test_area_text_adds_the_period_cohorts_and_own_extract():
    m = _manifest(municipality="Valmieras novads", first_year=2016, last_year=2019)
    assert area_text(m, "lv") == "Valmieras novads, 2016/17–2019/20"
    own = _manifest(municipality="Cēsu novads", **PERIOD, mapping="/x/params/mappings/municipal_extract_lv.yaml")
    assert area_text(own, "en") == "Cēsu novads, 2020/21–2023/24, " + text(
        "index.area.own_data", "en", mapping="municipal_extract_lv.yaml")  # the file's name, never its folder
    assert area_text(_manifest(first_cohort=2018, last_cohort=2019), "lv") == text(
        "index.area.cohorts", "lv", cohorts="2018–2019")
    assert site.area_text is area_text  # the old import still works


def test_every_planning_region_has_its_legal_name_and_every_municipality_a_region():
    for region in PLANNING_REGIONS:
        assert region_name(region, "lv").endswith("plānošanas reģions") and region_name(region, "lv").startswith(region[:3])
        assert region_name(region, "en") == f"{'Riga' if region == 'Rīga' else region} planning region"
    assert {planning_region(name) for name, *_ in MUNICIPALITIES} == set(PLANNING_REGIONS)
    assert planning_region("Valmieras novads") == "Vidzeme" and planning_region("Nowhere") is None
    assert region_name("Atlantis", "lv") == "Atlantis"


@pytest.mark.parametrize("params, language, expected", [
    ({"municipality": "Valmieras novads", **PERIOD}, "lv",
     "Izglītības kvalitāte pašvaldībās: Valmieras novads, 2020/21–2023/24"),
    ({"municipality": "Valmieras novads", **PERIOD}, "en",
     "Education quality in the municipalities: Valmieras novads, 2020/21–2023/24"),
    ({"municipality": "Rīga", **PERIOD}, "lv", "Izglītības kvalitāte pašvaldībās: Rīga, 2020/21–2023/24"),
    ({"municipality": "all", **PERIOD}, "lv", "Izglītības kvalitāte pašvaldībās: Latvija, 2020/21–2023/24"),
    ({"municipality": "all", **PERIOD}, "en", "Education quality in the municipalities: Latvia, 2020/21–2023/24"),
    ({"region": "Latgale", **PERIOD}, "lv",
     "Izglītības kvalitāte pašvaldībās: Latgales plānošanas reģions, 2020/21–2023/24"),
    ({**PERIOD}, "lv", "Izglītības kvalitāte pašvaldībās"),  # no area: the title alone
])
def test_the_report_title_and_page_title_say_the_area(params, language, expected):
    manifest = _manifest(**params, language=language)
    assert page_context(_Nb(), manifest, language)["title"] == expected
    assert titled(TITLE[language], manifest, language) == expected


def test_a_report_without_a_notebook_title_is_named_by_its_study_and_area():
    assert page_context(None, _manifest(municipality="Rīga"), "lv")["title"] == "municipal_quality: Rīga"


@pytest.mark.parametrize("title, expected", [
    ("Vai PUMPURS noturēja skolēnus skolā?", "Vai PUMPURS noturēja skolēnus skolā? — Rīga, 2020/21–2023/24"),
    ("Monitorings: rezultāti", "Monitorings: rezultāti — Rīga, 2020/21–2023/24"),
    ("Izglītības kvalitāte", "Izglītības kvalitāte: Rīga, 2020/21–2023/24"),
])
def test_a_question_or_a_title_with_a_colon_is_followed_by_a_dash_not_a_second_colon(title, expected):
    assert titled(title, _manifest(municipality="Rīga", **PERIOD), "lv") == expected
