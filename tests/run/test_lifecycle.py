"""Real signals to a real runner: every run ends succeeded, failed or interrupted.

`evaltools run` / `run-all` run as subprocesses on a copy of the fixture project
while a cell of the tiny study sleeps; the test sends SIGTERM, SIGINT or SIGKILL.
Kernels are found through their environment (the run folder of this project), so
that "no kernel left behind" is checked for this test's runs only.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import FIXTURES, wait_for

FIXTURE = FIXTURES / "project"
EVALTOOLS = str(Path(sys.executable).parent / "evaltools")
TRACEBACK = "Traceback (most recent call last)"


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    shutil.rmtree(root / "reports", ignore_errors=True)
    return root


def _kernels(root: Path) -> list[int]:
    """Processes whose environment points into this project's reports (the kernels)."""
    needle = f"EVALTOOLS_RUN_DIR={root}/reports".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes() and b"ipykernel" in (entry / "cmdline").read_bytes():
                if (entry / "stat").read_text().split(")")[-1].split()[0] != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def _start(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([EVALTOOLS, "--root", str(root), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _manifests(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(root.glob("reports/*/*/manifest.json"))]


def _published_text(root: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (root / "reports").rglob("*") if p.is_file())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_cell_shuts_the_kernel_down_and_marks_the_run_interrupted(project, sig):
    proc = _start(project, "run", "tiny", "--set", "sleep=60")
    wait_for(lambda: _kernels(project))
    time.sleep(1.0)  # the cell is running
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert TRACEBACK not in out + err and "INTERRUPTED" in err
    assert wait_for(lambda: not _kernels(project), timeout=10) is True
    [manifest] = _manifests(project)
    assert manifest["status"] == "interrupted" and manifest["error"]["step"] == "notebook"
    assert signal.Signals(sig).name in manifest["error"]["message"] and manifest["finished_at"]
    run = project / "reports" / "tiny" / manifest["run_id"]
    assert "interrupted" in (run / "report.html").read_text()
    assert not list(project.glob("reports/*/.tmp-*"))
    assert (project / manifest["executed_notebook"]["path"]).is_file()  # kept, under private/
    assert TRACEBACK not in _published_text(project)


def test_a_killed_runner_leaves_a_folder_the_next_command_marks_interrupted(project):
    proc = _start(project, "run", "tiny", "--set", "sleep=60")
    wait_for(lambda: _kernels(project))
    proc.kill()
    proc.communicate(timeout=30)
    [tmp] = list(project.glob("reports/tiny/.tmp-*"))
    assert json.loads((tmp / "manifest.json").read_text())["status"] == "running"
    # ipykernel notices that its parent is gone: no orphan kernel.
    assert wait_for(lambda: not _kernels(project), timeout=15) is True
    site = subprocess.run([EVALTOOLS, "--root", str(project), "site"], capture_output=True, text=True, timeout=120)
    assert site.returncode == 0 and TRACEBACK not in site.stdout + site.stderr
    assert "marked interrupted" in site.stderr
    assert not tmp.exists()
    [manifest] = _manifests(project)
    assert manifest["status"] == "interrupted" and manifest["finished_at"]
    index = (project / "reports" / "index.html").read_text()
    assert manifest["run_id"] in index and "interrupted" in index
    assert "succeeded" not in index.split("<main")[1] and "running" not in index.split("<main")[1]


def test_run_all_in_parallel_interrupted_ends_every_run_and_still_writes_summary_and_index(project):
    for name in list((project / "params").glob("*.yaml")):
        name.unlink()
    for name in ("slow_a", "slow_b", "slow_c"):
        (project / "params" / f"{name}.yaml").write_text("study: tiny\nparameters:\n  sleep: 60\n")
    proc = _start(project, "run-all", "--jobs", "2")
    wait_for(lambda: len(_kernels(project)) >= 2, timeout=90)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 143, err
    assert TRACEBACK not in out + err
    assert wait_for(lambda: not _kernels(project), timeout=10) is True
    manifests = _manifests(project)
    # The two running runs end interrupted; slow_c, queued, does not start after the signal.
    assert {m["params_file"]["path"] for m in manifests} == {"params/slow_a.yaml", "params/slow_b.yaml"}
    assert {m["status"] for m in manifests} == {"interrupted"}
    assert not list(project.glob("reports/*/.tmp-*"))
    summary = out.split("Reports:")[0]
    assert summary.count("interrupted") >= 2 and "not run" in summary and "slow_c" in summary
    assert (project / "reports" / "index.html").is_file()


def test_run_all_goes_on_when_a_worker_process_dies(project):
    """A kernel that kills its worker (as an out-of-memory kill would) breaks the process
    pool: the run it took down with it is tried again, the dying one fails, and run-all
    still ends with its summary and index."""
    for name in list((project / "params").glob("*.yaml")):
        name.unlink()
    (project / "params" / "a_killer.yaml").write_text("study: killer\nparameters:\n  kill_runner: true\n")
    (project / "params" / "b_tiny.yaml").write_text("study: tiny\nparameters:\n  sleep: 3\n")
    proc = subprocess.run([EVALTOOLS, "--root", str(project), "run-all", "--jobs", "2"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr
    assert TRACEBACK not in proc.stdout + proc.stderr
    summary = proc.stdout.split("Reports:")[0]
    killer = next(line for line in summary.splitlines() if "a_killer" in line)
    assert "failed" in killer and "worker process died" in killer
    tiny = next(line for line in summary.splitlines() if "b_tiny" in line)
    assert "succeeded" in tiny
    assert (project / "reports" / "index.html").is_file()
    assert not list(project.glob("reports/*/.tmp-*"))  # the killed worker's folders were swept
    statuses = {(m["study"], m["status"]) for m in _manifests(project)}
    assert ("tiny", "succeeded") in statuses and ("killer", "interrupted") in statuses
    assert not _kernels(project)
