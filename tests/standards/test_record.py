"""Every result object of evaltools.standards / evaltools.inference can be recorded."""
from __future__ import annotations

import json

import numpy as np
import pytest

from evaltools import inference as inf
from evaltools import standards as std
from evaltools.report.record import to_jsonable


def _results():
    rng = np.random.default_rng(0)
    att = std.wwc_attrition(100, 100, 90, 85)
    return {
        "hedges_g": std.hedges_g([5, 6, 7], [4, 5, 6]),
        "cox": std.cox_index(p_t=0.3, p_c=0.2, n_t=100, n_c=100),
        "attrition": att,
        "baseline": std.baseline_equivalence(0.1),
        "rating": std.evidence_rating("rct", attrition=att, mdes=0.2, baseline_es=0.02),
        "mdes": inf.mdes("cluster2", n_clusters=30, cluster_size=20, icc=0.2),
        "bh": inf.benjamini_hochberg([0.01, 0.2]),
        "rw": inf.romano_wolf([2.0, 0.5], rng.standard_normal((199, 2))),
        "wwc_cluster": inf.wwc_cluster_correction(2.2, n_total=200, n_clusters=10),
        "e_value": inf.e_value(2.0, 1.2, 3.1),
        "cost_pupil": inf.cost_per_pupil(1000, 10),
        "cost_outcome_unbounded": inf.cost_per_outcome(1000, 0.02, 0.02, 100),
    }


@pytest.mark.parametrize("name", list(_results()))
def test_result_is_recordable_and_printable(name):
    obj = _results()[name]
    data = to_jsonable(obj, where=name)
    text = json.dumps(data, allow_nan=False)
    assert data["type"] and len(text) > 20
    assert len(repr(obj)) > 20
    assert hasattr(obj, "to_frame") and len(obj.to_frame()) >= 1


def test_unbounded_cost_keeps_its_meaning_in_json():
    data = to_jsonable(_results()["cost_outcome_unbounded"])
    assert data["bounded"] is False
    assert data["estimate"]["ci_high"] is None  # infinity becomes null; 'bounded' says why
