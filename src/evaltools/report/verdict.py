"""The verdict of a funder report: what the effect says, weighed by how secure it is.

A confidence interval alone says on which side of zero an effect lies; it does not say
whether the design can be trusted. The verdict combines four inputs into one of four
codes, each with a security level, a wording in both languages and a colour:

1. **Direction** (from the confidence interval and which way is good):
   ``favourable`` when the whole interval lies on the good side of zero, ``unfavourable``
   when it lies on the bad side, ``unclear`` when it includes zero (EEF 2022, *Guidance
   for evaluators on reporting*: report the interval, not a significance verdict alone).
2. **Security**, the *weakest* of the signals that are given (as EEF's padlock rating
   takes the minimum of its components):

   * EEF padlocks (Education Endowment Foundation, *Teaching and Learning Toolkit* and
     "Classifying the security of EEF findings", 2019): 4–5 → ``high``, 3 → ``moderate``,
     0–2 → ``low``;
   * the WWC study rating (What Works Clearinghouse, *Procedures and Standards Handbook*
     v5.0, 2022): meets standards without reservations → ``high``, with reservations →
     ``moderate``, does not meet → ``low`` (the ESSA tiers the WWC reports use: strong
     evidence needs a randomised design meeting standards without reservations, moderate
     evidence a design meeting them with reservations);
   * the design checks: a failed pre-trend test (p < 0.05) or a baseline difference the
     WWC rule does not accept (|ES| > 0.25, or 0.05–0.25 without adjustment) caps security
     at ``low`` whatever the rating says;
   * no padlocks and no WWC rating: ``unrated`` (``low`` if a design check failed).
3. **Code** (after the WWC *effectiveness ratings*: strong or promising evidence of a
   positive effect, uncertain effects, evidence of a negative effect):

   ========================  ===================  ====================
   direction                 security             code
   ========================  ===================  ====================
   favourable                high or moderate     ``improved``
   favourable                low or unrated       ``promising``
   unclear                   any                  ``no_clear_effect``
   unfavourable              any                  ``worse``
   ========================  ===================  ====================

The wording is ``verdict.<code>`` with the security (``verdict.security.<level>``) in
it, e.g. "Improvement, high security", "Promising, but low security", "No clear effect,
moderate security", "Worse outcome, low security"; the colour is :data:`COLOURS`.
:attr:`Verdict.limited_by` names the inputs that set a security below high, so a
report can say why. The rule formats what the study computed; it estimates nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from evaltools.core.errors import InputError
from evaltools.report import i18n

Direction = Literal["favourable", "unfavourable", "unclear"]
Security = Literal["high", "moderate", "low", "unrated"]
Code = Literal["improved", "promising", "no_clear_effect", "worse"]

DIRECTIONS: tuple[str, ...] = ("favourable", "unfavourable", "unclear")
SECURITY_LEVELS: tuple[str, ...] = ("high", "moderate", "low", "unrated")
CODES: tuple[str, ...] = ("improved", "promising", "no_clear_effect", "worse")
#: WWC study ratings, as codes: without reservations, with reservations, does not meet.
WWC_LEVELS: tuple[str, ...] = ("meets", "meets_with", "does_not")
#: Pre-trend test outcome (None: no such test for the design).
PRETREND_LEVELS: tuple[str, ...] = ("passed", "failed")
#: WWC baseline equivalence of the analytic sample (None: not given).
BALANCE_LEVELS: tuple[str, ...] = ("satisfied", "adjusted", "not_adjusted", "not_satisfied")
#: The p-value below which a pre-trend test counts as failed.
PRETREND_ALPHA = 0.05

#: Colour of each code (the card's accent and the index's badge).
COLOURS: dict[str, str] = {
    "improved": "#1a7f37",        # green
    "promising": "#8a6d00",       # amber
    "no_clear_effect": "#5b6670",  # grey
    "worse": "#b42318",           # red
}
_RANK = {"low": 0, "moderate": 1, "high": 2}
_WWC_SECURITY = {"meets": "high", "meets_with": "moderate", "does_not": "low"}
_WWC_TEXT = {
    "meets wwc standards without reservations": "meets",
    "meets wwc standards with reservations": "meets_with",
    "does not meet wwc standards": "does_not",
}


class VerdictInputError(InputError, ValueError):
    """An input the verdict rule does not know."""


def padlock_security(padlocks: int) -> str:
    """EEF padlocks 0–5 → ``high`` (4–5), ``moderate`` (3) or ``low`` (0–2)."""
    if isinstance(padlocks, bool) or not isinstance(padlocks, int) or not 0 <= padlocks <= 5:
        raise VerdictInputError(f"verdict: padlocks must be a whole number from 0 to 5, got {padlocks!r}.")
    return "high" if padlocks >= 4 else "moderate" if padlocks == 3 else "low"


def wwc_level(rating: Any) -> str | None:
    """A WWC rating (its English label, a code of :data:`WWC_LEVELS`, or None) as a code."""
    if rating is None:
        return None
    key = str(rating).strip().lower()
    if key in WWC_LEVELS:
        return key
    if key in _WWC_TEXT:
        return _WWC_TEXT[key]
    raise VerdictInputError(
        f"verdict: unknown WWC rating {rating!r}; use one of {list(WWC_LEVELS)} or the WWC label "
        "('Meets WWC standards without reservations', '... with reservations', 'Does not meet WWC standards').")


def pretrend_status(test: Any, alpha: float = PRETREND_ALPHA) -> str | None:
    """A pre-trend test (a p-value, an object with ``.pvalue`` or a dict with ``"pvalue"``)
    → ``failed`` when p < ``alpha``, else ``passed``; None when there is no test."""
    if test is None:
        return None
    if isinstance(test, str):
        if test in PRETREND_LEVELS:
            return test
        raise VerdictInputError(f"verdict: pre-trend status must be one of {list(PRETREND_LEVELS)}, got {test!r}.")
    p = test.get("pvalue") if isinstance(test, dict) else getattr(test, "pvalue", test)
    if p is None:  # a test object without a result
        return None
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise VerdictInputError(f"verdict: the pre-trend test has no usable p-value (got {p!r}).") from None
    if p != p:  # a test that could not be computed (no pre-periods) is no test
        return None
    if not 0 <= p <= 1:
        raise VerdictInputError(f"verdict: the pre-trend p-value must lie in [0, 1], got {p!r}.")
    return "failed" if p < alpha else "passed"


def balance_status(baseline_es: float | None, adjusted: bool = False) -> str | None:
    """WWC baseline equivalence of the largest baseline difference (effect-size units),
    via :func:`evaltools.standards.baseline_equivalence`: ``satisfied`` (|ES| <= 0.05),
    ``adjusted`` / ``not_adjusted`` (0.05–0.25, with or without adjustment in the impact
    model), ``not_satisfied`` (> 0.25); None when not given."""
    if baseline_es is None:
        return None
    from evaltools.standards import baseline_equivalence

    status = baseline_equivalence(baseline_es).status
    if status == "satisfied":
        return "satisfied"
    if status == "adjustment required":
        return "adjusted" if adjusted else "not_adjusted"
    return "not_satisfied"


def direction(ci_low: float, ci_high: float, higher_is_better: bool = True) -> str:
    """``favourable``/``unfavourable`` when the CI excludes zero on that side, else ``unclear``."""
    if ci_low > 0 or ci_high < 0:
        return "favourable" if (ci_low > 0) == bool(higher_is_better) else "unfavourable"
    return "unclear"


def security(padlocks: int | None = None, wwc: str | None = None, pretrend: str | None = None,
             balance: str | None = None) -> tuple[str, tuple[str, ...]]:
    """(level, limited_by): the weakest of the given signals (see the module docstring);
    ``limited_by`` names the inputs that hold the level below ``high``."""
    wwc = wwc_level(wwc)
    if pretrend is not None and pretrend not in PRETREND_LEVELS:
        raise VerdictInputError(f"verdict: pre-trend status must be one of {list(PRETREND_LEVELS)} or None, got {pretrend!r}.")
    if balance is not None and balance not in BALANCE_LEVELS:
        raise VerdictInputError(f"verdict: balance must be one of {list(BALANCE_LEVELS)} or None, got {balance!r}.")
    signals: dict[str, str] = {}
    if padlocks is not None:
        signals["padlocks"] = padlock_security(padlocks)
    if wwc is not None:
        signals["wwc"] = _WWC_SECURITY[wwc]
    if pretrend == "failed":
        signals["pretrend"] = "low"
    if balance in ("not_adjusted", "not_satisfied"):
        signals["balance"] = "low"
    if not signals:
        return "unrated", ()
    level = min(signals.values(), key=_RANK.__getitem__)
    limited = tuple(k for k, v in signals.items() if v == level) if level != "high" else ()
    return level, limited


def code_of(direction_: str, security_: str) -> str:
    """The verdict code of a direction and a security level (the table in the module docstring)."""
    if direction_ not in DIRECTIONS or security_ not in SECURITY_LEVELS:
        raise VerdictInputError(f"verdict: unknown direction {direction_!r} or security {security_!r}.")
    if direction_ == "unclear":
        return "no_clear_effect"
    if direction_ == "unfavourable":
        return "worse"
    return "improved" if security_ in ("high", "moderate") else "promising"


@dataclass(frozen=True)
class Verdict:
    """The verdict: ``code`` (:data:`CODES`), ``direction``, ``security``, the inputs that
    limit the security, and the inputs themselves (for the index and ``results.json``)."""

    code: str
    direction: str
    security: str
    limited_by: tuple[str, ...] = ()
    padlocks: int | None = None
    wwc: str | None = None
    pretrend: str | None = None
    balance: str | None = None

    @property
    def colour(self) -> str:
        return COLOURS[self.code]

    @property
    def key(self) -> str:
        """The catalogue key of the wording."""
        return f"verdict.{self.code}"

    def label(self, language: str | None = None) -> str:
        """The wording, e.g. "Promising, but low security" (plain text)."""
        return i18n.text(self.key, language, security=i18n.text(f"verdict.security.{self.security}", language))

    def explanation(self, language: str | None = None) -> str:
        """Why the security is what it is, in one sentence ("" when it is high)."""
        if self.security == "unrated":
            return i18n.text("verdict.why_unrated", language)
        if not self.limited_by:
            return ""
        parts = [self._limit_text(k, language) for k in self.limited_by]
        return i18n.text("verdict.why", language, reasons="; ".join(parts))

    def _limit_text(self, what: str, language: str | None) -> str:
        if what == "padlocks":
            return i18n.text("verdict.limit.padlocks", language, n=int(self.padlocks or 0))
        if what == "wwc":
            return i18n.text(f"verdict.limit.wwc_{self.wwc}", language)
        if what == "pretrend":
            return i18n.text("verdict.limit.pretrend", language, alpha=PRETREND_ALPHA)
        return i18n.text(f"verdict.limit.balance_{self.balance}", language)

    def to_dict(self) -> dict[str, Any]:
        """What the index needs: code, wording key and text in both languages, colour, the inputs."""
        return {
            "code": self.code, "key": self.key, "direction": self.direction, "security": self.security,
            "colour": self.colour, "padlocks": self.padlocks, "wwc": self.wwc, "pretrend": self.pretrend,
            "balance": self.balance, "limited_by": list(self.limited_by),
            "label": {lang: self.label(lang) for lang in i18n.LANGUAGES},
            "explanation": {lang: self.explanation(lang) for lang in i18n.LANGUAGES},
        }


def verdict(ci_low: float, ci_high: float, *, higher_is_better: bool = True, padlocks: int | None = None,
            wwc: str | None = None, pretrend: Any = None, balance: str | None = None) -> Verdict:
    """The verdict of an effect (CI ``ci_low``–``ci_high``) given its rating and design checks.

    ``padlocks``: EEF 0–5 or None; ``wwc``: a WWC label or code (:data:`WWC_LEVELS`) or
    None; ``pretrend``: ``"passed"``/``"failed"``, a p-value or test object
    (:func:`pretrend_status`) or None; ``balance``: :data:`BALANCE_LEVELS` or None
    (:func:`balance_status` makes it from a baseline effect size).
    """
    wwc_code = wwc_level(wwc)
    pre = pretrend_status(pretrend)
    level, limited = security(padlocks, wwc_code, pre, balance)
    way = direction(ci_low, ci_high, higher_is_better)
    return Verdict(code=code_of(way, level), direction=way, security=level, limited_by=limited,
                   padlocks=padlocks, wwc=wwc_code, pretrend=pre, balance=balance)
