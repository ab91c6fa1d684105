"""Linked tables in groups: the tables no equation connects can be protected apart.

:func:`evaltools.report.disclosure.protect_linked` protects tables together so that a count
hidden in one cannot be worked back from another through the equations (``Link``) between
them. Tables that no chain of links connects cannot undo each other's suppression, and
protecting them one group at a time is much faster than one large system (the search for
complementary suppressions grows with the system). :func:`components` finds the groups
(union-find over the links' tables).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def components(specs: Mapping[str, Any], links: list[Any]) -> list[tuple[list[str], list[Any]]]:
    """The groups of ``specs``' table names that ``links`` connect, each with its links:
    ``[(names, links), ...]`` in the order of the tables' first appearance in ``specs``. A link's
    cells are ``(table, row, column)``: ``link.total`` and ``link.parts``."""
    parent = {n: n for n in specs}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for link in links:
        cells = (link.total, *link.parts)
        for cell in cells[1:]:
            parent[find(cell[0])] = find(cells[0][0])
    groups: dict[str, list[str]] = {}
    for n in specs:
        groups.setdefault(find(n), []).append(n)
    return [(names, [lk for lk in links if find(lk.total[0]) == root]) for root, names in groups.items()]
