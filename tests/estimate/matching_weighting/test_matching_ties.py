"""Nearest-neighbour matching: ties in data order, the Abadie-Imbens all-ties option,
no unit its own neighbour, MatchIt's within-arm Mahalanobis covariance.

References: a brute-force search written here (every distance, sorted by distance
then data position), and R ``Matching::Match(ties = TRUE)`` on the NSW treated +
PSID-1 sample (tests/fixtures/r_reference/matching_reference.csv, written by
matching_reference.R there; rerun live when R and Matching are installed).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaltools.estimate import match, propensity_score
from tests import FIXTURES
from tests.reference_data import SPEC, psid

REF = FIXTURES / "r_reference"
TOL = 1e-10


def brute_force(Zt, Zc, k, ties):
    """Pairs (treated position, control position) by exhaustive search."""
    out = []
    for i, z in enumerate(Zt):
        d = np.sqrt(((Zc - z) ** 2).sum(axis=1))
        order = np.lexsort((np.arange(len(d)), d))  # distance, then data order
        dk = d[order[k - 1]]
        if ties == "all":
            chosen = np.flatnonzero(d <= dk + TOL * max(1, dk))
        else:
            chosen = order[:k]
        out += [(i, j) for j in chosen]
    return sorted(out)


def tied_data(seed=0, n=400):
    """A score with many exact ties (two discrete covariates) and outcomes that differ within ties."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"a": rng.integers(0, 4, n), "b": rng.integers(0, 3, n)})
    d["t"] = (rng.random(n) < 1 / (1 + np.exp(1.2 - 0.4 * d.a - 0.3 * d.b))).astype(int)
    d["y"] = d.a + d.b + 2 * d.t + rng.normal(size=n)
    return d


def _pairs(m, d):
    t = {lab: i for i, lab in enumerate(d.index[d.t == 1])}
    c = {lab: j for j, lab in enumerate(d.index[d.t == 0])}
    return sorted((t[a], c[b]) for a, b in zip(m.pairs.treated, m.pairs.control))


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("ties", ["first", "all"])
def test_pairs_equal_brute_force_search(k, ties):
    d = tied_data()
    m = match(d, "y", "t", "a + b", k=k, ties=ties)
    z = m.pscore.logit.to_numpy()[:, None]
    ref = brute_force(z[d.t == 1], z[d.t == 0], k, ties)
    assert _pairs(m, d) == ref
    if ties == "all":
        assert len(ref) > k * (d.t == 1).sum()  # the data do have ties at the k-th distance


def test_data_order_decides_ties_and_nothing_else():
    """Reordering rows changes the chosen tied controls exactly as the data order says."""
    d = tied_data(1)
    rev = d.iloc[::-1]
    for frame in (d, rev):
        m = match(frame, "y", "t", "a + b", k=2)
        z = m.pscore.logit.to_numpy()[:, None]
        t, c = (frame.t == 1).to_numpy(), (frame.t == 0).to_numpy()
        assert _pairs(m, frame) == brute_force(z[t], z[c], 2, "first")
    # all-ties matching does not depend on the order at all
    a1 = match(d, "y", "t", "a + b", k=2, ties="all").estimate
    a2 = match(rev, "y", "t", "a + b", k=2, ties="all").estimate
    assert a1.estimate == pytest.approx(a2.estimate, rel=1e-12) and a1.se == pytest.approx(a2.se, rel=1e-12)


def test_without_replacement_takes_tied_controls_in_data_order():
    d = tied_data(2, 600)
    m = match(d, "y", "t", "a + b", replace=False)
    z = m.pscore.logit.to_numpy()
    t_pos, c_pos = np.flatnonzero(d.t == 1), np.flatnonzero(d.t == 0)
    free = np.ones(len(c_pos), bool)
    expect = []
    for i in np.argsort(-z[t_pos], kind="stable"):  # highest score first, ties in data order
        dist = np.where(free, np.abs(z[c_pos] - z[t_pos[i]]), np.inf)
        j = int(np.lexsort((np.arange(len(dist)), dist))[0])
        free[j] = False
        expect.append((int(i), j))
    assert _pairs(m, d) == sorted(expect)


def test_no_unit_is_its_own_variance_neighbour():
    """Duplicated comparison units: each one's same-arm neighbour is its twin, never itself,
    so the AI variance equals the brute-force formula (old code could pick the unit itself)."""
    rng = np.random.default_rng(5)
    xc = np.repeat(rng.normal(size=60), 2)  # every comparison unit has an exact twin
    xt = rng.normal(size=40)
    d = pd.DataFrame({"x": np.r_[xt, xc], "t": np.r_[np.ones(40), np.zeros(120)].astype(int)})
    d["y"] = d.x + d.t + rng.normal(size=len(d))
    m = match(d, "y", "t", ["x"], distance="mahalanobis", variance_neighbours=1)
    yc = d.y[d.t == 0].to_numpy()
    twin = np.arange(120) ^ 1  # 0<->1, 2<->3, ...
    s2 = 0.5 * (yc - yc[twin]) ** 2
    K = m.weights[d.t == 0].to_numpy()
    L = m.pairs.groupby("control").weight.apply(lambda w: (w**2).sum()).reindex(d.index[d.t == 0], fill_value=0)
    y0 = m.pairs.assign(yc=d.y.loc[m.pairs.control].to_numpy() * m.pairs.weight).groupby("treated").yc.sum()
    diffs = d.y.loc[y0.index] - y0
    var = (((diffs - diffs.mean()) ** 2).sum() + ((K**2 - L.to_numpy()) * s2).sum()) / len(diffs) ** 2
    assert m.estimate.se == pytest.approx(np.sqrt(var), rel=1e-12)
    assert m.pairs.treated.isin(d.index[d.t == 1]).all() and m.pairs.control.isin(d.index[d.t == 0]).all()


def test_mahalanobis_within_arm_covariance_as_matchit():
    d = tied_data(3)
    d["x"] = d.a * 0.7 + np.random.default_rng(3).normal(size=len(d))
    X = d[["x", "b"]].to_numpy(float)
    t = d.t.to_numpy()
    Xc = X.copy()
    for a in (0, 1):
        Xc[t == a] -= Xc[t == a].mean(axis=0)
    S_within = Xc.T @ Xc / (len(X) - 2)
    for conv, S in [("within", S_within), ("pooled", np.cov(X, rowvar=False))]:
        m = match(d, "y", "t", ["x", "b"], distance="mahalanobis", mahalanobis_cov=conv)
        Z = X @ np.linalg.cholesky(np.linalg.inv(S))
        assert _pairs(m, d) == brute_force(Z[t == 1], Z[t == 0], 1, "first"), conv
    w, p = (match(d, "y", "t", ["x", "b"], distance="mahalanobis", mahalanobis_cov=c).pairs for c in ("within", "pooled"))
    assert not w.equals(p)  # the two conventions do pick different neighbours here


def test_bad_options_are_clear_errors():
    d = tied_data()
    with pytest.raises(ValueError, match="ties must be"):
        match(d, "y", "t", "a + b", ties="random")
    with pytest.raises(ValueError, match="needs replace=True"):
        match(d, "y", "t", "a + b", ties="all", replace=False)
    with pytest.raises(ValueError, match="give cluster="):
        match(d, "y", "t", "a + b", vcov="CR2")
    with pytest.raises(ValueError, match="mahalanobis_cov"):
        match(d, "y", "t", ["a", "b"], distance="mahalanobis", mahalanobis_cov="treated")


# --------------------------------------------------------------------------- R Matching
def _psid_scores() -> pd.DataFrame:
    d = psid()
    return d.assign(lps=propensity_score(d, "treat", SPEC).logit.to_numpy())[["treat", "re78", "lps"]]


def write_r_input(path: Path) -> None:
    """The input of matching_reference.R."""
    _psid_scores().to_csv(path, index=False)


def test_all_ties_matches_r_matching_on_psid():
    d = _psid_scores()
    ref = pd.read_csv(REF / "matching_reference.csv")
    for r in ref.itertuples():
        # one score column as a 1-D Mahalanobis distance: the same neighbours as the score itself
        m = match(d, "re78", "treat", ["lps"], distance="mahalanobis", k=int(r.k), ties="all",
                  variance_neighbours=int(r.variance_neighbours))
        assert m.estimate.estimate == pytest.approx(r.att, rel=1e-9)
        assert m.estimate.se == pytest.approx(r.se, rel=1e-9)
        assert len(m.pairs) == r.n_pairs


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed (apt-get install r-base-core "
                    "r-cran-matching); the stored reference values are checked by the test above")
def test_r_matching_reference_is_current(tmp_path):
    write_r_input(tmp_path / "in.csv")
    run = subprocess.run(["Rscript", str(REF / "matching_reference.R"), "in.csv", "out.csv"], cwd=tmp_path,
                         capture_output=True, text=True)
    if "there is no package called" in run.stderr:
        pytest.skip("R package Matching is not installed (r-cran-matching)")
    assert run.returncode == 0, run.stderr
    new, old = pd.read_csv(tmp_path / "out.csv"), pd.read_csv(REF / "matching_reference.csv")
    np.testing.assert_allclose(new.to_numpy(float), old.to_numpy(float), rtol=1e-10)
