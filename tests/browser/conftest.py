"""Fixtures of the browser tests: Chromium (or a skip saying how to install it), a
browser for the session, and the shipped reports made once per session.

``published``: one ``evaltools run-all --jobs 2`` in a scratch copy of the project
(``notebooks/`` and ``data/`` linked, never the real ``reports/``). The default run
(``make test``) renders, for each study and language, the first top-level params file
(:func:`quick_set`: every study, both languages, the index's language switch) to keep the
suite's time; with ``--runslow`` it renders every params file (``Project.params_paths``:
the other top-level files and ``params/<study>/*.yaml``, e.g. one per municipality).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
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


def params_paths(root: Path = ROOT) -> list[Path]:
    """Every shipped params file, as ``evaltools run-all`` finds them."""
    from evaltools.run.project import Project

    project = Project(root)
    if hasattr(project, "params_paths"):
        return project.params_paths()
    return sorted((root / "params").glob("*.y*ml"))  # before params/<study>/ folders existed


def is_top_level(path: Path, root: Path = ROOT) -> bool:
    return path.parent == root / "params"


def quick_set(paths: list[Path]) -> set[Path]:
    """The params files ``make test`` renders: per study and report language the first
    top-level file (a file that cannot be read is kept, so that its test says why)."""
    from evaltools.run.project import read_params_file

    chosen: dict[tuple[str, str], Path] = {}
    for path in paths:
        if not is_top_level(path):
            continue
        try:
            pf = read_params_file(path)
            key = (pf.study, str(pf.parameters.get("language", "lv")))
        except Exception:  # noqa: BLE001 - refused by run-all too; rendered so that it shows
            key = ("?", path.name)
        chosen.setdefault(key, path)
    return set(chosen.values())


@dataclass
class Published:
    """The run folders of one ``run-all``, by params-file stem, and its index."""

    reports: Path
    runs: dict[str, Path]
    exit_code: int
    seconds: float

    def run(self, stem: str) -> Path:
        assert stem in self.runs, (f"params/{stem}.yaml produced no run folder (run-all exit code "
                                   f"{self.exit_code}); run `evaltools run-all` to see why")
        return self.runs[stem]


@pytest.fixture(scope="session")
def published(browser, request, tmp_path_factory) -> Iterator[Published]:
    import time

    from evaltools.cli import main

    everything = request.config.getoption("--runslow")
    root = tmp_path_factory.mktemp("browser_project")
    for name in ("notebooks", "data"):
        (root / name).symlink_to(ROOT / name)
    if everything:
        (root / "params").symlink_to(ROOT / "params")
    else:  # the quick set and the folders of other YAML (mappings), not the per-area ones
        (root / "params").mkdir()
        shipped = params_paths()
        quick, per_area = quick_set(shipped), {p.parent for p in shipped if not is_top_level(p)}
        for path in (ROOT / "params").iterdir():
            if path in quick or (path.is_dir() and path not in per_area):
                (root / "params" / path.name).symlink_to(path)
    start = time.perf_counter()
    code = main(["--root", str(root), "run-all", "--jobs", "2"])
    seconds = time.perf_counter() - start
    reports = root / "reports"
    runs: dict[str, Path] = {}
    for manifest in reports.glob("*/*/manifest.json"):
        data = json.loads(manifest.read_text("utf-8"))
        stem = Path(str((data.get("params_file") or {}).get("path", ""))).stem
        runs[stem] = manifest.parent
    yield Published(reports, runs, code, seconds)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def server(published) -> Iterator[chromium.Server]:
    yield from chromium.serve(published.reports)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """``reports/_screenshots/`` of the checkout (build output; the index builder and the
    privacy gate read only ``reports/<study>/<run>/manifest.json``, which it never holds)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS

