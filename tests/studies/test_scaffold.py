"""`evaltools new-study NAME` (evaltools.studies._scaffold): the files of a new study, and the
scaffold runs end to end with `evaltools run` in a copy of the project (one kernel run)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evaltools.cli import main
from evaltools.studies._scaffold import RESERVED, ScaffoldError, new_study
from tests import ROOT



def _copy_project(tmp_path: Path) -> Path:
    """The project's src, notebooks, params and docs in ``tmp_path`` (the sample data linked)."""
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for folder in ("src", "notebooks", "params", "docs"):
        shutil.copytree(ROOT / folder, project / folder, ignore=ignore)
    (project / "tests").mkdir()
    (project / "data").mkdir()
    (project / "data" / "sample").symlink_to(ROOT / "data" / "sample", target_is_directory=True)
    return project


def test_new_study_writes_the_five_places_and_nothing_else(tmp_path):
    project = _copy_project(tmp_path)
    before = {p for p in project.rglob("*") if p.is_file()}
    written = new_study(project, "teacher_mentoring")
    rel = sorted(str(p.relative_to(project)) for p in written)
    assert rel == sorted(["notebooks/teacher_mentoring.ipynb", "params/teacher_mentoring.yaml",
                          "src/evaltools/studies/teacher_mentoring/__init__.py",
                          "src/evaltools/studies/teacher_mentoring/messages.yaml",
                          "tests/studies/test_teacher_mentoring.py", "docs/teacher_mentoring.md"])
    after = {p for p in project.rglob("*") if p.is_file()}
    assert after - before == set(written)  # a new study touches only its own files
    nb = json.loads((project / "notebooks" / "teacher_mentoring.ipynb").read_text(encoding="utf-8"))
    tags = [c["metadata"].get("tags", []) for c in nb["cells"]]
    assert ["parameters"] in tags and any(not t for t in tags[2:])  # a parameters cell and visible cells
    params = next(c for c in nb["cells"] if c["metadata"].get("tags") == ["parameters"])
    assert "InputDir" in "".join(params["source"]) and "MinCell" in "".join(params["source"])
    assert yaml.safe_load((project / "params" / "teacher_mentoring.yaml").read_text())["study"] == "teacher_mentoring"
    with pytest.raises(ScaffoldError, match="exists already .*nothing was written"):
        new_study(project, "teacher_mentoring")


@pytest.mark.parametrize("name", ["Teacher", "1st", "a", "with-dash", "class", "x" * 41, "trailing_", *sorted(RESERVED)])
def test_bad_names_are_refused_before_anything_is_written(tmp_path, name):
    project = _copy_project(tmp_path)
    with pytest.raises(ScaffoldError):
        new_study(project, name)
    assert not (project / "notebooks" / f"{name}.ipynb").exists()


def test_cli_new_study_refuses_a_bad_name_with_exit_2(tmp_path, capsys):
    project = _copy_project(tmp_path)
    assert main(["--root", str(project), "new-study", "Bad-Name"]) == 2
    err = capsys.readouterr().err
    assert "lower-case letters" in err and "Traceback" not in err


def test_the_scaffold_runs_with_evaltools_run_and_its_own_tests_pass(tmp_path):
    project = _copy_project(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(project / "src")}  # the copy's package, for the kernel too
    cli = [sys.executable, "-m", "evaltools.cli", "--root", str(project)]
    made = subprocess.run([*cli, "new-study", "teacher_mentoring"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    assert "notebooks/teacher_mentoring.ipynb" in made.stdout
    run = subprocess.run([*cli, "run", "teacher_mentoring", "-p", "params/teacher_mentoring.yaml"], env=env,
                         capture_output=True, text=True, timeout=600, cwd=project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "succeeded" in run.stdout
    reports = list((project / "reports" / "teacher_mentoring").glob("*/report.html"))
    assert len(reports) == 1
    html = reports[0].read_text(encoding="utf-8")
    assert "Galvenais rezultāts" in html  # the study's own message catalogue, merged at load
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(project / "tests" / "studies" / "test_teacher_mentoring.py")], env=env, cwd=project,
                           capture_output=True, text=True, timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout
