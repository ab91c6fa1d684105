"""evaltools.core: the result protocol, the error hierarchy and the input checks."""
from __future__ import annotations

import ast
import importlib
import warnings
from dataclasses import dataclass

import pandas as pd
import pytest

from evaltools.core import errors
from evaltools.core.errors import (
    ColumnNotFoundError,
    EvaltoolsError,
    EvaltoolsWarning,
    InputError,
    InputTypeError,
)
from evaltools.core.inputs import as_list, require_columns, require_frame, show
from evaltools.core.result import Estimate, Result, ResultMixin, SummaryText, few_clusters_note
from tests import ROOT

SRC = ROOT / "src" / "evaltools"
FEW = {"clusters": 12, "note": "only 12 schools, so the cluster-robust SE may be too small.",
       "alternative": {"method": "CR2 (Bell-McCaffrey)", "se": 0.61, "ci_low": -0.3, "ci_high": 2.3,
                       "pvalue": 0.12}}


# --- errors ----------------------------------------------------------------------------


def _exception_classes() -> list[tuple[str, str]]:
    """(module, class) of every class in src/evaltools that derives from an exception or warning."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(("evaltools", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and any(
                    ast.unparse(b).split(".")[-1].endswith(("Error", "Exception", "Warning"))
                    for b in node.bases):
                found.append((module, node.name))
    return found


def test_every_public_error_class_is_an_evaltools_error_and_keeps_its_builtin_base() -> None:
    classes = _exception_classes()
    assert len(classes) >= 40  # the scan finds them (45 when this test was written)
    outside = []
    for module, name in classes:
        cls = getattr(importlib.import_module(module), name)
        if name.startswith("_") or name == "RunInterrupted" or module == "evaltools.core.errors":
            continue  # private control flow; RunInterrupted is a BaseException on purpose;
            # the categories themselves are checked below
        if issubclass(cls, Warning):
            ok = issubclass(cls, EvaltoolsWarning) and issubclass(cls, UserWarning)
        else:
            ok = issubclass(cls, EvaltoolsError) and issubclass(cls, (ValueError, KeyError, RuntimeError))
        if not ok:
            outside.append(f"{module}.{name}{cls.__mro__[1:3]}")
    assert not outside, outside


def test_run_interrupted_is_not_caught_by_except_exception() -> None:
    from evaltools.run.lifecycle import RunInterrupted

    assert not issubclass(RunInterrupted, Exception)


def test_old_error_names_are_the_categories_and_keep_their_behaviour() -> None:
    from evaltools.report.disclosure import ColumnNotFoundError as DisclosureColumnError
    from evaltools.report.disclosure import DisclosureError, DisclosureInputError
    from evaltools.standards import InputError as StandardsInputError

    assert StandardsInputError is InputError and DisclosureError is errors.DisclosureError
    assert DisclosureColumnError is ColumnNotFoundError
    assert issubclass(DisclosureInputError, InputError) and issubclass(DisclosureInputError, ValueError)
    # a KeyError-based error reads as a sentence, not as a quoted key
    assert str(ColumnNotFoundError("The outcome column 'y' is not in the data.")) == (
        "The outcome column 'y' is not in the data.")
    for category in (errors.InputError, errors.DataError, errors.ParamsError, errors.DisclosureError,
                     errors.PrivacyError):
        assert issubclass(category, EvaltoolsError) and issubclass(category, ValueError)


# --- input checks ----------------------------------------------------------------------


def test_as_list_and_show() -> None:
    import numpy as np

    assert as_list(None) == [] and as_list("a") == ["a"] and as_list(("a", "b")) == ["a", "b"]
    assert show(np.int64(7)) == "7" and show("x") == "'x'"


def test_require_columns_names_role_column_and_what_is_there() -> None:
    df = pd.DataFrame({"score": [1.0], "school": [1]})
    assert require_columns(df, {"outcome": "score", "cluster": None}) is df
    with pytest.raises(KeyError, match=r"^The outcome column 'y' is not in the data; "
                                       r"available columns: score, school\.$"):
        require_columns(df, {"outcome": "y"})
    with pytest.raises(ColumnNotFoundError, match=r"The covariates columns \['a', 'b'\] are not in the data"):
        require_columns(df, {"covariates": ["score", "a", "b"]})
    with pytest.raises(ColumnNotFoundError,
                       match=r"^did_table\(\): The columns \['post'\] are not.*Name it with post=\.$"):
        require_columns(df, ["score", "post"], where="did_table", hint="Name it with post=.")


def test_require_columns_raises_the_callers_error_class() -> None:
    class TableError(InputError, ValueError):
        pass

    df = pd.DataFrame({"a": [1]})
    with pytest.raises(TableError):
        require_columns(df, ["b"], error=TableError)
    with pytest.raises(TableError, match="data must be a pandas DataFrame, got list"):
        require_columns([1, 2], ["a"], type_error=TableError)


def test_require_frame_is_a_type_error_and_an_input_error() -> None:
    with pytest.raises(TypeError, match="got dict") as info:
        require_frame({"a": [1]})
    assert isinstance(info.value, InputTypeError) and isinstance(info.value, InputError)


def test_long_column_lists_are_cut() -> None:
    df = pd.DataFrame({f"c{i}": [0] for i in range(25)})
    with pytest.raises(ColumnNotFoundError, match=r"c19 and 5 more\.$"):
        require_columns(df, {"outcome": "y"})


# --- results ---------------------------------------------------------------------------


def test_estimate_follows_the_protocol_without_a_note_by_default() -> None:
    e = Estimate.from_normal("ATT", 1.0, 0.5, n={"units": 100})
    assert isinstance(e, Result)
    assert "Few clusters" not in repr(e) and "Few clusters" not in e._repr_html_()
    assert str(e.summary()) == repr(e)
    assert e.to_frame().loc["ATT", "estimate"] == 1.0 and e.to_dict()["type"] == "estimate"


def test_estimate_shows_the_few_clusters_note_everywhere() -> None:
    e = Estimate.from_normal("ATT", 1.0, 0.5, n={"clusters": 12}, diagnostics={"few_clusters": FEW})
    line = few_clusters_note(e.diagnostics)
    assert line is not None and line.startswith("Few clusters (12): only 12 schools")
    assert "CR2 (Bell-McCaffrey): SE 0.61, CI [-0.3, 2.3], p = 0.12." in line
    assert line in repr(e) and line in str(e.summary())
    assert "Few clusters (12)" in e._repr_html_()
    assert e.to_dict()["diagnostics"]["few_clusters"]["clusters"] == 12
    # the estimate itself is unchanged by the note
    plain = Estimate.from_normal("ATT", 1.0, 0.5, n={"clusters": 12})
    assert (e.estimate, e.se, e.ci_low, e.ci_high) == (plain.estimate, plain.se, plain.ci_low, plain.ci_high)


def test_few_clusters_note_tolerates_partial_entries() -> None:
    assert few_clusters_note({}) is None and few_clusters_note(None) is None
    assert few_clusters_note({"few_clusters": {"clusters": 8}}) == (
        "Few clusters (8): cluster-robust inference may be too optimistic.")
    partial = few_clusters_note({"few_clusters": {"alternative": {"method": "wild bootstrap", "pvalue": 0.2}}})
    assert partial == "Few clusters: cluster-robust inference may be too optimistic. wild bootstrap: p = 0.2."


def test_repr_html_escapes_text_from_data() -> None:
    e = Estimate.from_normal("<svg onload=alert(1)>", 1.0, 0.5)
    assert "<svg" not in e._repr_html_() and "&lt;svg" in e._repr_html_()


@dataclass(frozen=True, repr=False)  # repr=False: the mixin's text repr, not the dataclass's
class _Shares(ResultMixin):
    table: pd.DataFrame
    diagnostics: dict

    def to_frame(self) -> pd.DataFrame:
        return self.table


def test_mixin_gives_summary_repr_html_and_dict() -> None:
    r = _Shares(pd.DataFrame({"share": [0.25]}, index=pd.Index(["<b>x</b>"], name="group")),
                {"few_clusters": {"clusters": 9}})
    assert isinstance(r, Result)
    text = r.summary()
    assert isinstance(text, SummaryText) and repr(text) == str(text)  # shown as text in a notebook
    assert text.splitlines()[0] == "_Shares" and "0.25" in text and "Few clusters (9)" in text
    assert repr(r) == str(text)
    html = r._repr_html_()
    assert "<table" in html and "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    d = r.to_dict()
    assert d["type"] == "_Shares" and d["diagnostics"] == {"few_clusters": {"clusters": 9}}


def test_estimate_under_its_old_name_is_the_same_class() -> None:
    from evaltools.estimate import Estimate as Lazy
    from evaltools.estimate.result import Estimate as Old

    assert Old is Estimate and Lazy is Estimate


def test_importing_the_errors_costs_no_heavy_import() -> None:
    import subprocess
    import sys

    code = ("import sys; import evaltools.core.errors, evaltools.core; "
            "print(any(m in sys.modules for m in ('pandas', 'scipy', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_evaltools_warning_filters_every_warning() -> None:
    from evaltools.estimate.diff_in_diff._cs_estimators import EstimationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", EvaltoolsWarning)
        warnings.warn("x", EstimationWarning)
        warnings.warn("y", UserWarning)
    assert [str(w.message) for w in caught] == ["y"]
