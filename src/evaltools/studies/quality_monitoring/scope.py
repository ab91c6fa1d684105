"""What one yearly monitoring report covers: Latvia, one municipality or one school, a report
year and the years of its trends.

The municipality is checked and named by the municipal study's :func:`select_area` (the same
parameter type, :data:`evaltools.params.Municipality`); a school is looked up by its name in
the ``schools`` table, with the closest names offered when it is not there.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from evaltools.core.errors import InputError
from evaltools.data.io import Dataset
from evaltools.studies.municipal_quality.indicators import Area, select_area

#: School years shown in the trends (the report year and the years before it).
TREND_YEARS: int = 6
ALL = {"all", "latvija", "latvia", ""}


class UnknownSchoolError(InputError, ValueError):
    """The requested school is not in the data set (or not in the requested municipality)."""


@dataclass(frozen=True)
class Scope:
    """The report's filter and years. ``area`` is the municipal study's :class:`Area` over the
    trend years (municipality or Latvia); ``school_id``/``school`` narrow it to one school."""

    area: Area
    year: int
    school_id: str | None = None
    school: str | None = None

    @property
    def level(self) -> str:
        """``"latvia"``, ``"municipality"`` or ``"school"``."""
        if self.school_id is not None:
            return "school"
        return "latvia" if self.area.municipality_id is None else "municipality"

    @property
    def unit(self) -> str:
        """What the report compares: municipalities in a national report, else schools."""
        return "municipality" if self.area.municipality_id is None else "school"

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.area.first_year, self.area.last_year + 1))

    @property
    def this_year(self) -> Area:
        """The municipal :class:`Area` of the report year alone."""
        return replace(self.area, first_year=self.year, last_year=self.year)

    @property
    def school_year(self) -> str:
        return f"{self.year}/{(self.year + 1) % 100:02d}"


def select_scope(data: Dataset, municipality: str, school: str, year: int, trend_years: int = TREND_YEARS) -> Scope:
    """Check the filter against the data: ``municipality`` (``"all"``, a name or an id) and
    ``school`` (``"all"`` or a school's name; its municipality is taken when ``municipality`` is
    ``"all"``); ``year`` must be a school year of the data."""
    years = data["pupil_years"]["year"]
    first = max(int(years.min()), year - trend_years + 1)
    if not int(years.min()) <= year <= int(years.max()):
        raise InputError(f"Parameter year={year}: the data cover the school years {int(years.min())}-"
                         f"{int(years.max())}; choose one of them.")
    area = select_area(data, municipality, first, year)
    if school.strip().casefold() in ALL:
        return Scope(area, year)
    schools = data["schools"]
    hit = schools[schools["name"].str.casefold() == school.strip().casefold()]
    if hit.empty:
        close = difflib.get_close_matches(school, schools["name"].tolist(), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownSchoolError(f"Parameter school={school!r}: no school of that name in the data (schools.name)."
                                 f"{hint} Use 'all' or a name as the schools table spells it.")
    row = hit.iloc[0]
    if area.municipality_id is None:
        muni = data["municipalities"].set_index("municipality_id")
        area = select_area(data, str(muni.at[row["municipality_id"], "name"]), first, year)
    elif row["municipality_id"] != area.municipality_id:
        raise UnknownSchoolError(f"Parameter school={school!r} is not a school of {area.name!r}: set municipality "
                                 "to 'all' (the school's own is then used) or to the school's municipality.")
    return Scope(area, year, str(row["school_id"]), str(row["name"]))
