"""The ``evaltools`` command line.

    evaltools studies                      every study and its parameters
    evaltools run STUDY [-p FILE] [--set key=value ...]   one run, then the index
    evaltools run-all                      every params file, then the index
    evaltools site                         rebuild reports/index.html
    evaltools new-study NAME               the files of a new study (docs/new_study.md)
    evaltools data synth|check|pseudonymise  the data layer

Exit codes: 0 success; 1 a run failed (or was interrupted, in run-all, by a dead
worker); 2 bad input (parameters, params file, study name, data, --timeout), in
which case nothing was executed; 130 / 143 interrupted by SIGINT / SIGTERM (the run
is marked interrupted and moved into place first).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
TIMEOUT_HELP = ("per-cell time limit in seconds (default 600): a positive number up to 604800 (a week); "
                "a fraction is rounded up to whole seconds")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaltools",
        description="Run the evaluation studies of the workbench and publish their reports.",
    )
    parser.add_argument("--root", help="project folder (default: $EVALTOOLS_ROOT or the nearest folder with notebooks/)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("studies", help="list every study with its parameters")
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
    p.add_argument("-j", "--jobs", type=_positive_int, default=1, metavar="N",
                   help="run N studies at a time, each in its own process (default 1)")
    p.set_defaults(func=cmd_run_all)

    p = sub.add_parser("site", help="rebuild reports/index.html from the run folders")
    p.set_defaults(func=cmd_site)

    p = sub.add_parser("new-study", help="write the notebook, params, package, tests and docs of a new study")
    p.add_argument("name", help="the study's name: lower-case letters, digits and '_' (e.g. teacher_mentoring)")
    p.add_argument("--title", help="the study's title (default: from the name)")
    p.set_defaults(func=cmd_new_study)

    from evaltools.data.cli import register as register_data

    register_data(sub)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from evaltools.run.execute import KernelMissingError
    from evaltools.run.lifecycle import RunInterrupted, exit_code
    from evaltools.run.parameters import ParameterError
    from evaltools.run.project import ProjectError

    try:
        return int(args.func(args) or 0)
    except (ParameterError, ProjectError, KernelMissingError) as exc:
        print(f"evaltools: {exc}\nNothing was run.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except _ValidationCrash as exc:
        print(f"evaltools: {exc}\nNothing was run.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, RunInterrupted) as exc:
        print("evaltools: interrupted.", file=sys.stderr)
        return exit_code(getattr(exc, "signum", 2))
    except Exception as exc:  # a bug: say what, never a traceback
        from evaltools.run.finish import describe

        print(f"evaltools: unexpected error ({describe(exc)}). Please report it.", file=sys.stderr)
        return EXIT_FAILED


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


def cmd_studies(args: argparse.Namespace) -> int:
    project = _project(args)
    params_by_study: dict[str, list[str]] = {}
    for pf in project.params_files():
        params_by_study.setdefault(pf.study, []).append(pf.path.name)
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
    _sweep(project, "evaltools run")
    outcome = execute(plan)
    _print_outcome(outcome, project.root)
    index, clean = _index(project, "evaltools run")  # every run refreshes the index, whatever its outcome
    if index.exists():
        print(f"  index: {index}")
    if outcome.signal is not None:
        return exit_code(outcome.signal)
    return EXIT_OK if outcome.ok and clean else EXIT_FAILED


def _shown(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_outcome(outcome, root) -> None:
    from evaltools.run.provenance import display_path

    if outcome.ok:
        print(f"{outcome.study} [{outcome.params_name}] succeeded in {outcome.duration_s:.1f} s")
        print(f"  report: {outcome.run_dir / 'report.html'}")
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
    from evaltools.run.pool import run_plans
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
        paths = sorted(project.params_dir.glob("*.y*ml"))
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
        with tqdm(total=len(plans), desc="runs", unit="run", file=sys.stderr) as bar:
            try:
                for outcome in run_plans(plans, jobs=args.jobs, guard=guard):
                    bar.update()
                    tqdm.write(f"{outcome.study} [{outcome.params_name}] {outcome.status} in "
                               f"{outcome.duration_s:.1f} s", file=sys.stderr)
                    detail = outcome.headline if outcome.ok else \
                        f"{outcome.error.get('kind')}: {outcome.error.get('message')}"
                    summary.append((outcome.study, outcome.params_name, outcome.status, outcome.duration_s, detail))
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

