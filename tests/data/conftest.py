"""Fixtures of the data-layer tests: the shipped sample's tables and its stored truths."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from tests import ROOT

from tests.data._sample import SAMPLE  # noqa: E402


@pytest.fixture(scope="module")
def tabs() -> dict[str, pd.DataFrame]:
    """Every table of data/sample, read as stored."""
    return {p.stem: pd.read_parquet(p) for p in SAMPLE.glob("*.parquet")}


@pytest.fixture(scope="module")
def truth() -> dict[str, dict]:
    """The stored true effects of data/sample, by name."""
    t = json.loads((SAMPLE / "true_effects.json").read_text(encoding="utf-8"))
    return {e["name"]: e for e in t["effects"]}
