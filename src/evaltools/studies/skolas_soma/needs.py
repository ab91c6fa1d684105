"""What the Latvijas skolas soma study reads: table -> columns (``None``: every column), for
``load_dataset(data_dir, needs=NEEDS)`` (only these columns are read and checked).

Every column :func:`~evaltools.studies.skolas_soma.frames.prepare` uses; a column added there
must be added here. No area filter at load: Latvia's rate is the funnel plot's reference line
and the comparison row of a regional report.
"""
from __future__ import annotations

NEEDS: dict[str, list[str] | None] = {
    "municipalities": ["municipality_id", "name", "region"],
    "schools": ["school_id", "municipality_id", "name", "urban", "language"],
    "pupils": ["pupil_id", "ses_index"],
    "pupil_years": ["pupil_id", "year", "school_id", "grade", "absences"],
    "skolas_soma": None,
    "wellbeing_pupils": ["pupil_id", "year", "school_id", "wellbeing"],
}

#: Rows read (table -> {column: values kept}): every row.
ROWS: dict[str, dict[str, list[str]]] = {}
