"""Pseudonymise personal codes with a keyed hash (HMAC-SHA256).

``pseudonymise(codes, key)`` turns each personal code into ``prefix`` + the
first ``length`` hex digits of HMAC-SHA256(key, normalised code). The same key
gives the same pseudonym in every table and year, so tables still link; without
the key a pseudonym cannot be recomputed from a guessed code (unlike a plain
hash, which anyone can compute for all 11-digit codes).

The key
-------
* comes from the environment variable ``EVALTOOLS_PSEUDONYM_KEY`` (the key
  itself) or ``EVALTOOLS_PSEUDONYM_KEY_FILE`` (a path), or is passed in;
* must be at least 16 bytes (use ``python -c "import secrets; print(secrets.token_hex(32))"``);
* is **never** stored beside the data: :func:`load_key` refuses a key file
  inside the data directory, and nothing in evaltools writes the key anywhere.
  Keep it in the evaluator's password store or a file outside the project.

Reference: RFC 2104 (HMAC); EDPB/ENISA guidance on pseudonymisation techniques
(keyed hash functions), 2019-2022.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

import pandas as pd

from evaltools.core.errors import PrivacyError

ENV_KEY = "EVALTOOLS_PSEUDONYM_KEY"
ENV_KEY_FILE = "EVALTOOLS_PSEUDONYM_KEY_FILE"
MIN_KEY_BYTES = 16


#: A Latvian personal code in any usual written form: ``DDMMYY-NNNNN`` (a real day and
#: month; the century digit is not checked) or the newer ``32NNNN-NNNNN``, with a hyphen,
#: a dash, a space or nothing between the two parts, also after a letter or a prefix
#: ("Nr.01020312345", "PK:010203-12345"). Not when it is part of a longer run of digits,
#: nor the decimals of a number (``5556.01094253253``, ``0,01094253253``): a digit
#: directly before, or a digit and a decimal point or comma.
PERSONAL_CODE = re.compile(
    r"(?<!\d)(?<!\d[.,])"
    r"(?:(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d\d[-\u2010-\u2014 \u00a0]?\d{5}"
    r"|32\d{4}[-\u2010-\u2014 \u00a0]?\d{5})"
    r"(?!\d)")


def mask_personal_codes(text: str, mask: str = "<personal code>") -> str:
    """``text`` with everything shaped like a personal code replaced by ``mask``."""
    return PERSONAL_CODE.sub(mask, text)


class PseudonymKeyError(PrivacyError, ValueError):
    """The pseudonymisation key is missing, too short or stored in the wrong place."""


def load_key(key: str | bytes | None = None, *, key_file: str | Path | None = None,
             data_dir: str | Path | None = None) -> bytes:
    """The key: ``key`` if given, else ``key_file``, else the environment variables.

    With ``data_dir``, a key file inside that directory is refused.
    """
    if key is None and key_file is None:
        if os.environ.get(ENV_KEY):
            key = os.environ[ENV_KEY]
        elif os.environ.get(ENV_KEY_FILE):
            key_file = os.environ[ENV_KEY_FILE]
        else:
            raise PseudonymKeyError(
                f"No pseudonymisation key: set {ENV_KEY} (the key) or {ENV_KEY_FILE} (a file outside the "
                "data folder), or pass key=/key_file=. Create one with "
                "`python -c \"import secrets; print(secrets.token_hex(32))\"`.")
    if key is None:
        kf = Path(key_file).resolve()
        if data_dir is not None and Path(data_dir).resolve() in (kf, *kf.parents):
            raise PseudonymKeyError(
                f"The key file {kf} is inside the data folder {Path(data_dir).resolve()}: keep the key apart "
                "from the data (e.g. in your home directory or a password store).")
        if not kf.is_file():
            raise PseudonymKeyError(f"Key file {kf} does not exist.")
        key = kf.read_text(encoding="utf-8").strip()
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise PseudonymKeyError(f"The pseudonymisation key has {len(raw)} bytes; use at least {MIN_KEY_BYTES} "
                                "(e.g. 64 hex characters from secrets.token_hex(32)).")
    return raw


def normalise_code(code: str) -> str:
    """Personal code without spaces and hyphens, upper case (``'010203-12345'`` -> ``'01020312345'``)."""
    return "".join(str(code).split()).replace("-", "").upper()


def pseudonymise(codes: pd.Series, key: str | bytes, *, prefix: str = "P", length: int = 16) -> pd.Series:
    """Keyed pseudonyms of personal codes: ``prefix + HMAC-SHA256(key, code)[:length]`` (hex).

    Missing codes stay missing. ``length`` hex digits (16 = 64 bits) make
    collisions negligible for a country's pupils (about 1e-8 for a million codes).
    """
    if not 8 <= length <= 64:
        raise ValueError("length must be between 8 and 64 hex digits.")
    raw = load_key(key)
    s = pd.Series(codes)
    uniq = pd.unique(s.dropna().astype(str))
    table = {c: prefix + hmac.new(raw, normalise_code(c).encode("utf-8"), hashlib.sha256).hexdigest()[:length]
             for c in uniq}
    return s.astype(object).map(lambda v: table.get(str(v)) if pd.notna(v) else None).rename(s.name)
