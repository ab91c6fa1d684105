"""Read a notebook's declared parameters and validate values against them.

papermill enforces neither types nor names (PITFALLS.md), so ``evaltools run``
checks every value here first and executes nothing when one is wrong. All
problems are collected and reported together, each naming the parameter, where
its value came from and what is expected.
"""
from __future__ import annotations

import ast
import difflib
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

SIMPLE_TYPES = {"int", "float", "str", "bool"}
PATH_TYPES = {"InputFile", "InputDir"}
NAME_TYPES = {"OutputName"}


class ParameterError(ValueError):
    """One or more parameters are wrong; ``problems`` lists each with its origin."""

    def __init__(self, problems: list[str], context: str = ""):
        self.problems = problems
        head = f"Invalid parameters{' for ' + context if context else ''}:"
        super().__init__("\n".join([head, *[f"  - {p}" for p in problems]]))


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter: ``name: annotation = default  # help``."""

    name: str
    kind: str  # int, float, str, bool, choice, InputFile, InputDir, OutputName, list, any
    annotation: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] = ()
    item: "ParamSpec | None" = None  # element type of a list
    optional: bool = False

    def describe(self) -> str:
        """What a valid value looks like, for error messages and ``evaltools studies``."""
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "list" and self.item is not None:
            text = f"a list of {self.item.describe()}"
        else:
            text = {
                "int": "an integer",
                "float": "a number",
                "str": "a text (quote it in YAML if it looks like a number)",
                "bool": "true or false",
                "InputFile": "the path of an existing file",
                "InputDir": "the path of an existing folder",
                "OutputName": "a name of letters, digits, '-' and '_'",
                "any": "any value",
            }[self.kind]
        return text + (" or null" if self.optional else "")


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
    """Parse the ``parameters`` cell of ``notebook`` without executing it."""
    nb = nbformat.read(notebook, as_version=4)
    return parse_parameters(parameters_cell(nb, notebook), str(notebook))


def parse_parameters(source: str, where: str = "parameters cell") -> list[ParamSpec]:
    """Declarations of a parameters cell: annotated (or plain) assignments of literals."""
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
            spec = _spec_from_annotation(name, ann, default, help_text)
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


def _spec_from_annotation(name: str, ann: ast.expr | None, default: Any, help_text: str) -> ParamSpec:
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
    if isinstance(ann, ast.Name) and ann.id in SIMPLE_TYPES | PATH_TYPES | NAME_TYPES:
        return ParamSpec(name, ann.id, text, default, help_text, optional=optional)
    if isinstance(ann, ast.Subscript) and _tail(ann.value) == "Literal":
        elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        choices = tuple(ast.literal_eval(e) for e in elts)
        return ParamSpec(name, "choice", text, default, help_text, choices=choices, optional=optional)
    if isinstance(ann, ast.Subscript) and _tail(ann.value) in {"list", "List"}:
        item = _spec_from_annotation(f"{name}[]", ann.slice, None, "")
        return ParamSpec(name, "list", text, default, help_text, item=item, optional=optional)
    raise ValueError(
        f"parameter '{name}': unsupported annotation {text!r}; use int, float, str, bool, "
        "Literal[...], list[...], InputFile, InputDir or OutputName (optionally `| None`)."
    )


def _tail(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


# ------------------------------------------------------------------------ validating


def validate(
    specs: list[ParamSpec],
    given: dict[str, tuple[Any, str]],
    *,
    root: Path,
    notebook_dir: Path,
    context: str = "",
) -> ResolvedParameters:
    """Check ``given`` (name -> (value, origin)) against ``specs``; fill in defaults.

    ``origin`` is where the value came from: a params file or ``--set``; values
    from ``--set`` arrive as text and are converted to the declared type.
    Relative input paths resolve against ``root`` (the project) when given by
    the user and against ``notebook_dir`` for notebook defaults.
    """
    by_name = {s.name: s for s in specs}
    problems: list[str] = []
    for name, (_, origin) in given.items():
        if name not in by_name:
            hint = difflib.get_close_matches(name, by_name, n=1)
            did_you = f" Did you mean '{hint[0]}'?" if hint else ""
            problems.append(
                f"{origin}: unknown parameter '{name}'.{did_you} Known parameters: "
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
            value = _convert(spec, raw, from_text=origin == "--set")
            if spec.kind in PATH_TYPES and value is not None:
                path = _existing_path(spec, value, base, root)
                out.inputs[spec.name] = path
                value = str(path)
        except ValueError as exc:
            problems.append(f"{origin}: parameter '{spec.name}': {exc}")
            continue
        out.values[spec.name] = value
        out.origins[spec.name] = origin
    if problems:
        raise ParameterError(problems, context)
    return out


def _convert(spec: ParamSpec, value: Any, *, from_text: bool) -> Any:
    if from_text and isinstance(value, str):
        value = _parse_text(spec, value)
    if value is None:
        if spec.optional or spec.kind == "any":
            return None
        raise ValueError(f"expected {spec.describe()}, got null.")
    kind = spec.kind
    ok: bool
    if kind == "any":
        return value
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind in {"str"} | PATH_TYPES:
        ok = isinstance(value, str)
    elif kind == "OutputName":
        ok = isinstance(value, str) and value != "" and all(ch.isalnum() or ch in "-_" for ch in value)
    elif kind == "choice":
        ok = value in spec.choices and type(value) in {type(c) for c in spec.choices}
    elif kind == "list":
        if not isinstance(value, list):
            raise ValueError(f"expected {spec.describe()}, got {value!r}.")
        assert spec.item is not None
        return [_convert(spec.item, v, from_text=False) for v in value]
    else:  # pragma: no cover - guarded by _spec_from_annotation
        raise AssertionError(kind)
    if not ok:
        raise ValueError(f"expected {spec.describe()}, got {value!r}.")
    return value


def _parse_text(spec: ParamSpec, text: str) -> Any:
    """Turn ``--set key=TEXT`` into the declared type."""
    import yaml

    kind = spec.kind
    if text.strip().lower() in {"null", "none", "~"} and spec.optional:
        return None
    if kind in {"str", "OutputName"} | PATH_TYPES:
        return text
    if kind == "choice" and all(isinstance(c, str) for c in spec.choices):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _existing_path(spec: ParamSpec, value: str, base: Path, root: Path) -> Path:
    path = Path(value).expanduser()
    path = (path if path.is_absolute() else base / path).resolve()
    want_dir = spec.kind == "InputDir"
    if want_dir and path.is_dir() or not want_dir and path.is_file():
        return path
    what = "folder" if want_dir else "file"
    where = "" if Path(value).is_absolute() else f" (relative paths are read from {base})"
    state = f"it is a {'folder' if path.is_dir() else 'file'}" if path.exists() else "it does not exist"
    raise ValueError(f"expected an existing input {what}, but {path}: {state}{where}.")
