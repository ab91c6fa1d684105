"""The design parameters the power formulas need, estimated from the data.

PowerUp! asks for the intraclass correlations (``rho2`` between schools, ``rho3`` between
municipalities) and the shares of variance that covariates explain at each level (``r2_1``
pupils, ``r2_2`` schools). Funders guess them; here they come from previous years' data for the
chosen outcome (Hedges & Hedberg 2007, *Educ. Eval. Policy Anal.* 29(1), 60-87, the same method):

* unconditional random-intercept model ``y_ij = b0 + u_j + e_ij`` (pupils in schools,
  :func:`evaltools.estimate.multilevel`, REML): ``rho2 = tau0^2 / (tau0^2 + sigma0^2)``;
* conditional model with the pre-test and covariates: ``r2_1 = 1 - sigma1^2 / sigma0^2``,
  ``r2_2 = 1 - tau1^2 / tau0^2`` (both on the same complete rows, clipped to [0, 1));
* municipalities: the same unconditional model with municipalities as groups gives the share of
  variance between municipalities, ``rho3``; the school share within them is
  ``rho2_within = max(rho2 - rho3, 0)`` (an approximation: the municipality variance then also
  holds ``tau^2 / J_m``; with few schools per municipality ``rho3`` is an upper bound).

Uncertainty: a cluster bootstrap of the highest level (municipalities with all their schools
and pupils, or schools when no municipality is given; drawn with replacement, each draw refitted;
percentile intervals; Field & Welsh 2007), and for ``rho2`` also the estimator's
delta-method interval. For a 0/1 outcome (early leaving) the ICC is that of the linear
probability model (the scale PowerUp!'s effect size of a proportion uses).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from evaltools.core import inputs as ck
from evaltools.core.errors import InputError
from evaltools.core.result import ResultMixin, SummaryText


class ParametersInputError(InputError, ValueError):
    """The frame or options given to :func:`design_parameters` cannot be used."""


@dataclass(frozen=True, repr=False)
class DesignParameters(ResultMixin):
    """ICCs and R-squared values with intervals; ``table`` has one row per parameter."""

    outcome: str
    table: pd.DataFrame
    pupils: int
    schools: int
    municipalities: int
    pupils_per_school: float  # harmonic mean, as PowerUp! asks for n
    covariates: tuple[str, ...]
    n_boot: int
    level: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def value(self, name: str) -> float:
        """The point estimate of ``name`` (``rho2``, ``rho3``, ``rho2_within``, ``r2_1``, ``r2_2``)."""
        if name not in self.table.index:
            raise KeyError(f"{name!r} is not a design parameter here; they are {list(self.table.index)}.")
        return float(self.table.at[name, "estimate"])

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"type": "design_parameters", "outcome": self.outcome, "table": self.table, "pupils": self.pupils,
                "schools": self.schools, "municipalities": self.municipalities,
                "pupils_per_school": self.pupils_per_school, "covariates": list(self.covariates),
                "n_boot": self.n_boot, "level": self.level}

    def _summary_title(self) -> str:
        return (f"Design parameters of {self.outcome}: {self.pupils:,} pupils in {self.schools} schools and "
                f"{self.municipalities} municipalities")

    def _summary_notes(self) -> list[str]:
        return list(self.notes)

    def summary(self) -> SummaryText:
        return SummaryText("\n".join([self._summary_title(), self.table.to_string(float_format=lambda v: f"{v:.4f}"),
                                      *self.notes]))


def _fit(frame: pd.DataFrame, formula: str, group: str) -> tuple[float, float, Any]:
    from evaltools.estimate import multilevel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a zero between-group variance is a valid answer here
        res = multilevel(frame, formula, group, engine="fast")
    tau2 = float(res.variance["estimate"].iloc[0])
    sigma2 = float(res.variance["estimate"].iloc[1])
    return tau2, sigma2, res


def _point(frame: pd.DataFrame, rhs: str, school: str, municipality: str | None) -> dict[str, float]:
    t0, s0, _ = _fit(frame, "y__ ~ 1", school)
    out = {"rho2": t0 / (t0 + s0)}
    if rhs:
        t1, s1, _ = _fit(frame, f"y__ ~ {rhs}", school)
        out["r2_1"] = min(max(1 - s1 / s0, 0.0), 0.999)
        out["r2_2"] = min(max(1 - t1 / t0, 0.0), 0.999) if t0 > 0 else 0.0
    if municipality:
        m0, e0, _ = _fit(frame, "y__ ~ 1", municipality)
        out["rho3"] = m0 / (m0 + e0)
        out["rho2_within"] = max(out["rho2"] - out["rho3"], 0.0)
    return out


def design_parameters(
    data: pd.DataFrame,
    outcome: str,
    *,
    cluster: str = "school_id",
    group: str | None = "municipality_id",
    covariates: Sequence[str] | str | None = None,
    n_boot: int = 100,
    seed: int = 0,
    level: float = 0.95,
) -> DesignParameters:
    """ICCs at school (``cluster``) and municipality (``group``) level and the R-squared of
    ``covariates`` (pre-test first) for ``outcome``, with cluster-bootstrap intervals
    (``n_boot`` draws of municipalities, or of schools without ``group``; 0 = point estimates and the delta-method interval only).
    See the module docstring for the formulas."""
    ck.require_frame(data, "design_parameters")
    covs = ck.as_list(covariates)
    ck.require_columns(data, {"outcome": outcome, "cluster": cluster, "group": group, "covariates": covs})
    lvl = ck.level(level)
    boots = ck.count("n_boot", n_boot, minimum=0)
    cols = list(dict.fromkeys([outcome, cluster] + ([group] if group else []) + covs))
    frame = data[cols].dropna().reset_index(drop=True)
    dropped = len(data) - len(frame)
    if frame[cluster].nunique() < 3:
        raise ParametersInputError(f"design_parameters needs pupils from at least 3 schools in '{cluster}' with "
                                   f"'{outcome}' and the covariates observed; {frame[cluster].nunique()} found.")
    for c in [outcome] + covs:
        if not pd.api.types.is_numeric_dtype(frame[c]):
            raise ParametersInputError(f"Column '{c}' must be numeric (it is {frame[c].dtype}).")
    names = {c: f"x{i}__" for i, c in enumerate(covs)}
    work = frame.rename(columns={outcome: "y__", **names})
    work["y__"] = work["y__"].astype(float)
    rhs = " + ".join(names.values())
    est = _point(work, rhs, cluster, group)
    _, _, fit0 = _fit(work, "y__ ~ 1", cluster)
    rows = {k: {"estimate": v} for k, v in est.items()}
    rows["rho2"].update(delta_low=float(fit0.icc.ci_low), delta_high=float(fit0.icc.ci_high))
    if boots:
        rng = np.random.default_rng(seed)
        top = group or cluster  # the highest level is resampled, with everything nested in it
        codes, labels = pd.factorize(work[top])
        members = [np.flatnonzero(codes == j) for j in range(len(labels))]
        draws = []
        for _ in range(boots):
            pick = rng.integers(0, len(labels), len(labels))
            idx = np.concatenate([members[j] for j in pick])
            draw = np.repeat(np.arange(len(pick)), [len(members[j]) for j in pick])
            b = work.iloc[idx].copy()
            # a unit drawn twice is two units: new labels for the drawn copies
            b[cluster] = pd.factorize(pd.Series(draw).astype(str).to_numpy() + "|" + b[cluster].astype(str).to_numpy())[0]
            if group:
                b[group] = draw
            try:
                draws.append(_point(b, rhs, cluster, group))
            except (ValueError, np.linalg.LinAlgError):
                continue
        table = pd.DataFrame(draws)
        a = (1 - lvl) / 2
        for k in rows:
            if k in table:
                rows[k].update(se=float(table[k].std()), ci_low=float(table[k].quantile(a)),
                               ci_high=float(table[k].quantile(1 - a)))
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "parameter"
    order = [k for k in ("rho2", "rho3", "rho2_within", "r2_1", "r2_2") if k in out.index]
    sizes = frame.groupby(cluster).size()
    notes = []
    if dropped:
        notes.append(f"{dropped:,} row(s) without the outcome or a covariate were left out.")
    if group:
        per = frame.groupby(group)[cluster].nunique().mean()
        notes.append(f"rho3 treats pupils as nested in municipalities directly ({per:.1f} schools per municipality "
                     "on average): it includes part of the school variance and is an upper bound.")
    return DesignParameters(
        outcome=outcome, table=out.loc[order], pupils=len(frame), schools=int(frame[cluster].nunique()),
        municipalities=int(frame[group].nunique()) if group else 0,
        pupils_per_school=float(len(sizes) / np.sum(1.0 / sizes)), covariates=tuple(covs), n_boot=boots,
        level=lvl, notes=tuple(notes))


def harmonic_mean(sizes: Sequence[float]) -> float:
    """PowerUp!'s ``n``: the harmonic mean of the cluster sizes."""
    arr = ck.sample("sizes", sizes, minimum=1)
    if np.any(arr <= 0):
        raise ParametersInputError("Cluster sizes must be positive.")
    return float(len(arr) / np.sum(1.0 / arr)) if len(arr) else math.nan
