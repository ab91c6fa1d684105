"""Pre-school results of the quality_monitoring study (evaltools.studies.quality_monitoring.preschool):
the optional table ``preschool_assessments``, by area and year, its gaps with intervals, and the
plain statement when an extract has no such table. Statistics are checked on data sets built
here with known values; the sample is used only for the loader's optional table."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from evaltools.data import load_dataset
from evaltools.data.io import Dataset
from evaltools.report import attack, disclosure
from evaltools.studies import quality_monitoring as study
from evaltools.studies.quality_monitoring import preschool
from tests import ROOT

DATA = ROOT / "data" / "sample"
THRESHOLD = 10


NAMES = ["Alfa", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta", "Iota", "Kappa", "Lambda", "Mu"]


def _world(seed: int = 3, *, gap_girls: float = 4.0, gap_sn: float = -8.0, years=(2019, 2020, 2021),
           per_muni: int = 200) -> Dataset:
    """Twelve municipalities of two schools each, with different mean scores; pre-school children
    with a known girls' and special-needs gap (points, in both subjects), none in 2022; everyone
    in ``pupils``."""
    rng = np.random.default_rng(seed)
    ids_m = [f"M{i + 1}" for i in range(len(NAMES))]
    munis = pd.DataFrame({"municipality_id": ids_m, "name": NAMES, "region": "R"})
    schools = pd.DataFrame({"school_id": [f"S{i}" for i in range(2 * len(NAMES))],
                            "municipality_id": [m for m in ids_m for _ in range(2)],
                            "name": [f"School {i}" for i in range(2 * len(NAMES))]})
    shifts = rng.normal(0, 3, len(NAMES))
    rows, pupils = [], []
    k = 0
    for year in years:
        for m, shift in zip(ids_m, shifts):
            n = per_muni
            girl = rng.random(n) < 0.5
            sn = rng.random(n) < 0.1
            lang = np.where(rng.random(n) < 0.7, "latvian", "russian")
            ses = rng.normal(0, 1, n)
            base = 60 + shift + gap_girls * girl + gap_sn * sn + 2.0 * ses
            ids = [f"P{k + i:06d}" for i in range(n)]
            k += n
            rows.append(pd.DataFrame({"pupil_id": ids, "year": year, "municipality_id": m,
                                      "numeracy": base + rng.normal(0, 8, n), "literacy": base + rng.normal(0, 8, n)}))
            pupils.append(pd.DataFrame({"pupil_id": ids, "sex": np.where(girl, "F", "M"), "language": lang,
                                        "special_needs": sn, "ses_index": ses}))
    py = pd.DataFrame({"pupil_id": ["Q1"], "year": [2022], "school_id": ["S0"], "grade": [1]})
    return Dataset(path=DATA, tables={"municipalities": munis, "schools": schools, "pupils": pd.concat(pupils),
                                      "pupil_years": py, preschool.TABLE: pd.concat(rows, ignore_index=True)})


def _scope(data: Dataset, municipality: str | None = None, year: int = 2022) -> study.Scope:
    from evaltools.studies.municipal_quality.indicators import Area

    if municipality is None:
        return study.Scope(Area(None, None, 2017, year), year)
    row = data["municipalities"].set_index("name").loc[municipality]
    return study.Scope(Area(row["municipality_id"], municipality, 2017, year), year)


def test_results_by_area_and_year_are_the_childrens_counts_and_means():
    data = _world()
    scope = _scope(data, "Beta")
    table = preschool.by_area(data, scope, latvia_label="Latvija")
    raw = data[preschool.TABLE]
    assert list(table.index.get_level_values("area").unique()) == ["Beta", "Latvija"]
    for year in scope.years:
        mine = raw[(raw["year"] == year) & (raw["municipality_id"] == "M2")]
        assert table.at[("Beta", year), "children"] == len(mine)
        every = raw[raw["year"] == year]
        assert table.at[("Latvija", year), "children"] == len(every)
        if len(every):
            assert table.at[("Latvija", year), "numeracy"] == pytest.approx(every["numeracy"].mean())
            assert table.at[("Beta", year), "literacy"] == pytest.approx(mine["literacy"].mean())
        else:  # a year without any assessment: 0 children and no mean, never 0 points
            assert np.isnan(table.at[("Latvija", year), "numeracy"])
    assert preschool.gap_year(data, scope) == 2021  # the latest assessed year up to the report year


def test_a_schools_report_shows_its_municipality_and_latvia_never_a_school():
    data = _world()
    scope = study.Scope(_scope(data, "Gamma").area, 2022, school_id="S4", school="School 4")
    assert list(preschool.areas(data, scope, latvia_label="Latvija")) == ["Gamma", "Latvija"]


def test_gaps_recover_the_known_gaps_with_intervals():
    data = _world(gap_girls=4.0, gap_sn=-8.0)
    scope = _scope(data, "Alfa")
    gaps = preschool.gaps(data, scope, 2021, latvia_label="Latvija")
    assert set(gaps.index.get_level_values("dimension")) == set(preschool.DIMENSIONS)
    for area in ("Alfa", "Latvija"):
        sex, sn = gaps.loc[(area, "sex")], gaps.loc[(area, "special_needs")]
        assert sex["ci_low"] <= 4.0 <= sex["ci_high"] and sex["ci_low"] > 0
        assert sn["ci_low"] <= -8.0 <= sn["ci_high"] and sn["ci_high"] < 0
        assert sex["gap"] == pytest.approx(sex["mean_a"] - sex["mean_b"])
        lang = gaps.loc[(area, "home_language")]
        assert lang["ci_low"] <= 0.0 <= lang["ci_high"]  # no language gap was simulated
    # the groups of a partition hold every child of the year
    raw = data[preschool.TABLE]
    n = int(((raw["year"] == 2021) & (raw["municipality_id"] == "M1")).sum())
    for dim in preschool.PARTITIONS:
        assert gaps.at[("Alfa", dim), "n_a"] + gaps.at[("Alfa", dim), "n_b"] == n
    # a municipality's children alone: the interval is the difference of means +- 1.96 HC1 SE
    every = raw[(raw["year"] == 2021) & (raw["municipality_id"] == "M1")].merge(data["pupils"], on="pupil_id")
    y, girl = every[["numeracy", "literacy"]].mean(axis=1), every["sex"].eq("F")
    va, vb = y[girl].var(ddof=0) / girl.sum(), y[~girl].var(ddof=0) / (~girl).sum()
    se = np.sqrt((va + vb) * len(y) / (len(y) - 2))
    sex = gaps.loc[("Alfa", "sex")]
    assert sex["ci_high"] - sex["gap"] == pytest.approx(1.959964 * se, rel=1e-4)


def test_without_the_table_the_report_has_no_preschool_tables_and_says_so(tmp_path):
    for f in DATA.iterdir():
        if f.is_file() and not f.name.startswith(preschool.TABLE):
            shutil.copy(f, tmp_path / f.name)
    data = load_dataset(tmp_path, needs=study.NEEDS, rows=study.ROWS, optional=study.OPTIONAL)
    assert preschool.TABLE not in data and not preschool.available(data)
    with_it = load_dataset(DATA, needs={"municipalities": None, "schools": None, "pupils": None, "pupil_years": None},
                           optional=study.OPTIONAL)
    assert preschool.available(with_it)
    assert list(with_it[preschool.TABLE].columns) == study.OPTIONAL[preschool.TABLE]
    nb = json.loads((ROOT / "notebooks" / "quality_monitoring.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "optional=study.OPTIONAL" in text and "quality_monitoring.preschool_missing" in text


def test_protected_preschool_tables_survive_the_attacker_and_link_their_groups():
    """The headline's pre-school part: a small municipality's children hidden in the results
    table cannot come back from the two groups of a gap (linked: n_a + n_b = children)."""
    data = _world(per_muni=30, years=(2020, 2021))
    # a municipality with 7 children in 2021: below the threshold
    raw = data[preschool.TABLE]
    drop = raw.index[(raw["year"] == 2021) & (raw["municipality_id"] == "M3")][7:]
    data.tables[preschool.TABLE] = raw.drop(index=drop).reset_index(drop=True)
    disclosure.set_defaults(threshold=THRESHOLD)
    scope = _scope(data, "Gamma", year=2021)
    notes: dict = {"missing_years": {}, "preschool_year": None}
    links: list = []
    specs = study._preschool_specs(data, scope, "Latvija", lambda c: c, notes, links)  # noqa: SLF001
    assert notes["preschool_year"] == 2021 and links
    out = disclosure.protect_linked(specs, links, threshold=THRESHOLD)
    res, gaps = out["results_preschool"], out["preschool_gaps"]
    assert res.hidden.at[("Gamma", 2021), "children"]
    for dim in preschool.PARTITIONS:
        shown = [c for c in ("n_a", "n_b") if not gaps.hidden.at[("Gamma", dim), c]]
        assert len(shown) < 2, dim  # both groups shown would add up to the hidden 7
    records = {n: {"value": json.loads(json.dumps(t.to_dict(), default=str))} for n, t in out.items()}
    assert attack.attack_records(records, THRESHOLD) == []
