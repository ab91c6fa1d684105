r"""Pre-school assessment results (children aged 5-6, the school year before grade 1).

The monitoring system's pre-school assessment is a table of its own, ``preschool_assessments``
(numeracy and literacy, 0-100, per child, by the pre-school's municipality; ``docs/codebook.md``),
read only when the extract has it (:data:`OPTIONAL`, ``load_dataset(..., optional=...)``). The
children are not yet pupils of a school in the data, so results are shown by municipality and for
Latvia, never by school (a school's report shows its municipality's).

- :func:`by_area`: children assessed and mean numeracy and literacy by (area, year) over the
  trend years (a year without any assessment has 0 children and no means);
- :func:`gaps`: gaps of the latest assessed year up to the report year (:func:`gap_year`) in the
  mean of numeracy and literacy: girls - boys, Latvian - other home language, special needs -
  none (as recorded later at school), lowest - highest national SES quarter. The gap is the
  coefficient ``delta`` of ``score_i = alpha + delta a_i + e_i`` on the children of the two groups
  (the difference of their means) with a normal 95 % interval from the cluster-robust (CR1)
  standard error, clustered by municipality for Latvia (:func:`evaltools.estimate.glm.irls`, as
  the progress gaps); the pre-school institution is not in the extract, so a municipality's
  interval treats its children as independent (HC1) and may be too narrow (the report says so).
  No urban/rural or language-of-instruction gap: both are properties of a school.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaltools.data.io import Dataset
from evaltools.studies.quality_monitoring.scope import Scope

TABLE = "preschool_assessments"
SUBJECTS = ("numeracy", "literacy")
#: What the study reads of the table when the extract has it (``load_dataset(optional=OPTIONAL)``).
OPTIONAL: dict[str, list[str] | None] = {TABLE: ["pupil_id", "year", "municipality_id", *SUBJECTS]}
COLUMNS = ["children", *SUBJECTS]
GAP_COLUMNS = ["n_a", "mean_a", "n_b", "mean_b", "gap", "ci_low", "ci_high"]
DIMENSIONS = ("sex", "home_language", "special_needs", "ses")
#: Dimensions whose two groups hold every child (the SES quarters do not).
PARTITIONS = ("sex", "home_language", "special_needs")


def available(data: Dataset) -> bool:
    """Whether the extract has pre-school results (the table, with at least one row)."""
    return TABLE in data and len(data[TABLE]) > 0


def areas(data: Dataset, scope: Scope, *, latvia_label: str) -> dict[str, frozenset[str] | None]:
    """The rows of the pre-school tables: the scope's municipality (a municipality's or a school's
    report) and Latvia (``None``: every child of the table)."""
    out: dict[str, frozenset[str] | None] = {}
    if scope.area.municipality_id is not None:
        out[str(scope.area.name)] = frozenset({str(scope.area.municipality_id)})
    out[latvia_label] = None
    return out


def _children(data: Dataset, municipalities: frozenset[str] | None) -> pd.DataFrame:
    t = data[TABLE]
    return t if municipalities is None else t[t["municipality_id"].astype(str).isin(municipalities)]


def by_area(data: Dataset, scope: Scope, *, latvia_label: str) -> pd.DataFrame:
    """Children assessed and mean numeracy and literacy by (area, year) over ``scope.years``."""
    rows = {}
    for label, munis in areas(data, scope, latvia_label=latvia_label).items():
        part = _children(data, munis)
        part = part[part["year"].isin(scope.years)]
        g = part.groupby("year")
        agg = pd.DataFrame({"children": g.size(), **{s: g[s].mean() for s in SUBJECTS}})
        agg = agg.reindex(list(scope.years))
        for year in scope.years:
            n = agg.at[year, "children"]
            rows[(label, year)] = {"children": 0 if pd.isna(n) else int(n),
                                   **{s: float(agg.at[year, s]) for s in SUBJECTS}}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)
    out.index = pd.MultiIndex.from_tuples(out.index, names=["area", "year"])
    return out.astype({"children": "int64"})


def gap_year(data: Dataset, scope: Scope) -> int | None:
    """The latest school year up to the report year with pre-school results (the assessment is in
    the year before grade 1, so an extract often ends a year earlier), within the trend years."""
    years = data[TABLE]["year"]
    years = years[years.isin(scope.years)]
    return int(years.max()) if len(years) else None


def groups(frame: pd.DataFrame, q1: float, q3: float) -> dict[str, tuple[pd.Series, pd.Series]]:
    """The two groups of each dimension of :data:`DIMENSIONS` as boolean masks of ``frame``."""
    return {
        "sex": (frame["sex"] == "F", frame["sex"] == "M"),
        "home_language": (frame["language"] == "latvian", frame["language"].notna() & (frame["language"] != "latvian")),
        "special_needs": (frame["special_needs"].eq(True), frame["special_needs"].eq(False)),
        "ses": (frame["ses_index"] <= q1, frame["ses_index"] >= q3),
    }


def gaps(data: Dataset, scope: Scope, year: int, *, latvia_label: str) -> pd.DataFrame:
    """Gaps of ``year`` by (area, dimension) in the children's mean of numeracy and literacy
    (module docstring): columns :data:`GAP_COLUMNS`; no values where a group has fewer than 2."""
    from evaltools.core.result import Estimate
    from evaltools.estimate.glm import irls

    q1, q3 = np.nanquantile(data["pupils"]["ses_index"], [0.25, 0.75])
    pupils = data["pupils"][["pupil_id", "sex", "language", "special_needs", "ses_index"]]
    every = data[TABLE]
    every = every[every["year"] == year]
    every = every.assign(score=every[list(SUBJECTS)].mean(axis=1)).merge(pupils, on="pupil_id", how="left")
    parts = {}
    for label, munis in areas(data, scope, latvia_label=latvia_label).items():
        f = every if munis is None else every[every["municipality_id"].astype(str).isin(munis)]
        rows = {}
        for dim, (a, b) in groups(f, q1, q3).items():
            row = {"n_a": int(a.sum()), "mean_a": np.nan, "n_b": int(b.sum()), "mean_b": np.nan,
                   "gap": np.nan, "ci_low": np.nan, "ci_high": np.nan}
            if a.sum():
                row["mean_a"] = float(f.loc[a, "score"].mean())
            if b.sum():
                row["mean_b"] = float(f.loc[b, "score"].mean())
            if a.sum() >= 2 and b.sum() >= 2:
                part = f[a | b]
                X = np.column_stack([np.ones(len(part)), a[a | b].to_numpy(float)])
                clusters = pd.factorize(part["municipality_id"])[0] if munis is None else None
                fit = irls(X, part["score"].to_numpy(float), family="gaussian", link="identity", groups=clusters)
                e = Estimate.from_normal(dim, float(fit.params[1]), float(fit.se()[1]))
                row.update(gap=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high)
            rows[dim] = row
        parts[label] = pd.DataFrame.from_dict(rows, orient="index", columns=GAP_COLUMNS)
    out = pd.concat(parts, names=["area", "dimension"])
    return out.astype({"n_a": "int64", "n_b": "int64"})
