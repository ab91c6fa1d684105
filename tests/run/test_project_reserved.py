"""``latest`` is not a study name: reports/latest/ holds the stable addresses of the reports
(evaltools.report.latest), so a notebook of that name would mix its run folders with them."""
from __future__ import annotations

import pytest

from evaltools.report.latest import LATEST_DIR
from evaltools.run.project import RESERVED_STUDIES, Project, ProjectError


def test_a_notebook_named_latest_is_not_a_study_and_says_why(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for name in ("latest", "tiny"):
        (tmp_path / "notebooks" / f"{name}.ipynb").write_text("{}", "utf-8")
    project = Project(tmp_path)
    assert [s.name for s in project.studies()] == ["tiny"]
    with pytest.raises(ProjectError, match=r"cannot be named 'latest'.*reports/latest/.*Rename notebooks/latest\.ipynb"):
        project.study("latest")
    assert project.study("tiny").name == "tiny"


def test_the_reserved_name_is_the_folder_of_the_stable_addresses():
    assert LATEST_DIR in RESERVED_STUDIES
