"""The ``evaltools data`` commands: ``synth``, ``check``, ``pseudonymise`` and ``layout``.

No command prints a value of an identifier column: problems name the file, column,
number of rows and row numbers.

The lead's ``evaltools.cli`` calls :func:`register` with its sub-parsers.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
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
        _warn_ambiguous_ids(path, args.mapping)
        return 2
    except DataFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    _warn_ambiguous_ids(path, args.mapping)
    return 0


def _warn_ambiguous_ids(path: Path, mapping: str | None) -> None:
    """Warn when ids are too short or have no letter: the privacy gate would fail every run."""
    from .io import read_identifiers
    from .schemas import SHORT_ID_CHARS, ambiguous_id

    found = read_identifiers([path], mapping)
    n = sum(1 for v in found.values if ambiguous_id(v))
    if n:
        print(f"warning: {n:,} identifier value{'s' if n != 1 else ''} (pupil, teacher or plan ids) "
              f"{'are' if n != 1 else 'is'} shorter than {SHORT_ID_CHARS} characters or {'have' if n != 1 else 'has'} "
              "no letter: a report's own numbers look the same, so the privacy gate fails every run that "
              "shows such a number. Replace the ids with keyed pseudonyms first: "
              f"evaltools data pseudonymise {path} --out NEW_FOLDER", file=sys.stderr)


def _pseudonymise(args: argparse.Namespace) -> int:
    import shutil

    from .errors import DataFileError
    from .pseudonymise import PseudonymKeyError, load_key
    from .pseudonymise_files import pseudonymise_folder

    src, out = Path(args.path), Path(args.out)
    fresh = not out.exists()
    counts: dict[str, dict[str, int]] = {}
    try:
        key = load_key(key_file=args.key_file, data_dir=src if src.is_dir() else src.parent)
        done = pseudonymise_folder(src, out, key, mapping=args.mapping, counts=counts)
    except (PseudonymKeyError, DataFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not done:  # a copy with the ids unchanged must not look pseudonymised
        if fresh:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        print(f"error: no identifier column (pupil_id, teacher_id, plan_id, personal_code, or a column the "
              f"mapping maps onto one) in {src}; nothing was written. If the extract names its id columns "
              "its own way, give --mapping (docs/codebook.md, \"Column mapping\").", file=sys.stderr)
        return 2
    cols = sum(len(c) for c in done.values())
    print(f"wrote {out}: {cols} identifier column{'s' if cols != 1 else ''} in {len(done)} file"
          f"{'s' if len(done) != 1 else ''} replaced by keyed pseudonyms (the key is not stored); "
          "use the same key for every later extract so the ids still link.")
    for name, columns in done.items():
        c = counts.get(name, {})
        per = ", ".join(f"{col} ({c[col]:,} distinct)" if col in c else col for col in columns)
        print(f"  {name}: {per}; {c['rows']:,} rows" if "rows" in c else f"  {name}: {per}")
    return 0


def _layout(args: argparse.Namespace) -> int:
    import shutil

    from .errors import DataFileError, DataValidationError
    from .io import load_dataset
    from .layout import write_tables

    src, out = Path(args.path), Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        print(f"error: {out} already exists and is not empty: choose a new folder for the output.", file=sys.stderr)
        return 2
    if src.is_dir() and out.resolve().is_relative_to(src.resolve()):
        print(f"error: {out} is inside {src}: choose a folder outside the data folder.", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        ds = load_dataset(src, mapping=args.mapping)
    except DataValidationError as err:
        print(str(err), file=sys.stderr)
        return 2
    except DataFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_tables(ds.tables, out)
    if (src / "true_effects.json").is_file():
        shutil.copyfile(src / "true_effects.json", out / "true_effects.json")
    rows = sum(len(t) for t in ds.tables.values())
    print(f"wrote {len(ds.tables)} checked tables ({rows:,} rows) to {out} as Parquet sorted by municipality and "
          f"school in {time.perf_counter() - t0:.1f} s; use it without a column mapping.")
    return 0


_EXIT = "exit codes:\n  0  done\n  2  bad input: the message names the file, the column and the rows (never an id)"


def _doc(examples: list[str]) -> str:
    return "examples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" + _EXIT


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data synth``, ``check``, ``pseudonymise`` and ``layout`` to an argparse sub-parser set."""
    raw = argparse.RawDescriptionHelpFormatter
    data = subparsers.add_parser("data", help="generate synthetic data, check or pseudonymise an extract")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")

    s = sub.add_parser(
        "synth", help="generate a seeded synthetic data set with known true effects", formatter_class=raw,
        description="Generate a synthetic data set with the tables and columns of a real extract and known "
                    "true effects (true_effects.json), from a seed: the same seed gives the same files.",
        epilog=_doc(["evaltools data synth --out data/synthetic",
                     "evaltools data synth --scale region --region Latgale --seed 7 --out data/latgale --format csv"]))
    s.add_argument("--scale", choices=("sample", "region", "national"), default="sample",
                   help="size: sample (a few schools in each municipality, as data/sample), region (every school of one "
                        "planning region) or national (about 600 schools) (default: sample)")
    s.add_argument("--seed", type=int, default=20240901, help="seed of every random draw (default: 20240901)")
    s.add_argument("--out", required=True, metavar="FOLDER", help="output folder (one file per table)")
    s.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                   help="file format of the tables (default: parquet)")
    s.add_argument("--region", default=None,
                   help="planning region for --scale region: Rīga, Vidzeme, Kurzeme, Zemgale or Latgale (default)")
    s.set_defaults(func=_synth)

    c = sub.add_parser(
        "check", help="check a data set directory or one file; exit 2 listing every problem", formatter_class=raw,
        description="Check a data folder (one file per table) or one file against the workbench's schemas: "
                    "columns, types, codes, keys. Every problem is listed with its file, column and rows.",
        epilog=_doc(["evaltools data check data/sample",
                     "evaltools data check EXTRACT --mapping params/mappings/pumpurs_extract_lv.yaml",
                     "evaltools data check pupils.csv --table pupils"]))
    c.add_argument("path", help="a directory with one file per table, or one .parquet/.csv/.xlsx file")
    c.add_argument("--mapping", default=None, help="YAML column mapping (extract column: our column) (default: none)")
    c.add_argument("--table", default=None, help="table of a single file (default: the file name)")
    c.set_defaults(func=_check)

    p = sub.add_parser(
        "pseudonymise", formatter_class=raw,
        help="copy a data folder with every identifier column replaced by keyed pseudonyms (HMAC-SHA256)",
        description="The first step for a real extract: copy it to a new folder with every identifier column "
                    "(pupil_id, teacher_id, personal_code, plan_id and the extract's columns that the mapping "
                    "maps onto them) replaced by keyed pseudonyms (HMAC-SHA256). The key comes from --key-file "
                    "or the environment, never from or into the data folder; the source is never overwritten; "
                    "the same key gives the same pseudonyms, so later extracts still link.",
        epilog=_doc(["export EVALTOOLS_PSEUDONYM_KEY_FILE=~/keys/evaltools.key",
                     "evaltools data pseudonymise ~/extracts/2025 --out data/extract_2025",
                     "evaltools data pseudonymise EXTRACT --out data/x --mapping params/mappings/pumpurs_extract_lv.yaml"
                     " --key-file ~/keys/evaltools.key"]))
    p.add_argument("path", help="a data folder (one file per table) or one .parquet/.csv/.xlsx file")
    p.add_argument("--out", required=True, help="new folder to write (must not exist or be empty)")
    p.add_argument("--mapping", default=None, help="YAML column mapping: which extract columns are ids")
    p.add_argument("--key-file", default=None, help="file holding the key, outside the data folder (default: "
                                                    "EVALTOOLS_PSEUDONYM_KEY or EVALTOOLS_PSEUDONYM_KEY_FILE)")
    p.set_defaults(func=_pseudonymise)

    lay = sub.add_parser(
        "layout", formatter_class=raw,
        help="rewrite a checked data folder as Parquet laid out for fast reading of one area",
        description="Check a data folder (as 'data check' does), then write every table, with the workbench's "
                    "column names, as Parquet sorted by municipality, school and key, in row groups of about "
                    "65,000 rows with statistics: a study then reads one municipality of a national extract in "
                    "about a second, skipping the rest of each file. Values are unchanged; the source is never "
                    "overwritten; the same data give the same bytes.",
        epilog=_doc(["evaltools data layout data/extract_2025 --out data/extract_2025_fast",
                     "evaltools data layout EXTRACT --out data/x --mapping params/mappings/pumpurs_extract_lv.yaml"]))
    lay.add_argument("path", help="a data folder (one file per table: .parquet, .csv or .xlsx)")
    lay.add_argument("--out", required=True, help="new folder to write (must not exist or be empty)")
    lay.add_argument("--mapping", default=None, help="YAML column mapping of the source (default: none)")
    lay.set_defaults(func=_layout)
    for command in sub.choices.values():
        command.description = textwrap.fill(command.description or "", 88)


def main(argv: list[str] | None = None) -> int:
    """Run the data commands on their own: ``python -m evaltools.data.cli check data/sample``."""
    parser = argparse.ArgumentParser(prog="evaltools")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
