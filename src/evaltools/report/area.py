"""The area and period a run is about, in words: what the index and the report's title say.

A run's population is read from its parameters (the first of :data:`AREA_PARAMETERS` that is
set) and named as a person would, in Latvian wherever the name is a Latvian proper name:
``municipality: "Valmieras novads"`` -> "Valmieras novads" (in both languages),
``region: Latgale`` -> "Latgales plānošanas reģions" / "Latgale planning region",
``municipality: all`` -> "Latvija" / "Latvia". The period follows as school years
("2020/21–2023/24") or cohorts, and an own extract read through a column mapping says so.

Used by :mod:`evaltools.report.site` (the index) and :mod:`evaltools.report.render` (the
report's ``<title>`` and heading); it lives here because ``site`` imports ``render``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from evaltools.report import i18n

# Parameters that say which population a run is about (first found wins), in order.
AREA_PARAMETERS = ("municipality", "region", "county", "area", "school")
# (first, last, kind) parameter triples that say which years or cohorts a run covers.
PERIOD_PARAMETERS = (("first_year", "last_year", "years"), ("first_cohort", "last_cohort", "cohorts"))
# Values of an area parameter that mean the whole country.
WHOLE_COUNTRY = frozenset({"all", "", "latvia", "latvija"})

# Planning regions (evaltools.data.geography.PLANNING_REGIONS) as the law names them.
REGION_NAMES: dict[str, dict[str, str]] = {
    "Rīga": {"lv": "Rīgas plānošanas reģions", "en": "Riga planning region"},
    "Vidzeme": {"lv": "Vidzemes plānošanas reģions", "en": "Vidzeme planning region"},
    "Kurzeme": {"lv": "Kurzemes plānošanas reģions", "en": "Kurzeme planning region"},
    "Zemgale": {"lv": "Zemgales plānošanas reģions", "en": "Zemgale planning region"},
    "Latgale": {"lv": "Latgales plānošanas reģions", "en": "Latgale planning region"},
}


def _params(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    p = manifest.get("parameters")
    return p if isinstance(p, Mapping) else {}


def area_parameter(manifest: Mapping[str, Any]) -> tuple[str, Any] | None:
    """(name, value) of the run's area parameter (the first of :data:`AREA_PARAMETERS` that is
    set), or None when the run is not about an area."""
    p = _params(manifest)
    for name in AREA_PARAMETERS:
        if name in p and p[name] is not None:
            return name, p[name]
    return None


def is_whole_country(value: Any) -> bool:
    return str(value).strip().lower() in WHOLE_COUNTRY


def region_name(region: str, language: str) -> str:
    """A planning region's name: ``Latgale`` -> "Latgales plānošanas reģions" (lv) /
    "Latgale planning region" (en); a name we do not know is returned as given."""
    names = REGION_NAMES.get(str(region).strip())
    return names[language] if names and language in names else str(region)


def area_name(manifest: Mapping[str, Any], language: str) -> str:
    """The run's area alone: "Valmieras novads", "Rīga", "Latgales plānošanas reģions",
    "Latvija"; empty when the run is not about an area. A municipality's or school's name is a
    proper name and stays as the data spell it in both languages."""
    found = area_parameter(manifest)
    if found is None:
        return ""
    name, value = found
    if is_whole_country(value):
        return i18n.text("index.area.all", language)
    if name == "region":
        return region_name(str(value), language)
    return str(value)


def _is_year(y: Any) -> bool:
    return isinstance(y, int) and not isinstance(y, bool) and 1900 <= y <= 2999


def period_text(manifest: Mapping[str, Any], language: str) -> list[str]:
    """The run's period(s) in words: ``["2020/21–2023/24"]`` (school years) or
    ``["pievienošanās gadi 2018–2019"]`` (cohorts)."""
    p = _params(manifest)
    parts = []
    for first, last, kind in PERIOD_PARAMETERS:
        a, b = p.get(first), p.get(last)
        if a is None and b is None:
            continue
        if kind == "years":
            parts.append("–".join(f"{y}/{(int(y) + 1) % 100:02d}" if _is_year(y) else str(y)
                                  for y in (a, b) if y is not None))
        else:
            span = "–".join(str(y) for y in (a, b) if y is not None)
            parts.append(i18n.text("index.area.cohorts", language, cohorts=span))
    return parts


def area_text(manifest: Mapping[str, Any], language: str) -> str:
    """The area and period of a run in words: "Valmieras novads, 2016/17–2019/20",
    "Latvija", "Latgales plānošanas reģions, 2014/15–2023/24", "pievienošanās gadi 2018–2019";
    an own extract adds "savs datu izraksts (<mapping file>)"."""
    parts = [x for x in [area_name(manifest, language), *period_text(manifest, language)] if x]
    mapping = _params(manifest).get("mapping")
    if mapping:
        parts.append(i18n.text("index.area.own_data", language, mapping=Path(str(mapping)).name))
    return ", ".join(parts)


def titled(title: str, manifest: Mapping[str, Any], language: str) -> str:
    """A report's title with its area and period: "Izglītības kvalitāte pašvaldībās: Valmieras
    novads, 2020/21–2023/24"; after a question or a title that has a colon already, a dash: "Vai
    PUMPURS noturēja skolēnus skolā? — Latvija, 2014/15–2023/24". The title alone for a run that
    is not about an area."""
    if area_parameter(manifest) is None:
        return title
    where = area_text(manifest, language)
    if not (where and title):
        return title or where
    joint = " — " if title.rstrip().endswith(("?", "!", ".")) or ":" in title else ": "
    return f"{title.rstrip()}{joint}{where}"


def planning_region(municipality: str) -> str | None:
    """The planning region of a municipality by its name (:data:`evaltools.data.geography.MUNICIPALITIES`),
    or None for a name that is not one of the 43."""
    from evaltools.data.geography import MUNICIPALITIES

    for name, _kind, region, _population in MUNICIPALITIES:
        if name == municipality:
            return region
    return None
