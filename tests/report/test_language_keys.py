"""results.json keys do not change with the report's language: code-named columns AND index
names are stored, the labels only shown (display, CSV/Excel/LaTeX exports, HTML)."""
import json

import numpy as np
import pandas as pd
import pytest

from evaltools.report import i18n
from evaltools.report.disclosure import protect
from evaltools.report.record import to_jsonable
from evaltools.report.tables import _export_frame, balance_table, latex_table


def _table(language):
    frame = pd.DataFrame({"outcome": ["a", "b"], "effect": [1.5, -0.25], "pupils": [120, 80]}).set_index("outcome")
    labels = {"outcome": {"lv": "Rādītājs", "en": "Outcome"}[language],
              "effect": {"lv": "Efekts", "en": "Effect"}[language],
              "pupils": {"lv": "Skolēni", "en": "Pupils"}[language]}
    return protect(frame, counts=["pupils"], denominators={"effect": "pupils"}, total_row=None, total_col=None,
                   labels=labels, language=language, threshold=10)


def _stored(table):
    return json.loads(json.dumps(to_jsonable(table, "t")))


def test_index_names_are_codes_in_results_json_and_labels_on_display():
    lv, en = _table("lv"), _table("en")
    assert _stored(lv)["columns"] == _stored(en)["columns"] == ["outcome", "effect", "pupils"]
    assert lv.display_frame().index.name == "Rādītājs" and en.display_frame().index.name == "Outcome"
    assert list(lv.display_frame().columns) == ["Efekts", "Skolēni"]
    assert _export_frame(lv).index.name == "Rādītājs"  # CSV/Excel headers are the labels
    assert "Rādītājs" in latex_table(lv) and "outcome" not in latex_table(lv)
    assert "Rādītājs" in lv._repr_html_() and ">outcome<" not in lv._repr_html_()


def test_the_balance_table_stores_the_same_keys_in_both_languages():
    from evaltools.estimate import balance_table as balance

    rng = np.random.default_rng(1)
    d = pd.DataFrame({"t": np.repeat([0, 1], 60), "x": rng.normal(0, 1, 120)})
    result = balance(d, "t", ["x"])
    lv, en = (balance_table(result, language=lang) for lang in ("lv", "en"))
    assert _stored(lv)["columns"] == _stored(en)["columns"] and _stored(lv)["columns"][0] == "variable"
    assert lv.display_frame().index.name == i18n.text("balance.variable", "lv") != en.display_frame().index.name


@pytest.mark.parametrize("language", ["lv", "en"])
def test_labels_for_index_levels_of_a_multiindex(language):
    idx = pd.MultiIndex.from_tuples([("x", 1), ("x", 2)], names=["arm", "grade"])
    frame = pd.DataFrame({"n": [20, 30]}, index=idx)
    label = {"lv": "Klase", "en": "Grade"}[language]
    table = protect(frame, counts=["n"], total_row=None, total_col=None, labels={"grade": label}, language=language)
    assert table.display_frame().index.names == ["arm", label]
    assert _stored(table)["columns"] == ["arm", "grade", "n"]
