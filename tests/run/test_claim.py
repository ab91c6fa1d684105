"""The claim of a plan under `run-all` on Dask (run/claim.py), without Dask: who may take it,
when, and that exactly one attempt can publish."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evaltools.run import claim as claims
from evaltools.run.claim import Claim, Published, holding, prepare
from evaltools.run.finish import finish


@pytest.fixture
def spec(tmp_path):
    return prepare(tmp_path, "inv", 0, "tiny-a", stale_s=1.0)


def _paused(claim: Claim) -> None:
    """As if its process were stopped: the heartbeat no longer beats (the marker stays)."""
    claim.stop_heartbeat()


def test_a_first_attempt_takes_a_free_claim_at_once_and_publishes(spec):
    first = Claim(spec)
    t0 = time.monotonic()
    assert first.acquire() is None and first.marker.exists()
    assert time.monotonic() - t0 < 0.5 and first.taken_over is None
    assert first.publish({"run_id": "r1", "status": "succeeded"}) is True
    second = Claim(spec)
    found = second.acquire()
    assert isinstance(found, Published) and found.token == first.token
    assert found.info == {"run_id": "r1", "status": "succeeded"}


def test_a_live_holder_is_waited_for_and_a_silent_one_taken_over(spec):
    first = Claim(spec)
    first.acquire()
    second = Claim(spec)
    stop_after = time.monotonic() + 2.5  # the holder beats: the second only waits
    assert second.acquire(stop=lambda: time.monotonic() > stop_after) is None
    assert not second.marker.exists() and first.marker.exists()
    _paused(first)
    t0 = time.monotonic()
    assert second.acquire() is None and second.marker.exists() and second.taken_over == first.token
    assert time.monotonic() - t0 >= spec.stale_s * 0.9  # not before the heartbeat went stale
    # the first attempt resumes and finishes: it cannot publish; the second can
    assert first.publish({"run_id": "old", "status": "succeeded"}) is False and first.lost.is_set()
    assert second.publish({"run_id": "new", "status": "succeeded"}) is True
    assert sorted(p.name for p in Path(spec.folder).glob("published.*")) == [f"published.{second.token}"]
    assert not list(Path(spec.folder).glob(f"final.{first.token}.json"))


def test_the_heartbeat_notices_a_lost_claim(tmp_path):
    spec = prepare(tmp_path, "inv", 1, "tiny-b", stale_s=0.3)
    spec = claims.ClaimSpec(spec.folder, stale_s=0.3, heartbeat_s=0.1)
    first = Claim(spec)
    first.acquire()
    first.marker.rename(Path(spec.folder) / "held.someone-else")  # taken over
    assert first.lost.wait(2.0)


def test_a_dead_holder_is_replaced_at_once(spec):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from evaltools.run.lifecycle import owner_record

    record = dict(owner_record(), pid=dead.pid, process_start="0", token="gone")
    folder = Path(spec.folder)
    (folder / "owner.gone.json").write_text(json.dumps(record))
    (folder / "held.free").rename(folder / "held.gone")
    slow = claims.ClaimSpec(spec.folder, stale_s=60.0)
    retry = Claim(slow)
    t0 = time.monotonic()
    assert retry.acquire() is None and retry.taken_over == "gone"
    assert time.monotonic() - t0 < 2.0  # a crash is retried at once, not after 60 s


def test_of_many_racing_attempts_exactly_one_publishes(tmp_path):
    spec = prepare(tmp_path, "inv", 2, "tiny-c", stale_s=0.05)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        mine = Claim(spec)
        barrier.wait()
        if isinstance(mine.acquire(), Published):
            results.append(False)
            return
        _paused(mine)  # every holder looks stale to the others at once
        time.sleep(0.1)
        results.append(mine.publish({"run_id": mine.token, "status": "succeeded"}))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8 and results.count(True) == 1
    assert len(list(Path(spec.folder).glob("published.*"))) == 1
    assert not list(Path(spec.folder).glob("held.*"))


def _finished(spec, tmp_path: Path, run_id: str, lost: bool) -> tuple[Path, Claim, dict]:
    """A run folder with a report, finished (run/finish.py) while holding a claim, or after a
    retry took the claim over (``lost``)."""
    folder = tmp_path / "reports" / "tiny" / f".tmp-{run_id}"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<html><body><p>Mean 3.2</p></body></html>")
    (folder / "results.json").write_text("{}")
    mine = Claim(spec)
    mine.acquire()
    if lost:
        mine.marker.rename(Path(spec.folder) / "held.retry")
    with holding(mine):
        error = finish(folder, {"run_id": run_id, "study": "tiny", "started_at": None}, {},
                       lambda: set(), lambda: 5)
    return folder, mine, error


def test_a_run_that_lost_its_claim_ends_interrupted_with_its_files_withdrawn(spec, tmp_path):
    folder, _, error = _finished(spec, tmp_path, "20260101T000000Z-a", lost=True)
    assert error["kind"] == "interrupted" and error["step"] == "claim"
    assert "lost its claim" in error["message"] and "not published" in error["message"]
    saved = json.loads((folder / "manifest.json").read_text())
    assert saved["status"] == "interrupted" and "Mean 3.2" not in (folder / "report.html").read_text()
    assert json.loads((folder / "results.json").read_text()) == {}


def test_a_run_still_holding_its_claim_publishes_it(spec, tmp_path):
    folder, mine, error = _finished(spec, tmp_path, "20260101T000000Z-b", lost=False)
    assert error == {} and mine.published
    info = json.loads((Path(spec.folder) / f"final.{mine.token}.json").read_text())
    assert info == {"run_id": "20260101T000000Z-b", "study": "tiny", "status": "succeeded"}
    assert "Mean 3.2" in (folder / "report.html").read_text()
