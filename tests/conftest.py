"""Fixtures shared by the whole suite."""
from __future__ import annotations

import pytest

from tests.shipped import Published, build, shared_folder


@pytest.fixture(scope="session")
def published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Published:
    """The shipped reports of one ``run-all`` (tests/shipped.py), made once per test run and
    shared by the xdist workers: read them, copy before changing anything."""
    everything = bool(request.config.getoption("--runslow"))
    return build(shared_folder(tmp_path_factory.getbasetemp(), everything), everything)
