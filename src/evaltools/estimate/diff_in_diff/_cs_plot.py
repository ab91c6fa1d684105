"""Plots for :mod:`evaltools.estimate.diff_in_diff.staggered` (matplotlib; every function returns the Axes)."""
from __future__ import annotations

from typing import Any

import numpy as np


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def plot_cells(res: Any, ax=None, title: str | None = None):
    """ATT(g,t) against event time t - g, one colour per cohort, with pointwise CIs
    (``res``: an :class:`~evaltools.estimate.diff_in_diff.staggered.ATTgtResult`)."""
    ax = _axes(ax)
    tab = res.table
    groups = np.unique(tab["group"])
    offsets = np.linspace(-0.15, 0.15, groups.size) if groups.size > 1 else [0.0]
    for off, g in zip(offsets, groups):
        s = tab[tab["group"] == g]
        x = s["event_time"].to_numpy() + off
        ax.errorbar(x, s["att"], yerr=[s["att"] - s["ci_low"], s["ci_high"] - s["att"]], fmt="o",
                    capsize=2, label=f"cohort {g:g}")
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("periods since treatment (t - g)")
    ax.set_ylabel("ATT(g, t)")
    ax.set_title(title or "Group-time average treatment effects")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_aggregate(res: Any, ax=None, title: str | None = None):
    """Aggregated effects with pointwise CIs and, with the bootstrap, simultaneous bands
    (``res``: an :class:`~evaltools.estimate.diff_in_diff.staggered.AggregatedATT`)."""
    ax = _axes(ax)
    tab = res.table
    if tab.empty:
        o = res.overall
        ax.errorbar([0], [o.estimate], yerr=[[o.estimate - o.ci_low], [o.ci_high - o.estimate]],
                    fmt="o", capsize=3)
        ax.set_xticks([0], [o.estimand])
    else:
        key = res._key
        x = tab[key].to_numpy(dtype=float)
        colors = np.where(x >= 0, "C3", "C0") if key == "event_time" else np.array(["C0"] * x.size)
        if "band_low" in tab:
            ax.vlines(x, tab["band_low"], tab["band_high"], colors="lightgrey", lw=6,
                      label="simultaneous band")
        for c in np.unique(colors):
            s = colors == c
            ax.errorbar(x[s], tab["estimate"][s], yerr=[(tab["estimate"] - tab["ci_low"])[s],
                                                        (tab["ci_high"] - tab["estimate"])[s]],
                        fmt="o", color=c, capsize=2)
        ax.set_xlabel({"event_time": "periods since treatment", "group": "cohort (first treated)",
                       "time": "period"}[key])
        if "band_low" in tab:
            ax.legend(frameon=False, fontsize="small")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("ATT")
    ax.set_title(title or f"Aggregated ATT ({res.kind}); overall {res.overall.estimate:.3g} "
                          f"(SE {res.overall.se:.2g})")
    return ax
