"""The end of every run: failure page, manifest, the attacker, the privacy gate.

:func:`finish` runs on every run, succeeded, failed or interrupted, after the last
file is written and before the folder is moved into place:

1. a failed or interrupted run gets its failure page (``report.html``);
2. the manifest is sealed (status, error, outputs);
3. the attacker (:func:`evaltools.report.attack.attack_run`) tries to recover a count
   between 1 and the threshold from the published files: a finding fails the run
   (``kind: disclosure``, naming the records, never a value) and withdraws the files;
4. the privacy gate (:func:`evaltools.report.privacy.scan_run`) looks for identifiers:
   a hit withdraws the files; on a run that had failed already the failure page and
   the message may be what leaks, so they are replaced by a generic message (the step
   and the number of hits) and the folder is scanned again;
5. under ``run-all`` on Dask, the plan's claim is published (run/claim.py): an attempt that lost
   its claim to a retry ends ``interrupted`` instead (never two published runs of a plan).

Nothing here raises: a gate that cannot run withdraws the files (fail closed).
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evaltools.report.record import RESULTS_FILE

MANIFEST = "manifest.json"
MESSAGE_LIMIT = 500  # characters of an error message kept in the manifest and on the page
# Manifest keys kept when everything else had to be dropped to publish nothing identifying.
MINIMAL_KEYS = ("run_id", "study", "started_at", "finished_at", "duration_s", "status", "error")


# --- messages ----------------------------------------------------------------------


def short(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """One paragraph of at most ``limit`` characters, never a traceback."""
    text = str(text).split("Traceback (most recent call last)")[0]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def describe(exc: BaseException) -> str:
    """``ExceptionClass: text`` in one short paragraph. For an OSError, the reason and
    the file's name only: a full path would tell where on the evaluator's machine the
    data live (and a home folder carries a person's name)."""
    if isinstance(exc, OSError) and exc.strerror:
        name = f" ({short(Path(str(exc.filename)).name, 120)})" if exc.filename else ""
        return f"{type(exc).__name__}: {short(exc.strerror, 200)}{name}"
    text = short(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def error_from(exc: BaseException, step: str) -> dict[str, Any]:
    """The manifest's ``error`` for an exception raised by the runner at ``step``."""
    if is_disk_full(exc):
        kind, hint = "disk full", " Free some disk space and run again."
    elif step == "inputs" and isinstance(exc, OSError):
        kind, hint = "unreadable input", " Check that every input file can be read."
    elif step == "render":
        kind, hint = "rendering error", ""
    else:
        kind, hint = "runner error", ""
    return {"kind": kind, "step": step, "cell": None, "message": describe(exc) + hint}


def status_of(error: dict[str, Any]) -> str:
    if not error:
        return "succeeded"
    return "interrupted" if error.get("kind") == "interrupted" else "failed"


# --- files -------------------------------------------------------------------------


def write_json(path: Path, data: Any) -> None:
    """Write atomically (a reader never sees half a file)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_in_place(path: Path, data: Any) -> None:
    """Overwrite an existing file in place: on a full disk, a shorter text fits in the
    blocks the file already has, where a new file (atomic write) gets none."""
    raw = json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    with path.open("r+b") as fh:
        fh.write(raw)
        fh.truncate()


def withdraw(folder: Path) -> None:
    """Remove every published file but the manifest; leave an empty ``results.json``."""
    for path in folder.iterdir():
        if path.name == MANIFEST:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    try:
        write_json(folder / RESULTS_FILE, {})
    except OSError:
        pass


def failure_page(folder: Path, manifest: dict[str, Any], error: dict[str, Any]) -> bool:
    """Write the failure page; on any error remove a partial page and return False."""
    from evaltools.report.render import render_failure

    try:
        render_failure(folder / "report.html", manifest, error, title=_study_title(folder, manifest))
        return True
    except Exception:
        (folder / "report.html").unlink(missing_ok=True)
        return False


def _study_title(folder: Path, manifest: dict[str, Any]) -> str | None:
    """The study's title in the report's language, as the index shows it (the notebook's
    ``evaltools.title``); None when it cannot be read (the page then names the study)."""
    try:
        from evaltools.report.render import report_language
        from evaltools.report.site import study_title

        # folder: reports/<study>/<run folder>
        return study_title(manifest, folder.parent.parent, report_language(manifest)) or None
    except Exception:
        return None


def seal(folder: Path, manifest: dict[str, Any], error: dict[str, Any]) -> None:
    """Write the manifest with its final status. If the full manifest cannot be written
    (a full disk), a minimal one overwrites the old in place, so it still says how the
    run ended."""
    manifest.update(status=status_of(error), error=error or None, outputs=_outputs(folder))
    try:
        write_json(folder / MANIFEST, manifest)
        return
    except OSError:
        pass
    minimal = {k: manifest.get(k) for k in MINIMAL_KEYS}
    try:
        _write_in_place(folder / MANIFEST, minimal)
    except OSError:
        write_json(folder / MANIFEST, minimal)  # no manifest yet: last try, may raise


def _outputs(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# --- the gates ---------------------------------------------------------------------


def finish(
    folder: Path,
    manifest: dict[str, Any],
    error: dict[str, Any],
    identifiers: Callable[[], set[str]],
    threshold: Callable[[], int],
) -> dict[str, Any]:
    """Failure page, manifest, attacker, privacy gate; return the run's final error
    (empty when it succeeded). Raises only when no manifest at all can be written."""
    if error:
        if not failure_page(folder, manifest, error):
            error = dict(error, page="the failure page could not be written")
    seal(folder, manifest, error)
    error = _attacker(folder, manifest, error, threshold)
    error = _privacy_gate(folder, manifest, error, identifiers)
    return _claim(folder, manifest, error)


# The claim of the run executing in a thread (run/claim.py registers it while the run runs):
# called with the folder and the final status, True when the run may be published.
PUBLISH_HOOKS: dict[int, Callable[[Path, str], bool]] = {}
CLAIM_LOST = ("this attempt lost its claim on the plan while it ran (its worker was presumed dead: missed "
              "heartbeats, a network partition or a paused process) and another attempt took the run "
              "over; so that the plan is not published twice, this one was not published")


def _claim(folder: Path, manifest: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
    """Last: under ``run-all`` on Dask, publish the plan's claim (run/claim.py). An attempt whose
    claim another attempt took over (its worker was presumed dead) ends ``interrupted``, its
    files withdrawn, so that a plan never has two published runs."""
    hook = PUBLISH_HOOKS.get(threading.get_ident())
    if hook is None or status_of(error) == "interrupted":
        return error
    try:
        if hook(folder, status_of(error)):
            return error
        note = CLAIM_LOST
    except Exception as exc:  # fail closed: a run we cannot prove is ours is not published
        note = f"the run's claim on its plan could not be checked ({describe(exc)})"
    error = {"kind": "interrupted", "step": "claim", "cell": None,
             "message": f"{note[0].upper()}{note[1:]}. The other attempt's run folder is the plan's run."}
    _republish(folder, manifest, error)
    return error


def _republish(folder: Path, manifest: dict[str, Any], error: dict[str, Any]) -> None:
    withdraw(folder)
    failure_page(folder, manifest, error)
    seal(folder, manifest, error)


def _attacker(folder: Path, manifest: dict[str, Any], error: dict[str, Any],
              threshold: Callable[[], int]) -> dict[str, Any]:
    from evaltools.report.attack import attack_run

    try:
        findings = attack_run(folder, threshold())
    except Exception as exc:  # fail closed: what was not checked is not published
        note = f"the attacker could not check the published files ({describe(exc)})"
        kind = "attacker error"
    else:
        if not findings:
            return error
        shown = "; ".join(str(f) for f in findings[:5])
        more = f"; and {len(findings) - 5} more" if len(findings) > 5 else ""
        note = (f"a differencing attack recovers {len(findings)} count(s) below the disclosure "
                f"threshold: {short(shown, 300)}{more}")
        kind = "disclosure"
    note += "; the published files were withdrawn"
    if error:
        error = dict(error, message=short(f"{error.get('message', '')} Also, {note}.", MESSAGE_LIMIT + 200))
    else:
        error = {"kind": kind, "step": "attacker", "cell": None,
                 "message": f"{note[0].upper()}{note[1:]}. Protect these numbers "
                            "(evaltools.report.protect / publish_table) and run again."}
    _republish(folder, manifest, error)
    return error


def _privacy_gate(folder: Path, manifest: dict[str, Any], error: dict[str, Any],
                  identifiers: Callable[[], set[str]]) -> dict[str, Any]:
    from evaltools.report.privacy import scan_run

    try:
        ids = identifiers()
    except Exception as exc:  # fail closed, but still look for personal codes
        ids = set()
        problem = describe(exc)
        if not error:
            error = {"kind": "privacy gate error", "step": "privacy gate", "cell": None,
                     "message": f"the identifiers of the input data could not be read ({problem}); "
                                "the published files were withdrawn."}
        else:
            error = dict(error, message=short(f"{error.get('message', '')} Also, the privacy gate "
                                              f"could not read the identifiers ({problem}); the "
                                              "published files were withdrawn.", MESSAGE_LIMIT + 200))
        _republish(folder, manifest, error)

    unreadable = getattr(ids, "unreadable", None) or {}
    if unreadable:  # the gate cannot know what to look for: fail closed
        names = ", ".join(sorted(Path(str(k)).name for k in unreadable)[:5])
        note = (f"the privacy gate could not read the identifiers of {len(unreadable)} input file(s) "
                f"({short(names, 200)}); the published files were withdrawn")
        if not error:
            error = {"kind": "privacy gate error", "step": "privacy gate", "cell": None,
                     "message": f"{note[0].upper()}{note[1:]}. Make those files readable (evaltools data "
                                "check) and run again."}
        else:
            error = dict(error, message=short(f"{error.get('message', '')} Also, {note}.", MESSAGE_LIMIT + 200))
        _republish(folder, manifest, error)

    problem: list[str] = []

    def scan() -> dict[str, list[str]] | None:
        try:
            return scan_run(folder, ids)
        except Exception as exc:
            problem.append(describe(exc))
            return None

    hits = scan()
    if hits == {}:
        return error
    if hits is None:  # the gate itself failed: nothing it did not check is published
        count_text = "an unknown number of"
        if not error:
            error = {"kind": "privacy gate error", "step": "privacy gate", "cell": None,
                     "message": f"the privacy gate could not scan the published files ({problem[-1]}); "
                                "they were withdrawn."}
    else:
        count_text = str(sum(len(v) for v in hits.values()))
    if hits is not None and not error:
        error = {
            "kind": "privacy", "step": "privacy gate", "cell": None,
            "message": "published output would contain pupil/teacher identifiers or personal "
            f"codes ({_describe_hits(hits)}); the outputs were withdrawn. Publish aggregates only.",
        }
    elif hits is not None or error.get("step") != "privacy gate":
        # the failure page or the message itself may be what leaks
        error = {
            "kind": error.get("kind", "runner error"), "step": error.get("step", "run"), "cell": None,
            "message": f"the run stopped at step '{error.get('step', 'run')}'. Its message was "
            f"withheld: the privacy gate found {count_text} identifier(s) in the published files, "
            "which were withdrawn. The executed notebook under private/ has the details.",
        }
    _republish(folder, manifest, error)
    if scan() == {}:
        return error
    # Still there: the manifest's parameters, the command or the page header carry it.
    for key in [k for k in manifest if k not in MINIMAL_KEYS]:
        manifest.pop(key)
    _republish(folder, manifest, error)
    if scan() == {}:
        return error
    (folder / "report.html").unlink(missing_ok=True)
    seal(folder, manifest, error)
    return error


def _describe_hits(hits: dict[str, list[str]]) -> str:
    """Files and counts, never values (the gate's own wording when it has one)."""
    try:
        from evaltools.report.privacy import describe_hits

        return short(describe_hits(hits), 400)
    except Exception:
        return "; ".join(f"{name}: {len(found)}" for name, found in hits.items())


# --- orphans -----------------------------------------------------------------------


@dataclass
class Swept:
    """A half-written run folder of a runner that is gone, now moved into place."""

    folder: Path
    status: str


def finish_orphan(root: Path, tmp: Path, study: str, run_id: str, now: datetime, command: str) -> Swept:
    """Mark the half-written run folder of a runner that is gone and move it into place."""
    try:
        manifest = json.loads((tmp / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError
    except (OSError, ValueError):
        manifest = {"run_id": run_id, "study": study, "started_at": None}
    last_seen = max((p.stat().st_mtime for p in tmp.rglob("*")), default=tmp.stat().st_mtime)
    manifest["finished_at"] = datetime.fromtimestamp(last_seen, timezone.utc).isoformat(timespec="seconds")
    previous = manifest.get("error") if manifest.get("status") == "failed" else None
    if previous:  # it had failed and was being finished when its runner died: keep why
        error = dict(previous)
    else:
        error = {
            "kind": "interrupted", "step": "run", "cell": None,
            "message": "the runner stopped before this run finished (killed, or the machine went "
            f"down); found and marked interrupted by `{command}` on {now:%Y-%m-%d %H:%M} UTC. "
            "Its results were not published; run the study again.",
        }
    withdraw(tmp)  # what a killed run wrote never went through the gates
    inputs = [root / entry["path"] for entry in (manifest.get("inputs") or {}).values()
              if isinstance(entry, dict) and entry.get("path")]

    def identifiers() -> set[str]:
        from evaltools.report.privacy import identifier_values

        return identifier_values([p for p in inputs if p.exists()])

    def threshold() -> int:
        from evaltools.report.policy import load_policy

        value = (manifest.get("parameters") or {}).get("min_cell")
        return value if isinstance(value, int) else load_policy(root).min_cell_floor

    error = finish(tmp, manifest, error, identifiers, threshold)
    final = tmp.parent / run_id
    os.replace(tmp, final)
    (root / "private" / study / run_id / "runner.json").unlink(missing_ok=True)
    return Swept(final, status_of(error))


# --- the index -----------------------------------------------------------------------


def index_identifiers(root: Path) -> set[str]:
    """Identifier values of the inputs of every run the index lists (read once per process while
    the files are unchanged: :func:`evaltools.run.identifiers.input_identifiers`)."""
    from evaltools.run.identifiers import input_identifiers

    paths: set[Path] = set()
    for manifest in (root / "reports").glob("*/*/manifest.json"):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for entry in (data.get("inputs") or {}).values() if isinstance(data, dict) else ():
            path = root / str(entry.get("path", "")) if isinstance(entry, dict) else None
            if path is not None and entry.get("path") and path.exists():
                paths.add(path)
    return input_identifiers(sorted(paths))


def scan_index(index: Path, root: Path) -> int:
    """How many identifiers the privacy gate finds in ``reports/index.html`` (-1: the
    gate could not run)."""
    from evaltools.report import privacy

    try:
        ids = index_identifiers(root)
        if getattr(ids, "unreadable", None):
            return -1
        if hasattr(privacy, "scan_index"):
            hits = privacy.scan_index(index, ids)
        else:
            import tempfile

            with tempfile.TemporaryDirectory() as folder:
                shutil.copyfile(index, Path(folder) / "report.html")
                hits = privacy.scan_run(Path(folder), ids)
    except Exception:
        return -1
    return sum(len(found) for found in hits.values())
