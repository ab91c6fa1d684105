"""Callaway & Sant'Anna (2021) group-time ATTs for staggered adoption.

``att_gt`` estimates, for every cohort g (units first treated in period g) and period t,

    ATT(g, t) = E[Y_t(g) - Y_t(0) | G = g],

by a two-period DiD between cohort g and a comparison group (never treated, or not yet
treated by max(t, base) + anticipation), from the base period g - 1 - anticipation
(post-treatment cells; pre-treatment cells use t - 1 with ``base_period="varying"``).
Each cell uses the outcome-regression, IPW or doubly robust estimator of Sant'Anna &
Zhao (2020). Inference is from influence functions (analytic, clustered) or a multiplier
bootstrap with simultaneous bands. ``.aggregate()`` forms the simple, group, dynamic and
calendar summaries of R ``did::aggte``, including the estimation of the cohort weights.

References: Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-differences with
multiple time periods", J. Econometrics 225(2), 200-230; Sant'Anna, P. H. C. and Zhao, J.
(2020), "Doubly robust difference-in-differences estimators", J. Econometrics 219(1),
101-122. The design (and its numbers on ``mpdta``) follow R ``did`` 2.x; the code is ours.

Unbalanced panels (units leave or join): each cell uses the units observed in both of its
periods, and the influence function is zero for the others, so no unit is dropped from
the whole analysis (R ``did`` instead balances the panel or falls back to cross-section
estimators). With ``panel=False`` rows are independent observations (repeated
cross-sections) and the cross-section estimators are used.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.core.result import Estimate, ResultMixin, SummaryText
from evaltools.core.vocabulary import choice, renamed
from evaltools.estimate.diff_in_diff import _cs_aggregate as agg
from evaltools.estimate.diff_in_diff import _cs_inference as inf
from evaltools.estimate.diff_in_diff._cs_data import CSData, StaggeredDataError, prepare
from evaltools.estimate.diff_in_diff._cs_estimators import CROSS_SECTION, PANEL, EstimationWarning
from evaltools.estimate.diff_in_diff._cs_plot import plot_aggregate, plot_cells
from evaltools.estimate.cluster_robust import few_clusters

__all__ = ["att_gt", "ATTgtResult", "AggregatedATT", "StaggeredDataError"]

Array = np.ndarray

_METHOD_NAMES = {
    "dr": "doubly robust",
    "ipw": "inverse probability weighting",
    "reg": "outcome regression",
}
_CONTROL_ALIASES = {"never": "never", "nevertreated": "never", "notyet": "notyet",
                    "notyettreated": "notyet", "not_yet_treated": "notyet", "never_treated": "never"}


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _one_blas_thread():
    """Context: one BLAS thread (see :func:`_cs_inference.one_blas_thread`)."""
    return inf.one_blas_thread()


def _intlike(a) -> np.ndarray:
    """Periods and cohorts as integers when they are whole numbers (for readable tables)."""
    a = np.asarray(a, dtype=float)
    if a.size and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        return a.astype(np.int64)
    return a


# ---------------------------------------------------------------------------- cells


class _Rows:
    """A set of positions in a row space, kept with its contiguous runs when there are
    few of them, so that adding a block into a full-length matrix is a slice addition
    per run (fancy indexing of rows is several times slower)."""

    MAX_RUNS = 64

    def __init__(self, idx: Array):
        self.idx = idx
        self.runs: list[tuple[int, int, int]] | None = None
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        if breaks.size < self.MAX_RUNS:
            starts = np.r_[0, breaks].astype(np.int64)
            stops = np.r_[breaks, idx.shape[0]].astype(np.int64)
            self.runs = [(int(idx[a]), int(idx[a]) + int(b - a), int(a))
                         for a, b in zip(starts, stops) if b > a]

    def add_to(self, out: Array, block: Array) -> None:
        """out[idx] += block."""
        if self.runs is None:
            out[self.idx] += block
            return
        for lo, hi, off in self.runs:
            out[lo:hi] += block[off:off + hi - lo]


@dataclass
class _Cells:
    """The ATT(g,t) cells and their influence functions.

    The influence function of a cell is zero outside its rows (its cohort and its
    comparison group), so it is stored by batch of cells that share their rows:
    ``blocks`` holds ``(rows, cells, psi)`` with ``psi`` the len(rows) x len(cells)
    values (scaled as in R ``did``: Var(att) ~= sum psi^2 / n^2). Cells in no block
    (skipped, or the universal reference fixed at zero) have a zero influence function.

    ``rows`` are positions in the *sorted row space*: the data rows ordered by cohort
    (and by period for repeated cross-sections), ``order[pos]`` being the data row at
    position ``pos``. A batch's rows are then a few contiguous runs, so aggregations add
    blocks by slices; sums over rows (SEs, covariances) do not depend on the order.
    """

    group: Array
    time: Array
    base: Array
    att: Array
    n_treated: Array
    n_control: Array
    order: Array
    blocks: list[tuple[_Rows, Array, Array]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.order.shape[0])

    def dense(self, cells: Array | None = None) -> Array:
        """n x len(cells) influence functions (all cells by default), rows in the data's
        order, F order."""
        cells = np.arange(self.att.shape[0]) if cells is None else np.asarray(cells)
        pos = np.full(self.att.shape[0], -1)
        pos[cells] = np.arange(cells.shape[0])
        out = np.zeros((self.n, cells.shape[0]), order="F")
        for rows, js, psi in self.blocks:
            units = self.order[rows.idx]
            for c, j in enumerate(js):
                if pos[j] >= 0:
                    out[units, pos[j]] = psi[:, c]
        return out

    def nonzero(self) -> Array:
        """Which cells have an influence function that is not identically zero."""
        out = np.zeros(self.att.shape[0], dtype=bool)
        for _, js, psi in self.blocks:
            out[js] = np.any(psi != 0, axis=0)
        return out

    def se(self, cluster: Array | None, n_clusters: int) -> Array:
        """Analytic SEs of the cells, sqrt(sum_c (sum_{i in c} psi_i)^2) / n (see
        :func:`_cs_inference.analytic_se`), block by block; ``cluster`` in the sorted
        row space."""
        ss = np.zeros(self.att.shape[0])
        for rows, js, psi in self.blocks:
            S = inf.cluster_sums(psi, None if cluster is None else cluster[rows.idx], n_clusters)
            ss[js] = np.einsum("ij,ij->j", S, S)
        return inf.se_from_sum_of_squares(ss, self.n)

    def combine(self, A: Array, out: Array) -> Array:
        """Add the influence functions of the linear combinations A (cells x p) to out
        (n x p, sorted row space)."""
        for rows, js, psi in self.blocks:
            a = A[js]
            if a.any():
                rows.add_to(out, psi @ a)
        return out


def _plan_cells(T: Array, glist: Array, anticipation: float, base_period: str,
                control: str) -> tuple[list[tuple], list[tuple]]:
    """The (g, t) cells with their base period and comparison rule, R ``did`` style.

    Returns (cells, skipped): cells are (g, t_index, base_index, tmax) with tmax the
    later of t and the base period (comparisons must be untreated through tmax +
    anticipation); the universal reference cell has base_index == t_index.
    """
    nT = T.shape[0]
    cells, skipped = [], []
    for g in glist:
        pre_idx = np.flatnonzero(T + anticipation < g)
        for ti in (range(nT) if base_period == "universal" else range(1, nT)):
            t = T[ti]
            post = g <= t
            if (base_period == "universal" or post) and pre_idx.size == 0:
                skipped.append((g, t))
                continue
            bi = int(pre_idx[-1]) if (base_period == "universal" or post) else ti - 1
            cells.append((g, ti, bi, max(t, T[bi])))
    return cells, skipped


def _batches(plan: list[tuple], d: CSData, control: str) -> dict[tuple, list[int]]:
    """Cells that share their rows (and covariate values), to be estimated together:
    with never-treated comparisons in a balanced panel with time-invariant covariates,
    all cells of a cohort. Universal reference cells (base == t) are left out."""
    x_static = d.panel and d.X is not None and d.X.ndim == 2
    batches: dict[tuple, list[int]] = {}
    for j, (g, ti, bi, tmax) in enumerate(plan):
        if bi == ti:
            continue
        key = (g, None if control == "never" else tmax,
               None if (d.panel and d.balanced) else (ti, bi),
               None if (d.X is None or x_static) else min(ti, bi))
        if not d.panel:
            key = key + (j,)
        batches.setdefault(key, []).append(j)
    return batches


def _row_order(d: CSData) -> Array:
    """The sorted row space: rows by cohort (repeated cross-sections: by cohort, then
    period), ties in data order."""
    cohorts = np.sort(pd.unique(d.cohort))          # few values: hash, then sort
    codes = np.searchsorted(cohorts, d.cohort)
    if not d.panel:
        codes = codes * d.periods.shape[0] + d.tidx
    # small integer keys sort by radix (stable, linear time)
    small = np.int16 if codes.max() < np.iinfo(np.int16).max else np.int64
    return np.argsort(codes.astype(small), kind="stable")


def _panel_args(d: CSData, sel: Array, D: Array, js: list[int], plan: list[tuple]) -> tuple:
    """The panel estimator's arguments (dy, D, X, w) on the rows sel, with
    dy = Y_t - Y_base, one column per cell."""
    _, ti0, bi0, _ = plan[js[0]]
    # np.take gathers rows several times faster than fancy indexing
    Ys = np.take(d.Y, sel, axis=0)      # a unit's periods are adjacent in Y
    dy = Ys[:, [plan[j][1] for j in js]]
    dy -= Ys[:, [plan[j][2] for j in js]]
    if d.X is None:
        X = np.ones((sel.shape[0], 1))
    elif d.X.ndim == 2:
        X = np.take(d.X, sel, axis=0)
    else:
        X = np.ascontiguousarray(np.take(d.X[:, min(ti0, bi0)], sel, axis=0))
    return dy, D.astype(float), X, np.take(d.weight, sel)


def _estimate_cells(d: CSData, method: str, control: str, anticipation: float,
                    base_period: str) -> _Cells:
    """Every ATT(g,t) cell with its influence function, batch by batch (see _batches)."""
    T = d.periods
    n = d.n
    G = d.cohort
    glist = np.unique(G[G > 0])
    plan, skipped = _plan_cells(T, glist, anticipation, base_period, control)
    if skipped:
        warnings.warn(
            f"{len(skipped)} group-time cells have no pre-treatment period (given anticipation="
            f"{anticipation}) and are skipped: "
            + ", ".join(f"({_fmt(g)}, {_fmt(t)})" for g, t in skipped[:5])
            + (" ..." if len(skipped) > 5 else ""),
            EstimationWarning,
            stacklevel=5,
        )
    if not plan:
        raise StaggeredDataError(
            "No group-time ATT can be estimated: there is no treated cohort with a pre-treatment "
            "period. Check the `cohort` column (first treated period, 0/NaN = never treated)."
        )
    m = len(plan)
    order = _row_order(d)
    cells = _Cells(
        group=np.array([c[0] for c in plan], dtype=float),
        time=np.array([T[c[1]] for c in plan], dtype=float),
        base=np.array([T[c[2]] for c in plan], dtype=float),
        att=np.full(m, np.nan), n_treated=np.zeros(m, dtype=np.int64),
        n_control=np.zeros(m, dtype=np.int64), order=order,
    )
    for j, (g, ti, bi, _) in enumerate(plan):
        if bi == ti:  # the universal reference period itself: ATT fixed at zero
            cells.att[j] = 0.0
            cells.n_treated[j] = int(np.sum(G == g))
    est = PANEL[method] if d.panel else CROSS_SECTION[method]
    never = G == 0
    for key, js in _batches(plan, d, control).items():
        g = key[0]
        _, ti0, bi0, tmax = plan[js[0]]
        is_treated = G == g
        is_control = never if control == "never" else (
            never | ((G > tmax + anticipation) & (G != g)))
        in_cell = is_treated | is_control
        if not d.panel:
            in_cell &= (d.tidx == bi0) | (d.tidx == ti0)
        elif not d.balanced:
            in_cell &= ~np.isnan(d.Y[:, ti0]) & ~np.isnan(d.Y[:, bi0])
        pos = np.flatnonzero(in_cell[order])       # positions in the sorted row space
        sel = order[pos]                            # the data rows
        D = is_treated[sel]
        if d.panel:
            args = _panel_args(d, sel, D, js, plan)
            X = args[2]
        else:
            X = d.Xrow[sel] if d.Xrow is not None else np.ones((sel.shape[0], 1))
            args = (d.y[sel], (d.tidx[sel] == ti0).astype(float), D.astype(float),
                    X, d.weight[sel])
        nt = int(np.count_nonzero(D))
        nc = int(D.shape[0] - nt)
        cells.n_treated[js], cells.n_control[js] = nt, nc
        k = X.shape[1]
        min_needed = k + 1 if d.panel else 2 * (k + 1)
        labels = ", ".join(f"ATT({_fmt(g)}, {_fmt(T[plan[j][1]])})" for j in js)
        if nt < (1 if d.panel else 2) or nc < min_needed:
            warnings.warn(
                f"{labels} cannot be estimated: {nt} treated and {nc} comparison "
                f"{'units' if d.panel else 'observations'} (with {k - 1} covariates). "
                f"Left out (NaN).",
                EstimationWarning,
                stacklevel=5,
            )
            continue
        try:
            a, psi = est(*args)
        except np.linalg.LinAlgError:
            warnings.warn(
                f"{labels}: the covariates are collinear within the cell, so the regression or "
                f"propensity score cannot be fitted. Left out (NaN); drop a covariate that does "
                f"not vary within the cohort or its comparison group.",
                EstimationWarning,
                stacklevel=5,
            )
            continue
        cells.att[js] = np.atleast_1d(a)
        psi = psi.reshape(sel.shape[0], -1)
        psi *= n / sel.shape[0]
        cells.blocks.append((_Rows(pos), np.asarray(js), psi))
    return cells


# --------------------------------------------------------------------------- results


@dataclass(repr=False)
class AggregatedATT(ResultMixin):
    """An aggregation of ATT(g,t): the overall ATT and a tidy table of its parts.

    ``table`` has one row per group, event time or calendar period (none for
    ``"simple"``): estimate, se, pointwise CI, p-value and, with the bootstrap, the
    simultaneous band. ``overall`` is the headline :class:`Estimate`.

    ``vcov`` is the covariance matrix of the table's estimates (rows and columns
    labelled like the table's rows, e.g. by event time), from the influence functions
    psi of the rows: ``V = S'S / n^2`` with S the cluster sums of psi (psi itself
    without clusters), so ``diag(V) = se^2``. With the multiplier bootstrap the
    correlations are those of the influence functions and the diagonal is the squared
    bootstrap SE. A row without an SE (the reference of a universal base period) has a
    NaN row and column. This is the ``sigma`` of HonestDiD-style sensitivity analysis
    (see :func:`evaltools.inference.honest_did_event_study`).
    """

    kind: str
    overall: Estimate
    table: pd.DataFrame
    critical_value: float
    options: dict[str, Any] = field(default_factory=dict)
    vcov: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    # influence functions (overall, then the table's rows) in the cells' sorted row
    # space: row i is data row _if_rows[i]
    _if: Array | None = field(default=None, repr=False)
    _if_rows: Array | None = field(default=None, repr=False)
    _if_labels: list[str] = field(default_factory=list, repr=False)

    @property
    def _influence(self) -> dict[str, Array]:
        """Label ("overall" or the row's label) -> influence function, rows in the data's
        order (units for panels), scaled as the cells' (Var = sum psi^2 / n^2)."""
        if self._if is None:
            return {}
        out = np.empty_like(self._if)
        out[self._if_rows] = self._if
        return {lab: out[:, j] for j, lab in enumerate(self._if_labels)}

    @property
    def event_times(self) -> Array:
        """The event times e = t - g of the table's rows (``kind="dynamic"`` only)."""
        if self.kind != "dynamic":
            raise ValueError(f"event_times exist for aggregate('dynamic') only; this is a "
                             f"{self.kind!r} aggregation.")
        return self.table["event_time"].to_numpy()

    def estimates(self) -> list[Estimate]:
        """One :class:`Estimate` per row of the table."""
        out = []
        for _, r in self.table.iterrows():
            out.append(Estimate(
                estimand=r["estimand"], estimate=r["estimate"], se=r["se"], ci_low=r["ci_low"],
                ci_high=r["ci_high"], pvalue=r["pvalue"], n=dict(self.overall.n),
                method=self.overall.method, level=self.overall.level, options=dict(self.options),
            ))
        return out

    def to_frame(self) -> pd.DataFrame:
        """The overall ATT followed by the table's rows."""
        head = self.overall.to_frame().reset_index()
        head.insert(1, self._key, np.nan)
        rows = self.table.copy()
        return pd.concat([head[[c for c in head.columns if c in rows.columns or c.startswith("n_")]],
                          rows], ignore_index=True)

    @property
    def estimate(self) -> Estimate:
        """The headline: the overall ATT of this aggregation (``overall``)."""
        return self.overall

    def to_dict(self) -> dict[str, Any]:
        """The overall ATT, the table, the band's critical value and the options."""
        return {"type": "AggregatedATT", "kind": self.kind, "estimate": self.overall, "table": self.table,
                "critical_value": self.critical_value, "options": self.options}

    def _summary_title(self) -> str:
        return f"Callaway & Sant'Anna aggregation: {self.kind}"

    @property
    def _key(self) -> str:
        return {"group": "group", "dynamic": "event_time", "calendar": "time"}.get(self.kind, "row")

    def plot(self, ax=None, **kwargs):
        """Plot the table's estimates with pointwise CIs (and bands); returns the Axes."""
        return plot_aggregate(self, ax=ax, **kwargs)

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        lines = [f"Callaway & Sant'Anna aggregation: {self.kind}", repr(self.overall)]
        if not self.table.empty:
            show = self.table[[self._key, "estimate", "se", "ci_low", "ci_high"]
                              + (["band_low", "band_high"] if "band_low" in self.table else [])]
            lines.append(show.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
            if math.isfinite(self.critical_value):
                lines.append(f"simultaneous band critical value: {self.critical_value:.3f}")
        return "\n".join(lines)


class ATTgtResult(ResultMixin):
    """Group-time ATTs: a tidy table of cells, their influence functions and summaries.

    ``table`` columns: group, time, base_period, event_time, post, att, se, ci_low,
    ci_high, pvalue, n_treated, n_control (and band_low, band_high with the bootstrap).
    """

    def __init__(self, cells: _Cells, data: CSData, options: dict[str, Any], level: float,
                 bootstrap: int | None, seed: int | None):
        self._cells = cells
        self._d = data
        self.options = options
        self.level = level
        self.n_boot = self.bootstrap = bootstrap  # bootstrap: the old name, kept for one release
        self.seed = seed
        self.glist = np.unique(data.cohort[data.cohort > 0])
        w = data.weight
        # each row's cohort as an index into glist (never treated: glist.size)
        self._gidx = np.searchsorted(self.glist, data.cohort)
        self._gidx[data.cohort == 0] = self.glist.size
        self.pg = np.bincount(self._gidx, weights=w, minlength=self.glist.size + 1)[:-1] / data.n
        # the sorted row space of the cells (see _Cells): weights, clusters, cohort runs
        order = cells.order
        self._w_sorted = w[order]
        self._cluster_sorted = data.cluster[order] if data.cluster is not None else None
        gs = self._gidx[order]
        cuts = np.flatnonzero(np.diff(gs)) + 1
        self._cohort_runs = [(int(a), int(b), int(gs[a]))
                             for a, b in zip(np.r_[0, cuts], np.r_[cuts, gs.shape[0]])]
        self._draws = None
        if bootstrap:
            rng = np.random.default_rng(seed)
            V = np.eye(self.glist.size + 1)[self._gidx, :-1] * w[:, None] - self.pg
            M = np.column_stack([cells.dense(), V])       # rows in the data's order
            self._draws = inf.multiplier_draws(M, data.cluster, data.n_clusters, int(bootstrap), rng)
        self.table = self._build_table()

    # -------------------------------------------------------------- basic pieces
    @property
    def n(self) -> dict[str, int]:
        d = self._d
        out = {"units" if d.panel else "observations": d.n,
               "treated": int(np.sum(d.cohort > 0))}
        if d.cluster is not None:
            out["clusters"] = d.n_clusters
        return out

    @property
    def method(self) -> str:
        return f"Callaway-Sant'Anna (2021), {_METHOD_NAMES[self.options['method']]}"

    def _group_terms(self, B: Array) -> Array:
        """V @ B (n x p, sorted row space) for the group-share terms
        v_g = w 1{G = g} - p_g: w_i B[g_i] - p' B, cohort run by cohort run."""
        out = np.empty((self._d.n, B.shape[1]))
        for lo, hi, k in self._cohort_runs:
            if k < B.shape[0]:
                np.multiply(self._w_sorted[lo:hi, None], B[k], out=out[lo:hi])
            else:                                            # never treated: no term
                out[lo:hi] = 0.0
        out -= self.pg @ B
        return out

    def _influence(self, A: Array, B: Array) -> Array:
        """Influence functions of the parameters whose coefficient columns are A (on the
        cells) and B (on the group-share terms): psi = IF_cells @ A + V @ B (n x p,
        sorted row space)."""
        return self._cells.combine(A, self._group_terms(B))

    def _se_and_band(self, A: Array, B: Array) -> tuple[Array, Array, float]:
        """SEs of the parameters with coefficient columns (A on cells, B on groups)."""
        IF = self._influence(A, B)
        if self._draws is None:
            return (inf.analytic_se(IF, self._cluster_sorted, self._d.n_clusters), IF,
                    float("nan"))
        draws = self._draws @ np.vstack([A, B])
        se = inf.bootstrap_se(draws)
        return se, IF, inf.sup_t_critical(draws, se, self.level)

    def _build_table(self) -> pd.DataFrame:
        c = self._cells
        m = c.att.shape[0]
        ok = np.isfinite(c.att)
        if self._draws is None:
            se = c.se(self._cluster_sorted, self._d.n_clusters)
            crit = float("nan")
        else:
            draws = self._draws[:, :m]
            se = inf.bootstrap_se(draws)
            crit = inf.sup_t_critical(draws, se, self.level)
        se = np.where(ok, se, np.nan)
        self.critical_value = crit
        z = float(stats.norm.ppf(0.5 + self.level / 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            p = 2 * stats.norm.sf(np.abs(c.att / se))
        tab = pd.DataFrame({
            "group": _intlike(c.group), "time": _intlike(c.time), "base_period": _intlike(c.base),
            "event_time": _intlike(c.time - c.group),
            "post": c.group <= c.time, "att": c.att, "se": se, "ci_low": c.att - z * se,
            "ci_high": c.att + z * se, "pvalue": p, "n_treated": c.n_treated, "n_control": c.n_control,
        })
        if self._draws is not None:
            tab["band_low"] = c.att - crit * se
            tab["band_high"] = c.att + crit * se
        return tab

    # ------------------------------------------------------------------ public
    def to_frame(self) -> pd.DataFrame:
        """The tidy table of group-time cells."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """The group-time table, the pre-trend test, the sample sizes and the options
        (a result of many cells has no single ``.estimate``: see :meth:`aggregate`)."""
        pt = self.pretrend_test()
        return {"type": "ATTgtResult", "table": self.table, "pretrend": pt.to_dict() if pt.df > 0 else None,
                "n": self.n, "method": self.method, "level": self.level, "n_boot": self.n_boot,
                "seed": self.seed, "options": self.options}

    def _summary_title(self) -> str:
        return f"Callaway & Sant'Anna (2021) group-time ATTs, {_METHOD_NAMES[self.options['method']]}"

    def cell(self, group: float, time: float) -> Estimate:
        """ATT(group, time) as an :class:`Estimate`."""
        r = self.table[(self.table["group"] == group) & (self.table["time"] == time)]
        if r.empty:
            raise KeyError(
                f"No cell ATT({group}, {time}); groups are {', '.join(map(_fmt, self.glist))} and "
                f"periods {', '.join(map(_fmt, self._d.periods))}."
            )
        r = r.iloc[0]
        return Estimate.from_normal(
            f"ATT({_fmt(group)}, {_fmt(time)})", r["att"], r["se"], level=self.level,
            n={**self.n, "cohort": int(r["n_treated"]), "comparison": int(r["n_control"])},
            method=self.method, options=dict(self.options), diagnostics=self._few_clusters(),
        )

    def _few_clusters(self) -> dict[str, Any]:
        """``{"few_clusters": ...}`` when clustered by fewer than FEW_CLUSTERS clusters, else ``{}``."""
        G = self.n.get("clusters")
        fc = few_clusters(int(G), None, advice=(
            "the influence-function SEs and the multiplier bootstrap have no small-sample correction: treat "
            "the intervals as too narrow.")) if G else None
        return {"few_clusters": fc} if fc else {}

    def influence_function(self) -> pd.DataFrame:
        """Rows x cells matrix of the ATT(g,t) influence functions (scaled as in R ``did``)."""
        names = [f"ATT({_fmt(g)}, {_fmt(t)})" for g, t in zip(self._cells.group, self._cells.time)]
        return pd.DataFrame(self._cells.dense(), columns=names)

    def pretrend_test(self, method: str = inf.DEFAULT_WALD_METHOD, *, n_boot: int | None = inf.DEFAULT_WALD_DRAWS,
                      weight_type: str = "webb", seed: int | None = None) -> inf.WaldTest:
        """Joint test that all pre-treatment ATT(g,t) are zero (parallel pre-trends).

        Uses the influence-function covariance of the pre-period cells t < g - anticipation
        (cells fixed at zero by a universal base period are left out), clustered as the
        estimates: W = theta' V^+ theta with q = rank V restrictions. The p-value is that of
        ``method`` (:func:`_cs_inference.wald_test`, where the formulas are):

        * ``"sup-t"`` (default): restricted wild cluster bootstrap of max_j |theta_j| / se_j,
          each draw studentised by its own SEs (Webb weights, or ``weight_type="rademacher"``;
          ``n_boot`` draws, by default 9,999, or 1,999 with thousands of clusters); each
          cell's cohort and comparison group are centred at their pooled mean (H0) and
          re-estimated in every draw. ``seed`` (default: the fit's ``seed``, else 0) makes it
          reproducible.
        * ``"wild"``: the same bootstrap of W.
        * ``"F"``: F = W/q (G - q)/(G - 1) on F(q, G - q).
        * ``"chi2"``: chi2(q), the test R ``did`` reports (always kept as ``.pvalue_chi2``).

        With q = 14 restrictions and 43 clusters (the dropout roll-out), at 5 % the chi2 test
        rejected a true null in 80-83 % of samples, F in 43-46 %, the bootstrap Wald in 7-8 %
        and the bootstrap sup-t in 4.7-5.5 % (two runs of 1,000 replications, band 3.6-6.4 %;
        tests/estimate/diff_in_diff/test_pretrend_size.py, docs/honest_did.md).
        """
        seed = (self.seed if self.seed is not None else 0) if seed is None else seed
        key = (method, n_boot, weight_type, seed)
        cache = self.__dict__.setdefault("_pretrend_cache", {})
        if key not in cache:
            cache[key] = self._pretrend_test(method, n_boot, weight_type, seed)
        return cache[key]

    def _pretrend_test(self, method: str, n_boot: int | None, weight_type: str, seed: int) -> inf.WaldTest:
        c = self._cells
        d = self._d
        ant = self.options["anticipation"]
        # periods inside the anticipation window carry (allowed) anticipation effects
        pre = (c.time < c.group - ant) & np.isfinite(c.att) & c.nonzero()
        js = np.flatnonzero(pre)
        labels = [f"ATT({_fmt(g)}, {_fmt(t)})" for g, t in zip(c.group[pre], c.time[pre])]
        boot = inf._ALIASES.get(str(method).lower()) in ("wild", "sup-t")
        groups = self._cell_groups(js) if boot else None
        cluster, n_clusters = self._canonical_clusters()
        return inf.wald_test("pre-trend test", c.att[pre], c.dense(js), cluster, n_clusters, labels,
                             method=method, groups=groups, n_boot=n_boot, weight_type=weight_type, seed=seed)

    def _canonical_clusters(self) -> tuple[Array | None, int]:
        """The clusters (units without ``cluster``) numbered by their first unit in the order of
        the unit ids, so that the bootstrap's draws do not depend on the order of the input rows
        (repeated cross-sections: as the rows come)."""
        d = self._d
        if d.unit_ids is None:
            return d.cluster, d.n_clusters
        try:
            rank = np.empty(d.n, dtype=np.int64)
            rank[np.argsort(np.asarray(d.unit_ids), kind="stable")] = np.arange(d.n)
        except TypeError:                           # ids of mixed types: keep the data's order
            return d.cluster, d.n_clusters
        if d.cluster is None:
            return rank, d.n
        first = np.full(d.n_clusters, d.n, dtype=np.int64)
        np.minimum.at(first, d.cluster, rank)
        return np.argsort(np.argsort(first))[d.cluster], d.n_clusters

    def _cell_groups(self, js: Array) -> tuple[Array, Array]:
        """(w1, w0), n x len(js) in the data's row order: each cell's weights of its
        treated-cohort rows and of its comparison rows, zero elsewhere (see
        :func:`_cs_inference.wald_test`)."""
        c, d = self._cells, self._d
        col = np.full(c.att.shape[0], -1)
        col[js] = np.arange(js.shape[0])
        w1 = np.zeros((c.n, js.shape[0]))
        w0 = np.zeros((c.n, js.shape[0]))
        for rows, cells, _ in c.blocks:
            units = c.order[rows.idx]
            w = d.weight[units]
            for j in cells:
                k = col[j]
                if k >= 0:
                    treated = d.cohort[units] == c.group[j]
                    w1[units[treated], k] = w[treated]
                    w0[units[~treated], k] = w[~treated]
        return w1, w0

    def aggregate(self, kind: Literal["simple", "group", "dynamic", "calendar"] = "simple",
                  min_e: float | None = None, max_e: float | None = None,
                  balance_e: int | None = None) -> AggregatedATT:
        """Aggregate the cells as R ``did::aggte(type = kind, ...)`` (see ``_aggregate``)."""
        with _one_blas_thread():
            return self._aggregate(kind, min_e, max_e, balance_e)

    def _aggregate(self, kind: str, min_e: float | None, max_e: float | None,
                   balance_e: int | None) -> AggregatedATT:
        """Aggregate the cells as R ``did::aggte(type = kind, ...)``.

        simple: sum_{g<=t, t-g<=max_e} p_g ATT(g,t) / sum p_g; group: the mean of each
        cohort's post cells, then p_g-weighted; dynamic: by event time e = t - g with
        p_g weights (``balance_e`` keeps cohorts seen for e = 0..balance_e), overall =
        mean over e >= 0; calendar: by period t over treated cohorts, overall = mean over t.
        SEs include the estimation of the weights p_g. Event times and ``min_e``/``max_e``
        are in the units of the time column (R recodes periods to 1..T for the max_e
        filter of "simple"/"group"; the two agree for consecutive periods).
        """
        kind = choice(kind, ("simple", "group", "dynamic", "calendar"), "kind", where="aggregate",
                      hint="(the aggregation, as R did::aggte's type)")
        if balance_e is not None and kind != "dynamic":
            raise ValueError("balance_e only applies to kind='dynamic'.")
        c = self._cells
        ok = np.isfinite(c.att)
        if not ok.all():
            warnings.warn(f"{int((~ok).sum())} ATT(g,t) cells are NaN and are left out of the "
                          f"aggregation.", EstimationWarning, stacklevel=3)
        lo = -np.inf if min_e is None else float(min_e)
        hi = np.inf if max_e is None else float(max_e)
        overall, rows = agg.aggregate(kind, c.group[ok], c.time[ok], c.att[ok], self.glist, self.pg,
                                      self._d.periods, lo, hi, balance_e)
        idx = np.flatnonzero(ok)
        m = c.att.shape[0]

        def full_a(a_ok: Array) -> Array:
            a = np.zeros(m)
            a[idx] = a_ok
            return a

        params = [overall] + rows
        A = np.column_stack([full_a(p.a) for p in params])
        B = np.column_stack([p.b for p in params])
        se, IF, _ = self._se_and_band(A, B)
        crit = float("nan")
        if self._draws is not None and rows:
            draws = self._draws @ np.vstack([A[:, 1:], B[:, 1:]])
            crit = inf.sup_t_critical(draws, se[1:], self.level)
        opts = {**self.options, "aggregation": kind}
        if min_e is not None:
            opts["min_e"] = min_e
        if max_e is not None:
            opts["max_e"] = max_e
        if balance_e is not None:
            opts["balance_e"] = balance_e
        names = {"simple": "ATT (simple weighted average)",
                 "group": "ATT (average over cohorts)",
                 "dynamic": "ATT (average over event times e >= 0)",
                 "calendar": "ATT (average over calendar periods)"}
        overall_est = Estimate.from_normal(names[kind], overall.estimate, se[0], level=self.level,
                                           n=self.n, method=self.method, options=opts,
                                           diagnostics={"n_boot": self.n_boot or 0, **self._few_clusters()})
        key = {"group": "group", "dynamic": "event_time", "calendar": "time"}.get(kind, "row")
        z = float(stats.norm.ppf(0.5 + self.level / 2))
        est = np.array([r.estimate for r in rows])
        rse = se[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            p = 2 * stats.norm.sf(np.abs(est / rse)) if rows else np.array([])
        prefix = {"group": "ATT(g={})", "dynamic": "ATT(e={})", "calendar": "ATT(t={})"}.get(kind, "{}")
        table = pd.DataFrame({
            "estimand": [prefix.format(_fmt(r.label)) for r in rows],
            key: _intlike([r.label for r in rows]), "estimate": est, "se": rse,
            "ci_low": est - z * rse, "ci_high": est + z * rse, "pvalue": p,
        })
        if self._draws is not None:
            table["band_low"] = est - crit * rse
            table["band_high"] = est + crit * rse
        vcov = pd.DataFrame(self._rows_vcov(IF[:, 1:], rse), index=table[key].to_numpy(),
                            columns=table[key].to_numpy())
        vcov.index.name = vcov.columns.name = key
        return AggregatedATT(kind=kind, overall=overall_est, table=table, critical_value=crit,
                             options=opts, vcov=vcov, _if=IF, _if_rows=self._cells.order,
                             _if_labels=["overall"] + [str(r.label) for r in rows])

    def _rows_vcov(self, IF: Array, se: Array) -> Array:
        """Covariance of the parameters with influence functions IF (n x k) and SEs se.

        Analytic SEs: V = S'S / n^2 (S the cluster sums of IF), whose diagonal is se^2.
        Bootstrap SEs: D C D with C the influence-function correlation and D = diag(se).
        Parameters without an SE get NaN rows and columns.
        """
        V = inf.influence_vcov(IF, self._cluster_sorted, self._d.n_clusters)
        ok = np.isfinite(se)
        if self._draws is not None:
            sd = np.sqrt(np.diag(V))
            scale = np.divide(se, sd, out=np.full(se.shape, np.nan), where=ok & (sd > 0))
            V = V * np.outer(scale, scale)
        V[~ok, :] = np.nan
        V[:, ~ok] = np.nan
        return V

    def plot(self, ax=None, **kwargs):
        """Plot ATT(g,t) by event time for each cohort with CIs; returns the Axes."""
        return plot_cells(self, ax=ax, **kwargs)

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        o = self.options
        pt = self.pretrend_test()
        head = [
            f"Callaway & Sant'Anna (2021) group-time ATTs, {_METHOD_NAMES[o['method']]}",
            f"  comparison: {'never treated' if o['control_group'] == 'never' else 'not yet treated'}"
            f", base period: {o['base_period']}, anticipation: {o['anticipation']}"
            f", {'panel' if o['panel'] else 'repeated cross-sections'}"
            + (f", covariates: {', '.join(o['covariates'])}" if o["covariates"] else ""),
            "  n: " + ", ".join(f"{k}={v:,}" for k, v in self.n.items())
            + (f"; SEs: multiplier bootstrap ({self.bootstrap} draws)" if self.bootstrap
               else "; SEs: analytic (influence function)")
            + (f", clustered by {o['cluster']}" if o.get("cluster") else ""),
        ]
        cols = ["group", "time", "att", "se", "ci_low", "ci_high"] + (
            ["band_low", "band_high"] if "band_low" in self.table else [])
        body = self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}")
        tail = [repr(pt)] if pt.df > 0 else []
        return "\n".join(head + [body] + tail)


# ------------------------------------------------------------------------ entry point


@renamed(positional=("covariates", "control_group", "method", "anticipation", "base_period", "cluster",
                     "weights", "panel", "n_boot", "seed", "level"), bootstrap="n_boot")
def att_gt(
    data: pd.DataFrame,
    outcome: str,
    unit: str | None,
    time: str,
    cohort: str,
    *,
    covariates: Sequence[str] | str | None = None,
    control_group: Literal["never", "notyet"] = "never",
    method: Literal["dr", "ipw", "reg"] = "dr",
    anticipation: int = 0,
    base_period: Literal["varying", "universal"] = "varying",
    cluster: str | None = None,
    weights: str | None = None,
    panel: bool = True,
    n_boot: int | None = None,
    seed: int | None = None,
    level: float = 0.95,
) -> ATTgtResult:
    """Callaway & Sant'Anna (2021) group-time average treatment effects.

    Parameters
    ----------
    data: long data, one row per unit and period (panel) or per observation.
    outcome, unit, time: column names (``unit`` may be None with ``panel=False``).
    cohort: the first treated period of each unit; 0 or NaN = never treated.
    covariates: pre-treatment covariates for conditional parallel trends (values from
        the cell's earlier period are used in panels).
    control_group: ``"never"`` (never treated) or ``"notyet"`` (never or not yet treated).
    method: ``"dr"`` (doubly robust), ``"ipw"`` or ``"reg"`` (outcome regression).
    anticipation: periods of anticipation before treatment.
    base_period: ``"varying"`` (pre-periods compare t with t-1) or ``"universal"``
        (every cell compares with g - 1 - anticipation).
    cluster: a column to cluster on (constant within unit); units are always clusters.
    weights: a column of sampling weights (constant within unit in panels).
    panel: False for repeated cross-sections.
    n_boot: number of multiplier-bootstrap draws (e.g. 999); None = analytic SEs.
    seed: seed for the bootstrap.
    level: confidence level of intervals and bands.

    Returns
    -------
    ATTgtResult with ``.table``, ``.cell(g, t)``, ``.aggregate(...)``,
    ``.pretrend_test()``, ``.plot()`` and ``.to_frame()``.
    """
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates or [])
    cg = _CONTROL_ALIASES.get(str(control_group).lower())
    if cg is None:
        raise ValueError(f"control_group must be 'never' or 'notyet', got {control_group!r}.")
    method = choice(method, ("dr", "ipw", "reg"), "method", where="att_gt")
    base_period = choice(base_period, ("varying", "universal"), "base_period", where="att_gt")
    bootstrap = n_boot
    if not (isinstance(anticipation, (int, np.integer, float)) and anticipation >= 0):
        raise ValueError(f"anticipation must be a number of periods >= 0, got {anticipation!r}.")
    if bootstrap is not None and (int(bootstrap) != bootstrap or bootstrap < 2):
        raise ValueError(f"n_boot must be a number of draws >= 2 (e.g. 999) or None, got {bootstrap!r}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}.")
    with _one_blas_thread():
        return _att_gt(data, outcome, unit, time, cohort, covariates, cg, method, anticipation,
                       base_period, cluster, weights, panel, bootstrap, seed, level)


def _att_gt(data, outcome, unit, time, cohort, covariates, cg, method, anticipation,
            base_period, cluster, weights, panel, bootstrap, seed, level) -> ATTgtResult:
    """The body of :func:`att_gt` once the options are checked."""
    d = prepare(data, outcome, unit, time, cohort, covariates, weights, cluster, panel, anticipation)
    if not (d.cohort == 0).any() and cg == "never":
        raise StaggeredDataError(
            "There are no never-treated units, so control_group='never' has no comparison group. "
            "Use control_group='notyet' (later cohorts serve as comparisons)."
        )
    if not (d.cohort > 0).any():
        raise StaggeredDataError(
            f"No unit is ever treated within the observed periods (column {cohort!r} is 0/NaN or "
            f"after the last period for every unit)."
        )
    if cg == "notyet" and not (d.cohort == 0).any():
        # as R `did`: the last cohort serves as the never-treated group, periods from its
        # treatment onwards are dropped
        gmax = d.cohort.max()
        keep_t = d.periods < gmax - anticipation
        if d.panel:
            d.Y = d.Y[:, keep_t]
            d.X = d.X[:, keep_t] if d.X is not None else None
        else:
            sel = d.tidx < keep_t.sum()
            d.y, d.tidx, d.cohort, d.weight = d.y[sel], d.tidx[sel], d.cohort[sel], d.weight[sel]
            d.Xrow = d.Xrow[sel] if d.Xrow is not None else None
            d.cluster = d.cluster[sel] if d.cluster is not None else None
        d.periods = d.periods[keep_t]
        d.cohort = np.where(d.cohort == gmax, 0.0, d.cohort)
        warnings.warn(
            f"No never-treated units: cohort {_fmt(gmax)} is used as the comparison group and "
            f"periods from {_fmt(gmax - anticipation)} on are dropped (as R `did`).",
            UserWarning, stacklevel=4,  # caller of att_gt, past the @renamed wrapper
        )
    cells = _estimate_cells(d, method, cg, anticipation, base_period)
    options = {
        "control_group": cg, "method": method, "anticipation": anticipation,
        "base_period": base_period, "covariates": covariates, "cluster": cluster,
        "weights": weights, "panel": panel, "n_boot": bootstrap, "seed": seed,
        "balanced_panel": d.balanced if panel else None,
    }
    return ATTgtResult(cells, d, options, level, bootstrap, seed)
