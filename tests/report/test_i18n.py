"""The message catalogue (Latvian and English) and number formatting per language."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from evaltools.report import i18n
from evaltools.report.i18n import (
    MessageKeyError,
    MessageValueError,
    UnknownLanguageError,
    money,
    number,
    percent,
    placeholders,
    t,
    tn,
)

NBSP = "\u00a0"
REPORT_SRC = Path(i18n.__file__).parent


def test_every_message_exists_in_both_languages():
    for key, entry in i18n.catalogue().items():
        assert set(entry) == {"lv", "en"}, f"{key} has languages {sorted(entry)}"
        assert entry["lv"].strip() and entry["en"].strip(), f"{key} has an empty text"


def test_placeholders_agree_between_languages():
    for key, entry in i18n.catalogue().items():
        assert placeholders(entry["lv"]) == placeholders(entry["en"]), key
        names = {name for name, _ in placeholders(entry["en"])}
        assert not names & {"language", "key", "count"}, f"{key} uses a reserved placeholder name"


def test_language_can_be_passed_by_name():
    assert t("headline.pupils", language="en") == "Pupils"
    assert tn("headline.months_value", 1, language="en", months=1) == "1 month"


def test_plural_groups_have_an_other_form():
    keys = i18n.catalogue().keys()
    stems = {k.rsplit(".", 1)[0] for k in keys if k.rsplit(".", 1)[-1] in ("zero", "one", "other")}
    for stem in stems:
        assert f"{stem}.other" in keys


def test_every_key_the_code_uses_is_in_the_catalogue():
    pattern = re.compile(r"""\b(?:t|tn|text|i18n\.t|i18n\.tn|i18n\.text|_t)\(\s*f?["']([a-z_]+\.[a-z_.]+)["']""")
    used = set()
    for path in REPORT_SRC.glob("*.py"):
        used |= set(pattern.findall(path.read_text()))
    assert used, "the scan found no message keys: the pattern is wrong"
    plural_stems = {k.rsplit(".", 1)[0] for k in i18n.catalogue()}
    missing = sorted(k for k in used if not i18n.has(k) and k not in plural_stems)
    assert not missing, f"keys used in code but not in messages.yaml: {missing}"


def test_latvian_text_keeps_its_diacritics():
    text = "".join(e["lv"] for e in i18n.catalogue().values())
    for letter in "āčēģīķļņšūž":
        assert letter in text or letter.upper() in text or letter in "ģķļ", letter
    assert t("headline.pupils", "lv") == "Skolēni"
    assert t("section.robustness.title", "lv") == "Rezultātu noturība"


def test_numbers_use_decimal_comma_and_non_breaking_space_in_latvian():
    assert number(1234567.891, "lv", 2) == f"1{NBSP}234{NBSP}567,89"
    assert number(1234567.891, "en", 2) == "1,234,567.89"
    assert number(-0.5, "lv", 1) == "\u22120,5"  # typographic minus
    assert number(-0.001, "en", 2) == "0.00"  # no negative zero
    assert number(0.25, "en", 2, signed=True) == "+0.25"
    assert percent(0.123, "lv", 1) == "12,3%"
    assert money(1234.5, "lv", digits=2) == f"1{NBSP}234,50{NBSP}€"
    assert money(1234.5, "en", digits=2) == "€1,234.50"


def test_money_shows_whole_euros_from_100_and_cents_below():
    assert money(7225.85, "lv") == f"7{NBSP}226{NBSP}€"
    assert money(7225.85, "en") == "€7,226"
    assert money(-501.07, "en") == "\u2212€501"
    assert money(12.5, "lv") == f"12,50{NBSP}€"
    assert money(99.994, "en") == "€99.99"


def test_placeholders_with_specs_are_formatted_per_language():
    assert t("sdc.below", "lv", threshold=10) == "<10"
    lv = t("section.robustness.text", "lv", n_specs=12, low="0,1", high="0,3", unit="punkti")
    assert lv.startswith("Alternatīvo specifikāciju skaits: 12;")
    assert i18n.format_value(0.1234, ".2f", "lv") == "0,12"
    assert i18n.format_value(12345, ",d", "en") == "12,345"
    assert i18n.format_value(0.5, ".0%", "lv") == "50%"
    with pytest.raises(MessageValueError, match="not supported"):
        i18n.format_value(1.0, "e", "en")


def test_plural_forms_follow_latvian_rules():
    forms = {m: tn("headline.months_value", m, "lv", months=m) for m in (0, 1, 2, 11, 21)}
    assert forms == {0: "0 mēnešu", 1: "1 mēnesis", 2: "2 mēneši", 11: "11 mēnešu", 21: "21 mēnesis"}
    assert tn("headline.months_value", 1, "en", months=1) == "1 month"
    assert tn("headline.months_value", 3, "en", months=3) == "3 months"


def test_clear_errors_for_bad_keys_languages_and_values():
    with pytest.raises(MessageKeyError, match="Did you mean 'headline.pupils'"):
        t("headline.pupil", "en")
    with pytest.raises(UnknownLanguageError, match="set the notebook parameter `language`"):
        t("headline.pupils", "de")
    with pytest.raises(MessageValueError, match="needs a value for 'threshold'"):
        t("sdc.below", "en")


def test_default_language_can_be_set_and_is_checked():
    assert i18n.get_language() == "lv"
    try:
        i18n.set_language("EN")
        assert t("headline.pupils") == "Pupils"
    finally:
        i18n.set_language("lv")
    with pytest.raises(UnknownLanguageError):
        i18n.set_language("ru")


def test_values_are_escaped_for_markdown_and_plain_keeps_them_as_given():
    name = "<b>Rīgas [1](x) *vsk*</b> & co_op _x_ $y$ http://e.x #2 | a\\b\nc"
    msg = t("mq.table_caption", "en", area=name, period="2020/21")
    assert msg.plain == f"Education-quality indicators: {name}, 2020/21"
    assert i18n.text("mq.table_caption", "en", area=name, period="2020/21") == msg.plain
    import re

    bare = re.sub(r"&#?\w+;", "", str(msg))  # the text outside character references
    for raw in ("<", ">", "[", "]", "*", "$", "#", "|", "\\", "\n", "http://", " _x_", "&"):
        assert raw not in bare, raw
    assert "co_op" in str(msg)  # an underscore inside a word is no emphasis and stays
    from html import unescape

    assert unescape(str(msg)) == msg.plain.replace("\n", " ")  # the same text once the references are read


def test_numbers_nested_messages_and_trusted_fragments_are_not_escaped():
    assert t("sdc.below", "lv", threshold=10) == "<10"  # catalogue text is trusted
    inner = t("mq.table_caption", "en", area="<i>", period="p")
    outer = t("n.other", "en", name=inner)
    assert "&lt;i&gt;" in outer and "&amp;lt;" not in outer and "<i>" in outer.plain
    assert t("n.other", "en", name=i18n.trusted("**bold**")).count("**") == 2
    assert "1,5" in t("mq.headline", "lv", area="A", period="p", rate=1.5, low=1, high=2, rate_lv=1,
                      pupils="[c]", schools=3)


# -- study catalogues merged at load (issue 13) -------------------------------------------------
STUDIES_SRC = REPORT_SRC.parent / "studies"


def test_each_study_package_brings_its_own_catalogue_with_its_own_prefix():
    import yaml

    prefixes = {"dropout_prevention": "dp.", "alumni_programme": "am.", "municipal_quality": "mq.",
                "school_community_support": "scs.", "skolas_soma": "skolas_soma.",
                "quality_monitoring": "quality_monitoring.", "evaluation_planner": "evaluation_planner.",
                "teacher_professional_support": "tps."}
    packages = {p.parent.name for p in STUDIES_SRC.glob("*/messages.yaml")}
    assert packages == set(prefixes), f"a study package without its prefix here: {packages ^ set(prefixes)}"
    report_keys = set(yaml.safe_load((REPORT_SRC / "messages.yaml").read_text(encoding="utf-8")))
    for study, prefix in prefixes.items():
        keys = set(yaml.safe_load((STUDIES_SRC / study / "messages.yaml").read_text(encoding="utf-8")))
        assert keys and all(k.startswith(prefix) for k in keys), study
        assert keys <= set(i18n.catalogue())  # merged at load
        assert not any(k.startswith(prefix) for k in report_keys), f"{prefix} strings left in the report's file"


def test_a_key_defined_in_two_catalogues_is_an_error_naming_both():
    parts = [("evaltools/report/messages.yaml", {"a.b": {"lv": "x", "en": "x"}}),
             ("evaltools/studies/one/messages.yaml", {"one.c": {"lv": "y", "en": "y"}}),
             ("evaltools/studies/two/messages.yaml", {"one.c": {"lv": "z", "en": "z"}})]
    with pytest.raises(i18n.CatalogueError, match=r"'one\.c' is defined twice: in evaltools/studies/one/messages"
                                                   r"\.yaml and in evaltools/studies/two/messages\.yaml"):
        i18n.merge_catalogues(parts)
    assert set(i18n.merge_catalogues(parts[:2])) == {"a.b", "one.c"}


def test_a_key_twice_in_one_catalogue_file_is_refused():
    from evaltools.yamlfile import YamlFileError

    text = 'x.a:\n  lv: "1"\n  en: "1"\nx.a:\n  lv: "2"\n  en: "2"\n'
    with pytest.raises(YamlFileError, match="x.a"):
        i18n._read_catalogue("studies/x/messages.yaml", text)


def test_every_key_a_study_or_notebook_uses_is_in_the_catalogue():
    import json

    pattern = re.compile(r"""\b(?:t|tn|text|both|i18n\.t|i18n\.tn|i18n\.text)\(\s*["']((?:dp|am|mq)\.[a-z_.]+)["']""")
    used = set()
    for path in STUDIES_SRC.glob("*/*.py"):
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    for nb in (REPORT_SRC.parents[2] / "notebooks").glob("*.ipynb"):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            used |= set(pattern.findall("".join(cell["source"])))
    assert len(used) > 50, "the scan found too few keys: the pattern is wrong"
    plural_stems = {k.rsplit(".", 1)[0] for k in i18n.catalogue()}
    missing = sorted(k for k in used if not i18n.has(k) and k not in plural_stems)
    assert not missing, f"keys used but in no catalogue: {missing}"


def test_the_order_of_a_sum_never_decides_the_last_shown_digit():
    """63.395 summed in another order is 63.394999999999996: both are shown alike."""
    a = sum([21.1, 21.2, 21.095])
    b = sum([21.095, 21.2, 21.1])
    assert {i18n.number(63.395, "lv"), i18n.number(63.394999999999996, "lv")} == {"63,40"}
    assert i18n.number(a, "en", 3) == i18n.number(b, "en", 3)
