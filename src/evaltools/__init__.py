"""evaltools: a workbench that evaluates Latvian education programmes.

Sub-packages, each with one job:

- ``evaltools.data``: read, check, pseudonymise and synthesise the data;
- ``evaltools.estimate``: the designs (DiD family, matching and weighting, RD,
  survival, multilevel);
- ``evaltools.inference``: power, multiple testing, sensitivity, cost;
- ``evaltools.standards``: effect sizes and evidence ratings (WWC, EEF);
- ``evaltools.report``: what a notebook records and shows, disclosure control,
  two languages, rendering;
- ``evaltools.run``: parameters, papermill execution, the run directory, the index.
- ``evaltools.core``: below them all: the result protocol (``Estimate``), one error
  hierarchy (``EvaltoolsError``) and the input checks.

Each package imports only the layers below it (``docs/architecture.md``, "Layers";
enforced by ``tests/project/test_layers.py``).
"""

__version__ = "0.1.0"
