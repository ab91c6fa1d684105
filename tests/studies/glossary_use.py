"""A helper of the study tests (not a test module): the acronyms a study's own texts use that the
glossary its report shows does not explain.

A report's texts are its catalogue keys (``<prefix>*`` in the study's messages.yaml, both languages);
an acronym (two or more capitals, ``DiD``, ``pp``) counts as explained when the text of a displayed
glossary entry (``glossary.<term>``) contains it or the entry's key is the acronym itself
(``glossary.pp`` explains "pp"). Names that are not jargon (ESF, EUR, ...) are left out, as in
tests/report/test_latvian.py.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from evaltools.report import i18n

ACRONYM = re.compile(r"\b[A-Z]{2,}[0-9]*\b|HonestDiD|\bDiD\b|\bpp\b")
NOT_JARGON = {"PUMPURS", "SHA", "EUR", "CLDR", "ESF", "UTC", "LV", "EN", "PDF", "HTML", "CSV", "XLSX", "PNG", "SVG",
              "JSON"}


def unexplained(prefix: str, terms: Iterable[str]) -> list[tuple[str, str, str]]:
    """(key, language, acronym) for each acronym of the ``prefix`` keys that the glossary entries
    ``terms`` do not explain (empty: the displayed glossary covers the report's texts)."""
    terms = tuple(terms)
    out = []
    for key, entry in sorted(i18n.catalogue().items()):
        if not key.startswith(prefix):
            continue
        for lang, text in entry.items():
            shown = " ".join(i18n.text(f"glossary.{term}", lang) for term in terms)
            for acro in sorted(set(ACRONYM.findall(text)) - NOT_JARGON):
                if acro not in shown and acro not in terms:
                    out.append((key, lang, acro))
    return out
