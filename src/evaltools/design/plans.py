"""MDES, power and sample size of randomised designs, with PowerUp!'s inputs.

Every design is a standard error of the impact in effect-size units (SD of the outcome) and
the degrees of freedom of its test; ``MDES = M * SE`` with ``M = t(1 - alpha/2, df) +
t(power, df)`` (one-tailed ``t(1 - alpha, df)``; Bloom 1995, 2006), power from the noncentral
t (Hedges & Rhoads 2009). Notation of Dong & Maynard (2013, *J. Res. Educ. Effectiveness*
6(1), 24-67; PowerUp!): ``n`` pupils per level-2 unit (class or school), ``J`` level-2 units
(per block, or in all), ``K`` level-3 units (municipalities, blocks); ``rho2``, ``rho3`` the
shares of the outcome's variance between level-2 and level-3 units; ``r2_1``, ``r2_2``,
``r2_3`` the shares of each level's variance explained by covariates; ``omega`` the variance
of the effect across random blocks relative to the block-level variance (``r2_t`` of it
explained); ``g`` covariates at the randomised (or block) level; ``p`` the share treated.
``pq = p (1 - p)``:

=====================  ==========  =============================================================  ================
design                 PowerUp!    SE^2                                                           df
=====================  ==========  =============================================================  ================
individual             IRA         (1-r2_1) / (pq n),  n = all pupils                             n - g - 2
blocked_individual     BIRA2_1c    (1-r2_1) / (pq J n)                                            J n - J - g - 1
 (blocks="constant")
blocked_individual     BIRA2_1f    (1-r2_1) / (pq J n)                                            J (n - 2) - g
 (blocks="fixed")
blocked_individual     BIRA2_1r    rho2 omega (1-r2_t) / J + (1-rho2)(1-r2_1) / (pq J n)          J - g - 1
 (blocks="random")
cluster2               CRA2_2r     rho2 (1-r2_2) / (pq J) + (1-rho2)(1-r2_1) / (pq J n)           J - g - 2
blocked_cluster        BCRA3_2f    rho2 (1-r2_2) / (pq J K) + (1-rho2)(1-r2_1) / (pq J K n)       K (J - 2) - g
 (blocks="fixed")
blocked_cluster        BCRA3_2r    rho3 omega (1-r2_t) / K + rho2 (1-r2_2) / (pq J K)             K - g - 1
 (blocks="random")                   + (1-rho2-rho3)(1-r2_1) / (pq J K n)
cluster3               CRA3_3r     rho3 (1-r2_3) / (pq K) + rho2 (1-r2_2) / (pq J K)              K - g - 2
                                     + (1-rho2-rho3)(1-r2_1) / (pq J K n)
=====================  ==========  =============================================================  ================

The individual, cluster2 and cluster3 rows are :class:`evaltools.inference.power_analysis.
DesignSpec` (one implementation); this module adds the blocked (multi-site) designs and one
interface for all of them. Checked against PowerUp!'s worked examples and the PowerUpR
cross-checks in ``tests/design/test_plans.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaltools.core import inputs as ck
from evaltools.core.errors import InputError
from evaltools.core.result import ResultMixin, SummaryText
from evaltools.inference.power_analysis import DesignSpec, mdes_of, multiplier, power_at

DesignName = Literal["individual", "blocked_individual", "cluster2", "blocked_cluster", "cluster3"]
DESIGNS: tuple[str, ...] = ("individual", "blocked_individual", "cluster2", "blocked_cluster", "cluster3")
BLOCKS = {"blocked_individual": ("fixed", "constant", "random"), "blocked_cluster": ("fixed", "random")}
CODES = {("individual", None): "IRA", ("blocked_individual", "constant"): "BIRA2_1c",
         ("blocked_individual", "fixed"): "BIRA2_1f", ("blocked_individual", "random"): "BIRA2_1r",
         ("cluster2", None): "CRA2_2r", ("blocked_cluster", "fixed"): "BCRA3_2f",
         ("blocked_cluster", "random"): "BCRA3_2r", ("cluster3", None): "CRA3_3r"}
#: What each design randomises, and the unit its sample size counts (the one ``solve`` changes).
TOP = {"individual": "n", "blocked_individual": "J", "cluster2": "J", "blocked_cluster": "K", "cluster3": "K"}
WORDS = {
    "individual": "pupils randomised individually",
    "blocked_individual": "pupils randomised within schools (blocks)",
    "cluster2": "schools randomised",
    "blocked_cluster": "schools randomised within municipalities (blocks)",
    "cluster3": "municipalities randomised",
}
_NEEDS = {
    "individual": ("n",), "blocked_individual": ("n", "J"), "cluster2": ("n", "J", "rho2"),
    "blocked_cluster": ("n", "J", "K", "rho2"), "cluster3": ("n", "J", "K", "rho2", "rho3"),
}


class DesignInputError(InputError, ValueError):
    """A design's inputs cannot be used (names the parameter and how to fix it)."""


@dataclass(frozen=True)
class Design:
    """One design with PowerUp!'s inputs; :meth:`se` and :meth:`df` are its formulas."""

    design: str
    n: float | None = None
    J: float | None = None
    K: float | None = None
    rho2: float = 0.0
    rho3: float = 0.0
    omega: float = 0.0
    r2_1: float = 0.0
    r2_2: float = 0.0
    r2_3: float = 0.0
    r2_t: float = 0.0
    g: int = 0
    p: float = 0.5
    blocks: str | None = None
    imbalance: bool = False

    @property
    def code(self) -> str:
        """PowerUp!'s name of the design (Dong & Maynard 2013), e.g. ``CRA2_2r``."""
        return CODES[(self.design, self.blocks)]

    def _spec(self) -> DesignSpec:
        if self.design == "individual":
            return DesignSpec("individual", n=self.n, r2_1=self.r2_1, covariates=self.g, p=self.p)
        if self.design == "cluster2":
            return DesignSpec("cluster2", n_clusters=self.J, cluster_size=self.n, icc=self.rho2,
                              r2_1=self.r2_1, r2_2=self.r2_2, covariates=self.g, p=self.p)
        return DesignSpec("cluster3", n_clusters=self.K, n_subclusters=self.J, cluster_size=self.n,
                          icc=self.rho3, icc2=self.rho2, r2_1=self.r2_1, r2_2=self.r2_2, r2_3=self.r2_3,
                          covariates=self.g, p=self.p)

    def se(self) -> float:
        """Standard error of the impact in SD units (see the module's table); with
        ``imbalance=True`` times the covariate-imbalance factor :meth:`inflation`."""
        return self._se() * math.sqrt(self.inflation())

    def inflation(self) -> float:
        """``1 + g / (m - g - 3)`` with ``m`` randomised units when ``imbalance`` is set, else 1.

        PowerUp!'s SE assumes covariates exactly balanced between the arms. Covariates drawn with
        the units are not: the variance of the impact given them is larger by ``1 / (1 - R^2)``
        of the treatment on the covariates, whose expectation is this factor (Raudenbush 1997,
        *Psychol. Methods* 2(2), 173-185: ``1 + 1 / (J - 4)`` for one school-level covariate).
        It matters with few units (J = 14, g = 1: SE +4.9 %). :func:`power` then averages the
        power over the imbalance exactly (noncentral method); :func:`mdes` uses this factor."""
        if not self.imbalance or not self.g:
            return 1.0
        m = {"individual": self.n, "cluster2": self.J, "cluster3": self.K}[self.design]
        rest = float(m) - self.g - 3
        return 1.0 + self.g / rest if rest > 0 else math.inf

    def _se(self) -> float:
        if self.design in ("individual", "cluster2", "cluster3"):
            return self._spec().se()
        pq = self.p * (1 - self.p)
        n, J = float(self.n), float(self.J)
        if self.design == "blocked_individual":
            within = (1 - self.rho2) if self.blocks == "random" else 1.0
            v = within * (1 - self.r2_1) / (pq * J * n)
            if self.blocks == "random":
                v += self.rho2 * self.omega * (1 - self.r2_t) / J
            return math.sqrt(v)
        K = float(self.K)
        if self.blocks == "fixed":
            return math.sqrt(self.rho2 * (1 - self.r2_2) / (pq * J * K)
                             + (1 - self.rho2) * (1 - self.r2_1) / (pq * J * K * n))
        return math.sqrt(self.rho3 * self.omega * (1 - self.r2_t) / K
                         + self.rho2 * (1 - self.r2_2) / (pq * J * K)
                         + (1 - self.rho2 - self.rho3) * (1 - self.r2_1) / (pq * J * K * n))

    def df(self) -> float:
        """Degrees of freedom of the impact's t test (see the module's table)."""
        if self.design in ("individual", "cluster2", "cluster3"):
            return self._spec().df()
        n, J, g = float(self.n), float(self.J), self.g
        if self.design == "blocked_individual":
            return {"constant": J * n - J - g - 1, "fixed": J * (n - 2) - g, "random": J - g - 1}[self.blocks]
        K = float(self.K)
        return K * (J - 2) - g if self.blocks == "fixed" else K - g - 1

    def units(self) -> dict[str, float]:
        """Randomised schools and pupils in the whole sample (``schools`` is NaN when pupils are the
        only level); what the costs count."""
        if self.design == "individual":
            return {"schools": float("nan"), "pupils": float(self.n)}
        if self.design in ("blocked_individual", "cluster2"):
            return {"schools": float(self.J), "pupils": float(self.J) * float(self.n)}
        if self.design == "blocked_cluster":
            return {"schools": float(self.J) * float(self.K), "pupils": float(self.J) * float(self.K) * float(self.n)}
        return {"schools": float(self.J) * float(self.K), "pupils": float(self.J) * float(self.K) * float(self.n)}

    def with_top(self, value: float) -> "Design":
        """The same design with ``value`` top-level units (the size :func:`sample_size` solves for)."""
        return replace(self, **{TOP[self.design]: value})


def design(name: DesignName, *, n: float | None = None, J: float | None = None, K: float | None = None,
           rho2: float | None = None, rho3: float | None = None, omega: float = 0.0, r2_1: float = 0.0,
           r2_2: float = 0.0, r2_3: float = 0.0, r2_t: float = 0.0, g: int = 0, p: float = 0.5,
           blocks: str | None = None, imbalance: bool = False, need_top: bool = True) -> Design:
    """A validated :class:`Design` (see the module's table for what each design needs).

    ``blocks``: ``"fixed"`` (default), ``"constant"`` or ``"random"`` for blocked_individual;
    ``"fixed"`` (default) or ``"random"`` for blocked_cluster; not used otherwise.
    ``imbalance``: add the chance imbalance of the ``g`` covariates to the SE (see
    :meth:`Design.inflation`; individual and cluster designs; PowerUp! leaves it out).
    """
    if name not in DESIGNS:
        raise DesignInputError(f"Unknown design {ck.show(name)}; use one of {', '.join(DESIGNS)}.")
    if name in BLOCKS:
        blocks = "fixed" if blocks is None else str(blocks).lower()
        if blocks not in BLOCKS[name]:
            raise DesignInputError(f"'blocks' of {name} must be one of {', '.join(BLOCKS[name])}, "
                                   f"got {ck.show(blocks)}.")
    elif blocks is not None:
        raise DesignInputError(f"'blocks' applies to the blocked designs only, not to {name}.")
    given = {"n": n, "J": J, "K": K, "rho2": rho2, "rho3": rho3}
    top = TOP[name]
    for key in _NEEDS[name]:
        if given[key] is None and not (key == top and not need_top):
            raise DesignInputError(
                f"The {name} design ({WORDS[name]}) needs '{key}'"
                + ({"n": " (pupils per school; for the individual design all pupils)", "J": " (schools)",
                    "K": " (municipalities or blocks)", "rho2": " (the school ICC: estimate it with "
                    "evaltools.design.design_parameters)", "rho3": " (the municipality ICC)"}[key]) + ".")
    allowed = set(_NEEDS[name])
    if blocks == "random":
        need = "rho2" if name == "blocked_individual" else "rho3"
        if given[need] is None:
            raise DesignInputError(f"{name} with blocks='random' needs '{need}' (the ICC of the blocks).")
        allowed.add(need)
    if name == "blocked_individual":
        allowed.add("rho2")  # accepted (and unused) with fixed or constant blocks, as in PowerUp!
    extra = [k for k in ("J", "K", "rho2", "rho3") if given[k] is not None and k not in allowed]
    if extra:
        raise DesignInputError(f"{', '.join(repr(e) for e in extra)} do(es) not apply to the {name} design "
                               f"({WORDS[name]}); leave it out.")
    kw: dict[str, Any] = {"design": name, "blocks": blocks}
    for key in ("n", "J", "K"):
        if given[key] is not None:
            kw[key] = ck.positive(key, given[key])
    kw["rho2"] = ck.proportion("rho2", rho2 or 0.0)
    kw["rho3"] = ck.proportion("rho3", rho3 or 0.0)
    if kw["rho2"] + kw["rho3"] >= 1:
        raise DesignInputError(f"rho2 + rho3 = {kw['rho2'] + kw['rho3']:g} must be below 1 (pupils keep the rest).")
    for key, value in (("r2_1", r2_1), ("r2_2", r2_2), ("r2_3", r2_3), ("r2_t", r2_t)):
        kw[key] = ck.proportion(key, value)
    kw["omega"] = ck.nonnegative("omega", omega)
    if kw["omega"] and blocks != "random":
        raise DesignInputError("'omega' (effect variance across blocks) applies to blocks='random' only.")
    kw["g"] = ck.count("g", g, minimum=0)
    kw["p"] = ck.proportion("p", p, low_open=True, hint="It is the share of units assigned to treatment.")
    if imbalance and name in BLOCKS:
        raise DesignInputError("'imbalance' is available for the individual, cluster2 and cluster3 designs only.")
    kw["imbalance"] = bool(imbalance)
    out = Design(**kw)
    if need_top and out.df() < 1:
        raise DesignInputError(f"Too few units for the {name} design: its test has {out.df():g} degrees of "
                               f"freedom with g = {out.g} covariate(s). Add {top} or drop covariates.")
    return out


@dataclass(frozen=True, repr=False)
class PlanResult(ResultMixin):
    """MDES, power or sample size of one :class:`Design`, with the numbers behind it."""

    solved_for: str
    design: Design
    mdes: float
    power: float
    alpha: float
    two_tailed: bool
    df: float
    multiplier: float
    se: float
    method: str
    label: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def units(self) -> dict[str, float]:
        return self.design.units()

    def to_frame(self) -> pd.DataFrame:
        d = self.design
        row = {"label": self.label or d.code, "design": d.design, "powerup": d.code, "blocks": d.blocks,
               "solved_for": self.solved_for, "mdes": self.mdes, "power": self.power, "alpha": self.alpha,
               "two_tailed": self.two_tailed, "df": self.df, "multiplier": self.multiplier, "se": self.se,
               "n": d.n, "J": d.J, "K": d.K, "schools": d.units()["schools"], "pupils": d.units()["pupils"],
               "rho2": d.rho2, "rho3": d.rho3, "omega": d.omega, "r2_1": d.r2_1, "r2_2": d.r2_2,
               "r2_3": d.r2_3, "g": d.g, "p": d.p, "imbalance": d.imbalance}
        return pd.DataFrame([row])

    def to_dict(self) -> dict[str, Any]:
        return {"type": "design_plan", **self.to_frame().iloc[0].to_dict(), "method": self.method}

    def _summary_title(self) -> str:
        return f"{self.design.code}: {WORDS[self.design.design]}, solved for {self.solved_for}"

    def sentence(self) -> str:
        """The result in plain words (English; the studies word it in their own catalogue)."""
        u = self.design.units()
        who = (f"{u['pupils']:,.0f} pupils" if math.isnan(u["schools"])
               else f"{u['schools']:,.0f} schools with {u['pupils']:,.0f} pupils")
        tail = "two-sided" if self.two_tailed else "one-sided"
        return (f"With {who} ({WORDS[self.design.design]}), an effect of {self.mdes:.2f} SD or more is "
                f"detected with probability {self.power:.0%} in a {tail} test at the {self.alpha:.0%} level.")

    def summary(self) -> SummaryText:
        return SummaryText("\n".join([self._summary_title(), "  " + self.sentence(),
                                      f"  df {self.df:g}, multiplier {self.multiplier:.3f}, SE {self.se:.4f}; "
                                      f"{self.method}", *("  " + n for n in self.notes)]))


def _check(alpha: float, power_: float | None) -> tuple[float, float | None]:
    a = ck.proportion("alpha", alpha, low_open=True)
    pw = None if power_ is None else ck.proportion("power", power_, low_open=True)
    return a, pw


def _mdes_of(d: Design, alpha: float, pw: float, two_tailed: bool, method: str) -> float:
    return mdes_of(d, alpha=alpha, power=pw, two_tailed=two_tailed, method=method)  # one implementation


_METHOD = {"multiplier": "M = t(1-alpha/2, df) + t(power, df) (Bloom 2006; PowerUp!)",
           "noncentral": "noncentral t (Hedges & Rhoads 2009; PowerUpR)"}


def _method(method: str) -> str:
    if method not in _METHOD:
        raise DesignInputError(f"Unknown method {ck.show(method)}; use 'multiplier' (PowerUp!) or 'noncentral'.")
    return method


def mdes(d: Design, *, alpha: float = 0.05, power: float = 0.8, two_tailed: bool = True,
         method: str = "multiplier", label: str = "") -> PlanResult:
    """Minimum detectable effect size of ``d`` (SD units) at ``alpha`` with ``power``."""
    a, pw = _check(alpha, power)
    m = _method(method)
    value = _mdes_of(d, a, pw, two_tailed, m)
    return PlanResult("mdes", d, value, pw, a, two_tailed, d.df(), multiplier(d.df(), a, pw, two_tailed),
                      d.se(), _METHOD[m], label)


def power(d: Design, *, effect: float, alpha: float = 0.05, two_tailed: bool = True,
          method: str = "noncentral", label: str = "") -> PlanResult:
    """Power of ``d`` to detect ``effect`` (SD units)."""
    a, _ = _check(alpha, None)
    m = _method(method)
    es = ck.positive("effect", abs(ck.finite("effect", effect)))
    pw = (_power_imbalanced(d, es, a, two_tailed) if d.imbalance and d.g and m == "noncentral"
          else power_at(es / d.se(), d.df(), alpha=a, two_tailed=two_tailed, method=m))
    return PlanResult("power", d, es, pw, a, two_tailed, d.df(), multiplier(d.df(), a, 0.8, two_tailed),
                      d.se(), _METHOD[m], label)


def _power_imbalanced(d: Design, es: float, alpha: float, two_tailed: bool, nodes: int = 200) -> float:
    """Power averaged over the chance imbalance of ``g`` normal covariates: the impact's variance
    given them is ``SE^2 / (1 - B)`` with ``B`` the R^2 of the treatment on the covariates,
    ``B ~ Beta(g / 2, (m - g - 1) / 2)`` for ``m`` randomised units, so
    ``power = E_B[P(ncp sqrt(1 - B))]``, averaged over ``nodes`` equal-probability quantiles of B
    (midpoint rule on the probability scale; error well below 1e-3)."""
    from scipy import stats

    m = float({"individual": d.n, "cluster2": d.J, "cluster3": d.K}[d.design])
    lam0, df = es / d._se(), d.df()
    b = stats.beta.ppf((np.arange(nodes) + 0.5) / nodes, d.g / 2, (m - d.g - 1) / 2)
    lam = lam0 * np.sqrt(1 - b)
    c = stats.t.ppf(1 - alpha / 2 if two_tailed else 1 - alpha, df)
    pw = np.nan_to_num(stats.nct.sf(c, df, lam), nan=1.0)
    if two_tailed:
        pw = pw + np.nan_to_num(stats.nct.cdf(-c, df, lam), nan=0.0)
    return float(min(max(pw.mean(), 0.0), 1.0))


def sample_size(d: Design, *, effect: float, power: float = 0.8, alpha: float = 0.05, two_tailed: bool = True,
                method: str = "multiplier", max_units: int = 1_000_000, label: str = "") -> PlanResult:
    """The fewest top-level units (``TOP[design]``: pupils, schools or municipalities) that detect
    ``effect`` with ``power``, the other sizes held; a whole number (PowerUpR's ``mrss``)."""
    a, pw = _check(alpha, power)
    m = _method(method)
    es = ck.positive("effect", abs(ck.finite("effect", effect)))
    key = TOP[d.design]

    def reached(units: int) -> bool:
        trial = d.with_top(units)
        if trial.df() < 1:
            return False
        return (_mdes_of(trial, a, pw, two_tailed, m) <= es)

    lo = 2
    hi = 4
    while not reached(hi):
        hi *= 2
        if hi > max_units:
            raise DesignInputError(
                f"Power {pw:g} for an effect of {es:g} SD is not reached with {max_units:,} {key}: in a cluster "
                "design more pupils per school cannot beat the between-school variance. Raise r2_2 (a school-level "
                "pre-test), block, or accept a larger effect.")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reached(mid) else (mid, hi)
    best = d.with_top(hi)
    got = power_at(es / best.se(), best.df(), alpha=a, two_tailed=two_tailed, method=m)
    return PlanResult("sample size", best, es, got, a, two_tailed, best.df(),
                      multiplier(best.df(), a, pw, two_tailed), best.se(), _METHOD[m], label)


def power_curve(d: Design, effects: Any, *, alpha: float = 0.05, two_tailed: bool = True,
                method: str = "noncentral") -> pd.DataFrame:
    """Power of ``d`` at each effect size: columns ``effect``, ``power``."""
    rows = [{"effect": float(e), "power": power(d, effect=e, alpha=alpha, two_tailed=two_tailed,
                                                method=method).power} for e in effects]
    if not rows:
        raise DesignInputError("'effects' is empty; give the effect sizes to draw, e.g. [0.05, 0.1, 0.2].")
    return pd.DataFrame(rows)
