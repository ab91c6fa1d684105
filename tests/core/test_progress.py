"""Progress bars only where someone watches; bootstrap p-values of 0 shown as < 1/(B+1)."""
from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd
from evaltools.core import progress as progress_module
from evaltools.core.progress import PROGRESS_ENV, RUN_DIR_ENV, enabled, progress
from evaltools.core.result import Estimate, pvalue_text


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _terminal(monkeypatch) -> _Tty:
    """Standard error a terminal (patched in the test itself: pytest re-sets sys.stderr after
    the fixtures ran), no delay."""
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    monkeypatch.setenv(PROGRESS_ENV, "1")
    stream = _Tty()
    monkeypatch.setattr("sys.stderr", stream)
    monkeypatch.setattr(progress_module, "DELAY_S", 0.0)
    return stream


def test_a_bar_on_a_terminal(monkeypatch):
    terminal = _terminal(monkeypatch)
    assert enabled()
    for _ in progress(range(3), desc="bootstrap", unit="draw"):
        time.sleep(0.01)
    assert "bootstrap" in terminal.getvalue()


def test_no_bar_in_a_log_in_a_run_or_when_quiet(monkeypatch):
    _terminal(monkeypatch)
    monkeypatch.setenv(PROGRESS_ENV, "0")  # evaltools -q
    assert not enabled()
    monkeypatch.setenv(PROGRESS_ENV, "1")
    monkeypatch.setenv(RUN_DIR_ENV, "/tmp/run")  # inside evaltools run: the report would hold it
    assert not enabled()
    monkeypatch.delenv(RUN_DIR_ENV)
    log = io.StringIO()  # a pipe or a file: not a tty
    monkeypatch.setattr("sys.stderr", log)
    assert not enabled()
    list(progress(range(3), desc="bootstrap"))
    assert log.getvalue() == ""


def test_a_quick_loop_shows_nothing_even_on_a_terminal(monkeypatch):
    stream = _Tty()
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    monkeypatch.setenv(PROGRESS_ENV, "1")
    monkeypatch.setattr("sys.stderr", stream)
    list(progress(range(1000), desc="quick"))  # far below DELAY_S (1 s)
    assert stream.getvalue() == ""


def test_simulate_power_and_the_wild_bootstrap_draw_their_bars(monkeypatch):
    terminal = _terminal(monkeypatch)
    from evaltools.estimate import wild_cluster_bootstrap
    from evaltools.inference.simulation import simulate_power

    simulate_power(lambda rng: rng.normal(size=20), lambda x: Estimate.from_normal("m", x.mean(), 0.2),
                   n_sims=5, seed=1)
    assert "power simulation" in terminal.getvalue()
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"g": np.repeat(np.arange(20), 10), "x": rng.normal(size=200)})
    d["y"] = 0.3 * d["x"] + rng.normal(size=200)
    wild_cluster_bootstrap(d, "y", "x", cluster="g", n_boot=99, seed=1)
    assert "wild bootstrap" in terminal.getvalue()


def _wild(p: float, n_boot: int = 9999) -> Estimate:
    return Estimate("x", 0.5, 0.01, 0.48, 0.52, p, method="Wild cluster bootstrap-t, restricted (WCR), CRV1",
                    options={"n_boot": n_boot})


def test_a_bootstrap_p_value_of_zero_is_printed_as_below_one_over_b_plus_one():
    est = _wild(0.0)
    assert pvalue_text(est).startswith("p < 1/(B+1) = 0.0001")
    assert "B = 9,999" in repr(est) and "p = 0\n" not in repr(est) + "\n"
    assert est.to_dict()["pvalue"] == 0.0 and est.to_frame()["pvalue"].iloc[0] == 0.0  # the number stays
    assert pvalue_text(_wild(0.0123)) == "p = 0.0123"


def test_a_normal_p_value_of_zero_is_not_called_a_bootstrap_one():
    est = Estimate("x", 50.0, 0.01, 49.9, 50.1, 0.0, method="OLS, CR1", options={"n_boot": 999})
    assert pvalue_text(est) == "p = 0"


def test_the_wild_bootstrap_result_prints_the_bound(monkeypatch):
    from evaltools.estimate import wild_cluster_bootstrap

    rng = np.random.default_rng(3)
    d = pd.DataFrame({"g": np.repeat(np.arange(30), 20), "x": rng.normal(size=600)})
    d["y"] = 2.0 * d["x"] + rng.normal(size=600)
    res = wild_cluster_bootstrap(d, "y", "x", cluster="g", n_boot=999, weight_type="webb", seed=1)
    assert res.pvalue == 0.0
    assert "p < 1/(B+1) = 0.001 (none of B = 999 bootstrap draws as extreme)" in repr(res)
