"""Figures: one style, labels in both languages, Latvian letters render, counts protected."""
from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaltools.estimate.result import Estimate  # noqa: E402
from evaltools.report.figures import (  # noqa: E402
    FigureInputError,
    coef_plot,
    event_study_plot,
    mdes_plot,
    use_style,
)

LATVIAN = "āčēģīķļņšūž ĀČĒĢĪĶĻŅŠŪŽ"


def _render_warnings(fig) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]


def test_latvian_letters_render_without_missing_glyphs():
    use_style()
    fig, ax = plt.subplots()
    ax.set_title(f"Skolēnu īpatsvars: {LATVIAN}")
    ax.set_xlabel("Ģimeņu ienākumi, eiro")
    assert _render_warnings(fig) == []
    # the check can fail: a glyph DejaVu Sans lacks does warn
    fig2, ax2 = plt.subplots()
    ax2.set_title("\u4e2d\u6587")
    assert _render_warnings(fig2), "the missing-glyph check never fires"
    plt.close("all")


def test_coef_plot_labels_go_through_disclosure_control():
    ests = {"Zēni": Estimate.from_normal("a", 0.2, 0.05, n={"units": 500}),
            "Meitenes": Estimate.from_normal("b", 0.1, 0.06, n={"units": 7})}
    fig = coef_plot(ests, language="lv", unit="Punkti")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Zēni (n = 500)", "Meitenes (n < 10)"]  # first estimate on top
    assert ax.get_title(loc="left") == "Novērtētie efekti"  # the style puts titles on the left
    assert all("7" not in lab for lab in labels)
    # points and interval ends are the estimates
    line = ax.lines[0]
    np.testing.assert_allclose(sorted(line.get_xdata()), [0.1, 0.2])
    assert _render_warnings(fig) == []
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert any("," in t for t in ticks) and not any("." in t for t in ticks)


def test_event_study_plot_band_reference_and_languages():
    frame = pd.DataFrame({"event_time": [-3, -2, 0, 1, 2], "estimate": [0.01, -0.02, 0.3, 0.35, 0.4]})
    frame["ci_low"] = frame["estimate"] - 0.1
    frame["ci_high"] = frame["estimate"] + 0.1
    fig = event_study_plot(frame, language="en")
    ax = fig.axes[0]
    line = [ln for ln in ax.lines if len(ln.get_xdata()) > 1][0]
    assert list(line.get_xdata()) == [-3, -2, -1, 0, 1, 2]  # reference period added at zero
    assert line.get_ydata()[2] == 0.0
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx(0.5) and band[:, 1].min() == pytest.approx(-0.12)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "95% confidence interval", "Estimate", "Reference period"]
    assert ax.get_xlabel() == "Periods since the programme started"
    fig_lv = event_study_plot({k: Estimate.from_normal(str(k), 0.1 * k, 0.05) for k in (-2, 0, 1)}, language="lv")
    assert fig_lv.axes[0].get_xlabel() == "Periodi kopš programmas sākuma"
    assert _render_warnings(fig_lv) == []
    with pytest.raises(FigureInputError, match=r"columns \['ci_low'\] are not in the data"):
        event_study_plot(frame.drop(columns="ci_low"))


def test_mdes_plot_from_the_inference_curve():
    from evaltools.inference import mdes_curve

    curve = mdes_curve("cluster2", range(10, 80, 10), icc=0.15, cluster_size=25)
    fig = mdes_plot(curve, expected=0.2, language="lv")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), curve.sort_values("units")["mdes"])
    assert ax.get_legend().get_texts()[0].get_text() == "Sagaidāmais efekts (0,20)"
    assert ax.get_xlabel() == "Skolu skaits"
    with pytest.raises(FigureInputError, match="column 'mdes' is not in the curve"):
        mdes_plot(curve.rename(columns={"mdes": "m"}))


def test_event_study_plot_takes_estimator_results():
    from dataclasses import dataclass

    @dataclass
    class EventStudyLike:  # the shape of evaltools.estimate.diff_in_diff.event_time's result
        estimates: dict
        ref: int

    ests = {k: Estimate.from_normal(str(k), 0.2 * (k >= 0), 0.05) for k in (-3, -2, 0, 1)}
    ests[-2] = Estimate("ref", 0.0, float("nan"), float("nan"), float("nan"), float("nan"))
    fig = event_study_plot(EventStudyLike(ests, ref=-2), language="en")
    ax = fig.axes[0]
    line = [ln for ln in ax.lines if len(ln.get_xdata()) > 1][0]
    assert list(line.get_xdata()) == [-3, -2, 0, 1]  # the result's own reference period
    band = ax.collections[0].get_paths()[0].vertices
    assert np.isclose(band[:, 0], -2).any()  # the band reaches the reference period

    @dataclass
    class AggregatedLike:  # the shape of att_gt(...).aggregate("dynamic")
        table: pd.DataFrame

    table = pd.DataFrame({"event_time": [-1, 0, 1], "estimate": [0.0, 0.1, 0.2],
                          "ci_low": [-0.1, 0.0, 0.1], "ci_high": [0.1, 0.2, 0.3]})
    fig = event_study_plot(AggregatedLike(table), reference=None, language="lv")
    xs = [ln for ln in fig.axes[0].lines if len(ln.get_xdata()) > 1][0].get_xdata()
    assert list(xs) == [-1, 0, 1]


def _protected_series():
    from evaltools.report.disclosure import protect

    frame = pd.DataFrame({"pupils": [120, 4, 80, 60], "rate": [1.5, 25.0, 2.5, 3.0]},
                         index=pd.Index([2019, 2020, 2021, 2022], name="year"))
    return protect(frame, counts=["pupils"], denominators={"rate": "pupils"}, total_row=None, total_col=None,
                   threshold=10)


def test_publish_figure_refuses_small_group_labels_and_saves(tmp_path, monkeypatch):
    from evaltools.report.disclosure import DisclosureError
    from evaltools.report.figures import assert_figure_safe, publish_figure
    from evaltools.report.record import RUN_DIR_ENV, clear

    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    clear()
    data = _protected_series()
    fig, ax = plt.subplots()
    ax.bar(["Rīga", "Cēsis"], [3.1, 2.7])
    ax.set_xticks([0, 1], ["Rīga (n = 1\u00a0250)", "Cēsis (n = 7)"])
    with pytest.raises(DisclosureError, match="shows a group of 7"):
        publish_figure(fig, "bad", data=data)
    assert not (tmp_path / "figures" / "bad.png").exists() and not (tmp_path / "figures" / "bad.svg").exists()
    ax.set_xticks([0, 1], ["Rīga (n = 1\u00a0250)", "Cēsis (n < 10)"])
    published = publish_figure(fig, "by_city", data=data)
    assert published.path == tmp_path / "figures" / "by_city.png" and published.path.stat().st_size > 1000
    assert published.svg == tmp_path / "figures" / "by_city.svg" and published.svg.read_bytes().startswith(b"<?xml")
    ok = coef_plot({"a": Estimate.from_normal("a", 1, 1, n={"units": 3})})
    assert_figure_safe(ok)  # coef_plot labels small groups as "n < 10"
    clear()
    plt.close("all")


def test_publish_figure_needs_its_protected_data_and_records_it(tmp_path, monkeypatch):
    import json

    from IPython.core.interactiveshell import InteractiveShell

    from evaltools.report.disclosure import DisclosureError, protect
    from evaltools.report.figures import FIGURE_META, line_plot, publish_figure
    from evaltools.report.record import RUN_DIR_ENV, clear

    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    clear()
    data = _protected_series()
    fig = line_plot(data, x="year", y="rate", language="en")
    for bad in (None, data.data, {"a": data.data}, {}):
        with pytest.raises(FigureInputError, match="data= must be the ProtectedTable"):
            publish_figure(fig, "trend", data=bad)
    low = protect(data.data.fillna(0).astype({"pupils": "int64"}), counts=["pupils"], total_row=None,
                  total_col=None, threshold=5)
    with pytest.raises(DisclosureError, match="threshold 5"):
        publish_figure(fig, "trend", data=low, threshold=10)
    published = publish_figure(fig, "trend", data=data)
    results = json.loads((tmp_path / "results.json").read_text())
    table = results["figure.trend"]["value"]
    assert table["type"] == "protected_table" and table["data"][1][1:] == ["[c]", "[c]"]
    formatted, meta = InteractiveShell.instance().display_formatter.format(published)
    assert "image/png" in formatted and meta["image/png"][FIGURE_META]["name"] == "trend"
    assert meta["image/png"][FIGURE_META]["records"] == ["figure.trend"]
    clear()
    plt.close("all")


def test_line_plot_draws_only_visible_points():
    from evaltools.report.figures import line_plot

    fig = line_plot(_protected_series(), x="year", y="rate", language="lv")
    y = fig.axes[0].lines[0].get_ydata()
    assert np.isnan(y[1]) and list(np.asarray(y)[[0, 2, 3]]) == [1.5, 2.5, 3.0]  # 25 % of 4 pupils: not drawn
    plt.close("all")


def test_interval_and_coef_plots_leave_hidden_rows_out():
    from evaltools.report.figures import estimates_table, interval_plot

    ests = {"lieli": Estimate.from_normal("a", 1.0, 0.2, n={"units": 40}),
            "mazi": Estimate.from_normal("b", 5.0, 2.0, n={"units": 4}),
            "vidēji": Estimate.from_normal("c", 2.0, 0.3, n={"units": 12})}
    table = estimates_table(ests, n_key="units", threshold=10)
    assert list(table.hidden["estimate"]) == [False, True, False] and table.hidden.at["mazi", "ci_high"]
    fig = coef_plot(table, language="lv")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 2 and not any("mazi" in x for x in labels)
    fig = interval_plot(table, estimate="estimate", ci_low="ci_low", ci_high="ci_high", language="en")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["lieli", "vidēji"]  # sorted by value
    with pytest.raises(FigureInputError, match="no n\\['people'\\]"):
        estimates_table(ests, n_key="people")
    plt.close("all")


def test_render_refuses_an_image_not_published_with_its_data():
    import nbformat

    from evaltools.report.figures import FIGURE_META
    from evaltools.report.render import UnprotectedTableError, UnpublishedFigureError, check_figures_published

    def cell(tags, meta):
        c = nbformat.v4.new_code_cell("plot()")
        c.metadata["tags"] = tags
        c.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
                                            metadata=meta)]
        return c

    published = {"image/png": {FIGURE_META: {"name": "trend", "records": ["figure.trend"]}}}
    nb = nbformat.v4.new_notebook(cells=[cell([], published), cell(["researcher"], {}), cell([], {})])
    with pytest.raises(UnpublishedFigureError, match=r"nb\.ipynb: cell\(s\) 2 show a figure") as err:
        check_figures_published(nb, "nb.ipynb")
    assert isinstance(err.value, UnprotectedTableError)  # the runner fails the run as a disclosure problem
    nb.cells = nb.cells[:2]
    check_figures_published(nb, "nb.ipynb")  # published figure and a researcher cell: fine


def test_balance_plot_shows_visible_differences_with_wwc_bands():
    from evaltools.report.figures import balance_plot
    from evaltools.report.tables import balance_table

    rng = np.random.default_rng(0)
    d = pd.DataFrame({"t": np.repeat([0, 1], 200), "vecums": rng.normal(13, 2, 400),
                      "ienākumi": rng.normal(0, 1, 400), "reti": np.nan})
    d.loc[d.index[:5], "reti"] = 1.0  # five comparison pupils: hidden in the table
    d.loc[d.index[200:260], "reti"] = 2.0
    bal = balance_table(d, ["vecums", "ienākumi", "reti"], "t", language="lv")
    assert np.isnan(bal.data.at["reti", "std_diff"])
    fig = balance_plot(bal, language="lv")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["ienākumi", "vecums"]  # first variable on top; the hidden one left out
    np.testing.assert_allclose(ax.lines[-1].get_xdata(),
                               bal.data["std_diff"].dropna().iloc[::-1].to_numpy())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["|d| ≤ 0,05: grupas līdzvērtīgas", "0,05 < |d| ≤ 0,25: jākoriģē modelī"]
    assert _render_warnings(fig) == []
    with pytest.raises(FigureInputError, match="no column 'std_diff'"):
        balance_plot(pd.DataFrame({"x": [1.0]}))


def test_publish_figure_writes_png_at_print_resolution_and_svg_the_same_on_rerun(tmp_path, monkeypatch):
    import time

    from evaltools.report.figures import FIGURE_META, PRINT_SCALE, line_plot, publish_figure
    from evaltools.report.record import RUN_DIR_ENV, clear

    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    clear()
    try:
        data = _protected_series()
        first = publish_figure(line_plot(data, x="year", y="rate", language="lv"), "trend", data=data)
        png, svg = first.path.read_bytes(), first.svg.read_bytes()
        time.sleep(1.1)  # an SVG date would be to the second
        again = publish_figure(line_plot(data, x="year", y="rate", language="lv"), "trend", data=data)
        assert again.path.read_bytes() == png and again.svg.read_bytes() == svg
        assert first.files == (tmp_path / "figures" / "trend.png", tmp_path / "figures" / "trend.svg")
        assert b"<dc:date>" not in svg and b"tIME" not in png  # no date in either file
        _, meta = first._repr_mimebundle_()
        shown = meta["image/png"]  # shown at half the PNG's pixels: the PNG is for print
        assert FIGURE_META in shown and shown["width"] > 500
        px = int.from_bytes(png[16:20], "big")
        assert PRINT_SCALE == 2 and px == pytest.approx(PRINT_SCALE * shown["width"], abs=2)
        with pytest.raises(FigureInputError, match="scale"):
            publish_figure(line_plot(data, x="year", y="rate"), "trend", data=data, scale=0)
    finally:
        clear()
        plt.close("all")


def test_a_log_axis_shows_plain_numbers_in_the_language_not_mathtext_powers():
    import matplotlib.pyplot as plt

    from evaltools.report.figures import localise_ticks

    fig, ax = plt.subplots()
    ax.scatter([12, 150, 2400, 31000], [0.1, 0.2, 0.3, 0.4])
    ax.set_xscale("log")
    fig.canvas.draw()
    assert any("10^" in t.get_text() or "mathdefault" in t.get_text() for t in ax.get_xticklabels())  # the default
    localise_ticks(fig, "lv")
    fig.canvas.draw()
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    plt.close(fig)
    assert shown and not any("$" in s or "^" in s for s in shown), shown
    assert "1000" not in shown and ("1\u00a0000" in shown or "2\u00a0000" in shown or "5\u00a0000" in shown), shown
