"""The test suite: one folder per package of src/evaltools (layout in tests/README.md).

``ROOT`` and ``FIXTURES`` are the two paths tests share, so that a test file does not
depend on how deep it sits (``from tests import ROOT, FIXTURES``).
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout
FIXTURES = ROOT / "tests" / "fixtures"


def wait_for(predicate, timeout: float = 60.0, step: float = 0.1):
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout`` s."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")
