"""WWC attrition boundaries, baseline equivalence and the evidence ratings."""
from __future__ import annotations

import math

import pytest

from evaltools.standards import (
    InputError,
    attrition_boundaries,
    baseline_equivalence,
    baseline_equivalence_table,
    evidence_rating,
    max_differential,
    wwc_attrition,
)
from evaltools.standards.rating import DOES_NOT, MEETS, MEETS_WITH

# WWC Standards Handbook v4.1, Table II.1, cautious boundary: highest differential
# attrition (percentage points) for low attrition at overall attrition 0, 1, ..., 57 %.
CAUTIOUS = [5.7, 5.8, 5.9, 5.9, 6.0, 6.1, 6.2, 6.3, 6.3, 6.3, 6.3, 6.2, 6.2, 6.1, 6.0,
            5.9, 5.9, 5.8, 5.7, 5.5, 5.4, 5.3, 5.2, 5.1, 4.9, 4.8, 4.7, 4.5, 4.4, 4.3,
            4.1, 4.0, 3.8, 3.6, 3.5, 3.3, 3.2, 3.1, 2.9, 2.8, 2.6, 2.5, 2.3, 2.1, 2.0,
            1.8, 1.6, 1.5, 1.3, 1.2, 1.0, 0.9, 0.7, 0.6, 0.4, 0.3, 0.2, 0.0]


def _counts(overall: float, differential: float, per_arm: int = 10_000):
    """Randomised and analysed counts with exactly these rates (treatment loses more)."""
    lost_t = round(per_arm * (overall + differential / 2) / 100)
    lost_c = round(per_arm * (overall - differential / 2) / 100)
    return per_arm, per_arm, per_arm - lost_t, per_arm - lost_c


@pytest.mark.parametrize("overall, limit", list(enumerate(CAUTIOUS)))
def test_every_row_of_the_cautious_table(overall, limit):
    assert max_differential(overall, "cautious") == pytest.approx(limit)
    if overall - limit / 2 - 0.05 < 0:
        return  # the comparison group cannot lose a negative share: row checked above
    at_limit = wwc_attrition(*_counts(overall, limit), boundary="cautious")
    assert at_limit.overall == pytest.approx(overall)
    assert at_limit.differential == pytest.approx(limit)
    assert at_limit.level == "low"
    over = wwc_attrition(*_counts(overall, limit + 0.1), boundary="cautious")
    assert over.level == "high"


def test_shipped_table_has_both_boundaries_in_full():
    tab = attrition_boundaries()
    assert list(tab["overall"]) == list(range(66))
    assert tab["cautious"].iloc[:58].tolist() == pytest.approx(CAUTIOUS)
    assert tab["cautious"].iloc[58:].isna().all()
    assert tab["optimistic"].notna().all()
    # the optimistic boundary is looser than the cautious one in every row
    both = tab.dropna()
    assert (both["optimistic"] > both["cautious"]).all()


def test_beyond_the_table_is_high_attrition():
    r = wwc_attrition(*_counts(58, 0.0), boundary="cautious")
    assert r.level == "high" and math.isnan(r.max_differential)
    assert wwc_attrition(*_counts(58, 0.0), boundary="optimistic").level == "low"
    assert wwc_attrition(*_counts(66, 0.0), boundary="optimistic").level == "high"


def test_non_integer_overall_rate_maps_conservatively():
    # 7.5 % lies between rows 7 (6.3) and 8 (6.3) in the cautious table: same limit;
    # 18.5 % lies between rows 18 (5.7) and 19 (5.5): the conservative rule takes 5.5.
    assert max_differential(18.5, "cautious") == pytest.approx(5.5)
    assert max_differential(18.5, "cautious", rounding="nearest") == pytest.approx(5.5)
    assert max_differential(18.4, "cautious", rounding="nearest") == pytest.approx(5.7)
    assert max_differential(0.3, "cautious") == pytest.approx(5.7)  # rows 0 and 1


def test_attrition_rates_and_repr():
    r = wwc_attrition(200, 180, 150, 160)
    assert r.attrition_t == pytest.approx(25.0)
    assert r.attrition_c == pytest.approx(100 * 20 / 180)
    assert r.overall == pytest.approx(100 * 70 / 380)
    assert r.differential == pytest.approx(abs(25.0 - 100 * 20 / 180))
    text = repr(r)
    assert "WWC attrition" in text and "overall" in text
    assert r.to_frame().loc[0, "attrition"] == r.level


@pytest.mark.parametrize(
    "args, message",
    [((100, 100, 101, 90), "n_analysed_t=101 exceeds"),
     ((100, 100, 90, 120), "n_analysed_c=120 exceeds"),
     ((0, 100, 0, 90), "n_randomised_t"),
     ((100.5, 100, 90, 90), "whole number")],
)
def test_attrition_bad_counts(args, message):
    with pytest.raises(InputError, match=message):
        wwc_attrition(*args)


def test_unknown_boundary():
    with pytest.raises(InputError, match="cautious"):
        wwc_attrition(100, 100, 90, 90, boundary="liberal")


@pytest.mark.parametrize(
    "es, status",
    [(0.0, "satisfied"), (0.05, "satisfied"), (-0.05, "satisfied"),
     (0.0500001, "adjustment required"), (0.25, "adjustment required"),
     (-0.2, "adjustment required"), (0.2500001, "not satisfied"), (-1.0, "not satisfied")],
)
def test_baseline_equivalence_thresholds(es, status):
    # WWC Standards Handbook: <= 0.05 satisfied, 0.05-0.25 needs adjustment, > 0.25 not.
    assert baseline_equivalence(es).status == status


def test_baseline_table():
    t = baseline_equivalence_table({"pretest": 0.02, "age": 0.1, "sen": 0.3})
    assert t["status"].tolist() == ["satisfied", "adjustment required", "not satisfied"]


def test_rct_low_attrition_meets_without_reservations_and_five_padlocks():
    att = wwc_attrition(500, 500, 470, 465)
    r = evidence_rating("rct", attrition=att, mdes=0.18, baseline_es=0.01)
    assert r.wwc == MEETS
    assert r.padlocks == 5 and r.initial_padlocks == 5
    assert r.reason_codes[0]["code"] == "wwc.rct_low_attrition"
    assert r.reasons[0].startswith(f"Participants were assigned at random and few left the study ({att.overall:.1f}% in all")


def test_high_attrition_rct_needs_baseline_equivalence():
    att = wwc_attrition(500, 500, 300, 400)
    assert att.level == "high"
    ok = evidence_rating("rct", attrition=att, mdes=0.2, baseline_es=0.04)
    assert ok.wwc == MEETS_WITH
    adj = evidence_rating("rct", attrition=att, mdes=0.2, baseline_es=0.1, baseline_adjusted=True)
    assert adj.wwc == MEETS_WITH
    unadj = evidence_rating("rct", attrition=att, mdes=0.2, baseline_es=0.1)
    assert unadj.wwc == DOES_NOT
    none = evidence_rating("rct", attrition=att, mdes=0.2)
    assert none.wwc == DOES_NOT
    # overall attrition 30 % caps the EEF rating at 3 padlocks
    assert ok.components["attrition"] == 3 and ok.padlocks == 3


def test_qed_and_confound():
    r = evidence_rating("did", overall_attrition_pct=5, mdes=0.15,
                        baseline_es={"pretest": 0.3, "age": 0.0})
    assert r.wwc == DOES_NOT
    assert r.components["design"] == 4
    assert any(c.get("characteristic") == "pretest" for c in r.reason_codes)  # the code keeps the name
    assert any("differed by 0.300 standard deviations, more than the 0.25" in s for s in r.reasons)
    c = evidence_rating("rct", attrition=wwc_attrition(100, 100, 99, 99), mdes=0.1,
                        confound=True)
    assert c.wwc == DOES_NOT


def test_padlocks_are_minimum_then_downgrades():
    r = evidence_rating("matching", overall_attrition_pct=15, mdes=0.45, baseline_es=0.1,
                        baseline_adjusted=True, threats=["contamination", "developer-made test"])
    assert r.components == {"design": 3, "mdes": 2, "attrition": 4}
    assert r.initial_padlocks == 2
    assert r.padlocks == 0  # -1 imbalance, -1 contamination, floor at 0
    assert sum(s.startswith("One padlock less") for s in r.reasons) == 3
    assert "padlocks" in repr(r) and r.to_frame().loc["final (after downgrades)", "padlocks"] == 0


def test_missing_mdes_or_attrition_rate_zero_with_reason():
    r = evidence_rating("rct", baseline_es=0.0)
    assert r.padlocks == 0
    assert any("smallest effect the study could detect is not given" in s for s in r.reasons)
    assert any("how many left the study is not reported" in s for s in r.reasons)


def test_bad_rating_input():
    with pytest.raises(InputError, match="Unknown design"):
        evidence_rating("quasi")
    with pytest.raises(InputError, match="wwc_attrition"):
        evidence_rating("rct", attrition=12.0)  # type: ignore[arg-type]


def test_reason_codes_parallel_the_reasons_for_translation():
    att = wwc_attrition(500, 500, 300, 400)
    r = evidence_rating("rct", attrition=att, mdes=0.3, baseline_es={"pretest": 0.1},
                        baseline_adjusted=True, threats=["contamination"])
    codes = [c["code"] for c in r.reason_codes]
    assert len(codes) == len(r.reasons)
    assert codes == ["wwc.rct_high_attrition", "wwc.baseline_adjusted", "eef.design", "eef.mdes",
                     "eef.attrition", "eef.downgrade_imbalance", "eef.downgrade_threat"]
    adj = r.reason_codes[1]
    assert adj["characteristic"] == "pretest" and adj["es"] == pytest.approx(0.1)
    assert r.to_dict()["reason_codes"][-1]["threat"] == "contamination"
