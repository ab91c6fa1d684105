"""Pick one member of a group for many queries at once (no Python loop per query)."""
from __future__ import annotations

import numpy as np


def pick_in_groups(
    rng: np.random.Generator,
    member_keys: np.ndarray,
    query_keys: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """For each query key, the index of a random member with the same key.

    Members are chosen with probability proportional to ``weights`` (uniform
    when omitted). Returns -1 where no member has the query's key.
    """
    member_keys = np.asarray(member_keys, dtype=np.int64)
    query_keys = np.asarray(query_keys, dtype=np.int64)
    w = np.ones(len(member_keys)) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(member_keys, kind="stable")
    keys_sorted = member_keys[order]
    cum = np.cumsum(w[order])
    a = np.searchsorted(keys_sorted, query_keys, side="left")
    b = np.searchsorted(keys_sorted, query_keys, side="right")
    has = b > a
    out = np.full(len(query_keys), -1, dtype=np.int64)
    if not has.any():
        return out
    a_h, b_h = a[has], b[has]
    lo = np.where(a_h > 0, cum[np.maximum(a_h - 1, 0)], 0.0)
    hi = cum[b_h - 1]
    target = lo + rng.random(len(a_h)) * (hi - lo)
    pos = np.clip(np.searchsorted(cum, target, side="right"), a_h, b_h - 1)
    out[has] = order[pos]
    return out
