"""Every label, heading and generated sentence of the funder report, in Latvian and English.

One catalogue holds each message once per language: ``messages.yaml`` beside this file
(the report's own texts) merged at load with ``evaltools/standards/messages.yaml`` (the
reasons of an evidence rating) and each study package's
``evaltools/studies/<study>/messages.yaml`` (its texts, keys with the study's prefix); a key
defined in two files is an error::

    headline.question:
      lv: "Jautājums"
      en: "Question"

``t(key, language, **values)`` looks a message up and fills its placeholders.
Numbers in placeholders are formatted for the language when the placeholder has
a format spec: ``{effect:.2f}`` gives ``0,25`` in Latvian and ``0.25`` in
English, ``{n:,d}`` gives ``1 234`` (non-breaking space) and ``1,234``, and
``{share:.0%}`` gives ``12%``, ``{p:p}`` gives ``p = 0,042`` or ``p < 0,001`` (never
``p = 0,00``; ``None`` gives "not testable"). The locale rules are CLDR's, through Babel
(https://babel.pocoo.org): Latvian uses a decimal comma and a non-breaking space
between thousands. Minus signs are printed as the typographic minus (U+2212).

Values are data: ``t()`` escapes every value that is not a number for Markdown and
HTML (:func:`evaltools.report.escape.markdown_text`), so
``display(Markdown(t("mq.headline", area=name)))`` shows a name such as
``<svg onload=...>`` or ``[x](javascript:...)`` as text. The catalogue's own text is
trusted Markdown. What ``t()`` returns is a :class:`Message`: a ``str`` (the
Markdown-safe text) that also carries ``.plain``, the same message with the values
as given, for places that escape for themselves (report tables, the headline card,
figure labels through :func:`evaltools.report.escape.mpl_text`, ``results.json``);
:func:`text` returns that plain form directly. A message passed as a value to
another is inserted as it is (it is already safe); wrap a trusted Markdown fragment
of your own in :func:`trusted` to insert it unescaped.
"""
from __future__ import annotations

import difflib
import math
import re
import string
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib import resources
from numbers import Real
from typing import Any

import yaml
from babel import Locale
from babel.numbers import format_currency, format_decimal

from evaltools.core.errors import InputError, ParamsError
from evaltools.report.escape import markdown_text
from evaltools.yamlfile import parse_yaml  # strict YAML: a key twice in one file is refused there

LANGUAGES: tuple[str, ...] = ("lv", "en")
MINUS = "\u2212"
_CATALOGUE_FILE = "messages.yaml"
_default_language = "lv"

# A format spec this module understands: optional sign, optional grouping flag,
# optional precision, then f (fixed), d (integer) or % (percent); the spec ``p`` alone
# formats a p-value clause (:func:`p_equals`: ``p = 0,52``, ``p < 0,001``).
_SPEC = re.compile(r"^(?P<sign>\+)?(?P<group>,)?(?:\.(?P<digits>\d+))?(?P<kind>[fd%])$")


class UnknownLanguageError(InputError, ValueError):
    """A language code the catalogue does not have."""


class MessageKeyError(InputError, KeyError):
    """A message key that is not in the catalogue."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


class MessageValueError(InputError, ValueError):
    """A message was asked for without a value its placeholders need, or with a bad spec."""


class Message(str):
    """A filled catalogue message: its ``str`` value is safe in Markdown and HTML (values
    escaped); ``plain`` is the same text with the values as given."""

    plain: str

    def __new__(cls, safe: str, plain: str) -> "Message":
        obj = super().__new__(cls, safe)
        obj.plain = plain
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (str(self), self.plain))

    def map(self, fn: Any) -> "Message":
        """Apply a string function to both forms (e.g. ``lambda s: s.replace("  ", " ")``)."""
        return Message(fn(str(self)), fn(self.plain))


def trusted(fragment: str) -> Message:
    """Mark a Markdown fragment written by the study (not from data) to be inserted as is."""
    return Message(str(fragment), str(fragment))


def set_language(language: str) -> None:
    """Set the language used when a function is called with ``language=None``."""
    global _default_language
    _default_language = check_language(language)


def get_language() -> str:
    """The language used when none is given (``"lv"`` unless :func:`set_language` changed it)."""
    return _default_language


def check_language(language: str | None) -> str:
    """Return a valid language code (``None`` means the current default) or raise."""
    if language is None:
        return _default_language
    code = str(language).strip().lower()
    if code not in LANGUAGES:
        raise UnknownLanguageError(
            f"Unknown report language {language!r}. The catalogue has {', '.join(LANGUAGES)}: "
            "set the notebook parameter `language` to one of them."
        )
    return code


class CatalogueError(ParamsError, ValueError):
    """A message catalogue that cannot be used: not a mapping, an entry without languages, a key twice."""


def _catalogue_files() -> list[tuple[str, Any]]:
    """The report's own catalogue, the standards' (rating reasons), then each study package's
    ``messages.yaml`` (sorted by package)."""
    files = [("evaltools/report/" + _CATALOGUE_FILE, resources.files("evaltools.report").joinpath(_CATALOGUE_FILE)),
             # the evidence rating's reasons (rating.*): written once, beside the rating that uses them
             ("evaltools/standards/" + _CATALOGUE_FILE, resources.files("evaltools.standards").joinpath(_CATALOGUE_FILE))]
    studies = resources.files("evaltools.studies")
    for pkg in sorted(studies.iterdir(), key=lambda e: e.name):
        if pkg.is_dir() and pkg.joinpath("__init__.py").is_file() and pkg.joinpath(_CATALOGUE_FILE).is_file():
            files.append((f"evaltools/studies/{pkg.name}/{_CATALOGUE_FILE}", pkg.joinpath(_CATALOGUE_FILE)))
    return files


def _read_catalogue(where: str, text: str) -> dict[str, dict[str, str]]:
    raw = parse_yaml(text, where).data
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where} must be a mapping of message keys.")
    out: dict[str, dict[str, str]] = {}
    for key, entry in raw.items():
        if not isinstance(entry, Mapping):
            raise CatalogueError(f"{where}: message {key!r} must map languages to text, got {entry!r}.")
        out[str(key)] = {str(lang): str(msg) for lang, msg in entry.items()}
    return out


def merge_catalogues(parts: list[tuple[str, Mapping[str, dict[str, str]]]]) -> dict[str, dict[str, str]]:
    """One catalogue from ``(where, messages)`` parts; a key defined in two parts is an error that
    names both files (two studies cannot silently share or override a message)."""
    out: dict[str, dict[str, str]] = {}
    source: dict[str, str] = {}
    for where, messages in parts:
        for key, entry in messages.items():
            if key in out:
                raise CatalogueError(f"Message {key!r} is defined twice: in {source[key]} and in {where}. Keep one "
                                     "(a study's messages start with its own prefix, e.g. 'dp.').")
            out[key], source[key] = dict(entry), where
    return out


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """The message catalogue: ``{key: {"lv": ..., "en": ...}}`` (read once, cached): the report's
    ``messages.yaml`` merged with every study package's (``evaltools/studies/<study>/messages.yaml``)."""
    return merge_catalogues([(where, _read_catalogue(where, f.read_text("utf-8"))) for where, f in _catalogue_files()])


def t(key: str, language: str | None = None, **values: Any) -> Message:
    """The message ``key`` in ``language`` with its placeholders filled from ``values``.

    Values other than numbers are escaped for Markdown and HTML (see the module
    docstring); ``.plain`` of the result has them as given. ``language`` may be given
    by position or by name (``t("k", language="en")``); no message may therefore use
    a placeholder called ``language`` or ``key``.
    """
    lang = check_language(language)
    messages = catalogue()
    if key not in messages:
        close = difflib.get_close_matches(key, messages.keys(), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise MessageKeyError(
            f"No message {key!r} in the catalogues ({_CATALOGUE_FILE} of the report or of a study).{hint} "
            "Add it in both languages to the study's messages.yaml (or the report's, for a shared text)."
        )
    template = messages[key].get(lang)
    if template is None:
        raise MessageKeyError(f"Message {key!r} has no {lang!r} text in {_CATALOGUE_FILE}.")
    try:
        return Message(_LocaleFormatter(lang, escape=True).vformat(template, (), values),
                       _LocaleFormatter(lang, escape=False).vformat(template, (), values))
    except KeyError as err:
        needed = sorted(name for name, _ in placeholders(template))
        raise MessageValueError(
            f"Message {key!r} needs a value for {err.args[0]!r}; it uses {needed}."
        ) from None


def text(key: str, language: str | None = None, **values: Any) -> str:
    """The message ``key`` with its values as given (``t(...).plain``): for a place that
    escapes for itself, never for Markdown."""
    return t(key, language, **values).plain


def tn(key: str, count: float, language: str | None = None, **values: Any) -> Message:
    """A message whose wording depends on ``count``: ``key.zero``, ``key.one`` or ``key.other``.

    The form follows CLDR's plural rules for the language (Latvian: *zero* for
    0, 10-20, 30, ...; *one* for 1, 21, 31, ... but not 11; *other* otherwise),
    falling back to ``key.other``. ``count`` is also passed to the message.
    """
    lang = check_language(language)
    form = Locale.parse(lang).plural_form(abs(count))
    chosen = f"{key}.{form}" if has(f"{key}.{form}") else f"{key}.other"
    return t(chosen, lang, **values)


def has(key: str) -> bool:
    """Whether the catalogue has ``key``."""
    return key in catalogue()


def placeholders(template: str) -> set[tuple[str, str]]:
    """The ``(name, format spec)`` pairs a message template uses."""
    found = set()
    for _, name, spec, _ in string.Formatter().parse(template):
        if name is not None:
            found.add((name, spec or ""))
    return found


def number(
    value: float | None, language: str | None = None, digits: int = 2, *, signed: bool = False
) -> str:
    """``value`` with ``digits`` decimals, the language's decimal mark and thousands grouping.

    ``None`` and NaN give an empty string; ``signed=True`` puts ``+`` before positive numbers.
    The value is first rounded to 12 significant digits (floating-point noise of a sum's order).
    """
    lang = check_language(language)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    # 12 significant digits first, so that the order of a sum (63.395 vs 63.394999999999996) never
    # decides the last shown digit
    x = float(f"{float(value):.12g}")
    if round(x, digits) == 0:
        x = 0.0  # no "-0,00"
    text = format_decimal(x, format=pattern, locale=lang).replace("-", MINUS)
    if signed and x > 0:
        text = "+" + text
    return text


def integer(value: int | float | None, language: str | None = None) -> str:
    """A whole number with the language's thousands grouping (``12 345`` / ``12,345``)."""
    return number(value, language, digits=0)


def percent(value: float | None, language: str | None = None, digits: int = 0) -> str:
    """A share (0.123) as a percentage (``12%``; ``12,3%`` with ``digits=1`` in Latvian).

    The place of the sign and any space before it follow the language's CLDR percent
    pattern (Babel); CLDR writes ``95%`` without a space in Latvian and English alike,
    as the Latvian language centre (VVC) also recommends, and that is the one rule of every
    report: catalogue texts write ``%`` directly after the number too
    (tests/report/test_latvian.py checks it). A space, if a locale had one, is non-breaking.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    lang = check_language(language)
    pattern = Locale.parse(lang).percent_formats[None].pattern
    prefix, suffix = _percent_affixes(pattern)
    return prefix + number(100 * float(value), lang, digits) + suffix


def _percent_affixes(pattern: str) -> tuple[str, str]:
    """The text before and after the number in a CLDR percent pattern (``#,##0%`` -> ``("", "%")``)."""
    positive = pattern.split(";")[0]
    m = re.match(r"^(?P<pre>[^#0,.]*)[#0,.]+(?P<post>.*)$", positive)
    if m is None:  # pragma: no cover - every CLDR locale has a digit pattern
        return "", "%"
    nb = lambda part: part.replace(" ", "\u00a0").replace("\u202f", "\u00a0")  # noqa: E731
    return nb(m["pre"]), nb(m["post"])


def p_value(p: float | None, language: str | None = None, digits: int | None = None) -> str:
    """A p-value as published (APA style): two decimals from 0.01 up (``0,52``), three below
    (``0,007``) and ``< 0,001`` below that, never ``0,00``; ``digits`` fixes the decimals
    (still with the ``<`` floor). ``None``/NaN give the catalogue's "not testable"."""
    lang = check_language(language)
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return text("p.not_testable", lang)
    x = float(p)
    if digits is None:
        digits = 2 if x >= 0.01 else 3
    floor = 10.0 ** -digits
    if round(x, digits) < floor:
        return "<\u00a0" + number(floor, lang, digits)
    return number(x, lang, digits)


def p_equals(p: float | None, language: str | None = None, digits: int | None = None) -> str:
    """``p = 0,042``, ``p < 0,001`` or, without a test, the catalogue's "not testable" sentence
    part: a whole clause, so no sentence reads "p = not testable"."""
    lang = check_language(language)
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return text("p.not_testable", lang)
    shown = p_value(p, lang, digits)
    return "p\u00a0" + shown if shown.startswith("<") else "p\u00a0=\u00a0" + shown


# The Latvian alphabet (LVS 8:1999 / VVC): the long vowels and the letters with a cedilla or
# caron are letters of their own, each right after its base letter; Q, W, X, Y (foreign) sort
# in their Latin places.
_LV_RANK = {ch: i for i, ch in enumerate("aābcčdeēfgģhiījkķlļmnņopqrsštuūvwxyzž")}


def collation_key(name: Any, language: str | None = None) -> tuple:
    """A sort key that orders names as the language does: in Latvian ``Ā`` right after ``A``,
    ``Č`` after ``C``, ``Ķ`` after ``K``, ``Ž`` after ``Z`` (a plain ``sorted()`` puts them after
    ``Z``); letters compare before case, so ``ābele`` and ``Ābele`` sit together. English:
    case-insensitive. Characters outside the alphabet keep their code-point order after it.

    ``sorted(names, key=lambda n: collation_key(n, "lv"))``; for a pandas column use
    ``df.sort_values(col, key=lambda s: s.map(lambda n: collation_key(n, "lv")))``.
    """
    lang = check_language(language)
    s = str(name)
    if lang != "lv":
        return (tuple(s.casefold()), s)
    size = len(_LV_RANK)
    primary = tuple(_LV_RANK.get(ch, size + ord(ch)) for ch in s.casefold())
    return (primary, s.swapcase())  # ties: lower case first, as in dictionaries


def sort_names(names: Any, language: str | None = None) -> list:
    """``names`` sorted in the language's alphabetical order (:func:`collation_key`)."""
    lang = check_language(language)
    return sorted(names, key=lambda n: collation_key(n, lang))


def param_value(value: Any, language: str | None = None) -> str:
    """A parameter's value as a reader sees it: numbers in the language's format (``1500.0`` ->
    ``1500``, ``15000.0`` -> ``15 000``, ``0.25`` -> ``0,25``), ``None`` -> "not set", ``True``/``False`` -> "yes"/"no", a list as ``a, b``,
    a mapping as ``key: value; ...``; never a Python repr."""
    lang = check_language(language)
    if value is None:
        return text("param.none", lang)
    if isinstance(value, bool):
        return text("param.yes" if value else "param.no", lang)
    if isinstance(value, Real):
        x = float(value)
        if math.isnan(x):
            return text("param.none", lang)
        if x == int(x) and abs(x) < 1e4:  # years, counts: four digits stay together
            return str(int(x)).replace("-", MINUS)
        if x == int(x) and abs(x) < 1e15:
            return integer(x, lang)
        digits = min(6, max(1, len(repr(x).split(".")[-1].rstrip("0"))))
        return number(x, lang, digits)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {param_value(v, lang)}" for k, v in value.items()) or text("param.none", lang)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return ", ".join(param_value(v, lang) for v in items) or text("param.none", lang)
    return str(value)


def param_label(key: str, language: str | None = None) -> str:
    """The catalogue's label of a parameter (``param.name.<key>``) or, without one, the key with
    underscores as spaces."""
    lang = check_language(language)
    name = f"param.name.{key}"
    return text(name, lang) if has(name) else str(key).replace("_", " ")


def measure_name(measure: str, language: str | None = None) -> str:
    """An effect-size measure's name in the language (``"Cox index"`` -> ``Koksa indekss``);
    a measure the catalogue does not know is returned as given."""
    lang = check_language(language)
    key = "measure." + re.sub(r"[^a-z0-9]+", "_", str(measure).lower()).strip("_")
    return text(key, lang) if has(key) else str(measure)


def tick_formatter(language: str | None = None, digits: int = 3, percent_axis: bool = False) -> Any:
    """A matplotlib tick formatter in the language: decimal comma and typographic minus in
    Latvian, trailing zeros dropped (``0,5``, ``−1``); ``percent_axis`` for shares (0.25 -> ``25%``)."""
    from matplotlib.ticker import FuncFormatter

    lang = check_language(language)
    mark = "," if lang == "lv" else "."

    def fmt(v: float, _pos: int | None = None) -> str:
        if percent_axis:
            v = 100 * v
        s = number(v, lang, digits)
        if mark in s:
            s = s.rstrip("0").rstrip(mark)
        if s == MINUS + "0":
            s = "0"
        return s + (_percent_affixes(Locale.parse(lang).percent_formats[None].pattern)[1] if percent_axis else "")

    return FuncFormatter(fmt)


def money(value: float | None, language: str | None = None, currency: str = "EUR",
          digits: int | None = None) -> str:
    """An amount of money, CLDR style: ``1 234,50 €`` in Latvian, ``€1,234.50`` in English.

    ``digits=None`` shows whole units from 100 up (``7 226 €``: the cents of an estimated
    cost are false precision) and the currency's decimals below; or give ``digits``.
    """
    lang = check_language(language)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    x = float(value)
    if digits is None:
        digits = 0 if abs(x) >= 100 else 2
    pattern = Locale.parse(lang).currency_formats["standard"].pattern
    pattern = re.sub(r"0\.0+", "0" + ("." + "0" * digits if digits else ""), pattern)
    amount = Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)  # 312.5 -> 313
    return format_currency(amount, currency, format=pattern, locale=lang,
                           currency_digits=False).replace("-", MINUS)


def format_value(value: Any, spec: str, language: str | None = None) -> str:
    """Format one value with a spec this module understands (see the module docstring)."""
    lang = check_language(language)
    if spec == "p":  # a p-value clause: "p = 0,042", "p < 0,001", or "not testable" for None
        if value is not None and (isinstance(value, bool) or not isinstance(value, Real)):
            raise MessageValueError(f"The spec 'p' formats a p-value (a number or None), got {value!r}.")
        return p_equals(value, lang)
    if isinstance(value, bool) or not isinstance(value, Real) or not spec:
        return format(value, spec)
    m = _SPEC.match(spec)
    if m is None:
        raise MessageValueError(
            f"Format spec {spec!r} is not supported for numbers in messages; use e.g. "
            "'.2f', '+.2f', ',d' or '.0%'."
        )
    digits = int(m["digits"]) if m["digits"] is not None else (0 if m["kind"] in "d%" else 2)
    signed = m["sign"] == "+"
    if m["kind"] == "%":
        text = percent(float(value), lang, digits)
        return ("+" + text) if signed and float(value) > 0 else text
    return number(float(value), lang, digits, signed=signed)


class _LocaleFormatter(string.Formatter):
    """Fills a message: numbers formatted for the language; with ``escape``, any other
    value escaped for Markdown (a :class:`Message` is inserted in its safe form),
    without it every value as given (a :class:`Message` by its ``plain`` form)."""

    def __init__(self, language: str, escape: bool) -> None:
        self.language = language
        self.escape = escape

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Message):
            return format(str(value) if self.escape else value.plain, format_spec)
        text = format_value(value, format_spec, self.language)
        if not self.escape or (isinstance(value, Real) and not isinstance(value, bool)):
            return text  # a number as this module formats it: digits, marks and signs only
        return markdown_text(text)
