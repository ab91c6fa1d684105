r"""Response-rate bands: the dashboard shows more schools' wellbeing without a small count.

Why: most schools have few non-respondents, especially among teachers (a school of 40 teachers
with 37 answers). The respondents' count then leaves a small rest (3 non-respondents), so
:func:`~evaltools.report.disclosure.protect` hides the respondents (a complement of the small
rest), the response rate and the wellbeing means that rest on them: at national scale about 70 %
of schools' teacher-wellbeing cells were hidden although each mean rested on 10 or more answers.

The rule (applied after disclosure control, to the dashboard's school and municipality rows):

1. a row whose respondents' count is hidden **as a complement** (not because it is small: the
   row has at least ``threshold`` respondents) and whose surveyed count is shown gets its
   response rate as a **band** ``[low, high)`` of :data:`WIDTH` percentage points (the last band
   is ``[90, 100]``), published in two columns ``<who>_response_low`` / ``<who>_response_high``;
   the respondents' count and the exact rate stay hidden;
2. every count a reader could bound with the bands is checked as an attacker would: the
   published counts (fixed), the hidden counts (``>= 0``, respondents at most surveyed), each
   municipality = the sum of its schools, Latvia = the sum of the municipalities, and each band
   ``low n / 100 <= respondents <= high n / 100``; by linear programming, the smallest and largest
   value of each hidden respondents' count and each non-respondents' count (surveyed minus
   respondents). When every whole number in that range is a small count (``1 .. threshold-1``,
   the attacker's rule in ``docs/disclosure.md``), the bands of that system are widened by one
   band on each side and checked again; a band that reaches ``[0, 100]`` is not published;
3. the wellbeing means (unweighted and weighted) of a row with a published band are shown: they
   rest on at least ``threshold`` answers, and the band with the surveyed count is their base.

Rows whose respondents are shown keep their exact rate and get the band it lies in (nothing
new). Nothing else changes: counts hidden before stay hidden, and no count of people is shown
that was not shown before.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

WIDTH = 10
WELLBEING = ("pupils", "teachers")
_EPS = 1e-7


def band(rate: float, width: int = WIDTH) -> tuple[int, int]:
    """The ``width``-point band ``[low, high)`` holding ``rate`` (%); 100 % is in the last band."""
    low = min(int(math.floor(rate / width)) * width, 100 - width)
    return low, low + width


def columns(who: str) -> tuple[str, str]:
    """The band's two columns for a population (``pupils`` or ``teachers``)."""
    return f"{who}_response_low", f"{who}_response_high"


def confined(low: float, high: float, threshold: int) -> bool:
    """Whether every whole number in ``[low, high]`` is a small count (1 .. threshold-1)."""
    lo, hi = math.ceil(low - _EPS), math.floor(high + _EPS)
    return lo <= hi and lo >= 1 and hi <= threshold - 1


class _System:
    """The counts of one population a reader can write equations about (see the module docstring)."""

    def __init__(self, rows: list[tuple[str, Hashable]], parts: dict[tuple[str, Hashable], list[tuple[str, Hashable]]]):
        self.rows = rows
        self.at = {r: i for i, r in enumerate(rows)}
        self.parts = parts  # total row -> its part rows
        self.m = len(rows)

    def r(self, row: tuple[str, Hashable]) -> int:
        return self.at[row]

    def n(self, row: tuple[str, Hashable]) -> int:
        return self.m + self.at[row]

    def bounds(self, shown_r: dict, shown_n: dict, bands: dict) -> tuple[list[tuple[float, float | None]], Any, Any]:
        """Variable bounds, and the equations ``A_eq x = 0`` and inequalities ``A_ub x <= 0``."""
        from scipy.sparse import lil_matrix

        b: list[tuple[float, float | None]] = [(0.0, None)] * (2 * self.m)
        for row, v in shown_r.items():
            b[self.r(row)] = (float(v), float(v))
        for row, v in shown_n.items():
            b[self.n(row)] = (float(v), float(v))
        for row, (lo, hi) in bands.items():
            n = float(shown_n[row])
            b[self.r(row)] = (lo * n / 100, hi * n / 100)
        eq = lil_matrix((2 * len(self.parts), 2 * self.m))
        for k, (total, parts) in enumerate(self.parts.items()):
            for p in parts:
                eq[2 * k, self.r(p)] = 1.0
                eq[2 * k + 1, self.n(p)] = 1.0
            eq[2 * k, self.r(total)] = -1.0
            eq[2 * k + 1, self.n(total)] = -1.0
        ub = lil_matrix((self.m, 2 * self.m))
        for i in range(self.m):
            ub[i, i], ub[i, self.m + i] = 1.0, -1.0  # respondents <= surveyed
        return b, eq.tocsr(), ub.tocsr()


def _solve(c: np.ndarray, bounds: list, eq: Any, ub: Any) -> np.ndarray | None:
    """A vertex minimising ``c x`` over the published system (None when the LP fails)."""
    from scipy.optimize import linprog

    res = linprog(c, A_ub=ub, b_ub=np.zeros(ub.shape[0]), A_eq=eq if eq.shape[0] else None,
                  b_eq=np.zeros(eq.shape[0]) if eq.shape[0] else None, bounds=bounds, method="highs")
    return res.x if res.status == 0 else None


def _free(value: float, threshold: int) -> bool:
    """A feasible value of a count that shows the count is not confined to small counts."""
    return value <= _EPS or value >= threshold - _EPS


def exposed(system: _System, truth_r: dict, truth_n: dict, shown_r: dict, shown_n: dict, bands: dict,
            threshold: int) -> list[tuple[str, Hashable]]:
    """The rows whose hidden respondents or non-respondents (or hidden surveyed count) the
    published counts and ``bands`` confine to small counts (module docstring, rule 2). A count
    whose true value is 0 or at least ``threshold`` is never confined (the truth is feasible)."""
    bounds, eq, ub = system.bounds({r: v for r, v in shown_r.items() if r in system.at},
                                   {r: v for r, v in shown_n.items() if r in system.at}, bands)
    targets: list[tuple[tuple[str, Hashable], np.ndarray]] = []
    for row in system.rows:
        wanted = []
        if row not in shown_r:
            wanted.append((truth_r[row], {system.r(row): 1.0}))
            wanted.append((truth_n[row] - truth_r[row], {system.n(row): 1.0, system.r(row): -1.0}))
        if row not in shown_n:
            wanted.append((truth_n[row], {system.n(row): 1.0}))
        for true, terms in wanted:
            if 1 <= true < threshold:  # the truth (feasible) already frees the others
                c = np.zeros(2 * system.m)
                for k, v in terms.items():
                    c[k] = v
                targets.append((row, c))
    if not targets:
        return []
    # two feasible tables (every target pushed up, every target pushed down) free most counts at once
    total = np.sum([c for _, c in targets], axis=0)
    points = [x for x in (_solve(-total, bounds, eq, ub), _solve(total, bounds, eq, ub)) if x is not None]
    C = np.array([c for _, c in targets])
    free = np.zeros(len(targets), dtype=bool)

    def seen(x: np.ndarray | None) -> None:  # every vertex found frees the counts it shows free
        if x is not None:
            v = C @ x
            free[(v <= _EPS) | (v >= threshold - _EPS)] = True

    for x in points:
        seen(x)
    out: list[tuple[str, Hashable]] = []
    for i, (row, c) in enumerate(targets):
        if free[i] or row in out:
            continue
        low = _solve(c, bounds, eq, ub)
        seen(low)
        if free[i]:
            continue
        high = _solve(-c, bounds, eq, ub)
        seen(high)
        if not free[i]:
            out.append(row)
    return out


def _alone(b: tuple[int, int], n: int, threshold: int, width: int) -> tuple[int, int]:
    """``b`` widened until the band with its surveyed count ``n`` alone leaves more than small
    counts for the respondents and for the non-respondents (the check without equations)."""
    lo, hi = b
    while (lo, hi) != (0, 100):
        r = (lo * n / 100, hi * n / 100)
        if not (confined(*r, threshold) or confined(n - r[1], n - r[0], threshold)):
            break
        lo, hi = max(0, lo - width), min(100, hi + width)
    return lo, hi


def _blocks(system: _System, shown_r: dict, shown_n: dict) -> list[_System]:
    """The systems that can be checked one by one: the parts of an equation are joined, and
    joined to its total only when the total is hidden (a shown total is a constant that
    separates its parts from the rest). Each block keeps its equations and their totals."""
    parent = {r: r for r in system.rows}

    def find(x: Any) -> Any:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for total, parts in system.parts.items():
        for p in parts[1:]:
            parent[find(p)] = find(parts[0])
        if total not in shown_r or total not in shown_n:
            parent[find(total)] = find(parts[0])
    groups: dict[Any, list] = {}
    for r in system.rows:
        groups.setdefault(find(r), []).append(r)
    out = []
    for rows in groups.values():
        members = set(rows)
        eqs = {t: ps for t, ps in system.parts.items() if ps[0] in members}
        extra = [t for t in eqs if t not in members]  # shown totals of the block's equations
        out.append(_System(rows + extra, eqs))
    return out


def apply(schools: Any, munis: Any, raw_schools: pd.DataFrame, raw_munis: pd.DataFrame, *, threshold: int,
          total_row: Hashable | None = None, populations: Sequence[str] = WELLBEING,
          width: int = WIDTH) -> tuple[Any, Any, dict[str, Any]]:
    """The dashboard's protected school and municipality tables with response bands and the
    means they allow (module docstring); ``raw_*`` are the unprotected frames (same rows).
    Returns the two tables and, per population, the rows given a band."""
    tables = {"s": schools, "m": munis}
    raws = {"s": raw_schools, "m": raw_munis}
    school_muni = list(raw_schools.index.get_level_values("municipality"))
    data = {k: t.data.copy() for k, t in tables.items()}
    status = {k: t.status.copy() for k, t in tables.items()}
    report: dict[str, Any] = {}
    for who in populations:
        resp, surv = f"{who}_respondents", f"{who}_surveyed"
        rows = [("s", r) for r in raw_schools.index] + [("m", r) for r in raw_munis.index]
        parts: dict[tuple[str, Hashable], list[tuple[str, Hashable]]] = {}
        muni_rows = [r for r in raw_munis.index if r != total_row]
        for r in muni_rows:
            mine = [("s", s) for s, m in zip(raw_schools.index, school_muni) if m == r[0]]
            if mine:
                parts[("m", r)] = mine
        if total_row is not None and total_row in raw_munis.index:
            parts[("m", total_row)] = [("m", r) for r in muni_rows]
        system = _System(rows, parts)
        truth_r = {(k, r): int(raws[k].at[r, resp]) for k, r in rows}
        truth_n = {(k, r): int(raws[k].at[r, surv]) for k, r in rows}
        shown_r = {(k, r): truth_r[(k, r)] for k, r in rows if status[k].at[r, resp] == ""}
        shown_n = {(k, r): truth_n[(k, r)] for k, r in rows if status[k].at[r, surv] == ""}
        bands = {}
        for k, r in rows:
            row = (k, r)
            if (k, r) == ("m", total_row) or row in shown_r or row not in shown_n:
                continue
            if status[k].at[r, resp] == "primary" or truth_r[row] < threshold or truth_n[row] == 0:
                continue
            bands[row] = _alone(band(100 * truth_r[row] / truth_n[row], width), truth_n[row], threshold, width)
        bands = {r: b for r, b in bands.items() if b != (0, 100)}
        for block in _blocks(system, shown_r, shown_n):
            mine = {r: bands[r] for r in block.rows if r in bands}
            if not mine:
                continue
            for _ in range(100 // width + 1):
                bad = exposed(block, truth_r, truth_n, shown_r, shown_n, mine, threshold)
                if not bad:
                    break
                widen = [r for r in bad if r in mine] or list(mine)
                for r in widen:
                    lo, hi = mine[r]
                    mine[r] = (max(0, lo - width), min(100, hi + width))
                mine = {r: b for r, b in mine.items() if b != (0, 100)}
                if not mine:
                    break
            for r in [r for r in block.rows if r in bands]:
                if r in mine:
                    bands[r] = mine[r]
                else:
                    del bands[r]
        low, high = columns(who)
        for k in tables:
            data[k][low], data[k][high] = np.nan, np.nan
            status[k][low], status[k][high] = "dependent", "dependent"
        for (k, r), v in shown_r.items():  # the exact rate is shown: its band tells nothing new
            if (k, r) in shown_n and truth_n[(k, r)] > 0 and status[k].at[r, f"{who}_response_pct"] == "":
                lo, hi = band(100 * v / truth_n[(k, r)], width)
                data[k].at[r, low], data[k].at[r, high] = float(lo), float(hi)
                status[k].at[r, low], status[k].at[r, high] = "", ""
        for (k, r), (lo, hi) in bands.items():
            data[k].at[r, low], data[k].at[r, high] = float(lo), float(hi)
            status[k].at[r, low], status[k].at[r, high] = "", ""
            for col in (f"{who}_wellbeing", f"{who}_wellbeing_weighted"):
                value = raws[k].at[r, col]
                if pd.notna(value):
                    data[k].at[r, col], status[k].at[r, col] = float(value), ""
        report[who] = sorted(bands, key=str)
    out = []
    for k, t in tables.items():
        order = _order(list(t.data.columns), populations)
        digits = {**dict(t.digits), **{c: 0 for who in populations for c in columns(who)}}
        out.append(replace(t, data=data[k][order], status=status[k][order], digits=digits))
    return out[0], out[1], report


def _order(cols: list[str], populations: Sequence[str]) -> list[str]:
    """The band columns right after each population's response rate."""
    out = [c for c in cols if not any(c in columns(w) for w in populations)]
    for who in populations:
        at = out.index(f"{who}_response_pct") + 1
        out[at:at] = list(columns(who))
    return out


def shown_share(table: Any, column: str, rows: Sequence[Hashable] | None = None) -> float:
    """Share of ``table``'s rows (or of ``rows``) whose ``column`` is shown."""
    st = table.status[column] if rows is None else table.status.loc[list(rows), column]
    return float((st == "").mean()) if len(st) else float("nan")
