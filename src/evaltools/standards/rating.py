"""Evidence ratings: the WWC study rating and the EEF padlock (security) rating.

WWC (Procedures and Standards Handbook v5.0, group designs): a randomised controlled trial
with low attrition (and no confound) *meets standards without reservations*; a trial with
high attrition or a quasi-experiment *meets standards with reservations* if baseline
equivalence of the analytic sample is shown (|ES| <= 0.05, or 0.05-0.25 with statistical
adjustment); otherwise, or with a confound, it *does not meet standards*.

EEF (2019, "Classifying the security of EEF findings"): 0-5 padlocks, the minimum of the
design, MDES and attrition ratings (table in ``standards/data/eef_padlocks.csv``), then one
padlock less for baseline imbalance and for each threat to validity.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import pandas as pd

from evaltools.core import inputs as ck
from evaltools.standards._data import load
from evaltools.standards.attrition import Attrition, baseline_equivalence

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

    def note(code: str, text: str, **values: Any) -> None:
        reasons.append(text)
        codes.append({"code": code, **values})
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
        note("wwc.no_comparison", "WWC: no comparison group, so no causal estimate can be rated.")
    elif confound:
        wwc = DOES_NOT
        note("wwc.confound", "WWC: a confounding factor coincides with treatment.")
    elif category == "rct" and attrition is not None and attrition.low:
        wwc = MEETS
        note("wwc.rct_low_attrition",
             f"WWC: randomised design with low attrition ({attrition.reason})",
             overall=attrition.overall, differential=attrition.differential)
    else:
        if category == "rct" and attrition is not None:
            note("wwc.rct_high_attrition",
                 f"WWC: randomised design with high attrition ({attrition.reason}); baseline "
                 "equivalence of the analytic sample must be shown.",
                 overall=attrition.overall, differential=attrition.differential)
        elif category == "rct":
            note("wwc.rct_attrition_unknown",
                 "WWC: randomised design with attrition not reported, so treated as high; "
                 "baseline equivalence of the analytic sample must be shown.")
        else:
            note("wwc.qed", "WWC: non-randomised comparison (rated as a quasi-experimental "
                 "design); baseline equivalence must be shown.")
            if key == "rdd":
                note("wwc.rdd_group_rules", "WWC: the separate regression-discontinuity "
                     "standards are not applied here; the group-design rules are.")
        if status is None:
            wwc = DOES_NOT
            note("wwc.baseline_missing",
                 "WWC: no baseline difference given, so equivalence is not shown.")
        elif status == "satisfied":
            wwc = MEETS_WITH
            note("wwc.baseline_satisfied", f"WWC: baseline equivalence satisfied "
                 f"(|ES| = {abs(worst):.3f}{where} <= 0.05).", **es_vals)
        elif status == "adjustment required" and baseline_adjusted:
            wwc = MEETS_WITH
            note("wwc.baseline_adjusted", f"WWC: baseline difference |ES| = {abs(worst):.3f}"
                 f"{where} is within 0.05-0.25 and the impact model adjusts for it.", **es_vals)
        elif status == "adjustment required":
            wwc = DOES_NOT
            note("wwc.baseline_not_adjusted", f"WWC: baseline difference |ES| = "
                 f"{abs(worst):.3f}{where} needs statistical adjustment, which the impact "
                 "model does not make.", **es_vals)
        else:
            wwc = DOES_NOT
            note("wwc.baseline_not_satisfied",
                 f"WWC: baseline difference |ES| = {abs(worst):.3f}{where} > 0.25.", **es_vals)

    # -- EEF padlocks -----------------------------------------------------------------------
    design_rating = int(tab.loc[category, "padlocks"])
    note("eef.design", f"EEF design: {tab.loc[category, 'design']} -> {design_rating}.",
         design=category, padlocks=design_rating)
    m = None
    if mdes is None:
        mdes_rating: int | None = 0
        note("eef.mdes_missing",
             "EEF MDES: not given -> 0 (compute it with evaltools.inference.mdes).")
    else:
        m = ck.positive("mdes", mdes)
        mdes_rating = _eef_threshold_rating(m, "mdes_max")
        note("eef.mdes", f"EEF MDES: {m:.2f} -> {mdes_rating}.", mdes=m, padlocks=mdes_rating)
    if overall is None:
        att_rating: int | None = 0
        note("eef.attrition_missing", "EEF attrition: not given -> 0.")
    else:
        att_rating = _eef_threshold_rating(overall, "attrition_max")
        note("eef.attrition", f"EEF attrition: {overall:.1f} % -> {att_rating}.",
             overall=overall, padlocks=att_rating)
    components = {"design": design_rating, "mdes": mdes_rating, "attrition": att_rating}
    initial = min(v for v in components.values() if v is not None)
    final = initial
    thr = ck.nonnegative("imbalance_threshold", imbalance_threshold)
    if worst is not None and abs(worst) > thr + 1e-12 and final > 0:
        final -= 1
        note("eef.downgrade_imbalance", f"EEF downgrade: baseline imbalance |ES| = "
             f"{abs(worst):.3f}{where} > {thr:g} (-1).", threshold=thr, **es_vals)
    for threat in threats:
        text = str(threat).strip()
        if not text:
            raise ck.InputError("Each entry of 'threats' must be a non-empty description.")
        if final > 0:
            final -= 1
        note("eef.downgrade_threat", f"EEF downgrade: {text} (-1).", threat=text)
    if category == "none":
        final = 0
    return EvidenceRating(
        wwc=wwc, padlocks=int(final), initial_padlocks=int(initial), components=components,
        reasons=reasons, reason_codes=codes,
        inputs={"design": key, "overall_attrition_pct": overall, "mdes": m,
                "baseline_es": worst, "baseline_adjusted": baseline_adjusted,
                "confound": confound, "threats": threats},
    )
