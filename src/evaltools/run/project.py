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
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from evaltools.run.parameters import ParameterError, ParamSpec, read_parameters

ROOT_ENV = "EVALTOOLS_ROOT"
PARAMS_KEYS = {"study", "description", "parameters"}


class ProjectError(ValueError):
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

    @property
    def name(self) -> str:
        return self.path.stem


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
            if not p.name.startswith((".", "_"))
        ]

    def study(self, name: str) -> Study:
        path = self.notebooks_dir / f"{name}.ipynb"
        if not path.is_file():
            known = ", ".join(s.name for s in self.studies()) or "none"
            raise ProjectError(f"Unknown study '{name}': there is no {path}. Known studies: {known}.")
        return Study(name, path)

    def params_files(self) -> list[ParamsFile]:
        return [read_params_file(p) for p in sorted(self.params_dir.glob("*.y*ml"))]

    def resolve_params_path(self, value: str | Path) -> Path:
        """A params file given on the command line: as written, else under params/."""
        path = Path(value)
        for candidate in (path, self.root / path, self.params_dir / path):
            if candidate.is_file():
                return candidate.resolve()
        raise ProjectError(f"Params file not found: {value} (looked in ., {self.root} and {self.params_dir}).")


def read_params_file(path: Path) -> ParamsFile:
    """Load and check the shape of a params file (values are checked by the runner)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParameterError([f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})."]) from None
    if not isinstance(data, dict):
        raise ParameterError([f"{path}: expected a mapping with keys 'study' and 'parameters'."])
    problems = [
        f"{path}: unknown top-level key '{k}'; allowed: {', '.join(sorted(PARAMS_KEYS))} "
        "(study parameters go under 'parameters:')."
        for k in data
        if k not in PARAMS_KEYS
    ]
    study = data.get("study")
    if not isinstance(study, str) or not study:
        problems.append(f"{path}: 'study' must name the study notebook, e.g. `study: municipal_quality`.")
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        problems.append(f"{path}: 'parameters' must be a mapping of name: value.")
    if problems:
        raise ParameterError(problems)
    return ParamsFile(path, study, str(data.get("description") or ""), params)
