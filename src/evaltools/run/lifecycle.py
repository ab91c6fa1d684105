"""How a run ends: signals, the owner of a half-written run folder, orphans.

Every run ends ``succeeded``, ``failed`` or ``interrupted``:

- SIGINT and SIGTERM during a run become :class:`RunInterrupted` (see
  :class:`SignalGuard`); the runner shuts the kernel down, marks the run
  ``interrupted`` and moves it into place, and the command exits 128 + the signal
  number (130, 143).
- A runner killed outright (SIGKILL, power loss) leaves
  ``reports/<study>/.tmp-<run-id>/``. Its owner (process id, process start time,
  host) is recorded in ``private/<study>/<run-id>/runner.json`` when the run
  starts; :func:`sweep_orphans` (called by ``run``, ``run-all`` and ``site``) marks a
  folder whose owner process is gone ``interrupted`` and moves it into place. A folder
  of a live run, or of a run on another host, is never touched.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evaltools.run.finish import Swept, finish_orphan

OWNER_FILE = "runner.json"
TMP_PREFIX = ".tmp-"
# A half-written folder without an owner record (left by an older evaltools, or
# caught between two system calls at start) counts as orphaned after this long.
OWNERLESS_GRACE_S = 120.0
INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(BaseException):
    """SIGINT or SIGTERM arrived during a run (a BaseException, like KeyboardInterrupt,
    so that ``except Exception`` in a study or library does not swallow it)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal_name(signum))


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal number (SIGINT 130, SIGTERM 143)."""
    return 128 + int(signum)


class SignalGuard:
    """While active, SIGINT/SIGTERM raise :class:`RunInterrupted` once (``armed``);
    later signals, or any signal after :meth:`disarm`, are only recorded in ``received``.

    Only the main thread can install handlers; elsewhere the guard does nothing.
    """

    def __init__(self) -> None:
        self.armed = False
        self.received: list[int] = []
        self._saved: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received.append(signum)
        if self.armed:
            self.armed = False
            raise RunInterrupted(signum)

    def __enter__(self) -> "SignalGuard":
        if threading.current_thread() is threading.main_thread():
            for sig in INTERRUPT_SIGNALS:
                self._saved[sig] = signal.signal(sig, self._handle)
        self.armed = True
        return self

    def disarm(self) -> None:
        self.armed = False

    def __exit__(self, *exc: Any) -> None:
        self.armed = False
        for sig, handler in self._saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._saved.clear()

    @property
    def signum(self) -> int | None:
        return self.received[0] if self.received else None


# --- the owner of a run folder ---------------------------------------------------


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), or None
    where /proc is not available. Tells a live process from a later one that reuses its id."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _process_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()[0]


def owner_record() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "process_start": process_start(pid), "host": socket.gethostname()}


def write_owner(private_dir: Path) -> None:
    """Record this process as the owner of the run whose private folder this is."""
    (private_dir / OWNER_FILE).write_text(json.dumps(owner_record()), encoding="utf-8")


def owner_alive(owner: dict[str, Any]) -> bool:
    """Is the recorded owner still running? Another host's run always counts as alive."""
    if owner.get("host") != socket.gethostname():
        return True
    try:
        pid = int(owner["pid"])
    except (KeyError, TypeError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process with that id: alive as far as we can tell
    if _process_state(pid) == "Z":  # exited, not yet reaped by its parent
        return False
    recorded, now = owner.get("process_start"), process_start(pid)
    return recorded is None or now is None or recorded == now


def _is_orphan(tmp: Path, private_dir: Path, now: float) -> bool:
    try:
        owner = json.loads((private_dir / OWNER_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        try:
            return now - tmp.stat().st_mtime > OWNERLESS_GRACE_S
        except OSError:
            return False
    except (OSError, ValueError):
        return True  # an unreadable owner record: nobody can claim the folder
    return not (isinstance(owner, dict) and owner_alive(owner))


def sweep_orphans(root: Path, command: str = "evaltools") -> list[Swept]:
    """Mark every ``reports/<study>/.tmp-<run-id>`` whose runner is gone ``interrupted``
    and move it into place; return what was moved. Folders of live runs are left alone."""
    reports = root / "reports"
    now = datetime.now(timezone.utc)
    swept = []
    for tmp in sorted(reports.glob(f"*/{TMP_PREFIX}*")):
        if not tmp.is_dir():
            continue
        study, run_id = tmp.parent.name, tmp.name[len(TMP_PREFIX):]
        private_dir = root / "private" / study / run_id
        if not _is_orphan(tmp, private_dir, now.timestamp()):
            continue
        try:
            swept.append(finish_orphan(root, tmp, study, run_id, now, command))
        except Exception:
            continue  # another sweep moved it first, or the disk refuses: try next time
    return swept
