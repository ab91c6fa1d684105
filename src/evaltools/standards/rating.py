"""Evidence ratings: the WWC study rating and the EEF padlock (security) rating.

WWC (Procedures and Standards Handbook v5.0, group designs): a randomised controlled trial
with low attrition (and no confound) *meets standards without reservations*; a trial with
high attrition or a quasi-experiment *meets standards with reservations* if baseline
equivalence of the analytic sample is shown (|ES| <= 0.05, or 0.05-0.25 with statistical
adjustment); otherwise, or with a confound, it *does not meet standards*.

EEF (2019, "Classifying the security of EEF findings"): 0-5 padlocks, the minimum of the
design, MDES and attrition ratings (table in ``standards/data/eef_padlocks.csv``), then one
padlock less for baseline imbalance and for each threat to validity.

Each reason is stored twice: as a code with its numbers (``reason_codes``, e.g.
``{"code": "eef.mdes", "mdes": 0.14, "padlocks": 5}``, what ``results.json`` keeps) and as a
sentence a funder can read (``reasons``, English). The sentences of both languages are the
``rating.reason.<code>`` entries of ``standards/messages.yaml``, filled from those numbers
(the report shows the Latvian ones through :mod:`evaltools.report.i18n`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Mapping

import pandas as pd

from evaltools.core import inputs as ck
from evaltools.standards._data import load
from evaltools.standards.attrition import Attrition, baseline_equivalence
from evaltools.yamlfile import parse_yaml

MEETS = "Meets WWC standards without reservations"
MEETS_WITH = "Meets WWC standards with reservations"
DOES_NOT = "Does not meet WWC standards"

#: Accepted ``design`` values and the EEF design category they map to.
DESIGNS: dict[str, str] = {
    "rct": "rct", "cluster_rct": "rct", "randomised": "rct",
    "rdd": "unobservables", "did": "unobservables", "event_study": "unobservables",
    "staggered_did": "unobservables", "iv": "unobservables", "unobservables": "unobservables",
    "matching": "all_observables", "psm": "all_observables", "ipw": "all_observables",
    "aipw": "all_observables", "regression": "all_observables",
    "all_observables": "all_observables",
    "some_observables": "some_observables", "weak_matching": "some_observables",
    "no_confounders": "no_confounders", "unmatched": "no_confounders",
    "none": "none", "no_comparison": "none",
}


@lru_cache(maxsize=1)
def _messages() -> dict[str, str]:
    """The English sentences of ``standards/messages.yaml`` by key."""
    where = "evaltools/standards/messages.yaml"
    raw = parse_yaml(resources.files("evaltools.standards").joinpath("messages.yaml").read_text("utf-8"), where).data
    return {str(k): str(v["en"]) for k, v in raw.items()}


def reason_sentence(code: Mapping[str, Any]) -> str:
    """The English sentence of one reason code (``{"code": "eef.mdes", "mdes": 0.14, ...}``),
    built from its numbers; the report's catalogue gives the same sentence in Latvian."""
    values = {k: v for k, v in code.items() if k != "code"}
    if "design" in values:
        values["design_name"] = _messages()[f"rating.design.{values['design']}"]
    return _messages()[f"rating.reason.{code['code']}"].format(**values)


def padlock_table() -> pd.DataFrame:
    """The EEF padlock thresholds (design, MDES, attrition) with their source."""
    return load("eef_padlocks.csv").copy()


@dataclass(frozen=True)
class EvidenceRating:
    """A WWC-style rating and an EEF-style padlock rating, with the reasons for both."""

    wwc: str
    padlocks: int
    initial_padlocks: int
    components: dict[str, int | None]
    reasons: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    reason_codes: list[dict[str, Any]] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per rated component plus the final ratings."""
        rows = [{"component": k, "padlocks": v} for k, v in self.components.items()]
        rows.append({"component": "initial (minimum)", "padlocks": self.initial_padlocks})
        rows.append({"component": "final (after downgrades)", "padlocks": self.padlocks})
        df = pd.DataFrame(rows).set_index("component")
        df.attrs["wwc"] = self.wwc
        return df

    def to_dict(self) -> dict[str, Any]:
        return {"type": "evidence_rating", "wwc": self.wwc, "padlocks": self.padlocks,
                "initial_padlocks": self.initial_padlocks, "components": dict(self.components),
                "reasons": list(self.reasons), "reason_codes": list(self.reason_codes),
                "inputs": dict(self.inputs)}

    def __repr__(self) -> str:
        comp = ", ".join(f"{k} {'-' if v is None else v}" for k, v in self.components.items())
        lines = [f"WWC: {self.wwc}",
                 f"EEF: {self.padlocks}/5 padlocks (initial {self.initial_padlocks}; {comp})",
                 "Reasons:"]
        lines += [f"  - {r}" for r in self.reasons]
        return "\n".join(lines)


def _eef_threshold_rating(value: float, column: str) -> int:
    tab = padlock_table().dropna(subset=[column]).sort_values("padlocks", ascending=False)
    for _, row in tab.iterrows():
        if value <= row[column] + 1e-12:
            return int(row["padlocks"])
    return 0


def evidence_rating(
    design: str,
    *,
    attrition: Attrition | None = None,
    overall_attrition_pct: float | None = None,
    mdes: float | None = None,
    baseline_es: float | Mapping[str, float] | None = None,
    baseline_adjusted: bool = False,
    confound: bool = False,
    threats: Iterable[str] = (),
    imbalance_threshold: float = 0.05,
) -> EvidenceRating:
    """Rate a study on the WWC scale and on the EEF 0-5 padlock scale, listing reasons.

    Parameters
    ----------
    design: one of :data:`DESIGNS` (e.g. ``"rct"``, ``"did"``, ``"rdd"``, ``"matching"``,
        ``"some_observables"``, ``"no_confounders"``, ``"none"``).
    attrition: the result of :func:`~evaltools.standards.wwc_attrition` (gives both the WWC
        low/high verdict and the overall rate for the EEF rating).
    overall_attrition_pct: overall attrition in percent, when there is no randomised
        sample to pass to ``wwc_attrition`` (e.g. a quasi-experiment's initial sample).
    mdes: minimum detectable effect size at randomisation (effect-size units).
    baseline_es: baseline difference(s) of the analytic sample in effect-size units,
        one number or a mapping characteristic -> ES; the largest |ES| counts.
    baseline_adjusted: whether the impact model adjusts for the baseline characteristics.
    confound: a component that coincides with treatment (e.g. one school per arm).
    threats: further threats to validity, each one costs a padlock (e.g. "contamination").
    imbalance_threshold: baseline |ES| above which the EEF rating loses a padlock (our
        default is the WWC 0.05 bound; EEF guidance leaves the size to the evaluator).
    """
    key = str(design).lower()
    if key not in DESIGNS:
        raise ck.InputError(
            f"Unknown design {design!r}. Use one of: {', '.join(sorted(DESIGNS))}."
        )
    category = DESIGNS[key]
    threats = [str(t) for t in threats]
    reasons: list[str] = []
    codes: list[dict[str, Any]] = []

    def note(code: str, **values: Any) -> None:
        entry = {"code": code, **values}
        reasons.append(reason_sentence(entry))
        codes.append(entry)
    tab = padlock_table().set_index("design_key")

    # -- baseline equivalence -------------------------------------------------------------
    if isinstance(baseline_es, Mapping):
        if not baseline_es:
            raise ck.InputError("'baseline_es' is an empty mapping; give at least one ES or None.")
        worst_name, worst = max(baseline_es.items(), key=lambda kv: abs(float(kv[1])))
        worst = ck.finite(f"baseline_es[{worst_name!r}]", worst)
        where = f" ({worst_name})"
    elif baseline_es is not None:
        worst, where = ck.finite("baseline_es", baseline_es), ""
    else:
        worst, where = None, ""
    status = baseline_equivalence(worst).status if worst is not None else None

    # -- attrition ------------------------------------------------------------------------
    if attrition is not None and not isinstance(attrition, Attrition):
        raise ck.InputError(
            "'attrition' must be the result of evaltools.standards.wwc_attrition(...); pass a "
            "bare overall rate as 'overall_attrition_pct'."
        )
    overall = attrition.overall if attrition is not None else (
        ck.nonnegative("overall_attrition_pct", overall_attrition_pct)
        if overall_attrition_pct is not None else None)

    # -- WWC --------------------------------------------------------------------------------
    es_vals: dict[str, Any] = (
        {"es": abs(worst), "characteristic": where.strip(" ()")} if worst is not None else {})
    if category == "none":
        wwc = DOES_NOT
        note("wwc.no_comparison")
    elif confound:
        wwc = DOES_NOT
        note("wwc.confound")
    elif category == "rct" and attrition is not None and attrition.low:
        wwc = MEETS
        note("wwc.rct_low_attrition", overall=attrition.overall, differential=attrition.differential)
    else:
        if category == "rct" and attrition is not None:
            note("wwc.rct_high_attrition", overall=attrition.overall, differential=attrition.differential)
        elif category == "rct":
            note("wwc.rct_attrition_unknown")
        else:
            note("wwc.qed")
            if key == "rdd":
                note("wwc.rdd_group_rules")
        if status is None:
            wwc = DOES_NOT
            note("wwc.baseline_missing")
        elif status == "satisfied":
            wwc = MEETS_WITH
            note("wwc.baseline_satisfied", **es_vals)
        elif status == "adjustment required" and baseline_adjusted:
            wwc = MEETS_WITH
            note("wwc.baseline_adjusted", **es_vals)
        elif status == "adjustment required":
            wwc = DOES_NOT
            note("wwc.baseline_not_adjusted", **es_vals)
        else:
            wwc = DOES_NOT
            note("wwc.baseline_not_satisfied", **es_vals)

    # -- EEF padlocks -----------------------------------------------------------------------
    design_rating = int(tab.loc[category, "padlocks"])
    note("eef.design", design=category, padlocks=design_rating)
    m = None
    if mdes is None:
        mdes_rating: int | None = 0
        note("eef.mdes_missing")  # compute it with evaltools.inference.mdes
    else:
        m = ck.positive("mdes", mdes)
        mdes_rating = _eef_threshold_rating(m, "mdes_max")
        note("eef.mdes", mdes=m, padlocks=mdes_rating)
    if overall is None:
        att_rating: int | None = 0
        note("eef.attrition_missing")
    else:
        att_rating = _eef_threshold_rating(overall, "attrition_max")
        note("eef.attrition", overall=overall, padlocks=att_rating)
    components = {"design": design_rating, "mdes": mdes_rating, "attrition": att_rating}
    initial = min(v for v in components.values() if v is not None)
    final = initial
    thr = ck.nonnegative("imbalance_threshold", imbalance_threshold)
    if worst is not None and abs(worst) > thr + 1e-12 and final > 0:
        final -= 1
        note("eef.downgrade_imbalance", threshold=thr, **es_vals)
    for threat in threats:
        text = str(threat).strip()
        if not text:
            raise ck.InputError("Each entry of 'threats' must be a non-empty description.")
        if final > 0:
            final -= 1
        note("eef.downgrade_threat", threat=text)
    if category == "none":
        final = 0
    return EvidenceRating(
        wwc=wwc, padlocks=int(final), initial_padlocks=int(initial), components=components,
        reasons=reasons, reason_codes=codes,
        inputs={"design": key, "overall_attrition_pct": overall, "mdes": m,
                "baseline_es": worst, "baseline_adjusted": baseline_adjusted,
                "confound": confound, "threats": threats},
    )
