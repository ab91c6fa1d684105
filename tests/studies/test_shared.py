"""The pieces several studies share (evaltools.studies.shared, report.components, report.funnels):
moved out of municipal_quality, every old name still importable and the very same object; the
groups of linked tables. No kernel, no data files."""
import importlib

import pandas as pd
import pytest

from evaltools.report.components import components
from evaltools.report.disclosure import Link, same
from evaltools.studies.shared import levels


@pytest.mark.parametrize("old, new", [
    ("evaltools.studies.municipal_quality.chapters:_by_level_year", "evaltools.studies.shared.levels:by_level_year"),
    ("evaltools.studies.municipal_quality.chapters:_scores_by_subject", "evaltools.studies.shared.levels:scores_by_subject"),
    ("evaltools.studies.municipal_quality.chapters:Levels", "evaltools.studies.shared.levels:Levels"),
    ("evaltools.studies.municipal_quality.chapters:years_without", "evaltools.studies.shared.levels:years_without"),
    ("evaltools.studies.municipal_quality.chapters:soma", "evaltools.studies.shared.soma:soma"),
    ("evaltools.studies.municipal_quality.chapters:soma_by_school", "evaltools.studies.shared.soma:soma_by_school"),
    ("evaltools.studies.municipal_quality.publish:_components", "evaltools.report.components:components"),
    ("evaltools.studies.municipal_quality.figures:funnel_figure", "evaltools.report.funnels:funnel_figure"),
    ("evaltools.studies.municipal_quality.frames:pupil_base", "evaltools.studies.shared.frames:pupil_base"),
    ("evaltools.studies.municipal_quality.frames:school_labels", "evaltools.studies.shared.frames:school_labels"),
    ("evaltools.studies.municipal_quality.indicators:school_labels", "evaltools.studies.shared.frames:school_labels"),
])
def test_old_names_are_the_shared_objects(old, new):
    def get(spec):
        module, name = spec.split(":")
        return getattr(importlib.import_module(module), name)

    assert get(old) is get(new)


def test_tables_no_link_connects_are_separate_groups_each_with_its_links():
    specs = {"a": {}, "b": {}, "c": {}, "d": {}}
    ab = same(("a", "r", "x"), ("b", "r", "x"))
    cd = Link(("c", "total", "n"), [("d", 1, "n"), ("d", 2, "n")])
    groups = components(specs, [ab, cd])
    assert [sorted(names) for names, _ in groups] == [["a", "b"], ["c", "d"]]
    assert [links for _, links in groups] == [[ab], [cd]]
    assert [names for names, _ in components(specs, [])] == [["a"], ["b"], ["c"], ["d"]]


def test_by_levels_takes_the_levels_after_the_area_from_the_precomputed_rows():
    frame = pd.DataFrame({"school_id": ["s1", "s2", "s3", "s1"], "year": [2020, 2020, 2021, 2021], "v": [1, 2, 3, 4]})
    lv = levels.Levels((("Area", frozenset({"s1"})), ("Latvija", frozenset({"s1", "s2", "s3"}))), (2020, 2021),
                       ("area", "latvia"))

    def raw(_data, lv_):
        return levels.by_level_year(frame, lv_, lambda f: {"n": len(f), "sum": int(f["v"].sum())}, ["n", "sum"])

    class Stored:  # what National.level_rows gives: the other levels' rows, labelled as lv labels them
        def level_rows(self, name, lv_):
            assert name == "t" and lv_.labels[1:] == ["Latvija"]
            return pd.DataFrame({"n": [9, 9], "sum": [0, 0]},
                                index=pd.MultiIndex.from_tuples([("Latvija", 2020), ("Latvija", 2021)], names=["area", "year"]))

    whole = levels.by_levels(None, lv, "t", raw)
    assert whole.loc[("Latvija", 2021), "sum"] == 7 and whole.loc[("Area", 2021), "sum"] == 4
    mixed = levels.by_levels(None, lv, "t", raw, Stored())
    pd.testing.assert_frame_equal(mixed.loc[["Area"]], whole.loc[["Area"]])
    assert list(mixed.loc["Latvija", "n"]) == [9, 9]  # the stored rows, not recomputed
