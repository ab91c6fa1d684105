"""The headline card and the standard report sections."""
from __future__ import annotations

import json
import re

import pytest

from evaltools.estimate.result import Estimate
from evaltools.report.headline import HeadlineCard, HeadlineInputError, headline_card
from evaltools.report.record import to_jsonable
from evaltools.report.sections import (
    SectionInputError,
    attrition_flow,
    balance_section,
    design_section,
    limitations_section,
    robustness_section,
    sample_section,
    subgroups_section,
)
from evaltools.report.tables import balance_table

QUESTION = {"lv": "Vai PUMPURS samazināja mācību pārtraukšanu?", "en": "Did PUMPURS reduce dropout?"}
OUTCOME = {"lv": "mācību pārtraukšana", "en": "dropout"}
PP = {"lv": "procentpunkti", "en": "percentage points"}


def _card(b, se, higher_is_better=False, **kw):
    est = Estimate.from_normal("ATT", b, se, method="Callaway-Sant'Anna (2021)")
    return headline_card(QUESTION, OUTCOME, est, unit=PP, scale=100,
                         higher_is_better=higher_is_better, **kw)


@pytest.mark.parametrize(
    "b, se, higher_is_better, verdict",
    [(-0.021, 0.007, False, "better"), (-0.021, 0.007, True, "worse"),
     (0.03, 0.01, True, "better"), (0.03, 0.01, False, "worse"), (0.005, 0.01, False, "unclear")],
)
def test_direction_follows_the_confidence_interval_and_the_good_direction(b, se, higher_is_better, verdict):
    card = _card(b, se, higher_is_better)  # no rating: the verdict says the security is not rated
    assert card.direction == verdict
    lo, hi = card.effect.ci_low, card.effect.ci_high
    assert (verdict == "unclear") == (lo <= 0 <= hi)
    code = {"better": "promising", "worse": "worse", "unclear": "no_clear_effect"}[verdict]
    assert (card.verdict.code, card.verdict.security) == (code, "unrated")
    first_words = {"better": ("Promising, but security not rated. The programme",
                              "Daudzsološs rezultāts, taču pierādījumu drošība nav novērtēta. Programma"),
                   "worse": ("Worse outcome, security not rated. The change went the wrong way: the programme ",
                             "Nelabvēlīga izmaiņa; pierādījumu drošība nav novērtēta. Rādītājs"),
                   "unclear": ("No clear effect, security not rated. The estimated change in dropout is +0.50",
                               "Nav skaidra efekta; pierādījumu drošība nav novērtēta. Aprēķinātā rādītāja")}
    assert card.answer("en").plain.startswith(first_words[verdict][0])
    assert card.answer("lv").plain.startswith(first_words[verdict][1])


def test_answer_gives_the_effect_and_ci_in_natural_units_per_language():
    card = _card(-0.021, 0.007)
    est = card.effect
    en = card.answer("en")
    assert "lowered dropout by 2.10 percentage points" in en
    assert f"(95% CI \u2212{abs(est.ci_low) * 100:.2f} to \u2212{abs(est.ci_high) * 100:.2f})" in en
    lv = card.answer("lv")
    assert "samazināja rādītāju „mācību pārtraukšana”" in lv
    assert "2,10 procentpunkti" in lv and "95% TI: no \u2212" in lv
    assert not re.search(r"\d\.\d", lv)  # no decimal point in Latvian


def test_tiles_protect_counts_and_format_money_and_months():
    card = _card(-0.021, 0.007, pupils=12345, schools=8, cost_per_pupil=312.5, months_progress=2,
                 effect_size=-0.12, padlocks=3, rating="Meets WWC standards with reservations",
                 reasons=[{"lv": "Kvazieksperimentāls plāns", "en": "Quasi-experimental design"}])
    en = dict(card.items("en"))
    assert en["Pupils"] == "12,345" and en["Schools"] == "<10"
    assert en["Cost"] == "€313 per pupil"  # whole euros from 100, half up
    assert en["Additional progress"] == "+2 months"
    assert en["Evidence rating"] == "3 of 5 padlocks; Meets WWC standards with reservations"
    lv = dict(card.items("lv"))
    assert lv["Skolēni"] == "12\u00a0345" and lv["Skolas"] == "<10"
    assert lv["Papildu progress"] == "+2 mēneši"
    assert lv["Pierādījumu stiprums"] == "3 no 5 slēdzenēm; Atbilst WWC standartiem ar iebildēm"
    assert card.reason_texts("lv") == ["Kvazieksperimentāls plāns"]
    d = json.loads(json.dumps(to_jsonable(card)))  # what record() stores
    assert d["schools"] == "[c]" and d["pupils"] == 12345
    small_n = headline_card(QUESTION, OUTCOME, Estimate.from_normal("ATT", 0.1, 0.02, n={"units": 900, "clusters": 8}))
    stored = json.loads(json.dumps(to_jsonable(small_n)))["effect"]
    assert stored["n"] == {"units": 900, "clusters": "[c]"} and stored["estimate"] == 0.1
    assert d["answer"]["en"] == card.answer("en") and d["direction"] == "better"
    # what the index needs: the verdict's code, wording (key and text), colour and padlocks
    assert d["verdict"]["code"] == "improved" and d["verdict"]["security"] == "moderate"  # 3 padlocks, with reservations
    assert d["verdict"]["key"] == "verdict.improved" and d["verdict"]["padlocks"] == 3
    assert d["verdict"]["label"]["en"] == "Improvement, moderate security" and d["verdict"]["colour"].startswith("#")


def test_rating_and_effect_size_objects_are_read_by_attribute():
    from evaltools.standards import evidence_rating

    rating = evidence_rating("did", overall_attrition_pct=5.0, mdes=0.2, baseline_es=0.03)
    class ES:  # the shape of evaltools.standards.EffectSize
        value, ci_low, ci_high, measure, level = 0.21, 0.05, 0.37, "Hedges' g", 0.95
    card = _card(0.03, 0.01, higher_is_better=True, rating=rating, effect_size=ES())
    items = dict(card.items("en"))
    assert items["Effect size"] == "Hedges' g = 0.21 (95% CI 0.05 to 0.37)"
    assert items["Evidence rating"].startswith(f"{rating.padlocks} of 5 padlocks")
    en = card.reason_texts("en")  # from the catalogue, one per reason code
    assert len(en) == len(rating.reasons) and en[0] == rating.reasons[0]
    assert en == list(rating.reasons)  # one sentence per code, the same text in the rating and the card


def test_html_is_self_contained_and_in_the_language():
    card = _card(-0.021, 0.007, pupils=500, schools=43, padlocks=4, language="lv")
    page = card._repr_html_()
    assert page.startswith('<div class="evt-headline evt-verdict-improved" lang="lv"')  # 4 padlocks: high security
    assert "Galvenais secinājums" in page and "Jautājums" in page
    assert page.count("<svg") == 5 and "<style>" in page
    for forbidden in ("http://", "https://", "<script", "<link", "@import", "url("):
        assert forbidden not in page
    assert "Vai PUMPURS" in HeadlineCard.__repr__(card)
    assert card.to_frame("en").loc["Question", "value"] == QUESTION["en"]


def test_bad_inputs_are_explained():
    est = Estimate.from_normal("ATT", 0.1, 0.05)
    with pytest.raises(HeadlineInputError, match="must be an evaltools Estimate"):
        headline_card(QUESTION, OUTCOME, 0.1)
    with pytest.raises(HeadlineInputError, match=r"question has no text for \['en'\]"):
        headline_card({"lv": "Jautājums?"}, OUTCOME, est)
    with pytest.raises(HeadlineInputError, match="padlocks must be a whole number from 0 to 5"):
        headline_card(QUESTION, OUTCOME, est, padlocks=6)
    with pytest.raises(HeadlineInputError, match="schools must be a whole number"):
        headline_card(QUESTION, OUTCOME, est, schools=4.5)
    with pytest.raises(HeadlineInputError, match="finite"):
        headline_card(QUESTION, OUTCOME, Estimate("ATT", float("nan"), 1, 0, 1, 1))


# -- sections ------------------------------------------------------------------------


def test_attrition_flow_rates_and_protection():
    flow = attrition_flow(500, 480, 420, 440, language="en")
    assert flow.n_hidden() == 0
    rate = flow.data.iloc[:, 3]
    assert rate.iloc[0] == pytest.approx(80 / 500) and rate.iloc[2] == pytest.approx(120 / 980)
    s, _ = sample_section(500, 480, 420, 440, language="en")
    assert "Overall attrition 12.2%, differential attrition 7.7%." in s.paragraphs[0]
    # 5 comparison pupils lost: that count, what reveals it and the rates are hidden
    s, flow = sample_section(500, 480, 450, 475, language="en")
    assert flow.status.iloc[1, 1] == "primary"
    assert "differential attrition [c]" in s.paragraphs[0]
    from evaltools.report.disclosure import assert_safe
    assert_safe(flow)
    with pytest.raises(SectionInputError, match="more pupils analysed than assigned"):
        attrition_flow(10, 10, 11, 10)


def test_design_limitations_robustness_subgroups_text():
    assert design_section("rct", "lv").paragraphs[0].startswith("Randomizēts kontrolēts izmēģinājums")
    with pytest.raises(SectionInputError, match="known designs"):
        design_section("crystal_ball")
    lim = limitations_section(["observational", "few_clusters"], "en", extra=["Data end in 2022."])
    assert len(lim.items) == 3 and lim.heading == "Limitations"
    assert "<li>Data end in 2022.</li>" in lim._repr_html_()
    ests = [Estimate.from_normal("ATT", b, 0.01) for b in (0.021, 0.018, 0.025)]
    rob = robustness_section(ests, unit="pp", scale=100, language="en")
    assert rob.paragraphs[0] == "Across 3 alternative specifications the effect ranges from 1.80 to 2.50 pp."
    groups = {"girls": Estimate.from_normal("g", 0.3, 0.1, n={"units": 200}),
              "boys": Estimate.from_normal("b", 0.1, 0.1, n={"units": 180}),
              "tiny": Estimate.from_normal("t", 0.9, 0.5, n={"units": 6})}
    sub = subgroups_section({"lv": "dzimums", "en": "sex"}, groups, language="en")
    assert sub.paragraphs[0] == "Effect by sex: largest for girls (0.30), smallest for boys (0.10)."
    with pytest.raises(SectionInputError, match="has no n\\['units'\\]"):
        subgroups_section("sex", {"a": Estimate.from_normal("a", 1, 1)})


def test_balance_section_reports_the_largest_visible_difference():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    d = pd.DataFrame({"t": np.repeat([0, 1], 200), "x": rng.normal(0, 1, 400), "z": rng.normal(0, 1, 400)})
    d.loc[d.t == 1, "z"] += 0.5
    bal = balance_table(d, ["x", "z"], "t", language="en")
    s = balance_section(bal)
    expected = bal.data["std_diff"].abs().idxmax()
    assert expected == "z" and "(z)" in s.paragraphs[0]


def test_cost_section_per_pupil_and_per_outcome_with_an_open_set():
    from evaltools.inference import cost_per_outcome, cost_per_pupil
    from evaltools.report.sections import cost_section

    per_pupil = cost_per_pupil(total_cost=1_250_000, n_pupils=4000)
    label = {"lv": "novērsta mācību pārtraukšana", "en": "dropout prevented"}
    sure = cost_per_outcome(1_250_000, effect=0.03, se=0.005, n=4000)
    s = cost_section(per_pupil, sure, label=label, language="en")
    assert s.paragraphs[0] == "The programme costs €313 per pupil."
    e = sure.estimate
    assert s.paragraphs[1].startswith(f"Cost per dropout prevented: €{e.estimate:,.0f} (95% CI €{e.ci_low:,.0f}")
    unsure = cost_per_outcome(1_250_000, effect=0.005, se=0.005, n=4000)  # the effect may be zero
    assert unsure.estimate.ci_high == float("inf")
    lv = cost_section(None, unsure, label=label, language="lv").paragraphs[0]
    assert "nav augšējās robežas" in lv and "„novērsta mācību pārtraukšana”" in lv
    with pytest.raises(SectionInputError, match="give label="):
        cost_section(per_outcome=sure)


def test_rating_reasons_are_given_in_the_report_language():
    from evaltools.standards import evidence_rating, wwc_attrition

    rating = evidence_rating(design="rct", attrition=wwc_attrition(100, 100, 90, 88), mdes=0.25,
                             baseline_es=0.03)
    card = headline_card("Q?", "test score", Estimate.from_normal("ATT", 0.2, 0.05), rating=rating)
    lv, en = card.reason_texts("lv"), card.reason_texts("en")
    assert len(lv) == len(en) == len(rating.reason_codes) > 0
    mdes = rating.components["mdes"]  # the sentence is built from the rating's numbers
    assert f"The study could detect effects of 0.25 standard deviations or larger: {mdes} of 5 padlocks" in " ".join(en)
    assert f"Pētījums spēja atklāt efektus no 0,25 standartnovirzes un lielākus: {mdes} no 5 slēdzenēm" in " ".join(lv)
    assert en[0].startswith("Participants were assigned at random") and lv[0].startswith("Dalībnieki tika iedalīti nejauši")
    assert not set(lv) & set(en)


def test_a_teacher_programme_shows_teachers_and_cost_per_participant_protected():
    card = _card(-0.051, 0.016, teachers=7, pupils=4303, schools=34, cost_per_participant=9392.05,
                 cost_total=826_500)
    en = dict(card.items("en"))
    assert en["Teachers"] == "<10" and en["Pupils"] == "4,303"
    assert en["Cost"] == "€9,392 per participant; €826,500 in total"
    assert list(en).index("Teachers") < list(en).index("Pupils")
    assert dict(card.items("lv"))["Izmaksas"] == "9\u00a0392\u00a0€ uz vienu dalībnieku; kopā 826\u00a0500\u00a0€"
    d = card.to_dict()
    assert d["teachers"] == "[c]" and d["cost_per_participant"] == 9392.05  # as schools in results.json
    with pytest.raises(Exception, match="teachers must be a whole number"):
        _card(-0.05, 0.01, teachers=2.5)


def test_the_effect_size_measure_is_named_in_the_report_language():
    class ES:  # the shape of evaltools.standards.EffectSize, as cox_index returns it
        value, ci_low, ci_high, measure, level = -0.70, -1.06, -0.34, "Cox index", 0.95
    card = _card(-0.051, 0.016, effect_size=ES())
    assert dict(card.items("lv"))["Efekta lielums"].startswith("Koksa indekss = \u22120,70")
    assert dict(card.items("en"))["Effect size"].startswith("Cox index = \u22120.70")
    assert card.to_dict()["effect_size"]["name"] == "Cox index"  # results.json keeps the language-independent name
