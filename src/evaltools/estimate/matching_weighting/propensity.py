"""Propensity scores, overlap diagnostics and trimming.

The propensity score ``e(x) = P(W = 1 | X = x)`` is fitted by logistic
regression (statsmodels ``Logit``, maximum likelihood). Overlap is judged on
the distribution of ``e`` in each arm; the Crump, Hotz, Imbens and Mitnik
(2009) rule keeps units with ``alpha <= e(x) <= 1 - alpha`` where, with
``g(x) = 1 / (e(x)(1 - e(x)))``, ``alpha = 0`` if ``max g <= 2 E[g]`` and
otherwise ``1 / (alpha (1 - alpha)) = 2 E[g | g <= 1 / (alpha (1 - alpha))]``.

This module also holds the input checks shared by matching, weighting and
balance (one place for the error messages).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import formulaic
import numpy as np
import pandas as pd

from evaltools.core.errors import InputError
from evaltools.core.inputs import require_columns, require_frame
from evaltools.core.result import ResultMixin, SummaryText

__all__ = [
    "propensity_score",
    "PropensityScore",
    "crump_alpha",
    "overlap_table",
    "CausalInputError",
]


class CausalInputError(InputError, ValueError):
    """The data or options given to a matching/weighting estimator cannot be used."""


# ---------------------------------------------------------------------------
# Shared input checks
# ---------------------------------------------------------------------------


def check_frame(data: Any) -> pd.DataFrame:
    require_frame(data)
    if len(data) == 0:
        raise CausalInputError("data has no rows.")
    return data


def check_columns(data: pd.DataFrame, columns: Sequence[str], role: str) -> None:
    """Every column is in ``data`` (:func:`evaltools.core.inputs.require_columns`)."""
    require_columns(data, {role: list(columns)})


def treatment_array(data: pd.DataFrame, treatment: str) -> np.ndarray:
    """The treatment column as 0/1 integers, or a clear error."""
    check_columns(data, [treatment], "treatment")
    w = data[treatment]
    if w.isna().any():
        rows = list(data.index[w.isna()][:5])
        raise CausalInputError(f"The treatment column '{treatment}' has missing values (rows {rows}, ...): drop or fill them.")
    vals = set(pd.unique(w))
    if not vals <= {0, 1, True, False}:
        raise CausalInputError(
            f"The treatment column '{treatment}' must be 0/1 (or boolean); found values {sorted(map(str, vals))[:6]}."
        )
    arr = w.astype(int).to_numpy()
    if arr.min() == arr.max():
        raise CausalInputError(f"The treatment column '{treatment}' has only one value ({arr[0]}): both arms are needed.")
    return arr


def numeric_column(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    check_columns(data, [col], role)
    s = data[col]
    if not pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        raise CausalInputError(f"The {role} column '{col}' must be numeric; it has dtype {s.dtype}.")
    if s.isna().any():
        rows = list(data.index[s.isna()][:5])
        raise CausalInputError(f"The {role} column '{col}' has missing values (rows {rows}, ...): drop or impute them first.")
    return s.to_numpy(dtype=float)


def design_matrix(data: pd.DataFrame, covariates: Sequence[str] | str, *, intercept: bool = True) -> pd.DataFrame:
    """Covariate design: a list of columns or a formula right-hand side
    (``"age + I(age**2) + educ + C(region)"``)."""
    if isinstance(covariates, str):
        rhs = covariates
    else:
        covariates = list(covariates)
        if not covariates:
            raise CausalInputError("covariates is empty: give at least one column name.")
        check_columns(data, covariates, "covariate")
        rhs = " + ".join(c if c.isidentifier() else f"`{c}`" for c in covariates)
    try:
        X = formulaic.model_matrix(("1 + " if intercept else "0 + ") + rhs, data, na_action="raise")
    except Exception as exc:
        raise CausalInputError(f"Could not build the covariates '{rhs}': {exc}") from exc
    X = pd.DataFrame(np.asarray(X, dtype=float), index=data.index, columns=list(X.columns))
    if not intercept and "Intercept" in X.columns:
        X = X.drop(columns="Intercept")
    return X


def cluster_codes(data: pd.DataFrame, cluster: str | None) -> np.ndarray | None:
    if cluster is None:
        return None
    check_columns(data, [cluster], "cluster")
    if data[cluster].isna().any():
        raise CausalInputError(f"The cluster column '{cluster}' has missing values: every row needs a cluster.")
    return pd.factorize(data[cluster])[0]


# ---------------------------------------------------------------------------
# Overlap
# ---------------------------------------------------------------------------


def crump_alpha(ps: np.ndarray) -> float:
    """The Crump et al. (2009) optimal trimming threshold ``alpha``.

    Sort ``g = 1/(e(1-e))``; the cut-off ``gamma`` is the largest ``g_(k)`` with
    ``g_(k) <= 2 mean(g_(1..k))``; ``alpha = 1/2 - sqrt(1/4 - 1/gamma)``.
    """
    e = np.asarray(ps, dtype=float)
    if np.any((e <= 0) | (e >= 1)):
        raise CausalInputError("Propensity scores must lie strictly between 0 and 1 to compute the Crump rule.")
    g = np.sort(1.0 / (e * (1.0 - e)))
    if g[-1] <= 2.0 * g.mean():
        return 0.0
    cummean = np.cumsum(g) / np.arange(1, len(g) + 1)
    ok = np.nonzero(g <= 2.0 * cummean)[0]
    gamma = g[ok[-1]]
    return float(0.5 - np.sqrt(max(0.25 - 1.0 / gamma, 0.0)))


def overlap_table(ps: np.ndarray, w: np.ndarray) -> pd.DataFrame:
    """Distribution of the propensity score by arm and common-support shares."""
    ps, w = np.asarray(ps, float), np.asarray(w, int)
    rows = {}
    lo = max(ps[w == 1].min(), ps[w == 0].min())
    hi = min(ps[w == 1].max(), ps[w == 0].max())
    alpha = crump_alpha(ps)
    for arm, lab in [(1, "treated"), (0, "comparison")]:
        e = ps[w == arm]
        rows[lab] = {
            "n": len(e), "min": e.min(), "p05": np.quantile(e, 0.05), "median": np.median(e),
            "p95": np.quantile(e, 0.95), "max": e.max(),
            "share_outside_common_support": float(np.mean((e < lo) | (e > hi))),
            "share_outside_crump": float(np.mean((e < alpha) | (e > 1 - alpha))),
        }
    out = pd.DataFrame(rows).T
    out.attrs["crump_alpha"] = alpha
    out.attrs["common_support"] = (float(lo), float(hi))
    return out


# ---------------------------------------------------------------------------
# The propensity score
# ---------------------------------------------------------------------------


@dataclass(repr=False)
class PropensityScore(ResultMixin):
    """A fitted propensity-score model.

    Attributes
    ----------
    scores: fitted ``e(x)`` indexed like the data.
    treatment: the treatment column; covariates: the design columns.
    params: logit coefficients; design: the design matrix (with intercept).
    """

    scores: pd.Series
    treatment: str
    w: np.ndarray
    design: pd.DataFrame
    params: pd.Series
    llf: float
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def logit(self) -> pd.Series:
        """The linear predictor ``log(e / (1 - e))``."""
        return pd.Series(self.design.to_numpy() @ self.params.to_numpy(), index=self.scores.index, name="logit")

    def overlap(self) -> pd.DataFrame:
        """Per-arm quantiles of ``e`` and shares outside common support / the Crump band."""
        return overlap_table(self.scores.to_numpy(), self.w)

    def crump_alpha(self) -> float:
        """The Crump et al. (2009) trimming threshold for these scores."""
        return crump_alpha(self.scores.to_numpy())

    def keep(self, rule: str | float = "crump") -> pd.Series:
        """Boolean mask of units kept by trimming: ``"crump"`` or a fixed ``alpha``."""
        alpha = self.crump_alpha() if rule == "crump" else float(rule)
        if not 0 <= alpha < 0.5:
            raise CausalInputError(f"A trimming threshold must be in [0, 0.5); got {alpha}.")
        e = self.scores
        return (e >= alpha) & (e <= 1 - alpha)

    def plot(self, ax=None, bins: int = 30):
        """Histograms of the score by arm (overlap plot); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        e = self.scores.to_numpy()
        edges = np.linspace(0, 1, bins + 1)
        ax.hist(e[self.w == 0], bins=edges, alpha=0.5, density=True, label="comparison")
        ax.hist(e[self.w == 1], bins=edges, alpha=0.5, density=True, label="treated")
        a = self.crump_alpha()
        if a > 0:
            for v in (a, 1 - a):
                ax.axvline(v, color="k", ls="--", lw=0.8)
        ax.set_xlabel("propensity score")
        ax.set_ylabel("density")
        ax.legend()
        return ax

    def to_frame(self) -> pd.DataFrame:
        """The logit coefficients."""
        return self.params.to_frame("coef")

    def to_dict(self) -> dict[str, Any]:
        """The coefficients, the overlap table and the log-likelihood (not the unit scores)."""
        return {"type": "PropensityScore", "treatment": self.treatment, "params": self.params.to_frame("coef"),
                "overlap": self.overlap(), "llf": self.llf, "options": self.options}

    def _summary_title(self) -> str:
        return f"Propensity score (logit of {self.treatment})"

    def summary(self) -> SummaryText:
        """The text a reader needs (also the text repr)."""
        return SummaryText(self._text())

    def _text(self) -> str:
        ov = self.overlap()
        return (
            f"PropensityScore(logit of '{self.treatment}' on {self.design.shape[1] - 1} covariate terms; "
            f"n = {len(self.w):,}, treated = {int(self.w.sum()):,})\n"
            f"  treated e: median {ov.loc['treated', 'median']:.3f} [{ov.loc['treated', 'min']:.3f}, {ov.loc['treated', 'max']:.3f}]\n"
            f"  comparison e: median {ov.loc['comparison', 'median']:.3f} [{ov.loc['comparison', 'min']:.3f}, {ov.loc['comparison', 'max']:.3f}]\n"
            f"  Crump alpha = {ov.attrs['crump_alpha']:.3f}"
        )


def propensity_score(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str] | str,
) -> PropensityScore:
    """Fit ``P(treatment = 1 | covariates)`` by logistic regression (statsmodels Logit).

    ``covariates`` is a list of columns or a formula right-hand side, e.g. the
    Dehejia-Wahba specification ``"age + I(age**2) + educ + re74 + re75 + ..."``.
    Raises a clear error on missing values or perfect separation.
    """
    import statsmodels.api as sm

    data = check_frame(data)
    w = treatment_array(data, treatment)
    X = design_matrix(data, covariates)
    rank = np.linalg.matrix_rank(X.to_numpy())
    if rank < X.shape[1]:
        raise CausalInputError(
            f"The propensity-score covariates are collinear (rank {rank} < {X.shape[1]} columns): drop redundant terms."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = sm.Logit(w, X).fit(disp=0, maxiter=100, method="newton")
        except Exception as exc:  # statsmodels raises PerfectSeparationError on some versions
            raise CausalInputError(
                f"The logit propensity model failed ({exc}). Usually some covariate predicts treatment "
                "perfectly: remove it or coarsen it."
            ) from exc
    e = np.asarray(res.predict(X), dtype=float)
    if not res.mle_retvals.get("converged", True) or np.any(e <= 0.0) or np.any(e >= 1.0):
        raise CausalInputError(
            "The logit propensity model did not converge or gives scores of exactly 0 or 1 (perfect "
            "separation): a covariate determines treatment. Remove it, or restrict the sample to units "
            "that could be treated."
        )
    return PropensityScore(
        scores=pd.Series(e, index=data.index, name="pscore"), treatment=treatment, w=w,
        design=X, params=pd.Series(np.asarray(res.params), index=X.columns), llf=float(res.llf),
        options={"model": "logit (statsmodels)", "covariates": covariates if isinstance(covariates, str) else list(covariates)},
    )
