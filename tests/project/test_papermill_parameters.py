"""papermill reads the parameter cells as evaltools does, and refuses our params files.

* ``papermill --help-notebook`` lists every parameter of every study notebook with the
  type, default and help that ``evaltools studies`` shows (both read the cell; neither
  executes it);
* ``papermill NOTEBOOK OUT -f params/<file>.yaml`` (a nested file: ``study:``,
  ``parameters:``) fails with a message pointing to ``evaltools run`` instead of silently
  running the defaults (one kernel run).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from evaltools.params import ParamsFileError, check_injected
from evaltools.run.parameters import ParameterError, parse_parameters, read_parameters, type_aliases
from evaltools.run.project import Project
from tests import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _papermill_parameters(notebook: Path) -> dict[str, dict]:
    """What ``papermill --help-notebook`` lists: name -> {inferred_type_name, default, help}."""
    import papermill

    return papermill.inspect_notebook(notebook)


def test_every_notebook_is_a_study():
    studies = {s.notebook.resolve() for s in Project(ROOT).studies()}
    assert NOTEBOOKS and set(NOTEBOOKS) == studies


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_lists_every_parameter_as_evaltools_studies_does(notebook):
    study = next(s for s in Project(ROOT).studies() if s.notebook.resolve() == notebook)
    ours = study.parameters  # what `evaltools studies` prints
    theirs = _papermill_parameters(notebook)
    assert list(theirs) == [s.name for s in ours], "papermill skips or adds a parameter"
    for spec in ours:
        pm = theirs[spec.name]
        assert pm["help"] == spec.help != "", spec.name
        assert pm["inferred_type_name"] == (spec.alias or spec.annotation), spec.name
        assert ast.literal_eval(pm["default"]) == spec.default, spec.name


def test_papermill_help_notebook_shows_types_and_help_on_the_command_line():
    """The documented command, once: the dropout study's 14 parameters, aliases and all."""
    notebook = ROOT / "notebooks" / "dropout_prevention.ipynb"
    out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(notebook)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Unable to parse" not in out.stderr + out.stdout
    specs = read_parameters(notebook)
    assert len(specs) == 14
    for spec in specs:
        assert f"  {spec.name}: {spec.alias or spec.annotation} (default " in out.stdout, spec.name
        assert spec.help in out.stdout


def test_a_type_alias_in_the_imports_cell_declares_choices_and_optional_values():
    aliases = type_aliases([
        'import math\nLanguage = Literal["lv", "en"]\nMaybeFile = InputFile | None\nx = 3\n',
        "%matplotlib inline\nIgnored = Literal['a']",  # a cell that is not Python is skipped
    ])
    assert set(aliases) == {"Language", "MaybeFile"}
    specs = {s.name: s for s in parse_parameters(
        'language: Language = "lv"  # language\nmapping: MaybeFile = None  # a mapping\n', aliases=aliases)}
    assert specs["language"].kind == "choice" and specs["language"].choices == ("lv", "en")
    assert specs["language"].alias == "Language" and specs["language"].annotation == "Literal['lv', 'en']"
    assert specs["mapping"].kind == "InputFile" and specs["mapping"].optional


def test_an_unknown_alias_and_an_alias_in_the_parameters_cell_are_refused_with_the_fix():
    with pytest.raises(ParameterError, match="unsupported annotation 'Language'.*type alias"):
        parse_parameters('language: Language = "lv"  # language')
    with pytest.raises(ParameterError, match="'Language' is a type alias; assign it in the imports cell"):
        parse_parameters('Language = Literal["lv", "en"]\nlanguage: Language = "lv"  # language')


@pytest.mark.parametrize("namespace", [
    {"study": "dropout_prevention", "parameters": {"language": "en"}},
    {"parameters": {"language": "en"}},
    {"study": "dropout_prevention", "description": "a nested file without parameters"},
])
def test_check_injected_refuses_the_keys_of_a_nested_params_file(namespace):
    with pytest.raises(ParamsFileError, match="evaltools run (dropout_prevention|STUDY) -p params/<file>.yaml"):
        check_injected(namespace)


@pytest.mark.parametrize("namespace", [
    {"language": "en", "min_cell": 10},  # papermill -p NAME VALUE, or evaltools run
    {"study": object()},  # a notebook's own `study` object, when the cell is run again
    {"study": "<svg onload=alert(1)>", "parameters": {}},
])
def test_check_injected_passes_flat_parameters_and_names_no_odd_study(namespace):
    if "parameters" in namespace:
        with pytest.raises(ParamsFileError) as exc:
            check_injected(namespace)
        assert "evaltools run STUDY" in str(exc.value) and "<svg" not in str(exc.value)
    else:
        check_injected(namespace)


def test_every_notebook_checks_for_injected_params_right_after_the_parameters_cell():
    for notebook in NOTEBOOKS:
        cells = nbformat.read(notebook, as_version=4).cells
        i = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
        nxt = next(c for c in cells[i + 1:] if c.cell_type == "code")
        assert nxt.source.lstrip().startswith("check_injected(globals())"), notebook.name


def test_papermill_with_a_nested_params_file_fails_and_points_to_evaltools_run(tmp_path):
    """One kernel run: papermill stops at the check instead of running the defaults (was exit 0)."""
    out_nb = tmp_path / "out.ipynb"
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "municipal_quality.ipynb"), str(out_nb),
         "-f", str(ROOT / "params" / "municipal_quality_en.yaml"), "-k", "evaltools", "--cwd",
         str(ROOT / "notebooks")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "ParamsFileError" in proc.stderr
    assert "evaltools run municipal_quality -p params/<file>.yaml" in proc.stderr
    cells = nbformat.read(out_nb, as_version=4).cells
    guard = next(i for i, c in enumerate(cells) if c.source.startswith("check_injected("))
    injected = next(i for i, c in enumerate(cells) if "injected-parameters" in c.metadata.get("tags", []))
    assert injected < guard and "parameters = {" in cells[injected].source
    assert cells[guard].outputs and cells[guard].outputs[0].get("ename") == "ParamsFileError"
    assert not any(c.get("outputs") for c in cells[guard + 1:]), "cells after the check ran"
