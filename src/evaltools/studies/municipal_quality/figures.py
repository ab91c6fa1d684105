"""The municipal report's figures, drawn from protected tables only (hidden values are gaps).

- :func:`funnel_figure`: units' early-leaving rate against their size, with the control limits
  of :func:`evaltools.inference.funnel.funnel_limits` around Latvia's rate (no ranking); shared,
  now :func:`evaltools.report.funnels.funnel_figure` (this name still works);
- :func:`tile_map`: Latvia's 43 municipalities as equal squares placed roughly geographically
  (:data:`evaltools.data.geography.TILE_GRID`), coloured by a visible value; no boundary file.
"""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evaltools.data.geography import TILE_GRID
from evaltools.report.figures import visible
from evaltools.report.funnels import funnel_figure  # noqa: F401  (moved; the old name still works)


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
