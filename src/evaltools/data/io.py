"""Load extracts (CSV, Parquet, Excel), rename columns by a mapping, check them.

``load(path, table=None, mapping=None)`` reads one file; ``load_dataset(directory,
mapping=None)`` reads every table of a data set and checks the cross-table
rules. Both raise one :class:`~evaltools.data.errors.DataValidationError`
listing **every** problem (file, column, rows, hint), never a pandas traceback.

Column mapping
--------------
A real extract names columns its own way. A mapping says, per table, which
extract column holds which of our columns (``extract name: our name``), and
optionally which file holds a table. As a dict or a YAML file::

    files:                      # optional: table -> file name in the directory
      pupil_years: skolēnu_gadi.csv
    pupil_years:                # table -> {extract column: our column}
      personas_kods_hash: pupil_id
      mācību_gads: year
      klase: grade

A flat ``{extract: ours}`` dict applies to the one table in :func:`load` and to
every table in :func:`load_dataset`. Codes are recoded with ``values`` (after
renaming)::

    values:
      pupils:
        sex: {V: M, S: F}

Reading only what a study needs
-------------------------------
``load_dataset(directory, needs={"pupil_years": ["year", "status"], ...}, municipality="Valmieras
novads")`` reads only the tables named in ``needs``, of each only the columns named (``None``: all)
plus its key, and, with an area (``municipality`` or ``region``), only the rows of the area's
schools. Parquet files are read with the columns pruned and the row filter pushed down to
pyarrow (row groups and pages that cannot match are skipped); CSV files are read with ``usecols``.
The columns read are checked as :func:`load` checks them, and the cross-table rules as without
``needs``. Each study declares its ``NEEDS`` once, in its package. Tables a study uses when they
are there (e.g. pre-school scores) go in ``optional=`` (same shape): read the same way when the
data set has a file for them, otherwise absent from the :class:`Dataset` (``"t" in ds`` is False).

"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from evaltools.core.filecache import cache_folder, file_digest

from .checks import check_table
from .crosscheck import cross_table_violations
from .errors import DataFileError, DataValidationError, Violation
from .pseudonymise import mask_personal_codes
from .schemas import IDENTIFIER_COLUMNS, TABLES

READERS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".xlsx": "excel", ".xls": "excel"}
MappingLike = Mapping[str, Any] | str | Path | None
#: What a study reads: table -> our column names (None: every column).
Needs = Mapping[str, "Sequence[str] | None"]
#: Rows a study reads: table -> {our column: the values kept}.
Rows = Mapping[str, Mapping[str, Any]]


def read_mapping(mapping: MappingLike) -> dict[str, Any]:
    """A mapping as a dict (reads YAML when given a path); checks its shape."""
    if mapping is None:
        return {}
    if isinstance(mapping, (str, Path)):
        p = Path(mapping)
        if not p.is_file():
            raise DataFileError(f"Column-mapping file {p} does not exist; pass a dict or the path of a YAML file.")
        from evaltools.yamlfile import YamlFileError, read_yaml

        try:  # strict: no duplicate keys, aliases, non-UTF-8 text or oversized files
            mapping = read_yaml(p, where=f"Column-mapping file {p}").data or {}
        except YamlFileError as exc:
            raise DataFileError(str(exc)) from None
    if not isinstance(mapping, Mapping):
        raise DataFileError("A column mapping must be a dict (or YAML mapping) of 'extract column: our column'.")
    for k, v in mapping.items():
        if k == "values":
            for t, cols in (v or {}).items() if isinstance(v, Mapping) else [(None, None)]:
                if t not in TABLES or not isinstance(cols, Mapping) or not all(
                        isinstance(codes, Mapping) for codes in cols.values()):
                    raise DataFileError("Column mapping 'values' must look like {table: {column: {extract code: "
                                        "our code}}} with known tables; found " + repr(t) + ".")
        elif k == "files" or k in TABLES:
            if not isinstance(v, Mapping):
                raise DataFileError(f"Column mapping: the entry '{k}' must be a mapping, found {type(v).__name__}.")
        elif not isinstance(v, str):
            raise DataFileError(f"Column mapping: '{k}' must map to a column name (text) or be a table name "
                                f"({', '.join(sorted(TABLES))}).")
    return dict(mapping)


def _renames_for(mapping: dict[str, Any], table: str) -> dict[str, str]:
    flat = {k: v for k, v in mapping.items() if k not in ("files", "values") and k not in TABLES}
    return {**flat, **dict(mapping.get(table, {}))}


def _short(exc: object, width: int = 160) -> str:
    """The first line of an error, cut short, personal codes masked (a reader may quote a cell)."""
    text = mask_personal_codes(" ".join(str(exc).strip().splitlines()[:1]))
    return text if len(text) <= width else text[: width - 1] + "…"


def _csv_options(path: Path) -> dict[str, Any]:
    """How to read a CSV: a header with more ';' than ',' is a European export (decimal comma)."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    if header.count(";") > header.count(","):
        return {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"}
    return {"encoding": "utf-8-sig"}


def _read(path: Path) -> pd.DataFrame:
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataFileError(f"{path}: unknown file type '{path.suffix}'; use .parquet, .csv or .xlsx.")
    if not path.is_file():
        raise DataFileError(f"{path}: file not found.")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        if kind == "csv":
            return pd.read_csv(path, low_memory=False, **_csv_options(path))
        return pd.read_excel(path, sheet_name=0)
    except Exception as exc:  # any reader failure becomes one clear message
        raise DataFileError(f"{path}: cannot be read as {kind} ({type(exc).__name__}: {_short(exc)}).") from None


def _load_checked(path: Path, table: str, mapping: dict[str, Any]) -> tuple[pd.DataFrame, list[Violation]]:
    df = _read(path)
    renames = {k: v for k, v in _renames_for(mapping, table).items() if k in df.columns}
    bad_targets = sorted(set(renames.values()) - set(TABLES[table].column_names))
    if bad_targets:
        raise DataFileError(f"Column mapping for {table}: {bad_targets} are not columns of {table}; "
                            f"valid names are {TABLES[table].column_names}.")
    df = df.rename(columns=renames)
    for col, codes in dict(mapping.get("values", {}).get(table, {})).items():
        if col in df.columns:
            df[col] = df[col].map(lambda v, c=codes: c.get(v, v) if pd.notna(v) else v)
    return check_table(df, table, str(path))


def load(path: str | Path, table: str | None = None, mapping: MappingLike = None) -> pd.DataFrame:
    """Read one table from CSV, Parquet or Excel, rename by ``mapping`` and check it.

    ``table`` defaults to the file name without extension (``pupil_years.csv``).
    A CSV whose header has more semicolons than commas is read as a European
    export (``;`` separator, decimal comma). Returns the table with the codebook's
    column types; raises :class:`DataValidationError` listing every problem found.
    """
    path = Path(path)
    table = table or path.stem
    if table not in TABLES:
        raise DataFileError(f"{path}: unknown table '{table}'; pass table= one of {sorted(TABLES)}.")
    df, violations = _load_checked(path, table, read_mapping(mapping))
    if violations:
        raise DataValidationError(violations)
    return df


def validate(df: pd.DataFrame, table: str, name: str = "<DataFrame>") -> pd.DataFrame:
    """Check a table already in memory (types and value rules); ``name`` stands in for the file name.

    Returns the table with the codebook's column types; raises
    :class:`DataValidationError` listing every problem found.
    """
    if table not in TABLES:
        raise DataFileError(f"Unknown table '{table}'; pass one of {sorted(TABLES)}.")
    out, violations = check_table(df, table, name)
    if violations:
        raise DataValidationError(violations)
    return out


@dataclass
class Dataset:
    """The tables of one data set, its directory and (for synthetic data) the true effects."""

    path: Path
    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any] | None = None
    files: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in self.tables:
            raise KeyError(f"Table {table!r} is not in the data set at {self.path}; it has {sorted(self.tables)}.")
        return self.tables[table]

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def __contains__(self, table: str) -> bool:
        return table in self.tables

    def keys(self):
        return self.tables.keys()

    def __repr__(self) -> str:
        rows = "\n".join(f"  {k:<20} {len(v):>10,} rows" for k, v in self.tables.items())
        truth = "; true effects known" if self.truth else ""
        return f"Dataset({self.path}{truth})\n{rows}"

    def to_frame(self) -> pd.DataFrame:
        """One row per table: rows, columns and file."""
        return pd.DataFrame([{"table": k, "rows": len(v), "columns": v.shape[1], "file": self.files.get(k, "")}
                             for k, v in self.tables.items()]).set_index("table")


def _find_file(directory: Path, table: str, files: Mapping[str, str]) -> Path | None:
    if table in files:
        return directory / files[table]
    for ext in (".parquet", ".csv", ".xlsx", ".xls", ".pq"):
        p = directory / f"{table}{ext}"
        if p.is_file():
            return p
    return None


def _dataset(directory: Path, tables: dict[str, pd.DataFrame], files: dict[str, str]) -> Dataset:
    """The loaded tables with the generator's stored truth (``true_effects.json``) if present."""
    tpath = directory / "true_effects.json"
    truth = json.loads(tpath.read_text(encoding="utf-8")) if tpath.is_file() else None
    return Dataset(path=directory, tables=tables, truth=truth, files=files)


def load_dataset(directory: str | Path, mapping: MappingLike = None,
                 tables: list[str] | None = None, *, needs: Needs | None = None,
                 optional: Needs | None = None, rows: Rows | None = None,
                 municipality: str | None = None, region: str | None = None) -> Dataset:
    """Load and check every table of a data set, plus the cross-table rules.

    Looks for ``<table>.parquet|.csv|.xlsx`` (or the file named in the mapping's
    ``files``). ``municipalities``, ``schools``, ``pupils`` and ``pupil_years``
    are required; other tables are loaded when present. ``tables`` restricts
    loading to some tables (the required ones are always loaded).

    ``needs`` (table -> our column names, or ``None`` for every column) loads those tables
    only, each with only those columns and its key (see "Reading only what a study needs"
    above); a table named there must exist. ``optional`` (the same shape) names tables read
    the same way when the data set has a file for them (``<table>.parquet|.csv|.xlsx`` or the
    file the mapping's ``files`` names) and otherwise simply absent (``"t" in ds`` is False); a
    table may not be in both. ``municipality`` (a name or id) or ``region`` (a
    planning region; ``"all"`` or None: no filter) keeps only the area's rows: its
    municipalities and schools, the rows of its schools, and of tables without a school the
    rows of its pupils (``pupil_years``), teachers (``teacher_years``, and the teachers of its
    pupils' assessments) and support plans. ``rows`` (table -> {column: allowed values}) keeps
    only those rows of a table, e.g. ``{"assessments": {"test": ["ce9", "ce12"]}}`` (filter tables
    that no other table points to: a parent's filtered rows would read as unknown ids).
    Raises one :class:`DataValidationError` listing every problem.
    """
    if needs is not None or optional or rows or _area_given(municipality, region):
        return _load_needed(Path(directory), read_mapping(mapping), needs, tables, municipality, region,
                            rows or {}, optional)
    directory = Path(directory)
    if not directory.is_dir():
        raise DataFileError(f"Data directory {directory} does not exist (expected one file per table, "
                            "e.g. data/sample).")
    m = read_mapping(mapping)
    files_map = dict(m.get("files", {}))
    unknown = sorted(set(files_map) - set(TABLES))
    if unknown:
        raise DataFileError(f"Column mapping 'files': unknown tables {unknown}; known tables: {sorted(TABLES)}.")
    wanted = [t for t in TABLES if tables is None or t in tables or TABLES[t].required]
    if tables is not None:
        bad = sorted(set(tables) - set(TABLES))
        if bad:
            raise DataFileError(f"Unknown table(s) {bad}; known tables: {sorted(TABLES)}.")
    out: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    violations: list[Violation] = []
    for t in wanted:
        p = _find_file(directory, t, files_map)
        if p is None or not p.is_file():
            if TABLES[t].required or t in files_map:
                violations.append(Violation(str(directory), t, None, "missing_table",
                                            f"no file for the required table '{t}'",
                                            f"add {t}.parquet (or .csv/.xlsx) or name its file under 'files' "
                                            "in the column mapping."))
            continue
        try:
            df, v = _load_checked(p, t, m)
        except DataFileError as exc:
            violations.append(Violation(str(p), t, None, "unreadable", str(exc), "re-export the file."))
            continue
        out[t], files[t] = df, str(p)
        violations += v
    violations += cross_table_violations(out, files)
    if violations:
        raise DataValidationError(violations)
    return _dataset(directory, out, files)


# ------------------------------------------------------------------ only what a study needs

PUSHED = "evaltools_rows_filtered"  # DataFrame.attrs key: columns whose filter pyarrow applied
# Order of reading under an area filter: the tables whose rows give the area's ids come first.
_AREA_ORDER = ("municipalities", "schools", "pupil_years", "teacher_years", "support_plans")
# Tables without a school: (their id column, the table or tables whose area rows give the ids)
# (pupils: of the area's general and vocational schools; pre-school scores: of the area's pupils,
# wherever they went to pre-school)
_THROUGH = {"pupils": ("pupil_id", ("pupil_years", "vocational_years")), "assessments": ("pupil_id", "pupil_years"),
            "support_measures": ("plan_id", "support_plans"), "teachers": ("teacher_id", "teacher_years"),
            "plan_risk_types": ("plan_id", "support_plans"),
            "preschool_assessments": ("pupil_id", "pupil_years"),
            "teacher_development": ("teacher_id", "teacher_years")}


def _area_given(municipality: str | None, region: str | None) -> bool:
    return any(v is not None and str(v).strip().lower() not in ("", "all") for v in (municipality, region))


def _file_columns(path: Path, kind: str) -> list[str] | None:
    """The column names of a file without reading its rows (None for Excel: read it whole)."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if kind == "csv":
        return [str(c) for c in pd.read_csv(path, nrows=0, **_csv_options(path)).columns]
    return None


def _read_part(path: Path, table: str, mapping: dict[str, Any], wanted: set[str] | None,
               keep: dict[str, set[str]]) -> pd.DataFrame:
    """Read the file's columns that become ``wanted`` (our names; None: all) after the mapping,
    with the row filter ``keep`` (our column -> allowed values) pushed down where the file
    allows it; rename and recode as :func:`load` does. The filter is applied exactly later."""
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataFileError(f"{path}: unknown file type '{path.suffix}'; use .parquet, .csv or .xlsx.")
    if not path.is_file():
        raise DataFileError(f"{path}: file not found.")
    renames = _renames_for(mapping, table)
    recoded = set(dict(mapping.get("values", {}).get(table, {})))
    try:
        names = _file_columns(path, kind)
        cols = None if names is None or wanted is None else [c for c in names if renames.get(c, c) in wanted]
        if kind == "parquet":
            df = _read_parquet(path, cols, {c: keep[renames.get(c, c)] for c in (cols or names or [])
                                            if renames.get(c, c) in keep and renames.get(c, c) not in recoded})
        elif kind == "csv":
            df = pd.read_csv(path, low_memory=False, usecols=cols, **_csv_options(path))
        else:
            df = pd.read_excel(path, sheet_name=0)
    except DataFileError:
        raise
    except Exception as exc:  # any reader failure becomes one clear message
        raise DataFileError(f"{path}: cannot be read as {kind} ({type(exc).__name__}: {_short(exc)}).") from None
    present = {k: v for k, v in renames.items() if k in df.columns}
    bad_targets = sorted(set(present.values()) - set(TABLES[table].column_names))
    if bad_targets:
        raise DataFileError(f"Column mapping for {table}: {bad_targets} are not columns of {table}; "
                            f"valid names are {TABLES[table].column_names}.")
    pushed = [present.get(c, c) for c in df.attrs.pop(PUSHED, [])]
    if present:
        df = df.rename(columns=present)
    df.attrs[PUSHED] = pushed
    if wanted is not None and any(c not in wanted for c in df.columns):
        df = df[[c for c in df.columns if c in wanted]]
    for col, codes in dict(mapping.get("values", {}).get(table, {})).items():
        if col in df.columns:
            df[col] = df[col].map(lambda v, c=codes: c.get(v, v) if pd.notna(v) else v)
    return df


def _read_parquet(path: Path, cols: list[str] | None, keep: dict[str, set[str]]) -> pd.DataFrame:
    """``pd.read_parquet`` with the columns pruned and the ``in`` filters of text columns applied
    exactly in Arrow, reading only the row groups that hold a kept row (:func:`_row_groups`); rows
    come back in the file's order. A filter on a column of another type is left to the caller."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    filters: dict[str, list[str]] = {}
    if keep:
        schema = pq.read_schema(path)
        for col, values in keep.items():
            kind = schema.field(col).type
            if pa.types.is_string(kind) or pa.types.is_large_string(kind):
                filters[col] = sorted(str(v) for v in values)
    if not filters:
        return pd.read_parquet(path, columns=cols)
    pf = pq.ParquetFile(path)
    groups = _row_groups(path, pf, filters)
    if len(groups) == pf.metadata.num_row_groups > 1:  # nothing to skip: pyarrow's filtered scan is faster
        try:
            df = pd.read_parquet(path, columns=cols, filters=[(c, "in", v) for c, v in filters.items()])
            df.attrs[PUSHED] = list(filters)
            return df
        except Exception:
            pass  # read as below
    read = None if cols is None else cols + [c for c in filters if c not in cols]
    table = pf.read_row_groups(groups, columns=read, use_pandas_metadata=True)
    mask = None
    for col, values in filters.items():
        hit = pc.is_in(table.column(col), value_set=pa.array(values, type=table.schema.field(col).type))
        mask = hit if mask is None else pc.and_(mask, hit)
    table = table.filter(mask)
    if read is not None and read != cols:
        table = table.select(cols)
    df = table.to_pandas()
    df.attrs[PUSHED] = list(filters)  # rows already kept exactly
    return df


def _row_groups(path: Path, pf: Any, filters: dict[str, list[str]]) -> list[int]:
    """The row groups of a Parquet file that may hold a row whose every ``filters`` column (text)
    is among its sorted values: first by the groups' min/max statistics, then, of those left, by
    reading the filter columns alone (dictionary-encoded: cheap). In the file's order."""
    import bisect

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    md = pf.metadata
    names = [md.schema.column(i).path for i in range(md.num_columns)]
    groups = []
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        ok = rg.num_rows > 0
        for col, values in filters.items():
            st = rg.column(names.index(col)).statistics if col in names else None
            if ok and st is not None and st.has_min_max and isinstance(st.min, str) and isinstance(st.max, str):
                i = bisect.bisect_left(values, st.min)
                ok = i < len(values) and values[i] <= st.max
        if ok:
            groups.append(g)
    if len(groups) <= 1:
        return groups
    by_dict = pq.ParquetFile(path, read_dictionary=list(filters))
    hit = np.ones(sum(md.row_group(g).num_rows for g in groups), dtype=bool)
    for col, values in filters.items():
        column = by_dict.read_row_groups(groups, columns=[col]).column(col)
        parts = []
        for chunk in column.chunks:
            if pa.types.is_dictionary(chunk.type):
                known = pc.is_in(chunk.dictionary, value_set=pa.array(values, type=chunk.dictionary.type))
                known = np.append(known.to_numpy(zero_copy_only=False), False)  # the last: a missing cell
                codes = chunk.indices.fill_null(len(chunk.dictionary)).to_numpy(zero_copy_only=False)
                parts.append(known[codes])
            else:
                parts.append(pc.is_in(chunk, value_set=pa.array(values, type=chunk.type))
                             .to_numpy(zero_copy_only=False))
        hit &= np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
    starts = np.cumsum([0] + [md.row_group(g).num_rows for g in groups[:-1]])
    return [g for g, n in zip(groups, np.add.reduceat(hit, starts)) if n > 0]


def _needed_columns(table: str, columns: Sequence[str] | None, extra: set[str]) -> set[str] | None:
    """Our columns to read: those asked, the table's key and ``extra`` (filter and link columns)."""
    if columns is None:
        return None
    known = set(TABLES[table].column_names)
    unknown = sorted(set(columns) - known)
    if unknown:
        raise DataFileError(f"needs: {unknown} are not columns of {table}; its columns are "
                            f"{TABLES[table].column_names}.")
    return set(columns) | set(TABLES[table].key) | (extra & known)


def _resolve_area(municipalities: pd.DataFrame, municipality: str | None, region: str | None,
                  where: str) -> set[str]:
    """The municipality ids of the area, or a clear error naming the known values."""
    import difflib

    rows = municipalities
    if municipality is not None and str(municipality).strip().lower() not in ("", "all"):
        want = str(municipality).strip()
        hit = rows[(rows["name"].astype(str) == want) | (rows["municipality_id"].astype(str) == want)]
        if hit.empty:
            names = sorted(rows["name"].astype(str))
            close = difflib.get_close_matches(want, names, n=1, cutoff=0.6)
            guess = f" Did you mean '{close[0]}'?" if close else ""
            raise DataFileError(f"municipality '{_short(want, 60)}' is not in {where}.{guess} Its "
                                f"{len(names)} municipalities are named as in the column 'name' "
                                f"(e.g. '{names[0]}').")
        rows = hit
    if region is not None and str(region).strip().lower() not in ("", "all"):
        want = str(region).strip()
        regions = sorted(set(municipalities["region"].astype(str)))
        hit = rows[rows["region"].astype(str) == want]
        if want not in regions:
            raise DataFileError(f"region '{_short(want, 60)}' is not in {where}; its regions are "
                                f"{', '.join(regions)}.")
        rows = hit
    return set(rows["municipality_id"].astype(str))


def _load_needed(directory: Path, m: dict[str, Any], needs: Needs | None, tables: list[str] | None,
                 municipality: str | None, region: str | None, rows: Rows,
                 optional_needs: Needs | None = None) -> Dataset:
    """:func:`load_dataset` with ``needs``, ``optional`` and/or an area: see its docstring."""
    if not directory.is_dir():
        raise DataFileError(f"Data directory {directory} does not exist (expected one file per table, "
                            "e.g. data/sample).")
    files_map = dict(m.get("files", {}))
    unknown = sorted(set(files_map) - set(TABLES))
    if unknown:
        raise DataFileError(f"Column mapping 'files': unknown tables {unknown}; known tables: {sorted(TABLES)}.")
    explicit = needs is not None
    if needs is None:
        bad = sorted(set(tables or ()) - set(TABLES))
        needs = {t: None for t in TABLES if tables is None or t in tables or TABLES[t].required}
        optional = {t for t in needs if not TABLES[t].required and (tables is None or t not in tables)}
    else:
        bad = sorted(set(needs) - set(TABLES))
        optional = set()
    if optional_needs:
        both = sorted(set(optional_needs) & set(needs)) if explicit else []
        if both:
            raise DataFileError(f"{both} named in both needs and optional: name a table in one of them "
                                "(needs: it must exist; optional: read when the data set has it).")
        bad = bad or sorted(set(optional_needs) - set(TABLES))
        present = {t for t in optional_needs if t in TABLES
                   and (p := _find_file(directory, t, files_map)) is not None and p.is_file()}
        needs = {**needs, **{t: c for t, c in optional_needs.items() if t in present}}
        optional = (optional - set(optional_needs)) | (set(optional_needs) - present)
    bad = bad or sorted(set(rows) - set(TABLES))
    if bad:
        raise DataFileError(f"Unknown table(s) {bad}; known tables: {sorted(TABLES)}.")
    for t, cols in [*needs.items(), *(optional_needs or {}).items()]:
        _needed_columns(t, cols, set())  # an unknown column is the caller's mistake: say so first
    for t, cols in rows.items():
        unknown_cols = sorted(set(cols) - set(TABLES[t].column_names))
        if unknown_cols:
            raise DataFileError(f"rows: {unknown_cols} are not columns of {t}; its columns are "
                                f"{TABLES[t].column_names}.")
    area = _area_given(municipality, region)
    wanted_tables = list(needs)
    if area:  # the tables that carry the area's ids are read first (their needed columns only)
        last = tuple(_THROUGH)  # their ids come from the others
        wanted_tables = ([t for t in _AREA_ORDER if t in needs]
                         + [t for t in needs if t not in _AREA_ORDER and t not in last]
                         + [t for t in last if t in needs])
    out: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    violations: list[Violation] = []
    keys: list[str | None] = []  # of each table's checks (None: not cacheable)
    keep_ids: dict[str, set[str]] = {}  # our column -> the area's values

    def path_of(t: str) -> Path | None:
        p = _find_file(directory, t, files_map)
        return p if p is not None and p.is_file() else None

    def ids_from(t: str, col: str) -> set[str]:
        """The area's values of ``col`` in table ``t`` (read for that if not loaded)."""
        if t in out:
            return set(out[t][col].dropna().astype(str))
        p = path_of(t)
        if p is None:
            return set()
        df = _read_part(p, t, m, {col, "school_id"}, {"school_id": keep_ids["school_id"]})
        df = df[df["school_id"].astype(str).isin(keep_ids["school_id"])]
        return set(df[col].dropna().astype(str))

    if area:
        p = path_of("municipalities")
        if p is None:
            raise DataFileError(f"{directory}: no municipalities table, so the area cannot be found.")
        mun = _read_part(p, "municipalities", m, None, {})
        mun, v = check_table(mun, "municipalities", str(p))
        if v:
            raise DataValidationError(v)
        whole_municipalities = mun
        keep_ids["municipality_id"] = _resolve_area(mun, municipality, region, str(p))
        ps = path_of("schools")
        if ps is None:
            raise DataFileError(f"{directory}: no schools table, so the area's schools cannot be found.")
        sch = _read_part(ps, "schools", m, {"school_id", "municipality_id"}, {})
        keep_ids["school_id"] = set(sch.loc[sch["municipality_id"].astype(str).isin(
            keep_ids["municipality_id"]), "school_id"].dropna().astype(str))

    for t in wanted_tables:
        p = path_of(t)
        if p is None:
            if t not in optional:
                violations.append(Violation(str(directory), t, None, "missing_table",
                                            f"no file for the table '{t}'" if not TABLES[t].required
                                            else f"no file for the required table '{t}'",
                                            f"add {t}.parquet (or .csv/.xlsx) or name its file under 'files' "
                                            "in the column mapping."))
            continue
        keep: dict[str, set[str]] = {}
        columns = set(TABLES[t].column_names)
        if area:
            if t in ("municipalities", "schools"):
                keep = {"municipality_id": keep_ids["municipality_id"]}
            elif "school_id" in columns:
                keep = {"school_id": keep_ids["school_id"]}
            elif t in _THROUGH:
                col, sources = _THROUGH[t]
                ids = set().union(*(ids_from(source, col) for source in
                                    ((sources,) if isinstance(sources, str) else sources)))
                if t == "teachers" and "assessments" in out and "teacher_id" in out["assessments"]:
                    ids |= set(out["assessments"]["teacher_id"].dropna().astype(str))
                keep = {col: ids}
        keep.update({col: {str(v) for v in values} for col, values in dict(rows.get(t, {})).items()})
        try:
            links = {"pupil_id", "teacher_id", "plan_id"} if area else set()  # the area's cross-table rules
            wanted = _needed_columns(t, needs[t], set(keep) | links)
            df = _read_part(p, t, m, wanted, keep)
            pushed = set(df.attrs.pop(PUSHED, []))
        except DataFileError as exc:
            violations.append(Violation(str(p), t, None, "unreadable", str(exc), "re-export the file."))
            continue
        key = _check_key(p, t, m, wanted, keep)
        whole = _check_key(p, t, m, None, {}) if key is not None and (keep or wanted is not None) else None
        if key is not None and (_checked(key) or (whole is not None and _checked(whole))):
            v = []  # this file version passed before: these columns and rows, or all of them (then any part)
        else:
            raw = df
            df, v = check_table(df, t, str(p))
            if wanted is not None:
                v = [x for x in v if not (x.rule == "missing_column" and x.column not in wanted)]
            if key is not None and not v and _unchanged(raw, df, wanted):
                _remember(key)
        if wanted is not None:
            order = [c for c in TABLES[t].column_names if c in wanted and c in df.columns]
            if list(df.columns) != order:
                df = df[order]
        keys.append(key)
        if keep:
            mask = pd.Series(True, index=df.index)
            for col, values in keep.items():
                if col in df.columns and col not in pushed:  # text filters pyarrow applied are exact
                    mask &= df[col].astype("string").isin(values).fillna(False).to_numpy()
            if v:  # row numbers of the file, not of the area: check the file's rows once more
                whole = _read_part(p, t, m, wanted, {})
                _, v = check_table(whole, t, str(p))
                if wanted is not None:
                    v = [x for x in v if not (x.rule == "missing_column" and x.column not in wanted)]
            df = df[mask.to_numpy()].reset_index(drop=True)
        out[t], files[t] = df, str(p)
        violations += v
        if area and t == "municipalities":
            keep_ids["municipality_id"] = set(df["municipality_id"].astype(str))
    cross = None if violations or None in keys else _digest_text(json.dumps(["cross", sorted(keys)]))
    if cross is None or not _checked(cross):
        found = cross_table_violations(out, files, {"municipalities": whole_municipalities} if area else None)
        violations += found
        if cross is not None and not found:
            _remember(cross)
    if violations:
        raise DataValidationError(violations)
    return _dataset(directory, out, files)


# ------------------------------------------------------------------ checks done once per file version
#
# Checking 5 million rows costs seconds, and the same national files are read by every run.
# A table whose file (SHA-256 of its bytes), columns, row filter, column mapping and rules (the
# source of the checking modules) passed the checks unchanged (the checked table equals the
# table read) is not checked again: a marker file named by that key, in
# $EVALTOOLS_CHECK_CACHE (default ~/.cache/evaltools/checked; "0" turns it off). A file whose
# every column and row passed (``needs={table: None}``, no area or row filter) passes in any
# part: each rule is per row, and a part of a unique key is unique; so after one whole read of
# a national file, each municipality's read skips the checks. Problems are never cached: a
# file with a problem is checked, and reported, every time.

CHECK_CACHE_ENV = "EVALTOOLS_CHECK_CACHE"
_RULES: list[str] = []


def _digest_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cache_dir() -> Path | None:
    return cache_folder(CHECK_CACHE_ENV, "checked")


def _rules() -> str:
    """A fingerprint of the rules: the source of the modules that check and read."""
    if not _RULES:
        here = Path(__file__).parent
        text = "".join((here / f).read_text(encoding="utf-8") for f in ("checks.py", "crosscheck.py",
                                                                       "schemas.py", "io.py"))
        _RULES.append(_digest_text(text))
    return _RULES[0]


def _check_key(path: Path, table: str, mapping: dict[str, Any], wanted: set[str] | None,
               keep: dict[str, set[str]]) -> str | None:
    if _cache_dir() is None:
        return None
    try:
        parts = [_rules(), file_digest(path), table, sorted(wanted) if wanted is not None else None,
                 sorted((k, sorted(v)) for k, v in keep.items()),
                 sorted(_renames_for(mapping, table).items()),
                 json.dumps(dict(mapping.get("values", {})).get(table, {}), sort_keys=True, default=str)]
        return _digest_text(json.dumps(parts, default=str))
    except OSError:
        return None


def _checked(key: str) -> bool:
    folder = _cache_dir()
    return folder is not None and (folder / key).is_file()


def _remember(key: str) -> None:
    folder = _cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / key).touch()
    except OSError:
        pass  # a cache that cannot be written only costs time


def _same_memory(x: np.ndarray, y: np.ndarray) -> bool:
    """Are two arrays views of the very same memory (same start, shape and strides)?"""
    return (x.shape == y.shape and x.strides == y.strides and x.dtype == y.dtype
            and x.__array_interface__["data"][0] == y.__array_interface__["data"][0])


def _unchanged(raw: pd.DataFrame, checked: pd.DataFrame, wanted: set[str] | None) -> bool:
    """Did checking leave the table as read (same types and values; no column it added is kept)?"""
    try:
        added = set(checked.columns) - set(raw.columns)
        if wanted is None and added or wanted is not None and added & wanted:
            return False
        if len(raw) != len(checked):
            return False
        for c in raw.columns:
            a, b = raw[c], checked[c]
            if a.dtype != b.dtype:
                return False
            if isinstance(a.dtype, np.dtype) and _same_memory(a.to_numpy(), b.to_numpy()):
                continue  # the very column read, left as it was (checks replace a column they change)
            if not a.reset_index(drop=True).equals(b.reset_index(drop=True)):
                return False
        return True
    except Exception:
        return False


# ------------------------------------------------------------------ identifiers for the privacy gate

@dataclass
class IdentifierValues:
    """Every value of an identifier column in a set of input files, after the column mapping.

    ``values``: the ids as text (also in the loader's form: ``'123'`` for a cell read as
    ``123.0``); ``columns``: which columns of which file held them; ``unreadable``: data
    files that could not be read (with the reason), whose ids are therefore unknown.
    """

    values: set[str] = field(default_factory=set)
    columns: dict[str, list[str]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)


def _is_identifier_name(name: object) -> bool:
    return str(name).strip().lower() in IDENTIFIER_COLUMNS


def _identifier_sources(columns: list[Any], table: str | None, mappings: list[dict[str, Any]]) -> list[Any]:
    """The columns of a file that hold identifiers: named so, or renamed onto one by a mapping.

    ``table`` is the file's table (the mapping's ``files`` entry or the file name); for a
    file of no known table, the renames of every table count (safe side).
    """
    targets: dict[str, set[str]] = {}
    for m in mappings:
        for t in [table] if table else list(TABLES):
            for src, dst in _renames_for(m, t).items():
                targets.setdefault(str(src), set()).add(str(dst))
    return [c for c in columns
            if _is_identifier_name(c) or any(_is_identifier_name(d) for d in targets.get(str(c), ()))]


def _table_of(path: Path, mappings: list[dict[str, Any]]) -> str | None:
    for m in mappings:
        for t, name in dict(m.get("files", {}) or {}).items():
            if Path(str(name)).name == path.name:
                return t
    return path.stem if path.stem in TABLES else None


def _add_values(out: set[Any], values: Any) -> None:
    out.update(values)  # raw values; _as_ids turns them into text once, after every file


# An id made only of these characters is already in the form _as_ids gives it.
_PLAIN_ID = r"^[A-Za-z0-9_\-]+$"


def _add_arrow(raw: set[Any], plain: set[str], column: Any) -> None:
    """The distinct values of an Arrow column: plain text ids (:data:`_PLAIN_ID`) straight into
    ``plain`` without a Python loop, everything else (numbers, blanks, spaces, '12.0') into ``raw``
    for :func:`_as_ids`; ``_as_ids(raw) | plain`` is what ``_as_ids`` of all the values gives. A
    dictionary-encoded column is read through its dictionaries (a Parquet dictionary holds the values
    of its row group; were it to hold more, the gate would only look for more ids)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):  # read as the file stores it: the distinct values are the dictionaries
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        column = pa.chunked_array([chunk.dictionary for chunk in chunks], type=column.type.value_type)
    values = pc.unique(column)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raw.update(values.to_pylist())
        return
    values = values.drop_null()
    ok = pc.match_substring_regex(values, _PLAIN_ID)
    plain.update(pc.filter(values, ok).to_pylist())
    raw.update(pc.filter(values, pc.invert(ok)).to_pylist())


def _as_ids(raw: set[Any]) -> set[str]:
    """Ids as text: blanks collapsed; a whole float also as the loader reads it ('123.0' -> '123')."""
    out: set[str] = set()
    for v in raw:
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            continue
        text = v if isinstance(v, str) and v.strip() == v and "  " not in v else " ".join(str(v).split())
        if not text:
            continue
        out.add(text)
        if text.endswith(".0") and text[:-2].lstrip("-").isdigit():
            out.add(text[:-2])
    return out


def _csv_columns(path: Path, cols: list[Any], opts: dict[str, Any]) -> dict[Any, list[Any]]:
    """Distinct values of some CSV columns as text (pyarrow's reader: several times faster than pandas).

    Cells pandas reads as missing ('', 'NA', 'null', ...) are missing here too, as in the loader.
    """
    from pandas._libs.parsers import STR_NA_VALUES

    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pcsv

        names = [str(c) for c in cols]
        table = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter=opts.get("sep", ",")),
                              convert_options=pcsv.ConvertOptions(
                                  include_columns=names, column_types={c: pa.string() for c in names},
                                  null_values=sorted(STR_NA_VALUES), strings_can_be_null=True))
        return {c: pc.unique(table.column(c)).to_pylist() for c in names}
    except Exception:  # an odd file (e.g. ragged rows): the slower reader, as the loader would read it
        frame = pd.read_csv(path, usecols=cols, dtype=str, **opts)
        return {c: pd.unique(frame[c]) for c in frame.columns}


def _file_identifiers(path: Path, mappings: list[dict[str, Any]], out: IdentifierValues, plain: set[str]) -> None:
    """Add the identifier values of one file: raw ones to ``out.values``, text ids already in their final form
    (:func:`_add_arrow`) to ``plain``."""
    kind = READERS[path.suffix.lower()]
    table = _table_of(path, mappings)
    found: list[str] = []
    if kind == "parquet":
        import pyarrow.parquet as pq

        cols = _identifier_sources(pq.read_schema(path).names, table, mappings)
        if cols:
            # as dictionaries where the file has them: no id column is expanded to one string per row
            data = pq.read_table(path, columns=cols, read_dictionary=cols)
            for c in cols:
                _add_arrow(out.values, plain, data.column(c))
            found = [str(c) for c in cols]
    elif kind == "csv":
        opts = _csv_options(path)
        head = pd.read_csv(path, nrows=0, **opts).columns
        cols = _identifier_sources(list(head), table, mappings)
        if cols:
            for c, values in _csv_columns(path, cols, opts).items():
                _add_values(out.values, values)
            found = [str(c) for c in cols]
    else:  # Excel: every sheet, not only the first one the loader reads
        sheets = pd.read_excel(path, sheet_name=None, dtype=str)
        for sheet, frame in sheets.items():
            cols = _identifier_sources(list(frame.columns), table, mappings)
            for c in cols:
                _add_values(out.values, pd.unique(frame[c]))
            found += [f"{sheet}!{c}" for c in cols]
    if found:
        out.columns[str(path)] = found
    for m in mappings:  # ids recoded by the mapping's 'values' section are ids too
        for t, cols in dict(m.get("values", {}) or {}).items():
            if table in (None, t):
                for col, codes in dict(cols or {}).items():
                    if _is_identifier_name(col):
                        _add_values(out.values, [*codes.keys(), *codes.values()])


def read_identifiers(inputs: Any, mapping: MappingLike | list[MappingLike] = None) -> IdentifierValues:
    """Every identifier value in ``inputs`` (files or folders, searched recursively).

    Reads each Parquet, CSV or Excel file the loader could read (``READERS``), only its
    identifier columns (:data:`~evaltools.data.schemas.IDENTIFIER_COLUMNS`) as they are
    named *after* ``mapping`` (one mapping or a list), the way :func:`load_dataset` names
    them; a column that already carries an identifier's name counts too. Never raises for a
    bad data file: it is listed in ``unreadable``.
    """
    mappings = [read_mapping(m) for m in (mapping if isinstance(mapping, list) else [mapping]) if m is not None]
    if not mappings:
        mappings = [{}]
    out = IdentifierValues()
    plain: set[str] = set()  # ids read as text in their final form, kept apart from the raw values
    for base in inputs:
        base = Path(base)
        try:
            files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        except OSError as exc:
            out.unreadable[str(base)] = exc.strerror or type(exc).__name__
            continue
        for path in files:
            if path.suffix.lower() not in READERS:
                continue
            try:
                _file_identifiers(path, mappings, out, plain)
            except Exception as exc:  # a file the gate cannot read: say so, never crash the runner
                out.unreadable[str(path)] = f"{type(exc).__name__}: {_short(exc, 120)}"
    out.values = _as_ids(out.values) | plain
    return out
