"""How a table is laid out in its Parquet file, so that one area's rows are read fast.

The loader reads one municipality or region by skipping the row groups that hold none of the
area's rows (:func:`evaltools.data.io.load_dataset`). That only pays when the area's rows sit
together. :func:`write_parquet` writes a table

- sorted by area: the municipality of the row's school (the order of ``schools``), then the
  school, then the table's key (:data:`~evaltools.data.schemas.TABLES`). A table without a school
  (``pupils``, ``assessments``, pre-school scores, support measures, ``teachers``) takes the school
  of its pupil's, plan's or teacher's first year (``pupil_years``, ``support_plans``,
  ``teacher_years`` from ``tables=``), so a pupil's scores lie beside their school's pupil-years;
  rows of nobody known come last, by key;
- in row groups of :data:`ROW_GROUP_ROWS` rows, with min/max statistics and dictionary
  encoding, zstd-compressed;
- byte for byte the same for the same table (no timestamps; sorting is stable and total).

Sorting does not change any value, only the order of rows; :func:`arrange` returns the order
without writing.
"""
from __future__ import annotations

import weakref
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .schemas import TABLES

#: Rows per row group: one municipality spans one to a few groups at national scale (a group is
#: the unit the loader skips), few enough groups that their statistics cost nothing to scan.
ROW_GROUP_ROWS = 65_536

# Tables without a school: the column naming whose school they follow, and where that is found.
_HOME_OF = {"pupil_id": ("pupil_years", "year"), "plan_id": ("support_plans", "year"),
            "teacher_id": ("teacher_years", "year")}


def _codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Sort codes of a column: equal values equal codes, order of the values; missing last."""
    codes, _ = pd.factorize(pd.Series(values), sort=True, use_na_sentinel=True)
    return np.where(codes < 0, np.iinfo(np.int64).max, codes).astype(np.int64)


def _school_rank(tables: Mapping[str, pd.DataFrame] | None) -> pd.Series | None:
    """Rank of each school id: by municipality id, then school id (None without ``schools``)."""
    schools = (tables or {}).get("schools")
    if schools is None or not {"school_id", "municipality_id"} <= set(schools.columns):
        return None
    s = schools[["municipality_id", "school_id"]].dropna(subset=["school_id"]).astype(str)
    s = s.drop_duplicates("school_id").sort_values(["municipality_id", "school_id"], kind="stable")
    return pd.Series(np.arange(len(s), dtype=np.int64), index=pd.Index(s["school_id"]))


_HOMES: dict[tuple[int, str], tuple[weakref.ref, pd.Series]] = {}


def _home_school(tables: Mapping[str, pd.DataFrame] | None, id_col: str) -> pd.Series | None:
    """Each pupil's (plan's, teacher's) school in their first year: id -> school id.

    Kept while the source table lives: writing a data set asks for the pupils' schools three times.
    """
    source, year = _HOME_OF[id_col]
    t = (tables or {}).get(source)
    if t is None or not {id_col, "school_id", year} <= set(t.columns):
        return None
    memo = _HOMES.get((id(t), id_col))
    if memo is not None and memo[0]() is t:
        return memo[1]
    home = _first_school(t, id_col, year)
    for k in [k for k, (ref, _) in _HOMES.items() if ref() is None]:
        del _HOMES[k]
    _HOMES[(id(t), id_col)] = (weakref.ref(t), home)
    return home


def _first_school(t: pd.DataFrame, id_col: str, year: str) -> pd.Series:
    """id -> the school of its earliest year (of two schools in that year, the first by id)."""
    d = t[[id_col, year, "school_id"]].dropna(subset=[id_col, "school_id"])
    order = np.lexsort((_codes(d["school_id"].astype(str)), _codes(d[year]), _codes(d[id_col].astype(str))))
    first = d.iloc[order].drop_duplicates(id_col, keep="first")
    return pd.Series(first["school_id"].astype(str).to_numpy(), index=pd.Index(first[id_col].astype(str)))


def sort_order(df: pd.DataFrame, table: str, tables: Mapping[str, pd.DataFrame] | None = None) -> np.ndarray:
    """The row positions of ``df`` in the written order (see the module docstring)."""
    if table not in TABLES:
        raise ValueError(f"Unknown table {table!r}; known tables: {sorted(TABLES)}.")
    key = [c for c in TABLES[table].key if c in df.columns]
    school: pd.Series | None = None
    if table == "schools" and "municipality_id" in df.columns:
        levels = [_codes(df["municipality_id"].astype("string"))]
    else:
        levels = []
        if "school_id" in df.columns and table != "schools":
            school = df["school_id"].astype("string")
        else:
            id_col = next((c for c in ("pupil_id", "plan_id", "teacher_id") if c in key), None)
            home = _home_school(tables, id_col) if id_col else None
            if home is not None:
                school = df[id_col].astype(str).map(home).astype("string")
        if school is not None:
            rank = _school_rank(tables)
            if rank is not None:
                levels.append(_codes(school.map(rank).astype("Float64")))
            levels.append(_codes(school))
    levels += [_codes(df[c] if df[c].dtype.kind in "biuf" else df[c].astype("string")) for c in key]
    levels.append(np.arange(len(df)))  # ties (a duplicate key) keep the order they came in
    return np.lexsort(tuple(reversed(levels)))


def arrange(df: pd.DataFrame, table: str, tables: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """``df`` in the written order, with a fresh 0..n-1 index."""
    order = sort_order(df, table, tables)
    if np.array_equal(order, np.arange(len(df))):
        return df.reset_index(drop=True)
    return df.iloc[order].reset_index(drop=True)


def write_parquet(df: pd.DataFrame, path: str | Path, table: str,
                  tables: Mapping[str, pd.DataFrame] | None = None, *,
                  row_group_rows: int = ROW_GROUP_ROWS) -> Path:
    """Write ``df`` (one table of the codebook) to ``path`` in the area layout; returns the path.

    ``tables`` (the data set's tables by name) gives the order of schools (``schools``) and the
    first school of each pupil, plan and teacher; without it, rows are sorted by school and key.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if row_group_rows < 1:
        raise ValueError(f"row_group_rows must be at least 1, got {row_group_rows}.")
    path = Path(path)
    data = pa.Table.from_pandas(arrange(df, table, tables), preserve_index=False)
    pq.write_table(data, path, row_group_size=row_group_rows, compression="zstd", write_statistics=True,
                   use_dictionary=True)
    return path


def write_tables(tables: Mapping[str, pd.DataFrame], folder: str | Path, *,
                 row_group_rows: int = ROW_GROUP_ROWS) -> dict[str, Path]:
    """Write every table of a data set to ``folder/<table>.parquet`` in the area layout."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {name: write_parquet(df, folder / f"{name}.parquet", name, tables, row_group_rows=row_group_rows)
            for name, df in tables.items()}
