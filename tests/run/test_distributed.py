"""`run-all --scheduler` on a real Dask cluster: `dask scheduler` and two `dask worker`
processes on 127.0.0.1 (free ports), started and stopped by this module.

A worker SIGKILLed while its run's notebook executes: the run is started again on a live
worker, and every plan ends with exactly one final run folder (succeeded or failed), the
killed attempt's folder marked interrupted by the sweep, nothing lost, nothing twice.
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

from evaltools.cli import main
from tests import FIXTURES, wait_for

BIN = Path(sys.executable).parent
TRACEBACK = "Traceback (most recent call last)"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers; yields the scheduler's address."""
    procs: list[subprocess.Popen] = []
    try:
        yield start_cluster(tmp_path_factory.mktemp("dask"), {}, ["--nworkers", "1"], procs)
    finally:
        stop_cluster(procs)


def start_cluster(folder: Path, env: dict[str, str], worker_args: list[str], procs: list) -> str:
    """`dask scheduler` and two single-threaded `dask worker` processes on 127.0.0.1 (appended to
    ``procs`` as they start); return the scheduler's address once both workers joined."""
    from distributed import Client

    info = folder / "scheduler.json"
    env = dict(os.environ, DASK_DISTRIBUTED__LOGGING__DISTRIBUTED="error", **env)
    procs.append(subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(info)],
                                  cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(lambda: info.is_file() and info.stat().st_size > 0, timeout=60)
    for _ in range(2):
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "worker", "--scheduler-file", str(info), "--nthreads", "1", *worker_args,
             "--no-dashboard", "--host", "127.0.0.1"],
            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    address = json.loads(info.read_text())["address"]
    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=90)
    return address


def stop_cluster(procs: list) -> None:
    """SIGTERM (after SIGCONT: a paused process cannot act on it) then wait; SIGKILL a straggler."""
    for proc in reversed(procs):
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.send_signal(signal.SIGTERM)
    for proc in reversed(procs):
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _project(tmp_path: Path, params: dict[str, str] | None = None) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", root)
    shutil.rmtree(root / "reports", ignore_errors=True)
    if params is not None:
        for path in (root / "params").glob("*.yaml"):
            path.unlink()
        for name, text in params.items():
            (root / "params" / f"{name}.yaml").write_text(text)
    return root


def _final_runs(root: Path) -> dict[str, list[str]]:
    """params file -> the statuses of its final run folders."""
    runs: dict[str, list[str]] = {}
    for manifest in sorted(root.glob("reports/*/*/manifest.json")):
        data = json.loads(manifest.read_text())
        runs.setdefault((data.get("params_file") or {}).get("path", "?"), []).append(data["status"])
    return runs


def _kernels(root: Path, needle: str = "") -> list[int]:
    """Kernel processes of this project's runs (found by the run folder in their environment)."""
    mark = f"EVALTOOLS_RUN_DIR={root}/reports".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            if mark in environ and b"ipykernel" in (entry / "cmdline").read_bytes() and needle.encode() in environ:
                if (entry / "stat").read_text().split(")")[-1].split()[0] != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[1])


def test_run_all_on_an_external_scheduler_runs_every_plan_once(cluster, tmp_path, capsys):
    root = _project(tmp_path)
    code = main(["--root", str(root), "run-all", "--scheduler", cluster])
    out, err = capsys.readouterr()
    assert code == 1, err  # the failing fixture study fails; the others succeed
    assert TRACEBACK not in out + err
    assert _final_runs(root) == {"params/failing.yaml": ["failed"], "params/tiny.yaml": ["succeeded"],
                                 "params/tiny_lv.yaml": ["succeeded"]}
    assert not list(root.glob("reports/*/.tmp-*")) and (root / "reports" / "index.html").is_file()
    # a line per finished run (stderr is no terminal here: no progress bar)
    assert err.count(" succeeded in ") == 2 and err.count(" failed in ") == 1


def test_a_worker_killed_mid_run_gives_one_final_run_per_plan(cluster, tmp_path):
    root = _project(tmp_path, {"a_slow": "study: tiny\nparameters:\n  sleep: 6\n",
                               "b_quick": "study: tiny\nparameters:\n  n: 1\n"})
    proc = subprocess.Popen([str(BIN / "evaltools"), "--root", str(root), "run-all", "--scheduler", cluster],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        kernel = wait_for(lambda: _kernels(root, "a_slow"), timeout=90)[0]
        time.sleep(1.0)  # the cell sleeps: the run is executing
        worker = _parent(kernel)
        nanny = Path(f"/proc/{_parent(worker)}/cmdline").read_bytes()
        assert b"dask\x00worker" in nanny.replace(b"/dask\x00", b"dask\x00")  # a worker of our cluster
        os.kill(worker, signal.SIGKILL)
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert TRACEBACK not in out + err
    runs = _final_runs(root)
    # nothing lost, nothing twice: one succeeded run per plan, plus the killed attempt, interrupted
    assert sorted(runs) == ["params/a_slow.yaml", "params/b_quick.yaml"]
    assert sorted(runs["params/a_slow.yaml"]) == ["interrupted", "succeeded"]
    assert runs["params/b_quick.yaml"] == ["succeeded"]
    assert "marked interrupted" in err
    assert not list(root.glob("reports/*/.tmp-*"))
    assert wait_for(lambda: not _kernels(root), timeout=15) is True


def test_an_unreachable_scheduler_is_exit_2_and_nothing_runs(tmp_path, capsys, monkeypatch):
    import socket

    import evaltools.run.pool as pool

    monkeypatch.setattr(pool, "CONNECT_TIMEOUT", "2s")

    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = _project(tmp_path)
    code = main(["--root", str(root), "run-all", "--scheduler", f"tcp://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot connect to the Dask scheduler" in err and "Nothing was run." in err
    assert TRACEBACK not in err
    assert not list(root.glob("reports/*/*/manifest.json"))


def test_jobs_and_scheduler_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--root", str(tmp_path), "run-all", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert exc.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


@pytest.mark.slow
def test_a_shipped_study_runs_on_the_external_scheduler(cluster, tmp_path):
    """One real study (the municipal report on the shipped sample) through a Dask worker."""
    root = tmp_path / "shipped"
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (root / "params").mkdir()
    (root / "params" / "mq.yaml").write_text(
        f"study: municipal_quality\nparameters:\n  data_dir: {json.dumps(str(ROOT / 'data' / 'sample'))}\n")
    proc = subprocess.run([str(BIN / "evaltools"), "--root", str(root), "run-all", "--scheduler", cluster],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _final_runs(root) == {"params/mq.yaml": ["succeeded"]}
    [run] = list((root / "reports" / "municipal_quality").iterdir())
    assert (run / "report.html").is_file() and json.loads((run / "results.json").read_text())
