"""The PUMPURS study on an extract without a numeric risk score (issue 17 §1).

The real PUMPURS database may record risk by type only (``plan_risk_types``): ``risk_scores`` then
has no ``score`` column, or there is no ``risk_scores`` table. The schema allows it, the study loads
it (``OPTIONAL``), compares offered pupils at the score their plan records, offers no threshold
design, and the report says so; the roll-out is the fallback design. Also here: the study's
population is grades 5-12, so the exams (first sittings) and the costs it reads are theirs.
"""
from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from evaltools.data import load_dataset
from evaltools.studies import dropout_prevention as dropout
from tests import ROOT
from tests.studies.test_dropout_prevention import run_quick

SAMPLE = ROOT / "data" / "sample"


def _without_scores(out, *, drop_table: bool = False):
    """A copy of the shipped sample whose risk_scores has no score column (or is gone)."""
    shutil.copytree(SAMPLE, out)
    path = out / "risk_scores.parquet"
    if drop_table:
        path.unlink()
    else:
        pd.read_parquet(path).drop(columns="score").to_parquet(path, index=False)
    return out


@pytest.fixture(scope="module")
def with_scores():
    return load_dataset(SAMPLE, needs=dropout.NEEDS, optional=dropout.OPTIONAL, rows=dropout.ROWS)


@pytest.mark.parametrize("drop_table", [False, True], ids=["no score column", "no risk_scores table"])
def test_without_a_score_offered_pupils_are_compared_and_no_threshold_design_is_offered(tmp_path, with_scores,
                                                                                       drop_table):
    ds = load_dataset(_without_scores(tmp_path / "x", drop_table=drop_table), needs=dropout.NEEDS,
                      optional=dropout.OPTIONAL, rows=dropout.ROWS)
    assert ("risk_scores" in ds) is not drop_table
    data = dropout.prepare(ds)
    full = dropout.prepare(with_scores)
    assert data.notes["score_source"] == "support_plans" and full.notes["score_source"] == "risk_scores"
    assert not dropout.threshold_design_available(data) and dropout.threshold_design_available(full)
    # the analysed pupil-years are the offered ones, with the score their plan records
    p = data.pumpurs
    assert p["offered"].all() and len(p) == int(full.pumpurs["offered"].sum())
    assert np.allclose(p["s1"].to_numpy(), full.pumpurs.loc[full.pumpurs["offered"], "s1"].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dropout.headline(data, bootstrap_reps=99, seed=1)
    assert res.rd is None and res.density is None and np.isnan(res.gap)
    assert res.rollout is not None and res.itt is not None  # the fallback design
    assert res.attrition["pct"] == 0.0  # the comparison of offered pupils lacks none of them
    truth = dropout.effect_truth(ds.truth, "pumpurs_support_dropout")["realised"]["att_probability"]
    assert res.att.ci_low <= truth <= res.att.ci_high  # take-up is as good as random among the offered


def test_the_study_reads_first_exam_sittings_and_grade_5_12_costs_only(with_scores):
    data = dropout.prepare(with_scores)
    py = data.pupil_years.set_index(["pupil_id", "year"])
    ex = py.reindex(pd.MultiIndex.from_frame(data.exams[["pupil_id", "year"]]))
    assert len(ex) and not ex["repeated"].any() and ex["in_pumpurs"].all()
    m = py.reindex(pd.MultiIndex.from_frame(data.measures[["pupil_id", "year"]]))
    assert len(m) and m["grade"].between(*dropout.GRADES).all()


def test_a_sample_without_the_score_column_runs_end_to_end_and_says_so(tmp_path):
    run, manifest = run_quick(tmp_path, f"data_dir={_without_scores(tmp_path / 'extract')}")
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "so the threshold (discontinuity) design is not offered" in html
    assert "the risk-adjusted comparison covers these pupils only" in html
    assert "threshold_design" in json.dumps(manifest)  # the design change is recorded, not only shown
