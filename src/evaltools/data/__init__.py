"""evaltools.data: read, check, pseudonymise and synthesise the data.

- :func:`load` / :func:`load_dataset`: read CSV, Parquet or Excel extracts, rename
  columns by a mapping and check every rule at once (:class:`DataValidationError`);
  :func:`validate` checks a table already in memory;
- :mod:`evaltools.data.schemas`: the column specifications and pandera schemas;
- :func:`pseudonymise`: keyed hash (HMAC-SHA256) of personal codes;
- :mod:`evaltools.data.synth`: seeded synthetic data with known true effects.

The codebook is ``docs/codebook.md``.
"""
from evaltools._lazy import install

# Loaded on first use (see evaltools._lazy): `evaltools --help` need not import pandera.
install(__name__, {
    **dict.fromkeys(["DataFileError", "DataValidationError", "Violation"], "errors"),
    **dict.fromkeys(["Dataset", "load", "load_dataset", "read_mapping", "validate"], "io"),
    **dict.fromkeys(["PseudonymKeyError", "load_key", "pseudonymise"], "pseudonymise"),
    **dict.fromkeys(["TABLES", "schema"], "schemas"),
}, shadowed=("pseudonymise",))  # a module and a function (legacy): the name is the function
