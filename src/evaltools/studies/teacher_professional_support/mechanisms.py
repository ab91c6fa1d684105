"""What professional development the teachers took (descriptive) and what it cost.

The activity types are mapped onto the four purposes of the mechanisms of effective professional
development of Sims et al. (2021), *What are the characteristics of effective teacher professional
development? A systematic review and meta-analysis* (EEF): **building knowledge** (managing
cognitive load, revisiting prior learning), **motivating teachers** (goal setting, a credible
source, praise and reinforcement), **developing teaching techniques** (instruction, social support,
modelling, monitoring and feedback, rehearsal) and **embedding practice** (prompts and cues,
action planning, self-monitoring, context-specific repetition). The mapping is ours and
descriptive: the data record the type of an activity, not which mechanisms it used.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from evaltools.studies.teacher_professional_support.frames import ACTIVITY_TYPES, TPSData

__all__ = ["PURPOSES", "MECHANISMS", "activity_profile", "purpose_hours", "support_costs"]

PURPOSES: tuple[str, ...] = ("knowledge", "motivation", "techniques", "embedding")
"""The four purposes of Sims et al. (2021), in their order."""

MECHANISMS: dict[str, tuple[str, ...]] = {
    "course": ("knowledge",),
    "mentoring": ("motivation", "techniques"),
    "lesson_study": ("techniques", "embedding"),
    "learning_community": ("motivation", "embedding"),
    "observation_feedback": ("techniques", "embedding"),
}
"""Activity type -> the purposes it typically serves (a course builds knowledge; mentoring sets
goals and gives feedback from a credible source; lesson study models, rehearses and plans the next
lesson; a learning community gives social support and repeats practice in context; observation with
feedback monitors and prompts practice)."""


def activity_profile(data: TPSData) -> pd.DataFrame:
    """Hours and teachers by activity type, before and after the start of methodologist support
    (teacher-years of started municipalities from their start year: ``after``; every other
    teacher-year: ``before``). Columns: type, period, teachers, hours, hours_per_teacher,
    share_with_methodologist (a share of the hours)."""
    d = data.development.assign(period=lambda f: f["treated"].map({1: "after", 0: "before"}))
    rows = []
    for (typ, period), g in d.groupby(["type", "period"], sort=False):
        teachers = int(g["teacher_id"].nunique())
        hours = float(g["hours"].sum())
        rows.append({"type": typ, "period": period, "teachers": teachers, "hours": hours,
                     "hours_per_teacher": hours / teachers if teachers else float("nan"),
                     "share_with_methodologist": float(g.loc[g["with_methodologist"].astype(bool), "hours"].sum()
                                                       / hours) if hours > 0 else float("nan")})
    out = pd.DataFrame(rows, columns=["type", "period", "teachers", "hours", "hours_per_teacher",
                                      "share_with_methodologist"])
    order = {t: i for i, t in enumerate(ACTIVITY_TYPES)}
    out["_o"] = out["type"].map(order).fillna(len(order))
    return (out.sort_values(["_o", "period"], ascending=[True, False]).drop(columns="_o").reset_index(drop=True)
            .astype({"teachers": "int64"}))


def purpose_hours(data: TPSData) -> pd.DataFrame:
    """Hours by purpose (:data:`PURPOSES`) before and after the start: an activity's hours count for
    each purpose it serves (:data:`MECHANISMS`; so the purposes' hours add up to more than the total).
    Columns: purpose, before, after, teachers_after (teachers with an activity of that purpose after)."""
    d = data.development
    rows = []
    for purpose in PURPOSES:
        types = [t for t, ps in MECHANISMS.items() if purpose in ps]
        g = d[d["type"].isin(types)]
        rows.append({"purpose": purpose, "before": float(g.loc[g["treated"] == 0, "hours"].sum()),
                     "after": float(g.loc[g["treated"] == 1, "hours"].sum()),
                     "teachers_after": int(g.loc[g["treated"] == 1, "teacher_id"].nunique())})
    return pd.DataFrame(rows, columns=["purpose", "before", "after", "teachers_after"])


def support_costs(data: TPSData, *, cost_per_methodologist_year: float, cost_per_hour: float) -> dict[str, Any]:
    """The cost of the network in the area and period from two labelled parameters (the data hold no
    costs): the methodologist posts of each started municipality for each of its years from the start
    (``methodologists x years x cost_per_methodologist_year``) and the development hours led or arranged
    by a methodologist (``hours x cost_per_hour``); the cost per supported teacher (a teacher of a
    started municipality with at least one teacher-year from its start;
    :func:`evaltools.inference.cost_per_pupil` with teachers as the unit)."""
    from evaltools.inference import cost_per_pupil

    s = data.support
    last = data.years[-1]
    started = s[s["cohort"] > 0]
    post_years = (last - started["cohort"] + 1).clip(lower=0)
    post_years = post_years.where(started["cohort"] >= data.years[0], last - data.years[0] + 1)
    methodologist_years = float((started["methodologists"].astype(float) * post_years).sum())
    d = data.development
    hours = float(d.loc[(d["treated"] == 1) & d["with_methodologist"].astype(bool), "hours"].sum())
    components = {"methodologists": methodologist_years * float(cost_per_methodologist_year),
                  "development_hours": hours * float(cost_per_hour)}
    o = data.observations
    ty = data.retention
    teachers = set(ty.loc[ty["treated"] == 1, "teacher_id"]) | set(o.loc[o["treated"] == 1, "teacher_id"])
    n = len(teachers)
    teacher_years = int(((ty["treated"] == 1)).sum()) or int((o["treated"] == 1).sum())
    per = None
    if n > 0 and sum(components.values()) > 0:
        per = cost_per_pupil(components=components, n_pupils=n, years=max(teacher_years / n, 1e-9))
    return {"components": components, "total": float(sum(components.values())),
            "methodologist_years": methodologist_years, "hours_with_methodologist": hours,
            "supported_teachers": n, "supported_teacher_years": teacher_years, "per_teacher": per,
            "cost_per_methodologist_year": float(cost_per_methodologist_year), "cost_per_hour": float(cost_per_hour)}
