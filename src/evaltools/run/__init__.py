"""evaltools.run: parameters, papermill execution, the run folder.

Importing this package makes the runner start faster: jsonschema (imported by
nbformat, under papermill and nbconvert) builds an IRI grammar at import when
the optional rfc3987-syntax package is installed (JupyterLab brings it), 1.3-1.6 s
measured here, for a format check that notebook validation never uses. Marking
that optional module as absent before jsonschema is first imported makes
jsonschema skip the check; nothing else changes. Measured in
``benchmarks/bench_runner.py``.
"""
import sys

if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
