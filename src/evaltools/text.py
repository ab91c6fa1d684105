"""Values and messages made safe to print: bounded length, no control characters.

Error messages quote what the user gave so they can find it, but a value may be a
100 kB string, a structure built from a YAML alias bomb, an integer of thousands of
digits or text with terminal escapes. :func:`short` shows any value in at most
``limit`` characters without ever building its full ``repr``; :func:`clean` makes a
whole message printable on any terminal.
"""
from __future__ import annotations

import reprlib
import unicodedata
from typing import Any

LIMIT = 40

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxtuple = _REPR.maxlist = _REPR.maxarray = _REPR.maxdict = 4
_REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = 4
_REPR.maxstring = _REPR.maxlong = _REPR.maxother = LIMIT + 10


def short(value: Any, limit: int = LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters (``…`` marks a cut); cheap for any size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        digits = int(value.bit_length() * 0.30103) + 1
        text = f"{'-' if value < 0 else ''}<an integer of about {digits} digits>"
    else:
        if isinstance(value, str) and len(value) > 4 * limit:
            value = value[: 4 * limit]  # reprlib would escape the whole string first
        try:
            text = _REPR.repr(value)
        except Exception:  # a value whose repr fails must not hide the real problem
            text = f"<{type(value).__name__}>"
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean(message: str) -> str:
    """``message`` with control, format and surrogate characters escaped (\\x1b, \\u202e, \\udce9).

    Newlines are kept: a message may list several problems, one per line.
    """
    if message.isprintable():
        return message
    out = []
    for ch in message:
        if ch == "\n" or ch.isprintable():
            out.append(ch)
        elif unicodedata.category(ch) == "Zs":  # no-break and other spaces
            out.append(" ")
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def control_character(text: str, allow: str = "") -> str | None:
    """The first control, format or surrogate character of ``text`` (as ``U+XXXX``), if any."""
    for ch in text:
        if ch in allow:
            continue
        if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            return f"U+{ord(ch):04X}"
    return None


def clip(text: str, limit: int = 120) -> str:
    """``text`` (a path, a name) printable and cut to ``limit`` characters, without quotes."""
    text = clean(str(text)[: limit * 4])
    return text if len(text) <= limit else text[: limit - 1] + "…"
