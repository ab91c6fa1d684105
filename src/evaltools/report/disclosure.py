"""Statistical disclosure control for every table and figure label the report publishes.

The rules (threshold rule with complementary suppression, as in Hundepool et
al. 2012, *Statistical Disclosure Control*, Wiley, ch. 4 and 7; ONS 2021,
*Disclosure control guidance for tables*):

1. **Primary suppression**: a count ``0 < x < threshold`` is hidden and marked
   ``[c]`` (``suppress_zeros=True`` hides zeros too).
2. **Complementary suppression**: when a table publishes totals (a total row,
   a total column, or both), a hidden cell must not be recoverable from them.
   Every line (row or column with a total) is an equation ``sum(cells) = total``.
   While some line has exactly one hidden cell, the smallest non-zero visible
   cell of that line is hidden as well (interior cells before totals). Then,
   because "no line with exactly one hidden cell" is not enough (two blocks of
   hidden cells joined by one cell still determine that cell), every hidden
   cell is checked for being *determined* by the published values: linearly
   (it lies in the row space of the equations on the hidden cells, found with
   the null space) and with non-negativity (the interval an attacker gets from
   ``min/max x_i subject to A x = b, x >= 0`` by linear programming has width 0).
   A determined cell gets further complements until none is. (The LP is only
   solved for cells that a strictly positive feasible table does not already
   show to be free; see ``_exposed``.)
3. **Dependent values**: a mean or percentage is hidden when its denominator
   count is below the threshold or hidden; with ``numerators`` a share is also
   hidden when its numerator, or denominator minus numerator, is a small
   non-zero count or hidden (so that 98 % of 50 cannot reveal one pupil).
   With ``protection=k`` every hidden cell's interval must also be at least ``k``
   wide (a protection interval, as in tau-Argus), so a reader cannot learn that a
   hidden count is "3 or 4".
4. **Rounding** (optional, ``round_to=5``): visible counts are rounded to the
   nearest multiple of the base after suppression. The threshold must then be a
   multiple of the base, so a rounded count can never fall below it.

:func:`protect` applies all of this and returns a :class:`ProtectedTable`;
:func:`assert_safe` checks a published table, including an attack on its totals
by linear programming, and :func:`safe_count` protects a single count in a
figure label or sentence.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.report import i18n

DEFAULT_THRESHOLD = 10
TOTAL_LABELS: tuple[str, ...] = ("Total", "Kopā", "All", "total", "kopā", "Kopa")
ATTR = "evaltools_sdc"

PRIMARY, SECONDARY, DEPENDENT = "primary", "secondary", "dependent"

_defaults: dict[str, Any] = {"threshold": DEFAULT_THRESHOLD, "round_to": None, "protection": 1}


class DisclosureError(ValueError):
    """A published table would show a count that disclosure control must hide."""


class DisclosureInputError(ValueError):
    """The table or the options given to :func:`protect` cannot be protected as asked."""


class ColumnNotFoundError(KeyError):
    """A column named in the options is not in the table."""

    def __str__(self) -> str:
        return str(self.args[0])


def set_defaults(
    *, threshold: int | None = None, round_to: int | None | str = "keep", protection: int | None = None
) -> None:
    """Set the study-wide threshold, rounding base and protection interval (notebook parameters)."""
    if threshold is not None:
        _defaults["threshold"] = _check_threshold(threshold)
    if protection is not None:
        _defaults["protection"] = _check_protection(protection)
    if round_to != "keep":
        _defaults["round_to"] = round_to
        _check_rounding(_defaults["threshold"], round_to)  # type: ignore[arg-type]


def get_threshold() -> int:
    """The threshold used when none is given (10 unless :func:`set_defaults` changed it)."""
    return int(_defaults["threshold"])


def get_round_to() -> int | None:
    """The rounding base used when none is given (``None``: no rounding)."""
    return _defaults["round_to"]


def safe_count(
    n: float | None,
    threshold: int | None = None,
    language: str | None = None,
    *,
    round_to: int | None | str = "default",
) -> str:
    """A count formatted for a label or sentence: ``"<10"`` when ``0 < n < threshold``."""
    thr = _check_threshold(get_threshold() if threshold is None else threshold)
    base = get_round_to() if round_to == "default" else round_to
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return ""
    if n < 0 or float(n) != int(n):
        raise DisclosureInputError(f"safe_count(): a count must be a whole number >= 0, got {n!r}.")
    if 0 < n < thr:
        return i18n.t("sdc.below", language, threshold=thr)
    value = _round_base(float(n), base) if base else float(n)  # type: ignore[arg-type]
    return i18n.integer(value, language)


@dataclass(frozen=True)
class ProtectedTable:
    """A table after disclosure control.

    ``data`` holds the published numbers (hidden cells are NaN); ``status``
    says why each hidden cell is hidden (``"primary"``, ``"secondary"``,
    ``"dependent"``; ``""`` when shown). ``to_frame()`` gives the table as
    published, with the marker in hidden cells.
    """

    data: pd.DataFrame
    status: pd.DataFrame
    counts: tuple[Hashable, ...]
    threshold: int
    round_to: int | None = None
    total_row: Hashable | None = None
    total_col: Hashable | None = None
    caption: str | None = None
    language: str | None = None
    digits: Mapping[Hashable, int] = field(default_factory=dict)
    labels: Mapping[Hashable, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    percents: tuple[Hashable, ...] = ()
    protection: int = 1

    @property
    def hidden(self) -> pd.DataFrame:
        """Boolean frame: True where a value is hidden."""
        return self.status != ""

    def n_hidden(self, reason: str | None = None) -> int:
        """How many values are hidden (for one reason, or all)."""
        mask = self.hidden if reason is None else (self.status == reason)
        return int(mask.to_numpy().sum())

    def drop(self, columns: Sequence[Hashable]) -> "ProtectedTable":
        """The same table without some columns (helper counts, say); hiding more is always safe."""
        cols = [c for c in self.data.columns if c not in set(columns)]
        return replace(
            self,
            data=self.data[cols],
            status=self.status[cols],
            counts=tuple(c for c in self.counts if c in cols),
            total_col=self.total_col if self.total_col in cols else None,
        )

    def to_frame(self, marker: str | None = None) -> pd.DataFrame:
        """The table as published: hidden cells hold the marker (``[c]``)."""
        mark = i18n.t("sdc.marker", self.language) if marker is None else marker
        out = self.data.astype(object).where(~self.hidden, mark)
        for col in self.counts:  # show counts as whole numbers, not 12.0
            visible = ~self.hidden[col] & self.data[col].notna()
            out.loc[visible, col] = self.data.loc[visible, col].astype("int64")
        out.attrs[ATTR] = self._meta(mark)
        return out

    def to_dict(self) -> dict[str, Any]:
        """For :func:`evaltools.report.record`: the published table and how it was protected."""
        frame = self.to_frame()
        flat = frame.reset_index()
        return {
            "type": "protected_table",
            "columns": [str(c) for c in flat.columns],
            "data": flat.astype(object).where(flat.notna(), None).values.tolist(),
            **{k: v for k, v in frame.attrs[ATTR].items() if k != "counts"},
            "counts": [str(c) for c in self.counts],
        }

    def _meta(self, mark: str) -> dict[str, Any]:
        return {
            "counts": list(self.counts),
            "threshold": self.threshold,
            "round_to": self.round_to,
            "total_row": self.total_row,
            "total_col": self.total_col,
            "marker": mark,
            "protection": self.protection,
            "n_primary": self.n_hidden(PRIMARY),
            "n_secondary": self.n_hidden(SECONDARY),
            "n_dependent": self.n_hidden(DEPENDENT),
        }

    def footnotes(self, language: str | None = None) -> list[str]:
        """The notes a reader needs under the table, in ``language``."""
        lang = i18n.check_language(language or self.language)
        notes = []
        if self.n_hidden():
            notes.append(i18n.t("sdc.footnote", lang, threshold=self.threshold))
        if self.round_to:
            notes.append(i18n.t("sdc.rounded", lang, base=self.round_to))
        return list(self.notes) + notes

    def display_frame(self, language: str | None = None) -> pd.DataFrame:
        """Strings as a reader sees them: numbers formatted for the language, markers in place."""
        lang = i18n.check_language(language or self.language)
        mark = i18n.t("sdc.marker", lang)
        out = pd.DataFrame(index=self.data.index, columns=self.data.columns, dtype=object)
        for col in self.data.columns:
            digits = 0 if col in self.counts else self.digits.get(col, 2)
            for idx in self.data.index:
                if self.status.at[idx, col]:
                    out.at[idx, col] = mark
                elif col in self.percents and pd.notna(self.data.at[idx, col]):
                    out.at[idx, col] = i18n.percent(float(self.data.at[idx, col]), lang, self.digits.get(col, 1))
                else:
                    out.at[idx, col] = _display(self.data.at[idx, col], digits, lang)
        return out.rename(columns=dict(self.labels))

    def _repr_html_(self) -> str:
        from evaltools.report.tables import html_table  # display lives with the tables

        return html_table(
            self.display_frame(), caption=self.caption, notes=self.footnotes(), hidden=self.hidden
        )

    def __repr__(self) -> str:
        head = (
            f"ProtectedTable: {len(self.data)} rows x {len(self.data.columns)} columns, "
            f"threshold {self.threshold}"
            + (f", rounded to {self.round_to}" if self.round_to else "")
            + f"; hidden {self.n_hidden()} ({self.n_hidden(PRIMARY)} primary, "
            f"{self.n_hidden(SECONDARY)} complementary, {self.n_hidden(DEPENDENT)} dependent)"
        )
        return head + "\n" + self.to_frame().to_string()


def protect(
    df: pd.DataFrame,
    counts: Sequence[Hashable] | None = None,
    *,
    denominators: Mapping[Hashable, Hashable | tuple[Hashable, ...]] | None = None,
    numerators: Mapping[Hashable, Hashable] | None = None,
    threshold: int | None = None,
    round_to: int | None | str = "default",
    total_row: Hashable | None = "auto",
    total_col: Hashable | None = "auto",
    suppress_zeros: bool = False,
    protection: int | None = None,
    caption: str | None = None,
    language: str | None = None,
    digits: Mapping[Hashable, int] | None = None,
    labels: Mapping[Hashable, str] | None = None,
    notes: Sequence[str] = (),
    percents: Sequence[Hashable] = (),
) -> ProtectedTable:
    """Apply disclosure control to ``df`` (see the module docstring for the rules).

    Parameters
    ----------
    counts: the columns holding counts of people (default: every integer column).
    denominators: ``{value column: count column or tuple of count columns}``; the
        value (a mean, a share, a difference of means) is hidden when any of its
        counts is below the threshold or hidden.
    numerators: ``{share column: count column}``; the share is also hidden when
        its numerator, or denominator minus numerator, is a small non-zero count.
    threshold: smallest count that may be shown (default 10, see :func:`set_defaults`).
    round_to: round visible counts to this base (e.g. 5) after suppression.
    labels, digits, percents, caption, notes, language: how the table displays
        (column labels, decimals per column, shares shown as percentages, title,
        extra notes under it).
    total_row: label of the row that holds the column totals; ``"auto"`` looks
        for ``Total``/``Kopā``/``All``; ``None``: the table has no total row.
    total_col: the count column that is the sum of the other count columns
        (``"auto"`` as above; ``None``: none).
    protection: how wide the range must be that a reader can narrow a hidden
        count down to from the published totals (1: not exactly recoverable;
        e.g. ``protection=threshold`` also keeps a reader from learning "3 or 4").
        Values above 1 solve two LPs per hidden cell. Default: :func:`set_defaults`.
    """
    thr = _check_threshold(get_threshold() if threshold is None else threshold)
    base = get_round_to() if round_to == "default" else round_to
    _check_rounding(thr, base)  # type: ignore[arg-type]
    if not isinstance(df, pd.DataFrame):
        raise DisclosureInputError(
            f"protect() needs a pandas DataFrame, got {type(df).__name__}; "
            "convert a Series with .to_frame()."
        )
    if not df.index.is_unique or not df.columns.is_unique:
        raise DisclosureInputError(
            "protect(): row labels and column names must be unique; "
            "reset_index() or rename the duplicates."
        )
    count_cols = _resolve_counts(df, counts)
    denominators = dict(denominators or {})
    numerators = dict(numerators or {})
    _check_dependents(df, count_cols, denominators, numerators)
    trow = _resolve_total_row(df, total_row)
    tcol = _resolve_total_col(df, count_cols, total_col)

    values = _as_numbers(df, count_cols)
    _check_counts(values)
    _verify_totals(values, trow, tcol)
    A, cells = _constraints(values, count_cols, trow, tcol)
    x = values.to_numpy(dtype=float).ravel()  # row by row, the order of `cells`
    is_total = np.array([r == trow or c == tcol for r, c in cells])

    status = pd.DataFrame("", index=df.index, columns=df.columns, dtype=object)
    small = (x > 0) & (x < thr)
    if suppress_zeros:
        small |= x == 0
    protection = _check_protection(_defaults["protection"] if protection is None else protection)
    hidden = _complementary(x, A, small, is_total, protection)
    for k, (r, c) in enumerate(cells):
        if small[k]:
            status.at[r, c] = PRIMARY
        elif hidden[k]:
            status.at[r, c] = SECONDARY

    _hide_dependents(df, status, denominators, numerators, thr)

    data = df.copy()
    for c in df.columns:
        if c in count_cols:
            data[c] = values[c]
        data.loc[status[c] != "", c] = np.nan
    if base:
        for c in count_cols:
            data[c] = _round_base(data[c], base)  # type: ignore[arg-type]
    return ProtectedTable(
        data=data,
        status=status,
        counts=tuple(count_cols),
        threshold=thr,
        round_to=base,  # type: ignore[arg-type]
        total_row=trow,
        total_col=tcol,
        caption=caption,
        language=language,
        digits=dict(digits or {}),
        labels=dict(labels or {}),
        notes=tuple(notes),
        percents=tuple(percents),
        protection=int(protection),
    )


def assert_safe(
    table: pd.DataFrame | ProtectedTable,
    threshold: int | None = None,
    counts: Sequence[Hashable] | None = None,
    *,
    total_row: Hashable | None = "meta",
    total_col: Hashable | None = "meta",
    marker: str | None = None,
    protection: int | None = None,
) -> None:
    """Raise :class:`DisclosureError` unless ``table`` is safe to publish.

    Safe means: no visible count is between 1 and ``threshold - 1``, and (when the
    table publishes totals and is not rounded) no hidden count can be worked out
    exactly from the visible cells and totals, checked by an attack: the
    smallest and largest value each hidden cell can take under the published
    equations and non-negativity, by linear programming.

    A frame from :meth:`ProtectedTable.to_frame` carries what is needed in
    ``attrs``; for any other frame pass ``counts`` (and the totals).
    """
    if isinstance(table, ProtectedTable):
        table = table.to_frame()
    if not isinstance(table, pd.DataFrame):
        raise DisclosureInputError(f"assert_safe() needs a DataFrame, got {type(table).__name__}.")
    meta = table.attrs.get(ATTR, {})
    if counts is None and not meta:
        raise DisclosureError(
            "assert_safe(): this table has not been through disclosure control (no "
            f"attrs[{ATTR!r}]). Publish it with evaltools.report.publish_table() or "
            "protect(), or pass counts=[...] naming its count columns."
        )
    count_cols = list(counts if counts is not None else meta["counts"])
    thr = _check_threshold(threshold if threshold is not None else meta.get("threshold", get_threshold()))
    mark = marker if marker is not None else meta.get("marker", i18n.t("sdc.marker", "en"))
    trow = meta.get("total_row") if total_row == "meta" else total_row
    tcol = meta.get("total_col") if total_col == "meta" else total_col
    missing = [c for c in count_cols if c not in table.columns]
    if missing:
        raise ColumnNotFoundError(f"assert_safe(): count columns {missing} are not in the table.")

    sub = table[count_cols]
    is_text = sub.apply(lambda col: col.map(lambda v: isinstance(v, str) and v.strip() == mark))
    # numbers may arrive as text (a CSV column holding markers is read back as strings)
    known = sub.where(~is_text).apply(pd.to_numeric, errors="coerce").astype(float)
    odd = sub.notna() & ~is_text & known.isna()
    if odd.to_numpy().any():
        r, c = next((r, c) for c in count_cols for r in table.index if odd.at[r, c])
        raise DisclosureError(
            f"assert_safe(): row {_lab(r)}, column {c!r} holds {table.at[r, c]!r}, which is neither "
            f"a count nor the suppression marker {mark!r}."
        )
    small = (known > 0) & (known < thr)
    if small.to_numpy().any():
        r, c = next((r, c) for c in count_cols for r in table.index if small.at[r, c])
        raise DisclosureError(
            f"Row {_lab(r)}, column {c!r} shows the count {known.at[r, c]:g}, below the disclosure "
            f"threshold {thr}. Publish the table through protect() / publish_table()."
        )
    if (trow is None and tcol is None) or meta.get("round_to"):
        return
    width = int(protection if protection is not None else meta.get("protection", 1))
    exposed = attack(known, is_text, count_cols, trow, tcol, protection=width)
    if exposed:
        (r, c), (lo, hi) = next(iter(exposed.items()))
        raise DisclosureError(
            f"The hidden count in row {_lab(r)}, column {c!r} can be narrowed down from the published "
            f"totals: it must lie in [{lo:g}, {hi:g}] (required width {width}). Hide a "
            "complementary cell in the same row or column (protect() does this)."
        )


def attack(
    known: pd.DataFrame,
    hidden: pd.DataFrame,
    counts: Sequence[Hashable],
    total_row: Hashable | None,
    total_col: Hashable | None,
    *,
    protection: int = 1,
) -> dict[tuple[Hashable, Hashable], tuple[float, float]]:
    """Hidden cells an attacker can pin down (or narrow below ``protection``) from the published values.

    Returns ``{(row, column): (lowest, highest)}`` for every hidden cell whose
    feasible interval under the table's equations and ``x >= 0`` is narrower
    than ``protection`` (1: only cells recoverable exactly).
    """
    A, cells = _constraints(known, list(counts), total_row, total_col)
    if A.shape[0] == 0:
        return {}
    h = hidden[list(counts)].to_numpy(dtype=bool).ravel()
    x = np.where(h, 0.0, known[list(counts)].to_numpy(dtype=float).ravel())
    exposed = _exposed(A, x, h, values_known=False, width=protection)
    if not exposed.any():
        return {}
    lo, hi = _intervals(A, x, h, only=np.flatnonzero(exposed))
    return {cells[k]: (lo[k], hi[k]) for k in np.flatnonzero(exposed)}


# -- the suppression algorithm -----------------------------------------------------


def _complementary(
    x: np.ndarray, A: np.ndarray, primary: np.ndarray, is_total: np.ndarray, width: int = 1
) -> np.ndarray:
    """Hide further cells until no hidden cell is determined by the visible ones."""
    hidden = primary.copy()
    if A.shape[0] == 0 or not hidden.any():
        return hidden
    lines = [np.flatnonzero(row) for row in A]
    for _ in range(len(x) + 1):
        _close_lines(x, lines, hidden, is_total)
        exposed = _exposed(A, x, hidden, values_known=True, width=width)
        if not exposed.any():
            return hidden
        k = int(np.flatnonzero(exposed)[0])
        _add_complement_for(k, x, A, lines, hidden, is_total, width)
    raise AssertionError("complementary suppression did not converge")  # pragma: no cover


def _close_lines(x: np.ndarray, lines: list[np.ndarray], hidden: np.ndarray, is_total: np.ndarray) -> None:
    """While a line has exactly one hidden cell, hide its smallest other cell."""
    changed = True
    while changed:
        changed = False
        for line in lines:
            if hidden[line].sum() == 1:
                k = _pick(line[~hidden[line]], x, is_total)
                if k is not None:
                    hidden[k] = True
                    changed = True


def _pick(candidates: np.ndarray, x: np.ndarray, is_total: np.ndarray) -> int | None:
    """The cell to hide: non-zero before zero, interior before totals, smallest, first."""
    if len(candidates) == 0:
        return None
    order = sorted(candidates, key=lambda k: (x[k] == 0, bool(is_total[k]), x[k], k))
    return int(order[0])


def _determined(A: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Hidden cells fixed by the equations alone: zero in every null-space vector."""
    from scipy.linalg import null_space

    idx = np.flatnonzero(hidden)
    out = np.zeros_like(hidden)
    sub = A[:, idx]
    sub = sub[np.abs(sub).sum(axis=1) > 0]
    if sub.shape[0] == 0:
        return out
    ns = null_space(sub)
    norms = np.linalg.norm(ns, axis=1) if ns.size else np.zeros(len(idx))
    out[idx[norms < 1e-9]] = True
    return out


def _exposed(
    A: np.ndarray, x: np.ndarray, hidden: np.ndarray, *, values_known: bool, width: int = 1
) -> np.ndarray:
    """Hidden cells whose value the visible cells and totals pin down (``x >= 0`` included).

    A cell is safe when some direction ``v`` with ``A v = 0`` moves it while the
    table stays feasible. Given a feasible point that is strictly positive on a
    set P of hidden cells, every cell of P that is free in the null space of the
    equations restricted to P is safe (``point ± eps v`` stays feasible). That
    point is the true table when its values are known, otherwise the solution
    of one LP that maximises the smallest hidden value. Only cells this does not
    settle get the exact per-cell LP bounds. With ``width > 1`` (a protection
    interval) every hidden cell's LP bounds are computed and must be ``width`` apart.
    """
    exposed = _determined(A, hidden)
    if width > 1:
        rest = hidden & ~exposed
        if rest.any():
            lo, hi = _intervals(A, np.where(hidden, 0.0, x), hidden, only=np.flatnonzero(rest))
            exposed |= rest & (hi - lo < width - 1e-9)
        return exposed
    rest = hidden & ~exposed
    if not rest.any():
        return exposed
    point = x if values_known else _interior_point(A, x, hidden)
    positive = hidden & (point > 1e-9)
    undecided = rest & ~(positive & ~_determined(A, positive))
    if undecided.any():
        lo, hi = _intervals(A, np.where(hidden, 0.0, x), hidden, only=np.flatnonzero(undecided))
        exposed |= undecided & (hi - lo < 0.5)
    return exposed


def _interior_point(A: np.ndarray, x: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """A feasible table that makes the smallest hidden value as large as possible (capped at 1)."""
    from scipy.optimize import linprog

    idx = np.flatnonzero(hidden)
    A_h = A[:, idx]
    b = -A[:, ~hidden] @ x[~hidden]
    keep = np.abs(A_h).sum(axis=1) > 0
    A_h, b = A_h[keep], b[keep]
    out = np.where(hidden, 0.0, x)
    if A_h.shape[0] == 0:
        out[idx] = 1.0
        return out
    m = len(idx)
    # variables (x_hidden, t): maximise t subject to A_h x = b, x_j >= t, 0 <= t <= 1
    c = np.zeros(m + 1)
    c[-1] = -1.0
    A_eq = np.hstack([A_h, np.zeros((A_h.shape[0], 1))])
    A_ub = np.hstack([-np.eye(m), np.ones((m, 1))])
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(m), A_eq=A_eq, b_eq=b,
                  bounds=[(0, None)] * m + [(0, 1)], method="highs")
    if res.status == 2:
        raise DisclosureInputError(
            "The table's totals do not add up, so its cells cannot be checked; "
            "make each total the sum of the cells it totals."
        )
    out[idx] = res.x[:m]
    return out


def _add_complement_for(
    k: int, x: np.ndarray, A: np.ndarray, lines: list[np.ndarray], hidden: np.ndarray, is_total: np.ndarray,
    width: int = 1,
) -> None:
    """Hide one more cell in a line through cell ``k``: the first that frees ``k``, else the smallest."""
    pool = np.unique(np.concatenate([line for line in lines if k in line]))
    pool = pool[~hidden[pool]]
    if len(pool) == 0:  # every cell on k's lines is hidden: widen to any visible cell
        pool = np.flatnonzero(~hidden)
    if len(pool) == 0:  # pragma: no cover - with every cell hidden nothing can be narrowed
        raise AssertionError("complementary suppression ran out of cells to hide")
    ordered = sorted(pool, key=lambda j: (x[j] == 0, bool(is_total[j]), x[j], j))
    for j in ordered:
        trial = hidden.copy()
        trial[j] = True
        _close_lines(x, lines, trial, is_total)
        if not _exposed(A, x, trial, values_known=True, width=width)[k]:
            hidden[:] = trial
            return
    hidden[int(ordered[0])] = True


def _intervals(
    A: np.ndarray, x: np.ndarray, hidden: np.ndarray, only: Iterable[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For hidden cells: min and max under ``A x = 0`` with the visible values fixed, ``x >= 0``."""
    from scipy.optimize import linprog

    n = len(x)
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    idx = np.flatnonzero(hidden)
    if len(idx) == 0:
        return lo, hi
    A_h = A[:, idx]
    b = -A[:, ~hidden] @ x[~hidden]
    keep = np.abs(A_h).sum(axis=1) > 0
    A_h, b = A_h[keep], b[keep]
    targets = idx if only is None else [k for k in only]
    for k in targets:
        pos = int(np.flatnonzero(idx == k)[0])
        c = np.zeros(len(idx))
        c[pos] = 1.0
        if A_h.shape[0] == 0:
            lo[k], hi[k] = 0.0, np.inf
            continue
        r_min = linprog(c, A_eq=A_h, b_eq=b, bounds=(0, None), method="highs")
        r_max = linprog(-c, A_eq=A_h, b_eq=b, bounds=(0, None), method="highs")
        if r_min.status == 2:  # infeasible: the published values are inconsistent
            raise DisclosureInputError(
                "The table's totals do not add up, so its cells cannot be checked; "
                "make each total the sum of the cells it totals."
            )
        lo[k] = r_min.fun if r_min.status == 0 else 0.0
        hi[k] = -r_max.fun if r_max.status == 0 else np.inf
    return lo, hi


def _constraints(
    values: pd.DataFrame, counts: list[Hashable], total_row: Hashable | None, total_col: Hashable | None
) -> tuple[np.ndarray, list[tuple[Hashable, Hashable]]]:
    """The equations ``A x = 0`` a table with totals publishes, over its count cells."""
    cells = [(r, c) for r in values.index for c in counts]
    pos = {cell: k for k, cell in enumerate(cells)}
    rows = []
    if total_row is not None:
        for c in counts:
            eq = np.zeros(len(cells))
            for r in values.index:
                eq[pos[(r, c)]] = -1.0 if r == total_row else 1.0
            rows.append(eq)
    if total_col is not None:
        for r in values.index:
            eq = np.zeros(len(cells))
            for c in counts:
                eq[pos[(r, c)]] = -1.0 if c == total_col else 1.0
            rows.append(eq)
    A = np.array(rows) if rows else np.zeros((0, len(cells)))
    return A, cells


# -- dependents, checks, helpers --------------------------------------------------------


def _hide_dependents(
    df: pd.DataFrame,
    status: pd.DataFrame,
    denominators: Mapping[Hashable, Any],
    numerators: Mapping[Hashable, Hashable],
    thr: int,
) -> None:
    for col, dens in denominators.items():
        mask = pd.Series(False, index=df.index)
        for den in _as_tuple(dens):
            d = df[den].astype(float)
            mask |= (d < thr) | (status[den] != "")
        if col in numerators and len(_as_tuple(dens)) == 1:
            d = df[_as_tuple(dens)[0]].astype(float)
            rest = d - df[numerators[col]].astype(float)
            mask |= (rest > 0) & (rest < thr)
        status.loc[mask & (status[col] == ""), col] = DEPENDENT
    for col, num_col in numerators.items():
        num = df[num_col].astype(float)
        mask = ((num > 0) & (num < thr)) | (status[num_col] != "")
        status.loc[mask & (status[col] == ""), col] = DEPENDENT


def _as_tuple(value: Any) -> tuple[Hashable, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _check_threshold(threshold: Any) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise DisclosureInputError(
            f"The disclosure threshold must be a whole number >= 1, got {threshold!r}; "
            "set the notebook parameter `threshold` (default 10)."
        )
    return int(threshold)


def _check_protection(protection: Any) -> int:
    if isinstance(protection, bool) or not isinstance(protection, (int, np.integer)) or protection < 1:
        raise DisclosureInputError(
            f"protection={protection!r}: the protection interval must be a whole number >= 1 "
            "(1: hidden counts are only required not to be recoverable exactly)."
        )
    return int(protection)


def _check_rounding(threshold: int, base: int | None) -> None:
    if base is None:
        return
    if isinstance(base, bool) or not isinstance(base, (int, np.integer)) or base < 2:
        raise DisclosureInputError(f"round_to must be None or a whole number >= 2, got {base!r}.")
    if threshold % base:
        raise DisclosureInputError(
            f"The threshold {threshold} is not a multiple of round_to={base}: rounding could "
            f"show a count below the threshold. Use a threshold that is a multiple of {base} "
            "or round_to=None."
        )


def _resolve_counts(df: pd.DataFrame, counts: Sequence[Hashable] | None) -> list[Hashable]:
    if counts is None:
        cols = [c for c in df.columns if pd.api.types.is_integer_dtype(df[c])]
        if not cols:
            raise DisclosureInputError(
                "protect(): no integer column found to treat as counts; name the count "
                "columns with counts=[...] (use counts=[] if the table has none)."
            )
        return cols
    if isinstance(counts, (str, bytes)):
        counts = [counts]
    missing = [c for c in counts if c not in df.columns]
    if missing:
        raise ColumnNotFoundError(
            f"protect(): count columns {missing} are not in the table; it has {list(df.columns)}."
        )
    return list(counts)


def _check_dependents(df: pd.DataFrame, counts: list[Hashable], den: Mapping, num: Mapping) -> None:
    for what, mapping in (("denominators", den), ("numerators", num)):
        for col, refs in mapping.items():
            for ref in _as_tuple(refs):
                _check_dependent(df, counts, what, col, ref)


def _check_dependent(df: pd.DataFrame, counts: list[Hashable], what: str, col: Hashable, ref: Hashable) -> None:
    for name in (col, ref):
        if name not in df.columns:
            raise ColumnNotFoundError(
                f"protect({what}=...): column {name!r} is not in the table; it has {list(df.columns)}."
            )
    if ref not in counts:
        raise DisclosureInputError(
            f"protect({what}=...): {ref!r}, the count behind {col!r}, must also be listed "
            "in counts so that it is protected itself."
        )


def _as_numbers(df: pd.DataFrame, columns: list[Hashable]) -> pd.DataFrame:
    out = {}
    for c in columns:
        num = pd.to_numeric(df[c], errors="coerce")
        bad = df[c].notna() & num.isna()
        if bad.any():
            r = df.index[bad.to_numpy()][0]
            raise DisclosureInputError(
                f"protect(): count column {c!r} holds {df.at[r, c]!r} in row {_lab(r)}, which is not a "
                "number. Counts must be whole numbers; list only count columns in counts=."
            )
        out[c] = num.astype(float)
    return pd.DataFrame(out, index=df.index)


def _check_counts(values: pd.DataFrame) -> None:
    for c in values.columns:
        v = values[c]
        bad = v.notna() & ((v < 0) | (v != np.floor(v)))
        if bad.any():
            r = v.index[bad.to_numpy()][0]
            raise DisclosureInputError(
                f"protect(): column {c!r}, row {_lab(r)} holds {v[r]:g}, which is not a count "
                "(a whole number >= 0). List only count columns in counts=; put means and "
                "shares in denominators=."
            )


def _resolve_total_row(df: pd.DataFrame, total_row: Hashable | None) -> Hashable | None:
    if total_row is None:
        return None
    if isinstance(total_row, str) and total_row == "auto":
        found = [r for r in df.index if isinstance(r, str) and r in TOTAL_LABELS]
        return found[-1] if len(found) == 1 else None
    if total_row not in df.index:
        raise ColumnNotFoundError(f"protect(total_row={total_row!r}): no such row label in the table.")
    return total_row


def _resolve_total_col(df: pd.DataFrame, counts: list[Hashable], total_col: Hashable | None) -> Hashable | None:
    if total_col is None:
        return None
    if isinstance(total_col, str) and total_col == "auto":
        found = [c for c in counts if isinstance(c, str) and c in TOTAL_LABELS]
        return found[0] if len(found) == 1 else None
    if total_col not in counts:
        raise ColumnNotFoundError(
            f"protect(total_col={total_col!r}): the total column must be one of the count columns {counts}."
        )
    return total_col


def _verify_totals(values: pd.DataFrame, trow: Hashable | None, tcol: Hashable | None) -> None:
    """Totals must equal the sums they stand for, or the equations would be wrong."""
    arr = values.to_numpy(dtype=float)
    if trow is not None:
        i = values.index.get_loc(trow)
        body = np.delete(arr, i, axis=0)
        sums = body.sum(axis=0)
        bad = np.isnan(body).any(axis=0) | np.isnan(arr[i]) | (sums != arr[i])
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise DisclosureInputError(
                f"protect(): in column {values.columns[j]!r} the total row {trow!r} holds "
                f"{arr[i, j]:g} but the rows above add up to {sums[j]:g} (missing values count as "
                "unknown). Pass total_row=None if that row is not the sum of the rows shown."
            )
    if tcol is not None:
        j = values.columns.get_loc(tcol)
        others = np.delete(arr, j, axis=1)
        sums = others.sum(axis=1)
        bad = np.isnan(others).any(axis=1) | np.isnan(arr[:, j]) | (sums != arr[:, j])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DisclosureInputError(
                f"protect(): in row {_lab(values.index[i])} the total column {tcol!r} holds "
                f"{arr[i, j]:g} but the other count columns add up to {sums[i]:g}. Pass "
                "total_col=None if that column is not their sum."
            )


def _lab(label: Any) -> str:
    """A row label as written in an error message (numpy scalars as plain numbers)."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def _round_base(v: Any, base: int) -> Any:
    """Round half up to a multiple of ``base`` (NaN stays NaN)."""
    return np.floor(v / base + 0.5) * base


def _display(value: Any, digits: int, language: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return str(value)
    return i18n.number(float(value), language, digits)
