"""Response-rate bands of the quality_monitoring dashboard (evaltools.studies.quality_monitoring.bands):
more schools' wellbeing shown, and no small count of respondents or non-respondents derivable
from the published tables. The attacker here is written independently of the module: one linear
programme over every published number (no blocks, no screening), min and max of every hidden count."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from evaltools.studies.quality_monitoring import bands, dashboard

THRESHOLD = 10


def _world(seed: int = 11, munis: int = 6, schools: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raw dashboard frames (wellbeing only) of ``munis`` municipalities of ``schools`` schools:
    teachers answer at 85-99 %, so most schools have 1-9 non-respondents; a few small schools."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(munis):
        for s in range(schools):
            n_t = int(rng.choice([6, 15, 25, 40, 60, 90]))
            r_t = min(n_t, int(round(n_t * rng.uniform(0.85, 0.99))))
            n_p = int(rng.integers(30, 400))
            r_p = int(round(n_p * rng.uniform(0.6, 0.97)))
            rows.append({"school": f"School {m}-{s}", "municipality": f"Muni {m}", "region": "R", "year": 2023,
                         "pupils_surveyed": n_p, "pupils_respondents": r_p, "teachers_surveyed": n_t,
                         "teachers_respondents": r_t})
    raw = pd.DataFrame(rows).set_index(["school", "municipality", "region", "year"])
    counts = list(raw.columns)
    muni = raw[counts].groupby(level="municipality").sum()
    muni.index = pd.MultiIndex.from_tuples([(m, "R", 2023) for m in muni.index], names=["municipality", "region", "year"])
    total = pd.DataFrame([raw[counts].sum()], index=pd.MultiIndex.from_tuples([("Latvija", "Latvija", 2023)],
                                                                              names=muni.index.names))
    muni = pd.concat([muni, total])

    def finish(f: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=f.index)
        for who in bands.WELLBEING:
            n, r = f[f"{who}_surveyed"], f[f"{who}_respondents"]
            out[f"{who}_surveyed"], out[f"{who}_respondents"] = n.astype("int64"), r.astype("int64")
            out[f"{who}_response_pct"] = 100 * r / n
            out[f"{who}_wellbeing"] = 60 + 0.01 * r  # any mean
            out[f"{who}_wellbeing_weighted"] = 61 + 0.01 * r
        return out

    return finish(raw), finish(muni)


def _published(schools, munis, raw_s, raw_m, *, width: int = bands.WIDTH):
    out = dashboard.protect_national(raw_s, raw_m, [], total_label="Latvija", threshold=THRESHOLD)
    return out, bands.apply(out[dashboard.NAMES[0]], out[dashboard.NAMES[1]], raw_s, raw_m, threshold=THRESHOLD,
                            total_row=out[dashboard.NAMES[1]].total_row, width=width)


def _attack(schools, munis, who: str) -> list[str]:
    """Every hidden respondents', non-respondents' and surveyed count of ``who`` whose range
    under the published numbers holds small counts only (the attacker's rule)."""
    resp, surv = f"{who}_respondents", f"{who}_surveyed"
    low, high = bands.columns(who)
    rows = [("s", r) for r in schools.data.index] + [("m", r) for r in munis.data.index]
    t = {"s": schools, "m": munis}
    m = len(rows)
    at = {r: i for i, r in enumerate(rows)}
    bounds = []
    for k, r in rows:  # respondents
        v = t[k].data.at[r, resp]
        if t[k].status.at[r, resp] == "":
            bounds.append((v, v))
        elif t[k].status.at[r, low] == "" and t[k].status.at[r, surv] == "":
            n = t[k].data.at[r, surv]
            bounds.append((t[k].data.at[r, low] * n / 100, t[k].data.at[r, high] * n / 100))
        else:
            bounds.append((0, None))
    for k, r in rows:  # surveyed
        v = t[k].data.at[r, surv]
        bounds.append((v, v) if t[k].status.at[r, surv] == "" else (0, None))
    eq = []
    school_muni = schools.data.index.get_level_values("municipality")
    total = munis.total_row
    for r in munis.data.index:
        parts = ([("s", s) for s, mm in zip(schools.data.index, school_muni) if mm == r[0]] if r != total
                 else [("m", x) for x in munis.data.index if x != total])
        for off in (0, m):
            row = np.zeros(2 * m)
            for p in parts:
                row[at[p] + off] = 1
            row[at[("m", r)] + off] = -1
            eq.append(row)
    ub = np.hstack([np.eye(m), -np.eye(m)])
    leaks = []
    for k, r in rows:
        i = at[(k, r)]
        targets = []
        if t[k].status.at[r, resp] != "":
            c = np.zeros(2 * m)
            c[i] = 1
            targets.append(("respondents", c))
            c = np.zeros(2 * m)
            c[i + m], c[i] = 1, -1
            targets.append(("non-respondents", c))
        if t[k].status.at[r, surv] != "":
            c = np.zeros(2 * m)
            c[i + m] = 1
            targets.append(("surveyed", c))
        for what, c in targets:
            ends = []
            for sign in (1, -1):
                res = linprog(sign * c, A_ub=ub, b_ub=np.zeros(m), A_eq=np.array(eq), b_eq=np.zeros(len(eq)),
                              bounds=bounds, method="highs")
                assert res.status == 0, res.message
                ends.append(sign * res.fun)
            lo, hi = math.ceil(ends[0] - 1e-7), math.floor(ends[1] + 1e-7)
            if 1 <= lo <= hi <= THRESHOLD - 1:
                leaks.append(f"{k} {r} {what}: [{lo}, {hi}]")
    return leaks


@pytest.fixture(scope="module")
def world():
    raw_s, raw_m = _world()
    out, (schools, munis, report) = _published(None, None, raw_s, raw_m)
    return raw_s, raw_m, out, schools, munis, report


def test_bands_show_more_schools_wellbeing_and_no_more_counts(world):
    raw_s, raw_m, out, schools, munis, report = world
    before = out[dashboard.NAMES[0]]
    assert report["teachers"], "the world has schools with few non-respondents: some bands are expected"
    assert bands.shown_share(schools, "teachers_wellbeing") > bands.shown_share(before, "teachers_wellbeing")
    for col in before.counts:  # no count shown that was hidden
        assert (schools.status[col] == before.status[col]).all(), col
        assert (munis.status[col] == out[dashboard.NAMES[1]].status[col]).all(), col
    for who in bands.WELLBEING:  # the exact rate stays hidden where it was; a mean is shown only on >= threshold answers
        rate = f"{who}_response_pct"
        assert (schools.status[rate] == before.status[rate]).all()
        shown = schools.status[f"{who}_wellbeing"] == ""
        assert (raw_s.loc[shown, f"{who}_respondents"] >= THRESHOLD).all()
        newly = shown & (before.status[f"{who}_wellbeing"] != "")
        assert (schools.status.loc[newly, bands.columns(who)[0]] == "").all()  # a newly shown mean has its band
        assert schools.data.loc[newly, f"{who}_wellbeing"].tolist() == raw_s.loc[newly, f"{who}_wellbeing"].tolist()
        # every published band holds the true rate and is at least WIDTH wide
        low, high = bands.columns(who)
        b = schools.status[low] == ""
        rate_true = 100 * raw_s[f"{who}_respondents"] / raw_s[f"{who}_surveyed"]
        assert ((schools.data.loc[b, low] <= rate_true[b]) & (rate_true[b] <= schools.data.loc[b, high])).all()
        assert ((schools.data.loc[b, high] - schools.data.loc[b, low]) >= bands.WIDTH).all()


def test_no_small_count_can_be_worked_out_from_the_bands_and_the_totals(world):
    _, _, _, schools, munis, _ = world
    for who in bands.WELLBEING:
        assert _attack(schools, munis, who) == []


def test_the_attacker_here_finds_a_band_that_is_too_narrow(world):
    """The check above can fail: a 1-point band beside its surveyed count gives the
    non-respondents back (rate x n), and the attacker says so."""
    raw_s, _, _, schools, munis, report = world
    n_of, r_of = raw_s["teachers_surveyed"], raw_s["teachers_respondents"]
    row = next(r for r in report["teachers"] if r[0] == "s" and 1 <= n_of[r[1]] - r_of[r[1]] < THRESHOLD)
    n, r = n_of[row[1]], r_of[row[1]]
    table = schools
    low, high = bands.columns("teachers")
    narrow = table.data.copy()
    narrow.at[row[1], low], narrow.at[row[1], high] = 100 * r / n - 0.1, 100 * r / n + 0.1
    from dataclasses import replace
    leaks = _attack(replace(schools, data=narrow), munis, "teachers")
    assert any(str(row[1]) in leak and "non-respondents" in leak for leak in leaks)


def test_a_band_alone_never_confines_a_count():
    for n in range(THRESHOLD, 200):
        for r in range(THRESHOLD, n + 1):
            lo, hi = bands._alone(bands.band(100 * r / n), n, THRESHOLD, bands.WIDTH)  # noqa: SLF001
            assert lo <= 100 * r / n <= hi
            if (lo, hi) != (0, 100):
                assert not bands.confined(lo * n / 100, hi * n / 100, THRESHOLD)
                assert not bands.confined(n - hi * n / 100, n - lo * n / 100, THRESHOLD)


@pytest.mark.slow  # ~20-40 s: the sample's national dashboard, protected, banded and attacked as one system
def test_the_samples_national_dashboard_with_bands_survives_the_independent_attacker():
    from evaltools.data import load_dataset
    from evaltools.studies import quality_monitoring as study
    from evaltools.studies.quality_monitoring import results
    from tests import ROOT

    data = load_dataset(ROOT / "data" / "sample", needs=study.NEEDS, rows=study.ROWS)
    tests = results.tests_in(data)
    raw_s, raw_m = dashboard.frames(data, 2023, frozenset(data["schools"]["school_id"]), tests, total_label="Latvija")
    out = dashboard.protect_national(raw_s, raw_m, tests, total_label="Latvija", threshold=THRESHOLD)
    schools, munis, report = bands.apply(out[dashboard.NAMES[0]], out[dashboard.NAMES[1]], raw_s, raw_m,
                                         threshold=THRESHOLD, total_row=out[dashboard.NAMES[1]].total_row)
    for who in bands.WELLBEING:
        assert _attack(schools, munis, who) == [], who
        assert bands.shown_share(schools, f"{who}_wellbeing") >= bands.shown_share(out[dashboard.NAMES[0]], f"{who}_wellbeing")
