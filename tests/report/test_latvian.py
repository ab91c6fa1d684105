"""Latvian done properly (issue 14, items 6 and 7): one place for number, percent, p-value and
sign formatting (CLDR through Babel), Latvian alphabetical order, figure ticks and alt text in
the report language, plain language (acronyms explained, a glossary), and a scan of each real
Latvian report for English catalogue text and raw parameter reprs."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from babel import Locale  # noqa: E402

from evaltools.report import i18n  # noqa: E402
from evaltools.report.figures import PublishedFigure, figure_alt, localise_ticks  # noqa: E402
from evaltools.report.i18n import (  # noqa: E402
    collation_key,
    measure_name,
    p_equals,
    p_value,
    param_value,
    percent,
    sort_names,
    t,
    tick_formatter,
)
from evaltools.report.sections import GLOSSARY, IMPACT_TERMS, glossary_section  # noqa: E402
from tests.shipped import default_studies  # noqa: E402

NBSP = "\u00a0"
MINUS = "\u2212"
ROOT = Path(__file__).resolve().parents[2]


# -- one rule for percentages, from CLDR ----------------------------------------------------
def test_percent_follows_the_cldr_pattern_of_each_language():
    for lang in ("lv", "en"):
        pattern = Locale.parse(lang).percent_formats[None].pattern
        spaced = " " in pattern or "\u00a0" in pattern or "\u202f" in pattern
        shown = percent(0.95, lang)
        assert shown.startswith("95") and shown.endswith("%")
        assert (NBSP in shown) == spaced, (lang, pattern, shown)
        assert " " not in shown  # never a breaking space
    assert percent(-0.123, "lv", 1).startswith(MINUS + "12,3")


def test_catalogue_texts_write_percent_the_cldr_way():
    spaced = " " in Locale.parse("lv").percent_formats[None].pattern
    bad = re.compile(r"[\d}] %") if not spaced else re.compile(r"[\d}]%")
    for key, entry in i18n.catalogue().items():
        for lang, text in entry.items():
            assert not bad.search(text), f"{key} ({lang}) writes a percentage against the CLDR rule: {text[:80]}"


# -- p-values ---------------------------------------------------------------------------------
def test_p_values_never_read_zero_and_tiny_ones_are_bounded():
    assert p_value(0.00002, "lv") == f"<{NBSP}0,001"
    assert p_equals(0.00002, "lv") == f"p{NBSP}<{NBSP}0,001"
    assert p_equals(0.524, "en") == f"p{NBSP}={NBSP}0.52"
    assert p_equals(0.0071, "lv") == f"p{NBSP}={NBSP}0,007"
    for p in (0.0, 1e-9, 0.0004, 0.0049, 0.049, 0.5, 1.0):
        shown = p_value(p, "lv")
        assert not re.fullmatch(r"0,0+", shown), (p, shown)


def test_a_missing_test_is_a_whole_clause_not_p_equals_text():
    for lang in ("lv", "en"):
        clause = p_equals(None, lang)
        assert not clause.startswith("p") and clause == i18n.text("p.not_testable", lang)
    filled = t("am.subgroups.text", "lv", threshold=5, p_subject=p_equals(0.52, "lv"),
               p_role=p_equals(0.0001, "lv"), p_school=p_equals(None, "lv")).plain
    assert "p = nav" not in filled.replace(NBSP, " ") and "skolas tips nav testējams" in filled


def test_the_p_spec_fills_messages_and_no_template_writes_p_equals_by_hand():
    assert t("am.event.pretrend", "lv", p=0.00001).plain.count(f"p{NBSP}<{NBSP}0,001") == 1
    hand_made = re.compile(r"p = \{[a-z_]+:\.\d+f\}")
    for key, entry in i18n.catalogue().items():
        for text in entry.values():
            assert not hand_made.search(text), f"{key}: format p-values with {{name:p}} (p < 0,001, never 0,00)"


# -- Latvian alphabetical order --------------------------------------------------------------
def test_latvian_order_puts_each_diacritic_letter_after_its_base():
    names = ["Zilupe", "Ķekava", "Ādaži", "Aizkraukle", "Kuldīga", "Čaka", "Cēsis", "Ērgļi", "Engure",
             "Šķēde", "Sigulda", "Ogre", "Ļaudona", "Lubāna", "Ņukši", "Nīca", "Žagari", "Ģipka", "Gulbene"]
    assert sort_names(names, "lv") == [
        "Aizkraukle", "Ādaži", "Cēsis", "Čaka", "Engure", "Ērgļi", "Gulbene", "Ģipka", "Kuldīga", "Ķekava",
        "Lubāna", "Ļaudona", "Nīca", "Ņukši", "Ogre", "Sigulda", "Šķēde", "Zilupe", "Žagari"]
    assert sorted(names) != sort_names(names, "lv")  # code-point order puts Ā, Č, Ķ... after Z
    assert collation_key("rīga", "lv")[0] == collation_key("Rīga", "lv")[0]  # case is secondary
    assert sort_names(["b", "Ab", "ab"], "lv") == ["ab", "Ab", "b"]


def test_municipal_table_lists_areas_in_latvian_order():
    from evaltools.studies.municipal_quality import indicators

    src = (Path(indicators.__file__)).read_text("utf-8")
    assert "sort_names(" in src and 'groupby("unit", sort=True)' not in src


# -- parameters, measures, axes, alt text ------------------------------------------------------
def test_parameter_values_are_never_python_reprs():
    assert param_value(None, "lv") == "nav norādīts"
    assert param_value(True, "lv") == "jā" and param_value(False, "en") == "no"
    assert param_value(1500.0, "lv") == "1500"  # four digits stay together (VVC), as years do
    assert param_value(15000.0, "lv") == f"15{NBSP}000"
    assert param_value(0.25, "lv") == "0,25"
    assert param_value(-2.5, "lv") == f"{MINUS}2,5"
    assert param_value([2016, 2022], "lv") == "2016, 2022"
    assert param_value({"a": None}, "en") == "a: not set"
    for v in (None, True, 1500.0, [1, 2]):
        assert repr(v) not in param_value(v, "lv")


def test_parameter_labels_come_from_the_catalogue():
    assert i18n.param_label("cost_per_participant_year", "lv") == "Izmaksas uz dalībnieku gadā, €"
    assert i18n.param_label("threshold", "en") == "Risk-score threshold"
    assert i18n.param_label("some_new_option", "lv") == "some new option"


def test_effect_size_measures_have_latvian_names():
    assert measure_name("Cox index", "lv") == "Koksa indekss"
    assert measure_name("Hedges' g", "lv") == "Hedžesa g"
    assert measure_name("Cox index", "en") == "Cox index"
    assert measure_name("something else", "lv") == "something else"


def test_tick_labels_use_the_decimal_comma_and_the_minus_sign():
    fmt = tick_formatter("lv")
    assert fmt(-0.5, 0) == f"{MINUS}0,5" and fmt(2.0, 0) == "2" and fmt(0.0, 0) == "0"
    assert tick_formatter("en")(-0.25, 0) == f"{MINUS}0.25"
    assert tick_formatter("lv", percent_axis=True)(0.25, 0) == "25%"
    fig, ax = plt.subplots()
    ax.plot([-0.5, 0.5], [0.1, 0.3])
    localise_ticks(fig, "lv")
    fig.canvas.draw()
    labels = [tl.get_text() for tl in ax.get_yticklabels() + ax.get_xticklabels() if tl.get_text()]
    plt.close(fig)
    assert any("," in lab for lab in labels) and not any("." in lab for lab in labels), labels


def test_published_figures_carry_alt_text_in_the_report_language():
    fig, ax = plt.subplots()
    ax.set_title("Joprojām strādā skolā")
    assert figure_alt(fig, language="lv") == "Attēls: Joprojām strādā skolā."
    assert figure_alt(fig, "Mans apraksts") == "Mans apraksts"
    ax.set_title("")
    ax.set_xlabel("Gadi")
    assert "Gadi" in figure_alt(fig, language="lv")
    plt.close(fig)
    bare, _ = plt.subplots()
    assert figure_alt(bare, language="lv") == i18n.text("fig.alt_untitled", "lv")
    plt.close(bare)
    published = PublishedFigure("x", Path("x.png"), b"", (), alt="Attēls: X.")
    _, meta = published._repr_mimebundle_()
    assert meta["image/png"]["alt"] == "Attēls: X."


# -- plain language ----------------------------------------------------------------------------
ACRONYM = re.compile(r"\b[A-Z]{2,}[0-9]*\b|HonestDiD")
# names of things, not jargon: the programme, a hash, the currency, the clock, languages, file formats
NOT_JARGON = {"PUMPURS", "SHA", "EUR", "CLDR", "ESF", "UTC", "LV", "EN", "PDF", "HTML", "CSV", "XLSX", "PNG", "SVG", "JSON"}


def test_every_acronym_in_the_catalogues_is_explained_in_the_glossary():
    glossary = {lang: " ".join(i18n.text(f"glossary.{g}", lang) for g in GLOSSARY) for lang in ("lv", "en")}
    for key, entry in i18n.catalogue().items():
        for lang, text in entry.items():
            for acro in set(ACRONYM.findall(text)) - NOT_JARGON:
                assert acro in glossary[lang], f"{key} ({lang}) uses {acro}, which the glossary does not explain"


def test_glossary_spells_out_the_rating_bodies_and_the_card_acronyms():
    for lang in ("lv", "en"):
        glossary = " ".join(i18n.text(f"glossary.{g}", lang) for g in GLOSSARY)
        for name in ("Education Endowment Foundation", "EEF", "What Works Clearinghouse", "(MDES)", "TWFE",
                     "HonestDiD", "ATT", "ITT"):
            assert name in glossary, (lang, name)


def test_glossary_page_and_section_agree_with_the_catalogue():
    page = (ROOT / "docs" / "glossary.md").read_text("utf-8")
    for term in GLOSSARY:
        for lang in ("lv", "en"):
            assert i18n.text(f"glossary.{term}", lang) in page, f"docs/glossary.md lacks glossary.{term} ({lang})"
    section = glossary_section(language="lv")
    assert section.heading == "Terminu skaidrojumi" and len(section.items) == len(IMPACT_TERMS) < len(GLOSSARY)
    assert "<li>" in section._repr_html_()


# -- the real Latvian reports --------------------------------------------------------------------
class _Visible(HTMLParser):
    """The text a reader sees: data outside script/style, plus every img's alt."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.alts: list[str | None] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "img":
            alt = dict(attrs).get("alt")
            self.alts.append(alt)
            self.parts.append(alt or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _english_fragments() -> dict[str, str]:
    """Every literal run of an English catalogue text longer than three words whose Latvian text
    differs (names such as "Iespējamā misija" are the same in both)."""
    out = {}
    for key, entry in i18n.catalogue().items():
        if entry["en"] == entry["lv"]:
            continue
        for frag in re.split(r"\{[^}]*\}|\*+|[„“”\"]", entry["en"]):
            frag = " ".join(frag.split()).strip(" .,:;()–-")
            if len(frag.split()) > 3 and frag not in entry["lv"]:
                out[frag] = key
    return out


STUDIES = default_studies()


@pytest.fixture(scope="module")
def latvian_reports(published):
    """The report of each study's default (Latvian) params file, from the suite's shared run."""
    return {study: (published.run(study) / "report.html").read_text("utf-8") for study in STUDIES}


def _page(pages: dict[str, str], study: str) -> tuple[str, list[str | None]]:
    """The visible text of a report above its provenance footer (software versions such as
    "rddensity 3.0" are not parameters), and the alt texts of its images."""
    parser = _Visible()
    parser.feed(pages[study])
    text = " ".join(" ".join(parser.parts).split())
    footer = text.rfind(i18n.text("page.provenance", "lv"))
    return (text[:footer] if footer > 0 else text), parser.alts


@pytest.mark.parametrize("study", STUDIES)
def test_latvian_report_has_no_english_catalogue_text(latvian_reports, study):
    text, _ = _page(latvian_reports, study)
    english = {frag: key for frag, key in _english_fragments().items() if frag in text}
    assert not english, f"{study}: English catalogue text in the Latvian report: {english}"
    assert "Cox index" not in text, f"{study}: the effect-size measure is not translated (i18n.measure_name)"


@pytest.mark.parametrize("study", STUDIES)
def test_latvian_report_shows_no_raw_parameter_reprs(latvian_reports, study):
    text, _ = _page(latvian_reports, study)
    raw = [m.group(0) for m in re.finditer(r"(?<![\w.,])(None|True|False|\d+\.0)(?![\w.])|\[[^\]c]*[,'][^\]]*\]", text)]
    assert not raw, f"{study}: raw parameter values in the report (format them with i18n.param_value): {raw[:5]}"


@pytest.mark.parametrize("study", STUDIES)
def test_latvian_report_numbers_follow_one_rule(latvian_reports, study):
    text, _ = _page(latvian_reports, study)
    assert not re.search(r"p\s*=\s*0,00(?!\d)", text), f"{study}: a p-value printed as 0,00"
    assert not re.search(r"\d %", text), f"{study}: a percentage with a space, against the CLDR rule"
    points = re.findall(r"(?<![\d.])\d+\.\d+(?![\d./])", text)  # not codes such as "8.3.4.0/16"
    assert not points, f"{study}: a decimal point in Latvian text: {points[:5]}"
    assert "p = nav" not in text.replace(NBSP, " "), f"{study}: a broken p-value sentence"


@pytest.mark.parametrize("study", STUDIES)
def test_every_figure_of_a_latvian_report_has_latvian_alt_text(latvian_reports, study):
    _, alts = _page(latvian_reports, study)
    assert alts, f"{study}: the report has no figure"
    english = i18n.text("fig.alt", "en", title="x").split(":")[0]
    for alt in alts:
        assert alt and "No description has been provided" not in alt, f"{study}: a figure without alt text"
        assert not alt.startswith(english), f"{study}: English alt text {alt!r}"
