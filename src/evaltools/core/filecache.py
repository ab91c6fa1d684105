"""Where evaltools keeps what it computes once per input file, and the files' digests.

Two caches use this: the loader's record of files that passed the checks (``data.io``,
``$EVALTOOLS_CHECK_CACHE``) and the municipal study's national part
(``studies.municipal_quality.cache``, ``$EVALTOOLS_NATIONAL_CACHE``). Neither ever lives in a
run folder or anything published.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

_OFF = ("0", "off", "no", "false", "")
_DIGESTS: dict[tuple[str, int, int], str] = {}


def cache_folder(env: str, name: str) -> Path | None:
    """The folder ``$env`` names; None when it says off (``0``, ``off``, ``no``, ``false`` or empty);
    unset: ``$XDG_CACHE_HOME/evaltools/<name>`` (``~/.cache/evaltools/<name>``)."""
    value = os.environ.get(env)
    if value is not None and value.strip().lower() in _OFF:
        return None
    if value:
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evaltools" / name


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read once per process while its size and modification time stay."""
    st = path.stat()
    memo = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[memo] = h.hexdigest()
    return _DIGESTS[memo]
