"""The page a failed run publishes (evaltools.report.render's failure page) in headless
Chromium: made by a real run of the runner fixtures' deliberately failing notebook."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from tests import FIXTURES
from tests.browser import chromium


@pytest.fixture(scope="module")
def failure_page(browser, tmp_path_factory) -> Iterator[tuple[chromium.Server, Path]]:
    from evaltools.cli import main

    root = tmp_path_factory.mktemp("failing_project")
    shutil.copytree(FIXTURES / "project", root, dirs_exist_ok=True)
    assert main(["--root", str(root), "run", "failing", "-p", "params/failing.yaml"]) != 0
    (page,) = (root / "reports").glob("failing/*/report.html")
    for server in chromium.serve(root / "reports"):
        yield server, page


@pytest.mark.parametrize("width", [
    chromium.WIDE, chromium.PHONE], ids=["laptop", "phone"])
def test_failure_page_loads_nothing_from_elsewhere_and_fits_the_window(browser, failure_page, width):
    server, page = failure_page
    visit = chromium.open_page(browser, server.url(page), width=width)
    try:
        assert not visit.problems(), "; ".join(visit.problems())
        assert visit.page.locator(".ev-failed").is_visible(), "the failure notice is not shown"
        problems = chromium.sideways_problems(visit.page)
    finally:
        visit.page.context.close()
    assert not problems, "; ".join(problems)
