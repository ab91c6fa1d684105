"""read_identifiers' Arrow path gives exactly the ids of the one-value-at-a-time reading (``_as_ids``)."""
from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.parquet as pq

from evaltools.data import io


def _reference(columns: list) -> set[str]:
    raw: set = set()
    for column in columns:
        raw.update(column.to_pylist())
    return io._as_ids(raw)


def _arrow(columns: list) -> set[str]:
    raw: set = set()
    plain: set[str] = set()
    for column in columns:
        io._add_arrow(raw, plain, column)
    return io._as_ids(raw) | plain


def _hostile(n: int, seed: int) -> list:
    rng = random.Random(seed)
    alphabet = "aZ09_-. \t\n\u00a0\x1c.ēš"
    values = [None if rng.random() < 0.1 else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
              for _ in range(n)]
    return values + ["12.0", "-3.0", "P0001", "P0001 ", "  x", "x  y", "", "a.0", "1.00", "0"]


def test_arrow_path_equals_reference_on_hostile_text():
    values = _hostile(50_000, 1)
    columns = [pa.array(values), pa.array(values, type=pa.large_string()), pa.array(values).dictionary_encode(),
               pa.array([1.0, 2.5, None, float("nan"), 7.0]), pa.array([3, 4, None]),
               pa.chunked_array([pa.array(values[:100]).dictionary_encode(), pa.array(values[100:]).dictionary_encode()])]
    expected = _reference([c if isinstance(c, pa.ChunkedArray) else c for c in columns])
    assert _arrow(columns) == expected
    assert "12" in expected and "12.0" in expected and "x y" in expected and "" not in expected


def test_read_identifiers_parquet_with_and_without_dictionary(tmp_path):
    values = _hostile(5_000, 2) + [f"P{i:06d}" for i in range(3_000)]
    table = pa.table({"pupil_id": values, "other": list(range(len(values)))})
    pq.write_table(table, tmp_path / "pupils.parquet", row_group_size=1_000)  # dictionary-encoded pages
    pq.write_table(table, tmp_path / "plain.parquet", use_dictionary=False)
    got = io.read_identifiers([tmp_path])
    assert got.values == _reference([pa.array(values)])
    assert sorted(got.columns) == sorted(str(tmp_path / n) for n in ("plain.parquet", "pupils.parquet"))
