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
   non-zero count or hidden (so that 98 % of 50 cannot reveal one pupil). The
   numerator, the rest and the base are protected as cells (``num + rest = base``
   is one more equation), and with ``shares={col: 100}`` a percentage whose
   numerator is no column has its implied numerator ``value * base / 100``
   protected the same way, total row included.
   With ``protection=k`` every hidden cell's interval must also be at least ``k``
   wide (a protection interval, as in tau-Argus), so a reader cannot learn that a
   hidden count is "3 or 4".
4. **Rounding** (optional, ``round_to=5``): visible counts are rounded to the
   nearest multiple of the base after suppression. The threshold must then be a
   multiple of the base, so a rounded count can never fall below it.

5. **Magnitudes** (``magnitudes=``, costs): a cell with fewer than ``threshold``
   contributors or failing a dominance rule (:class:`Dominance`: the (n,k) rule and
   the p% rule, Hundepool et al. 2012, sec. 4.2.2) is hidden, with complements.
6. **The threshold has a floor** (:func:`min_cell_floor`, 5 or the data controller's
   ``disclosure.yaml``): a lower threshold is refused everywhere, naming ``min_cell``.

:func:`protect` applies all of this and returns a :class:`ProtectedTable`;
:func:`protect_value` protects one published number (a headline rate with its base,
with the rounding-interval rule: a share shown with ``d`` decimals beside its base
must not confine its numerator to small counts) and returns a :class:`ProtectedValue`;
:func:`protect_linked` protects several tables, chart series and values that share
counts with one suppression pattern over the union of their equations (:class:`Link`,
:func:`same`). :func:`assert_safe` checks a published table, including an attack on its
totals by linear programming, and :func:`safe_count` protects a single count in a
figure label or sentence. The attacker that checks a whole run folder is
:mod:`evaltools.report.attack`; see ``docs/disclosure.md``.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.core.errors import ColumnNotFoundError, DisclosureError, InputError
from evaltools.report import i18n
from evaltools.report.html import html_table

DEFAULT_THRESHOLD = 10
TOTAL_LABELS: tuple[str, ...] = ("Total", "Kopā", "All", "total", "kopā", "Kopa")
ATTR = "evaltools_sdc"

PRIMARY, SECONDARY, DEPENDENT = "primary", "secondary", "dependent"

_defaults: dict[str, Any] = {"threshold": DEFAULT_THRESHOLD, "round_to": None, "protection": 1}


class DisclosureInputError(InputError, ValueError):
    """The table or the options given to :func:`protect` cannot be protected as asked."""


def set_defaults(
    *, threshold: int | None = None, round_to: int | None | str = "keep", protection: int | None = None
) -> None:
    """Set the study-wide threshold, rounding base and protection interval (notebook parameters).

    A threshold below the project's floor (:func:`min_cell_floor`, 5 unless the data
    controller's ``disclosure.yaml`` raises it) is refused, naming ``min_cell``.
    """
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
    denominators: Mapping[Hashable, tuple[Hashable, ...]] = field(default_factory=dict)
    numerators: Mapping[Hashable, Hashable] = field(default_factory=dict)
    shares: Mapping[Hashable, float] = field(default_factory=dict)
    magnitudes: tuple[Hashable, ...] = ()
    name: str | None = None
    links: tuple[dict[str, Any], ...] = ()

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
            denominators={c: d for c, d in self.denominators.items() if c in cols},
            numerators={c: n for c, n in self.numerators.items() if c in cols and n in cols},
            shares={c: s for c, s in self.shares.items() if c in cols},
            magnitudes=tuple(c for c in self.magnitudes if c in cols),
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
        """For :func:`evaltools.report.record`: the published table and how it was protected.

        Besides the cells it carries what a reader (and :mod:`evaltools.report.attack`)
        needs to know how the numbers hang together: the count and magnitude columns,
        the total row and column, each value's denominators and numerator, the scale
        of each share, the index columns that label a row, the display labels (the
        CSV/Excel export's column names) and the links to other tables.
        """
        frame = self.to_frame()
        flat = frame.reset_index()
        meta = frame.attrs[ATTR]
        return {
            "type": "protected_table",
            "columns": [str(c) for c in flat.columns],
            "data": flat.astype(object).where(flat.notna(), None).values.tolist(),
            **{k: v for k, v in meta.items() if k != "counts"},
            "counts": [str(c) for c in self.counts],
            "total_row": _jsonable_label(self.total_row),
            "total_col": None if self.total_col is None else str(self.total_col),
            "index_columns": int(frame.index.nlevels),
            "denominators": {str(c): [str(d) for d in ds] for c, ds in self.denominators.items()},
            "numerators": {str(c): str(n) for c, n in self.numerators.items()},
            "shares": {str(c): float(s) for c, s in self.shares.items()},
            "magnitudes": [str(c) for c in self.magnitudes],
            "digits": {str(c): int(d) for c, d in self.digits.items()},
            "labels": {str(c): str(v) for c, v in self.labels.items()},
            "name": self.name,
            "links": [dict(link) for link in self.links],
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
        """Strings as a reader sees them: numbers formatted for the language, markers in place,
        the display labels on the columns and the index names (:meth:`labelled`)."""
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
        return self.labelled(out)

    def labelled(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the display labels on its columns and on the index names (the data keep
        code names, e.g. ``outcome``, so ``results.json`` is the same in every language)."""
        labels = dict(self.labels)
        out = frame.rename(columns=labels)
        out.index = out.index.set_names([labels.get(n, n) if n is not None else None for n in out.index.names])
        return out

    def _repr_html_(self) -> str:
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
    shares: Mapping[Hashable, float] | None = None,
    magnitudes: Mapping[Hashable, Any] | None = None,
    dominance: Dominance | None = None,
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
    name: str | None = None,
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
        Both counts and their difference are protected like cells of the table
        (``numerator + rest = denominator`` is one more published equation).
    shares: ``{share column: scale}`` for a share whose numerator is not a column
        (``value = scale * numerator / denominator``; 100 for a percentage, 1 for a
        proportion). The implied numerator ``value * denominator / scale`` and the
        rest are protected as if they were count columns (with the total row too),
        so a percentage cannot give back a count the table hides.
    magnitudes: ``{column: contributions}`` for a table of money or other magnitudes:
        ``contributions`` maps each row label to the per-unit values the cell is the
        sum of. A cell is hidden when it has fewer than ``threshold`` contributors
        or fails the dominance rule (see :class:`Dominance`: the (n,k) rule and the
        p% rule); totals are protected by complementary suppression as for counts.
    dominance: the parameters of the dominance rule (default ``Dominance()``).
    threshold: smallest count that may be shown (default 10, see :func:`set_defaults`;
        never below the project's floor, see :mod:`evaltools.report.policy`).
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
    name: the name the table is recorded under (set by :func:`protect_linked`; the
        attacker uses it to find the table's links to other tables).
    """
    plan = _plan(
        df, counts, denominators=denominators, numerators=numerators, shares=shares,
        magnitudes=magnitudes, dominance=dominance, threshold=threshold, round_to=round_to,
        total_row=total_row, total_col=total_col, suppress_zeros=suppress_zeros, protection=protection,
        display=dict(caption=caption, language=language, digits=dict(digits or {}),
                     labels=dict(labels or {}), notes=tuple(notes), percents=tuple(percents)),
        name=name,
    )
    hidden = _complementary(plan.x, plan.A, plan.primary, plan.is_total, plan.protection, plan.thr)
    return _finish(plan, hidden)


@dataclass(frozen=True)
class Dominance:
    """Dominance rules for a cell that sums magnitudes (money, hours), after Hundepool et al.
    (2012, *Statistical Disclosure Control*, Wiley, sec. 4.2.2) and SACRO/ACRO's defaults.

    - **(n,k) rule**: the cell is sensitive when its ``n`` largest contributions make up
      more than ``k`` (a fraction) of its total: ``x_1 + ... + x_n > k * X``.
    - **p% rule**: the cell is sensitive when the total minus the two largest
      contributions is less than ``p`` (a fraction) of the largest: the second largest
      contributor could then estimate the largest to within ``p``:
      ``X - x_1 - x_2 < p * x_1``.

    ``None`` switches a rule off. Defaults: n=2, k=0.9 and p=0.1 (ACRO 1.0's
    ``safe_nk_n``, ``safe_nk_k``, ``safe_pratio_p``).
    """

    n: int | None = 2
    k: float | None = 0.9
    p: float | None = 0.1

    def sensitive(self, contributions: Sequence[float]) -> tuple[bool, str]:
        """Whether a cell made of ``contributions`` fails a rule, and which (``"nk"``/``"p"``)."""
        x = np.sort(np.asarray([float(v) for v in contributions if v is not None and not _isnan(v)]))[::-1]
        x = x[x != 0]
        if len(x) == 0:
            return False, ""
        if (x < 0).any():
            raise DisclosureInputError(
                "Dominance rules need non-negative contributions (a cost, an amount); "
                "a contribution is negative."
            )
        total = float(x.sum())
        if self.n is not None and self.k is not None and x[: self.n].sum() > self.k * total:
            return True, "nk"
        if self.p is not None and total - x[:2].sum() < self.p * x[0]:
            return True, "p"
        return False, ""


@dataclass(frozen=True)
class _V:
    """A count the table implies without showing it: a share's numerator or its rest."""

    kind: str  # "num": numerator implied by a share; "rest": denominator - numerator
    column: Hashable

    def __str__(self) -> str:
        return f"{self.kind}({self.column})"


@dataclass
class _Plan:
    df: pd.DataFrame
    counts: list[Hashable]
    magnitudes: list[Hashable]
    denominators: dict[Hashable, Any]
    numerators: dict[Hashable, Hashable]
    shares: dict[Hashable, float]
    values: pd.DataFrame  # count, magnitude and implied columns, as floats
    A: np.ndarray
    cells: list[tuple[Hashable, Hashable]]
    x: np.ndarray
    primary: np.ndarray
    is_total: np.ndarray
    thr: int
    base: int | None
    trow: Hashable | None
    tcol: Hashable | None
    protection: int
    display: dict[str, Any]
    name: str | None
    reasons: dict[tuple[Hashable, Hashable], str]


def _plan(
    df: pd.DataFrame,
    counts: Sequence[Hashable] | None,
    *,
    denominators: Mapping[Hashable, Any] | None,
    numerators: Mapping[Hashable, Hashable] | None,
    shares: Mapping[Hashable, float] | None,
    magnitudes: Mapping[Hashable, Any] | None,
    dominance: Dominance | None,
    threshold: int | None,
    round_to: int | None | str,
    total_row: Hashable | None,
    total_col: Hashable | None,
    suppress_zeros: bool,
    protection: int | None,
    display: dict[str, Any],
    name: str | None,
) -> _Plan:
    """Check the inputs and build the published equations and the primary suppressions."""
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
    magnitudes = dict(magnitudes or {})
    count_cols = _resolve_counts(df, counts, exclude=list(magnitudes))
    for col in magnitudes:
        if col not in df.columns:
            raise ColumnNotFoundError(f"protect(magnitudes=...): column {col!r} is not in the table.")
        if col in count_cols:
            raise DisclosureInputError(f"protect(): column {col!r} is listed both in counts and in magnitudes.")
    denominators = dict(denominators or {})
    numerators = dict(numerators or {})
    shares = {c: _check_scale(c, s) for c, s in dict(shares or {}).items()}
    _check_dependents(df, count_cols + list(magnitudes), denominators, numerators)
    for col in shares:
        dens = _as_tuple(denominators.get(col, ()))
        if col not in df.columns:
            raise ColumnNotFoundError(f"protect(shares=...): column {col!r} is not in the table.")
        if len(dens) != 1 or dens[0] not in count_cols:
            raise DisclosureInputError(
                f"protect(shares=...): the share {col!r} needs exactly one count column as its "
                f"denominator: add denominators={{{col!r}: <count column>}}."
            )
    trow = _resolve_total_row(df, total_row)
    tcol = _resolve_total_col(df, count_cols, total_col)

    values = _as_numbers(df, count_cols)
    _check_counts(values)
    _verify_totals(values, trow, tcol)
    mags = _as_numbers(df, list(magnitudes), what="magnitude") if magnitudes else pd.DataFrame(index=df.index)
    if (mags < 0).to_numpy().any():
        raise DisclosureInputError("protect(magnitudes=...): magnitudes must be >= 0 to be protected.")
    if trow is not None and magnitudes:
        _verify_totals(mags, trow, None, tolerance=1e-6)
    implied, line_rows = _implied_counts(df, values, denominators, numerators, shares, trow)
    sys_values = pd.concat([values, mags, implied], axis=1)
    sys_cols = list(sys_values.columns)
    no_total = set(implied.attrs.get("no_total", []))
    A, cells = _constraints(sys_values, sys_cols, trow, tcol,
                            row_sum=[c for c in sys_cols if c not in no_total], col_sum=count_cols)
    lines = line_rows(cells)
    A = np.vstack([A, *lines]) if lines else A
    x = np.nan_to_num(sys_values.to_numpy(dtype=float).ravel())
    is_total = np.array([r == trow or c == tcol for r, c in cells], dtype=bool)
    in_counts = np.array([c in count_cols or isinstance(c, _V) for r, c in cells], dtype=bool)
    primary = in_counts & (x > 0) & (x < thr)
    if suppress_zeros:
        primary |= in_counts & (x == 0) & np.array([not isinstance(c, _V) for r, c in cells], dtype=bool)
    reasons: dict[tuple[Hashable, Hashable], str] = {}
    if magnitudes:
        rule = dominance or Dominance()
        pos = {cell: k for k, cell in enumerate(cells)}
        for col, contributions in magnitudes.items():
            for r in df.index:
                parts = _contributions_of(contributions, r, col, df.at[r, col])
                positive = [v for v in parts if v > 0]
                bad, why = rule.sensitive(parts)
                if 0 < len(positive) < thr:
                    bad, why = True, "contributors"
                if bad:
                    primary[pos[(r, col)]] = True
                    reasons[(r, col)] = why
    return _Plan(
        df=df, counts=count_cols, magnitudes=list(magnitudes), denominators=denominators,
        numerators=numerators, shares=shares, values=sys_values, A=A, cells=cells, x=x, primary=primary,
        is_total=is_total, thr=thr, base=base, trow=trow, tcol=tcol,  # type: ignore[arg-type]
        protection=_check_protection(_defaults["protection"] if protection is None else protection),
        display=display, name=name, reasons=reasons,
    )


def _finish(plan: _Plan, hidden: np.ndarray, links: Sequence[dict[str, Any]] = ()) -> ProtectedTable:
    """The ProtectedTable for a plan once the hidden cells of its equations are known."""
    df = plan.df
    status = pd.DataFrame("", index=df.index, columns=df.columns, dtype=object)
    for k, (r, c) in enumerate(plan.cells):
        if not hidden[k]:
            continue
        why = PRIMARY if plan.primary[k] else SECONDARY
        if isinstance(c, _V):  # an implied count is hidden by hiding the share that implies it
            if status.at[r, c.column] == "":
                status.at[r, c.column] = DEPENDENT
        else:
            status.at[r, c] = why
    _hide_dependents(df, status, plan.denominators, plan.numerators, plan.thr, plan.magnitudes)
    data = df.copy()
    for c in df.columns:
        if c in plan.counts or c in plan.magnitudes:
            data[c] = plan.values[c]
        gone = status[c] != ""
        if gone.any():  # an assignment through an all-False mask would still make integers floats
            data.loc[gone, c] = np.nan
    if plan.base:
        for c in plan.counts:
            data[c] = _round_base(data[c], plan.base)
    return ProtectedTable(
        data=data,
        status=status,
        counts=tuple(plan.counts),
        threshold=plan.thr,
        round_to=plan.base,
        total_row=plan.trow,
        total_col=plan.tcol,
        protection=int(plan.protection),
        denominators={c: _as_tuple(d) for c, d in plan.denominators.items()},
        numerators=dict(plan.numerators),
        shares=dict(plan.shares),
        magnitudes=tuple(plan.magnitudes),
        name=plan.name,
        links=tuple(links),
        **plan.display,
    )


def _implied_counts(
    df: pd.DataFrame,
    values: pd.DataFrame,
    denominators: Mapping[Hashable, Any],
    numerators: Mapping[Hashable, Hashable],
    shares: Mapping[Hashable, float],
    trow: Hashable | None,
) -> tuple[pd.DataFrame, Any]:
    """Columns of counts a share implies (its numerator, and the rest ``den - num``).

    Returns the implied columns and a function giving, for the final cell order,
    the equations ``num + rest - den = 0`` of each row where all three are known.
    """
    out: dict[Hashable, pd.Series] = {}
    triples: list[tuple[Hashable, Hashable, Hashable, pd.Series]] = []
    for col in list(numerators) + [c for c in shares if c not in numerators]:
        dens = _as_tuple(denominators.get(col, ()))
        if len(dens) != 1:
            continue
        den = values[dens[0]]
        if col in numerators:
            num = values[numerators[col]]
            num_name: Hashable = numerators[col]
        else:
            share = pd.to_numeric(df[col], errors="coerce").astype(float)
            num = (share * den / shares[col]).round()
            num_name = _V("num", col)
            out[num_name] = num.fillna(0.0).clip(lower=0.0)
        rest = den - num
        known = num.notna() & den.notna() & _share_defined(num, den)
        rest_name = _V("rest", col)
        out[rest_name] = rest.where(known, 0.0).clip(lower=0.0)
        triples.append((num_name, rest_name, dens[0], known))
    implied = pd.DataFrame(out, index=df.index)
    if trow is not None:  # an implied column whose rows do not add up to its total gives no equation
        for c in list(implied.columns):
            body = implied[c].drop(index=trow)
            if abs(body.sum() - implied.at[trow, c]) > 0.5:
                implied.attrs.setdefault("no_total", []).append(c)

    def line_rows(cells: list[tuple[Hashable, Hashable]]) -> list[np.ndarray]:
        pos = {cell: k for k, cell in enumerate(cells)}
        rows = []
        for num_name, rest_name, den, known in triples:
            for r in df.index:
                if not known[r]:
                    continue
                eq = np.zeros(len(cells))
                eq[pos[(r, num_name)]] += 1.0
                eq[pos[(r, rest_name)]] += 1.0
                eq[pos[(r, den)]] -= 1.0
                rows.append(eq)
        return rows

    return implied, line_rows


def _share_defined(num: pd.Series, den: pd.Series) -> pd.Series:
    """Rows where a share ``num / den`` is a proper share (``0 <= num <= den``, ``den > 0``)."""
    return (den > 0) & (num >= 0) & (num <= den)


def _check_scale(col: Hashable, scale: Any) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) or not scale > 0:
        raise DisclosureInputError(
            f"protect(shares=...): the scale of {col!r} must be a positive number (100 for a "
            f"percentage, 1 for a proportion), got {scale!r}."
        )
    return float(scale)


def _contributions_of(contributions: Any, row: Hashable, col: Hashable, total: Any) -> list[float]:
    """The per-unit values that make up cell ``(row, col)``; they must add up to it."""
    try:
        parts = contributions[row]
    except (KeyError, IndexError, TypeError):
        raise DisclosureInputError(
            f"protect(magnitudes=...): no contributions given for row {_lab(row)} of column {col!r}; "
            "give {row label: [per-unit values]} for every row (the total row too)."
        ) from None
    if isinstance(parts, (pd.Series, np.ndarray)):
        parts = parts.tolist()
    parts = [float(v) for v in parts if v is not None and not _isnan(v)]
    t = float(total) if total is not None and not _isnan(total) else 0.0
    if abs(sum(parts) - t) > 1e-6 * max(1.0, abs(t)):
        raise DisclosureInputError(
            f"protect(magnitudes=...): the contributions of row {_lab(row)} add up to {sum(parts):g}, "
            f"not to the cell's value {t:g} in column {col!r}."
        )
    return parts


def _isnan(v: Any) -> bool:
    return isinstance(v, (float, np.floating)) and math.isnan(v)


# -- single values and tables protected together ------------------------------------------


@dataclass(frozen=True)
class ProtectedValue:
    """One published number (a headline rate, mean or share) after disclosure control.

    ``value`` is the number as shown, rounded to ``digits`` (``None`` when hidden);
    ``denominator`` and ``numerator`` the counts behind it as published (``None``
    when hidden or not given). ``.text()`` formats it for a sentence or card, with
    the marker ``[c]`` when hidden; ``.to_dict()`` is what :func:`record` stores
    (with what a reader could use: base, numerator, digits shown, share scale).
    """

    value: float | None
    status: str
    denominator: int | None
    numerator: int | None
    digits: int
    percent: bool
    share: bool
    scale: float
    threshold: int
    label: str | None = None
    language: str | None = None
    name: str | None = None
    links: tuple[dict[str, Any], ...] = ()

    @property
    def hidden(self) -> bool:
        """True when the value is not shown."""
        return self.status != ""

    def text(self, language: str | None = None) -> str:
        """The value as a reader sees it: ``4,5%`` / ``4.5%`` / ``12,34``, or ``[c]`` when hidden."""
        lang = i18n.check_language(language or self.language)
        if self.hidden:
            return i18n.t("sdc.marker", lang)
        if self.value is None:
            return ""
        if self.percent:
            return i18n.percent(self.value / 100.0, lang, self.digits)
        return i18n.number(self.value, lang, self.digits)

    def n_text(self, language: str | None = None) -> str:
        """The base as a reader sees it (``<10`` when small, empty when not given)."""
        if self.denominator is None:
            return i18n.t("sdc.marker", language or self.language) if self.status == DEPENDENT else ""
        return safe_count(self.denominator, self.threshold, language or self.language, round_to=None)

    def to_dict(self) -> dict[str, Any]:
        """For :func:`evaltools.report.record`: the value as shown and what it was shown with."""
        mark = i18n.t("sdc.marker", self.language)
        return {
            "type": "protected_value",
            "value": self.value,
            "text": {lang: self.text(lang) for lang in i18n.LANGUAGES},
            "denominator": self.denominator,
            "numerator": self.numerator,
            "digits": self.digits,
            "percent": self.percent,
            "share": self.share,
            "scale": self.scale,
            "threshold": self.threshold,
            "status": self.status,
            "marker": mark,
            "label": self.label,
            "name": self.name,
            "links": [dict(link) for link in self.links],
        }

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        base = "hidden" if self.denominator is None else f"n={self.denominator}"
        return f"ProtectedValue({self.text('en')}, {base}, threshold {self.threshold})"


def protect_value(
    value: float | None,
    *,
    denominator: int | None,
    numerator: int | None = None,
    digits: int = 1,
    percent: bool = False,
    share: bool | None = None,
    scale: float | None = None,
    threshold: int | None = None,
    label: str | None = None,
    language: str | None = None,
    name: str | None = None,
) -> ProtectedValue:
    """Protect one published number: a rate, mean or share with the count it is based on.

    The value is shown only when its base ``denominator`` is at least the threshold
    and, for a share, its numerator and ``denominator - numerator`` are not small
    non-zero counts. A share is ``value = scale * numerator / denominator``
    (``percent=True``: a percentage, scale 100; ``share`` defaults to True when a
    ``numerator`` is given or ``percent=True``). Without ``numerator`` the numerator
    is ``value * denominator / scale``. Shown with ``digits`` decimals next to its
    base, a share also gives a reader an interval of numerators (rounding interval):
    if every whole number in it is a small count (or leaves a small rest), the value
    is hidden. To keep a value consistent with a table that publishes the same counts
    (a headline rate and the total row), protect them together with
    :func:`protect_linked`.

    >>> protect_value(1.0526, denominator=570, percent=True).hidden   # 6 of 570
    True
    """
    spec = {"value": value, "denominator": denominator, "numerator": numerator, "digits": digits,
            "percent": percent, "share": share, "scale": scale, "label": label, "language": language}
    out = protect_linked({name or "value": spec}, threshold=threshold, _named=name is not None)[name or "value"]
    return out if name is not None else replace(out, name=None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Link:
    """Cells of tables protected together that a reader can relate: ``total = sum(parts)``.

    A cell is ``(name, row label, column)`` with ``name`` the key given to
    :func:`protect_linked` (which is also the name to record the table under); for a
    single value, ``(name, None, "numerator")`` or ``(name, None, "denominator")``.
    Examples: a period total and the yearly series plotted beside it
    (``Link(("indicators", "Valmiera", "left_early"), [("trend", ("Valmiera", y), "left_early")
    for y in years])``); the same count in two tables (``same(a, b)``).
    """

    total: tuple[str, Hashable, Hashable]
    parts: tuple[tuple[str, Hashable, Hashable], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", tuple(self.total))
        object.__setattr__(self, "parts", tuple(tuple(p) for p in self.parts))

    def to_dict(self) -> dict[str, Any]:
        """The link as recorded: record names, row labels (lists for several index levels), columns."""
        cell = lambda c: [c[0], _jsonable_label(c[1]), str(c[2])]  # noqa: E731
        return {"total": cell(self.total), "parts": [cell(p) for p in self.parts]}


def same(a: tuple[str, Hashable, Hashable], b: tuple[str, Hashable, Hashable]) -> Link:
    """A :class:`Link` saying two published cells hold the same count."""
    return Link(a, (b,))


def protect_linked(
    tables: Mapping[str, Mapping[str, Any]],
    links: Sequence[Link] = (),
    *,
    threshold: int | None = None,
    protection: int | None = None,
    _named: bool = True,
) -> dict[str, ProtectedTable | ProtectedValue]:
    """Protect several tables, series and single values together, with one suppression pattern.

    ``tables`` maps the name each is recorded under to its specification: for a
    table, ``{"data": frame, **options of protect()}``; for a single value,
    ``{"value": v, "denominator": n, **options of protect_value()}``. ``links``
    (:class:`Link`) say which published cells add up to which (or are equal). Every
    table's own equations (totals, numerator + rest = denominator) and the links form
    one system; a count hidden anywhere stays hidden everywhere it can be worked out
    from, and complementary suppression runs on the union of the equations. The
    results carry their ``name`` and links, so :func:`evaltools.report.attack.attack_run`
    checks the union as well.

    Returns ``{name: ProtectedTable or ProtectedValue}``.
    """
    if not isinstance(tables, Mapping) or not tables:
        raise DisclosureInputError("protect_linked() needs a non-empty mapping {name: specification}.")
    plans: dict[str, _Plan] = {}
    value_specs: dict[str, dict[str, Any]] = {}
    for name, spec in tables.items():
        if not isinstance(spec, Mapping) or ("data" in spec) == ("value" in spec):
            raise DisclosureInputError(
                f"protect_linked(): the specification of {name!r} must be a dict with either 'data' "
                "(a table and protect() options) or 'value' (a number and protect_value() options)."
            )
        opts = dict(spec)
        if "value" in opts:
            value_specs[name] = opts
            plans[name] = _value_plan(name, opts, threshold, protection)
            continue
        df = opts.pop("data")
        opts.setdefault("threshold", threshold)
        if protection is not None:
            opts.setdefault("protection", protection)
        display = {k: opts.pop(k) for k in ("caption", "language", "digits", "labels", "notes", "percents") if k in opts}
        display = dict(caption=display.get("caption"), language=display.get("language"),
                       digits=dict(display.get("digits") or {}), labels=dict(display.get("labels") or {}),
                       notes=tuple(display.get("notes", ())), percents=tuple(display.get("percents", ())))
        try:
            plans[name] = _plan(df, opts.pop("counts", None), display=display, name=name if _named else None,
                                **_plan_options(opts))
        except TypeError as exc:
            raise DisclosureInputError(f"protect_linked(): table {name!r}: {exc}") from None
    thresholds = {p.thr for p in plans.values()}
    if len(thresholds) > 1:
        raise DisclosureInputError(
            f"protect_linked(): the tables use different thresholds {sorted(thresholds)}; protect them with one."
        )
    offsets, pos, k0 = {}, {}, 0
    for name, plan in plans.items():
        offsets[name] = k0
        for k, cell in enumerate(plan.cells):
            pos[(name, *cell)] = k0 + k
        k0 += len(plan.cells)
    blocks = [p.A for p in plans.values()]
    A = np.zeros((sum(b.shape[0] for b in blocks), k0))
    r0 = 0
    for name, plan in plans.items():
        A[r0:r0 + plan.A.shape[0], offsets[name]:offsets[name] + len(plan.cells)] = plan.A
        r0 += plan.A.shape[0]
    x = np.concatenate([p.x for p in plans.values()])
    rows = []
    links = [lk if isinstance(lk, Link) else Link(*lk) for lk in links]
    for link in links:
        eq = np.zeros(k0)
        for sign, cell in [(-1.0, link.total)] + [(1.0, p) for p in link.parts]:
            key = _link_key(cell, plans)
            if key not in pos:
                raise DisclosureInputError(
                    f"protect_linked(): the link cell {_cell_text(cell)} is not a count or magnitude "
                    "cell of a table given (name, row label, column; (name, None, 'numerator') for a value)."
                )
            eq[pos[key]] += sign
        if abs(float(eq @ x)) > 1e-6 * max(1.0, float(np.abs(x[eq != 0]).max(initial=0))):
            raise DisclosureInputError(
                f"protect_linked(): the link with total {_cell_text(link.total)} does not hold: its parts "
                "do not add up to it. Link only cells that are sums of each other."
            )
        rows.append(eq)
    if rows:
        A = np.vstack([A, *rows])
    primary = np.concatenate([p.primary for p in plans.values()])
    is_total = np.concatenate([p.is_total for p in plans.values()])
    width = max(p.protection for p in plans.values())
    thr = max(p.thr for p in plans.values())
    hidden = _complementary(x, A, primary, is_total, width, thr)
    out: dict[str, ProtectedTable | ProtectedValue] = {}
    for name, plan in plans.items():
        mine = [lk.to_dict() for lk in links
                if name in {lk.total[0], *(p[0] for p in lk.parts)}] if _named else []
        table = _finish(plan, hidden[offsets[name]:offsets[name] + len(plan.cells)], links=mine)
        out[name] = _as_value(table, value_specs[name]) if name in value_specs else table
    return out


_PLAN_OPTIONS = ("denominators", "numerators", "shares", "magnitudes", "dominance", "threshold", "round_to",
                 "total_row", "total_col", "suppress_zeros", "protection")


def _plan_options(opts: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(opts) - set(_PLAN_OPTIONS) - {"name"})
    if unknown:
        raise DisclosureInputError(f"protect_linked(): unknown options {unknown}; see protect() for the options.")
    defaults = {"denominators": None, "numerators": None, "shares": None, "magnitudes": None, "dominance": None,
                "threshold": None, "round_to": "default", "total_row": "auto", "total_col": "auto",
                "suppress_zeros": False, "protection": None}
    return {k: opts.get(k, v) for k, v in defaults.items()}


_VALUE_ROW = "value"


def _value_plan(name: str, spec: dict[str, Any], threshold: int | None, protection: int | None) -> _Plan:
    """A single value as a one-row table: denominator, numerator (when given) and the value."""
    unknown = sorted(set(spec) - {"value", "denominator", "numerator", "digits", "percent", "share", "scale",
                                  "label", "language", "threshold"})
    if unknown:
        raise DisclosureInputError(f"protect_value() for {name!r}: unknown options {unknown}.")
    value, den, num = spec.get("value"), spec.get("denominator"), spec.get("numerator")
    percent, share, scale, digits = _value_kind(spec)
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or not 0 <= digits <= 15:
        raise DisclosureInputError(f"protect_value() for {name!r}: digits must be a whole number 0-15, got {digits!r}.")
    for what, n in (("denominator", den), ("numerator", num)):
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer, float, np.floating))
                              or _isnan(n) or n < 0 or float(n) != int(n)):
            raise DisclosureInputError(
                f"protect_value() for {name!r}: {what} must be a count (a whole number >= 0), got {str(n)[:40]!r}."
            )
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, np.number))):
        raise DisclosureInputError(f"protect_value() for {name!r}: the value must be a number, got {type(value).__name__}.")
    if share and den is None:
        raise DisclosureInputError(
            f"protect_value() for {name!r}: a share needs its denominator (the count it is a share of)."
        )
    if num is not None and den is not None and num > den:
        raise DisclosureInputError(f"protect_value() for {name!r}: the numerator is larger than the denominator.")
    cols: dict[str, list[Any]] = {}
    counts: list[str] = []
    if den is not None:
        cols["denominator"] = [int(den)]
        counts.append("denominator")
    if num is not None:
        cols["numerator"] = [int(num)]
        counts.append("numerator")
    cols["value"] = [np.nan if value is None else float(value)]
    df = pd.DataFrame(cols, index=[_VALUE_ROW])
    dens = {"value": "denominator"} if den is not None else {}
    nums = {"value": "numerator"} if (num is not None and share) else {}
    shares_ = {"value": float(scale)} if (share and num is None and value is not None) else {}
    return _plan(
        df, counts, denominators=dens, numerators=nums, shares=shares_, magnitudes=None, dominance=None,
        threshold=spec.get("threshold", threshold), round_to=None, total_row=None, total_col=None,
        suppress_zeros=False, protection=protection,
        display=dict(caption=None, language=spec.get("language"), digits={"value": digits},
                     labels={}, notes=(), percents=()),
        name=name,
    )


def _as_value(table: ProtectedTable, spec: dict[str, Any]) -> ProtectedValue:
    """The ProtectedValue of a one-row plan, with the rounding-interval rule applied."""
    percent, share, scale, d = _value_kind(spec)
    label = spec.get("label")
    status = table.status.at[_VALUE_ROW, "value"]
    raw = spec.get("value")  # the true value: only its rounding to `d` decimals is published
    shown = None if raw is None or _isnan(raw) else round(float(raw), d)
    den = spec.get("denominator")
    den_hidden = den is not None and table.status.at[_VALUE_ROW, "denominator"] != ""
    if not status and share and shown is not None and den is not None and not den_hidden:
        if rounding_interval_small(shown, d, int(den), scale, table.threshold):
            status = DEPENDENT
    num = spec.get("numerator")
    num_shown = None
    if num is not None and not status and table.status.at[_VALUE_ROW, "numerator"] == "":
        num_shown = int(num)
    return ProtectedValue(
        value=None if status else shown,
        status=status,
        denominator=None if (den is None or den_hidden) else int(den),
        numerator=num_shown,
        digits=d,
        percent=percent,
        share=share,
        scale=scale,
        threshold=table.threshold,
        label=label,
        language=table.language,
        name=table.name,
        links=table.links,
    )


def _value_kind(spec: Mapping[str, Any]) -> tuple[bool, bool, float, int]:
    """``(percent, share, scale, digits)`` of a single-value specification."""
    percent = bool(spec.get("percent", False))
    share = spec.get("share")
    share = (spec.get("numerator") is not None or percent) if share is None else bool(share)
    scale = float(spec.get("scale") or (100.0 if percent else 1.0))
    return percent, share, scale, spec.get("digits", 1)


def rounding_interval(shown: float, digits: int, denominator: int, scale: float) -> tuple[int, int]:
    """The whole numerators ``k`` whose share ``scale * k / denominator`` rounds to ``shown``.

    A share shown with ``digits`` decimals lies in ``[shown - h, shown + h]`` with
    ``h = 0.5 * 10**-digits``; so ``k`` lies in ``[(shown - h) n / s, (shown + h) n / s]``.
    Returns the smallest and largest such whole number (``lo > hi`` when none).
    """
    h = 0.5 * 10.0 ** (-digits)
    lo = (shown - h) * denominator / scale
    hi = (shown + h) * denominator / scale
    eps = 1e-9 * max(1.0, abs(hi))
    return max(0, math.ceil(lo - eps)), min(denominator, math.floor(hi + eps))


def rounding_interval_small(shown: float, digits: int, denominator: int, scale: float, threshold: int) -> bool:
    """Whether every numerator in the rounding interval is a small count, or leaves a small rest."""
    lo, hi = rounding_interval(shown, digits, denominator, scale)
    if lo > hi or hi - lo >= threshold:  # more candidates than small counts: not all can be small
        return False
    return (lo >= 1 and hi < threshold) or (denominator - hi >= 1 and denominator - lo < threshold)


def _link_key(cell: tuple[Any, ...], plans: Mapping[str, _Plan]) -> tuple[Any, ...]:
    if len(cell) != 3:
        return ("?",)
    name, row, col = cell
    plan = plans.get(name)
    if plan is not None and row is None and list(plan.df.index) == [_VALUE_ROW]:
        row = _VALUE_ROW
    return (name, row, col)


def _cell_text(cell: Any) -> str:
    try:
        name, row, col = cell
    except (TypeError, ValueError):
        return repr(cell)[:60]
    return f"({name!r}, row {_lab(row)}, column {col!r})"


def _jsonable_label(label: Any) -> Any:
    """A row label as JSON stores it (a tuple of index values becomes a list)."""
    if isinstance(label, tuple):
        return [_jsonable_label(v) for v in label]
    if isinstance(label, np.generic):
        return label.item()
    if label is None or isinstance(label, (str, int, float, bool)):
        return label
    return str(label)



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
    x: np.ndarray, A: np.ndarray, primary: np.ndarray, is_total: np.ndarray, width: int = 1,
    threshold: int | None = None,
) -> np.ndarray:
    """Hide further cells until no hidden cell is determined by the visible ones, and no
    primary (small) cell can be narrowed to small counts only (with ``threshold``)."""
    hidden = primary.copy()
    if A.shape[0] == 0 or not hidden.any():
        return hidden
    small = primary & (x > 0) & (x < threshold) if threshold is not None else None
    lines = [np.flatnonzero(row) for row in A]
    for _ in range(len(x) + 1):
        _close_lines(x, lines, hidden, is_total)
        exposed = _exposed(A, x, hidden, values_known=True, width=width, small=small, threshold=threshold)
        if not exposed.any():
            return hidden
        k = int(np.flatnonzero(exposed)[0])
        _add_complement_for(k, x, A, lines, hidden, is_total, width, small=small, threshold=threshold)
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
    try:
        ns = null_space(sub)
    except np.linalg.LinAlgError:  # gesdd can fail to converge on large link systems; gesvd is slower, sturdier
        ns = null_space(sub, lapack_driver="gesvd")
    norms = np.linalg.norm(ns, axis=1) if ns.size else np.zeros(len(idx))
    out[idx[norms < 1e-9]] = True
    return out


def _exposed(
    A: np.ndarray, x: np.ndarray, hidden: np.ndarray, *, values_known: bool, width: int = 1,
    small: np.ndarray | None = None, threshold: int | None = None,
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

    With ``small`` (the hidden cells whose true count lies in ``[1, threshold - 1]``) a
    cell is also exposed when every whole number it can take lies in that range: the
    attacker's criterion (:mod:`evaltools.report.attack`), since "between 1 and 4" tells
    a reader as much as the count itself.
    """
    exposed = _determined(A, hidden)
    if small is not None and threshold is not None:
        exposed |= _narrowed_to_small(A, x, hidden & small & ~exposed, hidden, threshold)
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


def _narrowed_to_small(
    A: np.ndarray, x: np.ndarray, targets: np.ndarray, hidden: np.ndarray, threshold: int
) -> np.ndarray:
    """Targets whose feasible whole values all lie in ``[1, threshold - 1]``."""
    out = np.zeros_like(hidden)
    if not targets.any():
        return out
    known = np.where(hidden, 0.0, x)
    # the upper bound matters only where the lower one is a small count (1 .. threshold - 1): a
    # target that can be 0, or is at least the threshold, is not narrowed whatever its maximum
    # (half the LPs at national scale; the same answer as computing both bounds of every target)
    lo, _ = _intervals(A, known, hidden, only=np.flatnonzero(targets), upper=False)
    with np.errstate(invalid="ignore"):
        k_lo = np.ceil(lo - 1e-6)
        need = targets & (k_lo >= 1) & (k_lo <= threshold - 1)
    if not need.any():
        return out
    _, hi = _intervals(A, known, hidden, only=np.flatnonzero(need), lower=False)
    with np.errstate(invalid="ignore"):
        k_hi = np.floor(hi + 1e-6)
        out[:] = need & (k_hi <= threshold - 1) & (k_lo <= k_hi)
    return out


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
    width: int = 1, small: np.ndarray | None = None, threshold: int | None = None,
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
        if not _exposed(A, x, trial, values_known=True, width=width, small=small, threshold=threshold)[k]:
            hidden[:] = trial
            return
    hidden[int(ordered[0])] = True


def _intervals(
    A: np.ndarray, x: np.ndarray, hidden: np.ndarray, only: Iterable[int] | None = None,
    *, lower: bool = True, upper: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """For hidden cells: min and max under ``A x = 0`` with the visible values fixed, ``x >= 0``
    (``lower=False`` / ``upper=False``: that bound is not computed and stays NaN)."""
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
        if lower:
            r_min = linprog(c, A_eq=A_h, b_eq=b, bounds=(0, None), method="highs")
            if r_min.status == 2:  # infeasible: the published values are inconsistent
                raise DisclosureInputError(
                    "The table's totals do not add up, so its cells cannot be checked; "
                    "make each total the sum of the cells it totals."
                )
            lo[k] = r_min.fun if r_min.status == 0 else 0.0
        if upper:
            r_max = linprog(-c, A_eq=A_h, b_eq=b, bounds=(0, None), method="highs")
            hi[k] = -r_max.fun if r_max.status == 0 else np.inf
    return lo, hi


def _constraints(
    values: pd.DataFrame, counts: list[Hashable], total_row: Hashable | None, total_col: Hashable | None,
    *, row_sum: Sequence[Hashable] | None = None, col_sum: Sequence[Hashable] | None = None,
) -> tuple[np.ndarray, list[tuple[Hashable, Hashable]]]:
    """The equations ``A x = 0`` a table with totals publishes, over its count cells.

    ``row_sum``: the columns the total row sums (default all); ``col_sum``: the
    columns the total column is the sum of (default all).
    """
    cells = [(r, c) for r in values.index for c in counts]
    pos = {cell: k for k, cell in enumerate(cells)}
    rows = []
    if total_row is not None:
        for c in (counts if row_sum is None else row_sum):
            eq = np.zeros(len(cells))
            for r in values.index:
                eq[pos[(r, c)]] = -1.0 if r == total_row else 1.0
            rows.append(eq)
    if total_col is not None:
        for r in values.index:
            eq = np.zeros(len(cells))
            for c in (counts if col_sum is None else col_sum):
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
    magnitudes: Sequence[Hashable] = (),
) -> None:
    for col, dens in denominators.items():
        mask = pd.Series(False, index=df.index)
        for den in _as_tuple(dens):
            mask |= status[den] != ""
            if den not in magnitudes:
                mask |= df[den].astype(float) < thr
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
    """A whole threshold at or above the project's floor (:mod:`evaltools.report.policy`)."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise DisclosureInputError(
            f"The disclosure threshold (notebook parameter `min_cell`) must be a whole number, got "
            f"{str(threshold)[:40]!r}; use min_cell >= {min_cell_floor()} (default {DEFAULT_THRESHOLD})."
        )
    floor = min_cell_floor()
    if threshold < floor:
        raise DisclosureInputError(
            f"min_cell = {int(threshold)} is below the disclosure floor {floor}: no count below {floor} "
            f"may be published. Use min_cell >= {floor} (the threshold may be raised, never lowered "
            "below the floor; only the data controller may change the floor, in disclosure.yaml)."
        )
    return int(threshold)


def min_cell_floor() -> int:
    """The lowest threshold this project allows: ``load_policy().min_cell_floor`` (5 by default)."""
    from evaltools.report.policy import PolicyError, load_policy

    try:
        return int(load_policy().min_cell_floor)
    except PolicyError as exc:
        raise DisclosureInputError(str(exc)) from None


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


def _resolve_counts(
    df: pd.DataFrame, counts: Sequence[Hashable] | None, exclude: Sequence[Hashable] = ()
) -> list[Hashable]:
    if counts is None:
        cols = [c for c in df.columns if pd.api.types.is_integer_dtype(df[c]) and c not in set(exclude)]
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


def _as_numbers(df: pd.DataFrame, columns: list[Hashable], what: str = "count") -> pd.DataFrame:
    out = {}
    for c in columns:
        num = pd.to_numeric(df[c], errors="coerce")
        bad = df[c].notna() & num.isna()
        if bad.any():
            r = df.index[bad.to_numpy()][0]
            raise DisclosureInputError(
                f"protect(): {what} column {c!r} holds {str(df.at[r, c])[:40]!r} in row {_lab(r)}, which is "
                f"not a number. List only {what} columns there."
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


def _verify_totals(
    values: pd.DataFrame, trow: Hashable | None, tcol: Hashable | None, tolerance: float = 0.0
) -> None:
    """Totals must equal the sums they stand for, or the equations would be wrong."""
    arr = values.to_numpy(dtype=float)
    if trow is not None:
        i = values.index.get_loc(trow)
        body = np.delete(arr, i, axis=0)
        sums = body.sum(axis=0)
        bad = np.isnan(body).any(axis=0) | np.isnan(arr[i]) | (np.abs(sums - arr[i]) > tolerance * np.maximum(1, np.abs(arr[i])))
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
