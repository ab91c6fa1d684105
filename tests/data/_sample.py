"""Where the data-layer tests find the sample data set: ``data/sample``, or ``DATA_SAMPLE_DIR``.

The variable lets the generator's engineer test a freshly generated sample
(``evaltools data synth --out /tmp/x_sample``) before ``data/sample`` is regenerated.
"""
from __future__ import annotations

import os
from pathlib import Path

from tests import ROOT

SAMPLE: Path = Path(os.environ.get("DATA_SAMPLE_DIR") or ROOT / "data" / "sample")
