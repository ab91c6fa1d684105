"""The alumni study's figures and the protected tables behind them (labels come translated from the notebook)."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.studies.alumni_programme.cohorts import MatchedCohort

__all__ = ['survival_table', 'protect_survival', 'plot_survival', 'curve_units', 'naive_vs_adjusted_table', 'plot_naive_vs_adjusted', 'event_table', 'share_value']


def survival_table(cohort: MatchedCohort) -> pd.DataFrame:
    """The three curves the report plots, by school year since joining: ``at_risk`` (distinct teachers
    still followed at the start of the year, unweighted), ``events`` (teachers who left that year,
    unweighted) and ``survival`` (Kaplan-Meier share still teaching; match-weighted for ``matched``).
    Index: (``curve``, ``time``) with curves ``treated``, ``matched`` and ``naive``."""
    d = cohort.frame
    used = cohort.weights.to_numpy() > 0
    weighted = cohort.survival(True)
    curves = [("treated", weighted, 1, d[d["treated"] == 1]),
              ("matched", weighted, 0, d[(d["treated"] == 0) & used]),
              ("naive", cohort.survival(False), 0, d[d["treated"] == 0])]
    rows = []
    for key, km, group, sub in curves:
        tab = km.table[km.table["group"] == group].set_index("time")["survival"]
        for t in range(1, int(sub["duration"].max()) + 1 if len(sub) else 1):
            at = sub[sub["duration"] >= t]
            rows.append({"curve": key, "time": t, "at_risk": int(at["teacher_id"].nunique()),
                         "events": int(((sub["duration"] == t) & (sub["event"] == 1)).sum()),
                         "survival": float(tab.loc[:t].iloc[-1]) if (tab.index <= t).any() else 1.0})
    out = pd.DataFrame(rows, columns=["curve", "time", "at_risk", "events", "survival"])
    return out.set_index(["curve", "time"]).astype({"at_risk": "int64", "events": "int64"})


def protect_survival(frame: pd.DataFrame, threshold: int | None = None) -> Any:
    """The survival curves as published: at-risk and event counts through disclosure control, and
    each curve's share still teaching shown only up to the first year whose at-risk count or
    number of leavers (or stayers) is hidden or small. A Kaplan-Meier step is
    ``1 - events / at_risk``: with the curve before it, a step after a hidden count would give
    that count back, so a curve stops there (Hundepool et al. 2012, ch. 4: dependent values)."""
    from evaltools.report.disclosure import DEPENDENT, protect

    p = protect(frame, counts=["at_risk", "events"], denominators={"survival": "at_risk"},
                numerators={"survival": "events"}, threshold=threshold, total_row=None, total_col=None)
    status = p.status.copy()
    for curve in frame.index.get_level_values("curve").unique():
        rows = [ix for ix in frame.index if ix[0] == curve]
        stop = False
        for ix in rows:
            stop = stop or bool(status.at[ix, "survival"]) or bool(status.at[ix, "events"])
            if stop and not status.at[ix, "survival"]:
                status.at[ix, "survival"] = DEPENDENT
    data = p.data.copy()
    data.loc[status["survival"] != "", "survival"] = np.nan
    return replace(p, data=data, status=status)


def plot_survival(table: Any, labels: dict[str, str], n_units: dict[str, int], *, language: str,
                  xlabel: str, ylabel: str, title: str) -> Any:
    """Share still teaching by school years since joining, from :func:`protect_survival`'s table:
    participants, matched comparison and the unmatched comparison (the naive curve), each drawn
    only where the table shows it. ``labels``: ``treated``, ``matched``, ``naive`` (format field
    ``{n}``: the group's teachers from ``n_units``, through disclosure control)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from evaltools.report import i18n
    from evaltools.report.disclosure import safe_count
    from evaltools.report.figures import PALETTE, use_style, visible

    use_style()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    shown = visible(table, "survival")
    style = {"treated": (PALETTE[0], "-"), "matched": (PALETTE[1], "-"), "naive": ("#8a8f96", "--")}
    for key, (colour, line) in style.items():
        curve = shown[shown.index.get_level_values("curve") == key].dropna()
        if curve.empty:
            continue
        t = np.concatenate([[0.0], curve.index.get_level_values("time").to_numpy(float)])
        s = np.concatenate([[1.0], curve.to_numpy(float)])
        ax.step(t, s, where="post", color=colour, linestyle=line, linewidth=2,
                label=labels[key].format(n=safe_count(n_units.get(key, 0), table.threshold, language)))
    ax.set_ylim(top=1.01)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.percent(v, language)))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(frameon=False, loc="lower left", fontsize=9)
    plt.close(fig)  # the notebook shows or saves it
    return fig


def curve_units(cohort: MatchedCohort) -> dict[str, int]:
    """Distinct teachers behind each survival curve (for the legend)."""
    d = cohort.frame
    used = cohort.weights.to_numpy() > 0
    return {"treated": int(d.loc[d["treated"] == 1, "teacher_id"].nunique()),
            "matched": int(d.loc[(d["treated"] == 0) & used, "teacher_id"].nunique()),
            "naive": int(d.loc[d["treated"] == 0, "teacher_id"].nunique())}


def naive_vs_adjusted_table(panels: dict[str, dict[str, Any]], threshold: int | None = None) -> Any:
    """The estimates the naive-versus-adjusted figure plots, as a protected table: one row per
    (outcome, ``naive``/``adjusted``) with the estimate and CI times the panel's ``scale`` and the
    participants behind it (the adjusted estimate's ``n["units"]``); a row with fewer
    participants than the threshold is hidden."""
    from evaltools.report.disclosure import protect

    rows = []
    for key, p in panels.items():
        n = int(p["adjusted"].n.get("units", 0))
        for arm in ("naive", "adjusted"):
            e, k = p[arm], p["scale"]
            rows.append({"outcome": key, "arm": arm, "estimate": e.estimate * k, "ci_low": e.ci_low * k,
                         "ci_high": e.ci_high * k, "participants": n})
    frame = pd.DataFrame(rows).set_index(["outcome", "arm"]).astype({"participants": "int64"})
    return protect(frame, counts=["participants"],
                   denominators={c: "participants" for c in ("estimate", "ci_low", "ci_high")},
                   threshold=threshold, total_row=None, total_col=None)


def plot_naive_vs_adjusted(table: Any, panels: dict[str, dict[str, Any]], labels: dict[str, str], *,
                           language: str) -> Any:
    """Small multiples: for each outcome the naive comparison against the adjusted estimate (95 % CI)
    from :func:`naive_vs_adjusted_table` (hidden rows are not drawn), with the true effect when the
    data are synthetic. ``panels``: ``{outcome: {"title", "unit", "scale", "truth"}}``; ``labels``:
    ``naive``, ``adjusted``, ``truth``."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from evaltools.report import i18n
    from evaltools.report.figures import PALETTE, use_style, visible

    use_style()
    cols = 2
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(8.0, 1.9 * rows + 0.6), squeeze=False)
    shown = pd.DataFrame({c: visible(table, c) for c in ("estimate", "ci_low", "ci_high")})
    for ax, (key, p) in zip(axes.flat, panels.items()):
        for y, arm, colour in ((1, "naive", "#8a8f96"), (0, "adjusted", PALETTE[0])):
            b, lo, hi = shown.loc[(key, arm)]
            if any(np.isnan([b, lo, hi])):
                continue
            ax.errorbar([b], [y], xerr=[[b - lo], [hi - b]], fmt="o", color=colour, elinewidth=2, capsize=0,
                        markersize=6)
        if p.get("truth") is not None:
            ax.axvline(p["truth"] * p["scale"], color=PALETTE[2], linestyle=":", linewidth=2, label=labels["truth"])
        ax.axvline(0, color="#6b7480", linewidth=1)
        ax.set_yticks([1, 0], [labels["naive"], labels["adjusted"]])
        ax.set_ylim(-0.6, 1.6)
        ax.set_title(p["title"], fontsize=10)
        ax.set_xlabel(p["unit"], fontsize=9)
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _: i18n.number(v, language, 0 if abs(v) >= 1 or v == 0 else 1)))
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    if any(p.get("truth") is not None for p in panels.values()):
        fig.legend(*axes.flat[0].get_legend_handles_labels(), frameon=False, loc="lower center", ncol=1, fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    plt.close(fig)  # the notebook shows or saves it
    return fig


def event_table(event: pd.DataFrame, threshold: int | None = None) -> Any:
    """The collaboration event study as the figure plots it: ATT by event time with its CI and the
    treated schools behind it (``units``); an event time with fewer schools than the threshold is hidden."""
    from evaltools.report.disclosure import protect

    frame = event.set_index("event_time")[["estimate", "ci_low", "ci_high", "units"]].astype({"units": "int64"})
    return protect(frame, counts=["units"], denominators={c: "units" for c in ("estimate", "ci_low", "ci_high")},
                   threshold=threshold, total_row=None, total_col=None)


def share_value(frame: pd.DataFrame, column: str, *, threshold: int | None = None, language: str | None = None) -> Any:
    """The share (%) of rows of ``frame`` with ``column`` = 1, protected with its numerator and base
    (:func:`evaltools.report.disclosure.protect_value`): hidden when either count, or the rest, is small."""
    from evaltools.report.disclosure import protect_value

    x = frame[column].dropna()
    return protect_value(100 * float(x.mean()) if len(x) else None, numerator=int(x.sum()), denominator=int(len(x)),
                         percent=True, digits=1, threshold=threshold, language=language)
