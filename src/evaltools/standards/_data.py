"""Load the transcribed reference tables shipped in ``standards/data`` (with sources)."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd


@lru_cache(maxsize=None)
def load(name: str) -> pd.DataFrame:
    """Read ``data/<name>`` (CSV with ``#`` comment lines holding the source)."""
    with resources.files("evaltools.standards").joinpath("data", name).open("r", encoding="utf-8") as f:
        return pd.read_csv(f, comment="#")


def source_note(name: str) -> str:
    """The comment header of ``data/<name>``: where the table comes from."""
    text = resources.files("evaltools.standards").joinpath("data", name).read_text(encoding="utf-8")
    return "\n".join(line[2:] for line in text.splitlines() if line.startswith("#"))
