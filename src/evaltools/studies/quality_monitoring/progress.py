r"""Progress of the same pupils from grade 3 to grade 6 (linked pupils).

A pupil's grade-6 diagnostic (mean over subjects) in school year ``t`` is linked to the same
pupil's grade-3 diagnostic in ``t - 3`` (pupils who repeated or skipped a grade are not linked).
For every group dimension of the gaps (sex, language of instruction, special needs, SES quarter,
urban/rural) the progress gap is the coefficient ``delta`` of

    score6_i = alpha + beta score3_i + delta a_i + e_i

fitted on the pupils of the two groups (``a_i`` = 1 in the first group), with school-clustered
(CR1) standard errors (:func:`evaltools.estimate.glm.irls`, Gaussian family): how far ahead the
first group is in grade 6 among pupils who had the same grade-3 score. Descriptive: pupils in
the groups differ in more than the group (no causal reading).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaltools.core.result import Estimate
from evaltools.data.io import Dataset

LAG = 3  # school years from grade 3 to grade 6
COLUMNS = ["n_a", "n_b", "gap", "ci_low", "ci_high"]


def linked(data: Dataset, schools: frozenset[str] | set[str], years: tuple[int, ...]) -> pd.DataFrame:
    """One row per pupil with a grade-6 diagnostic in ``years`` at one of ``schools`` and a grade-3
    diagnostic ``LAG`` years before: ``score3``, ``score6``, ``school_id`` (grade 6) and the groups."""
    a = data["assessments"]
    # only the tests and years that can be linked (a national extract holds every year of both tests)
    keep = (((a["test"] == "diag6") & a["year"].isin(years))
            | ((a["test"] == "diag3") & a["year"].isin([y - LAG for y in years])))
    means = a.loc[keep, ["pupil_id", "year", "test", "score"]].groupby(["pupil_id", "year", "test"], as_index=False)[
        "score"].mean()
    d6 = means[means["test"] == "diag6"][["pupil_id", "year", "score"]]
    d3 = means[means["test"] == "diag3"][["pupil_id", "year", "score"]].assign(year=lambda f: f["year"] + LAG)
    m = d6.rename(columns={"score": "score6"}).merge(d3.rename(columns={"score": "score3"}), on=["pupil_id", "year"])
    py = data["pupil_years"]
    py = py.loc[py["year"].isin(years) & py["school_id"].isin(schools), ["pupil_id", "year", "school_id"]]
    m = m.merge(py, on=["pupil_id", "year"], how="inner")
    pupils = data["pupils"][["pupil_id", "sex", "special_needs", "ses_index"]]
    school = data["schools"][["school_id", "language", "urban"]]
    return m.merge(pupils, on="pupil_id", how="left").merge(school, on="school_id", how="left").reset_index(drop=True)


def group_masks(frame: pd.DataFrame, ses_quarters: tuple[float, float]) -> dict[str, tuple[pd.Series, pd.Series]]:
    """(first group, second group) of each dimension, as the gaps define them (one definition:
    :func:`evaltools.studies.municipal_quality.comparison.equity_groups`)."""
    from evaltools.studies.municipal_quality.comparison import equity_groups

    return equity_groups(frame, *ses_quarters)


def _fit(frame: pd.DataFrame, in_a: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    from evaltools.estimate.glm import irls

    cols = [np.ones(len(frame)), frame["score3"].to_numpy(float)]
    if in_a is not None:
        cols.append(in_a.astype(float))
    fit = irls(np.column_stack(cols), frame["score6"].to_numpy(float), family="gaussian", link="identity",
               groups=pd.factorize(frame["school_id"])[0])
    return fit.params, fit.se()


def slope(frame: pd.DataFrame) -> Estimate:
    """The grade-6 score's slope on the grade-3 score (school-clustered SE)."""
    b, se = _fit(frame, None)
    return Estimate.from_normal("grade-6 score per grade-3 point", float(b[1]), float(se[1]),
                                n={"observations": len(frame), "clusters": int(frame["school_id"].nunique())},
                                method="OLS of the grade-6 on the grade-3 score, CR1 by school")


def progress_gaps(frame: pd.DataFrame, ses_quarters: tuple[float, float]) -> pd.DataFrame:
    """The progress gap of every dimension (module docstring); no values where a group has fewer
    than 2 pupils or the pupils are in one school only."""
    rows = {}
    for dim, (a, b) in group_masks(frame, ses_quarters).items():
        part = frame[a | b]
        row = {"n_a": int(a.sum()), "n_b": int(b.sum()), "gap": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        if a.sum() >= 2 and b.sum() >= 2 and part["school_id"].nunique() >= 2:
            coef, se = _fit(part, a[a | b].to_numpy())
            e = Estimate.from_normal(dim, float(coef[2]), float(se[2]))
            row.update(gap=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high)
        rows[dim] = row
    out = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS).astype({"n_a": "int64", "n_b": "int64"})
    out.index.name = "dimension"
    return out


def ses_quarters(data: Dataset) -> tuple[float, float]:
    """The national lower and upper quarter of the socio-economic index (pupils table)."""
    q1, q3 = np.nanquantile(data["pupils"]["ses_index"], [0.25, 0.75])
    return float(q1), float(q3)
