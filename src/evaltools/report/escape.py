"""Text from data or parameters made inert for each place a report shows it.

A municipality or school name, a subject label or a string parameter is data, never
markup. Each place it is shown reads special characters differently, so each has
its own escaping:

- **HTML** (tables, headline card, sections, index, failure page):
  :func:`html_text` replaces ``& < > " '`` by character references (HTML Living
  Standard, section 13.1.4), so the text is shown, never parsed as tags.
- **Markdown** rendered to HTML by nbconvert (``display(Markdown(t(...)))``):
  :func:`markdown_text` additionally neutralises what CommonMark and its
  extensions give a meaning to inline: link and image brackets, emphasis, code
  spans, backslash escapes, ``$`` (maths), table pipes, ``#`` and bare-URL
  autolinks; line breaks become spaces, so a value cannot start a heading or a
  list. Characters are replaced by numeric character references, which CommonMark
  shows as the character itself and never reads as syntax (CommonMark 0.31,
  section 2.5), so the rendered text is the value exactly.
- **spreadsheets** (the CSV and Excel exports of tables): :func:`spreadsheet_text`
  keeps text that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, carriage
  return) as text, by a leading apostrophe (OWASP, *CSV Injection*); otherwise
  ``=HYPERLINK("http://…")`` in a school name becomes a live link in Excel.
- **matplotlib** labels: :func:`mpl_text` escapes ``$``, which would start
  mathtext (it would typeset ``$\\alpha$`` as a Greek letter, or fail on a
  malformed expression); :func:`literal_text` turns mathtext off for every text of
  a finished figure (titles, axis and tick labels, legends, annotations), which also
  covers labels a plotting library took from data (seaborn's category ticks).

:func:`plain` gives the unescaped text back from a catalogue message
(:class:`evaltools.report.i18n.Message`), whose ``str`` value is Markdown-safe.
"""
from __future__ import annotations

import html
import re
from typing import Any

# Characters with an inline meaning in Markdown (CommonMark + GFM + nbconvert's maths),
# as numeric references. "_" and ":" are handled by the patterns below.
_MD_CHARS = {
    "&": "&amp;", "<": "&lt;", ">": "&gt;", "[": "&#91;", "]": "&#93;", "`": "&#96;",
    "*": "&#42;", "~": "&#126;", "\\": "&#92;", "$": "&#36;", "|": "&#124;", "#": "&#35;",
}
_MD = re.compile("|".join(re.escape(c) for c in _MD_CHARS))
# "_" only marks emphasis at a word edge (control_group stays as it is; _x_ does not)
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# a colon followed by "//" would let GFM autolink a bare URL (http://evil.example)
_SCHEME = re.compile(r":(?=/)")
# line breaks and other control characters: a value is one line of text
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def plain(text: Any) -> str:
    """The text of ``text`` without Markdown escaping: a catalogue message's ``plain``
    form, anything else as ``str``."""
    found = getattr(text, "plain", None)
    return found if isinstance(found, str) else str(text)


def html_text(text: Any) -> str:
    """``text`` (its plain form) for an HTML text node or a quoted attribute value."""
    return html.escape(plain(text), quote=True)


def markdown_text(text: Any) -> str:
    """``text`` for a Markdown document rendered to HTML: shown exactly, never markup.

    >>> markdown_text("[x](javascript:alert(1)) <b>")
    '&#91;x&#93;(javascript:alert(1)) &lt;b&gt;'
    """
    value = _CONTROL.sub(" ", plain(text))
    value = _MD.sub(lambda m: _MD_CHARS[m.group(0)], value)
    value = _UNDERSCORE.sub("&#95;", value)
    return _SCHEME.sub("&#58;", value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_text(text: Any) -> str:
    """``text`` for a CSV or Excel cell: a leading apostrophe when it would start a formula."""
    value = plain(text)
    return "'" + value if value.startswith(_FORMULA_START) else value


def mpl_text(text: Any) -> str:
    """``text`` for a matplotlib title, axis or tick label or legend entry: every ``$``
    escaped, so nothing is read as mathtext (matplotlib then shows ``$`` itself)."""
    return plain(text).replace("$", r"\$")


def literal_text(fig: Any) -> Any:
    """Make every text of the matplotlib figure ``fig`` literal (no mathtext); returns ``fig``.

    Call it before the figure is drawn or saved: a label such as ``$\\frac{$`` from data
    would otherwise stop the drawing with a parse error. Tick labels matplotlib adds
    when it draws copy the setting from the axis's first tick.
    """
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)
    return fig
