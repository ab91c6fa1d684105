"""Input checks and array layout for :func:`evaltools.estimate.att_gt`.

Panel data become one row per unit with an ``n_units x n_periods`` outcome matrix
(NaN where a unit was not observed); repeated cross-sections stay one row per
observation with a period index. Errors say which column, which row or unit, and
what to do.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaltools.core.errors import ColumnNotFoundError, DataError
from evaltools.core.inputs import require_columns

Array = np.ndarray


class StaggeredDataError(DataError, ValueError):
    """The data given to ``att_gt`` cannot be used as they are."""


class StaggeredColumnError(ColumnNotFoundError, KeyError):
    """A column named in the call to ``att_gt`` is not in the data."""

    def __str__(self) -> str:  # KeyError quotes its message; show it as a sentence
        return str(self.args[0]) if self.args else ""


@dataclass
class CSData:
    """Arrays for the group-time estimators.

    ``rows`` are units (panel) or observations (repeated cross-sections); every
    influence function has one entry per row.
    """

    panel: bool
    periods: Array  # sorted distinct time values
    cohort: Array  # per row: first treated period, 0 = never treated
    weight: Array  # per row
    cluster: Array | None  # per row, integer codes
    n_clusters: int
    # panel layout
    Y: Array | None = None  # n_units x n_periods (C order: a unit's periods adjacent)
    X: Array | None = None  # n_units x n_periods x k (with intercept); n_units x k if time-invariant
    # cross-section layout
    y: Array | None = None  # per row
    tidx: Array | None = None  # per row, index into periods
    Xrow: Array | None = None  # per row x k (with intercept)
    unit_ids: Array | None = None
    balanced: bool = True
    dropped_first_period: int = 0

    @property
    def n(self) -> int:
        return int(self.cohort.shape[0])


def _show(v: object) -> str:
    """A value for an error message: numpy scalars shown as plain Python values."""
    v = v.item() if isinstance(v, np.generic) else v
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return repr(v)


def _numeric(data: pd.DataFrame, col: str, role: str, allow_nan: bool) -> Array:
    s = data[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise StaggeredDataError(
            f"Column {col!r} (`{role}`) must be numeric but has dtype {s.dtype}. Convert it, "
            f"e.g. with pd.to_numeric(data[{col!r}])."
        )
    v = s.to_numpy(dtype=float)
    if not allow_nan:
        bad = ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise StaggeredDataError(
                f"Column {col!r} (`{role}`) has {int(bad.sum())} missing or infinite values "
                f"(first at row label {_show(data.index[i])}). Drop or impute those rows first."
            )
    return v


def _constant_within(codes: Array, values: Array, col: str, role: str, ids: Array) -> Array:
    """Per-unit value of a column that must not vary within a unit."""
    n = int(codes.max()) + 1
    first = np.full(n, np.nan)
    first[codes] = values  # any row's value; checked against every row below
    diff = values != first[codes]
    diff &= ~(np.isnan(values) & np.isnan(first[codes]))
    if diff.any():
        i = int(np.flatnonzero(diff)[0])
        raise StaggeredDataError(
            f"Column {col!r} (`{role}`) varies within unit {_show(ids[codes[i]])}; it must be "
            f"constant for each unit in a panel. Fix the data or use panel=False."
        )
    return first


def prepare(
    data: pd.DataFrame,
    outcome: str,
    unit: str | None,
    time: str,
    cohort: str,
    covariates: list[str],
    weights: str | None,
    cluster: str | None,
    panel: bool,
    anticipation: int,
) -> CSData:
    """Check the inputs and lay the data out for the estimators."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame, got {type(data).__name__}.")
    if data.shape[0] == 0:
        raise StaggeredDataError("`data` has no rows.")
    require_columns(
        data,
        {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort, "weights": weights,
         "cluster": cluster, "covariates": list(covariates)},
        error=StaggeredColumnError,
    )
    if panel and unit is None:
        raise StaggeredDataError("Panel data need a `unit` column; pass unit=... or panel=False.")
    y = _numeric(data, outcome, "outcome", allow_nan=True)
    t = _numeric(data, time, "time", allow_nan=False)
    g = _numeric(data, cohort, "cohort", allow_nan=True)
    missing_g = np.isnan(g)
    if missing_g.any():
        g = np.where(missing_g, 0.0, g)
    if (g < 0).any():
        i = int(np.flatnonzero(g < 0)[0])
        raise StaggeredDataError(
            f"Column {cohort!r} (`cohort`) must hold the first treated period, or 0/NaN for never "
            f"treated; row label {_show(data.index[i])} has {_show(g[i])}."
        )
    w = _numeric(data, weights, "weights", allow_nan=False) if weights else None
    if w is not None and (w <= 0).any():
        i = int(np.flatnonzero(w <= 0)[0])
        raise StaggeredDataError(
            f"Column {weights!r} (`weights`) must be positive; row label "
            f"{_show(data.index[i])} has {_show(w[i])}."
        )
    Xcols = [_numeric(data, c, f"covariates[{j}]", allow_nan=True) for j, c in enumerate(covariates)]
    # rows with a missing outcome or covariate are not usable observations
    keep = ~np.isnan(y)
    for c, x in zip(covariates, Xcols):
        keep &= np.isfinite(x)
    if not keep.all():
        warnings.warn(
            f"Dropping {int((~keep).sum())} rows with a missing outcome or covariate.",
            UserWarning,
            stacklevel=5,
        )
    if panel and keep.all():
        fast = _rectangular_panel(data[unit].to_numpy(), y, t, g, w, Xcols,
                                  data[cluster].to_numpy() if cluster is not None else None)
        if fast is not None:
            return fast
    t_codes, t_uniq = pd.factorize(t, sort=False)
    order = np.argsort(t_uniq)
    periods = np.asarray(t_uniq)[order]
    if periods.shape[0] < 2:
        raise StaggeredDataError(f"Column {time!r} (`time`) has only one period; DiD needs at least two.")
    rank = np.empty(order.shape[0], dtype=np.int64)
    rank[order] = np.arange(order.shape[0])
    tidx = rank[t_codes]
    # cohorts after the last period are never treated within the window
    g = np.where(g > periods[-1], 0.0, g)

    if cluster is not None:
        cl_codes_all, cl_uniques = pd.factorize(data[cluster], use_na_sentinel=True)
        if (cl_codes_all < 0).any():
            i = int(np.flatnonzero(cl_codes_all < 0)[0])
            raise StaggeredDataError(
                f"Column {cluster!r} (`cluster`) is missing at row label {_show(data.index[i])}."
            )
    else:
        cl_codes_all = None

    if panel:
        codes, ids = pd.factorize(data[unit], use_na_sentinel=True)
        if (codes < 0).any():
            i = int(np.flatnonzero(codes < 0)[0])
            raise StaggeredDataError(
                f"Column {unit!r} (`unit`) is missing at row label {_show(data.index[i])}."
            )
        n_units = ids.shape[0]
        n_t = periods.shape[0]
        flat = codes.astype(np.int64) * n_t + tidx
        counts = np.bincount(flat, minlength=n_units * n_t)
        if counts.max() > 1:
            j = int(np.argmax(counts))
            raise StaggeredDataError(
                f"Unit {_show(ids[j // n_t])} appears {int(counts[j])} times in period "
                f"{_show(periods[j % n_t])}. "
                f"A panel needs one row per unit and period; aggregate the rows or use panel=False."
            )
        g_unit = _constant_within(codes, g, cohort, "cohort", np.asarray(ids))
        w_unit = (_constant_within(codes, w, weights, "weights", np.asarray(ids)) if weights
                  else np.ones(n_units))
        cl_unit = None
        n_clusters = 0
        if cl_codes_all is not None:
            cl_unit = _constant_within(codes, cl_codes_all.astype(float), cluster, "cluster",
                                       np.asarray(ids)).astype(np.int64)
            n_clusters = int(np.unique(cl_unit).shape[0])
        Y = np.full(n_units * n_t, np.nan)
        Y[flat[keep]] = y[keep]
        Y = Y.reshape(n_units, n_t)
        X = None
        if covariates:
            # time-invariant covariates (checked over the usable rows) are kept once per
            # unit, so that cells sharing their rows share every fit
            codes_k = codes[keep]
            unit_vals = []
            for x in Xcols:
                u = np.full(n_units, np.nan)
                u[codes_k] = x[keep]
                if not np.array_equal(u[codes_k], x[keep]):
                    break
                unit_vals.append(u)
            if len(unit_vals) == len(Xcols):
                X = np.column_stack([np.ones(n_units)] + unit_vals)
            else:
                X = np.full((n_units * n_t, len(covariates) + 1), np.nan)
                X[:, 0] = 1.0
                for j, x in enumerate(Xcols):
                    X[flat[keep], j + 1] = x[keep]
                X = X.reshape(n_units, n_t, len(covariates) + 1)
        return _panel_data(periods, Y, X, g_unit, w_unit, cl_unit, n_clusters, ids)

    # repeated cross-sections
    sel = keep & ~((g > 0) & (g <= periods[0]))
    n_drop = int((keep & (g > 0) & (g <= periods[0])).sum())
    if n_drop:
        warnings.warn(
            f"Dropping {n_drop} observations of cohorts already treated in the first period.",
            UserWarning,
            stacklevel=5,
        )
    Xrow = None
    if covariates:
        Xrow = np.column_stack([np.ones(int(sel.sum()))] + [x[sel] for x in Xcols])
    cl = None
    n_clusters = 0
    if cl_codes_all is not None:
        cl = pd.factorize(cl_codes_all[sel])[0].astype(np.int64)
        n_clusters = int(cl.max()) + 1
    return CSData(
        panel=False, periods=periods, cohort=g[sel],
        weight=w[sel] if w is not None else np.ones(int(sel.sum())), cluster=cl,
        n_clusters=n_clusters, y=y[sel], tidx=tidx[sel], Xrow=Xrow, dropped_first_period=n_drop,
    )


def _panel_data(periods: Array, Y: Array, X: Array | None, g_unit: Array, w_unit: Array,
                cl_unit: Array | None, n_clusters: int, ids: Array,
                balanced: bool | None = None, stacklevel: int = 6) -> CSData:
    """CSData of a panel from its unit-level arrays, after dropping the units treated in
    the first period (R `did` does too: they have no untreated period) and the units
    never observed. ``balanced`` may be given when it is known (every Y finite);
    ``stacklevel`` points warnings at the caller of ``att_gt``."""
    first = (g_unit > 0) & (g_unit <= periods[0])
    n_drop = int(first.sum())
    if n_drop:
        warnings.warn(
            f"Dropping {n_drop} units already treated in the first period ({_show(periods[0])}); "
            f"they have no pre-treatment period.",
            UserWarning,
            stacklevel=stacklevel,
        )
        sel = ~first
        Y, g_unit, w_unit = Y[sel], g_unit[sel], w_unit[sel]
        X = X[sel] if X is not None else None
        if cl_unit is not None:
            cl_unit = pd.factorize(cl_unit[sel])[0].astype(np.int64)
            n_clusters = int(cl_unit.max()) + 1
        ids = np.asarray(ids)[sel]
    if balanced is None:
        seen = ~np.isnan(Y)
        if not seen.any(axis=1).all():
            sel = seen.any(axis=1)
            Y, g_unit, w_unit = Y[sel], g_unit[sel], w_unit[sel]
            X = X[sel] if X is not None else None
            if cl_unit is not None:
                cl_unit = pd.factorize(cl_unit[sel])[0].astype(np.int64)
                n_clusters = int(cl_unit.max()) + 1
            ids = np.asarray(ids)[sel]
            seen = seen[sel]
        balanced = bool(seen.all())
    return CSData(
        panel=True, periods=periods, cohort=g_unit, weight=w_unit, cluster=cl_unit,
        n_clusters=n_clusters, Y=Y, X=X, unit_ids=np.asarray(ids), balanced=balanced,
        dropped_first_period=n_drop,
    )


def _per_unit(v2: Array) -> Array | None:
    """The first column of an n_units x T array if every row is constant (NaN equal to
    NaN), else None."""
    first = v2[:, :1]
    same = v2 == first
    if same.all():
        return v2[:, 0]
    if v2.dtype.kind == "f":
        same |= np.isnan(v2) & np.isnan(first)
        if same.all():
            return v2[:, 0]
    return None


def _rectangular_panel(unit_v: Array, y: Array, t: Array, g: Array, w: Array | None,
                       Xcols: list[Array], cluster_v: Array | None) -> CSData | None:
    """Layout of a panel stored unit by unit, every unit with the same increasing periods
    and no row missing, by reshaping (no hashing or scattering of the rows).

    Row r is unit r // T at period r % T, so the outcome matrix is ``y.reshape(n, T)``
    (C order: a unit's periods are adjacent). Returns None whenever the data are not
    laid out so or something needs a message (the general path then lays them out or
    explains the problem).
    """
    n_rows = t.shape[0]
    head = unit_v[: min(n_rows, 4096)]
    differs = np.flatnonzero(head != head[0])
    if differs.size == 0:
        return None
    T = int(differs[0])
    if T < 2 or n_rows % T:
        return None
    n_units = n_rows // T
    periods = t[:T].copy()
    if not np.all(np.diff(periods) > 0) or not (t.reshape(n_units, T) == periods).all():
        return None
    ids = _per_unit(unit_v.reshape(n_units, T))
    if ids is None or pd.isna(ids).any():
        return None
    if not (ids.dtype.kind in "iuf" and np.all(ids[1:] > ids[:-1])) \
            and pd.unique(ids).shape[0] != n_units:
        return None                      # a unit in two blocks: not this layout
    g_unit = _per_unit(g.reshape(n_units, T))
    w_unit = np.ones(n_units) if w is None else _per_unit(w.reshape(n_units, T))
    if g_unit is None or w_unit is None:
        return None
    g_unit = np.where(g_unit > periods[-1], 0.0, g_unit)
    cl_unit, n_clusters = None, 0
    if cluster_v is not None:
        cl = _per_unit(cluster_v.reshape(n_units, T))
        if cl is None:
            return None
        codes, uniq = pd.factorize(cl, use_na_sentinel=True)
        if (codes < 0).any():
            return None
        cl_unit, n_clusters = codes.astype(np.int64), int(uniq.shape[0])
    X = None
    if Xcols:
        static = [_per_unit(x.reshape(n_units, T)) for x in Xcols]
        if all(v is not None for v in static):
            X = np.column_stack([np.ones(n_units)] + static)
        else:
            X = np.empty((n_units, T, len(Xcols) + 1))
            X[:, :, 0] = 1.0
            for j, x in enumerate(Xcols):
                X[:, :, j + 1] = x.reshape(n_units, T)
    Y = y.reshape(n_units, T)
    return _panel_data(periods, Y, X, g_unit, w_unit, cl_unit, n_clusters, ids, balanced=True,
                       stacklevel=7)
