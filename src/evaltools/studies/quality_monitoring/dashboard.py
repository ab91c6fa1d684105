"""The dashboard export: one tidy row per school and per municipality of the report year, for a
BI tool, protected by disclosure control, with a data dictionary.

:func:`frames` builds the two tables (index: school / municipality, region, year; columns
:data:`DICTIONARY`); :func:`specs` gives them to
:func:`evaltools.report.disclosure.protect_linked` with the equations a reader could use (each
municipality's counts are the sums of its schools'), so a count hidden in the school table
cannot be worked back from the municipality table. :func:`write` writes the protected tables as
CSV (UTF-8 with a BOM) and Parquet (uncompressed, so the privacy gate reads every string), hidden
cells empty (null), rows in the order of the recorded tables (``results.json``: the attacker
checks each CSV against its record), and the dictionary as CSV and Markdown.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset
from evaltools.report.i18n import sort_names
from evaltools.studies.shared.frames import school_labels
from evaltools.studies.quality_monitoring.results import SUBJECTS
from evaltools.studies.quality_monitoring.wellbeing import (MIN_RESPONDENTS, PUPIL_CELLS, TEACHER_CELLS,
                                                            eligible_pupils, eligible_teachers)

NAMES = ("dashboard_schools", "dashboard_municipalities")
WELLBEING = ("pupils", "teachers")


def _columns(tests: list[str]) -> tuple[list[str], dict[str, Any], dict[str, str]]:
    """Count columns, denominators and numerators of the dashboard with ``tests``."""
    counts, den, num = [], {}, {}
    for test in tests:
        counts.append(f"{test}_pupils")
        den.update({f"{test}_{s}": f"{test}_pupils" for s in SUBJECTS[test]})
    for who in WELLBEING:
        counts += [f"{who}_surveyed", f"{who}_respondents"]
        den.update({f"{who}_response_pct": f"{who}_surveyed", f"{who}_wellbeing": f"{who}_respondents",
                    f"{who}_wellbeing_weighted": f"{who}_respondents"})
        num[f"{who}_response_pct"] = f"{who}_respondents"
    return counts, den, num


def _by_school(data: Dataset, year: int, schools: frozenset[str], tests: list[str]) -> pd.DataFrame:
    """Counts and sums by school (sums, so that municipalities are sums of their schools)."""
    from evaltools.estimate.nonresponse import cell_weights

    parts = []
    a = data["assessments"]
    py = data["pupil_years"]
    py = py.loc[(py["year"] == year) & py["school_id"].isin(schools), ["pupil_id", "school_id"]]
    for test in tests:
        s = a[(a["test"] == test) & (a["year"] == year)].pivot_table(index="pupil_id", columns="subject",
                                                                     values="score", aggfunc="mean")
        s = s.reindex(columns=list(SUBJECTS[test])).reset_index().merge(py, on="pupil_id")
        g = s.groupby("school_id")
        part = pd.DataFrame({f"{test}_pupils": g.size()})
        for subj in SUBJECTS[test]:
            part[f"{test}_{subj}__sum"], part[f"{test}_{subj}__n"] = g[subj].sum(), g[subj].count()
        parts.append(part)
    for who, frame, cells in (("pupils", eligible_pupils(data, year, schools), PUPIL_CELLS),
                              ("teachers", eligible_teachers(data, year, schools), TEACHER_CELLS)):
        answered = frame["wellbeing"].notna()
        f = frame.assign(responded=answered, sex=frame["sex"].fillna("unknown"), y=frame["wellbeing"].fillna(0.0))
        w = cell_weights(f, "responded", list(cells), min_respondents=MIN_RESPONDENTS) if answered.any() else 0.0
        f = f.assign(w=w, wy=w * f["y"])
        g = f.groupby("school_id")
        parts.append(pd.DataFrame({f"{who}_surveyed": g.size(), f"{who}_respondents": g["responded"].sum(),
                                   f"{who}__ysum": g["y"].sum(), f"{who}__w": g["w"].sum(),
                                   f"{who}__wy": g["wy"].sum()}))
    out = pd.concat(parts, axis=1).reindex(sorted(schools)).fillna(0.0)
    return out


def _finish(sums: pd.DataFrame, tests: list[str]) -> pd.DataFrame:
    """Means and rates from the sums (NaN where nothing was measured)."""
    out = pd.DataFrame(index=sums.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        for test in tests:
            out[f"{test}_pupils"] = sums[f"{test}_pupils"].astype("int64")
            for subj in SUBJECTS[test]:
                out[f"{test}_{subj}"] = sums[f"{test}_{subj}__sum"] / sums[f"{test}_{subj}__n"].replace(0, np.nan)
        for who in WELLBEING:
            n, r = sums[f"{who}_surveyed"], sums[f"{who}_respondents"]
            out[f"{who}_surveyed"], out[f"{who}_respondents"] = n.astype("int64"), r.astype("int64")
            out[f"{who}_response_pct"] = 100 * r / n.replace(0, np.nan)
            out[f"{who}_wellbeing"] = sums[f"{who}__ysum"] / r.replace(0, np.nan)
            out[f"{who}_wellbeing_weighted"] = sums[f"{who}__wy"] / sums[f"{who}__w"].replace(0, np.nan)
    return out


def frames(data: Dataset, year: int, schools: frozenset[str], tests: list[str],
           total_label: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The school and municipality tables of ``year`` for ``schools`` (municipalities: those
    of ``schools``, summed over the schools given); with ``total_label``, the municipality table
    ends with the row ``(total_label, total_label, year)`` of all of them (Latvia)."""
    sums = _by_school(data, year, schools, tests)
    info = data["schools"].set_index("school_id").loc[sums.index, ["municipality_id"]]
    munis = data["municipalities"].set_index("municipality_id")
    info = info.assign(school=school_labels(data).reindex(sums.index),
                       municipality=info["municipality_id"].map(munis["name"]),
                       region=info["municipality_id"].map(munis["region"]), year=year)
    by_school = _finish(sums, tests).join(info[["school", "municipality", "region", "year"]])
    by_school = by_school.set_index(["school", "municipality", "region", "year"])
    by_school = by_school.iloc[[by_school.index.get_level_values("school").get_loc(s)
                                for s in sort_names(by_school.index.get_level_values("school"), "lv")]]
    msums = sums.groupby(info["municipality_id"]).sum()
    by_muni = _finish(msums, tests)
    by_muni.index = pd.MultiIndex.from_arrays([by_muni.index.map(munis["name"]), by_muni.index.map(munis["region"]),
                                               [year] * len(by_muni)], names=["municipality", "region", "year"])
    by_muni = by_muni.iloc[[list(by_muni.index.get_level_values("municipality")).index(m)
                            for m in sort_names(by_muni.index.get_level_values("municipality"), "lv")]]
    if total_label is not None:
        total = _finish(sums.sum().to_frame().T, tests)
        total.index = pd.MultiIndex.from_tuples([(total_label, total_label, year)], names=by_muni.index.names)
        by_muni = pd.concat([by_muni, total])
    return by_school, by_muni


def specs(by_school: pd.DataFrame, by_muni: pd.DataFrame, tests: list[str], *, complete: bool) -> tuple[dict[str, Any], list[Any]]:
    """:func:`protect_linked` specifications of the two tables and, when ``complete`` (every
    school of each municipality is in the school table), the links municipality = sum of schools."""
    from evaltools.report.disclosure import Link

    counts, den, num = _columns(tests)
    spec = {"counts": counts, "denominators": den, "numerators": num, "total_row": None, "total_col": None}
    out = {NAMES[0]: {"data": by_school, **spec}, NAMES[1]: {"data": by_muni, **spec}}
    links = []
    if complete:
        munis = by_school.index.get_level_values("municipality")
        for row in by_muni.index:
            if row[0] not in set(munis):
                continue  # the Latvia total row: its parts are the municipalities (protect's own total row)
            parts = [r for r, m in zip(by_school.index, munis) if m == row[0]]
            for col in counts:
                links.append(Link((NAMES[1], row, col), [(NAMES[0], r, col) for r in parts]))
    return out, links


def protect_national(by_school: pd.DataFrame, by_muni: pd.DataFrame, tests: list[str], *, total_label: str,
                     threshold: int | None = None, language: str | None = None,
                     caption: Any = None) -> dict[str, Any]:
    """The national dashboard, protected module by module (top level last), as statistical
    offices protect hierarchical tables (Hundepool et al. 2012, sec. 4.4.2, the modular
    approach): one system per municipality (its schools and its row, row = sum of the schools:
    :func:`protect_linked`), then Latvia's row (the municipalities' sum, protected like any
    row) and the national equation: where a count column would have exactly one hidden
    municipality, the smallest other municipality of that column is hidden too, together with
    all of its schools' cells of the column (and the values that depend on them), so that
    neither can be worked back from Latvia's total or from the schools. One system of every
    school is too large for the suppression's null-space step (minutes at 85 schools)."""
    from evaltools.report.disclosure import protect, protect_linked

    counts, den, num = _columns(tests)
    spec = {"counts": counts, "denominators": den, "numerators": num, "total_row": None, "total_col": None,
            "language": language}
    munis = by_school.index.get_level_values("municipality")
    year = by_muni.index.get_level_values("year")[0]
    total = (total_label, total_label, year)
    if total not in by_muni.index:
        raise ValueError(f"protect_national(): the municipality table has no row {total!r} (frames(total_label=...)).")
    parts: dict[str, list[Any]] = {n: [] for n in NAMES}
    for row in by_muni.index.drop(total):
        schools = by_school[munis == row[0]]
        muni = by_muni.loc[[row]]
        out = protect_linked({NAMES[0]: {"data": schools, **spec}, NAMES[1]: {"data": muni, **spec}},
                             _links(schools, muni, counts), threshold=threshold)
        for n in NAMES:
            parts[n].append(out[n])
    parts[NAMES[1]].append(protect(by_muni.loc[[total]], counts, denominators=den, numerators=num, threshold=threshold,
                                   total_row=None, total_col=None, language=language, name=NAMES[1]))
    schools_t = _stack(parts[NAMES[0]], caption(NAMES[0]) if caption else None)
    munis_t = _stack(parts[NAMES[1]], caption(NAMES[1]) if caption else None)
    schools_t, munis_t = _national_equation(schools_t, munis_t, counts, den, num, total)
    return {NAMES[0]: schools_t, NAMES[1]: munis_t}


def _stack(tables: list[Any], caption: str | None) -> Any:
    """Protected tables of the same columns and different rows as one table."""
    from dataclasses import replace

    return replace(tables[0], data=pd.concat([t.data for t in tables]), status=pd.concat([t.status for t in tables]),
                   links=tuple(lk for t in tables for lk in t.links), caption=caption)


def _national_equation(schools: Any, munis: Any, counts: list[str], den: dict[str, Any], num: dict[str, str],
                       total: tuple[Any, ...]) -> tuple[Any, Any]:
    """Latvia's count = the municipalities' sum: no column may have exactly one hidden
    municipality while Latvia's count is shown (see :func:`protect_national`)."""
    from dataclasses import replace

    s_status, m_status = schools.status.copy(), munis.status.copy()
    rows = [r for r in munis.data.index if r != total]
    school_muni = schools.data.index.get_level_values("municipality")
    for col in counts:
        hidden = [r for r in rows if m_status.at[r, col] != ""]
        if len(hidden) != 1 or m_status.at[total, col] != "":
            continue
        shown = [r for r in rows if m_status.at[r, col] == "" and munis.data.at[r, col] > 0]
        if not shown:
            continue
        pick = min(shown, key=lambda r: munis.data.at[r, col])
        m_status.at[pick, col] = "secondary"
        mine = school_muni == pick[0]
        s_status.loc[mine & (s_status[col] == "").to_numpy(), col] = "secondary"
        for value in [v for v, base in den.items() if base == col] + [v for v, k in num.items() if k == col]:
            m_status.at[pick, value] = m_status.at[pick, value] or "dependent"
            s_status.loc[mine & (s_status[value] == "").to_numpy(), value] = "dependent"
    schools = replace(schools, status=s_status, data=schools.data.where(s_status == ""))
    munis = replace(munis, status=m_status, data=munis.data.where(m_status == ""), total_row=total)
    return schools, munis


def bi_frame(table: Any) -> pd.DataFrame:
    """A protected table as the BI export holds it: index levels as columns, hidden cells null,
    counts as nullable integers."""
    out = table.data.astype(object).where(~table.hidden, None).reset_index()
    for col in table.counts:
        out[col] = pd.array(out[col], dtype="Int64")
    for col in table.data.columns:
        if col not in table.counts:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out


def write(tables: dict[str, Any], dictionary: pd.DataFrame, folder: Path) -> list[Path]:
    """CSV and Parquet of each protected table, the dictionary as CSV and Markdown (module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        frame = bi_frame(table)
        csv, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
        csv.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8-sig"))
        frame.to_parquet(parquet, index=False, compression=None)
        written += [csv, parquet]
    csv, md = folder / "dashboard_dictionary.csv", folder / "dashboard_dictionary.md"
    csv.write_bytes(dictionary.to_csv(index=False, lineterminator="\n").encode("utf-8-sig"))
    md.write_text(markdown(dictionary), encoding="utf-8")
    return written + [csv, md]


def markdown(dictionary: pd.DataFrame) -> str:
    """The dictionary as a Markdown table (``|`` in a text escaped)."""
    cols = list(dictionary.columns)
    esc = lambda v: str(v).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in dictionary.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def dictionary(tests: list[str], t: Any) -> pd.DataFrame:
    """The data dictionary of the dashboard tables (column, meaning, unit), in the language of
    ``t`` (:func:`evaltools.report.i18n.t`)."""
    k = "quality_monitoring.dict."
    rows = [(c, t(k + c).plain, t(k + "unit.label").plain) for c in ("school", "municipality", "region")]
    rows.append(("year", t(k + "year").plain, t(k + "unit.year").plain))
    for test in tests:
        name = t(f"quality_monitoring.test.{test}").plain
        rows.append((f"{test}_pupils", t(k + "tested", test=name).plain, t(k + "unit.pupils").plain))
        rows += [(f"{test}_{s}", t(k + "score", test=name, subject=t(f"quality_monitoring.subject.{s}").plain).plain,
                  t(k + "unit.score").plain) for s in SUBJECTS[test]]
    for who in WELLBEING:
        unit = t(k + f"unit.{who}").plain
        rows += [(f"{who}_surveyed", t(k + f"{who}_surveyed").plain, unit),
                 (f"{who}_respondents", t(k + f"{who}_respondents").plain, unit),
                 (f"{who}_response_pct", t(k + "response_pct").plain, t(k + "unit.pct").plain),
                 (f"{who}_response_low", t(k + "response_low").plain, t(k + "unit.pct").plain),
                 (f"{who}_response_high", t(k + "response_high").plain, t(k + "unit.pct").plain),
                 (f"{who}_wellbeing", t(k + "wellbeing").plain, t(k + "unit.wellbeing").plain),
                 (f"{who}_wellbeing_weighted", t(k + "wellbeing_weighted").plain, t(k + "unit.wellbeing").plain)]
    return pd.DataFrame(rows, columns=["column", "meaning", "unit"])


def _links(by_school: pd.DataFrame, by_muni: pd.DataFrame, counts: list[str]) -> list[Any]:
    """Each municipality's count = the sum of its schools' counts (every column of ``counts``)."""
    from evaltools.report.disclosure import Link

    munis = by_school.index.get_level_values("municipality")
    links = []
    for row in by_muni.index:
        parts = [r for r, m in zip(by_school.index, munis) if m == row[0]]
        if parts:
            links += [Link((NAMES[1], row, col), [(NAMES[0], r, col) for r in parts]) for col in counts]
    return links
