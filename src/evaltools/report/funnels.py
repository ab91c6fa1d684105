"""The funnel plot: units' rates against their size, with control limits around a reference rate.

Drawn from a protected table only (hidden values are gaps); no ranking, the limits say which units
differ from the reference more than chance would make them (Spiegelhalter 2005, "Funnel plots for
comparing institutional performance", *Statistics in Medicine* 24(8)). Used by the municipal
report and the national monitoring report.
"""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evaltools.inference.funnel import LEVELS, funnel_limits
from evaltools.report.figures import PALETTE, visible


def funnel_figure(table: Any, *, size: str, value: str, theta_pct: float, highlight: list[str] = (),
                  exclude: list[str] = (), xlabel: str = "", ylabel: str = "", title: str = "") -> plt.Figure:
    """Visible (``size``, ``value``) points of ``table`` (a ProtectedTable, value in %) with the
    95 % and 99.8 % binomial limits around ``theta_pct``; ``highlight`` rows drawn in colour,
    ``exclude`` rows (the total row) left out. Size on a log scale."""
    frame = pd.DataFrame({"size": visible(table, size), "value": visible(table, value)}).dropna()
    frame = frame[~frame.index.isin(list(exclude))]
    fig, ax = plt.subplots(figsize=(7.0, 4.0), layout="constrained")
    plt.close(fig)
    top = max(float(frame["size"].max()) if len(frame) else 100.0, 50.0) * 1.5
    bottom = max(5.0, float(frame["size"].min()) / 2) if len(frame) else 5.0
    grid = np.unique(np.geomspace(bottom, top, 120).round())
    limits = funnel_limits(grid, theta_pct / 100, kind="rate", scale=100)
    for level, style in zip(LEVELS, ("--", ":")):
        tag = f"{100 * level:g}"
        ax.plot(grid, limits[f"low_{tag}"], style, color="#6b7480", lw=1)
        ax.plot(grid, limits[f"high_{tag}"], style, color="#6b7480", lw=1, label=f"{tag} %")
    ax.axhline(theta_pct, color="#6b7480", lw=1)
    mine = frame.index.isin(list(highlight))
    ax.scatter(frame.loc[~mine, "size"], frame.loc[~mine, "value"], s=14, color="0.65", zorder=2)
    ax.scatter(frame.loc[mine, "size"], frame.loc[mine, "value"], s=36, color=PALETTE[0], zorder=3)
    for name, row in frame[mine].iterrows():
        ax.annotate(str(name), (row["size"], row["value"]), fontsize=8, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ceiling = max(float(limits["high_99.8"].iloc[0]), float(frame["value"].max()) if len(frame) else 0.0)
    ax.set_ylim(0, 1.1 * ceiling)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(frameon=False, fontsize=8)
    return fig
