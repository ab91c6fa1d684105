"""The attacker that runs on every run before it is published.

:func:`attack_run` reads what a run folder publishes (``results.json`` and the
CSV/Excel tables under ``tables/``) and tries to recover a count between 1 and
the disclosure threshold from it, the way an outsider holding the folder could.
The runner calls it before the run is moved into place and fails the run when
anything is found. Findings name the file, record, row and column, and the way
(never the value).

What the attacker knows is an integer-free linear system (Hundepool et al. 2012,
*Statistical Disclosure Control*, Wiley, sec. 4.3 and 5.3: "audit" of a suppressed
table by linear programming), built from the published files alone:

- every count cell of every protected table is a variable: fixed when shown
  (an interval of width ``round_to`` when counts are rounded), unknown and
  ``>= 0`` when hidden;
- a table's total row and total column are equations ``sum(cells) = total``;
- a share shown with ``d`` decimals and its base ``n`` gives its numerator ``k``
  in the rounding interval ``(v -/+ 0.5 * 10**-d) * n / scale`` (two linear
  inequalities, which also hold when ``n`` is hidden), and ``k + rest = n``;
- a share also published as a band (``<x>_low`` / ``<x>_high`` beside ``<x>_pct``, or the
  record's ``bands``: quality_monitoring's 10-point response-rate bands) bounds its numerator:
  ``low n / scale <= k <= high n / scale``;
- single values (``protected_value``) add their base, numerator and share;
- links recorded by :func:`evaltools.report.disclosure.protect_linked` (the same
  count in two tables, a period total and the yearly series of a chart) are
  equations across tables: the attack runs on the union of all equations;
- estimates with their ``n``, headline cards and plain tables are checked for
  visible small counts, and a value published with full precision beside a visible
  base is checked for giving back a small numerator exactly (``v * n / 100``).

For every hidden or implied count the attacker solves two LPs (its smallest and
largest value under the system); if every whole number in that range lies in
``[1, threshold - 1]``, the count is recovered (or narrowed to small counts) and a
:class:`Finding` is reported. Visible small counts are findings too.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_FILE = "results.json"
COUNT_KEYS = ("pupils", "teachers", "schools", "participants", "pupil_years", "units", "clusters",
              "municipalities", "sitters", "leavers")
EXACT_DECIMALS = 6  # a value with at least this many decimals is taken as exact (full precision)


@dataclass(frozen=True)
class Finding:
    """One way to recover a small count: where it is, and how (never the value)."""

    where: str
    how: str

    def __str__(self) -> str:
        return f"{self.where}: {self.how}"


class _Num(float):
    """A JSON number that remembers how it was written (for the decimals shown)."""

    text: str

    def __new__(cls, text: str) -> "_Num":
        obj = super().__new__(cls, text)
        obj.text = text
        return obj


def decimals(value: Any) -> int:
    """Decimals a published number is known to (``4.5`` -> 1; ``1.0526315789473684`` -> 16).

    Trailing zeros are not counted (``1.0`` -> 0, as JSON writes a value shown as ``1 %``):
    the interval of the fewer decimals contains the other, so the attacker stays right.
    """
    if value is None or isinstance(value, (bool, int)):
        return 0
    text = getattr(value, "text", None) or repr(float(value))
    mantissa, _, exponent = text.strip().lower().lstrip("+-").partition("e")
    return max(0, len(mantissa.partition(".")[2].rstrip("0")) - int(exponent or 0))


def _half_width(value: float, d: int) -> float:
    """Half the rounding interval of a number shown with ``d`` decimals (plus float slack)."""
    return 0.5 * 10.0 ** (-d) + 1e-12 * max(1.0, abs(value))


# -- the attacker's linear system ----------------------------------------------------------


@dataclass
class _System:
    """Variables with bounds, equations ``sum(coef * var) = 0`` and inequalities ``<= rhs``."""

    threshold: int
    names: list[str] = field(default_factory=list)
    lo: list[float] = field(default_factory=list)
    hi: list[float] = field(default_factory=list)
    eqs: list[dict[int, float]] = field(default_factory=list)
    ineqs: list[tuple[dict[int, float], float]] = field(default_factory=list)
    targets: dict[int, str] = field(default_factory=dict)  # variable -> how it is recovered
    magnitude: set[int] = field(default_factory=set)

    def var(self, where: str, lo: float = 0.0, hi: float = math.inf) -> int:
        self.names.append(where)
        self.lo.append(lo)
        self.hi.append(hi)
        return len(self.names) - 1

    def equation(self, terms: dict[int, float]) -> None:
        terms = {k: v for k, v in terms.items() if v}
        if terms:
            self.eqs.append(terms)

    def at_most(self, terms: dict[int, float], rhs: float) -> None:
        self.ineqs.append(({k: v for k, v in terms.items() if v}, rhs))


def _share_bounds(system: _System, k: int, n: int, value: float, d: int, scale: float) -> None:
    """``k / n`` shown as ``value`` (``d`` decimals, ``value = scale * k / n``): two inequalities."""
    h = _half_width(value, d)
    a, b = (value - h) / scale, (value + h) / scale
    system.at_most({k: -1.0, n: a}, 0.0)  # k >= a n
    system.at_most({k: 1.0, n: -b}, 0.0)  # k <= b n


def _band_bounds(system: _System, k: int, n: int, low: float, high: float, scale: float) -> None:
    """``scale * k / n`` published as a band ``[low, high]`` (e.g. a response rate in 10-point
    bands): ``low n / scale <= k <= high n / scale``. The band's ends are taken as closed, as the
    publisher's own check reads them (studies/quality_monitoring/bands.py)."""
    system.at_most({k: -1.0, n: low / scale}, 0.0)  # k >= low n / scale
    system.at_most({k: 1.0, n: -high / scale}, 0.0)  # k <= high n / scale


def _band_columns(value: Mapping[str, Any], cols: Sequence[str], col: str) -> tuple[str, str] | None:
    """The two columns publishing ``col`` (a share) as a band: declared in the record's ``bands``
    (``{share: [low column, high column]}``), or named ``<x>_low`` / ``<x>_high`` beside a share
    ``<x>_pct`` (quality_monitoring's response-rate bands)."""
    declared = (value.get("bands") or {}).get(col) if isinstance(value.get("bands"), dict) else None
    if isinstance(declared, (list, tuple)) and len(declared) == 2 and all(c in cols for c in declared):
        return str(declared[0]), str(declared[1])
    if col.endswith("_pct"):
        low, high = f"{col[:-4]}_low", f"{col[:-4]}_high"
        if low in cols and high in cols:
            return low, high
    return None


def solve(system: _System) -> list[Finding]:
    """Every target the system pins into ``[1, threshold - 1]`` (by two LPs per target)."""
    from scipy.optimize import linprog

    thr = system.threshold
    n = len(system.names)
    if not system.targets:
        return []
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    fixed = [system.lo[i] == system.hi[i] for i in range(n)]
    for terms in [*system.eqs, *(t for t, _ in system.ineqs)]:
        ks = [k for k in terms if not fixed[k]]  # a published value joins nothing: it is a constant
        for other in ks[1:]:
            ra, rb = find(ks[0]), find(other)
            if ra != rb:
                parent[ra] = rb
    groups: dict[int, list[int]] = {}
    for i in range(n):
        if not fixed[i]:
            groups.setdefault(find(i), []).append(i)
    eq_of: dict[int, list[dict[int, float]]] = {}
    ineq_of: dict[int, list[tuple[dict[int, float], float]]] = {}
    for terms in system.eqs:
        free = [k for k in terms if not fixed[k]]
        if free:
            eq_of.setdefault(find(free[0]), []).append(terms)
    for terms, rhs in system.ineqs:
        free = [k for k in terms if not fixed[k]]
        if free:
            ineq_of.setdefault(find(free[0]), []).append((terms, rhs))
    findings = []
    for root, members in groups.items():
        targets = [v for v in members if v in system.targets]
        if not targets:
            continue
        eqs, ineqs = eq_of.get(root, []), ineq_of.get(root, [])
        local = {v: j for j, v in enumerate(members)}
        A_eq = np.zeros((len(eqs), len(members)))
        b_eq = np.zeros(len(eqs))
        for r, terms in enumerate(eqs):
            for v, c in terms.items():
                if fixed[v]:
                    b_eq[r] -= c * system.lo[v]
                else:
                    A_eq[r, local[v]] += c
        A_ub = np.zeros((len(ineqs), len(members)))
        b_ub = np.zeros(len(ineqs))
        for r, (terms, rhs) in enumerate(ineqs):
            b_ub[r] = rhs
            for v, c in terms.items():
                if fixed[v]:
                    b_ub[r] -= c * system.lo[v]
                else:
                    A_ub[r, local[v]] += c
        ranges = _small_ranges(members, A_eq, b_eq, A_ub, b_ub, system)
        if ranges is not None:
            for v in targets:
                lo, hi = ranges[local[v]]
                findings += _verdict(system, v, lo, hi)
            continue
        bounds = [(system.lo[v], None if math.isinf(system.hi[v]) else system.hi[v]) for v in members]
        kw = dict(A_eq=A_eq if len(eqs) else None, b_eq=b_eq if len(eqs) else None,
                  A_ub=A_ub if len(ineqs) else None, b_ub=b_ub if len(ineqs) else None,
                  bounds=bounds, method="highs")
        if eqs or ineqs:
            kw, broken = _consistent(kw, len(members))
            if broken:
                findings.append(Finding(system.names[targets[0]], "the published numbers around it do not add "
                                        "up, so its hidden counts cannot be checked"))
                continue
        undecided = _screen(targets, local, kw, system) if (eqs or ineqs) else targets
        for v in undecided:
            lo_b, hi_b = system.lo[v], system.hi[v]
            if not eqs and not ineqs:
                lo, hi = lo_b, hi_b
            else:
                c = np.zeros(len(members))
                c[local[v]] = 1.0
                r_min = linprog(c, **kw)
                r_max = linprog(-c, **kw)
                lo = r_min.fun if r_min.status == 0 else lo_b
                hi = -r_max.fun if r_max.status == 0 else math.inf
            findings += _verdict(system, v, lo, hi)
    return findings


def _consistent(kw: dict[str, Any], m: int) -> tuple[dict[str, Any], bool]:
    """The LP options, without the rounding intervals if those contradict the equations
    (a share computed on another base; fewer constraints only widen the ranges), and
    whether even the equations contradict each other (nothing can then be checked)."""
    from scipy.optimize import linprog

    if linprog(np.zeros(m), **kw).status != 2:
        return kw, False
    loose = {**kw, "A_ub": None, "b_ub": None}
    if loose["A_eq"] is not None and linprog(np.zeros(m), **loose).status != 2:
        return loose, False
    return kw, True


def _screen(targets: list[int], local: dict[int, int], kw: dict[str, Any], system: _System) -> list[int]:
    """Targets two feasible points do not already show to be safe (so the per-target LPs are few).

    A target is safe when some table consistent with everything published gives it 0 or
    at least the threshold (or, for an amount, two different values): the points that
    minimise and maximise the sum of the targets are such tables for most of them.
    """
    from scipy.optimize import linprog

    c = np.zeros(len(local))
    for v in targets:
        c[local[v]] = 1.0
    points = []
    for sign in (1.0, -1.0):
        res = linprog(sign * c, **kw)
        if res.status == 0:
            points.append(res.x)
    if len(points) < 2:
        return targets
    thr = system.threshold
    out = []
    for v in targets:
        a, b = (float(pt[local[v]]) for pt in points)
        if v in system.magnitude:
            if abs(a - b) > 1e-6 * max(1.0, abs(a), abs(b)):
                continue
        elif min(a, b) <= 1e-7 or max(a, b) >= thr:
            continue
        out.append(v)
    return out


def _verdict(system: _System, v: int, lo: float, hi: float) -> list[Finding]:
    """A finding when every whole number in ``[lo, hi]`` is a small count (or an amount is exact)."""
    if v in system.magnitude:
        if hi - lo < 1e-6 * max(1.0, abs(hi)):
            return [Finding(system.names[v], "a hidden amount can be worked out exactly from the published totals")]
        return []
    if not math.isfinite(hi) or hi - lo >= system.threshold:
        return []
    k_lo, k_hi = math.ceil(lo - 1e-6), math.floor(hi + 1e-6)
    if k_lo <= k_hi and k_lo >= 1 and k_hi <= system.threshold - 1:
        return [Finding(system.names[v], system.targets[v])]
    return []


def _small_ranges(
    members: list[int], A_eq: np.ndarray, b_eq: np.ndarray, A_ub: np.ndarray, b_ub: np.ndarray, system: _System
) -> list[tuple[float, float]] | None:
    """Exact ranges without an LP for a component of one variable, or of two joined by one
    equation (a share's numerator and rest beside a published base): every constraint is
    then a bound on the first variable. ``None`` for anything larger (solved by LP)."""
    m = len(members)
    if m > 2 or (m == 2 and A_eq.shape[0] != 1) or (m == 1 and A_eq.shape[0] > 1):
        return None
    # x = p + q t for the free parameter t (t = first variable)
    if m == 1:
        p, q = np.zeros(1), np.ones(1)
    else:
        a1, a2 = A_eq[0]
        if abs(a2) < 1e-12:
            return None
        p, q = np.array([0.0, b_eq[0] / a2]), np.array([1.0, -a1 / a2])
    lo_t, hi_t = -math.inf, math.inf

    def bound(coef: float, rhs: float) -> bool:  # coef * t <= rhs
        nonlocal lo_t, hi_t
        if abs(coef) < 1e-12:
            return rhs >= -1e-9
        if coef > 0:
            hi_t = min(hi_t, rhs / coef)
        else:
            lo_t = max(lo_t, rhs / coef)
        return True

    ok = True
    if m == 1 and A_eq.shape[0] == 1:
        ok &= bound(A_eq[0, 0], b_eq[0]) and bound(-A_eq[0, 0], -b_eq[0])
    for row, rhs in zip(A_ub, b_ub):
        ok &= bound(float(row @ q), float(rhs - row @ p))
    for j, v in enumerate(members):
        ok &= bound(-q[j], p[j] - system.lo[v])  # x_j >= lo
        if math.isfinite(system.hi[v]):
            ok &= bound(q[j], system.hi[v] - p[j])
    if not ok or lo_t > hi_t + 1e-9:
        return [(-math.inf, math.inf)] * m  # infeasible: the published numbers contradict; nothing learnt
    out = []
    for j in range(m):
        if abs(q[j]) < 1e-12:
            out.append((p[j], p[j]))
            continue
        ends = [p[j] + q[j] * t if math.isfinite(t) else math.copysign(math.inf, q[j] * t) for t in (lo_t, hi_t)]
        out.append((min(ends), max(ends)))
    return out


# -- reading what a run publishes ------------------------------------------------------------


def _row_key(label: Any) -> str:
    return json.dumps(label, ensure_ascii=False, sort_keys=True, default=str)


def _is_marker(v: Any, marker: str) -> bool:
    return isinstance(v, str) and v.strip() == marker


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return None if isinstance(v, float) and math.isnan(v) else v  # type: ignore[return-value]
    return None


@dataclass
class _Table:
    """A protected table as read back: cells by (row key, column), and its metadata."""

    record: str
    where: str
    meta: dict[str, Any]
    rows: list[tuple[str, Any, dict[str, Any]]]  # (row key, row label, {column: value})


class _Attack:
    """Builds the system from published records, then solves it."""

    def __init__(self, threshold: int) -> None:
        self.thr = threshold
        self.system = _System(threshold)
        self.findings: list[Finding] = []
        self.cells: dict[tuple[str, str, str], int] = {}  # (table name, row key, column) -> variable
        self.links: list[tuple[str, dict[str, Any]]] = []
        self.tables: dict[str, _Table] = {}

    # findings that need no LP
    def small(self, where: str, value: Any, what: str = "a count") -> None:
        v = _number(value)
        if v is not None and float(v) == int(v) and 0 < v < self.thr:
            self.findings.append(Finding(where, f"shows {what} below the threshold"))

    def exact_share(self, where: str, value: Any, base: Any, scales: Sequence[float] = (1.0, 100.0)) -> None:
        """A value with full precision beside a visible base gives its numerator back exactly."""
        v, n = _number(value), _number(base)
        if v is None or n is None or n <= 0 or float(n) != int(n) or decimals(value) < EXACT_DECIMALS:
            return
        for s in scales:
            if not 0 <= v <= s:
                continue
            k = v * n / s
            kr = round(k)
            if abs(k - kr) < 1e-6 and (0 < kr < self.thr or 0 < n - kr < self.thr):
                self.findings.append(Finding(where, "a share shown in full precision beside its base "
                                             "gives back a small count exactly"))
                return

    # records
    def add_record(self, key: str, value: Any, where: str) -> None:
        self._walk(key, value, where)

    def _walk(self, key: str, value: Any, where: str) -> None:
        if isinstance(value, list):
            for i, v in enumerate(value):
                self._walk(key, v, f"{where}[{i}]")
            return
        if not isinstance(value, dict):
            return
        kind = value.get("type")
        if kind == "protected_table":
            self._protected_table(key, value, where)
            return
        if kind == "protected_value":
            self._protected_value(key, value, where)
            return
        if kind in ("table", "model_table"):
            self._plain_table(value.get("table", value) if kind == "model_table" else value, where,
                              only_n=kind == "model_table")
        if kind == "estimate":
            n = value.get("n")
            if isinstance(n, dict):
                for k, v in n.items():
                    self.small(f"{where} n[{k}]", v, "a sample size")
                    self.exact_share(f"{where} estimate (base n[{k}])", value.get("estimate"), v)
        for k, v in value.items():
            if k in COUNT_KEYS and not isinstance(v, (dict, list)):
                self.small(f"{where} {k}", v)
            if isinstance(v, (dict, list)) and k != "n":
                self._walk(key, v, f"{where}.{k}")

    def _plain_table(self, value: dict[str, Any], where: str, only_n: bool = False) -> None:
        cols, data = value.get("columns") or [], value.get("data") or []
        for j, c in enumerate(cols):
            if only_n and not str(c).startswith("n_"):
                continue
            column = [row[j] for row in data if j < len(row) and row[j] is not None]
            ints = [v for v in column if isinstance(v, int) and not isinstance(v, bool)]
            strs = [v for v in column if isinstance(v, str)]
            if ints and len(ints) + len(strs) == len(column):
                for i, row in enumerate(data):
                    self.small(f"{where} row {i + 1} column {c!r}", row[j])

    def _protected_value(self, key: str, value: dict[str, Any], where: str) -> None:
        name = value.get("name") or key
        s = self.system
        den, num, v = value.get("denominator"), value.get("numerator"), value.get("value")
        self.small(f"{where} denominator", den, "a base")
        self.small(f"{where} numerator", num)
        d_var = s.var(f"{where} denominator")
        if _number(den) is not None:
            s.lo[d_var] = s.hi[d_var] = float(den)
        elif value.get("share"):
            s.targets[d_var] = "the hidden base can be worked out from the published numbers"
        self.cells[(name, _row_key(None), "denominator")] = d_var
        if not value.get("share"):
            self._links_of(name, value)
            return
        k_var = s.var(f"{where} numerator")
        r_var = s.var(f"{where} rest (base minus numerator)")
        s.equation({k_var: 1.0, r_var: 1.0, d_var: -1.0})
        if _number(num) is not None:
            s.lo[k_var] = s.hi[k_var] = float(num)
        s.targets[k_var] = "the numerator can be worked out from the value and its base (rounding interval)"
        s.targets[r_var] = "base minus numerator can be worked out from the value and its base"
        self.cells[(name, _row_key(None), "numerator")] = k_var
        if _number(v) is not None:
            d = value.get("digits")
            d = max(decimals(v), int(d) if isinstance(d, int) and not isinstance(d, bool) else 0)
            _share_bounds(s, k_var, d_var, float(v), d, float(value.get("scale") or 1.0))
        self._links_of(name, value)

    def _links_of(self, name: str, value: dict[str, Any]) -> None:
        for link in value.get("links") or []:
            self.links.append((name, link))

    def _protected_table(self, key: str, value: dict[str, Any], where: str) -> None:
        cols: list[str] = value.get("columns") or []
        data: list[list[Any]] = value.get("data") or []
        marker = value.get("marker") or "[c]"
        k_idx = int(value.get("index_columns") or 1)
        counts = [c for c in value.get("counts") or [] if c in cols]
        mags = [c for c in value.get("magnitudes") or [] if c in cols]
        base = value.get("round_to")
        name = value.get("name") or key
        s = self.system
        rows = []
        for row in data:
            label = row[0] if k_idx == 1 else list(row[:k_idx])
            rows.append((_row_key(label), label, dict(zip(cols, row))))
        table = _Table(key, where, value, rows)
        self.tables[name] = table
        if key != name:
            self.tables.setdefault(key, table)
        var: dict[tuple[str, str], int] = {}
        total_row = _row_key(value.get("total_row")) if value.get("total_row") is not None else None
        for rk, label, cells in rows:
            for c in counts + mags:
                v = cells.get(c)
                at = f"{where} row {_short(label)} column {c!r}"
                if c in counts:
                    self.small(at, v)
                x = s.var(at)
                num = _number(v)
                if num is not None:
                    half = (base / 2.0) if (base and c in counts) else 0.0
                    s.lo[x], s.hi[x] = max(0.0, float(num) - half), float(num) + half
                    if half:
                        s.targets[x] = "a rounded count can be narrowed down from the published totals"
                elif _is_marker(v, marker):
                    if c in mags:
                        s.magnitude.add(x)
                    s.targets[x] = "a hidden count can be worked out from the published totals and values"
                var[(rk, c)] = x
                self.cells[(name, rk, c)] = x
        # totals
        keys = [rk for rk, _, _ in rows]
        if total_row is not None and total_row in keys:
            for c in counts + mags:
                s.equation({**{var[(rk, c)]: 1.0 for rk in keys if rk != total_row}, var[(total_row, c)]: -1.0})
        tcol = value.get("total_col")
        if tcol in counts:
            for rk in keys:
                s.equation({**{var[(rk, c)]: 1.0 for c in counts if c != tcol}, var[(rk, tcol)]: -1.0})
        # shares and their numerators
        dens: dict[str, list[str]] = value.get("denominators") or {}
        nums: dict[str, str] = value.get("numerators") or {}
        shares: dict[str, float] = value.get("shares") or {}
        digits: dict[str, int] = value.get("digits") or {}
        for col, ds in dens.items():
            if col not in cols or len(ds) != 1 or ds[0] not in counts:
                continue
            den = ds[0]
            scale = shares.get(col)
            if col in nums and nums[col] in counts:
                num_col = nums[col]
                if scale is None:
                    scale = _infer_scale(rows, col, num_col, den)
            elif scale is None:  # a mean or an undeclared share: only an exact value can give a count back
                for rk, label, cells in rows:
                    if _number(cells.get(den)) is not None:
                        self.exact_share(f"{where} row {_short(label)} column {col!r}", cells.get(col), cells.get(den))
                continue
            else:
                num_col = None
            imp: dict[str, int] = {}
            # a column written in full precision somewhere is unrounded everywhere (10.0 is exact)
            exact = any(decimals(cells.get(col)) >= EXACT_DECIMALS for _, _, cells in rows
                        if _number(cells.get(col)) is not None)
            band = _band_columns(value, cols, col)
            for rk, label, cells in rows:
                at = f"{where} row {_short(label)} column {col!r}"
                k = var[(rk, num_col)] if num_col else s.var(f"{at} (its numerator)")
                if not num_col:
                    s.targets[k] = "the numerator of a share can be worked out from the share and its base"
                r = s.var(f"{at} (base minus numerator)")
                s.targets[r] = "base minus numerator can be worked out from the share and its base"
                s.equation({k: 1.0, r: 1.0, var[(rk, den)]: -1.0})
                imp[rk] = k
                v = cells.get(col)
                if _number(v) is not None and scale:
                    d = 15 if exact else max(decimals(v), int(digits.get(col) or 0))
                    _share_bounds(s, k, var[(rk, den)], float(v), d, float(scale))
                band_scale = scale or (100.0 if col.endswith("_pct") else None)
                if band and band_scale:
                    low, high = _number(cells.get(band[0])), _number(cells.get(band[1]))
                    if low is not None and high is not None:
                        _band_bounds(s, k, var[(rk, den)], float(low), float(high), float(band_scale))
            if not num_col and total_row is not None and total_row in imp:
                s.equation({**{imp[rk]: 1.0 for rk in keys if rk != total_row}, imp[total_row]: -1.0})
        self._links_of(name, value)

    def resolve_links(self) -> None:
        seen = set()
        for owner, link in self.links:
            text = json.dumps(link, sort_keys=True, default=str)
            if text in seen:
                continue
            seen.add(text)
            terms: dict[int, float] = {}
            ok = True
            for sign, cell in [(-1.0, link.get("total"))] + [(1.0, p) for p in link.get("parts") or []]:
                try:
                    name, row, col = cell
                except (TypeError, ValueError):
                    ok = False
                    break
                x = self.cells.get((name, _row_key(row), str(col)))
                if x is None:  # a linked table that is not published: the link tells nothing more
                    ok = False
                    break
                terms[x] = terms.get(x, 0.0) + sign
            if ok:
                self.system.equation(terms)

    def run(self) -> list[Finding]:
        self.resolve_links()
        found = self.findings + solve(self.system)
        out, seen = [], set()
        for f in found:
            if str(f) not in seen:
                seen.add(str(f))
                out.append(f)
        return out


def _infer_scale(rows: Iterable[tuple[str, Any, dict[str, Any]]], col: str, num: str, den: str) -> float | None:
    """1 or 100, whichever makes ``value = scale * num / den`` on the fully shown rows."""
    for _, _, cells in rows:
        v, k, n = _number(cells.get(col)), _number(cells.get(num)), _number(cells.get(den))
        if v is None or k is None or not n:
            continue
        for s in (1.0, 100.0):
            if abs(v - s * k / n) <= _half_width(v, decimals(cells.get(col))) + 1e-9 * s:
                return s
    return None


def _short(label: Any) -> str:
    text = json.dumps(label, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


# -- the published files ----------------------------------------------------------------------


def attack_records(records: Mapping[str, Any], threshold: int, *, where: str = RESULTS_FILE) -> list[Finding]:
    """Attack the records of a ``results.json`` (``{name: {"value": ...}}``) together."""
    attack = _Attack(int(threshold))
    for name, entry in records.items():
        value = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
        attack.add_record(str(name), value, f"{where}: {name}")
    return attack.run()


def attack_run(run_dir: Path, threshold: int) -> list[Finding]:
    """Every small count an attacker holding the run folder can recover (empty: safe).

    Reads ``results.json`` (every record together, with the links between tables)
    and every ``tables/*.csv``, ``*.xlsx`` and ``*.parquet``: a file that belongs to a recorded
    table must hide what the record hides; any other file is checked on its own.
    """
    run_dir = Path(run_dir)
    path = run_dir / RESULTS_FILE
    findings: list[Finding] = []
    records: dict[str, Any] = {}
    if path.is_file():
        try:
            records = json.loads(path.read_text(encoding="utf-8"), parse_float=_Num)
        except (OSError, UnicodeDecodeError, ValueError):
            return [Finding(RESULTS_FILE, "cannot be read as JSON, so it cannot be checked")]
        if not isinstance(records, dict):
            return [Finding(RESULTS_FILE, "is not a JSON object of records, so it cannot be checked")]
        findings += attack_records(records, threshold)
    tables = run_dir / "tables"
    if tables.is_dir():
        by_name = _tables_by_name(records)
        for file in sorted(tables.iterdir()):
            reader = _READERS.get(file.suffix.lower())
            if reader is None:
                continue
            rel = f"tables/{file.name}"
            try:
                rows = reader(file)
            except Exception:  # noqa: BLE001 - any unreadable export is a finding, not a crash
                findings.append(Finding(rel, "cannot be read, so it cannot be checked"))
                continue
            findings += _attack_file(rel, rows, by_name.get(file.stem), threshold)
    return findings


def _tables_by_name(records: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, entry in records.items():
        value = entry.get("value") if isinstance(entry, dict) else None
        if isinstance(value, dict) and value.get("type") in ("protected_table", "model_table"):
            out[str(name)] = value if value.get("type") == "protected_table" else value.get("table") or {}
    return out


def _read_csv(path: Path) -> list[list[Any]]:
    text = path.read_text(encoding="utf-8-sig")
    return [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text))]


def _read_xlsx(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    rows: list[list[Any]] = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            rows.append([_cell(v) for v in row])
    wb.close()
    return rows


def _read_parquet(path: Path) -> list[list[Any]]:
    """A Parquet export as rows of cells: its index columns first and the column names on top,
    as in a CSV export of the same frame."""
    import pandas as pd

    frame = pd.read_parquet(path)
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    frame = frame.astype(object).where(frame.notna(), None)
    return [[str(c) for c in frame.columns]] + [[_cell(v) for v in row] for row in frame.itertuples(index=False)]


_READERS = {".csv": _read_csv, ".xlsx": _read_xlsx, ".parquet": _read_parquet}


def _cell(v: Any) -> Any:
    """A cell as a number (int, or float remembering its text) when it reads as one."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return _Num(repr(v)) if math.isfinite(v) else None
    text = str(v).strip()
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        f = float(text)
    except ValueError:
        return text
    if not math.isfinite(f):
        return None
    return int(f) if f == int(f) and "." not in text and "e" not in text.lower() else _Num(text)


def _attack_file(rel: str, rows: list[list[Any]], record: dict[str, Any] | None, threshold: int) -> list[Finding]:
    """A published CSV/Excel table: no small count, no full-precision share of a visible base,
    and nothing shown that its record in ``results.json`` hides."""
    if not rows:
        return []
    header, body = [str(h) if h is not None else "" for h in rows[0]], rows[1:]
    attack = _Attack(int(threshold))
    findings: list[Finding] = []
    if record and record.get("type") == "protected_table":
        marker = record.get("marker") or "[c]"
        labels = record.get("labels") or {}
        rec_cols = record.get("columns") or []
        shown = {labels.get(c, c): c for c in rec_cols}
        counts = set(record.get("counts") or [])
        data = record.get("data") or []
        for i, row in enumerate(body):
            rec_row = data[i] if i < len(data) else None
            for j, h in enumerate(header):
                col = shown.get(h)
                v = row[j] if j < len(row) else None
                at = f"{rel} row {i + 1} column {h!r}"
                if col is None:
                    continue
                if col in counts:
                    attack.small(at, v)
                if rec_row is not None:
                    rv = rec_row[rec_cols.index(col)]
                    if _is_marker(rv, marker) and not (v is None or _is_marker(v, marker)):
                        findings.append(Finding(at, "shows a value that results.json hides"))
        return findings + attack.run()
    # a file without a record: integer columns are counts; full-precision values beside them are shares
    int_cols = [j for j in range(len(header))
                if any(isinstance(r[j], int) and not isinstance(r[j], bool) for r in body if j < len(r))
                and all(r[j] is None or isinstance(r[j], (int, str)) for r in body if j < len(r))]
    for i, row in enumerate(body):
        for j in int_cols:
            if j < len(row):
                attack.small(f"{rel} row {i + 1} column {header[j]!r}", row[j])
        for j, v in enumerate(row):
            if isinstance(v, _Num):
                for b in int_cols:
                    if b < len(row):
                        attack.exact_share(f"{rel} row {i + 1} column {header[j]!r}", v, row[b])
    return findings + attack.run()
