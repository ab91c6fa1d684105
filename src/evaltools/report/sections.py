"""The standard sections of an evaluation report, with headings and short generated text.

The order follows the EEF evaluation report template (EEF 2022, *Evaluation
report template and guidance*): design, sample and attrition, balance at
baseline, results, robustness, for whom (subgroups), limitations, cost. Each
helper returns a :class:`Section` that displays as HTML in a notebook and reads
its words from the catalogue; counts and rates in the text pass through
disclosure control.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from evaltools.core.errors import InputError
from evaltools.report import i18n
from evaltools.report.disclosure import ProtectedTable, get_threshold, protect
from evaltools.report.escape import html_text, plain
from evaltools.report.headline import HeadlineCard, Text, is_estimate, localise

if TYPE_CHECKING:  # evaltools.estimate loads every estimator: import it only when needed
    from evaltools.core.result import Estimate

SECTIONS: tuple[str, ...] = (
    "design", "sample", "balance", "results", "robustness", "subgroups", "limitations", "cost",
)
_H2 = "font-family:'DejaVu Sans','Segoe UI',Arial,sans-serif;color:#1b2a3a;font-size:1.25em;" \
      "margin:1.4em 0 0.4em 0;border-bottom:1px solid #d0d5db;padding-bottom:0.2em"
_P = "font-family:'DejaVu Sans','Segoe UI',Arial,sans-serif;color:#1b2a3a;max-width:60em;line-height:1.45"


class SectionInputError(InputError, ValueError):
    """Values a report section cannot be written from."""


@dataclass(frozen=True)
class Section:
    """A report section: a heading, paragraphs and an optional list, in one language."""

    kind: str
    language: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()

    @property
    def heading(self) -> str:
        return i18n.text(f"section.{self.kind}.title", self.language)

    def to_frame(self) -> pd.DataFrame:
        rows = [("paragraph", plain(p)) for p in self.paragraphs] + [("item", plain(i)) for i in self.items]
        return pd.DataFrame(rows, columns=["part", "text"])

    def to_dict(self) -> dict[str, Any]:
        return {"type": "section", "kind": self.kind, "language": self.language, "heading": self.heading,
                "paragraphs": [plain(p) for p in self.paragraphs], "items": [plain(i) for i in self.items]}

    def _repr_html_(self) -> str:
        e = html_text
        body = "".join(f'<p style="{_P}">{e(p)}</p>' for p in self.paragraphs)
        if self.items:
            body += f'<ul style="{_P}">' + "".join(f"<li>{e(i)}</li>" for i in self.items) + "</ul>"
        return (f'<section class="evt-section evt-{self.kind}" lang="{self.language}">'
                f'<h2 style="{_H2}">{e(self.heading)}</h2>{body}</section>')

    def __repr__(self) -> str:
        lines = [self.heading, "=" * len(self.heading), *map(plain, self.paragraphs)]
        lines += [f"  - {plain(i)}" for i in self.items]
        return "\n".join(lines)


def section(kind: str, language: str | None = None, *, text: Sequence[Text] = (),
            items: Sequence[Text] = ()) -> Section:
    """A section with its catalogue heading and text given by the study (str or {lv, en})."""
    lang = i18n.check_language(language)
    if kind not in SECTIONS:
        raise SectionInputError(f"Unknown section {kind!r}; use one of {', '.join(SECTIONS)}.")
    return Section(kind, lang, tuple(localise(p, lang) for p in text), tuple(localise(i, lang) for i in items))


def design_section(design: str, language: str | None = None, *, text: Sequence[Text] = ()) -> Section:
    """The design in one catalogue sentence (``design.<key>``), then the study's own text."""
    lang = i18n.check_language(language)
    key = f"design.{design}"
    if not i18n.has(key):
        known = sorted(k.split(".", 1)[1] for k in i18n.catalogue() if k.startswith("design."))
        raise SectionInputError(f"No description for design {design!r}; known designs: {', '.join(known)}.")
    return Section("design", lang, (i18n.text(key, lang), *(localise(p, lang) for p in text)))


def attrition_flow(
    assigned_t: int, assigned_c: int, analysed_t: int, analysed_c: int,
    *, threshold: int | None = None, language: str | None = None,
) -> ProtectedTable:
    """Assigned, analysed and lost pupils per group with attrition rates, protected.

    Attrition = lost / assigned; counts satisfy analysed + lost = assigned in
    each row and the total row is the sum of the groups, so complementary
    suppression sees both relations.
    """
    lang = i18n.check_language(language)
    for name, v in (("assigned_t", assigned_t), ("assigned_c", assigned_c),
                    ("analysed_t", analysed_t), ("analysed_c", analysed_c)):
        if isinstance(v, bool) or not float(v).is_integer() or v < 0:
            raise SectionInputError(f"attrition_flow(): {name} must be a whole number >= 0, got {v!r}.")
    if analysed_t > assigned_t or analysed_c > assigned_c:
        raise SectionInputError(
            "attrition_flow(): more pupils analysed than assigned "
            f"(programme {analysed_t} of {assigned_t}, comparison {analysed_c} of {assigned_c})."
        )
    if assigned_t == 0 or assigned_c == 0:
        raise SectionInputError("attrition_flow(): each group needs at least one assigned pupil.")
    an, lost, asg, rate = (i18n.text(k, lang) for k in ("flow.analysed", "flow.lost", "flow.assigned", "flow.rate"))
    rows = {
        i18n.text("n.treated", lang): (analysed_t, assigned_t - analysed_t, assigned_t),
        i18n.text("n.comparison", lang): (analysed_c, assigned_c - analysed_c, assigned_c),
    }
    total = i18n.text("flow.total", lang)
    rows[total] = tuple(sum(v) for v in zip(*rows.values()))
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[an, lost, asg]).astype("int64")
    frame[rate] = frame[lost] / frame[asg]
    frame.index.name = i18n.text("flow.stage", lang)
    return protect(frame, counts=[an, lost, asg], denominators={rate: asg}, numerators={rate: lost},
                   threshold=threshold, round_to=None, total_row=total, total_col=asg,
                   language=lang, digits={rate: 1}, percents=(rate,))


def sample_section(
    assigned_t: int, assigned_c: int, analysed_t: int, analysed_c: int,
    *, threshold: int | None = None, language: str | None = None,
) -> tuple[Section, ProtectedTable]:
    """The sample-and-attrition text and its flow table (WWC overall and differential attrition)."""
    lang = i18n.check_language(language)
    flow = attrition_flow(assigned_t, assigned_c, analysed_t, analysed_c, threshold=threshold, language=lang)
    shown = flow.display_frame(lang)
    t_row, c_row, total = list(flow.data.index)
    an, lost, asg, rate = list(flow.data.columns)
    mark = i18n.text("sdc.marker", lang)
    r_t, r_c = flow.data.at[t_row, rate], flow.data.at[c_row, rate]
    differential = mark if (pd.isna(r_t) or pd.isna(r_c)) else i18n.percent(abs(r_t - r_c), lang, 1)
    overall = flow.data.at[total, rate]
    text = i18n.text(
        "section.sample.text", lang,
        assigned=shown.at[total, asg], assigned_t=shown.at[t_row, asg], assigned_c=shown.at[c_row, asg],
        analysed=shown.at[total, an], analysed_t=shown.at[t_row, an], analysed_c=shown.at[c_row, an],
        overall=mark if pd.isna(overall) else i18n.percent(overall, lang, 1), differential=differential,
    )
    return Section("sample", lang, (text,)), flow


def balance_section(balance: ProtectedTable, language: str | None = None, *, text: Sequence[Text] = ()) -> Section:
    """The largest visible standardised difference of a :func:`~evaltools.report.tables.balance_table`."""
    lang = i18n.check_language(language or balance.language)
    if "std_diff" not in balance.data.columns:
        raise SectionInputError("balance_section() needs the table from evaltools.report.tables.balance_table().")
    visible = balance.data["std_diff"].dropna()
    paragraphs = []
    if len(visible):
        var = visible.abs().idxmax()
        paragraphs.append(i18n.text("section.balance.text", lang,
                                 max_std_diff=i18n.number(visible[var], lang, 2), variable=str(var)))
    return Section("balance", lang, (*paragraphs, *(localise(p, lang) for p in text)))


def results_section(card: HeadlineCard, language: str | None = None, *, text: Sequence[Text] = ()) -> Section:
    """The headline answer again, then the study's own text."""
    lang = i18n.check_language(language or card.language)
    return Section("results", lang, (card.answer(lang), *(localise(p, lang) for p in text)))


def robustness_section(
    estimates: Mapping[str, Estimate] | Sequence[Estimate], *, unit: Text = "", scale: float = 1.0,
    digits: int = 2, language: str | None = None, text: Sequence[Text] = (),
) -> Section:
    """How far the effect moves across alternative specifications (smallest to largest)."""
    lang = i18n.check_language(language)
    ests = list(estimates.values()) if isinstance(estimates, Mapping) else list(estimates)
    if not ests or not all(is_estimate(e) for e in ests):
        raise SectionInputError("robustness_section() needs one or more evaltools Estimates.")
    values = [e.estimate * scale for e in ests]
    para = i18n.text("section.robustness.text", lang, n_specs=len(ests),
                  low=i18n.number(min(values), lang, digits), high=i18n.number(max(values), lang, digits),
                  unit=localise(unit, lang)).replace(" .", ".")
    return Section("robustness", lang, (para, *(localise(p, lang) for p in text)))


def subgroups_section(
    by: Text, estimates: Mapping[str, Estimate], *, n_key: str = "units", threshold: int | None = None,
    scale: float = 1.0, digits: int = 2, language: str | None = None, text: Sequence[Text] = (),
) -> Section:
    """Where the effect is largest and smallest; groups below the threshold are left out."""
    lang = i18n.check_language(language)
    thr = get_threshold() if threshold is None else threshold
    kept = {}
    for name, e in estimates.items():
        if not is_estimate(e):
            raise SectionInputError(f"subgroups_section(): {name!r} is not an evaltools Estimate.")
        n = e.n.get(n_key)
        if n is None:
            raise SectionInputError(
                f"subgroups_section(): the estimate for {name!r} has no n[{n_key!r}], so its group "
                "size cannot be checked against the disclosure threshold."
            )
        if n >= thr and math.isfinite(e.estimate):
            kept[name] = e.estimate * scale
    paragraphs = []
    if len(kept) >= 2:
        hi = max(kept, key=kept.get)
        lo = min(kept, key=kept.get)
        paragraphs.append(i18n.text("section.subgroups.text", lang, by=localise(by, lang),
                                 max_group=hi, max_effect=i18n.number(kept[hi], lang, digits),
                                 min_group=lo, min_effect=i18n.number(kept[lo], lang, digits)))
    return Section("subgroups", lang, (*paragraphs, *(localise(p, lang) for p in text)))


def limitations_section(keys: Sequence[str] = (), language: str | None = None, *,
                        extra: Sequence[Text] = ()) -> Section:
    """Standard limitations from the catalogue (``limit.<key>``) plus the study's own."""
    lang = i18n.check_language(language)
    items = []
    for key in keys:
        if not i18n.has(f"limit.{key}"):
            known = sorted(k.split(".", 1)[1] for k in i18n.catalogue() if k.startswith("limit."))
            raise SectionInputError(f"No standard limitation {key!r}; known: {', '.join(known)}.")
        items.append(i18n.text(f"limit.{key}", lang))
    return Section("limitations", lang, (), (*items, *(localise(x, lang) for x in extra)))


#: The terms of an impact evaluation's report (the default of :func:`glossary_section`).
IMPACT_TERMS: tuple[str, ...] = ("ci", "p_value", "pp", "sd", "effect_size", "months", "padlocks", "wwc", "mdes",
                                 "att_itt", "did", "pretrends", "rd", "attrition", "cost_rating", "ce")
#: Every glossary entry, in order (catalogue keys ``glossary.<term>``; docs/glossary.md).
GLOSSARY: tuple[str, ...] = (*IMPACT_TERMS, "stem", "funnel", "value_added", "design_effect", "aipw",
                              "multiple_testing")


def glossary_section(terms: Sequence[str] | None = None, language: str | None = None) -> Section:
    """A short glossary for funders: the catalogue's plain-language explanation of each term
    (``glossary.<term>``; default: :data:`IMPACT_TERMS`; every term: :data:`GLOSSARY`), so acronyms used in the card and
    the text (TI/CI, ATT, ITT, TWFE, MDES, EEF, WWC, HonestDiD…) are explained once. The
    same texts are in docs/glossary.md."""
    lang = i18n.check_language(language)
    chosen = IMPACT_TERMS if terms is None else tuple(terms)
    unknown = [term for term in chosen if not i18n.has(f"glossary.{term}")]
    if unknown:
        raise SectionInputError(f"No glossary entry for {', '.join(map(repr, unknown))}; known: {', '.join(GLOSSARY)}.")
    return Section("glossary", lang, (), tuple(i18n.t(f"glossary.{term}", lang) for term in chosen))


def cost_section(
    per_pupil: Any = None, per_outcome: Any = None, *, label: Text = "", currency: str = "EUR",
    language: str | None = None, text: Sequence[Text] = (),
) -> Section:
    """Cost per pupil and cost per outcome with its confidence set.

    ``per_pupil`` is an amount or an object with ``per_pupil`` (and ``currency``),
    e.g. ``evaltools.inference.cost_per_pupil``; ``per_outcome`` an Estimate or an
    object with ``estimate`` (an Estimate), e.g. ``evaltools.inference.cost_per_outcome``,
    whose upper limit may be infinite (Fieller set when the effect may be zero).
    ``label`` names the outcome unit, e.g. ``{"en": "dropout prevented", "lv": "novērsta
    mācību pārtraukšana"}``.
    """
    lang = i18n.check_language(language)
    paragraphs = []
    if per_pupil is not None:
        amount = getattr(per_pupil, "per_pupil", per_pupil)
        cur = getattr(per_pupil, "currency", currency)
        paragraphs.append(i18n.text("section.cost.per_pupil", lang, cost=i18n.money(float(amount), lang, cur)))
    if per_outcome is not None:
        est = per_outcome if is_estimate(per_outcome) else getattr(per_outcome, "estimate", None)
        if not is_estimate(est):
            raise SectionInputError(
                "cost_section(): per_outcome must be an Estimate or have one in .estimate "
                "(evaltools.inference.cost_per_outcome)."
            )
        cur = getattr(per_outcome, "currency", currency)
        if not localise(label, lang).strip():
            raise SectionInputError("cost_section(): give label=, the outcome unit the cost is per.")
        money = lambda v: i18n.money(v, lang, cur) if math.isfinite(v) else "–"  # noqa: E731
        key = "section.cost.per_outcome" if math.isfinite(est.ci_high) else "section.cost.unbounded"
        paragraphs.append(i18n.text(key, lang, label=localise(label, lang), cost=money(est.estimate),
                                 level=i18n.percent(est.level, lang), ci_low=money(est.ci_low),
                                 ci_high=money(est.ci_high)))
    return Section("cost", lang, (*paragraphs, *(localise(p, lang) for p in text)))
