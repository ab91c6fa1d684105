"""A file cache of what every municipality's report computes from all of Latvia (:mod:`.national`).

The key is the SHA-256 of every file of the data folder and of the column mapping, the study
parameters that change the national numbers (the period and the pass mark) and a fingerprint of
the code that computes them (the source of this package, of the shared frames, of the loader and
of the estimators it calls, :data:`_CODE`): new data, other parameters or changed code never read
an old entry.

The cache lives outside every run folder and everything published: in
``$EVALTOOLS_NATIONAL_CACHE`` (default ``$XDG_CACHE_HOME/evaltools/municipal_quality``, i.e.
``~/.cache/...``; ``0`` turns it off). An entry is written to a temporary file and renamed into
place, so a reader never sees half an entry; :func:`locked` makes a second run wait while the
first computes the entry (two Dask workers starting together compute it once). Entries hold
aggregates by planning region, Latvia and school (no pupil or teacher identifier); they are
Python pickles: the folder must be writable by its user only (it is created so).
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evaltools.core.filecache import cache_folder, file_digest

CACHE_ENV = "EVALTOOLS_NATIONAL_CACHE"
FORMAT = 1  # raise when what an entry holds changes
_PACKAGE = Path(__file__).resolve().parent
_EVALTOOLS = _PACKAGE.parent.parent
#: The code the national part is computed with: this study, the shared frames, the loader and its
#: checks, the estimators it calls (not the data generator or other studies, edited independently).
_CODE = (_PACKAGE, _EVALTOOLS / "studies" / "shared", *(_EVALTOOLS / "data" / f for f in (
    "io.py", "schemas.py", "checks.py", "crosscheck.py", "codebook.py")),
    _EVALTOOLS / "estimate" / "bounded_intervals.py", _EVALTOOLS / "estimate" / "multilevel_models")


def cache_dir() -> Path | None:
    """The cache folder, or None when ``$EVALTOOLS_NATIONAL_CACHE`` turns the cache off."""
    return cache_folder(CACHE_ENV, "municipal_quality")


def _code() -> str:
    files: list[Path] = []
    for where in _CODE:
        files += [where] if where.is_file() else sorted(where.rglob("*.py")) + sorted(where.rglob("*.yaml"))
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def key(data_dir: str | Path, mapping: str | Path | None, params: Mapping[str, Any]) -> str | None:
    """The entry's name for this data folder, column mapping and ``params``; None when the cache
    is off or a file cannot be read (the run then computes everything itself)."""
    if cache_dir() is None:
        return None
    try:
        folder = Path(data_dir)
        files = {p.name: file_digest(p) for p in sorted(folder.iterdir()) if p.is_file()}
        named: dict[str, str] = {}
        if mapping is not None and str(mapping) not in ("", "None"):
            named["mapping"] = file_digest(Path(mapping))
            from evaltools.data.io import read_mapping

            for table, name in dict(read_mapping(mapping).get("files", {})).items():  # files outside the folder
                path = (folder / str(name))
                if path.is_file():
                    named[f"files:{table}"] = file_digest(path)
        parts = [FORMAT, _code(), files, named, sorted((k, repr(v)) for k, v in params.items())]
    except (OSError, ValueError):
        return None
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def _path(name: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / f"{name}.pickle"


def read(name: str | None) -> Any | None:
    """The entry ``name``, or None when there is none (or it cannot be read)."""
    path = _path(name) if name else None
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301  our own entry, in the user's own folder
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None


def write(name: str | None, value: Any) -> bool:
    """Store ``value`` as entry ``name`` (a temporary file renamed into place: atomic); False when
    the folder cannot be written (a cache that cannot be written only costs time)."""
    path = _path(name) if name else None
    if path is None:
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        return False
    return True


@contextmanager
def locked(name: str | None) -> Iterator[None]:
    """Hold the entry's lock (``fcntl.flock`` on ``<name>.lock``): one process computes an entry
    while the others wait, then read it. Without a cache folder or ``fcntl``, no lock."""
    path = _path(name) if name else None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux
        fcntl = None  # type: ignore[assignment]
    if path is None or fcntl is None:
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fh = open(path.with_suffix(".lock"), "a+b")  # noqa: SIM115  closed below
    except OSError:
        yield
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
