"""``run-all``: :func:`run_plans` runs plans one by one in this process, or as Dask tasks.

Engines:

- ``jobs == 1`` (or a single plan, and no scheduler): one after another, in this process.
- otherwise a Dask ``LocalCluster`` of ``jobs`` worker processes with one thread each,
  started here and closed at the end;
- ``scheduler="tcp://host:port"``: an existing Dask cluster (its workers must have the same
  lock installed and see the project folder at the same path: docs/distributed.md).

One task per run: :func:`run_plan`, a top-level function of the installed package, submitted
by reference with a plain, picklable :class:`~evaltools.run.execute.RunPlan` (``pure=False``,
so two plans never share a result). A worker runs one run at a time (a lock, whatever its
number of threads): the run folder reaches the kernel through the process environment.

Failure semantics:

- an exception in a run gives a failed outcome (never retried: it would fail again);
- a worker that dies (killed, out of memory) takes only its own run with it: the scheduler
  starts that run once more on a live worker (``allowed-failures`` = 1 on a LocalCluster;
  an external scheduler uses its own setting, 3 by default); a run that kills its worker
  every time ends ``failed`` with "a worker process died". The killed attempt's
  ``.tmp-`` folder, whose owner (the dead worker) is gone, is marked ``interrupted`` by the
  sweep (run/lifecycle.py) that ``run-all`` does before it rebuilds the index. A plan thus ends
  with exactly one succeeded or failed run folder, plus an interrupted one per lost attempt;
- a worker the scheduler presumes dead but which still runs (missed heartbeats, a partition,
  a paused process): each plan has a claim (run/claim.py) that exactly one attempt can publish;
  the retry takes it over once the first attempt's heartbeat is stale (at once when its process
  is provably gone), and the attempt that lost it ends ``interrupted`` instead of publishing;
- SIGINT/SIGTERM to ``run-all``: a Dask ``Event`` tells every worker; a run not started yet
  does not start (``not run``), a running notebook is stopped (its kernel shut down) and the
  run ends ``interrupted``. Worker processes of the LocalCluster are started ignoring SIGINT,
  so a Ctrl-C in the terminal reaches only ``run-all``.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import threading
import time
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from evaltools.core.errors import EvaltoolsError
from evaltools.run.claim import CLAIMS_DIR, PUBLISH_WAIT_S, STALE_S, Claim, ClaimSpec, Published, holding, prepare
from evaltools.run.execute import KernelMissingError, RunOutcome, RunPlan, _crashed, _not_run, execute
from evaltools.run.lifecycle import RunInterrupted, SignalGuard

MAX_ATTEMPTS = 2  # a run whose worker died is started once more on another worker
POLL_S = 0.3
STOP_POLL_S = 0.5
CONNECT_TIMEOUT = "15s"  # to reach a scheduler given with --scheduler
WORKER_DIED = ("a worker process died (killed, out of memory, or crashed); a run folder it left is "
               "marked interrupted")
# Imported once per worker when it joins (WarmUp), not once per run.
WARM_MODULES = ("evaltools.run.execute", "evaltools.report.render", "evaltools.report.pdf",
                "evaltools.report.site", "evaltools.report.privacy", "evaltools.report.attack",
                "scipy.optimize", "pypdf", "papermill", "nbclient", "jupyter_client.manager")


class SchedulerError(EvaltoolsError, RuntimeError):
    """The Dask scheduler given with ``--scheduler`` cannot be reached or used."""


def cores() -> int:
    """CPU cores this process may use (the default number of LocalCluster workers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def run_plans(plans: list[RunPlan], jobs: int | None = 1, guard: SignalGuard | None = None,
              scheduler: str | None = None) -> Iterator[RunOutcome]:
    """Execute plans, yielding each outcome as it finishes.

    ``jobs``: LocalCluster workers (None: one per core); ``scheduler``: the address of an
    existing Dask scheduler instead. Never raises for one run: an exception in a run or a
    dead worker gives a failed outcome and the others go on. With ``guard`` (a disarmed
    :class:`SignalGuard` of the caller), a SIGINT/SIGTERM stops new runs; running ones end
    ``interrupted`` and the rest are yielded as ``not run``. Raises :class:`SchedulerError`
    (before any run) when the scheduler cannot be reached.
    """
    if jobs is None:
        jobs = cores()
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}.")
    guard = guard or SignalGuard()
    if scheduler is None and (jobs == 1 or len(plans) <= 1):
        yield from run_here(plans, guard)
        return
    yield from run_distributed(plans, min(jobs, max(1, len(plans))), guard, scheduler)


def run_here(plans: list[RunPlan], guard: SignalGuard) -> Iterator[RunOutcome]:
    """One after another in this process (the main thread keeps the signals)."""
    for plan in plans:
        if guard.received:
            yield _not_run(plan, "interrupted before it started")
            continue
        try:
            outcome = execute(plan)
        except KernelMissingError:
            raise
        except Exception as exc:
            outcome = _crashed(plan, exc, "run")
        if outcome.signal is not None:
            guard.received.append(outcome.signal)
        yield outcome


# --- the task ---------------------------------------------------------------------------

_ONE_RUN = threading.Lock()  # one run at a time per worker process (os.environ is shared)


class StopRequested(RunInterrupted):
    """Raised in a worker's running task when ``run-all`` was told to stop."""

    def __init__(self) -> None:
        super().__init__(signal.SIGINT)


def run_plan(plan: RunPlan, stop: str | None = None, claim: ClaimSpec | None = None) -> RunOutcome:
    """A Dask task: execute one validated plan in this worker and return its outcome.

    ``stop``: the name of a ``distributed.Event``; set before the run starts, the run does
    not start (``not run``); set while its notebook runs, the kernel is shut down and the
    run ends ``interrupted``. ``claim``: the plan's claim (run/claim.py): the run starts only
    once this attempt holds it (at once for a first attempt or after a dead worker, after the
    holder's heartbeat went stale otherwise); a plan another attempt already published is
    reported, not run again; a run whose claim was taken over meanwhile ends ``interrupted``.
    Never raises: any exception gives a failed outcome.
    """
    with _ONE_RUN:
        event = _event(stop)
        if event is not None and _is_set(event):
            return _not_run(plan, "interrupted before it started")
        attempt = None
        if claim is not None:
            attempt = Claim(claim)
            try:
                found = attempt.acquire(stop=lambda: event is not None and _is_set(event))
            except Exception as exc:
                return _crashed(plan, exc, "worker")
            if isinstance(found, Published):
                return published_outcome(plan, found)
            if not attempt.marker.exists():  # told to stop while waiting for the claim
                return _not_run(plan, "interrupted before it started")
        try:
            with holding(attempt) if attempt is not None else contextlib.nullcontext():
                return _run_watched(plan, event)
        finally:
            if attempt is not None and not attempt.published:
                attempt.release()


def published_outcome(plan: RunPlan, found: Published) -> RunOutcome:
    """The outcome of a plan that an earlier attempt (presumed dead, still alive) published:
    its run folder, once it is in place (the claim is published just before the move)."""
    info = found.info
    run_id, status = str(info.get("run_id") or ""), str(info.get("status") or "failed")
    folder = plan.project.reports_dir / plan.study / run_id if run_id else None
    deadline = time.monotonic() + PUBLISH_WAIT_S
    while folder is not None and not folder.is_dir() and time.monotonic() < deadline:
        time.sleep(POLL_S)
    if folder is None or not folder.is_dir():
        return _crashed(plan, RuntimeError(
            "an earlier attempt of this run (on a worker presumed dead) published it, but its run "
            "folder did not appear; run the study again"), "worker")
    error: dict[str, Any] = {}
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        status = str(manifest.get("status") or status)
        error = manifest.get("error") or {}
    except (OSError, ValueError, AttributeError):
        pass
    headline = ""
    if status == "succeeded":
        with contextlib.suppress(Exception):
            from evaltools.report.site import headline_text

            headline = headline_text(folder)
    return RunOutcome(plan.study, plan.params_name, folder, status, 0.0, headline=headline,
                      error=error if isinstance(error, dict) else {})


def _run_watched(plan: RunPlan, event: Any) -> RunOutcome:
    """Execute ``plan`` here, a watcher beside it to stop it when ``event`` is set."""
    done = threading.Event()
    watcher = None
    if event is not None:
        watcher = threading.Thread(target=_watch, args=(event, threading.get_ident(), done),
                                   name="evaltools-stop-watcher", daemon=True)
        watcher.start()
    try:
        return execute(plan)
    except StopRequested:  # arrived outside the run's own handling: nothing was started
        return _not_run(plan, "interrupted before it started")
    except Exception as exc:
        return _crashed(plan, exc, "worker")
    finally:
        done.set()
        if watcher is not None:
            watcher.join(STOP_POLL_S * 4)


def _event(name: str | None) -> Any:
    if not name:
        return None
    try:
        from distributed import Event

        return Event(name)
    except Exception:  # not inside a worker (a direct call): nothing can ask to stop
        return None


def _is_set(event: Any) -> bool:
    try:
        return bool(event.is_set())
    except Exception:
        return False


def _notebook_running() -> bool:
    """Is a notebook of this worker's run executing (a kernel started, papermill's thread alive)?"""
    from evaltools.run import execute as ex

    return bool(ex._KERNELS) and any(t.name.startswith("papermill-") and t.is_alive()
                                     for t in threading.enumerate())


def _watch(event: Any, task_thread: int, done: threading.Event) -> None:
    """In the worker, beside the task: once ``run-all`` says stop, interrupt the run while its
    notebook runs (the run handles :class:`RunInterrupted` as it does a SIGINT); a run past
    its notebook (rendering, the gates) is left to finish."""
    while not done.wait(STOP_POLL_S):
        if not _is_set(event):
            continue
        while not done.is_set():
            if _notebook_running():
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(task_thread),
                                                           ctypes.py_object(StopRequested))
                return
            done.wait(0.1)
        return


class WarmUp(WorkerPlugin):
    """Worker plugin: import the runner, papermill and the report layer once, when the
    worker joins, so that no run pays for it (a kernel still starts per run)."""

    name = "evaltools-warm-up"
    idempotent = True

    def setup(self, worker: Any = None) -> None:
        import importlib

        for module in WARM_MODULES:
            with contextlib.suppress(Exception):
                importlib.import_module(module)



# --- the caller's side ------------------------------------------------------------------


@contextlib.contextmanager
def _ignoring_sigint() -> Iterator[None]:
    """Processes started meanwhile are born ignoring SIGINT (kept across exec): a Ctrl-C in
    the terminal, which reaches the whole process group, cannot kill a worker."""
    main = threading.current_thread() is threading.main_thread()
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGINT, saved if saved is not None else signal.SIG_DFL)


@contextlib.contextmanager
def client_for(jobs: int, scheduler: str | None) -> Iterator[Any]:
    """A Dask client: of a new LocalCluster (``jobs`` processes, one thread each), or of the
    scheduler at ``scheduler``. The warm-up plugin is registered on its workers."""
    import dask
    from distributed import Client, LocalCluster

    quiet = logging.ERROR
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker",
                 "distributed.core", "distributed.comm", "tornado"):
        logging.getLogger(name).setLevel(quiet)
    cluster = None
    with dask.config.set({"distributed.scheduler.allowed-failures": MAX_ATTEMPTS - 1,
                          "distributed.logging.distributed": "error"}):
        if scheduler is None:
            with _ignoring_sigint():
                cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None, memory_limit=0,
                                       silence_logs=quiet)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except Exception as exc:
                raise SchedulerError(
                    f"cannot connect to the Dask scheduler at {scheduler} ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200] if str(exc) else ''}). Check the address "
                    "(tcp://HOST:PORT, as `dask scheduler` prints it) and that the scheduler runs; "
                    "see docs/distributed.md.") from None
    try:
        try:
            client.register_plugin(WarmUp(), name=WarmUp.name)
        except Exception as exc:
            raise SchedulerError(
                f"the Dask workers cannot load evaltools ({type(exc).__name__}); install the same "
                "lock (requirements.txt and evaltools) on every worker: docs/distributed.md.") from None
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=10)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=30)


def run_distributed(plans: list[RunPlan], jobs: int, guard: SignalGuard,
                    scheduler: str | None = None) -> Iterator[RunOutcome]:
    """One Dask task per plan; outcomes are yielded as tasks finish."""
    from distributed import Event, wait
    from distributed.client import FutureCancelledError

    with client_for(jobs, scheduler) as client:
        stop = Event(f"evaltools-stop-{uuid.uuid4().hex}", client=client)
        invocation = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        claims = plans[0].project.root.joinpath(*CLAIMS_DIR, invocation) if plans else None
        futures = {}
        for i, plan in enumerate(plans):
            key = f"evaltools-run-{plan.study}-{plan.params_name}-{i}-{uuid.uuid4().hex[:8]}"
            claim = prepare(plan.project.root, invocation, i, f"{plan.study}-{plan.params_name}",
                            stale_s=claim_stale_s())
            futures[client.submit(run_plan, plan, stop.name, claim, key=key, pure=False, retries=0)] = plan
        pending = set(futures)
        stopping = False
        while pending:
            try:
                done, pending = wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            if guard.received and not stopping:
                stopping = True
                with contextlib.suppress(Exception):
                    stop.set()
            for future in done:
                plan = futures[future]
                try:
                    outcome = future.result()
                except (FutureCancelledError, TimeoutError) as exc:
                    outcome = _crashed(plan, exc, "worker")
                except Exception as exc:
                    if type(exc).__name__ == "KilledWorker":
                        outcome = _crashed(plan, RuntimeError(WORKER_DIED), "worker")
                    else:
                        outcome = _crashed(plan, exc, "worker")
                if outcome.signal is not None and not guard.received:
                    guard.received.append(outcome.signal)
                yield outcome
        time.sleep(0)  # let the last messages go before the cluster closes
    if claims is not None:  # an attempt still running somewhere cannot publish without its claim
        shutil.rmtree(claims, ignore_errors=True)
        with contextlib.suppress(OSError):
            claims.parent.rmdir()


def claim_stale_s() -> float:
    """Seconds without a heartbeat after which a retried run takes over from an attempt whose
    worker was presumed dead (``EVALTOOLS_CLAIM_STALE_S``, default 30)."""
    try:
        value = float(os.environ.get("EVALTOOLS_CLAIM_STALE_S", STALE_S))
    except ValueError:
        return STALE_S
    return value if value > 0 else STALE_S
