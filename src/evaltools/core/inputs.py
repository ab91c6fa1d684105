"""Input checks shared by every layer, so the same mistake gets the same message everywhere.

Each check raises an :class:`~evaltools.core.errors.InputError` (or the error class the
caller names) whose message says what is wrong, which parameter or column it concerns and
how to fix it. A message names columns, never the values of an identifier column.

- :func:`as_list`, :func:`show`: argument and value helpers for messages;
- :func:`require_frame`, :func:`require_columns`: the data argument and its role columns;
- :func:`finite`, :func:`positive`, :func:`nonnegative`, :func:`proportion`,
  :func:`count`, :func:`level`, :func:`sample`: numeric parameters.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaltools.core.errors import ColumnNotFoundError, InputError, InputTypeError

MAX_COLUMNS_SHOWN = 20


def as_list(x: str | Sequence[str] | None) -> list[str]:
    """``None`` -> ``[]``, ``"a"`` -> ``["a"]``, a sequence -> a list."""
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def show(x: Any) -> str:
    """A value for an error message: numpy scalars as plain Python values (7, not np.int64(7))."""
    return repr(x.item() if isinstance(x, np.generic) else x)


def _prefix(where: str) -> str:
    return f"{where}(): " if where else ""


def require_frame(data: Any, where: str = "", *,
                  error: type[Exception] = InputTypeError) -> pd.DataFrame:
    """``data`` itself if it is a pandas DataFrame; else ``error`` (an InputTypeError)."""
    if not isinstance(data, pd.DataFrame):
        raise error(f"{_prefix(where)}data must be a pandas DataFrame, got {type(data).__name__}.")
    return data


def require_columns(
    data: Any,
    columns: Mapping[str, str | Sequence[str] | None] | Sequence[str],
    *,
    where: str = "",
    error: type[Exception] = ColumnNotFoundError,
    type_error: type[Exception] = InputTypeError,
    hint: str = "",
) -> pd.DataFrame:
    """``data`` is a DataFrame holding every column named in ``columns``; return it.

    ``columns`` maps a role to a name or names (``{"outcome": "score", "covariates":
    ["age", "sex"]}``; ``None`` is skipped) or is a plain list of names. A role with one
    name is reported as ``The outcome column 'score' is not in the data``, one with
    several as ``The covariates columns ['age'] are not in the data``, followed by the
    columns the data have and ``hint`` (how to fix it). ``where`` (a function name)
    prefixes the message. Raises ``error`` (a :class:`ColumnNotFoundError`, also a
    KeyError, by default) and ``type_error`` when ``data`` is not a DataFrame.
    """
    frame = require_frame(data, where, error=type_error)
    groups = columns.items() if isinstance(columns, Mapping) else [("", columns)]
    for role, names in groups:
        missing = [c for c in as_list(names) if c not in frame.columns]
        if not missing:
            continue
        who = f"The {role} column" if role else "The column"
        if len(as_list(names)) == 1:
            what = f"{who} {missing[0]!r} is"
        else:
            what = f"{who}s {missing} are"
        cols = list(map(str, frame.columns))
        more = f" and {len(cols) - MAX_COLUMNS_SHOWN} more" if len(cols) > MAX_COLUMNS_SHOWN else ""
        raise error(f"{_prefix(where)}{what} not in the data; available columns: "
                    f"{', '.join(cols[:MAX_COLUMNS_SHOWN])}{more}.{' ' + hint if hint else ''}")
    return frame


# --- numeric parameters --------------------------------------------------------------


def finite(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"Parameter '{name}' must be a number, got {value!r} ({type(value).__name__})."
        ) from None
    if not math.isfinite(x):
        raise InputError(f"Parameter '{name}' must be finite, got {x}.")
    return x


def positive(name: str, value: Any) -> float:
    """A finite number > 0."""
    x = finite(name, value)
    if x <= 0:
        raise InputError(f"Parameter '{name}' must be greater than 0, got {x:g}.")
    return x


def nonnegative(name: str, value: Any) -> float:
    """A finite number >= 0."""
    x = finite(name, value)
    if x < 0:
        raise InputError(f"Parameter '{name}' must be 0 or more, got {x:g}.")
    return x


def proportion(name: str, value: Any, *, low_open: bool = False, high_open: bool = True,
               hint: str = "") -> float:
    """A number in [0, 1) by default; ``low_open``/``high_open`` exclude the ends."""
    x = finite(name, value)
    lo_ok = x > 0 if low_open else x >= 0
    hi_ok = x < 1 if high_open else x <= 1
    if not (lo_ok and hi_ok):
        lo = "(0" if low_open else "[0"
        hi = "1)" if high_open else "1]"
        extra = f" {hint}" if hint else ""
        raise InputError(
            f"Parameter '{name}' must lie in {lo}, {hi}, got {x:g}.{extra}"
        )
    return x


def count(name: str, value: Any, *, minimum: int = 1) -> int:
    """A whole number >= ``minimum`` (floats such as 20.0 are accepted)."""
    x = finite(name, value)
    if x != int(x):
        raise InputError(f"Parameter '{name}' must be a whole number, got {x:g}.")
    if x < minimum:
        raise InputError(f"Parameter '{name}' must be at least {minimum}, got {int(x)}.")
    return int(x)


def level(value: Any, name: str = "level") -> float:
    """A confidence level in (0, 1)."""
    return proportion(name, value, low_open=True, hint="Use e.g. 0.95 for a 95 % interval.")


def sample(name: str, values: Any, *, minimum: int = 2) -> np.ndarray:
    """A 1-d float array without missing values and with at least ``minimum`` entries."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise InputError(f"'{name}' must be one-dimensional, got shape {arr.shape}.")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"'{name}' holds {int(bad.sum())} missing or infinite value(s) (first at "
            f"position {first}). Drop them (e.g. series.dropna()) before computing an "
            "effect size, and report them as attrition."
        )
    if arr.size < minimum:
        raise InputError(f"'{name}' needs at least {minimum} values, got {arr.size}.")
    return arr
