"""Old name of :mod:`evaltools.studies.alumni_programme` (the study's package), kept for one
release: ``from evaltools.studies import alumni`` gives the same functions."""
from __future__ import annotations

from typing import Any

from evaltools.studies import alumni_programme as _study
from evaltools.studies.alumni_programme import *  # noqa: F403

__all__ = list(_study.__all__)


def __getattr__(name: str) -> Any:
    return getattr(_study, name)
