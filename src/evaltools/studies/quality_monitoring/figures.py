"""The monitoring report's funnel plot of mean scores, drawn from a protected table only.

:func:`funnel_means`: the units' visible (pupils tested, mean score) points with the 95 % and
99.8 % limits of :func:`evaltools.inference.funnel.funnel_limits` (``kind="mean"``) around
Latvia's mean, with the same design effect as the table's flags (:mod:`.compare`). The municipal
study's :func:`~evaltools.report.funnels.funnel_figure` draws rates; both
could become one ``report.figures.funnel_plot(kind=...)``.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evaltools.inference.funnel import LEVELS, funnel_limits
from evaltools.report.escape import mpl_text
from evaltools.report.figures import PALETTE, visible
from evaltools.report.i18n import number


def funnel_means(table: Any, *, size: Hashable, value: Hashable, reference: dict[str, float],
                 highlight: Sequence[Hashable] = (), xlabel: str = "", ylabel: str = "", title: str = "",
                 language: str | None = None) -> plt.Figure:
    """Visible (``size``, ``value``) points of ``table`` with the limits around
    ``reference["theta"]`` (pupil-level ``sd``, ``design_effect``); ``highlight`` rows in colour.
    Sizes on a log axis with plain numbers in the report's language."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    frame = pd.DataFrame({"size": visible(table, size), "value": visible(table, value)}).dropna()
    fig, ax = plt.subplots(figsize=(7.0, 4.0), layout="constrained")
    plt.close(fig)
    top = max(float(frame["size"].max()) if len(frame) else 100.0, 50.0) * 1.5
    bottom = max(5.0, float(frame["size"].min()) / 2) if len(frame) else 5.0
    grid = np.geomspace(bottom, top, 120)
    limits = funnel_limits(grid, reference["theta"], kind="mean", sd=reference["sd"],
                           design_effect=reference["design_effect"])
    for level, style in zip(LEVELS, ("--", ":")):
        tag = f"{100 * level:g}"
        ax.plot(grid, limits[f"low_{tag}"], style, color="#6b7480", lw=1)
        shown = number(100 * level, digits=0 if float(100 * level).is_integer() else 1, language=language)
        ax.plot(grid, limits[f"high_{tag}"], style, color="#6b7480", lw=1, label=f"{shown} %")
    ax.axhline(reference["theta"], color="#6b7480", lw=1)
    mine = frame.index.isin(list(highlight))
    ax.scatter(frame.loc[~mine, "size"], frame.loc[~mine, "value"], s=14, color="0.65", zorder=2)
    ax.scatter(frame.loc[mine, "size"], frame.loc[mine, "value"], s=36, color=PALETTE[0], zorder=3)
    for name, row in frame[mine].iterrows():
        ax.annotate(mpl_text(str(name)), (row["size"], row["value"]), fontsize=8, xytext=(4, 4),
                    textcoords="offset points")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, digits=0, language=language)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(frameon=False, fontsize=8)
    return fig
