"""Effect size to months of additional progress, with the two EEF conversion tables.

``table="toolkit"``: the Teaching and Learning Toolkit table (EEF, "Additional months'
progress"). ``table="project"``: the table printed in EEF evaluation reports of individual
projects. The tables, their sources and the rounding rule are in
``standards/data/eef_months_progress.csv``.
"""
from __future__ import annotations

import math
from functools import lru_cache

import pandas as pd

from evaltools.core import inputs as ck
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


@lru_cache(maxsize=None)
def _rows(table: str) -> tuple[tuple[float, float, int], ...]:
    tab = months_table(table)
    return tuple((float(a), float(b), int(m)) for a, b, m in tab.itertuples(index=False))


def months_progress(g: float, table: str = "toolkit") -> int:
    """Months of additional progress for effect size ``g`` under an EEF table.

    The effect size is rounded to two decimals (as the EEF tables are), its absolute
    value is looked up, and the sign is carried over (a negative effect gives negative
    months, as the EEF notes say). Effect sizes above the last row (1.00) give 12 months,
    the table's top category.
    """
    x = ck.finite("g", float(g))
    rows = _rows(table) if table in TABLES else months_table(table)  # raises for bad names
    a = round(abs(x) + 1e-12, 2)
    if a > rows[-1][1]:
        months = rows[-1][2]
    else:
        hits = [m for lo, hi, m in rows if lo <= a + 1e-9 and a <= hi + 1e-9]
        if not hits:  # the tables leave no gaps at 2 decimals; guard against edits
            raise ck.InputError(f"Effect size {a:.2f} falls between rows of the {table!r} table.")
        months = hits[0]
    return int(math.copysign(months, x)) if months else 0
