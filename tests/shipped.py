"""The shipped reports, made once per test session for every test that reads a real run.

``published`` (tests/conftest.py) is one ``evaltools run-all --jobs 2`` in a scratch copy of
the project (``notebooks/`` and ``data/`` linked, never the checkout's ``reports/``). The default
run (``make test``) renders, for each study and report language, the first top-level params file
(:func:`quick_set`, e.g. ``params/<study>.yaml`` and ``params/<study>_en.yaml``); with
``--runslow`` it renders every params file (``Project.params_paths``: the other top-level files
and ``params/<study>/*.yaml``, one per municipality).

Under pytest-xdist the workers share one build: the first worker to ask makes it under a file
lock in the run's shared temporary folder, the others wait for it and read the same folders
(tests only read them; a test that changes a report copies it first).
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tests import ROOT

__all__ = ["Published", "build", "is_top_level", "params_paths", "quick_set", "default_studies"]


def params_paths(root: Path = ROOT) -> list[Path]:
    """Every shipped params file, as ``evaltools run-all`` finds them."""
    from evaltools.run.project import Project

    return Project(root).params_paths()


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


def default_studies(root: Path = ROOT) -> list[str]:
    """The studies with a default params file ``params/<study>.yaml`` (rendered in ``make test``)."""
    return sorted(p.stem for p in (root / "notebooks").glob("*.ipynb") if (root / "params" / f"{p.stem}.yaml").is_file())


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


def _make(root: Path, everything: bool) -> dict:
    from evaltools.cli import main

    root.mkdir(parents=True, exist_ok=True)
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
    return {"exit_code": code, "seconds": time.perf_counter() - start}


def _runs(reports: Path) -> dict[str, Path]:
    runs: dict[str, Path] = {}
    for manifest in sorted(reports.glob("*/*/manifest.json")):
        data = json.loads(manifest.read_text("utf-8"))
        stem = Path(str((data.get("params_file") or {}).get("path", ""))).stem
        if stem:
            runs[stem] = manifest.parent
    return runs


def build(shared: Path, everything: bool) -> Published:
    """The published reports in ``shared/project`` (made once; later callers wait and reuse)."""
    shared.mkdir(parents=True, exist_ok=True)
    done = shared / "done.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if a worker dies
        if not done.exists():
            done.write_text(json.dumps(_make(shared / "project", everything)), "utf-8")
    facts = json.loads(done.read_text("utf-8"))
    reports = shared / "project" / "reports"
    return Published(reports, _runs(reports), facts["exit_code"], facts["seconds"])


def shared_folder(base: Path, everything: bool) -> Path:
    """One folder per test run, the same in every xdist worker (``base`` is the worker's
    temporary root; the run id is set by xdist), a fresh one without xdist."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    kind = "all" if everything else "quick"
    if run_id:
        return base.parent / f"shipped-{run_id[:12]}-{kind}"
    return base / f"shipped-{kind}"
