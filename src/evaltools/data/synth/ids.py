"""Random pseudonymous identifiers, made without a Python loop per person."""
from __future__ import annotations

import numpy as np

_HEX = np.array(list("0123456789abcdef"))


def random_ids(rng: np.random.Generator, n: int, prefix: str, digits: int = 10) -> np.ndarray:
    """``n`` distinct ids such as ``P3fa90c12de`` (prefix + ``digits`` hex digits).

    Draws random integers below 16**digits, redraws any duplicate, and turns
    them into hex strings with array arithmetic (no per-id Python formatting).
    """
    if digits > 15:
        raise ValueError("digits must be at most 15 so that ids fit in an int64.")
    high = 16**digits
    values = rng.integers(0, high, size=n, dtype=np.int64)
    while True:
        _, first = np.unique(values, return_index=True)
        if len(first) == n:
            break
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        values[dup] = rng.integers(0, high, size=int(dup.sum()), dtype=np.int64)
    shifts = 4 * np.arange(digits - 1, -1, -1, dtype=np.int64)
    nibbles = (values[:, None] >> shifts[None, :]) & 15
    chars = _HEX[nibbles]
    body = chars.view(f"<U{digits}").ravel()
    return np.char.add(prefix, body).astype(object)
