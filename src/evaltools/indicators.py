"""Old name of :mod:`evaltools.studies.municipal_quality.indicators` (the municipal study's
indicators moved into its package), kept for one release."""
from __future__ import annotations

from typing import Any

from evaltools.studies.municipal_quality import indicators as _indicators
from evaltools.studies.municipal_quality.indicators import *  # noqa: F403


def __getattr__(name: str) -> Any:
    return getattr(_indicators, name)
