"""The ``evaltools data`` commands: ``synth`` and ``check``.

The lead's ``evaltools.cli`` calls :func:`register` with its sub-parsers.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _synth(args: argparse.Namespace) -> int:
    from .synth import generate, write

    t0 = time.perf_counter()
    extra = {"region": args.region} if args.region else {}
    if extra and args.scale != "region":
        print("error: --region only applies to --scale region", file=sys.stderr)
        return 2
    try:
        data = generate(args.scale, seed=args.seed, **extra)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = write(data, args.out, fmt=args.format)
    rows = sum(len(t) for t in data.tables.values())
    print(f"wrote {len(data.tables)} tables ({rows:,} rows) and true_effects.json to {out} "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .errors import DataFileError, DataValidationError
    from .io import load, load_dataset

    path = Path(args.path)
    try:
        if path.is_dir():
            ds = load_dataset(path, mapping=args.mapping)
            print(f"{path}: OK, {len(ds.tables)} tables checked")
            print(ds.to_frame().to_string())
        else:
            df = load(path, table=args.table, mapping=args.mapping)
            print(f"{path}: OK, {len(df):,} rows checked")
    except DataValidationError as err:
        print(str(err), file=sys.stderr)
        return 2
    except DataFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data synth`` and ``data check`` to an argparse sub-parser set."""
    data = subparsers.add_parser("data", help="generate synthetic data or check an extract")
    sub = data.add_subparsers(dest="data_command", required=True)

    s = sub.add_parser("synth", help="generate a seeded synthetic data set with known true effects")
    s.add_argument("--scale", choices=("sample", "region", "national"), default="sample")
    s.add_argument("--seed", type=int, default=20240901)
    s.add_argument("--out", required=True, help="output directory (one file per table)")
    s.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    s.add_argument("--region", default=None,
                   help="planning region for --scale region: Rīga, Vidzeme, Kurzeme, Zemgale or Latgale (default)")
    s.set_defaults(func=_synth)

    c = sub.add_parser("check", help="check a data set directory or one file; exit 2 listing every problem")
    c.add_argument("path", help="a directory with one file per table, or one .parquet/.csv/.xlsx file")
    c.add_argument("--mapping", default=None, help="YAML column mapping (extract column: our column)")
    c.add_argument("--table", default=None, help="table of a single file (default: the file name)")
    c.set_defaults(func=_check)


def main(argv: list[str] | None = None) -> int:
    """Run the data commands on their own: ``python -m evaltools.data.cli check data/sample``."""
    parser = argparse.ArgumentParser(prog="evaltools")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
