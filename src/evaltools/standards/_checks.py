"""Input checks shared by :mod:`evaltools.standards` and :mod:`evaltools.inference`.

Every check raises :class:`InputError` (a ``ValueError``) whose message says what is
wrong, which parameter it concerns and how to fix it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np


class InputError(ValueError):
    """A parameter of an evidence-standards, power or cost function is invalid."""


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


def record_dict(obj: Any, kind: str, **extra: Any) -> dict[str, Any]:
    """``{"type": kind, <every dataclass field>, **extra}`` for ``evaltools.report.record``.

    Nested Estimates, DataFrames and numpy values are converted by the report layer.
    """
    from dataclasses import fields

    out: dict[str, Any] = {"type": kind}
    for f in fields(obj):
        out[f.name] = getattr(obj, f.name)
    out.update(extra)
    return out
