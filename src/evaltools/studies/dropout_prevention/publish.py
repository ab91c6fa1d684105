"""What the funder report shows of the PUMPURS study, through disclosure control.

The estimators are not changed; these functions decide which of their numbers may be published
and in which form (:mod:`evaltools.report.disclosure`; Hundepool et al. 2012, *Statistical
Disclosure Control*, ch. 4)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from evaltools.estimate.result import Estimate
from evaltools.report.disclosure import DEPENDENT, Link, protect, protect_linked
from evaltools.studies.dropout_prevention.frames import DropoutData

__all__ = ['scaled', 'public', 'naive_rates', 'designs_table', 'rollout_table', 'incidence_table', 'cost_tables',
           'OBSERVED_RATES', 'vocational_tables']


def scaled(est: Estimate, factor: float = 100.0, label: str | None = None) -> Estimate:
    """``est`` times ``factor`` (e.g. a probability as percentage points), relabelled."""
    return replace(est, estimand=label or est.estimand, estimate=est.estimate * factor, se=est.se * abs(factor),
                   ci_low=min(est.ci_low * factor, est.ci_high * factor),
                   ci_high=max(est.ci_low * factor, est.ci_high * factor))



OBSERVED_RATES = ("p_treated", "p_untreated", "rate_supported", "rate_unsupported")


def public(est: Estimate) -> Estimate:
    """``est`` without the diagnostics that are observed or fitted rates of a group: with the
    group's pupil-years (published beside it) a rate gives back its count of leavers. The rates
    the report shows are published through :func:`naive_rates` instead."""
    return replace(est, diagnostics={k: v for k, v in (est.diagnostics or {}).items() if k not in OBSERVED_RATES})


def naive_rates(data: DropoutData, *, threshold: int | None = None, language: str | None = None) -> dict[str, Any]:
    """The yearly leaving rates (%) of supported and unsupported PUMPURS pupil-years, each a
    :class:`~evaltools.report.disclosure.ProtectedValue` with its leavers and pupil-years: hidden
    when the leavers, the stayers or the pupil-years are a small count. (The hazard model's
    ``p_treated`` is the supported rate itself: a logit with the support term fits the group's
    mean exactly, so it is published only through this value.)"""
    p = data.pumpurs
    specs = {}
    for key, rows in (("supported", p[p["supported"]]), ("unsupported", p[~p["supported"]])):
        n, k = int(len(rows)), int(rows["left_early"].sum())
        specs[f"leaving_rate_{key}"] = {"value": 100 * k / n if n else None, "numerator": k, "denominator": n,
                                        "percent": True, "digits": 1, "language": language}
    return protect_linked(specs, threshold=threshold)


def designs_table(rows: Sequence[tuple[str, Estimate, int]], *, naive_visible: bool, labels: Mapping[str, str],
                  names: Mapping[str, str], estimands: Mapping[str, str], threshold: int | None = None,
                  caption: str | None = None, notes: Sequence[str] = (), language: str | None = None) -> Any:
    """The designs compared in the report: effect (percentage points) with its CI and the pupil-years
    behind it, one row per design (``rows``: key, estimate, n). A design with fewer pupil-years than
    the threshold is hidden; so is the naive comparison unless ``naive_visible`` (it is the
    difference of the two :func:`naive_rates`: with one of them, it gives back the other)."""
    frame = pd.DataFrame([{"design": names[k], "estimand": estimands[k], "estimate": 100 * e.estimate,
                           "ci_low": 100 * e.ci_low, "ci_high": 100 * e.ci_high, "n": int(n)} for k, e, n in rows])
    frame = frame.set_index("design").astype({"n": "int64"})
    p = protect(frame, counts=["n"], denominators={c: "n" for c in ("estimate", "ci_low", "ci_high")},
                threshold=threshold, total_row=None, total_col=None, labels=dict(labels), caption=caption,
                notes=notes, language=language, digits={c: 2 for c in ("estimate", "ci_low", "ci_high")},
                name="designs")
    if naive_visible or "naive" not in dict((k, 1) for k, _, _ in rows):
        return p
    status, data = p.status.copy(), p.data.copy()
    row = names["naive"]
    for c in ("estimate", "ci_low", "ci_high"):
        if not status.at[row, c]:
            status.at[row, c] = DEPENDENT
        data.at[row, c] = np.nan
    return replace(p, data=data, status=status)


def rollout_table(cs: Any, dynamic: Any, *, threshold: int | None = None) -> Any:
    """The roll-out event study as the report plots it (percentage points): ATT by years since a
    school joined with its CI and the treated schools behind each event time (``schools``); an
    event time with fewer schools than the threshold is hidden."""
    units = cs.to_frame().groupby("event_time")["n_treated"].sum()
    d = dynamic.table.set_index("event_time")
    frame = pd.DataFrame({"estimate": 100 * d["estimate"], "ci_low": 100 * d["ci_low"], "ci_high": 100 * d["ci_high"],
                          "schools": d.index.map(units).fillna(0).astype("int64")}, index=d.index)
    return protect(frame, counts=["schools"], denominators={c: "schools" for c in ("estimate", "ci_low", "ci_high")},
                   threshold=threshold, total_row=None, total_col=None, name="rollout_event_study")


def incidence_table(curve: pd.DataFrame, n_rows: int, *, threshold: int | None = None) -> Any:
    """The cumulative-incidence curves as the report plots them (%): by arm and grade, the model's
    prediction with its CI for the supported pupil-years (``n_rows``, the base of every point)."""
    c = curve[curve["arm"] != "difference"]
    frame = pd.DataFrame({"estimate": 100 * c["estimate"].to_numpy(), "ci_low": 100 * c["ci_low"].to_numpy(),
                          "ci_high": 100 * c["ci_high"].to_numpy(), "pupil_years": int(n_rows)},
                         index=pd.MultiIndex.from_arrays([c["arm"], c["period"]], names=["arm", "grade"]))
    frame = frame.astype({"pupil_years": "int64"})
    return protect(frame, counts=["pupil_years"],
                   denominators={col: "pupil_years" for col in ("estimate", "ci_low", "ci_high")},
                   threshold=threshold, total_row=None, total_col=None, name="cumulative_incidence")


def cost_tables(data: DropoutData, costs: Mapping[str, Any], *, threshold: int | None = None,
                labels: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None,
                caption: str | None = None, language: str | None = None) -> dict[str, Any]:
    """The cost of the measures by type (pupils, euros, share of the total) and the total, protected
    together: a cost is a sum of the pupils' costs, hidden when fewer pupils than the threshold
    contributed or one or two pupils dominate it (dominance rules, :class:`Dominance`); the
    total is linked to the types so a hidden type cannot be recovered from it. The share column
    is shown only when no type's cost is hidden (the shares add up to 100 %).

    Returns ``{"costs": ProtectedTable, "costs_total": ProtectedTable}`` (the total as one row
    ``total`` with ``cost`` and the supported ``pupils``)."""
    m = data.measures
    by_type = costs["by_type"]
    per_pupil = m.groupby(["type", "pupil_id"])["cost_eur"].sum() if len(m) else pd.Series(dtype=float)
    index = [(names or {}).get(t, t) for t in by_type.index]
    frame = pd.DataFrame({"pupils": costs["pupils_by_type"].reindex(by_type.index).fillna(0).astype("int64").to_numpy(),
                          "cost": by_type.to_numpy(float),
                          "share": (by_type / costs["total"]).to_numpy(float) if costs["total"] else np.nan},
                         index=pd.Index(index, name="measure"))
    contributions = {label: per_pupil.loc[t].to_numpy(float) for label, t in zip(index, by_type.index)}
    total = pd.DataFrame({"pupils": [int(costs["supported_pupils"])], "cost": [float(costs["total"])]},
                         index=pd.Index(["total"], name="measure"))
    every = m.groupby("pupil_id")["cost_eur"].sum().to_numpy(float) if len(m) else np.array([])
    out = protect_linked({
        "costs": {"data": frame, "counts": ["pupils"], "magnitudes": {"cost": contributions},
                  "denominators": {"share": ("cost",)}, "total_row": None, "total_col": None,
                  "labels": dict(labels or {}), "digits": {"cost": 0, "share": 1}, "percents": ["share"],
                  "caption": caption, "language": language},
        "costs_total": {"data": total, "counts": ["pupils"], "magnitudes": {"cost": {"total": every}},
                        "total_row": None, "total_col": None},
    }, [Link(("costs_total", "total", "cost"), [("costs", label, "cost") for label in index])], threshold=threshold)
    table = out["costs"]
    if table.hidden["cost"].any():  # shares add up to 100 %: one hidden cost would come back from the others
        status, values = table.status.copy(), table.data.copy()
        status.loc[status["share"] == "", "share"] = DEPENDENT
        values["share"] = np.nan
        out["costs"] = replace(table, status=status, data=values)
    return out


def vocational_tables(totals: pd.DataFrame, leaving: pd.DataFrame, *, threshold: int | None = None,
                      labels: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None,
                      captions: Mapping[str, str] | None = None, language: str | None = None) -> dict[str, Any]:
    """The vocational students' tables, protected: the programme's totals by group
    (:func:`.vocational.programme_totals`: plans, plans taken up and pupils are counts of people;
    institutions and municipalities are not) and their early leaving by course
    (:func:`.vocational.leaving_by_course`, the ``all`` row the total; the rate hidden with its
    leavers or stayers). ``names`` relabel the rows (groups, courses)."""
    names = dict(names or {})
    t = totals.rename(index=lambda k: names.get(k, k))
    lv = leaving.rename(index=lambda k: names.get(k, k))
    total_label = names.get("all", "all")
    caps = dict(captions or {})
    return {
        "programme_totals": protect(t, counts=["plans", "taken_up", "pupils"], total_row=None, total_col=None,
                                    labels=dict(labels or {}), caption=caps.get("programme_totals"),
                                    language=language, threshold=threshold, name="programme_totals"),
        "vocational_leaving": protect(lv, counts=["student_years", "left_early"],
                                      denominators={"rate": "student_years"}, numerators={"rate": "left_early"},
                                      total_row=total_label, total_col=None, labels=dict(labels or {}),
                                      digits={"rate": 1}, caption=caps.get("vocational_leaving"), language=language,
                                      threshold=threshold, name="vocational_leaving"),
    }
