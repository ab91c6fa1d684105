"""Styled, self-contained HTML for a table of display strings (the one way a table is shown).

Below :mod:`evaltools.report.disclosure` (whose ``ProtectedTable`` displays through it) and
:mod:`evaltools.report.tables`; a ``<style>`` block scoped to the table, no external fonts
or scripts, every text escaped.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaltools.report.escape import html_text

_CSS: list[dict[str, str]] = [
    {"selector": "", "props": "border-collapse: collapse; margin: 0.4em 0 0.2em 0; "
     "font-family: 'DejaVu Sans', 'Segoe UI', Arial, sans-serif; font-size: 0.92em;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; font-weight: 600; "
     "padding: 0 0 0.4em 0; color: #1b2a3a;"},
    {"selector": "th", "props": "text-align: left; padding: 0.3em 0.7em; vertical-align: bottom;"},
    {"selector": "thead th", "props": "border-bottom: 2px solid #1b2a3a;"},
    {"selector": "td", "props": "text-align: right; padding: 0.3em 0.7em; "
     "border-bottom: 1px solid #e3e6ea; font-variant-numeric: tabular-nums;"},
    {"selector": "tbody th", "props": "vertical-align: top; font-weight: 600;"},
    {"selector": "td.evt-hidden", "props": "color: #6b7480; font-style: italic;"},
]
_NOTE_STYLE = ("font-family: 'DejaVu Sans', 'Segoe UI', Arial, sans-serif; font-size: 0.82em; "
               "color: #4a5560; margin: 0.15em 0; max-width: 60em;")


#: A table with at most this many rows is printed on one page (longer ones may break between rows).
KEEP_TOGETHER_ROWS = 25


def html_table(
    display: pd.DataFrame,
    *,
    caption: str | None = None,
    notes: Sequence[str] = (),
    hidden: pd.DataFrame | None = None,
    hide_index_level: int | None = None,
) -> str:
    """Styled, self-contained HTML for a frame of display strings (pandas ``Styler``).

    Every text is escaped (:func:`evaltools.report.escape.html_text`): cells, row and
    column labels, the names of the index and column levels, caption and notes.
    ``Styler`` escapes only cells and labels when asked, never level names, so the
    frame is escaped here and handed to it as ready HTML.
    """
    digest = hashlib.sha1(display.to_json(orient="split", default_handler=str).encode()).hexdigest()
    safe = _escaped_frame(display)
    styler = safe.style.set_table_styles(_CSS)
    styler = styler.set_uuid(f"evt{digest[:10]}")  # the same table gives the same HTML
    if caption:
        styler = styler.set_caption(html_text(caption))
    if hidden is not None:
        classes = pd.DataFrame(
            np.where(hidden.to_numpy(), "evt-hidden", ""), index=safe.index, columns=safe.columns
        )
        styler = styler.set_td_classes(classes)
    if hide_index_level is not None:
        styler = styler.hide(level=hide_index_level, axis="index")
    body = styler.to_html()
    foot = "".join(f'<p style="{_NOTE_STYLE}">{html_text(n)}</p>' for n in notes)
    foot = f'<div class="evt-notes">{foot}</div>' if foot else ""
    # print: the notes never leave their table, and a short table is never split (funder.css)
    keep = ' data-keep="together"' if len(display) <= KEEP_TOGETHER_ROWS else ""
    return f'<div class="evt-table"{keep} style="overflow-x: auto; max-width: 100%;">{body}{foot}</div>'


def _escaped_frame(display: pd.DataFrame) -> pd.DataFrame:
    """``display`` with every cell, label and level name HTML-escaped (numbers as they are)."""
    def esc(v: Any) -> Any:
        return html_text(v) if isinstance(v, str) else v

    def esc_index(index: pd.Index) -> pd.Index:
        if isinstance(index, pd.MultiIndex) and len(index):
            out = pd.MultiIndex.from_tuples([tuple(esc(v) for v in t) for t in index], names=index.names)
        elif isinstance(index, pd.MultiIndex):
            out = index.copy()
        else:
            out = pd.Index([esc(v) for v in index], dtype=object)
        return out.set_names([esc(n) for n in index.names])

    safe = display.map(esc) if len(display.columns) else display.copy()
    safe.index = esc_index(display.index)
    safe.columns = esc_index(display.columns)
    return safe
