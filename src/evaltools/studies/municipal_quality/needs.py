"""What the municipal study reads: table -> columns (``None``: every column), for
``load_dataset(data_dir, needs=NEEDS)`` (only these tables and columns are read and checked).

Every table the study's chapters use; a table or column added there must be added here. No area
filter: every indicator is shown against the planning region and Latvia.
"""
from __future__ import annotations

NEEDS: dict[str, list[str] | None] = {
    "municipalities": None,
    "schools": None,
    "pupils": None,
    "pupil_years": None,
    "assessments": ["pupil_id", "year", "test", "subject", "score"],
    "teacher_years": None,
    "wellbeing_pupils": None,
    "wellbeing_teachers": None,
    "support_plans": None,
    "community_support": None,
    "skolas_soma": None,
}

#: Rows read (table -> {column: values kept}): the diagnostic tests and centralised exams the
#: chapters show (not the classroom grades, ``class``).
ROWS: dict[str, dict[str, list[str]]] = {"assessments": {"test": ["diag3", "diag6", "ce9", "ce12"]}}
