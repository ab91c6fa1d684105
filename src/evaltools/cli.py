"""The ``evaltools`` command line.

    evaltools studies                      every study and its parameters
    evaltools run STUDY [-p FILE] [--set key=value ...]
    evaltools run-all                      every params file, then the index
    evaltools site                         rebuild reports/index.html
    evaltools data synth|check ...         the data layer

Exit codes: 0 success; 1 a run failed; 2 bad input (parameters, params file,
study name, data), in which case nothing was executed.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


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
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="per-cell time limit (default 600)")
    p.add_argument("--check", action="store_true", help="only validate the parameters; run nothing")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("run-all", help="run every params file in params/, then rebuild the index")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="per-cell time limit (default 600)")
    p.add_argument("--study", action="append", default=[], help="only these studies (repeatable)")
    p.add_argument("-j", "--jobs", type=_positive_int, default=1, metavar="N",
                   help="run N studies at a time, each in its own process (default 1)")
    p.set_defaults(func=cmd_run_all)

    p = sub.add_parser("site", help="rebuild reports/index.html from the run folders")
    p.set_defaults(func=cmd_site)

    from evaltools.data.cli import register as register_data

    register_data(sub)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from evaltools.run.execute import KernelMissingError
    from evaltools.run.parameters import ParameterError
    from evaltools.run.project import ProjectError

    try:
        return int(args.func(args) or 0)
    except (ParameterError, ProjectError, KernelMissingError) as exc:
        print(f"evaltools: {exc}\nNothing was run.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("evaltools: interrupted.", file=sys.stderr)
        return 130


def _project(args: argparse.Namespace):
    from evaltools.run.project import Project

    return Project.find(args.root)


def _timeout(args: argparse.Namespace) -> float:
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
    from evaltools.run.execute import execute, plan_run

    project = _project(args)
    plan = plan_run(project, args.study, args.params, args.overrides, _timeout(args))
    if args.check:
        print(f"Parameters of '{args.study}' are valid:")
        for key, value in plan.params.values.items():
            print(f"  {key} = {value!r}  ({plan.params.origins[key]})")
        return EXIT_OK
    outcome = execute(plan)
    _print_outcome(outcome)
    return EXIT_OK if outcome.ok else EXIT_FAILED


def _print_outcome(outcome) -> None:
    if outcome.ok:
        print(f"{outcome.study} [{outcome.params_name}] succeeded in {outcome.duration_s:.1f} s")
        print(f"  report: {outcome.run_dir / 'report.html'}")
        if outcome.headline:
            print(f"  headline: {outcome.headline}")
    else:
        err = outcome.error
        cell = err.get("cell") or {}
        where = f" at cell {cell['index']} ({cell.get('first_line', '')})" if cell else ""
        print(f"{outcome.study} [{outcome.params_name}] FAILED ({err.get('kind')}){where}: {err.get('message')}",
              file=sys.stderr)
        print(f"  run folder (notebook kept for debugging): {outcome.run_dir}", file=sys.stderr)


def cmd_run_all(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from evaltools.report.site import build_site
    from evaltools.run.execute import ensure_kernel, plan_run, run_plans
    from evaltools.run.parameters import ParameterError
    from evaltools.run.project import ProjectError

    project = _project(args)
    ensure_kernel()
    files = [pf for pf in project.params_files() if not args.study or pf.study in args.study]
    if not files:
        print(f"evaltools: no params files in {project.params_dir}.", file=sys.stderr)
        return EXIT_BAD_INPUT
    summary, plans = [], []
    for pf in files:  # validate everything first: a refused file costs no run time
        try:
            plans.append(plan_run(project, pf.study, pf.path, (), _timeout(args)))
        except (ParameterError, ProjectError) as exc:
            print(f"{pf.path.name}: refused:\n{exc}", file=sys.stderr)
            summary.append((pf.study, pf.name, "refused", 0.0, str(exc).splitlines()[-1].strip()))
    with tqdm(total=len(plans), desc="runs", unit="run", file=sys.stderr) as bar:
        for outcome in run_plans(plans, jobs=args.jobs):
            bar.update()
            tqdm.write(f"{outcome.study} [{outcome.params_name}] {outcome.status} in "
                       f"{outcome.duration_s:.1f} s", file=sys.stderr)
            detail = outcome.headline if outcome.ok else f"{outcome.error.get('kind')}: {outcome.error.get('message')}"
            summary.append((outcome.study, outcome.params_name, outcome.status, outcome.duration_s, detail))
    _print_summary(sorted(summary))
    index = build_site(project.reports_dir)
    print(f"\nReports: {index}")
    return EXIT_OK if all(row[2] == "succeeded" for row in summary) else EXIT_FAILED


def _print_summary(rows: list[tuple[str, str, str, float, str]]) -> None:
    head = ("study", "params", "status", "seconds", "headline")
    table = [head] + [(s, p, st, f"{d:.1f}", h) for s, p, st, d, h in rows]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    print()
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4])


def cmd_site(args: argparse.Namespace) -> int:
    from evaltools.report.site import build_site

    print(build_site(_project(args).reports_dir))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
