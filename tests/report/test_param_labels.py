"""Every parameter of every shipped study has a label in both report languages, so that the
report header never shows a raw key such as ``cost_per_school`` (i18n.param_label)."""
from __future__ import annotations

from pathlib import Path

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
