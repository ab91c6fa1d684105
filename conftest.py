"""Project-wide pytest options.

Slow checks (Monte Carlo coverage, national-scale runs) carry ``@pytest.mark.slow``.
They are reported as skipped, with the reason, in the default run and run with
``make test-slow`` (``pytest -m slow --runslow``).
"""
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow check: run `make test-slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# Fixture notebooks (one fails on purpose) are inputs of the runner tests, not
# notebooks for nbval; executed notebooks under reports/ are build output.
collect_ignore = ["tests/fixtures", "reports", "build"]
