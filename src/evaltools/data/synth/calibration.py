"""Figures of a generated data set to compare with the public figures it is calibrated to.

``calibration_table(tables)`` returns one row per figure: what it is, the
value in the data and the target range (see ``docs/codebook.md`` for sources).
"""
from __future__ import annotations

import pandas as pd

TARGETS = {
    "pupils_per_year": (200_000, 240_000, "national scale only: pupils in grades 1-12 per year"),
    "early_leaving_cohort": (0.07, 0.10, "share of the grade-5 cohort of 2014 that leaves early (Eurostat early leavers 18-24, LV 2015-2023)"),
    "school_size_median": (100, 250, "median pupils per school (2023)"),
    "share_schools_under_100": (0.20, 0.40, "share of schools with fewer than 100 pupils"),
    "pupils_per_teacher": (8.0, 11.0, "pupils per teacher post"),
    "ce12_math_mean": (30.0, 45.0, "mean grade-12 mathematics exam score (%)"),
    "ce12_latvian_mean": (45.0, 60.0, "mean grade-12 Latvian exam score (%)"),
    "ce9_math_mean": (45.0, 65.0, "mean grade-9 mathematics exam score (%)"),
    "repetition_rate": (0.005, 0.03, "share of pupil-years that repeat a grade"),
}


def calibration_figures(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The figures named in :data:`TARGETS`, computed from the tables."""
    py = tables["pupil_years"]
    a = tables["assessments"]
    first = py[(py["year"] == py["year"].min()) & (py["grade"] == 5)]["pupil_id"]
    left = py[py["pupil_id"].isin(first) & (py["status"] == "left_early")]["pupil_id"].nunique()
    size = py[py["year"] == py["year"].max()].groupby("school_id").size()
    teachers = tables["teacher_years"].groupby("year").size().mean()
    mean = a.groupby(["test", "subject"])["score"].mean()
    return {
        "pupils_per_year": float(py.groupby("year").size().mean()),
        "early_leaving_cohort": left / max(len(first), 1),
        "school_size_median": float(size.median()),
        "share_schools_under_100": float((size < 100).mean()),
        "pupils_per_teacher": float(len(py) / py["year"].nunique() / teachers),
        "ce12_math_mean": float(mean.get(("ce12", "math"), float("nan"))),
        "ce12_latvian_mean": float(mean.get(("ce12", "latvian"), float("nan"))),
        "ce9_math_mean": float(mean.get(("ce9", "math"), float("nan"))),
        "repetition_rate": float(py["repeated"].mean()),
    }


def calibration_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Figures next to their target ranges, with an ``ok`` column."""
    fig = calibration_figures(tables)
    rows = [{"figure": k, "value": fig[k], "low": lo, "high": hi, "ok": lo <= fig[k] <= hi, "meaning": txt}
            for k, (lo, hi, txt) in TARGETS.items()]
    return pd.DataFrame(rows).set_index("figure")
