"""Several models side by side, as ``etable`` (pyfixest, fixest) and ``esttab`` (Stata) do.

:func:`compare_models` takes evaltools results (an :class:`~evaltools.core.result.Estimate`,
a result whose ``.estimate`` is one, or a list of Estimates), statsmodels regression
results and pyfixest fits, and returns a :class:`ModelComparison`: per term the effect
(or coefficient) with optional stars, its standard error or confidence interval below;
then the sample sizes, the fixed effects and the fit of each model::

    from evaltools.report import compare_models
    table = compare_models({"OLS": ols, "school FE": fe, "TWFE": twfe_result}, stars=True)
    table                       # HTML in a notebook (great-tables), disclosure-safe
    table.to_latex(); table.to_markdown(); table.to_docx("models.docx")

The coefficient rows and the counts are those of :class:`evaltools.report.tables.ModelTable`
(one implementation of the layout): numbers in the report's language, N and cluster
counts below the disclosure threshold shown as ``<10`` (:func:`~evaltools.report.disclosure.safe_count`)
in every output, and ``to_dict()`` records the protected table for ``results.json``.
The tables are drawn by great-tables (HTML, LaTeX) and python-docx (Word); Markdown is a
pipe table. Nothing is estimated here: the numbers are the fits' own.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaltools.report import i18n
from evaltools.report.disclosure import get_threshold
from evaltools.report.headline import as_estimate, is_estimate
from evaltools.report.tables import STAR_LEVELS, ModelTable, TableInputError

# Row labels of the lower block (no catalogue keys exist for these yet).
_LABELS = {
    "lv": {"fe": "Fiksētie efekti: {name}", "yes": "jā", "r2": "R²", "adj_r2": "Koriģētais R²",
           "r2_within": "R² (iekšējais)", "pseudo_r2": "Pseido R²", "ci_note": "Iekavās – {level} ticamības intervāli.",
           "obs": "Novērojumi"},
    "en": {"fe": "Fixed effects: {name}", "yes": "yes", "r2": "R²", "adj_r2": "Adjusted R²",
           "r2_within": "Within R²", "pseudo_r2": "Pseudo R²", "ci_note": "{level} confidence intervals in brackets.",
           "obs": "Observations"},
}
FIT_STATS = ("r2", "adj_r2", "r2_within", "pseudo_r2")


@dataclass(frozen=True)
class Model:
    """One column: its Estimates (one per term), fixed effects and fit statistics."""

    estimates: list[Any]
    fixed_effects: tuple[str, ...] = ()
    fit: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class ModelComparison:
    """Models side by side (see the module docstring); made by :func:`compare_models`."""

    table: ModelTable
    fixed_effects: Mapping[str, tuple[str, ...]]
    fit: Mapping[str, Mapping[str, float]]
    show: str = "se"
    level: float = 0.95

    # -- the table as strings -------------------------------------------------------------
    def display_frame(self, language: str | None = None) -> pd.DataFrame:
        """Strings as printed: per term the estimate (stars) over its (SE) or [CI]; N and
        clusters (protected); a row per fixed effect; the fit statistics."""
        lang = i18n.check_language(language or self.table.language)
        shown = self.table.display_frame(lang)
        models = self.table.models
        if self.show == "ci":
            tidy = self.table.tidy
            for term in self.table.terms:
                label = self.table.term_labels.get(term, term)
                row = {}
                for m in models:
                    hit = tidy[(tidy["model"] == m) & (tidy["term"] == term)]
                    row[m] = "" if hit.empty else (f"[{i18n.number(hit.iloc[0]['ci_low'], lang, self.table.digits)}; "
                                                   f"{i18n.number(hit.iloc[0]['ci_high'], lang, self.table.digits)}]")
                shown.loc[(label, "se"), :] = pd.Series(row)
        words = _LABELS[lang]
        extra: dict[tuple[str, str], dict[str, str]] = {}
        for name in dict.fromkeys(f for m in models for f in self.fixed_effects.get(m, ())):
            extra[(words["fe"].format(name=name), "fe")] = {
                m: words["yes"] if name in self.fixed_effects.get(m, ()) else "" for m in models}
        for stat in FIT_STATS:
            values = {m: self.fit.get(m, {}).get(stat) for m in models}
            if any(v is not None and math.isfinite(v) for v in values.values()):
                extra[(words[stat], "fit")] = {
                    m: i18n.number(v, lang, 3) if v is not None and math.isfinite(v) else "" for m, v in values.items()}
        if extra:
            more = pd.DataFrame.from_dict(extra, orient="index").reindex(columns=models)
            more.index = pd.MultiIndex.from_tuples(more.index)
            shown = pd.concat([shown, more])
        return shown

    def notes(self, language: str | None = None) -> list[str]:
        lang = i18n.check_language(language or self.table.language)
        out = self.table.notes(lang)
        if self.show == "ci":
            out[0] = _LABELS[lang]["ci_note"].format(level=i18n.percent(self.level, lang))
        return out

    def _rows(self, language: str | None = None) -> pd.DataFrame:
        """One column of row labels (blank under an estimate) and one per model."""
        shown = self.display_frame(language)
        labels = [label if kind != "se" else "" for label, kind in shown.index]
        out = shown.reset_index(drop=True)
        out.insert(0, " ", labels)
        return out

    def _gt(self, language: str | None = None) -> Any:
        from great_tables import GT

        table = GT(self._rows(language), rowname_col=" ")
        if self.table.caption:
            table = table.tab_header(title=self.table.caption)
        for note in self.notes(language):
            table = table.tab_source_note(note)
        return table

    # -- outputs ----------------------------------------------------------------------------
    def to_html(self, language: str | None = None) -> str:
        """Self-contained HTML (great-tables; every text escaped), marked as a protected table."""
        return f'<div class="evt-table" style="overflow-x: auto; max-width: 100%;">{self._gt(language).as_raw_html()}</div>'

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_latex(self, language: str | None = None) -> str:
        """A LaTeX ``table`` (great-tables; needs booktabs and caption)."""
        return self._gt(language).as_latex()

    def to_markdown(self, language: str | None = None) -> str:
        """A pipe table, the caption above it and the notes below."""
        rows = self._rows(language)

        def cell(text: Any) -> str:
            return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

        lines = [f"**{cell(self.table.caption)}**", ""] if self.table.caption else []
        lines.append("| " + " | ".join(cell(c) for c in rows.columns) + " |")
        lines.append("|" + "|".join([":---"] + ["---:"] * (len(rows.columns) - 1)) + "|")
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows.itertuples(index=False)]
        lines += ["", *[cell(n) for n in self.notes(language)]]
        return "\n".join(lines) + "\n"

    def to_docx(self, path: str | Path, language: str | None = None) -> Path:
        """A Word document holding the table (python-docx): caption, table, notes."""
        from docx import Document

        rows = self._rows(language)
        doc = Document()
        doc.core_properties.created = doc.core_properties.modified = pd.Timestamp("2000-01-01").to_pydatetime()
        if self.table.caption:
            doc.add_paragraph(self.table.caption, style="Caption")
        grid = doc.add_table(rows=len(rows) + 1, cols=len(rows.columns))
        grid.style = "Table Grid"
        for j, name in enumerate(rows.columns):
            grid.cell(0, j).text = str(name).strip()
        for i, row in enumerate(rows.itertuples(index=False), start=1):
            for j, value in enumerate(row):
                grid.cell(i, j).text = str(value)
        for note in self.notes(language):
            doc.add_paragraph(note)
        path = Path(path)
        doc.save(path)
        return path

    def write(self, path: str | Path, language: str | None = None) -> Path:
        """Write by the file's extension: .html, .tex, .md or .docx."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".docx":
            return self.to_docx(path, language)
        makers = {".html": self.to_html, ".tex": self.to_latex, ".md": self.to_markdown}
        if suffix not in makers:
            raise TableInputError(f"{path.name}: write() makes .html, .tex, .md or .docx files, not {suffix or 'none'}.")
        path.write_text(makers[suffix](language), encoding="utf-8")
        return path

    # -- the result protocol ------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The tidy table: one row per model and term, the counts protected (ModelTable.to_frame)."""
        return self.table.to_frame()

    def to_dict(self) -> dict[str, Any]:
        return self.table.to_dict()

    def summary(self) -> str:
        shown = self.display_frame()
        shown.index = [label if kind != "se" else "" for label, kind in shown.index]
        return "\n".join([shown.to_string(), *self.notes()])

    def __repr__(self) -> str:
        return f"ModelComparison: {len(self.table.models)} models\n{self.summary()}"


def compare_models(
    results: Mapping[str, Any] | Sequence[Any],
    *,
    terms: Mapping[str, str] | Sequence[str] | None = None,
    show: str = "se",
    stars: bool = False,
    star_levels: Sequence[float] = STAR_LEVELS,
    digits: int = 3,
    level: float = 0.95,
    threshold: int | None = None,
    caption: str | None = None,
    language: str | None = None,
) -> ModelComparison:
    """Put several results side by side.

    ``results`` maps a column title to a result, or is a list (columns ``(1)``, ``(2)``, ...).
    A result is an evaltools Estimate, a result holding one in ``.estimate``, a list of
    Estimates, a statsmodels regression result or a pyfixest fit. ``terms`` picks and orders
    the terms shown (a list) or also relabels them (a mapping term -> label); by default every
    term of every model. ``show`` is ``"se"`` (standard errors in parentheses) or ``"ci"``
    (``level`` confidence intervals in brackets, as the fits computed them). Counts below
    ``threshold`` (default: the notebook's disclosure threshold) are shown as ``<threshold``.
    """
    if show not in ("se", "ci"):
        raise TableInputError(f"compare_models(): show must be 'se' or 'ci', got {show!r}.")
    if isinstance(results, Mapping):
        named = {str(k): v for k, v in results.items()}
    elif isinstance(results, Sequence) and not isinstance(results, str) and not is_estimate(results):
        named = {f"({i + 1})": v for i, v in enumerate(results)}
    else:
        raise TableInputError("compare_models() needs a mapping {column title: result} or a list of results, "
                              f"got {type(results).__name__}.")
    if not named:
        raise TableInputError("compare_models(): no results given.")
    models = {title: _model(title, res, level) for title, res in named.items()}
    wanted = list(terms) if terms is not None else None
    columns: dict[str, list[Any]] = {}
    for title, model in models.items():
        ests = [e for e in model.estimates if wanted is None or e.estimand in wanted]
        if wanted is not None:
            ests.sort(key=lambda e: wanted.index(e.estimand))
        columns[title] = ests
    from evaltools.report.tables import model_table

    table = model_table(columns, terms=dict(terms) if isinstance(terms, Mapping) else None, stars=stars,
                        star_levels=star_levels, digits=digits,
                        threshold=get_threshold() if threshold is None else threshold, caption=caption,
                        language=language)
    if wanted is not None:
        order = {t: i for i, t in enumerate(wanted)}
        table = _reordered(table, order)
    return ModelComparison(table, {t: m.fixed_effects for t, m in models.items()},
                           {t: dict(m.fit) for t, m in models.items()}, show, level)


def _reordered(table: ModelTable, order: Mapping[str, int]) -> ModelTable:
    from dataclasses import replace

    tidy = table.tidy.assign(_o=table.tidy["term"].map(order)).sort_values(["_o"], kind="stable").drop(columns="_o")
    return replace(table, tidy=tidy.reset_index(drop=True))


# --- reading the fits ----------------------------------------------------------------------

def _model(title: str, res: Any, level: float) -> Model:
    if hasattr(res, "tidy") and hasattr(res, "_fixef"):
        return _pyfixest(res, level)
    if hasattr(res, "params") and hasattr(res, "bse") and hasattr(res, "model"):
        return _statsmodels(res, level)
    items = list(res) if isinstance(res, (list, tuple)) else [res]
    ests = [as_estimate(item) for item in items]
    if not ests or any(e is None for e in ests):
        raise TableInputError(
            f"compare_models(): model {title!r} is a {type(res).__name__}; give an evaltools result (or its "
            ".estimate), a list of Estimates, a statsmodels regression result or a pyfixest fit.")
    fe = tuple(str(f) for f in (ests[0].options or {}).get("fixed_effects", ()) or ())
    return Model(ests, fe)


def _estimate(term: str, b: float, se: float, lo: float, hi: float, p: float, n: dict[str, int],
              method: str, level: float) -> Any:
    from evaltools.core.result import Estimate

    return Estimate(estimand=str(term), estimate=float(b), se=float(se), ci_low=float(lo), ci_high=float(hi),
                    pvalue=float(p), n=n, method=method, level=level)


def _statsmodels(res: Any, level: float) -> Model:
    """A statsmodels regression result (OLS, WLS, GLM, Logit, ...): its own SEs, CIs and p-values."""
    ci = pd.DataFrame(res.conf_int(alpha=1 - level))
    n = {"observations": int(res.nobs)}
    groups = (getattr(res, "cov_kwds", None) or {}).get("groups")
    if groups is not None and str(getattr(res, "cov_type", "")).startswith("cluster"):
        n["clusters"] = int(len(np.unique(np.asarray(groups), axis=0)))
    params, bse, pvalues = pd.Series(res.params), pd.Series(res.bse), pd.Series(res.pvalues)
    method = f"statsmodels {type(res.model).__name__} ({getattr(res, 'cov_type', '')})"
    ests = [_estimate(t, params[t], bse[t], ci.loc[t].iloc[0], ci.loc[t].iloc[1], pvalues[t], n, method, level)
            for t in params.index]
    fit = {"r2": _num(getattr(res, "rsquared", None)), "adj_r2": _num(getattr(res, "rsquared_adj", None)),
           "pseudo_r2": _num(getattr(res, "prsquared", None))}
    return Model(ests, (), {k: v for k, v in fit.items() if v is not None})


def _pyfixest(res: Any, level: float) -> Model:
    """A pyfixest fit (feols, fepois): its tidy table, N, clusters, fixed effects and R²s."""
    tidy = res.tidy(alpha=1 - level) if "alpha" in _params(res.tidy) else res.tidy()
    lo_col, hi_col = tidy.columns[-2], tidy.columns[-1]
    n = {"observations": int(res._N)}
    clusters = getattr(res, "_G", None)
    if clusters:
        n["clusters"] = int(min(np.atleast_1d(clusters)))
    method = f"pyfixest {type(res).__name__} ({getattr(res, '_vcov_type', '')})"
    ests = [_estimate(t, r["Estimate"], r["Std. Error"], r[lo_col], r[hi_col], r["Pr(>|t|)"], n, method, level)
            for t, r in tidy.iterrows()]
    fe = tuple(f.strip() for f in str(res._fixef or "").replace("^", ":").split("+") if f.strip() and f != "0")
    fit = {"r2": _num(getattr(res, "_r2", None)), "adj_r2": _num(getattr(res, "_adj_r2", None)),
           "r2_within": _num(getattr(res, "_r2_within", None))}
    return Model(ests, fe, {k: v for k, v in fit.items() if v is not None})


def _params(func: Any) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return set()


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


__all__ = ["ModelComparison", "compare_models"]
