"""Evidence standards: effect sizes (Hedges' g, Cox index), improvement index, months
of progress, attrition and baseline-equivalence rules, evidence ratings (WWC, EEF), the EEF
cost rating."""

from evaltools.core.errors import InputError
from evaltools.standards.attrition import (
    Attrition,
    BaselineEquivalence,
    attrition_boundaries,
    baseline_equivalence,
    baseline_equivalence_table,
    max_differential,
    wwc_attrition,
)
from evaltools.standards.effect_size import EffectSize, cox_index, hedges_g, improvement_index
from evaltools.standards.cost_rating import CostRating, cost_bands, eef_cost_rating
from evaltools.standards.months import months_progress, months_table
from evaltools.standards.rating import EvidenceRating, evidence_rating, padlock_table

__all__ = [
    "InputError", "EffectSize", "hedges_g", "cox_index", "improvement_index",
    "months_progress", "months_table", "Attrition", "wwc_attrition", "max_differential",
    "attrition_boundaries", "BaselineEquivalence", "baseline_equivalence",
    "baseline_equivalence_table", "EvidenceRating", "evidence_rating", "padlock_table",
    "CostRating", "cost_bands", "eef_cost_rating",
]
