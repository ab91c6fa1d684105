"""What the alumni study reads: table -> columns (``None``: every column), for
``load_dataset(data_dir, needs=NEEDS)`` (only these columns are read and checked).

Every column :func:`~evaltools.studies.alumni_programme.frames.build` uses; a column added there
must be added here. Pupils and pupil-years are not read: the study links scores to teachers.
"""
from __future__ import annotations

NEEDS: dict[str, list[str] | None] = {
    "schools": ["school_id", "urban", "type"],
    "teachers": None,
    "teacher_years": None,
    "teacher_practices": None,
    "assessments": None,
}

#: Rows read (table -> {column: values kept}): the tests linked to teachers (frames.TEST_TYPES).
ROWS: dict[str, dict[str, list[str]]] = {"assessments": {"test": ["diag6", "ce9", "ce12"]}}
