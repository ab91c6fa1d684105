"""The municipal education-quality overview (``notebooks/municipal_quality.ipynb``).

Every municipality must report on education quality every four years (Education Law,
Art. 17-18). The study computes the core indicators (:mod:`.indicators`) for Latvia by
municipality or for one municipality by school over a period, and publishes them protected
together (:mod:`.publish`). Its report texts are in this package's ``messages.yaml`` (``mq.*``).

The verbs that apply to a descriptive study: :func:`prepare` (the area) and :func:`headline`
(every published table and the early-leaving rates, in one call). It estimates no effect, so
``subgroups``, ``costs`` and ``truth_check`` do not apply.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from evaltools.data.io import Dataset
from evaltools.studies.municipal_quality import chapters, comparison, indicators
from evaltools.studies.municipal_quality.indicators import Area, UnknownAreaError, select_area
from evaltools.studies.municipal_quality.national import National, load
from evaltools.studies.municipal_quality.needs import NEEDS, ROWS  # what load_dataset reads (needs.py)
from evaltools.studies.municipal_quality.publish import EXAM_COLUMNS, NAMES, Published, exam_means, publish

__all__ = ["load", "National", "prepare", "headline", "Headline", "Area", "UnknownAreaError", "Published", "publish",
           "exam_means", "indicators", "NAMES", "EXAM_COLUMNS"]


def prepare(data: Dataset, municipality: str, first_year: int, last_year: int) -> Area:
    """The area and period of the report (:func:`indicators.select_area`; an unknown name is a
    clear error listing the closest ones)."""
    return select_area(data, municipality, first_year, last_year)


@dataclass(frozen=True)
class Headline:
    """The published tables (:class:`Published`) and the early-leaving rates: the area's
    (``rate``; None when its leavers may not be published) and Latvia's (``rate_latvia``)."""

    published: Published
    rate: Any
    rate_latvia: Any
    schools: int


def headline(data: Dataset, area: Area, *, total_label: str, latvia_label: str, rate_label: str,
             national: National | None = None, **publish_options: Any) -> Headline:
    """Every number the report shows: :func:`publish` (indicator table, trend, exam means and the
    headline rate, protected together) and the early-leaving rates of grades 5-12 for the area and
    for Latvia, with intervals inside 0-100 % that hold with one or two schools
    (:func:`evaltools.estimate.bounded_intervals.clustered_rate`: Wilson interval, sample size
    discounted by the design effect with the between-school correlation of Latvia's schools).
    The area's rate is computed only when the protected headline may be shown. ``national``
    (:func:`load`): Latvia's part computed once per data set and period; ``data`` may then hold the
    municipality's rows only (the same numbers as with the whole data set)."""
    from evaltools.estimate.bounded_intervals import clustered_rate
    from evaltools.studies.municipal_quality.national import data_years, latvia_rate

    years = data_years(data) if national is None else national.years
    published = publish(data, area, total_label=total_label, latvia_label=latvia_label, trend_years=years,
                        national=national, **publish_options)
    rate_lv = (latvia_rate(data, area, rate_label) if national is None
               else replace(national.rate, estimand=rate_label))
    frame = indicators.pupil_years(data, area)
    rate = None
    if published.headline_visible:
        risk = frame[frame["at_risk_grade"]]
        rate = clustered_rate(risk["left_early_flag"], risk["school_id"], scale=100, estimand=rate_label,
                              icc=rate_lv.options["icc"])
    return Headline(published=published, rate=rate, rate_latvia=rate_lv, schools=int(frame["school_id"].nunique()))
