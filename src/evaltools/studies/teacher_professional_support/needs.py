"""What the teacher professional-support study reads: table -> columns (``None``: every column), for
``load_dataset(data_dir, needs=NEEDS)`` (only these columns are read and checked).

Every column :func:`~evaltools.studies.teacher_professional_support.frames.prepare` uses; a column
added there must be added here. ``teachers.engagement`` is optional (a synthetic or survey measure:
without it the engagement adjustment of the dose is left out).
"""
from __future__ import annotations

NEEDS: dict[str, list[str] | None] = {
    "municipalities": ["municipality_id", "region"],
    "schools": ["school_id", "municipality_id", "type"],
    "teachers": ["teacher_id", "subject"],
    "teacher_years": ["teacher_id", "year", "school_id", "subject", "years_of_service", "stayed"],
    "methodologist_support": ["municipality_id", "start_year", "methodologists"],
    "teacher_development": ["teacher_id", "year", "type", "hours", "with_methodologist"],
    "lesson_observations": ["teacher_id", "year", "school_id", "observer", "score", "climate", "instruction",
                            "assessment"],
    "assessments": ["pupil_id", "year", "test", "subject", "score", "teacher_id"],
}

#: Rows read (table -> {column: values kept}): the percent-scale tests linked to a teacher.
ROWS: dict[str, dict[str, list[str]]] = {"assessments": {"test": ["diag6", "ce9", "ce12"]}}

#: Columns read when the data set has them (the synthetic data's engagement, used to show the
#: selection of the dose; a real extract rarely has it).
OPTIONAL_COLUMNS: dict[str, list[str]] = {"teachers": ["engagement"]}


def needs_for(data_dir: object = None, mapping: object = None) -> dict[str, list[str] | None]:
    """:data:`NEEDS`, with ``teachers.engagement`` when the data set's teachers table has that column
    (``load_dataset`` refuses a named column that is missing, and an extract without it is valid)."""
    from pathlib import Path

    out = dict(NEEDS)
    if data_dir is None:
        return out
    folder = Path(str(data_dir))
    try:
        import pyarrow.parquet as pq

        f = folder / "teachers.parquet"
        if f.is_file() and "engagement" in pq.read_schema(f).names:
            out["teachers"] = [*NEEDS["teachers"], *OPTIONAL_COLUMNS["teachers"]]
    except Exception:  # noqa: BLE001 - an unreadable file is reported by load_dataset itself
        pass
    return out
