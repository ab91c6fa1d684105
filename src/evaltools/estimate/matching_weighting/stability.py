"""Coefficient stability: Oster's (2019) delta and bias-adjusted effect.

Compare the treatment coefficient of a short regression (treatment and
optional always-included controls; ``beta_o``, ``R_o``) with that of the
controlled regression (``beta_t``, ``R_t``). Under proportional selection
on observables and unobservables with ratio ``delta`` and a maximum
attainable R-squared ``R_max``, Oster (2019, Prop. 2) gives, with
``s_y = Var(Y)``, ``s_x = Var(X)`` (after the always-included controls),
``t_x = Var(residual of X on all controls)``, ``b = beta_t - beta_target`` and
``d = beta_o - beta_t``::

    delta = [b (R_t - R_o) s_y t_x + b s_x t_x d^2 + 2 b^2 t_x d s_x + b^3 (t_x s_x - t_x^2)]
          / [(R_max - R_t) s_y d s_x + b (R_max - R_t) s_y (s_x - t_x) + b^2 t_x d s_x + b^3 (t_x s_x - t_x^2)]

the ``delta`` at which the effect would be ``beta_target`` (usually 0). For a
given ``delta`` the bias-adjusted effect ``beta* = beta_t - nu`` solves the
cubic in ``nu``::

    (delta-1)(t_x s_x - t_x^2) nu^3 + (delta-2) t_x d s_x nu^2
    + [delta (R_max-R_t) s_y (s_x - t_x) - (R_t-R_o) s_y t_x - s_x t_x d^2] nu
    + delta (R_max-R_t) s_y d s_x = 0

(a quadratic when ``delta = 1``). As in Oster's ``psacalc`` we report the
root closest to ``beta_t`` among those that continue the observed direction
of bias, and all real roots in ``roots``. Oster suggests ``R_max = 1.3 R_t``
and reading ``|delta| > 1`` as robustness.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from evaltools.core.result import ResultMixin, SummaryText, record_dict
from evaltools.core.vocabulary import renamed
from evaltools.estimate.matching_weighting.propensity import (CausalInputError, check_columns, check_frame,
                                                            numeric_column)

__all__ = ["oster_delta", "OsterResult"]


@dataclass(repr=False)
class OsterResult(ResultMixin):
    """Coefficient-stability summary (Oster 2019)."""

    treatment: str
    beta_short: float
    beta_controlled: float
    r2_short: float
    r2_controlled: float
    r_max: float
    delta: float
    beta_target: float
    beta_adjusted: float
    delta_assumed: float
    roots: list[float] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def robust(self) -> bool:
        """Oster's rule of thumb: ``|delta| >= 1`` and ``beta*`` on the same side of 0 as ``beta_controlled``."""
        return abs(self.delta) >= 1 and np.sign(self.beta_adjusted) == np.sign(self.beta_controlled)

    def to_frame(self) -> pd.DataFrame:
        rows = {
            "beta (short regression)": self.beta_short,
            "beta (with controls)": self.beta_controlled,
            "R2 (short)": self.r2_short,
            "R2 (with controls)": self.r2_controlled,
            "R_max": self.r_max,
            f"delta for beta = {self.beta_target:g}": self.delta,
            f"bias-adjusted beta (delta = {self.delta_assumed:g})": self.beta_adjusted,
        }
        return pd.DataFrame({"value": rows}).rename_axis("quantity")

    def to_dict(self) -> dict[str, Any]:
        """Every field (numbers and the inputs' names), with ``robust``."""
        return record_dict(self, "OsterResult", robust=bool(self.robust))

    def _summary_title(self) -> str:
        return f"Oster (2019) coefficient stability for '{self.treatment}'"

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        return (f"Oster (2019) coefficient stability for '{self.treatment}'\n"
                + self.to_frame().to_string(float_format=lambda v: f"{v:.4g}")
                + f"\nrobust (|delta| >= 1 and beta* keeps its sign): {self.robust}")


def _ols(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    b, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ b
    r2 = 1.0 - float(resid @ resid) / float(((y - y.mean()) ** 2).sum())
    return b, resid, r2


def _delta_for_beta(beta_t, beta_o, r_o, r_t, r_max, s_y, s_x, t_x, beta_target):
    b, d = beta_t - beta_target, beta_o - beta_t
    num = (b * (r_t - r_o) * s_y * t_x + b * s_x * t_x * d**2 + 2 * b**2 * t_x * d * s_x
           + b**3 * (t_x * s_x - t_x**2))
    den = ((r_max - r_t) * s_y * d * s_x + b * (r_max - r_t) * s_y * (s_x - t_x)
           + b**2 * t_x * d * s_x + b**3 * (t_x * s_x - t_x**2))
    return num / den


def _beta_for_delta(beta_t, beta_o, r_o, r_t, r_max, s_y, s_x, t_x, delta):
    d = beta_o - beta_t
    coefs = [
        (delta - 1) * (t_x * s_x - t_x**2),
        (delta - 2) * t_x * d * s_x,
        delta * (r_max - r_t) * s_y * (s_x - t_x) - (r_t - r_o) * s_y * t_x - s_x * t_x * d**2,
        delta * (r_max - r_t) * s_y * d * s_x,
    ]
    if abs(coefs[0]) < 1e-12 * max(abs(c) for c in coefs[1:]):
        coefs = coefs[1:]
    nus = np.roots(coefs)
    real = nus[np.abs(nus.imag) < 1e-9 * np.maximum(1, np.abs(nus.real))].real
    betas = beta_t - real
    if len(betas) == 0:
        return float("nan"), []
    # psacalc: prefer roots that continue the direction of bias from beta_o to beta_t.
    same_dir = np.sign(betas - beta_t) == np.sign(beta_t - beta_o)
    pool = betas[same_dir] if same_dir.any() else betas
    best = pool[np.argmin((pool - beta_t) ** 2)]
    return float(best), sorted(map(float, betas))


@renamed(controls="covariates")
def oster_delta(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    *,
    always: Sequence[str] = (),
    r_max: float | None = None,
    beta_target: float = 0.0,
    delta: float = 1.0,
) -> OsterResult:
    """Oster's delta and bias-adjusted treatment effect.

    Parameters
    ----------
    covariates: the observed covariates added in the controlled regression.
    always: covariates in both regressions (Oster's ``mcontrols``, e.g. fixed effects dummies).
    r_max: maximum R-squared; default ``min(1.3 * R_controlled, 1)`` (Oster 2019);
        a value above 1 is read as a multiple of ``R_controlled``.
    beta_target: the effect value for which delta is computed (0: "explain away").
    delta: the assumed selection ratio for the bias-adjusted effect.
    """
    data = check_frame(data)
    covariates, always = list(covariates), list(always)
    if not covariates:
        raise CausalInputError("covariates is empty: Oster's delta compares a regression with and without controls.")
    check_columns(data, [outcome, treatment, *covariates, *always], "regression")
    cols = [outcome, treatment, *covariates, *always]
    d = data[cols].dropna()
    if len(d) < len(cols) + 2:
        raise CausalInputError(f"Only {len(d)} complete rows for {len(cols)} variables: too few for the regressions.")
    for c in cols:
        numeric_column(d, c, "regression")
    y = d[outcome].to_numpy(float)
    x = d[treatment].to_numpy(float)
    one = np.ones((len(d), 1))
    A = np.column_stack([one, d[always].to_numpy(float)]) if always else one
    C = np.column_stack([A, d[covariates].to_numpy(float)])
    b_o, _, r_o = _ols(y, np.column_stack([x, A]))
    b_t, _, r_t = _ols(y, np.column_stack([x, C]))
    beta_o, beta_t = float(b_o[0]), float(b_t[0])
    s_y = float(np.var(y, ddof=1))
    s_x = float(np.var(_ols(x, A)[1], ddof=1)) if always else float(np.var(x, ddof=1))
    t_x = float(np.var(_ols(x, C)[1], ddof=1))
    if t_x <= 1e-12 * s_x:
        raise CausalInputError(f"The covariates explain '{treatment}' almost perfectly: Oster's delta is undefined.")
    if r_max is None:
        r_max = min(1.3 * r_t, 1.0)
    elif r_max > 1:
        r_max = min(r_max * r_t, 1.0)
    if not r_t < r_max <= 1:
        raise CausalInputError(f"r_max must lie in (R2 with covariates = {r_t:.4f}, 1]; got {r_max}.")
    args = (beta_t, beta_o, r_o, r_t, r_max, s_y, s_x, t_x)
    dl = float(_delta_for_beta(*args, beta_target))
    b_star, roots = _beta_for_delta(*args, delta)
    return OsterResult(
        treatment=treatment, beta_short=beta_o, beta_controlled=beta_t, r2_short=r_o, r2_controlled=r_t,
        r_max=float(r_max), delta=dl, beta_target=beta_target, beta_adjusted=b_star, delta_assumed=delta,
        roots=roots, inputs={"var_y": s_y, "var_x": s_x, "var_x_resid": t_x, "n": len(d),
                             "covariates": covariates, "always": always},
    )
