"""What the PUMPURS study reads: table -> columns (``None``: every column), for
``load_dataset(data_dir, needs=NEEDS, optional=OPTIONAL, rows=ROWS)`` (only these columns are read
and checked).

Every column :func:`~evaltools.studies.dropout_prevention.frames.build_frames` (``prepare``) uses;
a column added there must be added here. No area filter: the study reads all of Latvia (next and
previous school years of a pupil who changed region, the municipalities as bootstrap clusters).
"""
from __future__ import annotations

NEEDS: dict[str, list[str] | None] = {
    "municipalities": ["municipality_id", "region"],
    "schools": ["school_id", "municipality_id", "urban", "language"],
    "pupils": ["pupil_id", "sex", "special_needs"],
    "pupil_years": None,
    "pumpurs_schools": None,
    "support_plans": ["plan_id", "pupil_id", "year", "school_id", "risk_score", "taken_up"],
    "support_measures": None,
    "assessments": ["pupil_id", "year", "test", "subject", "score"],
}

#: Read when the data set has them: the semester-1 risk scores. A real extract may record risk types
#: only (no risk_scores table, or one without ``score``): the study then compares offered pupils at the
#: score their plan records, and offers no threshold design (``frames.threshold_design_available``).
OPTIONAL: dict[str, list[str] | None] = {
    "risk_scores": ["pupil_id", "year", "semester", "score"],
    # vocational students' years (course 1-4 after grade 9): reported apart (vocational.py); an extract
    # without them reports general-education schools only
    "vocational_years": ["pupil_id", "year", "school_id", "course", "absences", "status"],
}

#: Rows read (table -> {column: values kept}): the centralised exams only (frames.py keeps ce9/ce12).
ROWS: dict[str, dict[str, list[str]]] = {"assessments": {"test": ["ce9", "ce12"]}}
