"""Education-quality indicators from pupil-year records, for any grouping.

The indicators a municipal education-quality report (Education Law, Art.
17-18) and the programme studies describe, computed from the data layer's
tables (``evaltools.data.load_dataset``):

- ``pupils``: distinct pupils enrolled in the period, each counted once, in the
  unit (school or municipality) of their last school year in the period, so
  that the units add up to the total;
- ``early_leaving_pct``: pupil-years in grades 5-12 (the PUMPURS target group)
  that ended in early leaving, per 100 such pupil-years;
- ``absences_mean``: lessons missed per pupil-year;
- ``repeated_pct``: pupil-years repeated, per 100, with ``repeated`` such pupil-years
  (published, so that disclosure control protects the share's numerator);
- ``ce9_mean`` / ``ce12_mean``: mean centralised-exam score (%) over each
  sitter's subjects, with ``ce9_n`` / ``ce12_n`` sitters.

Counts are of people or person-years, so that disclosure control
(``evaltools.report.disclosure.protect``) can be applied with the column
lists below.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaltools.core.errors import InputError
from evaltools.data.io import Dataset
from evaltools.report.i18n import sort_names
from evaltools.studies.municipal_quality import frames
from evaltools.studies.municipal_quality.frames import school_labels

RISK_GRADES = frames.RISK_GRADES  # grades of the PUMPURS target group (5-12)
COUNT_COLUMNS = ["pupils", "pupil_years", "left_early", "repeated", "ce9_n", "ce12_n"]
DENOMINATORS = {
    "early_leaving_pct": "pupil_years_5_12",
    "absences_mean": "pupil_years",
    "repeated_pct": "pupil_years",
    "ce9_mean": "ce9_n",
    "ce12_mean": "ce12_n",
}
NUMERATORS = {"early_leaving_pct": "left_early", "repeated_pct": "repeated"}


class UnknownAreaError(InputError, ValueError):
    """The requested municipality is not in the data set."""


@dataclass(frozen=True)
class Area:
    """What a report covers: all of Latvia by municipality, or one municipality by school."""

    municipality_id: str | None
    name: str | None
    first_year: int
    last_year: int

    @property
    def unit(self) -> str:
        return "municipality" if self.municipality_id is None else "school"

    @property
    def period(self) -> str:
        return f"{self.first_year}/{(self.first_year + 1) % 100:02d}–{self.last_year}/{(self.last_year + 1) % 100:02d}"


def select_area(data: Dataset, municipality: str, first_year: int, last_year: int) -> Area:
    """Check the parameters against the data and name the area.

    ``municipality`` is ``"all"``, a municipality name (case and diacritics as
    in the data) or its id.
    """
    years = data["pupil_years"]["year"]
    lo, hi = int(years.min()), int(years.max())
    if not lo <= first_year <= last_year <= hi:
        raise ValueError(
            f"Parameters first_year={first_year}, last_year={last_year}: the period must lie within "
            f"the school years of the data, {lo}-{hi}, with first_year <= last_year."
        )
    if municipality.strip().lower() in {"all", "latvija", "latvia"}:
        return Area(None, None, first_year, last_year)
    muni = data["municipalities"]
    hit = muni[(muni["name"].str.casefold() == municipality.strip().casefold()) | (muni["municipality_id"] == municipality.strip())]
    if hit.empty:
        close = difflib.get_close_matches(municipality, muni["name"].tolist(), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownAreaError(
            f"Parameter municipality={municipality!r}: no such municipality in the data.{hint} "
            f"Use 'all' or one of: {', '.join(sort_names(muni['name'], 'lv'))}."
        )
    row = hit.iloc[0]
    return Area(str(row["municipality_id"]), str(row["name"]), first_year, last_year)


def pupil_years(data: Dataset, area: Area, *, whole_country: bool = False) -> pd.DataFrame:
    """Pupil-years of the period with the school's municipality; restricted to the area
    unless ``whole_country``. Adds ``unit`` (school label, :func:`school_labels`, or municipality
    name) for grouping, and the exam scores of :func:`.frames.pupil_base` (built once per data set)."""
    def build() -> pd.DataFrame:
        out = frames.period(data, area.first_year, area.last_year)
        if area.municipality_id is not None and not whole_country:
            out = frames.renumbered(out[out["municipality_id"] == area.municipality_id])
        else:
            out = out.copy(deep=False)  # the period's frame shared, a column of its own added
        out["unit"] = out["municipality"] if area.unit == "municipality" else out["school"]
        return out

    own = None if whole_country else area.municipality_id  # the frame is shared: callers must not modify it
    return frames.remember(data, ("pupil_years", area.first_year, area.last_year, own, area.unit),
                           ("pupil_years", "schools", "municipalities", "assessments"), build)


def exam_scores(data: Dataset, frame: pd.DataFrame, test: str) -> pd.DataFrame:
    """One row per sitter of ``test`` in ``frame``'s pupil-years: mean score over subjects
    (columns ``pupil_id``, ``year``, ``score``, ``unit``, ``school_id``)."""
    column = f"score_{test}"
    if column in frame.columns:  # a frame of pupil_years(): the scores are already there
        took = frame[frame[column].notna()]
        return pd.DataFrame({"pupil_id": took["pupil_id"], "year": took["year"], "score": took[column],
                             "unit": took["unit"], "school_id": took["school_id"]}).reset_index(drop=True)
    a = data["assessments"]
    a = a[a["test"] == test].groupby(["pupil_id", "year"], as_index=False)["score"].mean()
    keys = frame[["pupil_id", "year", "unit", "school_id"]]
    return a.merge(keys, on=["pupil_id", "year"], how="inner")


def indicator_table(data: Dataset, area: Area, total_label: str) -> pd.DataFrame:
    """The indicators by unit (school or municipality) with a total row ``total_label``."""
    frame = pupil_years(data, area)
    ce9 = exam_scores(data, frame, "ce9")
    ce12 = exam_scores(data, frame, "ce12")

    def summarise(f: pd.DataFrame, e9: pd.DataFrame, e12: pd.DataFrame) -> dict[str, float]:
        risk = f[f["at_risk_grade"]]
        n_risk = len(risk)
        return {
            "pupils": int(f["counted"].sum()),
            "pupil_years": len(f),
            "pupil_years_5_12": n_risk,
            "left_early": int(risk["left_early_flag"].sum()),
            "early_leaving_pct": 100 * risk["left_early_flag"].mean() if n_risk else np.nan,
            "absences_mean": f["absences"].mean() if len(f) else np.nan,
            "repeated": int(f["repeated"].sum()),
            "repeated_pct": 100 * f["repeated"].mean() if len(f) else np.nan,
            "ce9_n": len(e9),
            "ce9_mean": e9["score"].mean() if len(e9) else np.nan,
            "ce12_n": len(e12),
            "ce12_mean": e12["score"].mean() if len(e12) else np.nan,
        }

    last_unit = frame.sort_values("year").drop_duplicates("pupil_id", keep="last")
    frame = frame.assign(counted=frame.index.isin(last_unit.index))
    groups = dict(list(frame.groupby("unit", sort=False)))
    rows = {  # names in Latvian alphabetical order (Ā after A, Ķ after K), whatever the report language
        unit: summarise(groups[unit], ce9[ce9["unit"] == unit], ce12[ce12["unit"] == unit])
        for unit in sort_names(groups, "lv")
    }
    rows[total_label] = summarise(frame, ce9, ce12)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = area.unit
    ints = ["pupils", "pupil_years", "pupil_years_5_12", "left_early", "repeated", "ce9_n", "ce12_n"]
    return table.astype({c: "int64" for c in ints})


def early_leaving_by_year(data: Dataset, area: Area, *, whole_country: bool = False) -> pd.DataFrame:
    """Per school year: pupil-years in grades 5-12, early leavers and the rate (%)."""
    frame = pupil_years(data, area, whole_country=whole_country)
    risk = frame[frame["at_risk_grade"]]
    out = risk.groupby("year").agg(pupil_years_5_12=("left_early_flag", "size"),
                                   left_early=("left_early_flag", "sum"))
    out["early_leaving_pct"] = 100 * out["left_early"] / out["pupil_years_5_12"]
    return out.astype({"left_early": "int64"})
