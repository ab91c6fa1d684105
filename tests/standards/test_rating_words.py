"""The reasons of an evidence rating in plain words, built from the rating's own numbers,
in English (the rating) and Latvian (the report's catalogue); the codes stay machine-readable."""
import re

import pytest

from evaltools.report import i18n
from evaltools.report.headline import _reason_text
from evaltools.standards import evidence_rating, wwc_attrition
from evaltools.standards.rating import reason_sentence

JARGON = re.compile(r"MDES|\bES\b|→|->|\|ES\||EEF (design|MDES|attrition|downgrade)")


@pytest.mark.parametrize("mdes, attrition", [(0.14, 3.0), (0.27, 12.5), (0.45, 35.0), (0.73, 61.2)])
def test_padlock_reasons_say_the_numbers_and_the_padlocks_of_each_criterion(mdes, attrition):
    r = evidence_rating("did", overall_attrition_pct=attrition, mdes=mdes, baseline_es=0.02)
    by_code = {c["code"]: (c, text) for c, text in zip(r.reason_codes, r.reasons)}
    code, text = by_code["eef.mdes"]
    assert code == {"code": "eef.mdes", "mdes": mdes, "padlocks": r.components["mdes"]}  # results.json: numbers
    assert text == (f"The study could detect effects of {mdes:.2f} standard deviations or larger: "
                    f"{r.components['mdes']} of 5 padlocks for this criterion.")
    lv = _reason_text(code, "lv")
    assert f"{mdes:.2f}".replace(".", ",") in lv and f"{r.components['mdes']} no 5 slēdzenēm" in lv
    code, text = by_code["eef.attrition"]
    assert text.startswith(f"{attrition:.1f}% of those who started were not in the analysis: "
                           f"{r.components['attrition']} of 5 padlocks")
    assert _reason_text(code, "lv").startswith(f"{attrition:.1f}".replace(".", ",") + "% no sākotnējiem")
    code, text = by_code["eef.design"]
    assert f"; {r.components['design']} of 5 padlocks" in text and "cut-off score" in text


@pytest.mark.parametrize("kwargs", [
    dict(design="rct", attrition=wwc_attrition(500, 500, 470, 465), mdes=0.18, baseline_es=0.01),
    dict(design="rct", attrition=wwc_attrition(500, 500, 300, 400), mdes=0.3, baseline_es={"pretest": 0.1},
         baseline_adjusted=True, threats=["contamination"]),
    dict(design="rct", baseline_es=0.0),
    dict(design="matching", overall_attrition_pct=15, mdes=0.45, baseline_es=0.4),
    dict(design="regression", overall_attrition_pct=9, mdes=0.2, baseline_es=0.15),
    dict(design="rdd", overall_attrition_pct=9, mdes=0.2),
    dict(design="none"),
    dict(design="rct", attrition=wwc_attrition(100, 100, 99, 99), mdes=0.1, confound=True),
])
def test_every_reason_is_a_plain_sentence_in_both_languages_with_its_numbers(kwargs):
    r = evidence_rating(**kwargs)
    assert len(r.reasons) == len(r.reason_codes) > 0
    for code, en in zip(r.reason_codes, r.reasons):
        assert en == reason_sentence(code) == _reason_text(code, "en")
        lv = _reason_text(code, "lv")
        for text in (en, lv):
            assert not JARGON.search(text), text
            assert text[0].isupper() or text[0].isdigit() and text.endswith(".")
        assert lv != en
        for key in ("es", "mdes", "overall"):  # each stored number is in the sentence, in the language's form
            if key in code:
                digits = {"es": 3, "mdes": 2, "overall": 1}[key]
                assert f"{code[key]:.{digits}f}" in en
                assert i18n.number(code[key], "lv", digits) in lv
        if "padlocks" in code:
            assert f"{code['padlocks']} of 5 padlocks" in en and f"{code['padlocks']} no 5 slēdzenēm" in lv
