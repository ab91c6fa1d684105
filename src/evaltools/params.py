"""Types a study notebook uses to declare its parameters.

The cell tagged ``parameters`` declares every parameter with a type annotation, a
default and a trailing comment that is its help text::

    from evaltools.params import InputDir, Literal

    data_dir: InputDir = "../data/sample"     # folder with the data set
    language: Literal["lv", "en"] = "lv"      # language of the report
    min_cell: int = 10                        # smallest count shown in tables

``evaltools run`` reads these declarations (without executing the notebook),
refuses parameters that do not fit them, resolves ``InputFile``/``InputDir``
paths to absolute paths that exist, and only then runs the notebook.
Inside the notebook the annotations are ordinary strings, ints and so on.
"""
from __future__ import annotations

from typing import Literal, NewType

InputFile = NewType("InputFile", str)
"""A path to an input file that must exist (hashed into the manifest)."""

InputDir = NewType("InputDir", str)
"""A path to an input folder that must exist (every file in it is hashed)."""

OutputName = NewType("OutputName", str)
"""A plain name (letters, digits, ``-`` and ``_``), e.g. for labelling a subgroup."""

__all__ = ["InputDir", "InputFile", "Literal", "OutputName"]
