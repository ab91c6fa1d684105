"""The command line explains itself: --version, -v/-q, every --help, studies --json, run progress.

One real run (the fixture project's tiny study, about 5 s) checks the progress lines and the
report paths end to end; the rest needs no kernel.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from evaltools import __version__
from evaltools.cli import build_parser, main
from evaltools.run.execute import cell_progress
from evaltools.run.project import Project
from tests import FIXTURES, ROOT


def _commands() -> dict[str, object]:
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(sub.choices)


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"evaltools {__version__}"


@pytest.mark.parametrize("command", ["studies", "run", "run-all", "site", "new-study", "data", "lab"])
def test_every_command_has_a_description_examples_and_exit_codes(command):
    parser = _commands()[command]
    text = parser.format_help()
    assert parser.description and len(parser.description) > 40, command
    examples = text.split("examples:\n", 1)[1].split("\n\n", 1)[0]
    assert f"evaltools {command}" in examples or (command == "run" and "evaltools -q run" in examples)
    codes = text.split("exit codes:\n", 1)[1]
    assert re.search(r"^\s+0\b", codes, re.M) or "exit code of `jupyter lab`" in codes, command
    if command not in ("lab", "studies", "new-study", "params", "data"):
        assert re.search(r"^\s+1\b", codes, re.M), command


@pytest.mark.parametrize("command", ["synth", "check", "pseudonymise"])
def test_data_commands_say_what_they_do_and_their_defaults(command):
    data = _commands()["data"]
    sub = next(a for a in data._actions if a.__class__.__name__ == "_SubParsersAction").choices[command]
    text = sub.format_help()
    assert "examples:" in text and "exit codes:" in text and sub.description
    for action in sub._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"data {command} {action.option_strings[0]} has no help"
            if action.default is not None and not action.required:
                assert str(action.default) in action.help, f"{action.option_strings[0]}: default not stated"


def test_run_help_states_the_defaults_and_what_is_checked():
    text = _commands()["run"].format_help()
    assert "600" in text and "--check" in text and "-q, --quiet" in text and "-v, --verbose" in text


def test_quiet_and_verbose_before_or_after_the_command():
    parser = build_parser()
    args = parser.parse_args(["-q", "run", "x"])
    assert args.quiet is True and args.verbose == 0
    args = parser.parse_args(["run", "x", "-vv"])
    assert args.quiet is False and args.verbose == 2
    args = parser.parse_args(["studies"])
    assert args.quiet is False and args.verbose == 0


def test_studies_json_lists_every_study_and_parameter(capsys):
    assert main(["--root", str(ROOT), "studies", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    project = Project(ROOT)
    assert [s["study"] for s in listed] == [s.name for s in project.studies()]
    by_name = {s["study"]: s for s in listed}
    mq = {p["name"]: p for p in by_name["municipal_quality"]["parameters"]}
    assert mq["municipality"]["type"] == "Municipality" and mq["municipality"]["default"] == "all"
    assert "municipalities.name" in mq["municipality"]["expects"]
    assert "municipal_quality.yaml" in by_name["municipal_quality"]["params_files"]


def test_cell_progress_counts_code_cells_and_names_the_section(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("a = 1"),
                nbformat.v4.new_code_cell(""), nbformat.v4.new_markdown_cell("text\n## Effects"),
                nbformat.v4.new_code_cell("display(Markdown('## Shown'))"), nbformat.v4.new_code_cell("b = 2")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    seen = []
    hooks = cell_progress(path, lambda n, total, heading: seen.append((n, total, heading)))
    for cell in nb.cells:
        hooks["on_cell_start"](cell=cell, cell_index=0)
        if "Shown" in cell.source:
            cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "## Shown"})]
        hooks["on_cell_executed"](cell=cell, cell_index=0, execute_reply={})
    assert seen == [(1, 4, "Title"), (2, 4, "Effects"), (3, 4, "Shown")]  # 3 code cells + papermill's


def test_a_failing_progress_display_does_not_stop_the_run(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("a = 1")]
    nbformat.write(nb, tmp_path / "nb.ipynb")

    def broken(*_):
        raise OSError("stderr closed")

    cell_progress(tmp_path / "nb.ipynb", broken)["on_cell_start"](cell=nb.cells[0], cell_index=0)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-project")
    shutil.copytree(FIXTURES / "project", root, dirs_exist_ok=True)
    return root


def test_run_shows_cell_progress_with_sections_and_ends_with_the_report_paths(project):
    """The real command in a subprocess (stderr is a pipe: one line per section)."""
    out = subprocess.run([sys.executable, "-m", "evaltools.cli", "--root", str(project), "run", "tiny",
                          "-p", "params/tiny.yaml"], capture_output=True, text=True, timeout=300, cwd=project)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "cell " in line]
    assert lines[0].startswith("tiny: cell 1 of ") and "· Tiny study" in lines[0]
    total = int(lines[0].split(" of ")[1].split()[0])
    code_cells = sum(1 for c in nbformat.read(project / "notebooks" / "tiny.ipynb", as_version=4).cells
                     if c.cell_type == "code" and c.source.strip())
    assert total == code_cells + 1
    assert "\x1b" not in out.stderr and "\r" not in out.stderr  # no terminal codes in a log
    report = re.search(r"report: (\S+report\.html)", out.stdout)
    assert report and Path(report.group(1)).is_file()
    assert "pdf: " in out.stdout and "index: " in out.stdout


@pytest.mark.parametrize("flag, shown", [("-q", False), (None, True)])
def test_quiet_gives_the_run_no_progress_display(project, monkeypatch, capsys, flag, shown):
    """-q: no progress callback and no bars in anything the command starts (no kernel here)."""
    import evaltools.cli as cli
    import evaltools.run.execute as execute
    from evaltools.core.progress import PROGRESS_ENV

    monkeypatch.setenv(PROGRESS_ENV, "1")  # restored after the test: main() sets it for -q
    seen = {}

    def fake_execute(plan, progress=None):
        seen["progress"] = progress
        return execute.RunOutcome(plan.study, plan.params_name, None, "failed", 0.0,
                                  error={"kind": "test", "message": "not run"})

    monkeypatch.setattr(execute, "execute", fake_execute)
    monkeypatch.setattr(cli, "_index", lambda project, command: (project.reports_dir / "index.html", True))
    argv = ["--root", str(project), *([flag] if flag else []), "run", "tiny", "-p", "params/tiny.yaml"]
    assert main(argv) == 1
    assert (seen["progress"] is not None) is shown
    assert (os.environ.get(PROGRESS_ENV) == "0") is (not shown)
    assert ("starting the kernel" in capsys.readouterr().err) is shown
