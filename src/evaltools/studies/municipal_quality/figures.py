"""The municipal report's figures, drawn from protected tables only (hidden values are gaps).

- :func:`funnel_figure`: units' early-leaving rate against their size, with the control limits
  of :func:`evaltools.inference.funnel.funnel_limits` around Latvia's rate (no ranking);
- :func:`tile_map`: Latvia's 43 municipalities as equal squares placed roughly geographically
  (:data:`evaltools.data.geography.TILE_GRID`), coloured by a visible value; no boundary file.
"""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evaltools.data.geography import TILE_GRID
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


def tile_map(table: Any, *, value: str, title: str = "", fmt: str = "{:.1f}") -> plt.Figure:
    """One square per municipality (rows of ``table`` named as in :data:`TILE_GRID`), coloured by
    its visible ``value``; hidden or missing values are grey."""
    values = visible(table, value)
    fig, ax = plt.subplots(figsize=(8.0, 5.2), layout="constrained")
    plt.close(fig)
    shown = values.dropna()
    lo, hi = (float(shown.min()), float(shown.max())) if len(shown) else (0.0, 1.0)
    cmap = plt.get_cmap("Blues")
    for name, (r, c) in TILE_GRID.items():
        v = values.get(name, np.nan)
        colour = "0.85" if pd.isna(v) else cmap(0.15 + 0.8 * ((v - lo) / (hi - lo) if hi > lo else 0.5))
        ax.add_patch(plt.Rectangle((c, -r), 0.95, 0.95, color=colour))
        short = name[: -len(" novads")] + " n." if name.endswith(" novads") else name
        text = short if pd.isna(v) else f"{short}\n{fmt.format(v)}"
        dark = not pd.isna(v) and hi > lo and (v - lo) / (hi - lo) > 0.6
        ax.text(c + 0.475, -r + 0.475, text, ha="center", va="center", fontsize=6,
                color="white" if dark else "black")
    ax.set_xlim(-0.1, 10.1)
    ax.set_ylim(-6.1, 1.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title)
    return fig
