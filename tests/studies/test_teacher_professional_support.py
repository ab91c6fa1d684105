"""The teacher professional-support study on a generated data set: the scaffold's checks (verbs,
catalogue keys of the notebook, titles, parameter labels) and the truth check (every headline CI
covers the stored truth of ``true_effects.json``).

The data folder is ``data/sample`` unless the environment variable ``TPS_DATA_DIR`` names another
(e.g. ``TPS_DATA_DIR=/tmp/tps_sample``: a sample of the current generator before data/sample is
regenerated). One ``headline`` run per module (no kernel).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from evaltools.data import load_dataset
from evaltools.data.demo import effect_truth, synthetic_truth
from evaltools.report import i18n
from evaltools.studies import teacher_professional_support as study
from tests import ROOT

NOTEBOOK = ROOT / "notebooks" / "teacher_professional_support.ipynb"
DATA_DIR = Path(os.environ.get("TPS_DATA_DIR") or ROOT / "data" / "sample")


def _keys_in_notebook() -> set[str]:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return set(re.findall(r"""t\(\s*["'](tps\.[a-z0-9_.]+)["']""", text)) | set(
        re.findall(r"""both\(\s*["'](tps\.[a-z0-9_.]+)["']""", text))


def test_every_literal_key_of_the_notebook_is_in_the_catalogue_in_both_languages():
    keys = _keys_in_notebook()
    assert len(keys) > 30
    catalogue = i18n.catalogue()
    for key in keys:
        assert key in catalogue, key
        assert catalogue[key].get("lv") and catalogue[key].get("en"), key


def test_the_catalogue_keys_have_the_study_prefix_and_both_languages():
    import yaml

    raw = yaml.safe_load((ROOT / "src/evaltools/studies/teacher_professional_support/messages.yaml")
                         .read_text(encoding="utf-8"))
    assert raw and all(k.startswith("tps.") for k in raw)
    assert all(set(v) == {"lv", "en"} and v["lv"] != v["en"] for v in raw.values()), \
        [k for k, v in raw.items() if set(v) != {"lv", "en"} or v["lv"] == v["en"]]


def test_the_notebook_is_titled_and_its_outputs_are_empty():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    meta = nb.metadata["evaltools"]
    assert {"lv", "en"} <= set(meta["title"]) and {"lv", "en"} <= set(meta["programme"])
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)


@pytest.fixture(scope="module")
def run():
    if not (DATA_DIR / "methodologist_support.parquet").is_file():
        pytest.skip(f"{DATA_DIR} has no teacher professional-support tables (methodologist_support, ...): "
                    "regenerate it with the current generator, or set TPS_DATA_DIR to such a sample")
    ds = load_dataset(DATA_DIR, needs=study.needs_for(DATA_DIR), rows=study.ROWS)
    truth = synthetic_truth(ds)
    data = study.prepare(ds)
    res = study.headline(data, truth=truth, bootstrap_reps=199, wild_reps=999, seed=1)
    return ds, truth, data, res


def test_every_headline_quantity_recovers_its_stored_truth(run):
    _, truth, _, res = run
    check = res.check.set_index("quantity")
    for q in study.truth.HEADLINE:
        assert effect_truth(truth, study.NAMES[q]) is not None, f"{q}: no stored truth {study.NAMES[q]!r}"
        assert q in check.index, f"{q} was not estimated"
    head = check.loc[list(study.truth.HEADLINE)]
    assert head["covered"].all(), head[["estimate", "ci_low", "ci_high", "truth"]]
    assert check.loc["per_10_hours", "naive_as_stored"], "the naive dose slope should be biased upward"


def test_the_rollout_design_checks_are_computed(run):
    _, _, data, res = run
    assert res.observation.n["clusters"] == data.support["municipality_id"].nunique()
    assert 0 <= res.observation.pretrend.pvalue <= 1
    assert res.wild is not None and res.wild.estimate.n["clusters"] == res.observation.n["clusters"]
    assert "relative_magnitude" in res.honest, res.honest
    ev = study.event_frame(res.observation, data.observations)
    assert (ev["event_time"] < 0).any() and (ev["event_time"] >= 0).any()
    assert res.rating is not None


def test_the_key_families_the_notebook_builds_are_in_the_catalogue():
    catalogue = i18n.catalogue()
    families = {
        "tps.by.": study.SUBGROUPS,
        "tps.quantity.": tuple(study.NAMES),
        "tps.component.": ("methodologists", "development_hours"),
        "tps.design.": ("cs_teacher", "cs_municipality", "twfe_wild", "multilevel", "three_level", "naive",
                        "engagement", "lagged", "teacher_fe"),
        "tps.outcome.": ("observation", "retention", "pupil_results", "dose"),
        "tps.col.": ("estimate", "ci_low", "ci_high", "teachers", "group", "p_bh", "event_time", "mbar", "type",
                     "teachers_before", "hours_before", "teachers_after", "hours_after", "with_methodologist",
                     "component", "cost", "quantity", "truth", "naive", "design", "outcome"),
    }
    text = NOTEBOOK.read_text(encoding="utf-8")
    for prefix, codes in families.items():
        assert prefix in text, prefix
        missing = [prefix + c for c in codes if prefix + c not in catalogue]
        assert not missing, missing
