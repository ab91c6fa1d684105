"""Partialling out high-dimensional fixed effects (Frisch-Waugh-Lovell).

For a model ``y = X b + D a + u`` with ``D`` the dummies of one or more
fixed-effect factors, the Frisch-Waugh-Lovell theorem gives
``b = (X~' X~)^-1 X~' y~`` with ``X~ = M_D X`` and ``y~ = M_D y``, where
``M_D = I - D (D'D)^- D'`` is the within transformation. ``M_D`` is applied by
alternating projections (Guimaraes & Portugal 2010; Gaure 2013, "OLS with
multiple high dimensional category variables", CSDA 66), here through
pyfixest's compiled demeaner, so no dummy matrix is ever built.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyfixest.estimation import demean as _pf_demean

__all__ = ["FixedEffects", "demean", "factor_codes", "nested_in"]

#: Convergence tolerance of the alternating projections. Tighter than pyfixest's
#: default (1e-8) so that partialled-out and dummy-variable fits agree to ~1e-10.
DEFAULT_TOL = 1e-11


def factor_codes(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Integer codes ``0..L-1`` of each fixed-effect column, shape ``(N, F)``.

    Raises ``KeyError`` for an absent column and ``ValueError`` for missing values.
    """
    codes = np.empty((len(data), len(columns)), dtype=np.uint64)
    for j, col in enumerate(columns):
        if col not in data.columns:
            raise KeyError(
                f"Fixed-effect column {col!r} is not in the data; available columns: "
                f"{', '.join(map(str, data.columns))}."
            )
        c, _ = pd.factorize(data[col], use_na_sentinel=True)
        if (c < 0).any():
            first = int(np.flatnonzero(c < 0)[0])
            raise ValueError(
                f"Fixed-effect column {col!r} has {(c < 0).sum()} missing value(s) "
                f"(first at row position {first}); drop or fill those rows first."
            )
        codes[:, j] = c
    return codes


def nested_in(codes: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """For each fixed-effect factor, whether every level lies inside one cluster.

    One O(N) pass per factor: record a cluster per level (any occurrence), then
    check that every row agrees with its level's record.
    """
    cluster = np.asarray(cluster)
    out = np.zeros(codes.shape[1], dtype=bool)
    for j in range(codes.shape[1]):
        f = codes[:, j].astype(np.int64)
        seen = np.empty(int(f.max()) + 1 if len(f) else 0, dtype=cluster.dtype)
        seen[f] = cluster
        out[j] = bool(np.all(seen[f] == cluster))
    return out


def demean(
    x: np.ndarray, codes: np.ndarray, *, tol: float = DEFAULT_TOL, maxiter: int = 100_000
) -> np.ndarray:
    """Apply the within transformation ``M_D`` to every column of ``x``.

    ``x`` is ``(N,)`` or ``(N, p)``; ``codes`` from :func:`factor_codes`.
    Raises ``RuntimeError`` if the alternating projections do not converge.
    """
    x = np.asarray(x, dtype=np.float64)
    one_d = x.ndim == 1
    xx = np.ascontiguousarray(x.reshape(len(x), -1))
    if codes.shape[1] == 0:
        out = xx.copy()
    else:
        out, ok = _pf_demean(xx, np.ascontiguousarray(codes), np.ones(len(xx)), tol=tol, maxiter=maxiter)
        if not ok:
            raise RuntimeError(
                f"Partialling out the fixed effects did not converge in {maxiter} "
                f"iterations (tolerance {tol}); check for nearly collinear factors."
            )
    return out[:, 0] if one_d else out


@dataclass(frozen=True)
class FixedEffects:
    """The fixed-effect factors of a model, coded once and reusable.

    Attributes: ``names`` (column names), ``codes`` ``(N, F)`` integer codes,
    ``n_levels`` per factor.
    """

    names: tuple[str, ...]
    codes: np.ndarray
    n_levels: tuple[int, ...]

    @classmethod
    def from_data(cls, data: pd.DataFrame, columns: Sequence[str]) -> "FixedEffects":
        codes = factor_codes(data, list(columns))
        levels = tuple(int(codes[:, j].max()) + 1 if len(codes) else 0 for j in range(codes.shape[1]))
        return cls(tuple(columns), codes, levels)

    def demean(self, x: np.ndarray, *, tol: float = DEFAULT_TOL) -> np.ndarray:
        """``M_D x`` (see :func:`demean`)."""
        return demean(x, self.codes, tol=tol)

    def nested_in(self, cluster: np.ndarray) -> np.ndarray:
        """Per factor: is it nested within ``cluster`` (see :func:`nested_in`)."""
        return nested_in(self.codes, cluster)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n} ({k:,} levels)" for n, k in zip(self.names, self.n_levels))
        return f"FixedEffects({inner or 'none'})"
