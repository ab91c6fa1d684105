"""Old name of :mod:`evaltools.studies.municipal_quality.publish`, kept for one release."""
from __future__ import annotations

from typing import Any

from evaltools.studies.municipal_quality import publish as _publish
from evaltools.studies.municipal_quality.publish import EXAM_COLUMNS, LINKED, NAMES, TREND_COLUMNS, Published, exam_means, publish

__all__ = ["Published", "publish", "exam_means", "NAMES", "EXAM_COLUMNS", "LINKED", "TREND_COLUMNS"]


def __getattr__(name: str) -> Any:
    return getattr(_publish, name)
