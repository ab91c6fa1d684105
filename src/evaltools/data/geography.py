"""Latvia's 43 municipalities (since the 2021 administrative-territorial reform).

Seven state cities (*valstspilsētu pašvaldības*) and 36 counties (*novadi*),
each with its planning region. ``population`` is an approximate resident
population (rounded, early 2020s) used only as a weight to share pupils
between municipalities in the synthetic data; it is not a statistic to quote.

The region assignment follows the planning regions as we understand them after
the 2021 reform (assumption to verify against the Regional Development Law
annex before quoting).
"""
from __future__ import annotations

import pandas as pd

PLANNING_REGIONS: tuple[str, ...] = ("Rīga", "Vidzeme", "Kurzeme", "Zemgale", "Latgale")

# (name, kind, planning region, approximate population)
MUNICIPALITIES: tuple[tuple[str, str, str, int], ...] = (
    ("Rīga", "state_city", "Rīga", 605_000),
    ("Daugavpils", "state_city", "Latgale", 79_000),
    ("Liepāja", "state_city", "Kurzeme", 67_000),
    ("Jelgava", "state_city", "Zemgale", 55_000),
    ("Jūrmala", "state_city", "Rīga", 50_000),
    ("Ventspils", "state_city", "Kurzeme", 33_000),
    ("Rēzekne", "state_city", "Latgale", 27_000),
    ("Ādažu novads", "county", "Rīga", 13_000),
    ("Ķekavas novads", "county", "Rīga", 29_000),
    ("Mārupes novads", "county", "Rīga", 33_000),
    ("Olaines novads", "county", "Rīga", 19_000),
    ("Ropažu novads", "county", "Rīga", 30_000),
    ("Salaspils novads", "county", "Rīga", 23_000),
    ("Saulkrastu novads", "county", "Rīga", 6_500),
    ("Siguldas novads", "county", "Rīga", 30_000),
    ("Ogres novads", "county", "Rīga", 56_000),
    ("Tukuma novads", "county", "Rīga", 42_000),
    ("Limbažu novads", "county", "Rīga", 31_000),
    ("Alūksnes novads", "county", "Vidzeme", 14_000),
    ("Cēsu novads", "county", "Vidzeme", 41_000),
    ("Gulbenes novads", "county", "Vidzeme", 20_000),
    ("Madonas novads", "county", "Vidzeme", 32_000),
    ("Smiltenes novads", "county", "Vidzeme", 19_000),
    ("Valkas novads", "county", "Vidzeme", 8_500),
    ("Valmieras novads", "county", "Vidzeme", 51_000),
    ("Varakļānu novads", "county", "Vidzeme", 3_000),
    ("Dienvidkurzemes novads", "county", "Kurzeme", 34_000),
    ("Kuldīgas novads", "county", "Kurzeme", 31_000),
    ("Saldus novads", "county", "Kurzeme", 29_000),
    ("Talsu novads", "county", "Kurzeme", 38_000),
    ("Ventspils novads", "county", "Kurzeme", 11_000),
    ("Aizkraukles novads", "county", "Zemgale", 34_000),
    ("Bauskas novads", "county", "Zemgale", 42_000),
    ("Dobeles novads", "county", "Zemgale", 28_000),
    ("Jelgavas novads", "county", "Zemgale", 35_000),
    ("Jēkabpils novads", "county", "Zemgale", 44_000),
    ("Augšdaugavas novads", "county", "Latgale", 25_000),
    ("Balvu novads", "county", "Latgale", 20_000),
    ("Krāslavas novads", "county", "Latgale", 22_000),
    ("Līvānu novads", "county", "Latgale", 11_000),
    ("Ludzas novads", "county", "Latgale", 24_000),
    ("Preiļu novads", "county", "Latgale", 17_000),
    ("Rēzeknes novads", "county", "Latgale", 27_000),
)


def municipalities_frame() -> pd.DataFrame:
    """The 43 municipalities as a table with ids ``LV01`` .. ``LV43``.

    Columns: municipality_id, name, kind, region, population.
    """
    df = pd.DataFrame(MUNICIPALITIES, columns=["name", "kind", "region", "population"])
    df.insert(0, "municipality_id", [f"LV{i:02d}" for i in range(1, len(df) + 1)])
    return df


def slug(name: str) -> str:
    """An ASCII file name for a municipality: ``"Cēsu novads"`` -> ``"cesu-novads"``
    (Latvian letters without their diacritics, spaces as ``-``)."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return "-".join(plain.lower().split())


#: Tile-map position (row, column) of each municipality, arranged roughly as on a map of Latvia
#: (north at the top, Kurzeme on the left, Latgale on the right). Not a boundary file: one equal
#: square per municipality, so that a small county weighs as much as Rīga.
TILE_GRID: dict[str, tuple[int, int]] = {
    "Valkas novads": (0, 6), "Alūksnes novads": (0, 8),
    "Limbažu novads": (1, 4), "Valmieras novads": (1, 5), "Smiltenes novads": (1, 6), "Gulbenes novads": (1, 7),
    "Balvu novads": (1, 8),
    "Ventspils novads": (2, 0), "Ventspils": (2, 1), "Talsu novads": (2, 2), "Saulkrastu novads": (2, 4),
    "Siguldas novads": (2, 5), "Cēsu novads": (2, 6), "Madonas novads": (2, 7), "Varakļānu novads": (2, 8),
    "Rēzeknes novads": (2, 9),
    "Kuldīgas novads": (3, 1), "Tukuma novads": (3, 2), "Jūrmala": (3, 3), "Ādažu novads": (3, 4),
    "Ropažu novads": (3, 5), "Ogres novads": (3, 6), "Līvānu novads": (3, 7), "Rēzekne": (3, 8),
    "Ludzas novads": (3, 9),
    "Liepāja": (4, 0), "Saldus novads": (4, 1), "Mārupes novads": (4, 3), "Rīga": (4, 4),
    "Salaspils novads": (4, 5), "Aizkraukles novads": (4, 6), "Jēkabpils novads": (4, 7),
    "Preiļu novads": (4, 8), "Krāslavas novads": (4, 9),
    "Dienvidkurzemes novads": (5, 0), "Dobeles novads": (5, 2), "Olaines novads": (5, 3),
    "Ķekavas novads": (5, 4), "Bauskas novads": (5, 5), "Daugavpils": (5, 8), "Augšdaugavas novads": (5, 9),
    "Jelgava": (6, 3), "Jelgavas novads": (6, 2),
}
