"""Tables for the funder report: models side by side, balance, difference-in-differences.

Every table that leaves this module has been through disclosure control
(:mod:`evaltools.report.disclosure`). :func:`publish_table` is the one door out:
it protects a table, shows it as styled HTML, writes it as CSV, Excel and LaTeX into
:func:`evaltools.report.record.output_dir` (the run's ``tables/``) and records it in
``results.json``. The files are byte-identical when the same run is repeated: Excel's
document times and the times inside its zip archive are fixed (:data:`FIXED_TIME`).
HTML output is self-contained: a ``<style>`` block scoped to the table, no
external fonts or scripts.
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaltools.core.errors import InputError
from evaltools.core.inputs import require_columns
from evaltools.report import i18n
from evaltools.report.disclosure import (
    ATTR,
    DEPENDENT,
    DisclosureInputError,
    ProtectedTable,
    assert_safe,
    get_threshold,
    protect,
    safe_count,
)
from evaltools.report.escape import plain, spreadsheet_text
from evaltools.report.headline import as_estimate, is_estimate
from evaltools.report.html import html_table
from evaltools.report.record import output_dir, record

if TYPE_CHECKING:  # evaltools.estimate loads every estimator: import it only when needed
    from evaltools.core.result import Estimate

STAR_LEVELS: tuple[float, ...] = (0.10, 0.05, 0.01)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

#: Time written into exported files that carry one (Excel's document properties and zip
#: entries), so that a rerun writes the same bytes.
FIXED_TIME = (2000, 1, 1, 0, 0, 0)
#: The formats :func:`publish_table` writes, in order.
TABLE_FORMATS: tuple[str, ...] = ("csv", "xlsx", "tex")


class TableInputError(InputError, ValueError):
    """Data or options a table cannot be built from."""


# -- several models side by side ---------------------------------------------------------


@dataclass(frozen=True)
class ModelTable:
    """Estimates of several models side by side: coefficient, (SE), stars, N rows.

    ``tidy`` has one row per model and term (estimate, se, ci_low, ci_high,
    pvalue); ``n`` the sample sizes (rows: kind of unit, columns: models).
    """

    tidy: pd.DataFrame
    n: pd.DataFrame
    stars: bool = False
    star_levels: tuple[float, ...] = STAR_LEVELS
    digits: int = 3
    threshold: int = 10
    caption: str | None = None
    language: str | None = None
    term_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.tidy["model"]))

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(self.tidy["term"]))

    def display_frame(self, language: str | None = None) -> pd.DataFrame:
        """Strings as printed: ``0,123**`` over ``(0,045)``, then the N rows (protected)."""
        lang = i18n.check_language(language or self.language)
        rows: dict[tuple[str, str], dict[str, str]] = {}
        for term in self.terms:
            label = self.term_labels.get(term, term)
            est_row, se_row = {}, {}
            for m in self.models:
                hit = self.tidy[(self.tidy["model"] == m) & (self.tidy["term"] == term)]
                if hit.empty:
                    est_row[m] = se_row[m] = ""
                    continue
                r = hit.iloc[0]
                est_row[m] = i18n.number(r["estimate"], lang, self.digits) + self._stars(r["pvalue"])
                se_row[m] = f"({i18n.number(r['se'], lang, self.digits)})"
            rows[(label, "estimate")] = est_row
            rows[(label, "se")] = se_row
        for kind in self.n.index:
            rows[(_n_label(kind, lang), "n")] = {
                m: safe_count(self.n.at[kind, m], self.threshold, lang)
                if pd.notna(self.n.at[kind, m]) else ""
                for m in self.models
            }
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index = pd.MultiIndex.from_tuples(out.index)
        return out.reindex(columns=self.models)

    def notes(self, language: str | None = None) -> list[str]:
        lang = i18n.check_language(language or self.language)
        out = [i18n.text("table.se_note", lang)]
        if self.stars:
            legend = "; ".join(
                "*" * (k + 1) + " p < " + i18n.number(a, lang, 2)
                for k, a in enumerate(sorted(self.star_levels, reverse=True))
            )
            out.append(i18n.text("table.stars_note", lang, legend=legend))
        if self._n_hidden():
            out.append(i18n.text("sdc.footnote_below", lang, threshold=self.threshold))
        return out

    def to_frame(self) -> pd.DataFrame:
        """The tidy table, one row per model and term, with the N's (small ones marked)."""
        out = self.tidy.copy()
        mark = i18n.text("sdc.marker", self.language)
        for kind in self.n.index:
            out[f"n_{kind}"] = [
                _protected_n(self.n.at[kind, m], self.threshold, mark) for m in out["model"]
            ]
        out.attrs[ATTR] = {
            "counts": [f"n_{k}" for k in self.n.index],
            "threshold": self.threshold,
            "round_to": None,
            "total_row": None,
            "total_col": None,
            "marker": mark,
        }
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"type": "model_table", "table": self.to_frame()}

    def _repr_html_(self) -> str:
        return html_table(
            self.display_frame(), caption=self.caption, notes=self.notes(), hide_index_level=1
        )

    def __repr__(self) -> str:
        shown = self.display_frame()
        shown.index = [a if b != "se" else "" for a, b in shown.index]
        return f"ModelTable: {len(self.models)} models, {len(self.terms)} terms\n{shown.to_string()}"

    def _stars(self, p: float) -> str:
        if not self.stars or p is None or not math.isfinite(p):
            return ""
        return "*" * sum(p < a for a in self.star_levels)

    def _n_hidden(self) -> bool:
        v = self.n.to_numpy(dtype=float)
        return bool(((v > 0) & (v < self.threshold)).any())


def model_table(
    models: Mapping[str, Estimate | Sequence[Estimate]] | Sequence[Estimate],
    *,
    terms: Mapping[str, str] | None = None,
    stars: bool = False,
    star_levels: Sequence[float] = STAR_LEVELS,
    digits: int = 3,
    n: Sequence[str] | None = None,
    threshold: int | None = None,
    caption: str | None = None,
    language: str | None = None,
) -> ModelTable:
    """Put several models' estimates side by side.

    ``models`` maps a column title to an :class:`Estimate` or a list of them (one
    per term, the term being ``Estimate.estimand``; an estimator's result object
    stands for its headline ``.estimate``); a plain list gives columns
    ``(1), (2), ...``. ``terms`` relabels terms; ``n`` picks which of the
    Estimates' ``n`` entries to show (default: all, in order of appearance).
    """
    if is_estimate(models) or not isinstance(models, (Mapping, Sequence)):
        raise TableInputError(
            "model_table() needs a mapping {column title: Estimate or list of Estimates} or a list "
            f"of Estimates, got {type(models).__name__}."
        )
    if not isinstance(models, Mapping):
        models = {f"({k + 1})": est for k, est in enumerate(models)}
    if not models:
        raise TableInputError("model_table(): no models given.")
    records, ns = [], {}
    for title, ests in models.items():
        ests = list(ests) if isinstance(ests, (list, tuple)) else [ests]
        counts: dict[str, int] = {}
        for item in ests:
            est = as_estimate(item)
            if est is None:
                raise TableInputError(
                    f"model_table(): model {title!r} holds a {type(item).__name__}; each entry must "
                    "be an evaltools Estimate or a result holding one in .estimate."
                )
            records.append(
                {"model": str(title), "term": est.estimand, "estimate": est.estimate, "se": est.se,
                 "ci_low": est.ci_low, "ci_high": est.ci_high, "pvalue": est.pvalue, "method": est.method}
            )
            for k, v in est.n.items():
                counts.setdefault(k, v)
        ns[str(title)] = counts
    n_frame = pd.DataFrame(ns)
    if n is not None:
        n_frame = n_frame.reindex(list(n))
    return ModelTable(
        tidy=pd.DataFrame(records),
        n=n_frame,
        stars=stars,
        star_levels=tuple(star_levels),
        digits=digits,
        threshold=get_threshold() if threshold is None else threshold,
        caption=caption,
        language=language,
        term_labels=dict(terms or {}),
    )


# -- balance ---------------------------------------------------------------------------

_BALANCE_COLUMNS = {"n_t": "n_treated", "n_c": "n_comparison", "mean_t": "mean_treated", "sd_t": "sd_treated",
                    "mean_c": "mean_comparison", "sd_c": "sd_comparison", "diff": "difference",
                    "norm_diff": "std_diff", "pvalue": "pvalue"}


def balance_table(
    result: Any,
    *args: Any,
    adjusted: bool = True,
    labels: Mapping[str, str] | None = None,
    show_sd: bool = False,
    threshold: int | None = None,
    digits: int = 2,
    caption: str | None = None,
    language: str | None = None,
    weights: str | None = None,
) -> ProtectedTable:
    """The balance table of :func:`evaltools.estimate.balance_table`'s ``result``, formatted and
    protected: N, mean (and SD) per group, difference, standardised difference, p-value.

    Nothing is recomputed: the statistics, their SD convention (the pooled SD of the sample
    before weighting, see :mod:`evaltools.estimate.matching_weighting.balance_checks`) and the p-values (regression,
    clustered when the result was) are the estimator's. ``adjusted``: with weights, show the
    weighted sample (default) or the sample before weighting. Means of groups below the
    threshold, and shares of a 0/1 covariate whose count in either group is a small non-zero
    number, are hidden with what they would reveal. SDs are shown with ``show_sd=True``.

    The old form ``balance_table(data, covariates, treatment, weights=...)`` still works for one
    release (DeprecationWarning): it calls the estimator first.
    """
    if isinstance(result, pd.DataFrame):
        result = _deprecated_balance(result, *args, weights=weights)
    elif args or weights is not None:
        raise TableInputError("balance_table() formats a result of evaltools.estimate.balance_table(); pass the "
                              "options by name (labels=, caption=, ...), the data and weights to the estimator.")
    if not (hasattr(result, "table") and hasattr(result, "result")):
        raise TableInputError(f"balance_table() needs the result of evaltools.estimate.balance_table(data, treatment, "
                              f"covariates, ...); got {type(result).__name__}.")
    stats, ones = result.result(adjusted)
    lang = i18n.check_language(language)
    frame = stats[list(_BALANCE_COLUMNS)].rename(columns=_BALANCE_COLUMNS).astype(float)
    frame["k_treated"] = ones["k_t"].to_numpy(float) if ones is not None else np.nan
    frame["k_comparison"] = ones["k_c"].to_numpy(float) if ones is not None else np.nan
    frame = frame.astype({"n_treated": "int64", "n_comparison": "int64"})
    if labels:
        frame.index = pd.Index([labels.get(c, c) for c in frame.index])
    frame.index.name = "variable"  # a code: results.json is the same in every language; the label is shown
    both = ("n_treated", "n_comparison")
    p = protect(
        frame,
        counts=["n_treated", "n_comparison", "k_treated", "k_comparison"],
        denominators={"mean_treated": "n_treated", "sd_treated": "n_treated",
                      "mean_comparison": "n_comparison", "sd_comparison": "n_comparison",
                      "difference": both, "std_diff": both, "pvalue": both},
        # for a 0/1 covariate the SD reveals the mean: both follow the group's count
        numerators={"mean_treated": "k_treated", "sd_treated": "k_treated",
                    "mean_comparison": "k_comparison", "sd_comparison": "k_comparison"},
        threshold=threshold,
        round_to=None,
        total_row=None,
        total_col=None,
        caption=caption,
        language=lang,
        digits={**{c: digits for c in frame.columns}, "pvalue": 3},
        labels={**{c: i18n.text(f"balance.{c}", lang) for c in frame.columns if not c.startswith("k_")},
                "variable": i18n.text("balance.variable", lang)},
        notes=(i18n.text("balance.note_clustered" if result.options.get("cluster") else "balance.note", lang),),
    )
    # a difference would reveal a hidden mean: hide it with the mean
    p = _hide_with(p, ["difference", "std_diff", "pvalue"], ["mean_treated", "mean_comparison"])
    helpers = ["k_treated", "k_comparison"] + ([] if show_sd else ["sd_treated", "sd_comparison"])
    return p.drop(helpers)


def _deprecated_balance(data: pd.DataFrame, covariates: Sequence[str] = (), treatment: str | None = None,
                        weights: str | None = None) -> Any:
    """The old call ``balance_table(data, covariates, treatment, weights=)``: the estimator's result."""
    import warnings

    warnings.warn("report.balance_table(data, covariates, treatment) is deprecated: compute the balance with "
                  "evaltools.estimate.balance_table(data, treatment, covariates, cluster=..., weights=...) and pass "
                  "its result to report.balance_table(result, ...).", DeprecationWarning, stacklevel=3)
    if treatment is None:
        raise TableInputError("balance_table(data, covariates, treatment): name the treatment column.")
    covariates = list(covariates)
    require_columns(data, [*covariates, treatment] + ([weights] if weights else []), where="balance_table",
                    type_error=TableInputError)
    _binary(data[treatment], treatment)
    for cov in covariates:
        if pd.to_numeric(data[cov], errors="coerce").notna().sum() == 0:
            raise TableInputError(f"balance_table(): covariate {cov!r} has no numeric values.")
    # the report layer computes nothing: the deprecated form calls the estimator (a higher layer
    # importing a lower one, only on this path)
    from evaltools.estimate.matching_weighting.balance_checks import balance_table as estimate_balance

    return estimate_balance(data, treatment, covariates, weights=weights, missing="drop")


# -- difference-in-differences ----------------------------------------------------------------


def did_table(
    data: pd.DataFrame,
    outcome: str,
    treated: str,
    post: str,
    *,
    estimate: Estimate | None = None,
    threshold: int | None = None,
    digits: int = 2,
    caption: str | None = None,
    language: str | None = None,
) -> ProtectedTable:
    """The 2x2 table of means: groups by period, changes, and the difference-in-differences.

    Bottom-right cell: ``(Y_1,post - Y_1,pre) - (Y_0,post - Y_0,pre)``. Pass the
    regression estimate (with its SE and CI) as ``estimate``; it is shown as a note.
    """
    require_columns(data, [outcome, treated, post], where="did_table", type_error=TableInputError)
    lang = i18n.check_language(language)
    g = _binary(data[treated], treated)
    t = _binary(data[post], post)
    y = pd.to_numeric(data[outcome], errors="coerce")
    ok = y.notna() & g.notna() & t.notna()
    cell = {(a, b): y[ok & (g == a) & (t == b)] for a in (0, 1) for b in (0, 1)}
    before, after, change = (i18n.text(k, lang) for k in ("did.before", "did.after", "did.change"))
    n_before = i18n.text("did.n_suffix", lang, period=before)
    n_after = i18n.text("did.n_suffix", lang, period=after)
    rows = {}
    for a, key in ((1, "did.treated"), (0, "did.comparison")):
        mb, ma = cell[(a, 0)].mean(), cell[(a, 1)].mean()
        rows[i18n.text(key, lang)] = {before: mb, after: ma, change: ma - mb,
                                   n_before: len(cell[(a, 0)]), n_after: len(cell[(a, 1)])}
    t_row, c_row = list(rows)
    diff_label = i18n.text("did.difference", lang)
    rows[diff_label] = {k: rows[t_row][k] - rows[c_row][k] for k in (before, after, change)}
    rows[diff_label].update({n_before: np.nan, n_after: np.nan})
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = i18n.text("did.group", lang)
    notes = [i18n.text("did.note", lang)]
    if estimate is not None:
        notes.append(
            i18n.text("did.estimate_row", lang) + ": "
            + i18n.text("headline.effect_value", lang, effect=i18n.number(estimate.estimate, lang, digits),
                     unit="", level=i18n.percent(estimate.level, lang),
                     ci_low=i18n.number(estimate.ci_low, lang, digits),
                     ci_high=i18n.number(estimate.ci_high, lang, digits)).replace("  ", " ")
        )
    p = protect(
        frame,
        counts=[n_before, n_after],
        denominators={before: n_before, after: n_after, change: (n_before, n_after)},
        threshold=threshold,
        round_to=None,
        total_row=None,
        total_col=None,
        caption=caption,
        language=lang,
        digits={c: digits for c in frame.columns},
        notes=tuple(notes),
    )
    # the difference row reveals whatever the group rows hide
    status = p.status.copy()
    for col in (before, after, change):
        if (status.loc[[t_row, c_row], col] != "").any():
            status.at[diff_label, col] = DEPENDENT
    if (status.loc[[t_row, c_row], [before, after, change]] != "").any().any():
        status.at[diff_label, change] = DEPENDENT
    return _with_status(p, status)


# -- publishing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedTable:
    """A table as it left the report layer: shown, exported and recorded. ``files`` are the
    CSV and Excel files (in that order), ``latex`` the LaTeX file; :attr:`exports` all three."""

    name: str
    table: ProtectedTable | ModelTable
    files: tuple[Path, ...] = ()
    latex: Path | None = None

    @property
    def exports(self) -> tuple[Path, ...]:
        """Every file written for the table: CSV, Excel, LaTeX."""
        return self.files + ((self.latex,) if self.latex is not None else ())

    def to_frame(self) -> pd.DataFrame:
        return self.table.to_frame()

    def _repr_html_(self) -> str:
        return self.table._repr_html_()

    def __repr__(self) -> str:
        where = ", ".join(str(f) for f in self.exports) or "not exported"
        return f"PublishedTable {self.name!r} ({where})\n{self.table!r}"


def publish_table(
    table: pd.DataFrame | ProtectedTable | ModelTable,
    name: str,
    *,
    counts: Sequence[Hashable] | None = None,
    denominators: Mapping[Hashable, Any] | None = None,
    numerators: Mapping[Hashable, Hashable] | None = None,
    threshold: int | None = None,
    round_to: int | None | str = "default",
    caption: str | None = None,
    language: str | None = None,
    export: bool = True,
    record_it: bool = True,
    **protect_options: Any,
) -> PublishedTable:
    """Protect ``table``, export it as ``<name>.csv``, ``<name>.xlsx`` and ``<name>.tex``,
    record it, show it.

    A DataFrame goes through :func:`~evaltools.report.disclosure.protect` with the
    options given; a :class:`ProtectedTable` or :class:`ModelTable` is already
    protected. Files go to :func:`evaltools.report.record.output_dir` (see
    :func:`export_table`); the same table gives the same bytes on every run.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise TableInputError(
            f"publish_table(): name {name!r} must be a file-name-safe word (letters, digits, "
            "'_', '-', '.'), e.g. 'balance_baseline'."
        )
    if isinstance(table, pd.DataFrame):
        table = protect(
            table, counts, denominators=denominators, numerators=numerators, threshold=threshold,
            round_to=round_to, caption=caption, language=language, **protect_options,
        )
    elif isinstance(table, (ProtectedTable, ModelTable)):
        given = [k for k, v in (("counts", counts), ("denominators", denominators), ("numerators", numerators),
                                ("threshold", threshold)) if v is not None]
        given += ["round_to"] if round_to != "default" else []
        given += sorted(protect_options)
        if given:
            raise TableInputError(
                f"publish_table(): {', '.join(given)} apply to a raw DataFrame; this "
                f"{type(table).__name__} is already protected (set them where it was built)."
            )
        if caption is not None:
            table = replace(table, caption=caption)
        if language is not None:
            table = replace(table, language=language)
    else:
        raise TableInputError(
            f"publish_table() takes a DataFrame, ProtectedTable or ModelTable, got {type(table).__name__}."
        )
    assert_safe(table.to_frame())  # the last gate: nothing small leaves, nothing recoverable
    files: tuple[Path, ...] = ()
    latex = None
    if export:
        *files, latex = export_table(table, name)
        files = tuple(files)
    if record_it:
        record(name, table, label=plain(table.caption) if table.caption else None)
    return PublishedTable(name=name, table=table, files=files, latex=latex)


def export_table(table: ProtectedTable | ModelTable, name: str, folder: Path | None = None) -> tuple[Path, ...]:
    """Write a protected table as ``<name>.csv``, ``<name>.xlsx`` and ``<name>.tex`` into
    ``folder`` (default :func:`~evaltools.report.record.output_dir`); returns the paths.

    CSV (UTF-8 with a BOM, so Excel reads ā, č, ē) and Excel hold the published numbers
    with the display labels as column names, hidden cells as the marker; LaTeX holds the
    table as the report shows it (numbers formatted for the language), every LaTeX special
    character of the data escaped (:func:`latex_text`). No file depends on the time or
    the machine: a rerun writes the same bytes.
    """
    folder = output_dir() if folder is None else Path(folder)
    frame = _export_frame(table)
    paths = tuple(folder / f"{name}.{ext}" for ext in TABLE_FORMATS)
    csv, xlsx, tex = paths
    csv.write_bytes(frame.to_csv(lineterminator="\n").encode("utf-8-sig"))
    xlsx.write_bytes(excel_bytes(frame, sheet_name=name[:31]))
    tex.write_bytes(latex_table(table).encode("utf-8"))
    return paths


def excel_bytes(frame: pd.DataFrame, sheet_name: str = "Sheet1") -> bytes:
    """``frame`` as an .xlsx file whose bytes depend on the frame only: the document's
    created/modified times and every zip entry's time are :data:`FIXED_TIME`, entries in
    the order openpyxl writes them."""
    import datetime

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name=sheet_name)
        props = writer.book.properties
        props.created = props.modified = datetime.datetime(*FIXED_TIME)
        props.creator = props.lastModifiedBy = "evaltools"
    return _fixed_zip(buffer.getvalue())


_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _fixed_zip(data: bytes) -> bytes:
    """The same zip archive with fixed entry times (openpyxl stamps each entry with the
    current time, and its writer sets ``modified`` to now on save)."""
    stamp = "%04d-%02d-%02dT%02d:%02d:%02dZ" % FIXED_TIME
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_TIMES.sub(lambda m: m.group(1) + stamp.encode() + m.group(3), content)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, content)
    return out.getvalue()


#: LaTeX's special characters and their text-mode forms.
_LATEX = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
          "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX))


def latex_text(value: Any) -> str:
    """Text from data as LaTeX text: ``& % $ # _ { } ~ ^ \\`` become their escaped forms,
    so a name can never run as a LaTeX command."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], str(value))


def latex_table(table: ProtectedTable | ModelTable, language: str | None = None) -> str:
    """The table as the report shows it, as a LaTeX ``table`` (booktabs rules): caption,
    formatted numbers, hidden cells as the marker, the notes below. Every cell, label,
    caption and note is escaped with :func:`latex_text`."""
    shown = table.display_frame(language)
    if isinstance(table, ModelTable):  # the SE line has no label of its own
        shown.index = pd.Index([a if b != "se" else "" for a, b in shown.index])
        notes = table.notes(language)
    else:
        notes = table.footnotes(language)

    def esc_index(index: pd.Index) -> pd.Index:
        if isinstance(index, pd.MultiIndex):
            out = index.set_levels([lvl.map(latex_text) for lvl in index.levels])
        else:
            out = index.map(lambda v: latex_text("" if v is None else v))
        return out.set_names([None if n is None else latex_text(n) for n in index.names])

    body = shown.astype(object).where(shown.notna(), "").map(latex_text)
    body.index, body.columns = esc_index(shown.index), esc_index(shown.columns)
    caption = latex_text(plain(table.caption)) if table.caption else None
    tex = body.to_latex(escape=False, caption=caption, position="htbp", column_format=None)
    if notes:
        lines = "\n".join(r"\par\footnotesize " + latex_text(plain(n)) for n in notes)
        tex = tex.replace(r"\end{table}", lines + "\n" + r"\end{table}")
    return tex


def _export_frame(table: ProtectedTable | ModelTable) -> pd.DataFrame:
    """The frame written to CSV and Excel; text that a spreadsheet would run as a formula
    (a name starting with ``=``, ``+``, ``-``, ``@``) is kept as text (see
    :func:`evaltools.report.escape.spreadsheet_text`)."""
    frame = table.to_frame()
    if isinstance(table, ProtectedTable) and table.labels:
        frame = table.labelled(frame)
    return _inert_for_spreadsheets(frame)


def _inert_for_spreadsheets(frame: pd.DataFrame) -> pd.DataFrame:
    def cell(v: Any) -> Any:
        return spreadsheet_text(v) if isinstance(v, str) else v

    def labels(index: pd.Index) -> pd.Index:
        if isinstance(index, pd.MultiIndex):
            out = index.set_levels([lvl.map(cell) for lvl in index.levels])
        else:
            out = index.map(cell)
        return out.set_names([cell(n) for n in index.names])

    out = frame.copy()
    text = [c for c in out.columns if out[c].dtype == object]
    if text:
        out[text] = out[text].map(cell)
    out.index = labels(frame.index)
    out.columns = labels(frame.columns)
    return out


# -- helpers ---------------------------------------------------------------------------------


def _n_label(kind: Hashable, language: str) -> str:
    key = f"n.{kind}"
    return i18n.text(key, language) if i18n.has(key) else i18n.text("n.other", language, name=kind)


def _protected_n(v: Any, threshold: int, mark: str) -> Any:
    if v is None or pd.isna(v):
        return None
    return mark if 0 < v < threshold else int(v)


def _binary(s: pd.Series, name: str) -> pd.Series:
    values = set(pd.unique(s.dropna()))
    if not values <= {0, 1, True, False}:
        shown = sorted(map(str, values))[:6]
        raise TableInputError(
            f"Column {name!r} must be 0/1 (or True/False) to define the groups; found {shown}."
        )
    if len(values) < 2:
        raise TableInputError(f"Column {name!r} has only the value {values}; both groups are needed.")
    return s.astype("float")


def _hide_with(p: ProtectedTable, columns: Sequence[str], sources: Sequence[str]) -> ProtectedTable:
    status = p.status.copy()
    mask = (status[list(sources)] != "").any(axis=1)
    for c in columns:
        status.loc[mask & (status[c] == ""), c] = DEPENDENT
    return _with_status(p, status)


def _with_status(p: ProtectedTable, status: pd.DataFrame) -> ProtectedTable:
    data = p.data.copy()
    for c in data.columns:
        data.loc[status[c] != "", c] = np.nan
    return replace(p, data=data, status=status)
