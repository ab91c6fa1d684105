"""Design changes a study makes because the data cannot support what was asked.

When a study cannot use the design option a user asked for (say, the roll-out
comparison with never-treated schools, in a region that has none) and uses another,
the report must say so where a reader looks, not only in a researcher cell.
:func:`design_change` records the change under ``design_changes`` in
``results.json`` (the runner copies it into ``manifest.json`` and the report's
parameter block) and returns a notice that the notebook displays::

    cs, used = dropout.fit_rollout(panel, control_group)
    if used is not None and used != control_group:
        display(report.design_change("control_group", control_group, used,
                                     reason=t("dp.fallback.control_group")))

This follows the reporting rule of pre-registered evaluations that every deviation
from the planned analysis is stated with its reason (EEF 2022, *Evaluation report
template*, section "Deviations from the protocol"; WWC 2022, *Procedures and
Standards Handbook* v5.0, ch. II).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from evaltools.report import i18n
from evaltools.report.escape import html_text
from evaltools.report.record import record, recorded
from evaltools.text import clip

RECORD_NAME = "design_changes"
_MAX_TEXT = 200


@dataclass(frozen=True)
class DesignChange:
    """One option used other than asked: ``option`` asked as ``asked``, used as ``used``."""

    option: str
    asked: str
    used: str
    reason: str
    language: str = "lv"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "language"}

    def text(self, language: str | None = None) -> str:
        """The notice as a plain sentence in ``language`` (values as given: escape where shown)."""
        lang = i18n.check_language(language or self.language)
        return i18n.text("design.change", lang, option=self.option, asked=self.asked, used=self.used,
                      reason=self.reason)

    def _repr_html_(self) -> str:
        lang = i18n.check_language(self.language)
        title = html_text(i18n.t("design.change.title", lang))
        return (f'<div class="evaltools-design-change" role="note"><strong>{title}</strong> '
                f"{html_text(self.text(lang))}</div>")

    def __repr__(self) -> str:
        return f"DesignChange: {self.text('en')}"


def design_change(option: str, asked: Any, used: Any, *, reason: str, language: str | None = None) -> DesignChange:
    """Record that ``option`` was ``used`` instead of ``asked`` (with the ``reason``) and return the notice."""
    if not isinstance(option, str) or not option:
        raise ValueError("design_change(): name the option that changed, e.g. 'control_group'.")
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"design_change({option!r}): give the reason the data could not support {clip(asked, 40)}.")
    change = DesignChange(option, clip(asked, _MAX_TEXT), clip(used, _MAX_TEXT), clip(reason, 2 * _MAX_TEXT),
                          i18n.check_language(language))
    previous = recorded().get(RECORD_NAME, {}).get("value") or []
    kept = [c for c in previous if c.get("option") != option]
    record(RECORD_NAME, [*kept, change.to_dict()])
    return change


def design_changes(results: dict[str, Any]) -> list[dict[str, str]]:
    """The design changes stored in a ``results.json`` mapping (empty when none)."""
    entry = results.get(RECORD_NAME)
    value = entry.get("value") if isinstance(entry, dict) else None
    if not isinstance(value, list):
        return []
    keys = ("option", "asked", "used", "reason")
    return [{k: str(c.get(k, ""))[:_MAX_TEXT * 2] for k in keys} for c in value if isinstance(c, dict)]
