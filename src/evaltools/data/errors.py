"""One clear error for bad data: every violation at once, with file, column, rows and a hint.

A message never quotes a value of an identifier column
(:data:`~evaltools.data.schemas.IDENTIFIER_COLUMNS`): it gives the number of rows and
the first row numbers. Values of other columns are quoted through :func:`quote_values`,
a few of them, each cut short, with anything shaped like a personal code masked.
"""
from __future__ import annotations

import re
from collections.abc import Container, Iterable
from dataclasses import dataclass, field

from evaltools.core.errors import DataError

from .pseudonymise import mask_personal_codes

MAX_ROWS_SHOWN = 5
MAX_VALUES_SHOWN = 3
MAX_VALUE_CHARS = 24


@dataclass(frozen=True)
class Violation:
    """One rule broken in one column of one file.

    ``rows`` are 1-based data-row numbers (the header line is not counted;
    in a CSV or Excel file with a header the line number is ``row + 1``).
    """

    file: str
    table: str
    column: str | None
    rule: str
    message: str
    hint: str
    rows: tuple[int, ...] = field(default=())
    count: int = 0

    def __str__(self) -> str:
        if self.column and ", " in self.column:
            where = f"{self.file}, columns " + ", ".join(f"'{c}'" for c in self.column.split(", "))
        else:
            where = f"{self.file}" + (f", column '{self.column}'" if self.column else "")
        text = f"{where}: {self.message}"
        if self.count:
            shown = ", ".join(str(r) for r in self.rows[:MAX_ROWS_SHOWN])
            more = self.count - min(len(self.rows), MAX_ROWS_SHOWN)
            text += f" ({self.count:,} row{'s' if self.count != 1 else ''}: {shown}"
            text += f" and {more:,} more)" if more > 0 else ")"
        return f"{text}. Hint: {self.hint}"


_ID_LIKE = re.compile(r"(?=[^\s]*\d)(?=[^\s]*[^\W\d_])[\w\-.:/]{6,}|\d{8,}")


def quote_values(values: Iterable[object], limit: int = MAX_VALUES_SHOWN,
                 width: int = MAX_VALUE_CHARS, hide: Container[str] = ()) -> str:
    """Up to ``limit`` distinct example values, quoted, for a message about a NON-identifier column.

    Each value is cut to ``width`` characters (``…`` marks the cut). A value that is in
    ``hide`` (the identifier values of the same table), or that looks like an id (a token of
    6 or more characters mixing letters and digits, or 8 or more digits: a wrongly mapped id
    column), becomes ``<id-like value>``; anything shaped like a personal code inside a
    value becomes ``<personal code>``. Never call it with an identifier column.
    """
    shown: list[str] = []
    for v in values:
        text = " ".join(str(v).split())
        if text in hide or _ID_LIKE.fullmatch(text):
            q = "<id-like value>"
        else:
            text = mask_personal_codes(text)
            q = repr(text if len(text) <= width else text[: width - 1] + "…")
        if q not in shown:
            shown.append(q)
        if len(shown) >= limit:
            break
    return ", ".join(shown)


def rows_of(index_positions) -> tuple[tuple[int, ...], int]:
    """First rows (1-based) and the count, from 0-based positions."""
    pos = sorted({int(i) for i in index_positions})
    return tuple(p + 1 for p in pos[:MAX_ROWS_SHOWN]), len(pos)


class DataFileError(DataError, ValueError):
    """A data file cannot be found or read, or its table is unknown."""


class DataValidationError(DataError, ValueError):
    """The data break one or more rules; ``violations`` lists every one of them."""

    def __init__(self, violations: list[Violation]):
        self.violations = list(violations)
        files = sorted({v.file for v in self.violations})
        head = (f"{len(self.violations)} data problem{'s' if len(self.violations) != 1 else ''} "
                f"in {', '.join(files)}. Row numbers count data rows from 1 (header not counted).")
        super().__init__("\n".join([head] + [f"  - {v}" for v in self.violations]))

    def to_frame(self):
        """The violations as a table (file, table, column, rule, count, rows, message, hint)."""
        import pandas as pd

        return pd.DataFrame([{
            "file": v.file, "table": v.table, "column": v.column, "rule": v.rule,
            "count": v.count, "rows": list(v.rows), "message": v.message, "hint": v.hint,
        } for v in self.violations])
