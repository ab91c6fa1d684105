"""Random assignment with a seed: stratified (blocked) and cluster assignment, re-randomisation
against a balance criterion, and a stepped roll-out schedule.

* **Assignment**: within each stratum the units (schools, or pupils) are put in a random order
  and the first ``round(p * size)`` are treated (a stratum's odd unit is treated with
  probability equal to its fractional part, so the share treated is ``p`` in expectation).
  Assigning schools is cluster random assignment: every pupil of a school shares its arm.
* **Re-randomisation** (Morgan & Rubin 2012, *Ann. Statist.* 40(2), 1263-1282): draws are
  repeated until the balance criterion is at most ``threshold``; the accepted draw, the number
  of draws and the criterion are kept. Criteria: ``"maxabs"``, the largest absolute
  normalised difference ``(m_t - m_c) / sqrt((s_t^2 + s_c^2) / 2)`` (the house convention of
  :func:`evaltools.estimate.balance_table`), or ``"mahalanobis"``,
  ``M = n p (1 - p) d' S^-1 d`` with ``d`` the difference in means and ``S`` the covariance of
  the covariates in the whole sample (approximately chi^2 with k df; ``accept`` sets
  ``threshold`` to its ``accept`` quantile). Analyse a re-randomised experiment with the
  covariates in the model (Morgan & Rubin 2012, sec. 5) and the strata as fixed effects.
* **Stepped roll-out**: every unit gets a start period; units are put in a random order within
  strata and split into equal waves (the last period of a stepped-wedge may be "never" for a
  control group, ``never_share``).

The allocation is reproducible from its seed: same data, same options, same seed, same table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evaltools.core import inputs as ck
from evaltools.core.errors import InputError
from evaltools.core.result import ResultMixin, SummaryText


class AllocationInputError(InputError, ValueError):
    """The units or options given to :func:`allocate` cannot be used."""


@dataclass(frozen=True, repr=False)
class Allocation(ResultMixin):
    """The assignment (``table``: unit, stratum, treated and the covariates) and its balance."""

    table: pd.DataFrame
    unit: str
    strata: str | None
    covariates: tuple[str, ...]
    seed: int
    p: float
    criterion: str | None
    threshold: float | None
    value: float | None
    draws: int
    balance: Any = None  # evaltools.estimate BalanceTable of the accepted draw
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"type": "allocation", "unit": self.unit, "strata": self.strata, "covariates": list(self.covariates),
                "seed": self.seed, "p": self.p, "criterion": self.criterion, "threshold": self.threshold,
                "value": self.value, "draws": self.draws, "treated": int(self.table["treated"].sum()),
                "units": len(self.table)}

    def to_csv(self, path: str | Path, columns: Sequence[str] | None = None) -> Path:
        """Write the allocation (``columns``, default unit, stratum, treated and any ``start``) as CSV."""
        cols = list(columns) if columns else [c for c in (self.unit, self.strata, "treated", "start")
                                               if c and c in self.table]
        out = Path(path)
        self.table[cols].to_csv(out, index=False, lineterminator="\n")
        return out

    def _summary_title(self) -> str:
        how = "" if not self.criterion else (f", re-randomised until {self.criterion} <= {self.threshold:.3g} "
                                             f"({self.draws} draw(s), accepted {self.value:.3g})")
        return (f"Allocation of {len(self.table)} {self.unit} units (seed {self.seed}): "
                f"{int(self.table['treated'].sum())} treated{how}")

    def summary(self) -> SummaryText:
        lines = [self._summary_title()]
        if self.strata:
            lines.append(self.table.groupby(self.strata)["treated"].agg(["size", "sum"]).to_string())
        return SummaryText("\n".join(lines + list(self.notes)))


def _draw(strata_codes: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    treated = np.zeros(len(strata_codes), dtype=int)
    for s in np.unique(strata_codes):
        idx = np.flatnonzero(strata_codes == s)
        exact = p * len(idx)
        k = int(math.floor(exact)) + int(rng.random() < exact - math.floor(exact))
        treated[rng.permutation(idx)[:k]] = 1
    return treated


def normalised_differences(x: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """``(m_t - m_c) / sqrt((s_t^2 + s_c^2) / 2)`` for each column of ``x`` (SDs with ddof 1)."""
    t, c = x[treated == 1], x[treated == 0]
    if len(t) < 2 or len(c) < 2:
        return np.full(x.shape[1], np.inf)
    pooled = np.sqrt((t.var(axis=0, ddof=1) + c.var(axis=0, ddof=1)) / 2)
    diff = t.mean(axis=0) - c.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pooled > 0, diff / pooled, np.where(diff == 0, 0.0, np.inf))


def mahalanobis(x: np.ndarray, treated: np.ndarray, s_inv: np.ndarray) -> float:
    """Morgan & Rubin's ``M = n p (1 - p) d' S^-1 d`` (``p`` the share treated in this draw)."""
    n, nt = len(treated), int(treated.sum())
    if nt == 0 or nt == n:
        return math.inf
    d = x[treated == 1].mean(axis=0) - x[treated == 0].mean(axis=0)
    return float(nt * (n - nt) / n * d @ s_inv @ d)


def allocate(
    data: pd.DataFrame,
    unit: str,
    *,
    strata: str | None = None,
    p: float = 0.5,
    seed: int = 0,
    covariates: Sequence[str] | str | None = None,
    criterion: str | None = None,
    threshold: float | None = None,
    accept: float | None = None,
    max_draws: int = 10_000,
) -> Allocation:
    """Assign the rows of ``data`` (one per ``unit``: a school for cluster assignment) to treatment
    with probability ``p`` within ``strata``, re-drawing until ``criterion`` (``"maxabs"`` or
    ``"mahalanobis"``) of ``covariates`` is at most ``threshold`` (see the module docstring).
    Returns an :class:`Allocation` with its balance table (:func:`evaltools.estimate.balance_table`)."""
    ck.require_frame(data, "allocate")
    covs = ck.as_list(covariates)
    ck.require_columns(data, {"unit": unit, "strata": strata, "covariates": covs})
    if data[unit].duplicated().any():
        raise AllocationInputError(f"Column '{unit}' must hold one row per unit: {int(data[unit].duplicated().sum())} "
                                   "repeated value(s). Aggregate to one row per unit (e.g. school means) first.")
    pp = ck.proportion("p", p, low_open=True, hint="It is the share of units to treat.")
    sd = ck.count("seed", seed, minimum=0)
    if len(data) < 2:
        raise AllocationInputError("allocate needs at least 2 units.")
    x = np.empty((len(data), 0))
    if covs:
        for c in covs:
            if not pd.api.types.is_numeric_dtype(data[c]) or data[c].isna().any():
                raise AllocationInputError(f"Covariate '{c}' must be numeric without missing values "
                                           "(fill or drop the units first).")
        x = data[covs].to_numpy(dtype=float)
    crit = None if criterion is None else str(criterion).lower()
    if crit not in (None, "maxabs", "mahalanobis"):
        raise AllocationInputError(f"Unknown criterion {ck.show(criterion)}; use 'maxabs' or 'mahalanobis'.")
    if crit and not covs:
        raise AllocationInputError("Re-randomisation needs 'covariates' to balance.")
    s_inv = None
    if crit == "mahalanobis":
        s_inv = np.linalg.pinv(np.atleast_2d(np.cov(x, rowvar=False)))
        if threshold is None:
            if accept is None:
                raise AllocationInputError("Give 'threshold' or 'accept' (the share of draws to accept, e.g. 0.1).")
            threshold = float(stats.chi2.ppf(ck.proportion("accept", accept, low_open=True), len(covs)))
    elif crit == "maxabs" and threshold is None:
        raise AllocationInputError("criterion='maxabs' needs 'threshold', e.g. 0.1 (WWC: 0.05 needs no adjustment).")
    thr = None if threshold is None else ck.positive("threshold", threshold)
    codes = pd.factorize(data[strata])[0] if strata else np.zeros(len(data), dtype=int)
    rng = np.random.default_rng(sd)
    limit = ck.count("max_draws", max_draws)
    value = None
    for draws in range(1, limit + 1):
        treated = _draw(codes, pp, rng)
        if not crit:
            break
        value = (float(np.max(np.abs(normalised_differences(x, treated)))) if crit == "maxabs"
                 else mahalanobis(x, treated, s_inv))
        if value <= thr:
            break
    else:
        raise AllocationInputError(f"No draw in {limit:,} reached {crit} <= {thr:g}: loosen 'threshold', balance "
                                   "fewer covariates or stratify on the strongest one.")
    table = data[[c for c in dict.fromkeys([unit] + ([strata] if strata else []) + covs)]].copy()
    table["treated"] = treated
    balance = None
    notes: list[str] = []
    if covs and 0 < treated.sum() < len(treated) - 1 and treated.sum() > 1:
        from evaltools.estimate import balance_table

        balance = balance_table(table, "treated", covs)
    return Allocation(table=table.reset_index(drop=True), unit=unit, strata=strata, covariates=tuple(covs), seed=sd,
                      p=pp, criterion=crit, threshold=thr, value=value, draws=draws, balance=balance,
                      notes=tuple(notes))


def stepped_schedule(data: pd.DataFrame, unit: str, periods: Sequence[Any], *, strata: str | None = None,
                     never_share: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """A stepped roll-out: each unit's ``start`` period, in equal random waves within ``strata``.

    ``periods``: the start periods in order (e.g. school years). ``never_share``: a share kept
    as a never-treated comparison group (``start`` missing), drawn first in each stratum.
    Returns ``data``'s ``unit`` (and ``strata``) with ``start``."""
    ck.require_frame(data, "stepped_schedule")
    ck.require_columns(data, {"unit": unit, "strata": strata})
    waves = list(periods)
    if not waves:
        raise AllocationInputError("'periods' is empty: give the start periods, e.g. [2025, 2026, 2027].")
    ns = ck.proportion("never_share", never_share)
    rng = np.random.default_rng(ck.count("seed", seed, minimum=0))
    out = data[[c for c in (unit, strata) if c]].copy().reset_index(drop=True)
    start = np.full(len(out), np.nan, dtype=object)
    codes = pd.factorize(out[strata])[0] if strata else np.zeros(len(out), dtype=int)
    for s in np.unique(codes):
        idx = rng.permutation(np.flatnonzero(codes == s))
        k_never = int(round(ns * len(idx)))
        rest = idx[k_never:]
        for w, part in enumerate(np.array_split(rest, len(waves))):
            start[part] = waves[w]
    out["start"] = pd.Series(start, dtype="object")
    return out
