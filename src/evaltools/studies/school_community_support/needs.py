"""What the Skola-kopienā study reads: table -> columns (``None``: every column), for
``load_dataset(data_dir, needs=NEEDS, optional=OPTIONAL, rows=ROWS)`` (only these columns are read and
checked; an optional table is read when the data set has a file for it).

Every column :func:`~evaltools.studies.school_community_support.frames.prepare` uses; a column
added there must be added here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

NEEDS: dict[str, list[str] | None] = {
    "municipalities": ["municipality_id", "region"],
    "schools": ["school_id", "municipality_id", "urban", "language"],
    "pupils": ["pupil_id", "sex", "language", "special_needs", "ses_index"],
    "pupil_years": ["pupil_id", "year", "school_id", "grade", "absences", "repeated"],
    "community_support": ["pupil_id", "year", "school_id", "measure", "hours"],
    "wellbeing_pupils": ["pupil_id", "year", "wellbeing"],
    "assessments": ["pupil_id", "year", "test", "subject", "score"],
}

#: Rows read (table -> {column: values kept}): grade-3 diagnostics and grade-9 exams only.
ROWS: dict[str, dict[str, list[str]]] = {"assessments": {"test": ["diag3", "ce9"]}}

OPTIONAL: dict[str, list[str] | None] = {"preschool_assessments": ["pupil_id", "year", "numeracy", "literacy"]}
"""Tables used when the data set has them (``load_dataset(..., optional=OPTIONAL)``): the pre-school literacy
and numeracy scores (the prior results of the literacy outcome, whose grade-3 test has no earlier test); an
extract without them is still a valid extract."""


def needs_for(data_dir: Any, mapping: Any = None) -> dict[str, list[str] | None]:
    """Deprecated: pass ``needs=NEEDS, optional=OPTIONAL`` to ``load_dataset``, which reads an optional
    table when the data set has a file for it (``<table>.*`` or the file the mapping's ``files`` names).

    Returns :data:`NEEDS` plus the :data:`OPTIONAL` tables ``data_dir`` has a file for (as before);
    kept for notebooks run before the loader took ``optional=``."""
    import warnings

    from evaltools.data.io import read_mapping

    warnings.warn("school_community_support.needs_for() is deprecated: call load_dataset(data_dir, mapping, "
                  "needs=study.NEEDS, optional=study.OPTIONAL, rows=study.ROWS) instead.", DeprecationWarning,
                  stacklevel=2)
    folder = Path(data_dir)
    files = dict((read_mapping(mapping) or {}).get("files", {})) if mapping else {}
    out = dict(NEEDS)
    for table, cols in OPTIONAL.items():
        named = files.get(table)
        if (named and (folder / str(named)).is_file()) or any(folder.glob(f"{table}.*")):
            out[table] = cols
    return out
