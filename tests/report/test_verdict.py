"""The verdict rule (evaltools.report.verdict): every combination of its discrete inputs,
both languages, and the headline card that shows it."""
from __future__ import annotations

import itertools
import re

import pytest

from evaltools.estimate.result import Estimate
from evaltools.report import i18n
from evaltools.report.headline import headline_card
from evaltools.report.verdict import (
    BALANCE_LEVELS,
    COLOURS,
    PRETREND_LEVELS,
    WWC_LEVELS,
    VerdictInputError,
    balance_status,
    pretrend_status,
    verdict,
)

# CI positions (lo, hi) and which way is good: the direction follows from both
CIS = {"above_zero": (0.1, 0.5), "below_zero": (-0.5, -0.1), "spans_zero": (-0.2, 0.3)}
PADLOCKS = [None, 0, 1, 2, 3, 4, 5]
WWCS = [None, *WWC_LEVELS]
PRETRENDS = [None, *PRETREND_LEVELS]
BALANCES = [None, *BALANCE_LEVELS]
COMBINATIONS = list(itertools.product(CIS, (True, False), PADLOCKS, WWCS, PRETRENDS, BALANCES))

# The wording's first words per code, and the security words, per language
OPENING = {"en": {"improved": "Improvement, ", "promising": "Promising, but ", "no_clear_effect": "No clear effect, ",
                  "worse": "Worse outcome, "},
           "lv": {"improved": "Uzlabojums; ", "promising": "Daudzsološs rezultāts, taču ",
                  "no_clear_effect": "Nav skaidra efekta; ", "worse": "Nelabvēlīga izmaiņa; "}}
SECURITY_WORDS = {"en": {"high": "high security", "moderate": "moderate security", "low": "low security",
                         "unrated": "security not rated"},
                  "lv": {"high": "augsta pierādījumu drošība", "moderate": "vidēja pierādījumu drošība",
                         "low": "zema pierādījumu drošība", "unrated": "pierādījumu drošība nav novērtēta"}}


def expected_security(padlocks, wwc, pretrend, balance):
    """The documented rule, written out as cases (not as the module's minimum of ranks)."""
    failed_check = pretrend == "failed" or balance in ("not_adjusted", "not_satisfied")
    if failed_check or (padlocks is not None and padlocks <= 2) or wwc == "does_not":
        return "low"
    if padlocks == 3 or wwc == "meets_with":
        return "moderate"
    if padlocks is not None or wwc is not None:
        return "high"
    return "unrated"


def expected_code(ci, higher_is_better, security):
    lo, hi = CIS[ci]
    if lo <= 0 <= hi:
        return "no_clear_effect"
    good = (lo > 0) == higher_is_better
    if not good:
        return "worse"
    return "improved" if security in ("high", "moderate") else "promising"


@pytest.mark.parametrize("ci, higher_is_better, padlocks, wwc, pretrend, balance", COMBINATIONS)
def test_every_combination_gives_the_documented_verdict_in_both_languages(ci, higher_is_better, padlocks, wwc,
                                                                           pretrend, balance):
    v = verdict(*CIS[ci], higher_is_better=higher_is_better, padlocks=padlocks, wwc=wwc, pretrend=pretrend,
                balance=balance)
    security = expected_security(padlocks, wwc, pretrend, balance)
    code = expected_code(ci, higher_is_better, security)
    assert (v.security, v.code) == (security, code)
    assert v.colour == COLOURS[code] and v.key == f"verdict.{code}"
    # green only when the evidence is at least moderately secure: never beside a failed check,
    # a WWC "does not meet" or 0-2 padlocks (the alumni report's contradiction)
    weak = (padlocks is not None and padlocks <= 2) or wwc == "does_not" or pretrend == "failed" \
        or balance in ("not_adjusted", "not_satisfied")
    assert not (weak and v.colour == COLOURS["improved"])
    for lang in i18n.LANGUAGES:
        label = v.label(lang)
        assert label.startswith(OPENING[lang][code]) and label.endswith(SECURITY_WORDS[lang][security])
        why = v.explanation(lang)
        assert (why == "") == (security == "high")
        if padlocks is not None and "padlocks" in v.limited_by:
            assert re.search(rf"\b{padlocks} (of|no) 5\b", why)
        if "pretrend" in v.limited_by:
            assert ("p < 0,05" if lang == "lv" else "p < 0.05") in why
    assert "security" not in v.label("lv") and "security" not in v.explanation("lv")
    # every input that is at the final (non-high) level is named, and only those
    named = set(v.limited_by)
    assert ("pretrend" in named) == (pretrend == "failed")
    assert ("balance" in named) == (balance in ("not_adjusted", "not_satisfied"))
    if security in ("low", "moderate"):
        assert named, "a security below high names what limits it"
    d = v.to_dict()
    assert d["code"] == code and d["colour"] == v.colour and d["padlocks"] == padlocks
    assert d["label"] == {lang: v.label(lang) for lang in i18n.LANGUAGES}


def test_the_combinations_cover_every_code_and_security_level():
    seen = {(verdict(*CIS[c], higher_is_better=h, padlocks=p, wwc=w, pretrend=t, balance=b).code,
             verdict(*CIS[c], higher_is_better=h, padlocks=p, wwc=w, pretrend=t, balance=b).security)
            for c, h, p, w, t, b in COMBINATIONS}
    assert {code for code, _ in seen} == set(COLOURS)
    assert {s for _, s in seen} == {"high", "moderate", "low", "unrated"}
    assert len(COMBINATIONS) == 3 * 2 * 7 * 4 * 3 * 5


@pytest.mark.parametrize("p, status", [(0.001, "failed"), (0.0499, "failed"), (0.05, "passed"), (0.8, "passed"),
                                       (float("nan"), None), (None, None)])
def test_pretrend_tests_are_read_as_p_values_objects_or_dicts(p, status):
    class Wald:
        pvalue = p
    assert pretrend_status(p) == status
    assert pretrend_status({"pvalue": p}) == status
    assert pretrend_status(Wald()) == status


@pytest.mark.parametrize("es, adjusted, status", [(0.03, False, "satisfied"), (-0.05, False, "satisfied"),
                                                  (0.15, True, "adjusted"), (-0.2, False, "not_adjusted"),
                                                  (0.26, True, "not_satisfied"), (None, True, None)])
def test_balance_follows_the_wwc_baseline_equivalence_rule(es, adjusted, status):
    assert balance_status(es, adjusted) == status


def test_bad_inputs_are_explained():
    with pytest.raises(VerdictInputError, match="padlocks must be a whole number from 0 to 5"):
        verdict(0.1, 0.2, padlocks=6)
    with pytest.raises(VerdictInputError, match="unknown WWC rating 'gold'"):
        verdict(0.1, 0.2, wwc="gold")
    with pytest.raises(VerdictInputError, match=r"p-value must lie in \[0, 1\]"):
        verdict(0.1, 0.2, pretrend=1.5)
    with pytest.raises(VerdictInputError, match="balance must be one of"):
        verdict(0.1, 0.2, balance="fine")


# -- the headline card shows the verdict -------------------------------------------------------

QUESTION = {"lv": "Vai programma noturēja skolotājus?", "en": "Did the programme keep teachers?"}
OUTCOME = {"lv": "aiziešana no skolas", "en": "leaving teaching"}
WWC_LABELS = {None: None, "meets": "Meets WWC standards without reservations",
              "meets_with": "Meets WWC standards with reservations", "does_not": "Does not meet WWC standards"}


@pytest.mark.parametrize("ci, padlocks, wwc, pretrend_p", list(itertools.product(
    CIS, PADLOCKS, WWCS, (None, 0.4, 0.01))))
def test_the_card_uses_the_verdict_for_its_words_and_colour(ci, padlocks, wwc, pretrend_p):
    lo, hi = CIS[ci]
    est = Estimate("ATT", (lo + hi) / 2, (hi - lo) / 4, lo, hi, 0.95)
    card = headline_card(QUESTION, OUTCOME, est, rating=WWC_LABELS[wwc], padlocks=padlocks, pretrend=pretrend_p)
    v = card.verdict
    assert v == verdict(lo, hi, padlocks=padlocks, wwc=wwc, pretrend=pretrend_p)
    for lang in i18n.LANGUAGES:
        answer = card.answer(lang).plain
        assert answer.startswith(v.label(lang) + ". ")
        assert not answer.startswith(("Yes", "Jā"))
        page = card.html(lang)
        assert f"--evt-accent:{v.colour}" in page and f'data-verdict="{v.code}"' in page
    assert card.to_dict()["verdict"]["code"] == v.code


def test_the_alumni_contradiction_is_gone():
    """A favourable CI with 2 padlocks and a baseline difference of 0.75 SD: promising, low security."""
    from evaltools.standards import evidence_rating

    rating = evidence_rating("regression", overall_attrition_pct=12.0, mdes=0.3, baseline_es={"engagement": 0.75},
                             baseline_adjusted=True)
    assert rating.wwc == "Does not meet WWC standards"
    card = headline_card(QUESTION, OUTCOME, Estimate.from_normal("ATT", -0.051, 0.016), higher_is_better=False,
                         unit={"lv": "procentpunkti", "en": "percentage points"}, scale=100, digits=1, rating=rating)
    v = card.verdict
    assert (v.code, v.security, v.balance) == ("promising", "low", "not_satisfied")
    assert card.answer("en").plain.startswith("Promising, but low security. The programme lowered leaving teaching")
    assert card.answer("lv").plain.startswith("Daudzsološs rezultāts, taču zema pierādījumu drošība. Programma samazināja")
    assert "does not meet WWC standards" in v.explanation("en") and "0.25 standard deviations" in v.explanation("en")
    assert COLOURS["improved"] not in card.html("en")
    assert card.direction == "better"  # the CI alone still says so


def test_a_pretrend_stored_in_the_effect_is_read_and_an_unclear_effect_keeps_its_sign():
    est = Estimate.from_normal("ATT", -0.01, 0.02, diagnostics={"pretrend": {"pvalue": 0.003}})
    card = headline_card(QUESTION, OUTCOME, est, padlocks=4, rating="Meets WWC standards with reservations")
    assert card.verdict.pretrend == "failed" and card.verdict.security == "low"
    assert "\u22120.01" in card.answer("en") and "\u22120,01" in card.answer("lv")
