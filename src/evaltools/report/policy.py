"""The project's disclosure policy, owned by the data controller.

A study's ``min_cell`` parameter may raise the disclosure threshold, never lower it
below the floor set here. The floor is 5 by default (ONS 2021 and the Eurostat/ESS
handbook use thresholds of 3 to 10 for counts of people; 5 is the lowest common
choice for pupil-level data). A data controller raises it for a project with a file
``disclosure.yaml`` at the project root::

    min_cell_floor: 10     # no study of this project may publish a count below 10

The file is read by ``evaltools run`` (before anything runs: a lower ``min_cell`` is
refused with exit 2) and again inside the kernel by
:func:`evaltools.report.disclosure.set_defaults`, so a notebook run by hand cannot
go below the floor either.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from evaltools.core.errors import ParamsError
from evaltools.text import clip, short

POLICY_FILE = "disclosure.yaml"
DEFAULT_FLOOR = 5
ROOT_ENV = "EVALTOOLS_ROOT"


class PolicyError(ParamsError, ValueError):
    """``disclosure.yaml`` cannot be read or holds a value that is not allowed."""


@dataclass(frozen=True)
class DisclosurePolicy:
    """What the data controller allows this project to publish."""

    min_cell_floor: int = DEFAULT_FLOOR
    source: str = "the workbench's default"

    def check_threshold(self, value: int, name: str = "min_cell") -> None:
        """Raise :class:`PolicyError` when ``value`` is not a whole number at or above the floor."""
        if isinstance(value, bool) or not isinstance(value, int) or value < self.min_cell_floor:
            raise PolicyError(
                f"{name} = {short(value)} is below the disclosure floor {self.min_cell_floor} "
                f"(set by {self.source}): use {name} {self.min_cell_floor} or more. The threshold may "
                f"be raised, never lowered below the floor; only the data controller may raise the "
                f"floor, in {POLICY_FILE} at the project root."
            )


def project_root(start: Path | None = None) -> Path | None:
    """``$EVALTOOLS_ROOT``, else the nearest folder at or above ``start`` (cwd) with ``notebooks/``."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir():
            return folder
    return None


def load_policy(root: Path | None = None) -> DisclosurePolicy:
    """The policy of the project at ``root`` (found from the working directory when ``None``).

    ``disclosure.yaml`` is read strictly (:func:`evaltools.yamlfile.read_yaml`: UTF-8, no
    aliases, no duplicate keys, small); any problem is a :class:`PolicyError` naming the file.
    """
    root = root if root is not None else project_root()
    if root is None:
        return DisclosurePolicy()
    path = root / POLICY_FILE
    if not path.exists() and not path.is_symlink():
        return DisclosurePolicy()
    from evaltools.yamlfile import YamlFileError, read_yaml

    where = clip(path)
    try:
        loaded = read_yaml(path, where, max_bytes=16 * 1024)
    except YamlFileError as exc:
        raise PolicyError(f"{exc} (the data controller's disclosure policy: fix the file)") from None
    data = loaded.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: expected a mapping `min_cell_floor: <whole number >= {DEFAULT_FLOOR}>`, "
                          f"got {short(data)}.")
    unknown = [k for k in data if k != "min_cell_floor"]
    if unknown:
        raise PolicyError(f"{where}, line {loaded.line(unknown[0])}: unknown key {short(unknown[0])}; "
                          f"the only key is `min_cell_floor: <whole number >= {DEFAULT_FLOOR}>`.")
    floor = data.get("min_cell_floor", DEFAULT_FLOOR)
    if isinstance(floor, bool) or not isinstance(floor, int) or floor < DEFAULT_FLOOR:
        raise PolicyError(
            f"{where}, line {loaded.line('min_cell_floor')}: min_cell_floor must be a whole number >= "
            f"{DEFAULT_FLOOR} (the workbench's own floor), got {short(floor)}."
        )
    return DisclosurePolicy(min_cell_floor=floor, source=where)
