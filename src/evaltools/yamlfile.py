"""Read a small YAML configuration file (params files, disclosure.yaml) defensively.

PyYAML's ``safe_load`` is safe from code execution but not from mistakes or abuse:
it accepts duplicate keys silently (the last wins), expands aliases (a "billion
laughs" file of 1 kB becomes a structure whose printout never ends), recurses
without limit on nested brackets and turns a non-UTF-8 file into a traceback.
:func:`read_yaml` refuses all of these with one short message that names the file,
the line and what to do:

- the file must be a regular file of at most ``MAX_BYTES`` (256 KiB), UTF-8 text (a
  UTF-8 byte order mark is accepted and dropped), without NUL bytes, control
  characters or tabs in the indentation;
- anchors (``&name``), aliases (``*name``) and merge keys (``<<``) are refused (a
  params file is short: write values out);
- a key given twice in one mapping is refused naming both lines;
- nesting deeper than ``MAX_DEPTH`` and integers longer than ``MAX_DIGITS`` digits are
  refused.

The line of every mapping key is kept (:attr:`Loaded.lines`) so that later checks can
point at the line of a wrong value.
"""
from __future__ import annotations

import codecs
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from evaltools.core.errors import ParamsError
from evaltools.text import clean, control_character, short

MAX_BYTES = 256 * 1024
MAX_DEPTH = 20
MAX_DIGITS = 30
MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlFileError(ParamsError, ValueError):
    """A YAML file cannot be read; the message names the file and, where known, the line."""

    def __init__(self, where: str, problem: str, line: int | None = None):
        self.where, self.problem, self.line = where, problem, line
        super().__init__(clean(f"{where}{f', line {line}' if line else ''}: {problem}"))


@dataclass
class Loaded:
    """The file's data and the line (1-based) of each mapping key, by key path."""

    data: Any
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def line(self, *keys: Any) -> int | None:
        return self.lines.get(keys)


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that a configuration file must not use (alias, duplicate key, ...)."""

    def __init__(self, problem: str, mark: Any):
        super().__init__(None, None, problem, mark)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases, anchors, merge keys or duplicate keys, with a depth cap."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        event = self.peek_event()
        if self.check_event(AliasEvent):
            raise _Refused(f"an alias (*{str(event.anchor)[:20]}) is not allowed: "
                                "write the value out (anchors and aliases are refused)", event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise _Refused(f"an anchor (&{str(event.anchor)[:20]}) is not allowed: "
                                "write the value out (anchors and aliases are refused)", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                line = key_node.start_mark.line + 1
                if key_node.tag == MERGE_TAG:
                    raise _Refused("merge keys (<<) are not allowed: write the keys out",
                                           key_node.start_mark)
                if not isinstance(key_node, ScalarNode):
                    raise _Refused("a key must be a plain name, not a list or mapping",
                                           key_node.start_mark)
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise _Refused(f"the key {short(key)} appears twice, on lines "
                                           f"{seen[key]} and {line}: keep one", key_node.start_mark)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:  # type: ignore[override]
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_DIGITS:
            raise _Refused(f"a number of {digits} digits is too long (at most {MAX_DIGITS})",
                                   node.start_mark)
        return super().construct_yaml_int(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def _key_lines(node: Node | None, prefix: tuple[Any, ...] = (), depth: int = 0) -> dict[tuple[Any, ...], int]:
    out: dict[tuple[Any, ...], int] = {}
    if isinstance(node, MappingNode) and depth < 3:
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                key = (*prefix, key_node.value)
                out[key] = key_node.start_mark.line + 1
                out.update(_key_lines(value_node, key, depth + 1))
    elif isinstance(node, SequenceNode) and depth < 3:
        for i, item in enumerate(node.value):
            out.update(_key_lines(item, (*prefix, i), depth + 1))
    return out


def parse_yaml(text: str, where: str) -> Loaded:
    """Parse YAML ``text`` strictly (see the module docstring); ``where`` names it in messages."""
    bad = control_character(text, allow="\t\n\r")
    if bad is not None:
        pos = next(i for i, ch in enumerate(text) if f"U+{ord(ch):04X}" == bad)
        raise YamlFileError(where, f"a control character ({bad}) at character {pos}: remove it", text.count("\n", 0, pos) + 1)
    for number, row in enumerate(text.splitlines(), start=1):
        if re.match(r"^ *\t", row):
            raise YamlFileError(where, "a tab in the indentation: YAML indents with spaces", number)
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        lines = _key_lines(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = str(exc.problem or exc.context or "not valid YAML")
        if len(problem) > 160:
            problem = problem[:159] + "…"
        prefix = "" if isinstance(exc, _Refused) else "not valid YAML: "
        raise YamlFileError(where, prefix + problem, mark.line + 1 if mark else None) from None
    except (yaml.YAMLError, ValueError, RecursionError, OverflowError) as exc:
        raise YamlFileError(where, f"not valid YAML ({type(exc).__name__})") from None
    finally:
        loader.dispose()
    return Loaded(data, lines)


def read_yaml(path: Path, where: str | None = None, max_bytes: int = MAX_BYTES) -> Loaded:
    """Read ``path`` as strict YAML; :class:`YamlFileError` names ``where`` (default: the path)."""
    where = where or str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise YamlFileError(where, "no such file") from None
    except OSError as exc:
        raise YamlFileError(where, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISDIR(info.st_mode):
        raise YamlFileError(where, "is a folder, not a YAML file")
    if not stat.S_ISREG(info.st_mode):
        raise YamlFileError(where, "is not a regular file (a device, pipe or socket)")
    if info.st_size > max_bytes:
        raise YamlFileError(where, f"is {info.st_size:,} bytes; a file like this is at most {max_bytes:,} bytes")
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise YamlFileError(where, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(raw) > max_bytes:
        raise YamlFileError(where, f"is more than {max_bytes:,} bytes long")
    return parse_yaml(decode(raw, where), where)


def decode(raw: bytes, where: str) -> str:
    """UTF-8 text of ``raw`` (a UTF-8 byte order mark dropped); refuses binary and other encodings."""
    offset = 0
    if raw.startswith(codecs.BOM_UTF8):
        raw, offset = raw[len(codecs.BOM_UTF8):], len(codecs.BOM_UTF8)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise YamlFileError(where, "is UTF-16 text: save it as UTF-8")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise YamlFileError(where, f"is a binary file, not YAML text (a NUL byte at offset {nul + offset})",
                            raw.count(b"\n", 0, nul) + 1)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        raise YamlFileError(
            where,
            f"is not UTF-8 text: byte 0x{byte:02X} at offset {exc.start + offset}; save the file as UTF-8",
            raw.count(b"\n", 0, exc.start) + 1,
        ) from None
