"""Effect size to months of additional progress, with the two EEF conversion tables.

``table="toolkit"``: the Teaching and Learning Toolkit table (EEF, "Additional months'
progress"). ``table="project"``: the table printed in EEF evaluation reports of individual
projects. The tables, their sources and the rounding rule are in
``standards/data/eef_months_progress.csv``.
"""
from __future__ import annotations

import math

import pandas as pd

from evaltools.standards import _checks as ck
from evaltools.standards._data import load

TABLES = {
    "toolkit": "EEF Teaching and Learning Toolkit conversion",
    "project": "EEF evaluation-report (individual project) conversion",
}


def months_table(table: str = "toolkit") -> pd.DataFrame:
    """The conversion table ``table`` as a DataFrame (es_from, es_to, months)."""
    if table not in TABLES:
        raise ck.InputError(
            f"Unknown months-progress table {table!r}; use 'toolkit' (EEF Teaching and "
            "Learning Toolkit) or 'project' (EEF evaluation reports)."
        )
    df = load("eef_months_progress.csv")
    return df[df["table"] == table].drop(columns="table").reset_index(drop=True)


def months_progress(g: float, table: str = "toolkit") -> int:
    """Months of additional progress for effect size ``g`` under an EEF table.

    The effect size is rounded to two decimals (as the EEF tables are), its absolute
    value is looked up, and the sign is carried over (a negative effect gives negative
    months, as the EEF notes say). Effect sizes above the last row (1.00) give 12 months,
    the table's top category.
    """
    x = ck.finite("g", float(g))
    tab = months_table(table)
    a = round(abs(x) + 1e-12, 2)
    top = tab.iloc[-1]
    if a > top["es_to"]:
        months = int(top["months"])
    else:
        hit = tab[(tab["es_from"] <= a + 1e-9) & (a <= tab["es_to"] + 1e-9)]
        if hit.empty:  # the tables leave no gaps at 2 decimals; guard against edits
            raise ck.InputError(f"Effect size {a:.2f} falls between rows of the {table!r} table.")
        months = int(hit.iloc[0]["months"])
    return int(math.copysign(months, x)) if months else 0
