"""The pre-analysis plan in the structure the WWC and the EEF ask for: question, design,
primary and secondary outcomes, MDES, analysis model, attrition and missing data, multiple
testing (EEF 2022, *Statistical analysis plan template*; WWC 2022, *Procedures and Standards
Handbook* v5.0). :func:`sections` gives the headings and texts (the notebook shows them),
:func:`markdown` the same as one Markdown document (written beside the report)."""
from __future__ import annotations

from typing import Any, Sequence

from evaltools.report import i18n

SECTIONS = ("question", "design", "outcomes", "mdes", "model", "attrition", "multiple")


def sections(results: Any, *, measure: str, outcome: str, secondary: Sequence[str], seed: int,
             language: str) -> list[tuple[str, str]]:
    """``(heading, text)`` for each section of the plan, texts from the study's catalogue."""
    t = lambda key, **v: i18n.t(f"evaluation_planner.{key}", language, **v)  # noqa: E731
    rec = results.recommended
    d = rec.design
    units = d.units()
    params = results.parameters
    name = t(f"measure.{measure}")
    out_name = t(f"outcome.{outcome}")
    second = ", ".join(str(t(f"outcome.{s}")) for s in secondary if s != outcome) or str(t("none"))
    r2 = params.value("r2_1") if "r2_1" in params.table.index else 0.0
    strata = str(t("pap.strata")) if d.design == "blocked_cluster" else ""
    schools = "–" if units["schools"] != units["schools"] else i18n.integer(units["schools"], language)
    texts = {
        "question": t("pap.question_text", measure=name, outcome=out_name),
        "design": t("pap.design_text", design=t(f"design.{d.design}"), code=d.code, schools=schools,
                    pupils=i18n.integer(units["pupils"], language), seed=seed, strata=strata),
        "outcomes": t("pap.outcomes_text", primary=out_name, secondary=second),
        "mdes": t("pap.mdes_text", mdes=i18n.number(rec.mdes, language, digits=2),
                  power=i18n.percent(rec.power, language), alpha=i18n.number(rec.alpha, language, digits=2),
                  rho2=i18n.number(params.value("rho2"), language, digits=3), r2=i18n.number(r2, language, digits=2)),
        "model": t("pap.model_text", strata=str(t("pap.strata_fe")) if d.design == "blocked_cluster" else ""),
        "attrition": t("pap.attrition_text"),
        "multiple": t("pap.multiple_text"),
    }
    return [(str(t(f"pap.{k}")), str(texts[k])) for k in SECTIONS]


def markdown(results: Any, *, measure: str, outcome: str, secondary: Sequence[str], seed: int,
             language: str) -> str:
    """The plan as one Markdown document (title, then one ``##`` section per part)."""
    title = i18n.t("evaluation_planner.pap.title", language, measure=i18n.t(f"evaluation_planner.measure.{measure}",
                                                                           language))
    parts = [f"# {title}", ""]
    for heading, text in sections(results, measure=measure, outcome=outcome, secondary=secondary, seed=seed,
                                  language=language):
        parts += [f"## {heading}", "", text, ""]
    return "\n".join(parts)
