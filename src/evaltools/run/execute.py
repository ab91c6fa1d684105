"""Run one study: validate, execute with papermill, render, write the run folder.

The run is written to ``reports/<study>/.tmp-<run-id>/`` and renamed to
``reports/<study>/<run-id>/`` only at the end, so a half-written run never looks
finished and earlier runs are never touched. Every run ends in one of three states:

- ``succeeded``;
- ``failed``: any exception at any step (cell error, cell timeout, dead kernel,
  hashing an unreadable input, rendering, the attacker, the privacy gate, a full
  disk, a bug) gives a run folder with the step, the kind and a one-paragraph
  message (never a traceback) in its manifest and a failure page;
- ``interrupted``: SIGINT or SIGTERM during the run (the kernel is shut down), or a
  runner killed outright, whose folder the next command finds (run/lifecycle.py).

The executed notebook is never published: papermill writes it to
``private/<study>/<run-id>/notebook.ipynb`` at the project root (git-ignored), where
it stays for debugging. The attacker and the privacy gate run on every run after
the last file is written and before the move (run/finish.py).
"""
from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import nbformat

from evaltools.core.errors import EvaltoolsError
from evaltools.data.demo import demo_inputs
from evaltools.report.record import RESULTS_FILE, RUN_DIR_ENV
from evaltools.run.finish import describe, error_from, finish, short, status_of, withdraw, write_json
from evaltools.run.identifiers import _IDENTIFIERS, _inputs_state, input_identifiers  # noqa: F401  (moved there)
from evaltools.run.lifecycle import OWNER_FILE, TMP_PREFIX, RunInterrupted, SignalGuard, signal_name, write_owner
from evaltools.run.parameters import ParameterError, ResolvedParameters, parse_overrides, validate
from evaltools.run.project import Project, read_params_file
from evaltools.run.provenance import display_path, environment, fingerprint, git_state, sha256_file

KERNEL_NAME = "evaltools"
#: Environment of every run's kernel; also written into the kernelspec (run/kernel.py), so
#: that JupyterLab and nbval run the notebooks as ``evaltools run`` does.
KERNEL_ENV = {"PYTHONHASHSEED": "0"}
DEFAULT_CELL_TIMEOUT = 600  # seconds per cell
MAX_CELL_TIMEOUT = 7 * 24 * 3600  # a week: beyond that a timer is not a limit
PRIVATE_DIR = "private"
EXECUTED_NOTEBOOK = "notebook.ipynb"
KERNEL_STOP_WAIT_S = 30.0  # after an interrupt: how long to wait for papermill to notice


class KernelMissingError(EvaltoolsError, RuntimeError):
    """The named Jupyter kernel of the workbench is not registered."""


def cell_timeout_seconds(value: Any) -> int:
    """A per-cell time limit in whole seconds: a positive finite number, a fraction
    rounded up (nbclient counts whole seconds), at most a week. Raises ValueError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0 or number > MAX_CELL_TIMEOUT:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
        raise ValueError(
            f"expected a positive number of seconds up to {MAX_CELL_TIMEOUT} (a week), got {shown}"
        )
    return math.ceil(number)


@dataclass
class RunPlan:
    """A validated run, ready to execute: nothing has been written yet."""

    project: Project
    study: str
    notebook: Path
    params_file: Path | None
    params: ResolvedParameters
    cell_timeout: int = DEFAULT_CELL_TIMEOUT

    @property
    def params_name(self) -> str:
        return self.params_file.stem if self.params_file else "defaults"


@dataclass
class RunOutcome:
    study: str
    params_name: str
    run_dir: Path | None
    status: str  # "succeeded" | "failed" | "interrupted" | "not run" (run-all only)
    duration_s: float
    headline: str = ""
    error: dict[str, Any] = field(default_factory=dict)
    signal: int | None = None  # SIGINT/SIGTERM received during the run
    notebook: Path | None = None  # the executed notebook, under private/

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def _not_run(plan: RunPlan, why: str) -> RunOutcome:
    return RunOutcome(plan.study, plan.params_name, None, "not run", 0.0,
                      error={"kind": "not run", "step": None, "cell": None, "message": why})


def _crashed(plan: RunPlan, exc: BaseException, step: str) -> RunOutcome:
    return RunOutcome(plan.study, plan.params_name, None, "failed", 0.0, error=error_from(exc, step))


def plan_run(
    project: Project,
    study: str,
    params_file: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
) -> RunPlan:
    """Check the study, the params file and every value; raise ``ParameterError``."""
    try:
        timeout = cell_timeout_seconds(cell_timeout)
    except ValueError as exc:
        raise ParameterError([f"--timeout: {exc}."], study) from None
    spec_study = project.study(study)
    given: dict[str, tuple[Any, str]] = {}
    path = None
    if params_file is not None:
        path = project.resolve_params_path(params_file)
        where = display_path(path, project.root)
        pf = read_params_file(path, where)
        if pf.study != study:
            raise ParameterError(
                [f"{where}: this params file is for study '{short(pf.study, 40)}', not '{study}'. "
                 f"Run `evaltools run {short(pf.study, 40)} -p {where}`."]
            )
        given.update(pf.given(where))
    given.update(parse_overrides(overrides))
    resolved = validate(
        spec_study.parameters,
        given,
        root=project.root,
        notebook_dir=spec_study.notebook.parent,
        context=f"study '{study}'",
    )
    return RunPlan(project, study, spec_study.notebook, path, resolved, timeout)


def ensure_kernel(name: str = KERNEL_NAME) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if name not in KernelSpecManager().find_kernel_specs():
        raise KernelMissingError(
            f"The Jupyter kernel '{name}' is not registered in this environment. "
            "Run `make setup` (it registers it), or: python -m evaltools.run.kernel "
            "(with the environment of a run)."
        )


Progress = Callable[[int, int, str], None]
"""``progress(n, total, heading)``: called as the n-th of ``total`` code cells starts, with the
heading of the notebook section it belongs to (the last markdown heading above it)."""


def execute(plan: RunPlan, progress: Progress | None = None) -> RunOutcome:
    """Execute a validated plan and write its run folder.

    Returns the outcome of every run (succeeded, failed, interrupted); raises only
    :class:`KernelMissingError`, before anything is written. ``progress`` (optional) hears
    of every code cell as it starts (``evaltools run`` shows it on standard error).
    """
    ensure_kernel()
    with SignalGuard() as guard:
        return _Run(plan, guard, progress).run()


def cell_progress(notebook: Path, progress: Progress) -> dict[str, Callable[..., None]]:
    """nbclient hooks (``on_cell_start``, ``on_cell_executed``) that call ``progress(n, total,
    heading)`` for each code cell of ``notebook`` as it starts. ``total`` counts papermill's
    injected cell; ``heading`` is the last markdown heading so far, in a markdown cell or
    displayed by a code cell (``display(Markdown("## " + t(...)))``). A failing ``progress``
    never stops the run."""
    nb = nbformat.read(notebook, as_version=4)
    total = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip()) + 1
    state: dict[str, Any] = {"n": 0, "heading": ""}

    def take_heading(text: str) -> None:
        found = next((line.lstrip("#").strip() for line in str(text).splitlines()
                      if line.startswith("#") and line.lstrip("#").strip()), "")
        state["heading"] = found or state["heading"]

    def started(cell: Any, **_: Any) -> None:
        source = cell.get("source", "")
        if cell.get("cell_type") == "markdown":
            take_heading(source)
        elif cell.get("cell_type") == "code" and source.strip():
            state["n"] += 1
            try:
                progress(min(state["n"], total), total, state["heading"])
            except Exception:  # noqa: BLE001 - the display is not the run
                pass

    def executed(cell: Any, **_: Any) -> None:
        for out in cell.get("outputs", []):
            markdown = out.get("data", {}).get("text/markdown") if isinstance(out, dict) else None
            if markdown:
                take_heading(markdown if isinstance(markdown, str) else "".join(markdown))

    return {"on_cell_start": started, "on_cell_executed": executed}


class _Run:
    """One run's state while it goes through its steps."""

    def __init__(self, plan: RunPlan, guard: SignalGuard, progress: Progress | None = None):
        self.plan = plan
        self.progress = progress
        self.guard = guard
        self.step = "setup"
        self.root = plan.project.root
        self.study_dir = plan.project.reports_dir / plan.study
        self.started = datetime.now(timezone.utc)
        self.t0 = time.perf_counter()
        self.run_id = ""
        self.tmp: Path | None = None
        self.private: Path | None = None
        self.manifest: dict[str, Any] = {}
        self.seconds: dict[str, float] = {}  # wall seconds of each step (private/<run>/steps.json)

    def _timed(self, step: str, work: Callable[[], Any]) -> Any:
        """``work()``, its wall seconds and CPU seconds (this process's, and those of the kernel, a
        child process reaped by then: ``<step>_cpu``) added to :attr:`seconds`."""
        import resource

        def cpu() -> float:
            own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

        t0, c0 = time.perf_counter(), cpu()
        try:
            return work()
        finally:
            for key, value in ((step, time.perf_counter() - t0), (f"{step}_cpu", cpu() - c0)):
                self.seconds[key] = round(self.seconds.get(key, 0.0) + value, 3)

    @property
    def notebook_out(self) -> Path:
        assert self.private is not None
        return self.private / EXECUTED_NOTEBOOK

    def run(self) -> RunOutcome:
        error: dict[str, Any] = {}
        try:
            try:
                self._start()
                self.step = "inputs"
                self.manifest["inputs"] = self._timed("inputs", self._hash_inputs)
                write_json(self.tmp / "manifest.json", self.manifest)
                self.step = "notebook"
                error = self._timed("notebook", self._notebook)
                if not error:
                    self.step = "render"
                    error = self._timed("render", self._render)
            finally:
                self.guard.disarm()  # from here on a signal is recorded, not raised
        except (RunInterrupted, KeyboardInterrupt) as exc:
            error = self._interrupted(getattr(exc, "signum", signal.SIGINT))
        except BaseException as exc:
            error = error_from(exc, self.step)
        return self._end(error)

    # --- steps -----------------------------------------------------------------

    def _start(self) -> None:
        """Claim a run id: its private folder (with the owner record), then the tmp folder."""
        base = f"{self.started:%Y%m%dT%H%M%SZ}-{self.plan.params_name}"
        n = 1
        while True:
            run_id = base if n == 1 else f"{base}-{n}"
            private = self.root / PRIVATE_DIR / self.plan.study / run_id
            taken = (self.study_dir / run_id).exists() or (self.study_dir / f"{TMP_PREFIX}{run_id}").exists()
            if not taken:
                try:
                    private.mkdir(parents=True)
                    break
                except FileExistsError:
                    pass
            n += 1
        self.run_id, self.private = run_id, private
        write_owner(private)
        tmp = self.study_dir / f"{TMP_PREFIX}{run_id}"
        tmp.mkdir(parents=True)
        self.tmp = tmp
        self.manifest = _manifest(self.plan, run_id, self.started)
        write_json(tmp / "manifest.json", self.manifest)
        write_json(tmp / RESULTS_FILE, {})

    def _hash_inputs(self) -> dict[str, Any]:
        return {
            name: {"path": display_path(path, self.root), "sha256": fingerprint(path)}
            for name, path in self.plan.params.inputs.items()
        }

    def _notebook(self) -> dict[str, Any]:
        """Run papermill in a thread (so that the main thread keeps the signals);
        return {} on success or a description of the failure."""
        import logging

        import papermill as pm
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        # Parameters were validated against the notebook's declarations already;
        # papermill's own guess at them ("unknown parameter") would only mislead.
        logging.getLogger("papermill").setLevel(logging.ERROR)
        plan, out = self.plan, self.notebook_out
        box: dict[str, BaseException] = {}
        hooks = cell_progress(plan.notebook, self.progress) if self.progress else {}

        def target() -> None:
            try:
                pm.execute_notebook(
                    str(plan.notebook),
                    str(out),
                    parameters=plan.params.values,
                    kernel_name=KERNEL_NAME,
                    cwd=str(plan.notebook.parent),
                    execution_timeout=plan.cell_timeout,
                    progress_bar=False,
                    log_output=False,
                    # Kernel start-up chatter (transport warnings, the interrupt at
                    # shutdown) is not the study's output; cell errors still arrive.
                    extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
                    # The kernel has nothing left to save once the last cell ran; a
                    # graceful shutdown only waits (0.7 s measured per run).
                    shutdown_kernel="immediate",
                    kernel_manager_class=_tracked_kernel_manager(),
                    **hooks,
                )
            except BaseException as exc:  # handed to the main thread
                box["exc"] = exc

        saved = {k: os.environ.get(k) for k in (RUN_DIR_ENV, *KERNEL_ENV)}
        os.environ[RUN_DIR_ENV] = str(self.tmp)
        os.environ.update(KERNEL_ENV)
        worker = threading.Thread(target=target, name=f"papermill-{self.run_id}", daemon=True)
        try:
            worker.start()
            while worker.is_alive():
                worker.join(0.2)
        except BaseException:
            _stop_kernels(worker)
            raise
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _KERNELS.clear()
        exc = box.get("exc")
        if exc is None:
            return {}
        if isinstance(exc, pm.PapermillExecutionError):
            return {
                "kind": "cell error", "step": "notebook",
                "cell": _cell_info(out, _cell_by_count(out, exc.exec_count)),
                "message": short(f"{exc.ename}: {exc.evalue}"),
            }
        if isinstance(exc, CellTimeoutError):
            return {
                "kind": "cell timeout", "step": "notebook",
                "cell": _cell_info(out, _last_started_cell(out)),
                "message": f"a cell ran longer than the {plan.cell_timeout} s limit "
                f"({short(str(exc).splitlines()[0] if str(exc) else '', 200)}); raise --timeout "
                "or make the cell faster",
            }
        if isinstance(exc, DeadKernelError):
            return {"kind": "kernel died", "step": "notebook",
                    "cell": _cell_info(out, _last_started_cell(out)), "message": describe(exc)}
        raise exc

    def _render(self) -> dict[str, Any]:
        from evaltools.report.render import UnprotectedTableError, render_report

        self.manifest["design_changes"] = _design_changes(self.tmp)
        try:
            render_report(self.notebook_out, self.tmp / "report.html", self.manifest)
        except UnprotectedTableError as exc:
            return {"kind": "disclosure", "step": "render", "cell": None,
                    "message": short(str(exc).split(": ", 1)[-1])}
        self.manifest["pdf"] = self._timed("pdf", lambda: _pdf(self.tmp / "report.html"))
        return {}

    def _interrupted(self, signum: int) -> dict[str, Any]:
        cell = None
        if self.step == "notebook" and self.private is not None:
            try:
                cell = _cell_info(self.notebook_out, _last_started_cell(self.notebook_out))
            except Exception:
                cell = None
        return {
            "kind": "interrupted", "step": self.step, "cell": cell,
            "message": f"the run was interrupted ({signal_name(signum)}) during step '{self.step}'"
            + ("; the kernel was shut down" if self.step == "notebook" else "")
            + ". Nothing of it was published; run the study again.",
        }

    # --- the end of every run --------------------------------------------------

    def _end(self, error: dict[str, Any]) -> RunOutcome:
        plan = self.plan
        duration = time.perf_counter() - self.t0
        if self.tmp is None:  # not even the run folder could be made
            if self.private is not None:
                (self.private / OWNER_FILE).unlink(missing_ok=True)
            return RunOutcome(plan.study, plan.params_name, None, status_of(error), duration,
                              error=error, signal=self.guard.signum)
        tmp, final = self.tmp, self.study_dir / self.run_id
        notebook = self.notebook_out if self.notebook_out.exists() else None
        try:
            if error and notebook is not None:
                where = display_path(notebook, self.root)
                error = dict(error, message=short(f"{error.get('message', '')} (executed notebook: {where})",
                                                   MESSAGE_LIMIT_WITH_PATH))
            for key, value in (("run_id", self.run_id), ("study", plan.study),
                               ("started_at", self.started.isoformat(timespec="seconds"))):
                self.manifest.setdefault(key, value)  # the run may have stopped before its manifest
            self.manifest.update(
                finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                duration_s=round(duration, 3),
                executed_notebook=_executed_notebook(notebook, self.root),
            )
            if status_of(error) == "interrupted":
                withdraw(tmp)  # half a run's results are not published
            error = self._timed("finish", lambda: finish(tmp, self.manifest, error, self._identifiers,
                                                         self._threshold))
            os.replace(tmp, final)
        except Exception as exc:  # no manifest could be written, or the move failed: the
            # folder stays .tmp-; once this process is gone the next command sweeps it
            error = error_from(exc, "finish")
            return RunOutcome(plan.study, plan.params_name, tmp, status_of(error),
                              time.perf_counter() - self.t0, error=error,
                              signal=self.guard.signum, notebook=notebook)
        (self.private / OWNER_FILE).unlink(missing_ok=True)
        self._write_steps()
        from evaltools.report.site import headline_text

        status = status_of(error)
        try:
            headline = headline_text(final) if status == "succeeded" else ""
        except Exception:
            headline = ""
        return RunOutcome(plan.study, plan.params_name, final, status, duration, headline=headline,
                          error=error, signal=self.guard.signum, notebook=notebook)

    def _write_steps(self) -> None:
        """The steps' wall seconds beside the executed notebook (private, never published): what
        ``benchmarks/`` reads to break a run's time down (render includes the PDF, ``pdf``)."""
        try:
            write_json(self.private / STEPS_FILE, self.seconds)
        except OSError:
            pass

    def _identifiers(self) -> set[str]:
        return input_identifiers(list(self.plan.params.inputs.values()))

    def _threshold(self) -> int:
        """The run's ``min_cell`` when the study declares one, never below the project's floor."""
        from evaltools.report.policy import load_policy

        floor = load_policy(self.root).min_cell_floor
        value = self.plan.params.values.get("min_cell")
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, floor)
        return floor


MESSAGE_LIMIT_WITH_PATH = 700
STEPS_FILE = "steps.json"


def _pdf(html: Path) -> dict[str, Any]:
    """``report.pdf`` beside ``html`` (evaltools.report.pdf), before the attacker and the
    privacy gate see the folder. A PDF that cannot be made does not fail the run: the
    HTML report stands, and the manifest (``pdf.error``) and the terminal say why."""
    from evaltools.report.pdf import PDF_NAME, write_pdf

    try:
        write_pdf(html, html.with_name(PDF_NAME))
    except Exception as exc:  # noqa: BLE001 - reported, the HTML is published
        (html.with_name(PDF_NAME)).unlink(missing_ok=True)
        message = short(f"report.pdf was not made ({describe(exc)}); report.html was published")
        print(f"evaltools: {message}", file=sys.stderr)
        return {"file": None, "error": message}
    return {"file": PDF_NAME, "error": None}


def _executed_notebook(path: Path | None, root: Path) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        digest = sha256_file(path)
    except OSError:
        digest = None
    return {"path": display_path(path, root), "sha256": digest, "published": False}


# --- the kernel of the running notebook ------------------------------------------

_KERNELS: list[Any] = []
_TRACKED: list[type] = []


def _tracked_kernel_manager() -> type:
    """jupyter_client's kernel manager, remembering each instance so that an
    interrupted run can shut its kernel down from the main thread."""
    if not _TRACKED:
        from jupyter_client.manager import AsyncKernelManager

        class TrackedKernelManager(AsyncKernelManager):
            def __init__(self, *args: Any, **kwargs: Any):
                super().__init__(*args, **kwargs)
                _KERNELS.append(self)

        _TRACKED.append(TrackedKernelManager)
    return _TRACKED[0]


def _kill_kernels() -> None:
    for km in list(_KERNELS):
        provisioner = getattr(km, "provisioner", None)
        pgid, pid = getattr(provisioner, "pgid", None), getattr(provisioner, "pid", None)
        try:
            if pgid and hasattr(os, "killpg"):
                os.killpg(pgid, signal.SIGKILL)  # the kernel and anything it started
            elif pid:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _stop_kernels(worker: threading.Thread) -> None:
    """Shut the kernel down and wait for papermill to notice (it then saves the notebook)."""
    deadline = time.monotonic() + KERNEL_STOP_WAIT_S
    while worker.is_alive() and time.monotonic() < deadline:
        _kill_kernels()  # again each time: the kernel may have been starting
        worker.join(0.2)


def _design_changes(folder: Path) -> list[dict[str, str]]:
    """What the study recorded as changed from the options asked (report/deviations.py)."""
    import json

    from evaltools.report.deviations import design_changes

    try:
        results = json.loads((folder / RESULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return design_changes(results) if isinstance(results, dict) else []


def _cell_by_count(path: Path, count: int | None) -> int | None:
    """Index of the cell with this execution count (papermill adds banner cells, so
    the exception's own index does not point into the saved notebook)."""
    if count is None or not path.exists():
        return None
    nb = nbformat.read(path, as_version=4)
    return next((i for i, c in enumerate(nb.cells) if c.get("execution_count") == count), None)


def _last_started_cell(path: Path) -> int | None:
    """On a timeout papermill leaves no error mark: the running cell is the last started."""
    if not path.exists():
        return None
    nb = nbformat.read(path, as_version=4)
    started = [i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    return started[-1] if started else None


def _cell_info(path: Path, index: int | None) -> dict[str, Any] | None:
    if index is None or not path.exists():
        return None
    nb = nbformat.read(path, as_version=4)
    if not 0 <= index < len(nb.cells):
        return None
    cell = nb.cells[index]
    lines = cell.source.strip().splitlines()
    return {
        "index": index,
        "execution_count": cell.get("execution_count"),
        "first_line": short(lines[0], 120) if lines else "",
    }


def _manifest(plan: RunPlan, run_id: str, started: datetime) -> dict[str, Any]:
    """The manifest as the run starts (inputs are hashed in their own step)."""
    root = plan.project.root
    params_file = None
    if plan.params_file:
        params_file = {"path": display_path(plan.params_file, root), "sha256": sha256_file(plan.params_file)}
    shown = {
        k: (display_path(Path(v), root) if k in plan.params.inputs else v)
        for k, v in plan.params.values.items()
    }
    return {
        "run_id": run_id,
        "study": plan.study,
        "notebook": {"path": display_path(plan.notebook, root), "sha256": sha256_file(plan.notebook)},
        "params_file": params_file,
        "parameters": shown,
        "parameter_origins": plan.params.origins,
        "inputs": {},
        # the synthetic generator's marker of the inputs (None for real data): the banner and the index use it
        "demo": demo_inputs(plan.params.inputs),
        "seed": plan.params.values.get("seed"),
        "code": git_state(root),
        "environment": environment(),
        "kernel": KERNEL_NAME,
        "cell_timeout_s": plan.cell_timeout,
        "command": " ".join(["evaltools", *sys.argv[1:]]) if sys.argv else "",
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": None,
        "duration_s": None,
        "status": "running",
        "error": None,
    }
