"""Old name of :mod:`evaltools.studies.dropout_prevention` (the study's package), kept for one
release: ``from evaltools.studies import dropout`` gives the same functions."""
from __future__ import annotations

from typing import Any

from evaltools.studies import dropout_prevention as _study
from evaltools.studies.dropout_prevention import *  # noqa: F403

__all__ = list(_study.__all__)


def __getattr__(name: str) -> Any:
    return getattr(_study, name)
