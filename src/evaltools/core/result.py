"""The result protocol: what every result of evaltools offers, and :class:`Estimate`.

Every result (an estimator's, an evidence standard's, a power calculation's) has

- ``.to_frame()``: a tidy pandas DataFrame of its numbers;
- ``.to_dict()``: a JSON-ready dict with a ``"type"`` key (``evaltools.report.record``
  stores results through it, so each recorded number keeps its design and options);
- ``.summary()``: the text a reader needs, as :class:`SummaryText` (a ``str`` that
  JupyterLab shows as text, not as a quoted string);
- a text ``repr`` and ``_repr_html_`` for JupyterLab.

:class:`Result` states this as a ``typing.Protocol``; :class:`ResultMixin` gives a
result class the last three from its ``to_frame()``: a class defines ``to_frame`` (and,
if it is not a dataclass, ``to_dict``) and may override ``_summary_title`` and
``_summary_notes``.

An :class:`Estimate` is a single estimand: the number, its standard error, a confidence
interval, a p-value, the sample it came from and how it was made. Estimators that
produce many numbers (event-study coefficients, group-time ATTs, balance rows) return a
result that holds a tidy table and hands out Estimates for its headline numbers.
"""
from __future__ import annotations

import html
import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Protocol, runtime_checkable

import pandas as pd
from scipy import stats


@runtime_checkable
class Result(Protocol):
    """What every evaltools result offers (see the module docstring)."""

    def to_frame(self) -> pd.DataFrame: ...

    def to_dict(self) -> dict[str, Any]: ...

    def summary(self) -> str: ...

    def _repr_html_(self) -> str: ...


class SummaryText(str):
    """A summary: a plain ``str`` that notebooks display as text (not as a quoted string)."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def record_dict(obj: Any, kind: str, **extra: Any) -> dict[str, Any]:
    """``{"type": kind, <every dataclass field>, **extra}`` for ``evaltools.report.record``.

    Nested Estimates, DataFrames and numpy values are converted by the report layer.
    """
    out: dict[str, Any] = {"type": kind}
    for f in fields(obj):
        out[f.name] = getattr(obj, f.name)
    out.update(extra)
    return out


def few_clusters_note(diagnostics: dict[str, Any] | None) -> str | None:
    """One line for ``diagnostics["few_clusters"]`` (set by a cluster-robust estimator when
    clusters are few), or ``None`` when it is not set.

    The entry is a dict such as ``{"clusters": 12, "note": "...", "alternative": {"method":
    "CR2", "se": ..., "ci_low": ..., "ci_high": ..., "pvalue": ...}}``; every key is optional.
    """
    info = (diagnostics or {}).get("few_clusters")
    if not info:
        return None
    if not isinstance(info, dict):
        return f"Few clusters: {info}"
    clusters = info.get("clusters")
    line = f"Few clusters ({clusters})" if clusters is not None else "Few clusters"
    note = str(info.get("note") or "").strip()
    line += f": {note}" if note else ": cluster-robust inference may be too optimistic."
    alt = info.get("alternative")
    if isinstance(alt, dict) and alt:
        parts = []
        if _is_number(alt.get("se")):
            parts.append(f"SE {alt['se']:.4g}")
        if _is_number(alt.get("ci_low")) and _is_number(alt.get("ci_high")):
            parts.append(f"CI [{alt['ci_low']:.4g}, {alt['ci_high']:.4g}]")
        if _is_number(alt.get("pvalue")):
            parts.append(f"p = {alt['pvalue']:.3g}")
        method = alt.get("method") or alt.get("name") or "alternative"
        if parts:
            line += f" {method}: {', '.join(parts)}."
    return line


def bootstrap_draws(est: "Estimate") -> int | None:
    """B, when ``est.pvalue`` is the share of B bootstrap draws at least as extreme as the
    estimate (a bootstrap test: ``method`` names a wild or bootstrap-t test and
    ``options["n_boot"]`` holds B); else ``None`` (e.g. a normal p-value from a bootstrap SE)."""
    method = (est.method or "").lower()
    draws = (est.options or {}).get("n_boot")
    if not ("wild" in method or "bootstrap-t" in method) or isinstance(draws, bool):
        return None
    return int(draws) if isinstance(draws, int) and draws > 0 else None


def pvalue_text(est: "Estimate") -> str:
    """``p = 0.0123``; a bootstrap p-value of 0 as ``p < 1/(B+1)``: with B draws and none as
    extreme the test can only say that p is below 1/(B+1) (Davison & Hinkley 1997, ch. 4).
    The number itself (0) stays in ``to_dict()`` and ``to_frame()``."""
    draws = bootstrap_draws(est)
    if draws is not None and est.pvalue == 0:
        return f"p < 1/(B+1) = {1 / (draws + 1):.2g} (none of B = {draws:,} bootstrap draws as extreme)"
    return f"p = {est.pvalue:.3g}"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class ResultMixin:
    """``summary()``, a text ``repr`` and ``_repr_html_`` from ``to_frame()``; ``to_dict()``
    of a dataclass result. Override ``_summary_title`` and ``_summary_notes`` to add text.

    A dataclass result declares ``@dataclass(repr=False)`` (else the dataclass writes its
    own ``__repr__`` over the mixin's)."""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - each result defines it
        raise NotImplementedError(f"{type(self).__name__} must define to_frame().")

    def to_dict(self) -> dict[str, Any]:
        """Every dataclass field, with ``type`` the class name (see :func:`record_dict`)."""
        if not is_dataclass(self):
            raise NotImplementedError(f"{type(self).__name__} must define to_dict().")
        return record_dict(self, type(self).__name__)

    def _summary_title(self) -> str:
        return type(self).__name__

    def _summary_notes(self) -> list[str]:
        note = few_clusters_note(getattr(self, "diagnostics", None))
        return [note] if note else []

    def summary(self) -> SummaryText:
        """Title, the table of ``to_frame()`` and any notes, as text."""
        lines = [self._summary_title(), self.to_frame().to_string(), *self._summary_notes()]
        return SummaryText("\n".join(line for line in lines if line))

    def __repr__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self._summary_notes())
        return (f"<p><b>{html.escape(self._summary_title())}</b></p>"
                f"{self.to_frame().to_html(escape=True)}{notes}")


@dataclass(frozen=True, repr=False)
class Estimate(ResultMixin):
    """One estimated quantity with its uncertainty and provenance.

    Attributes
    ----------
    estimand: what is estimated, e.g. ``"ATT"`` or ``"ATT(2019, 2021)"``.
    estimate, se: the point estimate and its standard error.
    ci_low, ci_high: the confidence interval at level ``level``.
    pvalue: two-sided p-value of H0: estimand = 0.
    n: sample sizes by name, e.g. ``{"units": 500, "treated": 191, "clusters": 43}``.
    method: the estimator, e.g. ``"Callaway-Sant'Anna (2021), doubly robust"``.
    options: the options it was called with (control group, clustering, ...).
    diagnostics: anything else worth keeping (bandwidth, pre-trend test, ...); a
        ``"few_clusters"`` entry (see :func:`few_clusters_note`) is shown in the repr.
    """

    estimand: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float
    n: dict[str, int] = field(default_factory=dict)
    method: str = ""
    level: float = 0.95
    options: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_normal(
        cls,
        estimand: str,
        estimate: float,
        se: float,
        *,
        level: float = 0.95,
        df: float | None = None,
        **kwargs: Any,
    ) -> "Estimate":
        """Build an estimate with a Wald CI and p-value: t = b / se.

        With ``df`` the reference distribution is Student's t with ``df``
        degrees of freedom (e.g. G - 1 for G clusters), otherwise N(0, 1).
        """
        dist = stats.t(df) if df is not None else stats.norm()
        crit = float(dist.ppf(0.5 + level / 2))
        if se > 0 and math.isfinite(se):
            p = float(2 * dist.sf(abs(estimate / se)))
        else:
            p = float("nan")
        return cls(
            estimand=estimand,
            estimate=float(estimate),
            se=float(se),
            ci_low=float(estimate - crit * se),
            ci_high=float(estimate + crit * se),
            pvalue=p,
            level=level,
            **kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (used by ``evaltools.report.record``)."""
        return {"type": "estimate", **asdict(self)}

    def to_frame(self) -> pd.DataFrame:
        """One row: estimand, estimate, se, ci_low, ci_high, pvalue and the n's."""
        row = {
            "estimand": self.estimand,
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "pvalue": self.pvalue,
            **{f"n_{k}": v for k, v in self.n.items()},
        }
        return pd.DataFrame([row]).set_index("estimand")

    def _lines(self) -> list[str]:
        pct = f"{self.level:.0%}"
        ns = ", ".join(f"{k}={v:,}" for k, v in self.n.items())
        lines = [
            f"{self.estimand}: {self.estimate:.4g} (SE {self.se:.4g})",
            f"  {pct} CI [{self.ci_low:.4g}, {self.ci_high:.4g}], {pvalue_text(self)}",
        ]
        if ns:
            lines.append(f"  n: {ns}")
        if self.method:
            lines.append(f"  method: {self.method}")
        if self.options:
            opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
            lines.append(f"  options: {opts}")
        lines.extend(f"  {note}" for note in self._summary_notes())
        return lines

    def summary(self) -> SummaryText:
        """The estimate, its interval, the sample, the method, the options and any note."""
        return SummaryText("\n".join(self._lines()))

    def __repr__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        head, *rest = self._lines()
        items = "".join(f"<br>{html.escape(line.strip())}" for line in rest)
        return f"<p><b>{html.escape(head)}</b>{items}</p>"
