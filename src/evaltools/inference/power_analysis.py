"""Power, minimum detectable effect size (MDES) and sample size for randomised designs.

Designs (Dong & Maynard 2013, PowerUp!; Bloom 2006):

* ``"individual"`` - pupils randomised (PowerUp! IRA)::

      SE = sqrt((1 - R2_1) / (P (1 - P) N)),                 df = N - g - 2

* ``"cluster2"`` - schools randomised, pupils in schools (CRA2_2r)::

      SE = sqrt(rho (1 - R2_2) / (P (1 - P) J)
                + (1 - rho) (1 - R2_1) / (P (1 - P) J n)),    df = J - g - 2

* ``"cluster3"`` - top-level units randomised, e.g. schools with classes with pupils
  (CRA3_3r)::

      SE = sqrt(rho3 (1 - R2_3) / (P (1 - P) K)
                + rho2 (1 - R2_2) / (P (1 - P) K J)
                + (1 - rho2 - rho3) (1 - R2_1) / (P (1 - P) K J n)),  df = K - g - 2

``MDES = M * SE`` with the exact multiplier ``M = t(1 - alpha/2, df) + t(power, df)``
(two-tailed; ``t(1 - alpha, df)`` one-tailed), which tends to 2.80 as df grows for
alpha = 0.05 and power = 0.80.

Two methods (``method=``):

* ``"multiplier"`` (Bloom 2006; PowerUp!): ``MDES = M * SE``. For power it is the
  central-t approximation that this formula inverts, ``power = T_df(lambda - t_crit)``
  with ``lambda = |effect| / SE`` (the test's opposite tail is ignored, as in the
  multiplier), so that ``power(mdes(...))`` gives back the target power exactly.
* ``"noncentral"``: the exact power of the t test with the noncentral t distribution
  (Hedges & Rhoads 2009); it matches statsmodels' ``TTestIndPower`` for the individual
  design; ``mdes`` and ``sample_size`` are then solved numerically.

Defaults follow the PowerUp! R port (PowerUpR): ``mdes`` and ``sample_size`` use the
multiplier, ``power`` uses the noncentral t.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from evaltools.core import inputs as ck

Design = Literal["individual", "cluster2", "cluster3"]
Method = Literal["multiplier", "noncentral"]

_DESIGN_NAMES = {
    "individual": "individual random assignment (PowerUp! IRA)",
    "cluster2": "2-level cluster random assignment, clusters randomised (PowerUp! CRA2_2r)",
    "cluster3": "3-level cluster random assignment, top level randomised (PowerUp! CRA3_3r)",
}


@dataclass(frozen=True)
class DesignSpec:
    """A validated design: sample sizes, variance shares, R-squared values, covariates."""

    design: str
    n: float | None = None               # individual: total pupils
    n_clusters: float | None = None      # cluster2/3: randomised units (e.g. schools)
    cluster_size: float | None = None    # cluster2: pupils per cluster; cluster3: per class
    n_subclusters: float | None = None   # cluster3: middle units (classes) per top unit
    icc: float = 0.0                     # cluster2: rho; cluster3: rho3 (top level)
    icc2: float = 0.0                    # cluster3: rho2 (middle level)
    r2_1: float = 0.0
    r2_2: float = 0.0
    r2_3: float = 0.0
    covariates: int = 0
    p: float = 0.5

    def df(self) -> float:
        top = self.n if self.design == "individual" else self.n_clusters
        return float(top) - self.covariates - 2

    def se(self) -> float:
        """Standard error of the impact estimate in effect-size units."""
        pq = self.p * (1 - self.p)
        if self.design == "individual":
            return math.sqrt((1 - self.r2_1) / (pq * self.n))
        if self.design == "cluster2":
            J, n, rho = self.n_clusters, self.cluster_size, self.icc
            return math.sqrt(rho * (1 - self.r2_2) / (pq * J)
                             + (1 - rho) * (1 - self.r2_1) / (pq * J * n))
        K, J, n = self.n_clusters, self.n_subclusters, self.cluster_size
        r3, r2 = self.icc, self.icc2
        return math.sqrt(r3 * (1 - self.r2_3) / (pq * K) + r2 * (1 - self.r2_2) / (pq * K * J)
                         + (1 - r2 - r3) * (1 - self.r2_1) / (pq * K * J * n))

    def with_top(self, value: float) -> "DesignSpec":
        key = "n" if self.design == "individual" else "n_clusters"
        return _replace(self, **{key: value})


def _replace(spec: DesignSpec, **kw: Any) -> DesignSpec:
    d = {k: getattr(spec, k) for k in spec.__dataclass_fields__}
    d.update(kw)
    return DesignSpec(**d)


def _spec(design: str, *, n=None, n_clusters=None, cluster_size=None, n_subclusters=None,
          icc=None, icc2=None, r2_1=0.0, r2_2=0.0, r2_3=0.0, covariates=0, p=0.5,
          need_top: bool = True) -> DesignSpec:
    if design not in _DESIGN_NAMES:
        raise ck.InputError(
            f"Unknown design {design!r}; use 'individual', 'cluster2' (schools randomised) or "
            "'cluster3' (top level of three randomised)."
        )
    g = ck.count("covariates", covariates, minimum=0)
    pp = ck.proportion("p", p, low_open=True, hint="It is the share of units assigned to treatment.")
    kw: dict[str, Any] = dict(design=design, covariates=g, p=pp,
                              r2_1=ck.proportion("r2_1", r2_1))

    def top(name, value):
        if value is None:
            if need_top:
                raise ck.InputError(f"The {design} design needs '{name}'.")
            return None
        return ck.positive(name, value)

    if design != "cluster3" and r2_3:
        raise ck.InputError("'r2_3' (variance explained at level 3) applies only to design='cluster3'.")
    if design == "individual" and r2_2:
        raise ck.InputError(
            "'r2_2' (variance explained at the cluster level) does not apply to the individual "
            "design; use 'r2_1' for the share of outcome variance explained by covariates."
        )
    if design == "individual":
        for name, v in (("n_clusters", n_clusters), ("cluster_size", cluster_size),
                        ("n_subclusters", n_subclusters), ("icc", icc), ("icc2", icc2)):
            if v is not None:
                raise ck.InputError(
                    f"'{name}' does not apply to the individual design; use design='cluster2' "
                    "or 'cluster3' for clustered samples."
                )
        kw["n"] = top("n", n)
    else:
        if n is not None:
            raise ck.InputError(
                f"'n' is the total sample of the individual design; for {design} give "
                "'n_clusters' (randomised units) and 'cluster_size'."
            )
        if icc is None:
            raise ck.InputError(
                f"The {design} design needs 'icc', the share of outcome variance between "
                "randomised units (e.g. 0.15-0.25 between schools for Latvian exam scores; "
                "use an estimate from previous years' data)."
            )
        kw["icc"] = ck.proportion("icc", icc)
        kw["n_clusters"] = top("n_clusters", n_clusters)
        if cluster_size is None:
            raise ck.InputError(f"The {design} design needs 'cluster_size' (pupils per cluster).")
        kw["cluster_size"] = ck.positive("cluster_size", cluster_size)
        kw["r2_2"] = ck.proportion("r2_2", r2_2)
        if design == "cluster3":
            if n_subclusters is None or icc2 is None:
                raise ck.InputError(
                    "The cluster3 design needs 'n_subclusters' (middle units, e.g. classes, per "
                    "randomised unit) and 'icc2' (variance share of the middle level)."
                )
            kw["n_subclusters"] = ck.positive("n_subclusters", n_subclusters)
            kw["icc2"] = ck.proportion("icc2", icc2)
            kw["r2_3"] = ck.proportion("r2_3", r2_3)
            if kw["icc"] + kw["icc2"] >= 1:
                raise ck.InputError(
                    f"icc + icc2 = {kw['icc'] + kw['icc2']:g} must be below 1 (the pupil level "
                    "keeps the rest of the variance)."
                )
        elif n_subclusters is not None or icc2 is not None:
            raise ck.InputError("'n_subclusters' and 'icc2' apply only to design='cluster3'.")
    spec = DesignSpec(**kw)
    if need_top and spec.df() < 1:
        unit = "pupils" if design == "individual" else "randomised clusters"
        raise ck.InputError(
            f"Too few {unit}: degrees of freedom = {spec.df():g} with {g} covariate(s). "
            f"Need at least covariates + 3 {unit}."
        )
    return spec


def _tcrit(alpha: float, df: float, two_tailed: bool) -> float:
    return float(stats.t.ppf(1 - alpha / 2 if two_tailed else 1 - alpha, df))


def multiplier(df: float, alpha: float = 0.05, power: float = 0.8,
               two_tailed: bool = True) -> float:
    """The MDES multiplier ``M = t(1 - alpha/2, df) + t(power, df)`` (Bloom 2006).

    ``df = inf`` gives the normal multiplier (2.80 for alpha 0.05, power 0.80).
    """
    a = ck.proportion("alpha", alpha, low_open=True)
    pw = ck.proportion("power", power, low_open=True)
    if math.isinf(df):
        z = stats.norm
        q = 1 - a / 2 if two_tailed else 1 - a
        return float(z.ppf(q) + z.ppf(pw))
    return _tcrit(a, df, two_tailed) + float(stats.t.ppf(pw, df))


def _power_at(lam: float, df: float, alpha: float, two_tailed: bool, method: str) -> float:
    c = _tcrit(alpha, df, two_tailed)
    if method == "multiplier":  # Bloom's approximation: central t, opposite tail ignored
        return float(stats.t.cdf(abs(lam) - c, df))
    up = float(np.nan_to_num(stats.nct.sf(c, df, lam), nan=1.0))
    low = float(np.nan_to_num(stats.nct.cdf(-c, df, lam), nan=0.0)) if two_tailed else 0.0
    return min(1.0, up + low)


def power_at(ncp: float, df: float, *, alpha: float = 0.05, two_tailed: bool = True,
             method: Method = "noncentral") -> float:
    """Power of a t test whose statistic has noncentrality ``ncp = effect / SE`` and ``df``
    degrees of freedom: the noncentral t (``method="noncentral"``, both tails when
    two-tailed) or Bloom's central-t approximation ``T_df(|ncp| - t_crit)``
    (``"multiplier"``), as :func:`power` uses them. For designs whose SE and df are
    computed elsewhere (``evaltools.design``)."""
    _check_method(method)
    a = ck.proportion("alpha", alpha, low_open=True)
    return _power_at(ck.finite("ncp", ncp), ck.positive("df", df), a, two_tailed, method)


def mdes_of(spec: Any, *, alpha: float = 0.05, power: float = 0.8, two_tailed: bool = True,
            method: Method = "multiplier") -> float:
    """The MDES of any design object with ``se()`` and ``df()`` (a :class:`DesignSpec`, or a design
    of ``evaltools.design``): ``M * SE``, or the noncentral-t solution (see :func:`mdes`)."""
    _check_method(method)
    a = ck.proportion("alpha", alpha, low_open=True)
    pw = ck.proportion("power", power, low_open=True)
    return _mdes_value(spec, a, pw, two_tailed, method)


def _check_method(method: str) -> None:
    if method not in ("multiplier", "noncentral"):
        raise ck.InputError(f"Unknown method {method!r}; use 'multiplier' (PowerUp!) or 'noncentral'.")


@dataclass(frozen=True)
class PowerResult:
    """The outcome of :func:`mdes`, :func:`power` or :func:`sample_size`."""

    solved_for: str
    design: str
    mdes: float
    power: float
    alpha: float
    two_tailed: bool
    df: float
    multiplier: float
    se: float
    method: str
    sizes: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        if self.solved_for == "mdes":
            return self.mdes
        if self.solved_for == "power":
            return self.power
        return float(next(iter(self.sizes.values())))

    def to_frame(self) -> pd.DataFrame:
        row = {"design": self.design, "solved_for": self.solved_for, "mdes": self.mdes,
               "power": self.power, "alpha": self.alpha, "two_tailed": self.two_tailed,
               "df": self.df, "multiplier": self.multiplier, "se": self.se,
               "method": self.method, **self.sizes, **self.parameters}
        return pd.DataFrame([row])

    def to_dict(self) -> dict[str, Any]:
        return {"type": "power", **self.to_frame().iloc[0].to_dict()}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v:,.4g}" for k, v in self.sizes.items())
        pars = ", ".join(f"{k}={v:g}" for k, v in self.parameters.items() if v)
        tail = "two-tailed" if self.two_tailed else "one-tailed"
        lines = [
            f"{_DESIGN_NAMES[self.design]}: solved for {self.solved_for}",
            f"  {'MDES' if self.solved_for == 'mdes' else 'effect'} {self.mdes:.3f} SD, "
            f"power {self.power:.3f} ({tail}, alpha {self.alpha:g})",
            f"  {sizes}; df {self.df:g}, multiplier {self.multiplier:.3f}, SE {self.se:.4f}",
        ]
        if pars:
            lines.append(f"  {pars}")
        lines.append(f"  method: {self.method}")
        return "\n".join(lines)


def _result(solved_for, spec: DesignSpec, mdes_v, power_v, alpha, two_tailed, method, pw_target):
    df = spec.df()
    sizes = {"n": spec.n} if spec.design == "individual" else {
        "n_clusters": spec.n_clusters, "cluster_size": spec.cluster_size}
    if spec.design == "cluster3":
        sizes["n_subclusters"] = spec.n_subclusters
    pars = {"p": spec.p, "covariates": spec.covariates, "r2_1": spec.r2_1}
    if spec.design != "individual":
        pars.update(icc=spec.icc, r2_2=spec.r2_2)
    if spec.design == "cluster3":
        pars.update(icc2=spec.icc2, r2_3=spec.r2_3)
    return PowerResult(
        solved_for=solved_for, design=spec.design, mdes=float(mdes_v), power=float(power_v),
        alpha=alpha, two_tailed=two_tailed, df=df,
        multiplier=multiplier(df, alpha, pw_target, two_tailed), se=spec.se(),
        method="multiplier M = t(1-alpha/2) + t(power) (Bloom 2006; PowerUp!)"
        if method == "multiplier" else "exact noncentral t (Hedges & Rhoads 2009)",
        sizes=sizes, parameters=pars,
    )


def _mdes_value(spec: DesignSpec, alpha, pw, two_tailed, method) -> float:
    df, se = spec.df(), spec.se()
    m = multiplier(df, alpha, pw, two_tailed)
    if method == "multiplier":
        return m * se
    f = lambda lam: _power_at(lam, df, alpha, two_tailed, "noncentral") - pw  # noqa: E731
    lam = optimize.brentq(f, 1e-9, 2 * m + 5, xtol=1e-12)
    return lam * se


def mdes(design: Design = "individual", *, alpha: float = 0.05, power: float = 0.8,
         two_tailed: bool = True, method: Method = "multiplier", **design_args: Any) -> PowerResult:
    """Minimum detectable effect size (in SD units of the outcome).

    ``design_args``: ``n`` (individual), or ``n_clusters``, ``cluster_size``, ``icc``
    (cluster2), plus ``n_subclusters``, ``icc2`` (cluster3); ``r2_1``, ``r2_2``, ``r2_3``
    (variance explained by covariates at each level), ``covariates`` (number at the
    randomised level, g), ``p`` (share treated). See the module docstring for formulas.
    """
    _check_method(method)
    a = ck.proportion("alpha", alpha, low_open=True)
    pw = ck.proportion("power", power, low_open=True)
    spec = _spec(design, **design_args)
    return _result("mdes", spec, _mdes_value(spec, a, pw, two_tailed, method), pw, a,
                   two_tailed, method, pw)


def power(design: Design = "individual", *, effect: float, alpha: float = 0.05,
          two_tailed: bool = True, method: Method = "noncentral",
          **design_args: Any) -> PowerResult:
    """Power to detect ``effect`` (SD units) at level ``alpha`` (see :func:`mdes`)."""
    _check_method(method)
    a = ck.proportion("alpha", alpha, low_open=True)
    es = ck.positive("effect", abs(ck.finite("effect", effect)))
    spec = _spec(design, **design_args)
    pw = _power_at(es / spec.se(), spec.df(), a, two_tailed, method)
    res = _result("power", spec, es, pw, a, two_tailed, method, 0.8)
    return res


def sample_size(design: Design = "individual", *, effect: float, power: float = 0.8,
                alpha: float = 0.05, two_tailed: bool = True, method: Method = "multiplier",
                max_units: int = 10_000_000, round_up: str = "total", **design_args: Any) -> PowerResult:
    """Smallest number of randomised units that detects ``effect`` with ``power``.

    Solves for ``n`` (individual: total pupils) or ``n_clusters`` (cluster designs:
    randomised schools), holding the other sizes fixed; the answer is a whole number.
    ``round_up="total"`` (default, PowerUpR): the smallest whole total (its split
    ``p`` need not give whole arms). ``round_up="per_arm"`` (R ``pwr``, statsmodels,
    G*Power): the exact solution split by ``p``, each arm rounded up; the result
    holds the arms (``sizes["treated"]``, ``sizes["control"]``), and ``p`` and the
    power achieved are those of the whole arms. See docs/r_conventions.md.
    For cluster designs the power is capped by the between-cluster variance: if even
    ``max_units`` clusters do not reach the target an error says so.
    """
    _check_method(method)
    if round_up not in ("total", "per_arm"):
        raise ck.InputError(f"round_up must be 'total' or 'per_arm', got {round_up!r}.")
    a = ck.proportion("alpha", alpha, low_open=True)
    pw = ck.proportion("power", power, low_open=True)
    es = ck.positive("effect", abs(ck.finite("effect", effect)))
    key = "n" if design == "individual" else "n_clusters"
    if design_args.get(key) is not None:
        raise ck.InputError(f"sample_size solves for '{key}'; leave it out.")
    base = _spec(design, need_top=False, **design_args)
    lo = base.covariates + 3

    def achieved(units: int) -> float:
        s = base.with_top(units)
        return _power_at(es / s.se(), s.df(), a, two_tailed, method)

    hi = lo
    while achieved(hi) < pw:
        hi *= 2
        if hi > max_units:
            raise ck.InputError(
                f"Power {pw:g} for effect {es:g} is not reached with {max_units:,} units. In "
                "a cluster design more pupils per cluster cannot beat the between-cluster "
                "variance: lower 'icc' (or raise 'r2_2' with a school-level covariate) or "
                "accept a larger effect."
            )
    while hi - lo > 1:  # power is increasing in the number of units
        mid = (lo + hi) // 2
        if achieved(mid) >= pw:
            hi = mid
        else:
            lo = mid
    units = lo if achieved(lo) >= pw else hi
    if round_up == "per_arm":
        # the exact (fractional) solution lies in (units - 1, units]; round each arm up
        exact = optimize.brentq(lambda x: achieved(x) - pw, max(units - 1.0, base.covariates + 2.5), float(units),
                                xtol=1e-10) if achieved(units - 1.0) < pw else float(units - 1)
        n1, n0 = math.ceil(base.p * exact - 1e-9), math.ceil((1 - base.p) * exact - 1e-9)
        spec = _replace(base.with_top(n1 + n0), p=n1 / (n1 + n0))
        res = _result("sample size", spec, es, _power_at(es / spec.se(), spec.df(), a, two_tailed, method),
                      a, two_tailed, method, pw)
        res.sizes.update(treated=n1, control=n0)
        return dataclasses.replace(res, method=res.method + "; each arm rounded up")
    spec = base.with_top(units)
    return _result("sample size", spec, es, achieved(units), a, two_tailed, method, pw)


def mdes_curve(design: Design = "cluster2", n_clusters: Iterable[float] | None = None, *,
               alpha: float = 0.05, power: float = 0.8, two_tailed: bool = True,
               method: Method = "multiplier", **design_args: Any) -> pd.DataFrame:
    """MDES for each number of randomised units: columns ``units``, ``mdes``, ``df``,
    ``multiplier``, ``se`` (plus ``design``). For the individual design ``n_clusters`` is
    the list of total sample sizes."""
    if n_clusters is None:
        raise ck.InputError("Give 'n_clusters', the numbers of schools (or pupils) to evaluate.")
    values = [float(v) for v in n_clusters]
    if not values:
        raise ck.InputError("'n_clusters' is empty; give at least one number of units.")
    key = "n" if design == "individual" else "n_clusters"
    rows = []
    for v in values:
        r = mdes(design, alpha=alpha, power=power, two_tailed=two_tailed, method=method,
                 **{key: v}, **design_args)
        rows.append({"units": v, "mdes": r.mdes, "df": r.df, "multiplier": r.multiplier,
                     "se": r.se})
    out = pd.DataFrame(rows)
    out.attrs.update(design=design, alpha=alpha, power=power, method=method, **design_args)
    return out


def plot_mdes_curve(curve: pd.DataFrame, *, ax: Any = None, target: float | None = None,
                    label: str | None = None, xlabel: str = "Number of schools",
                    ylabel: str = "Minimum detectable effect size (SD)") -> Any:
    """Plot MDES against the number of schools; returns the matplotlib Axes.

    ``target``: draw a horizontal line at an effect size of interest (e.g. the effect
    the programme must reach to be worth its cost). Labels are parameters so that the
    report layer can pass them in Latvian.
    """
    import matplotlib.pyplot as plt

    if not {"units", "mdes"} <= set(curve.columns):
        raise ck.InputError("'curve' must be the DataFrame returned by mdes_curve().")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    ax.plot(curve["units"], curve["mdes"], marker="o", label=label)
    if target is not None:
        ax.axhline(ck.positive("target", target), linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    if label:
        ax.legend()
    return ax
