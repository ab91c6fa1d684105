"""Fixtures of the browser tests: Chromium (or a skip saying how to install it), a
browser for the session, and a server of the shipped reports (``published``, made once per
test run for the whole suite: tests/shipped.py and tests/conftest.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests import ROOT
from tests.browser import chromium

SCREENSHOTS = ROOT / "reports" / "_screenshots"  # build output (reports/ is git-ignored)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium.require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = chromium.launch(p, executable)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server(published) -> Iterator[chromium.Server]:
    yield from chromium.serve(published.reports)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """``reports/_screenshots/`` of the checkout (build output; the index builder and the
    privacy gate read only ``reports/<study>/<run>/manifest.json``, which it never holds)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS

