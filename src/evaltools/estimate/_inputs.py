"""Input checks shared by the estimators, so the same mistake gets the same message everywhere."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def as_list(x: str | Sequence[str] | None) -> list[str]:
    """``None`` -> ``[]``, ``"a"`` -> ``["a"]``, a sequence -> a list."""
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def show(x: Any) -> str:
    """A value for an error message: numpy scalars as plain Python values (7, not np.int64(7))."""
    return repr(x.item() if isinstance(x, np.generic) else x)


def require_columns(data: Any, cols: Mapping[str, str | Sequence[str] | None]) -> None:
    """``data`` is a DataFrame holding every column named in ``cols`` (role -> name(s)).

    Raises TypeError for anything but a DataFrame and KeyError naming the role, the
    column and the columns that are there.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    for role, names in cols.items():
        for col in as_list(names):
            if col not in data.columns:
                raise KeyError(f"The {role} column {col!r} is not in the data; available columns: "
                               f"{', '.join(map(str, data.columns))}.")
