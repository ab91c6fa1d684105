"""``run-all``: :func:`run_plans` runs plans one by one or, with ``--jobs N``, in worker
processes that never take the command down.

Each run has its own worker process, so that the run-folder environment of one
kernel cannot leak into another's. An exception raised in a worker gives a failed
outcome for that run. A worker that dies (killed, out of memory) breaks the pool and
takes every unfinished run with it: each of those is tried once more in a pool of its
own, so the one that kills its worker fails and the others succeed. On SIGINT/SIGTERM the
parent forwards SIGINT to its workers: each running run shuts its kernel down and
ends ``interrupted``; runs not started yet are ``not run``. Idle workers ignore
SIGINT, so a Ctrl-C in the terminal (which reaches the whole process group) does not
kill them with a traceback.
"""
from __future__ import annotations

import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from evaltools.run.execute import KernelMissingError, RunOutcome, RunPlan, _crashed, _not_run, execute
from evaltools.run.lifecycle import SignalGuard

MAX_ATTEMPTS = 2  # a run taken down by a worker's death is tried once more, alone
POLL_S = 0.3


def run_plans(plans: list[RunPlan], jobs: int = 1, guard: SignalGuard | None = None) -> Iterator[RunOutcome]:
    """Execute plans, ``jobs`` at a time, yielding each outcome as it finishes.

    Never raises for one run: an exception in a run, in a worker process or a broken
    process pool gives a failed outcome and the others go on. With ``guard`` (a
    disarmed :class:`SignalGuard` of the caller), a SIGINT/SIGTERM stops new runs;
    running ones end ``interrupted`` and the rest are yielded as ``not run``.
    """
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}.")
    guard = guard or SignalGuard()
    if jobs == 1 or len(plans) <= 1:
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
        return
    yield from run_parallel(plans, jobs, guard)


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _execute_unless_stopped(plan: RunPlan, stop: str) -> RunOutcome:
    """In a worker: a run queued before an interrupt does not start after it."""
    if os.path.exists(stop):
        return _not_run(plan, "interrupted before it started")
    return execute(plan)


def _forward(pool: ProcessPoolExecutor) -> None:
    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            os.kill(pid, signal.SIGINT)
        except OSError:
            pass


def run_parallel(plans: list[RunPlan], jobs: int, guard: SignalGuard) -> Iterator[RunOutcome]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    attempts = {id(plan): 0 for plan in plans}
    todo = list(plans)
    with tempfile.TemporaryDirectory(prefix="evaltools-run-all-") as folder:
        stop = os.path.join(folder, "stop")
        retry: list[RunPlan] = []
        yield from _round(todo, jobs, guard, context, attempts, stop, retry)
        # The runs a dying worker took down with it, each in a pool of its own this time,
        # so that the one that kills its worker takes down nothing else.
        for plan in retry:
            if guard.received:
                yield _not_run(plan, "interrupted before it started")
            else:
                yield from _round([plan], 1, guard, context, attempts, stop, [])


def _round(todo: list[RunPlan], jobs: int, guard: SignalGuard, context, attempts: dict[int, int],
           stop: str, retry: list[RunPlan]) -> Iterator[RunOutcome]:
    """Run ``todo`` in one pool; plans lost to a broken pool are appended to ``retry``."""
    if todo:
        pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init)
        try:
            futures: dict[Future, RunPlan] = {}
            # Workers start while SIGINT is ignored here, so they are born ignoring it (an
            # ignored signal stays ignored across exec, and Python then installs no
            # KeyboardInterrupt): a Ctrl-C while one is still importing cannot kill it
            # with a traceback. execute() handles SIGINT itself during a run.
            main = threading.current_thread() is threading.main_thread()
            saved = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
            try:
                for plan in todo:
                    attempts[id(plan)] += 1
                    futures[pool.submit(_execute_unless_stopped, plan, stop)] = plan
            finally:
                if main:
                    signal.signal(signal.SIGINT, saved if saved is not None else signal.SIG_DFL)
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
                if guard.received:
                    if not os.path.exists(stop):
                        open(stop, "w").close()
                    for future in pending:
                        future.cancel()
                    _forward(pool)
                for future in done:
                    plan = futures[future]
                    if future.cancelled():
                        yield _not_run(plan, "interrupted before it started")
                        continue
                    exc = future.exception()
                    if exc is None:
                        outcome = future.result()
                        if outcome.signal is not None and not guard.received:
                            guard.received.append(outcome.signal)
                        yield outcome
                    elif isinstance(exc, BrokenProcessPool) and attempts[id(plan)] < MAX_ATTEMPTS \
                            and not guard.received:
                        retry.append(plan)
                    elif isinstance(exc, BrokenProcessPool):
                        yield _crashed(plan, RuntimeError(
                            "a worker process died (killed, out of memory, or crashed); a run folder "
                            "it left is marked interrupted"), "worker")
                    else:
                        yield _crashed(plan, exc, "worker")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
