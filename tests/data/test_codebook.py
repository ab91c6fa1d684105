"""The codebook is generated from the schemas and matches the generated tables."""
from __future__ import annotations


import pandas as pd

from evaltools.data.codebook import render
from evaltools.data.schemas import TABLES
from tests import ROOT
from tests.data._sample import SAMPLE



def test_committed_codebook_is_up_to_date():
    assert (ROOT / "docs" / "codebook.md").read_text(encoding="utf-8") == render(), (
        "docs/codebook.md is stale: run `python -m evaltools.data.codebook > docs/codebook.md`")


def test_every_shipped_column_is_documented_and_vice_versa():
    for name, spec in TABLES.items():
        cols = list(pd.read_parquet(SAMPLE / f"{name}.parquet").columns)
        assert cols == spec.column_names, name
        for c in spec.columns:
            assert c.meaning and c.source, (name, c.name)


def test_data_readme_links_the_codebook():
    assert "docs/codebook.md" in (ROOT / "data" / "README.md").read_text(encoding="utf-8")
