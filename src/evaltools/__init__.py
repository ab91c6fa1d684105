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
"""

__version__ = "0.1.0"
