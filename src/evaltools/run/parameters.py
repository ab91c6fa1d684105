"""Read a notebook's declared parameters and validate values against them.

papermill enforces neither types nor names (PITFALLS.md), so ``evaltools run``
checks every value here first and executes nothing when one is wrong. All
problems are collected and reported together, each naming the parameter, where
its value came from (file and line, ``--set`` or the notebook default) and what is
expected. Values are quoted through :func:`evaltools.text.short`: never more than a
few dozen characters of anything the user gave.

Beyond the type, a value is checked against its declared range (``Int[low, high]``,
``Float[low, high]``), finite unless declared otherwise, and a ``MinCell`` value
against the project's disclosure floor (:mod:`evaltools.report.policy`). Texts and
paths are at most ``MAX_TEXT``/``MAX_PATH`` characters and hold no control
characters; lists at most ``MAX_ITEMS`` items.
"""
from __future__ import annotations

import ast
import difflib
import io
import math
import re
import tokenize
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import nbformat

from evaltools.core.errors import ParamsError
from evaltools.report.policy import DisclosurePolicy, PolicyError, load_policy
from evaltools.text import clean, clip, control_character, short

SIMPLE_TYPES = {"int", "float", "str", "bool"}
PATH_TYPES = {"InputFile", "InputDir"}
NAME_TYPES = {"OutputName"}
THRESHOLD_TYPES = {"MinCell"}
RANGE_TYPES = {"Int": "int", "Float": "float"}
MAX_TEXT = 200
MAX_PATH = 4096
MAX_ITEMS = 1000
MAX_PROBLEMS = 20
SET = "--set"


class ParameterError(ParamsError, ValueError):
    """One or more parameters are wrong; ``problems`` lists each with its origin."""

    def __init__(self, problems: list[str], context: str = ""):
        self.problems = [clean(p) for p in problems]
        head = f"Invalid parameters{' for ' + context if context else ''}:"
        shown = self.problems[:MAX_PROBLEMS]
        more = len(self.problems) - len(shown)
        tail = [f"  … and {more} more problem{'s' if more > 1 else ''}"] if more > 0 else []
        super().__init__("\n".join([head, *[f"  - {p}" for p in shown], *tail]))


class Origin(str):
    """Where a value came from: a params file, ``--set`` or ``notebook default``.

    It is the plain text (recorded in the manifest); ``line`` (the line of the key in
    a params file) only makes messages more precise.
    """

    line: int | None

    def __new__(cls, where: str, line: int | None = None) -> "Origin":
        obj = super().__new__(cls, where)
        obj.line = line
        return obj


def _at(origin: str) -> str:
    line = getattr(origin, "line", None)
    return f"{origin}, line {line}" if line else str(origin)


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter: ``name: annotation = default  # help``."""

    name: str
    kind: str  # int, float, str, bool, choice, InputFile, InputDir, OutputName, MinCell, list, any
    annotation: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] = ()
    item: "ParamSpec | None" = None  # element type of a list
    optional: bool = False
    low: float | None = None  # inclusive bounds of Int[...] / Float[...]
    high: float | None = None
    allow_nan: bool = False
    alias: str = ""  # the type alias the cell names (``Language``), when the type is one
    data: Any = None  # evaltools.params.DataColumn: the value must exist in this column of the data

    def describe(self, floor: int | None = None) -> str:
        """What a valid value looks like, for error messages and ``evaltools studies``.

        ``floor`` is the project's disclosure floor, shown for a ``MinCell`` parameter.
        """
        if self.kind == "MinCell" and floor is not None:
            text = f"a whole number of at least {floor} (the disclosure floor)"
        elif self.kind == "choice":
            text = "one of " + ", ".join(short(c) for c in self.choices)
        elif self.kind == "list" and self.item is not None:
            text = f"a list of {self.item.describe()}"
        else:
            text = {
                "int": "an integer",
                "float": "a number" if not self.allow_nan else "a number or NaN",
                "str": "a text (quote it in YAML if it looks like a number)",
                "bool": "true or false",
                "InputFile": "the path of an existing file",
                "InputDir": "the path of an existing folder",
                "OutputName": "a name of letters, digits, '-' and '_'",
                "MinCell": "a whole number at or above the disclosure floor",
                "any": "any value",
            }[self.kind] + self._range_text()
        if self.data is not None:
            text += f" found in {self.data.table}.{self.data.columns[0]} of the data" + (
                "".join(f" or {short(x)}" for x in self.data.extra[:1]))
        return text + (" or null" if self.optional else "")

    def _range_text(self) -> str:
        low, high = self.low, self.high
        if low is not None and high is not None:
            return f" from {_num(low)} to {_num(high)}"
        if low is not None:
            return f" of at least {_num(low)}"
        if high is not None:
            return f" of at most {_num(high)}"
        return ""


def _num(x: float) -> str:
    if math.isinf(x):
        return "infinity" if x > 0 else "-infinity"
    return str(int(x)) if float(x).is_integer() else repr(x)


@dataclass
class ResolvedParameters:
    """Validated values (paths made absolute) and the input paths among them."""

    values: dict[str, Any]
    inputs: dict[str, Path] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- reading


def parameters_cell(nb: nbformat.NotebookNode, path: Path) -> str:
    """Source of the single cell tagged ``parameters``."""
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(
            [f"{path}: found {len(cells)} cells tagged 'parameters'; a study notebook needs exactly one."]
        )
    return cells[0].source


def read_parameters(notebook: Path) -> list[ParamSpec]:
    """Parse the ``parameters`` cell of ``notebook`` without executing it.

    Type aliases (``Language = Literal["lv", "en"]``) assigned in the code cells above
    it, usually the imports cell, may annotate a parameter (``language: Language``).
    """
    nb = nbformat.read(notebook, as_version=4)
    source = parameters_cell(nb, notebook)
    above = []
    for cell in nb.cells:
        if cell.source == source and "parameters" in cell.get("metadata", {}).get("tags", []):
            break
        if cell.cell_type == "code":
            above.append(cell.source)
    return parse_parameters(source, str(notebook), aliases=type_aliases(above))


ALIAS_HEADS = {"Literal", "Optional", "list", "List", "InData"} | set(RANGE_TYPES)
DATA_TYPES = {"Municipality", "PlanningRegion", "Cohort"}  # named InData types of evaltools.params


def type_aliases(sources: Iterable[str]) -> dict[str, ast.expr]:
    """``Name = <type>`` assignments at the top level of ``sources`` (cells that do not parse are skipped).

    A type is ``Literal[...]``, ``Optional[...]``, ``list[...]``, ``Int[...]``/``Float[...]``
    or ``X | None``: the forms papermill cannot read in a parameter's annotation.
    """
    out: dict[str, ast.expr] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and _is_type(node.value)):
                out[node.targets[0].id] = node.value
    return out


def _is_type(node: ast.expr) -> bool:
    if isinstance(node, ast.Subscript):
        return _tail(node.value) in ALIAS_HEADS
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and any(
        isinstance(s, ast.Constant) and s.value is None for s in (node.left, node.right))


def parse_parameters(
    source: str, where: str = "parameters cell", *, aliases: dict[str, ast.expr] | None = None
) -> list[ParamSpec]:
    """Declarations of a parameters cell: annotated (or plain) assignments of literals.

    ``aliases`` maps a type alias to its type (:func:`type_aliases` of the cells above).
    """
    aliases = aliases or {}
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError([f"{where}, line {exc.lineno}: not valid Python ({exc.msg})."]) from None
    comments = _line_comments(source)
    specs: list[ParamSpec] = []
    problems: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)):
            continue
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, value, ann = node.target.id, node.value, node.annotation
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value, ann = node.targets[0].id, node.value, None
        else:
            problems.append(f"{where}, line {node.lineno}: only `name: type = value` declarations belong here.")
            continue
        if value is None:
            problems.append(f"{where}, line {node.lineno}: parameter '{name}' needs a default value.")
            continue
        if ann is None and _is_type(value):
            problems.append(
                f"{where}, line {node.lineno}: '{name}' is a type alias; assign it in the imports cell above, "
                "where papermill does not take it for a parameter."
            )
            continue
        try:
            default = ast.literal_eval(value)
        except ValueError:
            problems.append(
                f"{where}, line {node.lineno}: the default of '{name}' must be a literal "
                "(number, text, True/False, None or a list of these)."
            )
            continue
        help_text = comments.get(node.end_lineno or node.lineno, "")
        try:
            spec = _spec_from_annotation(name, ann, default, help_text, aliases)
        except ValueError as exc:
            problems.append(f"{where}, line {node.lineno}: {exc}")
            continue
        specs.append(spec)
    if problems:
        raise ParameterError(problems)
    return specs


def _line_comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string.lstrip("#").strip()
    return out


def _spec_from_annotation(
    name: str, ann: ast.expr | None, default: Any, help_text: str, aliases: dict[str, ast.expr] | None = None
) -> ParamSpec:
    if isinstance(ann, ast.Name) and aliases and ann.id in aliases:
        spec = _spec_from_annotation(name, aliases[ann.id], default, help_text)
        return replace(spec, alias=ann.id)
    text = ast.unparse(ann) if ann is not None else ""
    if ann is None:
        kind = {bool: "bool", int: "int", float: "float", str: "str", list: "list"}.get(type(default), "any")
        return ParamSpec(name, kind, type(default).__name__, default, help_text)
    optional = False
    # `X | None` and Optional[X]
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        sides = [ann.left, ann.right]
        nones = [s for s in sides if isinstance(s, ast.Constant) and s.value is None]
        if len(nones) != 1:
            raise ValueError(f"parameter '{name}': unsupported annotation {text!r}.")
        ann = next(s for s in sides if s not in nones)
        optional = True
    if isinstance(ann, ast.Subscript) and _tail(ann.value) == "Optional":
        ann, optional = ann.slice, True
    if isinstance(ann, (ast.Name, ast.Attribute)) and _tail(ann) in DATA_TYPES:
        return _named_data_spec(name, _tail(ann), text, default, help_text, optional)
    if isinstance(ann, ast.Subscript) and _tail(ann.value) == "InData":
        return _in_data_spec(name, ann, text, default, help_text, optional)
    if isinstance(ann, (ast.Name, ast.Attribute)) and _tail(ann) in SIMPLE_TYPES | PATH_TYPES | NAME_TYPES | THRESHOLD_TYPES:
        return ParamSpec(name, _tail(ann), text, default, help_text, optional=optional)
    if isinstance(ann, ast.Subscript) and _tail(ann.value) in RANGE_TYPES:
        kind = RANGE_TYPES[_tail(ann.value)]
        low, high, allow_nan = _range(name, kind, ann.slice, text)
        return ParamSpec(name, kind, text, default, help_text, optional=optional, low=low, high=high,
                         allow_nan=allow_nan)
    if isinstance(ann, ast.Subscript) and _tail(ann.value) == "Literal":
        elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        choices = tuple(ast.literal_eval(e) for e in elts)
        return ParamSpec(name, "choice", text, default, help_text, choices=choices, optional=optional)
    if isinstance(ann, ast.Subscript) and _tail(ann.value) in {"list", "List"}:
        item = _spec_from_annotation(f"{name}[]", ann.slice, None, "")
        return ParamSpec(name, "list", text, default, help_text, item=item, optional=optional)
    raise ValueError(
        f"parameter '{name}': unsupported annotation {text!r}; use int, float, str, bool, "
        "Int[low, high], Float[low, high], MinCell, Literal[...], list[...], InputFile, InputDir "
        "or OutputName (optionally `| None`), or a type alias of one assigned in the imports cell "
        "(`Language = Literal[\"lv\", \"en\"]`)."
    )


def _named_data_spec(name: str, type_name: str, text: str, default: Any, help_text: str,
                     optional: bool) -> ParamSpec:
    """``Municipality``, ``PlanningRegion``, ``Cohort``: read from evaltools.params itself."""
    import typing

    import evaltools.params as declared

    base, *meta = typing.get_args(getattr(declared, type_name))
    rng = next((m for m in meta if isinstance(m, declared.Range)), None)
    column = next(m for m in meta if isinstance(m, declared.DataColumn))
    return ParamSpec(name, {int: "int", float: "float"}.get(base, "str"), text, default, help_text,
                     optional=optional, low=rng.low if rng else None, high=rng.high if rng else None,
                     data=_data_column(name, column))


def _in_data_spec(name: str, ann: ast.Subscript, text: str, default: Any, help_text: str,
                  optional: bool) -> ParamSpec:
    """``InData[type, "table", "column", extra...]`` from the annotation's AST."""
    from evaltools.params import DataColumn

    items = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
    usage = f'parameter \'{name}\': write InData[type, "table", "column", extra values...], got {text!r}.'
    try:
        table, column = ast.literal_eval(items[1]), ast.literal_eval(items[2])
        extra = tuple(ast.literal_eval(e) for e in items[3:])
    except (IndexError, ValueError):
        raise ValueError(usage) from None
    columns = (column,) if isinstance(column, str) else tuple(column) if isinstance(column, tuple) else ()
    if not isinstance(table, str) or not columns or not all(isinstance(c, str) for c in columns):
        raise ValueError(usage)
    base = _spec_from_annotation(name, items[0], default, help_text)
    if base.kind not in {"str", "int", "float"}:
        raise ValueError(f"parameter '{name}': InData[...] takes str, int, float, Int[...] or Float[...] "
                         f"as its type, got {ast.unparse(items[0])!r}.")
    return replace(base, annotation=text, optional=optional,
                   data=_data_column(name, DataColumn(table, columns, extra)))


def _data_column(name: str, column: Any) -> Any:
    from evaltools.data.schemas import IDENTIFIER_COLUMNS

    bad = [c for c in column.columns if c in IDENTIFIER_COLUMNS]
    if bad:
        raise ValueError(f"parameter '{name}': InData on the identifier column {bad[0]!r} is not allowed "
                         "(its messages would show identifier values).")
    return column


def _range(name: str, kind: str, node: ast.expr, text: str) -> tuple[float | None, float | None, bool]:
    """Bounds of ``Int[low, high]`` / ``Float[low, high, nan]`` from the annotation's AST."""
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    usage = f"parameter '{name}': {text!r} must be {kind.title()}[low, high]" + (
        " or Float[low, high, nan]" if kind == "float" else ""
    ) + " with numbers or None as bounds"
    allow_nan = len(items) == 3 and kind == "float" and _tail(items[2]) == "nan"
    if len(items) != 2 and not allow_nan:
        raise ValueError(usage + ".")
    bounds: list[float | None] = []
    for item in items[:2]:
        sign = 1
        if isinstance(item, ast.UnaryOp) and isinstance(item.op, (ast.USub, ast.UAdd)):
            sign, item = (-1 if isinstance(item.op, ast.USub) else 1), item.operand
        if isinstance(item, ast.Constant) and item.value is None and sign == 1:
            bounds.append(None)
        elif isinstance(item, ast.Constant) and type(item.value) in (int, float) and math.isfinite(item.value):
            bounds.append(sign * item.value)
        elif _tail(item) == "inf" and kind == "float":
            bounds.append(sign * math.inf)
        else:
            raise ValueError(usage + ".")
        if kind == "int" and isinstance(bounds[-1], float):
            raise ValueError(usage + " (whole numbers for Int).")
    low, high = bounds
    if low is not None and high is not None and low > high:
        raise ValueError(f"parameter '{name}': {text!r} has its lower bound above its upper bound.")
    return low, high, allow_nan


def _tail(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


# ------------------------------------------------------------------------ validating


def parse_overrides(items: Iterable[str]) -> dict[str, tuple[str, Origin]]:
    """``--set key=value`` items as name -> (text, origin); refuses malformed or repeated ones."""
    out: dict[str, tuple[str, Origin]] = {}
    problems: list[str] = []
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"{SET} {short(item)}: expected key=value, e.g. --set language=en.")
        elif control_character(key) or not key.isidentifier():
            problems.append(f"{SET} {short(key)}=…: {short(key)} is not a parameter name "
                            "(letters, digits and _).")
        elif key in out:
            problems.append(f"{SET} {key}: given twice ({short(out[key][0])} and {short(value)}); give it once.")
        else:
            out[key] = (value, Origin(SET))
    if problems:
        raise ParameterError(problems)
    return out


def validate(
    specs: list[ParamSpec],
    given: dict[Any, tuple[Any, str]],
    *,
    root: Path,
    notebook_dir: Path,
    context: str = "",
) -> ResolvedParameters:
    """Check ``given`` (name -> (value, origin)) against ``specs``; fill in defaults.

    ``origin`` is where the value came from: a params file (an :class:`Origin` with
    the key's line when known) or ``--set``; values from ``--set`` arrive as text
    and are converted to the declared type. Relative input paths resolve against
    ``root`` (the project) when given by the user and against ``notebook_dir`` for
    notebook defaults. A ``MinCell`` value is checked against the disclosure floor
    of the project at ``root`` (``disclosure.yaml``).
    """
    by_name = {s.name: s for s in specs}
    problems: list[str] = []
    policy: DisclosurePolicy | None = None
    try:
        policy = load_policy(root)
    except PolicyError as exc:
        problems.append(str(exc))
    for name, (_, origin) in given.items():
        if name not in by_name:
            hint = (difflib.get_close_matches(name, by_name, n=1)
                    if isinstance(name, str) and len(name) <= 100 else [])
            did_you = f" Did you mean '{hint[0]}'?" if hint else ""
            problems.append(
                f"{_at(origin)}: unknown parameter {short(name)}.{did_you} Known parameters: "
                + ", ".join(sorted(by_name))
                + "."
            )
    out = ResolvedParameters(values={})
    for spec in specs:
        if spec.name in given:
            raw, origin = given[spec.name]
            base = root
        else:
            raw, origin, base = spec.default, "notebook default", notebook_dir
        try:
            floor = policy.min_cell_floor if policy is not None else None
            value = _convert(spec, raw, from_text=origin == SET, floor=floor)
            if spec.kind in THRESHOLD_TYPES and value is not None:
                if policy is None:
                    continue  # the broken disclosure.yaml is reported above
                try:
                    policy.check_threshold(value, spec.name)
                except PolicyError as exc:
                    raise ValueError(str(exc)) from None
            if spec.kind in PATH_TYPES and value is not None:
                path = _existing_path(spec, value, base, root)
                out.inputs[spec.name] = path
                value = str(path)
        except ValueError as exc:
            problems.append(f"{_at(origin)}: parameter '{spec.name}': {exc}")
            continue
        out.values[spec.name] = value
        out.origins[spec.name] = str(origin)
    problems += check_in_data(specs, out, given, root)
    if problems:
        raise ParameterError(problems, context)
    return out


MAX_SHOWN_VALUES = 12


def check_in_data(specs: list[ParamSpec], resolved: ResolvedParameters,
                  given: dict[Any, tuple[Any, str]], root: Path) -> list[str]:
    """Problems of values declared ``InData`` that are not in their data column.

    The data folder is the study's ``data_dir`` parameter (else its first ``InputDir``), the
    column mapping its ``mapping`` parameter, both as already resolved; each table is read
    once. A value matches exactly, or an ``extra`` value ignoring case; otherwise the
    message suggests the values equal ignoring case and accents (``Riga`` -> ``Rīga``), or
    close ones (difflib).
    """
    wanted = [s for s in specs if s.data is not None and resolved.values.get(s.name) is not None]
    if not wanted:
        return []
    dirs = [s.name for s in specs if s.kind == "InputDir"]
    data_param = "data_dir" if "data_dir" in dirs else (dirs[0] if dirs else None)
    folder = resolved.inputs.get(data_param) if data_param else None
    if data_param is None:
        return [f"parameter '{s.name}': declared InData, but the study has no InputDir parameter for the data."
                for s in wanted]
    if folder is None:  # the data folder itself is wrong: reported with its parameter
        return []
    from evaltools.data.errors import DataValidationError

    mapping = resolved.inputs.get("mapping")
    tables: dict[str, Any] = {}
    problems = []
    for spec in wanted:
        value = resolved.values[spec.name]
        origin = given.get(spec.name, (None, "notebook default"))[1]
        col = spec.data
        if any(isinstance(x, str) and isinstance(value, str) and x.casefold() == value.strip().casefold()
               or x == value for x in col.extra):
            continue
        try:
            if col.table not in tables:
                tables[col.table] = _read_table(folder, col.table, mapping)
            frame = tables[col.table]
            missing = [c for c in col.columns if c not in frame.columns]
            if missing:
                raise ValueError(f"the table has no column {missing[0]!r}")
        except DataValidationError:
            # the table breaks its schema: the run's loader reports that with file, column and
            # row; this check is about the parameter and is left to the run
            continue
        except Exception as exc:  # noqa: BLE001 - said, not raised: the data layer names file and column
            problems.append(f"{_at(origin)}: parameter '{spec.name}': could not be checked against "
                            f"{col.table}.{col.columns[0]} in {clip(folder)} ({_reason(exc)}).")
            continue
        known = [_plain(v) for c in col.columns for v in frame[c].dropna().unique()]
        if value in known or (isinstance(value, str) and value.strip() in known):
            continue
        shown = sorted({_plain(v) for v in frame[col.columns[0]].dropna().unique()}, key=str)
        problems.append(f"{_at(origin)}: parameter '{spec.name}': {short(value)} is not a value of "
                        f"{col.table}.{col.columns[0]} in the data ({clip(folder)}).{_did_you_mean(value, shown)}"
                        + _choices(shown, col.extra))
    return problems


def _read_table(folder: Path, table: str, mapping: Path | None) -> Any:
    from evaltools.data.errors import DataFileError
    from evaltools.data.io import _find_file, load, read_mapping

    m = read_mapping(mapping)
    path = _find_file(folder, table, dict(m.get("files", {})))
    if path is None or not path.is_file():
        raise DataFileError(f"no {table}.parquet, .csv or .xlsx in the folder")
    return load(path, table=table, mapping=m)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return short(text[0] if text else type(exc).__name__, 200)


def _plain(value: Any) -> Any:
    """A data value as a parameter would hold it (numpy scalars to Python; 2016.0 to 2016)."""
    value = value.item() if hasattr(value, "item") else value
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _fold(text: Any) -> str:
    """Case and accents ignored: ``Rīga`` and ``riga`` fold alike."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def _did_you_mean(value: Any, known: list[Any]) -> str:
    numbers = [k for k in known if isinstance(k, (int, float)) and not isinstance(k, bool)]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and numbers:
        nearest = sorted(numbers, key=lambda k: (abs(k - value), k))[:1]
        return f" The nearest is {nearest[0]!r}."
    folded: dict[str, list[Any]] = {}
    for k in known:
        folded.setdefault(_fold(k), []).append(k)
    hits = folded.get(_fold(value)) or [
        k for f in difflib.get_close_matches(_fold(value), list(folded), n=3, cutoff=0.6) for k in folded[f]]
    return f" Did you mean {' or '.join(repr(h) for h in hits[:3])}?" if hits else ""


def _choices(known: list[Any], extra: tuple[Any, ...]) -> str:
    values = [*extra[:1], *known]
    if len(values) > MAX_SHOWN_VALUES:
        return f" The data has {len(known):,} different values there."
    return " Use one of: " + ", ".join(short(v, 40) for v in values) + "."


def _convert(spec: ParamSpec, value: Any, *, from_text: bool, floor: int | None = None) -> Any:
    if from_text and isinstance(value, str):
        value = _parse_text(spec, value)
    if value is None:
        if spec.optional or spec.kind == "any":
            return None
        raise ValueError(f"expected {spec.describe(floor)}, got null.")
    kind = spec.kind
    if kind == "any":
        return value
    if kind in {"int"} | THRESHOLD_TYPES:
        if not isinstance(value, int) or isinstance(value, bool):
            hint = ""
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                hint = f" (write the whole number {int(value)})"
            elif isinstance(value, bool):
                hint = " (true/false is not a number)"
            raise ValueError(f"expected {spec.describe(floor)}, got {short(value)}{hint}.")
        return _in_range(spec, value)
    if kind == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"expected {spec.describe()}, got {short(value)}.")
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(f"expected {spec.describe()}, got {short(value)} (too large).") from None
        if math.isnan(value) and not spec.allow_nan:
            raise ValueError(f"expected {spec.describe()}, got NaN (not a number; not allowed here).")
        if math.isinf(value) and not (spec.high == math.inf and value > 0 or spec.low == -math.inf and value < 0):
            raise ValueError(f"expected {spec.describe()}, got {_num(value)} (not allowed here).")
        return value if math.isnan(value) else _in_range(spec, value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected {spec.describe()}, got {short(value)}.")
        return value
    if kind in {"str", "OutputName"} | PATH_TYPES:
        if not isinstance(value, str):
            raise ValueError(f"expected {spec.describe()}, got {short(value)}.")
        _check_text(spec, value)
        if kind == "OutputName" and (value == "" or not all(ch.isalnum() or ch in "-_" for ch in value)):
            raise ValueError(f"expected {spec.describe()}, got {short(value)}.")
        return value
    if kind == "choice":
        if not (_hashable(value) and value in spec.choices and type(value) in {type(c) for c in spec.choices}):
            raise ValueError(f"expected {spec.describe()}, got {short(value)}.")
        return value
    if kind == "list":
        if not isinstance(value, list):
            raise ValueError(f"expected {spec.describe()}, got {short(value)}.")
        if len(value) > MAX_ITEMS:
            raise ValueError(f"expected {spec.describe()}, got a list of {len(value):,} items (at most {MAX_ITEMS}).")
        assert spec.item is not None
        return [_convert(spec.item, v, from_text=False) for v in value]
    raise AssertionError(kind)  # pragma: no cover - guarded by _spec_from_annotation


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _in_range(spec: ParamSpec, value: float) -> Any:
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        raise ValueError(f"expected {spec.describe()}, got {short(value)}.")
    return value


def _check_text(spec: ParamSpec, value: str) -> None:
    limit = MAX_PATH if spec.kind in PATH_TYPES else MAX_TEXT
    if len(value) > limit:
        what = "a path" if spec.kind in PATH_TYPES else "a text"
        raise ValueError(f"expected {what} of at most {limit} characters, got {len(value):,} characters "
                         f"({short(value)}).")
    bad = control_character(value)
    if bad is not None:
        raise ValueError(f"the value {short(value)} holds a control or invalid character ({bad}); "
                         "give plain UTF-8 text.")


_INT = re.compile(r"[+-]?\d{1,30}")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,4})?|[+-]?\.?(inf|infinity|nan)", re.IGNORECASE)
_BOOL = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def _parse_text(spec: ParamSpec, text: str) -> Any:
    """Turn ``--set key=TEXT`` into the declared type (text that does not fit stays text)."""
    from evaltools.yamlfile import YamlFileError, parse_yaml

    bad = control_character(text)
    if bad is not None:
        raise ValueError(f"the value holds a control character or bytes that are not UTF-8 ({bad}); "
                         "give plain UTF-8 text.")
    kind, stripped = spec.kind, text.strip()
    if stripped.lower() in {"null", "none", "~"} and spec.optional:
        return None
    if kind in {"str", "OutputName"} | PATH_TYPES:
        return text
    if kind == "choice" and all(isinstance(c, str) for c in spec.choices):
        return text
    if kind in {"int"} | THRESHOLD_TYPES and _INT.fullmatch(stripped):
        return int(stripped)
    if kind in {"int", "float"} | THRESHOLD_TYPES:
        if len(stripped) <= 40 and _FLOAT.fullmatch(stripped):
            word = stripped.lower().replace(".", "").replace("infinity", "inf")
            return float(word) if word.lstrip("+-") in {"inf", "nan"} else float(stripped)
        return _BOOL.get(stripped.lower(), text)
    if kind == "bool":
        return _BOOL.get(stripped.lower(), text)
    try:
        return parse_yaml(text, SET).data
    except YamlFileError as exc:
        raise ValueError(exc.problem) from None


def _existing_path(spec: ParamSpec, value: str, base: Path, root: Path) -> Path:
    try:
        path = Path(value).expanduser()
        path = (path if path.is_absolute() else base / path).resolve()
        want_dir = spec.kind == "InputDir"
        if want_dir and path.is_dir() or not want_dir and path.is_file():
            return path
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, RuntimeError, ValueError) as exc:
        raise ValueError(f"{short(value)} cannot be used as a path ({type(exc).__name__}).") from None
    what = "folder" if want_dir else "file"
    where = "" if Path(value).is_absolute() else f" (relative paths are read from {clip(base)})"
    state = f"it is a {'folder' if is_dir else 'file'}" if exists else "it does not exist"
    raise ValueError(f"expected an existing input {what}, but {clip(path)}: {state}{where}.")
