"""End to end: `evaltools run`, `run-all` and `site` on a small fixture project.

The fixture project (tests/fixtures/project) has a tiny study and a
deliberately failing one; neither is a shipped study.
"""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evaltools.cli import main
from tests import FIXTURES

FIXTURE = FIXTURES / "project"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    shutil.rmtree(root / "reports", ignore_errors=True)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "fixture")
    return root


@pytest.fixture(scope="module")
def run_all(project):
    code = main(["--root", str(project), "run-all", "--jobs", "2"])  # the parallel path
    runs = {}
    for manifest in sorted(project.glob("reports/*/*/manifest.json")):
        data = json.loads(manifest.read_text())
        runs[(data["study"], (data["params_file"] or {}).get("path"))] = manifest.parent
    return code, runs


def test_run_all_goes_on_after_a_failure_and_reports_it(run_all, capsys):
    code, runs = run_all
    assert code == 1  # one run failed
    assert set(runs) == {
        ("tiny", "params/tiny.yaml"),
        ("tiny", "params/tiny_lv.yaml"),
        ("failing", "params/failing.yaml"),
    }


def test_successful_run_writes_all_four_outputs(run_all):
    run = run_all[1][("tiny", "params/tiny.yaml")]
    assert {"report.html", "results.json", "manifest.json"} <= {p.name for p in run.iterdir()}
    manifest = json.loads((run / "manifest.json").read_text())
    # The executed notebook is kept at the project root under private/, never published.
    assert "notebook.ipynb" not in manifest["outputs"] and not list(run.rglob("*.ipynb"))
    private = run.parents[2] / "private" / "tiny" / run.name / "notebook.ipynb"
    assert manifest["executed_notebook"]["path"] == f"private/tiny/{run.name}/notebook.ipynb"
    assert manifest["executed_notebook"]["sha256"] == hashlib.sha256(private.read_bytes()).hexdigest()
    assert not (private.parent / "runner.json").exists()  # the owner record goes when the run ends
    assert manifest["status"] == "succeeded" and manifest["error"] is None
    assert manifest["parameters"]["n"] == 2 and manifest["parameters"]["language"] == "en"
    assert manifest["parameter_origins"]["scale"] == "notebook default"
    assert manifest["seed"] == 7
    data = run.parents[2] / "notebooks" / "numbers.csv"
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert manifest["inputs"]["table_file"] == {"path": "notebooks/numbers.csv", "sha256": {"numbers.csv": digest}}
    assert len(manifest["code"]["commit"]) == 40 and manifest["code"]["dirty"] is False
    assert manifest["environment"]["packages"]["pandas"]
    assert manifest["environment"]["python"] == sys.version.split()[0]
    assert manifest["duration_s"] > 0 and manifest["finished_at"] >= manifest["started_at"]


def test_a_run_records_the_seconds_of_its_steps_privately(run_all):
    """private/<study>/<run>/steps.json: wall and CPU seconds of each step (what benchmarks/ reads),
    never in the published folder."""
    run = run_all[1][("tiny", "params/tiny.yaml")]
    steps = json.loads((run.parents[2] / "private" / "tiny" / run.name / "steps.json").read_text())
    for step in ("inputs", "notebook", "render", "pdf", "finish"):
        assert steps[step] >= 0 and steps[f"{step}_cpu"] >= 0
    assert steps["notebook"] > 0 and steps["notebook_cpu"] > 0 and steps["render"] >= steps["pdf"]
    assert not list(run.rglob("steps.json"))
    assert "steps.json" not in json.loads((run / "manifest.json").read_text())["outputs"]


def test_results_hold_every_recorded_value(run_all):
    run = run_all[1][("tiny", "params/tiny.yaml")]
    results = json.loads((run / "results.json").read_text())
    assert results["total"] == {"value": 150.0, "label": "Total", "headline": True}  # (10+20+30+40) * 1.5
    assert results["table"]["value"]["columns"] == ["year", "value"]
    assert len(results["table"]["value"]["data"]) == 2  # n = 2 from the params file


def test_same_params_and_data_give_the_same_numbers(run_all, project):
    first = run_all[1][("tiny", "params/tiny.yaml")]
    assert main(["--root", str(project), "run", "tiny", "-p", "params/tiny.yaml"]) == 0
    again = max((project / "reports" / "tiny").glob("*-tiny-2"), default=None) or max(
        p for p in (project / "reports" / "tiny").iterdir() if p.name.endswith("-tiny") and p != first
    )
    assert json.loads((first / "results.json").read_text()) == json.loads((again / "results.json").read_text())


def test_failed_run_is_marked_with_cell_and_message_and_keeps_the_notebook(run_all):
    run = run_all[1][("failing", "params/failing.yaml")]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"]["kind"] == "cell error"
    assert "RuntimeError: deliberate failure for the tests" in manifest["error"]["message"]
    assert manifest["error"]["cell"]["first_line"].startswith("raise RuntimeError")
    assert manifest["error"]["step"] == "notebook"
    assert not (run / "notebook.ipynb").exists()
    assert (run.parents[2] / manifest["executed_notebook"]["path"]).exists()  # kept for debugging
    assert manifest["executed_notebook"]["path"] in manifest["error"]["message"]
    page = (run / "report.html").read_text()
    assert "Aprēķins neizdevās" in page and "deliberate failure" in page


def test_index_lists_every_run_newest_first_with_status(run_all, project):
    page = (project / "reports" / "index.html").read_text()
    # one card per study and area: tiny (its LV and EN versions behind a language switch), failing
    assert page.count("<article class=\"ev-card") == 2 and page.count('type="radio"') == 2
    assert "ev-failed" in page and "deliberate failure" in page
    assert "Total: 150" in page
    for run in run_all[1].values():
        assert f"{run.parent.name}/{run.name}/report.html" in page


def test_every_run_refreshes_the_index(run_all, project):
    index = project / "reports" / "index.html"
    index.unlink()
    assert main(["--root", str(project), "run", "tiny", "-p", "params/tiny_lv.yaml"]) == 0
    newest = max((project / "reports" / "tiny").iterdir(), key=lambda p: p.name)
    page = index.read_text()
    assert f"tiny/{newest.name}/report.html" in page  # the new run is the current LV version


def test_site_rebuild_leaves_live_half_written_runs_alone(run_all, project):
    import os
    import socket

    from evaltools.run.lifecycle import process_start

    tmp = project / "reports" / "tiny" / ".tmp-20990101T000000Z-tiny"
    tmp.mkdir()
    owner = project / "private" / "tiny" / "20990101T000000Z-tiny"
    owner.mkdir(parents=True)
    (owner / "runner.json").write_text(json.dumps(
        {"pid": os.getpid(), "process_start": process_start(os.getpid()), "host": socket.gethostname()}))
    try:
        assert main(["--root", str(project), "site"]) == 0
        page = (project / "reports" / "index.html").read_text()
        assert "20990101" not in page and tmp.is_dir()  # a live run is not touched
    finally:
        shutil.rmtree(tmp)
        shutil.rmtree(owner)


def test_cell_timeout_marks_the_run_failed_at_the_running_cell(project):
    code = main(["--root", str(project), "run", "tiny", "--set", "sleep=30", "--timeout", "2"])
    assert code == 1
    newest = max((project / "reports" / "tiny").glob("*-defaults*"))
    manifest = json.loads((newest / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"]["kind"] == "cell timeout"
    assert "2 s limit" in manifest["error"]["message"] and manifest["error"]["step"] == "notebook"
    assert manifest["error"]["cell"]["first_line"] == "import time"


def _bad_yaml_run(project, text):
    bad = project / "params" / "bad.yaml"
    bad.write_text(text)
    before = sorted(p.name for p in (project / "reports").rglob("*"))
    try:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "evaltools"), "--root", str(project), "run", "tiny", "-p", str(bad)],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        bad.unlink()
    after = sorted(p.name for p in (project / "reports").rglob("*"))
    return proc, before == after


@pytest.mark.parametrize(
    "text, expected",
    [
        ("study: tiny\nparameters:\n  languag: en\n", "unknown parameter 'languag'. Did you mean 'language'?"),
        ("study: tiny\nparameters:\n  n: three\n", "parameter 'n': expected an integer"),
        ("study: tiny\nparameters:\n  language: de\n", "parameter 'language': expected one of 'lv', 'en', got 'de'"),
        ("study: tiny\nparameters:\n  table_file: nowhere.csv\n", "parameter 'table_file': expected an existing input file"),
        ("study: tiny\nparameters: [1, 2\n", "not valid YAML"),
        ("study: failing\nparameters: {}\n", "this params file is for study 'failing', not 'tiny'"),
        ("stduy: tiny\n", "unknown top-level key 'stduy'"),
    ],
)
def test_bad_params_file_is_refused_with_exit_2_and_nothing_runs(project, run_all, text, expected):
    proc, unchanged = _bad_yaml_run(project, text)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr
    assert "bad.yaml" in proc.stderr and "Nothing was run." in proc.stderr
    assert unchanged


def test_check_only_validates(project, capsys):
    assert main(["--root", str(project), "run", "tiny", "--set", "n=4", "--check"]) == 0
    assert "n = 4  (--set)" in capsys.readouterr().out


def test_unknown_study_and_malformed_set(project, capsys):
    assert main(["--root", str(project), "run", "nosuch"]) == 2
    assert "Unknown study 'nosuch'" in capsys.readouterr().err
    assert main(["--root", str(project), "run", "tiny", "--set", "n"]) == 2
    assert "expected key=value" in capsys.readouterr().err


def test_studies_lists_parameters_from_the_notebook(project, capsys):
    assert main(["--root", str(project), "studies"]) == 0
    out = capsys.readouterr().out
    assert "tiny  (notebooks/tiny.ipynb)" in out
    assert "params files: tiny.yaml, tiny_lv.yaml" in out
    assert "language    Literal['lv', 'en']  'lv'           report language" in out


@pytest.mark.parametrize("show, expect_status", [("rows", "failed"), ("table", "failed"), ("code", "failed"),
                                                  ("nothing", "succeeded")])
def test_privacy_gate_withdraws_reports_that_hold_identifiers(project, show, expect_status):
    code = main(["--root", str(project), "run", "leaky", "--set", f"show={show}"])
    run = max((project / "reports" / "leaky").iterdir(), key=lambda p: p.stat().st_mtime)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == expect_status and code == (1 if expect_status == "failed" else 0)
    ids = [line.split(",")[0] for line in (project / "notebooks" / "pupils.csv").read_text().splitlines()[1:]]
    published = (run / "report.html").read_text() + (run / "results.json").read_text()
    published += (run / "manifest.json").read_text()
    assert not [i for i in ids if i in published]
    assert "010203-12345" not in published
    if show == "table":  # a plain DataFrame in the funder view: refused before any scan
        assert manifest["error"]["kind"] == "disclosure"
        assert "has not been through disclosure control" in manifest["error"]["message"]
    elif expect_status == "failed":
        assert manifest["error"]["kind"] == "privacy"
        assert json.loads((run / "results.json").read_text()) == {}


def test_a_missing_kernel_is_explained_and_nothing_runs(project, monkeypatch, capsys):
    import evaltools.run.execute as execute

    monkeypatch.setattr(execute, "KERNEL_NAME", "no-such-kernel")
    monkeypatch.setattr(execute.ensure_kernel, "__defaults__", ("no-such-kernel",))
    before = sorted(p.name for p in (project / "reports").rglob("*"))
    assert main(["--root", str(project), "run", "tiny"]) == 2
    assert main(["--root", str(project), "run-all"]) == 2
    err = capsys.readouterr().err
    assert "The Jupyter kernel 'no-such-kernel' is not registered" in err and "make setup" in err
    assert sorted(p.name for p in (project / "reports").rglob("*")) == before
