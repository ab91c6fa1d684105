"""Disclosure control: threshold rule, complementary suppression, dependents, rounding.

The property tests attack every protected table the way a reader could: from the
published frame alone (markers, visible cells, totals) they compute the smallest
and largest value each hidden cell can take by linear programming. That attacker
is written here, independently of the module's own check.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from evaltools.report import disclosure as sdc
from evaltools.report.disclosure import (
    DisclosureError,
    DisclosureInputError,
    ProtectedTable,
    assert_safe,
    protect,
    safe_count,
)

MARK = "[c]"


def with_totals(body: pd.DataFrame, row: bool = True, col: bool = True) -> pd.DataFrame:
    out = body.copy()
    if col:
        out["Total"] = out.sum(axis=1)
    if row:
        out.loc["Total"] = out.sum()
    return out.astype("int64")


def reader_attack(published: pd.DataFrame, trow, tcol) -> dict:
    """Independent attacker: bounds of each hidden cell from the published frame alone."""
    rows, cols = list(published.index), list(published.columns)
    unknown = [(r, c) for r in rows for c in cols if published.at[r, c] == MARK]
    if not unknown:
        return {}
    col_of = {cell: k for k, cell in enumerate(unknown)}
    eqs, rhs = [], []

    def add(members, total):
        coef = np.zeros(len(unknown))
        known = 0.0
        for cell, sign in members + [(total, -1.0)]:
            if cell in col_of:
                coef[col_of[cell]] += sign
            else:
                known += sign * float(published.at[cell])
        if coef.any():
            eqs.append(coef)
            rhs.append(-known)

    if trow is not None:
        for c in cols:
            add([((r, c), 1.0) for r in rows if r != trow], (trow, c))
    if tcol is not None:
        for r in rows:
            add([((r, c), 1.0) for c in cols if c != tcol], (r, tcol))
    bounds = {}
    for cell, k in col_of.items():
        obj = np.zeros(len(unknown))
        obj[k] = 1.0
        if not eqs:
            bounds[cell] = (0.0, np.inf)
            continue
        lo = linprog(obj, A_eq=np.array(eqs), b_eq=rhs, bounds=(0, None), method="highs")
        hi = linprog(-obj, A_eq=np.array(eqs), b_eq=rhs, bounds=(0, None), method="highs")
        assert lo.status in (0, 3) and hi.status in (0, 3), "published table is inconsistent"
        bounds[cell] = (lo.fun if lo.status == 0 else 0.0, -hi.fun if hi.status == 0 else np.inf)
    return bounds


# -- the worked example ---------------------------------------------------------------


def test_two_way_table_primary_and_complementary_cells():
    body = pd.DataFrame(
        {"A": [3, 20, 30], "B": [25, 15, 40], "C": [12, 5, 22]}, index=["r1", "r2", "r3"]
    )
    p = protect(with_totals(body))
    assert p.total_row == "Total" and p.total_col == "Total"
    assert p.status.at["r1", "A"] == "primary" and p.status.at["r2", "C"] == "primary"
    # row r1 needs a complement: its smallest other interior cell is C=12
    assert p.status.at["r1", "C"] == "secondary"
    # column A then needs one: r2 (20) is smaller than r3 (30)
    assert p.status.at["r2", "A"] == "secondary"
    assert p.n_hidden() == 4
    # totals stay visible and equal to the original ones
    assert p.to_frame().loc["Total", "Total"] == 172
    assert_safe(p)
    bounds = reader_attack(p.to_frame(), "Total", "Total")
    assert all(hi - lo >= 1 for lo, hi in bounds.values())


def test_one_way_table_with_total_needs_a_complement():
    df = pd.DataFrame({"n": [4, 30, 12, 46]}, index=["Riga", "Daugavpils", "Liepaja", "Total"])
    p = protect(df)
    assert p.status.at["Riga", "n"] == "primary"
    assert p.status.at["Liepaja", "n"] == "secondary"  # the next-smallest cell
    assert p.status.at["Total", "n"] == ""
    assert_safe(p)


def test_single_row_with_total_hides_the_total_when_nothing_else_can():
    df = pd.DataFrame({"n": [7, 7]}, index=["only school", "Total"])
    p = protect(df)
    assert p.hidden["n"].all()


def test_zero_cells_are_shown_but_not_used_as_complements_when_avoidable():
    body = pd.DataFrame({"a": [5, 0, 40], "b": [0, 0, 30], "c": [50, 60, 20]}, index=list("xyz"))
    p = protect(with_totals(body))
    hidden = p.status[p.status != ""].stack()
    complements = [cell for cell, why in hidden.items() if why == "secondary"]
    assert all(body.at[r, c] > 0 for r, c in complements if r in body.index and c in body.columns)
    assert_safe(p)


def test_checker_catches_a_bridge_that_the_line_rule_misses():
    # Two blocks of hidden cells joined by one cell: every line has >= 2 hidden cells,
    # yet the joining cell (r1, c3) equals a sum of published totals.
    rng = np.random.default_rng(1)
    body = pd.DataFrame(rng.integers(20, 60, size=(4, 4)), index=["r1", "r2", "r3", "r4"],
                        columns=["c1", "c2", "c3", "c4"])
    full = with_totals(body)
    hide = [("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2"),
            ("r3", "c3"), ("r3", "c4"), ("r4", "c3"), ("r4", "c4"), ("r1", "c3")]
    published = full.astype(object)
    for cell in hide:
        published.at[cell] = MARK
    for line_has_two in [published.loc[r].eq(MARK).sum() for r in ["r1", "r2", "r3", "r4"]]:
        assert line_has_two >= 2
    bounds = reader_attack(published, "Total", "Total")
    lo, hi = bounds[("r1", "c3")]
    assert lo == hi == full.at["r1", "c3"]  # the test's attacker recovers it
    with pytest.raises(DisclosureError, match="row 'r1', column 'c3'"):
        assert_safe(published, counts=list(published.columns), total_row="Total", total_col="Total")


def test_checker_catches_recovery_through_non_negativity():
    # Linearly the 2x2 block is free, but with zeros around it x[a, p] must be 5.
    published = pd.DataFrame(
        {"p": [MARK, MARK, 40, 45], "q": [MARK, MARK, 30, 30], "Total": [55, 60, 70, 185]},
        index=["a", "b", "c", "Total"], dtype=object,
    )
    # true table: a = (5, 0, 50), b = (0, 0, 60); the hidden cells of row b sum to 0
    published.insert(2, "r", [50, 60, 0, 110])
    with pytest.raises(DisclosureError, match="can be narrowed down"):
        assert_safe(published, counts=["p", "q", "r", "Total"], total_row="Total", total_col="Total")


# -- dependents, rounding, labels --------------------------------------------------------


def test_means_and_shares_over_small_groups_are_hidden():
    df = pd.DataFrame(
        {
            "n": [8, 50, 40],
            "dropouts": [2, 1, 12],
            "share": [0.25, 0.02, 0.30],
            "mean_score": [61.0, 70.5, 66.2],
        },
        index=["school A", "school B", "school C"],
    )
    p = protect(
        df,
        counts=["n", "dropouts"],
        denominators={"share": "n", "mean_score": "n"},
        numerators={"share": "dropouts"},
        total_row=None,
    )
    assert p.status.at["school A", "mean_score"] == "dependent"  # n = 8 < 10
    assert p.status.at["school B", "share"] == "dependent"  # 2 % of 50 is 1 pupil
    assert p.status.at["school B", "mean_score"] == ""  # a mean over 50 is fine
    assert p.status.at["school C", "share"] == ""
    assert p.to_frame().at["school C", "share"] == pytest.approx(0.30)


def test_share_hidden_when_almost_everyone_has_the_outcome():
    df = pd.DataFrame({"n": [50], "passed": [47], "share": [0.94]}, index=["s"])
    p = protect(df, counts=["n", "passed"], denominators={"share": "n"},
                numerators={"share": "passed"}, total_row=None)
    assert p.status.at["s", "share"] == "dependent"  # 3 pupils failed


def test_rounding_to_base_five_after_suppression():
    df = pd.DataFrame({"n": [12, 3, 27, 42]}, index=["a", "b", "c", "Total"])
    p = protect(df, round_to=5)
    published = p.to_frame()
    visible = published["n"][published["n"] != MARK].astype(int)
    assert (visible % 5 == 0).all()
    assert published.at["a", "n"] == MARK  # the complement of b = 3
    assert published.at["c", "n"] == 25 and published.at["Total", "n"] == 40
    assert p.footnotes("en")[-1] == "Counts are rounded to a multiple of 5."
    assert_safe(published)


def test_rounding_base_must_divide_the_threshold():
    df = pd.DataFrame({"n": [12, 30]})
    with pytest.raises(DisclosureInputError, match="not a multiple of round_to=5"):
        protect(df, threshold=7, round_to=5)


def test_safe_count_for_labels():
    assert safe_count(4, 10, "en") == "<10"
    assert safe_count(0, 10, "en") == "0"
    assert safe_count(12345, 10, "lv") == "12\u00a0345"
    assert safe_count(23, 10, "en", round_to=5) == "25"


# -- bad input and the checker on raw frames -------------------------------------------------


def test_bad_inputs_say_what_and_where():
    with pytest.raises(DisclosureInputError, match=r"column 'n', row 'b' holds 2.5"):
        protect(pd.DataFrame({"n": [3.0, 2.5]}, index=["a", "b"]), counts=["n"])
    with pytest.raises(KeyError, match="count columns \\['m'\\] are not in the table"):
        protect(pd.DataFrame({"n": [3]}), counts=["m"])
    with pytest.raises(DisclosureInputError, match="total row 'Total' holds 50"):
        protect(pd.DataFrame({"n": [10, 30, 50]}, index=["a", "b", "Total"]))
    with pytest.raises(DisclosureInputError, match="must also be listed in counts"):
        protect(pd.DataFrame({"n": [30], "m": [1.0]}), counts=[], denominators={"m": "n"})
    with pytest.raises(DisclosureInputError, match="min_cell = 0 is below the disclosure floor 5"):
        protect(pd.DataFrame({"n": [30]}), threshold=0)
    with pytest.raises(DisclosureInputError, match="count column 'n' holds 'many' in row 1"):
        protect(pd.DataFrame({"n": [30, "many"]}), counts=["n"])


def test_assert_safe_rejects_unprotected_and_small_counts():
    raw = pd.DataFrame({"n": [3, 40]}, index=["a", "b"])
    with pytest.raises(DisclosureError, match="has not been through disclosure control"):
        assert_safe(raw)
    with pytest.raises(DisclosureError, match="Row 'a', column 'n' shows the count 3,"):
        assert_safe(raw, counts=["n"])
    assert_safe(protect(raw))


def test_record_payload_and_repr():
    p = protect(pd.DataFrame({"n": [3, 40, 12, 55]}, index=["a", "b", "c", "Total"]))
    d = p.to_dict()
    assert d["type"] == "protected_table" and d["threshold"] == 10
    assert d["data"][0] == ["a", MARK]
    assert "hidden 2 (1 primary, 1 complementary" in repr(p)
    html = p._repr_html_()
    assert MARK in html and "fewer than 10" not in html  # default language is Latvian
    assert "mazāk nekā 10" in html


# -- properties ------------------------------------------------------------------------


@st.composite
def count_tables(draw):
    n_rows = draw(st.integers(1, 5))
    n_cols = draw(st.integers(1, 4))
    cell = st.one_of(st.integers(0, 14), st.integers(0, 120))
    body = pd.DataFrame(
        [[draw(cell) for _ in range(n_cols)] for _ in range(n_rows)],
        index=[f"r{i}" for i in range(n_rows)],
        columns=[f"c{j}" for j in range(n_cols)],
    )
    row, col = draw(st.sampled_from([(True, True), (True, False), (False, True), (False, False)]))
    threshold = draw(st.sampled_from([5, 7, 10]))  # 5: the policy's floor
    return with_totals(body, row=row, col=col), row, col, threshold


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count_tables())
def test_property_no_small_visible_count_and_nothing_recoverable(case):
    table, has_row, has_col, threshold = case
    p = protect(table, threshold=threshold)
    published = p.to_frame()
    trow = "Total" if has_row else None
    tcol = "Total" if has_col else None
    assert p.total_row == trow and p.total_col == tcol
    values = published.to_numpy().ravel()
    visible = np.array([v for v in values if v != MARK], dtype=float)
    assert not ((visible > 0) & (visible < threshold)).any()
    # every small cell of the input is hidden, every visible cell is unchanged
    for r in table.index:
        for c in table.columns:
            if 0 < table.at[r, c] < threshold:
                assert published.at[r, c] == MARK
            elif published.at[r, c] != MARK:
                assert published.at[r, c] == table.at[r, c]
    # no hidden cell can be pinned down from the published totals
    for cell, (lo, hi) in reader_attack(published, trow, tcol).items():
        assert hi - lo >= 1, f"{cell} recoverable: [{lo}, {hi}]"
    assert_safe(published)


@settings(max_examples=40, deadline=None)
@given(count_tables(), st.sampled_from([5]))
def test_property_rounded_tables_stay_above_threshold(case, base):
    table, _, _, _ = case
    p = protect(table, threshold=10, round_to=base)
    visible = pd.to_numeric(p.to_frame().stack(), errors="coerce").dropna()
    assert ((visible == 0) | (visible >= 10)).all()
    assert (visible % base == 0).all()


def test_defaults_come_from_set_defaults():
    try:
        sdc.set_defaults(threshold=5, protection=7)
        p = protect(pd.DataFrame({"n": [6, 40]}))
        assert p.threshold == 5 and p.n_hidden() == 0 and p.protection == 7
    finally:
        sdc.set_defaults(threshold=10, round_to=None, protection=1)
    with pytest.raises(DisclosureInputError, match="protection interval"):
        sdc.set_defaults(protection=0)
    assert isinstance(protect(pd.DataFrame({"n": [6, 40]})), ProtectedTable)


def test_assert_safe_reads_counts_written_as_text():
    # a CSV column that holds markers comes back as strings
    ok = pd.DataFrame({"n": ["0", MARK, "25"]}, index=["a", "b", "c"])
    assert_safe(ok, counts=["n"])
    bad = pd.DataFrame({"n": ["3", MARK, "25"]}, index=["a", "b", "c"])
    with pytest.raises(DisclosureError, match="Row 'a', column 'n' shows the count 3,"):
        assert_safe(bad, counts=["n"])
    with pytest.raises(DisclosureError, match="holds 'few', which is neither a count"):
        assert_safe(pd.DataFrame({"n": ["few"]}), counts=["n"])


def test_suppress_zeros_hides_zeros_and_keeps_totals_safe():
    body = pd.DataFrame({"a": [0, 30, 25], "b": [40, 0, 35], "c": [22, 18, 0]}, index=["x", "y", "z"])
    p = protect(with_totals(body), suppress_zeros=True)
    for r, c in (("x", "a"), ("y", "b"), ("z", "c")):
        assert p.status.at[r, c] == "primary"
    # the zeros sit on a diagonal: no two share a line, so each line needs a complement
    assert p.n_hidden("secondary") > 0
    hidden = p.hidden.drop(index="Total", columns="Total")
    assert (hidden.sum(axis=0) != 1).all() and (hidden.sum(axis=1) != 1).all()
    published = p.to_frame()
    assert not (published == 0).any().any()
    for cell, (lo, hi) in reader_attack(published, "Total", "Total").items():
        assert hi - lo >= 1, cell
    assert_safe(published)


def test_protection_interval_keeps_a_reader_from_narrowing_a_small_count():
    # threshold 5 (the floor): the count 1 is hidden, its complements (6, 6, 40) are small
    # enough that the published totals confine it to a narrow range
    body = pd.DataFrame({"p": [1, 6], "q": [6, 40]}, index=["a", "b"])
    table = with_totals(body)
    plain = protect(table, threshold=5)
    bounds = reader_attack(plain.to_frame(), "Total", "Total")
    assert bounds[("a", "p")] == (0.0, 7.0)  # a reader learns it is at most 7
    strict = protect(table, threshold=5, protection=10)
    assert strict.n_hidden() > plain.n_hidden()
    bounds = reader_attack(strict.to_frame(), "Total", "Total")
    assert all(hi - lo >= 10 for lo, hi in bounds.values()), bounds
    assert strict.to_frame().attrs["evaltools_sdc"]["protection"] == 10
    assert_safe(strict)  # reads protection=10 from the metadata
    with pytest.raises(DisclosureError, match="required width 10"):
        assert_safe(plain.to_frame(), protection=10)
    with pytest.raises(DisclosureInputError, match="protection interval"):
        protect(table, protection=0)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count_tables())
def test_property_protection_interval_holds_against_the_reader(case):
    table, has_row, has_col, threshold = case
    p = protect(table, threshold=threshold, protection=threshold)
    trow = "Total" if has_row else None
    tcol = "Total" if has_col else None
    for cell, (lo, hi) in reader_attack(p.to_frame(), trow, tcol).items():
        assert hi - lo >= threshold - 1e-9, f"{cell}: [{lo}, {hi}]"


@pytest.mark.parametrize("frame, counts", [
    (pd.DataFrame({"mean": [1.5, 2.5]}), []),
    (pd.DataFrame({"pupils": pd.Series([], dtype="int64")}), None),
])
def test_a_table_without_count_cells_is_protected_as_is(frame, counts):
    """No count cells (no count columns, or no rows) is nothing to hide, not a crash
    (alumni_programme_recent once made such a table)."""
    from evaltools.report.disclosure import assert_safe, protect

    table = protect(frame, counts=counts)
    assert table.n_hidden() == 0 and table.data.shape == frame.shape
    assert_safe(table)


def test_a_whole_number_column_that_is_not_a_count_stays_whole():
    """A code or year column with nothing hidden is published as it came (3, not 3.0)."""
    table = protect(pd.DataFrame({"grade": [3, 6, 9], "pupils": [120, 40, 80]}), counts=["pupils"],
                    total_col=None, total_row=None)
    assert table.data["grade"].dtype.kind == "i"
    assert list(table.to_frame()["grade"]) == [3, 6, 9] and "3.0" not in table.to_frame().to_csv()


def test_a_null_space_that_gesdd_cannot_find_is_found_another_way(monkeypatch):
    """scipy's default SVD driver (gesdd) can fail to converge on a large system of linked
    tables; the determined cells are then found with gesvd, never a traceback."""
    import scipy.linalg

    real = scipy.linalg.null_space

    def flaky(a, *args, lapack_driver="gesdd", **kw):
        if lapack_driver == "gesdd":
            raise np.linalg.LinAlgError("SVD did not converge")
        return real(a, *args, lapack_driver=lapack_driver, **kw)

    monkeypatch.setattr(scipy.linalg, "null_space", flaky)
    A = np.array([[1.0, 1.0, -1.0], [0.0, 1.0, 0.0]])  # x0 + x1 = x2, x1 known
    hidden = np.array([True, False, True])
    got = sdc._determined(A, hidden)
    assert list(got) == [False, False, False]  # x0 and x2 move together: neither is pinned
    A2 = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    assert list(sdc._determined(A2, np.array([True, True, True]))) == [True, False, False]
