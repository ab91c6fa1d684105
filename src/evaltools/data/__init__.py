"""evaltools.data: read, check, pseudonymise and synthesise the data.

- :func:`load` / :func:`load_dataset`: read CSV, Parquet or Excel extracts, rename
  columns by a mapping and check every rule at once (:class:`DataValidationError`);
  :func:`validate` checks a table already in memory;
- :mod:`evaltools.data.schemas`: the column specifications and pandera schemas;
- :func:`pseudonymise`: keyed hash (HMAC-SHA256) of personal codes;
- :mod:`evaltools.data.synth`: seeded synthetic data with known true effects.

The codebook is ``docs/codebook.md``.
"""
from .errors import DataFileError, DataValidationError, Violation
from .io import Dataset, load, load_dataset, read_mapping, validate
from .pseudonymise import PseudonymKeyError, load_key, pseudonymise
from .schemas import TABLES, schema

__all__ = ["DataFileError", "DataValidationError", "Dataset", "TABLES", "Violation", "load",
           "load_dataset", "read_mapping", "schema", "validate", "pseudonymise", "load_key", "PseudonymKeyError"]
