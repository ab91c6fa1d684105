"""The headline card: the first thing a funder sees, in Latvian or English.

It answers: did it work (one generated sentence), by how much (effect with its
confidence interval in natural units and as an effect size, months of
progress), how sure are we (the evidence rating with its reasons), for how many
(teachers, pupils and schools, through disclosure control) and at what cost.

The answer starts with the verdict (:mod:`evaltools.report.verdict`): the
confidence interval weighed by the evidence rating (EEF padlocks, WWC standards)
and the design checks (pre-trend test, WWC baseline equivalence), e.g.
"Promising, but low security", coloured; then the effect in natural units with
its interval. :attr:`HeadlineCard.direction` is the interval alone: *better* when
the whole interval lies on the favourable side of zero, *worse* on the
unfavourable side, *unclear* when it includes zero (EEF 2022, *Guidance for
evaluators on reporting*). The card reads the design checks from its inputs: the
rating's ``inputs`` (``baseline_es``, ``baseline_adjusted``) and the pre-trend
test given as ``pretrend=`` or stored in the effect's ``diagnostics["pretrend"]``.

The card takes plain values and an :class:`~evaltools.core.result.Estimate`;
an evidence rating or effect size object is read by its attributes (``wwc``,
``padlocks``, ``reasons``; ``value``, ``ci_low``, ``ci_high``, ``measure``), so
any object with those works.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Union

import pandas as pd

from evaltools.core.errors import InputError
from evaltools.report import i18n
from evaltools.report import verdict as verdict_rule
from evaltools.report.disclosure import get_threshold, safe_count
from evaltools.report.escape import html_text, plain

if TYPE_CHECKING:  # importing evaltools.estimate loads every estimator: only when needed
    from evaltools.core.result import Estimate

Text = Union[str, Mapping[str, str]]
Direction = Literal["better", "worse", "unclear"]
_WWC_KEYS = {
    "meets wwc standards without reservations": "rating.wwc.meets",
    "meets wwc standards with reservations": "rating.wwc.meets_with",
    "does not meet wwc standards": "rating.wwc.does_not",
}
_CSS = """
.evt-headline{font-family:'DejaVu Sans','Segoe UI',Arial,sans-serif;color:#1b2a3a;
 border:1px solid #d0d5db;border-left:6px solid var(--evt-accent);border-radius:6px;
 padding:1em 1.2em;margin:0.5em 0 1.2em 0;max-width:62em;background:#fff}
.evt-headline h2{font-size:1.05em;margin:0 0 0.6em 0;text-transform:uppercase;
 letter-spacing:0.04em;color:#4a5560}
.evt-headline .evt-q{font-size:1em;margin:0 0 0.4em 0}
.evt-headline .evt-a{font-size:1.3em;font-weight:600;line-height:1.35;margin:0 0 0.9em 0;
 color:var(--evt-accent)}
.evt-headline .evt-why{font-size:0.92em;margin:-0.5em 0 0.9em 0;color:#333}
.evt-headline .evt-grid{display:flex;flex-wrap:wrap;gap:0.6em}
.evt-headline .evt-tile{flex:1 1 13em;background:#f5f7f9;border-radius:4px;padding:0.5em 0.7em}
.evt-headline .evt-label{font-size:0.78em;text-transform:uppercase;letter-spacing:0.03em;
 color:#4a5560;margin:0 0 0.2em 0}
.evt-headline .evt-value{font-size:1em;margin:0}
.evt-headline ul{margin:0.6em 0 0 1.2em;padding:0;font-size:0.88em;color:#333}
.evt-headline .evt-note{font-size:0.8em;color:#4a5560;margin:0.25em 0 0 0;line-height:1.3}
.evt-headline .evt-method{font-size:0.8em;color:#6b7480;margin:0.7em 0 0 0}
"""


def is_estimate(obj: Any) -> bool:
    """Whether ``obj`` is an :class:`~evaltools.core.result.Estimate` (imported on first use)."""
    from evaltools.core.result import Estimate

    return isinstance(obj, Estimate)


def as_estimate(obj: Any) -> "Estimate | None":
    """``obj`` if it is an Estimate, else its ``.estimate`` if that is one (estimator results), else None."""
    if is_estimate(obj):
        return obj
    inner = getattr(obj, "estimate", None)
    return inner if is_estimate(inner) else None


class HeadlineInputError(InputError, ValueError):
    """A value the headline card cannot show."""


@dataclass(frozen=True)
class HeadlineCard:
    """The headline of a funder report; displays itself as HTML in ``language``."""

    question: Text
    outcome: Text
    effect: Estimate
    unit: Text = ""
    higher_is_better: bool = True
    scale: float = 1.0
    digits: int = 2
    effect_size: Any = None
    effect_size_name: str = "Hedges' g"
    months_progress: int | None = None
    rating: Any = None
    padlocks: int | None = None
    reasons: Sequence[Text] = ()
    pupils: int | None = None
    schools: int | None = None
    cost_per_pupil: float | None = None
    cost_total: float | None = None
    currency: str = "EUR"
    threshold: int = 10
    teachers: int | None = None
    cost_per_participant: float | None = None
    language: str | None = None
    method: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    pretrend: Any = None
    cost_rating: Any = None
    months_outcome: Text = ""

    # -- the words ------------------------------------------------------------
    @property
    def direction(self) -> Direction:
        """``better``/``worse``/``unclear`` from where the CI lies relative to zero (the CI alone)."""
        way = verdict_rule.direction(self.effect.ci_low, self.effect.ci_high, self.higher_is_better)
        return {"favourable": "better", "unfavourable": "worse", "unclear": "unclear"}[way]

    @property
    def verdict(self) -> verdict_rule.Verdict:
        """The verdict from the CI, the rating and the design checks (:func:`evaltools.report.verdict.verdict`)."""
        wwc, padlocks = self._rating_parts()
        try:
            wwc_code = verdict_rule.wwc_level(wwc)
        except verdict_rule.VerdictInputError:  # a free-text rating is shown, not weighed
            wwc_code = None
        inputs = getattr(self.rating, "inputs", None) or {}
        balance = verdict_rule.balance_status(inputs.get("baseline_es"), bool(inputs.get("baseline_adjusted")))
        pretrend = self.pretrend if self.pretrend is not None else (self.effect.diagnostics or {}).get("pretrend")
        return verdict_rule.verdict(self.effect.ci_low, self.effect.ci_high, higher_is_better=self.higher_is_better,
                                    padlocks=None if padlocks is None else int(padlocks), wwc=wwc_code,
                                    pretrend=pretrend, balance=balance)

    def answer(self, language: str | None = None) -> i18n.Message:
        """The verdict, then the effect in one generated sentence (safe in Markdown; ``.plain`` as text)."""
        lang = self._lang(language)
        est = self.effect
        way = self.direction
        verb = i18n.t("verb.raised" if est.estimate > 0 else "verb.lowered", lang)
        sentence = i18n.t(
            f"verdict.effect.{way}",
            lang,
            verb=verb,
            outcome=localise(self.outcome, lang),
            # English says "lowered … by 4.4"; Latvian says "izmaiņa: −4,4" (a change keeps its sign)
            effect=self._num(est.estimate if way == "unclear" or lang == "lv" else abs(est.estimate), lang,
                             signed=way == "unclear" or lang == "lv"),
            unit=localise(self.unit, lang),
            level=i18n.percent(est.level, lang),
            ci_low=self._num(est.ci_low, lang),
            ci_high=self._num(est.ci_high, lang),
        ).map(lambda s: s.replace(" )", ")").replace("  ", " "))
        label = self.verdict.label(lang)
        return i18n.t("verdict.answer", lang, verdict=label, effect=sentence)

    def items(self, language: str | None = None) -> list[tuple[str, str]]:
        """(label, value) pairs of the tiles, in order; missing facts are left out."""
        lang = self._lang(language)
        est = self.effect
        out = [(
            i18n.text("headline.effect", lang),
            i18n.text("headline.effect_value", lang,
                   effect=self._num(est.estimate, lang, signed=True), unit=localise(self.unit, lang),
                   level=i18n.percent(est.level, lang), ci_low=self._num(est.ci_low, lang),
                   ci_high=self._num(est.ci_high, lang)).replace("  ", " "),
        )]
        es = self._effect_size_text(lang)
        if es:
            out.append((i18n.text("headline.effect_size", lang), es))
        if self.months_progress is not None:
            m = int(self.months_progress)
            out.append((i18n.text("headline.months", lang),
                        i18n.tn("headline.months_value", m, lang, months=f"{m:+d}".replace("-", i18n.MINUS)).plain))
        rating = self._rating_text(lang)
        if rating:
            out.append((i18n.text("headline.rating", lang), rating))
        if self.teachers is not None:
            out.append((i18n.text("headline.teachers", lang), safe_count(self.teachers, self.threshold, lang)))
        if self.pupils is not None:
            out.append((i18n.text("headline.pupils", lang), safe_count(self.pupils, self.threshold, lang)))
        if self.schools is not None:
            out.append((i18n.text("headline.schools", lang), safe_count(self.schools, self.threshold, lang)))
        cost = self._cost_text(lang)
        if cost:
            out.append((i18n.text("headline.cost", lang), cost))
        if self.cost_rating is not None:
            out.append((i18n.text("headline.cost_rating", lang),
                        i18n.text("headline.cost_rating_value", lang,
                                  band=i18n.text(f"headline.cost_band.{self.cost_rating.code}", lang),
                                  pounds="£" * int(self.cost_rating.pounds))))
        return out

    def explanations(self, language: str | None = None) -> dict[str, str]:
        """One line under a tile that needs it, by the tile's label: what the months of
        progress mean and how the EEF cost band was found."""
        lang = self._lang(language)
        out = {}
        if self.months_progress is not None:
            outcome = localise(self.months_outcome, lang) or localise(self.outcome, lang)
            out[i18n.text("headline.months", lang)] = i18n.text("headline.months_explain", lang, outcome=outcome)
        if self.cost_rating is not None:
            r = self.cost_rating
            out[i18n.text("headline.cost_rating", lang)] = i18n.text(
                "headline.cost_rating_explain", lang, cost=i18n.money(r.per_pupil_per_year, lang, r.currency),
                gbp=i18n.money(r.per_pupil_per_year_gbp, lang, "GBP"))
        return out

    def reason_texts(self, language: str | None = None) -> list[str]:
        """The reasons for the rating in ``language``: given ones as they are, else the
        rating's ``reason_codes`` through the catalogue (``rating.reason.<code>``), else
        the rating's own (English) ``reasons``."""
        lang = self._lang(language)
        if self.reasons:
            return [localise(r, lang) for r in self.reasons]
        codes = list(getattr(self.rating, "reason_codes", None) or [])
        if codes and all(i18n.has(f"rating.reason.{c['code']}") for c in codes):
            return [_reason_text(c, lang) for c in codes]
        return [localise(r, lang) for r in getattr(self.rating, "reasons", None) or []]

    # -- outputs ------------------------------------------------------------------
    def to_frame(self, language: str | None = None) -> pd.DataFrame:
        """The card as a two-column table (item, value) in ``language``."""
        lang = self._lang(language)
        rows = [(i18n.text("headline.question", lang), localise(self.question, lang)),
                (i18n.text("headline.answer", lang), self.answer(lang).plain)]
        why = self.verdict.explanation(lang)
        rows += [(i18n.text("headline.verdict", lang), why)] if why else []
        rows += self.items(lang)
        rows += [(i18n.text("headline.reasons", lang), r) for r in self.reason_texts(lang)]
        return pd.DataFrame(rows, columns=["item", "value"]).set_index("item")

    def to_dict(self) -> dict[str, Any]:
        """For ``record()``: both languages' sentences, the numbers, counts protected."""
        d: dict[str, Any] = {
            "type": "headline",
            "question": {lang: localise(self.question, lang) for lang in i18n.LANGUAGES},
            "answer": {lang: self.answer(lang).plain for lang in i18n.LANGUAGES},
            "verdict": self.verdict.to_dict(),  # code, wording key and text, colour, padlocks: for the index
            "direction": self.direction,
            "effect": {**self.effect.to_dict(),  # results.json is published: protect its n's too
                       "n": {k: _protected(v, self.threshold) for k, v in self.effect.n.items()}},
            "scale": self.scale,
            "unit": {lang: localise(self.unit, lang) for lang in i18n.LANGUAGES},
            "months_progress": self.months_progress,
            "months_outcome": {lang: localise(self.months_outcome, lang) for lang in i18n.LANGUAGES}
            if self.months_outcome else None,
            "cost_rating": self.cost_rating.to_dict() if self.cost_rating is not None else None,
            "teachers": _protected(self.teachers, self.threshold),
            "pupils": _protected(self.pupils, self.threshold),
            "schools": _protected(self.schools, self.threshold),
            "cost_per_pupil": self.cost_per_pupil,
            "cost_per_participant": self.cost_per_participant,
            "cost_total": self.cost_total,
            "currency": self.currency,
            "threshold": self.threshold,
        }
        es = self._effect_size_parts()
        if es:
            d["effect_size"] = {"name": es[0], "value": es[1], "ci_low": es[2], "ci_high": es[3]}
        wwc, padlocks = self._rating_parts()
        d["rating"] = {"wwc": wwc, "padlocks": padlocks, "reasons": self.reason_texts("en")}
        return d

    def _repr_html_(self) -> str:
        return self.html()

    def html(self, language: str | None = None) -> str:
        """Self-contained HTML (inline ``<style>``, inline SVG padlocks, no external resources)."""
        lang = self._lang(language)
        e = html_text
        notes = self.explanations(lang)
        tiles = "".join(
            f'<div class="evt-tile"><p class="evt-label">{e(label)}</p>'
            f'<p class="evt-value">{self._padlock_svg() if label == i18n.text("headline.rating", lang) else ""}'
            f"{e(value)}</p>"
            + (f'<p class="evt-note">{e(notes[label])}</p>' if label in notes else "")
            + "</div>"
            for label, value in self.items(lang)
        )
        reasons = self.reason_texts(lang)
        reasons_html = (
            f'<p class="evt-label" style="margin-top:0.8em">{e(i18n.text("headline.reasons", lang))}</p>'
            "<ul>" + "".join(f"<li>{e(r)}</li>" for r in reasons) + "</ul>"
        ) if reasons else ""
        method = self.method if self.method is not None else self.effect.method
        verdict = self.verdict
        why = verdict.explanation(lang)
        why_html = f'<p class="evt-why">{e(why)}</p>' if why else ""
        method_html = (
            f'<p class="evt-method">{e(i18n.text("headline.method", lang))}: {e(method)}</p>' if method else ""
        )
        return (
            f'<div class="evt-headline evt-verdict-{verdict.code}" lang="{lang}" data-verdict="{verdict.code}" '
            f'data-security="{verdict.security}" style="--evt-accent:{verdict.colour}">'
            f"<style>{_CSS}</style>"
            f'<h2>{e(i18n.text("headline.title", lang))}</h2>'
            f'<p class="evt-q"><strong>{e(i18n.text("headline.question", lang))}:</strong> '
            f"{e(localise(self.question, lang))}</p>"
            f'<p class="evt-a">{e(self.answer(lang))}</p>{why_html}'
            f'<div class="evt-grid">{tiles}</div>{reasons_html}{method_html}</div>'
        )

    def __repr__(self) -> str:
        lang = self._lang(None)
        lines = [f"{i18n.text('headline.question', lang)}: {localise(self.question, lang)}",
                 self.answer(lang).plain]
        lines += [f"  {label}: {value}" for label, value in self.items(lang)]
        lines += [f"  - {r}" for r in self.reason_texts(lang)]
        return "\n".join(lines)

    # -- helpers ------------------------------------------------------------------
    def _lang(self, language: str | None) -> str:
        return i18n.check_language(language or self.language)

    def _num(self, x: float, lang: str, signed: bool = False) -> str:
        return i18n.number(x * self.scale, lang, self.digits, signed=signed)

    def _effect_size_parts(self) -> tuple[str, float, float | None, float | None] | None:
        es = self.effect_size
        if es is None:
            return None
        if is_estimate(es):
            return (self.effect_size_name, es.estimate, es.ci_low, es.ci_high)
        if hasattr(es, "value"):
            return (getattr(es, "measure", self.effect_size_name), float(es.value),
                    getattr(es, "ci_low", None), getattr(es, "ci_high", None))
        return (self.effect_size_name, float(es), None, None)

    def _effect_size_text(self, lang: str) -> str:
        parts = self._effect_size_parts()
        if parts is None:
            return ""
        name, value, lo, hi = parts
        name = i18n.measure_name(name, lang)  # "Cox index" -> "Koksa indekss" in Latvian
        if lo is None or hi is None:
            return i18n.text("headline.effect_size_point", lang, name=name, value=i18n.number(value, lang, 2))
        level = getattr(self.effect_size, "level", self.effect.level)
        return i18n.text("headline.effect_size_value", lang, name=name, value=i18n.number(value, lang, 2),
                      level=i18n.percent(level, lang), ci_low=i18n.number(lo, lang, 2),
                      ci_high=i18n.number(hi, lang, 2))

    def _rating_parts(self) -> tuple[str | None, int | None]:
        wwc, padlocks = None, self.padlocks
        r = self.rating
        if isinstance(r, (str, Mapping)):
            wwc = localise(r, "en") if isinstance(r, Mapping) else r
        elif r is not None:
            wwc = getattr(r, "wwc", None)
            if padlocks is None:
                padlocks = getattr(r, "padlocks", None)
        return wwc, padlocks

    def _rating_text(self, lang: str) -> str:
        wwc, padlocks = self._rating_parts()
        parts = []
        if padlocks is not None:
            parts.append(i18n.text("headline.padlocks", lang, n=int(padlocks)))
        if isinstance(self.rating, Mapping):
            parts.append(localise(self.rating, lang))
        elif wwc:
            key = _WWC_KEYS.get(wwc.strip().lower())
            parts.append(i18n.text(key, lang) if key else wwc)
        return "; ".join(parts)

    def _padlock_svg(self) -> str:
        _, padlocks = self._rating_parts()
        if padlocks is None:
            return ""
        icons = []
        for k in range(5):
            colour = "#1b2a3a" if k < padlocks else "#c9ced4"
            icons.append(
                '<svg width="13" height="15" viewBox="0 0 14 16" aria-hidden="true" '
                'style="margin-right:2px;vertical-align:-2px">'
                f'<path d="M3.5 7V5a3.5 3.5 0 0 1 7 0v2" fill="none" stroke="{colour}" stroke-width="2"/>'
                f'<rect x="1" y="7" width="12" height="9" rx="1.5" fill="{colour}"/></svg>'
            )
        return '<span style="margin-right:0.4em">' + "".join(icons) + "</span>"

    def _cost_text(self, lang: str) -> str:
        parts = []
        if self.cost_per_pupil is not None:
            parts.append(i18n.text("headline.cost_per_pupil", lang,
                                cost=i18n.money(self.cost_per_pupil, lang, self.currency)))
        if self.cost_per_participant is not None:
            parts.append(i18n.text("headline.cost_per_participant", lang,
                                cost=i18n.money(self.cost_per_participant, lang, self.currency)))
        if self.cost_total is not None:
            parts.append(i18n.text("headline.cost_total", lang,
                                cost=i18n.money(self.cost_total, lang, self.currency)))
        return "; ".join(parts)


def headline_card(
    question: Text,
    outcome: Text,
    effect: Estimate,
    *,
    unit: Text = "",
    higher_is_better: bool = True,
    scale: float = 1.0,
    digits: int = 2,
    effect_size: Any = None,
    effect_size_name: str = "Hedges' g",
    months_progress: int | None = None,
    rating: Any = None,
    padlocks: int | None = None,
    reasons: Sequence[Text] = (),
    pupils: int | None = None,
    schools: int | None = None,
    cost_per_pupil: float | None = None,
    cost_total: float | None = None,
    currency: str = "EUR",
    threshold: int | None = None,
    teachers: int | None = None,
    cost_per_participant: float | None = None,
    language: str | None = None,
    method: str | None = None,
    pretrend: Any = None,
    cost_rating: Any = None,
    months_outcome: Text = "",
) -> HeadlineCard:
    """Build the headline card, checking every input.

    ``question``, ``outcome``, ``unit`` and ``reasons`` are a string or
    ``{"lv": ..., "en": ...}``; ``effect`` is the headline Estimate (shown times
    ``scale``, e.g. 100 to show a share as percentage points); ``higher_is_better``
    says which direction is good (False for dropout); ``rating`` a WWC label, an
    object with ``wwc``/``padlocks``/``reasons`` (``evaltools.standards.evidence_rating``)
    or ``{"lv", "en"}`` text; ``pretrend`` the pre-trend test of the headline design (a
    p-value, an object with ``.pvalue`` or a dict with ``"pvalue"``; default: the effect's
    ``diagnostics["pretrend"]``). The verdict weighs both with the CI
    (:mod:`evaltools.report.verdict`). ``months_progress``: the EEF months of additional
    progress (:func:`evaltools.standards.months_progress`) of ``months_outcome`` (default the
    card's outcome; only for attainment); ``cost_rating``: the EEF cost band
    (:func:`evaltools.standards.eef_cost_rating`). Each gets a one-line explanation on the card.
    """
    if as_estimate(effect) is None:
        raise HeadlineInputError(
            f"headline_card(): effect must be an evaltools Estimate (or a result holding one in "
            f".estimate), got {type(effect).__name__}; build one with Estimate.from_normal(...)."
        )
    effect = as_estimate(effect)
    for name, value in (("estimate", effect.estimate), ("ci_low", effect.ci_low), ("ci_high", effect.ci_high)):
        if not math.isfinite(value):
            raise HeadlineInputError(f"headline_card(): the effect's {name} is {value}; a headline needs a finite number.")
    for name, text in (("question", question), ("outcome", outcome)):
        _check_text(text, name, required=True)
    _check_text(unit, "unit", required=False)
    for k, r in enumerate(reasons):
        _check_text(r, f"reasons[{k}]", required=True)
    if padlocks is not None and not (isinstance(padlocks, int) and 0 <= padlocks <= 5):
        raise HeadlineInputError(f"headline_card(): padlocks must be a whole number from 0 to 5, got {padlocks!r}.")
    for name, n in (("pupils", pupils), ("schools", schools), ("teachers", teachers)):
        if n is not None and (isinstance(n, bool) or not float(n).is_integer() or n < 0):
            raise HeadlineInputError(f"headline_card(): {name} must be a whole number >= 0, got {n!r}.")
    for name, c in (("cost_per_pupil", cost_per_pupil), ("cost_per_participant", cost_per_participant),
                    ("cost_total", cost_total)):
        if c is not None and (not math.isfinite(float(c)) or c < 0):
            raise HeadlineInputError(f"headline_card(): {name} must be a non-negative amount, got {c!r}.")
    if months_progress is not None and (isinstance(months_progress, bool) or not float(months_progress).is_integer()):
        raise HeadlineInputError(f"headline_card(): months_progress must be a whole number of months, got {months_progress!r}.")
    if months_outcome:
        _check_text(months_outcome, "months_outcome", required=True)
    if cost_rating is not None and not (hasattr(cost_rating, "code") and hasattr(cost_rating, "pounds")):
        raise HeadlineInputError("headline_card(): cost_rating must be the result of evaltools.standards.eef_cost_rating(...).")
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise HeadlineInputError(f"headline_card(): scale must be a positive number, got {scale!r}.")
    return HeadlineCard(
        question=question, outcome=outcome, effect=effect, unit=unit, higher_is_better=higher_is_better,
        scale=float(scale), digits=digits, effect_size=effect_size, effect_size_name=effect_size_name,
        months_progress=months_progress, rating=rating, padlocks=padlocks, reasons=tuple(reasons),
        pupils=pupils, schools=schools, teachers=teachers, cost_per_pupil=cost_per_pupil,
        cost_per_participant=cost_per_participant, cost_total=cost_total,
        currency=currency, threshold=get_threshold() if threshold is None else threshold,
        language=i18n.check_language(language) if language else None, method=method, pretrend=pretrend,
        cost_rating=cost_rating, months_outcome=months_outcome,
    )


def _reason_text(code: Mapping[str, Any], language: str) -> str:
    values = {k: v for k, v in code.items() if k != "code"}
    if "design" in values:
        values["design_name"] = i18n.text(f"rating.design.{values['design']}", language)
    return i18n.text(f"rating.reason.{code['code']}", language, **values)


def localise(text: Text | None, language: str) -> str:
    """A string as is, or the entry for ``language`` of a ``{"lv": ..., "en": ...}`` mapping;
    a catalogue message by its plain text (the places that show it escape it)."""
    if text is None:
        return ""
    if isinstance(text, Mapping):
        if language not in text:
            raise HeadlineInputError(
                f"Text {dict(text)!r} has no {language!r} version; give both 'lv' and 'en'."
            )
        return plain(text[language])
    return plain(text)


def _check_text(text: Any, name: str, *, required: bool) -> None:
    if isinstance(text, Mapping):
        missing = [lang for lang in i18n.LANGUAGES if not str(text.get(lang, "")).strip()]
        if missing:
            raise HeadlineInputError(
                f"headline_card(): {name} has no text for {missing}; give {{'lv': ..., 'en': ...}}."
            )
    elif not isinstance(text, str) or (required and not text.strip()):
        raise HeadlineInputError(
            f"headline_card(): {name} must be a non-empty string or {{'lv': ..., 'en': ...}}, got {text!r}."
        )


def _protected(n: int | None, threshold: int) -> Any:
    if n is None:
        return None
    return i18n.text("sdc.marker", "en") if 0 < n < threshold else int(n)
