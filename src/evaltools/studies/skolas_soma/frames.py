"""The frames of the Latvijas skolas soma study, built once from a loaded data set.

* ``semesters``: one row per pupil and semester with a skolas soma record in the area and period:
  ``met`` = at least one activity in the semester (the programme's rule), with the pupil's school,
  municipality, planning region, urban/rural, school size band, language of instruction and the
  pupil's socio-economic band;
* ``pupil_years``: one row per pupil and school year with ``activities`` = activities per semester
  enrolled (the mean over the semesters with a record: a pupil who left in the year has only
  semester 1, so a sum would count leaving as fewer activities) and the outcomes (``wellbeing``
  where surveyed, ``absences``);
* ``schools``: one row per school of the area with its size (pupils in the last school year) and
  its ``label`` (the name, made unique in Latvia by the municipal study's ``school_labels``).

Bands are fixed on Latvia's data, so a regional report uses the same cut-offs as the national one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaltools.core.errors import InputError
from evaltools.data.io import Dataset
from evaltools.studies.shared.frames import renumbered, school_labels

__all__ = ["SomaData", "SomaDataError", "prepare", "DIMENSIONS", "SIZE_BANDS", "SES_BANDS", "GRADE_BANDS",
           "PANDEMIC", "FIRST_YEAR", "ORDER", "semester_position"]

#: The programme started in school year 2018/19.
FIRST_YEAR: int = 2018
#: School years with remote or restricted schooling (COVID-19): 2019/20 from March 2020 (semester 2)
#: to the end of 2020/21, as (year, semester).
PANDEMIC: tuple[tuple[int, int], ...] = ((2019, 2), (2020, 1), (2020, 2))
#: Pupils in the school in the last school year of the period: lower bounds of the bands.
SIZE_BANDS: tuple[tuple[str, int], ...] = (("lt100", 0), ("100_299", 100), ("300_599", 300), ("600plus", 600))
#: The pupil's socio-economic index, in thirds of Latvia's pupils.
SES_BANDS: tuple[str, ...] = ("low", "middle", "high")
#: Grade bands for the association's subgroups.
GRADE_BANDS: tuple[tuple[str, int, int], ...] = (("1_3", 1, 3), ("4_6", 4, 6), ("7_9", 7, 9), ("10_12", 10, 12))
#: The order of each dimension's levels in the report (others: Latvian alphabetical order).
ORDER: dict[str, tuple[str, ...]] = {"urban": ("urban", "rural"), "size_band": tuple(c for c, _ in SIZE_BANDS),
                                     "ses_band": (*SES_BANDS, "unknown"), "language": ("latvian", "minority")}
#: Equity dimensions (column of ``semesters`` -> what it is), in the report's order.
DIMENSIONS: tuple[str, ...] = ("region", "urban", "size_band", "language", "ses_band")


class SomaDataError(InputError, ValueError):
    """The data or parameters do not allow the study (no skolas soma records in the area and period...)."""


@dataclass(frozen=True)
class SomaData:
    """The study's frames (see the module docstring) and what they cover."""

    semesters: pd.DataFrame
    pupil_years: pd.DataFrame
    schools: pd.DataFrame
    national_semesters: pd.DataFrame
    region: str | None
    first_year: int
    last_year: int
    notes: dict[str, Any] = field(default_factory=dict)
    directory: dict[str, pd.DataFrame] = field(default_factory=dict)  # every school and municipality (ids, names)

    @property
    def period(self) -> str:
        return f"{self.first_year}/{(self.first_year + 1) % 100:02d}–{self.last_year}/{(self.last_year + 1) % 100:02d}"

    def counts(self) -> dict[str, int]:
        """Pupils, pupil-semesters, schools and surveyed pupil-years (researchers' view; not published as is)."""
        py = self.pupil_years
        return {"pupils": int(self.semesters["pupil_id"].nunique()), "pupil_semesters": len(self.semesters),
                "schools": int(self.semesters["school_id"].nunique()),
                "surveyed_pupil_years": int(py["wellbeing"].notna().sum())}


def semester_position(year: Any, semester: Any) -> Any:
    """A semester on the school-year axis: 2020 semester 1 -> 2020.0, semester 2 -> 2020.5."""
    return year + (semester - 1) / 2


def _size_band(pupils: pd.Series) -> pd.Series:
    out = pd.Series(SIZE_BANDS[0][0], index=pupils.index, dtype=object)
    for code, low in SIZE_BANDS[1:]:
        out[pupils >= low] = code
    return out


def _ses_band(ses: pd.Series, cuts: np.ndarray) -> pd.Series:
    band = np.where(ses < cuts[0], SES_BANDS[0], np.where(ses < cuts[1], SES_BANDS[1], SES_BANDS[2]))
    return pd.Series(np.where(ses.isna(), "unknown", band), index=ses.index, dtype=object)


def prepare(data: Dataset, *, region: str | None = "all", first_year: int = FIRST_YEAR,
            last_year: int | None = None) -> SomaData:
    """The study's frames for a planning region (``"all"``: Latvia) and school years
    ``first_year``..``last_year`` (default: the last year of the data)."""
    soma = data["skolas_soma"]
    if soma.empty:
        raise SomaDataError("Table skolas_soma has no rows: the study needs the pupils' skolas soma records.")
    years = soma["year"]
    lo, hi = int(years.min()), int(years.max())
    last = hi if last_year is None else int(last_year)
    if first_year > last or first_year > hi or last < lo:
        raise SomaDataError(f"Parameters first_year={first_year}, last_year={last_year}: the skolas soma records "
                            f"cover school years {lo}-{hi}; choose a period that overlaps them with "
                            "first_year <= last_year.")
    first = max(int(first_year), lo)
    last = min(last, hi)
    muni = data["municipalities"][["municipality_id", "name", "region"]].rename(columns={"name": "municipality"})
    schools = data["schools"][["school_id", "municipality_id", "name", "urban", "language"]].merge(
        muni, on="municipality_id", how="left")
    regions = sorted(muni["region"].dropna().unique())
    area = None if region is None or str(region).strip().lower() in {"all", "latvija", "latvia"} else str(region)
    if area is not None and area not in regions:
        raise SomaDataError(f"Parameter region={region!r}: no such planning region in the data; use 'all' or one "
                            f"of: {', '.join(regions)}.")
    py = data["pupil_years"]
    size = py[py["year"] == last].groupby("school_id").size()
    schools = schools.assign(pupils=schools["school_id"].map(size).fillna(0).astype("int64"))
    schools = schools.assign(size_band=_size_band(schools["pupils"]),
                             urban=np.where(schools["urban"].astype(bool), "urban", "rural"),
                             label=schools["school_id"].map(school_labels(data)))
    ses = data["pupils"].set_index("pupil_id")["ses_index"]
    cuts = np.nanquantile(ses.to_numpy(float), [1 / 3, 2 / 3]) if ses.notna().any() else np.array([0.0, 0.0])

    s = soma[soma["year"].between(first, last)]
    codes, ids = pd.factorize(s["school_id"])  # the school's attributes by code: no merge of 2.6 million rows
    attrs = schools.set_index("school_id").reindex(ids)
    band = _ses_band(ses, cuts)  # one band per pupil, then mapped onto the rows
    extra = {c: attrs[c].to_numpy(object)[codes] for c in ("municipality", "region", "urban", "language", "size_band")}
    extra.update(met=(s["activities"] >= 1).to_numpy(), ses_band=s["pupil_id"].map(band).fillna("unknown").to_numpy())
    s = renumbered(pd.concat([s, pd.DataFrame(extra, index=s.index)], axis=1))  # the columns added in one copy
    national = s
    if area is not None:
        s = renumbered(s[s["region"] == area])
        schools = schools[schools["region"] == area]
    if s.empty:
        raise SomaDataError(f"No skolas soma records for {area or 'Latvia'} in school years {first}-{last}.")

    per = _per_pupil_year(s)
    outcomes = py[py["year"].between(first, last)][["pupil_id", "year", "school_id", "grade", "absences"]]
    per = per.merge(outcomes, on=["pupil_id", "year", "school_id"], how="left")
    wb = data["wellbeing_pupils"][["pupil_id", "year", "school_id", "wellbeing"]] if "wellbeing_pupils" in data \
        else pd.DataFrame(columns=["pupil_id", "year", "school_id", "wellbeing"])
    per = per.merge(wb, on=["pupil_id", "year", "school_id"], how="left")
    codes, ids = pd.factorize(per["school_id"])
    attrs = schools.set_index("school_id").reindex(ids)
    per = per.assign(urban=attrs["urban"].to_numpy(object)[codes], region=attrs["region"].to_numpy(object)[codes],
                     ses_band=per["pupil_id"].map(band).fillna("unknown"), grade_band=_grade_band(per["grade"]))
    notes = {"pandemic_in_period": [p for p in PANDEMIC if first <= p[0] <= last],
             "ses_cuts": [float(c) for c in cuts], "years_in_data": (lo, hi)}
    return SomaData(semesters=s, pupil_years=renumbered(per), schools=schools.reset_index(drop=True),
                    national_semesters=national, region=area, first_year=first,
                    last_year=last, notes=notes,
                    directory={"schools": data["schools"][["school_id", "municipality_id", "name"]],
                               "municipalities": data["municipalities"][["municipality_id", "name"]]})


def _per_pupil_year(s: pd.DataFrame) -> pd.DataFrame:
    """One row per (pupil, year, school) of ``s`` in the order of first appearance: the mean
    ``activities`` over its semesters and the number of ``semesters`` (a groupby of the three ids,
    hashed as one integer instead of the text of 2.6 million national rows)."""
    pupil, pupils = pd.factorize(s["pupil_id"])
    school, schools = pd.factorize(s["school_id"])
    year, years = pd.factorize(s["year"])
    key = (pupil.astype(np.int64) * len(years) + year) * max(len(schools), 1) + school
    if (pupil < 0).any() or (school < 0).any() or (year < 0).any():  # a missing id: the groupby drops the row
        key = np.where((pupil < 0) | (school < 0) | (year < 0), -1, key)
    g = pd.Series(s["activities"].to_numpy(), index=s.index).groupby(key, sort=False)
    mean, size = g.mean(), g.size()
    k = mean.index.to_numpy()
    k = k[k >= 0] if (k < 0).any() else k
    mean, size = mean.loc[k], size.loc[k]
    n_s = max(len(schools), 1)
    return pd.DataFrame({"pupil_id": pupils.take(k // n_s // len(years)),  # the ids' own dtype
                         "year": years.take((k // n_s) % len(years)),
                         "school_id": schools.take(k % n_s),
                         "activities": mean.to_numpy(), "semesters": size.to_numpy()})


def _grade_band(grade: pd.Series) -> pd.Series:
    out = pd.Series("unknown", index=grade.index, dtype=object)
    for code, lo, hi in GRADE_BANDS:
        out[grade.between(lo, hi)] = code
    return out
