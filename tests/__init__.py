"""The test suite: one folder per package of src/evaltools (layout in tests/README.md).

``ROOT`` and ``FIXTURES`` are the two paths tests share, so that a test file does not
depend on how deep it sits (``from tests import ROOT, FIXTURES``).
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout
FIXTURES = ROOT / "tests" / "fixtures"
