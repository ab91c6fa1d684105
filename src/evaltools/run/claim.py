"""One publishing attempt per plan of ``run-all`` on Dask: a claim with an owner and a heartbeat.

A Dask scheduler starts a task again when it presumes its worker dead: killed (the attempt is
gone), but also missed heartbeats, a network partition or a paused process, where the first
attempt may still be running and finish. The claim makes sure that only one attempt of a plan
moves a finished (succeeded or failed) run folder into place.

The claim of a plan is a folder ``private/run-all/<invocation>/<plan>/`` (made by ``run-all``
before it submits the task) holding exactly one marker whose *name* says who holds it:

- ``held.free``: nobody yet;
- ``held.<token>``: the attempt ``<token>`` runs the plan; its owner record (process id, process
  start, host) is ``owner.<token>.json``; the marker's modification time is its heartbeat,
  renewed every :data:`HEARTBEAT_S` seconds while the attempt runs;
- ``published.<token>``: attempt ``<token>`` moved its run folder into place;
  ``final.<token>.json`` names that folder.

Every change of holder is one ``rename`` of the marker, which succeeds for exactly one of the
processes that try to move the same name (the others get ``FileNotFoundError``):

- an attempt *takes* the claim by renaming ``held.<old>`` to ``held.<mine>``: at once when the
  marker is ``held.free`` or its owner is provably dead (same host, process gone), otherwise
  only once the heartbeat is stale: unchanged for :data:`STALE_S` seconds of the taker's own
  clock, or older than that by the file's time;
- the holder *publishes* by renaming ``held.<mine>`` to ``published.<mine>``, as the last step of
  :func:`evaltools.run.finish.finish`, before the folder is moved into place. An attempt whose
  marker was taken meanwhile cannot publish: its run ends ``interrupted`` (:data:`LOST`);
- an attempt that finds ``published.<other>`` does not run: it reports the published run.

Safety (never two published runs of one plan) rests on the rename alone, not on clocks or on
the heartbeat; the heartbeat only decides how soon a retry may take over. The file system must
make ``rename`` atomic and exclusive between hosts (a local disk, NFSv4, Lustre, GPFS and CephFS
do; docs/distributed.md).
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltools.run.finish import CLAIM_LOST, PUBLISH_HOOKS
from evaltools.run.lifecycle import owner_alive, owner_record

CLAIMS_DIR = ("private", "run-all")
FREE = "free"
HEARTBEAT_S = 2.0
STALE_S = 30.0  # a heartbeat unchanged this long: the attempt is presumed gone
POLL_S = 0.5
PUBLISH_WAIT_S = 60.0  # for the folder of a published run to appear, after its claim did
LOST = CLAIM_LOST  # the message of a run that lost its claim (run/finish.py)


@dataclass(frozen=True)
class ClaimSpec:
    """Where a plan's claim lives and how long a silent holder is waited for (picklable: it
    travels with the Dask task)."""

    folder: str
    stale_s: float = STALE_S
    heartbeat_s: float = HEARTBEAT_S


@dataclass(frozen=True)
class Published:
    """The plan was already published by attempt ``token``: what its ``final`` record says."""

    token: str
    info: dict[str, Any]


def prepare(root: Path, invocation: str, index: int, name: str, stale_s: float = STALE_S) -> ClaimSpec:
    """Make the free claim of plan number ``index`` of one ``run-all`` (caller's side)."""
    folder = root.joinpath(*CLAIMS_DIR, invocation, f"{index:04d}-{name}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"held.{FREE}").touch()
    return ClaimSpec(str(folder), stale_s=stale_s, heartbeat_s=min(HEARTBEAT_S, stale_s / 4))


def _markers(folder: Path) -> tuple[list[str], list[str]]:
    names = os.listdir(folder)
    return ([n for n in names if n.startswith("held.")], [n for n in names if n.startswith("published.")])


def _owner_gone(folder: Path, token: str) -> bool:
    """Provably dead: the holder's owner record names a process of this host that is gone."""
    try:
        record = json.loads((folder / f"owner.{token}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # no record (yet): only the heartbeat can tell
    return isinstance(record, dict) and not owner_alive(record)


class Claim:
    """This process's attempt at one plan: take it, keep its heartbeat, publish or lose it."""

    def __init__(self, spec: ClaimSpec):
        self.spec = spec
        self.folder = Path(spec.folder)
        self.token = uuid.uuid4().hex
        self.taken_over: str | None = None  # the token of a presumed-dead holder we replaced
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self.lost = threading.Event()
        self.published = False

    @property
    def marker(self) -> Path:
        return self.folder / f"held.{self.token}"

    def acquire(self, stop: Any = None) -> Published | None:
        """Take the claim (None) or find the plan published (:class:`Published`). Waits while a
        live holder's heartbeat is fresh; ``stop()`` true ends the wait (returns None, not held).
        Raises ``FileNotFoundError`` when the claim folder does not exist."""
        record = dict(owner_record(), token=self.token)
        owner = self.folder / f"owner.{self.token}.json"
        tmp = owner.with_name(owner.name + ".tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, owner)
        seen: dict[str, tuple[float, float]] = {}  # marker -> (its mtime, when we first saw it so)
        while True:
            held, published = _markers(self.folder)
            if published:
                return self._published(published[0][len("published."):])
            if stop is not None and stop():
                return None
            if held:
                name = held[0]
                holder = name[len("held."):]
                if self._may_take(name, holder, seen):
                    try:
                        os.rename(self.folder / name, self.marker)
                    except FileNotFoundError:
                        continue  # another attempt moved it first: look again
                    os.utime(self.marker)
                    if holder != FREE:
                        self.taken_over = holder
                    self._start_heartbeat()
                    return None
            elif not self.folder.is_dir():
                raise FileNotFoundError(str(self.folder))
            time.sleep(POLL_S)

    def _may_take(self, name: str, holder: str, seen: dict[str, tuple[float, float]]) -> bool:
        if holder == FREE or _owner_gone(self.folder, holder):
            return True
        try:
            mtime = os.stat(self.folder / name).st_mtime
        except FileNotFoundError:
            return False
        now = time.monotonic()
        first = seen.get(name)
        if first is None or first[0] != mtime:
            seen[name] = first = (mtime, now)
        return now - first[1] >= self.spec.stale_s or time.time() - mtime >= self.spec.stale_s

    def _published(self, token: str) -> Published:
        try:
            info = json.loads((self.folder / f"final.{token}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        return Published(token, info if isinstance(info, dict) else {})

    # --- while the run runs -------------------------------------------------------

    def _start_heartbeat(self) -> None:
        self._beat = threading.Thread(target=self._heartbeat, name="evaltools-claim-heartbeat", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.spec.heartbeat_s):
            try:
                os.utime(self.marker)
            except FileNotFoundError:  # taken over (or published by us, then stopped)
                if not self._stop.is_set():
                    self.lost.set()
                return
            except OSError:
                continue  # a hiccup of the file system: the next beat may pass

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(self.spec.heartbeat_s + 1)

    def publish(self, info: dict[str, Any]) -> bool:
        """Rename our marker to ``published``: True if we still held the claim (then nobody else
        ever will), False if it was taken over (our run must not be published)."""
        self._stop.set()
        final = self.folder / f"final.{self.token}.json"
        try:
            tmp = final.with_name(final.name + ".tmp")
            tmp.write_text(json.dumps(info, default=str), encoding="utf-8")
            os.replace(tmp, final)
            os.rename(self.marker, self.folder / f"published.{self.token}")
            self.published = True
            return True
        except FileNotFoundError:
            self.lost.set()
            with contextlib.suppress(OSError):
                final.unlink()
            return False

    def release(self) -> None:
        """Give the claim back (``held.free``) after a run that ended without publishing
        (interrupted), so that a later attempt need not wait for our heartbeat to go stale."""
        self.stop_heartbeat()
        with contextlib.suppress(OSError):
            os.rename(self.marker, self.folder / f"held.{FREE}")


# --- the claim of the run executing in this thread (one run at a time per worker) -----------


@contextlib.contextmanager
def holding(claim: Claim) -> Any:
    """While the run in this thread executes, :func:`evaltools.run.finish.finish` asks ``claim``
    (:func:`publish_or_lose`) before the run is moved into place."""
    ident = threading.get_ident()
    PUBLISH_HOOKS[ident] = lambda folder, status: publish_or_lose(claim, folder, status)
    try:
        yield claim
    finally:
        PUBLISH_HOOKS.pop(ident, None)


def publish_or_lose(claim: Claim, folder: Path, status: str) -> bool:
    """True when the run may be moved into place as ``status`` (an interrupted run, or the claim
    was still ours and is now published), False when its claim was lost."""
    if status == "interrupted":
        return True
    run_id = folder.name[len(".tmp-"):] if folder.name.startswith(".tmp-") else folder.name
    return claim.publish({"run_id": run_id, "study": folder.parent.name, "status": status})
