"""`run-all --scheduler` when the scheduler presumes a live worker dead: a `dask scheduler` with a
short worker TTL and two `dask worker --no-nanny` processes on 127.0.0.1.

A worker SIGSTOPped mid-run misses its heartbeats: the scheduler drops it and starts the run
again on the other worker, which takes the plan's claim over once the paused attempt's heartbeat
is stale (run/claim.py). SIGCONTed, the first attempt finishes its run but cannot publish it: it
ends interrupted, and the plan has exactly one succeeded run.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import wait_for
from tests.run.test_distributed import (BIN, TRACEBACK, _final_runs, _kernels, _parent, _project,
                                        start_cluster, stop_cluster)


@pytest.fixture(scope="module")
def impatient_cluster(tmp_path_factory):
    """A scheduler that drops a worker silent for 4 s, and two workers without a nanny (so a
    dropped worker is not restarted: it comes back when continued)."""
    procs: list[subprocess.Popen] = []
    try:
        address = start_cluster(tmp_path_factory.mktemp("dask-ttl"),
                                {"DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL": "4s"}, ["--no-nanny"], procs)
        yield address, procs
    finally:
        stop_cluster(procs)


def _statuses(root: Path) -> list[tuple[str, str]]:
    out = []
    for manifest in sorted(root.glob("reports/*/*/manifest.json")):
        data = json.loads(manifest.read_text())
        out.append((data["status"], (data.get("error") or {}).get("message", "")))
    return out


@pytest.mark.slow
def test_a_paused_worker_presumed_dead_never_publishes_a_second_run(impatient_cluster, tmp_path):
    address, procs = impatient_cluster
    root = _project(tmp_path, {"a_slow": "study: tiny\nparameters:\n  sleep: 8\n"})
    env = dict(os.environ, EVALTOOLS_CLAIM_STALE_S="3")
    proc = subprocess.Popen([str(BIN / "evaltools"), "--root", str(root), "run-all", "--scheduler", address],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    paused = None
    try:
        first = wait_for(lambda: _kernels(root), timeout=90)[0]
        time.sleep(1.0)  # the cell sleeps: the run is executing
        paused = _parent(first)
        assert paused in {p.pid for p in procs}  # one of our workers (no nanny between)
        os.kill(paused, signal.SIGSTOP)
        # the scheduler drops it; the other worker waits for the stale heartbeat, then runs the plan
        wait_for(lambda: [k for k in _kernels(root) if k != first], timeout=120)
        os.kill(paused, signal.SIGCONT)
        paused = None
        out, err = proc.communicate(timeout=240)
    finally:
        if paused is not None:
            os.kill(paused, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert TRACEBACK not in out + err
    # the continued attempt finishes too, but ends interrupted: never a second succeeded run
    wait_for(lambda: len(_statuses(root)) == 2 and not list(root.glob("reports/*/.tmp-*")), timeout=120)
    runs = _statuses(root)
    assert sorted(s for s, _ in runs) == ["interrupted", "succeeded"]
    assert "lost its claim" in dict(runs)["interrupted"]
    assert _final_runs(root) == {"params/a_slow.yaml": ["interrupted", "succeeded"]}
    assert err.count(" succeeded in ") == 1
    assert not (root / "private" / "run-all").exists() or not any((root / "private" / "run-all").iterdir())
