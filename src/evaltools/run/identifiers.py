"""The identifier values of a run's inputs, read once per process while the files are unchanged.

The privacy gate (:mod:`evaltools.report.privacy`) needs every identifier value of the inputs;
reading them from the national data costs about 4 CPU-s (about 1 million values). The runs of
``run-all`` on one worker share a data set, and the index that ``run-all`` rebuilds at the end
lists the same inputs: :func:`input_identifiers` reads them once for all of these. Kept in
memory only, never written anywhere; a changed file (size or modification time) is read again.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


_IDENTIFIERS: dict[tuple[Any, ...], Any] = {}  # the last inputs' identifier values, by their files' state


def _inputs_state(inputs: list[Any]) -> tuple[Any, ...]:
    """Every input file (folders walked) with its size and modification time: what the
    identifier values of :func:`input_identifiers` depend on."""
    state: list[Any] = []
    for item in inputs:
        if item is None:
            continue
        path = Path(item)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            try:
                st = f.stat()
            except OSError:
                state.append((str(f), None))
                continue
            state.append((str(f.resolve()), st.st_size, st.st_mtime_ns))
    return tuple(state)


def input_identifiers(inputs: list[Any]) -> Any:
    """:func:`evaltools.report.privacy.identifier_values` of a run's inputs, read once per process
    for the same files (same paths, sizes and modification times): the runs of ``run-all`` on one
    worker share a data set, and reading the identifiers of the national data costs ~4 s of CPU a
    run. Kept in memory only (never written anywhere); a changed file is read again."""
    from evaltools.report.privacy import identifier_values

    key = _inputs_state(inputs)
    found = _IDENTIFIERS.get(key)
    if found is None or getattr(found, "unreadable", None):
        found = identifier_values(inputs)
        _IDENTIFIERS.clear()  # one data set at a time: the memory of one set of identifiers
        if not getattr(found, "unreadable", None):
            _IDENTIFIERS[key] = found
    return found
