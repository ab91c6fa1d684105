"""Types a study notebook uses to declare its parameters.

The cell tagged ``parameters`` declares every parameter with a type annotation, a
default and a trailing comment that is its help text. A type that papermill cannot
read inline (``Literal[...]``, ``X | None``) is given a name in the imports cell
above, and the parameter is annotated with that name::

    # imports cell
    from evaltools.params import Float, InputDir, InputFile, Int, Literal, MinCell, Optional, check_injected

    Language = Literal["lv", "en"]              # types of the parameters below

    # the cell tagged `parameters`
    data_dir: InputDir = "../data/sample"     # folder with the data set
    mapping: Optional[InputFile] = None       # column mapping (YAML), if any
    language: Language = "lv"                 # language of the report
    first_year: Int[2000, 2040] = 2020        # first school year of the period
    pass_mark: Float[0, 100] = 10.0           # exam score (%) counted as a pass
    reps: Int[99, None] = 999                 # bootstrap draws (at least 99)
    min_cell: MinCell = 10                    # smallest count shown in a published table

    # the next cell (papermill inserts its own cell between the two)
    check_injected(globals())

Both ``evaltools run`` and ``papermill --help-notebook`` then list every parameter
with its type and help (tests/project/test_papermill_parameters.py compares the two).

``evaltools run`` reads these declarations (without executing the notebook),
refuses parameters that do not fit them, resolves ``InputFile``/``InputDir``
paths to absolute paths that exist, and only then runs the notebook.
Inside the notebook the annotations are ordinary ints, floats, strings and so on.

Numeric ranges
--------------
``Int[low, high]`` and ``Float[low, high]`` declare an inclusive range beside the
type; ``None`` leaves a side open (``Int[1, None]``: 1 or more). Values outside it
are refused before anything runs.

Plain ``float`` and ``Float[...]`` refuse NaN and infinity. A parameter that means
them declares so: ``Float[0, inf]`` accepts ``+inf`` (e.g. "no cap"), ``Float[-inf,
0]`` accepts ``-inf``, and a third item ``nan`` accepts NaN (``Float[0, 1, nan]``),
with ``inf`` and ``nan`` imported from this module.

Write bounds as whole non-negative numbers, ``None``, ``inf`` or ``nan`` where you
can: ``papermill --help-notebook`` then still lists the parameter (it cannot read a
``-``, a ``.``, a quote or a ``|`` in an annotation, and it skips a line with a second
``=``, e.g. in the help comment). Other bounds work in ``evaltools`` (or in an alias).

Running a notebook with papermill directly
------------------------------------------
A params file of this project (``study:``, ``parameters:``) is not papermill's format:
``papermill NOTEBOOK OUT -f params/<file>.yaml`` would inject two variables named
``study`` and ``parameters`` and run the notebook's defaults. :func:`check_injected`,
called first in the cell after the parameters cell, stops such a run with a message
that points to ``evaltools run STUDY -p FILE``. papermill's own ``-p NAME VALUE`` works
(without the checks ``evaltools run`` makes).

Values that must exist in the data
----------------------------------
``InData[type, "table", "column", extra...]`` declares that the value must be one of the
values of a column of the data set (the folder of the ``data_dir`` parameter, renamed by
the ``mapping`` parameter if the study has one); ``extra`` values are accepted beside
them (``"all"``). ``evaltools run`` (and ``--check``) reads that column before any kernel
starts and refuses a value that is not there, with a "did you mean" that ignores case and
accents (``Riga`` -> ``Rīga``). Named ones for the shipped tables:

- :data:`Municipality`: a municipality's name (or id) in ``municipalities``, or ``all``;
- :data:`PlanningRegion`: a planning region in ``municipalities.region``, or ``all``;
- :data:`Cohort`: a participation cohort (``teachers.growth_programme_start``), 2000-2040.

``papermill --help-notebook`` reads these names; an ``InData[...]`` with quotes needs an
alias in the imports cell (``Subject = InData[str, "teachers", "subject"]``). Never
declare one on an identifier column (pupil_id, teacher_id, ...): such a declaration is
refused, since its message would have to show the column's values.

The disclosure threshold
------------------------
``MinCell`` marks the parameter that is the study's disclosure threshold (smallest
count published). It is a whole number that may be raised but never set below the
project's floor: 5, or ``min_cell_floor`` in ``disclosure.yaml`` at the project root
(owned by the data controller; see :mod:`evaltools.report.policy`).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NewType, Optional

from evaltools.core.errors import ParamsError

inf = math.inf
"""Infinity, for a bound that admits it: ``Float[0, inf]``."""

nan = math.nan
"""Third item of ``Float[low, high, nan]``: the parameter accepts NaN."""

InputFile = NewType("InputFile", str)
"""A path to an input file that must exist (hashed into the manifest)."""

InputDir = NewType("InputDir", str)
"""A path to an input folder that must exist (every file in it is hashed)."""

OutputName = NewType("OutputName", str)
"""A plain name (letters, digits, ``-`` and ``_``), e.g. for labelling a subgroup."""

MinCell = NewType("MinCell", int)
"""The study's disclosure threshold: a whole number at or above the project's floor (5)."""


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of a numeric parameter (``None``: open); metadata of ``Int``/``Float``."""

    low: float | None = None
    high: float | None = None
    allow_nan: bool = False


class _Bounded:
    """``Int[low, high]`` / ``Float[low, high(, nan)]``: the number type annotated with a Range."""

    base: type = object

    def __class_getitem__(cls, bounds: Any) -> Any:
        items = bounds if isinstance(bounds, tuple) else (bounds,)
        if len(items) not in (2, 3) or (len(items) == 3 and not _is_nan(items[2])):
            raise TypeError(f"use {cls.__name__}[low, high] (or Float[low, high, nan])")
        return Annotated[cls.base, Range(items[0], items[1], allow_nan=len(items) == 3)]


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


class Int(_Bounded):
    """An integer within ``[low, high]``: ``Int[1, None]``, ``Int[2000, 2040]``."""

    base = int


class Float(_Bounded):
    """A finite number within ``[low, high]``: ``Float[0, 1]``, ``Float[0, None]``."""

    base = float


@dataclass(frozen=True)
class DataColumn:
    """Metadata of ``InData``: the value must be in ``table``'s ``columns`` (the first is the
    one suggestions come from) or be one of ``extra`` (compared ignoring case)."""

    table: str
    columns: tuple[str, ...]
    extra: tuple[Any, ...] = ()


class InData:
    """``InData[type, "table", "column", extra...]``: a value of ``type`` that must exist in
    ``table.column`` of the data (``column`` may be a tuple of columns, any of which matches)."""

    def __class_getitem__(cls, items: Any) -> Any:
        items = items if isinstance(items, tuple) else (items,)
        if len(items) < 3 or not isinstance(items[1], str) or not isinstance(items[2], (str, tuple)):
            raise TypeError('use InData[type, "table", "column", extra values...]')
        columns = (items[2],) if isinstance(items[2], str) else tuple(items[2])
        return Annotated[items[0], DataColumn(items[1], columns, tuple(items[3:]))]


Municipality = InData[str, "municipalities", ("name", "municipality_id"), "all", "Latvija", "Latvia"]
"""A municipality of the data set, by name (``Valmieras novads``) or id, or ``all`` (Latvia)."""

PlanningRegion = InData[str, "municipalities", "region", "all"]
"""A planning region of the data set (``Latgale``), or ``all`` (Latvia)."""

Cohort = InData[Int[2000, 2040], "teachers", "growth_programme_start"]
"""A participation cohort: a school year in which teachers of the data joined the programme."""


class ParamsFileError(ParamsError):
    """papermill ran the notebook with a params file of this project, which it cannot read."""

    def _render_traceback_(self) -> list[str]:
        """What IPython (and so papermill) shows instead of a traceback: the message alone."""
        return [f"{type(self).__name__}: {self}"]


NESTED_KEYS = ("study", "parameters")
"""Top-level keys of a params file: papermill ``-f`` injects them as variables."""


def check_injected(namespace: Mapping[str, Any]) -> None:
    """Stop a run that papermill started with ``-f params/<file>.yaml`` (it would run the defaults).

    ``namespace`` is the notebook's ``globals()``. A params file of this project keeps
    the values under ``parameters:`` beside ``study:``; papermill injects those two keys
    as variables, so finding ``parameters`` (a mapping) or ``study`` (a text) before the
    notebook assigned them means the declared parameters were never set. Raises
    :class:`ParamsFileError` naming the command that reads the file.
    """
    params, study = namespace.get("parameters"), namespace.get("study")
    if not isinstance(params, Mapping) and not isinstance(study, str):
        return
    name = study if isinstance(study, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}", study) else "STUDY"
    raise ParamsFileError(
        "this notebook was given a params file of evaltools (keys 'study:' and 'parameters:'), which papermill "
        "cannot read: it would have run the notebook's defaults instead. Run the study with\n"
        f"    evaltools run {name} -p params/<file>.yaml\n"
        "which checks every parameter before anything runs (or give papermill single values: -p NAME VALUE)."
    )


__all__ = [
    "Cohort", "DataColumn", "Float", "InData", "InputDir", "InputFile", "Int", "Literal", "MinCell", "Municipality",
    "Optional", "OutputName", "ParamsFileError", "PlanningRegion", "Range", "check_injected", "inf", "nan",
]
