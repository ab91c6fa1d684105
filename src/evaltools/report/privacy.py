"""The last gate before publication: no identifier leaves in a published file.

Disclosure control (``evaltools.report.disclosure``) protects the tables a
notebook publishes. This gate checks the finished files themselves, whatever
produced them, succeeded and failed runs alike. No published file may contain

- a Latvian personal code in any written form (``DDMMYY-NNNNN``, ``DDMMYYNNNNN``,
  the newer ``32NNNN-NNNNN``, after a prefix such as ``Nr.``; the decimals of a
  number are not one, see :data:`evaltools.data.pseudonymise.PERSONAL_CODE`), or
- any value of an identifier column of the run's input data
  (:data:`evaltools.data.schemas.IDENTIFIER_COLUMNS`, as named after the column
  mapping), matched as a whole token of any length, case-insensitively.

What is searched (:func:`scan_run`): every file of the run folder, whatever its
suffix, read the way a reader would see it: text files (HTML with entities
decoded, JSON and notebooks through their parsed strings), images and fonts
embedded as ``data:`` URIs, PNG text chunks, SVG text, ZIP containers
(``.xlsx``: every sheet, shared string and document property), gzip, and PDF
metadata, uncompressed or Flate-compressed streams and the text of every page as a
reader copies it (pypdf; a PDF it cannot parse does not pass); any other file as raw
bytes. File names count too (a file named after an id is withheld in the result).
Hex strings of 32 or more digits (the hashes in ``manifest.json``) are not searched for
personal codes. :func:`scan_index` does the same for
``reports/index.html``. Text drawn as pixels in a PNG cannot be read back: figures
come from the protected tables of the report layer.

Ids too short to be told apart (fewer than :data:`SHORT_ID` characters, or
without a letter) still fail a run when they occur as a token: a report's own numbers
then look like ids. The message says so and tells the evaluator to replace them
with keyed pseudonyms first (``evaltools data pseudonymise``); the gate never
lets such a run through quietly.

Results name files and counts, never the values: :func:`scan_run` returns
``{file: [kind of hit, ...]}`` (one entry per occurrence) and
:func:`describe_hits` makes the message.
"""
from __future__ import annotations

import base64
import binascii
import gzip
import html
import io
import json
import re
import struct
import urllib.parse
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltools.data.pseudonymise import PERSONAL_CODE
from evaltools.data.schemas import IDENTIFIER_COLUMNS, SHORT_ID_CHARS, ambiguous_id

__all__ = ["IDENTIFIER_COLUMNS", "PERSONAL_CODE", "IdentifierSet", "describe_hits", "find_identifiers",
           "identifier_values", "scan_file", "scan_index", "scan_run"]

SHORT_ID = SHORT_ID_CHARS  # shorter ids (or ids without a letter) look like a report's own numbers
PERSONAL = "personal code"
IDENTIFIER = "identifier"
SHORT = "identifier (short or numeric)"
UNREADABLE = "file the gate cannot read"
MAX_INFLATED = 256 * 2**20  # bytes unpacked from one container (zip, gzip, PDF stream): a zip bomb stops here
_MAX_DEPTH = 4
_SEP = "-_./:+@#~"
_COMPOUND = re.compile(r"[^\W_]+(?:[" + re.escape(_SEP) + r"][^\W_]+)*")
_SPLIT = re.compile(r"([" + re.escape(_SEP) + r"])")
_ATOM = re.compile(r"[^\W_]+")  # one run of letters and digits: a part of a _COMPOUND token
_COMPOUND_LINE = re.compile(r"^[^\W_]+(?:[" + re.escape(_SEP) + r"][^\W_]+)*$", re.M)
_SEP_LINE = re.compile(r"^.*[" + re.escape(_SEP) + r"].*$", re.M)
_NO_ASCII_LETTER_LINE = re.compile(r"^[^a-z\n]*$", re.M)  # case-folded ids: no ASCII letter
_SHORT_LINE = re.compile(r"^[^\n]{0,%d}$" % (SHORT_ID_CHARS - 1), re.M)
_SPACE_BUT_NEWLINE = re.compile(r"[^\S\n]")
_SIX_DIGITS = re.compile(r"\d{6}")
_HEX = re.compile(r"(?<![^\W_])[0-9a-fA-F]{32,}(?![^\W_])")  # sha256 / git hashes in manifest.json
# The payload ends at a quote, bracket or space; the text around it is searched as it is.
_DATA_URI = re.compile(r"data:([\w.+/-]*)((?:;[\w.+=-]*)*),([^\s\"'<>()]*)", re.I)


class IdentifierSet(set):
    """The identifier values of a run's inputs (a ``set`` of text).

    ``columns``: {file: [columns that held ids]}; ``unreadable``: {data file: reason} for
    input files whose ids could not be read (the runner should fail the run: the gate
    cannot know what to look for).
    """

    columns: dict[str, list[str]]
    unreadable: dict[str, str]
    _matcher: tuple[int, Any] | None = None  # the prepared matcher, reused by later scans


def identifier_values(inputs: Iterable[Any] | Mapping[str, Any], mapping: Any = None) -> IdentifierSet:
    """Values of every identifier column in the run's input files and folders.

    ``inputs`` are the run's ``InputFile``/``InputDir`` paths (or the dict name -> path).
    Column names are taken after the column mapping, the way ``load_dataset`` names
    them, for Parquet, CSV (``,`` or ``;``) and Excel (every sheet). ``mapping`` is a
    mapping (dict or YAML path, or a list of them); when it is None, every YAML input
    that is a valid column mapping is used (so a study's ``mapping: InputFile`` works
    without telling the gate). Never raises for a bad data file: see ``unreadable``.
    """
    from evaltools.data.errors import DataFileError
    from evaltools.data.io import read_identifiers, read_mapping

    paths = [Path(p) for p in (inputs.values() if isinstance(inputs, Mapping) else inputs) if p is not None]
    yaml_inputs = [p for p in paths if p.suffix.lower() in (".yaml", ".yml") and p.is_file()]
    if mapping is None:
        mapping = []
        for p in yaml_inputs:
            try:
                mapping.append(read_mapping(p))
            except DataFileError:
                continue  # not a column mapping (the study's own load refuses it if it was meant as one)
    found = read_identifiers([p for p in paths if p not in yaml_inputs], mapping)
    out = IdentifierSet(found.values)
    out.columns, out.unreadable = found.columns, found.unreadable
    return out


# ------------------------------------------------------------------------ matching


@dataclass(frozen=True)
class _Matcher:
    """Identifier values prepared for whole-token matching (case-folded)."""

    simple: frozenset[str]  # made of letters/digits joined by single separators (_SEP)
    odd: tuple[str, ...]  # anything else (e.g. with a space): searched as a substring with word boundaries
    short: frozenset[str]  # too short or only digits: cannot be told apart from ordinary numbers
    parts: int  # most separator-joined parts of a simple id

    @classmethod
    def of(cls, identifiers: Iterable[str]) -> _Matcher:
        if isinstance(identifiers, _Matcher):
            return identifiers
        cached = getattr(identifiers, "_matcher", None)  # an IdentifierSet scanned before (the runner rescans)
        if cached is not None and cached[0] == len(identifiers):
            return cached[1]
        texts = [v if type(v) is str else str(v) for v in identifiers]
        blob = "\n".join(texts)
        if texts and not _SPACE_BUT_NEWLINE.search(blob) and blob.count("\n") == len(texts) - 1:
            matcher = cls._of_plain(blob.casefold())
        else:  # some id holds white space: each one normalised on its own
            matcher = cls._of_each(texts)
        if isinstance(identifiers, IdentifierSet):
            identifiers._matcher = (len(identifiers), matcher)
        return matcher

    @classmethod
    def _of_each(cls, texts: Iterable[str]) -> _Matcher:
        simple: set[str] = set()
        odd: set[str] = set()
        short: set[str] = set()
        parts = 1
        for v in texts:
            t = " ".join(v.split()).casefold()
            if not t:
                continue
            if _COMPOUND.fullmatch(t):
                simple.add(t)
                parts = max(parts, len(_SPLIT.split(t)) // 2 + 1)
            else:
                odd.add(t)
            if ambiguous_id(t):
                short.add(t)
        return cls(frozenset(simple), tuple(sorted(odd)), frozenset(short), parts)

    @classmethod
    def _of_plain(cls, low: str) -> _Matcher:
        """The same sets as :meth:`_of_each` for ids without white space (one per line of ``low``,
        already case-folded), found by whole-text regexes instead of a loop over the ids."""
        found = _COMPOUND_LINE.findall(low)
        simple = set(found)
        if len(found) == low.count("\n") + 1:  # every line is a simple id (none is empty)
            lines, odd = simple, set()
        else:
            lines = set(low.split("\n"))
            lines.discard("")
            odd = lines - simple
        parts = 1
        for t in _SEP_LINE.findall(low) if any(c in low for c in _SEP) else ():
            if t in simple:
                parts = max(parts, len(_SPLIT.split(t)) // 2 + 1)
        # ambiguous_id holds only for ids shorter than SHORT_ID or without a letter, so without an
        # ASCII letter: only those few candidates are asked
        candidates = set(_SHORT_LINE.findall(low)) | set(_NO_ASCII_LETTER_LINE.findall(low))
        short = {t for t in candidates if t and ambiguous_id(t)}
        return cls(frozenset(simple), tuple(sorted(odd)), frozenset(short), parts)


    def find(self, text: str) -> list[str]:
        """The identifier values (case-folded) that occur in ``text`` as whole tokens, one per occurrence."""
        if not (self.simple or self.odd):
            return []
        low = text.casefold()
        simple = self.simple
        found: list[str] = []
        if self.parts == 1:
            # every simple id is one run of letters and digits: the hits are exactly the runs
            # (whole tokens, or the parts of a token joined by separators) that are ids, in order
            found = [a for a in _ATOM.findall(low) if a in simple] if simple else []
        for m in _COMPOUND.finditer(low) if self.parts > 1 else ():
            tok = m.group()
            if tok in simple:
                found.append(tok)
                continue
            if self.parts == 1 and not any(ch in _SEP for ch in tok):
                continue
            bits = _SPLIT.split(tok)  # part, sep, part, sep, ...
            n = len(bits) // 2 + 1
            for i in range(n):
                for j in range(i, min(n, i + self.parts)):
                    if (i, j) != (0, n - 1) and "".join(bits[2 * i: 2 * j + 1]) in simple:
                        found.append("".join(bits[2 * i: 2 * j + 1]))
        for v in self.odd:
            start = low.find(v)
            while start >= 0:
                end = start + len(v)
                if (start == 0 or not low[start - 1].isalnum()) and (end == len(low) or not low[end].isalnum()):
                    found.append(v)
                start = low.find(v, start + 1)
        return found


def _personal_codes(text: str) -> list[str]:
    if not _SIX_DIGITS.search(text):  # every form of a code has six digits in a row, which
        return []  # blanking hex strings (with a space) cannot create
    return PERSONAL_CODE.findall(_HEX.sub(" ", text))


def find_identifiers(text: str, identifiers: Iterable[str]) -> list[str]:
    """Personal codes and known identifier values found in ``text`` (the values: for tests only).

    A message must never show what this returns; use :func:`scan_file` and
    :func:`describe_hits`, which give kinds and counts.
    """
    return _personal_codes(text) + _Matcher.of(identifiers).find(text)


# ------------------------------------------------------------------------ reading files as a reader would


def _png_texts(data: bytes) -> Iterator[str]:
    """Text chunks (tEXt, zTXt, iTXt) and EXIF data of a PNG."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos: pos + 8])
        body = data[pos + 8: pos + 8 + length]
        pos += 12 + length
        try:
            if kind == b"tEXt":
                yield body.replace(b"\0", b" ").decode("latin-1")
            elif kind == b"zTXt":
                key, rest = body.split(b"\0", 1)
                yield key.decode("latin-1") + " " + _inflate(rest[1:]).decode("latin-1")
            elif kind == b"iTXt":
                key, rest = body.split(b"\0", 1)
                compressed, rest = rest[0], rest[2:]
                lang, trans, text = rest.split(b"\0", 2)
                text = _inflate(text) if compressed else text
                yield " ".join(b.decode("utf-8", "replace") for b in (key, lang, trans, text))
            elif kind == b"eXIf":
                yield body.decode("latin-1")
            elif kind == b"IEND":
                break
        except (ValueError, zlib.error):
            yield body.decode("latin-1")


class _TooLarge(Exception):
    """A container unpacks to more than MAX_INFLATED bytes, or a PDF cannot be parsed: the gate
    cannot check it all."""


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_INFLATED)
    if d.unconsumed_tail:
        raise _TooLarge
    return out


def _pdf_page_texts(data: bytes) -> Iterator[str]:
    """The text of every page as a reader copies it (pypdf maps the glyph codes WeasyPrint writes
    back to characters through the fonts' ToUnicode maps, which the raw streams do not show)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, zlib.error) as exc:
        raise _TooLarge from exc  # a PDF the gate cannot read does not pass
    yield from pages


def _pdf_texts(data: bytes) -> Iterator[str]:
    """A PDF's raw bytes (metadata, uncompressed text), its Flate streams, UTF-16 strings and the
    text of its pages (:func:`_pdf_page_texts`)."""
    yield data.decode("latin-1")
    yield from _pdf_page_texts(data)
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            yield _inflate(m.group(1)).decode("latin-1")
        except zlib.error:
            continue
    for m in re.finditer(rb"<FEFF([0-9A-Fa-f\s]*)>", data):
        try:
            yield bytes.fromhex(m.group(1).decode("ascii")).decode("utf-16-be", "replace")
        except ValueError:
            continue
    for m in re.finditer(rb"\(\xfe\xff((?:[^\\)]|\\.)*)\)", data, re.S):
        yield m.group(1).decode("utf-16-be", "replace")


def _zip_texts(data: bytes, depth: int) -> Iterator[str]:
    budget = MAX_INFLATED
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            yield info.filename
            if info.is_dir():
                continue
            with zf.open(info) as fh:
                member = fh.read(budget + 1)
            if len(member) > budget:
                raise _TooLarge
            budget -= len(member)
            yield from _texts(member, info.filename, depth + 1)


def _binary(data: bytes) -> bool:
    head = data[:8192]
    return b"\0" in head or data[:3] in (b"\xff\xd8\xff", b"GIF") or data[:4] in (b"wOFF", b"wOF2", b"RIFF")


def _texts(data: bytes, name: str, depth: int = 0) -> Iterator[str]:
    """The text a reader could get out of one file (or embedded payload)."""
    if depth > _MAX_DEPTH:
        yield data.decode("latin-1")
        return
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        yield from _png_texts(data)
    elif data.startswith(b"PK\x03\x04"):
        try:
            yield from _zip_texts(data, depth)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
            yield data.decode("latin-1")
    elif data.startswith(b"\x1f\x8b"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                inner = fh.read(MAX_INFLATED + 1)
            if len(inner) > MAX_INFLATED:
                raise _TooLarge
            yield from _texts(inner, name, depth + 1)
        except (OSError, EOFError, zlib.error):
            yield data.decode("latin-1")
    elif data.startswith(b"%PDF"):
        yield from _pdf_texts(data)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        yield from _text_parts(data.decode("utf-16", "replace"), name, depth)
    elif _binary(data):
        yield data.decode("latin-1")
    else:
        yield from _text_parts(data.decode("utf-8", "replace"), name, depth)


def _data_uri(m: re.Match[str], depth: int) -> Iterator[str]:
    mime, params, payload = m.group(1), m.group(2), m.group(3)
    if ";base64" in params.lower():
        raw = "".join(urllib.parse.unquote(payload).split())
        try:
            blob = base64.b64decode(raw + "=" * (-len(raw) % 4))
        except (binascii.Error, ValueError):
            yield payload
            return
    elif "%" in payload:
        blob = urllib.parse.unquote_to_bytes(payload)
    else:
        return  # plain text, searched where it stands
    yield mime
    yield from _texts(blob, mime, depth + 1)


def _text_parts(text: str, name: str, depth: int) -> Iterator[str]:
    """Text with its ``data:`` URIs decoded, HTML entities resolved, JSON read through its strings."""
    stripped = text.lstrip()
    if name.lower().endswith((".json", ".ipynb")) or stripped[:1] in ("{", "["):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if doc is not None:
            yield from _json_texts(doc, depth)
            return
    if "data:" in text:  # the payloads decoded; the text itself (payloads included) is searched below
        for m in _DATA_URI.finditer(text):
            yield from _data_uri(m, depth)
    yield html.unescape(text) if "&" in text else text


def _json_texts(doc: Any, depth: int, key: str = "") -> Iterator[str]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield str(k)
            yield from _json_texts(v, depth, str(k))
    elif isinstance(doc, list):
        if key.startswith(("image/", "application/")) and all(isinstance(x, str) for x in doc):
            yield from _json_texts("".join(doc), depth, key)
        else:
            for v in doc:
                yield from _json_texts(v, depth, key)
    elif isinstance(doc, str):
        if key.startswith(("image/", "application/pdf")) and not key.endswith(("svg+xml", "json")):
            try:  # a notebook's binary output (image/png ...) is base64 without a data: prefix
                yield from _texts(base64.b64decode("".join(doc.split()), validate=True), key, depth + 1)
                return
            except (binascii.Error, ValueError):
                pass
        yield from _text_parts(doc, "", depth + 1) if depth < _MAX_DEPTH else iter((doc,))
    elif doc is not None:
        yield json.dumps(doc)


# ------------------------------------------------------------------------ the gate


def scan_file(path: Path, identifiers: Iterable[str], name: str | None = None) -> list[str]:
    """Kinds of identifier found in one file (one entry per occurrence; empty when clean).

    Kinds: ``"personal code"``, ``"identifier"``, ``"identifier (short or numeric)"``, or
    ``"file the gate cannot read"``. ``name`` (the path shown) is searched too.
    """
    matcher = _Matcher.of(identifiers)
    try:
        data = Path(path).read_bytes()
    except OSError:
        return [UNREADABLE]
    hits: list[str] = []
    texts = [name or Path(path).name]
    try:
        texts += _texts(data, Path(path).name)
    except _TooLarge:  # a zip or gzip bomb, a PDF that cannot be parsed: not checked, so it does not pass
        hits.append(UNREADABLE)
    for text in texts:
        hits += [PERSONAL] * len(_personal_codes(text))
        hits += [SHORT if v in matcher.short else IDENTIFIER for v in matcher.find(text)]
    return hits


def scan_run(run_dir: Path, identifiers: Iterable[str]) -> dict[str, list[str]]:
    """Identifiers found in every file under ``run_dir`` (recursively, any suffix): {file: kinds}.

    Keys are paths relative to ``run_dir``; the lists hold kinds of hit, never values
    (their length is the count). Empty when the run is clean.
    """
    run_dir = Path(run_dir)
    matcher = _Matcher.of(identifiers)
    hits: dict[str, list[str]] = {}
    for path in sorted(p for p in run_dir.rglob("*") if not p.is_dir()):
        rel = path.relative_to(run_dir).as_posix()
        found = scan_file(path, matcher, rel)
        if found:
            hits[_safe_name(rel, matcher, hits)] = found
    return hits


def _safe_name(rel: str, matcher: _Matcher, taken: Mapping[str, Any]) -> str:
    """``rel`` with every folder or file name that holds an identifier withheld (a key may be shown)."""
    parts = []
    for part in rel.split("/"):
        if _personal_codes(part) or matcher.find(part):
            suffix = Path(part).suffix if not (_personal_codes(Path(part).suffix) or matcher.find(Path(part).suffix)) \
                else ""
            part = f"<name withheld>{suffix}"
        parts.append(part)
    name, n = "/".join(parts), 1
    while name in taken:
        n += 1
        name = "/".join(parts) + f" ({n})"
    return name


def scan_index(index: Path, identifiers: Iterable[str]) -> dict[str, list[str]]:
    """Identifiers found in ``reports/index.html`` (pass the file or the reports folder).

    Same result as :func:`scan_run`: {"index.html": kinds}, empty when clean.
    """
    index = Path(index)
    if index.is_dir():
        index = index / "index.html"
    found = scan_file(index, identifiers, index.name) if index.exists() else []
    return {index.name: found} if found else {}


def describe_hits(hits: Mapping[str, list[str]]) -> str:
    """A message naming each file and how many hits of each kind, never a value.

    Adds what to do when short or numeric ids were found.
    """
    plural = {PERSONAL: "personal codes", IDENTIFIER: "identifiers", SHORT: "identifiers (short or numeric)",
              UNREADABLE: "file the gate cannot read"}
    parts = []
    for name, kinds in hits.items():
        counts = {k: kinds.count(k) for k in (PERSONAL, IDENTIFIER, SHORT, UNREADABLE) if k in kinds}
        parts.append(f"{name}: " + ", ".join(f"{n:,} {k if n == 1 else plural[k]}" for k, n in counts.items()))
    text = "; ".join(parts)
    if any(SHORT in kinds for kinds in hits.values()):
        text += (f". Some ids are shorter than {SHORT_ID} characters or have no letter, so they cannot be told "
                 "apart from the report's own numbers: replace them with keyed pseudonyms first "
                 "(`evaltools data pseudonymise DIR --out NEW_DIR`) and run on the new folder")
    return text
