"""Fixtures shared by the whole suite."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.shipped import Published, build, shared_folder


def pytest_configure(config: pytest.Config) -> None:
    """The municipal study's national cache (studies/municipal_quality/cache.py) goes to a folder of
    this test run, shared by its xdist workers, never to the user's ~/.cache."""
    if "EVALTOOLS_NATIONAL_CACHE" not in os.environ:
        run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
        os.environ["EVALTOOLS_NATIONAL_CACHE"] = str(Path(tempfile.gettempdir()) / f"evaltools-national-cache-{run}")


@pytest.fixture(scope="session")
def published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Published:
    """The shipped reports of one ``run-all`` (tests/shipped.py), made once per test run and
    shared by the xdist workers: read them, copy before changing anything."""
    everything = bool(request.config.getoption("--runslow"))
    return build(shared_folder(tmp_path_factory.getbasetemp(), everything), everything)
