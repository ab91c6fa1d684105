"""Run one study: validate, execute with papermill, render, write the run folder.

The run is written to ``reports/<study>/.tmp-<run-id>/`` and renamed to
``reports/<study>/<run-id>/`` only at the end, so a half-written run never looks
finished and earlier runs are never touched. A failed run (cell error, cell
timeout, dead kernel, rendering error) is moved into place too, with
``status: failed`` and the failing cell in its manifest and the executed
notebook kept for debugging.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat

from evaltools.report.record import RESULTS_FILE, RUN_DIR_ENV
from evaltools.run.parameters import ParameterError, ResolvedParameters, validate
from evaltools.run.project import Project, read_params_file
from evaltools.run.provenance import display_path, environment, fingerprint, git_state, sha256_file

KERNEL_NAME = "evaltools"
DEFAULT_CELL_TIMEOUT = 600  # seconds per cell


class KernelMissingError(RuntimeError):
    """The named Jupyter kernel of the workbench is not registered."""


@dataclass
class RunPlan:
    """A validated run, ready to execute: nothing has been written yet."""

    project: Project
    study: str
    notebook: Path
    params_file: Path | None
    params: ResolvedParameters
    cell_timeout: float = DEFAULT_CELL_TIMEOUT

    @property
    def params_name(self) -> str:
        return self.params_file.stem if self.params_file else "defaults"


@dataclass
class RunOutcome:
    study: str
    params_name: str
    run_dir: Path
    status: str  # "succeeded" | "failed"
    duration_s: float
    headline: str = ""
    error: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def run_plans(plans: list[RunPlan], jobs: int = 1) -> Iterator[RunOutcome]:
    """Execute plans, ``jobs`` at a time, yielding each outcome as it finishes.

    Each run has its own kernel; with ``jobs > 1`` each also has its own worker
    process, so that the run-folder environment of one kernel cannot leak into
    another's.
    """
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}.")
    if jobs == 1 or len(plans) <= 1:
        for plan in plans:
            yield execute(plan)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        futures = [pool.submit(execute, plan) for plan in plans]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def plan_run(
    project: Project,
    study: str,
    params_file: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
) -> RunPlan:
    """Check the study, the params file and every value; raise ``ParameterError``."""
    spec_study = project.study(study)
    given: dict[str, tuple[Any, str]] = {}
    path = None
    if params_file is not None:
        path = project.resolve_params_path(params_file)
        pf = read_params_file(path)
        where = display_path(path, project.root)
        if pf.study != study:
            raise ParameterError(
                [f"{where}: this params file is for study '{pf.study}', not '{study}'. "
                 f"Run `evaltools run {pf.study} -p {where}`."]
            )
        given.update({k: (v, where) for k, v in pf.parameters.items()})
    problems = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"--set {item!r}: expected key=value, e.g. --set language=en.")
            continue
        given[key.strip()] = (value, "--set")
    if problems:
        raise ParameterError(problems, study)
    resolved = validate(
        spec_study.parameters,
        given,
        root=project.root,
        notebook_dir=spec_study.notebook.parent,
        context=f"study '{study}'",
    )
    return RunPlan(project, study, spec_study.notebook, path, resolved, cell_timeout)


def ensure_kernel(name: str = KERNEL_NAME) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if name not in KernelSpecManager().find_kernel_specs():
        raise KernelMissingError(
            f"The Jupyter kernel '{name}' is not registered in this environment. "
            "Run `make setup` (it registers it), or: python -m ipykernel install "
            f"--sys-prefix --name {name}."
        )


def execute(plan: RunPlan) -> RunOutcome:
    """Execute a validated plan and write its run folder. Never raises on a notebook error."""
    ensure_kernel()
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    study_dir = plan.project.reports_dir / plan.study
    run_id = _new_run_id(study_dir, started, plan.params_name)
    tmp = study_dir / f".tmp-{run_id}"
    tmp.mkdir(parents=True)
    manifest = _manifest(plan, run_id, started)
    _write_json(tmp / "manifest.json", manifest)
    _write_json(tmp / RESULTS_FILE, {})

    error = _run_notebook(plan, tmp) or _render(tmp, manifest) or _privacy_gate(tmp, plan)
    if error:
        _render_failure(tmp, manifest, error)

    finished = datetime.now(timezone.utc)
    duration = time.perf_counter() - t0
    manifest.update(
        status="failed" if error else "succeeded",
        finished_at=finished.isoformat(timespec="seconds"),
        duration_s=round(duration, 3),
        error=error or None,
        outputs=sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()),
    )
    _write_json(tmp / "manifest.json", manifest)
    final = study_dir / run_id
    os.replace(tmp, final)
    from evaltools.report.site import headline_text

    return RunOutcome(
        plan.study,
        plan.params_name,
        final,
        manifest["status"],
        duration,
        headline=headline_text(final),
        error=error or {},
    )


def _run_notebook(plan: RunPlan, tmp: Path) -> dict[str, Any]:
    """Run papermill; return {} on success or a description of the failure."""
    import logging

    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    # Parameters were validated against the notebook's declarations already;
    # papermill's own guess at them ("unknown parameter") would only mislead.
    logging.getLogger("papermill").setLevel(logging.ERROR)

    out = tmp / "notebook.ipynb"
    saved = {k: os.environ.get(k) for k in (RUN_DIR_ENV, "PYTHONHASHSEED")}
    os.environ[RUN_DIR_ENV] = str(tmp)
    os.environ["PYTHONHASHSEED"] = "0"
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
        )
    except pm.PapermillExecutionError as exc:
        return {
            "kind": "cell error",
            "cell": _cell_info(out, _cell_by_count(out, exc.exec_count)),
            "message": f"{exc.ename}: {exc.evalue}",
        }
    except CellTimeoutError as exc:
        return {
            "kind": "cell timeout",
            "cell": _cell_info(out, _last_started_cell(out)),
            "message": f"a cell ran longer than the {plan.cell_timeout:g} s limit "
            f"({str(exc).splitlines()[0]})",
        }
    except DeadKernelError as exc:
        return {"kind": "kernel died", "cell": _cell_info(out, _last_started_cell(out)), "message": str(exc)}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {}


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
        "first_line": lines[0] if lines else "",
    }


def _render(tmp: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    from evaltools.report.render import UnprotectedTableError, render_report

    try:
        render_report(tmp / "notebook.ipynb", tmp / "report.html", manifest)
    except UnprotectedTableError as exc:
        return {"kind": "disclosure", "cell": None, "message": str(exc).split(": ", 1)[-1]}
    except Exception as exc:  # a rendering bug must fail the run, not crash run-all
        return {"kind": "rendering error", "cell": None, "message": f"{type(exc).__name__}: {exc}"}
    return {}


def _privacy_gate(tmp: Path, plan: RunPlan) -> dict[str, Any]:
    """Withdraw every published file if one holds an identifier (see report.privacy)."""
    from evaltools.report.privacy import identifier_values, scan_run

    hits = scan_run(tmp, identifier_values(plan.params.inputs.values()))
    if not hits:
        return {}
    for path in [tmp / "report.html", *tmp.glob("tables/*")]:
        path.unlink(missing_ok=True)
    _write_json(tmp / RESULTS_FILE, {})
    # Name the files and counts only: the values themselves must not be published.
    where = "; ".join(f"{name}: {len(found)}" for name, found in hits.items())
    return {
        "kind": "privacy",
        "cell": None,
        "message": "published output would contain pupil/teacher identifiers or personal "
        f"codes ({where}); the outputs were withdrawn. Publish aggregates only.",
    }


def _render_failure(tmp: Path, manifest: dict[str, Any], error: dict[str, Any]) -> None:
    from evaltools.report.render import render_failure

    render_failure(tmp / "report.html", manifest, error)


def _manifest(plan: RunPlan, run_id: str, started: datetime) -> dict[str, Any]:
    root = plan.project.root
    inputs = {
        name: {"path": display_path(path, root), "sha256": fingerprint(path)}
        for name, path in plan.params.inputs.items()
    }
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
        "inputs": inputs,
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


def _new_run_id(study_dir: Path, started: datetime, params_name: str) -> str:
    base = f"{started:%Y%m%dT%H%M%SZ}-{params_name}"
    run_id, n = base, 1
    while (study_dir / run_id).exists() or (study_dir / f".tmp-{run_id}").exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    os.replace(tmp, path)

