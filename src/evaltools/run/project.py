"""Where studies, params files and reports live.

A project is a folder with ``notebooks/`` (one notebook per study),
``params/`` (YAML files, each naming its study) and ``reports/`` (build
output). It is found from ``--root``, else ``$EVALTOOLS_ROOT``, else the
nearest folder at or above the working directory that has ``notebooks/``.

A params file::

    study: municipal_quality        # the notebook notebooks/municipal_quality.ipynb
    description: All of Latvia, in Latvian
    parameters:
      language: lv
      data_dir: data/sample         # relative paths are read from the project root

Params files are found by :meth:`Project.params_paths`: every ``params/*.yaml`` (or ``.yml``) and
every ``params/<folder>/*.yaml`` one level down (e.g. ``params/municipal_quality/valmieras-novads.yaml``,
one file per municipality), except the folders in ``NOT_PARAMS`` (``params/mappings/`` holds column
mappings, not params files) and folders whose name starts with ``.`` or ``_``. A run is named by
its file's stem, so stems must be unique across ``params/``.

Reports: ``reports/<study>/<run-id>/`` per run (earlier runs stay), and
``reports/latest/<study>/<params-file stem>/`` the newest run of each params file that
succeeded (:mod:`evaltools.report.latest`, written with the index): ``latest`` is therefore
not a study name (:data:`RESERVED_STUDIES`).

Params files are read strictly (:mod:`evaltools.yamlfile`: UTF-8, small, no anchors or
aliases, no key given twice) and every problem names the file and the line.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from evaltools.core.errors import ParamsError
from evaltools.run.parameters import Origin, ParameterError, ParamSpec, read_parameters
from evaltools.text import clip, short
from evaltools.yamlfile import YamlFileError, read_yaml

ROOT_ENV = "EVALTOOLS_ROOT"
PARAMS_KEYS = {"study", "description", "parameters"}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
MAX_DESCRIPTION = 500
NOT_PARAMS = frozenset({"mappings"})  # folders of params/ that hold other YAML (column mappings)
# reports/latest/ holds the stable addresses (evaltools.report.latest): no study may be named so
RESERVED_STUDIES = frozenset({"latest"})


class ProjectError(ParamsError, ValueError):
    """The project, a study or a params file cannot be found or read."""


@dataclass(frozen=True)
class Study:
    name: str
    notebook: Path

    @cached_property
    def parameters(self) -> list[ParamSpec]:
        return read_parameters(self.notebook)


@dataclass(frozen=True)
class ParamsFile:
    path: Path
    study: str
    description: str
    parameters: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)  # line of each parameter's key

    @property
    def name(self) -> str:
        return self.path.stem

    def given(self, where: str) -> dict[str, tuple[Any, Origin]]:
        """The parameters as ``validate`` takes them: name -> (value, origin with the key's line)."""
        return {k: (v, Origin(where, self.lines.get(k))) for k, v in self.parameters.items()}


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def find(cls, root: str | Path | None = None) -> "Project":
        if root is None:
            root = os.environ.get(ROOT_ENV)
        if root is not None:
            path = Path(root).resolve()
            if not (path / "notebooks").is_dir():
                raise ProjectError(f"{path} is not an evaltools project: it has no notebooks/ folder.")
            return cls(path)
        here = Path.cwd().resolve()
        for folder in (here, *here.parents):
            if (folder / "notebooks").is_dir():
                return cls(folder)
        raise ProjectError(
            f"No evaltools project at or above {here}: run from the project folder, "
            f"or pass --root, or set {ROOT_ENV}."
        )

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def params_dir(self) -> Path:
        return self.root / "params"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def studies(self) -> list[Study]:
        return [
            Study(p.stem, p)
            for p in sorted(self.notebooks_dir.glob("*.ipynb"))
            if not p.name.startswith((".", "_")) and p.stem not in RESERVED_STUDIES
        ]

    def study(self, name: str) -> Study:
        known = ", ".join(s.name for s in self.studies()) or "none"
        if not NAME.fullmatch(name):
            raise ProjectError(f"Unknown study {short(name)}: a study is named by its notebook in "
                               f"{clip(self.notebooks_dir)} (letters, digits, '-' and '_'). Known studies: {known}.")
        if name in RESERVED_STUDIES:
            raise ProjectError(f"A study cannot be named '{name}': reports/{name}/ holds the stable address of "
                               f"every report (evaltools.report.latest). Rename notebooks/{name}.ipynb.")
        path = self.notebooks_dir / f"{name}.ipynb"
        if not path.is_file():
            raise ProjectError(f"Unknown study '{name}': there is no {clip(path)}. Known studies: {known}.")
        return Study(name, path)

    def params_paths(self) -> list[Path]:
        """Every params file: ``params/*.y*ml`` and ``params/<folder>/*.y*ml`` (one level down),
        except folders in :data:`NOT_PARAMS` and hidden (``.``) or private (``_``) ones; sorted,
        top level first. Two files with the same stem (the run's name) are an error."""
        if not self.params_dir.is_dir():
            return []
        top = sorted(p for p in self.params_dir.glob("*.y*ml") if p.is_file())
        nested = sorted(
            p for folder in self.params_dir.iterdir()
            if folder.is_dir() and folder.name not in NOT_PARAMS and not folder.name.startswith((".", "_"))
            for p in folder.glob("*.y*ml") if p.is_file()
        )
        paths = top + nested
        seen: dict[str, Path] = {}
        for p in paths:
            if p.stem in seen:
                raise ProjectError(f"Two params files are both named '{p.stem}': {clip(seen[p.stem])} and {clip(p)}. "
                                   "A run is named by its file, so rename one of them.")
            seen[p.stem] = p
        return paths

    def params_files(self) -> list[ParamsFile]:
        return [read_params_file(p) for p in self.params_paths()]

    def resolve_params_path(self, value: str | Path) -> Path:
        """A params file given on the command line: as written, else under params/."""
        path = Path(value)
        try:
            candidates = (path, self.root / path, self.params_dir / path)
            for candidate in candidates:
                if candidate.is_file():
                    return candidate.resolve()
            folder = next((c for c in candidates if c.is_dir()), None)
        except (OSError, ValueError):
            raise ProjectError(f"Params file {short(str(value))} cannot be used as a path.") from None
        if folder is not None:
            raise ProjectError(f"{clip(folder)} is a folder: give a params file (e.g. params/<name>.yaml).")
        raise ProjectError(f"Params file not found: {clip(value)} (looked in ., {clip(self.root)} and "
                           f"{clip(self.params_dir)}).")


def read_params_file(path: Path, where: str | None = None) -> ParamsFile:
    """Load and check the shape of a params file (values are checked by the runner).

    The file is read strictly (:func:`evaltools.yamlfile.read_yaml`): UTF-8, at most
    256 KiB, no aliases or anchors, no key given twice; every problem names the file
    (``where``, default the path) and the line.
    """
    where = where or clip(path)
    try:
        loaded = read_yaml(path, where)
    except YamlFileError as exc:
        raise ParameterError([str(exc)]) from None
    data = loaded.data
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"{type(data).__name__} {short(data)}"
        raise ParameterError([f"{where}: expected a mapping with keys 'study' and 'parameters', got {got}."])

    def at(*keys: Any) -> str:
        line = loaded.line(*keys)
        return f"{where}, line {line}" if line else where

    problems = [
        f"{at(k)}: unknown top-level key {short(k)}; allowed: {', '.join(sorted(PARAMS_KEYS))} "
        "(study parameters go under 'parameters:')."
        for k in data
        if k not in PARAMS_KEYS
    ]
    study = data.get("study")
    if not isinstance(study, str) or not NAME.fullmatch(study):
        problems.append(f"{at('study')}: 'study' must name the study notebook (letters, digits, '-' and '_'), "
                        f"e.g. `study: municipal_quality`; got {short(study)}.")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        problems.append(f"{at('description')}: 'description' must be a text, got {short(description)}.")
    elif description and len(description) > MAX_DESCRIPTION:
        problems.append(f"{at('description')}: 'description' is {len(description):,} characters long; "
                        f"keep it under {MAX_DESCRIPTION}.")
    params = data.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        problems.append(f"{at('parameters')}: 'parameters' must be a mapping of name: value, got {short(params)}.")
        params = {}
    for key in params:
        if not isinstance(key, str):
            problems.append(f"{at('parameters', str(key))}: parameter name {short(key)} is not a name "
                            "(letters, digits and _; quote it if it looks like a number).")
    if problems:
        raise ParameterError(problems)
    lines = {k: n for k in params if isinstance(k, str) and (n := loaded.line("parameters", k))}
    return ParamsFile(path, study, description or "", params, lines)
