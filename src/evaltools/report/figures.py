"""Figures for the funder report, in one consistent seaborn style and two languages.

Every function returns a matplotlib ``Figure`` (shown inline in a notebook and
embedded as PNG in the rendered report). Labels come from the message catalogue
(:func:`evaltools.report.i18n.t`); counts in labels go through
:func:`evaltools.report.disclosure.safe_count`, so a small group shows ``<10``.
Text is set in DejaVu Sans, which has every Latvian letter (ā č ē ģ ī ķ ļ ņ š ū ž).

A figure reaches the funder report only through :func:`publish_figure`, with the
:class:`~evaltools.report.disclosure.ProtectedTable` it plots (``data=``): the table is
recorded in ``results.json`` so the attacker sees exactly what is drawn, and the image
carries display metadata that the renderer checks (any other image in a funder cell
fails the run). :func:`line_plot`, :func:`interval_plot` and :func:`coef_plot` with a
table draw only the values the table shows.
"""
from __future__ import annotations

import base64
import io
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from evaltools.core.errors import InputError
from evaltools.core.inputs import require_columns
from evaltools.report import i18n
from evaltools.report.disclosure import (
    DisclosureError,
    ProtectedTable,
    assert_safe,
    get_threshold,
    protect,
    safe_count,
)
from evaltools.report.escape import literal_text
from evaltools.report.headline import as_estimate, is_estimate
from evaltools.report.record import figures_dir, record

if TYPE_CHECKING:  # evaltools.estimate loads every estimator: import it only when needed
    from evaltools.core.result import Estimate

#: Colour-blind-safe palette (Okabe & Ito 2008), programme colour first.
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
FONT = "DejaVu Sans"
INK = "#1b2a3a"


class FigureInputError(InputError, ValueError):
    """Data a figure cannot be drawn from."""


def use_style() -> None:
    """Apply the report's style to every later figure (seaborn ``whitegrid``, DejaVu Sans)."""
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette=list(PALETTE),
        font=FONT,
        rc={
            "font.family": "sans-serif",
            "font.sans-serif": [FONT],
            "axes.edgecolor": "#c9ced4",
            "axes.labelcolor": INK,
            "axes.titlesize": 13,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "text.color": INK,
            "xtick.color": INK,
            "ytick.color": INK,
            "grid.color": "#e3e6ea",
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.unicode_minus": True,
        },
    )


def coef_plot(
    estimates: Mapping[str, Estimate] | Sequence[Estimate] | ProtectedTable,
    *,
    unit: str = "",
    title: str | None = None,
    n_key: str | None = "units",
    threshold: int | None = None,
    reference: float = 0.0,
    language: str | None = None,
    ax: Any = None,
) -> Figure:
    """Point estimates with their confidence intervals, one row each (a forest plot).

    ``estimates`` maps a label to an Estimate (or is a list, labelled by
    ``estimand``). With ``n_key`` each label gets ``(n = ...)`` from
    ``Estimate.n[n_key]``, through disclosure control. ``estimates`` may also be
    a table from :func:`estimates_table`: then only its visible rows are drawn,
    so the figure can be published with that table (``publish_figure(..., data=table)``).
    """
    lang = i18n.check_language(language)
    if isinstance(estimates, ProtectedTable):
        return _coef_plot_table(estimates, unit=unit, title=title, reference=reference, language=lang, ax=ax)
    items = _labelled(estimates)
    labels, est, lo, hi = [], [], [], []
    for label, e in items:
        if n_key and n_key in e.n:
            n_text = safe_count(e.n[n_key], threshold, lang)
            if n_text.startswith("<"):  # a small group: "(n < 10)"
                label = i18n.text("fig.n_label_small", lang, label=label, threshold=int(n_text[1:]))
            else:
                label = i18n.text("fig.n_label", lang, label=label, n=n_text)
        labels.append(label)
        est.append(e.estimate)
        lo.append(e.ci_low)
        hi.append(e.ci_high)
    fig, ax = _axes(ax, figsize=(7.5, 1.2 + 0.45 * len(items)))
    y = np.arange(len(items))[::-1]
    est_a, lo_a, hi_a = map(np.asarray, (est, lo, hi))
    ax.errorbar(est_a, y, xerr=[est_a - lo_a, hi_a - est_a], fmt="o", color=PALETTE[0],
                ecolor=PALETTE[0], elinewidth=2, capsize=0, markersize=6, zorder=3)
    ax.axvline(reference, color="#6b7480", linewidth=1, linestyle="--", zorder=1)
    ax.set_yticks(y, labels)
    ax.set_xlabel(_axis_label(unit, lang))
    ax.grid(axis="y", visible=False)
    ax.set_title(title if title is not None else i18n.t("fig.coef.title", lang))
    _locale_ticks(ax, lang, "x")
    level = items[0][1].level
    ax.text(1.0, 1.02, "— " + i18n.t("fig.ci", lang, level=i18n.percent(level, lang)),
            transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="#6b7480")
    return fig


def event_study_plot(
    data: pd.DataFrame | Mapping[int, Estimate],
    *,
    time: str = "event_time",
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    reference: int | None = -1,
    unit: str = "",
    title: str | None = None,
    level: float = 0.95,
    language: str | None = None,
    ax: Any = None,
) -> Figure:
    """Effects by time since the programme started, with a confidence band.

    ``data`` is a tidy frame (``event_time``, ``estimate``, ``ci_low``,
    ``ci_high``; other names via the arguments), ``{event_time: Estimate}``, or
    an estimator's result: one with ``estimates`` (a dict) and ``ref``, like
    ``evaltools.estimate.event_study``, or with a ``table`` frame, like the
    ``"dynamic"`` aggregation of ``att_gt``.
    The reference period (normalised to zero) is drawn as an open marker, and a
    dashed line separates the periods before and after the start.
    """
    lang = i18n.check_language(language)
    if isinstance(getattr(data, "estimates", None), Mapping):  # event_study() result
        reference = getattr(data, "ref", reference)
        data = data.estimates
    elif isinstance(getattr(data, "table", None), pd.DataFrame):  # aggregated ATT(g,t)
        data = data.table
    frame = _event_frame(data, time, estimate, ci_low, ci_high)
    if isinstance(data, Mapping) and len(data):
        level = next(iter(data.values())).level
    if reference is not None and reference not in set(frame["t"]):
        # the reference period is zero by construction: the band pinches to it
        frame = pd.concat([frame, pd.DataFrame([{"t": reference, "b": 0.0, "lo": 0.0, "hi": 0.0}])])
    if reference is not None:  # a reference row without a CI: the band pinches to it
        at_ref = frame["t"] == reference
        frame.loc[at_ref, "lo"] = frame.loc[at_ref, "lo"].fillna(frame.loc[at_ref, "b"])
        frame.loc[at_ref, "hi"] = frame.loc[at_ref, "hi"].fillna(frame.loc[at_ref, "b"])
    frame = frame.sort_values("t")
    fig, ax = _axes(ax, figsize=(7.5, 4.2))
    band = frame.dropna(subset=["lo", "hi"])
    ax.fill_between(band["t"], band["lo"], band["hi"], color=PALETTE[0], alpha=0.18, linewidth=0,
                    label=i18n.t("fig.ci", lang, level=i18n.percent(level, lang)))
    ax.plot(frame["t"], frame["b"], color=PALETTE[0], marker="o", markersize=5, linewidth=1.8,
            label=i18n.t("fig.estimate", lang))
    if reference is not None:
        ax.plot([reference], [0.0], marker="o", markersize=7, markerfacecolor="white",
                markeredgecolor=PALETTE[0], linestyle="none", label=i18n.t("fig.reference", lang), zorder=4)
        ax.axvline(reference + 0.5, color="#6b7480", linestyle="--", linewidth=1)
    ax.axhline(0, color="#6b7480", linewidth=1)
    ax.set_xlabel(i18n.t("fig.event_time", lang))
    ax.set_ylabel(_axis_label(unit, lang))
    ax.set_xticks(sorted(set(int(v) for v in frame["t"])))
    ax.set_title(title if title is not None else i18n.t("fig.event.title", lang))
    _locale_ticks(ax, lang, "xy")
    ax.legend(frameon=False, loc="best", fontsize=9)
    return fig


def mdes_plot(
    curve: pd.DataFrame,
    *,
    x: str = "units",
    y: str = "mdes",
    expected: float | None = None,
    title: str | None = None,
    language: str | None = None,
    ax: Any = None,
) -> Figure:
    """Minimum detectable effect size against the number of schools.

    ``curve`` is e.g. ``evaltools.inference.mdes_curve(...)`` (columns ``units``
    and ``mdes``). With ``expected`` a horizontal line marks the effect the
    programme hopes for: where the curve crosses it is the number of schools needed.
    """
    lang = i18n.check_language(language)
    if not isinstance(curve, pd.DataFrame):
        raise FigureInputError(f"mdes_plot() needs a DataFrame, got {type(curve).__name__}.")
    for col in (x, y):
        if col not in curve.columns:
            raise FigureInputError(
                f"mdes_plot(): column {col!r} is not in the curve; it has {list(curve.columns)}. "
                "Pass x=... and y=... to name the columns."
            )
    fig, ax = _axes(ax, figsize=(7.0, 4.2))
    data = curve.sort_values(x)
    ax.plot(data[x], data[y], color=PALETTE[0], linewidth=2)
    if expected is not None:
        ax.axhline(expected, color=PALETTE[1], linestyle="--", linewidth=1.5,
                   label=i18n.t("fig.mdes.expected", lang, value=i18n.number(expected, lang, 2)))
        ax.legend(frameon=False, fontsize=9)
    ax.set_xlabel(i18n.t("fig.mdes.x", lang))
    ax.set_ylabel(i18n.t("fig.mdes.y", lang))
    ax.set_ylim(bottom=0)
    ax.set_title(title if title is not None else i18n.t("fig.mdes.title", lang))
    _locale_ticks(ax, lang)
    return fig


def balance_plot(
    balance: Any,
    *,
    column: str = "std_diff",
    bands: tuple[float, float] = (0.05, 0.25),
    title: str | None = None,
    language: str | None = None,
    ax: Any = None,
) -> Figure:
    """Standardised baseline differences with the WWC baseline-equivalence bands.

    ``balance`` is the table from :func:`evaltools.report.tables.balance_table`
    (hidden differences stay hidden: they are left out) or a Series
    ``{variable: difference}``. Shaded: ``|d| <= 0.05`` (equivalent) and
    ``0.05 < |d| <= 0.25`` (equivalent only with statistical adjustment); beyond
    0.25 the groups are not equivalent (WWC Procedures and Standards Handbook v5.0).
    """
    lang = i18n.check_language(language)
    if isinstance(balance, pd.Series):
        values = balance.dropna()
    else:
        data = getattr(balance, "data", balance)
        if not isinstance(data, pd.DataFrame) or column not in data.columns:
            raise FigureInputError(
                f"balance_plot() needs balance_table(...) or a Series of differences; no column {column!r}."
            )
        values = data[column].dropna()
    if values.empty:
        raise FigureInputError("balance_plot(): no visible standardised difference to plot.")
    a, b = bands
    values = values.iloc[::-1]
    fig, ax = _axes(ax, figsize=(7.0, 1.3 + 0.4 * len(values)))
    reach = max(float(values.abs().max()) * 1.15, b * 1.2)
    ax.axvspan(-a, a, color=PALETTE[2], alpha=0.18, linewidth=0,
               label=i18n.t("fig.balance.ok", lang, a=i18n.number(a, lang, 2)))
    for lo, hi in ((-b, -a), (a, b)):
        ax.axvspan(lo, hi, color=PALETTE[4], alpha=0.15, linewidth=0,
                   label=i18n.t("fig.balance.adjust", lang, a=i18n.number(a, lang, 2),
                                b=i18n.number(b, lang, 2)) if lo > 0 else None)
    ax.axvline(0, color="#6b7480", linewidth=1)
    y = np.arange(len(values))
    ax.plot(values.to_numpy(dtype=float), y, "o", color=PALETTE[0], markersize=7, zorder=3)
    ax.set_yticks(y, [str(v) for v in values.index])
    ax.set_xlim(-reach, reach)
    ax.set_ylim(-0.6, len(values) - 0.4)
    ax.set_xlabel(i18n.t("fig.balance.x", lang))
    ax.grid(axis="y", visible=False)
    ax.set_title(title if title is not None else i18n.t("fig.balance.title", lang))
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(values) < 4 else -0.18),
              ncol=2)
    _locale_ticks(ax, lang, "x")
    return fig


# -- publishing ------------------------------------------------------------------------

_N_LABEL = re.compile(r"\b[nN]\s*=\s*(\d[\d\s\u00a0\u202f,.]*)")


def assert_figure_safe(fig: Figure, threshold: int | None = None) -> None:
    """Raise :class:`DisclosureError` if any text in ``fig`` shows ``n = k`` with ``0 < k < threshold``."""
    thr = get_threshold() if threshold is None else threshold
    for text in fig.findobj(match=lambda a: hasattr(a, "get_text") and callable(a.get_text)):
        content = text.get_text()
        if not isinstance(content, str):
            continue
        for m in _N_LABEL.finditer(content):
            digits = re.sub(r"[\s\u00a0\u202f,.]", "", m.group(1))
            if digits and 0 < int(digits) < thr:
                raise DisclosureError(
                    f"Figure text {content!r} shows a group of {int(digits)}, below the disclosure "
                    f"threshold {thr}. Label counts with evaltools.report.disclosure.safe_count()."
                )


#: Key of the display metadata that marks an image as published by :func:`publish_figure`;
#: the renderer refuses any other image in a cell the funder sees.
FIGURE_META = "evaltools_figure"

FigureData = Union[ProtectedTable, Mapping[str, ProtectedTable]]


@dataclass(frozen=True)
class PublishedFigure:
    """A figure saved beside the report with the protected data it plots.

    Displays as the PNG that was saved (``display(publish_figure(...))``), with
    display metadata naming the figure, so the renderer can tell a published
    figure from a plot shown some other way. ``path`` is the PNG file, ``svg`` the
    SVG file beside it. The PNG is drawn at ``scale`` times the resolution it is shown
    at (2: sharp in print and on dense screens); the display metadata give its width
    and height at the shown size.
    """

    name: str
    path: Path
    png: bytes
    records: tuple[str, ...]
    svg: Path | None = None
    scale: int = 1
    alt: str = ""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        data = {"image/png": base64.b64encode(self.png).decode("ascii"), "text/plain": f"<figure {self.name}>"}
        meta: dict[str, Any] = {FIGURE_META: {"name": self.name, "records": list(self.records)}}
        size = _png_size(self.png)
        if size is not None and self.scale > 1:
            meta["width"], meta["height"] = (round(v / self.scale) for v in size)
        if self.alt:
            meta["alt"] = self.alt  # nbconvert writes it as the img's alt text
        return data, {"image/png": meta}

    @property
    def files(self) -> tuple[Path, ...]:
        """The files written: the PNG and the SVG."""
        return (self.path,) + ((self.svg,) if self.svg is not None else ())

    def __fspath__(self) -> str:
        return str(self.path)


#: Resolution the report shows a figure at (dots per inch of the figure's size in inches).
SCREEN_DPI = 150
#: The PNG is saved at this multiple of :data:`SCREEN_DPI` (print resolution).
PRINT_SCALE = 2
#: Salt of the ids inside SVG files: fixed, so that a rerun writes the same SVG.
SVG_HASHSALT = "evaltools"
#: How the SVG holds its words: ``"none"`` writes them as text in :data:`FONT` (a quarter of the bytes
#: of ``"path"``, which draws every letter as an outline). The printed report draws the SVG with the
#: same font; for a municipal report at national scale (measured under load) the PDF took 6.6 → 4.9
#: CPU-s and 266 → 166 kB, and the privacy gate, which now reads the figures' words, 4.8 → 3.4 CPU-s
#: on the PDF and SVGs. A reader without DejaVu Sans sees the SVG in another sans-serif font.
SVG_FONTTYPE = "none"


def publish_figure(
    fig: Figure, name: str, *, data: FigureData, threshold: int | None = None, dpi: int = SCREEN_DPI,
    scale: int = PRINT_SCALE, alt: str | None = None,
) -> PublishedFigure:
    """Check the figure and its data, save ``<name>.png`` and ``<name>.svg`` into the run's
    ``figures/`` folder and record the data.

    ``data`` is the :class:`ProtectedTable` (or ``{part: ProtectedTable}``) the
    figure plots: every plotted point must be a visible value of it (draw with
    the helpers here that take a ProtectedTable, e.g. :func:`line_plot`,
    :func:`interval_plot`, :func:`coef_plot` with a table). The data are recorded
    in ``results.json`` as ``figure.<name>`` (``figure.<name>.<part>``), so what
    the picture shows is published, and attacked, as a table (a table protected under
    a name, e.g. by ``protect_linked``, is recorded under that name). Labels are checked
    with :func:`assert_figure_safe`. Display the returned object to show the figure.

    The PNG is drawn at ``dpi * scale`` dots per inch and shown at ``dpi`` (sharp when
    printed); the SVG is vector. Neither file holds a date: a rerun writes the same
    bytes (:func:`figure_files`). ``alt`` is the image's text alternative in the report
    language (default: the figure's title, :func:`figure_alt`); tick labels still in
    matplotlib's default format get the language's decimal mark (:func:`localise_ticks`).
    """
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", str(name)):
        raise FigureInputError(
            f"publish_figure(): name {name!r} must be a file-name-safe word (letters, digits, '_', '-', '.')."
        )
    parts = _figure_parts(name, data)
    thr = get_threshold() if threshold is None else threshold
    for key, table in parts.items():
        if table.threshold < thr:
            raise DisclosureError(
                f"publish_figure({name!r}): the data {key!r} were protected with threshold "
                f"{table.threshold}, below the study's {thr}; protect them with the study's threshold."
            )
        assert_safe(table)
    assert_figure_safe(fig, threshold)
    literal_text(fig)  # names from data are text, never mathtext
    alt_text = figure_alt(fig, alt)
    localise_ticks(fig)
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 4:
        raise FigureInputError(f"publish_figure({name!r}): scale must be a whole number from 1 to 4, got {scale!r}.")
    png, svg = figure_files(fig, dpi=dpi * scale)
    folder = figures_dir()
    path, svg_path = folder / f"{name}.png", folder / f"{name}.svg"
    path.write_bytes(png)
    svg_path.write_bytes(svg)
    for key, table in parts.items():
        record(key, table)
    return PublishedFigure(str(name), path, png, tuple(parts), svg=svg_path, scale=scale, alt=alt_text)


def figure_files(fig: Figure, *, dpi: int = SCREEN_DPI * PRINT_SCALE) -> tuple[bytes, bytes]:
    """The figure as PNG (at ``dpi``) and SVG bytes, with no date or other run-dependent
    metadata: the SVG's ``Date`` is left out and its ids are salted with :data:`SVG_HASHSALT`;
    matplotlib's PNG holds no time. The SVG's words are text in :data:`FONT` (:data:`SVG_FONTTYPE`)."""
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi, bbox_inches="tight")
    with plt.rc_context({"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": SVG_FONTTYPE}):
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    return png.getvalue(), svg.getvalue()


def _png_size(png: bytes) -> tuple[int, int] | None:
    """Width and height in pixels from a PNG's header (IHDR), or None if it is not a PNG."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _figure_parts(name: str, data: Any) -> dict[str, ProtectedTable]:
    """Record names of the figure's data: a table protected under a name (``protect_linked``,
    ``protect(name=...)``) keeps it, so the links recorded with it resolve; else ``figure.<name>``."""
    own = lambda table, key: getattr(table, "name", None) or key  # noqa: E731
    if isinstance(data, ProtectedTable):
        return {own(data, f"figure.{name}"): data}
    if isinstance(data, Mapping) and data and all(isinstance(v, ProtectedTable) for v in data.values()):
        return {own(v, f"figure.{name}.{k}"): v for k, v in data.items()}
    raise FigureInputError(
        f"publish_figure({name!r}): data= must be the ProtectedTable the figure plots (or "
        f"{{part: ProtectedTable}}), got {type(data).__name__}. Protect the plotted values with "
        "evaltools.report.disclosure.protect() and draw them from that table."
    )


def visible(table: ProtectedTable, column: Hashable) -> pd.Series:
    """The values of ``column`` a reader of ``table`` sees; hidden ones are NaN (not plotted)."""
    if not isinstance(table, ProtectedTable):
        raise FigureInputError(f"visible() needs a ProtectedTable, got {type(table).__name__}.")
    if column not in table.data.columns:
        raise FigureInputError(f"column {column!r} is not in the table; it has {list(table.data.columns)}.")
    return table.data[column].where(~table.hidden[column]).astype(float)


def select_rows(table: ProtectedTable, rows: Sequence[Hashable]) -> ProtectedTable:
    """Some rows of a protected table, for a figure that plots only those (showing fewer cells is
    always safe). The result has no record name: it is recorded as the figure's data."""
    missing = [r for r in rows if r not in table.data.index]
    if missing:
        raise FigureInputError(f"select_rows(): rows {missing} are not in the table.")
    keep = list(rows)
    return replace(table, data=table.data.loc[keep], status=table.status.loc[keep], total_row=None,
                   name=None, links=())


def reference_values(frame: pd.DataFrame, *, threshold: int | None = None) -> ProtectedTable:
    """Values a figure draws that do not come from the data (a true effect of synthetic data, a
    target), as figure data: a table with no counts, so nothing in it is hidden."""
    if not isinstance(frame, pd.DataFrame) or any(pd.api.types.is_integer_dtype(frame[c]) for c in frame.columns):
        raise FigureInputError(
            "reference_values() takes a DataFrame of non-count values (floats); counts of people "
            "must go through evaltools.report.disclosure.protect()."
        )
    return ProtectedTable(data=frame.astype(float), status=pd.DataFrame("", index=frame.index, columns=frame.columns),
                          counts=(), threshold=get_threshold() if threshold is None else threshold)


def line_plot(
    table: ProtectedTable,
    *,
    x: str,
    y: str,
    group: str | None = None,
    shade: tuple[float, float] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
    language: str | None = None,
    ax: Any = None,
) -> Figure:
    """Lines of the visible values of ``y`` against ``x`` (index levels or columns), one per ``group``.

    Hidden values are gaps: a point is only drawn where the table shows it.
    ``shade`` marks a span of ``x`` (e.g. the report's period).
    """
    lang = i18n.check_language(language)
    frame = table.data.reset_index()
    frame[y] = visible(table, y).to_numpy()
    fig, ax = _axes(ax, figsize=(7.0, 3.6))
    groups = [(None, frame)] if group is None else list(frame.groupby(group, sort=False))
    for k, (label, part) in enumerate(groups):
        part = part.sort_values(x)
        ax.plot(part[x], part[y], marker="o", color=PALETTE[k % len(PALETTE)],
                label=None if label is None else str(label))
    if shade is not None:
        ax.axvspan(shade[0], shade[1], color="0.92", zorder=0)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    _locale_ticks(ax, lang, "y")
    _whole_x_ticks(ax, frame[x])
    if group is not None:
        ax.legend(frameon=False, fontsize=9)
    return fig


def _whole_x_ticks(ax: Any, values: pd.Series) -> None:
    """Ticks at each whole ``x`` value (school years: 2020, 2021, ...; never 2 020,5), written
    without thousands grouping, when ``x`` holds at most 16 distinct whole numbers."""
    from matplotlib.ticker import FixedLocator, FuncFormatter

    numbers = pd.to_numeric(pd.Series(values), errors="coerce").dropna().unique()
    if not len(numbers) or len(numbers) > 16 or not np.all(np.equal(np.mod(numbers, 1), 0)):
        return
    ax.xaxis.set_major_locator(FixedLocator(sorted(float(v) for v in numbers)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{int(round(v))}"))


def interval_plot(
    table: ProtectedTable,
    *,
    estimate: str,
    ci_low: str,
    ci_high: str,
    xlabel: str = "",
    title: str = "",
    sort: bool = True,
    language: str | None = None,
    ax: Any = None,
) -> Figure:
    """One row per visible line of ``table``: the value with its interval (rows with any of the
    three hidden are left out), sorted by the value."""
    lang = i18n.check_language(language)
    frame = pd.DataFrame({c: visible(table, c) for c in (estimate, ci_low, ci_high)}).dropna()
    if frame.empty:
        raise FigureInputError("interval_plot(): no visible row to plot.")
    if sort:
        frame = frame.sort_values(estimate)
    fig, ax = _axes(ax, figsize=(7.0, max(2.5, 0.6 + 0.3 * len(frame))))
    y = np.arange(len(frame))
    est = frame[estimate].to_numpy()
    ax.errorbar(est, y, xerr=[est - frame[ci_low].to_numpy(), frame[ci_high].to_numpy() - est], fmt="o",
                color=PALETTE[0], ecolor=PALETTE[0], elinewidth=2, capsize=0, markersize=5)
    ax.set_yticks(y, [str(v) for v in frame.index])
    ax.grid(axis="y", visible=False)
    ax.set(xlabel=xlabel, title=title)
    _locale_ticks(ax, lang, "x")
    return fig


def _coef_plot_table(table: ProtectedTable, *, unit: str, title: str | None, reference: float,
                     language: str, ax: Any, level: float = 0.95) -> Figure:
    shown = pd.DataFrame({c: visible(table, c) for c in ("estimate", "ci_low", "ci_high", "n")})
    shown = shown.dropna(subset=["estimate", "ci_low", "ci_high"])
    if shown.empty:
        raise FigureInputError("coef_plot(): no visible estimate in the table to plot.")
    labels = [i18n.t("fig.n_label", language, label=str(k), n=i18n.integer(float(n), language))
              for k, n in shown["n"].items()]
    fig, ax = _axes(ax, figsize=(7.5, 1.2 + 0.45 * len(shown)))
    y = np.arange(len(shown))[::-1]
    est, lo, hi = (shown[c].to_numpy(dtype=float) for c in ("estimate", "ci_low", "ci_high"))
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color=PALETTE[0], ecolor=PALETTE[0],
                elinewidth=2, capsize=0, markersize=6, zorder=3)
    ax.axvline(reference, color="#6b7480", linewidth=1, linestyle="--", zorder=1)
    ax.set_yticks(y, labels)
    ax.set_xlabel(_axis_label(unit, language))
    ax.grid(axis="y", visible=False)
    ax.set_title(title if title is not None else i18n.t("fig.coef.title", language))
    _locale_ticks(ax, language, "x")
    ax.text(1.0, 1.02, "— " + i18n.t("fig.ci", language, level=i18n.percent(level, language)),
            transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="#6b7480")
    return fig


def estimates_table(
    estimates: Mapping[str, Estimate],
    *,
    n_key: str = "units",
    scale: float = 1.0,
    threshold: int | None = None,
) -> ProtectedTable:
    """Estimates as a protected table (``estimate``, ``ci_low``, ``ci_high``, ``n``): an estimate whose
    ``n[n_key]`` is below the threshold is hidden with its interval, as a mean of a small group is."""
    rows = {}
    for label, obj in _labelled(estimates):
        e = obj
        n = e.n.get(n_key)
        if n is None:
            raise FigureInputError(
                f"estimates_table(): estimate {label!r} has no n[{n_key!r}]; it has {sorted(e.n)}. "
                "Name the count with n_key=."
            )
        rows[label] = {"estimate": scale * e.estimate, "ci_low": scale * e.ci_low,
                       "ci_high": scale * e.ci_high, "n": int(n)}
    frame = pd.DataFrame.from_dict(rows, orient="index").astype({"n": "int64"})
    return protect(frame, counts=["n"], denominators={c: "n" for c in ("estimate", "ci_low", "ci_high")},
                   threshold=threshold, total_row=None, total_col=None)


# -- helpers -----------------------------------------------------------------------


def _axes(ax: Any, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    use_style()
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        plt.close(fig)  # the caller shows or saves it; no duplicate inline output
        return fig, ax
    return ax.figure, ax


def _axis_label(unit: str, lang: str) -> str:
    return unit or i18n.t("fig.estimate", lang)


def _locale_ticks(ax: Any, lang: str, axes: str = "xy") -> None:
    """Tick labels with the language's decimal mark and minus sign (:func:`i18n.tick_formatter`)."""
    for name in axes:
        getattr(ax, f"{name}axis").set_major_formatter(i18n.tick_formatter(lang))


def localise_ticks(fig: Figure, language: str | None = None) -> None:
    """Give every axis of ``fig`` whose tick labels are matplotlib's default numbers
    (``ScalarFormatter``) the language's format: ``0,5`` and ``−1`` in Latvian. A log axis with
    matplotlib's default powers (``10^2`` in mathtext, which the report shows escaped) gets plain
    numbers at 1, 2 and 5 times the powers of ten. Axes with their own formatter (dates,
    categories, percentages) are left alone."""
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter, ScalarFormatter

    lang = i18n.check_language(language)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatter = type(axis.get_major_formatter())
            if formatter is ScalarFormatter:
                axis.set_major_formatter(i18n.tick_formatter(lang))
            elif formatter is LogFormatterSciNotation:
                axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                axis.set_major_formatter(i18n.tick_formatter(lang, digits=0))
                axis.set_minor_formatter(NullFormatter())


def figure_alt(fig: Figure, alt: str | None = None, language: str | None = None) -> str:
    """The text alternative of a published figure: ``alt`` if given, else "Figure: <title>."
    from the figure's title (suptitle, or the axes' titles joined), else its axis labels;
    in the report language (the titles are already translated by the study)."""
    if alt is not None and str(alt).strip():
        return str(alt).strip()
    lang = i18n.check_language(language)
    titles: list[str] = []
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text().strip():
        titles.append(sup.get_text().strip())
    for ax in fig.axes:
        for loc in ("left", "center", "right"):  # the house style puts titles on the left
            title = ax.get_title(loc).strip()
            if title and title not in titles:
                titles.append(title)
    if not titles:
        for ax in fig.axes:
            labels = [lab for lab in (ax.get_ylabel().strip(), ax.get_xlabel().strip()) if lab]
            if labels:
                titles.append(" / ".join(labels))
    return i18n.text("fig.alt", lang, title="; ".join(titles)) if titles else i18n.text("fig.alt_untitled", lang)


def _labelled(estimates: Mapping[str, Estimate] | Sequence[Estimate]) -> list[tuple[str, Estimate]]:
    raw = list(estimates.items()) if isinstance(estimates, Mapping) else [(None, e) for e in estimates]
    if not raw:
        raise FigureInputError("coef_plot(): no estimates given.")
    items = []
    for label, obj in raw:
        e = as_estimate(obj)
        if e is None:
            raise FigureInputError(
                f"coef_plot(): {label!r} is a {type(obj).__name__}, not an evaltools Estimate "
                "(or a result holding one in .estimate)."
            )
        items.append((e.estimand if label is None else label, e))
    return items


def _event_frame(data: Any, time: str, estimate: str, ci_low: str, ci_high: str) -> pd.DataFrame:
    if isinstance(data, Mapping):
        rows = []
        for t, e in data.items():
            if not is_estimate(e):
                raise FigureInputError(f"event_study_plot(): period {t!r} holds a {type(e).__name__}, not an Estimate.")
            rows.append({"t": int(t), "b": e.estimate, "lo": e.ci_low, "hi": e.ci_high})
        if not rows:
            raise FigureInputError("event_study_plot(): no periods given.")
        return pd.DataFrame(rows)
    if not isinstance(data, pd.DataFrame):
        raise FigureInputError(
            f"event_study_plot() needs a DataFrame or {{event_time: Estimate}}, got {type(data).__name__}."
        )
    require_columns(data, [time, estimate, ci_low, ci_high], where="event_study_plot",
                    error=FigureInputError, hint="Name them with time=, estimate=, ci_low=, ci_high=.")
    return pd.DataFrame({"t": data[time].astype(int).to_numpy(), "b": data[estimate].to_numpy(float),
                         "lo": data[ci_low].to_numpy(float), "hi": data[ci_high].to_numpy(float)})
