"""The ``evaltools`` command line.

    evaltools studies                      every study and its parameters
    evaltools run STUDY [-p FILE] [--set key=value ...]   one run, then the index
    evaltools run-all                      every params file, then the index
    evaltools site                         rebuild reports/index.html
    evaltools new-study NAME               the files of a new study (docs/new_study.md)
    evaltools params municipal_quality     one params file per municipality
    evaltools data synth|check|pseudonymise  the data layer
    evaltools lab                          JupyterLab on the project (as `make lab`)

Global options: --version, -v (more detail), -q (no progress, no bars); every command's
--help has a description, examples, defaults and exit codes (docs/cli.md).

Exit codes: 0 success; 1 a run failed (or was interrupted, in run-all, by a dead
worker); 2 bad input (parameters, params file, study name, data, --timeout), in
which case nothing was executed; 130 / 143 interrupted by SIGINT / SIGTERM (the run
is marked interrupted and moved into place first).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import textwrap
from collections.abc import Sequence

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
TIMEOUT_HELP = ("per-cell time limit in seconds (default 600): a positive number up to 604800 (a week); "
                "a fraction is rounded up to whole seconds")


def build_parser() -> argparse.ArgumentParser:
    from evaltools import __version__

    parser = argparse.ArgumentParser(
        prog="evaltools",
        description="Run the evaluation studies of the workbench and publish their reports.",
        epilog=_epilog("evaltools", MAIN_EXAMPLES), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"evaltools {__version__}")
    parser.add_argument("--root", help="project folder (default: $EVALTOOLS_ROOT or the nearest folder with notebooks/)")
    _verbosity(parser, 0)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("studies", help="list every study with its parameters")
    p.add_argument("--json", action="store_true", help="print JSON (studies, params files, parameters) "
                   "instead of the table")
    p.set_defaults(func=cmd_studies)

    p = sub.add_parser("run", help="validate parameters, run one study, write its report")
    p.add_argument("study", help="study name (a notebook in notebooks/)")
    p.add_argument("-p", "--params", metavar="FILE", help="params YAML file (e.g. params/municipal_quality.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one parameter (repeatable)")
    p.add_argument("--timeout", type=_timeout_arg, default=None, metavar="SECONDS", help=TIMEOUT_HELP)
    p.add_argument("--check", action="store_true", help="only validate the parameters; run nothing")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("run-all", help="run every params file in params/, then rebuild the index")
    p.add_argument("--timeout", type=_timeout_arg, default=None, metavar="SECONDS", help=TIMEOUT_HELP)
    p.add_argument("--study", action="append", default=[], help="only these studies (repeatable)")
    engine = p.add_mutually_exclusive_group()
    engine.add_argument("-j", "--jobs", type=_positive_int, default=None, metavar="N",
                        help="run N studies at a time on a Dask LocalCluster of N worker processes "
                             "(default: one per CPU core); 1 runs them one after another in this "
                             "process, without Dask")
    engine.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run on an existing Dask cluster instead, e.g. tcp://10.0.0.5:8786 "
                             "(its workers need the same lock installed and the project folder at "
                             "the same path: docs/distributed.md)")
    p.epilog = ("examples: evaltools run-all; evaltools run-all --jobs 1; "
                "evaltools run-all --study municipal_quality --jobs 4; "
                "evaltools run-all --scheduler tcp://127.0.0.1:8786")
    p.set_defaults(func=cmd_run_all)

    p = sub.add_parser("site", help="rebuild reports/index.html from the run folders")
    p.set_defaults(func=cmd_site)

    p = sub.add_parser("params", help="write one params file per municipality (params/municipal_quality/*.yaml)")
    p.add_argument("study", choices=["municipal_quality"], help="the study (only municipal_quality has per-area files)")
    p.add_argument("--data-dir", default="data/sample", help="data folder the files name (default data/sample)")
    p.add_argument("--first-year", type=int, default=2020, help="first school year of the period (default 2020)")
    p.add_argument("--last-year", type=int, default=2023, help="last school year of the period (default 2023)")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("new-study", help="write the notebook, params, package, tests and docs of a new study")
    p.add_argument("name", help="the study's name: lower-case letters, digits and '_' (e.g. teacher_mentoring)")
    p.add_argument("--title", help="the study's title (default: from the name)")
    p.set_defaults(func=cmd_new_study)

    from evaltools.data.cli import register as register_data

    register_data(sub)

    p = sub.add_parser("lab", help="open JupyterLab on the project with the workbench kernel (as `make lab`)")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER, metavar="-- JUPYTER_ARGS",
                   help="options for `jupyter lab` after `--`, e.g. -- --no-browser --ServerApp.port=8890")
    p.set_defaults(func=cmd_lab)
    _document(sub)
    return parser


def _timeout_arg(text: str) -> int:
    from evaltools.run.execute import cell_timeout_seconds

    try:
        return cell_timeout_seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# --- help: descriptions, examples, defaults and exit codes of every command -----------

MAIN_EXAMPLES = [
    "evaltools studies",
    "evaltools run municipal_quality -p params/municipal_quality.yaml",
    "evaltools run dropout_prevention --set region=Latgale --check",
    "evaltools run-all",
    "evaltools data pseudonymise EXTRACT_FOLDER --out data/pseudonymised --key-file ~/keys/evaltools.key",
    "evaltools COMMAND --help",
]

EXIT_CODES = {
    "run": ["0  the run succeeded (and reports/index.html is clean)",
            "1  the run failed or was stopped: its run folder holds the step, the cell and a failure page",
            "2  bad input (a parameter, the params file, the study name, a value not in the data, --timeout):"
            " nothing was run",
            "130 / 143  interrupted by Ctrl-C / SIGTERM: the run is marked interrupted"],
    "run-all": ["0  every run succeeded", "1  a run failed or a params file was refused (see the summary)",
                "2  no params files, or the Dask scheduler cannot be reached: nothing was run",
                "130 / 143  interrupted by Ctrl-C / SIGTERM"],
    "studies": ["0  listed", "2  no project found (give --root)"],
    "site": ["0  reports/index.html rebuilt and clean",
             "1  the privacy gate found an identifier: the index was rebuilt without headlines or withdrawn"],
    "new-study": ["0  written", "2  the name is not valid or already taken"],
    "params": ["0  written", "2  the data folder cannot be read"],
    "lab": ["the exit code of `jupyter lab` (0 after a clean shutdown)"],
    "data": ["0  done", "2  bad input (a file, a column, the key): the message names the file, column and rows"],
}

HELP = {
    "studies": ("List every study (a notebook in notebooks/), its params files and its parameters with their "
                "type, default and help, as `papermill --help-notebook` reads them.",
                ["evaltools studies", "evaltools studies --json"]),
    "run": ("Check every parameter against the notebook's declarations and the data (types, ranges, paths, "
            "values that must exist in a data column: a municipality, a region, a cohort) before any kernel "
            "starts; then run the notebook with papermill, write report.html and report.pdf into "
            "reports/<study>/<run-id>/, put the folder through the attacker and the privacy gate, and rebuild "
            "reports/index.html.\n\nValues: the notebook's defaults, then the params file (-p), then --set "
            "(the last wins). Progress (cell n of N and the section it belongs to) goes to standard error; "
            "the report paths are printed at the end. Default cell time limit: 600 s (--timeout).",
            ["evaltools run municipal_quality -p params/municipal_quality.yaml",
             "evaltools run dropout_prevention -p params/dropout_prevention.yaml --set language=en",
             'evaltools run municipal_quality --set municipality="Valmieras novads" --check',
             "evaltools -q run dropout_prevention --timeout 1200"]),
    "run-all": ("Validate every params file in params/ first (a refused file costs no run time), run the valid "
                "ones, print a summary table and rebuild reports/index.html.", []),
    "site": ("Rebuild reports/index.html from the finished run folders under reports/ and put it through the "
             "privacy gate.", ["evaltools site"]),
    "new-study": ("Write the notebook, params file, study package, tests and docs of a new study from the "
                  "template (docs/new_study.md).",
                  ['evaltools new-study teacher_mentoring --title "Teacher mentoring"']),
    "params": ("Write one params file per municipality of a data set.", ["evaltools params municipal_quality"]),
    "lab": ("Start JupyterLab rooted at the project (params/, reports/ and src/ within reach) with notebooks/ "
            "open, on the evaltools kernel, which is registered first with the environment of `evaltools "
            "run` (PYTHONHASHSEED=0). No news feed, no update check. `make lab` runs this.",
            ["evaltools lab", "evaltools lab -- --no-browser --ServerApp.port=8890"]),
    "data": ("The data layer: generate a synthetic data set, check an extract, pseudonymise one. "
             "`evaltools data COMMAND --help` for each.",
             ["evaltools data check data/sample", "evaltools data synth --out data/synthetic"]),
}


def _epilog(command: str, examples: Sequence[str], existing: str | None = None) -> str:
    parts = [existing.strip()] if existing else []
    if examples:
        parts.append("examples:\n" + "\n".join(f"  {e}" for e in examples))
    codes = EXIT_CODES.get(command.split()[-1], EXIT_CODES["run"]) if command != "evaltools" else [
        "0 success; 1 a run failed; 2 bad input (nothing was run); 130 / 143 interrupted"]
    parts.append("exit codes:\n" + "\n".join(f"  {c}" for c in codes))
    return "\n\n".join(parts)


def _verbosity(parser: argparse.ArgumentParser, default: object) -> None:
    """-v / -q on ``parser`` (a sub-command's default is SUPPRESS: the main one's value stands)."""
    parser.add_argument("-v", "--verbose", action="count", default=default,
                        help="more detail: every cell as it starts, the parameters used")
    parser.add_argument("-q", "--quiet", action="store_true", default=default if default else False,
                        help="no progress lines or bars; errors and the report paths only")


def _document(sub: argparse._SubParsersAction) -> None:
    """Description, examples and exit codes on every sub-command's --help; -v/-q after it too."""
    for name, p in sub.choices.items():
        description, examples = HELP.get(name, (None, []))
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        if description and not p.description:
            p.description = "\n".join(textwrap.fill(par, 88) for par in description.split("\n"))
        existing = p.epilog
        if existing and "examples:" in existing and "\n" not in existing:
            existing = "examples:\n" + "\n".join(f"  {e.strip()}" for e in existing.split(":", 1)[1].split(";"))
        p.epilog = _epilog(name, examples, existing)
        if name != "data":
            _verbosity(p, argparse.SUPPRESS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "quiet", False):
        from evaltools.core.progress import PROGRESS_ENV

        os.environ[PROGRESS_ENV] = "0"  # no bars here nor in anything this process starts
    from evaltools.run.execute import KernelMissingError
    from evaltools.run.lifecycle import RunInterrupted, exit_code
    from evaltools.run.parameters import ParameterError
    from evaltools.run.project import ProjectError

    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that has gone shows here, not at the interpreter's exit
        return code
    except (ParameterError, ProjectError, KernelMissingError) as exc:
        print(f"evaltools: {exc}\nNothing was run.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except _ValidationCrash as exc:
        print(f"evaltools: {exc}\nNothing was run.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, RunInterrupted) as exc:
        print("evaltools: interrupted.", file=sys.stderr)
        return exit_code(getattr(exc, "signum", 2))
    except BrokenPipeError:  # `evaltools data check DATA | head`: the reader has gone
        return _reader_gone()
    except Exception as exc:  # a bug: say what, never a traceback
        from evaltools.run.finish import describe

        print(f"evaltools: unexpected error ({describe(exc)}). Please report it.", file=sys.stderr)
        return EXIT_FAILED


def _reader_gone() -> int:
    """Standard output's reader closed the pipe (``| head``): stop quietly, as other tools do.
    What is still buffered goes to /dev/null, so that the interpreter's last flush does not
    complain either; exit 141 (128 + SIGPIPE), the shell's code for it."""
    from evaltools.run.lifecycle import exit_code

    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return exit_code(signal.SIGPIPE)


class _ValidationCrash(Exception):
    """Validating a study's parameters raised something unforeseen (a bug): still exit 2."""


def _plan(project, study: str, params, overrides, timeout):
    """``plan_run``, where any unforeseen exception is a clean refusal, not a traceback."""
    from evaltools.run.execute import plan_run
    from evaltools.run.finish import describe
    from evaltools.run.parameters import ParameterError
    from evaltools.run.project import ProjectError

    try:
        return plan_run(project, study, params, overrides, timeout)
    except (ParameterError, ProjectError):
        raise
    except Exception as exc:
        raise _ValidationCrash(
            f"the parameters of study '{study}' could not be checked ({describe(exc)}). "
            "This is a bug in evaltools or the study's parameters cell; please report it."
        ) from None


def _sweep(project, command: str) -> None:
    """Mark the half-written run folders of runners that are gone ``interrupted``."""
    from evaltools.run.finish import describe
    from evaltools.run.lifecycle import sweep_orphans

    try:
        swept_all = sweep_orphans(project.root, command)
    except Exception as exc:  # never stops the command it runs before
        print(f"evaltools: could not look for unfinished run folders ({describe(exc)}).", file=sys.stderr)
        return
    for swept in swept_all:
        print(f"evaltools: {swept.folder.relative_to(project.root)}: its runner stopped before it "
              f"finished; marked {swept.status}.", file=sys.stderr)


def _index(project, command: str) -> tuple[object, bool]:
    """Sweep, rebuild ``reports/index.html`` and put it through the privacy gate.
    Returns (path, clean). A hit rebuilds the index without headlines and messages (not
    clean: the command exits 1); if it still hits (or cannot be rebuilt so), the index is
    withdrawn."""
    from evaltools.report.site import build_site
    from evaltools.run.finish import describe, scan_index

    _sweep(project, command)
    try:
        index = build_site(project.reports_dir)
    except Exception as exc:
        print(f"evaltools: reports/index.html could not be built ({describe(exc)}).", file=sys.stderr)
        return project.reports_dir / "index.html", False
    hits = scan_index(index, project.root)
    if hits == 0:
        return index, True
    print(f"evaltools: the privacy gate found {hits if hits > 0 else 'an unknown number of'} "
          "identifier(s) in reports/index.html (or could not scan it).", file=sys.stderr)
    try:
        index = build_site(project.reports_dir, headlines=False)
        if scan_index(index, project.root) == 0:
            print("evaltools: reports/index.html was rebuilt without headlines and messages; a run "
                  "folder's headline or error names a pupil or teacher: find that run and delete it.",
                  file=sys.stderr)
            return index, False  # usable, but something under reports/ needs the evaluator's eyes
    except Exception:
        pass
    index.unlink(missing_ok=True)
    print("evaltools: reports/index.html was withdrawn; look for the run whose message or "
          "headline names a pupil or teacher.", file=sys.stderr)
    return index, False


def _project(args: argparse.Namespace):
    from evaltools.run.project import Project

    return Project.find(args.root)


def _timeout(args: argparse.Namespace) -> int:
    from evaltools.run.execute import DEFAULT_CELL_TIMEOUT

    return args.timeout if args.timeout is not None else DEFAULT_CELL_TIMEOUT


def cmd_lab(args: argparse.Namespace) -> int:
    """JupyterLab on the project (src/evaltools/run/kernel.py holds the command line)."""
    import subprocess

    from evaltools.run.kernel import install_kernel, lab_command

    project = _project(args)
    install_kernel()  # cheap; an older registration gets the run environment too
    extra = [a for a in args.jupyter_args if a != "--"]
    command = lab_command(project.root, extra)
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(command[0], command) if os.path.isabs(command[0]) else os.execvp(command[0], command)
    return subprocess.call(command)  # pragma: no cover - Windows


def cmd_studies(args: argparse.Namespace) -> int:
    project = _project(args)
    params_by_study: dict[str, list[str]] = {}
    for pf in project.params_files():
        params_by_study.setdefault(pf.study, []).append(pf.path.name)
    if args.json:
        import json

        print(json.dumps([
            {"study": study.name, "notebook": str(study.notebook.relative_to(project.root)),
             "params_files": params_by_study.get(study.name, []),
             "parameters": [{"name": s.name, "type": s.alias or s.annotation, "default": s.default,
                             "help": s.help, "expects": s.describe()} for s in study.parameters]}
            for study in project.studies()], ensure_ascii=False, indent=2))
        return EXIT_OK
    for study in project.studies():
        print(f"{study.name}  ({study.notebook.relative_to(project.root)})")
        files = params_by_study.get(study.name, [])
        print(f"  params files: {', '.join(files) if files else '(none; defaults only)'}")
        rows = [(s.name, s.annotation, repr(s.default), s.help or s.describe()) for s in study.parameters]
        widths = [max(len(r[i]) for r in rows + [("name", "type", "default", "help")]) for i in range(3)]
        print("  " + "  ".join(h.ljust(w) for h, w in zip(("name", "type", "default"), widths)) + "  help")
        for row in rows:
            print("  " + "  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3])
        print()
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from evaltools.run.execute import execute
    from evaltools.run.lifecycle import exit_code

    project = _project(args)
    plan = _plan(project, args.study, args.params, args.overrides, _timeout(args))
    if args.check:
        print(f"Parameters of '{args.study}' are valid:")
        for key, value in plan.params.values.items():
            print(f"  {key} = {_shown(value)}  ({plan.params.origins[key]})")
        return EXIT_OK
    if args.verbose:
        for key, value in plan.params.values.items():
            print(f"  {key} = {_shown(value)}  ({plan.params.origins[key]})", file=sys.stderr)
    _sweep(project, "evaltools run")
    show = None if args.quiet else _CellProgress(args.study, verbose=args.verbose)
    outcome = execute(plan, progress=show)
    if show is not None:
        show.done()
    _print_outcome(outcome, project.root)
    index, clean = _index(project, "evaltools run")  # every run refreshes the index, whatever its outcome
    if index.exists():
        print(f"  index: {index}")
    if outcome.signal is not None:
        return exit_code(outcome.signal)
    return EXIT_OK if outcome.ok and clean else EXIT_FAILED


class _CellProgress:
    """``cell n of N: section`` on standard error as a run goes: one line redrawn on a terminal,
    a line per section in a log (a line per cell with -v)."""

    def __init__(self, study: str, verbose: int = 0):
        self.study, self.verbose = study, verbose
        self.tty = sys.stderr.isatty()
        self.heading: str | None = None
        print(f"{study}: starting the kernel…", file=sys.stderr, flush=True)

    def __call__(self, n: int, total: int, heading: str) -> None:
        text = f"{self.study}: cell {n} of {total}" + (f" · {heading}" if heading else "")
        if self.tty and not self.verbose:
            import shutil

            width = shutil.get_terminal_size((100, 20)).columns - 1
            print("\r\033[K" + (text if len(text) <= width else text[: width - 1] + "…"), end="",
                  file=sys.stderr, flush=True)
        elif self.verbose or heading != self.heading:
            print(text, file=sys.stderr, flush=True)
        self.heading = heading

    def done(self) -> None:
        if self.tty and not self.verbose:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def _shown(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_outcome(outcome, root) -> None:
    from evaltools.run.provenance import display_path

    if outcome.ok:
        print(f"{outcome.study} [{outcome.params_name}] succeeded in {outcome.duration_s:.1f} s")
        print(f"  report: {outcome.run_dir / 'report.html'}")
        if (outcome.run_dir / "report.pdf").exists():
            print(f"  pdf:    {outcome.run_dir / 'report.pdf'}")
        if outcome.headline:
            print(f"  headline: {outcome.headline}")
        return
    err = outcome.error
    cell = err.get("cell") or {}
    where = f" at cell {cell['index']} ({cell.get('first_line', '')})" if cell else ""
    step = f", step {err['step']}" if err.get("step") else ""
    label = "INTERRUPTED" if outcome.status == "interrupted" else "FAILED"
    print(f"{outcome.study} [{outcome.params_name}] {label} ({err.get('kind')}{step}){where}: "
          f"{err.get('message')}", file=sys.stderr)
    if outcome.run_dir is not None:
        print(f"  run folder: {display_path(outcome.run_dir, root)}", file=sys.stderr)
    if outcome.notebook is not None:
        print(f"  executed notebook (not published): {display_path(outcome.notebook, root)}", file=sys.stderr)


def cmd_run_all(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from evaltools.run.execute import ensure_kernel
    from evaltools.run.pool import SchedulerError, run_plans
    from evaltools.run.finish import describe
    from evaltools.run.lifecycle import SignalGuard, exit_code
    from evaltools.run.parameters import ParameterError
    from evaltools.run.project import ProjectError, read_params_file

    project = _project(args)
    ensure_kernel()
    summary, plans = [], []
    with SignalGuard() as guard:
        guard.disarm()  # a signal stops new runs; running ones end interrupted; then summary and index
        _sweep(project, "evaltools run-all")
        # params/*.yaml and the files of a study's own folder (params/municipal_quality/*.yaml)
        paths = project.params_paths()  # the rule (which folders, not params/mappings/) is in run/project.py
        if not paths:
            print(f"evaltools: no params files in {project.params_dir}.", file=sys.stderr)
            return EXIT_BAD_INPUT
        for path in paths:  # validate everything first: a refused file costs no run time
            study = "?"
            try:
                study = read_params_file(path).study
                if args.study and study not in args.study:
                    continue
                plans.append(_plan(project, study, path, (), _timeout(args)))
            except (ParameterError, ProjectError, _ValidationCrash) as exc:
                print(f"{path.name}: refused:\n{exc}", file=sys.stderr)
                summary.append((study, path.stem, "refused", 0.0, str(exc).splitlines()[-1].strip()))
        # a bar on a terminal; a line per finished run either way (logs of a batch job)
        with tqdm(total=len(plans), desc="runs", unit="run", file=sys.stderr,
                  disable=not sys.stderr.isatty()) as bar:
            try:
                for outcome in run_plans(plans, jobs=args.jobs, guard=guard, scheduler=args.scheduler):
                    bar.update()
                    tqdm.write(f"{outcome.study} [{outcome.params_name}] {outcome.status} in "
                               f"{outcome.duration_s:.1f} s", file=sys.stderr)
                    detail = outcome.headline if outcome.ok else \
                        f"{outcome.error.get('kind')}: {outcome.error.get('message')}"
                    summary.append((outcome.study, outcome.params_name, outcome.status, outcome.duration_s, detail))
            except SchedulerError as exc:  # nothing ran
                print(f"evaltools: {exc}\nNothing was run.", file=sys.stderr)
                return EXIT_BAD_INPUT
            except Exception as exc:  # the runner itself broke: still a summary and an index
                print(f"evaltools: run-all stopped early ({describe(exc)}).", file=sys.stderr)
                summary.append(("?", "?", "failed", 0.0, f"runner error: {describe(exc)}"))
        _print_summary(sorted(summary))
        index, clean = _index(project, "evaltools run-all")
        print(f"\nReports: {index}")
    if guard.signum is not None:
        return exit_code(guard.signum)
    ok = clean and all(row[2] == "succeeded" for row in summary)
    return EXIT_OK if ok else EXIT_FAILED


def _print_summary(rows: list[tuple[str, str, str, float, str]]) -> None:
    head = ("study", "params", "status", "seconds", "headline")
    table = [head] + [(s, p, st, f"{d:.1f}", h) for s, p, st, d, h in rows]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    print()
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4])


def cmd_site(args: argparse.Namespace) -> int:
    project = _project(args)
    index, clean = _index(project, "evaltools site")
    print(index)
    return EXIT_OK if clean else EXIT_FAILED


def cmd_params(args: argparse.Namespace) -> int:
    """One params file per municipality of the data set (evaltools.studies.municipal_quality.params_files)."""
    from evaltools.core.errors import EvaltoolsError
    from evaltools.data import load_dataset
    from evaltools.studies.municipal_quality.params_files import write_params

    project = _project(args)
    try:
        data = load_dataset(project.root / args.data_dir, tables=[])
        written = write_params(project.root, list(data["municipalities"]["name"]), data_dir=args.data_dir,
                               first_year=args.first_year, last_year=args.last_year)
    except EvaltoolsError as exc:
        print(f"evaltools: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{len(written)} params files in {written[0].parent.relative_to(project.root)}/")
    return EXIT_OK


def cmd_new_study(args: argparse.Namespace) -> int:
    from evaltools.studies._scaffold import ScaffoldError, new_study

    project = _project(args)
    try:
        written = new_study(project.root, args.name, args.title)
    except ScaffoldError as exc:
        print(f"evaltools: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"New study '{args.name}':")
    for path in written:
        print(f"  {path.relative_to(project.root)}")
    print(f"Next: evaltools run {args.name} -p params/{args.name}.yaml, then write its verbs (docs/new_study.md).")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

