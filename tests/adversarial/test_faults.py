"""Faults at every step of a run: each ends as a clean failed or interrupted run.

Every case asserts the exit code, the run's status and the step named in its
manifest, that no traceback reaches stdout, stderr or any published file, that no
``.tmp-`` folder is left over and that an earlier run is untouched. The notebook
step is replaced by a stand-in that writes a small executed notebook (no kernel:
these run in a fraction of a second each); the real kernel, real signals and a
real SIGKILL are in tests/run/test_lifecycle.py.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

import evaltools.run.execute as execute
import evaltools.run.finish as finish
from evaltools.cli import main
from evaltools.report.attack import Finding
from evaltools.report.record import RUN_DIR_ENV

FIXTURE = Path(__file__).parents[1] / "fixtures" / "project"
TRACEBACK = "Traceback (most recent call last)"
PUPIL = "P912265b1f5"  # an id of the fixture's pupils.csv
EARLIER = "20000101T000000Z-earlier"


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    shutil.rmtree(root / "reports", ignore_errors=True)
    earlier = root / "reports" / "tiny" / EARLIER
    earlier.mkdir(parents=True)
    (earlier / "manifest.json").write_text(json.dumps(
        {"run_id": EARLIER, "study": "tiny", "status": "succeeded", "started_at": "2000-01-01T00:00:00+00:00"}))
    (earlier / "report.html").write_text("<html><body>earlier</body></html>")
    (earlier / "results.json").write_text("{}")
    return root


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _fake_notebook(results: dict | None = None, raise_: BaseException | None = None):
    """A stand-in for papermill: writes an executed notebook where it is asked to and
    results into the run folder (through the environment, as the kernel does)."""

    def execute_notebook(input_path, output_path, parameters=None, **kwargs):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell("# Tiny\nA stand-in for the executed notebook."),
                    nbformat.v4.new_code_cell("x = 1", execution_count=1)]
        nbformat.write(nb, output_path)
        run_dir = Path(os.environ[RUN_DIR_ENV])
        (run_dir / "results.json").write_text(json.dumps(results if results is not None else {"x": {"value": 1}}))
        if raise_ is not None:
            raise raise_

    return execute_notebook


def _run(project, capsys, *args, study="tiny"):
    code = main(["--root", str(project), "run", study, *args])
    out, err = capsys.readouterr()
    return code, out, err


def _newest(project, study="tiny") -> Path:
    runs = [p for p in (project / "reports" / study).iterdir() if p.name != EARLIER]
    return max(runs, key=lambda p: p.name)


def _check(project, code, out, err, *, exit_code, status, step, kind=None, study="tiny", before=None):
    """The assertions every fault case shares; returns the run folder and its manifest."""
    assert code == exit_code, err
    assert TRACEBACK not in out + err
    run = _newest(project, study)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == status
    assert manifest["error"]["step"] == step, manifest["error"]
    if kind is not None:
        assert manifest["error"]["kind"] == kind, manifest["error"]
    assert "\n" not in manifest["error"]["message"]
    for path in (project / "reports").rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert TRACEBACK not in text, path
    assert not list((project / "reports").glob("*/.tmp-*")), "a half-written folder was left"
    assert not list(run.rglob("*.ipynb")), "the executed notebook must not be published"
    if before is not None:
        assert _digest(project / "reports" / "tiny" / EARLIER) == before
    return run, manifest


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


# --- exceptions at each step ----------------------------------------------------------------------

NOTEBOOK_ERRORS = {
    "cell-error": (lambda: __import__("papermill").PapermillExecutionError(
        cell_index=1, exec_count=1, source="x = 1", ename="ValueError", evalue="bad value in cell",
        traceback=[TRACEBACK, "  File x"]), "cell error", "ValueError: bad value in cell"),
    "cell-timeout": (lambda: __import__("nbclient.exceptions").exceptions.CellTimeoutError("Cell execution timed out"),
                     "cell timeout", "limit"),
    "dead-kernel": (lambda: __import__("nbclient.exceptions").exceptions.DeadKernelError("Kernel died"),
                    "kernel died", "DeadKernelError: Kernel died"),
    "kernel-will-not-start": (lambda: RuntimeError("Kernel didn't respond in 60 seconds"),
                              "runner error", "RuntimeError: Kernel didn't respond"),
    "disk-full-in-notebook": (lambda: OSError(errno.ENOSPC, "No space left on device"), "disk full",
                              "No space left on device"),
    "message-with-traceback": (lambda: RuntimeError("boom\n" + TRACEBACK + "\n  File 'x', line 1\n" * 50),
                               "runner error", "RuntimeError: boom"),
}


@pytest.mark.parametrize("case", list(NOTEBOOK_ERRORS))
def test_notebook_step_errors_give_a_failed_run(project, capsys, monkeypatch, case):
    make, kind, text = NOTEBOOK_ERRORS[case]
    before = _digest(project / "reports" / "tiny" / EARLIER)
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook(raise_=make()))
    code, out, err = _run(project, capsys)
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="notebook",
                           kind=kind, before=before)
    assert text in manifest["error"]["message"]
    assert len(manifest["error"]["message"]) < 800
    assert "failed" in (run / "report.html").read_text().lower() or "neizdevās" in (run / "report.html").read_text()
    private = project / manifest["executed_notebook"]["path"]
    assert private.is_file() and private.is_relative_to(project / "private")


RENDER_ERRORS = {
    "render-bug": (ValueError("template exploded"), "rendering error"),
    "render-disk-full": (OSError(errno.ENOSPC, "No space left on device"), "disk full"),
    "render-key-error": (KeyError("title"), "rendering error"),
    "render-not-self-contained": (__import__("evaltools.report.render").report.render.NotSelfContainedError(
        "report.html: the rendered page is not self-contained: it has a CSS url()"), "rendering error"),
}


@pytest.mark.parametrize("case", list(RENDER_ERRORS))
def test_rendering_errors_give_a_failed_run(project, capsys, monkeypatch, case):
    exc, kind = RENDER_ERRORS[case]
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())

    def render_report(*a, **k):
        raise exc

    monkeypatch.setattr("evaltools.report.render.render_report", render_report)
    code, out, err = _run(project, capsys)
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="render", kind=kind)
    assert type(exc).__name__ in manifest["error"]["message"]


@pytest.mark.parametrize("value", ["url(x)", "a src=b", "<img src=x>", "@import 'x'"])
def test_a_parameter_value_that_looks_like_markup_never_crashes(project, capsys, monkeypatch, value):
    """The value goes into the page header; whatever the self-contained check says, it
    is a finished run, never a traceback."""
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    code, out, err = _run(project, capsys, "--set", f"label={value}")
    assert code in (0, 1) and TRACEBACK not in out + err
    run = _newest(project)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] in ("succeeded", "failed")
    if manifest["status"] == "failed":
        assert manifest["error"]["step"] == "render"
    assert not list((project / "reports").glob("*/.tmp-*"))


@pytest.mark.parametrize("exc", [PermissionError(13, "Permission denied", "/home/janis.berzins/viis/pupils.csv"),
                                 FileNotFoundError(2, "No such file"),
                                 IsADirectoryError(21, "Is a directory")], ids=["permission", "vanished", "is-a-dir"])
def test_an_unreadable_input_while_hashing_gives_a_failed_run(project, capsys, monkeypatch, exc):
    def fingerprint(path):
        raise exc

    monkeypatch.setattr(execute, "fingerprint", fingerprint)
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    code, out, err = _run(project, capsys)
    _, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="inputs", kind="unreadable input")
    assert type(exc).__name__ in manifest["error"]["message"]
    assert manifest["executed_notebook"] is None  # the notebook never ran
    # An OSError names the file, never the folder on the evaluator's machine.
    assert "janis" not in json.dumps(manifest) + err
    if exc.filename:
        assert "(pupils.csv)" in manifest["error"]["message"]


def test_a_failure_while_setting_up_gives_a_failed_run(project, capsys, monkeypatch):
    monkeypatch.setattr(execute, "environment", lambda: (_ for _ in ()).throw(RuntimeError("no metadata")))
    code, out, err = _run(project, capsys)
    _check(project, code, out, err, exit_code=1, status="failed", step="setup", kind="runner error")


# --- the gates ----------------------------------------------------------------------------------


def test_the_attacker_fails_a_succeeded_run_naming_the_record(project, capsys, monkeypatch):
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook({"rates": {"value": 1}}))
    seen = {}

    def attack_run(run_dir, threshold):
        seen["threshold"] = threshold
        seen["files"] = sorted(p.name for p in Path(run_dir).iterdir())
        return [Finding("results.json: rates, row 'Valmiera'", "rate × visible denominator")]

    monkeypatch.setattr("evaltools.report.attack.attack_run", attack_run)
    code, out, err = _run(project, capsys)
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="attacker", kind="disclosure")
    assert "results.json: rates, row 'Valmiera'" in manifest["error"]["message"]
    assert seen["threshold"] == 5  # the floor: the tiny study declares no min_cell
    assert "manifest.json" in seen["files"] and "report.html" in seen["files"]  # after the last file
    assert json.loads((run / "results.json").read_text()) == {}  # withdrawn
    assert "rates" not in (run / "report.html").read_text() or "Valmiera" in (run / "report.html").read_text()


def test_the_attacker_threshold_is_the_projects_floor(project, capsys, monkeypatch):
    (project / "disclosure.yaml").write_text("min_cell_floor: 7\n")
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    seen = []
    monkeypatch.setattr("evaltools.report.attack.attack_run", lambda d, t: seen.append(t) or [])
    code, out, err = _run(project, capsys)
    assert code == 0 and seen == [7]


def test_the_attacker_also_runs_on_a_failed_run(project, capsys, monkeypatch):
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook(raise_=RuntimeError("late failure")))
    monkeypatch.setattr("evaltools.report.attack.attack_run",
                        lambda d, t: [Finding("results.json: partial", "a visible count below the threshold")])
    code, out, err = _run(project, capsys)
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="notebook")
    assert "late failure" in manifest["error"]["message"] and "results.json: partial" in manifest["error"]["message"]
    assert json.loads((run / "results.json").read_text()) == {}


def test_an_attacker_that_crashes_withdraws_the_run(project, capsys, monkeypatch):
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())

    def attack_run(run_dir, threshold):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("evaltools.report.attack.attack_run", attack_run)
    code, out, err = _run(project, capsys)
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="attacker",
                           kind="attacker error")
    assert "ZeroDivisionError" in manifest["error"]["message"]
    assert json.loads((run / "results.json").read_text()) == {}


def test_the_privacy_gate_fails_a_succeeded_run_with_an_id(project, capsys, monkeypatch):
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook({"who": {"value": PUPIL}}))
    code, out, err = _run(project, capsys, "--set", "show=nothing", study="leaky")
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="privacy gate",
                           kind="privacy", study="leaky")
    for path in run.rglob("*"):
        assert PUPIL not in path.read_text(errors="replace")
    assert PUPIL not in out + err


def test_an_id_in_a_failure_message_is_withheld(project, capsys, monkeypatch):
    """A data error quoting an id: the message itself is what leaks; it is replaced."""
    monkeypatch.setattr("papermill.execute_notebook",
                        _fake_notebook(raise_=ValueError(f"duplicate pupil_id {PUPIL} in row 3")))
    code, out, err = _run(project, capsys, "--set", "show=nothing", study="leaky")
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="notebook", study="leaky")
    assert "withheld" in manifest["error"]["message"] and "step 'notebook'" in manifest["error"]["message"]
    for path in run.rglob("*"):
        assert PUPIL not in path.read_text(errors="replace")


def test_an_id_in_a_parameter_is_withheld_from_every_published_file(project, capsys, monkeypatch):
    """The id is in the manifest's parameters and the command: the manifest is cut down."""
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    code, out, err = _run(project, capsys, "--set", f"show={PUPIL}", study="leaky")
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="privacy gate",
                           kind="privacy", study="leaky")
    for path in run.rglob("*"):
        assert PUPIL not in path.read_text(errors="replace")


def test_a_privacy_gate_that_cannot_read_the_ids_withdraws_the_run(project, capsys, monkeypatch):
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    monkeypatch.setattr(execute._Run, "_identifiers", lambda self: (_ for _ in ()).throw(OSError(5, "I/O error")))
    code, out, err = _run(project, capsys)
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="privacy gate",
                           kind="privacy gate error")
    assert json.loads((run / "results.json").read_text()) == {}


def test_a_scan_that_crashes_withdraws_the_run(project, capsys, monkeypatch):
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    monkeypatch.setattr("evaltools.report.privacy.scan_run", lambda d, ids: 1 / 0)
    code, out, err = _run(project, capsys)
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="privacy gate",
                           kind="privacy gate error")
    assert "ZeroDivisionError" in manifest["error"]["message"]
    assert json.loads((run / "results.json").read_text()) == {}


# --- writing the end of the run -------------------------------------------------------------------


def test_when_the_failure_page_cannot_be_written_the_manifest_still_says_failed(project, capsys, monkeypatch):
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook(raise_=RuntimeError("cell failed")))
    monkeypatch.setattr("evaltools.report.render.render_failure", _enospc)
    code, out, err = _run(project, capsys)
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="notebook")
    assert not (run / "report.html").exists()
    assert manifest["error"]["page"] == "the failure page could not be written"


def test_on_a_full_disk_a_minimal_manifest_still_says_failed(project, capsys, monkeypatch):
    """Rendering hits ENOSPC, the failure page and every new file too: the manifest is
    overwritten in place, which needs no new disk blocks."""
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    monkeypatch.setattr("evaltools.report.render.render_report", _enospc)
    monkeypatch.setattr("evaltools.report.render.render_failure", _enospc)
    monkeypatch.setattr(finish, "write_json", _enospc)
    code, out, err = _run(project, capsys)
    run, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="render", kind="disk full")
    assert set(manifest) == set(finish.MINIMAL_KEYS)


def test_a_move_that_fails_is_reported_not_raised(project, capsys, monkeypatch):
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    real = os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".tmp-"):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real(src, dst)

    monkeypatch.setattr(execute.os, "replace", replace)
    code, out, err = _run(project, capsys)
    assert code == 1 and TRACEBACK not in out + err and "finish" in err
    monkeypatch.setattr(execute.os, "replace", real)
    # The runner (this process) is alive: the folder is not an orphan yet; it becomes one
    # when its owner record says so, and the next command moves it into place.
    tmp = next((project / "reports" / "tiny").glob(".tmp-*"))
    owner = project / "private" / "tiny" / tmp.name[5:] / "runner.json"
    owner.write_text(json.dumps({"pid": _dead_pid(), "process_start": None, "host": socket.gethostname()}))
    assert main(["--root", str(project), "site"]) == 0
    manifest = json.loads((project / "reports" / "tiny" / tmp.name[5:] / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"


# --- signals inside the process -------------------------------------------------------------------


@pytest.mark.parametrize("sig, step", [(signal.SIGTERM, "render"), (signal.SIGINT, "render"),
                                       (signal.SIGTERM, "inputs")])
def test_a_signal_at_any_step_gives_an_interrupted_run(project, capsys, monkeypatch, sig, step):
    def wait_for_signal(*args, **kwargs):
        os.kill(os.getpid(), sig)
        time.sleep(5)
        raise AssertionError("the signal did not interrupt the step")

    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    if step == "render":
        monkeypatch.setattr("evaltools.report.render.render_report", wait_for_signal)
    else:
        monkeypatch.setattr(execute, "fingerprint", wait_for_signal)
    code, out, err = _run(project, capsys)
    run, manifest = _check(project, code, out, err, exit_code=128 + sig, status="interrupted", step=step,
                           kind="interrupted")
    assert signal.Signals(sig).name in manifest["error"]["message"]
    assert json.loads((run / "results.json").read_text()) == {}  # half a run is not published
    page = (run / "report.html").read_text()
    assert "interrupted" in page
    assert ("Aprēķins pārtraukts" in page or "This run was interrupted" in page)  # its own heading
    assert "Aprēķins neizdevās" not in page and "This run failed" not in page
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers  # given back


# --- orphans --------------------------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _orphan(project, run_id, owner, age_s=0.0):
    tmp = project / "reports" / "tiny" / f".tmp-{run_id}"
    tmp.mkdir(parents=True)
    (tmp / "manifest.json").write_text(json.dumps({"run_id": run_id, "study": "tiny", "status": "running",
                                                   "started_at": "2026-01-01T00:00:00+00:00",
                                                   "inputs": {"table_file": {"path": "notebooks/numbers.csv"}}}))
    (tmp / "results.json").write_text(json.dumps({"n": {"value": 3}}))  # never went through the gates
    (tmp / "tables").mkdir()
    (tmp / "tables" / "t.csv").write_text("a,b\n1,2\n")
    if owner is not None:
        private = project / "private" / "tiny" / run_id
        private.mkdir(parents=True)
        (private / "runner.json").write_text(json.dumps(owner))
    if age_s:
        old = time.time() - age_s
        for p in [tmp, *tmp.rglob("*")]:
            os.utime(p, (old, old))
    return tmp


ORPHANS = {
    "dead-owner": (lambda: {"pid": _dead_pid(), "process_start": None, "host": socket.gethostname()}, 0, True),
    "reused-pid": (lambda: {"pid": os.getpid(), "process_start": "1", "host": socket.gethostname()}, 0, True),
    "ownerless-old": (lambda: None, 3600, True),
    "garbled-owner": (lambda: "not a record", 0, True),
    "live-owner": (lambda: {"pid": os.getpid(), "process_start": __import__(
        "evaltools.run.lifecycle").run.lifecycle.process_start(os.getpid()), "host": socket.gethostname()}, 0, False),
    "ownerless-young": (lambda: None, 0, False),
    "other-host": (lambda: {"pid": _dead_pid(), "process_start": None, "host": "another-machine"}, 0, False),
}


@pytest.mark.parametrize("case", list(ORPHANS))
def test_site_marks_folders_of_dead_runners_interrupted_and_leaves_live_ones(project, capsys, case):
    make_owner, age, swept = ORPHANS[case]
    before = _digest(project / "reports" / "tiny" / EARLIER)
    tmp = _orphan(project, "20260101T000000Z-tiny", make_owner(), age)
    assert main(["--root", str(project), "site"]) == 0
    out, err = capsys.readouterr()
    assert TRACEBACK not in out + err
    final = project / "reports" / "tiny" / "20260101T000000Z-tiny"
    index = (project / "reports" / "index.html").read_text()
    assert _digest(project / "reports" / "tiny" / EARLIER) == before
    if not swept:
        assert tmp.is_dir() and not final.exists() and "20260101T000000Z" not in index
        return
    assert not tmp.exists() and final.is_dir()
    manifest = json.loads((final / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["finished_at"]
    assert "evaltools site" in manifest["error"]["message"]
    assert json.loads((final / "results.json").read_text()) == {} and not (final / "tables").exists()
    assert "interrupted" in (final / "report.html").read_text()
    assert "20260101T000000Z-tiny" in index and "running" not in index.lower().split("<main")[1]
    assert "marked interrupted" in err


def test_run_sweeps_orphans_before_it_starts(project, capsys, monkeypatch):
    _orphan(project, "20260101T000000Z-tiny", {"pid": _dead_pid(), "process_start": None,
                                                "host": socket.gethostname()})
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    code, out, err = _run(project, capsys)
    assert code == 0 and TRACEBACK not in out + err
    manifest = json.loads((project / "reports" / "tiny" / "20260101T000000Z-tiny" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and "evaltools run" in manifest["error"]["message"]


def test_an_orphan_that_had_failed_keeps_its_reason(project, capsys):
    tmp = _orphan(project, "20260101T000000Z-tiny", {"pid": _dead_pid(), "process_start": None,
                                                      "host": socket.gethostname()})
    manifest = json.loads((tmp / "manifest.json").read_text())
    manifest.update(status="failed", error={"kind": "cell error", "step": "notebook", "message": "ValueError: x"})
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    assert main(["--root", str(project), "site"]) == 0
    final = json.loads((project / "reports" / "tiny" / "20260101T000000Z-tiny" / "manifest.json").read_text())
    assert final["status"] == "failed" and final["error"]["message"] == "ValueError: x"


def test_an_id_in_the_index_is_withdrawn(project, capsys):
    run = project / "reports" / "leaky" / "20260101T000000Z-defaults"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({
        "run_id": run.name, "study": "leaky", "status": "failed", "started_at": "2026-01-01T00:00:00+00:00",
        "inputs": {"pupils": {"path": "notebooks/pupils.csv"}},
        "error": {"kind": "cell error", "message": f"bad row for {PUPIL}"}}))
    code = main(["--root", str(project), "site"])
    out, err = capsys.readouterr()
    index = project / "reports" / "index.html"
    assert code == 1 and "privacy gate" in err and TRACEBACK not in out + err
    assert not index.exists() or PUPIL not in index.read_text()


# --- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "-inf", "abc", "1e9", ""])
def test_a_bad_timeout_is_exit_2_naming_timeout(project, capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["--root", str(project), "run", "tiny", "--timeout", value])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--timeout" in err and TRACEBACK not in err
    assert not (project / "reports" / "tiny").exists() or \
        [p.name for p in (project / "reports" / "tiny").iterdir()] == [EARLIER]


@pytest.mark.parametrize("value, seconds", [("0.5", 1), ("2.5", 3), ("10", 10), ("1e2", 100)])
def test_a_fractional_timeout_is_rounded_up_to_whole_seconds(project, value, seconds):
    from evaltools.cli import build_parser
    from evaltools.run.project import Project

    args = build_parser().parse_args(["run", "tiny", "--timeout", value])
    assert args.timeout == seconds
    assert execute.plan_run(Project.find(project), "tiny", cell_timeout=float(value)).cell_timeout == seconds


def test_a_crash_while_validating_is_exit_2_with_a_clean_message(project, capsys, monkeypatch):
    monkeypatch.setattr(execute, "validate", lambda *a, **k: {}["boom"])
    code, out, err = _run(project, capsys)
    assert code == 2 and "KeyError" in err and "Nothing was run." in err and TRACEBACK not in out + err
    assert [p.name for p in (project / "reports" / "tiny").iterdir()] == [EARLIER]


def test_run_all_goes_on_after_any_exception_and_ends_with_summary_and_index(project, capsys, monkeypatch):
    real = execute._Run.run
    calls = []

    def run(self):
        calls.append(self.plan.params_name)
        if self.plan.params_name == "tiny":
            raise MemoryError("out of memory in the runner")
        return real(self)

    monkeypatch.setattr(execute._Run, "run", run)
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    (project / "params" / "broken.yaml").write_text("study: tiny\nparameters: [1, 2\n")
    code = main(["--root", str(project), "run-all", "--jobs", "1"])
    out, err = capsys.readouterr()
    assert code == 1 and TRACEBACK not in out + err
    assert sorted(calls) == ["failing", "tiny", "tiny_lv"]  # every valid plan was tried
    summary = out.split("Reports:")[0]
    assert "refused" in summary and "MemoryError" in summary and "succeeded" in summary
    assert (project / "reports" / "index.html").exists()
    assert not list((project / "reports").glob("*/.tmp-*"))


def test_run_all_stops_starting_runs_after_a_signal_and_still_writes_summary_and_index(project, capsys, monkeypatch):
    """Sequential run-all: SIGTERM during the first run; it ends interrupted, the others do not start."""
    calls = []

    def render_report(*args, **kwargs):
        calls.append(1)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)

    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    monkeypatch.setattr("evaltools.report.render.render_report", render_report)
    code = main(["--root", str(project), "run-all", "--jobs", "1"])
    out, err = capsys.readouterr()
    assert code == 143 and TRACEBACK not in out + err and len(calls) == 1
    rows = [re.split(r"\s{2,}", line) for line in out.split("Reports:")[0].strip().splitlines()[1:]]
    statuses = sorted(row[2] for row in rows)
    assert statuses == ["interrupted", "not run", "not run"], rows
    assert (project / "reports" / "index.html").exists()
    assert not list((project / "reports").glob("*/.tmp-*"))


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_jobs_value_is_exit_2_naming_jobs(project, capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["--root", str(project), "run-all", "--jobs", value])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--jobs" in err and TRACEBACK not in err


def test_a_full_disk_when_the_run_starts_gives_a_failed_run(project, capsys, monkeypatch):
    monkeypatch.setattr(execute, "write_json", _enospc)  # the run's first manifest
    monkeypatch.setattr("papermill.execute_notebook", _fake_notebook())
    code, out, err = _run(project, capsys)
    _, manifest = _check(project, code, out, err, exit_code=1, status="failed", step="setup", kind="disk full")
    assert manifest["run_id"] and manifest["study"] == "tiny" and manifest["started_at"]
