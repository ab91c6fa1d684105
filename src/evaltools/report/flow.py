"""The sample-flow diagram: from the eligible units to the analysed ones, with what was lost
(or left aside) at each step, as boxes a funder reads top to bottom (CONSORT-style).

The study counts its units once (e.g. :func:`evaltools.studies.dropout_prevention.sample_flow`)
and passes the chain of counts; this module only protects and shows them. Each step ``i``
has its count ``n_i`` and, beside it, the units that did not reach it from the step before,
``aside_i = n_(i-1) - n_i``. Both are counts under disclosure control
(:func:`~evaltools.report.disclosure.protect_linked`): a count between 1 and the threshold is
hidden, and because ``n_(i-1) = n_i + aside_i`` is declared (a :class:`~evaltools.report.disclosure.Link`
per step), complementary suppression hides whatever would give it back.

The diagram is HTML and CSS only (an ordered list of boxes: no script, no image, nothing
from another host), readable by a screen reader in the report's language, kept on one
page in print; its numbers are exported as a table (CSV, Excel, LaTeX) and recorded in
``results.json`` under code-named keys (``step``, ``n``, ``aside``), like every table.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import pandas as pd

from evaltools.core.errors import InputError
from evaltools.report import i18n
from evaltools.report.disclosure import Link, ProtectedTable, protect_linked
from evaltools.report.escape import html_text, plain

Text = Union[str, Mapping[str, str]]

_CSS = """
.evt-flow{font-family:'DejaVu Sans','Segoe UI',Arial,sans-serif;color:#1b2a3a;margin:0.6em 0 1.2em 0;
 max-width:46em;break-inside:avoid;page-break-inside:avoid}
.evt-flow figcaption{font-weight:600;margin:0 0 0.5em 0}
.evt-flow ol{list-style:none;margin:0;padding:0}
.evt-flow li{display:flex;align-items:center;gap:0.8em;margin:0;padding:0 0 1.4em 0;position:relative}
.evt-flow li:not(:last-child)::after{content:"";position:absolute;left:8.5em;bottom:0.25em;height:0.9em;
 border-left:2px solid #4a5560}
.evt-flow li:not(:last-child)::before{content:"";position:absolute;left:calc(8.5em - 5px);bottom:0.1em;
 border:6px solid transparent;border-top:7px solid #4a5560;border-bottom:0}
.evt-flow .evt-box{flex:0 0 17em;box-sizing:border-box;border:1.5px solid #1b2a3a;border-radius:4px;
 padding:0.45em 0.7em;background:#fff}
.evt-flow .evt-side{flex:0 1 24em;font-size:0.9em;color:#4a5560;border:1px dashed #8a939c;border-radius:4px;
 padding:0.35em 0.6em;background:#f7f8f9}
.evt-flow .evt-side::before{content:"\\2192\\00a0";color:#4a5560}
.evt-flow .evt-n{display:block;font-weight:600;font-size:1.1em}
.evt-flow .evt-note{font-size:0.85em;color:#4a5560;margin:0.3em 0 0 0}
@media (max-width:32em){.evt-flow li{flex-wrap:wrap}.evt-flow .evt-box{flex-basis:100%}
 .evt-flow li:not(:last-child)::after{left:50%}.evt-flow li:not(:last-child)::before{left:calc(50% - 5px)}
 .evt-flow .evt-side{flex-basis:100%}}
"""


class FlowInputError(InputError, ValueError):
    """Counts or labels the sample-flow diagram cannot show."""


@dataclass(frozen=True)
class SampleFlow:
    """A protected chain of counts and its diagram (``_repr_html_``) in ``language``."""

    table: ProtectedTable
    labels: Mapping[str, str]
    aside_labels: Mapping[str, str]
    title: str
    unit: str
    note: str
    language: str

    def to_frame(self) -> pd.DataFrame:
        """The published counts: one row per step, ``n`` and ``aside`` (hidden cells as the marker)."""
        return self.table.to_frame()

    def to_dict(self) -> dict[str, Any]:
        return self.table.to_dict()

    def text(self) -> str:
        """The diagram as one sentence per step (the figure's accessible description)."""
        shown = self.table.display_frame(self.language)
        lines = []
        for i, step in enumerate(self.table.data.index):
            lines.append(i18n.text("flow.step", self.language, label=self.labels[step], n=shown.iloc[i, 0],
                                   unit=self.unit))
            if i > 0 and step in self.aside_labels:
                lines.append(i18n.text("flow.step_aside", self.language, label=self.aside_labels[step],
                                       n=shown.iloc[i, 1]))
        return " ".join(lines)

    def html(self) -> str:
        """Self-contained HTML and CSS (no script, no image): the boxes, arrows and side boxes."""
        e = html_text
        lang = self.language
        shown = self.table.display_frame(lang)
        steps = list(self.table.data.index)
        items = []
        for i, step in enumerate(steps):
            n = shown.iloc[i, 0]
            box = (f'<div class="evt-box">{e(self.labels[step])}'
                   f'<span class="evt-n">{e(n)} {e(self.unit)}</span></div>')
            side = ""
            if i > 0 and step in self.aside_labels:
                aside = shown.iloc[i, 1]
                side = f'<div class="evt-side">{e(self.aside_labels[step])}: <strong>{e(aside)}</strong></div>'
            items.append(f"<li>{box}{side}</li>")
        notes = [self.note] if self.note else []
        notes += [plain(n) for n in self.table.footnotes(lang)[len(self.table.notes):]]
        note_html = "".join(f'<p class="evt-note">{e(n)}</p>' for n in notes)
        described = i18n.text("flow.alt", lang, title=self.title, steps=self.text())
        return (f'<figure class="evt-flow" lang="{lang}" role="group" aria-label="{e(described)}">'
                f"<style>{_CSS}</style><figcaption>{e(self.title)}</figcaption>"
                f'<ol>{"".join(items)}</ol>{note_html}</figure>')

    def publish(self, name: str = "sample_flow") -> "SampleFlow":
        """Export the counts (``<name>.csv``, ``.xlsx``, ``.tex``) and record them in ``results.json``
        (:func:`evaltools.report.tables.publish_table`); returns the diagram to display."""
        from evaltools.report.tables import publish_table

        publish_table(self.table, name)
        return self

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return f"{self.title}\n{self.text()}"


def sample_flow(
    steps: Sequence[tuple[str, int]],
    *,
    labels: Mapping[str, Text],
    aside_labels: Mapping[str, Text] | None = None,
    title: Text,
    unit: Text,
    note: Text = "",
    threshold: int | None = None,
    language: str | None = None,
    name: str = "sample_flow",
) -> SampleFlow:
    """The sample-flow diagram of the chain ``steps`` (``[(code, count), ...]``, first the
    eligible units, then each step that keeps some of them, last the analysed ones).

    ``labels`` names each step (a string or ``{"lv": ..., "en": ...}``), ``aside_labels``
    the units that did not reach a step from the one before (e.g. ``"no risk score"``;
    steps without one show no side box, but their difference is still protected);
    ``unit`` says what is counted (``"pupil-years"``); ``note`` a line under the diagram.
    Counts must be whole numbers that never grow along the chain.
    """
    lang = i18n.check_language(language)
    steps = [(str(code), count) for code, count in steps]
    if len(steps) < 2:
        raise FlowInputError("sample_flow(): give at least two steps (the eligible units and the analysed ones).")
    codes = [c for c, _ in steps]
    if len(set(codes)) != len(codes):
        raise FlowInputError(f"sample_flow(): step codes must be unique, got {codes}.")
    previous = None
    for code, n in steps:
        if isinstance(n, bool) or not isinstance(n, (int, float)) or not float(n).is_integer() or n < 0:
            raise FlowInputError(f"sample_flow(): the count of step {code!r} must be a whole number >= 0, got {n!r}.")
        if previous is not None and n > previous[1]:
            raise FlowInputError(
                f"sample_flow(): step {code!r} has more units ({int(n)}) than the step before it, "
                f"{previous[0]!r} ({int(previous[1])}); a flow only loses units.")
        previous = (code, n)
    missing = [c for c in codes if c not in labels]
    if missing:
        raise FlowInputError(f"sample_flow(): no label for the step(s) {missing}; give labels={{code: text}}.")
    aside_labels = dict(aside_labels or {})
    counts = [int(n) for _, n in steps]
    # the first step has nothing beside it (no count, not a zero)
    frame = pd.DataFrame({"n": counts, "aside": [float("nan")] + [float(a - b) for a, b in zip(counts, counts[1:])]},
                         index=pd.Index(codes, name="step")).astype({"n": "int64"})
    links = [Link((name, codes[i - 1], "n"), [(name, codes[i], "n"), (name, codes[i], "aside")])
             for i in range(1, len(codes))]
    shown_labels = {"step": i18n.text("flow.col.step", lang), "n": i18n.text("flow.col.n", lang),
                    "aside": i18n.text("flow.col.aside", lang)}
    table = protect_linked({name: {"data": frame, "counts": ["n", "aside"], "total_row": None, "total_col": None,
                                   "labels": shown_labels, "caption": _localise(title, lang), "language": lang}},
                           links, threshold=threshold)[name]
    return SampleFlow(table=table, labels={c: _localise(labels[c], lang) for c in codes},
                      aside_labels={c: _localise(t, lang) for c, t in aside_labels.items()},
                      title=_localise(title, lang), unit=_localise(unit, lang), note=_localise(note, lang),
                      language=lang)


def _localise(text: Text, language: str) -> str:
    if isinstance(text, Mapping):
        if language not in text:
            raise FlowInputError(f"sample_flow(): text {dict(text)!r} has no {language!r} version; give 'lv' and 'en'.")
        return plain(text[language])
    return plain(str(text))
