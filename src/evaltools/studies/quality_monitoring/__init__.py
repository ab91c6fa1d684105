"""The national quality-monitoring report (ESF 4.2.2.4, ``notebooks/quality_monitoring.ipynb``).

The monitoring system assesses pupils in pre-school and grades 3 and 6 (numeracy, literacy,
science) and surveys pupils' and teachers' wellbeing every year. One yearly report, for Latvia,
one municipality or one school (:mod:`.scope`):

- pre-school results by municipality and year, with gaps, when the extract has them (:mod:`.preschool`);
- results by subject and grade with trends, gaps between groups with intervals (:mod:`.results`);
- progress of the same pupils from grade 3 to grade 6 (:mod:`.progress`);
- wellbeing with response rates and non-response weighting (:mod:`.wellbeing`);
- municipalities and schools compared with funnel limits and shrunken means (:mod:`.compare`);
- a dashboard export per school and municipality with a data dictionary (:mod:`.dashboard`).

A descriptive study: it estimates no programme effect, so it offers :func:`prepare` and
:func:`headline` only (no ``subgroups``, ``costs`` or ``truth_check``; no verdict). Every
published table is protected in one system (:func:`headline`). Texts: ``messages.yaml``
(``quality_monitoring.*``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evaltools.data.io import Dataset
from evaltools.data.schemas import GENERAL_SCHOOL_TYPES
from evaltools.studies.quality_monitoring import bands, compare, dashboard, preschool, progress, results, wellbeing
from evaltools.studies.quality_monitoring.scope import Scope, UnknownSchoolError, select_scope

__all__ = ["prepare", "headline", "Headline", "Scope", "UnknownSchoolError", "NEEDS", "ROWS", "OPTIONAL",
           "bands", "compare", "dashboard", "preschool", "progress", "results", "wellbeing"]

#: What the study reads (``load_dataset(data_dir, needs=NEEDS, rows=ROWS, optional=OPTIONAL)``).
NEEDS: dict[str, list[str] | None] = {
    "municipalities": None, "schools": None,
    "pupils": ["pupil_id", "sex", "language", "special_needs", "ses_index"],
    "pupil_years": ["pupil_id", "year", "school_id", "grade", "status"],
    "assessments": ["pupil_id", "year", "test", "subject", "score"],
    "teacher_years": ["teacher_id", "year", "school_id"], "teachers": ["teacher_id", "sex"],
    "wellbeing_pupils": None, "wellbeing_teachers": None,
}
#: The monitoring tests only (not the classroom grades or the exams), in general-education schools
#: (the 4.2.2.4 monitoring does not cover vocational schools).
ROWS: dict[str, dict[str, list[str]]] = {"assessments": {"test": list(results.DIAGNOSTICS)},
                                         "schools": {"type": list(GENERAL_SCHOOL_TYPES)}}
#: Read when the extract has a file for it: the pre-school assessment (:mod:`.preschool`).
OPTIONAL: dict[str, list[str] | None] = dict(preschool.OPTIONAL)


def prepare(data: Dataset, *, municipality: str = "all", school: str = "all", year: int) -> Scope:
    """The report's scope: Latvia, a municipality or a school, and the report year
    (:func:`.scope.select_scope`; an unknown name is a clear error with the closest names)."""
    return select_scope(data, municipality, school, year)


@dataclass(frozen=True)
class Headline:
    """Every protected table of the report by the name it is recorded under, and what the
    notebook needs to say about them (tests in the extract, funnel references, notes)."""

    tables: dict[str, Any]
    tests: list[str]
    funnel: dict[str, dict[str, float]]
    levels: list[str]
    notes: dict[str, Any] = field(default_factory=dict)


def _spec(data: pd.DataFrame, counts: list[str], denominators: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"data": data, "counts": counts, "denominators": denominators, "total_row": None, "total_col": None, **more}


def headline(data: Dataset, scope: Scope, *, total_label: str, latvia_label: str, threshold: int | None = None,
             caption: Callable[[str], str] | None = None, language: str | None = None,
             labels: Callable[[str], str] | None = None, row_labels: Callable[[str], str] | None = None) -> Headline:
    """Every number the report shows, protected together (one call).

    Tables (recorded under these names): ``results_preschool`` and ``preschool_gaps`` (children
    assessed and mean numeracy and literacy by area and year, and the gaps of the latest assessed
    year: only when the extract has pre-school results), ``results_<test>`` (pupils tested and mean
    score by subject, by area and year), ``gaps`` (report year, by area, test and dimension),
    ``progress`` and ``progress_gaps`` (linked pupils), ``wellbeing_by_year`` and
    ``wellbeing_weighting``, ``comparison_<test>`` (units of the scope) and the two dashboard
    tables. Links: the same count in two tables (the report year's pupils tested, surveyed and
    respondents) and the units' counts adding up to their area's, so no hidden count can be worked
    back from another table. ``caption(name)`` titles each table; ``labels(column)`` names the
    columns and index levels of the report's tables (not the dashboard's, which keep the
    dictionary's names) and ``row_labels(code)`` the rows named by a code (test, group dimension,
    surveyed population).
    """
    from evaltools.report.components import components
    from evaltools.report.disclosure import Link, protect_linked, same
    from evaltools.studies.municipal_quality import chapters
    from evaltools.studies.municipal_quality.publish import wellbeing_spec

    tests = results.tests_in(data)
    lv = results.levels(data, scope, total_label=total_label, latvia_label=latvia_label)
    own = lv.rows[0]
    specs: dict[str, dict[str, Any]] = {}
    links: list[Any] = []
    notes: dict[str, Any] = {"missing_years": {}, "preschool_year": None}
    row = row_labels or (lambda code: code)
    if preschool.available(data):
        specs.update(_preschool_specs(data, scope, lv.labels[-1], row, notes, links))
    for test in tests:
        t = results.by_subject(data, lv, test)
        specs[f"results_{test}"] = _spec(t, ["pupils"], {s: "pupils" for s in results.SUBJECTS[test]})
        notes["missing_years"][test] = chapters.years_without(t, "pupils", lv.labels[-1])
    diag = [t for t in tests if t in results.DIAGNOSTICS]
    gaps = results.gaps(data, scope, latvia_label=lv.labels[-1], tests=tuple(diag))
    gaps = gaps.rename(index=row, level="test").rename(index=row, level="dimension")
    specs["gaps"] = _spec(gaps, ["n_a", "n_b"], {"mean_a": "n_a", "mean_b": "n_b",
                                                 **{c: ("n_a", "n_b") for c in ("gap", "ci_low", "ci_high")}})
    # progress of linked pupils: the scope's first level and Latvia, over the trend years
    q = progress.ses_quarters(data)
    rows, gap_parts = {}, {}
    for label, schools in dict.fromkeys([own, lv.rows[-1]]):
        f = progress.linked(data, schools, scope.years)
        tested = int(specs["results_diag6"]["data"].xs(label, level="area")["pupils"].sum()) if "diag6" in tests else 0
        line = {"tested6": tested, "linked": len(f), "score3": f["score3"].mean(), "score6": f["score6"].mean(),
               "slope": float("nan"), "slope_low": float("nan"), "slope_high": float("nan")}
        if len(f) >= 3 and f["school_id"].nunique() >= 2:
            e = progress.slope(f)
            line.update(slope=e.estimate, slope_low=e.ci_low, slope_high=e.ci_high)
        rows[label] = line
        gap_parts[label] = progress.progress_gaps(f, q).rename(index=row)
    prog = pd.DataFrame.from_dict(rows, orient="index").astype({"tested6": "int64", "linked": "int64"})
    prog.insert(2, "linked_pct", 100 * prog["linked"] / prog["tested6"].where(prog["tested6"] > 0))
    prog.index.name = "area"
    specs["progress"] = _spec(prog, ["tested6", "linked"],
                              {"linked_pct": "tested6",
                               **{c: "linked" for c in ("score3", "score6", "slope", "slope_low", "slope_high")}},
                              numerators={"linked_pct": "linked"})
    specs["progress_gaps"] = _spec(pd.concat(gap_parts, names=["area", "dimension"]), ["n_a", "n_b"],
                                   {c: ("n_a", "n_b") for c in progress.COLUMNS[2:]})
    if "diag6" in tests:
        for label in rows:
            links.append(Link(("progress", label, "tested6"),
                              [("results_diag6", (label, y), "pupils") for y in scope.years]))
    # wellbeing: by year (the municipal chapter) and the report year's weighting
    wb = chapters.wellbeing(data, lv)
    specs["wellbeing_by_year"] = wellbeing_spec(wb)  # protected as the municipal report protects it
    notes["wellbeing_missing"] = chapters.years_without(wb, "respondents", lv.labels[-1])
    wt = wellbeing.weighting_table(data, scope.year, lv.rows).rename(index=row, level="population")
    values = [c for c in wellbeing.COLUMNS if c not in ("eligible", "respondents", "response_pct")]
    specs["wellbeing_weighting"] = _spec(wt, ["eligible", "respondents"],
                                         {"response_pct": "eligible", **{c: "respondents" for c in values}},
                                         numerators={"response_pct": "respondents"})
    pairs = (("pupils", "pupil_years_4_12", "respondents"), ("teachers", "teacher_years", "teacher_respondents"))
    for label in lv.labels:
        for who, eligible, resp in pairs:
            for mine, theirs in (("eligible", eligible), ("respondents", resp)):
                if int(wt.at[(label, row(who)), mine]) == int(wb.at[(label, scope.year), theirs]):
                    links.append(same(("wellbeing_weighting", (label, row(who)), mine),
                                      ("wellbeing_by_year", (label, scope.year), theirs)))
    # municipalities or schools compared
    funnel = {}
    for test in diag:
        cmp_table, ref = compare.comparison(data, scope, test)
        specs[f"comparison_{test}"] = _spec(cmp_table, ["n"], {c: "n" for c in compare.COLUMNS[1:]},
                                            digits={"funnel": 0, "shrinkage": 2})
        funnel[test] = ref
    # the dashboard
    if scope.level == "latvia":
        dash_schools = frozenset(data["schools"]["school_id"])
    else:  # a municipality's report, or a school's: the municipality's schools and the municipality
        dash_schools = lv.rows[-2][1]
    by_school, by_muni = dashboard.frames(data, scope.year, dash_schools, tests,
                                         total_label=lv.labels[-1] if scope.level == "latvia" else None)
    dash_specs, dash_links = dashboard.specs(by_school, by_muni, tests, complete=True)
    if scope.level != "latvia":  # one municipality: protected with the rest, its row the same count as the trends'
        specs.update(dash_specs)
        links += dash_links
        muni_row = by_muni.index[0]
        label = str(scope.area.name)
        for test in tests:
            links.append(same((dashboard.NAMES[1], muni_row, f"{test}_pupils"), (f"results_{test}", (label, scope.year), "pupils")))
        for who, eligible, resp in pairs:
            for mine, theirs in (("surveyed", eligible), ("respondents", resp)):
                if int(by_muni.at[muni_row, f"{who}_{mine}"]) == int(wb.at[(label, scope.year), theirs]):
                    links.append(same((dashboard.NAMES[1], muni_row, f"{who}_{mine}"),
                                      ("wellbeing_by_year", (label, scope.year), theirs)))
    links += _count_links(specs, scope, diag, row)
    for name, spec in specs.items():
        spec["language"] = language
        if caption is not None:
            spec["caption"] = caption(name)
        if labels is not None and name not in dashboard.NAMES:
            spec["labels"] = {c: labels(c) for c in spec["data"].columns}
            spec["data"] = spec["data"].rename_axis([labels(n) for n in spec["data"].index.names])
    out: dict[str, Any] = {}
    for names, part_links in components(specs, links):  # tables no link connects: protected apart
        out.update(protect_linked({n: specs[n] for n in names}, part_links, threshold=threshold))
    if scope.level == "latvia":  # every school: protected column group by column group, with Latvia's total row
        out.update(dashboard.protect_national(by_school, by_muni, tests, total_label=lv.labels[-1],
                                              threshold=threshold, language=language, caption=caption))
        for test in diag:  # the municipalities' pupils tested: hidden where the dashboard hides them
            out[f"comparison_{test}"] = _hide_like(out[f"comparison_{test}"], out[dashboard.NAMES[1]], f"{test}_pupils")
    # response-rate bands where an exact rate would give back a small number of non-respondents
    dash_s, dash_m = out[dashboard.NAMES[0]], out[dashboard.NAMES[1]]
    before = {who: bands.shown_share(dash_s, f"{who}_wellbeing") for who in bands.WELLBEING}
    dash_s, dash_m, banded = bands.apply(dash_s, dash_m, by_school, by_muni, threshold=dash_s.threshold,
                                         total_row=dash_m.total_row)
    out[dashboard.NAMES[0]], out[dashboard.NAMES[1]] = dash_s, dash_m
    notes["bands"] = {who: {"rows": len(rows), "shown_before": before[who],
                            "shown_after": bands.shown_share(dash_s, f"{who}_wellbeing")} for who, rows in banded.items()}
    notes["schools_in_dashboard"] = len(by_school)
    return Headline(tables={n: out[n] for n in [*specs, *dashboard.NAMES]}, tests=tests, funnel=funnel, levels=lv.labels, notes=notes)


def _preschool_specs(data: Dataset, scope: Scope, latvia: str, row: Callable[[str], str], notes: dict[str, Any],
                     links: list[Any]) -> dict[str, dict[str, Any]]:
    """The pre-school tables (:mod:`.preschool`) as specifications; ``notes`` gets the years
    without results and the gaps' year, ``links`` the equations (the two groups of a partition
    add up to the children assessed)."""
    from evaltools.report.disclosure import Link

    from evaltools.studies.municipal_quality import chapters

    table = preschool.by_area(data, scope, latvia_label=latvia)
    specs = {f"results_{results.PRESCHOOL}": _spec(table, ["children"], {s: "children" for s in preschool.SUBJECTS})}
    notes["missing_years"][results.PRESCHOOL] = chapters.years_without(table, "children", latvia)
    year = notes["preschool_year"] = preschool.gap_year(data, scope)
    if year is None:
        return specs
    gaps = preschool.gaps(data, scope, year, latvia_label=latvia).rename(index=row, level="dimension")
    specs["preschool_gaps"] = _spec(gaps, ["n_a", "n_b"], {"mean_a": "n_a", "mean_b": "n_b",
                                                            **{c: ("n_a", "n_b") for c in ("gap", "ci_low", "ci_high")}})
    for label in gaps.index.get_level_values("area").unique():
        children = int(table.at[(label, year), "children"])
        for dim in preschool.PARTITIONS:
            at = (label, row(dim))
            if int(gaps.at[at, "n_a"] + gaps.at[at, "n_b"]) == children:
                links.append(Link((f"results_{results.PRESCHOOL}", (label, year), "children"),
                                  [("preschool_gaps", at, "n_a"), ("preschool_gaps", at, "n_b")]))
    return specs


#: Group dimensions whose two groups hold every pupil (the SES quarters do not).
PARTITIONS = ("sex", "language", "special_needs", "urban")


def _count_links(specs: dict[str, dict[str, Any]], scope: Scope, tests: list[str], row: Callable[[str], str]) -> list[Any]:
    """The equations a reader could use between the report's tables: the groups of a gap (and of
    a progress gap) add up to the pupils tested (linked), the compared units' pupils to their
    area's, and a school's or municipality's dashboard count is the comparison table's."""
    from evaltools.report.disclosure import Link, same

    links: list[Any] = []
    gaps, progress_t = specs["gaps"]["data"], specs["progress"]["data"]
    for label in gaps.index.get_level_values("area").unique():
        for test in tests:
            key = (label, scope.year)
            results_t = specs[f"results_{test}"]["data"]
            if key not in results_t.index:
                continue
            pupils = int(results_t.at[key, "pupils"])
            for dim in PARTITIONS:
                at = (label, row(test), row(dim))
                if int(gaps.at[at, "n_a"] + gaps.at[at, "n_b"]) == pupils:
                    links.append(Link((f"results_{test}", key, "pupils"), [("gaps", at, "n_a"), ("gaps", at, "n_b")]))
    pg = specs["progress_gaps"]["data"]
    for label in progress_t.index:
        for dim in PARTITIONS:
            at = (label, row(dim))
            if int(pg.at[at, "n_a"] + pg.at[at, "n_b"]) == int(progress_t.at[label, "linked"]):
                links.append(Link(("progress", label, "linked"), [("progress_gaps", at, "n_a"), ("progress_gaps", at, "n_b")]))
    area = str(scope.area.name) if scope.area.municipality_id is not None else None
    for test in tests:
        name = f"comparison_{test}"
        units = specs[name]["data"]
        if area is not None:  # the municipality's schools add up to it; each is the dashboard's school row
            key = (area, scope.year)
            if int(units["n"].sum()) == int(specs[f"results_{test}"]["data"].at[key, "pupils"]):
                links.append(Link((f"results_{test}", key, "pupils"), [(name, u, "n") for u in units.index]))
            if scope.school is not None and scope.school in units.index:  # the school's own row, twice
                key = (scope.school, scope.year)
                if int(specs[f"results_{test}"]["data"].at[key, "pupils"]) == int(units.at[scope.school, "n"]):
                    links.append(same((f"results_{test}", key, "pupils"), (name, scope.school, "n")))
            if dashboard.NAMES[0] in specs:
                dash = specs[dashboard.NAMES[0]]["data"]
                for r in dash.index:
                    if r[0] in units.index and int(dash.at[r, f"{test}_pupils"]) == int(units.at[r[0], "n"]):
                        links.append(same((dashboard.NAMES[0], r, f"{test}_pupils"), (name, r[0], "n")))
    return links


def _hide_like(table: Any, dash: Any, column: str) -> Any:
    """``table`` (units x n, values over n) with ``n`` and its values also hidden where the
    dashboard's municipality table hides ``column`` (the same count), so the two tables show
    the same counts (the dashboard's pattern is the one protected against Latvia's total)."""
    from dataclasses import replace

    hidden_units = {r[0] for r in dash.data.index if dash.status.at[r, column] != ""}
    status = table.status.copy()
    for unit in status.index:
        if unit in hidden_units:
            status.loc[unit] = status.loc[unit].where(status.loc[unit] != "", "secondary")
    return replace(table, status=status, data=table.data.where(status == ""))
