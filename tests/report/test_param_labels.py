"""Every shipped study names itself and its parameters in both report languages: a title and a
programme in the notebook's metadata (the report's heading and the index card, never the bare
study name such as ``skolas_soma``), and a label for every parameter, so that the report header
never shows a raw key such as ``cost_per_school`` (i18n.param_label)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from evaltools.report import i18n
from evaltools.run.parameters import read_parameters
from tests import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_parameter_has_a_label_in_both_languages(notebook: Path):
    names = [spec.name for spec in read_parameters(notebook)]
    assert names, f"{notebook.name} has no parameters cell"
    missing = [n for n in names if not i18n.has(f"param.name.{n}")]
    assert not missing, (f"{notebook.name}: parameters without a label (add param.name.<key> in lv and en to "
                         f"evaltools/report/messages.yaml): {missing}")
    for name in names:
        lv, en = (i18n.param_label(name, lang) for lang in ("lv", "en"))
        assert lv and en and lv != name and en != name, name


def test_a_key_without_a_label_reads_as_words():
    assert i18n.param_label("no_such_parameter_here", "en") == "no such parameter here"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_study_has_a_title_and_a_programme_in_both_languages(notebook: Path):
    meta = nbformat.read(notebook, as_version=4).metadata.get("evaltools") or {}
    for field in ("title", "programme"):
        texts = meta.get(field) or {}
        assert set(texts) >= {"lv", "en"} and all(str(texts[k]).strip() for k in ("lv", "en")), (
            f"{notebook.name}: metadata evaltools.{field} needs a text in lv and en (the report's heading)")
        assert notebook.stem not in texts["lv"] and texts["lv"] != texts["en"], field
