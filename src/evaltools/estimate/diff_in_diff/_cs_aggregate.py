"""Aggregations of group-time ATTs with the semantics of R ``did::aggte``.

Every aggregated parameter theta = sum_k c_k ATT(g_k, t_k) is kept as a *linear
functional* of the unit-level influence functions:

    psi_theta = sum_k a_k psi_k + sum_g b_g v_g,   v_g,i = w_i 1{G_i = g} - p_g,

where psi_k are the ATT(g,t) influence functions and the v_g terms carry the
estimation of the cohort-share weights p_g = E[w 1{G = g}] (Callaway & Sant'Anna
2021, sec. 4 and their R ``wif``). For weights p_k / S over a set K of cells,
S = sum_{k in K} p_k, the weight part is b_{g_k} += (ATT_k - theta) / S.
Keeping (a, b) lets analytic SEs and bootstrap draws of any aggregate come from
the same stored pieces.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass
class Linear:
    """An aggregated parameter: estimate and coefficients on cell IFs and group terms."""

    label: object
    estimate: float
    a: Array
    b: Array


def _weighted(label: object, keep: Array, att: Array, pg_cell: Array, gidx: Array,
              n_groups: int, with_wif: bool = True) -> Linear:
    """theta = sum_{k in keep} p_k ATT_k / sum p_k, with the weight-estimation term."""
    k = np.flatnonzero(keep)
    S = pg_cell[k].sum()
    theta = float(np.sum(pg_cell[k] * att[k]) / S)
    a = np.zeros(att.shape[0])
    a[k] = pg_cell[k] / S
    b = np.zeros(n_groups)
    if with_wif:
        np.add.at(b, gidx[k], (att[k] - theta) / S)
    return Linear(label, theta, a, b)


def _combine(label: object, parts: list[Linear], coef: Array, b_extra: Array | None = None) -> Linear:
    est = float(sum(c * p.estimate for c, p in zip(coef, parts)))
    a = sum(c * p.a for c, p in zip(coef, parts))
    b = sum(c * p.b for c, p in zip(coef, parts))
    if b_extra is not None:
        b = b + b_extra
    return Linear(label, est, a, b)


def aggregate(kind: str, group: Array, time: Array, att: Array, glist: Array, pg: Array,
              periods: Array, min_e: float, max_e: float,
              balance_e: int | None) -> tuple[Linear, list[Linear]]:
    """Overall parameter and the by-row parameters (by group, event time or period).

    ``group``/``time``/``att`` describe the usable cells; ``pg`` is the share of each
    cohort in ``glist``.
    """
    n_groups = glist.shape[0]
    gidx = np.searchsorted(glist, group)
    pg_cell = pg[gidx]
    post = group <= time
    e = time - group

    if kind == "simple":
        keep = post & (e <= max_e)
        if not keep.any():
            raise ValueError("No post-treatment ATT(g,t) is available for the simple aggregation.")
        return _weighted("ATT", keep, att, pg_cell, gidx, n_groups), []

    if kind == "group":
        rows = []
        for j, g in enumerate(glist):
            keep = (group == g) & post & (e <= max_e)
            if keep.any():
                # equal weights within a cohort; no estimated weights here
                rows.append(_weighted(g, keep, att, pg_cell, gidx, n_groups, with_wif=False))
        if not rows:
            raise ValueError("No cohort has a post-treatment ATT(g,t) for the group aggregation.")
        pgg = np.array([pg[np.searchsorted(glist, r.label)] for r in rows])
        S = pgg.sum()
        theta = float(np.sum(pgg * np.array([r.estimate for r in rows])) / S)
        b_extra = np.zeros(n_groups)
        for r, p in zip(rows, pgg):
            b_extra[np.searchsorted(glist, r.label)] += (r.estimate - theta) / S
        overall = _combine("ATT", rows, pgg / S, b_extra)
        return overall, rows

    if kind == "dynamic":
        include = np.ones(att.shape[0], dtype=bool)
        eseq = np.unique(e)
        if balance_e is not None:
            include = (periods[-1] - group) >= balance_e
            eseq = np.unique(e[include])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - periods[-1] + periods[0])]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        rows = [
            _weighted(float(ev), (e == ev) & include, att, pg_cell, gidx, n_groups)
            for ev in eseq
            if ((e == ev) & include).any()
        ]
        postrows = [r for r in rows if r.label >= 0]
        if not postrows:
            raise ValueError("No event time >= 0 is left for the dynamic aggregation; check "
                             "min_e, max_e and balance_e.")
        overall = _combine("ATT", postrows, np.full(len(postrows), 1.0 / len(postrows)))
        return overall, rows

    if kind == "calendar":
        tl = periods[periods >= group.min()]
        rows = [
            _weighted(t1, (time == t1) & post, att, pg_cell, gidx, n_groups)
            for t1 in tl
            if ((time == t1) & post).any()
        ]
        if not rows:
            raise ValueError("No calendar period has a post-treatment ATT(g,t).")
        overall = _combine("ATT", rows, np.full(len(rows), 1.0 / len(rows)))
        return overall, rows

    raise ValueError(
        f"Unknown aggregation {kind!r}; use 'simple', 'group', 'dynamic' or 'calendar'."
    )
